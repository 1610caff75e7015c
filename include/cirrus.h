/*
 * cirrus.h - the public C API of cirrus, an LSM key-value store whose primary
 * storage is an object store and whose commit state lives in a strongly
 * consistent metadata store.
 *
 * Conventions (they hold for every function below):
 *
 *  - Functions return 0 on success or a negative CIRRUS_E* code. The code
 *    says what kind of failure it was; cirrus_errmsg() returns a one-line
 *    message for the calling thread that names the cause (object, item,
 *    operation, service error). cirrus_strerror() names a code.
 *  - Keys and values are arbitrary bytes given as (pointer, length). Keys
 *    order by unsigned byte comparison (memcmp, shorter first on a tie).
 *  - Out-parameters come first and are named out / *_out. Nothing is written
 *    to an out-parameter when a function fails, unless its comment says so.
 *  - Bytes returned by iterators are borrowed: valid until the next call on
 *    that iterator. Bytes returned by cirrus_get() are owned by the caller and
 *    freed with cirrus_free().
 *  - Handles are thread-safe (cirrus_db) unless said otherwise; iterators and
 *    batches belong to one thread at a time.
 *  - *_close() and *_free() accept NULL.
 *
 * Sequence numbers: every commit of a database gets the next `seq` (1, 2, 3
 * ... dense, no gaps). seq 0 is the empty database. A read "at seq S" sees
 * exactly what the commits 1..S wrote.
 */
#ifndef CIRRUS_H
#define CIRRUS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define CIRRUS_API __attribute__((visibility("default")))
#else
#define CIRRUS_API
#endif

/* ---- version ----------------------------------------------------------- */

/* The version of this header, MAJOR.MINOR.PATCH (CHANGELOG.md says what each
 * changed). Defined here and nowhere else: the build takes the library's
 * version, its soname (libcirrus.so.MAJOR), cirrus.pc and the CMake package
 * from these lines. Before 1.0 a new MINOR may change the API. */
#define CIRRUS_VERSION_MAJOR 0
#define CIRRUS_VERSION_MINOR 1
#define CIRRUS_VERSION_PATCH 0
/* One number that orders versions: MAJOR * 10000 + MINOR * 100 + PATCH. */
#define CIRRUS_VERSION_NUMBER                                                                      \
    (CIRRUS_VERSION_MAJOR * 10000 + CIRRUS_VERSION_MINOR * 100 + CIRRUS_VERSION_PATCH)

/* The version of the library linked at run time, "MAJOR.MINOR.PATCH" (static
 * storage). It may differ from the header's when a program was built against
 * another release. Never NULL. */
CIRRUS_API const char *cirrus_version(void);

/* ---- status codes ------------------------------------------------------ */

enum {
    CIRRUS_OK = 0,
    CIRRUS_ENOTFOUND = -1,  /* key, object, item or seq does not exist */
    CIRRUS_ECONFLICT = -2,  /* a conditional write lost, or a txn conflicted */
    CIRRUS_ECORRUPT = -3,   /* a checksum, magic or length check failed */
    CIRRUS_EIO = -4,        /* local I/O or a service error */
    CIRRUS_ETIMEOUT = -5,   /* an operation did not finish in time */
    CIRRUS_ENOMEM = -6,     /* out of memory */
    CIRRUS_EINVALID = -7,   /* bad argument or option */
    CIRRUS_EEXISTS = -8,    /* the object or item exists already */
    CIRRUS_EAMBIGUOUS = -9, /* a commit's outcome is unknown; the handle refuses
                             * writes until cirrus_flush() resolves it */
    CIRRUS_EVERSION = -10,  /* a format version this build does not know */
    CIRRUS_EBUSY = -11,     /* a lock or lease is held by someone else */
    CIRRUS_EAUTH = -12,     /* credentials were refused */
    CIRRUS_ECLOSED = -13,   /* the handle is closing or failed for good */
    CIRRUS_EEXPIRED = -14,  /* the data asked for is older than its retention
                             * and gone (changefeed, old seqs) */
    CIRRUS_EMISMATCH = -15, /* the object store and the metadata store are not
                             * one database (their identities disagree) */
};

/* The name of a status code, e.g. "not found". Never NULL. */
CIRRUS_API const char *cirrus_strerror(int rc);

/* The calling thread's message for its last failed call (static storage,
 * overwritten by the next failure on this thread). Never NULL. */
CIRRUS_API const char *cirrus_errmsg(void);

/* Frees memory that a cirrus function handed to the caller. */
CIRRUS_API void cirrus_free(void *p);

/* ---- options ----------------------------------------------------------- */

enum cirrus_compression {
    CIRRUS_COMPRESSION_NONE = 0,
    CIRRUS_COMPRESSION_ZSTD = 1,
    CIRRUS_COMPRESSION_LZ4 = 2,
};

/*
 * A merge operator: read-free updates ("add 5 to this counter") stored as
 * operands and resolved when read or compacted. Operands of one key are
 * applied oldest first. Callbacks return 0 or a negative CIRRUS_E* code and
 * hand back malloc'd results; they must be deterministic and free of side
 * effects (they run at read time, in flushes and in compactions, possibly
 * several times).
 */
typedef struct cirrus_merge_operator {
    const char *name;
    /* The value after applying n_ops operands (oldest first) to base
     * (base == NULL when the key had no value). */
    int (*full_merge)(void *arg, const void *base, size_t base_len, const void *const *ops,
                      const size_t *op_lens, size_t n_ops, void **out, size_t *out_len);
    /* One operand equivalent to applying `older` then `newer`. The operator
     * must be associative: memtables and compactions combine operands of a
     * key that has no value yet. */
    int (*partial_merge)(void *arg, const void *older, size_t older_len, const void *newer,
                         size_t newer_len, void **out, size_t *out_len);
    void *arg;
} cirrus_merge_operator;

/* The built-in operator (used when cirrus_options.merge_operator is NULL):
 * values and operands are signed 64-bit integers in decimal text; merging
 * adds (wrapping modulo 2^64). A value that is not such a number makes the
 * read fail with CIRRUS_EINVALID naming the key. */
CIRRUS_API const cirrus_merge_operator *cirrus_counter_add_operator(void);

/* ---- logging ------------------------------------------------------------ */

/* Message levels, most severe first. */
enum {
    CIRRUS_LOG_ERROR = 0, /* an operation failed and nothing retries it */
    CIRRUS_LOG_WARN = 1,  /* a background failure that will be retried, a fallback */
    CIRRUS_LOG_INFO = 2,  /* what the background work did (a compaction, a GC) */
    CIRRUS_LOG_DEBUG = 3, /* every request and decision; never secrets */
};

/* Receives one message: its level, the subsystem ("compaction", "gc",
 * "refresh", "lease", "credentials", "s3", ...) and one line of text with
 * no newline. Called from any thread, possibly at once from several; it
 * must not call back into cirrus with the same handle. */
typedef void (*cirrus_log_fn)(int level, const char *subsystem, const char *message, void *arg);

/* The name of a level ("error", "warn", "info", "debug"); NULL for another
 * value. */
CIRRUS_API const char *cirrus_log_level_name(int level);

/* Parses a level name (as above, case-insensitive); -1 for another one. */
CIRRUS_API int cirrus_log_level_parse(const char *name);

/* Version 2 added log_fn, log_arg and log_level; a version 1 struct is
 * still accepted (its handle logs to stderr at warn). */
#define CIRRUS_OPTIONS_VERSION 2

