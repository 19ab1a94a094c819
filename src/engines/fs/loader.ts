// Start-up without a warm-up stall: the directory is read in the background and each item file
// handed to the engine, while a request for a key not loaded yet reads that key's own file at
// once (its name comes from the key). Each file is loaded exactly once, whichever comes first;
// leftover temporary files of a dead process are removed.

import { readdir, readFile, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { ITEM_DIR, ITEM_FILE, TEMP_SUFFIX, isMissing, type ItemFiles } from './files.ts';

/** Item files read at once by the background scan. */
export const SCAN_READS_IN_FLIGHT = 32;

/**
 * Takes one file's bytes (undefined: there is no file) and brings its item into the cache, or
 * removes the file; resolves once the key's state is settled in memory.
 */
export type AcceptFile = (name: string, bytes: Uint8Array | undefined) => Promise<void>;

export class Loader {
  /** Names whose files have been loaded (or found missing): the cache decides for them now. */
  private readonly resolved = new Set<string>();
  private readonly loading = new Map<string, Promise<void>>();
  private stopped = false;
  /** Files found, and leftover temporary files removed. */
  filesSeen = 0;
  tempsRemoved = 0;
  readonly done: Promise<void>;

  constructor(
    private readonly files: ItemFiles,
    private readonly accept: AcceptFile,
    private readonly onError: (error: unknown) => void,
  ) {
    this.done = this.scan();
  }

  /** undefined when the key's file is settled, else a Promise that resolves once it is. */
  fetch(name: string): Promise<void> | undefined {
    if (this.resolved.has(name)) return undefined;
    let pending = this.loading.get(name);
    if (pending === undefined) {
      pending = this.load(name);
      this.loading.set(name, pending);
    }
    return pending;
  }

  stop(): void {
    this.stopped = true;
  }

  /** A file that cannot be read is logged and taken as missing: the key starts empty. */
  private async load(name: string): Promise<void> {
    try {
      let bytes: Uint8Array | undefined;
      try {
        bytes = await readFile(this.files.path(name));
      } catch (error) {
        if (!isMissing(error)) throw error;
      }
      if (!this.stopped) await this.accept(name, bytes);
    } catch (error) {
      this.onError(error);
    } finally {
      this.resolved.add(name);
      this.loading.delete(name);
    }
  }

  private async scan(): Promise<void> {
    const dir = this.files.dir;
    for (const entry of await readdir(dir)) {
      if (this.stopped) return;
      if (ITEM_DIR.test(entry)) await this.scanDir(join(dir, entry));
      else await this.removeLeftover(dir, entry);
    }
  }

  private async scanDir(sub: string): Promise<void> {
    const names: string[] = [];
    for (const entry of await readdir(sub)) {
      if (ITEM_FILE.test(entry)) names.push(entry);
      else await this.removeLeftover(sub, entry);
    }
    this.filesSeen += names.length;
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < names.length && !this.stopped) {
        const name = names[next++]!;
        await this.fetch(name);
      }
    };
    const workers: Array<Promise<void>> = [];
    for (let i = 0; i < Math.min(SCAN_READS_IN_FLIGHT, names.length); i++) workers.push(worker());
    await Promise.all(workers);
  }

  private async removeLeftover(dir: string, entry: string): Promise<void> {
    if (!entry.endsWith(TEMP_SUFFIX) || this.files.isOwnTemp(entry)) return;
    try {
      await unlink(join(dir, entry));
      this.tempsRemoved += 1;
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  }
}
