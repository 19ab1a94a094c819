// The `fs` engine: the ts engine's cache, kept on disk. Every semantic (expiry, CAS, flush, LRU,
// stats) is the in-memory ts engine's, decided without I/O; this file mirrors each change that
// reaches the cache into one file per item (files.ts, record.ts) through a queue (queue.ts), and
// brings the files back at start-up in the background (loader.ts). Config: the cache keys, plus
// dir=PATH and sync=none|batch|always (docs in README.md's engine section).

import { Buffer } from 'node:buffer';
import { mkdirSync, readdirSync } from 'node:fs';
import type { EngineConfig, TunableSettings } from '../../engine/config.ts';
import { Status, type StoreOperation } from '../../engine/status.ts';
import {
  ENGINE_INTERFACE_VERSION,
  ItemMark,
  createItemInfo,
  itemInfoKey,
  itemInfoValue,
  type AddStat,
  type ArithmeticRequest,
  type ArithmeticResult,
  type CachedumpVisit,
  type CrawlTarget,
  type CreateInstance,
  type EngineHandle,
  type EngineInfo,
  type GetRequest,
  type GetServerApi,
  type ItemHandle,
  type ItemInfo,
  type MaybePromise,
  type ServerApi,
} from '../../engine/types.ts';
import { TsEngine } from '../ts/index.ts';
import { ITEM_DIR, ItemFiles, SyncPolicy, TEMP_SUFFIX, fileName } from './files.ts';
import { Loader } from './loader.ts';
import { DiskQueue, RECLAIMS_IN_FLIGHT, WRITES_IN_FLIGHT } from './queue.ts';
import { MARK_KEY_BINARY, MARK_STALE, MARK_WIN_SENT, decodeRecord, encodeRecord } from './record.ts';

const INFO: EngineInfo = {
  description: 'fs: the ts engine kept on disk, one file per item (memcached 1.6 model, persistent)',
  features: ['lru', 'cas', 'slabs', 'persistent'],
};

/**
 * CAS values are handed out below a ceiling kept in the meta file, raised this far ahead of the
 * counter, so a restarted engine never hands out a CAS a client may still hold.
 */
const CAS_WINDOW = 1n << 20n;

export const createInstance: CreateInstance = (interfaceVersion, getServerApi) => {
  if (interfaceVersion !== ENGINE_INTERFACE_VERSION) return Status.ENOTSUP;
  return new FsEngine(getServerApi);
};

/** flush_all's state in unix seconds (0: none), as the meta file keeps it. */
interface FlushMark {
  oldestLive: number;
  oldestCas: bigint;
}

interface State {
  readonly api: ServerApi;
  readonly files: ItemFiles;
  readonly queue: DiskQueue;
  /** Keys (latin1) whose file exists or is being written. */
  readonly onDisk: Set<string>;
  loader: Loader | null;
}

export class FsEngine implements EngineHandle {
  readonly interfaceVersion = ENGINE_INTERFACE_VERSION;
  private readonly memory: TsEngine;
  private state: State | null = null;
  private readonly info: ItemInfo = createItemInfo();
  private flushMark: FlushMark = { oldestLive: 0, oldestCas: 0n };
  /** The CAS ceiling asked for, and the one known to be on disk. */
  private casCeiling = 0n;
  private durableCeiling = 0n;
  /** Meta writes, one after another. */
  private metaChain: Promise<void> = Promise.resolve();
  private metaWrites = 0;
  /** Writes acknowledged since the last settled() (sync=batch, always): what it waits for. */
  private unsettled: Array<Promise<void>> = [];
  private destroying: Promise<void> | null = null;
  private readonly counts = { loaded: 0, removedAtLoad: 0, writeErrors: 0 };
  private readonly loggedErrors = new Set<string>();

  constructor(private readonly getServerApi: GetServerApi) {
    this.memory = new TsEngine(getServerApi);
  }

  getInfo(): EngineInfo {
    return INFO;
  }

