/*
 * sst_format.h - the fixed pieces of an SST file that builder and reader
 * share: block handles, the 5-byte block trailer, the 64-byte footer and the
 * properties block (docs/FORMAT.md, "SST files"). Everything here is encoded
 * and decoded only through these functions.
 *
 * Footer (64 bytes, at file_size - 64):
 *    0  fixed64 filter offset      8  fixed64 filter size
 *   16  fixed64 props offset      24  fixed64 props size
 *   32  fixed64 index offset      40  fixed64 index size
 *   48  fixed32 format_version    52  fixed32 checksum32(bytes 0..51)
 *   56  fixed64 magic
 * A handle's size counts the stored block bytes, not its trailer; size 0
 * means the block is absent.
 *
 * Calls: util, compress.h.
 */
#ifndef CIRRUS_TABLE_SST_FORMAT_H
#define CIRRUS_TABLE_SST_FORMAT_H

#include <stddef.h>
#include <stdint.h>

#include "table/sst.h"
#include "util/buf.h"

#define SST_FOOTER_LEN 64
#define SST_TRAILER_LEN 5
#define SST_FORMAT_VERSION 1
/* The bytes "cirrusst" read as a little-endian fixed64. */
#define SST_MAGIC UINT64_C(0x7473737572726963)
/* Version of the properties block encoding. */
#define SST_PROPS_VERSION 1

struct block_handle {
    uint64_t off;  /* byte offset of the block in the file */
    uint64_t size; /* stored bytes, trailer excluded */
};

struct sst_footer {
    struct block_handle filter, props, index;
    uint32_t format_version;
};

/* Appends the 5-byte trailer for the stored bytes just appended at
 * out->data + off. Returns 0 or CIRRUS_ENOMEM. */
int sst_put_trailer(struct buf *out, size_t off, uint8_t type);

/* Checks that the block of handle h, trailer included, lies wholly before
 * the footer of a file of file_size bytes (which must hold a footer),
 * computed without overflow. Returns 0 or CIRRUS_ECORRUPT naming the object
 * `name`, the block `what` ("data", "index", ...) and its offset. */
int sst_check_handle(const struct block_handle *h, uint64_t file_size, const char *name,
                     const char *what);

/*
 * The contents of the block of handle h whose stored bytes and trailer are
 * raw[0, h->size + 5) (borrowed): checks the trailer's checksum and the
 * compression type and inflates a compressed block. On success *data_out
 * and *len_out give the contents, which point into raw for an uncompressed
 * block (*mem_out NULL) and into *mem_out (malloc'd, caller frees) for a
 * compressed one. Returns 0, CIRRUS_ECORRUPT (message naming the object
 * `name`, the block `what` and its offset), CIRRUS_ENOMEM.
 */
int sst_unwrap_block(const uint8_t **data_out, size_t *len_out, uint8_t **mem_out,
                     const uint8_t *raw, const struct block_handle *h, const char *name,
                     const char *what);

/* Index entry value: varint offset, varint size. */
int sst_put_handle(struct buf *out, const struct block_handle *h);
/* Decodes an index value; it must be exactly a handle. 0 or -1. */
int sst_get_handle(const uint8_t *p, size_t len, struct block_handle *h);

void sst_encode_footer(uint8_t out[SST_FOOTER_LEN], const struct sst_footer *f);
/* Checks magic, checksum and version of the footer found at `off` of object
 * `name`. Returns 0, CIRRUS_ECORRUPT or CIRRUS_EVERSION with a message
 * naming both. */
int sst_decode_footer(const uint8_t in[SST_FOOTER_LEN], const char *name, uint64_t off,
                      struct sst_footer *f);

/* Properties block (format in docs/FORMAT.md): everything in props but
 * format_version and file_size, which the footer and the object give. */
int sst_encode_props(struct buf *out, const struct sst_props *p);
/* Fills p (malloc'd keys; caller clears, also on error). Returns 0,
 * CIRRUS_ECORRUPT / CIRRUS_EVERSION (message says what; caller adds name and
 * offset), CIRRUS_ENOMEM. */
int sst_decode_props(const uint8_t *in, size_t len, struct sst_props *p);

#endif
