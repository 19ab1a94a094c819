// The four-bytes-at-a-time scans (src/protocol/scan.ts) against byte loops: every byte value at
// every place in a word, from aligned and unaligned starts, and random lines; a scan may stop
// early only at a word that holds what it looks for, and never passes over one.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { skipTokenWords, skipToLineFeedWord } from '../../src/protocol/scan.ts';
import { rng } from '../server/random.ts';

const LF = 0x0a;

/** Checks a scan's stop against `special`, the bytes it must not pass over. */
function check(scan: (buf: Uint8Array, from: number, to: number) => number, special: (b: number) => boolean, buf: Uint8Array, from: number, to: number, what: string): void {
  const stop = scan(buf, from, to);
  assert.ok(stop >= from && stop <= to, `${what}: ${stop} outside [${from}, ${to}]`);
  for (let i = from; i < stop; i++) assert.not.ok(special(buf[i]!), `${what}: passed over byte ${buf[i]} at ${i}`);
  // It stops only where fewer than four remain or the word there holds a special byte.
  if (stop + 4 <= to) assert.ok(buf.subarray(stop, stop + 4).some(special), `${what}: stopped at ${stop} for no reason`);
}

const belowTokenBytes = (b: number): boolean => b < 0x21;
const isLineFeed = (b: number): boolean => b === LF;

test('every byte value at every place of a word, from every alignment', () => {
  const buf = new Uint8Array(40);
  for (let value = 0; value < 256; value++) {
    for (let from = 0; from < 4; from++) {
      for (let at = from; at < from + 24; at++) {
        buf.fill(0x61);
        buf[at] = value;
        check(skipTokenWords, belowTokenBytes, buf, from, 32, `token bytes, ${value} at ${at} from ${from}`);
        check(skipToLineFeedWord, isLineFeed, buf, from, 32, `line feed, ${value} at ${at} from ${from}`);
      }
    }
  }
});

test('random lines of bytes high and low, over views with offsets', () => {
  const random = rng(4242);
  const backing = new Uint8Array(300);
  for (let round = 0; round < 3000; round++) {
    const offset = Math.floor(random() * 8);
    const buf = backing.subarray(offset, offset + 64 + Math.floor(random() * 200));
    for (let i = 0; i < buf.length; i++) {
      const r = random();
      buf[i] = r < 0.03 ? LF : r < 0.06 ? 0x20 : r < 0.08 ? 0 : r < 0.5 ? 0x80 + Math.floor(random() * 128) : 0x21 + Math.floor(random() * 95);
    }
    const from = Math.floor(random() * 16);
    const to = from + Math.floor(random() * (buf.length - from));
    check(skipTokenWords, belowTokenBytes, buf, from, to, `round ${round}`);
    check(skipToLineFeedWord, isLineFeed, buf, from, to, `round ${round}`);
  }
});

test.run();
