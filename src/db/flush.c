/*
 * flush.c - the committer's queue: each frozen memtable, oldest first, is
 * written as L0 files (sst_output.c) and committed as one write entry
 * (commit.c); it leaves the queue in the critical section that publishes
 * the version holding its files. A failed flush is recorded for the writers
 * waiting on it and retried by the next flush, with the same entry.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/batch.h"
#include "db/dbimpl.h"
#include "db/merge.h"
#include "db/sst_output.h"
#include "table/ikey.h"
#include "util/status.h"
#include "util/sys.h"

/* Frozen memtables allowed to queue before writers wait (backpressure). */
#define MAX_IMM 4

int db_enqueue_locked(cirrus_db *db, struct memtable *mem, uint64_t id)
{
    struct imm *im = calloc(1, sizeof(*im)), **q;
    if (!im || !(q = realloc(db->cm.imm, (db->cm.n_imm + 1) * sizeof(*q)))) {
        free(im);
        return err_nomem();
    }
    db->cm.imm = q;
    im->mem = mem;
    im->id = id;
    q[db->cm.n_imm++] = im;
    pthread_cond_broadcast(&db->work_cv);
    return 0;
}

int db_queue_full_locked(const cirrus_db *db)
{
    return db->cm.n_imm >= MAX_IMM;
}

uint64_t db_flush_errors_locked(const cirrus_db *db)
{
    return db->cm.flush_errors;
}

int db_ambiguous_locked(const cirrus_db *db)
{
    return db->cm.ambiguous;
}

int db_wait_committed_locked(cirrus_db *db, uint64_t id, uint64_t errors)
{
    while (db->cm.committed_id < id) {
        if (db->cm.flush_errors != errors)
            return err_set(db->cm.flush_rc, "%s", db->cm.flush_msg);
        if (db->closing || db->failed)
            return 1;
        pthread_cond_wait(&db->commit_cv, &db->mu);
    }
    return 0;
}

void db_free_imm(struct imm *im)
{
    if (!im)
        return;
    memtable_unref(im->mem);
    entry_clear(&im->entry);
    free(im);
}

/* ---- memtable -> SST objects ---------------------------------------------- */

/* Writes the resolved entry of user key (ukey, ulen) to o. */
static int emit_key(struct sst_output *o, struct resolver *r, const uint8_t *ukey, size_t ulen,
                    struct buf *val, struct buf *enc)
{
    int kind, rc;
    int64_t expiry;
    /* not final: older entries of the key live in other files */
    if ((rc = resolver_result(r, 0, ukey, ulen, &kind, val, &expiry)) < 0 ||
        (rc = resolver_encode(kind, val, expiry, enc)) < 0)
        return rc;
    /* seq 0: the commit entry gives the whole file its seq (ikey.h) */
    return sst_output_add_ukey(o, ukey, ulen, kind, enc->data, enc->len);
}

int db_memtable_files(cirrus_db *db, struct memtable *m, struct entry *e)
{
    struct sst_output *o = NULL;
    struct buf last = {0}, val = {0}, enc = {0};
    struct resolver r;
    struct iter *it = NULL;
    int have_last = 0, rc;
    resolver_init(&r, db->opts.merge_operator, now_ms());
    if ((rc = sst_output_new_commit(&o, db->os, &db->opts, e)) < 0 ||
        (rc = memtable_iter(m, &it)) < 0)
        goto done;
    sst_output_warm(o, db->bcache);
    /* every file of a commit shares one seq, so each key's entries (newest
     * first) reduce to one: the newest, or merge operands folded */
    for (iter_first(it); iter_valid(it); iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = iter_key(it, &klen), *v = iter_value(it, &vlen);
        size_t ulen = ikey_user_len(klen);
        if (!have_last || ukey_compare(k, ulen, last.data, last.len) != 0) {
            if (have_last && (rc = emit_key(o, &r, last.data, last.len, &val, &enc)) < 0)
                goto done;
            resolver_reset(&r);
            buf_reset(&last);
            if ((rc = buf_append(&last, k, ulen)) < 0)
                goto done;
            have_last = 1;
        }
        if ((rc = resolver_add(&r, ikey_kind(k, klen), v, vlen)) < 0)
            goto done;
    }
    if ((rc = iter_status(it)) < 0)
        goto done;
    if (have_last && (rc = emit_key(o, &r, last.data, last.len, &val, &enc)) < 0)
        goto done;
    rc = sst_output_finish(o);
done:
    iter_free(it);
    sst_output_free(o);
    buf_free(&last);
    buf_free(&val);
    buf_free(&enc);
    resolver_free(&r);
    return rc;
}

