/* cirrus-test-libs: db testsupport */
/*
 * test_entry.c - a file's write time in its description (src/db/entry.c):
 * entries carry it in tag 4, which wins over the time in the name; entries
 * without it (every entry of an older build) take the name's; a malformed
 * tag 4 is refused; and files committed through the engine, flushed or
 * compacted, carry their writer's clock into the log and the manifest.
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
#include "db/commitlog.h"
#include "db/entry.h"
#include "db/filename.h"
#include "db/manifest.h"
#include "db/version.h"
#include "metastore/metastore.h"
#include "objstore/objstore.h"
#include "support/fixture.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/sys.h"

#define NAME_TIME INT64_C(0x18c2f0a1b2c)

/* An entry adding two files: one with an SST name written at NAME_TIME and
 * write time t0, one whose name is not ours with write time t1. */
static void two_files(struct entry *e, char *sst, int64_t t0, int64_t t1)
{
    static uint8_t key[] = "k";
    struct file_meta f = {0};
    memset(e, 0, sizeof(*e));
    e->seq = 9;
    e->kind = CIRRUS_ENTRY_WRITE;
    e->time_ms = 1700000000000;
    filename_sst(sst, NAME_TIME, 42);
    f.name = sst;
    f.size = 100;
    f.global_seq = ENTRY_SEQ_SELF;
    f.smallest = f.largest = key;
    f.smallest_len = f.largest_len = 1;
    f.n_entries = 1;
    f.write_time_ms = t0;
    assert_int_equal(entry_add_file(e, &f), 0);
    f.name = "sst/x.sst";
    f.write_time_ms = t1;
    assert_int_equal(entry_add_file(e, &f), 0);
}

static void write_times_travel_in_tag_4_not_in_the_name(void **state)
{
    (void)state;
    struct entry e, d;
    struct buf b = {0};
    char sst[FILENAME_LEN];
    two_files(&e, sst, NAME_TIME + 5, 777);
    assert_int_equal(entry_encode(&b, &e), 0);
    assert_int_equal(entry_decode(&d, b.data, b.len, "test"), 0);
    assert_int_equal(d.n_added, 2);
    assert_true(d.added[0].write_time_ms == NAME_TIME + 5);
    assert_true(d.added[1].write_time_ms == 777);
    /* copies (versions, trivial moves) keep it */
    struct file_meta c;
    assert_int_equal(file_meta_copy(&c, &d.added[0]), 0);
    assert_true(c.write_time_ms == NAME_TIME + 5);
    file_meta_clear(&c);
    entry_clear(&d);
    entry_clear(&e);
    buf_free(&b);
}

static void entries_without_the_field_take_the_time_in_the_name(void **state)
{
    (void)state;
    struct entry e, d;
    struct buf b = {0}, with_time = {0};
    char sst[FILENAME_LEN];
    /* no write times: encoded exactly as a build before tag 4 did */
    two_files(&e, sst, 0, 0);
    assert_int_equal(entry_encode(&b, &e), 0);
    assert_int_equal(entry_decode(&d, b.data, b.len, "test"), 0);
    assert_true(d.added[0].write_time_ms == NAME_TIME);
    assert_true(d.added[1].write_time_ms == 0); /* not ours: unknown */
    entry_clear(&d);
    /* with a write time, tag 4 is what the encoding adds */
    entry_clear(&e);
    two_files(&e, sst, NAME_TIME, 0);
    assert_int_equal(entry_encode(&with_time, &e), 0);
    assert_true(with_time.len > b.len);
    entry_clear(&e);
    buf_free(&b);
    buf_free(&with_time);
}

/* enc with one more field (tag, body) before the checksum, resealed. */
static void with_field(struct buf *out, const struct buf *enc, uint64_t tag, const struct buf *body)
{
    buf_reset(out);
    assert_int_equal(buf_append(out, enc->data, enc->len - 4), 0);
    assert_int_equal(buf_put_varint(out, tag), 0);
    assert_int_equal(buf_put_lenbytes(out, body->data, body->len), 0);
    assert_int_equal(buf_put_fixed32(out, checksum32(out->data, out->len)), 0);
}

static void time_body(struct buf *body, uint64_t index, uint64_t t)
{
    buf_reset(body);
    assert_int_equal(buf_put_varint(body, index), 0);
    assert_int_equal(buf_put_varint(body, t), 0);
}

