// The engine contract: one function that registers uvu suites checking an engine against the
// interface (src/engine/types.ts) and the model (docs/engine-model.md), with exact expected values
// derived from the model's rules or memcached's observed output, and a moved clock (no sleeps).
import { suite } from 'uvu';
import type { Test } from 'uvu';
import * as assert from 'uvu/assert';
import { createManualClock } from '../../src/engine/clock.ts';
import { Status, StoreOperation, statusName } from '../../src/engine/status.ts';
import {
  ENGINE_INTERFACE_VERSION, GET_MANY_MAX, GetCount, HOLD_MAX, ItemMark, MANY_STRIDE, Many, ManyState, ManyText, RemoveOption, StoreOption, createArithmeticRequest,
  createArithmeticResult, createGetRequest, createItemInfo, itemInfoKey, itemInfoValue,
} from '../../src/engine/types.ts';
import type { EngineHandle, GetRequest, ItemHandle, ItemInfo, ServerApi } from '../../src/engine/types.ts';
import {
  DEFAULT_SLAB_SETTINGS,
  MIB,
  toBytes,
  closeAll,
  createEngine,
  latin1,
  loadEngine,
  modelChunks,
  modelClassFor,
  modelNtotal,
  modelSlabClasses,
  openEngine,
  slabClassLine,
} from './harness.ts';
import type { ConfigInput, EngineHarness, EngineName, StatList } from './harness.ts';
import { murmur3 } from '../../src/engine/hash.ts';

const { SET, ADD, REPLACE, APPEND, PREPEND, CAS } = StoreOperation;

/** memcached 1.6.18 -vv with default settings (-f 1.25 -n 48): [chunk size, perslab]. */
const GOLDEN_DEFAULT_CLASSES: Array<[number, number]> = [
  [96, 10922], [120, 8738], [152, 6898], [192, 5461], [240, 4369], [304, 3449], [384, 2730],
  [480, 2184], [600, 1747], [752, 1394], [944, 1110], [1184, 885], [1480, 708], [1856, 564],
  [2320, 451], [2904, 361], [3632, 288], [4544, 230], [5680, 184], [7104, 147], [8880, 118],
  [11104, 94], [13880, 75], [17352, 60], [21696, 48], [27120, 38], [33904, 30], [42384, 24],
  [52984, 19], [66232, 15], [82792, 12], [103496, 10], [129376, 8], [161720, 6], [202152, 5],
  [252696, 4], [315872, 3], [394840, 2], [524288, 2],
];

/** memcached 1.6.18 -vv -f 2 -n 32. */
const GOLDEN_F2_N32_CLASSES: Array<[number, number]> = [
  [80, 13107], [160, 6553], [320, 3276], [640, 1638], [1280, 819], [2560, 409], [5120, 204],
  [10240, 102], [20480, 51], [40960, 25], [81920, 12], [163840, 6], [524288, 2],
];

/** The engine keys of `stats`, in the model's (memcached 1.6's) order. */
const GENERAL_KEYS = [
  'cmd_set', 'get_hits', 'get_misses', 'get_expired', 'get_flushed', 'delete_misses', 'delete_hits',
  'incr_misses', 'incr_hits', 'decr_misses', 'decr_hits', 'cas_misses', 'cas_hits', 'cas_badval',
  'touch_hits', 'touch_misses', 'store_too_large', 'store_no_memory', 'limit_maxbytes',
  'hash_power_level', 'hash_bytes', 'hash_is_expanding', 'malloc_fails', 'bytes', 'curr_items',
  'total_items', 'slab_global_page_pool', 'expired_unfetched', 'evicted_unfetched', 'evicted_active',
  'evictions', 'reclaimed', 'crawler_reclaimed', 'crawler_items_checked', 'lrutail_reflocked',
  'moves_to_cold', 'moves_to_warm', 'moves_within_lru', 'direct_reclaims', 'lru_bumps_dropped',
];

const SETTINGS_KEYS = [
  'maxbytes', 'oldest', 'evictions', 'growth_factor', 'chunk_size', 'cas_enabled', 'item_size_max',
  'hashpower_init', 'slab_chunk_max', 'hash_algorithm', 'lru_segmented', 'hot_lru_pct',
  'warm_lru_pct', 'hot_max_factor', 'warm_max_factor', 'track_sizes',
];

/** `stats items` per class, as memcached 1.6 prints them with the segmented LRU (no temp LRU). */
const ITEMS_KEYS = [
  'number', 'number_hot', 'number_warm', 'number_cold', 'age_hot', 'age_warm', 'age', 'mem_requested',
  'evicted', 'evicted_nonzero', 'evicted_time', 'outofmemory', 'tailrepairs', 'reclaimed',
  'expired_unfetched', 'evicted_unfetched', 'evicted_active', 'crawler_reclaimed',
  'crawler_items_checked', 'lrutail_reflocked', 'moves_to_cold', 'moves_to_warm', 'moves_within_lru',
  'direct_reclaims', 'hits_to_hot', 'hits_to_warm', 'hits_to_cold', 'hits_to_temp',
];

/** `stats slabs` per class, then the two totals. */
const SLABS_KEYS = [
  'chunk_size', 'chunks_per_page', 'total_pages', 'total_chunks', 'used_chunks', 'free_chunks',
  'free_chunks_end', 'get_hits', 'cmd_set', 'delete_hits', 'incr_hits', 'decr_hits', 'cas_hits',
  'cas_badval', 'touch_hits',
];

/** Stats that resetStats leaves alone: state, not counters. */
const GENERAL_STATE_KEYS = new Set(['limit_maxbytes', 'bytes', 'curr_items', 'slab_global_page_pool']);
const ITEMS_STATE_KEYS = new Set(['number', 'number_hot', 'number_warm', 'number_cold', 'age_hot', 'age_warm', 'age', 'mem_requested']);
const SLABS_STATE_KEYS = new Set(['chunk_size', 'chunks_per_page', 'total_pages', 'total_chunks', 'used_chunks', 'free_chunks', 'free_chunks_end']);

const U64_MAX = (1n << 64n) - 1n;
const THIRTY_DAYS = 60 * 60 * 24 * 30;
const DEFAULT_CLASSES = modelSlabClasses();
const LARGEST = DEFAULT_CLASSES[DEFAULT_CLASSES.length - 1]!;

function isStatus(actual: number, expected: Status, what: string): void {
  assert.is(statusName(actual), statusName(expected), what);
}

/** Checks the listed statistics of a group (as strings, as the engine reports them). */
function expectStats(h: EngineHarness, group: string, expected: Record<string, string | number>, what: string): void {
  const map = h.statMap(group);
  const actual: Record<string, string | undefined> = {};
  const want: Record<string, string> = {};
  for (const [key, value] of Object.entries(expected)) {
    actual[key] = map.get(key);
    want[key] = String(value);
  }
  assert.equal(actual, want, what);
}

function keysOf(list: StatList): string[] {
  return list.map(([key]) => key);
}

/** Deterministic bytes, so that a value read back can be compared byte for byte. */
function pattern(nbytes: number, seed = 1): Uint8Array {
  const bytes = new Uint8Array(nbytes);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < nbytes; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

function sameBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  assert.is(actual.length, expected.length, `${what}: length`);
  for (let i = 0; i < expected.length; i++) {
    if (actual[i] !== expected[i]) assert.unreachable(`${what}: byte ${i} is ${actual[i]}, expected ${expected[i]}`);
  }
}

/** Key names of a fixed width, so that every item of a fill has the same ntotal. */
function keyN(prefix: string, i: number, width = 5): string {
  return `${prefix}${String(i).padStart(width, '0')}`;
}

/**
 * Registers the contract's suites for engine `name` and returns a runner. `baseConfig` is applied
 * under each test's own config (the wasm engine runs with wasm_build=debug).
 */
