// The text protocol against the real memcached: each session's raw bytes go to a fresh memcached
// and a fresh wasmcached, and the replies must be byte-for-byte equal (see oracle.ts for what is
// masked and why). Sections refer to memcached's doc/protocol.txt.
import { test } from 'uvu';
import { expectClose, sessionTest, sleep, split, waitFor, waitLines, type Step } from './oracle.ts';

const session = sessionTest(test);

interface StoreOptions {
  flags?: number | string;
  exptime?: number | string;
  /** What follows <bytes> on the command line: a cas unique, noreply, or both. */
  rest?: string;
}

/** "Storage commands": `<command> <key> <flags> <exptime> <bytes> [rest]\r\n<data block>\r\n`. */
function store(command: string, key: string, value: string, { flags = 0, exptime = 0, rest = '' }: StoreOptions = {}): string {
  return `${command} ${key} ${flags} ${exptime} ${value.length}${rest ? ` ${rest}` : ''}\r\n${value}\r\n`;
}
const set = (key: string, value: string, options?: StoreOptions): string => store('set', key, value, options);

const KEY_250 = 'k'.repeat(250);
const KEY_251 = 'k'.repeat(251);

// ---------------------------------------------------------------------------------------------
// "Retrieval command" and "Get And Touch"

session('get: hits and misses, one key and many, repeated keys', [
  set('a', 'alpha'),
  set('b', 'beta', { flags: 7 }),
  'get a\r\n',
  'get nope\r\n',
  'get a nope b\r\n',
  'get nope1 nope2\r\n',
  'get b a b a\r\n',
  'get\r\n',
]);

session('gets: CAS uniques count from 1 and change on every store', [
  set('a', '1'),
  set('b', '2'),
  'gets a b nope\r\n',
  set('a', '3'),
  'gets a\r\n',
  'get a\r\n',
  'gets\r\n',
]);

session('get: 100 keys in one command, hits and misses mixed', [
  ...Array.from({ length: 50 }, (_, i) => set(`key:${i * 2}`, `value ${i * 2}`, { flags: i })),
  `get ${Array.from({ length: 100 }, (_, i) => `key:${i}`).join(' ')}\r\n`,
  `gets ${Array.from({ length: 100 }, (_, i) => `key:${99 - i}`).join(' ')}\r\n`,
]);

// Values of 4 KB and more go out by reference; the server asks the engine 32 keys at a time.
session('get: 70 keys, short values and long ones mixed, and the counts', [
  ...Array.from({ length: 60 }, (_, i) => set(`k${i}`, i % 3 === 0 ? `${'L'.repeat(5000)}${i}` : `s${i}`, { flags: i * 1000 })),
  `get ${Array.from({ length: 70 }, (_, i) => `k${(i * 7) % 71}`).join(' ')}\r\n`,
  waitFor('END\r\n'),
  `gets ${Array.from({ length: 70 }, (_, i) => `k${69 - i}`).join(' ')}\r\n`,
  // Each wait takes one END: stats goes out only once both replies are in.
  waitFor('END\r\n'),
  'stats\r\n',
  waitFor('END\r\n'),
  'stats items\r\n',
]);

// A pipelining client's gets arrive many to a read; wasmcached answers such a run with one engine
// call, each get with its own END, and -R (20 commands an event) cuts the run of 38.
const PIPELINED_GETS = ['get a', 'get nope', 'get big', 'get b', 'get big', 'get a b', 'get a', 'get  a', 'get big', 'gets a', ...Array(28).fill('get a')];
session('get: 38 pipelined in one write, one key a line, long values among them, and the counts', [
  set('a', 'alpha'),
  set('b', 'beta', { flags: 9 }),
  set('big', `${'L'.repeat(6000)}!`, { flags: 3 }),
  waitLines(3),
  PIPELINED_GETS.map((line) => `${line}\r\n`).join(''),
  ...PIPELINED_GETS.map(() => waitFor('END\r\n')),
  'stats\r\n',
  // An explicit wait, so that no end marker follows the stats into the same read (bytes_read).
  waitFor('END\r\n'),
]);

session('get: values over 512 KB (chained items) among small ones', [
  set('small', 's'),
  set('big', `${'0123456789'.repeat(60_000)}end`),
  'get small big small\r\n',
  store('append', 'big', '+'),
  store('prepend', 'big', '-'),
  'gets big\r\n',
]);

// Past 1 MB of waiting replies wasmcached sends even short values by reference (held items).
session('get: a reply of 2.6 MB, short values repeated, and the counts', [
  set('a', 'A'.repeat(4000)),
  set('b', 'b', { flags: 5 }),
  `get ${Array.from({ length: 640 }, (_, i) => (i % 3 === 2 ? 'b nope' : 'a')).join(' ')}\r\n`,
  waitFor('END\r\n'),
  'stats\r\n',
  waitFor('END\r\n'),
]);

session('get: a line over 2048 bytes of keys', [
  ...Array.from({ length: 10 }, (_, i) => set(`${'p'.repeat(200)}${i}`, `v${i}`)),
  `get ${Array.from({ length: 30 }, (_, i) => `${'p'.repeat(200)}${i % 12}`).join(' ')}\r\n`,
]);

session('gat and gats: hit, miss, many keys, CAS unchanged by the touch', [
  set('a', 'alpha', { flags: 3 }),
  set('b', 'beta'),
  'gat 0 a\r\n',
  'gats 100 a b nope\r\n',
  'gats 0 nope\r\n',
  'gets a b\r\n',
]);

session('gat and gats: missing and bad arguments', [
  set('a', 'alpha'),
  'gat\r\n',
  'gat 10\r\n',
  'gats 10\r\n',
  'gat abc a\r\n',
  'gat -1a a\r\n',
  'gat 1.5 a\r\n',
  'get a\r\n',
]);

