// What a command's process step works with: the engine, the connection's reply buffer, the
// server's counters and settings. One Context per connection, reused for every request.

import type { ServerCore } from '../engine/clock.ts';
import { Status } from '../engine/status.ts';
import type { EngineHandle, ItemHandle, ItemInfo, MaybePromise } from '../engine/types.ts';
import type { Output } from '../protocol/output.ts';
import { NO_MEMORY, TOO_LARGE } from '../protocol/replies.ts';
import type { AuthEntry } from './auth.ts';
import type { CrawlerSettings } from './crawler.ts';
import type { TuningSettings } from './tuning.ts';
import type { PrefixStats } from './prefix-stats.ts';
import type { ProcessFacts, ServerStats } from './stats.ts';

/** The server-wide part, shared by every connection. */
export interface ServerState {
  readonly engine: EngineHandle;
  /** The clock the engine is given: memcached's current_time and realtime(). */
  readonly core: ServerCore;
  readonly stats: ServerStats;
  /**
   * The reply buffer every connection writes into: a batch of replies is taken and sent before
   * another connection runs, so nothing in it belongs to anyone between events.
   */
  readonly out: Output;
  /** -A: whether `shutdown` is allowed. */
  readonly shutdownEnabled: boolean;
  /** -F turns flush_all off; -X turns stats cachedump off. */
  readonly flushEnabled: boolean;
  readonly dumpEnabled: boolean;
  /** The VERSION reply's text. */
  readonly version: string;
  /** The LRU crawler's settings (the lru_crawler command changes them). */
  readonly crawler: CrawlerSettings;
  /** Settings `lru temp_ttl` and `slabs automove` change (the engine keeps those `lru tune` changes). */
  readonly tuning: TuningSettings;
  /** Whether items keep a CAS (the engine's cas_enabled; -C turns it off). */
  casEnabled: boolean;
  /** -B: how a connection's protocol is chosen ('auto': by its first byte). */
  readonly protocol: 'auto' | 'ascii' | 'binary';
  /** -S: binary connections must authenticate with SASL PLAIN against this password file. */
  readonly saslPwdb: string | undefined;
  /** -Y: text connections must authenticate with one of these before anything else. */
  readonly asciiAuth: readonly AuthEntry[] | undefined;
  /** memcached's settings.verbose, changed by the `verbosity` command. */
  verbosity: number;
  /** `stats detail on|off` (and -D): whether prefixStats counts. */
  detailEnabled: boolean;
  readonly prefixStats: PrefixStats;
  /** What `stats` reports about the process. */
  processFacts(): ProcessFacts;
  /** Asks the server to stop (shutdown command); `graceful` for `shutdown graceful`. */
  shutdown(graceful: boolean): void;
  /** memcached's -vv trace of commands and replies: one line to stderr (callers check verbosity). */
  trace(line: string): void;
  /** An engine's promise (prefetch, settled) failed: logged once per kind of message. */
  engineFailed(error: unknown): void;
  /** Lines of `stats conns` (the server knows its connections). */
  connStats(add: (key: string, value: string) => void): void;
  /** Server-owned lines of `stats settings`. */
  settingsStats(add: (key: string, value: string) => void): void;
}

export interface Context {
  readonly server: ServerState;
  readonly engine: EngineHandle;
  readonly out: Output;
  /** Scratch for getItemInfo. */
  readonly info: ItemInfo;
  /** The connection's number in traces and `stats conns` (memcached shows its fd). */
  readonly id: number;
  /**
   * Items whose values the reply buffer holds by reference until they are written (see
   * appendValue); undefined when the transport cannot say when a write is done (values are then
   * copied).
   */
  readonly held: ItemList | undefined;
  /** Items a meta get keeps until the next get, mn or the end of the read (see keepItem). */
  readonly kept: ItemList;
  /**
   * Set by a binary error response: memcached transmits what is queued after it, as after a
   * text get or mn (see releaseKept); the connection clears it.
   */
  transmit: boolean;
  /** Whether the connection has authenticated (SASL or an ASCII auth token). */
  authenticated: boolean;
  readonly sasl: SaslState;
}

/**
 * Items a connection holds a reference to, each given back once. One array serves from use to
 * use: emptying a JS array gives up its storage, which the next push would make again.
 */
export class ItemList {
  private items: ItemHandle[] = [];
  private n = 0;

  get count(): number {
    return this.n;
  }

  push(item: ItemHandle): void {
    this.items[this.n++] = item;
  }

