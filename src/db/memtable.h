/*
 * memtable.h - the in-memory write buffer: a skiplist of internal keys in an
 * arena.
 *
 * One writer at a time (the caller serialises memtable_add), any number of
 * concurrent readers without locks: nodes are published with release stores
 * and read with acquire loads, so a reader sees a fully built node or none.
 * Memory comes from an arena freed all at once with the memtable. Lifetime is
 * reference counted: readers and iterators hold a reference.
 */
#ifndef CIRRUS_DB_MEMTABLE_H
#define CIRRUS_DB_MEMTABLE_H

#include <stddef.h>
#include <stdint.h>

#include "table/iter.h"

struct memtable;

int memtable_new(struct memtable **out);
void memtable_ref(struct memtable *m);
/* Drops a reference; the last one frees. Accepts NULL. */
void memtable_unref(struct memtable *m);

/* Adds (ukey, seq, kind) -> val. seq must be unique per (ukey) in this
 * memtable. Returns 0 or CIRRUS_ENOMEM. */
int memtable_add(struct memtable *m, uint64_t seq, int kind, const void *ukey, size_t ukey_len,
                 const void *val, size_t val_len);

/*
 * The newest entry for ukey with seq <= snapshot: 0 with *kind_out and a
 * borrowed value (valid while the caller holds a reference), or
 * CIRRUS_ENOTFOUND.
 */
int memtable_get(struct memtable *m, const void *ukey, size_t ukey_len, uint64_t snapshot,
                 int *kind_out, const uint8_t **val_out, size_t *val_len_out);

/* Approximate bytes used (arena), and entry count. */
size_t memtable_bytes(const struct memtable *m);
size_t memtable_count(const struct memtable *m);

/* An iterator over every entry; it holds a reference until freed. */
int memtable_iter(struct memtable *m, struct iter **out);

#endif
