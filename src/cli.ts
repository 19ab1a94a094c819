// The wasmcached command: parses memcached's flags, loads and initializes the engine, and (once
// the network server lands) serves. The only file that exits the process, and the one that knows
// the built-in engines. cf. memcached.c main().

import { readFileSync } from 'node:fs';
import { formatEngineConfig } from './engine/config.ts';
import { EngineLoadError, loadEngine, startEngine } from './engine/loader.ts';
import type { BuiltinEngines } from './engine/loader.ts';
import { createServerApi } from './server/log.ts';
import { engineConfigFor, parseSettings, usage } from './server/settings.ts';

const PROGRAM = 'wasmcached';

/** Engines that ship with wasmcached; any other -E value is a module path or a package. */
const BUILTIN_ENGINES: BuiltinEngines = {
  wasm: () => import('./engines/wasm/index.ts'),
  ts: () => import('./engines/ts/index.ts'),
};

/** EXIT_FAILURE, as memcached exits for a bad flag or an engine that will not start. */
const EXIT_FAILURE = 1;

async function main(argv: readonly string[]): Promise<number> {
  let settings;
  let config;
  try {
    settings = parseSettings(argv);
    config = engineConfigFor(settings);
  } catch (error) {
    // A UsageError, or parseEngineConfig's error for an entry without '='.
    if (!(error instanceof Error)) throw error;
    process.stderr.write(`${PROGRAM}: ${error.message}\nTry '${PROGRAM} -h' for the options.\n`);
    return EXIT_FAILURE;
  }
  if (settings.help) {
    process.stdout.write(usage(PROGRAM, packageVersion()));
    return 0;
  }
  if (settings.version) {
    process.stdout.write(`${PROGRAM} ${packageVersion()}\n`);
    return 0;
  }

  const serverApi = createServerApi(settings.verbose);
  serverApi.log('info', `engine config: ${formatEngineConfig(config)}`);
  let engine;
  try {
    const loaded = await loadEngine(settings.engine, BUILTIN_ENGINES);
    engine = await startEngine(loaded, serverApi, config);
    const info = engine.getInfo();
    serverApi.log('info', `Loaded engine: ${info.description}`);
    serverApi.log('info', `Supplying the following features: ${info.features.join(', ')}`);
  } catch (error) {
    if (!(error instanceof EngineLoadError)) throw error;
    process.stderr.write(`${PROGRAM}: ${error.message}\n`);
    return EXIT_FAILURE;
  }

  await engine.destroy();
  if (settings.checkConfig) return 0;
  process.stderr.write(
    `${PROGRAM}: the engine initialized, but the network server is not implemented yet ` +
      `(it lands with issue 3). Use --check-config to validate a configuration.\n`,
  );
  return EXIT_FAILURE;
}

/** package.json sits one level above both src/cli.ts and the bundled build/cli.js. */
function packageVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  const { version } = JSON.parse(text) as { version?: unknown };
  return typeof version === 'string' ? version : 'unknown';
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    // A broken invariant, not a user error: show everything.
    process.stderr.write(`${PROGRAM}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(70);
  },
);
