// Where binary requests meet the engine (cf. memcached 1.6 proto_bin.c): one function per opcode
// family, engine statuses mapped to binary statuses, and memcached's quiet rules (a quiet
// opcode's success is silent, a quiet get's miss too; errors are always answered). The
// connection calls `processBinary` once the header, extras and key are in, and
// `binaryStoreBegin`/`binaryStoreComplete` around a store's value; the value of a SASL request
// is read into a buffer and handed to `saslComplete`.

import { Status, StoreOperation } from '../engine/status.ts';
import type { ArithmeticRequest, ArithmeticResult, ItemHandle } from '../engine/types.ts';
import { createArithmeticRequest, createArithmeticResult } from '../engine/types.ts';
import { appendU32, appendU64, BinaryStatus, dumpHeader, Opcode, statusText, writeResponseHeader } from '../protocol/binary/header.ts';
import { BinaryError, SASL_MECH_MAX } from '../protocol/binary/request.ts';
import { encodeAscii } from '../protocol/output.ts';
import { Command } from '../protocol/request.ts';
import type { Request } from '../protocol/request.ts';
import { checkPlain } from './auth.ts';
import { appendValue, keepItem, latin1, sync } from './context.ts';
import type { Context } from './context.ts';
import { After, STORE_OPERATION } from './process.ts';
import { engineGroup, generalStats, resetStats, settingsStats } from './stats-command.ts';

const arithmeticRequest: ArithmeticRequest = createArithmeticRequest();
const arithmeticResult: ArithmeticResult = createArithmeticResult();
const MECHANISMS = encodeAscii('PLAIN');
const AUTHENTICATED = encodeAscii('Authenticated');
/** A SASL request's data is read into a buffer; memcached reads it into an unchunked item. */
export const SASL_DATA_MAX = 512 * 1024 - 64;

/** What the connection does after a binary request. */
export const BinaryNext = {
  ...After,
  /** Read `req.nbytes` bytes of SASL data, then call saslComplete. */
  READ_SASL: 2,
  /** A store: call binaryStoreBegin, read the value into its item, then binaryStoreComplete. */
  STORE: 3,
  /** Write what is pending now (NOOP). */
  FLUSH: 4,
} as const;
export type BinaryNext = (typeof BinaryNext)[keyof typeof BinaryNext];

// ---- responses ----

/** A response header, traced at -vv as memcached's add_bin_header traces it. */
function header(ctx: Context, req: Request, status: number, extlen: number, keylen: number, bodylen: number, cas: bigint): void {
  const out = ctx.out;
  const at = writeResponseHeader(out, req.bin.opcode, status, extlen, keylen, bodylen, req.bin.opaque, cas);
  if (ctx.server.verbosity > 1) ctx.server.trace(dumpHeader(`>${ctx.id} Writing bin response:`, `>${ctx.id}  `, out.buffer, at));
}

/** A success with an optional body and no extras or key (write_bin_response); quiet is silent. */
function respond(ctx: Context, req: Request, body: Uint8Array | undefined, cas = 0n): void {
  if (req.noreply) return;
  const n = body === undefined ? 0 : body.length;
  header(ctx, req, BinaryStatus.SUCCESS, 0, 0, n, cas);
  if (body !== undefined) ctx.out.raw(body);
}

/** An error response (write_bin_error): always sent, with memcached's text for the status. */
export function respondError(ctx: Context, req: Request, status: BinaryStatus, text = statusText(status)): void {
  if (ctx.server.verbosity > 1) ctx.server.trace(`>${ctx.id} Writing an error: ${text}`);
  header(ctx, req, status, 0, 0, text.length, 0n);
  ctx.out.ascii(text);
  ctx.transmit = true;
}

/** out_of_memory() for a binary connection: ENOMEM with the ASCII error less "SERVER_ERROR ". */
function outOfMemory(ctx: Context, req: Request, what: string): void {
  respondError(ctx, req, BinaryStatus.ENOMEM, what);
}

// ---- dispatch ----

/** The opcodes an unauthenticated connection may send under -S (memcached's authenticated()). */
function allowedUnauthenticated(opcode: number): boolean {
  return opcode === Opcode.SASL_LIST_MECHS || opcode === Opcode.SASL_AUTH || opcode === Opcode.SASL_STEP || opcode === Opcode.VERSION;
}

