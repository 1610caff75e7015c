/*
 * cloud.c - simulated cloud mode: cirrus opened on the fault-injecting
 * object and metadata stores (src/objstore/fault.h, src/metastore/fault.h)
 * with latencies drawn to match published S3 and DynamoDB figures, counting
 * every request to price it.
 *
 * How the stores are wrapped: the harness opens the database through
 * fault: URLs, "fault:DIR?SPEC" and "fault:sqlite:DIR/meta.sqlite3?SPEC"
 * (or the real-local URLs wrapped the same way), with the profile's specs
 * (util/fault.h).
 *
 * How requests are counted: cirrus.h offers no way to reach a db's stores
 * and so their fault_*_stats(). The harness links with
 *   -Wl,--wrap=fault_begin -Wl,--wrap=fault_count_bytes
 * so every wrapped call passes through __wrap_fault_begin below, which
 * counts it process-wide before calling the real one. The byte hook also
 * adds the size-dependent part of a transfer's latency (the wrapper draws
 * latency per request, not per byte): bytes / profile bandwidth.
 *
 * Phases, on one database per profile (cfg->cloud_seconds each):
 *   commit      cloud_writers threads put with CIRRUS_WRITE_WAIT, each after a
 *               random pause (independent clients): durable commit latency
 *               at the default 100 ms flush interval
 *   commit-b2b  the same, writing back to back (arrivals in step with commits)
 *   commitpath  the same with background compaction off: requests per commit
 *               of the commit path alone (the project's target)
 *   put         one writer, puts not waited for, then a flush: throughput
 *   paced       a writer at 1, 10, 100, 1000 puts/s: request bill by rate
 *   idle        a second handle that only follows the log (refresh polling)
 *   getmiss     fresh-handle gets: latency in object-store round trips
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bench.h"
#include "cirrus.h"
#include "util/fault.h"

/* ---- request counters (link-time hooks) --------------------------------- */

enum fault_action __real_fault_begin(struct fault_injector *fi, enum fault_op op, int is_write,
                                     const char *store, const char *what, int *rc_out);
void __real_fault_count_bytes(struct fault_injector *fi, enum fault_op op, uint64_t up,
                              uint64_t down);
enum fault_action __wrap_fault_begin(struct fault_injector *fi, enum fault_op op, int is_write,
                                     const char *store, const char *what, int *rc_out);
void __wrap_fault_count_bytes(struct fault_injector *fi, enum fault_op op, uint64_t up,
                              uint64_t down);

static atomic_ullong n_calls[FAULT_N_OPS], n_up[FAULT_N_OPS], n_down[FAULT_N_OPS];
static atomic_ullong extra_wru, extra_rru; /* capacity units beyond 1 per call */
static double bytes_per_sec;               /* 0: no size-dependent latency */

enum fault_action __wrap_fault_begin(struct fault_injector *fi, enum fault_op op, int is_write,
                                     const char *store, const char *what, int *rc_out)
{
    if (op < FAULT_N_OPS)
        atomic_fetch_add(&n_calls[op], 1);
    return __real_fault_begin(fi, op, is_write, store, what, rc_out);
}

static uint64_t units(uint64_t bytes, uint64_t unit)
{
    return bytes <= unit ? 1 : (bytes + unit - 1) / unit;
}

void __wrap_fault_count_bytes(struct fault_injector *fi, enum fault_op op, uint64_t up,
                              uint64_t down)
{
    uint64_t moved = up + down;
    if (op < FAULT_N_OPS) {
        atomic_fetch_add(&n_up[op], up);
        atomic_fetch_add(&n_down[op], down);
    }
    /* DynamoDB: a write unit per 1 KB written, a (strongly consistent) read
     * unit per 4 KB read; the first unit of each call is counted by calls */
    if (op == FAULT_MPUT || op == FAULT_MDEL)
        atomic_fetch_add(&extra_wru, units(up, 1024) - 1);
    if (op == FAULT_MGET || op == FAULT_MQUERY)
        atomic_fetch_add(&extra_rru, units(down, 4096) - 1);
    if (bytes_per_sec > 0 && (op == FAULT_PUT || op == FAULT_GET) && moved > 0) {
        double s = (double)moved / bytes_per_sec;
        struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
        nanosleep(&ts, NULL);
    }
    __real_fault_count_bytes(fi, op, up, down);
}

