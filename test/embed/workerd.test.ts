// wasmcached/embed in Cloudflare's runtime: the package's "./embed" bundled as a Workers project
// bundles it (esbuild with the workerd, worker and browser conditions), served by a real `workerd
// serve` (the binary of npm's workerd package) with the engine as a `wasm` module, which workerd
// hands over compiled. What the Worker computed is checked, and compared whole with Node's run.
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createCache } from '../../src/embed/index.ts';
import { scenario, type ScenarioResult } from './workerd/scenario.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const fixtures = fileURLToPath(new URL('./workerd/', import.meta.url));
/** The binary in the platform's @cloudflare/workerd-* package, found as npm's workerd package finds it. */
const workerd = (createRequire(import.meta.url)('workerd') as { default: string }).default;

/** Each step may take this long before the test fails instead of waiting on. */
const STEP_TIMEOUT_MS = 10_000;
/** After SIGTERM, how long workerd gets to exit before SIGKILL. */
const STOP_TIMEOUT_MS = 2_000;

/**
 * The Worker: wasmcached/embed imported as a Workers project imports it, the engine as a `wasm`
 * module, and what the scenario returned as JSON. Kept here, not in a file under test/embed/,
 * because uvu imports every file its pattern matches (and Node cannot import a .wasm).
 */
const WORKER = `
import { createCache } from 'wasmcached/embed';
import engine from './release.wasm';
import engineBytes from './release.bin';
import { scenario } from './scenario.ts';

const outcome = (promise) => promise.then(() => 'made', (error) => String(error));

export default {
  async fetch() {
    return Response.json({
      module: Object.prototype.toString.call(engine),
      scenario: await scenario(createCache, engine),
      // What workerd refuses: compiling code at run time, and a place to find release.wasm.
      fromBytes: await outcome(createCache({ wasm: engineBytes })),
      compile: await outcome(WebAssembly.compile(engineBytes)),
      withNothing: await outcome(createCache()),
    });
  },
};
`;

/** workerd's config: the bundle and the engine (compiled, and as bytes), on a port the kernel picks. */
const CONFIG = `
using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:0", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
    (name = "worker.js", esModule = embed "worker.js"),
    (name = "release.wasm", wasm = embed "release.wasm"),
    (name = "release.bin", data = embed "release.wasm"),
  ],
  compatibilityDate = "2025-09-01",
);
`;

interface WorkerReport {
  module: string;
  scenario: ScenarioResult;
  fromBytes: string;
  compile: string;
  withNothing: string;
}

interface Served {
  /** The file 'wasmcached/embed' resolved to, relative to the repository. */
  resolved: string | undefined;
  /** Every file the bundle was made of, relative to the repository. */
  inputs: string[];
  report: WorkerReport;
}

/** Bundles WORKER into dir as Wrangler would; what 'wasmcached/embed' resolved to and what was read. */
async function bundle(dir: string): Promise<Pick<Served, 'resolved' | 'inputs'>> {
  const result = await esbuild.build({
    absWorkingDir: root,
    stdin: { contents: WORKER, resolveDir: fixtures, loader: 'js' },
    outfile: join(dir, 'worker.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    conditions: ['workerd', 'worker', 'browser'],
    mainFields: ['browser', 'module', 'main'],
    // The modules the config declares beside the Worker (as Wrangler's rules make of .wasm files).
    external: ['./release.wasm', './release.bin'],
    metafile: true,
    logLevel: 'silent',
  });
  const imports = Object.values(result.metafile.inputs).flatMap((input) => input.imports);
  const resolved = imports.find((entry) => entry.original === 'wasmcached/embed')?.path;
  return { resolved, inputs: Object.keys(result.metafile.inputs).sort() };
}

/** Starts `workerd serve` on config (the port it listens on is read from --control-fd), fetches /, stops it. */
async function serve(config: string): Promise<WorkerReport> {
  const child = spawn(workerd, ['serve', config, '--control-fd=3'], { stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.once('exit', killOnExit);
  let output = '';
  const collect = (chunk: Buffer): void => {
    if (output.length < 16_384) output += chunk.toString('utf8');
  };
  child.stdout!.on('data', collect);
  child.stderr!.on('data', collect);
  const exited = new Promise<string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code !== null ? `exit status ${code}` : `signal ${signal}`));
    child.once('error', (error) => resolve(String(error)));
  });
  try {
    const port = await new Promise<number>((resolve, reject) => {
      const fail = (why: string): void => {
        clearTimeout(timer);
        reject(new Error(`workerd ${why}: ${output}`));
      };
      const timer = setTimeout(() => fail(`did not listen within ${STEP_TIMEOUT_MS} ms`), STEP_TIMEOUT_MS);
      void exited.then((how) => fail(`ended (${how}) before listening`));
      let control = '';
      child.stdio[3]!.on('data', (chunk: Buffer) => {
        control += chunk.toString('utf8');
        const lines = control.split('\n');
        control = lines.pop()!;
        for (const line of lines) {
          const event = JSON.parse(line) as { event?: string; socket?: string; port?: number };
          if (event.event === 'listen' && event.socket === 'http' && event.port !== undefined) {
            clearTimeout(timer);
            resolve(event.port);
          }
        }
      });
    });
    const response = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(STEP_TIMEOUT_MS) }).catch((error: unknown) => {
      throw new Error(`the Worker gave no answer (${String(error)}): ${output}`);
    });
    const body = await response.text();
    if (response.status !== 200) throw new Error(`the Worker answered ${response.status}: ${body}\n${output}`);
    return JSON.parse(body) as WorkerReport;
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exited;
      clearTimeout(timer);
    }
    process.off('exit', killOnExit);
  }
}