typedef struct cirrus_options {
    int version; /* CIRRUS_OPTIONS_VERSION */
    /* Metadata store URL. NULL: derived from the db URL (a directory db keeps
     * its metadata in DIR/meta.sqlite3). */
    const char *meta_url;
    /* Group commit period in milliseconds. Writes buffered in memory are
     * committed at least this often. 0 disables the background committer:
     * only cirrus_flush() and CIRRUS_WRITE_NOW commit. Default 100. */
    uint32_t flush_interval_ms;
    /* How often a handle polls the metadata store for other writers' commits,
     * in milliseconds; 0: only on open and on cirrus_refresh(). Default 100. */
    uint32_t refresh_interval_ms;
    /* Bytes buffered in the memtable before it is committed early. Default
     * 64 MiB. */
    size_t write_buffer_size;
    /* Target uncompressed size of a data block in bytes. Default 16 KiB. */
    uint32_t block_size;
    /* Target size of one SST file in bytes (a larger commit writes several).
     * Default 64 MiB. */
    uint64_t target_file_size;
    /* Bloom filter bits per key; 0 disables filters. Default 10. */
    uint32_t bloom_bits_per_key;
    /* Block compression. Default CIRRUS_COMPRESSION_LZ4. */
    int compression;
    /* A manifest snapshot is written every this many commits. Default 64. */
    uint32_t manifest_interval;
    /* Create the database if it does not exist. Default 1. */
    int create_if_missing;
    /* Open read-only: every write call fails with CIRRUS_EINVALID. Default 0. */
    int read_only;
    /* Run compaction and garbage collection in a background thread whenever
     * this handle holds the db's "compactor" lease. Default 1. */
    int background_compaction;
    /* Versions newer than this many milliseconds stay readable at their seq
     * (time travel); compaction drops older shadowed versions. Default 1 h. */
    int64_t mvcc_retention_ms;
    /* L0 files that trigger an L0 -> L1 compaction. Default 4. */
    uint32_t l0_compaction_trigger;
    /* Target bytes of level 1; each deeper level holds level_size_ratio times
     * more. Defaults 256 MiB and 10. */
    uint64_t level1_target_bytes;
    uint32_t level_size_ratio;
    /* Garbage collection deletes an unreferenced object only once it has been
     * unreferenced (or, never committed, existed) this long. A writer refuses
     * to commit files it wrote more than half of this ago. Default 1 h. */
    int64_t gc_grace_ms;
    /* The changefeed can be read from any seq committed within this many
     * milliseconds: log entries and the files they added are kept that
     * long, also after compaction. 0 disables the guarantee. Default 24 h. */
    int64_t changefeed_retention_ms;
    /* How merge operands resolve; NULL: cirrus_counter_add_operator(). Every
     * handle of a database must use the same operator. */
    const cirrus_merge_operator *merge_operator;
    /* In-memory cache of decompressed data blocks, bytes; 0 disables.
     * Index and filter blocks are held by each open file regardless.
     * Default 64 MiB. */
    uint64_t block_cache_bytes;
    /* Local directory caching object ranges (1 MiB chunks, checksummed,
     * survives restarts, shared safely by processes); NULL: none. Objects
     * this handle writes go into it at once. Default NULL, 1 GiB. */
    const char *disk_cache_dir;
    uint64_t disk_cache_bytes;
    /* Write slowdown, so that a writer cannot outrun compaction for long
     * (RocksDB's delayed write rate). It applies only while this handle runs
     * the background compactor (background_compaction, not read-only):
     *  - once L0 holds at least l0_slowdown_writes_trigger files, writes are
     *    paced to delayed_write_rate bytes (keys + values) per second divided
     *    by (1 + the files over the trigger): 16 MiB/s at the trigger, 8 one
     *    file above it, ... A writer slower than that never waits, so light
     *    traffic (a few hundred durable commits a second) is never slowed,
     *    however many L0 files there are. 0 disables. Default 20 (5 times
     *    the default l0_compaction_trigger).
     *  - once L0 holds at least l0_stop_writes_trigger files, and this
     *    handle holds the compactor lease, writes wait until compaction
     *    brings L0 below it. 0 disables. Default 400 (40 s of commits at
     *    the default flush interval).
     * delayed_write_rate: bytes per second at the slowdown trigger; 0
     * disables the slowdown. Default 16 MiB. cirrus_stats counts both. */
    uint32_t l0_slowdown_writes_trigger;
    uint32_t l0_stop_writes_trigger;
    uint64_t delayed_write_rate;
    /* Where messages go: NULL writes "cirrus: LEVEL: SUBSYSTEM: MESSAGE"
     * lines to stderr. Messages above log_level are not formatted at all.
     * Default NULL, CIRRUS_LOG_WARN. */
    cirrus_log_fn log_fn;
    void *log_arg;
    int log_level;
} cirrus_options;

#define CIRRUS_OPTIONS_INIT                                                                        \
    {                                                                                              \
        CIRRUS_OPTIONS_VERSION, NULL, 100, 100, (size_t)64 << 20, 16 << 10, (uint64_t)64 << 20,    \
            10, CIRRUS_COMPRESSION_LZ4, 64, 1, 0, 1, 3600000, 4, (uint64_t)256 << 20, 10, 3600000, \
            86400000, NULL, (uint64_t)64 << 20, NULL, (uint64_t)1 << 30, 20, 400,                  \
            (uint64_t)16 << 20, NULL, NULL, CIRRUS_LOG_WARN                                        \
    }

/* ---- opening ----------------------------------------------------------- */

typedef struct cirrus_db cirrus_db;

/*
 * Opens (and with create_if_missing, creates) the database at `url`:
 *   DIR or file://DIR   a directory holding objects and a SQLite metadata file
 *   s3://BUCKET/PREFIX  objects in S3; needs opts->meta_url (dynamodb://TABLE)
 * `opts` may be NULL for the defaults. The handle reads the latest commit
 * before it returns.
 * Without create_if_missing (or read_only) an open writes nothing: on a
 * location with no database (a missing or empty directory, an S3 prefix or
 * DynamoDB table with no db in it, a missing table) it returns
 * CIRRUS_ENOTFOUND with the message "no database at URL [with metadata
 * store META] (DETAIL)", having created no directory, file, object, table
 * or item.
 * Returns 0, CIRRUS_EINVALID (bad URL or options), CIRRUS_ENOTFOUND (no db and
 * !create_if_missing), CIRRUS_ECORRUPT, CIRRUS_EIO, CIRRUS_ETIMEOUT,
 * CIRRUS_ENOMEM.
 */
CIRRUS_API int cirrus_open(cirrus_db **out, const char *url, const cirrus_options *opts);

/* Commits what is buffered (as cirrus_flush), stops background work and frees
 * the handle. Returns the flush's status; the handle is freed either way. */
CIRRUS_API int cirrus_close(cirrus_db *db);

/* ---- writing ----------------------------------------------------------- */

typedef struct cirrus_batch cirrus_batch;

/* A write batch: ops applied atomically, in order (the last op on a key wins). */
CIRRUS_API int cirrus_batch_new(cirrus_batch **out);
CIRRUS_API void cirrus_batch_free(cirrus_batch *b);
CIRRUS_API int cirrus_batch_put(cirrus_batch *b, const void *key, size_t key_len, const void *val,
                                size_t val_len);
CIRRUS_API int cirrus_batch_delete(cirrus_batch *b, const void *key, size_t key_len);
/* A merge operand for key (see cirrus_merge_operator). */
CIRRUS_API int cirrus_batch_merge(cirrus_batch *b, const void *key, size_t key_len,
                                  const void *operand, size_t operand_len);
/* A put that expires ttl_ms (> 0) after this call: from then on reads do not
 * see the key (judged by the reader's clock, also for reads at an older
 * seq), and compaction drops it. Merge operands applied on top of it share
 * its expiry: once it expires the key reads as absent until the next put. */
CIRRUS_API int cirrus_batch_put_ttl(cirrus_batch *b, const void *key, size_t key_len,
                                    const void *val, size_t val_len, int64_t ttl_ms);
CIRRUS_API void cirrus_batch_clear(cirrus_batch *b);
/* Number of ops and their payload bytes. */
CIRRUS_API size_t cirrus_batch_count(const cirrus_batch *b);
CIRRUS_API size_t cirrus_batch_bytes(const cirrus_batch *b);

enum {
    /* Block until the group commit holding this write is durable. */
    CIRRUS_WRITE_WAIT = 1,
    /* Commit now instead of at the next group commit, and wait for it. */
    CIRRUS_WRITE_NOW = 2,
};

