/*
 * compaction.c - leveled compaction, run by the holder of the db's
 * "compactor" lease.
 *
 * Shape: L0 holds the per-commit files (overlapping, newest first); levels
 * 1..7 hold non-overlapping files, level n+1 targeting level_size_ratio
 * times the bytes of level n (level 1: level1_target_bytes).
 *
 * Picking: L0 scores (files / l0_compaction_trigger), deeper levels score
 * (bytes / target); the highest score >= 1 is compacted:
 *   L0 -> L1  every L0 file plus the L1 files they overlap (taking all of L0
 *             keeps the rule "deeper is older" for every key)
 *   Ln -> Ln+1  one file of Ln, round-robin over the key space, plus the
 *             Ln+1 files it overlaps; a file that overlaps nothing below
 *             moves down without being rewritten
 *
 * Merging keeps MVCC: the retention horizon H is the last seq committed at
 * or before now - mvcc_retention_ms. Every version with seq > H is kept, and
 * of the versions <= H only the newest (the one a read at H sees); a
 * tombstone among those is dropped when nothing below the output level can
 * hold the key. The compact entry records H; reads below it are refused from
 * then on. All versions of a user key go to one output file, so a point
 * read looks at one file per level.
 *
 * Committing: outputs are uploaded first, then one `compact` entry removes
 * the inputs and adds the outputs. Replay validation makes it a no-op if a
 * racing compactor removed an input first (the lease makes that rare; it is
 * never unsafe). Its outputs are then garbage for GC.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/compaction.h"
#include "db/dbimpl.h"
#include "db/history.h"
#include "db/merge.h"
#include "db/sst_output.h"
#include "objstore/objstore.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "util/status.h"
#include "util/sys.h"

#define LAST_LEVEL (CIRRUS_MAX_LEVELS - 1)
/* Inputs are read front to back in windows (sst_reader_iter_sequential):
 * one ranged GET per window instead of one per block, and no block cache
 * churn. The windows of all inputs share READAHEAD_BUDGET bytes, each
 * between READAHEAD_MIN and READAHEAD_MAX. */
#define READAHEAD_BUDGET ((uint64_t)64 << 20)
#define READAHEAD_MIN ((uint64_t)256 << 10)
#define READAHEAD_MAX ((uint64_t)8 << 20)

struct pick {
    int level;                 /* input level */
    int out_level;             /* output level */
    struct live_file **inputs; /* those of `level`, then those of out_level */
    size_t n_inputs;
    size_t n_upper; /* inputs of `level`; the rest are out_level's, in key order */
    int bottommost; /* nothing below out_level overlaps the inputs' range */
    int trivial;    /* one file moves down unchanged */
};

static void pick_clear(struct pick *p)
{
    free(p->inputs);
    memset(p, 0, sizeof(*p));
}

static uint64_t level_target(const cirrus_options *o, int level)
{
    uint64_t t = o->level1_target_bytes;
    for (int l = 1; l < level; l++)
        t = t > UINT64_MAX / o->level_size_ratio ? UINT64_MAX : t * o->level_size_ratio;
    return t;
}

static uint64_t level_bytes(const struct version *v, int level)
{
    uint64_t n = 0;
    for (size_t i = 0; i < v->n_files[level]; i++)
        n += v->files[level][i]->meta.size;
    return n;
}

/* Score of a level: >= 1 means it needs compaction. */
static double level_score(const cirrus_options *o, const struct version *v, int level)
{
    if (level == 0)
        return (double)v->n_files[0] / (o->l0_compaction_trigger ? o->l0_compaction_trigger : 1);
    if (level == LAST_LEVEL)
        return 0;
    return (double)level_bytes(v, level) / (double)level_target(o, level);
}

