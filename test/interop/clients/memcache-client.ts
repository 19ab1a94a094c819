// Client matrix: the npm package `memcache-client` 1.0.5 (text protocol), over TCP only: it parses
// the server as host:port. A reply other than a success (NOT_STORED, EXISTS, NOT_FOUND,
// CLIENT_ERROR, SERVER_ERROR, ERROR) rejects with an Error whose message starts with that reply
// word: printed as `{ error, reply }`. Buffers are stored with flags 8 and read back as Buffers.
import { MemcacheClient } from 'memcache-client';
import type { MultiRetrievalResponse, StatsCommandResponse } from 'memcache-client';
import { attempt, digest, emit, errorName, filler, isUnixSocket, itemMax, latin1, sleep, server, unixNow } from './matrix-common.ts';
import type { Failure } from './matrix-common.ts';

const describe = (error: unknown): Failure => {
  const reply = error instanceof Error ? /^[A-Z_]+(?= |$)/.exec(error.message)?.[0] : undefined;
  return reply === undefined ? errorName(error) : { ...errorName(error), reply };
};
const bytes = (text: string): Buffer => Buffer.from(text, 'latin1');

if (isUnixSocket) {
  emit('transport', 'unsupported: memcache-client connects to host:port only');
} else {
  const c = new MemcacheClient({ server, cmdTimeout: 3000 });
  const get = async (key: string): Promise<unknown> => {
    const hit = await c.get<Buffer | string>(key);
    return hit === undefined ? null : Buffer.isBuffer(hit.value) ? latin1(hit.value) : hit.value;
  };
  const got = (key: string) => attempt(() => get(key), describe);

  // Binary-safe values (as Buffers, flags 8).
  emit('set bin', await attempt(() => c.set('bin', bytes('a\x00b\r\nc')), describe));
  emit('get bin', await got('bin'));
  emit('set crlf', await attempt(() => c.set('crlf', bytes('\r\n')), describe));
  emit('get crlf', await got('crlf'));
  emit('set empty', await attempt(() => c.set('empty', ''), describe));
  emit('get empty', await got('empty'));

  const multi = await c.get<MultiRetrievalResponse<Buffer>>(['bin', 'nope1', 'crlf', 'nope2']);
  emit('get_multi', Object.fromEntries(Object.keys(multi).sort().map((k) => [k, latin1(multi[k]!.value)])));

  emit('add new', await attempt(() => c.add('added', 'first'), describe));
  emit('add existing', await attempt(() => c.add('added', 'second'), describe));
  emit('get added', await got('added'));
  emit('replace existing', await attempt(() => c.replace('added', 'replaced'), describe));
  emit('replace missing', await attempt(() => c.replace('nope', 'x'), describe));
  emit('get replaced', await got('added'));

  emit('append existing', await attempt(() => c.append('added', '>>'), describe));
  emit('prepend existing', await attempt(() => c.prepend('added', '<<'), describe));
  emit('get appended', await got('added'));
  emit('append missing', await attempt(() => c.append('nope', 'x'), describe));
  emit('prepend missing', await attempt(() => c.prepend('nope', 'x'), describe));

  // CAS: the unique from gets is used, not printed.
  await c.set('cas', 'v1');
  const { casUniq } = await c.gets<string>('cas');
  emit('gets unique', typeof casUniq);
  emit('cas success', await attempt(() => c.cas('cas', 'v2', { casUniq }), describe));
  emit('cas conflict', await attempt(() => c.cas('cas', 'v3', { casUniq }), describe));
  emit('get cas', await got('cas'));
  emit('cas missing', await attempt(() => c.cas('nope', 'v', { casUniq }), describe));

  emit('delete hit', await attempt(() => c.delete('added'), describe));
  emit('delete miss', await attempt(() => c.delete('added'), describe));

  // incr/decr edges (results are the reply line). A delta is a JavaScript number: 2^64-1 is sent
  // as 18446744073709552000.
  await c.set('n', '10');
  emit('incr 1', await attempt(() => c.incr('n', 1), describe));
  emit('decr 100', await attempt(() => c.decr('n', 100), describe));
  emit('get n', await got('n'));
  emit('incr max delta', await attempt(() => c.incr('n', 18446744073709551615), describe));
  await c.set('n', '18446744073709551615');
  emit('incr wraps', await attempt(() => c.incr('n', 1), describe));
  emit('get n wrapped', await got('n'));
  emit('incr non-numeric', await attempt(() => c.incr('bin', 1), describe));
  emit('incr missing', await attempt(() => c.incr('nope', 1), describe));
  emit('decr missing', await attempt(() => c.decr('nope', 1), describe));

  // Expiry and touch: all set at once, one sleep. (Stores without a lifetime get the client's
  // default, 60 s.)
  await c.set('ttl', 'rel', { lifetime: 2 });
  await c.set('abs', 'abs', { lifetime: unixNow() + 2 });
  await c.set('touch-keep', 'keep', { lifetime: 2 });
  await c.set('touch-expire', 'expire', { lifetime: 0 });
  emit('touch hit', await attempt(() => c.touch('touch-keep', 100), describe));
  emit('touch to 2', await attempt(() => c.touch('touch-expire', 2), describe));
  emit('touch miss', await attempt(() => c.touch('nope', 100), describe));
  const timed = ['ttl', 'abs', 'touch-keep', 'touch-expire'];
  emit('before sleep', await Promise.all(timed.map(got)));
  emit('set absolute past', await attempt(() => c.set('past', 'past', { lifetime: unixNow() - 10 }), describe));
  emit('get absolute past', await got('past'));
  await sleep(3200);
  emit('after sleep', await Promise.all(timed.map(got)));

  // Every key stored before the flush is read after it, so that curr_items does not depend on when
  // memcached's LRU maintainer gets to the flushed items.
  emit('flush', await attempt(() => c.cmd('flush_all'), describe));
  emit('after flush', await Promise.all(['bin', 'crlf', 'empty', 'cas', 'n', 'touch-keep'].map(got)));

  // Item size limit: the client has none of its own.
  emit('set under limit', await attempt(() => c.set('big', filler(itemMax - 512)), describe));
  emit('get under limit', digest((await c.get<Buffer>('big'))?.value));
  emit('set over limit', await attempt(() => c.set('big', filler(itemMax + 1)), describe));
  emit('get after over limit', digest((await c.get<Buffer>('big'))?.value));

  // Key length: the client sends any key; the server decides.
  emit('set key 250', await attempt(() => c.set('k'.repeat(250), '250'), describe));
  emit('get key 250', await got('k'.repeat(250)));
  emit('set key 251', await attempt(() => c.set('k'.repeat(251), '251'), describe));
  emit('get key 251', await got('k'.repeat(251)));

  // Flags come from the value's type (0 string, 2 JSON, 4 number, 8 Buffer); the reply shows them.
  await c.set('flags', 42);
  const numeric = await c.get<number>('flags');
  emit('flags', { value: numeric?.value, flags: numeric?.tokens[2] });
  emit('flags 32-bit', 'unsupported: memcache-client sets flags from the value type');

  const { STAT } = await c.cmd<StatsCommandResponse>('stats');
  const stats = Object.fromEntries(STAT.map(([name, value]) => [name, value]));
  const selection = ['curr_items', 'total_items', 'get_hits', 'get_misses', 'cmd_get', 'cmd_set', 'cmd_touch',
    'delete_hits', 'delete_misses', 'incr_hits', 'incr_misses', 'decr_hits', 'decr_misses', 'cas_hits',
    'cas_badval', 'cas_misses', 'touch_hits', 'touch_misses', 'version'];
  emit('stats', Object.fromEntries(selection.map((k) => [k, stats[k]])));
  emit('version', await attempt(() => c.version(), describe));

  c.shutdown();
}
emit('done', true);
