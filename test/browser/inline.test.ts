// The inlined bundle (build/embed/embed-inline.js) in headless Chromium: a plain module script
// with no bundler gets a working cache without fetching any .wasm file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { BLANK, withBrowser } from './serve.ts';

const session = withBrowser(test);

test('embed-inline.js makes a cache from its own bytes: set, get, incr, a miss, stats', async () => {
  const page = await session.browser.newPage();
  const problems: string[] = [];
  page.on('pageerror', (error) => problems.push(error.message));
  await page.goto(`${session.server.origin}${BLANK}`);
  await page.route('**/*.wasm', (route) => route.abort());
  session.server.requests.length = 0;
  const result = await page.evaluate(async (url) => {
    const { createCache } = (await import(url)) as typeof import('../../src/embed/index.ts');
    const cache = await createCache({ maxBytes: 4 * 1024 * 1024 });
    const stored = cache.set('greeting', 'hello from the inlined module', { flags: 7 });
    cache.set('counter', '41');
    const item = cache.getItem('greeting');
    return {
      stored,
      value: item === undefined ? undefined : new TextDecoder().decode(item.value),
      flags: item?.flags,
      incr: String(cache.incr('counter', 1n)),
      miss: cache.get('nothing') === undefined,
      stats: cache.stats(),
    };
  }, `${session.server.origin}/build/embed/embed-inline.js`);
  await page.close();

  assert.equal(problems, []);
  assert.ok(result.stored);
  assert.is(result.value, 'hello from the inlined module');
  assert.is(result.flags, 7);
  assert.is(result.incr, '42');
  assert.ok(result.miss);
  assert.is(result.stats.curr_items, 2);
  assert.is(result.stats.get_hits, 1);
  assert.is(result.stats.get_misses, 1);
  assert.is(result.stats.limit_maxbytes, 4 * 1024 * 1024);
  assert.ok(session.server.requests.includes('/build/embed/embed-inline.js'));
  assert.equal(session.server.requests.filter((path) => path.endsWith('.wasm')), [], 'no .wasm file fetched');
});

test.run();
