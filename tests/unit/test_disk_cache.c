/* cirrus-test-libs: cache table testsupport */
/*
 * test_disk_cache.c - the disk cache object store over an in-memory store:
 * requests saved, ranges across chunks, corrupt chunk files never served,
 * the size bound, restarts, write-through puts, deletes, two instances on
 * one directory, and an SST reader's cold reads through it.
 *
 * The inner store is a memstore behind a counting wrapper (below) whose
 * close does not close the memstore, so one set of objects outlives several
 * cache instances ("restarts").
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "cache/disk_cache.h"
#include "objstore/objstore.h"
#include "support/memstore.h"
#include "support/tmpdir.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "util/status.h"

#define C DISK_CACHE_CHUNK

/* ---- a store that counts the requests it forwards ------------------------ */

struct cstore {
    struct objstore base;
    struct objstore *inner; /* borrowed */
    pthread_mutex_t mu;
    uint64_t gets, puts, heads, dels, lists;
};

#define CS(os) ((struct cstore *)(os))

static void bump(struct cstore *c, uint64_t *n)
{
    pthread_mutex_lock(&c->mu);
    (*n)++;
    pthread_mutex_unlock(&c->mu);
}

static int cs_put(struct objstore *os, const char *name, const void *data, size_t len)
{
    bump(CS(os), &CS(os)->puts);
    return objstore_put(CS(os)->inner, name, data, len);
}

static int cs_get(struct objstore *os, const char *name, uint64_t off, size_t len, void *dst,
                  size_t *got_out)
{
    bump(CS(os), &CS(os)->gets);
    return objstore_get(CS(os)->inner, name, off, len, dst, got_out);
}

static int cs_get_all(struct objstore *os, const char *name, uint8_t **data_out, size_t *len_out)
{
    bump(CS(os), &CS(os)->gets);
    return objstore_get_all(CS(os)->inner, name, data_out, len_out);
}

static int cs_head(struct objstore *os, const char *name, uint64_t *size_out)
{
    bump(CS(os), &CS(os)->heads);
    return objstore_head(CS(os)->inner, name, size_out);
}

static int cs_del(struct objstore *os, const char *name)
{
    bump(CS(os), &CS(os)->dels);
    return objstore_del(CS(os)->inner, name);
}

static int cs_list(struct objstore *os, const char *prefix,
                   int (*fn)(const struct objstore_entry *e, void *arg), void *arg)
{
    bump(CS(os), &CS(os)->lists);
    return objstore_list(CS(os)->inner, prefix, fn, arg);
}

static void cs_close(struct objstore *os)
{
    pthread_mutex_destroy(&CS(os)->mu);
    free(os);
}

static const struct objstore_ops cs_ops = {
    "counting", cs_put, cs_get, cs_get_all, cs_head, cs_del, cs_list, cs_close, NULL,
};

