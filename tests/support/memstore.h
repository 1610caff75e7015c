/*
 * memstore.h - an in-memory object store for tests and fuzzing.
 *
 * Honours the contract of objstore.h: whole-object puts that never
 * overwrite (CIRRUS_EEXISTS), ranged gets cut at the end, CIRRUS_ENOTFOUND
 * for missing objects, idempotent deletes, listing in byte order of name.
 * Objects live in a sorted array guarded by one mutex, so any number of
 * threads may share the store. Close it with os->ops->close(os) (or
 * objstore_close() where the objstore library is linked).
 *
 * Calls: util only.
 */
#ifndef CIRRUS_TESTS_MEMSTORE_H
#define CIRRUS_TESTS_MEMSTORE_H

#include <stdint.h>

struct objstore;

/* Returns 0 or CIRRUS_ENOMEM. */
int memstore_open(struct objstore **out);

/* Number of get() calls served so far (tests count object store round
 * trips with it). */
uint64_t memstore_get_count(struct objstore *os);

#endif
