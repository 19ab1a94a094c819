// The command line: memcached 1.6's flags parsed into Settings, the engine config they imply, the
// -h text, and the server's lines of `stats settings`. cf. memcached.c main() (getopt_long over
// the same letters and long names, getsubopt for -o, then the checks across flags), usage() and
// process_stat_settings(); the engine branch's "old options", where -m -M -f -n -I -C became
// 'cache_size=...;eviction=false;...'.

import { cFixed } from '../engine/stats.ts';
import { parseEngineConfig } from '../engine/config.ts';

export const DEFAULT_ENGINE = 'wasm';

/** Exit statuses memcached uses for a command line it refuses (EXIT_FAILURE, sysexits EX_USAGE). */
export const EXIT_FAILURE = 1;
export const EX_USAGE = 64;

export type BindingProtocol = 'auto' | 'ascii' | 'binary';
export type HashAlgorithm = 'murmur3' | 'jenkins' | 'xxh3';

/**
 * Everything the command line sets. Engine settings (-m -M -f -n -I -C and -o hashpower,
 * hot_lru_pct, warm_lru_pct, hot_max_factor, warm_max_factor, track_sizes, slab_chunk_max) become
 * `flagConfig` entries (and lruSegmented, lru_segmented: see engineConfigFor); a few are
 * also kept here because the server or the checks across flags need them (maxBytes, maxItemSize,
 * slabChunkMax). The rest belong to the server; many change nothing yet but are reported by
 * `stats settings` as memcached reports them.
 */
export interface Settings {
  /** -E: a built-in engine name, a module path, or a package. */
  engine: string;
  /** --engine-config: 'key=value;...' as given (repeats are joined with ';'). */
  engineConfig: string;
  /** Engine config entries implied by -m -M -f -n -I -C -o, in command-line order. */
  flagConfig: Map<string, string>;
  /** Count of -v (--verbose). */
  verbose: number;
  /** -p: TCP port; 0 means no TCP listener in memcached. */
  port: number;
  /** -U: UDP port; 0 (the default since 1.5.6) means off. */
  udpPort: number;
  /** -s: unix socket path, '' for none; memcached then opens no TCP or UDP port. */
  socketPath: string;
  /** -a: the unix socket's access mask (octal on the command line). */
  socketMask: number;
  /** -l: addresses (optionally host:port) from every -l, commas split, duplicates dropped; [] = all. */
  listen: string[];
  /** -c */
  connLimit: number;
  /** -t */
  threads: number;
  /** -R */
  reqsPerEvent: number;
  /** -b */
  backlog: number;
  /** -B; -S without -B makes it 'binary', -Y without -B 'ascii'. */
  bindingProtocol: BindingProtocol;
  /** -A: the ascii `shutdown` command is allowed. */
  enableShutdown: boolean;
  /** -d */
  daemonize: boolean;
  /** -r: raise the core file limit. */
  enableCoredumps: boolean;
  /** -u: user to become when started as root, '' for none. */
  user: string;
  /** -P: pid file, '' for none. */
  pidFile: string;
  /** -k */
  lockMemory: boolean;
  /** -L */
  largePages: boolean;
  /** -m, in bytes (also flagConfig cache_size when given). */
  maxBytes: number;
  /** -I, in bytes (also flagConfig item_size_max when given). */
  maxItemSize: number;
  /** -o slab_chunk_max, in bytes; no_modern and no_chunked_items raise it to the slab page size. */
  slabChunkMax: number;
  /** -D: the key prefix delimiter for per-prefix stats. */
  statPrefix: string;
  /** -D also turns per-prefix stats on (`stats detail on` does it at run time). */
  detailEnabled: boolean;
  /** -S */
  sasl: boolean;
  /** --sasl-pwdb: the SASL password file ('' for MEMCACHED_SASL_PWDB from the environment). */
  saslPwdb: string;
  /** -Y: the ascii authentication file, '' for none. */
  authFile: string;
  /** -F inverted. */
  flushEnabled: boolean;
  /** -X inverted: `stats cachedump` and `lru_crawler metadump` are allowed. */
  dumpEnabled: boolean;
  /** -W inverted: `watch` is allowed. */
  watchEnabled: boolean;
  /** -e: the memory file for warm restarts, '' for none. */
  memoryFile: string;
  /** -N: NAPI ids (always 0: the option is refused, as memcached refuses it where unsupported). */
  napiIds: number;
  /** -o as given: suboption name -> value ('' when it had none), for `stats settings` and logs. */
  extended: Map<string, string>;
  /** -o maxconns_fast / no_maxconns_fast. */
  maxconnsFast: boolean;
  /** -o no_hashexpand inverted. */
  hashExpand: boolean;
  /** -o hash_algorithm. */
  hashAlgorithm: HashAlgorithm;
  /** -o slab_reassign / no_slab_reassign. */
  slabReassign: boolean;
  /** -o slab_automove[=0|1|2] / no_slab_automove. */
  slabAutomove: number;
  /** -o slab_automove_ratio. */
  slabAutomoveRatio: number;
  /** -o slab_automove_window. */
  slabAutomoveWindow: number;
  /** -o slab_sizes: '-'-separated chunk sizes as given, '' for none (checked, not applied). */
  slabSizes: string;
  /** -o tail_repair_time, seconds (0 = off). */
  tailRepairTime: number;
  /** -o lru_crawler / no_lru_crawler. */
  lruCrawler: boolean;
  /** -o lru_crawler_sleep, microseconds. */
  lruCrawlerSleep: number;
  /** -o lru_crawler_tocrawl (0 = unlimited). */
  lruCrawlerTocrawl: number;
  /** -o lru_maintainer / no_lru_maintainer (the background thread). */
  lruMaintainer: boolean;
  /** -o lru_maintainer / no_lru_maintainer (the HOT/WARM/COLD split). */
  lruSegmented: boolean;
  /** -o temporary_ttl: set, it turns the TEMP LRU on. */
  tempLru: boolean;
  temporaryTtl: number;
  /** -o idle_timeout, seconds (0 = connections never time out). */
  idleTimeout: number;
  /** -o watcher_logbuf_size, worker_logbuf_size (given in kilobytes), in bytes. */
  watcherLogbufSize: number;
  workerLogbufSize: number;
  /** -o read_buf_mem_limit (given in megabytes), in bytes; 0 = unlimited. */
  readBufMemLimit: number;
  /** -o drop_privileges / no_drop_privileges. */
  dropPrivileges: boolean;
  /** -o sock_cookie_id: SO_MARK for listening sockets (0 = none). */
  sockCookieId: number;
  /** Non-fatal remarks memcached prints to stderr while parsing (-t over 64, deprecated -o names). */
  warnings: string[];
  /** -h, -i, -V: print and exit 0; parsing stops at the first of them, as memcached's does. */
  help: boolean;
  license: boolean;
  version: boolean;
  /** --check-config: load and initialize the engine, then exit 0. */
  checkConfig: boolean;
}

