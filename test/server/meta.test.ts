// The meta commands' process step (src/server/meta.ts) against real ts and wasm engines, driven
// through the server's own Connection without sockets, and the exact reply bytes memcached
// 1.6.18 gives (observed on /usr/bin/memcached), with a manual clock for t, l, me and expiry.
import { Buffer } from 'node:buffer';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { ServerStats } from '../../src/server/stats.ts';
import { closeAll, openEngine } from '../engine/harness.ts';
import type { EngineHarness, EngineName } from '../engine/harness.ts';
import { connectionOver } from './serve.ts';

interface Subject {
  h: EngineHarness;
  stats: ServerStats;
  /** Sends raw protocol bytes; returns everything replied, as latin1. */
  send(input: string): string;
  /** memcached's current_time. */
  now(): number;
}

async function subject(name: EngineName, config: Record<string, string> = {}): Promise<Subject> {
  const h = await openEngine(name, config, { baseConfig: name === 'wasm' ? { wasm_build: 'debug' } : {} });
  // A whole connection (the one the server uses) over a transport that records the replies.
  const c = connectionOver(h.engine, { core: h.clock, log: () => {} }, { reqsPerEvent: Number.MAX_SAFE_INTEGER });
  return {
    h,
    stats: c.state.stats,
    now: () => h.clock.currentTime(),
    send(input: string): string {
      c.conn.receive(Buffer.from(input, 'latin1'));
      return c.reply();
    },
  };
}

/** `ms <key> <datalen> <flags>\r\n<value>\r\n` */
function ms(key: string, value: string, flags = ''): string {
  return `ms ${key} ${value.length}${flags === '' ? '' : ` ${flags}`}\r\n${value}\r\n`;
}

const OPAQUE_33 = `O${'o'.repeat(32)}`;

