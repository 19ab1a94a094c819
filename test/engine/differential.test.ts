// Differential test: seeded random operation sequences through the ts and wasm engines in
// lockstep. Every step's status, value, flags, CAS, exptime (and clsid, time, fetched) must agree,
// and so must all stats groups (but hash_* keys) at checkpoints; the wasm engine runs its debug
// build and selfCheck() every few thousand operations.
//
// Reproduce a failure with the seed and step it prints:
//   DIFF_SEED=3 DIFF_STEPS=12346 node --import tsx node_modules/uvu/bin.js test differential
// DIFF_ENGINES=ts,ts compares an engine with itself (to check the test).
import { Buffer } from 'node:buffer';
import { inspect, isDeepStrictEqual } from 'node:util';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Status, StoreOperation, statusName } from '../../src/engine/status.ts';
import { DEFAULT_SLAB_SETTINGS, closeAll, modelSlabClasses, openEngine } from './harness.ts';
import type { EngineHarness, EngineName, ItemView, SlabSettings } from './harness.ts';

interface Scenario {
  seed: number;
  steps: number;
  keys: number;
  config: Record<string, string>;
}

const SCENARIOS: Scenario[] = [
  { seed: 1, steps: 20_000, keys: 120, config: { cache_size: '4m' } },
  { seed: 2, steps: 20_000, keys: 300, config: { cache_size: '8m', eviction: 'false' } },
  { seed: 3, steps: 20_000, keys: 80, config: { cache_size: '6m', use_cas: 'false', track_sizes: 'true' } },
  {
    seed: 4,
    steps: 20_000,
    keys: 200,
    config: { cache_size: '4m', factor: '2', chunk_size: '32', hot_lru_pct: '10', warm_lru_pct: '30', track_sizes: 'true' },
  },
  { seed: 5, steps: 20_000, keys: 60, config: { cache_size: '8m', hashpower: '12', item_size_max: '2m' } },
  {
    seed: 6,
    steps: 20_000,
    keys: 150,
    config: { cache_size: '5m', slab_page_size: '512k', slab_chunk_max: '128k', eviction: 'true' },
  },
];

const CHECKPOINT_EVERY = 2_500;
const SELF_CHECK_EVERY = 2_000;
const MAX_HELD = 4;
const STATS_GROUPS = ['', 'settings', 'items', 'slabs', 'sizes'];
const U64_MAX = (1n << 64n) - 1n;
const THIRTY_DAYS = 60 * 60 * 24 * 30;

const [ENGINE_A, ENGINE_B] = (process.env.DIFF_ENGINES ?? 'ts,wasm').split(',') as [EngineName, EngineName];
const BASE_CONFIG: Record<EngineName, Record<string, string>> = { ts: {}, wasm: { wasm_build: 'debug' }, fs: { sync: 'none' } };

/** mulberry32: a small seeded PRNG, so that a seed replays the same sequence. */
function createRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Dice {
  constructor(private readonly next: () => number) {}
  float(): number {
    return this.next();
  }
  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  u64(): bigint {
    return (BigInt(this.int(0, 0xffffffff)) << 32n) | BigInt(this.int(0, 0xffffffff));
  }
  /** One of weighted choices. */
  weighted<T>(choices: ReadonlyArray<readonly [number, T]>): T {
    let total = 0;
    for (const [w] of choices) total += w;
    let x = this.next() * total;
    for (const [w, value] of choices) {
      x -= w;
      if (x < 0) return value;
    }
    return choices[choices.length - 1]![1];
  }
}

