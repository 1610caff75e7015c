/*
 * dbiter.c - the public iterator: live user keys at one snapshot.
 *
 * Underneath is a merge (table/iter.h) of every source that can hold a key
 * in range: this handle's memtables (latest reads only), each L0 file, and
 * one level iterator (version.h) per deeper level, which opens one file of
 * the level at a time.
 * In internal key order a user key's entries come newest first, so:
 *  - forward, the first entry with seq <= snapshot decides the key (a put
 *    shows it, a delete hides it) and the rest of its entries are skipped;
 *  - backward, entries of a key arrive oldest first, so the scan keeps the
 *    last visible one until it steps onto a smaller user key.
 * The current key is copied into the iterator (saved_key): the scan compares
 * the entries after it with it. Forward, the value is borrowed from the
 * merge, which stays on the key's entry until the next call; backward, the
 * merge has moved past the entry by the time the key is known, so the value
 * is copied (saved_val), as is a value resolved from merge operands.
 */
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "util/buf.h"
#include "util/status.h"

struct cirrus_iter {
    cirrus_db *db;
    struct superversion sv;
    struct iter *merged;
    uint64_t snap;
    struct buf lower, upper; /* effective bounds: [lower, upper) */
    int has_lower, has_upper;
    int valid;
    int reverse; /* direction of the last move */
    int status;
    struct buf saved_key, saved_val, target;
    const uint8_t *val; /* the current value: into the merge or saved_val */
    size_t val_len;
};

static int below_upper(const cirrus_iter *it, const uint8_t *k, size_t n)
{
    return !it->has_upper || ukey_compare(k, n, it->upper.data, it->upper.len) < 0;
}

static int below_lower(const cirrus_iter *it, const uint8_t *k, size_t n)
{
    return it->has_lower && ukey_compare(k, n, it->lower.data, it->lower.len) < 0;
}

static int save(struct buf *b, const uint8_t *p, size_t n)
{
    buf_reset(b);
    return buf_append(b, p, n);
}

static void fail(cirrus_iter *it, int rc)
{
    it->valid = 0;
    if (!it->status)
        it->status = rc;
}

static void settle(cirrus_iter *it)
{
    it->valid = 0;
    int rc = iter_status(it->merged);
    if (rc < 0)
        fail(it, rc);
}

/* Is the committed entry (k, seq) older than a range delete covering k?
 * Memtable entries (seqs above SEQ_COMMITTED_MAX) never are. */
static int covered(const cirrus_iter *it, const uint8_t *k, size_t ulen, uint64_t seq)
{
    const struct version *v = it->sv.v;
    return v->n_ranges && seq <= SEQ_COMMITTED_MAX &&
           seq < version_range_del_seq(v, k, ulen, it->snap);
}

/* The value of saved_key when its newest entry is not a plain put: a point
 * read on the iterator's own superversion and snapshot resolves merge
 * operands and expiry exactly as cirrus_get would. */
static int resolve(cirrus_iter *it)
{
    void *v = NULL;
    size_t n = 0;
    int rc = db_get_in(it->db, &it->sv, it->snap, it->saved_key.data, it->saved_key.len, &v, &n);
    if (rc == 0) {
        rc = save(&it->saved_val, v, n);
        free(v);
        it->val = it->saved_val.data;
        it->val_len = it->saved_val.len;
    }
    return rc;
}

/* Forward: stops on the next visible put at or after the merge's position,
 * skipping entries of saved_key (and smaller keys) when `skipping`. */
static void find_next(cirrus_iter *it, int skipping)
{
    struct iter *m = it->merged;
    while (iter_valid(m)) {
        size_t klen, vlen;
        const uint8_t *k = iter_key(m, &klen);
        size_t ulen = ikey_user_len(klen);
        uint64_t seq = ikey_seq(k, klen);
        int kind = ikey_kind(k, klen);
        if (seq > it->snap) {
            iter_next(m);
            continue;
        }
        if (!below_upper(it, k, ulen))
            break;
        if (skipping && ukey_compare(k, ulen, it->saved_key.data, it->saved_key.len) <= 0) {
            iter_next(m);
            continue;
        }
        if (save(&it->saved_key, k, ulen) < 0)
            return fail(it, CIRRUS_ENOMEM);
        if (covered(it, k, ulen, seq))
            kind = KIND_DELETE; /* older than a range delete */
        if (kind == KIND_PUT) {
            it->val = iter_value(m, &vlen);
            it->val_len = vlen;
            it->valid = 1;
            return;
        }
        if (kind == KIND_MERGE || kind == KIND_PUT_TTL) {
            int rc = resolve(it);
            if (rc == 0) {
                it->valid = 1;
                return;
            }
            if (rc != CIRRUS_ENOTFOUND)
                return fail(it, rc);
        }
        /* a delete, an expired put, or a kind this version does not read
         * hides the key */
        skipping = 1;
        iter_next(m);
    }
    settle(it);
}