for (const name of ['ts', 'wasm'] as const) {
  const s = suite(`meta process (${name} engine)`);
  const t = (title: string, body: (x: Subject) => void, config: Record<string, string> = {}): void => {
    s(title, async () => {
      try {
        body(await subject(name, config));
      } catch (error) {
        closeAll(false);
        throw error;
      }
      closeAll(true);
    });
  };
  /** Sends each input in turn and checks each reply. */
  const exchange = (x: Subject, pairs: Array<[string, string]>): void => {
    for (const [input, reply] of pairs) assert.is(JSON.stringify(x.send(input)), JSON.stringify(reply), input);
  };

  t('mn: the static reply', (x) => {
    exchange(x, [
      ['mn\r\n', 'MN\r\n'],
      ['mn foo bar\r\n', 'MN\r\n'],
      ['mg nope q\r\nmg nope2 q v\r\nmn\r\n', 'MN\r\n'],
    ]);
  });

  t('mg: miss, hit, v, and the flags in request order', (x) => {
    exchange(x, [
      ['mg foo\r\n', 'EN\r\n'],
      ['mg foo v k O1\r\n', 'EN kfoo O1\r\n'],
      [ms('foo', 'hi', 'F5'), 'HD\r\n'],
      ['mg foo\r\n', 'HD\r\n'],
      ['mg foo v\r\n', 'VA 2\r\nhi\r\n'],
      ['mg foo s v f c k O123\r\n', 'VA 2 s2 f5 c1 kfoo O123\r\nhi\r\n'],
      ['mg foo O123 k c f s v t\r\n', 'VA 2 O123 kfoo c1 f5 s2 t-1\r\nhi\r\n'],
      ['mg foo P/x L1 u\r\n', 'HD\r\n'],
    ]);
  });

  t('mg: q hides EN but not hits', (x) => {
    exchange(x, [
      [ms('a', 'alpha'), 'HD\r\n'],
      ['mg nope q\r\nmg a q v\r\nmg nope q k\r\nmg a q k\r\nmn\r\n', 'VA 5\r\nalpha\r\nHD ka\r\nMN\r\n'],
    ]);
  });

  t('mg: h and l report the state from before this hit; u leaves it', (x) => {
    x.send(ms('a', 'alpha'));
    x.h.advance(5);
    exchange(x, [
      ['mg a u h l\r\n', 'HD h0 l5\r\n'],
      ['mg a u h\r\n', 'HD h0\r\n'],
      ['mg a h l\r\n', 'HD h0 l5\r\n'],
      ['mg a h l\r\n', 'HD h1 l5\r\n'],
      ['mg a h l\r\n', 'HD h1 l0\r\n'], // the second hit made it ACTIVE: time = now
    ]);
  });

  t('mg: t, and T at its place in the flags; T counts a touch', (x) => {
    x.send(ms('a', 'alpha', 'T100'));
    x.h.advance(10);
    exchange(x, [
      ['mg a t\r\n', 'HD t90\r\n'],
      ['mg a t T30\r\n', 'HD t90\r\n'],
      ['mg a t\r\n', 'HD t30\r\n'],
      ['mg a T0 t\r\n', 'HD t-1\r\n'],
      ['mg a T-1 t v\r\n', `VA 5 t${(1 - x.now()) >>> 0}\r\nalpha\r\n`],
      ['mg a\r\n', 'EN\r\n'],
      ['mg a T30\r\n', 'EN\r\n'],
    ]);
    // A miss counts as a get even with T.
    assert.equal([x.stats.cmdGet, x.stats.cmdTouch], [4, 3]);
    assert.equal([x.h.stat('touch_hits'), x.h.stat('touch_misses'), x.h.stat('get_hits'), x.h.stat('get_misses')], [3, 0, 2, 2]);
  });

  t('mg: N vivifies on a miss and wins (W); later clients see Z; T and N apply in flag order', (x) => {
    exchange(x, [
      ['mg foo N30 c t s v k O9\r\n', 'VA 0 c1 t30 s0 kfoo O9 W\r\n\r\n'],
      ['mg foo N30 c t s v\r\n', 'VA 0 c1 t30 s0 Z\r\n\r\n'],
      ['mg foo c t s v\r\n', 'VA 0 c1 t30 s0 Z\r\n\r\n'],
      [ms('foo', 'hi'), 'HD\r\n'],
      ['mg foo N30 v\r\n', 'VA 2\r\nhi\r\n'],
      ['mg b T10 N30 t\r\nmg b t\r\n', 'HD t30 W\r\nHD t30 Z\r\n'],
      ['mg c N30 T10 t\r\nmg c t\r\n', 'HD t10 W\r\nHD t10 Z\r\n'],
      ['mg d t N30 T10\r\nmg d t\r\n', 'HD t-1 W\r\nHD t10 Z\r\n'],
      ['mg e N30 h\r\nmg e h\r\n', 'HD h0 W\r\nHD h1 Z\r\n'],
    ]);
    assert.equal([x.h.stat('get_hits'), x.h.stat('get_misses'), x.h.stat('touch_hits'), x.h.stat('cmd_set')], [9, 0, 3, 1]);
  });

  t('mg: R wins when the TTL left is below its token, once', (x) => {
    exchange(x, [
      [ms('foo', 'hi', 'T100'), 'HD\r\n'],
      ['mg foo R30 t\r\n', 'HD t100\r\n'],
      ['mg foo R200 t\r\n', 'HD t100 W\r\n'],
      ['mg foo R200 t\r\n', 'HD t100 Z\r\n'],
      [ms('bar', 'hi', 'T100'), 'HD\r\n'],
      ['mg bar R200 T10 t\r\n', 'HD t10 W\r\n'],
      [ms('baz', 'hi', 'T100'), 'HD\r\n'],
      ['mg baz T1000 R200 t\r\n', 'HD t1000\r\n'],
      [ms('never', 'hi'), 'HD\r\n'],
      ['mg never R200\r\n', 'HD\r\n'],
    ]);
  });

  t('md I marks stale: X and W, then Z; T sets its TTL; an ms with an older CAS and I stays stale', (x) => {
    exchange(x, [
      [ms('foo', 'hi', 'c'), 'HD c1\r\n'],
      ['md foo I T30 k\r\n', 'HD kfoo\r\n'],
      ['mg foo c t v\r\n', 'VA 2 c2 t30 X W\r\nhi\r\n'],
      ['mg foo c t v\r\n', 'VA 2 c2 t30 Z X\r\nhi\r\n'],
      ['md foo I\r\n', 'HD\r\n'],
      ['mg foo c t v\r\n', 'VA 2 c3 t30 X W\r\nhi\r\n'],
      ['ms foo 3 C1 I c\r\nbye\r\n', 'HD c4\r\n'],
      ['mg foo c v t\r\n', 'VA 3 c4 t30 Z X\r\nbye\r\n'],
      ['ms foo 2 C4 c\r\nok\r\n', 'HD c5\r\n'],
      ['mg foo v t\r\n', 'VA 2 t-1\r\nok\r\n'],
      ['md foo\r\n', 'HD\r\n'],
      ['mg foo\r\n', 'EN\r\n'],
    ]);
    assert.equal([x.h.stat('delete_hits'), x.h.stat('cas_hits')], [1, 2]);
  });

  t('ms: c, F, T, k, O; the CAS of append; c0 when not stored', (x) => {
    exchange(x, [
      ['ms foo 2 c k O5 F7 T100\r\nhi\r\n', 'HD c1 kfoo O5\r\n'],
      ['mg foo f t v\r\n', 'VA 2 f7 t100\r\nhi\r\n'],
      ['ms foo 2 c k O5 ME\r\nhi\r\n', 'NS c0 kfoo O5\r\n'],
      ['ms foo 2 c MA\r\n!!\r\n', 'HD c2\r\n'],
      ['mg foo v c f t\r\n', 'VA 4 c2 f7 t100\r\nhi!!\r\n'],
      ['ms foo 1 MP\r\n<\r\n', 'HD\r\n'],
      ['mg foo v\r\n', 'VA 5\r\n<hi!!\r\n'],
      ['ms bar 2 c MR\r\nhi\r\n', 'NS c0\r\n'],
      ['ms bar 2 c MR C5\r\nhi\r\n', 'NF c0\r\n'],
      ['ms bar 2 MA\r\nhi\r\n', 'NS\r\n'],
      ['ms bar 2 MS\r\nhi\r\n', 'HD\r\n'],
      ['ms bar 0\r\n\r\n', 'HD\r\n'],
      ['mg bar v s\r\n', 'VA 0 s0\r\n\r\n'],
      ['ms big 2 F4294967296 T4294967396\r\nhi\r\nmg big f t\r\n', 'HD\r\nHD f0 t100\r\n'],
    ]);
  });

  t('ms: C compares (a set becomes a cas); C0 is a mismatch; append with C', (x) => {
    exchange(x, [
      [ms('foo', 'hi', 'c'), 'HD c1\r\n'],
      ['ms foo 2 c C9\r\nho\r\n', 'EX c0\r\n'],
      ['ms foo 2 c C0\r\nho\r\n', 'EX c0\r\n'],
      ['ms foo 2 c C1 MA\r\nho\r\n', 'HD c2\r\n'],
      ['ms foo 2 c C1 MA\r\nho\r\n', 'EX c0\r\n'],
      ['ms foo 2 c C0 MA\r\n!!\r\n', 'HD c3\r\n'],
      ['ms foo 2 c C3 MR\r\nok\r\n', 'HD c4\r\n'],
      ['ms foo 2 C9999 I c\r\nho\r\n', 'EX c0\r\n'],
      ['ms foo 2 C0 I c\r\nho\r\n', 'EX c0\r\n'],
      ['mg foo v c\r\n', 'VA 2 c4\r\nok\r\n'],
    ]);
    assert.equal([x.h.stat('cas_hits'), x.h.stat('cas_badval')], [1, 4]);
  });

  t('ms: q hides HD only; errors and a bad data chunk are always shown', (x) => {
    exchange(x, [
      ['ms foo 2 q c k\r\nhi\r\nmn\r\n', 'MN\r\n'],
      ['ms foo 2 q c ME\r\nhi\r\n', 'NS c0\r\n'],
      ['ms foo 2 q x\r\nhi\r\nmn\r\n', 'CLIENT_ERROR invalid flag\r\nMN\r\n'],
      // "X\r" is not the CRLF: both are consumed, and the "\n" left is an empty command line.
      ['ms foo 2 q\r\nhiX\r\n', 'CLIENT_ERROR bad data chunk\r\nERROR\r\n'],
      ['mg foo v\r\n', 'VA 2\r\nhi\r\n'],
    ]);
  });

  t('ms: errors in the flags swallow the value; errors before them do not', (x) => {
    exchange(x, [
      ['ms foo 2 x\r\nhi\r\nmn\r\n', 'CLIENT_ERROR invalid flag\r\nMN\r\n'],
      ['ms foo 2 MX\r\nhi\r\nmn\r\n', 'CLIENT_ERROR invalid mode for ms M token\r\nMN\r\n'],
      [`ms foo 2 ${OPAQUE_33}\r\nhi\r\nmn\r\n`, 'CLIENT_ERROR opaque token too long\r\nMN\r\n'],
      ['ms foo 2 Tx\r\nhi\r\nmn\r\n', 'CLIENT_ERROR bad token in command line format\r\nMN\r\n'],
      ['ms foo\r\nmn\r\n', 'CLIENT_ERROR bad command line format\r\nMN\r\n'],
      ['mg foo\r\n', 'EN\r\n'],
    ]);
  });

  t('ms: a value over the item size: object too large, swallowed, and the old value dropped', (x) => {
    x.send(ms('foo', 'old'));
    const big = 'x'.repeat(2 * 1024 * 1024);
    exchange(x, [
      [`ms foo ${big.length} ME\r\n${big}\r\nmg foo v\r\n`, 'SERVER_ERROR object too large for cache\r\nEN\r\n'],
    ]);
    assert.is(x.h.stat('store_too_large'), 1);
  });

  t('b: base64 keys; k returns them encoded with b when the item was stored so', (x) => {
    exchange(x, [
      ['ms Zm9v 2 b k c\r\nhi\r\n', 'HD kZm9v b c1\r\n'],
      ['mg foo k v\r\n', 'VA 2 kZm9v b\r\nhi\r\n'],
      ['mg Zm9v b k v\r\n', 'VA 2 kZm9v b\r\nhi\r\n'],
      ['me foo\r\n', 'ME Zm9v exp=-1 la=0 cas=1 fetch=yes cls=1 size=64\r\n'],
      ['me Zm9v b\r\n', 'ME Zm9v exp=-1 la=0 cas=1 fetch=yes cls=1 size=64\r\n'],
      [ms('bar', 'hi'), 'HD\r\n'],
      ['mg YmFy b k v\r\n', 'VA 2 kbar\r\nhi\r\n'],
      ['mg Zm9v! b k q\r\nmg bm9wZQ== b k\r\n', 'HD kZm9v b\r\nEN kbm9wZQ== b\r\n'],
      ['md YmFy b k\r\n', 'HD kYmFy b\r\n'],
      ['ma YmFy b k\r\n', 'NF kYmFy b\r\n'],
      ['mg Zm9 b k\r\n', 'CLIENT_ERROR error decoding key\r\n'],
      ['mg AAECAw== b N0 k\r\n', 'HD k\u0000\u0001\u0002\u0003 W\r\n'], // a vivified item is not marked binary
    ]);
  });

  t('md: HD, NF, EX; q hides HD only; C compares (C0 too) and counts delete_misses', (x) => {
    exchange(x, [
      ['md foo\r\nmd foo q\r\nmd foo k O1 q\r\nmn\r\n', 'NF\r\nNF\r\nNF kfoo O1\r\nMN\r\n'],
      [ms('foo', 'hi', 'c'), 'HD c1\r\n'],
      ['md foo C2 k O2\r\n', 'EX kfoo O2\r\n'],
      ['md foo C2 q\r\n', 'EX\r\n'],
      ['md foo C0\r\n', 'EX\r\n'],
      ['md foo T30\r\n', 'HD\r\n'],
      ['mg foo\r\n', 'EN\r\n'],
      [ms('foo', 'hi'), 'HD\r\n'],
      ['md foo q k\r\nmn\r\n', 'MN\r\n'],
    ]);
    assert.equal([x.h.stat('delete_hits'), x.h.stat('delete_misses')], [2, 6]);
  });

  t('ma: incr by default, D, modes, v, c, t; q hides success', (x) => {
    exchange(x, [
      ['ma foo\r\nma foo q\r\nma foo q k O1\r\n', 'NF\r\nNF\r\nNF kfoo O1\r\n'],
      ['ma foo N0 J10 v c t k O1\r\n', 'VA 2 c1 t-1 kfoo O1\r\n10\r\n'],
      ['ma foo v c t MD D3\r\n', 'VA 1 c2 t-1\r\n7\r\n'],
      ['ma foo v M- D30\r\n', 'VA 1\r\n0\r\n'],
      ['ma foo v M+ D5\r\n', 'VA 1\r\n5\r\n'],
      ['ma foo MI\r\n', 'HD\r\n'],
      ['ma foo q v\r\nma foo v\r\n', 'VA 1\r\n8\r\n'],
      ['ma foo D18446744073709551615 v\r\n', 'VA 1\r\n7\r\n'],
    ]);
    assert.equal([x.h.stat('incr_misses'), x.h.stat('incr_hits'), x.h.stat('decr_hits')], [3, 5, 2]);
  });

  t('ma: N creates (shown even with q, counting no miss); T and N set the TTL in flag order', (x) => {
    exchange(x, [
      ['ma a N0 q\r\n', 'HD\r\n'],
      ['ma a q v\r\nma a v\r\n', 'VA 1\r\n2\r\n'],
      ['ma b t N30 J5 T10 v\r\nmg b t\r\n', 'VA 1 t-1\r\n5\r\nHD t10\r\n'],
      ['ma c T10 N30 t\r\nmg c t\r\n', 'HD t30\r\nHD t30\r\n'],
      ['ma c N5 t\r\n', 'HD t30\r\n'],
      ['ma c T100 t\r\n', 'HD t100\r\n'],
      ['ma c t T7\r\nmg c t\r\n', 'HD t100\r\nHD t7\r\n'],
    ]);
    assert.equal([x.h.stat('incr_misses'), x.h.stat('cmd_set')], [0, 0]);
  });

  t('ma: EX on a CAS mismatch (C0 does not compare); non-numeric and empty values', (x) => {
    exchange(x, [
      [ms('foo', '10', 'c'), 'HD c1\r\n'],
      ['ma foo C2 k O1\r\nma foo C2 q\r\n', 'EX kfoo O1\r\nEX\r\n'],
      ['ma foo C0 v\r\n', 'VA 2\r\n11\r\n'],
      ['ma foo C2 v c\r\n', 'VA 2 c3\r\n12\r\n'],
      [ms('s', 'hi'), 'HD\r\n'],
      ['ma s\r\nma s q\r\n', 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n'.repeat(2)],
      [ms('e', ''), 'HD\r\n'],
      ['ma e\r\n', 'CLIENT_ERROR cannot increment or decrement non-numeric value\r\n'],
      [ms('n', '18446744073709551615'), 'HD\r\n'],
      ['ma n v\r\nma n v MD D5\r\n', 'VA 1\r\n0\r\nVA 1\r\n0\r\n'],
      [ms('m', '-0 '), 'HD\r\n'],
      ['ma m v\r\n', 'VA 1\r\n1\r\n'],
    ]);
  });

  t('the opaque token over 32 bytes: mg and ma fail after their effects; errors ignore q', (x) => {
    exchange(x, [
      [`mg foo q ${OPAQUE_33}\r\n`, 'CLIENT_ERROR opaque token too long\r\n'],
      [`ma foo q ${OPAQUE_33}\r\n`, 'CLIENT_ERROR opaque token too long\r\n'],
      [`mg foo N30 ${OPAQUE_33}\r\nmg foo t v\r\n`, 'CLIENT_ERROR opaque token too long\r\nVA 0 t30\r\n\r\n'],
      [`mg bar ${OPAQUE_33} N30\r\nmg bar t v\r\n`, 'CLIENT_ERROR opaque token too long\r\nVA 0 t-1\r\n\r\n'],
      [ms('n', '1'), 'HD\r\n'],
      [`ma n q ${OPAQUE_33}\r\nmg n v\r\n`, 'CLIENT_ERROR opaque token too long\r\nVA 1\r\n2\r\n'],
      [`md n ${OPAQUE_33}\r\nmg n v\r\n`, 'CLIENT_ERROR opaque token too long\r\nVA 1\r\n2\r\n'],
    ]);
    // The hit on foo counted nothing; the misses counted as gets.
    assert.equal([x.stats.cmdGet, x.h.stat('get_misses')], [5, 1]);
  });

  t('me: the item as memcached prints it; EN on a miss; counts cmd_meta', (x) => {
    exchange(x, [
      ['me foo\r\n', 'EN\r\n'],
      [ms('foo', 'hi', 'T100 F5'), 'HD\r\n'],
      ['me foo\r\n', 'ME foo exp=-100 la=0 cas=1 fetch=no cls=1 size=68\r\n'],
      ['mg foo v\r\n', 'VA 2\r\nhi\r\n'],
    ]);
    x.h.advance(7);
    exchange(x, [
      ['me foo x y\r\n', 'ME foo exp=-93 la=7 cas=1 fetch=yes cls=1 size=68\r\n'],
      [ms('bar', 'x'.repeat(200)), 'HD\r\n'],
      ['me bar\r\n', 'ME bar exp=-1 la=0 cas=2 fetch=no cls=6 size=262\r\n'],
      ['me bar b\r\n', 'CLIENT_ERROR bad command line format\r\n'],
      ['me\r\n', 'CLIENT_ERROR bad command line format\r\n'],
    ]);
    assert.is(x.stats.cmdMeta, 4);
    assert.equal([x.h.stat('get_hits'), x.h.stat('get_misses')], [1, 0], 'me counts no get');
  });

  t('parse errors reach the connection as ERROR lines, never quiet', (x) => {
    exchange(x, [
      ['mg foo x q\r\n', 'CLIENT_ERROR invalid flag\r\n'],
      ['mg\r\n', 'ERROR\r\n'],
      ['md foo Tx q\r\n', 'CLIENT_ERROR invalid or duplicate flag\r\n'],
      ['ma foo MX q\r\n', 'CLIENT_ERROR invalid mode for ma M token\r\n'],
      ['mx\r\n', 'ERROR\r\n'],
    ]);
  });

  s.run();
}
