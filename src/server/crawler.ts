// The `lru_crawler` command (protocol.txt "LRU_Crawler"), as memcached 1.6.18's
// process_lru_crawler_command answers it. memcached's crawler is a thread that works through the
// LRUs in the background; here the engine's crawl runs to its end within the command, so a crawl
// is never BUSY, and a metadump's lines are all in the reply when the command returns.

import type { ItemHandle } from '../engine/types.ts';
import { BAD_FORMAT } from '../protocol/replies.ts';
import { sync, type Context } from './context.ts';
import type { Settings } from './settings.ts';
import { END, MAX_NUMBER_OF_SLAB_CLASSES, argWords, line, u32 } from './stats-command.ts';

/** The crawler's settings, which the command changes and `stats settings` shows. */
export interface CrawlerSettings {
  /** -o lru_crawler (the default) or no_lru_crawler; `lru_crawler enable|disable`. */
  enabled: boolean;
  /** lru_crawler_sleep: microseconds between items (memcached's pace; kept and shown). */
  sleep: number;
  /** lru_crawler_tocrawl: items a crawl looks at per LRU, 0 all (kept and shown). */
  tocrawl: number;
}

/** The crawler's settings as the command line (-o) gave them. */
export function crawlerSettingsOf(settings: Settings): CrawlerSettings {
  return { enabled: settings.lruCrawler, sleep: settings.lruCrawlerSleep, tocrawl: settings.lruCrawlerTocrawl };
}

const DISABLED = 'CLIENT_ERROR lru crawler disabled';
const BADCLASS = 'BADCLASS invalid class id';
const NOTSTARTED = 'NOTSTARTED no items to crawl';
/** The longest sleep `lru_crawler sleep` takes, in microseconds. */
const SLEEP_MAX = 1_000_000;

/** `lru_crawler <arg>`: `arg` is the words after the command, one space apart. */
export function lruCrawler(ctx: Context, arg: string): void {
  const words = argWords(arg);
  // memcached's ntokens: the command, its words, and the terminal token.
  const ntokens = words.length + 2;
  const crawler = ctx.server.crawler;
  const [sub, value] = words;
  if (ntokens === 4 && (sub === 'crawl' || sub === 'metadump')) {
    if (!crawler.enabled) return line(ctx, DISABLED);
    if (sub === 'metadump' && !ctx.server.dumpEnabled) return line(ctx, 'ERROR metadump not allowed');
    const target = sub === 'metadump' && value === 'hash' ? 'hash' : crawlClasses(value!);
    if (target === undefined) return line(ctx, BADCLASS);
    if (target.length === 0) return line(ctx, NOTSTARTED);
    if (sub === 'crawl') {
      sync(ctx.engine.crawl?.(target));
      return line(ctx, 'OK');
    }
    sync(ctx.engine.crawl?.(target, (item) => metadumpLine(ctx, item)));
    ctx.out.raw(END);
    return;
  }
  if (ntokens === 4 && (sub === 'tocrawl' || sub === 'sleep')) {
    const n = u32(value!);
    if (n < 0) return line(ctx, BAD_FORMAT);
    if (sub === 'tocrawl') {
      crawler.tocrawl = n;
    } else {
      if (n > SLEEP_MAX) return line(ctx, 'CLIENT_ERROR sleep must be one second or less');
      crawler.sleep = n;
    }
    return line(ctx, 'OK');
  }
  if (ntokens === 3 && sub === 'enable') {
    // memcached fails to start a second crawler thread.
    if (crawler.enabled) return line(ctx, 'ERROR failed to start lru crawler thread');
    crawler.enabled = true;
    return line(ctx, 'OK');
  }
  if (ntokens === 3 && sub === 'disable') {
    crawler.enabled = false;
    return line(ctx, 'OK');
  }
  line(ctx, 'ERROR');
}

/**
 * The class ids of `all` or a comma-separated list (empty entries skipped, as strtok skips them),
 * ascending and each once; undefined when one is not a class id memcached has (1..63).
 */
function crawlClasses(list: string): number[] | undefined {
  if (list === 'all') return Array.from({ length: MAX_NUMBER_OF_SLAB_CLASSES - 1 }, (_, i) => i + 1);
  const ids = new Set<number>();
  for (const word of list.split(',')) {
    if (word === '') continue;
    const id = u32(word);
    if (id < 1 || id >= MAX_NUMBER_OF_SLAB_CLASSES) return undefined;
    ids.add(id);
  }
  return [...ids].sort((a, b) => a - b);
}

const PERCENT = 0x25;
const HEX = '0123456789ABCDEF';

/** Whether memcached's uriencode leaves a byte as it is: letters, digits and `-._~`. */
function unreserved(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}

/**
 * crawler_metadump_eval's line: `key=<uri-encoded key> exp=<unix time, -1 never> la=<unix time of
 * the last access> cas=<cas> fetch=<yes|no> cls=<class> size=<ntotal>`, ended by LF alone.
 */
function metadumpLine(ctx: Context, item: ItemHandle): void {
  const { out, server, info } = ctx;
  ctx.engine.getItemInfo(item, info, true);
  out.ascii('key=');
  const at = out.reserve(info.nkey * 3);
  const b = out.buffer;
  let to = at;
  for (let i = 0; i < info.nkey; i++) {
    const c = info.keyBytes[info.keyOffset + i]!;
    if (unreserved(c)) {
      b[to++] = c;
    } else {
      b[to++] = PERCENT;
      b[to++] = HEX.charCodeAt(c >> 4);
      b[to++] = HEX.charCodeAt(c & 15);
    }
  }
  out.unreserve(to);
  const exp = info.exptime === 0 ? -1 : server.core.abstime(info.exptime);
  out.ascii(` exp=${exp} la=${server.core.abstime(info.time)} cas=${info.cas} fetch=${info.fetched ? 'yes' : 'no'} cls=${info.clsid} size=${info.ntotal}\n`);
}
