"""Shared helpers for the Python client scripts of the client matrix (see client-matrix.test.ts).

Reads the run's environment, prints one JSON array per line, and turns values into
deterministic JSON: bytes as latin1 strings, big values as length + sha1, exceptions as
{"error": ClassName}. Also holds the checklist steps that pymemcache.py and pylibmc.py run
alike, made through a Calls adapter; each script keeps the steps only its client has.
"""
import hashlib
import json
import os
import sys
import time

SERVER = os.environ['MC_SERVER']
PROTOCOL = os.environ.get('MC_PROTOCOL', 'text')
USERNAME = os.environ.get('MC_USERNAME')
PASSWORD = os.environ.get('MC_PASSWORD')
ITEM_MAX = int(os.environ.get('MC_ITEM_MAX', '1048576'))
IS_UNIX = SERVER.startswith('/')

# Counters that depend only on the commands sent (not on time, connections or memory layout).
# Not get_expired: memcached's LRU crawler and maintainer threads may reclaim an expired item
# before a get finds it (seen: 3 against 4 for the same session), on their own schedule.
STABLE_STATS = ['curr_items', 'total_items', 'cmd_get', 'cmd_set', 'cmd_touch', 'get_hits',
                'get_misses', 'delete_hits', 'delete_misses', 'incr_hits',
                'incr_misses', 'decr_hits', 'decr_misses', 'cas_hits', 'cas_misses', 'cas_badval',
                'touch_hits', 'touch_misses', 'version']


def plain(value):
    """A JSON-friendly copy of a client result."""
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).decode('latin1')
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in sorted(value.items())}
    return value


def emit(step, value):
    print(json.dumps([step, plain(value)], separators=(',', ':')), flush=True)


def check(step, action, *args, **kwargs):
    """Runs action(*args, **kwargs), prints its result (or the exception's class name), returns it."""
    try:
        value = action(*args, **kwargs)
    except Exception as error:  # the class name is the stable part; messages may differ
        value = {'error': type(error).__name__}
    emit(step, value)
    return value


def digest(value):
    """Length and sha1 of a large value (None stays None)."""
    if not isinstance(value, (bytes, bytearray)):
        return value
    return {'len': len(value), 'sha1': hashlib.sha1(value).hexdigest()}


