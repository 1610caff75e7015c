/*
 * write.c - the write buffer: letting writes in (admission, the write
 * slowdown and stop), buffering them into the memtable, freezing it for
 * the committer (flush.c), and waiting for a write's commit.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/batch.h"
#include "db/dbimpl.h"
#include "table/ikey.h"
#include "util/status.h"
#include "util/sys.h"

/* Write slowdown (throttle_locked): unused allowance a writer may bank
 * while it writes slower than the paced rate, so that bursts of small
 * writes (every writer released by one group commit) never wait; and the
 * smallest sleep, so that a fast writer pays one sleep per millisecond of
 * writes instead of one per write. */
#define PACE_BURST_NS (100 * UINT64_C(1000000))
#define PACE_MIN_SLEEP_NS UINT64_C(1000000)
/* How often a writer held at the stop trigger looks again without a signal. */
#define STOP_RECHECK_MS 100

/* ---- buffering ------------------------------------------------------------ */

/* Adds every op of b to db->wb.mem. Caller holds wb.mu (which guards
 * next_mseq and lets it read mem), not mu: readers never wait for it. On
 * failure the caller fails the handle (part of the batch may be buffered). */
static int apply_batch(cirrus_db *db, const cirrus_batch *b)
{
    return batch_apply(b, db->wb.mem, &db->wb.next_mseq);
}

/* Hands mem to the committer's queue. Caller holds wb.mu and mu. */
static int freeze_locked(cirrus_db *db)
{
    struct memtable *fresh = NULL;
    int rc;
    if (memtable_count(db->wb.mem) == 0)
        return 0;
    if ((rc = memtable_new(&fresh)) < 0)
        return rc;
    if ((rc = db_enqueue_locked(db, db->wb.mem, db->wb.mem_id)) < 0) {
        memtable_unref(fresh);
        return rc;
    }
    db->wb.mem_id++;
    db->wb.mem = fresh;
    return 0;
}

/* freeze_locked for a caller holding wb.mu only. */
static int freeze(cirrus_db *db)
{
    pthread_mutex_lock(&db->mu);
    int rc = freeze_locked(db);
    pthread_mutex_unlock(&db->mu);
    return rc;
}

int db_freeze(cirrus_db *db)
{
    pthread_mutex_lock(&db->wb.mu);
    int rc = freeze(db);
    pthread_mutex_unlock(&db->wb.mu);
    return rc;
}

static int writable_locked(cirrus_db *db)
{
    if (db->opts.read_only)
        return err_set(CIRRUS_EINVALID, "the database was opened read-only");
    if (db->closing)
        return err_set(CIRRUS_ECLOSED, "the handle is closing");
    if (db->failed)
        return err_set(CIRRUS_ECLOSED, "the handle failed (out of memory while buffering a "
                                       "batch); reopen the database");
    if (db_ambiguous_locked(db))
        return err_set(CIRRUS_EAMBIGUOUS,
                       "an earlier commit's outcome is unknown; cirrus_flush() resolves it");
    return 0;
}

/* ---- write slowdown -------------------------------------------------------- */

/*
 * The write slowdown (policy in cirrus.h at l0_slowdown_writes_trigger and
 * docs/DESIGN.md, "Compaction"). L0 grows by one file per commit whatever
 * the commit holds, and a writer buffering hundreds of thousands of puts a
 * second takes the CPU compaction needs to keep up; pacing bytes, not
 * commits, slows the writer that causes the pile-up while a light writer,
 * whose bytes fit the paced rate, never waits (the earlier fixed stops and
 * brakes also held back durable commits of a few hundred puts a second).
 *
 * A virtual clock, pace_next_ns: every write moves it on by bytes / rate;
 * when it runs more than PACE_MIN_SLEEP_NS ahead of the real clock the
 * writer sleeps until then. It never lags more than PACE_BURST_NS behind.
 * Writers reserve their slots under mu and sleep without it, so several
 * writers share one rate.
 */

static int throttled(const cirrus_db *db)
{
    /* with no compactor here, waiting could wait for nothing */
    return db->cp.started && !db->opts.read_only;
}

/* Waits while L0 is at the stop trigger, if this handle is the one that
 * compacts (holds the lease): only then is a compaction sure to be on its
 * way. Another process may hold the lease and be stuck or gone (until the
 * lease expires), or an operator may hold it on purpose; a stop there could
 * wait without end, and pacing still holds the writer back. Caller holds mu. */
