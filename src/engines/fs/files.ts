// Where items live on disk and how a file changes without ever being torn: one file per item,
// named by the SHA-1 of its key, in 256 directories by the name's first two hex digits; a write
// goes to a temporary file in the same directory and is renamed over the old one. Also the
// engine's own small state file (meta), written the same way.

import { createHash, randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/** How far a change goes before it is acknowledged (the engine config's `sync`). */
export const SyncPolicy = { NONE: 'none', BATCH: 'batch', ALWAYS: 'always' } as const;
export type SyncPolicy = (typeof SyncPolicy)[keyof typeof SyncPolicy];

/** An item file's name: 40 hex digits. A directory's name: 2. */
export const ITEM_FILE = /^[0-9a-f]{40}$/;
export const ITEM_DIR = /^[0-9a-f]{2}$/;
/** Temporary files end so; an engine's own carry its tag, so start-up removes only leftovers. */
export const TEMP_SUFFIX = '.tmp';
const META_FILE = 'meta.json';

export function fileName(key: Uint8Array): string {
  return createHash('sha1').update(key).digest('hex');
}

export class ItemFiles {
  /** Tells this instance's temporary files from those a dead process left. */
  readonly tag = randomBytes(6).toString('hex');
  private made = new Set<string>();
  private counter = 0;

  constructor(
    readonly dir: string,
    readonly policy: SyncPolicy,
  ) {}

  path(name: string): string {
    return join(this.dir, name.slice(0, 2), name);
  }

  isOwnTemp(entry: string): boolean {
    return entry.includes(`.${this.tag}.`);
  }

  /** Writes `bytes` as the file `name`: temporary file, (fsync), rename, (fsync of the directory). */
  async write(name: string, bytes: Uint8Array): Promise<void> {
    const sub = join(this.dir, name.slice(0, 2));
    if (!this.made.has(sub)) {
      await mkdir(sub, { recursive: true });
      this.made.add(sub);
    }
    await this.replace(sub, name, bytes);
  }

  /** dir/name becomes `data` whole: a temporary file beside it, (fsync), rename, (fsync of dir). */
  private async replace(dir: string, name: string, data: Uint8Array | string): Promise<void> {
    const temp = join(dir, `${name}.${this.tag}.${this.counter++}${TEMP_SUFFIX}`);
    const file = await open(temp, 'w');
    try {
      await file.writeFile(data);
      if (this.policy === SyncPolicy.ALWAYS) await file.sync();
    } finally {
      await file.close();
    }
    await rename(temp, join(dir, name));
    if (this.policy === SyncPolicy.ALWAYS) await syncDir(dir);
  }

  /** Removes the file `name`; one that is not there is already removed. */
  async remove(name: string): Promise<void> {
    try {
      await unlink(this.path(name));
    } catch (error) {
      if (!isMissing(error)) throw error;
      return;
    }
    if (this.policy === SyncPolicy.ALWAYS) await syncDir(join(this.dir, name.slice(0, 2)));
  }

  /** The meta file's text, or undefined when there is none. Synchronous: initialize reads it once. */
  readMetaSync(): string | undefined {
    try {
      return readFileSync(join(this.dir, META_FILE), 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  }

  /** Replaces the meta file synchronously (initialize only). */
  writeMetaSync(text: string): void {
    mkdirSync(this.dir, { recursive: true });
    const temp = join(this.dir, `${META_FILE}.${this.tag}.${this.counter++}${TEMP_SUFFIX}`);
    writeFileSync(temp, text);
    if (this.policy === SyncPolicy.ALWAYS) {
      const fd = openSync(temp, 'r+');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    renameSync(temp, join(this.dir, META_FILE));
  }

  async writeMeta(text: string): Promise<void> {
    await this.replace(this.dir, META_FILE, text);
  }
}

async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export function isMissing(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 'ENOENT';
}