/** The bundle, served once for every test below (a failure fails each of them with its reason). */
let served: Promise<Served> | undefined;
function workerRun(): Promise<Served> {
  served ??= (async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wasmcached-workerd-'));
    try {
      const bundled = await bundle(dir);
      writeFileSync(join(dir, 'config.capnp'), CONFIG);
      copyFileSync(join(root, 'build', 'embed', 'release.wasm'), join(dir, 'release.wasm'));
      return { ...bundled, report: await serve(join(dir, 'config.capnp')) };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  })();
  return served;
}

test('a Workers bundler resolves wasmcached/embed to build/embed/embed.js', async () => {
  const { resolved, inputs } = await workerRun();
  assert.is(resolved, 'build/embed/embed.js');
  assert.equal(inputs, ['<stdin>', 'build/embed/embed.js', relative(root, join(fixtures, 'scenario.ts'))]);
});

test('workerd imports the wasm module compiled, and refuses to compile bytes at run time', async () => {
  const { report } = await workerRun();
  assert.is(report.module, '[object WebAssembly.Module]');
  const refused = 'CompileError: WebAssembly.compile(): Wasm code generation disallowed by embedder';
  assert.is(report.compile, refused);
  assert.is(report.fromBytes, refused, 'so createCache needs `module` there');
  assert.is(report.withNothing, 'Error: wasmcached: cannot find release.wasm: this runtime gives modules no URL (pass `module` or `wasm`)');
});

test('in workerd: strings and bytes, add, replace, append, prepend, cas, incr and decr as bigints, delete', async () => {
  const { roundTrip, modes, counters, deletes } = (await workerRun()).report.scenario;
  assert.equal(roundTrip, {
    setString: true,
    getString: 'hello from workerd',
    setBytes: true,
    getBytes: [1, 2, 3, 0, 255],
    bytesFlags: 0xffffffff,
    setUtf8: true,
    getUtf8: 'значение',
    miss: null,
    tooLongKey: false,
  });
  assert.equal(modes, {
    replaceMissing: false,
    add: true,
    addLive: false,
    replace: true,
    append: true,
    prepend: true,
    joined: 'abc',
    cas: true,
    casStale: false,
    casMissing: false,
    afterCas: 'new',
  });
  assert.equal(counters, {
    incrMiss: null,
    incr: 'bigint:42',
    incrBy: 'bigint:142',
    decrFloor: 'bigint:0',
    wrap: 'bigint:1',
    stored: '1' + ' '.repeat(19), // incremented in place: padded to the old length, as memcached does
    nonNumeric: 'TypeError: wasmcached: cannot increment or decrement a non-numeric value',
  });
  assert.equal(deletes, { delete: true, again: false, after: null });
});

test('in workerd: TTLs on the given clock, and stats with memcached names', async () => {
  const { ttl, stats } = (await workerRun()).report.scenario;
  assert.equal(ttl, { shortAfter11s: null, longAfter11s: 'l', touch: true, touchExpired: false, longAfterTouchAnd6s: null, never: 'n' });
  const expected: Record<string, number> = {
    curr_items: 7, // the bytes key, ключ, m, n, max, word, never
    total_items: 15, // 14 stores, and incr 42 -> 142 stored anew (longer)
    get_expired: 2,
    delete_hits: 1,
    delete_misses: 1,
    incr_hits: 3,
    incr_misses: 1,
    decr_hits: 1,
    cas_hits: 1,
    cas_badval: 1,
    cas_misses: 1,
    evictions: 0,
    limit_maxbytes: 64 * 1024 * 1024,
  };
  for (const [name, value] of Object.entries(expected)) assert.is(stats[name], value, name);
  assert.ok(stats['bytes']! > 0, 'bytes');
});

test('in workerd: snapshot then restore gives the same items; a small cache evicts', async () => {
  const { snapshot, eviction } = (await workerRun()).report.scenario;
  assert.ok(snapshot.imageBytes > 0);
  assert.is(snapshot.same, 500, 'every item restored with its value, flags and CAS');
  assert.is(snapshot.restoredItems, 500);
  assert.is(snapshot.other, null, 'restore replaces what was there');
  assert.is(snapshot.k7, null, 'the 100 s TTL kept counting');
  assert.is(snapshot.k8, 'value 8 '.repeat(9));
  assert.is(snapshot.k8Flags, 8);
  assert.is(eviction.refused, 0, 'every set stored, evicting');
  assert.is(eviction.first, null, 'the oldest item is gone');
  assert.is(eviction.last, 1000);
  assert.ok(eviction.evictions > 0 && eviction.currItems + eviction.evictions === 10_000, JSON.stringify(eviction));
  assert.is(eviction.limitMaxbytes, 2 * 1024 * 1024);
});

test('what the Worker computed equals the same scenario run in Node', async () => {
  const { report } = await workerRun();
  const module = new WebAssembly.Module(readFileSync(join(root, 'build', 'embed', 'release.wasm')));
  const inNode = JSON.parse(JSON.stringify(await scenario(createCache, module))) as ScenarioResult;
  assert.equal(report.scenario, inNode);
});

test.run();
