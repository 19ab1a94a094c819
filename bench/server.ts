// Server benchmark (issue 6): memcached against wasmcached (-E wasm, and -E ts for reference) over
// loopback, driven by build/loadgen (bench/loadgen/loadgen.c). Each server is pinned to core 0 and
// the load generator to core 1; servers alternate run by run, each run on a fresh server. Reports
// medians (and min–max) of ops/s, p50/p99, server CPU per request and RSS, each against memcached
// from the same runs, beside the issue's targets. Prints a table and writes bench/results/server.md.
// A fourth server, the floor (bench/floor.ts), is Node with wasmcached's transport and the simplest
// store (a direct-mapped table): what a request costs in Node's I/O, so the results show how much
// wasmcached adds on top of it.
// Run: npm run bench (BENCH_RUNS=3, BENCH_DURATION=4, BENCH_WARMUP=1, BENCH_ONLY=W1,W3a,memory,
// BENCH_SERVERS=wasm,ts,floor: memcached and the named servers only). A run narrowed by BENCH_ONLY
// or BENCH_SERVERS writes build/bench-partial.md instead of the results file.

import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const HOST = '127.0.0.1';
const MEMCACHED = '/usr/bin/memcached';
const LOADGEN = join(root, 'build', 'loadgen');
const CLI = join(root, 'build', 'cli.js');
const FLOOR_SOURCE = join(root, 'bench', 'floor.ts');
/** The floor bundled as wasmcached is (build/cli.js), so neither runs through a TypeScript loader. */
const FLOOR_SCRIPT = join(root, 'build', 'floor.js');
const SERVER_CORE = '0';
const LOADGEN_CORE = '1';
/** Ports are taken in turn from this range, so a fresh server never waits on the last one's socket. */
const PORT_FIRST = 24100;
const PORT_LAST = 24199;
const READY_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 3_000;
/** Let a server's allocator and JIT settle before an RSS reading that a later one is subtracted from. */
const SETTLE_MS = 500;
const MEMORY_ITEMS = 1_000_000;
const MiB = 1024 * 1024;

const RUNS = positiveInteger('BENCH_RUNS', 3);
const DURATION = positiveInteger('BENCH_DURATION', 4);
const WARMUP = positiveInteger('BENCH_WARMUP', 1, true);
const ONLY = (process.env['BENCH_ONLY'] ?? '')
  .split(',')
  .map((id) => id.trim().toLowerCase())
  .filter((id) => id !== '');
const SERVER_IDS = (process.env['BENCH_SERVERS'] ?? '')
  .split(',')
  .map((id) => id.trim().toLowerCase())
  .filter((id) => id !== '');

// ---- what is run

/** One server under test: the command line for a fresh instance on a port with -m megabytes. */
interface ServerKind {
  /** What BENCH_SERVERS names it by. */
  id: string;
  name: string;
  /** The subject the issue's targets are about; the others are reference points. */
  target: boolean;
  /** false: not a cache whose memory per item means anything (the floor's table has no item headers or index), so the memory workload skips it. */
  stores: boolean;
  argv(port: number, megabytes: number): string[];
}

const commonFlags = (port: number, megabytes: number): string[] =>
  ['-t', '1', '-U', '0', '-l', HOST, '-p', String(port), '-m', String(megabytes)];

const BASELINE = 'memcached';
const TARGET = 'wasmcached -E wasm';
const FLOOR = 'node floor';
const SERVERS = ([
  {
    id: 'memcached',
    name: BASELINE,
    target: false,
    stores: true,
    // memcached refuses to run as root without a user to drop to.
    argv: (port, megabytes) => [MEMCACHED, ...(process.getuid?.() === 0 ? ['-u', 'nobody'] : []), ...commonFlags(port, megabytes)],
  },
  { id: 'wasm', name: TARGET, target: true, stores: true, argv: (port, megabytes) => [process.execPath, CLI, '-E', 'wasm', ...commonFlags(port, megabytes)] },
  { id: 'ts', name: 'wasmcached -E ts', target: false, stores: true, argv: (port, megabytes) => [process.execPath, CLI, '-E', 'ts', ...commonFlags(port, megabytes)] },
  // Node and wasmcached's transport serving from a direct-mapped value table, no engine (bench/floor.ts).
  { id: 'floor', name: FLOOR, target: false, stores: false, argv: (port, megabytes) => [process.execPath, FLOOR_SCRIPT, String(port), HOST, String(megabytes)] },
] satisfies ServerKind[]).filter((kind) => SERVER_IDS.length === 0 || kind.name === BASELINE || SERVER_IDS.includes(kind.id));

