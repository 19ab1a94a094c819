// A third-party engine in one plain JavaScript file: items in a Map, least recently used first,
// evicted from the front when cache_size is reached. It follows src/engine/types.ts (the one
// file a third party reads) without importing it, as a separately published engine would.
// It leaves out the optional `cachedump` (it has no slab classes), so `stats cachedump` lists no items.
// Run it:  wasmcached -E ./examples/engine/map-engine.js -e 'cache_size=16m'

/** @typedef {import('../../src/engine/types.ts').EngineHandle} EngineHandle */
/** @typedef {import('../../src/engine/types.ts').ServerApi} ServerApi */

// engine.h's status codes and store operations (src/engine/status.ts): numbers cross the seam.
const SUCCESS = 0x00;
const KEY_ENOENT = 0x01;
const KEY_EEXISTS = 0x02;
const ENOMEM = 0x03;
const NOT_STORED = 0x04;
const EINVAL = 0x05;
const ENOTSUP = 0x06;
const E2BIG = 0x08;

const ADD = 1;
const SET = 2;
const REPLACE = 3;
const APPEND = 4;
const PREPEND = 5;
const CAS = 6;

// Option bits and marks of the meta commands (GetCount, ItemMark, RemoveOption, StoreOption).
const COUNT_GET = 0;
const COUNT_TOUCH = 1;
const MARK_WIN_SENT = 1;
const MARK_KEY_BINARY = 2;
const REMOVE_COMPARE_CAS = 1;
const REMOVE_INVALIDATE = 2;
const REMOVE_SET_EXPTIME = 4;
const STORE_INVALIDATE = 1;

const INTERFACE_VERSION = 1;
/** What one item costs beyond its key and value bytes, roughly: the object, its views, the Map entry. */
const ITEM_OVERHEAD = 160;
const U64_MAX = (1n << 64n) - 1n;
const MEGABYTE = 1024 * 1024;

/** Slab settings the server may pass (-f -n -o ...); this engine has no slabs and ignores them. */
const IGNORED_KEYS = new Set([
  'factor', 'chunk_size', 'hashpower', 'slab_page_size', 'slab_chunk_max',
  'hot_lru_pct', 'warm_lru_pct', 'track_sizes',
]);

const COUNTERS = [
  'cmd_set', 'get_hits', 'get_misses', 'get_expired', 'get_flushed', 'delete_misses', 'delete_hits',
  'incr_misses', 'incr_hits', 'decr_misses', 'decr_hits', 'cas_misses', 'cas_hits', 'cas_badval',
  'touch_hits', 'touch_misses', 'store_too_large', 'store_no_memory', 'total_items', 'evictions',
];

/**
 * memcached's create_instance: an engine for interface version 1, or ENOTSUP.
 * @param {number} interfaceVersion
 * @param {() => ServerApi} getServerApi
 * @returns {EngineHandle | number}
 */
export function createInstance(interfaceVersion, getServerApi) {
  if (interfaceVersion !== INTERFACE_VERSION) return ENOTSUP;
  return new MapEngine(getServerApi());
}

/** The key's bytes as a string, one char per byte (latin1 is byte-exact), to key the Map. */
function keyString(key) {
  return Buffer.from(key.buffer, key.byteOffset, key.byteLength).toString('latin1');
}

class MapEngine {
  interfaceVersion = INTERFACE_VERSION;

  /** @param {ServerApi} api */
  constructor(api) {
    this.api = api;
    this.core = api.core;
    this.cacheSize = 64 * MEGABYTE;
    this.eviction = true;
    this.itemSizeMax = MEGABYTE;
    this.useCas = true;
    /** Linked items by key string; Map order is LRU order, oldest first. */
    this.index = new Map();
    /** Items some caller holds, by handle (the item's id). */
    this.held = new Map();
    this.nextId = 1;
    this.casCounter = 0n;
    this.oldestLive = 0;
    this.oldestCas = 0n;
    this.bytes = 0;
    this.stats = {};
    this.resetStats();
  }

  getInfo() {
    return { description: 'Map engine (example): a JavaScript Map with LRU eviction', features: ['lru', 'cas'] };
  }

