/*
 * sst_reader.c - reads SST files from an object store (layout in sst.h and
 * docs/FORMAT.md).
 *
 * Open costs one ranged get in the common case: the last min(size, 256 KiB)
 * bytes hold the footer and, for all but huge files, the index, filter and
 * properties blocks; whatever the tail does not cover is fetched by its own
 * ranged get. The tail buffer is dropped once open returns.
 *
 * Invariants:
 *  1. After open the reader is immutable: index, filter and properties are
 *     read-only, so any number of threads may call get() and open iterators.
 *     Every get() and iterator reads data blocks into memory of its own, or
 *     pins a cache entry, which no one writes once inserted.
 *  2. Every block is brought in by read_block(), which checks its handle
 *     against the file, its checksum and its compression. The block cache
 *     slots in there and nowhere else: a data block is looked up by
 *     (cache_key, offset) first, and what read_block() reads and verifies is
 *     inserted, decompressed, at low priority (a writer may warm the cache
 *     with the blocks it wrote: sst_builder_on_block). Index, filter and properties
 *     stay private to the reader (it pins them for its whole life, so caching
 *     them too would only hold them twice). Sequential iterators hand
 *     read_block() their readahead window as the bytes already fetched,
 *     which keeps their blocks out of the cache.
 *  3. A handle must lie wholly before the footer: off + size + trailer <=
 *     file_size - 64, computed without overflow (sst_check_handle()).
 */
#include <stdlib.h>
#include <string.h>

#include "cache/block_cache.h"
#include "objstore/objstore.h"
#include "table/block.h"
#include "table/bloom.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "table/sst_format.h"
#include "util/status.h"

#define TAIL_READ ((uint64_t)256 << 10)
/* get() builds its seek key on the stack up to this many bytes */
#define STACK_KEY 256

struct sst_reader {
    struct objstore *os;       /* borrowed */
    struct block_cache *cache; /* borrowed; NULL: no cache */
    char *name;
    /* the file's identity in the cache: the store's URL, a NUL, the name,
     * so that one cache may serve several stores */
    uint8_t *cache_key;
    size_t cache_key_len;
    uint64_t size;       /* file bytes, as recorded in the commit entry */
    uint64_t global_seq; /* 0: keys carry their own seqs */
    uint8_t *index;      /* the index block's contents */
    size_t index_len;
    uint64_t index_off;
    uint8_t *filter; /* NULL: no filter */
    size_t filter_len;
    struct sst_props props;
};

/* A block in memory: either `mem` (owned) or a pinned cache entry holds
 * the bytes `data` points to. */
struct block {
    uint8_t *mem;
    struct block_cache *cache;
    struct block_cache_handle *handle;
    const uint8_t *data;
    size_t len;
};

/* The bytes already fetched by open, if any. */
struct tail {
    const uint8_t *data;
    uint64_t off;
    size_t len;
};

static void block_release(struct block *b)
{
    free(b->mem);
    if (b->handle)
        block_cache_release(b->cache, b->handle);
    memset(b, 0, sizeof(*b));
}

/*
 * A ranged get of the file. The file is named by a commit entry, so an
 * object that is not there is damage to the database, never an absent
 * key: CIRRUS_ENOTFOUND from the store becomes CIRRUS_ECORRUPT, so that no
 * read path can mistake it for "not found".
 */
static int get_range(const struct sst_reader *r, uint64_t off, size_t len, void *dst,
                     size_t *got_out)
{
    int rc = objstore_get(r->os, r->name, off, len, dst, got_out);
    if (rc == CIRRUS_ENOTFOUND)
        rc = err_prefix(CIRRUS_ECORRUPT, "the object is missing"); /* callers name it */
    return rc;
}

