// Meta command lines (mg ms md ma mn me) to Requests, with memcached 1.6.18's checks in its order
// and its exact error lines; cf. proto_text.c (process_mget_command, process_mset_command,
// process_mdelete_command, process_marithmetic_command, process_meta_command and
// _meta_flag_preparse) and protocol.txt "Meta Commands" and the sections after it.

import { StoreOperation } from '../../engine/status.ts';
import { parseI32, parseU64 } from '../numbers.ts';
import { BAD_FORMAT } from '../replies.ts';
import { Command, KEY_MAX_LENGTH } from '../request.ts';
import type { Request } from '../request.ts';
import type { Tokens } from '../text/tokens.ts';
import { base64Decode } from './base64.ts';
import { MetaFlag, OPAQUE_MAX, hasFlag, resetMetaRequest } from './request.ts';
import type { MetaRequest } from './request.ts';

/** memcached's MFLAG_MAX_OPT_LENGTH: more tokens than this (its count) fail the command. */
const MAX_OPT_TOKENS = 20;
const INT32_MAX = 0x7fffffff;

const BAD_TOKEN = 'CLIENT_ERROR bad token in command line format';
const INVALID_FLAG = 'CLIENT_ERROR invalid flag';
const DUPLICATE_FLAG = 'CLIENT_ERROR duplicate flag';
const DECODING_KEY = 'CLIENT_ERROR error decoding key';
const M_LENGTH = 'CLIENT_ERROR incorrect length for M token';
const BAD_INITIAL = 'CLIENT_ERROR invalid numeric initial value';
const BAD_DELTA = 'CLIENT_ERROR invalid numeric delta value';
/** mg says "are too long"; ms, md and ma say "too long". */
const MG_TOO_LONG = 'CLIENT_ERROR options flags are too long';
const TOO_LONG = 'CLIENT_ERROR options flags too long';
/** md and ma report any flag error with this one line. */
const INVALID_OR_DUPLICATE = 'CLIENT_ERROR invalid or duplicate flag';
export const OPAQUE_TOO_LONG = 'CLIENT_ERROR opaque token too long';
/** mg on an item held too often at once (process_mget_command's refcount overflow). */
export const REFCOUNT_OVERFLOW = 'SERVER_ERROR refcount overflow during fetch';
const MS_MODE = 'CLIENT_ERROR invalid mode for ms M token';
const MA_MODE = 'CLIENT_ERROR invalid mode for ma M token';

// Second letters of the commands, and mode characters.
const GET = 0x67; // g
const SET = 0x73; // s
const DELETE = 0x64; // d
const NOOP = 0x6e; // n
const ARITHMETIC = 0x61; // a
const DEBUG = 0x65; // e
const MODE_ADD = 0x45; // E
const MODE_APPEND = 0x41; // A
const MODE_PREPEND = 0x50; // P
const MODE_REPLACE = 0x52; // R
const MODE_SET = 0x53; // S
const MODE_INCR = 0x49; // I
const MODE_INCR_SIGN = 0x2b; // +
const MODE_DECR = 0x44; // D
const MODE_DECR_SIGN = 0x2d; // -
const UPPER_A = 0x41;
const UPPER_Z = 0x5a;
const LOWER_A = 0x61;
/** Flag bytes from here on are refused as duplicates (memcached's seen[] has 127 entries). */
const ASCII_DEL = 0x7f;

/** Fills `req` from the tokens of a line whose command is two letters starting with 'm'. */
export function parseMetaCommand(t: Tokens, req: Request): void {
  resetMetaRequest(req.meta);
  switch (t.buf[t.start[0]! + 1]) {
    case GET:
      return metaGet(t, req);
    case SET:
      return metaSet(t, req);
    case DELETE:
      return metaDelete(t, req);
    case ARITHMETIC:
      return metaArithmetic(t, req);
    case DEBUG:
      return metaDebug(t, req);
    case NOOP:
      req.command = Command.META_NOOP; // any tokens after it are ignored
      return;
    default:
      return fail(req, 'ERROR');
  }
}

function fail(req: Request, line: string): void {
  req.command = Command.ERROR;
  req.error = line;
  req.noreply = false; // errors are always returned
}

/** memcached's ntokens: the tokens and the terminal one. */
function ntokens(t: Tokens): number {
  return t.count + 1;
}

/** mg <key> <flags>* */
function metaGet(t: Tokens, req: Request): void {
  if (ntokens(t) < 3) return fail(req, 'ERROR');
  if (t.length(1) > KEY_MAX_LENGTH) return fail(req, BAD_FORMAT);
  if (ntokens(t) > MAX_OPT_TOKENS) return fail(req, MG_TOO_LONG);
  const error = preparse(t, req, 2, BAD_FORMAT);
  if (error !== null) return fail(req, error);
  req.command = Command.META_GET;
  req.noreply = hasFlag(req.meta, MetaFlag.QUIET);
}

