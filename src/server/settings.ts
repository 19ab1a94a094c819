// The command line: memcached's flags parsed into Settings, and the engine config they imply.
// cf. memcached.c main() (getopt_long over the same letters and long names) and the engine
// branch's "old options", where -m -M -f -n -I -C became 'cache_size=...;eviction=false;...'.

import { parseEngineConfig } from '../engine/config.ts';

export const DEFAULT_ENGINE = 'wasm';

export interface Settings {
  /** -E: a built-in engine name, a module path, or a package. */
  engine: string;
  /** --engine-config: 'key=value;...' as given (repeats are joined with ';'). */
  engineConfig: string;
  /** Engine config entries implied by -m -M -f -n -I -C -o, in command-line order. */
  flagConfig: Map<string, string>;
  /** Count of -v. */
  verbose: number;
  /** -p, -l, -c: read now, used by the network server. */
  port: number;
  listen: string;
  connLimit: number;
  help: boolean;
  version: boolean;
  /** --check-config: load and initialize the engine, then exit 0. */
  checkConfig: boolean;
}

/** A command line that cannot be followed; the message says why. */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function defaultSettings(): Settings {
  return {
    engine: DEFAULT_ENGINE,
    engineConfig: '',
    flagConfig: new Map(),
    verbose: 0,
    port: 11211,
    listen: '',
    connLimit: 1024,
    help: false,
    version: false,
    checkConfig: false,
  };
}

interface OptionSpec {
  short?: string;
  long: string;
  /** The value's placeholder in the usage text; absent for a flag without a value. */
  arg?: string;
  help: string;
  apply(settings: Settings, value: string, as: string): void;
}

const MEGABYTE = 1024 * 1024;

/** memcached's flags, in the order `memcached -h` lists them; the usage text is made from this. */
const OPTIONS: readonly OptionSpec[] = [
  {
    short: 'p', long: 'port', arg: '<num>', help: 'TCP port to listen on (default: 11211)',
    apply: (s, v, as) => { s.port = wholeNumber(v, as, 0, 65535); },
  },
  {
    short: 'l', long: 'listen', arg: '<addr>', help: 'interface to listen on (default: all addresses)',
    apply: (s, v) => { s.listen = v; },
  },
  {
    short: 'c', long: 'conn-limit', arg: '<num>', help: 'max simultaneous connections (default: 1024)',
    apply: (s, v, as) => { s.connLimit = wholeNumber(v, as, 1, 2 ** 31 - 1); },
  },
  {
    short: 'm', long: 'memory-limit', arg: '<num>', help: 'item memory in megabytes (default: 64)',
    apply: (s, v, as) => { s.flagConfig.set('cache_size', String(wholeNumber(v, as, 0, 2 ** 31) * MEGABYTE)); },
  },
  {
    short: 'M', long: 'disable-evictions', help: 'return error on memory exhausted instead of evicting',
    apply: (s) => { s.flagConfig.set('eviction', 'false'); },
  },
  {
    short: 'f', long: 'slab-growth-factor', arg: '<factor>', help: 'chunk size growth factor (default: 1.25)',
    apply: (s, v, as) => {
      if (!/^\d+(\.\d+)?$/.test(v) || Number(v) <= 1) throw new UsageError(`${as}: factor must be greater than 1, got '${v}'`);
      s.flagConfig.set('factor', v);
    },
  },
  {
    short: 'n', long: 'slab-min-size', arg: '<bytes>', help: 'min space used for key+value+flags (default: 48)',
    apply: (s, v, as) => { s.flagConfig.set('chunk_size', String(wholeNumber(v, as, 1, MEGABYTE))); },
  },
  {
    short: 'I', long: 'max-item-size', arg: '<size>', help: 'max item size, k or m suffix allowed (default: 1m)',
    apply: (s, v, as) => { s.flagConfig.set('item_size_max', String(parseItemSize(v, as))); },
  },
  {
    short: 'C', long: 'disable-cas', help: 'disable use of CAS',
    apply: (s) => { s.flagConfig.set('use_cas', 'false'); },
  },
  {
    short: 'o', long: 'extended', arg: '<opts>',
    help: 'comma separated: hashpower=<n>, hot_lru_pct=<n>, warm_lru_pct=<n>, track_sizes',
    apply: (s, v, as) => { applyExtended(s.flagConfig, v, as); },
  },
  {
    short: 'E', long: 'engine', arg: '<engine>', help: `'wasm' (default), 'ts', or a module path or package`,
    apply: (s, v) => { s.engine = v; },
  },
  {
    long: 'engine-config', arg: '<config>', help: `engine settings 'key=value;key=value' (-e stays memcached's memory file)`,
    apply: (s, v) => { s.engineConfig = s.engineConfig === '' ? v : `${s.engineConfig};${v}`; },
  },
  {
    long: 'check-config', help: 'load and initialize the engine, then exit (0 when it accepts the config)',
    apply: (s) => { s.checkConfig = true; },
  },
  {
    short: 'v', long: 'verbose', help: 'verbose (-vv very verbose, -vvv extremely verbose)',
    apply: (s) => { s.verbose += 1; },
  },
  { short: 'h', long: 'help', help: 'print this help and exit', apply: (s) => { s.help = true; } },
  { short: 'V', long: 'version', help: 'print version and exit', apply: (s) => { s.version = true; } },
];

