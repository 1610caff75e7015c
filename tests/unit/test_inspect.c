/* cirrus-test-libs: db testsupport */
/*
 * test_inspect.c - cirrus_files and cirrus_inspect: the live files of the
 * latest version and of an older snapshot (the version as it was, not the
 * current one), an SST's header and entries with a binary key in base64,
 * a log entry and the metadata items; and the error paths: a missing SST
 * and a damaged one are CIRRUS_ECORRUPT naming the object and the damage,
 * a bad request is CIRRUS_EINVALID, and emit's nonzero value stops.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cirrus.h"
#include "support/fixture.h"
#include "support/tmpdir.h"

#define MAX_FILES 16

struct listing {
    size_t n;
    int level[MAX_FILES];
    char name[MAX_FILES][96];
    char smallest[MAX_FILES][16], largest[MAX_FILES][16];
    uint64_t global_seq[MAX_FILES], entries[MAX_FILES];
};

static int note_file(const cirrus_file_info *f, void *arg)
{
    struct listing *l = arg;
    assert_true(l->n < MAX_FILES);
    l->level[l->n] = f->level;
    snprintf(l->name[l->n], sizeof(l->name[0]), "%s", f->name);
    snprintf(l->smallest[l->n], sizeof(l->smallest[0]), "%.*s", (int)f->smallest_len,
             (const char *)f->smallest);
    snprintf(l->largest[l->n], sizeof(l->largest[0]), "%.*s", (int)f->largest_len,
             (const char *)f->largest);
    l->global_seq[l->n] = f->global_seq;
    l->entries[l->n] = f->entries;
    l->n++;
    return 0;
}

/* The objects cirrus_inspect emitted, parsed. */
struct objects {
    json_t *v[64];
    size_t n;
    size_t stop_after; /* emit returns 7 after this many; 0: never */
};

static int collect(const char *json, void *arg)
{
    struct objects *o = arg;
    json_error_t err;
    assert_true(o->n < 64);
    o->v[o->n] = json_loads(json, 0, &err);
    if (!o->v[o->n])
        fail_msg("not JSON: %s (%s)", json, err.text);
    o->n++;
    return o->stop_after && o->n >= o->stop_after ? 7 : 0;
}

static void objects_clear(struct objects *o)
{
    for (size_t i = 0; i < o->n; i++)
        json_decref(o->v[i]);
    memset(o, 0, sizeof(*o));
}

static const char *str(json_t *o, const char *field)
{
    const char *s = json_string_value(json_object_get(o, field));
    if (!s)
        fail_msg("no string field %s", field);
    return s;
}

static void files_are_the_version_at_the_snapshot(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    o.l0_compaction_trigger = 2; /* cirrus_compact moves the 3 files to L1 */
    cirrus_db *db = fixture_open(f->dir, &o);
    cirrus_snapshot *s2 = NULL;
    struct listing now = {0}, then = {0};
    fixture_put_str(db, "a", "1");
    fixture_commit(db);
    fixture_put_str(db, "b", "2");
    uint64_t seq2 = fixture_commit(db);
    assert_int_equal(cirrus_snapshot_new(db, seq2, &s2), 0);
    fixture_put_str(db, "c", "3");
    fixture_commit(db);
    assert_int_equal(cirrus_compact(db), 0);

    assert_int_equal(cirrus_files(db, NULL, note_file, &now), 0);
    assert_int_equal(now.n, 1);
    assert_int_equal(now.level[0], 1);
    assert_string_equal(now.smallest[0], "a");
    assert_string_equal(now.largest[0], "c");
    assert_int_equal(now.entries[0], 3);

    /* the files of seq 2 were compacted away since: still listed as then */
    assert_int_equal(cirrus_files(db, s2, note_file, &then), 0);
    assert_int_equal(then.n, 2);
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(then.level[i], 0);
        assert_string_not_equal(then.name[i], now.name[0]);
    }
    /* L0 newest first; each reads with its commit's seq */
    assert_string_equal(then.smallest[0], "b");
    assert_int_equal(then.global_seq[0], seq2);
    assert_string_equal(then.smallest[1], "a");
    assert_int_equal(then.global_seq[1], seq2 - 1);
    cirrus_snapshot_free(s2);

    assert_int_equal(cirrus_files(NULL, NULL, note_file, &now), CIRRUS_EINVALID);
    cirrus_close(db);
}

