// Finds the engine named by -E and brings it up: a built-in name, a module path or file URL, or
// a package name; then createInstance and initialize, with an error a person can act on.
// cf. memcached's engine branch, utilities/engine_loader.c (load_engine, init_engine).

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { EngineConfig } from './config.ts';
import { formatEngineConfig } from './config.ts';
import { Status, statusName } from './status.ts';
import type { CreateInstance, EngineHandle, LogLevel, ServerApi } from './types.ts';
import { ENGINE_INTERFACE_VERSION } from './types.ts';

/**
 * Engines that ship with the server, by name: each entry imports the engine's module lazily.
 * The caller owns the table (src/engine may not import an engine).
 */
export type BuiltinEngines = Readonly<Record<string, () => Promise<unknown>>>;

/** An engine module that has been found and imported, not yet instantiated. */
export interface LoadedEngine {
  /** The -E value, as given. */
  readonly name: string;
  /** 'builtin', or the URL or package the module was imported from. */
  readonly source: string;
  readonly createInstance: CreateInstance;
}

/** Why an engine could not be loaded, created or initialized; the message is for the user. */
export class EngineLoadError extends Error {
  override readonly name = 'EngineLoadError';
}

/** Every method an EngineHandle must have; checked once, so a bad module fails at startup. */
const HANDLE_METHODS = [
  'getInfo',
  'initialize',
  'destroy',
  'allocate',
  'itemValue',
  'store',
  'release',
  'get',
  'getAndTouch',
  'touch',
  'remove',
  'arithmetic',
  'flush',
  'getItemInfo',
  'bump',
  'setExptime',
  'markItem',
  'getStats',
  'resetStats',
] as const satisfies readonly (keyof EngineHandle)[];

/**
 * Imports the engine `spec` names: a key of `builtins`; else a path (starting with '.', or
 * absolute; relative to `cwd`) or a URL ('file:...'); else a package name, resolved from `cwd`
 * first and then from the server's own install. The module must export `createInstance`.
 */
export async function loadEngine(
  spec: string,
  builtins: BuiltinEngines,
  cwd: string = process.cwd(),
): Promise<LoadedEngine> {
  if (spec === '') throw new EngineLoadError('no engine given (-E): expected a name, a path or a package');
  let module: unknown;
  let source: string;
  if (Object.hasOwn(builtins, spec)) {
    source = 'builtin';
    module = await importOrExplain(spec, source, () => builtins[spec]!());
  } else if (isPath(spec)) {
    source = pathToFileURL(resolve(cwd, spec)).href;
    module = await importOrExplain(spec, source, () => import(source));
  } else if (/^[a-z][a-z0-9+.-]+:/i.test(spec)) {
    source = spec;
    module = await importOrExplain(spec, source, () => import(source));
  } else {
    source = resolvePackage(spec, cwd);
    module = await importOrExplain(spec, source, () => import(source));
  }
  const createInstance = findCreateInstance(module);
  if (createInstance === undefined) {
    throw new EngineLoadError(`engine '${spec}' (${source}) does not export a createInstance function`);
  }
  return { name: spec, source, createInstance };
}

/**
 * Creates the engine's instance for this server's interface version and initializes it with
 * `config`, as memcached's init_engine did. On failure the instance is destroyed and the error
 * carries the engine's warnings from initialize (an engine logs why it rejects a config).
 */
export async function startEngine(
  engine: LoadedEngine,
  serverApi: ServerApi,
  config: EngineConfig,
): Promise<EngineHandle> {
  // Warnings logged while initializing are held back: on failure they are the error's reason,
  // on success they are passed on in order.
  let held: string[] | null = [];
  const api: ServerApi = {
    core: serverApi.core,
    log(level: LogLevel, message: string): void {
      if (held !== null && level === 'warning') held.push(message.trimEnd());
      else serverApi.log(level, message);
    },
  };
  const name = engine.name;

  let created: EngineHandle | Status;
  try {
    created = engine.createInstance(ENGINE_INTERFACE_VERSION, () => api);
  } catch (error) {
    throw new EngineLoadError(`engine '${name}': createInstance failed: ${describe(error)}`);
  }
  if (typeof created === 'number') {
    if (created === Status.ENOTSUP) {
      throw new EngineLoadError(
        `engine '${name}' does not support engine interface version ${ENGINE_INTERFACE_VERSION}`,
      );
    }
    throw new EngineLoadError(`engine '${name}': createInstance returned ${statusName(created)}`);
  }
  const handle = checkHandle(name, created);

  let status: Status;
  try {
    status = await handle.initialize(config);
  } catch (error) {
    await destroyQuietly(handle);
    throw new EngineLoadError(`engine '${name}': initialize failed: ${describe(error)}`);
  }
  const warnings = held;
  held = null;
  if (status === Status.SUCCESS) {
    for (const warning of warnings) serverApi.log('warning', warning);
    return handle;
  }
  await destroyQuietly(handle);
  const reason = warnings.length > 0 ? warnings.join('; ') : `config '${formatEngineConfig(config)}'`;
  if (status === Status.EINVAL) {
    throw new EngineLoadError(`engine '${name}' rejected its configuration: ${reason}`);
  }
  if (status === Status.ENOTSUP) {
    throw new EngineLoadError(`engine '${name}' does not support this configuration: ${reason}`);
  }
  throw new EngineLoadError(`engine '${name}' failed to initialize (${statusName(status)}): ${reason}`);
}

