// The binary protocol against the real memcached (protocol_binary.txt, and memcached 1.6's
// proto_bin.c where it decides more than the document says): every opcode, loud and quiet, hits,
// misses and errors, malformed packets and memcached's ways of swallowing bodies. Most sessions run
// on `-B binary`; the "negotiation" ones on the default, where a connection's first byte (0x80)
// selects binary. Replies are compared packet by packet; see oracle.ts (normaliseBinary).
import { test } from 'uvu';
import { concat, deltaExtras, exptimeExtras, request, storeExtras } from './binary-packets.ts';
import type { Bytes, OpcodeName } from './binary-packets.ts';
import { expectClose, sessionTest, sleep, split, waitFor, waitPackets, waitStatsEnd } from './oracle.ts';
import type { SessionOptions, Step } from './oracle.ts';

const session = sessionTest(test);
const BINARY = ['-B', 'binary'];

/** A session on a `-B binary` server, with `flags` after that. */
function binary(name: string, steps: readonly Step[], flags: readonly string[] = [], options: SessionOptions = {}): void {
  session(name, steps, [...BINARY, ...flags], { protocol: 'binary', ...options });
}

/** A session on a server that negotiates the protocol from each connection's first byte. */
function negotiated(name: string, steps: readonly Step[], flags: readonly string[] = []): void {
  session(name, steps, flags);
}

// Each packet gets the next opaque unless told, so every reply line says which request it answers.
let nextOpaque = 1;
const opaque = (given?: number): number => given ?? nextOpaque++;

interface Common {
  opaque?: number;
  cas?: bigint;
}

type GetOpcode = 'GET' | 'GETQ' | 'GETK' | 'GETKQ';
type StoreOpcode = 'SET' | 'SETQ' | 'ADD' | 'ADDQ' | 'REPLACE' | 'REPLACEQ';
type ConcatOpcode = 'APPEND' | 'APPENDQ' | 'PREPEND' | 'PREPENDQ';
type DeltaOpcode = 'INCREMENT' | 'INCREMENTQ' | 'DECREMENT' | 'DECREMENTQ';
type TouchOpcode = 'TOUCH' | 'GAT' | 'GATQ' | 'GATK' | 'GATKQ';

const get = (key: Bytes, op: GetOpcode = 'GET', c: Common = {}): Uint8Array =>
  request({ opcode: op, key, opaque: opaque(c.opaque), cas: c.cas });

interface StoreOptions extends Common {
  flags?: number;
  exptime?: number;
}
const store = (op: StoreOpcode, key: Bytes, value: Bytes, o: StoreOptions = {}): Uint8Array =>
  request({ opcode: op, key, value, extras: storeExtras(o.flags ?? 0, o.exptime ?? 0), opaque: opaque(o.opaque), cas: o.cas });
const set = (key: Bytes, value: Bytes, o: StoreOptions = {}): Uint8Array => store('SET', key, value, o);
const add = (key: Bytes, value: Bytes, flags: number, c: Common = {}): Uint8Array => store('ADD', key, value, { flags, ...c });

const concatenate = (op: ConcatOpcode, key: Bytes, value: Bytes, c: Common = {}): Uint8Array =>
  request({ opcode: op, key, value, opaque: opaque(c.opaque), cas: c.cas });

const del = (key: Bytes, op: 'DELETE' | 'DELETEQ' = 'DELETE', c: Common = {}): Uint8Array =>
  request({ opcode: op, key, opaque: opaque(c.opaque), cas: c.cas });

const NO_CREATE = 0xffffffff;
const delta = (op: DeltaOpcode, key: Bytes, by: bigint, initial = 0n, exptime = 0, c: Common = {}): Uint8Array =>
  request({ opcode: op, key, extras: deltaExtras(by, initial, exptime), opaque: opaque(c.opaque), cas: c.cas });

const touch = (op: TouchOpcode, key: Bytes, exptime: number, c: Common = {}): Uint8Array =>
  request({ opcode: op, key, extras: exptimeExtras(exptime), opaque: opaque(c.opaque), cas: c.cas });

/** A packet with no extras, key or value: noop, version, quit, flush without a delay, stat of everything. */
const bare = (op: OpcodeName, c: Common = {}): Uint8Array => request({ opcode: op, opaque: opaque(c.opaque), cas: c.cas });
const noop = (c: Common = {}): Uint8Array => bare('NOOP', c);
const stat = (group = ''): Uint8Array => request({ opcode: 'STAT', key: group, opaque: opaque() });
const flush = (op: 'FLUSH' | 'FLUSHQ' = 'FLUSH', delay?: number): Uint8Array =>
  request({ opcode: op, extras: delay === undefined ? '' : exptimeExtras(delay), opaque: opaque() });