/** build/loadgen's options (its CLI contract), without host, port and timing. */
interface Load {
  conns: number;
  keys: number;
  keySize: number;
  valueSize: number;
  getRatio: number;
  pipeline: number;
  multiget: number;
}

/** Issue 6's targets for wasmcached -E wasm, as its ratio to memcached. */
interface Targets {
  opsAtLeast?: number;
  cpuAtMost?: number;
  p99AtMost?: number;
}

interface Workload {
  id: string;
  title: string;
  megabytes: number;
  /** Store every key before the run, so gets hit. */
  prefill: boolean;
  /** Prefill only keys 0..fillKeys-1 instead: enough to fill memory, so every timed set evicts. */
  fillKeys?: number;
  load: Load;
  targets: Targets;
}

const P99_AT_MOST = 1.5;
const RSS_PER_ITEM_AT_MOST = 1.1;
const SMALL: Load = { conns: 50, keys: 10_000, keySize: 16, valueSize: 32, getRatio: 1, pipeline: 1, multiget: 1 };
const WORKLOADS: Workload[] = [
  {
    id: 'W1', title: 'get only, all hits, 32 B values, 50 conns', megabytes: 64, prefill: true,
    load: SMALL, targets: { opsAtLeast: 1, cpuAtMost: 1, p99AtMost: P99_AT_MOST },
  },
  {
    id: 'W2', title: '90% get / 10% set, 1 KB values, 50 conns', megabytes: 64, prefill: true,
    load: { ...SMALL, valueSize: 1024, getRatio: 0.9 }, targets: { opsAtLeast: 1, cpuAtMost: 1, p99AtMost: P99_AT_MOST },
  },
  {
    id: 'W3a', title: 'pipelined gets, 16 in flight per conn, 32 B values, 16 conns', megabytes: 64, prefill: true,
    load: { ...SMALL, conns: 16, pipeline: 16 }, targets: { opsAtLeast: 5, p99AtMost: P99_AT_MOST },
  },
  {
    id: 'W3b', title: '16-key multi-gets, 32 B values, 16 conns (an op is one get of 16 keys)', megabytes: 64, prefill: true,
    load: { ...SMALL, conns: 16, multiget: 16 }, targets: { opsAtLeast: 1.3, p99AtMost: P99_AT_MOST },
  },
  {
    id: 'W4', title: 'set only, 1 KB values, 1M keys into -m 64 (evicting), 50 conns', megabytes: 64, prefill: true, fillKeys: 100_000,
    load: { ...SMALL, keys: 1_000_000, valueSize: 1024, getRatio: 0 }, targets: { opsAtLeast: 1, cpuAtMost: 1, p99AtMost: P99_AT_MOST },
  },
  {
    id: 'W5', title: '50% get / 50% set, 100 KB values, 2000 keys, 8 conns, -m 1024', megabytes: 1024, prefill: true,
    load: { ...SMALL, conns: 8, keys: 2000, valueSize: 100 * 1024, getRatio: 0.5 },
    targets: { opsAtLeast: 1, cpuAtMost: 1.2, p99AtMost: P99_AT_MOST },
  },
];
const MEMORY_ID = 'memory';
const MEMORY_MEGABYTES = 1024;
const MEMORY_LOAD: Load = { ...SMALL, keys: MEMORY_ITEMS, keySize: 16, valueSize: 100 };

// ---- processes: every child is tracked, so an interrupt or an error leaves none behind

const live = new Set<ChildProcess>();
let interrupted = false;

function track(child: ChildProcess): ChildProcess {
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

function onSignal(signal: NodeJS.Signals): void {
  if (interrupted) return;
  interrupted = true;
  process.stderr.write(`\nbench: ${signal}, stopping the servers\n`);
  // Killing the children makes the awaited run reject; its finally blocks then stop what is left.
  for (const child of live) child.kill('SIGTERM');
}
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});

/** The command pinned to a core, when taskset is there and the machine has a second core. */
const canPin = os.cpus().length >= 2 && spawnSync('taskset', ['-c', '0', 'true']).status === 0;
const pinned = (core: string, argv: string[]): string[] => (canPin ? ['taskset', '-c', core, ...argv] : argv);

