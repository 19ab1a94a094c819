// Items in the cache: allocation with LRU reclaim and eviction, link and unlink, the hash table,
// lazy expiry and flush, the hit bump and the LRU tail pull; cf. memcached items.c (do_item_alloc,
// do_item_link, do_item_unlink, do_item_get, do_item_bump, lru_pull_tail) and assoc.c.
// Everything runs inline at fixed points, as docs/engine-model.md lays down.

import type { CacheSettings } from '../../engine/config.ts';
import { Status } from '../../engine/status.ts';
import { COLD_LRU, HOT_LRU, Item, NO_LRU, WARM_LRU, itemNtotal, type LruSegment } from './item.ts';
import { murmur3 } from '../../engine/hash.ts';
import { Lru } from './lru.ts';
import { Slabs } from './slabs.ts';
import {
  createClassCounters,
  createGlobalCounters,
  sizeBucket,
  type ClassCounters,
  type GlobalCounters,
} from './stats.ts';

/** Attempts per chunk in do_item_alloc_pull. */
const ALLOC_TRIES = 10;
/** Items looked at per lru_pull_tail. */
const PULL_TRIES = 5;
/** Seconds within which a repeated access does not refresh it->time; cf. ITEM_UPDATE_INTERVAL. */
const ITEM_UPDATE_INTERVAL = 60;
/** Bytes of the link at the start of every chunk of a chained item but the first. */
const CHUNK_LINK_SIZE = 8;

export type AllocFailure = typeof Status.E2BIG | typeof Status.ENOMEM;

/**
 * How lru_pull_tail is driven: JUGGLE is the maintainer's step after a link (HOT and WARM keep
 * their share of the class's bytes); FORCE moves HOT/WARM items on regardless of share (the
 * allocator making room); EVICT also evicts from COLD; MAINTAIN is a round of the maintainer's
 * juggle (`maintain`): shares of a given total, items older than a given age go to COLD too,
 * and ACTIVE COLD items go to WARM.
 */
export const PullMode = { JUGGLE: 0, FORCE: 1, EVICT: 2, MAINTAIN: 3 } as const;
export type PullMode = (typeof PullMode)[keyof typeof PullMode];

export class Items {
  readonly slabs: Slabs;
  readonly lru: Lru;
  global: GlobalCounters = createGlobalCounters();
  perClass: ClassCounters[];
  readonly sizes: Map<number, number> | null;
  currItems = 0;
  bytes = 0;
  hashPower: number;

  private readonly table = new Map<string, Item>();
  /** Every item that exists (linked, or held, or allocated and not yet stored), by handle. */
  private readonly handles = new Map<number, Item>();
  private nextHandle = 1;
  private casCounter = 0n;
  /** flush_all's oldest_live (read by `stats settings`). */
  oldestLive = 0;
  private oldestCas = 0n;
  /** The class maintainStep goes on with. */
  private maintainClass = 1;
  /** Told of every item unlinked, whatever the cause (set by an engine that mirrors this one). */
  onUnlink: ((item: Item) => void) | null = null;

  constructor(
    private readonly settings: CacheSettings,
    trackSizes: boolean,
  ) {
    this.slabs = new Slabs(settings);
    this.lru = new Lru(this.slabs.largest + 1);
    this.perClass = createClassCounters(this.slabs.largest + 1);
    this.sizes = trackSizes ? new Map() : null;
    this.hashPower = settings.hashpower;
  }

  resetCounters(): void {
    this.global = createGlobalCounters();
    this.perClass = createClassCounters(this.slabs.largest + 1);
  }

  /** The item behind a handle a client holds (or was just given). */
  byHandle(handle: number): Item {
    const item = this.handles.get(handle);
    if (item === undefined) throw new Error(`unknown item handle ${handle}`);
    return item;
  }

  /** Takes a reference for a client or for the engine during one operation. */
  hold(item: Item): void {
    item.refcount += 1;
  }

