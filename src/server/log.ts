// The server's half of SERVER_HANDLE_V1 as engines see it: the log, filtered by memcached's -v
// levels and written to stderr, and the real clock. cf. memcached's extension_loggers.c and
// get_server_api() in memcached.c.

import { createClock } from '../engine/clock.ts';
import type { ServerCore } from '../engine/clock.ts';
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

/** The server API handed to engines: the real clock and a log at `verbosity`. */
export function createServerApi(verbosity: number, log: Log = createLog(verbosity)): ServerApi {
  const core: ServerCore = createClock(() => Date.now() / 1000);
  return { core, log };
}

function writeStderr(text: string): void {
  process.stderr.write(text);
}
