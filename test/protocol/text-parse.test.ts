// parseTextLine's shortcut for `get <key>`: the request it makes is the one the tokenizer makes
// for the same line, for random keys of every byte; lines it must not take go the long way.
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

test.run();