/* Stored bytes + trailer of h, from the tail when it covers them. */
static int fetch(const struct sst_reader *r, const struct block_handle *h, const char *what,
                 const struct tail *tail, uint8_t *dst)
{
    int rc = 0;
    size_t n = (size_t)h->size + SST_TRAILER_LEN, got = 0;
    if (tail && h->off >= tail->off && h->off - tail->off <= tail->len &&
        n <= tail->len - (h->off - tail->off)) {
        memcpy(dst, tail->data + (h->off - tail->off), n);
        goto done;
    }
    if ((rc = get_range(r, h->off, n, dst, &got)) < 0) {
        err_prefix(rc, "%s: reading %s block at offset %llu", r->name, what,
                   (unsigned long long)h->off);
        goto done;
    }
    if (got != n)
        rc = err_set(CIRRUS_ECORRUPT,
                     "%s: %s block at offset %llu: object ends early (%zu of %zu bytes)", r->name,
                     what, (unsigned long long)h->off, got, n);
done:
    return rc;
}

/* A data block from the cache: 1 on a hit (*out holds it), else 0. */
static int cache_lookup(const struct sst_reader *r, const struct block_handle *h, struct block *out)
{
    struct block_cache_handle *ch = NULL;
    if (block_cache_lookup(r->cache, r->cache_key, r->cache_key_len, h->off, &ch) < 0)
        return 0;
    out->cache = r->cache;
    out->handle = ch;
    out->data = block_cache_value(ch, &out->len);
    return 1;
}

/* Moves a freshly read block into the cache. When the insert fails the block
 * stays private: the read still succeeds, only uncached. */
static void cache_insert(const struct sst_reader *r, const struct block_handle *h, struct block *b)
{
    struct block_cache_handle *ch = NULL;
    if (block_cache_insert(r->cache, r->cache_key, r->cache_key_len, h->off, b->mem, b->len,
                           BLOCK_CACHE_LOW, &ch) < 0)
        return;
    b->mem = NULL; /* the cache owns it now */
    b->cache = r->cache;
    b->handle = ch;
    b->data = block_cache_value(ch, &b->len);
}

/*
 * The one way a block gets into memory (invariant 2). On success *out holds
 * the uncompressed contents (caller releases). Data blocks (tail == NULL:
 * open's metadata reads pass the tail) go through the cache when there is
 * one.
 */
static int read_block(const struct sst_reader *r, const struct block_handle *h, const char *what,
                      const struct tail *tail, struct block *out)
{
    int rc = 0;
    uint8_t *raw = NULL, *inflated = NULL;
    int cacheable = r->cache && !tail;
    if ((rc = sst_check_handle(h, r->size, r->name, what)) < 0)
        goto done;
    if (cacheable && cache_lookup(r, h, out))
        goto done;
    if (!(raw = malloc((size_t)h->size + SST_TRAILER_LEN))) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = fetch(r, h, what, tail, raw)) < 0)
        goto done;
    if ((rc = sst_unwrap_block(&out->data, &out->len, &inflated, raw, h, r->name, what)) < 0)
        goto done;
    /* the contents are in raw itself, or in inflated */
    out->mem = inflated ? inflated : raw;
    if (!inflated)
        raw = NULL;
    if (cacheable)
        cache_insert(r, h, out);
done:
    free(raw);
    return rc;
}

/* Reads a metadata block and keeps its contents (malloc'd) in *mem. */
static int read_meta(const struct sst_reader *r, const struct block_handle *h, const char *what,
                     const struct tail *tail, uint8_t **mem, size_t *len)
{
    int rc = 0;
    struct block b = {0};
    if ((rc = read_block(r, h, what, tail, &b)) < 0)
        goto done;
    *mem = b.mem;
    *len = b.len;
    b.mem = NULL;
done:
    block_release(&b);
    return rc;
}

static int load_props(struct sst_reader *r, const struct block_handle *h, const struct tail *tail)
{
    int rc = 0;
    uint8_t *mem = NULL;
    size_t len = 0;
    if ((rc = read_meta(r, h, "properties", tail, &mem, &len)) < 0)
        goto done;
    if ((rc = sst_decode_props(mem, len, &r->props)) < 0) {
        err_prefix(rc, "%s: properties block at offset %llu", r->name, (unsigned long long)h->off);
        goto done;
    }
    /* an L0 file stores seq 0 everywhere; anything else is not one */
    if (r->global_seq && r->props.max_seq != 0) {
        rc = err_set(CIRRUS_ECORRUPT,
                     "%s: properties block at offset %llu: max seq %llu in a file read with "
                     "global seq %llu",
                     r->name, (unsigned long long)h->off, (unsigned long long)r->props.max_seq,
                     (unsigned long long)r->global_seq);
        goto done;
    }
    r->props.file_size = r->size;
done:
    free(mem);
    return rc;
}

