/*
 * fault.h - fault injection shared by the object store and metadata store
 * wrappers (objstore/fault.h, metastore/fault.h): what to inject, the
 * decision for one call, and the counters benchmarks read.
 *
 * Per operation type: an injected latency drawn from a lognormal
 * distribution fitted to a median (p50) and a 99th percentile (p99); an
 * error rate (the call fails with fail_rc, default CIRRUS_EIO, and is not
 * applied); a timeout rate (the call fails with CIRRUS_ETIMEOUT after
 * timeout_ms; a write that times out was applied with probability
 * `applied`, as a real timeout leaves the outcome unknown). Besides rates:
 * fail the next N calls (e.g. with CIRRUS_EAUTH, a rejected credential).
 *
 * Spec strings (the SPEC of fault:INNER?SPEC URLs, util/fault_spec.h),
 * comma-separated key=value:
 *   seed=N               random seed (default: random)
 *   latency=P50:P99      ms, every operation  (latency.OP=P50:P99 for one)
 *   error=RATE           0..1, every operation (error.OP=RATE for one)
 *   timeout=RATE         0..1                 (timeout.OP=RATE)
 *   timeout_ms=MS        how long an injected timeout takes (default 0)
 *   applied=P            chance a timed-out write was applied (default 0.5)
 *   fail_next=N          fail the next N calls ...
 *   fail_rc=NAME         ... and the error rate's calls, with: io (default),
 *                        auth, timeout, notfound, busy
 * OP is one of put get head del list (object store), mget mput mdel query
 * (metadata store), or read / write (every read or write operation).
 * Example: fault:DIR?latency=15:80,latency.put=40:200,error.put=0.01
 *
 * Fault sweeps and crash points (SQLite's I/O-error tests as the model): the
 * calls of every wrapper whose spec has one of the items below are numbered
 * 1, 2, 3 ... by a counter shared by all such wrappers of one group in the
 * process (by default one group: a db's object store and metadata store
 * given the same spec count together), so a test can run a fixed workload
 * once with "group=G" alone to learn its number of calls T, then fault call
 * N for every N in 1..T:
 *   fail_at=N            fail exactly the Nth call of the group (and
 *   fail_count=K         the K - 1 after it: a burst; default 1), as
 *   fail_mode=MODE       error (default): fails with fail_rc, not applied;
 *                        timeout: CIRRUS_ETIMEOUT, not applied; applied: a
 *                        write is applied, then reported as CIRRUS_ETIMEOUT
 *                        (the lost answer of a conditional write); a read
 *                        in mode applied fails as in mode timeout
 *   crash_at=N           _exit(FAULT_CRASH_EXIT) on the Nth call, before the
 *                        store sees it
 *   crash_after=N        _exit(FAULT_CRASH_EXIT) once the Nth call was
 *                        applied, before its result returns
 *   group=NAME           count in group NAME (up to 31 bytes) instead of the
 *                        default one, e.g. to sweep one of two dbs
 * The call fail_at picks fails that way whatever fail_next and the rates
 * say; the other calls go on as those say. Before exiting, a crash point
 * writes one line naming the call to stderr ("injected crash after call
 * 4: metastore mput local/head"). Counters start at 0 with the process (a
 * forked child inherits its parent's: reset them); fault_group_reset()
 * restarts one, fault_group_get() reads it and which call was injected,
 * fault_group_trace() the operation of every call (e.g. to crash after
 * writes only). Example: --db fault:DIR?crash_after=17 --meta
 * fault:sqlite:DIR/meta.sqlite3?crash_after=17 stops a CLI right after its
 * 17th store call.
 *
 * Thread-safe: a struct fault_injector is shared by every thread of a
 * wrapped store; group counters are process-wide (a fixed table of 16
 * groups; an injector finding it full counts on its own).
 *
 * Calls: util only.
 */
#ifndef CIRRUS_UTIL_FAULT_H
#define CIRRUS_UTIL_FAULT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

enum fault_op {
    FAULT_PUT = 0, /* object store put */
    FAULT_GET,     /* object store get and get_all */
    FAULT_HEAD,
    FAULT_DEL,
    FAULT_LIST,
    FAULT_MGET,   /* metadata store get */
    FAULT_MPUT,   /* put_if_absent, put_if_version */
    FAULT_MDEL,   /* delete_if_version */
    FAULT_MQUERY, /* query */
    FAULT_N_OPS,
};

/* The name used in spec strings ("put", "mquery" is "query"). */
const char *fault_op_name(enum fault_op op);

struct fault_op_config {
    double p50_ms;       /* median injected latency, ms (0: none) */
    double p99_ms;       /* 99th percentile, ms (>= p50) */
    double error_rate;   /* 0..1 */
    double timeout_rate; /* 0..1 */
};

struct fault_config {
    struct fault_op_config op[FAULT_N_OPS];
    uint64_t seed;       /* 0: random */
    uint32_t timeout_ms; /* duration of an injected timeout, ms */
    double applied;      /* chance a timed-out write was applied, 0..1 */
    uint64_t fail_next;  /* calls still to fail with fail_rc */
    int fail_rc;         /* CIRRUS_E* code of injected errors */
    /* sweeps and crash points (group call numbers, 1-based; 0: none) */
    uint64_t fail_at;      /* fail this call ... */
    uint64_t fail_count;   /* ... and the next fail_count - 1 (0 reads as 1) */
    int fail_mode;         /* ... as enum fault_mode says */
    uint64_t crash_before; /* _exit before this call */
    uint64_t crash_after;  /* _exit after this call applied */
    char group[32];        /* counter group ("" the default) */
};

