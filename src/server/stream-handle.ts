// Connections served on Node's own stream handles (the libuv TCP and pipe wraps every net.Socket
// sits on) rather than through net.Socket: reads land in one shared buffer (no Buffer or
// ArrayBuffer per read), a write that the kernel takes at once (the usual case) needs no request
// object of its own, and there are no stream states, events or callbacks per request. This is
// what lets a Node process answer an unpipelined request for about the CPU memcached spends
// (cf. memcached's conn read buffer and sendmsg per batch). When the handles are not reachable
// (another runtime, a future Node), the server falls back to net.Socket.

import type { Server as NetServer, Socket } from 'node:net';
import { Sent } from './connection.ts';

/** The bindings' view of a connected stream handle (tcp_wrap TCP or pipe_wrap Pipe). */
interface StreamHandle {
  /**
   * With a user buffer: called with no arguments; the read's result is in streamBaseState. A
   * Uint8Array returned is where the next read goes (what net.Socket's onread.buffer function
   * uses); undefined keeps the buffer.
   */
  onread: () => Uint8Array | undefined;
  readStart(): number;
  readStop(): number;
  /** Reads go to `buffer` from now on. Each call stacks another listener on the handle until it closes: call it once. */
  useUserBuffer(buffer: Uint8Array): void;
  writeBuffer(req: WriteReq, data: Uint8Array): number;
  writev(req: WriteReq, chunks: Uint8Array[], allBuffers: true): number;
  shutdown(req: ShutdownReq): number;
  close(callback: () => void): void;
  /** Bytes libuv still holds in queued writes. */
  readonly writeQueueSize: number;
  setNoDelay?(on: boolean): number;
  getpeername?(out: PeerName): number;
}

interface PeerName {
  address?: string;
  family?: string;
  port?: number;
}

interface WriteReq {
  handle: StreamHandle;
  oncomplete: (status: number) => void;
  /** Keeps the written bytes alive while the write is queued (the handle does not copy them). */
  buffer: Uint8Array | Uint8Array[] | null;
  /** Called once this write is done (see Peer.afterWrite). */
  after: Array<() => void> | null;
}

interface ShutdownReq {
  handle: StreamHandle;
  oncomplete: (status: number) => void;
}

interface StreamBindings {
  WriteWrap: new () => WriteReq;
  ShutdownWrap: new () => ShutdownReq;
  streamBaseState: Int32Array;
  kReadBytesOrError: number;
  kLastWriteWasAsync: number;
}

/** A listening net.Server's handle, whose connection callback can be taken over. */
interface ListenHandle {
  onconnection: (status: number, client: StreamHandle | undefined) => void;
}

/** The stream bindings, or undefined where this runtime does not expose them. */
function loadBindings(): StreamBindings | undefined {
  try {
    const binding = (process as unknown as { binding(name: string): unknown }).binding;
    const b = binding('stream_wrap') as Partial<StreamBindings>;
    if (
      typeof b.WriteWrap !== 'function' ||
      typeof b.ShutdownWrap !== 'function' ||
      !(b.streamBaseState instanceof Int32Array) ||
      typeof b.kReadBytesOrError !== 'number' ||
      typeof b.kLastWriteWasAsync !== 'number'
    ) {
      return undefined;
    }
    return b as StreamBindings;
  } catch {
    return undefined;
  }
}

/** Bytes read at most per read call (memcached reads 16 KB at a time too); every connection's reads share one buffer this size. */
export const READ_BUFFER_BYTES = 16 * 1024;
/** Queued write bytes beyond which a connection stops being read (net.Socket's highWaterMark). */
const WRITE_HIGH_WATER = 16 * 1024;

/** What the server does with a connection's events. */
export interface PeerEvents {
  /**
   * Bytes arrived: chunk[0, length). They are valid only during the call (the buffer is shared),
   * and a shared buffer is handed over whole, so that what is parsed from it sees one buffer
   * whatever the length (the views of a steady load are made once).
   */
  data(chunk: Uint8Array, length: number): void;
  /** Everything queued has been written after a send returned false. */
  drain(): void;
  /** The connection is gone (either side); called once. */
  closed(): void;
}

