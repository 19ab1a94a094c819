// The host half of the WASM engine: an EngineHandle over the AssemblyScript module's raw
// exports. Keys are copied into the module's scratch area and every call passes only i32s;
// u64s travel through scratch slots. No Node API here, so browsers and edge runtimes can use it
// with a module they compiled themselves.

import { ConfigReader, readCacheSettings, slabPages, tuneSettings, type CacheSettings, type EngineConfig, type TunableSettings } from '../../engine/config.ts';
import { framedHeader, readFramedHeader } from '../../engine/memory-file.ts';
import {
  CLASS_COUNTERS, GLOBAL_COUNTERS, reportStats, slabClassLine,
  type ClassCounter, type GlobalCounter, type SlabStatsSource,
} from '../../engine/stats.ts';
import { Status, type StoreOperation } from '../../engine/status.ts';
import {
  ENGINE_INTERFACE_VERSION, GET_MANY_MAX, GetCount, ItemMark, MANY_STRIDE, Many, ManyState, ManyText, RemoveOption, manyAnswer, StoreOption,
  crawlInTurns, type AddStat, type ManyAnswer, type ArithmeticRequest, type ArithmeticResult, type CachedumpVisit,
  type CrawlTarget, type EngineHandle,
  type EngineInfo, type GetRequest, type GetServerApi, type ItemHandle, type ItemInfo, type ServerApi,
} from '../../engine/types.ts';
import {
  CAS_SIZE, COLD_LRU, GET_COUNT_NONE, GET_COUNT_TOUCH, GET_META, GET_NO_BUMP, GET_NO_HOLD, GET_VIVIFY, IO_CAS_IN, IO_CAS_OUT,
  IO_CREATED, IO_DELTA, IO_INITIAL, IO_ITEM, IO_KEY, IO_VALUE, IT_CLSID, IT_EXPTIME, IT_FLAGS,
  IT_HEADER, IT_NBYTES, IT_NKEY, IT_NTOTAL, IT_TIME, ITEM_CAS, ITEM_CFLAGS, ITEM_CHAINED,
  ITEM_FETCHED, ITEM_KEY_BINARY, ITEM_STALE, ITEM_TOKEN_SENT, KEY_MAX, MARK_KEY_BINARY,
  MARK_WIN_SENT, REMOVE_COMPARE_CAS, REMOVE_INVALIDATE, REMOVE_SET_EXPTIME, STORE_INVALIDATE,
  IO_MANY, IO_MANY_KEYS, MANY_CAS, MANY_FLAGS, MANY_HELD, MANY_ITEM, MANY_KEY_STRIDE, MANY_MAX,
  MANY_KEY, MANY_NKEY, MANY_NVALUE, MANY_RECORD, MANY_VALUE, MANY_TEXT_END, MANY_IN_TABLE, MANY_HELD_ITEM, MANY_WRITTEN,
  MANY_TEXT, MANY_TEXT_CAS, MANY_TEXT_END_EACH, IO_TEXT, checkLayout,
} from './layout.ts';

// getMany hands out the module's IO_MANY records as the interface's table, read in place.
if (
  MANY_MAX !== GET_MANY_MAX || MANY_RECORD !== MANY_STRIDE * 4 || MANY_NKEY !== 0 || MANY_KEY !== Many.KEY * 4 || MANY_ITEM !== Many.ITEM * 4 ||
  MANY_HELD !== Many.HELD * 4 || MANY_FLAGS !== Many.FLAGS * 4 || MANY_VALUE !== Many.VALUE * 4 ||
  MANY_NVALUE !== Many.NVALUE * 4 || MANY_CAS !== Many.CAS_LOW * 4 || MANY_CAS + 4 !== Many.CAS_HIGH * 4 ||
  MANY_TEXT_END !== Many.TEXT_END * 4 || MANY_IN_TABLE !== ManyState.IN_TABLE || MANY_HELD_ITEM !== ManyState.HELD ||
  MANY_WRITTEN !== ManyState.WRITTEN || MANY_TEXT !== ManyText.VALUES || MANY_TEXT_CAS !== ManyText.CAS ||
  MANY_TEXT_END_EACH !== ManyText.END_EACH
) {
  throw new Error('wasm engine: the IO_MANY record layout differs from the ManyAnswer table');
}

