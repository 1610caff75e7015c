/*
 * engine_cirrus.c - cirrus on its embedded default (a directory of objects
 * plus a SQLite metadata file), through the public API only.
 *
 * Settings: the documented defaults (CIRRUS_OPTIONS_INIT): group commit every
 * 100 ms, puts return once buffered (no CIRRUS_WRITE_WAIT), lz4 blocks of
 * 16 KiB, 10-bit bloom filters, the default write slowdown, memtable of
 * cfg->write_buffer, block cache of cfg->cache_bytes.
 */
#include <stdio.h>
#include <stdlib.h>

#include "bench.h"
#include "cirrus.h"

static void report(const char *what, int rc)
{
    fprintf(stderr, "cirrus-bench: cirrus %s: %s (%s)\n", what, cirrus_strerror(rc),
            cirrus_errmsg());
}

static int c_open(void **out, const char *dir, const struct bench_config *cfg)
{
    cirrus_options o = CIRRUS_OPTIONS_INIT;
    cirrus_db *db = NULL;
    int rc;
    o.write_buffer_size = (size_t)cfg->write_buffer;
    o.block_cache_bytes = cfg->cache_bytes; /* the same cache as RocksDB's and LevelDB's */
    if ((rc = cirrus_open(&db, dir, &o)) < 0) {
        report("open", rc);
        return -1;
    }
    *out = db;
    return 0;
}

static void c_close(void *db)
{
    int rc = cirrus_close(db);
    if (rc < 0)
        report("close", rc);
}

static int c_put(void *db, const void *key, size_t key_len, const void *val, size_t val_len)
{
    int rc = cirrus_put(db, key, key_len, val, val_len);
    if (rc < 0)
        report("put", rc);
    return rc < 0 ? -1 : 0;
}

static int c_get(void *db, const void *key, size_t key_len, const void **val, size_t *val_len,
                 void **rel)
{
    void *v = NULL;
    size_t n = 0;
    int rc = cirrus_get(db, NULL, key, key_len, &v, &n);
    if (rc == 0) {
        *val = v;
        *val_len = n;
        *rel = v;
    } else if (rc != CIRRUS_ENOTFOUND) {
        report("get", rc);
    }
    return rc == 0 ? 0 : rc == CIRRUS_ENOTFOUND ? 1 : -1;
}

static void c_release(void *db, void *rel)
{
    (void)db;
    cirrus_free(rel);
}

static int c_sync(void *db)
{
    int rc = cirrus_flush(db, NULL);
    if (rc < 0)
        report("flush", rc);
    return rc < 0 ? -1 : 0;
}

static void c_describe(void *db, struct bench_row *row)
{
    cirrus_stats s;
    if (cirrus_stats_get(db, &s) == 0) {
        row_extra(row, "l0_files", "%llu", (unsigned long long)s.level_files[0]);
        row_extra(row, "live_files", "%llu", (unsigned long long)s.live_files);
        row_extra(row, "live_mib", "%.1f", (double)s.live_bytes / 1048576.0);
    }
}

static int c_iter_new(void **out, void *db)
{
    cirrus_iter *it = NULL;
    int rc = cirrus_iter_new(&it, db, NULL);
    if (rc < 0)
        report("iter_new", rc);
    else
        *out = it;
    return rc < 0 ? -1 : 0;
}

static void c_iter_close(void *it)
{
    cirrus_iter_close(it);
}

static void c_iter_first(void *it)
{
    cirrus_iter_first(it);
}

static void c_iter_seek(void *it, const void *key, size_t key_len)
{
    cirrus_iter_seek(it, key, key_len);
}

static void c_iter_next(void *it)
{
    cirrus_iter_next(it);
}

static int c_iter_valid(void *it)
{
    return cirrus_iter_valid(it);
}

static const void *c_iter_key(void *it, size_t *len_out)
{
    return cirrus_iter_key(it, len_out);
}

static const void *c_iter_value(void *it, size_t *len_out)
{
    return cirrus_iter_value(it, len_out);
}

static int c_iter_status(void *it)
{
    int rc = cirrus_iter_status(it);
    if (rc < 0)
        report("iterator", rc);
    return rc < 0 ? -1 : 0;
}

const struct bench_engine bench_engine_cirrus = {
    .name = "cirrus",
    .settings = "embedded default (directory + SQLite); defaults: 100 ms group commit, puts not "
                "waited for, lz4, 16 KiB blocks, bloom 10 bits/key, block cache as the others, "
                "default write slowdown (20 L0 files, 16 MiB/s)",
    .open = c_open,
    .close = c_close,
    .put = c_put,
    .get = c_get,
    .release = c_release,
    .sync = c_sync,
    .iter_new = c_iter_new,
    .iter_close = c_iter_close,
    .iter_first = c_iter_first,
    .iter_seek = c_iter_seek,
    .iter_next = c_iter_next,
    .iter_valid = c_iter_valid,
    .iter_key = c_iter_key,
    .iter_value = c_iter_value,
    .iter_status = c_iter_status,
    .describe = c_describe,
};