session('gat with a negative exptime returns the item, which is then expired', [
  set('a', 'alpha'),
  'gat -1 a\r\n',
  'get a\r\n',
]);

// A key over 250 bytes in a retrieval command drops the replies memcached has queued and not yet
// sent (proto_text.c process_get_command, "Kill any stacked responses"), which depends on how the
// input was split into reads; so each such command goes alone, once the replies before it are in.
session('get: keys of 250 and 251 bytes', [
  set(KEY_250, 'long'),
  `get ${KEY_250}\r\n`,
  `gets ${KEY_250}\r\n`,
  `gat 0 ${KEY_250}\r\n`,
  `gats 0 ${KEY_250}\r\n`,
  waitLines(13),
  `get ${KEY_251}\r\n`,
  waitLines(1),
  `get a ${KEY_251} b\r\n`,
  waitLines(1),
  `gets ${KEY_251}\r\n`,
  waitLines(1),
  `gat 0 ${KEY_251}\r\n`,
  waitLines(1),
  `gats 0 ${KEY_251}\r\n`,
  waitLines(1),
  `get ${KEY_250} ${KEY_251}\r\n`,
  waitLines(1),
  `get ${KEY_250}\r\n`,
]);

// ---------------------------------------------------------------------------------------------
// "Storage commands"

session('set, add, replace: stored and not stored', [
  'add a 1 0 3\r\none\r\n',
  'add a 2 0 3\r\ntwo\r\n',
  'replace b 3 0 5\r\nthree\r\n',
  'replace a 4 0 4\r\nfour\r\n',
  'set b 5 0 4\r\nfive\r\n',
  'set b 6 0 3\r\nsix\r\n',
  'gets a b\r\n',
]);

session('append and prepend: hits, misses; flags and exptime of the request are ignored', [
  'append a 0 0 1\r\nx\r\n',
  'prepend a 0 0 1\r\nx\r\n',
  set('a', 'middle', { flags: 42 }),
  store('append', 'a', '>>', { flags: 7, exptime: -1 }),
  store('prepend', 'a', '<<', { flags: 9 }),
  'gets a\r\n',
  store('append', 'a', ''),
  'get a\r\n',
]);

session('append and prepend with a cas unique', [
  set('a', 'x'),
  'gets a\r\n',
  store('append', 'a', 'y', { rest: '1' }),
  store('append', 'a', 'z', { rest: '99' }),
  store('prepend', 'a', 'w', { rest: '2' }),
  'gets a\r\n',
]);

session('cas: match, conflict, missing key, after delete', [
  set('a', 'v1'),
  'gets a\r\n',
  store('cas', 'a', 'v2', { rest: '1' }),
  store('cas', 'a', 'v3', { rest: '1' }),
  store('cas', 'nope', 'v', { rest: '1' }),
  'gets a\r\n',
  store('cas', 'a', 'v4', { rest: '2', flags: 5 }),
  'gets a\r\n',
  'delete a\r\n',
  store('cas', 'a', 'v5', { rest: '3' }),
  store('cas', 'a', 'v5', { rest: '0' }),
]);

session('cas: bad and missing cas uniques', [
  set('a', 'v1'),
  'cas a 0 0 1\r\nx\r\n',
  'cas a 0 0 1 abc\r\nx\r\n',
  'cas a 0 0 1 -1\r\nx\r\n',
  'cas a 0 0 1 18446744073709551615\r\nx\r\n',
  'cas a 0 0 1 18446744073709551616\r\nx\r\n',
  'cas a 0 0 1 1 noreply extra\r\nx\r\n',
  'gets a\r\n',
]);

session('noreply on every storage command', [
  set('a', 'one', { rest: 'noreply' }),
  store('add', 'a', 'two', { rest: 'noreply' }),
  store('add', 'b', 'bee', { rest: 'noreply' }),
  store('replace', 'a', 'three', { rest: 'noreply' }),
  store('replace', 'c', 'sea', { rest: 'noreply' }),
  store('append', 'a', '+', { rest: 'noreply' }),
  store('prepend', 'a', '-', { rest: 'noreply' }),
  store('append', 'c', '+', { rest: 'noreply' }),
  store('cas', 'b', 'B', { rest: '2 noreply' }),
  store('cas', 'b', 'X', { rest: '2 noreply' }),
  store('cas', 'c', 'X', { rest: '1 noreply' }),
  'gets a b c\r\n',
]);

session('noreply is only the last token, spelled exactly', [
  'set a 0 0 1 NOREPLY\r\nx\r\n',
  'set a 0 0 1 norepl\r\nx\r\n',
  'set a 0 0 1 noreplyy\r\nx\r\n',
  'get a\r\n',
]);

session('storage: flags from 0 to 2^32-1; 2^32, negative and non-numeric flags', [
  set('a', 'x', { flags: 0 }),
  set('b', 'x', { flags: 65536 }),
  set('c', 'x', { flags: 4294967295 }),
  set('d', 'x', { flags: '4294967296' }),
  set('e', 'x', { flags: '-1' }),
  set('f', 'x', { flags: 'abc' }),
  set('g', 'x', { flags: '12abc' }),
  set('h', 'x', { flags: '007' }),
  'get a b c d e f g h\r\n',
]);

session('storage: exptime forms (negative, past unix time, non-numeric, 30 days)', [
  set('neg', 'x', { exptime: -1 }),
  set('past', 'x', { exptime: 2592001 }),
  set('thirty', 'x', { exptime: 2592000 }),
  set('future', 'x', { exptime: 2100000000 }),
  set('abc', 'x', { exptime: 'abc' }),
  set('mixed', 'x', { exptime: '10x' }),
  'get neg past thirty future abc mixed\r\n',
]);

