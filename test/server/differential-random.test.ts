// Random sessions against the real memcached: seeded mixes of the text and meta commands over a
// few keys (so that hits, misses, CAS matches, numeric values and noreply all meet), sent in
// pipelined batches, and the replies must be byte-for-byte equal (oracle.ts). Each batch ends
// with `mn`, whose MN marks where its replies end; the session ends with what every key holds.
// Nothing in them depends on the clock: items never expire within a session (exptime 0, 1000 or
// already past), and no flag reports a time. `stats items` is left out: memcached's counts of
// reclaimed and lrutail_reflocked items also follow its item locks (a tail item whose hash lock
// the storing command holds is passed over uncounted), which the engines do not model.
import { test } from 'uvu';
import { sessionTest, waitFor, type Step } from './oracle.ts';
import { BinaryCommands, Commands, KEYS } from './random-commands.ts';

const session = sessionTest(test);

/**
 * Sessions of each protocol; RANDOM_SESSIONS and RANDOM_FIRST run others by hand (seeds go on from
 * 40), and RANDOM_FLAGS adds command-line flags to both servers (e.g. `-C`).
 */
const SESSIONS = Number(process.env['RANDOM_SESSIONS'] ?? 40);
const FIRST = Number(process.env['RANDOM_FIRST'] ?? 1);
const BATCHES = 12;
/** Commands in a batch: more than memcached's reqs_per_event (20), so batches are served in two events. */
const COMMANDS = 30;
/**
 * A batch ends early rather than pass this many bytes: both servers then take it in one read
 * (memcached's read buffer is 16 KB), so they transmit their responses at the same points.
 * Where a longer batch is cut into reads depends on each server's buffering, and memcached lets
 * go of the items its responses hold at each cut.
 */
const BATCH_BYTES_MAX = 12_000;
/**
 * memcached's LRU maintainer thread works on its own clock: it reclaims expired items at the LRU
 * tails (which `stats items` counts) and takes the bumps of items hit twice in COLD, holding
 * each item until then (an incr of it meanwhile makes a new item). Without it both servers do
 * all of that inline, the same way every time (the flat LRU).
 */
const FLAGS = ['-o', 'no_lru_maintainer', ...(process.env['RANDOM_FLAGS'] ?? '').split(' ').filter((flag) => flag !== '')];

for (let s = FIRST; s < FIRST + SESSIONS; s++) {
  const commands = new Commands(0x5eed + s * 7919);
  const steps: Step[] = [];
  for (let b = 0; b < BATCHES; b++) {
    let batch = '';
    for (let c = 0; c < COMMANDS && batch.length < BATCH_BYTES_MAX; c++) {
      const command = commands.next();
      if (batch.length + command.length > BATCH_BYTES_MAX) break;
      batch += command;
    }
    steps.push(`${batch}mn\r\n`, waitFor('MN\r\n'));
  }
  // What each key holds at the end: value, flags, CAS and size.
  steps.push(`${KEYS.map((key) => `mg ${key} v f c s k\r\n`).join('')}mn\r\n`, waitFor('MN\r\n'));
  session(`random session ${s}: ${BATCHES} batches of up to ${COMMANDS} text and meta commands over a few keys`, steps, FLAGS);
}

// The same over the binary protocol: gets loud and quiet, with and without the key, stores with
// CAS, append and prepend, delete, incr and decr creating (or not) with an initial value, touch
// and gat, version and flush.
for (let s = FIRST; s < FIRST + SESSIONS; s++) {
  const commands = new BinaryCommands(0xb1 + s * 104729);
  const steps: Step[] = [];
  for (let b = 0; b < BATCHES; b++) {
    const packets: Uint8Array[] = [];
    let bytes = 0;
    for (let c = 0; c < COMMANDS; c++) {
      const packet = commands.next();
      if (bytes + packet.length > BATCH_BYTES_MAX) break;
      packets.push(packet);
      bytes += packet.length;
    }
    const { packet, reply } = commands.noop();
    steps.push(new Uint8Array(Buffer.concat([...packets, packet])), waitFor(reply));
  }
  session(`random binary session ${s}: ${BATCHES} batches of up to ${COMMANDS} requests over a few keys`, steps, ['-B', 'binary', ...FLAGS], { protocol: 'binary' });
}

test.run();