const KEY_250 = 'k'.repeat(250);
const KEY_251 = 'k'.repeat(251);
const ALL_BYTES = Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('');
const ITEM_MAX = 1024 * 1024;
// ntotal = 48-byte header + 8 CAS + key + 1 + value + 2, and 4 more for non-zero flags; so a
// 3-byte key with flags 0 leaves ITEM_MAX - 62 bytes for the value (as in differential-text).
const LARGEST_VALUE = ITEM_MAX - 62;

// ---------------------------------------------------------------------------------------------
// Get, GetQ, GetK, GetKQ

binary('get and getk: misses, then hits with flags, key and cas', [
  get('a'),
  get('a', 'GETK'),
  set('a', 'alpha', { flags: 0xdeadbeef }),
  get('a'),
  get('a', 'GETK'),
  set('a', 'alpha2'),
  get('a'),
  get('a', 'GETK', { cas: 12345n }),
]);

binary('getq and getkq: silent on a miss, answered on a hit; noop ends the batch', [
  set('a', 'alpha', { flags: 7 }),
  concat(get('nope', 'GETQ'), get('a', 'GETQ'), get('nope', 'GETKQ'), get('a', 'GETKQ'), noop()),
  get('nope', 'GETQ'),
  get('nope', 'GETKQ'),
  noop(),
]);

binary('pipelined getkq batches: 100 keys, every third a hit, each batch ended by a noop', [
  concat(...Array.from({ length: 34 }, (_, i) => store('SETQ', `key:${i * 3}`, `value ${i * 3}`, { flags: i }))),
  noop(),
  waitPackets(1),
  concat(...Array.from({ length: 100 }, (_, i) => get(`key:${i}`, 'GETKQ')), noop()),
  concat(...Array.from({ length: 50 }, (_, i) => get(`key:${i * 2}`, 'GETQ')), noop(), get('key:0', 'GETK'), noop()),
]);

binary('get: binary values (NUL, CRLF, every byte), empty values, flags at 2^32-1', [
  set('all', ALL_BYTES, { flags: 0xffffffff }),
  set('crlf', '\r\nEND\r\n\x00'),
  set('empty', ''),
  get('all', 'GETK'),
  get('crlf'),
  get('empty', 'GETK'),
  get(ALL_BYTES.slice(33, 127), 'GETK'),
]);

binary('get: keys of 250 bytes work; 251 is invalid arguments and closes', [
  set(KEY_250, 'long'),
  get(KEY_250, 'GETK'),
  get(KEY_250, 'GETKQ'),
  noop(),
  waitPackets(4),
  get(KEY_251),
  expectClose(),
]);

binary('set with a 251-byte key: invalid arguments, closed, the value is never read', [
  set('a', '1'),
  waitPackets(1),
  concat(set(KEY_251, 'v'), get('a')),
  expectClose(),
]);

// ---------------------------------------------------------------------------------------------
// Set, Add, Replace

binary('set, add, replace: stored, exists, not found', [
  add('a', 'one', 1),
  add('a', 'two', 2),
  store('REPLACE', 'b', 'three', { flags: 3 }),
  store('REPLACE', 'a', 'four', { flags: 4 }),
  set('b', 'five', { flags: 5 }),
  set('b', 'six', { flags: 6 }),
  get('a', 'GETK'),
  get('b', 'GETK'),
]);

binary('setq, addq, replaceq: silent when stored, the errors still answered', [
  concat(
    store('SETQ', 'a', '1'),
    store('ADDQ', 'a', '2'),
    store('ADDQ', 'b', '3'),
    store('REPLACEQ', 'c', '4'),
    store('REPLACEQ', 'b', '5'),
    noop(),
  ),
  concat(get('a', 'GETK'), get('b', 'GETK'), get('c', 'GETK')),
]);

binary('set with a cas: match, mismatch, missing key; the cas changes on every store', [
  set('a', 'v1'),
  get('a'),
  set('a', 'v2', { cas: 1n }),
  set('a', 'v3', { cas: 1n }),
  set('a', 'v4', { cas: 99n }),
  set('nope', 'x', { cas: 1n }),
  get('a'),
  store('SETQ', 'a', 'v5', { cas: 2n }),
  store('SETQ', 'a', 'v6', { cas: 2n }),
  noop(),
  get('a'),
]);

