/* cirrus-test-libs: db testsupport */
/*
 * test_compaction.c - LSM maintenance through the public API: compaction
 * keeps every read inside the retention window exact and shrinks what it may,
 * GC deletes only what nothing references, leases hand out increasing
 * tokens, and all of it holds with several processes at once.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cirrus.h"
#include "support/fixture.h"
#include "support/tmpdir.h"

#define NKEYS 300
#define VLEN 24

/* Small shapes so that a few hundred commits fill several levels. */
static cirrus_options small_shape(void)
{
    cirrus_options o = fixture_small_levels(8192);
    o.block_size = 1024;
    o.changefeed_retention_ms = 0; /* GC here reclaims compacted L0 files */
    return o;
}

static void key_of(char *k, int i)
{
    snprintf(k, 8, "k%04d", i % 10000);
}

typedef char model_t[NKEYS][VLEN]; /* "" = absent */

/* 200 commits of puts, overwrites and deletes; hist[s] is the model at s. */
static model_t *write_history(cirrus_db *db, int commits)
{
    model_t *hist = calloc((size_t)commits + 1, sizeof(model_t));
    model_t cur;
    memset(cur, 0, sizeof(cur));
    srand(11);
    for (int c = 1; c <= commits; c++) {
        int ops = 1 + rand() % 20;
        for (int j = 0; j < ops; j++) {
            int i = rand() % NKEYS;
            char k[8];
            key_of(k, i);
            if (rand() % 5 == 0) {
                assert_int_equal(cirrus_delete(db, k, 5), 0);
                cur[i][0] = '\0';
            } else {
                snprintf(cur[i], VLEN, "v%05d-%05d-xxxxxx", c % 100000, j % 100000);
                assert_int_equal(cirrus_put(db, k, 5, cur[i], strlen(cur[i])), 0);
            }
        }
        uint64_t seq;
        assert_int_equal(cirrus_flush(db, &seq), 0);
        assert_int_equal(seq, (uint64_t)c);
        memcpy(hist[c], cur, sizeof(cur));
    }
    return hist;
}

static void check_seq(cirrus_db *db, uint64_t seq, model_t m)
{
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    cirrus_snapshot *snap;
    assert_int_equal(fixture_at(db, seq, &ro, &snap), 0);
    for (int i = 0; i < NKEYS; i++) {
        char k[8];
        void *v = NULL;
        size_t n;
        key_of(k, i);
        int rc = cirrus_get(db, &ro, k, 5, &v, &n);
        if (m[i][0] == '\0') {
            if (rc != CIRRUS_ENOTFOUND)
                fail_msg("seq %llu %s: want absent, rc %d", (unsigned long long)seq, k, rc);
        } else {
            if (rc != 0)
                fail_msg("seq %llu %s: rc %d (%s)", (unsigned long long)seq, k, rc,
                         cirrus_errmsg());
            assert_int_equal(n, strlen(m[i]));
            assert_memory_equal(v, m[i], n);
            cirrus_free(v);
        }
    }
    /* a full scan at seq agrees too */
    cirrus_iter *it;
    int i = 0;
    assert_int_equal(cirrus_iter_new(&it, db, &ro), 0);
    for (cirrus_iter_first(it); cirrus_iter_valid(it); cirrus_iter_next(it)) {
        size_t kl;
        const char *key = cirrus_iter_key(it, &kl);
        while (i < NKEYS && m[i][0] == '\0')
            i++;
        assert_true(i < NKEYS);
        char k[8];
        key_of(k, i);
        assert_memory_equal(key, k, 5);
        i++;
    }
    while (i < NKEYS && m[i][0] == '\0')
        i++;
    assert_int_equal(i, NKEYS);
    assert_int_equal(cirrus_iter_status(it), 0);
    cirrus_iter_close(it);
    cirrus_snapshot_free(snap);
}

static void compaction_keeps_every_read_inside_the_retention_window(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = small_shape();
    cirrus_db *db = fixture_open(f->dir, &o);
    enum { COMMITS = 200 };
    model_t *hist = write_history(db, COMMITS);
    cirrus_stats before, after;
    cirrus_stats_get(db, &before);
    assert_int_equal(before.level_files[0], COMMITS);

    assert_int_equal(cirrus_compact(db), 0);
    cirrus_stats_get(db, &after);
    assert_true(after.level_files[0] < o.l0_compaction_trigger);
    assert_true(after.head_seq > COMMITS); /* compact entries committed */
    int deeper = 0;
    for (int l = 2; l < CIRRUS_MAX_LEVELS; l++)
        deeper += after.level_files[l] > 0;
    assert_true(deeper >= 1); /* the shape really has several levels */
    for (uint64_t s = 1; s <= COMMITS; s += 7)
        check_seq(db, s, hist[s]);
    check_seq(db, COMMITS, hist[COMMITS]);
    cirrus_close(db);

    /* a fresh process sees the same: the compacted shape replays */
    db = fixture_open(f->dir, &o);
    for (uint64_t s = 3; s <= COMMITS; s += 13)
        check_seq(db, s, hist[s]);
    check_seq(db, CIRRUS_SEQ_LATEST, hist[COMMITS]);
    cirrus_close(db);
    free(hist);
}

