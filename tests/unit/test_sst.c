/* cirrus-test-libs: table testsupport */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "cache/block_cache.h"
#include "objstore/objstore.h"
#include "support/memstore.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "util/hash.h"
#include "util/status.h"

/* ---- the model: a sorted array of internal keys and values --------------- */

struct ent {
    uint8_t *ikey;
    size_t ikey_len;
    uint8_t *val;
    size_t val_len;
};

struct model {
    struct ent *e;
    size_t n, cap;
};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static void model_add(struct model *m, const uint8_t *uk, size_t ulen, uint64_t seq, int kind,
                      const uint8_t *val, size_t vlen)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->e = realloc(m->e, m->cap * sizeof(*m->e));
        assert_non_null(m->e);
    }
    struct ent *e = &m->e[m->n++];
    e->ikey_len = ulen + IKEY_TRAILER;
    e->ikey = malloc(e->ikey_len);
    e->val = malloc(vlen ? vlen : 1);
    assert_true(e->ikey && e->val);
    ikey_encode(e->ikey, uk, ulen, seq, kind);
    if (vlen)
        memcpy(e->val, val, vlen);
    e->val_len = vlen;
}

static int ent_cmp(const void *a, const void *b)
{
    const struct ent *x = a, *y = b;
    return ikey_compare(x->ikey, x->ikey_len, y->ikey, y->ikey_len);
}

/* Same user key and seq: the file would be ambiguous to get(). */
static int same_version(const struct ent *x, const struct ent *y)
{
    return ukey_compare(x->ikey, x->ikey_len - IKEY_TRAILER, y->ikey, y->ikey_len - IKEY_TRAILER) ==
               0 &&
           ikey_seq(x->ikey, x->ikey_len) == ikey_seq(y->ikey, y->ikey_len);
}

/* Sorts and keeps one entry per (user key, seq). */
static void model_sort(struct model *m)
{
    qsort(m->e, m->n, sizeof(*m->e), ent_cmp);
    size_t w = 0;
    for (size_t i = 0; i < m->n; i++) {
        if (w > 0 && same_version(&m->e[w - 1], &m->e[i])) {
            free(m->e[i].ikey);
            free(m->e[i].val);
            continue;
        }
        m->e[w++] = m->e[i];
    }
    m->n = w;
}

static void model_free(struct model *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->e[i].ikey);
        free(m->e[i].val);
    }
    free(m->e);
    memset(m, 0, sizeof(*m));
}

