// incr/decr on a value's bytes: the parse memcached does with safe_strtoull (util.c) and the u64
// arithmetic of do_add_delta (memcached.c), in BigInt.

const U64_MAX = (1n << 64n) - 1n;
const I64_SIGN = 1n << 63n;
const DIGIT_0 = 0x30;
const DIGIT_9 = 0x39;
const PLUS = 0x2b;
const MINUS = 0x2d;
const SPACE = 0x20;
const NUL = 0x00;

/** C isspace in the C locale: space, \t, \n, \v, \f, \r. */
function isSpace(byte: number): boolean {
  return byte === SPACE || (byte >= 0x09 && byte <= 0x0d);
}

/**
 * The value as strtoull reads it: white space, an optional sign, at least one digit, then white
 * space, a NUL (where C's string ends) or the end. null when that fails, on u64 overflow, or when a '-' was read and the
 * (negated, wrapped) result is >= 2^63, as safe_strtoull rejects it; so "-0" is 0.
 */
export function parseU64(bytes: Uint8Array): bigint | null {
  let at = 0;
  while (at < bytes.length && isSpace(bytes[at]!)) at++;
  let negative = false;
  if (at < bytes.length && (bytes[at] === PLUS || bytes[at] === MINUS)) {
    negative = bytes[at] === MINUS;
    at++;
  }
  const digitsStart = at;
  let magnitude = 0n;
  while (at < bytes.length && bytes[at]! >= DIGIT_0 && bytes[at]! <= DIGIT_9) {
    magnitude = magnitude * 10n + BigInt(bytes[at]! - DIGIT_0);
    if (magnitude > U64_MAX) return null;
    at++;
  }
  if (at === digitsStart) return null;
  if (at < bytes.length && !isSpace(bytes[at]!) && bytes[at] !== NUL) return null;
  const value = negative ? (U64_MAX + 1n - magnitude) & U64_MAX : magnitude;
  if (negative && value >= I64_SIGN) return null;
  return value;
}

/** incr wraps at 2^64; decr floors at 0. */
export function applyDelta(value: bigint, incr: boolean, delta: bigint): bigint {
  if (incr) return (value + delta) & U64_MAX;
  return delta > value ? 0n : value - delta;
}

/** A u64 in decimal ASCII, as snprintf("%llu") writes it. */
export function decimalBytes(value: bigint): Uint8Array {
  const text = value.toString();
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

/** Writes `digits` over the start of `value` and pads the rest with spaces (in-place incr/decr). */
export function writePadded(value: Uint8Array, digits: Uint8Array): void {
  value.set(digits);
  value.fill(SPACE, digits.length);
}
