// Start-up serves at once: with 20,000 items on disk a new instance answers a get for a key the
// background load has not reached (reading that key's own file) before the load has finished.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createManualClock } from '../../src/engine/clock.ts';
import { Status } from '../../src/engine/status.ts';
import type { EngineHandle } from '../../src/engine/types.ts';
import { fileName } from '../../src/engines/fs/files.ts';
import { getAsync, openAsync, statsAsync, storeAsync, toBytes } from '../engine/harness.ts';

const ITEMS = 20_000;
type Loading = EngineHandle & { loaded(): Promise<void> };

test(`a get for a key not loaded yet answers before the load of ${ITEMS} items has finished`, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-fs-load-'));
  try {
    const clock = createManualClock();
    const api = { core: clock, log: () => undefined };
    const a = await openAsync('fs', api, { dir, sync: 'none' });
    for (let i = 0; i < ITEMS; i++) await storeAsync(a, `key${i}`, `value${i}`);
    await a.destroy();

    // The key whose file the scan reaches last (directories and files in name order).
    let last = 0;
    for (let i = 1; i < ITEMS; i++) if (fileName(toBytes(`key${i}`)) > fileName(toBytes(`key${last}`))) last = i;

    const b = (await openAsync('fs', api, { dir, sync: 'none' })) as Loading;
    const started = performance.now();
    const pending = b.get(toBytes(`key${last}`));
    assert.instance(pending, Promise, 'a key still on disk answers with a Promise');
    const item = await pending;
    const answeredIn = performance.now() - started;
    assert.ok(item > 0, 'a hit');
    b.release(item);
    const fs = await statsAsync(b, 'fs');
    assert.is(fs.get('fs_loading'), '1', `still loading when the get was answered (${fs.get('fs_loaded_items')} loaded)`);
    assert.ok(Number(fs.get('fs_loaded_items')) < ITEMS, 'not everything loaded yet');
    assert.is((await getAsync(b, `key${last}`))?.value, `value${last}`);
    assert.is(b.get(toBytes(`key${last}`)) instanceof Promise, false, 'once loaded, a get answers synchronously');
    // A miss on disk is a miss, and a key stored while loading is not overwritten by its old file.
    assert.is(await b.get(toBytes('never stored')), -Status.KEY_ENOENT);
    await storeAsync(b, 'key0', 'new value');

    await b.loaded();
    const loadedIn = performance.now() - started;
    assert.ok(answeredIn < loadedIn, `answered in ${answeredIn.toFixed(1)} ms, loaded in ${loadedIn.toFixed(1)} ms`);
    assert.is((await statsAsync(b, 'fs')).get('fs_loading'), '0');
    assert.is((await statsAsync(b)).get('curr_items'), String(ITEMS));
    assert.is((await getAsync(b, 'key0'))?.value, 'new value');
    assert.is((await getAsync(b, 'key12345'))?.value, 'value12345');
    await b.destroy();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
