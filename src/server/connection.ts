// One client connection's read side and state machine (cf. memcached.c drive_machine): the
// protocol chosen by the first byte (-B auto) or forced, text command lines and binary headers
// parsed in place from what the socket delivered, values copied once, straight into the engine's
// item, pipelined commands answered in one write per read, -R fairness, backpressure, memcached's
// limits on lines without an end, and authentication before anything else under -S and -Y.

import type { ItemHandle } from '../engine/types.ts';
import { GET_MANY_MAX, createItemInfo } from '../engine/types.ts';
import { createBinaryHeader, dumpHeader, HEADER_BYTES, MAGIC_REQUEST, readHeader, REQUEST_PREFIX_MAX } from '../protocol/binary/header.ts';
import { parseBinaryRequest } from '../protocol/binary/parse.ts';
import { CR, LF } from '../protocol/output.ts';
import { Command, createRequest, isStorage } from '../protocol/request.ts';
import type { Request } from '../protocol/request.ts';
import { lineContentEnd, parseTextLine, singleGetKey } from '../protocol/text/parse.ts';
import { skipToLineFeedWord } from '../protocol/scan.ts';
import { Window } from '../protocol/window.ts';
import { Tokens } from '../protocol/text/tokens.ts';
import { AUTH_ANSWERED, AUTH_CLOSE, asciiAuthData, asciiAuthLine } from './auth.ts';
import { BinaryNext, binaryStoreBegin, binaryStoreComplete, processBinary, saslComplete } from './binary.ts';
import { ItemList, latin1, releaseKept } from './context.ts';
import type { Context, ServerState } from './context.ts';
import { After, processRequest, retrieveEach, storeBegin, storeComplete } from './process.ts';

const State = {
  /** Reading a command line. */
  COMMAND: 0,
  /** Reading a storage command's value (then its CRLF) into the engine's item. */
  VALUE: 1,
  /** Reading and dropping bytes of a value that could not be stored. */
  SWALLOW: 2,
} as const;
type State = (typeof State)[keyof typeof State];

const Protocol = {
  /** -B auto: decided by the first byte the client sends. */
  NEGOTIATE: 0,
  ASCII: 1,
  BINARY: 2,
} as const;
type Protocol = (typeof Protocol)[keyof typeof Protocol];

/** Where the bytes read in State.VALUE go. */
const Sink = {
  /** A text store's item; the value's CRLF follows it. */
  TEXT_ITEM: 0,
  /** A binary store's item; nothing follows the value. */
  BINARY_ITEM: 1,
  /** The data of a binary SASL request. */
  SASL: 2,
  /** The value and CRLF of an ASCII auth `set`. */
  ASCII_AUTH: 3,
} as const;
type Sink = (typeof Sink)[keyof typeof Sink];

/**
 * A line without '\n' longer than this closes the connection unless it is a get (memcached
 * 1.6's try_read_command_ascii: "this _has_ to be a large multiget").
 */
const LINE_MAX_NO_GET = 2048;
/** Multi-get lines may be long; beyond this the connection is closed (memcached grows without bound). */
export const LINE_MAX_GET = 1024 * 1024;
/** 'g': a line that may be a get. */
const G = 0x67;
/** Leading spaces allowed before `get` in a long line. */
const LEADING_SPACES_MAX = 100;
/** The pending buffer's first size (a command cut by the end of a read is usually short). */
const PENDING_MIN = 256;
const NO_BYTES = new Uint8Array(0);

/** What became of bytes handed to a transport. */
export const Sent = {
  /** Copied out (the kernel took them whole): the reply buffer may be written over. */
  COPIED: 0,
  /** Queued by reference: those bytes must stay as they are. */
  QUEUED: 1,
  /** Queued, and the transport is over its limit: stop reading until it drains. */
  FULL: 2,
} as const;
export type Sent = (typeof Sent)[keyof typeof Sent];

