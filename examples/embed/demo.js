// The demo page's loop: a Zipf-distributed key stream through a cache-aside get/set, drawn live
// from the cache's own stats(). After a few seconds it checks itself (its counts against stats,
// a snapshot restored into a second cache) and reports on window.demoReport for test/browser/.
import { createCache } from '../../build/embed/embed.js';

const MIB = 1024 * 1024;
const KEY_SPACE = 200_000;
const CACHE_SIZES = [2, 4, 8, 16, 32, 64].map((n) => n * MIB);
const HISTORY = 30 * 60; // frames kept for the chart: about 30 s at 60 fps
const STATS_NEEDED = ['curr_items', 'bytes', 'limit_maxbytes', 'evictions', 'get_hits', 'get_misses', 'cmd_get', 'cmd_set', 'total_items'];

const params = new URLSearchParams(location.search);
const checkOnly = params.has('check'); // a fixed workload, checked once, then stop (the browser test)
const checkAfter = Number(params.get('frames') ?? 90);

const $ = (id) => document.getElementById(id);
const ui = {
  size: $('size'), item: $('item'), skew: $('skew'), pause: $('pause'), flush: $('flush'),
  sizeOut: $('sizeOut'), itemOut: $('itemOut'), skewOut: $('skewOut'),
  hitRatio: $('hitRatio'), items: $('items'), evictions: $('evictions'), opsRate: $('opsRate'),
  memBar: $('memBar'), memText: $('memText'), info: $('info'), check: $('check'), chart: $('chart'),
};

/** mulberry32: a small seeded generator, so the checked run is the same every time. */
function random(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The cumulative distribution of Zipf(s) over ranks 1..n; a sample is a binary search in it. */
function zipf(n, s) {
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) cdf[k] = sum += 1 / Math.pow(k + 1, s);
  for (let k = 0; k < n; k++) cdf[k] /= sum;
  return cdf;
}
function sample(cdf, u) {
  let lo = 0;
  let hi = cdf.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cdf[mid] < u) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

const formatBytes = (n) => (n >= MIB ? `${(n / MIB).toFixed(n >= 10 * MIB ? 0 : 1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(n >= 10240 ? 0 : 1)} KiB` : `${n} B`);
const formatCount = (n) => n.toLocaleString('en-US');

const state = {
  cache: undefined,
  maxBytes: 0,
  itemSize: 0,
  cdf: undefined,
  rand: random(1),
  paused: false,
  opsPerFrame: 4000,
  counts: { ops: 0, gets: 0, hits: 0, misses: 0, sets: 0, stored: 0, corrupt: 0 },
  history: [],
  frames: 0,
  lastEvictions: 0,
  rate: { since: performance.now(), ops: 0, value: 0 },
  value: new Uint8Array(0),
};

function settings() {
  const maxBytes = CACHE_SIZES[Number(ui.size.value) - 1];
  const itemSize = 2 ** Number(ui.item.value);
  const skew = Number(ui.skew.value);
  ui.sizeOut.value = formatBytes(maxBytes);
  ui.itemOut.value = formatBytes(itemSize);
  ui.skewOut.value = skew === 0 ? '0 (uniform)' : skew.toFixed(2);
  return { maxBytes, itemSize, skew };
}

async function makeCache() {
  const { maxBytes } = settings();
  state.cache = await createCache({ maxBytes });
  state.maxBytes = maxBytes;
  state.counts = { ops: 0, gets: 0, hits: 0, misses: 0, sets: 0, stored: 0, corrupt: 0 };
  state.lastEvictions = 0;
}

function applyItemAndSkew() {
  const { itemSize, skew } = settings();
  state.itemSize = itemSize;
  state.value = new Uint8Array(itemSize).fill(0x2e);
  state.cdf = zipf(KEY_SPACE, skew);
}

