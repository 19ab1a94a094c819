// Authentication against the real memcached: ASCII auth (-Y <authfile>, protocol.txt
// "Authentication") and SASL over the binary protocol (-S, protocol_binary.txt "SASL").
// memcached (Debian's build) does SASL through Cyrus SASL, configured by SASL_CONF_PATH and a
// sasldb made with saslpasswd2 (sasl2-bin); wasmcached reads the same users from the plain
// `user:password` file named by MEMCACHED_SASL_PWDB. Both servers get both variables.
//
// Before a connection has authenticated with -Y, memcached sends only the last of the replies one
// read yields (each reuses the connection's one response object); so every command before the auth
// is its own write, sent once the previous reply has arrived.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import { concat, request, storeExtras } from './binary-packets.ts';
import type { Bytes } from './binary-packets.ts';
import { expectClose, scheduleSession, sessionTest, sleep, split, waitFor, waitLines, waitPackets, waitStatsEnd } from './oracle.ts';
import type { SessionOptions, Step } from './oracle.ts';

const session = sessionTest(test);

/** The users both kinds of auth know; a password with a space cannot be given to -Y. */
const USERS: ReadonlyArray<[string, string]> = [
  ['alice', 'secret'],
  ['bob', 'hunter2'],
  ['carol', 'pa:ss'],
  ['dave', 'two words'],
];

// A world-readable directory: memcached reads its files after switching to the user nobody.
const dir = mkdtempSync(join(tmpdir(), 'wasmcached-differential-auth-'));
chmodSync(dir, 0o755);
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));

function writePublic(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  chmodSync(path, 0o644);
  return path;
}

// memcached's -Y authfile and wasmcached's MEMCACHED_SASL_PWDB have the same `user:password` lines.
const USER_LINES = USERS.map(([user, password]) => `${user}:${password}\n`).join('');
const AUTHFILE = writePublic('authfile', USER_LINES);
const PWDB = writePublic('sasl-pwdb', USER_LINES);

/** sasl2-bin installs it in /usr/sbin, which a non-root PATH may lack. */
const SASLPASSWD2 = existsSync('/usr/sbin/saslpasswd2') ? '/usr/sbin/saslpasswd2' : 'saslpasswd2';

/**
 * memcached's SASL setup: a sasldb with every user (realm: this host, as memcached asks for it)
 * and a memcached.conf that allows PLAIN from it. Made once; an Error if saslpasswd2 is missing,
 * which every SASL session then reports (they fail, they are not skipped).
 */
function prepareSasl(): Error | undefined {
  const sasldb = join(dir, 'sasldb2');
  try {
    for (const [user, password] of USERS) {
      execFileSync(SASLPASSWD2, ['-p', '-a', 'memcached', '-f', sasldb, '-c', user], { input: password, stdio: ['pipe', 'ignore', 'pipe'] });
    }
    chmodSync(sasldb, 0o644);
  } catch (error) {
    return new Error(
      `the SASL sessions need saslpasswd2 to make memcached's sasldb (apt-get install sasl2-bin libsasl2-modules): ${String(error)}`,
    );
  }
  writePublic('memcached.conf', `mech_list: plain\nsasldb_path: ${sasldb}\n`);
  return undefined;
}

const saslSetupError = prepareSasl();
const SASL_ENV = { SASL_CONF_PATH: dir, MEMCACHED_SASL_PWDB: PWDB };

// ---------------------------------------------------------------------------------------------
// ASCII auth (-Y): the credentials are the data block of a `set` with any key, flags and exptime.

const ASCII_AUTH = ['-Y', AUTHFILE];

function ascii(name: string, steps: readonly Step[], flags: readonly string[] = []): void {
  session(name, steps, [...ASCII_AUTH, ...flags], { protocol: 'text' });
}

/** `set <key> 0 0 <n> [noreply]\r\n<credentials>\r\n`, the auth command. */
function auth(credentials: string, key = 'auth', rest = ''): string {
  return `set ${key} 0 0 ${credentials.length}${rest ? ` ${rest}` : ''}\r\n${credentials}\r\n`;
}

/** A command sent before the auth: alone, and answered before the next write. */
function alone(command: string): Step[] {
  return [command, waitLines(1)];
}

