/* cirrus-test-libs: table testsupport */
/*
 * fuzz_sst.c - SST file bytes, opened from an in-memory object store,
 * iterated both ways, sought and read with get(). Nothing may crash, leak or
 * read out of bounds, whatever the bytes; opening fails only as
 * CIRRUS_ECORRUPT / EVERSION, reads only as CIRRUS_ECORRUPT (or ENOTFOUND
 * for an absent key).
 *
 * Random bytes almost never pass a checksum, so each input is also tried
 * "resealed": with the footer and every block checksum it can find
 * recomputed, which lets mutations reach the properties, index, block and
 * decompression decoders.
 *
 * Differential: the deep check (sst_verify) fails only as CIRRUS_ECORRUPT,
 * and a file it calls sound opens, scans both ways, seeks and gets with no
 * error at all.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cache/block_cache.h"
#include "cirrus.h"
#include "objstore/objstore.h"
#include "support/memstore.h"
#include "table/block.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "table/sst_format.h"
#include "table/sst_verify.h"
#include "util/coding.h"
#include "util/hash.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STEPS 4096

/* Recomputes the trailer checksum of the block at h if it lies in the file. */
static int reseal_block(uint8_t *buf, size_t len, const struct block_handle *h)
{
    uint64_t limit = len - SST_FOOTER_LEN;
    if (h->size == 0 || h->size > limit || h->off > limit - h->size ||
        SST_TRAILER_LEN > limit - h->size - h->off)
        return -1;
    uint8_t *b = buf + h->off;
    encode_fixed32(b + h->size + 1, checksum32(b, (size_t)h->size + 1));
    return 0;
}

static void reseal(uint8_t *buf, size_t len)
{
    if (len < SST_FOOTER_LEN)
        return;
    uint8_t *f = buf + len - SST_FOOTER_LEN;
    encode_fixed64(f + 56, SST_MAGIC);
    encode_fixed32(f + 52, checksum32(f, 52));
    struct block_handle hs[3];
    for (int i = 0; i < 3; i++) {
        hs[i].off = decode_fixed64(f + 16 * i);
        hs[i].size = decode_fixed64(f + 16 * i + 8);
        reseal_block(buf, len, &hs[i]);
    }
    /* data blocks through an uncompressed index */
    const struct block_handle *ix = &hs[2];
    if (reseal_block(buf, len, ix) < 0 || buf[ix->off + ix->size] != 0)
        return;
    struct block_origin o = {"fuzz", "index", ix->off};
    struct block_iter it = {0};
    block_iter_init(&it, buf + ix->off, (size_t)ix->size, &o, 0);
    size_t steps = 0;
    for (iter_first(&it.base); iter_valid(&it.base) && steps < MAX_STEPS;
         iter_next(&it.base), steps++) {
        struct block_handle h;
        if (sst_get_handle(it.val, it.val_len, &h) == 0 && h.off + h.size < ix->off)
            reseal_block(buf, len, &h);
    }
    block_iter_clear(&it);
    /* the index is checksummed after its data blocks changed nothing in it */
}

/* A read of a damaged file fails as corrupt, never as anything else. */
static void check_read_rc(int rc)
{
    FUZZ_CHECK(rc == 0 || rc == CIRRUS_ENOTFOUND || rc == CIRRUS_ECORRUPT || rc == CIRRUS_ENOMEM);
}

static void check_open_rc(int rc)
{
    FUZZ_CHECK(rc == 0 || rc == CIRRUS_ECORRUPT || rc == CIRRUS_EVERSION || rc == CIRRUS_ENOMEM);
}

