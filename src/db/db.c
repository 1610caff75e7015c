/*
 * db.c - opening and closing a database, the background thread, and the
 * handle-wide queries (the log, time to seq; stats are stats.c).
 *
 * Opening: read the manifest pointer, load that manifest (or start empty),
 * then replay the log after it up to the head (commit.c). The handle is then
 * exactly as current as the head it read.
 */
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache/block_cache.h"
#include "cache/disk_cache.h"
#include "db/compaction.h"
#include "db/compactor.h"
#include "db/dbimpl.h"
#include "db/filename.h"
#include "db/manifest.h"
#include "metastore/metastore.h"
#include "objstore/objstore.h"
#include "table/ikey.h"
#include "util/fault_spec.h"
#include "util/log.h"
#include "util/status.h"
#include "util/sys.h"

static int check_options(const cirrus_options *o)
{
    if (o->version != 1 && o->version != CIRRUS_OPTIONS_VERSION)
        return err_set(CIRRUS_EINVALID, "options version %d not supported (this build: 1 to %d)",
                       o->version, CIRRUS_OPTIONS_VERSION);
    if (o->version >= 2 && cirrus_log_level_name(o->log_level) == NULL)
        return err_set(CIRRUS_EINVALID, "log_level %d is not a CIRRUS_LOG_* level", o->log_level);
    if (o->block_size < 256 || o->block_size > (64u << 20))
        return err_set(CIRRUS_EINVALID, "block_size %u out of range [256, 64 MiB]", o->block_size);
    if (o->target_file_size < 4096)
        return err_set(CIRRUS_EINVALID, "target_file_size %" PRIu64 " below 4096",
                       o->target_file_size);
    if (o->compression < CIRRUS_COMPRESSION_NONE || o->compression > CIRRUS_COMPRESSION_LZ4)
        return err_set(CIRRUS_EINVALID, "unknown compression %d", o->compression);
    if (o->write_buffer_size < 4096)
        return err_set(CIRRUS_EINVALID, "write_buffer_size %zu below 4096", o->write_buffer_size);
    if (o->l0_compaction_trigger < 2 || o->level_size_ratio < 2 || o->level1_target_bytes < 4096)
        return err_set(CIRRUS_EINVALID, "compaction shape: l0_compaction_trigger and "
                                        "level_size_ratio must be >= 2, level1_target_bytes "
                                        ">= 4096");
    if (o->mvcc_retention_ms < 0 || o->gc_grace_ms < 0)
        return err_set(CIRRUS_EINVALID, "mvcc_retention_ms and gc_grace_ms must be >= 0");
    return 0;
}

void options_copy(cirrus_options *dst, const cirrus_options *src)
{
    /* a version 1 struct ends before log_fn: read only what it has */
    if (src->version == 1) {
        cirrus_options def = CIRRUS_OPTIONS_INIT;
        *dst = def;
        memcpy(dst, src, offsetof(cirrus_options, log_fn));
        dst->version = CIRRUS_OPTIONS_VERSION;
    } else {
        *dst = *src;
    }
}

static int resolve_url(const char *url, const char *meta_url, char **os_url, char **ms_url,
                       char **name);

/* resolve_url() of "fault:INNER?SPEC" (test machinery, objstore/fault.h):
 * INNER resolved as if it stood alone (its name, its default metadata
 * store, the metadata store an s3 INNER needs), and the object store's URL
 * INNER's canonical spelling wrapped again with SPEC, so that a
 * fault-wrapped handle opens the database the plain URL names. */
static int resolve_fault_url(const char *url, const char *meta_url, char **os_url, char **ms_url,
                             char **name)
{
    char *inner = NULL, *spec = NULL, *inner_os = NULL;
    int rc;
    if ((rc = fault_spec_split_url(url, &inner, &spec)) < 0 ||
        (rc = resolve_url(inner, meta_url, &inner_os, ms_url, name)) < 0)
        goto done;
    if (!(*os_url = fault_spec_wrapped_url(inner_os, spec))) {
        free(*ms_url);
        free(*name);
        *ms_url = *name = NULL;
        rc = err_nomem();
    }
done:
    free(inner_os);
    free(spec);
    free(inner);
    return rc;
}

/*
 * Where the objects and the metadata of `url` live, and the db's name in
 * the metadata store (all three malloc'd), from the URL as the user spelled
 * it. Every spelling of one location gives one name
 * (objstore_canonical_url): s3://B/x, s3://B/x/ and s3://B/x// are one
 * database, never three histories over the same objects, which GC of one
 * would delete from under the others; and fault:s3://B/x?SPEC is that
 * database too, its requests passing through a fault injector.
 */
