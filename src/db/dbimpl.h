/*
 * dbimpl.h - the database handle, shared by the files of src/db.
 *
 * Locks, always taken in this order:
 *   flush_mu   one flush at a time: memtables commit in the order they froze
 *   commit_mu  advancing the version: catch-up with other writers, commits
 *   write_mu   buffering writes into `mem` (one writer at a time, as the
 *              memtable wants) and swapping `mem` out (freezing)
 *   mu         the published state below (memtables, current version, ids)
 * Readers take mu only to grab references (struct superversion) and then
 * read without locks. Writers take mu to be let in (write.c, admit()) and
 * then buffer under write_mu alone, so that readers do not queue behind
 * them.
 *
 * Write path: a write goes into `mem` with a seq above SEQ_COMMITTED_MAX
 * (ikey.h) so this handle's own reads see it at once. The group committer
 * (the background thread, every flush_interval_ms) or an explicit flush
 * freezes `mem` into the `imm` queue, writes it as SST objects, and commits
 * one entry adding them (commit.c). Only then does the memtable leave `imm`,
 * in the same critical section that publishes the version holding its
 * files, so a reader never misses or double-counts a write.
 */
#ifndef CIRRUS_DB_DBIMPL_H
#define CIRRUS_DB_DBIMPL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cirrus.h"
#include "db/commitlog.h"
#include "db/entry.h"
#include "db/memtable.h"
#include "db/version.h"
#include "util/buf.h"

/* A frozen memtable waiting to be committed. Its entry is built once and
 * reused by every retry, with the same commit id, so that an ambiguous
 * attempt followed by a retry can never commit it twice. */
struct imm {
    struct memtable *mem;
    uint64_t id;
    int prepared; /* files uploaded and entry built */
    struct entry entry;
};

#define COMMIT_HISTORY 64

struct cirrus_db {
    cirrus_options opts;
    struct objstore *os;         /* outermost: the disk cache when enabled */
    struct objstore *os_counted; /* the counting layer under it (borrowed) */
    struct metastore *ms;        /* a counting layer over the backend */
    struct block_cache *bcache;  /* NULL when disabled */
    struct commitlog log;
    char writer_id[128];

    pthread_mutex_t flush_mu;
    pthread_mutex_t commit_mu;
    pthread_mutex_t write_mu;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* signalled on commits, flush errors, new work, close */

    /* guarded by mu; mem and mem_id change only under write_mu too (read
     * under either), next_mseq is write_mu's alone */
    struct memtable *mem;
    uint64_t mem_id;    /* id of mem; ids grow by one per memtable */
    uint64_t next_mseq; /* seq for the next buffered write */
    /* the newest buffered seq that reads at the latest may see: a write's
     * entries become visible together, once all of them are in `mem`
     * (stored after them, release; loaded by db_acquire, acquire) */
    _Atomic uint64_t visible_mseq;
    struct imm **imm; /* FIFO of frozen memtables, oldest first */
    size_t n_imm;
    uint64_t committed_id; /* every memtable with id <= this is committed */
    struct commit_record {
        uint64_t id, seq;
    } history[COMMIT_HISTORY]; /* which seq committed which memtable */
    uint64_t last_commit_seq;  /* this handle's newest commit */
    uint64_t flush_errors;     /* bumped on every failed flush */
    int flush_rc;              /* the last failed flush's code */
    char flush_msg[512];       /* ... and message */
    int ambiguous;             /* a commit outcome is unknown */
    int failed;                /* a batch was half buffered (out of memory):
                                * the handle refuses writes and commits */
    struct version *current;
    int closing;
    /* write slowdown (write.c, throttle_locked): the pacer's clock, i.e. when
     * the writes it has let through so far may all have run at the paced
     * rate (mono_ns); and what it cost writers since open */
    uint64_t pace_next_ns;
    uint64_t n_write_slowdowns; /* writes that slept */
    uint64_t write_slowdown_ns; /* time they slept */
    uint64_t n_write_stops;     /* writes that waited at the stop trigger */
    uint64_t write_stop_ns;     /* time they waited */

    /* guarded by commit_mu */
    uint8_t *head_raw; /* raw value of the head item as last read or written */
    size_t head_raw_len;
    uint64_t head_raw_seq;
    uint64_t log_copied; /* every entry <= this is known to be in the log */

    pthread_t bg;
    int bg_started;

