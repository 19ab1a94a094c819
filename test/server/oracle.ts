// The differential-test harness: starts a real memcached and a wasmcached on free ports, plays the
// same session of raw bytes against both over TCP, masks what legitimately differs between two
// processes (pids, clocks, versions, memcached's thread and buffer internals) and asserts the
// replies are byte-for-byte equal. cf. memcached t/lib/MemcachedTest.pm (new_memcached).
// Environment: DIFF_SUBJECT=memcached compares two memcached processes (which proves the sessions
// deterministic); DIFF_MEMCACHED and DIFF_WASMCACHED point at other builds; DIFF_CONCURRENCY sets
// how many sessions run at once (4); DIFF_SHOW=1 prints memcached's reply to every session.
// A session speaks the text protocol (text and meta commands) or the binary one; binary replies are
// compared packet by packet (one line each, see normaliseBinary).
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, readlinkSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { MAGIC_REQUEST, MAGIC_RESPONSE, OPCODE, STATUS, noopResponse, opcodeName, packetEnd, parsePackets, request } from './binary-packets.ts';
import type { Packet } from './binary-packets.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** The reference server; CI installs the distribution's memcached package. */
export const MEMCACHED = process.env.DIFF_MEMCACHED ?? '/usr/bin/memcached';
/** The built server, as `npm start` runs it. */
export const WASMCACHED = process.env.DIFF_WASMCACHED ?? join(root, 'build', 'cli.js');
const HOST = '127.0.0.1';

export type ServerKind = 'memcached' | 'wasmcached';

/** What the oracle is compared with: DIFF_SUBJECT=memcached (a second memcached) or wasmcached. */
export function subjectKind(): ServerKind {
  const value = process.env.DIFF_SUBJECT ?? 'wasmcached';
  if (value !== 'memcached' && value !== 'wasmcached') {
    throw new Error(`DIFF_SUBJECT must be 'memcached' or 'wasmcached', got '${value}'`);
  }
  return value;
}

// ---------------------------------------------------------------------------------------------
// Server processes

const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 2_000;
/** Ports are drawn below Linux's ephemeral range (32768+), so client sockets do not take them. */
const PORT_MIN = 20_000;
const PORT_MAX = 32_000;
const STDERR_LIMIT = 16 * 1024;

export interface ServerProcess {
  readonly kind: ServerKind;
  readonly port: number;
  readonly child: ChildProcess;
  /** What the process wrote to stderr so far (the first 16 KiB). */
  stderr(): string;
  /** SIGTERM, then SIGKILL after a timeout; resolves once the process has exited. */
  stop(): Promise<void>;
}

/** Every child still running, killed synchronously if the test process exits without stopping them. */
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

function sleepMs(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host: HOST, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/**
 * Ports this process has handed out and not yet got back: a server's port until its process has
 * exited (see launch), any other caller's for the life of the process. A free port is only free
 * until someone binds it, and a server binds it a while after it is drawn (a Node.js server takes
 * a few hundred milliseconds to start); without this, two of the sessions running at once could
 * draw the same port in that window, and one session's probe would then find the other session's
 * server listening there and play its steps against it (see ownerOf).
 */
const reservedPorts = new Set<number>();

/** A TCP port on 127.0.0.1 that nothing listens on right now and this process has not handed out. */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const port = PORT_MIN + Math.floor(Math.random() * (PORT_MAX - PORT_MIN));
    if (reservedPorts.has(port)) continue;
    reservedPorts.add(port);
    if (await portIsFree(port)) return port;
    reservedPorts.delete(port);
  }
  throw new Error(`no free TCP port found in ${PORT_MIN}..${PORT_MAX}`);
}

/**
 * Whether the socket listening on TCP `port` (on 127.0.0.1 or a wildcard address, which would
 * take connections to 127.0.0.1 too) belongs to process `pid`: 'yes', 'no' (another process
 * listens there), or 'unknown' where /proc cannot tell (not Linux, or the process's descriptors
 * are not readable, as for memcached after it switched to `-u nobody` in a container without
 * CAP_SYS_PTRACE).
 */
function ownerOf(port: number, pid: number): 'yes' | 'no' | 'unknown' {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0');
  const listeners = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string;
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const row of text.split('\n').slice(1)) {
      // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode
      const fields = row.trim().split(/\s+/);
      if (fields.length < 10 || fields[3] !== '0A') continue; // 0A: LISTEN
      const [address, localPort] = fields[1]!.split(':');
      if (localPort !== portHex) continue;
      if (address === '0100007F' || /^0+$/.test(address!) || address === '0000000000000000FFFF00000100007F') listeners.add(fields[9]!);
    }
  }
  if (listeners.size === 0) return 'unknown';
  let fds: string[];
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return 'unknown';
  }
  let readable = false;
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
    } catch {
      continue; // closed since the listing, or not readable
    }
    readable = true;
    const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
    if (inode !== undefined && listeners.has(inode)) return 'yes';
  }
  return readable ? 'no' : 'unknown';
}

/** How a server is started beyond its flags. */
export interface StartOptions {
  /** Added to (or replacing) the test process's environment. */
  env?: Readonly<Record<string, string>>;
  /** Listen on this unix socket (-s) instead of TCP; readiness is then probed there. */
  socketPath?: string;
  /** Also listen for UDP on the TCP port's number (-U). */
  udp?: boolean;
}

/** The command line that starts `kind` on `port` with the session's extra flags. */
function commandFor(kind: ServerKind, port: number, flags: readonly string[]): [string, string[]] {
  const common = ['-p', String(port), '-U', '0', '-l', HOST, ...flags];
  if (kind === 'memcached') {
    if (!existsSync(MEMCACHED)) {
      throw new Error(
        `the differential tests need the real memcached at ${MEMCACHED} and it is missing: ` +
          `install memcached 1.6 (apt-get install memcached) or set DIFF_MEMCACHED to its path`,
      );
    }
    // memcached refuses to run as root without a user to switch to.
    return [MEMCACHED, ['-u', 'nobody', ...common]];
  }
  if (!existsSync(WASMCACHED)) {
    throw new Error(`${WASMCACHED} is missing: build it with 'node scripts/build.mjs'`);
  }
  return [process.execPath, [WASMCACHED, ...common]];
}

/**
 * Connects once and closes, waiting for the server to close its side too: the server has then
 * accepted and retired the probe, so it does not linger in the session's connection counts.
 */