// memcached reads exptime with strtol into an int32 (and flush_all's delay likewise), so a value
// past 2^31 wraps: 2^31 itself is negative (expired at once), 99999999999 becomes 1215752191 (2008).
session('exptime past 2^31: set, touch, gat and flush_all', [
  set('a', 'x', { exptime: '2147483648' }),
  set('b', 'x', { exptime: '4102444800' }),
  set('c', 'x', { exptime: '99999999999' }),
  set('d', 'x', { exptime: '-2147483649' }),
  set('e', 'x'),
  set('f', 'x'),
  'get a b c d e f\r\n',
  'touch e 4294967296\r\n',
  'gat 4294967297 f\r\n',
  'get e f\r\n',
  set('g', 'x'),
  'flush_all 99999999999\r\n',
  'get g\r\n',
]);

session('storage: bad lengths and token counts', [
  'set a 0 0 abc\r\nx\r\n',
  'set a 0 0 -1\r\nx\r\n',
  'set a 0 0 1x\r\nx\r\n',
  'set a 0 0\r\nx\r\n',
  'set a 0\r\n',
  'set a\r\n',
  'set\r\n',
  'set a 0 0 1 noreply extra\r\nx\r\n',
  'set a 0 0 1 x y z\r\nx\r\n',
  'get a\r\n',
]);

session('storage: keys of 250 and 251 bytes', [
  set(KEY_250, 'ok'),
  store('add', KEY_250, 'no'),
  store('replace', KEY_250, 'ok2'),
  store('append', KEY_250, '+'),
  store('prepend', KEY_250, '-'),
  store('cas', KEY_250, 'c', { rest: '4' }),
  `get ${KEY_250}\r\n`,
  set(KEY_251, 'no'),
  'get a\r\n',
  store('add', KEY_251, 'no'),
  store('replace', KEY_251, 'no'),
  store('append', KEY_251, 'no'),
  store('prepend', KEY_251, 'no'),
  store('cas', KEY_251, 'no', { rest: '1' }),
  'get b\r\n',
]);

session('data block longer than announced: bad data chunk, then the rest as commands', [
  'set a 0 0 3\r\nabcde\r\n',
  'get a\r\n',
  'set b 0 0 1\r\nxy\r\nget b\r\n',
  'set c 0 0 2\r\nxyz',
  sleep(20),
  '\r\nget c\r\n',
]);

session('data block shorter than announced: the next line becomes data', [
  set('a', 'old'),
  'set a 0 0 5\r\nabc\r\nget a\r\n',
  'get a\r\n',
  'set b 0 0 8\r\nabc\r\nget\r\n',
  'get b\r\n',
]);

session('data block not ended by \\r\\n', [
  'set a 0 0 3\r\nabc\n\nget a\r\n',
  'set b 0 0 3\r\nabcXYget b\r\n',
  'set c 0 0 3\r\nabc\rget c\r\n',
  'get a b c\r\n',
]);

// A value of 16 KB or more still to come is read straight into its item with the 2 bytes after
// it (where the item keeps its CRLF): those bytes are checked there, as memcached checks them.
session('long values: the line end read with the data, right or wrong, whole or split', [
  `set a 0 0 100000\r\n${'a'.repeat(100_000)}\r\nget a\r\n`,
  `set b 0 0 100000\r\n${'b'.repeat(100_000)}xyget b\r\n`,
  `set c 0 0 100000\r\n${'c'.repeat(100_000)}\r`,
  sleep(20),
  '\nget c\r\n',
  `set d 0 0 100000\r\n${'d'.repeat(60_000)}`,
  sleep(20),
  `${'d'.repeat(40_000)}`,
  sleep(20),
  '\r\nget d\r\n',
  `set e 0 0 100000\r\n${'e'.repeat(100_000)}\n\nget e\r\n`,
  `set a 0 0 70000 noreply\r\n${'A'.repeat(70_000)}\r\nget a b c d e\r\n`,
]);

const ITEM_MAX = 1024 * 1024;
// ntotal = 48-byte header + 8 CAS + key + 1 + value + 2 (docs/engine-model.md "Item size"), so a
// 3-byte key with flags 0 leaves ITEM_MAX - 62 bytes for the value.
const LARGEST_VALUE = ITEM_MAX - 62;

session('values at the item size limit: the largest that fits, one byte more', [
  set('big', 'x'.repeat(LARGEST_VALUE)),
  waitLines(1),
  'get big\r\n',
  waitFor('END\r\n'),
  set('big', 'y'.repeat(LARGEST_VALUE + 1)),
  waitLines(1),
  'get big\r\n',
]);

session('a value over the item size: object too large, the data swallowed, the old value gone', [
  set('big', 'small'),
  set('big', 'z'.repeat(2 * ITEM_MAX)),
  waitLines(1),
  'get big\r\n',
  set('after', 'fine'),
  'get after\r\n',
]);

session('a value over the item size, in pieces, with commands inside the swallowed data', [
  `set big 0 0 ${ITEM_MAX + 100}\r\n`,
  sleep(20),
  'get a\r\n'.repeat(1000),
  sleep(20),
  'x'.repeat(ITEM_MAX + 100 - 'get a\r\n'.length * 1000),
  sleep(20),
  '\r\nget big\r\n',
]);

session('a value over the item size with noreply: no reply, the data swallowed', [
  `set big 0 0 ${ITEM_MAX + 1} noreply\r\n${'n'.repeat(ITEM_MAX + 1)}\r\n`,
  'get big\r\n',
]);

session('binary values: NUL, \\r\\n inside, every byte value', [
  set('nul', 'a\x00b\x00'),
  set('crlf', '\r\n\r\nEND\r\n'),
  set('all', Array.from({ length: 256 }, (_, i) => String.fromCharCode(i)).join('')),
  'get nul crlf all\r\n',
  store('append', 'crlf', '\x00\r\n'),
  'get crlf\r\n',
]);

