// Fuzzing the binary protocol's parser through a connection, as fuzz.test.ts does the text one:
// valid requests of every opcode, mutated (bit flips, random opcodes, keylen, extlen and bodylen
// edge values, truncation, splicing) and random bytes, fed in random splits to connections that
// speak binary. Nothing may throw, every reply is whole response packets, buffered input stays
// within one request's header, extras and key, and a fresh connection is answered correctly
// after every case. The socket test runs against BINARY_WIRE_TARGET (wire-target.ts) too.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServerState } from '../../src/server/context.ts';
import { Connection, Sent } from '../../src/server/connection.ts';
import type { Transport } from '../../src/server/connection.ts';
import type { ServerOptions } from '../../src/server/server.ts';
import { Client, fakeConnection } from './serve.ts';
import { startTarget, targetsFromEnv } from './wire-target.ts';
import { rng } from './random.ts';
import { OPCODE } from './binary-packets.ts';

const CASES = 20_000;
const AUTO_CASES = 4_000;
const SASL_CASES = 4_000;
/** Requests per read: high, so that no case is cut short by -R fairness. */
const REQS_PER_EVENT = 1_000_000;
const IN_PROCESS = !targetsFromEnv().includes('memcached');

// ---------------------------------------------------------------------------------------------
// Requests (memcached's protocol_binary.h)

const HEADER_BYTES = 24;
const MAGIC_REQUEST = 0x80;
const MAGIC_RESPONSE = 0x81;
/** The most a connection may hold of a request it cannot act on yet: header, extras and key. */
const PREFIX_MAX = HEADER_BYTES + 0xff + 0xffff;
/** Slack over PREFIX_MAX for whatever else a connection keeps between reads. */
const BUFFER_MARGIN = 4096;
const ITEM_SIZE_MAX = 1024 * 1024;
const VERSION = '1.6.18';

const OP = OPCODE;

const STATUS = {
  SUCCESS: 0x00, KEY_ENOENT: 0x01, KEY_EEXISTS: 0x02, E2BIG: 0x03, EINVAL: 0x04, NOT_STORED: 0x05,
  DELTA_BADVAL: 0x06, AUTH_ERROR: 0x20, UNKNOWN_COMMAND: 0x81,
} as const;

interface Fields {
  extras?: Uint8Array;
  key?: string;
  value?: string | Uint8Array;
  opaque?: number;
  cas?: bigint;
}

function packet(magic: number, opcode: number, status: number, f: Fields): Buffer {
  const extras = Buffer.from(f.extras ?? new Uint8Array(0));
  const key = Buffer.from(f.key ?? '', 'latin1');
  const value = typeof f.value === 'string' ? Buffer.from(f.value, 'latin1') : Buffer.from(f.value ?? new Uint8Array(0));
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = magic;
  header[1] = opcode;
  header.writeUInt16BE(key.length, 2);
  header[4] = extras.length;
  header.writeUInt16BE(status, 6);
  header.writeUInt32BE(extras.length + key.length + value.length, 8);
  header.writeUInt32BE(f.opaque ?? 0, 12);
  header.writeBigUInt64BE(f.cas ?? 0n, 16);
  return Buffer.concat([header, extras, key, value]);
}

const req = (opcode: number, f: Fields = {}): Buffer => packet(MAGIC_REQUEST, opcode, 0, f);
const res = (opcode: number, f: Fields & { status?: number } = {}): Buffer => packet(MAGIC_RESPONSE, opcode, f.status ?? 0, f);

function words(...values: Array<number | bigint>): Buffer {
  return Buffer.concat(
    values.map((v) => {
      const b = Buffer.alloc(typeof v === 'bigint' ? 8 : 4);
      if (typeof v === 'bigint') b.writeBigUInt64BE(v);
      else b.writeUInt32BE(v >>> 0);
      return b;
    }),
  );
}

const store = (opcode: number, key: string, value: string, flags = 0, exptime = 0, cas = 0n): Buffer =>
  req(opcode, { key, value, extras: words(flags, exptime), cas });
const arith = (opcode: number, key: string, delta: bigint, initial: bigint, exptime: number): Buffer =>
  req(opcode, { key, extras: words(delta, initial, exptime) });