  /** Gives back a reference; an unlinked item with none left returns its chunks. */
  drop(item: Item): void {
    if (item.refcount <= 0) throw new Error(`item ${item.handle} released more often than held`);
    item.refcount -= 1;
    if (item.refcount === 0 && !item.linked) this.free(item);
  }

  /**
   * A new unlinked item of `nbytes` value bytes holding one reference for the caller (as
   * memcached's do_item_alloc returns it), or E2BIG or ENOMEM. `exptime` is a rel time.
   * Counts `outofmemory`, not the store_* stats (the caller's).
   */
  alloc(
    key: Uint8Array,
    hashKey: string,
    nbytes: number,
    flags: number,
    exptime: number,
    now: number,
  ): Item | AllocFailure {
    const { settings, slabs } = this;
    const ntotal = itemNtotal(key.length, nbytes, flags, settings.useCas);
    if (ntotal > settings.itemSizeMax) return Status.E2BIG;
    let clsid: number;
    let nchunks: number;
    if (ntotal <= settings.slabChunkMax) {
      clsid = slabs.clsidFor(ntotal);
      nchunks = 1;
    } else {
      clsid = slabs.largest;
      const rest = ntotal - settings.slabChunkMax;
      nchunks = 1 + Math.ceil(rest / (settings.slabChunkMax - CHUNK_LINK_SIZE));
    }
    for (let taken = 0; taken < nchunks; taken++) {
      if (!this.takeChunk(clsid, now)) {
        this.perClass[clsid]!.outofmemory += 1;
        slabs.give(clsid, taken);
        return Status.ENOMEM;
      }
    }
    const handle = this.nextHandle++;
    const item = new Item(handle, key.slice(), hashKey, new Uint8Array(nbytes), flags, exptime, ntotal, clsid, nchunks);
    item.refcount = 1;
    this.handles.set(handle, item);
    return item;
  }

  /**
   * One chunk of a class: free list or new page, else make room from the tails (evict from COLD,
   * else push HOT, else WARM, towards COLD for the next try), up to 10 times. Every try that found
   * no chunk counts a `direct_reclaims` (do_item_alloc_pull: 1 when the second try succeeds, 10
   * when all fail).
   */
  private takeChunk(clsid: number, now: number): boolean {
    const segmented = this.settings.lruSegmented;
    let tries = 0;
    for (; tries < ALLOC_TRIES; tries++) {
      // The flat LRU first reclaims what has expired at COLD's tail.
      if (!segmented) this.pullTail(clsid, COLD_LRU, PullMode.JUGGLE, now);
      if (this.slabs.take(clsid)) {
        this.perClass[clsid]!.direct_reclaims += tries;
        return true;
      }
      if (this.pullTail(clsid, COLD_LRU, PullMode.EVICT, now) > 0) continue;
      // The flat LRU has nothing else to take from.
      if (!segmented) break;
      if (this.pullTail(clsid, HOT_LRU, PullMode.FORCE, now) > 0) continue;
      this.pullTail(clsid, WARM_LRU, PullMode.FORCE, now);
    }
    this.perClass[clsid]!.direct_reclaims += tries;
    return false;
  }

  private free(item: Item): void {
    this.slabs.give(item.clsid, item.nchunks);
    this.handles.delete(item.handle);
  }

  /** do_item_link: a new CAS, into the table at HOT head, then one step of LRU maintenance. */
  link(item: Item, now: number): void {
    if (item.linked) throw new Error(`item ${item.handle} linked twice`);
    item.linked = true;
    item.stored = true;
    item.time = now;
    item.cas = this.nextCas();
    this.table.set(item.hashKey, item);
    this.lru.linkHead(item, this.settings.lruSegmented ? HOT_LRU : COLD_LRU);
    this.currItems += 1;
    this.global.total_items += 1;
    this.bytes += item.ntotal;
    this.countSize(item, 1);
    // assoc_insert starts an expansion past 1.5 items per bucket.
    while (this.currItems * 2 > 3 * 2 ** this.hashPower) this.hashPower += 1;
    this.pullTail(item.clsid, HOT_LRU, PullMode.JUGGLE, now);
    this.pullTail(item.clsid, WARM_LRU, PullMode.JUGGLE, now);
  }

