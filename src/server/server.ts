// The network server: TCP and unix-socket listeners and UDP ports (cf. memcached.c
// server_sockets, server_socket_unix), connection accounting (-c, maxconns_fast refusal,
// idle_timeout), and the ServerState every connection's process step sees. It is handed an
// initialized engine and never knows which one.

import { createSocket } from 'node:dgram';
import type { RemoteInfo, Socket as UdpSocket } from 'node:dgram';
import { chmodSync, lstatSync, renameSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer } from 'node:net';
import type { AddressInfo, Server as NetServer } from 'node:net';
import type { EngineHandle, ServerApi } from '../engine/types.ts';
import type { AuthEntry } from './auth.ts';
import { Connection, Sent } from './connection.ts';
import { crawlerSettingsOf, type CrawlerSettings } from './crawler.ts';
import { tuningSettingsOf, type TuningSettings } from './tuning.ts';
import { defaultSettings } from './settings.ts';
import type { ServerState } from './context.ts';
import { encodeAscii, Output } from '../protocol/output.ts';
import { adoptConnections, socketPeer } from './stream-handle.ts';
import type { Peer } from './stream-handle.ts';
import { PrefixStats } from './prefix-stats.ts';
import { ServerStats } from './stats.ts';
import type { ProcessFacts } from './stats.ts';
import { Sweeper } from './sweeper.ts';
import { UDP_HEADER_BYTES, type UdpReply, UdpPort } from './udp.ts';

export interface ServerOptions {
  engine: EngineHandle;
  api: ServerApi;
  /** TCP port (0 picks one); -1 for none. */
  port: number;
  /** UDP port; 0 is off (memcached 1.6's default). */
  udpPort: number;
  /** -s: a unix socket path; when given, no TCP or UDP port is opened (as memcached). */
  socketPath: string;
  /** -a: the unix socket's permission bits. */
  socketMask: number;
  /** -l: addresses, each `host` or `host:port`; empty means every address. */
  listen: readonly string[];
  connLimit: number;
  reqsPerEvent: number;
  backlog: number;
  shutdownEnabled: boolean;
  flushEnabled: boolean;
  dumpEnabled: boolean;
  /** -o idle_timeout: seconds; 0 never closes idle connections. */
  idleTimeout: number;
  verbosity: number;
  threads: number;
  /** -D: per-prefix stats from the start, and the delimiter (default ':'). */
  detailEnabled?: boolean;
  statPrefix?: string;
  /** The VERSION reply and `stats` version. */
  version: string;
  /** The LRU crawler's settings at start (-o lru_crawler, lru_crawler_sleep, lru_crawler_tocrawl); memcached's defaults if not given. */
  crawler?: CrawlerSettings;
  /** Settings `lru temp_ttl` and `slabs automove` change, at start; memcached's defaults if not given. */
  tuning?: TuningSettings;
  /** Server-owned lines of `stats settings`. */
  settingsStats(add: (key: string, value: string) => void): void;
  /** The shutdown command (with -A) was received. */
  onShutdown(graceful: boolean): void;
  /** MEMCACHED_PORT_FILENAME: where to write the ports bound, as memcached does. */
  portFile?: string;
  /** -B: 'auto' (default) chooses each connection's protocol by its first byte. */
  protocol?: 'auto' | 'ascii' | 'binary';
  /** -S: SASL PLAIN required of binary connections, checked against this `user:password` file. */
  saslPwdb?: string;
  /** -Y: the entries of the ASCII authentication file (see loadAuthFile). */
  asciiAuth?: readonly AuthEntry[];
  /**
   * Run the engine's background LRU work (EngineHandle.maintainLru) on a timer from start to stop, as
   * memcached's LRU maintainer thread (-o lru_maintainer, its default) juggles the segments and
   * reclaims flushed and expired items. Off unless set: a server on a manual clock stays
   * deterministic.
   */
  sweep?: boolean;
}

/** memcached's reserved_fds, and the three standard descriptors its fd arithmetic also counts. */
const RESERVED_FDS = 20;
const STDIO_FDS = 3;
const TOO_MANY = encodeAscii('ERROR Too many open connections\r\n');
const INTERNAL_ERROR = encodeAscii('SERVER_ERROR internal error\r\n');

interface Tracked {
  conn: Connection;
  peer: Peer;
  listenAddr: string;
  /** Read since the idle check last looked. */
  active: boolean;
  /** Idle checks in a row that found nothing read. */
  idleTicks: number;
}

