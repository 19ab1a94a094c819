"""Client matrix: pymemcache 3.5.2 (text protocol only), over TCP or a unix socket.

Exercises the contract's checklist: binary-safe values, get_many, add/replace/append/prepend,
gets/cas, delete, incr/decr edges, touch and expiry, item-size limits, key lengths, 32-bit
flags, stats, flush_all and version. Run with Debian's /usr/bin/python3.
"""
import sys

sys.dont_write_bytecode = True
from matrix_common import (PROTOCOL, SERVER, Calls, add_replace_append_prepend, binary_safe_values,
                           cas_and_delete, check, emit, flag_steps, flush_all, incr_decr_edges,
                           incr_decr_misses, item_size_limits, key_lengths, stable_stats,
                           touch_and_expiry)

sys.path.pop(0)  # this folder's pymemcache.py is this script: import the real library instead
from pymemcache.client.base import Client

if PROTOCOL != 'text':
    sys.exit('pymemcache speaks only the text protocol')


class KeepFlags:
    """A serde that hands back (value, flags) so that flags can be printed."""
    def serialize(self, key, value):
        return value, 0

    def deserialize(self, key, value, flags):
        return [value, flags]


# A unix socket path or 'host:port' string is understood by pymemcache as is.
c = Client(SERVER, default_noreply=False, connect_timeout=5, timeout=10)
calls = Calls(c, set=lambda key, value, ttl=0: c.set(key, value, expire=ttl),
              get_many=c.get_many, token_ok=lambda token: token.isdigit())

binary_safe_values(calls)

check('get_many hits and misses', c.get_many, ['bin', 'miss1', 'crlf', 'miss2', 'empty'])
check('set_many', c.set_many, {'m1': b'1', 'm2': b'2'})
check('set noreply', c.set, 'm3', b'3', noreply=True)
check('delete_many', c.delete_many, ['m1', 'm2', 'miss1'])
check('get_many after delete_many', c.get_many, ['m1', 'm2', 'm3'])

add_replace_append_prepend(calls)
cas_and_delete(calls)

incr_decr_edges(calls, decr_9_to_8=True)
c.set('n', b'5')
check('incr by 2^64-1', c.incr, 'n', 18446744073709551615)
check('decr by 2^64-1', c.decr, 'n', 18446744073709551615)
check('incr by 2^64', c.incr, 'n', 18446744073709551616)
incr_decr_misses(calls)

touch_and_expiry(calls)
item_size_limits(calls)
key_lengths(calls)  # pymemcache refuses the 251-byte key itself

flagged = Client(SERVER, serde=KeepFlags(), default_noreply=False, connect_timeout=5, timeout=10)
flag_steps(lambda key, value, flags: flagged.set(key, value, flags=flags), flagged.get,
           (0, 1, 0xFFFFFFFF))
flagged.close()

check('stats', lambda: stable_stats(c.stats()))
flush_all(calls)
check('version', c.version)
c.close()
emit('done', True)
