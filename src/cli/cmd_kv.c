/*
 * cmd_kv.c - the key-value commands: put, del, incr, del-range, get, mget,
 * scan (load is in cmd_load.c).
 *
 * Writes commit with CIRRUS_WRITE_NOW and print the seq only once
 * cirrus_write() has returned it, so a printed seq is an acknowledged,
 * durable commit (the crash test relies on this). Reads with --at S use
 * read options seq S; S = 0 (the empty db) is answered without a read,
 * because seq 0 means "latest" to the library.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "timeparse.h"

/* Commits b and prints its seq. */
static int commit_batch(struct cli *c, const cirrus_batch *b)
{
    cirrus_db *db = NULL;
    uint64_t seq = 0;
    int rc, lrc;
    if ((rc = cli_open(c, &db, CLI_OPEN_WRITE)) != CLI_OK)
        goto done;
    /* A failed commit leaves the batch buffered, and the close would commit
     * it after this command had said it failed (a retried incr would then
     * count twice). So it is retried here, once, and the outcome reported:
     * the flush also settles whether an ambiguous attempt landed. */
    if ((lrc = cirrus_write(db, b, CIRRUS_WRITE_NOW, &seq)) < 0 &&
        (lrc = cirrus_flush(db, &seq)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    /* acknowledged: say so before anything else can fail */
    cli_out_u64(seq);
    fflush(stdout);
done:
    return cli_close(c, db, rc);
}

enum write_kind { WRITE_PUT, WRITE_DEL, WRITE_INCR };

/* A signed 64-bit decimal, strictly (the counter operator's operand). */
static int parse_delta(struct cli *c, const char *s)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    (void)v;
    if (!*s || *end || errno || s[0] == '+' || s[0] == ' ')
        return cli_usage(c, "DELTA must be a signed 64-bit integer, got '%s'", s);
    return CLI_OK;
}

/* put KEY VALUE [--ttl SECONDS] / del KEY / incr KEY DELTA: one op, one
 * commit. */
static int write_one(struct cli *c, int argc, char **argv, enum write_kind kind)
{
    const char *ttl = NULL;
    struct cli_opt opts[] = {{"--ttl", &ttl, NULL, 0}};
    cirrus_batch *b = NULL;
    size_t k_len = 0, v_len = 0;
    int64_t ttl_ms = 0;
    int n_pos, rc, lrc = 0, has_val = kind != WRITE_DEL;
    static const char *const shapes[] = {"KEY VALUE", "KEY", "KEY DELTA"};
    if ((rc = cli_parse_args(c, argc, argv, kind == WRITE_PUT ? opts : NULL,
                             kind == WRITE_PUT ? 1 : 0, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1 + has_val, 1 + has_val, shapes[kind])) != CLI_OK ||
        (rc = cli_decode_arg(c, "KEY", argv[0], &k_len)) != CLI_OK)
        goto done;
    if (kind == WRITE_PUT && (rc = cli_decode_arg(c, "VALUE", argv[1], &v_len)) != CLI_OK)
        goto done;
    if (kind == WRITE_INCR && (rc = parse_delta(c, argv[1])) != CLI_OK)
        goto done;
    if (ttl && ((rc = cli_parse_seconds(c, "--ttl", ttl, &ttl_ms)) != CLI_OK ||
                (ttl_ms <= 0 && (rc = cli_usage(c, "--ttl must be positive")) != CLI_OK)))
        goto done;
    if ((lrc = cirrus_batch_new(&b)) < 0)
        goto fail;
    if (kind == WRITE_PUT)
        lrc = ttl ? cirrus_batch_put_ttl(b, argv[0], k_len, argv[1], v_len, ttl_ms)
                  : cirrus_batch_put(b, argv[0], k_len, argv[1], v_len);
    else if (kind == WRITE_DEL)
        lrc = cirrus_batch_delete(b, argv[0], k_len);
    else
        lrc = cirrus_batch_merge(b, argv[0], k_len, argv[1], strlen(argv[1]));
    if (lrc < 0)
        goto fail;
    rc = commit_batch(c, b);
    goto done;
fail:
    rc = cli_fail(c, lrc);
done:
    cirrus_batch_free(b);
    return rc;
}

int cmd_put(struct cli *c, int argc, char **argv)
{
    return write_one(c, argc, argv, WRITE_PUT);
}

int cmd_del(struct cli *c, int argc, char **argv)
{
    return write_one(c, argc, argv, WRITE_DEL);
}

int cmd_incr(struct cli *c, int argc, char **argv)
{
    return write_one(c, argc, argv, WRITE_INCR);
}

/* del-range FROM TO: one commit deleting [FROM, TO). */
int cmd_del_range(struct cli *c, int argc, char **argv)
{
    cirrus_db *db = NULL;
    size_t f_len = 0, t_len = 0;
    uint64_t seq = 0;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, NULL, 0, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 2, 2, "FROM TO")) != CLI_OK ||
        (rc = cli_decode_arg(c, "FROM", argv[0], &f_len)) != CLI_OK ||
        (rc = cli_decode_arg(c, "TO", argv[1], &t_len)) != CLI_OK)
        return rc;
    size_t n = f_len < t_len ? f_len : t_len;
    int order = memcmp(argv[0], argv[1], n);
    if (order > 0 || (order == 0 && f_len >= t_len))
        return cli_usage(c, "FROM must sort before TO (the range [FROM, TO) is empty)");
    if ((rc = cli_open(c, &db, CLI_OPEN_WRITE)) != CLI_OK)
        goto done;
    if ((lrc = cirrus_delete_range(db, argv[0], f_len, argv[1], t_len, &seq)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    cli_out_u64(seq);
    fflush(stdout);
done:
    return cli_close(c, db, rc);
}

/* Where a read looks: --at SEQ, --at-time TIME or --checkpoint NAME (none:
 * the latest). */
struct when {
    const char *at, *at_time, *checkpoint; /* the options as given, or NULL */
    uint64_t seq;                          /* --at, then the seq --at-time names */
    int64_t ms;                            /* --at-time, Unix ms */
    cirrus_snapshot *snap;                 /* where --at / --at-time read, or NULL */
};

/* Parses --at / --at-time (before the db is opened, so that a usage error
 * touches nothing). */
static int when_parse(struct cli *c, struct when *w)
{
    int rc = CLI_OK;
    if (!!w->at + !!w->at_time + !!w->checkpoint > 1)
        rc = cli_usage(c, "--at, --at-time and --checkpoint cannot be used together");
    else if (w->at)
        rc = cli_parse_u64(c, "--at", w->at, &w->seq);
    else if (w->at_time && timeparse_parse(&w->ms, w->at_time) < 0)
        rc = cli_usage(c, "--at-time needs RFC 3339 or Unix milliseconds, got '%s'", w->at_time);
    return rc;
}

/* Turns --at-time into a seq. A time still to come is an error, as a seq
 * beyond the head is: the answer at that time is not known yet. */
static int when_resolve(struct cli *c, cirrus_db *db, struct when *w)
{
    struct timespec now;
    int lrc;
    if (w->at_time) {
        clock_gettime(CLOCK_REALTIME, &now);
        if (w->ms > (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000)
            return cli_failf(c, CLI_ERROR, "--at-time %s is in the future", w->at_time);
        if ((lrc = cirrus_seq_at_time(db, w->ms, &w->seq)) < 0)
            return cli_fail(c, lrc);
    }
    /* a time before the first commit is seq 0: the empty database */
    if ((w->at || w->at_time) && (lrc = cirrus_snapshot_new(db, w->seq, &w->snap)) < 0)
        return cli_fail(c, lrc);
    if (w->checkpoint && (lrc = cirrus_snapshot_checkpoint(db, w->checkpoint, &w->snap)) < 0)
        return cli_fail(c, lrc);
    return CLI_OK;
}

int cmd_get(struct cli *c, int argc, char **argv)
{
    struct when w = {0};
    struct cli_opt opts[] = {{"--at", &w.at, NULL, 0},
                             {"--at-time", &w.at_time, NULL, 0},
                             {"--checkpoint", &w.checkpoint, NULL, 0}};
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    cirrus_db *db = NULL;
    void *val = NULL;
    size_t k_len = 0, v_len = 0;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 3, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1, 1, "KEY")) != CLI_OK ||
        (rc = cli_decode_arg(c, "KEY", argv[0], &k_len)) != CLI_OK ||
        (rc = when_parse(c, &w)) != CLI_OK || (rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK ||
        (rc = when_resolve(c, db, &w)) != CLI_OK)
        goto done;
    ro.snapshot = w.snap;
    lrc = cirrus_get(db, &ro, argv[0], k_len, &val, &v_len);
    if (lrc == CIRRUS_ENOTFOUND)
        rc = cli_failf(c, CLI_NOTFOUND, "not found");
    else if (lrc < 0)
        rc = cli_fail(c, lrc);
    else if (cli_out_bytes(val, v_len) == 0)
        putchar('\n');
done:
    cirrus_free(val);
    cirrus_snapshot_free(w.snap);
    return cli_close(c, db, rc);
}

