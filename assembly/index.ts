// The WASM engine's exports, and nothing else: a table of contents of the engine. The host
// (src/engines/wasm/) writes a key into the scratch area, calls an export with i32s, and reads
// u64 results from the scratch slots or item fields from the item header (layout.ts).

import {
  CLASS_SIZE, CL_NFREE, CL_PAGES, CL_PERSLAB, CL_SIZE, COLD_LRU, IO_CAS_IN, IO_CREATED, IO_DELTA,
  IO_INITIAL, IO_ITEM, IO_KEY, ITEM_KEY_BINARY, ITEM_LINKED, ITEM_STALE, ITEM_TOKEN_SENT,
  MAX_CLASSES, SCRATCH_SIZE, IO_MANY, IO_MANY_KEYS, IO_TEXT, ITEM_CHAINED, KEY_MAX, MANY_CAS, MANY_FLAGS, MANY_HELD,
  MANY_HELD_ITEM, MANY_IN_TABLE, MANY_TEXT_CAS, MANY_TEXT_END, MANY_TEXT_END_EACH, MANY_WRITTEN, TEXT_SIZE,
  MANY_ITEM, MANY_KEY, MANY_KEY_STRIDE, MANY_NKEY, MANY_NVALUE, MANY_RECORD, MANY_VALUE, itClientFlags, itData, itKey, itNbytes, SEG_BYTES, SEG_COUNT, SEG_HEAD, SEG_TAIL, classRec, itNext, itCas, itClsid, itFlags,
  itHas, itLru, itSetCas, itSetFlags, itTime, scratch, segRec, setCurrentTime, setRegions,
  setLruTuning, setSettings, currentTime, IT_EXPTIME, IT_HNEXT, IT_REFCOUNT, ITEM_FETCHED, itPrev, itRefcount, sizesHist,
} from './layout';
import { hashKey } from './hash';
import { assocBucketHead, assocCount, assocFirst, assocInit, assocRegionBytes, assocStateLoad, assocStateSave, expanding, hashItems, hashpower } from './assoc';
import { arithCreated, arithItem, decimalAt, itemArith } from './arith';
import {
  KEY_EEXISTS, KEY_ENOENT, SUCCESS, TMPFAIL, dataSeg, itHoldable, itemAlloc, itemAllocFailed, itemBump, itemDeref,
  itemFind, itemFindHashed, itemFlush, itemHold, itemLink, itemStore, itemUnlink, nextCas, segAvail, allocFailure,
  isFlushed, itemsReset, itemsStateLoad, itemsStateSave, oldestLive,
} from './items';
import { lruCheck, lruMaintainReset, lruMaintainStep, lruMaintainerJuggle, lruStateLoad, lruStateSave } from './lru';
import { pagesTotal, pagesUsed, powerLargest, slabsCheck, slabsEnd, slabsInit, slabsSetLimit, slabsStateLoad, slabsStateSave } from './slabs';
import {
  CS_DELETE_HITS, CS_EXPIRED_UNFETCHED, CS_GET_HITS, CS_HITS_TO_HOT, CS_TOUCH_HITS, GS_CURR_ITEMS, GS_DELETE_MISSES,
  GS_GET_MISSES, GS_TOUCH_MISSES, STATS_BYTES, classStat, countClass, countGlobal, globalStat,
  statsReset,
} from './stats';

// itemGet options (GetRequest in src/engine/types.ts, as bits).
export const GET_NO_BUMP: u32 = 1; // leave the hit marks and the LRU alone (mg u, h, l; me)
export const GET_COUNT_TOUCH: u32 = 2; // a hit counts touch_hits (mg T)
export const GET_COUNT_NONE: u32 = 4; // count no hit or miss (me)
export const GET_VIVIFY: u32 = 8; // on a miss, link an empty item and return it (mg N)
export const GET_NO_HOLD: u32 = 16; // the caller reads the item before any other call: no reference taken
export const GET_META: u32 = 32; // a meta get: an item held too often is an error (-TMPFAIL), not a miss
// itemRemove options (RemoveOption in src/engine/types.ts).
export const REMOVE_COMPARE_CAS: u32 = 1; // compare even a 0 CAS; a mismatch counts delete_misses
export const REMOVE_INVALIDATE: u32 = 2; // mark stale with a new CAS instead of removing (md I)
export const REMOVE_SET_EXPTIME: u32 = 4; // with INVALIDATE, set the exptime too (md I T)
// itemMark bits (ItemMark in src/engine/types.ts).
export const MARK_WIN_SENT: u32 = 1;
export const MARK_KEY_BINARY: u32 = 2;

