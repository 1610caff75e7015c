/*
 * committer.h - the committer component: the frozen queue (flush.c), the commit protocol, the head
 * and catch-up (commit.c).
 */
#ifndef CIRRUS_DB_COMMITTER_H
#define CIRRUS_DB_COMMITTER_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "cirrus.h"
#include "db/entry.h"
#include "db/locks.h"
#include "db/memtable.h"

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

/* commit.c (the protocol) and flush.c (the frozen queue): the committer. */
struct committer {
    pthread_mutex_t flush_mu; /* one flush at a time: memtables commit in
                               * the order they froze */
    pthread_mutex_t mu;       /* catch-up and commits; commit.c alone */
    /* FIFO of frozen memtables, oldest first; an entry's prepared/entry
     * fields belong to the cm.flush_mu holder */
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
};

/* commit.c: catches up with the log (cirrus_refresh, leaving the thread's
 * error message alone on success). Takes cm.mu. */
int db_refresh(cirrus_db *db, uint64_t *seq_out);
/* Replays log items from <= seq < to on *v, which becomes the result (a
 * reference; on an error, the version as far as it got). For views of the
 * past (inspect.c); takes no lock. */
struct version;
int db_replay_log(cirrus_db *db, struct version **v, uint64_t from, uint64_t to);
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
 * Takes cm.mu. */
int db_commit(cirrus_db *db, struct entry *e, void (*on_publish)(cirrus_db *db, void *arg),
              void *arg, uint64_t *seq_out, int *applied_out);

/* flush.c */
/* Queues memtable mem (id: its id) behind the frozen ones, taking its
 * reference, and wakes the background committer. Nothing is taken on
 * error (CIRRUS_ENOMEM). Caller holds mu. */
int db_enqueue_locked(cirrus_db *db, struct memtable *mem, uint64_t id);
/* Whether writers should wait for room in the queue. Caller holds mu. */
int db_queue_full_locked(const cirrus_db *db);
/* The count of failed flushes so far. Caller holds mu. */
uint64_t db_flush_errors_locked(const cirrus_db *db);
/* Whether a commit outcome is unknown. Caller holds mu. */
int db_ambiguous_locked(const cirrus_db *db);
/* Waits (on commit_cv) until memtable id is committed: 0; or a flush
 * failed after the count of failed flushes was `errors`: that flush's
 * error; or the handle is closing or failed: 1. Caller holds mu. */
int db_wait_committed_locked(cirrus_db *db, uint64_t id, uint64_t errors);
/* stage.c, for the entries of files written apart (write once, staging,
 * the loader). Makes e, which may list files already and has no writer
 * yet, a write entry of this handle (kind, commit id, writer). */
int db_new_write_entry(cirrus_db *db, struct entry *e);
/* Flushes the handle's buffered writes and refreshes; 1 (and *seq_out the
 * seq that applied it) when app_id's epoch >= epoch was applied already,
 * else 0. CIRRUS_EINVALID: a read-only handle, a bad app id, epoch 0. */
int db_app_applied(cirrus_db *db, const char *app_id, uint64_t epoch, uint64_t *seq_out);
/* Commits e tagged (app_id, epoch): *seq_out the seq that applied the
 * app's newest epoch, *applied_out whether e did (a racing retry of the
 * epoch may land first). */
int db_commit_once(cirrus_db *db, struct entry *e, const char *app_id, uint64_t epoch,
                   uint64_t *seq_out, int *applied_out);
/* The stage descriptor (docs/FORMAT.md) of e's files (malloc'd). */
int db_stage_descriptor(cirrus_db *db, const struct entry *e, char **out);
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