/*
 * Applies a batch atomically: every op of it lands in one commit. Without
 * flags it returns once the writes are buffered (visible to this handle's
 * reads, durable at the next group commit); `seq_out` (may be NULL) then gets
 * 0. With CIRRUS_WRITE_WAIT or CIRRUS_WRITE_NOW it returns once the commit is
 * durable and sets `*seq_out` to its seq.
 * Returns 0, CIRRUS_EINVALID, CIRRUS_EAMBIGUOUS, CIRRUS_EIO, CIRRUS_ETIMEOUT,
 * CIRRUS_ENOMEM. On an error with a wait flag the writes stay buffered and are
 * retried by the next commit; they may yet commit.
 */
CIRRUS_API int cirrus_write(cirrus_db *db, const cirrus_batch *b, int flags, uint64_t *seq_out);

/* One-op shorthands for cirrus_write(db, {op}, 0, NULL). */
CIRRUS_API int cirrus_put(cirrus_db *db, const void *key, size_t key_len, const void *val,
                          size_t val_len);
CIRRUS_API int cirrus_delete(cirrus_db *db, const void *key, size_t key_len);
CIRRUS_API int cirrus_merge(cirrus_db *db, const void *key, size_t key_len, const void *operand,
                            size_t operand_len);

/*
 * Commits everything buffered so far and waits for it. `*seq_out` (may be
 * NULL) gets the seq that made those writes durable; with nothing buffered,
 * the seq of this handle's last commit, else the head it knows.
 * Also resolves an earlier ambiguous commit outcome.
 * Returns 0, CIRRUS_EAMBIGUOUS, CIRRUS_EIO, CIRRUS_ETIMEOUT, CIRRUS_ENOMEM.
 */
CIRRUS_API int cirrus_flush(cirrus_db *db, uint64_t *seq_out);

/* ---- reading ----------------------------------------------------------- */

/*
 * Snapshots: what a read sees. A read with no snapshot (ro NULL, or
 * ro->snapshot NULL) sees the latest this handle knows, including its own
 * buffered (not yet committed) writes. A snapshot fixes a committed seq:
 * every read through it sees exactly commits 1..seq, whatever is committed
 * later. seq 0 is the empty database. While a snapshot is open this
 * handle's own compactions keep the versions it needs; another process's
 * compactor does not know it, so a snapshot older than the MVCC retention
 * (mvcc_retention_ms) may still expire (reads then fail CIRRUS_EEXPIRED).
 */
typedef struct cirrus_snapshot cirrus_snapshot;

/* The newest committed seq this handle knows (cirrus_snapshot_new). */
#define CIRRUS_SEQ_LATEST UINT64_MAX

/* A snapshot at `seq`, or at the newest committed seq this handle knows
 * with CIRRUS_SEQ_LATEST (buffered writes are not in it: cirrus_flush
 * first to include them). A seq beyond the head is looked for with a
 * refresh first (another writer may have committed it).
 * Returns 0, CIRRUS_EINVALID (seq beyond the head), CIRRUS_EEXPIRED (below
 * the retention horizon: compaction dropped versions it needs), a refresh's
 * errors, CIRRUS_ENOMEM. Free with cirrus_snapshot_free before closing db. */
CIRRUS_API int cirrus_snapshot_new(cirrus_db *db, uint64_t seq, cirrus_snapshot **out);
CIRRUS_API uint64_t cirrus_snapshot_seq(const cirrus_snapshot *s);
CIRRUS_API void cirrus_snapshot_free(cirrus_snapshot *s);

/* ---- checkpoints --------------------------------------------------------
 *
 * A checkpoint is a named, durable pin of the version that reads at one
 * seq: for as long as it exists, every process reads it whole, however far
 * compaction, GC, log trimming and the changefeed retention have moved on
 * (its files are kept by every GC). It costs one small metadata item, one
 * small object and the files it keeps. One that has expired is dropped by
 * the next GC and can no longer be read.
 */
typedef struct cirrus_checkpoint_info {
    const char *name;   /* borrowed for the callback */
    uint64_t seq;       /* reads of it are at this seq */
    int64_t time_ms;    /* commit time of seq, Unix ms */
    int64_t created_ms; /* when it was created */
    int64_t expires_ms; /* Unix ms; 0: never */
} cirrus_checkpoint_info;

/* Creates checkpoint `name` (1..128 bytes of letters, digits, '.', '_',
 * '-') at seq (CIRRUS_SEQ_LATEST: the newest committed seq; buffered
 * writes are not in it), expiring after expire_ms (0: never); *seq_out
 * (may be NULL) gets its seq. Returns 0, CIRRUS_EEXISTS (the name is
 * taken), CIRRUS_EEXPIRED (seq is older than the MVCC retention keeps),
 * CIRRUS_EINVALID (bad name, seq beyond the head, a read-only handle),
 * store errors. */
CIRRUS_API int cirrus_checkpoint_create(cirrus_db *db, const char *name, uint64_t seq,
                                        int64_t expire_ms, uint64_t *seq_out);
/* Calls fn for every checkpoint (expired ones too), in name order; fn
 * returns nonzero to stop (returned as is). */
CIRRUS_API int cirrus_checkpoint_list(cirrus_db *db,
                                      int (*fn)(const cirrus_checkpoint_info *cp, void *arg),
                                      void *arg);
/* Deletes a checkpoint: CIRRUS_ENOTFOUND if there is none by that name. */
CIRRUS_API int cirrus_checkpoint_delete(cirrus_db *db, const char *name);
/* A snapshot that reads checkpoint `name` (use it as any snapshot; free it
 * with cirrus_snapshot_free). CIRRUS_ENOTFOUND: no such checkpoint, or it
 * has expired. */
CIRRUS_API int cirrus_snapshot_checkpoint(cirrus_db *db, const char *name, cirrus_snapshot **out);

/* ---- clones ----------------------------------------------------------------
 *
 * A clone is a new, independent, writable database (its own identity, its
 * own location and metadata) whose first version is another database's
 * version at some point, sharing that database's files instead of copying
 * them: a clone of any size takes a few requests and writes a handful of
 * small objects (plus, for a point in the past, the few files holding keys
 * of both sides of it, rewritten). The source keeps every file a clone
 * uses, through its compactions and GCs, until the clone is detached or
 * dropped; clones of clones too. Writes to either side never show in the
 * other.
 */
typedef struct cirrus_clone_point {
    const char *checkpoint; /* the checkpoint's version; else: */
    uint64_t seq;           /* this seq (CIRRUS_SEQ_LATEST: the head), unless */
    int64_t time_ms;        /* nonzero: the last seq committed at or before it */
} cirrus_clone_point;

/* Creates the clone at dst_url (dst_opts as for cirrus_open: its metadata
 * store; it must hold no database there) of the database at src_url
 * (whose metadata store is src_meta_url; NULL: a directory's own, or for
 * s3:// the clone's) at `at` (NULL:
 * the head), opened into *out (may be NULL: closed). Returns 0,
 * CIRRUS_EEXISTS (dst holds a database), CIRRUS_EEXPIRED (the point is
 * outside the source's retention window), CIRRUS_ENOTFOUND (no source, no
 * such checkpoint), store errors. */
CIRRUS_API int cirrus_clone(const char *dst_url, const cirrus_options *dst_opts,
                            const char *src_url, const char *src_meta_url,
                            const cirrus_clone_point *at, cirrus_db **out);
/* Deletes the database at url: its objects, its metadata, and its holds on
 * the databases it shares files with. Refused with CIRRUS_EBUSY while clones
 * share its files, unless force (they then lose those files). Close every
 * handle of it first. */
CIRRUS_API int cirrus_drop(const char *url, const cirrus_options *opts, int force);

/* ---- backups and restore -------------------------------------------------
 *
 * A backup is a self-contained copy of one version in any object store
 * (a directory, s3://BUCKET/PREFIX): its SST files and a backup manifest,
 * and nothing in a metadata store, so a lost metadata table or a lost
 * region is survivable. Backups into one URL share files: a file already
 * there is not copied again, and deleting a backup keeps what the others
 * need. A backup is listed only once complete; an interrupted one leaves
 * nothing listed, and running it again copies only what is missing.
 * Restoring creates a new, independent database (its own identity) whose
 * first version is the backup's, at the backup's seq.
 */

