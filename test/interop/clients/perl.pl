#!/usr/bin/perl
# Client-matrix script for Cache::Memcached and Cache::Memcached::Fast (text protocol, TCP or
# unix socket). Usage: perl perl.pl Cache::Memcached|Cache::Memcached::Fast
# Exercises the checklist in test/interop: binary-safe set/get, multi-get, add/replace,
# append/prepend, cas (::Fast only), delete, incr/decr edges, touch (::Fast only), expiry,
# flush_all, item-size limit, key-length limit, stats (Cache::Memcached only) and version.
# Neither module exposes the 32-bit flags (both use them for their own serialization bits).
# ::Fast gets max_size => 2 * MC_ITEM_MAX so that the over-limit value reaches the server.
use strict;
use warnings;
use JSON::PP;
use Digest::SHA qw(sha1_hex);
use Time::HiRes qw(sleep);

my $module = shift @ARGV or die "usage: $0 Cache::Memcached|Cache::Memcached::Fast\n";
eval "require $module; 1" or die $@;
my $fast = $module eq 'Cache::Memcached::Fast';
my $server = $ENV{MC_SERVER} or die "MC_SERVER not set\n";
my $item_max = $ENV{MC_ITEM_MAX} || 1048576;

my %opts = (servers => [$server]);
$opts{max_size} = 2 * $item_max if $fast;
my $mc = $module->new(\%opts);

my $json = JSON::PP->new->canonical->allow_nonref;
sub emit { print $json->encode([$_[0], $_[1]]), "\n" }
# Results as plain JSON: undef -> null, Perl's boolean "" stays "", everything else a string.
sub r { my $v = shift; defined $v ? "$v" : undef }
sub big { my $v = shift; defined $v ? { len => length($v), sha1 => sha1_hex($v) } : undef }
sub unsupported { emit($_[0], "unsupported: $module has no $_[1]") }

# set/get of binary-safe values
emit('set binary', r($mc->set('bin', "a\x00b\r\nc")));
emit('get binary', r($mc->get('bin')));
emit('set crlf only', r($mc->set('crlf', "\r\n")));
emit('get crlf only', r($mc->get('crlf')));
emit('get miss', r($mc->get('nope')));

# multi-get: hits and misses mixed
$mc->set('m1', 'one');
$mc->set('m3', 'three');
emit('get_multi', $mc->get_multi('m1', 'm2', 'm3', 'm4'));

# add / replace
emit('add new', r($mc->add('a1', 'x')));
emit('add existing', r($mc->add('a1', 'y')));
emit('get after add', r($mc->get('a1')));
emit('replace existing', r($mc->replace('a1', 'z')));
emit('replace missing', r($mc->replace('r-missing', 'z')));
emit('get after replace', [r($mc->get('a1')), r($mc->get('r-missing'))]);

# append / prepend
emit('append existing', r($mc->append('a1', '>')));
emit('prepend existing', r($mc->prepend('a1', '<')));
emit('append missing', r($mc->append('ap-missing', '>')));
emit('prepend missing', r($mc->prepend('ap-missing', '<')));
emit('get after append/prepend', [r($mc->get('a1')), r($mc->get('ap-missing'))]);

# cas
if ($fast) {
    $mc->set('c1', 'v1');
    my $g = $mc->gets('c1');
    emit('gets', defined $g ? $g->[1] : undef);
    emit('cas success', r($mc->cas('c1', $g->[0], 'v2')));
    emit('cas conflict', r($mc->cas('c1', $g->[0], 'v3')));
    emit('get after cas', r($mc->get('c1')));
    emit('cas missing', r($mc->cas('c-missing', $g->[0], 'v')));
    emit('gets missing', r($mc->gets('c-missing')));
} else {
    unsupported('cas', 'gets/cas');
}

# delete
$mc->set('d1', 'x');
emit('delete hit', r($mc->delete('d1')));
emit('delete miss', r($mc->delete('d1')));

# incr / decr edges
$mc->set('n', '5');
emit('incr by 1', r($mc->incr('n')));
emit('decr below zero', r($mc->decr('n', 100)));
$mc->set('n', '18446744073709551615');
emit('incr wraps', r($mc->incr('n', 1)));
$mc->set('n', '10');
emit('incr big delta', r($mc->incr('n', '18446744073709551615')));
$mc->set('txt', 'abc');
emit('incr non-numeric', r($mc->incr('txt', 1)));
emit('get after incr non-numeric', r($mc->get('txt')));
emit('incr missing', r($mc->incr('i-missing', 1)));
emit('decr missing', r($mc->decr('i-missing', 1)));

# touch, relative and absolute expiry (one shared sleep)
$mc->set('ttl-rel', 'r', 2);
$mc->set('ttl-abs', 'a', time() + 2);
$mc->set('ttl-past', 'p', time() - 10);
if ($fast) {
    $mc->set('t-long', 'l', 2);
    $mc->set('t-short', 's');
    emit('touch hit extend', r($mc->touch('t-long', 100)));
    emit('touch hit shorten', r($mc->touch('t-short', 2)));
    emit('touch miss', r($mc->touch('t-missing', 100)));
} else {
    unsupported('touch', 'touch');
}
emit('absolute past', r($mc->get('ttl-past')));
my @timed = ('ttl-rel', 'ttl-abs', ($fast ? ('t-long', 't-short') : ()));
emit('before expiry', $mc->get_multi(@timed));
sleep 3.2;
emit('after expiry', $mc->get_multi(@timed));

# stats (before flush_all: memcached's LRU crawler reclaims flushed items in the background,
# so curr_items after a flush depends on timing)
if ($fast) {
    unsupported('stats', 'stats');
} else {
    my $misc = $mc->stats('misc')->{hosts}{$server}{misc};
    emit('stats', { map { $_ => $misc->{$_} } qw(curr_items total_items get_hits get_misses cmd_set cmd_get) });
}

# flush_all
$mc->set('f1', 'x');
my $flushed = $mc->flush_all;
emit('flush_all', $fast ? [map { r($_) } values %$flushed] : r($flushed));
emit('get after flush', r($mc->get('f1')));

# item size limit
my $under = 'u' x ($item_max - 512);
emit('set under limit', r($mc->set('big', $under)));
emit('get under limit', big($mc->get('big')));
emit('set over limit', r($mc->set('big', 'o' x ($item_max + 1))));
emit('get after over limit', big($mc->get('big')));

# key length
my $k250 = 'k' x 250;
my $k251 = 'k' x 251;
emit('set key 250', r($mc->set($k250, 'v250')));
emit('get key 250', r($mc->get($k250)));
emit('set key 251', r($mc->set($k251, 'v251')));
$mc->disconnect_all;    # the server may answer twice to a rejected set (error, then data line)
emit('get key 251', r($mc->get($k251)));
$mc->disconnect_all;
emit('get after key 251', r($mc->get($k250)));

# flags
emit('flags', "unsupported: $module does not expose item flags");

# version
if ($fast) {
    emit('version', [values %{ $mc->server_versions }]);
} else {
    emit('version', $mc->stats('misc')->{hosts}{$server}{misc}{version});
}

emit('done', JSON::PP::true);
