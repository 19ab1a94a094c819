// Engine status codes and store operations; cf. memcached's engine.h (ENGINE_ERROR_CODE,
// ENGINE_STORE_OPERATION). The numeric values are engine.h's, so they can cross the WASM
// boundary and be logged as memcached's engine branch logged them.

export const Status = {
  SUCCESS: 0x00,
  /** The key does not exist (or has expired, or was flushed). */
  KEY_ENOENT: 0x01,
  /** The key exists (add), or its CAS differs (cas, remove with cas, arithmetic with cas). */
  KEY_EEXISTS: 0x02,
  /** No memory could be found or freed for the item. */
  ENOMEM: 0x03,
  /** The item was not stored (add on a live key, replace/append/prepend on a missing one). */
  NOT_STORED: 0x04,
  /** Invalid arguments, e.g. incr/decr on a value that is not a decimal number. */
  EINVAL: 0x05,
  /** The engine does not support this (also: unknown interface version, unknown stats group). */
  ENOTSUP: 0x06,
  /** The operation would block; engines here return a Promise instead, this stays for parity. */
  EWOULDBLOCK: 0x07,
  /** The item is larger than the engine's item size limit. */
  E2BIG: 0x08,
  WANT_MORE: 0x09,
  DISCONNECT: 0x0a,
  EACCESS: 0x0b,
  NOT_MY_VBUCKET: 0x0c,
  TMPFAIL: 0x0d,
  ERANGE: 0x0e,
  FAILED: 0xff,
} as const;

export type Status = (typeof Status)[keyof typeof Status];

export function statusName(status: number): string {
  for (const [name, value] of Object.entries(Status)) if (value === status) return name;
  return `0x${status.toString(16)}`;
}

/** How store() treats an existing item; cf. ENGINE_STORE_OPERATION. */
export const StoreOperation = {
  ADD: 1,
  SET: 2,
  REPLACE: 3,
  APPEND: 4,
  PREPEND: 5,
  CAS: 6,
} as const;

export type StoreOperation = (typeof StoreOperation)[keyof typeof StoreOperation];
