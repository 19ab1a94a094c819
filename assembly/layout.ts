// Where everything lives in linear memory, and the item header; cf. memcached's memcached.h
// (struct _stritem) and pelikan's item.h. Nothing here allocates: the whole arena is laid out
// once by engineInit (index.ts) and never grows while serving.
//
// Linear memory:
//
//   0 ........ __heap_base   AssemblyScript statics (runtime stub: nothing else is allocated)
//   SCRATCH ................ 512 bytes: the key an export works on (host-written), then u64 slots
//   CLASSES ................ MAX_CLASSES class records of CLASS_SIZE bytes
//   STATS .................. MAX_CLASSES x CLASS_STATS u64 counters, then GLOBAL_STATS u64s
//   SIZES .................. track_sizes histogram: item_size_max/32 + 1 u32 buckets (or none)
//   HASH ................... the hash table, sized for its largest power (it grows in place)
//   PAGES .................. pagesTotal slab pages, handed to classes one at a time
//
// An item is one chunk of its class (or, when larger than slab_chunk_max, a chain of chunks of
// the largest class). Its header is 48 bytes, as memcached's on 64-bit, so the per-item
// accounting (and so the slab class of every item) is memcached's:
//
//   0        4        8        12       16       20       24       28   30   32 33 34 35 36
//   +--------+--------+--------+--------+--------+--------+--------+----+----+--+--+--+--+
//   | next   | prev   | hnext  | time   | exptime| nbytes | hv     |ref |flg |cl|lr|nk|  |
//   +--------+--------+--------+--------+--------+--------+--------+----+----+--+--+--+--+
//   36       40       44       48
//   +--------+--------+--------+------------------+--------------+------------+---------------+
//   | chain  | ntotal | (pad)  | cas (if use_cas) | key ... \0   | flags (if  | data ... \r\n |
//   +--------+--------+--------+------------------+--------------+ non-zero)  +---------------+
//
// A chained item's data continues in further chunks, each: [next chunk u32][pad u32][data...].

export const MAX_CLASSES: u32 = 64; // class ids 1..62 are made, as memcached's MAX_NUMBER_OF_SLAB_CLASSES
export const KEY_MAX: u32 = 250;

// ---- item header offsets ----
export const IT_NEXT: u32 = 0; // LRU: the next older item (toward the tail); free list link
export const IT_PREV: u32 = 4; // LRU: the next newer item (toward the head)
export const IT_HNEXT: u32 = 8; // hash chain
export const IT_TIME: u32 = 12; // rel time of the last access that counts
export const IT_EXPTIME: u32 = 16; // rel time of expiry, 0 never
export const IT_NBYTES: u32 = 20; // value length + 2 (the stored CRLF), as memcached's nbytes
export const IT_HV: u32 = 24; // the key's hash, kept so chains and expansion never rehash
export const IT_REFCOUNT: u32 = 28; // u16: references held by clients (not by the table)
export const IT_FLAGS: u32 = 30; // u16: ITEM_* bits below
export const IT_CLSID: u32 = 32; // u8: slab class
export const IT_LRU: u32 = 33; // u8: HOT, WARM or COLD
export const IT_NKEY: u32 = 34; // u8: key length
export const IT_CHAIN: u32 = 36; // first continuation chunk of a chained item, 0 if none
export const IT_NTOTAL: u32 = 40; // memcached's ITEM_ntotal, the accounted size
export const IT_HEADER: u32 = 48; // sizeof(item) in memcached on 64-bit
export const CAS_SIZE: u32 = 8;
export const CHUNK_LINK: u32 = 8; // bytes before the data in a continuation chunk

