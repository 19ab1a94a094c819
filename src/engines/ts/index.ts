// The `ts` engine: docs/engine-model.md in plain TypeScript, the reference the WASM engine is
// compared with. This file owns the EngineHandle: the operations (cf. memcached's do_store_item,
// do_add_delta, process_update_command) over the item store in items.ts.

import type { ServerCore } from '../../engine/clock.ts';
import { ConfigReader, readCacheSettings, tuneSettings, type CacheSettings, type EngineConfig, type TunableSettings } from '../../engine/config.ts';
import { reportStats } from '../../engine/stats.ts';
import { Status, StoreOperation } from '../../engine/status.ts';
import {
  ENGINE_INTERFACE_VERSION,
  GET_MANY_MAX,
  GetCount,
  HOLD_MAX,
  ItemMark,
  MANY_STRIDE,
  Many,
  ManyState,
  manyAnswer,
  RemoveOption,
  StoreOption,
  type AddStat,
  type ArithmeticRequest,
  type ArithmeticResult,
  type CachedumpVisit,
  type CreateInstance,
  crawlInTurns,
  type CrawlTarget,
  type EngineHandle,
  type EngineInfo,
  type GetRequest,
  type GetServerApi,
  type ItemHandle,
  type ItemInfo,
  type ManyAnswer,
} from '../../engine/types.ts';
import { applyDelta, decimalBytes, parseU64, writePadded } from './arith.ts';
import { COLD_LRU, hashKeyOf, type Item, type LruSegment } from './item.ts';
import { Items } from './items.ts';
import { statsSource } from './stats.ts';

const INFO: EngineInfo = {
  description: 'ts: in-memory slab and segmented LRU engine in TypeScript (memcached 1.6 model)',
  features: ['lru', 'cas', 'slabs'],
};

export const createInstance: CreateInstance = (interfaceVersion, getServerApi) => {
  if (interfaceVersion !== ENGINE_INTERFACE_VERSION) return Status.ENOTSUP;
  return new TsEngine(getServerApi);
};

interface State {
  readonly settings: CacheSettings;
  readonly trackSizes: boolean;
  readonly items: Items;
  readonly core: ServerCore;
}

export class TsEngine implements EngineHandle {
  readonly interfaceVersion = ENGINE_INTERFACE_VERSION;
  private state: State | null = null;
  /** getMany's answer (every hit held, so no value bytes). */
  private readonly many: ManyAnswer = manyAnswer(new Uint32Array(GET_MANY_MAX * MANY_STRIDE), new Uint8Array(0));

  constructor(private readonly getServerApi: GetServerApi) {}

  getInfo(): EngineInfo {
    return INFO;
  }

  initialize(config: EngineConfig): Status {
    if (this.state !== null) throw new Error('ts engine: initialize called twice');
    const api = this.getServerApi();
    const reader = new ConfigReader(config);
    const settings = readCacheSettings(reader);
    const trackSizes = reader.boolean('track_sizes', false);
    const errors = reader.errors();
    if (errors.length > 0) {
      for (const message of errors) api.log('warning', message);
      return Status.EINVAL;
    }
    const items = new Items(settings, trackSizes);
    for (const line of items.slabs.describe()) api.log('info', line);
    this.state = { settings, trackSizes, items, core: api.core };
    return Status.SUCCESS;
  }

  destroy(): void {
    this.state?.items.clear();
    this.state = null;
  }

  allocate(key: Uint8Array, nbytes: number, flags: number, exptime: number, operation: StoreOperation): ItemHandle {
    if (!keyFits(key)) return -Status.EINVAL;
    const { items, core } = this.ready();
    const now = core.currentTime();
    const hashKey = hashKeyOf(key);
    const item = items.alloc(key, hashKey, nbytes, flags >>> 0, core.realtime(exptime), now);
    if (typeof item === 'number') {
      if (item === Status.E2BIG) items.global.store_too_large += 1;
      else items.global.store_no_memory += 1;
      // process_update_command: a failed SET must not leave the old value readable.
      if (operation === StoreOperation.SET) {
        const old = items.lookup(hashKey, now);
        if (old !== null) items.unlink(old);
      }
      return -item;
    }
    return item.handle;
  }

  itemValue(handle: ItemHandle): Uint8Array {
    return this.ready().items.byHandle(handle).value;
  }

