"""Client matrix: pylibmc 1.6.3 (libmemcached), text or binary protocol, over TCP or a unix
socket, and with SASL PLAIN in binary when MC_USERNAME/MC_PASSWORD are set.

Exercises the contract's checklist: binary-safe values, get_multi, add/replace/append/prepend,
gets/cas, delete, incr/decr edges, touch and expiry, item-size limits, key lengths, 32-bit
flags, stats, flush_all and version. Run with Debian's /usr/bin/python3.
"""
import sys

sys.dont_write_bytecode = True
from matrix_common import (PASSWORD, PROTOCOL, SERVER, USERNAME, Calls,
                           add_replace_append_prepend, binary_safe_values, cas_and_delete, check,
                           emit, flag_steps, flush_all, incr_decr_edges, incr_decr_misses,
                           item_size_limits, key_lengths, stable_stats, touch_and_expiry)

sys.path.pop(0)  # this folder's pylibmc.py is this script: import the real library instead
import pylibmc


class FlagsClient(pylibmc.Client):
    """Stores (value, flags) tuples as given and reads back [value, flags]."""
    def serialize(self, value):
        return value

    def deserialize(self, data, flags):
        return [data, flags]


def connect(kind=pylibmc.Client):
    # A unix socket path or 'host:port' string is understood by pylibmc as is.
    return kind([SERVER], binary=PROTOCOL == 'binary', username=USERNAME, password=PASSWORD,
                behaviors={'cas': True})


c = connect()
calls = Calls(c, set=lambda key, value, ttl=0: c.set(key, value, time=ttl),
              get_many=c.get_multi, token_ok=lambda token: isinstance(token, int) and token > 0)

binary_safe_values(calls)

check('get_multi hits and misses', c.get_multi, ['bin', 'miss1', 'crlf', 'miss2', 'empty'])
check('set_multi', c.set_multi, {'m1': b'1', 'm2': b'2'})
check('add_multi', c.add_multi, {'m1': b'x', 'm3': b'3'})
check('delete_multi', c.delete_multi, ['m1', 'm2', 'miss1'])
check('get_multi after delete_multi', c.get_multi, ['m1', 'm2', 'm3'])

add_replace_append_prepend(calls)
cas_and_delete(calls)

incr_decr_edges(calls, decr_9_to_8=False)
check('incr by 2^31-1', c.incr, 'n', 2**31 - 1)  # pylibmc's delta is a C int
check('incr by 2^64-1', c.incr, 'n', 18446744073709551615)
incr_decr_misses(calls)

touch_and_expiry(calls)
item_size_limits(calls)
key_lengths(calls)  # pylibmc refuses the 251-byte key itself

# Flag bit 3 is pylibmc's "zlib-compressed" mark, so 0xFFFFFFFF fails in the client's get.
flagged = connect(FlagsClient)
flag_steps(lambda key, value, flags: flagged.set(key, (value, flags)), flagged.get,
           (0, 1, 0xFFFFFFF7, 0xFFFFFFFF))
flagged.disconnect_all()

# libmemcached's stats struct has only a few fields: these are the stable ones among them.
stats_names = ['curr_items', 'total_items', 'cmd_get', 'cmd_set', 'get_hits', 'get_misses',
               'evictions', 'version']
check('stats', lambda: stable_stats(c.get_stats()[0][1], stats_names))
flush_all(calls)
check('version (pylibmc reads it from stats)', lambda: c.get_stats()[0][1]['version'])
c.disconnect_all()
emit('done', True)
