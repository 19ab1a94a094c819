// Hash table of item offsets with chaining through IT_HNEXT, expanded incrementally;
// cf. memcached assoc.c. While expanding, old buckets below expandBucket have moved to the
// new table; every insert moves EXPAND_STEP more, so no single call rehashes everything.
// Tables of power p live in region A or B by the parity of (maxPower - p), so the old and the
// new table never overlap and neither ever needs memory beyond what engineInit laid out.

import {
  IT_HNEXT, IT_HV, ST_EXPAND_BUCKET, ST_EXPANDING, ST_HASH_ITEMS, ST_HASHPOWER, ST_MAXPOWER, ST_OLD, ST_PRIMARY,
  hashA, hashB, itKey, itNkey,
} from './layout';

const EXPAND_STEP: u32 = 2;

export let hashpower: u32 = 16;
export let maxPower: u32 = 16;
export let hashItems: u32 = 0;
export let expanding: bool = false;
let expandBucket: u32 = 0;
let primary: usize = 0;
let old: usize = 0;

@inline function region(power: u32): usize {
  return ((maxPower - power) & 1) == 0 ? hashA : hashB;
}

/** Writes the table's state into the saved-state area at `at` (see layout.ts). */
export function assocStateSave(at: usize): void {
  store<u32>(at, hashpower, ST_HASHPOWER);
  store<u32>(at, maxPower, ST_MAXPOWER);
  store<u32>(at, hashItems, ST_HASH_ITEMS);
  store<u32>(at, expanding ? 1 : 0, ST_EXPANDING);
  store<u32>(at, expandBucket, ST_EXPAND_BUCKET);
  store<u32>(at, <u32>primary, ST_PRIMARY);
  store<u32>(at, <u32>old, ST_OLD);
}

export function assocStateLoad(at: usize): void {
  hashpower = load<u32>(at, ST_HASHPOWER);
  maxPower = load<u32>(at, ST_MAXPOWER);
  hashItems = load<u32>(at, ST_HASH_ITEMS);
  expanding = load<u32>(at, ST_EXPANDING) != 0;
  expandBucket = load<u32>(at, ST_EXPAND_BUCKET);
  primary = load<u32>(at, ST_PRIMARY);
  old = load<u32>(at, ST_OLD);
}

export function assocInit(power: u32, maxP: u32): void {
  hashpower = power;
  maxPower = maxP;
  hashItems = 0;
  expanding = false;
  expandBucket = 0;
  primary = region(power);
  old = 0;
  memory.fill(primary, 0, (<usize>1 << power) << 2);
}

/** Bytes a table of the largest power takes, and the other region: for engineInit's layout. */
export function assocRegionBytes(maxP: u32, parity: u32): usize {
  return (<usize>1 << (maxP - parity)) << 2;
}

@inline function bucket(hv: u32): usize {
  if (expanding) {
    const ob = hv & ((<u32>1 << (hashpower - 1)) - 1);
    if (ob >= expandBucket) return old + (<usize>ob << 2);
  }
  return primary + (<usize>(hv & ((<u32>1 << hashpower) - 1)) << 2);
}

/**
 * The first item of hv's chain, read to bring it into cache: a multi-key get asks for every key's
 * first before it looks any up, so their cache misses overlap instead of coming one by one.
 */
export function assocFirst(hv: u32): u32 {
  const it: usize = load<u32>(bucket(hv));
  return it == 0 ? 0 : load<u32>(it, IT_HV);
}

export function assocFind(key: usize, nkey: u32, hv: u32): usize {
  let it: usize = load<u32>(bucket(hv));
  while (it != 0) {
    if (load<u32>(it, IT_HV) == hv && itNkey(it) == nkey && memory.compare(itKey(it), key, nkey) == 0) return it;
    it = load<u32>(it, IT_HNEXT);
  }
  return 0;
}

export function assocInsert(it: usize, hv: u32): void {
  const slot = bucket(hv);
  store<u32>(it, load<u32>(slot), IT_HNEXT);
  store<u32>(slot, <u32>it);
  hashItems++;
  if (expanding) {
    expandStep(EXPAND_STEP);
  } else if (hashpower < maxPower && <u64>hashItems > ((<u64>1 << hashpower) * 3) / 2) {
    old = primary;
    hashpower++;
    primary = region(hashpower);
    expanding = true;
    expandBucket = 0;
    expandStep(EXPAND_STEP);
  }
}

export function assocDelete(it: usize, hv: u32): void {
  let slot = bucket(hv);
  let cur: usize = load<u32>(slot);
  while (cur != 0 && cur != it) {
    slot = cur + IT_HNEXT;
    cur = load<u32>(slot);
  }
  assert(cur == it, 'assocDelete: item not in its chain');
  store<u32>(slot, load<u32>(it, IT_HNEXT));
  store<u32>(it, 0, IT_HNEXT);
  hashItems--;
}

function expandStep(n: u32): void {
  const oldSize: u32 = <u32>1 << (hashpower - 1);
  const mask: u32 = (<u32>1 << hashpower) - 1;
  for (let i: u32 = 0; i < n && expanding; i++) {
    const ob = expandBucket;
    store<u32>(primary + (<usize>ob << 2), 0);
    store<u32>(primary + (<usize>(ob + oldSize) << 2), 0);
    let it: usize = load<u32>(old + (<usize>ob << 2));
    while (it != 0) {
      const next: usize = load<u32>(it, IT_HNEXT);
      const slot = primary + (<usize>(load<u32>(it, IT_HV) & mask) << 2);
      store<u32>(it, load<u32>(slot), IT_HNEXT);
      store<u32>(slot, <u32>it);
      it = next;
    }
    store<u32>(old + (<usize>ob << 2), 0);
    expandBucket++;
    if (expandBucket == oldSize) expanding = false;
  }
}

/** Self-check: counts the items in every live chain, each findable by its own key. */
export function assocCount(): u32 {
  let n: u32 = 0;
  const size: u32 = <u32>1 << hashpower;
  for (let b: u32 = 0; b < size; b++) {
    if (expanding && (b & ((size >>> 1) - 1)) >= expandBucket) continue;
    n += chainLength(load<u32>(primary + (<usize>b << 2)));
  }
  if (expanding) {
    for (let b: u32 = expandBucket; b < size >>> 1; b++) n += chainLength(load<u32>(old + (<usize>b << 2)));
  }
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
