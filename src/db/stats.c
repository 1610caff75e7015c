/*
 * stats.c - cirrus_stats: the handle's live state, its counters and
 * latency histograms, and their Prometheus rendering; db_bg_failed, the one
 * way background work reports a failure.
 *
 * Every number here is read without stopping the handle: the version under
 * mu, the counters as relaxed atomics (each read once, not all at one
 * instant). The ABI rule is in cirrus.h: the library writes no more of the
 * caller's struct than the caller says it has.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache/block_cache.h"
#include "cache/disk_cache.h"
#include "db/compaction.h"
#include "db/dbimpl.h"
#include "metastore/metastore.h"
#include "objstore/objstore.h"
#include "util/status.h"
#include "util/sys.h"

static const char *const hist_names[CIRRUS_HIST_MAX] = {"commit", "get", "object_get", "object_put",
                                                        "meta_write"};
static const char *const bg_names[CIRRUS_BG_MAX] = {"compaction", "gc", "refresh", "commit",
                                                    "lease"};

const char *cirrus_stats_hist_name(int hist)
{
    return hist >= 0 && hist < CIRRUS_HIST_MAX ? hist_names[hist] : NULL;
}

const char *cirrus_stats_bg_name(int bg)
{
    return bg >= 0 && bg < CIRRUS_BG_MAX ? bg_names[bg] : NULL;
}

void db_bg_failed(cirrus_db *db, int bg, const char *what)
{
    atomic_fetch_add_explicit(&db->metrics.bg_failures[bg], 1, memory_order_relaxed);
    db_log(db, CIRRUS_LOG_WARN, bg_names[bg], "%s failed (retried later): %s", what,
           cirrus_errmsg());
}

/* The follower's lag: commits at the head this handle's version lacks (one
 * metadata read; a failed read leaves 0) and how long it has not been known
 * current. */
static void follower_lag(cirrus_db *db, uint64_t seq, cirrus_stats *st)
{
    uint64_t head = 0;
    uint8_t *raw = NULL;
    size_t len = 0;
    if (commitlog_get_head(&db->log, &head, &raw, &len) == 0 && head > seq)
        st->follower_lag_seqs = head - seq;
    free(raw);
    int64_t at = atomic_load_explicit(&db->metrics.current_at_ms, memory_order_relaxed);
    int64_t now = now_ms();
    if (st->follower_lag_seqs && at && now > at)
        st->follower_lag_ms = (uint64_t)(now - at);
}

/* Everything after CIRRUS_STATS_V1_SIZE. */
static void fill_v2(cirrus_db *db, uint64_t seq, cirrus_stats *st)
{
    struct objstore_stats o;
    objstore_stats(db->os_backend, &o);
    st->os_copies = o.copies;
    struct metastore_stats m;
    metastore_stats(db->ms, &m);
    st->ms_bytes_written = m.bytes_written;
    st->ms_bytes_read = m.bytes_read;
    follower_lag(db, seq, st);
    _Atomic uint64_t *n = db->metrics.logged.n;
    st->log_errors = atomic_load_explicit(&n[CIRRUS_LOG_ERROR], memory_order_relaxed);
    st->log_warnings = atomic_load_explicit(&n[CIRRUS_LOG_WARN], memory_order_relaxed);
    st->log_infos = atomic_load_explicit(&n[CIRRUS_LOG_INFO], memory_order_relaxed);
    st->log_debugs = atomic_load_explicit(&n[CIRRUS_LOG_DEBUG], memory_order_relaxed);
    for (int i = 0; i < CIRRUS_BG_MAX; i++)
        st->bg_failures[i] =
            atomic_load_explicit(&db->metrics.bg_failures[i], memory_order_relaxed);
    histogram_read(&db->metrics.commit_us, &st->hist[CIRRUS_HIST_COMMIT]);
    histogram_read(&db->metrics.get_us, &st->hist[CIRRUS_HIST_GET]);
    histogram_read(&db->os_backend->n.get_us, &st->hist[CIRRUS_HIST_OBJECT_GET]);
    histogram_read(&db->os_backend->n.put_us, &st->hist[CIRRUS_HIST_OBJECT_PUT]);
    histogram_read(&db->ms->n.write_us, &st->hist[CIRRUS_HIST_META_WRITE]);
}

