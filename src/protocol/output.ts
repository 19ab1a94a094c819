// The reply buffer: protocols append bytes, the server takes what a batch of requests produced
// and writes it at once. A write may keep a reference to what it is given (no copy), so taken
// bytes are never written over: `take()` hands out the filled parts and later replies go after
// them, or into a fresh chunk, unless the writer says the kernel has copied them (`recycle()`),
// which is the usual case, and then the same chunk is written again from its start. A reply that
// does not fit closes the current chunk's part and starts a new chunk, so nothing written is ever
// copied again (cf. memcached's resp objects and iovecs, which also live until the write
// completes). Between batches nothing is pending, so one Output can serve every connection.
// Values may be appended by reference (an item's bytes, held until written), and a reply that is
// only an engine's text answers may be borrowed from where the engine wrote it (`borrow()`).

/** Bytes of a chunk; a reply larger than what is left gets a chunk of its own size. */
const CHUNK_BYTES = 64 * 1024;
/** When less than this is left after a take, the next reply starts a new chunk. */
const MIN_TAIL = 2048;
/** A chunk this large (grown for one big reply) is not kept for reuse. */
const RECYCLE_MAX = 1024 * 1024;

import { Window } from './window.ts';

export const CR = 0x0d;
export const LF = 0x0a;
export const SPACE = 0x20;
const ZERO = 0x30;
const INT32_MAX = 0x7fffffff;

/** The digits of a non-negative integer below 2^53 in decimal. */
export function decimalDigits(value: number): number {
  let digits = 1;
  let v = value;
  // Above 2^31 - 1 in floating point; below, in int32, about twice as fast.
  for (; v > INT32_MAX; v = Math.floor(v / 10)) digits++;
  for (; v >= 10; v = (v / 10) | 0) digits++;
  return digits;
}

/**
 * Writes a non-negative integer below 2^53 in decimal at b[at...] (room for its digits, see
 * decimalDigits, is the caller's); returns the offset after it.
 */
export function decimalAt(b: Uint8Array, at: number, value: number): number {
  if (value < 10) {
    b[at] = ZERO + value;
    return at + 1;
  }
  const end = at + decimalDigits(value);
  digitsBefore(b, end, value);
  return end;
}

/** Writes the decimal digits of `value` so that the last one is at b[end - 1]. */
function digitsBefore(b: Uint8Array, end: number, value: number): void {
  let v = value;
  let i = end - 1;
  for (; v > INT32_MAX; v = Math.floor(v / 10)) b[i--] = ZERO + (v % 10);
  do {
    const q = (v / 10) | 0;
    b[i--] = ZERO + (v - q * 10);
    v = q;
  } while (v > 0);
}

/** Bytes up to which a copy from a DataView goes four at a time; beyond, one native copy is faster. */
export const WORD_COPY_MAX = 64;

/**
 * Copies `from`[at, at + n) to `to`[dst...], four bytes at a time: for the short copies of the hot
 * path (keys, small values) about three times as fast as a byte loop, and with no view to make,
 * as `set(subarray(...))` must.
 */
export function copyWords(from: DataView, at: number, to: DataView, dst: number, n: number): void {
  let i = 0;
  for (; i + 4 <= n; i += 4) to.setUint32(dst + i, from.getUint32(at + i, true), true);
  for (; i < n; i++) to.setUint8(dst + i, from.getUint8(at + i));
}

export class Output {
  private chunk = new Uint8Array(CHUNK_BYTES);
  /** The chunk's bytes as a DataView (copyWords). */
  private chunkView = new DataView(this.chunk.buffer);
  /**
   * Parts written and not yet taken, in order: parts[0, partCount). The array is kept from take
   * to take (emptying a JS array gives up its storage, which the next push makes again).
   */
  private parts: Uint8Array[] = [];
  private partCount = 0;
  /** The views of the chunk's parts, by their place in `parts` (a steady load asks for the same ones). */
  private readonly partWindows = [new Window(), new Window(), new Window(), new Window()];
  /** parts[0] is borrowed (see borrow), and is the only part. */
  private borrowed = false;
  /** The last take gave out borrowed bytes. */
  private tookBorrowed = false;
  /** Takes of borrowed bytes still being written (see keepTaken): their owner must not write over them. */
  private borrowsWriting = 0;
  private readonly borrowWindow = new Window();
  /** What take() returns for one part, the usual case (reused: see take). */
  private readonly one: Uint8Array[] = [new Uint8Array(0)];
  /** Whether a take from this chunk is still being written (see keepTaken). */
  private pinned = false;
  /**
   * one[0]'s views: a take of the same part as one of the last two (replies of one size, recycled)
   * reuses its view; two, so that a mix of two sizes (hits and STORED) makes none.
   */
  private oneWindow = new Window();
  private otherWindow = new Window();
  private partBytes = 0;
  /** Start of the bytes not yet taken. */
  private start = 0;
  /** End of what has been written. */
  private end = 0;
  /**
   * Where each response ends, while recorded (recordResponses): offsets into the bytes written
   * since recording began. UDP sends each of memcached's responses as datagrams of its own.
   */
  private ends: number[] | undefined;
  /** Bytes taken since recording began. */
  private endsBase = 0;