struct counters {
    uint64_t calls[FAULT_N_OPS], up[FAULT_N_OPS], down[FAULT_N_OPS];
    uint64_t wru, rru;
};

static void snap(struct counters *c)
{
    for (int i = 0; i < FAULT_N_OPS; i++) {
        c->calls[i] = atomic_load(&n_calls[i]);
        c->up[i] = atomic_load(&n_up[i]);
        c->down[i] = atomic_load(&n_down[i]);
    }
    c->wru = atomic_load(&extra_wru);
    c->rru = atomic_load(&extra_rru);
}

static void since(struct counters *d, const struct counters *a)
{
    struct counters b;
    snap(&b);
    for (int i = 0; i < FAULT_N_OPS; i++) {
        d->calls[i] = b.calls[i] - a->calls[i];
        d->up[i] = b.up[i] - a->up[i];
        d->down[i] = b.down[i] - a->down[i];
    }
    d->wru = b.wru - a->wru;
    d->rru = b.rru - a->rru;
}

/* ---- profiles and prices -------------------------------------------------- */

struct profile {
    const char *name;
    const char *os_spec; /* of the object store's fault: URL */
    const char *ms_spec; /* of the metadata store's */
    double get_p50_ms;   /* one object-store round trip */
    double mb_per_s;     /* per-request transfer rate, MB/s (0: none) */
    int real;            /* real servers: URLs from the environment */
};

/* S3 Standard: 4 KiB PUT p50 28 / p99 75 ms, GET p50 25 / p99 80 ms (the
 * issue's published figures); HEAD as GET, DELETE as PUT, LIST assumed
 * 35/100. Size term: AWS's guidance of ~85 MB/s per connection. DynamoDB:
 * p50 5 / p99 15 ms for every call. S3 Express One Zone: "single-digit
 * millisecond" requests, modelled as PUT 6/12, GET 5/10 ms. */
static const struct profile profiles[] = {
    {"s3-standard",
     "latency.put=28:75,latency.get=25:80,latency.head=25:80,latency.del=28:75,"
     "latency.list=35:100",
     "latency=5:15", 25, 85, 0},
    {"s3-express",
     "latency.put=6:12,latency.get=5:10,latency.head=5:10,latency.del=6:12,latency.list=8:16",
     "latency=5:15", 5, 85, 0},
    {"real-local", "seed=1", "seed=1", 0, 0, 1},
};

/* USD per request: S3 PUT/COPY/POST/LIST $0.005 per 1,000, GET/HEAD $0.0004
 * per 1,000, DELETE free; DynamoDB on demand $0.625 per million write
 * units, $0.125 per million read units. A month is 30 days. */
#define S3_PUT_USD (0.005 / 1000)
#define S3_GET_USD (0.0004 / 1000)
#define DDB_WRU_USD (0.625 / 1e6)
#define DDB_RRU_USD (0.125 / 1e6)
#define MONTH_S (30.0 * 86400)

/* Durable writers sleep uniform [0, THINK_MS) before each write, so their
 * arrivals are spread over commit cycles as independent clients' are;
 * "commit-b2b" writes back to back instead (arrivals in step with commits). */
#define THINK_MS 200.0

static const struct profile *find_profile(const char *name)
{
    const struct profile *p = NULL;
    for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]) && !p; i++)
        if (strcmp(profiles[i].name, name) == 0)
            p = &profiles[i];
    return p;
}

int cloud_profile_known(const char *name)
{
    return find_profile(name) != NULL;
}

