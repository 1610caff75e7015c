/*
 * read.c - point reads.
 *
 * A read at snapshot s looks at the newest source first and stops at the
 * first entry for the key with seq <= s: this handle's memtables (latest
 * reads only), then L0 files newest first, then each level >= 1, where at
 * most one file can hold the key. Key ranges from the commit entries and
 * bloom filters keep files that cannot hold the key from being read.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "db/merge.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "util/status.h"
#include "util/sys.h"

static int in_range(const struct live_file *f, const void *key, size_t len)
{
    return ukey_compare(key, len, f->meta.smallest, f->meta.smallest_len) >= 0 &&
           ukey_compare(key, len, f->meta.largest, f->meta.largest_len) <= 0;
}

/* Feeds the entries of key at or below snap from `it` (positioned by a
 * seek) into r, newest first. 1 when a base ended the key, 0 to go on. */
static int collect_iter(struct iter *it, const void *key, size_t len, uint64_t snap, uint64_t tomb,
                        struct resolver *r)
{
    uint8_t *target = malloc(len + IKEY_TRAILER);
    int rc = 0;
    if (!target)
        return err_nomem();
    ikey_encode(target, key, len, snap, KIND_MAX);
    for (iter_seek(it, target, len + IKEY_TRAILER); iter_valid(it) && rc == 0; iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = iter_key(it, &klen), *v = iter_value(it, &vlen);
        if (ukey_compare(k, ikey_user_len(klen), key, len) != 0)
            break;
        /* older than a covering range delete: deleted */
        rc = ikey_seq(k, klen) < tomb ? resolver_add(r, KIND_DELETE, NULL, 0)
                                      : resolver_add(r, ikey_kind(k, klen), v, vlen);
    }
    free(target);
    if (rc == 0 && iter_status(it) < 0)
        rc = iter_status(it);
    return rc;
}

/* One memtable's entries of key: the newest by a lookup, older ones only
 * when the newest is a merge operand. */