static int count_file(const char *path, void *arg)
{
    (void)path;
    (*(int *)arg)++;
    return 0;
}

struct gc_tally {
    int deleted, kept_referenced;
};

static void tally(const cirrus_gc_item *item, void *arg)
{
    struct gc_tally *t = arg;
    if (item->deleted)
        t->deleted++;
    else if (strcmp(item->why, "referenced") == 0)
        t->kept_referenced++;
}

static void without_retention_compaction_drops_history_and_gc_reclaims_it(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = small_shape();
    o.mvcc_retention_ms = 0;
    cirrus_db *db = fixture_open(f->dir, &o);
    enum { COMMITS = 120 };
    model_t *hist = write_history(db, COMMITS);
    cirrus_stats before, after;
    cirrus_stats_get(db, &before);
    assert_int_equal(cirrus_compact(db), 0);
    cirrus_stats_get(db, &after);
    /* overwrites and deletes collapse: far fewer bytes */
    assert_true(after.live_bytes < before.live_bytes / 2);
    check_seq(db, CIRRUS_SEQ_LATEST, hist[COMMITS]);
    /* history below the horizon is refused, never answered wrongly */
    assert_int_equal(fixture_get_at(db, 5, "k0001", 5, NULL, NULL), CIRRUS_EEXPIRED);
    assert_non_null(strstr(cirrus_errmsg(), "retention"));

    int on_disk = 0;
    tmpdir_each_file(f->dir, "sst/", count_file, &on_disk);
    /* compaction deletes nothing itself: inputs stay until GC */
    assert_true(on_disk >= (int)before.live_files);
    assert_true(on_disk > (int)after.live_files);
    struct gc_tally t = {0, 0};
    assert_int_equal(cirrus_gc(db, 0, tally, &t), 0);
    on_disk = 0;
    tmpdir_each_file(f->dir, "sst/", count_file, &on_disk);
    assert_int_equal(on_disk, (int)after.live_files);
    assert_int_equal(t.kept_referenced, (int)after.live_files);
    assert_true(t.deleted >= (int)before.live_files);
    check_seq(db, CIRRUS_SEQ_LATEST, hist[COMMITS]);
    cirrus_close(db);
    db = fixture_open(f->dir, &o);
    check_seq(db, CIRRUS_SEQ_LATEST, hist[COMMITS]);
    cirrus_close(db);
    free(hist);
}

static void lease_tokens_only_grow(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = small_shape();
    cirrus_db *db = fixture_open(f->dir, &o);
    cirrus_lease_info info;
    uint64_t t1, t2, t3, t4;
    assert_int_equal(cirrus_lease_show(db, "shard-7", &info), CIRRUS_ENOTFOUND);
    assert_int_equal(cirrus_lease_acquire(db, "shard-7", "alice", 60000, &t1, NULL), 0);
    assert_int_equal(cirrus_lease_acquire(db, "shard-7", "bob", 60000, &t2, &info), CIRRUS_EBUSY);
    assert_string_equal(info.owner, "alice");
    assert_int_equal(cirrus_lease_renew(db, "shard-7", "alice", 60000, &t2), 0);
    assert_int_equal(t2, t1); /* a renewal is not a change of hands */
    assert_int_equal(cirrus_lease_renew(db, "shard-7", "bob", 60000, &t2), CIRRUS_EBUSY);
    assert_int_equal(cirrus_lease_release(db, "shard-7", "bob"), CIRRUS_EBUSY);
    assert_int_equal(cirrus_lease_release(db, "shard-7", "alice"), 0);
    assert_int_equal(cirrus_lease_acquire(db, "shard-7", "bob", 50, &t3, NULL), 0);
    assert_true(t3 > t1);
    usleep(120 * 1000); /* bob's lease expires */
    assert_int_equal(cirrus_lease_renew(db, "shard-7", "bob", 60000, &t4), CIRRUS_EBUSY);
    assert_int_equal(cirrus_lease_acquire(db, "shard-7", "alice", 60000, &t4, NULL), 0);
    assert_true(t4 > t3);
    assert_int_equal(cirrus_lease_show(db, "shard-7", &info), 0);
    assert_string_equal(info.owner, "alice");
    assert_int_equal(info.token, t4);
    assert_int_equal(cirrus_lease_acquire(db, "bad name", "x", 1, NULL, NULL), CIRRUS_EINVALID);
    cirrus_close(db);
}