/* Adds the request figures of counters d over `seconds` to row. */
static void row_requests(struct bench_row *row, const struct counters *d, double seconds)
{
    char req[1024] = "", rate[1024] = "", bytes[512];
    double s3put = (double)(d->calls[FAULT_PUT] + d->calls[FAULT_LIST]);
    double s3get = (double)(d->calls[FAULT_GET] + d->calls[FAULT_HEAD]);
    double wru = (double)(d->calls[FAULT_MPUT] + d->calls[FAULT_MDEL] + d->wru);
    double rru = (double)(d->calls[FAULT_MGET] + d->calls[FAULT_MQUERY] + d->rru);
    double k = seconds > 0 ? MONTH_S / seconds : 0;
    double usd_put = s3put * S3_PUT_USD * k, usd_get = s3get * S3_GET_USD * k;
    double usd_w = wru * DDB_WRU_USD * k, usd_r = rru * DDB_RRU_USD * k;
    for (int i = 0; i < FAULT_N_OPS; i++) {
        size_t a = strlen(req), b = strlen(rate);
        snprintf(req + a, sizeof(req) - a, "%s\"%s\": %llu", i ? ", " : "",
                 fault_op_name((enum fault_op)i), (unsigned long long)d->calls[i]);
        snprintf(rate + b, sizeof(rate) - b, "%s\"%s\": %.3f", i ? ", " : "",
                 fault_op_name((enum fault_op)i),
                 seconds > 0 ? (double)d->calls[i] / seconds : 0.0);
    }
    row_extra(row, "requests", "{%s}", req);
    row_extra(row, "requests_per_sec", "{%s}", rate);
    snprintf(bytes, sizeof(bytes), "{\"put_up\": %llu, \"get_down\": %llu, \"meta_up\": %llu}",
             (unsigned long long)d->up[FAULT_PUT], (unsigned long long)d->down[FAULT_GET],
             (unsigned long long)d->up[FAULT_MPUT]);
    row_extra(row, "bytes", "%s", bytes);
    row_extra(row, "ddb_units", "{\"write\": %.0f, \"read\": %.0f}", wru, rru);
    row_extra(row, "usd_per_month", "%.4f", usd_put + usd_get + usd_w + usd_r);
    row_extra(row, "usd_breakdown",
              "{\"s3_put\": %.4f, \"s3_get\": %.4f, \"ddb_write\": %.4f, \"ddb_read\": %.4f}",
              usd_put, usd_get, usd_w, usd_r);
}

/* ---- phases --------------------------------------------------------------- */

struct cloud {
    const struct profile *p;
    const struct bench_config *cfg;
    char url[4096];
    char meta_url[4096];
    void (*emit)(const struct bench_row *row, void *arg);
    void *arg;
    uint64_t n_keys; /* keys 0..n_keys-1 written by the put phase */
};

/* Opens c's database with both stores wrapped in the profile's faults: the
 * fault: URL of a location is that location's database (the embedded
 * default's metadata store is named, since a wrapper of it is wanted). */
static int open_db(struct cloud *c, cirrus_db **db, int compaction)
{
    cirrus_options o = CIRRUS_OPTIONS_INIT;
    char url[sizeof(c->url) + 512], meta[sizeof(c->meta_url) + sizeof(c->url) + 512];
    int rc;
    o.write_buffer_size = (size_t)c->cfg->write_buffer;
    o.background_compaction = compaction;
    snprintf(url, sizeof(url), "fault:%s?%s", c->url, c->p->os_spec);
    if (c->meta_url[0])
        snprintf(meta, sizeof(meta), "fault:%s?%s", c->meta_url, c->p->ms_spec);
    else
        snprintf(meta, sizeof(meta), "fault:sqlite:%s/meta.sqlite3?%s", c->url, c->p->ms_spec);
    o.meta_url = meta;
    rc = cirrus_open(db, url, &o);
    if (rc < 0)
        fprintf(stderr, "cirrus-bench: cloud open %s: %s (%s)\n", url, cirrus_strerror(rc),
                cirrus_errmsg());
    return rc < 0 ? -1 : 0;
}

