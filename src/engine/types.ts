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
//  * The meta commands (protocol.txt "Meta Commands") need a little more: `get` options (no
//    bump, vivify), `bump`, `setExptime` and `markItem` on a held item, remove and store
//    options for invalidation, and the stale, win-sent and binary-key marks in ItemInfo.

import type { ServerCore } from './clock.ts';
import type { EngineConfig, TunableSettings } from './config.ts';
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
  /** memcached's ITEM_ntotal: the bytes the item is accounted for (header, key, value...). */
  ntotal: number;
  /** Marked stale by a meta invalidation (memcached's ITEM_STALE): md I, or ms I with an old CAS. */
  stale: boolean;
  /** A client was handed the win to recache it (memcached's ITEM_TOKEN_SENT): mg W. */
  winSent: boolean;
  /** Its key was given base64-encoded (memcached's ITEM_KEY_BINARY): meta replies encode it. */
  keyBinary: boolean;
  /** The key is keyBytes[keyOffset, keyOffset + nkey): valid until the item is released. */
  keyBytes: Uint8Array;
  keyOffset: number;
  nkey: number;
  /** The value (no CRLF) is valueBytes[valueOffset, valueOffset + nvalue): valid until release. */
  valueBytes: Uint8Array;
  valueOffset: number;
  nvalue: number;
  /**
   * How many bytes just after the value, in valueBytes, are the item's own room that the client
   * storing it (the allocate, fill, store sequence) may write: a text set's line end is read
   * there with its value, as memcached reads the data and its CRLF into the item together, and
   * a byte of what follows when the room has it (the server parses it from there at once). The
   * engine keeps nothing there that a store needs: an item with anything but CRLF there is
   * released, not stored. 0 when there is no such room.
   */
  valueRoom: number;
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
    ntotal: 0,
    stale: false,
    winSent: false,
    keyBinary: false,
    keyBytes: empty,
    keyOffset: 0,
    nkey: 0,
    valueBytes: empty,
    valueOffset: 0,
    nvalue: 0,
    valueRoom: 0,
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

/** The most keys one getMany call takes. */
export const GET_MANY_MAX = 32;

/**
 * getMany's answer: for the i-th key asked, MANY_STRIDE numbers at `table[base + i * MANY_STRIDE]`,
 * read with the Many offsets. The engine owns it (one object, refilled by every call), and an
 * unheld value or text answer in `bytes` is valid until the caller next calls into the engine,
 * other than getItemInfo and release (the server sends a reply that is text answers alone from
 * there, so they must not change before then).
 */
export interface ManyAnswer {
  readonly table: Uint32Array;
  readonly base: number;
  /** The bytes Many.VALUE, Many.KEY and Many.TEXT_END offsets point into. */
  readonly bytes: Uint8Array;
  /** The same bytes as a DataView (offsets alike), for short copies word by word. */
  readonly view: DataView;
  /**
   * Where in `bytes` the text answers start, when the engine writes them (getMany's `text`);
   * -1 or absent when it never does.
   */
  readonly text?: number;
}

/** A ManyAnswer over `table` (from `base`) and `bytes`, with a DataView of the same bytes. */
export function manyAnswer(table: Uint32Array, bytes: Uint8Array, base = 0, text = -1): ManyAnswer {
  return { table, base, bytes, view: new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), text };
}

/** Offsets into a key's numbers in a ManyAnswer. */
export const Many = {
  /** An unheld hit's key: bytes[KEY, KEY + the key's length). */
  KEY: 0,
  /** The item, 0 on a miss. */
  ITEM: 1,
  /** How the key was answered: a ManyState. */
  HELD: 2,
  FLAGS: 3,
  VALUE: 4,
  NVALUE: 5,
  /** The CAS as two u32 (0 with CAS off). */
  CAS_LOW: 6,
  CAS_HIGH: 7,
  /**
   * With text answers: where in `bytes` the text stands after this key's. A key not WRITTEN
   * added nothing, so the text before it ends here too.
   */
  TEXT_END: 8,
} as const;
export const MANY_STRIDE = 10;

/** Many.HELD's values. */
export const ManyState = {
  /** Not held: a hit's value is bytes[VALUE, VALUE + NVALUE); or a miss. */
  IN_TABLE: 0,
  /** The item is held (its value is long or not in one piece): read it with getItemInfo and release it. */
  HELD: 1,
  /** The key's whole answer is in the text (a hit not held, or a miss with END_EACH). */
  WRITTEN: 2,
} as const;

/**
 * getMany's `text` bits: also write each key's answer as the text protocol's retrieval reply
 * (protocol.txt, "Retrieval command"), in order, while the engine's room for it lasts. The
 * engine has the item's bytes at hand, so the multi-key get, the hot path of a text server,
 * makes no per-key call or copy on the host's side.
 */
