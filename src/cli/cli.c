/*
 * cli.c - argument parsing, messages, output and opening the db, shared by
 * every command; see cli.h.
 */
#include "cli.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"

static struct cli_opt *find_opt(struct cli_opt *opts, size_t n_opts, const char *name,
                                size_t name_len)
{
    for (size_t i = 0; i < n_opts; i++)
        if (strlen(opts[i].name) == name_len && memcmp(opts[i].name, name, name_len) == 0)
            return &opts[i];
    return NULL;
}

/* Handles the option argv[*i]; may consume the next argument as its value. */
static int take_opt(struct cli *c, int argc, char **argv, int *i, struct cli_opt *opts,
                    size_t n_opts)
{
    const char *arg = argv[*i], *eq = strchr(arg, '=');
    size_t name_len = eq ? (size_t)(eq - arg) : strlen(arg);
    struct cli_opt *o = find_opt(opts, n_opts, arg, name_len);
    int rc = CLI_OK;
    if (!o)
        rc = cli_usage(c, "unknown option '%.*s'", (int)name_len, arg);
    else if (o->seen)
        rc = cli_usage(c, "option %s given more than once", o->name);
    else if (!o->value && eq)
        rc = cli_usage(c, "option %s takes no value", o->name);
    else if (o->value && !eq && *i + 1 >= argc)
        rc = cli_usage(c, "option %s needs a value", o->name);
    if (rc == CLI_OK) {
        o->seen = 1;
        if (o->value)
            *o->value = eq ? eq + 1 : argv[++*i];
        else
            *o->flag = 1;
    }
    return rc;
}

int cli_parse_args(struct cli *c, int argc, char **argv, struct cli_opt *opts, size_t n_opts,
                   int *n_pos_out)
{
    int n_pos = 0, only_pos = 0, rc = CLI_OK;
    for (int i = 0; i < argc && rc == CLI_OK; i++) {
        if (!only_pos && strcmp(argv[i], "--") == 0)
            only_pos = 1;
        else if (!only_pos && strncmp(argv[i], "--", 2) == 0)
            rc = take_opt(c, argc, argv, &i, opts, n_opts);
        else
            argv[n_pos++] = argv[i];
    }
    *n_pos_out = n_pos;
    return rc;
}

int cli_expect_args(struct cli *c, char **pos, int n_pos, int min, int max, const char *names)
{
    const char *name = names;
    int rc = CLI_OK;
    if (n_pos > max) {
        rc = cli_usage(c, "unexpected argument '%s'", pos[max]);
    } else if (n_pos < min) {
        /* skip the names of the arguments that were given */
        for (int i = 0; i < n_pos && strchr(name, ' '); i++)
            name = strchr(name, ' ') + 1;
        rc = cli_usage(c, "missing %.*s", (int)strcspn(name, " "), name);
    }
    return rc;
}

int cli_decode_arg(struct cli *c, const char *what, char *arg, size_t *len_out)
{
    size_t bad_at, len = strlen(arg);
    char bad[ESCAPE_BAD_MAX];
    int rc = CLI_OK;
    if (escape_decode((uint8_t *)arg, len_out, &bad_at, arg, len) < 0) {
        escape_describe_bad(bad, arg, len, bad_at);
        rc = cli_usage(c, "bad escape '%s' in %s (use \\\\, \\t, \\n or \\xHH)", bad, what);
    }
    return rc;
}

int cli_parse_u64(struct cli *c, const char *what, const char *s, uint64_t *out)
{
    uint64_t v = 0;
    int rc = CLI_OK;
    if (*s == '\0')
        rc = cli_usage(c, "%s needs a number, got ''", what);
    for (const char *p = s; *p && rc == CLI_OK; p++) {
        unsigned d = (unsigned)(*p - '0');
        if (d > 9)
            rc = cli_usage(c, "%s needs a decimal number, got '%s'", what, s);
        else if (v > (UINT64_MAX - d) / 10)
            rc = cli_usage(c, "%s is too large: '%s'", what, s);
        else
            v = v * 10 + d;
    }
    if (rc == CLI_OK)
        *out = v;
    return rc;
}