/** './x', '../x', '/x', 'C:\\x': a file, as the shell would read it. Bare names are packages. */
function isPath(spec: string): boolean {
  return spec.startsWith('./') || spec.startsWith('../') || spec === '.' || spec === '..' ||
    spec.startsWith('.\\') || spec.startsWith('..\\') || isAbsolute(spec);
}

/**
 * A package resolved from `cwd` (where a user installs their engine), or else the bare name, which
 * import() then resolves from the server's own location.
 */
function resolvePackage(spec: string, cwd: string): string {
  const require = createRequire(join(cwd, 'package.json'));
  try {
    return pathToFileURL(require.resolve(spec)).href;
  } catch {
    return resolveImportOnly(spec, require.resolve.paths(spec) ?? []) ?? spec;
  }
}

/**
 * The entry of a package that exports only under the 'import' condition, which require.resolve
 * cannot see: the first of its exports['.'] conditions that Node's import would take.
 */
function resolveImportOnly(spec: string, nodeModules: readonly string[]): string | undefined {
  if (!/^(@[^/]+\/)?[^/@.][^/]*$/.test(spec)) return undefined; // a package root, not a subpath
  for (const dir of nodeModules) {
    let manifest: unknown;
    try {
      manifest = JSON.parse(readFileSync(join(dir, spec, 'package.json'), 'utf8'));
    } catch {
      continue;
    }
    const exported = property(manifest, 'exports');
    const subpaths = typeof exported === 'object' && exported !== null && Object.keys(exported).some((k) => k.startsWith('.'));
    const target = importTarget(subpaths ? property(exported, '.') : exported);
    return target === undefined ? undefined : pathToFileURL(join(dir, spec, target)).href;
  }
  return undefined;
}

const IMPORT_CONDITIONS = new Set(['node', 'import', 'default']);

function importTarget(entry: unknown): string | undefined {
  if (typeof entry === 'string') return entry;
  if (Array.isArray(entry)) {
    for (const alternative of entry) {
      const target = importTarget(alternative);
      if (target !== undefined) return target;
    }
    return undefined;
  }
  if (typeof entry !== 'object' || entry === null) return undefined;
  for (const [condition, value] of Object.entries(entry)) {
    if (!IMPORT_CONDITIONS.has(condition)) continue;
    const target = importTarget(value);
    if (target !== undefined) return target;
  }
  return undefined;
}

async function importOrExplain(spec: string, source: string, load: () => Promise<unknown>): Promise<unknown> {
  try {
    return await load();
  } catch (error) {
    const hint = !isPath(spec) && /\.(m?js|cjs|ts)$/.test(spec) ? ` (a path must start with ./ or /)` : '';
    const from = source === spec || source === 'builtin' ? '' : ` from ${source}`;
    throw new EngineLoadError(`cannot load engine '${spec}'${from}: ${describe(error)}${hint}`);
  }
}

/** `createInstance` as a named export, or on a CommonJS module's default export. */
function findCreateInstance(module: unknown): CreateInstance | undefined {
  for (const candidate of [module, property(module, 'default')]) {
    const createInstance = property(candidate, 'createInstance');
    if (typeof createInstance === 'function') return createInstance as CreateInstance;
  }
  return undefined;
}

function checkHandle(name: string, handle: unknown): EngineHandle {
  if (typeof handle !== 'object' || handle === null) {
    throw new EngineLoadError(`engine '${name}': createInstance returned ${String(handle)}, not an engine handle`);
  }
  const missing = HANDLE_METHODS.filter((method) => typeof property(handle, method) !== 'function');
  if (missing.length > 0) {
    throw new EngineLoadError(`engine '${name}': its handle lacks ${missing.join(', ')}`);
  }
  const version = property(handle, 'interfaceVersion');
  if (version !== ENGINE_INTERFACE_VERSION) {
    throw new EngineLoadError(
      `engine '${name}' speaks interface version ${String(version)}, the server ${ENGINE_INTERFACE_VERSION}`,
    );
  }
  return handle as EngineHandle;
}

function property(value: unknown, key: string): unknown {
  return (typeof value === 'object' || typeof value === 'function') && value !== null
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

async function destroyQuietly(handle: EngineHandle): Promise<void> {
  try {
    await handle.destroy();
  } catch {
    // The engine already failed; its destroy failing too adds nothing the user can act on.
  }
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
