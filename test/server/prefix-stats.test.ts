// stats detail's prefix table: counting rules and memcached's dump order (murmur3 buckets).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { murmur3 } from '../../src/engine/hash.ts';
import { PrefixStats } from '../../src/server/prefix-stats.ts';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

test('murmur3 x86_32 with seed 0 matches the reference vectors', () => {
  assert.is(murmur3(bytes('')), 0);
  assert.is(murmur3(bytes('hello')), 0x248bfa47);
  assert.is(murmur3(bytes('The quick brown fox jumps over the lazy dog')), 0x2e4ff723);
});

test('only keys with the delimiter count; gets, hits, sets and deletes per prefix', () => {
  const p = new PrefixStats(0x3a);
  p.recordSet(bytes('user:1'));
  p.recordGet(bytes('user:1'), true);
  p.recordGet(bytes('user:2'), false);
  p.recordDelete(bytes('user:2'));
  p.recordSet(bytes('plain'));
  assert.is(p.dump(), 'PREFIX user get 2 hit 1 set 1 del 1\r\n');
  p.clear();
  assert.is(p.dump(), '');
});

test('the dump is in bucket order (murmur3 % 256), not insertion order', () => {
  const p = new PrefixStats(0x3a);
  const names = ['user', 'page', 'a', 'bb', 'session', 'x1', 'cart'];
  for (const n of names) p.recordSet(bytes(`${n}:k`));
  const order = p.dump().split('\r\n').filter(Boolean).map((l) => l.split(' ')[1]!);
  const buckets = order.map((n) => murmur3(bytes(n)) % 256);
  assert.equal(buckets, [...buckets].sort((a, b) => a - b));
  assert.equal([...order].sort(), [...names].sort());
});

test.run();
