// memjs (npm), a client of memcached's binary protocol with SASL PLAIN, used as an application
// uses it: storage, arithmetic, touch, flush, stats, binary values, many keys in flight, expiry,
// and authentication. BINARY_WIRE_TARGET picks the server (wire-target.ts): both in-process
// engines by default, or the real memcached to check the expectations themselves.
import { Client, Utils } from 'memjs';
import type { Response } from 'memjs';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { saslAvailable, targetsFromEnv, withTarget } from './wire-target.ts';
import type { Target, TargetName, TargetSetup } from './wire-target.ts';

const VERSION = '1.6.18';
const OPCODE_VERSION = 0x0b;
const SILENT = { log: (): void => {} };
const USERS = { alice: 'secret', bob: 'hunter2' };

interface Credentials {
  username?: string;
  password?: string;
}

/** A memjs client of `t`: one try per request (a retry would hide a failure), no logging. */
function memjsClient(t: Target, credentials: Credentials = {}, servers = `127.0.0.1:${t.port}`): Client {
  return Client.create(servers, { retries: 1, timeout: 2, logger: SILENT, ...credentials });
}

/** memjs has no VERSION call: one made of its request builder and perform(). */
function version(c: Client): Promise<string> {
  return new Promise((resolve, reject) => {
    c.incrSeq();
    const request = Utils.makeRequestBuffer(OPCODE_VERSION, '', '', '', c.seq);
    c.perform('', request, c.seq, (error: Error | null, response?: Response) => {
      if (error !== null || response === undefined) reject(error ?? new Error('no response'));
      else resolve(response.val.toString('latin1'));
    });
  });
}

function stats(c: Client, key = ''): Promise<Record<string, string>> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, _server: string, result: Record<string, string> | null): void => {
      if (error !== null || result === null) reject(error ?? new Error('no stats'));
      else resolve(result);
    };
    if (key === '') c.stats(done);
    else c.statsWithKey(key, done);
  });
}

/** Why `promise` was rejected; fails the test if it was not. */
async function rejection(promise: Promise<unknown>): Promise<string> {
  const reason = await promise.then(
    () => undefined,
    (error: unknown) => (error instanceof Error ? error.message : String(error)),
  );
  if (reason === undefined) assert.unreachable('expected a rejection');
  return reason ?? '';
}

function text(value: Buffer | null): string | null {
  return value === null ? null : value.toString('latin1');
}

type Body = (t: Target, open: (credentials?: Credentials, servers?: string) => Client) => Promise<void>;

