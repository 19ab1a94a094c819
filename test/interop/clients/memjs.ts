// Client matrix: memjs 1.3.2 (memcached's binary protocol, SASL PLAIN from MC_USERNAME/MC_PASSWORD),
// over TCP only: memjs has no unix sockets. memjs has no multi-get, CAS or VERSION call and always
// sends flags 0; flags are set here through its serializer option, VERSION is built with its Utils.
import { Client, Utils } from 'memjs';
import type { Response, Serializer } from 'memjs';
import {
  attempt, digest, emit, errorName, filler, isUnixSocket, itemMax, latin1, password, server, sleep, unixNow, username,
} from './matrix-common.ts';
import type { Failure } from './matrix-common.ts';

/** A memjs error is `Error('MemJS <OP>: <status name>')`: printed as that status name, memjs's own. */
const describe = (error: unknown): Failure => {
  const status = error instanceof Error ? /^MemJS [A-Z]+: (.+)$/.exec(error.message)?.[1] : undefined;
  return status === undefined ? errorName(error) : { error: status };
};

/** The flags of the next set/add/replace (memjs's own serializer leaves them 0). */
let nextFlags = 0;
const flagsSerializer: Serializer<string | Buffer, Buffer | null> = {
  serialize(_opcode, value, extras) {
    if (extras.length !== 8) return { value, extras };
    const withFlags = Buffer.from(extras);
    withFlags.writeUInt32BE(nextFlags, 0);
    return { value, extras: withFlags };
  },
  deserialize: (_opcode, value, extras) => ({ value, extras }),
};

