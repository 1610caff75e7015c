/*
 * workloads.c - the local workloads, run the same way on every engine.
 *
 * Data. Key i of the loaded set is the decimal number 2*i zero-padded to
 * key_size bytes, so keys sort as their numbers and fillseq writes in key
 * order; 2*i+1 names a key that is never written (readmissing) yet falls
 * between loaded keys, so key ranges cannot answer for it. The value of key
 * i at version v is value_size bytes of a shared pool at an offset hashed
 * from (i, v); the pool repeats random bytes so values compress to about
 * cfg->compression of their size (db_bench's scheme). A read verifies by
 * comparing with the pool.
 *
 * Versions: fills write version 0, overwrite version 1, readwhilewriting's
 * writer one more; a read accepts any version in [ver_lo, ver_hi].
 *
 * Run order on one engine (db_bench's): fillseq on a fresh database; then
 * fillrandom on another fresh one (a random permutation, so every key is
 * written exactly once), overwrite (another permutation), and the reads on
 * it. Reads start warm: an untimed full scan first. A read workload that
 * needs the data and follows no fill loads it untimed.
 *
 * Timing: per-op latency around each call; the wall time of a write
 * workload includes the engine's sync() at the end (cirrus: committing what
 * is buffered), so buffered-but-uncommitted writes are not counted as done.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

enum kind {
    W_FILLSEQ,
    W_FILLRANDOM,
    W_OVERWRITE,
    W_READRANDOM,
    W_READMISSING,
    W_SEEKRANDOM,
    W_READWHILEWRITING,
    W_SCANALL,
    W_LOAD,   /* untimed fillrandom before reads */
    W_WARMUP, /* untimed scan */
};

const char *const bench_workloads[] = {"fillseq",          "fillrandom",  "overwrite",
                                       "readrandom",       "readmissing", "seekrandom",
                                       "readwhilewriting", "scanall"};
const size_t bench_n_workloads = sizeof(bench_workloads) / sizeof(bench_workloads[0]);

#define SEEK_NEXTS 10
#define MAX_KEY 64

struct data {
    char *pool;
    size_t pool_len;
    uint32_t ks, vs;
    uint64_t num;
    uint32_t *perm; /* a permutation of 0..num-1 */
};

struct run {
    const struct bench_engine *e;
    void *db;
    const struct bench_config *cfg;
    struct data *d;
    enum kind kind;
    uint64_t ops_total; /* split across the threads */
    uint32_t n_threads; /* workers that share ops_total */
    int ver, ver_lo, ver_hi;
    uint64_t deadline_ns; /* 0: none */
    atomic_int stop;
    atomic_ullong failures;
    pthread_barrier_t start;
};

struct worker {
    struct run *r;
    uint32_t idx;
    int writer; /* readwhilewriting's writer */
    uint64_t ops, bytes;
    uint64_t rng;
    uint64_t t_start, t_end; /* ns, this thread's timed span */
    struct hist h;
    pthread_t t;
};

/* ---- data --------------------------------------------------------------- */

static void key_of(const struct data *d, uint64_t n, char *out)
{
    char tmp[MAX_KEY + 24];
    snprintf(tmp, sizeof(tmp), "%0*llu", (int)d->ks, (unsigned long long)n);
    memcpy(out, tmp, d->ks);
}

static const char *value_of(const struct data *d, uint64_t i, int ver)
{
    uint64_t s = i * 8 + (uint64_t)ver;
    return d->pool + rng_next(&s) % (d->pool_len - d->vs);
}

