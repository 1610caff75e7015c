/*
 * iter.h - the internal iterator: one shape for memtables, SST blocks, whole
 * SST files and merges of them.
 *
 * An internal iterator walks (internal key, value) pairs in internal key
 * order (ikey.h). Seek targets are internal keys (at least 8 bytes; a
 * shorter one makes the iterator invalid with CIRRUS_EINVALID). Errors are
 * sticky. It starts unpositioned; key()/value() are valid only while
 * valid() and are borrowed until the next positioning call. An error (a bad
 * checksum, a failed read) makes it invalid and status() returns the code;
 * the thread's error message names the object and offset.
 */
#ifndef CIRRUS_TABLE_ITER_H
#define CIRRUS_TABLE_ITER_H

#include <stddef.h>
#include <stdint.h>

struct iter;

struct iter_ops {
    int (*valid)(const struct iter *it);
    void (*first)(struct iter *it);
    void (*last)(struct iter *it);
    /* First entry whose internal key is >= target. */
    void (*seek)(struct iter *it, const uint8_t *target, size_t len);
    /* Last entry whose internal key is <= target. */
    void (*seek_for_prev)(struct iter *it, const uint8_t *target, size_t len);
    void (*next)(struct iter *it);
    void (*prev)(struct iter *it);
    const uint8_t *(*key)(const struct iter *it, size_t *len_out);
    const uint8_t *(*value)(const struct iter *it, size_t *len_out);
    int (*status)(const struct iter *it);
    void (*free)(struct iter *it);
};

struct iter {
    const struct iter_ops *ops;
};

static inline int iter_valid(const struct iter *it)
{
    return it->ops->valid(it);
}
static inline void iter_first(struct iter *it)
{
    it->ops->first(it);
}
static inline void iter_last(struct iter *it)
{
    it->ops->last(it);
}
static inline void iter_seek(struct iter *it, const uint8_t *target, size_t len)
{
    it->ops->seek(it, target, len);
}
static inline void iter_seek_for_prev(struct iter *it, const uint8_t *target, size_t len)
{
    it->ops->seek_for_prev(it, target, len);
}
static inline void iter_next(struct iter *it)
{
    it->ops->next(it);
}
static inline void iter_prev(struct iter *it)
{
    it->ops->prev(it);
}
static inline const uint8_t *iter_key(const struct iter *it, size_t *len_out)
{
    return it->ops->key(it, len_out);
}
static inline const uint8_t *iter_value(const struct iter *it, size_t *len_out)
{
    return it->ops->value(it, len_out);
}
static inline int iter_status(const struct iter *it)
{
    return it->ops->status(it);
}
/* Accepts NULL. */
static inline void iter_free(struct iter *it)
{
    if (it)
        it->ops->free(it);
}

/*
 * A merge of n child iterators into one in internal key order. The children
 * are taken, also when this fails: freed with the merge (the `children`
 * array itself stays the caller's). Forward and backward, with direction
 * changes.
 * Entries with equal internal keys from different children all appear,
 * children earlier in the array first. Status: the first child error.
 */
int merge_iter_new(struct iter **out, struct iter **children, size_t n);

#endif
