// The server's own statistics and `stats` as memcached 1.6 prints it: process and connection
// facts and the command counters the protocol layer keeps (cf. memcached.c server_stats and
// thread.c threadlocal_stats), merged with the engine's lines in memcached's order.

import type { AddStat } from '../engine/types.ts';

/** Counters kept by the server (memcached's thread stats that are not the engine's). */
export class ServerStats {
  cmdGet = 0;
  cmdTouch = 0;
  cmdFlush = 0;
  cmdMeta = 0;
  /** Text and meta stores that could not allocate (memcached's binary protocol counts neither). */
  storeTooLarge = 0;
  storeNoMemory = 0;
  authCmds = 0;
  authErrors = 0;
  bytesRead = 0;
  bytesWritten = 0;
  /** Listeners (and UDP ports, one per thread) and client connections, as memcached's curr_conns. */
  currConnections = 0;
  totalConnections = 0;
  rejectedConnections = 0;
  connectionStructures = 0;
  listenDisabledNum = 0;
  connYields = 0;

  /** `stats reset`: memcached zeroes the counters, not the gauges. */
  reset(): void {
    this.cmdGet = 0;
    this.cmdTouch = 0;
    this.cmdFlush = 0;
    this.cmdMeta = 0;
    this.storeTooLarge = 0;
    this.storeNoMemory = 0;
    this.authCmds = 0;
    this.authErrors = 0;
    this.bytesRead = 0;
    this.bytesWritten = 0;
    this.totalConnections = 0;
    this.rejectedConnections = 0;
    this.listenDisabledNum = 0;
    this.connYields = 0;
  }
}

/** Facts of the process `stats` reports that do not change while it runs. */
export interface ProcessFacts {
  pid: number;
  version: string;
  /** Unix seconds of the (back-dated) start and now, from the server clock. */
  processStarted: number;
  now: number;
  maxConnections: number;
  threads: number;
  reservedFds: number;
  acceptingConns: boolean;
}

/**
 * The general `stats`: the server's lines and the engine's (given as a map, in the engine's
 * order), interleaved as memcached 1.6.18 orders them. Engine lines memcached does not have
 * follow at the end; names the engine does not give are left out. `lruMaintainer`: memcached's
 * lru_maintainer_thread setting.
 */
export function reportGeneralStats(
  facts: ProcessFacts,
  stats: ServerStats,
  engine: ReadonlyMap<string, string>,
  add: AddStat,
  lruMaintainer = true,
): void {
  const usage = process.resourceUsage();
  const seconds = (micros: number): string => `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, '0')}`;
  const own = new Map<string, string>([
    ['pid', String(facts.pid)],
    ['uptime', String(facts.now - facts.processStarted)],
    ['time', String(facts.now)],
    ['version', facts.version],
    ['libevent', `node-${process.versions.node}`],
    ['pointer_size', '64'],
    ['rusage_user', seconds(usage.userCPUTime)],
    ['rusage_system', seconds(usage.systemCPUTime)],
    ['max_connections', String(facts.maxConnections)],
    // curr_conns counts the listeners too; memcached reports it less one.
    ['curr_connections', String(stats.currConnections - 1)],
    ['total_connections', String(stats.totalConnections)],
    ['rejected_connections', String(stats.rejectedConnections)],
    ['connection_structures', String(stats.connectionStructures)],
    ['response_obj_oom', '0'],
    ['response_obj_count', '0'],
    ['response_obj_bytes', '0'],
    ['read_buf_count', '0'],
    ['read_buf_bytes', '0'],
    ['read_buf_bytes_free', '0'],
    ['read_buf_oom', '0'],
    ['reserved_fds', String(facts.reservedFds)],
    ['cmd_get', String(stats.cmdGet)],
    ['cmd_flush', String(stats.cmdFlush)],
    ['cmd_touch', String(stats.cmdTouch)],
    ['cmd_meta', String(stats.cmdMeta)],
    ['store_too_large', String(stats.storeTooLarge)],
    ['store_no_memory', String(stats.storeNoMemory)],
    ['auth_cmds', String(stats.authCmds)],
    ['auth_errors', String(stats.authErrors)],
    ['bytes_read', String(stats.bytesRead)],
    ['bytes_written', String(stats.bytesWritten)],
    ['accepting_conns', facts.acceptingConns ? '1' : '0'],
    ['listen_disabled_num', String(stats.listenDisabledNum)],
    ['time_in_listen_disabled_us', '0'],
    ['threads', String(facts.threads)],
    ['conn_yields', String(stats.connYields)],
  ]);
  // memcached's background threads (slab rebalancer, LRU crawler and maintainer, logger) and
  // NAPI ids have no counterpart here: their counters are reported as the idle values, so
  // tools that read them find them.
  for (const name of IDLE_BACKGROUND_STATS) own.set(name, '0');
  // memcached counts the maintainer's juggles only while it runs one.
  if (!lruMaintainer) own.delete('lru_maintainer_juggles');
  const lines = new Map(engine);
  for (const [name, value] of own) lines.set(name, value);
  addInOrder(GENERAL_ORDER, lines, add);
}

