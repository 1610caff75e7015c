#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

#include "util/coding.h"
#include "util/status.h"

int buf_reserve(struct buf *b, size_t extra)
{
    if (b->cap - b->len >= extra)
        return 0;
    size_t need = b->len + extra;
    if (need < b->len)
        return err_nomem();
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap * 2 > cap ? cap * 2 : need;
    uint8_t *p = realloc(b->data, cap);
    if (!p)
        return err_nomem();
    b->data = p;
    b->cap = cap;
    return 0;
}

int buf_append(struct buf *b, const void *p, size_t n)
{
    int rc;
    if (n == 0)
        return 0;
    if ((rc = buf_reserve(b, n)) < 0)
        return rc;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int buf_put_u8(struct buf *b, uint8_t v)
{
    return buf_append(b, &v, 1);
}

int buf_put_fixed32(struct buf *b, uint32_t v)
{
    uint8_t tmp[4];
    encode_fixed32(tmp, v);
    return buf_append(b, tmp, sizeof(tmp));
}

int buf_put_fixed64(struct buf *b, uint64_t v)
{
    uint8_t tmp[8];
    encode_fixed64(tmp, v);
    return buf_append(b, tmp, sizeof(tmp));
}

int buf_put_varint(struct buf *b, uint64_t v)
{
    uint8_t tmp[VARINT_MAX];
    return buf_append(b, tmp, encode_varint(tmp, v));
}

int buf_put_lenbytes(struct buf *b, const void *p, size_t n)
{
    int rc;
    if ((rc = buf_put_varint(b, n)) < 0)
        return rc;
    return buf_append(b, p, n);
}

void buf_reset(struct buf *b)
{
    b->len = 0;
}

uint8_t *buf_take(struct buf *b, size_t *len_out)
{
    uint8_t *p = b->data;
    if (len_out)
        *len_out = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void buf_free(struct buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}