let nextPort = PORT_FIRST;
function takePort(): number {
  const port = nextPort;
  nextPort = nextPort === PORT_LAST ? PORT_FIRST : nextPort + 1;
  return port;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface RunningServer {
  pid: number;
  port: number;
  stop(): Promise<void>;
}

async function startServer(kind: ServerKind, megabytes: number): Promise<RunningServer> {
  const port = takePort();
  const [command, ...args] = pinned(SERVER_CORE, kind.argv(port, megabytes));
  // taskset execs the server, so the child's pid is the server's.
  const child = track(spawn(command!, args, { cwd: root, stdio: ['ignore', 'ignore', 'pipe'] }));
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  let exited = false;
  const exit = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));
  const stop = async (): Promise<void> => {
    if (exited) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
    await exit;
    clearTimeout(timer);
  };
  try {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    for (;;) {
      if (exited || interrupted) throw new Error(`${kind.name} exited before listening on ${port}: ${stderr.trim() || `code ${child.exitCode}`}`);
      if (await canConnect(port)) break;
      if (Date.now() > deadline) throw new Error(`${kind.name} did not listen on ${port} within ${READY_TIMEOUT_MS} ms`);
      await sleep(50);
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { pid: child.pid!, port, stop };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, HOST);
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => (socket.destroy(), resolve(false)));
  });
}

/** memcached's `stats`, as a map. */
function fetchStats(port: number): Promise<Map<string, string>> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, HOST);
    let text = '';
    const timer = setTimeout(() => (socket.destroy(), reject(new Error(`stats on ${port}: no END`))), 5_000);
    socket.once('connect', () => socket.write('stats\r\n'));
    socket.on('data', (chunk: Buffer) => {
      text += chunk.toString('latin1');
      if (!text.endsWith('END\r\n')) return;
      clearTimeout(timer);
      socket.destroy();
      const stats = new Map<string, string>();
      for (const line of text.split('\r\n')) {
        const [tag, key, value] = line.split(' ');
        if (tag === 'STAT' && key !== undefined && value !== undefined) stats.set(key, value);
      }
      resolve(stats);
    });
    socket.once('error', (error) => (clearTimeout(timer), reject(error)));
  });
}

// ---- /proc readings

const CLOCK_TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout.trim()) || 100;

/** CPU time of the whole process (every thread), in seconds: in user space and in the kernel. */
interface CpuTime {
  user: number;
  sys: number;
}

function cpuTime(pid: number): CpuTime {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesized command (which may hold spaces): state is field 3, utime 14, stime 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return { user: Number(fields[14 - 3]) / CLOCK_TICKS, sys: Number(fields[15 - 3]) / CLOCK_TICKS };
}

/** VmRSS in bytes. */
function rssBytes(pid: number): number {
  const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (match === null) throw new Error(`no VmRSS for pid ${pid}`);
  return Number(match[1]) * 1024;
}

// ---- the load generator

/** What build/loadgen prints: one JSON object. */
interface LoadReport {
  ops: number;
  seconds: number;
  ops_per_sec: number;
  gets: number;
  sets: number;
  keys_requested: number;
  hits: number;
  misses: number;
  errors: number;
  p50_us: number;
  p90_us: number;
  p99_us: number;
  p999_us: number;
  conns: number;
  pipeline: number;
  multiget: number;
}

type LoadMode = { duration: number } | { prefillOnly: true };

function runLoadgen(port: number, load: Load, mode: LoadMode): Promise<LoadReport> {
  const args = [
    '--host', HOST, '--port', String(port), '--conns', String(load.conns),
    '--keys', String(load.keys), '--key-size', String(load.keySize), '--value-size', String(load.valueSize),
    '--get-ratio', String(load.getRatio), '--pipeline', String(load.pipeline), '--multiget', String(load.multiget),
    ...('prefillOnly' in mode ? ['--prefill-only'] : ['--warmup', '0', '--duration', String(mode.duration)]),
  ];
  const [command, ...rest] = pinned(LOADGEN_CORE, [LOADGEN, ...args]);
  return new Promise((resolve, reject) => {
    const child = track(spawn(command!, rest, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }));
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      if (code !== 0) {
        reject(new Error(`loadgen ${args.join(' ')}: ${signal ?? `exit ${code}`}: ${stderr.trim()}`));
        return;
      }
      try {
        resolve(JSON.parse(line) as LoadReport);
      } catch {
        reject(new Error(`loadgen printed no JSON: ${stdout.trim()} ${stderr.trim()}`));
      }
    });
  });
}

