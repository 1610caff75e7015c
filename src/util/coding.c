#include "util/coding.h"

int get_varint64(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    const uint8_t *q = *p;
    uint64_t result = 0;
    for (unsigned shift = 0; shift <= 63 && q < end; shift += 7) {
        uint64_t byte = *q++;
        if (shift == 63 && byte > 1)
            return -1;
        result |= (byte & 0x7f) << shift;
        if (!(byte & 0x80)) {
            *v = result;
            *p = q;
            return 0;
        }
    }
    return -1;
}

int get_varint32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    uint64_t x;
    const uint8_t *q = *p;
    if (get_varint64(&q, end, &x) < 0 || x > UINT32_MAX)
        return -1;
    *v = (uint32_t)x;
    *p = q;
    return 0;
}

int get_fixed32(const uint8_t **p, const uint8_t *end, uint32_t *v)
{
    if (end - *p < 4)
        return -1;
    *v = decode_fixed32(*p);
    *p += 4;
    return 0;
}

int get_fixed64(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
    if (end - *p < 8)
        return -1;
    *v = decode_fixed64(*p);
    *p += 8;
    return 0;
}

int get_u8(const uint8_t **p, const uint8_t *end, uint8_t *v)
{
    if (*p >= end)
        return -1;
    *v = **p;
    (*p)++;
    return 0;
}

int get_lenbytes(const uint8_t **p, const uint8_t *end, const uint8_t **data, size_t *len)
{
    uint64_t n;
    const uint8_t *q = *p;
    if (get_varint64(&q, end, &n) < 0 || n > (uint64_t)(end - q))
        return -1;
    *data = q;
    *len = (size_t)n;
    *p = q + n;
    return 0;
}
