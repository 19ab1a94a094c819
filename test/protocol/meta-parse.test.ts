// The meta command parser (src/protocol/meta/parse.ts) through the text parser's dispatch: every
// case parsed whole, fed byte by byte, split at every boundary and embedded between other bytes,
// always to the same request; memcached 1.6.18's error lines and their order of precedence
// (observed on /usr/bin/memcached and in proto_text.c's _meta_flag_preparse).
import { Buffer } from 'node:buffer';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { StoreOperation } from '../../src/engine/status.ts';
import { MetaFlag, hasFlag } from '../../src/protocol/meta/request.ts';
import { Command, createRequest } from '../../src/protocol/request.ts';
import type { Request } from '../../src/protocol/request.ts';
import { parseTextLine } from '../../src/protocol/text/parse.ts';
import { Tokens } from '../../src/protocol/text/tokens.ts';

const LF = 0x0a;
const BAD_FORMAT = 'CLIENT_ERROR bad command line format';
const BAD_TOKEN = 'CLIENT_ERROR bad token in command line format';
const INVALID_FLAG = 'CLIENT_ERROR invalid flag';
const DUPLICATE_FLAG = 'CLIENT_ERROR duplicate flag';
const DECODING_KEY = 'CLIENT_ERROR error decoding key';
const INVALID_OR_DUPLICATE = 'CLIENT_ERROR invalid or duplicate flag';
const OPAQUE_TOO_LONG = 'CLIENT_ERROR opaque token too long';

const COMMAND_NAMES = new Map<number, string>(Object.entries(Command).map(([name, value]) => [value, name]));
const OPERATION_NAMES = new Map<number, string>(Object.entries(StoreOperation).map(([name, value]) => [value, name]));

/** What a parse produced, as plain values (taken at once: keys are views into the buffer). */
interface Parsed {
  command: string;
  error: string;
  noreply: boolean;
  key: string;
  nbytes: number;
  flags: string;
  opaque: string;
  opaqueTooLong: boolean;
  cas: bigint;
  hasCas: boolean;
  clientFlags: number;
  ttl: number;
  vivifyTtl: number;
  recacheTtl: number;
  mode: string;
  operation: string;
  incr: boolean;
  delta: bigint;
  initial: bigint;
}

function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function snapshot(req: Request): Parsed {
  const m = req.meta;
  return {
    command: COMMAND_NAMES.get(req.command)!,
    error: req.error,
    noreply: req.noreply,
    key: req.command === Command.ERROR ? '' : latin1(req.key),
    nbytes: req.nbytes,
    flags: String.fromCharCode(...m.flags.subarray(0, m.flagCount)),
    opaque: latin1(m.opaque.subarray(0, m.opaqueLength)),
    opaqueTooLong: m.opaqueTooLong,
    cas: m.cas,
    hasCas: m.hasCas,
    clientFlags: m.clientFlags,
    ttl: m.ttl,
    vivifyTtl: m.vivifyTtl,
    recacheTtl: m.recacheTtl,
    mode: m.mode === 0 ? '' : String.fromCharCode(m.mode),
    operation: OPERATION_NAMES.get(m.operation)!,
    incr: m.incr,
    delta: m.delta,
    initial: m.initial,
  };
}

/**
 * Feeds chunks as a connection receives them: bytes gather until a '\n', then the line is parsed
 * in place from the gathered buffer (which may hold bytes after it). The input bytes must be
 * left as they were: memcached decodes b keys in place, we must not.
 */
function feed(chunks: Uint8Array[]): Parsed[] {
  const req = createRequest();
  const tokens = new Tokens();
  const parsed: Parsed[] = [];
  let pending = new Uint8Array(0);
  for (const chunk of chunks) {
    const buf = new Uint8Array(pending.length + chunk.length);
    buf.set(pending);
    buf.set(chunk, pending.length);
    const before = buf.slice();
    let start = 0;
    for (let lf = buf.indexOf(LF, start); lf >= 0; lf = buf.indexOf(LF, start)) {
      parseTextLine(buf, start, lf, req, tokens);
      parsed.push(snapshot(req));
      start = lf + 1;
    }
    assert.equal(buf, before, 'the parser leaves the read buffer as it was');
    pending = buf.slice(start);
  }
  return parsed;
}

function bytesOf(text: string): Uint8Array {
  return Uint8Array.from(Buffer.from(text, 'latin1'));
}