static int resolve_url(const char *url, const char *meta_url, char **os_url, char **ms_url,
                       char **name)
{
    int rc;
    *os_url = *ms_url = *name = NULL;
    if (!url || !*url)
        return err_set(CIRRUS_EINVALID, "empty database URL");
    if (strncmp(url, FAULT_SPEC_SCHEME, strlen(FAULT_SPEC_SCHEME)) == 0)
        return resolve_fault_url(url, meta_url, os_url, ms_url, name);
    if (strncmp(url, "s3://", 5) == 0) {
        if (!meta_url)
            return err_set(CIRRUS_EINVALID,
                           "%s: an s3 database needs a metadata store (e.g. dynamodb://TABLE)",
                           url);
        if ((rc = objstore_canonical_url(url, os_url)) < 0)
            return rc;
        *ms_url = strdup(meta_url);
        *name = strdup(*os_url + 5);
    } else {
        if (strstr(url, "://") && strncmp(url, "file://", 7) != 0)
            return err_set(CIRRUS_EINVALID,
                           "%s: unknown URL scheme (use a directory, file:// "
                           "or s3://)",
                           url);
        if ((rc = objstore_canonical_url(url, os_url)) < 0)
            return rc;
        if (meta_url) {
            *ms_url = strdup(meta_url);
        } else {
            size_t n = strlen(*os_url) + 32;
            if ((*ms_url = malloc(n)))
                snprintf(*ms_url, n, "sqlite:%s/meta.sqlite3", *os_url);
        }
        /* one name however the metadata store is named (sqlite:..., a
         * fault: wrapper of it ...), so every handle finds the same db */
        *name = strdup("local");
    }
    if (!*os_url || !*ms_url || !*name) {
        free(*os_url);
        free(*ms_url);
        free(*name);
        *os_url = *ms_url = *name = NULL;
        return err_nomem();
    }
    return 0;
}

static int load_manifest(cirrus_db *db)
{
    uint64_t seq;
    uint8_t *data = NULL;
    size_t len = 0;
    char name[FILENAME_LEN];
    int rc;
    if ((rc = commitlog_get_pointer(&db->log, &seq)) < 0)
        return rc;
    if (seq < db->log.base_seq)
        seq = db->log.base_seq; /* a clone's or restore's first version */
    if (seq == 0)
        return 0;
    filename_manifest(name, seq);
    if ((rc = objstore_get_all(db->os, name, &data, &len)) < 0)
        /* the pointer names it: gone is damage, not an empty db */
        return err_prefix(rc == CIRRUS_ENOTFOUND ? CIRRUS_ECORRUPT : rc, "reading manifest %s",
                          name);
    struct version *v = NULL;
    rc = manifest_decode(&v, data, len, name);
    free(data);
    if (rc < 0)
        return rc;
    version_unref(db->vs.current);
    db->vs.current = v;
    return 0;
}

static void writer_identity(cirrus_db *db)
{
    char host[64] = "host";
    gethostname(host, sizeof(host) - 1);
    host[sizeof(host) - 1] = '\0';
    snprintf(db->writer_id, sizeof(db->writer_id), "%s:%ld:%08" PRIx32, host, (long)getpid(),
             (uint32_t)rand_u64());
}

/* Layers the stores: the backend (a fault wrapper of it when the URL asks
 * for one) -> the disk cache when enabled, and makes the block cache. Every
 * store counts the requests made of it (objstore.h); os_backend keeps the
 * one under the cache, whose counts cirrus_stats reports: the requests
 * that went to the service, which the cache's hits never reach. */
static int layer_stores(cirrus_db *db)
{
    struct objstore *os;
    int rc;
    db->os_backend = db->os;
    if (db->opts.disk_cache_dir) {
        rc = disk_cache_wrap(&os, db->os, db->opts.disk_cache_dir, db->opts.disk_cache_bytes);
        db->os = rc == 0 ? os : NULL; /* taken either way */
        if (rc < 0) {
            db->os_backend = NULL;
            return err_prefix(rc, "disk cache %s", db->opts.disk_cache_dir);
        }
    }
    if (db->opts.block_cache_bytes &&
        (rc = block_cache_new(&db->bcache, db->opts.block_cache_bytes)) < 0)
        return rc;
    return 0;
}

static void *background(void *arg);
static void free_handle(cirrus_db *db);