/** A command line that cannot be followed; the message says why, `status` is the exit status. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
  readonly status: number;

  constructor(message: string, status: number = EXIT_FAILURE) {
    super(message);
    this.status = status;
  }
}

const KILOBYTE = 1024;
const MEGABYTE = 1024 * 1024;
/** memcached's slab page size (settings.slab_page_size): fixed, there is no flag for it. */
const SLAB_PAGE_SIZE = MEGABYTE;
/** memcached's ITEM_SIZE_MAX_LOWER_LIMIT and ITEM_SIZE_MAX_UPPER_LIMIT. */
const ITEM_SIZE_MAX_LOWER_LIMIT = 1024;
const ITEM_SIZE_MAX_UPPER_LIMIT = 1024 * MEGABYTE;
/** memcached's CHUNK_ALIGN_BYTES and MAX_NUMBER_OF_SLAB_CLASSES (for -o slab_sizes). */
const CHUNK_ALIGN_BYTES = 8;
const MAX_NUMBER_OF_SLAB_CLASSES = 64;
const INT_MAX = 2 ** 31 - 1;
const UINT_MAX = 2 ** 32 - 1;

export function defaultSettings(): Settings {
  return {
    engine: DEFAULT_ENGINE,
    engineConfig: '',
    flagConfig: new Map(),
    verbose: 0,
    port: 11211,
    udpPort: 0,
    socketPath: '',
    socketMask: 0o700,
    listen: [],
    connLimit: 1024,
    threads: 4,
    reqsPerEvent: 20,
    backlog: 1024,
    bindingProtocol: 'auto',
    enableShutdown: false,
    daemonize: false,
    enableCoredumps: false,
    user: '',
    pidFile: '',
    lockMemory: false,
    largePages: false,
    maxBytes: 64 * MEGABYTE,
    maxItemSize: MEGABYTE,
    slabChunkMax: SLAB_PAGE_SIZE / 2,
    statPrefix: ':',
    detailEnabled: false,
    sasl: false,
    saslPwdb: '',
    authFile: '',
    flushEnabled: true,
    dumpEnabled: true,
    watchEnabled: true,
    memoryFile: '',
    napiIds: 0,
    extended: new Map(),
    maxconnsFast: true,
    hashExpand: true,
    hashAlgorithm: 'murmur3',
    slabReassign: true,
    slabAutomove: 1,
    slabAutomoveRatio: 0.8,
    slabAutomoveWindow: 30,
    slabSizes: '',
    tailRepairTime: 0,
    lruCrawler: true,
    lruCrawlerSleep: 100,
    lruCrawlerTocrawl: 0,
    lruMaintainer: true,
    lruSegmented: true,
    tempLru: false,
    temporaryTtl: 61,
    idleTimeout: 0,
    watcherLogbufSize: 256 * KILOBYTE,
    workerLogbufSize: 64 * KILOBYTE,
    readBufMemLimit: 0,
    dropPrivileges: false,
    sockCookieId: 0,
    warnings: [],
    help: false,
    license: false,
    version: false,
    checkConfig: false,
  };
}

/** What memcached's main() remembers while parsing, for the checks after it. */
interface ParseState {
  /** -B given (protocol_specified): -S and -Y then insist on it instead of choosing. */
  protocolGiven: boolean;
  /** -p given (tcp_specified) and -U given (udp_specified): -U alone moves the TCP port too. */
  tcpGiven: boolean;
  udpGiven: boolean;
  /** -o slab_chunk_max given (slab_chunk_size_changed). */
  slabChunkMaxGiven: boolean;
}

interface OptionSpec {
  short?: string;
  long?: string;
  /** Whether the option takes a value; 'optional' only as --long=value (getopt's optional_argument). */
  takes: 'none' | 'required' | 'optional';
  /** The names column of the -h text, when not made from short, long and `arg`. */
  names?: string;
  /** The value's placeholder in the -h text. */
  arg?: string;
  /** The -h text, one entry a line; an option without it is accepted but not listed. */
  help?: readonly string[];
  apply(settings: Settings, value: string, as: string, state: ParseState): void;
}

