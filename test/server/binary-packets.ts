// Binary protocol packets for tests: a request builder that can also build malformed packets, the
// extras of the common commands, and a parser that splits a reply into packets. cf. memcached's
// protocol_binary.h and its t/binary.t; the layout is the 24-byte header of protocol_binary.txt.
//
//   byte  0        1        2        3
//      +--------+--------+--------+--------+
//    0 | magic  | opcode |     keylen      |
//      +--------+--------+--------+--------+
//    4 | extlen |datatype| vbucket/status  |
//      +--------+--------+--------+--------+
//    8 |           total body length       |
//      +--------+--------+--------+--------+
//   12 |              opaque               |
//      +--------+--------+--------+--------+
//   16 |                cas                |
//   20 |             (64 bits)             |
//      +--------+--------+--------+--------+
//   24 | extras, then key, then value (body length bytes in all)

import { Opcode } from '../../src/protocol/binary/header.ts';

export const HEADER_LENGTH = 24;
export const MAGIC_REQUEST = 0x80;
export const MAGIC_RESPONSE = 0x81;

// Offsets of the header fields (the same in requests and responses).
const AT_MAGIC = 0;
const AT_OPCODE = 1;
const AT_KEYLEN = 2; // u16
const AT_EXTLEN = 4;
const AT_DATATYPE = 5;
const AT_STATUS = 6; // u16: vbucket in a request, status in a response
const AT_BODYLEN = 8; // u32
const AT_OPAQUE = 12; // u32
const AT_CAS = 16; // u64

/** The opcodes, by the names protocol_binary.h gives them (the server's own table). */
export const OPCODE = Opcode;

export type OpcodeName = keyof typeof OPCODE;

const OPCODE_NAMES = new Map<number, OpcodeName>(
  (Object.entries(OPCODE) as Array<[OpcodeName, number]>).map(([name, code]) => [code, name]),
);

/** `GETK`, or `0x40` for an opcode without a name. */
export function opcodeName(opcode: number): string {
  return OPCODE_NAMES.get(opcode) ?? `0x${opcode.toString(16).padStart(2, '0')}`;
}

/** Response statuses (protocol_binary.txt "Response Status"). */
export const STATUS = {
  NO_ERROR: 0x0000,
  KEY_ENOENT: 0x0001,
  KEY_EEXISTS: 0x0002,
  E2BIG: 0x0003,
  EINVAL: 0x0004,
  NOT_STORED: 0x0005,
  DELTA_BADVAL: 0x0006,
  AUTH_ERROR: 0x0020,
  AUTH_CONTINUE: 0x0021,
  UNKNOWN_COMMAND: 0x0081,
  ENOMEM: 0x0082,
} as const;

/** Bytes, or a string sent as latin1 (one byte a character, so '\x00' is a NUL). */
export type Bytes = string | Uint8Array;

export function bytesOf(data: Bytes): Buffer {
  return typeof data === 'string' ? Buffer.from(data, 'latin1') : Buffer.from(data);
}

export interface RequestFields {
  opcode: number | OpcodeName;
  key?: Bytes;
  extras?: Bytes;
  value?: Bytes;
  opaque?: number;
  cas?: bigint;
  /** 0x80 unless a test wants a wrong one. */
  magic?: number;
  datatype?: number;
  vbucket?: number;
  // The length fields, when a test wants them to disagree with what is sent.
  keylen?: number;
  extlen?: number;
  bodylen?: number;
}

/** One request packet: the header, then extras, key and value as given. */
export function request(fields: RequestFields): Uint8Array {
  const extras = bytesOf(fields.extras ?? '');
  const key = bytesOf(fields.key ?? '');
  const value = bytesOf(fields.value ?? '');
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt8(fields.magic ?? MAGIC_REQUEST, AT_MAGIC);
  header.writeUInt8(typeof fields.opcode === 'string' ? OPCODE[fields.opcode] : fields.opcode, AT_OPCODE);
  header.writeUInt16BE(fields.keylen ?? key.length, AT_KEYLEN);
  header.writeUInt8(fields.extlen ?? extras.length, AT_EXTLEN);
  header.writeUInt8(fields.datatype ?? 0, AT_DATATYPE);
  header.writeUInt16BE(fields.vbucket ?? 0, AT_STATUS);
  header.writeUInt32BE(fields.bodylen ?? extras.length + key.length + value.length, AT_BODYLEN);
  header.writeUInt32BE(fields.opaque ?? 0, AT_OPAQUE);
  header.writeBigUInt64BE(fields.cas ?? 0n, AT_CAS);
  return new Uint8Array(Buffer.concat([header, extras, key, value]));
}