static int data_init(struct data *d, const struct bench_config *cfg)
{
    uint64_t rng = cfg->seed;
    size_t chunk = 100, raw = (size_t)(chunk * cfg->compression + 0.5);
    int rc = -1;
    memset(d, 0, sizeof(*d));
    d->ks = cfg->key_size;
    d->vs = cfg->value_size;
    d->num = cfg->num;
    d->pool_len = ((size_t)1 << 20) + 2 * (size_t)d->vs;
    if (raw < 1)
        raw = 1;
    if ((d->pool = malloc(d->pool_len)) == NULL ||
        (d->perm = malloc(d->num * sizeof(uint32_t))) == NULL)
        goto done;
    for (size_t at = 0; at < d->pool_len; at += chunk) {
        char piece[100];
        for (size_t j = 0; j < raw; j++)
            piece[j] = (char)(' ' + rng_next(&rng) % 95);
        for (size_t j = 0; j < chunk && at + j < d->pool_len; j++)
            d->pool[at + j] = piece[j % raw];
    }
    rc = 0;
done:
    if (rc < 0)
        fprintf(stderr, "cirrus-bench: out of memory for %llu keys\n", (unsigned long long)d->num);
    return rc;
}

static void data_free(struct data *d)
{
    free(d->pool);
    free(d->perm);
}

static void shuffle(struct data *d, uint64_t seed)
{
    uint64_t rng = seed;
    for (uint64_t i = 0; i < d->num; i++)
        d->perm[i] = (uint32_t)i;
    for (uint64_t i = d->num; i > 1; i--) {
        uint64_t j = rng_next(&rng) % i;
        uint32_t t = d->perm[i - 1];
        d->perm[i - 1] = d->perm[j];
        d->perm[j] = t;
    }
}

/* ---- verification ------------------------------------------------------- */

static int value_ok(const struct run *r, uint64_t i, const void *v, size_t len)
{
    int ok = 0;
    if (len == r->d->vs)
        for (int ver = r->ver_lo; ver <= r->ver_hi && !ok; ver++)
            ok = memcmp(v, value_of(r->d, i, ver), len) == 0;
    return ok;
}

static void fail(struct run *r, const char *fmt, uint64_t i)
{
    if (atomic_fetch_add(&r->failures, 1) < 5) {
        fprintf(stderr, "cirrus-bench: %s: VERIFY FAILED: ", r->e->name);
        fprintf(stderr, fmt, (unsigned long long)i);
        fputc('\n', stderr);
    }
}

/* ---- one operation of each kind ------------------------------------------ */

static int do_put(struct worker *w, uint64_t i, int ver)
{
    struct run *r = w->r;
    char k[MAX_KEY];
    key_of(r->d, 2 * i, k);
    w->bytes += r->d->ks + r->d->vs;
    return r->e->put(r->db, k, r->d->ks, value_of(r->d, i, ver), r->d->vs);
}

static int do_get(struct worker *w, uint64_t i, int missing)
{
    struct run *r = w->r;
    char k[MAX_KEY];
    const void *v = NULL;
    size_t vlen = 0;
    void *rel = NULL;
    key_of(r->d, 2 * i + (missing ? 1 : 0), k);
    int rc = r->e->get(r->db, k, r->d->ks, &v, &vlen, &rel);
    if (rc == 0) {
        if (missing)
            fail(r, "key %llu (never written) was found", 2 * i + 1);
        else if (!value_ok(r, i, v, vlen))
            fail(r, "key %llu has a wrong value", 2 * i);
        w->bytes += r->d->ks + vlen;
        r->e->release(r->db, rel);
    } else if (rc == 1 && !missing) {
        fail(r, "key %llu not found", 2 * i);
    }
    return rc < 0 ? -1 : 0;
}

/* Seek to key i, then SEEK_NEXTS nexts, checking every key on the way. */
static int do_seek(struct worker *w, void *it, uint64_t i)
{
    struct run *r = w->r;
    const struct bench_engine *e = r->e;
    char want[MAX_KEY];
    key_of(r->d, 2 * i, want);
    e->iter_seek(it, want, r->d->ks);
    for (int j = 0; j <= SEEK_NEXTS && i + (uint64_t)j < r->d->num; j++) {
        size_t kl = 0, vl = 0;
        const void *k;
        if (j > 0)
            e->iter_next(it);
        if (!e->iter_valid(it)) {
            fail(r, "seek to key %llu: iterator ended early", 2 * i);
            break;
        }
        k = e->iter_key(it, &kl);
        key_of(r->d, 2 * (i + (uint64_t)j), want);
        if (kl != r->d->ks || memcmp(k, want, kl) != 0) {
            fail(r, "seek to key %llu: wrong key order", 2 * i);
            break;
        }
        e->iter_value(it, &vl);
        w->bytes += kl + vl;
    }
    return e->iter_status(it);
}

