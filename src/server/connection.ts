// One client connection's read side and state machine (cf. memcached.c drive_machine): command
// lines parsed in place from what the socket delivered, values copied once, straight into the
// engine's item, pipelined commands answered in one write per read, -R fairness, backpressure,
// and memcached's limits on lines without an end.

import type { ItemHandle } from '../engine/types.ts';
import { createItemInfo } from '../engine/types.ts';
import { CR, LF, Output } from '../protocol/output.ts';
import { createRequest, isStorage } from '../protocol/request.ts';
import { parseTextLine } from '../protocol/text/parse.ts';
import { Tokens } from '../protocol/text/tokens.ts';
import type { Context, ServerState } from './context.ts';
import { After, processRequest, storeBegin, storeComplete } from './process.ts';

const State = {
  /** Reading a command line. */
  COMMAND: 0,
  /** Reading a storage command's value (then its CRLF) into the engine's item. */
  VALUE: 1,
  /** Reading and dropping bytes of a value that could not be stored. */
  SWALLOW: 2,
} as const;
type State = (typeof State)[keyof typeof State];

/**
 * A line without '\n' longer than this closes the connection unless it is a get (memcached
 * 1.6's try_read_command_ascii: "this _has_ to be a large multiget").
 */
const LINE_MAX_NO_GET = 2048;
/** Multi-get lines may be long; beyond this the connection is closed (memcached grows without bound). */
export const LINE_MAX_GET = 1024 * 1024;
/** Leading spaces allowed before `get` in a long line. */
const LEADING_SPACES_MAX = 100;

/** What a connection needs of its transport (a net.Socket, or a test double). */
export interface Transport {
  /** Sends the parts in order; false when the transport's buffer is over its limit. */
  send(parts: Uint8Array[]): boolean;
  /** Stops delivering data until resumeReading. */
  pauseReading(): void;
  resumeReading(): void;
  /** Closes after what was sent is written. */
  close(): void;
}

/** Why reading is paused (a bit each). */
const PAUSED_YIELD = 1;
const PAUSED_WRITE = 2;

export class Connection {
  readonly ctx: Context;
  /** `stats conns`: the server clock's current_time at the last read. */
  lastRead = 0;
  private state: State = State.COMMAND;
  private readonly req = createRequest();
  private readonly tokens = new Tokens();
  /** Start of a command line that has not ended yet: the chunks that hold it, in order. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  /** The value being read: its item, the item's value bytes, how many are in, CRLF progress. */
  private item: ItemHandle = 0;
  private value: Uint8Array = new Uint8Array(0);
  private filled = 0;
  private tail = 0;
  private tailOk = true;
  private swallowLeft = 0;
  private closed = false;
  private traced = false;
  private paused = 0;
  /** Input left when -R made this connection yield. */
  private rest: Uint8Array | undefined;

  constructor(
    server: ServerState,
    private readonly transport: Transport,
    private readonly reqsPerEvent: number,
    id = 0,
  ) {
    this.ctx = { server, engine: server.engine, out: new Output(), info: createItemInfo(), id };
  }

  /** Bytes from the client. Replies to everything complete in them leave in one send. */
  receive(chunk: Uint8Array): void {
    if (this.closed) return;
    this.lastRead = this.ctx.server.core.currentTime();
    this.ctx.server.stats.bytesRead += chunk.length;
    if (this.rest !== undefined) {
      this.rest = concat([this.rest, chunk], this.rest.length + chunk.length);
      return;
    }
    let input = chunk;
    if (this.pendingBytes > 0 && this.state === State.COMMAND) {
      if (chunk.indexOf(LF) < 0) {
        this.keepPartialLine(chunk);
        this.flush();
        return;
      }
      this.pending.push(chunk);
      input = concat(this.pending, this.pendingBytes + chunk.length);
      this.pending = [];
      this.pendingBytes = 0;
    }
    this.run(input);
    this.flush();
  }

  /** Input held for a line that has not ended or a yield (bounded by LINE_MAX_GET). */
  bufferedBytes(): number {
    return this.pendingBytes + (this.rest?.length ?? 0);
  }

  /** The transport closed: give back an item being filled. */
  closedByPeer(): void {
    this.closed = true;
    this.dropItem();
    this.ctx.out.clear();
  }

  /** Hands the replies written so far to the transport; pauses reading when it is full. */
  private flush(): void {
    const out = this.ctx.out;
    if (out.length === 0) return;
    const length = out.length;
    const parts = out.take();
    this.ctx.server.stats.bytesWritten += length;
    if (!this.transport.send(parts)) this.pause(PAUSED_WRITE);
  }

  /** The transport drained what was sent. */
  drained(): void {
    this.resume(PAUSED_WRITE);
    this.pump();
  }

  /** Resets for a new independent message (UDP: each datagram stands alone). */
  resetInput(): void {
    this.dropItem();
    this.state = State.COMMAND;
    this.pending = [];
    this.pendingBytes = 0;
    this.rest = undefined;
  }

