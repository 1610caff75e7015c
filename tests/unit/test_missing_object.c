/* cirrus-test-libs: db testsupport */
/*
 * test_missing_object.c - an SST object that a commit names but the store
 * no longer holds is an error on every read path, naming the object: point
 * reads at the latest and at an older seq, multi-reads (whose message must
 * survive the keys read after the damaged one), merges that need the lost
 * base, reads beside a range delete, transactions, scans and the
 * changefeed. None of them may answer "not found" or a partial value.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cirrus.h"
#include "support/fixture.h"

/* The one file in dir/sst that is not in `known` (space-separated names,
 * updated), in out. */
static void new_sst(const char *dir, char *known, size_t known_size, char *out, size_t out_size)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/sst", dir);
    DIR *d = opendir(path);
    struct dirent *e;
    int found = 0;
    assert_non_null(d);
    while ((e = readdir(d))) {
        char token[300];
        if (e->d_name[0] == '.')
            continue;
        snprintf(token, sizeof(token), " %s ", e->d_name);
        if (strstr(known, token))
            continue;
        assert_int_equal(found, 0);
        found = 1;
        snprintf(out, out_size, "%s", e->d_name);
        strncat(known, token + 1, known_size - strlen(known) - 1);
    }
    closedir(d);
    assert_int_equal(found, 1);
}

/* Commits one put, or one merge when merge is set, and returns the name of
 * the SST object it wrote. */
static void commit_one(cirrus_db *db, const char *dir, const char *k, const char *v, int merge,
                       char *known, size_t known_size, char *name, size_t name_size)
{
    if (merge)
        assert_int_equal(cirrus_merge(db, k, strlen(k), v, strlen(v)), 0);
    else
        fixture_put_str(db, k, v);
    fixture_commit(db);
    new_sst(dir, known, known_size, name, name_size);
}

static void remove_sst(const char *dir, const char *name)
{
    char path[600];
    snprintf(path, sizeof(path), "%s/sst/%s", dir, name);
    assert_int_equal(unlink(path), 0);
}

/* The call failed with CIRRUS_ECORRUPT and a message naming the object. */
static void assert_names(int rc, const char *name)
{
    if (rc != CIRRUS_ECORRUPT || !strstr(cirrus_errmsg(), name))
        fail_msg("expected CIRRUS_ECORRUPT naming %s, got %s (%s)", name, cirrus_strerror(rc),
                 cirrus_errmsg());
    assert_non_null(strstr(cirrus_errmsg(), "missing"));
}

static int get_at(cirrus_db *db, uint64_t seq, const char *k, char **val)
{
    size_t len;
    return fixture_get_at(db, seq, k, strlen(k), (void **)val, &len);
}

/* a (seq 1) and b (seq 2) in two files; the file of a goes missing. */
static void test_point_and_multi_reads(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    char known[4096] = " ", file_a[256], file_b[256], *v;
    cirrus_db *db = fixture_open(f->dir, &o);
    commit_one(db, f->dir, "a", "1", 0, known, sizeof(known), file_a, sizeof(file_a));
    commit_one(db, f->dir, "b", "2", 0, known, sizeof(known), file_b, sizeof(file_b));
    assert_int_equal(cirrus_close(db), 0);
    remove_sst(f->dir, file_a);
    db = fixture_open(f->dir, &o); /* a new handle: nothing cached */

    assert_names(get_at(db, CIRRUS_SEQ_LATEST, "a", &v), file_a);
    assert_names(get_at(db, 1, "a", &v), file_a);
    assert_names(get_at(db, 2, "a", &v), file_a);
    /* the other file still answers */
    assert_int_equal(get_at(db, CIRRUS_SEQ_LATEST, "b", &v), 0);
    assert_string_equal(v, "2");
    cirrus_free(v);

    /* a damaged key, then one that no file can hold: the error and its
     * message are the damaged key's, not "not found" */
    const void *keys[3] = {"a", "zz", "b"};
    size_t lens[3] = {1, 2, 1}, vlens[3];
    void *vals[3];
    int rcs[3];
    int rc = cirrus_multi_get(db, NULL, 3, keys, lens, vals, vlens, rcs);
    assert_names(rc, file_a);
    assert_int_equal(rcs[0], CIRRUS_ECORRUPT);
    assert_int_equal(rcs[1], CIRRUS_ENOTFOUND);
    assert_int_equal(rcs[2], 0);
    assert_string_equal(vals[2], "2");
    for (int i = 0; i < 3; i++)
        cirrus_free(vals[i]);

    /* a transaction reads through the same path */
    cirrus_txn *t;
    size_t len;
    assert_int_equal(cirrus_txn_begin(&t, db), 0);
    assert_names(cirrus_txn_get(t, "a", 1, (void **)&v, &len), file_a);
    cirrus_txn_free(t);
    assert_int_equal(cirrus_close(db), 0);
}