/** Parses `line` (without its CRLF) whole, byte by byte, split at every boundary and embedded. */
function parseEverySplit(line: string): Parsed {
  const bytes = bytesOf(`${line}\r\n`);
  const [whole] = feed([bytes]);
  assert.ok(whole !== undefined, `${JSON.stringify(line)} parses`);
  const same = (parsed: Parsed[], how: string): void => assert.equal(parsed, [whole], `${JSON.stringify(line)} ${how}`);
  same(feed([...bytes].map((b) => Uint8Array.of(b))), 'byte by byte');
  for (let i = 1; i < bytes.length; i++) same(feed([bytes.subarray(0, i), bytes.subarray(i)]), `split at ${i}`);
  // After another command, and with bytes after it (an ms value, the next command's start).
  const embedded = feed([bytesOf('mn\r\n'), bytes, bytesOf('xyz 123')]);
  assert.equal(embedded.slice(1), [whole], `${JSON.stringify(line)} embedded`);
  return whole;
}

/** Asserts the listed fields of the parse of `line`. */
function expect(line: string, fields: Partial<Parsed>): void {
  const parsed = parseEverySplit(line);
  const actual: Record<string, unknown> = {};
  for (const key of Object.keys(fields)) actual[key] = parsed[key as keyof Parsed];
  assert.equal(actual, fields, JSON.stringify(line));
}

function expectError(line: string, error: string): void {
  expect(line, { command: 'ERROR', error, noreply: false });
}

const KEY_250 = 'k'.repeat(250);
const KEY_251 = 'k'.repeat(251);
const OPAQUE_32 = `O${'o'.repeat(31)}`;
const OPAQUE_33 = `O${'o'.repeat(32)}`;
/** n distinct valid-looking single-letter flags (a.. are not all flags: for count errors only). */
const letters = (n: number): string => Array.from({ length: n }, (_, i) => String.fromCharCode(0x61 + i)).join(' ');

// ---------------------------------------------------------------------------------------------

test('mn: any tokens after it; an unknown m? command is ERROR', () => {
  expect('mn', { command: 'META_NOOP' });
  expect('mn foo bar', { command: 'META_NOOP' });
  expectError('mx foo', 'ERROR');
  expectError('mgx foo', 'ERROR');
  expectError('m', 'ERROR');
});

test('mg: key and flags in request order', () => {
  expect('mg foo', { command: 'META_GET', key: 'foo', flags: '', noreply: false });
  expect('mg foo v k c f s t h l u q O123 P/path L1', {
    command: 'META_GET', key: 'foo', flags: 'vkcfsthluqOPL', noreply: true, opaque: 'O123',
  });
  expect('mg foo O123 k v', { flags: 'Okv', opaque: 'O123' });
  expect(`mg ${KEY_250} v`, { command: 'META_GET', key: KEY_250 });
  // A flag is its first character: the rest of the token is ignored unless it takes a token.
  expect('mg foo vv kfoo', { command: 'META_GET', flags: 'vk' });
  expect('mg foo O', { command: 'META_GET', opaque: 'O', flags: 'O' });
});

test('mg: N T R tokens as memcached 1.6.18 reads them: a 64-bit long stored into an int32', () => {
  expect('mg foo N30 T-1 R10', { command: 'META_GET', vivifyTtl: 30, ttl: -1, recacheTtl: 10, flags: 'NTR' });
  expect('mg foo T+5', { ttl: 5 });
  expect('mg foo T2147483647', { ttl: 2147483647 });
  expect('mg foo T2147483648', { ttl: -2147483648 });
  expect('mg foo T4294967396', { ttl: 100 });
  expect('mg foo T9223372036854775807', { ttl: -1 });
  expect('mg foo T-9223372036854775808', { ttl: 0 });
  expect('mg foo T000000000000000000000000007', { ttl: 7 });
  expectError('mg foo T9223372036854775808', BAD_TOKEN);
  expectError('mg foo T-9223372036854775809', BAD_TOKEN);
  expectError('mg foo T99999999999999999999', BAD_TOKEN);
  expectError('mg foo T', BAD_TOKEN);
  expectError('mg foo T1x', BAD_TOKEN);
  expectError('mg foo Nx', BAD_TOKEN);
  expectError('mg foo Rx', BAD_TOKEN);
});

test('mg: token counts, key length', () => {
  expectError('mg', 'ERROR');
  expectError('mg ', 'ERROR');
  expectError(`mg ${KEY_251}`, BAD_FORMAT);
  expectError(`mg ${KEY_251} ${letters(18)}`, BAD_FORMAT); // the key is checked first
  expect('mg foo c f h k l s t v O1 q u P1 L1 N1 T1 R1 C1', { command: 'META_GET' }); // 17 flags: 20 tokens
  expectError('mg foo c f h k l s t v O1 q u P1 L1 N1 T1 R1 C1 F1', 'CLIENT_ERROR options flags are too long');
  expectError(`mg foo ${letters(22)}`, 'CLIENT_ERROR options flags are too long');
});