uint64_t compaction_backlog(const cirrus_options *o, const struct version *v)
{
    uint64_t backlog = 0;
    size_t n0 = v->n_files[0], trigger = o->l0_compaction_trigger;
    if (n0 >= trigger && n0 > 0)
        backlog += level_bytes(v, 0);
    for (int l = 1; l < LAST_LEVEL; l++) {
        uint64_t b = level_bytes(v, l), t = level_target(o, l);
        if (b > t)
            backlog += b - t;
    }
    return backlog;
}

static int overlaps(const struct file_meta *m, const uint8_t *lo, size_t lo_len, const uint8_t *hi,
                    size_t hi_len)
{
    return ukey_compare(m->largest, m->largest_len, lo, lo_len) >= 0 &&
           ukey_compare(m->smallest, m->smallest_len, hi, hi_len) <= 0;
}

static int add_input(struct pick *p, struct live_file *f)
{
    struct live_file **a = realloc(p->inputs, (p->n_inputs + 1) * sizeof(*a));
    if (!a)
        return err_nomem();
    p->inputs = a;
    a[p->n_inputs++] = f;
    return 0;
}

/* The inputs' key range: [*lo, *hi] (borrowed from the inputs). */
static void input_range(const struct pick *p, const uint8_t **lo, size_t *lo_len,
                        const uint8_t **hi, size_t *hi_len)
{
    *lo = *hi = NULL;
    *lo_len = *hi_len = 0;
    for (size_t i = 0; i < p->n_inputs; i++) {
        const struct file_meta *m = &p->inputs[i]->meta;
        if (!*lo || ukey_compare(m->smallest, m->smallest_len, *lo, *lo_len) < 0) {
            *lo = m->smallest;
            *lo_len = m->smallest_len;
        }
        if (!*hi || ukey_compare(m->largest, m->largest_len, *hi, *hi_len) > 0) {
            *hi = m->largest;
            *hi_len = m->largest_len;
        }
    }
}

/* Adds the out_level files overlapping the current inputs, and works out
 * whether the output is bottommost for its range. */
static int add_overlaps(const struct version *v, struct pick *p)
{
    const uint8_t *lo, *hi;
    size_t lo_len, hi_len;
    int rc;
    input_range(p, &lo, &lo_len, &hi, &hi_len);
    size_t before = p->n_inputs;
    p->n_upper = before;
    for (size_t i = 0; i < v->n_files[p->out_level]; i++) {
        struct live_file *f = v->files[p->out_level][i];
        if (overlaps(&f->meta, lo, lo_len, hi, hi_len) && (rc = add_input(p, f)) < 0)
            return rc;
    }
    if (p->n_inputs > before)
        input_range(p, &lo, &lo_len, &hi, &hi_len);
    p->bottommost = 1;
    for (int l = p->out_level + 1; l < CIRRUS_MAX_LEVELS && p->bottommost; l++)
        for (size_t i = 0; i < v->n_files[l]; i++)
            if (overlaps(&v->files[l][i]->meta, lo, lo_len, hi, hi_len)) {
                p->bottommost = 0;
                break;
            }
    return 0;
}

/* The next file of level l after the round-robin pointer. */
static struct live_file *round_robin(cirrus_db *db, const struct version *v, int l)
{
    struct buf *ptr = &db->cp.ptr[l];
    for (size_t i = 0; i < v->n_files[l]; i++) {
        const struct file_meta *m = &v->files[l][i]->meta;
        if (!ptr->len || ukey_compare(m->smallest, m->smallest_len, ptr->data, ptr->len) > 0)
            return v->files[l][i];
    }
    return v->n_files[l] ? v->files[l][0] : NULL;
}

