/*
 * batch.c - write batches: ops recorded in order, applied to a memtable
 * whole (cirrus_write, staging, transactions).
 */
#include <stdlib.h>

#include "db/batch.h"
#include "table/ikey.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/status.h"
#include "util/sys.h"

/* Ops as records: u8 kind, varint key_len, key, [varint val_len, val]. */
struct cirrus_batch {
    struct buf ops;
    size_t count;
    size_t bytes;
};

int cirrus_batch_new(cirrus_batch **out)
{
    if (!(*out = calloc(1, sizeof(**out))))
        return err_nomem();
    return 0;
}

void cirrus_batch_free(cirrus_batch *b)
{
    if (!b)
        return;
    buf_free(&b->ops);
    free(b);
}

static int batch_add(cirrus_batch *b, int kind, const void *key, size_t key_len, const void *val,
                     size_t val_len)
{
    size_t mark = b->ops.len;
    int rc;
    if (!key && key_len)
        return err_set(CIRRUS_EINVALID, "batch: NULL key with length %zu", key_len);
    if (!val && val_len)
        return err_set(CIRRUS_EINVALID, "batch: NULL value with length %zu", val_len);
    if ((rc = buf_put_u8(&b->ops, (uint8_t)kind)) < 0 ||
        (rc = buf_put_lenbytes(&b->ops, key, key_len)) < 0 ||
        (kind != KIND_DELETE && (rc = buf_put_lenbytes(&b->ops, val, val_len)) < 0)) {
        b->ops.len = mark;
        return rc;
    }
    b->count++;
    b->bytes += key_len + val_len;
    return 0;
}

int cirrus_batch_put(cirrus_batch *b, const void *key, size_t key_len, const void *val,
                     size_t val_len)
{
    return batch_add(b, KIND_PUT, key, key_len, val, val_len);
}

int cirrus_batch_delete(cirrus_batch *b, const void *key, size_t key_len)
{
    return batch_add(b, KIND_DELETE, key, key_len, NULL, 0);
}

int cirrus_batch_merge(cirrus_batch *b, const void *key, size_t key_len, const void *operand,
                       size_t operand_len)
{
    return batch_add(b, KIND_MERGE, key, key_len, operand, operand_len);
}

int cirrus_batch_put_ttl(cirrus_batch *b, const void *key, size_t key_len, const void *val,
                         size_t val_len, int64_t ttl_ms)
{
    struct buf v = {0};
    int rc;
    if (ttl_ms <= 0)
        return err_set(CIRRUS_EINVALID, "batch: a TTL must be positive (got %lld ms)",
                       (long long)ttl_ms);
    if (!val && val_len)
        return err_set(CIRRUS_EINVALID, "batch: NULL value with length %zu", val_len);
    /* the expiry is fixed now, so every reader agrees on it */
    if ((rc = buf_put_fixed64(&v, (uint64_t)(now_ms() + ttl_ms))) == 0 &&
        (rc = buf_append(&v, val, val_len)) == 0)
        rc = batch_add(b, KIND_PUT_TTL, key, key_len, v.data, v.len);
    buf_free(&v);
    return rc;
}

void cirrus_batch_clear(cirrus_batch *b)
{
    buf_reset(&b->ops);
    b->count = b->bytes = 0;
}

size_t cirrus_batch_count(const cirrus_batch *b)
{
    return b->count;
}

size_t cirrus_batch_bytes(const cirrus_batch *b)
{
    return b->bytes;
}

int batch_apply(const cirrus_batch *b, struct memtable *m, uint64_t *next_seq)
{
    const uint8_t *p = b->ops.data, *end = b->ops.data + b->ops.len;
    while (p < end) {
        uint8_t kind;
        const uint8_t *key, *val = NULL;
        size_t key_len, val_len = 0;
        int rc;
        get_u8(&p, end, &kind);
        get_lenbytes(&p, end, &key, &key_len);
        if (kind != KIND_DELETE)
            get_lenbytes(&p, end, &val, &val_len);
        if ((rc = memtable_add(m, (*next_seq)++, kind, key, key_len, val, val_len)) < 0)
            return rc;
    }
    return 0;
}
