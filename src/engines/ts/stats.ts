// The engine's counters, global and per slab class (memcached's thread stats, slab_stats and
// itemstats), and the SlabStatsSource through which src/engine/stats.ts reports them.

import {
  CLASS_COUNTERS,
  GLOBAL_COUNTERS,
  type ClassCounter,
  type GlobalCounter,
  type SlabStatsSource,
} from '../../engine/stats.ts';
import type { CacheSettings } from '../../engine/config.ts';
import type { LruSegment } from './item.ts';
import type { Items } from './items.ts';

/** Global counters that resetStats zeroes; curr_items and bytes are state, kept by Items. */
export type Counter = Exclude<GlobalCounter, 'curr_items' | 'bytes'>;
export type GlobalCounters = Record<Counter, number>;
/** Per class: itemstats summed over the segments, and slab_stats. evicted_time is the last one. */
export type ClassCounters = Record<ClassCounter, number>;

export function createGlobalCounters(): GlobalCounters {
  const counters = {} as GlobalCounters;
  for (const name of GLOBAL_COUNTERS) if (name !== 'curr_items' && name !== 'bytes') counters[name] = 0;
  return counters;
}

export function createClassCounters(classes: number): ClassCounters[] {
  return Array.from({ length: classes }, () => {
    const counters = {} as ClassCounters;
    for (const name of CLASS_COUNTERS) counters[name] = 0;
    return counters;
  });
}

/** The bucket memcached's item_stats_sizes_add counts an item of `ntotal` bytes in. */
export function sizeBucket(ntotal: number): number {
  return Math.ceil(ntotal / 32);
}

/** The cache as src/engine/stats.ts reads it, at rel time `now`. */
export function statsSource(items: Items, settings: CacheSettings, trackSizes: boolean, now: number): SlabStatsSource {
  const { slabs, lru } = items;
  const segment = (value: number): LruSegment => value as LruSegment;
  return {
    settings,
    trackSizes,
    largestClass: () => slabs.largest,
    chunkSize: (cls) => slabs.classes[cls]!.size,
    perslab: (cls) => slabs.classes[cls]!.perslab,
    pages: (cls) => slabs.classes[cls]!.pages,
    freeChunks: (cls) => slabs.classes[cls]!.free,
    segmentItems: (cls, seg) => lru.count(cls, segment(seg)),
    segmentBytes: (cls, seg) => lru.bytes(cls, segment(seg)),
    segmentAge: (cls, seg) => {
      const tail = lru.tail(cls, segment(seg));
      // rel_time_t arithmetic: unsigned 32-bit.
      return tail === null ? 0 : (now - tail.time) >>> 0;
    },
    classCounter: (cls, name) => items.perClass[cls]![name],
    globalCounter: (name) => {
      if (name === 'curr_items') return items.currItems;
      if (name === 'bytes') return items.bytes;
      return items.global[name];
    },
    pagesUsed: () => slabs.pagesUsed,
    hashPower: () => items.hashPower,
    hashBytes: () => 2 ** items.hashPower * 8,
    hashExpanding: () => false,
    oldestLive: () => items.oldestLive,
    sizes: () => {
      const buckets = [...(items.sizes ?? new Map<number, number>()).entries()];
      return buckets
        .filter(([, count]) => count !== 0)
        .sort(([a], [b]) => a - b)
        .map(([bucket, count]): [number, number] => [bucket * 32, count]);
    },
  };
}
