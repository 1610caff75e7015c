/* cirrus-test-libs: db testsupport util */
/*
 * test_crash_points.c - a crash at every store call (issue 9, item 5). The
 * workload of support/sweep.h makes T store calls; for every N in 1..T a
 * child process (a fork, or this program spawned again with
 * CIRRUS_CRASH_CHILD set when threads run here, e.g. under TSan) runs it with "crash_at=N" (it
 * _exits before call N reaches the store) or "crash_after=N" (right after call N was applied,
 * before its answer returns). That stops it at every step of the commit protocol: after an SST
 * upload, after the head compare-and-swap, before and during the log copy, while a manifest is
 * written, inside compaction's commit and between GC's deletes.
 *
 * The child writes its outcome so far (which steps were acknowledged) to a
 * file and fsyncs it after every step, before going on. The parent then
 * opens the db with a fresh handle, as a second process would, and checks
 * (sweep_check): every acknowledged step is durable, every batch whole or
 * absent, a full scan matches the model, the feed is consistent, and a
 * further write, compaction and GC succeed.
 *
 * By default crash_after stops after writes only: after a read the store
 * is what crash_at=N+1 sees. CIRRUS_TEST_SWEEP_FULL=1 stops after every
 * call; CIRRUS_TEST_CRASH_STRIDE=K at every Kth call only (default 1; 3
 * under TSan). CIRRUS_TEST_CRASH_SPAWN=1 spawns every child, as under TSan.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <inttypes.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support/fixture.h"
#include "support/sweep.h"
#include "support/tmpdir.h"
#include "util/fault.h"
#include "util/sys.h"

#define GROUP "crash"
#define CHILD_ENV "CIRRUS_CRASH_CHILD" /* "DIR\tSPEC\tACKFILE" */

extern char **environ;

/* ---- the child ------------------------------------------------------------ */

/* Appends the outcome so far as one line and makes it durable. */
static void child_note(const struct sweep_outcome *o, void *arg)
{
    int fd = *(int *)arg;
    char line[1200];
    sweep_outcome_format(o, line, sizeof(line) - 1);
    size_t n = strlen(line);
    line[n++] = '\n';
    if (write(fd, line, n) != (ssize_t)n || fsync(fd) != 0)
        _exit(3);
}

static int child_main(const char *arg)
{
    char *copy = strdup(arg), *spec = NULL, *ack = NULL;
    int fd = -1;
    if (copy && (spec = strchr(copy, '\t')) && (ack = strchr(spec + 1, '\t'))) {
        *spec++ = '\0';
        *ack++ = '\0';
        fd = open(ack, O_WRONLY | O_CREAT | O_APPEND, 0644);
    }
    if (fd < 0) {
        free(copy);
        return 2;
    }
    struct sweep_outcome o;
    sweep_run(copy, spec, &o, child_note, &fd);
    close(fd);
    free(copy);
    return 0;
}

/* ---- the parent ----------------------------------------------------------- */

/* The last whole line of path ("" if none) into buf. */
static void last_line(const char *path, char *buf, size_t cap)
{
    char line[1200];
    FILE *fp = fopen(path, "r");
    buf[0] = '\0';
    if (!fp)
        return;
    while (fgets(line, sizeof(line), fp))
        if (strchr(line, '\n'))
            snprintf(buf, cap, "%s", line);
    fclose(fp);
}

static void print_file(const char *path)
{
    char line[1200];
    FILE *fp = fopen(path, "r");
    if (!fp)
        return;
    while (fgets(line, sizeof(line), fp))
        print_message("  child: %s", line);
    fclose(fp);
}

/* The threads of this process (from /proc/self/status; 0 if unknown). */
static int n_threads(void)
{
    char line[256];
    int n = 0;
    FILE *fp = fopen("/proc/self/status", "r");
    if (!fp)
        return 0;
    while (fgets(line, sizeof(line), fp))
        if (strncmp(line, "Threads:", 8) == 0)
            n = atoi(line + 8);
    fclose(fp);
    return n;
}

static int forked; /* children that were plain forks */

/* Runs the workload in a child with spec; returns its wait status. While
 * this process has a single thread (no handle is open, and no sanitizer
 * runs a thread of its own) the child is a plain fork, which skips a
 * sanitizer's start-up; otherwise it is this program spawned again, so
 * that the child never inherits locks of threads it does not have. */