binary('add and replace with a cas behave as a cas store', [
  set('a', 'v1'),
  add('a', 'added', 0, { cas: 1n }),
  add('a', 'added', 0, { cas: 7n }),
  add('new', 'x', 0, { cas: 1n }),
  store('REPLACE', 'a', 'replaced', { cas: 1n }),
  store('REPLACE', 'a', 'replaced', { cas: 7n }),
  store('REPLACE', 'nope', 'x', { cas: 1n }),
  get('a', 'GETK'),
  get('new', 'GETK'),
]);

binary('setq batches then noop; a thousand quiet sets read back', [
  concat(...Array.from({ length: 1000 }, (_, i) => store('SETQ', `k${i}`, `v${i}`, { flags: i }))),
  noop(),
  waitPackets(1),
  concat(get('k0', 'GETK'), get('k499', 'GETK'), get('k999', 'GETK'), get('k1000', 'GETK')),
]);

binary('exptime: relative, absolute in the past, 0xffffffff, 2 seconds', [
  set('rel', 'r', { exptime: 100 }),
  set('past', 'p', { exptime: 31 * 86400 }),
  set('never', 'n', { exptime: 0xffffffff }),
  set('short', 's', { exptime: 2 }),
  concat(get('rel', 'GETK'), get('past', 'GETK'), get('never', 'GETK'), get('short', 'GETK')),
  waitPackets(8),
  sleep(2_600),
  concat(get('rel', 'GETK'), get('short', 'GETK')),
]);

// ---------------------------------------------------------------------------------------------
// Large values and the item size limit

binary('values of 500 KB and at the item size limit are stored; one byte more is too large', [
  set('half', 'h'.repeat(500_000), { flags: 5 }),
  waitPackets(1),
  get('half'),
  waitPackets(1),
  set('big', 'x'.repeat(LARGEST_VALUE)),
  waitPackets(1),
  get('big'),
  waitPackets(1),
  set('big', 'y'.repeat(LARGEST_VALUE + 1)),
  waitPackets(1),
  get('big'),
  waitPackets(1),
  set('flg', 'z'.repeat(LARGEST_VALUE - 4), { flags: 1 }),
  waitPackets(1),
  set('flh', 'z'.repeat(LARGEST_VALUE - 3), { flags: 1 }),
  waitPackets(1),
  concat(get('flg', 'GETK'), get('flh', 'GETK')),
]);

binary('a value over the item size: too large, the body swallowed, the old value gone, the connection goes on', [
  set('big', 'small'),
  set('big', 'z'.repeat(2 * ITEM_MAX)),
  get('big'),
  set('after', 'fine'),
  get('after'),
]);

binary('a value over the item size in pieces, with packets inside the swallowed body', [
  set('a', 'kept'),
  waitPackets(1),
  request({ opcode: 'SET', key: 'big', extras: storeExtras(0, 0), bodylen: 8 + 3 + ITEM_MAX + 100, opaque: opaque() }),
  sleep(20),
  concat(...Array.from({ length: 1000 }, () => get('a'))),
  sleep(20),
  'x'.repeat(ITEM_MAX + 100 - 1000 * 25),
  sleep(20),
  get('a'),
]);

binary('appendq over the item size: too large even when quiet, the body swallowed', [
  set('a', 'x'.repeat(ITEM_MAX - 100)),
  concatenate('APPENDQ', 'a', 'y'.repeat(200)),
  concatenate('APPENDQ', 'nope', 'y'.repeat(ITEM_MAX + 1)),
  store('SETQ', 'b', 'y'.repeat(ITEM_MAX + 1)),
  noop(),
  get('a', 'GETKQ'),
  noop(),
]);

binary('-I 2m: a 1.5 MB value is stored, 2.1 MB is too large', [
  set('a', 'y'.repeat(1_500_000)),
  waitPackets(1),
  get('a'),
  waitPackets(1),
  set('b', 'y'.repeat(2_100_000)),
  waitPackets(1),
  get('b'),
], ['-I', '2m']);

// 100 KB values fall in one slab class of ten chunks a 1 MB page, so -m 8 holds 80 of them.
const VALUE_100K = 'v'.repeat(100_000);

binary('-m 8 -M: out of memory statuses instead of evictions for 100 KB sets and setq; small items still fit', [
  ...Array.from({ length: 90 }, (_, i) => set(`k${i}`, VALUE_100K)),
  waitPackets(90),
  concat(get('k0'), get('k79'), get('k80'), store('SETQ', 'k95', VALUE_100K), set('small', 'x'), delta('INCREMENT', 'n', 1n, 5n, 0), noop()),
  waitPackets(7),
  stat('items'),
  waitStatsEnd(),
], ['-m', '8', '-M']);

