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

/**
 * A JSON header framed for a binary file: `magic`, the JSON's length (u32, little-endian), the
 * JSON. The memory file and the wasm engine's image inside it are both laid out this way.
 */
export function framedHeader(magic: string, header: object): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const head = new Uint8Array(magic.length + 4 + json.length);
  for (let i = 0; i < magic.length; i++) head[i] = magic.charCodeAt(i);
  new DataView(head.buffer).setUint32(magic.length, json.length, true);
  head.set(json, magic.length + 4);
  return head;
}

/**
 * The JSON header framedHeader wrote and where what follows it starts, or why the bytes are not
 * that: `what` names them in the reasons ('the file is truncated', 'the image header is damaged'),
 * `stranger` is the reason for other bytes altogether.
 */
export function readFramedHeader(bytes: Uint8Array, magic: string, what: string, stranger: string): { header: unknown; bodyStart: number } | string {
  const start = magic.length + 4;
  if (bytes.length < start) return `the ${what} is truncated`;
  for (let i = 0; i < magic.length; i++) {
    if (bytes[i] !== magic.charCodeAt(i)) return stranger;
  }
  const length = new DataView(bytes.buffer, bytes.byteOffset, bytes.length).getUint32(magic.length, true);
  if (start + length > bytes.length) return `the ${what} is truncated`;
  try {
    return { header: JSON.parse(new TextDecoder().decode(bytes.subarray(start, start + length))) as unknown, bodyStart: start + length };
  } catch {
    return `the ${what} header is damaged`;
  }
}

/** The file's bytes, in order: the header, then the engine's image parts. */
export function memoryFileParts(header: MemoryFileHeader, image: readonly Uint8Array[]): Uint8Array[] {
  return [framedHeader(MAGIC, header), ...image];
}

/** The header and the engine's image, or why the bytes are not a memory file. */
export function readMemoryFile(bytes: Uint8Array): { header: MemoryFileHeader; image: Uint8Array } | string {
  const framed = readFramedHeader(bytes, MAGIC, 'file', 'not a wasmcached memory file');
  if (typeof framed === 'string') return framed;
  const header = framed.header as Partial<MemoryFileHeader> | null;
  if (
    typeof header !== 'object' ||
    header === null ||
    typeof header.engine !== 'string' ||
    !Number.isInteger(header.processStarted) ||
    !Number.isInteger(header.savedAt)
  ) {
    return 'the file header is damaged';
  }
  return { header: header as MemoryFileHeader, image: bytes.subarray(framed.bodyStart) };
}
