// The wasmcached command: memcached's flags, the engine loaded and initialized, then the network
// server until SIGTERM or SIGINT. The only file that exits the process, and the one that knows
// the built-in engines. cf. memcached.c main().

import { spawn } from 'node:child_process';
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { formatEngineConfig } from './engine/config.ts';
import { EngineLoadError, loadEngine, startEngine } from './engine/loader.ts';
import type { BuiltinEngines } from './engine/loader.ts';
import type { EngineHandle, ServerApi } from './engine/types.ts';
import { createServerApi } from './server/log.ts';
import { restoreMemoryFile, saveMemoryFile, takeMemoryFile } from './server/restart.ts';
import { AuthFileError, loadAuthFile } from './server/auth.ts';
import { crawlerSettingsOf } from './server/crawler.ts';
import { tuningSettingsOf } from './server/tuning.ts';
import { MemcachedServer } from './server/server.ts';
import type { ServerOptions } from './server/server.ts';
import { UsageError, engineConfigFor, parseSettings, reportSettingsStats, usage } from './server/settings.ts';
import type { Settings } from './server/settings.ts';

const PROGRAM = 'wasmcached';
/** The memcached release whose protocol and behaviour we match: VERSION and `stats` report it. */
export const MEMCACHED_VERSION = '1.6.18';

/** Engines that ship with wasmcached; any other -E value is a module path or a package. */
const BUILTIN_ENGINES: BuiltinEngines = {
  wasm: () => import('./engines/wasm/index.ts'),
  ts: () => import('./engines/ts/index.ts'),
  fs: () => import('./engines/fs/index.ts'),
};

/** EXIT_FAILURE, as memcached exits for a bad flag or an engine that will not start. */
const EXIT_FAILURE = 1;
/** memcached's EX_OSERR when a port cannot be bound, EX_NOUSER for an unknown -u user. */
const EX_OSERR = 71;
const EX_NOUSER = 67;
/** Set in the environment of the process `-d` starts, so that it does not fork again. */
const DAEMON_CHILD = 'WASMCACHED_DAEMON_CHILD';

async function main(argv: readonly string[]): Promise<number | undefined> {
  let settings: Settings;
  let config;
  try {
    settings = parseSettings(argv);
    config = engineConfigFor(settings);
  } catch (error) {
    // A UsageError, or parseEngineConfig's error for an entry without '='.
    if (!(error instanceof Error)) throw error;
    process.stderr.write(`${PROGRAM}: ${error.message}\nTry '${PROGRAM} -h' for the options.\n`);
    return error instanceof UsageError ? error.status : EXIT_FAILURE;
  }
  for (const warning of settings.warnings) process.stderr.write(`${warning}\n`);
  if (settings.help) {
    process.stdout.write(usage(PROGRAM, packageVersion()));
    return 0;
  }
  if (settings.version) {
    process.stdout.write(`${PROGRAM} ${packageVersion()} (memcached ${MEMCACHED_VERSION} protocol)\n`);
    return 0;
  }
  if (settings.license) {
    process.stdout.write(`${PROGRAM} ${packageVersion()}\n\n${readFileSync(new URL('../LICENSE', import.meta.url), 'utf8')}`);
    return 0;
  }
  let auth: Pick<ServerOptions, 'saslPwdb' | 'asciiAuth'>;
  try {
    auth = authOptions(settings);
  } catch (error) {
    if (!(error instanceof AuthFileError)) throw error;
    process.stderr.write(error.message);
    return EXIT_FAILURE;
  }
  if (settings.lockMemory) {
    process.stderr.write('warning: -k invalid, mlockall() not supported on this platform.  proceeding without.\n');
  }
  if (settings.daemonize && process.env[DAEMON_CHILD] === undefined && !settings.checkConfig) {
    // memcached forks and the parent exits at once; Node cannot fork, so start a detached copy.
    const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv], {
      detached: true,
      stdio: 'ignore',
      env: { ...process.env, [DAEMON_CHILD]: '1' },
    });
    child.unref();
    return 0;
  }

  const serverApi = createServerApi(settings.verbose);
  serverApi.log('info', `engine config: ${formatEngineConfig(config)}`);
  // -e: the file is taken (removed) before anything else can fail, as memcached does.
  const memoryFile = settings.memoryFile !== '' && !settings.checkConfig ? takeMemoryFile(settings.memoryFile, serverApi.log) : undefined;
  let engine: EngineHandle;
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
  if (settings.checkConfig) {
    await engine.destroy();
    return 0;
  }
  if (memoryFile !== undefined) restoreMemoryFile(settings.memoryFile, memoryFile, engine, settings.engine, serverApi);
  return serve(settings, engine, serverApi, auth);
}

/**
 * -S and -Y: the SASL password file (--sasl-pwdb, else MEMCACHED_SASL_PWDB as memcached reads
 * it) and the ASCII auth entries, loaded now so that a bad file stops the start as in memcached.
 */
