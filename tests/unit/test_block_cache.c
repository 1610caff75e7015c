/* cirrus-test-libs: cache util */
/*
 * test_block_cache.c - the block cache: budget, LRU order, priority classes,
 * pinning, replacement, counters, and many threads at once.
 *
 * The cache is sharded by key hash, so these tests reason about the whole
 * cache with values large against the per-entry overhead and key sets small
 * against the per-shard budget, rather than about one shard's exact order.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cache/block_cache.h"
#include "util/status.h"

#define VAL 4000
/* about 10 values per shard of 16 */
#define CAP ((uint64_t)16 * 10 * (VAL + 200))

/* The value stored under (file, off): recognisable bytes. */
static void *make_val(const char *file, uint64_t off, size_t len)
{
    uint8_t *v = malloc(len ? len : 1);
    assert_non_null(v);
    for (size_t i = 0; i < len; i++)
        v[i] = (uint8_t)(file[0] + off * 7 + i);
    return v;
}

static void check_val(const struct block_cache_handle *h, const char *file, uint64_t off,
                      size_t len)
{
    size_t got;
    const uint8_t *v = block_cache_value(h, &got);
    assert_int_equal(got, len);
    for (size_t i = 0; i < len; i++)
        assert_int_equal(v[i], (uint8_t)(file[0] + off * 7 + i));
}

static void put(struct block_cache *c, const char *file, uint64_t off, enum block_cache_prio p)
{
    void *v = make_val(file, off, VAL);
    assert_int_equal(block_cache_insert(c, file, strlen(file), off, v, VAL, p, NULL), 0);
}

/* 1 if (file, off) is cached (and its bytes are right), else 0. */
static int has(struct block_cache *c, const char *file, uint64_t off)
{
    struct block_cache_handle *h = NULL;
    int rc = block_cache_lookup(c, file, strlen(file), off, &h);
    if (rc == CIRRUS_ENOTFOUND)
        return 0;
    assert_int_equal(rc, 0);
    check_val(h, file, off, VAL);
    block_cache_release(c, h);
    return 1;
}

static void stats(struct block_cache *c, struct block_cache_stats *st)
{
    block_cache_stats(c, st);
}

static void capacity_is_respected(void **state)
{
    (void)state;
    struct block_cache *c;
    struct block_cache_stats st;
    assert_int_equal(block_cache_new(&c, CAP), 0);
    for (uint64_t i = 0; i < 3000; i++) {
        put(c, "f", i, BLOCK_CACHE_LOW);
        stats(c, &st);
        assert_true(st.bytes_in_use <= CAP);
    }
    /* a full cache holds most of what fits: at least half the budget */
    assert_true(st.bytes_in_use >= CAP / 2);
    assert_true(st.n_entries * VAL <= CAP);
    assert_int_equal(st.inserts, 3000);
    assert_int_equal(st.evictions, 3000 - st.n_entries);
    assert_int_equal(st.capacity, CAP);
    /* the newest entry is there, the oldest long gone */
    assert_true(has(c, "f", 2999));
    assert_false(has(c, "f", 0));
    block_cache_free(c);
}

static void least_recently_used_goes_first(void **state)
{
    (void)state;
    struct block_cache *c;
    assert_int_equal(block_cache_new(&c, CAP), 0);
    for (uint64_t k = 0; k < 16; k++)
        put(c, "hot", k, BLOCK_CACHE_LOW);
    /* cold traffic many times the capacity; the hot keys are used between */
    for (uint64_t i = 0; i < 2000; i++) {
        put(c, "cold", i, BLOCK_CACHE_LOW);
        if (i % 4 == 0)
            for (uint64_t k = 0; k < 16; k++)
                assert_true(has(c, "hot", k));
    }
    for (uint64_t k = 0; k < 16; k++)
        assert_true(has(c, "hot", k));
    assert_false(has(c, "cold", 0));
    assert_true(has(c, "cold", 1999));
    /* left alone, they age out like anything else */
    for (uint64_t i = 2000; i < 4000; i++)
        put(c, "cold", i, BLOCK_CACHE_LOW);
    for (uint64_t k = 0; k < 16; k++)
        assert_false(has(c, "hot", k));
    block_cache_free(c);
}

