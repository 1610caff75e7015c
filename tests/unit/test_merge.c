/* cirrus-test-libs: db testsupport */
/*
 * test_merge.c - merge operators and expiring puts: the value a reader sees
 * is the same whether the operands are buffered, committed in one file or
 * spread over many, compacted or not, read by get or by iterators in either
 * direction; expired keys vanish and compaction drops them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cirrus.h"
#include "support/fixture.h"

static cirrus_options manual(void)
{
    cirrus_options o = fixture_small_levels(4096);
    o.changefeed_retention_ms = 0;
    return o;
}

static void expect(cirrus_db *db, uint64_t seq, const char *k, const char *want)
{
    void *v = NULL;
    size_t n;
    int rc = fixture_get_at(db, seq, k, strlen(k), &v, &n);
    if (!want) {
        if (rc != CIRRUS_ENOTFOUND)
            fail_msg("%s at %llu: want absent, rc %d", k, (unsigned long long)seq, rc);
        return;
    }
    if (rc != 0)
        fail_msg("%s at %llu: %s", k, (unsigned long long)seq, cirrus_errmsg());
    if (n != strlen(want) || memcmp(v, want, n) != 0)
        fail_msg("%s at %llu: got %.*s, want %s", k, (unsigned long long)seq, (int)n, (char *)v,
                 want);
    cirrus_free(v);
}

static void add(cirrus_db *db, const char *k, const char *delta)
{
    assert_int_equal(cirrus_merge(db, k, strlen(k), delta, strlen(delta)), 0);
}

/* Every key's value through a forward and a backward scan. */
static void expect_scan(cirrus_db *db, const char *const *keys, const char *const *vals, int n)
{
    cirrus_iter *it;
    assert_int_equal(cirrus_iter_new(&it, db, NULL), 0);
    int i = 0;
    for (cirrus_iter_first(it); cirrus_iter_valid(it); cirrus_iter_next(it), i++) {
        size_t kl, vl;
        const char *k = cirrus_iter_key(it, &kl), *v = cirrus_iter_value(it, &vl);
        assert_true(i < n);
        assert_int_equal(kl, strlen(keys[i]));
        assert_memory_equal(k, keys[i], kl);
        if (vl != strlen(vals[i]) || memcmp(v, vals[i], vl) != 0)
            fail_msg("scan %s: got %.*s want %s", keys[i], (int)vl, v, vals[i]);
    }
    assert_int_equal(i, n);
    i = n - 1;
    for (cirrus_iter_last(it); cirrus_iter_valid(it); cirrus_iter_prev(it), i--) {
        size_t kl, vl;
        const char *k = cirrus_iter_key(it, &kl), *v = cirrus_iter_value(it, &vl);
        assert_true(i >= 0);
        assert_memory_equal(k, keys[i], kl);
        if (vl != strlen(vals[i]) || memcmp(v, vals[i], vl) != 0)
            fail_msg("reverse scan %s: got %.*s want %s", keys[i], (int)vl, v, vals[i]);
    }
    assert_int_equal(i, -1);
    assert_int_equal(cirrus_iter_status(it), 0);
    cirrus_iter_close(it);
}

static void counters_add_up_wherever_their_operands_live(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = manual();
    cirrus_db *db = fixture_open(f->dir, &o);
    add(db, "a", "5");
    add(db, "a", "3"); /* two operands in one memtable */
    expect(db, CIRRUS_SEQ_LATEST, "a", "8");
    uint64_t s1 = fixture_commit(db);
    assert_int_equal(cirrus_put(db, "b", 1, "10", 2), 0);
    add(db, "a", "-10");
    uint64_t s2 = fixture_commit(db);
    add(db, "b", "1");
    assert_int_equal(cirrus_delete(db, "c", 1), 0);
    uint64_t s3 = fixture_commit(db);
    add(db, "c", "2"); /* onto a delete: onto nothing */
    add(db, "b", "100");
    expect(db, CIRRUS_SEQ_LATEST, "b", "111"); /* buffered on top of committed */
    uint64_t s4 = fixture_commit(db);
    expect(db, s1, "a", "8");
    expect(db, s2, "a", "-2");
    expect(db, s2, "b", "10");
    expect(db, s3, "b", "11");
    expect(db, s3, "c", NULL);
    expect(db, s4, "c", "2");
    expect(db, s4, "b", "111");
    const char *keys[] = {"a", "b", "c"}, *vals[] = {"-2", "111", "2"};
    expect_scan(db, keys, vals, 3);

    /* compaction keeps every seq inside the retention window exact */
    assert_int_equal(cirrus_compact(db), 0);
    expect(db, s1, "a", "8");
    expect(db, s3, "b", "11");
    expect(db, s4, "b", "111");
    expect_scan(db, keys, vals, 3);
    cirrus_close(db);

    /* and with no retention the history folds into plain values */
    o.mvcc_retention_ms = 0;
    db = fixture_open(f->dir, &o);
    for (int i = 0; i < 6; i++) {
        add(db, "a", "1");
        fixture_commit(db);
    }
    assert_int_equal(cirrus_compact(db), 0);
    expect(db, CIRRUS_SEQ_LATEST, "a", "4");
    vals[0] = "4";
    expect_scan(db, keys, vals, 3);

    /* a value that is not a counter is an error naming the key */
    assert_int_equal(cirrus_put(db, "word", 4, "hello", 5), 0);
    add(db, "word", "1");
    void *v;
    size_t n;
    assert_int_equal(cirrus_get(db, NULL, "word", 4, &v, &n), CIRRUS_EINVALID);
    assert_non_null(strstr(cirrus_errmsg(), "word"));
    cirrus_close(db);
}

