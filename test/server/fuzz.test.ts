// Fuzzing the text and meta parsers through a connection, in process: random bytes and mutated
// commands, fed in random splits. Nothing may throw, buffered input stays bounded, and the
// engine's structures stay consistent (debug build self-check).
import { createSocket } from 'node:dgram';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { LINE_MAX_GET } from '../../src/server/connection.ts';
import { READ_BUFFER_BYTES } from '../../src/server/stream-handle.ts';
import { Client, fakeConnection, startServer } from './serve.ts';
import { rng } from './random.ts';

const CASES = 30_000;


const CORPUS = [
  'get a b c\r\n', 'gets a\r\n', 'gat 10 a b\r\n', 'gats 0 a\r\n',
  'set a 0 0 3\r\nabc\r\n', 'add b 5 100 2 noreply\r\nxy\r\n', 'replace a 1 0 1\r\nz\r\n',
  'append a 0 0 2\r\n!!\r\n', 'prepend a 0 0 2\r\n<<\r\n', 'cas a 0 0 1 1\r\nq\r\n',
  'incr n 5\r\n', 'decr n 18446744073709551615\r\n', 'set n 0 0 2\r\n99\r\n',
  'delete a\r\n', 'delete a 0 noreply\r\n', 'touch a 10\r\n', 'flush_all\r\n', 'flush_all 10 noreply\r\n',
  'version\r\n', 'verbosity 1\r\n', 'stats\r\n', 'stats items\r\n', 'stats slabs\r\n', 'stats settings\r\n',
  'stats sizes\r\n', 'stats detail on\r\n', 'stats cachedump 1 5\r\n', 'stats reset\r\n',
  'mn\r\n', 'mg a v k c f s t\r\n', 'ms a 2 T10 F5\r\nhi\r\n', 'md a q\r\n', 'ma n D5 N0 J10\r\n',
  'me a\r\n', 'mg YQ== b v\r\n', 'ms a 3 MA I\r\nabc\r\n',
  'lru_crawler metadump all\r\n', 'lru_crawler metadump 1,2\r\n', 'lru_crawler metadump hash\r\n', 'lru_crawler crawl all\r\n',
  'lru_crawler sleep 10\r\n', 'lru_crawler tocrawl 5\r\n', 'lru_crawler enable\r\n', 'quit\r\n', 'GET / HTTP/1.1\r\n',
];
/** Replies the fuzzing must provoke at least once, so that it is known to reach past the parser. */
const REPLY_KINDS = ['STORED', 'VALUE ', 'END', 'DELETED', 'NOT_FOUND', 'ERROR', 'CLIENT_ERROR', 'TOUCHED', 'STAT ', 'OK', 'VERSION'];
const NUMBERS = ['-1', '0', '4294967296', '18446744073709551616', '99999999999', '2147483647', '-2147483649', '+1', '1e3', ''];

function mutate(random: () => number, input: string, corpus: readonly string[] = CORPUS): string {
  let s = input;
  const edits = 1 + Math.floor(random() * 4);
  for (let e = 0; e < edits; e++) {
    const at = Math.floor(random() * (s.length + 1));
    switch (Math.floor(random() * 6)) {
      case 0: // flip a byte
        s = s.slice(0, at) + String.fromCharCode(Math.floor(random() * 256)) + s.slice(at + 1);
        break;
      case 1: // delete a run
        s = s.slice(0, at) + s.slice(at + Math.floor(random() * 8));
        break;
      case 2: // insert protocol-ish bytes
        s = s.slice(0, at) + [' ', '\r', '\n', '\r\n', '\0', 'noreply', ' 0'][Math.floor(random() * 7)] + s.slice(at);
        break;
      case 3: // a number replaced by an edge value
        s = s.replace(/\d+/, NUMBERS[Math.floor(random() * NUMBERS.length)]!);
        break;
      case 4: // splice another command in
        s = s.slice(0, at) + corpus[Math.floor(random() * corpus.length)]! + s.slice(at);
        break;
      default: // truncate
        s = s.slice(0, at);
    }
  }
  return s;
}

