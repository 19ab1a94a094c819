// Items: allocation with eviction, link/unlink, the one lookup where expiry and flush are
// decided, and the store modes; cf. memcached items.c (do_item_alloc, do_item_get,
// do_item_link, do_item_unlink, do_item_bump) and memcached.c (do_store_item).

import {
  CHUNK_LINK, COLD_LRU, HOT_LRU, IT_CHAIN, IT_CLSID, IT_EXPTIME, IT_FLAGS, IT_HEADER, IT_HV,
  IT_LRU, IT_NBYTES, IT_NKEY, IT_NTOTAL, IT_REFCOUNT, IT_TIME, ITEM_ACTIVE, ITEM_CAS,
  ITEM_CFLAGS, ITEM_CHAINED, ITEM_FETCHED, ITEM_LINKED, ITEM_STALE, ITEM_TOKEN_SENT, KEY_MAX,
  ST_CAS_ID, ST_OLDEST_CAS, ST_OLDEST_LIVE, WARM_LRU, currentTime,
  itCas, itClientFlags, itClsid, itData, itExptime, itFlags, itHas, itKey, itLru, itNbytes,
  itNkey, itNtotal, itRefcount, itSetCas, itSetFlags, itTime, itemNtotal, itemSizeMax, lruSegmented,
  sizesHist, slabChunkMax, trackSizes, useCas, classSize, casOut,
} from './layout';
import { assocDelete, assocFind, assocInsert } from './assoc';
import { hashKey } from './hash';
import { PULL_EVICT, PULL_FORCE, PULL_JUGGLE, lruLinkQ, lruMove, lruPullTail, lruUnlinkQ } from './lru';
import { powerLargest, slabsAlloc, slabsChainLength, slabsClsid, slabsFree } from './slabs';
import {
  CS_CAS_BADVAL, CS_CAS_HITS, CS_CMD_SET, CS_DIRECT_RECLAIMS, CS_MOVES_TO_WARM, CS_OUTOFMEMORY,
  GS_BYTES, GS_CAS_MISSES, GS_CURR_ITEMS, GS_GET_EXPIRED, GS_GET_FLUSHED, GS_STORE_NO_MEMORY,
  GS_STORE_TOO_LARGE, GS_TOTAL_ITEMS, addClass, addGlobal, countClass, countGlobal,
} from './stats';

// Status codes, engine.h's values (src/engine/status.ts).
export const SUCCESS: i32 = 0x00;
export const KEY_ENOENT: i32 = 0x01;
export const KEY_EEXISTS: i32 = 0x02;
export const ENOMEM: i32 = 0x03;
export const NOT_STORED: i32 = 0x04;
export const EINVAL: i32 = 0x05;
export const E2BIG: i32 = 0x08;
export const TMPFAIL: i32 = 0x0d;

// Store operations (ENGINE_STORE_OPERATION).
export const OP_ADD: i32 = 1;
export const OP_SET: i32 = 2;
export const OP_REPLACE: i32 = 3;
export const OP_APPEND: i32 = 4;
export const OP_PREPEND: i32 = 5;
export const OP_CAS: i32 = 6;

// Store options (StoreOption in src/engine/types.ts).
export const STORE_INVALIDATE: u32 = 1;

const ALLOC_TRIES: u32 = 10;
const ITEM_UPDATE_INTERVAL: u32 = 60;

export let casId: u64 = 0;
export let oldestLive: u32 = 0;
export let oldestCas: u64 = 0;
/** Why the last itemAlloc returned 0: E2BIG or ENOMEM. */
export let allocFailure: i32 = 0;

/** Writes the CAS counter and flush horizons into the saved-state area at `at`. */
export function itemsStateSave(at: usize): void {
  store<u64>(at, casId, ST_CAS_ID);
  store<u64>(at, oldestCas, ST_OLDEST_CAS);
  store<u32>(at, oldestLive, ST_OLDEST_LIVE);
}