const touch = (opcode: number, key: string, exptime: number): Buffer => req(opcode, { key, extras: words(exptime) });
const plain = (user: string, password: string): string => `\0${user}\0${password}`;

const CORPUS: readonly Buffer[] = [
  req(OP.GET, { key: 'a' }), req(OP.GETQ, { key: 'b' }), req(OP.GETK, { key: 'n' }), req(OP.GETKQ, { key: 'nope' }),
  store(OP.SET, 'a', 'hello', 5), store(OP.SETQ, 'b', 'x', 0, 10), store(OP.ADD, 'c', 'y'), store(OP.ADDQ, 'a', 'z'),
  store(OP.REPLACE, 'a', 'r', 1), store(OP.REPLACEQ, 'nope', 'r'), store(OP.SET, 'a', 'cas', 0, 0, 1n),
  store(OP.SET, 'n', '10'), store(OP.SET, 't', 'text'), store(OP.SET, 'k'.repeat(250), 'long key'),
  req(OP.DELETE, { key: 'a' }), req(OP.DELETEQ, { key: 'b' }), req(OP.DELETE, { key: 'n', cas: 3n }),
  arith(OP.INCREMENT, 'n', 1n, 5n, 0), arith(OP.DECREMENT, 'n', 3n, 0n, 0xffffffff), arith(OP.INCREMENTQ, 'm', 1n, 0n, 1),
  arith(OP.DECREMENTQ, 't', 1n, 0n, 0), arith(OP.INCREMENT, 'n', 0xffffffffffffffffn, 0n, 0), arith(OP.INCREMENT, 'a', 1n, 0n, 0),
  req(OP.QUIT), req(OP.QUITQ), req(OP.FLUSH), req(OP.FLUSHQ), req(OP.FLUSH, { extras: words(5) }),
  req(OP.NOOP), req(OP.VERSION), req(OP.VERBOSITY, { extras: words(1) }),
  req(OP.APPEND, { key: 'a', value: '>' }), req(OP.PREPEND, { key: 'a', value: '<' }),
  req(OP.APPENDQ, { key: 'nope', value: '>' }), req(OP.PREPENDQ, { key: 'n', value: '1' }),
  req(OP.STAT), req(OP.STAT, { key: 'items' }), req(OP.STAT, { key: 'slabs' }), req(OP.STAT, { key: 'settings' }),
  req(OP.STAT, { key: 'reset' }), req(OP.STAT, { key: 'detail dump' }), req(OP.STAT, { key: 'bogus' }),
  touch(OP.TOUCH, 'a', 10), touch(OP.GAT, 'a', 0), touch(OP.GATQ, 'b', 1), touch(OP.GATK, 'n', 2), touch(OP.GATKQ, 'nope', 3),
  req(OP.SASL_LIST_MECHS), req(OP.SASL_AUTH, { key: 'PLAIN', value: plain('alice', 'secret') }),
  req(OP.SASL_AUTH, { key: 'PLAIN', value: plain('alice', 'wrong') }), req(OP.SASL_STEP, { key: 'PLAIN', value: plain('bob', 'x') }),
];
/** A value just over the item size limit, sent whole: "Too large." and a swallowed body. */
const TOO_LARGE = req(OP.SET, { key: 'big', extras: words(0, 0), value: Buffer.alloc(ITEM_SIZE_MAX + 1, 0x62) });

/** Replies the fuzzing must provoke, so that it is known to reach past the framing checks. */
const REPLY_STATUSES = [
  STATUS.SUCCESS, STATUS.KEY_ENOENT, STATUS.KEY_EEXISTS, STATUS.E2BIG, STATUS.EINVAL, STATUS.NOT_STORED,
  STATUS.DELTA_BADVAL, STATUS.UNKNOWN_COMMAND,
];

// ---------------------------------------------------------------------------------------------
// Cases


type Random = () => number;

const pick = <T>(random: Random, values: readonly T[]): T => values[Math.floor(random() * values.length)]!;

const KEYLENS = [0, 1, 2, 249, 250, 251, 255, 256, 1000, 16_360, 16_361, 65_535];
const EXTLENS = [0, 1, 4, 8, 19, 20, 21, 255];