int cli_parse_seconds(struct cli *c, const char *what, const char *s, int64_t *ms_out)
{
    uint64_t secs = 0;
    int rc;
    if ((rc = cli_parse_u64(c, what, s, &secs)) == CLI_OK && secs > INT64_MAX / 1000)
        rc = cli_usage(c, "%s is too large: '%s'", what, s);
    if (rc == CLI_OK)
        *ms_out = (int64_t)secs * 1000;
    return rc;
}

int cli_parse_duration(struct cli *c, const char *what, const char *s, int64_t *ms_out)
{
    static const struct {
        char unit;
        int64_t ms;
    } units[] = {{'s', 1000}, {'m', 60000}, {'h', 3600000}, {'d', 86400000}};
    size_t n = strlen(s);
    char digits[32];
    uint64_t v;
    int rc;
    for (size_t i = 0; n >= 2 && n < sizeof(digits) && i < sizeof(units) / sizeof(units[0]); i++) {
        if (s[n - 1] != units[i].unit)
            continue;
        memcpy(digits, s, n - 1);
        digits[n - 1] = '\0';
        if ((rc = cli_parse_u64(c, what, digits, &v)) != CLI_OK)
            return rc;
        if (v > (uint64_t)(INT64_MAX / units[i].ms))
            return cli_usage(c, "%s is too large: '%s'", what, s);
        *ms_out = (int64_t)v * units[i].ms;
        return CLI_OK;
    }
    return cli_usage(c, "%s needs a duration such as 30s, 15m, 12h or 7d, got '%s'", what, s);
}

int cli_parse_size(struct cli *c, const char *what, const char *s, uint64_t *out)
{
    static const char units[] = "KMGT";
    size_t n = strspn(s, "0123456789");
    const char *u = s + n, *at;
    char digits[32];
    uint64_t v, mul = 1;
    int rc;
    if (n == 0 || n >= sizeof(digits))
        return cli_usage(c, "%s needs a size such as 65536, 64K or 256M, got '%s'", what, s);
    if (*u) {
        if (!(at = strchr(units, u[0] & ~0x20)) ||
            (u[1] && strcmp(u + 1, "iB") != 0 && strcmp(u + 1, "B") != 0))
            return cli_usage(c, "%s needs a size such as 65536, 64K or 256M, got '%s'", what, s);
        mul = (uint64_t)1 << (10 * (at - units + 1));
    }
    memcpy(digits, s, n);
    digits[n] = '\0';
    if ((rc = cli_parse_u64(c, what, digits, &v)) != CLI_OK)
        return rc;
    if (v > UINT64_MAX / mul)
        return cli_usage(c, "%s is too large: '%s'", what, s);
    *out = v * mul;
    return CLI_OK;
}

/* "cirrus: CMD: " (just "cirrus: " before a command is known) */
static void prefix(const struct cli *c)
{
    fprintf(stderr, "cirrus: %s%s", c->cmd, c->cmd[0] ? ": " : "");
}

int cli_usage(struct cli *c, const char *fmt, ...)
{
    va_list ap;
    prefix(c);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nusage: cirrus [--db PATH] [--meta URL] %s%s%s  (see 'cirrus help')\n",
            c->cmd, c->cmd[0] && c->synopsis[0] ? " " : "", c->synopsis);
    return CLI_USAGE;
}

int cli_fail(struct cli *c, int rc)
{
    const char *msg = cirrus_errmsg();
    if (!msg[0])
        msg = cirrus_strerror(rc);
    prefix(c);
    fprintf(stderr, "%s\n", msg);
    return CLI_ERROR;
}

int cli_failf(struct cli *c, int code, const char *fmt, ...)
{
    va_list ap;
    prefix(c);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    return code;
}