static int spawn_child(const char *dir, const char *spec, const char *ack, const char *log)
{
    if (n_threads() == 1 && !getenv("CIRRUS_TEST_CRASH_SPAWN")) {
        forked++;
        fflush(NULL);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            if (out < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
                _exit(2);
            int fd = open(ack, O_WRONLY | O_CREAT | O_APPEND, 0644);
            if (fd < 0)
                _exit(2);
            struct sweep_outcome o;
            fault_group_reset(GROUP); /* counted from 1, as in a new process */
            sweep_run(dir, spec, &o, child_note, &fd);
            _exit(0);
        }
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return status;
    }

    char self[4200], *env = NULL;
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    assert_true(n > 0);
    self[n] = '\0';
    size_t len = strlen(CHILD_ENV) + strlen(dir) + strlen(spec) + strlen(ack) + 8;
    assert_non_null(env = malloc(len));
    snprintf(env, len, "%s=%s\t%s\t%s", CHILD_ENV, dir, spec, ack);
    size_t n_env = 0;
    while (environ[n_env])
        n_env++;
    char **envp = calloc(n_env + 2, sizeof(*envp));
    assert_non_null(envp);
    for (size_t i = 0; i < n_env; i++)
        envp[i] = environ[i];
    envp[n_env] = env;

    posix_spawn_file_actions_t fa;
    assert_int_equal(posix_spawn_file_actions_init(&fa), 0);
    assert_int_equal(
        posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0644), 0);
    assert_int_equal(posix_spawn_file_actions_adddup2(&fa, 1, 2), 0);
    char *argv[] = {self, NULL};
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, self, &fa, NULL, argv, envp), 0);
    posix_spawn_file_actions_destroy(&fa);
    free(envp);
    free(env);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return status;
}

static char *path_of(const struct fixture *f, const char *tag, uint64_t n, const char *ext)
{
    char path[4200];
    snprintf(path, sizeof(path), "%s/%s-%" PRIu64 "%s", f->dir, tag, n, ext);
    char *p = strdup(path);
    assert_non_null(p);
    return p;
}

static enum fault_op trace[FAULT_TRACE_MAX]; /* the no-crash run's calls */

static void a_crash_at_every_call_leaves_a_whole_db(void **state)
{
    struct fixture *f = *state;
    static const char *const whens[] = {"crash_at", "crash_after"};
    uint64_t stride = sweep_env_u64("CIRRUS_TEST_CRASH_STRIDE", SWEEP_DEFAULT_STRIDE);
    int full = sweep_env_u64("CIRRUS_TEST_SWEEP_FULL", 0) != 0;
    uint64_t t0 = mono_ns();
    uint64_t total = sweep_count_calls(path_of(f, "count", 0, ""), GROUP, trace, FAULT_TRACE_MAX);
    print_message("workload: %" PRIu64 " store calls\n", total);
    assert_true(total >= 50);
    if (stride == 0)
        stride = 1;
    for (int w = 0; w < 2; w++) {
        uint64_t points = 0, acked_steps = 0, by_op[FAULT_N_OPS] = {0};
        for (uint64_t n = 1; n <= total; n += stride) {
            /* after a read, the store is as it is before the next call
             * (crash_at=N+1): only writes differ */
            if (w == 1 && !full && !fault_op_is_write(trace[n - 1]))
                continue;
            char spec[128], what[256], line[1200];
            char *dir = path_of(f, whens[w], n, "");
            char *ack = path_of(f, whens[w], n, ".ack");
            char *log = path_of(f, whens[w], n, ".log");
            struct sweep_outcome o;
            snprintf(spec, sizeof(spec), "group=%s,%s=%" PRIu64, GROUP, whens[w], n);
            snprintf(what, sizeof(what), "%s=%" PRIu64, whens[w], n);
            int status = spawn_child(dir, spec, ack, log);
            if (!WIFEXITED(status) || WEXITSTATUS(status) != FAULT_CRASH_EXIT) {
                print_file(log);
                fail_msg("%s: the child did not crash: status %#x", what, status);
            }
            last_line(ack, line, sizeof(line));
            if (line[0] && sweep_outcome_parse(&o, line) < 0)
                fail_msg("%s: bad outcome line %s", what, line);
            if (!line[0])
                memset(&o, 0, sizeof(o)); /* crashed before opening */
            o.faulted = 1;
            sweep_check(dir, &o, what);
            for (int s = 0; s < SWEEP_N_STEPS; s++)
                acked_steps += o.acked[s] != 0;
            points++;
            by_op[trace[n - 1]]++;
            tmpdir_remove(dir);
            unlink(ack);
            unlink(log);
            free(ack);
            free(log);
        }
        char ops[256] = "";
        for (int op = 0; op < FAULT_N_OPS; op++)
            if (by_op[op])
                snprintf(ops + strlen(ops), sizeof(ops) - strlen(ops), " %s %" PRIu64,
                         fault_op_name((enum fault_op)op), by_op[op]);
        print_message("%s: %" PRIu64 " crash points (%s), %" PRIu64 " acknowledged steps checked\n",
                      whens[w], points, ops + 1, acked_steps);
    }
    print_message("crash points: %.1f s, %d children forked, the others spawned; %d leases "
                  "left held were broken\n",
                  (double)(mono_ns() - t0) / 1e9, forked, sweep_lease_busy);
}

int main(void)
{
    const char *child = getenv(CHILD_ENV);
    if (child)
        return child_main(child);
    /* fsync is most of a run's time on a disk; tmpfs keeps the test short */
    if (!getenv("TMPDIR") && access("/dev/shm", W_OK) == 0)
        setenv("TMPDIR", "/dev/shm", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(a_crash_at_every_call_leaves_a_whole_db, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