// ---------------------------------------------------------------------------------------------
// Append, Prepend

binary('append and prepend: hits, misses; flags kept; quiet forms', [
  concatenate('APPEND', 'a', 'x'),
  concatenate('PREPEND', 'a', 'x'),
  set('a', 'middle', { flags: 42 }),
  concatenate('APPEND', 'a', '>>'),
  concatenate('PREPEND', 'a', '<<'),
  get('a', 'GETK'),
  concatenate('APPENDQ', 'a', '!'),
  concatenate('PREPENDQ', 'a', '?'),
  concatenate('APPENDQ', 'nope', '!'),
  concatenate('PREPENDQ', 'nope', '?'),
  noop(),
  get('a', 'GETK'),
  concatenate('APPEND', 'a', ''),
  get('a'),
]);

binary('append and prepend with a cas: match and mismatch', [
  set('a', 'base'),
  concatenate('APPEND', 'a', '+1', { cas: 1n }),
  concatenate('APPEND', 'a', '+2', { cas: 1n }),
  concatenate('PREPEND', 'a', '0-', { cas: 2n }),
  concatenate('PREPENDQ', 'a', 'x', { cas: 99n }),
  noop(),
  get('a'),
]);

binary('append with extras: invalid arguments, closed', [
  set('a', 'base'),
  waitPackets(1),
  request({ opcode: 'APPEND', key: 'a', extras: storeExtras(0, 0), value: 'x', opaque: opaque() }),
  expectClose(),
]);

// ---------------------------------------------------------------------------------------------
// Delete

binary('delete: hit, miss; with a matching and a stale cas; quiet forms', [
  set('a', '1'),
  set('b', '2'),
  set('c', '3'),
  del('a'),
  del('a'),
  del('b', 'DELETE', { cas: 99n }),
  del('b', 'DELETE', { cas: 2n }),
  del('c', 'DELETEQ'),
  del('c', 'DELETEQ'),
  del('nope', 'DELETEQ', { cas: 5n }),
  noop(),
  concat(get('a'), get('b'), get('c')),
]);

binary('delete with extras: invalid arguments, closed', [
  set('a', '1'),
  waitPackets(1),
  request({ opcode: 'DELETE', key: 'a', extras: exptimeExtras(0), opaque: opaque() }),
  expectClose(),
]);

// ---------------------------------------------------------------------------------------------
// Increment, Decrement

binary('incr and decr on a stored number; decr floors at 0; incr wraps at 2^64', [
  set('n', '10', { flags: 3 }),
  delta('INCREMENT', 'n', 5n),
  delta('DECREMENT', 'n', 3n),
  delta('DECREMENT', 'n', 100n),
  get('n'),
  set('big', '18446744073709551615'),
  delta('INCREMENT', 'big', 1n),
  get('big'),
  set('w', '18446744073709551610'),
  delta('INCREMENT', 'w', 10n),
  delta('INCREMENT', 'w', 0xffffffffffffffffn),
  get('w'),
  set('99', '99'),
  delta('INCREMENT', '99', 1n),
  get('99', 'GETK'),
]);


// memcached's binary get, gat and touch keep their item in the response until the responses go
// out: at the end of the read, after an error response or a noop. A decr meanwhile finds the item
// held and makes a new item of the exact length; otherwise it shortens the value in place,
// padded with spaces. A quiet miss sends nothing, so keeps the hold; a hit of another key too.
binary('decr after a get of the same key in one read: a new item while the get holds it', [
  set('a', '1000'),
  concat(get('a'), delta('DECREMENT', 'a', 2n, 0n, NO_CREATE), noop()),
  get('a'),
  set('b', '1000'),
  concat(get('b', 'GETQ'), get('nope'), delta('DECREMENT', 'b', 2n, 0n, NO_CREATE), noop()),
  get('b'),
  set('c', '1000'),
  concat(touch('TOUCH', 'c', 0), get('nope', 'GETQ'), get('b'), delta('DECREMENT', 'c', 2n, 0n, NO_CREATE), noop()),
  get('c'),
  set('d', '1000'),
  concat(touch('GATKQ', 'd', 0), noop(), delta('DECREMENT', 'd', 2n, 0n, NO_CREATE), noop()),
  get('d'),
]);
binary('incr and decr on a miss: created with the initial value and exptime, or not found with 0xffffffff', [
  delta('INCREMENT', 'i', 1n, 42n, 0),
  delta('INCREMENT', 'i', 1n, 42n, 0),
  delta('DECREMENT', 'd', 1n, 7n, 100),
  delta('DECREMENT', 'd', 10n, 7n, 100),
  delta('INCREMENT', 'none', 1n, 5n, NO_CREATE),
  delta('DECREMENT', 'none', 1n, 5n, NO_CREATE),
  get('i', 'GETK'),
  get('d', 'GETK'),
  get('none'),
  delta('INCREMENT', 'max', 1n, 0xffffffffffffffffn, 0),
  get('max'),
]);