// ---- one run

interface Sample {
  opsPerSec: number;
  p50: number;
  p99: number;
  /** Server utime+stime over the timed run, per op, in µs. */
  cpuPerOp: number;
  /** The utime part of cpuPerOp (user space: the server's own code and its runtime's). */
  userPerOp: number;
  rss: number;
  hitRatio: number | undefined;
  errors: number;
  evictions: number | undefined;
}

async function runWorkload(kind: ServerKind, workload: Workload): Promise<Sample> {
  const server = await startServer(kind, workload.megabytes);
  try {
    if (workload.prefill) await prefill(server.port, { ...workload.load, keys: workload.fillKeys ?? workload.load.keys });
    // A separate warm-up run (JIT, connections, memory filled for W4), so the CPU reading brackets only the timed ops.
    if (WARMUP > 0) await runLoadgen(server.port, workload.load, { duration: WARMUP });
    const statsBefore = await fetchStats(server.port);
    const cpuBefore = cpuTime(server.pid);
    const report = await runLoadgen(server.port, workload.load, { duration: DURATION });
    const cpuAfter = cpuTime(server.pid);
    const user = cpuAfter.user - cpuBefore.user;
    const cpu = user + cpuAfter.sys - cpuBefore.sys;
    const rss = rssBytes(server.pid);
    const statsAfter = await fetchStats(server.port);
    const evictions = Number(statsAfter.get('evictions')) - Number(statsBefore.get('evictions'));
    return {
      opsPerSec: report.ops_per_sec,
      p50: report.p50_us,
      p99: report.p99_us,
      cpuPerOp: (cpu / report.ops) * 1e6,
      userPerOp: (user / report.ops) * 1e6,
      rss,
      hitRatio: report.hits + report.misses > 0 ? report.hits / (report.hits + report.misses) : undefined,
      errors: report.errors,
      evictions: Number.isFinite(evictions) ? evictions : undefined,
    };
  } finally {
    await server.stop();
  }
}

async function prefill(port: number, load: Load): Promise<void> {
  const report = await runLoadgen(port, load, { prefillOnly: true });
  if (report.errors > 0) process.stderr.write(`bench: prefill on ${port} had ${report.errors} errors\n`);
}

interface MemorySample {
  idleRss: number;
  rss: number;
  items: number;
}

async function runMemory(kind: ServerKind): Promise<MemorySample> {
  const server = await startServer(kind, MEMORY_MEGABYTES);
  try {
    await sleep(SETTLE_MS);
    const idleRss = rssBytes(server.pid);
    await prefill(server.port, MEMORY_LOAD);
    await sleep(SETTLE_MS);
    const rss = rssBytes(server.pid);
    const items = Number((await fetchStats(server.port)).get('curr_items'));
    return { idleRss, rss, items };
  } finally {
    await server.stop();
  }
}

// ---- report

function positiveInteger(name: string, fallback: number, zeroAllowed = false): number {
  const text = process.env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < (zeroAllowed ? 0 : 1)) throw new Error(`${name}=${text}: expected an integer ≥ ${zeroAllowed ? 0 : 1}`);
  return value;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const fmt = (n: number, digits = 0): string =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : '-';

const fmtOps = (n: number): string => (n >= 1e6 ? `${fmt(n / 1e6, 2)}M` : `${fmt(n / 1e3, 1)}k`);

/** "median (min–max)" of one measure over the runs; a single run shows only its value. */
function spread(values: number[], format: (n: number) => string): string {
  if (values.length < 2) return format(median(values));
  return `${format(median(values))} (${format(Math.min(...values))}–${format(Math.max(...values))})`;
}

