/* cirrus-test-libs: db testsupport */
/*
 * test_identity.c - the database identity (src/db/identity.c): a new db
 * writes one record as the object `identity` and the item (D, "identity");
 * every open holds the two stores to it. Each case below is a way a user
 * pairs the wrong stores, or a store written by an older build, and what
 * the open must do: refuse (CIRRUS_EMISMATCH) writing nothing, or adopt
 * or complete the identity.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cirrus.h"
#include "db/identity.h"
#include "metastore/metastore.h"
#include "objstore/objstore.h"
#include "support/fixture.h"

struct stores {
    struct objstore *os;
    struct metastore *ms;
};

static void stores_open(struct stores *s, const char *dir, const char *meta)
{
    char url[4200];
    assert_int_equal(objstore_open(&s->os, dir, 0), 0);
    snprintf(url, sizeof(url), "%s", meta);
    assert_int_equal(metastore_open(&s->ms, url, 0), 0);
}

static void stores_close(struct stores *s)
{
    objstore_close(s->os);
    metastore_close(s->ms);
}

/* The identity item's bytes (NULL when absent). */
static uint8_t *item_of(struct stores *s, size_t *len)
{
    uint8_t *v = NULL;
    uint64_t version;
    if (metastore_get(s->ms, "local", IDENTITY_SK, &v, len, &version) != 0)
        return NULL;
    return v;
}

static uint8_t *object_of(struct stores *s, size_t *len)
{
    uint8_t *v = NULL;
    if (objstore_get_all(s->os, IDENTITY_OBJECT, &v, len) != 0)
        return NULL;
    return v;
}

static void meta_url(char *out, size_t n, const char *dir)
{
    snprintf(out, n, "sqlite:%s/meta.sqlite3", dir);
}

static cirrus_db *new_db(const char *dir)
{
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(dir, &o);
    fixture_put_str(db, "k", "v");
    fixture_commit(db);
    return db;
}

static void test_new_db_writes_both_copies(void **state)
{
    struct fixture *f = *state;
    struct stores s;
    char meta[4200];
    size_t il = 0, ol = 0;
    assert_int_equal(cirrus_close(new_db(f->dir)), 0);
    meta_url(meta, sizeof(meta), f->dir);
    stores_open(&s, f->dir, meta);
    uint8_t *item = item_of(&s, &il), *obj = object_of(&s, &ol);
    assert_non_null(item);
    assert_non_null(obj);
    assert_int_equal(il, ol);
    assert_memory_equal(item, obj, il);
    free(item);
    free(obj);
    stores_close(&s);
}

/* The objects opened with an empty metadata store of another name: refused,
 * and that store gets nothing. */
static void test_objects_with_another_metadata_store_are_refused(void **state)
{
    struct fixture *f = *state;
    char other[4200];
    cirrus_db *db = NULL;
    assert_int_equal(cirrus_close(new_db(f->dir)), 0);
    snprintf(other, sizeof(other), "sqlite:%s/../%s-other.sqlite3", f->dir, "id");
    cirrus_options o = fixture_manual_options();
    o.meta_url = other;
    assert_int_equal(cirrus_open(&db, f->dir, &o), CIRRUS_EMISMATCH);
    assert_null(db);
    assert_non_null(strstr(cirrus_errmsg(), "not one database"));
    assert_non_null(strstr(cirrus_errmsg(), "other.sqlite3"));
    struct stores s;
    size_t il;
    stores_open(&s, f->dir, other);
    uint8_t *item = item_of(&s, &il);
    assert_null(item);
    stores_close(&s);
    snprintf(other, sizeof(other), "%s/../id-other.sqlite3", f->dir);
    remove(other);
}

/* A metadata store with a history whose objects lack the identity: the
 * wrong location (or the object deleted), refused. */
