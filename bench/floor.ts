// The floor: Node and wasmcached's own transport (src/server/stream-handle.ts) serving
// build/loadgen from the simplest store there is, with no engine. bench/server.ts runs it beside
// memcached and wasmcached, so each workload shows what a request costs in Node's I/O (and in
// the copies and memory traffic any cache has), which no storage engine can remove, and how much
// wasmcached adds on top of it.
//
// The store is a direct-mapped table of -m megabytes: a key's value lives in the slot its number
// picks (the load generator's keys are `key:` and digits), and a set there overwrites whatever
// key was in it. Replies are built with wasmcached's own reply buffer and VALUE line (Output,
// valueLine). There is no hash table, LRU, expiry, CAS, reference count or statistic. So a
// set over a value that a queued write is still sending changes what it sends; the load
// generator's values are all the same bytes, so that cannot show. It speaks only what the load
// generator sends: `get` with one or more keys, `set <key> <flags> <exptime> <bytes>` with its
// data, and `stats` (an empty list). Anything else closes the connection.
// bench/server.ts bundles it into build/floor.js and starts it: node build/floor.js <port> <host> <megabytes>.

import { createServer, type Socket } from 'node:net';
import { parseI32 } from '../src/protocol/numbers.ts';
import { Output, encodeAscii } from '../src/protocol/output.ts';
import { valueLine } from '../src/protocol/text/reply.ts';
import { READ_INTO_BEYOND, READ_INTO_MIN, SHORT_READ_BYTES, Sent } from '../src/server/connection.ts';
import { adoptConnections, socketPeer, type Peer } from '../src/server/stream-handle.ts';

const LF = 0x0a;
const CR = 0x0d;
const SPACE = 0x20;
/** Values this long or longer go out by reference, as wasmcached's do (its copy limit). */
const BY_REFERENCE = 4096;
/**
 * Each slot's bytes beyond its value. Set data with READ_INTO_MIN bytes or more still to come is
 * read by the kernel straight into its slot, as wasmcached reads into the item, with what
 * wasmcached's read asks for past the value (READ_INTO_BEYOND: the CRLF and a byte more, which,
 * when the client sent it, starts the next line).
 */
const SLOT_EXTRA = READ_INTO_BEYOND;
/** After a set of READ_INTO_MIN bytes or more, the next read asks for this much at most, as wasmcached's does. */
const SHORT_READ = new Uint8Array(SHORT_READ_BYTES);
const END = encodeAscii('END\r\n');
const STORED = encodeAscii('STORED\r\n');

/** The value table: `slots` slots of a value, its CRLF and a byte more each, made at the first set (every value of a run has one length). */
class Table {
  readonly slots: number;
  readonly bytes: Uint8Array;
  /** 1 where a slot holds a value. */
  readonly filled: Uint8Array;

  constructor(
    megabytes: number,
    readonly valueLength: number,
  ) {
    this.slots = Math.max(1, Math.floor((megabytes * 1024 * 1024) / (valueLength + SLOT_EXTRA)));
    this.bytes = new Uint8Array(this.slots * (valueLength + SLOT_EXTRA));
    this.filled = new Uint8Array(this.slots);
  }

  /** Where the slot of the key at buf[from, to) starts: the number its trailing digits spell, modulo the slots. */
  slotOf(buf: Uint8Array, from: number, to: number): number {
    let n = 0;
    for (let i = from; i < to; i++) {
      const digit = buf[i]! - 0x30;
      n = digit >= 0 && digit <= 9 ? (n * 10 + digit) % this.slots : 0;
    }
    return n;
  }

  at(slot: number): number {
    return slot * (this.valueLength + SLOT_EXTRA);
  }
}

let table: Table | undefined;
/** The replies, built as wasmcached builds them: one Output for every connection. */
const out = new Output();

class FloorConnection {
  /** A line cut by the end of a read, waiting for the rest. */
  private partial: Uint8Array | undefined;
  /** The slot set data goes to, bytes of it (and its CRLF) still to come, and where they go. */
  private slot = 0;
  private dataLeft = 0;
  private dataAt = 0;
  /** The last set's value was READ_INTO_MIN bytes or more. */
  private longSets = false;

  constructor(
    private readonly peer: Peer,
    private readonly megabytes: number,
  ) {}

