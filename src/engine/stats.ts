// memcached 1.6's engine-side statistics, named and ordered as items.c and slabs.c print
// them: any slab engine describes its classes through SlabStatsSource and reportStats does the
// rest, so every engine answers `stats`, `stats items`, `stats slabs` and `stats sizes` alike.

import type { CacheSettings } from './config.ts';
import { Status } from './status.ts';
import type { AddStat } from './types.ts';

/**
 * Per-class counters (itemstats and slab_stats). The wasm engine keeps them at these indexes
 * (assembly/stats.ts CS_*): append, never reorder.
 */
export const CLASS_COUNTERS = [
  'evicted', 'evicted_nonzero', 'evicted_time', 'outofmemory', 'reclaimed', 'expired_unfetched',
  'evicted_unfetched', 'evicted_active', 'lrutail_reflocked', 'moves_to_cold', 'moves_to_warm',
  'moves_within_lru', 'hits_to_hot', 'hits_to_warm', 'hits_to_cold', 'get_hits', 'cmd_set',
  'delete_hits', 'incr_hits', 'decr_hits', 'cas_hits', 'cas_badval', 'touch_hits',
  'direct_reclaims',
] as const;
export type ClassCounter = (typeof CLASS_COUNTERS)[number];

/** Counters and values kept for the whole engine. */
export const GLOBAL_COUNTERS = [
  'get_misses', 'get_expired', 'get_flushed', 'delete_misses', 'incr_misses', 'decr_misses',
  'cas_misses', 'touch_misses', 'store_too_large', 'store_no_memory', 'total_items',
  'curr_items', 'bytes',
] as const;
export type GlobalCounter = (typeof GLOBAL_COUNTERS)[number];

export const LRU_SEGMENTS = 3; // HOT, WARM, COLD

/** What a slab engine tells reportStats. Numbers are plain (counters stay below 2^53). */
export interface SlabStatsSource {
  readonly settings: CacheSettings;
  readonly trackSizes: boolean;
  /** The largest class id; classes are 1..largestClass. */
  largestClass(): number;
  chunkSize(cls: number): number;
  perslab(cls: number): number;
  pages(cls: number): number;
  freeChunks(cls: number): number;
  /** Items, bytes (sum of ntotal) and tail age in seconds of one LRU segment. */
  segmentItems(cls: number, lru: number): number;
  segmentBytes(cls: number, lru: number): number;
  segmentAge(cls: number, lru: number): number;
  classCounter(cls: number, name: ClassCounter): number;
  globalCounter(name: GlobalCounter): number;
  pagesUsed(): number;
  hashPower(): number;
  hashBytes(): number;
  hashExpanding(): boolean;
  /** flush_all's oldest_live (rel time; 0 before any flush): `stats settings` oldest. */
  oldestLive(): number;
  /** track_sizes histogram: [bucket size, items] for non-empty buckets, ascending. */
  sizes(): Array<[number, number]>;
}

export function reportStats(group: string, source: SlabStatsSource, add: AddStat): Status {
  switch (group) {
    case '':
      reportGeneral(source, add);
      return Status.SUCCESS;
    case 'settings':
      reportSettings(source, add);
      return Status.SUCCESS;
    case 'items':
      reportItems(source, add);
      return Status.SUCCESS;
    case 'slabs':
      reportSlabs(source, add);
      return Status.SUCCESS;
    case 'sizes':
      if (!source.trackSizes) add('sizes_status', 'disabled');
      else for (const [size, count] of source.sizes()) add(String(size), String(count));
      return Status.SUCCESS;
    default:
      return Status.ENOTSUP;
  }
}

function classSum(source: SlabStatsSource, name: ClassCounter): number {
  let sum = 0;
  for (let cls = 1; cls <= source.largestClass(); cls++) sum += source.classCounter(cls, name);
  return sum;
}

