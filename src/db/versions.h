/*
 * versions.h - the versions component: what reads see (versions.c).
 */
#ifndef CIRRUS_DB_VERSIONS_H
#define CIRRUS_DB_VERSIONS_H

#include <stddef.h>
#include <stdint.h>

#include "cirrus.h"
#include "db/locks.h"
#include "db/memtable.h"
#include "db/version.h"

/* versions.c: what reads see. */
struct versions {
    /* a reader that keeps it past mu takes a reference (db_acquire) */
    struct version *current GUARDED_BY(mu, cm.mu);
    struct cirrus_snapshot *snapshots GUARDED_BY(mu); /* open snapshots */
    uint64_t pending_horizon GUARDED_BY(mu);          /* of a compaction being committed, or 0 */
};

/* What a read works on: referenced, immutable pieces. */
struct superversion {
    struct memtable *mems[16]; /* newest first: mem, then imm newest first */
    size_t n_mems;
    struct memtable **more; /* when more than 16 */
    struct version *v;
    uint64_t latest; /* the snapshot of a read at the latest (visible_mseq) */
};

int db_acquire(cirrus_db *db, struct superversion *sv, int with_mems);
void db_release(struct superversion *sv);
/* What a read with ro works on: its snapshot's seq (and, for a checkpoint's
 * snapshot, the checkpoint's version), or the latest with this handle's
 * buffered writes (db_acquire_at). CIRRUS_EINVALID for a snapshot of
 * another handle. */
int db_acquire_read(cirrus_db *db, const cirrus_read_options *ro, struct superversion *sv,
                    uint64_t *snap_out);
/* A snapshot of a pinned version (a checkpoint): reads of it use v (a
 * reference is taken) at seq. Not linked: v holds its own files. */
int db_snapshot_of_version(cirrus_db *db, struct version *v, uint64_t seq, cirrus_snapshot **out);
/* db_acquire for a read at seq (SEQ_MAX: the latest, with the memtables),
 * then the horizon check on sv->v, the version the read uses. *snap_out is
 * seq or, at the latest, sv->latest. On success the caller releases sv
 * (db_release); on error sv holds nothing. Returns 0, CIRRUS_EEXPIRED,
 * CIRRUS_ENOMEM. */
int db_acquire_at(cirrus_db *db, uint64_t seq, struct superversion *sv, uint64_t *snap_out);
/* The oldest open snapshot's seq, UINT64_MAX if none. Takes mu. */
uint64_t db_snapshots_oldest(cirrus_db *db);
/* Before a compaction with this horizon commits (run by the committer right
 * before the compare-and-swap): CIRRUS_ECONFLICT if an open snapshot is
 * older; else snapshots below it are refused until
 * db_snapshots_release_horizon. Takes mu. */
int db_snapshots_hold_horizon(cirrus_db *db, uint64_t horizon);
void db_snapshots_release_horizon(cirrus_db *db);

#endif
