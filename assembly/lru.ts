// Segmented LRU per slab class: HOT, WARM and COLD lists, head newest; cf. memcached items.c
// (do_item_link_q, lru_pull_tail). memcached's maintainer thread juggles items between the
// segments in the background; here the same moves happen inline, a bounded few at a time.

import {
  COLD_LRU, HOT_LRU, IT_LRU, IT_NEXT, IT_PREV, ITEM_ACTIVE, ITEM_FETCHED, SEG_BYTES, SEG_COUNT,
  SEG_HEAD, SEG_TAIL, ST_MAINTAIN_CLASS, WARM_LRU, currentTime, evictToFree, hotLruPct, hotMaxFactor, itExptime, itFlags,
  itHas, itLru, itNtotal, itPrev, itRefcount, itSetFlags, itTime, lruSegmented, segRec, warmLruPct, warmMaxFactor, itClsid,
} from './layout';
import {
  CS_EVICTED, CS_EVICTED_ACTIVE, CS_EVICTED_NONZERO, CS_EVICTED_TIME, CS_EVICTED_UNFETCHED,
  CS_EXPIRED_UNFETCHED, CS_LRUTAIL_REFLOCKED, CS_MOVES_TO_COLD, CS_MOVES_TO_WARM,
  CS_MOVES_WITHIN_LRU, CS_RECLAIMED, classStat, countClass,
} from './stats';
import { isFlushed, itemUnlink } from './items';

/**
 * How lru_pull_tail treats the tail: the maintainer's step after a link, a forced move, eviction,
 * or a round of the maintainer's juggle (lruMaintainerJuggle: shares of a given total, an age
 * limit, and ACTIVE COLD items rescued to WARM).
 */
export const PULL_JUGGLE: u32 = 0;
export const PULL_FORCE: u32 = 1;
export const PULL_EVICT: u32 = 2;
export const PULL_MAINTAIN: u32 = 3;

const PULL_TRIES: u32 = 5;

/** Links at the head of the item's segment (IT_LRU). */
export function lruLinkQ(it: usize): void {
  const seg = segRec(itClsid(it), itLru(it));
  const head: usize = load<u32>(seg, SEG_HEAD);
  store<u32>(it, 0, IT_PREV);
  store<u32>(it, <u32>head, IT_NEXT);
  if (head != 0) store<u32>(head, <u32>it, IT_PREV);
  else store<u32>(seg, <u32>it, SEG_TAIL);
  store<u32>(seg, <u32>it, SEG_HEAD);
  store<u32>(seg, load<u32>(seg, SEG_COUNT) + 1, SEG_COUNT);
  store<u32>(seg, load<u32>(seg, SEG_BYTES) + itNtotal(it), SEG_BYTES);
}

export function lruUnlinkQ(it: usize): void {
  const seg = segRec(itClsid(it), itLru(it));
  const next: usize = load<u32>(it, IT_NEXT);
  const prev: usize = load<u32>(it, IT_PREV);
  if (prev != 0) store<u32>(prev, <u32>next, IT_NEXT);
  else store<u32>(seg, <u32>next, SEG_HEAD);
  if (next != 0) store<u32>(next, <u32>prev, IT_PREV);
  else store<u32>(seg, <u32>prev, SEG_TAIL);
  store<u32>(it, 0, IT_NEXT);
  store<u32>(it, 0, IT_PREV);
  store<u32>(seg, load<u32>(seg, SEG_COUNT) - 1, SEG_COUNT);
  store<u32>(seg, load<u32>(seg, SEG_BYTES) - itNtotal(it), SEG_BYTES);
}

/** Moves a linked item to the head of another segment. */
export function lruMove(it: usize, lru: u32): void {
  lruUnlinkQ(it);
  store<u8>(it, <u8>lru, IT_LRU);
  lruLinkQ(it);
}

@inline function segBytes(cls: u32, lru: u32): u64 {
  return <u64>load<u32>(segRec(cls, lru), SEG_BYTES);
}

/**
 * Looks at up to PULL_TRIES items at a segment's tail; returns how many it removed or moved.
 * With PULL_MAINTAIN, `total` is the class's bytes the shares are of and `maxAge` the age past
 * which a HOT or WARM item goes to COLD.
 */
