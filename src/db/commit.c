/*
 * commit.c - catching up with the log and committing entries.
 *
 * Durability order of one commit (the caller uploaded its SST objects
 * first, fsynced / acknowledged by the object store):
 *   1. catch up: replay every entry up to the head H (the writer then knows
 *      its own entry is valid at H + 1 before it commits)
 *   2. make sure entry H is in the log (commitlog.h, rule 2)
 *   3. write a delta object if the entry is too large for an item
 *   4. compare-and-swap the head from H to H + 1        <- the commit point
 *   5. copy entry H + 1 into the log (best effort: the next committer does
 *      it otherwise)
 *   6. every manifest_interval seqs, write manifest/<seq> and advance the
 *      manifest pointer (best effort)
 * A lost race at 4 goes back to 1. An unknown outcome at 4 (timeout, lost
 * connection) is resolved by reading the head back and looking for the
 * entry's commit id; the same entry, with the same commit id, is what any
 * retry commits, so it can land at most once (a retry also reads the seq it
 * tried when a catch-up that did not look for it replayed that seq).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "db/filename.h"
#include "db/manifest.h"
#include "objstore/objstore.h"
#include "util/status.h"
#include "util/sys.h"

/* Attempts that failed without landing (not lost races) before giving up. */
#define MAX_FAILED_ATTEMPTS 4

struct replay {
    cirrus_db *db;
    struct version *v;
    const uint8_t *watch_id; /* commit id to look for, or NULL */
    uint64_t found_seq;      /* seq where watch_id was seen */
    int found_applied;       /* and whether replay validation applied it */
};

static int replay_one(struct replay *r, uint64_t seq, const uint8_t *raw, size_t len)
{
    struct entry e;
    struct version *n = NULL;
    int rc;
    if ((rc = commitlog_decode(&r->db->log, raw, len, seq, &e)) < 0)
        return rc;
    int watched = r->watch_id && memcmp(e.commit_id, r->watch_id, COMMIT_ID_LEN) == 0;
    int applied = 0;
    rc = version_apply(r->v, &e, &n, &applied);
    if (watched && rc == 0) {
        r->found_seq = seq;
        r->found_applied = applied;
    }
    entry_clear(&e);
    if (rc < 0)
        return rc;
    version_unref(r->v);
    r->v = n;
    return 0;
}

static int replay_log_item(uint64_t seq, const uint8_t *raw, size_t len, void *arg)
{
    return replay_one(arg, seq, raw, len);
}

int db_replay_log(cirrus_db *db, struct version **v, uint64_t from, uint64_t to)
{
    struct replay r = {db, *v, NULL, 0, 0};
    int rc = commitlog_scan(&db->log, from, to, replay_log_item, &r);
    *v = r.v;
    return rc;
}

static void publish(cirrus_db *db, struct version *v, void (*on_publish)(cirrus_db *db, void *arg),
                    void *arg)
{
    pthread_mutex_lock(&db->mu);
    struct version *old = db->vs.current;
    db->vs.current = v;
    if (on_publish)
        on_publish(db, arg);
    pthread_cond_broadcast(&db->version_cv);
    pthread_mutex_unlock(&db->mu);
    version_unref(old);
}

static void keep_head(cirrus_db *db, uint64_t seq, uint8_t *raw, size_t len)
{
    free(db->cm.head_raw);
    db->cm.head_raw = raw;
    db->cm.head_raw_len = len;
    db->cm.head_raw_seq = seq;
}

/* Replays up to the head; reports in *found_seq where `watch_id` was
 * committed (0: not seen). Caller holds cm.mu. */