static struct cstore *counting(struct objstore *inner)
{
    struct cstore *c = calloc(1, sizeof(*c));
    assert_non_null(c);
    c->base.ops = &cs_ops;
    c->inner = inner;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

static uint64_t gets(struct cstore *c)
{
    pthread_mutex_lock(&c->mu);
    uint64_t n = c->gets;
    pthread_mutex_unlock(&c->mu);
    return n;
}

/* ---- fixture ------------------------------------------------------------- */

struct fix {
    char *dir;            /* the cache directory */
    struct objstore *mem; /* the objects */
    struct cstore *count; /* counts what reaches mem through the cache */
    struct objstore *dc;  /* the cache */
};

static void fix_open(struct fix *f, uint64_t capacity)
{
    f->count = counting(f->mem);
    int rc = disk_cache_wrap(&f->dc, &f->count->base, f->dir, capacity);
    if (rc != 0)
        fail_msg("wrap: %s", cirrus_errmsg());
}

/* Closes the cache (and the counting store); the objects and dir stay. */
static void fix_close(struct fix *f)
{
    f->dc->ops->close(f->dc);
    f->dc = NULL;
    f->count = NULL;
}

static void fix_init(struct fix *f, uint64_t capacity)
{
    memset(f, 0, sizeof(*f));
    f->dir = tmpdir_make("diskcache");
    assert_int_equal(memstore_open(&f->mem), 0);
    fix_open(f, capacity);
}

static void fix_free(struct fix *f)
{
    if (f->dc)
        fix_close(f);
    f->mem->ops->close(f->mem);
    tmpdir_remove(f->dir);
}

/* Random bytes, stored straight into the objects (not through the cache). */
static uint8_t *object(struct fix *f, const char *name, size_t len, unsigned seed)
{
    uint8_t *d = malloc(len ? len : 1);
    assert_non_null(d);
    uint64_t x = seed * 0x9e3779b97f4a7c15ull + 1;
    for (size_t i = 0; i < len; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        d[i] = (uint8_t)x;
    }
    assert_int_equal(objstore_put(f->mem, name, d, len), 0);
    return d;
}

/* get(off, len) through the cache returns what the object holds there, and
 * costs `requests` inner gets (-1: do not check). */
static void expect_range(struct fix *f, const char *name, const uint8_t *want, size_t size,
                         uint64_t off, size_t len, int requests)
{
    uint8_t *buf = malloc(len ? len : 1);
    assert_non_null(buf);
    size_t got = 12345;
    uint64_t before = gets(f->count);
    int rc = objstore_get(f->dc, name, off, len, buf, &got);
    if (rc != 0)
        fail_msg("get %s %llu+%zu: %s", name, (unsigned long long)off, len, cirrus_errmsg());
    size_t expect = off >= size ? 0 : (size - off < len ? (size_t)(size - off) : len);
    assert_int_equal(got, expect);
    if (expect)
        assert_memory_equal(buf, want + off, expect);
    if (requests >= 0)
        assert_int_equal(gets(f->count) - before, (uint64_t)requests);
    free(buf);
}

static struct disk_cache_stats dstats(struct fix *f)
{
    struct disk_cache_stats st;
    assert_int_equal(disk_cache_stats(f->dc, &st), 0);
    return st;
}

/* ---- tests --------------------------------------------------------------- */

static void second_read_is_a_hit(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, 64 * C);
    size_t size = 3 * C + C / 2;
    uint8_t *d = object(&f, "sst/a.sst", size, 1);
    expect_range(&f, "sst/a.sst", d, size, 100, 5000, 1);
    expect_range(&f, "sst/a.sst", d, size, 100, 5000, 0);
    expect_range(&f, "sst/a.sst", d, size, 7, 20000, 0); /* same chunk, other bytes */
    struct disk_cache_stats st = dstats(&f);
    assert_int_equal(st.misses, 1);
    assert_int_equal(st.hits, 2);
    assert_int_equal(st.requests, 1);
    assert_int_equal(st.bytes_fetched, C);
    assert_int_equal(st.n_chunks, 1);
    assert_true(st.bytes_used > C && st.bytes_used < C + 1024);
    assert_int_equal(st.capacity, 64 * C);
    /* head and list are the inner store's answers */
    uint64_t sz = 0;
    assert_int_equal(objstore_head(f.dc, "sst/a.sst", &sz), 0);
    assert_int_equal(sz, size);
    assert_int_equal(f.count->heads, 1);
    assert_int_equal(objstore_head(f.dc, "sst/none", &sz), CIRRUS_ENOTFOUND);
    /* a missing object is the inner store's ENOTFOUND */
    uint8_t b[10];
    size_t got;
    assert_int_equal(objstore_get(f.dc, "sst/none", 0, 10, b, &got), CIRRUS_ENOTFOUND);
    assert_string_equal(f.dc->ops->kind, "diskcache");
    assert_int_equal(disk_cache_stats(f.mem, &st), CIRRUS_EINVALID);
    free(d);
    fix_free(&f);
}

