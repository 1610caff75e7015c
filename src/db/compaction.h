/*
 * compaction.h - one leveled compaction: pick the inputs, merge them into
 * new files of the next level keeping every version MVCC still needs, and
 * commit one `compact` entry (compaction.c has the shape and the rules).
 * When and by whom it runs is compactor.h's business.
 */
#ifndef CIRRUS_DB_COMPACTION_H
#define CIRRUS_DB_COMPACTION_H

#include <stdint.h>

#include "cirrus.h"
#include "db/version.h"

/* Picks, runs and commits one compaction of the handle's current version.
 * 1 if it did one (or lost a race to another compactor: pick again), 0 if
 * no level needs one, < 0 on error. Caller holds cp.mu and the lease. */
int compaction_run_once(cirrus_db *db);

/* Bytes by which the levels of v exceed their targets (L0: all of it once
 * it holds l0_compaction_trigger files). */
uint64_t compaction_backlog(const cirrus_options *o, const struct version *v);

#endif
