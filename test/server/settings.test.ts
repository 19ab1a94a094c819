// The command line: memcached 1.6.18's flags in their short, clustered and long forms, their
// defaults, each bad value's message and exit status (as memcached 1.6.18 prints them), the -o
// suboptions, the engine config the flags imply, the -h text, and the server's `stats settings`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatEngineConfig } from '../../src/engine/config.ts';
import { cFixed } from '../../src/engine/stats.ts';
import {
  defaultSettings,
  engineConfigFor,
  EX_USAGE,
  EXIT_FAILURE,
  parseItemSize,
  parseSettings,
  reportSettingsStats,
  SETTINGS_STATS_ORDER,
  usage,
  UsageError,
} from '../../src/server/settings.ts';
import type { Settings } from '../../src/server/settings.ts';

const configOf = (...argv: string[]): string => formatEngineConfig(engineConfigFor(parseSettings(argv)));

function usageError(argv: string[], expected: RegExp | string, status = EXIT_FAILURE): void {
  try {
    parseSettings(argv);
  } catch (error) {
    assert.instance(error, UsageError, argv.join(' '));
    const { message } = error as UsageError;
    if (typeof expected === 'string') assert.is(message, expected, argv.join(' '));
    else assert.match(message, expected, argv.join(' '));
    assert.is((error as UsageError).status, status, `exit status for ${argv.join(' ')}`);
    return;
  }
  assert.unreachable(`expected a UsageError for ${argv.join(' ')}`);
}

function statsOf(settings: Settings): [string, string][] {
  const lines: [string, string][] = [];
  reportSettingsStats(settings, (key, value) => void lines.push([key, value]));
  return lines;
}

function statOf(argv: string[], key: string): string | undefined {
  return statsOf(parseSettings(argv)).find(([k]) => k === key)?.[1];
}

// `stats settings` of memcached 1.6.18 (Debian's build, with extstore and TLS) started with
// `-U 0 -p 11211` and no other flag.
const ORACLE_STATS_SETTINGS = `
maxbytes 67108864
maxconns 1024
tcpport 11211
udpport 0
inter NULL
verbosity 0
oldest 0
evictions on
domain_socket NULL
umask 700
shutdown_command no
growth_factor 1.25
chunk_size 48
num_threads 4
num_threads_per_udp 4
stat_key_prefix :
detail_enabled no
reqs_per_event 20
cas_enabled yes
tcp_backlog 1024
binding_protocol auto-negotiate
auth_enabled_sasl no
auth_enabled_ascii no
item_size_max 1048576
maxconns_fast yes
hashpower_init 0
slab_reassign yes
slab_automove 1
slab_automove_ratio 0.80
slab_automove_window 30
slab_chunk_max 524288
lru_crawler yes
lru_crawler_sleep 100
lru_crawler_tocrawl 0
tail_repair_time 0
flush_enabled yes
dump_enabled yes
hash_algorithm murmur3
lru_maintainer_thread yes
lru_segmented yes
hot_lru_pct 20
warm_lru_pct 40
hot_max_factor 0.20
warm_max_factor 2.00
temp_lru no
temporary_ttl 61
idle_timeout 0
watcher_logbuf_size 262144
worker_logbuf_size 65536
read_buf_mem_limit 0
track_sizes no
inline_ascii_response no
ext_item_size 512
ext_item_age 4294967295
ext_low_ttl 0
ext_recache_rate 2000
ext_wbuf_size 4194304
ext_compact_under 0
ext_drop_under 0
ext_max_sleep 1000000
ext_max_frag 0.80
slab_automove_freeratio 0.010
ext_drop_unread no
ssl_enabled no
ssl_chain_cert (null)
ssl_key (null)
ssl_verify_mode 0
ssl_keyformat 1
ssl_ciphers NULL
ssl_ca_cert NULL
ssl_wbuf_size 16384
ssl_session_cache no
ssl_kernel_tls no
ssl_min_version tlsv1.2
num_napi_ids (null)
memory_file (null)
`
  .trim()
  .split('\n')
  .map((line) => {
    const space = line.indexOf(' ');
    return [line.slice(0, space), line.slice(space + 1)] as [string, string];
  });

/** The lines the engine reports (engine/stats.ts), and flush_all's `oldest`. */
const NOT_THE_SERVERS = new Set([
  'maxbytes', 'evictions', 'growth_factor', 'chunk_size', 'cas_enabled', 'item_size_max', 'hashpower_init',
  'slab_chunk_max', 'hash_algorithm', 'lru_segmented', 'hot_lru_pct', 'warm_lru_pct', 'hot_max_factor',
  'warm_max_factor', 'track_sizes', 'oldest',
]);

// Defaults ------------------------------------------------------------------------------------------

