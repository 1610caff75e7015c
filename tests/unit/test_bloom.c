/* cirrus-test-libs: table testsupport */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "table/bloom.h"

static size_t key_of(char *out, size_t i, const char *tag)
{
    return (size_t)snprintf(out, 32, "%s-%zu", tag, i);
}

static void build(struct buf *out, size_t n, uint32_t bits_per_key)
{
    struct bloom_builder b;
    char k[32];
    bloom_builder_init(&b, bits_per_key);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(bloom_builder_add(&b, k, key_of(k, i, "in")), 0);
    assert_int_equal(bloom_builder_finish(&b, out), 0);
    bloom_builder_free(&b);
}

static double fp_rate(const struct buf *f, size_t probes)
{
    char k[32];
    size_t fp = 0;
    for (size_t i = 0; i < probes; i++)
        fp += (size_t)bloom_may_contain(f->data, f->len, k, key_of(k, i, "out"));
    return (double)fp / (double)probes;
}

static void no_false_negatives(void **state)
{
    (void)state;
    size_t sizes[] = {1, 10, 100, 1000, 20000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        struct buf f = {0};
        char k[32];
        build(&f, sizes[s], 10);
        for (size_t i = 0; i < sizes[s]; i++)
            assert_int_equal(bloom_may_contain(f.data, f.len, k, key_of(k, i, "in")), 1);
        buf_free(&f);
    }
}

static void false_positive_rate_is_near_theory(void **state)
{
    (void)state;
    struct buf f = {0};
    size_t n = 20000;
    build(&f, n, 10);
    /* k = 6 probes into 10 bits a key: (1 - e^(-6/10))^6 = 0.84% */
    const double theory = 0.008411;
    double rate = fp_rate(&f, 100000);
    print_message("bloom fp rate %.4f%% (theory %.4f%%)\n", rate * 100, theory * 100);
    assert_true(rate < theory * 1.5);
    assert_true(rate > theory * 0.5);
    assert_int_equal(f.len, n * 10 / 8 + 1);
    assert_int_equal(f.data[f.len - 1], 6);
    buf_free(&f);
}

static void more_bits_fewer_false_positives(void **state)
{
    (void)state;
    struct buf f5 = {0}, f20 = {0};
    build(&f5, 5000, 5);
    build(&f20, 5000, 20);
    double r5 = fp_rate(&f5, 50000), r20 = fp_rate(&f20, 50000);
    assert_true(r5 < 0.15);
    assert_true(r20 < 0.001);
    assert_true(r20 < r5);
    buf_free(&f5);
    buf_free(&f20);
}

static void unknown_shapes_match_everything(void **state)
{
    (void)state;
    uint8_t f[9] = {0};
    assert_int_equal(bloom_may_contain(f, 0, "a", 1), 1);
    assert_int_equal(bloom_may_contain(f, 1, "a", 1), 1);
    f[8] = 0; /* k = 0: reserved */
    assert_int_equal(bloom_may_contain(f, sizeof(f), "a", 1), 1);
    f[8] = 31;
    assert_int_equal(bloom_may_contain(f, sizeof(f), "a", 1), 1);
    f[8] = 3; /* all bits clear: absent */
    assert_int_equal(bloom_may_contain(f, sizeof(f), "a", 1), 0);
}

static void empty_filter_rejects_everything(void **state)
{
    (void)state;
    struct buf f = {0};
    build(&f, 0, 10);
    assert_int_equal(f.len, 9); /* 64 bits minimum + k */
    assert_true(fp_rate(&f, 1000) == 0.0);
    buf_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_false_negatives),
        cmocka_unit_test(false_positive_rate_is_near_theory),
        cmocka_unit_test(more_bits_fewer_false_positives),
        cmocka_unit_test(unknown_shapes_match_everything),
        cmocka_unit_test(empty_filter_rejects_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
