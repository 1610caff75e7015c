/*
 * cmd_stream.c - the streaming commands: changes, epoch, commit-staged,
 * txn (load and stage are in cmd_load.c).
 *
 * Output formats (stable; scripts parse them):
 *   changes        one line per change, flushed per line:
 *                    SEQ<TAB>put<TAB>KEY<TAB>VALUE   or   SEQ<TAB>del<TAB>KEY
 *   epoch          one line: the app's last applied epoch
 *   commit-staged  one line: the seq of the commit
 *   txn            one line per `get`, flushed at once:
 *                    found<TAB>VALUE   or   notfound
 *                  then, after end of input, one line: the commit's seq
 *
 * txn input lines (escaped KEY and VALUE as everywhere; a KEY holds no raw
 * space, VALUE is the rest of the line):
 *   get KEY | put KEY VALUE | del KEY | sleep MS
 * The transaction begins before the first line is read and commits at end
 * of input. A malformed line ends it without committing (exit 2); a
 * conflicting commit writes nothing and exits 4 (CLI_CONFLICT).
 *
 * changes --follow polls until SIGINT or SIGTERM, then exits 0.
 */
#include <errno.h>
#include <signal.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* How long one cirrus_changes_next waits while following: the most a
 * SIGINT or SIGTERM waits to be noticed. */
#define FOLLOW_WAIT_MS 200

/* Prints one change, flushed:
 *   SEQ<TAB>put<TAB>KEY<TAB>VALUE     SEQ<TAB>del<TAB>KEY
 *   SEQ<TAB>merge<TAB>KEY<TAB>OPERAND SEQ<TAB>del-range<TAB>FROM<TAB>TO
 * Returns CLI_OK, or CLI_ERROR for an op this build does not know (a write
 * error is left for main to report). */
static int change_line(struct cli *c, const cirrus_change *ch, int follow)
{
    static const char *const names[] = {NULL, "put", "del", "merge", "del-range"};
    if (ch->op < CIRRUS_CHANGE_PUT || ch->op > CIRRUS_CHANGE_DELETE_RANGE)
        return cli_failf(c, CLI_ERROR, "seq %llu: a change of unknown kind %d",
                         (unsigned long long)ch->seq, ch->op);
    printf("%llu\t%s\t", (unsigned long long)ch->seq, names[ch->op]);
    if (ch->op != CIRRUS_CHANGE_DELETE)
        cli_out_kv(ch->key, ch->key_len, ch->val, ch->val_len);
    else if (cli_out_bytes(ch->key, ch->key_len) == 0)
        putchar('\n');
    if (follow)
        fflush(stdout); /* a follower sees each change as it comes */
    return CLI_OK;
}

