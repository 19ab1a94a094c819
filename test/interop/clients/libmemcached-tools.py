#!/usr/bin/python3
# Client-matrix script (test/interop/) for Debian's libmemcached-tools 1.1.4: drives the
# command-line programs memccp, memccat, memcexist, memctouch, memcrm, memcdump, memcstat,
# memcflush and memcslap with subprocess and prints, per call, the exit status and stdout (and
# stderr with the server's address taken out). Values over 200 bytes are printed as length+sha1.
# memcdump has no --binary: it always speaks text (`stats cachedump`), so it is run without it; with
# SASL credentials libmemcached refuses it ("Binary protocol is not supported for memcached_dump()").
# Debian builds libmemcached with SASL (libsasl2), so the SASL run authenticates every tool.
import hashlib, json, os, re, shutil, subprocess, tempfile, time

SERVER = os.environ['MC_SERVER']
BINARY = os.environ['MC_PROTOCOL'] == 'binary'
ITEM_MAX = int(os.environ['MC_ITEM_MAX'])
AUTH = ['--username=' + os.environ['MC_USERNAME'], '--password=' + os.environ['MC_PASSWORD']] \
    if os.environ.get('MC_USERNAME') else []
OPTS = ['--servers=' + SERVER] + (['--binary'] if BINARY else []) + AUTH
TMP = tempfile.mkdtemp()
# How tools name the server in messages: "127.0.0.1:PORT", "127.0.0.1 (PORT)", or the socket path.
HOST, _, PORT = SERVER.rpartition(':')
ADDRESS = re.compile(re.escape(SERVER) + (('|' + re.escape(f'{HOST} ({PORT})')) if HOST else ''))


def emit(step, value):
    print(json.dumps([step, value], separators=(',', ':')), flush=True)


def short(s):
    if len(s) <= 200: return s
    return {'len': len(s), 'sha1': hashlib.sha1(s.encode('latin1')).hexdigest()}


def clean(s):
    """Takes out the server's address and libmemcached's pointers; shortens the 250/251-byte keys."""
    s = re.sub(r'\(0x[0-9a-f]+\) ', '', ADDRESS.sub('SERVER', s))
    return re.sub('k{250,}', lambda m: '<%d k>' % len(m[0]), s)


def run(tool, *args, opts=OPTS):
    p = subprocess.run(['/usr/bin/' + tool, *opts, *args], cwd=TMP, capture_output=True, timeout=60)
    out, err = (clean(b.decode('latin1')) for b in (p.stdout, p.stderr))
    return {'rc': p.returncode, 'out': out, 'err': err}


def step(name, tool, *args):
    r = run(tool, *args)
    emit(name, {'rc': r['rc'], 'out': short(r['out']), 'err': short(r['err'])})


def file(name, data):
    with open(os.path.join(TMP, name), 'wb') as f: f.write(data)
    return name


def stats(name, *args, keys=()):
    """memcstat: exit status and the named stats only (the rest is pids, times, addresses)."""
    r = run('memcstat', *args)
    got = dict(re.findall(r'^\t(\S+): (.*)$', r['out'], re.M))
    emit(name, {'rc': r['rc'], **{k: got.get(k) for k in keys}})


STATS = ('curr_items', 'total_items', 'bytes', 'cmd_get', 'cmd_set', 'cmd_touch', 'get_hits',
         'get_misses', 'touch_hits', 'touch_misses', 'delete_hits', 'delete_misses',
         'store_too_large', 'auth_cmds', 'auth_errors')

