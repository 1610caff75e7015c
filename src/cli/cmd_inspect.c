/*
 * cmd_inspect.c - the commands that show what the db is made of: files and
 * inspect (sst, entry, manifest, meta), on cirrus_inspect; and the JSON
 * output the other describing commands share (cli_out_json).
 *
 * Output formats (stable; docs/JSON.md lists every field):
 *   --json    the library's objects as they come, one per line (JSON Lines):
 *             files prints one per file, inspect sst a header object then
 *             one per block (--blocks) and per entry (--entries), the others
 *             one object
 *   text      listings (files, blocks, entries) as tab-separated columns,
 *             everything else as `name: value` lines with nested fields
 *             joined by dots (footer.index.offset, added.0.name)
 *             files:   level name size smallest largest min_seq max_seq
 *                      entries deletes global_seq
 *             blocks:  block index offset size uncompressed_size compressed
 *                      entries
 *             entries: key seq kind value (value empty for a delete)
 *   Keys and values in text are escaped as everywhere in the CLI
 *   (escape.h); a JSON field F_b64 (bytes that are not plain UTF-8 text)
 *   is shown as field F.
 *
 * Exit codes: a missing or damaged object exits 3 with one line naming the
 * object and the damage; objects printed before the damage stand.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "escape.h"

int cli_out_json(struct json_t *o)
{
    int rc =
        o && json_dumpf(o, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER) == 0 && putchar('\n') != EOF
            ? 0
            : -1;
    json_decref(o);
    return rc;
}

/* The bytes of base64 text s (RFC 4648, padded) in *out (malloc'd).
 * Returns 0, or -1 for text that is not base64 or out of memory. */
static int unbase64(const char *s, uint8_t **out, size_t *len_out)
{
    size_t n = strlen(s), len = 0;
    uint8_t *p = malloc(n / 4 * 3 + 1);
    uint32_t acc = 0;
    int bits = 0;
    if (!p || n % 4)
        goto bad;
    for (size_t i = 0; i < n && s[i] != '='; i++) {
        const char *d =
            strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", s[i]);
        if (!d || !*d)
            goto bad;
        acc = acc << 6 | (uint32_t)(d - "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789+/");
        if ((bits += 6) >= 8) {
            bits -= 8;
            p[len++] = (uint8_t)(acc >> bits);
        }
    }
    *out = p;
    *len_out = len;
    return 0;
bad:
    free(p);
    return -1;
}

/* Writes one JSON value as text: strings escaped (F_b64 ones decoded
 * first), numbers in decimal, true/false, "-" for null. */
static void out_value(const char *name, json_t *v)
{
    size_t nlen = strlen(name);
    if (json_is_string(v) && nlen > 4 && strcmp(name + nlen - 4, "_b64") == 0) {
        uint8_t *bytes = NULL;
        size_t len = 0;
        if (unbase64(json_string_value(v), &bytes, &len) == 0)
            cli_out_bytes(bytes, len);
        free(bytes);
    } else if (json_is_string(v)) {
        cli_out_bytes(json_string_value(v), json_string_length(v));
    } else if (json_is_integer(v)) {
        printf("%lld", (long long)json_integer_value(v));
    } else if (json_is_true(v) || json_is_false(v)) {
        fputs(json_is_true(v) ? "true" : "false", stdout);
    } else {
        fputs("-", stdout);
    }
}

/* The name a field is shown under: F_b64 is F. */
static void out_name(const char *prefix, const char *name)
{
    size_t nlen = strlen(name);
    if (nlen > 4 && strcmp(name + nlen - 4, "_b64") == 0)
        nlen -= 4;
    printf("%s%.*s", prefix, (int)nlen, name);
}

/* `name: value` lines for object or array v, nested names joined by dots. */
static void out_lines(const char *prefix, json_t *v)
{
    char sub[256];
    if (json_is_object(v)) {
        const char *k;
        json_t *x;
        json_object_foreach(v, k, x)
        {
            if (json_is_object(x) || json_is_array(x)) {
                snprintf(sub, sizeof(sub), "%s%s.", prefix, k);
                out_lines(sub, x);
                continue;
            }
            out_name(prefix, k);
            fputs(": ", stdout);
            out_value(k, x);
            putchar('\n');
        }
    } else if (json_is_array(v)) {
        size_t i;
        json_t *x;
        json_array_foreach(v, i, x)
        {
            if (json_is_object(x) || json_is_array(x)) {
                snprintf(sub, sizeof(sub), "%s%zu.", prefix, i);
                out_lines(sub, x);
            } else {
                printf("%s%zu: ", prefix, i);
                out_value("", x);
                putchar('\n');
            }
        }
        if (json_array_size(v) == 0 && prefix[0])
            printf("%.*s: -\n", (int)strlen(prefix) - 1, prefix);
    }
}

/* A row: every field's value, tab-separated, in the object's order. */
static void out_row(json_t *o, const char *first)
{
    const char *k;
    json_t *x;
    int n = 0;
    if (first) {
        fputs(first, stdout);
        n++;
    }
    json_object_foreach(o, k, x)
    {
        if (strcmp(k, "type") == 0)
            continue;
        if (n++)
            putchar('\t');
        out_value(k, x);
    }
    putchar('\n');
}

