/* cirrus-test-libs: db testsupport */
/*
 * test_obs.c - logs and metrics through the public API: a background
 * compaction that fails reaches cirrus_options.log_fn and the failure
 * counter of cirrus_stats; a version 1 cirrus_options struct (which ends
 * before log_fn) still opens; the latency histograms count the operations
 * done; cirrus_stats_get writes no more than the first release's struct;
 * cirrus_stats_prometheus renders them.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cirrus.h"
#include "support/fixture.h"

/* What a log_fn heard (called from the background threads). */
struct heard {
    pthread_mutex_t mu;
    int n_compaction_warnings;
    char last[1024];
};

static void hear(int level, const char *subsystem, const char *message, void *arg)
{
    struct heard *h = arg;
    pthread_mutex_lock(&h->mu);
    if (level == CIRRUS_LOG_WARN && strcmp(subsystem, "compaction") == 0) {
        h->n_compaction_warnings++;
        snprintf(h->last, sizeof(h->last), "%s", message);
    }
    pthread_mutex_unlock(&h->mu);
}

static void make_l0_files(const char *dir, int n)
{
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(dir, &o);
    for (int i = 0; i < n; i++) {
        char k[16];
        snprintf(k, sizeof(k), "k%d", i);
        fixture_put_str(db, k, "v");
        fixture_commit(db);
    }
    assert_int_equal(cirrus_close(db), 0);
}

static void background_compaction_failure_is_logged_and_counted(void **state)
{
    struct fixture *f = *state;
    struct heard h = {PTHREAD_MUTEX_INITIALIZER, 0, ""};
    char url[4096], meta[4096];
    make_l0_files(f->dir, 4);
    /* every object store put fails: open makes none, the compaction's
     * output does */
    snprintf(url, sizeof(url), "fault:%s?error.put=1", f->dir);
    snprintf(meta, sizeof(meta), "sqlite:%s/meta.sqlite3", f->dir);
    cirrus_options o = fixture_manual_options();
    o.meta_url = meta;
    o.background_compaction = 1;
    o.l0_compaction_trigger = 4;
    o.log_fn = hear;
    o.log_arg = &h;
    cirrus_db *db = fixture_open(url, &o);
    cirrus_stats st;
    /* the compactor ticks every second; wait for its first failure (the
     * bound is for a hang, not a speed claim) */
    for (int i = 0; i < 600; i++) {
        assert_int_equal(cirrus_stats_read(db, &st, sizeof(st)), 0);
        if (st.bg_failures[CIRRUS_BG_COMPACTION] > 0)
            break;
        nanosleep(&(struct timespec){0, 100 * 1000000}, NULL);
    }
    assert_true(st.bg_failures[CIRRUS_BG_COMPACTION] > 0);
    assert_true(st.log_warnings >= st.bg_failures[CIRRUS_BG_COMPACTION]);
    assert_int_equal(st.compactions, 0);
    assert_int_equal(cirrus_close(db), 0);
    assert_true(h.n_compaction_warnings > 0);
    assert_non_null(strstr(h.last, "background compaction failed"));
    assert_non_null(strstr(h.last, "injected fault"));
}

static void version_1_options_still_open(void **state)
{
    struct fixture *f = *state;
    cirrus_options full = fixture_manual_options();
    size_t n = offsetof(cirrus_options, log_fn);
    /* exactly a version 1 struct: ASan catches a read past it (bytes, so
     * that no member access here reaches past the end either) */
    unsigned char *raw = malloc(n);
    assert_non_null(raw);
    full.version = 1;
    memcpy(raw, &full, n);
    cirrus_db *db = NULL;
    assert_int_equal(cirrus_open(&db, f->dir, (const cirrus_options *)(void *)raw), 0);
    free(raw);
    fixture_put_str(db, "a", "1");
    fixture_commit(db);
    void *v = NULL;
    size_t len = 0;
    assert_int_equal(cirrus_get(db, NULL, "a", 1, &v, &len), 0);
    assert_int_equal(len, 1);
    assert_memory_equal(v, "1", 1);
    cirrus_free(v);
    assert_int_equal(cirrus_close(db), 0);
}

