/*
 * main.c - the `cirrus` command: global options, dispatch, usage.
 *
 *   cirrus [--db PATH] [--meta URL] [--no-create] [--log-level LEVEL] COMMAND [ARGS...]
 *
 * Decisions written down (see also `cirrus help`):
 *  - Global options come before COMMAND; a command's own options may come
 *    before or after its positional arguments, and "--" ends them (so a key
 *    that starts with "--" can be given).
 *  - Only commands that write create a db (create_if_missing, the open
 *    mode in cli.h): put, del, incr, del-range, load, stage, commit-staged,
 *    txn, checkpoint create, lease acquire, demo and `create`. Every other
 *    command on a location with no db exits 3 with "no database at PATH"
 *    and creates nothing (no directory, file, object or item), so a typo
 *    in --db cannot pass for an empty db. --no-create makes the writes
 *    refuse too. (Before 0.2 every command created the db.)
 *  - Commands that commit (put, del, load, demo) leave the library's
 *    background compaction on, so L0 stays bounded when the CLI is the only
 *    writer; their seqs are then not always consecutive, as a compaction may
 *    commit between them (`log` shows it, kind "compact"). Reads never run
 *    compaction, so they never move the head.
 *  - Only what the CLI itself rejects is a usage error (exit 2): unknown
 *    commands and options, missing or extra arguments, malformed numbers,
 *    times and escapes, conflicting options, malformed `load` lines. What
 *    the library refuses (e.g. `get --at SEQ` beyond the head, which is
 *    CIRRUS_EINVALID) is exit 3 with the library's message.
 *  - stdout is fully buffered and checked when the command ends; a write
 *    error is exit 3. A closed pipe (SIGPIPE) ends the process quietly.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

struct command {
    const char *name;
    int (*run)(struct cli *c, int argc, char **argv);
    const char *synopsis;
    const char *summary;
};

static const struct command commands[] = {
    {"put", cmd_put, "KEY VALUE [--ttl SECONDS]",
     "commit one put (expiring after SECONDS); print its seq"},
    {"del", cmd_del, "KEY", "commit one delete; print its seq"},
    {"incr", cmd_incr, "KEY DELTA",
     "commit a counter add (signed 64-bit; get shows the sum); print its seq"},
    {"del-range", cmd_del_range, "FROM TO",
     "delete every key in [FROM, TO) in one commit; print its seq"},
    {"get", cmd_get, "KEY [--at SEQ | --at-time TIME | --checkpoint NAME]",
     "print VALUE; absent: exit 1, \"not found\" on stderr. A SEQ beyond the head\n"
     "      or a TIME in the future is an error (exit 3)"},
    {"mget", cmd_mget, "KEY... [--at SEQ | --at-time TIME | --checkpoint NAME]",
     "one line per key: KEY<TAB>VALUE, or KEY alone if absent"},
    {"scan", cmd_scan,
     "[--prefix P] [--from K] [--to K] [--reverse] [--limit N]\n"
     "      [--at SEQ | --at-time TIME | --checkpoint NAME]",
     "KEY<TAB>VALUE lines in key order (--from inclusive, --to exclusive)"},
    {"load", cmd_load, "[--app ID --epoch N] [--memory SIZE] [--sorted] [FILE|-]",
     "commit KEY<TAB>VALUE lines (default stdin) as ONE atomic commit; print its seq.\n"
     "      Any size in bounded memory: sorted runs of at most half of --memory\n"
     "      (default 256M; K, M, G units) are written as files and merged; input\n"
     "      already in key order (--sorted insists on it) is written once. Progress\n"
     "      on a terminal. With --app/--epoch, exactly once: print SEQ when applied,\n"
     "      or \"SEQ already-applied\" (the seq that applied it) when epoch N or a\n"
     "      later one of app ID was applied before"},
    {"head", cmd_head, "", "print the latest committed seq (0 for an empty db)"},
    {"log", cmd_log, "[--from SEQ] [--json]",
     "one line per commit: seq, time, kind, files added, files removed, bytes"},
    {"files", cmd_files, "[--at SEQ | --checkpoint NAME] [--json]",
     "the live files, one line each: level, name, size, smallest and largest key,\n"
     "      min and max seq, entries, deletes, global seq"},
    {"inspect", cmd_inspect,
     "sst NAME [--entries] [--blocks] | entry SEQ | manifest [SEQ] | meta  [--json]",
     "decode an SST (footer, properties, index, filter; --blocks, --entries), a log\n"
     "      entry, a manifest (default: the newest) or every metadata item. A missing\n"
     "      or damaged object: exit 3 naming the damage"},
    {"stats", cmd_stats, "[--json | --prometheus]",
     "live files, request counts, latency histograms, failures (this process's); "
     "`name: value` lines"},
    {"changes", cmd_changes, "[--from SEQ] [--follow]",
     "the changefeed from SEQ (default: the oldest retained), one line per change:\n"
     "      SEQ<TAB>put<TAB>KEY<TAB>VALUE or SEQ<TAB>del<TAB>KEY (also merge and del-range lines); "
     "stops when caught\n"
     "      up, or with --follow polls for new commits until SIGINT/SIGTERM (exit 0).\n"
     "      A SEQ older than the changefeed retention is an error (exit 3)"},
    {"epoch", cmd_epoch, "ID [--json]", "print the last epoch applied for app ID; none: exit 1"},
    {"stage", cmd_stage, "[--memory SIZE] [--sorted] [FILE|-]",
     "write KEY<TAB>VALUE lines as files without committing (as load does);\n"
     "      print a stage descriptor"},
    {"ingest", cmd_ingest, "FILE.sst...",
     "commit SST files written by cirrus_sst_writer (stored seqs 0, key ranges\n"
     "      not overlapping) as ONE entry, without rewriting them; print its seq.\n"
     "      A file that fails its check (format, checksums, key order): exit 3"},
    {"commit-staged", cmd_commit_staged, "DESCRIPTOR...",
     "commit staged descriptors (\"-\": one per line from stdin) as ONE entry; print\n"
     "      its seq. A descriptor already committed or whose files are gone: exit 3"},
    {"txn", cmd_txn, "",
     "a transaction driven by stdin lines: get KEY | put KEY VALUE | del KEY |\n"
     "      sleep MS (KEY has no raw space; VALUE is the rest of the line). Each get\n"
     "      is answered at once, flushed: found<TAB>VALUE or notfound. Commits at end\n"
     "      of input and prints the seq; a conflict writes nothing and exits 4"},
    {"lease", cmd_lease,
     "acquire|renew|release|show NAME [--owner ID] [--ttl SECONDS] [--json (show)]",
     "acquire and renew (--owner, --ttl) print the fencing token; release (--owner);\n"
     "      show prints owner, token, expires, expires_ms, state. Held by another\n"
     "      owner, not held, never acquired: exit 1 (the holder on stderr)"},
    {"compact", cmd_compact, "",
     "compact in the foreground until every level is within its target; print\n"
     "      the shape before and after. Another compactor running: exit 3"},
    {"gc", cmd_gc, "[--grace SECONDS] [--changefeed-retention SECONDS]",
     "delete unreferenced objects (grace default 1 h, retention 24 h); print\n"
     "      \"deleted NAME SIZE\" or \"kept NAME SIZE WHY\" per object, then\n"
     "      \"total: deleted N (B bytes), kept M (K bytes)\"; another compactor: exit 3"},
    {"checkpoint", cmd_checkpoint,
     "create NAME [--at SEQ | --at-time TIME] [--expire DURATION] | list [--json] |\n"
     "      delete NAME",
     "a named, durable pin of the version at SEQ (default: the head), readable with\n"
     "      --checkpoint NAME whatever compaction and GC do meanwhile; create prints its\n"
     "      seq; list prints NAME<TAB>SEQ<TAB>TIME<TAB>EXPIRES (or -); an expired one is\n"
     "      dropped by gc. DURATION: 30s, 15m, 12h, 7d. A SEQ older than the retention\n"
     "      window: exit 3; delete of a missing one: exit 1"},
    {"clone", cmd_clone, "SRC [--src-meta URL] [--checkpoint NAME | --at SEQ | --at-time TIME]",
     "make the db at --db a new, writable clone of SRC at that point (default: its\n"
     "      head), sharing SRC's files instead of copying them; print its first seq.\n"
     "      --at-time is the point-in-time restore (inside SRC's retention window)"},
    {"detach", cmd_detach, "",
     "copy every file this clone still shares with its sources into its own\n"
     "      location, and release their hold on them"},
    {"drop", cmd_drop, "[--force]",
     "delete the db: its objects, its metadata and its holds on its sources;\n"
     "      refused while clones share its files, unless --force"},
    {"backup", cmd_backup,
     "create --to URL [--checkpoint NAME | --at SEQ] [--threads N] [--json] |\n"
     "      list --from URL [--json] | delete --from URL ID",
     "self-contained copies of a version in any object store (directory, s3://),\n"
     "      incremental: create prints the backup's id; list prints\n"
     "      ID<TAB>SEQ<TAB>TIME<TAB>BYTES<TAB>OBJECTS; delete keeps what other backups need"},
    {"restore", cmd_restore, "--from URL [--backup ID] [--threads N] [--json]",
     "restore a backup (default: the newest) as a new db at --db; rerun to finish\n"
     "      an interrupted restore"},
    {"verify", cmd_verify, "[--deep] [--checkpoint NAME] [--backup URL [--id ID]] [--json]",
     "check that every object the db (or a backup) needs is there with its size;\n"
     "      --deep reads every block. Prints OBJECT<TAB>PROBLEM lines and a summary;\n"
     "      exit 3 when a problem is found"},
    {"maintain", cmd_maintain,
     "[--interval DURATION] [--grace DURATION] [--ttl DURATION] [--owner ID] [--once]",
     "the maintenance daemon: compaction (every --interval, default 10s) and GC (grace\n"
     "      default 1h) under the compactor lease (TTL default 30s), standing by while\n"
     "      another process holds it and taking over when it expires; logs what it does\n"
     "      (CIRRUS_LOG, default info) with one summary line per round. SIGINT/SIGTERM:\n"
     "      releases the lease, exit 0. --once: one round; exit 1 if another holds it"},
    {"create", cmd_create, "",
     "create the db at --db (and --meta); print \"created\", or \"exists\" when there\n"
     "      is one already (exit 0 either way)"},
    {"demo", cmd_demo, "", "a short guided run of the engine on the db at --db"},
    {"version", NULL, "", "print \"cirrus VERSION\" (also --version)"},
    {"help", NULL, "[COMMAND]", "this text, or one command's usage"},
};

#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static const char usage_tail[] =
    "\n"
    "PATH is a directory, file://DIR or s3://BUCKET/PREFIX (default $CIRRUS_DB,\n"
    "else ./cirrus-data); URL is the metadata store (default $CIRRUS_META, else\n"
    "derived from PATH). Only the commands that write (put, del, incr, del-range,\n"
    "load, stage, commit-staged, txn, checkpoint create, lease acquire, demo) and\n"
    "create make a db that does not exist yet; --no-create stops them too. Any\n"
    "other command on a location with no db exits 3: \"no database at PATH\".\n"
    "LEVEL (default $CIRRUS_LOG, else warn) is error, warn, info or debug: what\n"
    "the library reports on stderr.\n"
    "\n"
    "Keys and values are bytes. Arguments and KEY<TAB>VALUE lines use the escapes\n"
    "\\\\, \\t, \\n and \\xHH; output uses them for backslash, tab, newline, other\n"
    "control bytes and 0x7f. SEQ and N are decimal. TIME is RFC 3339\n"
    "(2026-11-24T08:20:13.5Z, 2026-11-24T09:20:13+01:00) or Unix milliseconds.\n"
    "--at 0 and times before the first commit read the empty db; a SEQ beyond\n"
    "the head or a TIME in the future is an error (exit 3).\n"
    "load of an empty input commits nothing and prints the head seq; a malformed\n"
    "line commits nothing (exit 2).\n"
    "\n"
    "Exit status: 0 ok, 1 not found (or a lease held by another owner), 2 usage\n"
    "error, 3 any other error, 4 txn conflict (retry).\n";

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void print_usage(FILE *f)
{
    fputs("usage: cirrus [--db PATH] [--meta URL] [--no-create] [--log-level LEVEL] COMMAND "
          "[ARGS...]\n\ncommands:\n",
          f);
    for (size_t i = 0; i < N_COMMANDS; i++) {
        const struct command *cmd = &commands[i];
        fprintf(f, "  %s%s%s\n      %s\n", cmd->name, cmd->synopsis[0] ? " " : "", cmd->synopsis,
                cmd->summary);
    }
    fputs(usage_tail, f);
}

/* The library's version: the binary may run against another libcirrus. */
static int run_version(struct cli *c, int argc, char **argv)
{
    if (argc > 0)
        return cli_usage(c, "unexpected argument '%s'", argv[0]);
    printf("cirrus %s\n", cirrus_version());
    return CLI_OK;
}

