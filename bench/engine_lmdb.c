/*
 * engine_lmdb.c - LMDB (liblmdb-dev 0.9.24), a copy-on-write B+tree in one
 * memory-mapped file.
 *
 * Settings: MDB_NOSYNC (commits are written but not fsynced: a system crash
 * may lose the last transactions, or with a file system that reorders writes
 * corrupt the file; a process crash loses nothing), MDB_NOTLS (read
 * transactions are not tied to threads, so each thread keeps one for its
 * gets). One write transaction per put, as the other engines write one op at
 * a time. No compression and no block cache of its own: reads go through
 * the OS page cache.
 *
 * Gets reuse a read transaction per thread (mdb_txn_reset / mdb_txn_renew);
 * the handle remembers every such transaction and aborts them on close.
 */
#include <lmdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

struct m_txn {
    MDB_txn *txn;
    struct m_txn *next;
};

struct m_db {
    MDB_env *env;
    MDB_dbi dbi;
    uint64_t gen;       /* tells this handle's thread slots from a closed one's */
    pthread_mutex_t mu; /* guards txns */
    struct m_txn *txns; /* every thread's get transaction */
};

struct m_iter {
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    int valid;
    int rc;
};

static uint64_t next_gen = 1;
static pthread_mutex_t gen_mu = PTHREAD_MUTEX_INITIALIZER;
static _Thread_local struct {
    uint64_t gen;
    struct m_txn *slot;
} tl;

static int failed(const char *what, int rc)
{
    if (rc != 0 && rc != MDB_NOTFOUND)
        fprintf(stderr, "cirrus-bench: lmdb %s: %s\n", what, mdb_strerror(rc));
    return rc == 0 ? 0 : rc == MDB_NOTFOUND ? 1 : -1;
}

