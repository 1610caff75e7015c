/*
 * sst_output.c - builds, cuts, uploads and lists SST files (the contract
 * is in sst_output.h).
 */
#include "db/sst_output.h"

#include <stdlib.h>
#include <string.h>

#include "cache/block_cache.h"
#include "db/filename.h"
#include "objstore/objstore.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "util/buf.h"
#include "util/status.h"
#include "util/sys.h"

/* Entries between restart points, and the zstd level, of every file. */
#define RESTART_INTERVAL 16
#define ZSTD_LEVEL 3

struct sst_output {
    struct objstore *os;        /* borrowed */
    const cirrus_options *opts; /* borrowed */
    struct entry *e;            /* borrowed: where finished files are listed */
    uint32_t level;
    int commit;                      /* rule 2: L0 files of one commit */
    _Atomic uint64_t *bytes_written; /* may be NULL */
    struct buf ikey;                 /* sst_output_add_ukey's key */
    struct block_cache *warm;        /* borrowed; NULL: do not warm */
    /* the file being built (b NULL: none), named when started */
    struct sst_builder *b;
    char name[FILENAME_LEN];
    int64_t write_time_ms;
    uint8_t *cache_key; /* its block cache identity, when warming */
    size_t cache_key_len;
    struct buf smallest, largest; /* its first and last user keys */
    /* the last uploaded file's bytes, for the next file to be built in
     * (sst_builder_give_buffer): NULL when none */
    uint8_t *spare;
    size_t spare_cap;
    uint64_t min_seq, max_seq, n_entries, n_deletes;
};

static int output_new(struct sst_output **out, struct objstore *os, const cirrus_options *opts,
                      uint32_t level, int commit, _Atomic uint64_t *bytes_written, struct entry *e)
{
    struct sst_output *o = calloc(1, sizeof(*o));
    if (!o)
        return err_nomem();
    o->os = os;
    o->opts = opts;
    o->e = e;
    o->level = level;
    o->commit = commit;
    o->bytes_written = bytes_written;
    *out = o;
    return 0;
}

int sst_output_new_commit(struct sst_output **out, struct objstore *os, const cirrus_options *opts,
                          struct entry *e)
{
    return output_new(out, os, opts, 0, 1, NULL, e);
}

int sst_output_new_level(struct sst_output **out, struct objstore *os, const cirrus_options *opts,
                         uint32_t level, _Atomic uint64_t *bytes_written, struct entry *e)
{
    return output_new(out, os, opts, level, 0, bytes_written, e);
}

void sst_output_warm(struct sst_output *o, struct block_cache *cache)
{
    o->warm = cache;
}

/* Uploads the file being built and lists it in o->e. The builder is gone
 * afterwards, whatever happened. */
static int finish_file(struct sst_output *o)
{
    uint8_t *data = NULL;
    size_t len = 0;
    struct file_meta f = {0};
    int rc;
    if ((rc = sst_builder_finish(o->b, &data, &len, NULL)) < 0)
        goto done;
    f.write_time_ms = o->write_time_ms;
    if ((rc = objstore_put(o->os, o->name, data, len)) < 0) {
        rc = err_prefix(rc, "writing %s", o->name);
        goto done;
    }
    f.name = o->name;
    f.size = len;
    f.level = o->level;
    f.global_seq = o->commit ? ENTRY_SEQ_SELF : 0;
    f.smallest = o->smallest.data;
    f.smallest_len = o->smallest.len;
    f.largest = o->largest.data;
    f.largest_len = o->largest.len;
    f.min_seq = o->commit ? 0 : o->min_seq;
    f.max_seq = o->commit ? 0 : o->max_seq;
    f.n_entries = o->n_entries;
    f.n_deletes = o->n_deletes;
    if ((rc = entry_add_file(o->e, &f)) == 0 && o->bytes_written)
        atomic_fetch_add_explicit(o->bytes_written, len, memory_order_relaxed);
done:
    sst_builder_free(o->b);
    o->b = NULL;
    free(o->cache_key);
    o->cache_key = NULL;
    free(o->spare);
    o->spare = data;
    o->spare_cap = len;
    return rc;
}

