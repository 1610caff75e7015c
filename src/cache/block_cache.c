/*
 * block_cache.c - sharded LRU cache of blocks with two priority classes
 * (contract and invariants in block_cache.h).
 *
 * Per shard: a chained hash table of entries and two circular LRU lists
 * (one per priority class) holding the entries no handle pins, least
 * recently used at the head. Reference counting: `refs` counts handles
 * only; membership in the cache is the separate `in_cache` flag, so the
 * three states of an entry (cached and idle, cached and pinned, evicted but
 * pinned) are explicit.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cache/block_cache.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/status.h"

#define SHARD_BITS 4
#define N_SHARDS (1u << SHARD_BITS)
#define MIN_BUCKETS 16
#define N_PRIO 2

struct entry {
    struct entry *hnext;       /* hash chain */
    struct entry *prev, *next; /* LRU list, while idle in the cache */
    uint64_t hash;             /* hash64 of the key */
    uint64_t charge;           /* bytes counted against the budget */
    uint32_t refs;             /* handles out */
    uint8_t in_cache;          /* in the hash table */
    uint8_t prio;              /* enum block_cache_prio */
    void *data;                /* the value, malloc'd, owned */
    size_t len;                /* value bytes */
    size_t key_len;            /* file identity bytes + 8 (offset) */
    uint8_t key[];             /* file identity, then fixed64 offset */
};

struct shard {
    pthread_mutex_t mu;
    struct entry **buckets;
    size_t n_buckets;         /* a power of two */
    size_t n_entries;         /* in the hash table */
    struct entry lru[N_PRIO]; /* list heads: lru[p].next is the oldest */
    uint64_t capacity;        /* bytes */
    uint64_t usage;           /* bytes (invariant 4) */
    uint64_t hits, misses, inserts, evictions;
};

struct block_cache {
    uint64_t capacity; /* bytes, as made */
    struct shard shards[N_SHARDS];
};

static void lru_remove(struct entry *e)
{
    e->prev->next = e->next;
    e->next->prev = e->prev;
    e->prev = e->next = NULL;
}

/* Appends e as the most recently used of its class. */
static void lru_append(struct shard *s, struct entry *e)
{
    struct entry *head = &s->lru[e->prio];
    e->next = head;
    e->prev = head->prev;
    e->prev->next = e;
    head->prev = e;
}

static void entry_free(struct entry *e)
{
    free(e->data);
    free(e);
}

/* The slot that points to the entry with this key, or to the NULL ending
 * its chain. */
static struct entry **find_slot(struct shard *s, uint64_t hash, const uint8_t *key, size_t key_len)
{
    struct entry **p = &s->buckets[hash & (s->n_buckets - 1)];
    while (*p &&
           ((*p)->hash != hash || (*p)->key_len != key_len || memcmp((*p)->key, key, key_len) != 0))
        p = &(*p)->hnext;
    return p;
}

/* Doubles the table when it gets full; a failed allocation only leaves the
 * chains longer. */
