// The engine loader (-E): built-in names, module paths and URLs, and the errors a user sees when a
// module is not an engine or an engine refuses its configuration.
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createManualClock } from '../../src/engine/clock.ts';
import { parseEngineConfig } from '../../src/engine/config.ts';
import { EngineLoadError, loadEngine, startEngine } from '../../src/engine/loader.ts';
import type { BuiltinEngines } from '../../src/engine/loader.ts';
import { Status, StoreOperation } from '../../src/engine/status.ts';
import { createItemInfo, itemInfoValue } from '../../src/engine/types.ts';
import type { EngineHandle, ServerApi } from '../../src/engine/types.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const EXAMPLE = './examples/engine/map-engine.js';
const TS_ENGINE = join(root, 'src', 'engines', 'ts', 'index.ts');
const encode = (text: string): Uint8Array => new TextEncoder().encode(text);

function serverApi(lines: string[] = []): ServerApi {
  return { core: createManualClock(), log: (level, message) => void lines.push(`${level}: ${message}`) };
}

async function rejects(promise: Promise<unknown>, ...patterns: RegExp[]): Promise<void> {
  try {
    await promise;
  } catch (error) {
    assert.instance(error, EngineLoadError);
    for (const pattern of patterns) assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable('expected an EngineLoadError');
}

async function setThenGet(engine: EngineHandle, key: string, value: string, flags: number): Promise<void> {
  const bytes = encode(value);
  const item = await engine.allocate(encode(key), bytes.length, flags, 0, StoreOperation.SET);
  assert.ok(item > 0, `allocate returned ${item}`);
  engine.itemValue(item).set(bytes);
  assert.is(await engine.store(item, StoreOperation.SET, 0n), Status.SUCCESS);
  engine.release(item);

  const hit = await engine.get(encode(key));
  assert.ok(hit > 0, `get returned ${hit}`);
  const info = createItemInfo();
  engine.getItemInfo(hit, info);
  assert.is(new TextDecoder().decode(itemInfoValue(info)), value);
  assert.is(info.flags, flags);
  engine.release(hit);
  assert.is(await engine.get(encode(`${key}-missing`)), -Status.KEY_ENOENT);
}

test('loads an engine by path relative to cwd, initializes it, and sets and gets', async () => {
  const loaded = await loadEngine(EXAMPLE, {}, root);
  assert.is(loaded.source, pathToFileURL(join(root, EXAMPLE)).href);
  const engine = await startEngine(loaded, serverApi(), parseEngineConfig('cache_size=1m;use_cas=true'));
  await setThenGet(engine, 'greeting', 'hello', 7);
  await engine.destroy();
});

test('an absolute path and a file URL name the same module', async () => {
  const byPath = await loadEngine(join(root, EXAMPLE), {}, '/');
  const byUrl = await loadEngine(pathToFileURL(join(root, EXAMPLE)).href, {}, '/');
  assert.is(byPath.createInstance, byUrl.createInstance);
});

test('a built-in name is looked up in the table the caller passes', async () => {
  let imported = 0;
  const builtins: BuiltinEngines = {
    map: () => {
      imported += 1;
      return import(pathToFileURL(join(root, EXAMPLE)).href);
    },
  };
  const loaded = await loadEngine('map', builtins);
  assert.is(loaded.source, 'builtin');
  assert.is(imported, 1);
  await rejects(loadEngine('toString', builtins), /cannot load engine 'toString'/);
});

test('an unknown engine config key is an error that names the key (example engine)', async () => {
  const lines: string[] = [];
  const loaded = await loadEngine(EXAMPLE, {}, root);
  await rejects(
    startEngine(loaded, serverApi(lines), parseEngineConfig('cache_size=1m;no_such_key=1')),
    /engine '\.\/examples\/engine\/map-engine\.js' rejected its configuration/,
    /no_such_key/,
  );
  // The reason is in the error, not also in the log.
  assert.equal(lines.filter((line) => line.includes('no_such_key')), []);
});

test('an unknown engine config key is an error for the built-in ts engine', async () => {
  if (!existsSync(TS_ENGINE)) {
    console.log('  (src/engines/ts/index.ts does not exist yet; skipped)');
    return;
  }
  const builtins: BuiltinEngines = { ts: () => import(pathToFileURL(TS_ENGINE).href) };
  const loaded = await loadEngine('ts', builtins);
  await rejects(
    startEngine(loaded, serverApi(), parseEngineConfig('no_such_key=1')),
    /engine 'ts' rejected its configuration/,
    /no_such_key/,
  );
});

test('a package name is resolved from cwd, including a package that exports only for import', async () => {
  const cwd = mkdtempSync(join(tmpdir(), 'wasmcached-loader-'));
  try {
    const reexport = `export { createInstance } from '${pathToFileURL(join(root, EXAMPLE)).href}';\n`;
    const packages: Record<string, object> = {
      'plain-engine': { name: 'plain-engine', type: 'module', main: 'index.js' },
      '@someone/import-only-engine': {
        name: '@someone/import-only-engine',
        type: 'module',
        exports: { '.': { types: './index.d.ts', import: './index.js' }, './package.json': './package.json' },
      },
    };
    for (const [name, manifest] of Object.entries(packages)) {
      const dir = join(cwd, 'node_modules', ...name.split('/'));
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest));
      writeFileSync(join(dir, 'index.js'), reexport);
      const loaded = await loadEngine(name, {}, cwd);
      assert.is(loaded.source, pathToFileURL(join(dir, 'index.js')).href);
      const engine = await startEngine(loaded, serverApi(), new Map());
      await setThenGet(engine, 'k', 'v', 0);
      await engine.destroy();
    }
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
});