/** The module's exports, as assembly/index.ts declares them. */
interface EngineExports {
  memory: WebAssembly.Memory;
  engineInit(
    pages: number, pageSize: number, chunkSize: number, factor: number, itemSizeMax: number,
    chunkMax: number, useCas: number, evict: number, hashpower: number, hotPct: number,
    warmPct: number, trackSizes: number,
  ): number;
  engineScratch(): number;
  clockSet(now: number): void;
  itemGet(nkey: number, options: number): number;
  itemGetMany(n: number, holdMin: number, text: number): void;
  itemBumpHeld(item: number): void;
  itemSetExptime(item: number, exptime: number): void;
  itemMark(item: number, marks: number): void;
  itemGetAndTouch(nkey: number, exptime: number): number;
  itemTouch(nkey: number, exptime: number): number;
  itemAllocate(nkey: number, flags: number, exptime: number, nbytes: number, op: number): number;
  itemStoreOp(item: number, op: number, options: number): number;
  itemRelease(item: number): void;
  itemRemove(nkey: number, options: number, exptime: number): number;
  itemArithmetic(nkey: number, incr: number, create: number, exptime: number, hold: number): number;
  itemFlushAll(newOldest: number): void;
  itemSegment(item: number, offset: number): number;
  itemSegmentLength(): number;
  statsClass(cls: number, which: number): bigint;
  statsGlobal(which: number): bigint;
  statsResetAll(): void;
  slabsClassInfo(cls: number, what: number): number;
  engineFact(what: number): number;
  engineSelfCheck(): number;
  statsSizeBucket(bucket: number): number;
  lruMaintain(cls: number): void;
  lruTune(hot: number, warm: number, hotFactor: number, warmFactor: number, segmented: number): void;
  slabsTuneLimit(pages: number): void;
  lruCrawl(budget: number): number;
  lruHead(cls: number, lru: number): number;
  lruNext(item: number): number;
  lruTail(cls: number, lru: number): number;
  lruPrev(item: number): number;
  assocBucket(bucket: number): number;
  assocChainNext(item: number): number;
  crawlItem(item: number, reclaim: number): number;
  engineStateSave(): number;
  engineStateLoad(): void;
  engineChecksum(from: number, to: number): number;
}

/** Where the module's abort import finds the memory to read its message from (set once instantiated). */
export interface MemoryHolder {
  current?: WebAssembly.Memory;
}

/** An instance of the engine's module made with engineImports(memory). */
export interface InstantiatedModule {
  instance: WebAssembly.Instance;
  memory: MemoryHolder;
}

/** The imports the module is instantiated with. */
export function engineImports(memory: MemoryHolder): WebAssembly.Imports {
  return { env: { abort: (msg: number, file: number, line: number, col: number) => abort(memory.current, msg, file, line, col) } };
}

/**
 * An image (snapshot/restore): this magic, a u32 (little-endian) length, a JSON ImageHeader,
 * then memory [header.base, header.end) of an engine: everything from the scratch area on,
 * with the state kept in globals written into it (engineStateSave). Bump IMAGE_FORMAT whenever
 * what memory means changes.
 */
const IMAGE_MAGIC = 'WCIMAGE\n';
const IMAGE_FORMAT = 4;

interface ImageHeader {
  format: number;
  /** Where the image's memory starts (the scratch area: the same for the same build's layout). */
  base: number;
  end: number;
  checksum: number;
  /** The settings the memory was laid out with; a restore needs the same. */
  settings: Record<string, number | boolean>;
}

export type WasmBuild = 'release' | 'debug';

/** How the engine obtains its compiled module (Node reads a file; a Worker is handed one). */
export type ModuleSource = (build: WasmBuild) => WebAssembly.Module;

// slabsClassInfo selectors (assembly/index.ts)
const INFO_SIZE = 0;
const INFO_PERSLAB = 1;
const INFO_PAGES = 2;
const INFO_FREE = 3;
const INFO_SEG_ITEMS = 4;
const INFO_SEG_BYTES = 7;
const INFO_SEG_AGE = 10;
// engineFact selectors
const FACT_LARGEST = 0;
const FACT_PAGES_USED = 1;
const FACT_HASHPOWER = 3;
const FACT_EXPANDING = 4;
const FACT_OLDEST_LIVE = 6;