static void row_init(struct bench_row *row, const struct cloud *c, const char *workload)
{
    memset(row, 0, sizeof(*row));
    snprintf(row->engine, sizeof(row->engine), "cirrus");
    snprintf(row->workload, sizeof(row->workload), "%s", workload);
    snprintf(row->mode, sizeof(row->mode), "cloud");
    snprintf(row->profile, sizeof(row->profile), "%s", c->p->name);
    row->load1 = load_avg1();
    row->verified = 1;
}

static void key_of(uint64_t i, char *out)
{
    char tmp[32];
    snprintf(tmp, sizeof(tmp), "%016llu", (unsigned long long)i);
    memcpy(out, tmp, 16);
}

static void value_of(uint64_t i, char *out, size_t len)
{
    uint64_t s = i;
    for (size_t j = 0; j < len; j += 8) {
        uint64_t x = rng_next(&s);
        memcpy(out + j, &x, len - j < 8 ? len - j : 8);
    }
}

struct cw {
    cirrus_db *db;
    struct cloud *c;
    uint64_t first, step; /* this thread writes keys first, first+step, ... */
    uint64_t deadline;
    double rate;     /* puts/s for paced writers, 0: as fast as possible */
    double think_ms; /* > 0: sleep uniform [0, think_ms) before each write */
    int flags;       /* cirrus_write flags */
    uint64_t rng;
    uint64_t ops, bytes;
    int failed;
    struct hist h;
    pthread_t t;
};

static void *writer_main(void *arg)
{
    struct cw *w = arg;
    cirrus_batch *b = NULL;
    char k[16], v[4096];
    size_t vs = w->c->cfg->value_size < sizeof(v) ? w->c->cfg->value_size : sizeof(v);
    uint64_t start = now_ns();
    if (cirrus_batch_new(&b) < 0) {
        w->failed = 1;
        return NULL;
    }
    for (uint64_t i = w->first; now_ns() < w->deadline && !w->failed; i += w->step) {
        int rc;
        if (w->think_ms > 0) { /* independent clients: arrivals not in step with commits */
            uint64_t ns = rng_next(&w->rng) % (uint64_t)(w->think_ms * 1e6);
            struct timespec ts = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
            nanosleep(&ts, NULL);
            if (now_ns() >= w->deadline)
                break;
        }
        if (w->rate > 0) { /* wait for this op's slot */
            uint64_t slot = start + (uint64_t)((double)w->ops * 1e9 / w->rate), now = now_ns();
            if (slot > now) {
                struct timespec ts = {(time_t)((slot - now) / 1000000000u),
                                      (long)((slot - now) % 1000000000u)};
                nanosleep(&ts, NULL);
                if (now_ns() >= w->deadline)
                    break;
            }
        }
        key_of(i, k);
        value_of(i, v, vs);
        cirrus_batch_clear(b);
        uint64_t t0 = now_ns();
        rc = cirrus_batch_put(b, k, sizeof(k), v, vs);
        if (rc == 0)
            rc = cirrus_write(w->db, b, w->flags, NULL);
        hist_add(&w->h, now_ns() - t0);
        if (rc < 0) {
            fprintf(stderr, "cirrus-bench: cloud write: %s (%s)\n", cirrus_strerror(rc),
                    cirrus_errmsg());
            w->failed = 1;
        }
        w->ops++;
        w->bytes += sizeof(k) + vs;
    }
    cirrus_batch_free(b);
    return NULL;
}

/* Runs n writers for `seconds` (then flushes, inside the timing) and fills
 * row with their ops, latency and the requests over the whole span. */
