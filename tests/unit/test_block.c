/* cirrus-test-libs: table testsupport */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "table/block.h"
#include "table/ikey.h"
#include "util/status.h"

#define N_KEYS 500
#define KEY_MAX 64

struct kv {
    uint8_t key[KEY_MAX];
    size_t key_len;
    char val[32];
    size_t val_len;
};

static const struct block_origin origin = {"test/block", "data", 0};

/* N_KEYS internal keys "k%05d" (sharing prefixes), seq 100 - i % 7 doesn't
 * matter for order as user keys are distinct. */
static void make_kvs(struct kv *kvs, size_t n, uint64_t seq)
{
    for (size_t i = 0; i < n; i++) {
        char uk[32];
        int ul = snprintf(uk, sizeof(uk), "key-%05zu", i * 2);
        ikey_encode(kvs[i].key, uk, (size_t)ul, seq, i % 3 ? KIND_PUT : KIND_DELETE);
        kvs[i].key_len = (size_t)ul + IKEY_TRAILER;
        kvs[i].val_len = (size_t)snprintf(kvs[i].val, sizeof(kvs[i].val), "v%zu", i) * (i % 5 != 0);
    }
}

static void build(struct block_builder *b, const struct kv *kvs, size_t n, uint32_t interval,
                  const uint8_t **blk, size_t *len)
{
    block_builder_init(b, interval);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(block_builder_add(b, kvs[i].key, kvs[i].key_len,
                                           (const uint8_t *)kvs[i].val, kvs[i].val_len),
                         0);
    assert_int_equal(block_builder_finish(b, blk, len), 0);
}

static void assert_at(struct iter *it, const struct kv *kv)
{
    size_t len;
    assert_true(iter_valid(it));
    const uint8_t *k = iter_key(it, &len);
    assert_int_equal(len, kv->key_len);
    assert_memory_equal(k, kv->key, len);
    const uint8_t *v = iter_value(it, &len);
    assert_int_equal(len, kv->val_len);
    if (len)
        assert_memory_equal(v, kv->val, len);
}

static void round_trip_at_every_restart_interval(void **state)
{
    (void)state;
    static struct kv kvs[N_KEYS];
    make_kvs(kvs, N_KEYS, 42);
    uint32_t intervals[] = {1, 2, 16, 1000};
    for (size_t t = 0; t < sizeof(intervals) / sizeof(intervals[0]); t++) {
        struct block_builder b;
        const uint8_t *blk;
        size_t len;
        struct iter *it;
        build(&b, kvs, N_KEYS, intervals[t], &blk, &len);
        assert_int_equal(block_iter_new(&it, blk, len, &origin, 0), 0);
        iter_first(it);
        for (size_t i = 0; i < N_KEYS; i++, iter_next(it))
            assert_at(it, &kvs[i]);
        assert_false(iter_valid(it));
        iter_last(it);
        for (size_t i = N_KEYS; i-- > 0; iter_prev(it))
            assert_at(it, &kvs[i]);
        assert_false(iter_valid(it));
        assert_int_equal(iter_status(it), 0);
        iter_free(it);
        block_builder_free(&b);
    }
}

static void seeks_land_on_the_first_key_not_less(void **state)
{
    (void)state;
    static struct kv kvs[N_KEYS];
    make_kvs(kvs, N_KEYS, 42);
    struct block_builder b;
    const uint8_t *blk;
    size_t len;
    struct iter *it;
    build(&b, kvs, N_KEYS, 16, &blk, &len);
    assert_int_equal(block_iter_new(&it, blk, len, &origin, 0), 0);
    for (size_t i = 0; i <= N_KEYS * 2; i++) {
        /* odd numbers fall between keys; even ones hit them */
        uint8_t t[32];
        char uk[24];
        int ul = snprintf(uk, sizeof(uk), "key-%05zu", i);
        ikey_encode(t, uk, (size_t)ul, 42, KIND_MAX);
        size_t want = (i + 1) / 2;
        iter_seek(it, t, (size_t)ul + IKEY_TRAILER);
        if (want < N_KEYS)
            assert_at(it, &kvs[want]);
        else
            assert_false(iter_valid(it));
        iter_seek_for_prev(it, t, (size_t)ul + IKEY_TRAILER);
        /* the kind takes no part in the order: a target of the stored seq
         * equals the stored key of its user key */
        size_t prev = i / 2 < N_KEYS ? i / 2 : N_KEYS - 1;
        assert_at(it, &kvs[prev]);
    }
    /* a seek key with a lower seq sorts after the stored entry */
    ikey_encode(kvs[0].key, "key-00010", 9, 41, KIND_PUT);
    iter_seek(it, kvs[0].key, 9 + IKEY_TRAILER);
    assert_at(it, &kvs[6]);
    assert_int_equal(iter_status(it), 0);
    iter_free(it);
    block_builder_free(&b);
}

