// Engine configuration: one 'key=value;key=value' string, as memcached's engine branch passed to
// initialize(), and a reader that types the values and reports keys nobody asked for.

export type EngineConfig = ReadonlyMap<string, string>;

/** Parses 'a=1;b=two'. Empty entries are ignored; an entry without '=' is an error. */
export function parseEngineConfig(text: string): Map<string, string> {
  const config = new Map<string, string>();
  for (const raw of text.split(';')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const eq = entry.indexOf('=');
    if (eq <= 0) throw new Error(`bad engine config entry '${entry}': expected key=value`);
    config.set(entry.slice(0, eq).trim(), entry.slice(eq + 1).trim());
  }
  return config;
}

/** The inverse of parseEngineConfig, in insertion order. */
export function formatEngineConfig(config: EngineConfig): string {
  return [...config].map(([k, v]) => `${k}=${v}`).join(';');
}

/**
 * Reads typed values out of an EngineConfig. Each read marks its key as known; after reading,
 * `errors()` lists malformed values and keys no read asked for (an unknown key is an error).
 */
export class ConfigReader {
  private readonly seen = new Set<string>();
  private readonly problems: string[] = [];

  constructor(private readonly config: EngineConfig) {}

  /** Whether the config names `key` (whatever its value). */
  given(key: string): boolean {
    return this.config.has(key);
  }

  string(key: string, fallback: string): string {
    this.seen.add(key);
    return this.config.get(key) ?? fallback;
  }

  /** An integer; accepts k/m/g suffixes (powers of 1024) as memcached's -m and -I do. */
  size(key: string, fallback: number, min: number, max: number): number {
    const raw = this.raw(key);
    if (raw === undefined) return fallback;
    const m = /^(\d+)([kmgKMG]?)$/.exec(raw);
    if (m === null) return this.bad(key, raw, fallback, 'a whole number');
    const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2]!.toLowerCase()] ?? 1;
    return this.inRange(key, raw, Number(m[1]) * unit, min, max, fallback);
  }

  integer(key: string, fallback: number, min: number, max: number): number {
    const raw = this.raw(key);
    if (raw === undefined) return fallback;
    if (!/^-?\d+$/.test(raw)) return this.bad(key, raw, fallback, 'a whole number');
    return this.inRange(key, raw, Number(raw), min, max, fallback);
  }

  number(key: string, fallback: number, min: number, max: number): number {
    const raw = this.raw(key);
    if (raw === undefined) return fallback;
    if (!/^\d+(\.\d+)?(e[+-]?\d+)?$/i.test(raw)) return this.bad(key, raw, fallback, 'a number');
    return this.inRange(key, raw, Number(raw), min, max, fallback);
  }

  boolean(key: string, fallback: boolean): boolean {
    const raw = this.raw(key);
    if (raw === undefined) return fallback;
    if (raw === 'true' || raw === '1' || raw === 'yes') return true;
    if (raw === 'false' || raw === '0' || raw === 'no') return false;
    return this.bad(key, raw, fallback, 'true or false');
  }

  /** Records a problem that involves more than one key. */
  reject(message: string): void {
    this.problems.push(message);
  }

  /** Problems found so far, including every key that no read asked for. */
  errors(): string[] {
    const unknown = [...this.config.keys()].filter((k) => !this.seen.has(k));
    return [...this.problems, ...unknown.map((k) => `unknown engine config key '${k}'`)];
  }

  private raw(key: string): string | undefined {
    this.seen.add(key);
    return this.config.get(key);
  }

  private inRange<T extends number>(key: string, raw: string, value: T, min: number, max: number, fallback: T): T {
    if (value < min || value > max) return this.bad(key, raw, fallback, `between ${min} and ${max}`);
    return value;
  }

  private bad<T>(key: string, raw: string, fallback: T, expected: string): T {
    this.problems.push(`engine config ${key}=${raw}: expected ${expected}`);
    return fallback;
  }
}

/**
 * The settings every memcached-like engine reads, under default_engine's key names, with
 * memcached 1.6's defaults. The command line maps -m -M -f -n -I -C onto these keys.
 */
