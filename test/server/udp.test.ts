// UDP replies framed as they are sent (src/server/udp.ts): a window of datagrams in flight, frames
// written again once the socket is done with them, requests waiting (within a bound) while a reply
// is framed, and the items a reply shows given back once it is all framed. The framing itself is
// checked against memcached in differential-udp.test.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { UDP_BACKLOG_MAX, UDP_HEADER_BYTES, UDP_IN_FLIGHT_FRAMES, UDP_MAX_PAYLOAD_SIZE, UdpFramer, UdpPort, type UdpReply } from '../../src/server/udp.ts';

const DATA = UDP_MAX_PAYLOAD_SIZE - UDP_HEADER_BYTES;

interface Sent {
  id: number;
  seq: number;
  count: number;
  bytes: number;
  frame: Uint8Array;
  done: () => void;
}

/** A port whose socket keeps every send until the test says it is done. */
function port(replyFor: (request: string) => UdpReply) {
  const sends: Sent[] = [];
  const requests: string[] = [];
  const ignored: number[] = [];
  const udp = new UdpPort<string>({
    answer(request) {
      const text = new TextDecoder().decode(request);
      requests.push(text);
      return replyFor(text);
    },
    ignored(message) {
      ignored.push(message.length);
    },
    send(frame, length, to, done) {
      if (to === 'unreachable') return false;
      assert.is(to, 'peer');
      const view = new DataView(frame.buffer, frame.byteOffset, length);
      sends.push({ id: view.getUint16(0), seq: view.getUint16(2), count: view.getUint16(4), bytes: length - UDP_HEADER_BYTES, frame, done });
      return true;
    },
  });
  const request = (id: number, text: string, count = 1) => {
    const m = new Uint8Array(UDP_HEADER_BYTES + text.length);
    m[0] = id >> 8;
    m[1] = id & 0xff;
    m[4] = count >> 8;
    m[5] = count & 0xff;
    m.set(new TextEncoder().encode(text), UDP_HEADER_BYTES);
    return m;
  };
  return {
    udp,
    sends,
    requests,
    ignored,
    receive: (id: number, text: string, from = 'peer', count = 1) => udp.receive(request(id, text, count), from),
  };
}

test('a long reply is framed a window at a time, into frames used again, and its items go back once it is all framed', () => {
  const value = new Uint8Array(1000 * DATA).fill(0x61);
  let released = 0;
  const p = port(() => ({ parts: [value], ends: [], sent: [() => released++] }));
  p.receive(7, 'get big\r\n');
  assert.is(p.sends.length, UDP_IN_FLIGHT_FRAMES, 'no more than the window before the socket reports');
  assert.is(released, 0);
  for (let reported = 0; reported < p.sends.length; reported++) p.sends[reported]!.done();
  assert.is(p.sends.length, 1000);
  assert.is(released, 1, 'given back once, when the last datagram was framed');
  assert.ok(new Set(p.sends.map((s) => s.frame)).size <= UDP_IN_FLIGHT_FRAMES + 1, 'frames are written again');
  assert.equal(
    p.sends.map((s) => `${s.id} ${s.seq}/${s.count} ${s.bytes}`),
    Array.from({ length: 1000 }, (_, i) => `7 ${i}/1000 ${DATA}`),
  );
});

test('requests that come while a reply is framed wait, in order, and those beyond the backlog are dropped', () => {
  const big = new Uint8Array(UDP_IN_FLIGHT_FRAMES * 2 * DATA);
  const p = port((request) => ({ parts: [request.startsWith('big') ? big : new TextEncoder().encode('OK\r\n')], ends: [], sent: [] }));
  p.receive(1, 'big\r\n');
  const line = `x ${'k'.repeat(1000)}\r\n`;
  let queued = 0;
  while ((queued + 1) * (UDP_HEADER_BYTES + line.length) <= UDP_BACKLOG_MAX) p.receive(2 + queued++, line);
  p.receive(9999, line);
  assert.is(p.udp.waiting, queued, 'the one beyond the backlog was dropped');
  assert.equal(p.requests, ['big\r\n'], 'nothing else runs while the reply is framed');
  for (let reported = 0; reported < p.sends.length; reported++) p.sends[reported]!.done();
  assert.is(p.requests.length, 1 + queued);
  assert.equal(
    p.sends.slice(UDP_IN_FLIGHT_FRAMES * 2).map((s) => s.id),
    Array.from({ length: queued }, (_, i) => 2 + i),
  );
  assert.is(p.udp.waiting, 0);
});

