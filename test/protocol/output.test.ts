// The reply buffer at its chunk boundary: every writer, called with 0 to 9 bytes left in the
// chunk, must put exactly its bytes after what was written before and change nothing else. (byte()
// once read the chunk before reserving, and wrote into the old chunk when a new one started.)
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { appendU32, appendU64 } from '../../src/protocol/binary/header.ts';
import { Output, decimalAt, decimalDigits } from '../../src/protocol/output.ts';
import { valueLine, valueLineCas, valueLineOf } from '../../src/protocol/text/reply.ts';

const CHUNK_BYTES = 64 * 1024;

function concat(parts: readonly Uint8Array[]): Uint8Array {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.length;
  }
  return all;
}

const ascii = (text: string): number[] => [...text].map((c) => c.charCodeAt(0));
const viewOf = (text: string): DataView => new DataView(new Uint8Array(ascii(text)).buffer);

const WRITERS: ReadonlyArray<[string, (out: Output) => void, number[]]> = [
  ['byte', (out) => out.byte(0x20), [0x20]],
  ['crlf', (out) => out.crlf(), [0x0d, 0x0a]],
  ['ascii', (out) => out.ascii('VALUE'), ascii('VALUE')],
  ['bytes', (out) => out.bytes(new Uint8Array([1, 2, 3, 4, 5]), 1, 3), [2, 3, 4]],
  ['decimal', (out) => out.decimal(1234567), ascii('1234567')],
  ['signed', (out) => out.signed(-42), ascii('-42')],
  ['u64', (out) => out.u64(18446744073709551615n), ascii('18446744073709551615')],
  ['appendU32', (out) => appendU32(out, 0x01020304), [1, 2, 3, 4]],
  ['appendU64', (out) => appendU64(out, 0x0102030405060708n), [1, 2, 3, 4, 5, 6, 7, 8]],
  ['valueLine', (out) => valueLine(out, new Uint8Array(ascii('xkey')), 1, 3, 4294967295, 12, 9007199254740991), ascii('VALUE key 4294967295 12 9007199254740991\r\n')],
  ['valueLineOf', (out) => valueLineOf(out, viewOf('xxa-key-of-nine'), 2, 13, 7, 100, -1), ascii('VALUE a-key-of-nine 7 100\r\n')],
  ['bytesOf, word by word', (out) => out.bytesOf(new Uint8Array(ascii('0123456789')), viewOf('0123456789'), 1, 7), ascii('1234567')],
  ['bytesOf, in one copy', (out) => out.bytesOf(new Uint8Array(100).fill(0x79), new DataView(new ArrayBuffer(100)), 10, 70), ascii('y'.repeat(70))],
  ['valueLineCas', (out) => valueLineCas(out, new Uint8Array(ascii('k')), 0, 1, 0, 0, 18446744073709551615n), ascii('VALUE k 0 0 18446744073709551615\r\n')],
];

for (const [name, write, expected] of WRITERS) {
  test(`${name} with 0 to 9 bytes left in the chunk`, () => {
    for (let left = 0; left <= 9; left++) {
      const out = new Output();
      const filler = new Uint8Array(CHUNK_BYTES - left).fill(0x78);
      out.bytes(filler, 0, filler.length);
      write(out);
      out.byte(0x2e); // a byte after it, so a writer that leaves its bytes behind shows
      const sent = concat(out.take());
      assert.is(sent.length, filler.length + expected.length + 1, `${left} left: length`);
      assert.equal([...sent.subarray(filler.length)], [...expected, 0x2e], `${left} left: the written bytes`);
      assert.ok(sent.subarray(0, filler.length).every((b) => b === 0x78), `${left} left: earlier bytes changed`);
    }
  });
}

