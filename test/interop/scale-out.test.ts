// Scale-out: three instances used as one cache, sharded by consistent hashing, first behind
// twemproxy (nutcracker, ketama) and then by a client's own hash ring (npm memcached). 10,000 keys
// are set and read back, every instance holds a share of them; one instance is killed and only its
// share is lost: every other key still hits, and the lost keys, written again, remap onto the two
// survivors. SCALE_OUT_SERVER=memcached runs the same against the real memcached (DIFF_MEMCACHED
// and DIFF_WASMCACHED pick the builds, as in oracle.ts); NUTCRACKER names the twemproxy binary (by
// default /usr/sbin/nutcracker, as Debian installs it).
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Memcached from 'memcached';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, parseStats, startServer } from '../server/oracle.ts';
import type { ServerKind, ServerProcess } from '../server/oracle.ts';

const HOST = '127.0.0.1';
const KEY_COUNT = 10_000;
const INSTANCES = 3;
/** Consistent hashing gives each of three instances about a third; less than this is a failure. */
const MIN_SHARE = 0.2;
/** How long a wait for a process or a proxy's state may take before the test fails. */
const WAIT_MS = 10_000;

const KIND = serverKind();
const NUTCRACKER = process.env.NUTCRACKER ?? ['/usr/sbin/nutcracker', '/usr/bin/nutcracker'].find(existsSync) ?? 'nutcracker';

function serverKind(): ServerKind {
  const kind = process.env.SCALE_OUT_SERVER ?? 'wasmcached';
  if (kind !== 'wasmcached' && kind !== 'memcached') throw new Error(`SCALE_OUT_SERVER must be 'wasmcached' or 'memcached', got '${kind}'`);
  return kind;
}

const KEYS = Array.from({ length: KEY_COUNT }, (_, i) => `scale:${i}`);
/** Values of varied lengths (8 to 107 bytes), each naming its key. */
const valueOf = (key: string): string => `${key}=${'v'.repeat(key.length * 7 % 100)}`;

// ---------------------------------------------------------------------------------------------
// A small pipelining text-protocol client: requests are written at once, replies read in order.

type Got = { kind: 'hit'; value: string } | { kind: 'miss' } | { kind: 'error'; line: string };

/** Parses one reply starting at `at`: the reply and where it ends, or undefined if incomplete. */
type Parser<T> = (buffer: Buffer, at: number) => { reply: T; end: number } | undefined;

function lineAt(buffer: Buffer, at: number): { line: string; end: number } | undefined {
  const eol = buffer.indexOf('\r\n', at);
  return eol < 0 ? undefined : { line: buffer.toString('latin1', at, eol), end: eol + 2 };
}

const oneLine: Parser<string> = (buffer, at) => {
  const l = lineAt(buffer, at);
  return l && { reply: l.line, end: l.end };
};

/** `VALUE <key> <flags> <bytes>` + data + `END`, a bare `END`, or an error line. */
const getReply: Parser<Got> = (buffer, at) => {
  const l = lineAt(buffer, at);
  if (!l) return undefined;
  if (l.line === 'END') return { reply: { kind: 'miss' }, end: l.end };
  const header = /^VALUE \S+ \d+ (\d+)$/.exec(l.line);
  if (!header) return { reply: { kind: 'error', line: l.line }, end: l.end };
  const dataEnd = l.end + Number(header[1]);
  const end = dataEnd + '\r\nEND\r\n'.length;
  if (buffer.length < end) return undefined;
  const trailer = buffer.toString('latin1', dataEnd, end);
  if (trailer !== '\r\nEND\r\n') throw new Error(`a get reply ends in ${JSON.stringify(trailer)}, not "\\r\\nEND\\r\\n"`);
  return { reply: { kind: 'hit', value: buffer.toString('latin1', l.end, dataEnd) }, end };
};

/** `STAT <name> <value>` lines up to `END`. */
const statsReply: Parser<Map<string, string>> = (buffer, at) => {
  for (let l = lineAt(buffer, at); l; l = lineAt(buffer, l.end)) {
    if (l.line === 'END') return { reply: parseStats(buffer.toString('latin1', at, l.end)), end: l.end };
  }
  return undefined;
};

interface Pending {
  parse: Parser<unknown>;
  resolve(reply: unknown): void;
  reject(error: Error): void;
}

class TextClient {
  private buffer: Buffer = Buffer.alloc(0);
  private readonly pending: Pending[] = [];

