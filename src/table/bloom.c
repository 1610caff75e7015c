/*
 * bloom.c - bloom filter builder and probe (format in bloom.h).
 */
#include "table/bloom.h"

#include <stdlib.h>
#include <string.h>

#include "util/hash.h"
#include "util/status.h"

#define BLOOM_MIN_BITS 64
#define BLOOM_MAX_K 30

void bloom_builder_init(struct bloom_builder *b, uint32_t bits_per_key)
{
    memset(b, 0, sizeof(*b));
    b->bits_per_key = bits_per_key;
}

int bloom_builder_add(struct bloom_builder *b, const void *key, size_t len)
{
    int rc = 0;
    if (b->n_hashes == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 256;
        uint64_t *h = cap > b->cap ? realloc(b->hashes, cap * sizeof(*h)) : NULL;
        if (!h) {
            rc = err_nomem();
            goto done;
        }
        b->hashes = h;
        b->cap = cap;
    }
    b->hashes[b->n_hashes++] = hash64(key, len);
done:
    return rc;
}

/* Bit count for n keys: bits_per_key each, at least 64, a whole number of
 * bytes, and addressable by a 32-bit probe. */
static uint64_t filter_bits(const struct bloom_builder *b)
{
    uint64_t bits = (uint64_t)b->n_hashes * b->bits_per_key;
    if (bits < BLOOM_MIN_BITS)
        bits = BLOOM_MIN_BITS;
    if (bits > UINT32_MAX - 7)
        bits = UINT32_MAX - 7;
    return (bits + 7) / 8 * 8;
}

size_t bloom_builder_size(const struct bloom_builder *b)
{
    return (size_t)(filter_bits(b) / 8 + 1);
}

int bloom_builder_finish(struct bloom_builder *b, struct buf *out)
{
    int rc = 0;
    uint64_t n_bits = filter_bits(b);
    size_t n_bytes = (size_t)(n_bits / 8);
    /* k = bits_per_key * ln 2 minimises the false-positive rate */
    uint32_t k = b->bits_per_key * 69 / 100;
    if (k < 1)
        k = 1;
    if (k > BLOOM_MAX_K)
        k = BLOOM_MAX_K;
    if ((rc = buf_reserve(out, n_bytes + 1)) < 0)
        goto done;
    uint8_t *bits = out->data + out->len;
    memset(bits, 0, n_bytes);
    for (size_t i = 0; i < b->n_hashes; i++) {
        uint32_t h = (uint32_t)b->hashes[i], delta = (uint32_t)(b->hashes[i] >> 32);
        for (uint32_t j = 0; j < k; j++) {
            uint32_t pos = (uint32_t)(h % n_bits);
            bits[pos / 8] |= (uint8_t)(1u << (pos % 8));
            h += delta;
        }
    }
    bits[n_bytes] = (uint8_t)k;
    out->len += n_bytes + 1;
    b->n_hashes = 0;
done:
    return rc;
}

void bloom_builder_free(struct bloom_builder *b)
{
    if (!b)
        return;
    free(b->hashes);
    b->hashes = NULL;
    b->n_hashes = b->cap = 0;
}

int bloom_may_contain(const uint8_t *filter, size_t len, const void *key, size_t key_len)
{
    int maybe = 1;
    uint32_t k = len >= 2 ? filter[len - 1] : 0;
    /* unknown shapes match everything: never a false "absent" */
    if (k < 1 || k > BLOOM_MAX_K || len - 1 > UINT32_MAX / 8)
        goto done;
    uint32_t n_bits = (uint32_t)((len - 1) * 8);
    uint64_t hv = hash64(key, key_len);
    uint32_t h = (uint32_t)hv, delta = (uint32_t)(hv >> 32);
    for (uint32_t j = 0; j < k && maybe; j++) {
        uint32_t pos = h % n_bits;
        maybe = (filter[pos / 8] >> (pos % 8)) & 1;
        h += delta;
    }
done:
    return maybe;
}