export function lruPullTail(cls: u32, lru: u32, mode: u32, total: u64 = 0, maxAge: u32 = 0): u32 {
  let removed: u32 = 0;
  let search: usize = load<u32>(segRec(cls, lru), SEG_TAIL);
  for (let tries = PULL_TRIES; tries > 0 && search != 0; tries--) {
    const nextIt = itPrev(search);
    if (itRefcount(search) > 0) {
      countClass(cls, CS_LRUTAIL_REFLOCKED);
      search = nextIt;
      continue;
    }
    const exptime = itExptime(search);
    if ((exptime != 0 && exptime <= currentTime) || isFlushed(search)) {
      countClass(cls, CS_RECLAIMED);
      if (!itHas(search, ITEM_FETCHED)) countClass(cls, CS_EXPIRED_UNFETCHED);
      itemUnlink(search);
      removed++;
      search = nextIt;
      continue;
    }
    if (lru != COLD_LRU) {
      if (itHas(search, ITEM_ACTIVE)) {
        itSetFlags(search, itFlags(search) & ~ITEM_ACTIVE);
        removed++;
        if (lru == WARM_LRU) {
          countClass(cls, CS_MOVES_WITHIN_LRU);
          lruMove(search, WARM_LRU);
          search = nextIt;
          continue;
        }
        countClass(cls, CS_MOVES_TO_WARM);
        lruMove(search, WARM_LRU);
        break;
      }
      let limit: u64 = 0;
      // The flat LRU drains HOT and WARM (left from segmented mode) into COLD: a share of nothing.
      if ((mode == PULL_JUGGLE || mode == PULL_MAINTAIN) && lruSegmented) {
        const bytes = mode == PULL_MAINTAIN ? total : classBytes(cls);
        limit = (bytes * <u64>(lru == HOT_LRU ? hotLruPct : warmLruPct)) / 100;
      }
      const tooOld = mode == PULL_MAINTAIN && currentTime - itTime(search) > maxAge;
      if (segBytes(cls, lru) > limit || tooOld) {
        countClass(cls, CS_MOVES_TO_COLD);
        lruMove(search, COLD_LRU);
        removed++;
      }
      break;
    }
    if (mode == PULL_EVICT) {
      if (evictToFree) {
        countClass(cls, CS_EVICTED);
        if (exptime != 0) countClass(cls, CS_EVICTED_NONZERO);
        if (!itHas(search, ITEM_FETCHED)) countClass(cls, CS_EVICTED_UNFETCHED);
        if (itHas(search, ITEM_ACTIVE)) countClass(cls, CS_EVICTED_ACTIVE);
        store<u64>(classStat(cls, CS_EVICTED_TIME), <u64>(currentTime - itTime(search)));
        itemUnlink(search);
        removed++;
      }
    } else if (itHas(search, ITEM_ACTIVE) && lruSegmented) {
      itSetFlags(search, itFlags(search) & ~ITEM_ACTIVE);
      countClass(cls, CS_MOVES_TO_WARM);
      lruMove(search, WARM_LRU);
      removed++;
    }
    break;
  }
  return removed;
}

@inline function classBytes(cls: u32): u64 {
  return segBytes(cls, HOT_LRU) + segBytes(cls, WARM_LRU) + segBytes(cls, COLD_LRU);
}

/**
 * A rel time from a double as memcached's `hot_age = cold_age * factor` makes it on x86-64
 * (truncated to an int64, then its low 32 bits): a NaN, an infinity or a double beyond the int64
 * range converts to the int64 0x8000000000000000, whose low bits are 0.
 */
@inline function ageLimit(seconds: f64): u32 {
  if (!(seconds > -9.223372036854775808e18 && seconds < 9.223372036854775808e18)) return 0;
  return <u32><i64>seconds;
}