/** Executes a parsed binary request, in memcached's order of checks. */
export function processBinary(ctx: Context, req: Request): BinaryNext {
  const b = req.bin;
  if (b.error === BinaryError.LENGTHS) {
    respondError(ctx, req, BinaryStatus.UNKNOWN_COMMAND);
    return BinaryNext.CLOSE;
  }
  if (ctx.server.saslPwdb !== undefined && !ctx.authenticated && !allowedUnauthenticated(b.opcode)) {
    respondError(ctx, req, BinaryStatus.AUTH_ERROR);
    return BinaryNext.CLOSE;
  }
  switch (b.error) {
    case BinaryError.KEY_TOO_LONG:
    case BinaryError.PROTOCOL:
      respondError(ctx, req, BinaryStatus.EINVAL);
      if (ctx.server.verbosity > 0) ctx.server.trace(`Protocol error (opcode ${hex(b.opcode)}), close connection ${ctx.id}`);
      return BinaryNext.CLOSE;
    case BinaryError.UNKNOWN:
      // memcached swallows bodylen bytes counted from after the key: it eats into what follows.
      respondError(ctx, req, BinaryStatus.UNKNOWN_COMMAND);
      req.swallow = b.bodylen;
      return BinaryNext.CONTINUE;
  }
  switch (req.command) {
    case Command.SET:
    case Command.ADD:
    case Command.REPLACE:
    case Command.APPEND:
    case Command.PREPEND:
      return BinaryNext.STORE;
    case Command.GET:
    case Command.GAT:
    case Command.TOUCH:
      getOrTouch(ctx, req);
      return BinaryNext.CONTINUE;
    case Command.DELETE:
      remove(ctx, req);
      return BinaryNext.CONTINUE;
    case Command.INCR:
    case Command.DECR:
      arithmetic(ctx, req);
      return BinaryNext.CONTINUE;
    case Command.FLUSH_ALL:
      flush(ctx, req);
      return BinaryNext.CONTINUE;
    case Command.NOOP:
      respond(ctx, req, undefined);
      return BinaryNext.FLUSH;
    case Command.VERSION:
      respond(ctx, req, encodeAscii(ctx.server.version));
      return BinaryNext.CONTINUE;
    case Command.QUIT:
      respond(ctx, req, undefined);
      return BinaryNext.CLOSE;
    case Command.STATS:
      stats(ctx, req);
      return BinaryNext.CONTINUE;
    case Command.SASL_LIST_MECHS:
      if (!saslEnabled(ctx, req)) return BinaryNext.CONTINUE;
      // memcached's init_sasl_conn: listing the mechanisms starts over, unauthenticated.
      ctx.authenticated = false;
      respond(ctx, req, MECHANISMS);
      return BinaryNext.CONTINUE;
    case Command.SASL_AUTH:
    case Command.SASL_STEP:
      return saslBegin(ctx, req);
    default:
      throw new Error(`processBinary: command ${req.command} is not executable here`);
  }
}

function hex(n: number): string {
  return n.toString(16).padStart(2, '0');
}

// ---- retrieval ----

/** get/getk/gat/gatk/touch and the quiet forms (process_bin_get_or_touch). */
function getOrTouch(ctx: Context, req: Request): void {
  const { engine, out, info } = ctx;
  const server = ctx.server;
  const touching = req.command !== Command.GET;
  const key = req.key;
  if (server.verbosity > 1) server.trace(`<${ctx.id} ${touching ? 'TOUCH' : 'GET'} ${latin1(key)}`);
  if (touching) server.stats.cmdTouch++;
  else server.stats.cmdGet++;
  const item = sync(touching ? engine.getAndTouch(key, req.exptime) : engine.get(key));
  if (server.detailEnabled) server.prefixStats.recordGet(key, item > 0);
  const returnKey = req.bin.returnKey;
  if (item <= 0) {
    if (req.noreply) return;
    if (!returnKey) return respondError(ctx, req, BinaryStatus.KEY_ENOENT);
    header(ctx, req, BinaryStatus.KEY_ENOENT, 0, key.length, key.length, 0n);
    out.raw(key);
    return;
  }
  engine.getItemInfo(item, info, true);
  const withValue = req.command !== Command.TOUCH;
  const keylen = returnKey ? info.nkey : 0;
  header(ctx, req, BinaryStatus.SUCCESS, 4, keylen, 4 + keylen + (withValue ? info.nvalue : 0), info.cas);
  appendU32(out, info.flags);
  if (returnKey) out.bytes(info.keyBytes, info.keyOffset, info.nkey);
  if (withValue) appendValue(ctx, item, info, true);
  else keepItem(ctx, item);
}

// ---- storage ----

/**
 * The item a store's value will be read into (process_bin_update, process_bin_append_prepend),
 * or 0 when it cannot be stored: then the error is written and `req.swallow` set.
 */