/** Parses argv as getopt_long does: -vv, -m64, -m 64, --memory-limit=64, --memory-limit 64, --. */
export function parseSettings(argv: readonly string[]): Settings {
  const settings = defaultSettings();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      if (i + 1 < argv.length) throw new UsageError(`unexpected argument '${argv[i + 1]}'`);
      break;
    }
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      const name = eq < 0 ? arg.slice(2) : arg.slice(2, eq);
      const spec = OPTIONS.find((o) => o.long === name);
      if (spec === undefined) throw new UsageError(`unknown option '--${name}'`);
      if (spec.arg === undefined) {
        if (eq >= 0) throw new UsageError(`option '--${name}' takes no value`);
        spec.apply(settings, '', `--${name}`);
      } else if (eq >= 0) {
        spec.apply(settings, arg.slice(eq + 1), `--${name}`);
      } else {
        if (i + 1 >= argv.length) throw new UsageError(`option '--${name}' requires a value ${spec.arg}`);
        spec.apply(settings, argv[++i]!, `--${name}`);
      }
      continue;
    }
    if (!arg.startsWith('-') || arg === '-') throw new UsageError(`unexpected argument '${arg}'`);
    for (let j = 1; j < arg.length; j++) {
      const letter = arg[j]!;
      const spec = OPTIONS.find((o) => o.short === letter);
      if (spec === undefined) throw new UsageError(`unknown option '-${letter}'`);
      if (spec.arg === undefined) {
        spec.apply(settings, '', `-${letter}`);
        continue;
      }
      let value = arg.slice(j + 1);
      if (value === '') {
        if (i + 1 >= argv.length) throw new UsageError(`option '-${letter}' requires a value ${spec.arg}`);
        value = argv[++i]!;
      }
      spec.apply(settings, value, `-${letter}`);
      break;
    }
  }
  return settings;
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
  for (const [key, value] of parseEngineConfig(settings.engineConfig)) {
    config.delete(key);
    config.set(key, value);
  }
  return config;
}

/** The -h text, in memcached's shape: one line per option. */
export function usage(program: string, version: string): string {
  const lines = OPTIONS.map((o) => {
    const names = `${o.short === undefined ? '    ' : `-${o.short}, `}--${o.long}${o.arg === undefined ? '' : `=${o.arg}`}`;
    return `${names.padEnd(36)} ${o.help}`;
  });
  return `${program} ${version}\n${lines.join('\n')}\n`;
}

/** -I's value: bytes, or a whole number with a k or m suffix (memcached's -I), in bytes. */
export function parseItemSize(value: string, as = '-I'): number {
  const m = /^(\d+)([kKmM]?)$/.exec(value);
  if (m === null) throw new UsageError(`${as}: expected a size in bytes with an optional k or m suffix, got '${value}'`);
  const unit = m[2] === '' ? 1 : m[2]!.toLowerCase() === 'k' ? 1024 : MEGABYTE;
  return Number(m[1]) * unit;
}

/** -o's memcached sub-options that have an engine config key; any other is an error. */
function applyExtended(config: Map<string, string>, value: string, as: string): void {
  for (const entry of value.split(',')) {
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    const name = eq < 0 ? entry : entry.slice(0, eq);
    const arg = eq < 0 ? undefined : entry.slice(eq + 1);
    switch (name) {
      case 'hashpower':
      case 'hot_lru_pct':
      case 'warm_lru_pct':
        if (arg === undefined) throw new UsageError(`${as} ${name}: requires a value`);
        config.set(name, String(wholeNumber(arg, `${as} ${name}`, 0, 2 ** 31 - 1)));
        break;
      case 'track_sizes':
        config.set('track_sizes', 'true');
        break;
      default:
        throw new UsageError(`${as}: illegal suboption '${entry}'`);
    }
  }
}

function wholeNumber(value: string, as: string, min: number, max: number): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`${as}: expected a whole number, got '${value}'`);
  const n = Number(value);
  if (n < min || n > max) throw new UsageError(`${as}: expected a number from ${min} to ${max}, got '${value}'`);
  return n;
}