static void histograms_count_the_operations(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(f->dir, &o);
    fixture_put_str(db, "a", "1");
    fixture_commit(db);
    cirrus_stats before;
    assert_int_equal(cirrus_stats_read(db, &before, sizeof(before)), 0);
    for (int i = 0; i < 50; i++) {
        void *v = NULL;
        size_t len = 0;
        assert_int_equal(cirrus_get(db, NULL, i % 2 ? "a" : "b", 1, &v, &len),
                         i % 2 ? 0 : CIRRUS_ENOTFOUND);
        cirrus_free(v);
    }
    for (int i = 0; i < 3; i++) {
        fixture_put_str(db, "c", "x");
        fixture_commit(db);
    }
    cirrus_stats st;
    assert_int_equal(cirrus_stats_read(db, &st, sizeof(st)), 0);
    const cirrus_histogram *g = &st.hist[CIRRUS_HIST_GET];
    assert_int_equal(g->count - before.hist[CIRRUS_HIST_GET].count, 50);
    assert_int_equal(st.hist[CIRRUS_HIST_COMMIT].count - before.hist[CIRRUS_HIST_COMMIT].count, 3);
    assert_int_equal(st.hist[CIRRUS_HIST_OBJECT_GET].count, st.os_gets);
    assert_int_equal(st.hist[CIRRUS_HIST_OBJECT_PUT].count, st.os_puts);
    assert_int_equal(st.hist[CIRRUS_HIST_META_WRITE].count, st.ms_writes + st.ms_deletes);
    for (int h = 0; h < CIRRUS_HIST_MAX; h++) {
        uint64_t sum = 0;
        for (int b = 0; b < CIRRUS_HISTOGRAM_BUCKETS; b++)
            sum += st.hist[h].buckets[b];
        assert_int_equal(sum, st.hist[h].count);
    }
    assert_string_equal(cirrus_stats_hist_name(CIRRUS_HIST_GET), "get");
    assert_null(cirrus_stats_hist_name(CIRRUS_HIST_MAX));

    /* the old call fills the old struct and not a byte more (ASan) */
    unsigned char *old = malloc(CIRRUS_STATS_V1_SIZE);
    uint64_t old_head;
    assert_non_null(old);
    assert_int_equal(cirrus_stats_get(db, (cirrus_stats *)(void *)old), 0);
    memcpy(&old_head, old + offsetof(cirrus_stats, head_seq), sizeof(old_head));
    assert_int_equal(old_head, st.head_seq);
    free(old);
    assert_int_equal(cirrus_stats_read(db, &st, CIRRUS_STATS_V1_SIZE - 8), CIRRUS_EINVALID);

    /* the Prometheus text */
    char *text = NULL, line[128];
    size_t len = 0;
    assert_int_equal(cirrus_stats_prometheus(db, &text, &len), 0);
    assert_int_equal(strlen(text), len);
    assert_non_null(strstr(text, "# TYPE cirrus_latency_seconds histogram\n"));
    assert_non_null(strstr(text, "# TYPE cirrus_background_failures_total counter\n"));
    assert_non_null(strstr(text, "cirrus_background_failures_total{subsystem=\"compaction\"} 0\n"));
    cirrus_stats now;
    assert_int_equal(cirrus_stats_read(db, &now, sizeof(now)), 0);
    snprintf(line, sizeof(line), "\ncirrus_latency_seconds_count{op=\"get\"} %llu\n",
             (unsigned long long)now.hist[CIRRUS_HIST_GET].count);
    assert_non_null(strstr(text, line));
    snprintf(line, sizeof(line), "\ncirrus_latency_seconds_bucket{op=\"get\",le=\"+Inf\"} %llu\n",
             (unsigned long long)now.hist[CIRRUS_HIST_GET].count);
    assert_non_null(strstr(text, line));
    assert_non_null(strstr(text, "cirrus_latency_seconds_bucket{op=\"get\",le=\"0.000001\"} "));
    assert_int_equal(text[len - 1], '\n');
    cirrus_free(text);
    assert_int_equal(cirrus_close(db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(background_compaction_failure_is_logged_and_counted,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(version_1_options_still_open, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(histograms_count_the_operations, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