function authOptions(settings: Settings): Pick<ServerOptions, 'saslPwdb' | 'asciiAuth'> {
  const options: Pick<ServerOptions, 'saslPwdb' | 'asciiAuth'> = {};
  if (settings.sasl) {
    const pwdb = settings.saslPwdb !== '' ? settings.saslPwdb : (process.env['MEMCACHED_SASL_PWDB'] ?? '');
    if (pwdb === '') {
      throw new AuthFileError(`${PROGRAM}: -S needs a password file: set MEMCACHED_SASL_PWDB or --sasl-pwdb=<file>\nError initializing sasl.\n`);
    }
    options.saslPwdb = pwdb;
  }
  if (settings.authFile !== '') options.asciiAuth = loadAuthFile(settings.authFile);
  return options;
}

/** Runs the server; resolves with undefined (the signal handlers exit). */
async function serve(
  settings: Settings,
  engine: EngineHandle,
  api: ServerApi,
  auth: Pick<ServerOptions, 'saslPwdb' | 'asciiAuth'>,
): Promise<number | undefined> {
  let stopping = false;
  /** Stops serving; a graceful stop under -e saves the engine's image first. */
  const stop = async (code: number, graceful: boolean): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await server.stop();
    if (graceful && settings.memoryFile !== '') saveMemoryFile(settings.memoryFile, engine, settings.engine, api);
    await engine.destroy();
    if (settings.pidFile !== '') removeQuietly(settings.pidFile);
    process.exit(code);
  };
  const server = new MemcachedServer({
    engine,
    api,
    // memcached's -p 0 opens no TCP port.
    port: settings.port === 0 ? -1 : settings.port,
    udpPort: settings.udpPort,
    socketPath: settings.socketPath,
    socketMask: settings.socketMask,
    listen: settings.listen,
    connLimit: settings.connLimit,
    reqsPerEvent: settings.reqsPerEvent,
    backlog: settings.backlog,
    shutdownEnabled: settings.enableShutdown,
    flushEnabled: settings.flushEnabled,
    dumpEnabled: settings.dumpEnabled,
    idleTimeout: settings.idleTimeout,
    verbosity: settings.verbose,
    threads: settings.threads,
    version: MEMCACHED_VERSION,
    detailEnabled: settings.detailEnabled,
    statPrefix: settings.statPrefix,
    crawler: crawlerSettingsOf(settings),
    tuning: tuningSettingsOf(settings),
    // verbosity, stats detail, the crawler's settings and the tuning change while serving; stats
    // settings shows the current values.
    settingsStats: (add) => {
      const { verbosity, detailEnabled, crawler, tuning } = server.state;
      const current = {
        ...tuning, verbose: verbosity, detailEnabled, lruCrawler: crawler.enabled, lruCrawlerSleep: crawler.sleep,
        lruCrawlerTocrawl: crawler.tocrawl,
      };
      reportSettingsStats({ ...settings, ...current }, add);
    },
    onShutdown: (graceful) => void stop(0, graceful),
    portFile: process.env['MEMCACHED_PORT_FILENAME'],
    protocol: settings.bindingProtocol,
    // memcached's maintainer thread, not its crawler, reclaims flushed and expired items within
    // a second: no_lru_crawler leaves that as it is, no_lru_maintainer stops it.
    sweep: settings.lruMaintainer,
    ...auth,
  });
  try {
    await server.start();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stderr.write(`failed to listen: ${message}\n`);
    await engine.destroy();
    return EX_OSERR;
  }
  if (settings.user !== '' && process.getuid?.() === 0) {
    try {
      dropPrivileges(settings.user);
    } catch {
      process.stderr.write(`can't find the user ${settings.user} to switch to\n`);
      await server.stop();
      await engine.destroy();
      return EX_NOUSER;
    }
  }
  if (settings.pidFile !== '') writeFileSync(settings.pidFile, `${process.pid}\n`);
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    process.on(signal, () => {
      api.log('warning', `Signal handled: ${signal === 'SIGINT' ? 'Interrupt' : 'Terminated'}.`);
      // A warm restart's image is written on SIGTERM too (memcached 1.6 saves on SIGUSR1 only).
      void stop(0, signal === 'SIGTERM');
    });
  }
  process.on('SIGUSR1', () => {
    api.log('warning', 'Graceful shutdown signal handled: User defined signal 1.');
    void stop(0, true);
  });
  return undefined;
}

/** -u: run as this user once the ports are bound, as memcached does. */
function dropPrivileges(user: string): void {
  try {
    process.setgid?.(user);
  } catch {
    // a user without a group of the same name keeps root's group, as setuid alone would
  }
  process.setuid?.(user);
}

function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone
  }
}

/** package.json sits one level above both src/cli.ts and the bundled build/cli.js. */
function packageVersion(): string {
  const text = readFileSync(new URL('../package.json', import.meta.url), 'utf8');
  const { version } = JSON.parse(text) as { version?: unknown };
  return typeof version === 'string' ? version : 'unknown';
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code !== undefined) process.exit(code);
  },
  (error: unknown) => {
    // A broken invariant, not a user error: show everything.
    process.stderr.write(`${PROGRAM}: internal error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(70);
  },
);
