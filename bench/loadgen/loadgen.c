// Load generator for memcached's text protocol: one thread, epoll, --conns connections each
// keeping --pipeline requests in flight; prints one JSON object of throughput, hit counts and a
// latency histogram's percentiles. Written in C so the client is not the bottleneck (issue 6).
// Build: cc -O2 -Wall -Wextra -o build/loadgen bench/loadgen/loadgen.c   (Linux only)

#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <fcntl.h>

#define MAX_KEY_LENGTH 250          // protocol.txt, "Keys"
#define MAX_LINE 2048               // a reply line longer than this means we lost the framing
#define STALL_NS (10ull * 1000000000ull) // no reply for this long with requests in flight: give up
#define PREFILL_BYTES_IN_FLIGHT (512u * 1024u) // per connection, bounds prefill's pipeline depth
#define PREFILL_MAX_DEPTH 64u
#define READ_CHUNK (64u * 1024u)

static const char CRLF[] = "\r\n";

// ---- options -------------------------------------------------------------------------------

static struct {
    const char *host;
    const char *port;
    unsigned conns;
    double duration, warmup;
    unsigned keys, key_size, value_size;
    double get_ratio;
    unsigned pipeline, multiget;
    int prefill, prefill_only;
} opt = {
    .host = "127.0.0.1", .port = "11211", .conns = 50, .duration = 5, .warmup = 1,
    .keys = 10000, .key_size = 16, .value_size = 32, .get_ratio = 0.9,
    .pipeline = 1, .multiget = 1, .prefill = 0, .prefill_only = 0,
};

static void usage(FILE *f) {
    fprintf(f,
        "usage: loadgen [options]\n"
        "  --host H           server address (127.0.0.1)\n"
        "  --port P           server port (11211)\n"
        "  --conns N          connections (50)\n"
        "  --duration S       measured seconds (5)\n"
        "  --warmup S         seconds run before measuring, not counted (1)\n"
        "  --keys N           key space, keys chosen uniformly (10000)\n"
        "  --key-size N       key length in bytes, 'key:<zero-padded index>' (16)\n"
        "  --value-size N     value length in bytes (32)\n"
        "  --get-ratio R      fraction of requests that are gets, the rest sets (0.9)\n"
        "  --pipeline N       requests in flight per connection (1)\n"
        "  --multiget N       keys per get request, 'get k1 ... kN' (1)\n"
        "  --prefill          set every key once before the warmup\n"
        "  --prefill-only     set every key once, report that, and exit\n"
        "  --help             this text\n"
        "Prints one JSON object on stdout: ops (requests; a multi-get is one), seconds,\n"
        "ops_per_sec, gets, sets, keys_requested, hits, misses, errors, p50_us, p90_us,\n"
        "p99_us, p999_us, conns, pipeline, multiget. Exits 1 if a connection fails.\n");
}

static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("loadgen: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static unsigned parse_uint(const char *name, const char *s, unsigned lo, unsigned hi) {
    char *end;
    errno = 0;
    unsigned long v = strtoul(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-' || v < lo || v > hi)
        die("--%s: expected an integer in [%u, %u], got '%s'", name, lo, hi, s);
    return (unsigned)v;
}

static double parse_double(const char *name, const char *s, double lo, double hi) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        die("--%s: expected a number in [%g, %g], got '%s'", name, lo, hi, s);
    return v;
}

static unsigned digits(unsigned v) {
    unsigned n = 1;
    while (v >= 10) { v /= 10; n++; }
    return n;
}

