// parseTextLine's shortcuts for `get <key>` and plain `set` lines: the request each makes is the
// one the tokenizer makes for the same line, for random keys of every byte (and random fields);
// lines they must not take go the long way.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Command, createRequest } from '../../src/protocol/request.ts';
import type { Request } from '../../src/protocol/request.ts';
import { parseTextLine } from '../../src/protocol/text/parse.ts';
import { Tokens } from '../../src/protocol/text/tokens.ts';

function parse(line: Uint8Array): Request {
  const req = createRequest();
  parseTextLine(line, 0, line.length, req, new Tokens());
  return req;
}

const summary = (req: Request) => ({
  command: req.command,
  error: req.error,
  keys: req.keys.slice(0, req.keyCount).map((k) => [...k]),
  noreply: req.noreply,
});

const bytes = (...parts: Array<string | number[]>): Uint8Array =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));

test('get <key> gives what the tokenizer gives (a run of spaces makes the tokenizer take it)', () => {
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let n = 0; n < 3000; n++) {
    const length = 1 + random(n % 10 === 0 ? 260 : 30);
    const key = Array.from({ length }, () => (random(4) === 0 ? random(256) : 0x21 + random(94)));
    const quick = parse(bytes('get ', key, '\r'));
    const long = parse(bytes('get  ', key, '\r'));
    assert.equal(summary(quick), summary(long), JSON.stringify(key));
  }
});

test('what the shortcut leaves: several keys, over 250 bytes, tabs, NUL, no key', () => {
  assert.equal(summary(parse(bytes('get a b\r'))).keys, [[0x61], [0x62]]);
  assert.is(parse(bytes('get ', 'k'.repeat(251), '\r')).error, 'CLIENT_ERROR bad command line format');
  assert.equal(summary(parse(bytes('get ', 'k'.repeat(250), '\r'))).keys[0]!.length, 250);
  assert.equal(summary(parse(bytes('get a\tb\r'))).keys, [[0x61, 0x09, 0x62]], 'a tab is part of the key, as in memcached');
  assert.equal(summary(parse(bytes('get ab', [0], 'cd\r'))).keys, [[0x61, 0x62]], 'a NUL ends the line');
  assert.is(parse(bytes('get \r')).command, Command.ERROR);
  assert.is(parse(bytes('gets k\r')).command, Command.GETS);
});

const storeSummary = (req: Request) => ({
  command: req.command,
  error: req.error,
  key: req.command === Command.SET ? [...req.key] : [],
  noreply: req.noreply,
  flags: req.flags,
  exptime: req.exptime,
  nbytes: req.nbytes,
});

test('a plain set line gives what the tokenizer gives, and the shortcut takes it', () => {
  // xorshift32: an LCG modulo 2^31 repeats its low bits too soon for fields drawn by turns.
  let seed = 11;
  const random = (n: number): number => {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    return (seed >>> 0) % n;
  };
  const digits = (n: number): string => Array.from({ length: n }, () => String(random(10))).join('');
  const number = (): string => {
    switch (random(8)) {
      case 0:
        return digits(10 + random(3)); // beyond the shortcut's nine digits
      case 1:
        return (random(2) === 0 ? '-' : '+') + digits(1 + random(3));
      case 2:
        return digits(1 + random(3)) + String.fromCharCode(random(256));
      case 3:
        return '0'.repeat(1 + random(4)) + digits(random(6));
      default:
        return digits(1 + random(9));
    }
  };
  const tails = ['', '', '', ' noreply', ' noreply', ' noreplyx', ' norepl', ' x', ' ', ' noreply ', ' 123', ' 1 noreply'];
  let taken = 0;
  for (let n = 0; n < 5000; n++) {
    const length = 1 + random(n % 10 === 0 ? 260 : 30);
    const key = Array.from({ length }, () => (random(16) === 0 ? random(256) : 0x21 + random(94)));
    const rest = ` ${number()} ${number()} ${number()}${tails[random(tails.length)]!}\r`;
    const tokens = new Tokens();
    const quick = createRequest();
    const line = bytes('set ', key, rest);
    parseTextLine(line, 0, line.length, quick, tokens);
    if (tokens.count === 0) taken++;
    const long = parse(bytes('set  ', key, rest));
    assert.equal(storeSummary(quick), storeSummary(long), JSON.stringify([...line]));
  }
  // About one line in twelve is plain: the comparison covers the shortcut, not only the long way.
  assert.ok(taken > 250, `${taken} lines took the shortcut`);
});

test('what the set shortcut leaves: signs, ten digits, tabs, a key over 250 bytes, extra tokens', () => {
  const tokensAfter = (text: string): number => {
    const line = bytes(text);
    const tokens = new Tokens();
    parseTextLine(line, 0, line.length, createRequest(), tokens);
    return tokens.count;
  };
  assert.is(tokensAfter('set k 1 2 3\r'), 0);
  assert.is(tokensAfter('set k 1 2 3 noreply\r'), 0);
  assert.is(tokensAfter('set k 1 2 -3\r'), 5);
  assert.is(tokensAfter('set k 1 2 1234567890\r'), 5);
  assert.is(tokensAfter('set k\t1 2 3\r'), 4);
  assert.is(tokensAfter('set k 1 2 3 noreply x\r'), 7);
  const plain = parse(bytes('set key 4294967295 0 7 noreply\r'));
  assert.equal([plain.command, plain.flags, plain.nbytes, plain.noreply], [Command.SET, 4294967295, 7, true], 'ten-digit flags the long way');
  assert.is(parse(bytes('set ', 'k'.repeat(251), ' 0 0 1\r')).error, 'CLIENT_ERROR bad command line format');
  const longest = parse(bytes('set ', 'k'.repeat(250), ' 0 0 1\r'));
  assert.equal([longest.command, longest.key.length], [Command.SET, 250]);
});

test.run();
