/* cirrus-test-libs: db testsupport */
/*
 * test_filename.c - object names (src/db/filename.c): every name built
 * parses back to what built it and rebuilds to the same bytes; near misses
 * are not ours; GC leaves names that are not ours alone.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cirrus.h"
#include "db/filename.h"
#include "support/fixture.h"

/* parse(s) is ours and builds back to s. */
static void assert_canonical(const char *s)
{
    struct filename f;
    char again[FILENAME_LEN];
    if (!filename_parse(s, &f))
        fail_msg("%s: not parsed", s);
    switch (f.kind) {
    case FILENAME_SST:
        filename_sst(again, f.time_ms, f.unique);
        break;
    case FILENAME_MANIFEST:
        filename_manifest(again, f.seq);
        break;
    case FILENAME_DELTA:
        filename_delta(again, f.commit_id, f.seq);
        break;
    default:
        fail_msg("%s: kind %d", s, (int)f.kind);
    }
    assert_string_equal(again, s);
}

static void sst_names_round_trip(void **state)
{
    (void)state;
    int64_t times[] = {0, 1, 1700000000123, FILENAME_MAX_TIME_MS};
    uint64_t uniques[] = {0, 0x0123456789abcdefu, UINT64_MAX};
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++)
        for (size_t j = 0; j < sizeof(uniques) / sizeof(uniques[0]); j++) {
            char name[FILENAME_LEN];
            struct filename f;
            filename_sst(name, times[i], uniques[j]);
            assert_int_equal(strlen(name), 37);
            assert_int_equal(filename_parse(name, &f), 1);
            assert_int_equal(f.kind, FILENAME_SST);
            assert_true(f.time_ms == times[i] && f.unique == uniques[j] && f.seq == 0);
            assert_canonical(name);
        }
    char name[FILENAME_LEN];
    filename_sst(name, 0x18c2f0a1b2c, 0x9a);
    assert_string_equal(name, "sst/018c2f0a1b2c-000000000000009a.sst");
    /* times outside what 12 digits hold are clamped, never misprinted */
    struct filename f;
    filename_sst(name, -5, 1);
    assert_true(filename_parse(name, &f) && f.time_ms == 0);
    filename_sst(name, INT64_MAX, 1);
    assert_true(filename_parse(name, &f) && f.time_ms == FILENAME_MAX_TIME_MS);
}

static void manifest_and_delta_names_round_trip(void **state)
{
    (void)state;
    uint64_t seqs[] = {0, 1, 28, 1000000, UINT64_MAX};
    uint8_t id[FILENAME_COMMIT_ID_LEN];
    for (size_t i = 0; i < sizeof(id); i++)
        id[i] = (uint8_t)(i * 37 + 250);
    for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
        char name[FILENAME_LEN];
        struct filename f;
        filename_manifest(name, seqs[i]);
        assert_int_equal(strlen(name), 29);
        assert_true(filename_parse(name, &f) && f.kind == FILENAME_MANIFEST && f.seq == seqs[i]);
        assert_canonical(name);
        filename_delta(name, id, seqs[i]);
        assert_true(filename_parse(name, &f) && f.kind == FILENAME_DELTA && f.seq == seqs[i]);
        assert_memory_equal(f.commit_id, id, sizeof(id));
        assert_canonical(name);
    }
    char name[FILENAME_LEN];
    filename_manifest(name, 28);
    assert_string_equal(name, "manifest/00000000000000000028");
    filename_delta(name, id, 7);
    assert_string_equal(name, "delta/fa1f44698eb3d8fd22476c91b6db0025-7");
}

