// The timer that drives the engine's background work (EngineHandle.maintainLru): memcached's LRU
// maintainer thread, which juggles the LRU segments and reclaims flushed and expired items at
// their tails within a second, done here in bounded steps on the one event loop, between
// requests, never inside one.

import type { EngineHandle, LogLevel } from '../engine/types.ts';

/**
 * Juggle rounds one call may do (each looks at up to 15 items: three tail pulls of 5 tries):
 * a few milliseconds at most on either built-in engine. memcached does 500 a class a wake-up.
 */
export const SWEEP_BUDGET = 1000;
/** Before the next call while there is more to do (memcached's maintainer wakes sooner then). */
export const SWEEP_BUSY_MS = 10;
/** Once everything has settled (memcached's maintainer sleeps up to 1 s when idle). */
export const SWEEP_IDLE_MS = 250;

export class Sweeper {
  private timer: ReturnType<typeof setTimeout> | null = null;
  private running = false;

  constructor(
    private readonly engine: EngineHandle,
    private readonly log: (level: LogLevel, message: string) => void,
  ) {}

  /** Starts stepping, if the engine can; the timer never keeps the process alive. */
  start(): void {
    if (this.running || this.engine.maintainLru === undefined) return;
    this.running = true;
    this.schedule(SWEEP_IDLE_MS);
  }

  stop(): void {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => this.step(), ms);
    this.timer.unref();
  }

  private step(): void {
    this.timer = null;
    if (!this.running) return;
    let rounds: number;
    try {
      rounds = this.engine.maintainLru!(SWEEP_BUDGET);
    } catch (error) {
      // A broken invariant in the engine: logged once; the server goes on serving without it.
      this.running = false;
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      this.log('warning', `background LRU maintenance stopped: ${message}`);
      return;
    }
    this.schedule(rounds < SWEEP_BUDGET ? SWEEP_IDLE_MS : SWEEP_BUSY_MS);
  }
}
