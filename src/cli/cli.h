/*
 * cli.h - what the `cirrus` command's files share: the command context,
 * argument parsing, messages and exit codes, output, and opening the db.
 *
 * Contract:
 *  - The CLI uses only the public header cirrus.h; nothing here is linked
 *    into the library.
 *  - Every command is `int cmd_x(struct cli *c, int argc, char **argv)` with
 *    argv holding the arguments after the command's name. It returns an exit
 *    code (CLI_OK ... CLI_ERROR) and has printed the one stderr line that
 *    explains any non-zero code (plus a usage line for CLI_USAGE).
 *  - Results go to stdout through stdio (fully buffered); main() flushes and
 *    checks it. Commands stop early once ferror(stdout) is set.
 *  - Keys and values in arguments are decoded in place (escape.h); argv
 *    strings are writable in C, and a decoding never grows.
 */
#ifndef CIRRUS_CLI_CLI_H
#define CIRRUS_CLI_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cirrus.h"

/* Exit codes. */
enum {
    CLI_OK = 0,
    CLI_NOTFOUND = 1, /* get: the key is absent at that seq */
    CLI_USAGE = 2,    /* bad arguments or malformed input lines */
    CLI_ERROR = 3,    /* anything else; the message names the cause */
    CLI_CONFLICT = 4, /* txn: the commit conflicted and wrote nothing; retry */
};

struct cli {
    const char *db_url;   /* --db, else $CIRRUS_DB, else ./cirrus-data; borrowed */
    const char *meta_url; /* --meta, else $CIRRUS_META, else NULL; borrowed */
    const char *cmd;      /* the command's name, for messages */
    const char *synopsis; /* the command's arguments, for its usage line */
    int no_create;        /* --no-create: no command creates a db */
    int log_level;        /* --log-level, else $CIRRUS_LOG, else -1 (unset: the
                           * options' own level); cli_open_opts passes it */
};

/* One option of a command. Options are "--name VALUE", "--name=VALUE" or, for
 * flags, "--name"; each may be given once, before or after positionals. */
struct cli_opt {
    const char *name;   /* including the dashes, e.g. "--at" */
    const char **value; /* set to the value; NULL for a flag */
    int *flag;          /* set to 1 when a flag is given; NULL for a valued option */
    int seen;           /* set by cli_parse_args; initialise to 0 */
};

/*
 * Splits argv into options (stored through opts[]) and positionals, which are
 * moved to argv[0 .. *n_pos_out). "--" ends the options. An argument that
 * starts with "--" and is not in opts[] is a usage error, as is a repeated
 * option or a missing or unexpected value. Returns CLI_OK or CLI_USAGE.
 */
int cli_parse_args(struct cli *c, int argc, char **argv, struct cli_opt *opts, size_t n_opts,
                   int *n_pos_out);

/* Checks that n_pos is within [min, max]; names the first missing argument
 * (`names` lists them, space-separated, e.g. "KEY VALUE") or the first
 * unexpected one. Returns CLI_OK or CLI_USAGE. */
int cli_expect_args(struct cli *c, char **pos, int n_pos, int min, int max, const char *names);

/* Decodes the escaped argument `arg` in place; `what` names it in a message
 * ("KEY", "--prefix"). Sets *len_out. Returns CLI_OK or CLI_USAGE. */
int cli_decode_arg(struct cli *c, const char *what, char *arg, size_t *len_out);

/* Parses a decimal unsigned integer strictly: digits only, no sign, no
 * trailing bytes, no overflow. Returns CLI_OK or CLI_USAGE. */
int cli_parse_u64(struct cli *c, const char *what, const char *s, uint64_t *out);

/* Parses a whole number of SECONDS (as cli_parse_u64) into milliseconds
 * (*ms_out); more than INT64_MAX ms is a usage error. Returns CLI_OK or
 * CLI_USAGE. */
int cli_parse_seconds(struct cli *c, const char *what, const char *s, int64_t *ms_out);

/* Parses a DURATION: a whole number and a unit, s, m, h or d ("30s",
 * "15m", "12h", "7d"), into milliseconds. Returns CLI_OK or CLI_USAGE. */
int cli_parse_duration(struct cli *c, const char *what, const char *s, int64_t *ms_out);

/* Prints "cirrus: CMD: <message>" and the command's usage line to stderr.
 * Returns CLI_USAGE. */
