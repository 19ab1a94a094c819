// memcached's clock and exptime rules (memcached.c: process_started, current_time, realtime()),
// handed to engines through the server API so that no engine reads the wall clock.

/** Seconds of exptime up to which a value is relative to now (30 days); cf. REALTIME_MAXDELTA. */
export const REALTIME_MAXDELTA = 60 * 60 * 24 * 30;
/** memcached starts its clock this far in the past so that "rel time 1" is always expired. */
export const ITEM_UPDATE_INTERVAL = 60;

/**
 * The clock half of memcached's SERVER_CORE_API. Times an engine stores are rel_time_t values:
 * whole seconds since the (back-dated) process start, so they fit in a u32.
 */
export interface ServerCore {
  /** memcached's current_time: seconds since process start. */
  currentTime(): number;
  /** A protocol exptime to rel time: 0 never expires, negative or past absolute is 1 (expired). */
  realtime(exptime: number): number;
  /** A rel time back to unix seconds. */
  abstime(rel: number): number;
  /** Unix seconds of the (back-dated) process start. */
  processStarted(): number;
}

/** A clock that a warm restart can set back to the start of the clock it continues. */
export interface RestartableClock extends ServerCore {
  /** From now on, count from this (back-dated) process start, in unix seconds. */
  continueFrom(processStarted: number): void;
}

/** A clock over a source of unix time in (possibly fractional) seconds. */
export function createClock(nowSeconds: () => number): RestartableClock {
  let started = Math.floor(nowSeconds()) - ITEM_UPDATE_INTERVAL - 2;
  const currentTime = (): number => Math.floor(nowSeconds()) - started;
  return {
    continueFrom(processStarted: number): void {
      started = processStarted;
    },
    currentTime,
    realtime(exptime: number): number {
      if (exptime === 0) return 0;
      if (exptime < 0) return 1;
      if (exptime > REALTIME_MAXDELTA) {
        if (exptime <= started) return 1;
        return clampRel(exptime - started);
      }
      return clampRel(exptime + currentTime());
    },
    abstime: (rel: number): number => rel + started,
    processStarted: (): number => started,
  };
}

/** rel_time_t is a u32; exptimes beyond it saturate rather than wrap into the past. */
function clampRel(rel: number): number {
  return rel > 0xffffffff ? 0xffffffff : rel;
}

/** A clock for tests: starts at `startUnix` and moves only when told to. */
export interface ManualClock extends ServerCore {
  advance(seconds: number): void;
  set(unixSeconds: number): void;
  now(): number;
}

export function createManualClock(startUnix = 1_700_000_000): ManualClock {
  let now = startUnix;
  const core = createClock(() => now);
  return {
    ...core,
    advance(seconds: number): void {
      now += seconds;
    },
    set(unixSeconds: number): void {
      now = unixSeconds;
    },
    now: () => now,
  };
}