const WASM_PAGE: u64 = 65536;
const MEMORY_MAX: u64 = 65536 * WASM_PAGE;

/** Errors of engineInit (negative returns). */
export const INIT_NO_MEMORY: i32 = -1;

/**
 * Lays out linear memory for `pages` slab pages and the tables that serve them, growing memory
 * once. Returns the number of slab classes, or a negative INIT_* error.
 */
export function engineInit(
  pages: u32, pageSize: u32, chunkSize: u32, factor: f64, itemSizeMax: u32, chunkMax: u32,
  useCas: i32, evict: i32, power: u32, hotPct: u32, warmPct: u32, trackSizes: i32,
): i32 {
  setSettings(useCas != 0, evict != 0, itemSizeMax, chunkMax, pageSize, hotPct, warmPct, trackSizes != 0);
  const base = (<usize>__heap_base + 63) & ~63;
  const classesAt = base + SCRATCH_SIZE;
  const statsAt = classesAt + MAX_CLASSES * CLASS_SIZE;
  const sizesAt = statsAt + STATS_BYTES;
  const sizesBytes: usize = trackSizes != 0 ? <usize>(((itemSizeMax >>> 5) + 2) << 2) : 0;
  const hashAt = (sizesAt + sizesBytes + 63) & ~63;
  // Classes first: the most items memory can hold sizes the hash table. The class table does
  // not depend on where the hash tables and pages go, so it is built once, here.
  setRegions(base, classesAt, statsAt, sizesAt, 0, 0);
  if (!memoryEnsure(<u64>hashAt)) return INIT_NO_MEMORY;
  const nclasses = slabsInit(chunkSize, factor, pages);
  const maxItems = <u64>pages * <u64>load<u32>(classRec(1), CL_PERSLAB);
  let maxP = power;
  while (maxP < 30 && ((<u64>1 << maxP) * 3) / 2 < maxItems) maxP++;
  const pagesAt = (hashAt + assocRegionBytes(maxP) + 4095) & ~4095;
  const end = <u64>pagesAt + <u64>pagesTotal * <u64>pageSize;
  if (end > MEMORY_MAX || !memoryEnsure(end)) return INIT_NO_MEMORY;
  setRegions(base, classesAt, statsAt, sizesAt, hashAt, pagesAt);
  assocInit(power, maxP);
  itemsReset();
  lruMaintainReset();
  return <i32>nclasses;
}

function memoryEnsure(end: u64): bool {
  const have = <u64>memory.size() * WASM_PAGE;
  if (end <= have) return true;
  const more = <i32>((end - have + WASM_PAGE - 1) / WASM_PAGE);
  return memory.grow(more) >= 0;
}

/** Start of the scratch area: the key at IO_KEY, u64 slots after it (layout.ts). */
export function engineScratch(): usize {
  return scratch;
}

export function clockSet(now: u32): void {
  setCurrentTime(now);
}

@inline function key(): usize {
  return scratch + IO_KEY;
}

// Items cross the boundary as handles: the offset / 8 (chunks are 8-aligned), so a handle is
// a positive i32 anywhere in 4 GiB and negative returns stay free for statuses.
@inline function handle(it: usize): i32 {
  return <i32>(it >>> 3);
}

@inline function itemAt(h: u32): usize {
  return <usize>h << 3;
}

/**
 * get: the held item, or -KEY_ENOENT. `options` are GET_* bits; with GET_VIVIFY, IO_CREATED says
 * whether the item was made here.
 */