export class WasmEngine implements EngineHandle, SlabStatsSource {
  readonly interfaceVersion = ENGINE_INTERFACE_VERSION;
  settings!: CacheSettings;
  trackSizes = false;
  /** The cache_size the memory was laid out for; `tune` may lower settings.cacheSize, or raise it back to this. */
  private layoutCacheSize = 0;
  private x!: EngineExports;
  private bytes!: Uint8Array;
  /** The module's memory; it never grows after initialize, so views over it never detach. */
  private buffer!: ArrayBuffer;
  private view!: DataView;
  private scratch = 0;
  /** getMany's answer: the IO_MANY records, read in place. */
  private many!: ManyAnswer;
  private lastNow = -1;
  /** Each class's chunk size (index: class id), as the layout made them: an item's room ends its chunk. */
  private chunkSizes = new Uint32Array(0);
  private readonly server: ServerApi;
  /** Values of chained items being received: written here, scattered into chunks at store. */
  private readonly staged = new Map<ItemHandle, Uint8Array>();

  constructor(getServerApi: GetServerApi, private readonly moduleFor: ModuleSource) {
    this.server = getServerApi();
  }

  getInfo(): EngineInfo {
    return { description: 'wasmcached wasm engine (AssemblyScript slab allocator)', features: ['lru', 'cas', 'slabs'] };
  }

  /**
   * `instantiated`: an instance made by the caller, asynchronously, with engineImports(holder)
   * (browsers refuse to instantiate a module this size synchronously on their main thread).
   */
  initialize(config: EngineConfig, instantiated?: InstantiatedModule): Status {
    const reader = new ConfigReader(config);
    const settings = readCacheSettings(reader);
    const trackSizes = reader.boolean('track_sizes', false);
    const build = reader.string('wasm_build', 'release');
    if (build !== 'release' && build !== 'debug') reader.reject(`engine config wasm_build=${build}: expected release or debug`);
    const errors = reader.errors();
    if (errors.length > 0) {
      for (const message of errors) this.server.log('warning', message);
      return Status.EINVAL;
    }
    const memory: MemoryHolder = instantiated?.memory ?? {};
    const instance = instantiated?.instance ?? new WebAssembly.Instance(this.moduleFor(build as WasmBuild), engineImports(memory));
    checkLayout(instance.exports);
    this.x = instance.exports as unknown as EngineExports;
    memory.current = this.x.memory;
    this.settings = settings;
    this.layoutCacheSize = settings.cacheSize;
    this.trackSizes = trackSizes;
    const classes = this.relayout();
    if (classes < 0) {
      this.server.log('warning', `cannot lay out ${settings.cacheSize} bytes of cache in WebAssembly memory (4 GiB at most)`);
      return Status.ENOMEM;
    }
    this.buffer = this.x.memory.buffer;
    this.bytes = new Uint8Array(this.buffer);
    this.view = new DataView(this.x.memory.buffer);
    this.scratch = this.x.engineScratch();
    this.many = manyAnswer(new Uint32Array(this.buffer), this.bytes, (this.scratch + IO_MANY) >>> 2, this.scratch + IO_TEXT);
    for (let cls = 1; cls <= classes; cls++) {
      this.server.log('info', slabClassLine(cls, this.chunkSize(cls), this.perslab(cls)));
    }
    return Status.SUCCESS;
  }

  destroy(): void {
    this.staged.clear();
  }

  /** Lays out an empty cache in the module's memory (engineInit); the number of classes, or < 0. */
  private relayout(): number {
    const settings = this.settings;
    const classes = this.x.engineInit(
      slabPages(this.layoutCacheSize, settings.slabPageSize), settings.slabPageSize, settings.chunkSize, settings.factor, settings.itemSizeMax,
      settings.slabChunkMax, settings.useCas ? 1 : 0, settings.eviction ? 1 : 0, settings.hashpower,
      settings.hotLruPct, settings.warmLruPct, this.trackSizes ? 1 : 0,
    );
    if (classes >= 0) {
      this.applyTuning();
      this.chunkSizes = new Uint32Array(classes + 1);
      for (let cls = 1; cls <= classes; cls++) this.chunkSizes[cls] = this.chunkSize(cls);
    }
    return classes;
  }