export function itemsStateLoad(at: usize): void {
  casId = load<u64>(at, ST_CAS_ID);
  oldestCas = load<u64>(at, ST_OLDEST_CAS);
  oldestLive = load<u32>(at, ST_OLDEST_LIVE);
}

export function itemsReset(): void {
  casId = 0;
  oldestLive = 0;
  oldestCas = 0;
}

/** A new CAS value from the one counter, or 0 with CAS off (-C). */
@inline export function nextCas(): u64 {
  return useCas ? ++casId : 0;
}

export function isFlushed(it: usize): bool {
  if (oldestLive == 0 || oldestLive > currentTime) return false;
  if (itTime(it) <= oldestLive) return true;
  const cas = itCas(it);
  return oldestCas != 0 && cas != 0 && cas < oldestCas;
}

// ---- allocation ----

/**
 * One chunk of `cls`, evicting or moving items as memcached's do_item_alloc_pull does; 0 if
 * none. Every try that found no chunk counts a direct reclaim (10 when all fail).
 */
function allocChunk(cls: u32): usize {
  let tries: u32 = 0;
  for (; tries < ALLOC_TRIES; tries++) {
    // The flat LRU first reclaims what has expired at COLD's tail.
    if (!lruSegmented) lruPullTail(cls, COLD_LRU, PULL_JUGGLE);
    const chunk = slabsAlloc(cls);
    if (chunk != 0) {
      if (tries > 0) addClass(cls, CS_DIRECT_RECLAIMS, tries);
      return chunk;
    }
    if (lruPullTail(cls, COLD_LRU, PULL_EVICT) > 0) continue;
    // The flat LRU has nothing else to take from.
    if (!lruSegmented) break;
    if (lruPullTail(cls, HOT_LRU, PULL_FORCE) > 0) continue;
    lruPullTail(cls, WARM_LRU, PULL_FORCE);
  }
  addClass(cls, CS_DIRECT_RECLAIMS, tries);
  countClass(cls, CS_OUTOFMEMORY);
  return 0;
}

/**
 * A new unlinked item holding one reference, with key, flags, exptime (rel) and room for a
 * value of `vlen` bytes (and the CRLF after it, written here). 0 on failure, reason in
 * allocFailure.
 */
export function itemAlloc(key: usize, nkey: u32, flags: u32, exptime: u32, vlen: u32): usize {
  // A value longer than the limit is too large whatever else the item holds; testing it first
  // also keeps the sums below from wrapping for lengths near 2^32.
  if (vlen > itemSizeMax) {
    allocFailure = E2BIG;
    return 0;
  }
  const nbytes = vlen + 2;
  const ntotal = itemNtotal(nkey, flags, nbytes);
  if (ntotal > itemSizeMax) {
    allocFailure = E2BIG;
    return 0;
  }
  let cls: u32;
  let it: usize;
  let chained = false;
  if (ntotal <= slabChunkMax) {
    cls = slabsClsid(ntotal);
    it = allocChunk(cls);
  } else {
    cls = powerLargest;
    chained = true;
    it = allocChunk(cls);
    if (it != 0) {
      const k = slabsChainLength(ntotal);
      let linkAt: usize = it + IT_CHAIN; // where the next chunk's offset goes
      for (let i: u32 = 1; i < k; i++) {
        const c = allocChunk(cls);
        if (c == 0) {
          freeChunks(it, cls);
          it = 0;
          break;
        }
        store<u32>(c, 0);
        store<u32>(linkAt, <u32>c);
        linkAt = c;
      }
    }
  }
  if (it == 0) {
    allocFailure = ENOMEM;
    return 0;
  }
  let f: u16 = 0;
  if (useCas) f |= ITEM_CAS;
  if (flags != 0) f |= ITEM_CFLAGS;
  if (chained) f |= ITEM_CHAINED;
  store<u16>(it, f, IT_FLAGS);
  store<u16>(it, 1, IT_REFCOUNT);
  store<u8>(it, <u8>cls, IT_CLSID);
  store<u8>(it, <u8>HOT_LRU, IT_LRU);
  store<u8>(it, <u8>nkey, IT_NKEY);
  store<u32>(it, exptime, IT_EXPTIME);
  store<u32>(it, nbytes, IT_NBYTES);
  store<u32>(it, ntotal, IT_NTOTAL);
  store<u32>(it, hashKey(key, nkey), IT_HV);
  if (useCas) store<u64>(it, 0, IT_HEADER);
  const k = itKey(it);
  memory.copy(k, key, nkey);
  store<u8>(k + nkey, 0);
  if (flags != 0) store<u32>(k + nkey + 1, flags);
  dataWrite(it, nbytes - 2, 0x0a0d, 2);
  return it;
}

