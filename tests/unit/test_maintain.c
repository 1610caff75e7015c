/* cirrus-test-libs: db testsupport */
/*
 * test_maintain.c - cirrus_maintain, the maintenance daemon's round, through
 * the public API on the embedded default: of two handles (two daemons) one
 * takes the compactor lease and compacts, the other stands by and names
 * the holder; the lease stays held between rounds and cirrus_close releases
 * it so the other takes over at once; cancel ends a round before it
 * compacts; the data reads the same after all of it.
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

#define COMMITS 10 /* one L0 file each, over the trigger of 4 */
#define KEYS 20

static void commit_l0_files(cirrus_db *db, int round)
{
    for (int c = 0; c < COMMITS; c++) {
        cirrus_batch *b = fixture_batch_range(c * 2, c * 2 + KEYS / COMMITS, round ? "b" : "a");
        assert_int_equal(cirrus_write(db, b, CIRRUS_WRITE_NOW, NULL), 0);
        cirrus_batch_free(b);
    }
}

static uint64_t l0_files(cirrus_db *db)
{
    cirrus_stats st;
    assert_int_equal(cirrus_refresh(db, NULL), 0);
    assert_int_equal(cirrus_stats_get(db, &st), 0);
    return st.level_files[0];
}

static void every_key_reads(cirrus_db *db, const char *tag)
{
    char key[32], want[32];
    for (int i = 0; i < KEYS; i++) {
        void *v = NULL;
        size_t n = 0;
        snprintf(key, sizeof(key), "key%04d", i);
        snprintf(want, sizeof(want), "%s-%d", tag, i);
        assert_int_equal(cirrus_get(db, NULL, key, strlen(key), &v, &n), 0);
        assert_int_equal(n, strlen(want));
        assert_memory_equal(v, want, n);
        cirrus_free(v);
    }
}

static int always(void *arg)
{
    (*(int *)arg)++;
    return 1;
}

static void one_daemon_compacts_and_the_other_stands_by(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    cirrus_maintain_options ma = CIRRUS_MAINTAIN_OPTIONS_INIT, mb = CIRRUS_MAINTAIN_OPTIONS_INIT;
    cirrus_maintain_report r;
    cirrus_db *writer = fixture_open(f->dir, &o);
    cirrus_db *a = fixture_open(f->dir, &o), *b = fixture_open(f->dir, &o);
    int asked = 0;
    ma.owner = "daemon-a";
    mb.owner = "daemon-b";
    ma.gc_grace_ms = mb.gc_grace_ms = 3600000;

    /* a cancelled round takes the lease but compacts nothing */
    commit_l0_files(writer, 0);
    ma.cancel = always;
    ma.cancel_arg = &asked;
    assert_int_equal(cirrus_maintain(a, &ma, &r), 0);
    assert_int_equal(r.held, 1);
    assert_true(r.cancelled && asked == 1);
    assert_int_equal(r.compactions, 0);
    assert_int_equal(r.gc_ran, 0);
    assert_int_equal(r.l0_files, COMMITS); /* it followed the writer's commits */
    ma.cancel = NULL;

    /* b stands by, naming a, and does nothing */
    assert_int_equal(cirrus_maintain(b, &mb, &r), 0);
    assert_int_equal(r.held, 0);
    assert_string_equal(r.holder.owner, "daemon-a");
    assert_int_equal(r.compactions, 0);
    assert_int_equal(l0_files(writer), COMMITS);

    /* a's next round compacts L0 and runs GC; a keeps the lease after it */
    assert_int_equal(cirrus_maintain(a, &ma, &r), 0);
    assert_int_equal(r.held, 1);
    uint64_t token = r.token;
    assert_true(r.compactions >= 1);
    assert_true(r.bytes_written > 0);
    assert_int_equal(r.gc_ran, 1);
    assert_true(r.l0_files < 4);
    assert_true(r.head_seq > COMMITS);
    cirrus_lease_info info;
    assert_int_equal(cirrus_lease_show(writer, "compactor", &info), 0);
    assert_string_equal(info.owner, "daemon-a");
    assert_int_equal(cirrus_maintain(b, &mb, &r), 0);
    assert_int_equal(r.held, 0);

    /* the writer makes more L0 files; closing a releases the lease and b
     * takes it (a new token) and compacts them */
    commit_l0_files(writer, 1);
    assert_int_equal(cirrus_close(a), 0);
    assert_int_equal(cirrus_lease_show(writer, "compactor", &info), 0);
    assert_string_equal(info.owner, "");
    assert_int_equal(cirrus_maintain(b, &mb, &r), 0);
    assert_int_equal(r.held, 1);
    assert_true(r.token > token);
    assert_true(r.compactions >= 1);
    assert_true(l0_files(writer) < 4);
    every_key_reads(writer, "b");

    /* a handle running the background compactor is refused */
    cirrus_options bg = fixture_manual_options();
    bg.background_compaction = 1;
    cirrus_db *c = fixture_open(f->dir, &bg);
    assert_int_equal(cirrus_maintain(c, NULL, &r), CIRRUS_EINVALID);
    assert_non_null(strstr(cirrus_errmsg(), "background_compaction"));
    assert_int_equal(cirrus_close(c), 0);
    assert_int_equal(cirrus_close(b), 0);
    assert_int_equal(cirrus_close(writer), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(one_daemon_compacts_and_the_other_stands_by, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
