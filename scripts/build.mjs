// Builds what the package runs: the WASM engine (release and debug) and the host bundle.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
mkdirSync(join(root, 'build'), { recursive: true });

for (const target of ['release', 'debug']) {
  execFileSync(bin('asc'), ['assembly/index.ts', '--target', target], { cwd: root, stdio: 'inherit' });
}

const entries = ['src/cli.ts'].filter((entry) => existsSync(join(root, entry)));
if (entries.length > 0) {
  const esbuild = await import('esbuild');
  await esbuild.build({
    entryPoints: entries.map((entry) => join(root, entry)),
    outdir: join(root, 'build'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: true,
    banner: { js: '#!/usr/bin/env node' },
    logLevel: 'warning',
  });
}