  private run(buf: Uint8Array): void {
    const end = buf.length;
    let pos = 0;
    let commands = 0;
    while (pos < end && !this.closed) {
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
        this.rest = buf.subarray(pos);
        return;
      }
      if (commands === this.reqsPerEvent) {
        this.yieldRest(buf.subarray(pos));
        return;
      }
      const lf = buf.indexOf(LF, pos);
      if (lf < 0) {
        this.keepPartialLine(pos === 0 ? buf : buf.slice(pos));
        return;
      }
      commands++;
      this.command(buf, pos, lf);
      pos = lf + 1;
    }
  }

  private command(buf: Uint8Array, start: number, lf: number): void {
    const req = this.req;
    const ctx = this.ctx;
    if (ctx.server.verbosity > 1) this.traceCommand(buf, start, lf);
    parseTextLine(buf, start, lf, req, this.tokens);
    if (isStorage(req.command)) {
      const item = storeBegin(ctx, req);
      if (item > 0) {
        this.item = item;
        this.value = ctx.engine.itemValue(item);
        this.filled = 0;
        this.tail = 0;
        this.tailOk = true;
        this.state = State.VALUE;
      } else if (req.swallow > 0) {
        this.swallowLeft = req.swallow;
        this.state = State.SWALLOW;
      }
      return;
    }
    if (processRequest(ctx, req) === After.CLOSE) this.close();
  }

  /** -vv: the command line as memcached prints it ("<fd line"), and the protocol on the first. */
  private traceCommand(buf: Uint8Array, start: number, lf: number): void {
    const server = this.ctx.server;
    if (!this.traced) {
      this.traced = true;
      server.trace(`${this.ctx.id}: Client using the ascii protocol`);
    }
    const end = lf > start && buf[lf - 1] === CR ? lf - 1 : lf;
    server.trace(`<${this.ctx.id} ${Buffer.from(buf.buffer, buf.byteOffset + start, end - start).toString('latin1')}`);
  }

  /** Copies value bytes into the item, then checks the CRLF after them. */
  private readValue(buf: Uint8Array, pos: number, end: number): number {
    const want = this.value.length - this.filled;
    if (want > 0) {
      const n = Math.min(want, end - pos);
      if (n === end - pos && pos === 0) this.value.set(buf, this.filled);
      else this.value.set(buf.subarray(pos, pos + n), this.filled);
      this.filled += n;
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

  /** Keeps the start of a line that has not ended; enforces memcached's line limits. */
  private keepPartialLine(part: Uint8Array): void {
    this.pending.push(part);
    this.pendingBytes += part.length;
    if (this.pendingBytes <= LINE_MAX_NO_GET) return;
    if (!isGetLine(leading(this.pending, GET_WORD_BY))) {
      this.close();
      return;
    }
    if (this.pendingBytes > LINE_MAX_GET) {
      this.ctx.out.ascii('SERVER_ERROR out of memory reading request\r\n');
      this.close();
    }
  }

  private yieldRest(rest: Uint8Array): void {
    this.rest = rest;
    this.ctx.server.stats.connYields++;
    this.pause(PAUSED_YIELD);
    setImmediate(() => {
      this.resume(PAUSED_YIELD);
      this.pump();
    });
  }

  /** Continues with input kept back by a yield or by backpressure, unless still paused. */
  private pump(): void {
    const input = this.rest;
    if (input === undefined || this.closed || this.paused !== 0) return;
    this.rest = undefined;
    // Kept input starts at a command boundary, so no partial line is pending here.
    this.run(input);
    this.flush();
  }

  private close(): void {
    if (this.closed) return;
    this.flush();
    this.closed = true;
    this.dropItem();
    this.transport.close();
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

/** How far into a line isGetLine looks: the leading spaces allowed and "gets ". */
const GET_WORD_BY = LEADING_SPACES_MAX + 5;

/** The first `n` bytes (or fewer) of a line kept in parts: no copy of the whole line. */
function leading(parts: readonly Uint8Array[], n: number): Uint8Array {
  if (parts[0]!.length >= n) return parts[0]!;
  const out: number[] = [];
  for (const part of parts) {
    for (let i = 0; i < part.length && out.length < n; i++) out.push(part[i]!);
    if (out.length === n) break;
  }
  return Uint8Array.from(out);
}

/** Whether a line starts (after at most 100 spaces) with "get " or "gets ". */
function isGetLine(line: Uint8Array): boolean {
  let i = 0;
  while (i < line.length && line[i] === 0x20) i++;
  if (i > LEADING_SPACES_MAX) return false;
  const word = String.fromCharCode(...line.subarray(i, i + 5));
  return word.startsWith('get ') || word === 'gets ';
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0]!;
  const out = new Uint8Array(total);
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}