/* First entry >= key (m->n if none). */
static size_t model_lower(const struct model *m, const uint8_t *k, size_t klen)
{
    size_t lo = 0, hi = m->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ikey_compare(m->e[mid].ikey, m->e[mid].ikey_len, k, klen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

/* Varied keys: 1-byte keys, the empty key, long shared prefixes, binary
 * keys full of 0x00 and 0xff; 1..3 versions each, puts and deletes; values
 * empty, short, compressible or random. */
static void model_fill(struct model *m, size_t n_ukeys, uint64_t fixed_seq)
{
    uint8_t uk[400], val[600];
    for (size_t i = 0; i < n_ukeys; i++) {
        size_t ulen = 0;
        switch (rnd() % 4) {
        case 0:
            ulen = rnd() % 2; /* empty or 1 byte */
            uk[0] = (uint8_t)rnd();
            break;
        case 1:
            ulen = 300 + rnd() % 40;
            memset(uk, 'p', 300);
            for (size_t j = 300; j < ulen; j++)
                uk[j] = (uint8_t)('a' + rnd() % 3);
            break;
        default:
            ulen = 1 + rnd() % 24;
            for (size_t j = 0; j < ulen; j++) {
                uint64_t r = rnd() % 4;
                uk[j] = r == 0 ? 0x00 : r == 1 ? 0xff : (uint8_t)rnd();
            }
        }
        size_t versions = fixed_seq ? 1 : 1 + rnd() % 3;
        for (size_t v = 0; v < versions; v++) {
            uint64_t seq = fixed_seq ? 0 : 1 + rnd() % 1000;
            int kind = rnd() % 5 == 0 ? KIND_DELETE : KIND_PUT;
            size_t vlen = 0;
            switch (kind == KIND_DELETE ? 0 : rnd() % 4) {
            case 0:
                break;
            case 1:
                vlen = 1 + rnd() % 8;
                for (size_t j = 0; j < vlen; j++)
                    val[j] = (uint8_t)rnd();
                break;
            case 2:
                vlen = 100 + rnd() % 500;
                for (size_t j = 0; j < vlen; j++)
                    val[j] = (uint8_t)("abcdefgh"[j % 8]);
                break;
            default:
                vlen = rnd() % 200;
                for (size_t j = 0; j < vlen; j++)
                    val[j] = (uint8_t)rnd();
            }
            model_add(m, uk, ulen, seq, kind, val, vlen);
        }
    }
    model_sort(m);
}

/* ---- building and opening ------------------------------------------------ */

static struct sst_options opts_with(int compression, uint32_t block_size, uint32_t bloom)
{
    struct sst_options o = {.block_size = block_size,
                            .restart_interval = 16,
                            .bloom_bits_per_key = bloom,
                            .compression = compression,
                            .compression_level = 0};
    return o;
}

static uint8_t *build(const struct model *m, const struct sst_options *o, size_t *len,
                      struct sst_props *props)
{
    struct sst_builder *b;
    uint8_t *data;
    assert_int_equal(sst_builder_new(&b, o), 0);
    for (size_t i = 0; i < m->n; i++)
        assert_int_equal(
            sst_builder_add(b, m->e[i].ikey, m->e[i].ikey_len, m->e[i].val, m->e[i].val_len), 0);
    assert_int_equal(sst_builder_count(b), m->n);
    uint64_t estimate = sst_builder_size(b);
    assert_int_equal(sst_builder_finish(b, &data, len, props), 0);
    sst_builder_free(b);
    /* the estimate is before compression: it must not be far below */
    assert_true(estimate * 2 >= *len || o->compression != CIRRUS_COMPRESSION_NONE);
    return data;
}

static struct objstore *store(void)
{
    struct objstore *os;
    assert_int_equal(memstore_open(&os), 0);
    return os;
}

static struct sst_reader *put_and_open(struct objstore *os, const char *name, const uint8_t *data,
                                       size_t len, uint64_t global_seq)
{
    struct sst_reader *r;
    assert_int_equal(objstore_put(os, name, data, len), 0);
    int rc = sst_reader_open(&r, os, name, len, global_seq, NULL);
    if (rc != 0)
        fail_msg("open %s: %s", name, cirrus_errmsg());
    return r;
}

/* ---- checks against the model -------------------------------------------- */

static void assert_entry(struct iter *it, const struct ent *e, uint64_t global_seq)
{
    size_t klen, vlen;
    assert_true(iter_valid(it));
    const uint8_t *k = iter_key(it, &klen);
    assert_int_equal(klen, e->ikey_len);
    assert_memory_equal(k, e->ikey, klen - IKEY_TRAILER);
    if (global_seq) {
        assert_int_equal(ikey_seq(k, klen), global_seq);
        assert_int_equal(ikey_kind(k, klen), ikey_kind(e->ikey, e->ikey_len));
    } else {
        assert_memory_equal(k, e->ikey, klen);
    }
    const uint8_t *v = iter_value(it, &vlen);
    assert_int_equal(vlen, e->val_len);
    if (vlen)
        assert_memory_equal(v, e->val, vlen);
}

/* Walks it forward then backward against the model; frees it. */
static void scan_matches(struct iter *it, const struct model *m, uint64_t global_seq)
{
    size_t i = 0;
    for (iter_first(it); iter_valid(it); iter_next(it))
        assert_entry(it, &m->e[i++], global_seq);
    assert_int_equal(iter_status(it), 0);
    assert_int_equal(i, m->n);
    for (iter_last(it); iter_valid(it); iter_prev(it))
        assert_entry(it, &m->e[--i], global_seq);
    assert_int_equal(iter_status(it), 0);
    assert_int_equal(i, 0);
    iter_free(it);
}

static void check_scan(struct sst_reader *r, const struct model *m, uint64_t global_seq)
{
    struct iter *it;
    assert_int_equal(sst_reader_iter(r, &it), 0);
    scan_matches(it, m, global_seq);
}

/* A seek target near a random model entry: the entry itself, a neighbour
 * seq, or a perturbed user key. */
static size_t random_target(const struct model *m, uint8_t *t)
{
    const struct ent *e = &m->e[rnd() % m->n];
    size_t ulen = e->ikey_len - IKEY_TRAILER;
    memcpy(t, e->ikey, ulen);
    uint64_t seq = ikey_seq(e->ikey, e->ikey_len);
    switch (rnd() % 4) {
    case 0:
        break;
    case 1:
        seq = rnd() % 1100;
        break;
    case 2:
        if (ulen)
            t[rnd() % ulen] ^= (uint8_t)(1 + rnd() % 255);
        break;
    default:
        t[ulen++] = (uint8_t)rnd(); /* a key just after */
    }
    encode_fixed64(t + ulen, ikey_pack(seq, rnd() % 2 ? KIND_MAX : KIND_PUT));
    return ulen + IKEY_TRAILER;
}

/* n_ops random positionings and steps of it, each checked against the
 * model; frees it. */
static void random_ops_match(struct iter *it, const struct model *m, size_t n_ops)
{
    uint8_t t[512];
    size_t pos = m->n; /* m->n: not valid */
    for (size_t op = 0; op < n_ops; op++) {
        switch (rnd() % 7) {
        case 0:
            iter_first(it);
            pos = 0;
            break;
        case 1:
            iter_last(it);
            pos = m->n - 1;
            break;
        case 2: {
            size_t tlen = random_target(m, t);
            iter_seek(it, t, tlen);
            pos = model_lower(m, t, tlen);
            break;
        }
        case 3: {
            size_t tlen = random_target(m, t);
            iter_seek_for_prev(it, t, tlen);
            pos = model_lower(m, t, tlen);
            if (pos == m->n || ikey_compare(m->e[pos].ikey, m->e[pos].ikey_len, t, tlen) > 0)
                pos = pos == 0 ? m->n : pos - 1;
            break;
        }
        case 4:
        case 5:
            if (pos < m->n) {
                iter_next(it);
                pos++;
            }
            break;
        default:
            if (pos < m->n) {
                iter_prev(it);
                pos = pos == 0 ? m->n : pos - 1;
            }
        }
        if (pos < m->n)
            assert_entry(it, &m->e[pos], 0);
        else
            assert_false(iter_valid(it));
        assert_int_equal(iter_status(it), 0);
    }
    iter_free(it);
}

static void check_random_ops(struct sst_reader *r, const struct model *m, size_t n_ops)
{
    struct iter *it;
    assert_int_equal(sst_reader_iter(r, &it), 0);
    random_ops_match(it, m, n_ops);
}

/* The model's answer for get(ukey, snapshot). */
static const struct ent *model_get(const struct model *m, const uint8_t *uk, size_t ulen,
                                   uint64_t snap)
{
    uint8_t t[512];
    ikey_encode(t, uk, ulen, snap, KIND_MAX);
    size_t i = model_lower(m, t, ulen + IKEY_TRAILER);
    if (i < m->n && ukey_compare(m->e[i].ikey, m->e[i].ikey_len - IKEY_TRAILER, uk, ulen) == 0)
        return &m->e[i];
    return NULL;
}

static void check_get(struct sst_reader *r, const struct model *m, const uint8_t *uk, size_t ulen,
                      uint64_t snap)
{
    int kind = -1;
    uint8_t *val = NULL;
    size_t vlen = 0;
    const struct ent *want = model_get(m, uk, ulen, snap);
    int rc = sst_reader_get(r, uk, ulen, snap, &kind, &val, &vlen);
    if (!want) {
        assert_int_equal(rc, CIRRUS_ENOTFOUND);
        return;
    }
    if (rc != 0)
        fail_msg("get: %d %s", rc, cirrus_errmsg());
    assert_int_equal(kind, ikey_kind(want->ikey, want->ikey_len));
    if (kind == KIND_DELETE) {
        assert_null(val);
    } else {
        assert_non_null(val);
        assert_int_equal(vlen, want->val_len);
        if (vlen)
            assert_memory_equal(val, want->val, vlen);
    }
    free(val);
}

static void check_gets(struct sst_reader *r, const struct model *m)
{
    uint64_t snaps[] = {0, 1, 250, 500, 999, 1000, SEQ_COMMITTED_MAX, UINT64_MAX};
    for (size_t i = 0; i < m->n; i++) {
        const struct ent *e = &m->e[i];
        size_t ulen = e->ikey_len - IKEY_TRAILER;
        uint64_t seq = ikey_seq(e->ikey, e->ikey_len);
        check_get(r, m, e->ikey, ulen, seq);
        check_get(r, m, e->ikey, ulen, seq - 1);
        check_get(r, m, e->ikey, ulen, snaps[rnd() % 8]);
    }
    uint8_t t[512];
    for (int i = 0; i < 300; i++) {
        size_t tlen = random_target(m, t);
        check_get(r, m, t, tlen - IKEY_TRAILER, snaps[rnd() % 8]);
    }
}

/* ---- tests ----------------------------------------------------------------- */

static void round_trips_with_every_compression(void **state)
{
    (void)state;
    int comps[] = {CIRRUS_COMPRESSION_NONE, CIRRUS_COMPRESSION_ZSTD, CIRRUS_COMPRESSION_LZ4};
    size_t sizes[3] = {0};
    struct objstore *os = store();
    struct model m = {0};
    model_fill(&m, 3000, 0);
    for (size_t c = 0; c < 3; c++) {
        char name[64];
        struct sst_options o = opts_with(comps[c], 4096, 10);
        struct sst_props props;
        size_t len;
        uint8_t *data = build(&m, &o, &len, &props);
        sizes[c] = len;
        snprintf(name, sizeof(name), "sst/round-%zu.sst", c);
        struct sst_reader *r = put_and_open(os, name, data, len, 0);
        const struct sst_props *rp = sst_reader_props(r);
        assert_int_equal(rp->n_entries, m.n);
        assert_int_equal(rp->file_size, len);
        assert_int_equal(rp->format_version, 1);
        assert_int_equal(rp->n_data_blocks, props.n_data_blocks);
        assert_true(rp->n_data_blocks > 10);
        assert_int_equal(rp->smallest_len, m.e[0].ikey_len - IKEY_TRAILER);
        assert_memory_equal(rp->smallest, m.e[0].ikey, rp->smallest_len);
        assert_int_equal(rp->largest_len, m.e[m.n - 1].ikey_len - IKEY_TRAILER);
        assert_memory_equal(rp->largest, m.e[m.n - 1].ikey, rp->largest_len);
        assert_int_equal(rp->min_seq, props.min_seq);
        assert_int_equal(rp->max_seq, props.max_seq);
        assert_int_equal(rp->n_deletes, props.n_deletes);
        assert_int_equal(rp->raw_key_bytes, props.raw_key_bytes);
        assert_int_equal(rp->raw_value_bytes, props.raw_value_bytes);
        assert_string_equal(sst_reader_name(r), name);
        check_scan(r, &m, 0);
        check_random_ops(r, &m, 3000);
        check_gets(r, &m);
        sst_reader_close(r);
        sst_props_clear(&props);
        free(data);
    }
    /* the values are half compressible: both codecs must have paid */
    assert_true(sizes[1] < sizes[0] * 9 / 10);
    assert_true(sizes[2] < sizes[0] * 9 / 10);
    model_free(&m);
    os->ops->close(os);
}

static void tiny_blocks_and_one_entry_files(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct model m = {0};
    model_add(&m, (const uint8_t *)"", 0, 1, KIND_PUT, NULL, 0);
    size_t len;
    struct sst_options o = opts_with(CIRRUS_COMPRESSION_LZ4, 1, 0);
    uint8_t *data = build(&m, &o, &len, NULL);
    struct sst_reader *r = put_and_open(os, "one.sst", data, len, 0);
    check_scan(r, &m, 0);
    check_gets(r, &m);
    assert_int_equal(sst_reader_may_contain(r, "x", 1), 1); /* no filter */
    sst_reader_close(r);
    free(data);
    model_free(&m);

    /* block_size 1: one entry per block */
    model_fill(&m, 200, 0);
    data = build(&m, &o, &len, NULL);
    r = put_and_open(os, "many.sst", data, len, 0);
    assert_int_equal(sst_reader_props(r)->n_data_blocks, m.n);
    check_scan(r, &m, 0);
    check_random_ops(r, &m, 2000);
    check_gets(r, &m);
    sst_reader_close(r);
    free(data);
    model_free(&m);
    os->ops->close(os);
}

static void open_costs_one_get(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct model m = {0};
    model_fill(&m, 500, 0);
    size_t len;
    struct sst_options o = opts_with(CIRRUS_COMPRESSION_NONE, 1024, 10);
    uint8_t *data = build(&m, &o, &len, NULL);
    assert_int_equal(objstore_put(os, "small.sst", data, len), 0);
    uint64_t before = memstore_get_count(os);
    struct sst_reader *r;
    assert_int_equal(sst_reader_open(&r, os, "small.sst", len, 0, NULL), 0);
    assert_int_equal(memstore_get_count(os) - before, 1);
    /* a get then costs one block read */
    before = memstore_get_count(os);
    check_get(r, &m, m.e[7].ikey, m.e[7].ikey_len - IKEY_TRAILER, UINT64_MAX);
    assert_int_equal(memstore_get_count(os) - before, 1);
    sst_reader_close(r);
    free(data);
    model_free(&m);

    /* an index larger than the tail read: fetched separately, still works */
    model_fill(&m, 4000, 0);
    o = opts_with(CIRRUS_COMPRESSION_ZSTD, 64, 10);
    data = build(&m, &o, &len, NULL);
    assert_int_equal(objstore_put(os, "big.sst", data, len), 0);
    before = memstore_get_count(os);
    assert_int_equal(sst_reader_open(&r, os, "big.sst", len, 0, NULL), 0);
    assert_true(memstore_get_count(os) - before >= 2);
    assert_true(memstore_get_count(os) - before <= 4);
    check_scan(r, &m, 0);
    check_random_ops(r, &m, 1000);
    sst_reader_close(r);
    free(data);
    model_free(&m);
    os->ops->close(os);
}

static void bloom_filter_spares_reads(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct model m = {0};
    for (int i = 0; i < 1000; i++) {
        char k[16];
        int n = snprintf(k, sizeof(k), "key%d", i * 2);
        model_add(&m, (const uint8_t *)k, (size_t)n, 5, KIND_PUT, (const uint8_t *)k, (size_t)n);
    }
    model_sort(&m);
    size_t len;
    struct sst_options o = opts_with(CIRRUS_COMPRESSION_NONE, 4096, 10);
    uint8_t *data = build(&m, &o, &len, NULL);
    struct sst_reader *r = put_and_open(os, "bloom.sst", data, len, 0);
    uint64_t before = memstore_get_count(os);
    size_t maybe = 0;
    for (int i = 0; i < 1000; i++) {
        char k[16];
        int n = snprintf(k, sizeof(k), "key%d", i * 2 + 1);
        maybe += (size_t)sst_reader_may_contain(r, k, (size_t)n);
        check_get(r, &m, (const uint8_t *)k, (size_t)n, 100);
    }
    assert_true(maybe < 30);
    assert_true(memstore_get_count(os) - before <= maybe);
    sst_reader_close(r);
    free(data);
    model_free(&m);
    os->ops->close(os);
}

/* ---- the block cache ----------------------------------------------------- */

/* A model of n keys "key%05d" (seq 5) with ~300-byte values: with 1 KiB
 * blocks, keys 10 apart never share a block. */
static void model_spaced(struct model *m, int n)
{
    uint8_t val[300];
    for (int i = 0; i < n; i++) {
        char k[16];
        int kl = snprintf(k, sizeof(k), "key%05d", i);
        memset(val, 'a' + i % 26, sizeof(val));
        model_add(m, (const uint8_t *)k, (size_t)kl, 5, KIND_PUT, val, sizeof(val));
    }
    model_sort(m);
}

static void get_key(struct sst_reader *r, const struct model *m, int i)
{
    char k[16];
    int kl = snprintf(k, sizeof(k), "key%05d", i);
    check_get(r, m, (const uint8_t *)k, (size_t)kl, UINT64_MAX);
}

static void block_cache_spares_reads(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct block_cache *cache;
    struct block_cache_stats st;
    struct model m = {0};
    model_spaced(&m, 600);
    size_t len;
    struct sst_options o = opts_with(CIRRUS_COMPRESSION_ZSTD, 1024, 10);
    uint8_t *data = build(&m, &o, &len, NULL);
    assert_int_equal(objstore_put(os, "c.sst", data, len), 0);
    assert_int_equal(block_cache_new(&cache, 4 << 20), 0);
    struct sst_reader *r;
    assert_int_equal(sst_reader_open(&r, os, "c.sst", len, 0, cache), 0);
    /* the first get reads its block, the second finds it cached */
    uint64_t before = memstore_get_count(os);
    get_key(r, &m, 42);
    assert_int_equal(memstore_get_count(os) - before, 1);
    before = memstore_get_count(os);
    get_key(r, &m, 42);
    assert_int_equal(memstore_get_count(os) - before, 0);
    block_cache_stats(cache, &st);
    assert_int_equal(st.hits, 1);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.inserts, 1);
    /* a scan fills the cache; a second scan and every get are free */
    check_scan(r, &m, 0);
    before = memstore_get_count(os);
    check_scan(r, &m, 0);
    check_gets(r, &m);
    check_random_ops(r, &m, 500);
    assert_int_equal(memstore_get_count(os) - before, 0);
    /* the cache outlives the reader: a new reader of the file pays its open
     * (the tail) and nothing for cached blocks */
    sst_reader_close(r);
    before = memstore_get_count(os);
    assert_int_equal(sst_reader_open(&r, os, "c.sst", len, 0, cache), 0);
    get_key(r, &m, 42);
    get_key(r, &m, 599);
    assert_int_equal(memstore_get_count(os) - before, 1);
    /* a different file at the same offsets gets nothing of c.sst's */
    struct sst_reader *r2;
    assert_int_equal(objstore_put(os, "d.sst", data, len), 0);
    assert_int_equal(sst_reader_open(&r2, os, "d.sst", len, 0, cache), 0);
    before = memstore_get_count(os);
    get_key(r2, &m, 42);
    assert_int_equal(memstore_get_count(os) - before, 1);
    sst_reader_close(r2);
    sst_reader_close(r);
    block_cache_free(cache);

    /* a cache far smaller than the file: constant eviction, same answers */
    assert_int_equal(block_cache_new(&cache, 6 << 10), 0);
    assert_int_equal(sst_reader_open(&r, os, "c.sst", len, 0, cache), 0);
    check_scan(r, &m, 0);
    check_random_ops(r, &m, 1000);
    check_gets(r, &m);
    block_cache_stats(cache, &st);
    assert_true(st.evictions > 0);
    assert_true(st.bytes_in_use <= 6 << 10);
    sst_reader_close(r);
    block_cache_free(cache);
    free(data);
    model_free(&m);
    os->ops->close(os);
}

/*
 * The cold-read property (issue 4): a reader opened on a cold store does one
 * tail read at open, then exactly one ranged read per get of a key in a
 * block not yet cached, and none for a block that is.
 */
static void cold_reads_cost_one_request_per_block(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct block_cache *cache;
    struct model m = {0};
    model_spaced(&m, 2000);
    size_t len;
    struct sst_options o = opts_with(CIRRUS_COMPRESSION_LZ4, 1024, 10);
    uint8_t *data = build(&m, &o, &len, NULL);
    assert_int_equal(objstore_put(os, "cold.sst", data, len), 0);
    assert_int_equal(block_cache_new(&cache, 64 << 20), 0);
    uint64_t before = memstore_get_count(os);
    struct sst_reader *r;
    assert_int_equal(sst_reader_open(&r, os, "cold.sst", len, 0, cache), 0);
    assert_int_equal(memstore_get_count(os) - before, 1);
    for (int i = 5; i < 2000; i += 97) {
        before = memstore_get_count(os);
        get_key(r, &m, i);
        assert_int_equal(memstore_get_count(os) - before, 1);
        get_key(r, &m, i);
        assert_int_equal(memstore_get_count(os) - before, 1);
    }
    /* a key the filter rules out costs nothing either */
    before = memstore_get_count(os);
    int absent_reads = 0;
    for (int i = 0; i < 50; i++) {
        char k[16];
        int kl = snprintf(k, sizeof(k), "nokey%05d", i);
        absent_reads += sst_reader_may_contain(r, k, (size_t)kl);
        check_get(r, &m, (const uint8_t *)k, (size_t)kl, UINT64_MAX);
    }
    assert_true(memstore_get_count(os) - before <= (uint64_t)absent_reads);
    sst_reader_close(r);
    block_cache_free(cache);
    free(data);
    model_free(&m);
    os->ops->close(os);
}

/*
 * Sequential iterators (compaction input, the changefeed) read a file in
 * windows of `readahead` bytes: one request per window, a small file in one,
 * nothing through the block cache, the same entries as a plain iterator
 * whichever way they move, and a damaged block still an error.
 */
static void sequential_iterators_read_ahead(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct block_cache *cache;
    struct block_cache_stats st;
    struct model m = {0};
    model_spaced(&m, 2000);
    size_t len;
    struct sst_options o = opts_with(CIRRUS_COMPRESSION_NONE, 1024, 10);
    uint8_t *data = build(&m, &o, &len, NULL);
    assert_int_equal(objstore_put(os, "seq.sst", data, len), 0);
    assert_int_equal(block_cache_new(&cache, 64 << 20), 0);
    struct sst_reader *r;
    assert_int_equal(sst_reader_open(&r, os, "seq.sst", len, 0, cache), 0);
    assert_true(len > 64 << 10);
    struct {
        uint64_t readahead, min_gets, max_gets;
    } cases[] = {
        {len, 1, 1}, /* the whole file in one */
        /* one per window; a window ends inside a block, which the next reads again */
        {16 << 10, len / (16 << 10), len / (14 << 10) + 2},
        {1, len / 2048, len}, /* one per block */
    };
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        struct iter *it;
        uint64_t before = memstore_get_count(os);
        size_t i = 0;
        assert_int_equal(sst_reader_iter_sequential(r, cases[c].readahead, &it), 0);
        for (iter_first(it); iter_valid(it); iter_next(it))
            assert_entry(it, &m.e[i++], 0);
        assert_int_equal(iter_status(it), 0);
        assert_int_equal(i, m.n);
        iter_free(it);
        uint64_t gets = memstore_get_count(os) - before;
        if (gets < cases[c].min_gets || gets > cases[c].max_gets)
            fail_msg("readahead %llu: %llu gets for %zu bytes",
                     (unsigned long long)cases[c].readahead, (unsigned long long)gets, len);
        assert_int_equal(sst_reader_iter_sequential(r, cases[c].readahead, &it), 0);
        scan_matches(it, &m, 0);
        assert_int_equal(sst_reader_iter_sequential(r, cases[c].readahead, &it), 0);
        random_ops_match(it, &m, 300);
    }
    block_cache_stats(cache, &st);
    assert_int_equal(st.inserts, 0);
    assert_int_equal(st.bytes_in_use, 0);
    sst_reader_close(r);

    /* a flipped byte in a data block stops the iterator with ECORRUPT */
    data[len / 3] ^= 0xff;
    assert_int_equal(objstore_put(os, "bad.sst", data, len), 0);
    assert_int_equal(sst_reader_open(&r, os, "bad.sst", len, 0, cache), 0);
    struct iter *it;
    size_t n = 0;
    assert_int_equal(sst_reader_iter_sequential(r, 8 << 10, &it), 0);
    for (iter_first(it); iter_valid(it); iter_next(it))
        n++;
    assert_int_equal(iter_status(it), CIRRUS_ECORRUPT);
    assert_true(n < m.n);
    assert_non_null(strstr(cirrus_errmsg(), "bad.sst"));
    iter_free(it);
    sst_reader_close(r);
    block_cache_free(cache);
    free(data);
    model_free(&m);
    os->ops->close(os);
}

