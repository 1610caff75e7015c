/*
 * engine_leveldb.c - LevelDB through its C API (leveldb/c.h, Debian's
 * libleveldb-dev 1.23; no pkg-config file, linked with -lleveldb).
 *
 * Settings: snappy compression (LevelDB 1.23 has no lz4; snappy is the
 * closest codec it offers), an LRU block cache of cfg->cache_bytes, bloom
 * filters of 10 bits/key, memtable of cfg->write_buffer, WAL on without
 * fsync per write (sync = false, the default). Defaults otherwise (4 KiB
 * blocks, 1000 open files).
 */
#include <leveldb/c.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

struct l_db {
    leveldb_t *db;
    leveldb_options_t *opts;
    leveldb_cache_t *cache;
    leveldb_filterpolicy_t *filter;
    leveldb_writeoptions_t *wo;
    leveldb_readoptions_t *ro;
};

static int failed(const char *what, char *err)
{
    int rc = 0;
    if (err) {
        fprintf(stderr, "cirrus-bench: leveldb %s: %s\n", what, err);
        leveldb_free(err);
        rc = -1;
    }
    return rc;
}

static void l_close(void *p)
{
    struct l_db *l = p;
    if (!l)
        return;
    if (l->db)
        leveldb_close(l->db);
    if (l->wo)
        leveldb_writeoptions_destroy(l->wo);
    if (l->ro)
        leveldb_readoptions_destroy(l->ro);
    if (l->opts)
        leveldb_options_destroy(l->opts);
    if (l->filter)
        leveldb_filterpolicy_destroy(l->filter);
    if (l->cache)
        leveldb_cache_destroy(l->cache);
    free(l);
}

static int l_open(void **out, const char *dir, const struct bench_config *cfg)
{
    char *err = NULL;
    int rc = -1;
    struct l_db *l = calloc(1, sizeof(*l));
    if (!l)
        goto done;
    l->opts = leveldb_options_create();
    l->cache = leveldb_cache_create_lru((size_t)cfg->cache_bytes);
    l->filter = leveldb_filterpolicy_create_bloom(10);
    leveldb_options_set_cache(l->opts, l->cache);
    leveldb_options_set_filter_policy(l->opts, l->filter);
    leveldb_options_set_create_if_missing(l->opts, 1);
    leveldb_options_set_compression(l->opts, leveldb_snappy_compression);
    leveldb_options_set_write_buffer_size(l->opts, (size_t)cfg->write_buffer);
    l->wo = leveldb_writeoptions_create();
    leveldb_writeoptions_set_sync(l->wo, 0);
    l->ro = leveldb_readoptions_create();
    l->db = leveldb_open(l->opts, dir, &err);
    if (failed("open", err) < 0)
        goto done;
    *out = l;
    l = NULL;
    rc = 0;
done:
    l_close(l);
    return rc;
}

static int l_put(void *p, const void *key, size_t key_len, const void *val, size_t val_len)
{
    struct l_db *l = p;
    char *err = NULL;
    leveldb_put(l->db, l->wo, key, key_len, val, val_len, &err);
    return failed("put", err);
}

static int l_get(void *p, const void *key, size_t key_len, const void **val, size_t *val_len,
                 void **rel)
{
    struct l_db *l = p;
    char *err = NULL;
    int rc;
    char *v = leveldb_get(l->db, l->ro, key, key_len, val_len, &err);
    if ((rc = failed("get", err)) == 0) {
        if (v) {
            *val = v;
            *rel = v;
        } else {
            rc = 1;
        }
    }
    return rc;
}

static void l_release(void *p, void *rel)
{
    (void)p;
    leveldb_free(rel);
}

static int l_sync(void *p)
{
    (void)p;
    return 0;
}

static int l_iter_new(void **out, void *p)
{
    struct l_db *l = p;
    *out = leveldb_create_iterator(l->db, l->ro);
    return 0;
}

static void l_iter_close(void *it)
{
    if (it)
        leveldb_iter_destroy(it);
}

static void l_iter_first(void *it)
{
    leveldb_iter_seek_to_first(it);
}

static void l_iter_seek(void *it, const void *key, size_t key_len)
{
    leveldb_iter_seek(it, key, key_len);
}

static void l_iter_next(void *it)
{
    leveldb_iter_next(it);
}

static int l_iter_valid(void *it)
{
    return leveldb_iter_valid(it);
}

static const void *l_iter_key(void *it, size_t *len_out)
{
    return leveldb_iter_key(it, len_out);
}

static const void *l_iter_value(void *it, size_t *len_out)
{
    return leveldb_iter_value(it, len_out);
}

static int l_iter_status(void *it)
{
    char *err = NULL;
    leveldb_iter_get_error(it, &err);
    return failed("iterator", err);
}

const struct bench_engine bench_engine_leveldb = {
    .name = "leveldb",
    .settings = "snappy (LevelDB has no lz4), LRU block cache, bloom 10 bits/key, WAL on without "
                "fsync per write, 4 KiB blocks and other defaults",
    .open = l_open,
    .close = l_close,
    .put = l_put,
    .get = l_get,
    .release = l_release,
    .sync = l_sync,
    .iter_new = l_iter_new,
    .iter_close = l_iter_close,
    .iter_first = l_iter_first,
    .iter_seek = l_iter_seek,
    .iter_next = l_iter_next,
    .iter_valid = l_iter_valid,
    .iter_key = l_iter_key,
    .iter_value = l_iter_value,
    .iter_status = l_iter_status,
};
