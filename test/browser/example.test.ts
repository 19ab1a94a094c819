// The demo page (examples/embed/) in headless Chromium, on the browser bundle (build/embed/embed.js,
// which fetches release.wasm beside it): it runs a fixed Zipf workload, then checks its own counts
// against stats() and a snapshot restored into a second cache; this reads what it computed.
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { withBrowser } from './serve.ts';

interface DemoReport {
  frames: number;
  ops: number;
  gets: number;
  hits: number;
  misses: number;
  sets: number;
  stored: number;
  corrupt: number;
  stats: Record<string, number>;
  missingStats: string[];
  statsConsistent: boolean;
  sampled: number;
  sampledHits: number;
  restoredSame: boolean;
  snapshotBytes: number;
  errors: string[];
}

const session = withBrowser(test);

test('the demo page fills a cache from its bundle, its counts match stats(), and a snapshot restores the same values', async () => {
  const page = await session.browser.newPage({ viewport: { width: 1000, height: 900 } });
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(`pageerror: ${error.message}`));
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  await page.goto(`${session.server.origin}/examples/embed/index.html?check&frames=90`);
  await page.waitForFunction(() => document.body.dataset.done !== undefined, undefined, { timeout: 60_000 });
  const report = (await page.evaluate(() => (window as unknown as { demoReport: unknown }).demoReport)) as DemoReport;
  const done = await page.evaluate(() => document.body.dataset.done);
  await page.screenshot({ path: join(tmpdir(), 'wasmcached-example-embed.png') }); // to look at by hand
  await page.close();

  assert.equal(problems, []);
  assert.equal(report.errors, []);
  assert.is(done, 'ok');
  assert.ok(session.server.requests.includes('/build/embed/embed.js'), 'the page loads the browser bundle');
  assert.ok(session.server.requests.includes('/build/embed/release.wasm'), 'the bundle fetches release.wasm beside it');
  assert.is(report.frames, 90);
  assert.is(report.ops, 90 * 4000);
  assert.is(report.gets, report.ops);
  assert.is(report.hits + report.misses, report.gets);
  assert.is(report.sets, report.misses, 'cache-aside: one set per miss');
  assert.is(report.stored, report.sets, 'every 1 KiB item is stored');
  assert.is(report.corrupt, 0, 'every hit returns the value set for its key');
  assert.equal(report.missingStats, []);
  assert.ok(report.statsConsistent, `stats match the page's counts: ${JSON.stringify(report.stats)}`);
  assert.is(report.stats.get_hits, report.hits);
  assert.is(report.stats.get_misses, report.misses);
  assert.is(report.stats.limit_maxbytes, 8 * 1024 * 1024);
  assert.ok(report.stats.bytes > 0 && report.stats.bytes <= report.stats.limit_maxbytes);
  assert.ok(report.stats.curr_items > 1000, `items live: ${report.stats.curr_items}`);
  assert.ok(report.stats.evictions > 0, '8 MiB of 1 KiB items over 200,000 keys evicts');
  assert.is(report.stats.total_items, report.stored);
  // Zipf(0.9) over 200,000 keys with ~7,000 of them cached: far above a uniform stream's 3.5%.
  assert.ok(report.hits / report.gets > 0.3, `hit ratio ${report.hits / report.gets}`);
  assert.is(report.sampled, 1000);
  assert.ok(report.sampledHits > 500, `the hottest keys are cached: ${report.sampledHits}`);
  assert.ok(report.restoredSame, 'the restored cache holds the same values');
  assert.ok(report.snapshotBytes > report.stats.limit_maxbytes / 2, `snapshot of ${report.snapshotBytes} bytes`);
});

test.run();
