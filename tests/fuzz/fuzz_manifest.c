/* cirrus-test-libs: db testsupport */
/*
 * fuzz_manifest.c - manifest objects (src/db/manifest.c).
 *
 * Each input is decoded as it is and resealed (its last 4 bytes replaced by
 * the checksum of the rest). Properties:
 *   - decoding returns 0, CIRRUS_ECORRUPT, CIRRUS_EVERSION or CIRRUS_ENOMEM
 *     and frees everything on failure (LeakSanitizer);
 *   - a decoded version is well formed: every file's level is in range and
 *     its global seq resolved; levels >= 1 are sorted by smallest key;
 *   - round trip: encode(decode(x)) decodes, and encodes to the same bytes
 *     again, to a version with the same seq, time, horizon, files (write
 *     times, taken from the names, included), apps and range tombstones.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cirrus.h"
#include "db/entry.h"
#include "db/manifest.h"
#include "db/version.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/hash.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int bytes_eq(const void *a, size_t a_len, const void *b, size_t b_len)
{
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

static void check_version(const struct version *v)
{
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++)
        for (size_t i = 0; i < v->n_files[l]; i++) {
            const struct file_meta *f = &v->files[l][i]->meta;
            FUZZ_CHECK(f->level == (uint32_t)l && f->global_seq != ENTRY_SEQ_SELF && f->name);
        }
    for (size_t i = 0; i < v->n_apps; i++)
        FUZZ_CHECK(v->apps[i].app && v->apps[i].app[0]);
}

static void check_same(const struct version *a, const struct version *b)
{
    FUZZ_CHECK(a->seq == b->seq && a->time_ms == b->time_ms &&
               a->min_readable_seq == b->min_readable_seq && a->n_apps == b->n_apps &&
               a->n_ranges == b->n_ranges);
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++) {
        FUZZ_CHECK(a->n_files[l] == b->n_files[l]);
        for (size_t i = 0; i < a->n_files[l]; i++) {
            const struct file_meta *x = &a->files[l][i]->meta, *y = &b->files[l][i]->meta;
            FUZZ_CHECK(strcmp(x->name, y->name) == 0 && x->size == y->size &&
                       x->global_seq == y->global_seq && x->min_seq == y->min_seq &&
                       x->max_seq == y->max_seq && x->n_entries == y->n_entries &&
                       x->n_deletes == y->n_deletes && x->write_time_ms == y->write_time_ms &&
                       bytes_eq(x->smallest, x->smallest_len, y->smallest, y->smallest_len) &&
                       bytes_eq(x->largest, x->largest_len, y->largest, y->largest_len));
        }
    }
    for (size_t i = 0; i < a->n_apps; i++)
        FUZZ_CHECK(strcmp(a->apps[i].app, b->apps[i].app) == 0 &&
                   a->apps[i].epoch == b->apps[i].epoch && a->apps[i].seq == b->apps[i].seq);
    for (size_t i = 0; i < a->n_ranges; i++) {
        const struct range_del *x = &a->ranges[i], *y = &b->ranges[i];
        FUZZ_CHECK(bytes_eq(x->from, x->from_len, y->from, y->from_len) &&
                   bytes_eq(x->to, x->to_len, y->to, y->to_len) && x->seq == y->seq);
    }
}

static void try_decode(const uint8_t *data, size_t size)
{
    struct version *v = NULL, *v2 = NULL;
    struct buf b1 = {0}, b2 = {0};
    int rc = manifest_decode(&v, data, size, "fuzz");
    FUZZ_CHECK(rc == 0 || rc == CIRRUS_ECORRUPT || rc == CIRRUS_EVERSION || rc == CIRRUS_ENOMEM);
    if (rc != 0)
        return;
    check_version(v);
    FUZZ_CHECK(manifest_encode(&b1, v) == 0);
    FUZZ_CHECK(manifest_decode(&v2, b1.data, b1.len, "round trip") == 0);
    check_version(v2);
    check_same(v, v2);
    FUZZ_CHECK(manifest_encode(&b2, v2) == 0);
    FUZZ_CHECK(bytes_eq(b1.data, b1.len, b2.data, b2.len));
    version_unref(v);
    version_unref(v2);
    buf_free(&b1);
    buf_free(&b2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_decode(data, size);
    if (size >= 4) {
        uint8_t *copy = fuzz_malloc(size);
        memcpy(copy, data, size);
        encode_fixed32(copy + size - 4, checksum32(copy, size - 4));
        try_decode(copy, size);
        free(copy);
    }
    return 0;
}