test('decimal and decimalAt write every digit count, around the int32 and 2^53 boundaries', () => {
  const values = [0, 7, 9, 10, 99, 100, 1023, 1024, 65535, 2147483646, 2147483647, 2147483648, 4294967295, 4294967296, 99999999999, 9007199254740991];
  for (let digits = 1, p = 1; digits <= 15; digits++, p *= 10) values.push(p, p - 1, p + 1);
  for (const value of values) {
    const out = new Output();
    out.decimal(value);
    assert.equal([...concat(out.take())], ascii(String(value)), `decimal(${value})`);
    const b = new Uint8Array(20);
    const end = decimalAt(b, 2, value);
    assert.is(end, 2 + String(value).length, `decimalAt(${value}): the end`);
    assert.equal([...b.subarray(2, end)], ascii(String(value)), `decimalAt(${value})`);
    assert.is(decimalDigits(value), String(value).length, `decimalDigits(${value})`);
  }
});

test('a take still being written is not overwritten: recycle after keepTaken leaves its bytes alone', () => {
  const out = new Output();
  out.ascii('first');
  const queued = [...out.take()]; // the list is reused by the next take, the parts are not
  out.keepTaken();
  // Another connection's reply, copied by the kernel: recycle() would write the chunk from its start again.
  out.ascii('second');
  assert.equal([...concat(out.take())], ascii('second'));
  out.recycle();
  out.ascii('third!');
  assert.equal([...concat(queued)], ascii('first'), 'the queued bytes are unchanged');
  assert.equal([...concat(out.take())], ascii('third!'));
  // Once a new chunk starts, it is recycled as before.
  out.bytes(new Uint8Array(CHUNK_BYTES), 0, CHUNK_BYTES);
  out.take();
  out.recycle();
  out.ascii('again');
  const again = out.take();
  assert.is(again[0]!.byteOffset, 0, 'the new chunk is written from its start');
});

test('takes of recycled replies of two sizes reuse their two views, and hand out the right bytes', () => {
  const out = new Output();
  const reply = (text: string): Uint8Array => {
    out.ascii(text);
    const part = out.take()[0]!;
    out.recycle();
    return part;
  };
  const hit = reply('VALUE k 0 1\r\nx\r\nEND\r\n');
  const stored = reply('STORED\r\n');
  for (let i = 0; i < 3; i++) {
    const again = reply(`VALUE k 0 1\r\n${i}\r\nEND\r\n`);
    assert.is(again, hit, `hit ${i}: its view again`);
    assert.equal([...again], ascii(`VALUE k 0 1\r\n${i}\r\nEND\r\n`), `hit ${i}: the bytes just written`);
    assert.is(reply('STORED\r\n'), stored, `stored ${i}: its view again`);
  }
  // A third size takes the place of the one used longer ago (the hit's).
  const deleted = reply('DELETED\r\n');
  assert.is(reply('STORED\r\n'), stored);
  assert.is(reply('DELETED\r\n'), deleted);
  assert.is.not(reply('VALUE k 0 1\r\nz\r\nEND\r\n'), hit, 'the hit view was replaced');
});