/* 1 with *p filled if v needs a compaction, 0 if not, < 0 on error. */
static int pick_compaction(cirrus_db *db, const struct version *v, struct pick *p)
{
    int best = -1;
    double best_score = 1.0;
    int rc;
    memset(p, 0, sizeof(*p));
    for (int l = 0; l < LAST_LEVEL; l++) {
        double s = level_score(&db->opts, v, l);
        if (s >= best_score) {
            best_score = s;
            best = l;
        }
    }
    if (best < 0)
        return 0;
    p->level = best;
    p->out_level = best + 1;
    if (best == 0) {
        for (size_t i = 0; i < v->n_files[0]; i++)
            if ((rc = add_input(p, v->files[0][i])) < 0)
                goto fail;
    } else {
        struct live_file *f = round_robin(db, v, best);
        if ((rc = add_input(p, f)) < 0)
            goto fail;
        struct buf *ptr = &db->cp.ptr[best];
        buf_reset(ptr);
        if ((rc = buf_append(ptr, f->meta.largest, f->meta.largest_len)) < 0)
            goto fail;
    }
    if ((rc = add_overlaps(v, p)) < 0)
        goto fail;
    p->trivial = best > 0 && p->n_inputs == 1;
    return 1;
fail:
    pick_clear(p);
    return rc;
}

/* ---- the merge ------------------------------------------------------------ */

/* The merge of the inputs: one child per input of `level` (L0 files
 * overlap), one level iterator over those of out_level. */
static int input_iter(cirrus_db *db, const struct pick *p, struct iter **out)
{
    struct iter **c = calloc(p->n_upper + 1, sizeof(*c));
    size_t n = 0, n_lower = p->n_inputs - p->n_upper;
    uint64_t ra = READAHEAD_BUDGET / (p->n_upper + 1);
    int rc = 0;
    if (!c)
        return err_nomem();
    ra = ra < READAHEAD_MIN ? READAHEAD_MIN : ra > READAHEAD_MAX ? READAHEAD_MAX : ra;
    for (; n < p->n_upper; n++) {
        struct sst_reader *r = NULL;
        if ((rc = live_file_reader(p->inputs[n], db->os, db->bcache, &r)) < 0 ||
            (rc = sst_reader_iter_sequential(r, ra, &c[n])) < 0)
            break;
    }
    if (rc == 0 && n_lower &&
        (rc = level_iter_new(&c[n], p->inputs + p->n_upper, n_lower, db->os, db->bcache, ra)) == 0)
        n++;
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            iter_free(c[i]);
    } else {
        rc = merge_iter_new(out, c, n);
    }
    free(c);
    return rc;
}

/* Fold state for the horizon version of one key (see merge_inputs). */
struct fold {
    uint64_t seq; /* the horizon version's seq: the result keeps it */
    struct resolver r;
    struct buf ikey, val, enc;
};

/* Emits the folded horizon version of user key (ukey, ulen). */
static int flush_fold(const struct pick *p, struct sst_output *o, struct fold *f,
                      const uint8_t *ukey, size_t ulen)
{
    int kind, rc;
    int64_t expiry;
    /* final when a base was found or nothing older can exist below */
    int final = f->r.based || p->bottommost;
    if ((rc = resolver_result(&f->r, final, ukey, ulen, &kind, &f->val, &expiry)) < 0)
        return rc;
    if (kind == KIND_DELETE && p->bottommost)
        return 0;
    if ((rc = resolver_encode(kind, &f->val, expiry, &f->enc)) < 0)
        return rc;
    buf_reset(&f->ikey);
    if ((rc = buf_reserve(&f->ikey, ulen + IKEY_TRAILER)) < 0)
        return rc;
    ikey_encode(f->ikey.data, ukey, ulen, f->seq, kind);
    f->ikey.len = ulen + IKEY_TRAILER;
    return sst_output_add(o, f->ikey.data, f->ikey.len, f->enc.data, f->enc.len);
}

/*
 * Where merge_inputs is within one user key, whose versions arrive newest
 * first (H: the retention horizon; T: the seq of a range delete at or below
 * H covering the key, 0 if none):
 *
 *   state     version                     action                  next
 *   ABOVE     seq > H                     keep                    ABOVE
 *             seq <= H, merge or TTL put  start a fold at it      FOLDING
 *             seq <= H, delete, and       drop (hides nothing)    BELOW
 *               nothing below the output
 *             seq <= H, otherwise         keep (a read at H       BELOW
 *                                         sees it)
 *   FOLDING   any                         add to the fold         FOLDING
 *   BELOW     any                         drop (no allowed read   BELOW
 *                                         sees it)
 * Before the table: a version with seq < T is dropped (deleted for every
 * allowed read), and one with the seq of the previous version (an older
 * file of the same commit) is skipped. A new user key emits an open fold
 * and starts in ABOVE.
 */