/* A full scan: every loaded key once, in order, with a valid value. */
static int do_scan(struct worker *w, int timed)
{
    struct run *r = w->r;
    const struct bench_engine *e = r->e;
    void *it = NULL;
    uint64_t n = 0, t0 = now_ns();
    char want[MAX_KEY];
    int rc = e->iter_new(&it, r->db);
    if (rc < 0)
        goto done;
    for (e->iter_first(it); e->iter_valid(it); e->iter_next(it)) {
        size_t kl = 0, vl = 0;
        const void *k = e->iter_key(it, &kl), *v = e->iter_value(it, &vl);
        key_of(r->d, 2 * n, want);
        if (n >= r->d->num || kl != r->d->ks || memcmp(k, want, kl) != 0) {
            fail(r, "scan: unexpected key at position %llu", n);
            break;
        }
        if (!value_ok(r, n, v, vl))
            fail(r, "scan: key %llu has a wrong value", 2 * n);
        w->bytes += kl + vl;
        n++;
        if (timed) {
            uint64_t t1 = now_ns();
            hist_add(&w->h, t1 - t0);
            t0 = t1;
        }
    }
    if ((rc = e->iter_status(it)) == 0 && n != r->d->num)
        fail(r, "scan found %llu keys", n);
    w->ops += n;
done:
    e->iter_close(it);
    return rc;
}

/* ---- threads --------------------------------------------------------------- */

static int expired(struct worker *w, uint64_t done)
{
    struct run *r = w->r;
    if (atomic_load_explicit(&r->stop, memory_order_relaxed))
        return 1;
    if (r->deadline_ns && (done & 255) == 0 && now_ns() > r->deadline_ns)
        return 1;
    return 0;
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct run *r = w->r;
    uint64_t lo = r->ops_total * w->idx / r->n_threads,
             hi = r->ops_total * (w->idx + 1) / r->n_threads;
    void *it = NULL;
    int rc = 0;
    pthread_barrier_wait(&r->start);
    w->t_start = now_ns();
    if (r->kind == W_SEEKRANDOM)
        rc = r->e->iter_new(&it, r->db);
    if (r->kind == W_SCANALL || r->kind == W_WARMUP) {
        rc = w->idx == 0 ? do_scan(w, r->kind == W_SCANALL) : 0;
        hi = lo;
    }
    if (w->writer) { /* readwhilewriting: overwrite random keys until the readers finish */
        while (rc == 0 && !atomic_load(&r->stop)) {
            uint64_t t0 = now_ns();
            rc = do_put(w, rng_next(&w->rng) % r->d->num, r->ver);
            hist_add(&w->h, now_ns() - t0);
            w->ops++;
        }
        hi = lo;
    }
    for (uint64_t n = lo; n < hi && rc == 0 && !expired(w, n - lo); n++) {
        uint64_t t0 = now_ns();
        switch (r->kind) {
        case W_FILLSEQ:
            rc = do_put(w, n, r->ver);
            break;
        case W_FILLRANDOM:
        case W_OVERWRITE:
        case W_LOAD:
            rc = do_put(w, r->d->perm[n], r->ver);
            break;
        case W_READRANDOM:
        case W_READWHILEWRITING:
            rc = do_get(w, rng_next(&w->rng) % r->d->num, 0);
            break;
        case W_READMISSING:
            rc = do_get(w, rng_next(&w->rng) % r->d->num, 1);
            break;
        case W_SEEKRANDOM:
            rc = do_seek(w, it, rng_next(&w->rng) % r->d->num);
            break;
        default:
            break;
        }
        hist_add(&w->h, now_ns() - t0);
        w->ops++;
    }
    if (it)
        r->e->iter_close(it);
    if (rc < 0)
        fail(r, "an engine call failed (thread %llu)", w->idx);
    w->t_end = now_ns();
    return NULL;
}