/** memcached 1.6.18's options in the order of its -h text, and wasmcached's engine options. */
const OPTIONS: readonly OptionSpec[] = [
  {
    short: 'p', long: 'port', takes: 'required', arg: '<num>', help: ['TCP port to listen on (default: 11211)'],
    apply: (s, v, as, state) => {
      s.port = wholeNumber(v, as, 0, INT_MAX);
      state.tcpGiven = true;
    },
  },
  {
    short: 'U', long: 'udp-port', takes: 'required', arg: '<num>', help: ['UDP port to listen on (default: 0, off)'],
    apply: (s, v, as, state) => {
      s.udpPort = wholeNumber(v, as, 0, INT_MAX);
      state.udpGiven = true;
    },
  },
  {
    short: 's', long: 'unix-socket', takes: 'required', arg: '<file>',
    help: ['UNIX socket to listen on (disables network support)'],
    apply: (s, v) => { s.socketPath = v; },
  },
  {
    short: 'a', long: 'unix-mask', takes: 'required', arg: '<mask>',
    help: ['access mask for UNIX socket, in octal (default: 700)'],
    apply: (s, v, as) => {
      if (!/^[0-7]+$/.test(v) || Number.parseInt(v, 8) > 0o777) {
        throw new UsageError(`${as}: expected an octal mask from 0 to 777, got '${v}'`);
      }
      s.socketMask = Number.parseInt(v, 8);
    },
  },
  {
    short: 'A', long: 'enable-shutdown', takes: 'none', help: ['enable ascii "shutdown" command'],
    apply: (s) => { s.enableShutdown = true; },
  },
  {
    short: 'l', long: 'listen', takes: 'required', arg: '<addr>',
    help: ['interface to listen on (default: INADDR_ANY); a comma', 'separated list, or -l again, for several'],
    apply: (s, v) => {
      for (const address of v.split(',')) {
        if (address !== '' && !s.listen.includes(address)) s.listen.push(address);
      }
    },
  },
  {
    short: 'd', long: 'daemon', takes: 'none', help: ['run as a daemon'],
    apply: (s) => { s.daemonize = true; },
  },
  {
    short: 'r', long: 'enable-coredumps', takes: 'none', help: ['maximize core file limit'],
    apply: (s) => { s.enableCoredumps = true; },
  },
  {
    short: 'u', long: 'user', takes: 'required', arg: '<user>',
    help: ['assume identity of <username> (only when run as root)'],
    apply: (s, v) => { s.user = v; },
  },
  {
    short: 'm', long: 'memory-limit', takes: 'required', arg: '<num>', help: ['item memory in megabytes (default: 64)'],
    apply: (s, v, as) => {
      s.maxBytes = wholeNumber(v, as, 0, 2 ** 31) * MEGABYTE;
      s.flagConfig.set('cache_size', String(s.maxBytes));
    },
  },
  {
    short: 'M', long: 'disable-evictions', takes: 'none', help: ['return error on memory exhausted instead of evicting'],
    apply: (s) => { s.flagConfig.set('eviction', 'false'); },
  },
  {
    short: 'c', long: 'conn-limit', takes: 'required', arg: '<num>', help: ['max simultaneous connections (default: 1024)'],
    apply: (s, v, as) => {
      s.connLimit = wholeNumber(v, as, 0, INT_MAX);
      if (s.connLimit === 0) throw new UsageError('Maximum connections must be greater than 0');
    },
  },
  {
    short: 'k', long: 'lock-memory', takes: 'none', help: ['lock down all paged memory'],
    apply: (s) => { s.lockMemory = true; },
  },
  {
    short: 'v', long: 'verbose', takes: 'optional', help: ['verbose (print errors/warnings while in event loop)'],
    apply: (s) => { s.verbose += 1; },
  },
  // Lines of the -h text only: no letter or name to match.
  { names: '-vv', takes: 'none', help: ['very verbose (also print client commands/responses)'], apply: () => {} },
  { names: '-vvv', takes: 'none', help: ['extremely verbose (internal state transitions)'], apply: () => {} },
  {
    short: 'h', long: 'help', takes: 'none', help: ['print this help and exit'],
    apply: (s) => { s.help = true; },
  },
  {
    short: 'i', long: 'license', takes: 'none', help: ['print the license and exit'],
    apply: (s) => { s.license = true; },
  },
  {
    short: 'V', long: 'version', takes: 'none', help: ['print version and exit'],
    apply: (s) => { s.version = true; },
  },
  {
    short: 'P', long: 'pidfile', takes: 'required', arg: '<file>', help: ['save PID in <file>, only used with -d option'],
    apply: (s, v) => { s.pidFile = v; },
  },
  {
    short: 'f', long: 'slab-growth-factor', takes: 'required', arg: '<num>', help: ['chunk size growth factor (default: 1.25)'],
    apply: (s, v, as) => {
      if (decimal(v, as) <= 1) throw new UsageError('Factor must be greater than 1');
      s.flagConfig.set('factor', v);
    },
  },
  {
    short: 'n', long: 'slab-min-size', takes: 'required', arg: '<bytes>',
    help: ['min space used for key+value+flags (default: 48)'],
    apply: (s, v, as) => {
      const size = wholeNumber(v, as, 0, INT_MAX);
      if (size === 0) throw new UsageError('Chunk size must be greater than 0');
      s.flagConfig.set('chunk_size', String(size));
    },
  },
  {
    short: 'L', long: 'enable-largepages', takes: 'none', help: ['try to use large memory pages (if available)'],
    apply: (s) => { s.largePages = true; },
  },
  {
    short: 'D', takes: 'required', names: '-D <char>',
    help: [
      'Use <char> as the delimiter between key prefixes and IDs.',
      'This is used for per-prefix stats reporting. The default is',
      '":" (colon). If this option is specified, stats collection',
      'is turned on automatically; if not, then it may be turned on',
      'by sending the "stats detail on" command to the server.',
    ],
    apply: (s, v) => {
      if (v === '') throw new UsageError('No delimiter specified');
      s.statPrefix = v[0]!;
      s.detailEnabled = true;
    },
  },
  {
    short: 't', long: 'threads', takes: 'required', arg: '<num>', help: ['number of threads to use (default: 4)'],
    apply: (s, v, as) => {
      s.threads = wholeNumber(v, as, 0, INT_MAX);
      if (s.threads === 0) throw new UsageError('Number of threads must be greater than 0');
      if (s.threads > 64) {
        s.warnings.push(
          'WARNING: Setting a high number of workerthreads is not recommended.\n' +
            ' Set this value to the number of cores in your machine or less.',
        );
      }
    },
  },
  {
    short: 'R', long: 'max-reqs-per-event', takes: 'required', arg: '<num>',
    help: ['maximum number of requests per event, limits the', 'requests processed per connection to prevent', 'starvation (default: 20)'],
    apply: (s, v, as) => {
      s.reqsPerEvent = wholeNumber(v, as, 0, INT_MAX);
      if (s.reqsPerEvent === 0) throw new UsageError('Number of requests per event must be greater than 0');
    },
  },
  {
    short: 'C', long: 'disable-cas', takes: 'none', help: ['disable use of CAS'],
    apply: (s) => { s.flagConfig.set('use_cas', 'false'); },
  },
  {
    short: 'b', long: 'listen-backlog', takes: 'required', arg: '<num>', help: ['set the backlog queue limit (default: 1024)'],
    apply: (s, v, as) => { s.backlog = wholeNumber(v, as, 0, INT_MAX); },
  },
  {
    short: 'B', long: 'protocol', takes: 'required', arg: '<name>',
    help: ['protocol - one of ascii, binary, or auto (default: auto-negotiate)'],
    apply: (s, v, _as, state) => {
      if (v !== 'auto' && v !== 'ascii' && v !== 'binary') {
        throw new UsageError(`Invalid value for binding protocol: ${v}\n -- should be one of auto, binary, or ascii`, EX_USAGE);
      }
      s.bindingProtocol = v;
      state.protocolGiven = true;
    },
  },
  {
    short: 'I', long: 'max-item-size', takes: 'required', arg: '<num>',
    help: ['adjusts max item size', '(default: 1m, min: 1k, max: 1024m)'],
    apply: (s, v, as) => {
      s.maxItemSize = parseItemSize(v, as);
      s.flagConfig.set('item_size_max', String(s.maxItemSize));
    },
  },
  {
    short: 'S', long: 'enable-sasl', takes: 'none', help: ['turn on Sasl authentication'],
    apply: (s) => { s.sasl = true; },
  },
  {
    short: 'F', long: 'disable-flush-all', takes: 'none', help: ['disable flush_all command'],
    apply: (s) => { s.flushEnabled = false; },
  },
  {
    short: 'X', long: 'disable-dumping', takes: 'none', help: ['disable stats cachedump and lru_crawler metadump'],
    apply: (s) => { s.dumpEnabled = false; },
  },
  {
    short: 'W', long: 'disable-watch', takes: 'none', help: ['disable watch commands (live logging)'],
    apply: (s) => { s.watchEnabled = false; },
  },
  {
    short: 'Y', long: 'auth-file', takes: 'required', arg: '<file>',
    help: ['(EXPERIMENTAL) enable ASCII protocol authentication. format:', 'user:pass\\nuser2:pass2\\n'],
    apply: (s, v) => { s.authFile = v; },
  },
  {
    short: 'e', long: 'memory-file', takes: 'required', arg: '<file>',
    help: ['(EXPERIMENTAL) mmap a file for item memory, for a restartable', 'cache (not supported yet: the cache starts cold)'],
    apply: (s, v) => { s.memoryFile = v; },
  },
  {
    short: 'Z', long: 'enable-ssl', takes: 'none',
    apply: () => { throw new UsageError('This server is not built with TLS support.', EX_USAGE); },
  },
  {
    short: 'E', long: 'engine', takes: 'required', arg: '<engine>',
    help: [`storage engine: 'wasm' (default), 'ts', or a module path or package`],
    apply: (s, v) => { s.engine = v; },
  },
  {
    long: 'engine-config', takes: 'required', arg: '<config>',
    help: [`engine settings 'key=value;key=value', after (and over) the`, 'ones -m -M -f -n -I -C -o imply'],
    apply: (s, v) => { s.engineConfig = s.engineConfig === '' ? v : `${s.engineConfig};${v}`; },
  },
  {
    long: 'sasl-pwdb', takes: 'required', arg: '<file>',
    help: ['SASL password file for -S, one user:password a line', '(default: $MEMCACHED_SASL_PWDB)'],
    apply: (s, v) => { s.saslPwdb = v; },
  },
  {
    long: 'check-config', takes: 'none', help: ['load and initialize the engine, then exit (0 when it', 'accepts the configuration)'],
    apply: (s) => { s.checkConfig = true; },
  },
  {
    short: 'o', long: 'extended', takes: 'required', arg: '<opts>',
    help: ['comma separated list of extended options', `most options have a 'no_' prefix to disable`],
    apply: (s, v, _as, state) => { applyExtended(s, v, state); },
  },
  {
    short: 'N', long: 'napi-ids', takes: 'required', arg: '<num>',
    apply: (s, v, as) => {
      s.napiIds = wholeNumber(v, as, 0, INT_MAX);
      if (s.napiIds === 0) throw new UsageError('Maximum number of NAPI IDs must be greater than 0');
    },
  },
];

