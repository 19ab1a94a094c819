// The keys whose files must change, and the I/O that changes them. A key is queued once however
// often it changes; when its turn comes, the file is made to match what the cache holds then
// (written, or removed), so the last state always wins and writes of one key never overlap.
// Two lanes: changes a client made (a bounded number of writes in flight; the client may wait
// for them) and reclaims of items the cache dropped by itself (eviction, expiry, flush: a smaller
// bound, never waited on by a read).

/** What the queue asks of the engine for a key whose turn has come. */
export interface KeyWork {
  /**
   * Brings the key's file in line with the cache; `reclaim` when the cache dropped the item by
   * itself (a live item is then left as it is: a client change wrote it or will).
   */
  (hashKey: string, reclaim: boolean): Promise<void>;
}

/** Writes in flight at once for client changes; unlinks in flight at once for reclaims. */
export const WRITES_IN_FLIGHT = 16;
export const RECLAIMS_IN_FLIGHT = 4;

interface Entry {
  /** Resolve once a pass over this key that started after they were added has finished. */
  /** Told whether the pass that made the file match failed. */
  waiters: Array<(failed: boolean) => void>;
}

export class DiskQueue {
  private readonly changed = new Map<string, Entry>();
  private readonly dropped = new Set<string>();
  /** Keys being worked on, and the passes' ends. */
  private readonly running = new Map<string, Promise<void>>();
  private writes = 0;
  private reclaims = 0;
  private scheduled = false;
  /** Resolve when nothing is queued or running. */
  private idle: Array<() => void> = [];
  completed = 0;
  failures = 0;

  constructor(
    private readonly work: KeyWork,
    private readonly onError: (error: unknown) => void,
  ) {}

  /** A client changed the key; with `wait`, a Promise that resolves once the file matches. */
  change(hashKey: string, wait: true): Promise<void>;
  change(hashKey: string, wait: false): undefined;
  change(hashKey: string, wait: boolean): Promise<void> | undefined {
    this.dropped.delete(hashKey);
    let entry = this.changed.get(hashKey);
    if (entry === undefined) {
      entry = { waiters: [] };
      this.changed.set(hashKey, entry);
    }
    this.schedule();
    if (!wait) return undefined;
    const waiters = entry.waiters;
    // Rejects when the write failed: an acknowledgement waiting on it must not be sent.
    return new Promise((resolve, reject) => void waiters.push((failed) => (failed ? reject(new Error(`fs: the write of a changed item failed`)) : resolve())));
  }

  /** The cache dropped the key's item by itself: its file goes, in the background. */
  drop(hashKey: string): void {
    if (this.changed.has(hashKey)) return;
    this.dropped.add(hashKey);
    this.schedule();
  }

  /** Whether the key waits or is being worked on. */
  pending(hashKey: string): boolean {
    return this.changed.has(hashKey) || this.dropped.has(hashKey) || this.running.has(hashKey);
  }

  /** Client changes queued or running. */
  get length(): number {
    return this.changed.size + this.writes;
  }

  get reclaimLength(): number {
    return this.dropped.size + this.reclaims;
  }

  /** Resolves once nothing is queued or running (both lanes). */
  drained(): Promise<void> | undefined {
    if (this.changed.size === 0 && this.dropped.size === 0 && this.running.size === 0) return undefined;
    return new Promise((resolve) => void this.idle.push(resolve));
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.pump();
    });
  }

  private pump(): void {
    if (this.writes < WRITES_IN_FLIGHT) {
      for (const [key, entry] of this.changed) {
        if (this.running.has(key)) continue;
        this.changed.delete(key);
        this.writes += 1;
        this.run(key, false, entry.waiters, () => void (this.writes -= 1));
        if (this.writes >= WRITES_IN_FLIGHT) break;
      }
    }
    if (this.reclaims < RECLAIMS_IN_FLIGHT) {
      for (const key of this.dropped) {
        if (this.running.has(key)) continue;
        this.dropped.delete(key);
        this.reclaims += 1;
        this.run(key, true, [], () => void (this.reclaims -= 1));
        if (this.reclaims >= RECLAIMS_IN_FLIGHT) break;
      }
    }
    if (this.changed.size === 0 && this.dropped.size === 0 && this.running.size === 0) {
      for (const resolve of this.idle.splice(0)) resolve();
    }
  }

  private run(key: string, reclaim: boolean, waiters: Array<(failed: boolean) => void>, done: () => void): void {
    let failed = false;
    const pass = this.work(key, reclaim).then(
      () => void (this.completed += 1),
      (error: unknown) => {
        failed = true;
        this.failures += 1;
        this.onError(error);
      },
    );
    this.running.set(key, pass);
    void pass.then(() => {
      this.running.delete(key);
      done();
      for (const tell of waiters) tell(failed);
      this.pump();
    });
  }
}
