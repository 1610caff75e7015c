/* cirrus-test-libs: db testsupport */
/*
 * test_checkpoint.c - a checkpoint at an older seq works while the seq is
 * inside the MVCC retention window and fails clearly (CIRRUS_EEXPIRED)
 * once compaction has dropped what a read there needs; a checkpoint made
 * before that keeps reading it.
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

static char *value_through(cirrus_db *db, cirrus_snapshot *s, const char *key)
{
    static char out[64];
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    void *v = NULL;
    size_t n = 0;
    ro.snapshot = s;
    int rc = cirrus_get(db, &ro, key, strlen(key), &v, &n);
    if (rc == CIRRUS_ENOTFOUND)
        return "-";
    if (rc < 0)
        fail_msg("get %s: %s", key, cirrus_errmsg());
    snprintf(out, sizeof(out), "%.*s", (int)n, (char *)v);
    cirrus_free(v);
    return out;
}

static void test_old_seq_inside_then_outside_the_window(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    o.mvcc_retention_ms = 0; /* compaction may drop every old version */
    cirrus_db *db = fixture_open(f->dir, &o);
    uint64_t s1, got;
    fixture_put_str(db, "k", "one");
    s1 = fixture_commit(db);
    fixture_put_str(db, "k", "two");
    fixture_commit(db);
    /* inside the window (nothing compacted yet) */
    assert_int_equal(cirrus_checkpoint_create(db, "early", s1, 0, &got), 0);
    assert_int_equal(got, s1);
    for (int i = 0; i < 6; i++) {
        char v[16];
        snprintf(v, sizeof(v), "v%d", i);
        fixture_put_str(db, "k", v);
        fixture_commit(db);
    }
    assert_int_equal(cirrus_compact(db), 0);
    /* outside it now */
    assert_int_equal(cirrus_checkpoint_create(db, "late", s1, 0, NULL), CIRRUS_EEXPIRED);
    assert_non_null(strstr(cirrus_errmsg(), "retention"));
    /* the one made in time still reads seq s1, after GC too */
    assert_int_equal(cirrus_gc(db, 0, NULL, NULL), 0);
    cirrus_snapshot *s = NULL;
    assert_int_equal(cirrus_snapshot_checkpoint(db, "early", &s), 0);
    assert_int_equal(cirrus_snapshot_seq(s), s1);
    assert_string_equal(value_through(db, s, "k"), "one");
    cirrus_snapshot_free(s);
    assert_int_equal(cirrus_snapshot_checkpoint(db, "late", &s), CIRRUS_ENOTFOUND);
    assert_int_equal(cirrus_close(db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_old_seq_inside_then_outside_the_window, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