function bodylens(random: Random, b: Buffer): number[] {
  const keylen = b.readUInt16BE(2);
  const extlen = b[4]!;
  return [
    0, 1, keylen, keylen + extlen - 1, keylen + extlen, keylen + extlen + 1, b.length - HEADER_BYTES + 1,
    ITEM_SIZE_MAX - 1, ITEM_SIZE_MAX + 1, 0x7fffffff, 0x80000000, 0xfffffff0, 0xffffffff, Math.floor(random() * 0x100000000),
  ].map((n) => Math.max(0, n));
}

function randomBytes(random: Random, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(random() * 256);
  return out;
}

function mutate(random: Random, input: Buffer): Buffer {
  let b = Buffer.from(input);
  const edits = 1 + Math.floor(random() * 3);
  for (let e = 0; e < edits; e++) {
    const header = b.length >= HEADER_BYTES;
    switch (Math.floor(random() * 10)) {
      case 0: {
        // flip a bit, most often in the header
        if (b.length === 0) break;
        const at = random() < 0.7 ? Math.floor(random() * Math.min(HEADER_BYTES, b.length)) : Math.floor(random() * b.length);
        b[at] = b[at]! ^ (1 << Math.floor(random() * 8));
        break;
      }
      case 1:
        if (b.length > 1) b[1] = Math.floor(random() * 256);
        break;
      case 2:
        if (header) b.writeUInt16BE(random() < 0.8 ? pick(random, KEYLENS) : Math.floor(random() * 0x10000), 2);
        break;
      case 3:
        if (header) b[4] = random() < 0.8 ? pick(random, EXTLENS) : Math.floor(random() * 256);
        break;
      case 4:
        if (header) b.writeUInt32BE(pick(random, bodylens(random, b)), 8);
        break;
      case 5:
        b = b.subarray(0, Math.floor(random() * b.length));
        break;
      case 6: {
        const at = Math.floor(random() * (b.length + 1));
        b = Buffer.concat([b.subarray(0, at), pick(random, CORPUS), b.subarray(at)]);
        break;
      }
      case 7:
        if (b.length > 0) b[0] = pick(random, [MAGIC_RESPONSE, 0x00, 0x7f, 0xc0, Math.floor(random() * 256)]);
        break;
      case 8:
        b = Buffer.concat([b, randomBytes(random, Math.floor(random() * 40))]);
        break;
      default: {
        // a random byte anywhere
        if (b.length === 0) break;
        b[Math.floor(random() * b.length)] = Math.floor(random() * 256);
      }
    }
  }
  return b;
}

/** One case: one to three requests, each valid, mutated, or random bytes that start like a request. */
function fuzzCase(random: Random, corpus: readonly Buffer[]): Buffer {
  if (random() < 0.001) return TOO_LARGE;
  const parts: Buffer[] = [];
  const n = 1 + Math.floor(random() * 3);
  for (let i = 0; i < n; i++) {
    const r = random();
    if (r < 0.1) parts.push(Buffer.concat([Buffer.of(MAGIC_REQUEST), randomBytes(random, Math.floor(random() * 64))]));
    else if (r < 0.35) parts.push(pick(random, corpus));
    else parts.push(mutate(random, pick(random, corpus)));
  }
  return Buffer.concat(parts);
}

// ---------------------------------------------------------------------------------------------
// Connections in process

interface Conn {
  conn: Connection;
  /** Everything sent since the last call. */
  reply(): Buffer;
  closed(): boolean;
}

/** A connection to the server behind `state`, over a transport that records what it sends. */
function connectionTo(state: ServerState): Conn {
  const sent: Buffer[] = [];
  let closed = false;
  const transport: Transport = {
    send: (parts) => {
      for (const p of parts) sent.push(Buffer.from(p));
      return Sent.COPIED;
    },
    pauseReading: () => {},
    resumeReading: () => {},
    close: () => {
      closed = true;
    },
  };
  return {
    conn: new Connection(state, transport, REQS_PER_EVENT),
    reply: () => Buffer.concat(sent.splice(0)),
    closed: () => closed,
  };
}

