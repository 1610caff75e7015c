/* cirrus-test-libs: dbmem table util */
/*
 * test_merge_iter.c - the merging iterator over memtable children against a
 * model of (internal key, child index) in order: overlapping keys, identical
 * internal keys in several children, an empty child, scans both ways, seeks,
 * walks with direction changes, and a failing child.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "db/memtable.h"
#include "table/ikey.h"
#include "table/iter.h"
#include "util/status.h"

#define KEY_MAX 4

struct ment {
    uint8_t ikey[KEY_MAX + IKEY_TRAILER];
    size_t ikey_len;
    size_t child;
    uint8_t val[8]; /* "child index, seq" so entries are told apart */
    size_t val_len;
};

static uint64_t rng_state = 0x2545f4914f6cdd1du;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

static size_t rand_ukey(uint8_t *out)
{
    static const uint8_t alphabet[] = {0x00, 'b', 0xff};
    size_t len = (size_t)(rnd() % 3);
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[rnd() % 3];
    return len;
}

/* The merge's total order: internal key, then child index. */
static int ment_cmp(const void *a, const void *b)
{
    const struct ment *x = a, *y = b;
    int c = ikey_compare(x->ikey, x->ikey_len, y->ikey, y->ikey_len);
    return c ? c : x->child < y->child ? -1 : x->child > y->child ? 1 : 0;
}

static void check_at(struct iter *it, const struct ment *e, size_t n, size_t i)
{
    if (i >= n) {
        assert_false(iter_valid(it));
        return;
    }
    assert_true(iter_valid(it));
    size_t klen, vlen;
    const uint8_t *k = iter_key(it, &klen), *v = iter_value(it, &vlen);
    assert_int_equal(klen, e[i].ikey_len);
    assert_memory_equal(k, e[i].ikey, klen);
    assert_int_equal(vlen, e[i].val_len);
    if (vlen)
        assert_memory_equal(v, e[i].val, vlen);
}

static size_t model_lower(const struct ment *e, size_t n, const uint8_t *t, size_t tlen)
{
    size_t i = 0;
    while (i < n && ikey_compare(e[i].ikey, e[i].ikey_len, t, tlen) < 0)
        i++;
    return i;
}

static size_t model_floor(const struct ment *e, size_t n, const uint8_t *t, size_t tlen)
{
    size_t i = n;
    while (i > 0 && ikey_compare(e[i - 1].ikey, e[i - 1].ikey_len, t, tlen) > 0)
        i--;
    return i == 0 ? SIZE_MAX : i - 1;
}

static void check_merge(struct iter *it, const struct ment *e, size_t n)
{
    size_t i = 0;
    for (iter_first(it); iter_valid(it); iter_next(it))
        check_at(it, e, n, i++);
    assert_int_equal(i, n);
    assert_int_equal(iter_status(it), 0);
    for (iter_last(it); iter_valid(it); iter_prev(it))
        check_at(it, e, n, --i);
    assert_int_equal(i, 0);

    for (int s = 0; s < 400; s++) {
        uint8_t t[KEY_MAX + IKEY_TRAILER];
        size_t ulen = rand_ukey(t), pos;
        int kind = (int)(rnd() % 3 == 0 ? KIND_MAX : rnd() % 2);
        encode_fixed64(t + ulen, ikey_pack(rnd() % 40, kind));
        size_t tlen = ulen + IKEY_TRAILER;
        int fwd = s % 2;
        if (fwd) {
            iter_seek(it, t, tlen);
            pos = model_lower(e, n, t, tlen);
        } else {
            iter_seek_for_prev(it, t, tlen);
            pos = model_floor(e, n, t, tlen);
        }
        check_at(it, e, n, pos);
        /* direction changes right after a seek, and in runs */
        for (int step = 0; step < 30 && pos < n; step++) {
            if (step % 7 < 3 ? !fwd : rnd() % 2) {
                iter_next(it);
                pos = pos + 1 < n ? pos + 1 : SIZE_MAX;
            } else {
                iter_prev(it);
                pos = pos == 0 ? SIZE_MAX : pos - 1;
            }
            check_at(it, e, n, pos);
        }
    }
}

