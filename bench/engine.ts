// In-process engine benchmark: the wasm and ts engines and the embedded cache (wasmcached/embed,
// string keys, copies out) against npm lru-cache on a 90/10 get/set mix over 1M items (16-byte
// keys, 100-byte values), then gets alone and sets alone; the subjects in turn for 3 rounds; ops/s
// as the median of the runs, memory per item, and GC pauses in the same runs in a cache of 100k
// items (a second child) against 1M.
// Each subject runs in its own child process, so one's heap and JIT feedback do not colour
// another's. Prints a table and writes bench/results/engine.md.
// Run: npm run bench:engine (= npm run build && node --expose-gc --import tsx bench/engine.ts);
// BENCH_SUBJECTS=embed,lru-cache, BENCH_ITEMS=100000 and BENCH_ROUNDS=1 narrow it (written to
// build/ then).

import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PerformanceObserver, performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { LRUCache } from 'lru-cache';
import { createCache } from '../src/embed/index.ts';
import { parseEngineConfig } from '../src/engine/config.ts';
import { loadEngine, startEngine } from '../src/engine/loader.ts';
import { Status, StoreOperation, statusName } from '../src/engine/status.ts';
import { createItemInfo } from '../src/engine/types.ts';
import type { EngineHandle, ItemHandle } from '../src/engine/types.ts';
import { createServerApi } from '../src/server/log.ts';

/** Items preloaded (BENCH_ITEMS; 1M unless narrowed, e.g. to see whether GC pauses grow with it). */
const DEFAULT_ITEMS = 1_000_000;
const ITEMS = Number(process.env['BENCH_ITEMS'] ?? DEFAULT_ITEMS);
if (!Number.isInteger(ITEMS) || ITEMS < 1000) throw new Error(`BENCH_ITEMS: expected an integer of at least 1000, not ${process.env['BENCH_ITEMS']}`);
const OPS = 2_000_000;
const RUNS = 3;
const KEY_BYTES = 16;
const VALUE_BYTES = 100;
const SET_PERCENT = 10;
/** 1M items of ntotal 175 land in the 192-byte class: 184 pages of 1 MiB; 256m leaves room. */
const ENGINE_CONFIG = 'cache_size=256m;hashpower=20';
const SUBJECTS = ['wasm', 'ts', 'embed', 'lru-cache'] as const;
/**
 * Rounds (BENCH_ROUNDS): every subject's child in turn, round after round (A B C D A B C D ...), so
 * that the machine's drift in speed falls on all subjects alike.
 */
const DEFAULT_ROUNDS = 3;
const ROUNDS = Number(process.env['BENCH_ROUNDS'] ?? DEFAULT_ROUNDS);
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) throw new Error(`BENCH_ROUNDS: expected a positive integer, not ${process.env['BENCH_ROUNDS']}`);
/** GC pauses in the runs at ITEMS are compared with those of the same runs in a cache of EARLY_ITEMS. */
const EARLY_ITEMS = Math.min(100_000, Math.floor(ITEMS / 10));
type SubjectName = (typeof SUBJECTS)[number];

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const MiB = 1024 * 1024;

/** What a child reports. */
interface Result {
  subject: SubjectName;
  skipped?: string;
  preloadSeconds: number;
  opsPerSecond: number[];
  /** process.memoryUsage() deltas from before the subject existed to after the preload, in bytes. */
  heapDelta: number;
  externalDelta: number;
  /** Resident set growth over the same span: what the OS gave the process (malloc, arena pages touched). */
  rssDelta: number;
  /** V8's young generation (new space) at the baseline and after the preload, in bytes: equal when warmed. */
  youngBefore: number;
  youngAfter: number;
  /** Engine stats after the preload (engines only). */
  engineBytes?: number;
  totalMalloced?: number;
  currItems?: number;
  /** Gets alone and sets alone (each of OPS / 2 ops), per run. */
  getsPerSecond?: number[];
  setsPerSecond?: number[];
  /** GC pauses (ms): the longest in the runs of a child at EARLY_ITEMS, and in these runs. */
  gcEarlyMaxMs?: number;
  gcLateMaxMs?: number;
  gcLateTotalMs?: number;
  /** RSS growth of each round (set when the rounds are merged). */
  rssRounds?: number[];
}

/** The operations the timed loop calls; one implementation per child, so the calls stay monomorphic. */
interface Subject {
  set(i: number): void;
  /** Returns the first value byte, so the read cannot be optimized away. */
  get(i: number): number;
  stats(): Promise<Partial<Result>>;
}

