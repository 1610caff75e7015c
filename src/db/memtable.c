/*
 * memtable.c - a skiplist of internal keys in an arena (contract: memtable.h).
 *
 * Layout. Each entry is one arena allocation:
 *
 *   struct node | next[height] | internal key (ukey ‖ trailer) | value
 *
 * The head node has MT_MAX_HEIGHT levels and no key. The list at level 0
 * holds every entry in internal key order; level i > 0 holds a subset, each
 * node promoted with probability 1/4, so a search skips ~3/4 of the nodes per
 * level and costs O(log n) expected.
 *
 * Concurrency invariants (one writer, any number of lock-free readers):
 *   1. A node's key, value, lengths and its own next[] are written before the
 *      node is published; publishing is a release store into a predecessor's
 *      next[i]. Readers load next[i] with acquire, so whatever node they reach
 *      is fully built (the release/acquire pair orders the writes before it).
 *   2. A node is linked bottom-up: level 0 first. A reader that sees it at
 *      level i also finds it at every lower level, and a reader that misses
 *      it at a higher level still finds it by descending.
 *   3. Nodes are never unlinked or freed until the memtable is; so a node a
 *      reader holds stays valid while the reader holds a reference.
 *   4. max_height only grows. A reader that sees a new height before the
 *      head's next[] at that level is set finds NULL there and descends, which
 *      is correct (the head's next[] start as NULL).
 *
 * The arena itself is touched only by the writer; readers reach arena memory
 * only through published nodes (invariant 1).
 */
#include "db/memtable.h"

#include <stdalign.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "table/ikey.h"
#include "util/status.h"
#include "util/sys.h"

#define MT_MAX_HEIGHT 12
/* Arena blocks; an allocation larger than a quarter of a block gets a block
 * of its own so that big values do not waste the rest of the current one. */
#define ARENA_BLOCK ((size_t)1 << 20)
#define ARENA_BIG (ARENA_BLOCK / 4)

struct arena_block {
    struct arena_block *next;
    size_t cap; /* bytes of data[] */
    alignas(max_align_t) unsigned char data[];
};

struct arena {
    struct arena_block *blocks; /* every block, newest first; freed together */
    unsigned char *ptr;         /* free space in the current small block */
    size_t left;                /* bytes free at ptr */
};

struct node {
    const uint8_t *key; /* internal key: ukey ‖ 8-byte trailer */
    size_t key_len;     /* bytes, >= IKEY_TRAILER */
    size_t val_len;     /* bytes; the value follows the key */
    _Atomic(struct node *) next[];
};

struct memtable {
    atomic_size_t refs;
    atomic_int max_height; /* levels in use, 1..MT_MAX_HEIGHT */
    atomic_size_t count;   /* entries */
    atomic_size_t bytes;   /* arena bytes handed out (incl. alignment) */
    uint64_t rng;          /* xorshift state for heights; writer only */
    struct node *head;
    struct arena arena;
};

/* ---- arena ---------------------------------------------------------- */

static struct arena_block *arena_block_new(struct arena *a, size_t cap)
{
    struct arena_block *b = malloc(sizeof(*b) + cap);
    if (b) {
        b->cap = cap;
        b->next = a->blocks;
        a->blocks = b;
    }
    return b;
}

/* n bytes aligned for struct node, or NULL. *used_out gets n plus padding. */
static void *arena_alloc(struct arena *a, size_t n, size_t *used_out)
{
    const size_t align = alignof(struct node);
    size_t pad = (align - ((uintptr_t)a->ptr & (align - 1))) & (align - 1);
    struct arena_block *b;
    void *p = NULL;
    if (a->ptr && pad + n <= a->left) {
        p = a->ptr + pad;
        a->ptr += pad + n;
        a->left -= pad + n;
        *used_out = pad + n;
        goto done;
    }
    if (n > ARENA_BIG) {
        /* a dedicated block: the current one keeps its free space */
        if ((b = arena_block_new(a, n)) != NULL) {
            p = b->data;
            *used_out = n;
        }
        goto done;
    }
    if ((b = arena_block_new(a, ARENA_BLOCK)) != NULL) {
        p = b->data;
        a->ptr = b->data + n;
        a->left = ARENA_BLOCK - n;
        *used_out = n;
    }
done:
    return p;
}