static int collect_mem(struct memtable *m, const void *key, size_t len, uint64_t snap,
                       struct resolver *r)
{
    const uint8_t *v;
    size_t vlen;
    int kind;
    struct iter *it;
    int rc = memtable_get(m, key, len, snap, &kind, &v, &vlen);
    if (rc == CIRRUS_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (kind != KIND_MERGE)
        return resolver_add(r, kind, v, vlen);
    if ((rc = memtable_iter(m, &it)) < 0)
        return rc;
    rc = collect_iter(it, key, len, snap, 0, r);
    iter_free(it);
    return rc;
}

/* The same for one file, after its key range and bloom filter. */
static int collect_file(cirrus_db *db, struct live_file *f, const void *key, size_t len,
                        uint64_t snap, uint64_t tomb, struct resolver *r)
{
    struct sst_reader *rd;
    struct iter *it;
    uint8_t *val = NULL;
    size_t vlen = 0;
    int kind = KIND_DELETE, rc;
    if (f->meta.min_seq > snap || !in_range(f, key, len))
        return 0;
    if (f->meta.max_seq < tomb)
        return resolver_add(r, KIND_DELETE, NULL, 0); /* all of it is deleted */
    if ((rc = live_file_reader(f, db->os, db->bcache, &rd)) < 0)
        return rc;
    if (!sst_reader_may_contain(rd, key, len))
        return 0;
    /* a file straddling a range delete needs each entry's seq */
    int straddles = f->meta.min_seq < tomb;
    rc = straddles ? 0 : sst_reader_get(rd, key, len, snap, &kind, &val, &vlen);
    if (rc == CIRRUS_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    if (!straddles && kind != KIND_MERGE) {
        rc = resolver_add(r, kind, val, vlen);
        free(val);
        return rc;
    }
    free(val);
    if ((rc = sst_reader_iter(rd, &it)) < 0)
        return rc;
    rc = collect_iter(it, key, len, snap, tomb, r);
    iter_free(it);
    return rc;
}

/* The file of a sorted, non-overlapping level that may hold key. */
static struct live_file *level_file(struct live_file **files, size_t n, const void *key, size_t len)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct file_meta *m = &files[mid]->meta;
        if (ukey_compare(m->largest, m->largest_len, key, len) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n ? files[lo] : NULL;
}

int db_get_in(cirrus_db *db, struct superversion *sv, uint64_t snap, const void *key, size_t len,
              void **val_out, size_t *val_len_out)
{
    struct memtable **mems = sv->more ? sv->more : sv->mems;
    struct resolver r;
    struct buf val = {0};
    int64_t expiry;
    int kind, rc = 0;
    resolver_init(&r, db->opts.merge_operator, now_ms());
    /* committed entries older than this range delete read as deleted;
     * buffered ones are newer than anything committed */
    uint64_t tomb = version_range_del_seq(sv->v, key, len, snap);
    /* newest source first; stop at the first base */
    for (size_t i = 0; i < sv->n_mems && rc == 0; i++)
        rc = collect_mem(mems[i], key, len, snap, &r);
    for (size_t i = 0; i < sv->v->n_files[0] && rc == 0; i++)
        rc = collect_file(db, sv->v->files[0][i], key, len, snap, tomb, &r);
    for (int l = 1; l < CIRRUS_MAX_LEVELS && rc == 0; l++) {
        struct live_file *f = level_file(sv->v->files[l], sv->v->n_files[l], key, len);
        if (f)
            rc = collect_file(db, f, key, len, snap, tomb, &r);
    }
    if (rc < 0)
        goto done;
    if (!resolver_any(&r)) {
        rc = err_set(CIRRUS_ENOTFOUND, "not found");
        goto done;
    }
    if ((rc = resolver_result(&r, 1, key, len, &kind, &val, &expiry)) < 0)
        goto done;
    if (kind == KIND_DELETE) {
        rc = err_set(CIRRUS_ENOTFOUND, "not found");
        goto done;
    }
    /* hand the bytes over with a terminator */
    if ((rc = buf_put_u8(&val, 0)) < 0)
        goto done;
    *val_len_out = val.len - 1;
    *val_out = buf_take(&val, NULL);
done:
    buf_free(&val);
    resolver_free(&r);
    return rc;
}

int db_get_at(cirrus_db *db, uint64_t seq, const void *key, size_t key_len, void **val_out,
              size_t *val_len_out)
{
    struct superversion sv;
    int rc;
    if ((rc = db_acquire_at(db, seq, &sv, &seq)) < 0)
        return rc;
    rc = db_get_in(db, &sv, seq, key, key_len, val_out, val_len_out);
    db_release(&sv);
    return rc;
}

int cirrus_get(cirrus_db *db, const cirrus_read_options *ro, const void *key, size_t key_len,
               void **val_out, size_t *val_len_out)
{
    struct superversion sv;
    uint64_t seq;
    int rc;
    err_clear();
    if (!db || !val_out || !val_len_out || (!key && key_len))
        return err_set(CIRRUS_EINVALID, "cirrus_get: NULL argument");
    uint64_t start = mono_ns();
    if ((rc = db_acquire_read(db, ro, &sv, &seq)) < 0)
        return rc;
    rc = db_get_in(db, &sv, seq, key, key_len, val_out, val_len_out);
    db_release(&sv);
    histogram_since(&db->metrics.get_us, start, mono_ns());
    return rc;
}

/* Newest seq of key in one file (0 if absent). */
static int file_newest_seq(cirrus_db *db, struct live_file *f, const void *key, size_t len,
                           uint64_t *seq)
{
    struct sst_reader *r;
    struct iter *it = NULL;
    uint8_t *target = NULL;
    int rc;
    *seq = 0;
    if (!in_range(f, key, len))
        return 0;
    if ((rc = live_file_reader(f, db->os, db->bcache, &r)) < 0)
        return rc;
    if (!sst_reader_may_contain(r, key, len))
        return 0;
    if (!(target = malloc(len + IKEY_TRAILER)))
        return err_nomem();
    ikey_encode(target, key, len, SEQ_MAX, KIND_MAX);
    if ((rc = sst_reader_iter(r, &it)) == 0) {
        iter_seek(it, target, len + IKEY_TRAILER);
        size_t klen;
        const uint8_t *k = iter_valid(it) ? iter_key(it, &klen) : NULL;
        if (k && ukey_compare(k, ikey_user_len(klen), key, len) == 0)
            *seq = ikey_seq(k, klen);
        rc = iter_status(it);
    }
    iter_free(it);
    free(target);
    return rc;
}

static int newest_in_files(cirrus_db *db, struct version *v, const void *key, size_t len,
                           uint64_t *seq_out)
{
    int rc;
    *seq_out = 0;
    /* newest first: the first file holding the key has its newest entry */
    for (size_t i = 0; i < v->n_files[0]; i++)
        if ((rc = file_newest_seq(db, v->files[0][i], key, len, seq_out)) < 0 || *seq_out)
            return rc;
    for (int l = 1; l < CIRRUS_MAX_LEVELS; l++) {
        struct live_file *f = level_file(v->files[l], v->n_files[l], key, len);
        if (f && ((rc = file_newest_seq(db, f, key, len, seq_out)) < 0 || *seq_out))
            return rc;
    }
    return 0;
}

int db_newest_seq(cirrus_db *db, struct version *v, const void *key, size_t len, uint64_t *seq_out)
{
    /* a range delete covering the key writes it too */
    uint64_t tomb = version_range_del_seq(v, key, len, SEQ_MAX);
    int rc = newest_in_files(db, v, key, len, seq_out);
    if (rc == 0 && tomb > *seq_out)
        *seq_out = tomb;
    return rc;
}

int cirrus_multi_get(cirrus_db *db, const cirrus_read_options *ro, size_t n_keys,
                     const void *const *keys, const size_t *key_lens, void **vals_out,
                     size_t *val_lens_out, int *rcs_out)
{
    struct superversion sv;
    uint64_t snap;
    char first_msg[1024];
    int rc, first_error = 0;
    err_clear();
    if (!db || (n_keys && (!keys || !key_lens || !vals_out || !val_lens_out || !rcs_out)))
        return err_set(CIRRUS_EINVALID, "cirrus_multi_get: NULL argument");
    if ((rc = db_acquire_read(db, ro, &sv, &snap)) < 0)
        return rc;
    /* one superversion: every key is read at the same snapshot */
    for (size_t i = 0; i < n_keys; i++) {
        vals_out[i] = NULL;
        val_lens_out[i] = 0;
        rcs_out[i] = db_get_in(db, &sv, snap, keys[i], key_lens[i], &vals_out[i], &val_lens_out[i]);
        if (rcs_out[i] < 0 && rcs_out[i] != CIRRUS_ENOTFOUND && !first_error) {
            first_error = rcs_out[i];
            /* the keys after it set messages of their own ("not found") */
            snprintf(first_msg, sizeof(first_msg), "%s", cirrus_errmsg());
        }
    }
    db_release(&sv);
    if (first_error)
        err_set(first_error, "%s", first_msg);
    return first_error;
}
