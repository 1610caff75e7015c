/*
 * coding.h - the byte-level encodings every persistent format is made of:
 * little-endian fixed-width integers and LEB128-style varints (7 bits a byte,
 * low group first, high bit set on all but the last byte).
 *
 * Decoders take a cursor (*p) and an end, never read past end, and return -1
 * on truncated or overlong input; callers turn that into CIRRUS_ECORRUPT with
 * the object name.
 */
#ifndef CIRRUS_UTIL_CODING_H
#define CIRRUS_UTIL_CODING_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define VARINT_MAX 10

static inline void encode_fixed32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

static inline void encode_fixed64(uint8_t *p, uint64_t v)
{
    encode_fixed32(p, (uint32_t)v);
    encode_fixed32(p + 4, (uint32_t)(v >> 32));
}

static inline uint32_t decode_fixed32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

static inline uint64_t decode_fixed64(const uint8_t *p)
{
    return (uint64_t)decode_fixed32(p) | ((uint64_t)decode_fixed32(p + 4) << 32);
}

/* Writes v at p (at most VARINT_MAX bytes); returns the bytes written. */
static inline size_t encode_varint(uint8_t *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

static inline size_t varint_length(uint64_t v)
{
    size_t n = 1;
    while (v >= 0x80) {
        v >>= 7;
        n++;
    }
    return n;
}

int get_varint64(const uint8_t **p, const uint8_t *end, uint64_t *v);
int get_varint32(const uint8_t **p, const uint8_t *end, uint32_t *v);
int get_fixed32(const uint8_t **p, const uint8_t *end, uint32_t *v);
int get_fixed64(const uint8_t **p, const uint8_t *end, uint64_t *v);
int get_u8(const uint8_t **p, const uint8_t *end, uint8_t *v);
/* A varint length then that many bytes; *data points into the input. */
int get_lenbytes(const uint8_t **p, const uint8_t *end, const uint8_t **data, size_t *len);

#endif