test('defaults are memcached 1.6.18\'s, with no engine config and the wasm engine', () => {
  const s = parseSettings([]);
  assert.equal(s, defaultSettings());
  assert.is(s.engine, 'wasm');
  assert.is(configOf(), '');
  assert.is(s.port, 11211);
  assert.is(s.udpPort, 0);
  assert.is(s.socketPath, '');
  assert.is(s.socketMask, 0o700);
  assert.equal(s.listen, []);
  assert.is(s.connLimit, 1024);
  assert.is(s.threads, 4);
  assert.is(s.reqsPerEvent, 20);
  assert.is(s.backlog, 1024);
  assert.is(s.bindingProtocol, 'auto');
  assert.is(s.statPrefix, ':');
  assert.is(s.maxBytes, 64 * 1024 * 1024);
  assert.is(s.maxItemSize, 1048576);
  assert.is(s.slabChunkMax, 524288);
  assert.is(s.idleTimeout, 0);
  assert.ok(s.flushEnabled && s.dumpEnabled && s.watchEnabled);
  assert.not.ok(s.enableShutdown || s.daemonize || s.lockMemory || s.largePages || s.sasl || s.enableCoredumps);
  assert.is(s.user + s.pidFile + s.authFile + s.memoryFile, '');
  assert.equal(s.extended, new Map());
  assert.equal(s.warnings, []);
  assert.not.ok(s.help || s.version || s.license || s.checkConfig);
});

// Each flag, short and long ------------------------------------------------------------------------------

const FLAGS: [string[], string[], (s: Settings) => void][] = [
  [['-p', '11212'], ['--port=11212'], (s) => assert.is(s.port, 11212)],
  [['-U', '11213'], ['--udp-port', '11213'], (s) => assert.is(s.udpPort, 11213)],
  [['-s', '/tmp/mc.sock'], ['--unix-socket=/tmp/mc.sock'], (s) => assert.is(s.socketPath, '/tmp/mc.sock')],
  [['-a', '0644'], ['--unix-mask=755'], (s) => assert.ok(s.socketMask === 0o644 || s.socketMask === 0o755)],
  [['-A'], ['--enable-shutdown'], (s) => assert.ok(s.enableShutdown)],
  [['-l', '127.0.0.1'], ['--listen=127.0.0.1'], (s) => assert.equal(s.listen, ['127.0.0.1'])],
  [['-d'], ['--daemon'], (s) => assert.ok(s.daemonize)],
  [['-r'], ['--enable-coredumps'], (s) => assert.ok(s.enableCoredumps)],
  [['-u', 'nobody'], ['--user=nobody'], (s) => assert.is(s.user, 'nobody')],
  [['-m', '128'], ['--memory-limit=128'], (s) => assert.is(s.maxBytes, 128 * 1024 * 1024)],
  [['-M'], ['--disable-evictions'], (s) => assert.is(s.flagConfig.get('eviction'), 'false')],
  [['-c', '99'], ['--conn-limit=99'], (s) => assert.is(s.connLimit, 99)],
  [['-k'], ['--lock-memory'], (s) => assert.ok(s.lockMemory)],
  [['-v'], ['--verbose'], (s) => assert.is(s.verbose, 1)],
  [['-h'], ['--help'], (s) => assert.ok(s.help)],
  [['-i'], ['--license'], (s) => assert.ok(s.license)],
  [['-V'], ['--version'], (s) => assert.ok(s.version)],
  [['-P', '/run/mc.pid'], ['--pidfile=/run/mc.pid'], (s) => assert.is(s.pidFile, '/run/mc.pid')],
  [['-f', '1.5'], ['--slab-growth-factor=1.5'], (s) => assert.is(s.flagConfig.get('factor'), '1.5')],
  [['-n', '32'], ['--slab-min-size=32'], (s) => assert.is(s.flagConfig.get('chunk_size'), '32')],
  [['-L'], ['--enable-largepages'], (s) => assert.ok(s.largePages)],
  [['-t', '8'], ['--threads=8'], (s) => assert.is(s.threads, 8)],
  [['-R', '5'], ['--max-reqs-per-event=5'], (s) => assert.is(s.reqsPerEvent, 5)],
  [['-C'], ['--disable-cas'], (s) => assert.is(s.flagConfig.get('use_cas'), 'false')],
  [['-b', '64'], ['--listen-backlog=64'], (s) => assert.is(s.backlog, 64)],
  [['-B', 'ascii'], ['--protocol=ascii'], (s) => assert.is(s.bindingProtocol, 'ascii')],
  [['-I', '2m'], ['--max-item-size=2m'], (s) => assert.is(s.maxItemSize, 2 * 1024 * 1024)],
  [['-S'], ['--enable-sasl'], (s) => assert.ok(s.sasl)],
  [['-F'], ['--disable-flush-all'], (s) => assert.not.ok(s.flushEnabled)],
  [['-X'], ['--disable-dumping'], (s) => assert.not.ok(s.dumpEnabled)],
  [['-W'], ['--disable-watch'], (s) => assert.not.ok(s.watchEnabled)],
  [['-Y', '/etc/mc-auth'], ['--auth-file=/etc/mc-auth'], (s) => assert.is(s.authFile, '/etc/mc-auth')],
  [['-e', '/dev/shm/mc'], ['--memory-file=/dev/shm/mc'], (s) => assert.is(s.memoryFile, '/dev/shm/mc')],
  [['-o', 'idle_timeout=30'], ['--extended=idle_timeout=30'], (s) => assert.is(s.idleTimeout, 30)],
  [['-E', 'ts'], ['--engine=ts'], (s) => assert.is(s.engine, 'ts')],
];

test('every memcached flag, in its short and its long form', () => {
  for (const [short, long, check] of FLAGS) {
    check(parseSettings(short));
    check(parseSettings(long));
  }
  const d = parseSettings(['-D', '#']);
  assert.is(d.statPrefix, '#');
  assert.ok(d.detailEnabled);
  assert.is(parseSettings(['-D', '/x']).statPrefix, '/');
  assert.ok(parseSettings(['--check-config']).checkConfig);
});

