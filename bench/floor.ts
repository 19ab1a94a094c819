// The floor: Node and wasmcached's own transport (src/server/stream-handle.ts) answering
// build/loadgen with canned replies, with no store, no hash table and no engine. bench/server.ts
// runs it beside memcached and wasmcached, so each workload shows what a request costs in Node's
// I/O alone, which no storage engine can remove, and how much wasmcached adds on top of it.
//
// It speaks only what the load generator sends: `get` with one or more keys, `set <key> <flags>
// <exptime> <bytes>` with its data (copied into one buffer, which every get then returns for any
// key), and `stats` (an empty list). Anything else closes the connection.
// bench/server.ts bundles it into build/floor.js and starts it: node build/floor.js <port> [host].

import { createServer, type Socket } from 'node:net';
import { Sent } from '../src/server/connection.ts';
import { adoptConnections, socketPeer, type Peer } from '../src/server/stream-handle.ts';

const LF = 0x0a;
const CR = 0x0d;
/** Values this long or longer go out by reference, as wasmcached's do (its copy limit). */
const BY_REFERENCE = 4096;
/** Set data with this much still to come is read by the kernel straight into its buffer, as wasmcached does. */
const READ_INTO_MIN = 16 * 1024;
const OUT_BYTES = 64 * 1024;
const ascii = (text: string): Uint8Array => new TextEncoder().encode(text);
const VALUE_ = ascii('VALUE ');
const END = ascii('END\r\n');
const STORED = ascii('STORED\r\n');
const CRLF = ascii('\r\n');

/** The last value stored (its buffer holds the CRLF after it), as every get returns it. */
let stored: Uint8Array | undefined;
let storedValue: Uint8Array | undefined;
/** " 0 <length>\r\n" for the stored value. */
let storedSuffix = ascii(' 0 0\r\n');
/** The stored value is a part of the replies being built, or of a write still queued: not to be reused. */
let storedInParts = false;
/** A buffer a set may read its data into (a stored value no write holds any more). */
let spare: Uint8Array | undefined;
/** Where replies are built; replaced once a queued write holds it. */
let out = new Uint8Array(OUT_BYTES);

class FloorConnection {
  /** A line cut by the end of a read, waiting for the rest. */
  private partial: Uint8Array | undefined;
  /** Bytes of set data (and its CRLF) still to come, and where they go. */
  private dataLeft = 0;
  private dataAt = 0;
  private target: Uint8Array | undefined;
  private parts: Uint8Array[] = [];
  private from = 0;
  private at = 0;

  constructor(private readonly peer: Peer) {}

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
    this.from = this.at = 0;
    let pos = 0;
    while (pos < end) {
      if (this.dataLeft > 0) {
        const target = this.target!;
        const n = Math.min(this.dataLeft, end - pos);
        // A read into the target (readInto) put its bytes in place already.
        if (buf.buffer !== target.buffer) target.set(buf.subarray(pos, pos + n), this.dataAt);
        this.dataAt += n;
        this.dataLeft -= n;
        pos += n;
        if (this.dataLeft === 0) this.setDone();
        else if (this.dataLeft >= READ_INTO_MIN && pos === end) this.peer.readInto?.(target.subarray(this.dataAt));
        continue;
      }
      const lf = buf.indexOf(LF, pos);
      if (lf < 0 || lf >= end) {
        this.partial = buf.slice(pos, end);
        break;
      }
      const lineEnd = lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
      if (!this.line(buf, pos, lineEnd)) return this.peer.destroy();
      pos = lf + 1;
    }
    this.flush();
  }

  /** One command line, buf[pos, end) without its line end; false: not one the floor answers. */
  private line(buf: Uint8Array, pos: number, end: number): boolean {
    if (startsWith(buf, pos, end, 'get ')) {
      if (storedValue === undefined) {
        this.bytes(END);
        return true;
      }
      let p = pos + 4;
      while (p < end) {
        let q = p;
        while (q < end && buf[q] !== 0x20) q++;
        if (q > p) this.value(buf, p, q);
        p = q + 1;
      }
      this.bytes(END);
      return true;
    }
    if (startsWith(buf, pos, end, 'set ')) {
      // set <key> <flags> <exptime> <bytes>: the last field is the length.
      let p = end;
      while (p > pos && buf[p - 1] !== 0x20) p--;
      if (p === end) return false;
      let n = 0;
      for (let i = p; i < end; i++) {
        const digit = buf[i]! - 0x30;
        if (digit < 0 || digit > 9) return false;
        n = n * 10 + digit;
      }
      this.target = spare !== undefined && spare.length === n + 2 ? spare : new Uint8Array(n + 2);
      spare = undefined;
      this.dataAt = 0;
      this.dataLeft = n + 2;
      return true;
    }
    if (startsWith(buf, pos, end, 'stats')) {
      this.bytes(END);
      return true;
    }
    return false;
  }

  private setDone(): void {
    const data = this.target!;
    this.target = undefined;
    const n = data.length - 2;
    if (data[n] !== CR || data[n + 1] !== LF) return this.peer.destroy();
    if (storedValue?.length !== n) storedSuffix = ascii(` 0 ${n}\r\n`);
    if (!storedInParts) spare = stored;
    stored = data;
    storedValue = data.subarray(0, n);
    storedInParts = false;
    this.bytes(STORED);
  }

  /** "VALUE <key> 0 <n>\r\n<data>\r\n" for the key at buf[from, to). */
  private value(buf: Uint8Array, from: number, to: number): void {
    const data = storedValue!;
    this.room(VALUE_.length + (to - from) + storedSuffix.length + Math.min(data.length, BY_REFERENCE) + 2);
    this.bytes(VALUE_);
    out.set(buf.subarray(from, to), this.at);
    this.at += to - from;
    this.bytes(storedSuffix);
    if (data.length >= BY_REFERENCE) {
      this.cut();
      this.parts.push(data);
      storedInParts = true;
    } else {
      this.bytes(data);
    }
    this.bytes(CRLF);
  }

  private bytes(bytes: Uint8Array): void {
    this.room(bytes.length);
    out.set(bytes, this.at);
    this.at += bytes.length;
  }

  /** Makes room for n more bytes in `out`, sending what is there first if it must. */
  private room(n: number): void {
    if (this.at + n <= out.length) return;
    this.flush();
    if (n > out.length) out = new Uint8Array(n);
  }

  /** Ends the current piece of `out` as a part. */
  private cut(): void {
    if (this.at > this.from) this.parts.push(out.subarray(this.from, this.at));
    this.from = this.at;
  }

  private flush(): void {
    this.cut();
    const parts = this.parts;
    if (parts.length === 0) return;
    const sent = this.peer.send(parts);
    this.parts = [];
    if (sent === Sent.COPIED) {
      storedInParts = false;
    } else {
      // The write holds out (and the stored value, if it went by reference) until it is done.
      out = new Uint8Array(OUT_BYTES);
    }
    if (sent === Sent.FULL) this.peer.pauseReading();
    this.from = this.at = 0;
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
if (!Number.isInteger(port) || port <= 0) throw new Error('usage: floor.ts <port> [host]');
const serve = (peer: Peer): void => {
  const connection = new FloorConnection(peer);
  peer.start({ data: (chunk, length) => connection.data(chunk, length), drain: () => connection.drain(), closed: () => {} });
};
const server = createServer((socket: Socket) => serve(socketPeer(socket)));
server.listen(port, host, () => {
  // The stream handles when this Node has them, as wasmcached serves; net.Socket otherwise.
  adoptConnections(server, serve);
});
process.on('SIGTERM', () => process.exit(0));
