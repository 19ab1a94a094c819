// The wasm engine's hash table grows incrementally (assembly/assoc.ts): past 1.5 items per
// bucket it doubles, and each later insert moves two old buckets, so no one call rehashes
// everything; lookups, deletes and the self-check stay right while some buckets have split and some not.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createManualClock } from '../../src/engine/clock.ts';
import { Status, StoreOperation } from '../../src/engine/status.ts';
import { WasmEngine } from '../../src/engines/wasm/engine.ts';
import { wasmModule } from '../../src/engines/wasm/module.ts';

const enc = new TextEncoder();
const HASHPOWER = 12;
const THRESHOLD = (2 ** HASHPOWER * 3) / 2; // expansion starts when items exceed this
const OLD_BUCKETS = 2 ** HASHPOWER;
const MOVED_PER_INSERT = 2;

function hashStats(e: WasmEngine): { power: number; expanding: number; items: number } {
  const stats = new Map<string, string>();
  e.getStats('', (k, v) => void stats.set(k, v));
  return {
    power: Number(stats.get('hash_power_level')),
    expanding: Number(stats.get('hash_is_expanding')),
    items: Number(stats.get('curr_items')),
  };
}

function set(e: WasmEngine, key: string): void {
  const item = e.allocate(enc.encode(key), 1, 0, 0, StoreOperation.SET);
  assert.ok(item > 0, `allocate ${key}`);
  e.itemValue(item)[0] = 0x78;
  assert.is(e.store(item, StoreOperation.SET, 0n), Status.SUCCESS);
  e.release(item);
}

function found(e: WasmEngine, key: string): boolean {
  const item = e.get(enc.encode(key));
  if (item < 0) return false;
  e.release(item);
  return true;
}

test('the table doubles past 1.5 items a bucket, a few buckets per insert, and every key stays findable', () => {
  const clock = createManualClock();
  const e = new WasmEngine(() => ({ core: clock, log: () => {} }), wasmModule);
  const config = { cache_size: '16m', hashpower: String(HASHPOWER), wasm_build: 'debug' };
  assert.is(e.initialize(new Map(Object.entries(config))), Status.SUCCESS);

  for (let i = 0; i < THRESHOLD; i++) set(e, `key:${i}`);
  assert.equal(hashStats(e), { power: HASHPOWER, expanding: 0, items: THRESHOLD });

  set(e, `key:${THRESHOLD}`);
  assert.equal(hashStats(e), { power: HASHPOWER + 1, expanding: 1, items: THRESHOLD + 1 }, 'expansion started, not finished');
  e.selfCheck();

  // Halfway: lookups and deletes see keys whether their bucket has moved or not.
  const halfway = OLD_BUCKETS / MOVED_PER_INSERT / 2;
  for (let i = 1; i < halfway; i++) set(e, `more:${i}`);
  assert.is(hashStats(e).expanding, 1, 'still expanding halfway');
  e.selfCheck();
  for (let i = 0; i <= THRESHOLD; i += 97) assert.ok(found(e, `key:${i}`), `key:${i} while expanding`);
  assert.is(e.remove(enc.encode('key:5'), 0n), Status.SUCCESS);
  assert.not.ok(found(e, 'key:5'));

  for (let i = halfway; i < OLD_BUCKETS / MOVED_PER_INSERT; i++) set(e, `more:${i}`);
  assert.is(hashStats(e).expanding, 0, 'done after oldBuckets / 2 more inserts');
  assert.is(e.selfCheck(), hashStats(e).items);
  for (let i = 0; i <= THRESHOLD; i++) assert.is(found(e, `key:${i}`), i !== 5, `key:${i} after expanding`);
});

test('the table grows in place through several doublings, and an image taken while it grows restores', () => {
  const clock = createManualClock();
  const config = new Map(Object.entries({ cache_size: '16m', hashpower: String(HASHPOWER), wasm_build: 'debug' }));
  const e = new WasmEngine(() => ({ core: clock, log: () => {} }), wasmModule);
  assert.is(e.initialize(config), Status.SUCCESS);
  // Past 1.5 items a bucket of 2^(HASHPOWER + 2), so the third doubling is under way.
  const count = (2 ** (HASHPOWER + 2) * 3) / 2 + 100;
  for (let i = 0; i < count; i++) set(e, `key:${i}`);
  assert.equal(hashStats(e), { power: HASHPOWER + 3, expanding: 1, items: count });
  assert.is(e.selfCheck(), count);

  const image = e.snapshot();
  const bytes = new Uint8Array(image.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of image) {
    bytes.set(part, at);
    at += part.length;
  }
  const copy = new WasmEngine(() => ({ core: clock, log: () => {} }), wasmModule);
  assert.is(copy.initialize(config), Status.SUCCESS);
  assert.is(copy.restore(bytes), undefined);
  for (const engine of [e, copy]) {
    assert.equal(hashStats(engine), { power: HASHPOWER + 3, expanding: 1, items: count });
    // Enough inserts to finish the doubling, then every key is still there.
    for (let i = 0; i < 2 ** (HASHPOWER + 2); i++) set(engine, `more:${i}`);
    assert.is(hashStats(engine).expanding, 0);
    assert.is(engine.selfCheck(), count + 2 ** (HASHPOWER + 2));
    for (let i = 0; i < count; i++) assert.ok(found(engine, `key:${i}`), `key:${i}`);
  }
});

test.run();