  initialize(config) {
    let ok = true;
    const fail = (message) => {
      this.api.log('warning', message);
      ok = false;
    };
    for (const [key, value] of config) {
      switch (key) {
        case 'cache_size':
        case 'item_size_max': {
          const m = /^(\d+)([kmg]?)$/i.exec(value);
          if (m === null) fail(`engine config ${key}=${value}: expected a size`);
          else {
            const bytes = Number(m[1]) * ({ '': 1, k: 1024, m: MEGABYTE, g: 1024 * MEGABYTE }[m[2].toLowerCase()]);
            if (key === 'cache_size') this.cacheSize = bytes;
            else this.itemSizeMax = bytes;
          }
          break;
        }
        case 'eviction':
        case 'use_cas': {
          const on = value === 'true' || value === '1' || value === 'yes';
          if (!on && value !== 'false' && value !== '0' && value !== 'no') fail(`engine config ${key}=${value}: expected true or false`);
          else if (key === 'eviction') this.eviction = on;
          else this.useCas = on;
          break;
        }
        default:
          if (!IGNORED_KEYS.has(key)) fail(`unknown engine config key '${key}'`);
      }
    }
    if (ok) this.api.log('info', `map engine: cache_size ${this.cacheSize}, item_size_max ${this.itemSizeMax}`);
    return ok ? SUCCESS : EINVAL;
  }

  destroy() {
    this.index.clear();
    this.held.clear();
  }

  allocate(key, nbytes, flags, exptime, operation) {
    const size = key.length + nbytes + ITEM_OVERHEAD;
    let status = SUCCESS;
    if (size > this.itemSizeMax) status = E2BIG;
    else if (!this.makeRoom(size)) status = ENOMEM;
    if (status !== SUCCESS) {
      if (status === E2BIG) this.stats.store_too_large += 1;
      else this.stats.store_no_memory += 1;
      // memcached drops the old value when a set cannot be stored, so a stale one is not served.
      if (operation === SET) {
        const old = this.find(key);
        if (old !== undefined) this.unlink(old);
      }
      return -status;
    }
    return this.hold(this.newItem(key, new Uint8Array(nbytes), flags >>> 0, this.core.realtime(exptime)));
  }

  itemValue(handle) {
    return this.item(handle).value;
  }

  store(handle, operation, cas, options = 0) {
    const item = this.item(handle);
    const now = this.core.currentTime();
    this.stats.cmd_set += 1;
    const old = this.find(item.key);
    switch (operation) {
      case ADD:
        if (old !== undefined) {
          if (old.time < now - 60) old.time = now;
          return NOT_STORED;
        }
        break;
      case SET:
        break;
      case REPLACE:
        if (old === undefined) return NOT_STORED;
        break;
      case CAS:
        if (old === undefined) {
          this.stats.cas_misses += 1;
          return KEY_ENOENT;
        }
        if (cas !== old.cas) {
          if ((options & STORE_INVALIDATE) === 0 || cas === 0n || cas > old.cas) {
            this.stats.cas_badval += 1;
            return KEY_EEXISTS;
          }
          // meta set I: an older CAS stores, stale, keeping the old TTL and win mark.
          item.exptime = old.exptime;
          item.stale = true;
          item.winSent = old.winSent;
        }
        this.stats.cas_hits += 1;
        break;
      case APPEND:
      case PREPEND: {
        if (old === undefined) return NOT_STORED;
        if (cas !== 0n && cas !== old.cas) return KEY_EEXISTS;
        if (item.key.length + old.value.length + item.value.length + ITEM_OVERHEAD > this.itemSizeMax) return NOT_STORED;
        const value = new Uint8Array(old.value.length + item.value.length);
        value.set(operation === APPEND ? old.value : item.value, 0);
        value.set(operation === APPEND ? item.value : old.value, operation === APPEND ? old.value.length : item.value.length);
        item.value = value;
        item.flags = old.flags;
        item.exptime = old.exptime;
        break;
      }
      default:
        return ENOTSUP;
    }
    if (old !== undefined) this.unlink(old);
    this.link(item);
    return SUCCESS;
  }

  release(handle) {
    const item = this.item(handle);
    item.refcount -= 1;
    if (item.refcount === 0) this.held.delete(handle);
  }