/**
 * Parses argv as memcached's getopt_long does: -vv, -m64, -m 64, --memory-limit=64,
 * --memory-limit 64, a unique prefix of a long name, and -- . Arguments that are not options are
 * ignored (memcached ignores them silently; we add a warning). Parsing stops at -h, -i or -V as
 * memcached exits there; otherwise the checks across flags follow, in memcached's order.
 */
export function parseSettings(argv: readonly string[]): Settings {
  const settings = defaultSettings();
  const state: ParseState = { protocolGiven: false, tcpGiven: false, udpGiven: false, slabChunkMaxGiven: false };
  const ignore = (arg: string): void => { settings.warnings.push(`ignoring non-option argument '${arg}'`); };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      argv.slice(i + 1).forEach(ignore);
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = findLong(name, arg);
      const as = `--${spec.long}`;
      if (eq >= 0 && spec.takes === 'none') throw new UsageError(`option '${as}' doesn't allow an argument`);
      let value = eq < 0 ? '' : arg.slice(eq + 1);
      if (eq < 0 && spec.takes === 'required') {
        if (i + 1 >= argv.length) throw new UsageError(`option '${as}' requires an argument`);
        value = argv[++i]!;
      }
      spec.apply(settings, value, as, state);
    } else if (arg.startsWith('-') && arg !== '-') {
      for (let j = 1; j < arg.length; j++) {
        const letter = arg[j]!;
        const spec = OPTIONS.find((o) => o.short === letter);
        if (spec === undefined) throw new UsageError(`invalid option -- '${letter}'`);
        if (spec.takes !== 'required') {
          spec.apply(settings, '', `-${letter}`, state);
          if (stopsParsing(settings)) return settings;
          continue;
        }
        let value = arg.slice(j + 1);
        if (value === '') {
          if (i + 1 >= argv.length) throw new UsageError(`option requires an argument -- '${letter}'`);
          value = argv[++i]!;
        }
        spec.apply(settings, value, `-${letter}`, state);
        break;
      }
    } else {
      ignore(arg);
    }
    if (stopsParsing(settings)) return settings;
  }
  checkSettings(settings, state);
  return settings;
}

function stopsParsing(settings: Settings): boolean {
  return settings.help || settings.license || settings.version;
}

/** memcached's getopt_long table order, in which glibc lists an ambiguous prefix's possibilities. */
const LONGOPTS_ORDER: readonly string[] = [
  'unix-mask', 'enable-shutdown', 'enable-ssl', 'port', 'unix-socket', 'udp-port', 'memory-limit',
  'disable-evictions', 'conn-limit', 'lock-memory', 'help', 'license', 'version', 'enable-coredumps', 'verbose',
  'daemon', 'listen', 'user', 'pidfile', 'slab-growth-factor', 'slab-min-size', 'threads', 'enable-largepages',
  'max-reqs-per-event', 'disable-cas', 'listen-backlog', 'protocol', 'max-item-size', 'enable-sasl',
  'disable-flush-all', 'disable-dumping', 'disable-watch', 'auth-file', 'memory-file', 'extended', 'napi-ids',
];

/** getopt_long's lookup: the exact name, else the one long name it is a prefix of. */
function findLong(name: string, arg: string): OptionSpec {
  const named = OPTIONS.filter((o) => o.long !== undefined);
  const exact = named.find((o) => o.long === name);
  if (exact !== undefined) return exact;
  const matches = name === '' ? [] : named.filter((o) => o.long!.startsWith(name));
  if (matches.length === 1) return matches[0]!;
  if (matches.length === 0) throw new UsageError(`unrecognized option '${arg}'`);
  const rank = (o: OptionSpec): number => {
    const i = LONGOPTS_ORDER.indexOf(o.long!);
    return i < 0 ? LONGOPTS_ORDER.length : i;
  };
  const possibilities = matches.sort((a, b) => rank(a) - rank(b)).map((o) => `'--${o.long}'`).join(' ');
  throw new UsageError(`option '${arg}' is ambiguous; possibilities: ${possibilities}`);
}

/**
 * memcached's checks after the option loop, in its order and with its messages and exit
 * statuses. Engine values are checked as the flags left them; a check is skipped when
 * --engine-config names one of its keys, since the engine then has the last word (and checks).
 */