  /** Gives every item back to the engine; the list is then empty. */
  releaseAll(engine: EngineHandle): void {
    for (let i = 0; i < this.n; i++) engine.release(this.items[i]!);
    this.n = 0;
  }

  /** Moves the items to a new list (a queued write's, given back with its releaseAll); this one is then empty. */
  takeAll(): ItemList {
    const taken = new ItemList();
    taken.items = this.items.slice(0, this.n);
    taken.n = this.n;
    this.n = 0;
    return taken;
  }
}

/**
 * A connection's SASL exchange as memcached and Cyrus SASL keep it: memcached's sasl_started
 * (an AUTH that succeeded or continued lets STEPs through), whether PLAIN waits for its message
 * in a STEP (an AUTH without data), and whether the exchange completed (Cyrus then refuses a
 * new start once; the failure resets it).
 */
export interface SaslState {
  started: boolean;
  awaitingStep: boolean;
  completed: boolean;
}

/**
 * An engine's answer, which the in-memory engines give synchronously. The server does not yet
 * serve engines that answer with a Promise (the fs engine brings that path): one is an error.
 */
export function sync<T>(result: MaybePromise<T>): T {
  if (result instanceof Promise) {
    // The server asks prefetch first: an engine must answer for resident keys at once.
    void result.catch(() => undefined);
    throw new Error('the engine answered with a Promise after prefetch; it must answer synchronously then');
  }
  return result;
}

/** Bytes as a string of one character each (keys and names in traces and auth checks). */
export function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.length).toString('latin1');
}

/** Values at least this long go out by reference rather than copied into the reply buffer. */
export const VALUE_REFERENCE_MIN = 4096;
/**
 * Reply bytes waiting to be sent beyond which every value goes by reference, however short: one
 * get line of many keys (it may be 1 MB long) would otherwise copy gigabytes of values into the
 * reply buffer. Referenced, a value costs a view and a reference to its item, as memcached's
 * responses hold every item they show.
 */
export const REPLY_COPY_MAX = 1024 * 1024;
/** No value goes by reference (the transport cannot tell when a write is done). */
const NEVER = 0xffffffff;

/** The shortest value that goes by reference now (see VALUE_REFERENCE_MIN and REPLY_COPY_MAX). */
export function referenceMin(ctx: Context): number {
  if (ctx.held === undefined) return NEVER;
  return ctx.out.length > REPLY_COPY_MAX ? 1 : VALUE_REFERENCE_MIN;
}

/**
 * Appends a held item's value to the reply and gives up the caller's reference to it: a long
 * value (or any, once the reply is long: referenceMin) by reference, the item then held until
 * the write is done (memcached sends values from the item the same way), anything else copied
 * and the item released at once, or kept if `keep` (see keepItem).
 */
export function appendValue(ctx: Context, item: ItemHandle, info: ItemInfo, keep = false): void {
  const held = ctx.held;
  if (held !== undefined && info.nvalue >= referenceMin(ctx)) {
    ctx.out.reference(info.valueBytes, info.valueOffset, info.nvalue);
    held.push(item);
  } else {
    ctx.out.bytes(info.valueBytes, info.valueOffset, info.nvalue);
    if (keep) keepItem(ctx, item);
    else ctx.engine.release(item);
  }
}

/**
 * Keeps the caller's reference to an item until releaseKept: memcached's meta get and binary
 * get, gat and touch leave their item in the response, with or without the value, until the
 * responses are transmitted, which it does at the end of a read, after every text get, gets, gat,
 * gats and mn, and after a binary error response or noop. An incr or decr of the item meanwhile
 * finds it held, so makes a new item instead of changing the value in place (do_add_delta).
 */
export function keepItem(ctx: Context, item: ItemHandle): void {
  ctx.kept.push(item);
}

/** Gives up the items keepItem kept: where memcached would have transmitted its responses. */
export function releaseKept(ctx: Context): void {
  ctx.kept.releaseAll(ctx.engine);
}

/**
 * The reply to a text or meta store whose allocate() failed, counted as memcached's front end
 * counts it: these lines of `stats` are the server's, not the engine's (binary stores count nothing).
 */
export function storeFailure(ctx: Context, item: ItemHandle): string {
  const { stats } = ctx.server;
  if (-item === Status.E2BIG) {
    stats.storeTooLarge++;
    return TOO_LARGE;
  }
  stats.storeNoMemory++;
  return NO_MEMORY;
}