/* The whole struct, this build's size. */
static void fill(cirrus_db *db, cirrus_stats *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&db->mu);
    struct version *v = db->vs.current;
    out->head_seq = v->seq;
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++) {
        out->level_files[l] = v->n_files[l];
        for (size_t i = 0; i < v->n_files[l]; i++)
            out->level_bytes[l] += v->files[l][i]->meta.size;
        out->live_files += out->level_files[l];
        out->live_bytes += out->level_bytes[l];
    }
    /* an empty memtable still holds its skiplist head: report buffered data */
    out->memtable_bytes = memtable_count(db->wb.mem) ? memtable_bytes(db->wb.mem) : 0;
    for (size_t i = 0; i < db->cm.n_imm; i++)
        out->memtable_bytes += memtable_bytes(db->cm.imm[i]->mem);
    out->compaction_backlog_bytes = compaction_backlog(&db->opts, v);
    pthread_mutex_unlock(&db->mu);
    out->compactions = atomic_load_explicit(&db->cp.n_compactions, memory_order_relaxed);
    db_write_stall_stats(db, out);
    out->compaction_bytes_written =
        atomic_load_explicit(&db->cp.compacted_bytes, memory_order_relaxed);
    if (db->bcache) {
        struct block_cache_stats b;
        block_cache_stats(db->bcache, &b);
        out->block_cache_hits = b.hits;
        out->block_cache_misses = b.misses;
        out->block_cache_bytes = b.bytes_in_use;
    }
    struct disk_cache_stats d;
    if (disk_cache_stats(db->os, &d) == 0) {
        out->disk_cache_hits = d.hits;
        out->disk_cache_misses = d.misses;
        out->disk_cache_bytes = d.bytes_used;
    }
    struct objstore_stats o;
    objstore_stats(db->os_backend, &o);
    out->os_puts = o.puts;
    out->os_gets = o.gets;
    out->os_heads = o.heads;
    out->os_deletes = o.deletes;
    out->os_lists = o.lists;
    out->os_bytes_written = o.bytes_written;
    out->os_bytes_read = o.bytes_read;
    struct metastore_stats m;
    metastore_stats(db->ms, &m);
    out->ms_gets = m.gets;
    out->ms_writes = m.puts;
    out->ms_deletes = m.deletes;
    out->ms_queries = m.queries;
    fill_v2(db, out->head_seq, out);
}

int cirrus_stats_read(cirrus_db *db, cirrus_stats *out, size_t size)
{
    cirrus_stats st;
    err_clear();
    if (size < CIRRUS_STATS_V1_SIZE)
        return err_set(CIRRUS_EINVALID, "cirrus_stats_read: size %zu is below %zu", size,
                       (size_t)CIRRUS_STATS_V1_SIZE);
    fill(db, &st);
    err_clear(); /* the lag's head read may have failed: it is only a figure */
    memcpy(out, &st, size < sizeof(st) ? size : sizeof(st));
    return 0;
}

int cirrus_stats_get(cirrus_db *db, cirrus_stats *out)
{
    return cirrus_stats_read(db, out, CIRRUS_STATS_V1_SIZE);
}

/* ---- Prometheus text exposition ---------------------------------------- */

static void metric(FILE *f, const char *name, const char *type, const char *help)
{
    fprintf(f, "# HELP cirrus_%s %s\n# TYPE cirrus_%s %s\n", name, help, name, type);
}

static void sample(FILE *f, const char *name, const char *labels, uint64_t v)
{
    fprintf(f, "cirrus_%s%s%s%s %" PRIu64 "\n", name, labels ? "{" : "", labels ? labels : "",
            labels ? "}" : "", v);
}

