/*
 * cmd_kv.c - the key-value commands: put, del, get, mget, scan, load.
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

#include "cli.h"
#include "escape.h"
#include "timeparse.h"

/* Commits b and prints its seq. */
static int commit_batch(struct cli *c, const cirrus_batch *b)
{
    cirrus_db *db = NULL;
    uint64_t seq = 0;
    int rc, lrc;
    if ((rc = cli_open(c, &db, CLI_OPEN_WRITE)) != CLI_OK)
        goto done;
    if ((lrc = cirrus_write(db, b, CIRRUS_WRITE_NOW, &seq)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    /* acknowledged: say so before anything else can fail */
    cli_out_u64(seq);
    fflush(stdout);
done:
    return cli_close(c, db, rc);
}

/* put KEY VALUE / del KEY: one op, one commit. */
static int write_one(struct cli *c, int argc, char **argv, int is_put)
{
    cirrus_batch *b = NULL;
    size_t k_len = 0, v_len = 0;
    int n_pos, rc, lrc = 0;
    if ((rc = cli_parse_args(c, argc, argv, NULL, 0, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1 + is_put, 1 + is_put, "KEY VALUE")) != CLI_OK ||
        (rc = cli_decode_arg(c, "KEY", argv[0], &k_len)) != CLI_OK ||
        (is_put && (rc = cli_decode_arg(c, "VALUE", argv[1], &v_len)) != CLI_OK))
        goto done;
    if ((lrc = cirrus_batch_new(&b)) < 0 ||
        (lrc = is_put ? cirrus_batch_put(b, argv[0], k_len, argv[1], v_len)
                      : cirrus_batch_delete(b, argv[0], k_len)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    rc = commit_batch(c, b);
done:
    cirrus_batch_free(b);
    return rc;
}

int cmd_put(struct cli *c, int argc, char **argv)
{
    return write_one(c, argc, argv, 1);
}

int cmd_del(struct cli *c, int argc, char **argv)
{
    return write_one(c, argc, argv, 0);
}

/* Parses get's --at / --at-time (before the db is opened, so that a usage
 * error touches nothing). */
static int get_when(struct cli *c, const char *at, const char *at_time, uint64_t *seq_out,
                    int64_t *ms_out)
{
    int rc = CLI_OK;
    if (at && at_time)
        rc = cli_usage(c, "--at and --at-time cannot be used together");
    else if (at)
        rc = cli_parse_u64(c, "--at", at, seq_out);
    else if (at_time && timeparse_parse(ms_out, at_time) < 0)
        rc = cli_usage(c, "--at-time needs RFC 3339 or Unix milliseconds, got '%s'", at_time);
    return rc;
}

int cmd_get(struct cli *c, int argc, char **argv)
{
    const char *at = NULL, *at_time = NULL;
    struct cli_opt opts[] = {{"--at", &at, NULL, 0}, {"--at-time", &at_time, NULL, 0}};
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    cirrus_db *db = NULL;
    void *val = NULL;
    size_t k_len = 0, v_len = 0;
    uint64_t seq = 0;
    int64_t ms = 0;
    int n_pos, rc, lrc, empty = 0;
    if ((rc = cli_parse_args(c, argc, argv, opts, 2, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1, 1, "KEY")) != CLI_OK ||
        (rc = cli_decode_arg(c, "KEY", argv[0], &k_len)) != CLI_OK)
        goto done;
    if ((rc = get_when(c, at, at_time, &seq, &ms)) != CLI_OK ||
        (rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        goto done;
    if (at_time && (lrc = cirrus_seq_at_time(db, ms, &seq)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    /* seq 0 asked for, or a time before the first commit: the empty db */
    empty = (at || at_time) && seq == 0;
    ro.seq = seq;
    lrc = empty ? CIRRUS_ENOTFOUND : cirrus_get(db, &ro, argv[0], k_len, &val, &v_len);
    if (lrc == CIRRUS_ENOTFOUND)
        rc = cli_failf(c, CLI_NOTFOUND, "not found");
    else if (lrc < 0)
        rc = cli_fail(c, lrc);
    else if (cli_out_bytes(val, v_len) == 0)
        putchar('\n');
done:
    cirrus_free(val);
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
    cirrus_db *db = NULL;
    size_t *lens = NULL, *v_lens = NULL;
    const void **keys = NULL;
    void **vals = NULL;
    int *rcs = NULL, n_pos = 0, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, NULL, 0, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1, n_pos, "KEY")) != CLI_OK)
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
    if (rc != CLI_OK || (rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        goto done;
    lrc = cirrus_multi_get(db, NULL, (size_t)n_pos, keys, lens, vals, v_lens, rcs);
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
    return cli_close(c, db, rc);
}

struct scan_args {
    const char *prefix, *from, *to, *limit, *at;
    int reverse;
    uint64_t max; /* --limit, or UINT64_MAX */
    uint64_t seq; /* --at, or 0 */
    cirrus_read_options ro;
};

/* Parses and decodes scan's options into a. */
static int scan_parse(struct cli *c, int argc, char **argv, struct scan_args *a)
{
    struct cli_opt opts[] = {
        {"--prefix", &a->prefix, NULL, 0}, {"--from", &a->from, NULL, 0},
        {"--to", &a->to, NULL, 0},         {"--reverse", NULL, &a->reverse, 0},
        {"--limit", &a->limit, NULL, 0},   {"--at", &a->at, NULL, 0},
    };
    int n_pos, rc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 6, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK ||
        (a->limit && (rc = cli_parse_u64(c, "--limit", a->limit, &a->max)) != CLI_OK) ||
        (a->at && (rc = cli_parse_u64(c, "--at", a->at, &a->seq)) != CLI_OK) ||
        (a->prefix &&
         (rc = cli_decode_arg(c, "--prefix", (char *)a->prefix, &a->ro.prefix_len)) != CLI_OK) ||
        (a->from &&
         (rc = cli_decode_arg(c, "--from", (char *)a->from, &a->ro.lower_len)) != CLI_OK) ||
        (a->to && (rc = cli_decode_arg(c, "--to", (char *)a->to, &a->ro.upper_len)) != CLI_OK))
        goto done;
    a->ro.prefix = a->prefix;
    a->ro.lower = a->from;
    a->ro.upper = a->to;
    a->ro.seq = a->seq;
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
        (rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        goto done;
    if (a.at && a.seq == 0)
        goto done; /* the empty db */
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
    return cli_close(c, db, rc);
}

/* Reads all of f into a malloc'd buffer (*out, caller frees). */
static int read_all(struct cli *c, const char *name, FILE *f, char **out, size_t *len_out)
{
    char *data = NULL, *grown;
    size_t len = 0, cap = 0, got;
    int rc = CLI_OK;
    do {
        if (len == cap) {
            cap = cap ? cap * 2 : 1 << 16;
            if (!(grown = realloc(data, cap))) {
                rc = cli_failf(c, CLI_ERROR, "%s: out of memory", name);
                goto done;
            }
            data = grown;
        }
        got = fread(data + len, 1, cap - len, f);
        len += got;
    } while (got > 0);
    if (ferror(f))
        rc = cli_failf(c, CLI_ERROR, "%s: %s", name, strerror(errno));
done:
    if (rc == CLI_OK) {
        *out = data;
        *len_out = len;
        data = NULL;
    }
    free(data);
    return rc;
}

/* Parses one KEY<TAB>VALUE line (decoded in place) into b. */
static int load_line(struct cli *c, cirrus_batch *b, char *line, size_t len, size_t line_no)
{
    char *tab = memchr(line, '\t', len), *val, bad[ESCAPE_BAD_MAX];
    size_t k_src_len, v_src_len, k_len, v_len, bad_at;
    int rc = CLI_OK, lrc;
    if (!tab) {
        rc = cli_usage(c, "line %zu: no TAB between key and value; nothing committed", line_no);
        goto done;
    }
    val = tab + 1;
    k_src_len = (size_t)(tab - line);
    v_src_len = len - k_src_len - 1;
    if (escape_decode((uint8_t *)line, &k_len, &bad_at, line, k_src_len) < 0) {
        escape_describe_bad(bad, line, k_src_len, bad_at);
        rc = cli_usage(c, "line %zu: bad escape '%s' in the key; nothing committed", line_no, bad);
        goto done;
    }
    if (escape_decode((uint8_t *)val, &v_len, &bad_at, val, v_src_len) < 0) {
        escape_describe_bad(bad, val, v_src_len, bad_at);
        rc =
            cli_usage(c, "line %zu: bad escape '%s' in the value; nothing committed", line_no, bad);
        goto done;
    }
    if ((lrc = cirrus_batch_put(b, line, k_len, val, v_len)) < 0)
        rc = cli_fail(c, lrc);
done:
    return rc;
}

/* Parses every line of data into b. The last line may lack its newline. */
static int load_lines(struct cli *c, cirrus_batch *b, char *data, size_t len)
{
    size_t line_no = 0;
    int rc = CLI_OK;
    while (len > 0 && rc == CLI_OK) {
        char *nl = memchr(data, '\n', len);
        size_t line_len = nl ? (size_t)(nl - data) : len;
        rc = load_line(c, b, data, line_len, ++line_no);
        if (!nl)
            break;
        len -= line_len + 1;
        data = nl + 1;
    }
    return rc;
}

/* Prints the head seq (load of an empty input). */
static int print_head(struct cli *c)
{
    cirrus_db *db = NULL;
    uint64_t seq = 0;
    int rc, lrc;
    if ((rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        goto done;
    if ((lrc = cirrus_refresh(db, &seq)) < 0)
        rc = cli_fail(c, lrc);
    else
        cli_out_u64(seq);
done:
    return cli_close(c, db, rc);
}

int cmd_load(struct cli *c, int argc, char **argv)
{
    FILE *f = NULL;
    cirrus_batch *b = NULL;
    char *data = NULL;
    const char *name = "-";
    size_t len = 0;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, NULL, 0, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 1, "FILE")) != CLI_OK)
        goto done;
    if (n_pos == 1 && strcmp(argv[0], "-") != 0)
        name = argv[0];
    if (strcmp(name, "-") != 0 && !(f = fopen(name, "rb"))) {
        rc = cli_failf(c, CLI_ERROR, "%s: %s", name, strerror(errno));
        goto done;
    }
    if ((rc = read_all(c, f ? name : "stdin", f ? f : stdin, &data, &len)) != CLI_OK)
        goto done;
    if ((lrc = cirrus_batch_new(&b)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    if ((rc = load_lines(c, b, data, len)) != CLI_OK)
        goto done;
    rc = cirrus_batch_count(b) == 0 ? print_head(c) : commit_batch(c, b);
done:
    cirrus_batch_free(b);
    free(data);
    if (f)
        fclose(f);
    return rc;
}
