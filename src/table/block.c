/*
 * block.c - block builder and block iterator (format in block.h and
 * docs/FORMAT.md).
 */
#include "table/block.h"

#include <stdlib.h>
#include <string.h>

#include "table/ikey.h"
#include "util/coding.h"
#include "util/status.h"

#define DEFAULT_RESTART_INTERVAL 16

/* ---- builder ------------------------------------------------------------ */

void block_builder_init(struct block_builder *b, uint32_t restart_interval)
{
    memset(b, 0, sizeof(*b));
    b->restart_interval = restart_interval ? restart_interval : DEFAULT_RESTART_INTERVAL;
}

static size_t shared_prefix(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen, i = 0;
    while (i < n && a[i] == b[i])
        i++;
    return i;
}

int block_builder_add(struct block_builder *b, const uint8_t *key, size_t key_len,
                      const uint8_t *val, size_t val_len)
{
    int rc = 0;
    size_t shared = 0;
    /* restart offsets and lengths are 32-bit in the format */
    if (key_len > UINT32_MAX || val_len > UINT32_MAX ||
        b->data.len + key_len + val_len + 3 * VARINT_MAX > UINT32_MAX - 8) {
        rc = err_set(CIRRUS_EINVALID, "block entry too large (%zu key, %zu value bytes)", key_len,
                     val_len);
        goto done;
    }
    if (b->n_entries == 0 || b->since_restart >= b->restart_interval) {
        if ((rc = buf_put_fixed32(&b->restarts, (uint32_t)b->data.len)) < 0)
            goto done;
        b->since_restart = 0;
    } else {
        shared = shared_prefix(b->last_key.data, b->last_key.len, key, key_len);
    }
    if ((rc = buf_reserve(&b->data, 3 * VARINT_MAX + (key_len - shared) + val_len)) < 0)
        goto done;
    if ((rc = buf_reserve(&b->last_key, key_len)) < 0)
        goto done;
    /* both reservations hold, so nothing below can fail half-way */
    buf_put_varint(&b->data, shared);
    buf_put_varint(&b->data, key_len - shared);
    buf_put_varint(&b->data, val_len);
    buf_append(&b->data, key + shared, key_len - shared);
    buf_append(&b->data, val, val_len);
    b->last_key.len = 0;
    buf_append(&b->last_key, key, key_len);
    b->since_restart++;
    b->n_entries++;
done:
    return rc;
}

size_t block_builder_size(const struct block_builder *b)
{
    size_t restarts = b->restarts.len ? b->restarts.len : 4;
    return b->data.len + restarts + 4;
}

int block_builder_finish(struct block_builder *b, const uint8_t **out, size_t *len_out)
{
    int rc = 0;
    if (!b->finished) {
        /* an empty block still gets restart 0, so every block has one */
        uint32_t n = (uint32_t)(b->restarts.len / 4);
        if (n == 0 && (rc = buf_put_fixed32(&b->restarts, 0)) < 0)
            goto done;
        n = (uint32_t)(b->restarts.len / 4);
        if ((rc = buf_reserve(&b->data, b->restarts.len + 4)) < 0)
            goto done;
        buf_append(&b->data, b->restarts.data, b->restarts.len);
        buf_put_fixed32(&b->data, n);
        b->finished = 1;
    }
    *out = b->data.data;
    *len_out = b->data.len;
done:
    return rc;
}

void block_builder_reset(struct block_builder *b)
{
    buf_reset(&b->data);
    buf_reset(&b->restarts);
    buf_reset(&b->last_key);
    b->since_restart = 0;
    b->n_entries = 0;
    b->finished = 0;
}

void block_builder_free(struct block_builder *b)
{
    if (!b)
        return;
    buf_free(&b->data);
    buf_free(&b->restarts);
    buf_free(&b->last_key);
}

/* ---- iterator ----------------------------------------------------------- */

static const struct iter_ops block_iter_ops;

static int corrupt(struct block_iter *it, const char *what, uint32_t at)
{
    it->status =
        err_set(CIRRUS_ECORRUPT, "%s: %s block at offset %llu: %s at block offset %u",
                it->origin.name ? it->origin.name : "?", it->origin.what ? it->origin.what : "?",
                (unsigned long long)it->origin.off, what, at);
    it->cur = it->data_len;
    return it->status;
}