/** One frame's work: get a key; on a miss, set it (the value carries its key's id and length). */
function work(ops) {
  const { cache, cdf, rand, value, counts } = state;
  const view = new DataView(value.buffer);
  let hits = 0;
  for (let i = 0; i < ops; i++) {
    const id = sample(cdf, rand());
    const key = `user:${id}`;
    const got = cache.get(key);
    counts.gets++;
    if (got !== undefined) {
      hits++;
      const seen = new DataView(got.buffer, got.byteOffset, got.byteLength);
      if (got.length < 8 || seen.getUint32(0, true) !== id || seen.getUint32(4, true) !== got.length) counts.corrupt++;
    } else {
      view.setUint32(0, id, true);
      view.setUint32(4, value.length, true);
      counts.sets++;
      if (cache.set(key, value)) counts.stored++;
    }
  }
  counts.hits += hits;
  counts.misses += ops - hits;
  counts.ops += ops;
  return hits;
}

function frame() {
  if (!state.paused && state.cache !== undefined) {
    const ops = state.opsPerFrame;
    const started = performance.now();
    const hits = work(ops);
    const spent = performance.now() - started;
    // About 6 ms of cache work a frame, so the page stays smooth on any machine.
    if (!checkOnly) state.opsPerFrame = Math.max(500, Math.min(40_000, Math.round(ops * (spent > 0 ? 6 / spent : 1.5))));
    const stats = state.cache.stats();
    state.history.push({ hit: hits / ops, mem: stats.bytes / stats.limit_maxbytes, evicted: stats.evictions - state.lastEvictions, ops });
    if (state.history.length > HISTORY) state.history.shift();
    state.lastEvictions = stats.evictions;
    state.rate.ops += ops;
    state.frames++;
    render(stats);
    if (state.frames === checkAfter) selfCheck(stats);
  }
  if (!(checkOnly && state.frames >= checkAfter)) requestAnimationFrame(frame);
}

function render(stats) {
  const gets = stats.get_hits + stats.get_misses;
  ui.hitRatio.textContent = gets === 0 ? '–' : `${((100 * stats.get_hits) / gets).toFixed(1)}%`;
  ui.items.textContent = formatCount(stats.curr_items);
  ui.evictions.textContent = formatCount(stats.evictions);
  const now = performance.now();
  if (now - state.rate.since >= 500) {
    state.rate.value = (state.rate.ops * 1000) / (now - state.rate.since);
    state.rate.since = now;
    state.rate.ops = 0;
  }
  ui.opsRate.innerHTML = `${formatCount(Math.round(state.rate.value))} <small>ops/s</small>`;
  const used = stats.bytes / stats.limit_maxbytes;
  ui.memBar.style.width = `${Math.min(100, used * 100).toFixed(1)}%`;
  ui.memText.textContent = `${formatBytes(stats.bytes)} of ${formatBytes(stats.limit_maxbytes)} · ${formatCount(stats.total_items)} stored`;
  draw();
}

function draw() {
  const canvas = ui.chart;
  const ratio = window.devicePixelRatio || 1;
  const width = canvas.clientWidth * ratio;
  const height = canvas.clientHeight * ratio;
  if (canvas.width !== width || canvas.height !== height) Object.assign(canvas, { width, height });
  const g = canvas.getContext('2d');
  g.clearRect(0, 0, width, height);
  g.strokeStyle = '#2a2f3d';
  g.lineWidth = 1;
  for (const y of [0.25, 0.5, 0.75]) {
    g.beginPath();
    g.moveTo(0, height * y);
    g.lineTo(width, height * y);
    g.stroke();
  }
  const points = state.history;
  const x = (i) => width - ((points.length - 1 - i) / (HISTORY - 1)) * width;
  const maxEvicted = Math.max(1, ...points.map((p) => p.evicted));
  g.fillStyle = 'rgba(247, 185, 85, 0.55)';
  const bar = Math.max(1, width / HISTORY);
  points.forEach((p, i) => {
    const h = (p.evicted / maxEvicted) * height * 0.35;
    g.fillRect(x(i) - bar, height - h, bar, h);
  });
  const line = (color, value, fill) => {
    g.beginPath();
    points.forEach((p, i) => (i === 0 ? g.moveTo(x(i), height - value(p) * height) : g.lineTo(x(i), height - value(p) * height)));
    g.lineWidth = 2 * ratio;
    g.strokeStyle = color;
    g.stroke();
    if (fill && points.length > 1) {
      g.lineTo(x(points.length - 1), height);
      g.lineTo(x(0), height);
      g.closePath();
      g.fillStyle = fill;
      g.fill();
    }
  };
  line('#6ea8fe', (p) => Math.min(1, p.mem), 'rgba(110, 168, 254, 0.10)');
  line('#3ddc97', (p) => p.hit);
}