static void ranges_across_chunk_boundaries(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, 64 * C);
    size_t size = 5 * C + 1234;
    uint8_t *d = object(&f, "o", size, 2);
    /* two missing chunks next to each other: one request */
    expect_range(&f, "o", d, size, C - 100, 300, 1);
    /* chunks 0-1 cached, 2 missing: one request for 2 */
    expect_range(&f, "o", d, size, C - 100, 2 * C, 1);
    /* chunk 4 alone, then 0..5 has 3 and 5 missing apart: two requests */
    expect_range(&f, "o", d, size, 4 * C + 5, 10, 1);
    expect_range(&f, "o", d, size, 0, size, 2);
    /* now everything is local: any range, including past the end */
    expect_range(&f, "o", d, size, 0, size, 0);
    expect_range(&f, "o", d, size, size - 10, 100, 0);
    expect_range(&f, "o", d, size, size, 100, 0);
    /* past the end where no chunk is local: only the store can say */
    expect_range(&f, "o", d, size, size + 5 * C, 100, 1);
    expect_range(&f, "o", d, size, 5 * C, 1234, 0);
    uint64_t x = 77;
    for (int i = 0; i < 200; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        uint64_t off = x % (size + 100);
        size_t len = (size_t)((x >> 32) % (2 * C + 10));
        expect_range(&f, "o", d, size, off, len, len ? 0 : 1);
    }
    /* an object whose size is a multiple of the chunk size, and a short one */
    uint8_t *e = object(&f, "exact", 2 * C, 3);
    expect_range(&f, "exact", e, 2 * C, C, C + 10, 1);
    expect_range(&f, "exact", e, 2 * C, 0, 2 * C, 1);
    expect_range(&f, "exact", e, 2 * C, 0, 2 * C + 10, 0); /* chunk 1 knows the size */
    uint8_t *s = object(&f, "tiny", 3, 4);
    expect_range(&f, "tiny", s, 3, 0, 100, 1);
    expect_range(&f, "tiny", s, 3, 1, 100, 0);
    expect_range(&f, "tiny", s, 3, 10, 100, 0);
    free(s);
    free(e);
    free(d);
    fix_free(&f);
}

struct files {
    char paths[64][1024];
    int n;
};

static int collect(const char *path, void *arg)
{
    struct files *fs = arg;
    if (fs->n < 64 && !strstr(path, ".tmp-"))
        snprintf(fs->paths[fs->n++], sizeof(fs->paths[0]), "%s", path);
    return 0;
}

/* Calls fn for every chunk file (DIR/HH/..., temporaries excluded). */
static void each_chunk_file(struct fix *f, int (*fn)(const char *path, void *arg), void *arg)
{
    char sub[8];
    for (int i = 0; i < 256; i++) {
        snprintf(sub, sizeof(sub), "%02x/", i);
        tmpdir_each_file(f->dir, sub, fn, arg);
    }
}

static void chunk_files(struct fix *f, struct files *fs)
{
    fs->n = 0;
    each_chunk_file(f, collect, fs);
}

static void flip_byte(const char *path, long at)
{
    FILE *fp = fopen(path, "r+b");
    assert_non_null(fp);
    if (at < 0) {
        fseek(fp, 0, SEEK_END);
        at += ftell(fp);
    }
    fseek(fp, at, SEEK_SET);
    int c = fgetc(fp);
    fseek(fp, at, SEEK_SET);
    fputc(c ^ 0x20, fp);
    fclose(fp);
}

