// The connection state machine without sockets: a session fed whole, one byte at a time, and split
// at every boundary gives the same replies (commands and values cut anywhere, CRLF split).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { EngineHandle } from '../../src/engine/types.ts';
import { Connection, Sent } from '../../src/server/connection.ts';
import type { Transport } from '../../src/server/connection.ts';
import type { ServerState } from '../../src/server/context.ts';
import { fakeConnection, recordedConnection } from './serve.ts';

const session = (reqsPerEvent = 1000) => fakeConnection({ reqsPerEvent }, { cache_size: '2m' });

const SCRIPT =
  'set k 1 0 5\r\nhello\r\n' +
  'get k nope k\r\n' +
  'append k 0 0 3 noreply\r\n!!!\r\n' +
  'gets k\r\n' +
  'incr n 1\r\nset n 0 0 2\r\n10\r\nincr n 5\r\ndecr n 100\r\n' +
  'set bad 0 0 2\r\nabcd\r\n' +
  'bogus\r\n' +
  'delete k\r\ndelete k\r\n' +
  'touch n 100\r\n' +
  'set big 0 0 2000000\r\n' + 'x'.repeat(2000002) +
  'get n\r\n';

const EXPECTED =
  'STORED\r\n' +
  'VALUE k 1 5\r\nhello\r\nVALUE k 1 5\r\nhello\r\nEND\r\n' +
  'VALUE k 1 8 2\r\nhello!!!\r\nEND\r\n' +
  'NOT_FOUND\r\nSTORED\r\n15\r\n0\r\n' +
  'CLIENT_ERROR bad data chunk\r\nERROR\r\n' +
  'ERROR\r\n' +
  'DELETED\r\nNOT_FOUND\r\n' +
  'TOUCHED\r\n' +
  'SERVER_ERROR object too large for cache\r\n' +
  'VALUE n 0 2\r\n0 \r\nEND\r\n';

test('a session fed whole', async () => {
  const s = await session();
  s.conn.receive(Buffer.from(SCRIPT, 'latin1'));
  assert.is(s.reply(), EXPECTED);
});

test('a session fed one byte at a time (values and CRLF split everywhere)', async () => {
  const s = await session();
  const bytes = Buffer.from(SCRIPT, 'latin1');
  // The 2 MB swallowed value goes in one piece; every other byte alone.
  const bigStart = SCRIPT.indexOf('x'.repeat(10));
  for (let i = 0; i < bytes.length; ) {
    if (i === bigStart) {
      s.conn.receive(bytes.subarray(i, i + 2000002));
      i += 2000002;
    } else {
      s.conn.receive(bytes.subarray(i, i + 1));
      i++;
    }
  }
  assert.is(s.reply(), EXPECTED);
});

test('a session split in two at every boundary of its first 300 bytes', async () => {
  const bytes = Buffer.from(SCRIPT, 'latin1');
  for (let cut = 1; cut < 300; cut++) {
    const s = await session();
    s.conn.receive(bytes.subarray(0, cut));
    s.conn.receive(bytes.subarray(cut));
    assert.is(s.reply(), EXPECTED, `cut at ${cut}`);
  }
});

// memcached runs -R + 1 commands of a read before it yields (its nreqs is spent after each), and
// the event that resumes spends one first (differential-text's -R session checks the counts).
test('-R: a connection yields after reqs_per_event + 1 commands and finishes the batch later', async () => {
  const s = await session(2);
  s.conn.receive(Buffer.from('version\r\n'.repeat(5), 'latin1'));
  assert.is(s.reply(), 'VERSION 1.6.18\r\n'.repeat(3));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(s.reply(), 'VERSION 1.6.18\r\n'.repeat(2));
});

test('a line of 2049 bytes without a newline closes the connection; a long get line does not', async () => {
  const s = await session();
  s.conn.receive(Buffer.from('x'.repeat(2049), 'latin1'));
  assert.ok(s.closed());
  const g = await session();
  g.conn.receive(Buffer.from(`get ${'k '.repeat(2000)}`, 'latin1'));
  assert.not.ok(g.closed());
  g.conn.receive(Buffer.from('\r\n', 'latin1'));
  assert.is(g.reply(), 'END\r\n');
});

