/// <reference lib="dom" />
// The WASM engine as an in-process cache for browsers, Workers, edge runtimes and Node: the same
// engine the daemon serves with (memcached's slab classes, hash table, segmented LRU, lazy expiry
// and CAS), no server and no Node API. createCache is asynchronous (the module is compiled and
// instantiated off the main thread's synchronous path); every call after it is synchronous.

import { createClock } from '../engine/clock.ts';
import { memoryFileParts, readMemoryFile } from '../engine/memory-file.ts';
import { Status, StoreOperation, statusName } from '../engine/status.ts';
import { createItemInfo, itemInfoValue, type ArithmeticResult, type ServerApi } from '../engine/types.ts';
import { WasmEngine, engineImports, type MemoryHolder } from '../engines/wasm/engine.ts';

export interface CacheOptions {
  /** Bytes of item memory, like memcached's -m (default 64 MiB). */
  maxBytes?: number;
  /** The largest item, header included, like -I (default 1 MiB). */
  itemSizeMax?: number;
  /** Slab class growth factor, like -f (default 1.25). */
  growthFactor?: number;
  /** false: a full cache refuses new items instead of evicting old ones, like -M (default true). */
  evict?: boolean;
  /** The clock, in milliseconds (default Date.now); a frozen or manual clock for tests. */
  now?: () => number;
  /** A precompiled module (runtimes that forbid compiling at run time, e.g. Cloudflare Workers). */
  module?: WebAssembly.Module;
  /** The module's bytes, or a fetch Response for them. */
  wasm?: BufferSource | Response | Promise<Response>;
}

/** How set stores, as memcached's storage commands. */
export type SetMode = 'set' | 'add' | 'replace' | 'append' | 'prepend' | 'cas';

export interface SetOptions {
  /** Seconds to live (0: never expires); beyond 30 days, a unix time, as memcached reads exptime. */
  ttl?: number;
  /** The client flags kept with the value (u32). */
  flags?: number;
  mode?: SetMode;
  /** For mode 'cas': the CAS value getItem returned. */
  cas?: bigint;
}

/** An item as getItem gives it: a copy of the value and what is kept with it. */
export interface CacheItem {
  value: Uint8Array;
  flags: number;
  cas: bigint;
}

export type Key = string | Uint8Array;

export interface Cache {
  /** A copy of the value, or undefined on a miss (never a view into the cache's memory). */
  get(key: Key): Uint8Array | undefined;
  /** The value with its flags and CAS (for set with mode 'cas'), or undefined on a miss. */
  getItem(key: Key): CacheItem | undefined;
  /** Whether the value was stored (false: add on a live key, replace of a missing one, a CAS mismatch, too large). */
  set(key: Key, value: Key, options?: SetOptions): boolean;
  delete(key: Key): boolean;
  /** The new value, or undefined on a miss; throws a TypeError when the value is not a number. */
  incr(key: Key, delta?: number | bigint): bigint | undefined;
  decr(key: Key, delta?: number | bigint): bigint | undefined;
  /** Sets a live item's TTL (as set's ttl); false on a miss. */
  touch(key: Key, ttl: number): boolean;
  /** Invalidates every item (memcached's flush_all). */
  flush(): void;
  /** memcached's `stats` names for the cache: curr_items, bytes, evictions, get_hits, ... */
  stats(): Record<string, number>;
  /** The whole cache as bytes (the daemon's -e memory file format). */
  snapshot(): Uint8Array;
  /** Brings back what snapshot gave (same options); throws with the reason when it cannot. */
  restore(bytes: Uint8Array): void;
}

const MODES: Readonly<Record<SetMode, StoreOperation>> = {
  set: StoreOperation.SET,
  add: StoreOperation.ADD,
  replace: StoreOperation.REPLACE,
  append: StoreOperation.APPEND,
  prepend: StoreOperation.PREPEND,
  cas: StoreOperation.CAS,
};

const encoder = new TextEncoder();
/** Where string keys are encoded (longer than any key the engine takes: those fail as too long). */
const keyScratch = new Uint8Array(1024);

/** keyScratch's first n bytes: one view per length, made once, not one per call. */
const keyViews: Uint8Array[] = [];
const scratchKey = (n: number): Uint8Array => (keyViews[n] ??= keyScratch.subarray(0, n));

