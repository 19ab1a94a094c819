// The text protocol's command lines to Requests, as memcached 1.6's proto_text.c reads them
// (process_command_ascii and the process_*_command argument checks). Errors are decided here,
// with memcached's exact reply; the process step never re-validates syntax.
// Meta commands (two letters starting with 'm') are handed to ../meta/parse.ts.

import { parseMetaCommand } from '../meta/parse.ts';
import { parseI32, parseU32, parseU64 } from '../numbers.ts';
import { skipTokenWords } from '../scan.ts';
import { CR } from '../output.ts';
import { BAD_FORMAT } from '../replies.ts';
import { Command, KEY_MAX_LENGTH, resetRequest } from '../request.ts';
import type { Request } from '../request.ts';
import { Tokens } from './tokens.ts';

export const ERROR = 'ERROR';

/**
 * Fills `req` from one command line: buf[s, e) where e is the index of its '\n'. A '\r' before
 * the '\n' is dropped as memcached drops it (only when the line has more than that byte), and a
 * NUL ends the line early, as C's string functions see it.
 */
export function parseTextLine(buf: Uint8Array, s: number, e: number, req: Request, tokens: Tokens): void {
  resetRequest(req);
  e = lineContentEnd(buf, s, e);
  if (singleGet(buf, s, e, req, tokens) || plainSet(buf, s, e, req, tokens)) return;
  tokens.split(buf, s, e);
  // No command is shorter than two bytes.
  if (tokens.count === 0 || tokens.length(0) < 2) return fail(req, ERROR);
  parseTokens(buf, tokens, req);
}

/**
 * Where the content of the line buf[s, lf) ends (lf: the index of its '\n'): a '\r' before the
 * '\n' is dropped, as memcached drops it, only when the line has more than that byte.
 */
export function lineContentEnd(buf: Uint8Array, s: number, lf: number): number {
  return lf - s > 1 && buf[lf - 1] === CR ? lf - 1 : lf;
}

const G = 0x67;
const E = 0x65;
const T = 0x74;
const SPACE = 0x20;

/**
 * The commonest line, `get <key>` with one key of printable bytes, read without the tokenizer;
 * false for anything else (the general path gives the same request for this form).
 */
function singleGet(buf: Uint8Array, s: number, e: number, req: Request, tokens: Tokens): boolean {
  const keyStart = singleGetKey(buf, s, e);
  if (keyStart < 0) return false;
  req.command = Command.GET;
  req.key = tokens.window(1, buf, keyStart, e);
  req.keys[0] = req.key;
  req.keyCount = 1;
  return true;
}

/**
 * Where the key starts when buf[s, e) (a line without its line ending) is `get <key>` with one
 * key of printable bytes, else -1. Spaces (a second key, or runs the tokenizer collapses),
 * controls and NUL are for the general path.
 */
export function singleGetKey(buf: Uint8Array, s: number, e: number): number {
  const keyStart = s + 4;
  if (e - keyStart < 1 || e - keyStart > KEY_MAX_LENGTH || buf[s] !== G || buf[s + 1] !== E || buf[s + 2] !== T || buf[s + 3] !== SPACE) return -1;
  for (let i = skipTokenWords(buf, keyStart, e); i < e; i++) if (buf[i]! <= SPACE) return -1;
  return keyStart;
}

const S = 0x73;
const ZERO = 0x30;
const NINE = 0x39;
/** Digits a plain number may have: below 10^9, so it is in range for every storage field. */
const PLAIN_DIGITS_MAX = 9;
const NOREPLY = ' noreply';

/** Where the last plainNumber ended (the index after its digits). */
let plainEnd = 0;

/**
 * The number of one to nine decimal digits at buf[at...] followed by a space or `e` (its end in
 * plainEnd), else -1: the form every storage field has in practice, which safe_strtoul and
 * safe_strtol read as its plain value. Signs, white space and longer numbers are the general path's.
 */