export function binaryStoreBegin(ctx: Context, req: Request): ItemHandle {
  const server = ctx.server;
  const append = req.command === Command.APPEND || req.command === Command.PREPEND;
  if (server.verbosity > 1) server.trace(append ? `Value len is ${req.nbytes}` : `<${ctx.id} ${req.command === Command.ADD ? 'ADD' : req.command === Command.SET ? 'SET' : 'REPLACE'} ${latin1(req.key)} Value len is ${req.nbytes}`);
  if (server.detailEnabled) server.prefixStats.recordSet(req.key);
  const operation = STORE_OPERATION[req.command]!;
  // A length that wrapped negative is too large for memcached's item_size_ok, and nothing is swallowed.
  const item =
    req.nbytes < 0
      ? -Status.E2BIG
      : sync(ctx.engine.allocate(req.key, req.nbytes, append ? 0 : req.flags, append ? 0 : req.exptime, operation));
  if (item > 0) return item;
  if (-item === Status.E2BIG) respondError(ctx, req, BinaryStatus.E2BIG);
  else outOfMemory(ctx, req, 'Out of memory allocating item');
  req.swallow = req.nbytes;
  return 0;
}

/** Links an item whose value was read (complete_update_bin). */
export function binaryStoreComplete(ctx: Context, req: Request, item: ItemHandle): void {
  const { engine, info } = ctx;
  // A non-zero CAS makes set, add and replace a compare-and-swap (memcached's NREAD_CAS);
  // without CAS (-C) memcached never sets it on the item, so it is ignored.
  const cas = ctx.server.casEnabled ? req.cas : 0n;
  const storeAsCas = cas !== 0n && req.command !== Command.APPEND && req.command !== Command.PREPEND;
  const operation = storeAsCas ? StoreOperation.CAS : STORE_OPERATION[req.command]!;
  const status = sync(engine.store(item, operation, cas));
  let newCas = 0n;
  if (status === Status.SUCCESS) {
    engine.getItemInfo(item, info, true);
    newCas = info.cas;
  }
  engine.release(item);
  switch (status) {
    case Status.SUCCESS:
      return respond(ctx, req, undefined, newCas);
    case Status.KEY_EEXISTS:
      return respondError(ctx, req, BinaryStatus.KEY_EEXISTS);
    case Status.KEY_ENOENT:
      return respondError(ctx, req, BinaryStatus.KEY_ENOENT);
    default:
      if (!storeAsCas && req.command === Command.ADD) return respondError(ctx, req, BinaryStatus.KEY_EEXISTS);
      if (!storeAsCas && req.command === Command.REPLACE) return respondError(ctx, req, BinaryStatus.KEY_ENOENT);
      return respondError(ctx, req, BinaryStatus.NOT_STORED);
  }
}

// ---- delete, incr/decr, flush ----

function remove(ctx: Context, req: Request): void {
  if (ctx.server.verbosity > 1) ctx.server.trace(`Deleting ${latin1(req.key)}`);
  if (ctx.server.detailEnabled) ctx.server.prefixStats.recordDelete(req.key);
  const status = sync(ctx.engine.remove(req.key, req.cas));
  if (status === Status.SUCCESS) return respond(ctx, req, undefined);
  respondError(ctx, req, status === Status.KEY_EEXISTS ? BinaryStatus.KEY_EEXISTS : BinaryStatus.KEY_ENOENT);
}

/** complete_incr_bin: the new value as 8 bytes; a miss creates `initial` unless told not to. */
function arithmetic(ctx: Context, req: Request): void {
  const r = arithmeticRequest;
  r.incr = req.command === Command.INCR;
  r.delta = req.delta;
  r.create = req.bin.create;
  r.initial = req.bin.initial;
  r.exptime = req.exptime;
  r.cas = req.cas;
  r.hold = false;
  const result = arithmeticResult;
  const status = sync(ctx.engine.arithmetic(req.key, r, result));
  switch (status) {
    case Status.SUCCESS: {
      if (req.noreply) return;
      header(ctx, req, BinaryStatus.SUCCESS, 0, 0, 8, result.cas);
      appendU64(ctx.out, result.value);
      return;
    }
    case Status.KEY_ENOENT:
      return respondError(ctx, req, BinaryStatus.KEY_ENOENT);
    case Status.KEY_EEXISTS:
      return respondError(ctx, req, BinaryStatus.KEY_EEXISTS);
    case Status.EINVAL:
      return respondError(ctx, req, BinaryStatus.DELTA_BADVAL);
    case Status.NOT_STORED:
      return respondError(ctx, req, BinaryStatus.NOT_STORED);
    default:
      return outOfMemory(ctx, req, result.created ? 'Out of memory allocating new item' : 'Out of memory incrementing value');
  }
}

function flush(ctx: Context, req: Request): void {
  // process_bin_flush refuses before counting (the text command counts first).
  if (!ctx.server.flushEnabled) return respondError(ctx, req, BinaryStatus.AUTH_ERROR);
  ctx.server.stats.cmdFlush++;
  sync(ctx.engine.flush(req.exptime > 0 ? req.exptime : 0));
  respond(ctx, req, undefined);
}

// ---- stats ----

