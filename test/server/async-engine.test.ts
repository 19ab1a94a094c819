// Engines that wait on disk: prefetch (keys made resident before a command runs) and settled
// (replies held until writes are durable). A test double over the wasm engine takes its time for
// both; every session must give the same bytes as on the plain engine, the waiting connection
// must keep its order, and other connections must be served meanwhile.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EngineHandle } from '../../src/engine/types.ts';
import { MemcachedServer } from '../../src/server/server.ts';
import { connectionOver, createTestEngine, recordedConnection, serverOptions } from './serve.ts';

/** What the double does: how long prefetch and settled take, and a gate the test may hold. */
interface Slowness {
  delayMs: number;
  /** Keys whose prefetch waits for openGate() (latin1). */
  gated?: Set<string>;
  /** Every wait for durability fails (a disk that cannot write). */
  failWrites?: boolean;
}

/**
 * The wasm engine made to wait: a key is "on disk" until its first prefetch has waited, and every
 * change leaves the engine unsettled until a wait has passed.
 */
function slow(inner: EngineHandle, s: Slowness): EngineHandle & { openGate(): void; prefetches: number; settles: number } {
  const resident = new Set<string>();
  let dirty = false;
  let gate: (() => void) | undefined;
  const gateOpen = new Promise<void>((resolve) => {
    gate = resolve;
  });
  const wait = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, s.delayMs));
  const engine = Object.create(inner) as EngineHandle & { openGate(): void; prefetches: number; settles: number };
  engine.prefetches = 0;
  engine.settles = 0;
  engine.openGate = () => gate!();
  engine.prefetch = (keys) => {
    const missing = keys.map((k) => Buffer.from(k).toString('latin1')).filter((k) => !resident.has(k));
    if (missing.length === 0) return undefined;
    engine.prefetches++;
    const gated = missing.some((k) => s.gated?.has(k) === true);
    return (gated ? gateOpen : wait()).then(() => {
      for (const k of missing) resident.add(k);
    });
  };
  engine.settled = () => {
    if (!dirty) return undefined;
    dirty = false;
    engine.settles++;
    return s.failWrites === true ? wait().then(() => Promise.reject(new Error('disk full'))) : wait();
  };
  // A key not made resident is on disk: the engine cannot answer for it synchronously.
  for (const name of ['get', 'getAndTouch', 'touch', 'remove', 'arithmetic', 'allocate'] as const) {
    const original = inner[name] as (...args: unknown[]) => unknown;
    (engine as unknown as Record<string, unknown>)[name] = function (this: EngineHandle, key: Uint8Array, ...rest: unknown[]) {
      if (!resident.has(Buffer.from(key).toString('latin1'))) throw new Error(`${name} before prefetch`);
      const result = original.call(this, key, ...rest);
      if (name !== 'get' && name !== 'allocate') dirty = true;
      return result;
    };
  }
  for (const name of ['store', 'flush'] as const) {
    const original = inner[name] as (...args: unknown[]) => unknown;
    (engine as unknown as Record<string, unknown>)[name] = function (this: EngineHandle, ...args: unknown[]) {
      dirty = true;
      return original.apply(this, args);
    };
  }
  return engine;
}

const settle = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

const SESSIONS: ReadonlyArray<[string, string | Buffer]> = [
  ['text, pipelined', 'set a 1 0 3\r\nabc\r\nget a b\r\nadd a 0 0 1\r\nx\r\nappend a 0 0 2\r\nde\r\ngets a\r\nincr n 1\r\nset n 0 0 1\r\n5\r\nincr n 10\r\ndecr n 100\r\ntouch a 100\r\ndelete a\r\nget a n\r\nversion\r\n'],
  ['text, a value over the reference size', `set big 3 0 20000\r\n${'v'.repeat(20000)}\r\nget big\r\nget big big\r\n`],
  ['meta', 'ms m 2 T0 F5 c\r\nhi\r\nmg m v f t c k\r\nma c N0 J7\r\nma c D3\r\nmd m q\r\nmn\r\nmg m v\r\n'],
  ['errors and noreply', 'set e 0 0 2 noreply\r\nxy\r\nbogus\r\nget e\r\nset e 0 0 1\r\nlong\r\nget e\r\nflush_all\r\nget e\r\n'],
  [
    'binary',
    Buffer.concat([
      // SET k=v flags 0 exptime 0, then GETK k, then NOOP
      Buffer.from([0x80, 0x01, 0, 1, 8, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x6b, 0x76]),
      Buffer.from([0x80, 0x0c, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0x6b]),
      Buffer.from([0x80, 0x0a, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0]),
    ]),
  ],
];

