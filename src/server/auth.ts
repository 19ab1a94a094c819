// Authentication as memcached 1.6 does it: ASCII auth tokens (-Y, authfile.c and proto_text.c
// try_read_command_asciiauth) and binary SASL with the PLAIN mechanism checked against a
// `user:password` file (-S with MEMCACHED_SASL_PWDB, as memcached's sasl_defs.c password
// database). Users and passwords are compared as bytes (latin1 strings).

import { readFileSync } from 'node:fs';
import { parseU32 } from '../protocol/numbers.ts';
import type { Tokens } from '../protocol/text/tokens.ts';
import { latin1 } from './context.ts';
import type { Context } from './context.ts';

/** memcached's MAX_ENTRY_LEN: the longest authfile or password-database line read. */
const MAX_ENTRY_LEN = 256;
/** authfile.c's MAX_ENTRIES: lines after the eighth are ignored. */
const MAX_ENTRIES = 8;

export interface AuthEntry {
  user: string;
  pass: string;
}

/** Why an authfile could not be loaded: memcached's message, printed before it exits with 1. */
export class AuthFileError extends Error {}

/** C's strerror for the errors opening a file gives. */
const STRERROR: Readonly<Record<string, string>> = {
  ENOENT: 'No such file or directory',
  EACCES: 'Permission denied',
  EISDIR: 'Is a directory',
  ENOTDIR: 'Not a directory',
  ELOOP: 'Too many levels of symbolic links',
  ENAMETOOLONG: 'File name too long',
  EMFILE: 'Too many open files',
};

function strerror(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code ?? '';
  return STRERROR[code] ?? (error instanceof Error ? error.message : String(error));
}

/**
 * Reads a -Y authfile as memcached's authfile_load: one `user:password` a line, the password
 * ending at CR or LF; a line without ':' (an empty line too) makes the file malformed; at most
 * eight entries are kept.
 */
export function loadAuthFile(path: string): AuthEntry[] {
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch (error) {
    const reason = strerror(error);
    throw new AuthFileError(`Could not open authfile [${path}] for reading, error ${reason}: ${reason}\n`);
  }
  const entries: AuthEntry[] = [];
  for (const line of lines(text)) {
    const colon = line.indexOf(':');
    if (colon < 0) throw new AuthFileError(`Authfile [${path}] has a malformed entry. Should be 'user:password'`);
    entries.push({ user: line.slice(0, colon), pass: endOfPassword(line.slice(colon + 1)) });
    if (entries.length === MAX_ENTRIES) break;
  }
  return entries;
}

/** The lines of a file as C's fgets with a MAX_ENTRY_LEN buffer returns them. */
function* lines(text: string): Generator<string> {
  let at = 0;
  while (at < text.length) {
    const lf = text.indexOf('\n', at);
    const end = Math.min(lf < 0 ? text.length : lf + 1, at + MAX_ENTRY_LEN - 1);
    yield text.slice(at, end);
    at = end;
  }
}

/** A password runs to the end of its line: CR, LF or the end of what was read. */
function endOfPassword(rest: string): string {
  const match = /[\r\n]/.exec(rest);
  return match === null ? rest : rest.slice(0, match.index);
}

/** authfile_check. */
export function checkAuthEntries(entries: readonly AuthEntry[], user: string, pass: string): boolean {
  return entries.some((e) => e.user === user && e.pass === pass);
}

/**
 * memcached's password database check (sasl_defs.c, with MEMCACHED_SASL_PWDB): the file is read
 * on every attempt, the first line for the user decides, and the password must be followed by
 * ':', CR, LF or the end of the line.
 */
export function checkPasswordDatabase(path: string, user: string, pass: string): boolean {
  if (user.length + pass.length > MAX_ENTRY_LEN - 4) return false;
  let text: string;
  try {
    text = readFileSync(path, 'latin1');
  } catch {
    return false;
  }
  for (const line of lines(text)) {
    if (!line.startsWith(`${user}:`)) continue;
    const rest = line.slice(user.length + 1);
    if (!rest.startsWith(pass)) return false;
    const after = rest.charAt(pass.length);
    return after === '' || after === ':' || after === '\n' || after === '\r';
  }
  return false;
}

/**
 * A SASL PLAIN message (RFC 4616, as Cyrus's plain plugin reads it): authzid NUL authcid NUL
 * password, nothing after. The authorization id must be empty or the user's own.
 */
export function checkPlain(path: string, message: Uint8Array): boolean {
  const first = message.indexOf(0);
  if (first < 0) return false;
  const second = message.indexOf(0, first + 1);
  if (second < 0) return false;
  if (message.indexOf(0, second + 1) >= 0) return false;
  const authzid = latin1(message.subarray(0, first));
  const user = latin1(message.subarray(first + 1, second));
  const pass = latin1(message.subarray(second + 1));
  if (authzid !== '' && authzid !== user) return false;
  return checkPasswordDatabase(path, user, pass);
}

// ---- ASCII auth (-Y): the first command must be `set <key> <flags> <exptime> <bytes>` whose
// data is `<user> <password>`; the key, flags and exptime are ignored. ----

/** memcached's READ_BUFFER_SIZE: an auth value must fit its read buffer (memcached stalls, we close). */
const AUTH_VALUE_MAX = 16384;
/** What asciiAuthLine asks of the connection besides reading a value. */
export const AUTH_ANSWERED = 0;
export const AUTH_CLOSE = -1;

function authReply(ctx: Context, line: string): void {
  if (ctx.server.verbosity > 1) ctx.server.trace(`>${ctx.id} ${line}`);
  ctx.out.ascii(line);
  ctx.out.crlf();
}

/**
 * A command line on a connection that has not authenticated, buf[s, lf) with lf at its '\n'.
 * Returns how many bytes of auth data to read (the value and its CRLF), or AUTH_ANSWERED when
 * the line was refused, or AUTH_CLOSE.
 */
export function asciiAuthLine(ctx: Context, buf: Uint8Array, s: number, lf: number, tokens: Tokens): number {
  // memcached tokenizes up to the '\n' (a NUL ends it sooner), leaving a CR on the last token.
  const nul = buf.indexOf(0, s);
  tokens.split(buf, s, nul >= 0 && nul < lf ? nul : lf);
  const size = tokens.count >= 5 && tokens.is(0, 'set') ? parseU32(buf, tokens.start[4]!, tokens.end[4]!) : -1;
  if (size < 0) {
    authReply(ctx, 'CLIENT_ERROR unauthenticated');
    return AUTH_ANSWERED;
  }
  return size + 2 > AUTH_VALUE_MAX ? AUTH_CLOSE : size + 2;
}

/** The auth data (value and the two bytes after it) of an auth `set`. */
export function asciiAuthData(ctx: Context, data: Uint8Array, tokens: Tokens, entries: readonly AuthEntry[]): void {
  const size = data.length - 2;
  if (data[size] !== 0x0d || data[size + 1] !== 0x0a) return authReply(ctx, 'CLIENT_ERROR bad command line termination');
  const nul = data.indexOf(0);
  tokens.split(data, 0, nul >= 0 && nul < size ? nul : size);
  if (tokens.count < 2) return authReply(ctx, 'CLIENT_ERROR bad authentication token format');
  const stats = ctx.server.stats;
  stats.authCmds++;
  if (checkAuthEntries(entries, latin1(tokens.view(0)), latin1(tokens.view(1)))) {
    ctx.authenticated = true;
    return authReply(ctx, 'STORED');
  }
  stats.authErrors++;
  authReply(ctx, 'CLIENT_ERROR authentication failure');
}
