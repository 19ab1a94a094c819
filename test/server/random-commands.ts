// Random text and meta commands for the differential-random suite (and for replaying one of its
// sessions by hand): seeded, over a few keys, never depending on the clock.
import { rng } from './random.ts';

/** The keys most commands use. */
export const KEYS: readonly string[] = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];

/** A session's commands: `next()` gives one, as the bytes sent for it. */
export class Commands {
  private readonly random: () => number;

  constructor(seed: number) {
    this.random = rng(seed);
  }

  private int(n: number): number {
    return Math.floor(this.random() * n);
  }

  private pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  private chance(p: number): boolean {
    return this.random() < p;
  }

  private key(): string {
    // Mostly a few keys, so that commands meet; sometimes one never stored.
    return this.chance(0.9) ? this.pick(KEYS) : `miss${this.int(100)}`;
  }

  private keys(): string {
    return Array.from({ length: 1 + this.int(4) }, () => this.key()).join(' ');
  }

  /** A value: lowercase text (never the reply words), a number for incr and decr, or a long one sent by reference. */
  private value(): string {
    const roll = this.random();
    if (roll < 0.3) return String(this.pick([0, 1, 9, 10, 99, 4294967295, 18446744073709551615n, 18446744073709551614n]));
    if (roll < 0.35) return 'x'.repeat(4000 + this.int(3000));
    const letters = 'abcdefghijklmnopqrstuvwxyz ';
    return Array.from({ length: this.int(24) }, () => this.pick([...letters])).join('');
  }

  private flags(): string {
    return String(this.pick([0, 0, 1, 7, 65535, 4294967295]));
  }

  private exptime(): string {
    return String(this.pick([0, 0, 0, 1000, -1]));
  }

  private noreply(): string {
    return this.chance(0.15) ? ' noreply' : '';
  }

  /** A CAS unique that sometimes matches: both servers count them from 1 alike. */
  private cas(): string {
    return String(1 + this.int(60));
  }

  next(): string {
    const roll = this.random();
    if (roll < 0.25) {
      const command = this.pick(['set', 'set', 'add', 'replace', 'append', 'prepend']);
      const value = this.value();
      return `${command} ${this.key()} ${this.flags()} ${this.exptime()} ${value.length}${this.noreply()}\r\n${value}\r\n`;
    }
    if (roll < 0.3) {
      const value = this.value();
      return `cas ${this.key()} ${this.flags()} ${this.exptime()} ${value.length} ${this.cas()}${this.noreply()}\r\n${value}\r\n`;
    }
    if (roll < 0.45) return `${this.pick(['get', 'gets'])} ${this.keys()}\r\n`;
    if (roll < 0.5) return `${this.pick(['gat', 'gats'])} ${this.pick([0, 1000])} ${this.keys()}\r\n`;
    if (roll < 0.58) return `${this.pick(['incr', 'decr'])} ${this.key()} ${this.pick(['1', '5', '18446744073709551615', '0', 'abc', '-1'])}${this.noreply()}\r\n`;
    if (roll < 0.63) return `delete ${this.key()}${this.noreply()}\r\n`;
    if (roll < 0.66) return `touch ${this.key()} ${this.pick([0, 1000])}${this.noreply()}\r\n`;
    if (roll < 0.76) return `mg ${this.key()}${this.metaFlags(['v', 'k', 'c', 'f', 's', 'h', 'q', 'O42', 'N0', 'E77'])}\r\n`;
    if (roll < 0.86) {
      const value = this.value();
      const flags = this.metaFlags(['T0', 'T1000', 'F5', 'I', 'MA', 'MP', 'ME', 'MR', 'MS', 'q', 'c', 'k', 'O7', `C${this.cas()}`]);
      return `ms ${this.key()} ${value.length}${flags}\r\n${value}\r\n`;
    }
    if (roll < 0.91) return `md ${this.key()}${this.metaFlags(['q', 'I', 'k', 'O9', `C${this.cas()}`])}\r\n`;
    if (roll < 0.98) return `ma ${this.key()}${this.metaFlags(['N0', 'J13', 'D3', 'MI', 'MD', 'q', 'v', 'c', 'k', `C${this.cas()}`])}\r\n`;
    if (roll < 0.99) return 'flush_all\r\n';
    return `${this.pick(['get', 'set k0 0 0', 'incr', 'mg', 'ms k1 abc', 'bogus'])}\r\n`;
  }

  /** Some of the flags, each at most once, in a random order. */
  private metaFlags(flags: readonly string[]): string {
    const chosen = flags.filter(() => this.chance(0.3));
    for (let i = chosen.length - 1; i > 0; i--) {
      const j = this.int(i + 1);
      [chosen[i], chosen[j]] = [chosen[j]!, chosen[i]!];
    }
    return chosen.map((flag) => ` ${flag}`).join('');
  }
}