int db_batch_files(cirrus_db *db, const cirrus_batch *b, struct entry *e)
{
    struct memtable *m = NULL;
    uint64_t seq = 1;
    int rc;
    if (cirrus_batch_count(b) == 0)
        return err_set(CIRRUS_EINVALID, "the batch is empty");
    if ((rc = memtable_new(&m)) < 0)
        return rc;
    if ((rc = batch_apply(b, m, &seq)) == 0)
        rc = db_memtable_files(db, m, e);
    memtable_unref(m);
    return rc;
}

static int prepare_imm(cirrus_db *db, struct imm *im)
{
    int rc;
    entry_clear(&im->entry);
    im->entry.kind = CIRRUS_ENTRY_WRITE;
    rand_bytes(im->entry.commit_id, COMMIT_ID_LEN);
    if (!(im->entry.writer = strdup(db->writer_id)))
        return err_nomem();
    if ((rc = db_memtable_files(db, im->mem, &im->entry)) < 0) {
        entry_clear(&im->entry);
        return rc;
    }
    im->prepared = 1;
    return 0;
}

/* on_publish hook: the committed memtable leaves the queue. Runs under mu. */
static void pop_committed(cirrus_db *db, void *arg)
{
    struct imm *im = arg;
    uint64_t seq = im->entry.seq;
    db->cm.n_imm--;
    memmove(db->cm.imm, db->cm.imm + 1, db->cm.n_imm * sizeof(*db->cm.imm));
    db->cm.committed_id = im->id;
    db->cm.history[im->id % COMMIT_HISTORY].id = im->id;
    db->cm.history[im->id % COMMIT_HISTORY].seq = seq;
    pthread_cond_broadcast(&db->commit_cv);
}

static void record_flush_error(cirrus_db *db, int rc)
{
    pthread_mutex_lock(&db->mu);
    db->cm.flush_errors++;
    db->cm.flush_rc = rc;
    snprintf(db->cm.flush_msg, sizeof(db->cm.flush_msg), "%s", cirrus_errmsg());
    pthread_cond_broadcast(&db->commit_cv);
    pthread_mutex_unlock(&db->mu);
}

int db_flush_until(cirrus_db *db, uint64_t id)
{
    int rc = 0, rewrites = 0;
    pthread_mutex_lock(&db->cm.flush_mu);
    for (;;) {
        pthread_mutex_lock(&db->mu);
        struct imm *im = db->cm.n_imm ? db->cm.imm[0] : NULL;
        int failed = db->failed;
        pthread_mutex_unlock(&db->mu);
        if (!im || im->id > id)
            break;
        if (failed) {
            rc = err_set(CIRRUS_ECLOSED, "the handle failed; nothing more is committed");
            break;
        }
        if (!im->prepared && (rc = prepare_imm(db, im)) < 0) {
            record_flush_error(db, rc);
            break;
        }
        if (im->entry.n_added == 0) {
            /* nothing survived (cannot happen for a non-empty memtable) */
            pthread_mutex_lock(&db->mu);
            pop_committed(db, im);
            pthread_mutex_unlock(&db->mu);
            db_free_imm(im);
            continue;
        }
        rc = db_commit(db, &im->entry, pop_committed, im, NULL, NULL);
        if (rc == CIRRUS_ETIMEOUT && !im->entry.maybe_landed && ++rewrites <= 3) {
            im->prepared = 0; /* files too old to commit: write them anew */
            continue;
        }
        if (rc < 0) {
            record_flush_error(db, rc);
            break;
        }
        rewrites = 0;
        db_free_imm(im);
    }
    pthread_mutex_unlock(&db->cm.flush_mu);
    return rc;
}

uint64_t db_committed_seq_locked(cirrus_db *db, uint64_t id)
{
    const struct commit_record *h = &db->cm.history[id % COMMIT_HISTORY];
    if (id > 0 && h->id == id)
        return h->seq;
    return db->cm.last_commit_seq ? db->cm.last_commit_seq : db->vs.current->seq;
}
