// The connection state machine without sockets: a session fed whole, one byte at a time, and split
// at every boundary gives the same replies (commands and values cut anywhere, CRLF split).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { fakeConnection } from './serve.ts';

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

test('-R: a connection yields after reqs_per_event commands and finishes the batch later', async () => {
  const s = await session(2);
  s.conn.receive(Buffer.from('version\r\n'.repeat(5), 'latin1'));
  assert.is(s.reply(), 'VERSION 1.6.18\r\n'.repeat(2));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.is(s.reply(), 'VERSION 1.6.18\r\n'.repeat(3));
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

test.run();