enum key_state { KEY_ABOVE, KEY_FOLDING, KEY_BELOW };

/* Merges the inputs into new files of out_level, listed in e. */
static int merge_inputs(cirrus_db *db, const struct pick *p, const struct version *ver,
                        uint64_t horizon, struct entry *e)
{
    struct sst_output *o = NULL;
    struct buf last = {0};
    struct iter *it = NULL;
    struct fold f = {0};
    enum key_state st = KEY_ABOVE;
    int have_last = 0, rc;
    uint64_t n = 0, last_seq = 0, tomb = 0;
    resolver_init(&f.r, db->opts.merge_operator, now_ms());
    if ((rc = sst_output_new_level(&o, db->os, &db->opts, (uint32_t)p->out_level,
                                   &db->cp.compacted_bytes, e)) < 0 ||
        (rc = input_iter(db, p, &it)) < 0)
        goto done;
    sst_output_warm(o, db->bcache);
    for (iter_first(it); iter_valid(it); iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = iter_key(it, &klen), *v = iter_value(it, &vlen);
        size_t ulen = ikey_user_len(klen);
        uint64_t seq = ikey_seq(k, klen);
        int kind = ikey_kind(k, klen);
        if ((++n & 1023) == 0 && db_closing(db)) {
            rc = err_set(CIRRUS_ECLOSED, "compaction stopped: the handle is closing");
            goto done;
        }
        if (!have_last || ukey_compare(k, ulen, last.data, last.len) != 0) {
            if (st == KEY_FOLDING && (rc = flush_fold(p, o, &f, last.data, last.len)) < 0)
                goto done;
            buf_reset(&last);
            if ((rc = buf_append(&last, k, ulen)) < 0)
                goto done;
            have_last = 1;
            st = KEY_ABOVE;
            tomb = version_range_del_seq(ver, k, ulen, horizon);
        } else if (seq == last_seq) {
            continue;
        }
        last_seq = seq;
        if (seq < tomb)
            continue;
        switch (st) {
        case KEY_BELOW:
            continue;
        case KEY_FOLDING:
            if ((rc = resolver_add(&f.r, kind, v, vlen)) < 0)
                goto done;
            continue;
        case KEY_ABOVE:
            if (seq > horizon)
                break;
            if (kind == KIND_MERGE || kind == KIND_PUT_TTL) {
                st = KEY_FOLDING;
                f.seq = seq;
                resolver_reset(&f.r);
                if ((rc = resolver_add(&f.r, kind, v, vlen)) < 0)
                    goto done;
                continue;
            }
            st = KEY_BELOW;
            if (kind == KIND_DELETE && p->bottommost)
                continue;
            break;
        }
        if ((rc = sst_output_add(o, k, klen, v, vlen)) < 0)
            goto done;
    }
    if ((rc = iter_status(it)) < 0)
        goto done;
    if (st == KEY_FOLDING && (rc = flush_fold(p, o, &f, last.data, last.len)) < 0)
        goto done;
    rc = sst_output_finish(o);
done:
    iter_free(it);
    sst_output_free(o);
    buf_free(&last);
    resolver_free(&f.r);
    buf_free(&f.ikey);
    buf_free(&f.val);
    buf_free(&f.enc);
    return rc;
}

static int add_removed(struct entry *e, const char *name)
{
    char **r = realloc(e->removed, (e->n_removed + 1) * sizeof(*r));
    if (!r)
        return err_nomem();
    e->removed = r;
    if (!(r[e->n_removed] = strdup(name)))
        return err_nomem();
    e->n_removed++;
    return 0;
}

