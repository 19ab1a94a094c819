<?php
// Client-matrix script for php-memcached (libmemcached): text, or binary when MC_PROTOCOL=binary,
// with SASL when MC_USERNAME is set (run with: php -d memcached.use_sasl=1 php-memcached.php).
// Exercises the checklist in test/interop: binary-safe set/get, getMulti, add/replace,
// append/prepend, cas, delete, incr/decr edges, touch, expiry, stats, flush, item-size limit,
// key-length limit, user flags and version. Each step prints [return value, result code name].
// Compression is off so that large values reach the server as they are.
ini_set('display_errors', 'stderr');

$server = getenv('MC_SERVER');
$binary = getenv('MC_PROTOCOL') === 'binary';
$user = getenv('MC_USERNAME');
$itemMax = (int) (getenv('MC_ITEM_MAX') ?: 1048576);

function client(?string $password = null): Memcached {
    global $server, $binary, $user;
    $mc = new Memcached();
    $mc->setOption(Memcached::OPT_COMPRESSION, false);
    $mc->setOption(Memcached::OPT_BINARY_PROTOCOL, $binary);
    if ($user !== false) $mc->setSaslAuthData($user, $password ?? getenv('MC_PASSWORD'));
    if ($server[0] === '/') $mc->addServer($server, 0);
    else { [$host, $port] = explode(':', $server); $mc->addServer($host, (int) $port); }
    return $mc;
}

function emit(string $step, $value): void {
    echo json_encode([$step, $value], JSON_UNESCAPED_SLASHES | JSON_THROW_ON_ERROR), "\n";
}

$codes = [];
foreach ((new ReflectionClass('Memcached'))->getConstants() as $name => $v) {
    if (str_starts_with($name, 'RES_')) $codes[$v] ??= $name;
}
// The return value with the client's result code name.
function r($value) {
    global $mc, $codes;
    return [$value, $codes[$mc->getResultCode()] ?? $mc->getResultCode()];
}
function big($value) {
    return is_string($value) ? ['len' => strlen($value), 'sha1' => sha1($value)] : $value;
}

$mc = client();

// set/get of binary-safe values
emit('set binary', r($mc->set('bin', "a\x00b\r\nc")));
emit('get binary', r($mc->get('bin')));
emit('set crlf only', r($mc->set('crlf', "\r\n")));
emit('get crlf only', r($mc->get('crlf')));
emit('get miss', r($mc->get('nope')));

// multi-get: hits and misses mixed
$mc->set('m1', 'one');
$mc->set('m3', 'three');
emit('getMulti', r($mc->getMulti(['m1', 'm2', 'm3', 'm4'])));

// add / replace
emit('add new', r($mc->add('a1', 'x')));
emit('add existing', r($mc->add('a1', 'y')));
emit('get after add', r($mc->get('a1')));
emit('replace existing', r($mc->replace('a1', 'z')));
emit('replace missing', r($mc->replace('r-missing', 'z')));
emit('get after replace', [$mc->get('a1'), $mc->get('r-missing')]);

// append / prepend
emit('append existing', r($mc->append('a1', '>')));
emit('prepend existing', r($mc->prepend('a1', '<')));
emit('append missing', r($mc->append('ap-missing', '>')));
emit('prepend missing', r($mc->prepend('ap-missing', '<')));
emit('get after append/prepend', [$mc->get('a1'), $mc->get('ap-missing')]);

// cas
$mc->set('c1', 'v1');
$g = $mc->get('c1', null, Memcached::GET_EXTENDED);
emit('get extended', r($g['value']));
emit('cas success', r($mc->cas($g['cas'], 'c1', 'v2')));
emit('cas conflict', r($mc->cas($g['cas'], 'c1', 'v3')));
emit('get after cas', r($mc->get('c1')));
emit('cas missing', r($mc->cas($g['cas'], 'c-missing', 'v')));

