/*
 * dbimpl.h - the database handle, shared by the files of src/db.
 *
 * Locks, always taken in this order (a lock may be skipped, never taken
 * while holding one below it):
 *   compact_mu one compaction or GC at a time per handle (compaction.c,
 *              gc.c); taken with no other lock held, held across commits
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
 * Two fields change under two locks, so that either one is enough to read
 * them: `current` is written under commit_mu and mu (commit.c, publish()),
 * so the committer reads it under commit_mu alone and everyone else under
 * mu; `mem` and `mem_id` are written under write_mu and mu, so the writer
 * reads them under write_mu alone and readers under mu. Every field below
 * names its rule. (clang's -Wthread-safety cannot check them: its
 * guarded_by cannot name a sibling field in C.)
 *
 * One condition variable, `cv` with mu, serves every wait: writers waiting
 * for room in `imm` or for their commit, writers at the stop trigger, the
 * background thread waiting for work, the compactor waiting for L0 to fill.
 * Each waits in a loop on its own predicate, and every change to any of
 * them (a commit, a freeze, a failed flush, a failed handle, close) is a
 * broadcast, so no waiter misses its wake-up.
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
    /* set by cirrus_open before any other thread starts, then read-only
     * (no lock) until cirrus_close has joined the threads */
    cirrus_options opts;
    struct objstore *os;         /* outermost: the disk cache when enabled */
    struct objstore *os_backend; /* under the cache (borrowed): cirrus_stats reads its counts */
    struct metastore *ms;        /* the backend, or a fault: wrapper of it */
    struct block_cache *bcache;  /* NULL when disabled */
    struct commitlog log;        /* names only; the calls are thread-safe */
    char writer_id[128];

    pthread_mutex_t flush_mu;
    pthread_mutex_t commit_mu;
    pthread_mutex_t write_mu;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* with mu: every wait (see above) */

    /* ---- guarded by write_mu and mu: written holding both, read holding
     * either (the writer under write_mu, readers under mu) */
    struct memtable *mem;
    uint64_t mem_id; /* id of mem; ids grow by one per memtable */

    /* ---- guarded by write_mu */
    uint64_t next_mseq; /* seq for the next buffered write */

    /* ---- atomic: the newest buffered seq that reads at the latest may
     * see: a write's entries become visible together, once all of them are
     * in `mem` (stored under write_mu after them, release; loaded by
     * db_acquire, acquire) */
    _Atomic uint64_t visible_mseq;

    /* ---- guarded by commit_mu and mu: written holding both (publish(),
     * and cirrus_open before other threads start), read holding either
     * (the committer and catch-up under commit_mu, everyone else under mu).
     * A reader that keeps it past the lock takes a reference (db_acquire). */
    struct version *current;

    /* ---- guarded by mu */
    struct imm **imm; /* FIFO of frozen memtables, oldest first; an entry's
                       * prepared/entry fields belong to the flush_mu holder */
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
    int closing;
    /* write slowdown (write.c, throttle_locked): the pacer's clock, i.e. when
     * the writes it has let through so far may all have run at the paced
     * rate (mono_ns); and what it cost writers since open */
    uint64_t pace_next_ns;
    uint64_t n_write_slowdowns; /* writes that slept */
    uint64_t write_slowdown_ns; /* time they slept */
    uint64_t n_write_stops;     /* writes that waited at the stop trigger */
    uint64_t write_stop_ns;     /* time they waited */

    /* ---- guarded by commit_mu */
    uint8_t *head_raw; /* raw value of the head item as last read or written */
    size_t head_raw_len;
    uint64_t head_raw_seq;
    uint64_t log_copied; /* every entry <= this is known to be in the log */

    /* ---- the threads: set by cirrus_open once each has started, cleared
     * by cirrus_close after joining it; neither thread reads them, so other
     * threads read them without a lock (no call may race open or close) */
    pthread_t bg;
    int bg_started;
    pthread_t compactor;
    int compactor_started;

    /* ---- compaction and GC (compaction.c, gc.c) */
    pthread_mutex_t compact_mu; /* one compaction or GC at a time per handle */
    /* written under compact_mu; atomic because writers read it without
     * (the write stop waits only while this handle compacts) */
    atomic_int lease_held;
    /* guarded by compact_mu */
    int64_t lease_renew_at_ms;                 /* when to renew it */
    struct buf compact_ptr[CIRRUS_MAX_LEVELS]; /* round-robin position per level */
    /* the compactor thread's own (no lock) */
    int64_t next_gc_ms; /* when the background GC runs next */
    /* added to under compact_mu; atomic because cirrus_stats_get reads them
     * without it (relaxed: counters, they order nothing) */
    _Atomic uint64_t n_compactions;   /* committed by this handle */
    _Atomic uint64_t compacted_bytes; /* bytes written by them */
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
 * head (after a refresh) is CIRRUS_EINVALID; one below the current
 * version's retention horizon CIRRUS_EEXPIRED. The horizon may move before
 * the read takes its version: reads use db_acquire_snapshot, which checks
 * again on the version they read. */
int db_snapshot(cirrus_db *db, const cirrus_read_options *ro, uint64_t *snap_out);
/* db_snapshot, then db_acquire (with the memtables for a read at the
 * latest), then the horizon check on sv->v, the version the read uses.
 * *snap_out is ro->seq or, at the latest, sv->latest. On success the
 * caller releases sv (db_release); on error sv holds nothing. Returns 0,
 * CIRRUS_EINVALID, CIRRUS_EEXPIRED, CIRRUS_ENOMEM, a refresh's errors. */
int db_acquire_snapshot(cirrus_db *db, const cirrus_read_options *ro, struct superversion *sv,
                        uint64_t *snap_out);

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