/* Fetches the tail, decodes the footer and loads the metadata blocks. */
static int load(struct sst_reader *r)
{
    int rc = 0;
    struct tail tail = {0};
    uint8_t *buf = NULL;
    size_t got = 0;
    struct sst_footer f;
    if (r->size < SST_FOOTER_LEN) {
        rc = err_set(CIRRUS_ECORRUPT, "%s: file of %llu bytes is too short for a footer", r->name,
                     (unsigned long long)r->size);
        goto done;
    }
    tail.len = (size_t)(r->size < TAIL_READ ? r->size : TAIL_READ);
    tail.off = r->size - tail.len;
    if (!(buf = malloc(tail.len))) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = get_range(r, tail.off, tail.len, buf, &got)) < 0) {
        err_prefix(rc, "%s: reading footer", r->name);
        goto done;
    }
    if (got != tail.len) {
        rc = err_set(CIRRUS_ECORRUPT, "%s: object is shorter than its recorded size %llu", r->name,
                     (unsigned long long)r->size);
        goto done;
    }
    tail.data = buf;
    if ((rc = sst_decode_footer(buf + tail.len - SST_FOOTER_LEN, r->name, r->size - SST_FOOTER_LEN,
                                &f)) < 0)
        goto done;
    if (f.index.size == 0 || f.props.size == 0) {
        rc = err_set(CIRRUS_ECORRUPT, "%s: footer at offset %llu: no %s block", r->name,
                     (unsigned long long)(r->size - SST_FOOTER_LEN),
                     f.index.size == 0 ? "index" : "properties");
        goto done;
    }
    if ((rc = load_props(r, &f.props, &tail)) < 0)
        goto done;
    if (f.filter.size &&
        (rc = read_meta(r, &f.filter, "filter", &tail, &r->filter, &r->filter_len)) < 0)
        goto done;
    if ((rc = read_meta(r, &f.index, "index", &tail, &r->index, &r->index_len)) < 0)
        goto done;
    r->index_off = f.index.off;
done:
    free(buf);
    return rc;
}

int sst_cache_key(const char *store_url, const char *name, uint8_t **key, size_t *len)
{
    const char *url = store_url ? store_url : "";
    size_t ulen = strlen(url), nlen = strlen(name);
    if (!(*key = malloc(ulen + 1 + nlen)))
        return err_nomem();
    memcpy(*key, url, ulen + 1);
    memcpy(*key + ulen + 1, name, nlen);
    *len = ulen + 1 + nlen;
    return 0;
}

int sst_reader_open(struct sst_reader **out, struct objstore *os, const char *name, uint64_t size,
                    uint64_t global_seq, struct block_cache *cache)
{
    int rc = 0;
    struct sst_reader *r = NULL;
    if (!(r = calloc(1, sizeof(*r))) || !(r->name = strdup(name))) {
        rc = err_nomem();
        goto done;
    }
    r->os = os;
    r->cache = cache;
    if (cache && (rc = sst_cache_key(r->os->url, r->name, &r->cache_key, &r->cache_key_len)) < 0)
        goto done;
    r->size = size;
    r->global_seq = global_seq;
    if ((rc = load(r)) < 0)
        goto done;
    *out = r;
    r = NULL;
done:
    sst_reader_close(r);
    return rc;
}

void sst_reader_close(struct sst_reader *r)
{
    if (!r)
        return;
    free(r->index);
    free(r->filter);
    free(r->cache_key);
    sst_props_clear(&r->props);
    free(r->name);
    free(r);
}

const struct sst_props *sst_reader_props(const struct sst_reader *r)
{
    return &r->props;
}

const char *sst_reader_name(const struct sst_reader *r)
{
    return r->name;
}

int sst_reader_may_contain(const struct sst_reader *r, const void *ukey, size_t len)
{
    return r->filter ? bloom_may_contain(r->filter, r->filter_len, ukey, len) : 1;
}

