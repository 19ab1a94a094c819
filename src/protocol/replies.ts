// memcached's error lines that the text and meta commands share (proto_text.c), named once.

/** A command line whose arguments memcached cannot read. */
export const BAD_FORMAT = 'CLIENT_ERROR bad command line format';
export const TOO_LARGE = 'SERVER_ERROR object too large for cache';
export const NO_MEMORY = 'SERVER_ERROR out of memory storing object';
export const BAD_DATA_CHUNK = 'CLIENT_ERROR bad data chunk';
export const NON_NUMERIC = 'CLIENT_ERROR cannot increment or decrement non-numeric value';
/** incr/decr that needed memory for a longer result and found none. */
export const ARITH_NO_MEMORY = 'SERVER_ERROR out of memory';
