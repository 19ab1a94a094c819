// The text protocol's VALUE line (protocol.txt, "Retrieval command"): `VALUE <key> <flags>
// <bytes> [<cas unique>]\r\n`, written in one reservation of the reply buffer.

import { CR, LF, SPACE, copyWords, decimalAt, type Output } from '../output.ts';

const V = 0x56;
const A = 0x41;
const L = 0x4c;
const U = 0x55;
const E = 0x45;
/** "VALUE ", the key's separators, a u32 twice, a CAS below 2^53 and CRLF fit in this beyond the key. */
const LINE_EXTRA = 6 + 1 + 10 + 1 + 10 + 1 + 16 + 2;

/**
 * The VALUE line of a hit: the key is key[keyOffset, keyOffset + nkey); `cas` below 2^53, or -1
 * for none (get rather than gets; a larger CAS goes through valueLineCas).
 */
export function valueLine(out: Output, key: Uint8Array, keyOffset: number, nkey: number, flags: number, nvalue: number, cas: number): void {
  const at = lineHead(out, nkey);
  const b = out.buffer;
  for (let i = 0; i < nkey; i++) b[at + i] = key[keyOffset + i]!;
  lineTail(out, at + nkey, flags, nvalue, cas);
}

/** valueLine with the key at view[keyAt, keyAt + nkey) (a ManyAnswer's), copied word by word. */
export function valueLineOf(out: Output, view: DataView, keyAt: number, nkey: number, flags: number, nvalue: number, cas: number): void {
  const at = lineHead(out, nkey);
  copyWords(view, keyAt, out.view, at, nkey);
  lineTail(out, at + nkey, flags, nvalue, cas);
}

/** Reserves the line and writes "VALUE "; returns where the key goes. */
function lineHead(out: Output, nkey: number): number {
  const at = out.reserve(nkey + LINE_EXTRA);
  const b = out.buffer;
  b[at] = V;
  b[at + 1] = A;
  b[at + 2] = L;
  b[at + 3] = U;
  b[at + 4] = E;
  b[at + 5] = SPACE;
  return at + 6;
}

/** The rest of the line from `at`, just after the key; gives back what the reservation left. */
function lineTail(out: Output, from: number, flags: number, nvalue: number, cas: number): void {
  const b = out.buffer;
  let at = from;
  b[at++] = SPACE;
  at = decimalAt(b, at, flags);
  b[at++] = SPACE;
  at = decimalAt(b, at, nvalue);
  if (cas >= 0) {
    b[at++] = SPACE;
    at = decimalAt(b, at, cas);
  }
  b[at] = CR;
  b[at + 1] = LF;
  out.unreserve(at + 2);
}

/** valueLine for any u64 CAS. */
export function valueLineCas(out: Output, key: Uint8Array, keyOffset: number, nkey: number, flags: number, nvalue: number, cas: bigint): void {
  if (cas <= 0x1fffffffffffffn) return valueLine(out, key, keyOffset, nkey, flags, nvalue, Number(cas));
  out.ascii('VALUE ');
  out.bytes(key, keyOffset, nkey);
  out.byte(SPACE);
  out.decimal(flags);
  out.byte(SPACE);
  out.decimal(nvalue);
  out.byte(SPACE);
  out.u64(cas);
  out.crlf();
}