int cli_usage(struct cli *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prints "cirrus: CMD: <cirrus_errmsg()>" for the library status rc.
 * Returns CLI_ERROR. */
int cli_fail(struct cli *c, int rc);

/* Prints "cirrus: CMD: <message>" to stderr. Returns `code`. */
int cli_failf(struct cli *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* How a command uses the db it opens. The mode is the one place that says
 * which commands may create a database: only those that write to it. */
enum cli_open_mode {
    CLI_OPEN_READ,   /* reads or maintains only: never creates a db (a location
                      * with none is "no database at PATH", exit 3); no
                      * background compaction in this process */
    CLI_OPEN_WRITE,  /* commits: creates a missing db (unless --no-create);
                      * the library's default background compaction */
    CLI_OPEN_CREATE, /* writes without committing (stage, checkpoint create,
                      * lease acquire, create): creates a missing db (unless
                      * --no-create); no background compaction */
};

/* Opens the db at c->db_url (no group-commit or refresh threads: every
 * write commits with CIRRUS_WRITE_NOW), creating it only as `mode` says.
 * Returns CLI_OK or CLI_ERROR. */
int cli_open(struct cli *c, cirrus_db **out, enum cli_open_mode mode);

/* Like cli_open, with the caller's options `o` (from CIRRUS_OPTIONS_INIT);
 * the fields cli_open fixes (meta_url, flush and refresh intervals,
 * background_compaction, create_if_missing) are overwritten. */
int cli_open_opts(struct cli *c, cirrus_db **out, enum cli_open_mode mode, cirrus_options *o);

/* Like cli_open_opts, quietly: returns cirrus_open's status (0 or a
 * CIRRUS_E* code) and prints nothing. */
int cli_try_open(struct cli *c, cirrus_db **out, enum cli_open_mode mode, cirrus_options *o);

/* Closes db (NULL is fine). If rc is CLI_OK and the close fails, reports it
 * and returns CLI_ERROR; otherwise returns rc. */
int cli_close(struct cli *c, cirrus_db *db, int rc);

/* Reads all of f into a malloc'd buffer (*out, caller frees; not
 * NUL-terminated); `name` names f in a message. Returns CLI_OK or CLI_ERROR. */
int cli_read_all(struct cli *c, const char *name, FILE *f, char **out, size_t *len_out);

/* What cli_kv_lines calls for each line: the decoded key and value
 * (borrowed for the call) and the line's number. Returns an exit code;
 * anything but CLI_OK stops the reading. */
typedef int (*cli_kv_fn)(struct cli *c, const void *key, size_t key_len, const void *val,
                         size_t val_len, size_t line_no, void *arg);

/* Parses KEY<TAB>VALUE lines (escaped; the value is everything after the
 * first TAB), decoding them in place, and calls fn for each: the complete
 * lines of data, and with at_eof a last one that lacks its newline.
 * *used_out gets the bytes parsed (the rest is a partial line);
 * *line_no counts the lines (in: those before data). Returns CLI_OK,
 * CLI_USAGE (a malformed line, named by number), or what fn returned. */
int cli_kv_lines(struct cli *c, char *data, size_t len, int at_eof, size_t *used_out,
                 size_t *line_no, cli_kv_fn fn, void *arg);

/* Parses a SIZE: a whole number of bytes with an optional binary unit K,
 * M, G or T (also KiB, MiB, ...): "65536", "64K", "256M". Returns CLI_OK or
 * CLI_USAGE. */
int cli_parse_size(struct cli *c, const char *what, const char *s, uint64_t *out);

/* Writes the escaped form of bytes to stdout. Returns 0 or -1 (write error). */
int cli_out_bytes(const void *p, size_t len);

/* Writes "KEY\tVALUE\n" (both escaped) to stdout. Returns 0 or -1. */
int cli_out_kv(const void *k, size_t k_len, const void *v, size_t v_len);

/* Writes a decimal number and a newline to stdout. Returns 0 or -1. */
int cli_out_u64(uint64_t v);

struct json_t;
/* Writes JSON value o as one compact line to stdout and frees it (NULL: out
 * of memory). Returns 0 or -1. (cmd_inspect.c) */
int cli_out_json(struct json_t *o);

/* The commands. */
int cmd_put(struct cli *c, int argc, char **argv);
int cmd_del(struct cli *c, int argc, char **argv);
int cmd_incr(struct cli *c, int argc, char **argv);
int cmd_del_range(struct cli *c, int argc, char **argv);
int cmd_get(struct cli *c, int argc, char **argv);
int cmd_mget(struct cli *c, int argc, char **argv);
int cmd_scan(struct cli *c, int argc, char **argv);
int cmd_head(struct cli *c, int argc, char **argv);
int cmd_log(struct cli *c, int argc, char **argv);
int cmd_stats(struct cli *c, int argc, char **argv);
int cmd_demo(struct cli *c, int argc, char **argv);
/* cmd_inspect.c */
int cmd_files(struct cli *c, int argc, char **argv);
int cmd_inspect(struct cli *c, int argc, char **argv);
int cmd_create(struct cli *c, int argc, char **argv);
/* cmd_maint.c */
int cmd_lease(struct cli *c, int argc, char **argv);
int cmd_compact(struct cli *c, int argc, char **argv);
int cmd_gc(struct cli *c, int argc, char **argv);
int cmd_maintain(struct cli *c, int argc, char **argv);
/* The signal that asked a long-running command (changes --follow,
 * maintain) to stop: 0 until SIGINT or SIGTERM arrives, once
 * cli_catch_stop_signals() is installed (before the open: a signal sent
 * meanwhile must not find SIGINT ignored, as a background job inherits it).
 * once: a second signal kills the process at once (SA_RESETHAND). */
void cli_catch_stop_signals(int once);
int cli_stop_signal(void);

/* cmd_stream.c */
int cmd_changes(struct cli *c, int argc, char **argv);
int cmd_epoch(struct cli *c, int argc, char **argv);
int cmd_commit_staged(struct cli *c, int argc, char **argv);
int cmd_txn(struct cli *c, int argc, char **argv);
/* cmd_load.c */
int cmd_load(struct cli *c, int argc, char **argv);
int cmd_stage(struct cli *c, int argc, char **argv);
int cmd_ingest(struct cli *c, int argc, char **argv);
/* cmd_backup.c */
int cmd_checkpoint(struct cli *c, int argc, char **argv);
int cmd_clone(struct cli *c, int argc, char **argv);
int cmd_detach(struct cli *c, int argc, char **argv);
int cmd_drop(struct cli *c, int argc, char **argv);
int cmd_backup(struct cli *c, int argc, char **argv);
int cmd_restore(struct cli *c, int argc, char **argv);
int cmd_verify(struct cli *c, int argc, char **argv);

#endif
