// Exact bytes of memcached's binary protocol over a real socket: every opcode and its quiet form,
// the error bodies, framing errors and when the connection closes, as memcached 1.6.18 answers
// (cf. memcached t/binary.t). Each test gets a fresh server, so CAS uniques count from 1.
// BINARY_WIRE_TARGET=memcached runs the same assertions against the real memcached (wire-target.ts);
// the checks that move the clock run in process only.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { saslAvailable, targetsFromEnv, withTarget } from './wire-target.ts';
import type { Target, TargetName, TargetSetup } from './wire-target.ts';
import { OPCODE, parseResponses } from './binary-packets.ts';
import type { Packet } from './binary-packets.ts';

// ---------------------------------------------------------------------------------------------
// Packets (memcached's protocol_binary.h): a 24-byte header, then extras, key and value.

const HEADER_BYTES = 24;
const MAGIC_REQUEST = 0x80;
const MAGIC_RESPONSE = 0x81;

const OP = OPCODE;

const STATUS = {
  SUCCESS: 0x00, KEY_ENOENT: 0x01, KEY_EEXISTS: 0x02, E2BIG: 0x03, EINVAL: 0x04, NOT_STORED: 0x05,
  DELTA_BADVAL: 0x06, AUTH_ERROR: 0x20, UNKNOWN_COMMAND: 0x81, ENOMEM: 0x82,
} as const;

/** The body memcached's write_bin_error sends with each status. */
const ERROR_TEXT: Readonly<Record<number, string>> = {
  [STATUS.KEY_ENOENT]: 'Not found',
  [STATUS.KEY_EEXISTS]: 'Data exists for key.',
  [STATUS.E2BIG]: 'Too large.',
  [STATUS.EINVAL]: 'Invalid arguments',
  [STATUS.NOT_STORED]: 'Not stored.',
  [STATUS.DELTA_BADVAL]: 'Non-numeric server-side value for incr or decr',
  [STATUS.AUTH_ERROR]: 'Auth failure.',
  [STATUS.UNKNOWN_COMMAND]: 'Unknown command',
  [STATUS.ENOMEM]: 'Out of memory',
};
/** What a store that cannot allocate its item answers: out_of_memory()'s line less "SERVER_ERROR ". */
const STORE_NO_MEMORY = 'Out of memory allocating item';

type Bytes = string | Uint8Array;

interface Fields {
  extras?: Uint8Array;
  key?: Bytes;
  value?: Bytes;
  opaque?: number;
  cas?: bigint;
  /** Header fields that disagree with the body, for framing errors. */
  magic?: number;
  keylen?: number;
  extlen?: number;
  bodylen?: number;
  datatype?: number;
  vbucket?: number;
}

const OPAQUE = 0xc0ffee01;

function toBuffer(data: Bytes): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

function u64(n: bigint): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64BE(n);
  return b;
}

function encode(magic: number, opcode: number, statusOrVbucket: number, f: Fields): Buffer {
  const extras = toBuffer(f.extras ?? new Uint8Array(0));
  const key = toBuffer(f.key ?? '');
  const value = toBuffer(f.value ?? '');
  const header = Buffer.alloc(HEADER_BYTES);
  header[0] = f.magic ?? magic;
  header[1] = opcode;
  header.writeUInt16BE(f.keylen ?? key.length, 2);
  header[4] = f.extlen ?? extras.length;
  header[5] = f.datatype ?? 0;
  header.writeUInt16BE(statusOrVbucket, 6);
  header.writeUInt32BE(f.bodylen ?? extras.length + key.length + value.length, 8);
  header.writeUInt32BE(f.opaque ?? OPAQUE, 12);
  header.writeBigUInt64BE(f.cas ?? 0n, 16);
  return Buffer.concat([header, extras, key, value]);
}

/** A request packet. */
const req = (opcode: number, f: Fields = {}): Buffer => encode(MAGIC_REQUEST, opcode, f.vbucket ?? 0, f);
/** A response packet as memcached writes it. */
const res = (opcode: number, f: Fields & { status?: number } = {}): Buffer =>
  encode(MAGIC_RESPONSE, opcode, f.status ?? STATUS.SUCCESS, f);
/** An error response: the status, memcached's text for it, no CAS. */
const err = (opcode: number, status: number, f: Fields = {}): Buffer => res(opcode, { ...f, status, value: ERROR_TEXT[status] ?? '' });

/** Extras of set/add/replace: flags, exptime. */
const storeExtras = (flags: number, exptime: number): Buffer => Buffer.concat([u32(flags), u32(exptime)]);
/** Extras of incr/decr: delta, initial, exptime (NO_CREATE: fail on a miss). */
const arithExtras = (delta: bigint, initial: bigint, exptime: number): Buffer => Buffer.concat([u64(delta), u64(initial), u32(exptime)]);
const NO_CREATE = 0xffffffff;

interface StoreFields extends Fields {
  flags?: number;
  exptime?: number;
}
/** set/add/replace (or a quiet form) of `key` to `value`. */
const store = (opcode: number, key: Bytes, value: Bytes, f: StoreFields = {}): Buffer =>
  req(opcode, { ...f, key, value, extras: storeExtras(f.flags ?? 0, f.exptime ?? 0) });
const get = (opcode: number, key: Bytes, f: Fields = {}): Buffer => req(opcode, { ...f, key });
/** A get hit: flags in the extras, the item's CAS, the key for GETK/GETKQ/GATK/GATKQ. */
const hit = (opcode: number, value: Bytes, flags: number, cas: bigint, f: Fields = {}): Buffer =>
  res(opcode, { ...f, extras: u32(flags), value, cas });
const arith = (opcode: number, key: Bytes, delta: bigint, initial: bigint, exptime: number, f: Fields = {}): Buffer =>
  req(opcode, { ...f, key, extras: arithExtras(delta, initial, exptime) });
const touch = (opcode: number, key: Bytes, exptime: number, f: Fields = {}): Buffer => req(opcode, { ...f, key, extras: u32(exptime) });

const NOOP_OPAQUE = 0x00000a0a;
const noop = (): Buffer => req(OP.NOOP, { opaque: NOOP_OPAQUE });
const noopReply = (): Buffer => res(OP.NOOP, { opaque: NOOP_OPAQUE });

const VERSION = '1.6.18';

// ---------------------------------------------------------------------------------------------
// Reading replies

function hex(data: Uint8Array): string {
  return Buffer.from(data).toString('hex');
}

function printable(data: Uint8Array): string {
  const limit = 64;
  const text = JSON.stringify(Buffer.from(data.subarray(0, limit)).toString('latin1'));
  return data.length > limit ? `${text}…(${data.length} bytes)` : text;
}

/** Each packet in `data` on one line, every header field shown (for readable failures). */
function describe(data: Uint8Array): string[] {
  const buf = toBuffer(data);
  const lines: string[] = [];
  let at = 0;
  while (at + HEADER_BYTES <= buf.length) {
    const keylen = buf.readUInt16BE(at + 2);
    const extlen = buf[at + 4]!;
    const bodylen = buf.readUInt32BE(at + 8);
    const body = buf.subarray(at + HEADER_BYTES, at + HEADER_BYTES + bodylen);
    lines.push(
      [
        `magic=0x${buf[at]!.toString(16)} opcode=0x${buf[at + 1]!.toString(16)}`,
        `keylen=${keylen} extlen=${extlen} datatype=${buf[at + 5]} status=0x${buf.readUInt16BE(at + 6).toString(16)}`,
        `bodylen=${bodylen} opaque=0x${buf.readUInt32BE(at + 12).toString(16)} cas=${buf.readBigUInt64BE(at + 16)}`,
        `extras=<${hex(body.subarray(0, extlen))}> key=${printable(body.subarray(extlen, extlen + keylen))}`,
        `value=${printable(body.subarray(extlen + keylen))}`,
        body.length < bodylen ? `(body cut short: ${body.length} of ${bodylen} bytes)` : '',
      ].join(' '),
    );
    at += HEADER_BYTES + bodylen;
  }
  if (at < buf.length) lines.push(`${buf.length - at} bytes of a partial header: ${hex(buf.subarray(at))}`);
  return lines;
}

