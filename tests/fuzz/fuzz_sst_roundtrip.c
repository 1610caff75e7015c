/* cirrus-test-libs: table testsupport */
/*
 * fuzz_sst_roundtrip.c - the differential SST target: the input describes a
 * set of entries (keys, seqs, kinds, values) and the builder options (block
 * size, restart interval, bloom filter, compression); they are written with
 * the SST builder and read back through the reader from an in-memory object
 * store. Properties:
 *   - the properties block says what was written (count, deletes, key range,
 *     seq range, raw byte counts, file size);
 *   - iterating forwards and backwards yields exactly the entries written,
 *     in internal key order, with their values;
 *   - seeking to a written key (a sample of them) lands on it; the bloom filter never says
 *     "absent" of a written key; get() at SEQ_MAX and just below each entry's
 *     seq finds the newest visible entry of its key, as a model says;
 *   - a global seq read (L0) maps every entry's seq and nothing else.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cirrus.h"
#include "objstore/objstore.h"
#include "support/memstore.h"
#include "table/ikey.h"
#include "table/sst.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_ENTRIES 256
#define MAX_INPUT 4096 /* bytes read of an input: keeps each run fast */
#define MAX_GETS 48    /* entries probed by seeks and gets per file */

struct ent {
    uint8_t ikey[32 + IKEY_TRAILER];
    size_t ikey_len;
    const uint8_t *val;
    size_t val_len;
};

static int cmp_ent(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;
    return ikey_compare(x->ikey, x->ikey_len, y->ikey, y->ikey_len);
}

static void check_entry(struct iter *it, const struct ent *e)
{
    size_t klen, vlen;
    FUZZ_CHECK(iter_valid(it));
    const uint8_t *k = iter_key(it, &klen), *v = iter_value(it, &vlen);
    FUZZ_CHECK(klen == e->ikey_len && memcmp(k, e->ikey, klen) == 0);
    FUZZ_CHECK(vlen == e->val_len && (vlen == 0 || memcmp(v, e->val, vlen) == 0));
}

/* The newest entry of ents[i]'s user key with seq <= snap, or -1. */
static long model_get(const struct ent *ents, size_t n, const uint8_t *ukey, size_t ulen,
                      uint64_t snap)
{
    for (size_t j = 0; j < n; j++)
        if (ukey_compare(ents[j].ikey, ikey_user_len(ents[j].ikey_len), ukey, ulen) == 0 &&
            ikey_seq(ents[j].ikey, ents[j].ikey_len) <= snap)
            return (long)j; /* sorted newest first within a key */
    return -1;
}

static void check_get(struct sst_reader *r, const struct ent *ents, size_t n, const uint8_t *ukey,
                      size_t ulen, uint64_t snap)
{
    int kind = -1;
    uint8_t *val = NULL;
    size_t vlen = 0;
    long j = model_get(ents, n, ukey, ulen, snap);
    int rc = sst_reader_get(r, ukey, ulen, snap, &kind, &val, &vlen);
    if (j < 0) {
        FUZZ_CHECK(rc == CIRRUS_ENOTFOUND);
        return;
    }
    const struct ent *e = &ents[j];
    FUZZ_CHECK(rc == 0 && kind == ikey_kind(e->ikey, e->ikey_len));
    if (kind == KIND_DELETE)
        FUZZ_CHECK(val == NULL);
    else
        FUZZ_CHECK(vlen == e->val_len && (vlen == 0 || memcmp(val, e->val, vlen) == 0));
    free(val);
}