/* Tells the background threads to stop and joins them (again: nothing). */
static void stop_threads(cirrus_db *db)
{
    pthread_mutex_lock(&db->mu);
    db->closing = 1;
    db_wake_all(db);
    pthread_mutex_unlock(&db->mu);
    if (db->bg_started)
        pthread_join(db->bg, NULL);
    db->bg_started = 0;
    if (db->log.pk)
        compactor_stop(db);
}

static int start_background(cirrus_db *db)
{
    /* a read-only handle still follows other writers' commits */
    if (db->opts.read_only ? !db->opts.refresh_interval_ms
                           : !db->opts.flush_interval_ms && !db->opts.refresh_interval_ms)
        return 0;
    if (pthread_create(&db->bg, NULL, background, db) != 0)
        return err_set(CIRRUS_ENOMEM, "cannot start the background thread");
    db->bg_started = 1;
    return 0;
}

int db_open_stores(cirrus_db **out, const char *url, const cirrus_options *opts)
{
    cirrus_options defaults = CIRRUS_OPTIONS_INIT;
    cirrus_db *db = NULL;
    char *os_url = NULL, *ms_url = NULL, *name = NULL;
    int rc;
    if (!opts)
        opts = &defaults;
    if ((rc = check_options(opts)) < 0)
        return rc;
    if ((rc = resolve_url(url, opts->meta_url, &os_url, &ms_url, &name)) < 0)
        return rc;
    if (!(db = calloc(1, sizeof(*db)))) {
        rc = err_nomem();
        goto done;
    }
    options_copy(&db->opts, opts);
    db->logger = logger_from_options(&db->opts);
    db->logger.counts = &db->metrics.logged;
    db->opts.meta_url = NULL;       /* not owned: never kept */
    db->opts.disk_cache_dir = NULL; /* used during open only */
    pthread_mutex_init(&db->cm.flush_mu, NULL);
    pthread_mutex_init(&db->cp.mu, NULL);
    pthread_mutex_init(&db->cm.mu, NULL);
    pthread_mutex_init(&db->wb.mu, NULL);
    pthread_mutex_init(&db->mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&db->commit_cv, &ca);
    pthread_cond_init(&db->version_cv, &ca);
    pthread_cond_init(&db->work_cv, &ca);
    pthread_condattr_destroy(&ca);
    writer_identity(db);
    int create = opts->create_if_missing && !opts->read_only;
    db->opts.disk_cache_dir = opts->disk_cache_dir;
    if ((rc = objstore_open(&db->os, os_url, create)) < 0)
        goto done;
    if ((rc = metastore_open(&db->ms, ms_url, create)) == CIRRUS_ENOTFOUND && !create)
        rc = identity_check_orphan(db->os, url, opts->meta_url ? opts->meta_url : ms_url, rc);
    if (rc < 0 || (rc = layer_stores(db)) < 0 ||
        (rc = commitlog_init(&db->log, db->ms, db->os, name)) < 0 ||
        (rc = version_new(&db->vs.current)) < 0 || (rc = memtable_new(&db->wb.mem)) < 0)
        goto done;
    db->wb.mem_id = 1;
    db->wb.next_mseq = SEQ_COMMITTED_MAX + 1;
    atomic_init(&db->wb.visible_mseq, SEQ_COMMITTED_MAX);
    db->opts.disk_cache_dir = NULL;
    *out = db;
    db = NULL;
done:
    if (db)
        free_handle(db); /* no thread started yet */
    free(os_url);
    free(ms_url);
    free(name);
    return rc;
}

int db_open_finish(cirrus_db *db)
{
    int rc;
    if ((rc = parents_open(db)) < 0 || (rc = load_manifest(db)) < 0 ||
        (rc = db_refresh(db, NULL)) < 0)
        return rc;
    if ((rc = start_background(db)) < 0 || (rc = compactor_start(db)) < 0)
        return rc;
    return 0;
}

void db_open_abort(cirrus_db *db)
{
    if (!db)
        return;
    stop_threads(db); /* they read opts */
    free_handle(db);  /* nothing to flush: a half-open handle */
}

/*
 * An open without create_if_missing that found nothing: whichever store
 * noticed first (the fs directory, the SQLite file, the DynamoDB table, or
 * the identity check of stores that exist but hold no db), the message says
 * the same thing, naming the location as given and the metadata store when
 * it was explicit, so a mistyped path reads as one. Other codes pass.
 */
static int no_database(int rc, const char *url, const char *meta_url)
{
    char why[512];
    if (rc != CIRRUS_ENOTFOUND)
        return rc;
    snprintf(why, sizeof(why), "%s", cirrus_errmsg());
    return err_set(rc, "no database at %s%s%s (%s)", url, meta_url ? " with metadata store " : "",
                   meta_url ? meta_url : "", why);
}