/** Several packets as one byte string, for one TCP write. */
export function concat(...packets: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(packets));
}

// ---------------------------------------------------------------------------------------------
// Extras

/** set, add, replace (and their quiet forms): flags u32, exptime u32. */
export function storeExtras(flags: number, exptime: number): Uint8Array {
  const extras = Buffer.alloc(8);
  extras.writeUInt32BE(flags >>> 0, 0);
  extras.writeUInt32BE(exptime >>> 0, 4);
  return new Uint8Array(extras);
}

/** incr, decr: delta u64, initial u64, exptime u32 (0xffffffff: do not create a missing item). */
export function deltaExtras(delta: bigint, initial: bigint, exptime: number): Uint8Array {
  const extras = Buffer.alloc(20);
  extras.writeBigUInt64BE(delta, 0);
  extras.writeBigUInt64BE(initial, 8);
  extras.writeUInt32BE(exptime >>> 0, 16);
  return new Uint8Array(extras);
}

/** touch, gat, gatk (and quiet forms): exptime u32. Flush's optional delay and verbosity's level have the same shape. */
export function exptimeExtras(exptime: number): Uint8Array {
  const extras = Buffer.alloc(4);
  extras.writeUInt32BE(exptime >>> 0, 0);
  return new Uint8Array(extras);
}

export const touchExtras = exptimeExtras;
export const flushExtras = exptimeExtras;

// ---------------------------------------------------------------------------------------------
// Parsing

export interface Packet {
  magic: number;
  opcode: number;
  keylen: number;
  extlen: number;
  datatype: number;
  /** The status of a response (the vbucket of a request). */
  status: number;
  bodylen: number;
  opaque: number;
  cas: bigint;
  extras: Buffer;
  key: Buffer;
  value: Buffer;
}

export interface Parsed {
  packets: Packet[];
  /** Bytes after the last complete packet: a header or body cut short. */
  rest: Buffer;
}

/**
 * Splits `bytes` into packets by their headers (whatever the magic). Extras and key are cut from
 * the body as far as the body reaches, so a packet whose lengths disagree still parses.
 */
export function parsePackets(bytes: Uint8Array): Parsed {
  const data = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const packets: Packet[] = [];
  let at = 0;
  while (data.length - at >= HEADER_LENGTH) {
    const bodylen = data.readUInt32BE(at + AT_BODYLEN);
    if (data.length - at - HEADER_LENGTH < bodylen) break;
    const keylen = data.readUInt16BE(at + AT_KEYLEN);
    const extlen = data.readUInt8(at + AT_EXTLEN);
    const body = data.subarray(at + HEADER_LENGTH, at + HEADER_LENGTH + bodylen);
    const keyAt = Math.min(extlen, bodylen);
    const valueAt = Math.min(extlen + keylen, bodylen);
    packets.push({
      magic: data.readUInt8(at + AT_MAGIC),
      opcode: data.readUInt8(at + AT_OPCODE),
      keylen,
      extlen,
      datatype: data.readUInt8(at + AT_DATATYPE),
      status: data.readUInt16BE(at + AT_STATUS),
      bodylen,
      opaque: data.readUInt32BE(at + AT_OPAQUE),
      cas: data.readBigUInt64BE(at + AT_CAS),
      extras: Buffer.from(body.subarray(0, keyAt)),
      key: Buffer.from(body.subarray(keyAt, valueAt)),
      value: Buffer.from(body.subarray(valueAt)),
    });
    at += HEADER_LENGTH + bodylen;
  }
  return { packets, rest: Buffer.from(data.subarray(at)) };
}

/** A server's reply as packets (responses have the request layout with a status for the vbucket). */
export const parseResponses = parsePackets;

/** Offset just past the end of the first complete packet starting at `at`, or -1. */
export function packetEnd(bytes: Uint8Array, at: number): number {
  if (bytes.length - at < HEADER_LENGTH) return -1;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const end = at + HEADER_LENGTH + view.getUint32(at + AT_BODYLEN);
  return end <= bytes.length ? end : -1;
}

/** The 24-byte response memcached sends to a NOOP with `opaque`: every other field is zero. */
export function noopResponse(opaque: number): Uint8Array {
  const header = Buffer.alloc(HEADER_LENGTH);
  header.writeUInt8(MAGIC_RESPONSE, AT_MAGIC);
  header.writeUInt8(OPCODE.NOOP, AT_OPCODE);
  header.writeUInt32BE(opaque >>> 0, AT_OPAQUE);
  return new Uint8Array(header);
}