/**
 * ms <key> <datalen> <flags>*. Errors found before the flags leave the value to be read as the
 * next command, as memcached does; later ones keep the command META_SET with `error` set, so the
 * value is read and dropped (metaSetBegin writes the error).
 */
function metaSet(t: Tokens, req: Request): void {
  const n = ntokens(t);
  if (n < 3) return fail(req, 'ERROR');
  if (t.length(1) > KEY_MAX_LENGTH) return fail(req, BAD_FORMAT);
  if (n === 3) return fail(req, BAD_FORMAT);
  if (n > MAX_OPT_TOKENS) return fail(req, TOO_LONG);
  const vlen = parseI32(t.buf, t.start[2]!, t.end[2]!);
  if (Number.isNaN(vlen) || vlen < 0 || vlen > INT32_MAX - 2) return fail(req, BAD_FORMAT);
  const m = req.meta;
  req.nbytes = vlen;
  let error = preparse(t, req, 3, BAD_FORMAT);
  if (error === null) {
    if (m.opaqueTooLong) error = OPAQUE_TOO_LONG;
    // The mode is checked even after an opaque error, and its error wins.
    const operation = storeOperation(m.mode);
    if (operation === 0) error = MS_MODE;
    else m.operation = m.hasCas && (operation === StoreOperation.SET || operation === StoreOperation.REPLACE) ? StoreOperation.CAS : operation;
  }
  req.command = Command.META_SET;
  if (error !== null) {
    req.error = error;
    req.noreply = false;
    return;
  }
  req.noreply = hasFlag(m, MetaFlag.QUIET);
  req.flags = m.clientFlags;
  req.exptime = m.ttl;
  req.cas = m.cas;
}

/** The StoreOperation of an ms mode, or 0 for an unknown mode. */
function storeOperation(mode: number): StoreOperation | 0 {
  switch (mode) {
    case 0:
    case MODE_SET:
      return StoreOperation.SET;
    case MODE_ADD:
      return StoreOperation.ADD;
    case MODE_APPEND:
      return StoreOperation.APPEND;
    case MODE_PREPEND:
      return StoreOperation.PREPEND;
    case MODE_REPLACE:
      return StoreOperation.REPLACE;
    default:
      return 0;
  }
}

/** md <key> <flags>* */
function metaDelete(t: Tokens, req: Request): void {
  if (ntokens(t) < 3) return fail(req, 'ERROR');
  if (t.length(1) > KEY_MAX_LENGTH) return fail(req, BAD_FORMAT);
  if (ntokens(t) > MAX_OPT_TOKENS) return fail(req, TOO_LONG);
  if (preparse(t, req, 2, BAD_FORMAT) !== null) return fail(req, INVALID_OR_DUPLICATE);
  // md checks the opaque while writing its flags, before the lookup.
  if (req.meta.opaqueTooLong) return fail(req, OPAQUE_TOO_LONG);
  req.command = Command.META_DELETE;
  req.noreply = hasFlag(req.meta, MetaFlag.QUIET);
}

/** ma <key> <flags>* */
function metaArithmetic(t: Tokens, req: Request): void {
  if (ntokens(t) < 3) return fail(req, 'ERROR');
  if (t.length(1) > KEY_MAX_LENGTH) return fail(req, BAD_FORMAT);
  if (ntokens(t) > MAX_OPT_TOKENS) return fail(req, TOO_LONG);
  if (preparse(t, req, 2, BAD_FORMAT) !== null) return fail(req, INVALID_OR_DUPLICATE);
  const m = req.meta;
  switch (m.mode) {
    case 0:
    case MODE_INCR:
    case MODE_INCR_SIGN:
      m.incr = true;
      break;
    case MODE_DECR:
    case MODE_DECR_SIGN:
      m.incr = false;
      break;
    default:
      return fail(req, MA_MODE);
  }
  req.command = Command.META_ARITHMETIC;
  req.noreply = hasFlag(m, MetaFlag.QUIET);
}

