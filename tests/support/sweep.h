/*
 * sweep.h - the fixed workload of the fault sweep and crash-point tests
 * (tests/unit/test_fault_sweep.c, test_crash_points.c), and the checks run
 * on the database it leaves behind.
 *
 * The workload opens a fresh database through fault: URLs of both stores
 * (both wrappers get the same spec, so their calls are numbered together:
 * util/fault.h, "Fault sweeps and crash points") and runs, in this order:
 * three batches (one waited for, two buffered and flushed), a range
 * delete, two more batches, a checkpoint, a foreground compaction, a batch
 * after it, a changefeed read from seq 0, a GC with no grace period (only
 * when nothing is left to commit), a point read, and a close; counter merges ride in
 * three of the batches. A manifest is written every third commit. After a
 * step fails it calls cirrus_flush() once, as an application resolving an
 * unknown outcome would; a flush that succeeds makes every batch still
 * buffered durable.
 *
 * Every key is written by exactly one batch (values are a function of the
 * key), so what a database holds after any failure or crash can be judged
 * batch by batch: each batch is all there or all absent, and there if it
 * was acknowledged; the counter holds exactly the merges of the batches
 * that are there; the range delete removed all of its keys or none, and
 * all if it was acknowledged; the changefeed holds no change twice (no
 * batch committed twice). The checkpoint, if it exists (it must if it was
 * acknowledged), reads the same way at its seq, whatever compaction and GC
 * did since: the batches waited for before it are there, the one after it
 * is not.
 *
 * The workload itself is plain C (no cmocka), so that a crash-point child
 * process can run it; sweep_check() fails the running cmocka test.
 */
#ifndef CIRRUS_TESTS_SWEEP_H
#define CIRRUS_TESTS_SWEEP_H

/* Which calls the sweeps fail or crash at by default. The single-threaded
 * workload gives ThreadSanitizer little to look at and runs several times
 * slower under it: there every third call (the ASan build sweeps them all). */
#if defined(__SANITIZE_THREAD__)
#define SWEEP_DEFAULT_STRIDE 3
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define SWEEP_DEFAULT_STRIDE 3
#endif
#endif
#ifndef SWEEP_DEFAULT_STRIDE
#define SWEEP_DEFAULT_STRIDE 1
#endif

#include <stdint.h>

#include "cirrus.h"
#include "util/fault.h"

/* The workload's steps; a step is acknowledged when its call(s) returned 0. */
enum sweep_step {
    SWEEP_OPEN = 0,
    SWEEP_A,       /* batch a000..: cirrus_write(WAIT) */
    SWEEP_B,       /* batch b000.. + ctr += 1: buffered, cirrus_flush */
    SWEEP_C,       /* batch c000.. + ctr += 10: buffered, cirrus_flush */
    SWEEP_RANGE,   /* cirrus_delete_range [a004, a008) */
    SWEEP_D,       /* batch d000..: WAIT */
    SWEEP_E,       /* batch e000.. + ctr += 100: WAIT */
    SWEEP_CKPT,    /* cirrus_checkpoint_create "sweep" at the head */
    SWEEP_COMPACT, /* cirrus_compact */
    SWEEP_F,       /* batch f000..: WAIT */
    SWEEP_FEED,    /* cirrus_changes_* from 0, checked against the model */
    SWEEP_GC,      /* cirrus_gc(grace 0), only when nothing is left buffered */
    SWEEP_GET,     /* cirrus_get of a key of an acknowledged batch */
    SWEEP_CLOSE,   /* cirrus_close */
    SWEEP_N_STEPS,
};

/* What the workload learnt, step by step. */
struct sweep_outcome {
    int ran[SWEEP_N_STEPS];   /* the step was attempted */
    int acked[SWEEP_N_STEPS]; /* it returned success (for batches: or a
                               * later flush did while it was buffered) */
    int rc[SWEEP_N_STEPS];    /* its first failure (0: none) */
    int n_failed;             /* steps (and recovery flushes) that failed */
    int faulted;              /* set by the caller: a fault was injected */
    char first_error[512];    /* the message of the first failure */
    char violation[512];      /* a wrong answer seen while running ("": none) */
};

/* Called after each step (and each acknowledgment a later flush gives), in
 * order, with the outcome so far: the crash-point child makes it durable
 * before going on. May be NULL. */
typedef void (*sweep_note_fn)(const struct sweep_outcome *o, void *arg);

/* Runs the workload on a fresh database in dir, both stores wrapped with
 * spec (e.g. "group=sweep,fail_at=17,fail_mode=applied"). Fills *out. */
void sweep_run(const char *dir, const char *spec, struct sweep_outcome *out, sweep_note_fn note,
               void *arg);

/* The outcome as one line ("a1 B1 ...": step initial, 1/0 acked, for the
 * steps that ran) and back; parse returns 0 or -1. */
void sweep_outcome_format(const struct sweep_outcome *o, char *buf, size_t cap);
int sweep_outcome_parse(struct sweep_outcome *o, const char *line);

/* Reopens dir without faults (a fresh handle, as a second process would
 * see it) and checks every property in the header comment, a full scan
 * against the model, the changefeed, and that a further write, compaction
 * and GC succeed. Fails the running cmocka test, naming `what`. The
 * handle that ran the workload must be gone (closed, or its process). */
void sweep_check(const char *dir, const struct sweep_outcome *o, const char *what);

/* Runs the workload without faults in dir (then removes it), with its store
 * calls counted in group, and checks that every step succeeded and the
 * database is whole. trace (cap entries) gets each call's operation.
 * Returns the number of store calls; fails the running cmocka test. */
uint64_t sweep_count_calls(char *dir, const char *group, enum fault_op *trace, size_t cap);

/* The decimal value of environment variable name, or dflt when unset. */
uint64_t sweep_env_u64(const char *name, uint64_t dflt);

/* Checks that found the compactor lease still held by the faulted handle
 * (a release that failed, or a crash; it would expire in 20 s) and broke it
 * (only after a fault) before compacting. */
extern int sweep_lease_busy;

#endif