/** The ratio to memcached's median, with the target and whether it is met, for the target server. */
function ratioCell(value: number, baseline: number, kind: ServerKind, target: { atLeast?: number; atMost?: number }, verdicts: string[], what: string): string {
  if (kind.name === BASELINE) return '1.00x';
  const ratio = value / baseline;
  if (!Number.isFinite(ratio)) return '-';
  const cell = `${fmt(ratio, 2)}x`;
  if (!kind.target) return cell;
  if (target.atLeast !== undefined) {
    const met = ratio >= target.atLeast;
    verdicts.push(`${what} ${cell} (target ≥${fmt(target.atLeast, 1)}x): ${met ? 'met' : 'not met'}`);
    return `${cell} ${met ? '✓' : '✗'} ≥${fmt(target.atLeast, 1)}x`;
  }
  if (target.atMost !== undefined) {
    const met = ratio <= target.atMost;
    verdicts.push(`${what} ${cell} (target ≤${fmt(target.atMost, 1)}x): ${met ? 'met' : 'not met'}`);
    return `${cell} ${met ? '✓' : '✗'} ≤${fmt(target.atMost, 1)}x`;
  }
  return cell;
}

const loadAverage = (): string => os.loadavg().map((n) => fmt(n, 2)).join(' ');
const LOAD_AT_START = loadAverage();

function machine(): string[] {
  const cpuinfo = existsSync('/proc/cpuinfo') ? readFileSync('/proc/cpuinfo', 'utf8') : '';
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1] ?? os.cpus()[0]?.model ?? 'unknown cpu';
  const memcachedVersion = spawnSync(MEMCACHED, ['-V'], { encoding: 'utf8' }).stdout?.trim() || 'unknown';
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  return [
    `- Date: ${new Date().toISOString()}`,
    `- Machine: ${model}, ${os.cpus().length} logical CPUs, ${fmt(os.totalmem() / 2 ** 30, 1)} GiB; ${os.type()} ${os.release()} ${os.arch()}`,
    `- Node ${process.version}; ${memcachedVersion}; wasmcached ${version}`,
    `- Load average (1, 5, 15 min) at the start ${LOAD_AT_START}, at the end ${loadAverage()}: other work on the machine shows here as noise.`,
    `- Servers pinned to core ${SERVER_CORE}, build/loadgen to core ${LOADGEN_CORE}` +
      (canPin ? '' : ' (NOT pinned: taskset or a second core is missing)') +
      `; all with -t 1 -U 0 -l ${HOST}; memcached as ${process.getuid?.() === 0 ? '-u nobody' : 'the current user'}.`,
    `- ${RUNS} runs per workload and server, alternating servers run by run, a fresh server per run; ` +
      `each run: prefill (--prefill-only) where the workload reads, a ${WARMUP} s warm-up loadgen run, then the timed ${DURATION} s run.`,
  ];
}

