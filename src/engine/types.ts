// The engine interface: memcached's ENGINE_HANDLE_V1 (engine.h, 2009) rendered in TypeScript.
// This file is all a third party needs to write an engine: export `createInstance` from a
// module, return an EngineHandle, and start the server with `-E path/to/module.js`.
//
// The server talks to storage only through this interface. Its contract, in short:
//
//  * Lifecycle. `createInstance(interfaceVersion, getServerApi)` returns a handle, or
//    Status.ENOTSUP for an interface version it does not speak. The server then calls
//    `initialize(config)` once (config is the parsed 'key=value;...' string, already merged with
//    what -m -M -f -n -I -C imply; an engine must reject keys it does not know with EINVAL and a
//    log line), and `destroy()` at shutdown.
//  * Items are numbers. An operation that yields an item returns a positive integer handle of
//    the engine's choosing; one that fails returns the negated Status (so a miss is
//    -Status.KEY_ENOENT). The caller owns a reference to every item it receives and gives it back
//    with `release(item)`; until then the item's bytes stay valid even if the key is replaced,
//    deleted or evicted meanwhile (memcached's refcount).
//  * Storing is two steps, as in memcached: `allocate()` an item of the value's size, write the
//    value bytes into `itemValue(item)`, then `store(item, operation, cas)` links it.
//  * Time. Engines never read the wall clock: `getServerApi().core` gives memcached's relative
//    seconds and converts protocol exptimes (0 never; up to 30 days relative; larger is absolute
//    unix time; negative or past means already expired). Tests move a manual clock.
//  * Keys are Uint8Arrays (any view; the engine copies what it keeps). Values are bytes and
//    never include the protocol's trailing CRLF.
//  * Any operation may return a Promise (engines that do I/O); the in-memory engines answer
//    synchronously, and callers test `typeof result === 'number'` before awaiting.
//  * Expected outcomes are status codes, never exceptions. An exception is a broken invariant.

import type { ServerCore } from './clock.ts';
import type { EngineConfig } from './config.ts';
import type { Status, StoreOperation } from './status.ts';

export const ENGINE_INTERFACE_VERSION = 1;

export type MaybePromise<T> = T | Promise<T>;

/** A positive item handle, or a negated Status when negative. */
export type ItemHandle = number;

export function isItem(result: ItemHandle): boolean {
  return result > 0;
}

/**
 * What `getItemInfo` fills: cf. engine.h's item_info. Reuse one object across calls: filling it
 * allocates nothing (the key and value are given as a buffer and a range, not as new views), so
 * the read path of a server or an embedding stays free of garbage.
 */
export interface ItemInfo {
  /** 0 when CAS is disabled (-C); filled only when `getItemInfo` is asked for it. */
  cas: bigint;
  /** rel time at which the item expires; 0 never. */
  exptime: number;
  /** rel time of the last access that counted (memcached's it->time). */
  time: number;
  /** The client's 32-bit opaque flags. */
  flags: number;
  /** Slab class the item lives in (its first chunk, for chained items). */
  clsid: number;
  /** Whether the item was read since it was stored (memcached's ITEM_FETCHED). */
  fetched: boolean;
  /** The key is keyBytes[keyOffset, keyOffset + nkey): valid until the item is released. */
  keyBytes: Uint8Array;
  keyOffset: number;
  nkey: number;
  /** The value (no CRLF) is valueBytes[valueOffset, valueOffset + nvalue): valid until release. */
  valueBytes: Uint8Array;
  valueOffset: number;
  nvalue: number;
}

export function createItemInfo(): ItemInfo {
  const empty = new Uint8Array(0);
  return {
    cas: 0n,
    exptime: 0,
    time: 0,
    flags: 0,
    clsid: 0,
    fetched: false,
    keyBytes: empty,
    keyOffset: 0,
    nkey: 0,
    valueBytes: empty,
    valueOffset: 0,
    nvalue: 0,
  };
}

/** The key of a filled ItemInfo as a view (allocates: not for hot paths). */
export function itemInfoKey(info: ItemInfo): Uint8Array {
  return info.keyBytes.subarray(info.keyOffset, info.keyOffset + info.nkey);
}

/** The value of a filled ItemInfo as a view (allocates: not for hot paths). */
export function itemInfoValue(info: ItemInfo): Uint8Array {
  return info.valueBytes.subarray(info.valueOffset, info.valueOffset + info.nvalue);
}

/** Arguments of `arithmetic`: incr/decr with the binary and meta protocols' extras. */
export interface ArithmeticRequest {
  incr: boolean;
  /** u64 delta. */
  delta: bigint;
  /** Create the item with `initial` when it is missing (binary incr/decr, meta 'N'). */
  create: boolean;
  initial: bigint;
  /** Protocol exptime for a created item. */
  exptime: number;
  /** Compare-and-swap: when non-zero, the item's CAS must equal it (meta 'C'). */
  cas: bigint;
}