static void index_iter_init(const struct sst_reader *r, struct block_iter *it)
{
    struct block_origin o = {r->name, "index", r->index_off};
    block_iter_init(it, r->index, r->index_len, &o, r->global_seq);
}

/* The handle in the index entry under `it`, checked. */
static int index_handle(const struct sst_reader *r, const struct block_iter *it,
                        struct block_handle *h)
{
    int rc = 0;
    if (sst_get_handle(it->val, it->val_len, h) < 0)
        rc = err_set(CIRRUS_ECORRUPT,
                     "%s: index block at offset %llu: bad block handle at block offset %u", r->name,
                     (unsigned long long)r->index_off, it->cur);
    return rc;
}

/* Looks the target up in the block the index iterator points to. */
static int get_in_block(struct sst_reader *r, const struct block_iter *index, const uint8_t *target,
                        size_t target_len, int *kind_out, uint8_t **val_out, size_t *val_len_out)
{
    int rc = 0;
    struct block_handle h;
    struct block blk = {0};
    struct block_iter it = {0};
    if ((rc = index_handle(r, index, &h)) < 0)
        goto done;
    if ((rc = read_block(r, &h, "data", NULL, &blk)) < 0)
        goto done;
    struct block_origin o = {r->name, "data", h.off};
    block_iter_init(&it, blk.data, blk.len, &o, r->global_seq);
    iter_seek(&it.base, target, target_len);
    if ((rc = iter_status(&it.base)) < 0)
        goto done;
    size_t ulen = ikey_user_len(target_len);
    if (!iter_valid(&it.base) ||
        ukey_compare(it.key.data, ikey_user_len(it.key.len), target, ulen) != 0) {
        rc = CIRRUS_ENOTFOUND;
        goto done;
    }
    int kind = ikey_kind(it.key.data, it.key.len);
    uint8_t *val = NULL;
    if (kind != KIND_DELETE) {
        if (!(val = malloc(it.val_len ? it.val_len : 1))) {
            rc = err_nomem();
            goto done;
        }
        if (it.val_len)
            memcpy(val, it.val, it.val_len);
    }
    *kind_out = kind;
    *val_out = val;
    *val_len_out = val ? it.val_len : 0;
done:
    block_iter_clear(&it);
    block_release(&blk);
    return rc;
}

int sst_reader_get(struct sst_reader *r, const void *ukey, size_t len, uint64_t snapshot,
                   int *kind_out, uint8_t **val_out, size_t *val_len_out)
{
    int rc = 0;
    uint8_t stack[STACK_KEY], *target = stack, *heap = NULL;
    struct block_iter index = {0};
    if (snapshot > SEQ_MAX)
        snapshot = SEQ_MAX;
    if (!sst_reader_may_contain(r, ukey, len) || (r->global_seq && snapshot < r->global_seq)) {
        rc = CIRRUS_ENOTFOUND;
        goto done;
    }
    if (len + IKEY_TRAILER > sizeof(stack)) {
        if (!(target = heap = malloc(len + IKEY_TRAILER))) {
            rc = err_nomem();
            goto done;
        }
    }
    /* the first entry >= (ukey, snapshot, KIND_MAX) is the newest visible */
    ikey_encode(target, ukey, len, snapshot, KIND_MAX);
    index_iter_init(r, &index);
    iter_seek(&index.base, target, len + IKEY_TRAILER);
    if ((rc = iter_status(&index.base)) < 0)
        goto done;
    if (!iter_valid(&index.base)) {
        rc = CIRRUS_ENOTFOUND; /* past the last key of the file */
        goto done;
    }
    rc = get_in_block(r, &index, target, len + IKEY_TRAILER, kind_out, val_out, val_len_out);
done:
    block_iter_clear(&index);
    free(heap);
    return rc;
}

/* ---- whole-file iterator ------------------------------------------------- */

/*
 * Two levels: an iterator over the index picks the data block, a block
 * iterator walks it. Empty data blocks (never written, but possible in a
 * hostile file) are skipped in the direction of travel.
 */