function freeChunks(it: usize, cls: u32): void {
  let c: usize = load<u32>(it, IT_CHAIN);
  slabsFree(it, cls);
  while (c != 0) {
    const next: usize = load<u32>(c);
    slabsFree(c, cls);
    c = next;
  }
}

function itemFree(it: usize): void {
  freeChunks(it, itClsid(it));
}

/** Drops a reference; the memory goes back when the item is neither linked nor held. */
export function itemDeref(it: usize): void {
  const ref = itRefcount(it);
  assert(ref > 0, 'itemDeref: no reference held');
  store<u16>(it, <u16>(ref - 1), IT_REFCOUNT);
  if (ref == 1 && !itHas(it, ITEM_LINKED)) itemFree(it);
}

/**
 * References a get may hold on one item: memcached's limited_get lets an item go once its
 * refcount, which counts the hash table's link too, passes IT_REFCOUNT_LIMIT (60000). The
 * count is a u16, so this also keeps it from wrapping.
 */
export const HOLD_MAX: u32 = 59999;

/** Whether a get may hold `it` once more (see HOLD_MAX). */
@inline export function itHoldable(it: usize): bool {
  return itRefcount(it) < HOLD_MAX;
}

@inline export function itemHold(it: usize): void {
  store<u16>(it, <u16>(itRefcount(it) + 1), IT_REFCOUNT);
}

// ---- value bytes, contiguous or chained ----

/** Where byte `off` of the value is, and how many bytes follow it in that chunk (segAvail). */
export let segAvail: u32 = 0;
export function dataSeg(it: usize, off: u32): usize {
  const data = itData(it);
  if (!itHas(it, ITEM_CHAINED)) {
    segAvail = itNbytes(it) - off;
    return data + off;
  }
  const chunk = classSize(itClsid(it));
  const first = chunk - <u32>(data - it);
  if (off < first) {
    segAvail = first - off;
    return data + off;
  }
  off -= first;
  const per = chunk - CHUNK_LINK;
  let c: usize = load<u32>(it, IT_CHAIN);
  while (off >= per) {
    off -= per;
    c = load<u32>(c);
  }
  segAvail = per - off;
  return c + CHUNK_LINK + off;
}

/** Writes `len` (<= 8) little-endian bytes of `bytes` at value offset `off`. */
function dataWrite(it: usize, off: u32, bytes: u64, len: u32): void {
  for (let i: u32 = 0; i < len; i++) store<u8>(dataSeg(it, off + i), <u8>(bytes >>> (i << 3)));
}

/** Copies `len` value bytes from src (at srcOff) to dst (at dstOff), across chunks. */
export function dataCopy(dst: usize, dstOff: u32, src: usize, srcOff: u32, len: u32): void {
  while (len > 0) {
    const d = dataSeg(dst, dstOff);
    const dAvail = segAvail;
    const s = dataSeg(src, srcOff);
    let n = segAvail < dAvail ? segAvail : dAvail;
    if (n > len) n = len;
    memory.copy(d, s, n);
    dstOff += n;
    srcOff += n;
    len -= n;
  }
}

// ---- link, unlink, lookup ----