static void set_invalid(struct block_iter *it)
{
    it->cur = it->data_len;
}

static uint32_t restart_at(const struct block_iter *it, uint32_t i)
{
    return decode_fixed32(it->restarts + 4 * (size_t)i);
}

/*
 * Compares a key as stored (stored trailer) with target, both internal keys,
 * with the global seq substituted into the stored key's trailer.
 */
static int cmp_stored(const struct block_iter *it, const uint8_t *k, size_t klen, const uint8_t *t,
                      size_t tlen)
{
    int c = ukey_compare(k, klen - IKEY_TRAILER, t, tlen - IKEY_TRAILER);
    if (c != 0)
        return c;
    /* by seq only (ikey.h), the global seq standing in for the stored one */
    uint64_t sk = it->global_seq ? it->global_seq : ikey_trailer(k, klen) >> 8;
    uint64_t st = ikey_trailer(t, tlen) >> 8;
    return sk > st ? -1 : sk < st ? 1 : 0;
}

/* A stored key's trailer must carry seq 0 when a global seq applies. */
static int check_stored_seq(struct block_iter *it, const uint8_t *k, size_t klen, uint32_t at)
{
    int rc = 0;
    if (it->global_seq && ikey_seq(k, klen) != 0)
        rc = corrupt(it, "nonzero seq in a file with a global seq", at);
    return rc;
}

/* get_varint32 with the one-byte case inline: entry lengths below 128 are
 * the rule, and this runs three times per entry a scan or seek steps on. */
static inline int varint32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    if (*p < end && **p < 0x80) {
        *v = *(*p)++;
        return 0;
    }
    return get_varint32(p, end, v);
}

/* Decodes the entry at off, building on the current key (see invariant 3). */
static int decode_entry(struct block_iter *it, uint32_t off)
{
    int rc = 0;
    const uint8_t *p = it->data + off, *end = it->data + it->data_len;
    uint32_t shared, non_shared, vlen;
    if (it->patched) {
        /* restore the stored trailer: seq 0, same kind */
        uint8_t *tr = it->key.data + it->key.len - IKEY_TRAILER;
        encode_fixed64(tr, ikey_pack(0, tr[0]));
        it->patched = 0;
    }
    if (varint32(&p, end, &shared) < 0 || varint32(&p, end, &non_shared) < 0 ||
        varint32(&p, end, &vlen) < 0) {
        rc = corrupt(it, "truncated entry header", off);
        goto done;
    }
    if (shared > it->key.len || non_shared > (size_t)(end - p) ||
        vlen > (size_t)(end - p) - non_shared) {
        rc = corrupt(it, "entry lengths past the end of the block", off);
        goto done;
    }
    it->key.len = shared;
    if ((rc = buf_append(&it->key, p, non_shared)) < 0) {
        it->status = rc;
        set_invalid(it);
        goto done;
    }
    if (it->key.len < IKEY_TRAILER) {
        rc = corrupt(it, "key shorter than its trailer", off);
        goto done;
    }
    if ((rc = check_stored_seq(it, it->key.data, it->key.len, off)) < 0)
        goto done;
    if (it->global_seq) {
        uint8_t *tr = it->key.data + it->key.len - IKEY_TRAILER;
        encode_fixed64(tr, ikey_pack(it->global_seq, tr[0]));
        it->patched = 1;
    }
    it->val = p + non_shared;
    it->val_len = vlen;
    it->cur = off;
    it->next = (uint32_t)((it->val + vlen) - it->data);
done:
    return rc;
}

static int seek_to_restart(struct block_iter *it, uint32_t idx)
{
    uint32_t off = restart_at(it, idx);
    it->restart_idx = idx;
    it->key.len = 0;
    it->patched = 0;
    return off < it->data_len ? decode_entry(it, off)
                              : corrupt(it, "restart point past the entries", off);
}