static void parse_options(int argc, char **argv) {
    enum { O_HOST = 256, O_PORT, O_CONNS, O_DURATION, O_WARMUP, O_KEYS, O_KEY_SIZE, O_VALUE_SIZE,
           O_GET_RATIO, O_PIPELINE, O_MULTIGET, O_PREFILL, O_PREFILL_ONLY, O_HELP };
    static const struct option longopts[] = {
        {"host", required_argument, 0, O_HOST},
        {"port", required_argument, 0, O_PORT},
        {"conns", required_argument, 0, O_CONNS},
        {"duration", required_argument, 0, O_DURATION},
        {"warmup", required_argument, 0, O_WARMUP},
        {"keys", required_argument, 0, O_KEYS},
        {"key-size", required_argument, 0, O_KEY_SIZE},
        {"value-size", required_argument, 0, O_VALUE_SIZE},
        {"get-ratio", required_argument, 0, O_GET_RATIO},
        {"pipeline", required_argument, 0, O_PIPELINE},
        {"multiget", required_argument, 0, O_MULTIGET},
        {"prefill", no_argument, 0, O_PREFILL},
        {"prefill-only", no_argument, 0, O_PREFILL_ONLY},
        {"help", no_argument, 0, O_HELP},
        {0, 0, 0, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case O_HOST: opt.host = optarg; break;
        case O_PORT: parse_uint("port", optarg, 1, 65535); opt.port = optarg; break;
        case O_CONNS: opt.conns = parse_uint("conns", optarg, 1, 100000); break;
        case O_DURATION: opt.duration = parse_double("duration", optarg, 0.001, 86400); break;
        case O_WARMUP: opt.warmup = parse_double("warmup", optarg, 0, 86400); break;
        case O_KEYS: opt.keys = parse_uint("keys", optarg, 1, 1000000000); break;
        case O_KEY_SIZE: opt.key_size = parse_uint("key-size", optarg, 5, MAX_KEY_LENGTH); break;
        case O_VALUE_SIZE: opt.value_size = parse_uint("value-size", optarg, 0, 1u << 30); break;
        case O_GET_RATIO: opt.get_ratio = parse_double("get-ratio", optarg, 0, 1); break;
        case O_PIPELINE: opt.pipeline = parse_uint("pipeline", optarg, 1, 4096); break;
        case O_MULTIGET: opt.multiget = parse_uint("multiget", optarg, 1, 1000); break;
        case O_PREFILL: opt.prefill = 1; break;
        case O_PREFILL_ONLY: opt.prefill = opt.prefill_only = 1; break;
        case O_HELP: usage(stdout); exit(0);
        default: usage(stderr); exit(2);
        }
    }
    if (optind < argc) { fprintf(stderr, "loadgen: unexpected argument '%s'\n", argv[optind]); usage(stderr); exit(2); }
    if (opt.key_size < 4 + digits(opt.keys - 1))
        die("--key-size %u is too short for 'key:' and %u digits (--keys %u)",
            opt.key_size, digits(opt.keys - 1), opt.keys);
}

// ---- clock, random numbers, keys, values --------------------------------------------------------

static uint64_t now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

// xorshift64*, seeded per connection through splitmix64 so nearby seeds give unrelated streams
static uint64_t rng_seed(uint64_t x) {
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x ? x : 1;
}

static uint64_t rng_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint32_t rng_below(uint64_t *s, uint32_t n) {
    return (uint32_t)(((rng_next(s) >> 32) * (uint64_t)n) >> 32);
}

// "key:" then the index zero-padded to fill key_size bytes
static void format_key(char *dst, uint32_t index) {
    memcpy(dst, "key:", 4);
    for (unsigned i = opt.key_size; i > 4; i--) {
        dst[i - 1] = (char)('0' + index % 10);
        index /= 10;
    }
}

static char *value_bytes; // value_size deterministic printable bytes, the same for every key

static void make_value(void) {
    value_bytes = malloc(opt.value_size + 1);
    if (!value_bytes) die("out of memory");
    uint64_t s = rng_seed(0x76616c7565ull);
    for (unsigned i = 0; i < opt.value_size; i++)
        value_bytes[i] = (char)('!' + rng_next(&s) % 94);
}

