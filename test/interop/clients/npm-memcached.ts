// Client matrix: the npm package `memcached` 2.2.2 (text protocol), over TCP or a unix socket.
// Its quirks show in the transcript: it escapes \r and \n in values with a backslash (and unescapes
// them on read), hashes keys over 250 bytes to their MD5, chooses flags from the value's type, and
// treats SERVER_ERROR as a connection failure. No SASL (binary only).
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Memcached from 'memcached';
import { attempt, digest, emit, errorName, filler, isUnixSocket, itemMax, latin1, server, sleep, unixNow } from './matrix-common.ts';
import type { Failure } from './matrix-common.ts';

// memcached 2.2.2 appends ':11211' to a server without ':<port>', then connects a '/...' server as a
// unix socket path, suffix included: the socket is reached through a link whose name ends in ':11211'.
let linkDir: string | undefined;
let location = server;
if (isUnixSocket) {
  linkDir = mkdtempSync(join(tmpdir(), 'matrix-npm-memcached-'));
  location = join(linkDir, 'mc.sock:11211');
  symlinkSync(server, location);
}

// retry: how long (ms) the client refuses requests after what it takes for a connection issue.
// maxValue: the client's own limit (default 1 MiB) is raised so that the server decides.
const mc = new Memcached(location, { retries: 0, retry: 0, timeout: 2000, maxValue: 2 * itemMax });

