// Warm restart (-e) of the daemon over real sockets: a graceful stop (SIGTERM, SIGUSR1, shutdown
// graceful) saves the cache; the next start brings back every item with its flags, CAS and
// remaining TTL (time spent down counts) and removes the file, so a crash after that start comes
// back cold; other settings or a damaged file mean a cold start with the reason logged.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer } from './oracle.ts';
import type { ServerProcess } from './oracle.ts';
import { Client } from './serve.ts';

const dirs: string[] = [];
function memoryFile(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-restart-'));
  dirs.push(dir);
  return join(dir, 'memory_file');
}

async function exited(server: ServerProcess): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  await new Promise((resolve) => server.child.once('exit', resolve));
}

/** A value of `n` bytes that shows where any byte of it came from. */
const pattern = (n: number, seed: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode(0x21 + ((i * 31 + seed) % 90))).join('');

test('SIGTERM saves; the next start restores items, flags, CAS, TTLs and flush state, and removes the file; after a crash it starts cold', async () => {
  const file = memoryFile();
  const flags = ['-e', file, '-m', '16'];
  const first = await startServer('wasmcached', flags);
  const c = await Client.open(first.port);
  const big = pattern(700_000, 1); // over slab_chunk_max: a chained item
  assert.is(await c.request('set a 123 0 5\r\nhello\r\n'), 'STORED\r\n');
  assert.is(await c.request('set short 0 2 3\r\nbye\r\n'), 'STORED\r\n');
  assert.is(await c.request('set long 7 1000 4\r\nlong\r\n'), 'STORED\r\n');
  assert.is(await c.request(`set big 4294967295 0 ${big.length}\r\n${big}\r\n`), 'STORED\r\n');
  assert.is(await c.request('set n 0 0 2\r\n41\r\n'), 'STORED\r\n');
  assert.is(await c.request('incr n 1\r\n'), '42\r\n');
  assert.is(await c.request('set gone 0 0 1\r\nx\r\n'), 'STORED\r\n');
  assert.is(await c.request('delete gone\r\n'), 'DELETED\r\n');
  for (let i = 0; i < 2000; i++) c.send(`set k${i} ${i} 0 ${8 + (i % 300)}\r\n${pattern(8 + (i % 300), i)}\r\n`);
  await c.until('STORED\r\n'.repeat(2000), 5000);
  const before = await c.request('gets a long big n k0 k1999\r\n', 'END\r\n');
  const ttlBefore = Number(/ t(\d+)/.exec(await c.request('mg long t\r\n'))![1]);
  c.close();
  await first.stop();
  assert.ok(existsSync(file), 'the image was written');

  // Down for long enough that the 2 s item expires while nothing runs.
  await new Promise((resolve) => setTimeout(resolve, 2600));
  const second = await startServer('wasmcached', flags);
  assert.not.ok(existsSync(file), 'the file is taken at start');
  const d = await Client.open(second.port);
  const after = await d.request('gets a long big n k0 k1999\r\n', 'END\r\n');
  assert.ok(after === before, 'values, flags and CAS as they were');
  assert.is(await d.request('get short\r\n', 'END\r\n'), 'END\r\n', 'expired while the server was down');
  assert.is(await d.request('get gone\r\n', 'END\r\n'), 'END\r\n');
  const ttlAfter = Number(/ t(\d+)/.exec(await d.request('mg long t\r\n'))![1]);
  assert.ok(ttlAfter <= ttlBefore - 2 && ttlAfter >= ttlBefore - 5, `TTL ${ttlBefore} before, ${ttlAfter} after`);
  for (let i = 0; i < 2000; i += 97) {
    const value = pattern(8 + (i % 300), i);
    assert.is(await d.request(`get k${i}\r\n`, 'END\r\n'), `VALUE k${i} ${i} ${value.length}\r\n${value}\r\nEND\r\n`);
  }
  assert.is(await d.request('incr n 1\r\n'), '43\r\n');
  // The CAS counter goes on from where it was.
  const casBefore = Math.max(...[...before.matchAll(/ (\d+)\r\n/g)].map((m) => Number(m[1])));
  const fresh = await d.request('set fresh 0 0 1\r\nf\r\ngets fresh\r\n', 'END\r\n');
  assert.ok(Number(/VALUE fresh 0 1 (\d+)/.exec(fresh)![1]) > casBefore, fresh);
  const stats = await d.request('stats\r\n', 'END\r\n');
  assert.match(stats, /STAT curr_items 2005\r\n/); // a, long, big, n, fresh and the 2000
  d.close();

  // A crash: nothing is saved, and the file taken at start is not there to load again.
  second.child.kill('SIGKILL');
  await exited(second);
  assert.not.ok(existsSync(file));
  const third = await startServer('wasmcached', flags);
  const e = await Client.open(third.port);
  assert.is(await e.request('get a\r\n', 'END\r\n'), 'END\r\n', 'cold after a crash');
  e.close();
  await third.stop();
});