binary('incrq and decrq: silent on success, the errors answered', [
  set('n', '5'),
  set('s', 'text'),
  concat(
    delta('INCREMENTQ', 'n', 10n),
    delta('DECREMENTQ', 'n', 1n),
    delta('INCREMENTQ', 'new', 1n, 100n, 0),
    delta('INCREMENTQ', 'none', 1n, 0n, NO_CREATE),
    delta('DECREMENTQ', 's', 1n),
    noop(),
  ),
  concat(get('n'), get('new')),
]);

binary('incr and decr: non-numeric values, numbers with spaces and signs, a value of 20 digits', [
  set('s', 'text'),
  set('sp', ' 5'),
  set('neg', '-5'),
  set('tail', '5 '),
  set('twenty', '99999999999999999999'),
  set('empty', ''),
  delta('INCREMENT', 's', 1n),
  delta('INCREMENT', 'sp', 1n),
  delta('INCREMENT', 'neg', 1n),
  delta('INCREMENT', 'tail', 1n),
  delta('DECREMENT', 'twenty', 1n),
  delta('INCREMENT', 'empty', 1n),
  concat(get('sp'), get('tail')),
]);

binary('incr and decr with a cas: match, mismatch, and the new cas', [
  set('n', '1'),
  delta('INCREMENT', 'n', 1n, 0n, 0, { cas: 1n }),
  delta('INCREMENT', 'n', 1n, 0n, 0, { cas: 1n }),
  delta('DECREMENT', 'n', 1n, 0n, 0, { cas: 2n }),
  delta('INCREMENT', 'miss', 1n, 9n, 0, { cas: 5n }),
  get('n'),
]);

binary('incr with 8 bytes of extras: invalid arguments, closed', [
  set('n', '1'),
  waitPackets(1),
  request({ opcode: 'INCREMENT', key: 'n', extras: storeExtras(0, 1), opaque: opaque() }),
  expectClose(),
]);

// ---------------------------------------------------------------------------------------------
// Quit, Flush, Noop, Version

binary('quit: answered, then the connection closes; later packets are not read', [
  set('a', '1'),
  concat(bare('QUIT'), get('a')),
  expectClose(),
]);

binary('quitq: the connection closes without a reply', [
  set('a', '1'),
  waitPackets(1),
  concat(bare('QUITQ'), get('a')),
  expectClose(),
]);

binary('quit with a body: invalid arguments, closed', [
  request({ opcode: 'QUIT', value: 'x', opaque: opaque() }),
  expectClose(),
]);

binary('flush and flushq: every item gone; flushq silent', [
  set('a', '1'),
  set('b', '2'),
  flush(),
  concat(get('a'), get('b')),
  set('c', '3'),
  flush('FLUSHQ'),
  get('c'),
  set('d', '4'),
  flush('FLUSH', 0),
  get('d'),
]);

binary('flush with a delay: items live until it passes', [
  set('a', '1'),
  waitPackets(1),
  flush('FLUSH', 2),
  waitPackets(1),
  sleep(3_500),
  set('b', '2'),
  concat(get('a', 'GETK'), get('b', 'GETK')),
]);

binary('flush with 8 bytes of extras: invalid arguments, closed', [
  set('a', '1'),
  waitPackets(1),
  request({ opcode: 'FLUSH', extras: storeExtras(0, 0), opaque: opaque() }),
  expectClose(),
]);

binary('flush with a key: invalid arguments, closed', [
  request({ opcode: 'FLUSHQ', key: 'k', opaque: opaque() }),
  expectClose(),
]);

binary('-F: flush and flushq answer auth failure and the connection goes on', [
  set('a', '1'),
  flush(),
  flush('FLUSHQ'),
  flush('FLUSH', 10),
  get('a'),
], ['-F']);

binary('noop and version: opaque echoed, the request cas not', [
  noop({ opaque: 0xfeedface, cas: 77n }),
  bare('VERSION', { opaque: 0x01020304, cas: 5n }),
  concat(noop(), noop(), noop()),
]);

binary('noop with a key: invalid arguments, closed', [
  noop(),
  request({ opcode: 'NOOP', key: 'k', opaque: opaque() }),
  expectClose(),
]);

