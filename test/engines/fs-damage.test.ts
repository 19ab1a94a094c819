// At start-up the fs engine ignores and removes a damaged item file (bad checksum, cut short, a
// key that is not the file's) and the temporary files a killed process left behind.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createManualClock } from '../../src/engine/clock.ts';
import type { EngineHandle } from '../../src/engine/types.ts';
import { fileName } from '../../src/engines/fs/files.ts';
import { getAsync, openAsync, statsAsync, storeAsync, toBytes } from '../engine/harness.ts';

test('damaged files and leftover temporary files are ignored and removed at start', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-fs-damage-'));
  try {
    const clock = createManualClock();
    const logs: string[] = [];
    const api = { core: clock, log: (level: string, message: string) => void logs.push(`${level}: ${message}`) };
    const a = await openAsync('fs', api, { dir, sync: 'batch' });
    for (const key of ['good', 'flipped', 'short', 'moved']) await storeAsync(a, key, `value of ${key}`);
    await a.destroy();

    const path = (key: string): string => {
      const name = fileName(toBytes(key));
      return join(dir, name.slice(0, 2), name);
    };
    const flipped = readFileSync(path('flipped'));
    flipped[flipped.length - 1] ^= 0x01; // one bit of the value: the checksum no longer matches
    writeFileSync(path('flipped'), flipped);
    truncateSync(path('short'), 20);
    // A good record under another key's name.
    const stray = path('elsewhere');
    mkdirSync(join(stray, '..'), { recursive: true });
    writeFileSync(stray, readFileSync(path('moved')));
    const temps = [
      join(dir, fileName(toBytes('good')).slice(0, 2), `${fileName(toBytes('good'))}.0123456789ab.7.tmp`),
      join(dir, 'meta.json.0123456789ab.3.tmp'),
    ];
    for (const temp of temps) writeFileSync(temp, 'half a write');

    const b = await openAsync('fs', api, { dir, sync: 'batch' });
    await (b as EngineHandle & { loaded(): Promise<void> }).loaded();
    assert.is((await getAsync(b, 'good'))?.value, 'value of good');
    assert.is((await getAsync(b, 'moved'))?.value, 'value of moved');
    assert.is(await getAsync(b, 'flipped'), undefined, 'bad checksum: not loaded');
    assert.is(await getAsync(b, 'short'), undefined, 'cut short: not loaded');
    assert.is(await getAsync(b, 'elsewhere'), undefined, 'a file under the wrong name: not loaded');
    for (const gone of [path('flipped'), path('short'), stray, ...temps]) assert.not.ok(existsSync(gone), `${gone} removed`);
    assert.ok(existsSync(path('good')));
    assert.ok(logs.some((line) => line.includes('bad checksum')), logs.join('\n'));
    const fs = await statsAsync(b, 'fs');
    assert.is(fs.get('fs_loaded_items'), '2');
    assert.is(fs.get('fs_load_removed'), '3');
    assert.is((await statsAsync(b)).get('curr_items'), '2');
    const left = readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((p) => p.endsWith('.tmp'));
    assert.equal(left, [], 'no temporary file left');
    await b.destroy();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
