/* cirrus-test-libs: dbmem table util */
/*
 * test_memtable.c - the memtable against a sorted-array model: random adds
 * (binary keys, empty keys and values, values past the arena's big-allocation
 * threshold), gets at many snapshots, full scans both ways, seeks and
 * random next/prev walks; one writer with concurrent readers; lifetime.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <stdatomic.h>
#include <cmocka.h>

#include "db/memtable.h"
#include "table/ikey.h"
#include "util/status.h"

#define KEY_MAX 6 /* user key bytes, at most */

/* One model entry: the user key, the trailer fields and the value. */
struct ment {
    uint8_t ukey[KEY_MAX];
    size_t ukey_len;
    uint64_t seq;
    int kind;
    uint8_t *val; /* malloc'd; NULL when empty */
    size_t val_len;
    uint8_t ikey[KEY_MAX + IKEY_TRAILER];
    size_t ikey_len;
};

struct model {
    struct ment *e;
    size_t n, cap;
};

/* Deterministic test randomness (the memtable has its own). */
static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void)
{
    uint64_t x = rng_state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    rng_state = x;
    return x;
}

/* A user key from a small space so that keys repeat: lengths 0..KEY_MAX,
 * bytes from {0x00, 0x01, 'a', 0xff} to exercise binary order and prefixes. */
static size_t rand_ukey(uint8_t *out)
{
    static const uint8_t alphabet[] = {0x00, 0x01, 'a', 0xff};
    size_t len = (size_t)(rnd() % 4);
    for (size_t i = 0; i < len; i++)
        out[i] = alphabet[rnd() % 4];
    return len;
}

static int ment_cmp(const void *a, const void *b)
{
    const struct ment *x = a, *y = b;
    return ikey_compare(x->ikey, x->ikey_len, y->ikey, y->ikey_len);
}

static void model_add(struct model *md, const uint8_t *ukey, size_t ukey_len, uint64_t seq,
                      int kind, const uint8_t *val, size_t val_len)
{
    if (md->n == md->cap) {
        md->cap = md->cap ? md->cap * 2 : 64;
        md->e = realloc(md->e, md->cap * sizeof(*md->e));
        assert_non_null(md->e);
    }
    struct ment *e = &md->e[md->n++];
    memset(e, 0, sizeof(*e));
    memcpy(e->ukey, ukey, ukey_len);
    e->ukey_len = ukey_len;
    e->seq = seq;
    e->kind = kind;
    if (val_len) {
        e->val = malloc(val_len);
        assert_non_null(e->val);
        memcpy(e->val, val, val_len);
    }
    e->val_len = val_len;
    ikey_encode(e->ikey, ukey, ukey_len, seq, kind);
    e->ikey_len = ukey_len + IKEY_TRAILER;
}

static void model_sort(struct model *md)
{
    qsort(md->e, md->n, sizeof(*md->e), ment_cmp);
}

static void model_free(struct model *md)
{
    for (size_t i = 0; i < md->n; i++)
        free(md->e[i].val);
    free(md->e);
    memset(md, 0, sizeof(*md));
}

/* Index of the first entry >= target (n if none). */
static size_t model_lower(const struct model *md, const uint8_t *t, size_t tlen)
{
    size_t i = 0;
    while (i < md->n && ikey_compare(md->e[i].ikey, md->e[i].ikey_len, t, tlen) < 0)
        i++;
    return i;
}

/* Index of the last entry <= target, or SIZE_MAX if none. */
static size_t model_floor(const struct model *md, const uint8_t *t, size_t tlen)
{
    size_t i = md->n;
    while (i > 0 && ikey_compare(md->e[i - 1].ikey, md->e[i - 1].ikey_len, t, tlen) > 0)
        i--;
    return i == 0 ? SIZE_MAX : i - 1;
}

/* The iterator sits on model entry i (or is invalid if i is out of range). */
static void check_at(struct iter *it, const struct model *md, size_t i)
{
    if (i >= md->n) {
        assert_false(iter_valid(it));
        return;
    }
    assert_true(iter_valid(it));
    size_t klen, vlen;
    const uint8_t *k = iter_key(it, &klen), *v = iter_value(it, &vlen);
    assert_int_equal(klen, md->e[i].ikey_len);
    assert_memory_equal(k, md->e[i].ikey, klen);
    assert_int_equal(vlen, md->e[i].val_len);
    if (vlen)
        assert_memory_equal(v, md->e[i].val, vlen);
}