export function itemGet(nkey: u32, options: u32): i32 {
  let it = itemFind(key(), nkey);
  let created = false;
  if (it == 0 && (options & GET_VIVIFY) != 0) {
    // process_mget_command's vivify: an empty item, linked without a store (no cmd_set). The
    // allocation's reference is the caller's.
    it = itemAlloc(key(), nkey, 0, 0, 0);
    if (it != 0) {
      itemLink(it);
      created = true;
    }
  }
  store<u32>(scratch + IO_CREATED, created ? 1 : 0);
  if (it == 0) {
    if ((options & GET_COUNT_NONE) == 0) countGlobal(GS_GET_MISSES);
    return -KEY_ENOENT;
  }
  if (!created && (options & GET_NO_HOLD) == 0 && !itHoldable(it)) {
    // limited_get: fetched (and bumped), then let go. A plain get counts a miss; a meta get
    // counts nothing and is told (SERVER_ERROR refcount overflow during fetch).
    if ((options & GET_NO_BUMP) == 0) itemBump(it);
    if ((options & GET_META) != 0) return -TMPFAIL;
    countGlobal(GS_GET_MISSES);
    return -KEY_ENOENT;
  }
  const cls = itClsid(it);
  if ((options & (GET_COUNT_TOUCH | GET_COUNT_NONE)) == 0) {
    countClass(cls, CS_HITS_TO_HOT + itLru(it));
    countClass(cls, CS_GET_HITS);
  } else if ((options & GET_COUNT_TOUCH) != 0) {
    countClass(cls, CS_TOUCH_HITS);
  }
  if ((options & GET_NO_BUMP) == 0) itemBump(it);
  if (!created && (options & GET_NO_HOLD) == 0) itemHold(it);
  return handle(it);
}

/** Where itemGetMany's first pass leaves what it read, so that no optimizer drops the reads. */
let manyTouched: u32 = 0;

/** The most a hit's text answer takes beyond its key and value: "VALUE", flags, length and CAS, CRLFs, END (stored as 8 bytes). */
const TEXT_EXTRA: u32 = 6 + 1 + 10 + 1 + 10 + 1 + 20 + 2 + 2 + 8;
const END_CRLF: u64 = 0x0a0d444e45; // "END\r\n", little-endian

/**
 * get of `n` (at most MANY_MAX) keys at once, for the text get of several keys: each key as
 * itemGet(nkey, 0) counts and bumps it, in order, but no reference is taken unless the value is
 * at least `holdMin` bytes long or chained (MANY_HELD_ITEM). The keys and the answers are in the
 * IO_MANY records (layout.ts); an unheld value is valid until the next export that can allocate.
 * With MANY_TEXT in `text`, each key's answer is also written as the text protocol's, in order
 * from IO_TEXT, while it fits (MANY_WRITTEN; MANY_TEXT_END says where the text then stands).
 */
export function itemGetMany(n: u32, holdMin: u32, text: u32): void {
  // First every key's hash and the head of its chain (kept in MANY_ITEM), so that the cache misses
  // of all the keys overlap; then the lookups, which find them in cache.
  let touched: u32 = 0;
  for (let i: u32 = 0; i < n; i++) {
    const rec = scratch + IO_MANY + i * MANY_RECORD;
    const nkey = load<u32>(rec, MANY_NKEY);
    if (nkey == 0 || nkey > KEY_MAX) continue;
    const hv = hashKey(scratch + IO_MANY_KEYS + i * MANY_KEY_STRIDE, nkey);
    store<u32>(rec, hv, MANY_ITEM);
    touched ^= assocFirst(hv);
  }
  manyTouched = touched;
  let at = scratch + IO_TEXT;
  const textEnd = at + TEXT_SIZE;
  const endEach = (text & MANY_TEXT_END_EACH) != 0;
  for (let i: u32 = 0; i < n; i++) {
    const rec = scratch + IO_MANY + i * MANY_RECORD;
    const nkey = load<u32>(rec, MANY_NKEY);
    const it: usize = nkey == 0 || nkey > KEY_MAX ? <usize>0 : itemFindHashed(scratch + IO_MANY_KEYS + i * MANY_KEY_STRIDE, nkey, load<u32>(rec, MANY_ITEM));
    let held = false;
    let nvalue: u32 = 0;
    let miss = it == 0;
    if (miss) {
      // A key the host could not pass (empty, too long) is not looked up and not counted.
      if (nkey != 0) countGlobal(GS_GET_MISSES);
    } else {
      nvalue = itNbytes(it) - 2;
      held = nvalue >= holdMin || itHas(it, ITEM_CHAINED);
      if (held && !itHoldable(it)) {
        // limited_get: fetched, then let go as a miss (see itemGet).
        itemBump(it);
        countGlobal(GS_GET_MISSES);
        miss = true;
      }
    }
    if (miss) {
      store<u32>(rec, 0, MANY_ITEM);
      store<u32>(rec, MANY_IN_TABLE, MANY_HELD);
      if (endEach && at + 8 <= textEnd) {
        at = endLine(at);
        store<u32>(rec, MANY_WRITTEN, MANY_HELD);
      }
      store<u32>(rec, <u32>at, MANY_TEXT_END);
      continue;
    }
    const cls = itClsid(it);
    countClass(cls, CS_HITS_TO_HOT + itLru(it));
    countClass(cls, CS_GET_HITS);
    itemBump(it);
    if (held) itemHold(it);
    store<u32>(rec, handle(it), MANY_ITEM);
    store<u32>(rec, held ? MANY_HELD_ITEM : MANY_IN_TABLE, MANY_HELD);
    store<u32>(rec, itClientFlags(it), MANY_FLAGS);
    store<u32>(rec, <u32>itData(it), MANY_VALUE);
    store<u32>(rec, <u32>itKey(it), MANY_KEY);
    store<u32>(rec, nvalue, MANY_NVALUE);
    store<u64>(rec, itCas(it), MANY_CAS);
    if (text != 0 && !held && <u64>at + <u64>nkey + <u64>nvalue + <u64>TEXT_EXTRA <= <u64>textEnd) {
      at = valueBlock(at, it, nkey, nvalue, (text & MANY_TEXT_CAS) != 0);
      if (endEach) at = endLine(at);
      store<u32>(rec, MANY_WRITTEN, MANY_HELD);
    }
    store<u32>(rec, <u32>at, MANY_TEXT_END);
  }
}