// ---- latency histogram --------------------------------------------------------------------------
// Log-linear over nanoseconds: exact below 1024 ns, then every power of two [2^k, 2^(k+1)) is cut
// into 512 equal buckets (relative error under 0.2%, about 1 us at 1 ms); values clamp at 10 s.

#define HIST_LINEAR 1024u
#define HIST_SUB 512u
#define HIST_MAX_NS 10000000000ull
#define HIST_OCTAVES 24u // 2^10 .. 2^34 ns covers 10 s
#define HIST_BUCKETS (HIST_LINEAR + HIST_OCTAVES * HIST_SUB)

static unsigned hist_index(uint64_t v) {
    if (v > HIST_MAX_NS) v = HIST_MAX_NS;
    if (v < HIST_LINEAR) return (unsigned)v;
    unsigned k = 63u - (unsigned)__builtin_clzll(v); // k >= 10
    unsigned shift = k - 9;                          // v >> shift lies in [512, 1024)
    return HIST_LINEAR + (k - 10) * HIST_SUB + (unsigned)((v >> shift) - HIST_SUB);
}

// the middle of a bucket, in ns
static double hist_value(unsigned i) {
    if (i < HIST_LINEAR) return i;
    unsigned k = (i - HIST_LINEAR) / HIST_SUB + 10;
    unsigned shift = k - 9;
    uint64_t low = ((uint64_t)((i - HIST_LINEAR) % HIST_SUB) + HIST_SUB) << shift;
    return (double)low + (double)(1ull << shift) / 2.0;
}

struct stats {
    uint64_t ops, gets, sets, keys_requested, hits, misses, errors;
    uint64_t hist[HIST_BUCKETS];
};

static double hist_percentile_us(const struct stats *st, double p) {
    if (st->ops == 0) return 0;
    uint64_t rank = (uint64_t)(p * (double)st->ops + 0.999999999);
    if (rank < 1) rank = 1;
    uint64_t seen = 0;
    for (unsigned i = 0; i < HIST_BUCKETS; i++) {
        seen += st->hist[i];
        if (seen >= rank) return hist_value(i) / 1000.0;
    }
    return hist_value(HIST_BUCKETS - 1) / 1000.0;
}

// ---- connections ----------------------------------------------------------------------------------

struct request {
    uint64_t sent_ns;
    uint32_t *keys;   // the key indices asked for, in order (a get's VALUEs come back in this order)
    uint32_t nkeys;
    uint8_t is_get;
};

struct conn {
    int fd;
    unsigned id;
    uint64_t rng;
    int watching_out;
    char *rbuf; size_t rcap, rpos, rlen, rneed; // rneed: bytes a partial reply needs from rpos
    char *wbuf; size_t wcap, wpos, wlen;
    struct request *ring; uint32_t *ring_keys; unsigned ring_size, head, inflight;
    // the reply being parsed for ring[head]
    unsigned reply_hits, reply_match, reply_errors;
};

enum phase { PHASE_PREFILL, PHASE_RUN };

static struct conn *conns;
static int epfd;
static enum phase phase;
static unsigned depth;                 // requests in flight per connection in this phase
static uint32_t prefill_next, prefill_done;
static uint64_t measure_start, measure_end, last_progress;
static struct stats run_stats, prefill_stats;
static uint64_t bad_values, error_lines; // only the first few are shown on stderr

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n);
    if (!p) die("out of memory");
    return p;
}

static void wbuf_reserve(struct conn *c, size_t n) {
    if (c->wlen + n <= c->wcap) return;
    size_t cap = c->wcap ? c->wcap : 4096;
    while (cap < c->wlen + n) cap *= 2;
    c->wbuf = xrealloc(c->wbuf, cap);
    c->wcap = cap;
}

static void set_events(struct conn *c, int want_out) {
    if (c->watching_out == want_out) return;
    struct epoll_event ev = { .events = EPOLLIN | (want_out ? EPOLLOUT : 0), .data.ptr = c };
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
    c->watching_out = want_out;
}

