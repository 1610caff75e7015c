/* cirrus-test-libs: db testsupport util */
/*
 * test_bulkload.c - bulk loads (cirrus_loader) and ingested SST files
 * (cirrus_sst_writer, cirrus_ingest) through the public API.
 *
 * What a user relies on: a load of any order is ONE entry holding the last
 * put of every key, and nothing before it; sorted input is written once
 * (no run, no merge, nothing deleted); run files are gone once merged; an
 * abandoned loader leaves no object behind; exactly-once loads apply once;
 * a failure of any object store call fails the load and commits nothing
 * (and frees everything: ASan); ingest commits checked files as one entry
 * and refuses corrupt or overlapping ones, leaving nothing uploaded.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/fixture.h"
#include "util/fault.h"

#define KEYS 3000
#define PUTS 5000
#define SMALL_MEMORY ((uint64_t)64 << 10)

/* The objects under dir/sst. */
static int count_ssts(const char *dir)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/sst", dir);
    DIR *d = opendir(path);
    int n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strstr(e->d_name, ".sst") != NULL;
    closedir(d);
    return n;
}

/* Put i of the random-order workload: key (i * 7919) % KEYS, so every key
 * is put once or twice, in no order. */
static void put_i(cirrus_loader *l, int i)
{
    char k[32], v[64];
    int kl = snprintf(k, sizeof(k), "key%05d", (i * 7919) % KEYS);
    int vl = snprintf(v, sizeof(v), "value-%d-padding-padding-padding", i);
    assert_int_equal(cirrus_loader_put(l, k, (size_t)kl, v, (size_t)vl), 0);
}

/* The last put of key%05d k in the random-order workload. */
static int last_put_of(int k)
{
    int last = -1;
    for (int i = 0; i < PUTS; i++)
        if ((i * 7919) % KEYS == k)
            last = i;
    return last;
}

/* Every key of the workload reads its last value, and a scan holds
 * exactly KEYS keys in order. */
static void check_workload(cirrus_db *db)
{
    for (int k = 0; k < KEYS; k += 7) {
        char key[32], want[64];
        snprintf(key, sizeof(key), "key%05d", k);
        snprintf(want, sizeof(want), "value-%d-padding-padding-padding", last_put_of(k));
        void *v = NULL;
        size_t vl = 0;
        assert_int_equal(cirrus_get(db, NULL, key, strlen(key), &v, &vl), 0);
        assert_int_equal(vl, strlen(want));
        assert_memory_equal(v, want, vl);
        cirrus_free(v);
    }
    cirrus_iter *it = NULL;
    assert_int_equal(cirrus_iter_new(&it, db, NULL), 0);
    int n = 0;
    for (cirrus_iter_first(it); cirrus_iter_valid(it); cirrus_iter_next(it), n++) {
        char key[32];
        size_t kl;
        const void *k = cirrus_iter_key(it, &kl);
        snprintf(key, sizeof(key), "key%05d", n);
        assert_int_equal(kl, strlen(key));
        assert_memory_equal(k, key, kl);
    }
    assert_int_equal(cirrus_iter_status(it), 0);
    assert_int_equal(n, KEYS);
    cirrus_iter_close(it);
}

static cirrus_loader *new_loader(cirrus_db *db, uint64_t memory, int sorted)
{
    cirrus_loader_options lo = CIRRUS_LOADER_OPTIONS_INIT;
    cirrus_loader *l = NULL;
    lo.memory_bytes = memory;
    lo.sorted = sorted;
    assert_int_equal(cirrus_loader_new(&l, db, &lo), 0);
    return l;
}

/* A loader at SMALL_MEMORY holding every put of the workload. */
static cirrus_loader *loaded(cirrus_db *db)
{
    cirrus_loader *l = new_loader(db, SMALL_MEMORY, 0);
    for (int i = 0; i < PUTS; i++)
        put_i(l, i);
    return l;
}