/** A key's bytes: a string encoded into the scratch (valid until the next call), bytes as they are. */
function keyOf(key: Key): Uint8Array {
  if (typeof key !== 'string') return key;
  const n = key.length;
  if (n <= 64) {
    // ASCII, the usual key, without the encoder's call.
    let i = 0;
    for (; i < n; i++) {
      const c = key.charCodeAt(i);
      if (c > 0x7f) break;
      keyScratch[i] = c;
    }
    if (i === n) return scratchKey(n);
  }
  const { read, written } = encoder.encodeInto(key, keyScratch);
  return read === n ? scratchKey(written) : encoder.encode(key);
}

const valueOf = (value: Key): Uint8Array => (typeof value === 'string' ? encoder.encode(value) : value);

/** Makes a cache; resolves once the module is compiled and instantiated. */
export async function createCache(options: CacheOptions = {}): Promise<Cache> {
  const module = options.module ?? (await compile(options.wasm));
  const now = options.now ?? Date.now;
  const core = createClock(() => now() / 1000);
  const warnings: string[] = [];
  const api: ServerApi = { core, log: (level, message) => void (level === 'warning' && warnings.push(message)) };
  const engine = new WasmEngine(() => api, () => module);
  const holder: MemoryHolder = {};
  const instance = await WebAssembly.instantiate(module, engineImports(holder));
  const config = new Map<string, string>([
    ['cache_size', String(options.maxBytes ?? 64 * 1024 * 1024)],
    ['item_size_max', String(options.itemSizeMax ?? 1024 * 1024)],
    ['factor', String(options.growthFactor ?? 1.25)],
    ['eviction', String(options.evict ?? true)],
  ]);
  const status = engine.initialize(config, { instance, memory: holder });
  if (status !== Status.SUCCESS) {
    const why = warnings.length > 0 ? warnings.join('; ') : statusName(status);
    throw new RangeError(`wasmcached: cannot make a cache with these options: ${why}`);
  }
  return new EmbeddedCache(engine, core);
}

/** The module found beside this file, compiled once for every cache made without module or wasm. */
let own: Promise<WebAssembly.Module> | undefined;

/** The module: precompiled, from bytes or a Response, or found beside this file. */
async function compile(wasm: CacheOptions['wasm']): Promise<WebAssembly.Module> {
  if (wasm === undefined) {
    own ??= ownWasm().then((found) => (found instanceof WebAssembly.Module ? found : compile(found)));
    // A failure is not kept: the next createCache looks again.
    return own.catch((error: unknown) => {
      own = undefined;
      throw error;
    });
  }
  const source = await wasm;
  if (typeof Response !== 'undefined' && source instanceof Response) {
    if (!source.ok) throw new Error(`wasmcached: fetching the wasm module failed (${source.status})`);
    return WebAssembly.compile(await source.arrayBuffer());
  }
  return WebAssembly.compile(source as BufferSource);
}

/**
 * release.wasm beside the bundle, or in build/ when running from source. From a file it is
 * compiled at once, synchronously: the runtimes with files (Node, Deno, Bun) allow it at any size,
 * and V8 then compiles each function when first called, on this thread, where WebAssembly.compile
 * has its worker threads compile them all at once, each touching a malloc arena of its own
 * (about 4 MB more RSS in Node 20 for this 13 KB module, measured). Fetched, it is compiled
 * asynchronously (a browser refuses to compile more than 4 KB synchronously on its main thread).
 */
async function ownWasm(): Promise<WebAssembly.Module | Response> {
  // Not every runtime gives a module its URL: workerd leaves it unset at compatibility dates before 2026-11-17.
  const here = import.meta.url as string | undefined;
  if (here === undefined) throw new Error('wasmcached: cannot find release.wasm: this runtime gives modules no URL (pass `module` or `wasm`)');
  const candidates = [new URL('./release.wasm', here), new URL('../../build/release.wasm', here)];
  if (candidates[0]!.protocol === 'file:') {
    const fs = await import('node:fs/promises');
    for (const url of candidates) {
      const bytes = await fs.readFile(url).catch(() => undefined);
      if (bytes !== undefined) return new WebAssembly.Module(bytes);
    }
    throw new Error('wasmcached: cannot find release.wasm beside the module (pass `module` or `wasm`)');
  }
  return fetch(candidates[0]!);
}