if (isUnixSocket) {
  emit('transport', 'unsupported: memjs connects over TCP only');
} else {
  const silent = { log: (): void => {} };
  const c = Client.create(server, {
    retries: 1, timeout: 2, logger: silent, serializer: flagsSerializer, username, password,
  });
  const get = async (key: string): Promise<string | null> => latin1((await c.get(key)).value);
  const version = (): Promise<string | null> =>
    new Promise((resolve, reject) => {
      c.incrSeq();
      c.perform('', Utils.makeRequestBuffer(0x0b, '', '', '', c.seq), c.seq, (error: Error | null, response?: Response) =>
        error !== null || response === undefined ? reject(error) : resolve(latin1(response.val)));
    });
  const stats = (): Promise<Record<string, string>> =>
    new Promise((resolve, reject) => {
      c.stats((error, _server, result) => (error !== null || result === null ? reject(error) : resolve(result)));
    });

  // Binary-safe values.
  emit('set bin', await c.set('bin', Buffer.from('a\x00b\r\nc', 'latin1')));
  emit('get bin', await get('bin'));
  emit('set crlf', await c.set('crlf', '\r\n'));
  emit('get crlf', await get('crlf'));
  emit('set empty', await c.set('empty', ''));
  emit('get empty', await get('empty'));
  emit('get miss', await c.get('nope'));
  emit('multi-get', 'unsupported: memjs 1.3.2 has no multi-get');

  emit('add new', await c.add('added', 'first'));
  emit('add existing', await c.add('added', 'second'));
  emit('get added', await get('added'));
  emit('replace existing', await c.replace('added', 'replaced'));
  emit('replace missing', await c.replace('nope', 'x'));
  emit('get replaced', await get('added'));

  // memjs 1.3.2's prepend sends APPEND's opcode (0x0E): its "prepend" appends.
  emit('append existing', await attempt(() => c.append('added', '>>'), describe));
  emit('prepend existing', await attempt(() => c.prepend('added', '<<'), describe));
  emit('get appended', await get('added'));
  emit('append missing', await attempt(() => c.append('nope', 'x'), describe));
  emit('prepend missing', await attempt(() => c.prepend('nope', 'x'), describe));

  emit('cas', 'unsupported: memjs 1.3.2 has no CAS');

  emit('delete hit', await c.delete('added'));
  emit('delete miss', await c.delete('added'));

  // incr/decr edges. memjs decodes the 64-bit result as (high << 8) + low and writes the delta as a
  // 32-bit number; without options.expires it sends initial 0 and expiry 0 (a miss creates the key).
  await c.set('n', '10');
  emit('incr 1', await attempt(() => c.increment('n', 1), describe));
  emit('decr 100', await attempt(() => c.decrement('n', 100, {}), describe));
  emit('get n', await get('n'));
  emit('incr max delta', await attempt(() => c.increment('n', 18446744073709551615), describe));
  await c.set('n', '18446744073709551615');
  emit('incr wraps', await attempt(() => c.increment('n', 1), describe));
  emit('get n wrapped', await get('n'));
  emit('incr non-numeric', await attempt(() => c.increment('bin', 1), describe));
  emit('incr missing', await attempt(() => c.increment('counter', 5, { initial: 7 }), describe));
  emit('get counter', await get('counter'));
  emit('decr missing', await attempt(() => c.decrement('counter2', 5, {}), describe));
  emit('incr missing no-create', await attempt(() => c.increment('nope', 1, { expires: 0xffffffff }), describe));
  emit('get nope', await get('nope'));

  // Expiry and touch: all set at once, one sleep.
  await c.set('ttl', 'rel', { expires: 2 });
  await c.set('abs', 'abs', { expires: unixNow() + 2 });
  await c.set('touch keep', 'keep', { expires: 2 });
  await c.set('touch expire', 'expire');
  emit('touch hit', await c.touch('touch keep', 100));
  emit('touch to 2', await c.touch('touch expire', 2));
  emit('touch miss', await c.touch('nope', 100));
  const timed = ['ttl', 'abs', 'touch keep', 'touch expire'];
  emit('before sleep', await Promise.all(timed.map(get)));
  emit('set absolute past', await c.set('past', 'past', { expires: unixNow() - 10 }));
  emit('get absolute past', await get('past'));
  await sleep(3200);
  emit('after sleep', await Promise.all(timed.map(get)));

  // Every key stored before the flush is read after it, so that curr_items does not depend on when
  // memcached's LRU maintainer gets to the flushed items.
  emit('flush', Object.values(await c.flush()));
  emit('after flush', await Promise.all(['bin', 'crlf', 'empty', 'n', 'counter', 'counter2', 'touch keep'].map(get)));

  // Item size limit: memjs has none of its own.
  emit('set under limit', await attempt(() => c.set('big', filler(itemMax - 512)), describe));
  emit('get under limit', digest((await c.get('big')).value));
  emit('set over limit', await attempt(() => c.set('big', filler(itemMax + 1)), describe));
  emit('get after over limit', digest((await c.get('big')).value));

  // Key length: memjs sends any key; the server answers 251 bytes with EINVAL and hangs up. A request
  // written before memjs has seen the hang-up is never answered nor failed (memjs drops it on 'close'),
  // so each such step waits for the hang-up first; memjs then reconnects.
  emit('set key 250', await attempt(() => c.set('k'.repeat(250), '250'), describe));
  emit('get key 250', await attempt(() => get('k'.repeat(250)), describe));
  emit('set key 251', await attempt(() => c.set('k'.repeat(251), '251'), describe));
  await sleep(100);
  emit('get key 251', await attempt(() => get('k'.repeat(251)), describe));
  await sleep(100);

  for (const flags of [0, 1, 0xffffffff]) {
    nextFlags = flags;
    await c.set(`flags ${flags}`, 'f');
    const { flags: read } = await c.get(`flags ${flags}`);
    emit(`flags ${flags}`, read === null ? null : read.readUInt32BE(0));
  }
  nextFlags = 0;

  const s = await stats();
  const selection = ['curr_items', 'total_items', 'get_hits', 'get_misses', 'cmd_get', 'cmd_set', 'cmd_touch',
    'delete_hits', 'delete_misses', 'incr_hits', 'incr_misses', 'decr_hits', 'decr_misses', 'touch_hits',
    'touch_misses', 'version'];
  emit('stats', Object.fromEntries(selection.map((k) => [k, s[k]])));
  emit('version', await version());

  c.close();
}
emit('done', true);
