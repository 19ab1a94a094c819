// Smoke test of the `ts` engine on its own: a few exact behaviours of docs/engine-model.md.
// The full contract, run against every engine, lives in test/engine/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createManualClock } from '../../src/engine/clock.ts';
import { Status, StoreOperation } from '../../src/engine/status.ts';
import {
  ENGINE_INTERFACE_VERSION,
  createArithmeticRequest,
  createArithmeticResult,
  createItemInfo,
  itemInfoValue,
  type EngineHandle,
  type LogLevel,
} from '../../src/engine/types.ts';
import { createInstance } from '../../src/engines/ts/index.ts';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

interface Opened {
  engine: EngineHandle;
  logs: Array<{ level: LogLevel; message: string }>;
  status: Status;
}

function open(config: Record<string, string> = {}): Opened {
  const logs: Opened['logs'] = [];
  const clock = createManualClock();
  const created = createInstance(ENGINE_INTERFACE_VERSION, () => ({
    core: clock,
    log: (level, message) => void logs.push({ level, message }),
  }));
  if (typeof created === 'number') throw new Error(`createInstance = ${created}`);
  const status = created.initialize(new Map(Object.entries(config))) as Status;
  return { engine: created, logs, status };
}

function store(engine: EngineHandle, key: string, value: string, op: StoreOperation = StoreOperation.SET): Status {
  const item = engine.allocate(bytes(key), value.length, 0, 0, op) as number;
  if (item < 0) return -item as Status;
  engine.itemValue(item).set(bytes(value));
  const status = engine.store(item, op, 0n) as Status;
  engine.release(item);
  return status;
}

function get(engine: EngineHandle, key: string): string | undefined {
  const item = engine.get(bytes(key)) as number;
  if (item === -Status.KEY_ENOENT) return undefined;
  const info = createItemInfo();
  engine.getItemInfo(item, info);
  const value = text(itemInfoValue(info));
  engine.release(item);
  return value;
}

test('createInstance refuses other interface versions', () => {
  const created = createInstance(ENGINE_INTERFACE_VERSION + 1, () => {
    throw new Error('not called');
  });
  assert.is(created, Status.ENOTSUP);
});

test('initialize rejects an unknown key with EINVAL and a warning', () => {
  const { status, logs } = open({ no_such_key: '1' });
  assert.is(status, Status.EINVAL);
  assert.equal(
    logs.filter((line) => line.level === 'warning').map((line) => line.message),
    ["unknown engine config key 'no_such_key'"],
  );
});

test('initialize logs the slab classes as memcached -vv does', () => {
  const { status, logs } = open();
  assert.is(status, Status.SUCCESS);
  const lines = logs.filter((line) => line.level === 'info').map((line) => line.message);
  assert.is(lines.length, 39);
  assert.is(lines[0], 'slab class   1: chunk size        96 perslab   10922');
  assert.is(lines[1], 'slab class   2: chunk size       120 perslab    8738');
  assert.is(lines[38], 'slab class  39: chunk size    524288 perslab       2');
});

test('set then get returns the value; add on a live key is NOT_STORED', () => {
  const { engine } = open();
  assert.is(store(engine, 'k', 'hello'), Status.SUCCESS);
  assert.is(get(engine, 'k'), 'hello');
  assert.is(store(engine, 'k', 'other', StoreOperation.ADD), Status.NOT_STORED);
  assert.is(get(engine, 'k'), 'hello');
  assert.is(get(engine, 'missing'), undefined);
});

test('decr keeps the value length: "10" decr 1 is "9 "', () => {
  const { engine } = open();
  assert.is(store(engine, 'n', '10'), Status.SUCCESS);
  const request = createArithmeticRequest();
  request.incr = false;
  request.delta = 1n;
  const result = createArithmeticResult();
  assert.is(engine.arithmetic(bytes('n'), request, result), Status.SUCCESS);
  assert.is(result.value, 9n);
  assert.is(get(engine, 'n'), '9 ');
});

test('incr of a value that is not a number is EINVAL; a missing key is KEY_ENOENT', () => {
  const { engine } = open();
  store(engine, 'word', 'abc');
  const request = createArithmeticRequest();
  const result = createArithmeticResult();
  assert.is(engine.arithmetic(bytes('word'), request, result), Status.EINVAL);
  assert.is(engine.arithmetic(bytes('nothing'), request, result), Status.KEY_ENOENT);
});

test('incr wraps at 2^64 in place; with the item held it makes a new item instead', () => {
  const { engine } = open();
  store(engine, 'max', '18446744073709551615');
  const request = createArithmeticRequest();
  const result = createArithmeticResult();
  assert.is(engine.arithmetic(bytes('max'), request, result), Status.SUCCESS);
  assert.is(result.value, 0n);
  assert.is(get(engine, 'max'), '0' + ' '.repeat(19));

  store(engine, 'n', '5');
  const held = engine.get(bytes('n')) as number;
  assert.is(engine.arithmetic(bytes('n'), request, result), Status.SUCCESS);
  const info = createItemInfo();
  engine.getItemInfo(held, info);
  assert.is(text(itemInfoValue(info)), '5');
  engine.release(held);
  assert.is(get(engine, 'n'), '6');
});

test('arithmetic parses as strtoull: "-0" is 0, "-1" and "1a" are not numbers', () => {
  const { engine } = open();
  const request = createArithmeticRequest();
  const result = createArithmeticResult();
  store(engine, 'a', '-0');
  assert.is(engine.arithmetic(bytes('a'), request, result), Status.SUCCESS);
  assert.is(result.value, 1n);
  store(engine, 'b', '-1');
  assert.is(engine.arithmetic(bytes('b'), request, result), Status.EINVAL);
  store(engine, 'c', '1a');
  assert.is(engine.arithmetic(bytes('c'), request, result), Status.EINVAL);
});

test('stats slabs reports the one page class 1 took', () => {
  const { engine } = open();
  store(engine, 'a', 'hi');
  const stats = new Map<string, string>();
  assert.is(engine.getStats('slabs', (key, value) => void stats.set(key, value)), Status.SUCCESS);
  assert.is(stats.get('1:chunk_size'), '96');
  assert.is(stats.get('1:used_chunks'), '1');
  assert.is(stats.get('1:free_chunks'), '10921');
  assert.is(stats.get('active_slabs'), '1');
  assert.is(stats.get('total_malloced'), '1048576');
  assert.is(engine.getStats('nonsense', () => undefined), Status.ENOTSUP);
});

test.run();