/** Summarizes large byte arrays so that a mismatch report stays readable. */
function show(value: unknown): string {
  const summarize = (v: unknown): unknown => {
    if (v instanceof Uint8Array) {
      if (v.length <= 48) return `bytes(${v.length}) ${JSON.stringify(Buffer.from(v).toString('latin1'))}`;
      let hash = 0x811c9dc5;
      for (const byte of v) hash = Math.imul(hash ^ byte, 0x01000193) >>> 0;
      return `bytes(${v.length}) fnv1a ${hash.toString(16)} head ${JSON.stringify(Buffer.from(v.subarray(0, 24)).toString('latin1'))}`;
    }
    if (typeof v === 'string' && v.length > 64) return `${JSON.stringify(v.slice(0, 48))}... (${v.length} chars)`;
    if (Array.isArray(v)) return v.map(summarize);
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, summarize(x)]));
    }
    return v;
  };
  return inspect(summarize(value), { depth: 6, breakLength: 160 });
}

/** What a get-like step yields, without the latin1 copy (bytes carry the value). */
function itemResult(view: ItemView | undefined): unknown {
  if (view === undefined) return 'miss';
  const { value: _value, ...rest } = view;
  return rest;
}

interface Held {
  key: string;
  a: number;
  b: number;
  bytes: Uint8Array;
}

class Lockstep {
  step = 0;
  private readonly recent: string[] = [];
  readonly knownCas = new Map<string, bigint>();
  readonly held: Held[] = [];
  readonly bands: SizeBands;
  /** Values longer than this are chained items. */
  readonly chunkMax: number;
  /** How often each outcome was seen, to check that a sequence exercised what it should. */
  readonly outcomes = new Map<string, number>();
  /** Sums over checkpoints of stats that show memory pressure, expiry and flush at work. */
  readonly pressure = { evictions: 0, store_no_memory: 0, reclaimed: 0, get_expired: 0, get_flushed: 0 };

  constructor(
    readonly scenario: Scenario,
    readonly a: EngineHarness,
    readonly b: EngineHarness,
  ) {
    this.bands = sizeBands(scenario.config);
    this.chunkMax = slabSettingsOf(scenario.config).slabChunkMax;
  }

  /** Runs one operation on both engines and requires identical results. */
  both<T>(description: string, run: (h: EngineHarness) => T): T {
    this.recent.push(`${this.step}: ${description}`);
    if (this.recent.length > 25) this.recent.shift();
    const ra = this.attempt(this.a, description, run);
    const rb = this.attempt(this.b, description, run);
    if (!isDeepStrictEqual(ra, rb)) this.fail(description, ra, rb);
    return ra;
  }

  fail(description: string, ra: unknown, rb: unknown): never {
    const { seed, config } = this.scenario;
    const configText = Object.entries(config).map(([k, v]) => `${k}=${v}`).join(';');
    throw new Error(
      [
        `engines disagree: seed ${seed} (config ${configText}), step ${this.step}: ${description}`,
        `  ${ENGINE_A}: ${show(ra)}`,
        `  ${ENGINE_B}: ${show(rb)}`,
        'recent operations:',
        ...this.recent.map((line) => `  ${line}`),
        `reproduce: DIFF_SEED=${seed} DIFF_STEPS=${this.step + 1} node --import tsx node_modules/uvu/bin.js test differential`,
      ].join('\n'),
    );
  }

  private attempt<T>(h: EngineHarness, description: string, run: (h: EngineHarness) => T): T {
    try {
      return run(h);
    } catch (error) {
      const { seed } = this.scenario;
      const message = error instanceof Error ? error.message : String(error);
      throw new Error(
        `${h.name} threw at seed ${seed}, step ${this.step}: ${description}\n  ${message}\nrecent operations:\n` +
          this.recent.map((line) => `  ${line}`).join('\n'),
        { cause: error },
      );
    }
  }

  note(outcome: string): void {
    this.outcomes.set(outcome, (this.outcomes.get(outcome) ?? 0) + 1);
  }

  /** All stats groups but hash_* keys, in order. */
  compareStats(): void {
    for (const group of STATS_GROUPS) {
      const list = this.both(`stats '${group}'`, (h) => h.stats(group).filter(([key]) => !key.startsWith('hash_')));
      if (group !== '') continue;
      for (const [key, value] of list) {
        if (key in this.pressure) this.pressure[key as keyof Lockstep['pressure']] += Number(value);
      }
    }
  }

