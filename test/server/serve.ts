// An in-process wasmcached server for wire tests: a real engine, a manual clock, TCP on an
// ephemeral loopback port, and a client that sends bytes and collects exact replies.
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { createManualClock } from '../../src/engine/clock.ts';
import type { ManualClock } from '../../src/engine/clock.ts';
import { ENGINE_INTERFACE_VERSION } from '../../src/engine/types.ts';
import type { EngineHandle, ServerApi } from '../../src/engine/types.ts';
import { Connection, Sent } from '../../src/server/connection.ts';
import type { Transport } from '../../src/server/connection.ts';
import type { ServerState } from '../../src/server/context.ts';
import { MemcachedServer } from '../../src/server/server.ts';
import { READ_BUFFER_BYTES } from '../../src/server/stream-handle.ts';
import type { ServerOptions } from '../../src/server/server.ts';
import { loadEngine, toConfig } from '../engine/harness.ts';
import type { ConfigInput, EngineName } from '../engine/harness.ts';

export interface TestServer {
  server: MemcachedServer;
  engine: EngineHandle;
  clock: ManualClock;
  port: number;
  close(): Promise<void>;
}

export function serverOptions(engine: EngineHandle, api: ServerApi, options: Partial<ServerOptions>): ServerOptions {
  return {
    engine,
    api,
    port: 0,
    udpPort: 0,
    socketPath: '',
    socketMask: 0o700,
    listen: ['127.0.0.1'],
    connLimit: 1024,
    reqsPerEvent: 20,
    backlog: 1024,
    shutdownEnabled: false,
    flushEnabled: true,
    dumpEnabled: true,
    idleTimeout: 0,
    verbosity: 0,
    threads: 4,
    version: '1.6.18',
    settingsStats: () => {},
    onShutdown: () => {},
    ...options,
  };
}

export async function createTestEngine(
  engineName: EngineName,
  config: ConfigInput,
): Promise<{ engine: EngineHandle; api: ServerApi; clock: ManualClock }> {
  const clock = createManualClock();
  const api: ServerApi = { core: clock, log: () => {} };
  const create = await loadEngine(engineName);
  const engine = create(ENGINE_INTERFACE_VERSION, () => api);
  if (typeof engine === 'number') throw new Error(`createInstance: ${engine}`);
  const status = await engine.initialize(toConfig({ cache_size: '64m' }, config));
  if (status !== 0) throw new Error(`initialize: ${status}`);
  return { engine, api, clock };
}

/** A Connection over a fake transport that records what it sends: no sockets. */
export async function fakeConnection(
  options: Partial<ServerOptions> = {},
  config: ConfigInput = {},
  engineName: EngineName = 'wasm',
) {
  const { engine, api, clock } = await createTestEngine(engineName, config);
  return { ...connectionOver(engine, api, options), engine, clock };
}

/** A Connection to a server around an engine the caller made (and its clock, in `api`). */
export function connectionOver(engine: EngineHandle, api: ServerApi, options: Partial<ServerOptions> = {}) {
  const server = new MemcachedServer(serverOptions(engine, api, options));
  return { ...recordedConnection(server.state, options.reqsPerEvent ?? 20), state: server.state };
}

/**
 * One more Connection on a server's state, over a fake transport that records what it sends.
 * With `reportsWrites` it can tell when a write is done (afterWrite), as the socket transports
 * can, so that long values go out by reference. `read` feeds it as the stream handles do: into
 * one shared buffer, reused read after read, or where the connection asked during the last read
 * (readInto).
 */
export function recordedConnection(state: ServerState, reqsPerEvent = 20, reportsWrites = false) {
  const shared = new Uint8Array(READ_BUFFER_BYTES);
  let next: Uint8Array | undefined;
  let inRead = false;
  const sent: number[] = [];
  /** How many parts each send had. */
  const sends: number[] = [];
  let closed = false;
  const transport: Transport = {
    send: (parts) => {
      sends.push(parts.length);
      for (const p of parts) for (const b of p) sent.push(b);
      return Sent.COPIED;
    },
    pauseReading: () => {},
    resumeReading: () => {},
    close: () => {
      closed = true;
    },
  };
  if (reportsWrites) transport.afterWrite = (done) => done();
  transport.readInto = (target) => {
    if (inRead) next = target;
  };
  const conn = new Connection(state, transport, reqsPerEvent);
  return {
    conn,
    sends,
    /** One read of at most `most` bytes of `bytes`, from their start; returns how many it took. */
    read(bytes: Uint8Array, most: number): number {
      const into = next ?? shared;
      next = undefined;
      const n = Math.min(most, bytes.length, into.length);
      into.set(bytes.subarray(0, n));
      inRead = true;
      conn.receive(into, n);
      inRead = false;
      return n;
    },
    /** Everything sent since the last call, as latin1. */
    reply: (): string => Buffer.from(sent.splice(0)).toString('latin1'),
    /**
     * Waits until what was sent since the last call is `want` (or the connection closes, or 2 s
     * pass: a loaded machine may be slow to run timers); returns and clears it.
     */
    async replyOf(want: string, timeoutMs = 2000): Promise<string> {
      const deadline = Date.now() + timeoutMs;
      while (sent.length < want.length && !closed && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 5));
      return Buffer.from(sent.splice(0)).toString('latin1');
    },
    closed: () => closed,
  };
}

export async function startServer(
  engineName: EngineName = 'wasm',
  options: Partial<ServerOptions> = {},
  config: ConfigInput = {},
): Promise<TestServer> {
  const { engine, api, clock } = await createTestEngine(engineName, config);
  const server = new MemcachedServer(serverOptions(engine, api, options));
  await server.start();
  return {
    server,
    engine,
    clock,
    port: server.tcpPorts()[0]!,
    async close() {
      await server.stop();
      await engine.destroy();
    },
  };
}

/** A client that keeps every byte the server sends. */
export class Client {
  private received = Buffer.alloc(0);
  private waiters: Array<() => void> = [];
  closed = false;
  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.received = Buffer.concat([this.received, chunk]);
      this.wake();
    });
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
    socket.on('error', () => {});
  }

  static open(port: number, host = '127.0.0.1'): Promise<Client> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host }, () => resolve(new Client(socket)));
      socket.once('error', reject);
    });
  }

  send(data: string | Uint8Array): void {
    this.socket.write(typeof data === 'string' ? Buffer.from(data, 'latin1') : data);
  }

  /** Waits until the reply ends with `suffix` (or the connection closes, or 2 s pass); returns and clears it. */
  async until(suffix: string, timeoutMs = 2000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    while (!this.received.toString('latin1').endsWith(suffix) && !this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 20);
      });
    }
    return this.take();
  }

  /** Sends `data`, then waits for a reply ending with `suffix`. */
  async request(data: string | Uint8Array, suffix = '\r\n'): Promise<string> {
    this.send(data);
    return this.until(suffix);
  }

  /** Whatever arrived within `ms`. */
  async settle(ms = 100): Promise<string> {
    await new Promise((resolve) => setTimeout(resolve, ms));
    return this.take();
  }

  take(): string {
    const text = this.received.toString('latin1');
    this.received = Buffer.alloc(0);
    return text;
  }

  close(): void {
    this.socket.destroy();
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }
}