function randomBytes(random: () => number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = random() < 0.1 ? [0x0d, 0x0a, 0x20, 0x00][Math.floor(random() * 4)]! : Math.floor(random() * 256);
  return out;
}

test(`${CASES} random and mutated inputs in random splits: no throw, bounded input, engine consistent`, async () => {
  const random = rng(20261121);
  let s = await fakeConnection({ reqsPerEvent: 1_000_000 }, { cache_size: '4m', wasm_build: 'debug' });
  const check = (): void => (s.engine as unknown as { selfCheck(): void }).selfCheck();
  const seen = new Set<string>();
  for (let i = 0; i < CASES; i++) {
    const bytes =
      random() < 0.2
        ? randomBytes(random, Math.floor(random() * 64))
        : Buffer.from(mutate(random, CORPUS[Math.floor(random() * CORPUS.length)]!), 'latin1');
    for (let at = 0; at < bytes.length; ) {
      const n = 1 + Math.floor(random() * bytes.length);
      try {
        s.conn.receive(bytes.subarray(at, at + n));
      } catch (error) {
        assert.unreachable(`case ${i} (${JSON.stringify(Buffer.from(bytes).toString('latin1'))}) threw: ${String(error)}`);
      }
      at += n;
    }
    assert.ok(s.conn.bufferedBytes() <= LINE_MAX_GET, `case ${i}: ${s.conn.bufferedBytes()} bytes buffered`);
    const reply = s.reply();
    for (const kind of REPLY_KINDS) if (reply.includes(kind)) seen.add(kind);
    if (s.closed() || i % 500 === 499) {
      check();
      s.conn.closedByPeer();
      s = await fakeConnection({ reqsPerEvent: 1_000_000 }, { cache_size: '4m', wasm_build: 'debug' });
    }
  }
  // The mutations must reach every path, not only the error lines.
  assert.equal([...seen].sort(), [...REPLY_KINDS].sort());
});

/** The corpus without stats (bytes_read in the middle of a session depends on how input was split). */
const CORPUS_NO_STATS = CORPUS.filter((line) => !line.startsWith('stats'));

/**
 * A random session of mostly single-key gets (the lines a connection answers together when they
 * arrive in one read) among multi-key gets, stores, deletes and mutated commands.
 */
function getHeavySession(random: () => number): string {
  const key = (): string => `k${Math.floor(random() * 14)}`;
  const lines: string[] = [];
  for (let i = 0; i < 10; i++) lines.push(i % 4 === 0 ? `set k${i} ${i} 0 5000\r\n${String(i).repeat(5000)}\r\n` : `set k${i} ${i} 0 2\r\nv${i}\r\n`);
  const n = 1 + Math.floor(random() * 60);
  for (let i = 0; i < n; i++) {
    const r = random();
    if (r < 0.7) lines.push(`get ${key()}\r\n`);
    else if (r < 0.78) lines.push(`get ${key()} ${key()}\r\n`);
    else if (r < 0.83) lines.push(`gets ${key()}\r\n`);
    else if (r < 0.88) lines.push(`set ${key()} 0 0 1\r\nx\r\n`);
    else if (r < 0.92) lines.push(`delete ${key()}\r\n`);
    else lines.push(mutate(random, `get ${key()}\r\n${CORPUS_NO_STATS[Math.floor(random() * CORPUS_NO_STATS.length)]!}`, CORPUS_NO_STATS));
  }
  return lines.join('');
}

type Fake = Awaited<ReturnType<typeof fakeConnection>>;

/**
 * Feeds `bytes` whole to one connection and through `feed` to another (engines of `cacheSize`,
 * debug build); their replies must be the same, and both engines must pass their self-check.
 */