test('a long get line arriving a byte per read is held in about its own size', async () => {
  const g = await session();
  const line = Buffer.from(`get ${Array.from({ length: 45_000 }, (_, i) => `key:${String(i).padStart(15, '0')}`).join(' ')}`, 'latin1');
  // One reused byte per read, so that the feeding makes no garbage of its own.
  const one = new Uint8Array(1);
  const before = process.memoryUsage();
  for (let i = 0; i < line.length; i++) {
    one[0] = line[i]!;
    g.conn.receive(one, 1);
  }
  const after = process.memoryUsage();
  const held = after.heapUsed - before.heapUsed + (after.arrayBuffers - before.arrayBuffers);
  // 900 KB of line: a view per read held 190 MB; one buffer grown by doubling holds at most 2 MB.
  assert.ok(held < 32 * 1024 * 1024, `${(held / 1024 / 1024).toFixed(1)} MB held for a ${line.length}-byte line`);
  assert.is(g.conn.bufferedBytes(), line.length);
  assert.not.ok(g.closed());
  g.conn.receive(Buffer.from('\r\n', 'latin1'));
  assert.is(g.reply(), 'END\r\n');
  assert.is(g.conn.bufferedBytes(), 0);
});

test('past 1 MB of reply a get line sends even short values by reference, and gives every item back', async () => {
  const { state } = await session();
  const g = recordedConnection(state, 1000, true);
  const value = 'v'.repeat(4000);
  g.conn.receive(Buffer.from(`set a 0 0 ${value.length}\r\n${value}\r\n`, 'latin1'));
  assert.is(g.reply(), 'STORED\r\n');
  g.sends.length = 0;
  g.conn.receive(Buffer.from(`get ${'a '.repeat(600)}\r\n`, 'latin1'));
  assert.ok(g.reply() === `VALUE a 0 ${value.length}\r\n${value}\r\n`.repeat(600) + 'END\r\n', '600 values');
  // Copied, 600 values fill 38 chunks, a part each; the ones past 1 MB go as parts of their own.
  assert.is(g.sends.length, 1, 'one send');
  assert.ok(g.sends[0]! > 300, `${g.sends[0]} parts`);
  // Written, every reference is given back: deleted, the item's chunk is free.
  g.conn.receive(Buffer.from('delete a\r\nstats slabs\r\n', 'latin1'));
  const stats = g.reply();
  assert.ok(stats.startsWith('DELETED\r\n'), stats.slice(0, 40));
  assert.match(stats, /:used_chunks 0\r\n/);
  assert.not.match(stats, /:used_chunks [1-9]/);
});

/** The bytes an engine's getMany answers in (its text answers among them). */
function engineBytes(engine: EngineHandle): ArrayBufferLike {
  return engine.getMany!([], 0, 0, 0).bytes.buffer;
}

/**
 * A transport that keeps what it is sent by reference, as a queued socket write does, and reads
 * it only when told the write is done; `queue` decides, send by send, whether it is queued.
 */
function queueingConnection(state: ServerState, queue: () => boolean) {
  const queued: Uint8Array[][] = [];
  const waiting: Array<() => void> = [];
  const transport: Transport = {
    send: (parts) => {
      queued.push([...parts]);
      return queue() ? Sent.QUEUED : Sent.COPIED;
    },
    pauseReading: () => {},
    resumeReading: () => {},
    close: () => {},
    afterWrite: (done) => {
      waiting.push(done);
    },
  };
  return {
    conn: new Connection(state, transport, 20),
    /** The parts of every send so far, read now. */
    sentNow: (): string => queued.map((parts) => parts.map((p) => Buffer.from(p).toString('latin1')).join('')).join(''),
    sends: queued,
    /** The queued writes are done. */
    written: (): void => {
      for (const done of waiting.splice(0)) done();
    },
  };
}