binary('version with extras: invalid arguments, closed', [
  request({ opcode: 'VERSION', extras: exptimeExtras(1), opaque: opaque() }),
  expectClose(),
]);

// ---------------------------------------------------------------------------------------------
// Stat. Each STAT request is sent after the previous reply has arrived, and a session that ends
// with one waits for its end (so the end marker is not read with it): bytes_read and bytes_written
// count what crossed the socket by the time the command runs.

binary('stat: general statistics after sets, gets, misses, deletes and errors', [
  set('a', '1'),
  waitPackets(1),
  // Too large: memcached counts store_too_large for text and meta stores only.
  set('big', 'z'.repeat(ITEM_MAX + 1)),
  waitPackets(1),
  concat(get('a'), get('nope'), get('nope', 'GETQ')),
  waitPackets(2),
  del('a'),
  waitPackets(1),
  del('a'),
  waitPackets(1),
  delta('INCREMENT', 'nope', 1n, 0n, NO_CREATE),
  waitPackets(1),
  touch('TOUCH', 'nope', 1),
  waitPackets(1),
  set('nope', 'x', { cas: 1n }),
  waitPackets(1),
  stat(),
  waitStatsEnd(),
]);

binary('stat settings, and any key that starts with settings', [
  stat('settings'),
  waitStatsEnd(),
  stat('settingsXYZ'),
  waitStatsEnd(),
], ['-m', '32', '-f', '1.5', '-n', '64', '-c', '500']);

binary('stat items, slabs and sizes after sets in several classes', [
  set('a', 'x'),
  set('b', 'x'.repeat(100)),
  set('c', 'x'.repeat(1000)),
  set('d', 'x'.repeat(60_000)),
  concat(get('a'), get('b'), del('c')),
  waitPackets(7),
  stat('items'),
  waitStatsEnd(),
  stat('slabs'),
  waitStatsEnd(),
  stat('sizes'),
  waitStatsEnd(),
]);

binary('stat items and slabs on an empty server', [stat('items'), waitStatsEnd(), stat('slabs'), waitStatsEnd()]);

binary('stat detail on, dump, off; an unknown detail word is not found', [
  stat('detail on'),
  waitStatsEnd(),
  set('user:1', 'a'),
  set('page:1', 'c'),
  concat(get('user:1'), get('user:2'), del('page:1')),
  waitPackets(5),
  stat('detail dump'),
  waitStatsEnd(),
  stat('detail off'),
  waitStatsEnd(),
  stat('detail maybe'),
  waitStatsEnd(),
]);

binary('stat reset: counters back to zero', [
  set('a', '1'),
  waitPackets(1),
  concat(get('a'), get('b')),
  waitPackets(2),
  stat('reset'),
  waitStatsEnd(),
  stat(),
  waitStatsEnd(),
]);

binary('stat with an unknown group: not found, the connection goes on', [
  stat('nonsense'),
  stat('conns'),
  stat('item'),
  noop(),
]);

binary('stat with extras: invalid arguments, closed', [
  request({ opcode: 'STAT', extras: exptimeExtras(0), opaque: opaque() }),
  expectClose(),
]);

// ---------------------------------------------------------------------------------------------
// Touch, GAT, GATQ, GATK, GATKQ

binary('touch: hit (flags in the extras, no value), miss; the cas unchanged', [
  set('a', 'alpha', { flags: 9 }),
  get('a'),
  touch('TOUCH', 'a', 100),
  touch('TOUCH', 'nope', 100),
  get('a'),
]);

binary('gat and gatk: hits and misses; gatq and gatkq silent on a miss', [
  set('a', 'alpha', { flags: 9 }),
  touch('GAT', 'a', 0),
  touch('GATK', 'a', 100),
  touch('GAT', 'nope', 0),
  touch('GATK', 'nope', 0),
  concat(touch('GATQ', 'a', 0), touch('GATQ', 'nope', 0), touch('GATKQ', 'a', 0), touch('GATKQ', 'nope', 0), noop()),
]);

binary('gat with a 1-second exptime: the item is gone two seconds later', [
  set('a', 'alpha'),
  touch('GAT', 'a', 1),
  waitPackets(2),
  sleep(2_500),
  get('a'),
]);

binary('touch without extras: invalid arguments, closed', [
  set('a', '1'),
  waitPackets(1),
  request({ opcode: 'TOUCH', key: 'a', opaque: opaque() }),
  expectClose(),
]);

binary('gat with 8 bytes of extras: invalid arguments, closed', [
  set('a', '1'),
  waitPackets(1),
  request({ opcode: 'GAT', key: 'a', extras: storeExtras(0, 0), opaque: opaque() }),
  expectClose(),
]);

