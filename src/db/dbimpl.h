/*
 * dbimpl.h - the database handle, shared by the files of src/db.
 *
 * The handle is four components, each a struct below with its own file(s)
 * and lock, which talk to each other through the db_* functions declared
 * here and in their headers (never through cirrus_*, whose calls reset the
 * thread's error message):
 *   versions      (vs, versions.c)  the current version, superversions for
 *                 reads, snapshots
 *   write buffer  (wb, write.c)     the memtable, admission, pacing, freezing
 *   committer     (cm, commit.c, flush.c)  the frozen queue, the commit
 *                 protocol and its ambiguous state, the head, catch-up;
 *                 SST outputs are written by sst_output.c for every writer
 *   compactor     (cp, compactor.c) the lease, when compaction (compaction.c)
 *                 and GC (gc.c) run, their counters
 * db.c wires them: open, close, the background thread, stats.
 *
 * Locks, always taken in this order (a lock may be skipped, never taken
 * while holding one below it):
 *   cp.mu        one compaction or GC at a time per handle; taken with no
 *                other lock held, held across commits
 *   cm.flush_mu  one flush at a time: memtables commit in the order they froze
 *   cm.mu        advancing the version: catch-up with other writers,
 *                commits; taken by commit.c alone (db_commit, db_refresh)
 *   wb.mu        buffering writes into `wb.mem` (one writer at a time, as
 *                the memtable wants) and swapping it out (freezing)
 *   mu           the published state: every field marked GUARDED_BY(mu)
 * Readers take mu only to grab references (struct superversion) and then
 * read without locks. Writers take mu to be let in (write.c, admit()) and
 * then buffer under wb.mu alone, so that readers do not queue behind them.
 *
 * Two fields change under two locks, so that either one is enough to read
 * them: `vs.current` is written under cm.mu and mu (commit.c, publish()),
 * so the committer reads it under cm.mu alone and everyone else under mu;
 * `wb.mem` and `wb.mem_id` are written under wb.mu and mu, so the writer
 * reads them under wb.mu alone and readers under mu.
 *
 * Three condition variables, each with mu, one per kind of change; every
 * waiter loops on its own predicate, and closing or failing the handle
 * wakes them all (db_wake_all):
 *   commit_cv   a frozen memtable was committed or a flush failed: writers
 *               waiting for room in `imm` or for their commit
 *   version_cv  a new version was published: writers at the stop trigger,
 *               the compactor waiting for L0 to fill
 *   work_cv     a memtable froze: the background committer
 *
 * Write path: a write goes into `wb.mem` with a seq above SEQ_COMMITTED_MAX
 * (ikey.h) so this handle's own reads see it at once. The group committer
 * (the background thread, every flush_interval_ms) or an explicit flush
 * freezes it into the `cm.imm` queue, writes it as SST objects, and commits
 * one entry adding them (commit.c). Only then does the memtable leave the queue,
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

/*
 * Lock annotations, as LevelDB's GUARDED_BY: what a reviewer checks every
 * access against (clang's -Wthread-safety cannot name another struct's
 * field in C, so they expand to nothing).
 *   GUARDED_BY(a)     read and written holding a
 *   GUARDED_BY(a, b)  written holding both, read holding either
 *   SET_AT_OPEN       written by cirrus_open before any other thread
 *                     starts (or by cirrus_close after joining them), read
 *                     without a lock in between
 *   ATOMIC(why)       a C11 atomic; `why` says which order and for whom
 *   THREAD_OWN(t)     touched by thread t alone
 * `mu` below is cirrus_db.mu, the lock of the published state.
 */
#define GUARDED_BY(...)
#define SET_AT_OPEN
#define ATOMIC(...)
#define THREAD_OWN(...)

/* versions.c: what reads see. */
struct versions {
    /* a reader that keeps it past mu takes a reference (db_acquire) */
    struct version *current GUARDED_BY(mu, cm.mu);
    struct cirrus_snapshot *snapshots GUARDED_BY(mu); /* open snapshots */
    uint64_t pending_horizon GUARDED_BY(mu);          /* of a compaction being committed, or 0 */
};

