// Runs every uvu suite under test/ (TypeScript through tsx) and ends with one summary line,
// 'N passed, N failed', that CI reads.
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = ['--import', 'tsx', join(root, 'node_modules', 'uvu', 'bin.js'), 'test', '\\.test\\.ts$'];
// uvu has no per-test timeout: a test that hangs (a reply that never comes) would hold CI until
// its own limit. The whole run takes about 3 minutes; past this it is killed and counted failed.
const LIMIT_MS = 12 * 60 * 1000;
const run = spawnSync(process.execPath, args, {
  cwd: root,
  encoding: 'utf8',
  stdio: ['ignore', 'pipe', 'inherit'],
  timeout: LIMIT_MS,
  killSignal: 'SIGKILL',
  maxBuffer: 64 * 1024 * 1024,
});
process.stdout.write(run.stdout ?? '');
if (run.error !== undefined) {
  const timedOut = /ETIMEDOUT/.test(String(run.error));
  console.log(timedOut ? `the test run was killed after ${LIMIT_MS / 60000} minutes: a test hung (the last suite above)` : `the test run failed: ${run.error.message}`);
  console.log('0 passed, 1 failed');
  process.exit(1);
}
const total = Number(/Total:\s+(\d+)/.exec(run.stdout ?? '')?.[1] ?? 0);
const passed = Number(/Passed:\s+(\d+)/.exec(run.stdout ?? '')?.[1] ?? 0);
const skipped = Number(/Skipped:\s+(\d+)/.exec(run.stdout ?? '')?.[1] ?? 0);
const failed = total - passed - skipped;
console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(run.status !== 0 || failed > 0 || total === 0 ? 1 : 0);
