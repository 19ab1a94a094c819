// The meta commands against the engine (protocol.txt "Meta Commands" and the sections after it):
// mg ms md ma mn me with memcached 1.6.18's replies, byte for byte, and its counters; cf.
// proto_text.c process_mget_command, process_mset_command and _finalize_mset,
// process_mdelete_command, process_marithmetic_command and process_meta_command. Flags that
// return something are written in request order; q hides only the nominal reply.

import { Status, StoreOperation } from '../engine/status.ts';
import {
  GetCount, ItemMark, RemoveOption, StoreOption, createArithmeticRequest, createArithmeticResult,
  createGetRequest,
} from '../engine/types.ts';
import type { ItemHandle, ItemInfo } from '../engine/types.ts';
import { writeBase64 } from '../protocol/meta/base64.ts';
import { OPAQUE_TOO_LONG, REFCOUNT_OVERFLOW } from '../protocol/meta/parse.ts';
import { MetaFlag, hasFlag } from '../protocol/meta/request.ts';
import type { MetaRequest } from '../protocol/meta/request.ts';
import { SPACE, encodeAscii } from '../protocol/output.ts';
import type { Output } from '../protocol/output.ts';
import { ARITH_NO_MEMORY, BAD_DATA_CHUNK, NON_NUMERIC } from '../protocol/replies.ts';
import { Command } from '../protocol/request.ts';
import type { Request } from '../protocol/request.ts';
import { appendValue, keepItem, storeFailure, sync } from './context.ts';
import type { Context } from './context.ts';

const HD = encodeAscii('HD');
const VA = encodeAscii('VA ');
const EN = encodeAscii('EN');
const NF = encodeAscii('NF');
const NS = encodeAscii('NS');
const EX = encodeAscii('EX');
const MN = encodeAscii('MN\r\n');
const ME = encodeAscii('ME ');
const WIN = encodeAscii(' W');
const STALE = encodeAscii(' X');
const WIN_SENT = encodeAscii(' Z');
const BINARY_KEY = encodeAscii(' b');
const NO_TTL = encodeAscii('-1');
const VIVIFY_NO_MEMORY = 'SERVER_ERROR Out of memory allocating new item';
const UNHANDLED = 'SERVER_ERROR Unhandled storage type.';

// One of each per process: the engine answers synchronously, so no two requests share them.
const getRequest = createGetRequest();
const arithmeticRequest = createArithmeticRequest();
const arithmeticResult = createArithmeticResult();

/** mg md ma mn me (ms goes through metaSetBegin and metaSetComplete). */
export function processMeta(ctx: Context, req: Request): void {
  switch (req.command) {
    case Command.META_GET:
      return metaGet(ctx, req);
    case Command.META_DELETE:
      return metaDelete(ctx, req);
    case Command.META_ARITHMETIC:
      return metaArithmetic(ctx, req);
    case Command.META_NOOP:
      ctx.out.raw(MN);
      return;
    case Command.META_DEBUG:
      return metaDebug(ctx, req);
    default:
      throw new Error(`processMeta: command ${req.command} is not a meta command`);
  }
}

// ---- the clock: t, l and R are relative to memcached's current_time ----

/** The server's current_time (seconds since the back-dated start, as the engine's times). */
function currentTime(ctx: Context): number {
  return ctx.server.core.currentTime();
}

/** memcached's realtime() of a protocol exptime. */
function realtime(ctx: Context, exptime: number): number {
  return ctx.server.core.realtime(exptime);
}

// ---- flag writers ----

/** " k<key>", base64 with " b" after it when the key is binary (memcached's META_KEY). */
function writeKey(out: Output, bytes: Uint8Array, offset: number, n: number, binary: boolean): void {
  out.byte(SPACE);
  out.byte(MetaFlag.RETURN_KEY);
  if (binary) {
    writeBase64(out, bytes, offset, n);
    out.raw(BINARY_KEY);
  } else {
    out.bytes(bytes, offset, n);
  }
}

function writeOpaque(out: Output, m: MetaRequest): void {
  out.byte(SPACE);
  out.bytes(m.opaque, 0, m.opaqueLength);
}

/** " <flag><value>" for a numeric return flag. */
function writeNumber(out: Output, flag: number, value: number): void {
  out.byte(SPACE);
  out.byte(flag);
  out.decimal(value);
}