static void flush(struct conn *c) {
    while (c->wpos < c->wlen) {
        ssize_t n = write(c->fd, c->wbuf + c->wpos, c->wlen - c->wpos);
        if (n < 0) {
            if (errno == EINTR) continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) { set_events(c, 1); return; }
            die("connection %u: write: %s", c->id, strerror(errno));
        }
        c->wpos += (size_t)n;
    }
    c->wpos = c->wlen = 0;
    set_events(c, 0);
}

static void append(struct conn *c, const char *s, size_t n) {
    memcpy(c->wbuf + c->wlen, s, n);
    c->wlen += n;
}

static void append_set(struct conn *c, uint32_t key) {
    char header[64];
    int hn = snprintf(header, sizeof header, " 0 0 %u\r\n", opt.value_size);
    wbuf_reserve(c, 4 + opt.key_size + (size_t)hn + opt.value_size + 2);
    append(c, "set ", 4);
    format_key(c->wbuf + c->wlen, key);
    c->wlen += opt.key_size;
    append(c, header, (size_t)hn);
    append(c, value_bytes, opt.value_size);
    append(c, CRLF, 2);
}

static void append_get(struct conn *c, const uint32_t *keys, unsigned n) {
    wbuf_reserve(c, 3 + (size_t)n * (1 + opt.key_size) + 2);
    append(c, "get", 3);
    for (unsigned i = 0; i < n; i++) {
        c->wbuf[c->wlen++] = ' ';
        format_key(c->wbuf + c->wlen, keys[i]);
        c->wlen += opt.key_size;
    }
    append(c, CRLF, 2);
}

// Queue requests until the connection has `depth` in flight, then write them in one go.
static void fill(struct conn *c, uint64_t now) {
    if (phase == PHASE_RUN && now >= measure_end) return;
    unsigned queued = 0;
    uint64_t sent = now_ns();
    while (c->inflight < depth) {
        unsigned tail = (c->head + c->inflight) % c->ring_size;
        struct request *r = &c->ring[tail];
        r->sent_ns = sent;
        if (phase == PHASE_PREFILL) {
            if (prefill_next >= opt.keys) break;
            r->is_get = 0;
            r->nkeys = 1;
            r->keys[0] = prefill_next++;
            append_set(c, r->keys[0]);
        } else {
            // compare 53 random bits with the ratio, so 0 and 1 are exact
            r->is_get = (double)(rng_next(&c->rng) >> 11) < opt.get_ratio * 9007199254740992.0;
            r->nkeys = r->is_get ? opt.multiget : 1;
            for (unsigned i = 0; i < r->nkeys; i++) r->keys[i] = rng_below(&c->rng, opt.keys);
            if (r->is_get) append_get(c, r->keys, r->nkeys);
            else append_set(c, r->keys[0]);
        }
        c->inflight++;
        queued++;
    }
    if (queued && !c->watching_out) flush(c);
}

static void complete(struct conn *c, uint64_t now) {
    struct request *r = &c->ring[c->head];
    struct stats *st = NULL;
    if (phase == PHASE_PREFILL) {
        st = &prefill_stats;
        prefill_done++;
    } else if (now >= measure_start && now < measure_end) {
        st = &run_stats;
    }
    if (st) {
        st->ops++;
        if (r->is_get) st->gets++; else st->sets++;
        st->keys_requested += r->nkeys;
        if (c->reply_errors) {
            st->errors++;
        } else if (r->is_get) {
            st->hits += c->reply_hits;
            st->misses += r->nkeys - c->reply_hits;
        }
        uint64_t lat = now > r->sent_ns ? now - r->sent_ns : 0;
        st->hist[hist_index(lat)]++;
    }
    c->head = (c->head + 1) % c->ring_size;
    c->inflight--;
    c->reply_hits = c->reply_match = c->reply_errors = 0;
    last_progress = now;
}