    /* compaction and GC (compaction.c, gc.c) */
    pthread_mutex_t compact_mu; /* one compaction or GC at a time per handle */
    pthread_t compactor;
    int compactor_started;
    /* changed under compact_mu; atomic because writers read it without
     * (the write stop waits only while this handle compacts) */
    atomic_int lease_held;
    int64_t lease_renew_at_ms;                 /* when to renew it */
    int64_t next_gc_ms;                        /* when the background GC runs next */
    struct buf compact_ptr[CIRRUS_MAX_LEVELS]; /* round-robin position per level */
    uint64_t n_compactions;                    /* committed by this handle */
    uint64_t compacted_bytes;                  /* bytes written by them */
};

/* What a read works on: referenced, immutable pieces. */
struct superversion {
    struct memtable *mems[16]; /* newest first: mem, then imm newest first */
    size_t n_mems;
    struct memtable **more; /* when more than 16 */
    struct version *v;
    uint64_t latest; /* the snapshot of a read at the latest (visible_mseq) */
};

/* db.c */
int db_catch_up(cirrus_db *db);
/* cirrus_seq_at_time over the retained log: when time_ms is before the
 * oldest retained entry, *before_log is 1 and *seq_out is that entry's seq
 * minus one, an upper bound of the true answer (safe for horizons). */
int db_seq_at_time(cirrus_db *db, int64_t time_ms, uint64_t *seq_out, int *before_log);
/* Turns read options into a snapshot: *snap_out is ro->seq, or SEQ_MAX
 * (with this handle's buffered writes) for the latest. A seq beyond the
 * head (after a refresh) is CIRRUS_EINVALID. */
int db_snapshot(cirrus_db *db, const cirrus_read_options *ro, uint64_t *snap_out);

/* read.c: the value of key at snap in sv, merges and expiry resolved
 * (cirrus_get's contract). */
int db_get_in(cirrus_db *db, struct superversion *sv, uint64_t snap, const void *key, size_t len,
              void **val_out, size_t *val_len_out);
/* read.c: the seq of the newest committed entry (put or delete) for key in
 * v, 0 if none. */
int db_newest_seq(cirrus_db *db, struct version *v, const void *key, size_t len, uint64_t *seq_out);
int db_acquire(cirrus_db *db, struct superversion *sv, int with_mems);
void db_release(struct superversion *sv);

/* commit.c: commits e (files added/removed, kind) as the next entry; sets
 * e->seq. on_publish (may be NULL) runs under mu in the critical section
 * that publishes the version holding e, so that e.g. the memtable e was
 * written from disappears from reads at the same instant its files appear.
 * An entry that replay would ignore at the head (a compaction whose inputs
 * another compactor removed, an epoch already applied) is not committed:
 * CIRRUS_ECONFLICT. *applied_out (may be NULL) is 0 only when an earlier
 * attempt with an unknown outcome turns out to have landed as a no-op.
 * An entry whose new files are older than half the GC grace period, and
 * that cannot have landed (e->maybe_landed == 0), is refused with
 * CIRRUS_ETIMEOUT: rewrite the files and try again.
 * Caller holds commit_mu. */
int db_commit(cirrus_db *db, struct entry *e, void (*on_publish)(cirrus_db *db, void *arg),
              void *arg, uint64_t *seq_out, int *applied_out);

/* compaction.c */
int db_start_compactor(cirrus_db *db);
void db_stop_compactor(cirrus_db *db);
/* Bytes by which the levels exceed their targets (L0: files over the trigger
 * times their average size). */
uint64_t db_compaction_backlog(const cirrus_db *db, const struct version *v);
/* Takes or renews the compactor lease; CIRRUS_EBUSY if another holds it.
 * Caller holds compact_mu. */
int db_hold_compactor_lease(cirrus_db *db);
/* Releases the compactor lease if held, keeping the thread's error message.
 * Caller holds compact_mu. */
void db_drop_compactor_lease(cirrus_db *db);

/* write.c */
/* Writes batch b (in op order, last op per key wins) as L0 files listed in
 * e, without committing. CIRRUS_EINVALID for an empty batch. */
int db_batch_files(cirrus_db *db, const cirrus_batch *b, struct entry *e);
/* Writes the newest entry of every key of m as L0 files of at most
 * target_file_size, listed in e (not committed). */
int db_memtable_files(cirrus_db *db, struct memtable *m, struct entry *e);
int db_flush_until(cirrus_db *db, uint64_t id);
/* Fills the write stall counters of *out (cirrus_stats_get). Takes mu. */
void db_write_stall_stats(cirrus_db *db, cirrus_stats *out);
int db_freeze(cirrus_db *db);
void db_free_imm(struct imm *im);

#endif
