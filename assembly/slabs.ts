// Slab classes and their free lists; cf. memcached slabs.c. Memory is handed to a class one
// page at a time, split into equal chunks; freed chunks go back to their class's free list.
// Pages are never taken back from a class (no slab automove). As in memcached's
// do_slabs_newslab, a class without pages gets its first one even when the limit is reached,
// so the arena holds the limit's pages and one more per class.

import {
  CHUNK_LINK, CL_FREE, CL_NFREE, CL_PAGES, CL_PERSLAB, CL_SIZE, IT_CLSID, IT_FLAGS, IT_HEADER,
  IT_NEXT, IT_PREV, ITEM_SLABBED, MAX_CLASSES, ST_PAGES_USED, classRec, pagesBase, slabChunkMax, slabPageSize,
} from './layout';

const CHUNK_ALIGN_BYTES: u32 = 8;

export let powerLargest: u32 = 0;
/** The pages -m allows, and the arena's pages: those and a first page for every class. */
export let pagesLimit: u32 = 0;
export let pagesTotal: u32 = 0;
export let pagesUsed: u32 = 0;

export function slabsStateSave(at: usize): void {
  store<u32>(at, pagesUsed, ST_PAGES_USED);
}

export function slabsStateLoad(at: usize): void {
  pagesUsed = load<u32>(at, ST_PAGES_USED);
}

/** Where the pages handed out so far end: memory beyond it has never been written. */
export function slabsEnd(): usize {
  return pagesBase + <usize>pagesUsed * <usize>slabPageSize;
}

/** Builds the class table (cf. slabs_init); returns the number of classes. */
export function slabsInit(chunkSize: u32, factor: f64, pages: u32): u32 {
  pagesLimit = pages;
  pagesUsed = 0;
  let size: u32 = IT_HEADER + chunkSize;
  let i: u32 = 0;
  while (++i < MAX_CLASSES - 1) {
    if (<f64>size >= <f64>slabChunkMax / factor) break;
    if (size % CHUNK_ALIGN_BYTES != 0) size += CHUNK_ALIGN_BYTES - (size % CHUNK_ALIGN_BYTES);
    initClass(i, size);
    size = <u32>(<f64>size * factor);
  }
  powerLargest = i;
  initClass(i, slabChunkMax);
  pagesTotal = pages + i;
  return i;
}

export function slabsSetLimit(pages: u32): void {
  pagesLimit = pages;
}

function initClass(cls: u32, size: u32): void {
  const rec = classRec(cls);
  store<u32>(rec, size, CL_SIZE);
  store<u32>(rec, slabPageSize / size, CL_PERSLAB);
}

/** The smallest class whose chunks hold `ntotal` bytes (caller ensures ntotal <= slabChunkMax). */
export function slabsClsid(ntotal: u32): u32 {
  let cls: u32 = 1;
  while (ntotal > load<u32>(classRec(cls), CL_SIZE)) cls++;
  return cls;
}

/** Chunks of the largest class that an item of `ntotal` > slabChunkMax bytes takes. */
export function slabsChainLength(ntotal: u32): u32 {
  const rest = ntotal - slabChunkMax;
  const per = slabChunkMax - CHUNK_LINK;
  return 1 + (rest + per - 1) / per;
}

/** A free chunk of the class, taking a new page if needed and possible; 0 if none. */
export function slabsAlloc(cls: u32): usize {
  const rec = classRec(cls);
  let chunk: usize = load<u32>(rec, CL_FREE);
  if (chunk == 0) {
    if (!newPage(cls)) return 0;
    chunk = load<u32>(rec, CL_FREE);
  }
  store<u32>(rec, load<u32>(chunk, IT_NEXT), CL_FREE);
  store<u32>(rec, load<u32>(rec, CL_NFREE) - 1, CL_NFREE);
  memory.fill(chunk, 0, IT_HEADER);
  return chunk;
}

export function slabsFree(chunk: usize, cls: u32): void {
  const rec = classRec(cls);
  store<u32>(chunk, load<u32>(rec, CL_FREE), IT_NEXT);
  store<u32>(chunk, 0, IT_PREV);
  store<u16>(chunk, ITEM_SLABBED, IT_FLAGS);
  store<u8>(chunk, <u8>cls, IT_CLSID);
  store<u32>(rec, <u32>chunk, CL_FREE);
  store<u32>(rec, load<u32>(rec, CL_NFREE) + 1, CL_NFREE);
}

function newPage(cls: u32): bool {
  const rec = classRec(cls);
  if (pagesUsed >= pagesLimit && load<u32>(rec, CL_PAGES) > 0) return false;
  if (pagesUsed >= pagesTotal) return false;
  const page = pagesBase + <usize>pagesUsed * slabPageSize;
  pagesUsed++;
  store<u32>(rec, load<u32>(rec, CL_PAGES) + 1, CL_PAGES);
  const size = load<u32>(rec, CL_SIZE);
  const perslab = load<u32>(rec, CL_PERSLAB);
  for (let x: u32 = 0; x < perslab; x++) slabsFree(page + <usize>x * size, cls);
  return true;
}

/** Self-check: the free list of a class is as long as its count, and every chunk is free. */
export function slabsCheck(cls: u32): u32 {
  const rec = classRec(cls);
  let n: u32 = 0;
  let chunk: usize = load<u32>(rec, CL_FREE);
  while (chunk != 0) {
    assert((load<u16>(chunk, IT_FLAGS) & ITEM_SLABBED) != 0, 'selfCheck: free chunk not marked free');
    assert(load<u8>(chunk, IT_CLSID) == cls, 'selfCheck: free chunk in the wrong class');
    n++;
    chunk = load<u32>(chunk, IT_NEXT);
  }
  assert(n == load<u32>(rec, CL_NFREE), 'selfCheck: free count differs from the free list');
  return n;
}
