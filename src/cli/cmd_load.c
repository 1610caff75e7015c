/*
 * cmd_load.c - the bulk commands: load and stage (KEY<TAB>VALUE lines fed,
 * as they are read, to a cirrus_loader, so memory stays within --memory
 * whatever the input's size) and ingest (SST files written elsewhere).
 *
 * Output formats (stable; scripts parse them):
 *   load           one line: the seq of the commit; for an empty input,
 *                  the head seq (nothing is committed)
 *   load --app     one line: SEQ, or "SEQ already-applied" when an epoch >=
 *                  this one was applied before (SEQ is the commit that did)
 *   stage          one line: the stage descriptor (printable, no spaces)
 *   ingest         one line: the seq of the commit
 *
 * The db is opened before the input is read (the loader writes files as it
 * goes); a malformed line ends the read, commits nothing and the loader
 * deletes what it wrote (exit 2).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "progress.h"

/* Bytes read from a load input at a time. */
#define READ_CHUNK ((size_t)1 << 20)

/* The bytes in file f when it is a regular file; 0: unknown. */
static uint64_t input_size(FILE *f)
{
    struct stat st;
    return fstat(fileno(f), &st) == 0 && S_ISREG(st.st_mode) ? (uint64_t)st.st_size : 0;
}

/* Reads f in chunks, handing each line to fn; progress on a terminal. */
static int read_kv_from(struct cli *c, const char *name, FILE *f, cli_kv_fn fn, void *arg)
{
    size_t cap = READ_CHUNK, len = 0, line_no = 0, used;
    char *data = malloc(cap), *grown;
    struct progress p;
    int rc = CLI_OK, eof = 0;
    if (!data)
        return cli_failf(c, CLI_ERROR, "%s: out of memory", name);
    progress_start(&p, c->cmd, 0, input_size(f));
    p.noun = "lines";
    while (rc == CLI_OK && !eof) {
        if (len == cap) { /* a line longer than the buffer */
            if (!(grown = realloc(data, cap * 2))) {
                rc = cli_failf(c, CLI_ERROR, "%s: out of memory", name);
                break;
            }
            data = grown;
            cap *= 2;
        }
        /* read(2), not fread: a slow pipe's lines are loaded as they come */
        ssize_t got = read(fileno(f), data + len, cap - len);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = cli_failf(c, CLI_ERROR, "%s: %s", name, strerror(errno));
            break;
        }
        len += (size_t)got;
        eof = got == 0;
        size_t before = line_no;
        rc = cli_kv_lines(c, data, len, eof, &used, &line_no, fn, arg);
        memmove(data, data + used, len - used);
        len -= used;
        progress_add(&p, line_no - before, used);
    }
    progress_finish(&p);
    free(data);
    return rc;
}

/* Reads KEY<TAB>VALUE lines from `file`, or stdin for NULL or "-", in
 * chunks (memory: the longest line, and READ_CHUNK), calling fn for each;
 * on a terminal, progress goes to stderr. Returns CLI_OK, CLI_USAGE (a
 * malformed line, named by number), CLI_ERROR, or what fn returned. */
static int read_kv(struct cli *c, const char *file, cli_kv_fn fn, void *arg)
{
    FILE *f = NULL;
    int rc;
    if (file && strcmp(file, "-") != 0 && !(f = fopen(file, "rb")))
        return cli_failf(c, CLI_ERROR, "%s: %s", file, strerror(errno));
    rc = read_kv_from(c, f ? file : "stdin", f ? f : stdin, fn, arg);
    if (f)
        fclose(f);
    return rc;
}

struct load_args {
    const char *app, *epoch, *memory;
    int sorted;
    cirrus_loader_options lo;
};

/* Parses the options of load (with_app) or stage into a; the FILE, if
 * any, is argv[0] after. */