/** Writes "END\r\n" at `at` (8 bytes stored: the room must allow for them); returns its end. */
@inline function endLine(at: usize): usize {
  store<u64>(at, END_CRLF);
  return at + 5;
}

/** Writes an unchained item's "VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n" at `at`; returns its end. */
function valueBlock(at: usize, it: usize, nkey: u32, nvalue: u32, withCas: bool): usize {
  store<u32>(at, 0x554c4156); // "VALU"
  store<u16>(at, 0x2045, 4); // "E "
  memory.copy(at + 6, itKey(it), nkey);
  let p = at + 6 + nkey;
  store<u8>(p++, 0x20);
  p = decimalAt(p, itClientFlags(it));
  store<u8>(p++, 0x20);
  p = decimalAt(p, nvalue);
  if (withCas) {
    store<u8>(p++, 0x20);
    p = decimalAt(p, itCas(it));
  }
  store<u16>(p, 0x0a0d);
  p += 2;
  // The stored value ends with its CRLF.
  memory.copy(p, itData(it), nvalue + 2);
  return p + nvalue + 2;
}

/** do_item_bump on a held item, if it is still linked. */
export function itemBumpHeld(h: u32): void {
  const it = itemAt(h);
  if (itHas(it, ITEM_LINKED)) itemBump(it);
}

/** Sets a held item's exptime (rel). */
export function itemSetExptime(h: u32, exptime: u32): void {
  store<u32>(itemAt(h), exptime, IT_EXPTIME);
}

/** Adds MARK_* bits to a held item. */
export function itemMark(h: u32, marks: u32): void {
  const it = itemAt(h);
  let f = itFlags(it);
  if ((marks & MARK_WIN_SENT) != 0) f |= ITEM_TOKEN_SENT;
  if ((marks & MARK_KEY_BINARY) != 0) f |= ITEM_KEY_BINARY;
  itSetFlags(it, f);
}

/** touch, and gat when `hold`: the touched item (held if asked), or 0, counted as a miss. */
function touch(nkey: u32, exptime: u32, hold: bool): usize {
  const it = itemFind(key(), nkey);
  if (it == 0) {
    countGlobal(GS_TOUCH_MISSES);
    return 0;
  }
  itemBump(it);
  store<u32>(it, exptime, IT_EXPTIME);
  if (hold && !itHoldable(it)) {
    // limited_get: touched, then let go as a miss (see itemGet).
    countGlobal(GS_TOUCH_MISSES);
    return 0;
  }
  countClass(itClsid(it), CS_TOUCH_HITS);
  if (hold) itemHold(it);
  return it;
}

/** gat: the held item with its new exptime (rel), or -KEY_ENOENT. */
export function itemGetAndTouch(nkey: u32, exptime: u32): i32 {
  const it = touch(nkey, exptime, true);
  return it == 0 ? -KEY_ENOENT : handle(it);
}