static void high_priority_outlives_data(void **state)
{
    (void)state;
    struct block_cache *c;
    struct block_cache_stats st;
    assert_int_equal(block_cache_new(&c, CAP), 0);
    for (uint64_t k = 0; k < 16; k++)
        put(c, "index", k, BLOCK_CACHE_HIGH);
    /* never touched again, yet data blocks are evicted ahead of them */
    for (uint64_t i = 0; i < 3000; i++)
        put(c, "data", i, BLOCK_CACHE_LOW);
    for (uint64_t k = 0; k < 16; k++)
        assert_true(has(c, "index", k));
    stats(c, &st);
    assert_true(st.bytes_in_use <= CAP);
    /* high-priority entries alone still respect the budget */
    for (uint64_t k = 16; k < 3000; k++)
        put(c, "index", k, BLOCK_CACHE_HIGH);
    stats(c, &st);
    assert_true(st.bytes_in_use <= CAP);
    assert_false(has(c, "data", 2999)); /* data went first */
    block_cache_free(c);
}

static void pinned_entries_survive_until_released(void **state)
{
    (void)state;
    struct block_cache *c;
    struct block_cache_handle *pin = NULL, *old = NULL, *h = NULL;
    struct block_cache_stats st;
    assert_int_equal(block_cache_new(&c, CAP), 0);
    void *v = make_val("p", 1, VAL);
    assert_int_equal(block_cache_insert(c, "p", 1, 1, v, VAL, BLOCK_CACHE_LOW, &pin), 0);
    for (uint64_t i = 0; i < 3000; i++)
        put(c, "f", i, BLOCK_CACHE_LOW);
    check_val(pin, "p", 1, VAL); /* bytes still valid */
    assert_true(has(c, "p", 1)); /* and still findable: pinned is not evictable */
    block_cache_release(c, pin);
    for (uint64_t i = 3000; i < 6000; i++)
        put(c, "f", i, BLOCK_CACHE_LOW);
    assert_false(has(c, "p", 1)); /* released: evictable again */

    /* replacing a pinned entry: the old bytes stay with their handle, the
     * new ones are what lookups find; the old memory goes on release (ASan
     * would report a leak or a use after free) */
    put(c, "r", 5, BLOCK_CACHE_LOW);
    assert_int_equal(block_cache_lookup(c, "r", 1, 5, &old), 0);
    void *nv = make_val("s", 5, VAL); /* different bytes under the same key */
    assert_int_equal(block_cache_insert(c, "r", 1, 5, nv, VAL, BLOCK_CACHE_LOW, NULL), 0);
    check_val(old, "r", 5, VAL);
    assert_int_equal(block_cache_lookup(c, "r", 1, 5, &h), 0);
    check_val(h, "s", 5, VAL);
    block_cache_release(c, h);
    block_cache_release(c, old);
    block_cache_release(c, NULL);
    block_cache_free(c);

    /* a cache of no capacity: usable while pinned, empty once released */
    assert_int_equal(block_cache_new(&c, 0), 0);
    v = make_val("z", 0, VAL);
    assert_int_equal(block_cache_insert(c, "z", 1, 0, v, VAL, BLOCK_CACHE_HIGH, &pin), 0);
    check_val(pin, "z", 0, VAL);
    stats(c, &st);
    assert_int_equal(st.n_entries, 1);
    block_cache_release(c, pin);
    stats(c, &st);
    assert_int_equal(st.n_entries, 0);
    assert_int_equal(st.bytes_in_use, 0);
    assert_int_equal(st.evictions, 1);
    block_cache_free(c);
}

