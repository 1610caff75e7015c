/*
 * engine_rocksdb.c - RocksDB through its C API (rocksdb/c.h, Debian's
 * librocksdb-dev).
 *
 * Settings: lz4 compression, an LRU block cache of cfg->cache_bytes, full
 * bloom filters of 10 bits/key, memtable of cfg->write_buffer, WAL on and no
 * fsync per write (WriteOptions::sync = false, the default). Everything else
 * is RocksDB's default (4 KiB blocks, two background jobs).
 */
#include <rocksdb/c.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"

struct r_db {
    rocksdb_t *db;
    rocksdb_options_t *opts;
    rocksdb_block_based_table_options_t *topts;
    rocksdb_cache_t *cache;
    rocksdb_writeoptions_t *wo;
    rocksdb_readoptions_t *ro;
};

static int failed(const char *what, char *err)
{
    int rc = 0;
    if (err) {
        fprintf(stderr, "cirrus-bench: rocksdb %s: %s\n", what, err);
        rocksdb_free(err);
        rc = -1;
    }
    return rc;
}

static void r_close(void *p)
{
    struct r_db *r = p;
    if (!r)
        return;
    if (r->db)
        rocksdb_close(r->db);
    if (r->wo)
        rocksdb_writeoptions_destroy(r->wo);
    if (r->ro)
        rocksdb_readoptions_destroy(r->ro);
    if (r->opts)
        rocksdb_options_destroy(r->opts);
    if (r->topts)
        rocksdb_block_based_options_destroy(r->topts);
    if (r->cache)
        rocksdb_cache_destroy(r->cache);
    free(r);
}

static int r_open(void **out, const char *dir, const struct bench_config *cfg)
{
    char *err = NULL;
    int rc = -1;
    struct r_db *r = calloc(1, sizeof(*r));
    if (!r)
        goto done;
    r->opts = rocksdb_options_create();
    r->topts = rocksdb_block_based_options_create();
    r->cache = rocksdb_cache_create_lru((size_t)cfg->cache_bytes);
    rocksdb_block_based_options_set_block_cache(r->topts, r->cache);
    rocksdb_block_based_options_set_filter_policy(r->topts,
                                                  rocksdb_filterpolicy_create_bloom_full(10));
    rocksdb_options_set_block_based_table_factory(r->opts, r->topts);
    rocksdb_options_set_create_if_missing(r->opts, 1);
    rocksdb_options_set_compression(r->opts, rocksdb_lz4_compression);
    rocksdb_options_set_write_buffer_size(r->opts, (size_t)cfg->write_buffer);
    r->wo = rocksdb_writeoptions_create();
    rocksdb_writeoptions_set_sync(r->wo, 0);
    r->ro = rocksdb_readoptions_create();
    r->db = rocksdb_open(r->opts, dir, &err);
    if (failed("open", err) < 0)
        goto done;
    *out = r;
    r = NULL;
    rc = 0;
done:
    r_close(r);
    return rc;
}

static int r_put(void *p, const void *key, size_t key_len, const void *val, size_t val_len)
{
    struct r_db *r = p;
    char *err = NULL;
    rocksdb_put(r->db, r->wo, key, key_len, val, val_len, &err);
    return failed("put", err);
}

static int r_get(void *p, const void *key, size_t key_len, const void **val, size_t *val_len,
                 void **rel)
{
    struct r_db *r = p;
    char *err = NULL;
    int rc;
    rocksdb_pinnableslice_t *s = rocksdb_get_pinned(r->db, r->ro, key, key_len, &err);
    if ((rc = failed("get", err)) == 0) {
        const char *v = s ? rocksdb_pinnableslice_value(s, val_len) : NULL;
        if (v) {
            *val = v;
            *rel = s;
        } else {
            rocksdb_pinnableslice_destroy(s);
            rc = 1;
        }
    }
    return rc;
}

static void r_release(void *p, void *rel)
{
    (void)p;
    rocksdb_pinnableslice_destroy(rel);
}

static int r_sync(void *p)
{
    (void)p;
    return 0;
}

static int r_iter_new(void **out, void *p)
{
    struct r_db *r = p;
    *out = rocksdb_create_iterator(r->db, r->ro);
    return 0;
}

static void r_iter_close(void *it)
{
    if (it)
        rocksdb_iter_destroy(it);
}

static void r_iter_first(void *it)
{
    rocksdb_iter_seek_to_first(it);
}

static void r_iter_seek(void *it, const void *key, size_t key_len)
{
    rocksdb_iter_seek(it, key, key_len);
}

static void r_iter_next(void *it)
{
    rocksdb_iter_next(it);
}

static int r_iter_valid(void *it)
{
    return rocksdb_iter_valid(it);
}

static const void *r_iter_key(void *it, size_t *len_out)
{
    return rocksdb_iter_key(it, len_out);
}

static const void *r_iter_value(void *it, size_t *len_out)
{
    return rocksdb_iter_value(it, len_out);
}

static int r_iter_status(void *it)
{
    char *err = NULL;
    rocksdb_iter_get_error(it, &err);
    return failed("iterator", err);
}

const struct bench_engine bench_engine_rocksdb = {
    .name = "rocksdb",
    .settings = "lz4, LRU block cache, full bloom 10 bits/key, WAL on without fsync per write, "
                "4 KiB blocks and other defaults",
    .open = r_open,
    .close = r_close,
    .put = r_put,
    .get = r_get,
    .release = r_release,
    .sync = r_sync,
    .iter_new = r_iter_new,
    .iter_close = r_iter_close,
    .iter_first = r_iter_first,
    .iter_seek = r_iter_seek,
    .iter_next = r_iter_next,
    .iter_valid = r_iter_valid,
    .iter_key = r_iter_key,
    .iter_value = r_iter_value,
    .iter_status = r_iter_status,
};
