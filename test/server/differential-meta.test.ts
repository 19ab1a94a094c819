// The meta protocol against the real memcached (protocol.txt "Meta Commands" and the sections
// after it): mn, mg, ms, md, ma, me and their flags, mixed with the text commands on one
// connection. Replies must be byte-for-byte equal; see oracle.ts for what is masked.
// Flags that report the clock (t, l, me's exp and la) are read right after the write that set
// them, within the same second of both servers' clocks, or after a sleep far from a boundary.
import { test } from 'uvu';
import { sessionTest, sleep, split, waitFor, waitLines } from './oracle.ts';

const session = sessionTest(test);

/** "Meta Set": `ms <key> <datalen> <flags>*\r\n<data block>\r\n`. */
function ms(key: string, value: string, flags = ''): string {
  return `ms ${key} ${value.length}${flags ? ` ${flags}` : ''}\r\n${value}\r\n`;
}
const base64 = (text: string): string => Buffer.from(text, 'latin1').toString('base64');

const KEY_250 = 'k'.repeat(250);
const KEY_251 = 'k'.repeat(251);

// ---------------------------------------------------------------------------------------------
// "Meta No-Op"

session('mn: the static reply, also after quiet misses', [
  'mn\r\n',
  'mg nope q\r\nmg nope2 q v\r\nmn\r\n',
  'mn extra tokens\r\n',
]);

// ---------------------------------------------------------------------------------------------
// "Meta Get"

session('mg: miss, hit without flags, hit with v', [
  'mg nope\r\n',
  'mg nope v\r\n',
  ms('a', 'alpha'),
  'mg a\r\n',
  'mg a v\r\n',
  'mg a v v\r\n',
]);

session('mg: k, c, f, s, O flags and their order', [
  ms('a', 'alpha', 'F33'),
  'mg a k\r\n',
  'mg a c\r\n',
  'mg a f\r\n',
  'mg a s\r\n',
  'mg a Oxyz\r\n',
  'mg a s v f c k O123\r\n',
  'mg a O123 k c f s v\r\n',
  'mg nope k c f s O9\r\n',
]);

session('mg: q suppresses EN but not hits; mn ends the batch', [
  ms('a', 'alpha'),
  'mg nope q\r\nmg a q v\r\nmg nope q k\r\nmg a q k\r\nmn\r\n',
]);

session('mg: t for an item without and with a TTL, h hit-before, l last access', [
  ms('a', 'alpha'),
  ms('b', 'beta', 'T100'),
  'mg a t\r\nmg b t\r\n',
  'mg a h\r\nmg a h\r\n',
  'mg a l\r\n',
  'mg b h l t v\r\n',
]);

session('mg: u does not mark the item fetched', [
  ms('a', 'alpha'),
  'mg a u h\r\n',
  'mg a u h\r\n',
  'mg a h\r\n',
  'mg a h\r\n',
]);

session('mg: T updates the TTL; gets see the same CAS', [
  ms('a', 'alpha'),
  'mg a T100 t c\r\n',
  'mg a t\r\n',
  'mg a T0 t\r\n',
  'mg a T-1 v\r\n',
  'mg a v\r\n',
]);

session('mg: b base64 keys; k returns the key encoded, with b', [
  ms(base64('bin\x00key'), 'binary', 'b'),
  `mg ${base64('bin\x00key')} b v k\r\n`,
  `mg ${base64('bin\x00key')} v\r\n`,
  `mg ${base64('foo')} b k v\r\n`,
  'set foo 0 0 3\r\nbar\r\n',
  `mg ${base64('foo')} b k v\r\n`,
  `mg ${base64('nope')} b k\r\n`,
  'mg !!!! b v\r\n',
  'mg Zm9v= b v\r\n',
]);

session('mg: N vivifies on a miss (W), then others see Z; R wins a recache', [
  'mg a N30 v c t\r\n',
  'mg a N30 v c t\r\n',
  'mg a v\r\n',
  ms('a', 'filled', 'T100'),
  'mg a v\r\n',
  'mg a R30 v t\r\n',
  'mg a R200 v t\r\n',
  'mg a R200 v t\r\n',
  'mg b N0 s v\r\n',
]);

