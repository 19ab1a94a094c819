// Hash table of item offsets with chaining through IT_HNEXT, expanded incrementally and in place;
// cf. memcached assoc.c, which moves the chains into a second table twice the size. Here the
// table of power p + 1 is the table of power p extended over the memory after it: bucket b splits
// into b and b + 2^p (the key's next hash bit decides). While expanding, buckets below
// expandBucket have split and the rest are still read with the smaller mask; every insert splits
// EXPAND_STEP more, so no single call rehashes everything. The region is sized for the largest
// table, and the tables before it cost nothing beyond it.

import {
  IT_HNEXT, IT_HV, ST_EXPAND_BUCKET, ST_EXPANDING, ST_HASH_ITEMS, ST_HASHPOWER, ST_MAXPOWER, ST_TABLE,
  hashTable, itKey, itNkey,
} from './layout';

const EXPAND_STEP: u32 = 2;

export let hashpower: u32 = 16;
export let maxPower: u32 = 16;
export let hashItems: u32 = 0;
export let expanding: bool = false;
let expandBucket: u32 = 0;
let table: usize = 0;

/** Writes the table's state into the saved-state area at `at` (see layout.ts). */
export function assocStateSave(at: usize): void {
  store<u32>(at, hashpower, ST_HASHPOWER);
  store<u32>(at, maxPower, ST_MAXPOWER);
  store<u32>(at, hashItems, ST_HASH_ITEMS);
  store<u32>(at, expanding ? 1 : 0, ST_EXPANDING);
  store<u32>(at, expandBucket, ST_EXPAND_BUCKET);
  store<u32>(at, <u32>table, ST_TABLE);
}

export function assocStateLoad(at: usize): void {
  hashpower = load<u32>(at, ST_HASHPOWER);
  maxPower = load<u32>(at, ST_MAXPOWER);
  hashItems = load<u32>(at, ST_HASH_ITEMS);
  expanding = load<u32>(at, ST_EXPANDING) != 0;
  expandBucket = load<u32>(at, ST_EXPAND_BUCKET);
  table = load<u32>(at, ST_TABLE);
}

export function assocInit(power: u32, maxP: u32): void {
  hashpower = power;
  maxPower = maxP;
  hashItems = 0;
  expanding = false;
  expandBucket = 0;
  table = hashTable;
  memory.fill(table, 0, (<usize>1 << power) << 2);
}

/** Bytes the table of the largest power takes: for engineInit's layout. */
export function assocRegionBytes(maxP: u32): usize {
  return (<usize>1 << maxP) << 2;
}

@inline function bucket(hv: u32): usize {
  let mask: u32 = (<u32>1 << hashpower) - 1;
  // A bucket not yet split is read as the smaller table's.
  if (expanding && (hv & (mask >>> 1)) >= expandBucket) mask >>>= 1;
  return table + (<usize>(hv & mask) << 2);
}

/**
 * The first item of hv's chain, read to bring it into cache: a multi-key get asks for every key's
 * first before it looks any up, so their cache misses overlap instead of coming one by one.
 */
export function assocFirst(hv: u32): u32 {
  const it: usize = load<u32>(bucket(hv));
  return it == 0 ? 0 : load<u32>(it, IT_HV);
}

/** The head of bucket `b` of the table as it lies in memory (0 .. 2^hashpower - 1), 0 if empty. */
export function assocBucketHead(b: u32): usize {
  return load<u32>(table + (<usize>b << 2));
}

export function assocFind(key: usize, nkey: u32, hv: u32): usize {
  let it: usize = load<u32>(bucket(hv));
  while (it != 0) {
    if (load<u32>(it, IT_HV) == hv && itNkey(it) == nkey && memory.compare(itKey(it), key, nkey) == 0) return it;
    it = load<u32>(it, IT_HNEXT);
  }
  return 0;
}

/**
 * The link in hv's chain (its bucket, or an item's IT_HNEXT) that holds `target`, or the chain's
 * last link (holding 0) if no link does: with 0, where an item is appended.
 */
@inline function linkTo(hv: u32, target: usize): usize {
  let slot = bucket(hv);
  for (let cur: usize = load<u32>(slot); cur != target && cur != 0; cur = load<u32>(slot)) slot = cur + IT_HNEXT;
  return slot;
}

/**
 * Links `it` at the end of its chain, so that a chain runs from its oldest item to its newest.
 * memcached puts a new item first; but the item an eviction unlinks is the oldest there is, which
 * then ends its chain, and assocDelete must walk the whole chain, a cache miss an item, to find
 * the link before it. Here that item is usually first. The walk to the end costs a store little:
 * it has just looked the key up (itemStore), along the same chain up to the key's old item if any.
 */
export function assocInsert(it: usize, hv: u32): void {
  const slot = linkTo(hv, 0);
  store<u32>(it, 0, IT_HNEXT);
  store<u32>(slot, <u32>it);
  hashItems++;
  if (expanding) {
    expandStep(EXPAND_STEP);
  } else if (hashpower < maxPower && <u64>hashItems > ((<u64>1 << hashpower) * 3) / 2) {
    hashpower++;
    expanding = true;
    expandBucket = 0;
    expandStep(EXPAND_STEP);
  }
}

export function assocDelete(it: usize, hv: u32): void {
  const slot = linkTo(hv, it);
  assert(load<u32>(slot) == <u32>it, 'assocDelete: item not in its chain');
  store<u32>(slot, load<u32>(it, IT_HNEXT));
  store<u32>(it, 0, IT_HNEXT);
  hashItems--;
}

/** Splits the next n buckets of the smaller table into their two buckets of the larger. */
function expandStep(n: u32): void {
  const half: u32 = <u32>1 << (hashpower - 1);
  for (let i: u32 = 0; i < n && expanding; i++) {
    const low = table + (<usize>expandBucket << 2);
    const high = low + (<usize>half << 2);
    let it: usize = load<u32>(low);
    store<u32>(low, 0);
    // Never part of a smaller table since the region was laid out, but a restored image or a
    // relayout may have left bytes there.
    store<u32>(high, 0);
    // Each item goes to the end of its new chain: both keep the old chain's order (assocInsert).
    let lowEnd = low;
    let highEnd = high;
    while (it != 0) {
      const next: usize = load<u32>(it, IT_HNEXT);
      store<u32>(it, 0, IT_HNEXT);
      if ((load<u32>(it, IT_HV) & half) == 0) {
        store<u32>(lowEnd, <u32>it);
        lowEnd = it + IT_HNEXT;
      } else {
        store<u32>(highEnd, <u32>it);
        highEnd = it + IT_HNEXT;
      }
      it = next;
    }
    expandBucket++;
    if (expandBucket == half) expanding = false;
  }
}

/** Self-check: counts the items in every live chain, each findable by its own key. */
export function assocCount(): u32 {
  let n: u32 = 0;
  // While expanding, the buckets in use are the smaller table's and the upper halves split so far.
  const live: u32 = expanding ? (<u32>1 << (hashpower - 1)) + expandBucket : <u32>1 << hashpower;
  for (let b: u32 = 0; b < live; b++) n += chainLength(load<u32>(table + (<usize>b << 2)));
  return n;
}

function chainLength(it: usize): u32 {
  let n: u32 = 0;
  while (it != 0) {
    n++;
    assert(assocFind(itKey(it), itNkey(it), load<u32>(it, IT_HV)) != 0, 'selfCheck: chained item not findable');
    it = load<u32>(it, IT_HNEXT);
  }
  return n;
}
