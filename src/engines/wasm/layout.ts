// The host's mirror of assembly/layout.ts: item header offsets, flag bits and scratch slots,
// as constants the JIT can fold. checkLayout compares them with the module's exported values
// at every instantiation, so a module and a host that disagree never serve a request.

export const IT_TIME = 12;
export const IT_EXPTIME = 16;
export const IT_NBYTES = 20; // value length + 2 (memcached stores the CRLF)
export const IT_REFCOUNT = 28;
export const IT_FLAGS = 30; // u16 bits below
export const IT_CLSID = 32;
export const IT_NKEY = 34;
export const IT_CHAIN = 36;
export const IT_HEADER = 48;
export const CAS_SIZE = 8;
export const CHUNK_LINK = 8;

export const ITEM_LINKED = 1;
export const ITEM_CAS = 2;
export const ITEM_FETCHED = 8;
export const ITEM_CHAINED = 32;
export const ITEM_CFLAGS = 64;

export const IO_KEY = 0;
export const IO_CAS_IN = 256;
export const IO_CAS_OUT = 264;
export const IO_DELTA = 272;
export const IO_INITIAL = 280;
export const IO_VALUE = 288;
export const KEY_MAX = 250;

export const CLASS_STATS = 24;
export const GLOBAL_STATS = 16;

const MIRRORED: Record<string, number> = {
  IT_TIME, IT_EXPTIME, IT_NBYTES, IT_REFCOUNT, IT_FLAGS, IT_CLSID, IT_NKEY, IT_CHAIN, IT_HEADER,
  CAS_SIZE, CHUNK_LINK, ITEM_LINKED, ITEM_CAS, ITEM_FETCHED, ITEM_CHAINED, ITEM_CFLAGS,
  IO_KEY, IO_CAS_IN, IO_CAS_OUT, IO_DELTA, IO_INITIAL, IO_VALUE, KEY_MAX, CLASS_STATS, GLOBAL_STATS,
};

/** Throws when the module's layout differs from this mirror (a stale or mismatched build). */
export function checkLayout(exports: WebAssembly.Exports): void {
  for (const [name, value] of Object.entries(MIRRORED)) {
    const global = exports[name];
    const actual = global instanceof WebAssembly.Global ? Number(global.value) : undefined;
    if (actual !== value) throw new Error(`wasm layout mismatch: ${name} is ${actual} in the module, ${value} in the host`);
  }
}
