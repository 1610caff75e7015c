/*
 * gc.h - garbage collection of objects and trimming of the log (gc.c has
 * the rules for what may be deleted).
 */
#ifndef CIRRUS_DB_GC_H
#define CIRRUS_DB_GC_H

#include <stdint.h>

#include "cirrus.h"

/* One GC pass (cirrus_gc's contract), grace_ms < 0 meaning the handle's
 * gc_grace_ms. Caller holds cp.mu and the compactor lease. */
int gc_run(cirrus_db *db, int64_t grace_ms, void (*fn)(const cirrus_gc_item *item, void *arg),
           void *arg);

#endif