static void global_seq_is_substituted(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct model m = {0};
    model_fill(&m, 800, 1); /* every seq 0, one version per key */
    size_t len;
    struct sst_options o = opts_with(CIRRUS_COMPRESSION_LZ4, 512, 10);
    uint8_t *data = build(&m, &o, &len, NULL);
    struct sst_reader *r = put_and_open(os, "l0.sst", data, len, 77);
    check_scan(r, &m, 77);
    for (size_t i = 0; i < m.n; i += 7) {
        const struct ent *e = &m.e[i];
        size_t ulen = e->ikey_len - IKEY_TRAILER;
        int kind;
        uint8_t *val = NULL;
        size_t vlen;
        assert_int_equal(sst_reader_get(r, e->ikey, ulen, 76, &kind, &val, &vlen),
                         CIRRUS_ENOTFOUND);
        assert_int_equal(sst_reader_get(r, e->ikey, ulen, 77, &kind, &val, &vlen), 0);
        assert_int_equal(kind, ikey_kind(e->ikey, e->ikey_len));
        assert_int_equal(vlen, kind == KIND_DELETE ? 0 : e->val_len);
        if (vlen)
            assert_memory_equal(val, e->val, vlen);
        free(val);
        val = NULL;
        assert_int_equal(sst_reader_get(r, e->ikey, ulen, UINT64_MAX, &kind, &val, &vlen), 0);
        free(val);
    }
    /* seeks compare against the substituted seq */
    struct iter *it;
    uint8_t t[512];
    size_t klen, ulen = m.e[3].ikey_len - IKEY_TRAILER;
    assert_int_equal(sst_reader_iter(r, &it), 0);
    ikey_encode(t, m.e[3].ikey, ulen, 78, KIND_MAX);
    iter_seek(it, t, ulen + IKEY_TRAILER);
    assert_entry(it, &m.e[3], 77);
    ikey_encode(t, m.e[3].ikey, ulen, 76, KIND_MAX);
    iter_seek(it, t, ulen + IKEY_TRAILER);
    assert_entry(it, &m.e[4], 77);
    iter_seek_for_prev(it, t, ulen + IKEY_TRAILER);
    assert_entry(it, &m.e[3], 77);
    const uint8_t *k = iter_key(it, &klen);
    assert_int_equal(ikey_seq(k, klen), 77);
    iter_free(it);
    sst_reader_close(r);
    free(data);
    model_free(&m);

    /* a file with real seqs is not an L0 file */
    model_fill(&m, 50, 0);
    data = build(&m, &o, &len, NULL);
    assert_int_equal(objstore_put(os, "notl0.sst", data, len), 0);
    assert_int_equal(sst_reader_open(&r, os, "notl0.sst", len, 77, NULL), CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), "notl0.sst"));
    free(data);
    model_free(&m);
    os->ops->close(os);
}