  store(handle: ItemHandle, operation: StoreOperation, cas: bigint, options = 0): Status {
    const { items, core, settings } = this.ready();
    const useCas = settings.useCas;
    const item = items.byHandle(handle);
    if (item.stored) throw new Error(`ts engine: item ${handle} stored twice`);
    item.stored = true;
    const now = core.currentTime();
    items.perClass[item.clsid]!.cmd_set += 1;
    const old = items.lookup(item.hashKey, now);
    switch (operation) {
      case StoreOperation.ADD:
        if (old !== null) {
          items.touchTime(old, now);
          return Status.NOT_STORED;
        }
        items.link(item, now);
        return Status.SUCCESS;
      case StoreOperation.SET:
        if (old !== null) items.replace(old, item, now);
        else items.link(item, now);
        return Status.SUCCESS;
      case StoreOperation.REPLACE:
        if (old === null) return Status.NOT_STORED;
        items.replace(old, item, now);
        return Status.SUCCESS;
      case StoreOperation.CAS:
        if (old === null) {
          items.global.cas_misses += 1;
          return Status.KEY_ENOENT;
        }
        // memcached's CAS_NONE: a CAS of 0, or none at all with CAS off (-C), never matches.
        if (!useCas || cas === 0n || cas !== old.cas) {
          if (!useCas || (options & StoreOption.INVALIDATE) === 0 || cas === 0n || cas > old.cas) {
            items.perClass[old.clsid]!.cas_badval += 1;
            return Status.KEY_EEXISTS;
          }
          // An older CAS stores a stale value: the old TTL and win mark stay (ms I).
          item.exptime = old.exptime;
          item.stale = true;
          item.winSent = old.winSent;
        }
        items.perClass[old.clsid]!.cas_hits += 1;
        items.replace(old, item, now);
        return Status.SUCCESS;
      case StoreOperation.APPEND:
      case StoreOperation.PREPEND:
        return this.concatenate(old, item, operation === StoreOperation.APPEND, useCas ? cas : 0n, now);
      default:
        throw new Error(`ts engine: unknown store operation ${String(operation)}`);
    }
  }

  /** APPEND/PREPEND: a new item with the old one's flags and exptime and both values. */
  private concatenate(old: Item | null, item: Item, append: boolean, cas: bigint, now: number): Status {
    const { items } = this.ready();
    if (old === null) return Status.NOT_STORED;
    if (cas !== 0n && cas !== old.cas) return Status.KEY_EEXISTS;
    // As do_store_item, the operation holds the old item from before the allocation (the LRU
    // tail skips it) and the new one from its allocation until both are swapped.
    items.hold(old);
    const joined = items.alloc(old.key, old.hashKey, old.value.length + item.value.length, old.flags, old.exptime, now);
    if (typeof joined === 'number') {
      items.drop(old);
      return Status.NOT_STORED;
    }
    const [first, second] = append ? [old.value, item.value] : [item.value, old.value];
    joined.value.set(first, 0);
    joined.value.set(second, first.length);
    item.cas = items.swap(old, joined, now);
    return Status.SUCCESS;
  }

  release(handle: ItemHandle): void {
    const { items } = this.ready();
    items.drop(items.byHandle(handle));
  }

  get(key: Uint8Array, request?: GetRequest): ItemHandle {
    if (request !== undefined) request.created = false;
    if (!keyFits(key)) return -Status.KEY_ENOENT;
    const { items, core } = this.ready();
    const now = core.currentTime();
    const hashKey = hashKeyOf(key);
    const count = request === undefined ? GetCount.GET : request.count;
    let item = items.lookup(hashKey, now);
    if (item === null && request !== undefined && request.vivify) {
      item = this.vivify(key, hashKey, now);
      request.created = item !== null;
    }
    if (item === null) {
      if (count !== GetCount.NONE) items.global.get_misses += 1;
      return -Status.KEY_ENOENT;
    }
    if (!request?.created && item.refcount >= HOLD_MAX) {
      // limited_get: fetched (and bumped), then let go. A plain get counts a miss; a meta get
      // counts nothing and is told (SERVER_ERROR refcount overflow during fetch).
      if (request === undefined || request.bump) items.bump(item, now);
      if (request !== undefined) return -Status.TMPFAIL;
      items.global.get_misses += 1;
      return -Status.KEY_ENOENT;
    }
    if (count === GetCount.GET) {
      items.countHit(item);
      items.perClass[item.clsid]!.get_hits += 1;
    } else if (count === GetCount.TOUCH) {
      items.perClass[item.clsid]!.touch_hits += 1;
    }
    if (request === undefined || request.bump) items.bump(item, now);
    // A vivified item still holds the reference its allocation gave: that one is the caller's.
    if (request === undefined || !request.created) items.hold(item);
    return item.handle;
  }