/* Samples keys after a write workload (untimed): each must hold the version
 * just written. */
static void verify_sample(struct run *r)
{
    struct worker w = {.r = r, .rng = r->cfg->seed ^ 0x5eed};
    uint64_t n = r->d->num < 2000 ? r->d->num : 2000;
    int lo = r->ver_lo;
    r->ver_lo = r->ver;
    for (uint64_t j = 0; j < n; j++)
        if (do_get(&w, r->d->num < 2000 ? j : rng_next(&w.rng) % r->d->num, 0) < 0)
            fail(r, "sample read %llu failed", j);
    r->ver_lo = lo;
}

/* Runs one workload and fills row (ops, bytes, seconds, latency). */
static int run_kind(struct run *r, enum kind kind, uint64_t ops, uint32_t threads,
                    struct bench_row *row)
{
    uint32_t n_workers = threads + (kind == W_READWHILEWRITING ? 1 : 0);
    struct worker *ws = calloc(n_workers, sizeof(*ws));
    uint64_t t0 = UINT64_MAX, t1 = 0, sync_ns = 0;
    int rc = -1;
    if (!ws)
        goto done;
    r->kind = kind;
    r->ops_total = ops;
    r->n_threads = threads;
    r->deadline_ns = 0;
    if (r->cfg->duration_s > 0 && kind >= W_READRANDOM && kind <= W_SCANALL)
        r->deadline_ns = now_ns() + (uint64_t)(r->cfg->duration_s * 1e9);
    atomic_store(&r->stop, 0);
    pthread_barrier_init(&r->start, NULL, n_workers + 1);
    for (uint32_t i = 0; i < n_workers; i++) {
        ws[i].r = r;
        ws[i].idx = i;
        ws[i].writer = i == threads;
        ws[i].rng = r->cfg->seed * 1000003u + (uint64_t)kind * 7919u + i;
        pthread_create(&ws[i].t, NULL, worker_main, &ws[i]);
    }
    pthread_barrier_wait(&r->start);
    for (uint32_t i = 0; i < threads; i++)
        pthread_join(ws[i].t, NULL);
    atomic_store(&r->stop, 1);
    for (uint32_t i = threads; i < n_workers; i++)
        pthread_join(ws[i].t, NULL);
    rc = 0;
    if (kind <= W_OVERWRITE || kind == W_LOAD || kind == W_READWHILEWRITING) {
        uint64_t s0 = now_ns();
        rc = r->e->sync(r->db);
        sync_ns = now_ns() - s0;
    }
    /* the span from the first thread's start to the last one's end (the readers'
     * for readwhilewriting), plus the sync */
    for (uint32_t i = 0; i < threads; i++) {
        t0 = ws[i].t_start < t0 ? ws[i].t_start : t0;
        t1 = ws[i].t_end > t1 ? ws[i].t_end : t1;
    }
    if (kind != W_READWHILEWRITING)
        t1 += sync_ns;
    pthread_barrier_destroy(&r->start);
    row->seconds = (double)(t1 - t0) / 1e9;
    for (uint32_t i = 0; i < threads; i++) {
        row->ops += ws[i].ops;
        row->bytes += ws[i].bytes;
        hist_merge(&row->lat, &ws[i].h);
    }
    if (n_workers > threads) {
        struct hist *wh = &ws[threads].h;
        row_extra(row, "writer_ops_per_sec", "%.0f", (double)ws[threads].ops / row->seconds);
        row_extra(row, "writer_p99_us", "%.1f", (double)hist_quantile(wh, 0.99) / 1e3);
    }
done:
    free(ws);
    return rc;
}

static int open_fresh(const struct bench_engine *e, const struct bench_config *cfg, const char *dir,
                      void **db)
{
    if (rm_tree(dir) < 0 || mkdir_p(dir) < 0)
        return -1;
    return e->open(db, dir, cfg);
}