/** Feeds `bytes` in random splits; fails the test on an exception. */
function feed(random: Random, c: Conn, bytes: Buffer, what: string): void {
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + Math.floor(random() * bytes.length);
    try {
      c.conn.receive(bytes.subarray(at, at + n));
    } catch (error) {
      assert.unreachable(`${what} (${bytes.subarray(0, 96).toString('hex')}…) threw: ${String(error)}`);
    }
    at += n;
  }
}

/** The statuses of the whole response packets in `reply`; fails on anything else. */
function responseStatuses(reply: Buffer, what: string): number[] {
  const statuses: number[] = [];
  let at = 0;
  while (at < reply.length) {
    assert.ok(reply.length - at >= HEADER_BYTES, `${what}: ${reply.length - at} bytes of a partial header in the reply`);
    assert.is(reply[at], MAGIC_RESPONSE, `${what}: reply magic at ${at}`);
    const keylen = reply.readUInt16BE(at + 2);
    const extlen = reply[at + 4]!;
    const bodylen = reply.readUInt32BE(at + 8);
    assert.ok(keylen + extlen <= bodylen, `${what}: keylen ${keylen} + extlen ${extlen} over bodylen ${bodylen}`);
    assert.ok(at + HEADER_BYTES + bodylen <= reply.length, `${what}: a reply cut short`);
    statuses.push(reply.readUInt16BE(at + 6));
    at += HEADER_BYTES + bodylen;
  }
  return statuses;
}

/** Checks that a connection made now is answered: `request` gets exactly `expected`. */
function assertServes(state: ServerState, request: Buffer, expected: Buffer, what: string): void {
  const probe = connectionTo(state);
  probe.conn.receive(request);
  const got = probe.reply();
  if (!got.equals(expected)) assert.unreachable(`${what}: a fresh connection got ${got.toString('hex')}, not ${expected.toString('hex')}`);
  probe.conn.closedByPeer();
}

const PROBE = Buffer.concat([req(OP.NOOP, { opaque: 1 }), req(OP.VERSION, { opaque: 2 })]);
const PROBE_REPLY = Buffer.concat([res(OP.NOOP, { opaque: 1 }), res(OP.VERSION, { opaque: 2, value: VERSION })]);
/** Under SASL only VERSION and the SASL opcodes need no authentication. */
const SASL_PROBE = Buffer.concat([req(OP.VERSION, { opaque: 3 }), req(OP.SASL_LIST_MECHS, { opaque: 4 })]);
const SASL_PROBE_REPLY = Buffer.concat([res(OP.VERSION, { opaque: 3, value: VERSION }), res(OP.SASL_LIST_MECHS, { opaque: 4, value: 'PLAIN' })]);

interface Run {
  seed: number;
  cases: number;
  options: Partial<ServerOptions>;
  /** What a new connection sends first, if anything, and its exact reply. */
  greeting?: (random: Random) => { request: Buffer; reply: Buffer } | undefined;
  corpus: readonly Buffer[];
  probe: { request: Buffer; reply: Buffer };
}

/** Runs `run.cases` fuzz cases; returns the reply statuses seen. */
async function fuzz(run: Run): Promise<Set<number>> {
  const random = rng(run.seed);
  const seen = new Set<number>();
  const engineConfig = { cache_size: '4m', wasm_build: 'debug' };
  let s = await fakeConnection(run.options, engineConfig);
  const selfCheck = (): void => void (s.engine as unknown as { selfCheck(): void }).selfCheck();
  const open = (): Conn => {
    const c = connectionTo(s.state);
    const greeting = run.greeting?.(random);
    if (greeting !== undefined) {
      c.conn.receive(greeting.request);
      const reply = c.reply();
      assert.ok(reply.equals(greeting.reply), `the greeting got ${reply.toString('hex')}`);
    }
    return c;
  };
  let c = open();
  for (let i = 0; i < run.cases; i++) {
    const bytes = fuzzCase(random, run.corpus);
    const what = `case ${i}`;
    feed(random, c, bytes, what);
    const buffered = c.conn.bufferedBytes();
    assert.ok(buffered <= PREFIX_MAX + BUFFER_MARGIN, `${what}: ${buffered} bytes buffered`);
    for (const status of responseStatuses(c.reply(), what)) seen.add(status);
    assertServes(s.state, run.probe.request, run.probe.reply, what);
    if (i % 100 === 99) s.clock.advance(1);
    // Mostly a new connection per case: one left swallowing a 4 GB body would eat the cases after it.
    if (c.closed() || random() < 0.7) {
      c.conn.closedByPeer();
      c = open();
    }
    if (i % 2000 === 1999) {
      selfCheck();
      s = await fakeConnection(run.options, engineConfig);
      c = open();
    }
  }
  selfCheck();
  c.conn.closedByPeer();
  return seen;
}

