/*
 * compactor.c - who compacts and collects garbage, and when: the db's
 * "compactor" lease, the background thread of the handle that holds it,
 * and the public calls cirrus_compact and cirrus_gc.
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
 * other processes may take over at once.
 */
#include <stdio.h>
#include <time.h>

#include "db/compaction.h"
#include "db/compactor.h"
#include "db/dbimpl.h"
#include "db/gc.h"
#include "util/status.h"
#include "util/sys.h"

#define LEASE_NAME "compactor"
#define LEASE_TTL_MS 30000
#define COMPACTOR_TICK_MS 1000
#define GC_PERIOD_MS (10 * 60 * 1000)

/* Takes or renews the compactor lease; CIRRUS_EBUSY if another holds it.
 * Caller holds cp.mu. */
static int compactor_hold_lease(cirrus_db *db)
{
    int64_t now = now_ms();
    if (db->cp.lease_held && now < db->cp.lease_renew_at_ms)
        return 0;
    int rc = db_lease_acquire(db, LEASE_NAME, db->writer_id, LEASE_TTL_MS, NULL, NULL);
    db->cp.lease_held = rc == 0;
    if (rc == 0)
        db->cp.lease_renew_at_ms = now + LEASE_TTL_MS / 3;
    return rc;
}

/* Releases the lease if held. Returns 0, or the release's error (the lease
 * then lapses at its expiry). Caller holds cp.mu. */
static int compactor_drop_lease(cirrus_db *db)
{
    int rc = db->cp.lease_held ? db_lease_release(db, LEASE_NAME, db->writer_id) : 0;
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
    compactor_drop_lease(db);
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