/* write.c: the memtable writes go into, admission and pacing. */
struct write_buffer {
    /* one writer at a time buffers into mem (the memtable has a single
     * writer); readers do not take it */
    pthread_mutex_t mu;
    struct memtable *mem GUARDED_BY(wb.mu, mu);
    uint64_t mem_id GUARDED_BY(wb.mu, mu); /* id of mem; +1 per memtable */
    uint64_t next_mseq GUARDED_BY(wb.mu);  /* seq of the next buffered write */
    /* the newest buffered seq reads at the latest may see: a write's
     * entries become visible together, once all of them are in mem */
    _Atomic uint64_t visible_mseq ATOMIC(stored under wb.mu after the entries, release;
                                         loaded by db_acquire, acquire);
    /* the write slowdown (throttle_locked): the pacer's clock, i.e. when the
     * writes it let through may all have run at the paced rate (mono_ns),
     * and what it cost writers since open */
    uint64_t pace_next_ns GUARDED_BY(mu);
    uint64_t n_write_slowdowns GUARDED_BY(mu); /* writes that slept */
    uint64_t write_slowdown_ns GUARDED_BY(mu); /* time they slept */
    uint64_t n_write_stops GUARDED_BY(mu);     /* writes held at the stop trigger */
    uint64_t write_stop_ns GUARDED_BY(mu);     /* time they waited */
};

/* commit.c (the protocol) and flush.c (the frozen queue): the committer. */
struct committer {
    pthread_mutex_t flush_mu; /* one flush at a time: memtables commit in
                               * the order they froze */
    pthread_mutex_t mu;       /* catch-up and commits; commit.c alone */
    /* FIFO of frozen memtables, oldest first; an entry's prepared/entry
     * fields belong to the flush_mu holder */
    struct imm **imm GUARDED_BY(mu);
    size_t n_imm GUARDED_BY(mu);
    uint64_t committed_id GUARDED_BY(mu); /* memtables with id <= this are committed */
    struct commit_record {
        uint64_t id, seq;
    } history[COMMIT_HISTORY] GUARDED_BY(mu); /* which seq committed which memtable */
    uint64_t last_commit_seq GUARDED_BY(mu);  /* this handle's newest commit */
    uint64_t flush_errors GUARDED_BY(mu);     /* bumped on every failed flush */
    int flush_rc GUARDED_BY(mu);              /* the last failed flush's code */
    char flush_msg[512] GUARDED_BY(mu);       /* ... and message */
    int ambiguous GUARDED_BY(mu);             /* a commit outcome is unknown */
    /* the head item as last read or written, and the log copy */
    uint8_t *head_raw GUARDED_BY(cm.mu);
    size_t head_raw_len GUARDED_BY(cm.mu);
    uint64_t head_raw_seq GUARDED_BY(cm.mu);
    uint64_t log_copied GUARDED_BY(cm.mu); /* entries <= this are in the log */
    /* the background group committer and follower (db.c); neither thread
     * reads these */
    pthread_t bg SET_AT_OPEN;
    int bg_started SET_AT_OPEN;
};

/* compactor.c: who compacts and collects garbage. */
struct compactor {
    /* one compaction or GC at a time per handle; taken with no other lock
     * held, held across commits */
    pthread_mutex_t mu;
    /* atomic because writers read it without cp.mu (the write stop waits
     * only while this handle compacts) */
    atomic_int lease_held GUARDED_BY(cp.mu) ATOMIC(relaxed reads by writers);
    int64_t lease_renew_at_ms GUARDED_BY(cp.mu);
    struct buf ptr[CIRRUS_MAX_LEVELS] GUARDED_BY(cp.mu); /* round-robin position */
    int64_t next_gc_ms THREAD_OWN(compactor);            /* when the background GC runs next */
    /* added to under cp.mu, read by cirrus_stats_get without it */
    _Atomic uint64_t n_compactions ATOMIC(relaxed : a counter);   /* committed here */
    _Atomic uint64_t compacted_bytes ATOMIC(relaxed : a counter); /* written by them */
    pthread_t thread SET_AT_OPEN;
    int started SET_AT_OPEN;
};

struct cirrus_db {
    cirrus_options opts SET_AT_OPEN;
    struct objstore *os SET_AT_OPEN;         /* outermost: the disk cache when enabled */
    struct objstore *os_backend SET_AT_OPEN; /* under the cache (borrowed): cirrus_stats
                                              * reads its counts */
    struct metastore *ms SET_AT_OPEN;        /* the backend, or a fault: wrapper of it */
    struct block_cache *bcache SET_AT_OPEN;  /* NULL when disabled */
    struct commitlog log SET_AT_OPEN;        /* names only; its calls are thread-safe */
    char writer_id[128] SET_AT_OPEN;

