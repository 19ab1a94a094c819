// The operations the workerd test runs inside workerd and, for reference, in Node: what each call
// returned, as JSON (bigints as strings, bytes as arrays, a miss as null), so the two compare whole.
import type { Cache, CacheOptions } from '../../../src/embed/index.ts';

export type CreateCache = (options?: CacheOptions) => Promise<Cache>;

const text = (bytes: Uint8Array | undefined): string | null => (bytes === undefined ? null : new TextDecoder().decode(bytes));
const bigint = (value: bigint | undefined): string | null => (value === undefined ? null : `${typeof value}:${value}`);
const failure = (call: () => unknown): string => {
  try {
    return `returned ${String(call())}`;
  } catch (error) {
    return String(error);
  }
};

/** Every call is given the precompiled module; the clock is moved by hand. */
export async function scenario(createCache: CreateCache, module: WebAssembly.Module) {
  let now = 1_700_000_000_000;
  const clock = (): number => now;
  const cache = await createCache({ module, now: clock });

  const binaryKey = new Uint8Array([0, 255, 13, 10]);
  const roundTrip = {
    setString: cache.set('greeting', 'hello from workerd', { flags: 7 }),
    getString: text(cache.get('greeting')),
    setBytes: cache.set(binaryKey, new Uint8Array([1, 2, 3, 0, 255]), { flags: 0xffffffff }),
    getBytes: [...(cache.get(binaryKey) ?? [])],
    bytesFlags: cache.getItem(binaryKey)?.flags ?? null,
    setUtf8: cache.set('ключ', 'значение'),
    getUtf8: text(cache.get('ключ')),
    miss: text(cache.get('missing')),
    tooLongKey: cache.set('k'.repeat(251), 'x'),
  };

  const replaceMissing = cache.set('m', 'x', { mode: 'replace' });
  const add = cache.set('m', 'b', { mode: 'add' });
  const addLive = cache.set('m', 'x', { mode: 'add' });
  const replace = cache.set('m', 'b', { mode: 'replace' });
  const append = cache.set('m', 'c', { mode: 'append' });
  const prepend = cache.set('m', 'a', { mode: 'prepend' });
  const joined = text(cache.get('m'));
  const { cas } = cache.getItem('m')!;
  const modes = {
    replaceMissing,
    add,
    addLive,
    replace,
    append,
    prepend,
    joined,
    cas: cache.set('m', 'new', { mode: 'cas', cas }),
    casStale: cache.set('m', 'stale', { mode: 'cas', cas }),
    casMissing: cache.set('nope', 'x', { mode: 'cas', cas }),
    afterCas: text(cache.get('m')),
  };

  cache.set('n', '41');
  cache.set('max', '18446744073709551615');
  cache.set('word', 'abc');
  const counters = {
    incrMiss: bigint(cache.incr('absent')),
    incr: bigint(cache.incr('n')),
    incrBy: bigint(cache.incr('n', 100n)),
    decrFloor: bigint(cache.decr('n', 1000)),
    wrap: bigint(cache.incr('max', 2n)),
    stored: text(cache.get('max')),
    nonNumeric: failure(() => cache.incr('word')),
  };

  const deletes = {
    delete: cache.delete('greeting'),
    again: cache.delete('greeting'),
    after: text(cache.get('greeting')),
  };

  cache.set('short', 's', { ttl: 10 });
  cache.set('long', 'l', { ttl: 1000 });
  cache.set('never', 'n');
  now += 11_000;
  const shortAfter11s = text(cache.get('short'));
  const longAfter11s = text(cache.get('long'));
  const touch = cache.touch('long', 5);
  const touchExpired = cache.touch('short', 5);
  now += 6_000;
  const ttl = {
    shortAfter11s,
    longAfter11s,
    touch,
    touchExpired,
    longAfterTouchAnd6s: text(cache.get('long')),
    never: text(cache.get('never')),
  };
  const stats = cache.stats();

  // snapshot() then restore() into a second cache with the same options, 5 s later.
  const options = { module, now: clock, maxBytes: 8 * 1024 * 1024 };
  const a = await createCache(options);
  for (let i = 0; i < 500; i++) a.set(`k${i}`, `value ${i} `.repeat(1 + (i % 20)), { flags: i, ttl: i % 2 === 0 ? 0 : 100 });
  const image = a.snapshot();
  now += 5_000;
  const b = await createCache(options);
  b.set('other', 'gone after restore');
  b.restore(image);
  let same = 0;
  for (let i = 0; i < 500; i++) {
    const before = a.getItem(`k${i}`);
    const after = b.getItem(`k${i}`);
    if (before !== undefined && after !== undefined && text(before.value) === text(after.value) && before.flags === after.flags && before.cas === after.cas) same++;
  }
  const restoredItems = b.stats()['curr_items'];
  now += 100_000;
  const snapshot = {
    imageBytes: image.length,
    same,
    other: text(b.get('other')),
    k7: text(b.get('k7')),
    k8: text(b.get('k8')),
    k8Flags: b.getItem('k8')?.flags ?? null,
    restoredItems,
  };

  // A 2 MiB cache given 10 MB: the oldest items are evicted, as memcached's LRU does.
  const small = await createCache({ module, now: clock, maxBytes: 2 * 1024 * 1024 });
  const value = new Uint8Array(1000).fill(0x61);
  let refused = 0;
  for (let i = 0; i < 10_000; i++) if (!small.set(`k${i}`, value)) refused++;
  const smallStats = small.stats();
  const eviction = {
    refused,
    first: text(small.get('k0')),
    last: small.get('k9999')?.length ?? null,
    evictions: smallStats['evictions'],
    currItems: smallStats['curr_items'],
    bytes: smallStats['bytes'],
    limitMaxbytes: smallStats['limit_maxbytes'],
  };

  return { roundTrip, modes, counters, deletes, ttl, stats, snapshot, eviction };
}

export type ScenarioResult = Awaited<ReturnType<typeof scenario>>;
