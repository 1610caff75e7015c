/*
 * merge_iter.c - n child iterators merged into one in internal key order
 * (contract: merge_iter_new in iter.h).
 *
 * Order. Equal internal keys from different children all appear, so the
 * merge walks the total order of (internal key, child index): forward, ties
 * come from the earlier child first; backward is the exact mirror, so among
 * ties the later child comes first.
 *
 * Invariants while positioned at (K, c) = (current key, current child):
 *   forward:  every other child i sits at its first entry after (K, c), i.e.
 *             the first key > K if i < c, the first key >= K if i > c.
 *   backward: every other child i sits at its last entry before (K, c), i.e.
 *             the last key <= K if i < c, the last key < K if i > c.
 * next() in forward mode only advances child c; so does prev() in backward
 * mode. A direction change first re-establishes the other invariant by
 * seeking every other child relative to K (as LevelDB's MergingIterator
 * does), then moves child c.
 *
 * Picking the current child is a linear scan over the children, not a heap:
 * n is small (memtables plus the files that overlap a read, usually < 20),
 * a scan needs no state to repair on a direction change, and one pass also
 * checks every child's status. A heap would pay off only for n in the
 * hundreds.
 *
 * Errors: if any child reports a non-zero status after a move, the merge
 * becomes invalid (a merge that silently skipped a failed child would return
 * wrong data); status() is the first child error in array order.
 */
#include <stdlib.h>

#include "table/ikey.h"
#include "table/iter.h"
#include "util/status.h"

struct merge_iter {
    struct iter base;
    struct iter **kids; /* owned; n entries */
    size_t n;
    size_t cur;  /* index of the current child; n when not valid */
    int forward; /* direction of the last move: which invariant holds */
};

static int mg_valid(const struct iter *it)
{
    const struct merge_iter *mg = (const struct merge_iter *)it;
    return mg->cur < mg->n;
}

/* Picks the current child after every child moved: the smallest key
 * (earliest child on ties) forward, the largest (latest child) backward.
 * Leaves the merge invalid if any child failed. */
static void settle(struct merge_iter *mg, int forward)
{
    size_t best = mg->n, best_len = 0;
    const uint8_t *best_key = NULL;
    mg->forward = forward;
    for (size_t i = 0; i < mg->n; i++) {
        struct iter *c = mg->kids[i];
        size_t len;
        const uint8_t *k;
        if (iter_status(c) != 0) {
            best = mg->n;
            break;
        }
        if (!iter_valid(c))
            continue;
        k = iter_key(c, &len);
        if (best == mg->n) {
            best = i;
        } else {
            int cmp = ikey_compare(k, len, best_key, best_len);
            if (forward ? cmp < 0 : cmp >= 0)
                best = i;
        }
        if (best == i) {
            best_key = k;
            best_len = len;
        }
    }
    mg->cur = best;
}

static void mg_first(struct iter *it)
{
    struct merge_iter *mg = (struct merge_iter *)it;
    for (size_t i = 0; i < mg->n; i++)
        iter_first(mg->kids[i]);
    settle(mg, 1);
}

static void mg_last(struct iter *it)
{
    struct merge_iter *mg = (struct merge_iter *)it;
    for (size_t i = 0; i < mg->n; i++)
        iter_last(mg->kids[i]);
    settle(mg, 0);
}

static void mg_seek(struct iter *it, const uint8_t *target, size_t len)
{
    struct merge_iter *mg = (struct merge_iter *)it;
    for (size_t i = 0; i < mg->n; i++)
        iter_seek(mg->kids[i], target, len);
    settle(mg, 1);
}

static void mg_seek_for_prev(struct iter *it, const uint8_t *target, size_t len)
{
    struct merge_iter *mg = (struct merge_iter *)it;
    for (size_t i = 0; i < mg->n; i++)
        iter_seek_for_prev(mg->kids[i], target, len);
    settle(mg, 0);
}

