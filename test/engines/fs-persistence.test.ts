// The fs engine keeps its items across instances: what one instance stored comes back in the next
// on the same directory (value, flags, CAS, remaining TTL), and what was deleted, flushed or has
// expired does not. The second instance runs a later clock, as a restarted process would.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { createManualClock, type ManualClock } from '../../src/engine/clock.ts';
import { Status, StoreOperation, statusName } from '../../src/engine/status.ts';
import { createArithmeticRequest, createArithmeticResult, type EngineHandle, type ServerApi } from '../../src/engine/types.ts';
import { DEFAULT_CLOCK_START, getAsync, openAsync, statsAsync, storeAsync, toBytes } from '../engine/harness.ts';

const test = suite('fs: persistence across instances');
const dirs: string[] = [];

function freshDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-fs-persist-'));
  dirs.push(dir);
  return dir;
}

function apiOf(clock: ManualClock, logs: string[] = []): ServerApi {
  return { core: clock, log: (level, message) => void logs.push(`${level}: ${message}`) };
}

/** Item files under a directory (not meta, not temporary). */
function itemFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((path) => /[0-9a-f]{40}$/.test(path));
}

async function restart(engine: EngineHandle, dir: string, clock: ManualClock, sync: string): Promise<EngineHandle> {
  await engine.destroy();
  const next = await openAsync('fs', apiOf(clock), { dir, sync });
  await (next as EngineHandle & { loaded(): Promise<void> }).loaded();
  return next;
}

for (const sync of ['none', 'batch', 'always']) {
  test(`sync=${sync}: value, flags, CAS and the remaining TTL come back; deleted and expired items do not`, async () => {
    const dir = freshDir();
    const clock1 = createManualClock(DEFAULT_CLOCK_START);
    const a = await openAsync('fs', apiOf(clock1), { dir, sync });
    const stored = await storeAsync(a, 'kept', 'value one', { flags: 0xdeadbeef, exptime: 100 });
    assert.is(statusName(stored.status), 'SUCCESS');
    const forever = await storeAsync(a, 'forever', new Uint8Array([0, 13, 10, 255]));
    await storeAsync(a, 'deleted', 'x');
    assert.is(statusName(await a.remove(toBytes('deleted'), 0n)), 'SUCCESS');
    await storeAsync(a, 'short', 'y', { exptime: 10 });
    await storeAsync(a, 'counter', '41');
    const request = createArithmeticRequest();
    const result = createArithmeticResult();
    assert.is(statusName(await a.arithmetic(toBytes('counter'), request, result)), 'SUCCESS');
    await storeAsync(a, 'touched', 'z', { exptime: 5 });
    assert.is(statusName(await a.touch(toBytes('touched'), 1000)), 'SUCCESS');
    await storeAsync(a, 'appended', 'ab');
    await storeAsync(a, 'appended', 'cd', { op: StoreOperation.APPEND });
    const expiresAt = clock1.now() + 100;

    // A restart 30 seconds later, on a clock that started later: 'short' has expired meanwhile.
    const clock2 = createManualClock(clock1.now() + 30);
    const b = await restart(a, dir, clock2, sync);
    const kept = await getAsync(b, 'kept');
    assert.is(kept?.value, 'value one');
    assert.is(kept?.flags, 0xdeadbeef);
    assert.is(kept?.cas, stored.cas, 'CAS kept');
    assert.is(clock2.abstime(kept!.exptime), expiresAt, 'expires at the same unix time');
    assert.is(kept!.exptime - clock2.currentTime(), 70, '70 of 100 seconds left');
    assert.equal([...(await getAsync(b, 'forever'))!.bytes], [0, 13, 10, 255]);
    assert.is((await getAsync(b, 'forever'))?.cas, forever.cas);
    assert.is(await getAsync(b, 'deleted'), undefined, 'a deleted item stays deleted');
    assert.is(await getAsync(b, 'short'), undefined, 'an expired item is not loaded');
    assert.is((await getAsync(b, 'counter'))?.value, '42');
    assert.is(clock2.abstime((await getAsync(b, 'touched'))!.exptime), clock1.now() + 1000, 'touch kept');
    assert.is((await getAsync(b, 'appended'))?.value, 'abcd');
    assert.is(itemFiles(dir).length, 5, 'the expired file was removed at load, the deleted one at delete');

    // New CAS values are above every one handed out before.
    const after = await storeAsync(b, 'new', 'n');
    assert.ok(after.cas > stored.cas, `new CAS ${after.cas} above ${stored.cas}`);
    const kept2 = await storeAsync(b, 'kept', 'again');
    assert.ok(kept2.cas > after.cas);
    await b.destroy();
  });
}

