/* cirrus-test-libs: db testsupport */
/*
 * test_open_history.c - opening a database costs the same whatever its
 * history (issue 4): open reads the manifest pointer, the manifest it
 * names, the head and the log after that manifest, never the whole log. So
 * a db with a few thousand commits and one with a hundred, both of the same
 * shape, cost open the same metadata reads and object GETs.
 *
 * The log is not trimmed here (no GC): the long db's log holds every entry
 * of its history, and open must still read only its tail.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "support/fixture.h"
#include "util/sys.h"

#define KEYS 50          /* every commit overwrites one of these keys */
#define COMPACT_EVERY 16 /* commits between foreground compactions */
#define SHORT_HISTORY 100
#define LONG_HISTORY 1000

/* Manual options whose compaction keeps only the newest version of a key,
 * so that both histories end with about the same live data. */
static cirrus_options history_options(void)
{
    cirrus_options o = fixture_small_levels(4096);
    o.mvcc_retention_ms = 0;
    return o;
}

/* Commits `writes` one-key writes (plus the compactions they cause) and
 * returns the head. */
static uint64_t build_history(const char *dir, int writes)
{
    cirrus_options o = history_options();
    cirrus_db *db = fixture_open(dir, &o);
    uint64_t head = 0;
    for (int i = 0; i < writes; i++) {
        char k[16], v[32];
        snprintf(k, sizeof(k), "key%03d", i % KEYS);
        snprintf(v, sizeof(v), "value-%d", i);
        fixture_put_str(db, k, v);
        fixture_commit(db);
        if (i % COMPACT_EVERY == COMPACT_EVERY - 1)
            assert_int_equal(cirrus_compact(db), 0);
    }
    assert_int_equal(cirrus_compact(db), 0);
    assert_int_equal(cirrus_refresh(db, &head), 0);
    assert_int_equal(cirrus_close(db), 0);
    return head;
}

struct open_cost {
    uint64_t head;
    cirrus_stats st; /* request counters right after open */
    double ms;       /* wall time of cirrus_open */
};

/* Opens dir and records what the open alone did (the stores count their
 * requests, the handle's stats report them): no background thread runs. */
static void open_and_count(const char *dir, struct open_cost *out)
{
    cirrus_options o = history_options();
    cirrus_db *db;
    o.create_if_missing = 0;
    uint64_t t0 = mono_ns();
    db = fixture_open(dir, &o);
    out->ms = (double)(mono_ns() - t0) / 1e6;
    assert_int_equal(cirrus_stats_get(db, &out->st), 0);
    out->head = out->st.head_seq;
    assert_int_equal(cirrus_close(db), 0);
}

static void print_cost(const char *what, const struct open_cost *c)
{
    print_message("%s: head %" PRIu64 ", %" PRIu64 " live files; open: %" PRIu64
                  " metadata gets, %" PRIu64 " queries, %" PRIu64 " object gets, %" PRIu64
                  " heads, %" PRIu64 " lists, %.1f ms\n",
                  what, c->head, c->st.live_files, c->st.ms_gets, c->st.ms_queries, c->st.os_gets,
                  c->st.os_heads, c->st.os_lists, c->ms);
}

static void open_reads_the_same_with_a_long_history_as_with_a_short_one(void **state)
{
    struct fixture *f = *state;
    char short_dir[4096], long_dir[4096];
    struct open_cost s, l;
    snprintf(short_dir, sizeof(short_dir), "%s/short", f->dir);
    snprintf(long_dir, sizeof(long_dir), "%s/long", f->dir);
    uint64_t short_head = build_history(short_dir, SHORT_HISTORY);
    uint64_t long_head = build_history(long_dir, LONG_HISTORY);
    assert_true(long_head >= 8 * short_head);

    open_and_count(short_dir, &s);
    open_and_count(long_dir, &l);
    print_cost("short history", &s);
    print_cost("long history", &l);
    assert_int_equal(s.head, short_head);
    assert_int_equal(l.head, long_head);

    /* the identity item, the pointer and the head; the identity object and
     * the manifest; the log after the manifest (one page: fewer than
     * manifest_interval entries) */
    assert_int_equal(l.st.ms_gets, s.st.ms_gets);
    assert_true(l.st.ms_queries <= s.st.ms_queries + 1);
    assert_true(l.st.ms_queries <= 1);
    assert_int_equal(l.st.os_gets, s.st.os_gets);
    assert_true(l.st.os_gets <= 2);
    /* open lists nothing, writes nothing */
    assert_int_equal(l.st.os_lists + s.st.os_lists, 0);
    assert_int_equal(l.st.os_heads, s.st.os_heads);
    assert_int_equal(l.st.ms_writes + s.st.ms_writes + l.st.os_puts + s.st.os_puts, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(open_reads_the_same_with_a_long_history_as_with_a_short_one,
                                        fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
