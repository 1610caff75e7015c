/*
 * sqlite.c - the metadata store in one SQLite file (contract in
 * metastore.h): the embedded default, safe for several processes on one
 * host (not over a network filesystem: WAL needs shared memory).
 *
 * Schema (PRAGMA user_version = 1):
 *   items(pk TEXT, sk TEXT, value BLOB, version INTEGER,
 *         PRIMARY KEY(pk, sk)) WITHOUT ROWID
 * Keys compare with SQLite's BINARY collation, i.e. memcmp: the byte order
 * the contract asks for.
 *
 * Why each write is one statement: SQLite runs every write under the
 * database's single write lock, and a write statement in autocommit mode
 * takes that lock before it evaluates its WHERE clause. So
 *   INSERT ... ON CONFLICT DO NOTHING          (put_if_absent)
 *   UPDATE ... WHERE version = ?              (put_if_version)
 *   DELETE ... WHERE version = ?              (delete_if_version)
 * are each an atomic compare-and-set across processes; sqlite3_changes()
 * says whether the condition held. Reads see the latest committed state
 * (a WAL reader's snapshot starts with its statement), so every read is
 * strongly consistent.
 *
 * Durability: journal_mode=WAL with synchronous=FULL, so the WAL is synced
 * at every commit and a write that returned 0 survives a power cut.
 *
 * Waiting: a connection that finds the write lock taken retries for up to
 * BUSY_TIMEOUT_MS, then the call fails with CIRRUS_ETIMEOUT.
 *
 * Threads: one handle is shared by the threads of a process. A prepared
 * statement is bound, stepped and reset as a unit, so the handle's mutex is
 * held across each operation (the connection itself is opened NOMUTEX: the
 * mutex already serialises it). A handle must not be used in a child after
 * fork(); the child opens its own.
 */
#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "metastore/metastore.h"
#include "util/status.h"
#include "util/sys.h"

#define SCHEMA_VERSION 1
#define BUSY_TIMEOUT_MS 30000
/* Matches what fits in a DynamoDB item (400 KB including keys and
 * attribute names) with room to spare, so the engine takes its large-entry
 * path at the same size on both backends. */
#define MAX_VALUE_LEN 350000

int sqlite_metastore_open(struct metastore **out, const char *path, const char *url, int create);

enum stmt_id {
    ST_GET,
    ST_INSERT,
    ST_UPDATE,
    ST_DELETE,
    ST_QUERY_ASC,     /* sk >= from */
    ST_QUERY_ASC_TO,  /* from <= sk < to */
    ST_QUERY_DESC,    /* sk >= from, descending */
    ST_QUERY_DESC_TO, /* from <= sk < to, descending */
    ST_COUNT
};

/* Parameters are numbered so every query binds the same way:
 * ?1 pk, ?2 sk or from, ?3 value or to, ?4 expected version or limit. */
static const char *const stmt_sql[ST_COUNT] = {
    [ST_GET] = "SELECT value, version FROM items WHERE pk = ?1 AND sk = ?2",
    [ST_INSERT] = "INSERT INTO items(pk, sk, value, version) VALUES (?1, ?2, ?3, 1) "
                  "ON CONFLICT(pk, sk) DO NOTHING",
    [ST_UPDATE] = "UPDATE items SET value = ?3, version = version + 1 "
                  "WHERE pk = ?1 AND sk = ?2 AND version = ?4",
    [ST_DELETE] = "DELETE FROM items WHERE pk = ?1 AND sk = ?2 AND version = ?4",
    [ST_QUERY_ASC] = "SELECT sk, value, version FROM items WHERE pk = ?1 AND sk >= ?2 "
                     "ORDER BY sk ASC LIMIT ?4",
    [ST_QUERY_ASC_TO] = "SELECT sk, value, version FROM items WHERE pk = ?1 AND sk >= ?2 "
                        "AND sk < ?3 ORDER BY sk ASC LIMIT ?4",
    [ST_QUERY_DESC] = "SELECT sk, value, version FROM items WHERE pk = ?1 AND sk >= ?2 "
                      "ORDER BY sk DESC LIMIT ?4",
    [ST_QUERY_DESC_TO] = "SELECT sk, value, version FROM items WHERE pk = ?1 AND sk >= ?2 "
                         "AND sk < ?3 ORDER BY sk DESC LIMIT ?4",
};

