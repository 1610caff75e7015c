/*
 * metastore.h - the metadata store interface: small items with strongly
 * consistent conditional writes. Everything distributed in cirrus (the
 * commit head, the log, manifest pointers, leases) rests on these five
 * operations; nothing may need multi-item transactions.
 *
 * An item is addressed by (pk, sk): a partition key and a sort key, both
 * NUL-terminated strings ordered by unsigned byte comparison. It holds a
 * value (bytes, at most ms->max_value_len) and a version (a positive integer
 * the store maintains: 1 when created, +1 on every put_if_version).
 *
 * Contract (every backend passes tests/conformance/test_metastore.c):
 *  1. Every read is strongly consistent: it sees every write that returned
 *     success before the read began, from any process.
 *  2. put_if_absent creates the item at version 1, or fails with
 *     CIRRUS_ECONFLICT if it exists. Of N racing callers exactly one wins.
 *  3. put_if_version replaces value and sets version = expected + 1 if the
 *     item exists at version `expected`, else CIRRUS_ECONFLICT. Of N racing
 *     callers with the same expected version exactly one wins.
 *  4. delete_if_version deletes if the version matches, else CIRRUS_ECONFLICT
 *     (also when absent).
 *  5. query returns items of one partition with from <= sk < to (to NULL:
 *     unbounded), ascending or descending, at most limit (0: no limit).
 *  6. A write that returns anything but 0 or CIRRUS_ECONFLICT (a timeout, a
 *     lost connection) may or may not have been applied: callers must read
 *     back before they assume either.
 *
 * Every store counts the requests made of it (metastore_stats()): the
 * metastore_* calls below bump the counters of the store they are called on
 * before they dispatch to its backend, so a fault wrapper counts what
 * reached it and the store under it what reached that one. Writes are also
 * timed, into a latency histogram (util/histogram.h). The counters are
 * relaxed atomics: a store is called from many threads, and a reader wants
 * totals, not an order among them.
 *
 * Backends: sqlite (sqlite.c), dynamodb (dynamodb.c), fault (fault.c,
 * wraps another store; only a "fault:" URL or fault_metastore_wrap() makes
 * one).
 */
#ifndef CIRRUS_METASTORE_H
#define CIRRUS_METASTORE_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "util/histogram.h"
#include "util/sys.h"

struct metastore;

struct meta_item {
    char *sk;       /* malloc'd */
    uint8_t *value; /* malloc'd, value_len bytes (may be NULL when 0) */
    size_t value_len;
    uint64_t version;
};

struct metastore_ops {
    const char *kind; /* "sqlite", "dynamodb", "fault" */
    /* CIRRUS_ENOTFOUND when absent. *value_out is malloc'd (caller frees). */
    int (*get)(struct metastore *ms, const char *pk, const char *sk, uint8_t **value_out,
               size_t *len_out, uint64_t *version_out);
    int (*put_if_absent)(struct metastore *ms, const char *pk, const char *sk, const void *value,
                         size_t len);
    int (*put_if_version)(struct metastore *ms, const char *pk, const char *sk, const void *value,
                          size_t len, uint64_t expected);
    int (*delete_if_version)(struct metastore *ms, const char *pk, const char *sk,
                             uint64_t expected);
    /* *items_out is a malloc'd array of *n_out items; free with
     * meta_items_free(). */
    int (*query)(struct metastore *ms, const char *pk, const char *from, const char *to,
                 size_t limit, int reverse, struct meta_item **items_out, size_t *n_out);
    void (*close)(struct metastore *ms);
};

/* The requests made of one store since it was opened: every call counts,
 * failed ones too (a request that failed was still made). */
struct metastore_stats {
    uint64_t gets;
    uint64_t puts; /* put_if_absent and put_if_version */
    uint64_t deletes, queries;
    uint64_t bytes_written; /* value bytes handed to the puts */
    uint64_t bytes_read;    /* value bytes get() and query() returned */
};

/* The counters behind metastore_stats(). Only the metastore_* calls below
 * touch them; zero, as the calloc of a backend's struct leaves them, is
 * the state of a new store. */
struct metastore_counters {
    _Atomic uint64_t gets, puts, deletes, queries, bytes_written, bytes_read;
    struct histogram write_us; /* latency of the puts and deletes */
};