static void histogram_text(FILE *f, const char *op, const cirrus_histogram *h)
{
    uint64_t cum = 0;
    for (int i = 0; i < CIRRUS_HISTOGRAM_BUCKETS; i++) {
        cum += h->buckets[i];
        if (i < CIRRUS_HISTOGRAM_BUCKETS - 1)
            fprintf(f, "cirrus_latency_seconds_bucket{op=\"%s\",le=\"%.6f\"} %" PRIu64 "\n", op,
                    (double)((uint64_t)1 << i) / 1e6, cum);
        else
            fprintf(f, "cirrus_latency_seconds_bucket{op=\"%s\",le=\"+Inf\"} %" PRIu64 "\n", op,
                    cum);
    }
    fprintf(f, "cirrus_latency_seconds_sum{op=\"%s\"} %.6f\n", op, (double)h->sum_us / 1e6);
    fprintf(f, "cirrus_latency_seconds_count{op=\"%s\"} %" PRIu64 "\n", op, cum);
}

static void render_state(FILE *f, const cirrus_stats *st)
{
    char l[64];
    metric(f, "head_seq", "gauge", "Seq of the version this handle reads.");
    sample(f, "head_seq", NULL, st->head_seq);
    metric(f, "live_files", "gauge", "SST files in the current version.");
    sample(f, "live_files", NULL, st->live_files);
    metric(f, "live_bytes", "gauge", "Bytes of the SST files in the current version.");
    sample(f, "live_bytes", NULL, st->live_bytes);
    metric(f, "level_files", "gauge", "SST files per level.");
    for (int i = 0; i < CIRRUS_MAX_LEVELS; i++) {
        snprintf(l, sizeof(l), "level=\"%d\"", i);
        sample(f, "level_files", l, st->level_files[i]);
    }
    metric(f, "level_bytes", "gauge", "Bytes of the SST files per level.");
    for (int i = 0; i < CIRRUS_MAX_LEVELS; i++) {
        snprintf(l, sizeof(l), "level=\"%d\"", i);
        sample(f, "level_bytes", l, st->level_bytes[i]);
    }
    metric(f, "memtable_bytes", "gauge", "Buffered bytes not yet committed.");
    sample(f, "memtable_bytes", NULL, st->memtable_bytes);
    metric(f, "compaction_backlog_bytes", "gauge", "Bytes by which levels exceed their targets.");
    sample(f, "compaction_backlog_bytes", NULL, st->compaction_backlog_bytes);
    metric(f, "compactions_total", "counter", "Compactions this handle committed.");
    sample(f, "compactions_total", NULL, st->compactions);
    metric(f, "compaction_written_bytes_total", "counter", "Bytes those compactions wrote.");
    sample(f, "compaction_written_bytes_total", NULL, st->compaction_bytes_written);
    metric(f, "follower_lag_seqs", "gauge", "Commits at the head this handle lacks.");
    sample(f, "follower_lag_seqs", NULL, st->follower_lag_seqs);
    metric(f, "follower_lag_seconds", "gauge", "How long this handle has not been current.");
    fprintf(f, "cirrus_follower_lag_seconds %.3f\n", (double)st->follower_lag_ms / 1e3);
}