session('mg: errors for bad flags and keys', [
  ms('a', 'alpha'),
  'mg\r\n',
  'mg a !\r\n',
  'mg a v v v\r\n',
  'mg a Nabc\r\n',
  'mg a Tabc\r\n',
  'mg a Rabc\r\n',
  `mg a O${'o'.repeat(32)}\r\n`,
  `mg a O${'o'.repeat(33)}\r\n`,
  `mg ${KEY_250} v\r\n`,
  `mg ${KEY_251} v\r\n`,
  'mg a 1\r\n',
  'mg a P L\r\n',
  'mg a Pproxy Lpath v\r\n',
  'mg a x\r\n',
  'mg a v\r\n',
]);

session('mg and get agree on flags, value and CAS', [
  'set a 17 0 5\r\nhello\r\n',
  'mg a v f c s\r\n',
  'gets a\r\n',
  ms('b', 'world', 'F4294967295'),
  'get b\r\n',
  'mg b f\r\n',
]);

// ---------------------------------------------------------------------------------------------
// "Meta Set"

session('ms: store, c returns the CAS, F sets flags, T the TTL, k and O', [
  ms('a', 'one'),
  ms('a', 'two', 'c'),
  ms('b', 'bee', 'F5 T100 k O42 c'),
  'mg a v c f t\r\nmg b v c f t\r\n',
  ms('a', '', 'c'),
  'mg a v s\r\n',
]);

session('ms: modes E (add), A (append), P (prepend), R (replace), S (set)', [
  ms('a', 'x', 'ME'),
  ms('a', 'y', 'ME'),
  ms('a', '>', 'MA'),
  ms('a', '<', 'MP'),
  ms('n', '>', 'MA'),
  ms('n', '<', 'MP'),
  ms('a', 'r', 'MR c'),
  ms('r', 'r', 'MR'),
  ms('s', 's', 'MS'),
  ms('a', '+', 'Ma'),
  ms('a', '!', 'MX'),
  'mg a v c\r\nmg n v\r\nmg r v\r\nmg s v\r\n',
]);

session('ms: append and prepend keep flags and TTL; append with N on a miss is not stored', [
  ms('a', 'mid', 'F9 T100'),
  ms('a', '>', 'MA F1 T0'),
  ms('a', '<', 'MP'),
  'mg a v f t\r\n',
  ms('v', 'auto', 'MA N100'),
  'mg v v t f\r\n',
]);

session('ms: C compares the CAS (HD, EX, NF); with modes', [
  ms('a', 'one', 'c'),
  ms('a', 'two', 'C1 c'),
  ms('a', 'three', 'C1 c'),
  ms('nope', 'x', 'C1'),
  ms('a', '>', 'MA C2'),
  ms('a', '>', 'MA C99'),
  ms('a', 'r', 'MR C3'),
  ms('a', 'e', 'ME C3'),
  'mg a v c\r\n',
]);

session('ms: q hides HD but not NS or EX', [
  ms('a', 'one', 'q'),
  ms('a', 'two', 'q ME'),
  ms('a', 'three', 'q C99'),
  ms('b', 'x', 'q MR'),
  ms('a', 'four', 'q O7 k'),
  'mn\r\n',
  'mg a v\r\n',
]);

session('ms: b base64 key, k echoes it', [
  ms(base64('\x01\x02'), 'bin', 'b k'),
  `mg ${base64('\x01\x02')} b v k\r\n`,
  ms('!!!', 'bin', 'b'),
]);

session('ms: I with an older CAS marks the item stale', [
  ms('a', 'v1', 'c'),
  ms('a', 'v2', 'c'),
  ms('a', 'old', 'I C1 c'),
  'mg a v c\r\n',
  'mg a v c\r\n',
  ms('a', 'new', 'C3'),
  'mg a v c\r\n',
]);