function assertBytes(actual: Uint8Array, expected: Uint8Array, what: string): void {
  if (Buffer.compare(Buffer.from(actual), Buffer.from(expected)) === 0) return;
  assert.equal(describe(actual), describe(expected), what);
  assert.unreachable(`${what}: the bytes differ (${actual.length} vs ${expected.length} bytes)`);
}

/** A response as the tests compare it: the fields that vary, key and value as latin1 text. */
interface Reply extends Pick<Packet, 'opcode' | 'status' | 'opaque' | 'cas' | 'extras'> {
  key: string;
  value: string;
}

/** The complete packets at the start of `data`. */
function parsePackets(data: Buffer): Reply[] {
  return parseResponses(data).packets.map(({ opcode, status, opaque, cas, extras, key, value }) => ({
    opcode,
    status,
    opaque,
    cas,
    extras,
    key: key.toString('latin1'),
    value: value.toString('latin1'),
  }));
}

const WAIT_MS = 3_000;

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** A TCP client that keeps every byte the server sends. */
class BinaryClient {
  private received = Buffer.alloc(0);
  private wake: (() => void) | undefined;
  closed = false;

  private constructor(private readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake?.();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake?.();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<BinaryClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: '127.0.0.1' }, () => resolve(new BinaryClient(socket)));
      socket.once('error', reject);
    });
  }

  send(...parts: Uint8Array[]): void {
    this.socket.write(Buffer.concat(parts));
  }

  /** Writes `data` one byte per write, yielding between writes so they leave separately. */
  async trickle(data: Uint8Array): Promise<void> {
    for (const byte of data) {
      this.socket.write(Buffer.of(byte));
      await new Promise((resolve) => setImmediate(resolve));
    }
  }

  /** Waits until `done` holds for what arrived, the connection closes, or `timeoutMs` pass. */
  private async wait(done: (received: Buffer) => boolean, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.received) && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        setTimeout(resolve, 20);
      });
    }
  }

  /** What arrived once there are `n` bytes (or the connection closed); clears it. */
  async take(n: number, timeoutMs = WAIT_MS): Promise<Buffer> {
    await this.wait((r) => r.length >= n, timeoutMs);
    return this.drain();
  }

  /** What arrived once `done` holds for it; clears it. */
  async takeWhen(done: (received: Buffer) => boolean, timeoutMs = WAIT_MS): Promise<Buffer> {
    await this.wait(done, timeoutMs);
    return this.drain();
  }

  /** What arrived until the server closed the connection (or `timeoutMs` passed). */
  async untilClosed(timeoutMs = WAIT_MS): Promise<Buffer> {
    await this.wait(() => false, timeoutMs);
    return this.drain();
  }

  /** What arrived within `ms`. */
  async settle(ms = 100): Promise<Buffer> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.drain();
  }

  drain(): Buffer {
    const data = this.received;
    this.received = Buffer.alloc(0);
    return data;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends `request` and asserts that the reply is exactly `expected`; the connection stays open. */
async function exchange(c: BinaryClient, request: Uint8Array | Uint8Array[], expected: Uint8Array | Uint8Array[], what = 'reply'): Promise<void> {
  c.send(...(Array.isArray(request) ? request : [request]));
  const want = Buffer.concat(Array.isArray(expected) ? expected : [expected]);
  const got = await c.take(want.length);
  assertBytes(got, want, what);
  assert.ok(!c.closed || want.length === 0, `${what}: the connection closed`);
}

/** Sends `request` and asserts that the reply is exactly `expected`, after which the server closes. */
async function exchangeThenClose(c: BinaryClient, request: Uint8Array | Uint8Array[], expected: Uint8Array[], what = 'reply'): Promise<void> {
  c.send(...(Array.isArray(request) ? request : [request]));
  const got = await c.untilClosed();
  assert.ok(c.closed, `${what}: the server was expected to close the connection`);
  assertBytes(got, Buffer.concat(expected), what);
}

/** The end of a STAT reply: the empty packet, or an error. */
function statEnded(received: Buffer): boolean {
  return parsePackets(received).some((p) => p.key === '' && (p.value === '' || p.status !== STATUS.SUCCESS));
}

// ---------------------------------------------------------------------------------------------
// The tests, once per target

type Body = (t: Target, open: () => Promise<BinaryClient>) => Promise<void>;

function wireSuite(target: TargetName): void {
  const wire = suite(`binary wire (${target})`);

  /** A test against a fresh server set up as `setup`; its clients are closed after it. */
  const test = (name: string, body: Body, setup: TargetSetup = {}): void => {
    wire(name, () =>
      withTarget(target, setup, async (t) => {
        const clients: BinaryClient[] = [];
        try {
          await body(t, async () => {
            const c = await BinaryClient.open(t.port);
            clients.push(c);
            return c;
          });
        } finally {
          for (const c of clients) c.close();
        }
      }),
    );
  };

  test('get, getq, getk, getkq: a hit has the flags, the CAS and the value; getk echoes the key', async (_t, open) => {
    const c = await open();
    await exchange(c, store(OP.SET, 'a', 'hello', { flags: 0xdeadbeef }), res(OP.SET, { cas: 1n }));
    await exchange(c, get(OP.GET, 'a'), hit(OP.GET, 'hello', 0xdeadbeef, 1n));
    await exchange(c, get(OP.GETQ, 'a'), hit(OP.GETQ, 'hello', 0xdeadbeef, 1n));
    await exchange(c, get(OP.GETK, 'a'), hit(OP.GETK, 'hello', 0xdeadbeef, 1n, { key: 'a' }));
    await exchange(c, get(OP.GETKQ, 'a'), hit(OP.GETKQ, 'hello', 0xdeadbeef, 1n, { key: 'a' }));
    // Opaques come back as sent, whatever they are.
    await exchange(c, get(OP.GET, 'a', { opaque: 0 }), hit(OP.GET, 'hello', 0xdeadbeef, 1n, { opaque: 0 }));
    await exchange(c, get(OP.GET, 'a', { opaque: 0xffffffff }), hit(OP.GET, 'hello', 0xdeadbeef, 1n, { opaque: 0xffffffff }));
  });

  test('get misses: "Not found"; getk echoes the key with no text; getq and getkq say nothing', async (_t, open) => {
    const c = await open();
    await exchange(c, get(OP.GET, 'nope'), err(OP.GET, STATUS.KEY_ENOENT));
    await exchange(c, get(OP.GETK, 'nope'), res(OP.GETK, { status: STATUS.KEY_ENOENT, key: 'nope' }));
    await exchange(c, [get(OP.GETQ, 'nope'), get(OP.GETKQ, 'nope'), noop()], noopReply());
  });

  test('values and keys are binary-safe: NUL, CR, LF and high bytes; an empty value; a 250-byte key', async (_t, open) => {
    const c = await open();
    const value = Buffer.from([0, 13, 10, 0xff, 0x80, 0x81, 0, 32, 13, 10]);
    const key = Buffer.from([0x01, 0x02, 0x7f, 0xfe]);
    await exchange(c, store(OP.SET, key, value, { flags: 1 }), res(OP.SET, { cas: 1n }));
    await exchange(c, get(OP.GETK, key), hit(OP.GETK, value, 1, 1n, { key }));
    await exchange(c, store(OP.SET, 'empty', '', { flags: 5 }), res(OP.SET, { cas: 2n }));
    await exchange(c, get(OP.GETK, 'empty'), hit(OP.GETK, '', 5, 2n, { key: 'empty' }));
    const k250 = 'k'.repeat(250);
    await exchange(c, store(OP.SET, k250, 'long key'), res(OP.SET, { cas: 3n }));
    await exchange(c, get(OP.GETK, k250), hit(OP.GETK, 'long key', 0, 3n, { key: k250 }));
    const big = Buffer.alloc(700_000, 0x5a);
    await exchange(c, store(OP.SET, 'big', big), res(OP.SET, { cas: 4n }));
    await exchange(c, get(OP.GET, 'big'), hit(OP.GET, big, 0, 4n));
  });

  test('set, add, replace: the new CAS in the reply; add of a present key, replace of a missing one', async (_t, open) => {
    const c = await open();
    await exchange(c, store(OP.ADD, 'a', 'x', { flags: 1 }), res(OP.ADD, { cas: 1n }));
    await exchange(c, store(OP.ADD, 'a', 'y'), err(OP.ADD, STATUS.KEY_EEXISTS));
    await exchange(c, store(OP.REPLACE, 'nope', 'y'), err(OP.REPLACE, STATUS.KEY_ENOENT));
    await exchange(c, store(OP.REPLACE, 'a', 'y', { flags: 7 }), res(OP.REPLACE, { cas: 2n }));
    await exchange(c, get(OP.GET, 'a'), hit(OP.GET, 'y', 7, 2n));
    await exchange(c, store(OP.SET, 'a', 'z'), res(OP.SET, { cas: 3n }));
    await exchange(c, get(OP.GET, 'a'), hit(OP.GET, 'z', 0, 3n));
    // The failed add and replace used no CAS unique.
    await exchange(c, store(OP.SET, 'b', 'w'), res(OP.SET, { cas: 4n }));
  });

  test('CAS: a match stores, a mismatch is "Data exists for key.", a missing key "Not found"', async (_t, open) => {
    const c = await open();
    await exchange(c, store(OP.SET, 'a', 'v1'), res(OP.SET, { cas: 1n }));
    await exchange(c, store(OP.SET, 'a', 'v2', { cas: 999n }), err(OP.SET, STATUS.KEY_EEXISTS));
    await exchange(c, store(OP.SET, 'nope', 'v', { cas: 1n }), err(OP.SET, STATUS.KEY_ENOENT));
    await exchange(c, store(OP.SET, 'a', 'v2', { cas: 1n }), res(OP.SET, { cas: 2n }));
    await exchange(c, store(OP.REPLACE, 'a', 'v3', { cas: 1n }), err(OP.REPLACE, STATUS.KEY_EEXISTS));
    await exchange(c, store(OP.REPLACE, 'a', 'v3', { cas: 2n }), res(OP.REPLACE, { cas: 3n }));
    await exchange(c, req(OP.APPEND, { key: 'a', value: '+', cas: 999n }), err(OP.APPEND, STATUS.KEY_EEXISTS));
    await exchange(c, req(OP.APPEND, { key: 'a', value: '+', cas: 3n }), res(OP.APPEND, { cas: 4n }));
    await exchange(c, req(OP.PREPEND, { key: 'a', value: '-', cas: 4n }), res(OP.PREPEND, { cas: 5n }));
    await exchange(c, get(OP.GET, 'a'), hit(OP.GET, '-v3+', 0, 5n));
    await exchange(c, req(OP.DELETE, { key: 'a', cas: 999n }), err(OP.DELETE, STATUS.KEY_EEXISTS));
    // A delete answers with no CAS.
    await exchange(c, req(OP.DELETE, { key: 'a', cas: 5n }), res(OP.DELETE));
    await exchange(c, get(OP.GET, 'a'), err(OP.GET, STATUS.KEY_ENOENT));
  });

  test('memcached quirk: add with a CAS is a CAS store (a match replaces a present key; a missing key is "Not found")', async (_t, open) => {
    const c = await open();
    await exchange(c, store(OP.SET, 'x', '1'), res(OP.SET, { cas: 1n }));
    await exchange(c, store(OP.ADD, 'x', '2', { cas: 1n }), res(OP.ADD, { cas: 2n }));
    await exchange(c, get(OP.GET, 'x'), hit(OP.GET, '2', 0, 2n));
    await exchange(c, store(OP.ADD, 'x', '3', { cas: 1n }), err(OP.ADD, STATUS.KEY_EEXISTS));
    await exchange(c, store(OP.ADD, 'nope', '1', { cas: 5n }), err(OP.ADD, STATUS.KEY_ENOENT));
  });

  test('quiet stores say nothing on success and answer errors under the quiet opcode', async (_t, open) => {
    const c = await open();
    await exchange(
      c,
      [
        store(OP.SETQ, 'a', 'x', { opaque: 1 }),
        store(OP.ADDQ, 'b', 'y', { opaque: 2 }),
        store(OP.REPLACEQ, 'a', 'z', { opaque: 3 }),
        req(OP.APPENDQ, { key: 'a', value: '>', opaque: 4 }),
        req(OP.PREPENDQ, { key: 'a', value: '<', opaque: 5 }),
        noop(),
      ],
      noopReply(),
    );
    await exchange(c, get(OP.GET, 'a'), hit(OP.GET, '<z>', 0, 5n));
    await exchange(
      c,
      [
        store(OP.ADDQ, 'a', 'x', { opaque: 11 }),
        store(OP.REPLACEQ, 'nope', 'x', { opaque: 12 }),
        store(OP.SETQ, 'a', 'x', { cas: 999n, opaque: 13 }),
        req(OP.APPENDQ, { key: 'nope', value: 'x', opaque: 14 }),
        req(OP.PREPENDQ, { key: 'nope', value: 'x', opaque: 15 }),
        req(OP.DELETEQ, { key: 'nope', opaque: 16 }),
        arith(OP.INCREMENTQ, 'nope', 1n, 0n, NO_CREATE, { opaque: 17 }),
        arith(OP.DECREMENTQ, 'a', 1n, 0n, 0, { opaque: 18 }),
        noop(),
      ],
      [
        err(OP.ADDQ, STATUS.KEY_EEXISTS, { opaque: 11 }),
        err(OP.REPLACEQ, STATUS.KEY_ENOENT, { opaque: 12 }),
        err(OP.SETQ, STATUS.KEY_EEXISTS, { opaque: 13 }),
        err(OP.APPENDQ, STATUS.NOT_STORED, { opaque: 14 }),
        err(OP.PREPENDQ, STATUS.NOT_STORED, { opaque: 15 }),
        err(OP.DELETEQ, STATUS.KEY_ENOENT, { opaque: 16 }),
        err(OP.INCREMENTQ, STATUS.KEY_ENOENT, { opaque: 17 }),
        err(OP.DECREMENTQ, STATUS.DELTA_BADVAL, { opaque: 18 }),
        noopReply(),
      ],
    );
  });

  test('delete and deleteq', async (_t, open) => {
    const c = await open();
    await exchange(c, [store(OP.SET, 'a', '1'), store(OP.SET, 'b', '2')], [res(OP.SET, { cas: 1n }), res(OP.SET, { cas: 2n })]);
    await exchange(c, req(OP.DELETE, { key: 'a' }), res(OP.DELETE));
    await exchange(c, req(OP.DELETE, { key: 'a' }), err(OP.DELETE, STATUS.KEY_ENOENT));
    await exchange(c, [req(OP.DELETEQ, { key: 'b', cas: 999n }), noop()], [err(OP.DELETEQ, STATUS.KEY_EEXISTS), noopReply()]);
    await exchange(c, [req(OP.DELETEQ, { key: 'b', cas: 2n }), noop()], noopReply());
    await exchange(c, [get(OP.GETKQ, 'a'), get(OP.GETKQ, 'b'), noop()], noopReply());
  });

  test('incr and decr: initial values, no-create, the value as 8 bytes big-endian, wrap, floor, errors', async (_t, open) => {
    const c = await open();
    await exchange(c, arith(OP.INCREMENT, 'n', 1n, 5n, NO_CREATE), err(OP.INCREMENT, STATUS.KEY_ENOENT));
    await exchange(c, arith(OP.DECREMENT, 'n', 1n, 5n, NO_CREATE), err(OP.DECREMENT, STATUS.KEY_ENOENT));
    // A miss creates the item with the initial value (the delta is not applied) and its CAS.
    await exchange(c, arith(OP.INCREMENT, 'n', 1n, 5n, 0), res(OP.INCREMENT, { value: u64(5n), cas: 1n }));
    await exchange(c, get(OP.GET, 'n'), hit(OP.GET, '5', 0, 1n));
    await exchange(c, arith(OP.INCREMENT, 'n', 10n, 0n, 0), res(OP.INCREMENT, { value: u64(15n), cas: 2n }));
    await exchange(c, arith(OP.DECREMENT, 'n', 6n, 0n, NO_CREATE), res(OP.DECREMENT, { value: u64(9n), cas: 3n }));
    // A shorter result is written in place, padded with spaces (as in the text protocol).
    await exchange(c, get(OP.GET, 'n'), hit(OP.GET, '9 ', 0, 3n));
    await exchange(c, arith(OP.DECREMENT, 'n', 100n, 0n, 0), res(OP.DECREMENT, { value: u64(0n), cas: 4n }));
    await exchange(c, arith(OP.DECREMENT, 'm', 1n, 0xfffffffffffffffen, 0), res(OP.DECREMENT, { value: u64(0xfffffffffffffffen), cas: 5n }));
    await exchange(c, arith(OP.INCREMENT, 'm', 3n, 0n, 0), res(OP.INCREMENT, { value: u64(1n), cas: 6n }));
    await exchange(c, get(OP.GET, 'm'), hit(OP.GET, `1${' '.repeat(19)}`, 0, 6n));
    await exchange(c, store(OP.SET, 't', 'abc'), res(OP.SET, { cas: 7n }));
    await exchange(c, arith(OP.INCREMENT, 't', 1n, 0n, 0), err(OP.INCREMENT, STATUS.DELTA_BADVAL));
    // With a CAS: a mismatch is "Data exists for key.", a match applies.
    await exchange(c, arith(OP.INCREMENT, 'n', 1n, 0n, 0, { cas: 999n }), err(OP.INCREMENT, STATUS.KEY_EEXISTS));
    await exchange(c, arith(OP.INCREMENT, 'n', 1n, 0n, 0, { cas: 4n }), res(OP.INCREMENT, { value: u64(1n), cas: 8n }));
    // Quiet forms: only errors answer; a created item is there afterwards.
    await exchange(c, [arith(OP.INCREMENTQ, 'n', 2n, 0n, 0), arith(OP.DECREMENTQ, 'q', 1n, 42n, 0), noop()], noopReply());
    await exchange(c, [get(OP.GET, 'n'), get(OP.GET, 'q')], [hit(OP.GET, '3 ', 0, 9n), hit(OP.GET, '42', 0, 10n)]);
  });

  test('append and prepend: "Not stored." for a missing key; the flags stay', async (_t, open) => {
    const c = await open();
    await exchange(c, req(OP.APPEND, { key: 'a', value: 'x' }), err(OP.APPEND, STATUS.NOT_STORED));
    await exchange(c, req(OP.PREPEND, { key: 'a', value: 'x' }), err(OP.PREPEND, STATUS.NOT_STORED));
    await exchange(c, store(OP.SET, 'a', 'mid', { flags: 3 }), res(OP.SET, { cas: 1n }));
    await exchange(c, req(OP.APPEND, { key: 'a', value: '>>' }), res(OP.APPEND, { cas: 2n }));
    await exchange(c, req(OP.PREPEND, { key: 'a', value: '<<' }), res(OP.PREPEND, { cas: 3n }));
    await exchange(c, req(OP.APPEND, { key: 'a', value: '' }), res(OP.APPEND, { cas: 4n }));
    await exchange(c, [req(OP.APPENDQ, { key: 'a', value: '!' }), req(OP.PREPENDQ, { key: 'a', value: '?' }), noop()], noopReply());
    await exchange(c, get(OP.GET, 'a'), hit(OP.GET, '?<<mid>>!', 3, 6n));
  });

  test('touch, gat, gatq, gatk, gatkq: touch answers the flags alone; misses as for get', async (t, open) => {
    const c = await open();
    await exchange(c, touch(OP.TOUCH, 'a', 10), err(OP.TOUCH, STATUS.KEY_ENOENT));
    await exchange(c, touch(OP.GAT, 'a', 10), err(OP.GAT, STATUS.KEY_ENOENT));
    await exchange(c, touch(OP.GATK, 'a', 10), res(OP.GATK, { status: STATUS.KEY_ENOENT, key: 'a' }));
    await exchange(c, [touch(OP.GATQ, 'a', 10), touch(OP.GATKQ, 'a', 10), noop()], noopReply());
    await exchange(c, store(OP.SET, 'a', 'val', { flags: 0xabcd, exptime: 5 }), res(OP.SET, { cas: 1n }));
    await exchange(c, touch(OP.TOUCH, 'a', 100), res(OP.TOUCH, { extras: u32(0xabcd), cas: 1n }));
    await exchange(c, touch(OP.GAT, 'a', 100), hit(OP.GAT, 'val', 0xabcd, 1n));
    await exchange(c, touch(OP.GATQ, 'a', 100), hit(OP.GATQ, 'val', 0xabcd, 1n));
    await exchange(c, touch(OP.GATK, 'a', 100), hit(OP.GATK, 'val', 0xabcd, 1n, { key: 'a' }));
    await exchange(c, touch(OP.GATKQ, 'a', 100), hit(OP.GATKQ, 'val', 0xabcd, 1n, { key: 'a' }));
    if (t.clock === undefined) return;
    // Touched to 100 s: alive past the 5 s it was set with.
    t.clock.advance(6);
    await exchange(c, get(OP.GET, 'a'), hit(OP.GET, 'val', 0xabcd, 1n));
    await exchange(c, touch(OP.GAT, 'a', 2), hit(OP.GAT, 'val', 0xabcd, 1n));
    t.clock.advance(3);
    await exchange(c, get(OP.GET, 'a'), err(OP.GET, STATUS.KEY_ENOENT));
  });

  test('exptime: relative seconds expire with the clock; it is unsigned (0xffffffff is far in the future)', async (t, open) => {
    const c = await open();
    await exchange(c, store(OP.SET, 'forever', 'v', { exptime: 0xffffffff }), res(OP.SET, { cas: 1n }));
    await exchange(c, get(OP.GET, 'forever'), hit(OP.GET, 'v', 0, 1n));
    await exchange(c, store(OP.SET, 'short', 'v', { exptime: 5 }), res(OP.SET, { cas: 2n }));
    await exchange(c, arith(OP.INCREMENT, 'counter', 1n, 7n, 5), res(OP.INCREMENT, { value: u64(7n), cas: 3n }));
    if (t.clock === undefined) return;
    t.clock.advance(4);
    await exchange(c, [get(OP.GET, 'short'), get(OP.GET, 'counter')], [hit(OP.GET, 'v', 0, 2n), hit(OP.GET, '7', 0, 3n)]);
    t.clock.advance(2);
    await exchange(
      c,
      [get(OP.GET, 'short'), get(OP.GET, 'counter'), get(OP.GET, 'forever')],
      [err(OP.GET, STATUS.KEY_ENOENT), err(OP.GET, STATUS.KEY_ENOENT), hit(OP.GET, 'v', 0, 1n)],
    );
  });

  test('flush and flushq; flush with a delay', async (t, open) => {
    const c = await open();
    await exchange(c, [store(OP.SET, 'a', '1'), store(OP.SET, 'b', '2')], [res(OP.SET, { cas: 1n }), res(OP.SET, { cas: 2n })]);
    await exchange(c, req(OP.FLUSH), res(OP.FLUSH));
    await exchange(c, get(OP.GET, 'a'), err(OP.GET, STATUS.KEY_ENOENT));
    // An immediate flush takes a CAS unique (memcached's oldest_cas).
    await exchange(c, store(OP.SET, 'a', '1'), res(OP.SET, { cas: 4n }));
    await exchange(c, [req(OP.FLUSHQ), noop()], noopReply());
    await exchange(c, get(OP.GET, 'a'), err(OP.GET, STATUS.KEY_ENOENT));
    await exchange(c, req(OP.FLUSH, { extras: u32(0) }), res(OP.FLUSH));
    await exchange(c, store(OP.SET, 'a', '1'), res(OP.SET, { cas: 7n }));
    await exchange(c, req(OP.FLUSH, { extras: u32(10) }), res(OP.FLUSH));
    await exchange(c, get(OP.GET, 'a'), hit(OP.GET, '1', 0, 7n));
    if (t.clock === undefined) return;
    t.clock.advance(5);
    await exchange(c, get(OP.GET, 'a'), hit(OP.GET, '1', 0, 7n));
    t.clock.advance(6);
    await exchange(c, get(OP.GET, 'a'), err(OP.GET, STATUS.KEY_ENOENT));
  });

  test('flush disabled (-F): "Auth failure.", also for flushq; the connection stays', async (_t, open) => {
    const c = await open();
    await exchange(c, store(OP.SET, 'a', '1'), res(OP.SET, { cas: 1n }));
    await exchange(c, req(OP.FLUSH), err(OP.FLUSH, STATUS.AUTH_ERROR));
    await exchange(c, [req(OP.FLUSHQ), noop()], [err(OP.FLUSHQ, STATUS.AUTH_ERROR), noopReply()]);
    await exchange(c, get(OP.GET, 'a'), hit(OP.GET, '1', 0, 1n));
  }, { flushEnabled: false });

  test('noop ends a pipeline of getkq: only the hits answer, in order, then the noop', async (_t, open) => {
    const c = await open();
    const keys = Array.from({ length: 20 }, (_, i) => `key:${i}`);
    const sets = keys.filter((_, i) => i % 3 === 0).map((k, i) => store(OP.SETQ, k, `value ${k}`, { flags: i, opaque: i }));
    await exchange(c, [...sets, noop()], noopReply());
    const gets = keys.map((k, i) => get(OP.GETKQ, k, { opaque: 1000 + i }));
    const hits = keys.flatMap((k, i) => (i % 3 === 0 ? [hit(OP.GETKQ, `value ${k}`, i / 3, BigInt(i / 3 + 1), { key: k, opaque: 1000 + i })] : []));
    await exchange(c, [...gets, noop()], [...hits, noopReply()]);
    // The same with getq: no keys in the hits.
    const getqs = keys.map((k, i) => get(OP.GETQ, k, { opaque: 2000 + i }));
    const qhits = keys.flatMap((k, i) => (i % 3 === 0 ? [hit(OP.GETQ, `value ${k}`, i / 3, BigInt(i / 3 + 1), { opaque: 2000 + i })] : []));
    await exchange(c, [...getqs, noop()], [...qhits, noopReply()]);
  });

  test('a pipeline written one byte at a time gets the same replies', async (_t, open) => {
    const c = await open();
    const pipeline = Buffer.concat([
      store(OP.SET, 'a', 'alpha', { flags: 9, opaque: 1 }),
      get(OP.GETK, 'a', { opaque: 2 }),
      arith(OP.INCREMENT, 'n', 1n, 10n, 0, { opaque: 3 }),
      req(OP.APPEND, { key: 'a', value: '!', opaque: 4 }),
      get(OP.GETKQ, 'nope', { opaque: 5 }),
      req(OP.VERSION, { opaque: 6 }),
      noop(),
    ]);
    await c.trickle(pipeline);
    const expected = Buffer.concat([
      res(OP.SET, { cas: 1n, opaque: 1 }),
      hit(OP.GETK, 'alpha', 9, 1n, { key: 'a', opaque: 2 }),
      res(OP.INCREMENT, { value: u64(10n), cas: 2n, opaque: 3 }),
      res(OP.APPEND, { cas: 3n, opaque: 4 }),
      res(OP.VERSION, { value: VERSION, opaque: 6 }),
      noopReply(),
    ]);
    assertBytes(await c.take(expected.length), expected, 'trickled pipeline');
  });

  test('a partial header waits for the rest', async (_t, open) => {
    const c = await open();
    const packet = req(OP.VERSION);
    c.send(packet.subarray(0, 23));
    assertBytes(await c.settle(150), Buffer.alloc(0), 'before the 24th byte');
    assert.ok(!c.closed);
    await exchange(c, packet.subarray(23), res(OP.VERSION, { value: VERSION }));
    const set = store(OP.SET, 'a', 'value');
    c.send(set.subarray(0, 30));
    assertBytes(await c.settle(150), Buffer.alloc(0), 'before the value');
    await exchange(c, set.subarray(30), res(OP.SET, { cas: 1n }));
  });

  test('version, and the datatype and vbucket fields are ignored', async (_t, open) => {
    const c = await open();
    await exchange(c, req(OP.VERSION), res(OP.VERSION, { value: VERSION }));
    await exchange(c, req(OP.NOOP, { datatype: 1 }), res(OP.NOOP));
    await exchange(c, store(OP.SET, 'a', 'x', { vbucket: 7 }), res(OP.SET, { cas: 1n }));
    await exchange(c, get(OP.GET, 'a', { vbucket: 0xffff }), hit(OP.GET, 'x', 0, 1n));
  });

  test('quit answers, then closes; quitq closes without a word', async (_t, open) => {
    const a = await open();
    await exchangeThenClose(a, [req(OP.QUIT), noop()], [res(OP.QUIT)], 'quit');
    const b = await open();
    await exchangeThenClose(b, [req(OP.QUITQ), noop()], [], 'quitq');
    const after = await open();
    await exchange(after, noop(), noopReply(), 'a new connection after quit');
  });

  test('stat: key/value packets ended by an empty one', async (t, open) => {
    const c = await open();
    await exchange(c, [store(OP.SET, 'a', '1'), store(OP.SET, 'b', '2')], [res(OP.SET, { cas: 1n }), res(OP.SET, { cas: 2n })]);
    await exchange(c, [get(OP.GET, 'a'), get(OP.GET, 'nope')], [hit(OP.GET, '1', 0, 1n), err(OP.GET, STATUS.KEY_ENOENT)]);
    c.send(req(OP.STAT, { opaque: 77 }));
    const reply = await c.takeWhen(statEnded);
    const packets = parsePackets(reply);
    assert.ok(packets.length > 20, `${packets.length} stats`);
    const last = packets.pop()!;
    assertBytes(reply.subarray(reply.length - HEADER_BYTES), res(OP.STAT, { opaque: 77 }), 'the closing packet');
    assert.equal(last.key, '');
    const stats = new Map<string, string>();
    for (const p of packets) {
      assert.equal([p.opcode, p.status, p.opaque, p.cas, p.extras.length], [OP.STAT, STATUS.SUCCESS, 77, 0n, 0], `stat ${p.key}`);
      assert.ok(p.key.length > 0);
      stats.set(p.key, p.value);
    }
    assert.equal([...stats.keys()].slice(0, 4), ['pid', 'uptime', 'time', 'version']);
    const expected: Record<string, string> = { version: VERSION, curr_items: '2', total_items: '2', cmd_get: '2', get_hits: '1', get_misses: '1', cmd_set: '2' };
    for (const [name, value] of Object.entries(expected)) assert.is(stats.get(name), value, name);
    for (const name of ['curr_connections', 'total_connections', 'bytes', 'limit_maxbytes', 'threads', 'evictions', 'bytes_read', 'bytes_written']) {
      assert.ok(/^\d+$/.test(stats.get(name) ?? ''), `${name}: ${stats.get(name)}`);
    }
    assert.ok(t.name === 'memcached' || stats.get('pid') === String(process.pid));
  });

  test('stat groups: settings, items, slabs, detail, reset; an unknown group is "Not found"', async (_t, open) => {
    const c = await open();
    for (const group of ['settings', 'slabs']) {
      c.send(req(OP.STAT, { key: group }));
      const packets = parsePackets(await c.takeWhen(statEnded));
      assert.ok(packets.length >= 2, `stat ${group}: ${packets.length} packets`);
      for (const p of packets) assert.equal([p.opcode, p.status, p.extras.length], [OP.STAT, STATUS.SUCCESS, 0], `stat ${group} ${p.key}`);
      assert.equal(packets.at(-1), { opcode: OP.STAT, status: 0, opaque: OPAQUE, cas: 0n, extras: Buffer.alloc(0), key: '', value: '' });
    }
    // Nothing stored: no items, only the end.
    await exchange(c, req(OP.STAT, { key: 'items' }), res(OP.STAT));
    await exchange(c, req(OP.STAT, { key: 'reset' }), res(OP.STAT));
    await exchange(c, req(OP.STAT, { key: 'detail on' }), res(OP.STAT));
    await exchange(c, req(OP.STAT, { key: 'detail off' }), res(OP.STAT));
    await exchange(c, req(OP.STAT, { key: 'detail bogus' }), err(OP.STAT, STATUS.KEY_ENOENT));
    await exchange(c, req(OP.STAT, { key: 'bogus' }), err(OP.STAT, STATUS.KEY_ENOENT));
    await exchange(c, store(OP.SET, 'a', '1'), res(OP.SET, { cas: 1n }));
    c.send(req(OP.STAT, { key: 'items' }));
    const items = parsePackets(await c.takeWhen(statEnded));
    assert.ok(items.some((p) => p.key === 'items:1:number' && p.value === '1'), 'items:1:number');
  });

  test('"Unknown command": verbosity, SASL opcodes without -S, unused opcodes; the body is swallowed', async (_t, open) => {
    const c = await open();
    await exchange(c, req(OP.VERBOSITY), err(OP.VERBOSITY, STATUS.UNKNOWN_COMMAND));
    await exchange(c, req(OP.SASL_LIST_MECHS), err(OP.SASL_LIST_MECHS, STATUS.UNKNOWN_COMMAND));
    // SASL auth and step swallow their value (bodylen less the key).
    await exchange(c, [req(OP.SASL_AUTH, { key: 'PLAIN', value: '\0user\0password' }), noop()], [err(OP.SASL_AUTH, STATUS.UNKNOWN_COMMAND), noopReply()]);
    await exchange(c, [req(OP.SASL_STEP, { key: 'PLAIN', value: '\0user\0password' }), noop()], [err(OP.SASL_STEP, STATUS.UNKNOWN_COMMAND), noopReply()]);
    for (const opcode of [0x1f, 0x25, 0x30, 0x3d, 0x3e, 0x3f, 0x40, 0x50, 0x80, 0xff]) {
      await exchange(c, [req(opcode, { opaque: opcode }), noop()], [err(opcode, STATUS.UNKNOWN_COMMAND, { opaque: opcode }), noopReply()], `opcode 0x${opcode.toString(16)}`);
    }
    // A body of value bytes only is swallowed whole: a large one, and one split across writes.
    await exchange(c, [req(0x50, { value: Buffer.alloc(100_000, 0x80) }), noop()], [err(0x50, STATUS.UNKNOWN_COMMAND), noopReply()]);
    // (memcached sends the error once the body is swallowed; sooner would do as well.)
    const split = req(0x51, { value: 'x'.repeat(50) });
    c.send(split.subarray(0, 40));
    await sleep(50);
    await exchange(c, [split.subarray(40), noop()], [err(0x51, STATUS.UNKNOWN_COMMAND), noopReply()]);
  });

  test('memcached quirk: an unknown opcode swallows bodylen bytes after its extras and key were read', async (_t, open) => {
    const c = await open();
    // Key 'k' and value 'vv': bodylen 3 is swallowed after the key, so one byte too many goes.
    await exchange(c, [req(0x50, { key: 'k', value: 'vv' }), Buffer.of(0xee), noop()], [err(0x50, STATUS.UNKNOWN_COMMAND), noopReply()]);
    // Verbosity with its 4 bytes of extras: four bytes too many.
    await exchange(c, [req(OP.VERBOSITY, { extras: u32(1) }), u32(0), noop()], [err(OP.VERBOSITY, STATUS.UNKNOWN_COMMAND), noopReply()]);
  });

  test('a bad magic byte closes the connection without a reply, first packet or later', async (_t, open) => {
    await exchangeThenClose(await open(), req(OP.NOOP, { magic: 0x81 }), [], 'response magic');
    // (Sent apart: which replies of the same read memcached still writes depends on its batching.)
    const later = await open();
    await exchange(later, noop(), noopReply());
    await exchangeThenClose(later, req(OP.NOOP, { magic: 0x00 }), [], 'after a noop');
    const text = await open();
    await exchange(text, noop(), noopReply());
    await exchangeThenClose(text, Buffer.from('get a b c d e f g h i j k\r\n'), [], 'text after binary');
  });

  test('a key over 250 bytes: "Invalid arguments", then close', async (_t, open) => {
    await exchangeThenClose(await open(), [get(OP.GET, 'k'.repeat(251)), noop()], [err(OP.GET, STATUS.EINVAL)], 'get');
    await exchangeThenClose(await open(), [store(OP.SET, 'k'.repeat(251), 'v'), noop()], [err(OP.SET, STATUS.EINVAL)], 'set');
    await exchangeThenClose(await open(), [req(OP.DELETE, { key: 'k'.repeat(1000) }), noop()], [err(OP.DELETE, STATUS.EINVAL)], 'delete');
    // Checked before the opcode: an unknown one too.
    await exchangeThenClose(await open(), [req(0x50, { key: 'k'.repeat(251) }), noop()], [err(0x50, STATUS.EINVAL)], 'unknown opcode');
  });

  test('lengths the opcode does not allow: "Invalid arguments", then close', async (_t, open) => {
    const cases: Array<[string, Buffer]> = [
      ['get with extras', req(OP.GET, { key: 'abc', extras: storeExtras(0, 0) })],
      ['get with a value', req(OP.GET, { key: 'abc', value: 'xy' })],
      ['get without a key', req(OP.GET)],
      ['getkq without a key', req(OP.GETKQ)],
      ['set with 4 bytes of extras', req(OP.SET, { key: 'abc', extras: u32(0), value: 'v' })],
      ['set without extras', req(OP.SET, { key: 'abc', value: 'v' })],
      ['set without a key', req(OP.SET, { extras: storeExtras(0, 0), value: 'v' })],
      ['addq without a key', req(OP.ADDQ, { extras: storeExtras(0, 0), value: 'v' })],
      ['delete with extras', req(OP.DELETE, { key: 'abc', extras: u32(0) })],
      ['delete with a value', req(OP.DELETE, { key: 'abc', value: 'x' })],
      ['incr with 8 bytes of extras', req(OP.INCREMENT, { key: 'abc', extras: storeExtras(0, 0) })],
      ['decr with a value', req(OP.DECREMENT, { key: 'abc', extras: arithExtras(1n, 0n, 0), value: 'x' })],
      ['incr without a key', req(OP.INCREMENT, { extras: arithExtras(1n, 0n, 0) })],
      ['noop with a value', req(OP.NOOP, { value: 'x' })],
      ['version with a key', req(OP.VERSION, { key: 'x' })],
      ['quit with a value', req(OP.QUIT, { value: 'x' })],
      ['quitq with extras', req(OP.QUITQ, { extras: u32(0) })],
      ['flush with 8 bytes of extras', req(OP.FLUSH, { extras: storeExtras(0, 0) })],
      ['flush with a key', req(OP.FLUSH, { key: 'k' })],
      ['flushq with a value', req(OP.FLUSHQ, { extras: u32(0), value: 'x' })],
      ['append with extras', req(OP.APPEND, { key: 'k', extras: u32(0), value: 'x' })],
      ['prepend without a key', req(OP.PREPEND, { value: 'x' })],
      ['stat with extras', req(OP.STAT, { extras: u32(0) })],
      ['touch without extras', req(OP.TOUCH, { key: 'k' })],
      ['touch without a key', req(OP.TOUCH, { extras: u32(0) })],
      ['gat with 8 bytes of extras', req(OP.GAT, { key: 'k', extras: storeExtras(0, 0) })],
      ['gatkq without a key', req(OP.GATKQ, { extras: u32(0) })],
      ['sasl list mechs with a value', req(OP.SASL_LIST_MECHS, { value: 'x' })],
      ['sasl auth without a key', req(OP.SASL_AUTH, { value: 'x' })],
      ['get with 255 bytes of extras', req(OP.GET, { key: 'k', extras: Buffer.alloc(255) })],
    ];
    for (const [what, packet] of cases) {
      await exchangeThenClose(await open(), [packet, noop()], [err(packet[1]!, STATUS.EINVAL)], what);
    }
  });

  test('keylen or keylen + extlen over bodylen: "Unknown command", then close', async (_t, open) => {
    // memcached reads the header's extras and key before it checks them against bodylen.
    await exchangeThenClose(await open(), [req(OP.GET, { key: 'abcde', bodylen: 2 }), noop()], [err(OP.GET, STATUS.UNKNOWN_COMMAND)], 'keylen over bodylen');
    await exchangeThenClose(
      await open(),
      [req(OP.SET, { key: 'abc', extras: storeExtras(0, 0), bodylen: 10 }), noop()],
      [err(OP.SET, STATUS.UNKNOWN_COMMAND)],
      'keylen + extlen over bodylen',
    );
    await exchangeThenClose(await open(), [req(0x50, { extras: u32(1), bodylen: 0 }), noop()], [err(0x50, STATUS.UNKNOWN_COMMAND)], 'unknown opcode, extlen over bodylen');
  });

  test('a value over the item size limit: "Too large.", the body swallowed, the connection usable', async (_t, open) => {
    const c = await open();
    const tooLarge = Buffer.alloc(1024 * 1024 + 1, 0x61);
    await exchange(c, store(OP.SET, 'a', 'small'), res(OP.SET, { cas: 1n }));
    await exchange(c, [store(OP.ADD, 'a', tooLarge), noop()], [err(OP.ADD, STATUS.E2BIG), noopReply()]);
    await exchange(c, get(OP.GET, 'a'), hit(OP.GET, 'small', 0, 1n));
    // A set that fails drops the old value: a stale one must not outlive it.
    await exchange(c, [store(OP.SET, 'a', tooLarge), noop()], [err(OP.SET, STATUS.E2BIG), noopReply()]);
    await exchange(c, get(OP.GET, 'a'), err(OP.GET, STATUS.KEY_ENOENT));
    await exchange(c, [store(OP.SETQ, 'b', tooLarge), noop()], [err(OP.SETQ, STATUS.E2BIG), noopReply()]);
    await exchange(c, [req(OP.APPEND, { key: 'b', value: tooLarge }), noop()], [err(OP.APPEND, STATUS.E2BIG), noopReply()]);
    // Refused on the header: the body that follows is swallowed, whatever it holds. (memcached sends
    // the error once the body is swallowed; sooner would do as well.)
    c.send(req(OP.SET, { key: 'c', extras: storeExtras(0, 0), bodylen: 9 + 2 * 1024 * 1024 }));
    await sleep(50);
    await exchange(c, [Buffer.alloc(2 * 1024 * 1024, 0x80), noop()], [err(OP.SET, STATUS.E2BIG), noopReply()]);
    await exchange(c, store(OP.SET, 'a', 'again'), res(OP.SET, { cas: 2n }));
  });

  test('out of memory with evictions off (-m 8 -M): "Out of memory allocating item"', async (_t, open) => {
    const c = await open();
    // 100 KB values share one slab class, ten chunks to a 1 MB page: -m 8 holds 80 of them.
    const value = Buffer.alloc(100_000, 0x76);
    const fit = 80;
    const sets = Array.from({ length: 90 }, (_, i) => store(OP.SET, `k${i}`, value, { opaque: i }));
    const replies = sets.map((_, i) => (i < fit ? res(OP.SET, { cas: BigInt(i + 1), opaque: i }) : res(OP.SET, { status: STATUS.ENOMEM, value: STORE_NO_MEMORY, opaque: i })));
    await exchange(c, sets, replies);
    await exchange(c, get(OP.GETK, 'k0'), hit(OP.GETK, value, 0, 1n, { key: 'k0' }));
    // As with too large: a set that cannot be stored drops the old value, and quiet errors answer.
    await exchange(c, [store(OP.SETQ, 'k0', value), noop()], [res(OP.SETQ, { status: STATUS.ENOMEM, value: STORE_NO_MEMORY }), noopReply()]);
    await exchange(c, get(OP.GET, 'k0'), err(OP.GET, STATUS.KEY_ENOENT));
  }, { memoryMb: 8, evictions: false });

  test('auto (-B auto): text and binary clients side by side; each connection keeps its protocol', async (_t, open) => {
    const binary = await open();
    const text = await open();
    await exchange(binary, store(OP.SET, 'a', 'hello', { flags: 5 }), res(OP.SET, { cas: 1n }));
    await exchange(text, Buffer.from('get a\r\n'), Buffer.from('VALUE a 5 5\r\nhello\r\nEND\r\n'));
    await exchange(text, Buffer.from('set t 0 0 1\r\nx\r\n'), Buffer.from('STORED\r\n'));
    await exchange(binary, get(OP.GETK, 't'), hit(OP.GETK, 'x', 0, 2n, { key: 't' }));
    await exchange(text, Buffer.from('version\r\n'), Buffer.from(`VERSION ${VERSION}\r\n`));
    await exchange(binary, req(OP.VERSION), res(OP.VERSION, { value: VERSION }));
    // Flags, CAS and arithmetic are the item's, whichever protocol touches it.
    await exchange(binary, store(OP.SET, 'n', '10', { flags: 7 }), res(OP.SET, { cas: 3n }));
    await exchange(text, Buffer.from('incr n 5\r\n'), Buffer.from('15\r\n'));
    await exchange(binary, get(OP.GET, 'n'), hit(OP.GET, '15', 7, 4n));
    await exchange(binary, arith(OP.INCREMENT, 'n', 1n, 0n, NO_CREATE), res(OP.INCREMENT, { value: u64(16n), cas: 5n }));
    await exchange(text, Buffer.from('gets n\r\n'), Buffer.from('VALUE n 7 2 5\r\n16\r\nEND\r\n'));
    await exchange(text, Buffer.from('cas n 9 0 2 5\r\n17\r\n'), Buffer.from('STORED\r\n'));
    await exchange(binary, get(OP.GETK, 'n'), hit(OP.GETK, '17', 9, 6n, { key: 'n' }));
    // A connection that began in binary does not take text, and one that began in text not binary.
    await exchangeThenClose(binary, Buffer.from('get a b c d e f g h i j k l\r\n'), [], 'text on a binary connection');
    await exchange(text, Buffer.concat([req(OP.VERSION), Buffer.from('\r\n')]), Buffer.from('ERROR\r\n'));
    await exchange(text, Buffer.from('gets t\r\n'), Buffer.from('VALUE t 0 1 2\r\nx\r\nEND\r\n'));
  }, { protocol: 'auto' });

  const USERS = { alice: 'secret', bob: 'hunter2' };
  const plain = (authzid: string, user: string, password: string): string => `${authzid}\0${user}\0${password}`;
  const authenticated = (opcode: number = OP.SASL_AUTH, opaque = OPAQUE): Buffer => res(opcode, { value: 'Authenticated', opaque });

  const saslTest = (name: string, body: Body): void => {
    if (saslAvailable(target)) test(name, body, { sasl: USERS });
    else wire.skip(`${name} (no saslpasswd2 to set up memcached's SASL)`, () => {});
  };

  saslTest('sasl (-S): list mechs and version need no auth; anything else is "Auth failure." and close', async (_t, open) => {
    const c = await open();
    await exchange(c, req(OP.SASL_LIST_MECHS), res(OP.SASL_LIST_MECHS, { value: 'PLAIN' }));
    await exchange(c, req(OP.VERSION), res(OP.VERSION, { value: VERSION }));
    await exchangeThenClose(c, [get(OP.GET, 'a'), noop()], [err(OP.GET, STATUS.AUTH_ERROR)], 'get before auth');
    await exchangeThenClose(await open(), [noop()], [err(OP.NOOP, STATUS.AUTH_ERROR, { opaque: NOOP_OPAQUE })], 'noop before auth');
    await exchangeThenClose(await open(), [req(0x50), noop()], [err(0x50, STATUS.AUTH_ERROR)], 'unknown opcode before auth');
    // Lengths are checked first.
    await exchangeThenClose(await open(), [req(OP.GET, { key: 'abcde', bodylen: 2 })], [err(OP.GET, STATUS.UNKNOWN_COMMAND)], 'bad lengths before auth');
  });

  saslTest('sasl (-S): PLAIN with the right password, then every command works', async (_t, open) => {
    const c = await open();
    await exchange(c, req(OP.SASL_AUTH, { key: 'PLAIN', value: plain('', 'alice', 'secret') }), authenticated());
    await exchange(c, store(OP.SET, 'a', 'x'), res(OP.SET, { cas: 1n }));
    await exchange(c, get(OP.GET, 'a'), hit(OP.GET, 'x', 0, 1n));
    await exchange(c, noop(), noopReply());
    const bob = await open();
    // Pipelined behind the auth, and with an authorization identity equal to the user.
    await exchange(bob, [req(OP.SASL_AUTH, { key: 'PLAIN', value: plain('bob', 'bob', 'hunter2'), opaque: 9 }), get(OP.GET, 'a')], [
      authenticated(OP.SASL_AUTH, 9),
      hit(OP.GET, 'x', 0, 1n),
    ]);
  });

  saslTest('sasl (-S): a wrong password, an unknown user, mechanism or authzid fail; the connection stays for a retry', async (_t, open) => {
    const c = await open();
    const failures = [
      req(OP.SASL_AUTH, { key: 'PLAIN', value: plain('', 'alice', 'wrong') }),
      req(OP.SASL_AUTH, { key: 'PLAIN', value: plain('', 'alice', 'secre') }),
      req(OP.SASL_AUTH, { key: 'PLAIN', value: plain('', 'alice', 'secret1') }),
      req(OP.SASL_AUTH, { key: 'PLAIN', value: plain('', 'alice', 'hunter2') }),
      req(OP.SASL_AUTH, { key: 'PLAIN', value: plain('', 'mallory', 'secret') }),
      req(OP.SASL_AUTH, { key: 'PLAIN', value: plain('bob', 'alice', 'secret') }),
      req(OP.SASL_AUTH, { key: 'PLAIN', value: 'no separators' }),
      req(OP.SASL_AUTH, { key: 'CRAM-MD5', value: plain('', 'alice', 'secret') }),
      req(OP.SASL_STEP, { key: 'PLAIN', value: plain('', 'alice', 'secret') }),
    ];
    for (const [i, packet] of failures.entries()) {
      await exchange(c, packet, err(packet[1]!, STATUS.AUTH_ERROR), `failure ${i}`);
    }
    await exchange(c, req(OP.SASL_AUTH, { key: 'PLAIN', value: plain('', 'alice', 'secret') }), authenticated());
    await exchange(c, noop(), noopReply());
    // A failed auth leaves the connection unauthenticated.
    const d = await open();
    await exchange(d, req(OP.SASL_AUTH, { key: 'PLAIN', value: plain('', 'bob', 'secret') }), err(OP.SASL_AUTH, STATUS.AUTH_ERROR));
    await exchangeThenClose(d, noop(), [err(OP.NOOP, STATUS.AUTH_ERROR, { opaque: NOOP_OPAQUE })], 'noop after a failure');
  });

  wire.run();
}

for (const target of targetsFromEnv()) wireSuite(target);
