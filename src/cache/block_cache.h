/*
 * block_cache.h - the in-memory cache of decompressed SST blocks.
 *
 * What it is for: a point read that finds its data block here costs no
 * object store request and no decompression. One cache serves every reader
 * of a db (or of a process); its capacity is a byte budget.
 *
 * Model:
 *  - An entry is keyed by (file identity, block offset). The file identity
 *    is any byte string that names one immutable file for the cache's
 *    lifetime (the SST reader uses the store's URL and the object name;
 *    objects are never overwritten, so a key's bytes never change).
 *  - Each entry has a priority class. Eviction takes the least recently
 *    used LOW entry first and touches HIGH entries (index and filter blocks)
 *    only when no unpinned LOW entry is left.
 *  - lookup() and insert() return a handle that pins the entry: its bytes
 *    stay valid and it is never evicted until block_cache_release(). An
 *    entry that is evicted or replaced while pinned leaves the cache at once
 *    (later lookups miss) and its memory is freed on the last release.
 *  - The charge of an entry is its value bytes plus its key and bookkeeping.
 *    Pinned entries are never freed for space, so the bytes in use can
 *    exceed the capacity while many entries are pinned; the excess is evicted
 *    as soon as they are released.
 *
 * Invariants (per shard, under the shard's mutex):
 *  1. An entry is in the hash table iff it is `in_cache`.
 *  2. An entry is on an LRU list iff it is in_cache and has no handle out.
 *  3. An entry is freed exactly when it is neither in_cache nor pinned.
 *  4. `usage` is the sum of the charges of the in_cache entries.
 *
 * Thread-safety: every function may be called from any thread. The cache is
 * split into 16 shards by hash64 of the key, each with its own mutex, LRU
 * lists and byte budget (capacity / 16), so threads rarely contend.
 *
 * Calls: util only.
 */
#ifndef CIRRUS_CACHE_BLOCK_CACHE_H
#define CIRRUS_CACHE_BLOCK_CACHE_H

#include <stddef.h>
#include <stdint.h>

struct block_cache;
struct block_cache_handle;

enum block_cache_prio {
    BLOCK_CACHE_LOW = 0,  /* data blocks: evicted first */
    BLOCK_CACHE_HIGH = 1, /* index and filter blocks */
};

/* Counters since the cache was made (hits + misses = lookups). */
struct block_cache_stats {
    uint64_t hits;
    uint64_t misses;
    uint64_t inserts;
    uint64_t evictions;    /* entries dropped for space (not replacements) */
    uint64_t bytes_in_use; /* sum of the charges of cached entries, bytes */
    uint64_t n_entries;    /* entries in the cache now */
    uint64_t capacity;     /* bytes, as made */
};

/* A cache of capacity_bytes (0 is allowed: nothing stays once released).
 * Returns 0 or CIRRUS_ENOMEM. */
int block_cache_new(struct block_cache **out, uint64_t capacity_bytes);

/* Frees the cache and every entry. Every handle must have been released.
 * Accepts NULL. */
void block_cache_free(struct block_cache *c);

/*
 * Looks up (file, off). On a hit *out is a pinned handle (release it) and
 * the entry becomes the most recently used of its class. Returns 0 or
 * CIRRUS_ENOTFOUND (a miss; no message is set, a miss is not an error).
 */
int block_cache_lookup(struct block_cache *c, const void *file, size_t file_len, uint64_t off,
                       struct block_cache_handle **out);

/*
 * Inserts (file, off) -> data[0, len) with priority prio, replacing an entry
 * of the same key. data must be malloc'd: it is taken on success (freed by
 * the cache) and left to the caller on failure. When out is not NULL, *out
 * is a pinned handle on the new entry; otherwise the entry is unpinned at
 * once (and evicted at once if it does not fit). Returns 0 or
 * CIRRUS_ENOMEM.
 */
int block_cache_insert(struct block_cache *c, const void *file, size_t file_len, uint64_t off,
                       void *data, size_t len, enum block_cache_prio prio,
                       struct block_cache_handle **out);

/* The bytes of a pinned entry, valid until the handle is released. */
const void *block_cache_value(const struct block_cache_handle *h, size_t *len_out);

/* Unpins h (from lookup or insert of cache c). Accepts NULL. */
void block_cache_release(struct block_cache *c, struct block_cache_handle *h);

/* A snapshot of the counters (summed over the shards). */
void block_cache_stats(struct block_cache *c, struct block_cache_stats *out);

#endif