/* Where a long copy stands (backup, restore, verify). */
typedef struct cirrus_progress {
    uint64_t objects_done, objects_total;
    uint64_t bytes_done, bytes_total;
    uint64_t objects_copied, bytes_copied; /* of the done ones, not already there */
    /* in a summary: the copies the destination store made itself (S3
     * CopyObject / UploadPartCopy, fs hard links), no bytes through us */
    uint64_t server_side_copies;
} cirrus_progress;

typedef struct cirrus_copy_options {
    const char *checkpoint; /* back up this checkpoint (NULL: seq below) */
    uint64_t seq;           /* the seq to back up; CIRRUS_SEQ_LATEST: the head */
    int threads;            /* parallel copies; 0: 8 */
    /* called from the copying threads, one at a time, as objects complete */
    void (*progress)(const cirrus_progress *p, void *arg);
    void *progress_arg;
} cirrus_copy_options;

#define CIRRUS_COPY_OPTIONS_INIT                                                                   \
    {                                                                                              \
        NULL, CIRRUS_SEQ_LATEST, 0, NULL, NULL                                                     \
    }

typedef struct cirrus_backup_info {
    const char *id;     /* borrowed for the callback */
    uint64_t seq;       /* the seq it holds */
    int64_t time_ms;    /* commit time of seq */
    int64_t created_ms; /* when the backup was made */
    uint64_t bytes;     /* of its files */
    uint64_t objects;   /* its files and its manifest */
    const char *source; /* the location it was taken from */
} cirrus_backup_info;

/* Backs db up into the store at url (created if missing); *id_out (may be
 * NULL; free with cirrus_free) is the backup's id, *summary (may be NULL)
 * what was copied. Returns 0, CIRRUS_EEXPIRED (seq outside the retention
 * window), CIRRUS_ENOTFOUND (no such checkpoint), store errors. */
CIRRUS_API int cirrus_backup_create(cirrus_db *db, const char *url, const cirrus_copy_options *o,
                                    char **id_out, cirrus_progress *summary);
/* Calls fn for every complete backup at url, oldest first. */
CIRRUS_API int cirrus_backup_list(const char *url,
                                  int (*fn)(const cirrus_backup_info *b, void *arg), void *arg);
/* Deletes backup id at url and every file no other backup there needs;
 * *summary (may be NULL) counts the objects deleted. CIRRUS_ENOTFOUND: no
 * such backup. */
CIRRUS_API int cirrus_backup_delete(const char *url, const char *id, cirrus_progress *summary);
/* Restores backup id (NULL: the newest) from url as a new database at
 * dst_url (opts as for cirrus_open; its metadata store must hold no
 * database of that name), opened into *out (may be NULL: closed). A restore
 * that was interrupted is finished by running it again. Returns 0,
 * CIRRUS_EEXISTS (dst holds a database), CIRRUS_ENOTFOUND (no backup),
 * CIRRUS_ECORRUPT (a damaged backup), store errors. */
CIRRUS_API int cirrus_restore(const char *dst_url, const cirrus_options *opts, const char *url,
                              const char *id, const cirrus_copy_options *o, cirrus_db **out,
                              cirrus_progress *summary);

/* ---- verify ---------------------------------------------------------------- */

typedef struct cirrus_verify_options {
    int deep;               /* also read every block: checksums, key order, properties */
    const char *checkpoint; /* only this checkpoint's version (NULL: everything) */
    void (*progress)(const cirrus_progress *p, void *arg);
    void *progress_arg;
} cirrus_verify_options;

#define CIRRUS_VERIFY_OPTIONS_INIT                                                                 \
    {                                                                                              \
        0, NULL, NULL, NULL                                                                        \
    }

typedef struct cirrus_verify_problem {
    const char *object; /* the object (or item) at fault; borrowed for the callback */
    const char *what;   /* what is wrong with it */
} cirrus_verify_problem;

typedef struct cirrus_verify_summary {
    uint64_t objects, bytes; /* checked */
    uint64_t problems;
} cirrus_verify_summary;

/* Checks that every object the database needs is there: the files of the
 * head version, of every checkpoint and clone hold, the files it shares
 * with the databases it was cloned from, the newest manifest and the delta
 * objects of the retained log, each with its recorded size; with deep,
 * every block of every file too. Calls fn (may be NULL) for each problem.
 * Returns 0 when all is well, CIRRUS_ECORRUPT when a problem was found,
 * another error when the check could not be made (the stores unreachable). */
CIRRUS_API int cirrus_verify(cirrus_db *db, const cirrus_verify_options *o,
                             void (*fn)(const cirrus_verify_problem *p, void *arg), void *arg,
                             cirrus_verify_summary *summary);
/* The same for backup id (NULL: every backup) in the store at url. */
CIRRUS_API int cirrus_verify_backup(const char *url, const char *id, const cirrus_verify_options *o,
                                    void (*fn)(const cirrus_verify_problem *p, void *arg),
                                    void *arg, cirrus_verify_summary *summary);

/* Copies every file db still shares with the databases it was cloned from
 * into its own location (its version and its checkpoints; o's checkpoint
 * and seq are not used), then releases the sources' holds: from then on
 * they may be dropped. Nothing to do for a database that is not a clone. */
CIRRUS_API int cirrus_detach(cirrus_db *db, const cirrus_copy_options *o, cirrus_progress *summary);

typedef struct cirrus_read_options {
    /* Read through this snapshot (borrowed; of the same handle); NULL = the
     * latest, including this handle's own buffered writes. */
    const cirrus_snapshot *snapshot;
    /* Scans: keys in [lower, upper); NULL for unbounded. Borrowed; must stay
     * valid for the iterator's life. */
    const void *lower;
    size_t lower_len;
    const void *upper;
    size_t upper_len;
    /* Scans: only keys that start with this prefix (combined with bounds). */
    const void *prefix;
    size_t prefix_len;
} cirrus_read_options;

#define CIRRUS_READ_OPTIONS_INIT                                                                   \
    {                                                                                              \
        NULL, NULL, 0, NULL, 0, NULL, 0                                                            \
    }

/*
 * Point read. On success *val_out is a malloc'd copy (free with cirrus_free;
 * it holds val_len bytes plus a NUL terminator not counted in *val_len_out).
 * `ro` may be NULL (latest).
 * Returns 0, CIRRUS_ENOTFOUND (absent or deleted at that seq), CIRRUS_EINVALID
 * (a snapshot of another handle), CIRRUS_EEXPIRED (the snapshot's seq fell
 * below the retention horizon), CIRRUS_ECORRUPT
 * (names the object and block; also an object the db names that the store
 * no longer holds), CIRRUS_EIO, CIRRUS_ENOMEM.
 */
CIRRUS_API int cirrus_get(cirrus_db *db, const cirrus_read_options *ro, const void *key,
                          size_t key_len, void **val_out, size_t *val_len_out);

/*
 * Reads n keys at one snapshot. For each i, vals_out[i] is a malloc'd value
 * or NULL when absent, and rcs_out[i] the per-key status (0 or
 * CIRRUS_ENOTFOUND, or an error). Returns 0 if every key was answered (found
 * or not), else the first error, with that key's message in cirrus_errmsg().
 */
CIRRUS_API int cirrus_multi_get(cirrus_db *db, const cirrus_read_options *ro, size_t n_keys,
                                const void *const *keys, const size_t *key_lens, void **vals_out,
                                size_t *val_lens_out, int *rcs_out);

/* The greatest seq whose commit time is <= time_ms (Unix milliseconds); 0 if
 * none. Returns 0, CIRRUS_EIO, CIRRUS_ENOMEM. */
CIRRUS_API int cirrus_seq_at_time(cirrus_db *db, int64_t time_ms, uint64_t *seq_out);

/* Reads the metadata store's head and catches up with other writers' commits.
 * `*seq_out` (may be NULL) gets the head seq. */
CIRRUS_API int cirrus_refresh(cirrus_db *db, uint64_t *seq_out);

/* ---- iterators --------------------------------------------------------- */

