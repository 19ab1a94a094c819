# Client matrix: Dalli 3.0.6 (Ruby, memcached's binary protocol only), over TCP or a unix socket
# (MC_SERVER), with SASL PLAIN when MC_USERNAME/MC_PASSWORD are set. Prints one JSON array per
# checklist step (see test/interop/client-matrix.test.ts); values are stored raw (no Marshal, no
# compression) so that the bytes on the wire are the bytes printed.
require 'dalli'
require 'digest/sha1'
require 'json'
require 'logger'

$stdout.sync = true
Dalli.logger = Logger.new($stderr, level: Logger::WARN) # Dalli's default logger writes to stdout

# One transcript line: strings as latin1 (binary-safe), an exception as its class (and, for a
# binary status Dalli reports, that status's name: Dalli's own text for the code).
def emit(step, value)
  value = value.dup.force_encoding('ISO-8859-1').encode('UTF-8') if value.is_a?(String)
  puts JSON.generate([step, value])
end

def attempt
  yield
rescue StandardError => e
  status = e.message[/\AResponse error \d+: (.*)\z/, 1]
  status ? { 'error' => e.class.name, 'status' => status } : { 'error' => e.class.name }
end

def digest(value)
  value.nil? ? nil : { 'length' => value.bytesize, 'sha1' => Digest::SHA1.hexdigest(value) }
end

item_max = Integer(ENV.fetch('MC_ITEM_MAX'))
options = { compress: false, value_max_bytes: 2 * item_max, socket_timeout: 2 }
options.merge!(username: ENV['MC_USERNAME'], password: ENV['MC_PASSWORD']) if ENV['MC_USERNAME']
dc = Dalli::Client.new(ENV.fetch('MC_SERVER'), options)
RAW = { raw: true }.freeze

# Binary-safe values.
emit 'set bin', dc.set('bin', "a\x00b\r\nc", 0, RAW)
emit 'get bin', dc.get('bin')
emit 'set crlf', dc.set('crlf', "\r\n", 0, RAW)
emit 'get crlf', dc.get('crlf')
emit 'set empty', dc.set('empty', '', 0, RAW)
emit 'get empty', dc.get('empty')

# Multi-get, hits and misses mixed (Dalli: GETKQ... NOOP).
multi = dc.get_multi('bin', 'nope1', 'crlf', 'nope2')
emit 'get_multi', multi.keys.sort.to_h { |k| [k, multi[k].dup.force_encoding('ISO-8859-1').encode('UTF-8')] }

emit 'add new', dc.add('added', 'first', 0, RAW)
emit 'add existing', dc.add('added', 'second', 0, RAW)
emit 'get added', dc.get('added')
emit 'replace existing', dc.replace('added', 'replaced', 0, RAW)
emit 'replace missing', dc.replace('nope', 'x', 0, RAW)
emit 'get replaced', dc.get('added')

emit 'append existing', dc.append('added', '>>')
emit 'prepend existing', dc.prepend('added', '<<')
emit 'get appended', dc.get('added')
emit 'append missing', dc.append('nope', 'x')
emit 'prepend missing', dc.prepend('nope', 'x')

# CAS: Dalli's get_cas / set_cas. Stores return the item's CAS (Dalli reads it little-endian).
dc.set('cas', 'v1', 0, RAW)
_, cas = dc.get_cas('cas')
emit 'gets cas', cas
new_cas = dc.set_cas('cas', 'v2', cas, 0, RAW)
emit 'cas success', new_cas
dc.set('cas', 'other writer', 0, RAW)
emit 'cas conflict', dc.set_cas('cas', 'v3', new_cas, 0, RAW)
emit 'get cas', dc.get('cas')
emit 'cas missing', dc.set_cas('nope', 'v', 12_345, 0, RAW)
emit 'cas block missing', dc.cas('nope') { |v| "#{v}!" }
emit 'cas block', dc.cas('cas') { |v| "#{v}!" }
emit 'get cas block', dc.get('cas')

emit 'delete hit', dc.delete('added')
emit 'delete miss', dc.delete('added')

# incr/decr edges (Dalli sends an initial-value expiry of 0xFFFFFFFF: no auto-create).
dc.set('n', '10', 0, RAW)
emit 'incr 1', dc.incr('n', 1)
emit 'decr 100', dc.decr('n', 100)
emit 'get n', dc.get('n')
emit 'incr max', dc.incr('n', 18_446_744_073_709_551_615)
emit 'incr wraps', dc.incr('n', 1)
emit 'get n wrapped', dc.get('n')
emit 'incr non-numeric', attempt { dc.incr('bin', 1) }
emit 'incr missing', dc.incr('nope', 1)
emit 'decr missing', dc.decr('nope', 1)
emit 'incr missing with initial', dc.incr('counter', 5, 0, 7)
emit 'get counter', dc.get('counter')

# Expiry and touch: all set at once, one sleep.
dc.set('ttl', 'rel', 2, RAW)
dc.set('abs', 'abs', Time.now.to_i + 2, RAW)
dc.set('touch keep', 'keep', 2, RAW)
dc.set('touch expire', 'expire', 0, RAW)
emit 'touch hit', dc.touch('touch keep', 100)
emit 'touch to 2', dc.touch('touch expire', 2)
emit 'touch miss', dc.touch('nope', 100)
emit 'before sleep', %w[ttl abs touch\ keep touch\ expire].map { |k| dc.get(k) }
emit 'absolute past', 'unsupported: Dalli turns a past unix time (> 30 days) into now + that many seconds'
sleep 3.2
emit 'after sleep', %w[ttl abs touch\ keep touch\ expire].map { |k| dc.get(k) }

# Every key stored before the flush is read after it, so that curr_items does not depend on when
# memcached's LRU maintainer gets to the flushed items.
emit 'flush', dc.flush
emit 'after flush', ['bin', 'crlf', 'empty', 'cas', 'n', 'counter', 'touch keep'].map { |k| dc.get(k) }

# Item size limit (Dalli's own limit is raised so that the server decides).
under = 'abcdefghijklmnopqrstuvwxyz0123456789' * ((item_max - 512) / 36 + 1)
under = under[0, item_max - 512]
emit 'set under limit', dc.set('big', under, 0, RAW)
emit 'get under limit', digest(dc.get('big'))
emit 'set over limit', attempt { dc.set('big', 'z' * (item_max + 1), 0, RAW) }
emit 'get after over limit', digest(dc.get('big'))

# Key length: Dalli shortens a key over 250 bytes itself (a prefix and an MD5), so 251 works.
emit 'set key 250', dc.set('k' * 250, '250', 0, RAW)
emit 'get key 250', dc.get('k' * 250)
emit 'set key 251', dc.set('k' * 251, '251', 0, RAW)
emit 'get key 251', dc.get('k' * 251)

emit 'flags', 'unsupported: Dalli sets flags itself (0 raw, 1 Marshal, 2 compressed)'

stats = dc.stats.values.first
emit 'stats', %w[curr_items total_items get_hits get_misses cmd_get cmd_set cmd_touch
                 delete_hits delete_misses incr_hits incr_misses decr_hits decr_misses
                 cas_hits cas_badval cas_misses touch_hits touch_misses version].to_h { |k| [k, stats[k]] }
emit 'version', dc.version.values.first

dc.close
emit 'done', true