  private constructor(private readonly socket: Socket, readonly name: string) {
    socket.on('data', (chunk: Buffer) => this.receive(chunk));
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => this.fail(new Error(`${name}: connection closed`)));
  }

  static open(port: number, name = `${HOST}:${port}`): Promise<TextClient> {
    return new Promise((resolve, reject) => {
      const socket = connect({ port, host: HOST });
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        socket.setNoDelay(true);
        resolve(new TextClient(socket, name));
      });
    });
  }

  set(key: string, value: string): Promise<string> {
    return this.request(`set ${key} 0 0 ${Buffer.byteLength(value, 'latin1')}\r\n${value}\r\n`, oneLine);
  }

  get(key: string): Promise<Got> {
    return this.request(`get ${key}\r\n`, getReply);
  }

  stats(): Promise<Map<string, string>> {
    return this.request('stats\r\n', statsReply);
  }

  async currItems(): Promise<number> {
    return Number((await this.stats()).get('curr_items'));
  }

  /** `each` for every item, its requests written as one batch; the replies in order. */
  pipeline<T, R>(items: readonly T[], each: (item: T) => Promise<R>): Promise<R[]> {
    this.socket.cork();
    const replies = items.map(each);
    this.socket.uncork();
    return Promise.all(replies);
  }

  close(): void {
    this.socket.destroy();
  }

  private request<T>(command: string, parse: Parser<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ parse, resolve: resolve as (reply: unknown) => void, reject });
      this.socket.write(command, 'latin1');
    });
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let at = 0;
    try {
      while (this.pending.length > 0) {
        const parsed = this.pending[0]!.parse(this.buffer, at);
        if (!parsed) break;
        at = parsed.end;
        this.pending.shift()!.resolve(parsed.reply);
      }
    } catch (error) {
      // A malformed reply: the stream cannot be followed past it.
      this.fail(new Error(`${this.name}: ${(error as Error).message}`));
      this.socket.destroy();
    }
    this.buffer = this.buffer.subarray(at);
  }

  private fail(error: Error): void {
    for (const request of this.pending.splice(0)) request.reject(error);
  }
}

// ---------------------------------------------------------------------------------------------
// Processes