function statusNames(statuses: Iterable<number>): string[] {
  return [...statuses].map((status) => `0x${status.toString(16)}`).sort();
}

const inProcess = IN_PROCESS ? test : test.skip;

inProcess(`${CASES} random and mutated packets in random splits (-B binary): no throw, whole replies, bounded input, others served`, async () => {
  const options: Partial<ServerOptions> & { protocol?: 'binary' } = { protocol: 'binary', reqsPerEvent: REQS_PER_EVENT };
  const seen = await fuzz({ seed: 20261121, cases: CASES, options, corpus: CORPUS, probe: { request: PROBE, reply: PROBE_REPLY } });
  // The mutations must reach the commands, not only the framing errors.
  const missing = REPLY_STATUSES.filter((status) => !seen.has(status));
  assert.equal(statusNames(missing), [], `statuses never provoked (saw ${statusNames(seen).join(' ')})`);
});

inProcess(`${AUTO_CASES} cases on connections that chose binary by their first byte (-B auto)`, async () => {
  const options: Partial<ServerOptions> & { protocol?: 'auto' } = { protocol: 'auto', reqsPerEvent: REQS_PER_EVENT };
  const greeting = (): { request: Buffer; reply: Buffer } => ({ request: req(OP.NOOP, { opaque: 9 }), reply: res(OP.NOOP, { opaque: 9 }) });
  const seen = await fuzz({ seed: 77, cases: AUTO_CASES, options, greeting, corpus: CORPUS, probe: { request: PROBE, reply: PROBE_REPLY } });
  assert.ok(seen.has(STATUS.SUCCESS) && seen.has(STATUS.EINVAL), statusNames(seen).join(' '));
});

