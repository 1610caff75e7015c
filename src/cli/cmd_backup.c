/*
 * cmd_backup.c - keeping data safe: checkpoints, clones, backups, restore
 * and verify.
 *
 *   cirrus checkpoint create NAME [--at SEQ | --at-time TIME] [--expire DURATION]
 *   cirrus checkpoint list [--json]
 *   cirrus checkpoint delete NAME
 *   cirrus --db DST clone SRC [--src-meta URL] [--checkpoint NAME | --at SEQ | --at-time TIME]
 *   cirrus detach
 *   cirrus drop [--force]
 *   cirrus backup create --to URL [--checkpoint NAME | --at SEQ] [--json]
 *   cirrus backup list --from URL [--json]
 *   cirrus backup delete --from URL ID
 *   cirrus restore --from URL [--backup ID] [--json]
 *   cirrus verify [--deep] [--checkpoint NAME] [--backup URL [--id ID]] [--json]
 *
 * Long commands show progress on stderr when it is a terminal (progress.h)
 * and end with one summary line: on stderr, or with --json as a JSON
 * object on stdout.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "progress.h"
#include "timeparse.h"

static int64_t wall_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static int checkpoint_create(struct cli *c, int argc, char **argv)
{
    const char *at = NULL, *at_time = NULL, *expire = NULL;
    struct cli_opt opts[] = {
        {"--at", &at, NULL, 0}, {"--at-time", &at_time, NULL, 0}, {"--expire", &expire, NULL, 0}};
    uint64_t seq = CIRRUS_SEQ_LATEST, got = 0;
    int64_t expire_ms = 0, t_ms = 0;
    cirrus_db *db = NULL;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 3, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1, 1, "NAME")) != CLI_OK)
        return rc;
    if (at && at_time)
        return cli_usage(c, "--at and --at-time cannot be used together");
    if ((at && (rc = cli_parse_u64(c, "--at", at, &seq)) != CLI_OK) ||
        (expire && (rc = cli_parse_duration(c, "--expire", expire, &expire_ms)) != CLI_OK))
        return rc;
    if (expire && expire_ms == 0)
        return cli_usage(c, "--expire needs a duration above zero");
    if (at_time && timeparse_parse(&t_ms, at_time) < 0)
        return cli_usage(c, "--at-time needs RFC 3339 or Unix milliseconds, got '%s'", at_time);
    if ((rc = cli_open(c, &db, CLI_OPEN_CREATE)) != CLI_OK)
        return rc;
    if (at_time && t_ms > wall_ms()) {
        rc = cli_failf(c, CLI_ERROR, "--at-time %s is in the future", at_time);
        goto done;
    }
    if (at_time && (lrc = cirrus_seq_at_time(db, t_ms, &seq)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    if ((lrc = cirrus_checkpoint_create(db, argv[0], seq, expire_ms, &got)) < 0)
        rc = cli_fail(c, lrc);
    else
        cli_out_u64(got);
done:
    return cli_close(c, db, rc);
}

struct list_ctx {
    int json;
    json_t *array;
};

static int list_one(const cirrus_checkpoint_info *cp, void *arg)
{
    struct list_ctx *l = arg;
    char t[TIMEPARSE_FORMAT_MAX], x[TIMEPARSE_FORMAT_MAX] = "-";
    timeparse_format(t, cp->time_ms);
    if (cp->expires_ms)
        timeparse_format(x, cp->expires_ms);
    if (!l->json) {
        printf("%s\t%" PRIu64 "\t%s\t%s\n", cp->name, cp->seq, t, x);
        return ferror(stdout) ? -1 : 0;
    }
    json_t *o = json_pack("{s:s, s:I, s:s, s:I, s:I, s:b}", "name", cp->name, "seq",
                          (json_int_t)cp->seq, "time", t, "created_ms", (json_int_t)cp->created_ms,
                          "expires_ms", (json_int_t)cp->expires_ms, "expired",
                          cp->expires_ms && cp->expires_ms <= wall_ms());
    return o && json_array_append_new(l->array, o) == 0 ? 0 : -1;
}

static int checkpoint_list(struct cli *c, int argc, char **argv)
{
    struct list_ctx l = {0, NULL};
    struct cli_opt opts[] = {{"--json", NULL, &l.json, 0}};
    cirrus_db *db = NULL;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 1, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK ||
        (rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        return rc;
    if (l.json && !(l.array = json_array())) {
        rc = cli_failf(c, CLI_ERROR, "out of memory");
        goto done;
    }
    if ((lrc = cirrus_checkpoint_list(db, list_one, &l)) < 0)
        rc = cli_fail(c, lrc);
    else if (lrc > 0)
        rc = cli_failf(c, CLI_ERROR, "writing the list failed");
    else if (l.json && (json_dumpf(l.array, stdout, JSON_INDENT(2)) < 0 || putchar('\n') == EOF))
        rc = cli_failf(c, CLI_ERROR, "writing the list failed");
done:
    json_decref(l.array);
    return cli_close(c, db, rc);
}

static int checkpoint_delete(struct cli *c, int argc, char **argv)
{
    cirrus_db *db = NULL;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, NULL, 0, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1, 1, "NAME")) != CLI_OK ||
        (rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        return rc;
    if ((lrc = cirrus_checkpoint_delete(db, argv[0])) == CIRRUS_ENOTFOUND)
        rc = cli_failf(c, CLI_NOTFOUND, "%s", cirrus_errmsg());
    else if (lrc < 0)
        rc = cli_fail(c, lrc);
    return cli_close(c, db, rc);
}

int cmd_checkpoint(struct cli *c, int argc, char **argv)
{
    if (argc < 1)
        return cli_usage(c, "missing create, list or delete");
    if (strcmp(argv[0], "create") == 0)
        return checkpoint_create(c, argc - 1, argv + 1);
    if (strcmp(argv[0], "list") == 0)
        return checkpoint_list(c, argc - 1, argv + 1);
    if (strcmp(argv[0], "delete") == 0)
        return checkpoint_delete(c, argc - 1, argv + 1);
    return cli_usage(c, "unknown subcommand '%s' (create, list or delete)", argv[0]);
}

/* ---- progress and summaries ---------------------------------------------- */