  initialize(config: EngineConfig): Status {
    if (this.state !== null) throw new Error('fs engine: initialize called twice');
    const api = this.getServerApi();
    const cacheConfig = new Map(config);
    const dir = cacheConfig.get('dir');
    const sync = cacheConfig.get('sync') ?? SyncPolicy.BATCH;
    cacheConfig.delete('dir');
    cacheConfig.delete('sync');
    const problems: string[] = [];
    if (dir === undefined || dir === '') problems.push('engine config dir: required (the directory the items are kept in)');
    const policies: readonly string[] = Object.values(SyncPolicy);
    if (!policies.includes(sync)) problems.push(`engine config sync=${sync}: expected none, batch or always`);
    const status = this.memory.initialize(cacheConfig);
    if (problems.length > 0 || status !== Status.SUCCESS) {
      for (const message of problems) api.log('warning', message);
      if (status === Status.SUCCESS) this.memory.destroy();
      return status === Status.SUCCESS ? Status.EINVAL : status;
    }
    const files = new ItemFiles(dir!, sync as SyncPolicy);
    let hasItems: boolean;
    try {
      mkdirSync(files.dir, { recursive: true });
      this.readMeta(files, api);
      this.casCeiling = this.durableCeiling = this.memory.lastCas() + CAS_WINDOW;
      files.writeMetaSync(this.metaText());
      hasItems = readdirSync(files.dir).some((entry) => ITEM_DIR.test(entry) || entry.endsWith(TEMP_SUFFIX));
    } catch (error) {
      api.log('warning', `engine config dir=${dir}: cannot be used: ${describe(error)}`);
      this.memory.destroy();
      return Status.EINVAL;
    }
    const queue = new DiskQueue(
      (hashKey, reclaim) => this.syncFile(hashKey, reclaim),
      (error) => this.failed('write', error),
    );
    const state: State = { api, files, queue, onDisk: new Set(), loader: null };
    this.state = state;
    this.memory.watchUnlinks((key) => queue.drop(hashKeyOf(key)));
    if (hasItems) {
      const loader = new Loader(files, (name, bytes) => this.accept(name, bytes), (error) => this.failed('read', error));
      state.loader = loader;
      loader.done.then(
        () => {
          if (state.loader !== loader) return;
          state.loader = null;
          api.log(
            'info',
            `fs: loaded ${this.counts.loaded} items from ${files.dir}; removed ${this.counts.removedAtLoad} damaged, expired or flushed files and ${loader.tempsRemoved} temporary files`,
          );
        },
        (error: unknown) => {
          this.failed('scan', error);
          if (state.loader === loader) state.loader = null;
        },
      );
    }
    return Status.SUCCESS;
  }

  destroy(): MaybePromise<void> {
    const state = this.state;
    if (state === null) return undefined;
    if (this.destroying !== null) return this.destroying;
    const loader = state.loader;
    loader?.stop();
    const drained = state.queue.drained();
    if (loader === null && drained === undefined && this.metaWrites === 0) {
      this.finish();
      return undefined;
    }
    this.destroying = (async () => {
      if (loader !== null) await loader.done.catch(() => undefined);
      for (let more = state.queue.drained(); more !== undefined; more = state.queue.drained()) await more;
      await this.metaChain;
      this.finish();
    })();
    return this.destroying;
  }

  private finish(): void {
    this.memory.destroy();
    this.state = null;
  }

  // ---- the key's file, before and after an operation ----

  /** Runs `op` once the key's file (if any) is in the cache: at once unless still loading. */
  private whenResident<T>(key: Uint8Array, op: () => MaybePromise<T>): MaybePromise<T> {
    const loader = this.ready().loader;
    if (loader === null) return op();
    const loading = loader.fetch(fileName(key));
    return loading === undefined ? op() : loading.then(op);
  }

  /**
   * A client changed the key: the answer is given at once, and with sync=batch or always the
   * change joins what settled() waits for (the server holds the reply until then).
   */
  private changed<T>(key: Uint8Array, result: T): T {
    const { queue, files } = this.ready();
    this.raiseCeiling();
    if (files.policy === SyncPolicy.NONE) queue.change(hashKeyOf(key), false);
    else this.unsettled.push(queue.change(hashKeyOf(key), true));
    return result;
  }

  /** A change made on the side of another operation (vivify, setExptime, markItem). */
  private changedQuietly(key: Uint8Array): void {
    this.changed(key, undefined);
  }

