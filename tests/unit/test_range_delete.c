/* cirrus-test-libs: db testsupport */
/*
 * test_range_delete.c - deleting [from, to) in one commit: reads at and
 * after it hide the range, reads before it do not, later writes show again,
 * and compaction, manifests, the changefeed and transactions agree.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cirrus.h"
#include "support/fixture.h"

#define N 100

static cirrus_options manual(void)
{
    cirrus_options o = fixture_small_levels(4096);
    o.manifest_interval = 1;
    return o;
}

static void key(char *k, int i)
{
    snprintf(k, 8, "k%03d", i % 1000);
}

static int present(cirrus_db *db, uint64_t seq, int i)
{
    char k[8];
    key(k, i);
    int rc = fixture_get_at(db, seq, k, 4, NULL, NULL);
    if (rc != 0 && rc != CIRRUS_ENOTFOUND)
        fail_msg("get %s: %s", k, cirrus_errmsg());
    return rc == 0;
}

/* want[i] says whether key i should be visible at seq; checks get and
 * scans in both directions. */
static void check(cirrus_db *db, uint64_t seq, const int *want)
{
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    cirrus_iter *it;
    int count = 0, expected = 0;
    for (int i = 0; i < N; i++) {
        if (present(db, seq, i) != want[i])
            fail_msg("seq %llu key %d: present %d, want %d", (unsigned long long)seq, i, !want[i],
                     want[i]);
        expected += want[i];
    }
    cirrus_snapshot *snap;
    assert_int_equal(fixture_at(db, seq, &ro, &snap), 0);
    assert_int_equal(cirrus_iter_new(&it, db, &ro), 0);
    for (cirrus_iter_first(it); cirrus_iter_valid(it); cirrus_iter_next(it)) {
        size_t kl;
        const char *k = cirrus_iter_key(it, &kl);
        char kb[8]; /* the key's bytes are not NUL-terminated */
        assert_int_equal(kl, 4);
        snprintf(kb, sizeof(kb), "%.*s", (int)kl, k);
        assert_true(want[atoi(kb + 1)]);
        count++;
    }
    assert_int_equal(count, expected);
    count = 0;
    for (cirrus_iter_last(it); cirrus_iter_valid(it); cirrus_iter_prev(it))
        count++;
    assert_int_equal(count, expected);
    assert_int_equal(cirrus_iter_status(it), 0);
    cirrus_iter_close(it);
    cirrus_snapshot_free(snap);
}

static void a_range_delete_hides_the_range_from_its_seq_on(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = manual();
    cirrus_db *db = fixture_open(f->dir, &o);
    int want[N];
    char k[8];
    for (int i = 0; i < N; i++) {
        key(k, i);
        assert_int_equal(cirrus_put(db, k, 4, "v", 1), 0);
        want[i] = 1;
        if (i % 25 == 24)
            assert_int_equal(cirrus_flush(db, NULL), 0); /* several files */
    }
    uint64_t s1;
    assert_int_equal(cirrus_flush(db, &s1), 0);
    /* a buffered write inside the range is made before the delete */
    assert_int_equal(cirrus_put(db, "k030", 4, "again", 5), 0);
    uint64_t s2;
    assert_int_equal(cirrus_delete_range(db, "k020", 4, "k050", 4, &s2), 0);
    assert_true(s2 > s1);
    assert_int_equal(cirrus_delete_range(db, "b", 1, "a", 1, NULL), CIRRUS_EINVALID);
    int before[N];
    memcpy(before, want, sizeof(want));
    for (int i = 20; i < 50; i++)
        want[i] = 0;
    int at_s2[N];
    memcpy(at_s2, want, sizeof(want));
    check(db, s1, before);
    check(db, s2, want);
    check(db, CIRRUS_SEQ_LATEST, want);

    /* written after the delete: visible again */
    assert_int_equal(cirrus_put(db, "k025", 4, "new", 3), 0);
    uint64_t s3;
    assert_int_equal(cirrus_flush(db, &s3), 0);
    want[25] = 1;
    check(db, CIRRUS_SEQ_LATEST, want);

    /* the changefeed reports it as one change */
    cirrus_changes *c;
    cirrus_change ch;
    assert_int_equal(cirrus_changes_open(&c, db, s2), 0);
    assert_int_equal(cirrus_changes_next(c, &ch, 0), 0);
    assert_int_equal(ch.op, CIRRUS_CHANGE_DELETE_RANGE);
    assert_int_equal(ch.seq, s2);
    assert_memory_equal(ch.key, "k020", 4);
    assert_memory_equal(ch.val, "k050", 4);
    cirrus_changes_close(c);

    /* compaction keeps every allowed read right; a fresh handle (from the
     * manifest) agrees */
    assert_int_equal(cirrus_compact(db), 0);
    check(db, s1, before);
    check(db, CIRRUS_SEQ_LATEST, want);
    cirrus_close(db);
    db = fixture_open(f->dir, &o);
    check(db, s2, at_s2);
    check(db, CIRRUS_SEQ_LATEST, want);
    cirrus_close(db);

    /* without retention, compaction drops what the delete hides */
    o.mvcc_retention_ms = 0;
    db = fixture_open(f->dir, &o);
    for (int i = 0; i < 4; i++) { /* overwrite a key outside the range */
        assert_int_equal(cirrus_put(db, "k099", 4, "1", 1), 0);
        assert_int_equal(cirrus_flush(db, NULL), 0);
    }
    assert_int_equal(cirrus_compact(db), 0);
    check(db, CIRRUS_SEQ_LATEST, want);
    /* the horizon moved past the delete: older reads are refused */
    assert_int_equal(fixture_get_at(db, s1, "k030", 4, NULL, NULL), CIRRUS_EEXPIRED);
    cirrus_close(db);
}

static void a_range_delete_conflicts_with_a_transaction_that_read_inside_it(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = manual();
    cirrus_db *db = fixture_open(f->dir, &o);
    assert_int_equal(cirrus_put(db, "k010", 4, "1", 1), 0);
    assert_int_equal(cirrus_flush(db, NULL), 0);
    cirrus_txn *t;
    void *v;
    size_t n;
    uint64_t seq;
    assert_int_equal(cirrus_txn_begin(&t, db), 0);
    assert_int_equal(cirrus_txn_get(t, "k010", 4, &v, &n), 0);
    cirrus_free(v);
    assert_int_equal(cirrus_txn_put(t, "other", 5, "x", 1), 0);
    assert_int_equal(cirrus_delete_range(db, "k000", 4, "k100", 4, NULL), 0);
    assert_int_equal(cirrus_txn_commit(t, &seq), CIRRUS_ECONFLICT);
    cirrus_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_range_delete_hides_the_range_from_its_seq_on,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(
            a_range_delete_conflicts_with_a_transaction_that_read_inside_it, fixture_setup,
            fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