  /** do_item_unlink: out of the table and its LRU; freed now unless someone holds it. */
  unlink(item: Item): void {
    if (!item.linked) return;
    item.linked = false;
    if (this.table.get(item.hashKey) === item) this.table.delete(item.hashKey);
    this.lru.unlink(item);
    this.currItems -= 1;
    this.bytes -= item.ntotal;
    this.countSize(item, -1);
    if (item.refcount === 0) this.free(item);
    if (this.onUnlink !== null) this.onUnlink(item);
  }

  /** item_replace: the old item out (if it is still linked), the new one in. */
  replace(old: Item, item: Item, now: number): void {
    this.unlink(old);
    this.link(item, now);
  }

  /**
   * Puts `fresh`, an item the engine allocated to replace `old` (which it holds), in old's place
   * and drops the engine's holds on both; returns the CAS the fresh item got.
   */
  swap(old: Item, fresh: Item, now: number): bigint {
    this.replace(old, fresh, now);
    this.drop(old);
    this.drop(fresh);
    return fresh.cas;
  }

  /** A new CAS for an item changed in place. */
  nextCas(): bigint {
    return this.settings.useCas ? ++this.casCounter : 0n;
  }

  /** do_item_get without the bump: the live item under a key, applying flush and expiry. */
  lookup(hashKey: string, now: number): Item | null {
    const item = this.table.get(hashKey);
    if (item === undefined) return null;
    if (this.isFlushed(item, now)) {
      this.unlink(item);
      this.global.get_flushed += 1;
      return null;
    }
    if (isExpired(item, now)) {
      this.unlink(item);
      this.global.get_expired += 1;
      return null;
    }
    return item;
  }

  /** lookup without its side effects: no lazy unlink, nothing counted. */
  peek(hashKey: string, now: number): Item | null {
    const item = this.table.get(hashKey);
    if (item === undefined || this.isFlushed(item, now) || isExpired(item, now)) return null;
    return item;
  }

  /** The CAS last given out. */
  lastCas(): bigint {
    return this.casCounter;
  }

  /** CAS values from now on are above `floor` (items brought back with their own CAS). */
  raiseCas(floor: bigint): void {
    if (floor > this.casCounter) this.casCounter = floor;
  }

  /** flush_all's state, as `flush` left it. */
  flushState(): { oldestLive: number; oldestCas: bigint } {
    return { oldestLive: this.oldestLive, oldestCas: this.oldestCas };
  }

  restoreFlushState(oldestLive: number, oldestCas: bigint): void {
    this.oldestLive = oldestLive;
    this.oldestCas = oldestCas;
  }

  /** do_item_bump: two hits make an item ACTIVE; an ACTIVE hit in COLD moves it to WARM. */
  bump(item: Item, now: number): void {
    if (!this.settings.lruSegmented) {
      // The flat LRU: fetched, and back to the head at most once a minute.
      item.fetched = true;
      this.touchTime(item, now);
      return;
    }
    if (!item.active) {
      if (!item.fetched) {
        item.fetched = true;
      } else {
        item.active = true;
        item.time = now;
        if (item.segment === COLD_LRU) {
          this.lru.move(item, WARM_LRU);
          this.perClass[item.clsid]!.moves_to_warm += 1;
        }
      }
    }
  }

  /** lru_hits: a get's hit, counted by the segment the item is in before the bump. */
  countHit(item: Item): void {
    const c = this.perClass[item.clsid]!;
    if (item.segment === HOT_LRU) c.hits_to_hot += 1;
    else if (item.segment === WARM_LRU) c.hits_to_warm += 1;
    else if (item.segment === COLD_LRU) c.hits_to_cold += 1;
  }