static void near_misses_are_not_ours(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "sst/",
        "sst/018c2f0a1b2c-000000000000009a",         /* no suffix */
        "sst/018c2f0a1b2c-000000000000009a.sst.tmp", /* trailing bytes */
        "sst/018c2f0a1b2c-000000000000009a.SST",
        "sst/018C2F0A1B2C-000000000000009a.sst",  /* uppercase */
        "sst/18c2f0a1b2c-000000000000009a.sst",   /* 11 time digits */
        "sst/0018c2f0a1b2c-000000000000009a.sst", /* 13 time digits */
        "sst/018c2f0a1b2c-00000000000009a.sst",   /* 15 random digits */
        "sst/018c2f0a1b2c_000000000000009a.sst",
        "sst/+18c2f0a1b2c-000000000000009a.sst", /* strtoull would take these */
        "sst/ 18c2f0a1b2c-000000000000009a.sst",
        "sst/0x8c2f0a1b2c-000000000000009a.sst",
        "SST/018c2f0a1b2c-000000000000009a.sst",
        "/sst/018c2f0a1b2c-000000000000009a.sst",
        "x/sst/018c2f0a1b2c-000000000000009a.sst",
        "sst/000123.sst",
        "sst/a.sst",
        "manifest/",
        "manifest/28",                    /* not padded */
        "manifest/000000000000000000028", /* 21 digits */
        "manifest/0000000000000000002a",  /* not decimal */
        "manifest/00000000000000000028/", /* trailing bytes */
        "manifest/99999999999999999999",  /* above UINT64_MAX */
        "manifests/00000000000000000028",
        "delta/fa1f446a8fb4d9fe234871963cc2e70c-",
        "delta/fa1f446a8fb4d9fe234871963cc2e70c-07", /* leading zero */
        "delta/fa1f446a8fb4d9fe234871963cc2e70c-+7",
        "delta/fa1f446a8fb4d9fe234871963cc2e70c-7x",
        "delta/fa1f446a8fb4d9fe234871963cc2e70c-18446744073709551616",
        "delta/fa1f446a8fb4d9fe234871963cc2e70-7",   /* 31 id digits */
        "delta/fa1f446a8fb4d9fe234871963cc2e70c0-7", /* 33 id digits */
        "delta/FA1F446A8FB4D9FE234871963CC2E70C-7",
        "delta/fuzz-7",
        "delta/fa1f446a8fb4d9fe234871963cc2e70c7",
        "lease/compactor",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct filename f;
        memset(&f, 0xab, sizeof(f));
        if (filename_parse(bad[i], &f))
            fail_msg("%s: parsed as ours", bad[i]);
        /* nothing half-parsed is left behind */
        assert_true(f.kind == 0 && f.time_ms == 0 && f.unique == 0 && f.seq == 0);
    }
    /* the largest values still are */
    assert_canonical("manifest/18446744073709551615");
    assert_canonical("delta/fa1f446a8fb4d9fe234871963cc2e70c-18446744073709551615");
    assert_canonical("delta/fa1f446a8fb4d9fe234871963cc2e70c-0");
    assert_canonical("sst/ffffffffffff-ffffffffffffffff.sst");
}

struct seen {
    int foreign_kept, deleted_foreign;
};

static void note(const cirrus_gc_item *item, void *arg)
{
    struct seen *s = arg;
    int foreign = strstr(item->name, "foreign") || strstr(item->name, "ABC");
    if (foreign && !item->deleted && strcmp(item->why, "not a name cirrus writes") == 0)
        s->foreign_kept++;
    if (foreign && item->deleted)
        s->deleted_foreign++;
}

static void put_file(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("not ours", fp);
    fclose(fp);
}

static void gc_keeps_names_that_are_not_ours(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    o.changefeed_retention_ms = 0;
    cirrus_db *db = fixture_open(f->dir, &o);
    fixture_put_str(db, "k", "v");
    fixture_commit(db);
    char dir[512];
    snprintf(dir, sizeof(dir), "%s/delta", f->dir);
    mkdir(dir, 0755);
    snprintf(dir, sizeof(dir), "%s/manifest", f->dir);
    mkdir(dir, 0755);
    put_file(f->dir, "sst/foreign.sst");
    put_file(f->dir, "sst/018C2F0A1B2C-ABC0000000000000.sst");
    put_file(f->dir, "manifest/foreign");
    put_file(f->dir, "delta/foreign-1");
    struct seen s = {0, 0};
    assert_int_equal(cirrus_gc(db, 0, note, &s), 0);
    assert_int_equal(s.foreign_kept, 4);
    assert_int_equal(s.deleted_foreign, 0);
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/sst/foreign.sst", f->dir);
    assert_int_equal(stat(path, &st), 0);
    cirrus_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sst_names_round_trip),
        cmocka_unit_test(manifest_and_delta_names_round_trip),
        cmocka_unit_test(near_misses_are_not_ours),
        cmocka_unit_test_setup_teardown(gc_keeps_names_that_are_not_ours, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