static void empty_block_is_never_valid(void **state)
{
    (void)state;
    struct block_builder b;
    const uint8_t *blk;
    size_t len;
    struct iter *it;
    uint8_t t[IKEY_TRAILER + 1];
    build(&b, NULL, 0, 16, &blk, &len);
    assert_int_equal(len, 8);
    assert_int_equal(block_iter_new(&it, blk, len, &origin, 0), 0);
    iter_first(it);
    assert_false(iter_valid(it));
    iter_last(it);
    assert_false(iter_valid(it));
    ikey_encode(t, "a", 1, 1, KIND_PUT);
    iter_seek(it, t, sizeof(t));
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), 0);
    iter_free(it);
    block_builder_free(&b);
}

static void global_seq_replaces_seq_zero(void **state)
{
    (void)state;
    static struct kv kvs[40];
    make_kvs(kvs, 40, 0);
    struct block_builder b;
    const uint8_t *blk;
    size_t len, klen;
    struct iter *it;
    build(&b, kvs, 40, 4, &blk, &len);
    assert_int_equal(block_iter_new(&it, blk, len, &origin, 77), 0);
    size_t n = 0;
    for (iter_first(it); iter_valid(it); iter_next(it), n++) {
        const uint8_t *k = iter_key(it, &klen);
        assert_int_equal(ikey_seq(k, klen), 77);
        assert_int_equal(ikey_kind(k, klen), ikey_kind(kvs[n].key, kvs[n].key_len));
        assert_memory_equal(k, kvs[n].key, klen - IKEY_TRAILER);
    }
    assert_int_equal(n, 40);
    for (iter_last(it); iter_valid(it); iter_prev(it))
        n--;
    assert_int_equal(n, 0);
    /* seeks compare with the substituted seq: seq 78 sorts before seq 77 */
    uint8_t t[32];
    ikey_encode(t, "key-00004", 9, 78, KIND_MAX);
    iter_seek(it, t, 9 + IKEY_TRAILER);
    assert_true(iter_valid(it));
    assert_memory_equal(iter_key(it, &klen), "key-00004", 9);
    ikey_encode(t, "key-00004", 9, 76, KIND_MAX);
    iter_seek(it, t, 9 + IKEY_TRAILER);
    assert_memory_equal(iter_key(it, &klen), "key-00006", 9);
    assert_int_equal(iter_status(it), 0);
    iter_free(it);
    block_builder_free(&b);

    /* a stored seq other than 0 under a global seq is corruption */
    make_kvs(kvs, 40, 5);
    build(&b, kvs, 40, 4, &blk, &len);
    assert_int_equal(block_iter_new(&it, blk, len, &origin, 77), 0);
    iter_first(it);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), "test/block"));
    iter_free(it);
    block_builder_free(&b);
}

static void bad_restart_arrays_are_corrupt(void **state)
{
    (void)state;
    uint8_t blk[16] = {0};
    struct iter *it;
    encode_fixed32(blk + 12, 1000); /* more restarts than bytes */
    assert_int_equal(block_iter_new(&it, blk, sizeof(blk), &origin, 0), 0);
    iter_first(it);
    assert_false(iter_valid(it));
    assert_int_equal(iter_status(it), CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), "test/block: data block at offset 0"));
    iter_free(it);
    assert_int_equal(block_iter_new(&it, blk, 3, &origin, 0), 0);
    assert_int_equal(iter_status(it), CIRRUS_ECORRUPT);
    iter_free(it);
    encode_fixed32(blk + 12, 0); /* entries but no restart */
    assert_int_equal(block_iter_new(&it, blk, sizeof(blk), &origin, 0), 0);
    assert_int_equal(iter_status(it), CIRRUS_ECORRUPT);
    iter_free(it);
}

/* A copy of blk whose restart i holds `off`; checked by
 * block_iter_check_restarts(). */
static int check_restarts_with(const uint8_t *blk, size_t len, uint32_t i, uint32_t off)
{
    struct block_iter it = {0};
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, blk, len);
    uint32_t n = decode_fixed32(copy + len - 4);
    if (i < n)
        encode_fixed32(copy + len - 4 - 4 * (size_t)n + 4 * (size_t)i, off);
    assert_int_equal(block_iter_init(&it, copy, len, &origin, 0), 0);
    int rc = block_iter_check_restarts(&it);
    assert_false(iter_valid(&it.base));
    block_iter_clear(&it);
    free(copy);
    return rc;
}