static int load_parse(struct cli *c, int argc, char **argv, int with_app, struct load_args *a,
                      int *n_pos)
{
    struct cli_opt opts[] = {{"--memory", &a->memory, NULL, 0},
                             {"--sorted", NULL, &a->sorted, 0},
                             {"--app", &a->app, NULL, 0},
                             {"--epoch", &a->epoch, NULL, 0}};
    int rc;
    if ((rc = cli_parse_args(c, argc, argv, opts, with_app ? 4 : 2, n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, *n_pos, 0, 1, "FILE")) != CLI_OK)
        return rc;
    if (!a->app != !a->epoch)
        return cli_usage(c, "--app and --epoch go together");
    if ((a->epoch && (rc = cli_parse_u64(c, "--epoch", a->epoch, &a->lo.epoch)) != CLI_OK) ||
        (a->memory &&
         (rc = cli_parse_size(c, "--memory", a->memory, &a->lo.memory_bytes)) != CLI_OK))
        return rc;
    if (a->memory && a->lo.memory_bytes < ((uint64_t)64 << 10))
        return cli_usage(c, "--memory must be at least 64K");
    a->lo.app_id = a->app;
    a->lo.sorted = a->sorted;
    return CLI_OK;
}

static int put_line(struct cli *c, const void *key, size_t key_len, const void *val, size_t val_len,
                    size_t line_no, void *arg)
{
    int lrc = cirrus_loader_put(arg, key, key_len, val, val_len);
    if (lrc == CIRRUS_EINVALID) /* the line's fault: a --sorted input out of order */
        return cli_usage(c, "line %zu: %s; nothing committed", line_no, cirrus_errmsg());
    return lrc < 0 ? cli_fail(c, lrc) : CLI_OK;
}

/* Opens the db and a loader, and feeds it the input. */
static int load_input(struct cli *c, const char *file, enum cli_open_mode mode,
                      const cirrus_loader_options *lo, cirrus_db **db, cirrus_loader **l)
{
    int rc, lrc;
    if ((rc = cli_open(c, db, mode)) != CLI_OK)
        return rc;
    if ((lrc = cirrus_loader_new(l, *db, lo)) < 0)
        return cli_fail(c, lrc);
    return read_kv(c, file, put_line, *l);
}

int cmd_load(struct cli *c, int argc, char **argv)
{
    struct load_args a = {.lo = CIRRUS_LOADER_OPTIONS_INIT};
    cirrus_db *db = NULL;
    cirrus_loader *l = NULL;
    uint64_t seq = 0;
    int n_pos, rc, lrc, applied = 0;
    if ((rc = load_parse(c, argc, argv, 1, &a, &n_pos)) != CLI_OK ||
        (rc = load_input(c, n_pos ? argv[0] : NULL, CLI_OPEN_WRITE, &a.lo, &db, &l)) != CLI_OK)
        goto done;
    if ((lrc = cirrus_loader_finish(l, &seq, &applied)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    printf("%llu%s\n", (unsigned long long)seq, a.app && !applied ? " already-applied" : "");
    fflush(stdout); /* acknowledged: say so before anything else can fail */
done:
    cirrus_loader_free(l);
    return cli_close(c, db, rc);
}

int cmd_stage(struct cli *c, int argc, char **argv)
{
    struct load_args a = {.lo = CIRRUS_LOADER_OPTIONS_INIT};
    cirrus_db *db = NULL;
    cirrus_loader *l = NULL;
    char *desc = NULL;
    int n_pos, rc, lrc;
    /* stage commits nothing: no compaction in this process */
    if ((rc = load_parse(c, argc, argv, 0, &a, &n_pos)) != CLI_OK ||
        (rc = load_input(c, n_pos ? argv[0] : NULL, CLI_OPEN_CREATE, &a.lo, &db, &l)) != CLI_OK)
        goto done;
    if ((lrc = cirrus_loader_stage(l, &desc)) < 0)
        rc = cli_fail(c, lrc);
    else
        printf("%s\n", desc);
done:
    cirrus_free(desc);
    cirrus_loader_free(l);
    return cli_close(c, db, rc);
}

int cmd_ingest(struct cli *c, int argc, char **argv)
{
    cirrus_db *db = NULL;
    uint64_t seq = 0;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, NULL, 0, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1, n_pos > 0 ? n_pos : 1, "FILE.sst")) != CLI_OK ||
        (rc = cli_open(c, &db, CLI_OPEN_WRITE)) != CLI_OK)
        goto done;
    if ((lrc = cirrus_ingest(db, (size_t)n_pos, (const char *const *)argv, &seq)) < 0)
        rc = cli_fail(c, lrc);
    else
        cli_out_u64(seq);
done:
    return cli_close(c, db, rc);
}
