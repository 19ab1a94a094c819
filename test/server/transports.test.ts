// The server's transports and connection handling over real sockets: UDP framing, a unix socket
// with its mask, -c refusal, idle_timeout, backpressure, and one connection's bad input leaving
// the others served.
import { createSocket } from 'node:dgram';
import { statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServerOptions } from '../../src/server/server.ts';
import { Client, startServer } from './serve.ts';

test('UDP round trip on a bound port', async () => {
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', () => resolve()));
  const port = probe.address().port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const s = await startServer('wasm', { udpPort: port });
  const c = await Client.open(s.port);
  const value = 'v'.repeat(3000);
  assert.is(await c.request(`set big 0 0 ${value.length}\r\n${value}\r\n`), 'STORED\r\n');
  const udp = createSocket('udp4');
  const frames: Buffer[] = [];
  udp.on('message', (m) => frames.push(m));
  const header = Buffer.from([0x12, 0x34, 0, 0, 0, 1, 0, 0]);
  udp.send(Buffer.concat([header, Buffer.from('get big\r\n')]), port, '127.0.0.1');
  const deadline = Date.now() + 2000;
  while (Date.now() < deadline && (frames.length === 0 || frames.length < frames[0]!.readUInt16BE(4))) {
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  udp.close();
  assert.ok(frames.length >= 3, `${frames.length} datagrams`);
  frames.sort((a, b) => a.readUInt16BE(2) - b.readUInt16BE(2));
  for (const [i, f] of frames.entries()) {
    assert.is(f.readUInt16BE(0), 0x1234, 'request id');
    assert.is(f.readUInt16BE(2), i, 'sequence');
    assert.is(f.readUInt16BE(4), frames.length, 'count');
    assert.ok(f.length <= 1400);
  }
  const reply = Buffer.concat(frames.map((f) => f.subarray(8))).toString('latin1');
  assert.is(reply, `VALUE big 0 3000\r\n${value}\r\nEND\r\n`);
  c.close();
  await s.close();
});

// Each test runs over both ways of serving a connection: Node's stream handles (the default) and
// net.Socket (the fallback, forced with WASMCACHED_TRANSPORT=net).
for (const transport of ['handles', 'net'] as const) {
  const serve = async (options: Partial<ServerOptions> = {}) => {
    if (transport === 'net') process.env.WASMCACHED_TRANSPORT = 'net';
    else delete process.env.WASMCACHED_TRANSPORT;
    const s = await startServer('wasm', options);
    delete process.env.WASMCACHED_TRANSPORT;
    assert.is(s.server.onStreamHandles, transport === 'handles', 'served as intended');
    return s;
  };

  test(`${transport}: a connection the server ends is closed fully: what the client sends after quit is reset`, async () => {
    const s = await serve();
    // allowHalfOpen: the client may go on writing after the server's FIN, as a pipelining client does.
    const socket = connect({ port: s.port, host: '127.0.0.1', allowHalfOpen: true });
    socket.resume();
    const ended = new Promise<void>((resolve) => socket.once('end', () => resolve()));
    const outcome = new Promise<string>((resolve) => {
      socket.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? String(e)));
      setTimeout(() => resolve('no reset within 2 s'), 2000);
    });
    socket.write('quit\r\n');
    await ended;
    // A half-closed server socket would take these in silence; a closed one answers with a reset.
    for (let i = 0; i < 3; i++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      if (!socket.destroyed) socket.write('version\r\n');
    }
    assert.ok(['ECONNRESET', 'EPIPE'].includes(await outcome), await outcome);
    socket.destroy();
    await s.close();
  });

  test(`${transport}: unix socket: served, with the -a mask as its permissions, and no TCP port`, async () => {
    const path = join(tmpdir(), `wasmcached-test-${process.pid}.sock`);
    const s = await serve({ socketPath: path, socketMask: 0o766 });
    assert.is(statSync(path).mode & 0o777, 0o766);
    assert.equal(s.server.tcpPorts(), []);
    const socket = connect({ path });
    const reply = await new Promise<string>((resolve) => {
      socket.on('data', (d) => resolve(d.toString('latin1')));
      socket.write('version\r\n');
    });
    assert.is(reply, 'VERSION 1.6.18\r\n');
    socket.destroy();
    await s.close();
  });

  test(`${transport}: -c: a connection over the limit is told and closed, and counted as rejected`, async () => {
    // memcached -c 27 with one listener takes two clients (its limit counts 23 reserved descriptors).
    const s = await serve({ connLimit: 27 });
    const a = await Client.open(s.port);
    const b = await Client.open(s.port);
    const c = await Client.open(s.port);
    assert.is(await c.until('\r\n'), 'ERROR Too many open connections\r\n');
    await c.settle(50);
    assert.ok(c.closed);
    assert.match(await a.request('stats\r\n', 'END\r\n'), /STAT rejected_connections 1\r\n/);
    a.close();
    b.close();
    await s.close();
  });

  test(`${transport}: idle_timeout: an idle connection is closed`, async () => {
    const s = await serve({ idleTimeout: 1 });
    const c = await Client.open(s.port);
    assert.is(await c.request('version\r\n'), 'VERSION 1.6.18\r\n');
    await c.settle(1300);
    assert.ok(c.closed);
    await s.close();
  });

  test(`${transport}: backpressure: a client that does not read stops being read, others are served, nothing is lost`, async () => {
    const s = await serve();
    const setup = await Client.open(s.port);
    const value = 'x'.repeat(100_000);
    assert.is(await setup.request(`set v 0 0 ${value.length}\r\n${value}\r\n`), 'STORED\r\n');
    const slow = await Client.open(s.port);
    slow.socket.pause();
    for (let i = 0; i < 400; i++) slow.send('get v\r\n');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The server stopped producing replies for it (40 MB of them) and still serves others.
    const stats = await setup.request('stats\r\n', 'END\r\n');
    const written = Number(/STAT bytes_written (\d+)/.exec(stats)![1]);
    assert.ok(written < 20_000_000, `${written} bytes written before the client read anything`);
    slow.socket.resume();
    const expected = `VALUE v 0 100000\r\n${value}\r\nEND\r\n`.repeat(400);
    let all = '';
    while (all.length < expected.length) {
      const more = await slow.until('END\r\n', 5000);
      if (more === '') break;
      all += more;
    }
    assert.is(all.length, expected.length);
    assert.ok(all === expected, 'every reply arrives, in order');
    setup.close();
    slow.close();
    await s.close();
  });

  test(`${transport}: replies queued for a client that does not read are not overwritten by other clients' replies`, async () => {
    // Values under 4 KB are copied into the reply buffer every connection shares; a write the
    // kernel did not take keeps pointing into it while other connections' replies are written.
    const s = await serve();
    const setup = await Client.open(s.port);
    const value = (i: number): string => String.fromCharCode(97 + (i % 26)).repeat(3000);
    for (let i = 0; i < 26; i++) assert.is(await setup.request(`set k${i} 0 0 3000\r\n${value(i)}\r\n`), 'STORED\r\n');
    const slow = connect({ port: s.port, host: '127.0.0.1' });
    await new Promise<void>((resolve) => slow.once('connect', () => resolve()));
    slow.pause();
    // 15 MB of replies: more than the kernel's socket buffers take, so writes queue.
    const expected: string[] = [];
    for (let i = 0; i < 5000; i++) {
      slow.write(`get k${i % 26}\r\n`);
      expected.push(`VALUE k${i % 26} 0 3000\r\n${value(i)}\r\nEND\r\n`);
    }
    const want = expected.join('');
    await new Promise((resolve) => setTimeout(resolve, 300));
    // Others are served meanwhile, each reply written whole at once.
    const fast = await Client.open(s.port);
    for (let i = 0; i < 200; i++) {
      const k = 25 - (i % 26);
      assert.is(await fast.request(`get k${k}\r\n`, 'END\r\n'), `VALUE k${k} 0 3000\r\n${value(k)}\r\nEND\r\n`);
    }
    const chunks: Buffer[] = [];
    let got = 0;
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 10_000);
      slow.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        got += chunk.length;
        if (got >= want.length) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    slow.resume();
    await done;
    const all = Buffer.concat(chunks).toString('latin1');
    assert.is(all.length, want.length);
    if (all !== want) {
      let first = 0;
      while (all[first] === want[first]) first++;
      assert.unreachable(`the slow client's replies changed from byte ${first} on`);
    }
    setup.close();
    slow.destroy();
    fast.close();
    await s.close();
  });

  test(`${transport}: a value sent by reference stays as it was while its write waits, whatever happens to the item`, async () => {
    const s = await serve();
    const setup = await Client.open(s.port);
    const before = 'a'.repeat(60_000);
    assert.is(await setup.request(`set v 0 0 ${before.length}\r\n${before}\r\n`), 'STORED\r\n');
    const slow = await Client.open(s.port);
    slow.socket.pause();
    for (let i = 0; i < 100; i++) slow.send('get v\r\n');
    await new Promise((resolve) => setTimeout(resolve, 200));
    // Replaced, deleted, and the memory churned by other values of the same size class.
    const after = 'b'.repeat(60_000);
    assert.is(await setup.request(`set v 0 0 ${after.length}\r\n${after}\r\n`), 'STORED\r\n');
    assert.is(await setup.request('delete v\r\n'), 'DELETED\r\n');
    for (let i = 0; i < 50; i++) assert.is(await setup.request(`set o${i} 0 0 ${after.length}\r\n${after}\r\n`), 'STORED\r\n');
    slow.socket.resume();
    // Gets read before the client stopped reading hit the old value; those read after it
    // resumed miss the deleted key.
    const hit = `VALUE v 0 ${before.length}\r\n${before}\r\nEND\r\n`;
    let replies = 0;
    let hits = 0;
    let rest = '';
    while (replies < 100) {
      const more = await slow.until('END\r\n', 5000);
      if (more === '') break;
      rest += more;
      for (;;) {
        if (rest.startsWith(hit)) {
          rest = rest.slice(hit.length);
          hits++;
        } else if (rest.startsWith('END\r\n')) {
          rest = rest.slice(5);
        } else {
          break;
        }
        replies++;
      }
    }
    assert.is(replies, 100, 'every reply is the old value whole, or a miss');
    assert.is(rest, '');
    assert.ok(hits > 10, `${hits} replies were waiting to be written when the item changed`);
    // Every item the replies held was given back: the old value's memory is free again.
    const stats = await setup.request('stats\r\n', 'END\r\n');
    assert.match(stats, /STAT curr_items 50\r\n/);
    setup.close();
    slow.close();
    await s.close();
  });

  test(`${transport}: long values arriving in pieces (read straight into the item) are stored whole; one cut off is dropped`, async () => {
    const s = await serve();
    const c = await Client.open(s.port);
    const value = Buffer.from(Array.from({ length: 300_000 }, (_, i) => 0x21 + ((i * 7) % 90)));
    const pause = () => new Promise((resolve) => setTimeout(resolve, 5));
    for (const cut of [1, 70_000, 150_001, 299_999]) {
      c.send(`set long 0 0 ${value.length}\r\n`);
      await pause();
      c.send(value.subarray(0, cut));
      await pause();
      c.send(value.subarray(cut, cut + 20_000));
      await pause();
      c.send(Buffer.concat([value.subarray(cut + 20_000), Buffer.from('\r\nget long\r\n')]));
      const reply = await c.until('END\r\n');
      assert.ok(reply === `STORED\r\nVALUE long 0 ${value.length}\r\n${value.toString('latin1')}\r\nEND\r\n`, `cut at ${cut}`);
    }
    // A client that goes away halfway through a value: its item is given back, nothing else changes.
    const quitter = await Client.open(s.port);
    quitter.send(`set gone 0 0 ${value.length}\r\n`);
    quitter.send(value.subarray(0, 100_000));
    await pause();
    quitter.close();
    await pause();
    assert.match(await c.request('stats\r\n', 'END\r\n'), /STAT curr_items 1\r\n/);
    assert.is(await c.request('get gone\r\n', 'END\r\n'), 'END\r\n');
    const again = await c.request('get long\r\n', 'END\r\n');
    assert.ok(again === `VALUE long 0 ${value.length}\r\n${value.toString('latin1')}\r\nEND\r\n`);
    c.close();
    await s.close();
  });

  if (transport === 'handles') {
    /** Runs `check` with a connection (`writer`) whose server handle is watched (spy.served[0]). */
    const withWatchedWriter = async (check: (writer: Client, spy: HandleSpy) => Promise<void>) => {
      const s = await serve();
      const c = await Client.open(s.port);
      // Served (its listener made) before the watching starts.
      assert.match(await c.request('version\r\n'), /^VERSION /);
      const spy = spyOnServedHandles(c);
      try {
        const writer = await Client.open(s.port);
        assert.match(await writer.request('version\r\n'), /^VERSION /);
        assert.is(spy.served.length, 1, 'one connection served');
        await check(writer, spy);
        writer.close();
      } finally {
        spy.restore();
        c.close();
        await s.close();
      }
    };
    const pause = () => new Promise((resolve) => setTimeout(resolve, 2));

    test('handles: long values are read into their items, moving the reads by onread’s return, not by stacking a listener per value', () =>
      withWatchedWriter(async (writer, spy) => {
        // Count the reads moved by onread's return (into an item, back to the shared buffer).
        let moved = 0;
        spy.onRead(spy.served[0]!, (next) => {
          if (next instanceof Uint8Array) moved++;
        });
        const value = Buffer.from(Array.from({ length: 100_000 }, (_, i) => 0x21 + ((i * 13) % 90)));
        for (let i = 0; i < 20; i++) {
          writer.send(`set v${i} 0 0 ${value.length}\r\n`);
          writer.send(value.subarray(0, 1000));
          await pause();
          writer.send(value.subarray(1000, 60_000));
          await pause();
          assert.is(await writer.request(Buffer.concat([value.subarray(60_000), Buffer.from('\r\n')])), 'STORED\r\n');
        }
        for (const i of [0, 19]) {
          const reply = await writer.request(`get v${i}\r\n`, 'END\r\n');
          assert.ok(reply === `VALUE v${i} 0 ${value.length}\r\n${value.toString('latin1')}\r\nEND\r\n`, `v${i} whole`);
        }
        // One listener, made at the connection's start; each value's reads went into it and back.
        assert.is(spy.served.length, 1, 'useUserBuffer calls');
        assert.ok(moved >= 2 * 20, `reads moved ${moved} times`);
      }));

    test('handles: a read into an item asks for a byte past the CRLF: no empty read after a long set, and a next command cut there is whole', () =>
      withWatchedWriter(async (writer, spy) => {
        // Reads that found nothing (EAGAIN): libuv reads again at once after a read that filled
        // what it asked for, so a read into the item of exactly the rest of the data is one.
        let empty = 0;
        spy.onRead(spy.served[0]!, () => {
          if (streamState.state[streamState.kRead] === 0) empty++;
        });
        const value = Buffer.from(Array.from({ length: 100_000 }, (_, i) => 0x21 + ((i * 11) % 90)));
        const start = `${value.subarray(0, 1000).toString('latin1')}`;
        for (let i = 0; i < 20; i++) {
          writer.send(`set w${i} 0 0 ${value.length}\r\n${start}`);
          await pause();
          assert.is(await writer.request(Buffer.concat([value.subarray(1000), Buffer.from('\r\n')])), 'STORED\r\n');
        }
        // 20 with a read of exactly the rest; a stray one may come of a read that ended the
        // shared buffer just where the client's bytes did.
        assert.ok(empty <= 2, `${empty} empty reads after 20 long sets`);
        // The next command right behind the data: its first byte is read into the item's room.
        const whole = (key: string) => `VALUE ${key} 0 ${value.length}\r\n${value.toString('latin1')}\r\nEND\r\n`;
        const cases: Array<[next: string, rest: string, reply: string]> = [
          ['get w0\r\n', '', `STORED\r\n${whole('w0')}`],
          ['\r\n', '', 'STORED\r\nERROR\r\n'],
          ['mn\r\n', '', 'STORED\r\nMN\r\n'],
          // Cut after its first byte: the rest comes once STORED is in.
          ['g', 'et x\r\n', whole('x')],
        ];
        for (const [next, rest, reply] of cases) {
          writer.send(`set x 0 0 ${value.length}\r\n${start}`);
          await pause();
          writer.send(Buffer.concat([value.subarray(1000), Buffer.from(`\r\n${next}`)]));
          if (rest !== '') {
            assert.is(await writer.until('STORED\r\n'), 'STORED\r\n');
            writer.send(rest);
          }
          const got = await writer.until(reply.slice(-5));
          assert.ok(got === reply, `${JSON.stringify(next)} after the data: ${got.slice(0, 40)}...${got.slice(-20)}`);
        }
      }));

    test('handles: after a long store the next read asks for 2 KB at most, so the kernel reads all but that much of the next long value into its item', () =>
      withWatchedWriter(async (writer, spy) => {
        // The lengths of the buffers onread moved the reads to: the short buffer, an item's rest.
        const targets: number[] = [];
        spy.onRead(spy.served[0]!, (next) => {
          if (next instanceof Uint8Array) targets.push(next.length);
        });
        const value = Buffer.from(Array.from({ length: 100_000 }, (_, i) => 0x21 + ((i * 17) % 90)));
        const longSet = (key: string) => Buffer.concat([Buffer.from(`set ${key} 0 0 ${value.length}\r\n`), value, Buffer.from('\r\n')]);
        assert.is(await writer.request(longSet('first')), 'STORED\r\n');
        assert.ok(targets.includes(2048), `a 2 KB read asked for after the first long set: ${targets.join(' ')}`);
        targets.length = 0;
        assert.is(await writer.request(longSet('second')), 'STORED\r\n');
        // The item's rest: the value and CRLF, and the byte past them, less what the 2 KB read brought.
        const rest = Math.max(...targets);
        assert.ok(rest > value.length - 2048 && rest <= value.length + 3, `read into the item: ${rest} bytes (${targets.join(' ')})`);
        const reply = await writer.request('get second\r\n', 'END\r\n');
        assert.ok(reply === `VALUE second 0 ${value.length}\r\n${value.toString('latin1')}\r\nEND\r\n`, 'second whole');
        // A short store ends it: the next long value's first read is the transport's 16 KB again.
        assert.is(await writer.request('set short 0 0 1\r\nx\r\n'), 'STORED\r\n');
        targets.length = 0;
        assert.is(await writer.request(longSet('third')), 'STORED\r\n');
        assert.ok(Math.max(...targets) < value.length - 8 * 1024, `read into the item after a short store: ${targets.join(' ')}`);
      }));
  }

  test(`${transport}: a read shorter than the last sees none of its bytes (the read buffer is shared and reused)`, async () => {
    const s = await serve();
    const a = await Client.open(s.port);
    const b = await Client.open(s.port);
    const key = 'k'.repeat(150);
    // A long read leaves LFs all over the shared buffer; a shorter partial line must not find
    // them, whether it is shorter than the JavaScript scan (64 bytes) or longer.
    const long = `set ${key} 0 0 1\r\nx\r\n`.repeat(25);
    assert.is(await a.request(long, 'STORED\r\n'.repeat(25)), 'STORED\r\n'.repeat(25));
    for (const [partial, reply] of [['get short', 'END\r\n'], [`get ${key}`, `VALUE ${key} 0 1\r\nx\r\nEND\r\n`]] as const) {
      b.send(partial);
      assert.is(await b.settle(100), '', `${partial.length} bytes of a line: no reply yet`);
      assert.is(await b.request('\r\n', 'END\r\n'), reply, `${partial.length} bytes of a line, then its end`);
    }
    a.close();
    b.close();
    await s.close();
  });

  test(`${transport}: garbage on one connection does not disturb another`, async () => {
    const s = await serve();
    const good = await Client.open(s.port);
    const bad = await Client.open(s.port);
    bad.send(Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 256)));
    assert.is(await good.request('set a 0 0 1\r\nx\r\n'), 'STORED\r\n');
    assert.is(await good.request('get a\r\n', 'END\r\n'), 'VALUE a 0 1\r\nx\r\nEND\r\n');
    bad.close();
    good.close();
    await s.close();
  });
}