export function itemTouch(nkey: u32, exptime: u32): i32 {
  return touch(nkey, exptime, false) == 0 ? KEY_ENOENT : SUCCESS;
}

/** A held, unlinked item with room for `nbytes` of value, or -E2BIG / -ENOMEM. */
export function itemAllocate(nkey: u32, flags: u32, exptime: u32, nbytes: u32, op: i32): i32 {
  const it = itemAlloc(key(), nkey, flags, exptime, nbytes);
  if (it == 0) {
    itemAllocFailed(key(), nkey, op);
    return -allocFailure;
  }
  return handle(it);
}

/**
 * Links an allocated item under `op` (`options`: STORE_* bits); the CAS to compare is in
 * IO_CAS_IN, the new one goes to IO_CAS_OUT.
 */
export function itemStoreOp(h: u32, op: i32, options: u32): i32 {
  return itemStore(itemAt(h), op, load<u64>(scratch + IO_CAS_IN), options);
}

export function itemRelease(h: u32): void {
  itemDeref(itemAt(h));
}

/**
 * delete, with the CAS to compare (0: none, unless REMOVE_COMPARE_CAS) in IO_CAS_IN; `options`
 * are REMOVE_* bits, `exptime` (rel) is for REMOVE_SET_EXPTIME.
 */
export function itemRemove(nkey: u32, options: u32, exptime: u32): i32 {
  const it = itemFind(key(), nkey);
  if (it == 0) {
    countGlobal(GS_DELETE_MISSES);
    return KEY_ENOENT;
  }
  const cas = load<u64>(scratch + IO_CAS_IN);
  if ((options & REMOVE_COMPARE_CAS) != 0) {
    if (cas != itCas(it)) {
      countGlobal(GS_DELETE_MISSES);
      return KEY_EEXISTS;
    }
  } else if (cas != 0 && cas != itCas(it)) {
    return KEY_EEXISTS;
  }
  if ((options & REMOVE_INVALIDATE) != 0) {
    // md I: the item stays, stale, with a new CAS; the next mg wins the recache.
    if ((options & REMOVE_SET_EXPTIME) != 0) store<u32>(it, exptime, IT_EXPTIME);
    itSetFlags(it, (itFlags(it) | ITEM_STALE) & ~ITEM_TOKEN_SENT);
    itSetCas(it, nextCas());
    return SUCCESS;
  }
  countClass(itClsid(it), CS_DELETE_HITS);
  itemUnlink(it);
  return SUCCESS;
}

/**
 * incr/decr: delta, initial and cas in their scratch slots; value and CAS out likewise. With
 * `hold`, IO_ITEM gets the held item with the result; IO_CREATED says whether it was created.
 */
export function itemArithmetic(nkey: u32, incr: i32, create: i32, exptime: u32, hold: i32): i32 {
  const s = scratch;
  const status = itemArith(key(), nkey, incr != 0, load<u64>(s + IO_DELTA), create != 0, load<u64>(s + IO_INITIAL), exptime, load<u64>(s + IO_CAS_IN), hold != 0);
  store<u32>(s + IO_ITEM, arithItem == 0 ? 0 : <u32>handle(arithItem));
  store<u32>(s + IO_CREATED, arithCreated ? 1 : 0);
  return status;
}

/** flush_all: `newOldest` is realtime(exptime), or now. */
export function itemFlushAll(newOldest: u32): void {
  itemFlush(newOldest);
}

/** Where value byte `off` of an item is; itemSegmentLength() bytes follow it in that chunk. */
export function itemSegment(h: u32, off: u32): usize {
  return dataSeg(itemAt(h), off);
}

export function itemSegmentLength(): u32 {
  return segAvail;
}

// ---- the LRU maintainer's background work ----

/** Up to `budget` juggle rounds over the classes; fewer: every class has settled (lru.ts). */
export function lruCrawl(budget: u32): u32 {
  return lruMaintainStep(powerLargest, budget);
}

// ---- settings changed while running (lru tune, lru mode, cache_memlimit) ----

export function lruTune(hot: u32, warm: u32, hotFactor: f64, warmFactor: f64, segmented: i32): void {
  setLruTuning(hot, warm, hotFactor, warmFactor, segmented != 0);
}

/** The pages classes may be given from now on (a class's first page is always allowed). */
export function slabsTuneLimit(pages: u32): void {
  slabsSetLimit(pages);
}

// ---- stats cachedump (cf. item_cachedump) ----