  selfCheck(): void {
    this.both('selfCheck', (h) => {
      h.selfCheck();
      return 'ok';
    });
  }
}

/** Value sizes: mostly within a few popular classes (so that they fill and evict), the rest spread. */
type SizeBands = ReadonlyArray<readonly [number, number, number]>;

function parseSize(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const m = /^(\d+)([km]?)$/i.exec(text)!;
  return Number(m[1]) * ({ '': 1, k: 1024, m: 1024 * 1024 }[m[2]!.toLowerCase()] ?? 1);
}

function slabSettingsOf(config: Record<string, string>): SlabSettings {
  const page = parseSize(config.slab_page_size, DEFAULT_SLAB_SETTINGS.slabPageSize);
  return {
    factor: Number(config.factor ?? DEFAULT_SLAB_SETTINGS.factor),
    chunkSize: Number(config.chunk_size ?? DEFAULT_SLAB_SETTINGS.chunkSize),
    slabPageSize: page,
    slabChunkMax: parseSize(config.slab_chunk_max, page / 2),
  };
}

function sizeBands(config: Record<string, string>): SizeBands {
  const settings = slabSettingsOf(config);
  const page = settings.slabPageSize;
  const classes = modelSlabClasses(settings);
  const largest = classes[classes.length - 1]!.size;
  const itemSizeMax = parseSize(config.item_size_max, 1024 * 1024);
  // The class holding ~1000-byte values, and the largest whose chunk is under a tenth of a page.
  const within = (target: number): readonly [number, number] => {
    const index = Math.max(1, classes.findIndex((c) => c.size >= target));
    return [classes[index - 1]!.size, classes[index]!.size - 300];
  };
  const big = classes.filter((c) => c.size <= page / 10);
  const bigIndex = classes.indexOf(big[big.length - 1]!);
  return [
    [40, 0, 40],
    [20, ...within(1000)],
    [14, classes[bigIndex - 1]!.size, classes[bigIndex]!.size - 300],
    [8, 41, largest / 4],
    [3, largest / 4, largest - 300],
    [1.5, largest, itemSizeMax],
    [0.3, itemSizeMax - 300, itemSizeMax + 100],
  ];
}

function randomValue(dice: Dice, bands: SizeBands): Uint8Array {
  const [, lo, hi] = dice.weighted(bands.map((band) => [band[0], band] as const));
  const nbytes = dice.int(Math.floor(lo), Math.floor(hi));
  const bytes = new Uint8Array(nbytes);
  let x = dice.int(1, 0x7fffffff);
  for (let i = 0; i < nbytes; i++) {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    bytes[i] = x >>> 24;
  }
  return bytes;
}

/** Decimal strings that incr/decr accept, and some they refuse. */
function numericValue(dice: Dice): string {
  return dice.weighted<() => string>([
    [30, () => String(dice.int(0, 1000))],
    [10, () => String(dice.int(0, 0xffffffff))],
    [8, () => dice.u64().toString()],
    [5, () => U64_MAX.toString()],
    [5, () => (U64_MAX - BigInt(dice.int(0, 5))).toString()],
    [5, () => ` ${dice.int(0, 99)}`],
    [4, () => `${dice.int(0, 99)} `],
    [3, () => `+${dice.int(0, 99)}`],
    [3, () => '-0'],
    [3, () => `00${dice.int(0, 9)}`],
    [3, () => '-1'],
    [3, () => `${dice.int(0, 99)}a`],
    [2, () => ''],
    [2, () => 'abc'],
    [2, () => '18446744073709551616'],
    [2, () => `\t${dice.int(0, 9)}\r\n`],
  ])();
}

function randomFlags(dice: Dice): number {
  return dice.weighted<() => number>([
    [50, () => 0],
    [30, () => dice.int(1, 100)],
    [20, () => dice.int(0, 0xffffffff)],
  ])();
}

