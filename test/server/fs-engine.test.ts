// The fs engine behind the server: acknowledged writes survive kill -9 of the daemon (sync=batch,
// over real sockets), and purging 100,000 expired files never holds up clients reading hot keys:
// their reads are answered all through the purge, between its steps. (Read latency and event-loop
// lag are printed for the record, not asserted: timings belong to the benchmarks.)
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EngineHandle } from '../../src/engine/types.ts';
import { startServer as startDaemon } from './oracle.ts';
import { Client, startServer } from './serve.ts';

const dirs: string[] = [];
function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-fs-'));
  dirs.push(dir);
  return dir;
}

test('daemon -E fs, sync=batch: every acknowledged write is there after kill -9 and a restart', async () => {
  const dir = freshDir();
  const flags = ['-E', 'fs', '--engine-config', `dir=${dir};sync=batch`];
  const first = await startDaemon('wasmcached', flags);
  const c = await Client.open(first.port);
  assert.is(await c.request('set a 5 0 5\r\nhello\r\n'), 'STORED\r\n');
  assert.is(await c.request('set n 0 0 1\r\n7\r\nincr n 35\r\n'), 'STORED\r\n42\r\n');
  assert.is(await c.request('set gone 0 0 1\r\nx\r\ndelete gone\r\n'), 'STORED\r\nDELETED\r\n');
  assert.is(await c.request('ms m 3 T1000 F9\r\nabc\r\n'), 'HD\r\n');
  // Pipelined: the replies of a batch come once its writes are on disk.
  let batch = '';
  for (let i = 0; i < 300; i++) batch += `set k${i} ${i} 0 ${String(i).length}\r\n${i}\r\n`;
  assert.is(await c.request(batch, 'STORED\r\n'.repeat(300)), 'STORED\r\n'.repeat(300));
  const before = await c.request('gets a n m k0 k299\r\n', 'END\r\n');
  c.close();
  first.child.kill('SIGKILL');
  await new Promise((resolve) => first.child.once('exit', resolve));

  const second = await startDaemon('wasmcached', flags);
  const d = await Client.open(second.port);
  assert.is(await d.request('gets a n m k0 k299\r\n', 'END\r\n'), before, 'values, flags and CAS');
  assert.is(await d.request('get gone\r\n', 'END\r\n'), 'END\r\n', 'a delete is kept too');
  assert.match(await d.request('mg m t\r\n'), /^HD t(99\d|1000)\r\n$/);
  for (let i = 0; i < 300; i += 37) assert.is(await d.request(`get k${i}\r\n`, 'END\r\n'), `VALUE k${i} ${i} ${String(i).length}\r\n${i}\r\nEND\r\n`);
  d.close();
  await second.stop();
});

test('sync=batch: a store whose file cannot be written is not acknowledged; the connection closes', async () => {
  const dir = freshDir();
  const s = await startServer('fs', {}, { dir, sync: 'batch' });
  // A plain file where the key's subdirectory must go: its write fails (ENOTDIR), whoever runs it.
  writeFileSync(join(dir, createHash('sha1').update('k').digest('hex').slice(0, 2)), 'in the way');
  const c = await Client.open(s.port);
  assert.is(await c.request('set ok 0 0 1\r\nv\r\n'), 'STORED\r\n');
  assert.is(await c.request('set k 0 0 1\r\nv\r\n'), '', 'no STORED');
  await c.settle(100);
  assert.ok(c.closed, 'closed rather than acknowledging');
  c.close();
  await s.close();
});

/** Nearest-rank percentile of `values` (sorted here), in the values' unit. */
function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

const ITEMS = 100_000;