session('empty values', [
  set('e', ''),
  'get e\r\n',
  store('append', 'e', ''),
  store('prepend', 'e', 'p'),
  'gets e\r\n',
]);

session('-I 2m: a 1.5 MB value is stored, 2.1 MB is too large', [
  set('a', 'y'.repeat(1_500_000)),
  waitLines(1),
  'get a\r\n',
  waitFor('END\r\n'),
  set('b', 'y'.repeat(2_100_000)),
  waitLines(1),
  'get b\r\n',
], ['-I', '2m']);

session('-C: CAS disabled, gets shows 0, cas never matches', [
  set('a', '1'),
  'gets a\r\n',
  store('cas', 'a', 'x', { rest: '0' }),
  store('cas', 'a', 'x', { rest: '1' }),
  store('cas', 'nope', 'x', { rest: '0' }),
  'incr a 1\r\n',
  'gets a\r\n',
], ['-C']);

// 100 KB values all fall in one slab class of ten chunks a 1 MB page, so -m 8 holds 80 of them.
const VALUE_100K = 'v'.repeat(100_000);

session('-m 8: the oldest items are evicted', [
  ...Array.from({ length: 120 }, (_, i) => set(`k${i}`, VALUE_100K)),
  waitLines(120),
  `get ${Array.from({ length: 120 }, (_, i) => `k${i}`).join(' ')}\r\n`,
  waitFor('END\r\n'),
  'stats items\r\n',
], ['-m', '8']);

session('-m 8 -M: out of memory instead of evictions', [
  ...Array.from({ length: 90 }, (_, i) => set(`k${i}`, VALUE_100K)),
  waitLines(90),
  'get k0 k79 k80 k89\r\n',
  waitFor('END\r\n'),
  'stats items\r\n',
  waitFor('END\r\n'),
  'stats slabs\r\n',
], ['-m', '8', '-M']);

// ---------------------------------------------------------------------------------------------
// "Deletion"

session('delete: hit, miss, noreply', [
  set('a', '1'),
  set('b', '2'),
  'delete a\r\n',
  'delete a\r\n',
  'delete b noreply\r\n',
  'delete nope noreply\r\n',
  'get a b\r\n',
]);

session('delete: the legacy time argument (only 0 is accepted) and bad forms', [
  set('a', '1'),
  set('b', '2'),
  'delete a 0\r\n',
  'delete b 5\r\n',
  'delete b 0 noreply\r\n',
  'delete b noreply extra\r\n',
  'delete b 0 0\r\n',
  'delete\r\n',
  `delete ${KEY_250}\r\n`,
  `delete ${KEY_251}\r\n`,
  `delete ${KEY_251} noreply\r\n`,
  'get a b\r\n',
]);

// ---------------------------------------------------------------------------------------------
// "Increment/Decrement"

session('incr and decr: hits, misses, noreply', [
  set('n', '10'),
  'incr n 5\r\n',
  'decr n 3\r\n',
  'incr n 0\r\n',
  'incr nope 1\r\n',
  'decr nope 1\r\n',
  'incr n 1 noreply\r\n',
  'decr n 2 noreply\r\n',
  'incr nope 1 noreply\r\n',
  'gets n\r\n',
]);

session('incr wraps at 2^64; decr stops at 0', [
  set('max', '18446744073709551615'),
  'incr max 1\r\n',
  'get max\r\n',
  set('max', '18446744073709551615'),
  'incr max 18446744073709551615\r\n',
  set('big', '18446744073709551614'),
  'incr big 1\r\n',
  'incr big 1\r\n',
  set('small', '5'),
  'decr small 6\r\n',
  'decr small 18446744073709551615\r\n',
  'get small\r\n',
]);

// A result no longer than the value is written in place, padded with spaces, only while no one
// else holds the item (items.c do_add_delta, refcount == 2). A get's reply holds it until sent,
// and a hit on an item in COLD is bumped through a queue that memcached's LRU maintainer thread
// empties on its own schedule, so the arithmetic comes first and the gets after it.
session('incr and decr: the value changes length; decr pads with spaces', [
  set('grow', '99'),
  'incr grow 1\r\n',
  set('shrink', '100'),
  'decr shrink 1\r\n',
  'decr shrink 99\r\n',
  'incr shrink 5\r\n',
  set('regrow', '100'),
  'decr regrow 91\r\n',
  'incr regrow 1000\r\n',
  set('m', '1000'),
  'decr m 1\r\n',
  'incr m 1\r\n',
  'gets grow shrink regrow m\r\n',
]);

session('decr while a pipelined get still holds the item: a new, shorter item', [
  set('n', '100'),
  'get n\r\ndecr n 1\r\nget n\r\n',
]);

session('incr and decr: invalid deltas', [
  set('n', '1'),
  'incr n -1\r\n',
  'incr n abc\r\n',
  'incr n 1a\r\n',
  'incr n 123456789012345678901\r\n',
  'incr n 18446744073709551616\r\n',
  'decr n -1\r\n',
  'decr n 99999999999999999999\r\n',
  'incr n +1\r\n',
  'incr n 0x10\r\n',
  'incr n  7\r\n',
  'get n\r\n',
]);