typedef struct cirrus_iter cirrus_iter;

/* An iterator over live keys at one snapshot (taken here). `ro` may be NULL.
 * It starts unpositioned: call first/last/seek. Fails as cirrus_get does for
 * ro->snapshot (CIRRUS_EINVALID, CIRRUS_EEXPIRED); the snapshot may be freed
 * once the iterator exists. */
CIRRUS_API int cirrus_iter_new(cirrus_iter **out, cirrus_db *db, const cirrus_read_options *ro);
CIRRUS_API void cirrus_iter_close(cirrus_iter *it);
CIRRUS_API void cirrus_iter_first(cirrus_iter *it);
CIRRUS_API void cirrus_iter_last(cirrus_iter *it);
/* First key >= key. */
CIRRUS_API void cirrus_iter_seek(cirrus_iter *it, const void *key, size_t key_len);
/* Last key <= key. */
CIRRUS_API void cirrus_iter_seek_for_prev(cirrus_iter *it, const void *key, size_t key_len);
CIRRUS_API void cirrus_iter_next(cirrus_iter *it);
CIRRUS_API void cirrus_iter_prev(cirrus_iter *it);
/* 1 while positioned on a key; 0 at either end or after an error. */
CIRRUS_API int cirrus_iter_valid(const cirrus_iter *it);
/* Borrowed until the next call on `it`. Only while valid. */
CIRRUS_API const void *cirrus_iter_key(const cirrus_iter *it, size_t *len_out);
CIRRUS_API const void *cirrus_iter_value(const cirrus_iter *it, size_t *len_out);
/* 0, or the error that stopped the iterator (CIRRUS_ECORRUPT, CIRRUS_EIO...). */
CIRRUS_API int cirrus_iter_status(const cirrus_iter *it);

/*
 * Deletes every key in [from, to) as one commit of constant size (a range
 * tombstone in the commit entry, not one tombstone per key); reads at
 * earlier seqs still see the old values. Writes buffered earlier by this
 * handle are committed first. *seq_out (may be NULL) gets the seq.
 * Returns 0, CIRRUS_EINVALID (from >= to), CIRRUS_EIO ...
 */
CIRRUS_API int cirrus_delete_range(cirrus_db *db, const void *from, size_t from_len, const void *to,
                                   size_t to_len, uint64_t *seq_out);

/* ---- exactly-once and staged commits ----------------------------------- */

/*
 * Commits batch b as its own entry tagged (app_id, epoch), unless an epoch
 * >= `epoch` of app_id was already applied: then nothing is written. Either
 * way *seq_out is the seq that applied the app's newest epoch, and
 * *applied_out (may be NULL) says whether this call applied it. A sink that
 * crashes after committing and retries the same epoch writes exactly once.
 * Writes buffered earlier by this handle are committed first.
 * Returns 0, CIRRUS_EINVALID, CIRRUS_EIO, CIRRUS_EAMBIGUOUS ...
 */
CIRRUS_API int cirrus_write_once(cirrus_db *db, const cirrus_batch *b, const char *app_id,
                                 uint64_t epoch, uint64_t *seq_out, int *applied_out);

/* The newest epoch applied for app_id and the seq that applied it;
 * CIRRUS_ENOTFOUND if none. */
CIRRUS_API int cirrus_app_epoch(cirrus_db *db, const char *app_id, uint64_t *epoch_out,
                                uint64_t *seq_out);

/*
 * Staged commits: any process writes a batch's data as files without
 * committing it, and gets a descriptor (a printable, NUL-terminated string,
 * malloc'd: free with cirrus_free). One process then commits any number of
 * descriptors, from any processes and hosts, as ONE entry: nothing staged is
 * visible before, all of it at the same seq after. Within one commit, a key
 * staged in several descriptors takes the value of the last descriptor.
 * cirrus_commit_staged refuses (CIRRUS_EINVALID, naming the file) a
 * descriptor whose files are gone (e.g. garbage-collected), too old to
 * commit safely (older than half the GC grace period), or already
 * committed.
 */
CIRRUS_API int cirrus_stage(cirrus_db *db, const cirrus_batch *b, char **desc_out);
CIRRUS_API int cirrus_commit_staged(cirrus_db *db, size_t n, const char *const *descs,
                                    uint64_t *seq_out);

/* ---- bulk loading and ingesting SST files ------------------------------
 *
 * A loader takes puts in any order, any number of them, in bounded memory,
 * and commits them as ONE entry (or stages them): nothing is visible before
 * cirrus_loader_finish commits, all of it at one seq after. It sorts runs
 * of puts in memory up to half its budget, writes each run as SST files to
 * the db's object store, and at the end merges the runs (k-way, reading
 * each run file front to back) into the files it commits. The last put of
 * a key wins, as in a batch. Puts that arrive in strictly increasing key
 * order go straight into the final files: sorted input is written once,
 * with no run and no merge. Run files are deleted once merged; if the
 * process dies, every object it wrote is unreferenced and GC reclaims it
 * after the grace period. A load must finish within half the GC grace
 * period of writing its first final file, as any commit (the files would
 * be refused as too old). Not thread-safe: one thread per loader.
 */
typedef struct cirrus_loader cirrus_loader;

#define CIRRUS_LOADER_OPTIONS_VERSION 1

typedef struct cirrus_loader_options {
    int version; /* CIRRUS_LOADER_OPTIONS_VERSION */
    /* Bytes of memory the loader may use for its runs, readers and the
     * file being built; 0: 256 MiB; at least 64 KiB. */
    uint64_t memory_bytes;
    /* The caller promises strictly increasing keys: a put that is not above
     * the one before is refused (CIRRUS_EINVALID) instead of starting runs. */
    int sorted;
    /* Exactly once (cirrus_write_once): the entry carries (app_id, epoch);
     * NULL: none. If the epoch is applied already, when the loader is made
     * or when it finishes, nothing is written or committed. Borrowed until
     * cirrus_loader_new returns (copied). */
    const char *app_id;
    uint64_t epoch;
} cirrus_loader_options;

#define CIRRUS_LOADER_OPTIONS_INIT                                                                 \
    {                                                                                              \
        CIRRUS_LOADER_OPTIONS_VERSION, 0, 0, NULL, 0                                               \
    }

/* A new loader into db (borrowed: close the loader first), with options o
 * (NULL: the defaults; copied). Returns 0, CIRRUS_EINVALID (a read-only
 * handle, a bad option), a refresh's errors (with app_id), CIRRUS_ENOMEM. */
CIRRUS_API int cirrus_loader_new(cirrus_loader **out, cirrus_db *db,
                                 const cirrus_loader_options *o);
/* Adds a put (key and value copied). May write a run first. Returns 0,
 * CIRRUS_EINVALID (NULL bytes with a length, a key or value of 4 GiB or
 * more, with `sorted` a key not above the one before, a loader that
 * finished or failed), CIRRUS_ENOMEM, the object store's errors. After an
 * error other than CIRRUS_EINVALID for a bad argument, the loader refuses
 * everything but cirrus_loader_free. */
CIRRUS_API int cirrus_loader_put(cirrus_loader *l, const void *key, size_t key_len, const void *val,
                                 size_t val_len);
/* Puts added so far, and their key and value bytes. */
CIRRUS_API uint64_t cirrus_loader_count(const cirrus_loader *l);
CIRRUS_API uint64_t cirrus_loader_bytes(const cirrus_loader *l);
/* Merges and commits everything as one entry; writes buffered earlier by
 * the handle are committed first. *seq_out (may be NULL) gets its seq;
 * with an app_id, the seq that applied the app's newest epoch, and
 * *applied_out (may be NULL) whether this call applied it. No put at all:
 * nothing is committed and *seq_out is the head (with an app_id whose
 * epoch is not applied yet: CIRRUS_EINVALID, as for an empty batch).
 * Returns 0, CIRRUS_EINVALID, CIRRUS_ECONFLICT never (a racing retry of
 * the epoch makes applied 0), CIRRUS_ETIMEOUT (the files became older than
 * half the GC grace period), CIRRUS_EAMBIGUOUS, store errors. Either way
 * the loader can only be freed afterwards. */