test('values attach or follow; flags cluster; long names take = or the next argument, or a unique prefix', () => {
  assert.is(configOf('-m64'), 'cache_size=67108864');
  assert.is(configOf('--memory-limit=8'), 'cache_size=8388608');
  assert.is(configOf('--memory-limit', '8'), 'cache_size=8388608');
  assert.is(configOf('--memory-l=8'), 'cache_size=8388608');
  const s = parseSettings(['-vvv', '-MC', '-p11212', '--listen', '127.0.0.1', '-c', '10', '-dkp', '11213']);
  assert.is(s.verbose, 3);
  assert.is(s.port, 11213);
  assert.equal(s.listen, ['127.0.0.1']);
  assert.is(s.connLimit, 10);
  assert.ok(s.daemonize && s.lockMemory);
  assert.is(configOf('-MC'), 'eviction=false;use_cas=false');
  // --verbose takes an optional value, which memcached ignores.
  assert.is(parseSettings(['--verbose=2', '--verb']).verbose, 2);
  assert.is(parseSettings(['--check']).checkConfig, true);
  assert.is(parseSettings(['--engine-c', 'hashpower=18']).engineConfig, 'hashpower=18');
  // A value may itself look like an option, as getopt takes the next argument whatever it is.
  assert.is(parseSettings(['-u', '-v']).user, '-v');
});

test('-l: comma lists and repeats accumulate, duplicates once; two or more put one thread on each UDP port', () => {
  const s = parseSettings(['-l', '127.0.0.1,127.0.0.2', '-l', '127.0.0.1', '--listen=[::1]:11300']);
  assert.equal(s.listen, ['127.0.0.1', '127.0.0.2', '[::1]:11300']);
  assert.is(statOf(['-l', '127.0.0.1,127.0.0.2', '-t', '2'], 'inter'), '127.0.0.1,127.0.0.2');
  assert.is(statOf(['-l', '127.0.0.1,127.0.0.2', '-t', '2'], 'num_threads_per_udp'), '1');
  assert.is(statOf(['-l', '127.0.0.1', '-t', '2'], 'num_threads_per_udp'), '2');
});

test('arguments that are not options are ignored with a warning, as memcached ignores them', () => {
  const s = parseSettings(['stray', '-p', '11212', '-', '--', '-m', '8']);
  assert.is(s.port, 11212);
  assert.is(configOf('--', '-m', '8'), '');
  assert.equal(s.warnings, [
    "ignoring non-option argument 'stray'",
    "ignoring non-option argument '-'",
    "ignoring non-option argument '-m'",
    "ignoring non-option argument '8'",
  ]);
});

test('-h, -i and -V end parsing where they stand, as memcached exits there', () => {
  assert.ok(parseSettings(['-h', '-x']).help);
  assert.ok(parseSettings(['-p', '70000', '-V']).version);
  assert.ok(parseSettings(['-vi', '-c', '0']).license);
  usageError(['-x', '-h'], "invalid option -- 'x'");
  usageError(['-c', '0', '-h'], 'Maximum connections must be greater than 0');
});

// The engine config ---------------------------------------------------------------------------------------

test('-m -M -f -n -I -C -o map onto the engine config keys, in order', () => {
  assert.is(
    configOf('-m', '64', '-M', '-f', '1.5', '-n', '32', '-I', '2m', '-C', '-o', 'hashpower=20,track_sizes'),
    'cache_size=67108864;eviction=false;factor=1.5;chunk_size=32;item_size_max=2097152;use_cas=false;' +
      'hashpower=20;track_sizes=true',
  );
  assert.is(configOf('-o', 'hot_lru_pct=10,warm_lru_pct=30'), 'hot_lru_pct=10;warm_lru_pct=30');
  assert.is(configOf('-o', 'slab_chunk_max=262144'), 'slab_chunk_max=262144');
  // Server settings stay out of the engine config.
  assert.is(configOf('-p', '1', '-t', '2', '-o', 'idle_timeout=5,hash_algorithm=jenkins,no_lru_crawler'), '');
});

test('-E names the engine; --engine-config entries win over the flags', () => {
  assert.is(parseSettings(['-E', './my-engine.js']).engine, './my-engine.js');
  assert.is(parseSettings(['--engine=ts']).engine, 'ts');
  assert.is(configOf('-m', '64', '--engine-config', 'cache_size=128m;track_sizes=true'), 'cache_size=128m;track_sizes=true');
  assert.is(configOf('-m', '64', '--engine-config', 'hashpower=18', '--engine-config', 'hashpower=19'), 'cache_size=67108864;hashpower=19');
  assert.throws(() => configOf('--engine-config', 'novalue'), /bad engine config entry 'novalue'/);
});

test('a check across flags is left to the engine when --engine-config names one of its keys', () => {
  usageError(['-I', '2k'], 'slab_chunk_max (bytes: 524288) cannot be larger than -I (item_size_max 2048)', EX_USAGE);
  assert.is(configOf('-I', '2k', '--engine-config', 'slab_chunk_max=1k'), 'item_size_max=2048;slab_chunk_max=1k');
  assert.is(configOf('-I', '40m', '--engine-config', 'cache_size=128m'), 'item_size_max=41943040;cache_size=128m');
  assert.is(configOf('-o', 'hot_lru_pct=70', '--engine-config', 'warm_lru_pct=10'), 'hot_lru_pct=70;warm_lru_pct=10');
});

