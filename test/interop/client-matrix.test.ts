// The client matrix: the memcached clients and tools people use, run unchanged against wasmcached
// and against the real memcached started with the same flags, over TCP, a unix socket and SASL.
// Each client script under clients/ prints what its client saw as JSON lines (["step", value]);
// the two transcripts must be equal line for line and end with ["done", true]. memccapable,
// libmemcached's conformance tester, must pass every test on both and list the same tests.
// MATRIX_CLIENT=name[,name] runs only those clients; MATRIX_CONCURRENCY sets how many runs at once.
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer } from '../server/oracle.ts';
import type { ServerKind, ServerProcess } from '../server/oracle.ts';
import { memcachedSaslDir } from '../server/wire-target.ts';

type Protocol = 'text' | 'binary';
type Transport = 'tcp' | 'unix';

interface Run {
  protocol: Protocol;
  transport: Transport;
  sasl: boolean;
}

interface Client {
  name: string;
  /** The script and its interpreter, run from the repository root. */
  command: readonly string[];
  runs: readonly Run[];
}

const PYTHON = '/usr/bin/python3'; // Debian's, which has python3-pymemcache and python3-pylibmc
const NODE_TS = [process.execPath, '--import', 'tsx'];
const ITEM_MAX = 1024 * 1024;
const USER = { name: 'matrix', password: 'c0rrect horse' };
const SCRIPT_TIMEOUT_MS = 60_000;

const tcp = (protocol: Protocol): Run => ({ protocol, transport: 'tcp', sasl: false });
const unix = (protocol: Protocol): Run => ({ protocol, transport: 'unix', sasl: false });
const sasl: Run = { protocol: 'binary', transport: 'tcp', sasl: true };
/** Text and binary, each over TCP and a unix socket, and binary with SASL. */
const EVERY_WAY: readonly Run[] = [tcp('text'), tcp('binary'), unix('text'), unix('binary'), sasl];

const script = (file: string): string => join('test', 'interop', 'clients', file);

const CLIENTS: readonly Client[] = [
  { name: 'pymemcache', command: [PYTHON, script('pymemcache.py')], runs: [tcp('text'), unix('text')] },
  { name: 'pylibmc', command: [PYTHON, script('pylibmc.py')], runs: EVERY_WAY },
  { name: 'cache-memcached', command: ['perl', script('perl.pl'), 'Cache::Memcached'], runs: [tcp('text'), unix('text')] },
  {
    name: 'cache-memcached-fast',
    command: ['perl', script('perl.pl'), 'Cache::Memcached::Fast'],
    runs: [tcp('text'), unix('text')],
  },
  { name: 'php-memcached', command: ['php', '-d', 'memcached.use_sasl=1', script('php-memcached.php')], runs: EVERY_WAY },
  { name: 'dalli', command: ['ruby', script('dalli.rb')], runs: [tcp('binary'), unix('binary'), sasl] },
  { name: 'memjs', command: [...NODE_TS, script('memjs.ts')], runs: [tcp('binary'), sasl] },
  { name: 'npm-memcached', command: [...NODE_TS, script('npm-memcached.ts')], runs: [tcp('text'), unix('text')] },
  { name: 'memcache-client', command: [...NODE_TS, script('memcache-client.ts')], runs: [tcp('text')] },
  { name: 'libmemcached-tools', command: [PYTHON, script('libmemcached-tools.py')], runs: EVERY_WAY },
];

// ---------------------------------------------------------------------------------------------
// Servers

interface Started {
  server: ServerProcess;
  /** What a client is given: host:port, or the socket's path. */
  address: string;
  close(): Promise<void>;
}