function memjsSuite(target: TargetName): void {
  const memjs = suite(`memjs (${target})`);

  /** A test against a fresh server set up as `setup`; its memjs clients are closed after it. */
  const test = (name: string, body: Body, setup: TargetSetup = {}): void => {
    memjs(name, () =>
      withTarget(target, setup, async (t) => {
        const clients: Client[] = [];
        try {
          await body(t, (credentials, servers) => {
            const c = memjsClient(t, credentials, servers);
            clients.push(c);
            return c;
          });
        } finally {
          for (const c of clients) c.close();
        }
      }),
    );
  };

  test('set, get, add, replace, delete', async (_t, open) => {
    const c = open();
    assert.is(await c.set('a', 'hello'), true);
    const hit = await c.get('a');
    assert.is(text(hit.value), 'hello');
    assert.equal(hit.flags, Buffer.alloc(4), 'flags: 4 bytes, 0');
    assert.equal(await c.get('nope'), { value: null, flags: null });
    assert.is(await c.add('a', 'x'), false);
    assert.is(await c.add('b', 'x'), true);
    assert.is(await c.replace('nope', 'x'), false);
    assert.is(await c.replace('a', 'world'), true);
    assert.is(text((await c.get('a')).value), 'world');
    assert.is(await c.delete('a'), true);
    assert.is(await c.delete('a'), false);
    assert.is((await c.get('a')).value, null);
    assert.is(text((await c.get('b')).value), 'x');
  });

  test('values with every byte value, empty and large values, UTF-8 keys', async (_t, open) => {
    const c = open();
    const every = Buffer.from(Array.from({ length: 1024 }, (_, i) => i % 256));
    assert.is(await c.set('bytes', every), true);
    assert.equal((await c.get('bytes')).value, every);
    assert.is(await c.set('empty', ''), true);
    assert.equal((await c.get('empty')).value, Buffer.alloc(0));
    const large = Buffer.from(Array.from({ length: 600_000 }, (_, i) => (i * 7919) % 251));
    assert.is(await c.set('large', large), true);
    assert.equal((await c.get('large')).value, large);
    const key = 'ключ:🙂';
    assert.is(await c.set(key, 'unicode key'), true);
    assert.is(text((await c.get(key)).value), 'unicode key');
    assert.match(await rejection(c.set('too-large', Buffer.alloc(2 * 1024 * 1024))), 'Value too large');
  });

  test('increment and decrement: initial values, in-place results, a non-numeric value', async (_t, open) => {
    const c = open();
    assert.equal(await c.increment('n', 5, { initial: 10 }), { success: true, value: 10 });
    assert.equal(await c.increment('n', 5), { success: true, value: 15 });
    // (memjs 1.3.2's decrement needs its options argument.)
    assert.equal(await c.decrement('n', 20, {}), { success: true, value: 0 });
    // Shorter results are written over the old digits and padded, as memcached does.
    assert.is(text((await c.get('n')).value), '0 ');
    assert.equal(await c.decrement('m', 1, { initial: 3 }), { success: true, value: 3 });
    assert.equal(await c.increment('m', 1000), { success: true, value: 1003 });
    assert.is(await c.set('t', 'abc'), true);
    assert.match(await rejection(c.increment('t', 1)), 'Incr/Decr on non-numeric value');
  });

  // memjs 1.3.2's prepend sends APPEND's opcode, so prepend is left to binary-wire.test.ts.
  test('append; a missing key is refused', async (_t, open) => {
    const c = open();
    assert.is(await c.set('a', 'mid'), true);
    assert.is(await c.append('a', '>>'), true);
    assert.is(await c.append('a', '!'), true);
    assert.is(text((await c.get('a')).value), 'mid>>!');
    assert.match(await rejection(c.append('nope', 'x')), 'Item not stored');
  });

  test('touch, and expiry by the clock', async (t, open) => {
    const c = open();
    assert.is(await c.touch('nope', 10), false);
    assert.is(await c.set('a', 'x', { expires: 5 }), true);
    assert.is(await c.set('b', 'y', { expires: 5 }), true);
    assert.is(await c.touch('a', 100), true);
    if (t.clock === undefined) return;
    t.clock.advance(6);
    assert.is(text((await c.get('a')).value), 'x');
    assert.is((await c.get('b')).value, null);
    assert.equal(await c.increment('counter', 1, { initial: 1, expires: 10 }), { success: true, value: 1 });
    t.clock.advance(11);
    assert.is((await c.get('counter')).value, null);
  });

  test('flush empties the cache', async (t, open) => {
    const c = open();
    for (const key of ['a', 'b', 'c']) assert.is(await c.set(key, key), true);
    assert.equal(await c.flush(), { [`127.0.0.1:${t.port}`]: true });
    for (const key of ['a', 'b', 'c']) assert.is((await c.get(key)).value, null);
    assert.is(await c.add('a', 'again'), true);
  });

  test('stats, stats groups and the version', async (t, open) => {
    const c = open();
    assert.is(await c.set('a', '1'), true);
    assert.is(await c.set('b', '2'), true);
    await c.get('a');
    await c.get('nope');
    const all = await stats(c);
    assert.is(all.version, VERSION);
    assert.is(all.curr_items, '2');
    assert.is(all.get_hits, '1');
    assert.is(all.get_misses, '1');
    if (t.name !== 'memcached') assert.is(all.pid, String(process.pid));
    const items = await stats(c, 'items');
    assert.is(items['items:1:number'], '2');
    // (The in-process server's settings come from the CLI, which these tests do not run.)
    const settings = await stats(c, 'settings');
    if (t.name === 'memcached') assert.is(settings.maxbytes, String(64 * 1024 * 1024));
    assert.is(await version(c), VERSION);
  });

  test('many keys: 2000 requests in flight on one connection', async (_t, open) => {
    const c = open();
    const keys = Array.from({ length: 1000 }, (_, i) => `key:${i}`);
    const stored = await Promise.all(keys.map((k, i) => c.set(k, `value ${i} ${'x'.repeat(i % 300)}`)));
    assert.ok(stored.every((s) => s));
    const values = await Promise.all(keys.map((k) => c.get(k)));
    values.forEach((v, i) => assert.is(text(v.value), `value ${i} ${'x'.repeat(i % 300)}`, keys[i]));
    const sums = await Promise.all(keys.slice(0, 100).map((k) => c.increment(`n:${k}`, 2, { initial: 40 })));
    assert.ok(sums.every((s) => s.success && s.value === 40));
  });

  const sasl = (name: string, body: Body): void => {
    if (saslAvailable(target)) test(name, body, { sasl: USERS });
    else memjs.skip(`${name} (no saslpasswd2 to set up memcached's SASL)`, () => {});
  };

  sasl('sasl: the right username and password (options or address) authenticate', async (t, open) => {
    const alice = open({ username: 'alice', password: 'secret' });
    assert.is(await alice.set('a', 'from alice'), true);
    assert.is(text((await alice.get('a')).value), 'from alice');
    const bob = open({}, `bob:hunter2@127.0.0.1:${t.port}`);
    assert.is(text((await bob.get('a')).value), 'from alice');
    assert.equal(await bob.increment('n', 1, { initial: 7 }), { success: true, value: 7 });
    assert.is(await version(bob), VERSION);
  });

  sasl('sasl: a wrong password, an unknown user or no credentials fail', async (_t, open) => {
    for (const credentials of [{ username: 'alice', password: 'wrong' }, { username: 'bob', password: 'secret' }, { username: 'mallory', password: 'secret' }]) {
      const c = open(credentials);
      assert.match(await rejection(c.get('a')), 'authentication failed', credentials.username);
      assert.match(await rejection(c.set('a', 'x')), 'authentication failed', credentials.username);
    }
    const anonymous = open();
    assert.match(await rejection(anonymous.get('a')), 'authentication failed');
    // Nothing got in: alice sees no 'a'.
    const alice = open({ username: 'alice', password: 'secret' });
    assert.is((await alice.get('a')).value, null);
  });

  memjs.run();
}

for (const target of targetsFromEnv()) memjsSuite(target);