static int run_help(struct cli *c, int argc, char **argv)
{
    const struct command *cmd = argc > 0 ? find_command(argv[0]) : NULL;
    int rc = CLI_OK;
    if (argc > 1 || (argc == 1 && !cmd))
        rc = cli_usage(c, "unknown command '%s'", argv[argc > 1 ? 1 : 0]);
    else if (!cmd)
        print_usage(stdout);
    else
        printf("usage: cirrus [--db PATH] [--meta URL] %s%s%s\n  %s\n", cmd->name,
               cmd->synopsis[0] ? " " : "", cmd->synopsis, cmd->summary);
    return rc;
}

/* Reads one global option at argv[*i] ("--db PATH", "--db=PATH", ...). */
/* Sets the level of the library's messages from `from` (an option or
 * $CIRRUS_LOG); another name is a usage error. */
static int set_log_level(struct cli *c, const char *from, const char *name)
{
    int level = cirrus_log_level_parse(name);
    if (level < 0)
        return cli_usage(c, "%s: '%s' is not a log level (error, warn, info, debug)", from, name);
    c->log_level = level;
    return CLI_OK;
}

static int global_opt(struct cli *c, int argc, char **argv, int *i)
{
    const char *arg = argv[*i], **dst = NULL, *val = NULL, *level = NULL;
    size_t name_len = strcspn(arg, "=");
    int rc = CLI_OK;
    if (strcmp(arg, "--no-create") == 0) {
        c->no_create = 1;
        return CLI_OK;
    }
    if (name_len == 4 && strncmp(arg, "--db", 4) == 0)
        dst = &c->db_url;
    else if (name_len == 6 && strncmp(arg, "--meta", 6) == 0)
        dst = &c->meta_url;
    else if (name_len == 11 && strncmp(arg, "--log-level", 11) == 0)
        dst = &level;
    if (arg[name_len] == '=')
        val = arg + name_len + 1;
    else if (dst && *i + 1 < argc)
        val = argv[++*i];
    if (!dst)
        rc = cli_usage(c, "unknown option '%.*s'", (int)name_len, arg);
    else if (!val || !val[0])
        rc = cli_usage(c, "option %.*s needs a value", (int)name_len, arg);
    else
        *dst = val;
    if (rc == CLI_OK && dst == &level)
        rc = set_log_level(c, "--log-level", level);
    return rc;
}

