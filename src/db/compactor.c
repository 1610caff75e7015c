/*
 * compactor.c - who compacts and collects garbage, and when: the db's
 * "compactor" lease, the background thread of the handle that holds it,
 * and the public calls cirrus_compact, cirrus_gc and cirrus_maintain.
 *
 * One compaction or GC at a time per handle (cp.mu, taken with no
 * other lock held). Across processes the lease makes one compactor the
 * rule; a second one is never unsafe (replay validation makes a compaction
 * whose inputs another removed a no-op, compaction.c), only wasteful.
 *
 * The thread wakes when a new version brings L0 to the trigger, or every
 * COMPACTOR_TICK_MS: it takes or renews the lease, compacts while a level
 * needs it, and every GC_PERIOD_MS runs GC with the handle's grace period.
 * A handle without the thread (background_compaction off, or the CLI's
 * one-shot commands) releases the lease at the end of each call, so that
 * other processes may take over at once. cirrus_maintain (the daemon's
 * round, on a handle without the thread) keeps the lease between calls
 * instead, under the owner and TTL it names, until cirrus_close.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db/compaction.h"
#include "db/compactor.h"
#include "db/dbimpl.h"
#include "db/gc.h"
#include "util/status.h"
#include "util/sys.h"

#define LEASE_NAME "compactor"
#define LEASE_TTL_MS 30000 /* cirrus.h documents it (cirrus_maintain_options) */
#define COMPACTOR_TICK_MS 1000
#define GC_PERIOD_MS (10 * 60 * 1000)

/* Takes or renews the compactor lease; CIRRUS_EBUSY if another holds it.
 * Caller holds cp.mu. */
/* The lease's owner and TTL for this handle. Caller holds cp.mu. */
static const char *lease_owner(cirrus_db *db)
{
    return db->cp.lease_owner[0] ? db->cp.lease_owner : db->writer_id;
}

static int64_t lease_ttl(cirrus_db *db)
{
    return db->cp.lease_ttl_ms > 0 ? db->cp.lease_ttl_ms : LEASE_TTL_MS;
}

/* Takes or renews the compactor lease; CIRRUS_EBUSY if another holds it
 * (its state in *holder_out, may be NULL). Caller holds cp.mu. */
static int hold_lease(cirrus_db *db, cirrus_lease_info *holder_out)
{
    int64_t now = now_ms(), ttl = lease_ttl(db);
    if (db->cp.lease_held && now < db->cp.lease_renew_at_ms)
        return 0;
    int rc =
        db_lease_acquire(db, LEASE_NAME, lease_owner(db), ttl, &db->cp.lease_token, holder_out);
    db->cp.lease_held = rc == 0;
    if (rc == 0)
        db->cp.lease_renew_at_ms = now + ttl / 3;
    return rc;
}

static int compactor_hold_lease(cirrus_db *db)
{
    return hold_lease(db, NULL);
}

/* Releases the lease if held. Returns 0, or the release's error (the lease
 * then lapses at its expiry). Caller holds cp.mu. */
static int compactor_drop_lease(cirrus_db *db)
{
    int rc = db->cp.lease_held ? db_lease_release(db, LEASE_NAME, lease_owner(db)) : 0;
    db->cp.lease_held = 0;
    return rc;
}

/* The end of cirrus_compact or cirrus_gc, which took the lease: a handle
 * with no compactor thread releases it. Returns rc, or the release's error
 * when rc was 0 (a failed call's message comes first). */
static int end_call(cirrus_db *db, int rc)
{
    char why[1024];
    if (db->cp.started)
        return rc; /* the thread keeps the lease */
    if (rc >= 0)
        return compactor_drop_lease(db);
    snprintf(why, sizeof(why), "%s", cirrus_errmsg());
    if (compactor_drop_lease(db) < 0)
        return err_set(rc, "%s (releasing the compactor lease failed too: %s)", why,
                       cirrus_errmsg());
    return err_set(rc, "%s", why);
}