test('-I takes bytes or a k or m suffix, as memcached does', () => {
  assert.is(parseItemSize('1048576'), 1048576);
  assert.is(parseItemSize('512k'), 524288);
  assert.is(parseItemSize('512K'), 524288);
  assert.is(parseItemSize('2m'), 2097152);
  assert.is(parseItemSize('2M'), 2097152);
  assert.throws(() => parseItemSize('2g'), /expected a size in bytes/);
  assert.throws(() => parseItemSize('1.5m'), /expected a size in bytes/);
  assert.is(parseSettings(['-I', '3m']).maxItemSize, 3 * 1024 * 1024);
  assert.is(parseSettings(['-I', '1k', '-o', 'slab_chunk_max=1024']).maxItemSize, 1024);
  assert.is(parseSettings(['-m', '4096', '-I', '1024m']).maxItemSize, 1024 * 1024 * 1024);
});

// -o ------------------------------------------------------------------------------------------------

test('-o suboptions set what memcached sets, and are recorded as given', () => {
  const s = parseSettings([
    '-o',
    'maxconns_fast,no_hashexpand,slab_reassign,slab_automove=2,slab_automove_ratio=0.5,slab_automove_window=9',
    '-o',
    'tail_repair_time=11,hash_algorithm=xxh3,lru_crawler,lru_crawler_sleep=5,lru_crawler_tocrawl=7,lru_maintainer',
    '--extended=hot_max_factor=0.5,warm_max_factor=3.5,temporary_ttl=30,idle_timeout=5,watcher_logbuf_size=10',
    '-o',
    'worker_logbuf_size=32,read_buf_mem_limit=5,drop_privileges,sock_cookie_id=42,slab_sizes=96-200-500,modern',
    '-o',
    'no_inline_ascii_resp,inline_ascii_resp,track_sizes=ignored,',
  ]);
  assert.ok(s.maxconnsFast);
  assert.not.ok(s.hashExpand);
  assert.ok(s.slabReassign);
  assert.is(s.slabAutomove, 2);
  assert.is(s.slabAutomoveRatio, 0.5);
  assert.is(s.slabAutomoveWindow, 9);
  assert.is(s.tailRepairTime, 11);
  assert.is(s.hashAlgorithm, 'xxh3');
  assert.ok(s.lruCrawler && s.lruMaintainer && s.lruSegmented);
  assert.is(s.lruCrawlerSleep, 5);
  assert.is(s.lruCrawlerTocrawl, 7);
  assert.is(s.flagConfig.get('hot_max_factor'), '0.5');
  assert.is(s.flagConfig.get('warm_max_factor'), '3.5');
  assert.ok(s.tempLru);
  assert.is(s.temporaryTtl, 30);
  assert.is(s.idleTimeout, 5);
  assert.is(s.watcherLogbufSize, 10 * 1024);
  assert.is(s.workerLogbufSize, 32 * 1024);
  assert.is(s.readBufMemLimit, 5 * 1024 * 1024);
  assert.ok(s.dropPrivileges);
  assert.is(s.sockCookieId, 42);
  assert.is(s.slabSizes, '96-200-500');
  assert.is(s.flagConfig.get('track_sizes'), 'true');
  assert.is(s.extended.get('slab_automove'), '2');
  assert.is(s.extended.get('no_hashexpand'), '');
  assert.is(s.extended.get('track_sizes'), 'ignored');
  assert.is(s.extended.size, 26);
});

test('-o no_ forms, and later entries win', () => {
  const s = parseSettings(['-o', 'no_maxconns_fast,no_slab_reassign,no_slab_automove,no_lru_crawler,no_lru_maintainer,no_drop_privileges']);
  assert.not.ok(s.maxconnsFast || s.slabReassign || s.lruCrawler || s.lruMaintainer || s.lruSegmented || s.dropPrivileges);
  assert.is(s.slabAutomove, 0);
  assert.ok(parseSettings(['-o', 'no_lru_crawler,lru_crawler']).lruCrawler);
  assert.ok(parseSettings(['-o', 'no_lru_maintainer', '-o', 'lru_maintainer']).lruSegmented);
  assert.is(parseSettings(['-o', 'slab_automove=0,slab_automove']).slabAutomove, 1);
  assert.is(parseSettings(['-o', '']).extended.size, 0);
});

test('-o no_modern: 1.4 defaults, unchunked slab classes unless slab_chunk_max is given', () => {
  const s = parseSettings(['-o', 'no_modern']);
  assert.not.ok(s.maxconnsFast || s.slabReassign || s.lruCrawler || s.lruMaintainer || s.lruSegmented);
  assert.is(s.slabAutomove, 0);
  assert.is(s.hashAlgorithm, 'jenkins');
  assert.is(s.slabChunkMax, 1048576);
  // 1.4's flat LRU without a maintainer: the engine is told (engineConfigFor).
  const flat = 'lru_segmented=false;lru_maintainer=false';
  assert.is(configOf('-o', 'no_modern'), `slab_chunk_max=1048576;${flat}`);
  assert.is(configOf('-o', 'slab_chunk_max=2048,no_modern'), `slab_chunk_max=2048;${flat}`);
  assert.is(configOf('-o', 'no_modern,slab_chunk_max=2048'), `slab_chunk_max=2048;${flat}`);
  assert.is(configOf('-o', 'no_lru_maintainer,lru_maintainer'), '');
  assert.is(configOf('-o', 'no_chunked_items'), 'slab_chunk_max=1048576');
  // Items over 1m are chained over chunks again, as memcached does after no_modern and -I 2m.
  assert.is(configOf('-o', 'no_modern', '-I', '2m'), `slab_chunk_max=524288;item_size_max=2097152;${flat}`);
  assert.is(configOf('-o', 'no_chunked_items', '-I', '2m'), 'slab_chunk_max=524288;item_size_max=2097152');
  assert.equal(parseSettings(['-o', 'resp_obj_mem_limit']).warnings, [
    'DEPRECATED: resp_obj_mem_limit no longer used. See read_buf_mem_limit,',
  ]);
});