interface HandleSpy {
  /** The server's handles, in the order they started being read. */
  served: object[];
  /** Calls `seen` after each of the handle's reads with what its onread returned. */
  onRead(h: object, seen: (next: unknown) => void): void;
  restore(): void;
}

/** The stream bindings' read state: what a handle's onread reads the result of its read from. */
const streamState = (() => {
  const b = (process as unknown as { binding(name: string): { streamBaseState: Int32Array; kReadBytesOrError: number } }).binding('stream_wrap');
  return { state: b.streamBaseState, kRead: b.kReadBytesOrError };
})();

/**
 * Records the server's TCP handles as each starts being read (useUserBuffer, once a connection),
 * found on the prototype chain of the client's own handle (`c`), and lets a test watch a served
 * handle's reads; `restore` puts the prototype's method back.
 */
function spyOnServedHandles(c: Client): HandleSpy {
  const handle = (c.socket as unknown as { _handle: object })._handle;
  let owner: Record<string, unknown> | undefined;
  for (let p: object | null = handle; p !== null && owner === undefined; p = Object.getPrototypeOf(p) as object | null) {
    if (Object.getOwnPropertyDescriptor(p, 'useUserBuffer') !== undefined) owner = p as Record<string, unknown>;
  }
  if (owner === undefined) throw new Error('no useUserBuffer on a TCP handle');
  const proto = owner;
  const useUserBuffer = proto.useUserBuffer as (this: object, b: Uint8Array) => void;
  const served: object[] = [];
  proto.useUserBuffer = function (this: object, b: Uint8Array) {
    served.push(this);
    useUserBuffer.call(this, b);
  };
  return {
    served,
    onRead(h: object, seen: (next: unknown) => void): void {
      const target = h as { onread: (this: unknown) => unknown };
      const onread = target.onread;
      target.onread = function (this: unknown) {
        const next = onread.call(this);
        seen(next);
        return next;
      };
    },
    restore: () => {
      proto.useUserBuffer = useUserBuffer;
    },
  };
}

test.run();
