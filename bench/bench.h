/*
 * bench.h - cirrus-bench: db_bench-style workloads run side by side on
 * cirrus, RocksDB, LevelDB and LMDB, plus a simulated-cloud mode for cirrus.
 *
 * Pieces (one file each):
 *   main.c        options, the run loop, printing, --json
 *   workloads.c   the local workloads, key and value generation, verification
 *   hist.c        latency histograms (log-linear buckets, ~3% resolution)
 *   cloud.c       simulated cloud: latency profiles, request counters, prices
 *   engine_*.c    one adapter per engine behind struct bench_engine
 *
 * Every workload checks what it reads (a readrandom that finds nothing is an
 * error, not a fast run) and reports ops/s, MiB/s and latency percentiles.
 * Functions return 0 or -1 after printing what went wrong to stderr.
 */
#ifndef CIRRUS_BENCH_H
#define CIRRUS_BENCH_H

#include <stddef.h>
#include <stdint.h>

/* ---- configuration ------------------------------------------------------ */

struct bench_config {
    uint64_t num;          /* keys loaded by the fills */
    uint64_t reads;        /* operations of each read workload */
    uint32_t key_size;     /* bytes; keys are zero-padded decimal */
    uint32_t value_size;   /* bytes */
    double compression;    /* target compressed/raw ratio of values, 0..1 */
    uint32_t threads;      /* threads per workload (readwhilewriting: readers) */
    uint64_t seed;         /* every random choice derives from it */
    double duration_s;     /* cap on one workload's timed run, 0: none */
    uint64_t cache_bytes;  /* block cache of the engines that have one */
    uint64_t write_buffer; /* memtable size of the LSM engines, bytes */
    const char *dir;       /* scratch directory for the databases */
    /* simulated cloud mode */
    double cloud_seconds;   /* length of each timed cloud phase */
    uint32_t cloud_writers; /* threads doing CIRRUS_WRITE_WAIT puts */
    uint32_t cloud_readers; /* threads doing cache-miss gets */
    int verbose;
};

/* ---- results ------------------------------------------------------------ */

/* Latency histogram of nanosecond samples. */
#define HIST_BUCKETS 1920
struct hist {
    uint64_t count;
    uint64_t max_ns;
    uint64_t b[HIST_BUCKETS];
};

void hist_add(struct hist *h, uint64_t ns);
void hist_merge(struct hist *into, const struct hist *from);
/* The sample value at quantile q (0..1), in nanoseconds; 0 when empty. */
uint64_t hist_quantile(const struct hist *h, double q);
/* Calls fn for every non-empty bucket in increasing order with the bucket's
 * representative value and the fraction of samples at or below it. */
void hist_walk(const struct hist *h, void (*fn)(uint64_t ns, double cum, void *arg), void *arg);

/* One row of the report. Strings are static or owned by the row (extra). */
#define BENCH_MAX_EXTRA 16384
struct bench_row {
    char engine[32];
    char workload[32];
    char mode[16];    /* "local", "cloud" */
    char profile[32]; /* cloud profile, "" locally */
    uint64_t ops;
    uint64_t bytes; /* key + value bytes written or read */
    double seconds;
    struct hist lat;
    double load1; /* 1-minute load average when the row started */
    int verified; /* 1: every check passed */
    /* already-formatted JSON members ("\"k\": v, ...") specific to the row */
    char extra[BENCH_MAX_EXTRA];
};

/* Appends `"key": value` (printf-formatted value) to row->extra. */
void row_extra(struct bench_row *row, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ---- engines ------------------------------------------------------------ */

/*
 * An engine adapter. Handles are thread-safe; iterators belong to one thread.
 * get returns 0 with *val and *val_len borrowed until release(db, *rel), 1 when
 * the key is absent, -1 on error (printed).
 */
struct bench_engine {
    const char *name;
    const char *settings; /* one line: what the adapter set, for the report */
    int (*open)(void **out, const char *dir, const struct bench_config *cfg);
    void (*close)(void *db);
    int (*put)(void *db, const void *key, size_t key_len, const void *val, size_t val_len);
    int (*get)(void *db, const void *key, size_t key_len, const void **val, size_t *val_len,
               void **rel);
    void (*release)(void *db, void *rel);
    /* End of a write phase: push buffered writes to the engine's durability
     * point (cirrus: commit what is buffered; the others: nothing to do). */
    int (*sync)(void *db);
    int (*iter_new)(void **out, void *db);
    void (*iter_close)(void *it);
    void (*iter_first)(void *it);
    void (*iter_seek)(void *it, const void *key, size_t key_len);
    void (*iter_next)(void *it);
    int (*iter_valid)(void *it);
    const void *(*iter_key)(void *it, size_t *len_out);
    const void *(*iter_value)(void *it, size_t *len_out);
    int (*iter_status)(void *it); /* 0 or -1 (printed) */
    /* Optional: adds engine-specific state (e.g. files per level) to row. */
    void (*describe)(void *db, struct bench_row *row);
};

extern const struct bench_engine bench_engine_cirrus;
extern const struct bench_engine bench_engine_rocksdb;
extern const struct bench_engine bench_engine_leveldb;
extern const struct bench_engine bench_engine_lmdb;

/* ---- workloads ----------------------------------------------------------- */

/* Names of the local workloads in their run order. */
extern const char *const bench_workloads[];
extern const size_t bench_n_workloads;

/* Runs the selected workloads (want[i] for bench_workloads[i]) on one
 * engine, appending a row per workload through emit. */
int bench_run_engine(const struct bench_engine *e, const struct bench_config *cfg, const int *want,
                     void (*emit)(const struct bench_row *row, void *arg), void *arg);

/* ---- shared helpers ------------------------------------------------------ */

uint64_t now_ns(void);
double load_avg1(void);
/* rm -rf path; 0 or -1. */
int rm_tree(const char *path);
int mkdir_p(const char *path);
/* splitmix64 step: a fast, well-mixed 64-bit generator */
uint64_t rng_next(uint64_t *state);

/* ---- simulated cloud ----------------------------------------------------- */

/* Runs the cloud phases for profile `name` ("s3-standard", "s3-express").
 * real_servers: use the URLs in CIRRUS_BENCH_S3_URL / CIRRUS_BENCH_META_URL
 * without injected latency and count real requests. */
int cloud_run(const char *name, const struct bench_config *cfg,
              void (*emit)(const struct bench_row *row, void *arg), void *arg);
/* Whether a profile name is known. */
int cloud_profile_known(const char *name);

#endif