// Bad values ------------------------------------------------------------------------------------------

test('bad flags fail with memcached 1.6.18\'s message and exit status', () => {
  usageError(['-c', '0'], 'Maximum connections must be greater than 0');
  usageError(['-R', '0'], 'Number of requests per event must be greater than 0');
  usageError(['-t', '0'], 'Number of threads must be greater than 0');
  usageError(['-f', '1'], 'Factor must be greater than 1');
  usageError(['-f', '0.5'], 'Factor must be greater than 1');
  usageError(['-n', '0'], 'Chunk size must be greater than 0');
  usageError(['-D', ''], 'No delimiter specified');
  usageError(['-B', 'foo'], 'Invalid value for binding protocol: foo\n -- should be one of auto, binary, or ascii', EX_USAGE);
  usageError(['-Z'], 'This server is not built with TLS support.', EX_USAGE);
  usageError(['--enable-ssl'], 'This server is not built with TLS support.', EX_USAGE);
  usageError(['-N', '0'], 'Maximum number of NAPI IDs must be greater than 0');
  usageError(['-N', '5'], 'Number of napi_ids(5) cannot be greater than number of threads(4)', EX_USAGE);
  usageError(['--napi-ids=2'], '-N <num_napi_ids> option not supported');
  usageError(['-p', '70000'], 'ERROR: Invalid port number 70000.', EX_USAGE);
  usageError(['-U', '70000'], 'ERROR: Invalid port number 70000.', EX_USAGE);
  usageError(['-p', '11211', '-U', '65536'], 'ERROR: Invalid port number 65536.', EX_USAGE);
});

test('-I and -m: memcached\'s limits on the item size', () => {
  usageError(['-I', '512'], 'Item max size cannot be less than 1024 bytes.', EX_USAGE);
  usageError(['-I', '1000'], 'Item max size cannot be less than 1024 bytes.', EX_USAGE);
  usageError(['-I', '1024m'], 'Cannot set item size limit higher than 1/2 of memory max.', EX_USAGE);
  usageError(['-m', '0'], 'Cannot set item size limit higher than 1/2 of memory max.', EX_USAGE);
  usageError(['-m', '4096', '-I', '1025m'], 'Cannot set item size limit higher than a gigabyte.', EX_USAGE);
  usageError(['-I', '2k'], 'slab_chunk_max (bytes: 524288) cannot be larger than -I (item_size_max 2048)', EX_USAGE);
  usageError(['-I', '1500k'], '-I (item_size_max: 1536000) must be evenly divisible by slab_chunk_max (bytes: 524288)', EX_USAGE);
  usageError(['-o', 'slab_chunk_max=100'], '-I (item_size_max: 1048576) must be evenly divisible by slab_chunk_max (bytes: 100)', EX_USAGE);
  usageError(['-I', '2m', '-o', 'slab_chunk_max=2097152'], 'slab_chunk_max (bytes: 2097152) must divide evenly into 1048576 (slab_page_size)', EX_USAGE);
  usageError(['-o', 'no_modern', '-I', '512k'], 'slab_chunk_max (bytes: 1048576) cannot be larger than -I (item_size_max 524288)', EX_USAGE);
});

test('-S and -Y choose the protocol unless -B did, and refuse UDP', () => {
  assert.is(parseSettings(['-S']).bindingProtocol, 'binary');
  assert.is(parseSettings(['-Y', '/etc/auth']).bindingProtocol, 'ascii');
  assert.is(parseSettings(['-S', '-B', 'binary']).bindingProtocol, 'binary');
  usageError(['-S', '-B', 'ascii'], 'ERROR: You cannot allow the ASCII protocol while using SASL.', EX_USAGE);
  usageError(['-S', '-B', 'auto'], 'ERROR: You cannot allow the ASCII protocol while using SASL.', EX_USAGE);
  usageError(['-S', '-U', '5'], 'ERROR: Cannot enable UDP while using binary SASL authentication.', EX_USAGE);
  usageError(['-Y', '/etc/auth', '-B', 'binary'], 'ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.', EX_USAGE);
  usageError(['-Y', '/etc/auth', '-U', '5'], 'Cannot use UDP with ascii authentication enabled (-U 0 to disable)', EX_USAGE);
});

test('-U without -p moves the TCP port too, as memcached does', () => {
  const s = parseSettings(['-U', '11300']);
  assert.is(s.port, 11300);
  assert.is(s.udpPort, 11300);
  assert.is(parseSettings(['-U', '11300', '-p', '11211']).port, 11211);
  assert.is(parseSettings(['-U', '0']).port, 11211);
});