/* Full scans, seeks and a random walk of `it` against md (sorted). */
static void check_iter(struct iter *it, const struct model *md)
{
    size_t i = 0;
    for (iter_first(it); iter_valid(it); iter_next(it))
        check_at(it, md, i++);
    assert_int_equal(i, md->n);
    assert_int_equal(iter_status(it), 0);
    i = md->n;
    for (iter_last(it); iter_valid(it); iter_prev(it))
        check_at(it, md, --i);
    assert_int_equal(i, 0);

    for (int s = 0; s < 300; s++) {
        uint8_t t[KEY_MAX + IKEY_TRAILER];
        size_t ulen = rand_ukey(t);
        /* seqs around the used range, kinds including KIND_MAX */
        uint64_t seq = rnd() % (md->n + 3);
        int kind = (int)(rnd() % 3 == 0 ? KIND_MAX : rnd() % 2);
        encode_fixed64(t + ulen, ikey_pack(seq, kind));
        size_t tlen = ulen + IKEY_TRAILER;

        iter_seek(it, t, tlen);
        size_t pos = model_lower(md, t, tlen);
        check_at(it, md, pos);
        iter_seek_for_prev(it, t, tlen);
        size_t fpos = model_floor(md, t, tlen);
        check_at(it, md, fpos);

        /* a walk with direction changes from the floor position */
        pos = fpos;
        for (int step = 0; step < 20 && pos < md->n; step++) {
            if (rnd() % 2) {
                iter_next(it);
                pos = pos + 1 < md->n ? pos + 1 : SIZE_MAX;
            } else {
                iter_prev(it);
                pos = pos == 0 ? SIZE_MAX : pos - 1;
            }
            check_at(it, md, pos);
        }
    }
}

/* The newest model entry for ukey with seq <= snap, or NULL. */
static const struct ment *model_get(const struct model *md, const uint8_t *ukey, size_t len,
                                    uint64_t snap)
{
    const struct ment *best = NULL;
    for (size_t i = 0; i < md->n; i++) {
        const struct ment *e = &md->e[i];
        if (e->seq <= snap && ukey_compare(e->ukey, e->ukey_len, ukey, len) == 0 &&
            (!best || e->seq > best->seq))
            best = e;
    }
    return best;
}

static void check_gets(struct memtable *m, const struct model *md, uint64_t max_seq)
{
    for (int g = 0; g < 300; g++) {
        uint8_t uk[KEY_MAX];
        size_t ulen = rand_ukey(uk);
        uint64_t snap = g % 10 == 0 ? SEQ_MAX : rnd() % (max_seq + 2);
        const struct ment *want = model_get(md, uk, ulen, snap);
        int kind = -1;
        const uint8_t *val = NULL;
        size_t vlen = 0;
        int rc = memtable_get(m, uk, ulen, snap, &kind, &val, &vlen);
        if (!want) {
            assert_int_equal(rc, CIRRUS_ENOTFOUND);
            continue;
        }
        assert_int_equal(rc, 0);
        assert_int_equal(kind, want->kind);
        assert_int_equal(vlen, want->val_len);
        if (vlen)
            assert_memory_equal(val, want->val, vlen);
    }
}

static void random_ops_match_the_model(void **state)
{
    (void)state;
    struct memtable *m = NULL;
    struct model md = {0};
    struct iter *it = NULL;
    size_t big = 300 * 1024; /* above the arena's dedicated-block threshold */
    uint8_t *vbuf = malloc(big);
    uint64_t seq = 0;
    assert_non_null(vbuf);
    assert_int_equal(memtable_new(&m), 0);
    assert_int_equal(memtable_count(m), 0);
    assert_int_equal(memtable_iter(m, &it), 0);
    check_iter(it, &md); /* empty */

    for (int round = 0; round < 6; round++) {
        for (int a = 0; a < 150; a++) {
            uint8_t uk[KEY_MAX];
            size_t ulen = rand_ukey(uk);
            /* mostly small values, some empty, a few large */
            size_t r = rnd() % 50, vlen = r < 10 ? 0 : r < 48 ? (size_t)(rnd() % 40) : big;
            for (size_t b = 0; b < vlen; b++)
                vbuf[b] = (uint8_t)(seq + b);
            int kind = rnd() % 5 == 0 ? KIND_DELETE : KIND_PUT;
            size_t before = memtable_bytes(m);
            seq++;
            assert_int_equal(memtable_add(m, seq, kind, uk, ulen, vbuf, vlen), 0);
            assert_true(memtable_bytes(m) >= before + ulen + IKEY_TRAILER + vlen);
            model_add(&md, uk, ulen, seq, kind, vbuf, vlen);
        }
        model_sort(&md);
        assert_int_equal(memtable_count(m), md.n);
        check_gets(m, &md, seq);
        /* the iterator made before the adds sees them too */
        check_iter(it, &md);
    }
    iter_free(it);
    memtable_unref(m);
    model_free(&md);
    free(vbuf);
}