/** " c<cas>". */
function writeCas(out: Output, cas: bigint): void {
  out.byte(SPACE);
  out.byte(MetaFlag.RETURN_CAS);
  out.u64(cas);
}

/** " t<seconds left>": -1 for no TTL, else exptime - now as the u32 memcached prints. */
function writeTtl(out: Output, exptime: number, now: number): void {
  out.byte(SPACE);
  out.byte(MetaFlag.RETURN_TTL);
  if (exptime === 0) out.raw(NO_TTL);
  else out.decimal((exptime - now) >>> 0);
}

/** The O and k flags of a reply about the request's key (misses, md, ma): request order. */
function writeRequestFlags(out: Output, req: Request): void {
  const m = req.meta;
  const binary = hasFlag(m, MetaFlag.BASE64);
  for (let i = 0; i < m.flagCount; i++) {
    const flag = m.flags[i]!;
    if (flag === MetaFlag.OPAQUE) writeOpaque(out, m);
    else if (flag === MetaFlag.RETURN_KEY) writeKey(out, req.key, 0, req.key.length, binary);
  }
}

/**
 * T, or N on an item this request created: sets the item's TTL and returns its new rel exptime;
 * -1 for any other flag (N on an item that was there changes nothing).
 */
function applyTtlFlag(ctx: Context, item: ItemHandle, m: MetaRequest, flag: number, created: boolean): number {
  const ttl = flag === MetaFlag.SET_TTL ? m.ttl : flag === MetaFlag.VIVIFY && created ? m.vivifyTtl : undefined;
  if (ttl === undefined) return -1;
  ctx.engine.setExptime(item, ttl);
  return realtime(ctx, ttl);
}

/** The T and N flags before O, for a reply that is not written (memcached stops at O there). */
function applyTtlFlagsBeforeOpaque(ctx: Context, item: ItemHandle, m: MetaRequest, created: boolean): void {
  for (let i = 0; i < m.flagCount && m.flags[i] !== MetaFlag.OPAQUE; i++) applyTtlFlag(ctx, item, m, m.flags[i]!, created);
}

function errorLine(ctx: Context, line: string): void {
  ctx.out.ascii(line);
  ctx.out.crlf();
}

// ---- mg ----

/**
 * "Meta Get". The hit marks and access time h and l report are those from before this hit, so
 * with h or l the bump comes after the reply (memcached's locked path, do_item_bump at the end).
 */
