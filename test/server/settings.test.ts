// The command line: memcached's flags in their short, clustered and long forms, and the engine
// config they imply merged with --engine-config.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { formatEngineConfig } from '../../src/engine/config.ts';
import { engineConfigFor, parseItemSize, parseSettings, usage, UsageError } from '../../src/server/settings.ts';

const configOf = (...argv: string[]): string => formatEngineConfig(engineConfigFor(parseSettings(argv)));

function usageError(argv: string[], pattern: RegExp): void {
  try {
    parseSettings(argv);
  } catch (error) {
    assert.instance(error, UsageError);
    assert.match((error as Error).message, pattern);
    return;
  }
  assert.unreachable(`expected a UsageError for ${argv.join(' ')}`);
}

test('defaults: the wasm engine, no engine config, port 11211', () => {
  const settings = parseSettings([]);
  assert.is(settings.engine, 'wasm');
  assert.is(settings.port, 11211);
  assert.is(settings.verbose, 0);
  assert.is(configOf(), '');
});

test('-m -M -f -n -I -C -o map onto the engine config keys, in order', () => {
  assert.is(
    configOf('-m', '64', '-M', '-f', '1.5', '-n', '32', '-I', '2m', '-C', '-o', 'hashpower=20,track_sizes'),
    'cache_size=67108864;eviction=false;factor=1.5;chunk_size=32;item_size_max=2097152;use_cas=false;' +
      'hashpower=20;track_sizes=true',
  );
  assert.is(configOf('-o', 'hot_lru_pct=10,warm_lru_pct=30'), 'hot_lru_pct=10;warm_lru_pct=30');
});

test('values attach or follow; flags cluster; long forms take = or the next argument', () => {
  assert.is(configOf('-m64'), 'cache_size=67108864');
  assert.is(configOf('--memory-limit=8'), 'cache_size=8388608');
  assert.is(configOf('--memory-limit', '8'), 'cache_size=8388608');
  const settings = parseSettings(['-vvv', '-MC', '-p11212', '--listen', '127.0.0.1', '-c', '10']);
  assert.is(settings.verbose, 3);
  assert.is(settings.port, 11212);
  assert.is(settings.listen, '127.0.0.1');
  assert.is(settings.connLimit, 10);
  assert.is(configOf('-MC'), 'eviction=false;use_cas=false');
  assert.ok(parseSettings(['-h']).help);
  assert.ok(parseSettings(['--version']).version);
  assert.ok(parseSettings(['--check-config']).checkConfig);
});

test('-E names the engine; --engine-config entries win over the flags', () => {
  assert.is(parseSettings(['-E', './my-engine.js']).engine, './my-engine.js');
  assert.is(parseSettings(['--engine=ts']).engine, 'ts');
  assert.is(configOf('-m', '64', '--engine-config', 'cache_size=128m;track_sizes=true'), 'cache_size=128m;track_sizes=true');
  assert.is(configOf('-m', '64', '--engine-config', 'hashpower=18', '--engine-config', 'hashpower=19'), 'cache_size=67108864;hashpower=19');
  assert.throws(() => configOf('--engine-config', 'novalue'), /bad engine config entry 'novalue'/);
});

test('-I takes bytes or a k or m suffix, as memcached does', () => {
  assert.is(parseItemSize('1048576'), 1048576);
  assert.is(parseItemSize('512k'), 524288);
  assert.is(parseItemSize('512K'), 524288);
  assert.is(parseItemSize('2m'), 2097152);
  assert.is(parseItemSize('2M'), 2097152);
  assert.throws(() => parseItemSize('2g'), /expected a size in bytes/);
  assert.throws(() => parseItemSize('1.5m'), /expected a size in bytes/);
});

test('bad flags are usage errors that say what is wrong', () => {
  usageError(['-m', 'lots'], /-m: expected a whole number, got 'lots'/);
  usageError(['-f', '1'], /factor must be greater than 1/);
  usageError(['-n', '0'], /-n: expected a number from 1/);
  usageError(['-o', 'modern'], /illegal suboption 'modern'/);
  usageError(['-o', 'hashpower'], /hashpower: requires a value/);
  usageError(['-x'], /unknown option '-x'/);
  usageError(['--nope'], /unknown option '--nope'/);
  usageError(['-m'], /option '-m' requires a value/);
  usageError(['--verbose=2'], /takes no value/);
  usageError(['stray'], /unexpected argument 'stray'/);
});

test('the usage text lists every option', () => {
  const text = usage('wasmcached', '0.0.0');
  for (const option of ['-m, --memory-limit=<num>', '-E, --engine=<engine>', '--engine-config=<config>', '--check-config', '-V, --version']) {
    assert.ok(text.includes(option), option);
  }
});

test.run();