// ---- item flag bits (it_flags) ----
export const ITEM_LINKED: u16 = 1;
export const ITEM_CAS: u16 = 2;
export const ITEM_SLABBED: u16 = 4; // on a free list
export const ITEM_FETCHED: u16 = 8;
export const ITEM_ACTIVE: u16 = 16;
export const ITEM_CHAINED: u16 = 32;
export const ITEM_CFLAGS: u16 = 64; // has a non-zero client flags field
export const ITEM_STALE: u16 = 128; // marked stale by a meta invalidation (md I, ms I)
export const ITEM_TOKEN_SENT: u16 = 256; // a client was handed the win to recache it (mg W)
export const ITEM_KEY_BINARY: u16 = 512; // the key came base64-encoded (ms b); meta replies encode it

// ---- LRU segments ----
export const HOT_LRU: u32 = 0;
export const WARM_LRU: u32 = 1;
export const COLD_LRU: u32 = 2;

// ---- class record (CLASS_SIZE bytes each, indexed by clsid) ----
export const CL_SIZE: u32 = 0; // chunk size
export const CL_PERSLAB: u32 = 4; // chunks per page
export const CL_FREE: u32 = 8; // free list head
export const CL_NFREE: u32 = 12; // free chunks
export const CL_PAGES: u32 = 16; // pages given to the class
export const CL_SEG: u32 = 20; // 3 segment records of SEG_SIZE: head, tail, count, bytes
export const SEG_HEAD: u32 = 0;
export const SEG_TAIL: u32 = 4;
export const SEG_COUNT: u32 = 8;
export const SEG_BYTES: u32 = 12;
export const SEG_SIZE: u32 = 16;
export const CLASS_SIZE: u32 = 80;

// ---- scratch ----
//   [0, 512): the key and u64 slots below, and the saved state (ST_*);
//   [IO_MANY, IO_MANY_KEYS): itemGetMany's MANY_MAX records of MANY_RECORD bytes;
//   [IO_MANY_KEYS, IO_TEXT): their keys, record i's at IO_MANY_KEYS + i * MANY_KEY_STRIDE;
//   [IO_TEXT, SCRATCH_SIZE): the text answers itemGetMany writes when asked (MANY_TEXT).
export const MANY_MAX: u32 = 32;
export const MANY_RECORD: u32 = 40;
export const MANY_KEY_STRIDE: u32 = 256;
export const IO_MANY: u32 = 512;
export const IO_MANY_KEYS: u32 = IO_MANY + MANY_MAX * MANY_RECORD;
export const IO_TEXT: u32 = IO_MANY_KEYS + MANY_MAX * MANY_KEY_STRIDE;
export const TEXT_SIZE: u32 = 65536;
export const SCRATCH_SIZE: u32 = IO_TEXT + TEXT_SIZE;
// A record's fields: the key's length goes in, the rest comes out.
export const MANY_NKEY: u32 = 0; // in: the key's length (0: no key, a miss not counted)
export const MANY_KEY: u32 = 0; // out, over MANY_NKEY: where an unheld hit's key is (the item's own)
export const MANY_ITEM: u32 = 4; // the item's handle, 0 on a miss
export const MANY_HELD: u32 = 8; // MANY_IN_TABLE, MANY_HELD_ITEM or MANY_WRITTEN
export const MANY_FLAGS: u32 = 12; // the client flags
export const MANY_VALUE: u32 = 16; // where the value starts (a contiguous value)
export const MANY_NVALUE: u32 = 20; // the value's length, without its CRLF
export const MANY_CAS: u32 = 24; // u64: the item's CAS (0 with CAS off)
export const MANY_TEXT_END: u32 = 32; // with MANY_TEXT: where the text stands after this key's answer
// MANY_HELD's values.
export const MANY_IN_TABLE: u32 = 0; // no reference taken: the record describes the hit (or the miss)
export const MANY_HELD_ITEM: u32 = 1; // a reference was taken (long or chained value)
export const MANY_WRITTEN: u32 = 2; // the key's whole answer is in the text (MANY_TEXT)
// itemGetMany's text options: write each key's answer as the text protocol's retrieval reply.
export const MANY_TEXT: u32 = 1; // "VALUE <key> <flags> <bytes>\r\n<data>\r\n" for a hit
export const MANY_TEXT_CAS: u32 = 2; // with " <cas>" before the line's CRLF (gets)
export const MANY_TEXT_END_EACH: u32 = 4; // "END\r\n" after every key, hit or miss
export const IO_KEY: u32 = 0; // KEY_MAX bytes of key
export const IO_CAS_IN: u32 = 256; // u64: cas to compare
export const IO_CAS_OUT: u32 = 264; // u64: cas of the item just stored / changed
export const IO_DELTA: u32 = 272; // u64: incr/decr delta
export const IO_INITIAL: u32 = 280; // u64: value to create with
export const IO_VALUE: u32 = 288; // u64: incr/decr result
export const IO_DIGITS: u32 = 296; // 24 bytes: a u64 in decimal
export const IO_ITEM: u32 = 320; // u32: the handle of an item an operation hands to the host, or 0
export const IO_CREATED: u32 = 324; // u32: 1 when the operation made the item (mg N, ma N)

