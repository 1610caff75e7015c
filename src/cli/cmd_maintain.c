/*
 * cmd_maintain.c - the db's lifecycle and its daemon: create, maintain.
 *
 * Output formats (stable; scripts parse them):
 *   create     one line: "created", or "exists" when a db was there already
 *              (exit 0 either way; --no-create on no db: exit 3)
 *   maintain   nothing on stdout. What it does goes to stderr through the
 *              library's logger ("cirrus: LEVEL: SUBSYSTEM: MESSAGE"), at
 *              $CIRRUS_LOG (default info): "maintain: took the compactor
 *              lease ...", "maintain: standing by: the compactor lease is
 *              held by OWNER ...", "compaction: L0 -> L1 ...", one
 *              "maintain: round: ..." summary per round that did work, and
 *              "compactor: released the compactor lease ..." at exit.
 *
 * maintain runs until SIGINT or SIGTERM: the current compaction finishes
 * (a second signal ends the process at once, which is safe: an abandoned
 * compaction commits nothing and GC reclaims its files), then the handle's
 * close releases the lease so that a standby daemon takes over at once, and
 * it exits 0. While it holds the lease it runs a round (refresh, compaction
 * while a level is over its target) at least every --interval and every
 * third of the TTL (the renewal), and GC every --interval; standing by, it
 * polls the lease every tenth of the TTL (at least 100 ms, at most
 * --interval), so it takes over within a tenth of the TTL of the lease's
 * expiry. Library errors are reported and retried at the next tick; only
 * bad arguments, a missing db and EINVALID end it (exit 2 or 3).
 * --once runs one round: exit 0, or 1 when another process holds the lease
 * (the holder on stderr).
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

#define MAINTAIN_DEFAULT_INTERVAL_MS 10000
#define MAINTAIN_DEFAULT_TTL_MS 30000
#define MAINTAIN_MIN_POLL_MS 100
#define MAINTAIN_SLEEP_SLICE_MS 50 /* the most a signal waits while it sleeps */

int cmd_create(struct cli *c, int argc, char **argv)
{
    cirrus_options o = CIRRUS_OPTIONS_INIT;
    cirrus_db *db = NULL;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, NULL, 0, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK)
        return rc;
    /* first without creating, to tell "created" from "exists" (two creates
     * racing may both say "created": the library makes one db either way) */
    if ((lrc = cli_try_open(c, &db, CLI_OPEN_READ, &o)) == 0) {
        puts("exists");
        return cli_close(c, db, CLI_OK);
    }
    if (lrc != CIRRUS_ENOTFOUND || c->no_create)
        return cli_fail(c, lrc);
    cirrus_options co = CIRRUS_OPTIONS_INIT;
    if ((rc = cli_open_opts(c, &db, CLI_OPEN_CREATE, &co)) == CLI_OK)
        puts("created");
    return cli_close(c, db, rc);
}

/* cirrus_maintain_options.cancel */
static int stop_requested(void *arg)
{
    (void)arg;
    return cli_stop_signal() != 0;
}

static int64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps until `until` (mono_ms), waking early for a signal. */
static void sleep_until(int64_t until)
{
    for (int64_t now = mono_ms(); now < until && !cli_stop_signal(); now = mono_ms()) {
        int64_t ms = until - now < MAINTAIN_SLEEP_SLICE_MS ? until - now : MAINTAIN_SLEEP_SLICE_MS;
        struct timespec ts = {0, (long)ms * 1000000};
        nanosleep(&ts, NULL);
    }
}

struct maintain_args {
    int64_t interval_ms, ttl_ms, grace_ms;
    const char *owner;
    int once;
    int log_level;
};