  /** Pushes the settings `tune` may change into the module. */
  private applyTuning(): void {
    const s = this.settings;
    this.x.lruTune(s.hotLruPct, s.warmLruPct, s.hotMaxFactor, s.warmMaxFactor, s.lruSegmented ? 1 : 0);
    this.x.slabsTuneLimit(slabPages(s.cacheSize, s.slabPageSize));
  }

  tune(change: Partial<TunableSettings>): Status {
    if (!tuneSettings(this.settings, change, this.layoutCacheSize)) return Status.EINVAL;
    this.applyTuning();
    return Status.SUCCESS;
  }

  // ---- images ----

  private imageSettings(): Record<string, number | boolean> {
    const s = this.settings;
    // What the memory's layout depends on; not what `tune` changes.
    return {
      cacheSize: this.layoutCacheSize, eviction: s.eviction, factor: s.factor, chunkSize: s.chunkSize,
      itemSizeMax: s.itemSizeMax, slabPageSize: s.slabPageSize, slabChunkMax: s.slabChunkMax,
      useCas: s.useCas, hashpower: s.hashpower, trackSizes: this.trackSizes,
    };
  }

  snapshot(): Uint8Array[] {
    const base = this.scratch;
    const end = this.x.engineStateSave();
    const header: ImageHeader = {
      format: IMAGE_FORMAT, base, end, checksum: this.x.engineChecksum(base, end) >>> 0, settings: this.imageSettings(),
    };
    return [framedHeader(IMAGE_MAGIC, header), new Uint8Array(this.buffer, base, end - base)];
  }

  restore(image: Uint8Array): string | undefined {
    const header = readImageHeader(image);
    if (typeof header === 'string') return header;
    if (header.image.format !== IMAGE_FORMAT) return `the image is of format ${header.image.format}, this engine reads ${IMAGE_FORMAT}`;
    const { base, end, checksum } = header.image;
    if (base !== this.scratch) return 'the image was made by a build with another memory layout';
    const mine = this.imageSettings();
    const changed = Object.keys(mine).filter((name) => header.image.settings[name] !== mine[name]);
    if (changed.length > 0) return `the image was made with other settings (${changed.map((name) => `${name} ${header.image.settings[name]}, now ${mine[name]}`).join('; ')})`;
    const body = image.subarray(header.bodyStart);
    if (!Number.isInteger(end) || end < base || body.length !== end - base || end > this.bytes.length) return 'the image is truncated or damaged';
    // Pages in use now beyond the image's go back to the state of never used (a cache restored
    // over one that served).
    const inUse = this.x.engineStateSave();
    this.bytes.set(body, base);
    if (inUse > end) this.bytes.fill(0, end, inUse);
    if (this.x.engineChecksum(base, end) >>> 0 !== checksum) {
      // Damaged: back to an engine as initialize left it.
      this.bytes.fill(0, base, end);
      this.relayout();
      return 'the image is damaged (checksum mismatch)';
    }
    this.x.engineStateLoad();
    this.staged.clear();
    this.lastNow = -1;
    return undefined;
  }

  // ---- the boundary ----

  /** Pushes memcached's current_time into the module when it has moved. */
  private tick(): void {
    const now = this.server.core.currentTime();
    if (now !== this.lastNow) {
      this.lastNow = now;
      this.x.clockSet(now);
    }
  }

  /** Copies the key into scratch; its length, or -1 when no item can have this key. */
  private putKey(key: Uint8Array): number {
    const nkey = key.length;
    if (nkey === 0 || nkey > KEY_MAX) return -1;
    this.bytes.set(key, this.scratch + IO_KEY);
    this.tick();
    return nkey;
  }

  private setU64(slot: number, value: bigint): void {
    if (value === 0n) {
      // The usual CAS argument (none): no bigint arithmetic.
      this.view.setUint32(this.scratch + slot, 0, true);
      this.view.setUint32(this.scratch + slot + 4, 0, true);
      return;
    }
    this.view.setBigUint64(this.scratch + slot, BigInt.asUintN(64, value), true);
  }

  private getU64(slot: number): bigint {
    return this.view.getBigUint64(this.scratch + slot, true);
  }

