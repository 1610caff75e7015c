/* cirrus-test-libs: db testsupport util */
/*
 * test_fault_sweep.c - systematic fault injection (issue 9, item 4; SQLite's
 * I/O-error tests as the model). The fixed workload of support/sweep.h runs
 * once without faults to count its store calls T (object store and metadata
 * store together), then once for every N in 1..T and every mode with
 * exactly the Nth call failed:
 *   error    the call fails (CIRRUS_EIO) and is not applied
 *   timeout  the call times out and is not applied
 *   applied  a write is applied, then reported as timed out (a conditional
 *            write's lost answer); a read times out
 * and two bursts, where calls N..N+3 fail (error, or applied): the retries
 * of a write, or the read-back that resolves an unknown outcome, fail too.
 * After each run a fresh handle reopens the db without faults and checks
 * (sweep_check): every acknowledged operation is there, every batch whole or
 * absent, the counter the sum of the batches there, a full scan matches the
 * model, the feed is consistent, and a write, compaction and GC succeed.
 *
 * Mode applied and the bursts start at writes only (an applied read is a
 * timeout) unless CIRRUS_TEST_SWEEP_FULL=1. CIRRUS_TEST_SWEEP_STRIDE=K
 * faults every Kth call only (default 1: all of them; 3 under TSan).
 * CIRRUS_TEST_SWEEP_VERBOSE=1 prints every run's outcome.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/fixture.h"
#include "support/sweep.h"
#include "support/tmpdir.h"
#include "util/fault.h"
#include "util/sys.h"

#define GROUP "sweep"

/* The ways to fail call N: fail_mode, and how many calls from N on. */
static const struct mode {
    const char *name; /* also the run directory's tag */
    const char *fail_mode;
    int count;
    int writes_only; /* starts at writes only, unless CIRRUS_TEST_SWEEP_FULL */
} modes[] = {
    {"error", "error", 1, 0},
    {"timeout", "timeout", 1, 0},
    /* a read "applied" is a read timed out: mode timeout has it */
    {"applied", "applied", 1, 1},
    /* bursts: a write and the retries or read-backs after it fail too */
    {"error-burst", "error", 4, 1},
    {"applied-burst", "applied", 4, 1},
};
#define N_MODES (sizeof(modes) / sizeof(modes[0]))

static char *run_dir(const struct fixture *f, const char *tag, uint64_t n)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s-%" PRIu64, f->dir, tag, n);
    char *p = strdup(path);
    assert_non_null(p);
    return p;
}

static enum fault_op trace[FAULT_TRACE_MAX]; /* the no-fault run's calls */

static void every_call_fails_in_turn_and_the_db_stays_whole(void **state)
{
    struct fixture *f = *state;
    uint64_t stride = sweep_env_u64("CIRRUS_TEST_SWEEP_STRIDE", SWEEP_DEFAULT_STRIDE);
    int verbose = sweep_env_u64("CIRRUS_TEST_SWEEP_VERBOSE", 0) != 0;
    int full = sweep_env_u64("CIRRUS_TEST_SWEEP_FULL", 0) != 0;
    uint64_t t0 = mono_ns();
    uint64_t total = sweep_count_calls(run_dir(f, "count", 0), GROUP, trace, FAULT_TRACE_MAX);
    print_message("workload: %" PRIu64 " store calls\n", total);
    assert_true(total >= 50);
    if (stride == 0)
        stride = 1;
    for (size_t mi = 0; mi < N_MODES; mi++) {
        const struct mode *m = &modes[mi];
        uint64_t points = 0, writes = 0, surfaced = 0;
        for (uint64_t n = 1; n <= total; n += stride) {
            if (m->writes_only && !full && !fault_op_is_write(trace[n - 1]))
                continue;
            char spec[128], what[256], line[512];
            struct sweep_outcome o;
            struct fault_group_info gi;
            char *dir = run_dir(f, m->name, n);
            snprintf(spec, sizeof(spec), "group=%s,fail_at=%" PRIu64 ",fail_mode=%s,fail_count=%d",
                     GROUP, n, m->fail_mode, m->count);
            fault_group_reset(GROUP);
            sweep_run(dir, spec, &o, NULL, NULL);
            fault_group_get(GROUP, &gi);
            snprintf(what, sizeof(what), "%s at call %" PRIu64 " (%s %s)", m->name, n,
                     gi.injected_at == n ? fault_op_name(gi.injected_op) : "not reached",
                     gi.injected_what);
            if (verbose) {
                sweep_outcome_format(&o, line, sizeof(line));
                print_message("%s: %s\n", what, line);
            }
            /* the workload makes the same calls whatever their names */
            if (gi.injected_at != n)
                fail_msg("%s: the workload made only %" PRIu64 " calls", what, gi.calls);
            o.faulted = 1;
            sweep_check(dir, &o, what);
            points++;
            writes += gi.injected_write != 0;
            surfaced += o.n_failed > 0;
            tmpdir_remove(dir);
        }
        print_message("mode %s: %" PRIu64 " fault points (%" PRIu64 " writes); %" PRIu64
                      " reported an error, %" PRIu64 " absorbed by the engine\n",
                      m->name, points, writes, surfaced, points - surfaced);
    }
    print_message("sweep: %.1f s; %d leases left held were broken\n",
                  (double)(mono_ns() - t0) / 1e9, sweep_lease_busy);
}