test('mg: flag errors, and which message wins', () => {
  expectError('mg foo x', INVALID_FLAG);
  expectError('mg foo v v', DUPLICATE_FLAG);
  expectError('mg foo N5 Nx', DUPLICATE_FLAG);
  expectError('mg foo Nx Zz', INVALID_FLAG); // a bad token goes on; an unknown flag stops
  expectError('mg foo Nx v v', DUPLICATE_FLAG);
  expectError('mg foo x v v', INVALID_FLAG);
  expectError('mg foo \u00ff', DUPLICATE_FLAG); // bytes from 127 on
  expectError('mg foo \u007f', DUPLICATE_FLAG);
  expectError('mg foo 1', INVALID_FLAG);
  expectError('mg foo E1', INVALID_FLAG); // not in 1.6.18
  expectError('mg foo S5', INVALID_FLAG);
  expectError('mg foo Fx', BAD_FORMAT); // F's error keeps the message before it
  expectError('mg foo Tx Fx', BAD_TOKEN);
  expectError('mg foo Fx Tx', BAD_TOKEN);
  expectError('mg foo Fx b', DECODING_KEY);
  expectError('mg foo k Cx', BAD_TOKEN);
  expectError('mg foo C-1', BAD_TOKEN);
  expectError('mg foo MXX', 'CLIENT_ERROR incorrect length for M token');
  expectError('mg foo M', 'CLIENT_ERROR incorrect length for M token');
  expectError('mg foo Jx', 'CLIENT_ERROR invalid numeric initial value');
  expectError('mg foo Dx', 'CLIENT_ERROR invalid numeric delta value');
  expectError('mg foo Dx Jx', 'CLIENT_ERROR invalid numeric initial value');
  expectError('mg foo Jx Dx', 'CLIENT_ERROR invalid numeric delta value');
  expectError('mg foo q x', INVALID_FLAG); // errors are never quiet
  // Flags of other commands are known to mg and change nothing.
  expect('mg foo MX I J1 D1 C5 F7', { command: 'META_GET', mode: 'X', initial: 1n, cas: 5n, clientFlags: 7 });
});

test('mg: the opaque token is at most 32 bytes; a longer one fails when the reply meets it', () => {
  expect(`mg foo ${OPAQUE_32}`, { command: 'META_GET', opaque: OPAQUE_32, opaqueTooLong: false });
  expect(`mg foo ${OPAQUE_33} v`, { command: 'META_GET', opaque: '', opaqueTooLong: true, flags: 'Ov' });
});

test('b: base64 keys decoded as memcached base64.c decodes them', () => {
  expect('mg Zm9v b k', { command: 'META_GET', key: 'foo', flags: 'bk' });
  expect('mg Zm9v k b', { command: 'META_GET', key: 'foo' });
  expect('mg Zm9v! b', { command: 'META_GET', key: 'foo' }); // bytes outside the alphabet are skipped
  expect('mg AA== b', { command: 'META_GET', key: '\u0000' });
  expect('mg QUI= b', { command: 'META_GET', key: 'AB' });
  expect('mg QUFB b', { command: 'META_GET', key: 'AAA' });
  expect('mg QQ==QUFB b', { command: 'META_GET', key: 'A' }); // decoding ends at the padded block
  expect('mg AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8g b', {
    key: String.fromCharCode(...Array.from({ length: 33 }, (_, i) => i)),
  });
  expectError('mg Zm9 b', DECODING_KEY);
  expectError('mg ==== b', DECODING_KEY);
  expectError('mg A=== b', DECODING_KEY);
  expectError('mg !!!! b', DECODING_KEY);
  expectError(`mg ${'QUFB'.repeat(63)} b`, BAD_FORMAT); // 252 bytes: too long before decoding
});

test('F: strtoul into 32 bits, as memcached stores client flags', () => {
  expect('ms foo 2 F4294967295', { clientFlags: 4294967295 });
  expect('ms foo 2 F4294967296', { clientFlags: 0, error: '' });
  expect('ms foo 2 F4294967301', { clientFlags: 5 });
  expect('ms foo 2 F18446744073709551615', { clientFlags: 4294967295 });
  expect('ms foo 2 F-0', { clientFlags: 0 });
  expect('ms foo 2 F-1', { command: 'META_SET', error: BAD_FORMAT });
  expect('ms foo 2 F18446744073709551616', { command: 'META_SET', error: BAD_FORMAT });
});