static int catch_up_watch(cirrus_db *db, const uint8_t *watch_id, uint64_t *found_seq,
                          int *found_applied)
{
    struct replay r = {db, NULL, watch_id, 0, 0};
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t head;
    int rc;
    if ((rc = commitlog_get_head(&db->log, &head, &raw, &len)) < 0)
        goto done;
    uint64_t cur = db->vs.current->seq;
    if (head < cur) {
        rc = err_set(CIRRUS_ECORRUPT,
                     "the commit head is at seq %" PRIu64 " but seq %" PRIu64
                     " was already replayed (was the metadata store reset?)",
                     head, cur);
        goto done;
    }
    if (head > cur) {
        r.v = db->vs.current;
        version_ref(r.v);
        if (head - 1 > cur &&
            (rc = commitlog_scan(&db->log, cur + 1, head, replay_log_item, &r)) < 0)
            goto done;
        if ((rc = replay_one(&r, head, raw, len)) < 0)
            goto done;
        publish(db, r.v, NULL, NULL);
        r.v = NULL;
    }
    if (raw && head >= db->cm.head_raw_seq) {
        keep_head(db, head, raw, len);
        raw = NULL;
    }
    if (found_seq)
        *found_seq = r.found_seq;
    if (found_applied)
        *found_applied = r.found_applied;
done:
    if (r.v)
        version_unref(r.v);
    free(raw);
    return rc;
}

int db_refresh(cirrus_db *db, uint64_t *seq_out)
{
    pthread_mutex_lock(&db->cm.mu);
    int rc = catch_up_watch(db, NULL, NULL, NULL);
    if (rc == 0)
        atomic_store_explicit(&db->metrics.current_at_ms, now_ms(), memory_order_relaxed);
    if (rc == 0 && seq_out)
        *seq_out = db->vs.current->seq;
    pthread_mutex_unlock(&db->cm.mu);
    return rc;
}

/* Rule 2 of commitlog.h: entry `head` must be in the log before the head
 * moves past it. */
static int ensure_logged(cirrus_db *db, uint64_t head)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    int rc;
    if (head <= db->log.base_seq || db->cm.log_copied >= head)
        return 0;
    rc = commitlog_get_log(&db->log, head, &raw, &len);
    free(raw);
    if (rc == CIRRUS_ENOTFOUND) {
        if (db->cm.head_raw_seq != head)
            return err_set(CIRRUS_EIO, "entry %" PRIu64 " is neither in the log nor the head",
                           head);
        rc = commitlog_copy(&db->log, head, db->cm.head_raw, db->cm.head_raw_len);
    }
    if (rc == 0)
        db->cm.log_copied = head;
    return rc;
}

static void write_manifest(cirrus_db *db, struct version *v)
{
    struct buf b = {0};
    char name[FILENAME_LEN];
    filename_manifest(name, v->seq);
    /* Best effort: a missing manifest only makes the next open replay more. */
    if (manifest_encode(&b, v) == 0) {
        int rc = objstore_put(db->os, name, b.data, b.len);
        if (rc == 0 || rc == CIRRUS_EEXISTS)
            commitlog_advance_pointer(&db->log, v->seq);
    }
    buf_free(&b);
    err_clear();
}

static int apply_own(cirrus_db *db, const struct entry *e, uint8_t *raw, size_t len,
                     void (*on_publish)(cirrus_db *db, void *arg), void *arg, int *applied)
{
    struct version *n = NULL;
    int rc = version_apply(db->vs.current, e, &n, applied);
    if (rc < 0) {
        free(raw);
        return rc;
    }
    keep_head(db, e->seq, raw, len);
    publish(db, n, on_publish, arg);
    if (commitlog_copy(&db->log, e->seq, raw, len) == 0)
        db->cm.log_copied = e->seq;
    err_clear();
    if (db->opts.manifest_interval && e->seq % db->opts.manifest_interval == 0)
        write_manifest(db, n);
    return 0;
}

/* After an attempt at seq `seq` ended with an unknown outcome: 1 if it
 * committed, 0 if it did not, < 0 if that cannot be told now. */
static int resolve(cirrus_db *db, const struct entry *e, uint64_t seq, int *applied)
{
    uint64_t found = 0;
    int rc = catch_up_watch(db, e->commit_id, &found, applied);
    if (rc < 0)
        return rc;
    if (found)
        return found == seq
                   ? 1
                   : err_set(CIRRUS_ECORRUPT,
                             "commit id seen at seq %" PRIu64 " but written for seq %" PRIu64,
                             found, seq);
    /* Not in the log up to the head: the head is still below seq (the write
     * never landed and, being conditional on the old head, never will once
     * we commit something else there) or another entry holds seq. */
    return 0;
}