/** A connection as the server sees it, whichever way it is served. */
export interface Peer {
  /** Sends the parts in order (the array may be reused after the call, the parts not). */
  send(parts: Uint8Array[]): Sent;
  pauseReading(): void;
  resumeReading(): void;
  /** Closes fully (FIN, then close) once everything sent has been written; `last` goes first. */
  end(last?: Uint8Array): void;
  /** Closes at once, dropping anything unwritten. */
  destroy(): void;
  /** Calls `done` once everything sent so far is written, or dropped by a close. */
  afterWrite(done: () => void): void;
  /** The next read goes into `target` (see Transport.readInto); optional. */
  readInto?(target: Uint8Array): void;
  /** For `stats conns`: the client's address, or undefined (unix sockets). */
  remote(): PeerName | undefined;
  /** Starts delivering events. */
  start(events: PeerEvents): void;
}

const bindings = loadBindings();

/**
 * Takes over a listening net.Server's accepted connections: `accept` gets each as a Peer on its
 * raw handle. Returns false when the handles are not reachable; the server then keeps
 * net.Server's own 'connection' events.
 */
export function adoptConnections(server: NetServer, accept: (peer: Peer) => void): boolean {
  if (bindings === undefined || process.env.WASMCACHED_TRANSPORT === 'net') return false;
  const listen = (server as unknown as { _handle?: Partial<ListenHandle> | null })._handle;
  if (listen === null || listen === undefined || typeof listen.onconnection !== 'function') return false;
  const b = bindings;
  const readBuffer = new ReadBuffer();
  listen.onconnection = (status, client) => {
    if (status < 0 || client === undefined) return;
    accept(new HandlePeer(client, b, readBuffer));
  };
  return true;
}

/** The buffer every connection's reads land in. */
class ReadBuffer {
  readonly bytes = new Uint8Array(READ_BUFFER_BYTES);
}

class HandlePeer implements Peer {
  private events: PeerEvents | undefined;
  /** A request object for writes, reused while writes complete at once. */
  private req: WriteReq;
  /** Writes the kernel did not take at once, still queued, oldest first. */
  private readonly queued: WriteReq[] = [];
  private full = false;
  private ending = false;
  private closing = false;
  /** Where the handle's reads go now: the shared buffer, or a target of readInto. */
  private reading: Uint8Array;
  /** Where the read after the current one goes, asked for during it (readInto). */
  private next: Uint8Array | undefined;
  /** Inside onread: only its return value can move the reads without stacking a listener. */
  private inRead = false;

  constructor(
    private readonly handle: StreamHandle,
    private readonly b: StreamBindings,
    private readonly readBuffer: ReadBuffer,
  ) {
    this.req = this.newReq();
    this.reading = readBuffer.bytes;
    handle.setNoDelay?.(true);
  }

  start(events: PeerEvents): void {
    this.events = events;
    const { handle, readBuffer } = this;
    const state = this.b.streamBaseState;
    const kRead = this.b.kReadBytesOrError;
    handle.useUserBuffer(readBuffer.bytes);
    handle.onread = () => {
      const n = state[kRead]!;
      // Nothing read (EAGAIN): the reads stay where they were going.
      if (n === 0) return undefined;
      const buffer = this.reading;
      if (n < 0) {
        this.destroy(); // end of stream or an error: memcached closes either way
        return undefined;
      }
      this.inRead = true;
      events.data(buffer, n);
      this.inRead = false;
      // The next read goes where readInto asked during this one, else to the shared buffer (a
      // target is used for one read). Returned, not set with useUserBuffer, which would stack a
      // listener on the handle per call for as long as the connection lives.
      const next = this.next ?? readBuffer.bytes;
      this.next = undefined;
      if (next === buffer || this.closing) return undefined;
      this.reading = next;
      return next;
    };
    if (handle.readStart() < 0) this.destroy();
  }

  send(parts: Uint8Array[]): Sent {
    if (this.closing) return Sent.QUEUED;
    const req = this.req;
    const handle = this.handle;
    const status = parts.length === 1 ? handle.writeBuffer(req, parts[0]!) : handle.writev(req, parts, true);
    if (status < 0) {
      this.destroy();
      return Sent.QUEUED;
    }
    // Written whole at once (libuv's try-write): the kernel has the bytes.
    if (this.b.streamBaseState[this.b.kLastWriteWasAsync] === 0) return Sent.COPIED;
    // Queued: the handle now owns this request and reads the parts until it completes.
    req.buffer = parts.length === 1 ? parts[0]! : parts.slice();
    this.queued.push(req);
    this.req = this.newReq();
    if (handle.writeQueueSize < WRITE_HIGH_WATER) return Sent.QUEUED;
    this.full = true;
    return Sent.FULL;
  }

  pauseReading(): void {
    if (!this.closing) this.handle.readStop();
  }

