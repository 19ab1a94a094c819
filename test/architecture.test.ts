// The import table of STYLE.md ("What may import what"), checked over every import specifier in
// src/ and assembly/: static imports, re-exports and import('literal').
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

type Layer = 'assembly' | 'engine' | 'engines' | 'protocol' | 'server' | 'cli' | 'embed';

/** The layer a repository-relative path (with '/') belongs to, or undefined outside them all. */
function layerOf(path: string): Layer | undefined {
  if (path.startsWith('assembly/')) return 'assembly';
  if (path.startsWith('src/engine/')) return 'engine';
  if (path.startsWith('src/engines/')) return 'engines';
  if (path.startsWith('src/protocol/')) return 'protocol';
  if (path.startsWith('src/server/')) return 'server';
  if (path === 'src/cli.ts') return 'cli';
  if (path.startsWith('src/embed/')) return 'embed';
  return undefined;
}

const NODE_NET = /^(node:)?net$/;

/**
 * Why `from` (a layer's file) may not import `specifier` (resolved to `target`, a repository path,
 * when relative), or undefined when it may. Node built-ins other than net are not in the table.
 */
function violation(from: string, specifier: string, target: string | undefined): string | undefined {
  const layer = layerOf(from)!;
  if (target === undefined) {
    if (layer === 'assembly') return 'assembly/ imports only assembly/';
    if (NODE_NET.test(specifier) && (layer === 'engine' || layer === 'engines' || layer === 'protocol' || layer === 'embed')) {
      return `node:net is never imported in src/${layer}/`;
    }
    return undefined;
  }
  const to = layerOf(target);
  switch (layer) {
    case 'assembly':
      return to === 'assembly' ? undefined : 'assembly/ imports only assembly/';
    case 'engine':
      return to === 'engine' ? undefined : 'src/engine/ imports only itself';
    case 'engines': {
      const own = from.split('/').slice(0, 3).join('/');
      if (to === 'engine' || target.startsWith(`${own}/`)) return undefined;
      // The one composition: the fs engine is the ts engine's cache kept on disk, so it builds on
      // the ts engine (its entry point only) rather than repeating it.
      if (own === 'src/engines/fs' && target === 'src/engines/ts/index.ts') return undefined;
      return 'an engine imports only src/engine/ and its own directory (fs: and the ts engine)';
    }
    case 'protocol':
      return to === 'protocol' || target === 'src/engine/status.ts'
        ? undefined
        : 'src/protocol/ imports only protocol and src/engine/status.ts';
    case 'server':
      return to === 'server' || to === 'protocol' || to === 'engine'
        ? undefined
        : 'src/server/ imports protocol, server and the engine interface, never an engine';
    case 'cli':
      return undefined;
    case 'embed':
      // Browsers and edge runtimes: the engine interface and the wasm engine's Node-free host
      // half, never the server, the protocols, or the module finder that reads files.
      return to === 'embed' || to === 'engine' || target === 'src/engines/wasm/engine.ts' || target === 'src/engines/wasm/layout.ts'
        ? undefined
        : 'src/embed/ imports only the engine interface and src/engines/wasm/engine.ts';
  }
}

/** Import specifiers in TypeScript source: import/export ... from '...', import '...', import('...'). */
function importSpecifiers(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const specifiers: string[] = [];
  const patterns = [
    /\b(?:import|export)\s[^'"`;]*?\bfrom\s*['"]([^'"]+)['"]/g,
    /\bimport\s*['"]([^'"]+)['"]/g,
    /\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g,
  ];
  for (const pattern of patterns) for (const m of code.matchAll(pattern)) specifiers.push(m[1]!);
  return specifiers;
}

function sourceFiles(dir: string): string[] {
  const files: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) files.push(...sourceFiles(path));
    else if (/\.(ts|js|mjs)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) files.push(path);
  }
  return files;
}

test('the scanner finds static, re-exported, side-effect and dynamic imports, not comments', () => {
  const source = [
    `import { a } from './a.ts';`,
    `import type {`,
    `  B,`,
    `} from "../b.ts";`,
    `export { c } from './c.ts';`,
    `import './d.ts';`,
    `const e = () => import('./e.ts');`,
    `// import { f } from './f.ts';`,
    `/* import g from './g.ts'; */`,
    `const dynamic = import(someVariable);`,
  ].join('\n');
  assert.equal(importSpecifiers(source).sort(), ['../b.ts', './a.ts', './c.ts', './d.ts', './e.ts']);
});

test('every file under src/ belongs to a layer of the table', () => {
  const outside = sourceFiles('src').filter((file) => layerOf(file) === undefined);
  assert.equal(outside, [], 'add the layer to STYLE.md and to this test');
});

test('imports follow the table in STYLE.md', () => {
  const files = [...sourceFiles('src'), ...sourceFiles('assembly')];
  let checked = 0;
  const problems: string[] = [];
  for (const file of files) {
    for (const specifier of importSpecifiers(readFileSync(join(root, file), 'utf8'))) {
      checked += 1;
      const target = specifier.startsWith('.')
        ? relative(root, resolve(root, dirname(file), specifier)).split(sep).join('/')
        : undefined;
      const problem = violation(file, specifier, target);
      if (problem !== undefined) problems.push(`${file} imports '${specifier}': ${problem}`);
    }
  }
  assert.ok(checked > 0, 'no imports found: the scanner is broken');
  assert.equal(problems, []);
});

test('the rules reject what the table forbids', () => {
  assert.ok(violation('src/server/process.ts', '../engines/wasm/index.ts', 'src/engines/wasm/index.ts'));
  assert.ok(violation('src/protocol/text.ts', '../engine/types.ts', 'src/engine/types.ts'));
  assert.ok(violation('src/protocol/text.ts', 'node:net', undefined));
  assert.ok(violation('src/engines/ts/index.ts', 'net', undefined));
  assert.ok(violation('src/engines/ts/index.ts', '../wasm/index.ts', 'src/engines/wasm/index.ts'));
  assert.is(violation('src/engines/fs/index.ts', '../ts/index.ts', 'src/engines/ts/index.ts'), undefined);
  assert.ok(violation('src/engines/fs/index.ts', '../ts/items.ts', 'src/engines/ts/items.ts'));
  assert.ok(violation('src/engines/ts/index.ts', '../fs/index.ts', 'src/engines/fs/index.ts'));
  assert.ok(violation('src/engine/loader.ts', '../server/log.ts', 'src/server/log.ts'));
  assert.ok(violation('src/embed/index.ts', '../engines/wasm/module.ts', 'src/engines/wasm/module.ts'));
  assert.ok(violation('src/embed/index.ts', '../server/server.ts', 'src/server/server.ts'));
  assert.is(violation('src/embed/index.ts', '../engines/wasm/engine.ts', 'src/engines/wasm/engine.ts'), undefined);
  assert.ok(violation('assembly/items.ts', '../src/engine/status.ts', 'src/engine/status.ts'));
  assert.is(violation('src/server/process.ts', 'node:net', undefined), undefined);
  assert.is(violation('src/cli.ts', './engines/ts/index.ts', 'src/engines/ts/index.ts'), undefined);
});

test.run();