/** What a connection needs of its transport (a stream handle, a net.Socket, or a test double). */
export interface Transport {
  /** Sends the parts in order (the array is reused after the call; the parts are not). */
  send(parts: Uint8Array[]): Sent;
  /** Stops delivering data until resumeReading. */
  pauseReading(): void;
  resumeReading(): void;
  /** Closes after what was sent is written. */
  close(): void;
  /**
   * Calls `done` once everything sent so far has been written or dropped (the connection
   * closed), and never before. A transport that has it lets replies hold long values by
   * reference; without it they are copied.
   */
  afterWrite?(done: () => void): void;
  /**
   * The next read lands in `target` (at most its length) instead of the transport's buffer, and
   * the receive that follows is given a view of it; reads after that go back to the buffer.
   * Optional: long values are then read straight into their item, as memcached reads them. A
   * transport may decline (the handles' does outside a receive): the bytes then come in its
   * buffer, to be copied, and the next receive may ask again.
   */
  readInto?(target: Uint8Array): void;
  /** False when a request cannot wait for the engine (UDP: the reply goes with the datagram). */
  readonly waits?: boolean;
}

/** Value bytes still to come at or beyond which they are read straight into the item. */
export const READ_INTO_MIN = 16 * 1024;
/**
 * What a read straight into a text item asks for beyond the value: its CRLF and one byte more,
 * where the item has the room. A read that gets all the rest then is shorter than asked, and
 * libuv waits for the socket to be readable again; a read that fills what it asked for makes
 * libuv read again at once, which after an unpipelined set finds nothing (EAGAIN): a syscall per
 * large set that memcached does not make. The byte more, when the client sent one, is the start
 * of its next command, parsed from there (and copied out, as any line cut by a read is) before
 * anything can reuse the item's memory: a single byte is at most an empty line.
 */
export const READ_INTO_BEYOND = 3;
/**
 * After a store of READ_INTO_MIN bytes or more, a connection's next read asks for this much at
 * most (a shared buffer, valid during the read as the transport's is): the next long store's
 * line then comes with little of its value, which is copied into the item, and the kernel reads
 * the rest into the item itself. From a read of the transport's 16 KB, up to 16 KB of the value
 * was copied (memcached does as much: its first read of a command is 16 KB). A read that fills
 * this buffer is followed at once by one into the transport's, and is not asked for again then.
 */
export const SHORT_READ_BYTES = 2048;
const SHORT_READ = new Uint8Array(SHORT_READ_BYTES);

/** Why reading is paused (a bit each). */
const PAUSED_YIELD = 1;
const PAUSED_WRITE = 2;
/** Waiting for the engine: keys to be made resident (prefetch) or writes to be durable (settled). */
const PAUSED_ENGINE = 4;

/** binaryCommand's answer when the engine must be waited for before the command runs. */
const WAIT = -2;

/**
 * The commands after which memcached transmits the responses queued so far (conn_mwrite): the
 * get family and mn. Items the responses kept (keepItem) are given up there.
 */
const TRANSMITS: Readonly<Partial<Record<number, true>>> = {
  [Command.GET]: true,
  [Command.GETS]: true,
  [Command.GAT]: true,
  [Command.GATS]: true,
  [Command.META_NOOP]: true,
};

export class Connection {
  readonly ctx: Context;
  /** `stats conns`: the server clock's current_time at the last read. */
  lastRead = 0;
  private state: State = State.COMMAND;
  private protocol: Protocol;
  private readonly req = createRequest();
  private readonly tokens = new Tokens();
  private readonly header = createBinaryHeader();
  /**
   * Start of a command that is not complete yet (a text line without its end, a binary header,
   * extras and key not all in): pending[0, pendingBytes), copied out of the reads (whose buffer
   * is reused) into one buffer that grows by doubling, so that a line arriving a byte per read
   * holds at most twice its length (a piece per read would hold a view per byte).
   */
  private pending = NO_BYTES;
  private pendingBytes = 0;
  /** Binary: the bytes the pending command needs before it can be parsed. */
  private need = HEADER_BYTES;
  /**
   * The value being read: where it goes, its item, its bytes (valueBytes[valueAt, valueAt +
   * valueLength): an item's are a range of the engine's memory, with no view made per store), how
   * many are in, CRLF progress.
   */
  private sink: Sink = Sink.TEXT_ITEM;
  private item: ItemHandle = 0;
  private valueBytes: Uint8Array = new Uint8Array(0);
  private valueAt = 0;
  private valueLength = 0;
  /** Bytes after the value that a read into a text item asks for with it (READ_INTO_BEYOND, as ItemInfo.valueRoom allows). */
  private valueRoom = 0;
  /** The view of the value's bytes last asked for with readInto: a read into it is already in place. */
  private intoValue: Uint8Array = NO_BYTES;
  private filled = 0;
  private tail = 0;
  private tailOk = true;
  private swallowLeft = 0;
  private closed = false;
  /** The transport is gone (closedByPeer): nothing more is sent. */
  private peerGone = false;
  /** close() came while waiting for the engine: the transport closes once the wait is over. */
  private closeWhenDone = false;
  /** Whether a command may wait for the engine (not over UDP, where a datagram stands alone). */
  private readonly canWait: boolean;
  /** Scratch for the keys handed to prefetch. */
  private readonly keyList: Uint8Array[] = [];
  private paused = 0;
  /** Input left when -R made this connection yield. */
  private rest: Uint8Array | undefined;
  /** The next run resumes a yield (see run). */
  private resumed = false;
  /** Counts the points where responses were transmitted (flush, transmitted): see run's unsent. */
  private transmits = 0;
  /** Pipelined single-key gets gathered for one engine call: their keys, each slot's view kept. */
  private readonly getKeys: Uint8Array[] = [];
  private readonly getWindows: Window[] = [];
  /** The view of the read buffer a value is copied from (a steady load of stores asks for the same one). */
  private readonly valueInput = new Window();
  /** The last store's value was READ_INTO_MIN bytes or more: reads ask for SHORT_READ at most. */
  private longStores = false;