int cirrus_compact(cirrus_db *db)
{
    int rc;
    err_clear();
    if (db->opts.read_only)
        return err_set(CIRRUS_EINVALID, "the database was opened read-only");
    pthread_mutex_lock(&db->cp.mu);
    if ((rc = db_refresh(db, NULL)) < 0)
        goto done;
    do {
        if ((rc = compactor_hold_lease(db)) < 0)
            break;
        rc = compaction_run_once(db);
    } while (rc == 1);
done:
    rc = end_call(db, rc);
    pthread_mutex_unlock(&db->cp.mu);
    return rc < 0 ? rc : 0;
}

/* Takes the lease for the background thread; another holder is not a
 * failure, anything else is logged and counted. 0 if held. Caller holds
 * cp.mu. */
static int background_lease(cirrus_db *db)
{
    int rc = compactor_hold_lease(db);
    if (rc < 0 && rc != CIRRUS_EBUSY)
        db_bg_failed(db, CIRRUS_BG_LEASE, "taking or renewing the compactor lease");
    return rc;
}

/* One tick of the background thread: compacts while a level needs it, then
 * GC when it is due. Every failure is logged and counted (db_bg_failed),
 * none dropped; the work is retried at the next tick. Caller holds cp.mu. */
static void background_work(cirrus_db *db)
{
    int rc = background_lease(db);
    while (rc == 0 && (rc = compaction_run_once(db)) == 1 && !db_closing(db))
        if (background_lease(db) < 0)
            break;
    if (rc < 0 && rc != CIRRUS_EBUSY && rc != CIRRUS_ECLOSED && db->cp.lease_held)
        db_bg_failed(db, CIRRUS_BG_COMPACTION, "background compaction");
    if (db->cp.lease_held && now_ms() >= db->cp.next_gc_ms) {
        if (gc_run(db, -1, NULL, NULL) < 0)
            db_bg_failed(db, CIRRUS_BG_GC, "background GC");
        db->cp.next_gc_ms = now_ms() + GC_PERIOD_MS;
    }
}

static void *compactor(void *arg)
{
    cirrus_db *db = arg;
    db->cp.next_gc_ms = now_ms() + GC_PERIOD_MS;
    pthread_mutex_lock(&db->mu);
    while (!db->closing) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_sec += COMPACTOR_TICK_MS / 1000;
        /* a new version wakes it at once when L0 reaches the trigger */
        while (!db->closing && db->vs.current->n_files[0] < db->opts.l0_compaction_trigger &&
               pthread_cond_timedwait(&db->version_cv, &db->mu, &ts) == 0)
            ;
        if (db->closing)
            break;
        int need = db->vs.current->n_files[0] >= db->opts.l0_compaction_trigger ||
                   compaction_backlog(&db->opts, db->vs.current) > 0 ||
                   now_ms() >= db->cp.next_gc_ms;
        pthread_mutex_unlock(&db->mu);
        if (need) {
            pthread_mutex_lock(&db->cp.mu);
            background_work(db);
            pthread_mutex_unlock(&db->cp.mu);
            err_clear(); /* failures are retried at the next tick */
        }
        pthread_mutex_lock(&db->mu);
    }
    pthread_mutex_unlock(&db->mu);
    return NULL;
}

int compactor_start(cirrus_db *db)
{
    if (db->opts.read_only || !db->opts.background_compaction)
        return 0;
    if (pthread_create(&db->cp.thread, NULL, compactor, db) != 0)
        return err_set(CIRRUS_ENOMEM, "cannot start the compaction thread");
    db->cp.started = 1;
    return 0;
}

void compactor_stop(cirrus_db *db)
{
    /* db->closing is set and broadcast by the caller */
    if (db->cp.started)
        pthread_join(db->cp.thread, NULL);
    db->cp.started = 0;
    pthread_mutex_lock(&db->cp.mu);
    int held = db->cp.lease_held;
    if (compactor_drop_lease(db) < 0)
        db_log(db, CIRRUS_LOG_WARN, "compactor",
               "releasing the compactor lease failed (it lapses at its expiry): %s",
               cirrus_errmsg());
    else if (held)
        db_log(db, CIRRUS_LOG_INFO, "compactor", "released the compactor lease (token %llu)",
               (unsigned long long)db->cp.lease_token);
    pthread_mutex_unlock(&db->cp.mu);
}