test('sync=batch: a change answers at once; settled() resolves once its file is in place', async () => {
  const dir = freshDir();
  const engine = await openAsync('fs', apiOf(createManualClock()), { dir, sync: 'batch' });
  const item = await engine.allocate(toBytes('k'), 1, 0, 0, StoreOperation.SET);
  engine.itemValue(item).set([0x61]);
  assert.is(statusName(engine.store(item, StoreOperation.SET, 0n) as Status), 'SUCCESS');
  engine.release(item);
  const stored = engine.settled?.();
  assert.instance(stored, Promise);
  assert.is(itemFiles(dir).length, 0, 'not yet written');
  await stored;
  assert.is(itemFiles(dir).length, 1, 'written when settled() resolved');
  assert.is(statusName(engine.remove(toBytes('k'), 0n) as Status), 'SUCCESS');
  const removed = engine.settled?.();
  assert.instance(removed, Promise);
  await removed;
  assert.is(itemFiles(dir).length, 0, 'removed when settled() resolved');
  assert.is(engine.settled?.(), undefined, 'nothing left to settle');
  const hit = engine.get(toBytes('k'));
  assert.is(hit, -Status.KEY_ENOENT, 'a read answers synchronously');
  await engine.destroy();
});

test('sync=batch: a change made on a held item (setExptime, as mg T does) is waited for by settled() too', async () => {
  const dir = freshDir();
  const engine = await openAsync('fs', apiOf(createManualClock()), { dir, sync: 'batch' });
  await storeAsync(engine, 'k', 'v');
  const item = engine.get(toBytes('k')) as number;
  engine.setExptime(item, 100);
  engine.release(item);
  const touched = engine.settled?.();
  assert.instance(touched, Promise, 'the new exptime is not on disk yet');
  await touched;
  assert.is(engine.settled?.(), undefined);
  await engine.destroy();
});

test('flush_all: flushed items do not come back; items stored after it do', async () => {
  const dir = freshDir();
  const clock = createManualClock();
  const a = await openAsync('fs', apiOf(clock), { dir, sync: 'batch' });
  for (const key of ['x', 'y', 'z']) await storeAsync(a, key, key);
  assert.is(statusName(await a.flush(0)), 'SUCCESS');
  const later = await storeAsync(a, 'after', 'stored after the flush');
  assert.is(statusName(later.status), 'SUCCESS');
  // Restart before the background queue has removed the flushed files: the kept flush mark hides them.
  const b = await openAsync('fs', apiOf(createManualClock(clock.now() + 1)), { dir, sync: 'batch' });
  await (b as EngineHandle & { loaded(): Promise<void> }).loaded();
  for (const key of ['x', 'y', 'z']) assert.is(await getAsync(b, key), undefined, `${key} was flushed`);
  assert.is((await getAsync(b, 'after'))?.value, 'stored after the flush');
  assert.is((await statsAsync(b)).get('curr_items'), '1');
  await a.destroy();
  await b.destroy();
});

test('flush_all with a delay: items stored before it are gone once it is due, also after a restart', async () => {
  const dir = freshDir();
  const clock = createManualClock();
  const a = await openAsync('fs', apiOf(clock), { dir, sync: 'batch' });
  await storeAsync(a, 'old', 'o');
  await a.flush(60);
  const clock2 = createManualClock(clock.now() + 10);
  const b = await restart(a, dir, clock2, 'batch');
  assert.is((await getAsync(b, 'old'))?.value, 'o', 'not yet due');
  clock2.advance(60);
  assert.is(await getAsync(b, 'old'), undefined, 'due: gone');
  await b.destroy();
});

test('eviction removes the evicted item\'s file', async () => {
  const dir = freshDir();
  const engine = await openAsync('fs', apiOf(createManualClock()), { dir, sync: 'batch', cache_size: '2m', item_size_max: '512k' });
  const value = new Uint8Array(100_000);
  for (let i = 0; i < 60; i++) await storeAsync(engine, `k${i}`, value);
  const stats = await statsAsync(engine);
  assert.ok(Number(stats.get('evictions')) > 0, 'something was evicted');
  await engine.destroy();
  assert.is(itemFiles(dir).length, Number(stats.get('curr_items')), 'one file per item in the cache');
});

test('config: dir is required, sync is none, batch or always, unknown keys are refused', async () => {
  for (const [config, word] of [
    [{ sync: 'none' }, 'dir'],
    [{ dir: freshDir(), sync: 'sometimes' }, 'sync'],
    [{ dir: freshDir(), no_such_key: '1' }, 'no_such_key'],
  ] as const) {
    const logs: string[] = [];
    const { createInstance } = await import('../../src/engines/fs/index.ts');
    const engine = createInstance(1, () => apiOf(createManualClock(), logs)) as EngineHandle;
    const status = await engine.initialize(new Map(Object.entries(config)));
    assert.is(statusName(status), 'EINVAL', JSON.stringify(config));
    assert.ok(logs.some((line) => line.startsWith('warning') && line.includes(word)), `a warning names ${word}: ${logs.join('; ')}`);
  }
});

test.after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

test.run();