test('bad -o suboptions fail with memcached\'s message', () => {
  usageError(['-o', 'nonsense'], 'Illegal suboption "nonsense"');
  usageError(['-o', 'nonsense=3'], 'Illegal suboption "nonsense=3"');
  usageError(['-o', 'HASHPOWER=20'], 'Illegal suboption "HASHPOWER=20"');
  usageError(['-o', ','], 'Illegal suboption ""');
  usageError(['-o', 'hashpower=20,,track_sizes'], 'Illegal suboption ""');
  usageError(['-o', 'ssl_session_cache'], 'Illegal suboption "ssl_session_cache"');
  usageError(['-o', 'ext_path=/tmp/x:1G'], 'Illegal suboption "ext_path=/tmp/x:1G"');
  usageError(['-o', 'hashpower'], 'Missing numeric argument for hashpower');
  usageError(['-o', 'hashpower=11'], 'Initial hashtable multiplier of 11 is too low');
  usageError(
    ['-o', 'hashpower=33'],
    'Initial hashtable multiplier of 33 is too high\nChoose a value based on "STAT hash_power_level" from a running instance',
  );
  usageError(['-o', 'slab_automove=3'], 'slab_automove must be between 0 and 2');
  usageError(['-o', 'slab_automove_ratio'], 'Missing slab_automove_ratio argument');
  usageError(['-o', 'slab_automove_ratio=0'], 'slab_automove_ratio must be > 0 and < 1');
  usageError(['-o', 'slab_automove_ratio=1.5'], 'slab_automove_ratio must be > 0 and < 1');
  usageError(['-o', 'slab_automove_window'], 'Missing slab_automove_window argument');
  usageError(['-o', 'slab_automove_window=2'], 'slab_automove_window must be > 2');
  usageError(['-o', 'tail_repair_time'], 'Missing numeric argument for tail_repair_time');
  usageError(['-o', 'tail_repair_time=9'], 'Cannot set tail_repair_time to less than 10 seconds');
  usageError(['-o', 'hash_algorithm'], 'Missing hash_algorithm argument');
  usageError(['-o', 'hash_algorithm=foo'], 'Unknown hash_algorithm option (jenkins, murmur3, xxh3)');
  usageError(['-o', 'lru_crawler_sleep'], 'Missing lru_crawler_sleep value');
  usageError(['-o', 'lru_crawler_sleep=1000001'], 'LRU crawler sleep must be between 0 and 1 second');
  usageError(['-o', 'lru_crawler_tocrawl'], 'Missing lru_crawler_tocrawl value');
  usageError(['-o', 'lru_crawler_tocrawl=abc'], 'lru_crawler_tocrawl takes a numeric 32bit value');
  usageError(['-o', 'hot_lru_pct'], 'Missing hot_lru_pct argument');
  usageError(['-o', 'hot_lru_pct=0'], 'hot_lru_pct must be > 1 and < 80');
  usageError(['-o', 'hot_lru_pct=80'], 'hot_lru_pct must be > 1 and < 80');
  usageError(['-o', 'warm_lru_pct'], 'Missing warm_lru_pct argument');
  usageError(['-o', 'warm_lru_pct=0'], 'warm_lru_pct must be > 1 and < 80');
  usageError(['-o', 'hot_lru_pct=79'], 'hot_lru_pct + warm_lru_pct cannot be more than 80% combined', EX_USAGE);
  usageError(['-o', 'hot_lru_pct=50,warm_lru_pct=31'], 'hot_lru_pct + warm_lru_pct cannot be more than 80% combined', EX_USAGE);
  usageError(['-o', 'hot_max_factor'], 'Missing hot_max_factor argument');
  usageError(['-o', 'hot_max_factor=0'], 'hot_max_factor must be > 0');
  usageError(['-o', 'warm_max_factor'], 'Missing warm_max_factor argument');
  usageError(['-o', 'warm_max_factor=0'], 'warm_max_factor must be > 0');
  usageError(['-o', 'temporary_ttl'], 'Missing temporary_ttl argument');
  usageError(['-o', 'temporary_ttl=30,no_lru_maintainer'], 'temporary_ttl requires lru_maintainer to be enabled', EX_USAGE);
  usageError(['-o', 'idle_timeout'], 'Missing numeric argument for idle_timeout');
  usageError(['-o', 'watcher_logbuf_size'], 'Missing watcher_logbuf_size argument');
  usageError(['-o', 'watcher_logbuf_size=abc'], 'could not parse argument to watcher_logbuf_size');
  usageError(['-o', 'worker_logbuf_size'], 'Missing worker_logbuf_size argument');
  usageError(['-o', 'worker_logbuf_size=abc'], 'could not parse argument to worker_logbuf_size');
  usageError(['-o', 'slab_chunk_max'], 'Missing slab_chunk_max argument');
  usageError(['-o', 'slab_chunk_max=abc'], 'could not parse argument to slab_chunk_max');
  usageError(['-o', 'read_buf_mem_limit'], 'Missing read_buf_mem_limit argument');
  usageError(['-o', 'read_buf_mem_limit=abc'], 'could not parse argument to read_buf_mem_limit');
  usageError(['-o', 'sock_cookie_id'], 'Missing sock_cookie_id argument');
  usageError(['-o', 'slab_sizes'], 'Missing slab_sizes argument');
  usageError(['-o', 'slab_sizes=100-104'], 'slab size 104 must be at least 8 bytes larger than previous class', EX_USAGE);
  usageError(['-o', 'slab_sizes=100-90'], 'slab size 90 cannot be lower than or equal to a previous class size', EX_USAGE);
  usageError(['-o', 'slab_sizes=10-100'], 'slab size 10 is out of valid range', EX_USAGE);
  usageError(['-o', 'slab_sizes=100-600000'], 'slab size 600000 is out of valid range', EX_USAGE);
  const many = Array.from({ length: 63 }, (_, i) => 100 + i * 16).join('-');
  usageError(['-o', `slab_sizes=${many}`], 'too many slab classes specified', EX_USAGE);
});

