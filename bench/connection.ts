// The server's own work per request with no sockets: a Connection over the wasm engine fed
// requests from memory, replies counted and dropped. What this measures is the JavaScript and
// WebAssembly on the hot path (parse, engine, format) that the loopback benchmark (server.ts)
// adds on top of Node's I/O; use it to compare changes, pinned to a quiet core.
// Run: npm run bench:connection (BENCH_CONNECTION_ROUNDS=5; BENCH_CONNECTION_CASE=W3b runs the cases
// whose name has that text; BENCH_CONNECTION_ENGINE=ts runs them over the ts engine).
import { Connection, Sent } from '../src/server/connection.ts';
import { fakeConnection } from '../test/server/serve.ts';

const KEYS = 10_000;
const ROUNDS = Number(process.env['BENCH_CONNECTION_ROUNDS'] ?? 5);
const key = (i: number): string => `key:${String(i).padStart(12, '0')}`;
const bytes = (text: string): Uint8Array => new Uint8Array(Buffer.from(text, 'latin1'));

interface Case {
  name: string;
  /** Reads fed in (each holds one request, or for W3a sixteen). */
  requests: number;
  make(k: number): string;
}

const CASES: Case[] = [
  { name: 'get, 32 B value (W1)', requests: 1_000_000, make: (k) => `get ${key(k)}\r\n` },
  { name: '16 pipelined gets (W3a)', requests: 200_000, make: (k) => Array.from({ length: 16 }, (_, j) => `get ${key((k + j * 613) % KEYS)}\r\n`).join('') },
  { name: 'get of 16 keys (W3b)', requests: 200_000, make: (k) => `get ${Array.from({ length: 16 }, (_, j) => key((k + j * 613) % KEYS)).join(' ')}\r\n` },
  { name: 'set, 1 KB value (W4)', requests: 1_000_000, make: (k) => `set ${key(k)} 0 0 1024\r\n${'y'.repeat(1024)}\r\n` },
];

const ENGINE = process.env['BENCH_CONNECTION_ENGINE'] ?? 'wasm';
if (ENGINE !== 'wasm' && ENGINE !== 'ts') throw new Error(`BENCH_CONNECTION_ENGINE: wasm or ts, not ${ENGINE}`);
const { state } = await fakeConnection({}, { cache_size: '64m' }, ENGINE);
let sent = 0;
const conn = new Connection(
  state,
  {
    send(parts) {
      for (const part of parts) sent += part.length;
      return Sent.COPIED;
    },
    pauseReading() {},
    resumeReading() {},
    close() {},
    // Every send is written at once, as the stream handles' usually are: a transport that reports
    // writes is what lets replies be borrowed from the engine or hold values by reference.
    afterWrite(done) {
      done();
    },
  },
  1_000_000,
);
for (let i = 0; i < KEYS; i++) conn.receive(bytes(`set ${key(i)} 0 0 32\r\n${'x'.repeat(32)}\r\n`));

// Requests arrive as the stream-handle transport delivers reads: copied into one shared read
// buffer, handed over whole with the read's length.
const readBuffer = new Uint8Array(16 * 1024);

const only = process.env['BENCH_CONNECTION_CASE'] ?? '';
for (const c of CASES.filter((x) => x.name.includes(only))) {
  // 1024 distinct requests over the key space, cycled.
  const requests = Array.from({ length: 1024 }, (_, r) => bytes(c.make((r * 7919) % KEYS)));
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < c.requests; i++) {
      const request = requests[i & 1023]!;
      readBuffer.set(request);
      conn.receive(readBuffer, request.length);
    }
    times.push(Number(process.hrtime.bigint() - t0) / c.requests);
  }
  times.sort((a, b) => a - b);
  const median = times[Math.floor(times.length / 2)]!;
  process.stdout.write(`${c.name.padEnd(25)} ${median.toFixed(0).padStart(6)} ns/request (median of ${ROUNDS}; min ${times[0]!.toFixed(0)}, max ${times[times.length - 1]!.toFixed(0)})\n`);
}
if (sent === 0) throw new Error('no replies were sent');
