/*
 * copier.h - copies many objects between stores in parallel, skipping the
 * ones already there (copier.c): the work of backups, restores and
 * detaching clones.
 *
 * A copy is objstore_copy (server-side where the stores allow it). An
 * object already at its destination with the expected size is not copied
 * again, so a run that was interrupted is finished by running it again;
 * one there with another size is an error naming it (names stand for one
 * immutable object, so it is someone else's).
 */
#ifndef CIRRUS_DB_COPIER_H
#define CIRRUS_DB_COPIER_H

#include <stddef.h>
#include <stdint.h>

#include "cirrus.h"

struct objstore;

struct copy_item {
    struct objstore *src; /* borrowed */
    const char *src_name; /* borrowed */
    const char *dst_name; /* borrowed */
    uint64_t size;        /* the source's recorded size */
};

/* Copies items into dst with `threads` threads (0: 8), reporting progress
 * through fn (may be NULL; called one at a time). *summary (may be NULL)
 * gets the totals. Stops at the first failure and returns it with its
 * message. */
int copier_run(struct objstore *dst, const struct copy_item *items, size_t n, int threads,
               void (*fn)(const cirrus_progress *p, void *arg), void *arg,
               cirrus_progress *summary);

#endif