static void random_order_is_one_entry_with_the_last_puts(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(f->dir, &o);
    fixture_put_str(db, "key00000", "buffered before the load");
    cirrus_loader *l = loaded(db);
    assert_int_equal(cirrus_loader_count(l), PUTS);
    uint64_t seq = 0;
    int applied = 0;
    assert_int_equal(cirrus_loader_finish(l, &seq, &applied), 0);
    assert_int_equal(applied, 1);
    cirrus_loader_free(l);
    /* the buffered put committed first (seq 1), the load is seq 2 alone */
    assert_int_equal(seq, 2);
    cirrus_stats st;
    assert_int_equal(cirrus_stats_get(db, &st), 0);
    assert_int_equal(st.head_seq, 2);
    assert_true(st.os_deletes > 0); /* runs were written, merged, deleted */
    /* only the committed files are left: the runs are gone */
    assert_int_equal((uint64_t)count_ssts(f->dir), st.live_files);
    check_workload(db);
    /* nothing of it before its seq */
    void *v = NULL;
    size_t vl;
    assert_int_equal(fixture_get_at(db, 1, "key00001", 8, &v, &vl), CIRRUS_ENOTFOUND);
    assert_int_equal(cirrus_close(db), 0);
}

static void sorted_input_is_written_once(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(f->dir, &o);
    for (int sorted = 0; sorted <= 1; sorted++) {
        cirrus_loader *l = new_loader(db, SMALL_MEMORY, sorted);
        for (int k = 0; k < KEYS; k++) {
            char key[32], v[64];
            snprintf(key, sizeof(key), "key%05d", k);
            snprintf(v, sizeof(v), "value-%d-padding-padding-padding", last_put_of(k));
            assert_int_equal(cirrus_loader_put(l, key, strlen(key), v, strlen(v)), 0);
        }
        if (sorted) { /* a promise broken is refused, and the loader goes on */
            assert_int_equal(cirrus_loader_put(l, "key00005", 8, "x", 1), CIRRUS_EINVALID);
            assert_non_null(strstr(cirrus_errmsg(), "not above"));
        }
        assert_int_equal(cirrus_loader_finish(l, NULL, NULL), 0);
        cirrus_loader_free(l);
    }
    cirrus_stats st;
    assert_int_equal(cirrus_stats_get(db, &st), 0);
    assert_int_equal(st.head_seq, 2);
    assert_int_equal(st.os_deletes, 0); /* no run, nothing to delete */
    assert_int_equal((uint64_t)count_ssts(f->dir), st.live_files);
    check_workload(db);
    assert_int_equal(cirrus_close(db), 0);
}

