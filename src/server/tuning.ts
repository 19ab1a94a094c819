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
  if (engineTune(ctx, { cacheSize: megabytes * MEGABYTE }) !== Status.SUCCESS) return replyLine(ctx, req, 'MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust');
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
  replyLine(ctx, req, engineTune(ctx, change) === Status.SUCCESS ? OK : ERROR);
}

/** EngineHandle.tune, or ENOTSUP from an engine without it. */
function engineTune(ctx: Context, change: Partial<TunableSettings>): Status {
  return ctx.engine.tune?.(change) ?? Status.ENOTSUP;
}

/** DBL_MIN: a nonzero result below it in magnitude is an underflow, ERANGE to glibc's strtod. */
const DBL_MIN = 2.2250738585072014e-308;

const STRTOD = /^([+-]?)(?:(inf(?:inity)?)|(nan(?:\([0-9a-z_]*\))?)|0x([0-9a-f]*)(?:\.([0-9a-f]*))?(?:p([+-]?\d+))?|((?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?))$/i;

/**
 * memcached's safe_strtod: the whole token as glibc's strtod reads it (a decimal with an
 * exponent, a hexadecimal with a fraction and a binary exponent, inf, infinity, nan, nan(...),
 * each with a sign); undefined when it is not a number or is out of range (strtod's ERANGE: an
 * overflow, or a nonzero number that underflows below DBL_MIN; glibc keeps an exact subnormal,
 * which only a hexadecimal can spell, and so would this, were it not refused with the rest). A
 * NaN keeps no sign here: memcached shows "-nan" for a `-nan`, this "nan".
 */
export function strtod(text: string): number | undefined {
  const m = STRTOD.exec(text);
  if (m === null) return undefined;
  const sign = m[1] === '-' ? -1 : 1;
  if (m[2] !== undefined) return sign * Infinity;
  if (m[3] !== undefined) return NaN;
  let value: number;
  let digits: string;
  if (m[7] !== undefined) {
    digits = m[7].replace(/e.*$/i, '');
    value = Number(m[7]);
  } else {
    const whole = m[4] ?? '';
    const fraction = m[5] ?? '';
    digits = whole + fraction;
    // "0x" and "0x." are strtod's 0 followed by junk.
    if (digits === '') return undefined;
    value = Number.parseInt(digits, 16) * 2 ** (Number(m[6] ?? 0) - 4 * fraction.length);
  }
  if (!Number.isFinite(value)) return undefined;
  if (value < DBL_MIN && /[1-9a-f]/i.test(digits)) return undefined;
  return sign * value;
}
