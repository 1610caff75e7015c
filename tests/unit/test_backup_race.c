/* cirrus-test-libs: db testsupport */
/*
 * test_backup_race.c - what a checkpoint, a clone or a backup promised to
 * keep survives compaction and `gc --grace 0` running at the same time.
 *
 * A writer thread commits rounds that each set all KEYS keys to the
 * round's number (one batch), and compacts and collects with a grace of 0
 * after every few. Meanwhile the test creates a checkpoint at the head and
 * reads it whole, and every few rounds clones the db and backs it up and
 * restores the backup: every read must succeed (no missing object) and see
 * one round whole (all keys equal). CIRRUS_TEST_RACE_ROUNDS rounds
 * (default 60; hundreds by hand).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cirrus.h"
#include "support/fixture.h"

#define KEYS 50

struct writer {
    const char *dir;
    atomic_int stop;
    atomic_int rounds;
    int rc;
    char msg[512];
};

static void *write_and_collect(void *arg)
{
    struct writer *w = arg;
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = NULL;
    int rc = cirrus_open(&db, w->dir, &o);
    for (int r = 1; rc == 0 && !atomic_load(&w->stop); r++) {
        cirrus_batch *b = NULL;
        char k[16], v[16];
        if ((rc = cirrus_batch_new(&b)) < 0)
            break;
        snprintf(v, sizeof(v), "%d", r);
        for (int i = 0; i < KEYS && rc == 0; i++) {
            snprintf(k, sizeof(k), "k%03d", i);
            rc = cirrus_batch_put(b, k, strlen(k), v, strlen(v));
        }
        if (rc == 0)
            rc = cirrus_write(db, b, CIRRUS_WRITE_NOW, NULL);
        cirrus_batch_free(b);
        if (rc == 0 && r % 3 == 0)
            rc = cirrus_compact(db);
        if (rc == 0 && r % 3 == 0)
            rc = cirrus_gc(db, 0, NULL, NULL);
        atomic_store(&w->rounds, r);
    }
    if (rc < 0)
        snprintf(w->msg, sizeof(w->msg), "%s", cirrus_errmsg());
    w->rc = rc;
    cirrus_close(db);
    return NULL;
}

/* Reads everything through ro: all KEYS keys, one value. */
static void check_whole(cirrus_db *db, const cirrus_read_options *ro, const char *what)
{
    cirrus_iter *it = NULL;
    char first[16] = "";
    int n = 0;
    if (cirrus_iter_new(&it, db, ro) < 0)
        fail_msg("%s: %s", what, cirrus_errmsg());
    for (cirrus_iter_first(it); cirrus_iter_valid(it); cirrus_iter_next(it)) {
        size_t vl;
        const char *v = cirrus_iter_value(it, &vl);
        if (n == 0)
            snprintf(first, sizeof(first), "%.*s", (int)vl, v);
        else if (strlen(first) != vl || memcmp(first, v, vl) != 0)
            fail_msg("%s: key %d has round %.*s, key 0 round %s", what, n, (int)vl, v, first);
        n++;
    }
    if (cirrus_iter_status(it) != 0)
        fail_msg("%s: %s", what, cirrus_errmsg());
    cirrus_iter_close(it);
    if (n != 0 && n != KEYS)
        fail_msg("%s: %d keys", what, n);
}

static void test_promises_survive_compaction_and_gc(void **state)
{
    struct fixture *f = *state;
    struct writer w = {f->dir, 0, 0, 0, ""};
    const char *env = getenv("CIRRUS_TEST_RACE_ROUNDS");
    int rounds = env ? atoi(env) : 60;
    char path[4096], dst[4096], bk[4096];
    pthread_t t;
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(f->dir, &o);
    assert_int_equal(pthread_create(&t, NULL, write_and_collect, &w), 0);
    while (atomic_load(&w.rounds) < 2)
        ;
    snprintf(bk, sizeof(bk), "%s/backups", f->dir);
    for (int i = 0; i < rounds && w.rc == 0; i++) {
        cirrus_snapshot *s = NULL;
        cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
        uint64_t seq;
        if (cirrus_checkpoint_create(db, "cp", CIRRUS_SEQ_LATEST, 0, &seq) < 0)
            fail_msg("round %d: checkpoint: %s", i, cirrus_errmsg());
        if (cirrus_snapshot_checkpoint(db, "cp", &s) < 0)
            fail_msg("round %d: %s", i, cirrus_errmsg());
        ro.snapshot = s;
        snprintf(path, sizeof(path), "round %d checkpoint at %llu", i, (unsigned long long)seq);
        check_whole(db, &ro, path);
        cirrus_snapshot_free(s);
        if (i % 10 == 5) {
            /* a clone of the checkpoint, read after more compaction */
            cirrus_db *c = NULL;
            cirrus_clone_point at = {"cp", 0, 0};
            snprintf(dst, sizeof(dst), "%s/clone%d", f->dir, i);
            if (cirrus_clone(dst, &o, f->dir, NULL, &at, &c) < 0)
                fail_msg("round %d: clone: %s", i, cirrus_errmsg());
            check_whole(c, NULL, "clone");
            assert_int_equal(cirrus_close(c), 0);
            if (cirrus_drop(dst, &o, 0) < 0)
                fail_msg("round %d: drop: %s", i, cirrus_errmsg());
        }
        if (cirrus_checkpoint_delete(db, "cp") < 0)
            fail_msg("round %d: %s", i, cirrus_errmsg());
        if (i % 10 == 9) {
            cirrus_db *r = NULL;
            char *id = NULL;
            if (cirrus_backup_create(db, bk, NULL, &id, NULL) < 0)
                fail_msg("round %d: backup: %s", i, cirrus_errmsg());
            snprintf(dst, sizeof(dst), "%s/restored%d", f->dir, i);
            if (cirrus_restore(dst, &o, bk, id, NULL, &r, NULL) < 0)
                fail_msg("round %d: restore: %s", i, cirrus_errmsg());
            check_whole(r, NULL, "restored");
            assert_int_equal(cirrus_close(r), 0);
            cirrus_free(id);
        }
    }
    atomic_store(&w.stop, 1);
    pthread_join(t, NULL);
    if (w.rc != 0)
        fail_msg("writer: %s", w.msg);
    assert_int_equal(cirrus_close(db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_promises_survive_compaction_and_gc, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