/* What a forward scan never looks at: every restart at an entry that stores
 * its whole key, the first at 0, in order. */
static void restart_arrays_are_checked_against_the_entries(void **state)
{
    (void)state;
    static struct kv kvs[40];
    struct block_builder b;
    const uint8_t *blk;
    size_t len;
    make_kvs(kvs, 40, 42);
    build(&b, kvs, 40, 4, &blk, &len);
    struct block_iter it = {0};
    uint32_t r1 = 0, e5 = 0; /* offsets of entries 4 (restart 1) and 5 */
    assert_int_equal(decode_fixed32(blk + len - 4), 10);
    assert_int_equal(block_iter_init(&it, blk, len, &origin, 0), 0);
    iter_first(&it.base);
    for (int i = 0; i < 5; i++) {
        if (i == 4)
            r1 = it.cur;
        iter_next(&it.base);
    }
    e5 = it.cur;
    block_iter_clear(&it);
    assert_int_equal(r1, decode_fixed32(blk + len - 4 - 4 * 10 + 4));
    assert_int_equal(check_restarts_with(blk, len, 99, 0), 0);
    /* the first not at 0: entries before it unreachable by a seek */
    assert_int_equal(check_restarts_with(blk, len, 0, r1), CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), "first restart point not at the first entry"));
    /* inside an entry */
    assert_int_equal(check_restarts_with(blk, len, 1, r1 + 1), CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), "restart point not at the start of an entry"));
    /* at an entry that shares a prefix with the one before */
    assert_int_equal(check_restarts_with(blk, len, 1, e5), CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), "bad entry at restart point"));
    /* out of order */
    assert_int_equal(check_restarts_with(blk, len, 2, r1), CIRRUS_ECORRUPT);
    /* past the entries */
    assert_int_equal(check_restarts_with(blk, len, 9, (uint32_t)len), CIRRUS_ECORRUPT);
    block_builder_free(&b);
}

/* Walks everything and seeks a few keys; only memory safety is checked
 * (blocks carry no checksum of their own). */
static void exercise(const uint8_t *blk, size_t len)
{
    struct iter *it;
    uint8_t t[32];
    size_t n = 0, klen;
    assert_int_equal(block_iter_new(&it, blk, len, &origin, 0), 0);
    for (iter_first(it); iter_valid(it) && n < 10000; iter_next(it), n++)
        (void)iter_key(it, &klen);
    for (iter_last(it); iter_valid(it) && n < 20000; iter_prev(it), n++)
        (void)iter_value(it, &klen);
    ikey_encode(t, "key-00013", 9, 42, KIND_MAX);
    iter_seek(it, t, 9 + IKEY_TRAILER);
    iter_seek_for_prev(it, t, 9 + IKEY_TRAILER);
    int st = iter_status(it);
    assert_true(st == 0 || st == CIRRUS_ECORRUPT);
    iter_free(it);
}

static void every_flip_and_truncation_is_survived(void **state)
{
    (void)state;
    static struct kv kvs[30];
    make_kvs(kvs, 30, 42);
    struct block_builder b;
    const uint8_t *blk;
    size_t len;
    build(&b, kvs, 30, 4, &blk, &len);
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    for (size_t i = 0; i < len; i++) {
        for (int bit = 0; bit < 8; bit++) {
            memcpy(copy, blk, len);
            copy[i] ^= (uint8_t)(1u << bit);
            exercise(copy, len);
        }
        memcpy(copy, blk, len);
        copy[i] = 0xff;
        exercise(copy, len);
    }
    for (size_t n = 0; n < len; n++) {
        /* a fresh allocation of exactly n bytes, so ASan sees overreads */
        uint8_t *t = malloc(n ? n : 1);
        assert_non_null(t);
        memcpy(t, blk, n);
        exercise(t, n);
        free(t);
    }
    free(copy);
    block_builder_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_at_every_restart_interval),
        cmocka_unit_test(seeks_land_on_the_first_key_not_less),
        cmocka_unit_test(empty_block_is_never_valid),
        cmocka_unit_test(global_seq_replaces_seq_zero),
        cmocka_unit_test(bad_restart_arrays_are_corrupt),
        cmocka_unit_test(restart_arrays_are_checked_against_the_entries),
        cmocka_unit_test(every_flip_and_truncation_is_survived),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