static void builder_refuses_misuse(void **state)
{
    (void)state;
    struct sst_builder *b;
    struct sst_options o = opts_with(CIRRUS_COMPRESSION_NONE, 4096, 10);
    uint8_t k1[9], k2[9], *data;
    size_t len;
    ikey_encode(k1, "b", 1, 5, KIND_PUT);
    ikey_encode(k2, "a", 1, 5, KIND_PUT);
    assert_int_equal(sst_builder_new(&b, &o), 0);
    assert_int_equal(sst_builder_finish(b, &data, &len, NULL), CIRRUS_EINVALID);
    assert_int_equal(sst_builder_add(b, k1, 4, NULL, 0), CIRRUS_EINVALID);
    assert_int_equal(sst_builder_add(b, k1, 9, NULL, 0), 0);
    assert_int_equal(sst_builder_add(b, k1, 9, NULL, 0), CIRRUS_EINVALID);
    assert_int_equal(sst_builder_add(b, k2, 9, NULL, 0), CIRRUS_EINVALID);
    ikey_encode(k2, "b", 1, 6, KIND_PUT); /* newer seq sorts first */
    assert_int_equal(sst_builder_add(b, k2, 9, NULL, 0), CIRRUS_EINVALID);
    assert_int_equal(sst_builder_finish(b, &data, &len, NULL), 0);
    assert_int_equal(sst_builder_add(b, k2, 9, NULL, 0), CIRRUS_EINVALID);
    free(data);
    sst_builder_free(b);
    o.compression = 9;
    assert_int_equal(sst_builder_new(&b, &o), CIRRUS_EINVALID);
    sst_builder_free(NULL);
}