  private rel(exptime: number): number {
    return this.server.core.realtime(exptime);
  }

  // ---- operations ----

  get(key: Uint8Array, request?: GetRequest): ItemHandle {
    const nkey = this.putKey(key);
    if (request === undefined) return nkey < 0 ? -Status.KEY_ENOENT : this.x.itemGet(nkey, 0);
    request.created = false;
    if (nkey < 0) return -Status.KEY_ENOENT;
    let options = GET_META | (request.bump ? 0 : GET_NO_BUMP);
    if (request.count === GetCount.TOUCH) options |= GET_COUNT_TOUCH;
    else if (request.count === GetCount.NONE) options |= GET_COUNT_NONE;
    if (request.vivify) options |= GET_VIVIFY;
    const item = this.x.itemGet(nkey, options);
    if (request.vivify) request.created = this.view.getUint32(this.scratch + IO_CREATED, true) !== 0;
    return item;
  }

  getMany(keys: readonly Uint8Array[], from: number, count: number, holdMin: number, text = 0): ManyAnswer {
    this.tick();
    const bytes = this.bytes;
    const many = this.many;
    const table = many.table;
    let keyAt = this.scratch + IO_MANY_KEYS;
    for (let i = 0, at = many.base; i < count; i++, at += MANY_STRIDE, keyAt += MANY_KEY_STRIDE) {
      const key = keys[from + i]!;
      const n = key.length;
      if (n > KEY_MAX) {
        table[at] = 0;
        continue;
      }
      table[at] = n;
      bytes.set(key, keyAt);
    }
    this.x.itemGetMany(count, holdMin, text);
    return many;
  }

  /**
   * A get whose value is copied out at once (the embedded cache's get): no reference is taken
   * and none released, the copy made in one step. undefined on a miss.
   */
  copyValue(key: Uint8Array): Uint8Array | undefined {
    const nkey = this.putKey(key);
    if (nkey < 0) return undefined;
    const item = this.x.itemGet(nkey, GET_NO_HOLD);
    if (item <= 0) return undefined;
    const flags = this.flagsOf(item);
    if (flags & ITEM_CHAINED) return this.gather(item);
    const data = this.valueAt(item, flags);
    return this.bytes.slice(data, data + this.valueLength(item));
  }

  /** Where an unchained item's value starts in memory (`flags`: the item's). */
  private valueAt(item: ItemHandle, flags: number): number {
    const at = item * 8;
    return dataOffset(at + IT_HEADER + (flags & ITEM_CAS ? CAS_SIZE : 0), this.view.getUint8(at + IT_NKEY), flags);
  }

  /** An item's value length (memcached's nbytes without the CRLF). */
  private valueLength(item: ItemHandle): number {
    return this.view.getUint32(item * 8 + IT_NBYTES, true) - 2;
  }

  bump(item: ItemHandle): void {
    this.tick();
    this.x.itemBumpHeld(item);
  }

  setExptime(item: ItemHandle, exptime: number): void {
    this.tick();
    this.x.itemSetExptime(item, this.rel(exptime));
  }

  markItem(item: ItemHandle, marks: number): void {
    let bits = 0;
    if (marks & ItemMark.WIN_SENT) bits |= MARK_WIN_SENT;
    if (marks & ItemMark.KEY_BINARY) bits |= MARK_KEY_BINARY;
    this.x.itemMark(item, bits);
  }

  getAndTouch(key: Uint8Array, exptime: number): ItemHandle {
    const nkey = this.putKey(key);
    return nkey < 0 ? -Status.KEY_ENOENT : this.x.itemGetAndTouch(nkey, this.rel(exptime));
  }

  touch(key: Uint8Array, exptime: number): Status {
    const nkey = this.putKey(key);
    return nkey < 0 ? Status.KEY_ENOENT : (this.x.itemTouch(nkey, this.rel(exptime)) as Status);
  }

  allocate(key: Uint8Array, nbytes: number, flags: number, exptime: number, operation: StoreOperation): ItemHandle {
    const nkey = this.putKey(key);
    if (nkey < 0) return -Status.EINVAL;
    const item = this.x.itemAllocate(nkey, flags >>> 0, this.rel(exptime), nbytes, operation);
    if (item > 0 && this.flagsOf(item) & ITEM_CHAINED) this.staged.set(item, new Uint8Array(nbytes));
    return item;
  }