async function sameAsWhole(bytes: Buffer, cacheSize: string, label: string, feed: (split: Fake) => void): Promise<void> {
  const whole = await fakeConnection({ reqsPerEvent: 1_000_000 }, { cache_size: cacheSize, wasm_build: 'debug' });
  whole.conn.receive(bytes);
  const split = await fakeConnection({ reqsPerEvent: 1_000_000 }, { cache_size: cacheSize, wasm_build: 'debug' });
  feed(split);
  assert.is(split.reply(), whole.reply(), `${label}: ${JSON.stringify(bytes.toString('latin1').slice(0, 300))}`);
  for (const s of [whole, split]) (s.engine as unknown as { selfCheck(): void }).selfCheck();
}

test('pipelined gets among other commands, 400 sessions: fed whole or in random splits, the same replies', async () => {
  const random = rng(20261122);
  for (let i = 0; i < 400; i++) {
    const bytes = Buffer.from(getHeavySession(random), 'latin1');
    const most = random() < 0.3 ? 1 : 1 + Math.floor(random() * 200);
    await sameAsWhole(bytes, '4m', `session ${i}`, (split) => {
      for (let at = 0; at < bytes.length; ) {
        const n = 1 + Math.floor(random() * most);
        split.conn.receive(bytes.subarray(at, at + n));
        at += n;
      }
    });
  }
});

/**
 * Long stores (read straight into their items once 16 KB or more is still to come) among gets,
 * deletes, short stores and lines that are not commands; the values differ byte by byte.
 */
function longStoreSession(random: () => number): string {
  const key = (): string => `k${Math.floor(random() * 6)}`;
  const lines: string[] = [];
  const n = 1 + Math.floor(random() * 12);
  for (let i = 0; i < n; i++) {
    const r = random();
    if (r < 0.4) {
      const length = 16_000 + Math.floor(random() * 40_000);
      const value = Array.from({ length }, (_, j) => String.fromCharCode(0x21 + ((j * 7 + i) % 90))).join('');
      // Now and then a bad data chunk: what follows it is read as commands.
      const end = random() < 0.1 ? 'xy' : '\r\n';
      const command = random() < 0.2 ? `ms ${key()} ${length} T0` : `set ${key()} 0 0 ${length}`;
      lines.push(`${command}\r\n${value}${end}`);
    } else if (r < 0.7) {
      lines.push(`get ${key()}\r\n`);
    } else if (r < 0.78) {
      lines.push(`delete ${key()}\r\n`);
    } else if (r < 0.86) {
      lines.push(`set ${key()} 0 0 1\r\nx\r\n`);
    } else if (r < 0.93) {
      lines.push(random() < 0.5 ? '\r\n' : 'mn\r\n');
    } else {
      lines.push(`gets ${key()} ${key()}\r\n`);
    }
  }
  return lines.join('');
}

test('long stores read straight into their items, 150 sessions: fed in random reads as the stream handles read, the same replies as fed whole', async () => {
  const random = rng(20261123);
  let readsInto = 0;
  for (let i = 0; i < 150; i++) {
    const bytes = Buffer.from(longStoreSession(random), 'latin1');
    const most = random() < 0.3 ? 20 : 1 + Math.floor(random() * 70_000);
    await sameAsWhole(bytes, '8m', `session ${i}`, (split) => {
      for (let at = 0; at < bytes.length; ) {
        const n = split.read(bytes.subarray(at), 1 + Math.floor(random() * most));
        // A read of more than the shared buffer holds went into an item.
        if (n > READ_BUFFER_BYTES) readsInto++;
        at += n;
      }
    });
  }
  assert.ok(readsInto > 100, `${readsInto} reads went straight into items`);
});

test('an endless line is refused: the connection closes instead of buffering', async () => {
  const s = await fakeConnection();
  for (let i = 0; i < 100 && !s.closed(); i++) s.conn.receive(Buffer.alloc(1000, 0x41));
  assert.ok(s.closed());
  const g = await fakeConnection();
  g.conn.receive(Buffer.from('get ', 'latin1'));
  for (let i = 0; i < 2000 && !g.closed(); i++) g.conn.receive(Buffer.alloc(1000, 0x6b));
  assert.ok(g.closed(), 'a get line past the limit closes too');
  assert.ok(g.conn.bufferedBytes() <= LINE_MAX_GET + 1000);
});