/* Scans and the changefeed stop with the same error. */
static void test_scan_and_changes(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    char known[4096] = " ", file_a[256], file_b[256];
    cirrus_db *db = fixture_open(f->dir, &o);
    commit_one(db, f->dir, "a", "1", 0, known, sizeof(known), file_a, sizeof(file_a));
    commit_one(db, f->dir, "b", "2", 0, known, sizeof(known), file_b, sizeof(file_b));
    assert_int_equal(cirrus_close(db), 0);
    remove_sst(f->dir, file_b);
    db = fixture_open(f->dir, &o);

    /* the error comes when the iterator is made or when it is walked */
    cirrus_iter *it = NULL;
    int rc = cirrus_iter_new(&it, db, NULL);
    if (rc == 0) {
        for (cirrus_iter_first(it); cirrus_iter_valid(it); cirrus_iter_next(it))
            ;
        rc = cirrus_iter_status(it);
        cirrus_iter_close(it);
    }
    assert_names(rc, file_b);

    cirrus_changes *c;
    cirrus_change ch;
    assert_int_equal(cirrus_changes_open(&c, db, 1), 0);
    while ((rc = cirrus_changes_next(c, &ch, 0)) == 0)
        ;
    assert_names(rc, file_b);
    cirrus_changes_close(c);
    assert_int_equal(cirrus_close(db), 0);
}

/* A merge whose base is in the lost file has no value, only an error. */
static void test_merge_over_lost_base(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    char known[4096] = " ", file1[256], file2[256], *v;
    cirrus_db *db = fixture_open(f->dir, &o);
    commit_one(db, f->dir, "n", "10", 0, known, sizeof(known), file1, sizeof(file1));
    commit_one(db, f->dir, "n", "5", 1, known, sizeof(known), file2, sizeof(file2));
    assert_int_equal(get_at(db, CIRRUS_SEQ_LATEST, "n", &v), 0);
    assert_string_equal(v, "15");
    cirrus_free(v);
    assert_int_equal(cirrus_close(db), 0);
    remove_sst(f->dir, file1);
    db = fixture_open(f->dir, &o);
    assert_names(get_at(db, CIRRUS_SEQ_LATEST, "n", &v), file1);
    assert_null(v);
    assert_int_equal(cirrus_close(db), 0);
}

/* Beside a range delete that does not cover the key, the lost file is
 * still read (and fails); inside one, it need not be. */
static void test_beside_range_delete(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    char known[4096] = " ", file1[256], *v;
    cirrus_db *db = fixture_open(f->dir, &o);
    fixture_put_str(db, "k1", "one");
    commit_one(db, f->dir, "k7", "seven", 0, known, sizeof(known), file1, sizeof(file1));
    assert_int_equal(cirrus_delete_range(db, "k5", 2, "k9", 2, NULL), 0);
    assert_int_equal(cirrus_close(db), 0);
    remove_sst(f->dir, file1);
    db = fixture_open(f->dir, &o);
    assert_names(get_at(db, CIRRUS_SEQ_LATEST, "k1", &v), file1);
    /* k7 was deleted by the range delete after it: its file is not needed */
    assert_int_equal(get_at(db, CIRRUS_SEQ_LATEST, "k7", &v), CIRRUS_ENOTFOUND);
    assert_int_equal(cirrus_close(db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_point_and_multi_reads, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_scan_and_changes, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_merge_over_lost_base, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_beside_range_delete, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
