// Where requests meet the engine: one small function per text command, mapping engine statuses
// to memcached's replies (cf. proto_text.c's process_*_command and Pelikan's process.c). The
// connection calls `processRequest` for a parsed request, and `storeBegin`/`storeComplete` around
// the value bytes of a storage command. Meta commands are in meta.ts.

import { Status, StoreOperation } from '../engine/status.ts';
import type { ArithmeticRequest, ArithmeticResult, ItemHandle } from '../engine/types.ts';
import { GET_MANY_MAX, MANY_STRIDE, Many, ManyState, ManyText, createArithmeticRequest, createArithmeticResult } from '../engine/types.ts';
import { encodeAscii, type Output } from '../protocol/output.ts';
import { ARITH_NO_MEMORY, BAD_DATA_CHUNK, NON_NUMERIC, NO_MEMORY, TOO_LARGE } from '../protocol/replies.ts';
import { Command } from '../protocol/request.ts';
import type { Request } from '../protocol/request.ts';
import { valueLine, valueLineCas, valueLineOf } from '../protocol/text/reply.ts';
import { appendValue, referenceMin, storeFailure, sync } from './context.ts';
import type { Context } from './context.ts';
import { lruCrawler } from './crawler.ts';
import { tuningCommand } from './tuning.ts';
import { metaSetBegin, metaSetComplete, processMeta } from './meta.ts';
import { reportStats } from './stats-command.ts';

const STORED = encodeAscii('STORED\r\n');
const NOT_STORED = encodeAscii('NOT_STORED\r\n');
const EXISTS = encodeAscii('EXISTS\r\n');
const NOT_FOUND = encodeAscii('NOT_FOUND\r\n');
const DELETED = encodeAscii('DELETED\r\n');
const TOUCHED = encodeAscii('TOUCHED\r\n');
const END = encodeAscii('END\r\n');
const OK = encodeAscii('OK\r\n');
/** memcached's MAX_VERBOSITY_LEVEL. */
const MAX_VERBOSITY_LEVEL = 2;

/** What the connection does after a request. */
export const After = {
  CONTINUE: 0,
  /** Close once the replies so far are written (quit, shutdown, HTTP). */
  CLOSE: 1,
} as const;
export type After = (typeof After)[keyof typeof After];

const arithmeticRequest: ArithmeticRequest = createArithmeticRequest();
const arithmeticResult: ArithmeticResult = createArithmeticResult();

/** Writes a line and CRLF unless the request is noreply (memcached's out_string). */
export function replyLine(ctx: Context, req: Request, line: string): void {
  if (req.noreply) return;
  if (ctx.server.verbosity > 1) ctx.server.trace(`>${ctx.id} ${line}`);
  ctx.out.ascii(line);
  ctx.out.crlf();
}

function reply(ctx: Context, req: Request, bytes: Uint8Array): void {
  if (req.noreply) return;
  if (ctx.server.verbosity > 1) ctx.server.trace(`>${ctx.id} ${String.fromCharCode(...bytes.subarray(0, bytes.length - 2))}`);
  ctx.out.raw(bytes);
}