CIRRUS_API int cirrus_loader_finish(cirrus_loader *l, uint64_t *seq_out, int *applied_out);
/* Like finish, but stages the files instead of committing them:
 * *desc_out gets a descriptor for cirrus_commit_staged (free with
 * cirrus_free). CIRRUS_EINVALID when nothing was put, or with an app_id. */
CIRRUS_API int cirrus_loader_stage(cirrus_loader *l, char **desc_out);
/* Frees l (NULL is fine). A loader that did not finish deletes the objects
 * it wrote (what it cannot delete is left to GC); after a finish that
 * failed, files that may have been committed are left alone. */
CIRRUS_API void cirrus_loader_free(cirrus_loader *l);

/*
 * SST files written outside a database, for cirrus_ingest: the format of
 * docs/FORMAT.md, "SST files", with every stored seq 0 (the commit that
 * ingests the file gives it its seq, as staged files). Keys must come in
 * strictly increasing order (a file holds one value per key). The whole
 * file is built in memory and written to `path` by finish; block size,
 * bloom bits and compression come from opts (NULL: the defaults).
 */
typedef struct cirrus_sst_writer cirrus_sst_writer;

/* Returns 0, CIRRUS_EINVALID (bad options), CIRRUS_ENOMEM. path and opts
 * are copied; nothing is opened yet. */
CIRRUS_API int cirrus_sst_writer_open(cirrus_sst_writer **out, const char *path,
                                      const cirrus_options *opts);
/* Adds a put. CIRRUS_EINVALID: a key not above the one before. */
CIRRUS_API int cirrus_sst_writer_put(cirrus_sst_writer *w, const void *key, size_t key_len,
                                     const void *val, size_t val_len);
/* Writes the file (created; an existing one is refused with
 * CIRRUS_EEXISTS) and syncs it. CIRRUS_EINVALID: no put; CIRRUS_EIO. */
CIRRUS_API int cirrus_sst_writer_finish(cirrus_sst_writer *w);
/* Frees w (NULL is fine); an unfinished file is never written. */
CIRRUS_API void cirrus_sst_writer_close(cirrus_sst_writer *w);

/*
 * Commits the n local SST files at paths (written by cirrus_sst_writer, or
 * anything writing that format with every seq 0) as ONE entry, without
 * rewriting them: each is checked whole (format, checksums, key order,
 * properties), uploaded under a new object name and added as an L0 file
 * that reads with the entry's seq. Their key ranges must not overlap.
 * *seq_out (may be NULL) gets the seq. Returns 0, CIRRUS_ECORRUPT (a file
 * that fails a check; the message names the path), CIRRUS_EINVALID (no
 * files, overlapping ranges, a read-only handle), CIRRUS_EIO (a path that
 * cannot be read), store errors. Uploaded files are deleted when nothing
 * was committed.
 */
CIRRUS_API int cirrus_ingest(cirrus_db *db, size_t n, const char *const *paths, uint64_t *seq_out);

/* ---- transactions ------------------------------------------------------ */

/*
 * Optimistic transactions with snapshot isolation. A transaction reads at
 * the snapshot taken by cirrus_txn_begin (the latest commit, read from the
 * metadata store) plus its own writes, and buffers its writes. Commit
 * validates against every entry committed after the snapshot: if any of
 * them wrote a key the transaction read or writes, it is refused with
 * CIRRUS_ECONFLICT and leaves no trace (retry with a new transaction).
 * Otherwise all its writes land in one commit. Not thread-safe: one thread
 * per transaction. A transaction does not see or include the handle's own
 * buffered (uncommitted) writes.
 */
typedef struct cirrus_txn cirrus_txn;

CIRRUS_API int cirrus_txn_begin(cirrus_txn **out, cirrus_db *db);
/* The snapshot seq the transaction reads at. */
CIRRUS_API uint64_t cirrus_txn_snapshot(const cirrus_txn *t);
/* Like cirrus_get; records the key in the read set (also when absent). */
CIRRUS_API int cirrus_txn_get(cirrus_txn *t, const void *key, size_t key_len, void **val_out,
                              size_t *val_len_out);
CIRRUS_API int cirrus_txn_put(cirrus_txn *t, const void *key, size_t key_len, const void *val,
                              size_t val_len);
CIRRUS_API int cirrus_txn_delete(cirrus_txn *t, const void *key, size_t key_len);
/*
 * Validates and commits. *seq_out gets the commit's seq (the snapshot seq
 * for a transaction that wrote nothing). The transaction is freed whatever
 * the outcome. Returns 0, CIRRUS_ECONFLICT, CIRRUS_EIO, CIRRUS_EAMBIGUOUS...
 */
CIRRUS_API int cirrus_txn_commit(cirrus_txn *t, uint64_t *seq_out);
/* Abandons the transaction (nothing is written). Accepts NULL. */
CIRRUS_API void cirrus_txn_free(cirrus_txn *t);

/* ---- the changefeed ---------------------------------------------------- */

typedef struct cirrus_changes cirrus_changes;

enum {
    CIRRUS_CHANGE_PUT = 1,
    CIRRUS_CHANGE_DELETE = 2,
    CIRRUS_CHANGE_MERGE = 3,
    CIRRUS_CHANGE_DELETE_RANGE = 4, /* key: from, val: to (exclusive) */
};

typedef struct cirrus_change {
    uint64_t seq;
    int op;          /* CIRRUS_CHANGE_PUT or CIRRUS_CHANGE_DELETE */
    const void *key; /* borrowed until the next call on the feed */
    size_t key_len;
    const void *val; /* puts: the value; merges: the operand */
    size_t val_len;
    int64_t expires_ms; /* puts with a TTL: Unix ms; else 0 */
} cirrus_change;

/*
 * A feed of every change committed by write entries with seq >= from_seq
 * (0: from the oldest retained), in seq order, and within a commit in key
 * order; a key written several times in one commit appears once, with its
 * final value. Compaction does not affect it.
 * Returns 0, CIRRUS_EEXPIRED (from_seq is older than the changefeed
 * retention: the log or the files are gone), CIRRUS_EIO ...
 */
CIRRUS_API int cirrus_changes_open(cirrus_changes **out, cirrus_db *db, uint64_t from_seq);
/*
 * The next change. When the feed has caught up with the head it polls the
 * metadata store's head (never an object-store LIST) every
 * refresh_interval_ms (100 ms when 0) for up to wait_ms, then returns
 * CIRRUS_ENOTFOUND ("no change yet"); call again to go on following.
 * Other errors end the feed: CIRRUS_EEXPIRED (it fell behind the retention:
 * a log entry or a file it needs is gone), CIRRUS_ECORRUPT, CIRRUS_EIO ...
 */
CIRRUS_API int cirrus_changes_next(cirrus_changes *c, cirrus_change *out, int64_t wait_ms);
CIRRUS_API void cirrus_changes_close(cirrus_changes *c);

/* ---- the commit log ---------------------------------------------------- */

enum cirrus_entry_kind {
    CIRRUS_ENTRY_WRITE = 1,
    CIRRUS_ENTRY_COMPACT = 2,
    CIRRUS_ENTRY_CHECKPOINT = 3,
};

typedef struct cirrus_log_info {
    uint64_t seq;
    int64_t time_ms;    /* commit time, Unix ms; non-decreasing in seq */
    int kind;           /* enum cirrus_entry_kind */
    uint32_t n_added;   /* files the entry added */
    uint32_t n_removed; /* files the entry removed */
    uint64_t bytes;     /* bytes of the files it added */
    uint8_t commit_id[16];
} cirrus_log_info;

/*
 * Calls fn for each commit with seq >= from_seq, in seq order, up to the head
 * as read now. fn returns 0 to go on, anything else to stop (returned as is).
 * Returns 0, fn's value, CIRRUS_ENOTFOUND (from_seq trimmed from the log),
 * CIRRUS_ECORRUPT, CIRRUS_EIO.
 */
CIRRUS_API int cirrus_log_scan(cirrus_db *db, uint64_t from_seq,
                               int (*fn)(const cirrus_log_info *info, void *arg), void *arg);