static int line_is(const char *line, size_t n, const char *word) {
    size_t w = strlen(word);
    return n == w && memcmp(line, word, w) == 0;
}

// strict decimal within [0, 2^32), for the flags and bytes fields of a VALUE line
static int parse_u32(const char *s, size_t n, uint32_t *out) {
    if (n == 0 || n > 10) return 0;
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return 0;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v > UINT32_MAX) return 0;
    *out = (uint32_t)v;
    return 1;
}

// Handle "VALUE <key> <flags> <bytes>[ <cas>]\r\n<data>\r\n" at rpos; 0 if more bytes are needed.
static int parse_value(struct conn *c, const char *line, size_t n) {
    const char *tok[5]; size_t len[5]; unsigned nt = 0;
    size_t i = 6; // past "VALUE "
    while (i < n && nt < 5) {
        size_t start = i;
        while (i < n && line[i] != ' ') i++;
        if (i == start) die("connection %u: malformed VALUE line '%.*s'", c->id, (int)n, line);
        tok[nt] = line + start; len[nt] = i - start; nt++;
        if (i < n) i++;
    }
    uint32_t flags, bytes;
    if (i < n || nt < 3 || nt > 4 || !parse_u32(tok[1], len[1], &flags) || !parse_u32(tok[2], len[2], &bytes))
        die("connection %u: malformed VALUE line '%.*s'", c->id, (int)n, line);
    size_t need = n + 2 + (size_t)bytes + 2;
    if (c->rlen - c->rpos < need) { c->rneed = need; return 0; }
    const char *data = line + n + 2;
    if (memcmp(data + bytes, CRLF, 2) != 0)
        die("connection %u: VALUE data of %u bytes not followed by \\r\\n", c->id, bytes);

    // the hits come back in the order the keys were asked for, skipping misses
    struct request *r = &c->ring[c->head];
    char want[MAX_KEY_LENGTH];
    int found = 0;
    if (len[0] == opt.key_size) {
        while (c->reply_match < r->nkeys) {
            format_key(want, r->keys[c->reply_match++]);
            if (memcmp(want, tok[0], opt.key_size) == 0) { found = 1; break; }
        }
    }
    if (!found) {
        if (error_lines++ < 3)
            fprintf(stderr, "loadgen: connection %u: unexpected VALUE for '%.*s'\n", c->id, (int)len[0], tok[0]);
        c->reply_errors++;
    } else if (bytes == opt.value_size && memcmp(data, value_bytes, bytes) != 0) {
        // only a value of our own size is checked: another run may have stored other sizes
        if (bad_values++ == 0)
            fprintf(stderr, "loadgen: connection %u: wrong value bytes for '%.*s'\n", c->id, (int)len[0], tok[0]);
        c->reply_errors++;
    } else {
        c->reply_hits++;
    }
    c->rpos += need;
    c->rneed = 0;
    return 1;
}

// Consume every complete reply in the read buffer, oldest request first.
static void parse(struct conn *c, uint64_t now) {
    while (c->rpos < c->rlen) {
        if (c->inflight == 0)
            die("connection %u: %zu unexpected bytes from the server: '%.*s'", c->id,
                c->rlen - c->rpos, (int)(c->rlen - c->rpos > 80 ? 80 : c->rlen - c->rpos), c->rbuf + c->rpos);
        if (c->rneed && c->rlen - c->rpos < c->rneed) return;
        const char *line = c->rbuf + c->rpos;
        size_t avail = c->rlen - c->rpos;
        const char *eol = memmem(line, avail > MAX_LINE + 2 ? MAX_LINE + 2 : avail, CRLF, 2);
        if (!eol) {
            if (avail > MAX_LINE + 1) die("connection %u: reply line longer than %u bytes", c->id, MAX_LINE);
            return;
        }
        size_t n = (size_t)(eol - line);
        struct request *r = &c->ring[c->head];
        if (r->is_get && n > 6 && memcmp(line, "VALUE ", 6) == 0) {
            if (!parse_value(c, line, n)) return;
            continue;
        }
        c->rpos += n + 2;
        if (r->is_get ? !line_is(line, n, "END") : !line_is(line, n, "STORED")) {
            // ERROR, CLIENT_ERROR, SERVER_ERROR, NOT_STORED...: each ends its reply
            c->reply_errors++;
            if (error_lines++ < 3)
                fprintf(stderr, "loadgen: connection %u: %s reply '%.*s'\n", c->id,
                        r->is_get ? "get" : "set", (int)n, line);
        }
        complete(c, now);
    }
}