/** One STAT packet (append_bin_stats): the name as key, the value as body; both empty ends a group. */
function statPacket(ctx: Context, req: Request, key: string, value: string): void {
  writeResponseHeader(ctx.out, Opcode.STAT, BinaryStatus.SUCCESS, 0, key.length, key.length + value.length, req.bin.opaque, 0n);
  ctx.out.ascii(key);
  ctx.out.ascii(value);
}

/** process_bin_stat: the group is the key; reset, settings and detail match as prefixes. */
function stats(ctx: Context, req: Request): void {
  const group = latin1(req.key);
  if (ctx.server.verbosity > 1) ctx.server.trace(`<${ctx.id} STATS ${group}`);
  const add = (key: string, value: string): void => statPacket(ctx, req, key, value);
  if (group === '') {
    generalStats(ctx, add);
  } else if (group.startsWith('reset')) {
    resetStats(ctx);
  } else if (group.startsWith('settings')) {
    settingsStats(ctx, add);
  } else if (group.startsWith('detail')) {
    const what = group.slice(6);
    if (what.startsWith(' dump')) add('detailed', `${ctx.server.prefixStats.dump()}END\r\n`);
    else if (what.startsWith(' on')) ctx.server.detailEnabled = true;
    else if (what.startsWith(' off')) ctx.server.detailEnabled = false;
    else return respondError(ctx, req, BinaryStatus.KEY_ENOENT);
  } else {
    // get_stats: only the engine's groups, matched exactly (no conns or cachedump here).
    const lines = ENGINE_GROUPS.has(group) ? engineGroup(ctx, group) : undefined;
    if (lines === undefined) return respondError(ctx, req, BinaryStatus.KEY_ENOENT);
    for (const [key, value] of lines) add(key, value);
  }
  add('', '');
}

/** The groups memcached's get_stats answers. */
const ENGINE_GROUPS = new Set(['items', 'slabs', 'sizes', 'sizes_enable', 'sizes_disable']);

// ---- SASL ----

/** Without -S the SASL opcodes are unknown; memcached then swallows bodylen - keylen bytes. */
function saslEnabled(ctx: Context, req: Request): boolean {
  if (ctx.server.saslPwdb !== undefined) return true;
  respondError(ctx, req, BinaryStatus.UNKNOWN_COMMAND);
  req.swallow = req.bin.bodylen - req.key.length;
  return false;
}

/** process_bin_sasl_auth: checks the mechanism's length, then the data is read. */
function saslBegin(ctx: Context, req: Request): BinaryNext {
  if (!saslEnabled(ctx, req)) return BinaryNext.CONTINUE;
  const vlen = req.bin.valueBytes;
  if (req.key.length > SASL_MECH_MAX) {
    respondError(ctx, req, BinaryStatus.EINVAL);
    req.swallow = vlen;
    return BinaryNext.CONTINUE;
  }
  if (vlen < 0 || vlen > SASL_DATA_MAX) {
    respondError(ctx, req, BinaryStatus.ENOMEM);
    req.swallow = vlen;
    return BinaryNext.CONTINUE;
  }
  req.nbytes = vlen;
  return BinaryNext.READ_SASL;
}

/**
 * process_bin_complete_sasl_auth with PLAIN as the only mechanism. AUTH with the message
 * authenticates at once; AUTH without data answers "continue" and the message comes in a STEP
 * (a failed STEP may be retried). Every attempt starts unauthenticated.
 */
export function saslComplete(ctx: Context, req: Request, data: Uint8Array): void {
  const server = ctx.server;
  const sasl = ctx.sasl;
  const mech = latin1(req.key);
  if (server.verbosity > 0) server.trace(`mech:  \`\`${mech}'' with ${data.length} bytes of data`);
  ctx.authenticated = false;
  let ok = false;
  if (req.command === Command.SASL_AUTH) {
    const plain = mech.toUpperCase() === 'PLAIN';
    if (sasl.completed) {
      // sasl_server_start on a finished exchange fails, and the failure resets it.
      sasl.completed = false;
      sasl.started = false;
    } else if (plain && data.length === 0) {
      sasl.started = true;
      sasl.awaitingStep = true;
      header(ctx, req, BinaryStatus.AUTH_CONTINUE, 0, 0, 0, 0n);
      return;
    } else {
      ok = plain && checkPlain(server.saslPwdb!, data);
      sasl.started = ok;
      sasl.awaitingStep = false;
    }
  } else if (sasl.started && sasl.awaitingStep) {
    ok = checkPlain(server.saslPwdb!, data);
    if (ok) sasl.awaitingStep = false;
  }
  server.stats.authCmds++;
  if (ok) {
    sasl.completed = true;
    ctx.authenticated = true;
    respond(ctx, req, AUTHENTICATED);
    return;
  }
  server.stats.authErrors++;
  respondError(ctx, req, BinaryStatus.AUTH_ERROR);
}

