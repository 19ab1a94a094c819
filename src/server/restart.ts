// Warm restart (-e), as memcached 1.6's memory file (restart.c): a graceful stop writes the
// engine's image and the clock to the file; the next start takes the file (removing it first,
// so a crash after start never loads a stale image), and brings the image back when the engine
// and its settings are the same, else starts cold and logs why.

import { closeSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import type { RestartableClock } from '../engine/clock.ts';
import { memoryFileParts, readMemoryFile } from '../engine/memory-file.ts';
import type { MemoryFileHeader } from '../engine/memory-file.ts';
import type { EngineHandle, ServerApi } from '../engine/types.ts';

/** A memory file read at start: its header and the engine's image. */
export interface TakenMemoryFile {
  header: MemoryFileHeader;
  image: Uint8Array;
}

/**
 * Reads and removes the memory file; undefined when there is none or it cannot be used (logged).
 * Called before the engine starts, so the file is gone whatever happens next.
 */
export function takeMemoryFile(path: string, log: ServerApi['log']): TakenMemoryFile | undefined {
  let bytes: Buffer;
  try {
    bytes = readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT') log('warning', `-e ${path}: cannot read it (${code ?? String(error)}); starting cold`);
    else log('info', `-e ${path}: no memory file; starting cold`);
    return undefined;
  }
  try {
    unlinkSync(path);
  } catch (error) {
    // Refuse an image that would be loaded again after a crash.
    log('warning', `-e ${path}: cannot remove it (${(error as NodeJS.ErrnoException).code}); starting cold`);
    return undefined;
  }
  const file = readMemoryFile(bytes);
  if (typeof file === 'string') {
    log('warning', `-e ${path}: ${file}; starting cold`);
    return undefined;
  }
  return file;
}

/**
 * Brings the image back into a freshly initialized engine, continuing the image's clock; logs
 * the outcome. Returns whether it was restored.
 */
export function restoreMemoryFile(
  path: string,
  file: TakenMemoryFile,
  engine: EngineHandle,
  engineName: string,
  api: ServerApi & { core: RestartableClock },
): boolean {
  const cold = (why: string): false => {
    api.log('warning', `-e ${path}: ${why}; starting cold`);
    return false;
  };
  if (file.header.engine !== engineName) return cold(`the image is from engine ${file.header.engine}, this is ${engineName}`);
  if (engine.restore === undefined) return cold(`engine ${engineName} cannot restore an image`);
  const why = engine.restore(file.image);
  if (why !== undefined) return cold(why);
  api.core.continueFrom(file.header.processStarted);
  const down = Math.max(0, Math.floor(Date.now() / 1000) - file.header.savedAt);
  api.log('info', `-e ${path}: restored (saved ${down} s ago)`);
  return true;
}

/**
 * Writes the engine's image to the memory file: aside, synced, then renamed into place, so the
 * file is either the whole image or absent. Logs and returns false when it cannot.
 */
export function saveMemoryFile(path: string, engine: EngineHandle, engineName: string, api: ServerApi): boolean {
  if (engine.snapshot === undefined) {
    api.log('warning', `-e ${path}: engine ${engineName} cannot save an image; nothing written`);
    return false;
  }
  const header: MemoryFileHeader = {
    engine: engineName,
    processStarted: api.core.processStarted(),
    savedAt: Math.floor(Date.now() / 1000),
  };
  const aside = `${path}.tmp`;
  try {
    const fd = openSync(aside, 'w', 0o600);
    try {
      let bytes = 0;
      for (const part of memoryFileParts(header, engine.snapshot())) {
        for (let at = 0; at < part.length; ) at += writeSync(fd, part, at, part.length - at);
        bytes += part.length;
      }
      fsyncSync(fd);
      api.log('info', `-e ${path}: saved ${bytes} bytes`);
    } finally {
      closeSync(fd);
    }
    renameSync(aside, path);
    return true;
  } catch (error) {
    api.log('warning', `-e ${path}: cannot save the image (${error instanceof Error ? error.message : String(error)})`);
    try {
      unlinkSync(aside);
    } catch {
      // never made
    }
    return false;
  }
}