/* The library's cumulative progress, turned into progress.h's increments. */
struct watch {
    struct progress p;
    uint64_t objects, bytes;     /* done, reported so far */
    uint64_t n_objects, n_bytes; /* totals, reported so far */
    int64_t t0;
};

static int64_t mono_ms(void)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (int64_t)now.tv_sec * 1000 + now.tv_nsec / 1000000;
}

static void on_progress(const cirrus_progress *cp, void *arg)
{
    struct watch *w = arg;
    if (cp->objects_total > w->n_objects || cp->bytes_total > w->n_bytes) {
        progress_grow(&w->p, cp->objects_total - w->n_objects, cp->bytes_total - w->n_bytes);
        w->n_objects = cp->objects_total;
        w->n_bytes = cp->bytes_total;
    }
    if (cp->objects_done < w->objects || cp->bytes_done < w->bytes) {
        w->objects = w->bytes = 0; /* a new copy began (detach copies in rounds) */
        w->n_objects = w->n_bytes = 0;
        return;
    }
    progress_add(&w->p, cp->objects_done - w->objects, cp->bytes_done - w->bytes);
    w->objects = cp->objects_done;
    w->bytes = cp->bytes_done;
}

static void watch_start(struct watch *w, const char *what)
{
    memset(w, 0, sizeof(*w));
    w->t0 = mono_ms();
    progress_start(&w->p, what, 0, 0);
}

static void watch_end(struct watch *w)
{
    progress_finish(&w->p);
}

static double seconds_since(const struct watch *w)
{
    return (double)(mono_ms() - w->t0) / 1000.0;
}

static double mib_per_s(uint64_t bytes, double s)
{
    return s > 0 ? (double)bytes / (1024.0 * 1024.0) / s : 0.0;
}

/* The one summary line of a copy: "WHAT ID: N of M objects copied (B of T
 * bytes) in S s, R MiB/s", or a JSON object on stdout. */
static int copy_summary(struct cli *c, int json, const char *what, const char *id,
                        const cirrus_progress *p, double secs)
{
    if (!json) {
        fprintf(stderr,
                "%s%s%s: %" PRIu64 " of %" PRIu64 " objects copied (%" PRIu64 " of %" PRIu64
                " bytes; %" PRIu64 " server-side) in %.1f s, %.1f MiB/s\n",
                what, id ? " " : "", id ? id : "", p->objects_copied, p->objects_total,
                p->bytes_copied, p->bytes_total, p->server_side_copies, secs,
                mib_per_s(p->bytes_copied, secs));
        return CLI_OK;
    }
    json_t *o = json_pack("{s:s, s:s?, s:I, s:I, s:I, s:I, s:I, s:f, s:f}", "command", what, "id",
                          id, "objects", (json_int_t)p->objects_total, "objects_copied",
                          (json_int_t)p->objects_copied, "server_side_copies",
                          (json_int_t)p->server_side_copies, "bytes", (json_int_t)p->bytes_total,
                          "bytes_copied", (json_int_t)p->bytes_copied, "seconds", secs, "mib_per_s",
                          mib_per_s(p->bytes_copied, secs));
    int rc = o && json_dumpf(o, stdout, 0) == 0 && putchar('\n') != EOF
                 ? CLI_OK
                 : cli_failf(c, CLI_ERROR, "writing the summary failed");
    json_decref(o);
    return rc;
}