/** Checks the cache against the page's own counts and a snapshot restored into a second cache. */
async function selfCheck(stats) {
  const report = {
    frames: state.frames, ops: state.counts.ops, gets: state.counts.gets, hits: state.counts.hits,
    misses: state.counts.misses, sets: state.counts.sets, stored: state.counts.stored, corrupt: state.counts.corrupt,
    stats: { ...stats }, missingStats: STATS_NEEDED.filter((name) => typeof stats[name] !== 'number'),
    statsConsistent: false, sampled: 0, sampledHits: 0, restoredSame: false, snapshotBytes: 0, errors: [],
  };
  try {
    report.statsConsistent =
      stats.get_hits === state.counts.hits && stats.get_misses === state.counts.misses &&
      stats.cmd_get === state.counts.gets && stats.cmd_set === state.counts.sets &&
      stats.limit_maxbytes === state.maxBytes && stats.bytes <= stats.limit_maxbytes;
    // The hottest 1,000 keys as the cache holds them now, then the same from a restored snapshot.
    const keys = Array.from({ length: 1000 }, (_, id) => `user:${id}`);
    const before = keys.map((key) => state.cache.get(key));
    const snapshot = state.cache.snapshot();
    report.snapshotBytes = snapshot.length;
    const copy = await createCache({ maxBytes: state.maxBytes });
    copy.restore(snapshot);
    const after = keys.map((key) => copy.get(key));
    const same = (a, b) => (a === undefined ? b === undefined : b !== undefined && a.length === b.length && a.every((byte, i) => byte === b[i]));
    report.sampled = keys.length;
    report.sampledHits = before.filter((value) => value !== undefined).length;
    report.restoredSame = before.every((value, i) => same(value, after[i])) && copy.stats().curr_items === state.cache.stats().curr_items;
  } catch (error) {
    report.errors.push(String(error?.stack ?? error));
  }
  const ok = report.errors.length === 0 && report.missingStats.length === 0 && report.statsConsistent && report.restoredSame && report.corrupt === 0;
  ui.check.className = ok ? 'ok' : 'bad';
  ui.check.textContent = ok
    ? `self-check passed: stats match ${formatCount(report.gets)} gets; a ${formatBytes(report.snapshotBytes)} snapshot restores ${report.sampledHits} of the 1,000 hottest keys intact`
    : `self-check failed: ${JSON.stringify({ ...report, stats: undefined })}`;
  window.demoReport = report;
  document.body.dataset.done = ok ? 'ok' : 'failed';
}

window.addEventListener('error', (event) => {
  ui.check.className = 'bad';
  ui.check.textContent = `error: ${event.message}`;
  window.demoReport = { errors: [String(event.message)] };
  document.body.dataset.done = 'failed';
});

ui.size.addEventListener('input', () => makeCache().catch(reportError));
ui.item.addEventListener('input', applyItemAndSkew);
ui.skew.addEventListener('input', applyItemAndSkew);
ui.pause.addEventListener('click', () => {
  state.paused = !state.paused;
  ui.pause.textContent = state.paused ? 'Resume' : 'Pause';
});
ui.flush.addEventListener('click', () => state.cache?.flush());

function reportError(error) {
  ui.info.textContent = `could not start: ${error?.message ?? error}`;
  window.demoReport = { errors: [String(error?.stack ?? error)] };
  document.body.dataset.done = 'failed';
}

try {
  applyItemAndSkew();
  await makeCache();
  ui.info.textContent = `${formatCount(KEY_SPACE)} keys · ${CACHE_SIZES.length} cache sizes · every frame: get, and set on a miss`;
  requestAnimationFrame(frame);
} catch (error) {
  reportError(error);
}