/** Adds `lines` in memcached's `order`, then those the order does not name, in map order. */
export function addInOrder(order: readonly string[], lines: ReadonlyMap<string, string>, add: AddStat): void {
  for (const name of order) {
    const value = lines.get(name);
    if (value !== undefined) add(name, value);
  }
  const named = new Set(order);
  for (const [name, value] of lines) if (!named.has(name)) add(name, value);
}

const IDLE_BACKGROUND_STATS = [
  'slab_reassign_rescues', 'slab_reassign_chunk_rescues', 'slab_reassign_evictions_nomem',
  'slab_reassign_inline_reclaim', 'slab_reassign_busy_items', 'slab_reassign_busy_deletes',
  'slab_reassign_running', 'slabs_moved', 'lru_crawler_running', 'lru_crawler_starts',
  'lru_maintainer_juggles', 'log_worker_dropped', 'log_worker_written', 'log_watcher_skipped',
  'log_watcher_sent', 'log_watchers', 'unexpected_napi_ids', 'round_robin_fallback',
];

/** memcached 1.6.18's `stats` names in its order (server_stats, then the engine's slab and item lines). */
export const GENERAL_ORDER: readonly string[] = [
  'pid', 'uptime', 'time', 'version', 'libevent', 'pointer_size', 'rusage_user', 'rusage_system',
  'max_connections', 'curr_connections', 'total_connections', 'rejected_connections',
  'connection_structures', 'response_obj_oom', 'response_obj_count', 'response_obj_bytes',
  'read_buf_count', 'read_buf_bytes', 'read_buf_bytes_free', 'read_buf_oom', 'reserved_fds',
  'cmd_get', 'cmd_set', 'cmd_flush', 'cmd_touch', 'cmd_meta', 'get_hits', 'get_misses',
  'get_expired', 'get_flushed', 'delete_misses', 'delete_hits', 'incr_misses', 'incr_hits',
  'decr_misses', 'decr_hits', 'cas_misses', 'cas_hits', 'cas_badval', 'touch_hits',
  'touch_misses', 'store_too_large', 'store_no_memory', 'auth_cmds', 'auth_errors',
  'bytes_read', 'bytes_written', 'limit_maxbytes', 'accepting_conns', 'listen_disabled_num',
  'time_in_listen_disabled_us', 'threads', 'conn_yields', 'hash_power_level', 'hash_bytes',
  'hash_is_expanding', 'slab_reassign_rescues', 'slab_reassign_chunk_rescues',
  'slab_reassign_evictions_nomem', 'slab_reassign_inline_reclaim', 'slab_reassign_busy_items',
  'slab_reassign_busy_deletes', 'slab_reassign_running', 'slabs_moved', 'lru_crawler_running',
  'lru_crawler_starts', 'lru_maintainer_juggles', 'malloc_fails', 'log_worker_dropped',
  'log_worker_written', 'log_watcher_skipped', 'log_watcher_sent', 'log_watchers',
  'unexpected_napi_ids', 'round_robin_fallback', 'bytes', 'curr_items', 'total_items',
  'slab_global_page_pool', 'expired_unfetched', 'evicted_unfetched', 'evicted_active',
  'evictions', 'reclaimed', 'crawler_reclaimed', 'crawler_items_checked', 'lrutail_reflocked',
  'moves_to_cold', 'moves_to_warm', 'moves_within_lru', 'direct_reclaims', 'lru_bumps_dropped',
];