function metaGet(ctx: Context, req: Request): void {
  const { engine, out, info } = ctx;
  const m = req.meta;
  if (m.opaqueTooLong) return metaGetOpaqueTooLong(ctx, req);
  const stats = ctx.server.stats;
  const touching = hasFlag(m, MetaFlag.SET_TTL);
  const noBump = hasFlag(m, MetaFlag.NO_BUMP);
  const bumpLate = !noBump && (hasFlag(m, MetaFlag.RETURN_HIT) || hasFlag(m, MetaFlag.RETURN_LAST_ACCESS));
  const g = getRequest;
  g.bump = !noBump && !bumpLate;
  g.count = touching ? GetCount.TOUCH : GetCount.GET;
  g.vivify = hasFlag(m, MetaFlag.VIVIFY);
  const item = sync(engine.get(req.key, g));
  // Held too often (memcached's refcount limit): an error, counted as nothing.
  if (item === -Status.TMPFAIL) return errorLine(ctx, REFCOUNT_OVERFLOW);
  if (item < 0) {
    // A miss counts as a get even with T: memcached sets ttl_set only on a hit.
    stats.cmdGet++;
    if (req.noreply) return;
    out.raw(EN);
    writeRequestFlags(out, req);
    out.crlf();
    return;
  }
  const created = g.created;
  engine.getItemInfo(item, info, hasFlag(m, MetaFlag.RETURN_CAS));
  const value = hasFlag(m, MetaFlag.RETURN_VALUE);
  if (value) {
    out.raw(VA);
    out.decimal(info.nvalue);
  } else {
    out.raw(HD);
  }
  const now = hasFlag(m, MetaFlag.RETURN_TTL) || hasFlag(m, MetaFlag.RETURN_LAST_ACCESS) ? currentTime(ctx) : 0;
  let exptime = info.exptime;
  let won = false;
  for (let i = 0; i < m.flagCount; i++) {
    const flag = m.flags[i]!;
    switch (flag) {
      case MetaFlag.SET_TTL:
      case MetaFlag.VIVIFY: {
        const set = applyTtlFlag(ctx, item, m, flag, created);
        if (set >= 0) {
          exptime = set;
          if (flag === MetaFlag.VIVIFY) won = true;
        }
        break;
      }
      case MetaFlag.RECACHE:
        // Win when no win was handed out yet and the TTL left is below the token.
        if (!info.winSent && !created && exptime !== 0 && exptime < realtime(ctx, m.recacheTtl)) won = true;
        break;
      case MetaFlag.RETURN_SIZE:
        writeNumber(out, MetaFlag.RETURN_SIZE, info.nvalue);
        break;
      case MetaFlag.RETURN_TTL:
        writeTtl(out, exptime, now);
        break;
      case MetaFlag.RETURN_CAS:
        writeCas(out, info.cas);
        break;
      case MetaFlag.RETURN_FLAGS:
        writeNumber(out, MetaFlag.RETURN_FLAGS, info.flags);
        break;
      case MetaFlag.RETURN_LAST_ACCESS:
        writeNumber(out, MetaFlag.RETURN_LAST_ACCESS, (now - info.time) >>> 0);
        break;
      case MetaFlag.RETURN_HIT:
        writeNumber(out, MetaFlag.RETURN_HIT, info.fetched ? 1 : 0);
        break;
      case MetaFlag.OPAQUE:
        writeOpaque(out, m);
        break;
      case MetaFlag.RETURN_KEY:
        writeKey(out, info.keyBytes, info.keyOffset, info.nkey, info.keyBinary);
        break;
      default:
        break;
    }
  }
  // Z before X, and W last: a client is never told both W and Z.
  if (info.winSent) out.raw(WIN_SENT);
  if (info.stale) {
    out.raw(STALE);
    if (!info.winSent) won = true;
  }
  if (won) {
    out.raw(WIN);
    engine.markItem(item, ItemMark.WIN_SENT);
  }
  out.crlf();
  if (bumpLate) engine.bump(item);
  if (touching) stats.cmdTouch++;
  else stats.cmdGet++;
  if (value) {
    appendValue(ctx, item, info, true);
    out.crlf();
  } else {
    keepItem(ctx, item);
  }
}

/**
 * mg with an O token over 32 bytes fails where the reply reaches it, as memcached does: on a hit
 * after a vivify, a bump (when no flag delayed it) and the T and N before the token, counting
 * nothing; on a miss after counting the miss.
 */
function metaGetOpaqueTooLong(ctx: Context, req: Request): void {
  const { engine } = ctx;
  const m = req.meta;
  // memcached bumps at the lookup unless a flag locks the item to bump later, which the error skips.
  const locked =
    hasFlag(m, MetaFlag.VIVIFY) || hasFlag(m, MetaFlag.SET_TTL) || hasFlag(m, MetaFlag.RECACHE) ||
    hasFlag(m, MetaFlag.RETURN_LAST_ACCESS) || hasFlag(m, MetaFlag.RETURN_HIT);
  const g = getRequest;
  g.bump = !hasFlag(m, MetaFlag.NO_BUMP) && !locked;
  g.count = GetCount.NONE;
  g.vivify = hasFlag(m, MetaFlag.VIVIFY);
  const item = sync(engine.get(req.key, g));
  if (item < 0) {
    ctx.server.stats.cmdGet++;
    const again = sync(engine.get(req.key)); // counts the miss the quiet lookup did not
    if (again > 0) engine.release(again);
    return errorLine(ctx, OPAQUE_TOO_LONG);
  }
  applyTtlFlagsBeforeOpaque(ctx, item, m, g.created);
  engine.release(item);
  errorLine(ctx, OPAQUE_TOO_LONG);
}

// ---- ms ----

/**
 * The item an ms value is read into, or 0 after writing the error: then the value and its CRLF
 * are swallowed (req.swallow), as memcached swallows them after any error past the datalen.
 */
