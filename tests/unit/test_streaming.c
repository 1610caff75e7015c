/* cirrus-test-libs: db testsupport */
/*
 * test_streaming.c - what a stream processor relies on: the changefeed shows
 * every committed change once and in order (also across compaction and GC),
 * an epoch applies exactly once, and staged files from many processes become
 * visible together at one seq.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cirrus.h"
#include "support/fixture.h"

static cirrus_options manual(void)
{
    cirrus_options o = fixture_small_levels(8192);
    o.refresh_interval_ms = 10;
    return o;
}

/* What one commit did, as the test wrote it. */
struct expect {
    uint64_t seq;
    char key[32];
    int del;
    char val[32];
};

static void changefeed_shows_every_change_once_across_compaction_and_gc(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = manual();
    cirrus_db *db = fixture_open(f->dir, &o);
    enum { COMMITS = 60 };
    struct expect *want = calloc(COMMITS * 3, sizeof(*want));
    size_t n_want = 0;
    for (int c = 0; c < COMMITS; c++) {
        /* three changes per commit, written out of key order, one delete */
        int keys[3] = {(c * 7) % 20 + 20, (c * 3) % 20, (c * 11) % 20 + 40};
        for (int j = 0; j < 3; j++) {
            char k[32], v[32];
            snprintf(k, sizeof(k), "k%03d", keys[j]);
            snprintf(v, sizeof(v), "c%d", c);
            if (j == 1 && c % 4 == 3)
                assert_int_equal(cirrus_delete(db, k, strlen(k)), 0);
            else
                assert_int_equal(cirrus_put(db, k, strlen(k), v, strlen(v)), 0);
        }
        uint64_t seq;
        assert_int_equal(cirrus_flush(db, &seq), 0);
        /* expected changes of this commit, in key order */
        int sorted[3] = {keys[1], keys[0], keys[2]};
        for (int j = 0; j < 3; j++) {
            struct expect *e = &want[n_want++];
            e->seq = seq;
            snprintf(e->key, sizeof(e->key), "k%03d", sorted[j]);
            e->del = sorted[j] == keys[1] && c % 4 == 3;
            snprintf(e->val, sizeof(e->val), "c%d", c);
        }
        if (c == COMMITS / 2) {
            /* compaction and GC in the middle must not disturb the feed */
            assert_int_equal(cirrus_compact(db), 0);
            assert_int_equal(cirrus_gc(db, 0, NULL, NULL), 0);
        }
    }
    assert_int_equal(cirrus_compact(db), 0);
    assert_int_equal(cirrus_gc(db, 0, NULL, NULL), 0);

    cirrus_changes *feed;
    cirrus_change ch;
    assert_int_equal(cirrus_changes_open(&feed, db, 0), 0);
    for (size_t i = 0; i < n_want; i++) {
        int rc = cirrus_changes_next(feed, &ch, 0);
        if (rc != 0)
            fail_msg("change %zu: %s", i, cirrus_errmsg());
        assert_int_equal(ch.seq, want[i].seq);
        assert_int_equal(ch.key_len, strlen(want[i].key));
        assert_memory_equal(ch.key, want[i].key, ch.key_len);
        assert_int_equal(ch.op, want[i].del ? CIRRUS_CHANGE_DELETE : CIRRUS_CHANGE_PUT);
        if (!want[i].del) {
            assert_int_equal(ch.val_len, strlen(want[i].val));
            assert_memory_equal(ch.val, want[i].val, ch.val_len);
        }
    }
    /* caught up: nothing more, and nothing invented */
    assert_int_equal(cirrus_changes_next(feed, &ch, 50), CIRRUS_ENOTFOUND);

    /* following: a commit by another handle shows up */
    cirrus_db *other = fixture_open(f->dir, &o);
    assert_int_equal(cirrus_put(other, "late", 4, "1", 1), 0);
    uint64_t late_seq;
    assert_int_equal(cirrus_flush(other, &late_seq), 0);
    assert_int_equal(cirrus_changes_next(feed, &ch, 2000), 0);
    assert_int_equal(ch.seq, late_seq);
    assert_memory_equal(ch.key, "late", 4);
    cirrus_changes_close(feed);

    /* from a given seq */
    assert_int_equal(cirrus_changes_open(&feed, db, want[30].seq), 0);
    assert_int_equal(cirrus_changes_next(feed, &ch, 0), 0);
    assert_int_equal(ch.seq, want[30].seq);
    cirrus_changes_close(feed);
    cirrus_close(other);
    cirrus_close(db);
    free(want);
}

