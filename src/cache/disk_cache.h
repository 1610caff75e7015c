/*
 * disk_cache.h - an object store backend that keeps the objects of another
 * store in a local directory, so that repeated reads (by this process, by a
 * later one, by other processes on the machine) cost no remote request.
 *
 * It relies on rule 2 of objstore.h: objects are immutable, so a cached copy
 * of any byte range is valid for as long as the object exists.
 *
 * Model:
 *  - An object is cached in chunks of DISK_CACHE_CHUNK bytes: chunk i holds
 *    bytes [i*C, (i+1)*C) (the last one fewer). A chunk file carries a header
 *    naming its object, chunk and object size, and checksums of header and
 *    data (docs/FORMAT.md, "Disk cache chunks").
 *  - get(off, len) serves the chunks that cover the range from the
 *    directory and fetches those it lacks from the inner store, one ranged
 *    request per run of adjacent missing chunks, then keeps them. A chunk
 *    file that fails any check (truncated, flipped bits, another object's,
 *    another chunk size) is deleted and fetched again; its bytes are never
 *    returned.
 *  - get_all() serves a whole object from the chunks when chunk 0 says how
 *    large it is, else fetches it whole from the inner store and keeps it.
 *  - put() writes through to the inner store and, once that succeeded,
 *    caches the new object (best effort: a failure to cache is not an
 *    error), so a writer's first read of its own file costs no request.
 *  - del() deletes from the inner store, then every cached chunk of the
 *    object. head() and list() go to the inner store: they answer whether
 *    an object still exists, which a cache cannot know.
 *
 * Size bound and eviction: the cache keeps an index of the chunk files it
 * knows (path, bytes, last access) and evicts the least recently accessed
 * when their total passes capacity_bytes, down to 7/8 of it. Access times
 * live in memory; a hit refreshes the file's mtime when it is more than a
 * minute stale, so that the order survives a restart (open scans the
 * directory and orders what it finds by mtime).
 *
 * Several processes may share one directory: chunk files are written to a
 * temporary name and renamed into place (a reader sees a whole file or
 * none), a reader treats a file that vanished under it as a miss, and each
 * process rescans the directory at most once a minute (on a cache write) to
 * learn the files others wrote, so the directory exceeds the bound by at
 * most what other processes wrote within that minute.
 *
 * Thread-safety: the index is guarded by one mutex, held only for index
 * updates, never across I/O. The wrapper is as thread-safe as the inner
 * store.
 *
 * Calls: objstore.h (the vtable only), util.
 */
#ifndef CIRRUS_CACHE_DISK_CACHE_H
#define CIRRUS_CACHE_DISK_CACHE_H

#include <stdint.h>

struct objstore;

/* Chunk size: large enough that one request fetches what a scan reads
 * next, small enough that a point read fetches little it does not need. */
#define DISK_CACHE_CHUNK ((uint64_t)1 << 20)

/* Counters since the wrapper was made. */
struct disk_cache_stats {
    uint64_t hits;          /* chunks served from the directory */
    uint64_t misses;        /* chunks fetched from the inner store */
    uint64_t requests;      /* requests sent to the inner store to fill the cache */
    uint64_t bytes_fetched; /* bytes those requests returned */
    uint64_t evictions;     /* chunk files deleted for space */
    uint64_t corrupt;       /* chunk files that failed a check and were deleted */
    uint64_t bytes_used;    /* bytes of the chunk files this process knows of */
    uint64_t n_chunks;      /* chunk files this process knows of */
    uint64_t capacity;      /* bytes, as opened */
};

/*
 * Wraps inner (taken: closed with the wrapper, and on failure) with a cache
 * in directory dir (created if missing, with its parents not) holding at
 * most about capacity_bytes of chunk files. Scans dir for the chunks a
 * previous run left. *out is a store whose url is "diskcache:" + inner's.
 * Returns 0, CIRRUS_EINVALID (capacity 0, dir too long), CIRRUS_EIO (dir cannot be made
 * or read), CIRRUS_ENOMEM.
 */
int disk_cache_wrap(struct objstore **out, struct objstore *inner, const char *dir,
                    uint64_t capacity_bytes);

/* Counters so far. CIRRUS_EINVALID if os is not a disk cache. */
int disk_cache_stats(struct objstore *os, struct disk_cache_stats *out);

#endif