/** lru_maintainer_juggle on one class (1..largest), as memcached's maintainer would run it. */
export function lruMaintain(cls: u32): void {
  if (cls >= 1 && cls <= powerLargest) lruMaintainerJuggle(cls);
}

/** One end (SEG_HEAD or SEG_TAIL) of a class's LRU segment as a handle; 0 when empty or no such class. */
@inline function segmentEnd(cls: u32, lru: u32, end: u32): i32 {
  if (cls < 1 || cls > powerLargest || lru > COLD_LRU) return 0;
  const it: usize = load<u32>(segRec(cls, lru) + end);
  return it == 0 ? 0 : handle(it);
}

/** The newest item of a class's LRU segment as a handle; 0 when empty or no such class. */
export function lruHead(cls: u32, lru: u32): i32 {
  return segmentEnd(cls, lru, SEG_HEAD);
}

/** The next older item in the same segment as a linked item, 0 at the tail. */
export function lruNext(h: u32): i32 {
  const it = itNext(itemAt(h));
  return it == 0 ? 0 : handle(it);
}

// ---- the LRU crawler (lru_crawler crawl and metadump) ----

/** The oldest item of a class's LRU segment as a handle; 0 when empty or no such class. */
export function lruTail(cls: u32, lru: u32): i32 {
  return segmentEnd(cls, lru, SEG_TAIL);
}

/** The next newer item in the same segment as a linked item, 0 at the head. */
export function lruPrev(h: u32): i32 {
  const it = itPrev(itemAt(h));
  return it == 0 ? 0 : handle(it);
}

/** The first item of hash bucket `b` (0 .. 2^hash power - 1, as the table lies in memory), 0 if none. */
export function assocBucket(b: u32): i32 {
  const it = assocBucketHead(b);
  return it == 0 ? 0 : handle(it);
}

/** The next item in a linked item's hash chain, 0 at its end. */
export function assocChainNext(h: u32): i32 {
  const it: usize = load<u32>(itemAt(h), IT_HNEXT);
  return it == 0 ? 0 : handle(it);
}

/**
 * Whether the crawler finds a linked item live: not expired (its exptime passed: the crawler's
 * test is strict, unlike a fetch's) and not flushed. With `reclaim`, a dead one that no client
 * holds is unlinked (crawler_expired_eval), counted expired_unfetched when it was never fetched.
 */
export function crawlItem(h: u32, reclaim: i32): i32 {
  const it = itemAt(h);
  const exptime = load<u32>(it, IT_EXPTIME);
  const flushed = isFlushed(it);
  if (!flushed && (exptime == 0 || exptime >= currentTime)) return 1;
  if (reclaim != 0 && itRefcount(it) == 0) {
    if (!flushed && !itHas(it, ITEM_FETCHED)) countClass(itClsid(it), CS_EXPIRED_UNFETCHED);
    itemUnlink(it);
  }
  return 0;
}

// ---- stats ----

export function statsClass(cls: u32, which: u32): u64 {
  return load<u64>(classStat(cls, which));
}

export function statsGlobal(which: u32): u64 {
  return load<u64>(globalStat(which));
}

export function statsResetAll(): void {
  statsReset();
}

/** Slab class facts: 0 chunk size, 1 perslab, 2 pages, 3 free chunks, 4+lru items, 7+lru bytes, 10+lru tail age. */
export function slabsClassInfo(cls: u32, what: u32): u32 {
  const rec = classRec(cls);
  if (what == 0) return load<u32>(rec, CL_SIZE);
  if (what == 1) return load<u32>(rec, CL_PERSLAB);
  if (what == 2) return load<u32>(rec, CL_PAGES);
  if (what == 3) return load<u32>(rec, CL_NFREE);
  if (what < 7) return load<u32>(segRec(cls, what - 4), SEG_COUNT);
  if (what < 10) return load<u32>(segRec(cls, what - 7), SEG_BYTES);
  const tail: usize = load<u32>(segRec(cls, what - 10), SEG_TAIL);
  return tail == 0 ? 0 : currentTime - itTime(tail);
}

/** Items in track_sizes bucket `b` (sizes (b-1)*32+1 .. b*32). */
export function statsSizeBucket(b: u32): u32 {
  return load<u32>(sizesHist + (<usize>b << 2));
}

