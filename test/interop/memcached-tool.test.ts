// memcached's own memcached-tool (Debian's memcached package ships it with its scripts) against
// wasmcached: `dump` and `keys` read `lru_crawler metadump all`, URI-decode the keys and fetch each
// one; `display` reads `stats slabs` and `stats items`. MEMCACHED_TOOL names the script.
import { execFile } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Client, startServer } from '../server/serve.ts';

const TOOL = process.env.MEMCACHED_TOOL ?? '/usr/share/memcached/scripts/memcached-tool';

/** The tool's stdout (run asynchronously: the server answering it is in this process). */
function tool(port: number, mode: string): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile('perl', [TOOL, `127.0.0.1:${port}`, mode], { timeout: 10_000 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`memcached-tool ${mode}: ${error.message} ${stderr}`));
      else resolve(stdout);
    });
  });
}

test('memcached-tool dump, keys and display', async () => {
  const s = await startServer('wasm');
  const c = await Client.open(s.port);
  try {
    const items = [
      { key: 'plain', flags: 0, exptime: 0, value: 'v1' },
      { key: 'with/slash%and:colon', flags: 42, exptime: 0, value: 'v2' },
      { key: 'long', flags: 7, exptime: 0, value: 'x'.repeat(3000) },
    ];
    for (const { key, flags, exptime, value } of items) {
      assert.is(await c.request(`set ${key} ${flags} ${exptime} ${value.length}\r\n${value}\r\n`), 'STORED\r\n');
    }
    assert.is(await c.request('set soon 0 1000 1\r\ns\r\n'), 'STORED\r\n');
    const [, exp, la] = /key=soon exp=(\d+) la=(\d+)/.exec(await c.request('lru_crawler metadump all\r\n', 'END\r\n'))!;
    const expires = Number(exp);
    assert.is(expires - Number(la), 1000, 'soon expires 1000 s after it was set');

    // An `add` command per item, in the order of the tool's Perl hash: compared as a set.
    const dumped = (await tool(s.port, 'dump')).split(/(?<=\r\n)(?=add )/).sort();
    const expected = [...items.map(({ key, flags, value }) => `add ${key} ${flags} 0 ${value.length}\r\n${value}\r\n`), `add soon 0 ${expires} 1\r\ns\r\n`].sort();
    assert.equal(dumped, expected);

    const keys = (await tool(s.port, 'keys')).trim().split('\n').map((line) => /^key=(\S+) /.exec(line)![1]).sort();
    assert.equal(keys, ['long', 'plain', 'soon', 'with%2Fslash%25and%3Acolon']);

    const display = await tool(s.port, 'display');
    assert.match(display, /^\s+1\s+96B\s+\d+s\s+1\s+3\s+no\s+0\s+0\s+0$/m, 'class 1: 3 items');
  } finally {
    c.close();
    await s.close();
  }
});

test.run();