int cirrus_gc(cirrus_db *db, int64_t grace_ms, void (*fn)(const cirrus_gc_item *item, void *arg),
              void *arg)
{
    int rc;
    err_clear();
    if (db->opts.read_only)
        return err_set(CIRRUS_EINVALID, "the database was opened read-only");
    pthread_mutex_lock(&db->cp.mu);
    if ((rc = compactor_hold_lease(db)) == 0)
        rc = gc_run(db, grace_ms, fn, arg);
    rc = end_call(db, rc);
    pthread_mutex_unlock(&db->cp.mu);
    return rc;
}

/* ---- cirrus_maintain ------------------------------------------------------ */

struct gc_count {
    uint64_t deleted, deleted_bytes, kept;
};

static void count_gc(const cirrus_gc_item *item, void *arg)
{
    struct gc_count *g = arg;
    if (item->deleted) {
        g->deleted++;
        g->deleted_bytes += item->size;
    } else {
        g->kept++;
    }
}

static int cancelled(const cirrus_maintain_options *mo)
{
    return mo->cancel && mo->cancel(mo->cancel_arg);
}

/* Takes the lease for the round, or says why not: 1 held, 0 standing by
 * (out->holder set; logged once per holder), or an error. Caller holds
 * cp.mu. */
static int maintain_lease(cirrus_db *db, cirrus_maintain_report *out)
{
    int was_held = db->cp.lease_held;
    int rc = hold_lease(db, &out->holder);
    if (rc == CIRRUS_EBUSY) {
        err_clear();
        if (was_held)
            db_log(db, CIRRUS_LOG_WARN, "maintain", "lost the compactor lease to %s",
                   out->holder.owner);
        else if (strcmp(db->cp.standby_logged, out->holder.owner) != 0)
            db_log(db, CIRRUS_LOG_INFO, "maintain",
                   "standing by: the compactor lease is held by %s (token %llu, expires in "
                   "%lld ms)",
                   out->holder.owner, (unsigned long long)out->holder.token,
                   (long long)(out->holder.expires_ms - now_ms()));
        snprintf(db->cp.standby_logged, sizeof(db->cp.standby_logged), "%s", out->holder.owner);
        return 0;
    }
    if (rc < 0)
        return rc;
    if (!was_held)
        db_log(db, CIRRUS_LOG_INFO, "maintain", "took the compactor lease as %s (token %llu)",
               lease_owner(db), (unsigned long long)db->cp.lease_token);
    db->cp.standby_logged[0] = '\0';
    out->held = 1;
    out->token = db->cp.lease_token;
    return 1;
}

/* Names the lease's owner and TTL; a change of owner gives up a lease held
 * under the old one first. Caller holds cp.mu. */
static int maintain_identity(cirrus_db *db, const cirrus_maintain_options *mo)
{
    const char *owner = mo->owner ? mo->owner : db->writer_id;
    int rc = 0;
    if (strlen(owner) == 0 || strlen(owner) >= sizeof(db->cp.lease_owner))
        return err_set(CIRRUS_EINVALID, "cirrus_maintain: owner must have 1 to 127 characters");
    if (mo->lease_ttl_ms < 0)
        return err_set(CIRRUS_EINVALID, "cirrus_maintain: lease_ttl_ms %lld is negative",
                       (long long)mo->lease_ttl_ms);
    if (strcmp(owner, lease_owner(db)) != 0)
        rc = compactor_drop_lease(db);
    snprintf(db->cp.lease_owner, sizeof(db->cp.lease_owner), "%s", owner);
    if (db->cp.lease_ttl_ms != mo->lease_ttl_ms)
        db->cp.lease_renew_at_ms = 0; /* renew at once with the new TTL */
    db->cp.lease_ttl_ms = mo->lease_ttl_ms;
    return rc;
}