function reportGeneral(s: SlabStatsSource, add: AddStat): void {
  const sum = (name: ClassCounter): string => String(classSum(s, name));
  const global = (name: GlobalCounter): string => String(s.globalCounter(name));
  add('cmd_set', sum('cmd_set'));
  add('get_hits', sum('get_hits'));
  add('get_misses', global('get_misses'));
  add('get_expired', global('get_expired'));
  add('get_flushed', global('get_flushed'));
  add('delete_misses', global('delete_misses'));
  add('delete_hits', sum('delete_hits'));
  add('incr_misses', global('incr_misses'));
  add('incr_hits', sum('incr_hits'));
  add('decr_misses', global('decr_misses'));
  add('decr_hits', sum('decr_hits'));
  add('cas_misses', global('cas_misses'));
  add('cas_hits', sum('cas_hits'));
  add('cas_badval', sum('cas_badval'));
  add('touch_hits', sum('touch_hits'));
  add('touch_misses', global('touch_misses'));
  add('store_too_large', global('store_too_large'));
  add('store_no_memory', global('store_no_memory'));
  add('limit_maxbytes', String(s.settings.cacheSize));
  add('hash_power_level', String(s.hashPower()));
  add('hash_bytes', String(s.hashBytes()));
  add('hash_is_expanding', s.hashExpanding() ? '1' : '0');
  add('malloc_fails', '0');
  add('bytes', global('bytes'));
  add('curr_items', global('curr_items'));
  add('total_items', global('total_items'));
  add('slab_global_page_pool', '0');
  add('expired_unfetched', sum('expired_unfetched'));
  add('evicted_unfetched', sum('evicted_unfetched'));
  // The maintainer's counters only while the server runs it, as memcached shows them.
  const maintainer = s.settings.lruMaintainer;
  if (maintainer) add('evicted_active', sum('evicted_active'));
  add('evictions', sum('evicted'));
  add('reclaimed', sum('reclaimed'));
  add('crawler_reclaimed', '0');
  add('crawler_items_checked', '0');
  add('lrutail_reflocked', sum('lrutail_reflocked'));
  if (!maintainer) return;
  add('moves_to_cold', sum('moves_to_cold'));
  add('moves_to_warm', sum('moves_to_warm'));
  add('moves_within_lru', sum('moves_within_lru'));
  add('direct_reclaims', sum('direct_reclaims'));
  add('lru_bumps_dropped', '0');
}

function reportSettings(s: SlabStatsSource, add: AddStat): void {
  const c = s.settings;
  add('maxbytes', String(c.cacheSize));
  add('oldest', String(s.oldestLive()));
  add('evictions', c.eviction ? 'on' : 'off');
  add('growth_factor', cFixed(c.factor, 2));
  add('chunk_size', String(c.chunkSize));
  add('cas_enabled', c.useCas ? 'yes' : 'no');
  add('item_size_max', String(c.itemSizeMax));
  add('hashpower_init', String(c.hashpowerInit));
  add('slab_chunk_max', String(c.slabChunkMax));
  add('hash_algorithm', 'murmur3');
  add('lru_segmented', c.lruSegmented ? 'yes' : 'no');
  add('hot_lru_pct', String(c.hotLruPct));
  add('warm_lru_pct', String(c.warmLruPct));
  add('hot_max_factor', cFixed(c.hotMaxFactor, 2));
  add('warm_max_factor', cFixed(c.warmMaxFactor, 2));
  add('track_sizes', s.trackSizes ? 'yes' : 'no');
}