struct metastore {
    const struct metastore_ops *ops;
    char *url;                   /* as opened, for messages (no secrets) */
    size_t max_value_len;        /* largest value a put accepts, bytes */
    struct metastore_counters n; /* requests made of this store */
};

/*
 * Opens the store named by url:
 *   sqlite:PATH or sqlite://PATH   sqlite backend (file created if create)
 *   dynamodb://TABLE               dynamodb backend (endpoint, credentials
 *                                  and region from AWS_* env; table created
 *                                  if missing and create)
 *   fault:INNER?SPEC               the store INNER names, wrapped by the
 *                                  fault injector (metastore/fault.h): the
 *                                  one way to inject faults
 * Returns 0, CIRRUS_EINVALID, CIRRUS_ENOTFOUND, CIRRUS_EIO, CIRRUS_ENOMEM.
 */
int metastore_open(struct metastore **out, const char *url, int create);

/* Adds n to one of a store's counters (the calls below, before they
 * dispatch). */
static inline void metastore_count(_Atomic uint64_t *counter, uint64_t n)
{
    atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static inline int metastore_get(struct metastore *ms, const char *pk, const char *sk,
                                uint8_t **value_out, size_t *len_out, uint64_t *version_out)
{
    metastore_count(&ms->n.gets, 1);
    int rc = ms->ops->get(ms, pk, sk, value_out, len_out, version_out);
    if (rc == 0 && len_out)
        metastore_count(&ms->n.bytes_read, *len_out);
    return rc;
}
static inline int metastore_put_if_absent(struct metastore *ms, const char *pk, const char *sk,
                                          const void *value, size_t len)
{
    metastore_count(&ms->n.puts, 1);
    metastore_count(&ms->n.bytes_written, len);
    uint64_t start = mono_ns();
    int rc = ms->ops->put_if_absent(ms, pk, sk, value, len);
    histogram_since(&ms->n.write_us, start, mono_ns());
    return rc;
}
static inline int metastore_put_if_version(struct metastore *ms, const char *pk, const char *sk,
                                           const void *value, size_t len, uint64_t expected)
{
    metastore_count(&ms->n.puts, 1);
    metastore_count(&ms->n.bytes_written, len);
    uint64_t start = mono_ns();
    int rc = ms->ops->put_if_version(ms, pk, sk, value, len, expected);
    histogram_since(&ms->n.write_us, start, mono_ns());
    return rc;
}
static inline int metastore_delete_if_version(struct metastore *ms, const char *pk, const char *sk,
                                              uint64_t expected)
{
    metastore_count(&ms->n.deletes, 1);
    uint64_t start = mono_ns();
    int rc = ms->ops->delete_if_version(ms, pk, sk, expected);
    histogram_since(&ms->n.write_us, start, mono_ns());
    return rc;
}
static inline int metastore_query(struct metastore *ms, const char *pk, const char *from,
                                  const char *to, size_t limit, int reverse,
                                  struct meta_item **items_out, size_t *n_out)
{
    metastore_count(&ms->n.queries, 1);
    int rc = ms->ops->query(ms, pk, from, to, limit, reverse, items_out, n_out);
    if (rc == 0) {
        uint64_t bytes = 0;
        for (size_t i = 0; i < *n_out; i++)
            bytes += (*items_out)[i].value_len;
        metastore_count(&ms->n.bytes_read, bytes);
    }
    return rc;
}

/* The requests made of ms so far (borrowed; any thread, any time while ms
 * is open). Each counter is read once, not all at one instant: a call in
 * flight may be in some totals and not yet in others. */
static inline void metastore_stats(struct metastore *ms, struct metastore_stats *out)
{
    out->gets = atomic_load_explicit(&ms->n.gets, memory_order_relaxed);
    out->puts = atomic_load_explicit(&ms->n.puts, memory_order_relaxed);
    out->deletes = atomic_load_explicit(&ms->n.deletes, memory_order_relaxed);
    out->queries = atomic_load_explicit(&ms->n.queries, memory_order_relaxed);
    out->bytes_written = atomic_load_explicit(&ms->n.bytes_written, memory_order_relaxed);
    out->bytes_read = atomic_load_explicit(&ms->n.bytes_read, memory_order_relaxed);
}

/* Accepts NULL. */
void metastore_close(struct metastore *ms);
void meta_items_free(struct meta_item *items, size_t n);

#endif