  /** `request` (optional) is the meta get's: bump, count, vivify; `created` is written back. */
  get(key, request) {
    const count = request === undefined ? COUNT_GET : request.count;
    let item = this.find(key);
    let created = false;
    if (item === undefined && request !== undefined && request.vivify && this.makeRoom(key.length + ITEM_OVERHEAD)) {
      item = this.newItem(key, new Uint8Array(0), 0, 0);
      this.link(item);
      created = true;
    }
    if (request !== undefined) request.created = created;
    if (item === undefined) {
      if (count === COUNT_GET || count === COUNT_TOUCH) this.stats.get_misses += 1;
      return -KEY_ENOENT;
    }
    if (request === undefined || request.bump) this.touchLru(item);
    if (count === COUNT_GET) this.stats.get_hits += 1;
    else if (count === COUNT_TOUCH) this.stats.touch_hits += 1;
    return this.hold(item);
  }

  getAndTouch(key, exptime) {
    const item = this.find(key);
    if (item === undefined) {
      this.stats.touch_misses += 1;
      return -KEY_ENOENT;
    }
    this.touchLru(item);
    item.exptime = this.core.realtime(exptime);
    this.stats.touch_hits += 1;
    return this.hold(item);
  }

  touch(key, exptime) {
    const item = this.find(key);
    if (item === undefined) {
      this.stats.touch_misses += 1;
      return KEY_ENOENT;
    }
    this.touchLru(item);
    item.exptime = this.core.realtime(exptime);
    this.stats.touch_hits += 1;
    return SUCCESS;
  }

  remove(key, cas, options = 0, exptime = 0) {
    const item = this.find(key);
    if (item === undefined) {
      this.stats.delete_misses += 1;
      return KEY_ENOENT;
    }
    if (options & REMOVE_COMPARE_CAS) {
      if (cas !== item.cas) {
        this.stats.delete_misses += 1;
        return KEY_EEXISTS;
      }
    } else if (cas !== 0n && cas !== item.cas) {
      return KEY_EEXISTS;
    }
    if (options & REMOVE_INVALIDATE) {
      // meta delete I: keep the item, stale, with a new CAS.
      if (options & REMOVE_SET_EXPTIME) item.exptime = this.core.realtime(exptime);
      item.stale = true;
      item.winSent = false;
      item.cas = this.useCas ? ++this.casCounter : 0n;
      return SUCCESS;
    }
    this.stats.delete_hits += 1;
    this.unlink(item);
    return SUCCESS;
  }

  /** incr/decr; the result always goes into a new item (memcached writes shorter ones in place). */
  arithmetic(key, request, result) {
    const old = this.find(key);
    const counter = request.incr ? 'incr' : 'decr';
    let next;
    let flags = 0;
    let exptime;
    result.item = 0;
    result.created = old === undefined && request.create;
    if (old === undefined) {
      if (!request.create) {
        this.stats[`${counter}_misses`] += 1;
        return KEY_ENOENT;
      }
      next = request.initial;
      exptime = this.core.realtime(request.exptime);
    } else {
      if (request.cas !== 0n && request.cas !== old.cas) return KEY_EEXISTS;
      const value = parseU64(old.value);
      if (value === undefined) return EINVAL;
      next = request.incr ? (value + request.delta) & U64_MAX : request.delta > value ? 0n : value - request.delta;
      this.stats[`${counter}_hits`] += 1;
      flags = old.flags;
      exptime = old.exptime;
    }
    const digits = Buffer.from(next.toString(), 'latin1');
    const size = key.length + digits.length + ITEM_OVERHEAD;
    if (!this.makeRoom(size)) return ENOMEM;
    const item = this.newItem(key, new Uint8Array(digits), flags, exptime);
    if (old !== undefined) this.unlink(old);
    this.link(item);
    result.value = next;
    result.cas = item.cas;
    if (request.hold) result.item = this.hold(item);
    return SUCCESS;
  }

  /** memcached's oldest_live rule: items last stored or accessed up to then are gone from then on. */
  flush(exptime) {
    const now = this.core.currentTime();
    const newOldest = exptime > 0 ? this.core.realtime(exptime) : now;
    if (this.useCas) {
      this.oldestLive = newOldest - 1;
      if (this.oldestLive <= now) this.oldestCas = ++this.casCounter;
    } else {
      this.oldestLive = newOldest;
    }
    return SUCCESS;
  }