static void an_empty_load_commits_nothing(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(f->dir, &o);
    fixture_put_str(db, "a", "1");
    assert_int_equal(fixture_commit(db), 1);
    cirrus_loader *l = new_loader(db, 0, 0);
    uint64_t seq = 99;
    assert_int_equal(cirrus_loader_finish(l, &seq, NULL), 0);
    assert_int_equal(seq, 1);
    /* finished: nothing more */
    assert_int_equal(cirrus_loader_put(l, "b", 1, "2", 1), CIRRUS_EINVALID);
    assert_int_equal(cirrus_loader_finish(l, &seq, NULL), CIRRUS_EINVALID);
    cirrus_loader_free(l);
    l = new_loader(db, 0, 0);
    char *desc = NULL;
    assert_int_equal(cirrus_loader_stage(l, &desc), CIRRUS_EINVALID);
    assert_null(desc);
    cirrus_loader_free(l);
    cirrus_loader_options lo = CIRRUS_LOADER_OPTIONS_INIT;
    lo.app_id = "sink";
    lo.epoch = 1;
    assert_int_equal(cirrus_loader_new(&l, db, &lo), 0);
    assert_int_equal(cirrus_loader_finish(l, &seq, NULL), CIRRUS_EINVALID);
    cirrus_loader_free(l);
    assert_int_equal(cirrus_refresh(db, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(count_ssts(f->dir), 1);
    assert_int_equal(cirrus_close(db), 0);
}

static void bad_options_are_refused(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(f->dir, &o);
    cirrus_loader_options lo = CIRRUS_LOADER_OPTIONS_INIT;
    cirrus_loader *l = NULL;
    lo.memory_bytes = 1000;
    assert_int_equal(cirrus_loader_new(&l, db, &lo), CIRRUS_EINVALID);
    assert_null(l);
    lo = (cirrus_loader_options)CIRRUS_LOADER_OPTIONS_INIT;
    lo.version = 99;
    assert_int_equal(cirrus_loader_new(&l, db, &lo), CIRRUS_EINVALID);
    lo = (cirrus_loader_options)CIRRUS_LOADER_OPTIONS_INIT;
    lo.app_id = "";
    lo.epoch = 1;
    assert_int_equal(cirrus_loader_new(&l, db, &lo), CIRRUS_EINVALID);
    lo.app_id = "sink";
    lo.epoch = 0;
    assert_int_equal(cirrus_loader_new(&l, db, &lo), CIRRUS_EINVALID);
    l = new_loader(db, 0, 0);
    assert_int_equal(cirrus_loader_put(l, NULL, 3, "v", 1), CIRRUS_EINVALID);
    lo = (cirrus_loader_options)CIRRUS_LOADER_OPTIONS_INIT;
    lo.app_id = "sink";
    lo.epoch = 1;
    cirrus_loader *la = NULL;
    assert_int_equal(cirrus_loader_new(&la, db, &lo), 0);
    char *desc = NULL;
    assert_int_equal(cirrus_loader_stage(la, &desc), CIRRUS_EINVALID);
    cirrus_loader_free(la);
    cirrus_loader_free(l);
    cirrus_loader_free(NULL);
    assert_int_equal(cirrus_close(db), 0);
}

static void an_abandoned_loader_leaves_no_object(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(f->dir, &o);
    cirrus_loader *l = loaded(db);
    assert_true(count_ssts(f->dir) > 1); /* runs were written */
    cirrus_loader_free(l);
    assert_int_equal(count_ssts(f->dir), 0);
    uint64_t seq = 0;
    assert_int_equal(cirrus_refresh(db, &seq), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(cirrus_close(db), 0);
}

static void an_epoch_loads_exactly_once(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(f->dir, &o);
    cirrus_loader_options lo = CIRRUS_LOADER_OPTIONS_INIT;
    lo.memory_bytes = SMALL_MEMORY;
    lo.app_id = "sink";
    lo.epoch = 3;
    uint64_t seqs[2] = {0, 0};
    int applied[2] = {-1, -1};
    for (int round = 0; round < 2; round++) {
        cirrus_loader *l = NULL;
        assert_int_equal(cirrus_loader_new(&l, db, &lo), 0);
        for (int i = 0; i < PUTS; i++)
            put_i(l, i);
        assert_int_equal(cirrus_loader_finish(l, &seqs[round], &applied[round]), 0);
        cirrus_loader_free(l);
    }
    assert_int_equal(applied[0], 1);
    assert_int_equal(applied[1], 0);
    assert_int_equal(seqs[0], 1);
    assert_int_equal(seqs[1], 1);
    uint64_t epoch = 0, seq = 0;
    assert_int_equal(cirrus_app_epoch(db, "sink", &epoch, &seq), 0);
    assert_int_equal(epoch, 3);
    assert_int_equal(seq, 1);
    cirrus_stats st;
    assert_int_equal(cirrus_stats_get(db, &st), 0);
    assert_int_equal(st.head_seq, 1);
    assert_int_equal((uint64_t)count_ssts(f->dir), st.live_files);
    check_workload(db);
    assert_int_equal(cirrus_close(db), 0);
}

static void a_staged_load_commits_with_commit_staged(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(f->dir, &o);
    cirrus_loader *l = loaded(db);
    char *desc = NULL;
    assert_int_equal(cirrus_loader_stage(l, &desc), 0);
    cirrus_loader_free(l); /* the staged files stay */
    uint64_t seq = 0;
    assert_int_equal(cirrus_refresh(db, &seq), 0);
    assert_int_equal(seq, 0);
    const char *descs[] = {desc};
    assert_int_equal(cirrus_commit_staged(db, 1, descs, &seq), 0);
    assert_int_equal(seq, 1);
    cirrus_free(desc);
    check_workload(db);
    assert_int_equal(cirrus_close(db), 0);
}

/* The fault URL of the object store at dir that fails call n of group
 * "bulk" (0: none, only counting). */
static void fault_url(char *out, size_t cap, const char *dir, uint64_t n)
{
    if (n)
        snprintf(out, cap, "fault:%s?group=bulk,fail_at=%" PRIu64, dir, n);
    else
        snprintf(out, cap, "fault:%s?group=bulk", dir);
}

/* The load through a store that fails call n: 0 or the first error. */
static int faulty_load(const char *dir, uint64_t n, uint64_t *calls_out)
{
    char url[4400], meta[4400];
    fault_url(url, sizeof(url), dir, n);
    snprintf(meta, sizeof(meta), "sqlite:%s/meta.sqlite3", dir);
    cirrus_options o = fixture_manual_options();
    o.meta_url = meta;
    cirrus_db *db = fixture_open(dir, &o); /* unfaulted: creates it */
    assert_int_equal(cirrus_close(db), 0);
    db = NULL;
    fault_group_reset("bulk");
    int rc = cirrus_open(&db, url, &o);
    if (rc < 0)
        return rc;
    cirrus_loader_options lo = CIRRUS_LOADER_OPTIONS_INIT;
    lo.memory_bytes = SMALL_MEMORY;
    cirrus_loader *l = NULL;
    if ((rc = cirrus_loader_new(&l, db, &lo)) == 0) {
        for (int i = 0; i < PUTS / 4 && rc == 0; i++) {
            char k[32];
            int kl = snprintf(k, sizeof(k), "key%05d", (i * 7919) % KEYS);
            rc = cirrus_loader_put(l, k, (size_t)kl, "some value of some bytes", 24);
        }
        if (rc == 0)
            rc = cirrus_loader_finish(l, NULL, NULL);
    }
    cirrus_loader_free(l);
    struct fault_group_info gi;
    fault_group_get("bulk", &gi);
    if (calls_out)
        *calls_out = gi.calls;
    cirrus_close(db);
    return rc;
}

static void every_object_store_call_failed_in_turn_commits_all_or_nothing(void **state)
{
    struct fixture *f = *state;
    char dir[4200];
    uint64_t calls = 0;
    snprintf(dir, sizeof(dir), "%s/count", f->dir);
    assert_int_equal(faulty_load(dir, 0, &calls), 0);
    assert_true(calls > 10);
    print_message("load: %" PRIu64 " object store calls\n", calls);
    int failed = 0;
    for (uint64_t n = 1; n <= calls + 2; n++) {
        snprintf(dir, sizeof(dir), "%s/run-%" PRIu64, f->dir, n);
        int rc = faulty_load(dir, n, NULL);
        failed += rc < 0;
        cirrus_options o = fixture_manual_options();
        cirrus_db *db = fixture_open(dir, &o);
        uint64_t seq = 0;
        assert_int_equal(cirrus_refresh(db, &seq), 0);
        void *v = NULL;
        size_t vl;
        int got = cirrus_get(db, NULL, "key00000", 8, &v, &vl);
        cirrus_free(v);
        if (rc == 0) {
            assert_int_equal(got, 0);
        } else {
            assert_int_equal(got, CIRRUS_ENOTFOUND);
            assert_int_equal(seq, 0);
        }
        cirrus_stats st;
        assert_int_equal(cirrus_stats_get(db, &st), 0);
        /* what a failed delete left is GC's; nothing is live but a commit */
        assert_true((uint64_t)count_ssts(dir) >= st.live_files);
        assert_int_equal(cirrus_gc(db, 0, NULL, NULL), 0);
        assert_int_equal((uint64_t)count_ssts(dir), st.live_files);
        assert_int_equal(cirrus_close(db), 0);
    }
    assert_true(failed > 0);
}

/* ---- ingest ---------------------------------------------------------------- */

/* Writes keys [from, to) as sst file `name` in dir; returns its path
 * (malloc'd). */
static char *write_sst(const char *dir, const char *name, int from, int to)
{
    char path[4300];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    cirrus_sst_writer *w = NULL;
    assert_int_equal(cirrus_sst_writer_open(&w, path, NULL), 0);
    for (int i = from; i < to; i++) {
        char k[32], v[32];
        snprintf(k, sizeof(k), "ing%05d", i);
        snprintf(v, sizeof(v), "v%d", i);
        assert_int_equal(cirrus_sst_writer_put(w, k, strlen(k), v, strlen(v)), 0);
    }
    assert_int_equal(cirrus_sst_writer_finish(w), 0);
    cirrus_sst_writer_close(w);
    char *p = strdup(path);
    assert_non_null(p);
    return p;
}

static void the_sst_writer_refuses_what_ingest_could_not_read(void **state)
{
    struct fixture *f = *state;
    char path[4300];
    snprintf(path, sizeof(path), "%s/w.sst", f->dir);
    cirrus_sst_writer *w = NULL;
    assert_int_equal(cirrus_sst_writer_open(&w, NULL, NULL), CIRRUS_EINVALID);
    assert_int_equal(cirrus_sst_writer_open(&w, path, NULL), 0);
    assert_int_equal(cirrus_sst_writer_finish(w), CIRRUS_EINVALID); /* no put */
    assert_int_equal(cirrus_sst_writer_put(w, "b", 1, "1", 1), 0);
    assert_int_equal(cirrus_sst_writer_put(w, "b", 1, "2", 1), CIRRUS_EINVALID);
    assert_int_equal(cirrus_sst_writer_put(w, "a", 1, "2", 1), CIRRUS_EINVALID);
    assert_int_equal(cirrus_sst_writer_finish(w), 0);
    assert_int_equal(cirrus_sst_writer_finish(w), CIRRUS_EINVALID);
    cirrus_sst_writer_close(w);
    /* an existing file is not overwritten */
    assert_int_equal(cirrus_sst_writer_open(&w, path, NULL), 0);
    assert_int_equal(cirrus_sst_writer_put(w, "c", 1, "1", 1), 0);
    assert_int_equal(cirrus_sst_writer_finish(w), CIRRUS_EEXISTS);
    cirrus_sst_writer_close(w);
    /* never finished: nothing written */
    snprintf(path, sizeof(path), "%s/never.sst", f->dir);
    assert_int_equal(cirrus_sst_writer_open(&w, path, NULL), 0);
    assert_int_equal(cirrus_sst_writer_put(w, "c", 1, "1", 1), 0);
    cirrus_sst_writer_close(w);
    cirrus_sst_writer_close(NULL);
    FILE *fp = fopen(path, "rb");
    assert_null(fp);
}

static void ingested_files_are_one_entry_and_read_back(void **state)
{
    struct fixture *f = *state;
    char db_dir[4200];
    snprintf(db_dir, sizeof(db_dir), "%s/db", f->dir);
    char *a = write_sst(f->dir, "a.sst", 0, 500), *b = write_sst(f->dir, "b.sst", 500, 1200);
    char *c = write_sst(f->dir, "c.sst", 1100, 1300); /* overlaps b */
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(db_dir, &o);
    fixture_put_str(db, "ing00001", "older");
    assert_int_equal(fixture_commit(db), 1);
    const char *overlap[] = {a, b, c};
    assert_int_equal(cirrus_ingest(db, 3, overlap, NULL), CIRRUS_EINVALID);
    assert_non_null(strstr(cirrus_errmsg(), "overlap"));
    assert_int_equal(count_ssts(db_dir), 1); /* nothing uploaded is left */
    assert_int_equal(cirrus_ingest(db, 0, overlap, NULL), CIRRUS_EINVALID);
    const char *two[] = {b, a};
    uint64_t seq = 0;
    assert_int_equal(cirrus_ingest(db, 2, two, &seq), 0);
    assert_int_equal(seq, 2);
    cirrus_iter *it = NULL;
    assert_int_equal(cirrus_iter_new(&it, db, NULL), 0);
    int n = 0;
    for (cirrus_iter_first(it); cirrus_iter_valid(it); cirrus_iter_next(it), n++) {
        char k[32], v[32];
        size_t kl, vl;
        const void *kp = cirrus_iter_key(it, &kl), *vp = cirrus_iter_value(it, &vl);
        snprintf(k, sizeof(k), "ing%05d", n);
        snprintf(v, sizeof(v), "v%d", n);
        assert_int_equal(kl, strlen(k));
        assert_memory_equal(kp, k, kl);
        assert_int_equal(vl, strlen(v)); /* the ingested value shadows "older" */
        assert_memory_equal(vp, v, vl);
    }
    assert_int_equal(n, 1200);
    cirrus_iter_close(it);
    void *v = NULL;
    size_t vl;
    assert_int_equal(fixture_get_at(db, 1, "ing00001", 8, &v, &vl), 0);
    assert_memory_equal(v, "older", 5);
    cirrus_free(v);
    assert_int_equal(cirrus_close(db), 0);
    free(a);
    free(b);
    free(c);
}

static void a_corrupt_file_is_refused_by_name(void **state)
{
    struct fixture *f = *state;
    char db_dir[4200];
    snprintf(db_dir, sizeof(db_dir), "%s/db", f->dir);
    char *a = write_sst(f->dir, "good.sst", 0, 300), *b = write_sst(f->dir, "bad.sst", 300, 600);
    FILE *fp = fopen(b, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 100, SEEK_SET), 0);
    int ch = fgetc(fp);
    assert_int_equal(fseek(fp, 100, SEEK_SET), 0);
    fputc(ch ^ 0x5a, fp);
    fclose(fp);
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(db_dir, &o);
    const char *both[] = {a, b};
    assert_int_equal(cirrus_ingest(db, 2, both, NULL), CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), "bad.sst"));
    assert_int_equal(count_ssts(db_dir), 0);
    const char *missing[] = {"/nonexistent/x.sst"};
    assert_int_equal(cirrus_ingest(db, 1, missing, NULL), CIRRUS_EIO);
    assert_non_null(strstr(cirrus_errmsg(), "/nonexistent/x.sst"));
    uint64_t seq = 9;
    assert_int_equal(cirrus_refresh(db, &seq), 0);
    assert_int_equal(seq, 0);
    assert_int_equal(cirrus_close(db), 0);
    free(a);
    free(b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(random_order_is_one_entry_with_the_last_puts, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(sorted_input_is_written_once, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(an_empty_load_commits_nothing, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(bad_options_are_refused, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(an_abandoned_loader_leaves_no_object, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(an_epoch_loads_exactly_once, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(a_staged_load_commits_with_commit_staged, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(
            every_object_store_call_failed_in_turn_commits_all_or_nothing, fixture_setup,
            fixture_teardown),
        cmocka_unit_test_setup_teardown(the_sst_writer_refuses_what_ingest_could_not_read,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(ingested_files_are_one_entry_and_read_back, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(a_corrupt_file_is_refused_by_name, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
