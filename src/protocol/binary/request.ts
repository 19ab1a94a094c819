// The binary protocol's part of a Request (../request.ts): the header facts the process step
// needs after parsing, and why a request is refused. No imports from the request model, which
// embeds this.

/** Why a request is not executed (checked in this order after authentication). */
export const BinaryError = {
  NONE: 0,
  /** keylen or keylen + extlen beyond bodylen: Unknown command, then close. */
  LENGTHS: 1,
  /** A key over KEY_MAX_LENGTH: Invalid arguments, then close. */
  KEY_TOO_LONG: 2,
  /** The opcode's extras/key/body lengths are wrong: Invalid arguments, then close. */
  PROTOCOL: 3,
  /** An opcode memcached does not answer: Unknown command, then `bodylen` bytes swallowed. */
  UNKNOWN: 4,
} as const;
export type BinaryError = (typeof BinaryError)[keyof typeof BinaryError];

/** memcached's MAX_SASL_MECH_LEN. */
export const SASL_MECH_MAX = 32;

/** The binary protocol's part of a request. */
export interface BinaryRequest {
  opcode: number;
  opaque: number;
  error: BinaryError;
  /** getk/gatk and their quiet forms: the key is returned. */
  returnKey: boolean;
  /** incr/decr: the value of a created item, and whether a missing item is created. */
  initial: bigint;
  create: boolean;
  /** Bytes of the body after extras and key: a store's value, SASL data. */
  valueBytes: number;
  /** The request's bodylen, for the swallows memcached computes from it. */
  bodylen: number;
}

export function createBinaryRequest(): BinaryRequest {
  return { opcode: 0, opaque: 0, error: BinaryError.NONE, returnKey: false, initial: 0n, create: false, valueBytes: 0, bodylen: 0 };
}
