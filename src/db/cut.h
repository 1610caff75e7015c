/*
 * cut.h - a version that reads, as its latest, exactly what another reads
 * at an older seq: what a clone or a backup of a past point starts from
 * (cut.c).
 *
 * A version at seq H read at s < H sees the keys at or below s; but its
 * files also hold keys above s, which a database starting at s must not
 * see as its own. So:
 *   - a file whose keys are all at or below s is kept as it is (shared);
 *   - a file whose keys are all above s is left out;
 *   - a file holding both (written by a compaction after s) is rewritten
 *     without the keys above s, into the store the caller names;
 *   - range tombstones and exactly-once epochs committed after s are left
 *     out.
 * Compaction keeps every version a read at s needs while s is at or above
 * the version's min_readable_seq, so the cut loses nothing a read at s saw.
 */
#ifndef CIRRUS_DB_CUT_H
#define CIRRUS_DB_CUT_H

#include <stddef.h>
#include <stdint.h>

struct cirrus_db;
struct objstore;
struct version;

/* The cut of v at seq (v->min_readable_seq <= seq <= v->seq), read from
 * db's store and written to dst; *out is new (seq, time_ms), *rewritten
 * (may be NULL) the number of files written. With seq == v->seq, *out is
 * a new reference to v. */
int version_cut(struct cirrus_db *db, struct version *v, uint64_t seq, int64_t time_ms,
                struct objstore *dst, struct version **out, size_t *rewritten);

/* The seqs of a file's keys: [*lo, *hi]. */
struct file_meta;
void file_seq_range(const struct file_meta *f, uint64_t *lo, uint64_t *hi);

#endif