export function metaSetBegin(ctx: Context, req: Request): ItemHandle {
  const { engine } = ctx;
  if (req.error !== '') {
    errorLine(ctx, req.error);
    req.swallow = req.nbytes + 2;
    return 0;
  }
  const m = req.meta;
  // SET, whatever the mode: memcached's ms drops the old value whenever allocation fails.
  const item = sync(engine.allocate(req.key, req.nbytes, m.clientFlags, m.ttl, StoreOperation.SET));
  if (item < 0) {
    errorLine(ctx, storeFailure(ctx, item));
    req.swallow = req.nbytes + 2;
    return 0;
  }
  if (hasFlag(m, MetaFlag.BASE64)) engine.markItem(item, ItemMark.KEY_BINARY);
  return item;
}

/** Stores an ms value once it and its CRLF are read (dataOk: the CRLF was there), and replies. */
export function metaSetComplete(ctx: Context, req: Request, item: ItemHandle, dataOk: boolean): void {
  const { engine, out, info } = ctx;
  if (!dataOk) {
    engine.release(item);
    return errorLine(ctx, BAD_DATA_CHUNK);
  }
  const m = req.meta;
  const options = m.operation === StoreOperation.CAS && hasFlag(m, MetaFlag.INVALIDATE) ? StoreOption.INVALIDATE : 0;
  const status = sync(engine.store(item, m.operation, m.cas, options));
  let code: Uint8Array;
  switch (status) {
    case Status.SUCCESS:
      code = HD;
      break;
    case Status.NOT_STORED:
      code = NS;
      break;
    case Status.KEY_EEXISTS:
      code = EX;
      break;
    case Status.KEY_ENOENT:
      code = NF;
      break;
    default:
      engine.release(item);
      return errorLine(ctx, UNHANDLED);
  }
  if (status === Status.SUCCESS && req.noreply) {
    engine.release(item);
    return;
  }
  out.raw(code);
  if (m.flagCount > 0) writeSetFlags(ctx, req, item, info, status === Status.SUCCESS);
  out.crlf();
  engine.release(item);
}

/** ms's reply flags: O, k (the item's key) and c (the stored CAS, 0 when not stored). */
function writeSetFlags(ctx: Context, req: Request, item: ItemHandle, info: ItemInfo, stored: boolean): void {
  const m = req.meta;
  const out = ctx.out;
  const wantCas = stored && hasFlag(m, MetaFlag.RETURN_CAS);
  if (hasFlag(m, MetaFlag.RETURN_KEY) || wantCas) ctx.engine.getItemInfo(item, info, wantCas);
  for (let i = 0; i < m.flagCount; i++) {
    switch (m.flags[i]) {
      case MetaFlag.OPAQUE:
        writeOpaque(out, m);
        break;
      case MetaFlag.RETURN_KEY:
        writeKey(out, info.keyBytes, info.keyOffset, info.nkey, info.keyBinary);
        break;
      case MetaFlag.RETURN_CAS:
        writeCas(out, wantCas ? info.cas : 0n);
        break;
      default:
        break;
    }
  }
}

// ---- md ----

/** "Meta Delete": HD (hidden by q), NF or EX, then the O and k flags. */
function metaDelete(ctx: Context, req: Request): void {
  const m = req.meta;
  let options = m.hasCas ? RemoveOption.COMPARE_CAS : 0;
  if (hasFlag(m, MetaFlag.INVALIDATE)) {
    options |= RemoveOption.INVALIDATE;
    if (hasFlag(m, MetaFlag.SET_TTL)) options |= RemoveOption.SET_EXPTIME;
  }
  const status = sync(ctx.engine.remove(req.key, m.cas, options, m.ttl));
  if (status === Status.SUCCESS && req.noreply) return;
  const out = ctx.out;
  out.raw(status === Status.SUCCESS ? HD : status === Status.KEY_EEXISTS ? EX : NF);
  writeRequestFlags(out, req);
  out.crlf();
}

// ---- ma ----

/**
 * "Meta Arithmetic". The engine hands over the item with the result when T, N or t need it, as
 * do_add_delta does; q hides a success unless the item was created.
 */