test('ms: key, datalen, and the store the mode asks for', () => {
  expect('ms foo 2', { command: 'META_SET', key: 'foo', nbytes: 2, operation: 'SET', error: '', noreply: false });
  expect('ms foo 0 T10 F5 c k O1 q', {
    command: 'META_SET', nbytes: 0, ttl: 10, clientFlags: 5, flags: 'TFckOq', opaque: 'O1', noreply: true,
  });
  expect('ms foo 2 ME', { operation: 'ADD', mode: 'E' });
  expect('ms foo 2 MA', { operation: 'APPEND' });
  expect('ms foo 2 MP', { operation: 'PREPEND' });
  expect('ms foo 2 MR', { operation: 'REPLACE' });
  expect('ms foo 2 MS', { operation: 'SET' });
  // C turns a set or a replace into a CAS; add, append and prepend keep their own CAS rules.
  expect('ms foo 2 C7', { operation: 'CAS', cas: 7n, hasCas: true });
  expect('ms foo 2 C0', { operation: 'CAS', cas: 0n, hasCas: true });
  expect('ms foo 2 MR C7', { operation: 'CAS' });
  expect('ms foo 2 ME C7', { operation: 'ADD' });
  expect('ms foo 2 MA C7 I', { operation: 'APPEND', flags: 'MCI' });
  expect('ms Zm9v 2 b k', { key: 'foo', flags: 'bk' });
  expect('ms foo 2147483645', { command: 'META_SET', nbytes: 2147483645 });
  expect('ms foo 4294967298', { command: 'META_SET', nbytes: 2 }); // strtol's long into an int32
  expect('ms foo 2 c k O1 q T1 F1 C1 I v s t f h l u N1', { command: 'META_SET', error: '' }); // 16 flags: 20 tokens
});

test('ms: errors before the flags are plain errors (the value is read as a command)', () => {
  expectError('ms', 'ERROR');
  expectError('ms foo', BAD_FORMAT);
  expectError('ms foo x', BAD_FORMAT);
  expectError('ms foo -1', BAD_FORMAT);
  expectError('ms foo 2x', BAD_FORMAT);
  expectError('ms foo 2147483646', BAD_FORMAT);
  expectError('ms foo 2147483648', BAD_FORMAT);
  expectError(`ms ${KEY_251} 2`, BAD_FORMAT);
  expectError(`ms ${KEY_251}`, BAD_FORMAT);
  expectError('ms foo 2 c k O1 q T1 F1 C1 I v s t f h l u N1 R1', 'CLIENT_ERROR options flags too long'); // 17 flags
});

test('ms: errors in the flags keep META_SET with the error, so the value is swallowed', () => {
  const swallowed = (line: string, error: string, nbytes: number): void =>
    expect(line, { command: 'META_SET', error, nbytes, noreply: false });
  swallowed('ms foo 2 x', INVALID_FLAG, 2);
  swallowed('ms foo 5 v v', DUPLICATE_FLAG, 5);
  swallowed('ms foo 2 q Fx', BAD_FORMAT, 2);
  swallowed('ms foo 2 Tx', BAD_TOKEN, 2);
  swallowed('ms foo 2 Tx Fx', BAD_TOKEN, 2);
  swallowed('ms foo 2 Tx x', INVALID_FLAG, 2);
  swallowed('ms foo 2 Cx', BAD_TOKEN, 2);
  swallowed('ms foo 2 C-1', BAD_TOKEN, 2);
  swallowed('ms foo 2 Nx', BAD_TOKEN, 2);
  swallowed('ms foo 2 Rx', BAD_TOKEN, 2);
  swallowed('ms foo 2 Jx', 'CLIENT_ERROR invalid numeric initial value', 2);
  swallowed('ms foo 2 Dx', 'CLIENT_ERROR invalid numeric delta value', 2);
  swallowed('ms foo 2 S5', INVALID_FLAG, 2);
  swallowed('ms foo 2 b', DECODING_KEY, 2);
  swallowed('ms foo 2 MXX', 'CLIENT_ERROR incorrect length for M token', 2);
  swallowed('ms foo 2 MX', 'CLIENT_ERROR invalid mode for ms M token', 2);
  swallowed(`ms foo 2 ${OPAQUE_33}`, OPAQUE_TOO_LONG, 2);
  // The mode is checked after the opaque, and its message wins; a flag error wins over both.
  swallowed(`ms foo 2 ${OPAQUE_33} MX`, 'CLIENT_ERROR invalid mode for ms M token', 2);
  swallowed(`ms foo 2 ${OPAQUE_33} MX x`, INVALID_FLAG, 2);
  swallowed(`ms foo 3 ${OPAQUE_32} MI`, 'CLIENT_ERROR invalid mode for ms M token', 3);
});