test('every session gives the same bytes on an engine that waits as on one that does not', async () => {
  for (const [name, session] of SESSIONS) {
    const bytes = typeof session === 'string' ? Buffer.from(session, 'latin1') : session;
    const plain = await createTestEngine('wasm', {});
    const expected = connectionOver(plain.engine, plain.api);
    expected.conn.receive(bytes);
    const want = expected.reply();
    assert.ok(want.length > 0, name);

    const base = await createTestEngine('wasm', {});
    const engine = slow(base.engine, { delayMs: 2 });
    const waiting = connectionOver(engine, base.api);
    // Whole, and then a byte at a time on a fresh engine: waits land everywhere.
    waiting.conn.receive(bytes);
    await settle(300);
    assert.is(waiting.reply(), want, `${name}: whole`);
    assert.ok(engine.prefetches + engine.settles > 0, `${name}: the engine made it wait`);

    const base2 = await createTestEngine('wasm', {});
    const bytewise = connectionOver(slow(base2.engine, { delayMs: 1 }), base2.api);
    for (let i = 0; i < bytes.length; i++) bytewise.conn.receive(bytes.subarray(i, i + 1));
    await settle(600);
    assert.is(bytewise.reply(), want, `${name}: a byte at a time`);
  }
});

test('a connection waiting for the engine keeps its order; others are served meanwhile', async () => {
  const base = await createTestEngine('wasm', {});
  const engine = slow(base.engine, { delayMs: 1, gated: new Set(['cold']) });
  const server = new MemcachedServer(serverOptions(engine, base.api, {}));
  const a = recordedConnection(server.state);
  const b = recordedConnection(server.state);
  b.conn.receive(Buffer.from('set hot 0 0 1\r\nh\r\n'));
  assert.is(await b.replyOf('STORED\r\n'), 'STORED\r\n');
  a.conn.receive(Buffer.from('version\r\nget cold\r\nget hot\r\n'));
  assert.is(await a.replyOf('VERSION 1.6.18\r\n'), 'VERSION 1.6.18\r\n', 'what came before the wait is answered');
  b.conn.receive(Buffer.from('get hot\r\n'));
  assert.is(await b.replyOf('VALUE hot 0 1\r\nh\r\nEND\r\n'), 'VALUE hot 0 1\r\nh\r\nEND\r\n', 'another connection is served during the wait');
  await settle(50);
  assert.is(a.reply(), '', 'nothing after the waiting command jumps the queue');
  engine.openGate();
  assert.is(await a.replyOf('END\r\nVALUE hot 0 1\r\nh\r\nEND\r\n'), 'END\r\nVALUE hot 0 1\r\nh\r\nEND\r\n');
});

test('quit after a write that is not durable yet: the reply goes out first, then the connection closes', async () => {
  const base = await createTestEngine('wasm', {});
  const c = connectionOver(slow(base.engine, { delayMs: 20 }), base.api);
  c.conn.receive(Buffer.from('set k 0 0 1\r\nv\r\nquit\r\nget k\r\n'));
  assert.is(c.reply(), '');
  assert.not.ok(c.closed());
  await settle(200);
  assert.is(c.reply(), 'STORED\r\n');
  assert.ok(c.closed());
});

test('a write that could not be made durable is never acknowledged: the connection closes instead', async () => {
  const base = await createTestEngine('wasm', {});
  const c = connectionOver(slow(base.engine, { delayMs: 5, failWrites: true }), base.api);
  c.conn.receive(Buffer.from('version\r\nset k 0 0 1\r\nv\r\nget k\r\n'));
  await settle(100);
  // version was answered before the set's key was prefetched; nothing after the failed write is.
  assert.is(c.reply(), 'VERSION 1.6.18\r\n', 'no STORED for a write that failed, nor what came after it');
  assert.ok(c.closed());
});

test.run();
