/* cirrus-test-libs: db testsupport */
/*
 * test_write_stall.c - the read and write paths a pile of files exercises:
 * scans and seeks across levels of many files (one level iterator per level
 * under the merge), and the write slowdown and stop of cirrus_options
 * (l0_slowdown_writes_trigger, l0_stop_writes_trigger, delayed_write_rate).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cirrus.h"
#include "db/dbimpl.h"
#include "support/fixture.h"

#define NKEYS 4000

/* k of 8 bytes; keys stay below 100000 (the modulo tells the compiler so) */
static void key_of(char *k, int i)
{
    snprintf(k, 8, "k%05d", i % 100000);
}

/* Keys 0, 2, 4, ... of NKEYS hold "v<i>-<round>"; odd keys are never
 * written, so seeks land between keys. */
static int present(int i)
{
    return i % 2 == 0 && i < NKEYS;
}

static void expect_at(cirrus_iter *it, int i)
{
    char k[8], v[32];
    size_t n;
    key_of(k, i);
    snprintf(v, sizeof(v), "v%d-3", i);
    assert_true(cirrus_iter_valid(it));
    const char *got = cirrus_iter_key(it, &n);
    assert_int_equal(n, 6);
    assert_memory_equal(got, k, 6);
    got = cirrus_iter_value(it, &n);
    assert_int_equal(n, strlen(v));
    assert_memory_equal(got, v, n);
}

/* Scans, seeks and direction changes over levels of many small files
 * (several rounds of overwrites compacted down with no retention) read
 * exactly the model. */
static void scans_cross_the_files_of_each_level(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_small_levels(4096);
    o.block_size = 256;
    o.mvcc_retention_ms = 0;
    cirrus_db *db = fixture_open(f->dir, &o);
    for (int round = 1; round <= 3; round++) {
        for (int i = 0; i < NKEYS; i += 2) {
            char k[8], v[32];
            key_of(k, i);
            snprintf(v, sizeof(v), "v%d-%d", i, round);
            fixture_put_str(db, k, v);
            if (i % 200 == 0)
                fixture_commit(db);
        }
        fixture_commit(db);
        assert_int_equal(cirrus_compact(db), 0);
    }
    fixture_put_str(db, "k00000", "v0-3"); /* one key in the memtable too */
    cirrus_stats st;
    assert_int_equal(cirrus_stats_get(db, &st), 0);
    uint64_t widest = 0;
    for (int l = 1; l < CIRRUS_MAX_LEVELS; l++)
        widest = st.level_files[l] > widest ? st.level_files[l] : widest;
    assert_true(widest >= 4); /* a level of several files, or nothing is tested */

    cirrus_iter *it = NULL;
    assert_int_equal(cirrus_iter_new(&it, db, NULL), 0);
    int i = 0;
    for (cirrus_iter_first(it); cirrus_iter_valid(it); cirrus_iter_next(it), i += 2)
        expect_at(it, i);
    assert_int_equal(i, NKEYS);
    i = NKEYS - 2;
    for (cirrus_iter_last(it); cirrus_iter_valid(it); cirrus_iter_prev(it), i -= 2)
        expect_at(it, i);
    assert_int_equal(i, -2);
    srand(5);
    for (int t = 0; t < 300; t++) {
        int at = rand() % (NKEYS + 4);
        char k[8];
        key_of(k, at);
        cirrus_iter_seek(it, k, 6);
        int want = present(at) ? at : at + 1 + (at % 2 == 0);
        if (want >= NKEYS) {
            assert_false(cirrus_iter_valid(it));
            continue;
        }
        expect_at(it, want);
        /* back and forth across file boundaries */
        int back = 0;
        while (back < 3 && want - 2 * (back + 1) >= 0) {
            cirrus_iter_prev(it);
            back++;
            expect_at(it, want - 2 * back);
        }
        while (back > 0) {
            cirrus_iter_next(it);
            back--;
            expect_at(it, want - 2 * back);
        }
        cirrus_iter_seek_for_prev(it, k, 6);
        want = at >= NKEYS ? NKEYS - 2 : at - at % 2;
        expect_at(it, want);
    }
    assert_int_equal(cirrus_iter_status(it), 0);
    cirrus_iter_close(it);

    /* bounds that start and end inside files */
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    ro.lower = "k00301";
    ro.lower_len = 6;
    ro.upper = "k02901";
    ro.upper_len = 6;
    assert_int_equal(cirrus_iter_new(&it, db, &ro), 0);
    i = 302;
    for (cirrus_iter_first(it); cirrus_iter_valid(it); cirrus_iter_next(it), i += 2)
        expect_at(it, i);
    assert_int_equal(i, 2902);
    cirrus_iter_close(it);
    assert_int_equal(cirrus_close(db), 0);
}

