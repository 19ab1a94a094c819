// One item: memcached's `item` header (memcached.h) as a JS object, and its size (ITEM_ntotal).
// The value is its own Uint8Array; the slab chunks it would occupy are only counted.

import { ITEM_HEADER_SIZE } from './slabs.ts';

/** LRU segments; cf. HOT_LRU, WARM_LRU, COLD_LRU. NO_LRU: not in any list. */
export const HOT_LRU = 0;
export const WARM_LRU = 1;
export const COLD_LRU = 2;
export const NO_LRU = -1;
export type LruSegment = typeof HOT_LRU | typeof WARM_LRU | typeof COLD_LRU;

/** Bytes of the stored CAS (ITEM_CAS), of non-zero client flags, and of the stored CRLF. */
const CAS_SIZE = 8;
const FLAGS_SIZE = 4;
const CRLF_SIZE = 2;

/** Bytes an item takes: header, cas, key and its NUL, flags when non-zero, value and CRLF. */
export function itemNtotal(nkey: number, nbytes: number, flags: number, useCas: boolean): number {
  return ITEM_HEADER_SIZE + (useCas ? CAS_SIZE : 0) + nkey + 1 + (flags !== 0 ? FLAGS_SIZE : 0) + nbytes + CRLF_SIZE;
}

export class Item {
  /** rel time of the last access that counted (it->time). */
  time = 0;
  cas = 0n;
  /** Client references plus the engine's holds during one operation (never the link itself). */
  refcount = 0;
  /** In the hash table and an LRU (ITEM_LINKED). */
  linked = false;
  /** Handed to store() or linked once: an item is stored at most once. */
  stored = false;
  /** ITEM_FETCHED and ITEM_ACTIVE. */
  fetched = false;
  active = false;
  /** The meta commands' marks: ITEM_STALE, ITEM_TOKEN_SENT, ITEM_KEY_BINARY. */
  stale = false;
  winSent = false;
  keyBinary = false;
  segment: LruSegment | typeof NO_LRU = NO_LRU;
  /** LRU neighbours: prev is towards the head (more recent), next towards the tail. */
  prev: Item | null = null;
  next: Item | null = null;

  constructor(
    /** The positive number clients see. */
    readonly handle: number,
    readonly key: Uint8Array,
    /** The key as a latin1 string: the hash table's key. */
    readonly hashKey: string,
    readonly value: Uint8Array,
    readonly flags: number,
    /** rel time of expiry; 0 never. */
    public exptime: number,
    readonly ntotal: number,
    readonly clsid: number,
    /** Chunks taken from the class: 1, or k for a chained item. */
    readonly nchunks: number,
  ) {}
}

/**
 * The bytes as one character each: apply takes the typed array as its argument list, where a
 * spread of it would first build an array (about 150 ns against 550 for 16 bytes).
 */
function chars(bytes: Uint8Array): string {
  return String.fromCharCode.apply(null, bytes as unknown as number[]);
}

/** A byte-for-byte string of a key, for use as a Map key (a key, at most 250 bytes, in one call). */
export function hashKeyOf(key: Uint8Array): string {
  if (key.length <= 4096) return chars(key);
  let text = '';
  for (let at = 0; at < key.length; at += 4096) text += chars(key.subarray(at, at + 4096));
  return text;
}