const youngGeneration = (): number => v8.getHeapSpaceStatistics().find((space) => space.space_name === 'new_space')?.physical_space_size ?? 0;

/**
 * Grows V8's young generation to its full size before the baseline. It starts at about 1 MiB, grows
 * in steps with the allocation and survival rates (to 32 MiB here, with pauses at 8 and 16) and
 * never shrinks on gc(): grown during the preload it would count as about 32 bytes per item of
 * every subject, though it is the process's, not the cache's. Key strings are made, one in ten
 * kept for a while (survivors are what makes it grow), until its size has not changed for 8
 * rounds of 200k.
 */
function warmYoungGeneration(): void {
  let kept: string[] = [];
  let size = youngGeneration();
  for (let steady = 0, round = 0; steady < 8 && round < 200; round++) {
    kept = [];
    for (let i = 0; i < 200_000; i++) {
      const key = keyText(i);
      if (i % 10 === 0) kept.push(key);
    }
    const now = youngGeneration();
    steady = now === size ? steady + 1 : 0;
    size = now;
  }
  if (kept.length === 0) throw new Error('no garbage was made');
}

const gc = (): void => {
  const collect = (globalThis as { gc?: () => void }).gc;
  if (collect === undefined) throw new Error('run with node --expose-gc');
  collect();
  collect();
};

// ---- child: one subject

async function child(name: SubjectName): Promise<Result> {
  const empty: Result = { subject: name, preloadSeconds: 0, opsPerSecond: [], heapDelta: 0, externalDelta: 0, rssDelta: 0, youngBefore: 0, youngAfter: 0 };
  const value = new Uint8Array(VALUE_BYTES).fill(0x61);
  const { order, isSet } = workload();

  warmYoungGeneration();
  gc();
  const youngBefore = youngGeneration();
  const before = process.memoryUsage();
  let subject: Subject;
  try {
    subject = name === 'lru-cache' ? lruSubject(value) : name === 'embed' ? await embedSubject(value) : await engineSubject(name, value);
  } catch (error) {
    return { ...empty, skipped: error instanceof Error ? error.message : String(error) };
  }

  const pauses: Array<{ at: number; ms: number }> = [];
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) pauses.push({ at: entry.startTime, ms: entry.duration });
  });
  observer.observe({ entryTypes: ['gc'] });
  let start = process.hrtime.bigint();
  for (let i = 0; i < ITEMS; i++) subject.set(i);
  const preloadSeconds = Number(process.hrtime.bigint() - start) / 1e9;
  gc();
  const after = process.memoryUsage();
  const youngAfter = youngGeneration();
  const stats = await subject.stats();

  const opsPerSecond: number[] = [];
  const getsPerSecond: number[] = [];
  const setsPerSecond: number[] = [];
  let sink = 0;
  const lateFrom = performance.now();
  for (let run = 0; run < RUNS; run++) {
    start = process.hrtime.bigint();
    for (let op = 0; op < OPS; op++) {
      const i = order[op]!;
      if (isSet[op] === 1) subject.set(i);
      else sink += subject.get(i);
    }
    opsPerSecond.push(OPS / (Number(process.hrtime.bigint() - start) / 1e9));
    start = process.hrtime.bigint();
    for (let op = 0; op < OPS / 2; op++) sink += subject.get(order[op]!);
    getsPerSecond.push(OPS / 2 / (Number(process.hrtime.bigint() - start) / 1e9));
    start = process.hrtime.bigint();
    for (let op = OPS / 2; op < OPS; op++) subject.set(order[op]!);
    setsPerSecond.push(OPS / 2 / (Number(process.hrtime.bigint() - start) / 1e9));
  }
  const lateTo = performance.now();
  if (sink === 0) throw new Error('every get missed: the preload did not store the items');
  await new Promise((resolve) => setTimeout(resolve, 100)); // the observer's entries arrive
  observer.disconnect();
  const within = (from: number, to: number) => pauses.filter((p) => p.at >= from && p.at <= to).map((p) => p.ms);
  const late = within(lateFrom, lateTo);
  return {
    ...empty,
    ...stats,
    getsPerSecond,
    setsPerSecond,
    gcLateMaxMs: Math.max(0, ...late),
    gcLateTotalMs: late.reduce((a, b) => a + b, 0),
    preloadSeconds,
    opsPerSecond,
    heapDelta: after.heapUsed - before.heapUsed,
    externalDelta: after.external - before.external,
    rssDelta: after.rss - before.rss,
    youngBefore,
    youngAfter,
  };
}