/** Results of a successful `arithmetic`. */
export interface ArithmeticResult {
  value: bigint;
  cas: bigint;
}

export function createArithmeticRequest(): ArithmeticRequest {
  return { incr: true, delta: 1n, create: false, initial: 0n, exptime: 0, cas: 0n };
}

export function createArithmeticResult(): ArithmeticResult {
  return { value: 0n, cas: 0n };
}

/** Receives one statistic; cf. ADD_STAT. */
export type AddStat = (key: string, value: string) => void;

export interface EngineInfo {
  description: string;
  /** Free-form feature words, e.g. 'lru', 'persistent', 'cas'. */
  features: readonly string[];
}

export type LogLevel = 'warning' | 'info' | 'debug';

/** What the server hands every engine; cf. SERVER_HANDLE_V1. */
export interface ServerApi {
  readonly core: ServerCore;
  /** memcached's -v levels: warning at -v, info at -vv, debug at -vvv. */
  log(level: LogLevel, message: string): void;
}

export type GetServerApi = () => ServerApi;

export interface EngineHandle {
  readonly interfaceVersion: number;
  getInfo(): EngineInfo;
  initialize(config: EngineConfig): MaybePromise<Status>;
  destroy(): MaybePromise<void>;

  /**
   * An unlinked item for `key` with room for `nbytes` of value. Fails with E2BIG when it
   * cannot fit in the item size limit, ENOMEM when no memory can be found or freed.
   * `exptime` is the protocol's exptime; `flags` a u32; `operation` the store that will follow
   * (when a SET cannot allocate, the engine unlinks the old value, as memcached does).
   */
  allocate(
    key: Uint8Array,
    nbytes: number,
    flags: number,
    exptime: number,
    operation: StoreOperation,
  ): MaybePromise<ItemHandle>;
  /** The writable value bytes of an item from `allocate` (valid until store or release). */
  itemValue(item: ItemHandle): Uint8Array;
  /**
   * Links an allocated item. SUCCESS, NOT_STORED (add on a live key; replace, append, prepend
   * on a missing one, or append/prepend growing past the limit or out of memory, as memcached
   * 1.6 answers), KEY_EEXISTS (cas mismatch), KEY_ENOENT (cas on a missing key).
   * `cas` is compared for CAS, and for APPEND/PREPEND when non-zero. On success the item's new
   * CAS is readable through getItemInfo until release.
   */
  store(item: ItemHandle, operation: StoreOperation, cas: bigint): MaybePromise<Status>;
  /** Gives back a reference obtained from allocate, get or getAndTouch. */
  release(item: ItemHandle): void;

  /** A live item, or -KEY_ENOENT. Lazy expiry and flush are applied here. */
  get(key: Uint8Array): MaybePromise<ItemHandle>;
  /** get, then set the exptime; -KEY_ENOENT on a miss. */
  getAndTouch(key: Uint8Array, exptime: number): MaybePromise<ItemHandle>;
  /** Sets a live item's exptime: SUCCESS or KEY_ENOENT. */
  touch(key: Uint8Array, exptime: number): MaybePromise<Status>;
  /** Removes an item; with a non-zero `cas` only if it matches (else KEY_EEXISTS). */
  remove(key: Uint8Array, cas: bigint): MaybePromise<Status>;
  /**
   * incr/decr on the item's value as an unsigned 64-bit decimal: incr wraps at 2^64, decr
   * floors at 0. KEY_ENOENT on a miss (unless create), EINVAL when the value is not a number,
   * KEY_EEXISTS on a cas mismatch, ENOMEM when a longer result needs memory that is not there.
   */
  arithmetic(key: Uint8Array, request: ArithmeticRequest, result: ArithmeticResult): MaybePromise<Status>;
  /**
   * Invalidates every item now (`exptime` 0) or at a protocol exptime, with memcached's
   * oldest_live rule: items last stored or accessed up to that second are gone from then on.
   */
  flush(exptime: number): MaybePromise<Status>;

  /**
   * Fills `info` for an item the caller holds; `info.cas` only when `withCas` (reading a u64
   * makes a BigInt, which a plain get does not need).
   */
  getItemInfo(item: ItemHandle, info: ItemInfo, withCas?: boolean): void;

  /**
   * Statistics of a group: '' (general), 'settings', 'items', 'slabs', 'sizes'. ENOTSUP for a
   * group the engine does not know.
   */
  getStats(group: string, add: AddStat): MaybePromise<Status>;
  resetStats(): void;
}

/** The export an engine module provides (memcached's create_instance). */
export type CreateInstance = (interfaceVersion: number, getServerApi: GetServerApi) => EngineHandle | Status;
