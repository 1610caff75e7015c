/*
 * compress.h - block compression (docs/FORMAT.md, "Block trailer").
 *
 * Compression types are persistent: 0 none, 1 zstd, 2 lz4 (the values of
 * enum cirrus_compression). A compressed block stores the varint length of
 * the uncompressed bytes, then the compressor's output (a zstd frame with
 * its content size, or an lz4 raw block). A block is kept compressed only if
 * that saves at least 1/8 of its bytes; otherwise it is stored raw (type 0).
 *
 * Calls: util, libzstd, liblz4.
 */
#ifndef CIRRUS_TABLE_COMPRESS_H
#define CIRRUS_TABLE_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define COMPRESS_NONE 0
#define COMPRESS_ZSTD 1
#define COMPRESS_LZ4 2

/* No block inflates beyond this (a file is bounded by its target size). */
#define COMPRESS_MAX_RAW ((uint64_t)256 << 20)

/*
 * Compresses raw with `type` (level: zstd level, 0 for its default) into out
 * (reset first). *type_out is the type to store: `type` if out holds the
 * compressed form, COMPRESS_NONE if compression did not pay (out is then
 * empty and the caller stores raw). Returns 0, CIRRUS_EINVALID (unknown
 * type), CIRRUS_ENOMEM.
 */
int compress_block(struct buf *out, int type, int level, const uint8_t *raw, size_t len,
                   int *type_out);

/*
 * Inflates stored bytes of a block of `type` 1 or 2 into a malloc'd buffer
 * (*out_out, caller frees). Returns 0, CIRRUS_ECORRUPT (bad length or
 * payload, unknown type; the message says what, the caller adds the object
 * and offset), CIRRUS_ENOMEM.
 */
int decompress_block(int type, const uint8_t *in, size_t len, uint8_t **out_out,
                     size_t *out_len_out);

#endif