static void stop_locked(cirrus_db *db)
{
    uint32_t stop = db->opts.l0_stop_writes_trigger;
    if (!stop || db->vs.current->n_files[0] < stop || !db->cp.lease_held)
        return;
    uint64_t t0 = mono_ns();
    db->wb.n_write_stops++;
    while (db->vs.current->n_files[0] >= stop && db->cp.lease_held && !db->closing && !db->failed) {
        /* a new version wakes it (version_cv); the timeout covers a compactor elsewhere */
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += STOP_RECHECK_MS * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_cond_timedwait(&db->version_cv, &db->mu, &ts);
    }
    db->wb.write_stop_ns += mono_ns() - t0;
}

/* Paces a write of `bytes` (keys + values) by the L0 file count: may drop
 * and retake mu. Caller holds mu and checks writable_locked() after. */
static void throttle_locked(cirrus_db *db, uint64_t bytes)
{
    const cirrus_options *o = &db->opts;
    if (!throttled(db))
        return;
    stop_locked(db);
    size_t l0 = db->vs.current->n_files[0];
    if (!o->l0_slowdown_writes_trigger || !o->delayed_write_rate ||
        l0 < o->l0_slowdown_writes_trigger)
        return;
    /* the rate falls in proportion to the overshoot */
    uint64_t rate = o->delayed_write_rate / (l0 - o->l0_slowdown_writes_trigger + 1);
    uint64_t now = mono_ns();
    if (rate == 0)
        rate = 1;
    if (db->wb.pace_next_ns + PACE_BURST_NS < now)
        db->wb.pace_next_ns = now - PACE_BURST_NS;
    db->wb.pace_next_ns += (uint64_t)((double)bytes * 1e9 / (double)rate);
    if (db->wb.pace_next_ns <= now + PACE_MIN_SLEEP_NS)
        return;
    uint64_t wait = db->wb.pace_next_ns - now;
    db->wb.n_write_slowdowns++;
    pthread_mutex_unlock(&db->mu);
    sleep_ns(wait);
    /* the time slept, not asked for: on a busy machine the sleep overruns,
     * and the next write then sleeps less (its slot is nearer) */
    uint64_t slept = mono_ns() - now;
    pthread_mutex_lock(&db->mu);
    db->wb.write_slowdown_ns += slept;
}

void db_write_stall_stats(cirrus_db *db, cirrus_stats *out)
{
    pthread_mutex_lock(&db->mu);
    out->write_slowdowns = db->wb.n_write_slowdowns;
    out->write_slowdown_ms = db->wb.write_slowdown_ns / 1000000u;
    out->write_stops = db->wb.n_write_stops;
    out->write_stop_ms = db->wb.write_stop_ns / 1000000u;
    pthread_mutex_unlock(&db->mu);
}

/* Lets a write of `bytes` in: checks the handle takes writes, paces it
 * (throttle_locked) and waits while the frozen memtables queue is full.
 * Takes and drops mu; the caller then buffers the write under wb.mu.
 * *flush_errors_out: the count of failed flushes as the write was let in. */
static int admit(cirrus_db *db, uint64_t bytes, uint64_t *flush_errors_out)
{
    int rc;
    pthread_mutex_lock(&db->mu);
    if ((rc = writable_locked(db)) < 0)
        goto unlock;
    throttle_locked(db, bytes);
    while (db_queue_full_locked(db) && db->bg_started && !db->closing && !db->failed)
        pthread_cond_wait(&db->commit_cv, &db->mu);
    rc = writable_locked(db);
    /* a flush failing from here on may be the one of this write */
    *flush_errors_out = db_flush_errors_locked(db);
unlock:
    pthread_mutex_unlock(&db->mu);
    return rc;
}

/* Waits until memtable id is committed (db_wait_committed_locked), or the
 * handle closes or fails (then nothing more is committed). Caller holds mu. */
static int wait_committed_locked(cirrus_db *db, uint64_t id, uint64_t errors)
{
    int rc = db_wait_committed_locked(db, id, errors);
    if (rc == 1 && db->closing)
        return err_set(CIRRUS_ECLOSED, "the handle closed before the commit");
    return rc == 1 ? writable_locked(db) : rc;
}

