/* cirrus-test-libs: table testsupport */
/*
 * fuzz_block.c - raw block bytes (no checksum in the way) walked by the
 * block iterator forwards, backwards and by seeks, with and without a
 * global seq. Nothing may crash or read outside the block; errors must be
 * CIRRUS_ECORRUPT.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cirrus.h"
#include "table/block.h"
#include "table/ikey.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STEPS 4096

static void walk(const uint8_t *data, size_t size, uint64_t global_seq)
{
    struct block_origin o = {"fuzz", "data", 0};
    struct iter *it = NULL;
    uint8_t key[64];
    size_t key_len = 0, steps = 0;
    if (block_iter_new(&it, data, size, &o, global_seq) < 0)
        return;
    for (iter_first(it); iter_valid(it) && steps < MAX_STEPS; iter_next(it), steps++) {
        size_t klen, vlen;
        const uint8_t *k = iter_key(it, &klen);
        const uint8_t *v = iter_value(it, &vlen);
        /* touch every byte so ASan checks the bounds */
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < klen; i++)
            sink ^= k[i];
        for (size_t i = 0; i < vlen; i++)
            sink ^= v[i];
        (void)sink;
        if (steps % 5 == 0 && klen <= sizeof(key)) {
            memcpy(key, k, klen);
            key_len = klen;
        }
    }
    for (iter_last(it); iter_valid(it) && steps < 2 * MAX_STEPS; iter_prev(it), steps++)
        ;
    if (key_len >= IKEY_TRAILER) {
        iter_seek(it, key, key_len);
        iter_prev(it);
        iter_seek_for_prev(it, key, key_len);
        iter_next(it);
        key[key_len - 1] ^= 0x80; /* a different seq */
        iter_seek(it, key, key_len);
    }
    uint8_t t[IKEY_TRAILER + 3];
    ikey_encode(t, "key", 3, 50, KIND_MAX);
    iter_seek(it, t, sizeof(t));
    iter_seek_for_prev(it, t, sizeof(t));
    if (iter_status(it) != 0 && iter_status(it) != CIRRUS_ECORRUPT)
        abort();
    iter_free(it);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    walk(data, size, 0);
    walk(data, size, 7);
    return 0;
}