/* Opens a fresh db in dir with both stores wrapped with spec; compaction
 * merges two L0 files. */
static cirrus_db *open_wrapped(const char *dir, const char *spec)
{
    char url[4200], meta[4200];
    cirrus_options o = fixture_small_levels(4096);
    o.l0_compaction_trigger = 2;
    snprintf(url, sizeof(url), "fault:%s?%s", dir, spec);
    snprintf(meta, sizeof(meta), "fault:sqlite:%s/meta.sqlite3?%s", dir, spec);
    o.meta_url = meta;
    return fixture_open(url, &o);
}

/*
 * The bug the applied bursts found: a commit whose compare-and-swap landed
 * but whose answer was lost, and whose read-back failed too, leaves the
 * handle ambiguous; a catch-up that does not look for it (compaction's or
 * GC's refresh, cirrus_refresh, the background follower) then replays the
 * entry, and the flush that resolves the outcome found nothing new: it
 * reported a conflict for good, or, once compaction had moved the entry's
 * files, committed the batch a second time (every put twice in the feed,
 * the merge applied twice).
 */
static void an_ambiguous_commit_replayed_meanwhile_lands_once(void **state)
{
    struct fixture *f = *state;
    enum fault_op ops[128];
    char spec[128];
    uint64_t seq = 0;
    char *dir = run_dir(f, "ambiguous-count", 0);
    cirrus_batch *first = fixture_batch_range(100, 105, "first");
    cirrus_batch *b = fixture_batch_range(0, 5, "amb");
    assert_int_equal(cirrus_batch_merge(b, "ctr", 3, "7", 1), 0);

    /* which call is b's compare-and-swap of the head: the first metadata
     * write after its SST upload */
    fault_group_reset("amb");
    cirrus_db *db = open_wrapped(dir, "group=amb");
    assert_int_equal(cirrus_write(db, first, CIRRUS_WRITE_WAIT, NULL), 0);
    struct fault_group_info gi;
    fault_group_get("amb", &gi);
    uint64_t before = gi.calls;
    assert_int_equal(cirrus_write(db, b, CIRRUS_WRITE_WAIT, NULL), 0);
    assert_int_equal(cirrus_close(db), 0);
    size_t n = fault_group_trace("amb", ops, 128), cas = 0;
    for (size_t i = before + 1; i < n && !cas; i++)
        if (ops[i] == FAULT_MPUT && ops[i - 1] == FAULT_PUT)
            cas = i + 1;
    assert_true(cas > 0);
    tmpdir_remove(dir);

    /* it applies; its answer and the read-back that follows are lost */
    dir = run_dir(f, "ambiguous", 0);
    snprintf(spec, sizeof(spec), "group=amb,fail_at=%zu,fail_mode=applied,fail_count=2", cas);
    fault_group_reset("amb");
    db = open_wrapped(dir, spec);
    assert_int_equal(cirrus_write(db, first, CIRRUS_WRITE_WAIT, &seq), 0);
    assert_int_equal(seq, 1);
    assert_int_equal(cirrus_write(db, b, CIRRUS_WRITE_WAIT, NULL), CIRRUS_EAMBIGUOUS);
    /* compaction's refresh replays seq 2, then it merges both files */
    assert_int_equal(cirrus_compact(db), 0);
    assert_int_equal(cirrus_refresh(db, &seq), 0);
    assert_int_equal(seq, 3);
    assert_int_equal(cirrus_flush(db, &seq), 0);
    assert_int_equal(seq, 2); /* resolved: the commit that landed */
    assert_int_equal(cirrus_refresh(db, &seq), 0);
    assert_int_equal(seq, 3); /* and no second one */
    void *v = NULL;
    size_t len = 0;
    assert_int_equal(cirrus_get(db, NULL, "ctr", 3, &v, &len), 0);
    assert_int_equal(len, 1);
    assert_memory_equal(v, "7", 1);
    cirrus_free(v);
    assert_int_equal(cirrus_close(db), 0);
    cirrus_batch_free(first);
    cirrus_batch_free(b);
    tmpdir_remove(dir);
}

int main(void)
{
    /* fsync is most of a run's time on a disk; tmpfs keeps the sweep short */
    if (!getenv("TMPDIR") && access("/dev/shm", W_OK) == 0)
        setenv("TMPDIR", "/dev/shm", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(an_ambiguous_commit_replayed_meanwhile_lands_once,
                                        fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(every_call_fails_in_turn_and_the_db_stays_whole,
                                        fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