test('SIGUSR1 and shutdown graceful save; shutdown does not', async () => {
  for (const how of ['SIGUSR1', 'shutdown graceful', 'shutdown'] as const) {
    const file = memoryFile();
    const server = await startServer('wasmcached', ['-e', file, '-A']);
    const c = await Client.open(server.port);
    assert.is(await c.request('set k 0 0 1\r\nv\r\n'), 'STORED\r\n');
    if (how === 'SIGUSR1') server.child.kill('SIGUSR1');
    else c.send(`${how}\r\n`);
    await exited(server);
    c.close();
    assert.is(existsSync(file), how !== 'shutdown', how);
    if (how === 'shutdown') continue;
    const again = await startServer('wasmcached', ['-e', file, '-A']);
    const d = await Client.open(again.port);
    assert.is(await d.request('get k\r\n', 'END\r\n'), 'VALUE k 0 1\r\nv\r\nEND\r\n', how);
    d.close();
    await again.stop();
  }
});

test('other settings, another engine or a damaged file: a cold start that says why, and the file is still taken', async () => {
  const cases: Array<[string, string[], (file: string) => void, RegExp]> = [
    ['-m', ['-m', '32'], () => {}, /other settings \(cacheSize 16777216, now 33554432\)/],
    ['-C', ['-m', '16', '-C'], () => {}, /other settings \(useCas true, now false\)/],
    ['-E ts', ['-m', '16', '-E', 'ts'], () => {}, /the image is from engine wasm, this is ts/],
    ['a flipped byte', ['-m', '16'], (file) => flip(file, -100), /damaged \(checksum mismatch\)/],
    ['a cut file', ['-m', '16'], (file) => writeFileSync(file, readFileSync(file).subarray(0, 5000)), /truncated/],
    ['not an image', ['-m', '16'], (file) => writeFileSync(file, 'hello'), /not a wasmcached memory file|truncated/],
  ];
  for (const [what, flags, damage, reason] of cases) {
    const file = memoryFile();
    const first = await startServer('wasmcached', ['-e', file, '-m', '16']);
    const c = await Client.open(first.port);
    assert.is(await c.request('set k 0 0 1\r\nv\r\n'), 'STORED\r\n');
    c.close();
    await first.stop();
    damage(file);
    const second = await startServer('wasmcached', ['-v', '-e', file, ...flags]);
    const d = await Client.open(second.port);
    assert.is(await d.request('get k\r\n', 'END\r\n'), 'END\r\n', what);
    assert.is(await d.request('set k2 0 0 1\r\nw\r\nget k2\r\n', 'END\r\n'), 'STORED\r\nVALUE k2 0 1\r\nw\r\nEND\r\n', `${what}: serves`);
    d.close();
    assert.match(second.stderr(), reason, what);
    assert.match(second.stderr(), /starting cold/, what);
    assert.not.ok(existsSync(file), `${what}: taken`);
    await second.stop();
  }
});

function flip(file: string, at: number): void {
  const bytes = readFileSync(file);
  const i = at < 0 ? bytes.length + at : at;
  bytes[i] = bytes[i]! ^ 0xff;
  writeFileSync(file, bytes);
}

test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test.run();
