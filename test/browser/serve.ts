// What the browser tests share: the repository served over HTTP on localhost (the example page
// loads build/embed/ by relative URL, as it would from any static host), and Debian's Chromium
// driven headless by playwright-core (no browser download; .ci/run installs chromium).
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import type { Test } from 'uvu';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.css': 'text/css',
};

/** An empty page of the server's origin, for tests that import modules by URL. */
export const BLANK = '/__blank.html';

export interface StaticServer {
  origin: string;
  /** Every path requested, in order. */
  requests: string[];
  close(): Promise<void>;
}

/** Serves the repository's files read-only on 127.0.0.1 (a free port). */
export async function serveRepository(): Promise<StaticServer> {
  const requests: string[] = [];
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    requests.push(path);
    if (path === BLANK) {
      response.writeHead(200, { 'content-type': TYPES['.html']! }).end('<!doctype html><title>blank</title><link rel="icon" href="data:,">'); // no /favicon.ico request
      return;
    }
    const file = normalize(join(root, path));
    if (!file.startsWith(root + sep) || !existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-store' });
    response.end(readFileSync(file));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve()))),
  };
}

/** Headless Chromium; fails with the way to install it when it is missing. */
export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
  const asRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: asRoot ? ['--no-sandbox'] : [] });
}

/**
 * The static server and Chromium for a suite: started before its first test, stopped after its
 * last; read `server` and `browser` inside the tests.
 */
export function withBrowser(suite: Test): { readonly server: StaticServer; readonly browser: Browser } {
  let server: StaticServer | undefined;
  let browser: Browser | undefined;
  suite.before(async () => {
    server = await serveRepository();
    browser = await launchChromium();
  });
  suite.after(async () => {
    await browser?.close();
    await server?.close();
  });
  return {
    get server(): StaticServer {
      if (server === undefined) throw new Error('the static server is not started: use it inside a test');
      return server;
    },
    get browser(): Browser {
      if (browser === undefined) throw new Error('Chromium is not started: use it inside a test');
      return browser;
    },
  };
}