/* The retention horizon: the last seq committed at or before now minus the
 * retention, and never above `head` or this handle's oldest snapshot. */
static int retention_horizon(cirrus_db *db, uint64_t head, uint64_t *out)
{
    uint64_t seq = 0, snap = db_snapshots_oldest(db);
    int before;
    int rc = db_seq_at_time(db, now_ms() - db->opts.mvcc_retention_ms, &seq, &before);
    if (rc < 0)
        return rc;
    seq = seq < head ? seq : head;
    *out = seq < snap ? seq : snap;
    return 0;
}

/* Entry validation (the committer runs it right before the compare-and-swap):
 * a snapshot opened since the horizon was chosen must not lose its versions. */
static int keep_snapshots(cirrus_db *db, const struct entry *e, void *arg)
{
    (void)arg;
    return db_snapshots_hold_horizon(db, e->horizon);
}

/* The info line of a committed compaction: what it read and wrote. */
static void log_done(cirrus_db *db, const struct pick *p, const struct entry *e, uint64_t start)
{
    uint64_t in = 0;
    for (size_t i = 0; i < p->n_inputs; i++)
        in += p->inputs[i]->meta.size;
    db_log(db, CIRRUS_LOG_INFO, "compaction",
           "L%d into L%d%s: %zu inputs (%" PRIu64 " bytes), %zu outputs (%" PRIu64
           " bytes) in %" PRIu64 " ms",
           p->level, p->out_level, p->trivial ? " (moved)" : "", p->n_inputs, in, e->n_added,
           entry_added_bytes(e), (mono_ns() - start) / 1000000);
}

/* Runs and commits one compaction. 1 if it did one, 0 if none was needed. */
int compaction_run_once(cirrus_db *db)
{
    struct superversion sv = {0};
    struct pick p = {0};
    struct entry e = {0};
    uint64_t horizon = 0;
    int applied = 0, rc;
    uint64_t start = mono_ns();
    if ((rc = db_acquire(db, &sv, 0)) < 0)
        return rc;
    if ((rc = pick_compaction(db, sv.v, &p)) <= 0)
        goto done;
    e.kind = CIRRUS_ENTRY_COMPACT;
    rand_bytes(e.commit_id, COMMIT_ID_LEN);
    if (!(e.writer = strdup(db->writer_id))) {
        rc = err_nomem();
        goto done;
    }
    for (size_t i = 0; i < p.n_inputs; i++)
        if ((rc = add_removed(&e, p.inputs[i]->meta.name)) < 0)
            goto done;
    if (p.trivial) {
        struct file_meta moved;
        if ((rc = file_meta_copy(&moved, &p.inputs[0]->meta)) < 0)
            goto done;
        moved.level = (uint32_t)p.out_level;
        rc = entry_add_file(&e, &moved);
        file_meta_clear(&moved);
        if (rc < 0)
            goto done;
    } else {
        if ((rc = retention_horizon(db, sv.v->seq, &horizon)) < 0 ||
            (rc = merge_inputs(db, &p, sv.v, horizon, &e)) < 0)
            goto done;
        e.horizon = horizon;
        e.validate = keep_snapshots;
    }
    rc = db_commit(db, &e, NULL, NULL, NULL, &applied);
    if (e.validate)
        db_snapshots_release_horizon(db);
    if (rc == CIRRUS_ECONFLICT) {
        rc = 1; /* another compactor got there first: pick again */
        err_clear();
        goto done;
    }
    if (rc < 0)
        goto done;
    if (applied) {
        atomic_fetch_add_explicit(&db->cp.n_compactions, 1, memory_order_relaxed);
        log_done(db, &p, &e, start);
    }
    rc = 1;
done:
    if (rc < 0)
        rc = err_prefix(rc, "compacting L%d into L%d", p.level, p.out_level);
    entry_clear(&e);
    pick_clear(&p);
    db_release(&sv);
    return rc;
}