/* Backward: stops on the previous visible key before the merge's position. */
static void find_prev(cirrus_iter *it)
{
    struct iter *m = it->merged;
    for (;;) {
        int have = 0, kind = KIND_DELETE;
        while (iter_valid(m)) {
            size_t klen, vlen;
            const uint8_t *k = iter_key(m, &klen);
            size_t ulen = ikey_user_len(klen);
            if (ikey_seq(k, klen) <= it->snap) {
                if (have && ukey_compare(k, ulen, it->saved_key.data, it->saved_key.len) < 0)
                    break; /* stepped past the key we hold */
                if (below_lower(it, k, ulen))
                    break;
                kind = covered(it, k, ulen, ikey_seq(k, klen)) ? KIND_DELETE : ikey_kind(k, klen);
                have = kind == KIND_PUT || kind == KIND_MERGE || kind == KIND_PUT_TTL;
                if (have) {
                    const uint8_t *v = iter_value(m, &vlen);
                    if (save(&it->saved_key, k, ulen) < 0 || save(&it->saved_val, v, vlen) < 0)
                        return fail(it, CIRRUS_ENOMEM);
                }
            }
            iter_prev(m);
        }
        int rc = iter_status(m);
        if (rc < 0)
            return fail(it, rc);
        if (!have)
            return settle(it);
        if (kind == KIND_PUT) {
            it->val = it->saved_val.data;
            it->val_len = it->saved_val.len;
            break;
        }
        /* the newest entry is an operand or expires: resolve the key */
        if ((rc = resolve(it)) == 0)
            break;
        if (rc != CIRRUS_ENOTFOUND)
            return fail(it, rc);
        /* deleted or expired after all: on to the previous key */
    }
    it->valid = 1;
}

/* Builds the internal key (ukey, seq, kind) in it->target. */
static int make_target(cirrus_iter *it, const void *ukey, size_t len, uint64_t seq, int kind)
{
    buf_reset(&it->target);
    if (buf_reserve(&it->target, len + IKEY_TRAILER) < 0)
        return -1;
    ikey_encode(it->target.data, ukey, len, seq, kind);
    it->target.len = len + IKEY_TRAILER;
    return 0;
}

static int usable(cirrus_iter *it)
{
    it->valid = 0;
    return it->status == 0;
}

void cirrus_iter_seek(cirrus_iter *it, const void *key, size_t key_len)
{
    if (!usable(it))
        return;
    if (below_lower(it, key, key_len)) {
        key = it->lower.data;
        key_len = it->lower.len;
    }
    if (!below_upper(it, key, key_len))
        return;
    if (make_target(it, key, key_len, SEQ_MAX, KIND_MAX) < 0)
        return fail(it, CIRRUS_ENOMEM);
    it->reverse = 0;
    iter_seek(it->merged, it->target.data, it->target.len);
    find_next(it, 0);
}

void cirrus_iter_first(cirrus_iter *it)
{
    cirrus_iter_seek(it, it->lower.data, it->has_lower ? it->lower.len : 0);
}

void cirrus_iter_last(cirrus_iter *it)
{
    if (!usable(it))
        return;
    it->reverse = 1;
    if (it->has_upper) {
        /* the smallest internal key of `upper`: everything before it is < upper */
        if (make_target(it, it->upper.data, it->upper.len, SEQ_MAX, KIND_MAX) < 0)
            return fail(it, CIRRUS_ENOMEM);
        iter_seek_for_prev(it->merged, it->target.data, it->target.len);
    } else {
        iter_last(it->merged);
    }
    find_prev(it);
}