ascii('-Y: before auth every command is CLIENT_ERROR unauthenticated', [
  ...alone('get a\r\n'),
  ...alone('version\r\n'),
  ...alone('stats\r\n'),
  ...alone('mn\r\n'),
  ...alone('mg a v\r\n'),
  ...alone('delete a\r\n'),
  ...alone('flush_all\r\n'),
  ...alone('set a 0 0\r\n'),
  ...alone('set a 0 0 x\r\n'),
  ...alone('set a 0 0 -1\r\n'),
  ...alone('add a 0 0 12\r\n'),
  ...alone('SET a 0 0 12\r\n'),
  ...alone('sett a 0 0 12\r\n'),
  ...alone('quit\r\n'),
  ...alone('\r\n'),
  ...alone(`get ${'k'.repeat(3000)}\r\n`),
  ...alone(auth('alice secret')),
  'get a\r\n',
]);

ascii('-Y: the auth set answers STORED, stores nothing, and commands work', [
  ...alone(auth('alice secret')),
  'get auth\r\n',
  'set a 0 0 5\r\nalpha\r\n',
  'get a auth\r\n',
  'version\r\n',
  'mn\r\n',
  'ms b 2\r\nhi\r\nmg b v\r\n',
]);

ascii('-Y: another user of the file', [
  ...alone(auth('bob hunter2')),
  'get a\r\n',
]);

ascii('-Y: a password containing a colon', [
  ...alone(auth('carol pa:ss')),
  'get a\r\n',
]);

ascii('-Y: wrong password, unknown user, wrong case, swapped tokens: authentication failure, still unauthenticated', [
  ...alone(auth('alice wrong')),
  ...alone('get a\r\n'),
  ...alone(auth('mallory secret')),
  ...alone(auth('alice secre')),
  ...alone(auth('alice secret2')),
  ...alone(auth('ALICE secret')),
  ...alone(auth('secret alice')),
  ...alone(auth('alice:secret bob')),
  ...alone(auth('alice secret')),
  'get a\r\n',
]);

ascii('-Y: a value not ending in CRLF is bad command line termination', [
  ...alone('set a 0 0 12\r\nalice secretXY'),
  ...alone('get a\r\n'),
  ...alone('set a 0 0 12\r\nalice secret\n\n'),
  ...alone(auth('alice secret')),
  'get a\r\n',
]);

ascii('-Y: one token, an empty value, spaces only: bad authentication token format (a tab is no separator)', [
  ...alone(auth('alicesecret')),
  ...alone(auth('alice')),
  ...alone(auth('')),
  ...alone(auth('   ')),
  ...alone(auth('alice\tsecret')),
  ...alone(auth('alice secret')),
  'get a\r\n',
]);

// memcached takes the first token as the user and the second as the password and ignores the rest.
ascii('-Y: tokens after the password are ignored', [
  ...alone(auth('alice secret extra tokens')),
  'get a\r\n',
]);

ascii('-Y: a password with a space cannot match: the second token is the password', [
  ...alone(auth('dave two words')),
  ...alone(auth('dave two')),
  ...alone(auth('dave words')),
  'get a\r\n',
  waitLines(1),
]);

ascii('-Y: a NUL ends the credentials', [
  ...alone(auth('alice secret\x00junk')),
  'get a\r\n',
]);

ascii('-Y: a CRLF inside the credentials belongs to the password', [
  ...alone(auth('alice secret\r\n')),
  ...alone(auth('alice\r\nsecret')),
  'get a\r\n',
  waitLines(1),
]);

ascii('-Y: the auth set line may end in a bare LF', [
  ...alone('set a 0 0 12\nalice secret\r\n'),
  'get a\r\n',
]);

ascii('-Y: extra tokens on the auth set line', [
  ...alone('set a 0 0 12 x y z\r\nalice secret\r\n'),
  'get a\r\n',
]);

ascii('-Y: noreply on the auth set is ignored: STORED', [
  ...alone(auth('alice secret', 'k', 'noreply')),
  'get k\r\n',
]);

ascii('-Y: the credentials are tokens: extra and leading spaces are fine', [
  ...alone(auth('alice  secret ')),
  'get a\r\n',
]);

ascii('-Y: leading spaces before the user', [
  ...alone(auth('   alice secret')),
  'get a\r\n',
]);

ascii('-Y: the key, flags and exptime of the auth set are ignored', [
  ...alone(`set ${'x'.repeat(300)} 99 -1 12\r\nalice secret\r\n`),
  'get x\r\n',
]);

ascii('-Y: the credentials may come in several writes; the length decides', [
  ...split('set a 0 0 100\r\n', 'alice secret', `${' '.repeat(88)}\r\n`),
  waitLines(1),
  'get a\r\n',
]);

ascii('-Y: the auth set line in pieces', [
  ...split('se', 't a 0 0 1', '2\r\nalice', ' secret\r', '\n'),
  waitLines(1),
  'get a\r\n',
]);

ascii('-Y: a line over 2048 bytes without a newline before auth closes the connection', [
  'x'.repeat(3000),
  expectClose(),
]);

