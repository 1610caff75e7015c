/*
 * history.h - the log read back (history.c).
 */
#ifndef CIRRUS_DB_HISTORY_H
#define CIRRUS_DB_HISTORY_H

#include <stdint.h>

#include "cirrus.h"

/* cirrus_seq_at_time over the retained log: when time_ms is before the
 * oldest retained entry, *before_log is 1 and *seq_out is that entry's seq
 * minus one, an upper bound of the true answer (safe for horizons). */
int db_seq_at_time(cirrus_db *db, int64_t time_ms, uint64_t *seq_out, int *before_log);
/* The commit time of entry seq, from the log (CIRRUS_ENOTFOUND when it is
 * trimmed or not an entry of this db). */
int db_commit_time(cirrus_db *db, uint64_t seq, int64_t *time_out);

#endif