function reportItems(s: SlabStatsSource, add: AddStat): void {
  for (let cls = 1; cls <= s.largestClass(); cls++) {
    const counts = [0, 1, 2].map((lru) => s.segmentItems(cls, lru));
    const number = counts[0]! + counts[1]! + counts[2]!;
    if (number === 0) continue;
    const p = `items:${cls}:`;
    const n = (name: ClassCounter): string => String(s.classCounter(cls, name));
    const maintainer = s.settings.lruMaintainer;
    add(`${p}number`, String(number));
    if (maintainer) {
      add(`${p}number_hot`, String(counts[0]));
      add(`${p}number_warm`, String(counts[1]));
      add(`${p}number_cold`, String(counts[2]));
      add(`${p}age_hot`, String(s.segmentAge(cls, 0)));
      add(`${p}age_warm`, String(s.segmentAge(cls, 1)));
    }
    add(`${p}age`, String(s.segmentAge(cls, 2)));
    add(`${p}mem_requested`, String(s.segmentBytes(cls, 0) + s.segmentBytes(cls, 1) + s.segmentBytes(cls, 2)));
    add(`${p}evicted`, n('evicted'));
    add(`${p}evicted_nonzero`, n('evicted_nonzero'));
    add(`${p}evicted_time`, n('evicted_time'));
    add(`${p}outofmemory`, n('outofmemory'));
    add(`${p}tailrepairs`, '0');
    add(`${p}reclaimed`, n('reclaimed'));
    add(`${p}expired_unfetched`, n('expired_unfetched'));
    add(`${p}evicted_unfetched`, n('evicted_unfetched'));
    if (maintainer) add(`${p}evicted_active`, n('evicted_active'));
    add(`${p}crawler_reclaimed`, '0');
    add(`${p}crawler_items_checked`, '0');
    add(`${p}lrutail_reflocked`, n('lrutail_reflocked'));
    if (!maintainer) continue;
    add(`${p}moves_to_cold`, n('moves_to_cold'));
    add(`${p}moves_to_warm`, n('moves_to_warm'));
    add(`${p}moves_within_lru`, n('moves_within_lru'));
    add(`${p}direct_reclaims`, n('direct_reclaims'));
    add(`${p}hits_to_hot`, n('hits_to_hot'));
    add(`${p}hits_to_warm`, n('hits_to_warm'));
    add(`${p}hits_to_cold`, n('hits_to_cold'));
    add(`${p}hits_to_temp`, '0');
  }
}

function reportSlabs(s: SlabStatsSource, add: AddStat): void {
  let active = 0;
  for (let cls = 1; cls <= s.largestClass(); cls++) {
    const pages = s.pages(cls);
    if (pages === 0) continue;
    active++;
    const p = `${cls}:`;
    const n = (name: ClassCounter): string => String(s.classCounter(cls, name));
    const total = pages * s.perslab(cls);
    add(`${p}chunk_size`, String(s.chunkSize(cls)));
    add(`${p}chunks_per_page`, String(s.perslab(cls)));
    add(`${p}total_pages`, String(pages));
    add(`${p}total_chunks`, String(total));
    add(`${p}used_chunks`, String(total - s.freeChunks(cls)));
    add(`${p}free_chunks`, String(s.freeChunks(cls)));
    add(`${p}free_chunks_end`, '0');
    add(`${p}get_hits`, n('get_hits'));
    add(`${p}cmd_set`, n('cmd_set'));
    add(`${p}delete_hits`, n('delete_hits'));
    add(`${p}incr_hits`, n('incr_hits'));
    add(`${p}decr_hits`, n('decr_hits'));
    add(`${p}cas_hits`, n('cas_hits'));
    add(`${p}cas_badval`, n('cas_badval'));
    add(`${p}touch_hits`, n('touch_hits'));
  }
  add('active_slabs', String(active));
  add('total_malloced', String(s.pagesUsed() * s.settings.slabPageSize));
}

/** memcached -vv's slab class line, logged by slab engines at initialize. */
export function slabClassLine(cls: number, size: number, perslab: number): string {
  return `slab class ${String(cls).padStart(3)}: chunk size ${String(size).padStart(9)} perslab ${String(perslab).padStart(7)}`;
}

/**
 * printf's %.<digits>f: like toFixed, except that a value exactly halfway rounds to even as glibc
 * does (0.125 -> "0.12", where toFixed gives "0.13").
 */
export function cFixed(value: number, digits: number): string {
  // printf's spellings of what has no digits (a NaN's sign is not kept: see strtod).
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  const rounded = value.toFixed(digits);
  const exact = value.toFixed(Math.min(100, digits + 40));
  const cut = exact.indexOf('.') + 1 + digits;
  if (!/^50*$/.test(exact.slice(cut))) return rounded;
  const down = exact.slice(0, digits === 0 ? cut - 1 : cut);
  return Number(down[down.length - 1]) % 2 === 0 ? down : rounded;
}