struct sqlite_store {
    struct metastore base;
    sqlite3 *db;
    char *path;
    pthread_mutex_t mu; /* guards db and stmt: held for a whole operation */
    int mu_init;
    sqlite3_stmt *stmt[ST_COUNT];
};

/*
 * Records "sqlite PATH: OP [pk/sk]: cause" for SQLite result code src and
 * returns the matching CIRRUS code. A lock still held after the busy
 * timeout is CIRRUS_ETIMEOUT; a damaged or foreign file is CIRRUS_ECORRUPT.
 */
static int sq_fail(struct sqlite_store *s, int src, const char *op, const char *pk, const char *sk)
{
    int rc = CIRRUS_EIO;
    const char *extra = "";
    switch (src & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        rc = CIRRUS_ETIMEOUT;
        extra = " (database locked by another connection for too long)";
        break;
    case SQLITE_NOMEM:
        rc = CIRRUS_ENOMEM;
        break;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        rc = CIRRUS_ECORRUPT;
        break;
    default:
        break;
    }
    const char *cause = s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(src);
    if (pk)
        err_set(rc, "sqlite %s: %s %s/%s: %s%s", s->path, op, pk, sk ? sk : "", cause, extra);
    else
        err_set(rc, "sqlite %s: %s: %s%s", s->path, op, cause, extra);
    return rc;
}

/* Keys must be non-empty (DynamoDB refuses empty key attributes, and the
 * backends must agree) and values at most max_value_len. */
static int check_item(struct sqlite_store *s, const char *op, const char *pk, const char *sk,
                      size_t len)
{
    int rc = 0;
    if (!pk || !pk[0] || !sk || !sk[0])
        rc = err_set(CIRRUS_EINVALID, "sqlite %s: %s: empty partition or sort key", s->path, op);
    else if (len > s->base.max_value_len)
        rc = err_set(CIRRUS_EINVALID, "sqlite %s: %s %s/%s: value of %zu bytes exceeds %zu",
                     s->path, op, pk, sk, len, s->base.max_value_len);
    return rc;
}

static void stmt_done(sqlite3_stmt *st)
{
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
}

/* Binds ?1 pk and ?2 sk (borrowed until the statement is reset). */
static int bind_keys(sqlite3_stmt *st, const char *pk, const char *sk)
{
    int src = sqlite3_bind_text(st, 1, pk, -1, SQLITE_STATIC);
    if (src == SQLITE_OK)
        src = sqlite3_bind_text(st, 2, sk, -1, SQLITE_STATIC);
    return src;
}

/* Binds ?3 to the value. A NULL pointer would bind SQL NULL, so an empty
 * value is bound as a zero-length blob. */
static int bind_value(sqlite3_stmt *st, const void *value, size_t len)
{
    return sqlite3_bind_blob(st, 3, len ? value : "", (int)len, SQLITE_STATIC);
}

/* Copies column col as a blob into malloc'd memory (never NULL on success). */
static int copy_blob(sqlite3_stmt *st, int col, uint8_t **out, size_t *len_out)
{
    int rc = 0;
    const void *p = sqlite3_column_blob(st, col);
    size_t n = (size_t)sqlite3_column_bytes(st, col);
    uint8_t *v = malloc(n ? n : 1);
    if (!v) {
        rc = err_nomem();
        goto done;
    }
    if (n)
        memcpy(v, p, n);
    *out = v;
    *len_out = n;
done:
    return rc;
}

