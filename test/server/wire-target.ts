// The server a binary-protocol test talks to over TCP: an in-process wasmcached on one engine (with
// the manual clock), or the real memcached (to check the tests' own expectations), both set up
// from one description. BINARY_WIRE_TARGET=wasm|ts|memcached picks one; unset means both engines.
// memcached's SASL uses Cyrus SASL's sasldb, so a SASL memcached needs saslpasswd2 (sasl2-bin).
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ManualClock } from '../../src/engine/clock.ts';
import type { ServerOptions } from '../../src/server/server.ts';
import type { EngineName } from '../engine/harness.ts';
import { startServer } from './serve.ts';

export type TargetName = EngineName | 'memcached';

export interface TargetSetup {
  /** -B: how each connection's protocol is chosen ('binary' unless said). */
  protocol?: 'auto' | 'binary';
  /** -m, in megabytes (64 unless said). */
  memoryMb?: number;
  /** -M turns evictions off (on unless said). */
  evictions?: boolean;
  /** -F turns flush off (on unless said). */
  flushEnabled?: boolean;
  /** -S with these users and passwords. */
  sasl?: Readonly<Record<string, string>>;
}

export interface Target {
  readonly name: TargetName;
  readonly port: number;
  /** The in-process server's clock; memcached's cannot be moved, so clock-bound checks skip it. */
  readonly clock: ManualClock | undefined;
  close(): Promise<void>;
}

/**
 * The options this suite gives the in-process server beyond today's ServerOptions: `protocol`
 * (-B), and `sasl` with `saslPwdb` (-S, the MEMCACHED_SASL_PWDB file).
 */
type BinaryServerOptions = Partial<ServerOptions> & {
  protocol?: 'auto' | 'ascii' | 'binary';
  sasl?: boolean;
  saslPwdb?: string;
};

const TARGETS: readonly TargetName[] = ['wasm', 'ts', 'memcached'];

/** The targets to run: BINARY_WIRE_TARGET's one, or both in-process engines. */
export function targetsFromEnv(): TargetName[] {
  const value = process.env.BINARY_WIRE_TARGET;
  if (value === undefined || value === '') return ['wasm', 'ts'];
  const name = TARGETS.find((t) => t === value);
  if (name === undefined) throw new Error(`BINARY_WIRE_TARGET must be one of ${TARGETS.join(', ')}; got '${value}'`);
  return [name];
}

const SASLPASSWD2 = ['/usr/sbin/saslpasswd2', '/usr/bin/saslpasswd2'];

function saslpasswd2(): string | undefined {
  return SASLPASSWD2.find((path) => spawnSync(path, ['-v']).error === undefined);
}

/** Whether `name` can be started with SASL here (memcached needs Cyrus SASL's saslpasswd2). */
export function saslAvailable(name: TargetName): boolean {
  return name !== 'memcached' || saslpasswd2() !== undefined;
}

function passwordFile(dir: string, users: Readonly<Record<string, string>>): string {
  const path = join(dir, 'pwdb');
  writeFileSync(path, Object.entries(users).map(([user, password]) => `${user}:${password}\n`).join(''));
  return path;
}

/** A directory memcached (running as nobody) can read: memcached.conf, a sasldb and a pwdb. */
export function memcachedSaslDir(users: Readonly<Record<string, string>>): { dir: string; env: Record<string, string> } {
  const tool = saslpasswd2();
  if (tool === undefined) throw new Error('memcached with SASL needs saslpasswd2 (apt-get install sasl2-bin)');
  const dir = mkdtempSync(join(tmpdir(), 'wasmcached-sasl-'));
  chmodSync(dir, 0o755);
  const sasldb = join(dir, 'sasldb2');
  writeFileSync(join(dir, 'memcached.conf'), `mech_list: plain\nsasldb_path: ${sasldb}\n`);
  for (const [user, password] of Object.entries(users)) {
    const run = spawnSync(tool, ['-p', '-a', 'memcached', '-c', '-f', sasldb, user], { input: password });
    if (run.status !== 0) throw new Error(`saslpasswd2 ${user}: ${String(run.stderr)}`);
  }
  chmodSync(sasldb, 0o644);
  const pwdb = passwordFile(dir, users);
  chmodSync(pwdb, 0o644);
  return { dir, env: { SASL_CONF_PATH: dir, MEMCACHED_SASL_PWDB: pwdb } };
}

async function startMemcached(setup: TargetSetup): Promise<Target> {
  // Imported only here, so that the in-process runs do not depend on the differential harness.
  const { startServer: startProcess } = await import('./oracle.ts');
  const flags = ['-B', setup.protocol ?? 'binary'];
  if (setup.memoryMb !== undefined) flags.push('-m', String(setup.memoryMb));
  if (setup.evictions === false) flags.push('-M');
  if (setup.flushEnabled === false) flags.push('-F');
  let dir: string | undefined;
  let env: Record<string, string> = {};
  if (setup.sasl !== undefined) {
    ({ dir, env } = memcachedSaslDir(setup.sasl));
    flags.push('-S');
  }
  const server = await startProcess('memcached', flags, { env });
  return {
    name: 'memcached',
    port: server.port,
    clock: undefined,
    async close() {
      // memcached takes a second to leave on SIGTERM; its state is of no further use.
      server.child.kill('SIGKILL');
      await server.stop();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function startInProcess(name: EngineName, setup: TargetSetup): Promise<Target> {
  const options: BinaryServerOptions = { protocol: setup.protocol ?? 'binary', flushEnabled: setup.flushEnabled ?? true };
  const config: Record<string, string | boolean> = {};
  if (setup.memoryMb !== undefined) config.cache_size = `${setup.memoryMb}m`;
  if (setup.evictions === false) config.eviction = false;
  let dir: string | undefined;
  if (setup.sasl !== undefined) {
    dir = mkdtempSync(join(tmpdir(), 'wasmcached-sasl-'));
    options.sasl = true;
    options.saslPwdb = passwordFile(dir, setup.sasl);
  }
  const server = await startServer(name, options, config);
  return {
    name,
    port: server.port,
    clock: server.clock,
    async close() {
      await server.close();
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `name` as `setup` describes, on a free loopback port. */
export function startTarget(name: TargetName, setup: TargetSetup = {}): Promise<Target> {
  return name === 'memcached' ? startMemcached(setup) : startInProcess(name, setup);
}

/** Runs `body` against a fresh `name` server, and closes it whatever happens. */
export async function withTarget(name: TargetName, setup: TargetSetup, body: (target: Target) => Promise<void>): Promise<void> {
  const target = await startTarget(name, setup);
  try {
    await body(target);
  } finally {
    await target.close();
  }
}