ascii('-Y: after auth, a line over 2048 bytes without a newline closes, as in the text protocol', [
  ...alone(auth('alice secret')),
  'x'.repeat(3000),
  expectClose(),
]);

ascii('-Y: stats count auth_cmds and auth_errors; stats settings shows the authfile', [
  ...alone(auth('alice nope')),
  ...alone(auth('alice')),
  ...alone(auth('alice secret')),
  'stats settings\r\n',
  waitFor('END\r\n'),
  'stats\r\n',
  waitFor('END\r\n'),
]);

// ---------------------------------------------------------------------------------------------
// SASL (-S, which makes the protocol binary): PLAIN is `\0<user>\0<password>`.

const SASL = ['-S'];

function sasl(name: string, steps: readonly Step[], flags: readonly string[] = []): void {
  if (saslSetupError) {
    test(name, () => {
      throw saslSetupError;
    });
    return;
  }
  const options: SessionOptions = { protocol: 'binary', env: SASL_ENV };
  test(name, scheduleSession(name, steps, [...SASL, ...flags], options));
}

let nextOpaque = 1;
const opaque = (): number => nextOpaque++;

const listMechs = (): Uint8Array => request({ opcode: 'SASL_LIST_MECHS', opaque: opaque() });
const saslAuth = (mechanism: Bytes, data: Bytes): Uint8Array => request({ opcode: 'SASL_AUTH', key: mechanism, value: data, opaque: opaque() });
const saslStep = (mechanism: Bytes, data: Bytes): Uint8Array => request({ opcode: 'SASL_STEP', key: mechanism, value: data, opaque: opaque() });
const plain = (user: string, password: string, authzid = ''): Uint8Array => saslAuth('PLAIN', `${authzid}\x00${user}\x00${password}`);
const noop = (): Uint8Array => request({ opcode: 'NOOP', opaque: opaque() });
const version = (): Uint8Array => request({ opcode: 'VERSION', opaque: opaque() });
const get = (key: string): Uint8Array => request({ opcode: 'GETK', key, opaque: opaque() });
const set = (key: string, value: string): Uint8Array => request({ opcode: 'SET', key, value, extras: storeExtras(0, 0), opaque: opaque() });
const stat = (group = ''): Uint8Array => request({ opcode: 'STAT', key: group, opaque: opaque() });

sasl('-S: list mechanisms and version before auth; then a noop is an auth failure and closes', [
  listMechs(),
  waitPackets(1),
  version(),
  waitPackets(1),
  noop(),
  expectClose(),
]);

sasl('-S: PLAIN with the right password: Authenticated, then commands work', [
  plain('alice', 'secret'),
  waitPackets(1),
  set('a', 'alpha'),
  get('a'),
  noop(),
]);

sasl('-S: another user of the database', [plain('bob', 'hunter2'), waitPackets(1), get('a')]);

sasl('-S: a password with a colon', [plain('carol', 'pa:ss'), waitPackets(1), get('a')]);

sasl('-S: a password with a space', [plain('dave', 'two words'), waitPackets(1), get('a')]);

sasl('-S: a wrong password: auth failure, the connection open; the next command fails and closes', [
  plain('alice', 'wrong'),
  waitPackets(1),
  get('a'),
  expectClose(),
]);

sasl('-S: failures, then the right password on the same connection', [
  plain('alice', 'wrong'),
  waitPackets(1),
  plain('nobody', 'secret'),
  waitPackets(1),
  plain('alice', 'secret'),
  waitPackets(1),
  set('a', '1'),
  get('a'),
]);

sasl('-S: an unknown mechanism is an auth failure; mechanism names are case-insensitive', [
  saslAuth('CRAM-MD5', 'alice'),
  waitPackets(1),
  saslAuth('BOGUS', '\x00alice\x00secret'),
  waitPackets(1),
  saslAuth('plain', '\x00alice\x00secret'),
  waitPackets(1),
]);

// Every SASL_AUTH, SASL_STEP and SASL_LIST_MECHS first marks the connection unauthenticated (memcached
// re-initialises its SASL state); the outcome of the auth then decides. Cyrus SASL refuses to start
// an auth on a connection whose previous auth succeeded, and resets, so the next one works again.
sasl('-S: a second auth right after a success fails (Cyrus), leaving the connection unauthenticated', [
  plain('alice', 'secret'),
  waitPackets(1),
  plain('alice', 'secret'),
  waitPackets(1),
  get('a'),
  expectClose(),
]);

