// The segmented LRU: per slab class a HOT, a WARM and a COLD doubly linked list with their byte
// totals; cf. memcached items.c (heads, tails, sizes, sizes_bytes, do_item_link_q/unlink_q).

import { NO_LRU, type Item, type LruSegment } from './item.ts';

const SEGMENTS = 3;

export class Lru {
  private readonly heads: (Item | null)[];
  private readonly tails: (Item | null)[];
  private readonly counts: number[];
  private readonly sizes: number[];

  constructor(classes: number) {
    const slots = classes * SEGMENTS;
    this.heads = new Array<Item | null>(slots).fill(null);
    this.tails = new Array<Item | null>(slots).fill(null);
    this.counts = new Array<number>(slots).fill(0);
    this.sizes = new Array<number>(slots).fill(0);
  }

  /** Puts an item at the head (most recent end) of one of its class's segments. */
  linkHead(item: Item, segment: LruSegment): void {
    const slot = item.clsid * SEGMENTS + segment;
    const head = this.heads[slot]!;
    item.segment = segment;
    item.prev = null;
    item.next = head;
    if (head !== null) head.prev = item;
    this.heads[slot] = item;
    if (this.tails[slot] === null) this.tails[slot] = item;
    this.counts[slot]! += 1;
    this.sizes[slot]! += item.ntotal;
  }

  /** Takes an item out of its segment. */
  unlink(item: Item): void {
    if (item.segment === NO_LRU) throw new Error('lru: unlink of an item in no segment');
    const slot = item.clsid * SEGMENTS + item.segment;
    if (this.heads[slot] === item) this.heads[slot] = item.next;
    if (this.tails[slot] === item) this.tails[slot] = item.prev;
    if (item.next !== null) item.next.prev = item.prev;
    if (item.prev !== null) item.prev.next = item.next;
    item.prev = null;
    item.next = null;
    item.segment = NO_LRU;
    this.counts[slot]! -= 1;
    this.sizes[slot]! -= item.ntotal;
  }

  /** Moves an item to the head of a segment (its own or another). */
  move(item: Item, segment: LruSegment): void {
    this.unlink(item);
    this.linkHead(item, segment);
  }

  /** The most recent item of a segment (walk towards the tail with `next`). */
  head(clsid: number, segment: LruSegment): Item | null {
    return this.heads[clsid * SEGMENTS + segment]!;
  }

  tail(clsid: number, segment: LruSegment): Item | null {
    return this.tails[clsid * SEGMENTS + segment]!;
  }

  count(clsid: number, segment: LruSegment): number {
    return this.counts[clsid * SEGMENTS + segment]!;
  }

  /** Sum of ntotal over a segment's items (sizes_bytes). */
  bytes(clsid: number, segment: LruSegment): number {
    return this.sizes[clsid * SEGMENTS + segment]!;
  }

  /** Sum of ntotal over the class's three segments. */
  classBytes(clsid: number): number {
    const slot = clsid * SEGMENTS;
    return this.sizes[slot]! + this.sizes[slot + 1]! + this.sizes[slot + 2]!;
  }

  classCount(clsid: number): number {
    const slot = clsid * SEGMENTS;
    return this.counts[slot]! + this.counts[slot + 1]! + this.counts[slot + 2]!;
  }
}