static void missing_and_short_objects(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct sst_reader *r;
    /* a file a commit names is never "not found" (no key is): it is damage */
    assert_int_equal(sst_reader_open(&r, os, "nope.sst", 1000, 0, NULL), CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), "nope.sst"));
    assert_non_null(strstr(cirrus_errmsg(), "missing"));
    assert_int_equal(objstore_put(os, "short.sst", "abc", 3), 0);
    assert_int_equal(sst_reader_open(&r, os, "short.sst", 3, 0, NULL), CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), "short.sst"));
    /* recorded size larger than the object */
    assert_int_equal(sst_reader_open(&r, os, "short.sst", 100, 0, NULL), CIRRUS_ECORRUPT);
    assert_non_null(strstr(cirrus_errmsg(), "short.sst"));
    os->ops->close(os);
}

/*
 * Opens, scans and gets every key of the file `name` holds; every answer
 * must be right or an error naming the file. Returns 1 if an error was seen.
 */
static int survey(struct objstore *os, const char *name, uint64_t size, const struct model *m)
{
    struct sst_reader *r;
    struct iter *it;
    int errors = 0, rc = sst_reader_open(&r, os, name, size, 0, NULL);
    if (rc < 0) {
        if (rc != CIRRUS_ECORRUPT && rc != CIRRUS_EVERSION)
            fail_msg("open %s: %d %s", name, rc, cirrus_errmsg());
        assert_non_null(strstr(cirrus_errmsg(), name));
        return 1;
    }
    assert_int_equal(sst_reader_iter(r, &it), 0);
    size_t i = 0;
    for (iter_first(it); iter_valid(it); iter_next(it))
        assert_entry(it, &m->e[i++], 0);
    if ((rc = iter_status(it)) < 0) {
        assert_int_equal(rc, CIRRUS_ECORRUPT);
        assert_non_null(strstr(cirrus_errmsg(), name));
        errors = 1;
    } else {
        assert_int_equal(i, m->n);
    }
    iter_free(it);
    for (i = 0; i < m->n; i++) {
        const struct ent *e = &m->e[i];
        int kind;
        uint8_t *val = NULL;
        size_t vlen;
        rc = sst_reader_get(r, e->ikey, e->ikey_len - IKEY_TRAILER, UINT64_MAX, &kind, &val, &vlen);
        if (rc == CIRRUS_ECORRUPT) {
            assert_non_null(strstr(cirrus_errmsg(), name));
            errors = 1;
            continue;
        }
        /* the model has one version per key here */
        assert_int_equal(rc, 0);
        assert_int_equal(kind, ikey_kind(e->ikey, e->ikey_len));
        assert_int_equal(vlen, kind == KIND_DELETE ? 0 : e->val_len);
        if (vlen)
            assert_memory_equal(val, e->val, vlen);
        free(val);
    }
    sst_reader_close(r);
    return errors;
}