  itemValue(item: ItemHandle): Uint8Array {
    const flags = this.flagsOf(item);
    if (flags & ITEM_CHAINED) return this.staged.get(item) ?? this.gather(item);
    return new Uint8Array(this.buffer, this.valueAt(item, flags), this.valueLength(item));
  }

  store(item: ItemHandle, operation: StoreOperation, cas: bigint, options = 0): Status {
    const staged = this.staged.size === 0 ? undefined : this.staged.get(item);
    if (staged !== undefined) {
      this.scatter(item, staged);
      this.staged.delete(item);
    }
    this.setU64(IO_CAS_IN, cas);
    this.tick();
    return this.x.itemStoreOp(item, operation, options & StoreOption.INVALIDATE ? STORE_INVALIDATE : 0) as Status;
  }

  release(item: ItemHandle): void {
    if (this.staged.size !== 0) this.staged.delete(item);
    this.x.itemRelease(item);
  }

  remove(key: Uint8Array, cas: bigint, options = 0, exptime = 0): Status {
    const nkey = this.putKey(key);
    if (nkey < 0) return Status.KEY_ENOENT;
    this.setU64(IO_CAS_IN, cas);
    if (options === 0) return this.x.itemRemove(nkey, 0, 0) as Status;
    let bits = 0;
    if (options & RemoveOption.COMPARE_CAS) bits |= REMOVE_COMPARE_CAS;
    if (options & RemoveOption.INVALIDATE) bits |= REMOVE_INVALIDATE;
    if (options & RemoveOption.SET_EXPTIME) bits |= REMOVE_SET_EXPTIME;
    const rel = options & RemoveOption.SET_EXPTIME ? this.rel(exptime) : 0;
    return this.x.itemRemove(nkey, bits, rel) as Status;
  }

  arithmetic(key: Uint8Array, request: ArithmeticRequest, result: ArithmeticResult): Status {
    result.item = 0;
    result.created = false;
    const nkey = this.putKey(key);
    if (nkey < 0) return Status.KEY_ENOENT;
    this.setU64(IO_DELTA, request.delta);
    this.setU64(IO_INITIAL, request.initial);
    this.setU64(IO_CAS_IN, request.cas);
    const exptime = request.create ? this.rel(request.exptime) : 0;
    const status = this.x.itemArithmetic(nkey, request.incr ? 1 : 0, request.create ? 1 : 0, exptime, request.hold ? 1 : 0) as Status;
    result.created = this.view.getUint32(this.scratch + IO_CREATED, true) !== 0;
    if (status === Status.SUCCESS) {
      result.value = this.getU64(IO_VALUE);
      result.cas = this.getU64(IO_CAS_OUT);
      result.item = this.view.getUint32(this.scratch + IO_ITEM, true);
    }
    return status;
  }

  flush(exptime: number): Status {
    this.tick();
    this.x.itemFlushAll(exptime > 0 ? this.rel(exptime) : this.server.core.currentTime());
    return Status.SUCCESS;
  }

  getItemInfo(item: ItemHandle, info: ItemInfo, withCas = false): void {
    const at = item * 8;
    const v = this.view;
    const flags = v.getUint16(at + IT_FLAGS, true);
    const keyAt = at + IT_HEADER + (flags & ITEM_CAS ? CAS_SIZE : 0);
    const nkey = v.getUint8(at + IT_NKEY);
    if (withCas) info.cas = flags & ITEM_CAS ? v.getBigUint64(at + IT_HEADER, true) : 0n;
    info.exptime = v.getUint32(at + IT_EXPTIME, true);
    info.time = v.getUint32(at + IT_TIME, true);
    info.flags = flags & ITEM_CFLAGS ? v.getUint32(keyAt + nkey + 1, true) : 0;
    info.clsid = v.getUint8(at + IT_CLSID);
    info.fetched = (flags & ITEM_FETCHED) !== 0;
    info.ntotal = v.getUint32(at + IT_NTOTAL, true);
    info.stale = (flags & ITEM_STALE) !== 0;
    info.winSent = (flags & ITEM_TOKEN_SENT) !== 0;
    info.keyBinary = (flags & ITEM_KEY_BINARY) !== 0;
    info.keyBytes = this.bytes;
    info.keyOffset = keyAt;
    info.nkey = nkey;
    // Inline rather than itemValue(): this is every get's path, and the header is read already.
    if (flags & ITEM_CHAINED) {
      const value = this.staged.get(item) ?? this.gather(item);
      info.valueBytes = value;
      info.valueOffset = 0;
      info.nvalue = value.length;
      info.valueRoom = 0;
    } else {
      info.valueBytes = this.bytes;
      info.valueOffset = dataOffset(keyAt, nkey, flags);
      info.nvalue = v.getUint32(at + IT_NBYTES, true) - 2;
      // The CRLF the item keeps after its value (written at allocation), then the chunk's slack.
      info.valueRoom = at + this.chunkSizes[info.clsid]! - (info.valueOffset + info.nvalue);
    }
  }

