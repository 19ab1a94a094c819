// One item as a file: a fixed header, the key, the value, and a CRC32 over everything after the
// checksum, so a damaged or half-written file is told from a good one. Times are unix seconds,
// so a record means the same to the next process (whose rel times start elsewhere).
//
//   0        4        8        12       16               24               32               40       44       48
//   +--------+--------+--------+--------+----------------+----------------+----------------+--------+--------+------------+--------------+
//   | MAGIC  | crc32  | flags  | marks  | exptime (u64)  | time (u64)     | cas (u64)      | nkey   | nbytes | key        | value        |
//   +--------+--------+--------+--------+----------------+----------------+----------------+--------+--------+------------+--------------+
//                     |<------------------------------- covered by crc32 ----------------------------------------------------------------->|

import { crc32 } from 'node:zlib';

/** 'WMC1': the format; another value is a file this engine did not write (or another version). */
const MAGIC = 0x31434d57;
const OFFSET_MAGIC = 0;
/** CRC32 (zlib's) of bytes [OFFSET_FLAGS, end). */
const OFFSET_CRC = 4;
/** The client's u32 flags. */
const OFFSET_FLAGS = 8;
/** MARK_* bits: the meta commands' marks that outlive a restart. */
const OFFSET_MARKS = 12;
/** Unix seconds at which the item expires; 0 never. */
const OFFSET_EXPTIME = 16;
/** Unix seconds of the last access that counted (it->time), for flush_all's rule. */
const OFFSET_TIME = 24;
/** The item's CAS (0 with CAS off). */
const OFFSET_CAS = 32;
const OFFSET_NKEY = 40;
const OFFSET_NBYTES = 44;
export const RECORD_HEADER_SIZE = 48;

export const MARK_STALE = 1;
export const MARK_WIN_SENT = 2;
export const MARK_KEY_BINARY = 4;

export interface ItemRecord {
  key: Uint8Array;
  value: Uint8Array;
  flags: number;
  marks: number;
  exptime: number;
  time: number;
  cas: bigint;
}

/** The file's bytes for an item (copies key and value: the item may change after this). */
export function encodeRecord(r: ItemRecord): Uint8Array {
  const bytes = new Uint8Array(RECORD_HEADER_SIZE + r.key.length + r.value.length);
  const view = new DataView(bytes.buffer);
  view.setUint32(OFFSET_MAGIC, MAGIC, true);
  view.setUint32(OFFSET_FLAGS, r.flags >>> 0, true);
  view.setUint32(OFFSET_MARKS, r.marks, true);
  view.setBigUint64(OFFSET_EXPTIME, BigInt(r.exptime), true);
  view.setBigUint64(OFFSET_TIME, BigInt(r.time), true);
  view.setBigUint64(OFFSET_CAS, r.cas, true);
  view.setUint32(OFFSET_NKEY, r.key.length, true);
  view.setUint32(OFFSET_NBYTES, r.value.length, true);
  bytes.set(r.key, RECORD_HEADER_SIZE);
  bytes.set(r.value, RECORD_HEADER_SIZE + r.key.length);
  view.setUint32(OFFSET_CRC, crc32(bytes.subarray(OFFSET_FLAGS)), true);
  return bytes;
}

/** The item in a file's bytes, or why they are not one (damage, another format). */
export function decodeRecord(bytes: Uint8Array): ItemRecord | string {
  if (bytes.length < RECORD_HEADER_SIZE) return `${bytes.length} bytes, shorter than a header`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(OFFSET_MAGIC, true) !== MAGIC) return 'not an item file (bad magic)';
  const nkey = view.getUint32(OFFSET_NKEY, true);
  const nbytes = view.getUint32(OFFSET_NBYTES, true);
  if (RECORD_HEADER_SIZE + nkey + nbytes !== bytes.length) return 'length does not match the header';
  if (view.getUint32(OFFSET_CRC, true) !== crc32(bytes.subarray(OFFSET_FLAGS))) return 'bad checksum';
  const key = bytes.subarray(RECORD_HEADER_SIZE, RECORD_HEADER_SIZE + nkey);
  return {
    key,
    value: bytes.subarray(RECORD_HEADER_SIZE + nkey),
    flags: view.getUint32(OFFSET_FLAGS, true),
    marks: view.getUint32(OFFSET_MARKS, true),
    exptime: Number(view.getBigUint64(OFFSET_EXPTIME, true)),
    time: Number(view.getBigUint64(OFFSET_TIME, true)),
    cas: view.getBigUint64(OFFSET_CAS, true),
  };
}