/* One workload: run, verify, emit. */
static int workload(struct run *r, enum kind kind, const char *name,
                    void (*emit)(const struct bench_row *row, void *arg), void *arg)
{
    struct bench_row *row = calloc(1, sizeof(*row));
    uint64_t fails0 = atomic_load(&r->failures);
    uint32_t threads = kind == W_SCANALL || kind == W_WARMUP ? 1 : r->cfg->threads;
    uint64_t ops = kind <= W_OVERWRITE || kind == W_LOAD ? r->d->num : r->cfg->reads;
    int rc = -1;
    if (!row)
        goto done;
    snprintf(row->engine, sizeof(row->engine), "%s", r->e->name);
    snprintf(row->workload, sizeof(row->workload), "%s", name);
    snprintf(row->mode, sizeof(row->mode), "local");
    row->load1 = load_avg1();
    if (kind == W_READWHILEWRITING)
        r->ver = r->ver_hi + 1, r->ver_hi = r->ver;
    if (kind == W_OVERWRITE || kind == W_FILLRANDOM || kind == W_LOAD)
        shuffle(r->d, r->cfg->seed + (uint64_t)kind);
    rc = run_kind(r, kind, ops, threads, row);
    if (rc == 0 && (kind <= W_OVERWRITE || kind == W_LOAD)) {
        verify_sample(r);
        r->ver_lo = r->ver;
    }
    row->verified = rc == 0 && atomic_load(&r->failures) == fails0;
    if (kind == W_WARMUP || kind == W_LOAD)
        goto done;
    if (r->e->describe)
        r->e->describe(r->db, row);
    if (kind == W_SCANALL)
        row_extra(row, "entries", "%llu", (unsigned long long)row->ops);
    emit(row, arg);
done:
    free(row);
    return rc;
}

int bench_run_engine(const struct bench_engine *e, const struct bench_config *cfg, const int *want,
                     void (*emit)(const struct bench_row *row, void *arg), void *arg)
{
    struct data d;
    struct run r;
    char dir[4096];
    int rc = -1, need_db = 0;
    memset(&r, 0, sizeof(r));
    if (data_init(&d, cfg) < 0)
        goto done;
    r.e = e;
    r.cfg = cfg;
    r.d = &d;
    snprintf(dir, sizeof(dir), "%s/%s", cfg->dir, e->name);
    for (size_t i = 1; i < bench_n_workloads; i++)
        need_db |= want[i];
    rc = 0;
    if (want[W_FILLSEQ]) {
        if ((rc = open_fresh(e, cfg, dir, &r.db)) == 0) {
            rc = workload(&r, W_FILLSEQ, "fillseq", emit, arg);
            e->close(r.db);
            r.db = NULL;
        }
    }
    if (rc == 0 && need_db && (rc = open_fresh(e, cfg, dir, &r.db)) == 0) {
        r.ver = r.ver_lo = r.ver_hi = 0;
        rc = workload(&r, want[W_FILLRANDOM] ? W_FILLRANDOM : W_LOAD, "fillrandom", emit, arg);
        if (rc == 0 && want[W_OVERWRITE]) {
            r.ver = r.ver_hi = 1;
            rc = workload(&r, W_OVERWRITE, "overwrite", emit, arg);
        }
        if (rc == 0 && (want[W_READRANDOM] || want[W_READMISSING] || want[W_SEEKRANDOM] ||
                        want[W_READWHILEWRITING] || want[W_SCANALL]))
            rc = workload(&r, W_WARMUP, "warmup", emit, arg);
        for (int k = W_READRANDOM; k <= W_SCANALL && rc == 0; k++)
            if (want[k])
                rc = workload(&r, (enum kind)k, bench_workloads[k], emit, arg);
        e->close(r.db);
    }
    rm_tree(dir);
    if (atomic_load(&r.failures) > 0)
        rc = -1;
done:
    data_free(&d);
    return rc;
}
