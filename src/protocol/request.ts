// The one request model: the text, meta and binary encodings each parse into a Request, and the
// server's process step executes it against the engine whatever the encoding was. One Request is
// reused per connection (parsers fill it in place), so parsing allocates no objects per command;
// keys are views into the connection's read buffer, valid until the next parse.

import { createBinaryRequest } from './binary/request.ts';
import type { BinaryRequest } from './binary/request.ts';
import { createMetaRequest } from './meta/request.ts';
import type { MetaRequest } from './meta/request.ts';

/** memcached's KEY_MAX_LENGTH: the longest key any command accepts. */
export const KEY_MAX_LENGTH = 250;

/** What a request asks for; cf. memcached's proto_text.c dispatch and protocol_binary.h opcodes. */
export const Command = {
  /** Nothing parsed yet. */
  NONE: 0,
  // retrieval: text get/gets/gat/gats; binary get family
  GET: 1,
  GETS: 2,
  GAT: 3,
  GATS: 4,
  // storage: the value follows the command line (`nbytes` of it, then CRLF)
  SET: 5,
  ADD: 6,
  REPLACE: 7,
  APPEND: 8,
  PREPEND: 9,
  CAS: 10,
  DELETE: 11,
  INCR: 12,
  DECR: 13,
  TOUCH: 14,
  FLUSH_ALL: 15,
  VERSION: 16,
  VERBOSITY: 17,
  STATS: 18,
  QUIT: 19,
  SHUTDOWN: 20,
  // meta commands (protocol.txt "Meta Commands")
  META_GET: 21,
  META_SET: 22,
  META_DELETE: 23,
  META_ARITHMETIC: 24,
  META_NOOP: 25,
  META_DEBUG: 26,
  /** A line the parser answers itself: `error` holds the reply line (e.g. 'ERROR'). */
  ERROR: 27,
  /** The connection must close without a reply (e.g. an HTTP request line). */
  CLOSE: 28,
  /** memcached commands we recognise and answer with a fixed line (`error`), e.g. lru_crawler. */
  FIXED: 29,
  // binary-only opcodes
  NOOP: 30,
  SASL_LIST_MECHS: 31,
  SASL_AUTH: 32,
  SASL_STEP: 33,
  /** lru_crawler: its words in `arg`, read by the process step. */
  LRU_CRAWLER: 34,
  /** lru, cache_memlimit, slabs: their words in `arg` (and `noreply`), read by the process step. */
  LRU: 35,
  CACHE_MEMLIMIT: 36,
  SLABS: 37,
} as const;
export type Command = (typeof Command)[keyof typeof Command];

/** The storage commands, whose value bytes follow the command line. */
export function isStorage(command: Command): boolean {
  return (command >= Command.SET && command <= Command.CAS) || command === Command.META_SET;
}

export interface Request {
  command: Command;
  /** noreply (text) or quiet (meta q, binary *Q opcodes). */
  noreply: boolean;
  /** The first (often only) key; a view valid until the next parse. */
  key: Uint8Array;
  /** Every key of a multi-key get, keys[0] === key; only the first keyCount are meaningful. */
  keys: Uint8Array[];
  keyCount: number;
  /** Client flags of a storage command (u32). */
  flags: number;
  /** Protocol exptime (storage, touch, gat, flush_all delay). */
  exptime: number;
  /** Value bytes that follow a storage command (without the CRLF). */
  nbytes: number;
  /** cas unique of a cas command (text), compare CAS (binary). */
  cas: bigint;
  /** incr/decr delta. */
  delta: bigint;
  /** Free text argument: the stats group, the shutdown mode, the verbosity level. */
  arg: string;
  /** For ERROR and FIXED: the reply line without CRLF. */
  error: string;
  /**
   * For a storage command that cannot be stored (value too large): bytes of the value (and CRLF)
   * to read and drop so the connection stays in sync; -1 when nothing is swallowed.
   */
  swallow: number;
  meta: MetaRequest;
  /** Whether the request came in the binary protocol (then `bin` holds its header's facts). */
  binary: boolean;
  bin: BinaryRequest;
}

export function createRequest(): Request {
  const empty = new Uint8Array(0);
  return {
    command: Command.NONE,
    noreply: false,
    key: empty,
    keys: [],
    keyCount: 0,
    flags: 0,
    exptime: 0,
    nbytes: 0,
    cas: 0n,
    delta: 0n,
    arg: '',
    error: '',
    swallow: -1,
    meta: createMetaRequest(),
    binary: false,
    bin: createBinaryRequest(),
  };
}

/** Back to the state a parser starts from (called by parsers before they fill a request). */
export function resetRequest(req: Request): void {
  req.command = Command.NONE;
  req.noreply = false;
  req.keyCount = 0;
  req.flags = 0;
  req.exptime = 0;
  req.nbytes = 0;
  req.cas = 0n;
  req.delta = 0n;
  req.arg = '';
  req.error = '';
  req.swallow = -1;
  req.binary = false;
}