/** Executes a request that is not a storage command. */
export function processRequest(ctx: Context, req: Request): After {
  switch (req.command) {
    case Command.GET:
    case Command.GETS:
    case Command.GAT:
    case Command.GATS:
      retrieve(ctx, req);
      return After.CONTINUE;
    case Command.DELETE:
      remove(ctx, req);
      return After.CONTINUE;
    case Command.INCR:
    case Command.DECR:
      arithmetic(ctx, req);
      return After.CONTINUE;
    case Command.TOUCH:
      touch(ctx, req);
      return After.CONTINUE;
    case Command.FLUSH_ALL:
      flushAll(ctx, req);
      return After.CONTINUE;
    case Command.VERSION:
      replyLine(ctx, req, `VERSION ${ctx.server.version}`);
      return After.CONTINUE;
    case Command.VERBOSITY:
      if (req.exptime >= 0) ctx.server.verbosity = Math.min(req.exptime, MAX_VERBOSITY_LEVEL);
      reply(ctx, req, OK);
      return After.CONTINUE;
    case Command.STATS:
      reportStats(ctx, req.arg);
      return After.CONTINUE;
    case Command.LRU_CRAWLER:
      lruCrawler(ctx, req.arg);
      return After.CONTINUE;
    case Command.LRU:
    case Command.CACHE_MEMLIMIT:
    case Command.SLABS:
      tuningCommand(ctx, req);
      return After.CONTINUE;
    case Command.QUIT:
    case Command.CLOSE:
      return After.CLOSE;
    case Command.SHUTDOWN:
      return shutdown(ctx, req);
    case Command.ERROR:
    case Command.FIXED:
      replyLine(ctx, req, req.error);
      return After.CONTINUE;
    case Command.META_GET:
    case Command.META_DELETE:
    case Command.META_ARITHMETIC:
    case Command.META_NOOP:
    case Command.META_DEBUG:
      processMeta(ctx, req);
      return After.CONTINUE;
    default:
      throw new Error(`processRequest: command ${req.command} is not executable here`);
  }
}

/** get/gets/gat/gats: a VALUE block per hit, then END. */
function retrieve(ctx: Context, req: Request): void {
  const { engine, out } = ctx;
  const stats = ctx.server.stats;
  const touching = req.command === Command.GAT || req.command === Command.GATS;
  const withCas = req.command === Command.GETS || req.command === Command.GATS;
  if (!touching && engine.getMany !== undefined && !ctx.server.detailEnabled && ctx.server.verbosity <= 1) {
    return retrieveMany(ctx, req, withCas);
  }
  for (let k = 0; k < req.keyCount; k++) {
    const key = req.keys[k]!;
    // memcached counts a gat as a touch only, not as a get.
    if (touching) stats.cmdTouch++;
    else stats.cmdGet++;
    const item = sync(touching ? engine.getAndTouch(key, req.exptime) : engine.get(key));
    if (ctx.server.detailEnabled) ctx.server.prefixStats.recordGet(key, item > 0);
    if (item > 0) {
      if (ctx.server.verbosity > 1) ctx.server.trace(`>${ctx.id} sending key ${String.fromCharCode(...key)}`);
      heldValue(ctx, item, withCas);
    }
    // Each key but the last is a response of its own, empty on a miss (END goes with the last).
    if (k < req.keyCount - 1) out.endResponse(true);
  }
  if (ctx.server.verbosity > 1) ctx.server.trace(`>${ctx.id} END`);
  out.raw(END);
}

/** The VALUE block of a hit the caller holds; the reference is appendValue's. */
function heldValue(ctx: Context, item: ItemHandle, withCas: boolean): void {
  const { info, out } = ctx;
  ctx.engine.getItemInfo(item, info, withCas);
  if (withCas) valueLineCas(out, info.keyBytes, info.keyOffset, info.nkey, info.flags, info.nvalue, info.cas);
  else valueLine(out, info.keyBytes, info.keyOffset, info.nkey, info.flags, info.nvalue, -1);
  appendValue(ctx, item, info);
  out.crlf();
}

/**
 * get/gets through the engine's getMany, GET_MANY_MAX keys a call: a short value is copied from
 * where the engine answered, with no reference taken or given back per key.
 */
function retrieveMany(ctx: Context, req: Request, withCas: boolean): void {
  // One key: its END is the engine's answer's too (so the whole reply may be the engine's text).
  if (req.keyCount === 1 && !ctx.out.recording) return answerMany(ctx, req.keys, 1, withCas, true);
  answerMany(ctx, req.keys, req.keyCount, withCas, false);
  ctx.out.raw(END);
}

/**
 * Pipelined `get <key>` commands, one key each, answered as one multi-key get is (the connection
 * gathers them when the engine has getMany): each its VALUE block if a hit, then its END.
 */
export function retrieveEach(ctx: Context, keys: readonly Uint8Array[], count: number): void {
  answerMany(ctx, keys, count, false, true);
}

