/*
 * cmd_demo.c - `cirrus demo`: a short guided run of the engine on the db at
 * --db, narrated on stdout, that checks its own answers.
 *
 * Steps: one atomic batch of four puts (seq A); an overwrite and a delete
 * (seq B); reads at the latest seq; reads at seq A (the old values); a
 * prefix scan; a second process (this binary again, by fork + exec of
 * /proc/self/exe) running `get` and `scan` on the same db; the log from A.
 * Every answer is compared with what it must be; the exit code is 0 only if
 * all were right (3 otherwise). It works on a db that already holds data:
 * its keys live under "demo/" and it rewrites all of them in step 1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "timeparse.h"

struct demo {
    struct cli *c;
    cirrus_db *db;
    int n_checks;
    int n_failed;
    uint64_t seq_a, seq_b; /* the two commits */
    int log_saw_a, log_saw_b;
};

struct kv {
    const char *key;
    const char *val; /* NULL: a delete, or absent */
};

static const struct kv batch_a[] = {{"demo/apple", "red"},
                                    {"demo/banana", "yellow"},
                                    {"demo/cherry", "dark red"},
                                    {"demo/date", "brown"}};
static const struct kv batch_b[] = {{"demo/apple", "green"}, {"demo/banana", NULL}};
static const struct kv latest[] = {
    {"demo/apple", "green"}, {"demo/cherry", "dark red"}, {"demo/date", "brown"}};

#define N_OF(a) (sizeof(a) / sizeof((a)[0]))

/* Records one check and prints its verdict at the end of the current line. */
static void check(struct demo *d, int ok, const char *expected)
{
    d->n_checks++;
    if (ok) {
        printf("   ok\n");
    } else {
        d->n_failed++;
        printf("   WRONG: expected %s\n", expected);
    }
}

/* Writes ops as one batch with CIRRUS_WRITE_NOW; *seq_out gets its seq. */
static int commit_ops(struct demo *d, const struct kv *ops, size_t n, uint64_t *seq_out)
{
    cirrus_batch *b = NULL;
    int lrc, rc = CLI_OK;
    if ((lrc = cirrus_batch_new(&b)) < 0)
        goto done;
    for (size_t i = 0; i < n && lrc == 0; i++) {
        const struct kv *op = &ops[i];
        if (op->val)
            printf("     put %-12s = %s\n", op->key, op->val);
        else
            printf("     del %s\n", op->key);
        lrc = op->val ? cirrus_batch_put(b, op->key, strlen(op->key), op->val, strlen(op->val))
                      : cirrus_batch_delete(b, op->key, strlen(op->key));
    }
    if (lrc == 0)
        lrc = cirrus_write(d->db, b, CIRRUS_WRITE_NOW, seq_out);
    if (lrc == 0)
        printf("   committed as seq %llu\n", (unsigned long long)*seq_out);
done:
    if (lrc < 0)
        rc = cli_fail(d->c, lrc);
    cirrus_batch_free(b);
    return rc;
}

/* Reads key through snap (NULL: latest) and checks it against want (NULL:
 * absent). */
static int check_get(struct demo *d, const cirrus_snapshot *snap, const char *key, const char *want)
{
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    void *val = NULL;
    size_t len = 0;
    int lrc, rc = CLI_OK;
    ro.snapshot = snap;
    lrc = cirrus_get(d->db, &ro, key, strlen(key), &val, &len);
    if (lrc < 0 && lrc != CIRRUS_ENOTFOUND) {
        rc = cli_fail(d->c, lrc);
        goto done;
    }
    printf("     get %-12s -> %-10.*s", key, lrc == 0 ? (int)len : 9,
           lrc == 0 ? (const char *)val : "not found");
    check(d, want ? lrc == 0 && len == strlen(want) && memcmp(val, want, len) == 0 : lrc != 0,
          want ? want : "not found");
done:
    cirrus_free(val);
    return rc;
}

/* Reads every key of want at seq (CIRRUS_SEQ_LATEST: the latest). */
static int step_reads(struct demo *d, uint64_t seq, const struct kv *want, size_t n)
{
    cirrus_snapshot *snap = NULL;
    int lrc, rc = CLI_OK;
    if (seq != CIRRUS_SEQ_LATEST && (lrc = cirrus_snapshot_new(d->db, seq, &snap)) < 0)
        return cli_fail(d->c, lrc);
    for (size_t i = 0; i < n && rc == CLI_OK; i++)
        rc = check_get(d, snap, want[i].key, want[i].val);
    cirrus_snapshot_free(snap);
    return rc;
}