  constructor(
    server: ServerState,
    private readonly transport: Transport,
    private readonly reqsPerEvent: number,
    id = 0,
  ) {
    const held = transport.afterWrite === undefined ? undefined : new ItemList();
    this.ctx = { server, engine: server.engine, out: server.out, info: createItemInfo(), held, kept: new ItemList(), transmit: false, id, authenticated: false, sasl: { started: false, awaitingStep: false, completed: false } };
    this.protocol = initialProtocol(server);
    this.canWait = transport.waits !== false;
  }

  /**
   * Bytes from the client: chunk[0, length). Replies to everything complete in them leave in one
   * send. They are only valid during the call (transports reuse one read buffer, handed over
   * whole): what outlives it is copied.
   */
  receive(chunk: Uint8Array, length = chunk.length): void {
    if (this.closed) return;
    this.lastRead = this.ctx.server.core.currentTime();
    this.ctx.server.stats.bytesRead += length;
    if (this.rest !== undefined) {
      this.rest = joined(this.rest, chunk.subarray(0, length));
      return;
    }
    let input = chunk;
    let end = length;
    if (this.pendingBytes > 0 && this.state === State.COMMAND) {
      const part = chunk.subarray(0, length);
      const completes = this.protocol === Protocol.BINARY ? this.pendingBytes + length >= this.need : part.indexOf(LF) >= 0;
      if (!completes) {
        this.keepPartial(part);
        this.flush();
        return;
      }
      // The completed command is parsed from the pending buffer, which goes with it (what is
      // kept of it, a yield's rest, may point into it).
      this.appendPending(part);
      input = this.pending;
      end = this.pendingBytes;
      this.pending = NO_BYTES;
      this.pendingBytes = 0;
    }
    this.run(input, end);
    this.flush();
    // The input is used up at a command's start, and the read was not cut by the buffer's end.
    if (this.longStores && this.state === State.COMMAND && this.pendingBytes === 0 && this.rest === undefined && length < chunk.length && !this.closed) {
      this.transport.readInto?.(SHORT_READ);
    }
  }

  /** Input held for a line that has not ended or a yield (bounded by LINE_MAX_GET). */
  bufferedBytes(): number {
    return this.pendingBytes + (this.rest?.length ?? 0);
  }

  /** The transport closed: give back an item being filled, and those the unsent replies held. */
  closedByPeer(): void {
    this.closed = true;
    this.peerGone = true;
    this.dropItem();
    this.ctx.out.clear();
    this.releaseHeld();
    releaseKept(this.ctx);
  }

  /** Gives back the items the replies taken so far held. */
  private releaseHeld(): void {
    this.ctx.held?.releaseAll(this.ctx.engine);
  }

  private releaser(items: ItemList): () => void {
    const engine = this.ctx.engine;
    return () => items.releaseAll(engine);
  }