/** me <key> [b]: only a third token of exactly "b" means anything. */
function metaDebug(t: Tokens, req: Request): void {
  if (ntokens(t) < 3 || t.length(1) > KEY_MAX_LENGTH) return fail(req, BAD_FORMAT);
  req.command = Command.META_DEBUG;
  req.key = t.view(1);
  if (ntokens(t) >= 4 && t.length(2) === 1 && t.buf[t.start[2]!] === MetaFlag.BASE64) {
    const m = req.meta;
    const n = base64Decode(t.buf, t.start[1]!, t.end[1]!, m.keyBuffer);
    if (n === 0) return fail(req, BAD_FORMAT);
    req.key = m.keyBuffer.subarray(0, n);
    mark(m, MetaFlag.BASE64);
  }
}

function mark(m: MetaRequest, letter: number): void {
  if (letter >= LOWER_A) m.lower |= 1 << (letter - LOWER_A);
  else m.upper |= 1 << (letter - UPPER_A);
}

/**
 * _meta_flag_preparse over the flag tokens from `start`: records each flag and reads its token.
 * Returns null, or the error line: a duplicate or unknown flag ends the scan at once; a bad
 * token is remembered (the last such message wins; F's keeps the one before) and the scan goes
 * on. Sets `req.key` (decoded when b is given).
 */
function preparse(t: Tokens, req: Request, start: number, errstr: string): string | null {
  const m = req.meta;
  const buf = t.buf;
  req.key = t.view(1);
  let failed = false;
  for (let i = start; i < t.count; i++) {
    const s = t.start[i]!;
    const e = t.end[i]!;
    const o = buf[s]!;
    const letter = (o >= UPPER_A && o <= UPPER_Z) || (o >= LOWER_A && o < LOWER_A + 26);
    if (o >= ASCII_DEL || (letter && hasFlag(m, o))) return DUPLICATE_FLAG;
    switch (o) {
      case MetaFlag.BASE64: {
        const n = base64Decode(buf, t.start[1]!, t.end[1]!, m.keyBuffer);
        if (n === 0) {
          errstr = DECODING_KEY;
          failed = true;
        }
        req.key = m.keyBuffer.subarray(0, n);
        break;
      }
      case MetaFlag.VIVIFY:
      case MetaFlag.SET_TTL:
      case MetaFlag.RECACHE: {
        const value = parseI32(buf, s + 1, e);
        if (Number.isNaN(value)) {
          errstr = BAD_TOKEN;
          failed = true;
        } else if (o === MetaFlag.VIVIFY) {
          m.vivifyTtl = value;
        } else if (o === MetaFlag.SET_TTL) {
          m.ttl = value;
        } else {
          m.recacheTtl = value;
        }
        break;
      }
      case MetaFlag.OPAQUE:
        if (e - s > OPAQUE_MAX) {
          m.opaqueTooLong = true;
        } else {
          m.opaque.set(buf.subarray(s, e));
          m.opaqueLength = e - s;
        }
        break;
      case MetaFlag.CLIENT_FLAGS: {
        // safe_strtoul: an unsigned long, stored into 32 bits. Its error keeps errstr.
        const value = parseU64(buf, s + 1, e);
        if (value < 0n) failed = true;
        else m.clientFlags = Number(value & 0xffffffffn);
        break;
      }
      case MetaFlag.COMPARE_CAS: {
        const value = parseU64(buf, s + 1, e);
        if (value < 0n) {
          errstr = BAD_TOKEN;
          failed = true;
        } else {
          m.cas = value;
          m.hasCas = true;
        }
        break;
      }
      case MetaFlag.MODE:
        if (e - s !== 2) {
          errstr = M_LENGTH;
          failed = true;
        } else {
          m.mode = buf[s + 1]!;
        }
        break;
      case MetaFlag.INITIAL:
      case MetaFlag.DELTA: {
        const value = parseU64(buf, s + 1, e);
        if (value < 0n) {
          errstr = o === MetaFlag.INITIAL ? BAD_INITIAL : BAD_DELTA;
          failed = true;
        } else if (o === MetaFlag.INITIAL) {
          m.initial = value;
        } else {
          m.delta = value;
        }
        break;
      }
      case MetaFlag.RETURN_CAS:
      case MetaFlag.RETURN_FLAGS:
      case MetaFlag.RETURN_HIT:
      case MetaFlag.RETURN_KEY:
      case MetaFlag.RETURN_LAST_ACCESS:
      case MetaFlag.QUIET:
      case MetaFlag.RETURN_SIZE:
      case MetaFlag.RETURN_TTL:
      case MetaFlag.NO_BUMP:
      case MetaFlag.RETURN_VALUE:
      case MetaFlag.INVALIDATE:
      case MetaFlag.PROXY_HINT:
      case MetaFlag.PROXY_PATH:
        break;
      default:
        return INVALID_FLAG;
    }
    mark(m, o);
    m.flags[m.flagCount++] = o;
  }
  return failed ? errstr : null;
}