static void corruption_is_detected_never_misread(void **state)
{
    (void)state;
    int comps[] = {CIRRUS_COMPRESSION_NONE, CIRRUS_COMPRESSION_LZ4, CIRRUS_COMPRESSION_ZSTD};
    struct objstore *os = store();
    for (size_t c = 0; c < 3; c++) {
        struct model m = {0};
        for (int i = 0; i < 24; i++) {
            char k[16], v[40];
            int kn = snprintf(k, sizeof(k), "k%03d", i);
            int vn = snprintf(v, sizeof(v), "value-%d-aaaaaaaaaaaaaaaaaaaaaaaa", i);
            model_add(&m, (const uint8_t *)k, (size_t)kn, (uint64_t)i + 1,
                      i % 5 ? KIND_PUT : KIND_DELETE, (const uint8_t *)v, i % 5 ? (size_t)vn : 0);
        }
        model_sort(&m);
        size_t len;
        struct sst_options o = opts_with(comps[c], 128, 10);
        uint8_t *data = build(&m, &o, &len, NULL);
        uint8_t *copy = malloc(len);
        char name[64];
        assert_non_null(copy);
        snprintf(name, sizeof(name), "ok/%zu.sst", c);
        assert_int_equal(objstore_put(os, name, data, len), 0);
        assert_int_equal(survey(os, name, len, &m), 0);
        for (size_t i = 0; i < len; i++) {
            memcpy(copy, data, len);
            copy[i] ^= 0xff;
            snprintf(name, sizeof(name), "flip/%zu-%zu.sst", c, i);
            assert_int_equal(objstore_put(os, name, copy, len), 0);
            /* every byte is under a checksum or the magic */
            if (!survey(os, name, len, &m))
                fail_msg("flipping byte %zu of %zu went unnoticed", i, len);
            objstore_del(os, name);
            copy[i] ^= 0x80;
            assert_int_equal(objstore_put(os, name, copy, len), 0);
            if (!survey(os, name, len, &m))
                fail_msg("changing byte %zu of %zu went unnoticed", i, len);
            objstore_del(os, name);
        }
        for (size_t n = 0; n < len; n++) {
            snprintf(name, sizeof(name), "trunc/%zu-%zu.sst", c, n);
            assert_int_equal(objstore_put(os, name, data, n), 0);
            assert_int_equal(survey(os, name, n, &m), 1);
            /* the commit entry says len but the object is short */
            assert_int_equal(survey(os, name, len, &m), 1);
            objstore_del(os, name);
        }
        free(copy);
        free(data);
        model_free(&m);
    }
    os->ops->close(os);
}