  /** The queue's work for one key: the file made to match the cache. */
  private async syncFile(hashKey: string, reclaim: boolean): Promise<void> {
    const { files, onDisk } = this.ready();
    const key = Buffer.from(hashKey, 'latin1');
    const name = fileName(key);
    const handle = this.memory.peek(key);
    if (handle > 0) {
      if (reclaim) return;
      const info = this.info;
      this.memory.getItemInfo(handle, info, true);
      const core = this.ready().api.core;
      const marks = (info.stale ? MARK_STALE : 0) | (info.winSent ? MARK_WIN_SENT : 0) | (info.keyBinary ? MARK_KEY_BINARY : 0);
      const bytes = encodeRecord({
        key,
        value: itemInfoValue(info),
        flags: info.flags,
        marks,
        exptime: info.exptime === 0 ? 0 : core.abstime(info.exptime),
        time: core.abstime(info.time),
        cas: info.cas,
      });
      onDisk.add(hashKey);
      if (info.cas > this.durableCeiling) await this.metaChain;
      await files.write(name, bytes);
      return;
    }
    if (!onDisk.has(hashKey)) return;
    await files.remove(name);
    onDisk.delete(hashKey);
  }

  /** A file read at start-up (or on demand): its item into the cache, or the file removed. */
  private async accept(name: string, bytes: Uint8Array | undefined): Promise<void> {
    if (bytes === undefined) return;
    const { api, files, onDisk } = this.ready();
    const record = decodeRecord(bytes);
    let why: string | undefined;
    if (typeof record === 'string') why = record;
    else if (fileName(record.key) !== name) why = 'the key does not hash to the file name';
    if (why !== undefined) {
      api.log('warning', `fs: removing damaged item file ${files.path(name)}: ${why}`);
    } else if (typeof record !== 'string' && this.isLive(record.exptime, record.time, record.cas)) {
      const core = api.core;
      const exptime = record.exptime === 0 ? 0 : core.realtime(record.exptime);
      const status = this.memory.restoreItem(record.key, record.value, record.flags, exptime, record.cas, (record.marks & MARK_STALE) !== 0);
      if (status === Status.SUCCESS) {
        const marks = (record.marks & MARK_WIN_SENT ? ItemMark.WIN_SENT : 0) | (record.marks & MARK_KEY_BINARY ? ItemMark.KEY_BINARY : 0);
        if (marks !== 0) this.memory.markItem(this.memory.peek(record.key), marks);
        onDisk.add(hashKeyOf(record.key));
        this.counts.loaded += 1;
        return;
      }
      api.log('warning', `fs: item file ${files.path(name)} does not fit in the cache (${status === Status.E2BIG ? 'too large' : 'out of memory'}): removed`);
    }
    this.counts.removedAtLoad += 1;
    await files.remove(name);
  }

  /** Whether an item of these (unix) times is neither expired nor flushed now. */
  private isLive(exptime: number, time: number, cas: bigint): boolean {
    const core = this.ready().api.core;
    const now = core.abstime(core.currentTime());
    if (exptime !== 0 && exptime <= now) return false;
    const { oldestLive, oldestCas } = this.flushMark;
    if (oldestLive === 0 || oldestLive > now) return true;
    return !(time <= oldestLive || (oldestCas !== 0n && cas !== 0n && cas < oldestCas));
  }

  // ---- the meta file: CAS ceiling and flush_all's state ----

  private readMeta(files: ItemFiles, api: ServerApi): void {
    const text = files.readMetaSync();
    if (text === undefined) return;
    let ceiling = 0n;
    try {
      const meta = JSON.parse(text) as { casCeiling?: unknown; oldestLive?: unknown; oldestCas?: unknown };
      ceiling = BigInt(String(meta.casCeiling ?? '0'));
      this.flushMark = { oldestLive: Number(meta.oldestLive ?? 0), oldestCas: BigInt(String(meta.oldestCas ?? '0')) };
    } catch (error) {
      api.log('warning', `fs: ignoring a damaged meta file in ${files.dir}: ${describe(error)}`);
    }
    this.memory.raiseCas(ceiling);
    // A flush_all still to come is the cache's to apply; one already in effect is the loader's.
    const core = api.core;
    const { oldestLive, oldestCas } = this.flushMark;
    if (oldestLive !== 0 && oldestLive - core.processStarted() > core.currentTime()) {
      this.memory.restoreFlushState(oldestLive - core.processStarted(), oldestCas);
    }
  }

  private metaText(): string {
    return JSON.stringify({
      format: 1,
      casCeiling: String(this.casCeiling),
      oldestLive: this.flushMark.oldestLive,
      oldestCas: String(this.flushMark.oldestCas),
    });
  }