export const ManyText = {
  /** "VALUE <key> <flags> <bytes>\r\n<data>\r\n" for a hit not held. */
  VALUES: 1,
  /** " <cas unique>" before the VALUE line's CRLF (gets). */
  CAS: 2,
  /** "END\r\n" after every key, hit or miss (pipelined one-key gets). */
  END_EACH: 4,
} as const;

/** How a `get` counts in the stats (memcached counts these in the protocol layer, per command). */
export const GetCount = {
  /** A hit: get_hits and hits_to_<segment>; a miss: get_misses (get, mg). */
  GET: 0,
  /** A hit: touch_hits; a miss: get_misses. memcached's mg with T counts so (gat: getAndTouch). */
  TOUCH: 1,
  /** Nothing (me); lazy expiry still counts get_expired and get_flushed. */
  NONE: 2,
} as const;
export type GetCount = (typeof GetCount)[keyof typeof GetCount];

/**
 * The meta get's options of `get` (mg u T N, me); cf. process_mget_command. Reuse one object:
 * `get` writes only `created`.
 */
export interface GetRequest {
  /**
   * Bump the item as a hit does (memcached's do_item_bump: fetched, then active, and a COLD item
   * moves to WARM). false for mg u and me, and for mg h and l, which read the marks first and
   * then call `bump`.
   */
  bump: boolean;
  count: GetCount;
  /**
   * On a miss, link a new empty item for the key (flags 0, exptime 0, no cmd_set) and return it
   * as a hit (mg N, "vivify"); when it cannot be allocated, the get is a miss.
   */
  vivify: boolean;
  /** Set by `get`: whether it made the item it returned (vivify). */
  created: boolean;
}

/**
 * References gets may hold on one item at once: memcached's IT_REFCOUNT_LIMIT (60000), which
 * counts the hash table's link too. Beyond it a get lets the item go (see EngineHandle.get).
 */
export const HOLD_MAX = 59999;

export function createGetRequest(): GetRequest {
  return { bump: true, count: GetCount.GET, vivify: false, created: false };
}

/** Marks `markItem` sets on an item (memcached it_flags the meta commands set). */
export const ItemMark = {
  /** A client has been handed the win token (ITEM_TOKEN_SENT): later mg see Z, not W. */
  WIN_SENT: 1,
  /** The key was given base64-encoded (ITEM_KEY_BINARY): mg k and me encode it back. */
  KEY_BINARY: 2,
} as const;

/** Options of `remove` (bits): the meta delete's forms (md C, I, T). */
export const RemoveOption = {
  /** Compare `cas` even when it is 0, and count a mismatch in delete_misses (md C). */
  COMPARE_CAS: 1,
  /**
   * Do not remove: mark the item stale, clear its win mark and give it a new CAS (md I). Counts
   * no delete_hits.
   */
  INVALIDATE: 2,
  /** With INVALIDATE, also set the exptime to `remove`'s `exptime` (md I T). */
  SET_EXPTIME: 4,
} as const;

/** Options of `store` (bits). */
export const StoreOption = {
  /**
   * With CAS: a non-zero `cas` lower than the item's still stores, and the new item is stale
   * with the old one's exptime and win mark; cas_hits counts it (ms I with C).
   */
  INVALIDATE: 1,
} as const;

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
  /**
   * Hand the item that holds the result to the caller (`result.item`, to be released), as
   * memcached's do_add_delta does for ma, which then reads and sets its TTL (t, T, N).
   */
  hold: boolean;
}

/** Results of `arithmetic`. */
export interface ArithmeticResult {
  /** On success: the new value and the CAS of the item that holds it. */
  value: bigint;
  cas: bigint;
  /** With `hold`, on success: that item, held for the caller; else 0. */
  item: ItemHandle;
  /**
   * Whether the key was missing and `create` made the item (also set when making it failed
   * with ENOMEM, so the two out-of-memory cases can be told apart).
   */
  created: boolean;
}

export function createArithmeticRequest(): ArithmeticRequest {
  return { incr: true, delta: 1n, create: false, initial: 0n, exptime: 0, cas: 0n, hold: false };
}

export function createArithmeticResult(): ArithmeticResult {
  return { value: 0n, cas: 0n, item: 0, created: false };
}

/** Receives one statistic; cf. ADD_STAT. */
export type AddStat = (key: string, value: string) => void;

/**
 * Receives one item of `cachedump`: its key (a view valid during the call only), its value's
 * length in bytes, and its exptime (rel time; 0 never). Returns false to stop the walk.
 */
export type CachedumpVisit = (key: Uint8Array, nbytes: number, exptime: number) => boolean;

