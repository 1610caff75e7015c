/*
 * cli.c - argument parsing, messages, output and opening the db, shared by
 * every command; see cli.h.
 */
#include "cli.h"

#include <stdarg.h>
#include <stdio.h>
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
    int rc = CLI_OK, lrc;
    o.meta_url = c->meta_url;
    /* A CLI process lives for one command: no group-commit or refresh
     * threads. Writes commit with CIRRUS_WRITE_NOW; open reads the head. */
    o.flush_interval_ms = 0;
    o.refresh_interval_ms = 0;
    /* Processes that commit keep L0 in check (compaction runs while they
     * hold the compactor lease, and their close waits for it); a read never
     * commits anything, so `get` and friends leave the head alone. */
    o.background_compaction = mode == CLI_OPEN_WRITE;
    if ((lrc = cirrus_open(out, c->db_url, &o)) < 0)
        rc = cli_fail(c, lrc);
    return rc;
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