static void maybe_grow(struct shard *s)
{
    if (s->n_entries < s->n_buckets)
        return;
    size_t n = s->n_buckets * 2;
    struct entry **b = calloc(n, sizeof(*b));
    if (!b)
        return;
    for (size_t i = 0; i < s->n_buckets; i++) {
        struct entry *e = s->buckets[i];
        while (e) {
            struct entry *next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    free(s->buckets);
    s->buckets = b;
    s->n_buckets = n;
}

/* Takes e (in the table at *slot) out of the cache; frees it unless pinned
 * (invariant 3). */
static void detach(struct shard *s, struct entry **slot, struct entry *e)
{
    *slot = e->hnext;
    e->hnext = NULL;
    s->n_entries--;
    s->usage -= e->charge;
    e->in_cache = 0;
    if (e->refs == 0) {
        lru_remove(e);
        entry_free(e);
    }
}

/* Evicts idle entries, LOW class first, until usage fits the budget. */
static void evict(struct shard *s)
{
    for (int p = BLOCK_CACHE_LOW; p < N_PRIO && s->usage > s->capacity; p++) {
        while (s->usage > s->capacity && s->lru[p].next != &s->lru[p]) {
            struct entry *e = s->lru[p].next;
            detach(s, find_slot(s, e->hash, e->key, e->key_len), e);
            s->evictions++;
        }
    }
}

static size_t make_key(uint8_t *key, const void *file, size_t file_len, uint64_t off)
{
    if (file_len)
        memcpy(key, file, file_len);
    encode_fixed64(key + file_len, off);
    return file_len + 8;
}

static struct shard *shard_of(struct block_cache *c, uint64_t hash)
{
    return &c->shards[hash >> (64 - SHARD_BITS)];
}

int block_cache_new(struct block_cache **out, uint64_t capacity_bytes)
{
    int rc = 0;
    struct block_cache *c = calloc(1, sizeof(*c));
    if (!c) {
        rc = err_nomem();
        goto done;
    }
    c->capacity = capacity_bytes;
    for (unsigned i = 0; i < N_SHARDS; i++) {
        struct shard *s = &c->shards[i];
        pthread_mutex_init(&s->mu, NULL); /* all of them first: free destroys all */
        for (int p = 0; p < N_PRIO; p++)
            s->lru[p].next = s->lru[p].prev = &s->lru[p];
        /* the first shard takes the remainder so the budgets sum up */
        s->capacity = capacity_bytes / N_SHARDS + (i == 0 ? capacity_bytes % N_SHARDS : 0);
    }
    for (unsigned i = 0; i < N_SHARDS; i++) {
        struct shard *s = &c->shards[i];
        if (!(s->buckets = calloc(MIN_BUCKETS, sizeof(*s->buckets)))) {
            rc = err_nomem();
            goto done;
        }
        s->n_buckets = MIN_BUCKETS;
    }
    *out = c;
    c = NULL;
done:
    block_cache_free(c);
    return rc;
}

void block_cache_free(struct block_cache *c)
{
    if (!c)
        return;
    for (unsigned i = 0; i < N_SHARDS; i++) {
        struct shard *s = &c->shards[i];
        for (size_t b = 0; s->buckets && b < s->n_buckets; b++) {
            struct entry *e = s->buckets[b];
            while (e) {
                struct entry *next = e->hnext;
                entry_free(e);
                e = next;
            }
        }
        free(s->buckets);
        pthread_mutex_destroy(&s->mu);
    }
    free(c);
}

int block_cache_lookup(struct block_cache *c, const void *file, size_t file_len, uint64_t off,
                       struct block_cache_handle **out)
{
    int rc = 0;
    uint8_t stack[256], *key = stack, *heap = NULL;
    if (file_len + 8 > sizeof(stack) && !(key = heap = malloc(file_len + 8))) {
        rc = err_nomem();
        goto done;
    }
    size_t key_len = make_key(key, file, file_len, off);
    uint64_t hash = hash64(key, key_len);
    struct shard *s = shard_of(c, hash);
    pthread_mutex_lock(&s->mu);
    struct entry *e = *find_slot(s, hash, key, key_len);
    if (e) {
        if (e->refs++ == 0)
            lru_remove(e); /* pinned entries leave the LRU (invariant 2) */
        s->hits++;
        *out = (struct block_cache_handle *)e;
    } else {
        s->misses++;
        rc = CIRRUS_ENOTFOUND;
    }
    pthread_mutex_unlock(&s->mu);
done:
    free(heap);
    return rc;
}

int block_cache_insert(struct block_cache *c, const void *file, size_t file_len, uint64_t off,
                       void *data, size_t len, enum block_cache_prio prio,
                       struct block_cache_handle **out)
{
    int rc = 0;
    struct entry *e = malloc(sizeof(*e) + file_len + 8);
    if (!e) {
        rc = err_nomem();
        goto done;
    }
    memset(e, 0, sizeof(*e));
    e->key_len = make_key(e->key, file, file_len, off);
    e->hash = hash64(e->key, e->key_len);
    e->data = data;
    e->len = len;
    e->prio = prio == BLOCK_CACHE_HIGH ? BLOCK_CACHE_HIGH : BLOCK_CACHE_LOW;
    e->charge = len + sizeof(*e) + e->key_len;
    e->in_cache = 1;
    e->refs = out ? 1 : 0;
    struct shard *s = shard_of(c, e->hash);
    pthread_mutex_lock(&s->mu);
    struct entry **slot = find_slot(s, e->hash, e->key, e->key_len);
    if (*slot)
        detach(s, slot, *slot); /* a replaced entry is not an eviction */
    e->hnext = *slot;           /* the rest of the chain, if the old one led it */
    *slot = e;
    s->n_entries++;
    s->usage += e->charge;
    s->inserts++;
    if (!out)
        lru_append(s, e);
    evict(s);
    maybe_grow(s);
    pthread_mutex_unlock(&s->mu);
    if (out)
        *out = (struct block_cache_handle *)e;
done:
    return rc;
}

const void *block_cache_value(const struct block_cache_handle *h, size_t *len_out)
{
    const struct entry *e = (const struct entry *)h;
    *len_out = e->len;
    return e->data;
}

void block_cache_release(struct block_cache *c, struct block_cache_handle *h)
{
    if (!h)
        return;
    struct entry *e = (struct entry *)h;
    struct shard *s = shard_of(c, e->hash);
    pthread_mutex_lock(&s->mu);
    if (--e->refs == 0) {
        if (e->in_cache) {
            lru_append(s, e);
            evict(s); /* the entry may have been kept over budget while pinned */
        } else {
            entry_free(e);
        }
    }
    pthread_mutex_unlock(&s->mu);
}

void block_cache_stats(struct block_cache *c, struct block_cache_stats *out)
{
    memset(out, 0, sizeof(*out));
    out->capacity = c->capacity;
    for (unsigned i = 0; i < N_SHARDS; i++) {
        struct shard *s = &c->shards[i];
        pthread_mutex_lock(&s->mu);
        out->hits += s->hits;
        out->misses += s->misses;
        out->inserts += s->inserts;
        out->evictions += s->evictions;
        out->bytes_in_use += s->usage;
        out->n_entries += s->n_entries;
        pthread_mutex_unlock(&s->mu);
    }
}