function report(workloads: Workload[], samples: Map<string, Sample[]>, memory: Map<string, MemorySample[]>, failures: string[]): string {
  const lines: string[] = ['# Server benchmark (memcached vs wasmcached over loopback)', '', ...machine(), ''];
  const verdicts: string[] = [];
  /** The median of one measure over a server's runs of a workload (NaN when it has none). */
  const medianOf = (workload: Workload, server: string, measure: (s: Sample) => number): number =>
    median((samples.get(key(workload, server)) ?? []).map(measure));
  if (workloads.length > 0) {
    lines.push('Medians over the runs, (min–max) beside them; ×mc is the ratio of medians to memcached from the same runs,');
    lines.push('✓/✗ the issue\'s target for wasmcached -E wasm (-E ts is a reference point, without targets).');
    lines.push('');
    lines.push('| workload | server | ops/s | ×mc | CPU µs/op | ×mc | p50 µs | p99 µs | ×mc | RSS MiB | notes |');
    lines.push('|---|---|---:|---|---:|---|---:|---:|---|---:|---|');
  }
  for (const workload of workloads) {
    const base = samples.get(key(workload, BASELINE)) ?? [];
    const baseOps = median(base.map((s) => s.opsPerSec));
    const baseCpu = median(base.map((s) => s.cpuPerOp));
    const baseP99 = median(base.map((s) => s.p99));
    for (const kind of SERVERS) {
      const runs = samples.get(key(workload, kind.name)) ?? [];
      if (runs.length === 0) continue;
      const ops = runs.map((s) => s.opsPerSec);
      const cpu = runs.map((s) => s.cpuPerOp);
      const p99 = runs.map((s) => s.p99);
      const { targets } = workload;
      const notes: string[] = [];
      const hits = runs.map((s) => s.hitRatio).filter((h): h is number => h !== undefined);
      if (hits.length > 0 && workload.load.getRatio > 0) notes.push(`hits ${fmt(Math.min(...hits) * 100, 1)}%`);
      const evictions = runs.map((s) => s.evictions).filter((e): e is number => e !== undefined);
      if (evictions.length > 0 && Math.max(...evictions) > 0) notes.push(`evictions ${fmtOps(median(evictions))}/run`);
      const errors = runs.reduce((sum, s) => sum + s.errors, 0);
      if (errors > 0) notes.push(`**${fmt(errors)} errors**`);
      const name = `${workload.id} ${kind.name}`;
      lines.push(
        `| ${workload.id} | ${kind.name} | ${spread(ops, fmtOps)} ` +
          `| ${ratioCell(median(ops), baseOps, kind, { atLeast: targets.opsAtLeast }, verdicts, `${name} ops/s`)} ` +
          `| ${spread(cpu, (n) => fmt(n, 2))} ` +
          `| ${ratioCell(median(cpu), baseCpu, kind, { atMost: targets.cpuAtMost }, verdicts, `${name} CPU/op`)} ` +
          `| ${fmt(median(runs.map((s) => s.p50)), 0)} | ${spread(p99, (n) => fmt(n, 0))} ` +
          `| ${ratioCell(median(p99), baseP99, kind, { atMost: targets.p99AtMost }, verdicts, `${name} p99`)} ` +
          `| ${fmt(median(runs.map((s) => s.rss)) / MiB, 1)} | ${notes.join('; ')} |`,
      );
    }
  }
  if (workloads.length > 0) {
    lines.push('');
    lines.push('Workloads (16-byte keys, uniform over the key space):');
    for (const w of workloads) {
      const prefilled = w.fillKeys !== undefined ? `, memory filled first (keys 0–${fmt(w.fillKeys - 1)} set)` : w.prefill ? ', prefilled' : '';
      lines.push(`- ${w.id}: ${w.title}; ${fmt(w.load.keys)} keys, server -m ${w.megabytes}${prefilled}.`);
    }
    lines.push('');
    lines.push('Pipelining gain (W3a ops/s, and W3b keys/s, over the same server\'s W1 ops/s):');
    const w1 = WORKLOADS[0]!;
    for (const kind of SERVERS) {
      const one = medianOf(w1, kind.name, (s) => s.opsPerSec);
      const gains: string[] = [];
      for (const w of workloads.filter((x) => x.id.startsWith('W3'))) {
        const ops = medianOf(w, kind.name, (s) => s.opsPerSec) * w.load.multiget;
        gains.push(`${w.id} ${fmt(ops / one, 2)}x`);
      }
      if (gains.length > 0 && Number.isFinite(one)) lines.push(`- ${kind.name}: ${gains.join(', ')}`);
    }
    const overFloor = workloads.flatMap((w) => {
      const of = (name: string, measure: (s: Sample) => number): number => medianOf(w, name, measure);
      const floorCpu = of(FLOOR, (s) => s.cpuPerOp);
      const cpu = of(TARGET, (s) => s.cpuPerOp);
      if (!Number.isFinite(floorCpu) || !Number.isFinite(cpu)) return [];
      const baseCpu = of(BASELINE, (s) => s.cpuPerOp);
      return [
        `- ${w.id}: CPU/op ${fmt(cpu / floorCpu, 2)}x the floor's (${cpu >= floorCpu ? '+' : '−'}${fmt(Math.abs(cpu - floorCpu), 2)} µs; the floor is ${fmt(floorCpu / baseCpu, 2)}x memcached's), ` +
          `ops/s ${fmt(of(TARGET, (s) => s.opsPerSec) / of(FLOOR, (s) => s.opsPerSec), 2)}x the floor's`,
      ];
    });
    if (overFloor.length > 0) {
      lines.push('');
      lines.push(`Over Node's floor (${TARGET} against ${FLOOR}, medians of the same runs): what wasmcached adds to Node's own I/O.`);
      lines.push(...overFloor);
    }
    lines.push('');
    lines.push('Where the CPU per op goes: user time (utime: the server\'s code and its runtime\'s) and kernel time (stime: the');
    lines.push('sockets), medians in µs per op, each ×mc against memcached\'s in the same runs.');
    lines.push('');
    lines.push('| workload | server | user µs/op | ×mc | kernel µs/op | ×mc |');
    lines.push('|---|---|---:|---|---:|---|');
    for (const workload of workloads) {
      const of = (name: string, measure: (s: Sample) => number): number => medianOf(workload, name, measure);
      const kernel = (s: Sample): number => s.cpuPerOp - s.userPerOp;
      const baseUser = of(BASELINE, (s) => s.userPerOp);
      const baseKernel = of(BASELINE, kernel);
      for (const kind of SERVERS) {
        const user = of(kind.name, (s) => s.userPerOp);
        if (!Number.isFinite(user)) continue;
        const sys = of(kind.name, kernel);
        lines.push(
          `| ${workload.id} | ${kind.name} | ${fmt(user, 2)} | ${fmt(user / baseUser, 2)}x | ${fmt(sys, 2)} | ${fmt(sys / baseKernel, 2)}x |`,
        );
      }
    }
  }
  if (memory.size > 0) {
    const base = memory.get(BASELINE) ?? [];
    const perItem = (s: MemorySample): number => (s.rss - s.idleRss) / MEMORY_ITEMS;
    const basePerItem = median(base.map(perItem));
    lines.push('');
    lines.push(
      `Memory: ${fmt(MEMORY_ITEMS)} items (${MEMORY_LOAD.keySize}-byte keys, ${MEMORY_LOAD.valueSize}-byte values) stored with --prefill-only into a fresh ` +
        `server with -m ${MEMORY_MEGABYTES}; RSS/item = (VmRSS after − VmRSS of the idle fresh server) / ${fmt(MEMORY_ITEMS)}.`,
    );
    lines.push('');
    lines.push('| server | idle RSS MiB | RSS after MiB | curr_items | RSS/item B | ×mc | total RSS/item B |');
    lines.push('|---|---:|---:|---:|---:|---|---:|');
    for (const kind of SERVERS) {
      const runs = memory.get(kind.name) ?? [];
      if (runs.length === 0) continue;
      lines.push(
        `| ${kind.name} | ${fmt(median(runs.map((s) => s.idleRss)) / MiB, 1)} | ${fmt(median(runs.map((s) => s.rss)) / MiB, 1)} ` +
          `| ${fmt(Math.min(...runs.map((s) => s.items)))} | ${spread(runs.map(perItem), (n) => fmt(n, 1))} ` +
          `| ${ratioCell(median(runs.map(perItem)), basePerItem, kind, { atMost: RSS_PER_ITEM_AT_MOST }, verdicts, `memory ${kind.name} RSS/item`)} ` +
          `| ${fmt(median(runs.map((s) => s.rss / MEMORY_ITEMS)), 1)} |`,
      );
    }
  }
  if (verdicts.length > 0) {
    lines.push('');
    lines.push(`Targets (wasmcached -E wasm against memcached): ${verdicts.filter((v) => v.endsWith(': met')).length} of ${verdicts.length} met.`);
    for (const verdict of verdicts) lines.push(`- ${verdict}`);
  }
  if (failures.length > 0) {
    lines.push('');
    lines.push('Failed runs:');
    for (const failure of failures) lines.push(`- ${failure}`);
  }
  lines.push('');
  lines.push('How to read it:');
  lines.push('- ops/s, p50 and p99 are build/loadgen\'s, over the timed run only (closed loop: each connection keeps');
  lines.push('  `pipeline` requests in flight). For W3b an op is one 16-key get; for W3a one key.');
  lines.push('- CPU µs/op is the server process\'s utime+stime (/proc/<pid>/stat, all threads) over the timed run,');
  lines.push(`  divided by its ops; the clock is ${CLOCK_TICKS} ticks/s, so short runs round to ${fmt(1000 / CLOCK_TICKS, 0)} ms of CPU.`);
  lines.push('- RSS is VmRSS (/proc/<pid>/status) at the end of the timed run.');
  lines.push(`- ${FLOOR} is bench/floor.ts: Node with wasmcached's transport (the stream handles, one shared read buffer,`);
  lines.push('  one write per read\'s replies) serving from a direct-mapped table of -m megabytes (a key\'s slot is its');
  lines.push('  number): the I/O, copies and memory traffic of a cache without its hash table, LRU, expiry, CAS or stats.');
  lines.push('  It is about the least a Node cache server does per request.');
  return `${lines.join('\n')}\n`;
}

