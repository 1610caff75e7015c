/* cirrus-test-libs: db testsupport */
/*
 * test_batch_visibility.c - a batch is atomic for the handle that buffers
 * it too: while one thread writes batches that set every key of a set to
 * the batch's number, reads at the latest on the same handle (multi_get and
 * iterators) see every key from the same batch, never a mix of the batch
 * being buffered and the one before it.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/fixture.h"

#define KEYS 64
#define ROUNDS 3000

struct shared {
    cirrus_db *db;
    atomic_int done;
};

static void *writer(void *arg)
{
    struct shared *s = arg;
    for (int r = 1; r <= ROUNDS; r++) {
        cirrus_batch *b;
        char v[16];
        int vn = snprintf(v, sizeof(v), "%d", r);
        if (cirrus_batch_new(&b) != 0)
            break;
        for (int k = 0; k < KEYS; k++) {
            char key[16];
            int kn = snprintf(key, sizeof(key), "k%02d", k);
            cirrus_batch_put(b, key, (size_t)kn, v, (size_t)vn);
        }
        int rc = cirrus_write(s->db, b, 0, NULL);
        cirrus_batch_free(b);
        if (rc != 0)
            break;
    }
    atomic_store(&s->done, 1);
    return NULL;
}

/* The batch number every key holds, 0 for none; fails on a mix. */
static int read_by_multi_get(cirrus_db *db)
{
    char keys[KEYS][16];
    const void *kp[KEYS];
    size_t kl[KEYS], vl[KEYS];
    void *vals[KEYS];
    int rcs[KEYS], first = -1;
    for (int k = 0; k < KEYS; k++) {
        kl[k] = (size_t)snprintf(keys[k], sizeof(keys[k]), "k%02d", k);
        kp[k] = keys[k];
    }
    assert_int_equal(cirrus_multi_get(db, NULL, KEYS, kp, kl, vals, vl, rcs), 0);
    for (int k = 0; k < KEYS; k++) {
        int n = rcs[k] == CIRRUS_ENOTFOUND ? 0 : atoi(vals[k]);
        if (first < 0)
            first = n;
        if (n != first)
            fail_msg("multi_get saw batch %d at k00 and batch %d at k%02d", first, n, k);
        cirrus_free(vals[k]);
    }
    return first;
}

static int read_by_iterator(cirrus_db *db)
{
    cirrus_iter *it;
    int first = -1, n = 0;
    char v[16];
    assert_int_equal(cirrus_iter_new(&it, db, NULL), 0);
    for (cirrus_iter_first(it); cirrus_iter_valid(it); cirrus_iter_next(it)) {
        size_t len;
        const void *p = cirrus_iter_value(it, &len);
        assert_true(len < sizeof(v));
        memcpy(v, p, len);
        v[len] = '\0';
        if (first < 0)
            first = atoi(v);
        if (atoi(v) != first)
            fail_msg("a scan saw batch %d and batch %s", first, v);
        n++;
    }
    assert_true(n == 0 || n == KEYS);
    cirrus_iter_close(it);
    return first < 0 ? 0 : first;
}

static void readers_never_see_part_of_a_batch(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    o.flush_interval_ms = 20; /* commits run beside the writer too */
    struct shared s = {fixture_open(f->dir, &o), 0};
    pthread_t t;
    int reads = 0, last = 0;
    assert_int_equal(pthread_create(&t, NULL, writer, &s), 0);
    while (!atomic_load(&s.done)) {
        int n = reads % 2 ? read_by_iterator(s.db) : read_by_multi_get(s.db);
        assert_true(n >= last); /* and never back in time */
        last = n;
        reads++;
    }
    pthread_join(t, NULL);
    assert_int_equal(read_by_multi_get(s.db), ROUNDS);
    assert_int_equal(read_by_iterator(s.db), ROUNDS);
    print_message("%d reads beside %d batches of %d keys\n", reads, ROUNDS, KEYS);
    assert_int_equal(cirrus_close(s.db), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(readers_never_see_part_of_a_batch, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