  getStats(group: string, add: AddStat): Status {
    this.tick();
    return reportStats(group, this, add);
  }

  resetStats(): void {
    this.x.statsResetAll();
  }

  /** The LRU maintainer's background work: juggle rounds over every class (assembly/lru.ts). */
  maintainLru(budget: number): number {
    if (!(budget >= 1)) return 0;
    this.tick();
    return this.x.lruCrawl(Math.min(Math.floor(budget), 0x7fffffff));
  }

  /** item_cachedump: the class's COLD LRU, newest first, after the maintainer's juggle. */
  cachedump(clsid: number, limit: number, visit: CachedumpVisit): Status {
    if (!Number.isInteger(clsid) || clsid < 1 || clsid > this.largestClass()) return Status.SUCCESS;
    this.tick();
    this.x.lruMaintain(clsid);
    const v = this.view;
    let shown = 0;
    for (let item = this.x.lruHead(clsid, COLD_LRU); item !== 0; item = this.x.lruNext(item)) {
      if (limit !== 0 && shown >= limit) break;
      const at = item * 8;
      const keyAt = at + IT_HEADER + (this.flagsOf(item) & ITEM_CAS ? CAS_SIZE : 0);
      const key = this.bytes.subarray(keyAt, keyAt + v.getUint8(at + IT_NKEY));
      if (!visit(key, v.getUint32(at + IT_NBYTES, true) - 2, v.getUint32(at + IT_EXPTIME, true))) break;
      shown += 1;
    }
    return Status.SUCCESS;
  }

  /** memcached's LRU crawler: metadump with `visit`, autoexpire without (see EngineHandle.crawl). */
  crawl(target: CrawlTarget, visit?: (item: ItemHandle) => void): Status {
    this.tick();
    const x = this.x;
    const reclaim = visit === undefined ? 1 : 0;
    const each = (item: number): void => {
      if (x.crawlItem(item, reclaim) !== 0 && visit !== undefined) visit(item);
    };
    if (target !== 'hash') {
      const largest = this.largestClass();
      const classes = target.filter((c) => c >= 1 && c <= largest);
      for (const clsid of classes) x.lruMaintain(clsid);
      crawlInTurns(classes, 0, (clsid, segment) => x.lruTail(clsid, segment), (item) => x.lruPrev(item), each);
      return Status.SUCCESS;
    }
    // A chain runs oldest first (the module's assocInsert); memcached's newest first, which is
    // the order each bucket is visited in. `each` may unlink the item it is given, never another.
    const buckets = 2 ** this.hashPower();
    const chain: number[] = [];
    for (let b = 0; b < buckets; b++) {
      for (let item = x.assocBucket(b); item !== 0; item = x.assocChainNext(item)) chain.push(item);
      for (let i = chain.length - 1; i >= 0; i--) each(chain[i]!);
      chain.length = 0;
    }
    return Status.SUCCESS;
  }

  /** Walks every structure in the module; throws (debug builds) on any inconsistency. */
  selfCheck(): number {
    return this.x.engineSelfCheck();
  }

  // ---- value bytes ----

  private flagsOf(item: ItemHandle): number {
    return this.view.getUint16(item * 8 + IT_FLAGS, true);
  }


