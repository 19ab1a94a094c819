// The server's half of SERVER_HANDLE_V1 as engines see it: the log, filtered by memcached's -v
// levels and written to stderr, and the real clock. cf. memcached's extension_loggers.c and
// get_server_api() in memcached.c.

import { createClock } from '../engine/clock.ts';
import type { RestartableClock } from '../engine/clock.ts';
import type { LogLevel, ServerApi } from '../engine/types.ts';

/** The -v count at which each level starts to show: -v warnings, -vv info, -vvv debug. */
export const LOG_LEVEL_VERBOSITY: Readonly<Record<LogLevel, number>> = { warning: 1, info: 2, debug: 3 };

export type Log = ServerApi['log'];

/** A log that shows what `verbosity` (the number of -v) allows, one line per message. */
export function createLog(verbosity: number, write: (text: string) => void = writeStderr): Log {
  return (level: LogLevel, message: string): void => {
    if (verbosity < LOG_LEVEL_VERBOSITY[level]) return;
    write(message.endsWith('\n') ? message : `${message}\n`);
  };
}

/** How often the clock reads the wall clock: memcached's clock_handler ticks once a second. */
const CLOCK_TICK_MS = 1000;

/**
 * The server API handed to engines: a log at `verbosity` and memcached's clock, which reads the
 * wall clock once a tick (an unref'd timer) so that engines asking the time on every operation
 * read a variable rather than a system call.
 */
export function createServerApi(verbosity: number, log: Log = createLog(verbosity)): ServerApi & { core: RestartableClock } {
  let seconds = Date.now() / 1000;
  setInterval(() => {
    seconds = Date.now() / 1000;
  }, CLOCK_TICK_MS).unref();
  const core = createClock(() => seconds);
  return { core, log };
}

function writeStderr(text: string): void {
  process.stderr.write(text);
}
