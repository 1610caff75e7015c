/* cirrus-test-libs: db testsupport */
/*
 * test_pins.c - a pin read from a listing whose item is deleted or
 * replaced before its manifest is read (checkpoint delete or re-create
 * racing GC, verify or detach) is gone, not damage; an item that still
 * names a missing manifest is damage, and GC stops on it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "cirrus.h"
#include "db/dbimpl.h"
#include "db/pins.h"
#include "objstore/objstore.h"
#include "support/fixture.h"

static void checkpoint(cirrus_db *db, const char *name)
{
    uint64_t seq;
    if (cirrus_checkpoint_create(db, name, CIRRUS_SEQ_LATEST, 0, &seq) < 0)
        fail_msg("checkpoint %s: %s", name, cirrus_errmsg());
}

/* A db of one commit with checkpoints names[0..n), listed in *pins. */
static cirrus_db *with_checkpoints(struct fixture *f, const char **names, size_t n,
                                   struct pin **pins)
{
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(f->dir, &o);
    size_t listed = 0;
    fixture_put_str(db, "a", "1");
    fixture_commit(db);
    for (size_t i = 0; i < n; i++)
        checkpoint(db, names[i]);
    assert_int_equal(pins_list(db, PIN_CHECKPOINT, pins, &listed), 0);
    assert_int_equal(listed, n);
    return db;
}

static void test_pin_changed_after_listing_is_gone(void **state)
{
    const char *names[] = {"deleted", "replaced"};
    struct pin *pins = NULL;
    struct version *v = NULL;
    size_t n = 2;
    cirrus_db *db = with_checkpoints(*state, names, n, &pins);

    assert_int_equal(cirrus_checkpoint_delete(db, "deleted"), 0);
    assert_int_equal(cirrus_checkpoint_delete(db, "replaced"), 0);
    checkpoint(db, "replaced");
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(pin_load_listed(db, &pins[i], &v), CIRRUS_ENOTFOUND);
        assert_non_null(strstr(cirrus_errmsg(), i == 0 ? "was deleted" : "was replaced"));
    }
    /* GC reads the pins it lists again; the one there now still works */
    assert_int_equal(cirrus_gc(db, 0, NULL, NULL), 0);
    pins_free(pins, n);
    assert_int_equal(pins_list(db, PIN_CHECKPOINT, &pins, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(pin_load_listed(db, &pins[0], &v), 0);
    version_unref(v);
    pins_free(pins, n);
    assert_int_equal(cirrus_close(db), 0);
}

static void test_missing_manifest_of_a_live_pin_is_damage(void **state)
{
    const char *names[] = {"cp"};
    struct pin *pins = NULL;
    struct version *v = NULL;
    size_t n = 1;
    cirrus_db *db = with_checkpoints(*state, names, n, &pins);
    assert_int_equal(objstore_del(db->os, pins[0].manifest), 0);

    assert_int_equal(pin_load_listed(db, &pins[0], &v), CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), pins[0].manifest));
    assert_int_equal(cirrus_gc(db, 0, NULL, NULL), CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), pins[0].manifest));
    pins_free(pins, n);
    assert_int_equal(cirrus_close(db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pin_changed_after_listing_is_gone, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_missing_manifest_of_a_live_pin_is_damage,
                                        fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