/*
 * Whether entry e, which may have landed at e->seq (an attempt there ended
 * with an unknown outcome), is the entry at e->seq although that seq was
 * replayed already. A catch-up that did not watch for e's commit id (a
 * refresh, compaction's or GC's, or the background follower) may have
 * replayed e->seq while the outcome was unresolved; catch_up_watch() then
 * replays nothing and cannot see it, and committing e again would land it
 * twice. The attempt was conditional on the head being e->seq - 1, so
 * e->seq is the only place it can be. Caller holds cm.mu. Returns 0
 * with *found_seq e->seq or 0, or an error (the outcome stays unknown).
 */
static int landed_before(cirrus_db *db, const struct entry *e, uint64_t *found_seq)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    struct entry got;
    int rc;
    *found_seq = 0;
    if (!e->maybe_landed || e->seq == 0 || e->seq > db->vs.current->seq)
        return 0;
    if (e->seq == db->cm.head_raw_seq && db->cm.head_raw) {
        if (!(raw = malloc(db->cm.head_raw_len)))
            return err_nomem();
        memcpy(raw, db->cm.head_raw, db->cm.head_raw_len);
        len = db->cm.head_raw_len;
    } else if ((rc = commitlog_get_log(&db->log, e->seq, &raw, &len)) < 0) {
        return err_prefix(rc, "looking for the commit of seq %" PRIu64, e->seq);
    }
    memset(&got, 0, sizeof(got));
    rc = commitlog_decode(&db->log, raw, len, e->seq, &got);
    free(raw);
    if (rc == 0 && memcmp(got.commit_id, e->commit_id, COMMIT_ID_LEN) == 0)
        *found_seq = e->seq;
    entry_clear(&got);
    return rc;
}

static void set_ambiguous(cirrus_db *db, int value)
{
    pthread_mutex_lock(&db->mu);
    db->cm.ambiguous = value;
    pthread_mutex_unlock(&db->mu);
}

/* A file's age by its write time, or -1 when that is unknown (a name that
 * is not ours, which GC never deletes either). */
static int64_t file_age_ms(const struct file_meta *f, int64_t now)
{
    return f->write_time_ms > 0 ? now - f->write_time_ms : -1;
}

static int is_removed_by(const struct entry *e, const char *name)
{
    for (size_t i = 0; i < e->n_removed; i++)
        if (strcmp(e->removed[i], name) == 0)
            return 1;
    return 0;
}

/* GC deletes unreferenced objects older than the grace period; a committer
 * must not commit files that could already be that old by the time its
 * entry is read (docs/DESIGN.md, "Garbage collection"). Checked before every
 * attempt; files an entry moves (removes and adds) are live already. */
static int check_fresh(cirrus_db *db, const struct entry *e)
{
    int64_t now = now_ms(), limit = db->opts.gc_grace_ms / 2;
    for (size_t i = 0; i < e->n_added; i++) {
        int64_t age = file_age_ms(&e->added[i], now);
        if (age > limit && !is_removed_by(e, e->added[i].name))
            return err_set(CIRRUS_ETIMEOUT,
                           "%s was written %" PRId64 " ms ago, more than half the GC grace "
                           "period (%" PRId64 " ms): not committing it",
                           e->added[i].name, age, db->opts.gc_grace_ms);
    }
    return 0;
}