/** 16 ASCII bytes: 'key:' and 12 digits. */
function keyText(i: number): string {
  return `key:${String(i).padStart(KEY_BYTES - 4, '0')}`;
}

/** Key indices uniform over the items and a set for SET_PERCENT of the ops, from a fixed seed. */
function workload(): { order: Uint32Array; isSet: Uint8Array } {
  const order = new Uint32Array(OPS);
  const isSet = new Uint8Array(OPS);
  let x = 0x9e3779b9;
  const next = (): number => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return x >>> 0;
  };
  for (let op = 0; op < OPS; op++) {
    order[op] = next() % ITEMS;
    isSet[op] = next() % 100 < SET_PERCENT ? 1 : 0;
  }
  return { order, isSet };
}

async function engineSubject(name: 'wasm' | 'ts', value: Uint8Array): Promise<Subject> {
  const path = join(root, 'src', 'engines', name, 'index.ts');
  if (!existsSync(path)) throw new Error(`${path} does not exist yet`);
  const loaded = await loadEngine(path, {});
  const engine: EngineHandle = await startEngine(loaded, createServerApi(0), parseEngineConfig(ENGINE_CONFIG));
  const info = createItemInfo();
  // The key as a caller of the engine has it: bytes in a buffer it reuses (a server's read
  // buffer), made here from the same text lru-cache is given.
  const encoder = new TextEncoder();
  const key = new Uint8Array(KEY_BYTES);
  const keyOf = (i: number): Uint8Array => {
    encoder.encodeInto(keyText(i), key);
    return key;
  };
  const sync = (result: ItemHandle | Status | Promise<unknown>, what: string): number => {
    if (typeof result !== 'number') throw new Error(`${what} returned a Promise: only synchronous engines are measured here`);
    return result;
  };
  return {
    set(i: number): void {
      const item = sync(engine.allocate(keyOf(i), VALUE_BYTES, 0, 0, StoreOperation.SET), 'allocate');
      if (item <= 0) throw new Error(`allocate: ${statusName(-item)}`);
      engine.itemValue(item).set(value);
      const status = sync(engine.store(item, StoreOperation.SET, 0n), 'store');
      engine.release(item);
      if (status !== Status.SUCCESS) throw new Error(`store: ${statusName(status)}`);
    },
    get(i: number): number {
      const item = sync(engine.get(keyOf(i)), 'get');
      if (item <= 0) return 0;
      engine.getItemInfo(item, info);
      const first = info.valueBytes[info.valueOffset]!;
      engine.release(item);
      return first;
    },
    async stats(): Promise<Partial<Result>> {
      const stats = new Map<string, string>();
      for (const group of ['', 'slabs']) await engine.getStats(group, (key, v) => void stats.set(key, v));
      const read = (key: string): number | undefined => (stats.has(key) ? Number(stats.get(key)) : undefined);
      const result: Partial<Result> = {};
      const engineBytes = read('bytes');
      const totalMalloced = read('total_malloced');
      const currItems = read('curr_items');
      if (engineBytes !== undefined) result.engineBytes = engineBytes;
      if (totalMalloced !== undefined) result.totalMalloced = totalMalloced;
      if (currItems !== undefined) result.currItems = currItems;
      return result;
    },
  };
}

/**
 * The embedded cache through its public API, as a page or Worker uses it: string keys made at the
 * call site (as lru-cache gets them), bytes in, a copy out.
 */
async function embedSubject(value: Uint8Array): Promise<Subject> {
  // 1M items of ntotal 175 need 184 pages of the 192-byte class: sized to hold them, not more.
  const cache = await createCache({ maxBytes: 200 * MiB });
  return {
    set(i: number): void {
      if (!cache.set(keyText(i), value)) throw new Error('embed: set refused');
    },
    get(i: number): number {
      const found = cache.get(keyText(i));
      return found === undefined ? 0 : found[0]!;
    },
    async stats(): Promise<Partial<Result>> {
      const s = cache.stats();
      return { engineBytes: s['bytes'], currItems: s['curr_items'] };
    },
  };
}

/**
 * lru-cache as a JS user holds bytes: a string key made at the call site (`key:${id}`, as
 * application code does) and a Uint8Array of its own per value.
 */