int cmd_changes(struct cli *c, int argc, char **argv)
{
    const char *from = NULL;
    int follow = 0;
    struct cli_opt opts[] = {{"--from", &from, NULL, 0}, {"--follow", NULL, &follow, 0}};
    cirrus_db *db = NULL;
    cirrus_changes *feed = NULL;
    cirrus_change ch;
    uint64_t from_seq = 0;
    int n_pos, rc, lrc = 0;
    if ((rc = cli_parse_args(c, argc, argv, opts, 2, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK ||
        (from && (rc = cli_parse_u64(c, "--from", from, &from_seq)) != CLI_OK))
        goto done;
    /* before the open, which may take a while: a signal sent meanwhile must
     * not find SIGINT ignored (as a background job inherits it) */
    if (follow)
        cli_catch_stop_signals(0); /* SIGINT/SIGTERM end it between two polls */
    if ((rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        goto done;
    if ((lrc = cirrus_changes_open(&feed, db, from_seq)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    /* ENOTFOUND from next: caught up (for now); a signal ends a follow
     * quietly, even if it interrupted the poll with an error */
    while (rc == CLI_OK && !cli_stop_signal() && !ferror(stdout)) {
        lrc = cirrus_changes_next(feed, &ch, follow ? FOLLOW_WAIT_MS : 0);
        if (lrc == 0)
            rc = change_line(c, &ch, follow);
        else if (lrc == CIRRUS_ENOTFOUND && !follow)
            break;
        else if (lrc < 0 && lrc != CIRRUS_ENOTFOUND && !cli_stop_signal())
            rc = cli_fail(c, lrc);
    }
done:
    cirrus_changes_close(feed);
    return cli_close(c, db, rc);
}

int cmd_epoch(struct cli *c, int argc, char **argv)
{
    cirrus_db *db = NULL;
    uint64_t epoch = 0, seq = 0;
    int json = 0;
    struct cli_opt opts[] = {{"--json", NULL, &json, 0}};
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 1, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1, 1, "ID")) != CLI_OK ||
        (rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        goto done;
    lrc = cirrus_app_epoch(db, argv[0], &epoch, &seq);
    if (lrc == CIRRUS_ENOTFOUND)
        rc = cli_failf(c, CLI_NOTFOUND, "no epoch applied for app %s", argv[0]);
    else if (lrc < 0)
        rc = cli_fail(c, lrc);
    else if (json)
        cli_out_json(json_pack("{s:s, s:I, s:I}", "app_id", argv[0], "epoch", (json_int_t)epoch,
                               "seq", (json_int_t)seq));
    else
        cli_out_u64(epoch);
done:
    return cli_close(c, db, rc);
}

/* Splits data (len bytes, with room for one more) into NUL-terminated lines
 * appended to descs[*n]; an empty line is a usage error. */
static int stdin_descs(struct cli *c, char *data, size_t len, const char **descs, size_t *n)
{
    size_t line_no = 0;
    data[len] = '\0';
    while (len > 0) {
        char *nl = memchr(data, '\n', len);
        size_t line_len = nl ? (size_t)(nl - data) : len;
        line_no++;
        if (line_len == 0)
            return cli_usage(c, "stdin line %zu: empty descriptor", line_no);
        data[line_len] = '\0';
        descs[(*n)++] = data;
        if (!nl)
            break;
        len -= line_len + 1;
        data = nl + 1;
    }
    if (line_no == 0)
        return cli_usage(c, "no descriptor on stdin");
    return CLI_OK;
}

/* Collects commit-staged's descriptors (arguments, and stdin lines for "-")
 * into *descs_out (caller frees; *data_out too, which the stdin ones point
 * into). */
static int collect_descs(struct cli *c, char **argv, int n_pos, const char ***descs_out,
                         size_t *n_out, char **data_out)
{
    const char **descs = NULL;
    char *data = NULL, *grown;
    size_t len = 0, n = 0;
    int rc = CLI_OK, dash = 0;
    for (int i = 0; i < n_pos && rc == CLI_OK; i++) {
        if (strcmp(argv[i], "-") == 0 && dash++)
            rc = cli_usage(c, "'-' (descriptors from stdin) given more than once");
        else if (!argv[i][0])
            rc = cli_usage(c, "an empty DESCRIPTOR");
    }
    if (rc == CLI_OK && dash && (rc = cli_read_all(c, "stdin", stdin, &data, &len)) == CLI_OK) {
        if (!(grown = realloc(data, len + 1)))
            rc = cli_failf(c, CLI_ERROR, "stdin: out of memory");
        else
            data = grown;
    }
    /* at most one descriptor per byte of stdin, plus the arguments */
    if (rc == CLI_OK && !(descs = calloc((size_t)n_pos + len + 1, sizeof(*descs))))
        rc = cli_failf(c, CLI_ERROR, "out of memory");
    for (int i = 0; i < n_pos && rc == CLI_OK; i++) {
        if (strcmp(argv[i], "-") == 0)
            rc = stdin_descs(c, data, len, descs, &n);
        else
            descs[n++] = argv[i];
    }
    if (rc == CLI_OK) {
        *descs_out = descs;
        *n_out = n;
        *data_out = data;
        descs = NULL;
        data = NULL;
    }
    free(descs);
    free(data);
    return rc;
}

int cmd_commit_staged(struct cli *c, int argc, char **argv)
{
    const char **descs = NULL;
    char *data = NULL;
    cirrus_db *db = NULL;
    uint64_t seq = 0;
    size_t n = 0;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, NULL, 0, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1, n_pos, "DESCRIPTOR")) != CLI_OK ||
        (rc = collect_descs(c, argv, n_pos, &descs, &n, &data)) != CLI_OK ||
        (rc = cli_open(c, &db, CLI_OPEN_WRITE)) != CLI_OK)
        goto done;
    if ((lrc = cirrus_commit_staged(db, n, descs, &seq)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    cli_out_u64(seq);
    fflush(stdout);
done:
    free(descs);
    free(data);
    return cli_close(c, db, rc);
}

/* Splits a txn line's arguments `args`: the KEY runs up to the first space
 * and is decoded in place (*k_len); with n_args 2, *rest gets the VALUE, the
 * rest of the line (not decoded). */
static int txn_args(struct cli *c, size_t line_no, char *args, int n_args, size_t *k_len,
                    char **rest)
{
    char what[48];
    char *sp = strchr(args, ' ');
    if (n_args == 2 && !sp)
        return cli_usage(c, "line %zu: missing VALUE after KEY", line_no);
    if (n_args == 1 && sp)
        return cli_usage(c, "line %zu: unexpected text after KEY: '%s'", line_no, sp + 1);
    if (sp) {
        *sp = '\0';
        *rest = sp + 1;
    }
    snprintf(what, sizeof(what), "the KEY of line %zu", line_no);
    return cli_decode_arg(c, what, args, k_len);
}

/* Answers `get`: found<TAB>VALUE or notfound, flushed at once. */
static int txn_get(struct cli *c, cirrus_txn *t, const char *key, size_t k_len)
{
    void *val = NULL;
    size_t v_len = 0;
    int lrc = cirrus_txn_get(t, key, k_len, &val, &v_len);
    if (lrc < 0 && lrc != CIRRUS_ENOTFOUND)
        return cli_fail(c, lrc);
    if (lrc == CIRRUS_ENOTFOUND) {
        fputs("notfound\n", stdout);
    } else {
        fputs("found\t", stdout);
        if (cli_out_bytes(val, v_len) == 0)
            putchar('\n');
    }
    cirrus_free(val);
    fflush(stdout);
    return CLI_OK;
}

static void sleep_ms(uint64_t ms)
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
        ;
}

/* Runs one txn input line (NUL-terminated, without its newline). */
static int txn_line(struct cli *c, cirrus_txn *t, char *line, size_t line_no)
{
    char *args = strchr(line, ' '), *val = NULL, what[48];
    size_t k_len = 0, v_len = 0;
    uint64_t ms = 0;
    int rc, lrc = 0;
    if (args)
        *args++ = '\0';
    if (!args && (!strcmp(line, "get") || !strcmp(line, "put") || !strcmp(line, "del") ||
                  !strcmp(line, "sleep")))
        return cli_usage(c, "line %zu: %s needs %s", line_no, line,
                         !strcmp(line, "sleep") ? "MS" : "KEY");
    if (!strcmp(line, "get") || !strcmp(line, "del")) {
        if ((rc = txn_args(c, line_no, args, 1, &k_len, NULL)) != CLI_OK)
            return rc;
        if (line[0] == 'g')
            return txn_get(c, t, args, k_len);
        lrc = cirrus_txn_delete(t, args, k_len);
    } else if (!strcmp(line, "put")) {
        snprintf(what, sizeof(what), "the VALUE of line %zu", line_no);
        if ((rc = txn_args(c, line_no, args, 2, &k_len, &val)) != CLI_OK ||
            (rc = cli_decode_arg(c, what, val, &v_len)) != CLI_OK)
            return rc;
        lrc = cirrus_txn_put(t, args, k_len, val, v_len);
    } else if (!strcmp(line, "sleep")) {
        snprintf(what, sizeof(what), "the MS of line %zu", line_no);
        if ((rc = cli_parse_u64(c, what, args, &ms)) != CLI_OK)
            return rc;
        sleep_ms(ms);
    } else {
        return cli_usage(c, "line %zu: unknown operation '%s' (get, put, del or sleep)", line_no,
                         line);
    }
    return lrc < 0 ? cli_fail(c, lrc) : CLI_OK;
}

/* Commits t (freeing it) and prints the seq; a conflict is CLI_CONFLICT. */
static int txn_finish(struct cli *c, cirrus_txn *t)
{
    uint64_t seq = 0;
    int lrc = cirrus_txn_commit(t, &seq);
    if (lrc == CIRRUS_ECONFLICT)
        return cli_failf(c, CLI_CONFLICT, "%s",
                         cirrus_errmsg()[0] ? cirrus_errmsg() : cirrus_strerror(lrc));
    if (lrc < 0)
        return cli_fail(c, lrc);
    cli_out_u64(seq);
    fflush(stdout);
    return CLI_OK;
}

int cmd_txn(struct cli *c, int argc, char **argv)
{
    cirrus_db *db = NULL;
    cirrus_txn *t = NULL;
    char *line = NULL;
    size_t cap = 0, line_no = 0;
    ssize_t got;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, NULL, 0, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK ||
        (rc = cli_open(c, &db, CLI_OPEN_WRITE)) != CLI_OK)
        goto done;
    if ((lrc = cirrus_txn_begin(&t, db)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    while (rc == CLI_OK && (got = getline(&line, &cap, stdin)) > 0) {
        line_no++;
        if (line[got - 1] == '\n')
            line[--got] = '\0';
        if (strlen(line) != (size_t)got)
            rc = cli_usage(c, "line %zu: a NUL byte (use \\x00)", line_no);
        else if (got == 0)
            rc = cli_usage(c, "line %zu: empty line", line_no);
        else
            rc = txn_line(c, t, line, line_no);
    }
    if (rc == CLI_OK && ferror(stdin))
        rc = cli_failf(c, CLI_ERROR, "reading stdin: %s", strerror(errno));
    if (rc == CLI_OK) {
        rc = txn_finish(c, t);
        t = NULL; /* freed by the commit whatever the outcome */
    }
done:
    cirrus_txn_free(t);
    free(line);
    return cli_close(c, db, rc);
}
