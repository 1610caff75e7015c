/*
 * objstore.h - the object store interface: immutable blobs by name.
 *
 * Contract (every backend passes tests/conformance/test_objstore.c):
 *  1. put() writes a whole object atomically: readers see all of it or none.
 *     An existing name is never overwritten: put() of an existing name fails
 *     with CIRRUS_EEXISTS where the backend can tell (fs always; S3 when the
 *     service honours If-None-Match), and leaves the old object intact.
 *  2. Objects are immutable, so any cache of one is valid forever.
 *  3. get() reads a byte range; a range that runs past the end is cut short
 *     (*got_out < len). A missing object is CIRRUS_ENOTFOUND.
 *  4. del() of a missing object succeeds (deletes are idempotent).
 *  5. list() reports every object whose name starts with prefix, in byte
 *     order of name, each once.
 *  6. Names are relative to the store's root: [A-Za-z0-9._/-], no leading
 *     '/', no "..", at most 512 bytes.
 *  7. copy() (objstore_copy) is a put of another object's bytes: atomic,
 *     never over an existing name (as rule 1), the source unchanged. Where
 *     the destination's backend can, the bytes never pass through this
 *     process: s3 to s3 on one endpoint with one identity is a server-side
 *     CopyObject (UploadPartCopy parts above the multipart threshold), fs
 *     to fs a hard link (or, across filesystems, a file copy); anything
 *     else reads the source and puts it.
 * Any failure sets the thread's error message naming the object, the
 * operation and the cause.
 *
 * Every store counts the requests made of it (objstore_stats()): the
 * objstore_* calls below bump the counters of the store they are called on
 * before they dispatch to its backend, so a store layered over another (the
 * disk cache, a fault wrapper) counts what reached it and the store under
 * it counts what reached that one. objstore_copy() counts its copy once the
 * destination's backend took it on (a declined one made no request; the
 * read and put that replace it count as themselves). Gets and puts are
 * also timed, into latency histograms (util/histogram.h). The counters are
 * relaxed atomics: a
 * store is called from many threads, and a reader wants totals, not an
 * order among them.
 *
 * Backends: fs (fs.c), s3 (s3.c), fault (fault.c, wraps another store; only
 * a "fault:" URL or fault_objstore_wrap() makes one).
 */
#ifndef CIRRUS_OBJSTORE_H
#define CIRRUS_OBJSTORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/histogram.h"
#include "util/sys.h"

struct objstore;

/* What a backend's copy_from returns when it cannot copy from that source
 * itself (another kind of store, another endpoint or identity): it made no
 * request, and objstore_copy() reads and puts instead. Not an error. */
#define OBJSTORE_COPY_DECLINED 1

/* objstore_copy()'s size when the caller does not know it. */
#define OBJSTORE_SIZE_UNKNOWN UINT64_MAX

/* One listed object. `name` is borrowed for the callback's duration. */
struct objstore_entry {
    const char *name;
    uint64_t size;    /* bytes */
    int64_t mtime_ms; /* last-modified, Unix ms (0 if unknown) */
};

struct objstore_ops {
    const char *kind; /* "fs", "s3", "fault" */
    int (*put)(struct objstore *os, const char *name, const void *data, size_t len);
    /* Reads up to len bytes at offset off into dst. */
    int (*get)(struct objstore *os, const char *name, uint64_t off, size_t len, void *dst,
               size_t *got_out);
    /* Reads the whole object into a malloc'd buffer (caller frees). */
    int (*get_all)(struct objstore *os, const char *name, uint8_t **data_out, size_t *len_out);
    int (*head)(struct objstore *os, const char *name, uint64_t *size_out);
    int (*del)(struct objstore *os, const char *name);
    /* Calls fn for each object under prefix; fn returns nonzero to stop
     * (that value is returned). */
    int (*list)(struct objstore *os, const char *prefix,
                int (*fn)(const struct objstore_entry *e, void *arg), void *arg);
    void (*close)(struct objstore *os);
    /* Optional (NULL: always declined; last, so that positional
     * initializers of the fields above stay valid). Copies object src_name
     * of src (any store, borrowed) to name in os without reading it here,
     * as objstore_copy() says; size is as given there. Returns
     * OBJSTORE_COPY_DECLINED, having made no request, when it cannot do
     * that from src. */
    int (*copy_from)(struct objstore *os, const char *name, struct objstore *src,
                     const char *src_name, uint64_t size);
};