static void check_file(struct objstore *os, const char *name, size_t len, const struct ent *ents,
                       size_t n, const struct sst_props *wp)
{
    struct sst_reader *r = NULL;
    struct iter *it = NULL;
    FUZZ_CHECK(sst_reader_open(&r, os, name, len, 0, NULL) == 0);
    const struct sst_props *p = sst_reader_props(r);
    FUZZ_CHECK(p->n_entries == n && p->n_entries == wp->n_entries &&
               p->n_deletes == wp->n_deletes && p->file_size == len &&
               p->raw_key_bytes == wp->raw_key_bytes && p->raw_value_bytes == wp->raw_value_bytes);
    FUZZ_CHECK(p->smallest_len == ikey_user_len(ents[0].ikey_len) &&
               (p->smallest_len == 0 || memcmp(p->smallest, ents[0].ikey, p->smallest_len) == 0));
    FUZZ_CHECK(p->largest_len == ikey_user_len(ents[n - 1].ikey_len) &&
               (p->largest_len == 0 || memcmp(p->largest, ents[n - 1].ikey, p->largest_len) == 0));
    FUZZ_CHECK(sst_reader_iter(r, &it) == 0);
    size_t i = 0;
    for (iter_first(it); i < n; iter_next(it), i++)
        check_entry(it, &ents[i]);
    FUZZ_CHECK(!iter_valid(it) && iter_status(it) == 0);
    i = n;
    for (iter_last(it); i > 0; iter_prev(it), i--)
        check_entry(it, &ents[i - 1]);
    FUZZ_CHECK(!iter_valid(it) && iter_status(it) == 0);
    size_t stride = n / MAX_GETS + 1;
    for (i = 0; i < n; i += stride) {
        const struct ent *e = &ents[i];
        size_t ulen = ikey_user_len(e->ikey_len);
        iter_seek(it, e->ikey, e->ikey_len);
        check_entry(it, e);
        iter_seek_for_prev(it, e->ikey, e->ikey_len);
        check_entry(it, e);
        FUZZ_CHECK(sst_reader_may_contain(r, e->ikey, ulen) == 1);
        uint64_t seq = ikey_seq(e->ikey, e->ikey_len);
        check_get(r, ents, n, e->ikey, ulen, SEQ_MAX);
        check_get(r, ents, n, e->ikey, ulen, seq);
        if (seq > 0)
            check_get(r, ents, n, e->ikey, ulen, seq - 1);
        /* a key just after this one (absent unless written) */
        uint8_t after[33];
        memcpy(after, e->ikey, ulen);
        after[ulen] = 0;
        check_get(r, ents, n, after, ulen + 1, SEQ_MAX);
    }
    FUZZ_CHECK(iter_status(it) == 0);
    iter_free(it);
    sst_reader_close(r);

    /* read as an L0 file with a global seq: same keys, that seq, same order */
    if (sst_reader_open(&r, os, name, len, 1000, NULL) == 0) {
        FUZZ_CHECK(sst_reader_iter(r, &it) == 0);
        i = 0;
        for (iter_first(it); iter_valid(it); iter_next(it), i++) {
            size_t klen;
            const uint8_t *k = iter_key(it, &klen);
            FUZZ_CHECK(i < n && klen == ents[i].ikey_len &&
                       memcmp(k, ents[i].ikey, klen - IKEY_TRAILER) == 0 &&
                       ikey_seq(k, klen) == 1000 &&
                       ikey_kind(k, klen) == ikey_kind(ents[i].ikey, ents[i].ikey_len));
        }
        FUZZ_CHECK(iter_status(it) == 0 && i == n);
        iter_free(it);
        sst_reader_close(r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const int kinds[] = {KIND_PUT, KIND_DELETE, KIND_MERGE, KIND_PUT_TTL};
    static const int comps[] = {CIRRUS_COMPRESSION_NONE, CIRRUS_COMPRESSION_LZ4,
                                CIRRUS_COMPRESSION_ZSTD};
    struct fuzz_reader in = {data, data + (size < MAX_INPUT ? size : MAX_INPUT)};
    struct sst_options o = {0};
    o.block_size = 1 + (uint32_t)(fuzz_take(&in, 2) % 8192);
    o.restart_interval = 1 + (uint32_t)(fuzz_take(&in, 1) % 32);
    uint64_t flags = fuzz_take(&in, 1);
    o.bloom_bits_per_key = flags & 1 ? (uint32_t)(flags >> 1) % 24 : 0;
    o.compression = comps[(flags >> 6) % 3];
    o.compression_level = 1;
    struct ent *ents = fuzz_malloc(MAX_ENTRIES * sizeof(*ents));
    size_t n = 0;
    while (in.p < in.end && n < MAX_ENTRIES) {
        struct ent *e = &ents[n];
        size_t ulen;
        const uint8_t *ukey = fuzz_take_bytes(&in, 32, &ulen);
        uint64_t seq = fuzz_take(&in, 2);
        int kind = kinds[fuzz_take(&in, 1) % 4];
        ikey_encode(e->ikey, ukey, ulen, seq, kind);
        e->ikey_len = ulen + IKEY_TRAILER;
        e->val = fuzz_take_bytes(&in, 255, &e->val_len);
        if (kind == KIND_DELETE)
            e->val_len = 0;
        n++;
    }
    /* internal key order, one entry per (key, seq) */
    qsort(ents, n, sizeof(*ents), cmp_ent);
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
        if (m == 0 || cmp_ent(&ents[m - 1], &ents[i]) != 0)
            ents[m++] = ents[i];
    n = m;
    if (n > 0) {
        struct sst_builder *b = NULL;
        struct sst_props props = {0};
        uint8_t *file = NULL;
        size_t len = 0;
        struct objstore *os = NULL;
        FUZZ_CHECK(sst_builder_new(&b, &o) == 0);
        for (size_t i = 0; i < n; i++)
            FUZZ_CHECK(sst_builder_add(b, ents[i].ikey, ents[i].ikey_len, ents[i].val,
                                       ents[i].val_len) == 0);
        /* out of order is refused */
        FUZZ_CHECK(sst_builder_add(b, ents[0].ikey, ents[0].ikey_len, NULL, 0) == CIRRUS_EINVALID);
        FUZZ_CHECK(sst_builder_count(b) == n);
        FUZZ_CHECK(sst_builder_finish(b, &file, &len, &props) == 0);
        sst_builder_free(b);
        FUZZ_CHECK(memstore_open(&os) == 0);
        FUZZ_CHECK(objstore_put(os, "fuzz/rt.sst", file, len) == 0);
        check_file(os, "fuzz/rt.sst", len, ents, n, &props);
        sst_props_clear(&props);
        free(file);
        os->ops->close(os);
    }
    free(ents);
    return 0;
}