function randomExptime(dice: Dice, h: EngineHarness): number {
  const unix = h.clock.now();
  return dice.weighted<() => number>([
    [55, () => 0],
    [20, () => dice.int(1, 60)],
    [5, () => dice.int(61, 5_000)],
    [6, () => unix + dice.int(1, 300)],
    [4, () => -dice.int(1, 1000)],
    [3, () => unix - dice.int(0, 1000)],
    [1, () => THIRTY_DAYS + 1],
    [1, () => THIRTY_DAYS],
  ])();
}

/** A key as it reads in a report: long keys shortened. */
function label(key: string): string {
  return key.length > 40 ? `${key[0]}x${key.lastIndexOf(key[0]!) + 1}${key.slice(key.lastIndexOf(key[0]!) + 1)}` : key;
}

function describeBytes(value: Uint8Array | string): string {
  if (typeof value === 'string') return JSON.stringify(value);
  return `<${value.length} bytes>`;
}

const OPS = {
  store(ls: Lockstep, dice: Dice, key: string): void {
    const op = dice.weighted<StoreOperation>([
      [22, StoreOperation.SET],
      [4, StoreOperation.ADD],
      [4, StoreOperation.REPLACE],
      [4, StoreOperation.APPEND],
      [3, StoreOperation.PREPEND],
      [6, StoreOperation.CAS],
    ]);
    const value: Uint8Array | string = dice.chance(0.2) ? numericValue(dice) : randomValue(dice, ls.bands);
    const flags = randomFlags(dice);
    const exptime = randomExptime(dice, ls.a);
    let cas = 0n;
    const known = ls.knownCas.get(key) ?? 0n;
    if (op === StoreOperation.CAS) {
      cas = dice.weighted<() => bigint>([
        [60, () => known],
        [20, () => known + 1n],
        [10, () => BigInt(dice.int(1, 100_000))],
        [10, () => 0n],
      ])();
    } else if ((op === StoreOperation.APPEND || op === StoreOperation.PREPEND) && dice.chance(0.3)) {
      cas = dice.chance(0.7) ? known : known + 1n;
    }
    const description = `store ${opName(op)} key=${label(key)} value=${describeBytes(value)} flags=${flags} exptime=${exptime} cas=${cas}`;
    const result = ls.both(description, (h) => h.store(key, value, { op, flags, exptime, cas }));
    ls.note(`store ${statusName(result.status)}`);
    if (result.status === Status.SUCCESS && value.length > ls.chunkMax) ls.note('store SUCCESS chained');
    if (result.status === Status.SUCCESS) ls.knownCas.set(key, result.cas);
  },

  get(ls: Lockstep, _dice: Dice, key: string): void {
    const result = ls.both(`get key=${label(key)}`, (h) => itemResult(h.get(key)));
    ls.note(result === 'miss' ? 'get miss' : 'get hit');
    if (typeof result === 'object' && result !== null) ls.knownCas.set(key, (result as { cas: bigint }).cas);
  },

  gat(ls: Lockstep, dice: Dice, key: string): void {
    const exptime = randomExptime(dice, ls.a);
    ls.both(`gat key=${label(key)} exptime=${exptime}`, (h) => itemResult(h.gat(key, exptime)));
  },

  touch(ls: Lockstep, dice: Dice, key: string): void {
    const exptime = randomExptime(dice, ls.a);
    ls.both(`touch key=${label(key)} exptime=${exptime}`, (h) => statusName(h.touch(key, exptime)));
  },

  remove(ls: Lockstep, dice: Dice, key: string): void {
    const known = ls.knownCas.get(key) ?? 0n;
    const cas = dice.weighted<() => bigint>([[70, () => 0n], [20, () => known], [10, () => known + 1n]])();
    ls.both(`remove key=${label(key)} cas=${cas}`, (h) => statusName(h.remove(key, cas)));
  },

  arithmetic(ls: Lockstep, dice: Dice, key: string): void {
    const incr = dice.chance(0.6);
    const delta = dice.weighted<() => bigint>([
      [60, () => BigInt(dice.int(0, 100))],
      [20, () => BigInt(dice.int(0, 0xffffffff))],
      [15, () => dice.u64()],
      [5, () => U64_MAX],
    ])();
    const create = dice.chance(0.2);
    const initial = dice.chance(0.5) ? BigInt(dice.int(0, 1000)) : dice.u64();
    const exptime = create ? randomExptime(dice, ls.a) : 0;
    const known = ls.knownCas.get(key) ?? 0n;
    const cas = dice.weighted<() => bigint>([[80, () => 0n], [15, () => known], [5, () => known + 1n]])();
    const description =
      `${incr ? 'incr' : 'decr'} key=${label(key)} delta=${delta} cas=${cas}` +
      (create ? ` create initial=${initial} exptime=${exptime}` : '');
    const result = ls.both(description, (h) => {
      const r = h.arithmetic(key, incr, delta, { create, initial, exptime, cas });
      return { status: statusName(r.status), value: r.value, cas: r.cas };
    });
    ls.note(`arithmetic ${result.status}`);
    if (result.status === 'SUCCESS') ls.knownCas.set(key, result.cas);
  },

  flush(ls: Lockstep, dice: Dice): void {
    const exptime = dice.weighted<() => number>([
      [50, () => 0],
      [35, () => dice.int(1, 30)],
      [15, () => ls.a.clock.now() + dice.int(1, 30)],
    ])();
    ls.both(`flush exptime=${exptime}`, (h) => statusName(h.flush(exptime)));
  },

  advance(ls: Lockstep, dice: Dice): void {
    const seconds = dice.weighted<() => number>([
      [70, () => dice.int(0, 2)],
      [20, () => dice.int(3, 30)],
      [8, () => dice.int(31, 200)],
      [2, () => dice.int(1_000, 100_000)],
    ])();
    ls.both(`advance ${seconds}`, (h) => {
      h.advance(seconds);
      return h.now();
    });
  },

  hold(ls: Lockstep, _dice: Dice, key: string): void {
    const pair = { a: 0, b: 0 };
    const result = ls.both(`hold key=${label(key)}`, (h) => {
      const item = h.hold(key);
      if (item === undefined) return 'miss';
      if (h === ls.a) pair.a = item;
      else pair.b = item;
      return itemResult(h.view(item));
    });
    if (result !== 'miss') ls.held.push({ key, ...pair, bytes: (result as { bytes: Uint8Array }).bytes });
  },

  release(ls: Lockstep, dice: Dice): void {
    if (ls.held.length === 0) return;
    const [held] = ls.held.splice(dice.int(0, ls.held.length - 1), 1);
    const { key, bytes } = held!;
    const result = ls.both(`release held key=${label(key)}`, (h) => {
      const item = h === ls.a ? held!.a : held!.b;
      const view = itemResult(h.view(item));
      h.release(item);
      return view;
    });
    const after = (result as { bytes: Uint8Array }).bytes;
    if (!isDeepStrictEqual(after, bytes)) {
      ls.fail(`release held key=${label(key)}: the held item's bytes changed`, bytes, after);
    }
  },

  abandon(ls: Lockstep, dice: Dice, key: string): void {
    const nbytes = dice.int(0, 5_000);
    const op = dice.pick([StoreOperation.SET, StoreOperation.ADD, StoreOperation.APPEND]);
    ls.both(`allocate and release key=${label(key)} nbytes=${nbytes} op=${opName(op)}`, (h) => {
      const item = h.allocate(key, nbytes, 0, 0, op);
      if (item < 0) return statusName(-item);
      h.release(item);
      return 'allocated';
    });
  },

  maintainLru(ls: Lockstep, dice: Dice): void {
    const budget = dice.weighted<() => number>([
      [70, () => dice.int(1, 20)],
      [30, () => dice.int(21, 500)],
    ])();
    ls.both(`maintainLru budget=${budget}`, (h) => h.engine.maintainLru!(budget));
  },

  resetStats(ls: Lockstep): void {
    ls.both('resetStats', (h) => {
      h.resetStats();
      return 'ok';
    });
  },
} as const;