/** Engine facts: 0 largest class, 1 pages used, 2 pages total, 3 hash power, 4 expanding, 5 hash items, 6 oldest live. */
export function engineFact(what: u32): u32 {
  if (what == 0) return powerLargest;
  if (what == 6) return oldestLive;
  if (what == 1) return pagesUsed;
  if (what == 2) return pagesTotal;
  if (what == 3) return hashpower;
  if (what == 4) return expanding ? 1 : 0;
  return hashItems;
}

// ---- images (warm restart, snapshots): memory up to slabsEnd() plus the saved-state area ----

/**
 * Writes the state kept in globals into the saved-state area of the scratch (layout.ts), so that
 * memory [0, the returned end) is the whole engine: what an image holds.
 */
export function engineStateSave(): usize {
  assocStateSave(scratch);
  slabsStateSave(scratch);
  itemsStateSave(scratch);
  lruStateSave(scratch);
  return slabsEnd();
}

/**
 * After an image's memory was copied in (over an engine initialized with the same settings):
 * takes the globals back from the saved-state area, and drops the references clients held when
 * the image was made (those clients are gone).
 */
export function engineStateLoad(): void {
  assocStateLoad(scratch);
  slabsStateLoad(scratch);
  itemsStateLoad(scratch);
  lruStateLoad(scratch);
  for (let cls: u32 = 1; cls <= powerLargest; cls++) {
    for (let lru: u32 = 0; lru <= COLD_LRU; lru++) {
      for (let it = <usize>load<u32>(segRec(cls, lru), SEG_HEAD); it != 0; it = itNext(it)) store<u16>(it, 0, IT_REFCOUNT);
    }
  }
}

/** A checksum of memory [from, to): 64-bit words mixed FNV-style, then folded; detects damage. */
export function engineChecksum(from: usize, to: usize): u32 {
  let h: u64 = 0xcbf29ce484222325;
  let p = from;
  for (; p + 8 <= to; p += 8) h = (h ^ load<u64>(p)) * 0x100000001b3;
  for (; p < to; p++) h = (h ^ <u64>load<u8>(p)) * 0x100000001b3;
  return <u32>(h ^ (h >>> 32));
}

/** Walks the hash table, every LRU list and every free list; traps (debug builds) on damage. */
export function engineSelfCheck(): u32 {
  let linked: u32 = 0;
  for (let cls: u32 = 1; cls <= powerLargest; cls++) {
    slabsCheck(cls);
    for (let lru: u32 = 0; lru <= COLD_LRU; lru++) linked += lruCheck(cls, lru);
  }
  assert(linked == hashItems, 'selfCheck: LRU items differ from hash items');
  assert(assocCount() == linked, 'selfCheck: hash chains differ from hash items');
  assert(<u64>linked == load<u64>(globalStat(GS_CURR_ITEMS)), 'selfCheck: curr_items differs');
  return linked;
}

// The layout, exported so the host can check its mirror of it (src/engines/wasm/layout.ts).
export {
  IT_TIME, IT_EXPTIME, IT_NBYTES, IT_REFCOUNT, IT_FLAGS, IT_CLSID, IT_NKEY, IT_CHAIN, IT_NTOTAL,
  IT_HEADER, CAS_SIZE, CHUNK_LINK, ITEM_LINKED, ITEM_CAS, ITEM_FETCHED, ITEM_CHAINED, ITEM_CFLAGS,
  ITEM_STALE, ITEM_TOKEN_SENT, ITEM_KEY_BINARY, IO_KEY, IO_CAS_IN, IO_CAS_OUT, IO_DELTA,
  IO_INITIAL, IO_VALUE, IO_ITEM, IO_CREATED, KEY_MAX, COLD_LRU, IO_MANY, IO_MANY_KEYS, MANY_MAX,
  MANY_RECORD, MANY_KEY_STRIDE, MANY_NKEY, MANY_KEY, MANY_ITEM, MANY_HELD, MANY_FLAGS, MANY_VALUE, MANY_NVALUE, MANY_CAS,
  MANY_TEXT_END, MANY_IN_TABLE, MANY_HELD_ITEM, MANY_WRITTEN, MANY_TEXT, MANY_TEXT_CAS, MANY_TEXT_END_EACH, IO_TEXT, TEXT_SIZE,
} from './layout';
export { HOLD_MAX, STORE_INVALIDATE } from './items';
export { CLASS_STATS, GLOBAL_STATS } from './stats';