function plainNumber(buf: Uint8Array, at: number, e: number): number {
  let value = 0;
  let i = at;
  for (; i < e && i - at < PLAIN_DIGITS_MAX + 1; i++) {
    const c = buf[i]!;
    if (c < ZERO || c > NINE) break;
    value = value * 10 + (c - ZERO);
  }
  if (i === at || i - at > PLAIN_DIGITS_MAX || (i < e && buf[i] !== SPACE)) return -1;
  plainEnd = i;
  return value;
}

/**
 * The commonest storage line, `set <key> <flags> <exptime> <bytes>` with an optional `noreply`,
 * read without the tokenizer when it has its plainest form: single spaces, a key of printable
 * bytes, numbers of one to nine digits. false for anything else (the general path gives the same
 * request for this form).
 */
function plainSet(buf: Uint8Array, s: number, e: number, req: Request, tokens: Tokens): boolean {
  if (buf[s] !== S || buf[s + 1] !== E || buf[s + 2] !== T || buf[s + 3] !== SPACE) return false;
  const keyStart = s + 4;
  let keyEnd = skipTokenWords(buf, keyStart, e);
  while (keyEnd < e && buf[keyEnd]! > SPACE) keyEnd++;
  if (keyEnd === keyStart || keyEnd - keyStart > KEY_MAX_LENGTH || keyEnd === e || buf[keyEnd] !== SPACE) return false;
  const flags = plainNumber(buf, keyEnd + 1, e);
  if (flags < 0 || plainEnd === e) return false;
  const exptime = plainNumber(buf, plainEnd + 1, e);
  if (exptime < 0 || plainEnd === e) return false;
  const nbytes = plainNumber(buf, plainEnd + 1, e);
  if (nbytes < 0) return false;
  let noreply = false;
  if (plainEnd < e) {
    if (e - plainEnd !== NOREPLY.length) return false;
    for (let i = 1; i < NOREPLY.length; i++) if (buf[plainEnd + i] !== NOREPLY.charCodeAt(i)) return false;
    noreply = true;
  }
  req.command = Command.SET;
  req.noreply = noreply;
  req.key = tokens.window(1, buf, keyStart, keyEnd);
  req.flags = flags;
  req.exptime = exptime;
  req.nbytes = nbytes;
  return true;
}

/** ntokens as memcached counts them: the tokens plus its terminal token. */
function ntokens(tokens: Tokens): number {
  return tokens.count + 1;
}

