/*
 * versions.c - what reads work on: the current version and this handle's
 * memtables taken together (struct superversion), and snapshots.
 *
 * A snapshot is a committed seq this handle keeps readable: while it is
 * open, this handle's compactions choose a retention horizon at or below
 * it (db_snapshots_oldest), and a compaction whose horizon an open snapshot
 * would cross is refused at its commit (db_snapshots_hold_horizon, run by
 * the committer right before the compare-and-swap). Between that check and
 * the commit's publication the horizon is "pending": a snapshot is refused
 * below it too, so that no snapshot is created on a version that is about
 * to drop what it needs.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "table/ikey.h"
#include "util/status.h"

struct cirrus_snapshot {
    cirrus_db *db;
    uint64_t seq;
    struct cirrus_snapshot *prev, *next; /* db->vs.snapshots; guarded by db->mu */
    /* a checkpoint's version (owned reference), read instead of the
     * current one; such a snapshot is not linked */
    struct version *v;
};

/* CIRRUS_EEXPIRED unless a read at seq may use v: compaction dropped
 * versions below v's retention horizon. */
static int check_horizon(const struct version *v, uint64_t seq)
{
    if (seq >= v->min_readable_seq)
        return 0;
    return err_set(CIRRUS_EEXPIRED,
                   "seq %" PRIu64 " is older than the MVCC retention horizon (seq %" PRIu64
                   "): compaction has dropped versions it needs",
                   seq, v->min_readable_seq);
}

/* Links s at seq if the current version (and a pending compaction) still
 * keeps seq. 1 if seq is beyond the head, 0 when linked. Caller holds mu. */
static int link_locked(cirrus_db *db, struct cirrus_snapshot *s, uint64_t seq)
{
    int rc;
    if (seq > db->vs.current->seq)
        return 1;
    if ((rc = check_horizon(db->vs.current, seq)) < 0)
        return rc;
    if (seq < db->vs.pending_horizon)
        return err_set(CIRRUS_EEXPIRED,
                       "seq %" PRIu64 " is older than the retention horizon of a compaction "
                       "being committed (seq %" PRIu64 ")",
                       seq, db->vs.pending_horizon);
    s->seq = seq;
    s->next = db->vs.snapshots;
    if (s->next)
        s->next->prev = s;
    db->vs.snapshots = s;
    return 0;
}

int cirrus_snapshot_new(cirrus_db *db, uint64_t seq, cirrus_snapshot **out)
{
    struct cirrus_snapshot *s;
    uint64_t head;
    int rc;
    err_clear();
    if (!db || !out)
        return err_set(CIRRUS_EINVALID, "cirrus_snapshot_new: NULL argument");
    if (!(s = calloc(1, sizeof(*s))))
        return err_nomem();
    s->db = db;
    pthread_mutex_lock(&db->mu);
    rc = link_locked(db, s, seq == CIRRUS_SEQ_LATEST ? db->vs.current->seq : seq);
    pthread_mutex_unlock(&db->mu);
    if (rc == 1) {
        /* another writer may have committed it since our last look */
        if ((rc = db_refresh(db, &head)) == 0) {
            pthread_mutex_lock(&db->mu);
            rc = link_locked(db, s, seq);
            pthread_mutex_unlock(&db->mu);
        }
        if (rc == 1)
            rc = err_set(CIRRUS_EINVALID, "seq %" PRIu64 " is beyond the head (%" PRIu64 ")", seq,
                         head);
    }
    if (rc < 0) {
        free(s);
        return rc;
    }
    *out = s;
    return 0;
}

uint64_t cirrus_snapshot_seq(const cirrus_snapshot *s)
{
    return s ? s->seq : CIRRUS_SEQ_LATEST;
}

void cirrus_snapshot_free(cirrus_snapshot *s)
{
    if (!s)
        return;
    cirrus_db *db = s->db;
    if (s->v) {
        version_unref(s->v);
        free(s);
        return;
    }
    pthread_mutex_lock(&db->mu);
    if (s->prev)
        s->prev->next = s->next;
    else
        db->vs.snapshots = s->next;
    if (s->next)
        s->next->prev = s->prev;
    pthread_mutex_unlock(&db->mu);
    free(s);
}

