// sync=batch survives kill -9: a child process stores items and prints each key once its store
// has been acknowledged; it is killed with SIGKILL mid-stream, and a new instance on the same
// directory has every acknowledged item.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createClock } from '../../src/engine/clock.ts';
import type { EngineHandle } from '../../src/engine/types.ts';
import { getAsync, openAsync, statsAsync } from '../engine/harness.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const module = (path: string): string => JSON.stringify(pathToFileURL(join(root, path)).href);

/** The child: stores key<i> = value<i> (of growing sizes) one after another, forever. */
const CHILD = `
import { createInstance } from ${module('src/engines/fs/index.ts')};
import { createClock } from ${module('src/engine/clock.ts')};
const api = { core: createClock(() => Date.now() / 1000), log: () => undefined };
const engine = createInstance(1, () => api);
const status = await engine.initialize(new Map([['dir', process.argv[2]], ['sync', 'batch']]));
if (status !== 0) throw new Error('initialize: ' + status);
const encoder = new TextEncoder();
for (let i = 0; ; i++) {
  const key = encoder.encode('key' + i);
  const value = encoder.encode(('value' + i + ':').repeat(1 + (i % 50)));
  const item = await engine.allocate(key, value.length, i, 0, 2);
  engine.itemValue(item).set(value);
  const stored = await engine.store(item, 2, 0n);
  await engine.settled();
  engine.release(item);
  if (stored !== 0) throw new Error('store: ' + stored);
  process.stdout.write(i + '\\n');
}
`;

test('every store acknowledged before SIGKILL is there after a restart', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-fs-kill-'));
  const script = join(dir, 'child.mts');
  writeFileSync(script, CHILD);
  const data = join(dir, 'data');
  const child = spawn(process.execPath, ['--import', 'tsx', script, data], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let acknowledged = -1;
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => void (stderr += chunk.toString()));
    await new Promise<void>((resolve, reject) => {
      let buffered = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffered += chunk.toString();
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) acknowledged = Number(line);
        // Kill it in the middle of a stream of writes, well after it got going.
        if (acknowledged >= 1500 && child.exitCode === null) {
          child.kill('SIGKILL');
          resolve();
        }
      });
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') reject(new Error(`child exited (${code}, ${signal}): ${stderr}`));
      });
    });
    await new Promise((resolve) => child.once('exit', resolve));
    assert.ok(acknowledged >= 1500, `acknowledged ${acknowledged}`);

    const api = { core: createClock(() => Date.now() / 1000), log: () => undefined };
    const engine = await openAsync('fs', api, { dir: data, sync: 'batch' });
    await (engine as EngineHandle & { loaded(): Promise<void> }).loaded();
    const missing: number[] = [];
    for (let i = 0; i <= acknowledged; i++) {
      const item = await getAsync(engine, `key${i}`);
      if (item?.value !== `value${i}:`.repeat(1 + (i % 50)) || item.flags !== i) missing.push(i);
    }
    assert.equal(missing, [], `acknowledged items lost (of ${acknowledged + 1})`);
    const items = Number((await statsAsync(engine)).get('curr_items'));
    assert.ok(items >= acknowledged + 1 && items <= acknowledged + 1 + 16, `curr_items ${items}: the acknowledged ones and at most the writes in flight`);
    await engine.destroy();
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