/* The whole key stored at restart point idx, without copying it. */
static int restart_key(struct block_iter *it, uint32_t idx, const uint8_t **key, size_t *len)
{
    int rc = 0;
    uint32_t off = restart_at(it, idx), shared, non_shared, vlen;
    const uint8_t *p, *end = it->data + it->data_len;
    if (off >= it->data_len) {
        rc = corrupt(it, "restart point past the entries", off);
        goto done;
    }
    p = it->data + off;
    if (varint32(&p, end, &shared) < 0 || varint32(&p, end, &non_shared) < 0 ||
        varint32(&p, end, &vlen) < 0 || shared != 0 || non_shared > (size_t)(end - p) ||
        non_shared < IKEY_TRAILER) {
        rc = corrupt(it, "bad entry at restart point", off);
        goto done;
    }
    if ((rc = check_stored_seq(it, p, non_shared, off)) < 0)
        goto done;
    *key = p;
    *len = non_shared;
done:
    return rc;
}

static int bi_valid(const struct iter *base)
{
    const struct block_iter *it = (const struct block_iter *)base;
    return it->status == 0 && it->cur < it->data_len;
}

static void bi_first(struct iter *base)
{
    struct block_iter *it = (struct block_iter *)base;
    if (it->status < 0 || it->data_len == 0) {
        set_invalid(it);
        return;
    }
    seek_to_restart(it, 0);
}

static void bi_next(struct iter *base)
{
    struct block_iter *it = (struct block_iter *)base;
    if (!bi_valid(base))
        return;
    if (it->next >= it->data_len) {
        set_invalid(it);
        return;
    }
    if (decode_entry(it, it->next) < 0)
        return;
    while (it->restart_idx + 1 < it->n_restarts && restart_at(it, it->restart_idx + 1) <= it->cur)
        it->restart_idx++;
}

static void bi_last(struct iter *base)
{
    struct block_iter *it = (struct block_iter *)base;
    if (it->status < 0 || it->data_len == 0) {
        set_invalid(it);
        return;
    }
    if (seek_to_restart(it, it->n_restarts - 1) < 0)
        return;
    while (it->next < it->data_len)
        if (decode_entry(it, it->next) < 0)
            return;
}

/* Moves to the entry before the current one: back to the restart point
 * before it, then forward until the entry that ends where it starts. */
static void bi_prev(struct iter *base)
{
    struct block_iter *it = (struct block_iter *)base;
    if (!bi_valid(base))
        return;
    uint32_t target = it->cur, idx = it->restart_idx;
    while (restart_at(it, idx) >= target) {
        if (idx == 0) {
            set_invalid(it); /* cur was the first entry */
            return;
        }
        idx--;
    }
    if (seek_to_restart(it, idx) < 0)
        return;
    while (it->next < target)
        if (decode_entry(it, it->next) < 0)
            return;
    if (it->next != target)
        corrupt(it, "entries overlap a restart point", target);
}

static int check_target(struct block_iter *it, size_t len)
{
    if (len < IKEY_TRAILER) {
        it->status =
            err_set(CIRRUS_EINVALID, "seek target of %zu bytes is not an internal key", len);
        set_invalid(it);
    }
    return it->status;
}

static void bi_seek(struct iter *base, const uint8_t *target, size_t len)
{
    struct block_iter *it = (struct block_iter *)base;
    if (it->status < 0 || check_target(it, len) < 0 || it->data_len == 0) {
        set_invalid(it);
        return;
    }
    /* the last restart point whose key is < target; the first if none */
    uint32_t left = 0, right = it->n_restarts - 1;
    while (left < right) {
        uint32_t mid = left + (right - left + 1) / 2;
        const uint8_t *k = NULL;
        size_t klen = 0;
        if (restart_key(it, mid, &k, &klen) < 0)
            return;
        if (cmp_stored(it, k, klen, target, len) < 0)
            left = mid;
        else
            right = mid - 1;
    }
    if (seek_to_restart(it, left) < 0)
        return;
    while (bi_valid(base) && ikey_compare(it->key.data, it->key.len, target, len) < 0)
        bi_next(base);
}