  /** Hands the replies written so far to the transport; pauses reading when it is full. */
  private flush(): void {
    this.transmits++;
    this.ctx.transmit = false;
    releaseKept(this.ctx);
    const out = this.ctx.out;
    if (out.length === 0) return;
    const engine = this.ctx.engine;
    if (engine.settled !== undefined && this.canWait) {
      const pending = engine.settled();
      if (pending !== undefined) {
        // The replies acknowledge writes that are not durable yet: they wait, out of the shared
        // buffer (copied, so no item need stay held).
        const replies = out.take().map((part) => part.slice());
        this.releaseHeld();
        this.waitForEngine(pending, replies);
        return;
      }
    }
    const length = out.length;
    const parts = out.take();
    this.ctx.server.stats.bytesWritten += length;
    const sent = this.transport.send(parts);
    if (sent === Sent.COPIED) {
      out.recycle();
    } else {
      // Borrowed bytes (an engine's text answers) are kept from being written over until sent.
      if (out.keepTaken()) this.transport.afterWrite!(() => out.borrowWritten());
      if (sent === Sent.FULL) this.pause(PAUSED_WRITE);
    }
    const held = this.ctx.held;
    if (held !== undefined && held.count > 0) {
      if (sent === Sent.COPIED) this.releaseHeld();
      else this.transport.afterWrite!(this.releaser(held.takeAll()));
    }
  }

  /** Sends replies that waited for the engine (private copies). */
  private sendNow(parts: Uint8Array[]): void {
    for (const part of parts) this.ctx.server.stats.bytesWritten += part.length;
    if (parts.length > 0 && this.transport.send(parts) === Sent.FULL) this.pause(PAUSED_WRITE);
  }

  /** The transport drained what was sent. */
  drained(): void {
    this.resume(PAUSED_WRITE);
    this.pump();
  }

  /**
   * Resets for a new independent message (UDP: each datagram stands alone). What closes a stream
   * connection (quit, an HTTP line, a line too long) ends only its datagram: memcached's UDP
   * connection cleans up and reads the next one.
   */
  resetInput(): void {
    this.closed = false;
    this.dropItem();
    this.state = State.COMMAND;
    this.protocol = initialProtocol(this.ctx.server);
    this.pending = NO_BYTES;
    this.pendingBytes = 0;
    this.rest = undefined;
  }

  /**
   * Runs the commands in buf[0, end) (buf may go on beyond `end`: a shared read buffer), as many
   * as memcached's drive_machine runs in one event: its nreqs starts at -R, one is spent after
   * each command, and below 0 (after R + 1 commands) it transmits what is queued and yields. An
   * event that resumes a yield spends one before its first command.
   */
  private run(buf: Uint8Array, end: number): void {
    let pos = 0;
    let budget = this.resumed ? this.reqsPerEvent - 1 : this.reqsPerEvent;
    this.resumed = false;
    // Whether the last command's responses are still queued (see endOfInput).
    let unsent = false;
    while (pos < end && !this.closed) {
      // The engine may write over what a reply borrowed from it once it is called again.
      this.ctx.out.settleBorrowed();
      // A binary error response went out: what memcached queued before it is transmitted.
      if (this.ctx.transmit) {
        this.ctx.transmit = false;
        this.transmitted();
      }
      if (this.state === State.VALUE) {
        pos = this.readValue(buf, pos, end);
        continue;
      }
      if (this.state === State.SWALLOW) {
        const n = Math.min(end - pos, this.swallowLeft);
        pos += n;
        this.swallowLeft -= n;
        if (this.swallowLeft === 0) this.state = State.COMMAND;
        continue;
      }
      if ((this.paused & PAUSED_WRITE) !== 0) {
        // The client is not reading its replies: keep the rest until it does.
        this.rest = buf.slice(pos, end);
        return;
      }
      if (budget < 0) {
        this.yieldRest(buf.slice(pos, end));
        return;
      }
      const transmits = this.transmits;
      // What came before was a response of its own (recorded for UDP's framing).
      this.ctx.out.endResponse(false);
      if (this.protocol === Protocol.NEGOTIATE) this.negotiate(buf[pos]!);
      if (this.protocol === Protocol.BINARY) {
        const next = this.binaryCommand(buf, pos, end);
        if (next === WAIT) {
          this.rest = buf.slice(pos, end);
          return;
        }
        if (next < 0) {
          this.keepPartial(buf.subarray(pos, end));
          return this.endOfInput(budget, unsent);
        }
        budget--;
        unsent = this.transmits === transmits && !this.ctx.transmit;
        pos = next;
        continue;
      }
      const lf = lineEnd(buf, pos, end);
      if (lf < 0) {
        this.keepPartial(buf.subarray(pos, end));
        return this.endOfInput(budget, unsent);
      }
      // Another line that may be a get follows this one: pipelined gets, perhaps.
      if (buf[lf + 1] === G && buf[pos] === G && lf + 1 < end && this.gathersGets()) {
        const next = this.pipelinedGets(buf, pos, lf, end, budget + 1);
        if (next > 0) {
          budget -= this.getKeys.length;
          unsent = false;
          pos = next;
          continue;
        }
      }
      if (!this.command(buf, pos, lf)) {
        // The engine is making the command's keys resident: it runs again, whole, after that.
        this.rest = buf.slice(pos, end);
        return;
      }
      budget--;
      unsent = this.transmits === transmits;
      pos = lf + 1;
    }
    this.endOfInput(budget, unsent);
  }