/* 1 if child c is valid and positioned at exactly key k. */
static int at_key(struct iter *c, const uint8_t *k, size_t len)
{
    size_t clen;
    const uint8_t *ck;
    if (!iter_valid(c))
        return 0;
    ck = iter_key(c, &clen);
    return ikey_compare(ck, clen, k, len) == 0;
}

static void mg_next(struct iter *it)
{
    struct merge_iter *mg = (struct merge_iter *)it;
    struct iter *cur;
    if (!mg_valid(it))
        return;
    cur = mg->kids[mg->cur];
    if (!mg->forward) {
        /* establish the forward invariant; K stays valid: only child c's
         * position backs it, and child c does not move here */
        size_t klen;
        const uint8_t *k = iter_key(cur, &klen);
        for (size_t i = 0; i < mg->n; i++) {
            if (i == mg->cur)
                continue;
            iter_seek(mg->kids[i], k, klen);
            /* earlier children's copies of K came before (K, c) */
            while (i < mg->cur && at_key(mg->kids[i], k, klen))
                iter_next(mg->kids[i]);
        }
    }
    iter_next(cur);
    settle(mg, 1);
}

static void mg_prev(struct iter *it)
{
    struct merge_iter *mg = (struct merge_iter *)it;
    struct iter *cur;
    if (!mg_valid(it))
        return;
    cur = mg->kids[mg->cur];
    if (mg->forward) {
        /* establish the backward invariant (mirror of mg_next) */
        size_t klen;
        const uint8_t *k = iter_key(cur, &klen);
        for (size_t i = 0; i < mg->n; i++) {
            if (i == mg->cur)
                continue;
            iter_seek_for_prev(mg->kids[i], k, klen);
            /* later children's copies of K come after (K, c) */
            while (i > mg->cur && at_key(mg->kids[i], k, klen))
                iter_prev(mg->kids[i]);
        }
    }
    iter_prev(cur);
    settle(mg, 0);
}

static const uint8_t *mg_key(const struct iter *it, size_t *len_out)
{
    const struct merge_iter *mg = (const struct merge_iter *)it;
    return iter_key(mg->kids[mg->cur], len_out);
}

static const uint8_t *mg_value(const struct iter *it, size_t *len_out)
{
    const struct merge_iter *mg = (const struct merge_iter *)it;
    return iter_value(mg->kids[mg->cur], len_out);
}

static int mg_status(const struct iter *it)
{
    const struct merge_iter *mg = (const struct merge_iter *)it;
    int rc = 0;
    for (size_t i = 0; i < mg->n && rc == 0; i++)
        rc = iter_status(mg->kids[i]);
    return rc;
}

static void mg_free(struct iter *it)
{
    struct merge_iter *mg = (struct merge_iter *)it;
    for (size_t i = 0; i < mg->n; i++)
        iter_free(mg->kids[i]);
    free(mg->kids);
    free(mg);
}

static const struct iter_ops merge_iter_ops = {
    .valid = mg_valid,
    .first = mg_first,
    .last = mg_last,
    .seek = mg_seek,
    .seek_for_prev = mg_seek_for_prev,
    .next = mg_next,
    .prev = mg_prev,
    .key = mg_key,
    .value = mg_value,
    .status = mg_status,
    .free = mg_free,
};

/*
 * The children are taken in every case: on failure they are freed here too,
 * so a caller never has to work out which of them it still owns. The array
 * itself stays the caller's (it is copied).
 */
int merge_iter_new(struct iter **out, struct iter **children, size_t n)
{
    struct merge_iter *mg = calloc(1, sizeof(*mg));
    int rc = 0;
    if (!mg || !(mg->kids = calloc(n ? n : 1, sizeof(*mg->kids)))) {
        rc = err_nomem();
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        mg->kids[i] = children[i];
    mg->n = n;
    mg->cur = n;
    mg->forward = 1;
    mg->base.ops = &merge_iter_ops;
done:
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            iter_free(children[i]);
        if (mg)
            free(mg->kids);
        free(mg);
        mg = NULL;
    }
    *out = mg ? &mg->base : NULL;
    return rc;
}
