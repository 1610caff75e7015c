/*
 * escape.c - the text form of keys and values; see escape.h for the table.
 */
#include "escape.h"

static const char hex_digits[] = "0123456789abcdef";

/* The value of hex digit c, or -1. */
static int hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Encodes one byte into dst (room for 4). Returns the bytes written. */
static size_t encode_byte(char *dst, unsigned char c)
{
    if (c == '\\' || c == '\t' || c == '\n') {
        dst[0] = '\\';
        dst[1] = c == '\\' ? '\\' : c == '\t' ? 't' : 'n';
        return 2;
    }
    if (c < 0x20 || c == 0x7f) {
        dst[0] = '\\';
        dst[1] = 'x';
        dst[2] = hex_digits[c >> 4];
        dst[3] = hex_digits[c & 0xf];
        return 4;
    }
    dst[0] = (char)c;
    return 1;
}

size_t escape_encode(char *dst, const void *src, size_t len)
{
    const unsigned char *s = src;
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += encode_byte(dst + n, s[i]);
    return n;
}

/*
 * Decodes the escape whose backslash is at src[i]. On success stores the
 * byte in *byte_out and returns the length of the sequence; returns 0 if it
 * is not a valid escape.
 */
static size_t decode_one(unsigned char *byte_out, const char *src, size_t src_len, size_t i)
{
    int hi, lo;
    if (i + 1 >= src_len)
        return 0;
    switch (src[i + 1]) {
    case '\\':
        *byte_out = '\\';
        return 2;
    case 't':
        *byte_out = '\t';
        return 2;
    case 'n':
        *byte_out = '\n';
        return 2;
    case 'x':
        if (i + 3 >= src_len)
            return 0;
        hi = hex_value((unsigned char)src[i + 2]);
        lo = hex_value((unsigned char)src[i + 3]);
        if (hi < 0 || lo < 0)
            return 0;
        *byte_out = (unsigned char)(hi << 4 | lo);
        return 4;
    default:
        return 0;
    }
}

int escape_decode(uint8_t *dst, size_t *dst_len_out, size_t *bad_at_out, const char *src,
                  size_t src_len)
{
    size_t i = 0, n = 0;
    while (i < src_len) {
        unsigned char c = (unsigned char)src[i];
        size_t used = 1;
        if (c == '\\') {
            used = decode_one(&c, src, src_len, i);
            if (used == 0) {
                *bad_at_out = i;
                return -1;
            }
        }
        dst[n++] = c;
        i += used;
    }
    *dst_len_out = n;
    return 0;
}

void escape_describe_bad(char *out, const char *src, size_t src_len, size_t bad_at)
{
    size_t end = bad_at + 2, n = 0;
    if (bad_at + 1 < src_len && src[bad_at + 1] == 'x')
        end = bad_at + 4;
    if (end > src_len)
        end = src_len;
    out[n++] = '\\';
    for (size_t i = bad_at + 1; i < end; i++) {
        unsigned char c = (unsigned char)src[i];
        if (c >= 0x20 && c < 0x7f)
            out[n++] = (char)c;
        else
            n += encode_byte(out + n, c);
    }
    out[n] = '\0';
}

int escape_fwrite(FILE *f, const void *src, size_t len)
{
    const unsigned char *s = src;
    char chunk[ESCAPE_MAX_LEN(256)];
    while (len > 0) {
        size_t take = len < 256 ? len : 256;
        size_t n = escape_encode(chunk, s, take);
        if (fwrite(chunk, 1, n, f) != n)
            return -1;
        s += take;
        len -= take;
    }
    return 0;
}