  getItemInfo(handle, info, withCas = false) {
    const item = this.item(handle);
    if (withCas) info.cas = item.cas;
    info.exptime = item.exptime;
    info.time = item.time;
    info.flags = item.flags;
    info.clsid = 0;
    info.fetched = item.fetched;
    info.ntotal = item.key.length + item.value.length + ITEM_OVERHEAD;
    info.stale = item.stale;
    info.winSent = item.winSent;
    info.keyBinary = item.keyBinary;
    info.keyBytes = item.key;
    info.keyOffset = 0;
    info.nkey = item.key.length;
    info.valueBytes = item.value;
    info.valueOffset = 0;
    info.nvalue = item.value.length;
    info.valueRoom = 0;
  }

  bump(handle) {
    const item = this.item(handle);
    if (item.linked) this.touchLru(item);
  }

  setExptime(handle, exptime) {
    this.item(handle).exptime = this.core.realtime(exptime);
  }

  markItem(handle, marks) {
    const item = this.item(handle);
    if (marks & MARK_WIN_SENT) item.winSent = true;
    if (marks & MARK_KEY_BINARY) item.keyBinary = true;
  }

  getStats(group, add) {
    if (group === '') {
      for (const name of COUNTERS) add(name, String(this.stats[name]));
      add('limit_maxbytes', String(this.cacheSize));
      add('bytes', String(this.bytes));
      add('curr_items', String(this.index.size));
      return SUCCESS;
    }
    if (group === 'settings') {
      add('maxbytes', String(this.cacheSize));
      add('evictions', this.eviction ? 'on' : 'off');
      add('cas_enabled', this.useCas ? 'yes' : 'no');
      add('item_size_max', String(this.itemSizeMax));
      return SUCCESS;
    }
    return ENOTSUP;
  }

  resetStats() {
    for (const name of COUNTERS) this.stats[name] = 0;
  }

  // ---- internals

  /** The one place expiry and flush are decided (cf. memcached's do_item_get). */
  find(key) {
    const item = this.index.get(keyString(key));
    if (item === undefined) return undefined;
    const now = this.core.currentTime();
    const flushed = this.oldestLive !== 0 && this.oldestLive <= now &&
      (item.time <= this.oldestLive || (this.oldestCas !== 0n && item.cas !== 0n && item.cas < this.oldestCas));
    if (flushed) {
      this.unlink(item);
      this.stats.get_flushed += 1;
      return undefined;
    }
    if (item.exptime !== 0 && item.exptime <= now) {
      this.unlink(item);
      this.stats.get_expired += 1;
      return undefined;
    }
    return item;
  }

  /** A hit makes the item the most recently used. */
  touchLru(item) {
    item.fetched = true;
    item.time = this.core.currentTime();
    this.index.delete(item.keyString);
    this.index.set(item.keyString, item);
  }

  /** Evicts from the LRU end until `size` more bytes fit; false when eviction is off or nothing is left. */
  makeRoom(size) {
    if (size > this.cacheSize) return false;
    while (this.bytes + size > this.cacheSize) {
      if (!this.eviction) return false;
      const oldest = this.index.values().next().value;
      if (oldest === undefined) return false;
      this.unlink(oldest);
      this.stats.evictions += 1;
    }
    return true;
  }

  newItem(key, value, flags, exptime) {
    return {
      id: this.nextId++, key: key.slice(), keyString: keyString(key), value, flags, exptime,
      time: 0, cas: 0n, refcount: 0, linked: false, fetched: false,
      stale: false, winSent: false, keyBinary: false,
    };
  }

  hold(item) {
    item.refcount += 1;
    this.held.set(item.id, item);
    return item.id;
  }

  item(handle) {
    const item = this.held.get(handle);
    if (item === undefined) throw new Error(`map engine: item ${handle} is not held`);
    return item;
  }

  link(item) {
    item.linked = true;
    item.time = this.core.currentTime();
    item.cas = this.useCas ? ++this.casCounter : 0n;
    this.index.set(item.keyString, item);
    this.bytes += item.key.length + item.value.length + ITEM_OVERHEAD;
    this.stats.total_items += 1;
  }

  unlink(item) {
    if (!item.linked) return;
    item.linked = false;
    this.index.delete(item.keyString);
    this.bytes -= item.key.length + item.value.length + ITEM_OVERHEAD;
  }
}

/** An unsigned 64-bit decimal, with white space around it allowed; undefined when it is not one. */
function parseU64(bytes) {
  const m = /^[ \t\n\v\f\r]*(\d+)[ \t\n\v\f\r]*$/.exec(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'));
  if (m === null) return undefined;
  const value = BigInt(m[1]);
  return value > U64_MAX ? undefined : value;
}