static void keys_are_file_and_offset(void **state)
{
    (void)state;
    struct block_cache *c;
    struct block_cache_stats st;
    assert_int_equal(block_cache_new(&c, CAP), 0);
    /* same offset, different files; a file name that is a prefix of another;
     * a long identity (past any on-stack key buffer); an empty identity */
    char longname[1000];
    memset(longname, 'L', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = '\0';
    put(c, "a", 7, BLOCK_CACHE_LOW);
    put(c, "ab", 7, BLOCK_CACHE_LOW);
    put(c, longname, 7, BLOCK_CACHE_LOW);
    assert_true(has(c, "a", 7));
    assert_true(has(c, "ab", 7));
    assert_true(has(c, longname, 7));
    assert_false(has(c, "a", 8));
    assert_false(has(c, "abc", 7));
    void *v = malloc(1);
    assert_non_null(v);
    assert_int_equal(block_cache_insert(c, "", 0, 0, v, 0, BLOCK_CACHE_LOW, NULL), 0);
    struct block_cache_handle *h;
    assert_int_equal(block_cache_lookup(c, "", 0, 0, &h), 0);
    size_t len = 99;
    block_cache_value(h, &len);
    assert_int_equal(len, 0);
    block_cache_release(c, h);
    stats(c, &st);
    /* has(): 3 + 1 hits ... counted exactly */
    assert_int_equal(st.hits, 4);
    assert_int_equal(st.misses, 2);
    assert_int_equal(st.inserts, 4);
    assert_int_equal(st.evictions, 0);
    assert_int_equal(st.n_entries, 4);
    assert_true(st.bytes_in_use >= 3 * VAL);
    block_cache_free(c);
}

/* ---- threads ------------------------------------------------------------- */

struct worker {
    struct block_cache *c;
    unsigned seed;
    uint64_t lookups;
};

static void *work(void *arg)
{
    struct worker *w = arg;
    uint64_t x = w->seed * 0x9e3779b97f4a7c15ull + 1;
    for (int i = 0; i < 20000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        const char *file = (x & 1) ? "t1" : "t2";
        uint64_t off = (x >> 8) % 600;
        size_t len = (size_t)(off % 50) * 40;
        struct block_cache_handle *h = NULL;
        w->lookups++;
        if (block_cache_lookup(w->c, file, 2, off, &h) == 0) {
            check_val(h, file, off, len);
        } else {
            void *v = make_val(file, off, len);
            enum block_cache_prio p = (x >> 40) & 1 ? BLOCK_CACHE_HIGH : BLOCK_CACHE_LOW;
            if (block_cache_insert(w->c, file, 2, off, v, len, p, &h) < 0)
                free(v);
            else
                check_val(h, file, off, len);
        }
        block_cache_release(w->c, h);
    }
    return NULL;
}

static void threads_share_one_cache(void **state)
{
    (void)state;
    struct block_cache *c;
    struct block_cache_stats st;
    enum { N = 4 };
    pthread_t t[N];
    struct worker w[N];
    assert_int_equal(block_cache_new(&c, 200 << 10), 0);
    for (int i = 0; i < N; i++) {
        w[i] = (struct worker){c, (unsigned)i + 1, 0};
        assert_int_equal(pthread_create(&t[i], NULL, work, &w[i]), 0);
    }
    uint64_t lookups = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(t[i], NULL);
        lookups += w[i].lookups;
    }
    stats(c, &st);
    assert_int_equal(st.hits + st.misses, lookups);
    assert_int_equal(st.inserts, st.misses);
    assert_true(st.hits > 0 && st.evictions > 0);
    assert_true(st.bytes_in_use <= 200 << 10); /* nothing pinned any more */
    block_cache_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(capacity_is_respected),
        cmocka_unit_test(least_recently_used_goes_first),
        cmocka_unit_test(high_priority_outlives_data),
        cmocka_unit_test(pinned_entries_survive_until_released),
        cmocka_unit_test(keys_are_file_and_offset),
        cmocka_unit_test(threads_share_one_cache),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
