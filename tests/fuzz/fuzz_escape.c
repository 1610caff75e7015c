/* cirrus-test-libs: db */
/*
 * fuzz_escape.c - the CLI's escapes (src/cli/escape.c, compiled in here: the
 * fuzz build takes one source per target, and the CLI is not a library).
 *
 * For any input x:
 *   - decode(encode(x)) == x, and encode(x) holds no raw TAB, newline, other
 *     control byte or 0x7f, and no more than ESCAPE_MAX_LEN bytes;
 *   - x read as escaped text either decodes (in place and out of place to
 *     the same bytes, never longer than x, and re-encoding round-trips) or
 *     fails at a backslash inside x, which escape_describe_bad() renders in
 *     bounds.
 * Every buffer is exactly as long as the contract says, so ASan catches any
 * overread or overwrite.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cli/escape.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            abort();                                                                               \
    } while (0)

/* malloc of at least 1 byte (an empty buffer still gets a valid pointer) */
static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    CHECK(p != NULL);
    return p;
}

static void check_round_trip(const uint8_t *data, size_t size)
{
    char *enc = xmalloc(ESCAPE_MAX_LEN(size));
    size_t enc_len = escape_encode(enc, data, size), dec_len = 0, bad_at = 0;
    uint8_t *dec;
    CHECK(enc_len <= ESCAPE_MAX_LEN(size) && enc_len >= size);
    for (size_t i = 0; i < enc_len; i++) {
        unsigned char c = (unsigned char)enc[i];
        CHECK(c >= 0x20 && c != 0x7f);
    }
    dec = xmalloc(enc_len);
    CHECK(escape_decode(dec, &dec_len, &bad_at, enc, enc_len) == 0);
    CHECK(dec_len == size && memcmp(dec, data, size) == 0);
    free(dec);
    free(enc);
}

static void check_decode(const uint8_t *data, size_t size)
{
    const char *src = (const char *)data;
    uint8_t *out = xmalloc(size), *inplace = xmalloc(size);
    size_t out_len = 0, in_len = 0, bad_at = 0, bad2 = 0;
    char bad[ESCAPE_BAD_MAX];
    int rc = escape_decode(out, &out_len, &bad_at, src, size);
    memcpy(inplace, data, size);
    CHECK(escape_decode(inplace, &in_len, &bad2, (const char *)inplace, size) == rc);
    if (rc == 0) {
        CHECK(out_len <= size && in_len == out_len && memcmp(out, inplace, out_len) == 0);
        check_round_trip(out, out_len);
    } else {
        CHECK(rc == -1 && bad_at < size && src[bad_at] == '\\' && bad2 == bad_at);
        escape_describe_bad(bad, src, size, bad_at);
        CHECK(strlen(bad) < ESCAPE_BAD_MAX && bad[0] == '\\');
    }
    free(inplace);
    free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    check_round_trip(data, size);
    check_decode(data, size);
    return 0;
}
