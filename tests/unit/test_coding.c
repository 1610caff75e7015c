/* cirrus-test-libs: util */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "util/buf.h"
#include "util/coding.h"
#include "util/status.h"

static void varint_round_trips_at_every_width(void **state)
{
    (void)state;
    struct buf b = {0};
    uint64_t vals[] = {0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, (uint64_t)1 << 56, UINT64_MAX};
    size_t n = sizeof(vals) / sizeof(vals[0]);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(buf_put_varint(&b, vals[i]), 0);
    const uint8_t *p = b.data, *end = b.data + b.len;
    for (size_t i = 0; i < n; i++) {
        uint64_t v;
        assert_int_equal(get_varint64(&p, end, &v), 0);
        assert_true(v == vals[i]);
    }
    assert_ptr_equal(p, end);
    buf_free(&b);
}

static void truncated_and_overlong_varints_are_rejected(void **state)
{
    (void)state;
    uint8_t trunc[] = {0x80, 0x80};
    const uint8_t *p = trunc;
    uint64_t v;
    assert_int_equal(get_varint64(&p, trunc + sizeof(trunc), &v), -1);
    assert_ptr_equal(p, trunc);
    uint8_t overlong[11];
    for (int i = 0; i < 10; i++)
        overlong[i] = 0xff;
    overlong[10] = 0x01;
    p = overlong;
    assert_int_equal(get_varint64(&p, overlong + sizeof(overlong), &v), -1);
    uint8_t big32[] = {0x80, 0x80, 0x80, 0x80, 0x10};
    uint32_t v32;
    p = big32;
    assert_int_equal(get_varint32(&p, big32 + sizeof(big32), &v32), -1);
}

static void lenbytes_refuse_lengths_past_the_end(void **state)
{
    (void)state;
    uint8_t in[] = {5, 'a', 'b'};
    const uint8_t *p = in, *data;
    size_t len;
    assert_int_equal(get_lenbytes(&p, in + sizeof(in), &data, &len), -1);
    in[0] = 2;
    assert_int_equal(get_lenbytes(&p, in + sizeof(in), &data, &len), 0);
    assert_int_equal(len, 2);
    assert_memory_equal(data, "ab", 2);
}

static void fixed_width_is_little_endian(void **state)
{
    (void)state;
    uint8_t b[8];
    encode_fixed64(b, 0x0102030405060708ull);
    assert_int_equal(b[0], 0x08);
    assert_int_equal(b[7], 0x01);
    assert_true(decode_fixed64(b) == 0x0102030405060708ull);
}

static void err_prefix_keeps_the_cause(void **state)
{
    (void)state;
    err_set(CIRRUS_ECORRUPT, "block at offset %d: checksum mismatch", 42);
    assert_int_equal(err_prefix(CIRRUS_ECORRUPT, "sst/x.sst"), CIRRUS_ECORRUPT);
    assert_string_equal(cirrus_errmsg(), "sst/x.sst: block at offset 42: checksum mismatch");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(varint_round_trips_at_every_width),
        cmocka_unit_test(truncated_and_overlong_varints_are_rejected),
        cmocka_unit_test(lenbytes_refuse_lengths_past_the_end),
        cmocka_unit_test(fixed_width_is_little_endian),
        cmocka_unit_test(err_prefix_keeps_the_cause),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