/* Options for a handle the library opens itself (clone, restore, drop),
 * as cli_open would set them. */
static cirrus_options own_options(struct cli *c)
{
    cirrus_options o = CIRRUS_OPTIONS_INIT;
    o.meta_url = c->meta_url;
    if (c->log_level >= 0)
        o.log_level = c->log_level;
    o.flush_interval_ms = 0;
    o.refresh_interval_ms = 0;
    o.background_compaction = 0;
    return o;
}

/* --threads N: parallel copies, 1..64 (default 8). */
static int parse_threads(struct cli *c, const char *s, cirrus_copy_options *co)
{
    uint64_t n;
    int rc;
    if (!s)
        return CLI_OK;
    if ((rc = cli_parse_u64(c, "--threads", s, &n)) != CLI_OK)
        return rc;
    if (n < 1 || n > 64)
        return cli_usage(c, "--threads needs 1 to 64, got %s", s);
    co->threads = (int)n;
    return CLI_OK;
}

/* ---- clone, detach, drop -------------------------------------------------- */

int cmd_clone(struct cli *c, int argc, char **argv)
{
    const char *src_meta = NULL, *checkpoint = NULL, *at = NULL, *at_time = NULL;
    struct cli_opt opts[] = {{"--src-meta", &src_meta, NULL, 0},
                             {"--checkpoint", &checkpoint, NULL, 0},
                             {"--at", &at, NULL, 0},
                             {"--at-time", &at_time, NULL, 0}};
    cirrus_clone_point point = {NULL, CIRRUS_SEQ_LATEST, 0};
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 4, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1, 1, "SRC")) != CLI_OK)
        return rc;
    if (!!checkpoint + !!at + !!at_time > 1)
        return cli_usage(c, "--checkpoint, --at and --at-time cannot be used together");
    if (at && (rc = cli_parse_u64(c, "--at", at, &point.seq)) != CLI_OK)
        return rc;
    if (at_time && timeparse_parse(&point.time_ms, at_time) < 0)
        return cli_usage(c, "--at-time needs RFC 3339 or Unix milliseconds, got '%s'", at_time);
    if (at_time && point.time_ms > wall_ms())
        return cli_failf(c, CLI_ERROR, "--at-time %s is in the future", at_time);
    if (at_time && point.time_ms == 0)
        point.time_ms = 1; /* 0 means "no time" to the library */
    point.checkpoint = checkpoint;
    cirrus_options o = own_options(c);
    cirrus_db *db = NULL;
    int64_t t0 = mono_ms();
    if ((lrc = cirrus_clone(c->db_url, &o, argv[0], src_meta, &point, &db)) < 0)
        return cli_fail(c, lrc);
    cirrus_stats st;
    cirrus_stats_get(db, &st);
    fprintf(stderr, "clone: %s of %s at seq %" PRIu64 " in %.3f s\n", c->db_url, argv[0],
            st.head_seq, (double)(mono_ms() - t0) / 1000.0);
    cli_out_u64(st.head_seq);
    return cli_close(c, db, CLI_OK);
}