static void bi_seek_for_prev(struct iter *base, const uint8_t *target, size_t len)
{
    struct block_iter *it = (struct block_iter *)base;
    bi_seek(base, target, len);
    if (it->status < 0)
        return;
    if (!bi_valid(base))
        bi_last(base);
    else if (ikey_compare(it->key.data, it->key.len, target, len) > 0)
        bi_prev(base);
}

static const uint8_t *bi_key(const struct iter *base, size_t *len_out)
{
    const struct block_iter *it = (const struct block_iter *)base;
    *len_out = it->key.len;
    return it->key.data;
}

static const uint8_t *bi_value(const struct iter *base, size_t *len_out)
{
    const struct block_iter *it = (const struct block_iter *)base;
    *len_out = it->val_len;
    return it->val;
}

static int bi_status(const struct iter *base)
{
    return ((const struct block_iter *)base)->status;
}

static void bi_free(struct iter *base)
{
    struct block_iter *it = (struct block_iter *)base;
    block_iter_clear(it);
    free(it);
}

static const struct iter_ops block_iter_ops = {
    .valid = bi_valid,
    .first = bi_first,
    .last = bi_last,
    .seek = bi_seek,
    .seek_for_prev = bi_seek_for_prev,
    .next = bi_next,
    .prev = bi_prev,
    .key = bi_key,
    .value = bi_value,
    .status = bi_status,
    .free = bi_free,
};

int block_iter_init(struct block_iter *it, const uint8_t *block, size_t len,
                    const struct block_origin *origin, uint64_t global_seq)
{
    int rc = 0;
    struct buf key = it->key;
    memset(it, 0, sizeof(*it));
    it->base.ops = &block_iter_ops;
    it->key = key;
    it->key.len = 0;
    it->origin = *origin;
    it->global_seq = global_seq;
    it->data = block;
    /* until the restart array is known good, the block has no entries */
    if (len < 4 || len > UINT32_MAX) {
        rc = corrupt(it, "block too short or too long for its restart array", 0);
        goto done;
    }
    uint32_t n = decode_fixed32(block + len - 4);
    if (n > (len - 4) / 4) {
        rc = corrupt(it, "restart count past the start of the block", (uint32_t)(len - 4));
        goto done;
    }
    if (n == 0 && len > 4) {
        rc = corrupt(it, "entries without a restart point", (uint32_t)(len - 4));
        goto done;
    }
    it->data_len = (uint32_t)(len - 4 - 4 * (size_t)n);
    it->restarts = block + it->data_len;
    it->n_restarts = n;
    it->cur = it->data_len;
done:
    return rc;
}

int block_iter_check_restarts(struct block_iter *it)
{
    uint32_t j = 0; /* the next restart point to meet */
    const uint8_t *k;
    size_t klen;
    if (it->status < 0 || it->data_len == 0)
        goto done;
    if (restart_at(it, 0) != 0) {
        corrupt(it, "first restart point not at the first entry", restart_at(it, 0));
        goto done;
    }
    it->key.len = 0;
    it->patched = 0;
    for (uint32_t off = 0; off < it->data_len; off = it->next) {
        if (decode_entry(it, off) < 0)
            goto done;
        if (j < it->n_restarts && restart_at(it, j) == off) {
            if (restart_key(it, j, &k, &klen) < 0)
                goto done;
            j++;
        }
        /* a restart point not met at an entry start is inside this one or
         * before it (out of order) */
        if (j < it->n_restarts && restart_at(it, j) < it->next) {
            corrupt(it, "restart point not at the start of an entry", restart_at(it, j));
            goto done;
        }
    }
    if (j < it->n_restarts)
        corrupt(it, "restart point past the entries", restart_at(it, j));
done:
    set_invalid(it);
    return it->status;
}

void block_iter_clear(struct block_iter *it)
{
    if (it)
        buf_free(&it->key);
}

int block_iter_new(struct iter **out, const uint8_t *block, size_t len,
                   const struct block_origin *origin, uint64_t global_seq)
{
    int rc = 0;
    struct block_iter *it = calloc(1, sizeof(*it));
    if (!it) {
        rc = err_nomem();
        goto done;
    }
    block_iter_init(it, block, len, origin, global_seq);
    *out = &it->base;
done:
    return rc;
}
