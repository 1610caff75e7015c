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
 * Any failure sets the thread's error message naming the object, the
 * operation and the cause.
 *
 * Backends: fs (fs.c), s3 (s3.c), fault (fault.c, wraps another store).
 */
#ifndef CIRRUS_OBJSTORE_H
#define CIRRUS_OBJSTORE_H

#include <stddef.h>
#include <stdint.h>

struct objstore;

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
};

struct objstore {
    const struct objstore_ops *ops;
    char *url; /* as opened, for messages (no secrets) */
};

/*
 * Opens the store named by url:
 *   DIR, file://DIR      fs backend rooted at DIR (created if create != 0)
 *   s3://BUCKET[/PREFIX] s3 backend (endpoint and credentials from AWS_* env)
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

static inline int objstore_put(struct objstore *os, const char *name, const void *data, size_t len)
{
    return os->ops->put(os, name, data, len);
}
static inline int objstore_get(struct objstore *os, const char *name, uint64_t off, size_t len,
                               void *dst, size_t *got_out)
{
    return os->ops->get(os, name, off, len, dst, got_out);
}
static inline int objstore_get_all(struct objstore *os, const char *name, uint8_t **data_out,
                                   size_t *len_out)
{
    return os->ops->get_all(os, name, data_out, len_out);
}
static inline int objstore_head(struct objstore *os, const char *name, uint64_t *size_out)
{
    return os->ops->head(os, name, size_out);
}
static inline int objstore_del(struct objstore *os, const char *name)
{
    return os->ops->del(os, name);
}
static inline int objstore_list(struct objstore *os, const char *prefix,
                                int (*fn)(const struct objstore_entry *e, void *arg), void *arg)
{
    return os->ops->list(os, prefix, fn, arg);
}
/* Accepts NULL. */
void objstore_close(struct objstore *os);

/* 0 if name is a valid object name (rule 6), else CIRRUS_EINVALID with a message. */
int objstore_check_name(const char *name);

#endif
