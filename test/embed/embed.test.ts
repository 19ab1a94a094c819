// wasmcached/embed: the wasm engine as an in-process cache. memcached's semantics through a small
// synchronous API, the ways of handing it the module, a movable clock, eviction, and snapshots in
// the daemon's -e format (a snapshot made here is served by the daemon after a restart).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCache } from '../../src/embed/index.ts';
import { readMemoryFile } from '../../src/engine/memory-file.ts';
import { startServer } from '../server/oracle.ts';
import { Client } from '../server/serve.ts';

const text = (bytes: Uint8Array | undefined): string | undefined => (bytes === undefined ? undefined : new TextDecoder().decode(bytes));
const wasmBytes = (): Uint8Array<ArrayBuffer> => new Uint8Array(readFileSync(new URL('../../build/release.wasm', import.meta.url)));

test('get and set, strings and bytes; get returns a copy', async () => {
  const cache = await createCache();
  assert.ok(cache.set('a', 'hello'));
  assert.is(text(cache.get('a')), 'hello');
  const key = new Uint8Array([0, 255, 13, 10]);
  assert.ok(cache.set(key, new Uint8Array([1, 2, 3]), { flags: 0xffffffff }));
  const got = cache.get(key)!;
  assert.equal([...got], [1, 2, 3]);
  got[0] = 9;
  assert.equal([...cache.get(key)!], [1, 2, 3], 'changing the copy changes nothing');
  assert.is(cache.getItem(key)!.flags, 0xffffffff);
  assert.is(cache.get('missing'), undefined);
  assert.ok(cache.set('empty', ''));
  assert.equal([...cache.get('empty')!], []);
  // Keys are bytes: UTF-8 for strings, up to memcached's 250 of them.
  assert.ok(cache.set('ключ', 'значение'));
  assert.is(text(cache.get(new TextEncoder().encode('ключ'))), 'значение');
  assert.ok(cache.set('k'.repeat(250), 'longest'));
  assert.is(text(cache.get('k'.repeat(250))), 'longest');
  assert.not.ok(cache.set('k'.repeat(251), 'too long'));
  assert.not.ok(cache.set('я'.repeat(126), 'too long in bytes (252)'));
  assert.is(cache.get('k'.repeat(2000)), undefined);
  // A value over slab_chunk_max is chained over chunks: gathered whole.
  const big = Uint8Array.from({ length: 700_000 }, (_, i) => (i * 7) & 0xff);
  assert.ok(cache.set('big', big));
  assert.ok(Buffer.from(cache.get('big')!).equals(Buffer.from(big)));
  assert.ok(Buffer.from(cache.getItem('big')!.value).equals(Buffer.from(big)));
});

test('modes as memcached: add, replace, append, prepend, cas', async () => {
  const cache = await createCache();
  assert.not.ok(cache.set('k', 'x', { mode: 'replace' }), 'replace of a missing key');
  assert.ok(cache.set('k', 'b', { mode: 'add' }));
  assert.not.ok(cache.set('k', 'x', { mode: 'add' }), 'add of a live key');
  assert.ok(cache.set('k', 'c', { mode: 'append' }));
  assert.ok(cache.set('k', 'a', { mode: 'prepend' }));
  assert.is(text(cache.get('k')), 'abc');
  const { cas } = cache.getItem('k')!;
  assert.ok(cache.set('k', 'new', { mode: 'cas', cas }));
  assert.not.ok(cache.set('k', 'stale', { mode: 'cas', cas }), 'the CAS moved on');
  assert.not.ok(cache.set('nope', 'x', { mode: 'cas', cas }), 'cas of a missing key');
  assert.is(text(cache.get('k')), 'new');
  assert.not.ok(cache.set('big', new Uint8Array(2 * 1024 * 1024)), 'over itemSizeMax');
});

test('delete, touch, flush, and TTLs on the given clock', async () => {
  let now = 1_700_000_000_000;
  const cache = await createCache({ now: () => now });
  cache.set('short', 's', { ttl: 10 });
  cache.set('long', 'l', { ttl: 1000 });
  cache.set('never', 'n');
  now += 11_000;
  assert.is(cache.get('short'), undefined, 'expired');
  assert.is(text(cache.get('long')), 'l');
  assert.ok(cache.touch('long', 5));
  assert.not.ok(cache.touch('short', 5));
  now += 6_000;
  assert.is(cache.get('long'), undefined, 'the touched TTL');
  assert.ok(cache.delete('never'));
  assert.not.ok(cache.delete('never'));
  cache.set('x', '1');
  cache.flush();
  assert.is(cache.get('x'), undefined);
});