export interface CacheSettings {
  /** -m: bytes of item memory (cache_size). */
  cacheSize: number;
  /** -M inverted: evict when memory is full (eviction). */
  eviction: boolean;
  /** -f: slab class growth factor (factor). */
  factor: number;
  /** -n: minimum space for key, value and flags in the smallest class (chunk_size). */
  chunkSize: number;
  /** -I: largest item, header included (item_size_max). */
  itemSizeMax: number;
  /** Slab page size: memory is handed to classes one page at a time (slab_page_size). */
  slabPageSize: number;
  /** Largest slab chunk; larger items are chained over chunks of this size (slab_chunk_max). */
  slabChunkMax: number;
  /** -C inverted: keep a CAS value per item (use_cas). */
  useCas: boolean;
  /** -o hashpower: initial hash table size, log2 (hashpower). */
  hashpower: number;
  /** The hashpower given in the config, 0 when it was not (memcached's hashpower_init). */
  hashpowerInit: number;
  /** Percent of a class's bytes the HOT and WARM segments may hold (hot_lru_pct, warm_lru_pct). */
  hotLruPct: number;
  warmLruPct: number;
  /**
   * The HOT and WARM segments' age limits as a share of COLD's tail age (hot_max_factor,
   * warm_max_factor): older items go to COLD when the maintainer juggles.
   */
  hotMaxFactor: number;
  warmMaxFactor: number;
  /**
   * lru_segmented: HOT, WARM and COLD (memcached 1.5's LRU, the default); false is the flat LRU of
   * memcached 1.4 (`-o no_lru_maintainer`, `lru mode flat`): items live in COLD alone and a hit
   * moves an item to the head at most once a minute.
   */
  lruSegmented: boolean;
  /**
   * lru_maintainer: whether the server runs the LRU maintainer (memcached's lru_maintainer_thread,
   * `-o no_lru_maintainer` turns it off). memcached's `stats` and `stats items` show the
   * maintainer's counters (moves, hits per segment, evicted_active, ...) only while it runs.
   */
  lruMaintainer: boolean;
}

/**
 * The settings memcached lets a client change while it runs (`lru tune`, `lru mode`,
 * `cache_memlimit`); EngineHandle.tune takes some of them.
 */
export type TunableSettings = Pick<CacheSettings, 'hotLruPct' | 'warmLruPct' | 'hotMaxFactor' | 'warmMaxFactor' | 'lruSegmented' | 'cacheSize'>;

export const MEGABYTE = 1024 * 1024;

export function readCacheSettings(reader: ConfigReader): CacheSettings {
  const slabPageSize = reader.size('slab_page_size', MEGABYTE, 1024, 1024 * MEGABYTE);
  const itemSizeMax = reader.size('item_size_max', MEGABYTE, 1024, 1024 * MEGABYTE);
  const settings: CacheSettings = {
    cacheSize: reader.size('cache_size', 64 * MEGABYTE, 0, 4096 * MEGABYTE),
    eviction: reader.boolean('eviction', true),
    factor: reader.number('factor', 1.25, 1.0001, 100),
    chunkSize: reader.integer('chunk_size', 48, 1, 1024 * 1024),
    itemSizeMax,
    slabPageSize,
    slabChunkMax: reader.size('slab_chunk_max', slabPageSize / 2, 1024, slabPageSize),
    useCas: reader.boolean('use_cas', true),
    hashpower: reader.integer('hashpower', 16, 12, 32),
    hashpowerInit: 0,
    hotLruPct: reader.integer('hot_lru_pct', 20, 1, 80),
    warmLruPct: reader.integer('warm_lru_pct', 40, 1, 80),
    hotMaxFactor: reader.number('hot_max_factor', 0.2, Number.MIN_VALUE, Number.MAX_VALUE),
    warmMaxFactor: reader.number('warm_max_factor', 2.0, Number.MIN_VALUE, Number.MAX_VALUE),
    lruSegmented: reader.boolean('lru_segmented', true),
    lruMaintainer: reader.boolean('lru_maintainer', true),
  };
  if (reader.given('hashpower')) settings.hashpowerInit = settings.hashpower;
  if (settings.hotLruPct + settings.warmLruPct > 80) {
    reader.reject('engine config hot_lru_pct + warm_lru_pct must not exceed 80');
  }
  if (settings.itemSizeMax > settings.cacheSize / 2 && settings.cacheSize > 0) {
    reader.reject('engine config item_size_max must not exceed half of cache_size');
  }
  return settings;
}

/**
 * Writes `change` into `settings` if every value in it is within bounds (percents that sum to at
 * most 80, factors not at or below 0, a new cache_size from 8 MB to `maxCacheSize`); false, and nothing
 * written, otherwise. For EngineHandle.tune.
 */
export function tuneSettings(settings: CacheSettings, change: Partial<TunableSettings>, maxCacheSize: number): boolean {
  const next: CacheSettings = { ...settings, ...change };
  const percent = (n: number): boolean => Number.isInteger(n) && n >= 0 && n <= 80;
  // memcached refuses a factor <= 0 only: inf and nan are taken (see ageLimit in the engines).
  const factor = (n: number): boolean => !(n <= 0);
  const ok = percent(next.hotLruPct) && percent(next.warmLruPct) && next.hotLruPct + next.warmLruPct <= 80
    && factor(next.hotMaxFactor) && factor(next.warmMaxFactor)
    && (change.cacheSize === undefined
      || (Number.isInteger(change.cacheSize) && change.cacheSize >= MEMLIMIT_MIN && change.cacheSize <= maxCacheSize));
  if (ok) Object.assign(settings, next);
  return ok;
}

/** The slab pages a memory limit allows (memcached's mem_limit over the page size): at least one. */
export function slabPages(cacheSize: number, slabPageSize: number): number {
  return Math.max(1, Math.floor(cacheSize / slabPageSize));
}

/** The smallest memory limit memcached's cache_memlimit takes: 8 MB. */
export const MEMLIMIT_MIN = 8 * MEGABYTE;
