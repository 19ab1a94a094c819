// Base64 keys of the meta commands' b flag, exactly as memcached's base64.c (Jouni Malinen's,
// modified) decodes and encodes them: the decoder skips bytes outside the alphabet, wants a
// multiple of four of the rest, and ends at the first block with padding; the encoder pads.

import type { Output } from '../output.ts';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const PAD = 0x3d; // '='
/** Not in the alphabet: skipped by the decoder (base64.c's 0x80). */
const SKIP = 0x80;

const ENCODE = new Uint8Array(64);
const DECODE = new Uint8Array(256).fill(SKIP);
for (let i = 0; i < 64; i++) {
  ENCODE[i] = ALPHABET.charCodeAt(i);
  DECODE[ALPHABET.charCodeAt(i)] = i;
}
DECODE[PAD] = 0;

/**
 * Decodes src[s, e) into out from index 0 (out may be src itself when s is 0: the output never
 * overtakes the input); returns the length, or 0 when memcached's base64_decode fails.
 */
export function base64Decode(src: Uint8Array, s: number, e: number, out: Uint8Array): number {
  let count = 0;
  for (let i = s; i < e; i++) if (DECODE[src[i]!] !== SKIP) count++;
  if (count === 0 || count % 4 !== 0 || (count / 4) * 3 > out.length) return 0;
  let pos = 0;
  let pad = 0;
  let b0 = 0;
  let b1 = 0;
  let b2 = 0;
  count = 0;
  for (let i = s; i < e; i++) {
    const c = src[i]!;
    const v = DECODE[c]!;
    if (v === SKIP) continue;
    if (c === PAD) pad++;
    if (count === 0) b0 = v;
    else if (count === 1) b1 = v;
    else if (count === 2) b2 = v;
    count++;
    if (count < 4) continue;
    out[pos++] = (b0 << 2) | (b1 >> 4);
    out[pos++] = ((b1 << 4) | (b2 >> 2)) & 0xff;
    out[pos++] = ((b2 << 6) | v) & 0xff;
    count = 0;
    if (pad !== 0) {
      if (pad > 2) return 0; // invalid padding
      pos -= pad;
      break;
    }
  }
  return pos;
}

/** Appends the base64 of src[offset, offset + n), padded, to the reply. */
export function writeBase64(out: Output, src: Uint8Array, offset: number, n: number): void {
  const at = out.reserve(Math.ceil(n / 3) * 4);
  const b = out.buffer;
  let p = at;
  let i = offset;
  const end = offset + n;
  for (; end - i >= 3; i += 3) {
    const x = src[i]!;
    const y = src[i + 1]!;
    const z = src[i + 2]!;
    b[p++] = ENCODE[x >> 2]!;
    b[p++] = ENCODE[((x & 0x03) << 4) | (y >> 4)]!;
    b[p++] = ENCODE[((y & 0x0f) << 2) | (z >> 6)]!;
    b[p++] = ENCODE[z & 0x3f]!;
  }
  if (i < end) {
    const x = src[i]!;
    b[p++] = ENCODE[x >> 2]!;
    if (end - i === 1) {
      b[p++] = ENCODE[(x & 0x03) << 4]!;
      b[p++] = PAD;
    } else {
      const y = src[i + 1]!;
      b[p++] = ENCODE[((x & 0x03) << 4) | (y >> 4)]!;
      b[p++] = ENCODE[(y & 0x0f) << 2]!;
    }
    b[p++] = PAD;
  }
}