session('incr and decr: non-numeric and odd stored values', [
  set('s', 'abc'),
  'incr s 1\r\n',
  set('e', ''),
  'incr e 1\r\n',
  set('tail', '12abc'),
  'incr tail 1\r\n',
  set('lead', ' 12'),
  'incr lead 1\r\n',
  set('trail', '12 '),
  'incr trail 1\r\n',
  set('neg0', '-0'),
  'incr neg0 5\r\n',
  set('neg', '-5'),
  'incr neg 1\r\n',
  set('plus', '+7'),
  'incr plus 1\r\n',
  set('over', '18446744073709551616'),
  'incr over 1\r\n',
  set('lf', '5\r\n'),
  'incr lf 1\r\n',
  set('zeros', '007'),
  'incr zeros 1\r\n',
  'get lead trail neg0 plus lf zeros\r\n',
]);

session('incr and decr: keys, token counts', [
  set('n', '1'),
  'incr\r\n',
  'incr n\r\n',
  'incr n 1 2\r\n',
  'incr n 1 noreply 2\r\n',
  'decr n\r\n',
  `incr ${KEY_251} 1\r\n`,
  `decr ${KEY_251} 1\r\n`,
  set(KEY_250, '7'),
  `incr ${KEY_250} 1\r\n`,
  `decr ${KEY_250} 1\r\n`,
  'get n\r\n',
]);

session('incr keeps the flags; the CAS moves', [
  set('n', '41', { flags: 99 }),
  'gets n\r\n',
  'incr n 1\r\n',
  'gets n\r\n',
  'incr n 100\r\n',
  'gets n\r\n',
]);

// ---------------------------------------------------------------------------------------------
// "Touch"

session('touch: hit, miss, noreply, bad arguments', [
  set('a', 'alpha'),
  'touch a 100\r\n',
  'touch nope 100\r\n',
  'touch a 0 noreply\r\n',
  'touch nope 0 noreply\r\n',
  'touch a\r\n',
  'touch\r\n',
  'touch a abc\r\n',
  'touch a 1 2\r\n',
  `touch ${KEY_251} 0\r\n`,
  set(KEY_250, 'v'),
  `touch ${KEY_250} 0\r\n`,
  'gets a\r\n',
]);

session('touch with a negative exptime expires the item', [
  set('a', 'alpha'),
  'touch a -1\r\n',
  'get a\r\n',
  'touch a 0\r\n',
]);

// Expiry: memcached's clock ticks once a second, so a TTL of 1 ends at the next tick, within 0 to
// 1 s (protocol.txt "Expiration times"); every check below is made right after the writes or
// 2.5 s later, well clear of that window, and the sleeping sessions run alongside the others.
session('expiry: exptime, and touch and gat moving it', [
  set('ttl1', 'a', { exptime: 1 }),
  set('ttl100', 'b', { exptime: 100 }),
  set('touched', 'c', { exptime: 1 }),
  set('gatted', 'd', { exptime: 1 }),
  set('shortened', 'e', { exptime: 100 }),
  set('forever', 'f'),
  'touch touched 100\r\n',
  'gat 100 gatted\r\n',
  'touch shortened 1\r\n',
  sleep(2500),
  'get ttl1 ttl100 touched gatted shortened forever\r\n',
  'touch ttl1 10\r\n',
  set('fresh', 'g'),
  'get fresh\r\n',
]);

session('flush_all with a delay: items live until it passes, then all are gone', [
  set('a', '1'),
  set('b', '2', { exptime: 100 }),
  'flush_all 2\r\n',
  'get a b\r\n',
  sleep(2500),
  'get a b\r\n',
  set('c', '3'),
  'get c\r\n',
]);

// ---------------------------------------------------------------------------------------------
// "Other commands": flush_all, version, verbosity, quit, shutdown

session('flush_all: now, with delay 0, noreply; items stored after it are kept', [
  set('a', '1'),
  set('b', '2'),
  'flush_all\r\n',
  'get a b\r\n',
  set('a', '3'),
  'get a\r\n',
  'flush_all 0\r\n',
  'get a\r\n',
  set('c', '4'),
  'flush_all noreply\r\n',
  'get c\r\n',
  set('d', '5'),
  'flush_all 0 noreply\r\n',
  'get d\r\n',
  set('e', '6'),
  'gets e\r\n',
]);

session('flush_all: a delay in the future keeps items for now; bad arguments', [
  set('a', '1'),
  'flush_all 100\r\n',
  'get a\r\n',
  'flush_all abc\r\n',
  'flush_all -1\r\n',
  'get a\r\n',
  set('b', '2'),
  'flush_all 100 2\r\n',
  'flush_all 100 noreply extra\r\n',
  'flush_all 100 noreply\r\n',
  'get b\r\n',
]);

session('version', ['version\r\n', 'version extra\r\n', 'VERSION\r\n']);

session('verbosity: with and without noreply, bad arguments', [
  'verbosity 1\r\n',
  'verbosity 0 noreply\r\n',
  'verbosity\r\n',
  'verbosity abc\r\n',
  'verbosity -1\r\n',
  'verbosity 1 2\r\n',
  'verbosity 1 2 3\r\n',
  'verbosity noreply\r\n',
  'verbosity 0\r\n',
]);

session('quit closes the connection; nothing after it is answered', [
  set('a', '1'),
  'get a\r\nquit\r\nget a\r\n',
  expectClose(),
]);

session('quit with an argument closes too', ['quit now\r\n', expectClose()]);

session('shutdown without -A: the command is disabled', [
  'shutdown\r\n',
  'shutdown graceful\r\n',
  'shutdown now please\r\n',
  'version\r\n',
]);

// ---------------------------------------------------------------------------------------------
// "Statistics". Each stats command is sent alone, after the previous reply has arrived, and a
// session that ends with one waits for its END (so the harness's end marker is not read with it):
// bytes_read and bytes_written count what crossed the socket by the time the command runs.