/**
 * lru_maintainer_juggle for one class, as memcached's maintainer thread runs it when it wakes:
 * HOT and WARM items past their share of the class's bytes or older than their age limit (COLD's
 * tail age times hot_max_factor or warm_max_factor) go to COLD, ACTIVE ones are rescued to WARM,
 * expired tails are reclaimed; round after round until a round changes nothing (memcached runs
 * 500 a wake-up and wakes again soon while there is work). The model runs it before a cachedump,
 * and from the host's timer (lruMaintainStep). At most `maxRounds` rounds that change something;
 * returns how many there were: fewer than `maxRounds` when the class has settled.
 */
export function lruMaintainerJuggle(cls: u32, maxRounds: u32 = u32.MAX_VALUE): u32 {
  // The flat LRU: age limits and total 0, so HOT and WARM drain into COLD, which is left alone.
  const coldTail: usize = load<u32>(segRec(cls, COLD_LRU), SEG_TAIL);
  const coldAge: u32 = coldTail == 0 || !lruSegmented ? 0 : currentTime - itTime(coldTail);
  const hotAge = ageLimit(<f64>coldAge * hotMaxFactor);
  const warmAge = ageLimit(<f64>coldAge * warmMaxFactor);
  // memcached sums the bytes once and uses that total for every round.
  const total = lruSegmented ? classBytes(cls) : 0;
  // A round that changes something moves an item on for good or clears its ACTIVE mark: at most
  // 3 such changes an item, so this bound is never what ends the loop.
  let items: u32 = 0;
  for (let lru: u32 = HOT_LRU; lru <= COLD_LRU; lru++) items += load<u32>(segRec(cls, lru), SEG_COUNT);
  const rounds: u32 = min(3 * items + 1, maxRounds);
  for (let round: u32 = 0; round < rounds; round++) {
    const moved = lruPullTail(cls, HOT_LRU, PULL_MAINTAIN, total, hotAge) > 0
      || lruPullTail(cls, WARM_LRU, PULL_MAINTAIN, total, warmAge) > 0;
    const more = (moved ? 1 : 0) + (lruSegmented ? lruPullTail(cls, COLD_LRU, PULL_MAINTAIN) : 0);
    if (more == 0) return round;
  }
  return rounds;
}

/** The class lruMaintainStep goes on with. */
let maintainClass: u32 = 1;

export function lruMaintainReset(): void {
  maintainClass = 1;
}

export function lruStateSave(at: usize): void {
  store<u32>(at, maintainClass, ST_MAINTAIN_CLASS);
}

export function lruStateLoad(at: usize): void {
  maintainClass = load<u32>(at, ST_MAINTAIN_CLASS);
}

/**
 * The maintainer's background work in bounded steps: juggles class after class (from where the
 * last call stopped) until each settles, at most `budget` rounds that change something in all.
 * Returns those rounds: fewer than `budget` exactly when the last class settled in this call
 * (the next call starts again at class 1).
 */
export function lruMaintainStep(largest: u32, budget: u32): u32 {
  let used: u32 = 0;
  while (used < budget) {
    const max = budget - used;
    const rounds = lruMaintainerJuggle(maintainClass, max);
    used += rounds;
    if (rounds == max) break;
    if (maintainClass < largest) {
      maintainClass++;
    } else {
      maintainClass = 1;
      break;
    }
  }
  return used;
}

/** Self-check of one segment: links both ways, count and bytes as recorded. */
export function lruCheck(cls: u32, lru: u32): u32 {
  const seg = segRec(cls, lru);
  let n: u32 = 0;
  let bytes: u32 = 0;
  let prev: usize = 0;
  let it: usize = load<u32>(seg, SEG_HEAD);
  while (it != 0) {
    assert(load<u32>(it, IT_PREV) == <u32>prev, 'selfCheck: LRU prev link broken');
    assert(itLru(it) == lru && itClsid(it) == cls, 'selfCheck: item in the wrong LRU');
    n++;
    bytes += itNtotal(it);
    prev = it;
    it = load<u32>(it, IT_NEXT);
  }
  assert(load<u32>(seg, SEG_TAIL) == <u32>prev, 'selfCheck: LRU tail is not the last item');
  assert(load<u32>(seg, SEG_COUNT) == n, 'selfCheck: LRU count differs');
  assert(load<u32>(seg, SEG_BYTES) == bytes, 'selfCheck: LRU bytes differ');
  return n;
}