static void an_epoch_applies_exactly_once(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = manual();
    cirrus_db *db = fixture_open(f->dir, &o);
    cirrus_batch *b1 = fixture_batch_range(0, 10, "e1"), *b2 = fixture_batch_range(0, 10, "e2");
    uint64_t seq1, seq, epoch;
    int applied;
    assert_int_equal(cirrus_app_epoch(db, "sink", &epoch, &seq), CIRRUS_ENOTFOUND);
    assert_int_equal(cirrus_write_once(db, b1, "sink", 1, &seq1, &applied), 0);
    assert_true(applied);
    /* the retry after a crash: nothing written, told where it landed */
    assert_int_equal(cirrus_write_once(db, b2, "sink", 1, &seq, &applied), 0);
    assert_false(applied);
    assert_int_equal(seq, seq1);
    cirrus_stats st;
    cirrus_stats_get(db, &st);
    assert_int_equal(st.head_seq, seq1); /* no entry for the retry */
    void *v;
    size_t n;
    assert_int_equal(cirrus_get(db, NULL, "key0003", 7, &v, &n), 0);
    assert_memory_equal(v, "e1-3", 4);
    cirrus_free(v);
    /* another process sees the epoch, also after reopening from manifests */
    cirrus_close(db);
    o.manifest_interval = 1;
    db = fixture_open(f->dir, &o);
    assert_int_equal(cirrus_write_once(db, b2, "sink", 2, &seq, &applied), 0);
    assert_true(applied);
    assert_int_equal(cirrus_app_epoch(db, "sink", &epoch, &seq1), 0);
    assert_int_equal(epoch, 2);
    assert_int_equal(seq1, seq);
    cirrus_close(db);
    db = fixture_open(f->dir, &o);
    assert_int_equal(cirrus_write_once(db, b1, "sink", 2, &seq, &applied), 0);
    assert_false(applied);
    assert_int_equal(cirrus_write_once(db, b1, "sink", 1, &seq, &applied), 0);
    assert_false(applied);
    assert_int_equal(cirrus_get(db, NULL, "key0003", 7, &v, &n), 0);
    assert_memory_equal(v, "e2-3", 4);
    cirrus_free(v);
    cirrus_batch_free(b1);
    cirrus_batch_free(b2);
    cirrus_close(db);
}