function metaArithmetic(ctx: Context, req: Request): void {
  const { engine, out } = ctx;
  const m = req.meta;
  const r = arithmeticRequest;
  const vivify = hasFlag(m, MetaFlag.VIVIFY);
  r.incr = m.incr;
  r.delta = m.delta;
  r.create = vivify;
  r.initial = m.initial;
  r.exptime = 0; // a created item gets its TTL from N (or T) below, in flag order
  r.cas = m.cas;
  r.hold = vivify || hasFlag(m, MetaFlag.SET_TTL) || hasFlag(m, MetaFlag.RETURN_TTL);
  const result = arithmeticResult;
  const status = sync(engine.arithmetic(req.key, r, result));
  switch (status) {
    case Status.SUCCESS:
      return arithmeticReply(ctx, req, result.item, result.created);
    case Status.KEY_ENOENT:
    case Status.KEY_EEXISTS:
      if (m.opaqueTooLong) return errorLine(ctx, OPAQUE_TOO_LONG);
      out.raw(status === Status.KEY_ENOENT ? NF : EX);
      writeRequestFlags(out, req);
      out.crlf();
      return;
    case Status.EINVAL:
      return errorLine(ctx, NON_NUMERIC);
    default:
      return errorLine(ctx, result.created ? VIVIFY_NO_MEMORY : ARITH_NO_MEMORY);
  }
}

function arithmeticReply(ctx: Context, req: Request, item: ItemHandle, created: boolean): void {
  const { engine, out, info } = ctx;
  const m = req.meta;
  const result = arithmeticResult;
  let exptime = 0;
  if (item > 0) {
    engine.getItemInfo(item, info);
    exptime = info.exptime;
  }
  // TTL changes apply even when q hides the reply or the opaque fails it.
  const silent = req.noreply && !created;
  if (silent || m.opaqueTooLong) {
    applyTtlFlagsBeforeOpaque(ctx, item, m, created);
    if (item > 0) engine.release(item);
    if (m.opaqueTooLong) errorLine(ctx, OPAQUE_TOO_LONG);
    return;
  }
  const value = hasFlag(m, MetaFlag.RETURN_VALUE);
  if (value) {
    out.raw(VA);
    out.decimal(decimalLength(result.value));
  } else {
    out.raw(HD);
  }
  const now = hasFlag(m, MetaFlag.RETURN_TTL) ? currentTime(ctx) : 0;
  const binary = hasFlag(m, MetaFlag.BASE64);
  for (let i = 0; i < m.flagCount; i++) {
    const flag = m.flags[i]!;
    switch (flag) {
      case MetaFlag.RETURN_CAS:
        writeCas(out, result.cas);
        break;
      case MetaFlag.RETURN_TTL:
        writeTtl(out, exptime, now);
        break;
      case MetaFlag.SET_TTL:
      case MetaFlag.VIVIFY: {
        const set = applyTtlFlag(ctx, item, m, flag, created);
        if (set >= 0) exptime = set;
        break;
      }
      case MetaFlag.OPAQUE:
        writeOpaque(out, m);
        break;
      case MetaFlag.RETURN_KEY:
        writeKey(out, req.key, 0, req.key.length, binary);
        break;
      default:
        break;
    }
  }
  out.crlf();
  if (value) {
    out.u64(result.value);
    out.crlf();
  }
  if (item > 0) engine.release(item);
}

function decimalLength(value: bigint): number {
  let n = 1;
  for (let v = value; v >= 10n; v /= 10n) n++;
  return n;
}

// ---- me ----

/** "Meta Debug": `ME <key> exp= la= cas= fetch= cls= size=`, or EN; counts cmd_meta. */
function metaDebug(ctx: Context, req: Request): void {
  const { engine, out, info } = ctx;
  ctx.server.stats.cmdMeta++;
  const g = getRequest;
  g.bump = false;
  g.count = GetCount.NONE;
  g.vivify = false;
  const item = sync(engine.get(req.key, g));
  if (item < 0) {
    out.raw(EN);
    out.crlf();
    return;
  }
  engine.getItemInfo(item, info, true);
  const now = currentTime(ctx);
  out.raw(ME);
  if (info.keyBinary) writeBase64(out, info.keyBytes, info.keyOffset, info.nkey);
  else out.bytes(info.keyBytes, info.keyOffset, info.nkey);
  // exp is current_time - exptime as a C int (negative while the item lives); la an unsigned.
  out.ascii(' exp=');
  out.signed(info.exptime === 0 ? -1 : (now - info.exptime) | 0);
  out.ascii(' la=');
  out.decimal((now - info.time) >>> 0);
  out.ascii(' cas=');
  out.u64(info.cas);
  out.ascii(info.fetched ? ' fetch=yes cls=' : ' fetch=no cls=');
  out.decimal(info.clsid);
  out.ascii(' size=');
  out.decimal(info.ntotal);
  out.crlf();
  engine.release(item);
}
