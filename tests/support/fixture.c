/*
 * fixture.c - engine test scaffolding (see fixture.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/fixture.h"
#include "support/tmpdir.h"

int fixture_setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    /* named after the program (glibc), so that a leftover directory says
     * which test left it */
    f->dir = tmpdir_make(program_invocation_short_name);
    assert_non_null(f->dir);
    *state = f;
    return 0;
}

int fixture_teardown(void **state)
{
    struct fixture *f = *state;
    tmpdir_remove(f->dir);
    free(f);
    return 0;
}

cirrus_options fixture_manual_options(void)
{
    cirrus_options o = CIRRUS_OPTIONS_INIT;
    o.flush_interval_ms = 0;
    o.refresh_interval_ms = 0;
    o.background_compaction = 0;
    return o;
}

cirrus_options fixture_small_levels(uint64_t target_file_size)
{
    cirrus_options o = fixture_manual_options();
    o.target_file_size = target_file_size;
    o.level1_target_bytes = 4096;
    o.level_size_ratio = 4;
    return o;
}

cirrus_db *fixture_open(const char *dir, const cirrus_options *o)
{
    cirrus_db *db = NULL;
    int rc = cirrus_open(&db, dir, o);
    if (rc != 0)
        fail_msg("open %s: %s (%s)", dir, cirrus_strerror(rc), cirrus_errmsg());
    return db;
}

uint64_t fixture_commit(cirrus_db *db)
{
    uint64_t seq = 0;
    int rc = cirrus_flush(db, &seq);
    if (rc != 0)
        fail_msg("flush: %s (%s)", cirrus_strerror(rc), cirrus_errmsg());
    return seq;
}

void fixture_put_str(cirrus_db *db, const char *k, const char *v)
{
    assert_int_equal(cirrus_put(db, k, strlen(k), v, strlen(v)), 0);
}

cirrus_batch *fixture_batch_range(int from, int to, const char *tag)
{
    cirrus_batch *b = NULL;
    assert_int_equal(cirrus_batch_new(&b), 0);
    for (int i = from; i < to; i++) {
        char k[32], v[64];
        snprintf(k, sizeof(k), "key%04d", i);
        snprintf(v, sizeof(v), "%s-%d", tag, i);
        assert_int_equal(cirrus_batch_put(b, k, strlen(k), v, strlen(v)), 0);
    }
    return b;
}

int fixture_at(cirrus_db *db, uint64_t seq, cirrus_read_options *ro, cirrus_snapshot **snap)
{
    *snap = NULL;
    ro->snapshot = NULL;
    if (seq == CIRRUS_SEQ_LATEST)
        return 0;
    int rc = cirrus_snapshot_new(db, seq, snap);
    ro->snapshot = *snap;
    return rc;
}

int fixture_get_at(cirrus_db *db, uint64_t seq, const void *key, size_t key_len, void **val_out,
                   size_t *val_len_out)
{
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    cirrus_snapshot *snap;
    void *val = NULL;
    size_t len = 0;
    int rc = fixture_at(db, seq, &ro, &snap);
    if (rc == 0)
        rc = cirrus_get(db, &ro, key, key_len, &val, &len);
    cirrus_snapshot_free(snap);
    if (val_out)
        *val_out = val;
    else
        cirrus_free(val);
    if (val_len_out)
        *val_len_out = len;
    return rc;
}