export function itemLink(it: usize): void {
  assert(!itHas(it, ITEM_LINKED), 'itemLink: already linked');
  itSetFlags(it, itFlags(it) | ITEM_LINKED);
  store<u32>(it, currentTime, IT_TIME);
  itSetCas(it, nextCas());
  assocInsert(it, load<u32>(it, IT_HV));
  store<u8>(it, <u8>(lruSegmented ? HOT_LRU : COLD_LRU), IT_LRU);
  lruLinkQ(it);
  addGlobal(GS_CURR_ITEMS, 1);
  countGlobal(GS_TOTAL_ITEMS);
  addGlobal(GS_BYTES, itNtotal(it));
  if (trackSizes) sizesAdd(it, 1);
  const cls = itClsid(it);
  lruPullTail(cls, HOT_LRU, PULL_JUGGLE);
  lruPullTail(cls, WARM_LRU, PULL_JUGGLE);
}

export function itemUnlink(it: usize): void {
  if (!itHas(it, ITEM_LINKED)) return;
  itSetFlags(it, itFlags(it) & ~ITEM_LINKED);
  assocDelete(it, load<u32>(it, IT_HV));
  lruUnlinkQ(it);
  addGlobal(GS_CURR_ITEMS, -1);
  addGlobal(GS_BYTES, -(<i64>itNtotal(it)));
  if (trackSizes) sizesAdd(it, -1);
  if (itRefcount(it) == 0) itemFree(it);
}

function itemReplace(old: usize, it: usize): void {
  itemUnlink(old);
  itemLink(it);
}

/**
 * Puts `fresh`, an item the engine allocated to replace `old` (which it holds), in old's place
 * and drops the engine's holds on both; returns the CAS the fresh item got.
 */
export function itemSwap(old: usize, fresh: usize): u64 {
  itemReplace(old, fresh);
  itemDeref(old);
  const cas = itCas(fresh);
  itemDeref(fresh);
  return cas;
}

function sizesAdd(it: usize, delta: i32): void {
  const p = sizesHist + ((<usize>(itNtotal(it) + 31) >>> 5) << 2);
  store<u32>(p, <u32>(<i32>load<u32>(p) + delta));
}

/** memcached's do_item_get: the item under the key if live; expiry and flush decided here. */
export function itemFind(key: usize, nkey: u32): usize {
  if (nkey == 0 || nkey > KEY_MAX) return 0;
  return itemFindHashed(key, nkey, hashKey(key, nkey));
}

/** itemFind for a key whose hash is known (an allocated item carries it). */
export function itemFindHashed(key: usize, nkey: u32, hv: u32): usize {
  const it = assocFind(key, nkey, hv);
  if (it == 0) return 0;
  if (isFlushed(it)) {
    itemUnlink(it);
    countGlobal(GS_GET_FLUSHED);
    return 0;
  }
  const exptime = itExptime(it);
  if (exptime != 0 && exptime <= currentTime) {
    itemUnlink(it);
    countGlobal(GS_GET_EXPIRED);
    return 0;
  }
  return it;
}

/** memcached's do_item_bump: two hits make an item ACTIVE; an active COLD item moves to WARM. */
export function itemBump(it: usize): void {
  if (!lruSegmented) {
    // The flat LRU: fetched, and back to the head at most once a minute.
    itSetFlags(it, itFlags(it) | ITEM_FETCHED);
    itemUpdate(it);
    return;
  }
  const f = itFlags(it);
  if ((f & ITEM_ACTIVE) != 0) return;
  if ((f & ITEM_FETCHED) == 0) {
    itSetFlags(it, f | ITEM_FETCHED);
    return;
  }
  itSetFlags(it, f | ITEM_ACTIVE);
  store<u32>(it, currentTime, IT_TIME);
  if (itLru(it) == COLD_LRU) {
    countClass(itClsid(it), CS_MOVES_TO_WARM);
    lruMove(it, WARM_LRU);
  }
}

/**
 * memcached's do_item_update: refresh the access time at most once a minute; the flat LRU also
 * moves the item to its LRU's head then.
 */