def big_value(size, seed):
    """A deterministic, non-repeating-looking value of `size` bytes."""
    block = hashlib.sha256(seed.encode()).digest() * 32
    return (block * (size // len(block) + 1))[:size]


def stable_stats(stats, names=STABLE_STATS):
    """The named entries of a stats dict whose keys and values may be bytes."""
    stats = {plain(k): plain(v) for k, v in stats.items()}
    return {name: stats.get(name) for name in names}


def now_unix():
    return int(time.time())



# ---------------------------------------------------------------------------------------------
# Checklist steps shared by the Python clients


class Calls:
    """One client's calls as the shared steps make them.

    The clients spell get, add, replace, append, prepend, delete, gets, cas, incr, decr, touch
    and flush_all alike, so those are the client's own methods. A script passes the rest:
    set(key, value, ttl=0), get_many(keys) -> {key: value}, and token_ok(token), whether a
    token from gets looks like a CAS token.
    """
    def __init__(self, client, set, get_many, token_ok):
        for name in ('get', 'add', 'replace', 'append', 'prepend', 'delete', 'gets', 'cas',
                     'incr', 'decr', 'touch', 'flush_all'):
            setattr(self, name, getattr(client, name))
        self.set = set
        self.get_many = get_many
        self.token_ok = token_ok


def binary_safe_values(c):
    check('set 0x00 and \\r\\n inside', c.set, 'bin', b'a\x00b\r\nc')
    check('get 0x00 and \\r\\n inside', c.get, 'bin')
    check('set only \\r\\n', c.set, 'crlf', b'\r\n')
    check('get only \\r\\n', c.get, 'crlf')
    check('set empty', c.set, 'empty', b'')
    check('get empty', c.get, 'empty')


def add_replace_append_prepend(c):
    check('add new', c.add, 'added', b'first')
    check('add existing', c.add, 'added', b'second')
    check('get added', c.get, 'added')
    check('replace existing', c.replace, 'added', b'third')
    check('replace missing', c.replace, 'unreplaced', b'x')
    check('get replaced', c.get, 'added')
    check('get replace missing', c.get, 'unreplaced')

    c.set('ap', b'mid')
    check('append existing', c.append, 'ap', b'>')
    check('prepend existing', c.prepend, 'ap', b'<')
    check('get appended', c.get, 'ap')
    check('append missing', c.append, 'unappended', b'>')
    check('prepend missing', c.prepend, 'unappended', b'<')
    check('get append missing', c.get, 'unappended')


def cas_and_delete(c):
    c.set('cas', b'v1')
    value, token = c.gets('cas')
    emit('gets', [value, c.token_ok(token)])
    check('cas success', c.cas, 'cas', b'v2', token)
    check('get after cas', c.get, 'cas')
    value, token = c.gets('cas')
    c.set('cas', b'other writer')
    check('cas conflict', c.cas, 'cas', b'v3', token)
    check('get after cas conflict', c.get, 'cas')
    check('cas missing', c.cas, 'uncased', b'x', token)
    check('gets missing', c.gets, 'uncased')

    c.set('del', b'x')
    check('delete hit', c.delete, 'del')
    check('delete miss', c.delete, 'del')
    check('get deleted', c.get, 'del')


def incr_decr_edges(c, decr_9_to_8):
    """Clamping at zero, shrinking digits and wrapping at 2^64-1; leaves 'n' at 0.

    The caller follows with its client's large-delta steps, then incr_decr_misses.
    """
    c.set('n', b'10')
    check('incr 1', c.incr, 'n', 1)
    check('decr below zero', c.decr, 'n', 100)
    check('get after decr', c.get, 'n')
    if decr_9_to_8:
        c.set('n', b'9')
        check('decr 9 to 8', c.decr, 'n', 1)
    c.set('n', b'100')
    check('decr 100 to 99', c.decr, 'n', 1)
    check('get after shorter decr', c.get, 'n')
    c.set('n', b'18446744073709551615')
    check('incr across 2^64-1', c.incr, 'n', 1)


def incr_decr_misses(c):
    check('incr non-numeric', c.incr, 'bin', 1)
    check('incr missing', c.incr, 'unnumbered', 1)
    check('decr missing', c.decr, 'unnumbered', 1)


def touch_and_expiry(c):
    """Everything expires during one sleep."""
    now = now_unix()
    check('set ttl 2', c.set, 'rel', b'r', 2)
    check('set exptime now+2', c.set, 'abs', b'a', now + 2)
    c.set('touched', b't')
    check('touch to ttl 2', c.touch, 'touched', 2)
    c.set('kept', b'k', 2)
    check('touch to ttl 100', c.touch, 'kept', 100)
    check('touch miss', c.touch, 'untouched', 100)
    check('set exptime in the past', c.set, 'past', b'p', now - 100)
    check('get exptime in the past', c.get, 'past')
    timed = ['rel', 'abs', 'touched', 'kept']
    check('get timed at once', c.get_many, timed)
    time.sleep(3.2)
    check('get timed after 3.2 s', c.get_many, timed)


def item_size_limits(c):
    """A too-large set also drops the previous value, as memcached does."""
    check('set MC_ITEM_MAX - 512', c.set, 'big', big_value(ITEM_MAX - 512, 'under'))
    check('get MC_ITEM_MAX - 512', lambda: digest(c.get('big')))
    check('set MC_ITEM_MAX + 1', c.set, 'big', big_value(ITEM_MAX + 1, 'over'))
    check('get after MC_ITEM_MAX + 1', lambda: digest(c.get('big')))


def key_lengths(c):
    check('set 250-byte key', c.set, 'k' * 250, b'v250')
    check('get 250-byte key', c.get, 'k' * 250)
    check('set 251-byte key', c.set, 'k' * 251, b'v251')
    check('get 251-byte key', c.get, 'k' * 251)


def flag_steps(set_with_flags, get, values):
    """Stores b'f' under 'flags' with each of `values`; get must read back [value, flags]."""
    for flags in values:
        check(f'set flags {flags}', set_with_flags, 'flags', b'f', flags)
        check(f'get flags {flags}', get, 'flags')


def flush_all(c):
    check('flush_all', c.flush_all)
    check('get after flush_all', c.get_many, ['bin', 'crlf', 'added', 'ap', 'cas', 'n', 'kept'])