test('a module without createInstance is rejected', async () => {
  await rejects(
    loadEngine('./test/engine/fixtures/not-an-engine.js', {}, root),
    /engine '\.\/test\/engine\/fixtures\/not-an-engine\.js' \(file:.*\) does not export a createInstance function/,
  );
});

test('a missing module or package is a load error, with a hint for a bare file name', async () => {
  await rejects(loadEngine('./no/such/engine.js', {}, root), /cannot load engine '\.\/no\/such\/engine\.js' from file:/);
  await rejects(loadEngine('no-such-wasmcached-engine', {}, root), /cannot load engine 'no-such-wasmcached-engine'/);
  await rejects(loadEngine('engine.js', {}, root), /a path must start with \.\/ or \//);
  await rejects(loadEngine('', {}, root), /no engine given/);
});

test('an engine that does not speak this interface version, or returns no handle, is rejected', async () => {
  const refuses: BuiltinEngines = { old: async () => ({ createInstance: () => Status.ENOTSUP }) };
  await rejects(startEngine(await loadEngine('old', refuses), serverApi(), new Map()), /does not support engine interface version 1/);

  const partial: BuiltinEngines = { partial: async () => ({ createInstance: () => ({ interfaceVersion: 1, get: () => 0 }) }) };
  await rejects(startEngine(await loadEngine('partial', partial), serverApi(), new Map()), /its handle lacks getInfo, initialize/);
});

test('warnings an engine logs while initializing successfully reach the log', async () => {
  const lines: string[] = [];
  const { createInstance } = await loadEngine(EXAMPLE, {}, root);
  const chatty: BuiltinEngines = {
    chatty: async () => ({
      createInstance: (version: number, getServerApi: () => ServerApi) => {
        const handle = createInstance(version, getServerApi);
        if (typeof handle === 'number') return handle;
        const initialize = handle.initialize.bind(handle);
        handle.initialize = (config) => {
          getServerApi().log('warning', 'chatty: a warning');
          return initialize(config);
        };
        return handle;
      },
    }),
  };
  const engine = await startEngine(await loadEngine('chatty', chatty), serverApi(lines), new Map());
  assert.ok(lines.includes('warning: chatty: a warning'), lines.join('\n'));
  await engine.destroy();
});

test.run();
