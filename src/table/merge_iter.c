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
 * Picking the current child: a binary heap of the valid children, ordered
 * by (key, child index) in the direction of travel, with each child's key
 * cached (a child's key stays valid until that child moves, and only the
 * merge moves it). next()/prev() move one child and sift it down: O(log n)
 * comparisons per step instead of n. A scan beside a pile of L0 files merges
 * dozens of children, and every step of it lands here. Moves of every child
 * (seeks, first/last, direction changes) rebuild the heap in O(n).
 *
 * Errors: if any child reports a non-zero status after a move, the merge
 * becomes invalid (a merge that silently skipped a failed child would return
 * wrong data); status() is the first child error in array order. Only a
 * child that moved can have failed since the last check.
 */
#include <stdlib.h>

#include "table/ikey.h"
#include "table/iter.h"
#include "util/status.h"

struct child_key {
    const uint8_t *key; /* the child's current key (borrowed from it) */
    size_t len;
};

struct merge_iter {
    struct iter base;
    struct iter **kids; /* owned; n entries */
    size_t n;
    struct child_key *keys; /* n entries: each valid child's current key */
    size_t *heap;           /* indexes of the valid children, heap[0] current */
    size_t n_heap;
    int failed;  /* a child reported an error */
    int forward; /* direction of the last move: which invariant holds */
};

static int mg_valid(const struct iter *it)
{
    const struct merge_iter *mg = (const struct merge_iter *)it;
    return !mg->failed && mg->n_heap > 0;
}

/* 1 if child a comes before child b in the direction of travel: the smaller
 * key (earlier child on ties) forward, the larger (later child) backward. */
static int before(const struct merge_iter *mg, size_t a, size_t b)
{
    const struct child_key *ka = &mg->keys[a], *kb = &mg->keys[b];
    int cmp = ikey_compare(ka->key, ka->len, kb->key, kb->len);
    if (cmp == 0)
        cmp = a < b ? -1 : 1;
    return mg->forward ? cmp < 0 : cmp > 0;
}

static void sift_down(struct merge_iter *mg, size_t at)
{
    size_t *h = mg->heap, n = mg->n_heap, x = h[at];
    for (;;) {
        size_t c = 2 * at + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(mg, h[c + 1], h[c]))
            c++;
        if (!before(mg, h[c], x))
            break;
        h[at] = h[c];
        at = c;
    }
    h[at] = x;
}

/* Rebuilds the heap after every child moved. Leaves the merge invalid if
 * any child failed. */
static void settle(struct merge_iter *mg, int forward)
{
    mg->forward = forward;
    mg->n_heap = 0;
    mg->failed = 0;
    for (size_t i = 0; i < mg->n; i++) {
        struct iter *c = mg->kids[i];
        if (iter_status(c) != 0) {
            mg->failed = 1;
            return;
        }
        if (!iter_valid(c))
            continue;
        mg->keys[i].key = iter_key(c, &mg->keys[i].len);
        mg->heap[mg->n_heap++] = i;
    }
    for (size_t i = mg->n_heap / 2; i-- > 0;)
        sift_down(mg, i);
}

/* After the current child (heap[0]) moved one step in the direction of
 * travel: its new place in the heap, or out of it at its end. */
static void settle_top(struct merge_iter *mg)
{
    size_t i = mg->heap[0];
    struct iter *c = mg->kids[i];
    if (iter_status(c) != 0) {
        mg->failed = 1;
        return;
    }
    if (iter_valid(c))
        mg->keys[i].key = iter_key(c, &mg->keys[i].len);
    else
        mg->heap[0] = mg->heap[--mg->n_heap];
    if (mg->n_heap > 1)
        sift_down(mg, 0);
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
    size_t c = mg->heap[0];
    cur = mg->kids[c];
    if (mg->forward) {
        iter_next(cur);
        settle_top(mg);
        return;
    }
    /* establish the forward invariant; K stays valid: only child c's
     * position backs it, and child c does not move here */
    size_t klen;
    const uint8_t *k = iter_key(cur, &klen);
    for (size_t i = 0; i < mg->n; i++) {
        if (i == c)
            continue;
        iter_seek(mg->kids[i], k, klen);
        /* earlier children's copies of K came before (K, c) */
        while (i < c && at_key(mg->kids[i], k, klen))
            iter_next(mg->kids[i]);
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
    size_t c = mg->heap[0];
    cur = mg->kids[c];
    if (!mg->forward) {
        iter_prev(cur);
        settle_top(mg);
        return;
    }
    /* establish the backward invariant (mirror of mg_next) */
    size_t klen;
    const uint8_t *k = iter_key(cur, &klen);
    for (size_t i = 0; i < mg->n; i++) {
        if (i == c)
            continue;
        iter_seek_for_prev(mg->kids[i], k, klen);
        /* later children's copies of K come after (K, c) */
        while (i > c && at_key(mg->kids[i], k, klen))
            iter_prev(mg->kids[i]);
    }
    iter_prev(cur);
    settle(mg, 0);
}

static const uint8_t *mg_key(const struct iter *it, size_t *len_out)
{
    const struct merge_iter *mg = (const struct merge_iter *)it;
    const struct child_key *k = &mg->keys[mg->heap[0]];
    *len_out = k->len;
    return k->key;
}

static const uint8_t *mg_value(const struct iter *it, size_t *len_out)
{
    const struct merge_iter *mg = (const struct merge_iter *)it;
    return iter_value(mg->kids[mg->heap[0]], len_out);
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
    free(mg->keys);
    free(mg->heap);
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
    if (!mg || !(mg->kids = calloc(n ? n : 1, sizeof(*mg->kids))) ||
        !(mg->keys = calloc(n ? n : 1, sizeof(*mg->keys))) ||
        !(mg->heap = calloc(n ? n : 1, sizeof(*mg->heap)))) {
        rc = err_nomem();
        goto done;
    }
    for (size_t i = 0; i < n; i++)
        mg->kids[i] = children[i];
    mg->n = n;
    mg->forward = 1;
    mg->base.ops = &merge_iter_ops;
done:
    if (rc < 0) {
        for (size_t i = 0; i < n; i++)
            iter_free(children[i]);
        if (mg) {
            free(mg->kids);
            free(mg->keys);
            free(mg->heap);
        }
        free(mg);
        mg = NULL;
    }
    *out = mg ? &mg->base : NULL;
    return rc;
}
