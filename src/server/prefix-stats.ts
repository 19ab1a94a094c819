// `stats detail`: per-prefix counts of gets, hits, sets and deletes, kept while detail is on
// (`stats detail on` or -D), keyed by the part of the key before the delimiter; keys without the
// delimiter are not counted. The dump lists prefixes in memcached's order: its 256-bucket table
// hashed with murmur3, newest first within a bucket (cf. memcached stats_prefix.c).

import { murmur3 } from '../engine/hash.ts';

const PREFIX_HASH_SIZE = 256;

interface PrefixCounts {
  name: string;
  bucket: number;
  /** Insertion order, for newest-first within a bucket. */
  order: number;
  get: number;
  hit: number;
  set: number;
  del: number;
}

export class PrefixStats {
  private readonly prefixes = new Map<string, PrefixCounts>();
  private inserted = 0;

  constructor(private readonly delimiter: number) {}

  recordGet(key: Uint8Array, hit: boolean): void {
    const p = this.find(key);
    if (p === undefined) return;
    p.get++;
    if (hit) p.hit++;
  }

  recordSet(key: Uint8Array): void {
    const p = this.find(key);
    if (p !== undefined) p.set++;
  }

  recordDelete(key: Uint8Array): void {
    const p = this.find(key);
    if (p !== undefined) p.del++;
  }

  /** The `stats detail dump` lines (without END). */
  dump(): string {
    const all = [...this.prefixes.values()].sort((a, b) => a.bucket - b.bucket || b.order - a.order);
    return all.map((p) => `PREFIX ${p.name} get ${p.get} hit ${p.hit} set ${p.set} del ${p.del}\r\n`).join('');
  }

  clear(): void {
    this.prefixes.clear();
  }

  private find(key: Uint8Array): PrefixCounts | undefined {
    const end = key.indexOf(this.delimiter);
    if (end < 0) return undefined;
    const name = String.fromCharCode(...key.subarray(0, end));
    let p = this.prefixes.get(name);
    if (p === undefined) {
      const bucket = murmur3(key.subarray(0, end)) % PREFIX_HASH_SIZE;
      p = { name, bucket, order: this.inserted++, get: 0, hit: 0, set: 0, del: 0 };
      this.prefixes.set(name, p);
    }
    return p;
  }
}
