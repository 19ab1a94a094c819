// The meta commands' part of a request (protocol.txt "Meta Commands"): which flags were given,
// in what order (replies list returned flags in request order), and the flags' tokens, read as
// memcached's _meta_flag_preparse reads them.

import { StoreOperation } from '../../engine/status.ts';

/** The flags, by letter: a flag is one character, maybe followed by its token. */
export const MetaFlag = {
  BASE64: 0x62, // b: the key is base64
  RETURN_CAS: 0x63, // c
  RETURN_FLAGS: 0x66, // f
  RETURN_HIT: 0x68, // h: hit before, 0 or 1
  RETURN_KEY: 0x6b, // k
  RETURN_LAST_ACCESS: 0x6c, // l: seconds since the last access
  QUIET: 0x71, // q: noreply semantics for the nominal reply
  RETURN_SIZE: 0x73, // s
  RETURN_TTL: 0x74, // t: seconds left, -1 for none
  NO_BUMP: 0x75, // u
  RETURN_VALUE: 0x76, // v
  COMPARE_CAS: 0x43, // C(token)
  DELTA: 0x44, // D(token): ma delta
  CLIENT_FLAGS: 0x46, // F(token)
  INVALIDATE: 0x49, // I
  INITIAL: 0x4a, // J(token): ma initial value
  PROXY_HINT: 0x4c, // L(token): ignored
  MODE: 0x4d, // M(token): one mode character
  VIVIFY: 0x4e, // N(token): vivify on a miss with this TTL
  OPAQUE: 0x4f, // O(token): echoed back
  PROXY_PATH: 0x50, // P(token): ignored
  RECACHE: 0x52, // R(token): win a recache when the TTL left is below this
  SET_TTL: 0x54, // T(token)
} as const;

/** memcached's MFLAG_MAX_OPAQUE_LENGTH: the longest O token, 'O' included. */
export const OPAQUE_MAX = 32;
/** Room for every flag of a line (the tokenizer gives at most 23 tokens). */
const FLAGS_MAX = 24;
const KEY_MAX = 250;

export interface MetaRequest {
  /** Each flag's letter (its token's first byte), in request order. */
  flags: Uint8Array;
  flagCount: number;
  /** Which letters were given: bit (letter - 'A') of `upper`, bit (letter - 'a') of `lower`. */
  upper: number;
  lower: number;
  /** The O token, 'O' included (replies echo it whole), copied: ms replies after the value. */
  opaque: Uint8Array;
  opaqueLength: number;
  /**
   * The O token is longer than OPAQUE_MAX. md and ms fail at parse; mg and ma fail where their
   * reply meets the token, after the lookup has had its effects, as memcached does.
   */
  opaqueTooLong: boolean;
  /** With b, `Request.key` is a view of the decoded bytes here. */
  keyBuffer: Uint8Array;
  /** C(token), and whether C was given (C0 compares too). */
  cas: bigint;
  hasCas: boolean;
  /** F(token): u32 client flags (strtoul, then truncated to 32 bits, as memcached stores it). */
  clientFlags: number;
  /** T, N, R tokens as protocol exptimes (int32). */
  ttl: number;
  vivifyTtl: number;
  recacheTtl: number;
  /** M(token)'s character, 0 when absent. */
  mode: number;
  /** ms: the store the mode asks for (a CAS when C is given to a set or replace). */
  operation: StoreOperation;
  /** ma: incr (modes I +, the default) or decr (D -); D(token) delta (1) and J(token) initial (0). */
  incr: boolean;
  delta: bigint;
  initial: bigint;
}

export function createMetaRequest(): MetaRequest {
  return {
    flags: new Uint8Array(FLAGS_MAX),
    flagCount: 0,
    upper: 0,
    lower: 0,
    opaque: new Uint8Array(OPAQUE_MAX),
    opaqueLength: 0,
    opaqueTooLong: false,
    keyBuffer: new Uint8Array(KEY_MAX),
    cas: 0n,
    hasCas: false,
    clientFlags: 0,
    ttl: 0,
    vivifyTtl: 0,
    recacheTtl: 0,
    mode: 0,
    operation: StoreOperation.SET,
    incr: true,
    delta: 1n,
    initial: 0n,
  };
}

/** Back to no flags (the parser calls it before each meta command). */
export function resetMetaRequest(m: MetaRequest): void {
  m.flagCount = 0;
  m.upper = 0;
  m.lower = 0;
  m.opaqueLength = 0;
  m.opaqueTooLong = false;
  m.cas = 0n;
  m.hasCas = false;
  m.clientFlags = 0;
  m.ttl = 0;
  m.vivifyTtl = 0;
  m.recacheTtl = 0;
  m.mode = 0;
  m.operation = StoreOperation.SET;
  m.incr = true;
  m.delta = 1n;
  m.initial = 0n;
}

const UPPER_A = 0x41;
const LOWER_A = 0x61;

/** Whether flag `letter` (a MetaFlag) was given. */
export function hasFlag(m: MetaRequest, letter: number): boolean {
  return letter >= LOWER_A ? (m.lower & (1 << (letter - LOWER_A))) !== 0 : (m.upper & (1 << (letter - UPPER_A))) !== 0;
}