// delete
$mc->set('d1', 'x');
emit('delete hit', r($mc->delete('d1')));
emit('delete miss', r($mc->delete('d1')));

// incr / decr edges (the offset is a PHP int: PHP_INT_MAX is the biggest delta it allows)
$mc->set('n', '5');
emit('incr by 1', r($mc->increment('n')));
emit('decr below zero', r($mc->decrement('n', 100)));
$mc->set('n', '18446744073709551615');
emit('incr wraps', r($mc->increment('n', 1)));
$mc->set('n', '10');
emit('incr big delta', r($mc->increment('n', PHP_INT_MAX)));
emit('get after big delta', r($mc->get('n')));
$mc->set('txt', 'abc');
emit('incr non-numeric', r($mc->increment('txt', 1)));
emit('get after incr non-numeric', r($mc->get('txt')));
emit('incr missing', r($mc->increment('i-missing', 1)));
emit('decr missing', r($mc->decrement('i-missing', 1)));

// touch, relative and absolute expiry (one shared sleep)
$mc->set('ttl-rel', 'r', 2);
$mc->set('ttl-abs', 'a', time() + 2);
$mc->set('ttl-past', 'p', time() - 10);
$mc->set('t-long', 'l', 2);
$mc->set('t-short', 's');
emit('touch hit extend', r($mc->touch('t-long', 100)));
emit('touch hit shorten', r($mc->touch('t-short', 2)));
emit('touch miss', r($mc->touch('t-missing', 100)));
emit('absolute past', r($mc->get('ttl-past')));
$timed = ['ttl-rel', 'ttl-abs', 't-long', 't-short'];
emit('before expiry', r($mc->getMulti($timed)));
usleep(3200000);
emit('after expiry', r($mc->getMulti($timed)));

// stats (before flush: memcached's LRU crawler reclaims flushed items in the background,
// so curr_items after a flush depends on timing)
$stats = $mc->getStats();
$stats = is_array($stats) ? reset($stats) : $stats;
emit('stats', array_intersect_key($stats, array_flip(
    ['curr_items', 'total_items', 'get_hits', 'get_misses', 'cmd_set', 'cmd_get'])));

// flush
$mc->set('f1', 'x');
emit('flush', r($mc->flush()));
emit('get after flush', r($mc->get('f1')));

// item size limit
emit('set under limit', r($mc->set('big', str_repeat('u', $itemMax - 512))));
emit('get under limit', r(big($mc->get('big'))));
emit('set over limit', r($mc->set('big', str_repeat('o', $itemMax + 1))));
emit('get after over limit', r(big($mc->get('big'))));

// key length
$k250 = str_repeat('k', 250);
$k251 = str_repeat('k', 251);
emit('set key 250', r($mc->set($k250, 'v250')));
emit('get key 250', r($mc->get($k250)));
emit('set key 251', r($mc->set($k251, 'v251')));
emit('get key 251', r($mc->get($k251)));
emit('get after key 251', r($mc->get($k250)));

// user flags (php-memcached keeps the low 16 bits of the item flags for itself)
foreach ([0, 1, 0xFFFF, 0xFFFFFFFF] as $flags) {
    $ok = @$mc->setOption(Memcached::OPT_USER_FLAGS, $flags);
    $set = $ok ? $mc->set('fl', "f$flags") : null;
    $g = $ok ? $mc->get('fl', null, Memcached::GET_EXTENDED) : null;
    emit("flags $flags", ['setOption' => $ok, 'set' => $set, 'flags' => $g['flags'] ?? null]);
}
$mc->setOption(Memcached::OPT_USER_FLAGS, 0);

// version
$version = $mc->getVersion();
emit('version', is_array($version) ? array_values($version) : $version);

// SASL runs: a client with a wrong password
if ($user !== false) {
    $mc = client('wrong-password');
    emit('sasl wrong password set', r($mc->set('s1', 'x')));
    emit('sasl wrong password get', r($mc->get('s1')));
}

emit('done', true);
