/* cirrus-test-libs: db testsupport */
/*
 * test_sst_output.c - the SST-output writer (src/db/sst_output.c) on an
 * in-memory store: files cut at target_file_size only between user keys,
 * every listed file uploaded with the size, range, counts and seqs its
 * description says, commit outputs with seq 0 and the entry's seq, and
 * nothing uploaded for a file never finished.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cirrus.h"
#include "db/entry.h"
#include "db/filename.h"
#include "db/sst_output.h"
#include "objstore/objstore.h"
#include "support/memstore.h"
#include "table/ikey.h"
#include "util/sys.h"

static cirrus_options small_files(void)
{
    cirrus_options o = CIRRUS_OPTIONS_INIT;
    o.target_file_size = 4096;
    o.block_size = 512;
    return o;
}

/* Incompressible bytes, different on every call. */
static void noise(uint8_t *p, size_t n)
{
    static uint64_t x = 88172645463325252u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        p[i] = (uint8_t)x;
    }
}

static int count_object(const struct objstore_entry *e, void *arg)
{
    (void)e;
    (*(int *)arg)++;
    return 0;
}

static int objects(struct objstore *os)
{
    int n = 0;
    assert_int_equal(objstore_list(os, FILENAME_SST_DIR, count_object, &n), 0);
    return n;
}

/* Every listed file exists with its size; its name says its write time. */
static void check_listed(struct objstore *os, const struct entry *e, int64_t from, int64_t to)
{
    for (size_t i = 0; i < e->n_added; i++) {
        const struct file_meta *f = &e->added[i];
        struct filename fn;
        uint64_t size;
        assert_int_equal(objstore_head(os, f->name, &size), 0);
        assert_true(size == f->size);
        assert_true(filename_parse(f->name, &fn) && fn.kind == FILENAME_SST);
        assert_true(fn.time_ms == f->write_time_ms);
        assert_true(f->write_time_ms >= from && f->write_time_ms <= to);
    }
    assert_int_equal(objects(os), (int)e->n_added);
}

/* N of user key "kNNN". */
static int key_number(const uint8_t *ukey)
{
    char s[4] = {(char)ukey[1], (char)ukey[2], (char)ukey[3], '\0'};
    return atoi(s);
}

static void level_files_are_cut_between_user_keys(void **state)
{
    (void)state;
    struct objstore *os = NULL;
    struct sst_output *o = NULL;
    struct entry e = {0};
    _Atomic uint64_t bytes = 0;
    cirrus_options opts = small_files();
    uint8_t ikey[32], val[100];
    assert_int_equal(memstore_open(&os), 0);
    int64_t t0 = now_ms();
    assert_int_equal(sst_output_new_level(&o, os, &opts, 3, &bytes, &e), 0);
    /* 40 keys of 12 versions each (newest first), 100-byte values: a key
     * is about 1.3 KB, so files end in the middle of one unless cut right */
    uint64_t added = 0, deletes = 0;
    for (int k = 0; k < 40; k++) {
        char ukey[16];
        snprintf(ukey, sizeof(ukey), "k%03d", k);
        for (int v = 12; v >= 1; v--) {
            int kind = v == 5 ? KIND_DELETE : KIND_PUT;
            noise(val, sizeof(val));
            ikey_encode(ikey, ukey, 4, (uint64_t)(k * 100 + v), kind);
            assert_int_equal(sst_output_add(o, ikey, 4 + IKEY_TRAILER, val,
                                            kind == KIND_DELETE ? 0 : sizeof(val)),
                             0);
            added++;
            deletes += kind == KIND_DELETE;
        }
    }
    assert_int_equal(sst_output_finish(o), 0);
    int64_t t1 = now_ms();
    assert_true(e.n_added > 5);
    check_listed(os, &e, t0, t1);
    uint64_t n = 0, d = 0, total = 0;
    for (size_t i = 0; i < e.n_added; i++) {
        const struct file_meta *f = &e.added[i];
        assert_int_equal(f->level, 3);
        assert_true(f->global_seq == 0);
        n += f->n_entries;
        d += f->n_deletes;
        total += f->size;
        /* whole keys only: 12 entries each, seqs of exactly those keys */
        assert_int_equal(f->n_entries % 12, 0);
        assert_int_equal(f->smallest_len, 4);
        assert_int_equal(f->largest_len, 4);
        int lo = key_number(f->smallest), hi = key_number(f->largest);
        assert_true(f->n_entries == (uint64_t)(hi - lo + 1) * 12);
        assert_true(f->min_seq == (uint64_t)(lo * 100 + 1));
        assert_true(f->max_seq == (uint64_t)(hi * 100 + 12));
        if (i > 0)
            assert_true(memcmp(e.added[i - 1].largest, f->smallest, 4) < 0);
    }
    assert_true(n == added && d == deletes);
    assert_true(atomic_load(&bytes) == total);
    sst_output_free(o);
    entry_clear(&e);
    os->ops->close(os);
}