/** A fresh `kind` server set up for `run`: its own unix socket directory, its own SASL users. */
async function startFor(kind: ServerKind, run: Run): Promise<Started> {
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-matrix-'));
  chmodSync(dir, 0o777); // memcached drops to nobody before it makes its socket
  const dirs = [dir];
  const removeDirs = (): void => dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  const flags: string[] = [];
  let env: Record<string, string> = {};
  if (run.sasl) {
    if (kind === 'memcached') {
      const sasl = memcachedSaslDir({ [USER.name]: USER.password });
      env = sasl.env;
      dirs.push(sasl.dir);
    } else {
      const pwdb = join(dir, 'pwdb');
      writeFileSync(pwdb, `${USER.name}:${USER.password}\n`);
      env = { MEMCACHED_SASL_PWDB: pwdb };
    }
    flags.push('-S');
  }
  const socketPath = run.transport === 'unix' ? join(dir, 'mc.sock') : undefined;
  try {
    const server = await startServer(kind, flags, { env, socketPath });
    return {
      server,
      address: socketPath ?? `127.0.0.1:${server.port}`,
      async close() {
        await server.stop();
        removeDirs();
      },
    };
  } catch (error) {
    removeDirs();
    throw error;
  }
}

// ---------------------------------------------------------------------------------------------
// Scripts

interface Outcome {
  status: number | null;
  stdout: string;
  stderr: string;
}

