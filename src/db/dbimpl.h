/*
 * dbimpl.h - the database handle, shared by the files of src/db.
 *
 * The handle is four components, each a struct with its own lock in a
 * header of its own (versions.h, write_buffer.h, committer.h,
 * compactor.h), which talk to each other through the db_* functions
 * declared there (never through cirrus_*, whose calls reset the
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
#include "db/committer.h"
#include "db/compactor.h"
#include "db/entry.h"
#include "db/identity.h"
#include "db/memtable.h"
#include "db/version.h"
#include "db/versions.h"
#include "db/write_buffer.h"
#include "util/buf.h"
#include "util/histogram.h"
#include "util/log.h"

/* What cirrus_stats reports beyond the components' own state: relaxed
 * atomics, bumped by any thread without a lock (histogram.h). */
struct db_metrics {
    struct histogram commit_us;                  /* db_commit: the CAS and log copy */
    struct histogram get_us;                     /* cirrus_get */
    struct log_counts logged;                    /* what db->logger delivered */
    _Atomic uint64_t bg_failures[CIRRUS_BG_MAX]; /* CIRRUS_BG_*: db_bg_failed() */
    _Atomic int64_t current_at_ms;               /* when this handle last knew it was at the
                                                  * head (a refresh or commit), Unix ms */
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
    struct logger logger SET_AT_OPEN;  /* opts' log_fn; db_log(); counts
                                        * into metrics.logged */
    struct db_metrics metrics;         /* atomics, no lock */
    struct identity ident SET_AT_OPEN; /* zeroed for a read-only handle of a
                                        * db from before identities */

    pthread_mutex_t mu;        /* the published state (see each field) */
    pthread_cond_t commit_cv;  /* with mu (see above) */
    pthread_cond_t version_cv; /* with mu */
    pthread_cond_t work_cv;    /* with mu */
    int closing GUARDED_BY(mu);
    /* the background group committer and follower (db.c) */
    pthread_t bg SET_AT_OPEN;
    int bg_started SET_AT_OPEN;
    int failed GUARDED_BY(mu); /* a batch was half buffered (out of memory):
                                * the handle refuses writes and commits */

    struct versions vs;
    struct write_buffer wb;
    struct committer cm;
    struct compactor cp;
};

/* the handle's own state (closing) */
/* Wakes every waiter (closing, or a failed handle). Caller holds mu. */
static inline void db_wake_all(cirrus_db *db)
{
    pthread_cond_broadcast(&db->commit_cv);
    pthread_cond_broadcast(&db->version_cv);
    pthread_cond_broadcast(&db->work_cv);
}

/* Delivers one message to the handle's logger (cirrus_options.log_fn). */
#define db_log(db, level, subsystem, ...) log_msg(&(db)->logger, (level), (subsystem), __VA_ARGS__)

/* Logs a background failure of subsystem bg (CIRRUS_BG_*) at warn, with
 * the thread's error message, and counts it: nothing the background does
 * fails silently. The work is retried at its next tick. */
void db_bg_failed(cirrus_db *db, int bg, const char *what);

/* Whether the handle is closing. Takes mu. */
static inline int db_closing(cirrus_db *db)
{
    pthread_mutex_lock(&db->mu);
    int c = db->closing;
    pthread_mutex_unlock(&db->mu);
    return c;
}

/* db.c: copies the caller's options src (any supported version) as this
 * build's struct. */
void options_copy(cirrus_options *dst, const cirrus_options *src);

/* db.c: cirrus_open in steps, for the calls that create a database in a
 * location of their own (clone, restore): the handle with its stores and
 * nothing loaded; then, once db->ident is set, loading and starting it;
 * or freeing a handle that did not finish. */
int db_open_stores(cirrus_db **out, const char *url, const cirrus_options *opts);
int db_open_finish(cirrus_db *db);
void db_open_abort(cirrus_db *db);
/* backup.c: makes the handle from db_open_stores a new database whose first
 * version is v (its files in place): writes manifest/<v->seq>, the identity
 * with base seq v->seq, and finishes the open. */
int db_create_from(cirrus_db *db, const struct version *v);

/* clone.c: a clone's reads of the files it shares go to the stores of the
 * databases it was cloned from (db->os becomes a routed store over them);
 * nothing for a database that is not a clone. Before the manifest is read. */
int parents_open(cirrus_db *db);

struct pin;
/* pins.c: checkpoint `name`'s pin and version (a reference). */
int db_checkpoint_version(cirrus_db *db, const char *name, struct pin *p, struct version **v_out);

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

/* lease.c: cirrus_lease_acquire / cirrus_lease_release, leaving the
 * thread's error message alone on success. */
int db_lease_acquire(cirrus_db *db, const char *name, const char *owner, int64_t ttl_ms,
                     uint64_t *token_out, cirrus_lease_info *holder_out);
int db_lease_release(cirrus_db *db, const char *name, const char *owner);
/* lease.c: decodes the value of the item of lease `name` (inspect.c). */
int db_lease_decode(cirrus_lease_info *l, const uint8_t *p, size_t len, const char *name);

/* clone.c: a parent record item's value (sort key sk) as a new JSON object
 * (*out, a json_t *) for cirrus_inspect. */
int db_parent_json(const uint8_t *data, size_t len, const char *sk, void *out);

#endif