static void defaults(struct cli *c)
{
    const char *db = getenv("CIRRUS_DB"), *meta = getenv("CIRRUS_META");
    c->db_url = db && db[0] ? db : "./cirrus-data";
    c->meta_url = meta && meta[0] ? meta : NULL;
    c->no_create = 0;
    c->cmd = "";
    c->synopsis = "COMMAND [ARGS...]";
    c->log_level = -1; /* unset: the library's default (warn), or the command's */
}

/* Flushes stdout; a write error turns success into exit 3. */
static int finish_output(struct cli *c, int rc)
{
    if ((fflush(stdout) != 0 || ferror(stdout)) && rc != CLI_ERROR)
        rc = cli_failf(c, CLI_ERROR, "writing the output: %s", strerror(errno));
    return rc;
}

/* True if a command's arguments ask for its usage (before any "--"). */
static int wants_help(int argc, char **argv)
{
    for (int i = 0; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--help") == 0)
            return 1;
    return 0;
}

int main(int argc, char **argv)
{
    static char outbuf[1 << 16];
    struct cli c;
    const struct command *cmd = NULL;
    int i = 1, rc = CLI_OK;
    setvbuf(stdout, outbuf, _IOFBF, sizeof(outbuf));
    defaults(&c);
    const char *env_level = getenv("CIRRUS_LOG");
    if (env_level && env_level[0])
        rc = set_log_level(&c, "CIRRUS_LOG", env_level);
    for (; i < argc && strncmp(argv[i], "-", 1) == 0 && rc == CLI_OK; i++) {
        if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0 ||
            strcmp(argv[i], "--version") == 0)
            break;
        rc = global_opt(&c, argc, argv, &i);
    }
    if (rc != CLI_OK)
        goto done;
    if (i >= argc) {
        rc = cli_usage(&c, "no command given");
        goto done;
    }
    if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
        cmd = find_command("help");
    else if (strcmp(argv[i], "--version") == 0)
        cmd = find_command("version");
    else if (!(cmd = find_command(argv[i]))) {
        rc = cli_usage(&c, "unknown command '%s'", argv[i]);
        goto done;
    }
    c.cmd = cmd->name;
    c.synopsis = cmd->synopsis;
    if (strcmp(cmd->name, "version") == 0)
        rc = wants_help(argc - i - 1, argv + i + 1) ? run_help(&c, 1, (char **)&cmd->name)
                                                    : run_version(&c, argc - i - 1, argv + i + 1);
    else if (!cmd->run)
        rc = run_help(&c, argc - i - 1, argv + i + 1);
    else if (wants_help(argc - i - 1, argv + i + 1))
        rc = run_help(&c, 1, (char **)&cmd->name);
    else
        rc = cmd->run(&c, argc - i - 1, argv + i + 1);
done:
    return finish_output(&c, rc);
}