test('takes of replies with values by reference: the parts in order, as many as written, their views reused while the shape holds', () => {
  const out = new Output();
  const values = new Uint8Array(ascii('abcdefghij'));
  // A reply of `lines` VALUE blocks, each value by reference, then END.
  const reply = (lines: number, tail: string): Uint8Array[] => {
    for (let i = 0; i < lines; i++) {
      out.ascii(`VALUE k${i} 0 2\r\n`);
      out.reference(values, i * 2, 2);
      out.crlf();
    }
    out.ascii(tail);
    const parts = [...out.take()];
    out.recycle();
    return parts;
  };
  const text = (parts: Uint8Array[]): string => String.fromCharCode(...concat(parts));
  const first = reply(1, 'END\r\n');
  assert.is(first.length, 3);
  assert.is(text(first), 'VALUE k0 0 2\r\nab\r\nEND\r\n');
  const again = reply(1, 'END\r\n');
  assert.is(again[0], first[0], 'the VALUE line: its view again');
  assert.is(again[2], first[2], 'the tail: its view again');
  const three = reply(3, 'END\r\n');
  assert.is(three.length, 7);
  assert.is(text(three), 'VALUE k0 0 2\r\nab\r\nVALUE k1 0 2\r\ncd\r\nVALUE k2 0 2\r\nef\r\nEND\r\n');
  // Fewer parts after more: nothing of the longer take is left in the array.
  const taken = (() => {
    out.ascii('VALUE k4 0 2\r\n');
    out.reference(values, 8, 2);
    return out.take();
  })();
  assert.is(taken.length, 2, 'no tail written: two parts');
  assert.is(text(taken), 'VALUE k4 0 2\r\nij');
  out.recycle();
  assert.is(text(reply(0, 'END\r\n')), 'END\r\n');
  // What clear() drops is not taken later.
  out.ascii('VALUE k0 0 2\r\n');
  out.reference(values, 0, 2);
  out.clear();
  assert.is(text(reply(1, 'END\r\n')), 'VALUE k0 0 2\r\nab\r\nEND\r\n');
});

test('borrowed bytes: taken as they are, copied in before anything is appended after them, only on an empty Output', () => {
  const out = new Output();
  const owner = new Uint8Array(ascii('VALUE k 0 1\r\nx\r\nEND\r\n'));
  const text = (parts: Uint8Array[]): string => String.fromCharCode(...concat(parts));
  // Taken: the owner's own bytes, one part.
  assert.ok(out.borrow(owner, 0, owner.length));
  const taken = out.take();
  assert.is(taken.length, 1);
  assert.is(taken[0]!.buffer, owner.buffer, 'not copied');
  assert.is(text(taken), 'VALUE k 0 1\r\nx\r\nEND\r\n');
  out.recycle();
  // Appended after: the borrowed bytes are copied first, so the owner may write over them.
  assert.ok(out.borrow(owner, 0, owner.length));
  out.ascii('STORED\r\n');
  owner[13] = 0x79; // 'y': the owner writes again
  assert.is(text(out.take()), 'VALUE k 0 1\r\nx\r\nEND\r\nSTORED\r\n');
  out.recycle();
  // settleBorrowed copies them in; a reference after a borrow settles it too.
  assert.ok(out.borrow(owner, 0, 5));
  out.settleBorrowed();
  owner[0] = 0x76; // 'v'
  out.reference(owner, 13, 1);
  assert.is(text(out.take()), 'VALUEy');
  out.recycle();
  // Refused when something is written, or while response ends are recorded (UDP).
  out.ascii('X');
  assert.not.ok(out.borrow(owner, 0, 3));
  assert.is(text(out.take()), 'X');
  out.recycle();
  out.recordResponses();
  assert.not.ok(out.borrow(owner, 0, 3));
  out.recordedResponses();
  // Dropped by clear(): nothing of it is taken.
  assert.ok(out.borrow(owner, 0, 3));
  out.clear();
  out.ascii('END\r\n');
  assert.is(text(out.take()), 'END\r\n');
  out.recycle();
});

test('a take of borrowed bytes that is not written at once is in flight until borrowWritten; others are not', () => {
  const out = new Output();
  const owner = new Uint8Array(ascii('END\r\n'));
  out.ascii('STORED\r\n');
  out.take();
  assert.not.ok(out.keepTaken(), 'nothing borrowed');
  assert.not.ok(out.borrowsInFlight);
  out.borrow(owner, 0, owner.length);
  out.take();
  assert.ok(out.keepTaken(), 'borrowed, queued');
  assert.ok(out.borrowsInFlight);
  out.borrow(owner, 0, owner.length);
  out.take();
  out.recycle(); // written at once: nothing more in flight
  assert.not.ok(out.keepTaken(), 'a take written at once is not kept');
  out.borrowWritten();
  assert.not.ok(out.borrowsInFlight);
});

test.run();