// ---- saved state (engineStateSave / engineStateLoad): the globals a memory image lacks ----
//   +--------+--------+--------+--------+--------+--------+--------+--------+----------------+
//   | power  | maxPow | items  | expand | bucket | table  | (none) | pgUsed | casId (u64)    |
//   +--------+--------+--------+--------+--------+--------+--------+--------+----------------+
//   384      388      392      396      400      404      408      412      416
//   +----------------+--------+--------+
//   | oldestCas (u64)| oldLive| lruCls |
//   +----------------+--------+--------+
//   424              432      436      440
export const ST_HASHPOWER: u32 = 384; // assoc: the table's power
export const ST_MAXPOWER: u32 = 388; // assoc: the largest power laid out
export const ST_HASH_ITEMS: u32 = 392; // assoc: items in the table
export const ST_EXPANDING: u32 = 396; // assoc: 1 while an expansion is under way
export const ST_EXPAND_BUCKET: u32 = 400; // assoc: buckets below this have split
export const ST_TABLE: u32 = 404; // assoc: where the table is
// 408: unused
export const ST_PAGES_USED: u32 = 412; // slabs: pages handed to classes
export const ST_CAS_ID: u32 = 416; // items: the CAS counter
export const ST_OLDEST_CAS: u32 = 424; // items: flush_all's CAS horizon
export const ST_OLDEST_LIVE: u32 = 432; // items: flush_all's time horizon
export const ST_MAINTAIN_CLASS: u32 = 436; // lru: where the maintainer goes on

// ---- regions, set by engineInit ----
export let scratch: usize = 0;
export let classes: usize = 0;
export let stats: usize = 0;
export let sizesHist: usize = 0;
export let hashTable: usize = 0;
export let pagesBase: usize = 0;

export function setRegions(s: usize, c: usize, st: usize, sz: usize, h: usize, p: usize): void {
  scratch = s;
  classes = c;
  stats = st;
  sizesHist = sz;
  hashTable = h;
  pagesBase = p;
}

// ---- settings, set by engineInit ----
export let useCas: bool = true;
export let evictToFree: bool = true;
export let itemSizeMax: u32 = 1024 * 1024;
export let slabChunkMax: u32 = 512 * 1024;
export let slabPageSize: u32 = 1024 * 1024;
export let hotLruPct: u32 = 20;
export let warmLruPct: u32 = 40;
export let trackSizes: bool = false;
/** lru_segmented: HOT, WARM and COLD; false: the flat LRU, COLD alone (memcached 1.4's). */
export let lruSegmented: bool = true;
/** hot_max_factor and warm_max_factor: HOT's and WARM's age limits as a share of COLD's tail age. */
export let hotMaxFactor: f64 = 0.2;
export let warmMaxFactor: f64 = 2.0;

export function setSettings(cas: bool, evict: bool, isMax: u32, chunkMax: u32, page: u32, hot: u32, warm: u32, sizes: bool): void {
  useCas = cas;
  evictToFree = evict;
  itemSizeMax = isMax;
  slabChunkMax = chunkMax;
  slabPageSize = page;
  hotLruPct = hot;
  warmLruPct = warm;
  trackSizes = sizes;
}