/* The round itself, holding the lease. Caller holds cp.mu. */
static int maintain_round(cirrus_db *db, const cirrus_maintain_options *mo,
                          cirrus_maintain_report *out)
{
    uint64_t n0 = atomic_load_explicit(&db->cp.n_compactions, memory_order_relaxed);
    uint64_t b0 = atomic_load_explicit(&db->cp.compacted_bytes, memory_order_relaxed);
    struct gc_count g = {0, 0, 0};
    int rc;
    if ((rc = db_refresh(db, NULL)) < 0)
        return rc;
    while (mo->compact && !(out->cancelled = cancelled(mo)) && (rc = compaction_run_once(db)) == 1)
        if ((rc = maintain_lease(db, out)) <= 0)
            break; /* lost the lease (logged) or failed */
    if (rc >= 0 && out->held && mo->gc && !out->cancelled && !(out->cancelled = cancelled(mo)) &&
        (rc = gc_run(db, mo->gc_grace_ms, count_gc, &g)) == 0)
        out->gc_ran = 1;
    out->compactions = atomic_load_explicit(&db->cp.n_compactions, memory_order_relaxed) - n0;
    out->bytes_written = atomic_load_explicit(&db->cp.compacted_bytes, memory_order_relaxed) - b0;
    out->gc_deleted = g.deleted;
    out->gc_deleted_bytes = g.deleted_bytes;
    out->gc_kept = g.kept;
    return rc < 0 ? rc : 0;
}

/* The db's shape after a round, for the report. */
static void maintain_shape(cirrus_db *db, cirrus_maintain_report *out)
{
    pthread_mutex_lock(&db->mu);
    out->head_seq = db->vs.current->seq;
    out->l0_files = db->vs.current->n_files[0];
    out->backlog_bytes = compaction_backlog(&db->opts, db->vs.current);
    pthread_mutex_unlock(&db->mu);
}

/* The round's one summary line (info). */
static void log_round(cirrus_db *db, const cirrus_maintain_report *r)
{
    char gc[128] = "gc not run";
    if (r->gc_ran)
        snprintf(gc, sizeof(gc), "gc deleted %llu objects (%llu bytes), kept %llu",
                 (unsigned long long)r->gc_deleted, (unsigned long long)r->gc_deleted_bytes,
                 (unsigned long long)r->gc_kept);
    db_log(db, CIRRUS_LOG_INFO, "maintain",
           "round: %llu compactions (%llu bytes written), %s; l0_files %llu, backlog %llu "
           "bytes, head %llu%s",
           (unsigned long long)r->compactions, (unsigned long long)r->bytes_written, gc,
           (unsigned long long)r->l0_files, (unsigned long long)r->backlog_bytes,
           (unsigned long long)r->head_seq, r->cancelled ? " (stopped early)" : "");
}

int cirrus_maintain(cirrus_db *db, const cirrus_maintain_options *mo, cirrus_maintain_report *out)
{
    cirrus_maintain_options defaults = CIRRUS_MAINTAIN_OPTIONS_INIT;
    cirrus_maintain_report r;
    int rc;
    err_clear();
    memset(&r, 0, sizeof(r));
    if (!mo)
        mo = &defaults;
    if (db->opts.read_only)
        return err_set(CIRRUS_EINVALID, "the database was opened read-only");
    if (db->cp.started)
        return err_set(CIRRUS_EINVALID, "cirrus_maintain needs a handle opened with "
                                        "background_compaction off (its thread compacts already)");
    pthread_mutex_lock(&db->cp.mu);
    if ((rc = maintain_identity(db, mo)) == 0 && (rc = maintain_lease(db, &r)) == 1)
        rc = maintain_round(db, mo, &r);
    pthread_mutex_unlock(&db->cp.mu);
    if (rc < 0)
        return rc;
    maintain_shape(db, &r);
    if (r.held && (r.compactions > 0 || r.gc_ran))
        log_round(db, &r);
    if (out)
        *out = r;
    return 0;
}