test('a get whose reply is the engine text alone is sent from there; what follows in the same read leaves it whole', async () => {
  const { state, engine } = await session();
  const g = recordedConnection(state, 1000, true);
  g.conn.receive(Buffer.from('set a 3 0 1\r\nx\r\nset b 0 0 2\r\nyy\r\n', 'latin1'));
  assert.is(g.reply(), 'STORED\r\nSTORED\r\n');
  // Alone in its read, a get's reply is one part in the engine's memory (borrowed, not copied).
  const watched = queueingConnection(state, () => false);
  watched.conn.receive(Buffer.from('get a\r\n', 'latin1'));
  assert.is(watched.sends.length, 1);
  assert.is(watched.sends[0]!.length, 1);
  assert.ok(watched.sends[0]![0]!.buffer === engineBytes(engine), 'sent from the engine text');
  assert.is(watched.sentNow(), 'VALUE a 3 1\r\nx\r\nEND\r\n');
  // In one read, after a borrowed reply: gets the engine answers in the same place, a store, a
  // meta get, a miss, gets with CAS. Each reply as if sent on its own.
  g.conn.receive(Buffer.from('get a\r\nversion\r\nget b\r\nset c 0 0 1\r\nz\r\nget c\r\nmg a v\r\nget nope\r\nget a\r\n', 'latin1'));
  const reply = g.reply();
  assert.is(reply.replace(/^VERSION .*\r\n/m, 'VERSION\r\n'), 'VALUE a 3 1\r\nx\r\nEND\r\nVERSION\r\nVALUE b 0 2\r\nyy\r\nEND\r\nSTORED\r\nVALUE c 0 1\r\nz\r\nEND\r\nVA 1\r\nx\r\nEND\r\nVALUE a 3 1\r\nx\r\nEND\r\n');
  // Nothing written between a borrowed reply and the next engine text.
  g.conn.receive(Buffer.from('get a\r\ndelete nope noreply\r\nget b\r\n', 'latin1'));
  assert.is(g.reply(), 'VALUE a 3 1\r\nx\r\nEND\r\nVALUE b 0 2\r\nyy\r\nEND\r\n');
  g.conn.receive(Buffer.from('gets b\r\nget b a\r\n', 'latin1'));
  assert.match(g.reply(), /^VALUE b 0 2 \d+\r\nyy\r\nEND\r\nVALUE b 0 2\r\nyy\r\nVALUE a 3 1\r\nx\r\nEND\r\n$/);
});

test('a borrowed reply whose write is queued keeps the engine from writing text answers until it is written', async () => {
  const { state, engine } = await session();
  const g = recordedConnection(state, 1000, true);
  g.conn.receive(Buffer.from('set a 0 0 1\r\nx\r\nset b 0 0 2\r\nyy\r\n', 'latin1'));
  assert.is(g.reply(), 'STORED\r\nSTORED\r\n');
  let queue = true;
  const slow = queueingConnection(state, () => queue);
  slow.conn.receive(Buffer.from('get a\r\n', 'latin1'));
  assert.ok(slow.sends[0]![0]!.buffer === engineBytes(engine), 'borrowed');
  queue = false;
  // Others' gets meanwhile: answered without text answers (copied into the reply buffer).
  const other = queueingConnection(state, () => false);
  other.conn.receive(Buffer.from('get b\r\n', 'latin1'));
  other.conn.receive(Buffer.from('get nope\r\n', 'latin1'));
  other.conn.receive(Buffer.from('get b\r\nget a\r\nget b\r\n', 'latin1'));
  assert.ok(other.sends.every((parts) => parts.every((p) => p.buffer !== engineBytes(engine))), 'nothing borrowed');
  assert.is(other.sentNow(), 'VALUE b 0 2\r\nyy\r\nEND\r\nEND\r\nVALUE b 0 2\r\nyy\r\nEND\r\nVALUE a 0 1\r\nx\r\nEND\r\nVALUE b 0 2\r\nyy\r\nEND\r\n');
  assert.is(slow.sentNow(), 'VALUE a 0 1\r\nx\r\nEND\r\n', 'the queued write still holds its reply');
  // Written: text answers (and borrowing) again.
  slow.written();
  other.conn.receive(Buffer.from('get b\r\n', 'latin1'));
  const last = other.sends[other.sends.length - 1]!;
  assert.ok(last[0]!.buffer === engineBytes(engine), 'borrowed again');
  assert.is(Buffer.from(last[0]!).toString('latin1'), 'VALUE b 0 2\r\nyy\r\nEND\r\n');
});

test('quit closes after the replies before it', async () => {
  const s = await session();
  s.conn.receive(Buffer.from('version\r\nquit\r\nversion\r\n', 'latin1'));
  assert.is(s.reply(), 'VERSION 1.6.18\r\n');
  assert.ok(s.closed());
});

