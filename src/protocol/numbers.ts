// Numbers in command lines, read exactly as memcached's util.c reads them (safe_strtoul,
// safe_strtol, safe_strtoull over strtoul/strtol/strtoull): optional leading white space, an
// optional sign, decimal digits, then the end of the token or white space; out of range is an
// error, and a '-' is refused only where the value would wrap ("-0" is a valid 0).
// Never Number() or parseInt, which accept "1e3", "0x10" and " 12 ".

const ZERO = 0x30;
const NINE = 0x39;
const PLUS = 0x2b;
const MINUS = 0x2d;
const U64_MAX = 0xffffffffffffffffn;
const LONG_MAX = 0x7fffffffffffffffn;

/** C's isspace: space, \t \n \v \f \r. */
export function isSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Where the number's digits and sign are in buf[s, e), or undefined when it is not a number. */
interface Scan {
  negative: boolean;
  digitsStart: number;
  digitsEnd: number;
}

const scan: Scan = { negative: false, digitsStart: 0, digitsEnd: 0 };

function scanNumber(buf: Uint8Array, s: number, e: number): Scan | undefined {
  let i = s;
  while (i < e && isSpace(buf[i]!)) i++;
  let negative = false;
  if (i < e && (buf[i] === PLUS || buf[i] === MINUS)) {
    negative = buf[i] === MINUS;
    i++;
  }
  const digitsStart = i;
  while (i < e && buf[i]! >= ZERO && buf[i]! <= NINE) i++;
  if (i === digitsStart) return undefined;
  // strtoul stops at the first non-digit; memcached then requires white space or the end.
  if (i < e && !isSpace(buf[i]!)) return undefined;
  scan.negative = negative;
  scan.digitsStart = digitsStart;
  scan.digitsEnd = i;
  return scan;
}

/** Digits as a bigint, or -1n when beyond 2^64 - 1 (strtoull's ERANGE). */
function digitsU64(buf: Uint8Array, s: number, e: number): bigint {
  while (s < e - 1 && buf[s] === ZERO) s++;
  if (e - s > 20) return -1n;
  if (e - s <= 15) {
    let n = 0;
    for (let i = s; i < e; i++) n = n * 10 + (buf[i]! - ZERO);
    return BigInt(n);
  }
  let n = 0n;
  for (let i = s; i < e; i++) n = n * 10n + BigInt(buf[i]! - ZERO);
  return n > U64_MAX ? -1n : n;
}

/**
 * safe_strtoull: a u64, or -1n when invalid. A '-' wraps as in C ("-1" is 2^64-1) and is then
 * refused when the result looks negative as an int64, as memcached refuses it.
 */
export function parseU64(buf: Uint8Array, s: number, e: number): bigint {
  const found = scanNumber(buf, s, e);
  if (found === undefined) return -1n;
  let n = digitsU64(buf, found.digitsStart, found.digitsEnd);
  if (n < 0n) return -1n;
  if (found.negative) n = (U64_MAX + 1n - n) & U64_MAX;
  if (found.negative && n >= 0x8000000000000000n) return -1n;
  return n;
}

/**
 * safe_strtoul (client flags, stats arguments): strtoul reads an unsigned long (64 bits) and
 * memcached stores it in a uint32_t, so a larger number wraps (4294967297 is 1), as it does in
 * memcached 1.6. -1 when invalid.
 */
export function parseU32(buf: Uint8Array, s: number, e: number): number {
  const found = scanNumber(buf, s, e);
  if (found === undefined) return -1;
  if (!found.negative) {
    // Up to 15 digits is exact as a double: no bigint (every store's flags come this way).
    let i = found.digitsStart;
    const end = found.digitsEnd;
    while (i < end - 1 && buf[i] === ZERO) i++;
    if (end - i <= 15) {
      let n = 0;
      for (; i < end; i++) n = n * 10 + (buf[i]! - ZERO);
      return n % 0x100000000;
    }
  }
  const n = parseU64(buf, s, e);
  if (n < 0n) return -1;
  return Number(n & 0xffffffffn);
}

/**
 * safe_strtol (exptime, value length, delay): strtol's 64-bit long (ERANGE beyond it), stored by
 * memcached 1.6 into an int32 with no range check, so "4294967396" is 100. NaN when invalid.
 */
export function parseI32(buf: Uint8Array, s: number, e: number): number {
  const found = scanNumber(buf, s, e);
  if (found === undefined) return NaN;
  const { digitsStart, digitsEnd, negative } = found;
  let i = digitsStart;
  while (i < digitsEnd - 1 && buf[i] === ZERO) i++;
  if (digitsEnd - i <= 9) {
    let n = 0;
    for (; i < digitsEnd; i++) n = n * 10 + (buf[i]! - ZERO);
    return negative ? -n | 0 : n;
  }
  if (digitsEnd - i > 19) return NaN;
  let n = 0n;
  for (; i < digitsEnd; i++) n = n * 10n + BigInt(buf[i]! - ZERO);
  if (n > (negative ? LONG_MAX + 1n : LONG_MAX)) return NaN; // ERANGE
  return Number(BigInt.asIntN(32, negative ? -n : n));
}
