// UDP against the real memcached (protocol.txt "UDP protocol"): the same requests go to a fresh
// memcached and a fresh wasmcached, each listening for UDP on its TCP port's number, and the
// datagrams that come back must be the same: request id, sequence number, count and bytes, in
// order. memcached 1.6 frames each response on its own (each command's reply, each key of a
// multi-key get, an empty one for a key that missed), counts the frame headers in bytes_read and
// bytes_written, and ignores a datagram whose header gives its request another count than 1.
// Binary requests over UDP are not compared: memcached 1.6.18 sends a quiet command's silence as a
// header-only datagram, by rules not worked out here (two quiet misses in a row give one).
import { createSocket, type Socket } from 'node:dgram';
import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { startServer, type ServerKind, type ServerProcess } from './oracle.ts';

const HOST = '127.0.0.1';
/** Quiet time after the last datagram that ends a reply. */
const QUIET_MS = 150;

/** A request's datagrams, each as `id seq/count: bytes`. */
async function ask(udp: Socket, port: number, requestId: number, request: string, count = 1): Promise<string[]> {
  const got: string[] = [];
  let last = Date.now();
  const onMessage = (m: Buffer) => {
    got.push(`${m.readUInt16BE(0)} ${m.readUInt16BE(2)}/${m.readUInt16BE(4)} r${m.readUInt16BE(6)}: ${JSON.stringify(m.subarray(8).toString('latin1'))}`);
    last = Date.now();
  };
  udp.on('message', onMessage);
  const header = Buffer.from([requestId >> 8, requestId & 0xff, 0, 0, count >> 8, count & 0xff, 0, 0]);
  udp.send(Buffer.concat([header, Buffer.from(request, 'latin1')]), port, HOST);
  while (Date.now() - last < QUIET_MS) await new Promise((resolve) => setTimeout(resolve, 20));
  udp.off('message', onMessage);
  return got;
}

/** Sends `text` over TCP and waits for `until` at the end of the reply. */
function tcp(port: number, text: string, until: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: HOST });
    let reply = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      reply += chunk;
      if (reply.endsWith(until)) {
        socket.end();
        resolve(reply);
      }
    });
    socket.on('error', reject);
    socket.write(text, 'latin1');
  });
}

const value = (n: number, c: string) => c.repeat(n);
const SETUP = [
  `set a 0 0 3\r\nabc\r\n`,
  `set b 5 0 3000\r\n${value(3000, 'y')}\r\n`,
  `set long 0 0 100000\r\n${value(100000, 'z')}\r\n`,
  `set n 0 0 2\r\n10\r\n`,
].join('');

const REQUESTS = [
  'get a\r\n',
  'get zz\r\n',
  'get a b a\r\n',
  'get zz a zz\r\n',
  'get zz zz\r\n',
  'gets a b\r\n',
  'get a\r\nget b\r\nget zz\r\n',
  'get long a\r\n',
  'set c 0 0 1\r\nx\r\nget c\r\n',
  'set d 0 0 1 noreply\r\ny\r\nget d\r\n',
  'incr n 5\r\ndecr n 1\r\ntouch a 0\r\ndelete c\r\ndelete c\r\n',
  // What closes a TCP connection ends only its datagram: the next one is answered.
  'GET / HTTP/1.1\r\nversion\r\n',
  'version\r\nversion\r\n',
  'mg a v\r\nmg b v f\r\nmg zz v\r\nmg zz v q\r\nmn\r\n',
  'ms m 2\r\nhi\r\nmg m v c\r\nma n\r\nmd m q\r\nmn\r\n',
  'bogus\r\n',
  'get a\r\nbogus\r\nget zz\r\n',
  // Last: after a quit inside a datagram, the memcached thread that read it answers only the
  // first response of each later datagram of several commands (seen with 'get a bogus get zz').
  'version\r\nquit\r\nversion\r\n',
];

async function session(kind: ServerKind): Promise<{ replies: string[][]; stats: string }> {
  const server: ServerProcess = await startServer(kind, [], { udp: true });
  const udp = createSocket('udp4');
  try {
    await new Promise<void>((resolve) => udp.bind(0, HOST, () => resolve()));
    await tcp(server.port, SETUP, 'STORED\r\nSTORED\r\nSTORED\r\nSTORED\r\n');
    const replies: string[][] = [];
    for (const [i, request] of REQUESTS.entries()) replies.push(await ask(udp, server.port, 100 + i, request));
    // A datagram that says its request has several (or none) is ignored, and counted as read.
    for (const count of [0, 2]) replies.push(await ask(udp, server.port, 200 + count, 'version\r\n', count));
    const stats = await tcp(server.port, 'stats\r\n', 'END\r\n');
    const counts = ['bytes_read', 'bytes_written', 'cmd_get', 'get_hits', 'get_misses', 'cmd_set', 'cmd_touch']
      .map((name) => new RegExp(`STAT ${name} \\d+`).exec(stats)?.[0] ?? `${name} missing`)
      .join('\n');
    return { replies, stats: counts };
  } finally {
    udp.close();
    await server.stop();
  }
}

test('UDP: each response framed on its own, as memcached frames it; the counts in stats', async () => {
  const [theirs, ours] = await Promise.all([session('memcached'), session('wasmcached')]);
  for (const [i, request] of REQUESTS.entries()) {
    if (!request.startsWith('GET /')) assert.ok(theirs.replies[i]!.length > 0, `memcached answered ${JSON.stringify(request)}`);
    assert.equal(ours.replies[i], theirs.replies[i], JSON.stringify(request));
  }
  assert.equal(ours.replies.slice(REQUESTS.length), [[], []], 'the datagrams of several-datagram requests ignored');
  assert.equal(theirs.replies.slice(REQUESTS.length), [[], []], 'as memcached ignores them');
  assert.is(ours.stats, theirs.stats);
});

test.run();