try:
    # version: memcstat -S prints "<server> <version>".
    step('version', 'memcstat', '--server-version')

    # set/get of binary-safe values (file name = key), several keys in one memccat, hits and misses.
    file('bin', b'a\x00b\r\nc\r\n\x00')
    file('crlf', b'\r\n')
    file('empty', b'')
    step('memccp binary-safe', 'memccp', 'bin', 'crlf', 'empty')
    step('memccat hits', 'memccat', 'bin', 'crlf', 'empty')
    step('memccat mixed', 'memccat', 'miss1', 'bin', 'miss2', 'crlf')
    step('memccat miss', 'memccat', 'miss1')

    # 32-bit flags: memccp --flags, memccat --flags prints them before the value.
    for flags in ('0', '1', '4294967295'):
        file('flags' + flags, flags.encode())
        step('memccp --flags=' + flags, 'memccp', '--flags=' + flags, 'flags' + flags)
        step('memccat --flags ' + flags, 'memccat', '--flags', 'flags' + flags)

    # add (new, existing) and replace (existing, missing).
    file('addkey', b'added')
    step('memccp --add new', 'memccp', '--add', 'addkey')
    file('addkey', b'again')
    step('memccp --add existing', 'memccp', '--add', 'addkey')
    step('memccat after add', 'memccat', 'addkey')
    step('memccp --replace existing', 'memccp', '--replace', 'addkey')
    file('repmiss', b'x')
    step('memccp --replace missing', 'memccp', '--replace', 'repmiss')
    step('memccat after replace', 'memccat', 'addkey', 'repmiss')
    for item in ('append/prepend', 'cas', 'incr/decr'):
        emit(item, 'unsupported: no libmemcached-tools program does ' + item)

    # 250-byte key works, 251-byte key is rejected (keys are file names, NAME_MAX is 255).
    for n in (250, 251):
        key = file('k' * n, b'long key %d' % n)
        step('memccp key %d' % n, 'memccp', key)
        step('memccat key %d' % n, 'memccat', key)

    # Item limit: just under is stored; just over is rejected and the old value under that key goes.
    under = file('under', bytes(i * 7 % 251 for i in range(ITEM_MAX - 512)))
    step('memccp under limit', 'memccp', under)
    step('memccat under limit', 'memccat', under)
    file('over', b'old value')
    step('memccp over (old value)', 'memccp', 'over')
    file('over', bytes(i * 13 % 253 for i in range(ITEM_MAX + 1)))
    step('memccp over limit', 'memccp', 'over')
    step('memccat over after', 'memccat', 'over')

    # memcexist and memcrm: hit, miss, and several keys in one call.
    step('memcexist hit', 'memcexist', 'crlf')
    step('memcexist miss', 'memcexist', 'miss1')
    step('memcexist mixed', 'memcexist', 'crlf', 'miss1')
    file('rmkey', b'to remove')
    step('memccp rmkey', 'memccp', 'rmkey')
    step('memcrm hit', 'memcrm', 'rmkey')
    step('memcrm miss', 'memcrm', 'rmkey')
    step('memccat after memcrm', 'memccat', 'rmkey')

    # Expiry and touch: relative ttl 2, absolute now+2, touched to ttl 2, a ttl 2 item touched to
    # ttl 100 (survives), an absolute exptime in the past (a miss at once); one sleep for all.
    now = int(time.time())
    for key, exp in (('rel', '2'), ('abs', str(now + 2)), ('touched', '0'), ('survivor', '2'),
                     ('past', str(now - 10))):
        file(key, key.encode())
        step('memccp %s' % key, 'memccp', '--expire=' + exp, key)
    step('memctouch hit', 'memctouch', '--expire=2', 'touched')
    step('memctouch miss', 'memctouch', '--expire=2', 'miss1')
    step('memctouch survivor', 'memctouch', '--expire=100', 'survivor')
    step('memccat past', 'memccat', 'past')
    step('memccat before expiry', 'memccat', 'rel', 'abs', 'touched', 'survivor')
    time.sleep(3.2)
    step('memccat after expiry', 'memccat', 'rel', 'abs', 'touched', 'survivor')

    # memcdump lists key names in no fixed order: sorted. memcached's `stats cachedump` lists COLD
    # items only: new items start in HOT and go to COLD within a second (by now, after the sleep);
    # but an item read twice goes to WARM and may or may not come back to COLD, depending on when
    # memcached's LRU maintainer thread runs. So the keys read twice are removed first.
    step('memcrm keys read twice', 'memcrm', 'bin', 'crlf', 'survivor')
    r = run('memcdump', opts=['--servers=' + SERVER] + AUTH)
    r['out'] = sorted(r['out'].splitlines())
    emit('memcdump', r)

    stats('memcstat', keys=('version',) + STATS)
    stats('memcstat settings', 'settings', keys=('item_size_max', 'maxbytes', 'cas_enabled', 'evictions'))
    r = run('memcstat', '--analyze')
    emit('memcstat --analyze', {'rc': r['rc'], 'out': re.findall(r'^\t(.*)$', r['out'], re.M)})

    # flush_all: everything gone after.
    step('memcflush', 'memcflush')
    step('memccat after flush', 'memccat', 'bin', 'crlf', 'survivor', under)

    # memcslap: small bounded runs; timings dropped from its report.
    for test in ('set', 'get'):
        r = run('memcslap', '--concurrency=2', '--execute-number=200', '--test=' + test)
        r['out'] = [re.sub(r'\s*[0-9.]+ seconds\.$', '', line) for line in r['out'].splitlines()]
        emit('memcslap ' + test, r)
    stats('memcstat after memcslap', keys=('cmd_get', 'cmd_set', 'get_hits'))

    emit('done', True)
finally:
    shutil.rmtree(TMP, ignore_errors=True)