/*
 * One commit as a state machine (db_commit). Every attempt starts in
 * CATCH_UP, except the first attempt of a new entry, which goes straight to
 * PREPARE at the head this handle knows (one metadata read saved per commit
 * when a writer works alone).
 *
 *   state      does                                      next
 *   CATCH_UP   replay to the head, looking for e's       LANDED  e is there (an
 *              commit id (an earlier attempt may have            earlier attempt)
 *              landed); landed_before() for a seq a      PREPARE otherwise
 *              catch-up replayed without looking
 *   PREPARE    e still valid at the head (replay would   CAS
 *              apply it), e->validate, entry `head` in   FAILED  invalid, stale
 *              the log, seq/time/encoding, fresh files           files, log error
 *   CAS        compare-and-swap the head to e            APPLY   it moved
 *                                                        BACKOFF lost the race
 *                                                        RESOLVE outcome unknown
 *   RESOLVE    read the head back, looking for e         LANDED  it landed
 *                                                        BACKOFF it did not
 *                                                        FAILED  cannot tell
 *                                                                (ambiguous), or
 *                                                                too many failures
 *   BACKOFF    from the 4th attempt, sleep a little      CATCH_UP
 *   APPLY      publish e's version (on_publish in the    DONE
 *              same critical section), copy e to the
 *              log, maybe write a manifest
 *   LANDED     a catch-up published e: run on_publish    DONE
 *   DONE       clear the ambiguous flag, remember seq    (return 0)
 *   FAILED     (return the error)
 */
static int commit_locked(cirrus_db *db, struct entry *e,
                         void (*on_publish)(cirrus_db *db, void *arg), void *arg, uint64_t *seq_out,
                         int *applied_out);

enum commit_state {
    CS_CATCH_UP,
    CS_PREPARE,
    CS_CAS,
    CS_RESOLVE,
    CS_BACKOFF,
    CS_APPLY,
    CS_LANDED,
    CS_DONE,
    CS_FAILED
};

struct commit_run {
    cirrus_db *db;
    struct entry *e;
    uint8_t *raw; /* e encoded for its seq (PREPARE) */
    size_t len;
    uint64_t head; /* the head the attempt builds on */
    unsigned attempt, failures;
    int applied; /* replay validation applied e (db_commit's *applied_out) */
    int rc;      /* FAILED: the error; CAS: the compare-and-swap's code */
};

static enum commit_state st_catch_up(struct commit_run *r)
{
    uint64_t found = 0;
    if ((r->rc = catch_up_watch(r->db, r->e->commit_id, &found, &r->applied)) < 0)
        return CS_FAILED;
    if (!found) {
        if ((r->rc = landed_before(r->db, r->e, &found)) < 0)
            return CS_FAILED;
        /* one that landed was valid at its seq (checked before its
         * compare-and-swap), so that replay applied it */
        if (found)
            r->applied = 1;
    }
    if (!found)
        return CS_PREPARE;
    r->e->seq = found;
    return CS_LANDED;
}

static enum commit_state st_prepare(struct commit_run *r)
{
    cirrus_db *db = r->db;
    struct entry *e = r->e;
    r->head = db->vs.current->seq;
    /* Never commit an entry replay would ignore: the version here is the
     * head's whenever the compare-and-swap succeeds, so this is exact.
     * Readers of the log (the changefeed) can then take every entry as
     * applied. */
    if (!version_entry_valid(db->vs.current, e)) {
        r->rc = err_set(CIRRUS_ECONFLICT,
                        "the entry is no longer valid at seq %" PRIu64
                        " (its files or epoch were taken meanwhile)",
                        r->head + 1);
        return CS_FAILED;
    }
    if ((e->validate && (r->rc = e->validate(db, e, e->validate_arg)) < 0) ||
        (r->rc = ensure_logged(db, r->head)) < 0)
        return CS_FAILED;
    e->seq = r->head + 1;
    int64_t now = now_ms();
    e->time_ms = now > db->vs.current->time_ms ? now : db->vs.current->time_ms;
    free(r->raw);
    r->raw = NULL;
    if ((r->rc = commitlog_prepare(&db->log, e, &r->raw, &r->len)) < 0)
        return CS_FAILED;
    /* An entry known not to have landed may be refused for stale files (and
     * rewritten by its caller); one that may have landed must be retried as
     * it is, or it could land twice. Checked last before the compare-and-
     * swap, to leave GC the widest margin. */
    if (!e->maybe_landed && (r->rc = check_fresh(db, e)) < 0)
        return CS_FAILED;
    return CS_CAS;
}

static enum commit_state st_cas(struct commit_run *r)
{
    r->rc = commitlog_cas_head(&r->db->log, r->head, r->raw, r->len);
    if (r->rc == 0)
        return CS_APPLY;
    if (r->rc == CIRRUS_ECONFLICT)
        return CS_BACKOFF;
    r->e->maybe_landed = 1; /* even if not now, a delayed request may */
    return CS_RESOLVE;
}