int cmd_detach(struct cli *c, int argc, char **argv)
{
    cirrus_copy_options co = CIRRUS_COPY_OPTIONS_INIT;
    cirrus_progress sum = {0};
    struct watch w;
    cirrus_db *db = NULL;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, NULL, 0, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK ||
        (rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        return rc;
    watch_start(&w, "detach");
    co.progress = on_progress;
    co.progress_arg = &w;
    lrc = cirrus_detach(db, &co, &sum);
    watch_end(&w);
    if (lrc < 0)
        rc = cli_fail(c, lrc);
    else
        rc = copy_summary(c, 0, "detach", NULL, &sum, seconds_since(&w));
    return cli_close(c, db, rc);
}

int cmd_drop(struct cli *c, int argc, char **argv)
{
    int force = 0, n_pos, rc, lrc;
    struct cli_opt opts[] = {{"--force", NULL, &force, 0}};
    if ((rc = cli_parse_args(c, argc, argv, opts, 1, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK)
        return rc;
    cirrus_options o = own_options(c);
    if ((lrc = cirrus_drop(c->db_url, &o, force)) < 0)
        return cli_fail(c, lrc);
    return CLI_OK;
}

/* ---- backup, restore ------------------------------------------------------ */

static int backup_create(struct cli *c, int argc, char **argv)
{
    const char *to = NULL, *checkpoint = NULL, *at = NULL, *threads = NULL;
    int json = 0;
    struct cli_opt opts[] = {{"--to", &to, NULL, 0},
                             {"--checkpoint", &checkpoint, NULL, 0},
                             {"--at", &at, NULL, 0},
                             {"--threads", &threads, NULL, 0},
                             {"--json", NULL, &json, 0}};
    cirrus_copy_options co = CIRRUS_COPY_OPTIONS_INIT;
    cirrus_progress sum = {0};
    struct watch w;
    cirrus_db *db = NULL;
    char *id = NULL;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 5, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK ||
        (rc = parse_threads(c, threads, &co)) != CLI_OK)
        return rc;
    if (!to)
        return cli_usage(c, "backup create needs --to URL");
    if (checkpoint && at)
        return cli_usage(c, "--checkpoint and --at cannot be used together");
    if (at && (rc = cli_parse_u64(c, "--at", at, &co.seq)) != CLI_OK)
        return rc;
    co.checkpoint = checkpoint;
    if ((rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        return rc;
    watch_start(&w, "backup");
    co.progress = on_progress;
    co.progress_arg = &w;
    lrc = cirrus_backup_create(db, to, &co, &id, &sum);
    watch_end(&w);
    if (lrc < 0) {
        rc = cli_fail(c, lrc);
    } else {
        if (!json)
            printf("%s\n", id);
        rc = copy_summary(c, json, "backup", id, &sum, seconds_since(&w));
    }
    cirrus_free(id);
    return cli_close(c, db, rc);
}

struct blist {
    int json;
    json_t *array;
};

static int backup_line(const cirrus_backup_info *b, void *arg)
{
    struct blist *l = arg;
    char t[TIMEPARSE_FORMAT_MAX];
    timeparse_format(t, b->time_ms);
    if (!l->json) {
        printf("%s\t%" PRIu64 "\t%s\t%" PRIu64 "\t%" PRIu64 "\n", b->id, b->seq, t, b->bytes,
               b->objects);
        return ferror(stdout) ? -1 : 0;
    }
    json_t *o =
        json_pack("{s:s, s:I, s:s, s:I, s:I, s:I, s:s}", "id", b->id, "seq", (json_int_t)b->seq,
                  "time", t, "created_ms", (json_int_t)b->created_ms, "bytes", (json_int_t)b->bytes,
                  "objects", (json_int_t)b->objects, "source", b->source);
    return o && json_array_append_new(l->array, o) == 0 ? 0 : -1;
}

static int backup_list(struct cli *c, int argc, char **argv)
{
    const char *from = NULL;
    struct blist l = {0, NULL};
    struct cli_opt opts[] = {{"--from", &from, NULL, 0}, {"--json", NULL, &l.json, 0}};
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 2, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK)
        return rc;
    if (!from)
        return cli_usage(c, "backup list needs --from URL");
    if (l.json && !(l.array = json_array()))
        return cli_failf(c, CLI_ERROR, "out of memory");
    if ((lrc = cirrus_backup_list(from, backup_line, &l)) < 0)
        rc = cli_fail(c, lrc);
    else if (lrc > 0)
        rc = cli_failf(c, CLI_ERROR, "writing the list failed");
    else if (l.json && (json_dumpf(l.array, stdout, JSON_INDENT(2)) < 0 || putchar('\n') == EOF))
        rc = cli_failf(c, CLI_ERROR, "writing the list failed");
    json_decref(l.array);
    return rc;
}

static int backup_delete(struct cli *c, int argc, char **argv)
{
    const char *from = NULL;
    struct cli_opt opts[] = {{"--from", &from, NULL, 0}};
    cirrus_progress sum = {0};
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 1, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 1, 1, "ID")) != CLI_OK)
        return rc;
    if (!from)
        return cli_usage(c, "backup delete needs --from URL");
    if ((lrc = cirrus_backup_delete(from, argv[0], &sum)) == CIRRUS_ENOTFOUND)
        return cli_failf(c, CLI_NOTFOUND, "%s", cirrus_errmsg());
    if (lrc < 0)
        return cli_fail(c, lrc);
    fprintf(stderr, "backup delete %s: %" PRIu64 " objects (%" PRIu64 " bytes) deleted\n", argv[0],
            sum.objects_done, sum.bytes_done);
    return CLI_OK;
}