static void test_history_without_the_object_is_refused(void **state)
{
    struct fixture *f = *state;
    struct stores s;
    char meta[4200];
    cirrus_db *db = NULL;
    assert_int_equal(cirrus_close(new_db(f->dir)), 0);
    meta_url(meta, sizeof(meta), f->dir);
    stores_open(&s, f->dir, meta);
    assert_int_equal(objstore_del(s.os, IDENTITY_OBJECT), 0);
    stores_close(&s);
    cirrus_options o = fixture_manual_options();
    assert_int_equal(cirrus_open(&db, f->dir, &o), CIRRUS_EMISMATCH);
    assert_non_null(strstr(cirrus_errmsg(), "identity object is missing"));
}

/* Two different identities: refused, naming both ids. */
static void test_two_identities_are_refused(void **state)
{
    struct fixture *f = *state;
    struct stores s;
    char meta[4200];
    size_t il;
    cirrus_db *db = NULL;
    assert_int_equal(cirrus_close(new_db(f->dir)), 0);
    meta_url(meta, sizeof(meta), f->dir);
    stores_open(&s, f->dir, meta);
    uint8_t *item = item_of(&s, &il);
    assert_non_null(item);
    item[5] ^= 1; /* another id: rewrite the object with it */
    assert_int_equal(objstore_del(s.os, IDENTITY_OBJECT), 0);
    assert_int_equal(objstore_put(s.os, IDENTITY_OBJECT, item, il), 0);
    free(item);
    stores_close(&s);
    cirrus_options o = fixture_manual_options();
    assert_int_equal(cirrus_open(&db, f->dir, &o), CIRRUS_EMISMATCH);
    assert_non_null(strstr(cirrus_errmsg(), "the location holds database"));
}

/* A db written before identities (neither copy): a read-only open reads it
 * and writes nothing; the first writable open adopts it. */
static void test_db_from_before_identities_is_adopted(void **state)
{
    struct fixture *f = *state;
    struct stores s;
    char meta[4200];
    size_t il = 0, ol = 0;
    uint64_t version;
    uint8_t *v;
    assert_int_equal(cirrus_close(new_db(f->dir)), 0);
    meta_url(meta, sizeof(meta), f->dir);
    stores_open(&s, f->dir, meta);
    assert_int_equal(objstore_del(s.os, IDENTITY_OBJECT), 0);
    assert_int_equal(metastore_get(s.ms, "local", IDENTITY_SK, &v, &il, &version), 0);
    free(v);
    assert_int_equal(metastore_delete_if_version(s.ms, "local", IDENTITY_SK, version), 0);

    cirrus_options o = fixture_manual_options();
    o.read_only = 1;
    cirrus_db *db = fixture_open(f->dir, &o);
    void *val = NULL;
    size_t vl;
    assert_int_equal(cirrus_get(db, NULL, "k", 1, &val, &vl), 0);
    cirrus_free(val);
    assert_int_equal(cirrus_close(db), 0);
    assert_null(object_of(&s, &ol));

    o.read_only = 0;
    db = fixture_open(f->dir, &o);
    assert_int_equal(cirrus_close(db), 0);
    uint8_t *item = item_of(&s, &il), *obj = object_of(&s, &ol);
    assert_non_null(item);
    assert_non_null(obj);
    assert_int_equal(il, ol);
    assert_memory_equal(item, obj, il);
    free(item);
    free(obj);
    stores_close(&s);
}

/* A creation that stopped after the item: the next open completes it. */
static void test_half_created_identity_is_completed(void **state)
{
    struct fixture *f = *state;
    struct stores s;
    char meta[4200];
    size_t ol = 0;
    cirrus_options o = fixture_manual_options();
    assert_int_equal(cirrus_close(fixture_open(f->dir, &o)), 0); /* no commit */
    meta_url(meta, sizeof(meta), f->dir);
    stores_open(&s, f->dir, meta);
    assert_int_equal(objstore_del(s.os, IDENTITY_OBJECT), 0);
    cirrus_db *db = fixture_open(f->dir, &o);
    assert_int_equal(cirrus_close(db), 0);
    uint8_t *obj = object_of(&s, &ol);
    assert_non_null(obj);
    free(obj);
    stores_close(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_new_db_writes_both_copies, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_objects_with_another_metadata_store_are_refused,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_history_without_the_object_is_refused, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_two_identities_are_refused, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_db_from_before_identities_is_adopted, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_half_created_identity_is_completed, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