function probe(port: number, socketPath: string | undefined): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = socketPath === undefined ? connect({ port, host: HOST }) : connect({ path: socketPath });
    let connected = false;
    socket.once('connect', () => {
      connected = true;
      socket.end();
    });
    socket.on('data', () => {});
    socket.once('error', () => {});
    socket.once('close', () => resolve(connected));
    socket.setTimeout(2_000, () => socket.destroy());
  });
}

async function launch(kind: ServerKind, port: number, flags: readonly string[], options: StartOptions): Promise<ServerProcess> {
  const socketFlags = options.socketPath === undefined ? [] : ['-s', options.socketPath];
  if (options.udp === true) socketFlags.push('-U', String(port));
  const [command, args] = commandFor(kind, port, [...socketFlags, ...flags]);
  const env = options.env ? { ...process.env, ...options.env } : process.env;
  const child = spawn(command, args, { cwd: root, env, stdio: ['ignore', 'ignore', 'pipe'] });
  running.add(child);
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    if (stderr.length < STDERR_LIMIT) stderr += text;
  });
  let exited = false;
  const exit = new Promise<void>((resolve) => {
    child.once('exit', () => {
      exited = true;
      running.delete(child);
      resolve();
    });
    child.once('error', (error) => {
      stderr += String(error);
      exited = true;
      running.delete(child);
      resolve();
    });
  });
  // The port goes back to the pool once nothing of ours can be listening on it.
  void exit.then(() => reservedPorts.delete(port));
  const server: ServerProcess = {
    kind,
    port,
    child,
    stderr: () => stderr,
    async stop() {
      if (exited) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await exit;
      clearTimeout(timer);
    },
  };
  const deadline = Date.now() + START_TIMEOUT_MS;
  for (;;) {
    if (exited) {
      const how = child.exitCode !== null ? `exit status ${child.exitCode}` : `signal ${child.signalCode}`;
      throw new StartError(`${kind} (${[command, ...args].join(' ')}) exited with ${how}: ${stderr.trim()}`, stderr);
    }
    if (await probe(port, options.socketPath)) {
      // Whatever answered may be another process that took the port after freePort checked it;
      // the child then fails to bind (or has not bound yet) and would be left out of the session.
      if (options.socketPath === undefined && child.pid !== undefined && ownerOf(port, child.pid) === 'no') {
        await server.stop();
        throw new StartError(`${kind}: port ${port} is taken by another process`, 'EADDRINUSE (port taken by another process)');
      }
      // The probe's close is retired on the server's thread just after its side closes.
      await sleepMs(5);
      return server;
    }
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${kind} did not accept connections on port ${port} within ${START_TIMEOUT_MS} ms: ${stderr.trim()}`);
    }
    await sleepMs(10);
  }
}

class StartError extends Error {
  constructor(message: string, readonly stderr: string) {
    super(message);
  }
}

/** Starts `kind` with `flags` on a free port; waits until it accepts connections. */
export async function startServer(kind: ServerKind, flags: readonly string[] = [], options: StartOptions = {}): Promise<ServerProcess> {
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    try {
      return await launch(kind, port, flags, options);
    } catch (error) {
      // Another process may take the port between the check and the server's bind.
      const taken = error instanceof StartError && /already in use|EADDRINUSE/i.test(error.stderr);
      if (!taken || attempt >= 3) throw error;
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Sessions

/** Bytes to send (a string is sent as latin1: one byte per character, so '\x00' is a NUL), or an instruction. */
export type Step = string | Uint8Array | Instruction;

export type Instruction =
  | { readonly kind: 'bytes'; readonly count: number; readonly timeoutMs: number }
  | { readonly kind: 'packets'; readonly count: number; readonly timeoutMs: number }
  | { readonly kind: 'stats-end'; readonly timeoutMs: number }
  | { readonly kind: 'lines'; readonly count: number; readonly timeoutMs: number }
  | { readonly kind: 'text'; readonly text: string; readonly timeoutMs: number }
  | { readonly kind: 'quiet'; readonly ms: number }
  | { readonly kind: 'sleep'; readonly ms: number }
  | { readonly kind: 'close'; readonly timeoutMs: number };

const WAIT_TIMEOUT_MS = 3_000;

// The waits count reply bytes from a mark: where the previous wait was satisfied (initially the
// start of the reply), so a reply that arrived before the wait began still counts.

/** Wait until `count` more reply bytes have arrived. */
export const waitBytes = (count: number, timeoutMs = WAIT_TIMEOUT_MS): Instruction => ({ kind: 'bytes', count, timeoutMs });
/** Wait until `count` more complete binary packets have arrived (the mark must be at a packet's start). */
export const waitPackets = (count: number, timeoutMs = WAIT_TIMEOUT_MS): Instruction => ({ kind: 'packets', count, timeoutMs });
/**
 * Wait for the end of a binary STAT reply: the packet with an empty key that ends the list, or an
 * error status (the mark must be at a packet's start).
 */
export const waitStatsEnd = (timeoutMs = WAIT_TIMEOUT_MS): Instruction => ({ kind: 'stats-end', timeoutMs });
/** Wait until `count` more reply lines (ending in \n) have arrived. */
export const waitLines = (count: number, timeoutMs = WAIT_TIMEOUT_MS): Instruction => ({ kind: 'lines', count, timeoutMs });
/** Wait until the reply contains `text` (e.g. 'END\r\n') past the mark. */
export const waitFor = (text: string, timeoutMs = WAIT_TIMEOUT_MS): Instruction => ({ kind: 'text', text, timeoutMs });
/** Wait until no reply byte has arrived for `ms`. */
export const quiet = (ms = 50): Instruction => ({ kind: 'quiet', ms });
/** Do nothing for `ms` (lets the server's clock tick, or the previous write arrive alone). */
export const sleep = (ms: number): Instruction => ({ kind: 'sleep', ms });
/** Wait until the server closes the connection. */
export const expectClose = (timeoutMs = WAIT_TIMEOUT_MS): Instruction => ({ kind: 'close', timeoutMs });

/** Pause between writes: long enough that each write reaches the server as its own read. */
export const WRITE_GAP_MS = 15;

/** `parts` as separate TCP writes, with a short pause between them. */
export function split(...parts: Array<string | Uint8Array>): Step[] {
  return parts.flatMap((part, i) => (i === 0 ? [part] : [sleep(WRITE_GAP_MS), part]));
}

export interface SessionResult {
  /** Every byte the server sent, in order. */
  reply: Buffer;
  /** Whether the server closed (or reset) the connection before the session ended. */
  closed: boolean;
  /** Instructions that were not satisfied, and writes that could not be made. */
  notes: string[];
}

/**
 * Which protocol a session speaks, which decides its end marker and how its replies are compared:
 * 'text' (text and meta commands) or 'binary'.
 */
export type Protocol = 'text' | 'binary';

/**
 * The protocol a session speaks unless told: binary if its first byte is the binary request magic
 * (0x80), as memcached's protocol negotiation decides from a connection's first byte.
 */
export function sessionProtocol(steps: readonly Step[]): Protocol {
  for (const step of steps) {
    if (typeof step === 'string') {
      if (step.length > 0) return step.charCodeAt(0) === MAGIC_REQUEST ? 'binary' : 'text';
    } else if (step instanceof Uint8Array) {
      if (step.length > 0) return step[0] === MAGIC_REQUEST ? 'binary' : 'text';
    }
  }
  return 'text';
}

/**
 * When a session is over: the connection is closed, or no reply byte came for `quietMs`; or, once
 * `expected()` (what the oracle ended with) is known, the reply is as long and then quiet for
 * `settleMs` (and closed too, if the oracle's was, or quiet for `quietMs`).
 */
export interface EndRule {
  quietMs: number;
  /** Send the end marker after the last step and wait for its answer (memcached, which has mg). */
  marker?: boolean;
  expected?: () => { length: number; closed: boolean } | undefined;
  settleMs?: number;
}

/**
 * The oracle's reply ends where memcached answers `mg <END_MARKER_KEY> O<nonce>` (a miss, `EN
 * O<nonce>`), or in a binary session a NOOP whose opaque is the nonce: a quiet period alone would
 * cut a reply short when the machine is busy. The subject is not sent the marker (it might not
 * have mg); it is judged by the oracle's length instead.
 */
const ORACLE_END: EndRule = { quietMs: 60, marker: true };
const END_MARKER_KEY = '__diff_end__';
const POLL_MS = 2;
const SESSION_TIMEOUT_MS = 20_000;

/** The end marker for a session in `protocol`: what is sent, and the reply that ends with its answer. */
function endMarker(protocol: Protocol): { request: Buffer; answer: Buffer; label: string } {
  if (protocol === 'binary') {
    // The top bit set keeps the nonce clear of the small opaques sessions use.
    const opaque = (0x80000000 | Math.floor(Math.random() * 0x80000000)) >>> 0;
    return {
      request: Buffer.from(request({ opcode: OPCODE.NOOP, opaque })),
      answer: Buffer.from(noopResponse(opaque)),
      label: `binary NOOP with opaque 0x${opaque.toString(16)}`,
    };
  }
  const nonce = Math.random().toString(16).slice(2, 10);
  return { request: latin1(`mg ${END_MARKER_KEY} O${nonce}\r\n`), answer: latin1(`EN O${nonce}\r\n`), label: `mg ${END_MARKER_KEY}` };
}

/** Plays `steps` over one connection to `port`; never throws for what the server does. */
export async function runSession(
  port: number,
  steps: readonly Step[],
  end: EndRule = ORACLE_END,
  protocol: Protocol = sessionProtocol(steps),
): Promise<SessionResult> {
  // The reply so far, in a buffer that doubles as it fills: waits scan it on every poll.
  let buffer = Buffer.alloc(64 * 1024);
  let received = 0;
  let lastDataAt = Date.now();
  let closed = false;
  const notes: string[] = [];
  const socket: Socket = connect({ port, host: HOST });
  socket.setNoDelay(true);
  socket.on('data', (chunk: Buffer) => {
    if (received + chunk.length > buffer.length) {
      const grown = Buffer.alloc(Math.max(buffer.length * 2, received + chunk.length));
      buffer.copy(grown, 0, 0, received);
      buffer = grown;
    }
    chunk.copy(buffer, received);
    received += chunk.length;
    lastDataAt = Date.now();
  });
  socket.on('end', () => {
    closed = true;
  });
  socket.on('close', () => {
    closed = true;
  });
  socket.on('error', (error: NodeJS.ErrnoException) => {
    // A reset after the server closed is part of "closed", not a failure of the harness.
    if (error.code !== 'ECONNRESET' && error.code !== 'EPIPE') notes.push(`socket error: ${error.message}`);
    closed = true;
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });

  const reply = (): Buffer => buffer.subarray(0, received);
  let mark = 0;
  const started = Date.now();

  /** Polls `done` until it holds, or `timeoutMs` passes (returns false). */
  async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (done()) return true;
      if (Date.now() >= deadline) return false;
      await sleepMs(POLL_MS);
    }
  }

  /** Waits until `end()` finds where a wait is satisfied and moves the mark there, or notes why not. */
  async function waitForEnd(what: string, end: () => number, timeoutMs: number): Promise<void> {
    const ok = await until(() => end() >= 0 || closed, timeoutMs);
    const at = end();
    if (at >= 0) mark = at;
    else notes.push(`${what}: not reached after ${ok ? 'the close' : `${timeoutMs} ms`}`);
  }

  /** Offset just past the `count`-th \n after the mark, or -1. */
  function endOfLines(count: number): number {
    const bytes = reply();
    let at = mark;
    for (let i = 0; i < count; i++) {
      const lf = bytes.indexOf(0x0a, at);
      if (lf < 0) return -1;
      at = lf + 1;
    }
    return at;
  }

  /** Offset just past the `count`-th complete packet after the mark, or -1. */
  function endOfPackets(count: number): number {
    let at = mark;
    for (let i = 0; i < count && at >= 0; i++) at = packetEnd(reply(), at);
    return at;
  }

  /** Offset just past the packet that ends a STAT reply (empty key, or an error status), or -1. */
  function endOfStats(): number {
    const bytes = reply();
    for (let at = mark; ; ) {
      const next = packetEnd(bytes, at);
      if (next < 0) return -1;
      const { packets } = parsePackets(bytes.subarray(at, next));
      const packet = packets[0]!;
      if (packet.keylen === 0 || packet.status !== STATUS.NO_ERROR) return next;
      at = next;
    }
  }

  for (const step of steps) {
    if (typeof step === 'string' || step instanceof Uint8Array) {
      const bytes = typeof step === 'string' ? latin1(step) : Buffer.from(step);
      if (closed || socket.destroyed) {
        notes.push(`not sent (connection closed): ${show(bytes, 60)}`);
        continue;
      }
      socket.write(bytes);
      continue;
    }
    switch (step.kind) {
      case 'bytes': {
        const ok = await until(() => received - mark >= step.count || closed, step.timeoutMs);
        if (received - mark >= step.count) mark += step.count;
        else notes.push(`waitBytes(${step.count}): ${received - mark} bytes after ${ok ? 'the close' : `${step.timeoutMs} ms`}`);
        break;
      }
      case 'packets':
        await waitForEnd(`waitPackets(${step.count})`, () => endOfPackets(step.count), step.timeoutMs);
        break;
      case 'stats-end':
        await waitForEnd('waitStatsEnd()', endOfStats, step.timeoutMs);
        break;
      case 'lines':
        await waitForEnd(`waitLines(${step.count})`, () => endOfLines(step.count), step.timeoutMs);
        break;
      case 'text': {
        const needle = latin1(step.text);
        const find = (): number => reply().indexOf(needle, mark);
        const ok = await until(() => find() >= 0 || closed, step.timeoutMs);
        const at = find();
        if (at >= 0) mark = at + needle.length;
        else notes.push(`waitFor(${show(needle, 40)}): not seen after ${ok ? 'the close' : `${step.timeoutMs} ms`}`);
        break;
      }
      case 'quiet': {
        const from = Date.now();
        await until(() => Date.now() - Math.max(lastDataAt, from) >= step.ms || closed, SESSION_TIMEOUT_MS);
        mark = received;
        break;
      }
      case 'sleep':
        await sleepMs(step.ms);
        break;
      case 'close': {
        if (!(await until(() => closed, step.timeoutMs))) notes.push(`expectClose: still open after ${step.timeoutMs} ms`);
        mark = received;
        break;
      }
    }
  }

  // The end marker: once memcached answers it, it has answered everything before it; its reply is
  // cut off. Not sent after an explicit wait: the session may end in the middle of a data block,
  // or with a stats command whose bytes_read must not count the marker.
  const last = steps[steps.length - 1];
  if (end.marker && !closed && !socket.destroyed && (typeof last === 'string' || last instanceof Uint8Array)) {
    const marker = endMarker(protocol);
    const answer = marker.answer;
    socket.write(marker.request);
    const answered = (): boolean => {
      const bytes = reply();
      return bytes.length >= answer.length && bytes.subarray(bytes.length - answer.length).equals(answer);
    };
    if (await until(() => answered() || closed, SESSION_TIMEOUT_MS)) {
      if (answered()) {
        const bytes = Buffer.from(reply().subarray(0, received - answer.length));
        socket.destroy();
        return { reply: bytes, closed, notes };
      }
    } else {
      notes.push(`the end marker (${marker.label}) was not answered within ${SESSION_TIMEOUT_MS} ms`);
    }
  }

  // Otherwise the reply is complete when the connection is closed, or when the reply has been quiet
  // for quietMs, or (for the subject) once it is as long as the oracle's and quiet for settleMs.
  const from = Date.now();
  const settled = (): boolean => {
    if (closed) return true;
    const silence = Date.now() - Math.max(lastDataAt, from);
    if (silence >= end.quietMs) return true;
    const expected = end.expected?.();
    return expected !== undefined && !expected.closed && received >= expected.length && silence >= (end.settleMs ?? end.quietMs);
  };
  if (!(await until(settled, Math.max(1, SESSION_TIMEOUT_MS - (Date.now() - started))))) {
    notes.push(`the reply was still growing after ${SESSION_TIMEOUT_MS} ms`);
  }
  if (closed) await sleepMs(POLL_MS); // let the last 'data' events of a closing socket land
  socket.destroy();
  return { reply: Buffer.from(reply()), closed, notes };
}

function latin1(text: string): Buffer {
  for (let i = 0; i < text.length; i++) {
    if (text.charCodeAt(i) > 0xff) throw new Error(`session text must be latin1; got U+${text.charCodeAt(i).toString(16)} in ${JSON.stringify(text.slice(0, 40))}`);
  }
  return Buffer.from(text, 'latin1');
}

// ---------------------------------------------------------------------------------------------
// Normalisation: only what legitimately differs between two processes that behave the same.

/**
 * General `stats` whose values are facts about the process, its clock or memcached's own threads
 * and buffers, not about the protocol or the cache; each is masked as `STAT <name> *`.
 */
export const PROCESS_STATS: Readonly<Record<string, string>> = {
  pid: 'the process id',
  uptime: 'seconds since this process started; the two start at different moments',
  time: "the server's clock, a wall-clock second that ticks at a different phase in each process",
  version: 'the server version string',
  libevent: "memcached's event library version",
  pointer_size: 'the pointer width of the build (64 for memcached on x86-64, 32 for wasm32)',
  rusage_user: 'CPU time used by the process',
  rusage_system: 'CPU time used by the process',
  threads: "memcached's -t worker threads; a Node.js server serves on one thread",
  reserved_fds: 'file descriptors memcached keeps for its own listeners and pipes',
  connection_structures: "memcached's connection table, allocated per file descriptor",
  response_obj_oom: "memcached's per-thread response object allocator",
  response_obj_count: "memcached's per-thread response object allocator",
  response_obj_bytes: "memcached's per-thread response object allocator",
  read_buf_count: "memcached's per-thread read buffer cache",
  read_buf_bytes: "memcached's per-thread read buffer cache",
  read_buf_bytes_free: "memcached's per-thread read buffer cache",
  read_buf_oom: "memcached's per-thread read buffer cache",
  hash_bytes: 'buckets times the pointer size; each engine sizes its own table (docs/engine-model.md)',
  lru_crawler_running: "memcached's LRU crawler thread, which memcached schedules by itself",
  lru_crawler_starts: "memcached's LRU crawler thread, which memcached schedules by itself",
  lru_maintainer_juggles: "memcached's LRU maintainer thread wakes on its own schedule (up to 1 s apart)",
  // The LRU maintainer thread moves items between HOT, WARM and COLD whenever it wakes, so these
  // differ even between two memcached processes; the engine does the same moves inline at fixed
  // points (docs/engine-model.md, "LRU segments" and "Known differences").
  moves_to_cold: 'moved by the LRU maintainer thread, on its schedule',
  moves_to_warm: 'moved by the LRU maintainer thread, on its schedule',
  moves_within_lru: 'moved by the LRU maintainer thread, on its schedule',
  lrutail_reflocked: 'counted by the LRU maintainer thread, on its schedule',
  // do_item_alloc_pull counts its tries: one when the thread has already moved items to COLD, two
  // when the allocation itself must pull HOT first (seen as 40 and 80 for the same 40 evictions).
  direct_reclaims: 'tries of an allocation, which depend on where the LRU maintainer thread has moved items',
};

/**
 * `stats items` values (STAT items:<class>:<name>) that depend on which LRU segment an item is in
 * at the moment of the command, which the maintainer thread decides on its schedule (see above),
 * or on the clock's phase (ages). `number`, `mem_requested`, evictions and the rest must match.
 */
export const SEGMENT_ITEM_STATS: readonly string[] = [
  'number_hot', 'number_warm', 'number_cold', 'age_hot', 'age_warm', 'age',
  'moves_to_cold', 'moves_to_warm', 'moves_within_lru', 'lrutail_reflocked',
  'hits_to_hot', 'hits_to_warm', 'hits_to_cold', 'direct_reclaims',
];

/**
 * `stats settings` lines that are compared: the settings a memcached client can observe through
 * the protocol, or that come from flags both servers take. protocol.txt ("Settings statistics")
 * does not promise an order, so the lines are compared sorted. The other lines describe
 * memcached's own machinery and build options (worker and UDP threads, extstore `ext_*`, TLS
 * `ssl_*`, slab automover and LRU crawler tuning, binary protocol negotiation, NAPI ids, warm
 * restart files), which a server without that machinery has no true value for; they are left out.
 * `tcpport` is compared by name only: each server listens on its own port.
 */
export const COMPARED_SETTINGS: readonly string[] = [
  'maxbytes', 'maxconns', 'tcpport', 'udpport', 'inter', 'verbosity', 'oldest', 'evictions',
  'domain_socket', 'umask', 'shutdown_command', 'growth_factor', 'chunk_size', 'stat_key_prefix',
  'detail_enabled', 'cas_enabled', 'auth_enabled_sasl', 'auth_enabled_ascii', 'item_size_max',
  'hashpower_init', 'slab_chunk_max', 'hash_algorithm', 'lru_segmented', 'hot_lru_pct',
  'warm_lru_pct', 'flush_enabled', 'dump_enabled', 'track_sizes', 'idle_timeout', 'lru_crawler',
  'lru_crawler_sleep', 'lru_crawler_tocrawl',
];
const SETTINGS_BY_NAME_ONLY = new Set(['tcpport']);

const MASK = '*';
const STAT_LINE = /^STAT (\S+) (.*)$/;

/** The `STAT <name> <value>` lines of a text `stats` reply (up to its END) as a map; any other line throws. */
export function parseStats(reply: string): Map<string, string> {
  const stats = new Map<string, string>();
  for (const line of reply.split('\r\n')) {
    if (line === 'END' || line === '') continue;
    const stat = STAT_LINE.exec(line);
    if (stat === null) throw new Error(`unexpected line in a stats reply: ${line}`);
    stats.set(stat[1]!, stat[2]!);
  }
  return stats;
}

/** Whether a general or `stats items` value named `name` is masked (see PROCESS_STATS, SEGMENT_ITEM_STATS). */
function isMaskedStat(name: string): boolean {
  if (Object.hasOwn(PROCESS_STATS, name)) return true;
  const item = /^items:\d+:(.+)$/.exec(name);
  return item !== null && SEGMENT_ITEM_STATS.includes(item[1]!);
}

/** Whether a block of stats with these names is `stats settings` (which has maxbytes and no pid). */
function isSettingsBlock(names: ReadonlyArray<string | undefined>): boolean {
  return names.includes('maxbytes') && !names.includes('pid');
}

/**
 * An `lru_crawler metadump` line's unix times (its expiry, unless -1, and last access): each
 * server's clock may be in another second when it stores or reads.
 */
const METADUMP_TIMES = /(?<=^key=\S* )(exp=)\d+|(?<=^key=\S* exp=\S+ )(la=)\d+/g;

/**
 * The reply as compared: latin1 text (one character a byte) with the masks above applied, each
 * `stats settings` block reduced to its compared lines in sorted order, `VERSION x` lines
 * masked, and a metadump line's times masked. CAS values are never masked: both servers count from 1 and must agree. A binary reply
 * (`protocol` 'binary') is compared as normaliseBinary shows it.
 */
export function normalise(reply: Uint8Array, protocol: Protocol = 'text'): string {
  if (protocol === 'binary') return normaliseBinary(reply);
  const lines = Buffer.from(reply).toString('latin1').split(/(?<=\n)/);
  const out: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    // A block of STAT lines, as every stats group sends it, is normalised as a whole.
    if (lines[i]!.startsWith('STAT ')) {
      let j = i;
      while (j < lines.length && lines[j]!.startsWith('STAT ')) j++;
      out.push(...normaliseStats(lines.slice(i, j)));
      i = j - 1;
      continue;
    }
    out.push(lines[i]!.replace(/^VERSION [^\r\n]*/, `VERSION ${MASK}`).replace(METADUMP_TIMES, (_time, exp?: string, la?: string) => `${exp ?? la}${MASK}`));
  }
  return out.join('');
}

function normaliseStats(block: string[]): string[] {
  const parsed = block.map((line) => {
    const eol = line.endsWith('\r\n') ? '\r\n' : line.endsWith('\n') ? '\n' : '';
    const match = STAT_LINE.exec(line.slice(0, line.length - eol.length));
    return { line, eol, name: match?.[1], value: match?.[2] };
  });
  if (isSettingsBlock(parsed.map((p) => p.name))) {
    return parsed
      .filter((p) => p.name === undefined || COMPARED_SETTINGS.includes(p.name))
      .map((p) => (p.name !== undefined && SETTINGS_BY_NAME_ONLY.has(p.name) ? `STAT ${p.name} ${MASK}${p.eol}` : p.line))
      .sort();
  }
  return parsed.map((p) => {
    if (p.name === undefined) return p.line;
    if (isMaskedStat(p.name)) return `STAT ${p.name} ${MASK}${p.eol}`;
    return p.line;
  });
}

/**
 * A binary reply as compared: one line a packet, in the order sent,
 *   `<opcode> status=0x0001(KEY_ENOENT) opaque=0x00000007 cas=3 extras=00000000 key="k" value="v"`
 * (empty extras, key and value left out; the magic and datatype shown only when not 0x81 and 0,
 * the lengths only when they disagree), then `partial <n> bytes: "..."` for a packet cut short.
 * Bytes are shown latin1 with escapes (see escapeBytes). The masks are the text protocol's: a
 * STAT packet's value as `value=*` for the names masked above, a `stats settings` block reduced
 * to its compared packets in sorted order (tcpport's value masked), and VERSION's value masked.
 * CAS values are never masked.
 */
export function normaliseBinary(reply: Uint8Array): string {
  const { packets, rest } = parsePackets(reply);
  const out: string[] = [];
  for (let i = 0; i < packets.length; i++) {
    // One STAT reply is a run of name/value packets, ended by a packet with an empty key.
    if (isStatEntry(packets[i]!)) {
      let j = i;
      while (j < packets.length && isStatEntry(packets[j]!)) j++;
      out.push(...normaliseStatPackets(packets.slice(i, j)));
      i = j - 1;
      continue;
    }
    const packet = packets[i]!;
    const isVersion = packet.opcode === OPCODE.VERSION && packet.status === STATUS.NO_ERROR;
    out.push(describePacket(packet, isVersion ? MASK : undefined));
  }
  if (rest.length > 0) out.push(`partial ${rest.length} bytes: "${escapeBytes(rest)}"\n`);
  return out.join('');
}

function isStatEntry(packet: Packet): boolean {
  return packet.opcode === OPCODE.STAT && packet.status === STATUS.NO_ERROR && packet.keylen > 0;
}

function normaliseStatPackets(block: Packet[]): string[] {
  const names = block.map((p) => p.key.toString('latin1'));
  if (isSettingsBlock(names)) {
    return block
      .filter((_, k) => COMPARED_SETTINGS.includes(names[k]!))
      .map((p) => describePacket(p, SETTINGS_BY_NAME_ONLY.has(p.key.toString('latin1')) ? MASK : undefined))
      .sort();
  }
  return block.map((p, k) => describePacket(p, isMaskedStat(names[k]!) ? MASK : undefined));
}

const STATUS_NAMES = new Map<number, string>(Object.entries(STATUS).map(([name, code]) => [code, name]));

/**
 * One packet as one line (see normaliseBinary); `valueMask` replaces the value. A request (for
 * failure messages) shows its magic only when not 0x80 and its vbucket only when not 0.
 */
export function describePacket(packet: Packet, valueMask?: string, isRequest = false): string {
  const parts = [opcodeName(packet.opcode)];
  if (packet.magic !== (isRequest ? MAGIC_REQUEST : MAGIC_RESPONSE)) parts.push(`magic=0x${hex(packet.magic, 2)}`);
  if (isRequest) {
    if (packet.status !== 0) parts.push(`vbucket=${packet.status}`);
  } else {
    const status = STATUS_NAMES.get(packet.status);
    parts.push(`status=0x${hex(packet.status, 4)}${status ? `(${status})` : ''}`);
  }
  if (packet.datatype !== 0) parts.push(`datatype=0x${hex(packet.datatype, 2)}`);
  if (packet.extlen + packet.keylen > packet.bodylen) {
    parts.push(`extlen=${packet.extlen} keylen=${packet.keylen} bodylen=${packet.bodylen}`);
  }
  parts.push(`opaque=0x${hex(packet.opaque, 8)}`, `cas=${packet.cas}`);
  if (packet.extras.length > 0) parts.push(`extras=${packet.extras.toString('hex')}`);
  if (packet.key.length > 0) parts.push(`key="${escapeBytes(packet.key)}"`);
  if (valueMask !== undefined) parts.push(`value=${valueMask}`);
  else if (packet.value.length > 0) parts.push(`value="${escapeBytes(packet.value)}"`);
  return `${parts.join(' ')}\n`;
}

function hex(value: number, digits: number): string {
  return value.toString(16).padStart(digits, '0');
}

/** Runs of one byte at least this long are shown as `\{<byte>*<count>}`. */
const RUN_MIN = 16;

/**
 * Bytes as printable latin1: `\\`, `\"`, `\r`, `\n`, `\t`, `\xHH` for other control and high
 * bytes, and `\{x*500000}` for a run of RUN_MIN or more equal bytes (read left to right, this
 * cannot be confused with escaped text: a backslash is always followed by one of \ " r n t x {).
 */
export function escapeBytes(bytes: Uint8Array): string {
  const one = (c: number): string => {
    if (c === 0x0d) return '\\r';
    if (c === 0x0a) return '\\n';
    if (c === 0x09) return '\\t';
    if (c === 0x5c) return '\\\\';
    if (c === 0x22) return '\\"';
    if (c < 0x20 || c >= 0x7f) return `\\x${hex(c, 2)}`;
    return String.fromCharCode(c);
  };
  const out: string[] = [];
  for (let i = 0; i < bytes.length; ) {
    let j = i + 1;
    while (j < bytes.length && bytes[j] === bytes[i]) j++;
    if (j - i >= RUN_MIN) out.push(`\\{${one(bytes[i]!)}*${j - i}}`);
    else for (let k = i; k < j; k++) out.push(one(bytes[k]!));
    i = j;
  }
  return out.join('');
}

// ---------------------------------------------------------------------------------------------
// Showing replies

/** Bytes as one readable line: \r \n \t \\ escaped, other control and high bytes as \xHH. */
export function show(bytes: Uint8Array | string, limit = 160): string {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('latin1');
  let out = '';
  for (let i = 0; i < text.length; i++) {
    if (out.length >= limit) return `${out}… (${text.length - i} more bytes)`;
    const c = text.charCodeAt(i);
    if (c === 0x0d) out += '\\r';
    else if (c === 0x0a) out += '\\n';
    else if (c === 0x09) out += '\\t';
    else if (c === 0x5c) out += '\\\\';
    else if (c < 0x20 || c >= 0x7f) out += `\\x${c.toString(16).padStart(2, '0')}`;
    else out += text[i];
  }
  return out;
}

const CONTEXT_LINES = 3;
const SHOWN_LINES = 80;
/** Past this many lines times lines, the diff is only the common head and tail around one change. */
const LCS_CELLS_MAX = 16_000_000;

type Edit = { op: ' ' | '-' | '+'; line: string };

/** A shortest line edit script from `a` to `b` (longest common subsequence, by dynamic programming). */
function lineEdits(a: readonly string[], b: readonly string[]): Edit[] {
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (tail < a.length - head && tail < b.length - head && a[a.length - 1 - tail] === b[b.length - 1 - tail]) tail++;
  const x = a.slice(head, a.length - tail);
  const y = b.slice(head, b.length - tail);
  const middle: Edit[] = [];
  if ((x.length + 1) * (y.length + 1) > LCS_CELLS_MAX) {
    for (const line of x) middle.push({ op: '-', line });
    for (const line of y) middle.push({ op: '+', line });
  } else {
    // lcs[i][j]: the longest common subsequence of x[i..] and y[j..], row-major.
    const width = y.length + 1;
    const lcs = new Uint32Array((x.length + 1) * width);
    for (let i = x.length - 1; i >= 0; i--) {
      for (let j = y.length - 1; j >= 0; j--) {
        lcs[i * width + j] = x[i] === y[j] ? lcs[(i + 1) * width + j + 1]! + 1 : Math.max(lcs[(i + 1) * width + j]!, lcs[i * width + j + 1]!);
      }
    }
    let i = 0;
    let j = 0;
    while (i < x.length || j < y.length) {
      if (i < x.length && j < y.length && x[i] === y[j]) {
        middle.push({ op: ' ', line: x[i++]! });
        j++;
      } else if (i < x.length && (j === y.length || lcs[(i + 1) * width + j]! >= lcs[i * width + j + 1]!)) {
        middle.push({ op: '-', line: x[i++]! });
      } else {
        middle.push({ op: '+', line: y[j++]! });
      }
    }
  }
  return [
    ...a.slice(0, head).map((line): Edit => ({ op: ' ', line })),
    ...middle,
    ...a.slice(a.length - tail).map((line): Edit => ({ op: ' ', line })),
  ];
}

/** A line diff of two normalised replies: `- ` only in the oracle's, `+ ` only in the subject's. */
export function diffReplies(
  oracle: string,
  subject: string,
  labels: [string, string],
  display: (line: string) => string = (line) => show(line),
): string {
  const lines = (text: string): string[] => text.split(/(?<=\n)/).filter((line) => line !== '');
  const edits = lineEdits(lines(oracle), lines(subject));
  const out: string[] = [`--- ${labels[0]} (${oracle.length} bytes)`, `+++ ${labels[1]} (${subject.length} bytes)`];
  // Equal lines within CONTEXT_LINES of a change are shown; longer equal runs are counted.
  const near = edits.map(() => false);
  edits.forEach((edit, k) => {
    if (edit.op === ' ') return;
    for (let d = Math.max(0, k - CONTEXT_LINES); d <= Math.min(edits.length - 1, k + CONTEXT_LINES); d++) near[d] = true;
  });
  let shown = 0;
  let skipped = 0;
  for (let k = 0; k < edits.length; k++) {
    const edit = edits[k]!;
    if (!near[k]) {
      skipped++;
      continue;
    }
    if (skipped) out.push(`  … ${skipped} equal lines`);
    skipped = 0;
    if (edit.op !== ' ' && ++shown > SHOWN_LINES) {
      out.push(`  … and ${edits.slice(k).filter((e) => e.op !== ' ').length} more changed lines`);
      return out.join('\n');
    }
    out.push(`${edit.op} ${display(edit.line)}`);
  }
  if (skipped) out.push(`  … ${skipped} equal lines`);
  return out.join('\n');
}

/** A normalised binary line as shown in a diff: without its newline, cut at `limit` characters. */
function showPacketLine(line: string, limit = 300): string {
  const text = line.endsWith('\n') ? line.slice(0, -1) : line;
  return text.length > limit ? `${text.slice(0, limit)}… (${text.length - limit} more characters)` : text;
}

/** A write of binary requests: each packet as its line, then any partial bytes. */
function describeBinaryWrite(bytes: Uint8Array): string {
  const { packets, rest } = parsePackets(bytes);
  const parts = packets.map((packet) => showPacketLine(describePacket(packet, undefined, true), 120));
  if (rest.length > 0) parts.push(`${rest.length} more bytes "${show(rest, 60)}"`);
  return parts.length > 4 ? `${parts.slice(0, 4).join(' | ')} | … ${parts.length - 4} more packets` : parts.join(' | ');
}

/** The session's input, one step a line, for failure messages. */
export function describeSteps(steps: readonly Step[], protocol: Protocol = 'text'): string {
  const lines = steps.map((step) => {
    if (typeof step === 'string' || step instanceof Uint8Array) {
      if (protocol === 'binary') return `  send ${describeBinaryWrite(typeof step === 'string' ? latin1(step) : step)}`;
      return `  send ${show(step, 120)}`;
    }
    switch (step.kind) {
      case 'bytes': return `  waitBytes(${step.count})`;
      case 'packets': return `  waitPackets(${step.count})`;
      case 'stats-end': return '  waitStatsEnd()';
      case 'lines': return `  waitLines(${step.count})`;
      case 'text': return `  waitFor(${show(step.text)})`;
      case 'quiet': return `  quiet(${step.ms})`;
      case 'sleep': return `  sleep(${step.ms})`;
      case 'close': return '  expectClose()';
    }
  });
  const shown = lines.slice(0, 30);
  if (lines.length > 30) shown.push(`  … ${lines.length - 30} more steps`);
  return shown.join('\n');
}

// ---------------------------------------------------------------------------------------------
// Comparing

/** What a session needs beyond its steps and common flags. */
export interface SessionOptions {
  /** The protocol the session speaks; by default binary if its first byte is 0x80 (sessionProtocol). */
  protocol?: Protocol;
  /** Environment variables both servers get (each ignores the other's). */
  env?: Readonly<Record<string, string>>;
  /** Flags only servers of one kind get, after the common ones (with DIFF_SUBJECT=memcached, both get memcached's). */
  flagsFor?: Readonly<Partial<Record<ServerKind, readonly string[]>>>;
}

export interface Comparison {
  name: string;
  flags: readonly string[];
  steps: readonly Step[];
  oracle: SessionResult;
  subject: SessionResult;
  labels: [string, string];
  protocol: Protocol;
}

/** Runs `steps` against a fresh memcached and a fresh subject in parallel, both started with `flags`. */
export async function playBoth(
  name: string,
  steps: readonly Step[],
  flags: readonly string[] = [],
  options: SessionOptions = {},
): Promise<Comparison> {
  const kind = subjectKind();
  const labels: [string, string] = ['memcached', kind === 'memcached' ? 'memcached (subject)' : 'wasmcached'];
  const protocol = options.protocol ?? sessionProtocol(steps);
  const flagsOf = (server: ServerKind): string[] => [...flags, ...(options.flagsFor?.[server] ?? [])];
  const start: StartOptions = options.env ? { env: options.env } : {};
  const servers: ServerProcess[] = [];
  try {
    const started = await Promise.allSettled([startServer('memcached', flagsOf('memcached'), start), startServer(kind, flagsOf(kind), start)]);
    for (const s of started) if (s.status === 'fulfilled') servers.push(s.value);
    for (const s of started) if (s.status === 'rejected') throw s.reason;
    const [oracleServer, subjectServer] = servers as [ServerProcess, ServerProcess];
    let oracleEnd: { length: number; closed: boolean } | undefined;
    const oracleRun = runSession(oracleServer.port, steps, ORACLE_END, protocol).then((result) => {
      oracleEnd = { length: result.reply.length, closed: result.closed };
      return result;
    });
    // The subject's reply is complete once it is as long as memcached's and then quiet a moment;
    // a shorter reply, or an open connection where memcached closed, gets a second of quiet.
    const subjectRun = runSession(subjectServer.port, steps, { quietMs: 1_000, expected: () => oracleEnd, settleMs: 25 }, protocol);
    const [oracle, subject] = await Promise.all([oracleRun, subjectRun]);
    return { name, flags, steps, oracle, subject, labels, protocol };
  } finally {
    // memcached takes most of a second to join its threads after SIGTERM; the session does not
    // wait for that (the exit hook above kills whatever is still running when the tests end).
    for (const server of servers) void server.stop();
  }
}

/** Throws a SessionFailure with a readable diff unless both replies and both close states agree. */
export function assertSame(c: Comparison): void {
  const binary = c.protocol === 'binary';
  const display = binary ? (line: string): string => showPacketLine(line) : (line: string): string => show(line, 200);
  if (process.env.DIFF_SHOW) {
    // For writing sessions: what memcached answered, one reply line a line.
    console.log(`\n# ${c.name}${c.oracle.closed ? ' (closed)' : ''}\n${normalise(c.oracle.reply, c.protocol).split(/(?<=\n)/).map(display).join('\n')}`);
  }
  if (c.oracle.notes.length > 0) {
    const replied = binary ? `\n${normalise(c.oracle.reply, c.protocol).split(/(?<=\n)/).slice(0, 40).map(display).join('\n')}` : show(c.oracle.reply, 2000);
    throw new SessionFailure(
      `session '${c.name}' is broken: memcached itself did not satisfy it`,
      [...c.oracle.notes, `steps:\n${describeSteps(c.steps, c.protocol)}`, `memcached replied: ${replied}`].join('\n'),
    );
  }
  const expected = normalise(c.oracle.reply, c.protocol);
  const actual = normalise(c.subject.reply, c.protocol);
  if (expected === actual && c.oracle.closed === c.subject.closed) return;
  const parts = [`session '${c.name}'${c.flags.length ? ` (flags ${c.flags.join(' ')})` : ''}: the replies differ`];
  if (expected !== actual) parts.push(diffReplies(expected, actual, c.labels, binary ? (line) => showPacketLine(line) : undefined));
  if (c.oracle.closed !== c.subject.closed) {
    const says = (closed: boolean): string => (closed ? 'closed the connection' : 'kept the connection open');
    parts.push(`${c.labels[0]} ${says(c.oracle.closed)}; ${c.labels[1]} ${says(c.subject.closed)}`);
  }
  if (c.subject.notes.length) parts.push(`${c.labels[1]}: ${c.subject.notes.join('; ')}`);
  parts.push(`steps:\n${describeSteps(c.steps, c.protocol)}`);
  throw new SessionFailure(parts[0]!, parts.slice(1).join('\n'));
}

/** A failed comparison as uvu prints it: the message, then `details` (the diff), without a stack. */
export class SessionFailure extends Error {
  override readonly name = 'SessionFailure';
  readonly operator = 'compareSessions';
  constructor(message: string, readonly details: string) {
    super(message);
    this.stack = message;
  }
}

/** Runs the same session against memcached and the subject and asserts the same bytes come back. */
export async function compareSessions(
  name: string,
  steps: readonly Step[],
  flags: readonly string[] = [],
  options: SessionOptions = {},
): Promise<void> {
  assertSame(await playBoth(name, steps, flags, options));
}

// ---------------------------------------------------------------------------------------------
// Running many sessions: each needs two fresh processes, so a few run at once while the test
// runner awaits them in order. Every session has its own servers, so none sees another's state.

const CONCURRENCY = Math.max(1, Number(process.env.DIFF_CONCURRENCY ?? 4));

interface Queued {
  start(): void;
  started: boolean;
  done: Promise<Comparison | { error: unknown }>;
}

const queue: Queued[] = [];
let inFlight = 0;

function pump(): void {
  for (const entry of queue) {
    if (inFlight >= CONCURRENCY) return;
    if (!entry.started) entry.start();
  }
}

/**
 * Queues a session and returns the test body that awaits it: the queue starts when the first of
 * them is awaited (not at import, so other suites do not share the CPU with it) and then keeps
 * CONCURRENCY sessions (DIFF_CONCURRENCY, default 4) in flight, in the order they were defined.
 */
export function scheduleSession(
  name: string,
  steps: readonly Step[],
  flags: readonly string[] = [],
  options: SessionOptions = {},
): () => Promise<void> {
  let release!: (value: Comparison | { error: unknown }) => void;
  const entry: Queued = {
    started: false,
    done: new Promise((resolve) => {
      release = resolve;
    }),
    start() {
      entry.started = true;
      inFlight++;
      playBoth(name, steps, flags, options)
        .then(release, (error: unknown) => release({ error }))
        .finally(() => {
          inFlight--;
          queue.splice(queue.indexOf(entry), 1);
          pump();
        });
    },
  };
  queue.push(entry);
  return async () => {
    if (!entry.started) entry.start();
    pump();
    const outcome = await entry.done;
    if ('error' in outcome) throw outcome.error;
    assertSame(outcome);
  };
}

/** A session as an uvu test: `const session = sessionTest(test); session('name', [...steps])`. */
export function sessionTest(
  register: (name: string, body: () => Promise<void>) => void,
): (name: string, steps: readonly Step[], flags?: readonly string[], options?: SessionOptions) => void {
  return (name, steps, flags = [], options = {}) => register(name, scheduleSession(name, steps, flags, options));
}