void cirrus_iter_seek_for_prev(cirrus_iter *it, const void *key, size_t key_len)
{
    if (!usable(it))
        return;
    if (!below_upper(it, key, key_len))
        return cirrus_iter_last(it);
    /* the largest internal key of `key`: every entry of key is <= it */
    if (make_target(it, key, key_len, 0, 0) < 0)
        return fail(it, CIRRUS_ENOMEM);
    it->reverse = 1;
    iter_seek_for_prev(it->merged, it->target.data, it->target.len);
    find_prev(it);
}

void cirrus_iter_next(cirrus_iter *it)
{
    if (!it->valid)
        return;
    if (it->reverse) {
        /* the merge sits before saved_key's entries: go to its first */
        if (make_target(it, it->saved_key.data, it->saved_key.len, SEQ_MAX, KIND_MAX) < 0)
            return fail(it, CIRRUS_ENOMEM);
        iter_seek(it->merged, it->target.data, it->target.len);
        it->reverse = 0;
    } else {
        iter_next(it->merged);
    }
    it->valid = 0;
    find_next(it, 1);
}

void cirrus_iter_prev(cirrus_iter *it)
{
    if (!it->valid)
        return;
    if (!it->reverse) {
        /* the merge sits on saved_key's entries: go before its first */
        if (make_target(it, it->saved_key.data, it->saved_key.len, SEQ_MAX, KIND_MAX) < 0)
            return fail(it, CIRRUS_ENOMEM);
        iter_seek_for_prev(it->merged, it->target.data, it->target.len);
        it->reverse = 1;
    }
    it->valid = 0;
    find_prev(it);
}

int cirrus_iter_valid(const cirrus_iter *it)
{
    return it->valid;
}

const void *cirrus_iter_key(const cirrus_iter *it, size_t *len_out)
{
    *len_out = it->saved_key.len;
    return it->saved_key.data ? (const void *)it->saved_key.data : (const void *)"";
}

const void *cirrus_iter_value(const cirrus_iter *it, size_t *len_out)
{
    *len_out = it->val_len;
    return it->val ? (const void *)it->val : (const void *)"";
}

int cirrus_iter_status(const cirrus_iter *it)
{
    return it->status;
}

/* Bounds from read options: [max(lower, prefix), min(upper, prefix's
 * successor)). */
static int set_bounds(cirrus_iter *it, const cirrus_read_options *ro)
{
    int rc;
    if (!ro)
        return 0;
    if (ro->lower) {
        if ((rc = save(&it->lower, ro->lower, ro->lower_len)) < 0)
            return rc;
        it->has_lower = 1;
    }
    if (ro->upper) {
        if ((rc = save(&it->upper, ro->upper, ro->upper_len)) < 0)
            return rc;
        it->has_upper = 1;
    }
    if (!ro->prefix || !ro->prefix_len)
        return 0;
    const uint8_t *p = ro->prefix;
    size_t n = ro->prefix_len;
    if (!it->has_lower || ukey_compare(p, n, it->lower.data, it->lower.len) > 0) {
        if ((rc = save(&it->lower, p, n)) < 0)
            return rc;
        it->has_lower = 1;
    }
    /* successor: drop trailing 0xff bytes, then add one to the last byte */
    while (n > 0 && p[n - 1] == 0xff)
        n--;
    if (n == 0)
        return 0; /* all 0xff: no upper bound */
    struct buf succ = {0};
    if ((rc = buf_append(&succ, p, n)) < 0)
        return rc;
    succ.data[n - 1]++;
    if (!it->has_upper || ukey_compare(succ.data, succ.len, it->upper.data, it->upper.len) < 0) {
        buf_free(&it->upper);
        it->upper = succ;
        it->has_upper = 1;
    } else {
        buf_free(&succ);
    }
    return 0;
}

/* Could file f hold a key in the iterator's bounds at its snapshot? */
static int file_relevant(const cirrus_iter *it, const struct live_file *f)
{
    const struct file_meta *m = &f->meta;
    if (m->min_seq > it->snap)
        return 0;
    if (it->has_upper &&
        ukey_compare(m->smallest, m->smallest_len, it->upper.data, it->upper.len) >= 0)
        return 0;
    if (it->has_lower &&
        ukey_compare(m->largest, m->largest_len, it->lower.data, it->lower.len) < 0)
        return 0;
    return 1;
}

