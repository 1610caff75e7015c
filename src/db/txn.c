/*
 * txn.c - optimistic transactions with snapshot isolation.
 *
 * A transaction reads at a snapshot seq S plus its own writes, which it
 * keeps in a private memtable; the keys it reads go into a second one (the
 * read set). Commit writes the writes as L0 files, then commits one entry
 * whose validator (entry.h) the committer runs against the head's version
 * right before every compare-and-swap: if the newest committed entry of any
 * key read or written has a seq above S, some commit after the snapshot
 * wrote it, and the transaction is refused with CIRRUS_ECONFLICT. Because
 * the check runs against exactly the version the compare-and-swap succeeds
 * on, it is never stale, and a refused transaction commits nothing (its
 * files are garbage for GC).
 *
 * Compaction may drop a tombstone at or below its horizon; a snapshot below
 * the horizon could then miss a conflicting delete, so such a transaction is
 * refused too.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "table/ikey.h"
#include "util/status.h"
#include "util/sys.h"

struct cirrus_txn {
    cirrus_db *db;
    uint64_t snapshot;
    struct memtable *writes; /* own writes, newest per key wins */
    struct memtable *reads;  /* keys read (values empty) */
    uint64_t next_seq;       /* seqs inside the two memtables */
    size_t n_writes;
};

int cirrus_txn_begin(cirrus_txn **out, cirrus_db *db)
{
    cirrus_txn *t;
    int rc;
    err_clear();
    if (db->opts.read_only)
        return err_set(CIRRUS_EINVALID, "the database was opened read-only");
    if (!(t = calloc(1, sizeof(*t))))
        return err_nomem();
    t->db = db;
    t->next_seq = 1;
    if ((rc = memtable_new(&t->writes)) < 0 || (rc = memtable_new(&t->reads)) < 0 ||
        (rc = db_refresh(db, &t->snapshot)) < 0) {
        cirrus_txn_free(t);
        return rc;
    }
    *out = t;
    return 0;
}

uint64_t cirrus_txn_snapshot(const cirrus_txn *t)
{
    return t->snapshot;
}

void cirrus_txn_free(cirrus_txn *t)
{
    if (!t)
        return;
    memtable_unref(t->writes);
    memtable_unref(t->reads);
    free(t);
}

int cirrus_txn_get(cirrus_txn *t, const void *key, size_t key_len, void **val_out,
                   size_t *val_len_out)
{
    const uint8_t *v;
    size_t vlen;
    int kind, rc;
    err_clear();
    if (memtable_get(t->writes, key, key_len, SEQ_MAX, &kind, &v, &vlen) == 0) {
        if (kind != KIND_PUT)
            return err_set(CIRRUS_ENOTFOUND, "not found");
        uint8_t *copy = malloc(vlen + 1);
        if (!copy)
            return err_nomem();
        if (vlen)
            memcpy(copy, v, vlen);
        copy[vlen] = '\0';
        *val_out = copy;
        *val_len_out = vlen;
        return 0;
    }
    if ((rc = memtable_add(t->reads, t->next_seq++, KIND_PUT, key, key_len, "", 0)) < 0)
        return rc;
    return db_get_at(t->db, t->snapshot, key, key_len, val_out, val_len_out);
}

static int txn_write(cirrus_txn *t, int kind, const void *key, size_t key_len, const void *val,
                     size_t val_len)
{
    err_clear();
    if (!key && key_len)
        return err_set(CIRRUS_EINVALID, "txn: NULL key with length %zu", key_len);
    int rc = memtable_add(t->writes, t->next_seq++, kind, key, key_len, val, val_len);
    if (rc == 0)
        t->n_writes++;
    return rc;
}

int cirrus_txn_put(cirrus_txn *t, const void *key, size_t key_len, const void *val, size_t val_len)
{
    if (!val && val_len)
        return err_set(CIRRUS_EINVALID, "txn: NULL value with length %zu", val_len);
    return txn_write(t, KIND_PUT, key, key_len, val, val_len);
}

int cirrus_txn_delete(cirrus_txn *t, const void *key, size_t key_len)
{
    return txn_write(t, KIND_DELETE, key, key_len, NULL, 0);
}

/* Refuses if any key of m was written after the snapshot. */
static int check_keys(cirrus_db *db, struct version *v, struct memtable *m, uint64_t snapshot)
{
    struct iter *it = NULL;
    int rc;
    if ((rc = memtable_iter(m, &it)) < 0)
        return rc;
    for (iter_first(it); iter_valid(it) && rc == 0; iter_next(it)) {
        size_t klen;
        const uint8_t *k = iter_key(it, &klen);
        uint64_t seq;
        if ((rc = db_newest_seq(db, v, k, ikey_user_len(klen), &seq)) < 0)
            break;
        if (seq > snapshot)
            rc = err_set(CIRRUS_ECONFLICT,
                         "conflict: a key the transaction used was written at seq %" PRIu64
                         ", after its snapshot (seq %" PRIu64 ")",
                         seq, snapshot);
    }
    iter_free(it);
    return rc;
}

/* The entry validator; runs in the committer with cm.mu held. */
static int validate(cirrus_db *db, const struct entry *e, void *arg)
{
    cirrus_txn *t = arg;
    struct superversion sv;
    int rc;
    (void)e;
    if ((rc = db_acquire(db, &sv, 0)) < 0)
        return rc;
    if (t->snapshot < sv.v->min_readable_seq)
        rc = err_set(CIRRUS_ECONFLICT,
                     "conflict: the snapshot (seq %" PRIu64 ") fell behind the MVCC "
                     "retention horizon",
                     t->snapshot);
    else if ((rc = check_keys(db, sv.v, t->reads, t->snapshot)) == 0)
        rc = check_keys(db, sv.v, t->writes, t->snapshot);
    db_release(&sv);
    return rc;
}

int cirrus_txn_commit(cirrus_txn *t, uint64_t *seq_out)
{
    cirrus_db *db = t->db;
    struct entry e;
    uint64_t seq = t->snapshot;
    int rc = 0;
    err_clear();
    memset(&e, 0, sizeof(e));
    if (t->n_writes == 0)
        goto done; /* read-only under snapshot isolation: nothing to check */
    e.kind = CIRRUS_ENTRY_WRITE;
    rand_bytes(e.commit_id, COMMIT_ID_LEN);
    if (!(e.writer = strdup(db->writer_id))) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = db_memtable_files(db, t->writes, &e)) < 0)
        goto done;
    e.validate = validate;
    e.validate_arg = t;
    rc = db_commit(db, &e, NULL, NULL, &seq, NULL);
done:
    if (rc == 0 && seq_out)
        *seq_out = seq;
    entry_clear(&e);
    cirrus_txn_free(t);
    return rc;
}