/* How fail_at fails its call. */
enum fault_mode {
    FAULT_MODE_ERROR = 0, /* fail_rc, not applied */
    FAULT_MODE_TIMEOUT,   /* CIRRUS_ETIMEOUT, not applied */
    FAULT_MODE_APPLIED,   /* writes: applied, then CIRRUS_ETIMEOUT */
};

/* The exit status of a process stopped by crash_at / crash_after. */
#define FAULT_CRASH_EXIT 86

/* A config that injects nothing (applied 0.5, fail_rc CIRRUS_EIO). */
void fault_config_default(struct fault_config *cfg);

/* Applies spec (syntax above) on top of *cfg. Returns 0 or CIRRUS_EINVALID
 * naming the bad item. */
int fault_config_parse(struct fault_config *cfg, const char *spec);

/* Counters since the wrapper was made. */
struct fault_stats {
    uint64_t calls[FAULT_N_OPS];      /* every call, injected failures included */
    uint64_t errors[FAULT_N_OPS];     /* injected errors (fail_next and error rate) */
    uint64_t timeouts[FAULT_N_OPS];   /* injected timeouts */
    uint64_t latency_us[FAULT_N_OPS]; /* injected latency, total microseconds */
    uint64_t bytes_up[FAULT_N_OPS];   /* bytes sent to the store (values, objects) */
    uint64_t bytes_down[FAULT_N_OPS]; /* bytes read back */
};

struct fault_injector {
    pthread_mutex_t mu; /* guards everything below */
    struct fault_config cfg;
    struct fault_stats stats;
    uint64_t rng;   /* xorshift state */
    int numbered;   /* calls are numbered: a sweep item or group is set */
    int group;      /* slot of cfg.group's counter, -1: the private one */
    uint64_t calls; /* the private counter (every group slot taken) */
};

/* A group's call counter, for sweeps (all 0 for a group never used). */
struct fault_group_info {
    uint64_t calls;            /* calls numbered so far */
    uint64_t injected_at;      /* the (first) call fail_at failed (0: none yet) */
    uint64_t n_injected;       /* calls fail_at failed */
    enum fault_op injected_op; /* its operation */
    int injected_write;        /* 1 if it was a write */
    char injected_what[96];    /* its object or item, cut to fit */
};

/* Reads / restarts (at 0, nothing injected) the counter of group (NULL:
 * the default group). Thread-safe. */
void fault_group_get(const char *group, struct fault_group_info *out);
void fault_group_reset(const char *group);

/* The operation of each of the first FAULT_TRACE_MAX calls of group since
 * its reset: ops_out[i] is call i + 1's. Returns the calls written (at most
 * cap). For sweeps that treat reads and writes differently. */
#define FAULT_TRACE_MAX 4096
size_t fault_group_trace(const char *group, enum fault_op *ops_out, size_t cap);

/* 1 for the operations that change state (put del mput mdel). */
int fault_op_is_write(enum fault_op op);

void fault_injector_init(struct fault_injector *fi, const struct fault_config *cfg);
void fault_injector_destroy(struct fault_injector *fi);
/* Replaces the configuration (counters continue). */
void fault_injector_configure(struct fault_injector *fi, const struct fault_config *cfg);
void fault_injector_stats(struct fault_injector *fi, struct fault_stats *out);

/* What to do with one call. */
enum fault_action {
    FAULT_PASS = 0,      /* call the store */
    FAULT_FAIL,          /* do not call it; return *rc_out */
    FAULT_TIMEOUT_LOST,  /* do not call it; return CIRRUS_ETIMEOUT */
    FAULT_TIMEOUT_APPLY, /* call it, then return CIRRUS_ETIMEOUT anyway */
    FAULT_CRASH_AFTER,   /* call it, then fault_after() crashes */
};

/* Called once the inner store returned from a call whose fate was act: for
 * FAULT_CRASH_AFTER it writes one line naming the call to stderr and
 * _exit(FAULT_CRASH_EXIT)s; for any other act it returns at once. */
void fault_after(struct fault_injector *fi, enum fault_action act, const char *store,
                 enum fault_op op, const char *what);

/*
 * Decides one call's fate, counts it, and sleeps its injected latency (and
 * an injected timeout's duration) before returning. is_write: the call
 * changes state (only writes can be "applied, then timed out"). For FAULT_FAIL
 * and the timeouts the thread's message is set ("injected ...", naming op
 * and what). Numbers the call in its group first; at crash_at it does not
 * return (_exit), at crash_after it returns FAULT_CRASH_AFTER.
 */
enum fault_action fault_begin(struct fault_injector *fi, enum fault_op op, int is_write,
                              const char *store, const char *what, int *rc_out);

/* One latency draw for c, in ms: lognormal with median p50_ms and 99th
 * percentile p99_ms (0 when p50_ms is 0). rng: xorshift state, not 0. */
double fault_draw_latency_ms(const struct fault_op_config *c, uint64_t *rng);

/* Adds to the byte counters of op. */
void fault_count_bytes(struct fault_injector *fi, enum fault_op op, uint64_t up, uint64_t down);

#endif
