// memcached's UDP framing (protocol.txt "UDP protocol"): every datagram starts with an 8-byte
// header (request id, sequence number, datagram count, reserved 0, all big-endian u16). As in
// memcached 1.6, each response (each command's reply, and each key of a multi-key get) is framed
// on its own: its datagrams are numbered from 0 and counted apart. A key of a multi-get that
// missed is an empty response, sent as a header alone with a count of 0.
//
// A reply is framed as it is sent, a window of datagrams at a time, and the next request waits
// until it is all handed to the socket (memcached's UDP connection reads nothing while it writes):
// a get of a long value repeated many times is not built whole in memory. Requests that arrive
// meanwhile wait in a backlog of bounded size, beyond which they are dropped, as the kernel drops
// datagrams a busy memcached does not read.

export const UDP_HEADER_BYTES = 8;
/** memcached's UDP_MAX_PAYLOAD_SIZE: a reply datagram's size, header included. */
export const UDP_MAX_PAYLOAD_SIZE = 1400;
const DATA_PER_FRAME = UDP_MAX_PAYLOAD_SIZE - UDP_HEADER_BYTES;
/** Datagrams handed to the socket and not yet reported sent, beyond which framing waits (about 256 KB). */
export const UDP_IN_FLIGHT_FRAMES = 192;
/** Request bytes kept while a reply is being sent, beyond which requests are dropped. */
export const UDP_BACKLOG_MAX = 256 * 1024;

/** A request's reply as the connection made it: its parts, where its responses end, and what to call once it is sent. */
export interface UdpReply {
  parts: Uint8Array[];
  /** Offsets into the parts' bytes where each response but the last ends (Output.recordedResponses). */
  ends: readonly number[];
  /** Called once the reply is all framed (the items it shows are given back). */
  sent: Array<() => void>;
}

/** What the port needs from the server and its socket. */
export interface UdpPortDriver<Peer> {
  /** Runs one request (the bytes after its header) and returns its reply. */
  answer(request: Uint8Array): UdpReply;
  /** A datagram not answered (one of a request of several): memcached counts it as read. */
  ignored(message: Uint8Array): void;
  /**
   * Sends frame[0, length) as one datagram to `to`; `done` is called once the socket is done with
   * the frame (sent or dropped), which is then written again. Returns false, and never calls
   * `done`, when nothing can be sent to `to` (an address the socket refuses): the rest of that
   * reply is dropped.
   */
  send(frame: Uint8Array, length: number, to: Peer, done: () => void): boolean;
}

/** Cuts a reply into datagrams, response by response, as they are asked for. */
export class UdpFramer {
  private part = 0;
  private offset = 0;
  /** Reply bytes framed so far. */
  private at = 0;
  /** The response being framed: its index, where it ends, its datagram count and next sequence. */
  private response = 0;
  private responseEnd = 0;
  private count = 0;
  private seq = 0;
  private readonly ends: number[];

  constructor(
    private readonly requestId: number,
    private readonly parts: readonly Uint8Array[],
    ends: readonly number[],
  ) {
    let total = 0;
    for (const part of parts) total += part.length;
    // The last response ends with the reply; it is not sent when empty (nothing was answered).
    this.ends = ends.filter((end) => end < total);
    this.ends.push(total);
    this.startResponse(0);
  }

  /**
   * Writes the next datagram into `frame` (UDP_MAX_PAYLOAD_SIZE bytes) and returns its length, or
   * 0 when the reply is all framed.
   */
  next(frame: Uint8Array): number {
    if (this.response >= this.ends.length) return 0;
    if (this.count === 0) {
      // An empty response: a header alone, with a count of 0 (as memcached sends it).
      this.startResponse(this.response + 1);
      this.header(0, 0, frame);
      return UDP_HEADER_BYTES;
    }
    const size = Math.min(DATA_PER_FRAME, this.responseEnd - this.at);
    this.header(this.seq, this.count, frame);
    const length = UDP_HEADER_BYTES + size;
    let to = UDP_HEADER_BYTES;
    while (to < length) {
      const source = this.parts[this.part]!;
      const n = Math.min(source.length - this.offset, length - to);
      frame.set(source.subarray(this.offset, this.offset + n), to);
      to += n;
      this.offset += n;
      if (this.offset === source.length) {
        this.part++;
        this.offset = 0;
      }
    }
    this.at += size;
    this.seq++;
    if (this.seq === this.count) this.startResponse(this.response + 1);
    return length;
  }