static void corrupt_chunks_are_refetched(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, 64 * C);
    size_t size = 4 * C;
    uint8_t *d = object(&f, "sst/c.sst", size, 5);
    expect_range(&f, "sst/c.sst", d, size, 0, size, 1);
    struct files fs;
    chunk_files(&f, &fs);
    assert_int_equal(fs.n, 4);
    /* a data byte, a header byte (chunk size field), a truncation, and a
     * file emptied entirely */
    flip_byte(fs.paths[0], -1000);
    flip_byte(fs.paths[1], 9);
    assert_int_equal(truncate(fs.paths[2], C / 2), 0);
    assert_int_equal(truncate(fs.paths[3], 0), 0);
    /* every byte still right; the bad chunks come back in one request */
    expect_range(&f, "sst/c.sst", d, size, 0, size, 1);
    struct disk_cache_stats st = dstats(&f);
    assert_int_equal(st.corrupt, 4);
    expect_range(&f, "sst/c.sst", d, size, 0, size, 0); /* and are good again */
    /* a byte flipped in the middle chunk only: just that one is fetched */
    chunk_files(&f, &fs);
    for (int i = 0; i < fs.n; i++) {
        size_t pl = strlen(fs.paths[i]);
        if (pl > 2 && strcmp(fs.paths[i] + pl - 2, "-2") == 0)
            flip_byte(fs.paths[i], 5000);
    }
    expect_range(&f, "sst/c.sst", d, size, C, 3 * C, 1);
    assert_int_equal(dstats(&f).corrupt, 5);
    assert_int_equal(dstats(&f).misses, 4 + 4 + 1);
    free(d);
    fix_free(&f);
}

static int add_size(const char *path, void *arg)
{
    struct stat st;
    if (stat(path, &st) == 0)
        *(uint64_t *)arg += (uint64_t)st.st_size;
    return 0;
}

static uint64_t dir_bytes(struct fix *f)
{
    uint64_t n = 0;
    each_chunk_file(f, add_size, &n);
    return n;
}

static void eviction_keeps_the_bound(void **state)
{
    (void)state;
    struct fix f;
    uint64_t cap = 4 * C + C / 2; /* room for 4 chunk files */
    fix_init(&f, cap);
    enum { N = 6 };
    uint8_t *d[N];
    char name[N][32];
    for (int i = 0; i < N; i++) {
        snprintf(name[i], sizeof(name[i]), "sst/e%d.sst", i);
        d[i] = object(&f, name[i], C, (unsigned)(10 + i));
        expect_range(&f, name[i], d[i], C, 0, C, 1);
        assert_true(dir_bytes(&f) <= cap);
        assert_true(dstats(&f).bytes_used <= cap);
    }
    assert_true(dir_bytes(&f) >= 3 * C); /* (the bound is measured, not assumed) */
    /* e4 went over: evicted down to 7/8 of the bound (3 files), oldest
     * first, so e0 and e1 went and e2..e5 stay */
    struct disk_cache_stats st = dstats(&f);
    assert_int_equal(st.evictions, 2);
    assert_int_equal(st.n_chunks, 4);
    /* by access, not by age: read e2 (a hit), then e0 (a miss: over again,
     * the two least recently used go, e3 and e4) */
    expect_range(&f, name[2], d[2], C, 0, C, 0);
    expect_range(&f, name[0], d[0], C, 0, 10, 1);
    expect_range(&f, name[2], d[2], C, 0, C, 0);
    expect_range(&f, name[5], d[5], C, 0, C, 0);
    expect_range(&f, name[0], d[0], C, 0, C, 0);
    assert_int_equal(dstats(&f).evictions, 4);
    expect_range(&f, name[3], d[3], C, 0, C, 1);
    assert_true(dir_bytes(&f) <= cap);
    for (int i = 0; i < N; i++)
        free(d[i]);
    fix_free(&f);
}