struct sst_iter {
    struct iter base;
    struct sst_reader *r;
    struct block_iter index;
    struct block_iter data;
    struct block blk; /* the data block `data` walks */
    uint64_t blk_off; /* its offset, while blk.data is set */
    int status;       /* first error of loading a block */
    /* sequential iterators only (readahead != 0): the window of data bytes
     * last read ahead, ra_buf holding them */
    uint64_t readahead;
    uint8_t *ra_buf;
    struct tail ra;
};

/*
 * A data block for a sequential iterator: from the readahead window, which
 * moves to h->off in one ranged get of up to `readahead` bytes when the
 * block lies outside it. Such blocks bypass the cache: a file read once
 * from end to end (compaction input, the changefeed) would only evict the
 * blocks that point reads come back to.
 */
static int read_ahead(struct sst_iter *it, const struct block_handle *h, struct block *out)
{
    struct sst_reader *r = it->r;
    int rc;
    if ((rc = sst_check_handle(h, r->size, r->name, "data")) < 0)
        return rc;
    uint64_t n = h->size + SST_TRAILER_LEN, limit = r->size - SST_FOOTER_LEN;
    if (!(h->off >= it->ra.off && h->off - it->ra.off <= it->ra.len &&
          n <= it->ra.len - (h->off - it->ra.off))) {
        uint64_t want = limit - h->off < it->readahead ? limit - h->off : it->readahead;
        size_t got = 0;
        uint8_t *buf;
        if (want < n)
            want = n;
        if (!(buf = realloc(it->ra_buf, (size_t)want)))
            return err_nomem();
        it->ra_buf = buf;
        it->ra = (struct tail){0};
        if ((rc = get_range(r, h->off, (size_t)want, buf, &got)) < 0)
            return err_prefix(rc, "%s: reading %llu bytes ahead at offset %llu", r->name,
                              (unsigned long long)want, (unsigned long long)h->off);
        if (got != want)
            return err_set(CIRRUS_ECORRUPT,
                           "%s: data at offset %llu: object ends early (%zu of %llu bytes)",
                           r->name, (unsigned long long)h->off, got, (unsigned long long)want);
        it->ra = (struct tail){buf, h->off, got};
    }
    return read_block(r, h, "data", &it->ra, out);
}

/* Loads the block the index points to into the data iterator. */
static int load_data(struct sst_iter *it)
{
    int rc = 0;
    struct block_handle h;
    struct block blk = {0};
    if ((rc = index_handle(it->r, &it->index, &h)) < 0)
        goto done;
    if (it->blk.data && it->blk_off == h.off)
        goto done; /* already there */
    rc = it->readahead ? read_ahead(it, &h, &blk) : read_block(it->r, &h, "data", NULL, &blk);
    if (rc < 0)
        goto done;
    block_release(&it->blk);
    it->blk = blk;
    it->blk_off = h.off;
    memset(&blk, 0, sizeof(blk));
    struct block_origin o = {it->r->name, "data", h.off};
    block_iter_init(&it->data, it->blk.data, it->blk.len, &o, it->r->global_seq);
done:
    if (rc < 0) {
        it->status = rc;
        block_release(&blk);
    }
    return rc;
}

static int si_valid(const struct iter *base)
{
    const struct sst_iter *it = (const struct sst_iter *)base;
    return it->status == 0 && it->blk.data && iter_valid(&it->data.base);
}

static int si_ok(const struct sst_iter *it)
{
    return it->status == 0 && it->index.status == 0 && it->data.status == 0;
}

/* While the data iterator is exhausted, moves on to the next block. */
static void skip_forward(struct sst_iter *it)
{
    while (si_ok(it) && !iter_valid(&it->data.base)) {
        iter_next(&it->index.base);
        if (!iter_valid(&it->index.base) || load_data(it) < 0)
            break;
        iter_first(&it->data.base);
    }
}

static void skip_backward(struct sst_iter *it)
{
    while (si_ok(it) && !iter_valid(&it->data.base)) {
        iter_prev(&it->index.base);
        if (!iter_valid(&it->index.base) || load_data(it) < 0)
            break;
        iter_last(&it->data.base);
    }
}

/* Invalidates the data iterator so that valid() is false; 0 if the
 * iterator may be positioned again (errors are sticky). */