/* Versions start at 1 and are stored as SQLite's signed 64-bit integers, so
 * no item can have any other expected version. */
static int check_version(struct sqlite_store *s, const char *op, const char *pk, const char *sk,
                         uint64_t expected)
{
    int rc = 0;
    if (expected == 0 || expected > INT64_MAX)
        rc = err_set(CIRRUS_ECONFLICT, "sqlite %s: %s %s/%s: no item has version %llu", s->path, op,
                     pk, sk, (unsigned long long)expected);
    return rc;
}

/*
 * Every operation below has the same shape: check the arguments, take the
 * handle's mutex, bind, step, and at done reset the statement and release
 * the mutex if it was taken.
 */
static void release(struct sqlite_store *s, sqlite3_stmt *st, int locked)
{
    if (locked) {
        stmt_done(st);
        pthread_mutex_unlock(&s->mu);
    }
}

static int sq_get(struct metastore *ms, const char *pk, const char *sk, uint8_t **value_out,
                  size_t *len_out, uint64_t *version_out)
{
    struct sqlite_store *s = (struct sqlite_store *)ms;
    int rc = 0, src, locked = 0;
    sqlite3_stmt *st = s->stmt[ST_GET];
    if ((rc = check_item(s, "get", pk, sk, 0)) < 0)
        goto done;
    pthread_mutex_lock(&s->mu);
    locked = 1;
    if ((src = bind_keys(st, pk, sk)) != SQLITE_OK) {
        rc = sq_fail(s, src, "get", pk, sk);
        goto done;
    }
    src = sqlite3_step(st);
    if (src == SQLITE_DONE) {
        rc = err_set(CIRRUS_ENOTFOUND, "sqlite %s: get %s/%s: no such item", s->path, pk, sk);
        goto done;
    }
    if (src != SQLITE_ROW) {
        rc = sq_fail(s, src, "get", pk, sk);
        goto done;
    }
    if ((rc = copy_blob(st, 0, value_out, len_out)) < 0)
        goto done;
    *version_out = (uint64_t)sqlite3_column_int64(st, 1);
done:
    release(s, st, locked);
    return rc;
}

/*
 * Steps a conditional write whose parameters are bound (under the mutex)
 * and turns "no row changed" into CIRRUS_ECONFLICT.
 */
static int run_write(struct sqlite_store *s, sqlite3_stmt *st, const char *op, const char *pk,
                     const char *sk)
{
    int rc = 0;
    int src = sqlite3_step(st);
    if (src != SQLITE_DONE)
        rc = sq_fail(s, src, op, pk, sk);
    else if (sqlite3_changes(s->db) == 0)
        rc =
            err_set(CIRRUS_ECONFLICT, "sqlite %s: %s %s/%s: condition failed", s->path, op, pk, sk);
    return rc;
}

static int sq_put_if_absent(struct metastore *ms, const char *pk, const char *sk, const void *value,
                            size_t len)
{
    struct sqlite_store *s = (struct sqlite_store *)ms;
    int rc = 0, src, locked = 0;
    sqlite3_stmt *st = s->stmt[ST_INSERT];
    if ((rc = check_item(s, "put_if_absent", pk, sk, len)) < 0)
        goto done;
    pthread_mutex_lock(&s->mu);
    locked = 1;
    if ((src = bind_keys(st, pk, sk)) != SQLITE_OK || (src = bind_value(st, value, len))) {
        rc = sq_fail(s, src, "put_if_absent", pk, sk);
        goto done;
    }
    rc = run_write(s, st, "put_if_absent", pk, sk);
done:
    release(s, st, locked);
    return rc;
}