static int write_phase(struct cloud *c, cirrus_db *db, struct bench_row *row, uint32_t n,
                       double seconds, int flags, double rate, double think_ms,
                       uint64_t *commits_out)
{
    struct cw *ws = calloc(n, sizeof(*ws));
    struct counters before, d;
    cirrus_stats s0, s1;
    uint64_t t0, t1;
    int rc = -1;
    if (!ws)
        goto done;
    cirrus_stats_get(db, &s0);
    snap(&before);
    t0 = now_ns();
    for (uint32_t i = 0; i < n; i++) {
        ws[i] = (struct cw){.db = db,
                            .c = c,
                            .first = c->n_keys + i,
                            .step = n,
                            .deadline = t0 + (uint64_t)(seconds * 1e9),
                            .rate = rate / n,
                            .think_ms = think_ms,
                            .flags = flags,
                            .rng = c->cfg->seed + i};
        pthread_create(&ws[i].t, NULL, writer_main, &ws[i]);
    }
    rc = 0;
    for (uint32_t i = 0; i < n; i++) {
        pthread_join(ws[i].t, NULL);
        row->ops += ws[i].ops;
        row->bytes += ws[i].bytes;
        hist_merge(&row->lat, &ws[i].h);
        if (ws[i].failed)
            rc = -1;
    }
    if (cirrus_flush(db, NULL) < 0)
        rc = -1;
    t1 = now_ns();
    since(&d, &before);
    cirrus_stats_get(db, &s1);
    row->seconds = (double)(t1 - t0) / 1e9;
    row->verified = rc == 0;
    row_requests(row, &d, row->seconds);
    *commits_out = s1.head_seq - s0.head_seq;
    row_extra(row, "commits", "%llu", (unsigned long long)*commits_out);
    if (*commits_out) {
        row_extra(row, "puts_per_commit", "%.3f",
                  (double)d.calls[FAULT_PUT] / (double)*commits_out);
        row_extra(row, "meta_writes_per_commit", "%.3f",
                  (double)(d.calls[FAULT_MPUT] + d.calls[FAULT_MDEL]) / (double)*commits_out);
    }
    /* the smallest key count every thread reached is a dense prefix */
    {
        uint64_t min_ops = UINT64_MAX;
        for (uint32_t i = 0; i < n; i++)
            if (ws[i].ops < min_ops)
                min_ops = ws[i].ops;
        c->n_keys += min_ops * n;
    }
done:
    free(ws);
    return rc;
}

static void cdf_point(uint64_t ns, double cum, void *arg)
{
    char *buf = arg;
    size_t n = strlen(buf);
    if (n + 40 < 8192)
        snprintf(buf + n, 8192 - n, "%s[%.3f, %.5f]", n ? ", " : "", (double)ns / 1e6, cum);
}

static int phase_commit(struct cloud *c, cirrus_db *db, const char *name, double think_ms)
{
    struct bench_row *row = malloc(sizeof(*row));
    char *cdf = calloc(1, 8192);
    uint64_t commits = 0;
    int rc = -1;
    if (!row || !cdf)
        goto done;
    row_init(row, c, name);
    rc = write_phase(c, db, row, c->cfg->cloud_writers, c->cfg->cloud_seconds, CIRRUS_WRITE_WAIT, 0,
                     think_ms, &commits);
    row_extra(row, "think_ms", "%.0f", think_ms);
    row_extra(row, "writers", "%u", c->cfg->cloud_writers);
    row_extra(row, "commit_p50_ms", "%.2f", (double)hist_quantile(&row->lat, 0.5) / 1e6);
    row_extra(row, "commit_p99_ms", "%.2f", (double)hist_quantile(&row->lat, 0.99) / 1e6);
    row_extra(row, "commit_p999_ms", "%.2f", (double)hist_quantile(&row->lat, 0.999) / 1e6);
    hist_walk(&row->lat, cdf_point, cdf);
    row_extra(row, "latency_cdf_ms", "[%s]", cdf);
    c->emit(row, c->arg);
done:
    free(cdf);
    free(row);
    return rc;
}