async function startInstances(): Promise<ServerProcess[]> {
  const started = await Promise.allSettled(Array.from({ length: INSTANCES }, () => startServer(KIND, ['-m', '64'])));
  const instances = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
  const failed = started.find((s) => s.status === 'rejected');
  if (failed) {
    await Promise.all(instances.map((i) => i.stop()));
    throw failed.reason;
  }
  return instances;
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

/** SIGKILL, as a crash or an OOM kill ends a server; resolves once the process is gone. */
async function kill(instance: ServerProcess): Promise<void> {
  instance.child.kill('SIGKILL');
  await exited(instance.child);
}

/** SIGSTOP, which takes effect asynchronously; resolves once every thread of the process is stopped. */
async function pause(instance: ServerProcess): Promise<void> {
  const pid = instance.child.pid!;
  // The state is the field after the command name, which is in parentheses (and may hold spaces).
  const state = (task: string): string => readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8').replace(/^.*\) /s, '')[0]!;
  instance.child.kill('SIGSTOP');
  await waitFor('the instance to stop', async () => (readdirSync(`/proc/${pid}/task`).every((task) => state(task) === 'T') ? true : undefined));
}

/** Resolves with whether a TCP connection to `port` is accepted (true) or refused (false). */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: HOST });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Polls `check` every 10 ms until it returns a value other than undefined. */
async function waitFor<T>(what: string, check: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// twemproxy's configuration: one pool over the instances, ketama over fnv1a_64 (twemproxy's
// recommended memcached setup). The servers are named, so a key's place on the ring depends on the
// names, not on the random ports. A server is ejected at its first failure and not retried during
// the test; `timeout` bounds how long a request waits on a server.
const NUTCRACKER_CONFIG = `\
scale_out:
  listen: ${HOST}:{listen}
  hash: fnv1a_64
  distribution: ketama
  auto_eject_hosts: true
  server_failure_limit: 1
  server_retry_timeout: 600000
  timeout: 3000
  preconnect: true
  servers:
{servers}
`;

interface Proxy {
  port: number;
  /** One of twemproxy's stats: of the pool (`server_ejects`), or of a server of it (`out_queue`, 'instance1'). */
  stat(name: string, server?: string): Promise<number>;
  log(): string;
  stop(): Promise<void>;
}

/** The stats port's JSON: pools, in them counters and servers, in those counters. */
type Stats = { [name: string]: number | string | Stats };

const serverName = (index: number): string => `instance${index}`;

async function startNutcracker(instances: readonly ServerProcess[], dir: string): Promise<Proxy> {
  const [listen, statsPort] = [await freePort(), await freePort()];
  const config = join(dir, 'nutcracker.yml');
  const logFile = join(dir, 'nutcracker.log');
  writeFileSync(
    config,
    NUTCRACKER_CONFIG.replace('{listen}', String(listen)).replace(
      '{servers}',
      instances.map((instance, i) => `    - ${HOST}:${instance.port}:1 ${serverName(i)}`).join('\n'),
    ),
  );
  const check = spawnSync(NUTCRACKER, ['--test-conf', '-c', config], { encoding: 'utf8' });
  if (check.error) throw new Error(`cannot run ${NUTCRACKER} (install nutcracker, or set NUTCRACKER): ${check.error.message}`);
  assert.is(check.status, 0, `nutcracker --test-conf: ${check.stderr}`);

  // Stats are aggregated every 20 ms (not 30 s), so waits on them are short.
  const child = spawn(NUTCRACKER, ['-c', config, '-s', String(statsPort), '-a', HOST, '-i', '20', '-o', logFile], { stdio: 'ignore' });
  const killOnExit = (): void => void child.kill('SIGKILL');
  process.on('exit', killOnExit);
  const log = (): string => (existsSync(logFile) ? readFileSync(logFile, 'utf8') : '');
  const proxy: Proxy = {
    port: listen,
    log,
    async stat(name, server) {
      const json = await new Promise<string>((resolve, reject) => {
        const socket = connect({ port: statsPort, host: HOST });
        let text = '';
        socket.setEncoding('utf8');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.once('error', reject);
        socket.once('end', () => resolve(text));
      });
      const pool = (JSON.parse(json) as Stats)['scale_out'] as Stats;
      const value = server === undefined ? pool[name] : (pool[server] as Stats)[name];
      if (typeof value !== 'number') throw new Error(`nutcracker has no stat ${server ?? ''} ${name}: ${json}`);
      return value;
    },
    async stop() {
      child.kill('SIGKILL');
      await exited(child);
      process.off('exit', killOnExit);
    },
  };
  try {
    await waitFor('nutcracker to listen', async () => {
      if (child.exitCode !== null) throw new Error(`nutcracker exited with status ${child.exitCode}: ${log()}`);
      return (await accepts(listen)) && (await accepts(statsPort)) ? true : undefined;
    });
  } catch (error) {
    await proxy.stop();
    throw error;
  }
  return proxy;
}

// ---------------------------------------------------------------------------------------------
// What the instances hold

interface Placement {
  /** The instance (index) that holds each key. */
  owner: Map<string, number>;
  /** The keys each instance holds. */
  shares: string[][];
}

/** Asks every instance for every key directly: each key must be on exactly one, with its value. */
async function placement(direct: readonly TextClient[], keys: readonly string[]): Promise<Placement> {
  const owner = new Map<string, number>();
  const shares = direct.map((): string[] => []);
  for (const [index, client] of direct.entries()) {
    const replies = await client.pipeline(keys, (key) => client.get(key));
    replies.forEach((got, i) => {
      const key = keys[i]!;
      if (got.kind === 'miss') return;
      assert.equal(got, { kind: 'hit', value: valueOf(key) }, `${key} on instance ${index}`);
      const other = owner.get(key);
      assert.is(other, undefined, `${key} is on instance ${other} and on instance ${index}`);
      owner.set(key, index);
      shares[index]!.push(key);
    });
  }
  const nowhere = keys.filter((key) => !owner.has(key));
  assert.is(nowhere.length, 0, `keys on no instance: ${nowhere.slice(0, 5).join(' ')}`);
  return { owner, shares };
}

/** Every instance holds more than MIN_SHARE of the keys (by its curr_items); they add up to all. */
async function assertShares(direct: readonly TextClient[], shares: readonly string[][]): Promise<void> {
  const counts = await Promise.all(direct.map((client) => client.currItems()));
  assert.equal(counts, shares.map((share) => share.length), 'curr_items of each instance');
  assert.is(counts.reduce((a, b) => a + b, 0), KEY_COUNT, `curr_items add up to the key count: ${counts.join(' + ')}`);
  for (const [index, count] of counts.entries()) {
    assert.ok(count > KEY_COUNT * MIN_SHARE, `instance ${index} holds only ${count} of ${KEY_COUNT} keys (${counts.join(' / ')})`);
  }
}

/** Tallies reads: which keys hit with their value, missed, or got an error (the first few shown). */
function tally(keys: readonly string[], replies: readonly Got[]): { hits: string[]; misses: string[]; errors: string[] } {
  const result = { hits: [] as string[], misses: [] as string[], errors: [] as string[] };
  replies.forEach((got, i) => {
    const key = keys[i]!;
    if (got.kind === 'hit') {
      assert.is(got.value, valueOf(key), `the value of ${key}`);
      result.hits.push(key);
    } else if (got.kind === 'miss') {
      result.misses.push(key);
    } else {
      result.errors.push(`${key}: ${got.line}`);
    }
  });
  return result;
}

const sorted = (keys: readonly string[]): string[] => [...keys].sort();

/** How the test reaches the cache the instances make: through twemproxy, or npm memcached's ring. */
interface Front {
  /** Sets every key to valueOf(key); each must be stored. */
  set(keys: readonly string[]): Promise<void>;
  /** Gets every key, one get each. */
  get(keys: readonly string[]): Promise<Got[]>;
}

/**
 * The scenario both fronts go through: 10,000 keys set and read back, every instance holding a
 * share; then `failVictim` kills instance 1 and checks how the front meets the failure; after that
 * exactly the victim's share misses, and writes of that share land on the survivors.
 */
async function scaleOut(front: Front, direct: readonly TextClient[], failVictim: (victim: number, victimKeys: readonly string[]) => Promise<void>): Promise<void> {
  await front.set(KEYS);
  const read = tally(KEYS, await front.get(KEYS));
  assert.is(read.hits.length, KEY_COUNT, `hits (misses ${read.misses.length}, errors: ${read.errors.slice(0, 3).join('; ')})`);
  const { owner, shares } = await placement(direct, KEYS);
  await assertShares(direct, shares);

  const victim = 1;
  const victimKeys = shares[victim]!;
  const survivors = direct.map((_, i) => i).filter((i) => i !== victim);
  await failVictim(victim, victimKeys);

  // The cache keeps serving: exactly the victim's keys miss (they hash to the survivors now, which
  // do not have them), every other key hits, and nothing is an error.
  const afterKill = tally(KEYS, await front.get(KEYS));
  assert.equal(afterKill.errors, [], 'errors after the kill');
  assert.equal(sorted(afterKill.misses), sorted(victimKeys), "the keys that miss after the kill are the killed instance's");
  assert.is(afterKill.hits.length, KEY_COUNT - victimKeys.length);

  // Writes of the lost share remap onto the survivors, and read back; the survivors' own keys stay.
  const before = await Promise.all(survivors.map((i) => direct[i]!.currItems()));
  await front.set(victimKeys);
  const reread = tally(victimKeys, await front.get(victimKeys));
  assert.is(reread.hits.length, victimKeys.length, `the lost share reads back (misses ${reread.misses.length}, errors ${reread.errors.slice(0, 3).join('; ')})`);
  const after = await Promise.all(survivors.map((i) => direct[i]!.currItems()));
  const grown = after.map((count, i) => count - before[i]!);
  assert.is(grown.reduce((a, b) => a + b, 0), victimKeys.length, `the survivors grew by the lost share: ${grown.join(' + ')}`);
  for (const [i, growth] of grown.entries()) assert.ok(growth > 0, `survivor ${survivors[i]} took none of the lost share`);
  const remapped = await placement(survivors.map((i) => direct[i]!), KEYS);
  for (const [key, index] of owner) {
    if (index !== victim) assert.is(survivors[remapped.owner.get(key)!], index, `${key} moved from instance ${index}`);
  }
}

// ---------------------------------------------------------------------------------------------

const test = suite(`scale-out (${KIND})`);

test('twemproxy, ketama over three instances: each holds a share; one killed, only its share misses, its keys remap', async () => {
  const instances = await startInstances();
  const dir = mkdtempSync(join(tmpdir(), 'scale-out-'));
  const clients: TextClient[] = [];
  let proxy: Proxy | undefined;
  try {
    proxy = await startNutcracker(instances, dir);
    const viaProxy = await TextClient.open(proxy.port, 'nutcracker');
    clients.push(viaProxy);
    clients.push(...(await Promise.all(instances.map((instance, i) => TextClient.open(instance.port, `instance ${i}`)))));
    const front: Front = {
      async set(keys) {
        const replies = await viaProxy.pipeline(keys, (key) => viaProxy.set(key, valueOf(key)));
        assert.equal([...new Set(replies)], ['STORED'], 'replies to the sets through the proxy');
      },
      get: (keys) => viaProxy.pipeline(keys, (key) => viaProxy.get(key)),
    };
    // The victim fails with a request on the wire: stopped (SIGSTOP) so that it cannot answer, a get
    // of one of its keys is sent, and once twemproxy has written it to the victim (its out_queue)
    // the victim is killed. twemproxy answers that request with an error (not a false miss), and at
    // this first failure (server_failure_limit 1) ejects the victim: its keys hash to the others.
    await scaleOut(front, clients.slice(1), async (victim, victimKeys) => {
      await pause(instances[victim]!);
      const inFlight = viaProxy.get(victimKeys[0]!);
      await waitFor('the get to reach the stopped instance', async () => ((await proxy!.stat('out_queue', serverName(victim))) === 1 ? true : undefined));
      await kill(instances[victim]!);
      const failed = await inFlight;
      assert.is(failed.kind, 'error', `the get in flight on the killed instance: ${JSON.stringify(failed)}`);
      assert.match((failed as { line: string }).line, /^SERVER_ERROR /);
      await waitFor('twemproxy to count the ejection', async () => ((await proxy!.stat('server_ejects')) === 1 ? true : undefined));
    });
  } catch (error) {
    if (proxy) console.error(`nutcracker's log:\n${proxy.log()}`);
    throw error;
  } finally {
    for (const client of clients) client.close();
    await proxy?.stop();
    await Promise.all(instances.map((instance) => instance.stop()));
    rmSync(dir, { recursive: true, force: true });
  }
});

// npm memcached's failure handling, set so that a dead server leaves the ring at its first failure:
// `retries: 0` makes one connection attempt per request (its pool would retry with backoff, 1 s at
// first); `failures: 0` marks a server dead at its first connection issue (by default it gets five
// more tries, `retry` ms apart, failing requests in between); with `remove: true` a dead server is
// taken out of the hash ring, so its keys rehash onto the others (without it, they fail with "not
// available" until a ping every `reconnect` ms succeeds); `timeout` bounds a connection attempt.
// So `retry` and `reconnect` do not come into play. `idle` keeps the open connections for the
// whole test (see the version request below for why that matters).
const CLIENT_OPTIONS: Memcached.options = { retries: 0, failures: 0, remove: true, timeout: 1_000, idle: 60_000 };

/** A callback-style npm memcached call as a promise. */
function call<T>(request: (callback: (error: unknown, result: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => request((error, result) => (error ? reject(error) : resolve(result))));
}

function npmFront(client: Memcached): Front {
  return {
    async set(keys) {
      const stored = await Promise.all(keys.map((key) => call<boolean>((done) => client.set(key, valueOf(key), 0, done))));
      assert.is(stored.filter((ok) => ok !== true).length, 0, 'sets not stored');
    },
    get(keys) {
      return Promise.all(
        keys.map((key) =>
          call<unknown>((done) => client.get(key, done)).then(
            (value): Got => (value === undefined ? { kind: 'miss' } : { kind: 'hit', value: String(value) }),
            (error: unknown): Got => ({ kind: 'error', line: String(error) }),
          ),
        ),
      );
    },
  };
}

test("npm memcached's own hashing over three instances: each holds a share; one killed, it leaves the ring, only its share misses, its keys remap", async () => {
  const instances = await startInstances();
  const direct: TextClient[] = [];
  const addresses = instances.map((instance) => `${HOST}:${instance.port}`);
  const client = new Memcached(addresses, CLIENT_OPTIONS);
  const removed: string[] = [];
  client.on('remove', (details) => removed.push(details.server));
  try {
    direct.push(...(await Promise.all(instances.map((instance, i) => TextClient.open(instance.port, `instance ${i}`)))));
    // One request to every server opens its connection, which all later requests share: requests
    // made before any is open each open one, and past `poolSize` of them the pool is "full", a
    // connection issue, which with `failures: 0` would remove the server.
    const versions = await call<Memcached.VersionData[]>((done) => client.version(done));
    assert.is(versions.length, INSTANCES, 'a version from every instance');

    // Killed, the victim closes the client's connections to it; once a connection to its port is
    // refused, the client has seen them close (that happened first), so no request is written to a
    // dead connection. The next request for one of its keys opens a connection, is refused and
    // fails with that error; the client then removes the victim from its ring.
    const front = npmFront(client);
    await scaleOut(front, direct, async (victim, victimKeys) => {
      await kill(instances[victim]!);
      await waitFor('the killed instance to refuse connections', async () => ((await accepts(instances[victim]!.port)) ? undefined : true));
      const [probe] = await front.get([victimKeys[0]!]);
      assert.is(probe!.kind, 'error', `the first get of the killed instance's keys: ${JSON.stringify(probe)}`);
      assert.match((probe as { line: string }).line, /ECONNREFUSED/);
      assert.equal(removed, [addresses[victim]], 'servers removed from the ring');
    });
  } finally {
    client.end();
    for (const c of direct) c.close();
    await Promise.all(instances.map((instance) => instance.stop()));
  }
});

test.run();