/** What `crawl` walks: slab class ids, or the hash table (metadump's `hash`). */
export type CrawlTarget = readonly number[] | 'hash';

/** The LRU segments in the order memcached numbers its LRU ids (HOT_LRU 0, WARM_LRU 64, COLD_LRU 128). */
const CRAWL_SEGMENTS = [0, 1, 2] as const;

/**
 * memcached's LRU crawler order: a crawler starts at the oldest end of each LRU it is given and
 * all of them step together, one item each in turn, in LRU id order (the HOT LRU of each class by
 * class id, then the WARM ones, then the COLD ones), an LRU dropping out once its newest item is
 * passed. `oldest(clsid, segment)` gives an LRU's oldest item and `newer` the next one towards
 * its newest (`none` at the end); `newer` is read before `visit`, which may unlink the item.
 */
export function crawlInTurns<I>(
  classes: readonly number[],
  none: I,
  oldest: (clsid: number, segment: number) => I,
  newer: (item: I) => I,
  visit: (item: I) => void,
): void {
  const cursors: I[] = [];
  for (const segment of CRAWL_SEGMENTS) for (const clsid of classes) cursors.push(oldest(clsid, segment));
  for (let active = cursors.filter((c) => c !== none).length; active > 0; ) {
    for (let i = 0; i < cursors.length; i++) {
      const item = cursors[i]!;
      if (item === none) continue;
      const next = newer(item);
      cursors[i] = next;
      if (next === none) active--;
      visit(item);
    }
  }
}

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
  /**
   * The writable value bytes of an item from `allocate` (valid until store or release).
   * getItemInfo on such an item gives the same bytes as a range (valueBytes, valueOffset, nvalue),
   * which a caller may fill instead, with no view made.
   */
  itemValue(item: ItemHandle): Uint8Array;
  /**
   * Links an allocated item. SUCCESS, NOT_STORED (add on a live key; replace, append, prepend
   * on a missing one, or append/prepend growing past the limit or out of memory, as memcached
   * 1.6 answers), KEY_EEXISTS (cas mismatch), KEY_ENOENT (cas on a missing key).
   * `cas` is compared for CAS (0, or anything with CAS off, never matches: memcached's
   * CAS_NONE), and for APPEND/PREPEND when non-zero and CAS is on. On success the item's new
   * CAS is readable through getItemInfo until release. `options`: StoreOption bits (ms I).
   */
  store(item: ItemHandle, operation: StoreOperation, cas: bigint, options?: number): MaybePromise<Status>;
  /** Gives back a reference obtained from allocate, get, getAndTouch or arithmetic's hold. */
  release(item: ItemHandle): void;

  /**
   * A live item, or -KEY_ENOENT. Lazy expiry and flush are applied here. Without `request` a hit
   * is bumped and counted as a get; a request gives the meta get's choices (GetRequest). An item
   * already held HOLD_MAX times is let go (memcached's limited_get): a miss without `request`,
   * counted as one; -TMPFAIL with one, counted as nothing. getAndTouch and getMany's held hits
   * take the same limit, as misses.
   */
  get(key: Uint8Array, request?: GetRequest): MaybePromise<ItemHandle>;
  /** get, then set the exptime; -KEY_ENOENT on a miss. */
  getAndTouch(key: Uint8Array, exptime: number): MaybePromise<ItemHandle>;
  /** Sets a live item's exptime: SUCCESS or KEY_ENOENT. */
  touch(key: Uint8Array, exptime: number): MaybePromise<Status>;
  /**
   * Removes an item; with a non-zero `cas` only if it matches (else KEY_EEXISTS). `options`
   * (RemoveOption bits) give the meta delete's forms; `exptime` is for SET_EXPTIME.
   */
  remove(key: Uint8Array, cas: bigint, options?: number, exptime?: number): MaybePromise<Status>;
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
   * do_item_bump on an item the caller holds (what a hit's `get` does; mg calls it after reading
   * the hit marks for h and l). Nothing for an item no longer linked.
   */
  bump(item: ItemHandle): void;
  /** Sets the exptime (a protocol exptime, as touch) of an item the caller holds (mg and ma T, N). */
  setExptime(item: ItemHandle, exptime: number): void;
  /** Adds ItemMark bits to an item the caller holds (mg W; ms b, before store). */
  markItem(item: ItemHandle, marks: number): void;

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

  /**
   * Optional, the text get of several keys in one call: keys[from, from + count) (count at most
   * GET_MANY_MAX) each as `get(key)` without a request (counted, bumped), in order, but an item is
   * held only when its value is at least `holdMin` bytes long or the engine cannot hand it out as
   * one piece (ManyState.HELD). Keys the engine cannot hold (empty, too long) are misses not
   * counted, as get answers them. With `text` (ManyText bits) an engine whose answer has a `text`
   * offset also writes the keys' text answers there (ManyState.WRITTEN, Many.TEXT_END).
   */
  getMany?(keys: readonly Uint8Array[], from: number, count: number, holdMin: number, text?: number): ManyAnswer;

  /**
   * Optional: `stats cachedump <clsid> <limit>` (cf. memcached's item_cachedump). Visits the
   * items of slab class `clsid`'s COLD LRU, newest first, at most `limit` of them (0: all), until
   * `visit` returns false; expired and flushed items that are still linked are visited too, as
   * memcached lists them. A class id the engine does not have visits nothing. An engine with
   * segments may first do for the class what memcached's LRU maintainer would have done by now
   * (docs/engine-model.md, "cachedump"). Without this method the server lists no items.
   * The formatting and memcached's 2 MB reply cap are the server's.
   */
  cachedump?(clsid: number, limit: number, visit: CachedumpVisit): MaybePromise<Status>;

  /**
   * Optional: memcached's LRU crawler, run to its end at once. `classes` is slab class ids in
   * ascending order (ids the engine does not have hold nothing), walked in crawlInTurns' order, or
   * 'hash': the hash table bucket by bucket, each chain from its head. Each class walked is first
   * given what memcached's LRU maintainer would have done by now, as for cachedump. With `visit`
   * (metadump): every item not expired or flushed is visited, and nothing changes. Without
   * (autoexpire, `lru_crawler crawl`): the expired and flushed items not in use are unlinked, an
   * item expired unfetched counted as the maintainer counts it. Without this method the server
   * lists no items.
   */
  crawl?(target: CrawlTarget, visit?: (item: ItemHandle) => void): MaybePromise<Status>;

  /**
   * Optional: changes settings while the engine runs, as memcached's `lru tune`, `lru mode` and
   * `cache_memlimit` change its settings; `stats settings` shows the new values. LRU changes
   * apply from the next operation on (`lru mode flat` drains HOT and WARM into COLD as the
   * maintainer juggles). A smaller cache_size hands out no more pages past it; pages in use stay
   * (memcached moves them only with its slab mover). A larger one may not exceed the memory the
   * engine laid out at initialize. EINVAL, and nothing changed, when a value is out of bounds.
   * Without this method the server answers those commands as failed.
   */
  tune?(change: Partial<TunableSettings>): Status;

  /**
   * Optional: what memcached's LRU maintainer thread does in the background, in bounded steps.
   * Does up to `budget` (>= 1) rounds of work that change something, continuing from where the
   * last call stopped; a slab engine juggles class after class (docs/engine-model.md, "The
   * maintainer in the background"), reclaiming the flushed and expired items it finds at the LRU
   * tails, so that `curr_items` and `bytes` fall without a client touching the keys. Returns the
   * rounds done: fewer than `budget` exactly when everything has settled (the next call starts
   * over). The server calls it from a timer, between requests, never inside one; without this
   * method nothing happens in the background.
   */
  maintainLru?(budget: number): number;

  /**
   * Optional, for engines that keep items off memory (on disk): makes the items of these keys
   * resident. Returns undefined when they already are (the usual case; nothing is allocated), or
   * a Promise that resolves once they are; from then until the event loop's next turn, operations
   * on those keys answer synchronously. The server calls it before every command that names keys,
   * and while the Promise is pending that connection waits and every other is served.
   */
  prefetch?(keys: readonly Uint8Array[]): Promise<void> | undefined;

  /**
   * Optional, for engines whose writes become durable after the operation returns: undefined when
   * everything done so far is durable, else a Promise that resolves once it is. The server holds
   * a batch of replies until then, so an acknowledgement means the write is kept.
   */
  settled?(): Promise<void> | undefined;

  /**
   * Optional: the engine's whole state as bytes, for warm restarts (-e) and embedded snapshots
   * (cf. memcached's restart.c memory file). Returns parts to be written in order; they are views
   * valid until the next call into the engine. The server calls it once it has stopped serving.
   */
  snapshot?(): Uint8Array[];

  /**
   * Optional: brings back what `snapshot` gave, on an engine just initialized with the same
   * config and not yet serving, with the server's clock already continuing the image's (time
   * spent down counts). Returns undefined when restored, or why the image cannot be used (a
   * different build or settings, damage); the engine is then as initialized: a cold start.
   */
  restore?(image: Uint8Array): string | undefined;
}

/** The export an engine module provides (memcached's create_instance). */
export type CreateInstance = (interfaceVersion: number, getServerApi: GetServerApi) => EngineHandle | Status;
