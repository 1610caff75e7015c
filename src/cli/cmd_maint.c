/*
 * cmd_maint.c - the maintenance commands: lease, compact, gc.
 *
 * Output formats (stable; scripts parse them):
 *   lease acquire|renew   one line: the fencing token, decimal
 *   lease release         nothing
 *   lease show            `name: value` lines: owner (escaped; empty when
 *                         released), token, expires (RFC 3339 UTC, or "-"
 *                         when released), expires_ms, state (held, expired
 *                         or released); with --json one object of the
 *                         same fields and name
 *   compact               one line:
 *                           compacted: l0_files A -> B, live_files C -> D,
 *                           live_bytes E -> F
 *   gc                    one line per object considered, in the order the
 *                         library reports them:
 *                           deleted NAME SIZE
 *                           kept NAME SIZE WHY      (WHY may hold spaces)
 *                         then one summary line:
 *                           total: deleted N (B bytes), kept M (K bytes)
 *
 * Exit codes: lease acquire exits 1 when another owner holds the lease (the
 * holder on stderr); renew and release exit 1 when the owner does not hold
 * it; show exits 1 for a lease never acquired. compact and gc exit 3 when
 * another process holds the "compactor" lease (the library's message names
 * the holder).
 */
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>

#include "cli.h"
#include "timeparse.h"

static int64_t wall_ms(void)
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    return (int64_t)tv.tv_sec * 1000 + tv.tv_usec / 1000;
}

/* Describes lease `name` (as in `info`) on stderr as the reason for `code`:
 * "cirrus: lease: WHAT; NAME is held by OWNER (token T) until TIME". */
static int lease_refused(struct cli *c, int code, const char *what, const char *name,
                         const cirrus_lease_info *info)
{
    char when[TIMEPARSE_FORMAT_MAX];
    if (!info->owner[0])
        return cli_failf(c, code, "%s; lease %s is free", what, name);
    timeparse_format(when, info->expires_ms);
    return cli_failf(c, code, "%s; lease %s is held by %s (token %llu) %s %s", what, name,
                     info->owner, (unsigned long long)info->token,
                     info->expires_ms > wall_ms() ? "until" : "which expired at", when);
}

/* renew / release refused with CIRRUS_EBUSY: exit 1, naming the holder. */
static int not_holder(struct cli *c, cirrus_db *db, const char *name, const char *owner)
{
    cirrus_lease_info info;
    char what[192];
    int lrc = cirrus_lease_show(db, name, &info);
    snprintf(what, sizeof(what), "%s does not hold lease %s", owner, name);
    if (lrc == CIRRUS_ENOTFOUND)
        return cli_failf(c, CLI_NOTFOUND, "%s; it was never acquired", what);
    if (lrc < 0)
        return cli_failf(c, CLI_NOTFOUND, "%s", what);
    return lease_refused(c, CLI_NOTFOUND, what, name, &info);
}

static int lease_show(struct cli *c, cirrus_db *db, const char *name, int json)
{
    cirrus_lease_info info;
    char when[TIMEPARSE_FORMAT_MAX] = "-";
    int lrc = cirrus_lease_show(db, name, &info);
    if (lrc == CIRRUS_ENOTFOUND)
        return cli_failf(c, CLI_NOTFOUND, "lease %s was never acquired", name);
    if (lrc < 0)
        return cli_fail(c, lrc);
    if (info.owner[0])
        timeparse_format(when, info.expires_ms);
    const char *state = !info.owner[0]                ? "released"
                        : info.expires_ms > wall_ms() ? "held"
                                                      : "expired";
    if (json) {
        cli_out_json(json_pack("{s:s, s:s, s:I, s:s, s:I, s:s}", "name", name, "owner", info.owner,
                               "token", (json_int_t)info.token, "expires", when, "expires_ms",
                               (json_int_t)info.expires_ms, "state", state));
        return CLI_OK;
    }
    fputs("owner: ", stdout);
    cli_out_bytes(info.owner, strlen(info.owner));
    printf("\ntoken: %llu\nexpires: %s\nexpires_ms: %lld\nstate: %s\n",
           (unsigned long long)info.token, when, (long long)info.expires_ms, state);
    return CLI_OK;
}

/* Runs the parsed lease subcommand `sub` on the open db. */
static int lease_run(struct cli *c, cirrus_db *db, const char *sub, const char *name,
                     const char *owner, int64_t ttl_ms, int json)
{
    cirrus_lease_info holder;
    uint64_t token = 0;
    int lrc;
    if (strcmp(sub, "show") == 0)
        return lease_show(c, db, name, json);
    if (strcmp(sub, "acquire") == 0) {
        lrc = cirrus_lease_acquire(db, name, owner, ttl_ms, &token, &holder);
        if (lrc == CIRRUS_EBUSY)
            return lease_refused(c, CLI_NOTFOUND, "not acquired", name, &holder);
    } else if (strcmp(sub, "renew") == 0) {
        lrc = cirrus_lease_renew(db, name, owner, ttl_ms, &token);
    } else {
        lrc = cirrus_lease_release(db, name, owner);
    }
    if (lrc == CIRRUS_EBUSY)
        return not_holder(c, db, name, owner);
    if (lrc < 0)
        return cli_fail(c, lrc);
    if (strcmp(sub, "release") != 0)
        cli_out_u64(token);
    return CLI_OK;
}