/* sound: the verifier passed the file, so no read may find damage */
static void probe(struct sst_reader *r, int sound)
{
    struct iter *it = NULL;
    uint8_t keys[3][64];
    size_t key_lens[3] = {0}, n = 0, steps = 0;
    if (sst_reader_iter(r, &it) < 0)
        return;
    for (iter_first(it); iter_valid(it) && steps < MAX_STEPS; iter_next(it), steps++) {
        size_t klen, vlen;
        const uint8_t *k = iter_key(it, &klen);
        (void)iter_value(it, &vlen);
        if (n < 3 && klen <= sizeof(keys[0]) && steps % 7 == 0) {
            memcpy(keys[n], k, klen);
            key_lens[n++] = klen;
        }
    }
    for (iter_last(it); iter_valid(it) && steps < 2 * MAX_STEPS; iter_prev(it), steps++)
        ;
    for (size_t i = 0; i < n; i++) {
        int kind;
        uint8_t *val = NULL;
        size_t vlen;
        iter_seek(it, keys[i], key_lens[i]);
        iter_next(it);
        iter_seek_for_prev(it, keys[i], key_lens[i]);
        iter_prev(it);
        int rc =
            sst_reader_get(r, keys[i], ikey_user_len(key_lens[i]), SEQ_MAX, &kind, &val, &vlen);
        check_read_rc(rc);
        FUZZ_CHECK(!sound || rc != CIRRUS_ECORRUPT);
        if (rc == 0)
            free(val);
    }
    int kind;
    uint8_t *val = NULL;
    size_t vlen;
    int rc = sst_reader_get(r, "k", 1, 100, &kind, &val, &vlen);
    check_read_rc(rc);
    FUZZ_CHECK(!sound || rc != CIRRUS_ECORRUPT);
    if (rc == 0)
        free(val);
    FUZZ_CHECK(iter_status(it) == 0 || iter_status(it) == CIRRUS_ECORRUPT);
    FUZZ_CHECK(!sound || iter_status(it) == 0);
    iter_free(it);
}

/* The deep check of the file read with global_seq: 1 if it is sound. */
static int verified(struct objstore *os, const char *name, uint64_t global_seq)
{
    struct sst_expect e = {.global_seq = global_seq};
    int rc = sst_verify(NULL, os, name, &e, NULL, NULL);
    FUZZ_CHECK(rc == 0 || rc == CIRRUS_ECORRUPT || rc == CIRRUS_ENOMEM);
    return rc == 0;
}

static void try_file(struct objstore *os, const char *name, const uint8_t *data, size_t size)
{
    struct sst_reader *r = NULL;
    struct block_cache *cache = NULL;
    if (objstore_put(os, name, data, size) < 0)
        return;
    int sound = verified(os, name, 0), sound_l0 = verified(os, name, 7);
    int rc = sst_reader_open(&r, os, name, size, 0, NULL);
    check_open_rc(rc);
    FUZZ_CHECK(!sound || rc == 0);
    if (rc == 0) {
        probe(r, sound);
        sst_reader_close(r);
    }
    /* through a small block cache: blocks served from it must behave the
     * same as blocks read afresh */
    if (block_cache_new(&cache, 64 << 10) == 0) {
        rc = sst_reader_open(&r, os, name, size, 7, cache);
        FUZZ_CHECK(!sound_l0 || rc == 0);
        if (rc == 0) {
            probe(r, sound_l0);
            probe(r, sound_l0);
            sst_reader_close(r);
        }
    }
    block_cache_free(cache);
    /* the commit entry may claim more bytes than the object has */
    rc = sst_reader_open(&r, os, name, size + 100, 0, NULL);
    check_open_rc(rc);
    if (rc == 0)
        sst_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct objstore *os = NULL;
    uint8_t *copy = NULL;
    if (memstore_open(&os) < 0)
        goto done;
    try_file(os, "fuzz/raw.sst", data, size);
    if (!(copy = malloc(size ? size : 1)))
        goto done;
    if (size)
        memcpy(copy, data, size);
    reseal(copy, size);
    try_file(os, "fuzz/resealed.sst", copy, size);
done:
    free(copy);
    if (os)
        os->ops->close(os);
    return 0;
}