static void do_read(struct conn *c) {
    if (c->rpos == c->rlen) c->rpos = c->rlen = 0;
    size_t want = c->rneed > READ_CHUNK ? c->rneed : READ_CHUNK;
    if (c->rcap - c->rlen < READ_CHUNK || c->rcap - c->rpos < want) {
        memmove(c->rbuf, c->rbuf + c->rpos, c->rlen - c->rpos);
        c->rlen -= c->rpos;
        c->rpos = 0;
        size_t cap = c->rcap;
        while (cap - c->rlen < READ_CHUNK || cap < want) cap *= 2;
        if (cap != c->rcap) { c->rbuf = xrealloc(c->rbuf, cap); c->rcap = cap; }
    }
    ssize_t n;
    do n = read(c->fd, c->rbuf + c->rlen, c->rcap - c->rlen); while (n < 0 && errno == EINTR);
    if (n == 0) die("connection %u: closed by the server (%u requests in flight)", c->id, c->inflight);
    if (n < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK) return;
        die("connection %u: read: %s", c->id, strerror(errno));
    }
    c->rlen += (size_t)n;
    parse(c, now_ns());
}

static void open_conns(unsigned ring_size) {
    struct addrinfo hints = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM }, *ai;
    int rc = getaddrinfo(opt.host, opt.port, &hints, &ai);
    if (rc) die("%s:%s: %s", opt.host, opt.port, gai_strerror(rc));
    epfd = epoll_create1(0);
    if (epfd < 0) die("epoll_create1: %s", strerror(errno));
    conns = calloc(opt.conns, sizeof *conns);
    if (!conns) die("out of memory");
    for (unsigned i = 0; i < opt.conns; i++) {
        struct conn *c = &conns[i];
        c->id = i;
        c->rng = rng_seed(0x6c6f616467656eull + i);
        c->fd = socket(ai->ai_family, SOCK_STREAM, 0);
        if (c->fd < 0) die("socket: %s", strerror(errno));
        if (connect(c->fd, ai->ai_addr, ai->ai_addrlen) < 0)
            die("connection %u: connect to %s:%s: %s", i, opt.host, opt.port, strerror(errno));
        int one = 1;
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);
        c->rcap = READ_CHUNK * 2;
        c->rbuf = xrealloc(NULL, c->rcap);
        c->ring_size = ring_size;
        c->ring = calloc(ring_size, sizeof *c->ring);
        c->ring_keys = calloc((size_t)ring_size * opt.multiget, sizeof *c->ring_keys);
        if (!c->ring || !c->ring_keys) die("out of memory");
        for (unsigned j = 0; j < ring_size; j++) c->ring[j].keys = c->ring_keys + (size_t)j * opt.multiget;
        struct epoll_event ev = { .events = EPOLLIN, .data.ptr = c };
        if (epoll_ctl(epfd, EPOLL_CTL_ADD, c->fd, &ev) < 0) die("epoll_ctl: %s", strerror(errno));
    }
    freeaddrinfo(ai);
}

static int phase_done(uint64_t now) {
    if (phase == PHASE_PREFILL) return prefill_done >= opt.keys;
    return now >= measure_end;
}