/* Prints mget's line for one key: KEY<TAB>VALUE, or KEY alone if absent. */
static int mget_line(const void *key, size_t k_len, const void *val, size_t v_len, int krc)
{
    int rc;
    if (krc == CIRRUS_ENOTFOUND)
        rc = cli_out_bytes(key, k_len) < 0 || putchar('\n') == EOF ? -1 : 0;
    else
        rc = cli_out_kv(key, k_len, val, v_len);
    return rc;
}

int cmd_mget(struct cli *c, int argc, char **argv)
{
    struct when w = {0};
    struct cli_opt opts[] = {{"--at", &w.at, NULL, 0},
                             {"--at-time", &w.at_time, NULL, 0},
                             {"--checkpoint", &w.checkpoint, NULL, 0}};
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    cirrus_db *db = NULL;
    size_t *lens = NULL, *v_lens = NULL;
    const void **keys = NULL;
    void **vals = NULL;
    int *rcs = NULL, n_pos = 0, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 3, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1, n_pos, "KEY")) != CLI_OK ||
        (rc = when_parse(c, &w)) != CLI_OK)
        goto done;
    keys = calloc((size_t)n_pos, sizeof(*keys));
    lens = calloc((size_t)n_pos, sizeof(*lens));
    v_lens = calloc((size_t)n_pos, sizeof(*v_lens));
    vals = calloc((size_t)n_pos, sizeof(*vals));
    rcs = calloc((size_t)n_pos, sizeof(*rcs));
    if (!keys || !lens || !v_lens || !vals || !rcs) {
        rc = cli_failf(c, CLI_ERROR, "out of memory");
        goto done;
    }
    for (int i = 0; i < n_pos && rc == CLI_OK; i++) {
        keys[i] = argv[i];
        rc = cli_decode_arg(c, "KEY", argv[i], &lens[i]);
    }
    if (rc != CLI_OK || (rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK ||
        (rc = when_resolve(c, db, &w)) != CLI_OK)
        goto done;
    ro.snapshot = w.snap;
    lrc = cirrus_multi_get(db, &ro, (size_t)n_pos, keys, lens, vals, v_lens, rcs);
    for (int i = 0; i < n_pos && lrc == 0; i++)
        if (rcs[i] < 0 && rcs[i] != CIRRUS_ENOTFOUND)
            lrc = rcs[i];
    if (lrc < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    for (int i = 0; i < n_pos && !ferror(stdout); i++)
        mget_line(keys[i], lens[i], vals[i], v_lens[i], rcs[i]);
done:
    for (int i = 0; vals && i < n_pos; i++)
        cirrus_free(vals[i]);
    free(rcs);
    free(vals);
    free(v_lens);
    free(lens);
    free(keys);
    cirrus_snapshot_free(w.snap);
    return cli_close(c, db, rc);
}

struct scan_args {
    const char *prefix, *from, *to, *limit;
    int reverse;
    uint64_t max; /* --limit, or UINT64_MAX */
    struct when when;
    cirrus_read_options ro;
};

/* Parses and decodes scan's options into a. */
static int scan_parse(struct cli *c, int argc, char **argv, struct scan_args *a)
{
    struct cli_opt opts[] = {
        {"--prefix", &a->prefix, NULL, 0},
        {"--from", &a->from, NULL, 0},
        {"--to", &a->to, NULL, 0},
        {"--reverse", NULL, &a->reverse, 0},
        {"--limit", &a->limit, NULL, 0},
        {"--at", &a->when.at, NULL, 0},
        {"--at-time", &a->when.at_time, NULL, 0},
        {"--checkpoint", &a->when.checkpoint, NULL, 0},
    };
    int n_pos, rc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 8, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK ||
        (a->limit && (rc = cli_parse_u64(c, "--limit", a->limit, &a->max)) != CLI_OK) ||
        (rc = when_parse(c, &a->when)) != CLI_OK ||
        (a->prefix &&
         (rc = cli_decode_arg(c, "--prefix", (char *)a->prefix, &a->ro.prefix_len)) != CLI_OK) ||
        (a->from &&
         (rc = cli_decode_arg(c, "--from", (char *)a->from, &a->ro.lower_len)) != CLI_OK) ||
        (a->to && (rc = cli_decode_arg(c, "--to", (char *)a->to, &a->ro.upper_len)) != CLI_OK))
        goto done;
    a->ro.prefix = a->prefix;
    a->ro.lower = a->from;
    a->ro.upper = a->to;
done:
    return rc;
}