  /**
   * do_item_update: refresh the access time unless it was refreshed within the last minute; the
   * flat LRU also moves the item to its LRU's head then.
   */
  touchTime(item: Item, now: number): void {
    if (item.time < (now - ITEM_UPDATE_INTERVAL) >>> 0) {
      item.time = now;
      if (!this.settings.lruSegmented && item.linked && item.segment !== NO_LRU) this.lru.move(item, item.segment);
    }
  }

  /** Marks everything stored up to `oldest live` as gone (the model's flush rule). */
  flush(newOldest: number, now: number): void {
    if (this.settings.useCas) {
      this.oldestLive = (newOldest - 1) >>> 0;
      if (this.oldestLive <= now) this.oldestCas = ++this.casCounter;
    } else {
      this.oldestLive = newOldest;
    }
  }

  isFlushed(item: Item, now: number): boolean {
    const oldestLive = this.oldestLive;
    if (oldestLive === 0 || oldestLive > now) return false;
    return (
      item.time <= oldestLive || (this.oldestCas !== 0n && item.cas !== 0n && item.cas < this.oldestCas)
    );
  }

  /**
   * lru_pull_tail: looks at up to 5 items from a segment's tail; reclaims expired and flushed
   * ones, moves HOT/WARM items along, evicts from COLD in EVICT mode. Returns `removed`, which
   * also counts the items moved. In MAINTAIN mode, `total` is the class's bytes the shares are
   * of and `maxAge` the age past which a HOT or WARM item goes to COLD.
   */
  pullTail(clsid: number, segment: LruSegment, mode: PullMode, now: number, total = 0, maxAge = 0): number {
    const c = this.perClass[clsid]!;
    let removed = 0;
    let search = this.lru.tail(clsid, segment);
    for (let tries = PULL_TRIES; tries > 0 && search !== null; tries--) {
      const item: Item = search;
      search = item.prev;
      if (item.refcount > 0) {
        c.lrutail_reflocked += 1;
        continue;
      }
      if (isExpired(item, now) || this.isFlushed(item, now)) {
        c.reclaimed += 1;
        if (!item.fetched) c.expired_unfetched += 1;
        this.unlink(item);
        removed += 1;
        continue;
      }
      if (segment !== COLD_LRU) {
        if (item.active) {
          item.active = false;
          removed += 1;
          if (segment === WARM_LRU) {
            c.moves_within_lru += 1;
            this.lru.move(item, WARM_LRU);
            continue;
          }
          c.moves_to_warm += 1;
          this.lru.move(item, WARM_LRU);
          break;
        }
        const tooOld = mode === PullMode.MAINTAIN && (now - item.time) >>> 0 > maxAge;
        if (this.lru.bytes(clsid, segment) > this.limit(clsid, segment, mode, total) || tooOld) {
          c.moves_to_cold += 1;
          this.lru.move(item, COLD_LRU);
          removed += 1;
        }
        break;
      }
      if (mode === PullMode.EVICT) {
        if (this.settings.eviction) {
          c.evicted += 1;
          c.evicted_time = (now - item.time) >>> 0;
          if (item.exptime !== 0) c.evicted_nonzero += 1;
          if (!item.fetched) c.evicted_unfetched += 1;
          if (item.active) c.evicted_active += 1;
          this.unlink(item);
          removed += 1;
        }
      } else if (item.active && this.settings.lruSegmented) {
        item.active = false;
        c.moves_to_warm += 1;
        this.lru.move(item, WARM_LRU);
        removed += 1;
      }
      break;
    }
    return removed;
  }

  /** The bytes a HOT or WARM segment may hold before its tail goes to COLD. */
  private limit(clsid: number, segment: LruSegment, mode: PullMode, total: number): number {
    // The flat LRU drains HOT and WARM (left from segmented mode) into COLD: a share of nothing.
    if (mode === PullMode.FORCE || mode === PullMode.EVICT || !this.settings.lruSegmented) return 0;
    const pct = segment === HOT_LRU ? this.settings.hotLruPct : this.settings.warmLruPct;
    const bytes = mode === PullMode.MAINTAIN ? total : this.lru.classBytes(clsid);
    // floor(bytes * pct / 100) in u64; the product stays far below 2^53.
    return Math.floor((bytes * pct) / 100);
  }