/** The LRU settings a client may change while the engine runs (`lru tune`, `lru mode`). */
export function setLruTuning(hot: u32, warm: u32, hotFactor: f64, warmFactor: f64, segmented: bool): void {
  hotLruPct = hot;
  warmLruPct = warm;
  hotMaxFactor = hotFactor;
  warmMaxFactor = warmFactor;
  lruSegmented = segmented;
}

/** Where a store or arithmetic leaves the CAS of the item it stored, for the host to read. */
@inline export function casOut(cas: u64): void {
  store<u64>(scratch + IO_CAS_OUT, cas);
}

// ---- the clock: rel seconds, pushed in by the host before each operation ----
export let currentTime: u32 = 0;
export function setCurrentTime(now: u32): void {
  currentTime = now;
}

// ---- field accessors ----
@inline export function itNext(it: usize): usize { return load<u32>(it, IT_NEXT); }
@inline export function itPrev(it: usize): usize { return load<u32>(it, IT_PREV); }
@inline export function itFlags(it: usize): u16 { return load<u16>(it, IT_FLAGS); }
@inline export function itSetFlags(it: usize, f: u16): void { store<u16>(it, f, IT_FLAGS); }
@inline export function itHas(it: usize, f: u16): bool { return (load<u16>(it, IT_FLAGS) & f) != 0; }
@inline export function itClsid(it: usize): u32 { return load<u8>(it, IT_CLSID); }
@inline export function itLru(it: usize): u32 { return load<u8>(it, IT_LRU); }
@inline export function itNkey(it: usize): u32 { return load<u8>(it, IT_NKEY); }
@inline export function itTime(it: usize): u32 { return load<u32>(it, IT_TIME); }
@inline export function itExptime(it: usize): u32 { return load<u32>(it, IT_EXPTIME); }
@inline export function itNbytes(it: usize): u32 { return load<u32>(it, IT_NBYTES); }
@inline export function itNtotal(it: usize): u32 { return load<u32>(it, IT_NTOTAL); }
@inline export function itRefcount(it: usize): u32 { return load<u16>(it, IT_REFCOUNT); }
@inline export function itKey(it: usize): usize { return it + <usize>IT_HEADER + (itHas(it, ITEM_CAS) ? <usize>CAS_SIZE : <usize>0); }
@inline export function itCas(it: usize): u64 { return itHas(it, ITEM_CAS) ? load<u64>(it, IT_HEADER) : 0; }
@inline export function itSetCas(it: usize, cas: u64): void { if (itHas(it, ITEM_CAS)) store<u64>(it, cas, IT_HEADER); }
/** Start of the client flags field (present only with ITEM_CFLAGS). */
@inline export function itSuffix(it: usize): usize { return itKey(it) + itNkey(it) + 1; }
@inline export function itClientFlags(it: usize): u32 { return itHas(it, ITEM_CFLAGS) ? load<u32>(itSuffix(it)) : 0; }
/** Start of the value (in the first chunk). */
@inline export function itData(it: usize): usize { return itSuffix(it) + (itHas(it, ITEM_CFLAGS) ? 4 : 0); }

@inline export function classRec(cls: u32): usize { return classes + <usize>cls * CLASS_SIZE; }
@inline export function segRec(cls: u32, lru: u32): usize { return classRec(cls) + CL_SEG + lru * SEG_SIZE; }
@inline export function classSize(cls: u32): u32 { return load<u32>(classRec(cls), CL_SIZE); }

/** memcached's ITEM_ntotal: the bytes an item is accounted for. */
export function itemNtotal(nkey: u32, flags: u32, nbytes: u32): u32 {
  return IT_HEADER + (useCas ? CAS_SIZE : 0) + nkey + 1 + (flags != 0 ? 4 : 0) + nbytes;
}