test('UDP: 5,000 fuzzed datagrams (random frame headers, short ones, mutated commands) leave the port answering', async () => {
  const random = rng(11);
  const probe = createSocket('udp4');
  await new Promise<void>((resolve) => probe.bind(0, '127.0.0.1', () => resolve()));
  const port = probe.address().port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const s = await startServer('wasm', { udpPort: port }, { cache_size: '8m', wasm_build: 'debug' });
  const udp = createSocket('udp4');
  const replies: Buffer[] = [];
  udp.on('message', (m) => replies.push(m));
  await new Promise<void>((resolve) => udp.bind(0, '127.0.0.1', () => resolve()));
  const send = (datagram: Uint8Array) => new Promise<void>((resolve) => udp.send(datagram, port, '127.0.0.1', () => resolve()));
  for (let i = 0; i < 5_000; i++) {
    const body = random() < 0.2 ? randomBytes(random, Math.floor(random() * 300)) : Buffer.from(mutate(random, CORPUS[Math.floor(random() * CORPUS.length)]!), 'latin1');
    // Mostly a header memcached answers (a request of one datagram), else random bytes.
    const header = random() < 0.8 ? Uint8Array.from([random() * 256, random() * 256, random() * 256, random() * 256, 0, 1, 0, 0]) : randomBytes(random, random() < 0.25 ? Math.floor(random() * 8) : 8);
    await send(Buffer.concat([header, body]));
    // A send completes before the server has read anything: let it read (or the kernel drops).
    if (i % 8 === 7) await new Promise((resolve) => setImmediate(resolve));
  }
  assert.ok(replies.length > 2_000, `the fuzzed requests reached the commands: ${replies.length} replies`);
  // The port still answers, framed: request id 0x4242, one datagram of one. UDP may drop the
  // request or the reply while the flood drains (socket buffers are finite): it is asked again.
  let quiet = replies.length - 1;
  while (quiet !== replies.length) {
    quiet = replies.length;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  for (let attempt = 0; attempt < 10 && !replies.some((m) => m.readUInt16BE(0) === 0x4242); attempt++) {
    await send(Buffer.concat([Buffer.from([0x42, 0x42, 0, 0, 0, 1, 0, 0]), Buffer.from('version\r\n')]));
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const answer = replies.find((m) => m.readUInt16BE(0) === 0x4242);
  assert.ok(answer !== undefined, 'the version request was answered');
  assert.is(answer!.subarray(2, 8).toString('hex'), '000000010000');
  assert.match(answer!.subarray(8).toString('latin1'), /^VERSION \S+\r\n$/);
  (s.engine as unknown as { selfCheck(): void }).selfCheck();
  udp.close();
  await s.close();
});

test('over real sockets: 300 fuzzed connections, while a well-behaved client is served correctly throughout', async () => {
  const random = rng(7);
  const s = await startServer('wasm', {}, { cache_size: '8m' });
  const good = await Client.open(s.port);
  for (let round = 0; round < 30; round++) {
    const bad = await Promise.all(Array.from({ length: 10 }, () => Client.open(s.port)));
    for (const c of bad) {
      for (let i = 0; i < 5; i++) {
        c.send(random() < 0.2 ? randomBytes(random, 200) : Buffer.from(mutate(random, CORPUS[Math.floor(random() * CORPUS.length)]!), 'latin1'));
      }
    }
    const value = `value-${round}`;
    // One write, so that a fuzzed flush_all or delete cannot fall between the set and the get.
    assert.is(
      await good.request(`set good 0 0 ${value.length}\r\n${value}\r\nget good\r\n`, 'END\r\n'),
      `STORED\r\nVALUE good 0 ${value.length}\r\n${value}\r\nEND\r\n`,
    );
    for (const c of bad) c.close();
  }
  good.close();
  await s.close();
});

test.run();