static int append_full(void *arg, const void *base, size_t base_len, const void *const *ops,
                       const size_t *op_lens, size_t n_ops, void **out, size_t *out_len)
{
    (void)arg;
    size_t total = base ? base_len : 0;
    for (size_t i = 0; i < n_ops; i++)
        total += op_lens[i];
    char *p = malloc(total + 1);
    if (!p)
        return CIRRUS_ENOMEM;
    size_t at = 0;
    if (base) {
        memcpy(p, base, base_len);
        at = base_len;
    }
    for (size_t i = 0; i < n_ops; i++) {
        memcpy(p + at, ops[i], op_lens[i]);
        at += op_lens[i];
    }
    *out = p;
    *out_len = at;
    return 0;
}

static int append_partial(void *arg, const void *older, size_t older_len, const void *newer,
                          size_t newer_len, void **out, size_t *out_len)
{
    const void *ops[2] = {older, newer};
    size_t lens[2] = {older_len, newer_len};
    return append_full(arg, NULL, 0, ops, lens, 2, out, out_len);
}

static void a_user_operator_applies_operands_oldest_first(void **state)
{
    struct fixture *f = *state;
    cirrus_merge_operator append = {"test.append", append_full, append_partial, NULL};
    cirrus_options o = manual();
    o.merge_operator = &append;
    o.mvcc_retention_ms = 0;
    cirrus_db *db = fixture_open(f->dir, &o);
    const char *parts[] = {"a", "b", "c", "d", "e", "f", "g", "h", "i"};
    char want[16] = "";
    for (int i = 0; i < 9; i++) {
        assert_int_equal(cirrus_merge(db, "log", 3, parts[i], 1), 0);
        strcat(want, parts[i]);
        if (i % 2)
            fixture_commit(db);
    }
    fixture_commit(db);
    expect(db, CIRRUS_SEQ_LATEST, "log", want);
    assert_int_equal(cirrus_compact(db), 0);
    expect(db, CIRRUS_SEQ_LATEST, "log", want);
    cirrus_close(db);
}

static void expired_keys_vanish_and_compaction_drops_them(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = manual();
    o.mvcc_retention_ms = 0;
    cirrus_db *db = fixture_open(f->dir, &o);
    cirrus_batch *b;
    assert_int_equal(cirrus_batch_new(&b), 0);
    assert_int_equal(cirrus_batch_put_ttl(b, "short", 5, "x", 1, 2000), 0);
    assert_int_equal(cirrus_batch_put_ttl(b, "long", 4, "y", 1, 3600 * 1000), 0);
    assert_int_equal(cirrus_batch_put(b, "plain", 5, "z", 1), 0);
    assert_int_equal(cirrus_batch_put_ttl(b, "ctr", 3, "5", 1, 2000), 0);
    assert_int_equal(cirrus_batch_put_ttl(b, "bad", 3, "z", 1, 0), CIRRUS_EINVALID);
    uint64_t seq;
    assert_int_equal(cirrus_write(db, b, CIRRUS_WRITE_NOW, &seq), 0);
    cirrus_batch_free(b);
    expect(db, CIRRUS_SEQ_LATEST, "short", "x");
    add(db, "ctr", "1"); /* merging keeps the value's expiry */
    expect(db, CIRRUS_SEQ_LATEST, "ctr", "6");
    fixture_commit(db);
    expect(db, CIRRUS_SEQ_LATEST, "ctr", "6");
    usleep(2100 * 1000); /* generous: the reads above must not race a busy machine */
    expect(db, CIRRUS_SEQ_LATEST, "ctr", NULL);
    expect(db, CIRRUS_SEQ_LATEST, "short", NULL);
    expect(db, seq, "short", NULL); /* judged by the reader's clock */
    expect(db, CIRRUS_SEQ_LATEST, "plain", "z");
    const char *k2[] = {"plain"}, *v2[] = {"z"};
    cirrus_close(db);
    db = fixture_open(f->dir, &o);
    assert_int_equal(cirrus_delete(db, "long", 4), 0);
    fixture_commit(db);
    expect_scan(db, k2, v2, 1);
    for (int i = 0; i < 4; i++) {
        char k[8];
        snprintf(k, sizeof(k), "f%d", i % 10);
        assert_int_equal(cirrus_put(db, k, strlen(k), "1", 1), 0);
        fixture_commit(db);
    }
    assert_int_equal(cirrus_compact(db), 0);
    expect(db, CIRRUS_SEQ_LATEST, "short", NULL);
    expect_scan(db, (const char *const[]){"f0", "f1", "f2", "f3", "plain"},
                (const char *const[]){"1", "1", "1", "1", "z"}, 5);
    cirrus_close(db);
}

static void the_changefeed_reports_operands(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = manual();
    o.changefeed_retention_ms = 3600 * 1000;
    cirrus_db *db = fixture_open(f->dir, &o);
    add(db, "n", "4");
    add(db, "n", "6"); /* combined within the commit */
    uint64_t seq = fixture_commit(db);
    cirrus_changes *c;
    cirrus_change ch;
    assert_int_equal(cirrus_changes_open(&c, db, seq), 0);
    assert_int_equal(cirrus_changes_next(c, &ch, 0), 0);
    assert_int_equal(ch.op, CIRRUS_CHANGE_MERGE);
    assert_int_equal(ch.val_len, 2);
    assert_memory_equal(ch.val, "10", 2);
    cirrus_changes_close(c);
    cirrus_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(counters_add_up_wherever_their_operands_live, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(a_user_operator_applies_operands_oldest_first,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(expired_keys_vanish_and_compaction_drops_them,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(the_changefeed_reports_operands, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