// ---------------------------------------------------------------------------------------------
// Verbosity, SASL without -S, unknown opcodes: unknown command, and memcached swallows a body.

// VERBOSITY (0x1b) is not dispatched by memcached 1.6: it answers Unknown command and swallows
// `bodylen` bytes counted from after the extras, so 4 bytes of the next packet go with them.
binary('verbosity: unknown command; its swallow eats 4 bytes past its own extras', [
  request({ opcode: 'VERBOSITY', extras: exptimeExtras(1), opaque: opaque() }),
  'JUNK',
  noop(),
  request({ opcode: 'VERBOSITY', opaque: opaque() }),
  noop(),
]);

binary('sasl list mechs, auth and step without -S: unknown command, the value swallowed', [
  bare('SASL_LIST_MECHS'),
  request({ opcode: 'SASL_AUTH', key: 'PLAIN', value: '\x00alice\x00secret', opaque: opaque() }),
  request({ opcode: 'SASL_STEP', key: 'PLAIN', value: 'more', opaque: opaque() }),
  noop(),
]);

binary('sasl auth without a key: invalid arguments, closed', [
  request({ opcode: 'SASL_AUTH', value: '\x00alice\x00secret', opaque: opaque() }),
  expectClose(),
]);

// An unknown opcode swallows `bodylen` bytes after its key: its value, and as many bytes of what
// follows as its extras and key took. The junk after it is eaten; a NOOP after the junk is answered.
binary('an unknown opcode swallows bodylen bytes counted from after its key', [
  request({ opcode: 0x40, key: 'abc', value: 'xyz', opaque: opaque() }),
  'JJJ',
  noop(),
  request({ opcode: 0x40, extras: 'ee', key: 'k', value: 'vv', opaque: opaque() }),
  'JJJ',
  noop(),
]);

// Here the swallow takes the first 4 bytes of a GET, so the next header starts at the GET's extlen
// byte (0x00): a wrong magic, which closes the connection before the Unknown command reply that is
// waiting in the same read is sent.
binary("an unknown opcode's swallow misaligns the next packet: a wrong magic, closed, its own reply unsent", [
  set('a', '1'),
  waitPackets(1),
  concat(request({ opcode: 0x41, key: 'abcd', opaque: opaque() }), get('a'), get('a')),
  expectClose(),
]);

binary('unknown opcodes without a body: answered, the connection goes on', [
  request({ opcode: 0x25, opaque: opaque() }),
  request({ opcode: 0x30, opaque: opaque() }),
  request({ opcode: 0x3d, opaque: opaque() }),
  request({ opcode: 0x83, opaque: opaque() }),
  request({ opcode: 0xff, opaque: opaque() }),
  noop(),
]);

// ---------------------------------------------------------------------------------------------
// Malformed packets

binary('a wrong magic (0x81) on a later packet: closed without a reply', [
  set('a', '1'),
  waitPackets(1),
  request({ opcode: 'GET', key: 'a', magic: 0x81, opaque: opaque() }),
  expectClose(),
]);

// memcached closes at the wrong magic without sending the replies it has queued from the same read.
binary('a wrong magic (0x00) after good packets in the same write: closed, not even those answered', [
  concat(set('a', '1'), get('a'), request({ opcode: 'GET', key: 'a', magic: 0x00, opaque: opaque() }), get('a')),
  expectClose(),
]);

binary('keylen + extlen > bodylen: unknown command, closed', [
  set('a', '1'),
  waitPackets(1),
  request({ opcode: 'GET', key: 'a', bodylen: 0, opaque: opaque() }),
  expectClose(),
]);

binary('extlen > bodylen on a set: unknown command, closed', [
  request({ opcode: 'SET', key: 'a', extras: storeExtras(0, 0), bodylen: 4, opaque: opaque() }),
  'xxxxxxxxxxxxxxxx',
  expectClose(),
]);

binary('get with extras: invalid arguments, closed', [
  set('a', '1'),
  waitPackets(1),
  request({ opcode: 'GET', key: 'a', extras: exptimeExtras(0), opaque: opaque() }),
  expectClose(),
]);

binary('getk without a key but with a body: invalid arguments, closed', [
  request({ opcode: 'GETK', value: 'v', opaque: opaque() }),
  expectClose(),
]);

binary('get with a value after the key: invalid arguments, closed', [
  set('a', '1'),
  waitPackets(1),
  request({ opcode: 'GETQ', key: 'a', value: 'v', opaque: opaque() }),
  expectClose(),
]);