  /**
   * The input of an event is used up (or ends in a partial command) with `budget` left: memcached
   * transmits queued responses, which spends one more, and counts a yield once none is left.
   */
  private endOfInput(budget: number, unsent: boolean): void {
    if (budget < 0 || (budget === 0 && unsent)) this.ctx.server.stats.connYields++;
  }

  /**
   * Whether pipelined `get <key>` lines may be answered together: over an engine with getMany that
   * need not be waited for, with nothing to trace or record per command (-vv, detail stats), and
   * past any ASCII authentication.
   */
  private gathersGets(): boolean {
    const { engine, server } = this.ctx;
    return (
      engine.getMany !== undefined &&
      (engine.prefetch === undefined || !this.canWait) &&
      server.verbosity <= 1 &&
      !server.detailEnabled &&
      (server.asciiAuth === undefined || this.ctx.authenticated)
    );
  }

  /**
   * Consecutive `get <key>` lines with one key each (a pipelining client's input) from buf[pos, end),
   * the first ending at `firstLf`, at most `limit` (the -R budget left) and GET_MANY_MAX: answered
   * with one engine call, as a multi-key get is, each with its own END. Returns where the input goes
   * on, or -1 when there are not two such lines (the first line then takes the general path).
   * Their keys are left in getKeys.
   */
  private pipelinedGets(buf: Uint8Array, pos: number, firstLf: number, end: number, limit: number): number {
    const keys = this.getKeys;
    const windows = this.getWindows;
    const most = Math.min(limit, GET_MANY_MAX);
    keys.length = 0;
    let at = pos;
    let lf = firstLf;
    while (keys.length < most && at < end && buf[at] === G) {
      if (at !== pos) lf = lineEnd(buf, at, end);
      if (lf < 0) break;
      const e = lineContentEnd(buf, at, lf);
      const keyStart = singleGetKey(buf, at, e);
      if (keyStart < 0) break;
      if (windows.length === keys.length) windows.push(new Window());
      keys.push(windows[keys.length]!.of(buf, keyStart, e));
      at = lf + 1;
    }
    if (keys.length < 2) return -1;
    retrieveEach(this.ctx, keys, keys.length);
    this.transmitted();
    return at;
  }

  /** -B auto: a first byte of 0x80 makes the connection binary (try_read_command_negotiate). */
  private negotiate(first: number): void {
    this.protocol = first === MAGIC_REQUEST ? Protocol.BINARY : Protocol.ASCII;
    const server = this.ctx.server;
    if (server.verbosity > 1) server.trace(`${this.ctx.id}: Client using the ${this.protocol === Protocol.BINARY ? 'binary' : 'ascii'} protocol`);
  }

  /**
   * The binary request at buf[pos, end): executed once its header, extras and key are in.
   * Returns where the next input starts, or -1 when more bytes are needed (`need` says how many).
   */
  private binaryCommand(buf: Uint8Array, pos: number, end: number): number {
    const ctx = this.ctx;
    const server = ctx.server;
    if (end - pos < HEADER_BYTES) {
      this.need = HEADER_BYTES;
      return -1;
    }
    const h = this.header;
    readHeader(buf, pos, h);
    if (h.magic !== MAGIC_REQUEST) {
      // conn_closing at once: replies to this read's earlier requests are never written.
      if (server.verbosity > 0) server.trace(`Invalid magic:  ${h.magic.toString(16)}`);
      this.ctx.out.clear();
      this.close();
      return end;
    }
    this.need = HEADER_BYTES + h.extlen + h.keylen;
    if (this.need > REQUEST_PREFIX_MAX) {
      // memcached's read buffer can never hold it: closed without a reply.
      this.close();
      return end;
    }
    if (end - pos < this.need) return -1;
    const req = this.req;
    parseBinaryRequest(h, buf, pos, req);
    if (this.mustWait()) return WAIT;
    if (server.verbosity > 1) server.trace(dumpHeader(`<${ctx.id} Read binary protocol data:`, `<${ctx.id}   `, buf, pos));
    const next = pos + this.need;
    this.need = HEADER_BYTES;
    switch (processBinary(ctx, req)) {
      case BinaryNext.CLOSE:
        this.close();
        return end;
      case BinaryNext.STORE: {
        const item = binaryStoreBegin(ctx, req);
        if (item > 0) this.startItemValue(Sink.BINARY_ITEM, item);
        break;
      }
      case BinaryNext.READ_SASL:
        // The mechanism (the key) is checked once the data is in: keep it past this read.
        req.key = req.key.slice();
        this.startValue(Sink.SASL, new Uint8Array(req.nbytes), 0, req.nbytes, 0);
        break;
      case BinaryNext.FLUSH:
        // NOOP forces a write of what is pending (conn_mwrite), so a later bad magic loses less.
        this.flush();
        break;
    }
    if (req.swallow > 0 && this.state === State.COMMAND) {
      this.swallowLeft = req.swallow;
      this.state = State.SWALLOW;
    }
    return next;
  }