/** The VALUE block of each hit among keys[0, keyCount), and END after each key if `endEach`. */
function answerMany(ctx: Context, keys: readonly Uint8Array[], keyCount: number, withCas: boolean, endEach: boolean): void {
  const { engine, out } = ctx;
  // The engine's text answers, appended a run at a time, unless each response is framed apart
  // (UDP) or a write of some is still under way.
  const text = out.recording || out.borrowsInFlight ? 0 : ManyText.VALUES | (withCas ? ManyText.CAS : 0) | (endEach ? ManyText.END_EACH : 0);
  // A reply that is the engine's text alone is written from there (borrowed), not copied: when the
  // transport tells when a write is done, over an engine that is not waited for.
  const borrows = endEach && ctx.held !== undefined && engine.settled === undefined && engine.prefetch === undefined;
  for (let from = 0; from < keyCount; from += GET_MANY_MAX) {
    const count = Math.min(GET_MANY_MAX, keyCount - from);
    ctx.server.stats.cmdGet += count;
    out.settleBorrowed();
    // Values that appendValue would send by reference are held (none when the transport cannot
    // tell when a write is done; all once the reply is long).
    const answer = engine.getMany!(keys, from, count, referenceMin(ctx), text);
    const { table, base, bytes, view } = answer;
    // Where the text not yet appended starts; -1: no text answers.
    let written = text === 0 ? -1 : (answer.text ?? -1);
    for (let i = 0, at = base; i < count; i++, at += MANY_STRIDE) {
      const state = table[at + Many.HELD]!;
      if (written >= 0) {
        if (state === ManyState.WRITTEN) continue;
        written = appendText(out, bytes, view, written, table[at + Many.TEXT_END]!);
      }
      const item = table[at + Many.ITEM]!;
      if (item !== 0) {
        if (state === ManyState.HELD) {
          heldValue(ctx, item, withCas);
        } else {
          const key = keys[from + i]!;
          const flags = table[at + Many.FLAGS]!;
          const nvalue = table[at + Many.NVALUE]!;
          const casHigh = table[at + Many.CAS_HIGH]!;
          const casLow = table[at + Many.CAS_LOW]!;
          // A CAS from 2^53 on is written from a bigint.
          if (withCas && casHigh >= 0x200000) valueLineCas(out, key, 0, key.length, flags, nvalue, (BigInt(casHigh) << 32n) | BigInt(casLow));
          else valueLineOf(out, view, table[at + Many.KEY]!, key.length, flags, nvalue, withCas ? casHigh * 0x100000000 + casLow : -1);
          out.bytesOf(bytes, view, table[at + Many.VALUE]!, nvalue);
          out.crlf();
        }
      }
      if (endEach) {
        out.raw(END);
        out.endResponse(false);
      } else if (from + i < keyCount - 1) {
        out.endResponse(true);
      }
    }
    if (written >= 0) {
      const textEnd = table[base + (count - 1) * MANY_STRIDE + Many.TEXT_END]!;
      // Every key's answer is text (nothing appended yet) and nothing comes before it.
      if (!(borrows && written === answer.text && out.borrow(bytes, written, textEnd - written))) appendText(out, bytes, view, written, textEnd);
    }
  }
}

/** Appends the engine's text answers bytes[from, to) (`view`: the same bytes); returns where the next run starts. */
function appendText(out: Output, bytes: Uint8Array, view: DataView, from: number, to: number): number {
  if (to > from) out.bytesOf(bytes, view, from, to - from);
  return to;
}

/** The engine operation of each storage command (text, and binary's, which have no CAS command). */
export const STORE_OPERATION: Readonly<Record<number, StoreOperation>> = {
  [Command.SET]: StoreOperation.SET,
  [Command.ADD]: StoreOperation.ADD,
  [Command.REPLACE]: StoreOperation.REPLACE,
  [Command.APPEND]: StoreOperation.APPEND,
  [Command.PREPEND]: StoreOperation.PREPEND,
  [Command.CAS]: StoreOperation.CAS,
};

/**
 * The item a storage command's value will be read into, or 0 when it cannot be stored: then the
 * reply is written and `req.swallow` says how many bytes to read and drop.
 */