static void arena_free(struct arena *a)
{
    struct arena_block *b = a->blocks;
    while (b) {
        struct arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->blocks = NULL;
}

/* ---- skiplist ------------------------------------------------------- */

/* A search target, kept split so memtable_get needs no key buffer. */
struct target {
    const uint8_t *ukey;
    size_t ukey_len;
    uint64_t trailer;
};

/* <0, 0, >0 as node's key orders before, equal to, after t. */
static int node_cmp(const struct node *n, const struct target *t)
{
    int c = ukey_compare(n->key, ikey_user_len(n->key_len), t->ukey, t->ukey_len);
    if (c == 0) {
        /* seqs order descending: newer first; the kind takes no part
         * (ikey.h) */
        uint64_t sn = ikey_trailer(n->key, n->key_len) >> 8, st = t->trailer >> 8;
        c = sn > st ? -1 : sn < st ? 1 : 0;
    }
    return c;
}

/* An encoded internal key as a target. Keys shorter than a trailer are not
 * internal keys; treat their bytes as a user key sorting before all of its
 * versions rather than read past the end. */
static struct target target_of(const uint8_t *ikey, size_t len)
{
    struct target t = {ikey, len, UINT64_MAX};
    if (len >= IKEY_TRAILER) {
        t.ukey_len = ikey_user_len(len);
        t.trailer = ikey_trailer(ikey, len);
    }
    return t;
}

static struct node *next_at(const struct node *n, int level)
{
    return atomic_load_explicit(&n->next[level], memory_order_acquire);
}

static int height_now(const struct memtable *m)
{
    return atomic_load_explicit(&m->max_height, memory_order_relaxed);
}

/* First node >= t, or NULL. If prev is given, prev[i] gets the last node < t
 * at each level (the insert splice points). */
static struct node *find_ge(const struct memtable *m, const struct target *t, struct node **prev)
{
    struct node *x = m->head, *res = NULL;
    int level = height_now(m) - 1;
    for (;;) {
        struct node *nx = next_at(x, level);
        if (nx && node_cmp(nx, t) < 0) {
            x = nx;
            continue;
        }
        if (prev)
            prev[level] = x;
        if (level == 0) {
            res = nx;
            break;
        }
        level--;
    }
    return res;
}

/* Last node < t (or <= t if or_equal), or NULL if there is none. */
static struct node *find_lt(const struct memtable *m, const struct target *t, int or_equal)
{
    struct node *x = m->head;
    int level = height_now(m) - 1;
    while (level >= 0) {
        struct node *nx = next_at(x, level);
        int c = nx ? node_cmp(nx, t) : 1;
        if (c < 0 || (or_equal && c == 0))
            x = nx;
        else
            level--;
    }
    return x == m->head ? NULL : x;
}

static struct node *find_last(const struct memtable *m)
{
    struct node *x = m->head;
    int level = height_now(m) - 1;
    while (level >= 0) {
        struct node *nx = next_at(x, level);
        if (nx)
            x = nx;
        else
            level--;
    }
    return x == m->head ? NULL : x;
}

/* 1 + a geometric variable with p = 1/4, capped: two random bits a level. */
static int random_height(struct memtable *m)
{
    int h = 1;
    /* xorshift64: cheap, and quality is irrelevant beyond rough balance */
    uint64_t x = m->rng;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    m->rng = x;
    while (h < MT_MAX_HEIGHT && (x & 3) == 0) {
        h++;
        x >>= 2;
    }
    return h;
}

static size_t node_size(int height)
{
    return sizeof(struct node) + (size_t)height * sizeof(_Atomic(struct node *));
}

/* ---- memtable ------------------------------------------------------- */

int memtable_new(struct memtable **out)
{
    struct memtable *m = calloc(1, sizeof(*m));
    size_t used = 0;
    int rc = 0;
    if (!m) {
        rc = err_nomem();
        goto done;
    }
    if (!(m->head = arena_alloc(&m->arena, node_size(MT_MAX_HEIGHT), &used))) {
        rc = err_nomem();
        goto done;
    }
    m->head->key = NULL;
    m->head->key_len = m->head->val_len = 0;
    for (int i = 0; i < MT_MAX_HEIGHT; i++)
        atomic_init(&m->head->next[i], NULL);
    atomic_init(&m->refs, 1);
    atomic_init(&m->max_height, 1);
    atomic_init(&m->count, 0);
    atomic_init(&m->bytes, used);
    /* xorshift must not start at zero */
    m->rng = rand_u64() | 1;
done:
    if (rc < 0) {
        if (m)
            arena_free(&m->arena);
        free(m);
        m = NULL;
    }
    *out = m;
    return rc;
}

void memtable_ref(struct memtable *m)
{
    /* relaxed: the caller already holds a reference, so m is alive */
    atomic_fetch_add_explicit(&m->refs, 1, memory_order_relaxed);
}

void memtable_unref(struct memtable *m)
{
    /* acq_rel: every holder's accesses happen before the free */
    if (m && atomic_fetch_sub_explicit(&m->refs, 1, memory_order_acq_rel) == 1) {
        arena_free(&m->arena);
        free(m);
    }
}

int memtable_add(struct memtable *m, uint64_t seq, int kind, const void *ukey, size_t ukey_len,
                 const void *val, size_t val_len)
{
    struct node *prev[MT_MAX_HEIGHT], *x;
    struct target t = {ukey, ukey_len, ikey_pack(seq, kind)};
    int height = random_height(m), cur = height_now(m), rc = 0;
    size_t used = 0, hdr = node_size(height);
    unsigned char *kp;
    /* val_len first, so the second bound cannot wrap */
    if (val_len > SIZE_MAX - hdr - IKEY_TRAILER ||
        ukey_len > SIZE_MAX - hdr - IKEY_TRAILER - val_len) {
        rc = err_nomem();
        goto done;
    }
    if (!(x = arena_alloc(&m->arena, hdr + ukey_len + IKEY_TRAILER + val_len, &used))) {
        rc = err_nomem();
        goto done;
    }
    kp = (unsigned char *)x + hdr;
    ikey_encode(kp, ukey, ukey_len, seq, kind);
    if (val_len)
        memcpy(kp + ukey_len + IKEY_TRAILER, val, val_len);
    x->key = kp;
    x->key_len = ukey_len + IKEY_TRAILER;
    x->val_len = val_len;

    find_ge(m, &t, prev);
    if (height > cur) {
        for (int i = cur; i < height; i++)
            prev[i] = m->head;
        /* invariant 4: readers may see the new height before the links */
        atomic_store_explicit(&m->max_height, height, memory_order_relaxed);
    }
    for (int i = 0; i < height; i++) {
        /* x is not yet reachable, so its own links need no ordering; the
         * release store that publishes x orders them (invariant 1) */
        struct node *succ = atomic_load_explicit(&prev[i]->next[i], memory_order_relaxed);
        atomic_store_explicit(&x->next[i], succ, memory_order_relaxed);
        atomic_store_explicit(&prev[i]->next[i], x, memory_order_release);
    }
    atomic_fetch_add_explicit(&m->count, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&m->bytes, used, memory_order_relaxed);
done:
    return rc;
}

int memtable_get(struct memtable *m, const void *ukey, size_t ukey_len, uint64_t snapshot,
                 int *kind_out, const uint8_t **val_out, size_t *val_len_out)
{
    /* KIND_MAX sorts before every kind of its seq, so the first node >= t is
     * the newest version with seq <= snapshot, if it is ukey's at all */
    struct target t = {ukey, ukey_len,
                       ikey_pack(snapshot > SEQ_MAX ? SEQ_MAX : snapshot, KIND_MAX)};
    struct node *x = find_ge(m, &t, NULL);
    int rc = CIRRUS_ENOTFOUND;
    if (x && ukey_compare(x->key, ikey_user_len(x->key_len), ukey, ukey_len) == 0) {
        *kind_out = ikey_kind(x->key, x->key_len);
        *val_out = x->key + x->key_len;
        *val_len_out = x->val_len;
        rc = 0;
    }
    return rc;
}

size_t memtable_bytes(const struct memtable *m)
{
    return atomic_load_explicit(&m->bytes, memory_order_relaxed);
}

size_t memtable_count(const struct memtable *m)
{
    return atomic_load_explicit(&m->count, memory_order_relaxed);
}

/* ---- iterator ------------------------------------------------------- */

struct mt_iter {
    struct iter base;
    struct memtable *m; /* a reference, dropped by free */
    struct node *node;  /* current entry; NULL when unpositioned or off the end */
};

static int mi_valid(const struct iter *it)
{
    return ((const struct mt_iter *)it)->node != NULL;
}

static void mi_first(struct iter *it)
{
    struct mt_iter *mi = (struct mt_iter *)it;
    mi->node = next_at(mi->m->head, 0);
}

static void mi_last(struct iter *it)
{
    struct mt_iter *mi = (struct mt_iter *)it;
    mi->node = find_last(mi->m);
}

static void mi_seek(struct iter *it, const uint8_t *target, size_t len)
{
    struct mt_iter *mi = (struct mt_iter *)it;
    struct target t = target_of(target, len);
    mi->node = find_ge(mi->m, &t, NULL);
}

static void mi_seek_for_prev(struct iter *it, const uint8_t *target, size_t len)
{
    struct mt_iter *mi = (struct mt_iter *)it;
    struct target t = target_of(target, len);
    mi->node = find_lt(mi->m, &t, 1);
}

static void mi_next(struct iter *it)
{
    struct mt_iter *mi = (struct mt_iter *)it;
    if (mi->node)
        mi->node = next_at(mi->node, 0);
}

static void mi_prev(struct iter *it)
{
    /* no back links (they could not be published atomically with the
     * forward ones): search for the predecessor, O(log n) */
    struct mt_iter *mi = (struct mt_iter *)it;
    if (mi->node) {
        struct target t = target_of(mi->node->key, mi->node->key_len);
        mi->node = find_lt(mi->m, &t, 0);
    }
}

static const uint8_t *mi_key(const struct iter *it, size_t *len_out)
{
    const struct mt_iter *mi = (const struct mt_iter *)it;
    *len_out = mi->node->key_len;
    return mi->node->key;
}

static const uint8_t *mi_value(const struct iter *it, size_t *len_out)
{
    const struct mt_iter *mi = (const struct mt_iter *)it;
    *len_out = mi->node->val_len;
    return mi->node->key + mi->node->key_len;
}

static int mi_status(const struct iter *it)
{
    (void)it; /* memory cannot fail a read */
    return 0;
}

static void mi_free(struct iter *it)
{
    struct mt_iter *mi = (struct mt_iter *)it;
    memtable_unref(mi->m);
    free(mi);
}

static const struct iter_ops mt_iter_ops = {
    .valid = mi_valid,
    .first = mi_first,
    .last = mi_last,
    .seek = mi_seek,
    .seek_for_prev = mi_seek_for_prev,
    .next = mi_next,
    .prev = mi_prev,
    .key = mi_key,
    .value = mi_value,
    .status = mi_status,
    .free = mi_free,
};

int memtable_iter(struct memtable *m, struct iter **out)
{
    struct mt_iter *mi = calloc(1, sizeof(*mi));
    int rc = 0;
    if (!mi) {
        rc = err_nomem();
        goto done;
    }
    mi->base.ops = &mt_iter_ops;
    mi->m = m;
    memtable_ref(m);
done:
    *out = mi ? &mi->base : NULL;
    return rc;
}