/* An SST entry row: key seq kind value, whatever fields are absent. */
static void out_entry_row(json_t *o)
{
    static const char *const cols[] = {"key", "seq", "kind", "value"};
    char b64[16];
    for (size_t i = 0; i < sizeof(cols) / sizeof(cols[0]); i++) {
        json_t *x = json_object_get(o, cols[i]);
        snprintf(b64, sizeof(b64), "%s_b64", cols[i]);
        if (i)
            putchar('\t');
        if (x)
            out_value(cols[i], x);
        else if ((x = json_object_get(o, b64)))
            out_value(b64, x);
    }
    putchar('\n');
}

struct show {
    int json;
    int rows; /* text: objects without a type are rows (files) */
};

/* cirrus_inspect's emit: prints one object. Nonzero stops on a write error. */
static int show_object(const char *text, void *arg)
{
    const struct show *s = arg;
    json_t *o;
    if (s->json) {
        puts(text);
        return ferror(stdout) ? 1 : 0;
    }
    if (!(o = json_loads(text, 0, NULL)))
        return 1;
    const char *type = json_string_value(json_object_get(o, "type"));
    if (type && strcmp(type, "entry") == 0)
        out_entry_row(o);
    else if (type && strcmp(type, "block") == 0)
        out_row(o, "block");
    else if (s->rows)
        out_row(o, NULL);
    else
        out_lines("", o);
    json_decref(o);
    return ferror(stdout) ? 1 : 0;
}

/* Runs cirrus_inspect on a db opened for reading. */
static int run_inspect(struct cli *c, int what, const char *arg, unsigned flags, struct show *s)
{
    cirrus_db *db = NULL;
    int rc = cli_open(c, &db, CLI_OPEN_READ), lrc;
    if (rc == CLI_OK && (lrc = cirrus_inspect(db, what, arg, flags, show_object, s)) < 0)
        rc = cli_fail(c, lrc); /* lrc > 0: a write error, reported by main */
    return cli_close(c, db, rc);
}

int cmd_files(struct cli *c, int argc, char **argv)
{
    const char *at = NULL, *checkpoint = NULL;
    struct show s = {0, 1};
    struct cli_opt opts[] = {{"--at", &at, NULL, 0},
                             {"--checkpoint", &checkpoint, NULL, 0},
                             {"--json", NULL, &s.json, 0}};
    uint64_t seq;
    int n_pos, rc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 3, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK ||
        (at && (rc = cli_parse_u64(c, "--at", at, &seq)) != CLI_OK))
        return rc;
    if (at && checkpoint)
        return cli_usage(c, "--at and --checkpoint exclude each other");
    return run_inspect(c, CIRRUS_INSPECT_FILES, checkpoint ? checkpoint : at,
                       checkpoint ? CIRRUS_INSPECT_CHECKPOINT : 0, &s);
}

int cmd_inspect(struct cli *c, int argc, char **argv)
{
    int entries = 0, blocks = 0;
    struct show s = {0, 0};
    struct cli_opt opts[] = {{"--entries", NULL, &entries, 0},
                             {"--blocks", NULL, &blocks, 0},
                             {"--json", NULL, &s.json, 0}};
    uint64_t seq;
    int n_pos, rc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 3, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1, 2, "WHAT ARG")) != CLI_OK)
        return rc;
    const char *what = argv[0], *arg = n_pos > 1 ? argv[1] : NULL;
    int is_sst = strcmp(what, "sst") == 0;
    if ((entries || blocks) && !is_sst)
        return cli_usage(c, "--entries and --blocks are for inspect sst");
    if (is_sst) {
        if (!arg)
            return cli_usage(c, "inspect sst needs NAME (as `files` prints it)");
        return run_inspect(
            c, CIRRUS_INSPECT_SST, arg,
            (entries ? CIRRUS_INSPECT_ENTRIES : 0u) | (blocks ? CIRRUS_INSPECT_BLOCKS : 0u), &s);
    }
    if (strcmp(what, "entry") == 0) {
        if (!arg)
            return cli_usage(c, "inspect entry needs SEQ");
        if ((rc = cli_parse_u64(c, "SEQ", arg, &seq)) != CLI_OK)
            return rc;
        return run_inspect(c, CIRRUS_INSPECT_ENTRY, arg, 0, &s);
    }
    if (strcmp(what, "manifest") == 0) {
        if (arg && (rc = cli_parse_u64(c, "SEQ", arg, &seq)) != CLI_OK)
            return rc;
        return run_inspect(c, CIRRUS_INSPECT_MANIFEST, arg, 0, &s);
    }
    if (strcmp(what, "meta") == 0) {
        if (arg)
            return cli_usage(c, "inspect meta takes no argument");
        return run_inspect(c, CIRRUS_INSPECT_META, NULL, 0, &s);
    }
    return cli_usage(c, "unknown object '%s' (sst, entry, manifest or meta)", what);
}
