// Random text, meta and binary commands for the differential-random suite (and for replaying one
// of its sessions by hand): seeded, over a few keys, never depending on the clock.
import { OPCODE, deltaExtras, exptimeExtras, request, storeExtras, type OpcodeName, type RequestFields } from './binary-packets.ts';
import { rng } from './random.ts';

/** The keys most commands use. */
export const KEYS: readonly string[] = ['k0', 'k1', 'k2', 'k3', 'k4', 'k5'];

/** The seeded draws both protocols' commands are made of. */
class Draws {
  protected readonly random: () => number;

  constructor(seed: number) {
    this.random = rng(seed);
  }

  protected int(n: number): number {
    return Math.floor(this.random() * n);
  }

  protected pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  protected chance(p: number): boolean {
    return this.random() < p;
  }

  protected key(): string {
    // Mostly a few keys, so that commands meet; sometimes one never stored.
    return this.chance(0.9) ? this.pick(KEYS) : `miss${this.int(100)}`;
  }

  /**
   * A value: lowercase text (never the reply words), one of `numbers` (for incr and decr), or a
   * long one sent by reference.
   */
  protected value(numbers: ReadonlyArray<number | bigint>): string {
    const roll = this.random();
    if (roll < 0.3) return String(this.pick(numbers));
    if (roll < 0.35) return 'x'.repeat(4000 + this.int(3000));
    const text = Array.from({ length: this.int(24) }, () => this.pick([...'abcdefghijklmnopqrstuvwxyz '])).join('');
    // Never only spaces: memcached's incr of such a value reads on past its CRLF into whatever
    // bytes follow it in the chunk (strtoull skips them as whitespace), so the answer depends on
    // memory the item does not own (README, known differences).
    return text.trim() === '' && text !== '' ? `x${text.slice(1)}` : text;
  }
}

/** A session's commands: `next()` gives one, as the bytes sent for it. */
export class Commands extends Draws {

  private keys(): string {
    return Array.from({ length: 1 + this.int(4) }, () => this.key()).join(' ');
  }

  private textValue(): string {
    return this.value([0, 1, 9, 10, 99, 4294967295, 18446744073709551615n, 18446744073709551614n]);
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
      const value = this.textValue();
      return `${command} ${this.key()} ${this.flags()} ${this.exptime()} ${value.length}${this.noreply()}\r\n${value}\r\n`;
    }
    if (roll < 0.3) {
      const value = this.textValue();
      return `cas ${this.key()} ${this.flags()} ${this.exptime()} ${value.length} ${this.cas()}${this.noreply()}\r\n${value}\r\n`;
    }
    if (roll < 0.45) return `${this.pick(['get', 'gets'])} ${this.keys()}\r\n`;
    if (roll < 0.5) return `${this.pick(['gat', 'gats'])} ${this.pick([0, 1000])} ${this.keys()}\r\n`;
    if (roll < 0.58) return `${this.pick(['incr', 'decr'])} ${this.key()} ${this.pick(['1', '5', '18446744073709551615', '0', 'abc', '-1'])}${this.noreply()}\r\n`;
    if (roll < 0.63) return `delete ${this.key()}${this.noreply()}\r\n`;
    if (roll < 0.66) return `touch ${this.key()} ${this.pick([0, 1000])}${this.noreply()}\r\n`;
    if (roll < 0.76) return `mg ${this.key()}${this.metaFlags(['v', 'k', 'c', 'f', 's', 'h', 'q', 'O42', 'N0', 'E77'])}\r\n`;
    if (roll < 0.86) {
      const value = this.textValue();
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

const NO_CREATE = 0xffffffff;

/** A session's binary requests, as `Commands` gives text ones: `next()` is one packet. */
export class BinaryCommands extends Draws {
  private opaque = 1;

  private binaryValue(): string {
    return this.value([0, 1, 9, 10, 99, 4294967295, 18446744073709551615n]);
  }

  /** 0 (no CAS check) mostly, else a CAS unique that sometimes matches. */
  private cas(): bigint {
    return this.chance(0.7) ? 0n : BigInt(1 + this.int(60));
  }

  /** Never, in 1000 s, or at unix time 1 (long past: expired at once). */
  private exptime(): number {
    return this.pick([0, 0, 1000, 1]);
  }

  private packet(opcode: OpcodeName, fields: Omit<RequestFields, 'opcode' | 'opaque'> = {}): Uint8Array {
    return request({ opcode, opaque: this.opaque++, ...fields });
  }

  /** The NOOP that ends a batch, and the bytes of its reply (what a session waits for). */
  noop(): { packet: Uint8Array; reply: string } {
    const opaque = this.opaque++;
    const reply = Buffer.alloc(24);
    reply.writeUInt8(0x81, 0);
    reply.writeUInt8(OPCODE.NOOP, 1);
    reply.writeUInt32BE(opaque, 12);
    return { packet: request({ opcode: 'NOOP', opaque }), reply: reply.toString('latin1') };
  }

  next(): Uint8Array {
    const roll = this.random();
    const quiet = this.chance(0.3);
    if (roll < 0.25) {
      const op = this.pick(['SET', 'SET', 'ADD', 'REPLACE'] as const);
      const flags = this.pick([0, 1, 65535, 4294967295]);
      return this.packet(quiet ? `${op}Q` : op, { key: this.key(), value: this.binaryValue(), extras: storeExtras(flags, this.exptime()), cas: this.cas() });
    }
    if (roll < 0.35) {
      const op = this.pick(['APPEND', 'PREPEND'] as const);
      return this.packet(quiet ? `${op}Q` : op, { key: this.key(), value: this.binaryValue(), cas: this.cas() });
    }
    if (roll < 0.55) return this.packet(this.pick(['GET', 'GETQ', 'GETK', 'GETKQ'] as const), { key: this.key() });
    if (roll < 0.62) return this.packet(quiet ? 'DELETEQ' : 'DELETE', { key: this.key(), cas: this.cas() });
    if (roll < 0.78) {
      const op = this.pick(['INCREMENT', 'DECREMENT'] as const);
      const by = this.pick([0n, 1n, 5n, 18446744073709551615n]);
      const extras = deltaExtras(by, this.pick([0n, 7n, 18446744073709551615n]), this.pick([0, 1000, NO_CREATE]));
      return this.packet(quiet ? `${op}Q` : op, { key: this.key(), extras, cas: this.cas() });
    }
    if (roll < 0.9) return this.packet(this.pick(['TOUCH', 'GAT', 'GATQ', 'GATK', 'GATKQ'] as const), { key: this.key(), extras: exptimeExtras(this.pick([0, 1000])) });
    if (roll < 0.97) return this.packet('VERSION');
    return this.packet(quiet ? 'FLUSHQ' : 'FLUSH');
  }
}