export function engineContract(name: EngineName, baseConfig: ConfigInput = {}): { run(): void } {
  const suites: Test[] = [];
  const open = (config: ConfigInput = {}): Promise<EngineHarness> => openEngine(name, config, { baseConfig });

  /** A suite whose every test ends with selfCheck() and destroy() on the engines it opened. */
  function group(title: string): (testName: string, body: () => Promise<void> | void) => void {
    const s = suite(`${name}: ${title}`);
    suites.push(s);
    return (testName, body) => {
      s(testName, async () => {
        try {
          await body();
        } catch (error) {
          closeAll(false);
          throw error;
        }
        closeAll(true);
      });
    };
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('lifecycle and config');

    t('createInstance speaks interface version 1 and answers ENOTSUP to any other', async () => {
      const createInstance = await loadEngine(name);
      const api: ServerApi = { core: createManualClock(), log: () => undefined };
      for (const version of [0, ENGINE_INTERFACE_VERSION + 1, 99]) {
        const result = createInstance(version, () => api);
        assert.is(typeof result === 'number' ? statusName(result) : 'a handle', 'ENOTSUP', `createInstance(${version})`);
      }
      const handle = createInstance(ENGINE_INTERFACE_VERSION, () => api);
      assert.is(typeof handle, 'object', 'createInstance(1) gives a handle');
      const engine = handle as EngineHandle;
      assert.is(engine.interfaceVersion, ENGINE_INTERFACE_VERSION);
      const info = engine.getInfo();
      assert.type(info.description, 'string');
      assert.ok(Array.isArray(info.features), 'getInfo().features is an array');
    });

    t('initialize accepts every documented key', async () => {
      const h = await open({
        cache_size: '64m', eviction: 'true', factor: '1.25', chunk_size: '48', item_size_max: '1m',
        slab_page_size: '1m', slab_chunk_max: '512k', use_cas: 'true', hashpower: '16',
        hot_lru_pct: '20', warm_lru_pct: '40', hot_max_factor: '0.2', warm_max_factor: '2', lru_segmented: 'true',
        lru_maintainer: 'true', track_sizes: 'false',
      });
      isStatus(h.set('k', 'v'), Status.SUCCESS, 'set after initialize');
    });

    t('an unknown config key fails initialize with EINVAL and a log line naming it', async () => {
      const h = await createEngine(name, { baseConfig });
      isStatus(h.initialize({ no_such_key: '1' }), Status.EINVAL, 'initialize(no_such_key=1)');
      assert.ok(
        h.logs.some((line) => line.message.includes('no_such_key')),
        `a log line names the key; log: ${JSON.stringify(h.logs)}`,
      );
    });

    t('a malformed or out-of-range value fails initialize with EINVAL and a log line naming it', async () => {
      const cases: Array<[Record<string, string>, string]> = [
        [{ cache_size: 'lots' }, 'cache_size'],
        [{ factor: '0.5' }, 'factor'],
        [{ use_cas: 'maybe' }, 'use_cas'],
        [{ hot_lru_pct: '90' }, 'hot_lru_pct'],
        [{ cache_size: '1m', item_size_max: '1m' }, 'item_size_max'],
      ];
      for (const [config, key] of cases) {
        const h = await createEngine(name, { baseConfig });
        isStatus(h.initialize(config), Status.EINVAL, `initialize(${JSON.stringify(config)})`);
        assert.ok(
          h.logs.some((line) => line.message.includes(key)),
          `a log line names ${key}; log: ${JSON.stringify(h.logs)}`,
        );
      }
    });

    t('a key of 0 or more than 250 bytes is never stored and never found, and counts nothing', async () => {
      const h = await open();
      for (const key of [new Uint8Array(0), new Uint8Array(251).fill(0x61)]) {
        isStatus(h.set(key, 'v'), Status.EINVAL, `set, ${key.length}-byte key`);
        assert.is(h.get(key), undefined);
        isStatus(h.touch(key, 0), Status.KEY_ENOENT, 'touch');
        isStatus(h.remove(key), Status.KEY_ENOENT, 'remove');
        isStatus(h.incr(key, 1n).status, Status.KEY_ENOENT, 'incr');
      }
      isStatus(h.set(new Uint8Array(250).fill(0x61), 'v'), Status.SUCCESS, '250-byte key');
      expectStats(h, '', { curr_items: 1, get_misses: 0, touch_misses: 0, delete_misses: 0, incr_misses: 0 }, 'stats');
    });

    t('engine calls answer synchronously (never a Promise)', async () => {
      // Every harness call asserts this; here each operation is called once on purpose.
      const h = await open();
      h.set('a', '1');
      h.get('a');
      h.gat('a', 0);
      h.touch('a', 0);
      h.incr('a', 1);
      h.remove('a');
      h.flush(0);
      h.stats('');
      h.destroy();
      closeAll(false);
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('slab classes');
    const slabLines = (h: EngineHarness): string[] =>
      h.logs.filter((line) => line.level === 'info' && line.message.startsWith('slab class')).map((line) => line.message);
    const goldenLines = (golden: Array<[number, number]>): string[] =>
      golden.map(([size, perslab], i) => slabClassLine({ id: i + 1, size, perslab }));

    t("the model's class table agrees with memcached's", () => {
      assert.equal(DEFAULT_CLASSES.map((c) => [c.size, c.perslab]), GOLDEN_DEFAULT_CLASSES);
      const f2 = modelSlabClasses({ ...DEFAULT_SLAB_SETTINGS, factor: 2, chunkSize: 32 });
      assert.equal(f2.map((c) => [c.size, c.perslab]), GOLDEN_F2_N32_CLASSES);
      assert.is(slabClassLine({ id: 1, size: 96, perslab: 10922 }), 'slab class   1: chunk size        96 perslab   10922');
    });

    t('initialize logs the default table as memcached -vv does (39 classes)', async () => {
      const h = await open();
      assert.equal(slabLines(h), goldenLines(GOLDEN_DEFAULT_CLASSES));
    });

    t('-f 2 -n 32 gives 13 classes: 80 160 ... 163840 524288', async () => {
      const h = await open({ factor: '2', chunk_size: '32' });
      assert.equal(slabLines(h), goldenLines(GOLDEN_F2_N32_CLASSES));
    });

    t('slab_page_size and slab_chunk_max shape the table as slabs_init does', async () => {
      const h = await open({ factor: '1.5', slab_page_size: '256k', slab_chunk_max: '64k', item_size_max: '128k' });
      const classes = modelSlabClasses({ factor: 1.5, chunkSize: 48, slabPageSize: 256 * 1024, slabChunkMax: 64 * 1024 });
      assert.equal(slabLines(h), classes.map(slabClassLine));
    });

    t('stats slabs reports chunk_size and chunks_per_page of the table', async () => {
      const h = await open({ factor: '2', chunk_size: '32' });
      h.set('a', 'x'.repeat(100)); // ntotal 160: class 2
      expectStats(h, 'slabs', { '2:chunk_size': 160, '2:chunks_per_page': 6553, '2:total_pages': 1 }, 'class 2');
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('item size');
    const clsidOf = (h: EngineHarness, key: string, nbytes: number, flags = 0): number => {
      const item = h.allocate(key, nbytes, flags);
      assert.ok(item > 0, `allocate(${key.length}-byte key, nbytes ${nbytes}, flags ${flags}) = ${statusName(-item)}`);
      const clsid = h.view(item).clsid;
      h.release(item);
      return clsid;
    };

    t('ntotal picks the smallest class that fits, at every class boundary', async () => {
      const h = await open();
      const base = modelNtotal(1, 0, 0); // 60
      for (const cls of DEFAULT_CLASSES) {
        const fits = cls.size - base;
        assert.is(clsidOf(h, 'k', fits), cls.id, `ntotal ${cls.size} is class ${cls.id}`);
        assert.is(clsidOf(h, 'k', fits + 1), Math.min(cls.id + 1, LARGEST.id), `ntotal ${cls.size + 1}`);
      }
    });

    t('flags add 4 bytes, the key its length + 1, CAS 8', async () => {
      const h = await open();
      for (const cls of DEFAULT_CLASSES.slice(0, 12)) {
        const withFlags = cls.size - modelNtotal(1, 0, 1);
        assert.is(clsidOf(h, 'k', withFlags, 0xdeadbeef), cls.id, `flags: ntotal ${cls.size}`);
        assert.is(clsidOf(h, 'k', withFlags + 1, 0xdeadbeef), cls.id + 1, `flags: ntotal ${cls.size + 1}`);
        const key = 'k'.repeat(250);
        const longKey = cls.size - modelNtotal(250, 0, 0);
        if (longKey >= 0) {
          assert.is(clsidOf(h, key, longKey), cls.id, `250-byte key: ntotal ${cls.size}`);
          assert.is(clsidOf(h, key, longKey + 1), cls.id + 1, `250-byte key: ntotal ${cls.size + 1}`);
        }
      }
      const noCas = await open({ use_cas: 'false' });
      for (const cls of DEFAULT_CLASSES.slice(0, 12)) {
        const fits = cls.size - modelNtotal(1, 0, 0, false);
        assert.is(clsidOf(noCas, 'k', fits), cls.id, `use_cas=false: ntotal ${cls.size}`);
        assert.is(clsidOf(noCas, 'k', fits + 1), cls.id + 1, `use_cas=false: ntotal ${cls.size + 1}`);
      }
    });

    t('the room after a value (ItemInfo.valueRoom) is the item\'s own: CRLF there, then anything, disturbs no other item', async () => {
      const h = await open();
      const info = createItemInfo();
      const rooms: number[] = [];
      const written: Array<[string, Uint8Array, number]> = [];
      // Values that fill their class exactly (no slack) and ones a byte to a few hundred short of it.
      for (const [i, cls] of DEFAULT_CLASSES.slice(0, 30).entries()) {
        for (const short of [0, 1, 3, 200]) {
          const flags = i % 2 === 0 ? 0 : i + 1;
          const key = `room-${i}-${short}`;
          const nbytes = cls.size - modelNtotal(key.length, 0, flags) - short;
          if (nbytes < 0) continue;
          const value = pattern(nbytes, i * 7 + short + 1);
          const item = h.allocate(key, nbytes, flags);
          h.engine.getItemInfo(item, info, false);
          const room = info.valueRoom;
          rooms.push(room);
          assert.ok(room === 0 || room >= 2, `${key}: room ${room}`);
          const end = info.valueOffset + info.nvalue;
          info.valueBytes.set(value, info.valueOffset);
          if (room >= 2) {
            info.valueBytes[end] = 0x0d;
            info.valueBytes[end + 1] = 0x0a;
            info.valueBytes.fill(0xee, end + 2, end + room);
          } else {
            h.engine.itemValue(item).set(value);
          }
          isStatus(h.engine.store(item, SET, 0n) as Status, Status.SUCCESS, `${key}: store`);
          h.release(item);
          written.push([key, value, flags]);
        }
      }
      for (const [key, value, flags] of written) {
        const got = h.get(key);
        assert.ok(got !== undefined, `${key}: stored`);
        sameBytes(got.bytes, value, key);
        assert.is(got.flags, flags, `${key}: flags`);
      }
      // An engine with room gives a value that fills its chunk its CRLF's 2 bytes, and more to
      // one that does not.
      if (rooms.some((room) => room > 0)) {
        assert.ok(rooms.includes(2) && rooms.some((room) => room > 2), `rooms seen: ${[...new Set(rooms)].sort((a, b) => a - b).join(' ')}`);
      }
    });

    t('a stored item reads back its class through get', async () => {
      const h = await open();
      const value = 'v'.repeat(DEFAULT_CLASSES[4]!.size - modelNtotal(3, 0, 7)); // exactly class 5
      isStatus(h.set('abc', value, { flags: 7 }), Status.SUCCESS, 'set');
      const got = h.get('abc');
      assert.is(got?.clsid, 5);
      assert.is(got?.value, value);
    });

    t('E2BIG exactly when ntotal > item_size_max; store_too_large counts it', async () => {
      const h = await open();
      const max = MIB - modelNtotal(1, 0, 0); // 1048516
      assert.is(max, 1048516);
      const big = pattern(max, 7);
      isStatus(h.set('k', big), Status.SUCCESS, `set of nbytes ${max}`);
      const got = h.get('k');
      sameBytes(got?.bytes ?? new Uint8Array(0), big, 'largest item');
      assert.is(got?.clsid, LARGEST.id, 'a chained item is in the largest class');
      isStatus(-h.allocate('x', max + 1), Status.E2BIG, `allocate of nbytes ${max + 1}`);
      const maxFlags = MIB - modelNtotal(1, 0, 1);
      const item = h.allocate('f', maxFlags, 1);
      assert.ok(item > 0, `allocate with flags, nbytes ${maxFlags}`);
      h.release(item);
      isStatus(-h.allocate('f', maxFlags + 1, 1), Status.E2BIG, `allocate with flags, nbytes ${maxFlags + 1}`);
      const longKey = 'L'.repeat(250);
      const maxLong = MIB - modelNtotal(250, 0, 0);
      const item2 = h.allocate(longKey, maxLong);
      assert.ok(item2 > 0, `allocate with a 250-byte key, nbytes ${maxLong}`);
      h.release(item2);
      isStatus(-h.allocate(longKey, maxLong + 1), Status.E2BIG, 'allocate with a 250-byte key, one more');
      expectStats(h, '', { store_too_large: 3, store_no_memory: 0, curr_items: 1 }, 'stats');
    });

    t('use_cas=false: no CAS bytes in ntotal, CAS reads 0', async () => {
      const h = await open({ use_cas: 'false' });
      const max = MIB - modelNtotal(1, 0, 0, false); // 1048524
      const item = h.allocate('k', max);
      assert.ok(item > 0, `allocate nbytes ${max}`);
      h.release(item);
      isStatus(-h.allocate('k', max + 1), Status.E2BIG, `allocate nbytes ${max + 1}`);
      const stored = h.store('k', 'v');
      isStatus(stored.status, Status.SUCCESS, 'set');
      assert.is(stored.cas, 0n, 'CAS of the stored item');
      assert.is(h.get('k')?.cas, 0n, 'CAS through get');
    });

    t('item_size_max sets the E2BIG limit', async () => {
      const h = await open({ item_size_max: '256k' });
      const max = 256 * 1024 - modelNtotal(1, 0, 0);
      isStatus(h.set('k', pattern(max)), Status.SUCCESS, `nbytes ${max}`);
      isStatus(h.set('k', pattern(max + 1)), Status.E2BIG, `nbytes ${max + 1}`);
      assert.is(h.stat('store_too_large'), 1);
    });

    t('a chained item takes 1 + ceil((ntotal - chunk_max) / (chunk_max - 8)) chunks of the largest class', async () => {
      const h = await open();
      const a = pattern(600_000, 3);
      const ntotalA = modelNtotal(1, a.length, 0);
      assert.is(modelChunks(ntotalA, LARGEST.size), 2);
      isStatus(h.set('a', a), Status.SUCCESS, 'set a');
      const got = h.get('a');
      sameBytes(got?.bytes ?? new Uint8Array(0), a, 'chained value');
      assert.is(got?.clsid, LARGEST.id);
      expectStats(h, 'slabs', { [`${LARGEST.id}:used_chunks`]: 2, [`${LARGEST.id}:total_pages`]: 1 }, 'after a');
      expectStats(h, 'items', { [`items:${LARGEST.id}:number`]: 1, [`items:${LARGEST.id}:mem_requested`]: ntotalA }, 'after a');
      const b = pattern(MIB - modelNtotal(1, 0, 0), 4);
      const ntotalB = modelNtotal(1, b.length, 0);
      assert.is(modelChunks(ntotalB, LARGEST.size), 3);
      isStatus(h.set('b', b), Status.SUCCESS, 'set b');
      expectStats(h, 'slabs', { [`${LARGEST.id}:used_chunks`]: 5, [`${LARGEST.id}:total_pages`]: 3 }, 'after b');
      expectStats(h, '', { bytes: ntotalA + ntotalB, curr_items: 2 }, 'after b');
      isStatus(h.remove('a'), Status.SUCCESS, 'remove a');
      expectStats(h, 'slabs', { [`${LARGEST.id}:used_chunks`]: 3, [`${LARGEST.id}:free_chunks`]: 3 }, 'after remove a');
      sameBytes(h.get('b')?.bytes ?? new Uint8Array(0), b, 'b after a was removed');
    });

    t('E2BIG on SET unlinks the live item under the key; on ADD it does not', async () => {
      const h = await open();
      h.set('s', 'old');
      h.set('a', 'old');
      isStatus(-h.allocate('s', 2 * MIB, 0, 0, SET), Status.E2BIG, 'allocate SET');
      assert.is(h.get('s'), undefined, 'the old value under a SET that failed is gone');
      isStatus(-h.allocate('a', 2 * MIB, 0, 0, ADD), Status.E2BIG, 'allocate ADD');
      assert.is(h.get('a')?.value, 'old', 'ADD leaves the old value');
      expectStats(h, '', { store_too_large: 2, delete_hits: 0, curr_items: 1 }, 'stats');
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('store modes and CAS');

    t('set stores value, flags and exptime; the first CAS is 1 and each link takes the next', async () => {
      const h = await open();
      const a = h.store('a', 'hello');
      isStatus(a.status, Status.SUCCESS, 'set a');
      assert.is(a.cas, 1n, 'first CAS');
      const got = h.get('a');
      assert.equal(
        got && { value: got.value, flags: got.flags, cas: got.cas, exptime: got.exptime, key: got.key },
        { value: 'hello', flags: 0, cas: 1n, exptime: 0, key: 'a' },
      );
      assert.is(h.store('b', '', { flags: 0xffffffff }).cas, 2n);
      const b = h.get('b');
      assert.is(b?.flags, 0xffffffff, 'u32 flags');
      assert.is(b?.value, '', 'empty value');
      assert.is(h.store('a', 'x').cas, 3n);
      assert.is(h.get('a')?.value, 'x');
      expectStats(h, '', { curr_items: 2, total_items: 3, cmd_set: 3 }, 'stats');
    });

    t('add stores only when the key is missing; a failed add takes no CAS', async () => {
      const h = await open();
      const first = h.store('a', 'v1', { op: ADD });
      isStatus(first.status, Status.SUCCESS, 'add on a miss');
      assert.is(first.cas, 1n);
      isStatus(h.set('a', 'v2', { op: ADD }), Status.NOT_STORED, 'add on a live key');
      const got = h.get('a');
      assert.is(got?.value, 'v1');
      assert.is(got?.cas, 1n);
      assert.is(h.store('b', 'x').cas, 2n, 'the next CAS after a failed add');
    });

    t('add on a live key refreshes its time when it is older than 60 s', async () => {
      const h = await open();
      h.set('a', 'v');
      h.advance(60);
      // The only item stays in HOT (it was held by the store that linked it): age_hot is now - time.
      isStatus(h.set('a', 'w', { op: ADD }), Status.NOT_STORED, 'add');
      assert.is(h.classStat('items', 1, 'age_hot'), 60, 'time < now - 60 is false at 60 s: unchanged');
      h.advance(1);
      isStatus(h.set('a', 'w', { op: ADD }), Status.NOT_STORED, 'add');
      assert.is(h.classStat('items', 1, 'age_hot'), 0, 'time refreshed at 61 s');
    });

    t('replace stores only when the key is live', async () => {
      const h = await open();
      isStatus(h.set('a', 'v', { op: REPLACE }), Status.NOT_STORED, 'replace on a miss');
      assert.is(h.get('a'), undefined);
      assert.is(h.stat('curr_items'), 0);
      h.set('a', 'v', { flags: 1 });
      const r = h.store('a', 'w', { op: REPLACE, flags: 2, exptime: 100 });
      isStatus(r.status, Status.SUCCESS, 'replace on a live key');
      assert.is(r.cas, 2n);
      const got = h.get('a');
      assert.equal(got && [got.value, got.flags, got.exptime], ['w', 2, h.clock.realtime(100)]);
    });

    t('append and prepend: NOT_STORED on a miss; the old flags and exptime stay; a new CAS', async () => {
      const h = await open();
      isStatus(h.set('a', 'x', { op: APPEND }), Status.NOT_STORED, 'append on a miss');
      isStatus(h.set('a', 'x', { op: PREPEND }), Status.NOT_STORED, 'prepend on a miss');
      assert.is(h.stat('curr_items'), 0);
      h.set('a', 'mid', { flags: 7, exptime: 100 });
      const exptime = h.clock.realtime(100);
      h.advance(5);
      const app = h.store('a', '>>', { op: APPEND, flags: 9, exptime: 0 });
      isStatus(app.status, Status.SUCCESS, 'append');
      assert.is(app.cas, 2n);
      const pre = h.store('a', '<<', { op: PREPEND, flags: 11, exptime: 5 });
      isStatus(pre.status, Status.SUCCESS, 'prepend');
      assert.is(pre.cas, 3n);
      const got = h.get('a');
      assert.equal(got && [got.value, got.flags, got.exptime, got.cas], ['<<mid>>', 7, exptime, 3n]);
      assert.is(got?.clsid, modelClassFor(DEFAULT_CLASSES, modelNtotal(1, 7, 7)).id);
      expectStats(h, '', { curr_items: 1, bytes: modelNtotal(1, 7, 7) }, 'stats');
    });

    t('append and prepend with a CAS: KEY_EEXISTS on a mismatch, stored on a match', async () => {
      const h = await open();
      const cas = h.store('a', 'b').cas;
      isStatus(h.set('a', 'c', { op: APPEND, cas: cas + 1n }), Status.KEY_EEXISTS, 'append, wrong CAS');
      isStatus(h.set('a', 'a', { op: PREPEND, cas: cas + 1n }), Status.KEY_EEXISTS, 'prepend, wrong CAS');
      assert.is(h.get('a')?.value, 'b');
      const app = h.store('a', 'c', { op: APPEND, cas });
      isStatus(app.status, Status.SUCCESS, 'append, right CAS');
      isStatus(h.set('a', 'a', { op: PREPEND, cas: app.cas }), Status.SUCCESS, 'prepend, right CAS');
      assert.is(h.get('a')?.value, 'abc');
    });

    t('append past item_size_max answers NOT_STORED and keeps the old value', async () => {
      const h = await open();
      const max = MIB - modelNtotal(1, 0, 0);
      const old = pattern(max - 10, 9);
      h.set('a', old);
      isStatus(h.set('a', 'y'.repeat(11), { op: APPEND }), Status.NOT_STORED, 'append to ntotal max + 1');
      isStatus(h.set('a', 'y'.repeat(11), { op: PREPEND }), Status.NOT_STORED, 'prepend to ntotal max + 1');
      sameBytes(h.get('a')?.bytes ?? new Uint8Array(0), old, 'old value');
      isStatus(h.set('a', 'y'.repeat(10), { op: APPEND }), Status.SUCCESS, 'append to ntotal max');
      assert.is(h.get('a')?.bytes.length, max);
    });

    t('cas: KEY_ENOENT on a miss, KEY_EEXISTS on a mismatch, stored on a match; stats by class', async () => {
      const h = await open();
      isStatus(h.set('a', 'x', { op: CAS, cas: 1n }), Status.KEY_ENOENT, 'cas on a miss');
      assert.is(h.stat('cas_misses'), 1);
      assert.is(h.stat('curr_items'), 0);
      const first = h.store('a', 'v');
      assert.is(first.cas, 1n);
      isStatus(h.set('a', 'x', { op: CAS, cas: 2n }), Status.KEY_EEXISTS, 'cas with a wrong value');
      isStatus(h.set('a', 'x', { op: CAS, cas: 0n }), Status.KEY_EEXISTS, 'cas with 0');
      assert.is(h.get('a')?.value, 'v');
      const ok = h.store('a', 'y', { op: CAS, cas: 1n, flags: 4 });
      isStatus(ok.status, Status.SUCCESS, 'cas with the right value');
      assert.is(ok.cas, 2n, 'failed cas stores take no CAS');
      isStatus(h.set('a', 'z', { op: CAS, cas: 1n }), Status.KEY_EEXISTS, 'cas with the old value');
      const got = h.get('a');
      assert.equal(got && [got.value, got.flags, got.cas], ['y', 4, 2n]);
      expectStats(h, '', { cas_misses: 1, cas_hits: 1, cas_badval: 3 }, 'stats');
      expectStats(h, 'slabs', { '1:cas_hits': 1, '1:cas_badval': 3 }, 'stats slabs');
    });

    t('cmd_set counts every store, stored or not, in the class of the new item', async () => {
      const h = await open();
      h.set('a', 'v');
      h.set('a', 'v', { op: ADD });
      h.set('b', 'v', { op: REPLACE });
      h.set('c', 'v', { op: CAS, cas: 5n });
      h.set('a', 'w', { op: APPEND });
      h.set('d', 'x'.repeat(200)); // ntotal 260: class 6 (304)
      expectStats(h, '', { cmd_set: 6 }, 'stats');
      expectStats(h, 'slabs', { '1:cmd_set': 5, '6:cmd_set': 1 }, 'stats slabs');
    });

    t('a CAS of 0, or any CAS with use_cas=false, never matches (CAS_NONE); append then ignores it', async () => {
      const h = await open();
      h.set('a', 'v');
      isStatus(h.set('a', 'x', { op: CAS, cas: 0n }), Status.KEY_EEXISTS, 'cas 0');
      const off = await open({ use_cas: 'false' });
      off.set('a', 'v');
      for (const cas of [0n, 1n]) isStatus(off.set('a', 'x', { op: CAS, cas }), Status.KEY_EEXISTS, `cas ${cas}, CAS off`);
      isStatus(off.set('nope', 'x', { op: CAS, cas: 0n }), Status.KEY_ENOENT, 'missing');
      isStatus(off.set('a', '+', { op: APPEND, cas: 5n }), Status.SUCCESS, 'append with a CAS, CAS off');
      assert.is(off.get('a')?.value, 'v+');
      expectStats(off, '', { cas_badval: 2, cas_misses: 1, cas_hits: 0 }, 'CAS off');
    });

    t('CAS grows on every mutation (in-place incr too), never on get, touch, gat or a failed store', async () => {
      const h = await open();
      const cas = (key: string): bigint | undefined => h.get(key)?.cas;
      assert.is(h.store('a', '10').cas, 1n);
      h.get('a');
      h.touch('a', 100);
      h.gat('a', 0);
      assert.is(cas('a'), 1n, 'after get, touch, gat');
      const inc = h.incr('a', 5); // "15": in place
      assert.equal([statusName(inc.status), inc.value, inc.cas], ['SUCCESS', 15n, 2n]);
      assert.is(cas('a'), 2n);
      assert.is(h.decr('a', 6).cas, 3n); // "9 " in place
      assert.is(h.incr('a', 91).cas, 4n); // "100": a new item
      assert.is(cas('a'), 4n);
      isStatus(h.set('a', 'x', { op: ADD }), Status.NOT_STORED, 'add');
      isStatus(h.set('b', 'x', { op: REPLACE }), Status.NOT_STORED, 'replace');
      assert.is(h.store('b', 'x').cas, 5n);
      assert.is(h.store('b', 'y', { op: APPEND }).cas, 6n);
      assert.is(h.store('b', 'w', { op: PREPEND }).cas, 7n);
      assert.is(h.store('b', 'z', { op: REPLACE }).cas, 8n);
      assert.is(h.store('b', 'q', { op: CAS, cas: 8n }).cas, 9n);
      isStatus(h.remove('b'), Status.SUCCESS, 'remove');
      assert.is(h.store('b', 'x').cas, 10n);
    });

    t('store publishes the new CAS through getItemInfo until release', async () => {
      const h = await open();
      h.set('a', 'v');
      const item = h.allocate('a', 3, 5, 0, SET);
      h.engine.itemValue(item).set([1, 2, 3]);
      isStatus(h.sync(h.engine.store(item, SET, 0n), 'store'), Status.SUCCESS, 'store');
      const info = createItemInfo();
      h.engine.getItemInfo(item, info, true);
      assert.equal([info.cas, info.flags, latin1(itemInfoKey(info)), [...itemInfoValue(info)]], [2n, 5, 'a', [1, 2, 3]]);
      h.release(item);
      assert.equal([...(h.get('a')?.bytes ?? [])], [1, 2, 3]);
    });

    t('an allocated item released without store is never linked and frees its chunk', async () => {
      const h = await open();
      const item = h.allocate('a', 10);
      h.engine.itemValue(item).fill(65);
      h.release(item);
      assert.is(h.get('a'), undefined);
      expectStats(h, '', { curr_items: 0, bytes: 0, total_items: 0 }, 'stats');
      expectStats(h, 'slabs', { '1:total_pages': 1, '1:used_chunks': 0 }, 'stats slabs');
    });

    t('an allocated item is filled through the range getItemInfo gives, a chained one too', async () => {
      const h = await open();
      const info = createItemInfo();
      for (const [key, n] of [['small', 3], ['chained', 700_000]] as const) {
        const value = pattern(n, 3);
        const item = h.allocate(key, n);
        h.engine.getItemInfo(item, info, false);
        assert.is(info.nvalue, n, `${key}: nvalue`);
        info.valueBytes.set(value, info.valueOffset);
        isStatus(h.sync(h.engine.store(item, SET, 0n), 'store'), Status.SUCCESS, `${key}: store`);
        h.release(item);
        sameBytes(h.get(key)?.bytes ?? new Uint8Array(0), value, `${key}: stored value`);
      }
      assert.is(h.get('chained')?.clsid, LARGEST.id, 'the long value is chained');
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('remove');

    t('remove: KEY_ENOENT on a miss, KEY_EEXISTS on a CAS mismatch (no stats), else gone', async () => {
      const h = await open();
      isStatus(h.remove('a'), Status.KEY_ENOENT, 'remove on a miss');
      expectStats(h, '', { delete_misses: 1, delete_hits: 0 }, 'after a miss');
      const cas = h.store('a', 'v').cas;
      isStatus(h.remove('a', cas + 1n), Status.KEY_EEXISTS, 'remove with a wrong CAS');
      expectStats(h, '', { delete_misses: 1, delete_hits: 0, curr_items: 1 }, 'after a mismatch');
      assert.is(h.get('a')?.value, 'v');
      isStatus(h.remove('a', cas), Status.SUCCESS, 'remove with the right CAS');
      assert.is(h.get('a'), undefined);
      h.set('b', 'v');
      isStatus(h.remove('b', 0n), Status.SUCCESS, 'remove without CAS');
      expectStats(h, '', { delete_misses: 1, delete_hits: 2, curr_items: 0, bytes: 0, total_items: 2 }, 'end');
      expectStats(h, 'slabs', { '1:delete_hits': 2, '1:used_chunks': 0 }, 'stats slabs');
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('expiry');

    t('exptime: 0 never; up to 30 days relative; larger is absolute unix time', async () => {
      const h = await open();
      const now = h.now();
      const unix = h.clock.now();
      const cases: Array<[number, number]> = [
        [0, 0],
        [1, now + 1],
        [10, now + 10],
        [THIRTY_DAYS, now + THIRTY_DAYS],
        [unix + 100, now + 100],
        [unix + THIRTY_DAYS * 2, now + THIRTY_DAYS * 2],
      ];
      for (const [exptime, rel] of cases) {
        isStatus(h.set('k', 'v', { exptime }), Status.SUCCESS, `set exptime ${exptime}`);
        assert.is(h.get('k')?.exptime, rel, `exptime ${exptime} is rel time ${rel}`);
      }
    });

    t('negative, past absolute and 30 days + 1 (absolute, 1970) are expired at once', async () => {
      const h = await open();
      const unix = h.clock.now();
      const expired = [-1, -THIRTY_DAYS * 10, THIRTY_DAYS + 1, unix - 1, unix, h.clock.processStarted()];
      for (const exptime of expired) {
        isStatus(h.set('k', 'v', { exptime }), Status.SUCCESS, `set exptime ${exptime}`);
        assert.is(h.get('k'), undefined, `exptime ${exptime} is already expired`);
      }
      expectStats(h, '', { get_expired: expired.length, get_misses: expired.length, curr_items: 0, bytes: 0 }, 'stats');
    });

    t('an item expires exactly when exptime <= now', async () => {
      const h = await open();
      h.set('a', 'v', { exptime: 10 });
      h.set('b', 'v', { exptime: h.clock.now() + 5 });
      h.advance(4);
      assert.ok(h.get('b'), 'b at 4 s');
      h.advance(1);
      assert.is(h.get('b'), undefined, 'b at 5 s');
      h.advance(4);
      assert.ok(h.get('a'), 'a at 9 s');
      h.advance(1);
      assert.is(h.get('a'), undefined, 'a at 10 s');
      expectStats(h, '', { get_expired: 2, get_misses: 2, get_hits: 2, curr_items: 0, bytes: 0 }, 'stats');
    });

    t('exptime 0 never expires', async () => {
      const h = await open();
      h.set('a', 'v');
      h.advance(10 * 365 * 86400);
      assert.is(h.get('a')?.value, 'v');
    });

    const paths: Array<{ path: string; run(h: EngineHarness, cas: bigint): void; stats: Record<string, number>; items: number }> = [
      { path: 'get', run: (h) => assert.is(h.get('k'), undefined), stats: { get_misses: 1 }, items: 0 },
      { path: 'gat', run: (h) => assert.is(h.gat('k', 100), undefined), stats: { touch_misses: 1, touch_hits: 0 }, items: 0 },
      { path: 'touch', run: (h) => isStatus(h.touch('k', 100), Status.KEY_ENOENT, 'touch'), stats: { touch_misses: 1 }, items: 0 },
      { path: 'incr', run: (h) => isStatus(h.incr('k', 1).status, Status.KEY_ENOENT, 'incr'), stats: { incr_misses: 1, incr_hits: 0 }, items: 0 },
      { path: 'decr', run: (h) => isStatus(h.decr('k', 1).status, Status.KEY_ENOENT, 'decr'), stats: { decr_misses: 1, decr_hits: 0 }, items: 0 },
      {
        path: 'incr with create',
        run: (h) => {
          const r = h.incr('k', 1, { create: true, initial: 7n });
          assert.equal([statusName(r.status), r.value], ['SUCCESS', 7n]);
          assert.is(h.get('k')?.value, '7');
        },
        stats: { incr_misses: 0 },
        items: 1,
      },
      { path: 'append', run: (h) => isStatus(h.set('k', 'x', { op: APPEND }), Status.NOT_STORED, 'append'), stats: {}, items: 0 },
      { path: 'prepend', run: (h) => isStatus(h.set('k', 'x', { op: PREPEND }), Status.NOT_STORED, 'prepend'), stats: {}, items: 0 },
      { path: 'add', run: (h) => isStatus(h.set('k', 'x', { op: ADD }), Status.SUCCESS, 'add'), stats: {}, items: 1 },
      { path: 'replace', run: (h) => isStatus(h.set('k', 'x', { op: REPLACE }), Status.NOT_STORED, 'replace'), stats: {}, items: 0 },
      { path: 'set', run: (h) => isStatus(h.set('k', 'x'), Status.SUCCESS, 'set'), stats: {}, items: 1 },
      {
        path: 'cas',
        run: (h, cas) => isStatus(h.set('k', 'x', { op: CAS, cas }), Status.KEY_ENOENT, 'cas'),
        stats: { cas_misses: 1, cas_badval: 0, cas_hits: 0 },
        items: 0,
      },
      { path: 'remove', run: (h) => isStatus(h.remove('k'), Status.KEY_ENOENT, 'remove'), stats: { delete_misses: 1, delete_hits: 0 }, items: 0 },
      {
        path: 'remove with cas',
        run: (h, cas) => isStatus(h.remove('k', cas), Status.KEY_ENOENT, 'remove with cas'),
        stats: { delete_misses: 1 },
        items: 0,
      },
    ];

    t('expiry is lazy and decided at lookup on every path', async () => {
      for (const { path, run, stats, items } of paths) {
        const h = await open();
        const cas = h.store('k', '5', { exptime: 10 }).cas;
        h.advance(10);
        assert.is(h.stat('curr_items'), 1, `${path}: nothing is freed before a lookup`);
        run(h, cas);
        expectStats(h, '', { ...stats, get_expired: 1, get_flushed: 0, curr_items: items }, path);
        closeAll(true);
      }
    });

    t('a flush is applied at lookup on every path', async () => {
      for (const { path, run, stats, items } of paths) {
        const h = await open();
        const cas = h.store('k', '5').cas;
        isStatus(h.flush(0), Status.SUCCESS, 'flush');
        assert.is(h.stat('curr_items'), 1, `${path}: nothing is freed before a lookup`);
        run(h, cas);
        expectStats(h, '', { ...stats, get_flushed: 1, get_expired: 0, curr_items: items }, path);
        closeAll(true);
      }
    });

    t('a flushed item that has also expired counts as flushed', async () => {
      const h = await open();
      h.set('a', 'v', { exptime: 5 });
      h.flush(0);
      h.advance(10);
      assert.is(h.get('a'), undefined);
      expectStats(h, '', { get_flushed: 1, get_expired: 0 }, 'stats');
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('touch and gat');

    t('touch sets the exptime and keeps the CAS; touch_hits by class, touch_misses', async () => {
      const h = await open();
      isStatus(h.touch('a', 10), Status.KEY_ENOENT, 'touch on a miss');
      h.set('a', 'v', { exptime: 10 });
      h.advance(5);
      isStatus(h.touch('a', 10), Status.SUCCESS, 'touch');
      const got = h.get('a');
      assert.equal(got && [got.exptime, got.cas, got.value], [h.now() + 10, 1n, 'v']);
      h.advance(9);
      assert.ok(h.get('a'), 'alive 14 s after set, 9 s after touch');
      h.advance(1);
      assert.is(h.get('a'), undefined, 'expired 10 s after touch');
      expectStats(h, '', { touch_hits: 1, touch_misses: 1, get_hits: 2, get_expired: 1 }, 'stats');
      expectStats(h, 'slabs', { '1:touch_hits': 1, '1:get_hits': 2 }, 'stats slabs');
    });

    t('touch to 0 removes the expiry; touch to -1 expires the item', async () => {
      const h = await open();
      h.set('a', 'v', { exptime: 10 });
      h.set('b', 'v');
      isStatus(h.touch('a', 0), Status.SUCCESS, 'touch 0');
      isStatus(h.touch('b', -1), Status.SUCCESS, 'touch -1');
      h.advance(100);
      assert.is(h.get('a')?.exptime, 0);
      assert.is(h.get('b'), undefined);
      assert.is(h.stat('get_expired'), 1);
    });

    t('gat returns the item with its new exptime; counts touch_hits, not get_hits', async () => {
      const h = await open();
      assert.is(h.gat('a', 10), undefined, 'gat on a miss');
      h.set('a', 'value', { flags: 3 });
      h.advance(2);
      const got = h.gat('a', 30);
      assert.equal(
        got && [got.value, got.flags, got.cas, got.exptime],
        ['value', 3, 1n, h.now() + 30],
      );
      expectStats(h, '', { touch_hits: 1, touch_misses: 1, get_hits: 0, get_misses: 0 }, 'stats');
      expectStats(h, 'slabs', { '1:touch_hits': 1, '1:get_hits': 0 }, 'stats slabs');
      h.advance(30);
      assert.is(h.gat('a', 30), undefined, 'expired before the touch');
      assert.is(h.stat('get_expired'), 1);
    });

    t('touch and gat bump like get: FETCHED first, then ACTIVE', async () => {
      const h = await open();
      h.set('a', 'v');
      h.set('b', 'v'); // a to COLD, b stays in HOT
      h.touch('a', 0);
      assert.is(h.get('a')?.fetched, true);
      assert.is(h.stat('moves_to_warm'), 1, 'touch then get: ACTIVE in COLD moves to WARM');
      h.gat('b', 0);
      h.touch('b', 0);
      assert.is(h.classStat('items', 1, 'number_warm'), 1, 'b is ACTIVE in HOT: no move yet');
      // c's link: the ACTIVE HOT tail b goes to WARM; then in WARM, ACTIVE a is relinked and b,
      // the item before it, is over the WARM limit (2 of 3 items) and goes to COLD.
      h.set('c', 'v');
      expectStats(
        h,
        'items',
        {
          'items:1:moves_to_warm': 2, 'items:1:moves_within_lru': 1, 'items:1:moves_to_cold': 2,
          'items:1:number_hot': 1, 'items:1:number_warm': 1, 'items:1:number_cold': 1,
        },
        'after c',
      );
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('incr and decr');
    const valueOf = (h: EngineHarness, key: string): string | undefined => h.get(key)?.value;

    t('incr and decr: results, in-place padding, hits and misses by class', async () => {
      const h = await open();
      h.set('a', '10');
      const r = h.incr('a', 5);
      assert.equal([statusName(r.status), r.value, r.cas], ['SUCCESS', 15n, 2n]);
      assert.is(valueOf(h, 'a'), '15');
      assert.equal(h.decr('a', 6).value, 9n);
      assert.is(valueOf(h, 'a'), '9 ', 'a shorter result is written in place, padded with spaces');
      assert.equal(h.incr('a', 91).value, 100n);
      assert.is(valueOf(h, 'a'), '100', 'a longer result is a new item');
      assert.equal(h.decr('a', 91).value, 9n);
      assert.is(valueOf(h, 'a'), '9  ');
      assert.equal(h.incr('a', 0).value, 9n);
      isStatus(h.incr('nope', 1).status, Status.KEY_ENOENT, 'incr on a miss');
      isStatus(h.decr('nope', 1).status, Status.KEY_ENOENT, 'decr on a miss');
      expectStats(h, '', { incr_hits: 3, decr_hits: 2, incr_misses: 1, decr_misses: 1 }, 'stats');
      expectStats(h, 'slabs', { '1:incr_hits': 3, '1:decr_hits': 2 }, 'stats slabs');
    });

    t('incr wraps at 2^64; decr floors at 0', async () => {
      const h = await open();
      h.set('max', U64_MAX.toString());
      assert.is(h.incr('max', 1).value, 0n, '18446744073709551615 + 1');
      assert.is(valueOf(h, 'max'), '0'.padEnd(20), 'in place, padded to 20');
      h.set('one', '1');
      assert.is(h.incr('one', U64_MAX).value, 0n, '1 + (2^64 - 1)');
      h.set('big', '18446744073709551610');
      assert.is(h.incr('big', 10).value, 4n);
      h.set('m', U64_MAX.toString());
      assert.is(h.decr('m', 1).value, U64_MAX - 1n);
      assert.is(valueOf(h, 'm'), '18446744073709551614');
      h.set('five', '5');
      assert.is(h.decr('five', 10).value, 0n);
      assert.is(valueOf(h, 'five'), '0');
      assert.is(h.decr('five', U64_MAX).value, 0n);
      h.set('d', '7');
      assert.is(h.decr('d', U64_MAX).value, 0n);
    });

    t('the value is parsed as strtoull does', async () => {
      const h = await open();
      const numeric: Array<[string, bigint, string]> = [
        [' 12', 13n, '13 '],
        ['+12', 13n, '13 '],
        ['-0', 1n, '1 '],
        ['12 ', 13n, '13 '],
        ['\t7', 8n, '8 '],
        ['\n\v\f\r 7', 8n, '8     '],
        ['007', 8n, '8  '],
        ['1 2', 2n, '2  '],
        ['12\r\n', 13n, '13  '],
        ['18446744073709551614', U64_MAX, U64_MAX.toString()],
      ];
      for (const [value, result, stored] of numeric) {
        h.set('n', value);
        const r = h.incr('n', 1);
        assert.equal([statusName(r.status), r.value], ['SUCCESS', result], `incr 1 on ${JSON.stringify(value)}`);
        assert.is(valueOf(h, 'n'), stored, `value after incr on ${JSON.stringify(value)}`);
      }
      const invalid = ['-1', '12a', '', 'abc', ' ', '+', '-', '0x10', '18446744073709551616', '99999999999999999999', '-9223372036854775808', 'a1'];
      for (const value of invalid) {
        h.set('n', value);
        isStatus(h.incr('n', 1).status, Status.EINVAL, `incr on ${JSON.stringify(value)}`);
        isStatus(h.decr('n', 1).status, Status.EINVAL, `decr on ${JSON.stringify(value)}`);
        assert.is(valueOf(h, 'n'), value, `${JSON.stringify(value)} is left alone`);
      }
    });

    t('incr on a chained item is EINVAL', async () => {
      const h = await open();
      const value = '1'.padEnd(600_000);
      h.set('n', value);
      isStatus(h.incr('n', 1).status, Status.EINVAL, 'incr on a chained item');
      assert.is(valueOf(h, 'n'), value);
    });

    t('a new item from a longer result keeps the old flags and exptime', async () => {
      const h = await open();
      h.set('a', '99', { flags: 7, exptime: 100 });
      const exptime = h.clock.realtime(100);
      h.advance(3);
      assert.is(h.incr('a', 1).value, 100n);
      const got = h.get('a');
      assert.equal(got && [got.value, got.flags, got.exptime], ['100', 7, exptime]);
    });

    t('an in-place result refreshes time only when it is older than 60 s', async () => {
      const h = await open();
      h.set('a', '10'); // the only item: it stays in HOT, so age_hot is now - time
      h.advance(61);
      h.incr('a', 1);
      assert.is(h.classStat('items', 1, 'age_hot'), 0, 'time refreshed after 61 s');
      h.advance(30);
      h.incr('a', 1);
      assert.is(h.classStat('items', 1, 'age_hot'), 30, 'not refreshed after 30 s');
      h.advance(31);
      h.incr('a', 1);
      assert.is(h.classStat('items', 1, 'age_hot'), 0, 'refreshed after 61 s');
    });

    t('with create: a missing key becomes initial (flags 0, the given exptime), counting no miss', async () => {
      const h = await open();
      const r = h.incr('a', 5, { create: true, initial: 42n, exptime: 100 });
      assert.equal([statusName(r.status), r.value, r.cas], ['SUCCESS', 42n, 1n]);
      const got = h.get('a');
      assert.equal(got && [got.value, got.flags, got.exptime, got.cas], ['42', 0, h.clock.realtime(100), 1n]);
      const again = h.incr('a', 5, { create: true, initial: 42n });
      assert.equal([again.value, again.cas], [47n, 2n], 'an existing key is incremented');
      const d = h.decr('b', 5, { create: true, initial: U64_MAX });
      assert.is(d.value, U64_MAX);
      assert.is(valueOf(h, 'b'), U64_MAX.toString());
      // memcached's ma N and binary incr with an initial value count no miss when they create.
      expectStats(h, '', { incr_misses: 0, incr_hits: 1, decr_misses: 0, curr_items: 2, cmd_set: 0 }, 'stats');
    });

    t('with a CAS: KEY_EEXISTS on a mismatch, applied on a match', async () => {
      const h = await open();
      const cas = h.store('a', '10').cas;
      isStatus(h.incr('a', 1, { cas: cas + 1n }).status, Status.KEY_EEXISTS, 'wrong CAS');
      assert.is(valueOf(h, 'a'), '10');
      const r = h.incr('a', 1, { cas });
      assert.equal([statusName(r.status), r.value, r.cas], ['SUCCESS', 11n, cas + 1n]);
      isStatus(h.decr('a', 1, { cas }).status, Status.KEY_EEXISTS, 'the old CAS');
    });

    t('a held item is not changed in place: the result is a new item', async () => {
      const h = await open();
      h.set('a', '10');
      const held = h.hold('a')!;
      assert.is(h.decr('a', 1).value, 9n);
      assert.is(h.view(held).value, '10', 'the held item keeps its bytes');
      assert.is(valueOf(h, 'a'), '9', 'a new item of the result length');
      h.release(held);
      assert.is(valueOf(h, 'a'), '9');
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('references');

    t('a held item keeps its bytes across replace, append and remove until release', async () => {
      const h = await open();
      h.set('a', 'old', { flags: 1 });
      const held = h.hold('a')!;
      h.set('a', 'new', { flags: 2 });
      assert.equal([h.view(held).value, h.view(held).flags], ['old', 1]);
      assert.is(h.get('a')?.value, 'new');
      h.set('a', '!', { op: APPEND });
      isStatus(h.remove('a'), Status.SUCCESS, 'remove');
      assert.is(h.view(held).value, 'old');
      assert.is(h.get('a'), undefined);
      h.release(held);
    });

    t('a get lets go of an item held HOLD_MAX times (limited_get): a counted miss, or TMPFAIL for a meta get', async () => {
      const h = await open();
      h.set('a', 'v'.repeat(5000));
      const key = toBytes('a');
      const held: ItemHandle[] = [];
      for (let i = 0; i < HOLD_MAX; i++) held.push(h.hold('a')!);
      assert.is(held.length, HOLD_MAX);
      const counts = () => ({ hits: h.stat('get_hits'), misses: h.stat('get_misses'), touchHits: h.stat('touch_hits'), touchMisses: h.stat('touch_misses') });
      const before = counts();
      assert.is(h.hold('a'), undefined, 'a plain get misses');
      assert.equal(counts(), { ...before, misses: before.misses + 1 }, 'and counts a miss');
      const meta = createGetRequest();
      meta.vivify = true;
      assert.is(h.sync(h.engine.get(key, meta), 'get'), -Status.TMPFAIL, 'a meta get is told');
      assert.is(meta.created, false, 'and makes nothing');
      assert.equal(counts(), { ...before, misses: before.misses + 1 }, 'and counts nothing');
      assert.is(h.sync(h.engine.getAndTouch(key, 100), 'getAndTouch'), -Status.KEY_ENOENT, 'gat misses');
      assert.equal(counts(), { ...before, misses: before.misses + 1, touchMisses: before.touchMisses + 1 }, 'gat counts a touch miss');
      if (h.engine.getMany !== undefined) {
        const many = h.engine.getMany([key], 0, 1, 0);
        assert.is(many.table[many.base + Many.ITEM], 0, 'a held hit of getMany misses');
        assert.equal(counts(), { ...before, misses: before.misses + 2, touchMisses: before.touchMisses + 1 }, 'and counts a miss');
      }
      // One reference given back: gets hold it again.
      h.release(held.pop()!);
      const again = h.hold('a');
      assert.ok(again !== undefined, 'held again');
      assert.is(h.view(again).value, 'v'.repeat(5000));
      h.release(again);
      for (const item of held) h.release(item);
      assert.is(h.get('a')?.value, 'v'.repeat(5000));
    });

    t('the chunk of an unlinked item is freed at the last release', async () => {
      const h = await open();
      h.set('a', 'v');
      const one = h.hold('a')!;
      const two = h.hold('a')!;
      isStatus(h.remove('a'), Status.SUCCESS, 'remove');
      expectStats(h, '', { curr_items: 0, bytes: 0 }, 'unlinked');
      expectStats(h, 'slabs', { '1:used_chunks': 1 }, 'held by two');
      h.release(one);
      assert.is(h.view(two).value, 'v');
      expectStats(h, 'slabs', { '1:used_chunks': 1 }, 'held by one');
      h.release(two);
      expectStats(h, 'slabs', { '1:used_chunks': 0, '1:free_chunks': DEFAULT_CLASSES[0]!.perslab }, 'released');
    });

    t('a held item outlives expiry and flush', async () => {
      const h = await open();
      h.set('a', 'v1', { exptime: 5 });
      h.set('b', 'v2');
      const a = h.hold('a')!;
      const b = h.hold('b')!;
      h.advance(5);
      h.flush(0);
      assert.is(h.get('a'), undefined);
      assert.is(h.get('b'), undefined);
      assert.equal([h.view(a).value, h.view(b).value], ['v1', 'v2']);
      h.release(a);
      h.release(b);
      expectStats(h, 'slabs', { '1:used_chunks': 0 }, 'released');
    });

    t('a stored item outlives the allocate reference', async () => {
      const h = await open();
      const item = h.allocate('a', 2);
      h.engine.itemValue(item).set([104, 105]);
      isStatus(h.sync(h.engine.store(item, SET, 0n), 'store'), Status.SUCCESS, 'store');
      h.release(item);
      assert.is(h.get('a')?.value, 'hi');
      expectStats(h, 'slabs', { '1:used_chunks': 1 }, 'linked');
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('getMany');
    interface Answer {
      value: string;
      flags: number;
      cas: bigint;
      held: boolean;
    }
    /** getMany's answers, read as the server reads them; held items are released. */
    const getMany = (h: EngineHarness, keys: readonly string[], holdMin: number, from = 0, count = keys.length): Array<Answer | undefined> => {
      assert.type(h.engine.getMany, 'function', 'the engine implements getMany');
      const { table, base, bytes, view } = h.engine.getMany!(keys.map((key) => toBytes(key)), from, count, holdMin);
      assert.ok(view.buffer === bytes.buffer && view.byteOffset === bytes.byteOffset, 'view shows the same bytes as bytes');
      const answers: Array<Answer | undefined> = [];
      for (let i = 0, at = base; i < count; i++, at += MANY_STRIDE) {
        const item = table[at + Many.ITEM]!;
        if (item === 0) {
          answers.push(undefined);
        } else if (table[at + Many.HELD] === ManyState.HELD) {
          const view = h.view(item);
          h.release(item);
          answers.push({ value: view.value, flags: view.flags, cas: view.cas, held: true });
        } else {
          assert.is(table[at + Many.HELD], ManyState.IN_TABLE, 'held or in the table, without text');
          const key = toBytes(keys[from + i]!);
          assert.equal([...bytes.subarray(table[at + Many.KEY]!, table[at + Many.KEY]! + key.length)], [...key], 'KEY is where the key is');
          const value = latin1(bytes.subarray(table[at + Many.VALUE]!, table[at + Many.VALUE]! + table[at + Many.NVALUE]!));
          const cas = (BigInt(table[at + Many.CAS_HIGH]!) << 32n) | BigInt(table[at + Many.CAS_LOW]!);
          answers.push({ value, flags: table[at + Many.FLAGS]!, cas, held: false });
        }
      }
      return answers;
    };
    const plain = (answers: Array<Answer | undefined>): Array<[string, number, bigint] | undefined> =>
      answers.map((a) => (a === undefined ? undefined : [a.value, a.flags, a.cas]));

    if (name === 'fs') {
      // The fs engine answers keys off memory asynchronously (prefetch): the server asks it key by key.
      t('is not offered by an engine that keeps items on disk', async () => {
        const h = await open();
        assert.is(h.engine.getMany, undefined);
      });
    } else {
      t('answers each key as get does: values, flags, CAS, misses, counts and bumps', async () => {
        const ops = async (viaMany: boolean): Promise<[Array<[string, number, bigint] | undefined>, StatList, StatList]> => {
          const h = await open();
          h.set('a', 'one', { flags: 7 });
          h.set('b', 'x'.repeat(5000), { flags: 0xffffffff });
          h.set('c', '', { exptime: 10 });
          h.advance(10);
          const keys = ['a', 'nope', 'b', 'a', 'c', 'a'];
          let answers: Array<[string, number, bigint] | undefined>;
          if (viaMany) {
            answers = plain(getMany(h, keys, 4096));
          } else {
            answers = keys.map((key) => {
              const view = h.get(key);
              return view === undefined ? undefined : [view.value, view.flags, view.cas];
            });
          }
          return [answers, h.stats(), h.stats('items')];
        };
        const [many, manyStats, manyItems] = await ops(true);
        const [one, oneStats, oneItems] = await ops(false);
        assert.equal(many, one, 'the same answers as get, key by key');
        assert.equal(many.map((a) => a?.[0].length), [3, undefined, 5000, 3, undefined, 3]);
        assert.equal(many[0]?.[1], 7);
        assert.equal(many[2]?.[1], 0xffffffff);
        assert.ok(many[0]![2] > 0n, 'a CAS');
        assert.equal(manyStats, oneStats, 'stats: get_hits, get_misses, get_expired, ...');
        assert.equal(manyItems, oneItems, 'stats items: hits to segments, bumps');
      });

      t('holds what is at least holdMin long, and nothing else', async () => {
        const h = await open();
        h.set('short', 'v'.repeat(100));
        h.set('long', 'w'.repeat(4096));
        const answers = getMany(h, ['short', 'long'], 4096);
        assert.ok(answers[1]!.held, 'a value of holdMin bytes is held');
        assert.is(answers[1]!.value, 'w'.repeat(4096));
        assert.is(answers[0]!.value, 'v'.repeat(100));
        // Unheld: removing the key frees its chunk at once.
        if (!answers[0]!.held) {
          isStatus(h.remove('short'), Status.SUCCESS, 'remove');
          isStatus(h.remove('long'), Status.SUCCESS, 'remove');
          expectStats(h, '', { curr_items: 0 }, 'removed');
          const used = h.stats('slabs').filter(([key]) => key.endsWith(':used_chunks'));
          assert.equal(used.map(([, n]) => n), used.map(() => '0'), 'no chunk is held');
        }
        const all = getMany(h, ['a', 'b'], 0);
        assert.equal(all, [undefined, undefined], 'misses');
      });

      t('keys[from, from + count), up to GET_MANY_MAX of them', async () => {
        const h = await open();
        const keys = Array.from({ length: GET_MANY_MAX + 2 }, (_, i) => keyN('k', i));
        keys.forEach((key, i) => h.set(key, `v${i}`, { flags: i }));
        const answers = getMany(h, keys, 4096, 2, GET_MANY_MAX);
        assert.equal(answers.map((a) => a?.value), keys.slice(2).map((_, i) => `v${i + 2}`));
        assert.equal(answers.map((a) => a?.flags), keys.slice(2).map((_, i) => i + 2));
        expectStats(h, '', { get_hits: GET_MANY_MAX, get_misses: 0 }, 'only those counted');
      });

      /**
       * The text answer to `keys` (ManyText bits in `text`) as the server puts it together: the
       * engine's text runs, and what the table says of each key not WRITTEN. Checks the runs' ends.
       */
      const answerText = (h: EngineHarness, keys: readonly string[], holdMin: number, text: number): { reply: string; written: number } => {
        const answer = h.engine.getMany!(keys.map((key) => toBytes(key)), 0, keys.length, holdMin, text);
        const { table, base, bytes } = answer;
        const endEach = (text & ManyText.END_EACH) !== 0;
        let reply = '';
        const textAt = answer.text ?? -1;
        let run = textAt;
        let written = 0;
        const block = (key: string, value: string, flags: number, cas: bigint): string =>
          `VALUE ${key} ${flags} ${value.length}${text & ManyText.CAS ? ` ${cas}` : ''}\r\n${value}\r\n`;
        for (let i = 0, at = base; i < keys.length; i++, at += MANY_STRIDE) {
          const state = table[at + Many.HELD]!;
          const end = table[at + Many.TEXT_END]!;
          if (textAt < 0) {
            assert.not.equal(state, ManyState.WRITTEN, 'no text from an engine without a text offset');
          } else if (state === ManyState.WRITTEN) {
            written++;
            continue;
          } else {
            assert.ok(end >= run, 'the text only grows');
            reply += latin1(bytes.subarray(run, end));
            run = end;
          }
          const item = table[at + Many.ITEM]!;
          if (item !== 0 && state === ManyState.HELD) {
            const view = h.view(item);
            h.release(item);
            reply += block(keys[i]!, view.value, view.flags, view.cas);
          } else if (item !== 0) {
            const value = latin1(bytes.subarray(table[at + Many.VALUE]!, table[at + Many.VALUE]! + table[at + Many.NVALUE]!));
            const cas = (BigInt(table[at + Many.CAS_HIGH]!) << 32n) | BigInt(table[at + Many.CAS_LOW]!);
            reply += block(keys[i]!, value, table[at + Many.FLAGS]!, cas);
          }
          if (endEach) reply += 'END\r\n';
        }
        if (textAt >= 0) reply += latin1(bytes.subarray(run, table[base + (keys.length - 1) * MANY_STRIDE + Many.TEXT_END]!));
        return { reply, written };
      };
      type Stored = Map<string, { value: string; flags: number; cas: bigint }>;
      /** Stores each [key, value, flags], remembering what a get would answer. */
      const storeAll = (h: EngineHarness, items: ReadonlyArray<[string, string, number]>): Stored => {
        const stored: Stored = new Map();
        for (const [key, value, flags] of items) {
          const { status, cas } = h.store(key, value, { flags });
          isStatus(status, Status.SUCCESS, `set ${key}`);
          stored.set(key, { value, flags, cas });
        }
        return stored;
      };
      /** What memcached answers to those keys. */
      const expectedText = (stored: Stored, keys: readonly string[], text: number): string =>
        keys
          .map((key) => {
            const item = stored.get(key);
            const cas = text & ManyText.CAS ? ` ${item?.cas}` : '';
            const block = item === undefined ? '' : `VALUE ${key} ${item.flags} ${item.value.length}${cas}\r\n${item.value}\r\n`;
            return block + (text & ManyText.END_EACH ? 'END\r\n' : '');
          })
          .join('');

      t('with text: the text protocol answer, in runs, for every form', async () => {
        for (const text of [ManyText.VALUES, ManyText.VALUES | ManyText.CAS, ManyText.VALUES | ManyText.END_EACH, ManyText.VALUES | ManyText.CAS | ManyText.END_EACH]) {
          const h = await open();
          const stored = storeAll(h, [['a', 'one', 7], ['big', 'x'.repeat(5000), 0xffffffff], ['e', '', 0], ['bin', '\r\n\0\xff', 1]]);
          const keys = ['a', 'nope', 'big', 'a', 'e', 'bin', 'nope', 'big'];
          const { reply, written } = answerText(h, keys, 4096, text);
          assert.is(reply, expectedText(stored, keys, text), `text form ${text}`);
          expectStats(h, '', { get_hits: 6, get_misses: 2 }, 'counted as gets');
          if ((h.engine.getMany!([toBytes('a')], 0, 1, 4096, text).text ?? -1) >= 0) {
            // The short hits (and, with END_EACH, the misses) are the engine's; long values held.
            assert.is(written, text & ManyText.END_EACH ? 6 : 4, 'keys written');
          }
        }
      });

      t('with text: what does not fit in the engine\'s room is answered in the table', async () => {
        const h = await open();
        const keys = Array.from({ length: GET_MANY_MAX }, (_, i) => keyN('k', i));
        const stored = storeAll(h, keys.map((key, i) => [key, String.fromCharCode(0x61 + (i % 26)).repeat(20_000 + i), i]));
        // Nothing held: 640 KB of values, more than an engine's room for text.
        const { reply, written } = answerText(h, keys, 0xffffffff, ManyText.VALUES | ManyText.END_EACH);
        assert.is(reply, expectedText(stored, keys, ManyText.VALUES | ManyText.END_EACH));
        assert.ok(written < GET_MANY_MAX, `not every key written (${written})`);
        expectStats(h, '', { get_hits: GET_MANY_MAX }, 'each counted once');
      });

      t('an empty or too long key is a miss and not counted', async () => {
        const h = await open();
        h.set('k', 'v');
        assert.equal(plain(getMany(h, ['', 'x'.repeat(251), 'k'], 4096)), [undefined, undefined, ['v', 0, h.get('k')!.cas]]);
        expectStats(h, '', { get_hits: 2, get_misses: 0 }, 'getMany and the check');
      });
    }
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('flush');

    // Items here sit in different classes, so that no link's LRU juggle reclaims a flushed item
    // before the lookup under test sees it.
    const CLASS_2 = 'x'.repeat(50); // ntotal 110
    const CLASS_3 = 'x'.repeat(70); // ntotal 130

    t('flush now with CAS: older items go, items stored after it in the same second stay', async () => {
      const h = await open();
      h.set('a', 'v'); // cas 1
      h.advance(3);
      h.set('b', CLASS_2); // cas 2, same second as the flush
      isStatus(h.flush(0), Status.SUCCESS, 'flush');
      expectStats(h, '', { curr_items: 2 }, 'nothing is freed eagerly');
      assert.is(h.store('c', CLASS_3).cas, 4n, 'the flush took CAS 3 as oldest_cas');
      assert.is(h.get('a'), undefined);
      assert.is(h.get('b'), undefined);
      assert.is(h.get('c')?.value, CLASS_3);
      expectStats(h, '', { get_flushed: 2, get_misses: 2, get_hits: 1, curr_items: 1, reclaimed: 0 }, 'stats');
    });

    t('flush now without CAS: items stored in the same second are flushed too', async () => {
      const h = await open({ use_cas: 'false' });
      h.set('a', 'v');
      h.flush(0);
      h.set('b', CLASS_2);
      assert.is(h.get('a'), undefined);
      assert.is(h.get('b'), undefined, 'time <= oldest_live');
      h.advance(1);
      h.set('c', CLASS_3);
      assert.is(h.get('c')?.value, CLASS_3);
      expectStats(h, '', { get_flushed: 2, reclaimed: 0 }, 'stats');
    });

    t('a delayed flush with CAS takes effect at realtime(exptime) - 1 for items up to then', async () => {
      const h = await open();
      h.set('a', 'v');
      const first = h.store('x', 'v').cas;
      isStatus(h.flush(10), Status.SUCCESS, 'flush 10');
      assert.is(h.store('y', 'v').cas, first + 1n, 'a delayed flush takes no CAS');
      h.advance(5);
      h.set('b', 'v'); // after the command, before its deadline
      h.advance(3);
      assert.ok(h.get('a') && h.get('b'), 'alive 8 s after the flush');
      h.advance(1);
      assert.is(h.get('a'), undefined, 'flushed 9 s after');
      assert.is(h.get('b'), undefined, 'stored after the command, before the deadline: flushed');
      h.set('c', 'v');
      assert.is(h.get('c'), undefined, 'stored in the deadline second');
      h.advance(1);
      h.set('d', 'v');
      assert.is(h.get('d')?.value, 'v', 'stored after the deadline');
      assert.is(h.stat('get_flushed'), 3);
    });

    t('a delayed flush without CAS takes effect at realtime(exptime)', async () => {
      const h = await open({ use_cas: 'false' });
      h.set('a', 'v');
      h.flush(10);
      h.advance(5);
      h.set('b', 'v');
      h.advance(4);
      assert.ok(h.get('a') && h.get('b'), 'alive 9 s after the flush');
      h.advance(1);
      assert.is(h.get('a'), undefined);
      assert.is(h.get('b'), undefined);
      h.set('c', 'v');
      assert.is(h.get('c'), undefined, 'stored in the deadline second');
      h.advance(1);
      h.set('d', 'v');
      assert.ok(h.get('d'));
    });

    t('a delayed flush takes an absolute unix time as well', async () => {
      const h = await open();
      h.set('a', 'v');
      h.flush(h.clock.now() + 10);
      h.advance(8);
      assert.ok(h.get('a'));
      h.advance(1);
      assert.is(h.get('a'), undefined);
    });

    t('a second flush moves oldest_live again', async () => {
      const h = await open();
      h.set('a', 'v');
      h.flush(0);
      h.set('b', 'v');
      h.advance(10);
      assert.ok(h.get('b'), 'stored after the first flush');
      h.flush(0);
      assert.is(h.get('b'), undefined, 'flushed by the second');
      assert.is(h.stat('get_flushed'), 1);
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('LRU segments');

    // The item a store links is still held by the store's caller (the reference from allocate),
    // so when it is alone in HOT, the juggle's pull_tail finds it reflocked and leaves it there.
    t('link juggles HOT to COLD; a held new item stays; a second hit in COLD moves to WARM', async () => {
      const h = await open();
      const I = (fields: Record<string, number>): Record<string, number> =>
        Object.fromEntries(Object.entries(fields).map(([k, v]) => [`items:1:${k}`, v]));
      h.set('a', 'a'.repeat(36)); // ntotal 96
      expectStats(h, 'items', I({ number_hot: 1, number_cold: 0, lrutail_reflocked: 1, moves_to_cold: 0 }), 'a linked, held');
      h.set('b', ''); // ntotal 60
      expectStats(h, 'items', I({ number_hot: 1, number_cold: 1, lrutail_reflocked: 1, moves_to_cold: 1 }), 'b linked: a to COLD');
      assert.is(h.get('a')?.fetched, true, 'the first hit sets FETCHED');
      expectStats(h, 'items', I({ hits_to_cold: 1, number_cold: 1, moves_to_warm: 0 }), 'first get');
      h.advance(5);
      h.get('a');
      expectStats(
        h,
        'items',
        I({ hits_to_cold: 2, number_warm: 1, number_cold: 0, moves_to_warm: 1, age_warm: 0, age_hot: 5 }),
        'second get: ACTIVE, to WARM with time = now',
      );
      h.get('a');
      assert.is(h.classStat('items', 1, 'hits_to_warm'), 1);
      h.set('c', ''); // ntotal 60
      expectStats(
        h,
        'items',
        I({ number_hot: 1, number_warm: 1, number_cold: 1, moves_to_cold: 2, moves_within_lru: 1 }),
        'c linked: b to COLD; ACTIVE a is relinked within WARM',
      );
      isStatus(h.remove('b'), Status.SUCCESS, 'remove b');
      isStatus(h.remove('c'), Status.SUCCESS, 'remove c');
      h.advance(2);
      h.set('d', ''); // class bytes 156: WARM's 96 is over 40 %
      expectStats(
        h,
        'items',
        I({
          number_hot: 1, number_warm: 0, number_cold: 1, lrutail_reflocked: 2,
          moves_to_cold: 3, moves_to_warm: 1, moves_within_lru: 1,
          age_hot: 0, age: 2, mem_requested: 96 + 60,
        }),
        'd linked alone in HOT (held); a over the WARM limit goes to COLD',
      );
    });

    t('HOT keeps up to hot_lru_pct of the class; an ACTIVE HOT tail moves to WARM', async () => {
      const h = await open();
      const I = (fields: Record<string, number>): Record<string, number> =>
        Object.fromEntries(Object.entries(fields).map(([k, v]) => [`items:1:${k}`, v]));
      for (let i = 1; i <= 10; i++) h.set(keyN('x', i, 2), 'v'.repeat(10)); // ntotal 72 each
      // Linking item N leaves 2 in HOT when 2 * 72 <= floor(N * 72 * 20 / 100): first at N = 10.
      expectStats(h, 'items', I({ number_hot: 2, number_cold: 8, moves_to_cold: 8, lrutail_reflocked: 1 }), 'ten linked');
      h.get('x10');
      h.advance(2);
      h.get('x10');
      h.get('x09');
      h.get('x09');
      expectStats(h, 'items', I({ hits_to_hot: 4, number_hot: 2, age_hot: 0 }), 'x09 and x10 ACTIVE in HOT, time = now');
      h.advance(3);
      h.set('x11', 'v'.repeat(10));
      expectStats(
        h,
        'items',
        I({
          number_hot: 2, number_warm: 1, number_cold: 8, moves_to_warm: 1, moves_to_cold: 8,
          age_hot: 3, age_warm: 3, age: 5,
        }),
        'x11 linked: the ACTIVE tail x09 to WARM',
      );
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('memory and eviction');
    // 2 MiB = 2 pages; items of ntotal 1065 live in class 12 (1184 bytes, 885 per page).
    const VALUE = 'v'.repeat(1000);
    const NTOTAL = modelNtotal(6, VALUE.length, 0);
    const CLS = modelClassFor(DEFAULT_CLASSES, NTOTAL);
    const CAPACITY = 2 * CLS.perslab;
    const fill = (h: EngineHarness, count: number, exptime = (_i: number) => 0, start = 0): void => {
      for (let i = start; i < start + count; i++) {
        isStatus(h.set(keyN('k', i), VALUE, { exptime: exptime(i) }), Status.SUCCESS, `fill ${i}`);
      }
    };

    t('pages are handed out one at a time, up to cache_size / slab_page_size', async () => {
      assert.equal([NTOTAL, CLS.id, CLS.size, CAPACITY], [1065, 12, 1184, 1770]);
      const h = await open({ cache_size: '2m' });
      fill(h, CLS.perslab);
      expectStats(h, 'slabs', { [`${CLS.id}:total_pages`]: 1, total_malloced: MIB, active_slabs: 1 }, 'one page');
      fill(h, 1, () => 0, CLS.perslab);
      expectStats(
        h,
        'slabs',
        { [`${CLS.id}:total_pages`]: 2, [`${CLS.id}:total_chunks`]: CAPACITY, [`${CLS.id}:used_chunks`]: CLS.perslab + 1, total_malloced: 2 * MIB },
        'two pages',
      );
      expectStats(h, '', { evictions: 0, curr_items: CLS.perslab + 1, limit_maxbytes: 2 * MIB }, 'stats');
    });

    t('a full class evicts from the COLD tail: the oldest unfetched item goes first', async () => {
      const h = await open({ cache_size: '2m' });
      fill(h, CAPACITY);
      expectStats(h, '', { evictions: 0, curr_items: CAPACITY }, 'full');
      h.advance(7);
      isStatus(h.set('new000', VALUE), Status.SUCCESS, 'set into a full class');
      assert.is(h.get(keyN('k', 0)), undefined, 'k00000 was evicted');
      assert.ok(h.get(keyN('k', 1)), 'k00001 stays');
      expectStats(h, '', { evictions: 1, evicted_unfetched: 1, evicted_active: 0, curr_items: CAPACITY, reclaimed: 0 }, 'stats');
      expectStats(
        h,
        'items',
        {
          [`items:${CLS.id}:evicted`]: 1, [`items:${CLS.id}:evicted_nonzero`]: 0, [`items:${CLS.id}:evicted_time`]: 7,
          [`items:${CLS.id}:evicted_unfetched`]: 1, [`items:${CLS.id}:outofmemory`]: 0,
        },
        'items',
      );
    });

    t('evicted_nonzero counts evicted items with an exptime', async () => {
      const h = await open({ cache_size: '2m' });
      fill(h, CAPACITY, (i) => (i < 2 ? 1000 : 0));
      h.get(keyN('k', 0));
      h.set('new000', VALUE);
      h.set('new001', VALUE);
      expectStats(
        h,
        'items',
        { [`items:${CLS.id}:evicted`]: 2, [`items:${CLS.id}:evicted_nonzero`]: 2, [`items:${CLS.id}:evicted_unfetched`]: 1 },
        'items',
      );
    });

    t('expired items at the COLD tail are reclaimed (5 per pull) before live ones are evicted', async () => {
      const h = await open({ cache_size: '2m' });
      fill(h, CAPACITY, (i) => (i < 10 ? 100 : 0));
      h.advance(200);
      h.set('new000', VALUE); // reclaims k00000..k00004
      expectStats(h, '', { reclaimed: 5, expired_unfetched: 5, evictions: 0, curr_items: CAPACITY - 4 }, 'first pull');
      for (let i = 1; i <= 4; i++) h.set(keyN('new', i, 3), VALUE); // the free chunks
      expectStats(h, '', { reclaimed: 5, evictions: 0, curr_items: CAPACITY }, 'free chunks used');
      h.set('new005', VALUE); // reclaims k00005..k00009
      expectStats(h, '', { reclaimed: 10, evictions: 0, curr_items: CAPACITY - 4 }, 'second pull');
      for (let i = 6; i <= 9; i++) h.set(keyN('new', i, 3), VALUE);
      h.set('new010', VALUE); // k00010 is live: evicted
      expectStats(h, '', { reclaimed: 10, evictions: 1, curr_items: CAPACITY, get_expired: 0 }, 'eviction');
      assert.is(h.get(keyN('k', 10)), undefined);
      assert.ok(h.get(keyN('k', 11)));
      expectStats(h, 'items', { [`items:${CLS.id}:reclaimed`]: 10, [`items:${CLS.id}:expired_unfetched`]: 10 }, 'items');
    });

    t('flushed items at the LRU tails are reclaimed, not evicted', async () => {
      const h = await open({ cache_size: '2m' });
      fill(h, CAPACITY);
      h.advance(1);
      h.flush(0);
      h.set('new000', VALUE); // 5 from the COLD tail, then 5 from the HOT tail in the juggle
      expectStats(h, '', { reclaimed: 10, evictions: 0, curr_items: CAPACITY - 9, get_flushed: 0 }, 'stats');
      assert.ok(h.get('new000'), 'stored after the flush');
    });

    t('eviction=false: a full class answers ENOMEM; a failed SET unlinks the old value, ADD does not', async () => {
      const h = await open({ cache_size: '2m', eviction: 'false' });
      fill(h, CAPACITY);
      isStatus(h.set('new000', VALUE), Status.ENOMEM, 'set of a new key');
      expectStats(h, '', { store_no_memory: 1, evictions: 0, curr_items: CAPACITY }, 'after ENOMEM');
      assert.is(h.classStat('items', CLS.id, 'outofmemory'), 1);
      isStatus(h.set(keyN('k', 7), VALUE, { op: ADD }), Status.ENOMEM, 'add of a live key');
      assert.ok(h.get(keyN('k', 7)), 'ADD leaves the old value');
      isStatus(h.set(keyN('k', 5), VALUE), Status.ENOMEM, 'set of a live key');
      assert.is(h.get(keyN('k', 5)), undefined, 'a SET that cannot allocate unlinks the old value');
      expectStats(h, '', { store_no_memory: 3, curr_items: CAPACITY - 1, delete_hits: 0, evictions: 0 }, 'stats');
      assert.is(h.classStat('items', CLS.id, 'outofmemory'), 3);
      isStatus(h.set('new001', VALUE), Status.SUCCESS, 'the freed chunk is used');
    });

    t('eviction=false still reclaims expired items', async () => {
      const h = await open({ cache_size: '2m', eviction: 'false' });
      fill(h, CAPACITY, (i) => (i === 0 ? 10 : 0));
      h.advance(20);
      isStatus(h.set('new000', VALUE), Status.SUCCESS, 'set reclaims the expired tail');
      expectStats(h, '', { reclaimed: 1, evictions: 0 }, 'stats');
      isStatus(h.set('new001', VALUE), Status.ENOMEM, 'then ENOMEM');
    });

    t('a held item is never evicted: lrutail_reflocked counts it and the next one goes', async () => {
      const h = await open({ cache_size: '2m' });
      fill(h, CAPACITY);
      const held = h.hold(keyN('k', 0))!;
      h.set('new000', VALUE);
      // One reflock is k00000's own link into an empty HOT (held by its store).
      expectStats(h, '', { lrutail_reflocked: 2, evictions: 1 }, 'stats');
      assert.is(h.get(keyN('k', 1)), undefined, 'k00001 evicted instead');
      assert.is(h.view(held).value, VALUE);
      h.release(held);
      assert.ok(h.get(keyN('k', 0)), 'k00000 is still linked');
    });

    t('a tail of 5 held items: 10 tries of 5 each, then ENOMEM', async () => {
      const h = await open({ cache_size: '2m' });
      fill(h, CAPACITY);
      const held = [0, 1, 2, 3, 4].map((i) => h.hold(keyN('k', i))!);
      isStatus(h.set('new000', VALUE), Status.ENOMEM, 'set with a held COLD tail');
      // 10 tries of 5 reflocked items each, plus k00000's own link into an empty HOT.
      expectStats(h, '', { lrutail_reflocked: 51, evictions: 0, store_no_memory: 1, curr_items: CAPACITY }, 'stats');
      assert.is(h.classStat('items', CLS.id, 'outofmemory'), 1);
      for (const item of held) h.release(item);
      isStatus(h.set('new000', VALUE), Status.SUCCESS, 'after release');
      expectStats(h, '', { evictions: 1, evicted_unfetched: 0 }, 'the fetched k00000 goes');
      assert.is(h.get(keyN('k', 0)), undefined);
    });

    t('past the limit a class without pages still gets its first one (do_slabs_newslab), never a second', async () => {
      const h = await open({ cache_size: '2m', eviction: 'false' });
      fill(h, CAPACITY);
      isStatus(h.set('small', 'x'), Status.SUCCESS, 'class 1 gets its first page');
      expectStats(h, 'slabs', { total_malloced: 3 * 1024 * 1024, active_slabs: 2 }, 'one page past the 2 MiB limit');
      const perslab = DEFAULT_CLASSES[0]!.perslab;
      for (let i = 1; i < perslab; i++) isStatus(h.set(keyN('s', i), 'x'), Status.SUCCESS, `small ${i}`);
      isStatus(h.set('one-more', 'x'), Status.ENOMEM, 'class 1 gets no second page');
      isStatus(h.set(keyN('k', 3), 'x'), Status.ENOMEM, 'a SET of a small value to a live key');
      assert.is(h.get(keyN('k', 3)), undefined, 'the old value is unlinked');
      expectStats(h, '', { store_no_memory: 2, evictions: 0, curr_items: CAPACITY - 1 + perslab }, 'stats');
      expectStats(h, 'slabs', { total_malloced: 3 * 1024 * 1024 }, 'still one page past the limit');
    });

    t('a longer incr result that cannot be allocated is ENOMEM and leaves the value', async () => {
      const config = { cache_size: '128k', slab_page_size: '64k', item_size_max: '64k' };
      const classes = modelSlabClasses({ ...DEFAULT_SLAB_SETTINGS, slabPageSize: 65536, slabChunkMax: 32768 });
      const capacity = 2 * classes[0]!.perslab;
      for (const eviction of [false, true]) {
        const h = await open({ ...config, eviction: String(eviction) });
        for (let i = 0; i < capacity - 1; i++) {
          isStatus(h.set(keyN('f', i, 4), 'x'), Status.SUCCESS, `fill ${i}`);
        }
        h.set('n', '99');
        assert.is(h.classStat('slabs', 1, 'used_chunks'), capacity);
        if (!eviction) {
          isStatus(h.incr('n', 1).status, Status.ENOMEM, 'incr 99 + 1 with no memory');
          assert.is(h.get('n')?.value, '99');
          assert.is(h.decr('n', 1).value, 98n, 'an in-place result needs no memory');
          assert.is(h.get('n')?.value, '98');
        } else {
          assert.is(h.incr('n', 1).value, 100n, 'with eviction');
          assert.is(h.get('n')?.value, '100');
          assert.is(h.stat('evictions'), 1);
        }
        closeAll(true);
      }
    });

    // do_item_alloc_pull adds up the tries whose slabs_alloc found nothing, per chunk: one before
    // the reclaim or eviction that made room, all ten when the allocation fails.
    t('direct_reclaims counts the tries that found no chunk: 1 before a reclaim or eviction, 10 for ENOMEM', async () => {
      const h = await open({ cache_size: '2m' });
      fill(h, CAPACITY, (i) => (i === 0 ? 10 : 0));
      expectStats(h, '', { direct_reclaims: 0 }, 'filled from free chunks and new pages');
      h.advance(20);
      h.set('new000', VALUE); // one try; its pull reclaims the expired k00000, then evicts k00001
      h.set('new001', VALUE); // a free chunk: no try
      h.set('new002', VALUE); // one try; evicts k00002
      expectStats(h, '', { reclaimed: 1, evictions: 2, direct_reclaims: 2 }, 'one try each');
      assert.is(h.classStat('items', CLS.id, 'direct_reclaims'), 2);
      isStatus(h.set('small', 'x'), Status.SUCCESS, 'class 1 gets its first page past the limit');
      expectStats(h, '', { direct_reclaims: 2 }, 'a new page is not a try');
      const off = await open({ cache_size: '2m', eviction: 'false' });
      fill(off, CAPACITY);
      isStatus(off.set('new000', VALUE), Status.ENOMEM, 'no eviction');
      isStatus(off.set('new001', VALUE), Status.ENOMEM, 'no eviction');
      expectStats(
        off,
        'items',
        { [`items:${CLS.id}:direct_reclaims`]: 20, [`items:${CLS.id}:outofmemory`]: 2 },
        'ten tries per failed allocation',
      );
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    // What the meta commands need of an engine (src/engine/types.ts: GetRequest, bump,
    // setExptime, markItem, RemoveOption, StoreOption, ArithmeticRequest.hold), with memcached's
    // semantics from items.c and proto_text.c (ITEM_STALE, ITEM_TOKEN_SENT, ITEM_FETCHED).
    const t = group('meta: get options, marks, invalidation');

    /** A get with a request; returns the item (held) or undefined, and whether it was created. */
    const metaGet = (
      h: EngineHarness,
      key: string,
      options: Partial<Omit<GetRequest, 'created'>> = {},
    ): { item: number | undefined; created: boolean } => {
      const request = createGetRequest();
      Object.assign(request, options);
      const item = h.sync(h.engine.get(new TextEncoder().encode(key), request), 'get');
      assert.ok(item > 0 || item === -Status.KEY_ENOENT, `get(${key}) = ${item}`);
      return { item: item > 0 ? item : undefined, created: request.created };
    };
    const infoOf = (h: EngineHarness, item: number): ItemInfo => {
      const info = createItemInfo();
      h.engine.getItemInfo(item, info, true);
      return info;
    };
    /** The info of a key's item, read without a bump or any count. */
    const peek = (h: EngineHarness, key: string): ItemInfo | undefined => {
      const { item } = metaGet(h, key, { bump: false, count: GetCount.NONE });
      if (item === undefined) return undefined;
      const info = infoOf(h, item);
      h.release(item);
      return info;
    };
    const I = (fields: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(fields).map(([k, v]) => [`items:1:${k}`, v]));

    t('get without a request bumps and counts a get; createGetRequest gives the same', async () => {
      const h = await open();
      h.set('a', 'v');
      const { item, created } = metaGet(h, 'a');
      assert.ok(item !== undefined && !created);
      assert.is(infoOf(h, item).fetched, true, 'bumped');
      h.release(item);
      expectStats(h, '', { get_hits: 1, get_misses: 0, touch_hits: 0 }, 'stats');
      assert.is(h.classStat('items', 1, 'hits_to_hot'), 1);
    });

    t('bump: false leaves the hit marks and time; bump() then does what a hit does', async () => {
      const h = await open();
      h.set('a', 'a'.repeat(36)); // ntotal 96
      h.set('b', ''); // pushes a to COLD (see 'LRU segments')
      h.advance(5);
      for (let i = 0; i < 3; i++) {
        const { item } = metaGet(h, 'a', { bump: false });
        assert.is(infoOf(h, item!).fetched, false, `get ${i} with bump: false`);
        h.release(item!);
      }
      expectStats(h, 'items', I({ hits_to_cold: 3, number_cold: 1, moves_to_warm: 0 }), 'counted, not bumped');
      const { item } = metaGet(h, 'a', { bump: false });
      h.engine.bump(item!);
      assert.is(infoOf(h, item!).fetched, true, 'first bump: FETCHED');
      h.engine.bump(item!);
      const info = infoOf(h, item!);
      assert.equal([info.fetched, info.time], [true, h.now()], 'second bump: ACTIVE, time = now');
      expectStats(h, 'items', I({ number_cold: 0, number_warm: 1, moves_to_warm: 1 }), 'an ACTIVE COLD item moves to WARM');
      h.release(item!);
    });

    t('bump on a held item that is no longer linked changes nothing', async () => {
      const h = await open();
      h.set('a', 'v');
      const { item } = metaGet(h, 'a', { bump: false });
      isStatus(h.remove('a'), Status.SUCCESS, 'remove');
      h.engine.bump(item!);
      assert.is(infoOf(h, item!).fetched, false);
      h.release(item!);
      expectStats(h, '', { curr_items: 0 }, 'stats');
    });

    t('count TOUCH: a hit counts touch_hits, a miss get_misses; NONE counts neither', async () => {
      const h = await open();
      h.set('a', 'v');
      h.release(metaGet(h, 'a', { count: GetCount.TOUCH }).item!);
      assert.is(metaGet(h, 'nope', { count: GetCount.TOUCH }).item, undefined);
      expectStats(h, '', { touch_hits: 1, touch_misses: 0, get_hits: 0, get_misses: 1 }, 'TOUCH');
      assert.is(h.classStat('items', 1, 'hits_to_hot'), 0, 'no lru hit for a touch');
      h.resetStats();
      h.release(metaGet(h, 'a', { count: GetCount.NONE }).item!);
      assert.is(metaGet(h, 'nope', { count: GetCount.NONE }).item, undefined);
      expectStats(h, '', { touch_hits: 0, get_hits: 0, get_misses: 0 }, 'NONE');
    });

    t('count NONE still applies and counts lazy expiry', async () => {
      const h = await open();
      h.set('a', 'v', { exptime: 5 });
      h.advance(5);
      assert.is(metaGet(h, 'a', { count: GetCount.NONE, bump: false }).item, undefined);
      expectStats(h, '', { get_expired: 1, get_misses: 0, curr_items: 0 }, 'stats');
    });

    t('vivify: a miss links an empty item (flags 0, no TTL) and returns it as a hit', async () => {
      const h = await open();
      h.set('x', 'v');
      const { item, created } = metaGet(h, 'a', { vivify: true });
      assert.ok(item !== undefined && created, 'created');
      const info = infoOf(h, item);
      assert.equal(
        [latin1(itemInfoKey(info)), info.nvalue, info.flags, info.exptime, info.cas, info.fetched, info.stale, info.winSent],
        ['a', 0, 0, 0, 2n, true, false, false],
      );
      assert.is(info.ntotal, modelNtotal(1, 0, 0));
      h.release(item);
      expectStats(h, '', { curr_items: 2, total_items: 2, cmd_set: 1, get_hits: 1, get_misses: 0 }, 'a hit, not a store');
      const again = metaGet(h, 'a', { vivify: true, count: GetCount.TOUCH });
      assert.ok(again.item !== undefined && !again.created, 'found the second time');
      h.release(again.item);
      expectStats(h, '', { curr_items: 2, touch_hits: 1 }, 'second');
      assert.is(h.get('a')?.value, '', 'a plain get sees the empty value');
    });

    t('vivify counts the hit the request asks for, and bumps as asked', async () => {
      const h = await open();
      const touched = metaGet(h, 'a', { vivify: true, count: GetCount.TOUCH, bump: false });
      assert.ok(touched.created);
      assert.is(infoOf(h, touched.item!).fetched, false, 'not bumped');
      h.release(touched.item!);
      h.release(metaGet(h, 'b', { vivify: true, count: GetCount.NONE }).item!);
      expectStats(h, '', { touch_hits: 1, get_hits: 0, get_misses: 0, curr_items: 2 }, 'stats');
    });

    t('vivify that cannot allocate is a miss (outofmemory)', async () => {
      const h = await open({ cache_size: '1m', item_size_max: '512k', eviction: 'false' });
      let stored = 0;
      while (h.set(keyN('k', stored), 'v'.repeat(30)) === Status.SUCCESS) stored++; // class 1 fills the one page
      const { item, created } = metaGet(h, 'z', { vivify: true });
      assert.equal([item, created], [undefined, false]);
      expectStats(h, '', { get_misses: 1, curr_items: stored }, 'stats');
      assert.ok(h.classStat('items', 1, 'outofmemory') >= 2, 'the set and the vivify ran out');
    });

    t('setExptime sets a held item\'s TTL as touch does', async () => {
      const h = await open();
      h.set('a', 'v');
      const { item } = metaGet(h, 'a');
      h.engine.setExptime(item!, 100);
      assert.is(infoOf(h, item!).exptime, h.clock.realtime(100));
      h.release(item!);
      h.advance(99);
      assert.is(h.get('a')?.value, 'v');
      h.advance(1);
      assert.is(h.get('a'), undefined, 'expired at the new TTL');
      h.set('b', 'v');
      const b = metaGet(h, 'b').item!;
      h.engine.setExptime(b, -1);
      h.release(b);
      assert.is(h.get('b'), undefined, 'a negative TTL expires it');
    });

    t('markItem: the win-sent and binary-key marks stay with the item, not with the key', async () => {
      const h = await open();
      h.set('a', 'v');
      const { item } = metaGet(h, 'a');
      assert.equal([infoOf(h, item!).winSent, infoOf(h, item!).keyBinary], [false, false]);
      h.engine.markItem(item!, ItemMark.WIN_SENT);
      h.release(item!);
      assert.equal([peek(h, 'a')!.winSent, peek(h, 'a')!.keyBinary], [true, false]);
      const allocated = h.allocate('b', 1);
      h.engine.markItem(allocated, ItemMark.KEY_BINARY);
      isStatus(h.sync(h.engine.store(allocated, SET, 0n), 'store'), Status.SUCCESS, 'store b');
      h.release(allocated);
      assert.equal([peek(h, 'b')!.winSent, peek(h, 'b')!.keyBinary], [false, true]);
      h.set('a', 'w');
      assert.equal([peek(h, 'a')!.winSent, peek(h, 'a')!.keyBinary], [false, false], 'a new item has no marks');
    });

    t('ItemInfo.ntotal is ITEM_ntotal', async () => {
      const h = await open();
      h.set('abc', 'hello', { flags: 7 });
      h.set('k', '');
      assert.is(peek(h, 'abc')!.ntotal, modelNtotal(3, 5, 7));
      assert.is(peek(h, 'k')!.ntotal, modelNtotal(1, 0, 0));
      const big = pattern(600 * 1024);
      h.set('big', big);
      assert.is(peek(h, 'big')!.ntotal, modelNtotal(3, big.length, 0));
    });

    t('remove COMPARE_CAS: even a 0 CAS is compared, and a mismatch counts delete_misses', async () => {
      const h = await open();
      const cas = h.store('a', 'v').cas;
      const remove = (c: bigint, options: number): Status => h.sync(h.engine.remove(new TextEncoder().encode('a'), c, options), 'remove');
      isStatus(remove(0n, RemoveOption.COMPARE_CAS), Status.KEY_EEXISTS, 'C0');
      isStatus(remove(cas + 1n, RemoveOption.COMPARE_CAS), Status.KEY_EEXISTS, 'another CAS');
      isStatus(remove(cas + 1n, 0), Status.KEY_EEXISTS, 'another CAS, plain');
      expectStats(h, '', { delete_misses: 2, delete_hits: 0, curr_items: 1 }, 'two counted mismatches');
      isStatus(remove(cas, RemoveOption.COMPARE_CAS), Status.SUCCESS, 'the CAS');
      expectStats(h, '', { delete_misses: 2, delete_hits: 1, curr_items: 0 }, 'removed');
    });

    t('remove INVALIDATE: the item stays, stale, with a new CAS and no win mark; SET_EXPTIME sets its TTL', async () => {
      const h = await open();
      h.set('x', 'v');
      h.set('a', 'v', { exptime: 100 });
      const held = metaGet(h, 'a').item!;
      h.engine.markItem(held, ItemMark.WIN_SENT);
      h.release(held);
      const key = new TextEncoder().encode('a');
      isStatus(h.sync(h.engine.remove(key, 0n, RemoveOption.INVALIDATE), 'remove'), Status.SUCCESS, 'invalidate');
      let info = peek(h, 'a')!;
      assert.equal([info.stale, info.winSent, info.cas, info.exptime], [true, false, 3n, h.clock.realtime(100)]);
      isStatus(
        h.sync(h.engine.remove(key, 2n, RemoveOption.INVALIDATE | RemoveOption.COMPARE_CAS), 'remove'),
        Status.KEY_EEXISTS,
        'an old CAS',
      );
      isStatus(
        h.sync(h.engine.remove(key, 3n, RemoveOption.INVALIDATE | RemoveOption.COMPARE_CAS | RemoveOption.SET_EXPTIME, 30), 'remove'),
        Status.SUCCESS,
        'the CAS, with a TTL',
      );
      info = peek(h, 'a')!;
      assert.equal([info.stale, info.cas, info.exptime, info.nvalue], [true, 4n, h.clock.realtime(30), 1]);
      expectStats(h, '', { delete_hits: 0, delete_misses: 1, curr_items: 2 }, 'no delete_hits');
      h.set('a', 'w');
      assert.is(peek(h, 'a')!.stale, false, 'a store replaces the stale item');
    });

    t('store CAS with INVALIDATE: an older CAS stores a stale item with the old TTL and win mark', async () => {
      const h = await open();
      const first = h.store('a', 'one', { exptime: 100 }).cas;
      h.set('x', 'v');
      const held = metaGet(h, 'a').item!;
      h.engine.markItem(held, ItemMark.WIN_SENT);
      h.release(held);
      const current = h.store('a', 'two', { op: CAS, cas: first, exptime: 100 }).cas;
      const storeWith = (value: string, cas: bigint, options: number, exptime = 0): Status => {
        const item = h.allocate('a', value.length, 0, exptime, CAS);
        h.engine.itemValue(item).set(new TextEncoder().encode(value));
        const status = h.sync(h.engine.store(item, CAS, cas, options), 'store');
        h.release(item);
        return status;
      };
      isStatus(storeWith('old', first, 0), Status.KEY_EEXISTS, 'an older CAS without the option');
      isStatus(storeWith('new', current + 1n, StoreOption.INVALIDATE), Status.KEY_EEXISTS, 'a newer CAS');
      isStatus(storeWith('zero', 0n, StoreOption.INVALIDATE), Status.KEY_EEXISTS, 'CAS 0');
      const markHeld = metaGet(h, 'a').item!;
      h.engine.markItem(markHeld, ItemMark.WIN_SENT);
      h.release(markHeld);
      isStatus(storeWith('stale', first, StoreOption.INVALIDATE, 5), Status.SUCCESS, 'an older CAS with the option');
      const info = peek(h, 'a')!;
      assert.equal(
        [latin1(itemInfoValue(info)), info.stale, info.winSent, info.exptime, info.cas],
        ['stale', true, true, h.clock.realtime(100), current + 1n],
      );
      expectStats(h, '', { cas_hits: 2, cas_badval: 3 }, 'the stale store is a cas hit');
      isStatus(storeWith('fresh', info.cas, StoreOption.INVALIDATE), Status.SUCCESS, 'the CAS itself');
      const fresh = peek(h, 'a')!;
      assert.equal([fresh.stale, fresh.winSent, fresh.exptime], [false, false, 0], 'a matching CAS is a plain store');
    });

    t('append makes a new item: the marks do not carry over', async () => {
      const h = await open();
      const allocated = h.allocate('a', 2);
      h.engine.itemValue(allocated).set([0x68, 0x69]);
      h.engine.markItem(allocated, ItemMark.KEY_BINARY | ItemMark.WIN_SENT);
      isStatus(h.sync(h.engine.store(allocated, SET, 0n), 'store'), Status.SUCCESS, 'store');
      h.release(allocated);
      assert.equal([peek(h, 'a')!.keyBinary, peek(h, 'a')!.winSent], [true, true], 'marked');
      h.sync(h.engine.remove(new TextEncoder().encode('a'), 0n, RemoveOption.INVALIDATE), 'invalidate');
      assert.is(peek(h, 'a')!.stale, true, 'stale');
      isStatus(h.set('a', '!', { op: APPEND }), Status.SUCCESS, 'append');
      const info = peek(h, 'a')!;
      assert.equal([latin1(itemInfoValue(info)), info.stale, info.winSent, info.keyBinary], ['hi!', false, false, false]);
    });

    t('arithmetic hold: the item with the result, held; created tells a made item', async () => {
      const h = await open();
      const request = createArithmeticRequest();
      const result = createArithmeticResult();
      const key = new TextEncoder().encode('n');
      request.hold = true;
      request.create = true;
      request.initial = 5n;
      isStatus(h.sync(h.engine.arithmetic(key, request, result), 'arithmetic'), Status.SUCCESS, 'create');
      assert.equal([result.value, result.created], [5n, true]);
      assert.ok(result.item > 0, 'held');
      let info = infoOf(h, result.item);
      assert.equal([latin1(itemInfoValue(info)), info.cas], ['5', result.cas]);
      h.engine.setExptime(result.item, 50);
      h.release(result.item);
      assert.is(peek(h, 'n')!.exptime, h.clock.realtime(50), 'the TTL set through the hold');
      isStatus(h.sync(h.engine.arithmetic(key, request, result), 'arithmetic'), Status.SUCCESS, 'in place');
      assert.equal([result.value, result.created], [6n, false]);
      info = infoOf(h, result.item);
      assert.equal([latin1(itemInfoValue(info)), info.cas], ['6', result.cas]);
      h.release(result.item);
      request.delta = 10n;
      isStatus(h.sync(h.engine.arithmetic(key, request, result), 'arithmetic'), Status.SUCCESS, 'a longer value');
      info = infoOf(h, result.item);
      assert.equal([latin1(itemInfoValue(info)), info.cas, info.exptime], ['16', result.cas, h.clock.realtime(50)]);
      h.release(result.item);
      request.hold = false;
      isStatus(h.sync(h.engine.arithmetic(key, request, result), 'arithmetic'), Status.SUCCESS, 'no hold');
      assert.equal([result.value, result.item], [26n, 0]);
      expectStats(h, '', { incr_hits: 3, incr_misses: 0, curr_items: 1 }, 'stats');
    });

    t('arithmetic in place keeps the marks; a longer result is a new item without them', async () => {
      const h = await open();
      h.set('n', '10');
      const key = new TextEncoder().encode('n');
      h.sync(h.engine.remove(key, 0n, RemoveOption.INVALIDATE), 'invalidate');
      assert.is(h.incr('n', 1).value, 11n);
      assert.is(peek(h, 'n')!.stale, true, 'in place');
      assert.is(h.incr('n', 100).value, 111n);
      assert.is(peek(h, 'n')!.stale, false, 'a new item');
    });

    t('arithmetic created is set when making the item ran out of memory', async () => {
      const h = await open({ cache_size: '1m', item_size_max: '512k', eviction: 'false' });
      let stored = 0;
      while (h.set(keyN('k', stored), '1'.padEnd(30)) === Status.SUCCESS) stored++;
      const request = createArithmeticRequest();
      request.create = true;
      const result = createArithmeticResult();
      isStatus(h.sync(h.engine.arithmetic(new TextEncoder().encode('z'), request, result), 'arithmetic'), Status.ENOMEM, 'create');
      assert.equal([result.created, result.item], [true, 0]);
      isStatus(h.sync(h.engine.arithmetic(new TextEncoder().encode(keyN('k', 0)), request, result), 'arithmetic'), Status.SUCCESS, 'incr');
      assert.is(result.created, false);
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('stats');

    /**
     * Like the oracle's session (/tmp/oracle-stats.txt): set a (flags 5, "hi"; ntotal 66), set b
     * (ntotal 64), get a; then one second.
     */
    const oracleSession = async (config: ConfigInput = {}): Promise<EngineHarness> => {
      const h = await open(config);
      h.set('a', 'hi', { flags: 5 });
      h.set('b', 'four');
      h.get('a');
      h.advance(1);
      return h;
    };

    // Values are memcached's for the same session except where the model's inline juggle differs
    // from memcached's background LRU maintainer: a is held by its store while it is alone in HOT
    // (lrutail_reflocked 1), and only a reaches COLD (moves_to_cold 1; memcached: 0 and 2).
    t("stats: the model's keys in order and values for the oracle session", async () => {
      const h = await oracleSession();
      const list = h.stats('');
      assert.equal(keysOf(list), GENERAL_KEYS);
      const expected: Record<string, string> = {
        cmd_set: '2', get_hits: '1', get_misses: '0', get_expired: '0', get_flushed: '0', delete_misses: '0',
        delete_hits: '0', incr_misses: '0', incr_hits: '0', decr_misses: '0', decr_hits: '0', cas_misses: '0',
        cas_hits: '0', cas_badval: '0', touch_hits: '0', touch_misses: '0', store_too_large: '0',
        store_no_memory: '0', limit_maxbytes: '67108864', malloc_fails: '0', bytes: '130', curr_items: '2',
        total_items: '2', slab_global_page_pool: '0', expired_unfetched: '0', evicted_unfetched: '0',
        evicted_active: '0', evictions: '0', reclaimed: '0', crawler_reclaimed: '0', crawler_items_checked: '0',
        lrutail_reflocked: '1', moves_to_cold: '1', moves_to_warm: '0', moves_within_lru: '0',
        direct_reclaims: '0', lru_bumps_dropped: '0',
      };
      assert.equal(Object.fromEntries(list.filter(([key]) => !key.startsWith('hash_'))), expected);
      for (const [key, value] of list.filter(([k]) => k.startsWith('hash_'))) {
        assert.match(value, /^\d+$/, `${key} is a number`);
      }
    });

    t('stats settings: the keys in order and their values', async () => {
      const h = await open();
      const list = h.stats('settings');
      assert.equal(keysOf(list), SETTINGS_KEYS);
      const map = new Map(list);
      assert.equal(
        SETTINGS_KEYS.filter((k) => k !== 'hashpower_init' && k !== 'hash_algorithm').map((k) => map.get(k)),
        ['67108864', '0', 'on', '1.25', '48', 'yes', '1048576', '524288', 'yes', '20', '40', '0.20', '2.00', 'no'],
      );
      assert.match(map.get('hashpower_init') ?? '', /^\d+$/);
      assert.ok((map.get('hash_algorithm') ?? '') !== '', 'hash_algorithm names the hash');
      const other = await open({
        cache_size: '8m', eviction: 'false', factor: '2', chunk_size: '32', use_cas: 'false',
        item_size_max: '512k', hot_lru_pct: '10', warm_lru_pct: '30', track_sizes: 'true', hot_max_factor: '0.5',
        warm_max_factor: '1e1', lru_segmented: 'false',
      });
      const map2 = other.statMap('settings');
      assert.equal(
        SETTINGS_KEYS.filter((k) => k !== 'hashpower_init' && k !== 'hash_algorithm').map((k) => map2.get(k)),
        ['8388608', '0', 'off', '2.00', '32', 'no', '524288', '524288', 'no', '10', '30', '0.50', '10.00', 'yes'],
      );
    });

    t('stats items and stats slabs: memcached 1.6 keys in order, classes in use only', async () => {
      const h = await oracleSession();
      const items = h.stats('items');
      assert.equal(keysOf(items), ITEMS_KEYS.map((k) => `items:1:${k}`));
      const itemValues: Record<string, number> = {
        number: 2, number_hot: 1, number_warm: 0, number_cold: 1, age_hot: 1, age_warm: 0, age: 1,
        mem_requested: 130, lrutail_reflocked: 1, moves_to_cold: 1, hits_to_cold: 1,
      };
      assert.equal(
        items.map(([, v]) => v),
        ITEMS_KEYS.map((k) => String(itemValues[k] ?? 0)),
        'stats items values',
      );
      // The oracle's output exactly (memcached 1.6.18, stats slabs after the same session).
      assert.equal(h.stats('slabs'), [
        ['1:chunk_size', '96'], ['1:chunks_per_page', '10922'], ['1:total_pages', '1'],
        ['1:total_chunks', '10922'], ['1:used_chunks', '2'], ['1:free_chunks', '10920'],
        ['1:free_chunks_end', '0'], ['1:get_hits', '1'], ['1:cmd_set', '2'], ['1:delete_hits', '0'],
        ['1:incr_hits', '0'], ['1:decr_hits', '0'], ['1:cas_hits', '0'], ['1:cas_badval', '0'],
        ['1:touch_hits', '0'], ['active_slabs', '1'], ['total_malloced', '1048576'],
      ]);
      h.set('c', 'c'.repeat(200)); // class 6
      h.set('d', 'd'.repeat(1000)); // class 12
      h.remove('c');
      assert.equal(
        [...new Set(h.stats('items').map(([k]) => k.split(':')[1]))],
        ['1', '12'],
        'stats items lists classes with items, in order',
      );
      const slabs = keysOf(h.stats('slabs'));
      assert.equal(
        slabs,
        [...[1, 6, 12].flatMap((id) => SLABS_KEYS.map((k) => `${id}:${k}`)), 'active_slabs', 'total_malloced'],
        'stats slabs lists classes with pages, in order',
      );
      expectStats(h, 'slabs', { active_slabs: 3, total_malloced: 3 * MIB }, 'totals');
    });

    t('stats sizes: disabled by default; with track_sizes, items by ceil(ntotal / 32) * 32', async () => {
      const off = await oracleSession();
      assert.equal(off.stats('sizes'), [['sizes_status', 'disabled']]);
      const h = await open({ track_sizes: 'true' });
      assert.equal(h.stats('sizes'), [], 'no items, no lines');
      h.set('a', 'hi', { flags: 5 }); // 66 -> 96
      h.set('b', 'hi'); // 62 -> 64
      h.set('c', 'x'.repeat(101)); // 161 -> 192
      h.set('d', 'x'.repeat(102)); // 162 -> 192
      assert.equal(h.stats('sizes'), [['64', '1'], ['96', '1'], ['192', '2']]);
      h.remove('b');
      h.set('c', 'y');
      assert.equal(h.stats('sizes'), [['64', '1'], ['96', '1'], ['192', '1']]);
    });

    t('an unknown stats group is ENOTSUP', async () => {
      const h = await open();
      isStatus(h.statsStatus('nonsense'), Status.ENOTSUP, "getStats('nonsense')");
    });

    t('resetStats zeroes the counters and keeps the state', async () => {
      const h = await open({ cache_size: '2m', track_sizes: 'true' });
      h.set('a', 'v', { exptime: 5 });
      h.set('b', '1');
      h.get('a');
      h.get('a');
      h.get('zz');
      h.incr('b', 1);
      h.decr('b', 1);
      h.touch('b', 0);
      h.remove('zz');
      h.set('b', 'x', { op: CAS, cas: 99n });
      h.advance(10);
      h.get('a');
      h.set('c', 'v'.repeat(1000));
      h.set('huge', pattern(2 * MIB));
      const before = { general: h.stats(''), items: h.stats('items'), slabs: h.stats('slabs'), sizes: h.stats('sizes') };
      h.resetStats();
      const zeroUnless = (list: StatList, keep: (key: string) => boolean): StatList =>
        list.map(([k, v]) => [k, keep(k) ? v : '0']);
      const field = (k: string): string => k.slice(k.lastIndexOf(':') + 1);
      assert.equal(h.stats(''), zeroUnless(before.general, (k) => GENERAL_STATE_KEYS.has(k) || k.startsWith('hash_')));
      assert.equal(h.stats('items'), zeroUnless(before.items, (k) => ITEMS_STATE_KEYS.has(field(k))));
      assert.equal(
        h.stats('slabs'),
        zeroUnless(before.slabs, (k) => SLABS_STATE_KEYS.has(field(k)) || k === 'active_slabs' || k === 'total_malloced'),
      );
      assert.equal(h.stats('sizes'), before.sizes, 'the size histogram is state');
      assert.ok(before.general.some(([k, v]) => k === 'get_hits' && v === '2'), 'there was something to reset');
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('stats cachedump');
    type Dumped = [key: string, nbytes: number, exptime: number];
    /** cachedump's visits; `stopAfter` visits return false from then on. */
    const dump = (h: EngineHarness, clsid: number, limit = 0, stopAfter = Infinity): Dumped[] => {
      assert.type(h.engine.cachedump, 'function', 'the engine implements cachedump');
      const seen: Dumped[] = [];
      const status = h.sync(
        h.engine.cachedump!(clsid, limit, (key, nbytes, exptime) => {
          seen.push([latin1(key), nbytes, exptime]);
          return seen.length < stopAfter;
        }),
        'cachedump',
      );
      isStatus(status, Status.SUCCESS, `cachedump(${clsid}, ${limit})`);
      return seen;
    };
    const keys = (list: Dumped[]): string[] => list.map(([key]) => key);
    const I = (fields: Record<string, number>): Record<string, number> =>
      Object.fromEntries(Object.entries(fields).map(([k, v]) => [`items:1:${k}`, v]));

    // The model's link juggle leaves c in HOT; the maintainer's juggle before the dump moves it
    // (HOT's 63 bytes are over 20 % of 186), as memcached's thread has by the time it is asked.
    t('the COLD LRU newest first, after the maintainer has juggled; limit 0 is all', async () => {
      const h = await open();
      h.set('a', '1');
      h.set('b', '22');
      h.set('c', '333', { exptime: 100 });
      h.set('long', 'x'.repeat(500));
      expectStats(h, 'items', I({ number_hot: 1, number_cold: 2 }), 'c still in HOT');
      const exptime = h.get('c')!.exptime;
      assert.equal(dump(h, 1, 10), [['c', 3, exptime], ['b', 2, 0], ['a', 1, 0]]);
      expectStats(h, 'items', I({ number_hot: 0, number_cold: 3, moves_to_cold: 3 }), 'c moved to COLD');
      assert.equal(keys(dump(h, 1, 2)), ['c', 'b'], 'limit 2');
      assert.equal(keys(dump(h, 1, 0)), ['c', 'b', 'a'], 'limit 0');
      assert.equal(keys(dump(h, 1, 0, 1)), ['c'], 'a visit returning false stops the walk');
      const longClass = modelClassFor(DEFAULT_CLASSES, modelNtotal(4, 500, 0)).id;
      assert.equal(dump(h, longClass), [['long', 500, 0]], 'alone in HOT, it is over its share');
      for (const clsid of [0, 2, LARGEST.id, LARGEST.id + 1, 63, 2 ** 32 - 1]) {
        assert.equal(dump(h, clsid), [], `class ${clsid}`);
      }
    });

    // Age limits: COLD's tail age times hot_max_factor (0.2) for HOT, warm_max_factor (2) for WARM.
    t('HOT items younger than their age limit and within their share stay out; ACTIVE items go to WARM', async () => {
      const h = await open();
      h.set('a', '1');
      h.set('b', '22');
      h.set('c', '333');
      h.advance(40);
      h.set('w1', '1'); // c goes to COLD by share (b and a went at the links of b and c)
      h.set('w2', '2'); // w1 goes to COLD by share
      h.get('w1');
      h.get('w1'); // ACTIVE in COLD: to WARM
      h.advance(2);
      // COLD's tail a is 42 s old: HOT keeps items up to 8 s old, WARM up to 84 s; HOT may hold
      // 20 % of 310 bytes = 62, which w2 is.
      assert.equal(keys(dump(h, 1)), ['c', 'b', 'a']);
      expectStats(h, 'items', I({ number_hot: 1, number_warm: 1, number_cold: 3, moves_within_lru: 1 }), 'w1 rescued in WARM');
      h.advance(10);
      assert.equal(keys(dump(h, 1)), ['w2', 'c', 'b', 'a'], 'w2 is 12 s old, over 52 * 0.2');
      expectStats(h, 'items', I({ number_hot: 0, number_warm: 1, number_cold: 4 }), 'w1 stays in WARM');
    });

    // memcached lists what is linked, expired or not; its maintainer reclaims expired items only
    // from the COLD tail.
    t('expired items are listed until reclaimed; the juggle reclaims them at the COLD tail', async () => {
      const h = await open();
      h.set('x', '1', { exptime: 1 });
      h.set('y', '22', { exptime: 5 });
      h.set('z', '333');
      const yExptime = h.get('y')!.exptime;
      h.advance(2);
      assert.equal(dump(h, 1), [['z', 3, 0], ['y', 2, yExptime]], 'x reclaimed at the tail');
      expectStats(h, '', { reclaimed: 1, expired_unfetched: 1, curr_items: 2 }, 'the reclaim is counted');
      h.set('t', '4');
      h.advance(10);
      assert.equal(keys(dump(h, 1)), ['t', 'z'], 'y expired at the tail, reclaimed');
      h.set('u', '5', { exptime: 1 });
      h.set('v', '6');
      h.advance(5);
      assert.equal(keys(dump(h, 1)), ['v', 'u', 't', 'z'], 'u expired above a live tail: listed');
      assert.is(h.get('u'), undefined, 'and gone at the next lookup');
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('the LRU crawler (crawl)');
    type Crawled = { key: string; exptime: number; time: number; cas: bigint; fetched: boolean; clsid: number; ntotal: number };
    /** crawl(target, visit): what metadump would list. */
    const info = createItemInfo();
    const metadump = (h: EngineHarness, target: readonly number[] | 'hash'): Crawled[] => {
      assert.type(h.engine.crawl, 'function', 'the engine implements crawl');
      const seen: Crawled[] = [];
      const status = h.sync(
        h.engine.crawl!(target, (item) => {
          const c = info;
          h.engine.getItemInfo(item, c, true);
          const key = latin1(c.keyBytes.subarray(c.keyOffset, c.keyOffset + c.nkey));
          seen.push({ key, exptime: c.exptime, time: c.time, cas: c.cas, fetched: c.fetched, clsid: c.clsid, ntotal: c.ntotal });
        }),
        'crawl',
      );
      isStatus(status, Status.SUCCESS, `crawl(${String(target)})`);
      return seen;
    };
    const keys = (list: Crawled[]): string[] => list.map((c) => c.key);
    const small = modelClassFor(DEFAULT_CLASSES, modelNtotal(1, 1, 0)).id;
    const mid = modelClassFor(DEFAULT_CLASSES, modelNtotal(2, 100, 0)).id;
    const large = modelClassFor(DEFAULT_CLASSES, modelNtotal(2, 500, 0)).id;

    // After the maintainer's juggle every item here is in COLD but the newest small one (HOT may
    // hold 20 % of its class's bytes): the HOT LRUs come first in each turn, then the COLD ones.
    t('metadump: each LRU from its oldest item, all in turns (HOT LRUs by class, then COLD); expired items left out; nothing changes', async () => {
      const h = await open();
      for (let i = 0; i < 8; i++) h.set(`s${i}`, 'x');
      for (let i = 0; i < 3; i++) h.set(`m${i}`, 'y'.repeat(100));
      for (let i = 0; i < 2; i++) h.set(`L${i}`, 'z'.repeat(500), { exptime: 100 });
      h.get('s2');
      const all = metadump(h, [small, mid, large]);
      assert.equal(keys(all), ['s7', 's0', 'm0', 'L0', 's1', 'm1', 'L1', 's2', 'm2', 's3', 's4', 's5', 's6']);
      expectStats(h, 'items', { [`items:${small}:number_hot`]: 1, [`items:${small}:number_cold`]: 7 }, 's7 in HOT');
      const l0 = h.get('L0')!;
      assert.equal(all[3], { key: 'L0', exptime: l0.exptime, time: l0.time, cas: l0.cas, fetched: false, clsid: large, ntotal: modelNtotal(2, 500, 0) }, 'what an item shows');
      assert.is(all.find((c) => c.key === 's2')!.fetched, true, 'fetch=yes');
      assert.is(all.find((c) => c.key === 's3')!.fetched, false, 'fetch=no');
      const counts = h.statMap('items');
      assert.equal(keys(metadump(h, [small, mid, large])), keys(all), 'the same again: nothing moved');
      assert.equal(h.statMap('items'), counts, 'no counter moved');
      assert.equal(keys(metadump(h, [mid])), ['m0', 'm1', 'm2'], 'one class');
      assert.equal(keys(metadump(h, [small, 0, LARGEST.id + 1, 63])), keys(all).filter((k) => k.startsWith('s')), 'classes the engine does not have hold nothing');
      h.set('gone', 'x', { exptime: 1 });
      h.advance(2);
      assert.not.ok(keys(metadump(h, [small])).includes('gone'), 'expired items are left out');
      h.flush();
      assert.equal(metadump(h, [small, mid, large]), [], 'flushed items are left out');
    });

    t('metadump hash: every live item, bucket by bucket of the murmur3 table', async () => {
      const h = await open();
      for (let i = 0; i < 200; i++) h.set(keyN('k', i), 'v');
      h.set('dead', 'v', { exptime: 1 });
      h.advance(2);
      const mask = 2 ** h.stat('hash_power_level') - 1;
      const found = keys(metadump(h, 'hash'));
      assert.is(found.length, 200);
      assert.equal([...found].sort(), Array.from({ length: 200 }, (_, i) => keyN('k', i)).sort());
      const buckets = found.map((k) => (murmur3(toBytes(k)) & mask) >>> 0);
      assert.ok(buckets.every((b, i) => i === 0 || b >= buckets[i - 1]!), 'buckets in ascending order');
    });

    t('metadump hash: a bucket shared by several keys lists the newest first, also after the table doubled', async () => {
      const h = await open({ hashpower: 12 });
      // 2^12 * 1.5 items start a doubling; 2^12 / 2 inserts more finish it.
      for (const count of [3000, 9000]) {
        for (let i = count === 3000 ? 0 : 3000; i < count; i++) h.set(keyN('k', i), 'v');
        const mask = 2 ** h.stat('hash_power_level') - 1;
        const found = keys(metadump(h, 'hash'));
        assert.is(found.length, count);
        let shared = 0;
        for (let i = 1; i < found.length; i++) {
          const [a, b] = [found[i - 1]!, found[i]!];
          if ((murmur3(toBytes(a)) & mask) !== (murmur3(toBytes(b)) & mask)) continue;
          shared += 1;
          assert.ok(Number(a.slice(1)) > Number(b.slice(1)), `${a} (newer) before ${b} in their bucket`);
        }
        assert.ok(shared > 100, `buckets shared by several keys: ${shared}`);
      }
      assert.is(h.stat('hash_power_level'), 13, 'the table doubled');
    });

    t('crawl without a visit (autoexpire) unlinks the expired and flushed items no one holds', async () => {
      const h = await open();
      // The expired items are in the middle of COLD, out of the maintainer's reach: 20 live ones
      // below them at the tail, and the 20 linked after them took HOT's share.
      for (let i = 0; i < 20; i++) h.set(keyN('pad', i), 'p');
      h.set('unfetched', '2', { exptime: 1 });
      h.set('fetched', '3', { exptime: 1 });
      h.set('held', '4', { exptime: 1 });
      h.set('live', '1');
      for (let i = 0; i < 20; i++) h.set(keyN('top', i), 't');
      h.get('fetched');
      const held = h.hold('held')!;
      h.advance(2);
      const before = h.stat('expired_unfetched');
      isStatus(h.sync(h.engine.crawl!([small]), 'crawl'), Status.SUCCESS, 'crawl');
      assert.is(h.stat('curr_items'), 42, 'the live ones and the held one stay');
      assert.is(h.stat('expired_unfetched') - before, 1, 'one never fetched');
      h.release(held);
      isStatus(h.sync(h.engine.crawl!([small]), 'crawl'), Status.SUCCESS, 'crawl');
      assert.is(h.stat('curr_items'), 41, 'let go, it is reclaimed');
      assert.is(h.stat('reclaimed'), 0, 'the crawler reclaimed them, not the maintainer');
      h.flush();
      isStatus(h.sync(h.engine.crawl!([small]), 'crawl'), Status.SUCCESS, 'crawl');
      assert.is(h.stat('curr_items'), 0, 'flushed items too');
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('the maintainer in the background (maintainLru)');
    /** maintainLru(budget), which the engine must have. */
    const maintainLru = (h: EngineHarness, budget: number): number => {
      assert.type(h.engine.maintainLru, 'function', 'the engine implements maintainLru');
      const rounds = h.engine.maintainLru!(budget);
      assert.ok(rounds >= 0 && rounds <= budget, `maintainLru(${budget}) did ${rounds} rounds`);
      return rounds;
    };
    /** Calls maintainLru(budget) until everything has settled; the rounds in all. */
    const settle = (h: EngineHarness, budget: number): number => {
      let total = 0;
      for (let calls = 0; calls < 1_000_000; calls++) {
        const rounds = maintainLru(h, budget);
        total += rounds;
        if (rounds < budget) return total;
      }
      throw new Error('never settled');
    };

    // memcached 1.6.18: set a, set b, flush_all; a second later curr_items 0, reclaimed 2,
    // expired_unfetched 2, crawler_reclaimed 0.
    t('flushed items are reclaimed at the tails: curr_items, bytes and the slabs fall', async () => {
      const h = await open();
      h.set('a', '1');
      h.set('b', '2');
      const cls = h.get('b')!.clsid; // b is fetched, a is not
      h.flush(0);
      assert.ok(maintainLru(h, 100) < 100, 'settled within the budget');
      expectStats(h, '', {
        curr_items: 0, bytes: 0, reclaimed: 2, expired_unfetched: 1, get_flushed: 0,
        crawler_reclaimed: 0, crawler_items_checked: 0,
      }, 'counted as memcached\'s maintainer counts them');
      assert.is(h.classStat('items', cls, 'number'), 0);
      assert.is(h.classStat('slabs', cls, 'used_chunks'), 0, 'the chunks are free again');
      assert.is(h.get('a'), undefined);
      expectStats(h, '', { get_misses: 1, get_flushed: 0 }, 'a plain miss now');
      assert.is(maintainLru(h, 100), 0, 'nothing left to do');
    });

    // As memcached's maintainer, only what reaches a tail goes: an expired item behind a live
    // one in COLD stays linked until it is looked up (memcached's pymemcache transcript counts
    // it in get_expired).
    t('expired items at the tails go; one behind a live item stays until looked up', async () => {
      const h = await open();
      h.set('short', 's', { exptime: 2 });
      h.set('forever', 'f');
      h.set('buried', 'b', { exptime: 2 });
      h.set('long', 'l', { exptime: 100 });
      h.advance(1);
      settle(h, 10);
      expectStats(h, '', { curr_items: 4, reclaimed: 0 }, 'nothing expired yet');
      h.advance(1);
      settle(h, 10);
      expectStats(h, '', { curr_items: 3, reclaimed: 1, expired_unfetched: 1, get_expired: 0 }, 'short reclaimed');
      assert.ok(h.get('long') && h.get('forever'), 'the live ones are untouched');
      assert.is(h.get('buried'), undefined);
      expectStats(h, '', { curr_items: 2, get_expired: 1 }, 'buried went at its lookup');
    });

    t('a delayed flush reclaims nothing until its time', async () => {
      const h = await open();
      h.set('a', '1');
      h.flush(5);
      h.advance(3);
      settle(h, 10);
      expectStats(h, '', { curr_items: 1, reclaimed: 0 }, 'before');
      h.advance(2);
      settle(h, 10);
      expectStats(h, '', { curr_items: 0, reclaimed: 1 }, 'after');
    });

    t('an item a client holds is skipped (lrutail_reflocked), and reclaimed once released', async () => {
      const h = await open();
      h.set('a', '1');
      h.set('b', '2');
      const held = h.hold('a')!;
      h.flush(0);
      settle(h, 10);
      expectStats(h, '', { curr_items: 1, reclaimed: 1 }, 'a is held');
      h.release(held);
      settle(h, 10);
      expectStats(h, '', { curr_items: 0, reclaimed: 2 }, 'released');
    });

    t('the budget bounds each call; calls go on until every class has settled', async () => {
      const h = await open();
      const n = 300;
      // Three value sizes: three slab classes.
      for (let i = 0; i < n; i++) h.set(`k${i}`, 'v'.repeat([1, 200, 2000][i % 3]!));
      h.flush(0);
      for (let i = 0; i < 30; i++) h.set(`live${i}`, 'v'.repeat([1, 200, 2000][i % 3]!));
      assert.is(maintainLru(h, 1), 1, 'one round, and there is more');
      assert.is(maintainLru(h, 7), 7);
      settle(h, 7);
      expectStats(h, '', { curr_items: 30, reclaimed: n }, 'every flushed item went');
      for (let i = 0; i < 30; i++) assert.ok(h.get(`live${i}`), `live${i}`);
      assert.ok(maintainLru(h, 1000) < 1000, 'settles again within one call');
      assert.is(maintainLru(h, 0), 0, 'a budget of 0 does nothing');
    });

    t('HOT items older than their age limit go to COLD, as the maintainer moves them', async () => {
      const h = await open();
      h.set('a', '1');
      h.advance(2);
      expectStats(h, 'items', { 'items:1:number_hot': 1 }, 'alone in HOT, held when linked');
      settle(h, 10);
      expectStats(h, 'items', { 'items:1:number_hot': 0, 'items:1:number_cold': 1 }, 'moved');
    });

    t('a hash table expansion under way does not disturb it', async () => {
      const h = await open({ hashpower: 12 });
      const flushed = 6100;
      for (let i = 0; i < flushed; i++) h.set(`f${i}`, 'x');
      h.flush(0);
      assert.is(maintainLru(h, 100), 100);
      for (let i = 0; i < 2000; i++) h.set(`live${i}`, 'y');
      assert.is(maintainLru(h, 300), 300, 'reclaims while the table may still be expanding');
      settle(h, 500);
      expectStats(h, '', { curr_items: 2000, reclaimed: flushed }, 'after');
      for (let i = 0; i < 2000; i += 97) assert.ok(h.get(`live${i}`), `live${i}`);
    });
  }

  // ---------------------------------------------------------------------------------------------
  {
    const t = group('the flat LRU and settings changed while running (lru_segmented, tune)');
    const VALUE = 'v'.repeat(1000);
    const CLS = modelClassFor(DEFAULT_CLASSES, modelNtotal(6, VALUE.length, 0));
    const CAPACITY = 2 * CLS.perslab;
    const counts = (h: EngineHarness): number[] => ['hot', 'warm', 'cold'].map((lru) => h.classStat('items', CLS.id, `number_${lru}`));
    const tune = (h: EngineHarness, change: Parameters<NonNullable<EngineHandle['tune']>>[0]): Status => {
      assert.type(h.engine.tune, 'function', 'the engine implements tune');
      return h.engine.tune!(change);
    };
    const settle = (h: EngineHarness): void => {
      while (h.engine.maintainLru!(1000) === 1000);
    };

    t('lru_segmented=false: items live in COLD, a hit moves one to the head at most once a minute, eviction takes the tail', async () => {
      const h = await open({ cache_size: '2m', lru_segmented: 'false' });
      expectStats(h, 'settings', { lru_segmented: 'no' }, 'stats settings');
      for (let i = 0; i < CAPACITY; i++) isStatus(h.set(keyN('k', i), VALUE), Status.SUCCESS, `fill ${i}`);
      assert.equal(counts(h), [0, 0, CAPACITY], 'all in COLD');
      h.get(keyN('k', 0));
      h.get(keyN('k', 0));
      assert.equal(counts(h), [0, 0, CAPACITY], 'two hits do not move it to WARM');
      settle(h);
      assert.equal(counts(h), [0, 0, CAPACITY], 'nor does the maintainer');
      h.advance(61);
      h.get(keyN('k', 1));
      isStatus(h.set('new0', VALUE), Status.SUCCESS, 'set into a full class');
      isStatus(h.set('new1', VALUE), Status.SUCCESS, 'and another');
      assert.is(h.get(keyN('k', 0)), undefined, 'k00000 went: hit only within its first minute');
      assert.ok(h.get(keyN('k', 1)), 'k00001 stays: hit after a minute, it went to the head');
      assert.is(h.get(keyN('k', 2)), undefined, 'k00002 went next');
      expectStats(h, '', { evictions: 2, moves_to_warm: 0, moves_to_cold: 0 }, 'stats');
      expectStats(h, 'items', { [`items:${CLS.id}:hits_to_cold`]: 4, [`items:${CLS.id}:hits_to_hot`]: 0 }, 'every hit in COLD');
    });

    t('tune lruSegmented false drains HOT and WARM into COLD; true again links new items in HOT', async () => {
      const h = await open();
      for (let i = 0; i < 10; i++) h.set(keyN('k', i), VALUE);
      h.get(keyN('k', 0));
      h.get(keyN('k', 0));
      settle(h);
      assert.ok(counts(h)[0]! + counts(h)[1]! > 0, 'some in HOT or WARM to begin with');
      isStatus(tune(h, { lruSegmented: false }), Status.SUCCESS, 'lru mode flat');
      expectStats(h, 'settings', { lru_segmented: 'no' }, 'stats settings');
      settle(h);
      assert.equal(counts(h), [0, 0, 10], 'drained');
      h.set('flat', VALUE);
      assert.equal(counts(h), [0, 0, 11], 'a new item goes to COLD');
      isStatus(tune(h, { lruSegmented: true }), Status.SUCCESS, 'lru mode segmented');
      h.set('segmented', VALUE);
      assert.is(counts(h)[0], 1, 'a new item goes to HOT');
    });

    t('tune checks its bounds and shows in stats settings; cache_size goes down, and back up to what was laid out', async () => {
      const h = await open({ cache_size: '16m' });
      for (const bad of [{ hotLruPct: 50, warmLruPct: 40 }, { hotMaxFactor: 0 }, { warmMaxFactor: -1 }, { cacheSize: 17 * MIB }, { cacheSize: 7 * MIB }]) {
        isStatus(tune(h, bad), Status.EINVAL, JSON.stringify(bad));
      }
      expectStats(h, 'settings', { hot_lru_pct: 20, warm_lru_pct: 40, hot_max_factor: '0.20', warm_max_factor: '2.00', maxbytes: 16 * MIB }, 'nothing changed');
      isStatus(tune(h, { hotLruPct: 10, warmLruPct: 70, hotMaxFactor: 0.5, warmMaxFactor: 3 }), Status.SUCCESS, 'lru tune');
      expectStats(h, 'settings', { hot_lru_pct: 10, warm_lru_pct: 70, hot_max_factor: '0.50', warm_max_factor: '3.00' }, 'tuned');
      isStatus(tune(h, { cacheSize: 8 * MIB }), Status.SUCCESS, 'cache_memlimit 8');
      expectStats(h, 'settings', { maxbytes: 8 * MIB }, 'maxbytes');
      expectStats(h, '', { limit_maxbytes: 8 * MIB }, 'limit_maxbytes');
      for (let i = 0; i < 12 * CLS.perslab; i++) h.set(keyN('k', i), VALUE);
      expectStats(h, 'slabs', { total_malloced: 8 * MIB }, 'no page past the lower limit');
      assert.ok(h.stat('evictions') > 0, 'evicting instead');
      isStatus(tune(h, { cacheSize: 16 * MIB }), Status.SUCCESS, 'cache_memlimit 16');
      for (let i = 0; i < 12 * CLS.perslab; i++) h.set(keyN('m', i), VALUE);
      expectStats(h, 'slabs', { total_malloced: 16 * MIB }, 'pages up to the limit again');
    });

    t('age factors inf and nan are taken (memcached refuses only <= 0) and make an age limit of 0, as x86-64 converts them', async () => {
      const h = await open();
      isStatus(tune(h, { hotMaxFactor: -Infinity }), Status.EINVAL, '-inf');
      isStatus(tune(h, { hotLruPct: 60, warmLruPct: 20, hotMaxFactor: 1e9 }), Status.SUCCESS, 'a large finite factor');
      for (let i = 0; i < 10; i++) h.set(keyN('k', i), VALUE);
      settle(h);
      const before = counts(h);
      assert.ok(before[0]! > 0, `some stay in HOT within its 60% (${before})`);
      h.advance(5);
      settle(h);
      assert.equal(counts(h), before, 'cold age times 1e9: none too old');
      isStatus(tune(h, { hotMaxFactor: Infinity, warmMaxFactor: NaN }), Status.SUCCESS, 'inf and nan');
      expectStats(h, 'settings', { hot_max_factor: 'inf', warm_max_factor: 'nan' }, 'printf spells them');
      settle(h);
      assert.equal(counts(h), [0, 0, 10], 'cold age times inf converts to 0: every HOT item is too old');
      isStatus(tune(h, { hotMaxFactor: NaN }), Status.SUCCESS, 'nan');
      h.set('young', VALUE);
      h.advance(2);
      settle(h);
      assert.equal(counts(h), [0, 0, 11], 'so does nan');
    });
  }

  return {
    run(): void {
      for (const s of suites) s.run();
    },
  };
}