int cmd_scan(struct cli *c, int argc, char **argv)
{
    struct scan_args a = {.max = UINT64_MAX, .ro = CIRRUS_READ_OPTIONS_INIT};
    cirrus_db *db = NULL;
    cirrus_iter *it = NULL;
    uint64_t n = 0;
    int rc, lrc;
    if ((rc = scan_parse(c, argc, argv, &a)) != CLI_OK ||
        (rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK ||
        (rc = when_resolve(c, db, &a.when)) != CLI_OK)
        goto done;
    a.ro.snapshot = a.when.snap;
    if ((lrc = cirrus_iter_new(&it, db, &a.ro)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    for (a.reverse ? cirrus_iter_last(it) : cirrus_iter_first(it);
         n < a.max && cirrus_iter_valid(it) && !ferror(stdout); n++) {
        size_t k_len, v_len;
        const void *k = cirrus_iter_key(it, &k_len), *v = cirrus_iter_value(it, &v_len);
        cli_out_kv(k, k_len, v, v_len);
        a.reverse ? cirrus_iter_prev(it) : cirrus_iter_next(it);
    }
    if ((lrc = cirrus_iter_status(it)) < 0)
        rc = cli_fail(c, lrc);
done:
    cirrus_iter_close(it);
    cirrus_snapshot_free(a.when.snap);
    return cli_close(c, db, rc);
}
