// Test harness for engines: one engine instance with a manual clock and a log sink, and small
// synchronous conveniences over the two-step store, item handles and stats. Also the model's
// arithmetic (slab class table, ntotal) that tests use to derive expected values from the rules
// in docs/engine-model.md.
import { Buffer } from 'node:buffer';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createManualClock } from '../../src/engine/clock.ts';
import type { ManualClock } from '../../src/engine/clock.ts';
import { parseEngineConfig } from '../../src/engine/config.ts';
import { Status, StoreOperation, statusName } from '../../src/engine/status.ts';
import {
  ENGINE_INTERFACE_VERSION,
  createArithmeticRequest,
  createArithmeticResult,
  createItemInfo,
  itemInfoKey,
  itemInfoValue,
} from '../../src/engine/types.ts';
import type {
  CreateInstance,
  EngineHandle,
  ItemHandle,
  ItemInfo,
  LogLevel,
  MaybePromise,
  ServerApi,
} from '../../src/engine/types.ts';

export type EngineName = 'ts' | 'wasm' | 'fs';
export type ConfigInput = string | Readonly<Record<string, string | number | boolean>>;
export type Bytes = string | Uint8Array;
export type StatList = Array<[string, string]>;

export interface LogLine {
  level: LogLevel;
  message: string;
}

/** A copy of what getItemInfo reported, safe to keep after release. */
export interface ItemView {
  key: string;
  /** The value decoded as latin1, so that every byte maps to one character. */
  value: string;
  bytes: Uint8Array;
  flags: number;
  cas: bigint;
  exptime: number;
  time: number;
  clsid: number;
  fetched: boolean;
}

export interface StoreOptions {
  flags?: number;
  exptime?: number;
  op?: StoreOperation;
  cas?: bigint;
}

export interface StoreResult {
  status: Status;
  /** The stored item's CAS on success, else 0. */
  cas: bigint;
}

export interface ArithmeticOptions {
  create?: boolean;
  initial?: bigint;
  exptime?: number;
  cas?: bigint;
}

export interface ArithmeticOutcome {
  status: Status;
  value: bigint;
  cas: bigint;
}

/** The debug hook of the wasm engine: throws when its structures are inconsistent. */
interface SelfCheckable {
  selfCheck?: () => void;
}

export const DEFAULT_CLOCK_START = 1_700_000_000;

const modules = new Map<EngineName, Promise<CreateInstance>>();

/** The engine module's createInstance export, loaded once per engine. */
export function loadEngine(name: EngineName): Promise<CreateInstance> {
  let loading = modules.get(name);
  if (loading === undefined) {
    const path = `../../src/engines/${name}/index.ts`;
    loading = (import(path) as Promise<{ createInstance?: unknown }>).then((mod) => {
      if (typeof mod.createInstance !== 'function') {
        throw new Error(`engine '${name}' (${path}) does not export createInstance`);
      }
      return mod.createInstance as CreateInstance;
    });
    modules.set(name, loading);
  }
  return loading;
}

/** Merges config inputs, later ones winning, into the Map that initialize() takes. */
export function toConfig(...inputs: ConfigInput[]): Map<string, string> {
  const config = new Map<string, string>();
  for (const input of inputs) {
    const entries = typeof input === 'string' ? parseEngineConfig(input) : Object.entries(input);
    for (const [key, value] of entries) config.set(key, String(value));
  }
  return config;
}

export function toBytes(data: Bytes): Uint8Array {
  return typeof data === 'string' ? Buffer.from(data, 'latin1') : data;
}