/* Checks that the options sub needs are given and no others. */
static int lease_check(struct cli *c, const char *sub, const char *owner, const char *ttl)
{
    int wants_owner = strcmp(sub, "show") != 0;
    int wants_ttl = strcmp(sub, "acquire") == 0 || strcmp(sub, "renew") == 0;
    if (wants_owner && !owner)
        return cli_usage(c, "lease %s needs --owner ID", sub);
    if (wants_ttl && !ttl)
        return cli_usage(c, "lease %s needs --ttl SECONDS", sub);
    if (!wants_owner && owner)
        return cli_usage(c, "lease %s takes no --owner", sub);
    if (!wants_ttl && ttl)
        return cli_usage(c, "lease %s takes no --ttl", sub);
    if (owner && !owner[0])
        return cli_usage(c, "--owner needs a non-empty ID");
    return CLI_OK;
}

int cmd_lease(struct cli *c, int argc, char **argv)
{
    static const char *const subs[] = {"acquire", "renew", "release", "show"};
    const char *owner = NULL, *ttl = NULL;
    int json = 0;
    struct cli_opt opts[] = {
        {"--owner", &owner, NULL, 0}, {"--ttl", &ttl, NULL, 0}, {"--json", NULL, &json, 0}};
    cirrus_db *db = NULL;
    int64_t ttl_ms = 0;
    int n_pos, rc, known = 0;
    if ((rc = cli_parse_args(c, argc, argv, opts, 3, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 2, 2, "SUBCOMMAND NAME")) != CLI_OK)
        goto done;
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
        known |= strcmp(argv[0], subs[i]) == 0;
    if (!known) {
        rc = cli_usage(c, "unknown subcommand '%s' (acquire, renew, release or show)", argv[0]);
        goto done;
    }
    if (json && strcmp(argv[0], "show") != 0) {
        rc = cli_usage(c, "--json is for lease show");
        goto done;
    }
    if ((rc = lease_check(c, argv[0], owner, ttl)) != CLI_OK ||
        (ttl && (rc = cli_parse_seconds(c, "--ttl", ttl, &ttl_ms)) != CLI_OK))
        goto done;
    if (ttl && ttl_ms == 0) {
        rc = cli_usage(c, "--ttl must be at least 1 second");
        goto done;
    }
    /* acquiring a lease is a write (it creates the db, as a put does);
     * show, renew and release of a lease on no db have nothing to act on */
    if ((rc = cli_open(
             c, &db, strcmp(argv[0], "acquire") == 0 ? CLI_OPEN_CREATE : CLI_OPEN_READ)) == CLI_OK)
        rc = lease_run(c, db, argv[0], argv[1], owner, ttl_ms, json);
done:
    return cli_close(c, db, rc);
}

int cmd_compact(struct cli *c, int argc, char **argv)
{
    cirrus_db *db = NULL;
    cirrus_stats before, after;
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, NULL, 0, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK ||
        (rc = cli_open(c, &db, CLI_OPEN_READ)) != CLI_OK)
        goto done;
    if ((lrc = cirrus_stats_get(db, &before)) < 0 || (lrc = cirrus_compact(db)) < 0 ||
        (lrc = cirrus_stats_get(db, &after)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    printf("compacted: l0_files %llu -> %llu, live_files %llu -> %llu, live_bytes %llu -> %llu\n",
           (unsigned long long)before.level_files[0], (unsigned long long)after.level_files[0],
           (unsigned long long)before.live_files, (unsigned long long)after.live_files,
           (unsigned long long)before.live_bytes, (unsigned long long)after.live_bytes);
done:
    return cli_close(c, db, rc);
}

struct gc_tally {
    uint64_t n_deleted, deleted_bytes, n_kept, kept_bytes;
};

/* cirrus_gc callback: one line per object. */
static void gc_line(const cirrus_gc_item *item, void *arg)
{
    struct gc_tally *t = arg;
    if (item->deleted) {
        t->n_deleted++;
        t->deleted_bytes += item->size;
    } else {
        t->n_kept++;
        t->kept_bytes += item->size;
    }
    if (ferror(stdout))
        return;
    fputs(item->deleted ? "deleted " : "kept ", stdout);
    cli_out_bytes(item->name, strlen(item->name));
    printf(" %llu", (unsigned long long)item->size);
    if (!item->deleted)
        printf(" %s", item->why ? item->why : "-");
    putchar('\n');
}

int cmd_gc(struct cli *c, int argc, char **argv)
{
    const char *grace = NULL, *retention = NULL;
    struct cli_opt opts[] = {{"--grace", &grace, NULL, 0},
                             {"--changefeed-retention", &retention, NULL, 0}};
    cirrus_options o = CIRRUS_OPTIONS_INIT;
    struct gc_tally t = {0, 0, 0, 0};
    cirrus_db *db = NULL;
    int64_t grace_ms = -1; /* the gc_grace_ms option */
    int n_pos, rc, lrc;
    if ((rc = cli_parse_args(c, argc, argv, opts, 2, &n_pos)) != CLI_OK ||
        (rc = cli_expect_args(c, argv, n_pos, 0, 0, "")) != CLI_OK ||
        (grace && (rc = cli_parse_seconds(c, "--grace", grace, &grace_ms)) != CLI_OK) ||
        (retention && (rc = cli_parse_seconds(c, "--changefeed-retention", retention,
                                              &o.changefeed_retention_ms)) != CLI_OK) ||
        (rc = cli_open_opts(c, &db, CLI_OPEN_READ, &o)) != CLI_OK)
        goto done;
    if ((lrc = cirrus_gc(db, grace_ms, gc_line, &t)) < 0) {
        rc = cli_fail(c, lrc);
        goto done;
    }
    printf("total: deleted %llu (%llu bytes), kept %llu (%llu bytes)\n",
           (unsigned long long)t.n_deleted, (unsigned long long)t.deleted_bytes,
           (unsigned long long)t.n_kept, (unsigned long long)t.kept_bytes);
done:
    return cli_close(c, db, rc);
}