/* The requests made of one store since it was opened: every call counts,
 * failed ones too (a request that failed was still made). */
struct objstore_stats {
    /* calls (a get_all is a get) */
    uint64_t puts, gets, heads, deletes, lists;
    /* copies this store's backend made itself, into this store (server-side
     * or by link; a copy that objstore_copy() made by reading and putting
     * is a get on the source and a put here instead) */
    uint64_t copies;
    uint64_t bytes_written; /* bytes handed to put() */
    uint64_t bytes_read;    /* bytes get() and get_all() returned */
};

/* The counters behind objstore_stats(). Only the objstore_* calls below
 * touch them; zero, as the calloc of a backend's struct leaves them, is
 * the state of a new store. */
struct objstore_counters {
    _Atomic uint64_t puts, gets, heads, deletes, lists, copies, bytes_written, bytes_read;
    struct histogram get_us, put_us; /* latency of get/get_all and put calls */
};

struct objstore {
    const struct objstore_ops *ops;
    char *url;                  /* as opened, for messages (no secrets) */
    struct objstore_counters n; /* requests made of this store */
};

/*
 * Opens the store named by url:
 *   DIR, file://DIR      fs backend rooted at DIR (created if create != 0)
 *   s3://BUCKET[/PREFIX] s3 backend (endpoint and credentials from AWS_* env)
 *   fault:INNER?SPEC     the store INNER names, wrapped by the fault injector
 *                        (objstore/fault.h): the one way to inject faults
 * Returns 0, CIRRUS_EINVALID (unknown scheme, bad URL), CIRRUS_ENOTFOUND (no
 * such directory/bucket and !create), CIRRUS_EIO, CIRRUS_ENOMEM.
 */
int objstore_open(struct objstore **out, const char *url, int create);

/*
 * The one spelling of the location url names, so that every spelling of one
 * location opens one database (its name in the metadata store derives from
 * it): "s3://BUCKET" or "s3://BUCKET/PREFIX" with the prefix's trailing
 * '/'s dropped, or, for DIR and file://DIR, the absolute directory path with
 * no ".", "..", empty components or symbolic links (resolved as far as the
 * path exists). *out is malloc'd (caller frees). No request is made.
 * Returns 0, CIRRUS_EINVALID (an empty or unknown location, a bad bucket or
 * a prefix with an empty or "." component, such as s3://B//x or s3://B/x//y),
 * CIRRUS_EIO (no working directory), CIRRUS_ENOMEM.
 */
int objstore_canonical_url(const char *url, char **out);

/* Adds n to one of a store's counters (the calls below, before they
 * dispatch). */