function parseTokens(buf: Uint8Array, t: Tokens, req: Request): void {
  const n = ntokens(t);
  const first = buf[t.start[0]!]!;
  switch (first) {
    case 0x67: // g
      if (n < 3) return fail(req, ERROR);
      if (t.is(0, 'get')) return retrieval(t, req, Command.GET, 1);
      if (t.is(0, 'gets')) return retrieval(t, req, Command.GETS, 1);
      if (t.is(0, 'gat')) return touchRetrieval(t, req, Command.GAT);
      if (t.is(0, 'gats')) return touchRetrieval(t, req, Command.GATS);
      return fail(req, ERROR);
    case 0x73: // s
      if (t.is(0, 'set')) return n === 6 || n === 7 ? storage(t, req, Command.SET) : fail(req, ERROR);
      if (t.is(0, 'stats')) return stats(t, req);
      if (t.is(0, 'shutdown')) return shutdown(t, req);
      if (t.is(0, 'slabs')) return settingWords(t, req, Command.SLABS);
      return fail(req, ERROR);
    case 0x61: // a
      if (t.is(0, 'add')) return n === 6 || n === 7 ? storage(t, req, Command.ADD) : fail(req, ERROR);
      if (t.is(0, 'append')) return n === 6 || n === 7 ? storage(t, req, Command.APPEND) : fail(req, ERROR);
      return fail(req, ERROR);
    case 0x63: // c
      if (t.is(0, 'cas')) return n === 7 || n === 8 ? storage(t, req, Command.CAS) : fail(req, ERROR);
      if (t.is(0, 'cache_memlimit')) return n === 3 || n === 4 ? settingWords(t, req, Command.CACHE_MEMLIMIT) : fail(req, ERROR);
      return fail(req, ERROR);
    case 0x69: // i
      if (t.is(0, 'incr')) return n === 4 || n === 5 ? arithmetic(t, req, Command.INCR) : fail(req, ERROR);
      return fail(req, ERROR);
    case 0x64: // d
      if (t.is(0, 'delete')) return n >= 3 && n <= 5 ? remove(t, req) : fail(req, ERROR);
      if (t.is(0, 'decr')) return n === 4 || n === 5 ? arithmetic(t, req, Command.DECR) : fail(req, ERROR);
      return fail(req, ERROR);
    case 0x74: // t
      if (t.is(0, 'touch')) return n === 4 || n === 5 ? touch(t, req) : fail(req, ERROR);
      return fail(req, ERROR);
    default:
      break;
  }
  if (first === 0x6d && t.length(0) === 2) return parseMetaCommand(t, req); // m?
  if (t.is(0, 'replace')) return n === 6 || n === 7 ? storage(t, req, Command.REPLACE) : fail(req, ERROR);
  if (t.is(0, 'prepend')) return n === 6 || n === 7 ? storage(t, req, Command.PREPEND) : fail(req, ERROR);
  if (t.is(0, 'verbosity')) return n === 3 || n === 4 ? verbosity(t, req) : fail(req, ERROR);
  if (t.is(0, 'lru_crawler')) return words(t, req, Command.LRU_CRAWLER);
  if (t.is(0, 'lru')) return n >= 3 ? settingWords(t, req, Command.LRU) : fail(req, ERROR);
  if (t.is(0, 'flush_all')) return n >= 2 && n <= 4 ? flushAll(t, req) : fail(req, ERROR);
  if (t.is(0, 'version')) {
    req.command = Command.VERSION;
    return;
  }
  if (t.is(0, 'quit')) {
    req.command = Command.QUIT;
    return;
  }
  // An HTTP request line (e.g. `GET / HTTP/1.1`): memcached hangs up.
  const last = t.count - 1;
  if (t.length(last) >= 5 && t.text(last).startsWith('HTTP/')) {
    req.command = Command.CLOSE;
    return;
  }
  fail(req, ERROR);
}

function fail(req: Request, line: string): void {
  req.command = Command.ERROR;
  req.error = line;
}

/** memcached's set_noreply_maybe: the last token is "noreply". */
function noreply(t: Tokens, req: Request): void {
  req.noreply = t.is(t.count - 1, 'noreply');
}

function keyTooLong(t: Tokens, i: number): boolean {
  return t.length(i) > KEY_MAX_LENGTH;
}

/**
 * get/gets: every key token, and the rest of a line longer than the token limit (memcached
 * re-tokenizes it). A key over 250 bytes fails the whole command.
 */
function retrieval(t: Tokens, req: Request, command: Command, firstKey: number): void {
  req.command = command;
  let count = 0;
  const keys = req.keys;
  for (;;) {
    for (let i = firstKey; i < t.count; i++) {
      if (keyTooLong(t, i)) {
        req.keyCount = 0;
        return fail(req, BAD_FORMAT);
      }
      const view = t.view(i);
      if (count < keys.length) keys[count] = view;
      else keys.push(view);
      count++;
    }
    if (t.rest < 0) break;
    // The rest of the same line, as parseTextLine cut it (CR dropped, nothing past a NUL).
    t.split(t.buf, t.rest, t.lineEnd);
    firstKey = 0;
  }
  req.keyCount = count;
  req.key = keys[0]!;
}

/** gat/gats <exptime> <key>*. */
function touchRetrieval(t: Tokens, req: Request, command: Command): void {
  const exptime = parseI32(t.buf, t.start[1]!, t.end[1]!);
  if (Number.isNaN(exptime)) return fail(req, 'CLIENT_ERROR invalid exptime argument');
  retrieval(t, req, command, 2);
  req.exptime = exptime;
}