test('a get of more than 23 keys reads the rest of its line as memcached does: nothing after a NUL', async () => {
  // memcached re-tokenizes the rest of a long get line within the C string, which ends at a NUL.
  const s = await session();
  const keys = Array.from({ length: 30 }, (_, i) => `k${i}`).join(' ');
  s.conn.receive(Buffer.from(`set kx 0 0 1\r\nx\r\nget ${keys}\0 kx\r\nget ${keys} kx\r\n`, 'latin1'));
  assert.is(s.reply(), 'STORED\r\nEND\r\nVALUE kx 0 1\r\nx\r\nEND\r\n');
});

// Pipelined single-key gets, answered together (one getMany) when they arrive in one read, among
// lines that look like them and are not: two keys, a double space, a key over 250 bytes, a bare LF,
// gets, a NUL, a line cut by the end of the read.
const GETS_SETUP = 'set a 0 0 1\r\nx\r\nset b 5 0 3\r\nyyy\r\n' + `set big 0 0 20000\r\n${'z'.repeat(20000)}\r\n`;
const GETS_SCRIPT =
  'get a\r\nget nope\r\nget b\r\nget big\r\nget a b\r\nget a\r\nget  a\r\nget a\r\nget b\nget a\r\n' +
  `get ${'k'.repeat(251)}\r\nget b\r\ngets a\r\nget a\r\nget a\0b\r\nget b\r\nget a\r\n`;
const A = 'VALUE a 0 1\r\nx\r\nEND\r\n';
const B = 'VALUE b 5 3\r\nyyy\r\nEND\r\n';
const GETS_EXPECTED =
  A + 'END\r\n' + B + `VALUE big 0 20000\r\n${'z'.repeat(20000)}\r\nEND\r\n` + 'VALUE a 0 1\r\nx\r\nVALUE b 5 3\r\nyyy\r\nEND\r\n' +
  A + A + A + B + A + 'CLIENT_ERROR bad command line format\r\n' + B + 'VALUE a 0 1 <cas>\r\nx\r\nEND\r\n' + A + A + B + A;

/** Counts the engine's getMany calls from now on. */
function countGetMany(engine: EngineHandle): () => number {
  const getMany = engine.getMany!.bind(engine);
  let n = 0;
  engine.getMany = (...args) => {
    n++;
    return getMany(...args);
  };
  return () => n;
}

/** The get counters of a session's `stats`. */
function getCounters(reply: string): string {
  return reply
    .split('\r\n')
    .filter((line) => /^STAT (cmd_get|get_hits|get_misses|get_expired|get_flushed) /.test(line))
    .join('\n');
}

test('pipelined gets in one read are answered as one at a time: the same replies and counters', async () => {
  const whole = await session();
  whole.conn.receive(Buffer.from(GETS_SETUP, 'latin1'));
  whole.reply();
  const calls = countGetMany(whole.engine);
  whole.conn.receive(Buffer.from(GETS_SCRIPT, 'latin1'));
  const together = whole.reply();
  whole.conn.receive(Buffer.from('stats\r\n', 'latin1'));
  const togetherCounters = getCounters(whole.reply());

  const bytewise = await session();
  bytewise.conn.receive(Buffer.from(GETS_SETUP, 'latin1'));
  bytewise.reply();
  const bytes = Buffer.from(GETS_SCRIPT, 'latin1');
  const callsAlone = countGetMany(bytewise.engine);
  for (let i = 0; i < bytes.length; i++) bytewise.conn.receive(bytes.subarray(i, i + 1));
  const alone = bytewise.reply();
  bytewise.conn.receive(Buffer.from('stats\r\n', 'latin1'));

  const casOf = (reply: string): string => /VALUE a 0 1 (\d+)\r\n/.exec(reply)?.[1] ?? 'none';
  assert.is(together, GETS_EXPECTED.replace('<cas>', casOf(together)));
  assert.is(alone, together);
  assert.is(getCounters(bytewise.reply()), togetherCounters);
  // Whole: the runs of 4, 3 and 2 plain gets took one engine call each; a byte at a time, every
  // get line (16 of the 17: the long key fails before the engine) took its own.
  assert.is(calls(), 10);
  assert.is(callsAlone(), 16);
  assert.is(togetherCounters, 'STAT cmd_get 17\nSTAT get_hits 16\nSTAT get_misses 1\nSTAT get_expired 0\nSTAT get_flushed 0');
});