function runCommand(command: readonly string[], env: Record<string, string>): Promise<Outcome> {
  return new Promise((resolve) => {
    const [file, ...args] = command;
    const child = spawn(file!, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
    child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${SCRIPT_TIMEOUT_MS} ms)`;
      child.kill('SIGKILL');
    }, SCRIPT_TIMEOUT_MS);
    child.once('error', (error) => {
      clearTimeout(timer);
      resolve({ status: null, stdout, stderr: `${stderr}${String(error)}` });
    });
    child.once('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout, stderr });
    });
  });
}

/** The command line and environment that point a program at a server's address. */
type Invocation = (address: string) => { command: readonly string[]; env: Record<string, string> };

/** Runs an invocation against a fresh `kind` server set up for `run`. */
async function against(kind: ServerKind, run: Run, invocation: Invocation): Promise<Outcome> {
  const started = await startFor(kind, run);
  try {
    const { command, env } = invocation(started.address);
    return await runCommand(command, env);
  } finally {
    await started.close();
  }
}

/** A client script, told the server and the run by the contract's MC_* variables. */
function clientInvocation(client: Client, run: Run): Invocation {
  return (address) => ({
    command: client.command,
    env: {
      MC_SERVER: address,
      MC_PROTOCOL: run.protocol,
      MC_ITEM_MAX: String(ITEM_MAX),
      ...(run.sasl ? { MC_USERNAME: USER.name, MC_PASSWORD: USER.password } : {}),
    },
  });
}

interface Comparison {
  memcached: Outcome;
  wasmcached: Outcome;
}

/** Both servers at once: they are separate processes, and the scripts' sleeps then overlap. */
async function compare(run: Run, invocation: Invocation): Promise<Comparison> {
  const [memcached, wasmcached] = await Promise.all([against('memcached', run, invocation), against('wasmcached', run, invocation)]);
  return { memcached, wasmcached };
}

function describeFailure(kind: string, outcome: Outcome): string {
  return `${kind} run exited with ${outcome.status}:\n${outcome.stderr.trim()}\n${outcome.stdout.split('\n').slice(-5).join('\n')}`;
}

/** The first lines where the transcripts part, for the failure message. */
function firstDifferences(expected: readonly string[], actual: readonly string[], limit = 8): string {
  const lines: string[] = [];
  for (let i = 0; i < Math.max(expected.length, actual.length) && lines.length < limit * 2; i++) {
    if (expected[i] === actual[i]) continue;
    lines.push(`  line ${i + 1} memcached:  ${expected[i] ?? '(none)'}`, `  line ${i + 1} wasmcached: ${actual[i] ?? '(none)'}`);
  }
  return lines.join('\n');
}

function transcript(outcome: Outcome): string[] {
  return outcome.stdout.split('\n').filter((line) => line !== '');
}

// ---------------------------------------------------------------------------------------------
// The runs: all started before the tests, a few at a time, so that the scripts' sleeps overlap

const MEMCCAPABLE = 'memccapable';

/** Whether MATRIX_CLIENT (unset: every client) asks for `name`. */
function wanted(name: string): boolean {
  const only = process.env.MATRIX_CLIENT;
  if (only === undefined || only === '') return true;
  const names = only.split(',');
  const unknown = names.filter((n) => n !== MEMCCAPABLE && !CLIENTS.some((c) => c.name === n));
  if (unknown.length > 0) throw new Error(`MATRIX_CLIENT: unknown ${unknown.join(', ')}`);
  return names.includes(name);
}

function runName(client: string, run: Run): string {
  return `${client} ${run.protocol} ${run.transport}${run.sasl ? ' sasl' : ''}`;
}

async function pool<T>(tasks: ReadonlyArray<() => Promise<T>>, width: number): Promise<T[]> {
  const results: T[] = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const index = next++;
      results[index] = await tasks[index]!();
    }
  };
  await Promise.all(Array.from({ length: Math.min(width, tasks.length) }, worker));
  return results;
}

const CONCURRENCY = Number(process.env.MATRIX_CONCURRENCY ?? 4);
const plan = CLIENTS.filter((c) => wanted(c.name)).flatMap((client) => client.runs.map((run) => ({ client, run, name: runName(client.name, run) })));
const results = new Map<string, Promise<Comparison>>();
let ready: Promise<unknown> = Promise.resolve();

const matrix = suite('client matrix');

matrix.before(() => {
  const settled = pool(
    plan.map(({ client, run, name }) => () => {
      const comparison = compare(run, clientInvocation(client, run));
      results.set(name, comparison);
      return comparison.catch(() => undefined);
    }),
    CONCURRENCY,
  );
  ready = settled;
});

for (const { name } of plan) {
  matrix(name, async () => {
    await ready;
    const { memcached, wasmcached } = await results.get(name)!;
    assert.ok(memcached.status === 0, describeFailure('the memcached', memcached));
    assert.ok(wasmcached.status === 0, describeFailure('the wasmcached', wasmcached));
    const expected = transcript(memcached);
    const actual = transcript(wasmcached);
    assert.is(expected.at(-1), '["done",true]', 'the script did not finish against memcached');
    assert.ok(expected.length > 20, `only ${expected.length} steps against memcached`);
    assert.ok(
      expected.length === actual.length && expected.every((line, i) => line === actual[i]),
      `transcripts differ:\n${firstDifferences(expected, actual)}`,
    );
  });
}

matrix.run();

// ---------------------------------------------------------------------------------------------
// memccapable: every ascii and binary test passes, and it runs the same tests on both servers

const MEMCCAPABLE_TESTS = /^(ascii|binary) .*\[(pass|fail|skip)\]$/;

const capable = suite('memccapable');

if (wanted(MEMCCAPABLE)) {
  capable('passes every ascii and binary test, the same tests as memcached', async () => {
    const { memcached, wasmcached } = await compare(tcp('text'), (address) => {
      const [host, port] = address.split(':');
      return { command: ['memccapable', '-h', host!, '-p', port!, '-t', '5'], env: {} };
    });
    const tests = (outcome: Outcome): string[] => outcome.stdout.split('\n').filter((line) => MEMCCAPABLE_TESTS.test(line));
    assert.ok(memcached.status === 0, describeFailure('memccapable against memcached', memcached));
    assert.ok(wasmcached.status === 0, describeFailure('memccapable against wasmcached', wasmcached));
    const ours = tests(wasmcached);
    assert.equal(ours, tests(memcached));
    assert.ok(ours.filter((line) => line.startsWith('ascii ') && line.endsWith('[pass]')).length >= 27);
    assert.ok(ours.filter((line) => line.startsWith('binary ') && line.endsWith('[pass]')).length >= 27);
    assert.ok(ours.every((line) => line.endsWith('[pass]')), ours.filter((l) => !l.endsWith('[pass]')).join('\n'));
    assert.match(wasmcached.stdout, /All tests passed/);
  });
}

capable.run();