  /**
   * lru_maintainer_juggle for one class, as memcached's maintainer thread runs it when it wakes:
   * HOT and WARM items past their share of the class's bytes or older than their age limit go
   * to COLD (the limits are COLD's tail age times hot_max_factor and warm_max_factor), ACTIVE
   * ones are rescued to WARM, expired tails are reclaimed; round after round until a round
   * changes nothing (memcached runs 500 a wake-up and wakes again soon while there is work). The
   * model runs it before a cachedump, and from the server's timer (maintainStep). At most
   * `maxRounds` rounds that change something; returns how many there were: fewer than
   * `maxRounds` when the class has settled.
   */
  maintain(clsid: number, now: number, maxRounds = Infinity): number {
    const { lruSegmented, hotMaxFactor, warmMaxFactor } = this.settings;
    // The flat LRU: age limits and total 0, so HOT and WARM drain into COLD, which is left alone.
    const coldTail = this.lru.tail(clsid, COLD_LRU);
    const coldAge = coldTail === null || !lruSegmented ? 0 : (now - coldTail.time) >>> 0;
    const hotAge = ageLimit(coldAge * hotMaxFactor);
    const warmAge = ageLimit(coldAge * warmMaxFactor);
    // memcached sums the bytes once and uses that total for every round.
    const total = lruSegmented ? this.lru.classBytes(clsid) : 0;
    // A round that changes something moves an item on for good or clears its ACTIVE mark: at
    // most 3 such changes an item, so this bound is never what ends the loop.
    const rounds = Math.min(3 * this.lru.classCount(clsid) + 1, maxRounds);
    for (let round = 0; round < rounds; round++) {
      const moved =
        this.pullTail(clsid, HOT_LRU, PullMode.MAINTAIN, now, total, hotAge) > 0 ||
        this.pullTail(clsid, WARM_LRU, PullMode.MAINTAIN, now, total, warmAge) > 0;
      const more = (moved ? 1 : 0) + (lruSegmented ? this.pullTail(clsid, COLD_LRU, PullMode.MAINTAIN, now) : 0);
      if (more === 0) return round;
    }
    return rounds;
  }

  /**
   * Whether the crawler finds a linked item live: not expired (its exptime passed: the crawler's
   * test is strict, unlike a fetch's) and not flushed. With `reclaim`, a dead one that no client
   * holds is unlinked (crawler_expired_eval), counted expired_unfetched when it was never fetched.
   */
  crawl(item: Item, now: number, reclaim: boolean): boolean {
    const flushed = this.isFlushed(item, now);
    if (!flushed && (item.exptime === 0 || item.exptime >= now)) return true;
    if (reclaim && item.refcount === 0) {
      if (!flushed && !item.fetched) this.perClass[item.clsid]!.expired_unfetched += 1;
      this.unlink(item);
    }
    return false;
  }

  /**
   * The linked items in memcached's hash table order: bucket by bucket (the key's murmur3 hash
   * under the table's mask), the most recently linked first within a bucket as memcached's chains
   * hold them (by CAS, or by link order with CAS off).
   */
  hashOrder(): Item[] {
    const mask = 2 ** this.hashPower - 1;
    const items = [...this.table.values()].reverse();
    const bucket = new Map<Item, number>(items.map((item) => [item, (murmur3(item.key) & mask) >>> 0]));
    return items.sort((a, b) => bucket.get(a)! - bucket.get(b)! || (a.cas < b.cas ? 1 : a.cas > b.cas ? -1 : 0));
  }