static int si_reset(struct sst_iter *it)
{
    it->data.cur = it->data.data_len;
    return si_ok(it) ? 0 : -1;
}

static void si_first(struct iter *base)
{
    struct sst_iter *it = (struct sst_iter *)base;
    if (si_reset(it) < 0)
        return;
    iter_first(&it->index.base);
    if (!iter_valid(&it->index.base) || load_data(it) < 0)
        return;
    iter_first(&it->data.base);
    skip_forward(it);
}

static void si_last(struct iter *base)
{
    struct sst_iter *it = (struct sst_iter *)base;
    if (si_reset(it) < 0)
        return;
    iter_last(&it->index.base);
    if (!iter_valid(&it->index.base) || load_data(it) < 0)
        return;
    iter_last(&it->data.base);
    skip_backward(it);
}

static void si_seek(struct iter *base, const uint8_t *target, size_t len)
{
    struct sst_iter *it = (struct sst_iter *)base;
    if (si_reset(it) < 0)
        return;
    iter_seek(&it->index.base, target, len);
    if (!iter_valid(&it->index.base) || load_data(it) < 0)
        return;
    iter_seek(&it->data.base, target, len);
    skip_forward(it);
}

static void si_seek_for_prev(struct iter *base, const uint8_t *target, size_t len)
{
    struct sst_iter *it = (struct sst_iter *)base;
    if (si_reset(it) < 0)
        return;
    /* the block holding the first key >= target holds the answer, or the
     * block before it does */
    iter_seek(&it->index.base, target, len);
    if (!si_ok(it))
        return;
    if (!iter_valid(&it->index.base)) {
        si_last(base);
        return;
    }
    if (load_data(it) < 0)
        return;
    iter_seek_for_prev(&it->data.base, target, len);
    skip_backward(it);
}

static void si_next(struct iter *base)
{
    struct sst_iter *it = (struct sst_iter *)base;
    if (!si_valid(base))
        return;
    iter_next(&it->data.base);
    skip_forward(it);
}

static void si_prev(struct iter *base)
{
    struct sst_iter *it = (struct sst_iter *)base;
    if (!si_valid(base))
        return;
    iter_prev(&it->data.base);
    skip_backward(it);
}

static const uint8_t *si_key(const struct iter *base, size_t *len_out)
{
    return iter_key(&((const struct sst_iter *)base)->data.base, len_out);
}

static const uint8_t *si_value(const struct iter *base, size_t *len_out)
{
    return iter_value(&((const struct sst_iter *)base)->data.base, len_out);
}

static int si_status(const struct iter *base)
{
    const struct sst_iter *it = (const struct sst_iter *)base;
    if (it->status < 0)
        return it->status;
    if (it->index.status < 0)
        return it->index.status;
    return it->data.status;
}

static void si_free(struct iter *base)
{
    struct sst_iter *it = (struct sst_iter *)base;
    block_iter_clear(&it->index);
    block_iter_clear(&it->data);
    block_release(&it->blk);
    free(it->ra_buf);
    free(it);
}

static const struct iter_ops sst_iter_ops = {
    .valid = si_valid,
    .first = si_first,
    .last = si_last,
    .seek = si_seek,
    .seek_for_prev = si_seek_for_prev,
    .next = si_next,
    .prev = si_prev,
    .key = si_key,
    .value = si_value,
    .status = si_status,
    .free = si_free,
};

static int new_iter(struct sst_reader *r, uint64_t readahead, struct iter **out)
{
    int rc = 0;
    struct sst_iter *it = calloc(1, sizeof(*it));
    if (!it) {
        rc = err_nomem();
        goto done;
    }
    it->base.ops = &sst_iter_ops;
    it->r = r;
    it->readahead = readahead;
    index_iter_init(r, &it->index);
    /* `data` stays zeroed (no block, not valid) until a block is loaded */
    *out = &it->base;
done:
    return rc;
}

int sst_reader_iter(struct sst_reader *r, struct iter **out)
{
    return new_iter(r, 0, out);
}

int sst_reader_iter_sequential(struct sst_reader *r, uint64_t readahead, struct iter **out)
{
    return new_iter(r, readahead ? readahead : 1, out);
}