static int phase_put(struct cloud *c, cirrus_db *db)
{
    struct bench_row *row = malloc(sizeof(*row));
    uint64_t commits = 0;
    int rc = -1;
    if (!row)
        goto done;
    row_init(row, c, "put");
    rc = write_phase(c, db, row, 1, c->cfg->cloud_seconds, 0, 0, 0, &commits);
    c->emit(row, c->arg);
done:
    free(row);
    return rc;
}

static int phase_paced(struct cloud *c, cirrus_db *db)
{
    static const double rates[] = {1, 10, 100, 1000};
    struct bench_row *row = malloc(sizeof(*row));
    uint64_t commits = 0;
    int rc = row ? 0 : -1;
    for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]) && rc == 0; i++) {
        row_init(row, c, "paced");
        rc = write_phase(c, db, row, 1, c->cfg->cloud_seconds, 0, rates[i], 0, &commits);
        row_extra(row, "write_rate", "%.0f", rates[i]);
        c->emit(row, c->arg);
    }
    free(row);
    return rc;
}

static int phase_idle(struct cloud *c, cirrus_db *db)
{
    struct bench_row *row = malloc(sizeof(*row));
    struct counters before, d;
    uint64_t t0;
    int rc = -1;
    if (!row)
        goto done;
    row_init(row, c, "idle");
    snap(&before);
    t0 = now_ns();
    struct timespec ts = {
        (time_t)c->cfg->cloud_seconds,
        (long)((c->cfg->cloud_seconds - (double)(time_t)c->cfg->cloud_seconds) * 1e9)};
    nanosleep(&ts, NULL);
    since(&d, &before);
    row->seconds = (double)(now_ns() - t0) / 1e9;
    row_requests(row, &d, row->seconds);
    row_extra(row, "refresh_interval_ms", "%u", 100u);
    c->emit(row, c->arg);
    rc = 0;
done:
    (void)db;
    free(row);
    return rc;
}

struct cr {
    cirrus_db *db;
    struct cloud *c;
    uint64_t rng, deadline, ops, bytes;
    int failed;
    struct hist h;
    pthread_t t;
};

static void *reader_main(void *arg)
{
    struct cr *r = arg;
    char k[16], want[4096];
    size_t vs = r->c->cfg->value_size < sizeof(want) ? r->c->cfg->value_size : sizeof(want);
    while (now_ns() < r->deadline && !r->failed) {
        uint64_t i = rng_next(&r->rng) % r->c->n_keys, t0 = now_ns();
        void *v = NULL;
        size_t n = 0;
        key_of(i, k);
        int rc = cirrus_get(r->db, NULL, k, sizeof(k), &v, &n);
        hist_add(&r->h, now_ns() - t0);
        value_of(i, want, vs);
        if (rc < 0 || n != vs || memcmp(v, want, vs) != 0) {
            fprintf(stderr, "cirrus-bench: cloud get of key %llu: %s\n", (unsigned long long)i,
                    rc < 0 ? cirrus_errmsg() : "VERIFY FAILED: wrong value");
            r->failed = 1;
        }
        cirrus_free(v);
        r->ops++;
        r->bytes += sizeof(k) + n;
    }
    return NULL;
}