test('incr and decr: bigints, misses, wrap and floor, non-numbers', async () => {
  const cache = await createCache();
  assert.is(cache.incr('n'), undefined);
  cache.set('n', '41');
  assert.is(cache.incr('n'), 42n);
  assert.is(cache.decr('n', 50), 0n, 'floors at 0');
  cache.set('max', '18446744073709551615');
  assert.is(cache.incr('max', 2n), 1n, 'wraps at 2^64');
  cache.set('word', 'abc');
  assert.throws(() => cache.incr('word'), /non-numeric/);
});

test('stats with memcached names; a small cache evicts, or refuses with evict: false', async () => {
  const small = await createCache({ maxBytes: 2 * 1024 * 1024 });
  const value = new Uint8Array(1000);
  for (let i = 0; i < 10_000; i++) assert.ok(small.set(`k${i}`, value));
  small.get('k9999');
  small.get('k0');
  const s = small.stats();
  for (const name of ['curr_items', 'total_items', 'bytes', 'evictions', 'get_hits', 'get_misses', 'limit_maxbytes', 'cmd_get', 'cmd_set']) {
    assert.type(s[name], 'number', name);
  }
  assert.ok(s['evictions']! > 0, 'evicted');
  assert.is(s['limit_maxbytes'], 2 * 1024 * 1024);
  assert.is(s['get_hits'], 1);
  assert.is(s['get_misses'], 1);
  assert.ok(s['curr_items']! < 10_000 && s['curr_items']! > 500, String(s['curr_items']));
  const full = await createCache({ maxBytes: 2 * 1024 * 1024, evict: false });
  let refused = 0;
  for (let i = 0; i < 10_000; i++) if (!full.set(`k${i}`, value)) refused++;
  assert.ok(refused > 0 && full.stats()['evictions'] === 0, `${refused} refused`);
});

test('the module: precompiled, as bytes, as a Response, or found beside the code', async () => {
  const bytes = wasmBytes();
  for (const cache of [
    await createCache({ module: new WebAssembly.Module(bytes) }),
    await createCache({ wasm: bytes }),
    await createCache({ wasm: new Response(bytes) }),
    await createCache({ wasm: Promise.resolve(new Response(bytes)) }),
    await createCache(),
  ]) {
    assert.ok(cache.set('k', 'v'));
    assert.is(text(cache.get('k')), 'v');
  }
  const refused = await createCache({ maxBytes: 8 * 1024 * 1024 * 1024 }).then(
    () => 'made',
    (error: unknown) => String(error),
  );
  assert.match(refused, /cannot make a cache with these options: engine config cache_size=8589934592: expected between 0 and 4294967296/, 'more than 4 GiB of wasm memory');
  const small = await createCache({ maxBytes: 1024 * 1024 }).then(
    () => 'made',
    (error: unknown) => String(error),
  );
  assert.match(small, /cannot make a cache with these options: .*item_size_max/, 'the item limit against the memory, as memcached words it');
});

test('snapshot and restore: the same items, flags, CAS and TTLs; other options refuse with the reason', async () => {
  let now = 1_700_000_000_000;
  const a = await createCache({ now: () => now, maxBytes: 8 * 1024 * 1024 });
  for (let i = 0; i < 2000; i++) a.set(`k${i}`, `value ${i}`.repeat(1 + (i % 20)), { flags: i, ttl: i % 2 === 0 ? 0 : 100 });
  const before = a.getItem('k7')!;
  const image = a.snapshot();
  assert.is(typeof readMemoryFile(image), 'object', 'the -e memory file format');
  now += 50_000;
  const b = await createCache({ now: () => now, maxBytes: 8 * 1024 * 1024 });
  b.set('other', 'gone after restore');
  b.restore(image);
  assert.is(b.get('other'), undefined);
  assert.equal(b.getItem('k7'), before);
  for (let i = 0; i < 2000; i += 111) assert.is(text(b.get(`k${i}`)), `value ${i}`.repeat(1 + (i % 20)), `k${i}`);
  now += 60_000;
  assert.is(b.get('k7'), undefined, 'the TTL kept counting');
  assert.ok(b.get('k8') !== undefined);
  const c = await createCache({ maxBytes: 16 * 1024 * 1024 });
  assert.throws(() => c.restore(image), /other settings \(cacheSize 8388608, now 16777216\)/);
  assert.throws(() => c.restore(new Uint8Array([1, 2, 3])), /cannot restore/);
  assert.ok(c.set('still', 'works'));
});

test("a snapshot is the daemon's -e file: the daemon started with it serves the items", async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-embed-'));
  try {
    const cache = await createCache(); // the daemon's defaults: -m 64, -I 1m, -f 1.25
    cache.set('from-the-browser', 'hello daemon', { flags: 5 });
    const file = join(dir, 'memory_file');
    writeFileSync(file, cache.snapshot());
    const server = await startServer('wasmcached', ['-e', file]);
    const c = await Client.open(server.port);
    assert.is(await c.request('get from-the-browser\r\n', 'END\r\n'), 'VALUE from-the-browser 5 12\r\nhello daemon\r\nEND\r\n');
    c.close();
    await server.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