static int sq_put_if_version(struct metastore *ms, const char *pk, const char *sk,
                             const void *value, size_t len, uint64_t expected)
{
    struct sqlite_store *s = (struct sqlite_store *)ms;
    int rc = 0, src, locked = 0;
    sqlite3_stmt *st = s->stmt[ST_UPDATE];
    if ((rc = check_item(s, "put_if_version", pk, sk, len)) < 0 ||
        (rc = check_version(s, "put_if_version", pk, sk, expected)) < 0)
        goto done;
    pthread_mutex_lock(&s->mu);
    locked = 1;
    if ((src = bind_keys(st, pk, sk)) != SQLITE_OK || (src = bind_value(st, value, len)) ||
        (src = sqlite3_bind_int64(st, 4, (sqlite3_int64)expected))) {
        rc = sq_fail(s, src, "put_if_version", pk, sk);
        goto done;
    }
    rc = run_write(s, st, "put_if_version", pk, sk);
done:
    release(s, st, locked);
    return rc;
}

static int sq_delete_if_version(struct metastore *ms, const char *pk, const char *sk,
                                uint64_t expected)
{
    struct sqlite_store *s = (struct sqlite_store *)ms;
    int rc = 0, src, locked = 0;
    sqlite3_stmt *st = s->stmt[ST_DELETE];
    if ((rc = check_item(s, "delete_if_version", pk, sk, 0)) < 0 ||
        (rc = check_version(s, "delete_if_version", pk, sk, expected)) < 0)
        goto done;
    pthread_mutex_lock(&s->mu);
    locked = 1;
    if ((src = bind_keys(st, pk, sk)) != SQLITE_OK ||
        (src = sqlite3_bind_int64(st, 4, (sqlite3_int64)expected))) {
        rc = sq_fail(s, src, "delete_if_version", pk, sk);
        goto done;
    }
    rc = run_write(s, st, "delete_if_version", pk, sk);
done:
    release(s, st, locked);
    return rc;
}

/* Appends the current row of st to *items (growing it). On failure the
 * caller frees *items with *n, which counts a half-filled row. */
static int add_row(sqlite3_stmt *st, struct meta_item **items, size_t *n, size_t *cap)
{
    int rc = 0;
    if (*n == *cap) {
        size_t ncap = *cap ? 2 * *cap : 16;
        struct meta_item *v = realloc(*items, ncap * sizeof(*v));
        if (!v) {
            rc = err_nomem();
            goto done;
        }
        *items = v;
        *cap = ncap;
    }
    struct meta_item *it = &(*items)[*n];
    memset(it, 0, sizeof(*it));
    (*n)++;
    const unsigned char *sk = sqlite3_column_text(st, 0);
    size_t sk_len = (size_t)sqlite3_column_bytes(st, 0);
    if (!sk || !(it->sk = malloc(sk_len + 1))) {
        rc = err_nomem();
        goto done;
    }
    memcpy(it->sk, sk, sk_len + 1);
    /* an empty value stays NULL, as struct meta_item allows */
    if (sqlite3_column_bytes(st, 1) > 0 && (rc = copy_blob(st, 1, &it->value, &it->value_len)) < 0)
        goto done;
    it->version = (uint64_t)sqlite3_column_int64(st, 2);
done:
    return rc;
}