static enum commit_state st_resolve(struct commit_run *r)
{
    char cause[512];
    snprintf(cause, sizeof(cause), "%s", cirrus_errmsg());
    int landed = resolve(r->db, r->e, r->e->seq, &r->applied);
    if (landed == 1)
        return CS_LANDED; /* the catch-up already replayed it */
    if (landed < 0) {
        set_ambiguous(r->db, 1);
        r->rc = err_set(CIRRUS_EAMBIGUOUS,
                        "commit of seq %" PRIu64 " may or may not have applied (%s); "
                        "checking failed too (%s); the next flush resolves it",
                        r->e->seq, cause, cirrus_errmsg());
        return CS_FAILED;
    }
    /* did not land: try again, a few times */
    if (++r->failures >= MAX_FAILED_ATTEMPTS) {
        r->rc = err_set(CIRRUS_EIO, "commit of seq %" PRIu64 " failed %u times (last: %s)",
                        r->e->seq, r->failures, cause);
        return CS_FAILED;
    }
    return CS_BACKOFF;
}

static enum commit_state st_backoff(struct commit_run *r)
{
    if (r->attempt >= 3)
        sleep_ms((uint32_t)(rand_u64() % (r->attempt < 10 ? 5u * r->attempt : 50u)));
    r->attempt++;
    return CS_CATCH_UP;
}

int db_commit(cirrus_db *db, struct entry *e, void (*on_publish)(cirrus_db *db, void *arg),
              void *arg, uint64_t *seq_out, int *applied_out)
{
    uint64_t start = mono_ns();
    pthread_mutex_lock(&db->cm.mu);
    int rc = commit_locked(db, e, on_publish, arg, seq_out, applied_out);
    pthread_mutex_unlock(&db->cm.mu);
    histogram_since(&db->metrics.commit_us, start, mono_ns());
    if (rc == 0)
        atomic_store_explicit(&db->metrics.current_at_ms, now_ms(), memory_order_relaxed);
    return rc;
}

static int commit_locked(cirrus_db *db, struct entry *e,
                         void (*on_publish)(cirrus_db *db, void *arg), void *arg, uint64_t *seq_out,
                         int *applied_out)
{
    struct commit_run r = {db, e, NULL, 0, 0, 0, 0, 1, 0};
    enum commit_state st = e->seq != 0 ? CS_CATCH_UP : CS_PREPARE;
    while (st != CS_DONE && st != CS_FAILED) {
        switch (st) {
        case CS_CATCH_UP:
            st = st_catch_up(&r);
            break;
        case CS_PREPARE:
            st = st_prepare(&r);
            break;
        case CS_CAS:
            st = st_cas(&r);
            break;
        case CS_RESOLVE:
            st = st_resolve(&r);
            break;
        case CS_BACKOFF:
            st = st_backoff(&r);
            break;
        case CS_APPLY:
            r.rc = apply_own(db, e, r.raw, r.len, on_publish, arg, &r.applied);
            r.raw = NULL; /* kept as the head's raw item, or freed */
            st = r.rc < 0 ? CS_FAILED : CS_DONE;
            break;
        case CS_LANDED:
            /* published by the catch-up; the files' memtable leaves now */
            if (on_publish) {
                pthread_mutex_lock(&db->mu);
                on_publish(db, arg);
                pthread_mutex_unlock(&db->mu);
            }
            st = CS_DONE;
            break;
        case CS_DONE:
        case CS_FAILED:
            break;
        }
    }
    free(r.raw);
    if (st == CS_FAILED)
        return r.rc;
    set_ambiguous(db, 0);
    pthread_mutex_lock(&db->mu);
    if (e->seq > db->cm.last_commit_seq)
        db->cm.last_commit_seq = e->seq;
    pthread_mutex_unlock(&db->mu);
    if (seq_out)
        *seq_out = e->seq;
    if (applied_out)
        *applied_out = r.applied;
    return 0;
}