static int same_ukey_seq(const struct ment *x, const uint8_t *uk, size_t ulen, uint64_t seq)
{
    return ikey_user_len(x->ikey_len) == ulen && (ulen == 0 || memcmp(x->ikey, uk, ulen) == 0) &&
           ikey_seq(x->ikey, x->ikey_len) == seq;
}

#define N_MEMS 4

static void merge_matches_the_model_both_ways(void **state)
{
    (void)state;
    struct memtable *mems[N_MEMS] = {0};
    struct iter *kids[N_MEMS + 2] = {0}, *it = NULL;
    struct ment *e = calloc(400, sizeof(*e));
    size_t n = 0;
    assert_non_null(e);
    for (size_t m = 0; m < N_MEMS; m++)
        assert_int_equal(memtable_new(&mems[m]), 0);
    /* mems[2] stays empty. Seqs repeat across memtables (1..40), so some
     * internal keys occur in several children. */
    for (int a = 0; a < 160; a++) {
        size_t m = (size_t)(rnd() % N_MEMS);
        if (m == 2)
            m = 3;
        uint8_t uk[KEY_MAX];
        size_t ulen = rand_ukey(uk);
        uint64_t seq = 1 + rnd() % 40;
        int kind = rnd() % 4 == 0 ? KIND_DELETE : KIND_PUT;
        /* the memtable wants (ukey, seq) unique within itself */
        int dup = 0;
        for (size_t j = 0; j < n; j++)
            if (e[j].child == m && same_ukey_seq(&e[j], uk, ulen, seq))
                dup = 1;
        if (dup)
            continue;
        struct ment *x = &e[n++];
        ikey_encode(x->ikey, uk, ulen, seq, kind);
        x->ikey_len = ulen + IKEY_TRAILER;
        x->child = m;
        x->val[0] = (uint8_t)m;
        x->val[1] = (uint8_t)seq;
        x->val_len = a % 5 == 0 ? 0 : 2;
        assert_int_equal(memtable_add(mems[m], seq, kind, uk, ulen, x->val, x->val_len), 0);
    }
    /* child N_MEMS is a second iterator over mems[0]: exact duplicates of
     * child 0, which must come right after child 0's copy going forward */
    size_t n0 = n;
    for (size_t j = 0; j < n0; j++)
        if (e[j].child == 0) {
            e[n] = e[j];
            e[n++].child = N_MEMS;
        }
    qsort(e, n, sizeof(*e), ment_cmp);
    for (size_t m = 0; m < N_MEMS; m++)
        assert_int_equal(memtable_iter(mems[m], &kids[m]), 0);
    assert_int_equal(memtable_iter(mems[0], &kids[N_MEMS]), 0);
    assert_int_equal(merge_iter_new(&it, kids, N_MEMS + 1), 0);
    for (size_t m = 0; m < N_MEMS; m++)
        memtable_unref(mems[m]); /* the children hold their own references */
    check_merge(it, e, n);
    iter_free(it);
    free(e);
}

static void empty_merges_are_never_valid(void **state)
{
    (void)state;
    struct memtable *m = NULL;
    struct iter *kid = NULL, *it = NULL;
    uint8_t t[IKEY_TRAILER + 1] = {'a'};
    encode_fixed64(t + 1, ikey_pack(1, KIND_PUT));
    /* no children at all */
    assert_int_equal(merge_iter_new(&it, NULL, 0), 0);
    iter_first(it);
    assert_false(iter_valid(it));
    iter_last(it);
    assert_false(iter_valid(it));
    iter_seek(it, t, sizeof(t));
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), 0);
    iter_free(it);
    /* one empty child */
    assert_int_equal(memtable_new(&m), 0);
    assert_int_equal(memtable_iter(m, &kid), 0);
    memtable_unref(m);
    assert_int_equal(merge_iter_new(&it, &kid, 1), 0);
    iter_seek_for_prev(it, t, sizeof(t));
    assert_false(iter_valid(it));
    iter_next(it); /* harmless when not valid */
    iter_prev(it);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), 0);
    iter_free(it);
}

/* ---- a child that fails ------------------------------------------------ */

/* Wraps a memtable iterator and fails (CIRRUS_EIO, invalid) on the
 * fail_after-th positioning call, like a table iterator hitting a bad block. */