function checkSettings(s: Settings, state: ParseState): void {
  const overridden = engineConfigKeys(s.engineConfig);
  const free = (...keys: string[]): boolean => keys.every((k) => !overridden.has(k));

  if (s.napiIds > s.threads) {
    throw new UsageError(`Number of napi_ids(${s.napiIds}) cannot be greater than number of threads(${s.threads})`, EX_USAGE);
  }
  if (s.napiIds > 0) {
    // memcached refuses -N where sockets cannot report SO_INCOMING_NAPI_ID; Node's cannot.
    throw new UsageError('-N <num_napi_ids> option not supported');
  }
  if (free('item_size_max')) {
    if (s.maxItemSize < ITEM_SIZE_MAX_LOWER_LIMIT) {
      throw new UsageError('Item max size cannot be less than 1024 bytes.', EX_USAGE);
    }
    if (free('cache_size') && s.maxItemSize > s.maxBytes / 2) {
      throw new UsageError('Cannot set item size limit higher than 1/2 of memory max.', EX_USAGE);
    }
    if (s.maxItemSize > ITEM_SIZE_MAX_UPPER_LIMIT) {
      throw new UsageError('Cannot set item size limit higher than a gigabyte.', EX_USAGE);
    }
  }
  if (s.maxItemSize > MEGABYTE && !state.slabChunkMaxGiven && s.slabChunkMax !== SLAB_PAGE_SIZE / 2) {
    // Items over 1m are chained over chunks: no_modern's unchunked classes give way.
    setSlabChunkMax(s, SLAB_PAGE_SIZE / 2);
  }
  if (free('item_size_max', 'slab_chunk_max', 'slab_page_size')) {
    if (s.slabChunkMax > s.maxItemSize) {
      throw new UsageError(
        `slab_chunk_max (bytes: ${s.slabChunkMax}) cannot be larger than -I (item_size_max ${s.maxItemSize})`,
        EX_USAGE,
      );
    }
    if (s.maxItemSize % s.slabChunkMax !== 0) {
      throw new UsageError(
        `-I (item_size_max: ${s.maxItemSize}) must be evenly divisible by slab_chunk_max (bytes: ${s.slabChunkMax})`,
        EX_USAGE,
      );
    }
    if (SLAB_PAGE_SIZE % s.slabChunkMax !== 0) {
      throw new UsageError(
        `slab_chunk_max (bytes: ${s.slabChunkMax}) must divide evenly into ${SLAB_PAGE_SIZE} (slab_page_size)`,
        EX_USAGE,
      );
    }
  }
  if (s.slabSizes !== '') checkSlabSizes(s);
  const hot = Number(s.flagConfig.get('hot_lru_pct') ?? 20);
  const warm = Number(s.flagConfig.get('warm_lru_pct') ?? 40);
  if (free('hot_lru_pct', 'warm_lru_pct') && hot + warm > 80) {
    throw new UsageError('hot_lru_pct + warm_lru_pct cannot be more than 80% combined', EX_USAGE);
  }
  if (s.tempLru && !s.lruMaintainer) {
    throw new UsageError('temporary_ttl requires lru_maintainer to be enabled', EX_USAGE);
  }
  if (s.sasl) {
    if (!state.protocolGiven) s.bindingProtocol = 'binary';
    else if (s.bindingProtocol !== 'binary') {
      throw new UsageError('ERROR: You cannot allow the ASCII protocol while using SASL.', EX_USAGE);
    }
    if (s.udpPort !== 0) throw new UsageError('ERROR: Cannot enable UDP while using binary SASL authentication.', EX_USAGE);
  }
  if (s.authFile !== '') {
    if (!state.protocolGiven) s.bindingProtocol = 'ascii';
    else if (s.bindingProtocol !== 'ascii') {
      throw new UsageError('ERROR: You cannot allow the BINARY protocol while using ascii authentication tokens.', EX_USAGE);
    }
  }
  if (state.udpGiven && s.udpPort !== 0 && !state.tcpGiven) s.port = s.udpPort;
  // memcached checks only the TCP port here (a bad UDP port fails at bind); we check both.
  for (const port of [s.port, s.udpPort]) {
    if (port > 65535) throw new UsageError(`ERROR: Invalid port number ${port}.`, EX_USAGE);
  }
  if (s.authFile !== '' && s.udpPort !== 0) {
    throw new UsageError('Cannot use UDP with ascii authentication enabled (-U 0 to disable)', EX_USAGE);
  }
}

/** -o slab_sizes: ascending chunk sizes, each within [-n, slab_chunk_max] (memcached's _parse_slab_sizes). */
function checkSlabSizes(s: Settings): void {
  const chunkSize = Number(s.flagConfig.get('chunk_size') ?? 48);
  let last = 0;
  let count = 0;
  for (const part of s.slabSizes.split('-')) {
    if (part === '') continue;
    const size = /^\d+$/.test(part) ? Number(part) : Number.NaN;
    if (!(size >= chunkSize && size <= s.slabChunkMax)) {
      throw new UsageError(`slab size ${part} is out of valid range`, EX_USAGE);
    }
    if (last >= size) throw new UsageError(`slab size ${size} cannot be lower than or equal to a previous class size`, EX_USAGE);
    if (size <= last + CHUNK_ALIGN_BYTES) {
      throw new UsageError(`slab size ${size} must be at least ${CHUNK_ALIGN_BYTES} bytes larger than previous class`, EX_USAGE);
    }
    last = size;
    if (++count >= MAX_NUMBER_OF_SLAB_CLASSES - 1) throw new UsageError('too many slab classes specified', EX_USAGE);
  }
}

/** The keys --engine-config names, read leniently (engineConfigFor reports malformed entries). */
function engineConfigKeys(text: string): Set<string> {
  const keys = new Set<string>();
  for (const entry of text.split(';')) {
    const eq = entry.indexOf('=');
    if (eq > 0) keys.add(entry.slice(0, eq).trim());
  }
  return keys;
}

/**
 * The config handed to the engine's initialize: the entries the flags imply, then the entries of
 * --engine-config, which win where both name a key. memcached's engine branch first refused to mix
 * -e with the old flags ("You can't mix -e with the old options"); its descendant arcus-memcached
 * instead appends -e after the flags' entries, and the engine's parser keeps the last value of a
 * key. We do the latter with --engine-config (-e stays memcached 1.6's memory file):
 * `-m 64 --engine-config cache_size=128m` gives 128m.
 * Throws (as parseEngineConfig does) on an entry without '='.
 */
export function engineConfigFor(settings: Settings): Map<string, string> {
  const config = new Map(settings.flagConfig);
  // Only when not the defaults, so that an engine without these settings is not handed the keys.
  if (!settings.lruSegmented) config.set('lru_segmented', 'false');
  if (!settings.lruMaintainer) config.set('lru_maintainer', 'false');
  for (const [key, value] of parseEngineConfig(settings.engineConfig)) {
    config.delete(key);
    config.set(key, value);
  }
  return config;
}

/** -I's value: bytes, or a whole number with a k or m suffix (memcached's -I), in bytes. */
export function parseItemSize(value: string, as = '-I'): number {
  const m = /^(\d+)([kKmM]?)$/.exec(value);
  if (m === null) throw new UsageError(`${as}: expected a size in bytes with an optional k or m suffix, got '${value}'`);
  const unit = m[2] === '' ? 1 : m[2]!.toLowerCase() === 'k' ? KILOBYTE : MEGABYTE;
  return Number(m[1]) * unit;
}

// -o: memcached's getsubopt() table. ------------------------------------------------------------

interface Suboption {
  name: string;
  /** The -h text under -o; a suboption without it is accepted but not listed (as in memcached). */
  help?: readonly string[];
  /** `value` is undefined when the entry had no '='. */
  apply(s: Settings, value: string | undefined, state: ParseState): void;
}

/** A suboption that needs a value: memcached's "Missing ..." text when it has none. */
function needs(value: string | undefined, missing: string): string {
  if (value === undefined) throw new UsageError(missing);
  return value;
}

/** safe_strtoul's suboptions: a u32 or memcached's "could not parse argument to <name>". */
function strtoul(value: string, name: string): number {
  if (!/^\d+$/.test(value) || Number(value) > UINT_MAX) throw new UsageError(`could not parse argument to ${name}`);
  return Number(value);
}

function setSlabChunkMax(s: Settings, bytes: number): void {
  s.slabChunkMax = bytes;
  s.flagConfig.set('slab_chunk_max', String(bytes));
}