  /** Queues a write of the meta file as it is now; resolves once it is on disk. */
  private saveMeta(): Promise<void> {
    const { files } = this.ready();
    const ceiling = this.casCeiling;
    this.metaWrites += 1;
    this.metaChain = this.metaChain
      .then(() => files.writeMeta(this.metaText()))
      .then(
        () => {
          if (ceiling > this.durableCeiling) this.durableCeiling = ceiling;
        },
        (error: unknown) => this.failed('meta', error),
      )
      .finally(() => void (this.metaWrites -= 1));
    return this.metaChain;
  }

  private raiseCeiling(): void {
    const last = this.memory.lastCas();
    if (last + CAS_WINDOW / 2n <= this.casCeiling) return;
    this.casCeiling = last + CAS_WINDOW;
    void this.saveMeta();
  }

  private failed(what: string, error: unknown): void {
    const state = this.state;
    if (what === 'write') this.counts.writeErrors += 1;
    const message = `fs: ${what} failed: ${describe(error)}`;
    if (state === null || this.loggedErrors.has(message)) return;
    this.loggedErrors.add(message);
    state.api.log('warning', message);
  }

  // ---- the interface ----

  allocate(key: Uint8Array, nbytes: number, flags: number, exptime: number, operation: StoreOperation): MaybePromise<ItemHandle> {
    return this.whenResident(key, () => this.memory.allocate(key, nbytes, flags, exptime, operation));
  }

  itemValue(item: ItemHandle): Uint8Array {
    return this.memory.itemValue(item);
  }

  store(item: ItemHandle, operation: StoreOperation, cas: bigint, options?: number): MaybePromise<Status> {
    this.memory.getItemInfo(item, this.info);
    const key = itemInfoKey(this.info);
    return this.whenResident(key, () => {
      const status = this.memory.store(item, operation, cas, options);
      return status === Status.SUCCESS ? this.changed(key, status) : status;
    });
  }

  release(item: ItemHandle): void {
    this.memory.release(item);
  }

  get(key: Uint8Array, request?: GetRequest): MaybePromise<ItemHandle> {
    return this.whenResident(key, () => {
      const item = this.memory.get(key, request);
      if (request?.created === true) this.changedQuietly(key);
      return item;
    });
  }

  getAndTouch(key: Uint8Array, exptime: number): MaybePromise<ItemHandle> {
    return this.whenResident(key, () => {
      const item = this.memory.getAndTouch(key, exptime);
      return item > 0 ? this.changed(key, item) : item;
    });
  }

  touch(key: Uint8Array, exptime: number): MaybePromise<Status> {
    return this.whenResident(key, () => {
      const status = this.memory.touch(key, exptime);
      return status === Status.SUCCESS ? this.changed(key, status) : status;
    });
  }

  remove(key: Uint8Array, cas: bigint, options?: number, exptime?: number): MaybePromise<Status> {
    return this.whenResident(key, () => {
      const status = this.memory.remove(key, cas, options, exptime);
      if (status === Status.SUCCESS) return this.changed(key, status);
      // A miss whose file is still there (an evicted item not yet reclaimed) waits for it to go.
      const hashKey = hashKeyOf(key);
      const { onDisk, queue } = this.ready();
      if (status === Status.KEY_ENOENT && (onDisk.has(hashKey) || queue.pending(hashKey))) return this.changed(key, status);
      return status;
    });
  }

  arithmetic(key: Uint8Array, request: ArithmeticRequest, result: ArithmeticResult): MaybePromise<Status> {
    return this.whenResident(key, () => {
      const status = this.memory.arithmetic(key, request, result);
      return status === Status.SUCCESS ? this.changed(key, status) : status;
    });
  }

  flush(exptime: number): MaybePromise<Status> {
    const { api, onDisk, queue, files } = this.ready();
    const status = this.memory.flush(exptime);
    const { oldestLive, oldestCas } = this.memory.flushState();
    this.flushMark = { oldestLive: oldestLive === 0 ? 0 : api.core.abstime(oldestLive), oldestCas };
    const saved = this.saveMeta();
    // In effect now: every file goes (those of items stored since are rewritten, not removed).
    if (oldestLive !== 0 && oldestLive <= api.core.currentTime()) for (const hashKey of onDisk) queue.drop(hashKey);
    if (files.policy !== SyncPolicy.NONE) this.unsettled.push(saved);
    return status;
  }

