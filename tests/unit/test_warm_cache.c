/* cirrus-test-libs: db testsupport */
/*
 * test_warm_cache.c - the files a flush or a compaction writes are in the
 * block cache when they become visible: the first reads of fresh data hit
 * the cache instead of fetching and decompressing blocks from the store.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cirrus.h"
#include "support/fixture.h"

#define KEYS 400

static void put_range(cirrus_db *db, int from, int to, const char *tag)
{
    cirrus_batch *b = fixture_batch_range(from, to, tag);
    assert_int_equal(cirrus_write(db, b, 0, NULL), 0);
    cirrus_batch_free(b);
}

/* Reads key0000..key(KEYS-1), each with its tag; returns the block cache
 * misses they cost. */
static uint64_t read_all(cirrus_db *db, const char *tag)
{
    cirrus_stats before, after;
    char k[16], want[32];
    assert_int_equal(cirrus_stats_get(db, &before), 0);
    for (int i = 0; i < KEYS; i++) {
        void *v = NULL;
        size_t n = 0;
        snprintf(k, sizeof(k), "key%04d", i);
        snprintf(want, sizeof(want), "%s-%d", tag, i);
        if (cirrus_get(db, NULL, k, strlen(k), &v, &n) != 0)
            fail_msg("get %s: %s", k, cirrus_errmsg());
        assert_int_equal(n, strlen(want));
        assert_memory_equal(v, want, n);
        cirrus_free(v);
    }
    assert_int_equal(cirrus_stats_get(db, &after), 0);
    if (after.block_cache_hits - before.block_cache_hits +
            (after.block_cache_misses - before.block_cache_misses) <
        KEYS)
        fail_msg("%s: %llu hits and %llu misses for %d reads", tag,
                 (unsigned long long)(after.block_cache_hits - before.block_cache_hits),
                 (unsigned long long)(after.block_cache_misses - before.block_cache_misses), KEYS);
    return after.block_cache_misses - before.block_cache_misses;
}

static void test_flushed_and_compacted_files_are_warm(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_small_levels(16 << 10);
    o.block_cache_bytes = 32 << 20;
    o.l0_compaction_trigger = 2; /* cirrus_compact leaves fewer L0 files */
    cirrus_db *db = fixture_open(f->dir, &o);

    put_range(db, 0, KEYS, "one");
    fixture_commit(db);
    assert_int_equal(read_all(db, "one"), 0);

    /* overwritten in two more commits, then compacted together */
    put_range(db, 0, KEYS / 2, "two");
    fixture_commit(db);
    put_range(db, 0, KEYS, "three");
    fixture_commit(db);
    assert_int_equal(cirrus_compact(db), 0);
    cirrus_stats st;
    assert_int_equal(cirrus_stats_get(db, &st), 0);
    assert_int_equal(st.level_files[0], 0);
    assert_true(st.compactions >= 1);
    assert_int_equal(read_all(db, "three"), 0);
    assert_int_equal(cirrus_close(db), 0);

    /* a fresh handle has a cold cache: the same reads miss */
    db = fixture_open(f->dir, &o);
    assert_true(read_all(db, "three") > 0);
    assert_int_equal(cirrus_close(db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_flushed_and_compacted_files_are_warm, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