  resumeReading(): void {
    if (!this.closing) this.handle.readStart();
  }

  end(last?: Uint8Array): void {
    if (this.closing || this.ending) return;
    if (last !== undefined && last.length > 0) this.send([last]);
    this.ending = true;
    this.stopReadingInto();
    if (this.queued.length === 0) this.shutdown();
  }

  /** Honoured during a read (the usual case: the connection asks as it takes one); elsewhere the reads stay in the shared buffer and are copied. */
  readInto(target: Uint8Array): void {
    if (this.closing || this.ending || !this.inRead) return;
    this.next = target;
  }

  afterWrite(done: () => void): void {
    const last = this.queued[this.queued.length - 1];
    if (last === undefined) return done();
    (last.after ??= []).push(done);
  }

  destroy(): void {
    if (this.closing) return;
    this.closing = true;
    this.handle.readStop();
    this.stopReadingInto();
    this.handle.onread = ignore;
    this.handle.close(() => {
      // Writes still queued were dropped: what waited on them is done.
      for (const req of this.queued.splice(0)) finish(req);
      this.events?.closed();
    });
  }

  remote(): PeerName | undefined {
    const out: PeerName = {};
    if (this.handle.getpeername === undefined || this.handle.getpeername(out) < 0) return undefined;
    return out;
  }

  /** Reads go to the shared buffer again (a target may be an item about to be given back). */
  private stopReadingInto(): void {
    this.next = undefined;
    const shared = this.readBuffer.bytes;
    // Inside a read, its return moves the reads back (next is cleared); elsewhere only a new
    // listener can, once per connection at most, as it ends or closes.
    if (this.reading === shared || this.inRead) return;
    this.reading = shared;
    this.handle.useUserBuffer(shared);
  }

  private newReq(): WriteReq {
    const req = new this.b.WriteWrap();
    req.handle = this.handle;
    req.buffer = null;
    req.after = null;
    req.oncomplete = (status) => this.written(req, status);
    return req;
  }

  /** A queued write finished (they finish in order). */
  private written(req: WriteReq, status: number): void {
    const i = this.queued.indexOf(req);
    if (i < 0) return; // already finished by the close
    this.queued.splice(i, 1);
    finish(req);
    if (this.closing) return;
    if (status < 0) return this.destroy();
    if (this.queued.length > 0) return;
    if (this.ending) return this.shutdown();
    if (this.full) {
      this.full = false;
      this.events?.drain();
    }
  }

  /** Sends FIN after the last byte, then closes (a client that keeps writing gets a reset). */
  private shutdown(): void {
    if (this.closing) return;
    const req = new this.b.ShutdownWrap();
    req.handle = this.handle;
    req.oncomplete = () => this.destroy();
    if (this.handle.shutdown(req) < 0) this.destroy();
  }
}

/** A queued write is over: its bytes may go, and what waited on it runs. */
function finish(req: WriteReq): void {
  req.buffer = null;
  const after = req.after;
  req.after = null;
  if (after !== null) for (const done of after) done();
}

/** The portable way: a Peer over a net.Socket. */
export function socketPeer(socket: Socket): Peer {
  socket.setNoDelay(true);
  return {
    send(parts) {
      // socket.write keeps what it is given until written: never COPIED.
      let ok: boolean;
      if (parts.length === 1) {
        ok = socket.write(parts[0]!);
      } else {
        socket.cork();
        ok = true;
        for (const part of parts) ok = socket.write(part);
        socket.uncork();
      }
      return ok ? Sent.QUEUED : Sent.FULL;
    },
    pauseReading: () => socket.pause(),
    resumeReading: () => socket.resume(),
    end(last) {
      socket.end(last ?? EMPTY, () => socket.destroy());
    },
    destroy: () => socket.destroy(),
    afterWrite(done) {
      // Write callbacks run in order, and with an error when the socket is destroyed first.
      socket.write(EMPTY, () => done());
    },
    remote() {
      if (socket.remoteAddress === undefined) return undefined;
      return { address: socket.remoteAddress, family: socket.remoteFamily, port: socket.remotePort };
    },
    start(events) {
      socket.on('data', (chunk: Buffer) => events.data(chunk, chunk.length));
      socket.on('drain', () => events.drain());
      socket.on('error', () => socket.destroy());
      socket.on('close', () => events.closed());
    },
  };
}

const EMPTY = new Uint8Array(0);

/** A closing handle's read callback (the binding accepts only functions). */
function ignore(): undefined {
  return undefined;
}