int cirrus_write(cirrus_db *db, const cirrus_batch *b, int flags, uint64_t *seq_out)
{
    uint64_t id, errors;
    int rc;
    err_clear();
    if (!db || !b)
        return err_set(CIRRUS_EINVALID, "cirrus_write: NULL argument");
    if ((rc = admit(db, cirrus_batch_bytes(b), &errors)) < 0)
        return rc;
    pthread_mutex_lock(&db->wb.mu);
    if ((rc = apply_batch(db, b)) < 0) {
        pthread_mutex_lock(&db->mu);
        db->failed = 1;
        /* writers waiting in admit() or for a commit (none will come) */
        db_wake_all(db);
        pthread_mutex_unlock(&db->mu);
        goto unlock;
    }
    atomic_store_explicit(&db->wb.visible_mseq, db->wb.next_mseq - 1, memory_order_release);
    id = db->wb.mem_id;
    if (memtable_bytes(db->wb.mem) >= db->opts.write_buffer_size && (rc = freeze(db)) < 0)
        goto unlock;
    int wait = flags & (CIRRUS_WRITE_WAIT | CIRRUS_WRITE_NOW);
    int now = (flags & CIRRUS_WRITE_NOW) || (wait && !db->bg_started) ||
              (wait && !db->opts.flush_interval_ms);
    if (!wait) {
        if (seq_out)
            *seq_out = 0;
        goto unlock;
    }
    if (now && db->wb.mem_id == id && (rc = freeze(db)) < 0)
        goto unlock;
    pthread_mutex_unlock(&db->wb.mu);
    if (now && (rc = db_flush_until(db, id)) < 0)
        return rc;
    pthread_mutex_lock(&db->mu);
    if ((now || (rc = wait_committed_locked(db, id, errors)) == 0) && seq_out)
        *seq_out = db_committed_seq_locked(db, id);
    pthread_mutex_unlock(&db->mu);
    return rc;
unlock:
    pthread_mutex_unlock(&db->wb.mu);
    return rc;
}

/* One op, buffered: cirrus_write's rules without building a batch (the hot
 * path of streaming state updates). */
static int write_one(cirrus_db *db, int kind, const void *key, size_t key_len, const void *val,
                     size_t val_len)
{
    uint64_t errors;
    int rc;
    err_clear();
    if (!db || (!key && key_len) || (!val && val_len))
        return err_set(CIRRUS_EINVALID, "write: NULL argument");
    if ((rc = admit(db, key_len + val_len, &errors)) < 0)
        return rc;
    /* only wb.mu: readers taking a superversion under mu do not queue
     * behind a writer that buffers hundreds of thousands of puts a second.
     * A single op cannot be half applied: a failure leaves nothing behind */
    pthread_mutex_lock(&db->wb.mu);
    rc = memtable_add(db->wb.mem, db->wb.next_mseq++, kind, key, key_len, val, val_len);
    if (rc == 0)
        atomic_store_explicit(&db->wb.visible_mseq, db->wb.next_mseq - 1, memory_order_release);
    if (rc == 0 && memtable_bytes(db->wb.mem) >= db->opts.write_buffer_size)
        rc = freeze(db);
    pthread_mutex_unlock(&db->wb.mu);
    return rc;
}

int cirrus_put(cirrus_db *db, const void *key, size_t key_len, const void *val, size_t val_len)
{
    return write_one(db, KIND_PUT, key, key_len, val, val_len);
}

int cirrus_delete(cirrus_db *db, const void *key, size_t key_len)
{
    return write_one(db, KIND_DELETE, key, key_len, NULL, 0);
}

int cirrus_merge(cirrus_db *db, const void *key, size_t key_len, const void *operand,
                 size_t operand_len)
{
    return write_one(db, KIND_MERGE, key, key_len, operand, operand_len);
}

int cirrus_flush(cirrus_db *db, uint64_t *seq_out)
{
    err_clear();
    return db_flush(db, seq_out);
}

int db_flush(cirrus_db *db, uint64_t *seq_out)
{
    uint64_t target = 0;
    int rc;
    pthread_mutex_lock(&db->wb.mu);
    pthread_mutex_lock(&db->mu);
    if (db->opts.read_only) {
        if (seq_out)
            *seq_out = db->vs.current->seq;
        rc = 0;
        goto unlock;
    }
    if (db->failed) {
        rc = writable_locked(db);
        goto unlock;
    }
    if ((rc = freeze_locked(db)) < 0)
        goto unlock;
    target = db->wb.mem_id - 1; /* every memtable frozen so far */
unlock:
    pthread_mutex_unlock(&db->mu);
    pthread_mutex_unlock(&db->wb.mu);
    if (rc < 0 || db->opts.read_only)
        return rc;
    if ((rc = db_flush_until(db, target)) < 0)
        return rc;
    pthread_mutex_lock(&db->mu);
    if (seq_out)
        *seq_out = db_committed_seq_locked(db, target);
    pthread_mutex_unlock(&db->mu);
    return 0;
}
