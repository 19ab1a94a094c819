// Numbers in command lines as memcached's safe_strtoul/safe_strtol/safe_strtoull read them, and
// parseU32's double-only fast path agreeing with the bigint reading it shortcuts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseI32, parseU32, parseU64 } from '../../src/protocol/numbers.ts';

const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));
const u32 = (text: string): number => parseU32(bytes(text), 0, text.length);
const u64 = (text: string): bigint => parseU64(bytes(text), 0, text.length);
const i32 = (text: string): number => parseI32(bytes(text), 0, text.length);

test('parseU32: client flags as memcached 1.6 stores them (a u64 wrapped into a uint32_t)', () => {
  const cases: Array<[string, number]> = [
    ['0', 0],
    ['1', 1],
    ['4294967295', 4294967295],
    ['4294967296', 0],
    ['4294967297', 1],
    ['999999999999999', 999999999999999 % 2 ** 32],
    ['18446744073709551615', 4294967295],
    ['000000000000000000000012', 12],
    ['-0', 0],
    [' 7', 7],
    ['18446744073709551616', -1],
    ['-1', -1],
    ['1e3', -1],
    ['12a', -1],
    ['', -1],
    ['+', -1],
  ];
  for (const [text, expected] of cases) assert.is(u32(text), expected, JSON.stringify(text));
});

test('parseU32 agrees with the u64 reading, wrapped, for random digit strings of every length', () => {
  let seed = 12345;
  const random = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let n = 0; n < 5000; n++) {
    const length = 1 + Math.floor(random() * 22);
    let text = random() < 0.1 ? '-' : '';
    for (let i = 0; i < length; i++) text += String(Math.floor(random() * 10));
    const wide = u64(text);
    assert.is(u32(text), wide < 0n ? -1 : Number(wide & 0xffffffffn), text);
  }
});

test('parseU64 and parseI32 at their edges', () => {
  assert.is(u64('18446744073709551615'), 18446744073709551615n);
  assert.is(u64('18446744073709551616'), -1n);
  assert.is(u64('-0'), 0n);
  assert.is(u64('-1'), -1n);
  assert.is(i32('4294967396'), 100);
  assert.is(i32('-5'), -5);
  assert.is(i32('9223372036854775807'), -1);
  assert.ok(Number.isNaN(i32('9223372036854775808')));
  assert.ok(Number.isNaN(i32('x')));
});

test.run();