test('getopt_long\'s messages for what it cannot parse', () => {
  usageError(['-x'], "invalid option -- 'x'");
  usageError(['-vx'], "invalid option -- 'x'");
  usageError(['--nope'], "unrecognized option '--nope'");
  usageError(['--nope=3'], "unrecognized option '--nope=3'");
  usageError(['--mem=1'], "option '--mem=1' is ambiguous; possibilities: '--memory-limit' '--memory-file'");
  usageError(['--ver'], "option '--ver' is ambiguous; possibilities: '--version' '--verbose'");
  usageError(['--port'], "option '--port' requires an argument");
  usageError(['-m'], "option requires an argument -- 'm'");
  usageError(['-vm'], "option requires an argument -- 'm'");
  usageError(['--disable-cas=1'], "option '--disable-cas' doesn't allow an argument");
});

test('values memcached would read with atoi are refused when they are not numbers', () => {
  usageError(['-m', 'lots'], "-m: expected a whole number, got 'lots'");
  usageError(['--memory-limit=-1'], "--memory-limit: expected a whole number, got '-1'");
  usageError(['-p', 'abc'], "-p: expected a whole number, got 'abc'");
  usageError(['-c', 'abc'], "-c: expected a whole number, got 'abc'");
  usageError(['-t', '2x'], "-t: expected a whole number, got '2x'");
  usageError(['-b', ''], "-b: expected a whole number, got ''");
  usageError(['-f', 'abc'], "-f: expected a number, got 'abc'");
  usageError(['-a', '8'], "-a: expected an octal mask from 0 to 777, got '8'");
  usageError(['-a', '1777'], "-a: expected an octal mask from 0 to 777, got '1777'");
  usageError(['-I', '2g'], "-I: expected a size in bytes with an optional k or m suffix, got '2g'");
  usageError(['-o', 'hashpower=abc'], "-o hashpower: expected a whole number, got 'abc'");
  usageError(['-o', 'idle_timeout=-3'], "-o idle_timeout: expected a whole number, got '-3'");
  usageError(['-o', 'hot_max_factor=abc'], "-o hot_max_factor: expected a number, got 'abc'");
  usageError(['-o', 'slab_automove=abc'], "-o slab_automove: expected a whole number, got 'abc'");
});

test('-t over 64 is a warning, as memcached prints one', () => {
  const s = parseSettings(['-t', '65']);
  assert.is(s.threads, 65);
  assert.equal(s.warnings, [
    'WARNING: Setting a high number of workerthreads is not recommended.\n' +
      ' Set this value to the number of cores in your machine or less.',
  ]);
});

// stats settings ----------------------------------------------------------------------------------------

test('SETTINGS_STATS_ORDER is memcached 1.6.18\'s list', () => {
  assert.equal([...SETTINGS_STATS_ORDER], ORACLE_STATS_SETTINGS.map(([key]) => key));
});

test('stats settings, defaults: memcached\'s server lines, in its order and formats', () => {
  const expected = ORACLE_STATS_SETTINGS.filter(([key]) => !NOT_THE_SERVERS.has(key));
  assert.equal(statsOf(parseSettings([])), expected);
});