static inline void objstore_count(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static inline int objstore_put(struct objstore *os, const char *name, const void *data, size_t len)
{
    objstore_count(&os->n.puts, 1);
    objstore_count(&os->n.bytes_written, len);
    uint64_t start = mono_ns();
    int rc = os->ops->put(os, name, data, len);
    histogram_since(&os->n.put_us, start, mono_ns());
    return rc;
}
static inline int objstore_get(struct objstore *os, const char *name, uint64_t off, size_t len,
                               void *dst, size_t *got_out)
{
    objstore_count(&os->n.gets, 1);
    uint64_t start = mono_ns();
    int rc = os->ops->get(os, name, off, len, dst, got_out);
    histogram_since(&os->n.get_us, start, mono_ns());
    if (rc == 0)
        objstore_count(&os->n.bytes_read, *got_out);
    return rc;
}
static inline int objstore_get_all(struct objstore *os, const char *name, uint8_t **data_out,
                                   size_t *len_out)
{
    objstore_count(&os->n.gets, 1);
    uint64_t start = mono_ns();
    int rc = os->ops->get_all(os, name, data_out, len_out);
    histogram_since(&os->n.get_us, start, mono_ns());
    if (rc == 0)
        objstore_count(&os->n.bytes_read, *len_out);
    return rc;
}
static inline int objstore_head(struct objstore *os, const char *name, uint64_t *size_out)
{
    objstore_count(&os->n.heads, 1);
    return os->ops->head(os, name, size_out);
}
static inline int objstore_del(struct objstore *os, const char *name)
{
    objstore_count(&os->n.deletes, 1);
    return os->ops->del(os, name);
}
static inline int objstore_list(struct objstore *os, const char *prefix,
                                int (*fn)(const struct objstore_entry *e, void *arg), void *arg)
{
    objstore_count(&os->n.lists, 1);
    return os->ops->list(os, prefix, fn, arg);
}

/*
 * Copies object src_name of store src to dst_name in store dst (which may be
 * src itself). Like objstore_put(): an existing dst_name is never
 * overwritten (CIRRUS_EEXISTS where the backend can tell, and the old
 * object stays), and the copy is atomic: dst_name is all of the source or
 * nothing. size: the source's size in bytes when the caller knows it (a
 * listing's), else OBJSTORE_SIZE_UNKNOWN; a known size that is wrong is
 * CIRRUS_ECORRUPT where the copy can tell. Both stores are borrowed and may
 * be used by other threads meanwhile.
 *
 * The server-side paths (rule 7) count one copy on dst plus the heads they
 * make (of dst: is the name free; of src: its size, when unknown and
 * needed); the generic path counts a get on src and a put on dst. The
 * generic path holds the whole object in memory: the interface has no
 * streaming put, so it copies what put() could write.
 *
 * Returns 0, CIRRUS_ENOTFOUND (no such source; the message names it),
 * CIRRUS_EEXISTS, CIRRUS_EINVALID (a bad name), CIRRUS_ECORRUPT, and what
 * get() and put() return (CIRRUS_EIO, CIRRUS_ETIMEOUT: the copy may have
 * been made, CIRRUS_EAUTH, CIRRUS_ENOMEM).
 */
int objstore_copy(struct objstore *dst, const char *dst_name, struct objstore *src,
                  const char *src_name, uint64_t size);

/* objstore_copy()'s generic path, for backends whose own copy found out
 * mid-way that it cannot (a server without UploadPartCopy): reads src_name
 * whole from src and puts it as dst_name in dst, counting a get and a put.
 * Same contract as objstore_copy(). */
int objstore_copy_by_reading(struct objstore *dst, const char *dst_name, struct objstore *src,
                             const char *src_name, uint64_t size);

/* The requests made of os so far (borrowed; any thread, any time while os
 * is open). Each counter is read once, not all at one instant: a call in
 * flight may be in some totals and not yet in others. */
static inline void objstore_stats(struct objstore *os, struct objstore_stats *out)
{
    out->puts = atomic_load_explicit(&os->n.puts, memory_order_relaxed);
    out->gets = atomic_load_explicit(&os->n.gets, memory_order_relaxed);
    out->heads = atomic_load_explicit(&os->n.heads, memory_order_relaxed);
    out->deletes = atomic_load_explicit(&os->n.deletes, memory_order_relaxed);
    out->lists = atomic_load_explicit(&os->n.lists, memory_order_relaxed);
    out->copies = atomic_load_explicit(&os->n.copies, memory_order_relaxed);
    out->bytes_written = atomic_load_explicit(&os->n.bytes_written, memory_order_relaxed);
    out->bytes_read = atomic_load_explicit(&os->n.bytes_read, memory_order_relaxed);
}

/* Accepts NULL. */
void objstore_close(struct objstore *os);

/* 0 if name is a valid object name (rule 6), else CIRRUS_EINVALID with a message. */
int objstore_check_name(const char *name);

#endif