sasl('-S: auths on one connection alternate: success, failure, success', [
  plain('alice', 'secret'),
  waitPackets(1),
  plain('bob', 'hunter2'),
  waitPackets(1),
  plain('bob', 'hunter2'),
  waitPackets(1),
  get('a'),
]);

sasl('-S: a wrong password after a success: unauthenticated again', [
  plain('alice', 'secret'),
  waitPackets(1),
  plain('alice', 'wrong'),
  waitPackets(1),
  get('a'),
  expectClose(),
]);

sasl('-S: listing the mechanisms after auth leaves the connection unauthenticated', [
  plain('alice', 'secret'),
  waitPackets(1),
  listMechs(),
  waitPackets(1),
  get('a'),
  expectClose(),
]);

sasl('-S: a step after a completed auth fails and leaves the connection unauthenticated', [
  plain('alice', 'secret'),
  waitPackets(1),
  saslStep('PLAIN', '\x00alice\x00secret'),
  waitPackets(1),
  get('a'),
  expectClose(),
]);

sasl('-S: a step after a failed auth fails', [
  plain('alice', 'wrong'),
  waitPackets(1),
  saslStep('PLAIN', '\x00alice\x00secret'),
  waitPackets(1),
  version(),
  waitPackets(1),
]);

sasl('-S: a step without a started auth is an auth failure', [
  saslStep('PLAIN', '\x00alice\x00secret'),
  waitPackets(1),
  version(),
  waitPackets(1),
]);

sasl('-S: PLAIN without data asks to continue; the step with the credentials authenticates', [
  saslAuth('PLAIN', ''),
  waitPackets(1),
  saslStep('PLAIN', '\x00alice\x00secret'),
  waitPackets(1),
  get('a'),
]);

sasl('-S: after a continue, a failed step can be retried; the step\'s mechanism name is not read', [
  saslAuth('PLAIN', ''),
  waitPackets(1),
  saslStep('PLAIN', '\x00alice\x00wrong'),
  waitPackets(1),
  saslStep('BOGUS', '\x00alice\x00secret'),
  waitPackets(1),
  get('a'),
]);

sasl('-S: after a continue, an empty step fails; the connection stays unauthenticated', [
  saslAuth('PLAIN', ''),
  waitPackets(1),
  saslStep('PLAIN', ''),
  waitPackets(1),
  get('a'),
  expectClose(),
]);

sasl('-S: a new auth while one waits to continue starts over', [
  saslAuth('PLAIN', ''),
  waitPackets(1),
  saslAuth('PLAIN', ''),
  waitPackets(1),
  plain('alice', 'secret'),
  waitPackets(1),
  get('a'),
]);

sasl('-S: PLAIN with an authorization id: the user\'s own is fine, another user\'s fails', [
  plain('alice', 'secret', 'bob'),
  waitPackets(1),
  plain('alice', 'secret', 'alice'),
  waitPackets(1),
  get('a'),
]);

sasl('-S: malformed PLAIN data: no NULs, one NUL, empty user', [
  saslAuth('PLAIN', 'alice secret'),
  waitPackets(1),
  saslAuth('PLAIN', 'alice\x00secret'),
  waitPackets(1),
  saslAuth('PLAIN', '\x00\x00secret'),
  waitPackets(1),
  saslAuth('PLAIN', '\x00alice\x00'),
  waitPackets(1),
]);

sasl('-S: a mechanism name over 32 bytes: invalid arguments, the data swallowed, the connection open', [
  saslAuth('P'.repeat(40), '\x00alice\x00secret'),
  waitPackets(1),
  plain('alice', 'secret'),
  waitPackets(1),
  get('a'),
]);

sasl('-S: auth before anything else in one write: the commands after it are served', [
  concat(plain('alice', 'secret'), set('a', '1'), get('a'), noop()),
]);

sasl('-S: a command before the auth in the same write fails and closes; the auth is not read', [
  concat(get('a'), plain('alice', 'secret'), noop()),
  expectClose(),
]);

sasl('-S: list mechanisms with a body: invalid arguments, closed', [
  request({ opcode: 'SASL_LIST_MECHS', value: 'x', opaque: opaque() }),
  expectClose(),
]);

sasl('-S: a text-protocol client: nothing until 24 bytes, then closed without a reply', [
  'version\r\n',
  sleep(100),
  'version\r\nversion\r\nversion\r\n',
  expectClose(),
]);

sasl('-S: stats after auth count auth_cmds and auth_errors; stats settings says sasl', [
  plain('alice', 'wrong'),
  waitPackets(1),
  plain('alice', 'secret'),
  waitPackets(1),
  stat('settings'),
  waitStatsEnd(),
  stat(),
  waitStatsEnd(),
]);

test.run();
