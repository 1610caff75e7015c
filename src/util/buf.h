/*
 * buf.h - a growable byte buffer, the one way the codebase builds encodings.
 *
 * A zeroed struct buf is an empty buffer. Appends grow it geometrically;
 * on allocation failure they return CIRRUS_ENOMEM and leave it unchanged.
 */
#ifndef CIRRUS_UTIL_BUF_H
#define CIRRUS_UTIL_BUF_H

#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *data;
    size_t len; /* bytes in use */
    size_t cap; /* bytes allocated */
};

int buf_reserve(struct buf *b, size_t extra);
int buf_append(struct buf *b, const void *p, size_t n);
int buf_put_u8(struct buf *b, uint8_t v);
int buf_put_fixed32(struct buf *b, uint32_t v);
int buf_put_fixed64(struct buf *b, uint64_t v);
int buf_put_varint(struct buf *b, uint64_t v);
/* varint length followed by the bytes */
int buf_put_lenbytes(struct buf *b, const void *p, size_t n);
void buf_reset(struct buf *b);
/* Hands the bytes to the caller (who frees them) and empties the buffer. */
uint8_t *buf_take(struct buf *b, size_t *len_out);
void buf_free(struct buf *b);

#endif
