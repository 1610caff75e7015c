/* cirrus-test-libs: metastore testsupport */
/*
 * test_sqlite_store.c - what the sqlite metadata store promises beyond the
 * shared contract (the conformance suite covers that): it refuses files it
 * does not understand with a message naming them, keeps its documented
 * settings, and serves several handles in one process.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <cmocka.h>

#include "conformance/conformance.h"
#include "metastore/metastore.h"
#include "util/status.h"

struct fixture {
    char dir[256];
    char path[300]; /* DIR/meta.sqlite3 */
    char url[320];  /* sqlite:PATH */
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f || conf_mkdtemp(f->dir, sizeof(f->dir), "sqlite") < 0) {
        free(f);
        return -1;
    }
    snprintf(f->path, sizeof(f->path), "%s/meta.sqlite3", f->dir);
    snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    conf_rm_rf(f->dir);
    free(f);
    return 0;
}

/* Runs SQL on the file directly, as another program would. */
static void raw_exec(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_close(db), SQLITE_OK);
}

static long long raw_int(const char *path, const char *sql)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    long long v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    sqlite3_close(db);
    return v;
}

static void a_new_file_gets_the_documented_settings(void **state)
{
    struct fixture *f = *state;
    struct metastore *ms = NULL;
    assert_int_equal(metastore_open(&ms, f->url, 1), 0);
    assert_string_equal(ms->ops->kind, "sqlite");
    assert_string_equal(ms->url, f->url);
    assert_int_equal(ms->max_value_len, 350000);
    metastore_close(ms);
    assert_int_equal(raw_int(f->path, "PRAGMA user_version"), 1);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void both_url_forms_open_the_same_file(void **state)
{
    struct fixture *f = *state;
    struct metastore *a = NULL, *b = NULL;
    char url2[400];
    snprintf(url2, sizeof(url2), "sqlite://%s", f->path);
    assert_int_equal(metastore_open(&a, f->url, 1), 0);
    assert_int_equal(metastore_open(&b, url2, 0), 0);
    assert_int_equal(metastore_put_if_absent(a, "p", "s", "v", 1), 0);
    uint8_t *v = NULL;
    size_t len;
    uint64_t ver;
    assert_int_equal(metastore_get(b, "p", "s", &v, &len, &ver), 0);
    free(v);
    metastore_close(b);
    metastore_close(a);

    assert_int_equal(metastore_open(&a, "etcd://table", 1), CIRRUS_EINVALID);
    assert_non_null(strstr(cirrus_errmsg(), "etcd://table"));
    assert_int_equal(metastore_open(&a, "/plain/path", 1), CIRRUS_EINVALID);
    assert_int_equal(metastore_open(&a, "sqlite:", 1), CIRRUS_EINVALID);
    metastore_close(NULL);
}

static void missing_file_without_create_is_notfound(void **state)
{
    struct fixture *f = *state;
    struct metastore *ms = NULL;
    assert_int_equal(metastore_open(&ms, f->url, 0), CIRRUS_ENOTFOUND);
    assert_non_null(strstr(cirrus_errmsg(), f->path));
}

static void unknown_schema_version_is_refused(void **state)
{
    struct fixture *f = *state;
    struct metastore *ms = NULL;
    assert_int_equal(metastore_open(&ms, f->url, 1), 0);
    metastore_close(ms);
    raw_exec(f->path, "PRAGMA user_version = 7");
    assert_int_equal(metastore_open(&ms, f->url, 0), CIRRUS_EVERSION);
    assert_non_null(strstr(cirrus_errmsg(), f->path));
    assert_non_null(strstr(cirrus_errmsg(), "7"));
}

static void a_file_that_is_not_a_database_is_refused(void **state)
{
    struct fixture *f = *state;
    struct metastore *ms = NULL;
    FILE *fp = fopen(f->path, "w");
    assert_non_null(fp);
    for (int i = 0; i < 200; i++)
        fputs("this is a text file, not a database\n", fp);
    fclose(fp);
    int rc = metastore_open(&ms, f->url, 1);
    assert_int_equal(rc, CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), f->path));
    assert_non_null(strstr(cirrus_errmsg(), "not a database"));
}