/* The builder's block hook: each data block into the cache, at low
 * priority, as a reader's first read would put it. A failed insert only
 * leaves the block cold. */
static void warm_block(void *arg, uint64_t off, const uint8_t *data, size_t len)
{
    struct sst_output *o = arg;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return;
    memcpy(copy, data, len);
    if (block_cache_insert(o->warm, o->cache_key, o->cache_key_len, off, copy, len, BLOCK_CACHE_LOW,
                           NULL) < 0)
        free(copy);
}

static int start_file(struct sst_output *o, const uint8_t *ukey, size_t ukey_len)
{
    const cirrus_options *op = o->opts;
    struct sst_options so = {op->block_size, RESTART_INTERVAL, op->bloom_bits_per_key,
                             op->compression, ZSTD_LEVEL};
    int rc;
    if ((rc = sst_builder_new(&o->b, &so)) < 0)
        return rc;
    if (o->spare) {
        sst_builder_give_buffer(o->b, o->spare, o->spare_cap);
        o->spare = NULL;
    }
    /* one clock reading for the name and the description (filename.h, 3),
     * taken now so that the blocks can be cached under the name as built */
    o->write_time_ms = now_ms();
    filename_sst(o->name, o->write_time_ms, rand_u64());
    if (o->warm) {
        if ((rc = sst_cache_key(o->os->url, o->name, &o->cache_key, &o->cache_key_len)) < 0)
            return rc;
        sst_builder_on_block(o->b, warm_block, o);
    }
    buf_reset(&o->smallest);
    buf_reset(&o->largest);
    o->min_seq = UINT64_MAX;
    o->max_seq = o->n_entries = o->n_deletes = 0;
    return buf_append(&o->smallest, ukey, ukey_len);
}

int sst_output_add(struct sst_output *o, const uint8_t *ikey, size_t ikey_len, const uint8_t *val,
                   size_t val_len)
{
    size_t ulen = ikey_user_len(ikey_len);
    uint64_t seq = ikey_seq(ikey, ikey_len);
    int rc;
    if (o->commit && seq != 0)
        return err_set(CIRRUS_EINVALID, "a commit's files store seq 0 (got %llu)",
                       (unsigned long long)seq);
    int new_key = !o->b || ukey_compare(ikey, ulen, o->largest.data, o->largest.len) != 0;
    /* rule 1: cut only between user keys */
    if (o->b && new_key && sst_builder_size(o->b) >= o->opts->target_file_size &&
        (rc = finish_file(o)) < 0)
        return rc;
    if (!o->b && (rc = start_file(o, ikey, ulen)) < 0)
        return rc;
    if ((rc = sst_builder_add(o->b, ikey, ikey_len, val, val_len)) < 0)
        return rc;
    if (new_key) {
        buf_reset(&o->largest);
        if ((rc = buf_append(&o->largest, ikey, ulen)) < 0)
            return rc;
    }
    o->min_seq = seq < o->min_seq ? seq : o->min_seq;
    o->max_seq = seq > o->max_seq ? seq : o->max_seq;
    o->n_entries++;
    o->n_deletes += ikey_kind(ikey, ikey_len) == KIND_DELETE;
    return 0;
}

int sst_output_add_ukey(struct sst_output *o, const uint8_t *ukey, size_t ukey_len, int kind,
                        const uint8_t *val, size_t val_len)
{
    int rc;
    buf_reset(&o->ikey);
    if ((rc = buf_reserve(&o->ikey, ukey_len + IKEY_TRAILER)) < 0)
        return rc;
    ikey_encode(o->ikey.data, ukey, ukey_len, 0, kind);
    o->ikey.len = ukey_len + IKEY_TRAILER;
    return sst_output_add(o, o->ikey.data, o->ikey.len, val, val_len);
}

int sst_output_finish(struct sst_output *o)
{
    return o->b ? finish_file(o) : 0;
}

void sst_output_free(struct sst_output *o)
{
    if (!o)
        return;
    sst_builder_free(o->b);
    free(o->cache_key);
    free(o->spare);
    buf_free(&o->ikey);
    buf_free(&o->smallest);
    buf_free(&o->largest);
    free(o);
}