struct fail_iter {
    struct iter base;
    struct iter *inner;
    int moves, fail_after, failed;
};

static int fi_valid(const struct iter *it)
{
    const struct fail_iter *f = (const struct fail_iter *)it;
    return !f->failed && iter_valid(f->inner);
}

static void fi_move(struct fail_iter *f)
{
    if (++f->moves >= f->fail_after)
        f->failed = 1;
}

static void fi_first(struct iter *it)
{
    struct fail_iter *f = (struct fail_iter *)it;
    iter_first(f->inner);
    fi_move(f);
}

static void fi_last(struct iter *it)
{
    struct fail_iter *f = (struct fail_iter *)it;
    iter_last(f->inner);
    fi_move(f);
}

static void fi_seek(struct iter *it, const uint8_t *t, size_t len)
{
    struct fail_iter *f = (struct fail_iter *)it;
    iter_seek(f->inner, t, len);
    fi_move(f);
}

static void fi_seek_for_prev(struct iter *it, const uint8_t *t, size_t len)
{
    struct fail_iter *f = (struct fail_iter *)it;
    iter_seek_for_prev(f->inner, t, len);
    fi_move(f);
}

static void fi_next(struct iter *it)
{
    struct fail_iter *f = (struct fail_iter *)it;
    iter_next(f->inner);
    fi_move(f);
}

static void fi_prev(struct iter *it)
{
    struct fail_iter *f = (struct fail_iter *)it;
    iter_prev(f->inner);
    fi_move(f);
}

static const uint8_t *fi_key(const struct iter *it, size_t *len)
{
    return iter_key(((const struct fail_iter *)it)->inner, len);
}

static const uint8_t *fi_value(const struct iter *it, size_t *len)
{
    return iter_value(((const struct fail_iter *)it)->inner, len);
}

static int fi_status(const struct iter *it)
{
    return ((const struct fail_iter *)it)->failed ? CIRRUS_EIO : 0;
}

static void fi_free(struct iter *it)
{
    struct fail_iter *f = (struct fail_iter *)it;
    iter_free(f->inner);
    free(f);
}

static const struct iter_ops fail_ops = {
    .valid = fi_valid,
    .first = fi_first,
    .last = fi_last,
    .seek = fi_seek,
    .seek_for_prev = fi_seek_for_prev,
    .next = fi_next,
    .prev = fi_prev,
    .key = fi_key,
    .value = fi_value,
    .status = fi_status,
    .free = fi_free,
};

static struct iter *fail_iter_new(struct memtable *m, int fail_after)
{
    struct fail_iter *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    f->base.ops = &fail_ops;
    f->fail_after = fail_after;
    assert_int_equal(memtable_iter(m, &f->inner), 0);
    return &f->base;
}

static void a_failing_child_fails_the_merge(void **state)
{
    (void)state;
    struct memtable *m = NULL;
    struct iter *kids[3], *it = NULL;
    char k[2] = {'a', 0};
    assert_int_equal(memtable_new(&m), 0);
    for (int i = 0; i < 10; i++, k[0]++)
        assert_int_equal(memtable_add(m, (uint64_t)i + 1, KIND_PUT, k, 1, "v", 1), 0);

    /* fails on its first move: the merge is never valid */
    assert_int_equal(memtable_iter(m, &kids[0]), 0);
    kids[1] = fail_iter_new(m, 1);
    assert_int_equal(merge_iter_new(&it, kids, 2), 0);
    iter_first(it);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), CIRRUS_EIO);
    iter_free(it);

    /* fails part way, after a direction change: the merge stops there
     * rather than carry on without the child */
    assert_int_equal(memtable_iter(m, &kids[0]), 0);
    kids[1] = fail_iter_new(m, 6);
    assert_int_equal(memtable_iter(m, &kids[2]), 0);
    assert_int_equal(merge_iter_new(&it, kids, 3), 0);
    int steps = 0;
    for (iter_first(it); iter_valid(it) && steps < 100; iter_next(it))
        steps++;
    assert_true(steps < 30);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), CIRRUS_EIO);
    iter_free(it);

    memtable_unref(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(merge_matches_the_model_both_ways),
        cmocka_unit_test(empty_merges_are_never_valid),
        cmocka_unit_test(a_failing_child_fails_the_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