/** In memcached 1.6.18's table order; ext_* (extstore) and ssl_* (TLS) are not built in. */
const SUBOPTIONS: readonly Suboption[] = [
  {
    name: 'maxconns_fast', help: ['immediately close new connections after limit (default: enabled)'],
    apply: (s) => { s.maxconnsFast = true; },
  },
  {
    name: 'hashpower',
    help: ['an integer multiplier for how large the hash', 'table should be. normally grows at runtime. (default starts at: 0)', 'set based on "STAT hash_power_level"'],
    apply: (s, v) => {
      const power = wholeNumber(needs(v, 'Missing numeric argument for hashpower'), '-o hashpower', 0, INT_MAX);
      if (power < 12) throw new UsageError(`Initial hashtable multiplier of ${power} is too low`);
      if (power > 32) {
        throw new UsageError(
          `Initial hashtable multiplier of ${power} is too high\n` +
            'Choose a value based on "STAT hash_power_level" from a running instance',
        );
      }
      s.flagConfig.set('hashpower', String(power));
    },
  },
  {
    name: 'no_hashexpand', help: ['disables hash table expansion (dangerous)'],
    apply: (s) => { s.hashExpand = false; },
  },
  { name: 'slab_reassign', apply: (s) => { s.slabReassign = true; } },
  {
    name: 'slab_automove',
    apply: (s, v) => {
      s.slabAutomove = v === undefined ? 1 : wholeNumber(v, '-o slab_automove', 0, INT_MAX);
      if (s.slabAutomove > 2) throw new UsageError('slab_automove must be between 0 and 2');
    },
  },
  {
    name: 'slab_automove_ratio',
    apply: (s, v) => {
      const ratio = decimal(needs(v, 'Missing slab_automove_ratio argument'), '-o slab_automove_ratio');
      if (ratio <= 0 || ratio > 1) throw new UsageError('slab_automove_ratio must be > 0 and < 1');
      s.slabAutomoveRatio = ratio;
    },
  },
  {
    name: 'slab_automove_window',
    apply: (s, v) => {
      const window = wholeNumber(needs(v, 'Missing slab_automove_window argument'), '-o slab_automove_window', 0, INT_MAX);
      if (window < 3) throw new UsageError('slab_automove_window must be > 2');
      s.slabAutomoveWindow = window;
    },
  },
  {
    name: 'tail_repair_time',
    help: ['time in seconds for how long to wait before', 'forcefully killing LRU tail item.', 'disabled by default; very dangerous option.'],
    apply: (s, v) => {
      const seconds = wholeNumber(needs(v, 'Missing numeric argument for tail_repair_time'), '-o tail_repair_time', 0, INT_MAX);
      if (seconds < 10) throw new UsageError('Cannot set tail_repair_time to less than 10 seconds');
      s.tailRepairTime = seconds;
    },
  },
  {
    name: 'hash_algorithm',
    help: ['the hash table algorithm', 'default is murmur3 hash. options: jenkins, murmur3, xxh3', '(recorded; the built-in engines hash with murmur3)'],
    apply: (s, v) => {
      const algorithm = needs(v, 'Missing hash_algorithm argument');
      if (algorithm !== 'jenkins' && algorithm !== 'murmur3' && algorithm !== 'xxh3') {
        throw new UsageError('Unknown hash_algorithm option (jenkins, murmur3, xxh3)');
      }
      s.hashAlgorithm = algorithm;
    },
  },
  { name: 'lru_crawler', apply: (s) => { s.lruCrawler = true; } },
  {
    name: 'lru_crawler_sleep', help: ['microseconds to sleep between items', 'default is 100.'],
    apply: (s, v) => {
      const sleep = wholeNumber(needs(v, 'Missing lru_crawler_sleep value'), '-o lru_crawler_sleep', 0, INT_MAX);
      if (sleep > 1000000) throw new UsageError('LRU crawler sleep must be between 0 and 1 second');
      s.lruCrawlerSleep = sleep;
    },
  },
  {
    name: 'lru_crawler_tocrawl', help: ['max items to crawl per slab per run', 'default is 0 (unlimited)'],
    apply: (s, v) => {
      const value = needs(v, 'Missing lru_crawler_tocrawl value');
      if (!/^\d+$/.test(value) || Number(value) > UINT_MAX) {
        throw new UsageError('lru_crawler_tocrawl takes a numeric 32bit value');
      }
      s.lruCrawlerTocrawl = Number(value);
    },
  },
  {
    name: 'lru_maintainer',
    apply: (s) => {
      s.lruMaintainer = true;
      s.lruSegmented = true;
    },
  },
  {
    name: 'hot_lru_pct', help: ['pct of slab memory to reserve for hot lru.', '(requires lru_maintainer, default pct: 20)'],
    apply: (s, v) => {
      const pct = wholeNumber(needs(v, 'Missing hot_lru_pct argument'), '-o hot_lru_pct', 0, INT_MAX);
      if (pct < 1 || pct >= 80) throw new UsageError('hot_lru_pct must be > 1 and < 80');
      s.flagConfig.set('hot_lru_pct', String(pct));
    },
  },
  {
    name: 'warm_lru_pct', help: ['pct of slab memory to reserve for warm lru.', '(requires lru_maintainer, default pct: 40)'],
    apply: (s, v) => {
      const pct = wholeNumber(needs(v, 'Missing warm_lru_pct argument'), '-o warm_lru_pct', 0, INT_MAX);
      if (pct < 1 || pct >= 80) throw new UsageError('warm_lru_pct must be > 1 and < 80');
      s.flagConfig.set('warm_lru_pct', String(pct));
    },
  },
  {
    name: 'hot_max_factor', help: ['items idle > cold lru age * drop from hot lru. (default: 0.20)'],
    apply: (s, v) => {
      const factor = decimal(needs(v, 'Missing hot_max_factor argument'), '-o hot_max_factor');
      if (factor <= 0) throw new UsageError('hot_max_factor must be > 0');
      s.flagConfig.set('hot_max_factor', String(factor));
    },
  },
  {
    name: 'warm_max_factor', help: ['items idle > cold lru age * this drop from warm. (default: 2.00)'],
    apply: (s, v) => {
      const factor = decimal(needs(v, 'Missing warm_max_factor argument'), '-o warm_max_factor');
      if (factor <= 0) throw new UsageError('warm_max_factor must be > 0');
      s.flagConfig.set('warm_max_factor', String(factor));
    },
  },
  {
    name: 'temporary_ttl', help: [`TTL's below get separate LRU, can't be evicted.`, '(requires lru_maintainer, default: 61)'],
    apply: (s, v) => {
      s.temporaryTtl = wholeNumber(needs(v, 'Missing temporary_ttl argument'), '-o temporary_ttl', 0, UINT_MAX);
      s.tempLru = true;
    },
  },
  {
    name: 'idle_timeout', help: ['timeout for idle connections. (default: 0, no timeout)'],
    apply: (s, v) => {
      s.idleTimeout = wholeNumber(needs(v, 'Missing numeric argument for idle_timeout'), '-o idle_timeout', 0, INT_MAX);
    },
  },
  {
    name: 'watcher_logbuf_size', help: ['size in kilobytes of per-watcher write buffer. (default: 256)'],
    apply: (s, v) => {
      s.watcherLogbufSize = strtoul(needs(v, 'Missing watcher_logbuf_size argument'), 'watcher_logbuf_size') * KILOBYTE;
    },
  },
  {
    name: 'worker_logbuf_size',
    help: ['size in kilobytes of per-worker-thread buffer', 'read by background thread, then written to watchers. (default: 64)'],
    apply: (s, v) => {
      s.workerLogbufSize = strtoul(needs(v, 'Missing worker_logbuf_size argument'), 'worker_logbuf_size') * KILOBYTE;
    },
  },
  {
    name: 'slab_sizes',
    apply: (s, v) => {
      s.slabSizes = needs(v, 'Missing slab_sizes argument');
      if (s.slabSizes === '') throw new UsageError('Missing slab_sizes argument');
    },
  },
  {
    name: 'slab_chunk_max',
    help: ['(EXPERIMENTAL) maximum slab size in bytes. use extreme care. (default: 524288)'],
    apply: (s, v, state) => {
      const value = needs(v, 'Missing slab_chunk_max argument');
      if (!/^\d+$/.test(value) || Number(value) === 0 || Number(value) > INT_MAX) {
        throw new UsageError('could not parse argument to slab_chunk_max');
      }
      setSlabChunkMax(s, Number(value));
      state.slabChunkMaxGiven = true;
    },
  },
  {
    name: 'track_sizes', help: [`enable dynamic reports for 'stats sizes' command.`],
    apply: (s) => { s.flagConfig.set('track_sizes', 'true'); },
  },
  { name: 'no_inline_ascii_resp', apply: () => {} },
  {
    name: 'modern', help: ['enables options which will be default in future.', 'currently: nothing'],
    apply: () => {},
  },
  {
    name: 'no_modern', help: ['uses defaults of previous major version (1.4.x)'],
    apply: (s, _v, state) => {
      if (!state.slabChunkMaxGiven) setSlabChunkMax(s, SLAB_PAGE_SIZE);
      s.slabReassign = false;
      s.slabAutomove = 0;
      s.maxconnsFast = false;
      s.lruSegmented = false;
      s.hashAlgorithm = 'jenkins';
      s.lruCrawler = false;
      s.lruMaintainer = false;
    },
  },
  { name: 'no_chunked_items', apply: (s) => { setSlabChunkMax(s, SLAB_PAGE_SIZE); } },
  { name: 'no_slab_reassign', apply: (s) => { s.slabReassign = false; } },
  { name: 'no_slab_automove', apply: (s) => { s.slabAutomove = 0; } },
  { name: 'no_maxconns_fast', apply: (s) => { s.maxconnsFast = false; } },
  { name: 'inline_ascii_resp', apply: () => {} },
  { name: 'no_lru_crawler', help: ['disable LRU Crawler background thread.'], apply: (s) => { s.lruCrawler = false; } },
  {
    name: 'no_lru_maintainer', help: ['disable new LRU system + background thread.'],
    apply: (s) => {
      s.lruMaintainer = false;
      s.lruSegmented = false;
    },
  },
  { name: 'no_drop_privileges', apply: (s) => { s.dropPrivileges = false; } },
  { name: 'drop_privileges', apply: (s) => { s.dropPrivileges = true; } },
  {
    name: 'resp_obj_mem_limit',
    apply: (s) => { s.warnings.push('DEPRECATED: resp_obj_mem_limit no longer used. See read_buf_mem_limit,'); },
  },
  {
    name: 'read_buf_mem_limit',
    help: ['limit in megabytes for connection read/response buffers.', 'do not adjust unless you have high (20k+) conn. limits.', '0 means unlimited (default: 0)'],
    apply: (s, v) => {
      s.readBufMemLimit = strtoul(needs(v, 'Missing read_buf_mem_limit argument'), 'read_buf_mem_limit') * MEGABYTE;
    },
  },
  {
    name: 'sock_cookie_id', help: ['attributes an ID to a socket for ip filtering/firewalls'],
    apply: (s, v) => {
      s.sockCookieId = wholeNumber(needs(v, 'Missing sock_cookie_id argument'), '-o sock_cookie_id', 0, UINT_MAX);
    },
  },
];

