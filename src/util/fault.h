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
 * Spec strings (CIRRUS_FAULT and fault: URLs), comma-separated key=value:
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
 * Example: CIRRUS_FAULT=latency=15:80,latency.put=40:200,error.put=0.01
 *
 * Thread-safe: a struct fault_injector is shared by every thread of a
 * wrapped store.
 *
 * Calls: util only.
 */
#ifndef CIRRUS_UTIL_FAULT_H
#define CIRRUS_UTIL_FAULT_H

#include <pthread.h>
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
};

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
    uint64_t rng; /* xorshift state */
};

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
};

/*
 * Decides one call's fate, counts it, and sleeps its injected latency (and
 * an injected timeout's duration) before returning. is_write: the call
 * changes state (only writes can be "applied, then timed out"). For FAULT_FAIL
 * and the timeouts the thread's message is set ("injected ...", naming op
 * and what).
 */
enum fault_action fault_begin(struct fault_injector *fi, enum fault_op op, int is_write,
                              const char *store, const char *what, int *rc_out);

/* One latency draw for c, in ms: lognormal with median p50_ms and 99th
 * percentile p99_ms (0 when p50_ms is 0). rng: xorshift state, not 0. */
double fault_draw_latency_ms(const struct fault_op_config *c, uint64_t *rng);

/* Adds to the byte counters of op. */
void fault_count_bytes(struct fault_injector *fi, enum fault_op op, uint64_t up, uint64_t down);

#endif
