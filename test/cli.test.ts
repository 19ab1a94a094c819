// The wasmcached command as a user runs it: exit codes and what it says on stdout and stderr.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const EXAMPLE = './examples/engine/map-engine.js';

function run(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { cwd: root, encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

test('-V prints the version, -h the options', () => {
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string };
  const v = run('-V');
  assert.is(v.status, 0);
  assert.is(v.stdout, `wasmcached ${version} (memcached 1.6.18 protocol)\n`);
  const h = run('-h');
  assert.is(h.status, 0);
  assert.match(h.stdout, /--engine-config=<config>/);
});

test('--check-config exits 0 when the engine accepts its configuration', () => {
  const { status, stderr } = run('-E', EXAMPLE, '-m', '16', '--check-config');
  assert.is(stderr, '');
  assert.is(status, 0);
});

test('an unknown engine config key is reported on stderr with exit code 1', () => {
  const { status, stderr } = run('-E', EXAMPLE, '--engine-config', 'no_such_key=1', '--check-config');
  assert.is(status, 1);
  assert.match(stderr, /rejected its configuration: unknown engine config key 'no_such_key'/);
});

test('-vv shows the engine config and what the engine logs at info', () => {
  const { status, stderr } = run('-E', EXAMPLE, '-m', '16', '-vv', '--check-config');
  assert.is(status, 0);
  assert.match(stderr, /^engine config: cache_size=16777216$/m);
  assert.match(stderr, /^map engine: cache_size 16777216/m);
  assert.match(stderr, /^Loaded engine: Map engine/m);
});

test('a bad flag or a missing engine is an error with exit code 1', () => {
  const flag = run('-m', 'lots');
  assert.is(flag.status, 1);
  assert.match(flag.stderr, /-m: expected a whole number, got 'lots'\nTry 'wasmcached -h'/);
  const engine = run('-E', './no/such/engine.js', '--check-config');
  assert.is(engine.status, 1);
  assert.match(engine.stderr, /cannot load engine '\.\/no\/such\/engine\.js'/);
});

/** A TCP port nothing listens on right now. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

async function waitFor(check: () => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Whether the server has written `file` whole (a line ending in LF): it may exist empty first. */
function written(file: string): boolean {
  return existsSync(file) && readFileSync(file, 'utf8').endsWith('\n');
}

function ask(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' }, () => socket.write(line));
    socket.on('data', (d) => {
      resolve(d.toString('latin1'));
      socket.destroy();
    });
    socket.on('error', reject);
  });
}

test('serves: MEMCACHED_PORT_FILENAME and -P are written, SIGTERM stops it cleanly (exit 0, pid file gone)', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-cli-'));
  const port = await freePort();
  const portFile = join(dir, 'ports');
  const pidFile = join(dir, 'pid');
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli.ts', '-p', String(port), '-U', '0', '-l', '127.0.0.1', '-P', pidFile], {
    cwd: root,
    env: { ...process.env, MEMCACHED_PORT_FILENAME: portFile },
    stdio: 'ignore',
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  try {
    await waitFor(() => written(portFile) && written(pidFile));
    assert.is(readFileSync(portFile, 'utf8'), `TCP INET: ${port}\n`);
    assert.is(readFileSync(pidFile, 'utf8'), `${child.pid}\n`);
    assert.is(await ask(port, 'version\r\n'), 'VERSION 1.6.18\r\n');
  } finally {
    // Also when an assertion failed: a server left running would hold the test run open.
    child.kill('SIGTERM');
  }
  assert.is(await exited, 0);
  assert.not.ok(existsSync(pidFile));
});

test('-d: the command returns at once and a detached server keeps serving', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-cli-'));
  const port = await freePort();
  const pidFile = join(dir, 'pid');
  const parent = run('-d', '-p', String(port), '-U', '0', '-l', '127.0.0.1', '-P', pidFile);
  assert.is(parent.status, 0);
  await waitFor(() => written(pidFile));
  const pid = Number(readFileSync(pidFile, 'utf8'));
  try {
    assert.is(await ask(port, 'version\r\n'), 'VERSION 1.6.18\r\n');
  } finally {
    process.kill(pid, 'SIGTERM');
  }
  await waitFor(() => !existsSync(pidFile));
});

test('-S needs a password file; -Y files are loaded at start with memcached\'s messages', () => {
  const env = { ...process.env };
  delete env['MEMCACHED_SASL_PWDB'];
  const bare = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', '-S', '--check-config'], { cwd: root, encoding: 'utf8', env });
  assert.is(bare.status, 1);
  assert.match(bare.stderr, /-S needs a password file: set MEMCACHED_SASL_PWDB or --sasl-pwdb=<file>\nError initializing sasl\.\n$/);
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-auth-'));
  const pwdb = join(dir, 'pwdb');
  writeFileSync(pwdb, 'alice:secret\n');
  assert.is(run('-S', `--sasl-pwdb=${pwdb}`, '--check-config').status, 0);
  const missing = run('-Y', join(dir, 'nope'));
  assert.is(missing.status, 1);
  assert.is(missing.stderr, `Could not open authfile [${join(dir, 'nope')}] for reading, error No such file or directory: No such file or directory\n`);
  const malformed = join(dir, 'malformed');
  writeFileSync(malformed, 'alice:secret\n\nbob:x\n');
  const bad = run('-Y', malformed);
  assert.is(bad.status, 1);
  assert.is(bad.stderr, `Authfile [${malformed}] has a malformed entry. Should be 'user:password'`);
  assert.is(run('-Y', pwdb, '-B', 'binary').stderr, 'wasmcached: ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.\nTry \'wasmcached -h\' for the options.\n');
});

test.run();