  /** mg N on a miss: an empty item (flags 0, exptime 0) linked as process_mget_command links it. */
  private vivify(key: Uint8Array, hashKey: string, now: number): Item | null {
    const { items } = this.ready();
    const item = items.alloc(key, hashKey, 0, 0, 0, now);
    if (typeof item === 'number') return null;
    items.link(item, now);
    return item;
  }

  bump(handle: ItemHandle): void {
    const { items, core } = this.ready();
    const item = items.byHandle(handle);
    if (item.linked) items.bump(item, core.currentTime());
  }

  setExptime(handle: ItemHandle, exptime: number): void {
    const { items, core } = this.ready();
    items.byHandle(handle).exptime = core.realtime(exptime);
  }

  markItem(handle: ItemHandle, marks: number): void {
    const item = this.ready().items.byHandle(handle);
    if (marks & ItemMark.WIN_SENT) item.winSent = true;
    if (marks & ItemMark.KEY_BINARY) item.keyBinary = true;
  }

  getAndTouch(key: Uint8Array, exptime: number): ItemHandle {
    if (!keyFits(key)) return -Status.KEY_ENOENT;
    const item = this.touchItem(key, exptime, true);
    if (item === null) return -Status.KEY_ENOENT;
    this.ready().items.hold(item);
    return item.handle;
  }

  touch(key: Uint8Array, exptime: number): Status {
    if (!keyFits(key)) return Status.KEY_ENOENT;
    return this.touchItem(key, exptime) === null ? Status.KEY_ENOENT : Status.SUCCESS;
  }

  /** touch, and gat's lookup when `holding`: the touched item, or null, counted as a miss. */
  private touchItem(key: Uint8Array, exptime: number, holding = false): Item | null {
    const { items, core } = this.ready();
    const now = core.currentTime();
    const item = items.lookup(hashKeyOf(key), now);
    if (item === null) {
      items.global.touch_misses += 1;
      return null;
    }
    items.bump(item, now);
    item.exptime = core.realtime(exptime);
    if (holding && item.refcount >= HOLD_MAX) {
      // limited_get: touched, then let go as a miss (see get).
      items.global.touch_misses += 1;
      return null;
    }
    items.perClass[item.clsid]!.touch_hits += 1;
    return item;
  }

  remove(key: Uint8Array, cas: bigint, options = 0, exptime = 0): Status {
    if (!keyFits(key)) return Status.KEY_ENOENT;
    const { items, core } = this.ready();
    const item = items.lookup(hashKeyOf(key), core.currentTime());
    if (item === null) {
      items.global.delete_misses += 1;
      return Status.KEY_ENOENT;
    }
    if (options & RemoveOption.COMPARE_CAS) {
      if (cas !== item.cas) {
        items.global.delete_misses += 1;
        return Status.KEY_EEXISTS;
      }
    } else if (cas !== 0n && cas !== item.cas) {
      return Status.KEY_EEXISTS;
    }
    if (options & RemoveOption.INVALIDATE) {
      // md I: the item stays, stale, with a new CAS; the next mg wins the recache.
      if (options & RemoveOption.SET_EXPTIME) item.exptime = core.realtime(exptime);
      item.stale = true;
      item.winSent = false;
      item.cas = items.nextCas();
      return Status.SUCCESS;
    }
    items.perClass[item.clsid]!.delete_hits += 1;
    items.unlink(item);
    return Status.SUCCESS;
  }