static void a_restart_finds_the_cache(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, 64 * C);
    size_t size = 3 * C + 10;
    uint8_t *d = object(&f, "sst/r.sst", size, 6);
    expect_range(&f, "sst/r.sst", d, size, 0, size, 1);
    fix_close(&f);
    fix_open(&f, 64 * C);
    struct disk_cache_stats st = dstats(&f);
    assert_int_equal(st.n_chunks, 4);
    assert_true(st.bytes_used >= size);
    expect_range(&f, "sst/r.sst", d, size, 0, size, 0);
    expect_range(&f, "sst/r.sst", d, size, C + 3, 2 * C, 0);
    /* reopened smaller: the scan evicts down to the new bound at once */
    fix_close(&f);
    fix_open(&f, 2 * C);
    assert_true(dir_bytes(&f) <= 2 * C);
    assert_true(dstats(&f).evictions >= 2);
    expect_range(&f, "sst/r.sst", d, size, 0, size, -1); /* 1 or 2 missing runs */
    /* a stale temporary file of a crashed writer is swept, a fresh one kept */
    fix_close(&f);
    char stale[1024], fresh[1024];
    snprintf(stale, sizeof(stale), "%s/00/.tmp-stale", f.dir);
    snprintf(fresh, sizeof(fresh), "%s/00/.tmp-fresh", f.dir);
    char sub[1024];
    snprintf(sub, sizeof(sub), "%s/00", f.dir);
    mkdir(sub, 0755);
    FILE *fp = fopen(stale, "w");
    assert_non_null(fp);
    fclose(fp);
    fp = fopen(fresh, "w");
    assert_non_null(fp);
    fclose(fp);
    struct timespec old[2] = {{1000, 0}, {1000, 0}};
    assert_int_equal(utimensat(AT_FDCWD, stale, old, 0), 0);
    fix_open(&f, 64 * C);
    assert_int_equal(access(stale, F_OK), -1);
    assert_int_equal(access(fresh, F_OK), 0);
    free(d);
    fix_free(&f);
}

static void put_fills_the_cache(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, 64 * C);
    size_t size = 2 * C + 77;
    uint8_t *d = malloc(size);
    assert_non_null(d);
    for (size_t i = 0; i < size; i++)
        d[i] = (uint8_t)(i * 31 + 7);
    assert_int_equal(objstore_put(f.dc, "sst/p.sst", d, size), 0);
    assert_int_equal(f.count->puts, 1);
    /* the object is in the store ... */
    uint8_t *all = NULL;
    size_t all_len = 0;
    assert_int_equal(objstore_get_all(f.mem, "sst/p.sst", &all, &all_len), 0);
    assert_int_equal(all_len, size);
    free(all);
    /* ... and its first read through the cache costs nothing */
    expect_range(&f, "sst/p.sst", d, size, 0, size, 0);
    expect_range(&f, "sst/p.sst", d, size, size - 100, 500, 0);
    assert_int_equal(objstore_get_all(f.dc, "sst/p.sst", &all, &all_len), 0);
    assert_int_equal(all_len, size);
    assert_memory_equal(all, d, size);
    free(all);
    assert_int_equal(gets(f.count), 0);
    /* a put that fails caches nothing (the object exists) */
    assert_int_equal(objstore_put(f.dc, "sst/p.sst", "x", 1), CIRRUS_EEXISTS);
    expect_range(&f, "sst/p.sst", d, size, 0, size, 0);
    /* an empty object */
    assert_int_equal(objstore_put(f.dc, "empty", "", 0), 0);
    expect_range(&f, "empty", (const uint8_t *)"", 0, 0, 10, 0);
    assert_int_equal(objstore_get_all(f.dc, "empty", &all, &all_len), 0);
    assert_int_equal(all_len, 0);
    free(all);
    assert_int_equal(gets(f.count), 0);
    /* get_all of an object the cache never saw: fetched once, then local */
    uint8_t *g = object(&f, "manifest/1", C + 5, 8);
    assert_int_equal(objstore_get_all(f.dc, "manifest/1", &all, &all_len), 0);
    assert_int_equal(all_len, C + 5);
    assert_memory_equal(all, g, C + 5);
    free(all);
    assert_int_equal(gets(f.count), 1);
    expect_range(&f, "manifest/1", g, C + 5, 3, C, 0);
    free(g);
    free(d);
    fix_free(&f);
}

struct lister {
    int n;
};

static int count_listed(const struct objstore_entry *e, void *arg)
{
    (void)e;
    ((struct lister *)arg)->n++;
    return 0;
}