inProcess(`${SASL_CASES} cases under SASL (-S): authenticated or not, the server holds`, async () => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-sasl-fuzz-'));
  try {
    const pwdb = join(dir, 'pwdb');
    writeFileSync(pwdb, 'alice:secret\nbob:hunter2\n');
    const options: Partial<ServerOptions> = { saslPwdb: pwdb, reqsPerEvent: REQS_PER_EVENT };
    // Half the connections authenticate first; the rest may, in the corpus's SASL requests.
    const auth = { request: req(OP.SASL_AUTH, { key: 'PLAIN', value: plain('alice', 'secret'), opaque: 5 }), reply: res(OP.SASL_AUTH, { value: 'Authenticated', opaque: 5 }) };
    const greeting = (random: Random): typeof auth | undefined => (random() < 0.5 ? auth : undefined);
    const probe = { request: SASL_PROBE, reply: SASL_PROBE_REPLY };
    const seen = await fuzz({ seed: 4242, cases: SASL_CASES, options, greeting, corpus: CORPUS, probe });
    const missing = [STATUS.SUCCESS, STATUS.KEY_ENOENT, STATUS.AUTH_ERROR, STATUS.EINVAL].filter((status) => !seen.has(status));
    assert.equal(statusNames(missing), [], `statuses never provoked (saw ${statusNames(seen).join(' ')})`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

inProcess('a 64 KB key and a 4 GB body are never buffered whole; the server goes on', async () => {
  const options: Partial<ServerOptions> & { protocol?: 'binary' } = { protocol: 'binary', reqsPerEvent: REQS_PER_EVENT };
  const s = await fakeConnection(options, { cache_size: '4m' });
  const bound = PREFIX_MAX + BUFFER_MARGIN;
  // keylen 65535: memcached closes (its read buffer is 16 KB) or answers "Invalid arguments".
  const longKey = connectionTo(s.state);
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = MAGIC_REQUEST;
  header[1] = OP.GET;
  header.writeUInt16BE(0xffff, 2);
  header.writeUInt32BE(0xffff, 8);
  longKey.conn.receive(header);
  for (let sent = 0; sent < 200 * 1024 && !longKey.closed(); sent += 1024) {
    longKey.conn.receive(Buffer.alloc(1024, 0x6b));
    assert.ok(longKey.conn.bufferedBytes() <= bound, `${longKey.conn.bufferedBytes()} bytes buffered`);
  }
  assert.ok(longKey.closed(), 'a key over 250 bytes closes the connection');
  const invalid = res(OP.GET, { status: STATUS.EINVAL, value: 'Invalid arguments' });
  const reply = longKey.reply();
  assert.ok(reply.length === 0 || reply.equals(invalid), reply.toString('hex'));
  // bodylen 0xffffffff on a set and on an unknown opcode: swallowed or refused, never kept.
  for (const opcode of [OP.SET, 0x50]) {
    const huge = connectionTo(s.state);
    const head = opcode === OP.SET ? req(opcode, { key: 'k', extras: words(0, 0) }) : req(opcode);
    head.writeUInt32BE(0xffffffff, 8);
    huge.conn.receive(head);
    for (let sent = 0; sent < 16 * 1024 * 1024 && !huge.closed(); sent += 64 * 1024) {
      huge.conn.receive(Buffer.alloc(64 * 1024, 0x80));
      assert.ok(huge.conn.bufferedBytes() <= bound, `opcode ${opcode}: ${huge.conn.bufferedBytes()} bytes buffered`);
    }
    responseStatuses(huge.reply(), `opcode ${opcode}`);
    huge.conn.closedByPeer();
    assertServes(s.state, PROBE, PROBE_REPLY, `after bodylen 0xffffffff on opcode ${opcode}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Over sockets

test('over real sockets: 300 fuzzed connections while well-behaved clients are served correctly', async () => {
  const random = rng(11);
  const [name] = targetsFromEnv();
  // memcached's threads could run a fuzzed flush between the good client's set and get: -F.
  const target = await startTarget(name!, { protocol: 'auto', flushEnabled: name !== 'memcached' });
  const good = await Client.open(target.port);
  const text = await Client.open(target.port);
  try {
    for (let round = 0; round < 30; round++) {
      const bad = await Promise.all(Array.from({ length: 10 }, () => Client.open(target.port)));
      for (const c of bad) {
        const parts = [req(OP.NOOP)];
        for (let i = 0; i < 5; i++) parts.push(fuzzCase(random, CORPUS));
        c.send(Buffer.concat(parts));
      }
      const value = `value-${round}`;
      // One write, so that nothing a fuzzed client does falls between the set and the get.
      const set = store(OP.SET, 'good', value, round, 0);
      const reply = Buffer.from(await good.request(Buffer.concat([set, req(OP.GETK, { key: 'good', opaque: round })]), value), 'latin1');
      assert.ok(reply.length >= HEADER_BYTES, `round ${round}: ${reply.toString('hex')}`);
      const cas = reply.readBigUInt64BE(16);
      const expected = Buffer.concat([
        res(OP.SET, { cas }),
        res(OP.GETK, { extras: words(round), key: 'good', value, cas, opaque: round }),
      ]);
      assert.ok(reply.equals(expected), `round ${round}: ${reply.toString('hex')}, not ${expected.toString('hex')}`);
      const textReply = `STORED\r\nVALUE text 0 ${value.length}\r\n${value}\r\nEND\r\n`;
      assert.is(await text.request(`set text 0 0 ${value.length}\r\n${value}\r\nget text\r\n`, 'END\r\n'), textReply, `round ${round}: text`);
      const fresh = await Client.open(target.port);
      assert.is(await fresh.request(PROBE, VERSION), PROBE_REPLY.toString('latin1'), `round ${round}: a fresh connection`);
      fresh.close();
      for (const c of bad) c.close();
    }
  } finally {
    good.close();
    text.close();
    await target.close();
  }
});

test.run();
