/*
 * bloom.h - bloom filters over user keys, one per SST file
 * (docs/FORMAT.md, "Filter block").
 *
 * Filter bytes: bit array of n_bits = 8 * (len - 1) bits, then one byte k,
 * the number of probes. Key h = hash64(key): probe j (0 <= j < k) sets bit
 * (lo + j * hi) mod n_bits, lo and hi being the low and high 32 bits of h,
 * summed in 32-bit arithmetic. Bit i lives in byte i / 8, mask 1 << (i % 8).
 *
 * A filter with k outside 1..30 (reserved for other encodings) or with no
 * bits matches every key: a reader never wrongly answers "absent".
 *
 * Calls: util only.
 */
#ifndef CIRRUS_TABLE_BLOOM_H
#define CIRRUS_TABLE_BLOOM_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct bloom_builder {
    uint64_t *hashes; /* hash64 of each key added */
    size_t n_hashes;
    size_t cap;
    uint32_t bits_per_key;
};

void bloom_builder_init(struct bloom_builder *b, uint32_t bits_per_key);
/* Remembers key (only its hash is kept). Returns 0 or CIRRUS_ENOMEM. */
int bloom_builder_add(struct bloom_builder *b, const void *key, size_t len);
/* Bytes the filter would have if finished now. */
size_t bloom_builder_size(const struct bloom_builder *b);
/* Appends the filter for every key added to out. Returns 0 or
 * CIRRUS_ENOMEM (out unchanged). */
int bloom_builder_finish(struct bloom_builder *b, struct buf *out);
void bloom_builder_free(struct bloom_builder *b);

/* 0 if the filter (borrowed bytes) proves key absent, else 1. */
int bloom_may_contain(const uint8_t *filter, size_t len, const void *key, size_t key_len);

#endif
