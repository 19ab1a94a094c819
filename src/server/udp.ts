// memcached's UDP framing (protocol.txt "UDP protocol"): every datagram starts with an 8-byte
// header (request id, sequence number, datagram count, reserved 0, all big-endian u16); a reply
// longer than one datagram is cut into several, each with its own header.

export const UDP_HEADER_BYTES = 8;
/** memcached's UDP_MAX_PAYLOAD_SIZE: a reply datagram's size, header included. */
export const UDP_MAX_PAYLOAD_SIZE = 1400;
const DATA_PER_FRAME = UDP_MAX_PAYLOAD_SIZE - UDP_HEADER_BYTES;

/** The reply `parts` (in order) as datagrams for request `requestId`. */
export function udpFrames(requestId: number, parts: readonly Uint8Array[]): Uint8Array[] {
  let total = 0;
  for (const part of parts) total += part.length;
  if (total === 0) return [];
  const count = Math.ceil(total / DATA_PER_FRAME);
  const frames: Uint8Array[] = [];
  let part = 0;
  let offset = 0;
  for (let seq = 0; seq < count; seq++) {
    const size = Math.min(DATA_PER_FRAME, total - seq * DATA_PER_FRAME);
    const frame = new Uint8Array(UDP_HEADER_BYTES + size);
    const view = new DataView(frame.buffer);
    view.setUint16(0, requestId);
    view.setUint16(2, seq);
    view.setUint16(4, count);
    view.setUint16(6, 0);
    let at = UDP_HEADER_BYTES;
    while (at < frame.length) {
      const source = parts[part]!;
      const n = Math.min(source.length - offset, frame.length - at);
      frame.set(source.subarray(offset, offset + n), at);
      at += n;
      offset += n;
      if (offset === source.length) {
        part++;
        offset = 0;
      }
    }
    frames.push(frame);
  }
  return frames;
}