int cli_open(struct cli *c, cirrus_db **out, enum cli_open_mode mode)
{
    cirrus_options o = CIRRUS_OPTIONS_INIT;
    return cli_open_opts(c, out, mode, &o);
}

int cli_try_open(struct cli *c, cirrus_db **out, enum cli_open_mode mode, cirrus_options *o)
{
    o->meta_url = c->meta_url;
    if (c->log_level >= 0)
        o->log_level = c->log_level; /* to stderr: the default log_fn */
    /* A CLI process lives for one command: no group-commit or refresh
     * threads. Writes commit with CIRRUS_WRITE_NOW; open reads the head. */
    o->flush_interval_ms = 0;
    o->refresh_interval_ms = 0;
    /* Processes that commit keep L0 in check (compaction runs while they
     * hold the compactor lease, and their close waits for it); a read never
     * commits anything, so `get` and friends leave the head alone. */
    o->background_compaction = mode == CLI_OPEN_WRITE;
    /* A typo in --db must not make a new, empty db that answers "not
     * found": only commands that write create one (as create_if_missing
     * does), and --no-create stops them too. */
    o->create_if_missing = mode != CLI_OPEN_READ && !c->no_create;
    return cirrus_open(out, c->db_url, o);
}

int cli_open_opts(struct cli *c, cirrus_db **out, enum cli_open_mode mode, cirrus_options *o)
{
    int lrc = cli_try_open(c, out, mode, o);
    return lrc < 0 ? cli_fail(c, lrc) : CLI_OK;
}

int cli_close(struct cli *c, cirrus_db *db, int rc)
{
    int crc = cirrus_close(db);
    if (crc < 0 && rc == CLI_OK)
        rc = cli_fail(c, crc);
    return rc;
}

int cli_out_bytes(const void *p, size_t len)
{
    return escape_fwrite(stdout, p, len);
}

int cli_out_kv(const void *k, size_t k_len, const void *v, size_t v_len)
{
    if (escape_fwrite(stdout, k, k_len) < 0 || putchar('\t') == EOF ||
        escape_fwrite(stdout, v, v_len) < 0 || putchar('\n') == EOF)
        return -1;
    return 0;
}

int cli_out_u64(uint64_t v)
{
    return printf("%llu\n", (unsigned long long)v) < 0 ? -1 : 0;
}

int cli_read_all(struct cli *c, const char *name, FILE *f, char **out, size_t *len_out)
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

/* Parses one KEY<TAB>VALUE line (decoded in place) and hands it to fn. */
static int load_line(struct cli *c, char *line, size_t len, size_t line_no, cli_kv_fn fn, void *arg)
{
    char *tab = memchr(line, '\t', len), *val, bad[ESCAPE_BAD_MAX];
    size_t k_src_len, v_src_len, k_len, v_len, bad_at;
    int rc = CLI_OK;
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
    rc = fn(c, line, k_len, val, v_len, line_no, arg);
done:
    return rc;
}

int cli_kv_lines(struct cli *c, char *data, size_t len, int at_eof, size_t *used_out,
                 size_t *line_no, cli_kv_fn fn, void *arg)
{
    size_t used = 0;
    int rc = CLI_OK;
    while (used < len && rc == CLI_OK) {
        char *nl = memchr(data + used, '\n', len - used);
        if (!nl && !at_eof)
            break;
        size_t line_len = nl ? (size_t)(nl - (data + used)) : len - used;
        rc = load_line(c, data + used, line_len, ++*line_no, fn, arg);
        used += line_len + (nl != NULL);
    }
    *used_out = used;
    return rc;
}

static volatile sig_atomic_t stop_signal;

static void on_stop(int sig)
{
    stop_signal = sig;
}

void cli_catch_stop_signals(int once)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESTART | (once ? SA_RESETHAND : 0);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

int cli_stop_signal(void)
{
    return stop_signal;
}
