/*
 * compress.c - zstd and lz4 block codecs (format in compress.h).
 */
#include "table/compress.h"

#include <limits.h>
#include <lz4.h>
#include <stdlib.h>
#include <zstd.h>

#include "util/coding.h"
#include "util/status.h"

/* Output bytes of the codec into out after the length prefix; 0 on failure. */
static size_t codec_compress(int type, int level, uint8_t *dst, size_t cap, const uint8_t *raw,
                             size_t len)
{
    size_t n = 0;
    if (type == COMPRESS_ZSTD) {
        n = ZSTD_compress(dst, cap, raw, len, level ? level : ZSTD_CLEVEL_DEFAULT);
        if (ZSTD_isError(n))
            n = 0;
    } else {
        int r = LZ4_compress_default((const char *)raw, (char *)dst, (int)len, (int)cap);
        n = r > 0 ? (size_t)r : 0;
    }
    return n;
}

int compress_block(struct buf *out, int type, int level, const uint8_t *raw, size_t len,
                   int *type_out)
{
    int rc = 0;
    size_t bound = 0;
    buf_reset(out);
    *type_out = COMPRESS_NONE;
    if (type == COMPRESS_NONE)
        goto done;
    if (type == COMPRESS_ZSTD) {
        bound = ZSTD_compressBound(len);
    } else if (type == COMPRESS_LZ4) {
        if (len > LZ4_MAX_INPUT_SIZE)
            goto done; /* lz4 cannot take it; store raw */
        bound = (size_t)LZ4_compressBound((int)len);
    } else {
        rc = err_set(CIRRUS_EINVALID, "unknown compression type %d", type);
        goto done;
    }
    if ((rc = buf_reserve(out, VARINT_MAX + bound)) < 0)
        goto done;
    size_t head = encode_varint(out->data, len);
    size_t n = codec_compress(type, level, out->data + head, bound, raw, len);
    /* keep it only if it saves at least 1/8 */
    if (n == 0 || head + n > len - len / 8)
        goto done;
    out->len = head + n;
    *type_out = type;
done:
    return rc;
}

/* Whether src_len stored bytes can decode to raw_len, checked before the
 * output is allocated: a damaged length must not cost a 256 MiB buffer. */
static int plausible(int type, const uint8_t *src, size_t src_len, size_t raw_len)
{
    if (type == COMPRESS_ZSTD) {
        unsigned long long fsize = ZSTD_getFrameContentSize(src, src_len);
        if (fsize != raw_len)
            return err_set(CIRRUS_ECORRUPT, "zstd frame size does not match the stored length");
        /* each zstd block holds at most 128 KiB and takes at least 4 bytes
         * (an RLE block: 3 of header, 1 of content) */
        if (raw_len / ((size_t)128 << 10) > src_len / 4 + 1)
            return err_set(CIRRUS_ECORRUPT, "zstd length %zu impossible for %zu stored bytes",
                           raw_len, src_len);
        return 0;
    }
    /* lz4 expands at most 255:1, so a claimed length past that is a lie */
    if (src_len > INT_MAX || raw_len > INT_MAX || raw_len / 255 > src_len + 1)
        return err_set(CIRRUS_ECORRUPT, "lz4 length %zu impossible for %zu stored bytes", raw_len,
                       src_len);
    return 0;
}

static int inflate(int type, const uint8_t *src, size_t src_len, uint8_t *dst, size_t raw_len)
{
    if (type == COMPRESS_ZSTD) {
        size_t n = ZSTD_decompress(dst, raw_len, src, src_len);
        if (ZSTD_isError(n) || n != raw_len)
            return err_set(CIRRUS_ECORRUPT, "zstd payload does not decode to %zu bytes", raw_len);
        return 0;
    }
    int n = LZ4_decompress_safe((const char *)src, (char *)dst, (int)src_len, (int)raw_len);
    if (n < 0 || (size_t)n != raw_len)
        return err_set(CIRRUS_ECORRUPT, "lz4 payload does not decode to %zu bytes", raw_len);
    return 0;
}

int decompress_block(int type, const uint8_t *in, size_t len, uint8_t **out_out,
                     size_t *out_len_out)
{
    int rc = 0;
    const uint8_t *p = in, *end = in + len;
    uint64_t raw_len;
    uint8_t *out = NULL;
    if (type != COMPRESS_ZSTD && type != COMPRESS_LZ4) {
        rc = err_set(CIRRUS_ECORRUPT, "unknown compression type %d", type);
        goto done;
    }
    if (get_varint64(&p, end, &raw_len) < 0 || raw_len > COMPRESS_MAX_RAW) {
        rc = err_set(CIRRUS_ECORRUPT, "bad uncompressed length");
        goto done;
    }
    if ((rc = plausible(type, p, (size_t)(end - p), (size_t)raw_len)) < 0)
        goto done;
    /* +1: malloc(0) may return NULL */
    if (!(out = malloc((size_t)raw_len + 1))) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = inflate(type, p, (size_t)(end - p), out, (size_t)raw_len)) < 0)
        goto done;
    *out_out = out;
    *out_len_out = (size_t)raw_len;
    out = NULL;
done:
    free(out);
    return rc;
}