  /** Whether response ends are being recorded (recordResponses). */
  get recording(): boolean {
    return this.ends !== undefined;
  }

  /** Bytes written and not yet taken. */
  get length(): number {
    return this.partBytes + this.end - this.start;
  }

  /** Makes room for `n` more bytes; returns the offset in `buffer` to write them at. */
  reserve(n: number): number {
    if (this.borrowed) this.settleBorrowed();
    if (this.end + n > this.chunk.length) this.grow(n);
    const at = this.end;
    this.end += n;
    return at;
  }

  /** The chunk `reserve` offsets point into (changes when a new chunk starts: read it after reserving). */
  get buffer(): Uint8Array {
    return this.chunk;
  }

  /** Appends ASCII text (wire strings and numbers' digits; never user data). */
  ascii(text: string): void {
    const n = text.length;
    const at = this.reserve(n);
    const b = this.chunk;
    for (let i = 0; i < n; i++) b[at + i] = text.charCodeAt(i);
  }

  /** Appends a constant reply made once with `encodeAscii`. */
  raw(bytes: Uint8Array): void {
    this.bytes(bytes, 0, bytes.length);
  }

  /** The chunk `reserve` offsets point into, as a DataView (read after reserving, like `buffer`). */
  get view(): DataView {
    return this.chunkView;
  }

  /**
   * Appends source[offset, offset + n), where `view` is a DataView of the same bytes as `source`
   * (offsets counted alike): short copies go through it, word by word.
   */
  bytesOf(source: Uint8Array, view: DataView, offset: number, n: number): void {
    const at = this.reserve(n);
    if (n <= WORD_COPY_MAX) copyWords(view, offset, this.chunkView, at, n);
    else this.chunk.set(source.subarray(offset, offset + n), at);
  }

  /** Appends bytes[offset, offset + n). */
  bytes(source: Uint8Array, offset: number, n: number): void {
    const at = this.reserve(n);
    if (n <= 32) {
      const b = this.chunk;
      for (let i = 0; i < n; i++) b[at + i] = source[offset + i]!;
    } else {
      this.chunk.set(n === source.length && offset === 0 ? source : source.subarray(offset, offset + n), at);
    }
  }

  /**
   * Appends bytes[offset, offset + n) by reference, not copied: the caller keeps them unchanged
   * until the write of this batch has completed (cf. memcached's iovec into an item it holds).
   */
  reference(source: Uint8Array, offset: number, n: number): void {
    if (this.borrowed) this.settleBorrowed();
    if (this.end > this.start) {
      this.partBytes += this.end - this.start;
      this.chunkPart();
      this.start = this.end;
    }
    this.parts[this.partCount++] = source.subarray(offset, offset + n);
    this.partBytes += n;
  }

  /**
   * Makes source[offset, offset + n) the reply so far, not copied, when nothing is written yet
   * and no response ends are recorded (else false, and nothing is appended). The bytes are
   * borrowed from an owner who will write over them (an engine's text answers): they are copied
   * in (settleBorrowed) before anything more is appended, and the caller settles them before the
   * owner may write; a take of them that is not written at once keeps the owner from writing them
   * until borrowWritten (see keepTaken and borrowsInFlight).
   */
  borrow(source: Uint8Array, offset: number, n: number): boolean {
    if (this.length !== 0 || this.ends !== undefined) return false;
    this.parts[0] = this.borrowWindow.of(source, offset, offset + n);
    this.partCount = 1;
    this.partBytes = n;
    this.borrowed = true;
    return true;
  }

  /** Copies borrowed bytes not yet taken into the buffer: their owner may write over them now. */
  settleBorrowed(): void {
    if (!this.borrowed) return;
    this.borrowed = false;
    const part = this.parts[0]!;
    this.partCount = 0;
    this.partBytes = 0;
    this.bytes(part, 0, part.length);
  }

  /** Whether a write of borrowed bytes is still under way: their owner must not write over them. */
  get borrowsInFlight(): boolean {
    return this.borrowsWriting > 0;
  }

  /** A write of borrowed bytes that keepTaken reported has completed (or was dropped). */
  borrowWritten(): void {
    this.borrowsWriting--;
  }

  /** Adds the chunk's bytes not yet in a part, chunk[start, end), as the next part. */
  private chunkPart(): void {
    const i = this.partCount++;
    const window = this.partWindows[i];
    this.parts[i] = window === undefined ? this.chunk.subarray(this.start, this.end) : window.of(this.chunk, this.start, this.end);
  }

  byte(value: number): void {
    // reserve() may start a new chunk: read this.chunk only after it.
    const at = this.reserve(1);
    this.chunk[at] = value;
  }

  crlf(): void {
    const at = this.reserve(2);
    this.chunk[at] = CR;
    this.chunk[at + 1] = LF;
  }

