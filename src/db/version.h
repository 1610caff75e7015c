/*
 * version.h - a version: the set of live files as of one seq.
 *
 * Versions are immutable and reference counted; applying an entry makes a
 * new one. Readers take a reference and read without locks.
 *
 * Invariants:
 *  1. L0 files are ordered newest first (seq descending, then ord
 *     descending); a newer L0 file shadows older ones. Files of levels >= 1 do not overlap within
 *     their level and are ordered by smallest key.
 *  2. A file name is live at most once.
 *  3. Replay is deterministic validation: version_apply() turns an entry
 *     that removes a file that is not live, adds one that is, or carries an
 *     (app, epoch) whose epoch is not above the app's newest, into a no-op
 *     (the seq still advances), so every reader that replays the same log
 *     reaches the same version.
 */
#ifndef CIRRUS_DB_VERSION_H
#define CIRRUS_DB_VERSION_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cirrus.h"
#include "db/entry.h"

struct iter;
struct objstore;
struct sst_reader;

struct live_file {
    atomic_int refs;
    struct file_meta meta; /* global_seq resolved: never ENTRY_SEQ_SELF */
    /* among L0 files of one seq (one commit), higher is newer: the file's
     * position in its entry (later files win: staged commits) */
    uint32_t ord;
    pthread_mutex_t mu;        /* guards reader */
    struct sst_reader *reader; /* opened on first use */
};

/* The newest epoch applied for one exactly-once app, and the seq that did. */
struct app_epoch {
    char *app;
    uint64_t epoch, seq;
};

struct version {
    atomic_int refs;
    uint64_t seq;    /* the last entry applied */
    int64_t time_ms; /* its commit time */
    /* reads at a seq below this are refused: compaction may have dropped
     * versions they need (the largest horizon of any compact entry) */
    uint64_t min_readable_seq;
    struct live_file **files[CIRRUS_MAX_LEVELS];
    size_t n_files[CIRRUS_MAX_LEVELS];
    struct app_epoch *apps; /* sorted by app */
    size_t n_apps;
    struct range_del *ranges; /* range tombstones, in commit order */
    size_t n_ranges;
};

int version_new(struct version **out);
void version_ref(struct version *v);
void version_unref(struct version *v);

/*
 * Applies entry e (whose seq must be v->seq + 1) to v: *out gets a new
 * version. *applied_out (may be NULL) is 0 when validation made e a no-op.
 * Returns 0, CIRRUS_ECORRUPT (seq out of order), CIRRUS_ENOMEM.
 */
int version_apply(struct version *v, const struct entry *e, struct version **out, int *applied_out);
/* 1 if replay would apply e on top of v (invariant 3), else 0. */
int version_entry_valid(const struct version *v, const struct entry *e);

/* Adds a file (copied) to a version being built (manifest loading). */
int version_add_file(struct version *v, const struct file_meta *f, uint32_t ord);
/* Restores invariant 1 after version_add_file calls. */
void version_sort(struct version *v);

/* What version_renamed calls for each file name: the name the copy gets
 * (name itself, a string that outlives the call, or buf filled), or NULL
 * when out of memory. */
typedef const char *(*version_rename_fn)(const char *name, char *buf, size_t cap, void *arg);
/* A copy of v (seq, time, horizon, files, range tombstones, epochs) whose
 * files are named by rename (clones, backups). */
int version_renamed(const struct version *v, version_rename_fn rename, void *arg,
                    struct version **out);

uint64_t version_total_files(const struct version *v);
/* The live file of v named name (borrowed), or NULL. */
struct live_file *version_find_file(const struct version *v, const char *name);

/* The newest range tombstone seq covering ukey with seq <= snap (0: none). */
uint64_t version_range_del_seq(const struct version *v, const void *ukey, size_t len,
                               uint64_t snap);
/* Appends a range tombstone (copied) to a version being built. */
int version_add_range(struct version *v, const struct range_del *r);

/* The app's entry, or NULL. */
const struct app_epoch *version_app(const struct version *v, const char *app);
/* Sets the app's epoch and seq in a version being built (manifests). */
int version_set_app(struct version *v, const char *app, uint64_t epoch, uint64_t seq);

/* The file's reader, opened on first use (thread-safe). Borrowed: valid while
 * the caller holds a reference to the file or a version containing it. */
struct block_cache;
int live_file_reader(struct live_file *f, struct objstore *os, struct block_cache *cache,
                     struct sst_reader **out);

/*
 * An iterator over the files of one level >= 1, which do not overlap and are
 * sorted by key (invariant 1): it keeps one file open at a time and moves to
 * the neighbouring file at either end of the current one, so a merge needs
 * one child per level instead of one per file, and a seek reads one file of
 * the level instead of all of them. `files` (n >= 1 of them, a sorted subset
 * of one level, e.g. those in a scan's bounds) is copied; the files are
 * borrowed: the caller holds a reference to them (a version) for the
 * iterator's life. Readers open on first use (live_file_reader). All
 * versions of a user key live in one file of a level, so a seek looks in the
 * file whose key range reaches the target's user key first.
 * readahead != 0 reads each file sequentially (sst_reader_iter_sequential),
 * for compaction; 0 reads block by block through the cache.
 * Returns 0, CIRRUS_EINVALID (n == 0) or CIRRUS_ENOMEM; errors of opening a
 * file are the iterator's status.
 */
int level_iter_new(struct iter **out, struct live_file *const *files, size_t n, struct objstore *os,
                   struct block_cache *cache, uint64_t readahead);

#endif