session('stats: general statistics after sets, gets, misses and deletes', [
  set('a', '1'),
  waitLines(1),
  'get a\r\n',
  waitFor('END\r\n'),
  'get nope\r\n',
  waitFor('END\r\n'),
  'delete a\r\n',
  waitLines(1),
  'delete a\r\n',
  waitLines(1),
  'incr nope 1\r\n',
  waitLines(1),
  'touch nope 1\r\n',
  waitLines(1),
  store('cas', 'nope', 'x', { rest: '1' }),
  waitLines(1),
  set('big', 'x'.repeat(ITEM_MAX)),
  waitLines(1),
  'stats\r\n',
  waitFor('END\r\n'),
]);

session('stats: a fresh server', ['stats\r\n', waitFor('END\r\n')]);

session('stats settings', ['stats settings\r\n']);

session('stats settings with flags', ['stats settings\r\n'], ['-m', '32', '-I', '2m', '-f', '1.5', '-n', '64', '-C', '-c', '500']);

// Items over slab_chunk_max (512 KB) are left out here: memcached splits them into a header chunk,
// 512 KB chunks and a tail chunk in a best-fit class, while our engines chain 512 KB chunks only,
// so their `stats slabs` lines differ (a documented difference, docs/engine-model.md). What a
// client sees of such an item is compared in the next session.
session('stats items, slabs and sizes after sets in several classes', [
  set('a', 'x'),
  set('b', 'x'.repeat(100)),
  set('c', 'x'.repeat(1000)),
  set('d', 'x'.repeat(1000)),
  set('e', 'x'.repeat(60_000)),
  'get a b\r\n',
  'delete d\r\n',
  'incr nope 1\r\n',
  waitFor('NOT_FOUND\r\n'),
  'stats items\r\n',
  waitFor('END\r\n'),
  'stats slabs\r\n',
  waitFor('END\r\n'),
  'stats sizes\r\n',
]);

session('an item over slab_chunk_max: stored, read, appended and replaced like any other', [
  set('big', 'y'.repeat(600_000)),
  'get big\r\n',
  waitFor('END\r\n'),
  'append big 0 0 3\r\nzzz\r\n',
  'gets big\r\n',
  waitFor('END\r\n'),
  set('big', 'x'.repeat(10)),
  'get big\r\n',
]);

session('stats sizes with -o track_sizes', [
  set('a', 'x'),
  set('b', 'x'.repeat(40)),
  set('c', 'x'.repeat(40)),
  set('d', 'x'.repeat(5000)),
  'delete a\r\n',
  waitLines(5),
  'stats sizes\r\n',
], ['-o', 'track_sizes']);

session('stats slabs and items on an empty server', ['stats slabs\r\n', waitFor('END\r\n'), 'stats items\r\n']);

session('stats detail: on, dump, off', [
  'stats detail\r\n',
  'stats detail on\r\n',
  set('user:1', 'a'),
  set('user:2', 'b'),
  set('page:1', 'c'),
  set('plain', 'd'),
  'get user:1 user:3 page:1 plain\r\n',
  'delete user:2\r\n',
  'stats detail dump\r\n',
  'stats detail off\r\n',
  'get user:1\r\n',
  'stats detail dump\r\n',
  'stats detail maybe\r\n',
]);

session('stats reset', [
  set('a', '1'),
  waitLines(1),
  'get a b\r\n',
  waitFor('END\r\n'),
  'stats reset\r\n',
  waitLines(1),
  'stats\r\n',
  waitFor('END\r\n'),
]);

// stats cachedump lists memcached's COLD LRU only; the maintainer thread moves new items there
// within its 1 s sleep, so the session waits for that before dumping.
session('stats cachedump', [
  set('a', '1'),
  set('b', '22'),
  set('c', '333'),
  set('long', 'x'.repeat(500)),
  waitLines(4),
  sleep(1500),
  'stats cachedump 1 10\r\n',
  'stats cachedump 1 2\r\n',
  'stats cachedump 1 0\r\n',
  'stats cachedump 2 10\r\n',
  'stats cachedump 99 10\r\n',
  'stats cachedump 1\r\n',
  'stats cachedump\r\n',
  'stats cachedump x y\r\n',
]);

// ---------------------------------------------------------------------------------------------
// "LRU_Crawler". memcached's crawler is a thread: each command here waits for the last reply, so
// that a crawl has ended before the next command (which would be BUSY), a metadump is the last
// command of its write (memcached drops what follows it in the same read), and the thread is
// given time to stop or start after disable and enable (memcached does not wait for it, and a
// command that comes too soon meets it half stopped: wrong replies, or none). The crawler's sleep
// is set back to a short one at once: at a second per item the thread is too slow to stop.

/** One lru_crawler command, after the reply to the last one. */
// After a crawl memcached's crawler thread is busy for a moment (a crawl then answers BUSY): the
// next command waits that out.
const crawler = (args: string, until: Step = waitLines(1)): Step[] => [
  `lru_crawler ${args}\r\n`,
  until,
  ...(args === 'enable' || args === 'disable' ? [sleep(300)] : args.startsWith('crawl ') ? [sleep(30)] : []),
];

session('lru_crawler: arguments, replies and settings', [
  ...['crawl all', 'crawl 1', 'crawl 2', 'crawl 63', 'crawl 0', 'crawl 64', 'crawl x', 'crawl ALL', 'crawl all,1', 'crawl ,', 'crawl 1,', 'crawl ,1', 'crawl +1', 'crawl 01', 'crawl 1,2,3', 'crawl 1,99'].flatMap((a) => crawler(a)),
  ...['tocrawl 10', 'tocrawl x', 'tocrawl -1', 'tocrawl 10x', 'tocrawl 4294967297'].flatMap((a) => crawler(a)),
  ...['sleep 1000000', 'sleep 1000001', 'sleep x', 'sleep -5', 'sleep 250'].flatMap((a) => crawler(a)),
  'stats settings\r\n',
  waitFor('END\r\n'),
  ...['enable', 'disable', 'disable', 'crawl all', 'metadump all', 'tocrawl 3', 'sleep 7'].flatMap((a) => crawler(a)),
  'stats settings\r\n',
  waitFor('END\r\n'),
  ...['enable', '', 'bogus', 'mgdump all', 'crawl all extra', 'metadump all extra', 'crawl', 'enable now'].flatMap((a) => crawler(a)),
  'LRU_CRAWLER crawl all\r\n',
  waitLines(1),
  'lru_crawler Crawl all\r\n',
]);