function lruSubject(value: Uint8Array): Subject {
  const cache = new LRUCache<string, Uint8Array>({ max: ITEMS });
  return {
    set(i: number): void {
      cache.set(keyText(i), value.slice());
    },
    get(i: number): number {
      const found = cache.get(keyText(i));
      return found === undefined ? 0 : found[0]!;
    },
    async stats(): Promise<Partial<Result>> {
      return { currItems: cache.size };
    },
  };
}

// ---- parent: run the children, report

function runChild(name: SubjectName, items = ITEMS): Result {
  const script = fileURLToPath(import.meta.url);
  const run = spawnSync(process.execPath, [...process.execArgv, script, '--subject', name], {
    cwd: root,
    env: { ...process.env, BENCH_ITEMS: String(items) },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
    maxBuffer: 16 * MiB,
  });
  const line = run.stdout.trim().split('\n').pop() ?? '';
  try {
    return JSON.parse(line) as Result;
  } catch {
    const why = run.error?.message ?? `exit code ${run.status}${run.signal ? `, signal ${run.signal}` : ''}`;
    return { subject: name, skipped: `child failed (${why})`, preloadSeconds: 0, opsPerSecond: [], heapDelta: 0, externalDelta: 0, rssDelta: 0, youngBefore: 0, youngAfter: 0 };
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
}

interface Row {
  result: Result;
  ops: number;
  /** (heapUsed + external) growth per item: everything the process holds for the cache. */
  processPerItem: number;
  /** RSS growth per item. */
  rssPerItem: number;
  /** wasm: the slab pages handed out (total_malloced) plus the JS heap's growth, per item. */
  enginePerItem?: number;
}

function toRow(result: Result): Row {
  const row: Row = {
    result,
    ops: median(result.opsPerSecond),
    processPerItem: (result.heapDelta + result.externalDelta) / ITEMS,
    rssPerItem: result.rssDelta / ITEMS,
  };
  // Only the wasm engine keeps its items outside the JS heap; for ts, total_malloced is a figure of
  // the model, its real memory is the heap and external growth.
  if (result.subject === 'wasm' && result.totalMalloced !== undefined) {
    row.enginePerItem = (result.totalMalloced + result.heapDelta) / ITEMS;
  }
  return row;
}

/** Each round's RSS growth per item, when there was more than one round. */
const perRound = (rounds: number[] | undefined): string =>
  rounds === undefined || rounds.length < 2 ? '' : ` (rounds: ${rounds.map((r) => fmt(r / ITEMS, 1)).join(', ')})`;

const fmt = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });

