/*
 * cmd_log.c - the commands that describe the db rather than its keys:
 * head, log, stats.
 *
 * Output formats (stable; scripts parse them):
 *   head   one line: the head seq, decimal
 *   log    one line per commit, tab-separated:
 *            seq  time (RFC 3339 UTC, ms)  kind  files-added  files-removed  bytes
 *          kind is write, compact or checkpoint (kind-N for a kind this build
 *          does not name); with --json one object per commit (JSON Lines):
 *          seq, time, time_ms, kind, files_added, files_removed, bytes,
 *          commit_id (32 hex digits)
 *   stats  `name: value` lines: head_seq, live_files, live_bytes, l0_files,
 *          then level.N.files and level.N.bytes for each level holding files,
 *          then memtable_bytes, then the counters of the `tail` table below
 *          (cirrus_stats field names; since this process opened the db),
 *          block_cache_hit_permille and disk_cache_hit_permille (hits per
 *          1000 lookups, rounded down; 0 without lookups), then
 *          bg_failures_SUBSYSTEM (cirrus_stats_bg_name) and
 *          latency_OP_count and latency_OP_sum_us (cirrus_stats_hist_name).
 *          Every value is a decimal integer.
 *   stats --json   one object: every key above except l0_files, level.N.*,
 *          the permilles, bg_failures_* and latency_*; level_files and
 *          level_bytes as arrays by level; bg_failures as {SUBSYSTEM: n};
 *          histograms as {OP: {count, sum_us, buckets}}, buckets[i]
 *          counting the samples of at most 2^i us not in a lower bucket,
 *          the last one the rest.
 *   stats --prometheus   the text exposition format (cirrus_stats_prometheus).
 *   All of them: this process's counts only (since it opened the db).
 */
#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "timeparse.h"

/* A command without arguments that reads from an open db. */
static int no_args(struct cli *c, int argc, char **argv)
{
    int n_pos, rc;
    if ((rc = cli_parse_args(c, argc, argv, NULL, 0, &n_pos)) == CLI_OK)
        rc = cli_expect_args(c, argv, n_pos, 0, 0, "");
    return rc;
}

