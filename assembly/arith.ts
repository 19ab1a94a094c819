// incr/decr on unsigned 64-bit decimal values; cf. memcached's do_add_delta and safe_strtoull.

import {
  ITEM_CHAINED, IO_DIGITS, IO_VALUE, casOut, itCas, itClientFlags, itClsid, itExptime, itHas, itKey,
  itNbytes, itNkey, itRefcount, itSetCas, scratch,
} from './layout';
import {
  EINVAL, ENOMEM, KEY_EEXISTS, KEY_ENOENT, SUCCESS, dataSeg, itemAlloc, itemDeref, itemFind,
  itemHold, itemLink, itemSwap, itemUpdate, nextCas,
} from './items';
import { CS_DECR_HITS, CS_INCR_HITS, GS_DECR_MISSES, GS_INCR_MISSES, countClass, countGlobal } from './stats';

const MAX_DIGITS: u32 = 20;

@inline function isSpace(c: u32): bool {
  return c == 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Parsed value of the last successful parseU64. */
let parsed: u64 = 0;

/** strtoull(str, &end, 10) as safe_strtoull accepts it, over `len` bytes followed by CRLF. */
function parseU64(p: usize, len: u32): bool {
  let i: u32 = 0;
  while (i < len && isSpace(load<u8>(p + i))) i++;
  let neg = false;
  if (i < len) {
    const c = load<u8>(p + i);
    if (c == 0x2b || c == 0x2d) {
      neg = c == 0x2d;
      i++;
    }
  }
  const start = i;
  let v: u64 = 0;
  let overflow = false;
  while (i < len) {
    const d = <u32>load<u8>(p + i) - 0x30;
    if (d > 9) break;
    if (v > (<u64>-1 - d) / 10) overflow = true;
    v = v * 10 + d;
    i++;
  }
  if (i == start || overflow) return false;
  if (i < len) {
    const c = load<u8>(p + i);
    if (c != 0 && !isSpace(c)) return false;
  }
  if (neg) {
    v = 0 - v;
    if (<i64>v < 0) return false;
  }
  parsed = v;
  return true;
}

/** Writes `v` in decimal at the scratch IO_DIGITS; returns its length. */
export function formatU64(v: u64): u32 {
  const out = scratch + IO_DIGITS;
  return <u32>(decimalAt(out, v) - out);
}

/** Writes `v` in decimal at `at`; returns where the digits end. */
export function decimalAt(at: usize, v: u64): usize {
  let n: usize = 1;
  for (let t = v / 10; t != 0; t /= 10) n++;
  const end = at + n;
  let p = end;
  do {
    p--;
    store<u8>(p, <u8>(0x30 + <u32>(v % 10)));
    v /= 10;
  } while (v != 0);
  return end;
}

/** With `hold`: the item holding the result, held for the host (do_add_delta's it_ret); else 0. */
export let arithItem: usize = 0;
/** Whether the last itemArith found the key missing and (tried to) create it. */
export let arithCreated: bool = false;

/**
 * incr (or decr) the value under the key by `delta`. With `create`, a missing key is created
 * holding `initial` (no miss is counted, as memcached). `cas` non-zero must match. Result value
 * and CAS go to the scratch slots.
 */
export function itemArith(key: usize, nkey: u32, incr: bool, delta: u64, create: bool, initial: u64, exptime: u32, cas: u64, hold: bool): i32 {
  arithItem = 0;
  arithCreated = false;
  const it = itemFind(key, nkey);
  if (it == 0) {
    if (!create) {
      countGlobal(incr ? GS_INCR_MISSES : GS_DECR_MISSES);
      return KEY_ENOENT;
    }
    arithCreated = true;
    const len = formatU64(initial);
    const created = itemAlloc(key, nkey, 0, exptime, len);
    if (created == 0) return ENOMEM;
    memory.copy(dataSeg(created, 0), scratch + IO_DIGITS, len);
    itemLink(created);
    store<u64>(scratch + IO_VALUE, initial);
    casOut(itCas(created));
    if (hold) arithItem = created; // the allocation's reference becomes the host's
    else itemDeref(created);
    return SUCCESS;
  }
  const oldLen = itNbytes(it) - 2;
  if (oldLen == 0 || itHas(it, ITEM_CHAINED)) return EINVAL;
  if (cas != 0 && cas != itCas(it)) return KEY_EEXISTS;
  if (!parseU64(dataSeg(it, 0), oldLen)) return EINVAL;
  let value = parsed;
  if (incr) value += delta;
  else value = delta > value ? 0 : value - delta;
  countClass(itClsid(it), incr ? CS_INCR_HITS : CS_DECR_HITS);
  const len = formatU64(value);
  store<u64>(scratch + IO_VALUE, value);
  if (len <= oldLen && itRefcount(it) == 0) {
    const data = dataSeg(it, 0);
    memory.copy(data, scratch + IO_DIGITS, len);
    memory.fill(data + len, 0x20, oldLen - len);
    itSetCas(it, nextCas());
    itemUpdate(it);
    casOut(itCas(it));
    if (hold) {
      itemHold(it);
      arithItem = it;
    }
    return SUCCESS;
  }
  itemHold(it);
  const fresh = itemAlloc(itKey(it), itNkey(it), itClientFlags(it), itExptime(it), len);
  if (fresh == 0) {
    itemDeref(it);
    return ENOMEM;
  }
  memory.copy(dataSeg(fresh, 0), scratch + IO_DIGITS, len);
  if (hold) {
    itemHold(fresh);
    arithItem = fresh;
  }
  casOut(itemSwap(it, fresh));
  return SUCCESS;
}