session('ms: errors for lengths, flags and keys', [
  'ms\r\n',
  'ms a\r\n',
  'ms a abc\r\nxyz\r\n',
  'ms a -1\r\n',
  'ms a 3 !\r\nxyz\r\n',
  'ms a 3 Fabc\r\nxyz\r\n',
  'ms a 3 F4294967296\r\nxyz\r\n',
  'ms a 3 Tabc\r\nxyz\r\n',
  'ms a 3 Cabc\r\nxyz\r\n',
  'ms a 3 c c\r\nxyz\r\n',
  'ms a 3\r\nxyzw\r\n',
  'ms a 3\r\nxy\r\nmn\r\n',
  ms(KEY_250, 'ok'),
  ms(KEY_251, 'no'),
  'mg a v\r\n',
  'mn\r\n',
]);

session('ms: a value over the item size: object too large, the data swallowed', [
  ms('big', 'small'),
  ms('big', 'z'.repeat(2 * 1024 * 1024)),
  waitLines(1),
  'mg big v\r\n',
  ms('big', 'q'.repeat(1024 * 1024 + 1), 'q'),
  'mn\r\n',
]);

session('ms: binary data and split writes', [
  ...split('ms a 6 F', '1\r\nab\r', '\n\x00', '\xff\r', '\n'),
  'mg a v f\r\n',
]);

// ---------------------------------------------------------------------------------------------
// "Meta Delete"

session('md: hit, miss, q, k and O', [
  ms('a', '1'),
  ms('b', '2'),
  'md a\r\n',
  'md a\r\n',
  'md b q\r\n',
  'md b q\r\n',
  ms('c', '3'),
  'md c k O77\r\n',
  'md nope k O78\r\n',
  'mn\r\n',
]);

session('md: C compares the CAS', [
  ms('a', '1', 'c'),
  'md a C99\r\n',
  'md a C1\r\n',
  'md a C1\r\n',
]);

session('md: I marks stale (X, W then Z on mg), T sets its TTL; ms with the CAS clears it', [
  ms('a', 'v', 'c'),
  'md a I T30\r\n',
  'mg a v c t\r\n',
  'mg a v c t\r\n',
  'mg a v c\r\n',
  ms('a', 'fresh', 'C2'),
  'mg a v c\r\n',
  'md nope I\r\n',
]);

session('md: b base64 key; errors', [
  ms(base64('del'), 'x', 'b'),
  `md ${base64('del')} b k\r\n`,
  `md ${base64('del')} b\r\n`,
  'md\r\n',
  'md a !\r\n',
  'md a Cabc\r\n',
  `md ${KEY_251}\r\n`,
  'md a q q\r\n',
  'mn\r\n',
]);

// ---------------------------------------------------------------------------------------------
// "Meta Arithmetic"

session('ma: incr by default, D delta, v value, modes', [
  ms('n', '10'),
  'ma n\r\n',
  'ma n v\r\n',
  'ma n D5 v\r\n',
  'ma n MD D3 v\r\n',
  'ma n M- v\r\n',
  'ma n M+ D100 v\r\n',
  'ma n MI v\r\n',
  'ma n MD D1000 v\r\n',
  'ma n Mx v\r\n',
  'mg n v\r\n',
]);

session('ma: miss (NF), N creates with J (or 0), q hides HD', [
  'ma nope\r\n',
  'ma nope v\r\n',
  'ma a N0 v\r\n',
  'ma b N100 J42 v t\r\n',
  'ma b N100 J42 v\r\n',
  'ma c N0 J7 MD v\r\n',
  'ma a q\r\n',
  'ma nope q\r\n',
  'mn\r\n',
  'mg a v\r\nmg b v\r\nmg c v\r\n',
]);

session('ma: wrap at 2^64, stop at 0, length changes', [
  ms('n', '18446744073709551615'),
  'ma n v\r\n',
  'mg n v\r\n',
  ms('m', '5'),
  'ma m MD D10 v\r\n',
  ms('w', '99'),
  'ma w v\r\n',
  'ma w MD v\r\n',
  'mg w v s\r\n',
]);

