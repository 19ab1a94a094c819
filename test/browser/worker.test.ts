// The browser bundle in a real Web Worker: a page of the static server starts a module Worker
// (test/browser/fixtures/embed-worker.js) that imports build/embed/embed.js by relative URL and
// makes its caches with no module or wasm given, so embed.js fetches release.wasm beside itself.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BLANK, withBrowser } from './serve.ts';

/** How long the Worker may take to answer before the test fails instead of waiting on. */
const ANSWER_TIMEOUT_MS = 10_000;
const WORKER = '/test/browser/fixtures/embed-worker.js';

const session = withBrowser(test);

test('a module Worker makes a cache from embed.js and release.wasm beside it: memcached semantics, a snapshot, evictions', async () => {
  const page = await session.browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.goto(`${session.server.origin}${BLANK}`);
  session.server.requests.length = 0;
  const answer = (await page.evaluate(
    ({ url, timeout }) => {
      const worker = new Worker(url, { type: 'module' });
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`the Worker did not answer in ${timeout} ms`)), timeout);
        worker.onmessage = (event) => resolve(event.data);
        worker.onerror = (event) => reject(new Error(`the Worker failed: ${event.message ?? 'its script did not load'}`));
        worker.postMessage('run');
      }).finally(() => worker.terminate());
    },
    { url: `${session.server.origin}${WORKER}`, timeout: ANSWER_TIMEOUT_MS },
  )) as { error?: string; results?: Record<string, unknown> };
  await page.close();

  assert.equal(problems, []);
  assert.is(answer.error, undefined);
  const results = answer.results!;
  assert.is(results['worker'], true, 'ran in a WorkerGlobalScope');
  assert.is(results['document'], 'undefined');
  assert.is(results['stored'], true);
  assert.is(results['value'], 'hello from a worker');
  assert.is(results['flags'], 3);
  assert.is(results['bytesStored'], true);
  assert.equal(results['bytes'], [1, 2, 3, 0, 255]);
  assert.equal(results['modes'], { add: false, replaceMissing: false, cas: true, casStale: false, afterCas: 'swapped' });
  assert.equal(results['counters'], { incr: 42n, decr: 0n, miss: undefined }, 'bigints, as structured clone carries them');
  assert.is(results['expired'], null, 'the TTL ran out on the given clock');
  assert.equal(results['deleted'], [true, false]);
  const stats = results['stats'] as Record<string, number>;
  assert.is(stats['curr_items'], 2);
  assert.is(stats['get_hits'], 3);
  assert.is(stats['get_misses'], 1, 'the expired get, as memcached counts it');
  assert.is(stats['get_expired'], 1);
  assert.is(stats['cas_hits'], 1);
  assert.is(stats['cas_badval'], 1);
  assert.is(stats['limit_maxbytes'], 4 * 1024 * 1024);
  assert.is(stats['evictions'], 0);
  assert.equal(results['restored'], { greeting: 'swapped', bytes: [1, 2, 3, 0, 255], items: 2 }, 'a snapshot restored into a second cache');
  const small = results['small'] as Record<string, number>;
  assert.ok(small['evictions']! > 0 && small['curr_items']! + small['evictions']! === 5000, JSON.stringify(small));
  assert.is(small['limit_maxbytes'], 2 * 1024 * 1024);

  // Three caches made with nothing given: release.wasm is fetched and compiled once.
  const requested = session.server.requests.filter((path) => path !== '/favicon.ico');
  assert.equal(requested, [WORKER, '/build/embed/embed.js', '/build/embed/release.wasm'], 'the Worker loads the bundle, which fetches release.wasm beside it, once');
});

test.run();
