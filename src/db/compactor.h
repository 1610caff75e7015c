/*
 * compactor.h - the compactor lease, the background compaction/GC thread,
 * and cirrus_compact / cirrus_gc (compactor.c).
 */
#ifndef CIRRUS_DB_COMPACTOR_H
#define CIRRUS_DB_COMPACTOR_H

#include "cirrus.h"

/* Starts the thread unless the handle is read-only or background_compaction
 * is off. Returns 0 or CIRRUS_ENOMEM. */
int compactor_start(cirrus_db *db);
/* Joins the thread (the caller set `closing` and woke it) and releases the
 * lease. */
void compactor_stop(cirrus_db *db);

/* Takes or renews the compactor lease; CIRRUS_EBUSY if another holds it.
 * Caller holds compact_mu. */
int compactor_hold_lease(cirrus_db *db);
/* Releases the lease if held. Returns 0, or the release's error (the lease
 * then lapses at its expiry). Caller holds compact_mu. */
int compactor_drop_lease(cirrus_db *db);

#endif