// A refused metadump leaves memcached's connection half taken by the crawler: what comes after it
// on that connection may be refused ("ERROR cannot pipeline other commands before metadump") or
// answered END. Each is alone in its session.
for (const list of ['99', ',', '1,99', 'x', '0']) {
  session(`lru_crawler metadump ${list}: refused`, [set('a', '1'), waitLines(1), ...crawler(`metadump ${list}`)]);
}

// The maintainer thread moves new items to COLD within its 1 s sleep: the dump waits for that.
session('lru_crawler metadump: each LRU from its oldest item, in turns; keys URI-encoded; expired items left out', [
  ...Array.from({ length: 10 }, (_, i) => set(`s${i}`, 'x')),
  ...Array.from({ length: 4 }, (_, i) => set(`L${i}`, 'y'.repeat(500), { flags: i })),
  set("a/b:c~d-e_f.g!*'();@&=+$,?#[]\x7f\xff", 'z'),
  set('ttl', 'soon', { exptime: 1 }),
  set('later', 'x', { exptime: 1000 }),
  'ms Zm9vYmFy 2 b\r\nhi\r\n',
  waitLines(18),
  'get s3 L1 s3\r\n',
  waitFor('END\r\n'),
  sleep(2500),
  ...crawler('metadump all', waitFor('END\r\n')),
  ...crawler('metadump 1', waitFor('END\r\n')),
  ...crawler('metadump 1,9', waitFor('END\r\n')),
  ...crawler('metadump 9', waitFor('END\r\n')),
  ...crawler('metadump 2', waitFor('END\r\n')),
  ...crawler('metadump hash', waitFor('END\r\n')),
  'flush_all\r\n',
  waitLines(1),
  ...crawler('metadump all', waitFor('END\r\n')),
]);

session('lru_crawler with -X: no metadump, crawls as usual', [set('a', '1'), ...crawler('metadump all'), ...crawler('metadump 99'), ...crawler('crawl all')], ['-X']);

session('lru_crawler with -o no_lru_crawler: refused until enabled', [
  set('a', '1'),
  ...['crawl all', 'metadump 99', 'disable', 'enable'].flatMap((a) => crawler(a)),
  'stats settings\r\n',
  waitFor('END\r\n'),
  sleep(1500),
  ...crawler('metadump all', waitFor('END\r\n')),
], ['-o', 'no_lru_crawler']);

// ---------------------------------------------------------------------------------------------
// "LRU Tuning", "Slab Reassign" (automove) and cache_memlimit: replies, and the settings they
// change. cache_memlimit only lowers the limit here: wasmcached cannot raise it past -m (README).

session('lru, cache_memlimit and slabs automove: arguments, replies and settings', [
  ...[
    'lru', 'lru tune 10 20 0.2 2.0', 'lru tune 10 20 0.2 2.0 noreply', 'lru tune 50 40 0.2 2', 'lru tune 10 20 0 2',
    'lru tune 10 20 abc 2', 'lru tune -1 20 0.2 2', 'lru tune 10 20 0.2', 'lru tune 0 0 0.1 0.1', 'lru tune 10 20 1e1 0x10',
    'lru tune 10 20 0.2 2 extra more', 'lru mode flat', 'lru mode segmented', 'lru mode bogus', 'lru mode', 'lru temp_ttl 10',
    'lru temp_ttl -1', 'lru temp_ttl abc', 'lru bogus x', 'LRU mode flat', 'cache_memlimit', 'cache_memlimit 7',
    'cache_memlimit 1000000001', 'cache_memlimit abc', 'cache_memlimit 48 noreply', 'cache_memlimit 40 extra',
    'cache_memlimit 1 2 3', 'cache_memlimit -5', 'slabs automove 0', 'slabs automove 1', 'slabs automove 2',
    'slabs automove 3', 'slabs automove abc', 'slabs automove ratio 0.5', 'slabs automove ratio', 'slabs automove ratio abc',
    'slabs automove', 'slabs automove 1 noreply', 'slabs', 'lru tune 15 25 0.3 2.5', 'lru mode flat', 'lru temp_ttl 33',
    'cache_memlimit 32', 'slabs automove 2', 'slabs automove ratio 0.25',
  ].map((command) => `${command}\r\n`),
  'stats settings\r\n',
  waitFor('END\r\n'),
]);

// safe_strtod's forms: glibc's strtod, ERANGE refused, and printf's inf and nan in the settings.
session('lru tune and slabs automove ratio: every form strtod reads, and out of range', [
  ...[
    'lru tune 10 20 1e999 2', 'lru tune 10 20 1e-310 2', 'lru tune 10 20 2.2250738585072011e-308 2', 'lru tune 10 20 -inf 2',
    'lru tune 10 20 -0 2', 'lru tune 10 20 0x1.8p1 0X1A', 'lru tune 10 20 0x 2', 'lru tune 10 20 5e 2', 'lru tune 10 20 infin 2',
    'lru tune 10 20 .5 1.', 'lru tune 10 20 +.5e-3 2', 'lru tune 10 20 nan(x1_2) 2', 'lru tune 10 20 2 nanx',
    'slabs automove ratio 1e999', 'slabs automove ratio 0x.8', 'lru tune 10 20 INF nan', 'slabs automove ratio infinity',
  ].map((command) => `${command}\r\n`),
  'stats settings\r\n',
  waitFor('END\r\n'),
]);

