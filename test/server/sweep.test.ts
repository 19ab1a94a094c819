// The LRU maintainer in the background, over a real socket: a started daemon reclaims flushed
// and expired items within a second or two without a client touching them, as memcached's LRU
// maintainer does; with -o no_lru_maintainer neither server does. Each case runs against the real memcached too,
// which shows the expectations are memcached's (it counts reclaimed and expired_unfetched, not
// crawler_reclaimed). Waits poll `stats` with a bound; no fixed long sleeps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseStats, startServer } from './oracle.ts';
import type { ServerKind } from './oracle.ts';
import { Client } from './serve.ts';

/** How long a server may take to reclaim: memcached takes up to about 1 s, plus a clock tick. */
const RECLAIM_BOUND_MS = 3_000;
const POLL_MS = 50;
const KINDS: readonly ServerKind[] = ['memcached', 'wasmcached'];

type Stats = Map<string, string>;

async function stats(client: Client): Promise<Stats> {
  return parseStats(await client.request('stats\r\n', 'END\r\n'));
}

/** Polls `stats` until `done` holds or the bound passes; the last stats and the time taken. */
async function pollStats(client: Client, done: (s: Stats) => boolean): Promise<{ last: Stats; ms: number }> {
  const started = Date.now();
  for (;;) {
    const last = await stats(client);
    const ms = Date.now() - started;
    if (done(last) || ms > RECLAIM_BOUND_MS) return { last, ms };
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

async function withServer(kind: ServerKind, flags: readonly string[], body: (client: Client) => Promise<void>): Promise<void> {
  const server = await startServer(kind, flags);
  const client = await Client.open(server.port);
  try {
    await body(client);
  } finally {
    client.close();
    await server.stop();
  }
}

const pick = (s: Stats, names: readonly string[]): Record<string, string | undefined> =>
  Object.fromEntries(names.map((name) => [name, s.get(name)]));
const COUNTS = ['curr_items', 'bytes', 'reclaimed', 'expired_unfetched', 'crawler_reclaimed', 'get_flushed', 'get_expired'];

/** One case against every kind of server at once (each its own process). */
function both(name: string, flags: readonly string[], body: (kind: ServerKind, client: Client) => Promise<void>): void {
  test(name, async () => {
    await Promise.all(KINDS.map((kind) => withServer(kind, flags, (client) => body(kind, client))));
  });
}

/**
 * Sends `session` (whose replies end with `reply`), then polls until `left` items remain: the
 * rest must have been reclaimed by the maintainer, unfetched, leaving `bytes`; then `get`
 * answers `got`.
 */
function reclaimCase(name: string, session: string, reply: string, left: number, bytes: number, get: string, got: string): void {
  both(name, [], async (kind, client) => {
    await client.request(session, reply);
    const { last, ms } = await pollStats(client, (s) => s.get('curr_items') === String(left));
    const gone = String(Number(last.get('total_items')) - left);
    assert.equal(
      pick(last, COUNTS),
      { curr_items: String(left), bytes: String(bytes), reclaimed: gone, expired_unfetched: gone, crawler_reclaimed: '0', get_flushed: '0', get_expired: '0' },
      `${kind} after ${ms} ms`,
    );
    assert.is(await client.request(get, 'END\r\n'), got);
  });
}

reclaimCase(
  'flushed items leave curr_items and bytes without being touched',
  'set a 0 0 1\r\nx\r\nset b 0 0 1\r\ny\r\nflush_all\r\n', 'STORED\r\nSTORED\r\nOK\r\n',
  0, 0, 'get a b\r\n', 'END\r\n',
);

reclaimCase(
  'items past their TTL leave curr_items; live ones stay',
  'set a 0 1 1\r\nx\r\nset b 0 1 1\r\ny\r\nset c 0 100 1\r\nz\r\n', 'STORED\r\nSTORED\r\nSTORED\r\n',
  1, 61, 'get c\r\n', 'VALUE c 0 1\r\nz\r\nEND\r\n',
);

both('-o no_lru_maintainer leaves flushed items counted until touched', ['-o', 'no_lru_maintainer'], async (kind, client) => {
  await client.request('set a 0 0 1\r\nx\r\nset b 0 0 1\r\ny\r\nflush_all\r\n', 'STORED\r\nSTORED\r\nOK\r\n');
  // Longer than either server takes to sweep when it does (see the first case).
  await new Promise((resolve) => setTimeout(resolve, 1_200));
  assert.equal(pick(await stats(client), ['curr_items', 'reclaimed']), { curr_items: '2', reclaimed: '0' }, kind);
});

test.run();