test(`purging ${ITEMS} expired files while clients read hot keys: the reads go on between the purge's steps`, async () => {
  const dir = freshDir();
  const s = await startServer('fs', { sweep: true }, { dir, sync: 'none', cache_size: '256m' });
  const engine = s.engine as EngineHandle & { getStats(group: string, add: (k: string, v: string) => void): unknown };
  const fsStat = (name: string): number => {
    let value = NaN;
    engine.getStats('fs', (k, v) => {
      if (k === name) value = Number(v);
    });
    return value;
  };
  // Closed whatever happens: a client left open would keep the test run from ending.
  const clients: Client[] = [];
  try {
    const loader = await Client.open(s.port);
    clients.push(loader);
    for (let i = 0; i < 10; i++) assert.is(await loader.request(`set hot${i} 0 0 4\r\nhot${i % 10}\r\n`), 'STORED\r\n');
    const BATCH = 2_000;
    for (let i = 0; i < ITEMS; i += BATCH) {
      let batch = '';
      for (let j = i; j < i + BATCH; j++) batch += `set cold${j} 0 30 8 noreply\r\n${String(j).padStart(8, '0')}\r\n`;
      await loader.request(`${batch}version\r\n`, 'VERSION 1.6.18\r\n');
    }
    // Every file written before the purge starts.
    const written = Date.now();
    while (fsStat('fs_write_queue') > 0 && Date.now() - written < 60_000) await new Promise((resolve) => setTimeout(resolve, 50));
    assert.is(fsStat('fs_files'), ITEMS + 10, 'all on disk');

    // Expire them all at once, and read hot keys while the maintainer and the queue reclaim them.
    s.clock.advance(31);
    const lag = monitorEventLoopDelay({ resolution: 1 });
    lag.enable();
    const readers = await Promise.all([0, 1, 2, 3].map(() => Client.open(s.port)));
    clients.push(...readers);
    const latencies: number[] = [];
    // The files left on disk after each read that came while the purge was under way.
    const seen = new Set<number>();
    let readsDuringPurge = 0;
    const started = Date.now();
    let purged = false;
    await Promise.all(
      readers.map(async (r, n) => {
        for (let i = 0; !purged && Date.now() - started < 60_000; i++) {
          const key = `hot${(i + n) % 10}`;
          const t0 = process.hrtime.bigint();
          const reply = await r.request(`get ${key}\r\n`, 'END\r\n');
          latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
          if (reply !== `VALUE ${key} 0 4\r\n${key}\r\nEND\r\n`) throw new Error(`bad reply ${JSON.stringify(reply)}`);
          const files = fsStat('fs_files');
          if (files > 10 && files < ITEMS + 10) {
            readsDuringPurge++;
            seen.add(files);
          }
          if (n === 0 && i % 50 === 0) purged = files === 10 && fsStat('fs_reclaim_queue') === 0;
        }
      }),
    );
    lag.disable();
    const seconds = (Date.now() - started) / 1000;
    const readP99 = percentile(latencies, 99);
    const lagP99 = lag.percentile(99) / 1e6;
    const figures = `purged ${ITEMS} files in ${seconds.toFixed(1)} s; ${latencies.length} reads (${readsDuringPurge} while it ran, seeing ${seen.size} different file counts), p50 ${percentile(latencies, 50).toFixed(2)} ms, p99 ${readP99.toFixed(2)} ms, max ${percentile(latencies, 100).toFixed(1)} ms; event-loop lag p99 ${lagP99.toFixed(2)} ms, max ${(lag.max / 1e6).toFixed(1)} ms`;
    process.stdout.write(`\n  ${figures}\n`);
    assert.ok(purged, `the files were not all reclaimed within 60 s: ${fsStat('fs_files')} left`);
    assert.is(readdirSync(dir).filter((name) => name.length === 2).flatMap((sub) => readdirSync(join(dir, sub))).length, 10, 'only the hot files remain');
    // Held up by a purge done in one go, the reads would see the count before it and after it
    // only; here they see it fall, step by step, in at least a thousand places.
    assert.ok(seen.size >= 1000, `the reads saw the purge in ${seen.size} steps: ${figures}`);
  } finally {
    for (const c of clients) c.close();
    await s.close();
  }
});

test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test.run();
