/*
 * batch.h - applying a write batch (batch.c).
 */
#ifndef CIRRUS_DB_BATCH_H
#define CIRRUS_DB_BATCH_H

#include <stdint.h>

#include "cirrus.h"
#include "db/memtable.h"

/* Adds every op of b to m, in op order, with seqs from *next_seq (advanced
 * past them). On failure part of the batch may be in m. */
int batch_apply(const cirrus_batch *b, struct memtable *m, uint64_t *next_seq);

#endif