static void malformed_write_times_are_refused(void **state)
{
    (void)state;
    struct entry e, d;
    struct buf enc = {0}, bad = {0}, body = {0};
    char sst[FILENAME_LEN];
    two_files(&e, sst, NAME_TIME, 0); /* tag 4 for file 0 only */
    assert_int_equal(entry_encode(&enc, &e), 0);
    struct {
        uint64_t index, t;
        int extra_byte;
    } cases[] = {
        {0, 5, 0},                       /* file 0 has one already */
        {2, 5, 0},                       /* no such file */
        {1, 0, 0},                       /* zero is no time */
        {1, (uint64_t)INT64_MAX + 1, 0}, /* beyond the clock */
        {1, 5, 1},                       /* trailing bytes */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        time_body(&body, cases[i].index, cases[i].t);
        if (cases[i].extra_byte)
            assert_int_equal(buf_put_u8(&body, 0), 0);
        with_field(&bad, &enc, 4, &body);
        assert_int_equal(entry_decode(&d, bad.data, bad.len, "test"), CIRRUS_ECORRUPT);
    }
    /* a well-formed one for the file without a time is taken */
    time_body(&body, 1, 12345);
    with_field(&bad, &enc, 4, &body);
    assert_int_equal(entry_decode(&d, bad.data, bad.len, "test"), 0);
    assert_true(d.added[0].write_time_ms == NAME_TIME && d.added[1].write_time_ms == 12345);
    entry_clear(&d);
    entry_clear(&e);
    buf_free(&enc);
    buf_free(&bad);
    buf_free(&body);
}

/* The entry at the head of the database in dir. */
static void read_head(const char *dir, struct entry *e)
{
    char url[4200];
    struct metastore *ms = NULL;
    struct objstore *os = NULL;
    struct commitlog cl;
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t seq;
    snprintf(url, sizeof(url), "sqlite:%s/meta.sqlite3", dir);
    assert_int_equal(metastore_open(&ms, url, 0), 0);
    assert_int_equal(objstore_open(&os, dir, 0), 0);
    assert_int_equal(commitlog_init(&cl, ms, os, "local"), 0);
    assert_int_equal(commitlog_get_head(&cl, &seq, &raw, &len), 0);
    assert_int_equal(commitlog_decode(&cl, raw, len, seq, e), 0);
    free(raw);
    commitlog_clear(&cl);
    objstore_close(os);
    metastore_close(ms);
}

/* The manifest at seq of the database in dir. */
static struct version *read_manifest(const char *dir, uint64_t seq)
{
    struct objstore *os = NULL;
    struct version *v = NULL;
    char name[FILENAME_LEN];
    uint8_t *data = NULL;
    size_t len = 0;
    assert_int_equal(objstore_open(&os, dir, 0), 0);
    filename_manifest(name, seq);
    assert_int_equal(objstore_get_all(os, name, &data, &len), 0);
    assert_int_equal(manifest_decode(&v, data, len, name), 0);
    free(data);
    objstore_close(os);
    return v;
}

static void assert_written_between(const struct file_meta *f, int64_t from, int64_t to)
{
    struct filename fn;
    if (f->write_time_ms < from || f->write_time_ms > to)
        fail_msg("%s: write time %lld outside [%lld, %lld]", f->name, (long long)f->write_time_ms,
                 (long long)from, (long long)to);
    /* and the name says the same */
    assert_true(filename_parse(f->name, &fn) && fn.time_ms == f->write_time_ms);
}

static void committed_files_carry_their_write_time(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_small_levels(4096);
    o.manifest_interval = 1;
    o.l0_compaction_trigger = 2;
    cirrus_db *db = fixture_open(f->dir, &o);
    int64_t t0 = now_ms();
    fixture_put_str(db, "a", "1");
    uint64_t seq = fixture_commit(db);
    int64_t t1 = now_ms();
    cirrus_close(db);
    struct entry e;
    read_head(f->dir, &e);
    assert_int_equal(e.n_added, 1);
    assert_written_between(&e.added[0], t0, t1);
    struct version *v = read_manifest(f->dir, seq);
    assert_int_equal(v->n_files[0], 1);
    assert_string_equal(v->files[0][0]->meta.name, e.added[0].name);
    assert_true(v->files[0][0]->meta.write_time_ms == e.added[0].write_time_ms);
    version_unref(v);
    entry_clear(&e);

    /* compaction outputs too */
    db = fixture_open(f->dir, &o);
    for (int c = 0; c < 4; c++) {
        cirrus_batch *b = fixture_batch_range(c * 50, c * 50 + 80, "v");
        assert_int_equal(cirrus_write(db, b, CIRRUS_WRITE_NOW, NULL), 0);
        cirrus_batch_free(b);
    }
    int64_t t2 = now_ms();
    assert_int_equal(cirrus_compact(db), 0);
    int64_t t3 = now_ms();
    cirrus_close(db);
    read_head(f->dir, &e);
    assert_int_equal(e.kind, CIRRUS_ENTRY_COMPACT);
    assert_true(e.n_added >= 1);
    for (size_t i = 0; i < e.n_added; i++)
        assert_written_between(&e.added[i], t2, t3);
    entry_clear(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(write_times_travel_in_tag_4_not_in_the_name),
        cmocka_unit_test(entries_without_the_field_take_the_time_in_the_name),
        cmocka_unit_test(malformed_write_times_are_refused),
        cmocka_unit_test_setup_teardown(committed_files_carry_their_write_time, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