static double seconds_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (double)(t1.tv_sec - t0->tv_sec) + (double)(t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* A handle whose compactor cannot run (another owner holds the lease),
 * with `l0` L0 files. */
static cirrus_db *open_with_l0(struct fixture *f, cirrus_options *o, int l0)
{
    o->background_compaction = 1; /* the stall applies beside a compactor only */
    cirrus_db *db = fixture_open(f->dir, o);
    assert_int_equal(cirrus_lease_acquire(db, "compactor", "someone-else", 600000, NULL, NULL), 0);
    for (int c = 0; c < l0; c++) {
        char k[8];
        key_of(k, c);
        fixture_put_str(db, k, "x");
        fixture_commit(db);
    }
    cirrus_stats st;
    assert_int_equal(cirrus_stats_get(db, &st), 0);
    assert_int_equal(st.level_files[0], (uint64_t)l0);
    return db;
}

/* Above the slowdown trigger a fast writer runs at delayed_write_rate over
 * (1 + overshoot); a write within the rate's allowance never waits. */
static void slowdown_paces_a_fast_writer_by_bytes(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    o.l0_compaction_trigger = 2;
    o.l0_slowdown_writes_trigger = 3;
    o.l0_stop_writes_trigger = 0;
    o.delayed_write_rate = 64 << 10; /* 32 KiB/s with 4 L0 files */
    cirrus_db *db = open_with_l0(f, &o, 4);
    char v[100];
    memset(v, 'v', sizeof(v));
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    assert_int_equal(cirrus_put(db, "small", 5, v, sizeof(v)), 0);
    cirrus_stats st;
    db_write_stall_stats(db, &st);
    assert_int_equal(st.write_slowdowns, 0); /* inside the burst allowance */
    /* 40 KiB at 32 KiB/s, less the 100 ms allowance: about a second */
    for (int i = 0; i < 400; i++) {
        char k[8];
        key_of(k, i);
        assert_int_equal(cirrus_put(db, k, 6, v, 100), 0);
    }
    double took = seconds_since(&t0);
    db_write_stall_stats(db, &st);
    assert_true(st.write_slowdowns > 0);
    assert_true(took >= 0.8);
    assert_true(st.write_slowdown_ms >= 700);
    assert_int_equal(st.write_stops, 0);
    assert_int_equal(cirrus_close(db), 0);
}

/* The stop waits only for this handle's own compactor: while another owner
 * holds the lease the writes go on (a stop there could wait for ever). */
static void stop_never_waits_for_another_compactor(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    o.l0_compaction_trigger = 2;
    o.l0_slowdown_writes_trigger = 0;
    o.l0_stop_writes_trigger = 3;
    cirrus_db *db = open_with_l0(f, &o, 4);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < 100; i++)
        fixture_put_str(db, "k", "v");
    fixture_commit(db);
    assert_true(seconds_since(&t0) < 5);
    cirrus_stats st;
    db_write_stall_stats(db, &st);
    assert_int_equal(st.write_stops, 0);
    assert_int_equal(cirrus_close(db), 0);
}

/* With no compactor on the handle (background_compaction off) nothing is
 * ever slowed, however many L0 files pile up. */
static void no_stall_without_a_compactor(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    o.l0_compaction_trigger = 2;
    o.l0_slowdown_writes_trigger = 2;
    o.l0_stop_writes_trigger = 3;
    o.delayed_write_rate = 1;
    cirrus_db *db = fixture_open(f->dir, &o);
    for (int c = 0; c < 5; c++) {
        fixture_put_str(db, "k", "v");
        fixture_commit(db);
    }
    for (int i = 0; i < 100; i++)
        fixture_put_str(db, "k", "0123456789012345678901234567890123456789");
    cirrus_stats st;
    db_write_stall_stats(db, &st);
    assert_int_equal(st.write_slowdowns, 0);
    assert_int_equal(st.write_stops, 0);
    assert_int_equal(cirrus_close(db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(scans_cross_the_files_of_each_level, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(slowdown_paces_a_fast_writer_by_bytes, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(stop_never_waits_for_another_compactor, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(no_stall_without_a_compactor, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