test('a reply the socket cannot send is dropped whole, its items given back, and the next request served', () => {
  let released = 0;
  const p = port(() => ({ parts: [new Uint8Array(10 * DATA)], ends: [], sent: [() => released++] }));
  p.receive(1, 'get big\r\n', 'unreachable');
  assert.is(released, 1);
  assert.is(p.sends.length, 0);
  p.receive(2, 'get big\r\n');
  assert.is(p.sends.length, 10);
  assert.is(released, 2);
});

test('requests wait behind a full window in the order they came, even after the reply before them is framed', () => {
  const p = port((request) => ({ parts: [new Uint8Array((request.startsWith('big') ? UDP_IN_FLIGHT_FRAMES : 1) * DATA)], ends: [], sent: [] }));
  p.receive(1, 'big\r\n');
  assert.is(p.sends.length, UDP_IN_FLIGHT_FRAMES, 'framed whole, and the window is full');
  p.receive(2, 'a\r\n');
  p.receive(3, 'b\r\n');
  assert.equal(p.requests, ['big\r\n'], 'they wait for room');
  p.sends[0]!.done();
  p.receive(4, 'c\r\n');
  for (let reported = 1; reported < p.sends.length; reported++) p.sends[reported]!.done();
  assert.equal(p.requests, ['big\r\n', 'a\r\n', 'b\r\n', 'c\r\n']);
  assert.equal(p.sends.slice(UDP_IN_FLIGHT_FRAMES).map((s) => s.id), [2, 3, 4]);
});

test('a datagram whose header does not count it the only one of its request is ignored, as memcached ignores it', () => {
  const p = port(() => ({ parts: [new TextEncoder().encode('VERSION 1\r\n')], ends: [], sent: [] }));
  for (const count of [0, 2, 256]) p.receive(1, 'version\r\n', 'peer', count);
  assert.equal(p.requests, []);
  assert.equal(p.ignored, [17, 17, 17], 'handed to the driver, which counts them read');
  p.receive(2, 'version\r\n');
  assert.equal(p.requests, ['version\r\n']);
});

test('closing gives back what the reply being framed held, and sends nothing more', () => {
  let released = 0;
  const p = port(() => ({ parts: [new Uint8Array(UDP_IN_FLIGHT_FRAMES * 3 * DATA)], ends: [], sent: [() => released++] }));
  p.receive(1, 'get big\r\n');
  p.udp.close();
  assert.is(released, 1);
  for (const s of [...p.sends]) s.done();
  assert.is(p.sends.length, UDP_IN_FLIGHT_FRAMES);
  p.receive(2, 'get big\r\n');
  assert.is(p.requests.length, 1);
});

/** Every datagram of a reply: `seq/count bytes`. */
function frames(parts: Uint8Array[], ends: number[]): string[] {
  const framer = new UdpFramer(0x1234, parts, ends);
  const frame = new Uint8Array(UDP_MAX_PAYLOAD_SIZE);
  const out: string[] = [];
  for (let n = framer.next(frame); n > 0; n = framer.next(frame)) {
    const view = new DataView(frame.buffer);
    assert.is(view.getUint16(0), 0x1234);
    assert.is(view.getUint16(6), 0);
    out.push(`${view.getUint16(2)}/${view.getUint16(4)} ${n - UDP_HEADER_BYTES}`);
  }
  return out;
}

test('each response is numbered and counted on its own; an empty one inside is a header alone; an empty last one is not sent', () => {
  const bytes = (n: number) => new Uint8Array(n);
  // Responses of 10, 0 (a multi-get's miss), DATA + 1 and 5 bytes, across parts cut anywhere.
  assert.equal(frames([bytes(7), bytes(DATA + 9)], [10, 10, 11 + DATA]), ['0/1 10', '0/0 0', '0/2 1392', '1/2 1', '0/1 5']);
  assert.equal(frames([bytes(3)], [3]), ['0/1 3'], 'a noreply command last sends nothing');
  assert.equal(frames([], []), []);
});

test('a response of more than 65,535 datagrams wraps the count and sequence, as memcached writes them (two bytes each)', () => {
  const chunk = new Uint8Array(DATA);
  const parts = Array.from({ length: 65_537 }, () => chunk);
  const out = frames(parts, []);
  assert.is(out.length, 65_537);
  assert.is(out[0], `0/1 ${DATA}`);
  assert.is(out[65_535], `65535/1 ${DATA}`);
  assert.is(out[65_536], `0/1 ${DATA}`);
});

test.run();