static void run_loop(void) {
    struct epoll_event evs[256];
    uint64_t now = now_ns();
    last_progress = now;
    for (unsigned i = 0; i < opt.conns; i++) fill(&conns[i], now);
    while (!phase_done(now)) {
        int timeout = 100;
        if (phase == PHASE_RUN) {
            uint64_t left = measure_end - now;
            if (left / 1000000 < 100) timeout = (int)((left + 999999) / 1000000);
        }
        int n = epoll_wait(epfd, evs, 256, timeout);
        if (n < 0 && errno != EINTR) die("epoll_wait: %s", strerror(errno));
        for (int i = 0; i < n; i++) {
            struct conn *c = evs[i].data.ptr;
            if (evs[i].events & (EPOLLIN | EPOLLERR | EPOLLHUP)) do_read(c);
            if (evs[i].events & EPOLLOUT) flush(c);
        }
        now = now_ns();
        for (int i = 0; i < n; i++) fill(evs[i].data.ptr, now);
        if (now - last_progress > STALL_NS) {
            unsigned waiting = 0;
            for (unsigned i = 0; i < opt.conns; i++) waiting += conns[i].inflight;
            if (waiting) die("no reply for %llu s with %u requests in flight",
                             (unsigned long long)(STALL_NS / 1000000000ull), waiting);
        }
    }
}

static void print_json(const struct stats *st, double seconds) {
    printf("{\"ops\":%llu,\"seconds\":%.3f,\"ops_per_sec\":%.1f,\"gets\":%llu,\"sets\":%llu,"
           "\"keys_requested\":%llu,\"hits\":%llu,\"misses\":%llu,\"errors\":%llu,"
           "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
           "\"conns\":%u,\"pipeline\":%u,\"multiget\":%u}\n",
           (unsigned long long)st->ops, seconds, seconds > 0 ? (double)st->ops / seconds : 0.0,
           (unsigned long long)st->gets, (unsigned long long)st->sets,
           (unsigned long long)st->keys_requested, (unsigned long long)st->hits,
           (unsigned long long)st->misses, (unsigned long long)st->errors,
           hist_percentile_us(st, 0.50), hist_percentile_us(st, 0.90),
           hist_percentile_us(st, 0.99), hist_percentile_us(st, 0.999),
           opt.conns, opt.pipeline, opt.multiget);
    fflush(stdout);
}

int main(int argc, char **argv) {
    parse_options(argc, argv);
    signal(SIGPIPE, SIG_IGN);
    make_value();

    // prefill keeps enough sets in flight to stream, bounded in bytes for large values
    size_t set_bytes = 32 + opt.key_size + (size_t)opt.value_size;
    unsigned prefill_depth = (unsigned)(PREFILL_BYTES_IN_FLIGHT / set_bytes);
    if (prefill_depth < 1) prefill_depth = 1;
    if (prefill_depth > PREFILL_MAX_DEPTH) prefill_depth = PREFILL_MAX_DEPTH;
    open_conns(opt.pipeline > prefill_depth ? opt.pipeline : prefill_depth);

    if (opt.prefill) {
        phase = PHASE_PREFILL;
        depth = prefill_depth;
        uint64_t t = now_ns();
        run_loop();
        double seconds = (double)(now_ns() - t) / 1e9;
        if (opt.prefill_only) { print_json(&prefill_stats, seconds); return 0; }
        fprintf(stderr, "loadgen: prefill: %llu sets in %.3f s, %llu errors\n",
                (unsigned long long)prefill_stats.sets, seconds, (unsigned long long)prefill_stats.errors);
    }

    phase = PHASE_RUN;
    depth = opt.pipeline;
    uint64_t t0 = now_ns();
    measure_start = t0 + (uint64_t)(opt.warmup * 1e9);
    measure_end = measure_start + (uint64_t)(opt.duration * 1e9);
    run_loop();
    print_json(&run_stats, opt.duration);
    return 0;
}