int cmd_backup(struct cli *c, int argc, char **argv)
{
    if (argc < 1)
        return cli_usage(c, "missing create, list or delete");
    if (strcmp(argv[0], "create") == 0)
        return backup_create(c, argc - 1, argv + 1);
    if (strcmp(argv[0], "list") == 0)
        return backup_list(c, argc - 1, argv + 1);
    if (strcmp(argv[0], "delete") == 0)
        return backup_delete(c, argc - 1, argv + 1);
    return cli_usage(c, "unknown subcommand '%s' (create, list or delete)", argv[0]);
}

int cmd_restore(struct cli *c, int argc, char **argv)
{
    const char *from = NULL, *id = NULL, *threads = NULL;
    int json = 0;
    struct cli_opt opts[] = {{"--from", &from, NULL, 0},
                             {"--backup", &id, NULL, 0},
                             {"--threads", &threads, NULL, 0},
                             {"--json", NULL, &json, 0}};
    cirrus_copy_options co = CIRRUS_COPY_OPTIONS_INIT;
    cirrus_progress sum = {0};
    struct watch w;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 4, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK ||
        (rc = parse_threads(c, threads, &co)) != CLI_OK)
        return rc;
    if (!from)
        return cli_usage(c, "restore needs --from URL");
    cirrus_options o = own_options(c);
    watch_start(&w, "restore");
    co.progress = on_progress;
    co.progress_arg = &w;
    lrc = cirrus_restore(c->db_url, &o, from, id, &co, NULL, &sum);
    watch_end(&w);
    if (lrc < 0)
        return cli_fail(c, lrc);
    return copy_summary(c, json, "restore", id, &sum, seconds_since(&w));
}

/* ---- verify --------------------------------------------------------------- */

struct vout {
    int json;
    json_t *problems;
};

static void verify_problem(const cirrus_verify_problem *p, void *arg)
{
    struct vout *v = arg;
    if (!v->json) {
        printf("%s\t%s\n", p->object, p->what);
        return;
    }
    json_t *o = json_pack("{s:s, s:s}", "object", p->object, "problem", p->what);
    if (o)
        json_array_append_new(v->problems, o);
}

int cmd_verify(struct cli *c, int argc, char **argv)
{
    const char *checkpoint = NULL, *backup = NULL, *id = NULL;
    int deep = 0;
    struct vout v = {0, NULL};
    struct cli_opt opts[] = {{"--deep", NULL, &deep, 0},
                             {"--checkpoint", &checkpoint, NULL, 0},
                             {"--backup", &backup, NULL, 0},
                             {"--id", &id, NULL, 0},
                             {"--json", NULL, &v.json, 0}};
    cirrus_verify_options vo = CIRRUS_VERIFY_OPTIONS_INIT;
    cirrus_verify_summary sum = {0};
    struct watch w;
    cirrus_db *db = NULL;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 5, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK)
        return rc;
    if (id && !backup)
        return cli_usage(c, "--id needs --backup URL");
    if (checkpoint && backup)
        return cli_usage(c, "--checkpoint and --backup cannot be used together");
    if (v.json && !(v.problems = json_array()))
        return cli_failf(c, CLI_ERROR, "out of memory");
    vo.deep = deep;
    vo.checkpoint = checkpoint;
    watch_start(&w, "verify");
    vo.progress = on_progress;
    vo.progress_arg = &w;
    if (backup) {
        lrc = cirrus_verify_backup(backup, id, &vo, verify_problem, &v, &sum);
    } else if ((rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK) {
        watch_end(&w);
        json_decref(v.problems);
        return rc;
    } else {
        lrc = cirrus_verify(db, &vo, verify_problem, &v, &sum);
    }
    watch_end(&w);
    if (lrc < 0 && lrc != CIRRUS_ECORRUPT) {
        rc = cli_fail(c, lrc);
    } else if (v.json) {
        json_t *o = json_pack("{s:b, s:I, s:I, s:I, s:O}", "ok", sum.problems == 0, "objects",
                              (json_int_t)sum.objects, "bytes", (json_int_t)sum.bytes, "problems",
                              (json_int_t)sum.problems, "details", v.problems);
        if (!o || json_dumpf(o, stdout, JSON_INDENT(2)) < 0 || putchar('\n') == EOF)
            rc = cli_failf(c, CLI_ERROR, "writing the result failed");
        json_decref(o);
    } else {
        printf("verify: %" PRIu64 " objects (%" PRIu64 " bytes) checked, %" PRIu64
               " problem(s)%s\n",
               sum.objects, sum.bytes, sum.problems, deep ? ", every block read" : "");
    }
    if (rc == CLI_OK && sum.problems)
        rc = cli_failf(c, CLI_ERROR, "%" PRIu64 " problem(s) found", sum.problems);
    json_decref(v.problems);
    return cli_close(c, db, rc);
}