/** <command> <key> <flags> <exptime> <bytes> [<cas unique>] [noreply] */
function storage(t: Tokens, req: Request, command: Command): void {
  noreply(t, req);
  if (keyTooLong(t, 1)) return fail(req, BAD_FORMAT);
  const b = t.buf;
  const flags = parseU32(b, t.start[2]!, t.end[2]!);
  const exptime = parseI32(b, t.start[3]!, t.end[3]!);
  const nbytes = parseI32(b, t.start[4]!, t.end[4]!);
  if (flags < 0 || Number.isNaN(exptime) || Number.isNaN(nbytes)) return fail(req, BAD_FORMAT);
  if (command === Command.CAS) {
    const cas = parseU64(b, t.start[5]!, t.end[5]!);
    if (cas < 0n) return fail(req, BAD_FORMAT);
    req.cas = cas;
  }
  if (nbytes < 0 || nbytes > 0x7fffffff - 2) return fail(req, BAD_FORMAT);
  req.command = command;
  req.key = t.view(1);
  req.flags = flags;
  req.exptime = exptime;
  req.nbytes = nbytes;
}

/** incr|decr <key> <value> [noreply] */
function arithmetic(t: Tokens, req: Request, command: Command): void {
  noreply(t, req);
  if (keyTooLong(t, 1)) return fail(req, BAD_FORMAT);
  const delta = parseU64(t.buf, t.start[2]!, t.end[2]!);
  if (delta < 0n) return fail(req, 'CLIENT_ERROR invalid numeric delta argument');
  req.command = command;
  req.key = t.view(1);
  req.delta = delta;
}

/** delete <key> [0] [noreply]: the old hold time must be 0 when given. */
function remove(t: Tokens, req: Request): void {
  const n = ntokens(t);
  if (n > 3) {
    const holdIsZero = t.is(2, '0');
    noreply(t, req);
    const valid = (n === 4 && (holdIsZero || req.noreply)) || (n === 5 && holdIsZero && req.noreply);
    if (!valid) return fail(req, 'CLIENT_ERROR bad command line format.  Usage: delete <key> [noreply]');
  }
  if (keyTooLong(t, 1)) return fail(req, BAD_FORMAT);
  req.command = Command.DELETE;
  req.key = t.view(1);
}

/** touch <key> <exptime> [noreply] */
function touch(t: Tokens, req: Request): void {
  noreply(t, req);
  if (keyTooLong(t, 1)) return fail(req, BAD_FORMAT);
  const exptime = parseI32(t.buf, t.start[2]!, t.end[2]!);
  if (Number.isNaN(exptime)) return fail(req, 'CLIENT_ERROR invalid exptime argument');
  req.command = Command.TOUCH;
  req.key = t.view(1);
  req.exptime = exptime;
}

/** verbosity <level> [noreply] */
function verbosity(t: Tokens, req: Request): void {
  noreply(t, req);
  const level = parseU32(t.buf, t.start[1]!, t.end[1]!);
  if (level < 0) return fail(req, BAD_FORMAT);
  req.command = Command.VERBOSITY;
  req.exptime = level;
}

/** flush_all [delay] [noreply] */
function flushAll(t: Tokens, req: Request): void {
  noreply(t, req);
  req.command = Command.FLUSH_ALL;
  if (t.count !== (req.noreply ? 2 : 1)) {
    const delay = parseI32(t.buf, t.start[1]!, t.end[1]!);
    if (Number.isNaN(delay)) {
      req.arg = 'bad';
      return;
    }
    req.exptime = delay;
  }
}

/** stats [group [args]]: the group and its arguments are read by the process step. */
function stats(t: Tokens, req: Request): void {
  words(t, req, Command.STATS);
}

/** A command whose words after the first the process step reads: `arg`, one space apart. */
function words(t: Tokens, req: Request, command: Command): void {
  req.command = command;
  req.arg = '';
  for (let i = 1; i < t.count; i++) req.arg += (i > 1 ? ' ' : '') + t.text(i);
}

/** words(), and whether the last token is noreply (the process step decides whether it counts). */
function settingWords(t: Tokens, req: Request, command: Command): void {
  words(t, req, command);
  noreply(t, req);
}

/** shutdown [graceful] */
function shutdown(t: Tokens, req: Request): void {
  req.command = Command.SHUTDOWN;
  req.arg = t.count === 1 ? '' : t.count === 2 ? t.text(1) : '-';
}