static void del_drops_the_chunks(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, 64 * C);
    size_t size = 2 * C + 1;
    uint8_t *d = object(&f, "sst/d.sst", size, 9);
    uint8_t *k = object(&f, "sst/keep.sst", 100, 10);
    expect_range(&f, "sst/d.sst", d, size, 0, size, 1);
    expect_range(&f, "sst/keep.sst", k, 100, 0, 100, 1);
    assert_int_equal(dstats(&f).n_chunks, 4);
    assert_int_equal(objstore_del(f.dc, "sst/d.sst"), 0);
    assert_int_equal(dstats(&f).n_chunks, 1);
    struct files fs;
    chunk_files(&f, &fs);
    assert_int_equal(fs.n, 1);
    uint8_t b[10];
    size_t got;
    assert_int_equal(objstore_get(f.dc, "sst/d.sst", 0, 10, b, &got), CIRRUS_ENOTFOUND);
    assert_int_equal(objstore_del(f.dc, "sst/d.sst"), 0); /* idempotent */
    expect_range(&f, "sst/keep.sst", k, 100, 0, 100, 0);
    struct lister l = {0};
    assert_int_equal(objstore_list(f.dc, "sst/", count_listed, &l), 0);
    assert_int_equal(l.n, 1);
    free(k);
    free(d);
    fix_free(&f);
}

/* ---- two instances on one directory -------------------------------------- */

struct reader {
    struct objstore *dc;
    const uint8_t *const *data;
    int n_objects;
    size_t size;
    int errors;
};

static void *read_loop(void *arg)
{
    struct reader *r = arg;
    uint8_t *buf = malloc(C + 100);
    uint64_t x = (uint64_t)(uintptr_t)r | 1;
    for (int i = 0; i < 150 && buf; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        int o = (int)(x % (uint64_t)r->n_objects);
        uint64_t off = (x >> 16) % r->size;
        size_t len = (size_t)((x >> 40) % (C + 100)), got = 0;
        char name[32];
        snprintf(name, sizeof(name), "sst/m%d.sst", o);
        size_t want = r->size - off < len ? (size_t)(r->size - off) : len;
        if (objstore_get(r->dc, name, off, len, buf, &got) != 0 || got != want ||
            memcmp(buf, r->data[o] + off, got) != 0)
            r->errors++;
    }
    free(buf);
    return NULL;
}