const key = (workload: Workload, server: string): string => `${workload.id}\u0000${server}`;
const selected = (id: string): boolean => ONLY.length === 0 || ONLY.includes(id.toLowerCase());

async function main(): Promise<number> {
  for (const [path, what] of [[MEMCACHED, 'memcached'], [LOADGEN, 'the load generator (npm run bench builds it)'], [CLI, 'wasmcached (npm run build)']] as const) {
    if (!existsSync(path)) throw new Error(`${path} is missing: ${what}`);
  }
  const workloads = WORKLOADS.filter((w) => selected(w.id));
  const withMemory = selected(MEMORY_ID);
  const unknown = ONLY.filter((id) => id !== MEMORY_ID && !WORKLOADS.some((w) => w.id.toLowerCase() === id));
  if (unknown.length > 0) throw new Error(`BENCH_ONLY: unknown workload ${unknown.join(', ')}`);
  const unknownServers = SERVER_IDS.filter((id) => !SERVERS.some((kind) => kind.id === id));
  if (unknownServers.length > 0) throw new Error(`BENCH_SERVERS: unknown server ${unknownServers.join(', ')} (wasm, ts, floor)`);
  if (SERVERS.some((kind) => kind.name === FLOOR)) {
    const { buildSync } = await import('esbuild');
    buildSync({ entryPoints: [FLOOR_SOURCE], outfile: FLOOR_SCRIPT, bundle: true, platform: 'node', format: 'esm', target: 'node20', logLevel: 'warning' });
  }

  const samples = new Map<string, Sample[]>();
  const memory = new Map<string, MemorySample[]>();
  const failures: string[] = [];
  const started = Date.now();
  const attempt = async <T>(what: string, run: () => Promise<T>): Promise<T | undefined> => {
    process.stderr.write(`bench: ${what}...`);
    const begun = Date.now();
    try {
      const result = await run();
      process.stderr.write(` ${fmt((Date.now() - begun) / 1000, 1)} s\n`);
      return result;
    } catch (error) {
      if (interrupted) throw error;
      const message = error instanceof Error ? error.message : String(error);
      process.stderr.write(` failed: ${message}\n`);
      failures.push(`${what}: ${message}`);
      return undefined;
    }
  };

  for (const workload of workloads) {
    for (let run = 1; run <= RUNS; run++) {
      for (const kind of SERVERS) {
        const sample = await attempt(`${workload.id} run ${run}/${RUNS} ${kind.name}`, () => runWorkload(kind, workload));
        if (sample === undefined) continue;
        process.stderr.write(
          `bench:   ${fmtOps(sample.opsPerSec)} ops/s, p50 ${fmt(sample.p50)} µs, p99 ${fmt(sample.p99)} µs, ` +
            `${fmt(sample.cpuPerOp, 2)} CPU µs/op (user ${fmt(sample.userPerOp, 2)}), RSS ${fmt(sample.rss / MiB, 1)} MiB\n`,
        );
        const list = samples.get(key(workload, kind.name)) ?? [];
        list.push(sample);
        samples.set(key(workload, kind.name), list);
      }
    }
  }
  if (withMemory) {
    for (let run = 1; run <= RUNS; run++) {
      for (const kind of SERVERS.filter((k) => k.stores)) {
        const sample = await attempt(`memory run ${run}/${RUNS} ${kind.name}`, () => runMemory(kind));
        if (sample === undefined) continue;
        const list = memory.get(kind.name) ?? [];
        list.push(sample);
        memory.set(kind.name, list);
      }
    }
  }

  const markdown = report(workloads, samples, memory, failures);
  process.stdout.write(markdown);
  const partial = ONLY.length > 0 || SERVER_IDS.length > 0;
  const out = partial ? join('build', 'bench-partial.md') : join('bench', 'results', 'server.md');
  mkdirSync(dirname(join(root, out)), { recursive: true });
  writeFileSync(join(root, out), markdown);
  process.stderr.write(`bench: wrote ${out} in ${fmt((Date.now() - started) / 1000, 0)} s\n`);
  return failures.length > 0 ? 1 : 0;
}

try {
  process.exitCode = await main();
} catch (error) {
  process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exitCode = interrupted ? 130 : 1;
} finally {
  for (const child of live) child.kill('SIGKILL');
}