static int parse_maintain(struct cli *c, int argc, char **argv, struct maintain_args *a)
{
    const char *interval = NULL, *grace = NULL, *ttl = NULL;
    struct cli_opt opts[] = {{"--interval", &interval, NULL, 0},
                             {"--grace", &grace, NULL, 0},
                             {"--ttl", &ttl, NULL, 0},
                             {"--owner", &a->owner, NULL, 0},
                             {"--once", NULL, &a->once, 0}};
    int n_pos, rc;
    a->interval_ms = MAINTAIN_DEFAULT_INTERVAL_MS;
    a->ttl_ms = MAINTAIN_DEFAULT_TTL_MS;
    a->grace_ms = -1;
    a->log_level = CIRRUS_LOG_INFO; /* unless --log-level or CIRRUS_LOG say */
    if ((rc = cli_parse_args(c, argc, argv, opts, sizeof(opts) / sizeof(opts[0]), &n_pos)) !=
            CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK ||
        (interval &&
         (rc = cli_parse_duration(c, "--interval", interval, &a->interval_ms)) != CLI_OK) ||
        (grace && (rc = cli_parse_duration(c, "--grace", grace, &a->grace_ms)) != CLI_OK) ||
        (ttl && (rc = cli_parse_duration(c, "--ttl", ttl, &a->ttl_ms)) != CLI_OK))
        return rc;
    if (a->interval_ms == 0)
        return cli_usage(c, "--interval needs a duration above zero");
    if (a->ttl_ms == 0)
        return cli_usage(c, "--ttl needs a duration above zero");
    if (a->owner && !a->owner[0])
        return cli_usage(c, "--owner needs a non-empty ID");
    return CLI_OK;
}

/* The daemon's loop on the open db; returns an exit code. */
static int maintain_loop(struct cli *c, cirrus_db *db, const struct maintain_args *a)
{
    cirrus_maintain_options mo = CIRRUS_MAINTAIN_OPTIONS_INIT;
    cirrus_maintain_report r;
    int64_t hold_tick = a->ttl_ms / 3 < a->interval_ms ? a->ttl_ms / 3 : a->interval_ms;
    int64_t poll = a->ttl_ms / 10 < a->interval_ms ? a->ttl_ms / 10 : a->interval_ms;
    int64_t next_gc = mono_ms();
    int lrc;
    if (poll < MAINTAIN_MIN_POLL_MS)
        poll = MAINTAIN_MIN_POLL_MS;
    mo.owner = a->owner;
    mo.lease_ttl_ms = a->ttl_ms;
    mo.gc_grace_ms = a->grace_ms;
    mo.cancel = stop_requested;
    while (!cli_stop_signal()) {
        int64_t start = mono_ms();
        mo.gc = a->once || start >= next_gc;
        if ((lrc = cirrus_maintain(db, &mo, &r)) < 0) {
            if (a->once || lrc == CIRRUS_EINVALID)
                return cli_fail(c, lrc);
            cli_fail(c, lrc); /* reported; retried at the next tick */
        } else if (r.held && r.gc_ran) {
            next_gc = start + a->interval_ms;
        }
        if (a->once) {
            if (!r.held)
                return cli_failf(c, CLI_NOTFOUND,
                                 "the compactor lease is held by %s (token %llu); nothing done",
                                 r.holder.owner, (unsigned long long)r.holder.token);
            break;
        }
        sleep_until(start + (lrc == 0 && r.held ? hold_tick : poll));
    }
    if (cli_stop_signal())
        cli_failf(c, CLI_OK, "%s: stopping", cli_stop_signal() == SIGINT ? "SIGINT" : "SIGTERM");
    return CLI_OK;
}

int cmd_maintain(struct cli *c, int argc, char **argv)
{
    struct maintain_args a;
    cirrus_options o = CIRRUS_OPTIONS_INIT;
    cirrus_db *db = NULL;
    int rc;
    memset(&a, 0, sizeof(a));
    if ((rc = parse_maintain(c, argc, argv, &a)) != CLI_OK)
        return rc;
    /* before the open, which may take a while: a signal sent meanwhile must
     * not find SIGINT ignored (as a background job inherits it) */
    if (!a.once)
        cli_catch_stop_signals(1); /* SIGINT/SIGTERM: after the current step; a second: at once */
    o.log_level = a.log_level;
    /* a daemon on a mistyped location must not create a db there */
    if ((rc = cli_open_opts(c, &db, CLI_OPEN_READ, &o)) != CLI_OK)
        return rc;
    rc = maintain_loop(c, db, &a);
    return cli_close(c, db, rc); /* releases the lease */
}