static void two_instances_share_a_directory(void **state)
{
    (void)state;
    struct fix f;
    uint64_t cap = 6 * C;
    fix_init(&f, cap);
    struct cstore *c2 = counting(f.mem);
    struct objstore *dc2 = NULL;
    assert_int_equal(disk_cache_wrap(&dc2, &c2->base, f.dir, cap), 0);
    enum { N_OBJ = 5 };
    uint8_t *d[N_OBJ];
    char name[32];
    size_t size = 3 * C + 99;
    for (int i = 0; i < N_OBJ; i++) {
        snprintf(name, sizeof(name), "sst/m%d.sst", i);
        d[i] = object(&f, name, size, (unsigned)(20 + i));
    }
    /* one instance's chunks are the other's hits */
    expect_range(&f, "sst/m0.sst", d[0], size, 0, 100, 1);
    uint8_t buf[100];
    size_t got;
    assert_int_equal(objstore_get(dc2, "sst/m0.sst", 0, 100, buf, &got), 0);
    assert_memory_equal(buf, d[0], 100);
    assert_int_equal(gets(c2), 0);
    /* both read and evict at once under a bound smaller than the data:
     * every read returns the right bytes */
    struct reader r[4];
    pthread_t t[4];
    for (int i = 0; i < 4; i++) {
        r[i] = (struct reader){i % 2 ? dc2 : f.dc, (const uint8_t *const *)d, N_OBJ, size, 0};
        assert_int_equal(pthread_create(&t[i], NULL, read_loop, &r[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(r[i].errors, 0);
    }
    dc2->ops->close(dc2);
    for (int i = 0; i < N_OBJ; i++)
        free(d[i]);
    fix_free(&f);
}

/* ---- an SST reader over the cache ---------------------------------------- */

static void sst_cold_reads_through_the_cache(void **state)
{
    (void)state;
    struct fix f;
    fix_init(&f, 64 * C);
    /* a file of a few MiB with 4 KiB blocks */
    struct sst_options o = {4096, 16, 10, CIRRUS_COMPRESSION_NONE, 0};
    struct sst_builder *b;
    assert_int_equal(sst_builder_new(&b, &o), 0);
    uint8_t ik[64], val[200];
    memset(val, 'v', sizeof(val));
    char k[32];
    int n_keys = 20000;
    for (int i = 0; i < n_keys; i++) {
        int kl = snprintf(k, sizeof(k), "key%08d", i);
        ikey_encode(ik, k, (size_t)kl, 1, KIND_PUT);
        assert_int_equal(sst_builder_add(b, ik, (size_t)kl + IKEY_TRAILER, val, sizeof(val)), 0);
    }
    uint8_t *data;
    size_t len;
    assert_int_equal(sst_builder_finish(b, &data, &len, NULL), 0);
    sst_builder_free(b);
    assert_true(len > 2 * C);
    assert_int_equal(objstore_put(f.mem, "sst/big.sst", data, len), 0);
    /* cold: the open is one request, each get of a key in a chunk not yet
     * local one more, a get in a chunk already local none */
    struct sst_reader *r;
    uint64_t before = gets(f.count);
    assert_int_equal(sst_reader_open(&r, f.dc, "sst/big.sst", len, 0, NULL), 0);
    assert_int_equal(gets(f.count) - before, 1);
    int probes[] = {0, 10, n_keys / 2, n_keys / 2 + 1, 1234};
    int cost[] = {1, 0, 1, 0, 0};
    for (int i = 0; i < 5; i++) {
        int kl = snprintf(k, sizeof(k), "key%08d", probes[i]);
        int kind;
        uint8_t *v = NULL;
        size_t vl;
        before = gets(f.count);
        assert_int_equal(sst_reader_get(r, k, (size_t)kl, 10, &kind, &v, &vl), 0);
        assert_int_equal(vl, sizeof(val));
        assert_int_equal(gets(f.count) - before, (uint64_t)cost[i]);
        free(v);
    }
    sst_reader_close(r);
    /* a second process (a restart) opens and reads with no request at all */
    fix_close(&f);
    fix_open(&f, 64 * C);
    assert_int_equal(sst_reader_open(&r, f.dc, "sst/big.sst", len, 0, NULL), 0);
    int kind;
    uint8_t *v = NULL;
    size_t vl;
    assert_int_equal(sst_reader_get(r, "key00000010", 11, 10, &kind, &v, &vl), 0);
    free(v);
    assert_int_equal(gets(f.count), 0);
    sst_reader_close(r);
    free(data);
    fix_free(&f);
}

static void bad_arguments(void **state)
{
    (void)state;
    struct objstore *mem, *dc = NULL;
    assert_int_equal(memstore_open(&mem), 0);
    struct cstore *c = counting(mem);
    /* the inner store is taken even on failure */
    assert_int_equal(disk_cache_wrap(&dc, &c->base, "/tmp/x", 0), CIRRUS_EINVALID);
    c = counting(mem);
    assert_int_equal(disk_cache_wrap(&dc, &c->base, "/nonexistent-parent/x/y", C), CIRRUS_EIO);
    mem->ops->close(mem);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(second_read_is_a_hit),
        cmocka_unit_test(ranges_across_chunk_boundaries),
        cmocka_unit_test(corrupt_chunks_are_refetched),
        cmocka_unit_test(eviction_keeps_the_bound),
        cmocka_unit_test(a_restart_finds_the_cache),
        cmocka_unit_test(put_fills_the_cache),
        cmocka_unit_test(del_drops_the_chunks),
        cmocka_unit_test(two_instances_share_a_directory),
        cmocka_unit_test(sst_cold_reads_through_the_cache),
        cmocka_unit_test(bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
