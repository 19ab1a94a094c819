// Binary requests to Requests, with memcached 1.6's checks in its order (proto_bin.c
// dispatch_bin_command): lengths that do not add up, then (in the server, which knows the
// connection) authentication, then keys over 250 bytes, then each opcode's own length rules.
// Quiet opcodes become their loud command with `noreply`; the response still carries the
// opcode the client sent.

import { Command, KEY_MAX_LENGTH, resetRequest } from '../request.ts';
import type { Request } from '../request.ts';
import { HEADER_BYTES, Opcode, readU32, readU64 } from './header.ts';
import type { BinaryHeader } from './header.ts';
import { BinaryError } from './request.ts';

/** The incr/decr expiration that means "do not create a missing item". */
const NO_CREATE = 0xffffffff;

/**
 * Fills `req` from a header and the extras and key that follow it in buf (the key from
 * `at + HEADER_BYTES + extlen`). The value, if any, is not read here: `bin.valueBytes` says how
 * long it is.
 */
export function parseBinaryRequest(h: BinaryHeader, buf: Uint8Array, at: number, req: Request): void {
  resetRequest(req);
  req.binary = true;
  const b = req.bin;
  b.opcode = h.opcode;
  b.opaque = h.opaque;
  b.error = BinaryError.NONE;
  b.returnKey = false;
  b.initial = 0n;
  b.create = false;
  b.bodylen = h.bodylen;
  const { keylen, extlen, bodylen } = h;
  const extras = at + HEADER_BYTES;
  // memcached computes the value's length in an int: bodies of 2 GiB and more come out negative.
  b.valueBytes = (bodylen - keylen - extlen) | 0;
  req.key = buf.subarray(extras + extlen, extras + extlen + keylen);
  req.keys[0] = req.key;
  req.keyCount = 1;
  req.cas = h.cas;
  if (keylen > bodylen || keylen + extlen > bodylen) {
    b.error = BinaryError.LENGTHS;
    return;
  }
  if (keylen > KEY_MAX_LENGTH) {
    b.error = BinaryError.KEY_TOO_LONG;
    return;
  }
  req.noreply = isQuiet(h.opcode);
  let ok = true;
  switch (h.opcode) {
    case Opcode.VERSION:
    case Opcode.NOOP:
    case Opcode.QUIT:
    case Opcode.QUITQ:
    case Opcode.SASL_LIST_MECHS:
      ok = extlen === 0 && keylen === 0 && bodylen === 0;
      req.command = LOUD[h.opcode]!;
      break;
    case Opcode.FLUSH:
    case Opcode.FLUSHQ:
      ok = keylen === 0 && bodylen === extlen && (extlen === 0 || extlen === 4);
      req.command = Command.FLUSH_ALL;
      if (ok && extlen === 4) req.exptime = readU32(buf, extras);
      break;
    case Opcode.SET:
    case Opcode.SETQ:
    case Opcode.ADD:
    case Opcode.ADDQ:
    case Opcode.REPLACE:
    case Opcode.REPLACEQ:
      ok = extlen === 8 && keylen !== 0 && bodylen >= keylen + 8;
      req.command = LOUD[h.opcode]!;
      if (ok) {
        req.flags = readU32(buf, extras);
        req.exptime = readU32(buf, extras + 4);
        req.nbytes = b.valueBytes;
      }
      break;
    case Opcode.GET:
    case Opcode.GETQ:
    case Opcode.GETK:
    case Opcode.GETKQ:
      ok = extlen === 0 && bodylen === keylen && keylen > 0;
      req.command = Command.GET;
      b.returnKey = h.opcode === Opcode.GETK || h.opcode === Opcode.GETKQ;
      break;
    case Opcode.DELETE:
    case Opcode.DELETEQ:
      ok = keylen > 0 && extlen === 0 && bodylen === keylen;
      req.command = Command.DELETE;
      break;
    case Opcode.INCREMENT:
    case Opcode.INCREMENTQ:
    case Opcode.DECREMENT:
    case Opcode.DECREMENTQ:
      ok = keylen > 0 && extlen === 20 && bodylen === keylen + extlen;
      req.command = LOUD[h.opcode]!;
      if (ok) {
        req.delta = readU64(buf, extras);
        b.initial = readU64(buf, extras + 8);
        const expiration = readU32(buf, extras + 16);
        b.create = expiration !== NO_CREATE;
        req.exptime = b.create ? expiration : 0;
      }
      break;
    case Opcode.APPEND:
    case Opcode.APPENDQ:
    case Opcode.PREPEND:
    case Opcode.PREPENDQ:
      ok = keylen > 0 && extlen === 0;
      req.command = LOUD[h.opcode]!;
      req.nbytes = (bodylen - keylen) | 0;
      break;
    case Opcode.STAT:
      ok = extlen === 0;
      req.command = Command.STATS;
      break;
    case Opcode.SASL_AUTH:
    case Opcode.SASL_STEP:
      ok = extlen === 0 && keylen !== 0;
      req.command = LOUD[h.opcode]!;
      break;
    case Opcode.TOUCH:
    case Opcode.GAT:
    case Opcode.GATQ:
    case Opcode.GATK:
    case Opcode.GATKQ:
      ok = extlen === 4 && keylen !== 0;
      req.command = h.opcode === Opcode.TOUCH ? Command.TOUCH : Command.GAT;
      b.returnKey = h.opcode === Opcode.GATK || h.opcode === Opcode.GATKQ;
      if (ok) req.exptime = readU32(buf, extras);
      break;
    default:
      b.error = BinaryError.UNKNOWN;
      req.command = Command.ERROR;
      return;
  }
  if (!ok) {
    b.error = BinaryError.PROTOCOL;
    req.command = Command.ERROR;
  }
}