// memcached's mg keeps its item in its response, with or without v, until the responses are
// transmitted: at the end of the read, and after any get, gets, gat, gats or mn. A decr
// meanwhile finds the item held and makes a new item of the exact length, where otherwise it
// shortens the value in place, padded with spaces. get, me and the other commands keep nothing.
// (Each item is hit once: a second hit on an item in COLD also holds it, in memcached's bump
// queue, until its LRU maintainer thread gets to it, which is a race.)
session('mg holds its item until the responses go out: a decr before that makes a new item', [
  ms('a', '1000'),
  'mg a v\r\ndecr a 2\r\nmn\r\n',
  'get a\r\n',
  ms('b', '1000'),
  'mg b s q\r\nversion\r\nmg nope\r\nstats detail dump\r\nma b MD D2\r\nmn\r\n',
  'get b\r\n',
  ms('c', '1000'),
  'get c\r\ndecr c 2\r\nme c\r\ndecr c 2\r\nmn\r\n',
  'get c\r\n',
  ms('d', '1000'),
  'mg d\r\ngat 0 nope\r\ndecr d 2\r\nmg d k\r\nmn\r\ndecr d 2\r\nmn\r\n',
  'get d\r\n',
]);

session('ma: c, t, T, k and O flags; C compares the CAS', [
  ms('n', '1', 'c T100'),
  'ma n c v\r\n',
  'ma n t v\r\n',
  'ma n T0 t v\r\n',
  'ma n C99 v\r\n',
  'ma n C2 v c\r\n',
  'ma n k O5 v\r\n',
]);

session('ma: non-numeric values, invalid deltas and flags', [
  ms('s', 'abc'),
  ms('n', '1'),
  'ma s\r\n',
  'ma n D-1\r\n',
  'ma n Dabc\r\n',
  'ma n D123456789012345678901\r\n',
  'ma n D18446744073709551616\r\n',
  'ma n N1 Jabc\r\n',
  'ma n !\r\n',
  'ma\r\n',
  `ma ${KEY_251}\r\n`,
  'mg n v\r\n',
]);

session('ma and incr agree; ma b with a base64 key', [
  'set n 0 0 1\r\n5\r\n',
  'incr n 1\r\n',
  'ma n v\r\n',
  'decr n 10\r\n',
  'ma n v c\r\n',
  'gets n\r\n',
  ms(base64('num'), '41', 'b'),
  `ma ${base64('num')} b v k\r\n`,
]);

// ---------------------------------------------------------------------------------------------
// "Meta Debug"

session('me: hit, miss, base64 key, errors', [
  'set a 5 0 5\r\nhello\r\n',
  'me a\r\n',
  'me nope\r\n',
  'get a\r\n',
  'me a\r\n',
  ms(base64('b\x00'), 'x', 'b'),
  `me ${base64('b\x00')} b\r\n`,
  'me\r\n',
  `me ${KEY_251}\r\n`,
]);

// memcached 1.6.18 prints exp as current_time - exptime (proto_text.c process_meta_command), so an
// item with 100 s left shows exp=-100; la is the age of the last access, 0 right after the set.
session('me: an item with a TTL, in its class', [
  ms('a', 'x'.repeat(2000), 'T100'),
  'me a\r\n',
]);

// ---------------------------------------------------------------------------------------------
// Mixed with the text commands, and time

session('meta and text commands pipelined in one write', [
  [
    'set a 1 0 1\r\n1\r\n',
    'mg a v f c\r\n',
    ms('a', '2', 'c'),
    'gets a\r\n',
    'ma a v\r\n',
    'incr a 1\r\n',
    'md a q\r\n',
    'get a\r\n',
    'mg a q v\r\n',
    'mn\r\n',
  ].join('').repeat(5),
]);

// After the sleep only presence is compared: a remaining TTL or an access age read then would
// depend on where in its second each server's clock ticked.
session('meta: a TTL of 1 expires, one of 100 does not; N vivifies again after expiry', [
  ms('a', 'x', 'T1'),
  ms('b', 'y', 'T100'),
  'mg c N1 v\r\n',
  waitLines(4),
  sleep(2500),
  'mg a v\r\n',
  'mg b v\r\n',
  'mg c N1 v\r\n',
]);

session('meta: stats after meta commands', [
  ms('a', '1'),
  waitLines(1),
  'mg a v\r\n',
  waitFor('\r\n1\r\n'),
  'mg nope v\r\n',
  waitLines(1),
  'md a\r\n',
  waitLines(1),
  'ma nope\r\n',
  waitLines(1),
  'mn\r\n',
  waitLines(1),
  'stats\r\n',
  waitFor('END\r\n'),
]);

test.run();