  arithmetic(key: Uint8Array, request: ArithmeticRequest, result: ArithmeticResult): Status {
    result.item = 0;
    result.created = false;
    if (!keyFits(key)) return Status.KEY_ENOENT;
    const { items, core, settings } = this.ready();
    const now = core.currentTime();
    const hashKey = hashKeyOf(key);
    const item = items.lookup(hashKey, now);
    if (item === null) {
      if (!request.create) {
        if (request.incr) items.global.incr_misses += 1;
        else items.global.decr_misses += 1;
        return Status.KEY_ENOENT;
      }
      // Created, not missed: memcached counts no miss when it makes the item (ma N, binary).
      result.created = true;
      const digits = decimalBytes(request.initial);
      const created = items.alloc(key, hashKey, digits.length, 0, core.realtime(request.exptime), now);
      if (typeof created === 'number') return Status.ENOMEM;
      created.value.set(digits);
      items.link(created, now);
      result.value = request.initial;
      result.cas = created.cas;
      return this.handOver(created, request, result);
    }
    if (item.value.length === 0 || item.ntotal > settings.slabChunkMax) return Status.EINVAL;
    if (request.cas !== 0n && request.cas !== item.cas) return Status.KEY_EEXISTS;
    const value = parseU64(item.value);
    if (value === null) return Status.EINVAL;
    const next = applyDelta(value, request.incr, request.delta);
    const counters = items.perClass[item.clsid]!;
    if (request.incr) counters.incr_hits += 1;
    else counters.decr_hits += 1;
    const digits = decimalBytes(next);
    result.value = next;
    // In place only when nobody holds the item (memcached: refcount == 2, the link and us).
    if (digits.length <= item.value.length && item.refcount === 0) {
      writePadded(item.value, digits);
      item.cas = items.nextCas();
      items.touchTime(item, now);
      result.cas = item.cas;
      if (request.hold) {
        items.hold(item);
        result.item = item.handle;
      }
      return Status.SUCCESS;
    }
    items.hold(item);
    const fresh = items.alloc(item.key, hashKey, digits.length, item.flags, item.exptime, now);
    if (typeof fresh === 'number') {
      items.drop(item);
      return Status.ENOMEM;
    }
    fresh.value.set(digits);
    if (request.hold) items.hold(fresh);
    result.cas = items.swap(item, fresh, now);
    if (request.hold) result.item = fresh.handle;
    return Status.SUCCESS;
  }

  /** Gives the caller the reference an item the engine made holds, or drops it. */
  private handOver(item: Item, request: ArithmeticRequest, result: ArithmeticResult): Status {
    if (request.hold) result.item = item.handle;
    else this.ready().items.drop(item);
    return Status.SUCCESS;
  }

  flush(exptime: number): Status {
    const { items, core } = this.ready();
    const now = core.currentTime();
    items.flush(exptime > 0 ? core.realtime(exptime) : now, now);
    return Status.SUCCESS;
  }

  /** Every hit held: values live in arrays of their own, read through getItemInfo. */
  getMany(keys: readonly Uint8Array[], from: number, count: number): ManyAnswer {
    const { table } = this.many;
    for (let i = 0, at = 0; i < count; i++, at += MANY_STRIDE) {
      const item = this.get(keys[from + i]!);
      table[at + Many.ITEM] = item > 0 ? item : 0;
      table[at + Many.HELD] = ManyState.HELD;
    }
    return this.many;
  }

  getItemInfo(handle: ItemHandle, info: ItemInfo, withCas = false): void {
    const item = this.ready().items.byHandle(handle);
    if (withCas) info.cas = item.cas;
    info.exptime = item.exptime;
    info.time = item.time;
    info.flags = item.flags;
    info.clsid = item.clsid;
    info.fetched = item.fetched;
    info.ntotal = item.ntotal;
    info.stale = item.stale;
    info.winSent = item.winSent;
    info.keyBinary = item.keyBinary;
    info.keyBytes = item.key;
    info.keyOffset = 0;
    info.nkey = item.key.length;
    info.valueBytes = item.value;
    info.valueOffset = 0;
    info.nvalue = item.value.length;
    info.valueRoom = 0;
  }

  getStats(group: string, add: AddStat): Status {
    const { items, settings, trackSizes, core } = this.ready();
    return reportStats(group, statsSource(items, settings, trackSizes, core.currentTime()), add);
  }

  resetStats(): void {
    this.ready().items.resetCounters();
  }

  /** The LRU maintainer's background work: juggle rounds over every class (Items.maintainStep). */
  maintainLru(budget: number): number {
    if (!(budget >= 1)) return 0;
    const { items, core } = this.ready();
    return items.maintainStep(Math.min(Math.floor(budget), 0x7fffffff), core.currentTime());
  }

  /** `lru tune`, `lru mode`, `cache_memlimit`: Items and Slabs read the settings as they go. */
  tune(change: Partial<TunableSettings>): Status {
    const { settings, items } = this.ready();
    return tuneSettings(settings, change, items.slabs.layoutCacheSize) ? Status.SUCCESS : Status.EINVAL;
  }

