// The commands that change settings while the server runs (protocol.txt, "Slab Reassign" and
// "LRU Tuning", and cache_memlimit under "Other commands"): `lru tune|mode|temp_ttl`,
// `cache_memlimit`, `slabs automove`, with memcached 1.6.18's replies. The LRU's and the memory
// limit's settings are the engine's (EngineHandle.tune); the others are the server's and
// `stats settings` shows them.

import { MEGABYTE, MEMLIMIT_MIN, type TunableSettings } from '../engine/config.ts';
import { Status } from '../engine/status.ts';
import { parseI32 } from '../protocol/numbers.ts';
import { encodeAscii } from '../protocol/output.ts';
import { BAD_FORMAT } from '../protocol/replies.ts';
import { Command, type Request } from '../protocol/request.ts';
import type { Context } from './context.ts';
import { replyLine } from './process.ts';
import type { Settings } from './settings.ts';
import { argWords, line, u32 } from './stats-command.ts';

/** The server's settings these commands change; `stats settings` reports their current values. */
export interface TuningSettings {
  /** lru_maintainer_thread: `lru mode` and `lru temp_ttl` are refused without it. */
  readonly lruMaintainer: boolean;
  tempLru: boolean;
  temporaryTtl: number;
  slabAutomove: number;
  slabAutomoveRatio: number;
}

export function tuningSettingsOf(settings: Settings): TuningSettings {
  const { lruMaintainer, tempLru, temporaryTtl, slabAutomove, slabAutomoveRatio } = settings;
  return { lruMaintainer, tempLru, temporaryTtl, slabAutomove, slabAutomoveRatio };
}

const ERROR = 'ERROR';
const OK = 'OK';
/** The largest cache_memlimit memcached takes: a larger number is taken for bytes. */
const MEMLIMIT_MAX_MEGABYTES = 1_000_000_000;

/** `lru`, `cache_memlimit` or `slabs`. */
export function tuningCommand(ctx: Context, req: Request): void {
  if (req.command === Command.LRU) lruCommand(ctx, req);
  else if (req.command === Command.CACHE_MEMLIMIT) memlimitCommand(ctx, req);
  else slabsCommand(ctx, req);
}

/** `lru <words>`, at least one word (the parser answers ERROR for none). */
function lruCommand(ctx: Context, req: Request): void {
  const words = argWords(req.arg);
  // memcached's ntokens: the command, its words and the terminal token.
  const ntokens = words.length + 2;
  const tuning = ctx.server.tuning;
  const [sub, first, second, third, fourth] = words;
  if (sub === 'tune' && ntokens >= 7) {
    const hot = u32(first!);
    const warm = u32(second!);
    const hotFactor = strtod(third!);
    const warmFactor = strtod(fourth!);
    if (hot < 0 || warm < 0 || hotFactor === undefined || warmFactor === undefined) return replyLine(ctx, req, ERROR);
    // unsigned arithmetic, as memcached adds the two
    if ((hot + warm) % 0x100000000 > 80) return replyLine(ctx, req, 'ERROR hot and warm pcts must not exceed 80');
    if (warmFactor <= 0 || hotFactor <= 0) return replyLine(ctx, req, 'ERROR hot/warm age factors must be greater than 0');
    return tuned(ctx, req, { hotLruPct: hot, warmLruPct: warm, hotMaxFactor: hotFactor, warmMaxFactor: warmFactor });
  }
  if (sub === 'mode' && ntokens >= 4 && tuning.lruMaintainer) {
    if (first === 'flat' || first === 'segmented') return tuned(ctx, req, { lruSegmented: first === 'segmented' });
    return replyLine(ctx, req, ERROR);
  }
  if (sub === 'temp_ttl' && ntokens >= 4 && tuning.lruMaintainer) {
    const ttl = parseI32(encodeAscii(first!), 0, first!.length);
    if (Number.isNaN(ttl)) return replyLine(ctx, req, ERROR);
    // The TEMP LRU is not built (README): the settings change and show, items do not move.
    if (ttl < 0) {
      tuning.tempLru = false;
    } else {
      tuning.tempLru = true;
      tuning.temporaryTtl = ttl;
    }
    return replyLine(ctx, req, OK);
  }
  replyLine(ctx, req, ERROR);
}

/** `cache_memlimit <megabytes> [noreply]`. */
function memlimitCommand(ctx: Context, req: Request): void {
  const megabytes = u32(argWords(req.arg)[0]!);
  if (megabytes < 0) return replyLine(ctx, req, ERROR);
  if (megabytes * MEGABYTE < MEMLIMIT_MIN) return replyLine(ctx, req, 'MEMLIMIT_TOO_SMALL cannot set maxbytes to less than 8m');
  if (megabytes > MEMLIMIT_MAX_MEGABYTES) return replyLine(ctx, req, 'MEMLIMIT_ADJUST_FAILED input value is megabytes not bytes');
  const status = ctx.engine.tune?.({ cacheSize: megabytes * MEGABYTE }) ?? Status.ENOTSUP;
  if (status !== Status.SUCCESS) return replyLine(ctx, req, 'MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust');
  if (ctx.server.verbosity > 0) ctx.server.trace(`maxbytes adjusted to ${megabytes}m`);
  replyLine(ctx, req, OK);
}

/**
 * `slabs automove <0|1|2> [noreply]` and `slabs automove ratio <r>`: settings only, as there is
 * no slab mover (README). `slabs reassign` is answered ERROR, as an unknown command.
 */
function slabsCommand(ctx: Context, req: Request): void {
  const words = argWords(req.arg);
  const ntokens = words.length + 2;
  const [sub, value, ratioText] = words;
  if (ntokens < 4 || sub !== 'automove') return line(ctx, ERROR);
  const tuning = ctx.server.tuning;
  if (value === 'ratio') {
    const ratio = ntokens < 5 ? undefined : strtod(ratioText!);
    if (ratio === undefined) return replyLine(ctx, req, ERROR);
    tuning.slabAutomoveRatio = ratio;
    return replyLine(ctx, req, OK);
  }
  const level = u32(value!);
  if (level < 0) return replyLine(ctx, req, BAD_FORMAT);
  if (level > 2) return replyLine(ctx, req, ERROR);
  tuning.slabAutomove = level;
  replyLine(ctx, req, OK);
}

/** Hands an LRU change to the engine: OK, or ERROR when it has no such setting or refuses it. */
function tuned(ctx: Context, req: Request, change: Partial<TunableSettings>): void {
  const status = ctx.engine.tune?.(change) ?? Status.ENOTSUP;
  replyLine(ctx, req, status === Status.SUCCESS ? OK : ERROR);
}

/**
 * safe_strtod: the whole token as C's strtod reads it (decimal with an exponent, a hex integer,
 * inf, infinity, nan, each with a sign); undefined when it is not a number.
 */
export function strtod(text: string): number | undefined {
  const sign = text.startsWith('-') ? -1 : 1;
  const body = text.replace(/^[+-]/, '');
  if (/^inf(inity)?$/i.test(body)) return sign * Infinity;
  if (/^nan$/i.test(body)) return NaN;
  if (/^0x[0-9a-f]+$/i.test(body)) return sign * Number.parseInt(body.slice(2), 16);
  if (/^(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(body)) return sign * Number(body);
  return undefined;
}