static void get_respects_snapshots_and_kinds(void **state)
{
    (void)state;
    struct memtable *m = NULL;
    int kind;
    const uint8_t *v;
    size_t vlen;
    assert_int_equal(memtable_new(&m), 0);
    assert_int_equal(memtable_add(m, 5, KIND_PUT, "k", 1, "v5", 2), 0);
    assert_int_equal(memtable_add(m, 9, KIND_DELETE, "k", 1, "", 0), 0);
    assert_int_equal(memtable_add(m, 12, KIND_PUT, "k", 1, "v12", 3), 0);
    assert_int_equal(memtable_add(m, 7, KIND_PUT, "k\0", 2, "z", 1), 0);
    assert_int_equal(memtable_get(m, "k", 1, 4, &kind, &v, &vlen), CIRRUS_ENOTFOUND);
    assert_int_equal(memtable_get(m, "k", 1, 5, &kind, &v, &vlen), 0);
    assert_int_equal(kind, KIND_PUT);
    assert_int_equal(vlen, 2);
    assert_memory_equal(v, "v5", 2);
    assert_int_equal(memtable_get(m, "k", 1, 11, &kind, &v, &vlen), 0);
    assert_int_equal(kind, KIND_DELETE);
    assert_int_equal(vlen, 0);
    assert_int_equal(memtable_get(m, "k", 1, SEQ_MAX, &kind, &v, &vlen), 0);
    assert_memory_equal(v, "v12", 3);
    /* an out-of-range snapshot is clamped, not wrapped */
    assert_int_equal(memtable_get(m, "k", 1, UINT64_MAX, &kind, &v, &vlen), 0);
    assert_memory_equal(v, "v12", 3);
    /* a key that is a prefix of, or extends, another is a different key */
    assert_int_equal(memtable_get(m, "", 0, SEQ_MAX, &kind, &v, &vlen), CIRRUS_ENOTFOUND);
    assert_int_equal(memtable_get(m, "k\0", 2, 6, &kind, &v, &vlen), CIRRUS_ENOTFOUND);
    assert_int_equal(memtable_get(m, "k\0", 2, 7, &kind, &v, &vlen), 0);
    assert_memory_equal(v, "z", 1);
    assert_int_equal(memtable_get(m, "k\0\0", 3, SEQ_MAX, &kind, &v, &vlen), CIRRUS_ENOTFOUND);
    memtable_unref(m);
}

static void iterator_keeps_the_memtable_alive(void **state)
{
    (void)state;
    struct memtable *m = NULL;
    struct iter *it = NULL;
    size_t klen, vlen;
    assert_int_equal(memtable_new(&m), 0);
    assert_int_equal(memtable_add(m, 1, KIND_PUT, "a", 1, "1", 1), 0);
    assert_int_equal(memtable_add(m, 2, KIND_PUT, "b", 1, "2", 1), 0);
    assert_int_equal(memtable_iter(m, &it), 0);
    memtable_ref(m);
    memtable_unref(m);
    memtable_unref(m); /* the owner's last reference: the iterator's remains */
    iter_last(it);
    assert_true(iter_valid(it));
    assert_memory_equal(iter_key(it, &klen), "b", 1);
    assert_memory_equal(iter_value(it, &vlen), "2", 1);
    iter_prev(it);
    assert_memory_equal(iter_key(it, &klen), "a", 1);
    iter_prev(it);
    assert_false(iter_valid(it));
    iter_free(it); /* frees the memtable; ASan reports a leak or misuse */
    memtable_unref(NULL);
    iter_free(NULL);
}

/* ---- one writer, three readers --------------------------------------- */

#define CONC_N 20000
#define CONC_READERS 3

struct conc {
    struct memtable *m;
    atomic_size_t added; /* entries the writer finished adding */
    atomic_int done;
};

/* The i-th key written: a permutation of 0..CONC_N-1 so inserts land all
 * over the list, not only at its end. */
static uint32_t conc_id(size_t i)
{
    return (uint32_t)((i * 7919u) % CONC_N);
}

static void conc_key(uint8_t *out, uint32_t id)
{
    /* big-endian so that byte order is numeric order */
    out[0] = (uint8_t)(id >> 24);
    out[1] = (uint8_t)(id >> 16);
    out[2] = (uint8_t)(id >> 8);
    out[3] = (uint8_t)id;
}