/** The order memcached's -h lists the suboptions in (its table order differs). */
const SUBOPTION_HELP_ORDER: readonly string[] = [
  'maxconns_fast', 'hashpower', 'tail_repair_time', 'hash_algorithm', 'no_lru_crawler', 'lru_crawler_sleep',
  'lru_crawler_tocrawl', 'read_buf_mem_limit', 'no_lru_maintainer', 'hot_lru_pct', 'warm_lru_pct', 'hot_max_factor',
  'warm_max_factor', 'temporary_ttl', 'idle_timeout', 'slab_chunk_max', 'watcher_logbuf_size', 'worker_logbuf_size',
  'track_sizes', 'no_hashexpand', 'modern', 'no_modern', 'sock_cookie_id',
];

/**
 * -o's comma separated entries, as getsubopt reads them: 'name' or 'name=value', the name matched
 * exactly; a value where none is wanted is ignored; an empty entry (',,') is illegal but one
 * trailing comma is not. Every entry is also recorded in settings.extended.
 */
function applyExtended(s: Settings, text: string, state: ParseState): void {
  const entries = text.split(',');
  if (entries[entries.length - 1] === '') entries.pop();
  for (const entry of entries) {
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    const value = eq < 0 ? undefined : entry.slice(eq + 1);
    const sub = SUBOPTIONS.find((o) => o.name === name);
    if (sub === undefined || entry === '') throw new UsageError(`Illegal suboption "${entry}"`);
    sub.apply(s, value, state);
    s.extended.set(name, value ?? '');
  }
}

// -h ------------------------------------------------------------------------------------------------

/** memcached's usage() puts the text in column 26; longer names push it one space right. */
const HELP_COLUMN = 26;

function helpLines(names: string, text: readonly string[], indent = ''): string[] {
  const first = `${indent}${names}`;
  const lead = first.length < HELP_COLUMN ? first.padEnd(HELP_COLUMN) : `${first} `;
  return [`${lead}${text[0] ?? ''}`.trimEnd(), ...text.slice(1).map((line) => `${' '.repeat(HELP_COLUMN)}${line}`)];
}

function optionNames(o: OptionSpec): string {
  if (o.names !== undefined) return o.names;
  const value = o.arg === undefined ? '' : `=${o.arg}`;
  return o.short === undefined ? `    --${o.long}${value}` : `-${o.short}, --${o.long}${value}`;
}

/** The -h text in memcached 1.6.18's layout: a version line, then one entry an option. */
export function usage(program: string, version: string): string {
  const lines = [`${program} ${version}`];
  for (const o of OPTIONS) {
    if (o.help === undefined) continue;
    lines.push(...helpLines(optionNames(o), o.help));
    if (o.short !== 'o') continue;
    for (const name of SUBOPTION_HELP_ORDER) {
      const sub = SUBOPTIONS.find((x) => x.name === name)!;
      lines.push(...helpLines(`${name}:`, sub.help ?? [], '   - '));
    }
  }
  return `${lines.join('\n')}\n`;
}

// stats settings ------------------------------------------------------------------------------------

/**
 * memcached 1.6.18's `stats settings` names in its order (a build with extstore and TLS, as the
 * reference server). The server merges its own lines (reportSettingsStats) with the engine's
 * (maxbytes, evictions, growth_factor, chunk_size, cas_enabled, item_size_max, hashpower_init,
 * slab_chunk_max, hash_algorithm, lru_segmented, hot_lru_pct, warm_lru_pct, track_sizes) in it.
 * `oldest` is neither's: it is flush_all's time, kept by whoever runs flush_all.
 */
