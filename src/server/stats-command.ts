// The `stats` command and its groups, as memcached 1.6's process_stat answers them: the server's
// own lines merged with the engine's in memcached's order, then END; `reset`, `detail`,
// `settings`, `conns`, `cachedump`, and the engine's groups (items, slabs, sizes).

import { Status } from '../engine/status.ts';
import type { AddStat } from '../engine/types.ts';
import { encodeAscii } from '../protocol/output.ts';
import { parseU32 } from '../protocol/numbers.ts';
import { BAD_FORMAT } from '../protocol/replies.ts';
import { sync } from './context.ts';
import type { Context } from './context.ts';
import { SETTINGS_STATS_ORDER } from './settings.ts';
import { addInOrder, reportGeneralStats } from './stats.ts';

export const END = encodeAscii('END\r\n');
/** memcached's MAX_NUMBER_OF_SLAB_CLASSES (63 + 1). */
export const MAX_NUMBER_OF_SLAB_CLASSES = 64;

function statLine(ctx: Context, key: string, value: string): void {
  ctx.out.ascii(`STAT ${key} ${value}\r\n`);
}

export function line(ctx: Context, text: string): void {
  ctx.out.ascii(text);
  ctx.out.crlf();
}

/** Collects an engine group into a map (the engines answer synchronously). */
export function engineGroup(ctx: Context, group: string): Map<string, string> | undefined {
  const lines = new Map<string, string>();
  const status = sync(ctx.engine.getStats(group, (key, value) => void lines.set(key, value)));
  return status === Status.SUCCESS ? lines : undefined;
}

/** `stats` with no group: the server's lines and the engine's, in memcached's order. */
export function generalStats(ctx: Context, add: AddStat): void {
  const engine = engineGroup(ctx, '') ?? new Map<string, string>();
  reportGeneralStats(ctx.server.processFacts(), ctx.server.stats, engine, add, ctx.server.tuning.lruMaintainer);
}

/** `stats settings`: the engine's lines and the server's, in memcached's order. */
export function settingsStats(ctx: Context, add: AddStat): void {
  const lines = engineGroup(ctx, 'settings') ?? new Map<string, string>();
  ctx.server.settingsStats((k, v) => void lines.set(k, v));
  addInOrder(SETTINGS_STATS_ORDER, lines, add);
}

/** `stats reset`: the engine's counters, the server's and the per-prefix ones. */
export function resetStats(ctx: Context): void {
  ctx.engine.resetStats();
  ctx.server.stats.reset();
  ctx.server.prefixStats.clear();
}

/** The words of a request's `arg` (the parser joins them with one space); none for ''. */
export function argWords(arg: string): string[] {
  return arg === '' ? [] : arg.split(' ');
}

export function reportStats(ctx: Context, arg: string): void {
  const words = argWords(arg);
  const group = words[0] ?? '';
  const server = ctx.server;
  switch (group) {
    case '':
      generalStats(ctx, (k, v) => statLine(ctx, k, v));
      ctx.out.raw(END);
      return;
    case 'reset':
      resetStats(ctx);
      line(ctx, 'RESET');
      return;
    case 'detail':
      return detail(ctx, words[1]);
    case 'settings':
      settingsStats(ctx, (k, v) => statLine(ctx, k, v));
      ctx.out.raw(END);
      return;
    case 'conns':
      server.connStats((k, v) => statLine(ctx, k, v));
      ctx.out.raw(END);
      return;
    case 'cachedump':
      return cachedump(ctx, words);
    default: {
      const lines = engineGroup(ctx, group);
      if (lines === undefined) return line(ctx, 'ERROR');
      for (const [key, value] of lines) statLine(ctx, key, value);
      ctx.out.raw(END);
    }
  }
}

/** stats detail on|off|dump. */
function detail(ctx: Context, what: string | undefined): void {
  if (what === 'on' || what === 'off') {
    ctx.server.detailEnabled = what === 'on';
    return line(ctx, 'OK');
  }
  if (what === 'dump') {
    ctx.out.ascii(ctx.server.prefixStats.dump());
    ctx.out.raw(END);
    return;
  }
  line(ctx, 'CLIENT_ERROR usage: stats detail on|off|dump');
}

const ITEM_PREFIX = encodeAscii('ITEM ');
/** The most bytes of a `stats cachedump` reply (item_cachedump's memlimit). */
const CACHEDUMP_REPLY_MAX = 2 * 1024 * 1024;

/** stats cachedump <class> <limit>: argument checks as memcached; the engine lists the items. */
function cachedump(ctx: Context, words: string[]): void {
  if (!ctx.server.dumpEnabled) return line(ctx, 'CLIENT_ERROR stats cachedump not allowed');
  if (words.length < 3) return line(ctx, 'CLIENT_ERROR bad command line');
  const id = u32(words[1]!);
  const limit = u32(words[2]!);
  if (id < 0 || limit < 0) return line(ctx, BAD_FORMAT);
  if (id >= MAX_NUMBER_OF_SLAB_CLASSES) return line(ctx, 'CLIENT_ERROR Illegal slab id');
  // item_cachedump: `ITEM <key> [<value bytes> b; <unix exptime, 0 never> s]` per item, in one
  // buffer of 2 MB that must keep room for END\r\n and C's NUL after the last line.
  let bytes = 0;
  sync(ctx.engine.cachedump?.(id, limit, (key, nbytes, exptime) => {
    // memcached copies the key with strncpy and prints it with %s: it ends at a NUL byte.
    const zero = key.indexOf(0);
    const nkey = zero < 0 ? key.length : zero;
    const tail = ` [${nbytes} b; ${exptime === 0 ? 0 : ctx.server.core.abstime(exptime)} s]\r\n`;
    const n = ITEM_PREFIX.length + nkey + tail.length;
    if (bytes + n + END.length + 1 > CACHEDUMP_REPLY_MAX) return false;
    bytes += n;
    ctx.out.raw(ITEM_PREFIX);
    ctx.out.bytes(key, 0, nkey);
    ctx.out.ascii(tail);
    return true;
  }));
  ctx.out.raw(END);
}

export function u32(text: string): number {
  return parseU32(encodeAscii(text), 0, text.length);
}