  bump(item: ItemHandle): void {
    this.memory.bump(item);
  }

  setExptime(item: ItemHandle, exptime: number): void {
    this.memory.setExptime(item, exptime);
    this.changedIfLinked(item);
  }

  markItem(item: ItemHandle, marks: number): void {
    this.memory.markItem(item, marks);
    this.changedIfLinked(item);
  }

  /** A change to a held item reaches the file only when the item is the one in the cache. */
  private changedIfLinked(item: ItemHandle): void {
    this.memory.getItemInfo(item, this.info);
    const key = itemInfoKey(this.info);
    if (this.memory.peek(key) === item) this.changedQuietly(key);
  }

  getItemInfo(item: ItemHandle, info: ItemInfo, withCas?: boolean): void {
    this.memory.getItemInfo(item, info, withCas);
  }

  /** The ts engine's groups, and 'fs': the disk's side. */
  getStats(group: string, add: AddStat): Status {
    if (group !== 'fs') return this.memory.getStats(group, add);
    const { files, queue, onDisk, loader } = this.ready();
    add('fs_dir', files.dir);
    add('fs_sync', files.policy);
    add('fs_loading', loader === null ? '0' : '1');
    add('fs_loaded_items', String(this.counts.loaded));
    add('fs_load_removed', String(this.counts.removedAtLoad));
    add('fs_files', String(onDisk.size));
    add('fs_write_queue', String(queue.length));
    add('fs_reclaim_queue', String(queue.reclaimLength));
    add('fs_writes_in_flight_max', String(WRITES_IN_FLIGHT));
    add('fs_reclaims_in_flight_max', String(RECLAIMS_IN_FLIGHT));
    add('fs_file_passes', String(queue.completed));
    add('fs_write_errors', String(this.counts.writeErrors));
    return Status.SUCCESS;
  }

  resetStats(): void {
    this.memory.resetStats();
  }

  cachedump(clsid: number, limit: number, visit: CachedumpVisit): Status {
    return this.memory.cachedump(clsid, limit, visit);
  }

  /** The ts engine's crawler: an item it unlinks (autoexpire) has its file removed, as any unlink. */
  crawl(target: CrawlTarget, visit?: (item: ItemHandle) => void): Status {
    return this.memory.crawl(target, visit);
  }

  tune(change: Partial<TunableSettings>): Status {
    return this.memory.tune(change);
  }

  maintainLru(budget: number): number {
    return this.memory.maintainLru(budget);
  }

  /** Makes the keys' items resident: undefined when they are (always, once loading is done). */
  prefetch(keys: readonly Uint8Array[]): Promise<void> | undefined {
    const loader = this.ready().loader;
    if (loader === null) return undefined;
    let waits: Array<Promise<void>> | undefined;
    for (const key of keys) {
      const loading = loader.fetch(fileName(key));
      if (loading !== undefined) (waits ??= []).push(loading);
    }
    return waits === undefined ? undefined : Promise.all(waits).then(() => undefined);
  }

  /**
   * undefined when every change answered so far is on disk (always with sync=none), else a
   * Promise that resolves once the changes since the last call are: each change's own file (the
   * work is per batch of replies, not per queued file).
   */
  settled(): Promise<void> | undefined {
    if (this.ready().files.policy === SyncPolicy.NONE) return undefined;
    if (this.metaWrites > 0) this.unsettled.push(this.metaChain);
    if (this.unsettled.length === 0) return undefined;
    const waits = this.unsettled;
    this.unsettled = [];
    return Promise.all(waits).then(() => undefined);
  }

  /** Resolves once the background load has finished (tests; a server need not wait for it). */
  loaded(): Promise<void> {
    return this.ready().loader?.done.catch(() => undefined) ?? Promise.resolve();
  }

  /** Consistency check for tests (the harness calls it when present). */
  selfCheck(): void {
    if (this.state !== null) this.memory.selfCheck();
  }

  private ready(): State {
    if (this.state === null) throw new Error('fs engine: used before initialize');
    return this.state;
  }
}

/** A key as a latin1 string, one character a byte: the queue's and the file set's Map key. */
function hashKeyOf(key: Uint8Array): string {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