  /** Moves to response `index` (skipping a last one that is empty). */
  private startResponse(index: number): void {
    this.response = index;
    this.seq = 0;
    if (index >= this.ends.length) {
      this.count = 0;
      return;
    }
    this.responseEnd = this.ends[index]!;
    const bytes = this.responseEnd - this.at;
    // memcached writes the count and sequence as u16s: a response over 65,535 datagrams wraps.
    this.count = Math.ceil(bytes / DATA_PER_FRAME);
    if (bytes === 0 && index === this.ends.length - 1) this.response = this.ends.length;
  }

  private header(seq: number, count: number, frame: Uint8Array): void {
    frame[0] = this.requestId >>> 8;
    frame[1] = this.requestId & 0xff;
    frame[2] = (seq >>> 8) & 0xff;
    frame[3] = seq & 0xff;
    frame[4] = (count >>> 8) & 0xff;
    frame[5] = count & 0xff;
    frame[6] = 0;
    frame[7] = 0;
  }
}

/**
 * One UDP port's requests and replies: one request at a time, its reply framed a window of
 * datagrams at a time into frames that are reused once sent. The frames are copies, so the items
 * a reply shows are given back once it is all framed.
 */
export class UdpPort<Peer> {
  private framer: UdpFramer | undefined;
  private to: Peer | undefined;
  /** What to call once the reply being framed is all framed. */
  private framed: Array<() => void> = [];
  /** Frames handed to the socket and not yet reported sent, and those free to write. */
  private inFlight = 0;
  private readonly frames: Uint8Array[] = [];
  private readonly backlog: Array<{ message: Uint8Array; from: Peer }> = [];
  private backlogBytes = 0;
  private pumping = false;
  private closed = false;

  constructor(private readonly driver: UdpPortDriver<Peer>) {}

  /**
   * A datagram arrived from `from` (kept as it is if it must wait: Node gives each its own buffer).
   * One whose header does not say it is the only datagram of its request is ignored (memcached
   * reads no request of several datagrams), after driver.ignored.
   */
  receive(message: Uint8Array, from: Peer): void {
    if (this.closed || message.length <= UDP_HEADER_BYTES) return;
    if (message[4] !== 0 || message[5] !== 1) {
      this.driver.ignored(message);
      return;
    }
    if (this.framer === undefined && this.backlog.length === 0) {
      this.start(message, from);
      this.pump();
      return;
    }
    if (this.backlogBytes + message.length > UDP_BACKLOG_MAX) return;
    this.backlog.push({ message, from });
    this.backlogBytes += message.length;
  }

  /** Requests waiting while a reply is framed. */
  get waiting(): number {
    return this.backlog.length;
  }

  /** Stops: nothing more is sent, and what the unframed reply held is given back. */
  close(): void {
    this.closed = true;
    this.framer = undefined;
    this.backlog.length = 0;
    this.backlogBytes = 0;
    this.release();
  }

  private start(message: Uint8Array, from: Peer): void {
    const requestId = (message[0]! << 8) | message[1]!;
    const reply = this.driver.answer(message.subarray(UDP_HEADER_BYTES));
    this.framer = new UdpFramer(requestId, reply.parts, reply.ends);
    this.to = from;
    this.framed = reply.sent;
  }

  /** Sends datagrams while the window has room; starts the next request when a reply is all framed. */
  private pump(): void {
    if (this.pumping) return;
    this.pumping = true;
    try {
      while (this.inFlight < UDP_IN_FLIGHT_FRAMES) {
        if (this.framer === undefined) {
          const next = this.backlog.shift();
          if (next === undefined) break;
          this.backlogBytes -= next.message.length;
          this.start(next.message, next.from);
        }
        const frame = this.frames.pop() ?? new Uint8Array(UDP_MAX_PAYLOAD_SIZE);
        const length = this.framer!.next(frame);
        // All framed, or the socket refuses the peer: the reply is done with.
        if (length === 0 || !this.driver.send(frame, length, this.to!, () => this.sent(frame))) {
          this.frames.push(frame);
          this.framer = undefined;
          this.release();
          continue;
        }
        this.inFlight++;
      }
    } finally {
      this.pumping = false;
    }
  }

  private sent(frame: Uint8Array): void {
    this.inFlight--;
    this.frames.push(frame);
    if (!this.closed) this.pump();
  }

  /** Gives back what the reply being framed held. */
  private release(): void {
    const callbacks = this.framed;
    this.framed = [];
    for (const done of callbacks) done();
  }
}