  /**
   * Reads a value into `value` next (completing at once when it is empty and nothing follows it).
   * The request's views of the input are stale by the time the value is in (the read buffer is
   * reused): what completes it must not need them (stores reply from the item).
   */
  private startValue(sink: Sink, bytes: Uint8Array, at: number, length: number, item: ItemHandle, room = 0): void {
    this.sink = sink;
    this.item = item;
    this.valueBytes = bytes;
    this.valueAt = at;
    this.valueLength = length;
    this.valueRoom = sink === Sink.TEXT_ITEM && room >= 2 ? Math.min(room, READ_INTO_BEYOND) : 0;
    this.filled = 0;
    this.tail = 0;
    this.tailOk = true;
    this.state = State.VALUE;
    if (length === 0 && sink !== Sink.TEXT_ITEM) this.valueRead();
  }

  /** startValue into an allocated item: its value's range, as getItemInfo gives it (no view made). */
  private startItemValue(sink: Sink, item: ItemHandle): void {
    const info = this.ctx.info;
    this.ctx.engine.getItemInfo(item, info, false);
    this.longStores = info.nvalue >= READ_INTO_MIN;
    this.startValue(sink, info.valueBytes, info.valueOffset, info.nvalue, item, info.valueRoom);
  }

  /** A value that has no CRLF after it is in. */
  private valueRead(): void {
    const item = this.item;
    this.item = 0;
    this.state = State.COMMAND;
    const ctx = this.ctx;
    switch (this.sink) {
      case Sink.BINARY_ITEM:
        return binaryStoreComplete(ctx, this.req, item);
      case Sink.SASL:
        return saslComplete(ctx, this.req, this.valueBytes);
      case Sink.ASCII_AUTH:
        return asciiAuthData(ctx, this.valueBytes, this.tokens, ctx.server.asciiAuth ?? []);
    }
  }

  /** Runs one command line; false when the engine must be waited for first (nothing was done). */
  private command(buf: Uint8Array, start: number, lf: number): boolean {
    const req = this.req;
    const ctx = this.ctx;
    if (ctx.server.asciiAuth !== undefined && !ctx.authenticated) {
      if (ctx.server.verbosity > 1) this.traceCommand(buf, start, lf);
      const bytes = asciiAuthLine(ctx, buf, start, lf, this.tokens);
      if (bytes === AUTH_CLOSE) this.close();
      else if (bytes !== AUTH_ANSWERED) this.startValue(Sink.ASCII_AUTH, new Uint8Array(bytes), 0, bytes, 0);
      return true;
    }
    parseTextLine(buf, start, lf, req, this.tokens);
    if (this.mustWait()) return false;
    if (ctx.server.verbosity > 1) this.traceCommand(buf, start, lf);
    if (isStorage(req.command)) {
      const item = storeBegin(ctx, req);
      if (item > 0) {
        this.startItemValue(Sink.TEXT_ITEM, item);
      } else if (req.swallow > 0) {
        this.swallowLeft = req.swallow;
        this.state = State.SWALLOW;
      }
      return true;
    }
    if (processRequest(ctx, req) === After.CLOSE) this.close();
    if (TRANSMITS[req.command] === true) this.transmitted();
    return true;
  }