/* ---- leases -------------------------------------------------------------- */

/*
 * Named leases with fencing tokens, kept in the metadata store beside the
 * database: leader election for sharded work, and how cirrus picks one
 * compactor. The token strictly increases every time the lease changes hands
 * (also across expiry and release), never on a renewal by its holder, so a
 * holder can fence its writes elsewhere with it. Expiry uses the wall clock:
 * a lease keeps two nodes from doing the same work; never rely on it for
 * safety against clock skew.
 */
typedef struct cirrus_lease_info {
    char owner[128];    /* "" when released */
    uint64_t token;     /* 0 if never acquired */
    int64_t expires_ms; /* Unix ms; 0 when released */
} cirrus_lease_info;

/* Acquires (or, if `owner` holds it, renews) lease `name` for ttl_ms.
 * Returns 0 with *token_out, or CIRRUS_EBUSY with the holder in *holder_out
 * (may be NULL) when another owner holds an unexpired lease. Also
 * CIRRUS_EINVALID, CIRRUS_EIO, CIRRUS_ETIMEOUT. */
CIRRUS_API int cirrus_lease_acquire(cirrus_db *db, const char *name, const char *owner,
                                    int64_t ttl_ms, uint64_t *token_out,
                                    cirrus_lease_info *holder_out);
/* Extends the lease if `owner` still holds it (CIRRUS_EBUSY if not). */
CIRRUS_API int cirrus_lease_renew(cirrus_db *db, const char *name, const char *owner,
                                  int64_t ttl_ms, uint64_t *token_out);
/* Gives the lease up if `owner` holds it (CIRRUS_EBUSY if not). */
CIRRUS_API int cirrus_lease_release(cirrus_db *db, const char *name, const char *owner);
/* The lease's state; CIRRUS_ENOTFOUND if it was never acquired. */
CIRRUS_API int cirrus_lease_show(cirrus_db *db, const char *name, cirrus_lease_info *out);

/* ---- maintenance ------------------------------------------------------- */

/*
 * Runs compaction in the foreground until every level is within its target
 * (L0 below l0_compaction_trigger files, each deeper level below its target
 * bytes), holding the "compactor" lease meanwhile. Returns 0, CIRRUS_EBUSY
 * (another process holds the lease), CIRRUS_EIO, CIRRUS_ECORRUPT ...
 */
CIRRUS_API int cirrus_compact(cirrus_db *db);

typedef struct cirrus_gc_item {
    const char *name; /* object name */
    uint64_t size;
    int deleted;     /* 1 deleted, 0 kept */
    const char *why; /* e.g. "live", "in grace period", "compacted away" */
} cirrus_gc_item;

/*
 * Deletes objects that nothing references any more: files compacted away or
 * never committed, unneeded manifests and delta objects, once they have been
 * unreferenced for grace_ms (negative: the gc_grace_ms option). fn (may be
 * NULL) hears of every object considered. Holds the "compactor" lease.
 * Returns 0, CIRRUS_EBUSY, CIRRUS_EIO ...
 */
CIRRUS_API int cirrus_gc(cirrus_db *db, int64_t grace_ms,
                         void (*fn)(const cirrus_gc_item *item, void *arg), void *arg);

/*
 * The maintenance daemon's round (`cirrus maintain`), for a process that
 * compacts and collects garbage for writers elsewhere. Call it on a handle
 * opened with background_compaction off, every little while (at most a
 * third of the lease TTL apart, so that the lease is renewed in time):
 *  - it takes or renews the "compactor" lease (the one cirrus_compact,
 *    cirrus_gc and the background compactor take) as mo->owner for
 *    mo->lease_ttl_ms. While another owner holds it, the call returns 0
 *    with out->held = 0 and the holder in out->holder, having done nothing
 *    else; it logs (info, subsystem "maintain") that it stands by once per
 *    holder. Once the holder's lease expires (it was killed) or is
 *    released, the next call takes it and logs so.
 *  - holding it, it catches up with other writers' commits (as
 *    cirrus_refresh), compacts while a level is over its target
 *    (mo->compact; a compaction logs an info line, subsystem
 *    "compaction"), then runs GC (mo->gc, with mo->gc_grace_ms), and logs
 *    one info summary line for a round that compacted or ran GC:
 *      round: N compactions (B bytes written), gc deleted D objects (B2
 *      bytes), kept K; l0_files F, backlog X bytes, head S
 *    mo->cancel (may be NULL) is asked before each compaction and before
 *    GC; nonzero ends the round there (what was committed stays; a
 *    compaction is never left half committed, and one abandoned by a
 *    killed process is garbage GC reclaims).
 *  - the lease stays held between calls, until the handle's cirrus_close
 *    releases it (so that another daemon takes over at once), or it
 *    lapses TTL after the last call.
 * Safe beside any number of writers in other processes: compactions
 * validate against what they committed (a lost race is a no-op).
 * *out (may be NULL) gets the report. Returns 0 (held or not),
 * CIRRUS_EINVALID (read-only, a handle running the background compactor,
 * a bad owner), CIRRUS_EIO, CIRRUS_ECORRUPT ...
 */
typedef struct cirrus_maintain_options {
    const char *owner;    /* lease owner; NULL: the handle's writer id */
    int64_t lease_ttl_ms; /* 0: 30 s */
    int compact;          /* compact the levels over their targets */
    int gc;               /* then collect garbage */
    int64_t gc_grace_ms;  /* negative: the gc_grace_ms option */
    int (*cancel)(void *arg);
    void *cancel_arg;
} cirrus_maintain_options;

#define CIRRUS_MAINTAIN_OPTIONS_INIT                                                               \
    {                                                                                              \
        NULL, 0, 1, 1, -1, NULL, NULL                                                              \
    }

typedef struct cirrus_maintain_report {
    int held;                 /* 1: this handle held the lease for the round */
    cirrus_lease_info holder; /* !held: who holds it */
    uint64_t token;           /* held: the lease's fencing token */
    uint64_t compactions;     /* committed by this round */
    uint64_t bytes_written;   /* by those compactions */
    int gc_ran;               /* GC ran (and finished) in this round */
    uint64_t gc_deleted, gc_deleted_bytes, gc_kept;
    int cancelled;                              /* mo->cancel ended the round early */
    uint64_t head_seq, l0_files, backlog_bytes; /* this handle's view after the round */
} cirrus_maintain_report;

CIRRUS_API int cirrus_maintain(cirrus_db *db, const cirrus_maintain_options *mo,
                               cirrus_maintain_report *out);

/* ---- statistics -------------------------------------------------------- */

#define CIRRUS_MAX_LEVELS 8

/* A latency histogram: buckets[i] counts the samples of at most 2^i
 * microseconds not counted in a lower bucket (not cumulative); the last
 * bucket counts the rest (up to +Inf). count is their sum, sum_us their
 * total in microseconds. */
#define CIRRUS_HISTOGRAM_BUCKETS 32
typedef struct cirrus_histogram {
    uint64_t count;
    uint64_t sum_us;
    uint64_t buckets[CIRRUS_HISTOGRAM_BUCKETS];
} cirrus_histogram;

/* cirrus_stats.hist[]: what is timed */
enum {
    CIRRUS_HIST_COMMIT = 0,     /* a commit of an entry to the head (the CAS and the log copy) */
    CIRRUS_HIST_GET = 1,        /* cirrus_get */
    CIRRUS_HIST_OBJECT_GET = 2, /* an object store GET (a range or whole) */
    CIRRUS_HIST_OBJECT_PUT = 3, /* an object store PUT */
    CIRRUS_HIST_META_WRITE = 4, /* a metadata store conditional write or delete */
    CIRRUS_HIST_MAX = 5
};

/* cirrus_stats.bg_failures[]: background work that failed and is retried */
enum {
    CIRRUS_BG_COMPACTION = 0, /* a background compaction */
    CIRRUS_BG_GC = 1,         /* a background GC */
    CIRRUS_BG_REFRESH = 2,    /* the follower's catch-up with the head */
    CIRRUS_BG_COMMIT = 3,     /* the group committer's commit of buffered writes */
    CIRRUS_BG_LEASE = 4,      /* taking or renewing the compactor lease */
    CIRRUS_BG_MAX = 5
};