/** A callback call as a promise; an error (or array of errors) rejects it. */
function call<T>(run: (callback: (error: unknown, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => run((error, result) => (error ? reject(error) : resolve(result))));
}

/** An error as its class; NOT_STORED is the client's own `notStored` error. */
const describe = (error: unknown): Failure => {
  const first = Array.isArray(error) ? error[0] : error;
  return (first as { notStored?: boolean } | undefined)?.notStored ? { ...errorName(first), notStored: true } : errorName(first);
};
const run = <T>(work: (callback: (error: unknown, result: T) => void) => void) => attempt(() => call<T>(work), describe);
// (@types/memcached gives touch's callback no result; the client passes true or false.)
const touch = (key: string, ttl: number) =>
  run<unknown>((cb) => mc.touch(key, ttl, (error: unknown, ...result: unknown[]) => cb(error, result[0])));
const get = async (key: string): Promise<unknown> => {
  const value = await run<unknown>((cb) => mc.get(key, cb));
  return Buffer.isBuffer(value) ? latin1(value) : value;
};

// Binary-safe values.
emit('set bin', await run((cb) => mc.set('bin', 'a\x00b\r\nc', 0, cb)));
emit('get bin', await get('bin'));
emit('set crlf', await run((cb) => mc.set('crlf', '\r\n', 0, cb)));
emit('get crlf', await get('crlf'));
emit('set empty', await run((cb) => mc.set('empty', '', 0, cb)));
emit('get empty', await get('empty'));

emit('get_multi', await run((cb) => mc.getMulti(['bin', 'nope1', 'crlf', 'nope2'], cb)));

emit('add new', await run((cb) => mc.add('added', 'first', 0, cb)));
emit('add existing', await run((cb) => mc.add('added', 'second', 0, cb)));
emit('get added', await get('added'));
emit('replace existing', await run((cb) => mc.replace('added', 'replaced', 0, cb)));
emit('replace missing', await run((cb) => mc.replace('nope', 'x', 0, cb)));
emit('get replaced', await get('added'));

emit('append existing', await run((cb) => mc.append('added', '>>', cb)));
emit('prepend existing', await run((cb) => mc.prepend('added', '<<', cb)));
emit('get appended', await get('added'));
emit('append missing', await run((cb) => mc.append('nope', 'x', cb)));
emit('prepend missing', await run((cb) => mc.prepend('nope', 'x', cb)));

// CAS: gets gives { key: value, cas: '<unique>' }; the unique itself is not printed.
await run((cb) => mc.set('cas', 'v1', 0, cb));
const first = await call<{ cas: string }>((cb) => mc.gets('cas', cb));
emit('gets', { ...first, cas: typeof first.cas });
emit('cas success', await run((cb) => mc.cas('cas', 'v2', first.cas, 0, cb)));
emit('cas conflict', await run((cb) => mc.cas('cas', 'v3', first.cas, 0, cb)));
emit('get cas', await get('cas'));
emit('gets missing', await run((cb) => mc.gets('nope', cb)));
emit('cas missing', await run((cb) => mc.cas('nope', 'v', first.cas, 0, cb)));

emit('delete hit', await run((cb) => mc.del('added', cb)));
emit('delete miss', await run((cb) => mc.del('added', cb)));

// incr/decr edges. A delta is a JavaScript number: 2^64-1 is sent as 18446744073709552000.
await run((cb) => mc.set('n', '10', 0, cb));
emit('incr 1', await run((cb) => mc.incr('n', 1, cb)));
emit('decr 100', await run((cb) => mc.decr('n', 100, cb)));
emit('get n', await get('n'));
emit('incr max delta', await run((cb) => mc.incr('n', 18446744073709551615, cb)));
await run((cb) => mc.set('n', '18446744073709551615', 0, cb));
emit('incr wraps', await run((cb) => mc.incr('n', 1, cb)));
emit('get n wrapped', await get('n'));
emit('incr non-numeric', await run((cb) => mc.incr('bin', 1, cb)));
emit('incr missing', await run((cb) => mc.incr('nope', 1, cb)));
emit('decr missing', await run((cb) => mc.decr('nope', 1, cb)));

// Expiry and touch: all set at once, one sleep.
await run((cb) => mc.set('ttl', 'rel', 2, cb));
await run((cb) => mc.set('abs', 'abs', unixNow() + 2, cb));
await run((cb) => mc.set('touch-keep', 'keep', 2, cb));
await run((cb) => mc.set('touch-expire', 'expire', 0, cb));
emit('touch hit', await touch('touch-keep', 100));
emit('touch to 2', await touch('touch-expire', 2));
emit('touch miss', await touch('nope', 100));
const timed = ['ttl', 'abs', 'touch-keep', 'touch-expire'];
emit('before sleep', await Promise.all(timed.map(get)));
emit('set absolute past', await run((cb) => mc.set('past', 'past', unixNow() - 10, cb)));
emit('get absolute past', await get('past'));
await sleep(3200);
emit('after sleep', await Promise.all(timed.map(get)));

// Every key stored before the flush is read after it, so that curr_items does not depend on when
// memcached's LRU maintainer gets to the flushed items.
emit('flush', await run((cb) => mc.flush(cb)));
emit('after flush', await Promise.all(['bin', 'crlf', 'empty', 'cas', 'n', 'touch-keep'].map(get)));

// Item size limit. The client takes SERVER_ERROR for a connection issue: it ends that connection
// and refuses requests for `retry` ms (0 here: until its timer has run, hence the sleep).
emit('set under limit', await run((cb) => mc.set('big', filler(itemMax - 512).toString('latin1'), 0, cb)));
emit('get under limit', digest((await get('big')) as string | null));
emit('set over limit', await run((cb) => mc.set('big', filler(itemMax + 1).toString('latin1'), 0, cb)));
await sleep(50);
emit('get after over limit', digest((await get('big')) as string | null));

// Key length: a key over 250 bytes is sent as its MD5 (keyCompression), so 251 works.
emit('set key 250', await run((cb) => mc.set('k'.repeat(250), '250', 0, cb)));
emit('get key 250', await get('k'.repeat(250)));
emit('set key 251', await run((cb) => mc.set('k'.repeat(251), '251', 0, cb)));
emit('get key 251', await get('k'.repeat(251)));

emit('flags', 'unsupported: the client sets flags from the value type (0 string, 2 JSON, 4 Buffer, 8 number)');

const [stats] = await call<Memcached.StatusData[]>((cb) => mc.stats(cb));
const selection = ['curr_items', 'total_items', 'get_hits', 'get_misses', 'cmd_get', 'cmd_set', 'cmd_touch',
  'delete_hits', 'delete_misses', 'incr_hits', 'incr_misses', 'decr_hits', 'decr_misses', 'cas_hits',
  'cas_badval', 'cas_misses', 'touch_hits', 'touch_misses', 'version'];
emit('stats', Object.fromEntries(selection.map((k) => [k, stats?.[k]])));
const [version] = await call<Memcached.VersionData[]>((cb) => mc.version(cb));
emit('version', version?.version);

mc.end();
if (linkDir !== undefined) rmSync(linkDir, { recursive: true, force: true });
emit('done', true);
// The client leaves timers behind (its connection-issue bookkeeping), so the script ends itself.
process.exit(0);
