// memcached's binary protocol framing (protocol_binary.h; memcached's doc/protocol-binary.xml):
// the 24-byte header every request and response starts with, the opcodes memcached 1.6 knows,
// the response statuses, and the error texts memcached's write_bin_error sends with them.
// All fields are big-endian.

import type { Output } from '../output.ts';

export const HEADER_BYTES = 24;
export const MAGIC_REQUEST = 0x80;
export const MAGIC_RESPONSE = 0x81;
/** memcached's BIN_MAX_EXTLEN: the most extras bytes any request has (incr/decr: 20). */
export const EXTRAS_MAX = 20;
/**
 * memcached's READ_BUFFER_SIZE: a request whose header, extras and key do not fit in it can never
 * be parsed, and memcached closes the connection without a reply.
 */
export const REQUEST_PREFIX_MAX = 16384;

export const Opcode = {
  GET: 0x00,
  SET: 0x01,
  ADD: 0x02,
  REPLACE: 0x03,
  DELETE: 0x04,
  INCREMENT: 0x05,
  DECREMENT: 0x06,
  QUIT: 0x07,
  FLUSH: 0x08,
  GETQ: 0x09,
  NOOP: 0x0a,
  VERSION: 0x0b,
  GETK: 0x0c,
  GETKQ: 0x0d,
  APPEND: 0x0e,
  PREPEND: 0x0f,
  STAT: 0x10,
  SETQ: 0x11,
  ADDQ: 0x12,
  REPLACEQ: 0x13,
  DELETEQ: 0x14,
  INCREMENTQ: 0x15,
  DECREMENTQ: 0x16,
  QUITQ: 0x17,
  FLUSHQ: 0x18,
  APPENDQ: 0x19,
  PREPENDQ: 0x1a,
  VERBOSITY: 0x1b,
  TOUCH: 0x1c,
  GAT: 0x1d,
  GATQ: 0x1e,
  SASL_LIST_MECHS: 0x20,
  SASL_AUTH: 0x21,
  SASL_STEP: 0x22,
  GATK: 0x23,
  GATKQ: 0x24,
} as const;

/** Response statuses (protocol_binary_response_status). */
export const BinaryStatus = {
  SUCCESS: 0x00,
  KEY_ENOENT: 0x01,
  KEY_EEXISTS: 0x02,
  E2BIG: 0x03,
  EINVAL: 0x04,
  NOT_STORED: 0x05,
  DELTA_BADVAL: 0x06,
  AUTH_ERROR: 0x20,
  AUTH_CONTINUE: 0x21,
  UNKNOWN_COMMAND: 0x81,
  ENOMEM: 0x82,
} as const;
export type BinaryStatus = (typeof BinaryStatus)[keyof typeof BinaryStatus];

/** The body memcached's write_bin_error sends for a status when it is given no text. */
export function statusText(status: BinaryStatus): string {
  switch (status) {
    case BinaryStatus.ENOMEM:
      return 'Out of memory';
    case BinaryStatus.UNKNOWN_COMMAND:
      return 'Unknown command';
    case BinaryStatus.KEY_ENOENT:
      return 'Not found';
    case BinaryStatus.EINVAL:
      return 'Invalid arguments';
    case BinaryStatus.KEY_EEXISTS:
      return 'Data exists for key.';
    case BinaryStatus.E2BIG:
      return 'Too large.';
    case BinaryStatus.DELTA_BADVAL:
      return 'Non-numeric server-side value for incr or decr';
    case BinaryStatus.NOT_STORED:
      return 'Not stored.';
    case BinaryStatus.AUTH_ERROR:
      return 'Auth failure.';
    default:
      return 'UNHANDLED ERROR';
  }
}

/** A request header as read from the wire (one per connection, filled in place). */
export interface BinaryHeader {
  magic: number;
  opcode: number;
  keylen: number;
  extlen: number;
  bodylen: number;
  opaque: number;
  cas: bigint;
}

export function createBinaryHeader(): BinaryHeader {
  return { magic: 0, opcode: 0, keylen: 0, extlen: 0, bodylen: 0, opaque: 0, cas: 0n };
}

/** Reads the header at buf[at, at + 24). */
export function readHeader(buf: Uint8Array, at: number, h: BinaryHeader): void {
  h.magic = buf[at]!;
  h.opcode = buf[at + 1]!;
  h.keylen = (buf[at + 2]! << 8) | buf[at + 3]!;
  h.extlen = buf[at + 4]!;
  h.bodylen = readU32(buf, at + 8);
  h.opaque = readU32(buf, at + 12);
  h.cas = (BigInt(readU32(buf, at + 16)) << 32n) | BigInt(readU32(buf, at + 20));
}

export function readU32(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

export function readU64(buf: Uint8Array, at: number): bigint {
  return (BigInt(readU32(buf, at)) << 32n) | BigInt(readU32(buf, at + 4));
}

export function writeU32(buf: Uint8Array, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = value >>> 16;
  buf[at + 2] = value >>> 8;
  buf[at + 3] = value;
}

export function writeU64(buf: Uint8Array, at: number, value: bigint): void {
  writeU32(buf, at, Number(value >> 32n) >>> 0);
  writeU32(buf, at + 4, Number(value & 0xffffffffn) >>> 0);
}

/** Appends a big-endian u32 to the reply (reserving first: that may start a new chunk). */
export function appendU32(out: Output, value: number): void {
  const at = out.reserve(4);
  writeU32(out.buffer, at, value);
}

/** Appends a big-endian u64 to the reply. */
export function appendU64(out: Output, value: bigint): void {
  const at = out.reserve(8);
  writeU64(out.buffer, at, value);
}

/**
 * Appends a response header (memcached's add_bin_header): the request's opcode and opaque
 * echoed, raw-bytes datatype, and the body length of extras + key + value that follow. Returns
 * where in `out.buffer` it was written.
 */
export function writeResponseHeader(
  out: Output,
  opcode: number,
  status: number,
  extlen: number,
  keylen: number,
  bodylen: number,
  opaque: number,
  cas: bigint,
): number {
  const at = out.reserve(HEADER_BYTES);
  const b = out.buffer;
  b[at] = MAGIC_RESPONSE;
  b[at + 1] = opcode;
  b[at + 2] = keylen >>> 8;
  b[at + 3] = keylen;
  b[at + 4] = extlen;
  b[at + 5] = 0;
  b[at + 6] = status >>> 8;
  b[at + 7] = status;
  writeU32(b, at + 8, bodylen);
  writeU32(b, at + 12, opaque);
  if (cas === 0n) b.fill(0, at + 16, at + 24);
  else writeU64(b, at + 16, cas);
  return at;
}

/** memcached's -vv dump of a header: `<prefix>` then the bytes, four a line. */
export function dumpHeader(title: string, prefix: string, bytes: Uint8Array, at: number): string {
  let text = title;
  for (let i = 0; i < HEADER_BYTES; i++) {
    if (i % 4 === 0) text += `\n${prefix}`;
    text += ` 0x${bytes[at + i]!.toString(16).padStart(2, '0')}`;
  }
  return text;
}