export class MemcachedServer {
  readonly state: ServerState;
  private readonly stats = new ServerStats();
  private readonly listeners: NetServer[] = [];
  private readonly udp: Array<{ socket: UdpSocket; port: UdpPort<RemoteInfo> }> = [];
  private readonly conns = new Set<Tracked>();
  /** Connection ids for `stats conns` start after the listeners', as memcached's fds do. */
  private nextId = 100;
  /** current_time when the server was made: listeners' secs_since_last_cmd. */
  private readonly startedAt: number;
  /** Lines for MEMCACHED_PORT_FILENAME. */
  private readonly portLines: string[] = [];
  private readonly sweeper: Sweeper;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Whether connections are served on raw stream handles (else on net.Socket); see stream-handle.ts. */
  onStreamHandles = false;

  constructor(private readonly options: ServerOptions) {
    const o = options;
    const core = o.api.core;
    this.startedAt = core.currentTime();
    this.sweeper = new Sweeper(o.engine, (level, message) => o.api.log(level, message));
    const facts = (): ProcessFacts => ({
      pid: process.pid,
      version: o.version,
      processStarted: core.processStarted(),
      now: core.abstime(core.currentTime()),
      maxConnections: o.connLimit,
      threads: o.threads,
      reservedFds: RESERVED_FDS,
      acceptingConns: true,
    });
    this.state = {
      engine: o.engine,
      core,
      stats: this.stats,
      out: new Output(),
      shutdownEnabled: o.shutdownEnabled,
      flushEnabled: o.flushEnabled,
      dumpEnabled: o.dumpEnabled,
      version: o.version,
      crawler: { ...(o.crawler ?? crawlerSettingsOf(defaultSettings())) },
      tuning: { ...(o.tuning ?? tuningSettingsOf(defaultSettings())) },
      casEnabled: true,
      protocol: o.protocol ?? (o.saslPwdb !== undefined ? 'binary' : o.asciiAuth !== undefined ? 'ascii' : 'auto'),
      saslPwdb: o.saslPwdb,
      asciiAuth: o.asciiAuth,
      verbosity: o.verbosity,
      detailEnabled: o.detailEnabled ?? false,
      prefixStats: new PrefixStats((o.statPrefix ?? ':').charCodeAt(0)),
      processFacts: facts,
      shutdown: (graceful) => o.onShutdown(graceful),
      connStats: (add) => this.connStats(add),
      engineFailed: (error) => this.internalError(error, 'engine failure'),
      trace: (line) => void process.stderr.write(`${line}\n`),
      settingsStats: (add) => o.settingsStats(add),
    };
    // The binary protocol needs to know whether a request's CAS means anything (-C).
    void o.engine.getStats('settings', (key, value) => {
      if (key === 'cas_enabled') this.state.casEnabled = value !== 'no';
    });
  }

  /** Opens every listener; rejects when one cannot be opened (the CLI then exits). */
  async start(): Promise<void> {
    const o = this.options;
    if (o.socketPath !== '') {
      await this.listenUnix(o.socketPath, o.socketMask);
    } else {
      const addresses = o.listen.length === 0 ? [undefined] : o.listen;
      for (const address of addresses) {
        const { host, port } = splitAddress(address, o.port);
        if (o.port >= 0) await this.listenTcp(host, port);
        if (o.udpPort > 0) await this.listenUdp(host, splitAddress(address, o.udpPort).port);
      }
    }
    if (o.portFile !== undefined) {
      const temporary = `${o.portFile}.lck`;
      writeFileSync(temporary, this.portLines.join(''));
      renameSync(temporary, o.portFile);
    }
    if (o.sweep === true) this.sweeper.start();
    if (o.idleTimeout > 0) this.startIdleCheck(o.idleTimeout);
  }

  /**
   * -o idle_timeout: closes connections that sent nothing for that many seconds (memcached's
   * conn_timeout thread, on last_cmd_time). Checked ten times per timeout, at most once a second,
   * so a connection goes between the timeout and a tenth more after its last read.
   */
  private startIdleCheck(seconds: number): void {
    const tick = Math.min(1000, seconds * 100);
    const ticks = Math.ceil((seconds * 1000) / tick);
    this.idleTimer = setInterval(() => {
      for (const tracked of this.conns) {
        if (tracked.active) {
          tracked.active = false;
          tracked.idleTicks = 0;
        } else if (++tracked.idleTicks >= ticks) {
          tracked.peer.destroy();
        }
      }
    }, tick);
    this.idleTimer.unref();
  }

  /** The TCP ports bound (tests start with -p 0). */
  tcpPorts(): number[] {
    return this.listeners
      .map((l) => l.address())
      .filter((a): a is AddressInfo => a !== null && typeof a === 'object')
      .map((a) => a.port);
  }