static void staged_files_from_many_processes_appear_at_one_seq(void **state)
{
    struct fixture *f = *state;
    enum { STAGERS = 4, PER = 300 };
    int pipes[STAGERS][2];
    pid_t pids[STAGERS];
    for (int p = 0; p < STAGERS; p++) {
        assert_int_equal(pipe(pipes[p]), 0);
        pids[p] = fork();
        if (pids[p] == 0) {
            cirrus_options o = manual();
            cirrus_db *db = NULL;
            char *desc = NULL;
            close(pipes[p][0]);
            cirrus_batch *b = fixture_batch_range(p * PER, (p + 1) * PER, "staged");
            if (cirrus_open(&db, f->dir, &o) || cirrus_stage(db, b, &desc))
                _exit(30);
            size_t len = strlen(desc);
            if (write(pipes[p][1], desc, len) != (ssize_t)len)
                _exit(31);
            cirrus_free(desc);
            cirrus_batch_free(b);
            cirrus_close(db);
            _exit(0);
        }
        close(pipes[p][1]);
    }
    char *descs[STAGERS];
    for (int p = 0; p < STAGERS; p++) {
        size_t cap = 1 << 16, len = 0;
        descs[p] = malloc(cap);
        ssize_t got;
        while ((got = read(pipes[p][0], descs[p] + len, cap - len - 1)) > 0) {
            len += (size_t)got;
            if (len + 1 == cap)
                descs[p] = realloc(descs[p], cap *= 2);
        }
        descs[p][len] = '\0';
        close(pipes[p][0]);
        int status;
        waitpid(pids[p], &status, 0);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    cirrus_options o = manual();
    cirrus_db *db = fixture_open(f->dir, &o);
    /* nothing staged is visible before the commit */
    void *v;
    size_t n;
    assert_int_equal(cirrus_get(db, NULL, "key0000", 7, &v, &n), CIRRUS_ENOTFOUND);
    uint64_t seq;
    assert_int_equal(cirrus_commit_staged(db, STAGERS, (const char *const *)descs, &seq), 0);
    /* everything at that one seq, nothing at the one before */
    for (int i = 0; i < STAGERS * PER; i += 37) {
        char k[32];
        snprintf(k, sizeof(k), "key%04d", i);
        assert_int_equal(fixture_get_at(db, seq, k, strlen(k), NULL, NULL), 0);
        assert_int_equal(fixture_get_at(db, seq - 1, k, strlen(k), NULL, NULL), CIRRUS_ENOTFOUND);
    }
    /* committing the same descriptors again is refused, naming a file */
    assert_int_equal(cirrus_commit_staged(db, 1, (const char *const *)descs, &seq),
                     CIRRUS_EINVALID);
    assert_non_null(strstr(cirrus_errmsg(), "already committed"));
    /* a damaged descriptor is refused */
    descs[1][strlen(descs[1]) - 3] ^= 1;
    assert_int_equal(cirrus_commit_staged(db, 1, (const char *const *)&descs[1], &seq),
                     CIRRUS_EINVALID);
    for (int p = 0; p < STAGERS; p++)
        free(descs[p]);

    /* a descriptor whose files GC removed is refused */
    char *desc;
    cirrus_batch *b = fixture_batch_range(0, 5, "orphan");
    cirrus_options quick = manual();
    quick.gc_grace_ms = 0;
    cirrus_db *gcdb = fixture_open(f->dir, &quick);
    assert_int_equal(cirrus_stage(db, b, &desc), 0);
    assert_int_equal(cirrus_gc(gcdb, 0, NULL, NULL), 0);
    assert_int_equal(cirrus_commit_staged(db, 1, (const char *const *)&desc, &seq),
                     CIRRUS_EINVALID);
    assert_non_null(strstr(cirrus_errmsg(), "no longer exists"));
    cirrus_free(desc);
    cirrus_batch_free(b);
    cirrus_close(gcdb);
    cirrus_close(db);
}

static int64_t txn_read_int(cirrus_txn *t, const char *k)
{
    void *v;
    size_t n;
    int rc = cirrus_txn_get(t, k, strlen(k), &v, &n);
    if (rc == CIRRUS_ENOTFOUND)
        return 0;
    if (rc != 0)
        fail_msg("txn get %s: %s", k, cirrus_errmsg());
    int64_t x = strtoll(v, NULL, 10);
    cirrus_free(v);
    return x;
}

static void txn_put_int(cirrus_txn *t, const char *k, int64_t x)
{
    char v[32];
    snprintf(v, sizeof(v), "%lld", (long long)x);
    assert_int_equal(cirrus_txn_put(t, k, strlen(k), v, strlen(v)), 0);
}

static void a_conflicting_transaction_is_refused_and_leaves_no_trace(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = manual();
    cirrus_db *db = fixture_open(f->dir, &o);
    cirrus_txn *a, *b;
    uint64_t seq;
    assert_int_equal(cirrus_txn_begin(&a, db), 0);
    assert_int_equal(cirrus_txn_begin(&b, db), 0);
    assert_int_equal(txn_read_int(a, "n"), 0);
    txn_put_int(a, "n", 1);
    assert_int_equal(txn_read_int(a, "n"), 1); /* reads its own write */
    assert_int_equal(txn_read_int(b, "n"), 0);
    txn_put_int(b, "n", 100);
    txn_put_int(b, "other", 7);
    assert_int_equal(cirrus_txn_commit(a, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(cirrus_txn_commit(b, &seq), CIRRUS_ECONFLICT);
    assert_non_null(strstr(cirrus_errmsg(), "conflict"));
    cirrus_stats st;
    cirrus_stats_get(db, &st);
    assert_int_equal(st.head_seq, 1); /* b committed nothing */
    void *v;
    size_t n;
    assert_int_equal(cirrus_get(db, NULL, "other", 5, &v, &n), CIRRUS_ENOTFOUND);
    /* disjoint keys do not conflict */
    assert_int_equal(cirrus_txn_begin(&a, db), 0);
    assert_int_equal(cirrus_txn_begin(&b, db), 0);
    txn_put_int(a, "x", txn_read_int(a, "x") + 1);
    txn_put_int(b, "y", txn_read_int(b, "y") + 1);
    assert_int_equal(cirrus_txn_commit(a, &seq), 0);
    assert_int_equal(cirrus_txn_commit(b, &seq), 0);
    cirrus_close(db);
}

static void concurrent_increments_lose_no_update(void **state)
{
    struct fixture *f = *state;
    enum { PROCS = 4, EACH = 25 };
    pid_t pids[PROCS];
    for (int p = 0; p < PROCS; p++) {
        pids[p] = fork();
        if (pids[p] == 0) {
            cirrus_options o = manual();
            cirrus_db *db = NULL;
            if (cirrus_open(&db, f->dir, &o))
                _exit(40);
            for (int i = 0; i < EACH;) {
                cirrus_txn *t;
                uint64_t seq;
                if (cirrus_txn_begin(&t, db))
                    _exit(41);
                void *v;
                size_t n;
                int64_t x = 0;
                int rc = cirrus_txn_get(t, "counter", 7, &v, &n);
                if (rc == 0) {
                    x = strtoll(v, NULL, 10);
                    cirrus_free(v);
                } else if (rc != CIRRUS_ENOTFOUND) {
                    _exit(42);
                }
                char buf[32];
                snprintf(buf, sizeof(buf), "%lld", (long long)x + 1);
                cirrus_txn_put(t, "counter", 7, buf, strlen(buf));
                rc = cirrus_txn_commit(t, &seq);
                if (rc == 0)
                    i++;
                else if (rc != CIRRUS_ECONFLICT)
                    _exit(43);
            }
            cirrus_close(db);
            _exit(0);
        }
    }
    for (int p = 0; p < PROCS; p++) {
        int status;
        waitpid(pids[p], &status, 0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    cirrus_options o = manual();
    cirrus_db *db = fixture_open(f->dir, &o);
    void *v;
    size_t n;
    assert_int_equal(cirrus_get(db, NULL, "counter", 7, &v, &n), 0);
    assert_int_equal(strtoll(v, NULL, 10), PROCS * EACH);
    cirrus_free(v);
    cirrus_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(changefeed_shows_every_change_once_across_compaction_and_gc,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(an_epoch_applies_exactly_once, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(staged_files_from_many_processes_appear_at_one_seq,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(a_conflicting_transaction_is_refused_and_leaves_no_trace,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(concurrent_increments_lose_no_update, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