function opName(op: StoreOperation): string {
  return Object.entries(StoreOperation).find(([, v]) => v === op)?.[0] ?? String(op);
}

type OpName = keyof typeof OPS;
const OP_WEIGHTS: ReadonlyArray<readonly [number, OpName]> = [
  [43, 'store'],
  [22, 'get'],
  [4, 'gat'],
  [4, 'touch'],
  [5, 'remove'],
  [10, 'arithmetic'],
  [8, 'advance'],
  [1, 'hold'],
  [1.5, 'release'],
  [0.5, 'abandon'],
  [0.03, 'flush'],
  [0.5, 'maintainLru'],
  [0.02, 'resetStats'],
];

function keyPool(count: number): string[] {
  const keys: string[] = [];
  for (let i = 0; i < count; i++) keys.push(i % 23 === 0 ? `${'L'.repeat(200)}:${i}` : `key:${i}`);
  return keys;
}

async function runScenario(scenario: Scenario, steps: number): Promise<void> {
  const a = await openEngine(ENGINE_A, { ...BASE_CONFIG[ENGINE_A], ...scenario.config });
  const b = await openEngine(ENGINE_B, { ...BASE_CONFIG[ENGINE_B], ...scenario.config });
  const ls = new Lockstep(scenario, a, b);
  const dice = new Dice(createRandom(scenario.seed));
  const keys = keyPool(scenario.keys);
  const counts: Record<string, number> = {};
  try {
    for (ls.step = 0; ls.step < steps; ls.step++) {
      let name = dice.weighted(OP_WEIGHTS);
      if (name === 'hold' && ls.held.length >= MAX_HELD) name = 'release';
      counts[name] = (counts[name] ?? 0) + 1;
      OPS[name](ls, dice, dice.pick(keys));
      if ((ls.step + 1) % CHECKPOINT_EVERY === 0) ls.compareStats();
      if ((ls.step + 1) % SELF_CHECK_EVERY === 0) ls.selfCheck();
    }
    while (ls.held.length > 0) OPS.release(ls, dice);
    ls.compareStats();
    ls.selfCheck();
  } finally {
    closeAll(false);
  }
  if (process.env.DIFF_VERBOSE) console.log(scenario.seed, counts, ls.outcomes, ls.pressure);
  if (steps < scenario.steps) return;
  // The sequence must have exercised what it is meant to, or agreement proves little.
  const seen = (outcome: string): void => assert.ok(ls.outcomes.has(outcome), `seed ${scenario.seed} never saw '${outcome}'`);
  for (const outcome of ['store SUCCESS', 'store NOT_STORED', 'store KEY_EEXISTS', 'store KEY_ENOENT', 'get hit', 'get miss']) {
    seen(outcome);
  }
  for (const outcome of ['arithmetic SUCCESS', 'arithmetic EINVAL', 'arithmetic KEY_ENOENT']) seen(outcome);
  const { evictions, store_no_memory, reclaimed, get_expired } = ls.pressure;
  assert.ok(evictions + store_no_memory > 0, `seed ${scenario.seed}: no memory pressure (evictions or ENOMEM)`);
  assert.ok(reclaimed + get_expired > 0, `seed ${scenario.seed}: nothing expired`);
}

const only = process.env.DIFF_SEED === undefined ? undefined : Number(process.env.DIFF_SEED);
const stepsOverride = process.env.DIFF_STEPS === undefined ? undefined : Number(process.env.DIFF_STEPS);

for (const scenario of SCENARIOS) {
  if (only !== undefined && scenario.seed !== only) continue;
  const configText = Object.entries(scenario.config).map(([k, v]) => `${k}=${v}`).join(';');
  test(`${ENGINE_A} and ${ENGINE_B} agree: seed ${scenario.seed}, ${scenario.steps} operations, ${configText}`, async () => {
    await runScenario(scenario, stepsOverride ?? scenario.steps);
    assert.ok(true);
  });
}

test.run();