static void commit_files_store_seq_zero_and_take_the_entrys_seq(void **state)
{
    (void)state;
    struct objstore *os = NULL;
    struct sst_output *o = NULL;
    struct entry e = {0};
    cirrus_options opts = small_files();
    uint8_t val[200], ikey[16];
    assert_int_equal(memstore_open(&os), 0);
    int64_t t0 = now_ms();
    assert_int_equal(sst_output_new_commit(&o, os, &opts, &e), 0);
    for (int k = 0; k < 100; k++) {
        char ukey[16];
        snprintf(ukey, sizeof(ukey), "c%03d", k);
        noise(val, sizeof(val));
        assert_int_equal(
            sst_output_add_ukey(o, (const uint8_t *)ukey, 4, KIND_PUT, val, sizeof(val)), 0);
    }
    /* a stored seq would break the global seq rule (docs/FORMAT.md) */
    ikey_encode(ikey, "c999", 4, 7, KIND_PUT);
    assert_int_equal(sst_output_add(o, ikey, 4 + IKEY_TRAILER, val, 1), CIRRUS_EINVALID);
    assert_int_equal(sst_output_finish(o), 0);
    check_listed(os, &e, t0, now_ms());
    assert_true(e.n_added > 1);
    uint64_t n = 0;
    for (size_t i = 0; i < e.n_added; i++) {
        const struct file_meta *f = &e.added[i];
        assert_true(f->level == 0 && f->global_seq == ENTRY_SEQ_SELF && f->min_seq == 0 &&
                    f->max_seq == 0 && f->n_deletes == 0);
        n += f->n_entries;
    }
    assert_true(n == 100);
    sst_output_free(o);
    entry_clear(&e);
    os->ops->close(os);
}

static void a_file_never_finished_is_never_uploaded(void **state)
{
    (void)state;
    struct objstore *os = NULL;
    struct sst_output *o = NULL;
    struct entry e = {0};
    cirrus_options opts = small_files();
    assert_int_equal(memstore_open(&os), 0);
    assert_int_equal(sst_output_new_commit(&o, os, &opts, &e), 0);
    assert_int_equal(sst_output_add_ukey(o, (const uint8_t *)"a", 1, KIND_PUT, NULL, 0), 0);
    sst_output_free(o);
    assert_int_equal(objects(os), 0);
    assert_int_equal(e.n_added, 0);
    /* and finishing an output fed nothing lists nothing */
    assert_int_equal(sst_output_new_commit(&o, os, &opts, &e), 0);
    assert_int_equal(sst_output_finish(o), 0);
    assert_int_equal(e.n_added, 0);
    sst_output_free(o);
    sst_output_free(NULL);
    os->ops->close(os);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(level_files_are_cut_between_user_keys),
        cmocka_unit_test(commit_files_store_seq_zero_and_take_the_entrys_seq),
        cmocka_unit_test(a_file_never_finished_is_never_uploaded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
