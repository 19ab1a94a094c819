// Exact bytes of the text protocol over a real socket (wasm engine, manual clock): every command
// and every error line memcached 1.6 gives, as observed from memcached 1.6.18.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { Client, startServer } from './serve.ts';
import type { TestServer } from './serve.ts';

const wire = suite<{ s: TestServer; c: Client }>('text wire');
wire.before.each(async (ctx) => {
  ctx.s = await startServer('wasm');
  ctx.c = await Client.open(ctx.s.port);
});
wire.after.each(async (ctx) => {
  ctx.c.close();
  await ctx.s.close();
});

const K251 = 'k'.repeat(251);
const K250 = 'k'.repeat(250);

wire('storage commands and their replies', async ({ c }) => {
  assert.is(await c.request('set a 5 0 3\r\nabc\r\n'), 'STORED\r\n');
  assert.is(await c.request('add a 0 0 1\r\nx\r\n'), 'NOT_STORED\r\n');
  assert.is(await c.request('replace nope 0 0 1\r\nx\r\n'), 'NOT_STORED\r\n');
  assert.is(await c.request('append a 0 0 2\r\nde\r\n'), 'STORED\r\n');
  assert.is(await c.request('prepend a 0 0 1\r\n_\r\n'), 'STORED\r\n');
  assert.is(await c.request('gets a\r\n', 'END\r\n'), 'VALUE a 5 6 3\r\n_abcde\r\nEND\r\n');
  assert.is(await c.request('cas a 0 0 1 999\r\nx\r\n'), 'EXISTS\r\n');
  assert.is(await c.request('cas a 7 0 1 3\r\nx\r\n'), 'STORED\r\n');
  assert.is(await c.request('cas nope 0 0 1 3\r\nx\r\n'), 'NOT_FOUND\r\n');
  assert.is(await c.request(`set ${K250} 0 0 1\r\nv\r\n`), 'STORED\r\n');
  assert.is(await c.request('get a\r\n', 'END\r\n'), 'VALUE a 7 1\r\nx\r\nEND\r\n');
});

wire('noreply is silent, and the next reply comes right after', async ({ c }) => {
  c.send('set a 0 0 1 noreply\r\nx\r\nadd a 0 0 1 noreply\r\ny\r\ndelete nope noreply\r\nincr a 1 noreply\r\n');
  assert.is(await c.request('get a\r\n', 'END\r\n'), 'VALUE a 0 1\r\nx\r\nEND\r\n');
});

wire('binary-safe values: NUL and CRLF inside', async ({ c }) => {
  assert.is(await c.request('set b 0 0 6\r\n\0\r\n\r\n\0\r\n'), 'STORED\r\n');
  assert.is(await c.request('get b\r\n', 'END\r\n'), 'VALUE b 0 6\r\n\0\r\n\r\n\0\r\nEND\r\n');
});

