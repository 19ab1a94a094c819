// The host's mirror of assembly/layout.ts: item header offsets, flag bits, scratch slots and the
// exports' option bits, as constants the JIT can fold. checkLayout compares them with the
// module's exported values at every instantiation, so a module and a host that disagree never
// serve a request.

import { HOLD_MAX } from '../../engine/types.ts';

export const IT_TIME = 12;
export const IT_EXPTIME = 16;
export const IT_NBYTES = 20; // value length + 2 (memcached stores the CRLF)
export const IT_REFCOUNT = 28;
export const IT_FLAGS = 30; // u16 bits below
export const IT_CLSID = 32;
export const IT_NKEY = 34;
export const IT_CHAIN = 36;
export const IT_NTOTAL = 40; // memcached's ITEM_ntotal
export const IT_HEADER = 48;
export const CAS_SIZE = 8;
export const CHUNK_LINK = 8;

export const ITEM_LINKED = 1;
export const ITEM_CAS = 2;
export const ITEM_FETCHED = 8;
export const ITEM_CHAINED = 32;
export const ITEM_CFLAGS = 64;
export const ITEM_STALE = 128;
export const ITEM_TOKEN_SENT = 256;
export const ITEM_KEY_BINARY = 512;

export const IO_KEY = 0;
export const IO_CAS_IN = 256;
export const IO_CAS_OUT = 264;
export const IO_DELTA = 272;
export const IO_INITIAL = 280;
export const IO_VALUE = 288;
export const IO_ITEM = 320; // u32: an item handed to the host (arithmetic with hold)
export const IO_CREATED = 324; // u32: 1 when the operation made the item
export const KEY_MAX = 250;
// itemGetMany's records (assembly/layout.ts): MANY_MAX of MANY_RECORD bytes at IO_MANY, their
// keys at IO_MANY_KEYS, MANY_KEY_STRIDE apart.
export const IO_MANY = 512;
export const IO_MANY_KEYS = 1792;
export const MANY_MAX = 32;
export const MANY_RECORD = 40;
export const MANY_KEY_STRIDE = 256;
export const MANY_NKEY = 0;
export const MANY_KEY = 0;
export const MANY_ITEM = 4;
export const MANY_HELD = 8;
export const MANY_FLAGS = 12;
export const MANY_VALUE = 16;
export const MANY_NVALUE = 20;
export const MANY_CAS = 24;
export const MANY_TEXT_END = 32;
export const MANY_IN_TABLE = 0;
export const MANY_HELD_ITEM = 1;
export const MANY_WRITTEN = 2;
// itemGetMany's text options, and where the text goes: TEXT_SIZE bytes at IO_TEXT.
export const MANY_TEXT = 1;
export const MANY_TEXT_CAS = 2;
export const MANY_TEXT_END_EACH = 4;
export const IO_TEXT = 9984;
export const TEXT_SIZE = 65536;
export const COLD_LRU = 2; // the LRU segment stats cachedump lists

// Option bits of itemGet, itemRemove, itemMark and itemStoreOp (assembly/index.ts).
export const GET_NO_BUMP = 1;
export const GET_COUNT_TOUCH = 2;
export const GET_COUNT_NONE = 4;
export const GET_VIVIFY = 8;
export const GET_NO_HOLD = 16;
export const GET_META = 32;
export const REMOVE_COMPARE_CAS = 1;
export const REMOVE_INVALIDATE = 2;
export const REMOVE_SET_EXPTIME = 4;
export const MARK_WIN_SENT = 1;
export const MARK_KEY_BINARY = 2;
export const STORE_INVALIDATE = 1;

export const CLASS_STATS = 24;
export const GLOBAL_STATS = 16;

const MIRRORED: Record<string, number> = {
  IT_TIME, IT_EXPTIME, IT_NBYTES, IT_REFCOUNT, IT_FLAGS, IT_CLSID, IT_NKEY, IT_CHAIN, IT_NTOTAL,
  IT_HEADER, CAS_SIZE, CHUNK_LINK, ITEM_LINKED, ITEM_CAS, ITEM_FETCHED, ITEM_CHAINED, ITEM_CFLAGS,
  ITEM_STALE, ITEM_TOKEN_SENT, ITEM_KEY_BINARY, IO_KEY, IO_CAS_IN, IO_CAS_OUT, IO_DELTA,
  IO_INITIAL, IO_VALUE, IO_ITEM, IO_CREATED, KEY_MAX, COLD_LRU, CLASS_STATS, GLOBAL_STATS, IO_MANY,
  IO_MANY_KEYS, MANY_MAX, MANY_RECORD, MANY_KEY_STRIDE, MANY_NKEY, MANY_KEY, MANY_ITEM, MANY_HELD, MANY_FLAGS,
  MANY_VALUE, MANY_NVALUE, MANY_CAS, MANY_TEXT_END, MANY_IN_TABLE, MANY_HELD_ITEM, MANY_WRITTEN, MANY_TEXT, MANY_TEXT_CAS,
  MANY_TEXT_END_EACH, IO_TEXT, TEXT_SIZE,
  GET_NO_BUMP, GET_COUNT_TOUCH, GET_COUNT_NONE, GET_VIVIFY, GET_NO_HOLD, REMOVE_COMPARE_CAS, REMOVE_INVALIDATE,
  REMOVE_SET_EXPTIME, MARK_WIN_SENT, MARK_KEY_BINARY, STORE_INVALIDATE,
  // memcached's limited_get bound, shared with the ts engine (src/engine/types.ts).
  HOLD_MAX,
};

/** Throws when the module's layout differs from this mirror (a stale or mismatched build). */
export function checkLayout(exports: WebAssembly.Exports): void {
  for (const [name, value] of Object.entries(MIRRORED)) {
    const global = exports[name];
    const actual = global instanceof WebAssembly.Global ? Number(global.value) : undefined;
    if (actual !== value) throw new Error(`wasm layout mismatch: ${name} is ${actual} in the module, ${value} in the host`);
  }
}