  /**
   * Gives back what the last reserve() left unused: `end` is the offset in `buffer` just after
   * the bytes actually written there.
   */
  unreserve(end: number): void {
    this.end = end;
  }

  /** Appends a non-negative integer below 2^53 in decimal, without making a string. */
  decimal(value: number): void {
    const digits = decimalDigits(value);
    // reserve() may start a new chunk: read this.chunk only after it.
    const at = this.reserve(digits);
    digitsBefore(this.chunk, at + digits, value);
  }

  /** Appends a signed integer below 2^53 in magnitude. */
  signed(value: number): void {
    if (value < 0) {
      this.byte(0x2d);
      this.decimal(-value);
    } else {
      this.decimal(value);
    }
  }

  /** Appends an unsigned 64-bit integer in decimal. */
  u64(value: bigint): void {
    if (value <= 0x1fffffffffffffn) this.decimal(Number(value));
    else this.ascii(value.toString());
  }

  /**
   * The bytes written since the last take, as parts in order (usually one); the caller hands
   * them to a socket and must not change them. Empty when nothing was written. The array itself
   * is reused by the next take: a caller that keeps the list (not just the parts) copies it.
   */
  take(): Uint8Array[] {
    if (this.ends !== undefined) this.endsBase += this.length;
    this.tookBorrowed = this.borrowed;
    this.borrowed = false;
    let taken: Uint8Array[];
    if (this.partCount === 0 && this.end > this.start) {
      taken = this.one;
      if (!this.oneWindow.holds(this.chunk, this.start, this.end)) {
        // The other view, or a new one in the place of the one used longer ago.
        const other = this.otherWindow;
        this.otherWindow = this.oneWindow;
        this.oneWindow = other;
      }
      taken[0] = this.oneWindow.of(this.chunk, this.start, this.end);
    } else {
      if (this.end > this.start) this.chunkPart();
      taken = this.parts;
      if (taken.length !== this.partCount) taken.length = this.partCount;
      this.partCount = 0;
    }
    this.partBytes = 0;
    this.start = this.end;
    // Too little left to be worth a part of its own: the next reply starts a new chunk, unless
    // these bytes are recycled first.
    if (this.chunk.length - this.end < MIN_TAIL) this.start = this.end = this.chunk.length;
    return taken;
  }

  /**
   * Everything taken has been copied out (the kernel took the write whole): the current chunk
   * is written again from its start.
   */
  recycle(): void {
    this.tookBorrowed = false;
    if (this.end > this.start || this.partCount > 0) return; // written since the take
    if (this.pinned) return; // an earlier take is still being written from this chunk
    if (this.chunk.length > RECYCLE_MAX) this.fresh(CHUNK_BYTES);
    this.start = 0;
    this.end = 0;
  }

  /**
   * What was taken is still in use (a write was queued, not copied): this chunk is never written
   * again from its start; later replies go after those bytes, then into a new chunk. One Output
   * serves every connection, so without this another connection's copied write would recycle the
   * chunk under the queued one. True when the take gave out borrowed bytes: the caller then
   * calls borrowWritten once the write is done, and borrowsInFlight holds until then.
   */
  keepTaken(): boolean {
    this.pinned = true;
    if (!this.tookBorrowed) return false;
    this.tookBorrowed = false;
    this.borrowsWriting++;
    return true;
  }

  /**
   * Starts recording where responses end (see endResponse), from an empty buffer: memcached's
   * UDP frames each response (its mc_resp) apart, numbering its datagrams from 0.
   */
  recordResponses(): void {
    this.ends = [];
    this.endsBase = 0;
  }

  /**
   * A response ends here, when recording. An empty one is recorded only if `always` (a key of a
   * multi-key get that missed: memcached still sends its empty response over UDP); otherwise a
   * response is what was written since the last end, if anything was.
   */
  endResponse(always: boolean): void {
    const ends = this.ends;
    if (ends === undefined) return;
    const at = this.endsBase + this.length;
    if (always || at > (ends.length === 0 ? 0 : ends[ends.length - 1]!)) ends.push(at);
  }

  /** The response ends recorded since recordResponses, which stops recording. */
  recordedResponses(): number[] {
    const ends = this.ends ?? [];
    this.ends = undefined;
    return ends;
  }

  /** Forgets everything not taken (a connection that closes). */
  clear(): void {
    this.borrowed = false;
    this.partCount = 0;
    this.partBytes = 0;
    this.end = this.start;
  }

  private grow(n: number): void {
    if (this.end > this.start) {
      this.partBytes += this.end - this.start;
      this.chunkPart();
    }
    this.fresh(Math.max(CHUNK_BYTES, n));
  }

  private fresh(size: number): void {
    this.chunk = new Uint8Array(size);
    this.chunkView = new DataView(this.chunk.buffer);
    this.pinned = false;
    this.start = 0;
    this.end = 0;
  }
}

/** A wire string as bytes, made once at start-up. */
export function encodeAscii(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