  udpPorts(): number[] {
    return this.udp.map((u) => u.socket.address().port);
  }

  /** Stops listening and closes every connection. */
  async stop(): Promise<void> {
    this.sweeper.stop();
    if (this.idleTimer !== undefined) clearInterval(this.idleTimer);
    for (const tracked of this.conns) tracked.peer.destroy();
    await Promise.all(this.listeners.map((l) => new Promise<void>((resolve) => l.close(() => resolve()))));
    for (const u of this.udp) u.port.close();
    await Promise.all(this.udp.map((u) => new Promise<void>((resolve) => u.socket.close(() => resolve()))));
    if (this.options.socketPath !== '') removeSocketFile(this.options.socketPath);
  }

  private listenTcp(host: string | undefined, port: number): Promise<void> {
    const server = createNetServer({ noDelay: true }, (socket) => this.accept(socketPeer(socket), describe(server)));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, backlog: this.options.backlog }, () => {
        server.off('error', reject);
        const listenAddr = describe(server);
        this.onStreamHandles = adoptConnections(server, (peer) => this.accept(peer, listenAddr));
        server.on('error', (error) => this.options.api.log('warning', `listener: ${error.message}`));
        this.listeners.push(server);
        this.countConnection();
        const a = server.address() as AddressInfo;
        this.portLines.push(`TCP ${a.family === 'IPv6' ? 'INET6' : 'INET'}: ${a.port}\n`);
        this.options.api.log('info', `<${this.listeners.length} server listening (tcp ${a.address}:${a.port})`);
        resolve();
      });
    });
  }

  private listenUnix(path: string, mask: number): Promise<void> {
    removeSocketFile(path);
    const server = createNetServer((socket) => this.accept(socketPeer(socket), `unix:${path}`));
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ path, backlog: this.options.backlog }, () => {
        server.off('error', reject);
        this.onStreamHandles = adoptConnections(server, (peer) => this.accept(peer, `unix:${path}`));
        chmodSync(path, mask & 0o777);
        this.listeners.push(server);
        this.countConnection();
        this.options.api.log('info', `server listening (unix ${path})`);
        resolve();
      });
    });
  }

  private listenUdp(host: string | undefined, port: number): Promise<void> {
    const type = host !== undefined && host.includes(':') ? 'udp6' : 'udp4';
    const socket = createSocket({ type, reuseAddr: false });
    // One connection answers every datagram; what it sends for one is that datagram's reply.
    let reply: UdpReply = { parts: [], ends: [], sent: [] };
    const conn = new Connection(
      this.state,
      {
        send: (parts) => {
          reply.parts.push(...parts);
          return Sent.QUEUED;
        },
        // Replies hold long values by reference until they are framed.
        afterWrite: (done) => void reply.sent.push(done),
        pauseReading: () => {},
        resumeReading: () => {},
        close: () => {},
        waits: false,
      },
      Number.MAX_SAFE_INTEGER,
    );
    const out = this.state.out;
    const udpPort = new UdpPort<RemoteInfo>({
      answer: (request) => {
        reply = { parts: [], ends: [], sent: [] };
        this.stats.bytesRead += UDP_HEADER_BYTES;
        out.recordResponses();
        this.datagram(conn, request);
        reply.ends = out.recordedResponses();
        return reply;
      },
      ignored: (message) => {
        this.stats.bytesRead += message.length;
      },
      send: (frame, length, to, done) => {
        try {
          socket.send(frame, 0, length, to.port, to.address, done);
        } catch (error) {
          // A datagram from port 0 (only a forged one can be) has no address to answer.
          this.internalError(error, 'UDP reply not sent');
          return false;
        }
        // memcached counts the frame headers in bytes_read and bytes_written.
        this.stats.bytesWritten += UDP_HEADER_BYTES;
        return true;
      },
    });
    socket.on('message', (message: Buffer, from: RemoteInfo) => udpPort.receive(message, from));
    return new Promise((resolve, reject) => {
      socket.once('error', reject);
      socket.bind({ address: host, port }, () => {
        socket.off('error', reject);
        socket.on('error', (error) => this.internalError(error, 'UDP socket error'));
        this.udp.push({ socket, port: udpPort });
        // memcached gives each worker thread a connection on every UDP port.
        for (let t = 0; t < this.options.threads; t++) this.countConnection();
        this.portLines.push(`UDP ${type === 'udp6' ? 'INET6' : 'INET'}: ${socket.address().port}\n`);
        resolve();
      });
    });
  }

  /** One UDP request (after its frame header): commands that must all be in this datagram. */
  private datagram(conn: Connection, request: Uint8Array): void {
    conn.resetInput();
    try {
      conn.receive(request);
    } catch (error) {
      this.internalError(error);
      conn.ctx.out.clear();
    }
  }

  private accept(peer: Peer, listenAddr: string): void {
    const stats = this.stats;
    const o = this.options;
    if (stats.currConnections + RESERVED_FDS + STDIO_FDS >= o.connLimit - 1) {
      // maxconns_fast: tell the client and hang up at once. memcached's limit is on file
      // descriptors: listeners and clients, its reserved_fds, and stdin, stdout and stderr.
      stats.rejectedConnections++;
      peer.start({ data: () => {}, drain: () => {}, closed: () => {} });
      peer.end(TOO_MANY);
      return;
    }
    this.countConnection();
    const id = this.nextId++;
    const conn = new Connection(
      this.state,
      {
        send: (parts) => peer.send(parts),
        pauseReading: () => peer.pauseReading(),
        resumeReading: () => peer.resumeReading(),
        close: () => peer.end(),
        afterWrite: (done) => peer.afterWrite(done),
        readInto: peer.readInto === undefined ? undefined : (target) => peer.readInto!(target),
      },
      o.reqsPerEvent,
      id,
    );
    const tracked: Tracked = { conn, peer, listenAddr, active: true, idleTicks: 0 };
    if (this.state.verbosity > 1) this.state.trace(`<${id} new auto-negotiating client connection`);
    this.conns.add(tracked);
    peer.start({
      data: (chunk, length) => {
        tracked.active = true;
        try {
          conn.receive(chunk, length);
        } catch (error) {
          this.internalError(error);
          conn.closedByPeer();
          peer.end(INTERNAL_ERROR);
        }
      },
      drain: () => conn.drained(),
      closed: () => {
        if (this.state.verbosity > 1) this.state.trace(`<${id} connection closed.`);
        conn.closedByPeer();
        this.conns.delete(tracked);
        stats.currConnections--;
      },
    });
  }

  /** A new connection or listener: memcached counts both in curr_conns and total_conns. */
  private countConnection(): void {
    const stats = this.stats;
    stats.currConnections++;
    stats.totalConnections++;
    stats.connectionStructures = Math.max(stats.connectionStructures, stats.currConnections);
  }

  /** A broken invariant: logged (once per kind of message), the connection closed, others served. */
  private readonly logged = new Set<string>();
  private internalError(error: unknown, what = 'internal error, connection closed'): void {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    if (this.logged.has(message)) return;
    this.logged.add(message);
    this.options.api.log('warning', `${what}: ${message}`);
  }

  private connStats(add: (key: string, value: string) => void): void {
    const now = this.state.core.currentTime();
    this.listeners.forEach((listener, i) => {
      add(`${i + 1}:addr`, describe(listener));
      add(`${i + 1}:state`, 'conn_listening');
      add(`${i + 1}:secs_since_last_cmd`, String(now - this.startedAt));
    });
    for (const { conn, peer, listenAddr } of this.conns) {
      const id = conn.ctx.id;
      const remote = peer.remote();
      const family = remote?.family === 'IPv6' ? 'tcp6' : 'tcp';
      const addr = remote?.address === undefined ? listenAddr : `${family}:${remote.address}:${remote.port}`;
      add(`${id}:addr`, addr);
      add(`${id}:listen_addr`, listenAddr);
      add(`${id}:state`, 'conn_parse_cmd');
      add(`${id}:secs_since_last_cmd`, String(now - (conn.lastRead || now)));
    }
  }
}

/** `host`, `host:port`, `[v6]:port` or a bare IPv6 address; the default port when none is given. */
export function splitAddress(address: string | undefined, defaultPort: number): { host: string | undefined; port: number } {
  if (address === undefined) return { host: undefined, port: defaultPort };
  const bracketed = /^\[(.+)\](?::(\d+))?$/.exec(address);
  if (bracketed !== null) return { host: bracketed[1], port: bracketed[2] === undefined ? defaultPort : Number(bracketed[2]) };
  const colon = address.lastIndexOf(':');
  if (colon > 0 && address.indexOf(':') === colon) {
    return { host: address.slice(0, colon), port: Number(address.slice(colon + 1)) };
  }
  return { host: address, port: defaultPort };
}

function describe(server: NetServer): string {
  const a = server.address();
  if (a === null) return 'closed';
  if (typeof a === 'string') return `unix:${a}`;
  return `${a.family === 'IPv6' ? 'tcp6' : 'tcp'}:${a.address}:${a.port}`;
}

/** Removes a stale unix socket file (memcached unlinks one that is a socket). */
function removeSocketFile(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // absent: nothing to remove
  }
}
