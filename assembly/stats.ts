// Counters, per slab class (memcached's itemstats and slab_stats) and global, as u64s in the
// STATS region. The host reads them by these same indexes: CLASS_COUNTERS and GLOBAL_COUNTERS'
// order in src/engine/stats.ts.

import { MAX_CLASSES, stats } from './layout';

// per-class counters
export const CS_EVICTED: u32 = 0;
export const CS_EVICTED_NONZERO: u32 = 1;
export const CS_EVICTED_TIME: u32 = 2; // a value, not a counter
export const CS_OUTOFMEMORY: u32 = 3;
export const CS_RECLAIMED: u32 = 4;
export const CS_EXPIRED_UNFETCHED: u32 = 5;
export const CS_EVICTED_UNFETCHED: u32 = 6;
export const CS_EVICTED_ACTIVE: u32 = 7;
export const CS_LRUTAIL_REFLOCKED: u32 = 8;
export const CS_MOVES_TO_COLD: u32 = 9;
export const CS_MOVES_TO_WARM: u32 = 10;
export const CS_MOVES_WITHIN_LRU: u32 = 11;
export const CS_HITS_TO_HOT: u32 = 12; // + lru
export const CS_GET_HITS: u32 = 15;
export const CS_CMD_SET: u32 = 16;
export const CS_DELETE_HITS: u32 = 17;
export const CS_INCR_HITS: u32 = 18;
export const CS_DECR_HITS: u32 = 19;
export const CS_CAS_HITS: u32 = 20;
export const CS_CAS_BADVAL: u32 = 21;
export const CS_TOUCH_HITS: u32 = 22;
export const CS_DIRECT_RECLAIMS: u32 = 23; // tries do_item_alloc_pull found no free chunk
export const CLASS_STATS: u32 = 24;

// global counters
export const GS_GET_MISSES: u32 = 0;
export const GS_GET_EXPIRED: u32 = 1;
export const GS_GET_FLUSHED: u32 = 2;
export const GS_DELETE_MISSES: u32 = 3;
export const GS_INCR_MISSES: u32 = 4;
export const GS_DECR_MISSES: u32 = 5;
export const GS_CAS_MISSES: u32 = 6;
export const GS_TOUCH_MISSES: u32 = 7;
export const GS_STORE_TOO_LARGE: u32 = 8;
export const GS_STORE_NO_MEMORY: u32 = 9;
export const GS_TOTAL_ITEMS: u32 = 10;
export const GS_CURR_ITEMS: u32 = 11; // a value
export const GS_BYTES: u32 = 12; // a value
export const GLOBAL_STATS: u32 = 16;

export const STATS_BYTES: u32 = (MAX_CLASSES * CLASS_STATS + GLOBAL_STATS) * 8;

@inline export function classStat(cls: u32, which: u32): usize {
  return stats + ((<usize>cls * CLASS_STATS + which) << 3);
}

@inline export function globalStat(which: u32): usize {
  return stats + ((<usize>MAX_CLASSES * CLASS_STATS + which) << 3);
}

@inline export function countClass(cls: u32, which: u32): void {
  const p = classStat(cls, which);
  store<u64>(p, load<u64>(p) + 1);
}

@inline export function addClass(cls: u32, which: u32, delta: u64): void {
  const p = classStat(cls, which);
  store<u64>(p, load<u64>(p) + delta);
}

@inline export function countGlobal(which: u32): void {
  const p = globalStat(which);
  store<u64>(p, load<u64>(p) + 1);
}

@inline export function addGlobal(which: u32, delta: i64): void {
  const p = globalStat(which);
  store<u64>(p, load<u64>(p) + <u64>delta);
}

/** Zeroes the counters, keeping the values that describe what is stored now. */
export function statsReset(): void {
  const curr = load<u64>(globalStat(GS_CURR_ITEMS));
  const bytes = load<u64>(globalStat(GS_BYTES));
  memory.fill(stats, 0, STATS_BYTES);
  store<u64>(globalStat(GS_CURR_ITEMS), curr);
  store<u64>(globalStat(GS_BYTES), bytes);
}