/* A prefix scan of "demo/" at the latest seq, checked against `latest`. */
static int step_scan(struct demo *d)
{
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    cirrus_iter *it = NULL;
    size_t n = 0, k_len, v_len;
    int lrc, rc = CLI_OK, same = 1;
    ro.prefix = "demo/";
    ro.prefix_len = 5;
    if ((lrc = cirrus_iter_new(&it, d->db, &ro)) < 0)
        goto done;
    for (cirrus_iter_first(it); cirrus_iter_valid(it); cirrus_iter_next(it), n++) {
        const char *k = cirrus_iter_key(it, &k_len), *v = cirrus_iter_value(it, &v_len);
        printf("     %.*s = %.*s\n", (int)k_len, k, (int)v_len, v);
        same = same && n < N_OF(latest) && k_len == strlen(latest[n].key) &&
               memcmp(k, latest[n].key, k_len) == 0 && v_len == strlen(latest[n].val) &&
               memcmp(v, latest[n].val, v_len) == 0;
    }
    lrc = cirrus_iter_status(it);
    printf("     (%zu keys)", n);
    check(d, same && n == N_OF(latest), "apple = green, cherry = dark red, date = brown");
done:
    if (lrc < 0)
        rc = cli_fail(d->c, lrc);
    cirrus_iter_close(it);
    return rc;
}

/* Reads fd to its end into a NUL-terminated malloc'd string (*out, caller
 * frees). Returns 0 or -1 (out of memory or a read error). */
static int read_fd(int fd, char **out)
{
    char *buf = NULL, *grown;
    size_t len = 0, cap = 0;
    ssize_t got = 1;
    int rc = 0;
    while (got != 0 && rc == 0) {
        if (len + 1 >= cap) {
            cap = cap ? cap * 2 : 4096;
            if (!(grown = realloc(buf, cap))) {
                rc = -1;
                break;
            }
            buf = grown;
        }
        got = read(fd, buf + len, cap - len - 1);
        if (got > 0)
            len += (size_t)got;
        else if (got < 0 && errno != EINTR)
            rc = -1;
    }
    if (rc == 0) {
        buf[len] = '\0';
        *out = buf;
        buf = NULL;
    }
    free(buf);
    return rc;
}

/* Runs this binary with args in a child process and collects its stdout
 * (*out, caller frees) and exit status. Returns CLI_OK or CLI_ERROR. */
static int run_child(struct demo *d, char *const *args, char **out, int *status_out)
{
    pid_t pid = -1;
    int fds[2] = {-1, -1}, rc = CLI_OK;
    fflush(stdout);
    fflush(stderr);
    if (pipe(fds) < 0 || (pid = fork()) < 0) {
        rc = cli_failf(d->c, CLI_ERROR, "starting a second process: %s", strerror(errno));
        goto done;
    }
    if (pid == 0) {
        dup2(fds[1], STDOUT_FILENO);
        close(fds[0]);
        close(fds[1]);
        execv("/proc/self/exe", args);
        _exit(127);
    }
    close(fds[1]);
    fds[1] = -1;
    if (read_fd(fds[0], out) < 0)
        rc = cli_failf(d->c, CLI_ERROR, "reading the second process's output: %s",
                       strerror(errno ? errno : ENOMEM));
    /* close before waiting, so a child still writing gets EPIPE, not stuck */
    close(fds[0]);
    fds[0] = -1;
    while (waitpid(pid, status_out, 0) < 0 && errno == EINTR)
        ;
done:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    return rc;
}

/* Runs `cirrus --db PATH [--meta URL] <cmd> <arg1> <arg2>` in a second process,
 * shows its output and checks it against want. */