test('stats settings follow the flags as memcached 1.6.18 reports them', () => {
  const s = parseSettings(['-a', '0644', '-A', '-D', '#', '-R', '5', '-b', '7', '-B', 'ascii', '-F', '-X', '-c', '99', '-t', '3', '-vv']);
  const lines = new Map(statsOf(s));
  const expected: Record<string, string> = {
    maxconns: '99', verbosity: '2', umask: '644', shutdown_command: 'yes', num_threads: '3', num_threads_per_udp: '3',
    stat_key_prefix: '#', detail_enabled: 'yes', reqs_per_event: '5', tcp_backlog: '7', binding_protocol: 'ascii',
    flush_enabled: 'no', dump_enabled: 'no',
  };
  for (const [key, value] of Object.entries(expected)) assert.is(lines.get(key), value, key);
  // glibc's %.2f rounds a tie to even; toFixed would not.
  const o = new Map(statsOf(parseSettings([
    '-o',
    'hot_max_factor=0.125,warm_max_factor=0.375,slab_automove_ratio=0.625,no_maxconns_fast,no_slab_reassign,' +
      'slab_automove=2,slab_automove_window=9,no_lru_crawler,lru_crawler_sleep=5,lru_crawler_tocrawl=7,' +
      'tail_repair_time=11,no_lru_maintainer',
  ])));
  const oExpected: Record<string, string> = {
    slab_automove_ratio: '0.62', maxconns_fast: 'no',
    slab_reassign: 'no', slab_automove: '2', slab_automove_window: '9', lru_crawler: 'no', lru_crawler_sleep: '5',
    lru_crawler_tocrawl: '7', tail_repair_time: '11', lru_maintainer_thread: 'no',
  };
  for (const [key, value] of Object.entries(oExpected)) assert.is(o.get(key), value, key);
  // The factors are the engine's to report (its hot_max_factor and warm_max_factor).
  assert.is(configOf('-o', 'hot_max_factor=0.125,warm_max_factor=0.375'), 'hot_max_factor=0.125;warm_max_factor=0.375');
  const t = new Map(statsOf(parseSettings(['-o', 'temporary_ttl=30,idle_timeout=5,watcher_logbuf_size=10,read_buf_mem_limit=5'])));
  assert.is(t.get('temp_lru'), 'yes');
  assert.is(t.get('temporary_ttl'), '30');
  assert.is(t.get('idle_timeout'), '5');
  assert.is(t.get('watcher_logbuf_size'), '10240');
  assert.is(t.get('read_buf_mem_limit'), '5242880');
  assert.is(statOf(['-Y', '/etc/mc-auth'], 'auth_enabled_ascii'), '/etc/mc-auth');
  assert.is(statOf(['-S'], 'auth_enabled_sasl'), 'yes');
  assert.is(statOf(['-S'], 'binding_protocol'), 'binary');
  assert.is(statOf(['-s', '/tmp/mc.sock', '-a', '0'], 'domain_socket'), '/tmp/mc.sock');
  assert.is(statOf(['-a', '0'], 'umask'), '0');
  assert.is(statOf(['-e', '/dev/shm/mc'], 'memory_file'), '/dev/shm/mc');
  assert.is(statOf(['-U', '11300'], 'tcpport'), '11300');
});

test('the server\'s lines are a subsequence of SETTINGS_STATS_ORDER', () => {
  const names = statsOf(parseSettings(['-l', 'a,b', '-S'])).map(([key]) => key);
  const positions = names.map((name) => SETTINGS_STATS_ORDER.indexOf(name));
  assert.not.ok(positions.includes(-1));
  assert.equal(positions, [...positions].sort((a, b) => a - b));
});

test('cFixed is printf\'s %.Nf: ties to even, otherwise toFixed', () => {
  assert.is(cFixed(0.125, 2), '0.12');
  assert.is(cFixed(0.375, 2), '0.38');
  assert.is(cFixed(0.625, 2), '0.62');
  assert.is(cFixed(1.005, 2), '1.00'); // 1.00499999999999989...
  assert.is(cFixed(0.8, 2), '0.80');
  assert.is(cFixed(0.01, 3), '0.010');
  assert.is(cFixed(2.5, 0), '2');
  assert.is(cFixed(3.5, 0), '4');
  assert.is(cFixed(1.25, 2), '1.25');
});

// -h ------------------------------------------------------------------------------------------------

test('the usage text has memcached 1.6.18\'s layout and lists every option', () => {
  const text = usage('wasmcached', '0.0.0');
  const lines = text.split('\n');
  assert.is(lines[0], 'wasmcached 0.0.0');
  assert.is(lines[1], '-p, --port=<num>          TCP port to listen on (default: 11211)');
  assert.ok(lines.includes('-U, --udp-port=<num>      UDP port to listen on (default: 0, off)'));
  assert.ok(lines.includes('-I, --max-item-size=<num> adjusts max item size'));
  assert.ok(lines.includes('                          (default: 1m, min: 1k, max: 1024m)'));
  assert.ok(lines.includes('-vv                       very verbose (also print client commands/responses)'));
  assert.ok(lines.includes('   - hashpower:           an integer multiplier for how large the hash'));
  assert.ok(lines.includes('   - lru_crawler_tocrawl: max items to crawl per slab per run'));
  const options = [
    '-p, --port', '-U, --udp-port', '-s, --unix-socket', '-a, --unix-mask', '-A, --enable-shutdown', '-l, --listen',
    '-d, --daemon', '-r, --enable-coredumps', '-u, --user', '-m, --memory-limit=<num>', '-M, --disable-evictions',
    '-c, --conn-limit', '-k, --lock-memory', '-v, --verbose', '-h, --help', '-i, --license', '-V, --version',
    '-P, --pidfile', '-f, --slab-growth-factor', '-n, --slab-min-size', '-L, --enable-largepages', '-D <char>',
    '-t, --threads', '-R, --max-reqs-per-event', '-C, --disable-cas', '-b, --listen-backlog', '-B, --protocol',
    '-I, --max-item-size', '-S, --enable-sasl', '-F, --disable-flush-all', '-X, --disable-dumping',
    '-W, --disable-watch', '-Y, --auth-file', '-e, --memory-file', '-E, --engine=<engine>',
    '    --engine-config=<config>', '    --check-config', '-o, --extended',
  ];
  for (const option of options) assert.ok(lines.some((line) => line.startsWith(option)), option);
  // Text starts in column 26 (continuation lines too) unless the names are longer.
  for (const line of lines.slice(1)) {
    const continuation = line.startsWith(' ') && !line.startsWith('    --') && !line.startsWith('   - ');
    if (continuation) assert.match(line, /^ {26}\S/);
    else if (line[25] === ' ') assert.ok(line.length === 26 || line[26] !== ' ', line);
  }
});

test.run();
