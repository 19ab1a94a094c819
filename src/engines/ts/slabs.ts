// Slab classes and their page and chunk accounting; cf. memcached slabs.c (slabs_init,
// do_slabs_newslab, do_slabs_alloc, do_slabs_free). Chunks are counted, not laid out: item bytes
// live in their own Uint8Arrays, but which allocations succeed is decided exactly as by the model.

import { slabPages, type CacheSettings } from '../../engine/config.ts';
import { slabClassLine } from '../../engine/stats.ts';

/** sizeof(item) in memcached 1.6 on 64-bit: the header every chunk size is measured from. */
export const ITEM_HEADER_SIZE = 48;
/** Chunk sizes are rounded up to this; cf. CHUNK_ALIGN_BYTES. */
const CHUNK_ALIGN_BYTES = 8;
/** slabs_init makes at most this many classes before the largest; cf. MAX_NUMBER_OF_SLAB_CLASSES - 2. */
const MAX_GROWN_CLASSES = 62;

export interface SlabClass {
  /** Chunk size in bytes. */
  readonly size: number;
  /** Chunks per page. */
  readonly perslab: number;
  /** Pages handed to this class (never taken back). */
  pages: number;
  /** Free chunks (memcached's sl_curr). */
  free: number;
}

export class Slabs {
  /** Index 0 is unused, as in memcached: class ids start at 1. */
  readonly classes: SlabClass[] = [];
  /** The id of the largest class (power_largest), whose chunk size is slab_chunk_max. */
  readonly largest: number;
  /** The cache_size the pages were counted for: `tune` may lower the limit, or raise it back to this. */
  readonly layoutCacheSize: number;
  /** The most pages ever handed out: the limit at start and a first page for every class. */
  readonly pagesTotal: number;
  pagesUsed = 0;

  constructor(private readonly settings: CacheSettings) {
    this.classes.push({ size: 0, perslab: 0, pages: 0, free: 0 });
    let size = ITEM_HEADER_SIZE + settings.chunkSize;
    let id = 1;
    for (; id <= MAX_GROWN_CLASSES; id++) {
      // C compares the unsigned size with a double and truncates size * factor.
      if (size >= settings.slabChunkMax / settings.factor) break;
      if (size % CHUNK_ALIGN_BYTES !== 0) size += CHUNK_ALIGN_BYTES - (size % CHUNK_ALIGN_BYTES);
      this.classes.push({ size, perslab: Math.floor(settings.slabPageSize / size), pages: 0, free: 0 });
      size = Math.floor(size * settings.factor);
    }
    this.largest = id;
    this.classes.push({
      size: settings.slabChunkMax,
      perslab: Math.floor(settings.slabPageSize / settings.slabChunkMax),
      pages: 0,
      free: 0,
    });
    this.layoutCacheSize = settings.cacheSize;
    this.pagesTotal = this.pagesLimit + this.largest;
  }

  /** The pages cache_size allows; a class without pages still gets one past it (do_slabs_newslab). */
  get pagesLimit(): number {
    return slabPages(this.settings.cacheSize, this.settings.slabPageSize);
  }

  /** The smallest class whose chunks hold `ntotal` bytes; 0 when none does (ntotal > slab_chunk_max). */
  clsidFor(ntotal: number): number {
    for (let id = 1; id <= this.largest; id++) {
      if (this.classes[id]!.size >= ntotal) return id;
    }
    return 0;
  }

  /**
   * Takes one chunk of a class, giving it a new page when it has no free chunk and the limit
   * allows one, or it has no page yet.
   */
  take(clsid: number): boolean {
    const cls = this.classes[clsid]!;
    if (cls.free === 0 && (this.pagesUsed < this.pagesLimit || cls.pages === 0)) {
      this.pagesUsed += 1;
      cls.pages += 1;
      cls.free += cls.perslab;
    }
    if (cls.free === 0) return false;
    cls.free -= 1;
    return true;
  }

  /** Returns `count` chunks to a class's free list. */
  give(clsid: number, count: number): void {
    this.classes[clsid]!.free += count;
  }

  totalMalloced(): number {
    return this.pagesUsed * this.settings.slabPageSize;
  }

  /** The table memcached -vv prints at start, one line per class. */
  describe(): string[] {
    const lines: string[] = [];
    for (let id = 1; id <= this.largest; id++) {
      const cls = this.classes[id]!;
      lines.push(slabClassLine(id, cls.size, cls.perslab));
    }
    return lines;
  }
}