  /**
   * Where memcached transmits its queued responses (TRANSMITS): the items they kept are given up,
   * and values sent by reference are written now, so that their items are no longer held by the
   * commands after (an incr or decr finds them free, the LRU tail does not skip them) as in
   * memcached. Short values are copied, so pipelined gets of them still leave in one write.
   * Not over an engine whose replies may wait for it (settled): those go at the end of the read.
   */
  private transmitted(): void {
    const { held, engine } = this.ctx;
    if (held !== undefined && held.count > 0 && engine.settled === undefined) return this.flush();
    this.transmits++;
    releaseKept(this.ctx);
  }

  /**
   * Asks an engine that keeps items off memory (prefetch) to make the request's keys resident
   * first. When it must go to disk, reading pauses until it has, and the command runs again, whole:
   * parsing changed nothing, and this connection's later commands wait while others are served.
   */
  private mustWait(): boolean {
    const engine = this.ctx.engine;
    if (engine.prefetch === undefined || !this.canWait) return false;
    const keys = commandKeys(this.req, this.keyList);
    if (keys.length === 0) return false;
    const pending = engine.prefetch(keys);
    if (pending === undefined) return false;
    this.waitForEngine(pending, undefined);
    return true;
  }

  /**
   * Pauses until the engine's promise settles; then sends `replies` (held while writes became
   * durable) and goes on with the input kept back. A failure is logged. A failed prefetch leaves
   * the command to be answered as the engine can (a miss); failed durability closes the
   * connection without the replies, which would acknowledge writes that were not kept.
   */
  private waitForEngine(pending: Promise<void>, replies: Uint8Array[] | undefined): void {
    this.pause(PAUSED_ENGINE);
    const done = (): void => {
      if (this.peerGone) return;
      if (replies !== undefined) this.sendNow(replies);
      if (this.closed) {
        // quit or an error came while waiting: close now that the replies before it are out.
        if (this.closeWhenDone) this.transport.close();
        return;
      }
      this.resume(PAUSED_ENGINE);
      this.pump();
    };
    pending.then(done, (error: unknown) => {
      this.ctx.server.engineFailed(error);
      if (replies === undefined) return done();
      if (this.peerGone) return;
      this.closed = true;
      this.dropItem();
      this.transport.close();
    });
  }

  /** -vv: the command line as memcached prints it ("<fd line"). */
  private traceCommand(buf: Uint8Array, start: number, lf: number): void {
    const server = this.ctx.server;
    const end = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
    server.trace(`<${this.ctx.id} ${latin1(buf.subarray(start, end))}`);
  }

  /** Copies value bytes into the item (or buffer), then checks a text value's CRLF. */
  private readValue(buf: Uint8Array, pos: number, end: number): number {
    const value = this.valueBytes;
    const want = this.valueLength - this.filled;
    if (want > 0) {
      const n = Math.min(want, end - pos);
      const at = this.valueAt + this.filled;
      if (pos === 0 && buf === this.intoValue) {
        // Read in place (readInto): already where it belongs. (A transport that read into other
        // views of the same bytes would have them copied onto themselves: slower, not wrong.)
      } else if (n === buf.length && pos === 0) {
        value.set(buf, at);
      } else {
        value.set(this.valueInput.of(buf, pos, pos + n), at);
      }
      this.filled += n;
      const left = this.valueLength - this.filled;
      if (left === 0) {
        if (this.sink !== Sink.TEXT_ITEM) this.valueRead();
      } else if (left >= READ_INTO_MIN && this.transport.readInto !== undefined && pos + n === end) {
        // With the CRLF (and a byte more), where the item has room: the read that ends the value ends the data.
        this.intoValue = value.subarray(at + n, at + n + left + this.valueRoom);
        this.transport.readInto(this.intoValue);
      }
      return pos + n;
    }
    const byte = buf[pos]!;
    if (byte !== (this.tail === 0 ? CR : LF)) this.tailOk = false;
    this.tail++;
    if (this.tail === 2) {
      const item = this.item;
      this.item = 0;
      this.state = State.COMMAND;
      storeComplete(this.ctx, this.req, item, this.tailOk);
    }
    return pos + 1;
  }