  data(chunk: Uint8Array, length: number): void {
    let buf = chunk;
    let end = length;
    if (this.partial !== undefined) {
      buf = new Uint8Array(this.partial.length + length);
      buf.set(this.partial);
      buf.set(chunk.subarray(0, length), this.partial.length);
      end = buf.length;
      this.partial = undefined;
    }
    let pos = 0;
    while (pos < end) {
      if (this.dataLeft > 0) {
        const bytes = table!.bytes;
        const n = Math.min(this.dataLeft, end - pos);
        // A read into the slot (readInto) put its bytes in place already.
        if (buf.buffer !== bytes.buffer) bytes.set(buf.subarray(pos, pos + n), this.dataAt);
        this.dataAt += n;
        this.dataLeft -= n;
        pos += n;
        if (this.dataLeft === 0) {
          if (!this.setDone()) return this.close();
        } else if (this.dataLeft >= READ_INTO_MIN && pos === end) {
          // dataLeft counts the CRLF.
          this.peer.readInto?.(bytes.subarray(this.dataAt, this.dataAt + this.dataLeft - 2 + SLOT_EXTRA));
        }
        continue;
      }
      const lf = buf.indexOf(LF, pos);
      if (lf < 0 || lf >= end) {
        this.partial = buf.slice(pos, end);
        break;
      }
      const lineEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
      if (!this.line(buf, pos, lineEnd)) return this.close();
      pos = lf + 1;
    }
    this.flush();
    if (this.longSets && this.dataLeft === 0 && this.partial === undefined && length < chunk.length) this.peer.readInto?.(SHORT_READ);
  }

  /** One command line, buf[pos, end) without its line end; false: not one the floor answers. */
  private line(buf: Uint8Array, pos: number, end: number): boolean {
    if (startsWith(buf, pos, end, 'get ')) {
      let p = pos + 4;
      while (p < end) {
        let q = p;
        while (q < end && buf[q] !== SPACE) q++;
        if (q > p) this.value(buf, p, q);
        p = q + 1;
      }
      out.raw(END);
      return true;
    }
    if (startsWith(buf, pos, end, 'set ')) {
      // set <key> <flags> <exptime> <bytes>: the key is the second field, the length the last.
      let keyEnd = pos + 4;
      while (keyEnd < end && buf[keyEnd] !== SPACE) keyEnd++;
      let p = end;
      while (p > keyEnd && buf[p - 1] !== SPACE) p--;
      if (p === end || p === keyEnd) return false;
      const n = parseI32(buf, p, end);
      if (!(n >= 0)) return false;
      if (table?.valueLength !== n) table = new Table(this.megabytes, n);
      this.slot = table.slotOf(buf, pos + 4, keyEnd);
      this.dataAt = table.at(this.slot);
      this.dataLeft = n + 2;
      this.longSets = n >= READ_INTO_MIN;
      return true;
    }
    if (startsWith(buf, pos, end, 'stats')) {
      out.raw(END);
      return true;
    }
    return false;
  }

  /** The set's data is in its slot; false when no CRLF followed it. */
  private setDone(): boolean {
    const t = table!;
    if (t.bytes[this.dataAt - 2] !== CR || t.bytes[this.dataAt - 1] !== LF) return false;
    t.filled[this.slot] = 1;
    out.raw(STORED);
    return true;
  }

  /** "VALUE <key> 0 <n>\r\n<data>\r\n" for the key at buf[from, to), if its slot holds a value. */
  private value(buf: Uint8Array, from: number, to: number): void {
    const t = table;
    if (t === undefined) return;
    const slot = t.slotOf(buf, from, to);
    if (t.filled[slot] === 0) return;
    const n = t.valueLength;
    valueLine(out, buf, from, to - from, 0, n, -1);
    if (n >= BY_REFERENCE) out.reference(t.bytes, t.at(slot), n);
    else out.bytes(t.bytes, t.at(slot), n);
    out.crlf();
  }

  /** Sends the replies as wasmcached's connection does: the reply buffer is reused once the kernel has them. */
  private flush(): void {
    if (out.length === 0) return;
    const sent = this.peer.send(out.take());
    if (sent === Sent.COPIED) {
      out.recycle();
    } else {
      out.keepTaken();
      if (sent === Sent.FULL) this.peer.pauseReading();
    }
  }

  /** Drops what this connection had not sent yet, then closes it. */
  private close(): void {
    out.clear();
    this.peer.destroy();
  }

  drain(): void {
    this.peer.resumeReading();
  }
}

function startsWith(buf: Uint8Array, pos: number, end: number, word: string): boolean {
  if (end - pos < word.length) return false;
  for (let i = 0; i < word.length; i++) if (buf[pos + i] !== word.charCodeAt(i)) return false;
  return true;
}

const port = Number(process.argv[2]);
const host = process.argv[3] ?? '127.0.0.1';
const megabytes = Number(process.argv[4] ?? 64);
if (!Number.isInteger(port) || port <= 0 || !(megabytes > 0)) throw new Error('usage: floor.js <port> <host> <megabytes>');
const serve = (peer: Peer): void => {
  const connection = new FloorConnection(peer, megabytes);
  peer.start({ data: (chunk, length) => connection.data(chunk, length), drain: () => connection.drain(), closed: () => {} });
};
const server = createServer((socket: Socket) => serve(socketPeer(socket)));
server.listen(port, host, () => {
  // The stream handles when this Node has them, as wasmcached serves; net.Socket otherwise.
  adoptConnections(server, serve);
});
process.on('SIGTERM', () => process.exit(0));