test('pipelined gets and -R: a connection yields after reqs_per_event + 1 gets and answers the rest later', async () => {
  const s = await session(3);
  s.conn.receive(Buffer.from('set a 0 0 1\r\nx\r\n', 'latin1'));
  s.reply();
  s.conn.receive(Buffer.from('get a\r\n'.repeat(7) + 'version\r\n', 'latin1'));
  assert.is(s.reply(), A.repeat(4));
  for (let i = 0; i < 4; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.is(s.reply(), A.repeat(3) + 'VERSION 1.6.18\r\n');
  s.conn.receive(Buffer.from('stats\r\n', 'latin1'));
  assert.match(s.reply(), /STAT conn_yields 2\r\n/);
});

/**
 * Feeds `bytes` in pieces through one read buffer that is scribbled over after every read, as the
 * stream-handle transport reuses its buffer: a connection that kept a view of its input (a partial
 * line, a key waiting for its value, input held back by -R) would answer differently.
 */
function feedReused(conn: { receive(chunk: Uint8Array): void }, bytes: Uint8Array, cuts: number[]): void {
  const shared = new Uint8Array(bytes.length);
  let at = 0;
  for (const cut of [...cuts, bytes.length]) {
    shared.set(bytes.subarray(at, cut));
    conn.receive(shared.subarray(0, cut - at));
    shared.fill(0x7e);
    at = cut;
  }
}

// Meta requests whose reply has the key after the value has arrived (as memcached 1.6.18 gives it).
const META_SCRIPT = 'ms mk 5 k O77 T0\r\nhello\r\nmg mk v k\r\n';
const META_EXPECTED = 'HD kmk O77\r\nVA 5 kmk\r\nhello\r\n';

test('input is never kept by reference: a reused read buffer, cut at every boundary', async () => {
  const bytes = Buffer.from(SCRIPT.slice(0, SCRIPT.indexOf('set big')) + META_SCRIPT, 'latin1');
  const expected = EXPECTED.slice(0, EXPECTED.indexOf('SERVER_ERROR object too large')) + META_EXPECTED;
  for (let cut = 1; cut < bytes.length; cut++) {
    const s = await session();
    feedReused(s.conn, bytes, [cut]);
    assert.is(s.reply(), expected, `cut at ${cut}`);
  }
  const s = await session();
  feedReused(s.conn, bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1));
  assert.is(s.reply(), expected, 'one byte per read');
});

test('input is never kept by reference: -R holding back the rest of a reused buffer', async () => {
  const s = await session(2);
  feedReused(s.conn, Buffer.from('version\r\n'.repeat(3) + 'set k 0 0 1\r\nv\r\nget k\r\n', 'latin1'), []);
  for (let i = 0; i < 4; i++) await new Promise((resolve) => setImmediate(resolve));
  assert.is(s.reply(), 'VERSION 1.6.18\r\n'.repeat(3) + 'STORED\r\nVALUE k 0 1\r\nv\r\nEND\r\n');
});

test('input is never kept by reference: a SASL mechanism checked after its data arrives in a later read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-conn-'));
  try {
    const pwdb = join(dir, 'pwdb');
    writeFileSync(pwdb, 'alice:secret\n');
    const s = await fakeConnection({ reqsPerEvent: 20, protocol: 'binary', saslPwdb: pwdb }, { cache_size: '2m' });
    // SASL_AUTH (0x21), key "PLAIN", data "\0alice\0secret".
    const data = Buffer.from('\0alice\0secret', 'latin1');
    const header = Buffer.alloc(24);
    header[0] = 0x80;
    header[1] = 0x21;
    header.writeUInt16BE(5, 2);
    header.writeUInt32BE(5 + data.length, 8);
    // The header and mechanism in one read, the data in two more.
    feedReused(s.conn, Buffer.concat([header, Buffer.from('PLAIN', 'latin1'), data]), [29, 33]);
    const reply = Buffer.from(s.reply(), 'latin1');
    assert.is(reply.readUInt16BE(6), 0, 'status: success');
    assert.is(reply.subarray(24).toString('latin1'), 'Authenticated');
  } finally {
    rmSync(dir, { recursive: true });
  }
});

test.run();