export function storeBegin(ctx: Context, req: Request): ItemHandle {
  if (req.command === Command.META_SET) return metaSetBegin(ctx, req);
  const operation = STORE_OPERATION[req.command]!;
  if (ctx.server.detailEnabled) ctx.server.prefixStats.recordSet(req.key);
  const item = sync(ctx.engine.allocate(req.key, req.nbytes, req.flags, req.exptime, operation));
  if (item > 0) return item;
  replyLine(ctx, req, storeFailure(ctx, item));
  req.swallow = req.nbytes + 2;
  return 0;
}

/** Links an item whose value was read; `dataOk` is false when the CRLF after it was missing. */
export function storeComplete(ctx: Context, req: Request, item: ItemHandle, dataOk: boolean): void {
  if (req.command === Command.META_SET) return metaSetComplete(ctx, req, item, dataOk);
  const { engine } = ctx;
  if (!dataOk) {
    engine.release(item);
    replyLine(ctx, req, BAD_DATA_CHUNK);
    return;
  }
  const status = sync(engine.store(item, STORE_OPERATION[req.command]!, req.cas));
  engine.release(item);
  switch (status) {
    case Status.SUCCESS:
      return reply(ctx, req, STORED);
    case Status.NOT_STORED:
      return reply(ctx, req, NOT_STORED);
    case Status.KEY_EEXISTS:
      return reply(ctx, req, EXISTS);
    case Status.KEY_ENOENT:
      return reply(ctx, req, NOT_FOUND);
    case Status.E2BIG:
      return replyLine(ctx, req, TOO_LARGE);
    default:
      return replyLine(ctx, req, NO_MEMORY);
  }
}

function remove(ctx: Context, req: Request): void {
  if (ctx.server.detailEnabled) ctx.server.prefixStats.recordDelete(req.key);
  const status = sync(ctx.engine.remove(req.key, 0n));
  reply(ctx, req, status === Status.SUCCESS ? DELETED : NOT_FOUND);
}

function arithmetic(ctx: Context, req: Request): void {
  const r = arithmeticRequest;
  r.incr = req.command === Command.INCR;
  r.delta = req.delta;
  r.create = false;
  r.initial = 0n;
  r.exptime = 0;
  r.cas = 0n;
  const status = sync(ctx.engine.arithmetic(req.key, r, arithmeticResult));
  switch (status) {
    case Status.SUCCESS:
      if (req.noreply) return;
      ctx.out.u64(arithmeticResult.value);
      ctx.out.crlf();
      return;
    case Status.KEY_ENOENT:
      return reply(ctx, req, NOT_FOUND);
    case Status.EINVAL:
      return replyLine(ctx, req, NON_NUMERIC);
    default:
      return replyLine(ctx, req, ARITH_NO_MEMORY);
  }
}

function touch(ctx: Context, req: Request): void {
  ctx.server.stats.cmdTouch++;
  const status = sync(ctx.engine.touch(req.key, req.exptime));
  reply(ctx, req, status === Status.SUCCESS ? TOUCHED : NOT_FOUND);
}

function flushAll(ctx: Context, req: Request): void {
  ctx.server.stats.cmdFlush++;
  if (!ctx.server.flushEnabled) return replyLine(ctx, req, 'CLIENT_ERROR flush_all not allowed');
  if (req.arg === 'bad') return replyLine(ctx, req, 'CLIENT_ERROR invalid exptime argument');
  sync(ctx.engine.flush(req.exptime > 0 ? req.exptime : 0));
  reply(ctx, req, OK);
}

function shutdown(ctx: Context, req: Request): After {
  if (!ctx.server.shutdownEnabled) {
    replyLine(ctx, req, 'ERROR: shutdown not enabled');
    return After.CONTINUE;
  }
  if (req.arg === '' || req.arg === 'graceful') {
    ctx.server.shutdown(req.arg === 'graceful');
    return After.CLOSE;
  }
  replyLine(ctx, req, 'CLIENT_ERROR invalid shutdown mode');
  return After.CONTINUE;
}