export const SETTINGS_STATS_ORDER: readonly string[] = [
  'maxbytes', 'maxconns', 'tcpport', 'udpport', 'inter', 'verbosity', 'oldest', 'evictions', 'domain_socket',
  'umask', 'shutdown_command', 'growth_factor', 'chunk_size', 'num_threads', 'num_threads_per_udp',
  'stat_key_prefix', 'detail_enabled', 'reqs_per_event', 'cas_enabled', 'tcp_backlog', 'binding_protocol',
  'auth_enabled_sasl', 'auth_enabled_ascii', 'item_size_max', 'maxconns_fast', 'hashpower_init', 'slab_reassign',
  'slab_automove', 'slab_automove_ratio', 'slab_automove_window', 'slab_chunk_max', 'lru_crawler',
  'lru_crawler_sleep', 'lru_crawler_tocrawl', 'tail_repair_time', 'flush_enabled', 'dump_enabled',
  'hash_algorithm', 'lru_maintainer_thread', 'lru_segmented', 'hot_lru_pct', 'warm_lru_pct', 'hot_max_factor',
  'warm_max_factor', 'temp_lru', 'temporary_ttl', 'idle_timeout', 'watcher_logbuf_size', 'worker_logbuf_size',
  'read_buf_mem_limit', 'track_sizes', 'inline_ascii_response', 'ext_item_size', 'ext_item_age', 'ext_low_ttl',
  'ext_recache_rate', 'ext_wbuf_size', 'ext_compact_under', 'ext_drop_under', 'ext_max_sleep', 'ext_max_frag',
  'slab_automove_freeratio', 'ext_drop_unread', 'ssl_enabled', 'ssl_chain_cert', 'ssl_key', 'ssl_verify_mode',
  'ssl_keyformat', 'ssl_ciphers', 'ssl_ca_cert', 'ssl_wbuf_size', 'ssl_session_cache', 'ssl_kernel_tls',
  'ssl_min_version', 'num_napi_ids', 'memory_file',
];

/**
 * extstore's and TLS's lines at memcached's defaults: wasmcached has neither, so they never change,
 * but a client comparing with memcached 1.6.18 (built with both, as Debian's is) finds them.
 */
const EXTSTORE_AND_TLS_DEFAULTS: readonly (readonly [string, string])[] = [
  ['ext_item_size', '512'], ['ext_item_age', String(UINT_MAX)], ['ext_low_ttl', '0'], ['ext_recache_rate', '2000'],
  ['ext_wbuf_size', String(4 * MEGABYTE)], ['ext_compact_under', '0'], ['ext_drop_under', '0'],
  ['ext_max_sleep', '1000000'], ['ext_max_frag', '0.80'], ['slab_automove_freeratio', '0.010'],
  ['ext_drop_unread', 'no'], ['ssl_enabled', 'no'], ['ssl_chain_cert', '(null)'], ['ssl_key', '(null)'],
  ['ssl_verify_mode', '0'], ['ssl_keyformat', '1'], ['ssl_ciphers', 'NULL'], ['ssl_ca_cert', 'NULL'],
  ['ssl_wbuf_size', String(16 * KILOBYTE)], ['ssl_session_cache', 'no'], ['ssl_kernel_tls', 'no'],
  ['ssl_min_version', 'tlsv1.2'],
];

const PROTOCOL_TEXT: Record<BindingProtocol, string> = { auto: 'auto-negotiate', ascii: 'ascii', binary: 'binary' };

/**
 * The server's lines of `stats settings`, in memcached's order and value formats (process_stat_settings):
 * %o for umask, %.2f for the factors, "NULL" or glibc's "(null)" where memcached prints a null string.
 */
export function reportSettingsStats(settings: Settings, add: (key: string, value: string) => void): void {
  const s = settings;
  const yesNo = (on: boolean): string => (on ? 'yes' : 'no');
  add('maxconns', String(s.connLimit));
  add('tcpport', String(s.port));
  add('udpport', String(s.udpPort));
  add('inter', s.listen.length === 0 ? 'NULL' : s.listen.join(','));
  add('verbosity', String(s.verbose));
  add('domain_socket', s.socketPath === '' ? 'NULL' : s.socketPath);
  add('umask', s.socketMask.toString(8));
  add('shutdown_command', yesNo(s.enableShutdown));
  add('num_threads', String(s.threads));
  // memcached serves each UDP port from one thread when it listens on several addresses.
  add('num_threads_per_udp', String(s.listen.length > 1 ? 1 : s.threads));
  add('stat_key_prefix', s.statPrefix);
  add('detail_enabled', yesNo(s.detailEnabled));
  add('reqs_per_event', String(s.reqsPerEvent));
  add('tcp_backlog', String(s.backlog));
  add('binding_protocol', PROTOCOL_TEXT[s.bindingProtocol]);
  add('auth_enabled_sasl', yesNo(s.sasl));
  add('auth_enabled_ascii', s.authFile === '' ? 'no' : s.authFile);
  add('maxconns_fast', yesNo(s.maxconnsFast));
  add('slab_reassign', yesNo(s.slabReassign));
  add('slab_automove', String(s.slabAutomove));
  add('slab_automove_ratio', cFixed(s.slabAutomoveRatio, 2));
  add('slab_automove_window', String(s.slabAutomoveWindow));
  add('lru_crawler', yesNo(s.lruCrawler));
  add('lru_crawler_sleep', String(s.lruCrawlerSleep));
  add('lru_crawler_tocrawl', String(s.lruCrawlerTocrawl));
  add('tail_repair_time', String(s.tailRepairTime));
  add('flush_enabled', yesNo(s.flushEnabled));
  add('dump_enabled', yesNo(s.dumpEnabled));
  add('lru_maintainer_thread', yesNo(s.lruMaintainer));
  add('temp_lru', yesNo(s.tempLru));
  add('temporary_ttl', String(s.temporaryTtl));
  add('idle_timeout', String(s.idleTimeout));
  add('watcher_logbuf_size', String(s.watcherLogbufSize));
  add('worker_logbuf_size', String(s.workerLogbufSize));
  add('read_buf_mem_limit', String(s.readBufMemLimit));
  add('inline_ascii_response', 'no'); // a dead setting in 1.6: always no
  for (const [key, value] of EXTSTORE_AND_TLS_DEFAULTS) add(key, value);
  add('num_napi_ids', s.napiIds === 0 ? '(null)' : String(s.napiIds));
  add('memory_file', s.memoryFile === '' ? '(null)' : s.memoryFile);
}

// numbers -------------------------------------------------------------------------------------------

/** A whole number in [min, max], or a UsageError naming the option (numbers are parsed strictly). */
function wholeNumber(value: string, as: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${as}: expected a whole number, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${as}: expected a number from ${min} to ${max}, got '${value}'`);
  return n;
}

/** A non-negative decimal number such as 1.25 or .5 (what atof reads, strictly). */
function decimal(value: string, as: string): number {
  if (!/^(\d+(\.\d*)?|\.\d+)$/.test(value)) throw new UsageError(`${as}: expected a number, got '${value}'`);
  return Number(value);
}
