/* cirrus-test-libs: db testsupport */
/*
 * test_snapshot.c - snapshots: a read through one sees exactly commits
 * 1..seq (seq 0: nothing), buffered writes are not in it, it belongs to its
 * handle, and while it is open this handle's compactions keep what it reads.
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
#include "support/tmpdir.h"

/* The value of key through snap, or "-" when absent. */
static const char *get_in(cirrus_db *db, const cirrus_snapshot *snap, const char *key, char *buf,
                          size_t cap)
{
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    void *v = NULL;
    size_t n = 0;
    ro.snapshot = snap;
    int rc = cirrus_get(db, &ro, key, strlen(key), &v, &n);
    if (rc == CIRRUS_ENOTFOUND)
        return "-";
    if (rc != 0)
        fail_msg("get %s: %s", key, cirrus_errmsg());
    snprintf(buf, cap, "%.*s", (int)n, (const char *)v);
    cirrus_free(v);
    return buf;
}

static int scan_count(cirrus_db *db, const cirrus_snapshot *snap)
{
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    cirrus_iter *it = NULL;
    int n = 0;
    ro.snapshot = snap;
    assert_int_equal(cirrus_iter_new(&it, db, &ro), 0);
    for (cirrus_iter_first(it); cirrus_iter_valid(it); cirrus_iter_next(it))
        n++;
    assert_int_equal(cirrus_iter_status(it), 0);
    cirrus_iter_close(it);
    return n;
}

static void a_snapshot_sees_exactly_its_commits(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(f->dir, &o);
    cirrus_snapshot *empty = NULL, *s1 = NULL, *latest = NULL;
    char b[32];
    fixture_put_str(db, "a", "1");
    uint64_t seq1 = fixture_commit(db);
    fixture_put_str(db, "a", "2");
    fixture_put_str(db, "b", "2");
    fixture_commit(db);
    fixture_put_str(db, "c", "buffered");

    /* seq 0 is the empty database, not "the latest" */
    assert_int_equal(cirrus_snapshot_new(db, 0, &empty), 0);
    assert_int_equal(cirrus_snapshot_seq(empty), 0);
    assert_string_equal(get_in(db, empty, "a", b, sizeof(b)), "-");
    assert_int_equal(scan_count(db, empty), 0);

    assert_int_equal(cirrus_snapshot_new(db, seq1, &s1), 0);
    assert_string_equal(get_in(db, s1, "a", b, sizeof(b)), "1");
    assert_string_equal(get_in(db, s1, "b", b, sizeof(b)), "-");
    assert_int_equal(scan_count(db, s1), 1);

    /* the latest committed: without this handle's buffered write */
    assert_int_equal(cirrus_snapshot_new(db, CIRRUS_SEQ_LATEST, &latest), 0);
    assert_int_equal(cirrus_snapshot_seq(latest), seq1 + 1);
    assert_string_equal(get_in(db, latest, "c", b, sizeof(b)), "-");
    assert_string_equal(get_in(db, NULL, "c", b, sizeof(b)), "buffered");

    /* later commits do not change what a snapshot reads */
    fixture_put_str(db, "a", "3");
    fixture_commit(db);
    assert_string_equal(get_in(db, latest, "a", b, sizeof(b)), "2");
    assert_string_equal(get_in(db, latest, "c", b, sizeof(b)), "-");

    cirrus_snapshot_free(latest);
    cirrus_snapshot_free(s1);
    cirrus_snapshot_free(empty);
    cirrus_close(db);
}

static void a_snapshot_beyond_the_head_or_of_another_handle_is_refused(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    cirrus_db *a = fixture_open(f->dir, &o);
    cirrus_db *b = fixture_open(f->dir, &o);
    cirrus_snapshot *s = NULL;
    char buf[32];
    fixture_put_str(a, "k", "v");
    uint64_t seq = fixture_commit(a);
    assert_int_equal(cirrus_snapshot_new(a, seq + 1, &s), CIRRUS_EINVALID);
    assert_non_null(strstr(cirrus_errmsg(), "beyond the head"));
    assert_null(s);
    /* b has not seen a's commit yet: the snapshot refreshes to find it */
    assert_int_equal(cirrus_snapshot_new(b, seq, &s), 0);
    assert_string_equal(get_in(b, s, "k", buf, sizeof(buf)), "v");
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    void *v = NULL;
    size_t n;
    ro.snapshot = s;
    assert_int_equal(cirrus_get(a, &ro, "k", 1, &v, &n), CIRRUS_EINVALID);
    assert_non_null(strstr(cirrus_errmsg(), "another handle"));
    cirrus_snapshot_free(s);
    cirrus_snapshot_free(NULL);
    cirrus_close(b);
    cirrus_close(a);
}

/* No retention: without a snapshot, a compaction drops every old version. */
static void an_open_snapshot_keeps_its_versions_through_compaction(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    o.mvcc_retention_ms = 0;
    o.l0_compaction_trigger = 2;
    cirrus_db *db = fixture_open(f->dir, &o);
    cirrus_snapshot *s = NULL, *again = NULL;
    char b[32];
    fixture_put_str(db, "k", "v1");
    uint64_t s1 = fixture_commit(db);
    assert_int_equal(cirrus_snapshot_new(db, s1, &s), 0);
    for (int i = 2; i <= 4; i++) {
        char v[16];
        snprintf(v, sizeof(v), "v%d", i);
        fixture_put_str(db, "k", v);
        fixture_commit(db);
    }
    assert_int_equal(cirrus_compact(db), 0);
    cirrus_stats st;
    cirrus_stats_get(db, &st);
    assert_true(st.compactions > 0);
    assert_string_equal(get_in(db, s, "k", b, sizeof(b)), "v1");
    assert_string_equal(get_in(db, NULL, "k", b, sizeof(b)), "v4");

    /* once it is gone, the next compaction moves the horizon past s1 */
    cirrus_snapshot_free(s);
    fixture_put_str(db, "k", "v5");
    fixture_commit(db);
    fixture_put_str(db, "k", "v6");
    fixture_commit(db);
    assert_int_equal(cirrus_compact(db), 0);
    assert_int_equal(cirrus_snapshot_new(db, s1, &again), CIRRUS_EEXPIRED);
    assert_non_null(strstr(cirrus_errmsg(), "retention horizon"));
    assert_null(again);
    cirrus_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_snapshot_sees_exactly_its_commits, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(a_snapshot_beyond_the_head_or_of_another_handle_is_refused,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(an_open_snapshot_keeps_its_versions_through_compaction,
                                        fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