test('md: flags, and every flag error is one line', () => {
  expect('md foo', { command: 'META_DELETE', key: 'foo', flags: '' });
  expect('md foo q C5 I T30 k O1', {
    command: 'META_DELETE', noreply: true, cas: 5n, hasCas: true, ttl: 30, flags: 'qCITkO', opaque: 'O1',
  });
  expect('md Zm9v b', { command: 'META_DELETE', key: 'foo' });
  expect('md foo C0', { hasCas: true, cas: 0n });
  expectError('md', 'ERROR');
  expectError(`md ${KEY_251}`, BAD_FORMAT);
  expectError('md foo a b c d e f g h i j k l m n o p q r', 'CLIENT_ERROR options flags too long');
  expectError('md foo x', INVALID_OR_DUPLICATE);
  expectError('md foo v v', INVALID_OR_DUPLICATE);
  expectError('md foo Tx', INVALID_OR_DUPLICATE);
  expectError('md Zm9 b', INVALID_OR_DUPLICATE);
  expectError(`md foo ${OPAQUE_33}`, OPAQUE_TOO_LONG);
  expectError(`md foo q ${OPAQUE_33}`, OPAQUE_TOO_LONG);
  expect('md foo MX J1 D2 N1 R1 v t s h l u f c', { command: 'META_DELETE' });
});

test('ma: modes, delta and initial value', () => {
  expect('ma foo', { command: 'META_ARITHMETIC', incr: true, delta: 1n, initial: 0n, hasCas: false });
  expect('ma foo MD D5 J7 N0 q v t c', {
    command: 'META_ARITHMETIC', incr: false, delta: 5n, initial: 7n, vivifyTtl: 0, noreply: true, flags: 'MDJNqvtc',
  });
  expect('ma foo MI', { incr: true });
  expect('ma foo M+', { incr: true });
  expect('ma foo M-', { incr: false });
  expect('ma foo D18446744073709551615 J18446744073709551615', { delta: 18446744073709551615n, initial: 18446744073709551615n });
  expect('ma foo C0', { hasCas: true, cas: 0n });
  expect(`ma foo ${OPAQUE_33}`, { command: 'META_ARITHMETIC', opaqueTooLong: true });
  expectError('ma', 'ERROR');
  expectError(`ma ${KEY_251}`, BAD_FORMAT);
  expectError('ma foo a b c d e f g h i j k l m n o p q r', 'CLIENT_ERROR options flags too long');
  expectError('ma foo MX', 'CLIENT_ERROR invalid mode for ma M token');
  expectError('ma foo ME', 'CLIENT_ERROR invalid mode for ma M token');
  expectError('ma foo Mxx', INVALID_OR_DUPLICATE);
  expectError('ma foo Dx', INVALID_OR_DUPLICATE);
  expectError('ma foo D-1', INVALID_OR_DUPLICATE);
  expectError('ma foo J18446744073709551616', INVALID_OR_DUPLICATE);
  expectError('ma foo x', INVALID_OR_DUPLICATE);
  expectError('ma Zm9 b', INVALID_OR_DUPLICATE);
});

test('me: the key, decoded only when the third token is exactly b', () => {
  expect('me foo', { command: 'META_DEBUG', key: 'foo' });
  expect('me foo x y z', { command: 'META_DEBUG', key: 'foo' });
  expect('me Zm9v b', { command: 'META_DEBUG', key: 'foo' });
  expect('me Zm9v b x', { command: 'META_DEBUG', key: 'foo' });
  expect('me Zm9v bb', { command: 'META_DEBUG', key: 'Zm9v' });
  expectError('me', BAD_FORMAT);
  expectError('me foo b', BAD_FORMAT);
  expectError(`me ${KEY_251}`, BAD_FORMAT);
});

test('hasFlag reads the letters given', () => {
  const req = createRequest();
  const tokens = new Tokens();
  const line = bytesOf('mg foo v T5 q\r\n');
  parseTextLine(line, 0, line.length - 1, req, tokens);
  assert.equal(
    [MetaFlag.RETURN_VALUE, MetaFlag.SET_TTL, MetaFlag.QUIET, MetaFlag.RETURN_KEY, MetaFlag.VIVIFY].map((f) => hasFlag(req.meta, f)),
    [true, true, true, false, false],
  );
  parseTextLine(bytesOf('mn\r\n'), 0, 2, req, tokens);
  assert.is(hasFlag(req.meta, MetaFlag.RETURN_VALUE), false, 'reset by the next meta command');
});

test.run();