session('lru mode flat: new items go to COLD and stay there when hit', [
  'lru mode flat\r\n',
  set('a', '1'),
  set('b', '2'),
  'get a\r\n',
  'get a\r\n',
  'get b\r\n',
  waitFor('END\r\n'),
  'stats items\r\n',
]);

session('-o no_lru_maintainer: the flat LRU, and lru mode refused', [
  set('a', '1'),
  'get a\r\n',
  'lru mode segmented\r\n',
  'lru temp_ttl 5\r\n',
  'lru tune 10 20 0.2 2\r\n',
  'stats items\r\n',
  waitFor('END\r\n'),
  'stats settings\r\n',
], ['-o', 'no_lru_maintainer']);

session('stats: unknown groups and arguments', [
  'stats nonsense\r\n',
  waitLines(1),
  'stats items extra\r\n',
  waitLines(1),
  'stats  \r\n',
  waitFor('END\r\n'),
  'STATS\r\n',
]);

// ---------------------------------------------------------------------------------------------
// "Commands" and "Error strings": what is not a command

session('unknown commands and wrong case', [
  'foo\r\n',
  'GET a\r\n',
  'Set a 0 0 1\r\n',
  'gett a\r\n',
  'g\r\n',
  'mx a\r\n',
  'version\r\n',
]);

session('empty lines and lines of spaces', ['\r\n', '\n', '   \r\n', ' \n', 'version\r\n']);

session('spacing: runs of spaces, a trailing space, a tab, a bare \\n', [
  set('a', '1'),
  'get  a    a\r\n',
  'get a \r\n',
  '  get a\r\n',
  'get\ta\r\n',
  'get a\n',
  'set  b  0  0  1 \r\nb\r\n',
  'get b\n',
]);

session('a key with control characters and high bytes', [
  set('a\x01b', 'ctl'),
  set('\xff\xfe', 'high'),
  'get a\x01b \xff\xfe\r\n',
]);

session('too many tokens', [
  'get a b c d e f g h i j k l m n o p q r s t u v w x y z\r\n',
  'touch a 0 noreply extra\r\n',
  'version 1 2 3 4 5 6 7 8 9 10\r\n',
  'delete a b c d e f\r\n',
  'set a 0 0 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1 1\r\nx\r\n',
]);

// memcached closes a connection that sends 2048 bytes without a newline, unless they start a get
// or gets (a long multi-get), whose line it keeps reading (proto_text.c try_read_command_ascii).
session('a line of 3000 bytes without a newline', ['x'.repeat(3000), expectClose()]);

session('a get line of 3000 bytes without a newline, then its end', [
  `get ${'k '.repeat(1500)}`,
  sleep(50),
  'a\r\n',
]);

session('an HTTP request', ['GET / HTTP/1.1\r\nHost: localhost\r\n\r\n', expectClose()]);

// memcached drops the replies it has queued when it closes, so the command's reply is awaited
// before the request line (in one write, memcached would close without answering either).
session('an HTTP request line after a command', ['version\r\n', waitLines(1), 'GET /index.html HTTP/1.0\r\n', expectClose()]);

// ---------------------------------------------------------------------------------------------
// Framing: commands split across writes at awkward places, and pipelined

session('split: inside \\r\\n of the command line and of the data block', [
  ...split('set a 0 0 5\r', '\nhello\r', '\n'),
  ...split('get a\r', '\n'),
]);

session('split: inside the command name, the key and the data block', [
  ...split('se', 't a', 'bc 1 0 1', '0\r\n01234', '56789', '\r\n'),
  ...split('g', 'et ab', 'c\r\n'),
]);

session('split: byte by byte', [
  ...split(...(set('k', 'v\r\n') + 'gets k\r\nincr k 1\r\n').split('')),
]);

session('split: a noreply set, then the get in the same write as the data end', [
  ...split('set a 0 0 3 noreply\r\nab', 'c\r\nget a\r\n'),
]);

session('pipelined: many commands in one write', [
  [
    set('a', '1'),
    'incr a 5\r\n',
    'get a nope\r\n',
    store('append', 'a', '0'),
    'gets a\r\n',
    'delete a\r\n',
    'get a\r\n',
    'version\r\n',
    'bogus\r\n',
    store('add', 'b', 'bee'),
    'touch b 100\r\n',
    'gat 0 b\r\n',
    'flush_all\r\n',
    'get b\r\n',
  ].join('').repeat(10),
]);

// -R: memcached runs R + 1 commands of a read in one event (its nreqs, one spent after each),
// transmits what is queued and yields; an event resuming a yield spends one first; and it counts
// a yield whenever nothing is left, also when the read ends there. conn_yields shows the count
// (one stats at the end: the lines masked in a stats reply differ in length, and so would
// bytes_written after it).
session('-R 2: where a pipelined read yields, and conn_yields', [
  'version\r\nversion\r\n',
  waitLines(2),
  'version\r\n'.repeat(5),
  waitLines(5),
  'get a\r\n'.repeat(4),
  waitLines(4),
  set('b', '1', { rest: 'noreply' }).repeat(4),
  'version\r\n',
  waitLines(1),
  'version\r\nversion\r\nversion\r\nvers',
  waitLines(3),
  'ion\r\n',
  waitLines(1),
  'stats\r\n',
  waitFor('END\r\n'),
], ['-R', '2']);

session('pipelined: 500 sets then one get of each', [
  Array.from({ length: 500 }, (_, i) => set(`k${i}`, `${i}`)).join(''),
  Array.from({ length: 500 }, (_, i) => `get k${i}\r\n`).join(''),
]);

test.run();