static void m_close(void *p)
{
    struct m_db *m = p;
    if (!m)
        return;
    while (m->txns) {
        struct m_txn *t = m->txns;
        m->txns = t->next;
        mdb_txn_abort(t->txn);
        free(t);
    }
    if (m->env)
        mdb_env_close(m->env);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static int m_open(void **out, const char *dir, const struct bench_config *cfg)
{
    MDB_txn *txn = NULL;
    int rc = -1;
    struct m_db *m = calloc(1, sizeof(*m));
    size_t map =
        (size_t)(cfg->num * (cfg->key_size + cfg->value_size + 32) * 4) + ((size_t)1 << 29);
    if (!m)
        goto done;
    pthread_mutex_init(&m->mu, NULL);
    pthread_mutex_lock(&gen_mu);
    m->gen = next_gen++;
    pthread_mutex_unlock(&gen_mu);
    if (failed("env_create", mdb_env_create(&m->env)) ||
        failed("set_mapsize", mdb_env_set_mapsize(m->env, map)) ||
        failed("set_maxreaders", mdb_env_set_maxreaders(m->env, 1024)) ||
        failed("open", mdb_env_open(m->env, dir, MDB_NOSYNC | MDB_NOTLS, 0644)) ||
        failed("txn_begin", mdb_txn_begin(m->env, NULL, 0, &txn)) ||
        failed("dbi_open", mdb_dbi_open(txn, NULL, 0, &m->dbi)))
        goto done;
    rc = failed("txn_commit", mdb_txn_commit(txn));
    txn = NULL;
    if (rc < 0)
        goto done;
    *out = m;
    m = NULL;
    rc = 0;
done:
    if (txn)
        mdb_txn_abort(txn);
    m_close(m);
    return rc;
}

static int m_put(void *p, const void *key, size_t key_len, const void *val, size_t val_len)
{
    struct m_db *m = p;
    MDB_txn *txn = NULL;
    MDB_val k = {key_len, (void *)key}, v = {val_len, (void *)val};
    int rc = failed("txn_begin", mdb_txn_begin(m->env, NULL, 0, &txn));
    if (rc == 0 && (rc = failed("put", mdb_put(txn, m->dbi, &k, &v, 0))) == 0) {
        rc = failed("txn_commit", mdb_txn_commit(txn));
        txn = NULL;
    }
    if (txn)
        mdb_txn_abort(txn);
    return rc;
}

/* This thread's read transaction, renewed; NULL on failure (printed). */
static MDB_txn *thread_txn(struct m_db *m)
{
    struct m_txn *t = NULL;
    if (tl.gen == m->gen && tl.slot) {
        if (failed("txn_renew", mdb_txn_renew(tl.slot->txn)) == 0)
            t = tl.slot;
    } else if ((t = calloc(1, sizeof(*t))) != NULL) {
        if (failed("txn_begin", mdb_txn_begin(m->env, NULL, MDB_RDONLY, &t->txn)) == 0) {
            pthread_mutex_lock(&m->mu);
            t->next = m->txns;
            m->txns = t;
            pthread_mutex_unlock(&m->mu);
            tl.gen = m->gen;
            tl.slot = t;
        } else {
            free(t);
            t = NULL;
        }
    }
    return t ? t->txn : NULL;
}

static int m_get(void *p, const void *key, size_t key_len, const void **val, size_t *val_len,
                 void **rel)
{
    struct m_db *m = p;
    MDB_val k = {key_len, (void *)key}, v;
    MDB_txn *txn = thread_txn(m);
    int rc = -1;
    if (txn) {
        rc = failed("get", mdb_get(txn, m->dbi, &k, &v));
        if (rc == 0) {
            *val = v.mv_data;
            *val_len = v.mv_size;
            *rel = txn;
        } else {
            mdb_txn_reset(txn);
        }
    }
    return rc;
}

static void m_release(void *p, void *rel)
{
    (void)p;
    mdb_txn_reset(rel);
}

static int m_sync(void *p)
{
    (void)p;
    return 0;
}

static void m_iter_close(void *p)
{
    struct m_iter *it = p;
    if (!it)
        return;
    if (it->cur)
        mdb_cursor_close(it->cur);
    if (it->txn)
        mdb_txn_abort(it->txn);
    free(it);
}

static int m_iter_new(void **out, void *p)
{
    struct m_db *m = p;
    int rc = -1;
    struct m_iter *it = calloc(1, sizeof(*it));
    if (it && failed("txn_begin", mdb_txn_begin(m->env, NULL, MDB_RDONLY, &it->txn)) == 0 &&
        failed("cursor_open", mdb_cursor_open(it->txn, m->dbi, &it->cur)) == 0) {
        *out = it;
        it = NULL;
        rc = 0;
    }
    m_iter_close(it);
    return rc;
}

static void step(struct m_iter *it, MDB_cursor_op op)
{
    int rc = mdb_cursor_get(it->cur, &it->k, &it->v, op);
    it->valid = rc == 0;
    if (rc != 0 && rc != MDB_NOTFOUND)
        it->rc = rc;
}

static void m_iter_first(void *p)
{
    step(p, MDB_FIRST);
}

static void m_iter_seek(void *p, const void *key, size_t key_len)
{
    struct m_iter *it = p;
    it->k.mv_data = (void *)key;
    it->k.mv_size = key_len;
    step(it, MDB_SET_RANGE);
}

static void m_iter_next(void *p)
{
    step(p, MDB_NEXT);
}

static int m_iter_valid(void *p)
{
    return ((struct m_iter *)p)->valid;
}

static const void *m_iter_key(void *p, size_t *len_out)
{
    struct m_iter *it = p;
    *len_out = it->k.mv_size;
    return it->k.mv_data;
}

static const void *m_iter_value(void *p, size_t *len_out)
{
    struct m_iter *it = p;
    *len_out = it->v.mv_size;
    return it->v.mv_data;
}

static int m_iter_status(void *p)
{
    struct m_iter *it = p;
    return it->rc ? failed("cursor", it->rc) : 0;
}

const struct bench_engine bench_engine_lmdb = {
    .name = "lmdb",
    .settings = "MDB_NOSYNC | MDB_NOTLS, one write txn per put, no compression, OS page cache "
                "only",
    .open = m_open,
    .close = m_close,
    .put = m_put,
    .get = m_get,
    .release = m_release,
    .sync = m_sync,
    .iter_new = m_iter_new,
    .iter_close = m_iter_close,
    .iter_first = m_iter_first,
    .iter_seek = m_iter_seek,
    .iter_next = m_iter_next,
    .iter_valid = m_iter_valid,
    .iter_key = m_iter_key,
    .iter_value = m_iter_value,
    .iter_status = m_iter_status,
};
