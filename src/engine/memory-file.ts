// The -e memory file, memcached 1.6's warm restart made ours (cf. restart.c): what an engine's
// snapshot() gave, after a header with the server's clock, so that the next start continues the
// same clock (time spent down counts against every TTL). Plain bytes, no I/O: the daemon writes
// and reads the file, an embedded cache keeps the same bytes where it likes.

const MAGIC = 'wasmcached memory file 1\n';

export interface MemoryFileHeader {
  /** The engine that made the image (-E name). */
  engine: string;
  /** Unix seconds of the (back-dated) process start of the clock the image's times count from. */
  processStarted: number;
  /** Unix seconds when it was saved. */
  savedAt: number;
}

/** The file's bytes, in order: the header, then the engine's image parts. */
export function memoryFileParts(header: MemoryFileHeader, image: readonly Uint8Array[]): Uint8Array[] {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const head = new Uint8Array(MAGIC.length + 4 + json.length);
  for (let i = 0; i < MAGIC.length; i++) head[i] = MAGIC.charCodeAt(i);
  new DataView(head.buffer).setUint32(MAGIC.length, json.length, true);
  head.set(json, MAGIC.length + 4);
  return [head, ...image];
}

/** The header and the engine's image, or why the bytes are not a memory file. */
export function readMemoryFile(bytes: Uint8Array): { header: MemoryFileHeader; image: Uint8Array } | string {
  const start = MAGIC.length + 4;
  if (bytes.length < start) return 'the file is truncated';
  for (let i = 0; i < MAGIC.length; i++) {
    if (bytes[i] !== MAGIC.charCodeAt(i)) return 'not a wasmcached memory file';
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(MAGIC.length, true);
  if (start + length > bytes.length) return 'the file is truncated';
  let header: MemoryFileHeader;
  try {
    header = JSON.parse(new TextDecoder().decode(bytes.subarray(start, start + length))) as MemoryFileHeader;
  } catch {
    return 'the file header is damaged';
  }
  if (typeof header.engine !== 'string' || !Number.isInteger(header.processStarted) || !Number.isInteger(header.savedAt)) {
    return 'the file header is damaged';
  }
  return { header, image: bytes.subarray(start + length) };
}