uint64_t db_snapshots_oldest(cirrus_db *db)
{
    uint64_t oldest = UINT64_MAX;
    pthread_mutex_lock(&db->mu);
    for (const struct cirrus_snapshot *s = db->vs.snapshots; s; s = s->next)
        if (s->seq < oldest)
            oldest = s->seq;
    pthread_mutex_unlock(&db->mu);
    return oldest;
}

int db_snapshots_hold_horizon(cirrus_db *db, uint64_t horizon)
{
    int rc = 0;
    pthread_mutex_lock(&db->mu);
    for (const struct cirrus_snapshot *s = db->vs.snapshots; s && rc == 0; s = s->next)
        if (s->seq < horizon)
            rc = err_set(CIRRUS_ECONFLICT,
                         "a snapshot at seq %" PRIu64 " needs versions below the compaction's "
                         "horizon (seq %" PRIu64 ")",
                         s->seq, horizon);
    if (rc == 0)
        db->vs.pending_horizon = horizon;
    pthread_mutex_unlock(&db->mu);
    return rc;
}

void db_snapshots_release_horizon(cirrus_db *db)
{
    pthread_mutex_lock(&db->mu);
    db->vs.pending_horizon = 0;
    pthread_mutex_unlock(&db->mu);
}

int db_acquire_read(cirrus_db *db, const cirrus_read_options *ro, struct superversion *sv,
                    uint64_t *snap_out)
{
    const struct cirrus_snapshot *s = ro ? ro->snapshot : NULL;
    if (!s)
        return db_acquire_at(db, SEQ_MAX, sv, snap_out);
    if (s->db != db)
        return err_set(CIRRUS_EINVALID, "the snapshot belongs to another handle");
    if (!s->v)
        return db_acquire_at(db, s->seq, sv, snap_out);
    memset(sv, 0, sizeof(*sv));
    sv->v = s->v;
    version_ref(sv->v);
    sv->latest = s->seq;
    *snap_out = s->seq;
    return 0;
}

int db_snapshot_of_version(cirrus_db *db, struct version *v, uint64_t seq, cirrus_snapshot **out)
{
    struct cirrus_snapshot *s = calloc(1, sizeof(*s));
    if (!s)
        return err_nomem();
    s->db = db;
    s->seq = seq;
    s->v = v;
    version_ref(v);
    *out = s;
    return 0;
}

int db_acquire(cirrus_db *db, struct superversion *sv, int with_mems)
{
    memset(sv, 0, sizeof(*sv));
    pthread_mutex_lock(&db->mu);
    size_t n = with_mems ? 1 + db->cm.n_imm : 0;
    struct memtable **mems = sv->mems;
    if (n > sizeof(sv->mems) / sizeof(sv->mems[0])) {
        sv->more = malloc(n * sizeof(*sv->more));
        if (!sv->more) {
            pthread_mutex_unlock(&db->mu);
            return err_nomem();
        }
        mems = sv->more;
    }
    if (with_mems) {
        mems[sv->n_mems++] = db->wb.mem;
        memtable_ref(db->wb.mem);
        for (size_t i = db->cm.n_imm; i-- > 0;) {
            mems[sv->n_mems++] = db->cm.imm[i]->mem;
            memtable_ref(db->cm.imm[i]->mem);
        }
    }
    sv->v = db->vs.current;
    version_ref(sv->v);
    sv->latest = atomic_load_explicit(&db->wb.visible_mseq, memory_order_acquire);
    pthread_mutex_unlock(&db->mu);
    return 0;
}

void db_release(struct superversion *sv)
{
    struct memtable **mems = sv->more ? sv->more : sv->mems;
    for (size_t i = 0; i < sv->n_mems; i++)
        memtable_unref(mems[i]);
    free(sv->more);
    version_unref(sv->v);
    memset(sv, 0, sizeof(*sv));
}

int db_acquire_at(cirrus_db *db, uint64_t seq, struct superversion *sv, uint64_t *snap_out)
{
    int rc;
    if ((rc = db_acquire(db, sv, seq == SEQ_MAX)) < 0)
        return rc;
    if (seq == SEQ_MAX) {
        seq = sv->latest; /* never part of a batch still being buffered */
    } else if ((rc = check_horizon(sv->v, seq)) < 0) {
        /* another process's compaction committed since the snapshot was
         * taken: the version the read would use no longer has it */
        db_release(sv);
        return rc;
    }
    *snap_out = seq;
    return 0;
}