/* One child for the relevant files of level l >= 1 (none: *out NULL): the
 * file's own iterator for one file, a level iterator for several. `scratch`
 * has room for the level's files. */
static int level_child(cirrus_iter *it, int l, struct live_file **scratch, struct iter **out)
{
    const struct version *v = it->sv.v;
    struct sst_reader *r = NULL;
    size_t n = 0;
    int rc;
    *out = NULL;
    for (size_t i = 0; i < v->n_files[l]; i++)
        if (file_relevant(it, v->files[l][i]))
            scratch[n++] = v->files[l][i];
    if (n == 0)
        return 0;
    if (n > 1)
        return level_iter_new(out, scratch, n, it->db->os, it->db->bcache, 0);
    if ((rc = live_file_reader(scratch[0], it->db->os, it->db->bcache, &r)) < 0)
        return rc;
    return sst_reader_iter(r, out);
}

/* The merge's children: memtables, then each L0 file (they overlap), then
 * one per deeper level (its files do not). */
static int build_children(cirrus_iter *it, struct iter ***out, size_t *n_out)
{
    struct memtable **mems = it->sv.more ? it->sv.more : it->sv.mems;
    const struct version *v = it->sv.v;
    size_t cap = it->sv.n_mems + v->n_files[0] + CIRRUS_MAX_LEVELS, n = 0, widest = 1;
    struct iter **c = calloc(cap, sizeof(*c));
    struct live_file **scratch = NULL;
    int rc = 0;
    for (int l = 1; l < CIRRUS_MAX_LEVELS; l++)
        widest = v->n_files[l] > widest ? v->n_files[l] : widest;
    if (!c || !(scratch = malloc(widest * sizeof(*scratch)))) {
        rc = err_nomem();
        goto done;
    }
    for (size_t i = 0; i < it->sv.n_mems; i++)
        if ((rc = memtable_iter(mems[i], &c[n])) < 0)
            goto done;
        else
            n++;
    for (size_t i = 0; i < v->n_files[0]; i++) {
        struct live_file *f = v->files[0][i];
        struct sst_reader *r;
        if (!file_relevant(it, f))
            continue;
        if ((rc = live_file_reader(f, it->db->os, it->db->bcache, &r)) < 0 ||
            (rc = sst_reader_iter(r, &c[n])) < 0)
            goto done;
        n++;
    }
    for (int l = 1; l < CIRRUS_MAX_LEVELS; l++) {
        if ((rc = level_child(it, l, scratch, &c[n])) < 0)
            goto done;
        n += c[n] != NULL;
    }
done:
    free(scratch);
    if (rc < 0) {
        for (size_t i = 0; c && i < n; i++)
            iter_free(c[i]);
        free(c);
        return rc;
    }
    *out = c;
    *n_out = n;
    return 0;
}

int cirrus_iter_new(cirrus_iter **out, cirrus_db *db, const cirrus_read_options *ro)
{
    cirrus_iter *it = NULL;
    struct iter **children = NULL;
    size_t n = 0;
    int rc;
    err_clear();
    if (!out || !db)
        return err_set(CIRRUS_EINVALID, "cirrus_iter_new: NULL argument");
    if (!(it = calloc(1, sizeof(*it))))
        return err_nomem();
    it->db = db;
    if ((rc = set_bounds(it, ro)) < 0 || (rc = db_acquire_read(db, ro, &it->sv, &it->snap)) < 0)
        goto done;
    if ((rc = build_children(it, &children, &n)) < 0)
        goto done;
    rc = merge_iter_new(&it->merged, children, n);
    free(children);
done:
    if (rc < 0) {
        cirrus_iter_close(it);
        return rc;
    }
    *out = it;
    return 0;
}

void cirrus_iter_close(cirrus_iter *it)
{
    if (!it)
        return;
    iter_free(it->merged);
    if (it->sv.v)
        db_release(&it->sv);
    buf_free(&it->lower);
    buf_free(&it->upper);
    buf_free(&it->saved_key);
    buf_free(&it->saved_val);
    buf_free(&it->target);
    free(it);
}