export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function isPromise(value: unknown): value is Promise<unknown> {
  return (
    value instanceof Promise ||
    (typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function')
  );
}

/** Harnesses opened since the last closeAll(): the contract runs selfCheck and destroy on them. */
const open: EngineHarness[] = [];

/**
 * Engines that keep files (fs) get a fresh directory each, removed once their destroy() is done;
 * a persistent engine's destroy may wait for its writes (a Promise), which the harness lets finish
 * in the background. `settleAll()` waits for those.
 */
const finishing: Array<Promise<void>> = [];

export async function settleAll(): Promise<void> {
  while (finishing.length > 0) await Promise.all(finishing.splice(0));
}

export interface OpenOptions {
  clockStart?: number;
  /** Config applied under the test's own (e.g. wasm_build=debug for the wasm engine). */
  baseConfig?: ConfigInput;
}

/** Creates an engine, without initializing it. */
export async function createEngine(name: EngineName, options: OpenOptions = {}): Promise<EngineHarness> {
  const createInstance = await loadEngine(name);
  const harness = new EngineHarness(name, createInstance, options);
  open.push(harness);
  return harness;
}

/** Creates and initializes an engine; throws (with the engine's log) unless initialize succeeds. */
export async function openEngine(
  name: EngineName,
  config: ConfigInput = {},
  options: OpenOptions = {},
): Promise<EngineHarness> {
  const harness = await createEngine(name, options);
  const status = harness.initialize(config);
  if (status !== Status.SUCCESS) {
    throw new Error(
      `${name}: initialize(${harness.configText}) = ${statusName(status)}; log:\n` +
        harness.logs.map((line) => `  [${line.level}] ${line.message}`).join('\n'),
    );
  }
  return harness;
}

/**
 * Runs selfCheck() on every harness opened since the last call (when the engine has it), then
 * destroys them. Throws the first selfCheck failure, after every harness was destroyed.
 */
export function closeAll(selfCheck = true): void {
  const harnesses = open.splice(0);
  let failure: unknown;
  for (const harness of harnesses) {
    if (!harness.initialized) {
      harness.removeDir();
      continue;
    }
    if (selfCheck && failure === undefined) {
      try {
        harness.selfCheck();
      } catch (error) {
        failure = error;
      }
    }
    try {
      harness.destroy();
    } catch {
      // destroy after a failed test is best effort
    }
  }
  if (failure !== undefined) throw failure;
}

export class EngineHarness {
  readonly clock: ManualClock;
  readonly logs: LogLine[] = [];
  readonly engine: EngineHandle & SelfCheckable;
  /** The server API handed to the engine: the manual clock and the log sink. */
  readonly api: ServerApi;
  configText = '';
  /** The fs engine's directory (a fresh temporary one), removed after destroy(). */
  readonly dir: string | undefined;
  /** initialize() answered SUCCESS: only then are selfCheck and destroy meaningful. */
  initialized = false;
  private destroyed = false;
  private readonly info: ItemInfo = createItemInfo();

  constructor(
    readonly name: EngineName,
    readonly createInstance: CreateInstance,
    private readonly options: OpenOptions,
  ) {
    this.clock = createManualClock(options.clockStart ?? DEFAULT_CLOCK_START);
    this.dir = name === 'fs' ? mkdtempSync(join(tmpdir(), 'wasmcached-fs-')) : undefined;
    const logs = this.logs;
    this.api = { core: this.clock, log: (level, message) => void logs.push({ level, message }) };
    const handle = createInstance(ENGINE_INTERFACE_VERSION, () => this.api);
    if (typeof handle === 'number') {
      throw new Error(`${name}: createInstance(${ENGINE_INTERFACE_VERSION}) = ${statusName(handle)}`);
    }
    this.engine = handle;
  }

  /** Asserts that an engine answered synchronously, as the in-memory engines must. */
  sync<T>(result: MaybePromise<T>, what: string): T {
    if (isPromise(result)) {
      // Keep an unexpected rejection from surfacing as an unhandled one.
      void result.catch(() => undefined);
      throw new Error(`${this.name}: ${what} returned a Promise; in-memory engines answer synchronously`);
    }
    return result;
  }

  initialize(config: ConfigInput = {}): Status {
    const merged = toConfig(this.dir === undefined ? {} : { dir: this.dir }, this.options.baseConfig ?? {}, config);
    this.configText = [...merged].map(([k, v]) => `${k}=${v}`).join(';');
    const status = this.sync(this.engine.initialize(merged), 'initialize');
    this.initialized = status === Status.SUCCESS;
    return status;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    if (this.dir === undefined) {
      this.sync(this.engine.destroy(), 'destroy');
      return;
    }
    // A persistent engine finishes its writes first; the directory goes after.
    const done = this.engine.destroy();
    if (isPromise(done)) finishing.push(Promise.resolve(done).finally(() => this.removeDir()));
    else this.removeDir();
  }

  /** Removes the engine's directory (fs), if it has one. */
  removeDir(): void {
    if (this.dir !== undefined) rmSync(this.dir, { recursive: true, force: true });
  }

  selfCheck(): void {
    if (typeof this.engine.selfCheck === 'function') this.engine.selfCheck();
  }

  hasSelfCheck(): boolean {
    return typeof this.engine.selfCheck === 'function';
  }

  /** Seconds since the (back-dated) process start: memcached's current_time. */
  now(): number {
    return this.clock.currentTime();
  }

  advance(seconds: number): void {
    this.clock.advance(seconds);
  }

  logMessages(level?: LogLevel): string[] {
    return this.logs.filter((line) => level === undefined || line.level === level).map((line) => line.message);
  }

  // ---- items ----

  /** Raw allocate: a positive handle or a negated Status. */
  allocate(key: Bytes, nbytes: number, flags = 0, exptime = 0, op: StoreOperation = StoreOperation.SET): ItemHandle {
    const item = this.sync(this.engine.allocate(toBytes(key), nbytes, flags, exptime, op), 'allocate');
    this.checkHandle(item, 'allocate');
    if (item > 0) {
      const dest = this.engine.itemValue(item);
      if (dest.length !== nbytes) {
        throw new Error(`${this.name}: itemValue() has ${dest.length} bytes for an item of nbytes ${nbytes}`);
      }
    }
    return item;
  }

  /** allocate + write + store + release, returning the status and the stored item's CAS. */
  store(key: Bytes, value: Bytes, options: StoreOptions = {}): StoreResult {
    const op = options.op ?? StoreOperation.SET;
    const bytes = toBytes(value);
    const item = this.allocate(key, bytes.length, options.flags ?? 0, options.exptime ?? 0, op);
    if (item < 0) return { status: -item as Status, cas: 0n };
    this.engine.itemValue(item).set(bytes);
    const status = this.sync(this.engine.store(item, op, options.cas ?? 0n), 'store');
    let cas = 0n;
    if (status === Status.SUCCESS) {
      this.engine.getItemInfo(item, this.info, true);
      cas = this.info.cas;
    }
    this.engine.release(item);
    return { status, cas };
  }

  set(key: Bytes, value: Bytes, options: StoreOptions = {}): Status {
    return this.store(key, value, options).status;
  }

  /** get: a copy of the item (the reference is released), or undefined on a miss. */
  get(key: Bytes): ItemView | undefined {
    const item = this.hold(key);
    if (item === undefined) return undefined;
    const view = this.view(item);
    this.release(item);
    return view;
  }

  /** get without releasing: the caller owns the reference. */
  hold(key: Bytes): ItemHandle | undefined {
    return this.itemOrMiss(this.sync(this.engine.get(toBytes(key)), 'get'), 'get');
  }

  gat(key: Bytes, exptime: number): ItemView | undefined {
    const item = this.itemOrMiss(this.sync(this.engine.getAndTouch(toBytes(key), exptime), 'getAndTouch'), 'getAndTouch');
    if (item === undefined) return undefined;
    const view = this.view(item);
    this.release(item);
    return view;
  }

  touch(key: Bytes, exptime: number): Status {
    return this.sync(this.engine.touch(toBytes(key), exptime), 'touch');
  }

  remove(key: Bytes, cas = 0n): Status {
    return this.sync(this.engine.remove(toBytes(key), cas), 'remove');
  }

  arithmetic(key: Bytes, incr: boolean, delta: bigint, options: ArithmeticOptions = {}): ArithmeticOutcome {
    const request = createArithmeticRequest();
    request.incr = incr;
    request.delta = delta;
    request.create = options.create ?? false;
    request.initial = options.initial ?? 0n;
    request.exptime = options.exptime ?? 0;
    request.cas = options.cas ?? 0n;
    const result = createArithmeticResult();
    const status = this.sync(this.engine.arithmetic(toBytes(key), request, result), 'arithmetic');
    return status === Status.SUCCESS ? { status, value: result.value, cas: result.cas } : { status, value: 0n, cas: 0n };
  }

  incr(key: Bytes, delta: bigint | number, options: ArithmeticOptions = {}): ArithmeticOutcome {
    return this.arithmetic(key, true, BigInt(delta), options);
  }

  decr(key: Bytes, delta: bigint | number, options: ArithmeticOptions = {}): ArithmeticOutcome {
    return this.arithmetic(key, false, BigInt(delta), options);
  }

  flush(exptime = 0): Status {
    return this.sync(this.engine.flush(exptime), 'flush');
  }

  release(item: ItemHandle): void {
    this.engine.release(item);
  }

  /** A copy of an item the caller holds. */
  view(item: ItemHandle): ItemView {
    return itemView(this.engine, item);
  }

  // ---- stats ----

  /** The stats of a group in the engine's order; throws unless the group is known. */
  stats(group = ''): StatList {
    const list: StatList = [];
    const status = this.sync(this.engine.getStats(group, (key, value) => void list.push([key, value])), `getStats('${group}')`);
    if (status !== Status.SUCCESS) throw new Error(`${this.name}: getStats('${group}') = ${statusName(status)}`);
    return list;
  }

  statsStatus(group: string): Status {
    return this.sync(this.engine.getStats(group, () => undefined), `getStats('${group}')`);
  }

  statMap(group = ''): Map<string, string> {
    return new Map(this.stats(group));
  }

  /** One statistic as a number; throws when the group lacks it. */
  stat(key: string, group = ''): number {
    const value = this.statMap(group).get(key);
    if (value === undefined) throw new Error(`${this.name}: stats '${group}' has no '${key}'`);
    return Number(value);
  }

  /** A per-class statistic from 'items' or 'slabs' ('items:3:evicted' / '3:used_chunks'); 0 if absent. */
  classStat(group: 'items' | 'slabs', clsid: number, key: string): number {
    const name = group === 'items' ? `items:${clsid}:${key}` : `${clsid}:${key}`;
    return Number(this.statMap(group).get(name) ?? 0);
  }

  resetStats(): void {
    this.engine.resetStats();
  }

  private itemOrMiss(item: ItemHandle, what: string): ItemHandle | undefined {
    this.checkHandle(item, what);
    if (item > 0) return item;
    if (item === -Status.KEY_ENOENT) return undefined;
    throw new Error(`${this.name}: ${what} returned ${statusName(-item)}; expected an item or KEY_ENOENT`);
  }

  private checkHandle(item: ItemHandle, what: string): void {
    if (!Number.isInteger(item) || item === 0) {
      throw new Error(`${this.name}: ${what} returned ${String(item)}; expected a positive item or a negated Status`);
    }
  }
}

// ---- the model's arithmetic (docs/engine-model.md), for expected values ----

export interface SlabClass {
  id: number;
  size: number;
  perslab: number;
}

export interface SlabSettings {
  factor: number;
  chunkSize: number;
  slabPageSize: number;
  slabChunkMax: number;
}

export const MIB = 1024 * 1024;
export const DEFAULT_SLAB_SETTINGS: SlabSettings = {
  factor: 1.25,
  chunkSize: 48,
  slabPageSize: MIB,
  slabChunkMax: MIB / 2,
};

/** slabs_init: the class table. Index 0 is class 1. */
export function modelSlabClasses(settings: SlabSettings = DEFAULT_SLAB_SETTINGS): SlabClass[] {
  const classes: SlabClass[] = [];
  let size = 48 + settings.chunkSize;
  let id = 1;
  for (; id <= 62; id++) {
    if (size >= settings.slabChunkMax / settings.factor) break;
    if (size % 8 !== 0) size += 8 - (size % 8);
    classes.push({ id, size, perslab: Math.floor(settings.slabPageSize / size) });
    size = Math.floor(size * settings.factor);
  }
  classes.push({ id, size: settings.slabChunkMax, perslab: Math.floor(settings.slabPageSize / settings.slabChunkMax) });
  return classes;
}

/** memcached -vv's line for one class (slabs.c: "slab class %3d: chunk size %9u perslab %7u"). */
export function slabClassLine(cls: SlabClass): string {
  return `slab class ${String(cls.id).padStart(3)}: chunk size ${String(cls.size).padStart(9)} perslab ${String(cls.perslab).padStart(7)}`;
}

/** ITEM_ntotal: header, optional CAS, key and its NUL, optional flags, value and CRLF. */
export function modelNtotal(nkey: number, nbytes: number, flags: number, useCas = true): number {
  return 48 + (useCas ? 8 : 0) + nkey + 1 + (flags !== 0 ? 4 : 0) + nbytes + 2;
}

/** The class an item of `ntotal` lives in (the largest for chained items). */
export function modelClassFor(classes: SlabClass[], ntotal: number): SlabClass {
  return classes.find((cls) => cls.size >= ntotal) ?? classes[classes.length - 1]!;
}

/** Chunks a chained item takes (all of the largest class); 1 for a single-chunk item. */
export function modelChunks(ntotal: number, slabChunkMax: number): number {
  if (ntotal <= slabChunkMax) return 1;
  return 1 + Math.ceil((ntotal - slabChunkMax) / (slabChunkMax - 8));
}

// ---- engines that answer with Promises (fs with sync=batch or always, or keys still on disk) ----

/** An engine created and initialized with a given server API (e.g. a clock shared across restarts). */
export async function openAsync(name: EngineName, api: ServerApi, config: ConfigInput): Promise<EngineHandle> {
  const createInstance = await loadEngine(name);
  const engine = createInstance(ENGINE_INTERFACE_VERSION, () => api);
  if (typeof engine === 'number') throw new Error(`${name}: createInstance = ${statusName(engine)}`);
  const status = await engine.initialize(toConfig(config));
  if (status !== Status.SUCCESS) throw new Error(`${name}: initialize(${JSON.stringify(config)}) = ${statusName(status)}`);
  return engine;
}

/** allocate + write + store + release, awaiting whatever the engine returns. */
export async function storeAsync(engine: EngineHandle, key: Bytes, value: Bytes, options: StoreOptions = {}): Promise<StoreResult> {
  const op = options.op ?? StoreOperation.SET;
  const bytes = toBytes(value);
  const item = await engine.allocate(toBytes(key), bytes.length, options.flags ?? 0, options.exptime ?? 0, op);
  if (item < 0) return { status: -item as Status, cas: 0n };
  engine.itemValue(item).set(bytes);
  const status = await engine.store(item, op, options.cas ?? 0n);
  const info = createItemInfo();
  if (status === Status.SUCCESS) engine.getItemInfo(item, info, true);
  engine.release(item);
  // Acknowledged as the server acknowledges: once the engine says the write is kept.
  await engine.settled?.();
  return { status, cas: status === Status.SUCCESS ? info.cas : 0n };
}

/** get, awaited: a copy of the item (released), or undefined on a miss. */
export async function getAsync(engine: EngineHandle, key: Bytes): Promise<ItemView | undefined> {
  const item = await engine.get(toBytes(key));
  if (item === -Status.KEY_ENOENT) return undefined;
  if (item < 0) throw new Error(`get returned ${statusName(-item)}`);
  const view = itemView(engine, item);
  engine.release(item);
  return view;
}

/** One stats group as a Map, awaited. */
export async function statsAsync(engine: EngineHandle, group = ''): Promise<Map<string, string>> {
  const stats = new Map<string, string>();
  const status = await engine.getStats(group, (key, value) => void stats.set(key, value));
  if (status !== Status.SUCCESS) throw new Error(`getStats('${group}') = ${statusName(status)}`);
  return stats;
}

/** A copy of an item the caller holds. */
function itemView(engine: EngineHandle, item: ItemHandle): ItemView {
  const info = createItemInfo();
  engine.getItemInfo(item, info, true);
  const bytes = Uint8Array.from(itemInfoValue(info));
  return {
    key: latin1(itemInfoKey(info)),
    value: latin1(bytes),
    bytes,
    flags: info.flags,
    cas: info.cas,
    exptime: info.exptime,
    time: info.time,
    clsid: info.clsid,
    fetched: info.fetched,
  };
}