static int child_check(struct demo *d, const char *cmd, const char *arg1, const char *arg2,
                       const char *want)
{
    char *args[12], *out = NULL;
    int n = 0, status = 0, rc, same;
    args[n++] = "cirrus";
    args[n++] = "--db";
    args[n++] = (char *)d->c->db_url;
    if (d->c->meta_url) {
        args[n++] = "--meta";
        args[n++] = (char *)d->c->meta_url;
    }
    args[n++] = (char *)cmd;
    args[n++] = (char *)arg1;
    args[n++] = (char *)arg2;
    args[n] = NULL;
    printf("     $ cirrus --db %s %s %s%s%s\n", d->c->db_url, cmd, arg1, arg2 ? " " : "",
           arg2 ? arg2 : "");
    if ((rc = run_child(d, args, &out, &status)) != CLI_OK)
        goto done;
    same = strcmp(out, want) == 0;
    for (char *line = strtok(out, "\n"); line; line = strtok(NULL, "\n"))
        printf("       %s\n", line);
    printf("     (exit status %d)",
           WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    check(d, same && WIFEXITED(status) && WEXITSTATUS(status) == 0, want);
done:
    free(out);
    return rc;
}

static int log_line(const cirrus_log_info *info, void *arg)
{
    struct demo *d = arg;
    char when[TIMEPARSE_FORMAT_MAX];
    timeparse_format(when, info->time_ms);
    printf("     %llu  %s  %s  +%lu files  -%lu files  %llu bytes\n", (unsigned long long)info->seq,
           when, info->kind == CIRRUS_ENTRY_WRITE ? "write" : "other", (unsigned long)info->n_added,
           (unsigned long)info->n_removed, (unsigned long long)info->bytes);
    d->log_saw_a |= info->seq == d->seq_a && info->kind == CIRRUS_ENTRY_WRITE;
    d->log_saw_b |= info->seq == d->seq_b && info->kind == CIRRUS_ENTRY_WRITE;
    return 0;
}

static int step_log(struct demo *d)
{
    int lrc = cirrus_log_scan(d->db, d->seq_a, log_line, d), rc = CLI_OK;
    if (lrc < 0) {
        rc = cli_fail(d->c, lrc);
    } else {
        printf("     (seq %llu and %llu present as write commits)", (unsigned long long)d->seq_a,
               (unsigned long long)d->seq_b);
        check(d, d->log_saw_a && d->log_saw_b, "both commits in the log");
    }
    return rc;
}

static int step_second_process(struct demo *d)
{
    int rc = child_check(d, "get", "demo/apple", NULL, "green\n");
    if (rc == CLI_OK)
        rc = child_check(d, "scan", "--prefix", "demo/",
                         "demo/apple\tgreen\ndemo/cherry\tdark red\ndemo/date\tbrown\n");
    return rc;
}

/* The steps in order; each returns CLI_OK, or CLI_ERROR when the library
 * failed (a wrong answer only counts in n_failed). */
static int run_steps(struct demo *d)
{
    int rc;
    printf("1. Write four keys in one atomic batch and commit it now\n");
    if ((rc = commit_ops(d, batch_a, N_OF(batch_a), &d->seq_a)) != CLI_OK)
        goto done;
    printf("\n2. Overwrite one key and delete another: a second commit\n");
    if ((rc = commit_ops(d, batch_b, N_OF(batch_b), &d->seq_b)) != CLI_OK)
        goto done;
    printf("\n3. Read the latest version\n");
    if ((rc = step_reads(d, CIRRUS_SEQ_LATEST, batch_b, N_OF(batch_b))) != CLI_OK)
        goto done;
    printf("\n4. Read as of seq %llu: the values before the second commit\n",
           (unsigned long long)d->seq_a);
    if ((rc = step_reads(d, d->seq_a, batch_a, 2)) != CLI_OK)
        goto done;
    printf("\n5. Scan the keys with prefix demo/ (the deleted one is gone)\n");
    if ((rc = step_scan(d)) != CLI_OK)
        goto done;
    printf("\n6. A second process opens the same db and reads what this one committed\n");
    if ((rc = step_second_process(d)) != CLI_OK)
        goto done;
    printf("\n7. The commit log from seq %llu (seq, time, kind, files, bytes)\n",
           (unsigned long long)d->seq_a);
    rc = step_log(d);
done:
    return rc;
}

int cmd_demo(struct cli *c, int argc, char **argv)
{
    struct demo d = {.c = c};
    int n_pos, rc;
    if ((rc = cli_parse_args(c, argc, argv, NULL, 0, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK)
        goto done;
    printf("cirrus demo: a guided run on the db at %s\n(%s)\n\n", c->db_url,
           strncmp(c->db_url, "s3://", 5) == 0
               ? "objects in S3, commits in the metadata store"
               : "objects in the directory, commits in a SQLite metadata store beside them");
    if ((rc = cli_open(c, &d.db, CLI_OPEN_WRITE)) != CLI_OK || (rc = run_steps(&d)) != CLI_OK)
        goto done;
    if (d.n_failed) {
        rc = cli_failf(c, CLI_ERROR, "%d of %d checks gave a wrong answer", d.n_failed, d.n_checks);
        goto done;
    }
    printf("\nAll %d checks passed.\n", d.n_checks);
done:
    return cli_close(c, d.db, rc);
}