static void unknown_version_is_eversion(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct model m = {0};
    model_add(&m, (const uint8_t *)"k", 1, 1, KIND_PUT, (const uint8_t *)"v", 1);
    size_t len;
    struct sst_options o = opts_with(CIRRUS_COMPRESSION_NONE, 4096, 0);
    uint8_t *data = build(&m, &o, &len, NULL);
    uint8_t *f = data + len - 64;
    encode_fixed32(f + 48, 2);
    /* re-seal the footer so only the version is wrong */
    encode_fixed32(f + 52, checksum32(f, 52));
    assert_int_equal(objstore_put(os, "v2.sst", data, len), 0);
    struct sst_reader *r;
    assert_int_equal(sst_reader_open(&r, os, "v2.sst", len, 0, NULL), CIRRUS_EVERSION);
    assert_non_null(strstr(cirrus_errmsg(), "v2.sst"));
    free(data);
    model_free(&m);
    os->ops->close(os);
}

struct thread_arg {
    struct sst_reader *r;
    const struct model *m;
    size_t start;
    int failures;
};

static void *reader_thread(void *p)
{
    struct thread_arg *a = p;
    for (size_t i = a->start; i < a->m->n; i += 3) {
        const struct ent *e = &a->m->e[i];
        int kind;
        uint8_t *val = NULL;
        size_t vlen;
        if (sst_reader_get(a->r, e->ikey, e->ikey_len - IKEY_TRAILER,
                           ikey_seq(e->ikey, e->ikey_len), &kind, &val, &vlen) != 0 ||
            kind != ikey_kind(e->ikey, e->ikey_len) ||
            (kind == KIND_PUT && (vlen != e->val_len || (vlen && memcmp(val, e->val, vlen)))))
            a->failures++;
        free(val);
    }
    struct iter *it;
    if (sst_reader_iter(a->r, &it) == 0) {
        size_t n = 0;
        for (iter_first(it); iter_valid(it); iter_next(it))
            n++;
        a->failures += n != a->m->n;
        iter_free(it);
    }
    return NULL;
}