function report(rows: Row[], skipped: Result[]): string {
  const lruVersion = (JSON.parse(readFileSync(join(root, 'node_modules', 'lru-cache', 'package.json'), 'utf8')) as { version: string }).version;
  const cpu = os.cpus()[0]?.model ?? 'unknown cpu';
  const lines: string[] = [];
  lines.push('# Engine benchmark (in process)');
  lines.push('');
  lines.push(`- Date: ${new Date().toISOString()}`);
  lines.push(`- Machine: ${cpu}, ${os.cpus().length} logical CPUs, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB, ${os.platform()} ${os.arch()}`);
  lines.push(`- Node ${process.version}; lru-cache ${lruVersion}`);
  lines.push(
    `- Workload: ${fmt(ITEMS)} items preloaded (${KEY_BYTES}-byte keys, ${VALUE_BYTES}-byte values), then ${fmt(OPS)} ops ` +
      `(${100 - SET_PERCENT}% get, ${SET_PERCENT}% set, keys uniform), ${RUNS} runs, in each of ${ROUNDS} rounds that take ` +
      `the subjects in turn; ops/s is the median of all runs, memory the median round's, a GC max pause the longest of ` +
      `all rounds. Engine config '${ENGINE_CONFIG}'.`,
  );
  lines.push('');
  lines.push(`| subject | preload items/s | mix ops/s (median) | runs (ops/s) | gets/s | sets/s | heap+external per item | RSS growth per item | young generation (MiB) | total_malloced + heap per item (wasm) | engine bytes per item | GC max pause in the runs, at ${fmt(EARLY_ITEMS)} / at ${fmt(ITEMS)} items | GC total in the runs |`);
  lines.push('|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
  for (const { result, ops, processPerItem, rssPerItem, enginePerItem } of rows) {
    const items = result.currItems ?? ITEMS;
    lines.push(
      `| ${result.subject} | ${fmt(ITEMS / result.preloadSeconds)} | ${fmt(ops)} | ${result.opsPerSecond.map((o) => fmt(o)).join(', ')} ` +
        `| ${fmt(median(result.getsPerSecond ?? []))} | ${fmt(median(result.setsPerSecond ?? []))} ` +
        `| ${fmt(processPerItem, 1)} B | ${fmt(rssPerItem, 1)} B${perRound(result.rssRounds)} | ${fmt(result.youngBefore / MiB, 1)} → ${fmt(result.youngAfter / MiB, 1)} | ${enginePerItem === undefined ? '-' : `${fmt(enginePerItem, 1)} B`} ` +
        `| ${result.engineBytes === undefined ? '-' : `${fmt(result.engineBytes / items, 1)} B`} ` +
        `| ${fmt(result.gcEarlyMaxMs ?? 0, 1)} / ${fmt(result.gcLateMaxMs ?? 0, 1)} ms | ${fmt(result.gcLateTotalMs ?? 0, 0)} ms |`,
    );
  }
  lines.push('');
  const embed = rows.find((r) => r.result.subject === 'embed');
  const lru = rows.find((r) => r.result.subject === 'lru-cache');
  if (embed !== undefined && lru !== undefined) {
    const ratio = (a: number[] | undefined, b: number[] | undefined): string => fmt(median(a ?? []) / median(b ?? []), 2);
    lines.push(
      `- embed/lru-cache (issue 8's targets: faster on gets, at most a third of the memory per item, GC pauses that do not grow with the item count): ` +
        `gets ${ratio(embed.result.getsPerSecond, lru.result.getsPerSecond)}x, sets ${ratio(embed.result.setsPerSecond, lru.result.setsPerSecond)}x, ` +
        `mix ${fmt(embed.ops / lru.ops, 2)}x; heap+external per item ${fmt(embed.processPerItem / lru.processPerItem, 2)}x, ` +
        `RSS growth per item ${fmt(embed.rssPerItem / lru.rssPerItem, 3)}x (a third of lru-cache's is ${fmt(lru.rssPerItem / 3, 1)} B); ` +
        `GC max pause in the runs at ${fmt(EARLY_ITEMS)} / ${fmt(ITEMS)} items: embed ${fmt(embed.result.gcEarlyMaxMs ?? 0, 1)} / ${fmt(embed.result.gcLateMaxMs ?? 0, 1)} ms, ` +
          `lru-cache ${fmt(lru.result.gcEarlyMaxMs ?? 0, 1)} / ${fmt(lru.result.gcLateMaxMs ?? 0, 1)} ms`,
    );
  }
  const wasm = rows.find((r) => r.result.subject === 'wasm');
  for (const other of ['ts', 'lru-cache'] as const) {
    const row = rows.find((r) => r.result.subject === other);
    if (wasm === undefined || row === undefined) continue;
    lines.push(
      `- wasm/${other}: ops/s ${fmt(wasm.ops / row.ops, 2)}x; heap+external per item ` +
        `${fmt(wasm.processPerItem / row.processPerItem, 2)}x` +
        (wasm.enginePerItem !== undefined
          ? `; wasm's total_malloced + heap against ${other}'s heap+external ${fmt(wasm.enginePerItem / row.processPerItem, 2)}x`
          : ''),
    );
  }
  for (const result of skipped) lines.push(`- skipped ${result.subject}: ${result.skipped}`);
  lines.push('');
  lines.push('How to read it:');
  lines.push('- heap+external per item is the growth of process.memoryUsage() heapUsed + external (after gc) from before');
  lines.push('  the cache existed to after the preload, over the item count: all the process holds for the cache.');
  lines.push('  WebAssembly memory counts as external, so the wasm figure includes its whole arena (reserved at');
  lines.push('  initialize from cache_size), used or not. For lru-cache it includes the 1M key strings it keeps.');
  lines.push('- RSS growth per item: VmRSS after the preload (and gc) minus before, over the item count: the');
  lines.push('  memory the OS gave the process for the cache. It counts what heap+external cannot see (each');
  lines.push('  Uint8Array\'s backing store and its malloc overhead beyond its bytes) and only the arena pages the');
  lines.push('  engine touched. V8\'s young generation is grown to its full size before the baseline (by');
  lines.push('  making key strings until it stops growing): it is the process\'s, not the cache\'s, and grown during');
  lines.push('  the preload it would add about 32 B per item to every subject. Its size at the baseline and after');
  lines.push('  the preload is in the young generation column.');
  lines.push('- total_malloced + heap per item (wasm): the slab pages the engine handed out (stats slabs');
  lines.push('  total_malloced) plus the JS heap growth: what the items use of the arena. Engine bytes per item is');
  lines.push('  `stats` bytes (the sum of item sizes, ntotal) over curr_items.');
  lines.push('- Every operation makes its key from the item number at the call site: lru-cache gets the text');
  lines.push('  (`key:` and 12 digits), the engines the same text encoded into one reused 16-byte buffer, as a');
  lines.push('  server has a key in its read buffer. Both pay for making the key; neither holds 1M prebuilt keys.');
  lines.push('- Engine gets read the value through getItemInfo and release the item, as the server will; lru-cache');
  lines.push('  sets store a fresh 100-byte Uint8Array per set, as a JS user holding bytes would.');
  return `${lines.join('\n')}\n`;
}

/** One subject's rounds as one result: runs pooled, memory and preload the median round's, GC maxima the largest. */
function merge(rounds: Result[]): Result {
  const mid = (of: (r: Result) => number): number => median(rounds.map(of));
  const most = (of: (r: Result) => number | undefined): number => Math.max(0, ...rounds.map((r) => of(r) ?? 0));
  return {
    ...rounds[0]!,
    preloadSeconds: mid((r) => r.preloadSeconds),
    opsPerSecond: rounds.flatMap((r) => r.opsPerSecond),
    getsPerSecond: rounds.flatMap((r) => r.getsPerSecond ?? []),
    setsPerSecond: rounds.flatMap((r) => r.setsPerSecond ?? []),
    heapDelta: mid((r) => r.heapDelta),
    externalDelta: mid((r) => r.externalDelta),
    rssDelta: mid((r) => r.rssDelta),
    youngBefore: mid((r) => r.youngBefore),
    youngAfter: mid((r) => r.youngAfter),
    gcEarlyMaxMs: most((r) => r.gcEarlyMaxMs),
    gcLateMaxMs: most((r) => r.gcLateMaxMs),
    gcLateTotalMs: mid((r) => r.gcLateTotalMs ?? 0),
    rssRounds: rounds.map((r) => r.rssDelta),
  };
}

async function parent(): Promise<void> {
  if ((globalThis as { gc?: unknown }).gc === undefined) throw new Error('run with node --expose-gc');
  const only = (process.env['BENCH_SUBJECTS'] ?? '').split(',').filter((name) => name !== '');
  const names = SUBJECTS.filter((subject) => only.length === 0 || only.includes(subject));
  const rounds = new Map<SubjectName, Result[]>(names.map((name) => [name, []]));
  const skipped: Result[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const name of names) {
      if (skipped.some((r) => r.subject === name)) continue;
      process.stderr.write(`bench: round ${round}: ${name}...\n`);
      const result = runChild(name);
      if (result.skipped !== undefined) {
        process.stderr.write(`bench: skipped ${name}: ${result.skipped}\n`);
        skipped.push(result);
        continue;
      }
      // The same runs in a cache of EARLY_ITEMS, in a child of its own: its pauses are what the
      // pauses at ITEMS are compared with.
      process.stderr.write(`bench: round ${round}: ${name} at ${EARLY_ITEMS} items...\n`);
      const early = runChild(name, EARLY_ITEMS);
      if (early.skipped === undefined) result.gcEarlyMaxMs = early.gcLateMaxMs;
      rounds.get(name)!.push(result);
    }
  }
  const results = names.filter((name) => !skipped.some((r) => r.subject === name)).map((name) => merge(rounds.get(name)!));
  const rows = results.map(toRow);
  const markdown = report(rows, skipped);
  process.stdout.write(markdown);
  // A run narrowed by BENCH_SUBJECTS, BENCH_ITEMS or BENCH_ROUNDS does not replace the results file.
  const narrowed = only.length > 0 || ITEMS !== DEFAULT_ITEMS || ROUNDS < DEFAULT_ROUNDS;
  const out = narrowed ? join('build', 'bench-engine-partial.md') : join('bench', 'results', 'engine.md');
  mkdirSync(dirname(join(root, out)), { recursive: true });
  writeFileSync(join(root, out), markdown);
  process.stderr.write(`bench: wrote ${out}\n`);
}

const subjectAt = process.argv.indexOf('--subject');
if (subjectAt >= 0) {
  const name = process.argv[subjectAt + 1] as SubjectName;
  if (!SUBJECTS.includes(name)) throw new Error(`unknown subject '${name}'`);
  process.stdout.write(`${JSON.stringify(await child(name))}\n`);
} else {
  await parent();
}