static void render_counters(FILE *f, const cirrus_stats *st)
{
    char l[96];
    metric(f, "cache_hits_total", "counter", "Cache hits by cache.");
    sample(f, "cache_hits_total", "cache=\"block\"", st->block_cache_hits);
    sample(f, "cache_hits_total", "cache=\"disk\"", st->disk_cache_hits);
    metric(f, "cache_misses_total", "counter", "Cache misses by cache.");
    sample(f, "cache_misses_total", "cache=\"block\"", st->block_cache_misses);
    sample(f, "cache_misses_total", "cache=\"disk\"", st->disk_cache_misses);
    metric(f, "cache_bytes", "gauge", "Bytes held by each cache.");
    sample(f, "cache_bytes", "cache=\"block\"", st->block_cache_bytes);
    sample(f, "cache_bytes", "cache=\"disk\"", st->disk_cache_bytes);
    const struct {
        const char *store, *op;
        uint64_t v;
    } req[] = {{"object", "put", st->os_puts},         {"object", "get", st->os_gets},
               {"object", "head", st->os_heads},       {"object", "delete", st->os_deletes},
               {"object", "list", st->os_lists},       {"object", "copy", st->os_copies},
               {"metadata", "get", st->ms_gets},       {"metadata", "write", st->ms_writes},
               {"metadata", "delete", st->ms_deletes}, {"metadata", "query", st->ms_queries}};
    metric(f, "store_requests_total", "counter", "Requests this handle made, by store and op.");
    for (size_t i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
        snprintf(l, sizeof(l), "store=\"%s\",op=\"%s\"", req[i].store, req[i].op);
        sample(f, "store_requests_total", l, req[i].v);
    }
    metric(f, "store_read_bytes_total", "counter", "Bytes read, by store.");
    sample(f, "store_read_bytes_total", "store=\"object\"", st->os_bytes_read);
    sample(f, "store_read_bytes_total", "store=\"metadata\"", st->ms_bytes_read);
    metric(f, "store_written_bytes_total", "counter", "Bytes written, by store.");
    sample(f, "store_written_bytes_total", "store=\"object\"", st->os_bytes_written);
    sample(f, "store_written_bytes_total", "store=\"metadata\"", st->ms_bytes_written);
    metric(f, "write_stalls_total", "counter", "Writes stalled, by kind.");
    sample(f, "write_stalls_total", "kind=\"slowdown\"", st->write_slowdowns);
    sample(f, "write_stalls_total", "kind=\"stop\"", st->write_stops);
    metric(f, "write_stall_seconds_total", "counter", "Time writes stalled, by kind.");
    fprintf(f, "cirrus_write_stall_seconds_total{kind=\"slowdown\"} %.3f\n",
            (double)st->write_slowdown_ms / 1e3);
    fprintf(f, "cirrus_write_stall_seconds_total{kind=\"stop\"} %.3f\n",
            (double)st->write_stop_ms / 1e3);
    const uint64_t logged[] = {st->log_errors, st->log_warnings, st->log_infos, st->log_debugs};
    metric(f, "log_messages_total", "counter", "Messages this handle logged, by level.");
    for (int i = 0; i <= CIRRUS_LOG_DEBUG; i++) {
        snprintf(l, sizeof(l), "level=\"%s\"", cirrus_log_level_name(i));
        sample(f, "log_messages_total", l, logged[i]);
    }
    metric(f, "background_failures_total", "counter",
           "Background work that failed and is retried, by subsystem.");
    for (int i = 0; i < CIRRUS_BG_MAX; i++) {
        snprintf(l, sizeof(l), "subsystem=\"%s\"", bg_names[i]);
        sample(f, "background_failures_total", l, st->bg_failures[i]);
    }
    metric(f, "latency_seconds", "histogram", "Latency of operations, by op.");
    for (int i = 0; i < CIRRUS_HIST_MAX; i++)
        histogram_text(f, hist_names[i], &st->hist[i]);
}

int cirrus_stats_prometheus(cirrus_db *db, char **out, size_t *len)
{
    cirrus_stats st;
    char *text = NULL;
    size_t n = 0;
    int rc = 0;
    err_clear();
    *out = NULL;
    *len = 0;
    fill(db, &st);
    err_clear();
    FILE *f = open_memstream(&text, &n);
    if (!f)
        return err_nomem();
    render_state(f, &st);
    render_counters(f, &st);
    if (ferror(f))
        rc = err_nomem();
    if (fclose(f) != 0 && rc == 0)
        rc = err_nomem();
    if (rc < 0) {
        free(text);
        return rc;
    }
    *out = text;
    *len = n;
    return 0;
}
