// A command line split into tokens as memcached's tokenize_command splits it: on single spaces
// (runs of spaces make no empty tokens), at most MAX_TOKENS - 1 tokens, the rest of the line left
// for the caller (multi-key gets continue with it), and nothing after a NUL (C's strings end
// there). Offsets into the read buffer; no copies.

/** memcached's MAX_TOKENS: the command, up to 22 more tokens, and the terminal token. */
export const MAX_TOKENS = 24;
import { skipTokenWords } from '../scan.ts';
import { Window } from '../window.ts';

const SPACE = 0x20;
const NUL = 0x00;

export class Tokens {
  /** Tokens found (memcached's ntokens minus its terminal token). */
  count = 0;
  readonly start = new Int32Array(MAX_TOKENS);
  readonly end = new Int32Array(MAX_TOKENS);
  /** Where the unread rest of the line starts when the token limit stopped the split, else -1. */
  rest = -1;
  /** The end of the line split last (after its CR and anything past a NUL were cut off). */
  lineEnd = 0;
  buf: Uint8Array = new Uint8Array(0);

  /** Splits buf[s, e) (a line without its line ending), up to a NUL in it. */
  split(buf: Uint8Array, s: number, e: number): void {
    this.buf = buf;
    this.count = 0;
    this.rest = -1;
    let from = s;
    // A token's bytes are passed over four at a time from its start; the word that holds its end
    // is looked at byte by byte.
    let i = skipTokenWords(buf, s, e);
    for (; i < e; i++) {
      const b = buf[i]!;
      if (b > SPACE) continue;
      if (b === NUL) break;
      if (b !== SPACE) continue;
      if (i !== from) {
        this.start[this.count] = from;
        this.end[this.count] = i;
        this.count++;
        if (this.count === MAX_TOKENS - 1) {
          let end = i + 1;
          while (end < e && buf[end] !== NUL) end++;
          this.lineEnd = end;
          this.rest = i + 1 < end ? i + 1 : -1;
          return;
        }
      }
      from = i + 1;
      i = skipTokenWords(buf, from, e) - 1;
    }
    this.lineEnd = i;
    if (from < i) {
      this.start[this.count] = from;
      this.end[this.count] = i;
      this.count++;
    }
  }

  length(i: number): number {
    return this.end[i]! - this.start[i]!;
  }

  /** Whether token i is exactly `word` (ASCII). */
  is(i: number, word: string): boolean {
    const s = this.start[i]!;
    if (this.end[i]! - s !== word.length) return false;
    for (let j = 0; j < word.length; j++) if (this.buf[s + j] !== word.charCodeAt(j)) return false;
    return true;
  }

  /** Token i as a view into the buffer. */
  view(i: number): Uint8Array {
    return this.window(i, this.buf, this.start[i]!, this.end[i]!);
  }

  /** The view made last for each token slot (see Window): a steady load asks for the same ones. */
  private readonly windows = Array.from({ length: MAX_TOKENS }, () => new Window());

  /** buf[s, e) as a view, kept for slot `slot` (a token's index). */
  window(slot: number, buf: Uint8Array, s: number, e: number): Uint8Array {
    return this.windows[slot]!.of(buf, s, e);
  }

  /** Token i as text (rare paths only: stats groups, modes). */
  text(i: number): string {
    let out = '';
    for (let j = this.start[i]!; j < this.end[i]!; j++) out += String.fromCharCode(this.buf[j]!);
    return out;
  }
}