/** The quiet opcodes (memcached answers their successes, and for gets their misses, with silence). */
function isQuiet(opcode: number): boolean {
  switch (opcode) {
    case Opcode.GETQ:
    case Opcode.GETKQ:
    case Opcode.SETQ:
    case Opcode.ADDQ:
    case Opcode.REPLACEQ:
    case Opcode.DELETEQ:
    case Opcode.INCREMENTQ:
    case Opcode.DECREMENTQ:
    case Opcode.QUITQ:
    case Opcode.FLUSHQ:
    case Opcode.APPENDQ:
    case Opcode.PREPENDQ:
    case Opcode.GATQ:
    case Opcode.GATKQ:
      return true;
    default:
      return false;
  }
}

/** The command each opcode maps to where the mapping is one to one. */
const LOUD: Readonly<Record<number, Command>> = {
  [Opcode.VERSION]: Command.VERSION,
  [Opcode.NOOP]: Command.NOOP,
  [Opcode.QUIT]: Command.QUIT,
  [Opcode.QUITQ]: Command.QUIT,
  [Opcode.SASL_LIST_MECHS]: Command.SASL_LIST_MECHS,
  [Opcode.SASL_AUTH]: Command.SASL_AUTH,
  [Opcode.SASL_STEP]: Command.SASL_STEP,
  [Opcode.SET]: Command.SET,
  [Opcode.SETQ]: Command.SET,
  [Opcode.ADD]: Command.ADD,
  [Opcode.ADDQ]: Command.ADD,
  [Opcode.REPLACE]: Command.REPLACE,
  [Opcode.REPLACEQ]: Command.REPLACE,
  [Opcode.INCREMENT]: Command.INCR,
  [Opcode.INCREMENTQ]: Command.INCR,
  [Opcode.DECREMENT]: Command.DECR,
  [Opcode.DECREMENTQ]: Command.DECR,
  [Opcode.APPEND]: Command.APPEND,
  [Opcode.APPENDQ]: Command.APPEND,
  [Opcode.PREPEND]: Command.PREPEND,
  [Opcode.PREPENDQ]: Command.PREPEND,
};