static void readers_share_a_file_across_threads(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct model m = {0};
    model_fill(&m, 1500, 0);
    size_t len;
    struct sst_options o = opts_with(CIRRUS_COMPRESSION_ZSTD, 2048, 10);
    uint8_t *data = build(&m, &o, &len, NULL);
    struct sst_reader *r = put_and_open(os, "shared.sst", data, len, 0);
    pthread_t th[3];
    struct thread_arg args[3];
    for (size_t i = 0; i < 3; i++) {
        args[i] = (struct thread_arg){r, &m, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, reader_thread, &args[i]), 0);
    }
    for (size_t i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    sst_reader_close(r);
    free(data);
    model_free(&m);
    os->ops->close(os);
}

static void checksum_errors_name_block_and_offset(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct model m = {0};
    model_add(&m, (const uint8_t *)"k", 1, 1, KIND_PUT, (const uint8_t *)"v", 1);
    size_t len;
    struct sst_options o = opts_with(CIRRUS_COMPRESSION_NONE, 4096, 10);
    uint8_t *data = build(&m, &o, &len, NULL);
    data[2] ^= 1; /* inside data block 0 */
    assert_int_equal(objstore_put(os, "sst/bad.sst", data, len), 0);
    struct sst_reader *r;
    int kind;
    uint8_t *val = NULL;
    size_t vlen;
    assert_int_equal(sst_reader_open(&r, os, "sst/bad.sst", len, 0, NULL), 0);
    assert_int_equal(sst_reader_get(r, "k", 1, 10, &kind, &val, &vlen), CIRRUS_ECORRUPT);
    const char *msg = cirrus_errmsg();
    assert_non_null(strstr(msg, "sst/bad.sst: data block at offset 0: checksum mismatch (stored "));
    assert_non_null(strstr(msg, ", computed "));
    sst_reader_close(r);
    free(data);
    model_free(&m);
    os->ops->close(os);
}

static void memstore_honours_the_contract(void **state)
{
    (void)state;
    struct objstore *os = store();
    uint8_t buf[16];
    size_t got = 99;
    uint64_t size;
    assert_int_equal(objstore_put(os, "a/b", "hello", 5), 0);
    assert_int_equal(objstore_put(os, "a/b", "world", 5), CIRRUS_EEXISTS);
    assert_int_equal(objstore_get(os, "a/b", 3, 10, buf, &got), 0);
    assert_int_equal(got, 2);
    assert_memory_equal(buf, "lo", 2);
    assert_int_equal(objstore_get(os, "a/b", 9, 10, buf, &got), 0);
    assert_int_equal(got, 0);
    assert_int_equal(objstore_get(os, "a/c", 0, 1, buf, &got), CIRRUS_ENOTFOUND);
    assert_int_equal(objstore_head(os, "a/b", &size), 0);
    assert_int_equal(size, 5);
    assert_int_equal(objstore_put(os, "/abs", "x", 1), CIRRUS_EINVALID);
    assert_int_equal(objstore_del(os, "a/b"), 0);
    assert_int_equal(objstore_del(os, "a/b"), 0);
    assert_int_equal(objstore_head(os, "a/b", &size), CIRRUS_ENOTFOUND);
    os->ops->close(os);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trips_with_every_compression),
        cmocka_unit_test(tiny_blocks_and_one_entry_files),
        cmocka_unit_test(open_costs_one_get),
        cmocka_unit_test(bloom_filter_spares_reads),
        cmocka_unit_test(block_cache_spares_reads),
        cmocka_unit_test(cold_reads_cost_one_request_per_block),
        cmocka_unit_test(sequential_iterators_read_ahead),
        cmocka_unit_test(global_seq_is_substituted),
        cmocka_unit_test(builder_refuses_misuse),
        cmocka_unit_test(missing_and_short_objects),
        cmocka_unit_test(corruption_is_detected_never_misread),
        cmocka_unit_test(unknown_version_is_eversion),
        cmocka_unit_test(readers_share_a_file_across_threads),
        cmocka_unit_test(checksum_errors_name_block_and_offset),
        cmocka_unit_test(memstore_honours_the_contract),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