/* The value of key id: its length and bytes derive from id, so a reader can
 * tell a complete entry from a torn one. */
static size_t conc_val(uint8_t *out, uint32_t id)
{
    size_t len = id % 64;
    for (size_t i = 0; i < len; i++)
        out[i] = (uint8_t)(id * 31 + i);
    return len;
}

static void *conc_writer(void *arg)
{
    struct conc *c = arg;
    uint8_t k[4], v[64];
    intptr_t fails = 0;
    for (size_t i = 0; i < CONC_N; i++) {
        uint32_t id = conc_id(i);
        conc_key(k, id);
        size_t vlen = conc_val(v, id);
        if (memtable_add(c->m, i + 1, KIND_PUT, k, 4, v, vlen) < 0)
            fails++;
        atomic_store_explicit(&c->added, i + 1, memory_order_release);
    }
    atomic_store_explicit(&c->done, 1, memory_order_release);
    return (void *)fails;
}

/* 1 if the iterator's entry is complete and consistent. */
static int conc_entry_ok(struct iter *it, uint32_t *id_out)
{
    size_t klen, vlen;
    const uint8_t *k = iter_key(it, &klen), *v = iter_value(it, &vlen);
    uint8_t want[64];
    *id_out = UINT32_MAX;
    if (klen != 4 + IKEY_TRAILER)
        return 0;
    *id_out = (uint32_t)k[0] << 24 | (uint32_t)k[1] << 16 | (uint32_t)k[2] << 8 | k[3];
    size_t wlen = conc_val(want, *id_out);
    return *id_out < CONC_N && vlen == wlen && (wlen == 0 || memcmp(v, want, wlen) == 0);
}

static void *conc_reader(void *arg)
{
    struct conc *c = arg;
    struct iter *it = NULL;
    intptr_t fails = 0;
    size_t last_count = 0;
    if (memtable_iter(c->m, &it) < 0)
        return (void *)1;
    for (int pass = 0; !atomic_load_explicit(&c->done, memory_order_acquire) || pass < 2; pass++) {
        /* everything the writer finished before the scan must appear */
        size_t floor = atomic_load_explicit(&c->added, memory_order_acquire), seen = 0;
        uint32_t id, prev_id = 0;
        for (iter_first(it); iter_valid(it); iter_next(it), seen++) {
            if (!conc_entry_ok(it, &id) || (seen && id <= prev_id))
                fails++;
            prev_id = id;
        }
        if (seen < floor || seen < last_count)
            fails++;
        last_count = seen;
        /* a short backward walk from the end, and point reads */
        iter_last(it);
        for (int s = 0; s < 50 && iter_valid(it); s++, iter_prev(it)) {
            if (!conc_entry_ok(it, &id) || (s && id >= prev_id))
                fails++;
            prev_id = id;
        }
        for (size_t g = 0; g < 50 && floor; g++) {
            uint8_t k[4];
            int kind;
            const uint8_t *v;
            size_t vlen;
            id = conc_id((g * 131) % floor);
            conc_key(k, id);
            if (memtable_get(c->m, k, 4, SEQ_MAX, &kind, &v, &vlen) != 0 || kind != KIND_PUT ||
                vlen != id % 64)
                fails++;
        }
    }
    iter_free(it);
    return (void *)fails;
}

static void readers_see_sorted_complete_entries_during_writes(void **state)
{
    (void)state;
    struct conc c;
    pthread_t w, r[CONC_READERS];
    void *res;
    memset(&c, 0, sizeof(c));
    assert_int_equal(memtable_new(&c.m), 0);
    atomic_init(&c.added, 0);
    atomic_init(&c.done, 0);
    for (int i = 0; i < CONC_READERS; i++)
        assert_int_equal(pthread_create(&r[i], NULL, conc_reader, &c), 0);
    assert_int_equal(pthread_create(&w, NULL, conc_writer, &c), 0);
    assert_int_equal(pthread_join(w, &res), 0);
    assert_int_equal((intptr_t)res, 0);
    for (int i = 0; i < CONC_READERS; i++) {
        assert_int_equal(pthread_join(r[i], &res), 0);
        assert_int_equal((intptr_t)res, 0);
    }
    assert_int_equal(memtable_count(c.m), CONC_N);
    memtable_unref(c.m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(random_ops_match_the_model),
        cmocka_unit_test(get_respects_snapshots_and_kinds),
        cmocka_unit_test(iterator_keeps_the_memtable_alive),
        cmocka_unit_test(readers_see_sorted_complete_entries_during_writes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