/* The name of a CIRRUS_HIST_* ("commit", "get", "object_get", "object_put",
 * "meta_write") or CIRRUS_BG_* ("compaction", "gc", "refresh", "commit",
 * "lease"), NULL for another value. */
CIRRUS_API const char *cirrus_stats_hist_name(int hist);
CIRRUS_API const char *cirrus_stats_bg_name(int bg);

typedef struct cirrus_stats {
    uint64_t head_seq;
    uint64_t live_files;
    uint64_t live_bytes;
    uint64_t level_files[CIRRUS_MAX_LEVELS];
    uint64_t level_bytes[CIRRUS_MAX_LEVELS];
    uint64_t memtable_bytes; /* buffered, not yet committed */
    /* compaction: bytes by which levels exceed their targets, and the
     * compactions this handle committed (and bytes they wrote) */
    uint64_t compaction_backlog_bytes;
    uint64_t compactions;
    uint64_t compaction_bytes_written;
    /* caches since open (0 when disabled) */
    uint64_t block_cache_hits, block_cache_misses, block_cache_bytes;
    uint64_t disk_cache_hits, disk_cache_misses, disk_cache_bytes;
    /* requests this handle made since open, by type */
    uint64_t os_puts, os_gets, os_heads, os_deletes, os_lists;
    uint64_t os_bytes_written, os_bytes_read;
    uint64_t ms_gets, ms_writes, ms_deletes, ms_queries;
    /* write stalls since open (cirrus_options.l0_slowdown_writes_trigger):
     * writes the slowdown made sleep and the milliseconds they slept; writes
     * that waited at l0_stop_writes_trigger and the milliseconds they waited */
    uint64_t write_slowdowns, write_slowdown_ms;
    uint64_t write_stops, write_stop_ms;

    /* ---- added in 0.x (cirrus_stats_read only; see below) ---- */
    uint64_t os_copies;                       /* server-side copies into the object store */
    uint64_t ms_bytes_written, ms_bytes_read; /* metadata value bytes */
    /* the follower: commits at the head that this handle's version does not
     * have yet (one metadata read when stats are taken), and for how long,
     * ms, this handle has not been known current (0 when it is) */
    uint64_t follower_lag_seqs, follower_lag_ms;
    /* messages this handle's logger delivered (cirrus_options.log_level
     * decides which are), and every error or warning of this handle */
    uint64_t log_errors, log_warnings, log_infos, log_debugs;
    /* background work that failed (each also logged at warn), by
     * subsystem: CIRRUS_BG_* */
    uint64_t bg_failures[CIRRUS_BG_MAX];
    /* latency histograms, by operation: CIRRUS_HIST_* */
    cirrus_histogram hist[CIRRUS_HIST_MAX];
} cirrus_stats;

/* The size of the struct before the fields added after the first release:
 * what cirrus_stats_get writes. */
#define CIRRUS_STATS_V1_SIZE offsetof(cirrus_stats, os_copies)

/*
 * ABI: cirrus_stats grows at its end, and it has no version field, so the
 * library never writes more of it than the caller says it has:
 *  - cirrus_stats_read(db, &st, sizeof(st)) fills the first `size` bytes
 *    (at most this build's sizeof(cirrus_stats)) and zeroes nothing
 *    beyond; fields past `size` are the caller's to leave alone. Use it.
 *  - cirrus_stats_get(db, &st), the first call, fills exactly
 *    CIRRUS_STATS_V1_SIZE bytes, so that a program compiled against the
 *    first header, whose struct ends there, is never overrun.
 * Both return 0 (CIRRUS_EINVALID for a size below CIRRUS_STATS_V1_SIZE).
 */
CIRRUS_API int cirrus_stats_get(cirrus_db *db, cirrus_stats *out);
CIRRUS_API int cirrus_stats_read(cirrus_db *db, cirrus_stats *out, size_t size);

/*
 * Renders the handle's stats in the Prometheus text exposition format
 * (version 0.0.4), every metric named cirrus_*, for an embedding server to
 * expose. *out is a NUL-terminated malloc'd string of *len bytes (free it
 * with cirrus_free). Returns 0 or CIRRUS_ENOMEM.
 */
CIRRUS_API int cirrus_stats_prometheus(cirrus_db *db, char **out, size_t *len);

/* ---- inspection ---------------------------------------------------------
 *
 * Read-only views of what the database is made of, for operators and
 * tools (the `cirrus files` and `cirrus inspect` commands). Nothing here
 * writes, commits or compacts.
 */

/* One live SST file of a version (like RocksDB's GetLiveFilesMetaData).
 * Every pointer is borrowed for the callback. */
typedef struct cirrus_file_info {
    int level;
    const char *name;               /* object name, e.g. "sst/..." or "parent/<id>/sst/..." */
    uint64_t size;                  /* object bytes */
    const void *smallest, *largest; /* smallest and largest user key */
    size_t smallest_len, largest_len;
    uint64_t smallest_seq, largest_seq; /* seq range of its entries */
    uint64_t entries, deletes;          /* entries, and how many are deletes */
    uint64_t global_seq; /* the seq every entry reads with (L0 files of commits); 0: own seqs */
} cirrus_file_info;

/* Calls fn for every live file of the version snap reads (NULL: the
 * latest, after a refresh), by level, in each level in read order (L0
 * newest first, deeper levels by key). A checkpoint's snapshot lists the
 * checkpoint's files; a snapshot at an older seq lists the files as they
 * were at that seq (the newest manifest at or below it with the log
 * replayed on it). fn returns nonzero to stop (returned as is).
 * Returns 0, fn's value, CIRRUS_EEXPIRED (the log that seq needs was
 * trimmed), CIRRUS_ECORRUPT, CIRRUS_EIO ... */
CIRRUS_API int cirrus_files(cirrus_db *db, const cirrus_snapshot *snap,
                            int (*fn)(const cirrus_file_info *f, void *arg), void *arg);

/* What cirrus_inspect decodes. */
enum {
    CIRRUS_INSPECT_FILES = 1,    /* arg: NULL (latest), a decimal seq, or a
                                  * checkpoint name with CIRRUS_INSPECT_CHECKPOINT;
                                  * one object per file */
    CIRRUS_INSPECT_SST = 2,      /* arg: object name; a header object, then
                                  * with the flags below block and entry objects */
    CIRRUS_INSPECT_ENTRY = 3,    /* arg: decimal seq; one object */
    CIRRUS_INSPECT_MANIFEST = 4, /* arg: decimal seq, NULL: the newest; one object */
    CIRRUS_INSPECT_META = 5,     /* arg: unused; one object: every metadata item */
};
#define CIRRUS_INSPECT_ENTRIES 0x1u    /* SST: every entry */
#define CIRRUS_INSPECT_BLOCKS 0x2u     /* SST: every data block */
#define CIRRUS_INSPECT_CHECKPOINT 0x4u /* FILES: arg names a checkpoint */

/*
 * Decodes one object of the database and hands it to emit as JSON, one
 * compact object (NUL-terminated, no newline; borrowed for the call) per
 * call; the fields are documented in docs/JSON.md. Keys and values are a
 * JSON string when they are valid UTF-8 without control bytes, else field
 * F_b64 (base64) replaces field F. emit returns nonzero to stop (returned
 * as is). A missing or damaged object is CIRRUS_ECORRUPT with a message
 * naming the object and the damage (for an SST: which block, which
 * checksum); objects emitted before the damage was met stand.
 * Returns 0, emit's value, CIRRUS_EINVALID (bad what or arg),
 * CIRRUS_ENOTFOUND (no manifest was ever written), CIRRUS_ECORRUPT,
 * CIRRUS_EIO, CIRRUS_ENOMEM.
 */
CIRRUS_API int cirrus_inspect(cirrus_db *db, int what, const char *arg, unsigned flags,
                              int (*emit)(const char *json, void *arg), void *emit_arg);

#ifdef __cplusplus
}
#endif
#endif /* CIRRUS_H */