wire('incr/decr: wrap at 2^64, floor at 0, errors', async ({ c }) => {
  assert.is(await c.request('incr n 1\r\n'), 'NOT_FOUND\r\n');
  assert.is(await c.request('set n 0 0 20\r\n18446744073709551615\r\n'), 'STORED\r\n');
  assert.is(await c.request('incr n 2\r\n'), '1\r\n');
  assert.is(await c.request('decr n 5\r\n'), '0\r\n');
  assert.is(await c.request('incr n -1\r\n'), 'CLIENT_ERROR invalid numeric delta argument\r\n');
  assert.is(await c.request('incr n 18446744073709551616\r\n'), 'CLIENT_ERROR invalid numeric delta argument\r\n');
  assert.is(await c.request('set t 0 0 2\r\nab\r\n'), 'STORED\r\n');
  assert.is(await c.request('incr t 1\r\n'), 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n');
  assert.is(await c.request(`incr ${K251} 1\r\n`), 'CLIENT_ERROR bad command line format\r\n');
});

wire('delete, touch, gat, flush_all', async ({ c, s }) => {
  assert.is(await c.request('set a 0 0 1\r\nx\r\n'), 'STORED\r\n');
  assert.is(await c.request('delete a 5\r\n'), 'CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]\r\n');
  assert.is(await c.request('delete a 0\r\n'), 'DELETED\r\n');
  assert.is(await c.request('delete a\r\n'), 'NOT_FOUND\r\n');
  assert.is(await c.request('touch a 10\r\n'), 'NOT_FOUND\r\n');
  assert.is(await c.request('set a 0 0 1\r\nx\r\n'), 'STORED\r\n');
  assert.is(await c.request('touch a 10\r\n'), 'TOUCHED\r\n');
  assert.is(await c.request('touch a ten\r\n'), 'CLIENT_ERROR invalid exptime argument\r\n');
  assert.is(await c.request('gat 100 a nope\r\n', 'END\r\n'), 'VALUE a 0 1\r\nx\r\nEND\r\n');
  assert.is(await c.request('gats x a\r\n'), 'CLIENT_ERROR invalid exptime argument\r\n');
  s.clock.advance(101);
  assert.is(await c.request('get a\r\n'), 'END\r\n');
  assert.is(await c.request('set a 0 0 1\r\nx\r\n'), 'STORED\r\n');
  assert.is(await c.request('flush_all x\r\n'), 'CLIENT_ERROR invalid exptime argument\r\n');
  assert.is(await c.request('flush_all 0\r\n'), 'OK\r\n');
  assert.is(await c.request('get a\r\n'), 'END\r\n');
});

wire('errors: unknown commands, bad lines, long keys, too large values', async ({ c }) => {
  assert.is(await c.request('bogus\r\n'), 'ERROR\r\n');
  assert.is(await c.request('\r\n'), 'ERROR\r\n');
  assert.is(await c.request('get\r\n'), 'ERROR\r\n');
  assert.is(await c.request('set a 0 0\r\n'), 'ERROR\r\n');
  assert.is(await c.request('set a x 0 1\r\n'), 'CLIENT_ERROR bad command line format\r\n');
  assert.is(await c.request('set a 0 0 -1\r\n'), 'CLIENT_ERROR bad command line format\r\n');
  assert.is(await c.request(`get ${K251}\r\n`), 'CLIENT_ERROR bad command line format\r\n');
  assert.is(await c.request(`set ${K251} 0 0 1\r\nx\r\n`, 'ERROR\r\n'), 'CLIENT_ERROR bad command line format\r\nERROR\r\n');
  assert.is(await c.request('set a 0 0 1\r\nxy\r\n', 'ERROR\r\n'), 'CLIENT_ERROR bad data chunk\r\nERROR\r\n');
  const big = 1024 * 1024 + 1;
  assert.is(await c.request(`set big 0 0 ${big}\r\n${'x'.repeat(big)}\r\n`), 'SERVER_ERROR object too large for cache\r\n');
  assert.is(await c.request('version\r\n'), 'VERSION 1.6.18\r\n');
  assert.is(await c.request('shutdown\r\n'), 'ERROR: shutdown not enabled\r\n');
  assert.is(await c.request('verbosity\r\n'), 'ERROR\r\n');
  assert.is(await c.request('verbosity 1\r\n'), 'OK\r\n');
});

wire('an HTTP request line closes the connection', async ({ c }) => {
  c.send('GET / HTTP/1.1\r\n');
  await c.until('');
  await c.settle(50);
  assert.ok(c.closed);
});

wire('stats: memcached names, then END', async ({ c }) => {
  await c.request('set a 0 0 1\r\nx\r\n');
  await c.request('get a nope\r\n', 'END\r\n');
  const stats = await c.request('stats\r\n', 'END\r\n');
  const names = [...stats.matchAll(/^STAT (\S+) /gm)].map((m) => m[1]);
  for (const name of ['pid', 'uptime', 'time', 'version', 'curr_connections', 'total_connections', 'cmd_get', 'cmd_set', 'get_hits', 'get_misses', 'bytes_read', 'bytes_written', 'limit_maxbytes', 'threads', 'curr_items', 'total_items', 'bytes', 'evictions']) {
    assert.ok(names.includes(name), `stats has ${name}`);
  }
  assert.match(stats, /STAT cmd_get 2\r\n/);
  assert.match(stats, /STAT get_hits 1\r\n/);
  assert.match(stats, /STAT get_misses 1\r\n/);
  assert.match(stats, /STAT curr_items 1\r\n/);
  assert.ok(names.indexOf('cmd_get') < names.indexOf('cmd_set') && names.indexOf('cmd_set') < names.indexOf('get_hits'), 'memcached order');
  assert.is(await c.request('stats reset\r\n'), 'RESET\r\n');
  assert.match(await c.request('stats\r\n', 'END\r\n'), /STAT cmd_get 0\r\n/);
  assert.is(await c.request('stats nonsense\r\n'), 'ERROR\r\n');
  assert.match(await c.request('stats items\r\n', 'END\r\n'), /^STAT items:1:number 1\r\n/);
  assert.is(await c.request('stats detail\r\n'), 'CLIENT_ERROR usage: stats detail on|off|dump\r\n');
  assert.is(await c.request('stats cachedump 99 1\r\n'), 'CLIENT_ERROR Illegal slab id\r\n');
});

wire('a multi-get of 100 keys in one line, and 200 pipelined commands in one write', async ({ c }) => {
  let setup = '';
  for (let i = 0; i < 100; i += 2) setup += `set k${i} 0 0 ${String(i).length}\r\n${i}\r\n`;
  assert.is(await c.request(setup, 'STORED\r\n'.repeat(50)), 'STORED\r\n'.repeat(50));
  const keys = Array.from({ length: 100 }, (_, i) => `k${i}`).join(' ');
  let expected = '';
  for (let i = 0; i < 100; i += 2) expected += `VALUE k${i} 0 ${String(i).length}\r\n${i}\r\n`;
  assert.is(await c.request(`get ${keys}\r\n`, 'END\r\n'), `${expected}END\r\n`);
  assert.is(await c.request('version\r\n'.repeat(200), 'VERSION 1.6.18\r\n'.repeat(200)), 'VERSION 1.6.18\r\n'.repeat(200));
});

wire('quit closes the connection after earlier replies', async ({ c }) => {
  c.send('version\r\nquit\r\n');
  await c.settle(100);
  assert.ok(c.closed);
});

wire.run();

wire('cache_memlimit lowers the limit and raises it back to -m, not past it; lru tune reaches the engine', async ({ c }) => {
  const setting = async (name: string): Promise<string | undefined> => {
    const text = await c.request('stats settings\r\n', 'END\r\n');
    return new RegExp(`^STAT ${name} (\\S+)\\r$`, 'm').exec(text)?.[1];
  };
  assert.is(await c.request('cache_memlimit 8\r\n'), 'OK\r\n');
  assert.is(await setting('maxbytes'), String(8 * 1024 * 1024));
  assert.is(await c.request('cache_memlimit 64\r\n'), 'OK\r\n');
  assert.is(await c.request('cache_memlimit 65\r\n'), 'MEMLIMIT_ADJUST_FAILED out of bounds or unable to adjust\r\n');
  assert.is(await setting('maxbytes'), String(64 * 1024 * 1024));
  assert.is(await c.request('lru tune 5 15 0.75 4\r\n'), 'OK\r\n');
  assert.equal(
    [await setting('hot_lru_pct'), await setting('warm_lru_pct'), await setting('hot_max_factor'), await setting('warm_max_factor')],
    ['5', '15', '0.75', '4.00'],
  );
  // strtod's ERANGE is refused; inf and nan are not (memcached checks for <= 0 only).
  assert.is(await c.request('lru tune 5 15 1e999 4\r\n'), 'ERROR\r\n');
  assert.is(await c.request('lru tune 5 15 1e-310 4\r\n'), 'ERROR\r\n');
  assert.is(await setting('hot_max_factor'), '0.75');
  assert.is(await c.request('lru tune 5 15 inf nan\r\n'), 'OK\r\n');
  assert.equal([await setting('hot_max_factor'), await setting('warm_max_factor')], ['inf', 'nan']);
});