  /**
   * Keeps the start of a command that is not complete; enforces memcached's line limits (a
   * binary command's prefix is bounded by its header's u8 and u16 lengths).
   */
  private keepPartial(part: Uint8Array): void {
    this.appendPending(part);
    if (this.protocol === Protocol.BINARY || this.pendingBytes <= LINE_MAX_NO_GET) return;
    // Before ASCII authentication there is no multi-get exception (try_read_command_asciiauth).
    const unauthenticated = this.ctx.server.asciiAuth !== undefined && !this.ctx.authenticated;
    if (unauthenticated || !isGetLine(this.pending.subarray(0, GET_WORD_BY))) {
      this.close();
      return;
    }
    if (this.pendingBytes > LINE_MAX_GET) {
      this.ctx.out.ascii('SERVER_ERROR out of memory reading request\r\n');
      this.close();
    }
  }

  /** Copies `part` after the pending bytes, growing the buffer by doubling when it is full. */
  private appendPending(part: Uint8Array): void {
    const total = this.pendingBytes + part.length;
    if (total > this.pending.length) {
      const grown = new Uint8Array(Math.max(total, 2 * this.pending.length, PENDING_MIN));
      grown.set(this.pending.subarray(0, this.pendingBytes));
      this.pending = grown;
    }
    this.pending.set(part, this.pendingBytes);
    this.pendingBytes = total;
  }

  private yieldRest(rest: Uint8Array): void {
    this.rest = rest;
    this.ctx.server.stats.connYields++;
    this.pause(PAUSED_YIELD);
    setImmediate(() => {
      this.resume(PAUSED_YIELD);
      this.resumed = true;
      this.pump();
    });
  }

  /** Continues with input kept back by a yield or by backpressure, unless still paused. */
  private pump(): void {
    const input = this.rest;
    if (input === undefined || this.closed || this.paused !== 0) return;
    this.rest = undefined;
    // Kept input starts at a command boundary, so no partial line is pending here.
    this.run(input, input.length);
    this.flush();
  }

  private close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.dropItem();
    if ((this.paused & PAUSED_ENGINE) !== 0) this.closeWhenDone = true;
    else this.transport.close();
  }

  private dropItem(): void {
    if (this.item > 0) {
      this.ctx.engine.release(this.item);
      this.item = 0;
    }
  }

  private pause(reason: number): void {
    if (this.paused === 0) this.transport.pauseReading();
    this.paused |= reason;
  }

  private resume(reason: number): void {
    if ((this.paused & reason) === 0) return;
    this.paused &= ~reason;
    if (this.paused === 0 && !this.closed) this.transport.resumeReading();
  }
}

/** The keys a request names, in `list` (reused); none for commands without keys. */
function commandKeys(req: Request, list: Uint8Array[]): Uint8Array[] {
  list.length = 0;
  const c = req.command;
  if (c === Command.GET || c === Command.GETS || c === Command.GAT || c === Command.GATS) {
    for (let k = 0; k < req.keyCount; k++) list.push(req.keys[k]!);
  } else if ((c >= Command.SET && c <= Command.TOUCH) || (c >= Command.META_GET && c <= Command.META_ARITHMETIC)) {
    list.push(req.key);
  }
  return list;
}

function initialProtocol(server: ServerState): Protocol {
  return server.protocol === 'binary' ? Protocol.BINARY : server.protocol === 'ascii' ? Protocol.ASCII : Protocol.NEGOTIATE;
}

/** How far into a line isGetLine looks: the leading spaces allowed and "gets ". */
const GET_WORD_BY = LEADING_SPACES_MAX + 5;

/** Whether a line starts (after at most 100 spaces) with "get " or "gets ". */
function isGetLine(line: Uint8Array): boolean {
  let i = 0;
  while (i < line.length && line[i] === 0x20) i++;
  if (i > LEADING_SPACES_MAX) return false;
  const word = String.fromCharCode(...line.subarray(i, i + 5));
  return word.startsWith('get ') || word === 'gets ';
}

/**
 * Bytes of a line searched in JavaScript, four at a time, before the native search (a 16-key get
 * line, 276 bytes, is found faster this way than with the native call).
 */
const LINE_SCAN = 512;

/** Where the first LF in buf[pos, end) is, or -1; never reads beyond `end`. */
function lineEnd(buf: Uint8Array, pos: number, end: number): number {
  const stop = Math.min(end, pos + LINE_SCAN);
  for (let i = skipToLineFeedWord(buf, pos, stop); i < stop; i++) if (buf[i] === LF) return i;
  if (stop === end) return -1;
  if (end === buf.length) return buf.indexOf(LF, stop);
  const at = buf.subarray(stop, end).indexOf(LF);
  return at < 0 ? -1 : stop + at;
}

/** `a` then `b`, in a new array. */
function joined(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