binary('set with 4 bytes of extras: invalid arguments, closed', [
  request({ opcode: 'SET', key: 'a', extras: exptimeExtras(0), value: 'v', opaque: opaque() }),
  expectClose(),
]);

binary('set without a key: invalid arguments, closed', [
  request({ opcode: 'SETQ', extras: storeExtras(0, 0), value: 'v', opaque: opaque() }),
  expectClose(),
]);

binary('a nonzero datatype and vbucket are accepted and not echoed', [
  request({ opcode: 'SET', key: 'a', extras: storeExtras(1, 0), value: 'v', datatype: 1, vbucket: 7, opaque: opaque() }),
  request({ opcode: 'GET', key: 'a', datatype: 0xff, vbucket: 0xffff, opaque: opaque() }),
]);

// ---------------------------------------------------------------------------------------------
// Packets split across TCP writes

const SPLIT_SET = set('split', 'a value in pieces', { flags: 17 });
const SPLIT_GET = get('split', 'GETK');

binary('packets split inside the header, the extras, the key and the value', [
  ...split(
    SPLIT_SET.subarray(0, 1),
    SPLIT_SET.subarray(1, 23),
    SPLIT_SET.subarray(23, 27),
    SPLIT_SET.subarray(27, 34),
    SPLIT_SET.subarray(34, 40),
    SPLIT_SET.subarray(40),
  ),
  ...split(concat(SPLIT_GET, get('split').subarray(0, 12)), get('split').subarray(12)),
]);

binary('a get sent one byte a write', [
  set('a', 'alpha'),
  waitPackets(1),
  ...split(...Array.from(get('a', 'GETK'), (byte) => new Uint8Array([byte]))),
]);

binary('a quiet batch split between packets and mid-header, ended by a noop in its own write', [
  set('a', '1'),
  set('b', '2'),
  waitPackets(2),
  ...split(
    concat(get('a', 'GETKQ'), get('x', 'GETKQ')).subarray(0, 30),
    concat(get('a', 'GETKQ'), get('x', 'GETKQ')).subarray(30),
    get('b', 'GETKQ').subarray(0, 5),
    get('b', 'GETKQ').subarray(5),
    noop(),
  ),
]);

binary('a 300 KB set written in three pieces', [
  ...(() => {
    const packet = set('big', 'b'.repeat(300_000));
    return split(packet.subarray(0, 100_000), packet.subarray(100_000, 200_001), packet.subarray(200_001));
  })(),
  waitPackets(1),
  get('big'),
]);

// ---------------------------------------------------------------------------------------------
// Protocol negotiation (the default -B auto): the first byte of a connection decides.

negotiated('negotiation: a first byte of 0x80 selects binary; flags survive set and get', [
  set('a', 'alpha', { flags: 0x01020304 }),
  store('SET', 'b', 'beta', { flags: 1, exptime: 100 }),
  concat(get('a', 'GETK'), get('b', 'GETK')),
  noop(),
]);

// Nothing happens until a whole 24-byte header has arrived.
negotiated('negotiation: a text command on a binary connection is a wrong magic once 24 bytes are in, closed', [
  set('a', '1'),
  waitPackets(1),
  'get a\r\n',
  sleep(100),
  'get b c d e f g h i\r\n',
  expectClose(),
]);

negotiated('negotiation: a binary packet split after its first byte', [
  ...split(set('a', 'v').subarray(0, 1), set('a', 'v').subarray(1)),
  get('a'),
]);

binary('-B binary: a text command first is a wrong magic once 24 bytes are in, closed without a reply', [
  'version\r\n',
  sleep(100),
  'version\r\nversion\r\nversion\r\n',
  expectClose(),
]);

session('-B ascii: a binary packet is read as a text line', [
  concat(noop(), new Uint8Array(Buffer.from('\r\nversion\r\n', 'latin1'))),
  waitFor('VERSION'),
  'get a\r\n',
], ['-B', 'ascii'], { protocol: 'text' });

// ---------------------------------------------------------------------------------------------
// Flags that change what binary commands answer

binary('-C: cas disabled, every cas is 0 and a cas store never matches', [
  set('a', '1'),
  get('a'),
  set('a', '2', { cas: 1n }),
  delta('INCREMENT', 'a', 1n),
  get('a'),
], ['-C']);

binary('-m 8: the oldest items are evicted', [
  ...Array.from({ length: 120 }, (_, i) => store('SETQ', `k${i}`, VALUE_100K)),
  noop(),
  waitPackets(1),
  concat(get('k0', 'GETK'), get('k39', 'GETK'), get('k40', 'GETK'), get('k119', 'GETK')),
], ['-m', '8']);

test.run();