static int phase_getmiss(struct cloud *c, cirrus_db *db)
{
    uint32_t n = c->cfg->cloud_readers;
    struct bench_row *row = malloc(sizeof(*row));
    struct cr *rs = calloc(n, sizeof(*rs));
    struct counters before, d;
    uint64_t t0;
    int rc = -1;
    if (!row || !rs || c->n_keys == 0)
        goto done;
    row_init(row, c, "getmiss");
    snap(&before);
    t0 = now_ns();
    for (uint32_t i = 0; i < n; i++) {
        rs[i] = (struct cr){.db = db,
                            .c = c,
                            .rng = c->cfg->seed + i,
                            .deadline = t0 + (uint64_t)(c->cfg->cloud_seconds * 1e9)};
        pthread_create(&rs[i].t, NULL, reader_main, &rs[i]);
    }
    rc = 0;
    for (uint32_t i = 0; i < n; i++) {
        pthread_join(rs[i].t, NULL);
        row->ops += rs[i].ops;
        row->bytes += rs[i].bytes;
        hist_merge(&row->lat, &rs[i].h);
        if (rs[i].failed)
            rc = -1;
    }
    since(&d, &before);
    row->seconds = (double)(now_ns() - t0) / 1e9;
    row->verified = rc == 0;
    row_requests(row, &d, row->seconds);
    row_extra(row, "readers", "%u", n);
    if (row->ops) {
        double p50 = (double)hist_quantile(&row->lat, 0.5) / 1e6;
        row_extra(row, "get_p50_ms", "%.2f", p50);
        row_extra(row, "get_p99_ms", "%.2f", (double)hist_quantile(&row->lat, 0.99) / 1e6);
        row_extra(row, "objstore_gets_per_get", "%.3f",
                  (double)d.calls[FAULT_GET] / (double)row->ops);
        row_extra(row, "meta_reads_per_get", "%.3f",
                  (double)(d.calls[FAULT_MGET] + d.calls[FAULT_MQUERY]) / (double)row->ops);
        if (c->p->get_p50_ms > 0)
            row_extra(row, "round_trips_p50", "%.2f", p50 / c->p->get_p50_ms);
    }
    c->emit(row, c->arg);
done:
    free(rs);
    free(row);
    return rc;
}

int cloud_run(const char *name, const struct bench_config *cfg,
              void (*emit)(const struct bench_row *row, void *arg), void *arg)
{
    struct cloud c = {.cfg = cfg, .emit = emit, .arg = arg};
    cirrus_db *db = NULL;
    int rc = -1;
    if ((c.p = find_profile(name)) == NULL) {
        fprintf(stderr, "cirrus-bench: unknown cloud profile %s\n", name);
        goto done;
    }
    if (c.p->real) {
        const char *u = getenv("CIRRUS_BENCH_S3_URL"), *m = getenv("CIRRUS_BENCH_META_URL");
        if (!u || !m) {
            fprintf(stderr, "cirrus-bench: real-local needs CIRRUS_BENCH_S3_URL and "
                            "CIRRUS_BENCH_META_URL\n");
            goto done;
        }
        snprintf(c.url, sizeof(c.url), "%s", u);
        snprintf(c.meta_url, sizeof(c.meta_url), "%s", m);
    } else {
        snprintf(c.url, sizeof(c.url), "%s/cloud-%s", cfg->dir, name);
        if (rm_tree(c.url) < 0 || mkdir_p(c.url) < 0)
            goto done;
    }
    bytes_per_sec = c.p->mb_per_s * 1e6;
    /* the commit path alone, then the defaults */
    if ((rc = open_db(&c, &db, 0)) < 0)
        goto done;
    rc = phase_commit(&c, db, "commitpath", THINK_MS);
    cirrus_close(db);
    db = NULL;
    if (rc < 0 || (rc = open_db(&c, &db, 1)) < 0)
        goto done;
    if ((rc = phase_commit(&c, db, "commit", THINK_MS)) == 0 &&
        (rc = phase_commit(&c, db, "commit-b2b", 0)) == 0 && (rc = phase_put(&c, db)) == 0)
        rc = phase_paced(&c, db);
    if (cirrus_close(db) < 0)
        rc = -1;
    db = NULL;
    /* the follower: defaults but no compaction, so it only polls the log */
    if (rc < 0 || (rc = open_db(&c, &db, 0)) < 0)
        goto done;
    if ((rc = phase_idle(&c, db)) == 0)
        rc = phase_getmiss(&c, db);
done:
    if (cirrus_close(db) < 0)
        rc = -1;
    bytes_per_sec = 0;
    if (!c.p || !c.p->real)
        rm_tree(c.url);
    return rc;
}