export function itemUpdate(it: usize): void {
  if (currentTime > ITEM_UPDATE_INTERVAL && itTime(it) < currentTime - ITEM_UPDATE_INTERVAL) {
    store<u32>(it, currentTime, IT_TIME);
    if (!lruSegmented && itHas(it, ITEM_LINKED)) lruMove(it, itLru(it));
  }
}

// ---- store (cf. do_store_item) ----

/**
 * Links `it` under operation `op`; `cas` is compared for CAS and APPEND/PREPEND. With
 * STORE_INVALIDATE a CAS older than the item's still stores, stale (memcached's CAS_STALE).
 */
export function itemStore(it: usize, op: i32, cas: u64, options: u32): i32 {
  countClass(itClsid(it), CS_CMD_SET);
  const old = itemFindHashed(itKey(it), itNkey(it), load<u32>(it, IT_HV));
  if (old == 0) {
    if (op == OP_CAS) {
      countGlobal(GS_CAS_MISSES);
      return KEY_ENOENT;
    }
    if (op == OP_ADD || op == OP_SET) {
      itemLink(it);
      casOut(itCas(it));
      return SUCCESS;
    }
    return NOT_STORED;
  }
  if (op == OP_ADD) {
    itemUpdate(old);
    return NOT_STORED;
  }
  if (op == OP_CAS) {
    // memcached's CAS_NONE: a CAS of 0, or none at all with CAS off (-C), never matches.
    const oldCas = itCas(old);
    if (!useCas || cas == 0 || cas != oldCas) {
      if (!useCas || (options & STORE_INVALIDATE) == 0 || cas == 0 || cas > oldCas) {
        countClass(itClsid(old), CS_CAS_BADVAL);
        return KEY_EEXISTS;
      }
      // An older CAS stores a stale value: the old TTL and win mark stay (ms I).
      store<u32>(it, itExptime(old), IT_EXPTIME);
      itSetFlags(it, itFlags(it) | ITEM_STALE | (itFlags(old) & ITEM_TOKEN_SENT));
    }
    countClass(itClsid(old), CS_CAS_HITS);
  }
  if (op == OP_APPEND || op == OP_PREPEND) {
    if (useCas && cas != 0 && cas != itCas(old)) return KEY_EEXISTS;
    itemHold(old);
    const oldLen = itNbytes(old) - 2;
    const addLen = itNbytes(it) - 2;
    const joined = itemAlloc(itKey(it), itNkey(it), itClientFlags(old), itExptime(old), oldLen + addLen);
    if (joined == 0) {
      itemDeref(old);
      return NOT_STORED;
    }
    if (op == OP_APPEND) {
      dataCopy(joined, 0, old, 0, oldLen);
      dataCopy(joined, oldLen, it, 0, addLen);
    } else {
      dataCopy(joined, 0, it, 0, addLen);
      dataCopy(joined, addLen, old, 0, oldLen);
    }
    const cas = itemSwap(old, joined);
    itSetCas(it, cas); // the caller reads the stored CAS from the item it holds
    casOut(cas);
    return SUCCESS;
  }
  itemReplace(old, it);
  casOut(itCas(it));
  return SUCCESS;
}

/** memcached's allocation failure path: count it, and a failed SET drops the old value. */
export function itemAllocFailed(key: usize, nkey: u32, op: i32): void {
  countGlobal(allocFailure == E2BIG ? GS_STORE_TOO_LARGE : GS_STORE_NO_MEMORY);
  if (op == OP_SET) {
    const old = itemFind(key, nkey);
    if (old != 0) itemUnlink(old);
  }
}

// ---- flush (cf. process_flush_all_command) ----

/** `newOldest` is realtime(exptime), or now for an immediate flush. */
export function itemFlush(newOldest: u32): void {
  if (useCas) {
    oldestLive = newOldest - 1;
    if (oldestLive <= currentTime) oldestCas = ++casId;
  } else {
    oldestLive = newOldest;
  }
}