static int sq_query(struct metastore *ms, const char *pk, const char *from, const char *to,
                    size_t limit, int reverse, struct meta_item **items_out, size_t *n_out)
{
    struct sqlite_store *s = (struct sqlite_store *)ms;
    int rc = 0, src, locked = 0;
    struct meta_item *items = NULL;
    size_t n = 0, cap = 0;
    enum stmt_id id =
        reverse ? (to ? ST_QUERY_DESC_TO : ST_QUERY_DESC) : (to ? ST_QUERY_ASC_TO : ST_QUERY_ASC);
    sqlite3_stmt *st = s->stmt[id];
    /* LIMIT -1 is SQLite's "no limit" */
    sqlite3_int64 lim = (limit == 0 || limit > INT64_MAX) ? -1 : (sqlite3_int64)limit;
    if (!pk || !pk[0]) {
        rc = err_set(CIRRUS_EINVALID, "sqlite %s: query: empty partition key", s->path);
        goto done;
    }
    pthread_mutex_lock(&s->mu);
    locked = 1;
    if ((src = bind_keys(st, pk, from ? from : "")) != SQLITE_OK ||
        (to && (src = sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC))) ||
        (src = sqlite3_bind_int64(st, 4, lim))) {
        rc = sq_fail(s, src, "query", pk, from);
        goto done;
    }
    while ((src = sqlite3_step(st)) == SQLITE_ROW) {
        if ((rc = add_row(st, &items, &n, &cap)) < 0)
            goto done;
    }
    if (src != SQLITE_DONE) {
        rc = sq_fail(s, src, "query", pk, from);
        goto done;
    }
    *items_out = items;
    *n_out = n;
    items = NULL;
    n = 0;
done:
    release(s, st, locked);
    meta_items_free(items, n);
    return rc;
}

static void sq_close(struct metastore *ms)
{
    struct sqlite_store *s = (struct sqlite_store *)ms;
    if (!s)
        return;
    for (int i = 0; i < ST_COUNT; i++)
        sqlite3_finalize(s->stmt[i]);
    /* every statement is finalized, so close cannot be refused */
    sqlite3_close(s->db);
    if (s->mu_init)
        pthread_mutex_destroy(&s->mu);
    free(s->path);
    free(s->base.url);
    free(s);
}

static const struct metastore_ops sqlite_ops = {
    .kind = "sqlite",
    .get = sq_get,
    .put_if_absent = sq_put_if_absent,
    .put_if_version = sq_put_if_version,
    .delete_if_version = sq_delete_if_version,
    .query = sq_query,
    .close = sq_close,
};

/*
 * sqlite3_exec() that waits out SQLITE_BUSY. The busy handler covers
 * ordinary lock waits, but SQLite returns SQLITE_BUSY at once in a few
 * setup cases (switching a fresh file to WAL while another process does the
 * same, recovering a WAL), so setup retries on its own up to the timeout.
 */
static int exec_retry(struct sqlite_store *s, const char *sql, const char *op)
{
    uint64_t deadline = mono_ns() + (uint64_t)BUSY_TIMEOUT_MS * 1000000u;
    int src;
    while ((src = sqlite3_exec(s->db, sql, NULL, NULL, NULL)) != SQLITE_OK &&
           (src & 0xff) == SQLITE_BUSY && mono_ns() < deadline)
        sleep_ms(5);
    return src == SQLITE_OK ? 0 : sq_fail(s, src, op, NULL, NULL);
}

/* Reads one integer from a single-row statement such as a PRAGMA. */
static int query_int(struct sqlite_store *s, const char *sql, const char *op, int64_t *out)
{
    int rc = 0, src;
    sqlite3_stmt *st = NULL;
    if ((src = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL)) != SQLITE_OK) {
        rc = sq_fail(s, src, op, NULL, NULL);
        goto done;
    }
    if ((src = sqlite3_step(st)) != SQLITE_ROW) {
        rc = sq_fail(s, src, op, NULL, NULL);
        goto done;
    }
    *out = sqlite3_column_int64(st, 0);
done:
    sqlite3_finalize(st);
    return rc;
}

/*
 * Checks the schema version, creating the schema in a fresh file. Runs in
 * one IMMEDIATE transaction so that processes opening a new file together
 * create the table exactly once.
 */