/* Another program's database (tables, no schema version) is left alone. */
static void a_foreign_database_is_refused(void **state)
{
    struct fixture *f = *state;
    struct metastore *ms = NULL;
    raw_exec(f->path, "CREATE TABLE t(x)");
    assert_int_equal(metastore_open(&ms, f->url, 1), CIRRUS_EINVALID);
    assert_non_null(strstr(cirrus_errmsg(), f->path));
    assert_int_equal(raw_int(f->path, "SELECT count(*) FROM sqlite_master"), 1);
}

static void empty_keys_are_refused(void **state)
{
    struct fixture *f = *state;
    struct metastore *ms = NULL;
    struct meta_item *items = NULL;
    size_t n = 0;
    assert_int_equal(metastore_open(&ms, f->url, 1), 0);
    assert_int_equal(metastore_put_if_absent(ms, "", "s", "v", 1), CIRRUS_EINVALID);
    assert_int_equal(metastore_put_if_absent(ms, "p", "", "v", 1), CIRRUS_EINVALID);
    assert_int_equal(metastore_put_if_version(ms, "p", "", "v", 1, 1), CIRRUS_EINVALID);
    assert_int_equal(metastore_delete_if_version(ms, "", "s", 1), CIRRUS_EINVALID);
    assert_int_equal(metastore_query(ms, "", "", NULL, 0, 0, &items, &n), CIRRUS_EINVALID);
    metastore_close(ms);
}

/* Two handles of one process on one file: each sees the other's writes at
 * once and their compare-and-swaps exclude each other. */
static void two_handles_in_one_process(void **state)
{
    struct fixture *f = *state;
    struct metastore *a = NULL, *b = NULL;
    assert_int_equal(metastore_open(&a, f->url, 1), 0);
    assert_int_equal(metastore_open(&b, f->url, 1), 0);
    assert_int_equal(metastore_put_if_absent(a, "p", "k", "a1", 2), 0);
    assert_int_equal(metastore_put_if_absent(b, "p", "k", "b1", 2), CIRRUS_ECONFLICT);
    assert_int_equal(metastore_put_if_version(b, "p", "k", "b2", 2, 1), 0);
    assert_int_equal(metastore_put_if_version(a, "p", "k", "a2", 2, 1), CIRRUS_ECONFLICT);
    uint8_t *v = NULL;
    size_t len = 0;
    uint64_t ver = 0;
    assert_int_equal(metastore_get(a, "p", "k", &v, &len, &ver), 0);
    assert_int_equal(ver, 2);
    assert_memory_equal(v, "b2", 2);
    free(v);
    metastore_close(a);
    /* closing one leaves the other working */
    assert_int_equal(metastore_delete_if_version(b, "p", "k", 2), 0);
    metastore_close(b);
}

/* Data written and closed is there after reopening. */
static void data_survives_reopen(void **state)
{
    struct fixture *f = *state;
    struct metastore *ms = NULL;
    assert_int_equal(metastore_open(&ms, f->url, 1), 0);
    assert_int_equal(metastore_put_if_absent(ms, "p", "k", "v", 1), 0);
    assert_int_equal(metastore_put_if_version(ms, "p", "k", "w", 1, 1), 0);
    metastore_close(ms);
    assert_int_equal(metastore_open(&ms, f->url, 0), 0);
    uint8_t *v = NULL;
    size_t len = 0;
    uint64_t ver = 0;
    assert_int_equal(metastore_get(ms, "p", "k", &v, &len, &ver), 0);
    assert_int_equal(ver, 2);
    assert_memory_equal(v, "w", 1);
    free(v);
    metastore_close(ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_new_file_gets_the_documented_settings, setup, teardown),
        cmocka_unit_test_setup_teardown(both_url_forms_open_the_same_file, setup, teardown),
        cmocka_unit_test_setup_teardown(missing_file_without_create_is_notfound, setup, teardown),
        cmocka_unit_test_setup_teardown(unknown_schema_version_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_file_that_is_not_a_database_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(a_foreign_database_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(empty_keys_are_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(two_handles_in_one_process, setup, teardown),
        cmocka_unit_test_setup_teardown(data_survives_reopen, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
