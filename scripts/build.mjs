// Builds what the package runs: the WASM engine (release and debug), the host bundle (build/cli.js)
// and the in-process cache for browsers, Workers and Node (build/embed/, the package's "./embed").
import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bin = (name) => join(root, 'node_modules', '.bin', name);
mkdirSync(join(root, 'build'), { recursive: true });

for (const target of ['release', 'debug']) {
  execFileSync(bin('asc'), ['assembly/index.ts', '--target', target], { cwd: root, stdio: 'inherit' });
}

const entries = ['src/cli.ts'].filter((entry) => existsSync(join(root, entry)));
const esbuild = entries.length > 0 || existsSync(join(root, 'src/embed/index.ts')) ? await import('esbuild') : undefined;
if (entries.length > 0) {
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

if (existsSync(join(root, 'src/embed/index.ts'))) await buildEmbed();

/**
 * build/embed/: one ESM entry per kind of runtime, all with the same exports (src/embed/index.ts).
 * - embed.js: browsers, Workers, edge runtimes. No node: module in it: the one Node-only step
 *   (reading release.wasm from a file: URL) resolves to a stub here, so no bundler meets node:fs;
 *   the module is fetched from release.wasm beside it unless `module` or `wasm` is passed.
 * - embed.node.js: Node, where that step reads release.wasm beside it with node:fs (external).
 * - embed-inline.js: the module's bytes inlined (base64, decoded at load) and passed as `wasm`
 *   when neither `module` nor `wasm` is given; for a plain <script type=module> with no bundler.
 * - index.d.ts: the declarations of src/embed/index.ts, shared by all three.
 */
async function buildEmbed() {
  const out = join(root, 'build', 'embed');
  rmSync(out, { recursive: true, force: true });
  mkdirSync(out, { recursive: true });
  copyFileSync(join(root, 'build', 'release.wasm'), join(out, 'release.wasm'));

  const common = {
    bundle: true,
    format: 'esm',
    target: 'es2022',
    sourcemap: true,
    logLevel: 'warning',
    legalComments: 'none',
  };
  /** node: modules become a module that throws when used, so a browser bundle never names one. */
  const noNode = {
    name: 'no-node-builtins',
    setup(build) {
      build.onResolve({ filter: /^node:/ }, (args) => ({ path: args.path.slice('node:'.length), namespace: 'unavailable' }));
      build.onLoad({ filter: /.*/, namespace: 'unavailable' }, () => ({
        contents: `throw new Error('wasmcached: no file system here: pass createCache a module or wasm');`,
        loader: 'js',
      }));
    },
  };
  const entry = join(root, 'src', 'embed', 'index.ts');
  await Promise.all([
    esbuild.build({ ...common, entryPoints: { embed: entry }, outdir: out, platform: 'neutral', plugins: [noNode] }),
    esbuild.build({ ...common, entryPoints: { 'embed.node': entry }, outdir: out, platform: 'node', target: 'node20' }),
    esbuild.build({
      ...common,
      stdin: {
        contents: [
          `import { createCache as create } from './src/embed/index.ts';`,
          `import wasm from './build/release.wasm';`,
          `export * from './src/embed/index.ts';`,
          `/** As createCache, with this file's inlined module when neither module nor wasm is given. */`,
          `export function createCache(options = {}) {`,
          `  return create(options.module !== undefined || options.wasm !== undefined ? options : { ...options, wasm });`,
          `}`,
        ].join('\n'),
        resolveDir: root,
        sourcefile: 'embed-inline.js',
        loader: 'js',
      },
      outfile: join(out, 'embed-inline.js'),
      platform: 'neutral',
      loader: { '.wasm': 'binary' },
      plugins: [noNode],
    }),
    declarations(entry, out),
  ]);

  for (const file of ['embed.js', 'embed-inline.js']) {
    const code = readFileSync(join(out, file), 'utf8');
    const named = /\bfrom\s*["']node:|\bimport\s*\(\s*["']node:|\brequire\s*\(\s*["']node:/.exec(code);
    if (named) throw new Error(`build/embed/${file} imports a node: module (${named[0]}): browsers and Workers cannot load it`);
  }
}

/** index.d.ts for src/embed/index.ts: tsc's declarations, which must stand alone (no relative imports). */
async function declarations(entry, out) {
  const tmp = join(root, 'build', '.embed-types');
  rmSync(tmp, { recursive: true, force: true });
  execFileSync(
    bin('tsc'),
    [entry, '--ignoreConfig', '--declaration', '--emitDeclarationOnly', '--outDir', tmp, '--rootDir', join(root, 'src'),
      '--target', 'es2022', '--module', 'esnext', '--moduleResolution', 'bundler', '--strict', '--skipLibCheck',
      '--allowImportingTsExtensions', '--verbatimModuleSyntax', '--lib', 'es2022,dom', '--types', 'node'],
    { cwd: root, stdio: 'inherit' },
  );
  const text = readFileSync(join(tmp, 'embed', 'index.d.ts'), 'utf8');
  rmSync(tmp, { recursive: true, force: true });
  const relative = /\bfrom\s*["']\.{1,2}\//.exec(text);
  if (relative) throw new Error(`the declarations of src/embed/index.ts import other files (${relative[0]}); keep the API's types in it`);
  // The API names WebAssembly.Module, BufferSource and Response: the DOM library's types, which a
  // Node-only project may not load by itself.
  const withLib = text.includes('reference lib="dom"') ? text : `/// <reference lib="dom" />\n${text}`;
  writeFileSync(join(out, 'index.d.ts'), withLib);
}