class EmbeddedCache implements Cache {
  private readonly info = createItemInfo();
  private readonly result: ArithmeticResult = { value: 0n, cas: 0n, item: 0, created: false };
  /** The command counters a memcached server keeps (the engine counts hits, misses and the rest). */
  private readonly counts = { cmd_get: 0, cmd_set: 0, cmd_touch: 0, cmd_flush: 0 };

  constructor(
    private readonly engine: WasmEngine,
    private readonly core: ReturnType<typeof createClock>,
  ) {}

  get(key: Key): Uint8Array | undefined {
    this.counts.cmd_get++;
    return this.engine.copyValue(keyOf(key));
  }

  getItem(key: Key): CacheItem | undefined {
    this.counts.cmd_get++;
    const item = this.engine.get(keyOf(key));
    if (item <= 0) return undefined;
    const info = this.info;
    this.engine.getItemInfo(item, info, true);
    const copy = { value: itemInfoValue(info).slice(), flags: info.flags, cas: info.cas };
    this.engine.release(item);
    return copy;
  }

  set(key: Key, value: Key, options: SetOptions = {}): boolean {
    const data = valueOf(value);
    this.counts.cmd_set++;
    const operation = MODES[options.mode ?? 'set'];
    if (operation === undefined) throw new TypeError(`wasmcached: unknown set mode ${String(options.mode)}`);
    const item = this.engine.allocate(keyOf(key), data.length, (options.flags ?? 0) >>> 0, options.ttl ?? 0, operation);
    if (item <= 0) return false;
    this.engine.itemValue(item).set(data);
    const status = this.engine.store(item, operation, options.cas ?? 0n);
    this.engine.release(item);
    return status === Status.SUCCESS;
  }

  delete(key: Key): boolean {
    return this.engine.remove(keyOf(key), 0n) === Status.SUCCESS;
  }

  incr(key: Key, delta: number | bigint = 1n): bigint | undefined {
    return this.arithmetic(key, true, delta);
  }

  decr(key: Key, delta: number | bigint = 1n): bigint | undefined {
    return this.arithmetic(key, false, delta);
  }

  private arithmetic(key: Key, incr: boolean, delta: number | bigint): bigint | undefined {
    const request = { incr, delta: BigInt.asUintN(64, BigInt(delta)), create: false, initial: 0n, exptime: 0, cas: 0n, hold: false };
    const status = this.engine.arithmetic(keyOf(key), request, this.result);
    if (status === Status.SUCCESS) return this.result.value;
    if (status === Status.KEY_ENOENT) return undefined;
    if (status === Status.EINVAL) throw new TypeError('wasmcached: cannot increment or decrement a non-numeric value');
    throw new RangeError(`wasmcached: ${incr ? 'incr' : 'decr'} failed (${statusName(status)})`);
  }

  touch(key: Key, ttl: number): boolean {
    this.counts.cmd_touch++;
    return this.engine.touch(keyOf(key), ttl) === Status.SUCCESS;
  }

  flush(): void {
    this.counts.cmd_flush++;
    this.engine.flush(0);
  }

  stats(): Record<string, number> {
    const out: Record<string, number> = {};
    const add = (key: string, value: string): void => {
      const n = Number(value);
      if (value !== '' && Number.isFinite(n)) out[key] = n;
    };
    this.engine.getStats('', add);
    return { ...out, ...this.counts };
  }

  snapshot(): Uint8Array {
    const parts = memoryFileParts(
      { engine: 'wasm', processStarted: this.core.processStarted(), savedAt: Math.floor(this.core.abstime(this.core.currentTime())) },
      this.engine.snapshot(),
    );
    const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
    let at = 0;
    for (const part of parts) {
      out.set(part, at);
      at += part.length;
    }
    return out;
  }

  restore(bytes: Uint8Array): void {
    const file = readMemoryFile(bytes);
    if (typeof file === 'string') throw new Error(`wasmcached: cannot restore: ${file}`);
    if (file.header.engine !== 'wasm') throw new Error(`wasmcached: cannot restore: the snapshot is of engine ${file.header.engine}`);
    const why = this.engine.restore(file.image);
    if (why !== undefined) throw new Error(`wasmcached: cannot restore: ${why}`);
    this.core.continueFrom(file.header.processStarted);
  }
}