int cmd_head(struct cli *c, int argc, char **argv)
{
    cirrus_db *db = NULL;
    uint64_t seq = 0;
    int rc, lrc;
    if ((rc = no_args(c, argc, argv)) != CLI_OK || (rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        goto done;
    if ((lrc = cirrus_refresh(db, &seq)) < 0)
        rc = cli_fail(c, lrc);
    else
        cli_out_u64(seq);
done:
    return cli_close(c, db, rc);
}

static const char *kind_name(int kind, char *buf, size_t size)
{
    switch (kind) {
    case CIRRUS_ENTRY_WRITE:
        return "write";
    case CIRRUS_ENTRY_COMPACT:
        return "compact";
    case CIRRUS_ENTRY_CHECKPOINT:
        return "checkpoint";
    default:
        snprintf(buf, size, "kind-%d", kind);
        return buf;
    }
}

/* cirrus_log_scan callback: one line per commit; stops on a write error.
 * arg: nonzero for JSON. */
static int log_line(const cirrus_log_info *info, void *arg)
{
    char time_buf[TIMEPARSE_FORMAT_MAX], kind_buf[24], id[33];
    timeparse_format(time_buf, info->time_ms);
    if (*(const int *)arg) {
        for (size_t i = 0; i < sizeof(info->commit_id); i++)
            snprintf(id + 2 * i, 3, "%02x", info->commit_id[i]);
        cli_out_json(
            json_pack("{s:I, s:s, s:I, s:s, s:I, s:I, s:I, s:s}", "seq", (json_int_t)info->seq,
                      "time", time_buf, "time_ms", (json_int_t)info->time_ms, "kind",
                      kind_name(info->kind, kind_buf, sizeof(kind_buf)), "files_added",
                      (json_int_t)info->n_added, "files_removed", (json_int_t)info->n_removed,
                      "bytes", (json_int_t)info->bytes, "commit_id", id));
        return ferror(stdout) ? 1 : 0;
    }
    printf("%llu\t%s\t%s\t%lu\t%lu\t%llu\n", (unsigned long long)info->seq, time_buf,
           kind_name(info->kind, kind_buf, sizeof(kind_buf)), (unsigned long)info->n_added,
           (unsigned long)info->n_removed, (unsigned long long)info->bytes);
    return ferror(stdout) ? 1 : 0;
}

int cmd_log(struct cli *c, int argc, char **argv)
{
    const char *from = NULL;
    int json = 0;
    struct cli_opt opts[] = {{"--from", &from, NULL, 0}, {"--json", NULL, &json, 0}};
    cirrus_db *db = NULL;
    uint64_t from_seq = 1;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 2, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK ||
        (from && (rc = cli_parse_u64(c, "--from", from, &from_seq)) != CLI_OK) ||
        (rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        goto done;
    if (from_seq == 0)
        from_seq = 1; /* seq 0 is the empty db, not a commit */
    lrc = cirrus_log_scan(db, from_seq, log_line, &json);
    if (lrc < 0)
        rc = cli_fail(c, lrc); /* lrc > 0: a write error, reported by main */
done:
    return cli_close(c, db, rc);
}

static void stat_line(const char *name, uint64_t v)
{
    printf("%s: %llu\n", name, (unsigned long long)v);
}

/* The counters `stats` prints after memtable_bytes, in this order. */
#define STAT(field)                                                                                \
    {                                                                                              \
#field, offsetof(cirrus_stats, field)                                                      \
    }
static const struct {
    const char *name;
    size_t offset;
} tail[] = {
    STAT(compaction_backlog_bytes),
    STAT(compactions),
    STAT(compaction_bytes_written),
    STAT(block_cache_hits),
    STAT(block_cache_misses),
    STAT(block_cache_bytes),
    STAT(disk_cache_hits),
    STAT(disk_cache_misses),
    STAT(disk_cache_bytes),
    STAT(os_puts),
    STAT(os_gets),
    STAT(os_heads),
    STAT(os_deletes),
    STAT(os_lists),
    STAT(os_bytes_written),
    STAT(os_bytes_read),
    STAT(ms_gets),
    STAT(ms_writes),
    STAT(ms_deletes),
    STAT(ms_queries),
    STAT(write_slowdowns),
    STAT(write_slowdown_ms),
    STAT(write_stops),
    STAT(write_stop_ms),
    STAT(os_copies),
    STAT(ms_bytes_written),
    STAT(ms_bytes_read),
    STAT(follower_lag_seqs),
    STAT(follower_lag_ms),
    STAT(log_errors),
    STAT(log_warnings),
    STAT(log_infos),
    STAT(log_debugs),
};
#undef STAT

/* hits per 1000 lookups, rounded down; 0 without lookups */
static uint64_t permille(uint64_t hits, uint64_t misses)
{
    return hits + misses ? hits * 1000 / (hits + misses) : 0;
}

/* stats --json: one object; the keys are cirrus_stats' field names (docs
 * in the header comment above). */
static int stats_json(struct cli *c, const cirrus_stats *st)
{
    json_t *o = json_object(), *lf = json_array(), *lb = json_array(), *bg = json_object(),
           *hs = json_object();
    int rc = CLI_OK;
    if (!o || !lf || !lb || !bg || !hs)
        goto nomem;
    json_object_set_new(o, "head_seq", json_integer((json_int_t)st->head_seq));
    json_object_set_new(o, "live_files", json_integer((json_int_t)st->live_files));
    json_object_set_new(o, "live_bytes", json_integer((json_int_t)st->live_bytes));
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++) {
        json_array_append_new(lf, json_integer((json_int_t)st->level_files[l]));
        json_array_append_new(lb, json_integer((json_int_t)st->level_bytes[l]));
    }
    json_object_set(o, "level_files", lf);
    json_object_set(o, "level_bytes", lb);
    json_object_set_new(o, "memtable_bytes", json_integer((json_int_t)st->memtable_bytes));
    for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++) {
        uint64_t v;
        memcpy(&v, (const char *)st + tail[i].offset, sizeof(v));
        json_object_set_new(o, tail[i].name, json_integer((json_int_t)v));
    }
    for (int i = 0; i < CIRRUS_BG_MAX; i++)
        json_object_set_new(bg, cirrus_stats_bg_name(i),
                            json_integer((json_int_t)st->bg_failures[i]));
    json_object_set(o, "bg_failures", bg);
    for (int i = 0; i < CIRRUS_HIST_MAX; i++) {
        const cirrus_histogram *h = &st->hist[i];
        json_t *b = json_array();
        for (int k = 0; b && k < CIRRUS_HISTOGRAM_BUCKETS; k++)
            json_array_append_new(b, json_integer((json_int_t)h->buckets[k]));
        json_object_set_new(hs, cirrus_stats_hist_name(i),
                            json_pack("{sIsIso*}", "count", (json_int_t)h->count, "sum_us",
                                      (json_int_t)h->sum_us, "buckets", b));
    }
    json_object_set(o, "histograms", hs);
    char *text = json_dumps(o, JSON_COMPACT);
    if (!text)
        goto nomem;
    printf("%s\n", text);
    free(text);
    goto done;
nomem:
    rc = cli_failf(c, CLI_ERROR, "out of memory");
done:
    json_decref(o);
    json_decref(lf);
    json_decref(lb);
    json_decref(bg);
    json_decref(hs);
    return rc;
}

static void stats_text(const cirrus_stats *st)
{
    char name[64];
    stat_line("head_seq", st->head_seq);
    stat_line("live_files", st->live_files);
    stat_line("live_bytes", st->live_bytes);
    stat_line("l0_files", st->level_files[0]);
    for (int level = 0; level < CIRRUS_MAX_LEVELS; level++) {
        if (st->level_files[level] == 0)
            continue;
        snprintf(name, sizeof(name), "level.%d.files", level);
        stat_line(name, st->level_files[level]);
        snprintf(name, sizeof(name), "level.%d.bytes", level);
        stat_line(name, st->level_bytes[level]);
    }
    stat_line("memtable_bytes", st->memtable_bytes);
    for (size_t i = 0; i < sizeof(tail) / sizeof(tail[0]); i++) {
        uint64_t v;
        memcpy(&v, (const char *)st + tail[i].offset, sizeof(v));
        stat_line(tail[i].name, v);
    }
    stat_line("block_cache_hit_permille", permille(st->block_cache_hits, st->block_cache_misses));
    stat_line("disk_cache_hit_permille", permille(st->disk_cache_hits, st->disk_cache_misses));
    for (int i = 0; i < CIRRUS_BG_MAX; i++) {
        snprintf(name, sizeof(name), "bg_failures_%s", cirrus_stats_bg_name(i));
        stat_line(name, st->bg_failures[i]);
    }
    for (int i = 0; i < CIRRUS_HIST_MAX; i++) {
        snprintf(name, sizeof(name), "latency_%s_count", cirrus_stats_hist_name(i));
        stat_line(name, st->hist[i].count);
        snprintf(name, sizeof(name), "latency_%s_sum_us", cirrus_stats_hist_name(i));
        stat_line(name, st->hist[i].sum_us);
    }
}

int cmd_stats(struct cli *c, int argc, char **argv)
{
    cirrus_db *db = NULL;
    cirrus_stats st;
    int json = 0, prom = 0, n_pos, rc, lrc;
    struct cli_opt opts[] = {{"--json", NULL, &json, 0}, {"--prometheus", NULL, &prom, 0}};
    if ((rc = cli_parse_args(c, argc, argv, opts, 2, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK)
        goto done;
    if (json && prom) {
        rc = cli_usage(c, "--json and --prometheus exclude each other");
        goto done;
    }
    if ((rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        goto done;
    if (prom) {
        char *text = NULL;
        size_t len = 0;
        if ((lrc = cirrus_stats_prometheus(db, &text, &len)) < 0)
            rc = cli_fail(c, lrc);
        else
            fwrite(text, 1, len, stdout);
        cirrus_free(text);
        goto done;
    }
    if ((lrc = cirrus_stats_read(db, &st, sizeof(st))) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    if (json)
        rc = stats_json(c, &st);
    else
        stats_text(&st);
done:
    return cli_close(c, db, rc);
}