static int setup_schema(struct sqlite_store *s)
{
    int rc = 0, in_txn = 0;
    int64_t version = 0, n_objects = 0;
    if ((rc = exec_retry(s, "BEGIN IMMEDIATE", "open: begin")) < 0)
        goto done;
    in_txn = 1;
    if ((rc = query_int(s, "PRAGMA user_version", "open: read schema version", &version)) < 0)
        goto done;
    if (version == 0) {
        if ((rc = query_int(s, "SELECT count(*) FROM sqlite_master", "open: inspect schema",
                            &n_objects)) < 0)
            goto done;
        if (n_objects != 0) {
            rc = err_set(CIRRUS_EINVALID,
                         "sqlite %s: open: an SQLite database, but not a cirrus metadata store "
                         "(it has tables and no schema version)",
                         s->path);
            goto done;
        }
        if ((rc = exec_retry(s,
                             "CREATE TABLE items(pk TEXT NOT NULL, sk TEXT NOT NULL,"
                             " value BLOB NOT NULL, version INTEGER NOT NULL,"
                             " PRIMARY KEY(pk, sk)) WITHOUT ROWID;"
                             "PRAGMA user_version = 1",
                             "open: create schema")) < 0)
            goto done;
    } else if (version != SCHEMA_VERSION) {
        rc = err_set(CIRRUS_EVERSION,
                     "sqlite %s: open: schema version %lld, this build knows only %d", s->path,
                     (long long)version, SCHEMA_VERSION);
        goto done;
    }
    rc = exec_retry(s, "COMMIT", "open: commit");
    in_txn = rc < 0;
done:
    if (in_txn)
        sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Opens the connection and brings it to the documented settings. */
static int sq_connect(struct sqlite_store *s, int create)
{
    int rc = 0, src;
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | (create ? SQLITE_OPEN_CREATE : 0);
    if ((src = sqlite3_open_v2(s->path, &s->db, flags, NULL)) != SQLITE_OK) {
        rc = sq_fail(s, src, "open", NULL, NULL);
        goto done;
    }
    sqlite3_extended_result_codes(s->db, 1);
    sqlite3_busy_timeout(s->db, BUSY_TIMEOUT_MS);
    /* The first statement reads the file header: a file that is not a
     * database fails here with SQLITE_NOTADB. */
    if ((rc = exec_retry(s, "PRAGMA journal_mode = WAL", "open: set WAL mode")) < 0)
        goto done;
    if ((rc = exec_retry(s, "PRAGMA synchronous = FULL", "open: set synchronous")) < 0)
        goto done;
    if ((rc = setup_schema(s)) < 0)
        goto done;
    for (int i = 0; i < ST_COUNT; i++) {
        if ((src = sqlite3_prepare_v3(s->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
                                      &s->stmt[i], NULL)) != SQLITE_OK) {
            rc = sq_fail(s, src, "open: prepare", NULL, NULL);
            goto done;
        }
    }
done:
    return rc;
}

/*
 * Opens the store in file path (created if create). Without create a
 * missing file is CIRRUS_ENOTFOUND. url is copied for messages.
 */
int sqlite_metastore_open(struct metastore **out, const char *path, const char *url, int create)
{
    int rc = 0;
    struct sqlite_store *s = NULL;
    struct stat st;
    if (!path[0]) {
        rc = err_set(CIRRUS_EINVALID, "metastore %s: empty file name", url);
        goto done;
    }
    if (!create && stat(path, &st) < 0 && errno == ENOENT) {
        rc = err_set(CIRRUS_ENOTFOUND, "sqlite %s: open: no such file", path);
        goto done;
    }
    if (!(s = calloc(1, sizeof(*s))) || !(s->path = strdup(path)) || !(s->base.url = strdup(url))) {
        rc = err_nomem();
        goto done;
    }
    s->base.ops = &sqlite_ops;
    s->base.max_value_len = MAX_VALUE_LEN;
    if (pthread_mutex_init(&s->mu, NULL) != 0) {
        rc = err_nomem();
        goto done;
    }
    s->mu_init = 1;
    if ((rc = sq_connect(s, create)) < 0)
        goto done;
    *out = &s->base;
    s = NULL;
done:
    sq_close(s ? &s->base : NULL);
    return rc;
}