int cirrus_open(cirrus_db **out, const char *url, const cirrus_options *opts)
{
    cirrus_options defaults = CIRRUS_OPTIONS_INIT;
    cirrus_db *db = NULL;
    int rc;
    err_clear();
    if (!out)
        return err_set(CIRRUS_EINVALID, "cirrus_open: out is NULL");
    if (!opts)
        opts = &defaults;
    int create = opts->create_if_missing && !opts->read_only;
    if ((rc = db_open_stores(&db, url, opts)) < 0)
        return create ? rc : no_database(rc, url, opts->meta_url);
    if ((rc = identity_check(db, url, opts->meta_url, create)) < 0 && !create)
        rc = no_database(rc, url, opts->meta_url);
    if (rc < 0 || (rc = db_open_finish(db)) < 0) {
        db_open_abort(db);
        return rc;
    }
    *out = db;
    return 0;
}

int cirrus_close(cirrus_db *db)
{
    int rc = 0;
    if (!db)
        return 0;
    stop_threads(db);
    if (!db->opts.read_only && db->wb.mem)
        rc = db_flush(db, NULL);
    free_handle(db);
    return rc;
}

/* Frees what cirrus_open took, once the threads are stopped. */
static void free_handle(cirrus_db *db)
{
    for (size_t i = 0; i < db->cm.n_imm; i++)
        db_free_imm(db->cm.imm[i]);
    free(db->cm.imm);
    memtable_unref(db->wb.mem);
    version_unref(db->vs.current);
    free(db->cm.head_raw);
    identity_clear(&db->ident);
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++)
        buf_free(&db->cp.ptr[l]);
    commitlog_clear(&db->log);
    metastore_close(db->ms);
    objstore_close(db->os);
    block_cache_free(db->bcache); /* after every reader (held by versions) */
    pthread_cond_destroy(&db->work_cv);
    pthread_cond_destroy(&db->version_cv);
    pthread_cond_destroy(&db->commit_cv);
    pthread_mutex_destroy(&db->mu);
    pthread_mutex_destroy(&db->wb.mu);
    pthread_mutex_destroy(&db->cm.mu);
    pthread_mutex_destroy(&db->cm.flush_mu);
    pthread_mutex_destroy(&db->cp.mu);
    free(db);
}

int cirrus_refresh(cirrus_db *db, uint64_t *seq_out)
{
    err_clear();
    return db_refresh(db, seq_out);
}

/* The group committer and follower: on a fixed schedule, every
 * flush_interval_ms, it commits what was buffered (ticks are periodic, not
 * counted from the end of the last commit, so a write waits at most one
 * interval for its commit to start); when it committed nothing for
 * refresh_interval_ms it catches up with other writers. Failures are kept
 * for waiters, logged and counted (db_bg_failed), and retried at the next
 * tick. */
static void *background(void *arg)
{
    cirrus_db *db = arg;
    uint32_t fi = db->opts.read_only ? 0 : db->opts.flush_interval_ms;
    uint32_t ri = db->opts.refresh_interval_ms;
    uint32_t tick = fi && ri ? (fi < ri ? fi : ri) : (fi ? fi : ri);
    uint64_t last_refresh = mono_ns(), next_tick = mono_ns() + (uint64_t)tick * 1000000u;
    pthread_mutex_lock(&db->mu);
    while (!db->closing) {
        struct timespec ts = {(time_t)(next_tick / 1000000000u), (long)(next_tick % 1000000000u)};
        while (!db->closing && db->cm.n_imm == 0 &&
               pthread_cond_timedwait(&db->work_cv, &db->mu, &ts) == 0)
            ;
        if (db->closing)
            break;
        uint64_t now = mono_ns();
        while (next_tick <= now)
            next_tick += (uint64_t)tick * 1000000u;
        int work = (fi && memtable_count(db->wb.mem) > 0) || db->cm.n_imm > 0;
        pthread_mutex_unlock(&db->mu);
        if (work) {
            if (fi)
                db_freeze(db);
            if (db_flush_until(db, UINT64_MAX) < 0)
                db_bg_failed(db, CIRRUS_BG_COMMIT, "committing buffered writes");
            last_refresh = mono_ns();
        } else if (ri && mono_ns() - last_refresh >= (uint64_t)ri * 1000000u) {
            if (db_refresh(db, NULL) < 0)
                db_bg_failed(db, CIRRUS_BG_REFRESH, "catching up with the head");
            last_refresh = mono_ns();
        }
        pthread_mutex_lock(&db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}