  /** item_cachedump: the class's COLD LRU, newest first, after the maintainer's juggle. */
  cachedump(clsid: number, limit: number, visit: CachedumpVisit): Status {
    const { items, core } = this.ready();
    if (!Number.isInteger(clsid) || clsid < 1 || clsid > items.slabs.largest) return Status.SUCCESS;
    items.maintain(clsid, core.currentTime());
    let shown = 0;
    for (let item = items.lru.head(clsid, COLD_LRU); item !== null; item = item.next) {
      if (limit !== 0 && shown >= limit) break;
      if (!visit(item.key, item.value.length, item.exptime)) break;
      shown += 1;
    }
    return Status.SUCCESS;
  }

  /** memcached's LRU crawler: metadump with `visit`, autoexpire without (see EngineHandle.crawl). */
  crawl(target: CrawlTarget, visit?: (item: ItemHandle) => void): Status {
    const { items, core } = this.ready();
    const now = core.currentTime();
    const each = (item: Item): void => {
      if (items.crawl(item, now, visit === undefined) && visit !== undefined) visit(item.handle);
    };
    if (target === 'hash') {
      for (const item of items.hashOrder()) each(item);
      return Status.SUCCESS;
    }
    const classes = target.filter((c) => Number.isInteger(c) && c >= 1 && c <= items.slabs.largest);
    for (const clsid of classes) items.maintain(clsid, now);
    crawlInTurns<Item | null>(classes, null, (clsid, segment) => items.lru.tail(clsid, segment as LruSegment), (item) => item!.prev, (item) => each(item!));
    return Status.SUCCESS;
  }

  // ---- For an engine that keeps a copy of this one's items elsewhere (the fs engine). Unused by
  // the ts engine itself: without them it behaves exactly as before.

  /** Calls `unlinked` with the key of every item unlinked from the cache: eviction, expiry, flush, delete, replace. */
  watchUnlinks(unlinked: (key: Uint8Array) => void): void {
    this.ready().items.onUnlink = (item) => unlinked(item.key);
  }

  /**
   * The live item under `key` with no side effect (no bump, no lazy expiry, nothing counted), or
   * 0. The handle carries no reference: read it (getItemInfo) before the next call into the engine.
   */
  peek(key: Uint8Array): ItemHandle {
    if (!keyFits(key)) return 0;
    const { items, core } = this.ready();
    return items.peek(hashKeyOf(key), core.currentTime())?.handle ?? 0;
  }

  /**
   * Links an item brought back from elsewhere, with its own CAS (the counter continues above it),
   * exptime (rel time) and stale mark; a live item under the key is replaced. Not counted as a
   * set. Returns the status of the allocation (E2BIG, ENOMEM) or SUCCESS.
   */
  restoreItem(key: Uint8Array, value: Uint8Array, flags: number, exptime: number, cas: bigint, stale: boolean): Status {
    if (!keyFits(key)) return Status.EINVAL;
    const { items, core, settings } = this.ready();
    const now = core.currentTime();
    const hashKey = hashKeyOf(key);
    const item = items.alloc(key, hashKey, value.length, flags >>> 0, exptime, now);
    if (typeof item === 'number') return item;
    item.value.set(value);
    item.stale = stale;
    const old = items.lookup(hashKey, now);
    if (old !== null) items.unlink(old);
    items.link(item, now);
    if (settings.useCas) {
      items.raiseCas(cas);
      item.cas = cas;
    }
    items.drop(item);
    return Status.SUCCESS;
  }

  /** The CAS last given out; and a floor for the ones to come. */
  lastCas(): bigint {
    return this.ready().items.lastCas();
  }

  raiseCas(floor: bigint): void {
    this.ready().items.raiseCas(floor);
  }

  /** flush_all's state (rel time, CAS), to be kept and given back to a later instance. */
  flushState(): { oldestLive: number; oldestCas: bigint } {
    return this.ready().items.flushState();
  }

  restoreFlushState(oldestLive: number, oldestCas: bigint): void {
    this.ready().items.restoreFlushState(oldestLive, oldestCas);
  }

  /** Consistency check for tests (the harness calls it when present). */
  selfCheck(): void {
    this.state?.items.selfCheck();
  }

  private ready(): State {
    if (this.state === null) throw new Error('ts engine: used before initialize');
    return this.state;
  }
}

/** memcached keys are 1 to KEY_MAX_LENGTH bytes; no item can have any other key. */
const KEY_MAX_LENGTH = 250;

function keyFits(key: Uint8Array): boolean {
  return key.length > 0 && key.length <= KEY_MAX_LENGTH;
}