static void an_sst_entry_and_meta_decode(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(f->dir, &o);
    struct listing l = {0};
    struct objects got = {0};
    static const uint8_t bin_key[] = {'k', 0x00, 0xff};
    cirrus_batch *b = NULL;
    assert_int_equal(cirrus_batch_new(&b), 0);
    assert_int_equal(cirrus_batch_put(b, bin_key, sizeof(bin_key), "v", 1), 0);
    assert_int_equal(cirrus_batch_put(b, "plain", 5, "text", 4), 0);
    assert_int_equal(cirrus_batch_delete(b, "gone", 4), 0);
    uint64_t seq = 0;
    assert_int_equal(cirrus_write(db, b, CIRRUS_WRITE_NOW, &seq), 0);
    cirrus_batch_free(b);
    assert_int_equal(cirrus_files(db, NULL, note_file, &l), 0);
    assert_int_equal(l.n, 1);

    assert_int_equal(
        cirrus_inspect(db, CIRRUS_INSPECT_SST, l.name[0], CIRRUS_INSPECT_ENTRIES, collect, &got),
        0);
    assert_int_equal(got.n, 4); /* the header, then 3 entries in key order */
    assert_string_equal(str(got.v[0], "type"), "sst");
    assert_int_equal(json_integer_value(json_object_get(got.v[0], "global_seq")), seq);
    assert_string_equal(str(got.v[1], "key"), "gone");
    assert_string_equal(str(got.v[1], "kind"), "delete");
    assert_null(json_object_get(got.v[1], "value"));
    /* bytes that are not plain text: base64 in key_b64, and no key */
    assert_null(json_object_get(got.v[2], "key"));
    assert_string_equal(str(got.v[2], "key_b64"), "awD/");
    assert_int_equal(json_integer_value(json_object_get(got.v[2], "seq")), seq);
    assert_string_equal(str(got.v[3], "value"), "text");
    objects_clear(&got);

    assert_int_equal(cirrus_inspect(db, CIRRUS_INSPECT_ENTRY, "1", 0, collect, &got), 0);
    assert_int_equal(got.n, 1);
    assert_string_equal(str(got.v[0], "kind"), "write");
    json_t *added = json_object_get(got.v[0], "added");
    assert_int_equal(json_array_size(added), 1);
    assert_string_equal(str(json_array_get(added, 0), "name"), l.name[0]);
    objects_clear(&got);

    assert_int_equal(cirrus_inspect(db, CIRRUS_INSPECT_META, NULL, 0, collect, &got), 0);
    assert_int_equal(got.n, 1);
    assert_int_equal(json_integer_value(json_object_get(got.v[0], "head_seq")), seq);
    json_t *items = json_object_get(got.v[0], "items");
    int saw_head = 0, saw_identity = 0;
    for (size_t i = 0; i < json_array_size(items); i++) {
        const char *sk = str(json_array_get(items, i), "sk");
        saw_head |= strcmp(sk, "head") == 0;
        saw_identity |= strcmp(sk, "identity") == 0;
    }
    assert_true(saw_head && saw_identity);
    objects_clear(&got);

    /* emit's nonzero value stops the walk and is returned */
    got.stop_after = 2;
    assert_int_equal(
        cirrus_inspect(db, CIRRUS_INSPECT_SST, l.name[0], CIRRUS_INSPECT_ENTRIES, collect, &got),
        7);
    assert_int_equal(got.n, 2);
    objects_clear(&got);
    cirrus_close(db);
}

static void missing_or_damaged_objects_are_errors(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    cirrus_db *db = fixture_open(f->dir, &o);
    struct listing l = {0};
    struct objects got = {0};
    char path[512];
    fixture_put_str(db, "a", "1");
    fixture_commit(db);
    assert_int_equal(cirrus_files(db, NULL, note_file, &l), 0);

    assert_int_equal(cirrus_inspect(db, CIRRUS_INSPECT_SST, "sst/absent.sst", 0, collect, &got),
                     CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), "sst/absent.sst: the object is missing"));
    assert_int_equal(got.n, 0);
    assert_int_equal(cirrus_inspect(db, CIRRUS_INSPECT_MANIFEST, "9", 0, collect, &got),
                     CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), "the object is missing"));
    assert_int_equal(cirrus_inspect(db, CIRRUS_INSPECT_ENTRY, "5", 0, collect, &got),
                     CIRRUS_EINVALID);
    assert_int_equal(cirrus_inspect(db, 99, NULL, 0, collect, &got), CIRRUS_EINVALID);

    /* a flipped byte in the data block: the header stands, then the damage */
    snprintf(path, sizeof(path), "%s/%s", f->dir, l.name[0]);
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    assert_int_equal(fseek(fp, 2, SEEK_SET), 0);
    int ch = fgetc(fp);
    assert_int_equal(fseek(fp, 2, SEEK_SET), 0);
    fputc(ch ^ 0xff, fp);
    fclose(fp);
    assert_int_equal(
        cirrus_inspect(db, CIRRUS_INSPECT_SST, l.name[0], CIRRUS_INSPECT_ENTRIES, collect, &got),
        CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), "data block at offset 0: checksum mismatch"));
    assert_non_null(strstr(cirrus_errmsg(), l.name[0]));
    assert_int_equal(got.n, 1);
    objects_clear(&got);
    cirrus_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(files_are_the_version_at_the_snapshot, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(an_sst_entry_and_meta_decode, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(missing_or_damaged_objects_are_errors, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
