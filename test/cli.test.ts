// The wasmcached command as a user runs it: exit codes and what it says on stdout and stderr.
import { spawnSync } from 'node:child_process';
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
  assert.is(v.stdout, `wasmcached ${version}\n`);
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

test('without --check-config it says the network server is not there yet, and fails', () => {
  const { status, stderr } = run('-E', EXAMPLE);
  assert.is(status, 1);
  assert.match(stderr, /network server is not implemented yet/);
});

test('a bad flag or a missing engine is an error with exit code 1', () => {
  const flag = run('-m', 'lots');
  assert.is(flag.status, 1);
  assert.match(flag.stderr, /-m: expected a whole number, got 'lots'\nTry 'wasmcached -h'/);
  const engine = run('-E', './no/such/engine.js', '--check-config');
  assert.is(engine.status, 1);
  assert.match(engine.stderr, /cannot load engine '\.\/no\/such\/engine\.js'/);
});

test.run();
