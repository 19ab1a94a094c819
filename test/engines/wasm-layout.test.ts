// Golden tests of the WASM engine's item layout (assembly/layout.ts): where the header fields,
// CAS, key, client flags and value sit in linear memory, and the host's mirror check.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createManualClock } from '../../src/engine/clock.ts';
import { Status, StoreOperation } from '../../src/engine/status.ts';
import { createItemInfo } from '../../src/engine/types.ts';
import { WasmEngine } from '../../src/engines/wasm/engine.ts';
import { checkLayout } from '../../src/engines/wasm/layout.ts';
import { wasmModule } from '../../src/engines/wasm/module.ts';

const enc = new TextEncoder();

function engine(config: Record<string, string> = {}): WasmEngine {
  const clock = createManualClock();
  const e = new WasmEngine(() => ({ core: clock, log: () => {} }), wasmModule);
  const status = e.initialize(new Map(Object.entries({ cache_size: '2m', wasm_build: 'debug', ...config })));
  assert.is(status, Status.SUCCESS);
  return e;
}

/** Stores key=value and returns the item's bytes in linear memory from its header on. */
function storedItem(e: WasmEngine, key: string, value: string, flags: number): { at: number; memory: Uint8Array } {
  const item = e.allocate(enc.encode(key), value.length, flags, 0, StoreOperation.SET);
  assert.ok(item > 0);
  e.itemValue(item).set(enc.encode(value));
  assert.is(e.store(item, StoreOperation.SET, 0n), Status.SUCCESS);
  const info = createItemInfo();
  e.getItemInfo(item, info);
  e.release(item);
  const memory = info.keyBytes;
  return { at: item * 8, memory };
}

test('header, CAS, key, flags and value sit where the diagram says (use_cas on, flags set)', () => {
  const e = engine();
  const { at, memory } = storedItem(e, 'abc', 'hello', 7);
  const view = new DataView(memory.buffer);
  assert.is(view.getUint32(at + 20, true), 7, 'nbytes = value + CRLF');
  assert.is(memory[at + 34], 3, 'nkey');
  assert.is(memory[at + 32], 1, 'clsid: ntotal 48+8+4+4+7 = 71 fits class 1 (96)');
  assert.is(view.getUint32(at + 40, true), 48 + 8 + 3 + 1 + 4 + 7, 'ntotal, memcached ITEM_ntotal');
  assert.is(view.getBigUint64(at + 48, true), 1n, 'cas at 48');
  assert.equal([...memory.subarray(at + 56, at + 60)], [0x61, 0x62, 0x63, 0], 'key and its NUL at 56');
  assert.is(view.getUint32(at + 60, true), 7, 'client flags after the key');
  assert.is(new TextDecoder().decode(memory.subarray(at + 64, at + 71)), 'hello\r\n', 'value and CRLF');
});

test('without CAS and with zero flags the key follows the header and the value the key', () => {
  const e = engine({ use_cas: 'false' });
  const { at, memory } = storedItem(e, 'k', 'v', 0);
  assert.is(memory[at + 48], 0x6b);
  assert.is(memory[at + 49], 0);
  assert.is(new TextDecoder().decode(memory.subarray(at + 50, at + 53)), 'v\r\n');
  assert.is(new DataView(memory.buffer).getUint32(at + 40, true), 48 + 1 + 1 + 3);
});

test('the host refuses a module whose layout differs from its mirror', () => {
  assert.throws(() => checkLayout({ IT_TIME: new WebAssembly.Global({ value: 'i32' }, 99) }), /layout mismatch: IT_TIME/);
});

test('items are handed out as offset / 8 and stay 8-byte aligned', () => {
  const e = engine({ cache_size: '16m' });
  for (let i = 0; i < 100; i++) {
    const { at } = storedItem(e, `key${i}`, 'x'.repeat(i * 7), i);
    assert.is(at % 8, 0);
  }
  assert.is(e.selfCheck(), 100);
});

test.run();