  /** Copies a chained item's value out of its chunks. */
  private gather(item: ItemHandle): Uint8Array {
    const length = this.view.getUint32(item * 8 + IT_NBYTES, true) - 2;
    const out = new Uint8Array(length);
    this.walkChunks(item, length, (at, offset, n) => out.set(this.bytes.subarray(at, at + n), offset));
    return out;
  }

  private scatter(item: ItemHandle, value: Uint8Array): void {
    this.walkChunks(item, value.length, (at, offset, n) => this.bytes.set(value.subarray(offset, offset + n), at));
  }

  private walkChunks(item: ItemHandle, length: number, visit: (at: number, offset: number, n: number) => void): void {
    for (let offset = 0; offset < length; ) {
      const at = this.x.itemSegment(item, offset);
      const n = Math.min(this.x.itemSegmentLength(), length - offset);
      visit(at, offset, n);
      offset += n;
    }
  }

  // ---- SlabStatsSource ----

  largestClass(): number {
    return this.x.engineFact(FACT_LARGEST);
  }
  chunkSize(cls: number): number {
    return this.x.slabsClassInfo(cls, INFO_SIZE);
  }
  perslab(cls: number): number {
    return this.x.slabsClassInfo(cls, INFO_PERSLAB);
  }
  pages(cls: number): number {
    return this.x.slabsClassInfo(cls, INFO_PAGES);
  }
  freeChunks(cls: number): number {
    return this.x.slabsClassInfo(cls, INFO_FREE);
  }
  segmentItems(cls: number, lru: number): number {
    return this.x.slabsClassInfo(cls, INFO_SEG_ITEMS + lru);
  }
  segmentBytes(cls: number, lru: number): number {
    return this.x.slabsClassInfo(cls, INFO_SEG_BYTES + lru);
  }
  segmentAge(cls: number, lru: number): number {
    return this.x.slabsClassInfo(cls, INFO_SEG_AGE + lru);
  }
  classCounter(cls: number, name: ClassCounter): number {
    return Number(this.x.statsClass(cls, CLASS_COUNTERS.indexOf(name)));
  }
  globalCounter(name: GlobalCounter): number {
    return Number(this.x.statsGlobal(GLOBAL_COUNTERS.indexOf(name)));
  }
  pagesUsed(): number {
    return this.x.engineFact(FACT_PAGES_USED);
  }
  hashPower(): number {
    return this.x.engineFact(FACT_HASHPOWER);
  }
  hashBytes(): number {
    return 2 ** this.hashPower() * 4;
  }
  oldestLive(): number {
    return this.x.engineFact(FACT_OLDEST_LIVE);
  }
  hashExpanding(): boolean {
    return this.x.engineFact(FACT_EXPANDING) !== 0;
  }
  sizes(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    const buckets = (this.settings.itemSizeMax >>> 5) + 2;
    for (let b = 1; b < buckets; b++) {
      const count = this.x.statsSizeBucket(b);
      if (count > 0) out.push([b * 32, count]);
    }
    return out;
  }
}

/** Where the value starts: after the key, its NUL and the client flags when non-zero. */
function dataOffset(keyAt: number, nkey: number, flags: number): number {
  return keyAt + nkey + 1 + (flags & ITEM_CFLAGS ? 4 : 0);
}

/** AssemblyScript's abort(): a failed assert in a debug build is a broken invariant. */
function abort(memory: WebAssembly.Memory | undefined, msg: number, file: number, line: number, col: number): never {
  const text = (ptr: number): string => {
    if (memory === undefined || ptr === 0) return '';
    const length = new Uint32Array(memory.buffer, ptr - 4, 1)[0]! >>> 1;
    return String.fromCharCode(...new Uint16Array(memory.buffer, ptr, length));
  };
  throw new Error(`wasm engine: ${text(msg)} at ${text(file)}:${line}:${col}`);
}

/** An image's header and where its memory starts, or why it is not an image this engine reads. */
function readImageHeader(image: Uint8Array): { image: ImageHeader; bodyStart: number } | string {
  const framed = readFramedHeader(image, IMAGE_MAGIC, 'image', 'not a wasm engine image');
  if (typeof framed === 'string') return framed;
  const header = framed.header as ImageHeader | null;
  if (typeof header !== 'object' || header === null || typeof header.settings !== 'object') return 'the image header is damaged';
  return { image: header, bodyStart: framed.bodyStart };
}