static void background_compaction_keeps_l0_small_under_steady_commits(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = small_shape();
    o.background_compaction = 1;
    o.flush_interval_ms = 20;
    cirrus_db *db = fixture_open(f->dir, &o);
    uint64_t max_l0 = 0;
    /* ~3 s of commits at up to 50 per second */
    for (int i = 0; i < 150; i++) {
        char k[16], v[16];
        snprintf(k, sizeof(k), "k%04d", i % 97);
        snprintf(v, sizeof(v), "%d", i);
        assert_int_equal(cirrus_put(db, k, strlen(k), v, strlen(v)), 0);
        usleep(20000);
        cirrus_stats st;
        cirrus_stats_get(db, &st);
        if (i > 50 && st.level_files[0] > max_l0)
            max_l0 = st.level_files[0];
    }
    assert_int_equal(cirrus_flush(db, NULL), 0);
    assert_true(max_l0 <= 16);
    for (int i = 150 - 97; i < 150; i++) {
        char k[16], want[16];
        void *v;
        size_t n;
        snprintf(k, sizeof(k), "k%04d", i % 97);
        snprintf(want, sizeof(want), "%d", i);
        assert_int_equal(cirrus_get(db, NULL, k, strlen(k), &v, &n), 0);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(v, want, n);
        cirrus_free(v);
    }
    cirrus_close(db);
}

/* A writer process commits increasing values per key while two others loop
 * compaction and GC; afterwards every key holds its last acknowledged value. */
static void concurrent_compactors_and_a_writer_lose_nothing(void **state)
{
    struct fixture *f = *state;
    enum { KEYS = 50, ROUNDS = 60 };
    pid_t maint[2];
    for (int p = 0; p < 2; p++) {
        maint[p] = fork();
        assert_true(maint[p] >= 0);
        if (maint[p] == 0) {
            cirrus_options o = small_shape();
            o.gc_grace_ms = 4000;
            o.mvcc_retention_ms = 0;
            cirrus_db *db = NULL;
            if (cirrus_open(&db, f->dir, &o) != 0)
                _exit(20);
            for (;;) {
                int rc = cirrus_compact(db);
                if (rc != 0 && rc != CIRRUS_EBUSY) {
                    fprintf(stderr, "compactor %d: rc %d: %s\n", p, rc, cirrus_errmsg());
                    _exit(21);
                }
                rc = cirrus_gc(db, 4000, NULL, NULL);
                if (rc != 0 && rc != CIRRUS_EBUSY) {
                    fprintf(stderr, "gc %d: rc %d: %s\n", p, rc, cirrus_errmsg());
                    _exit(22);
                }
                usleep(20000);
            }
        }
    }
    cirrus_options o = small_shape();
    o.gc_grace_ms = 4000;
    cirrus_db *db = fixture_open(f->dir, &o);
    for (int r = 0; r < ROUNDS; r++) {
        for (int k = 0; k < KEYS; k += 1 + r % 3) {
            char key[16], val[16];
            snprintf(key, sizeof(key), "w%03d", k);
            snprintf(val, sizeof(val), "%d", r);
            assert_int_equal(cirrus_put(db, key, strlen(key), val, strlen(val)), 0);
        }
        if (cirrus_flush(db, NULL) != 0)
            fail_msg("writer: %s", cirrus_errmsg());
        usleep(10000);
    }
    for (int p = 0; p < 2; p++) {
        int status;
        kill(maint[p], SIGTERM);
        waitpid(maint[p], &status, 0);
        assert_true(WIFSIGNALED(status)); /* still looping: no error exit */
    }
    cirrus_close(db);
    db = fixture_open(f->dir, &o);
    for (int k = 0; k < KEYS; k++) {
        int last = -1;
        for (int r = 0; r < ROUNDS; r++)
            if (k % (1 + r % 3) == 0)
                last = r;
        char key[16], want[16];
        void *v;
        size_t n;
        snprintf(key, sizeof(key), "w%03d", k);
        snprintf(want, sizeof(want), "%d", last);
        if (cirrus_get(db, NULL, key, strlen(key), &v, &n) != 0)
            fail_msg("%s: %s", key, cirrus_errmsg());
        assert_int_equal(n, strlen(want));
        assert_memory_equal(v, want, n);
        cirrus_free(v);
    }
    cirrus_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(compaction_keeps_every_read_inside_the_retention_window,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(
            without_retention_compaction_drops_history_and_gc_reclaims_it, fixture_setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(lease_tokens_only_grow, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(background_compaction_keeps_l0_small_under_steady_commits,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(concurrent_compactors_and_a_writer_lose_nothing,
                                        fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