  /**
   * The maintainer's background work in bounded steps: juggles class after class (from where the
   * last call stopped) until each settles, at most `budget` rounds that change something in all.
   * Returns those rounds: fewer than `budget` exactly when the last class settled in this call
   * (the next call starts again at class 1).
   */
  maintainStep(budget: number, now: number): number {
    let used = 0;
    while (used < budget) {
      const max = budget - used;
      const rounds = this.maintain(this.maintainClass, now, max);
      used += rounds;
      if (rounds === max) break;
      if (this.maintainClass < this.slabs.largest) {
        this.maintainClass += 1;
      } else {
        this.maintainClass = 1;
        break;
      }
    }
    return used;
  }

  /** Drops everything (destroy). */
  clear(): void {
    this.table.clear();
    this.handles.clear();
  }

  /** Throws when the structures disagree with each other (tests call it after each case). */
  selfCheck(): void {
    const fail = (what: string): never => {
      throw new Error(`ts engine selfCheck: ${what}`);
    };
    const chunks = new Array<number>(this.slabs.largest + 1).fill(0);
    let linked = 0;
    let bytes = 0;
    for (const [handle, item] of this.handles) {
      if (handle !== item.handle) fail(`handle ${handle} maps to item ${item.handle}`);
      chunks[item.clsid]! += item.nchunks;
      if (item.linked) {
        linked += 1;
        bytes += item.ntotal;
        if (this.table.get(item.hashKey) !== item) fail(`linked item ${handle} not in the table`);
      } else if (item.refcount <= 0) {
        fail(`unlinked item ${handle} with no reference was not freed`);
      }
    }
    if (linked !== this.table.size || linked !== this.currItems) {
      fail(`linked ${linked}, table ${this.table.size}, curr_items ${this.currItems}`);
    }
    if (bytes !== this.bytes) fail(`bytes ${this.bytes}, items sum to ${bytes}`);
    let pages = 0;
    for (let id = 1; id <= this.slabs.largest; id++) {
      const cls = this.slabs.classes[id]!;
      pages += cls.pages;
      if (cls.pages * cls.perslab - cls.free !== chunks[id]) {
        fail(`class ${id}: ${cls.pages * cls.perslab - cls.free} chunks used, items hold ${chunks[id]}`);
      }
      for (const segment of [HOT_LRU, WARM_LRU, COLD_LRU] as const) {
        let count = 0;
        let size = 0;
        let after: Item | null = null;
        for (let at = this.lru.tail(id, segment); at !== null; at = at.prev) {
          if (at.next !== after) fail(`class ${id} segment ${segment}: broken links at ${at.handle}`);
          if (!at.linked || at.segment !== segment || at.clsid !== id) fail(`item ${at.handle} misplaced`);
          count += 1;
          size += at.ntotal;
          after = at;
        }
        if (count !== this.lru.count(id, segment) || size !== this.lru.bytes(id, segment)) {
          fail(`class ${id} segment ${segment}: counts disagree`);
        }
      }
    }
    if (pages !== this.slabs.pagesUsed || pages > this.slabs.pagesTotal) fail(`pages ${pages}`);
  }

  private countSize(item: Item, delta: number): void {
    if (this.sizes === null) return;
    const bucket = sizeBucket(item.ntotal);
    const count = (this.sizes.get(bucket) ?? 0) + delta;
    if (count === 0) this.sizes.delete(bucket);
    else this.sizes.set(bucket, count);
  }
}

/** 2^63: doubles from here on (and NaN) have no int64. */
const INT64_LIMIT = 2 ** 63;

/**
 * A rel_time_t from a double as memcached's `hot_age = cold_age * factor` makes it on x86-64
 * (truncated to an int64, then its low 32 bits): a NaN, an infinity or a double beyond the int64
 * range converts to the int64 0x8000000000000000, whose low bits are 0.
 */
function ageLimit(seconds: number): number {
  if (!(seconds > -INT64_LIMIT && seconds < INT64_LIMIT)) return 0;
  const wrapped = Math.trunc(seconds) % 0x100000000;
  return wrapped < 0 ? wrapped + 0x100000000 : wrapped;
}

function isExpired(item: Item, now: number): boolean {
  return item.exptime !== 0 && item.exptime <= now;
}