    pthread_mutex_t mu;        /* the published state (see each field) */
    pthread_cond_t commit_cv;  /* with mu (see above) */
    pthread_cond_t version_cv; /* with mu */
    pthread_cond_t work_cv;    /* with mu */
    int closing GUARDED_BY(mu);
    int failed GUARDED_BY(mu); /* a batch was half buffered (out of memory):
                                * the handle refuses writes and commits */

    struct versions vs;
    struct write_buffer wb;
    struct committer cm;
    struct compactor cp;
};

/* What a read works on: referenced, immutable pieces. */
struct superversion {
    struct memtable *mems[16]; /* newest first: mem, then imm newest first */
    size_t n_mems;
    struct memtable **more; /* when more than 16 */
    struct version *v;
    uint64_t latest; /* the snapshot of a read at the latest (visible_mseq) */
};

/* the handle's own state (closing) */
/* Wakes every waiter (closing, or a failed handle). Caller holds mu. */
static inline void db_wake_all(cirrus_db *db)
{
    pthread_cond_broadcast(&db->commit_cv);
    pthread_cond_broadcast(&db->version_cv);
    pthread_cond_broadcast(&db->work_cv);
}

/* Whether the handle is closing. Takes mu. */
static inline int db_closing(cirrus_db *db)
{
    pthread_mutex_lock(&db->mu);
    int c = db->closing;
    pthread_mutex_unlock(&db->mu);
    return c;
}

/* versions.c */
int db_acquire(cirrus_db *db, struct superversion *sv, int with_mems);
void db_release(struct superversion *sv);
/* The seq a read with ro reads at: its snapshot's, or SEQ_MAX (the latest,
 * with this handle's buffered writes). CIRRUS_EINVALID for a snapshot of
 * another handle. */
int db_read_seq(cirrus_db *db, const cirrus_read_options *ro, uint64_t *seq_out);
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

/* read.c: the value of key at snap in sv, merges and expiry resolved
 * (cirrus_get's contract). */
int db_get_in(cirrus_db *db, struct superversion *sv, uint64_t snap, const void *key, size_t len,
              void **val_out, size_t *val_len_out);
/* read.c: the seq of the newest committed entry (put or delete) for key in
 * v, 0 if none. */
int db_newest_seq(cirrus_db *db, struct version *v, const void *key, size_t len, uint64_t *seq_out);
/* read.c: cirrus_get at seq (SEQ_MAX: the latest). */
int db_get_at(cirrus_db *db, uint64_t seq, const void *key, size_t key_len, void **val_out,
              size_t *val_len_out);

/* commit.c: catches up with the log (cirrus_refresh, leaving the thread's
 * error message alone on success). Takes commit_mu. */
int db_refresh(cirrus_db *db, uint64_t *seq_out);
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
 * Takes commit_mu. */
int db_commit(cirrus_db *db, struct entry *e, void (*on_publish)(cirrus_db *db, void *arg),
              void *arg, uint64_t *seq_out, int *applied_out);

/* lease.c: cirrus_lease_acquire / cirrus_lease_release, leaving the
 * thread's error message alone on success. */
int db_lease_acquire(cirrus_db *db, const char *name, const char *owner, int64_t ttl_ms,
                     uint64_t *token_out, cirrus_lease_info *holder_out);
int db_lease_release(cirrus_db *db, const char *name, const char *owner);

/* write.c */
/* cirrus_flush, leaving the thread's error message alone on success. */
int db_flush(cirrus_db *db, uint64_t *seq_out);
/* Fills the write stall counters of *out (cirrus_stats_get). Takes mu. */
void db_write_stall_stats(cirrus_db *db, cirrus_stats *out);
/* Moves the memtable, if not empty, to the committer's queue. Takes wb.mu. */
int db_freeze(cirrus_db *db);

/* flush.c */
/* Writes batch b (in op order, last op per key wins) as L0 files listed in
 * e, without committing. CIRRUS_EINVALID for an empty batch. */
int db_batch_files(cirrus_db *db, const cirrus_batch *b, struct entry *e);
/* Writes the newest entry of every key of m as L0 files of at most
 * target_file_size, listed in e (not committed). */
int db_memtable_files(cirrus_db *db, struct memtable *m, struct entry *e);
/* Commits the queued memtables, oldest first, up to and including id.
 * Takes cm.flush_mu. */
int db_flush_until(cirrus_db *db, uint64_t id);
void db_free_imm(struct imm *im);
/* The seq that committed memtable id, or when that is no longer remembered
 * (or id is 0) this handle's newest commit, else the head it knows. Caller
 * holds mu. */
uint64_t db_committed_seq_locked(cirrus_db *db, uint64_t id);

#endif
