/* cirrus-test-libs: metastore testsupport */
/*
 * test_metastore.c - the metadata store contract (metastore.h), item by
 * item, against any backend.
 *
 *   CIRRUS_TEST_METASTORE_URL  store under test (default: a fresh temp
 *                              sqlite file, removed after)
 *
 * Every test uses its own random partition and deletes its items at the
 * end, so the suite can run again and again against one shared server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <cmocka.h>

#include "conformance/conformance.h"
#include "metastore/metastore.h"
#include "util/coding.h"
#include "util/status.h"

static struct {
    char url[512];
    char tmpdir[256]; /* set when the suite made its own store */
    struct metastore *ms;
} S;

static int suite_setup(void **state)
{
    (void)state;
    const char *env = getenv("CIRRUS_TEST_METASTORE_URL");
    if (env && env[0]) {
        snprintf(S.url, sizeof(S.url), "%s", env);
    } else {
        if (conf_mkdtemp(S.tmpdir, sizeof(S.tmpdir), "metastore") < 0)
            return -1;
        snprintf(S.url, sizeof(S.url), "sqlite:%s/meta.sqlite3", S.tmpdir);
    }
    if (metastore_open(&S.ms, S.url, 1) < 0) {
        fprintf(stderr, "metastore_open %s: %s\n", S.url, cirrus_errmsg());
        return -1;
    }
    return 0;
}

static int suite_teardown(void **state)
{
    (void)state;
    metastore_close(S.ms);
    if (S.tmpdir[0])
        conf_rm_rf(S.tmpdir);
    return 0;
}

static void new_pk(char *out, size_t cap)
{
    conf_unique(out, cap, "conformance");
}

/* Deletes every item of partition pk (a test's own clean-up). */
static void remove_partition(const char *pk)
{
    struct meta_item *items = NULL;
    size_t n = 0;
    assert_int_equal(metastore_query(S.ms, pk, "", NULL, 0, 0, &items, &n), 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(metastore_delete_if_version(S.ms, pk, items[i].sk, items[i].version), 0);
    meta_items_free(items, n);
}

static void assert_item(struct metastore *ms, const char *pk, const char *sk, const void *want,
                        size_t want_len, uint64_t want_version)
{
    uint8_t *v = NULL;
    size_t len = 0;
    uint64_t ver = 0;
    assert_int_equal(metastore_get(ms, pk, sk, &v, &len, &ver), 0);
    assert_int_equal(len, want_len);
    if (want_len)
        assert_memory_equal(v, want, want_len);
    assert_int_equal(ver, want_version);
    free(v);
}

static void assert_absent(struct metastore *ms, const char *pk, const char *sk)
{
    uint8_t *v = NULL;
    size_t len = 0;
    uint64_t ver = 0;
    assert_int_equal(metastore_get(ms, pk, sk, &v, &len, &ver), CIRRUS_ENOTFOUND);
    assert_null(v);
}

static void get_of_a_missing_item_is_notfound(void **state)
{
    (void)state;
    char pk[64];
    new_pk(pk, sizeof(pk));
    assert_absent(S.ms, pk, "nothing");
}

/* Rule 2 */
static void put_if_absent_creates_at_version_1_once(void **state)
{
    (void)state;
    char pk[64];
    new_pk(pk, sizeof(pk));
    assert_int_equal(metastore_put_if_absent(S.ms, pk, "k", "one", 3), 0);
    assert_item(S.ms, pk, "k", "one", 3, 1);
    assert_int_equal(metastore_put_if_absent(S.ms, pk, "k", "two", 3), CIRRUS_ECONFLICT);
    assert_item(S.ms, pk, "k", "one", 3, 1); /* the loser changed nothing */
    /* same sort key, other partition: a different item */
    char pk2[80];
    snprintf(pk2, sizeof(pk2), "%s-2", pk);
    assert_int_equal(metastore_put_if_absent(S.ms, pk2, "k", "other", 5), 0);
    assert_item(S.ms, pk2, "k", "other", 5, 1);
    assert_item(S.ms, pk, "k", "one", 3, 1);
    remove_partition(pk);
    remove_partition(pk2);
}

/* Rule 3: compare-and-swap on the version, which counts 1, 2, 3, ... */
static void put_if_version_is_compare_and_swap(void **state)
{
    (void)state;
    char pk[64];
    new_pk(pk, sizeof(pk));
    assert_int_equal(metastore_put_if_version(S.ms, pk, "c", "x", 1, 1), CIRRUS_ECONFLICT);
    assert_absent(S.ms, pk, "c"); /* no upsert */
    assert_int_equal(metastore_put_if_absent(S.ms, pk, "c", "v1", 2), 0);
    assert_int_equal(metastore_put_if_version(S.ms, pk, "c", "x", 1, 2), CIRRUS_ECONFLICT);
    assert_int_equal(metastore_put_if_version(S.ms, pk, "c", "x", 1, 0), CIRRUS_ECONFLICT);
    assert_item(S.ms, pk, "c", "v1", 2, 1);
    char val[16];
    for (uint64_t v = 1; v < 10; v++) {
        snprintf(val, sizeof(val), "v%llu", (unsigned long long)(v + 1));
        assert_int_equal(metastore_put_if_version(S.ms, pk, "c", val, strlen(val), v), 0);
        assert_item(S.ms, pk, "c", val, strlen(val), v + 1);
        /* the old version is gone for good */
        assert_int_equal(metastore_put_if_version(S.ms, pk, "c", "stale", 5, v), CIRRUS_ECONFLICT);
    }
    assert_item(S.ms, pk, "c", "v10", 3, 10);
    remove_partition(pk);
}

/* Rule 4 */
static void delete_if_version_needs_the_version(void **state)
{
    (void)state;
    char pk[64];
    new_pk(pk, sizeof(pk));
    assert_int_equal(metastore_delete_if_version(S.ms, pk, "d", 1), CIRRUS_ECONFLICT);
    assert_int_equal(metastore_put_if_absent(S.ms, pk, "d", "a", 1), 0);
    assert_int_equal(metastore_put_if_version(S.ms, pk, "d", "b", 1, 1), 0);
    assert_int_equal(metastore_delete_if_version(S.ms, pk, "d", 1), CIRRUS_ECONFLICT);
    assert_int_equal(metastore_delete_if_version(S.ms, pk, "d", 3), CIRRUS_ECONFLICT);
    assert_item(S.ms, pk, "d", "b", 1, 2);
    assert_int_equal(metastore_delete_if_version(S.ms, pk, "d", 2), 0);
    assert_absent(S.ms, pk, "d");
    assert_int_equal(metastore_delete_if_version(S.ms, pk, "d", 2), CIRRUS_ECONFLICT);
    /* re-created, it starts over at version 1 */
    assert_int_equal(metastore_put_if_absent(S.ms, pk, "d", "c", 1), 0);
    assert_item(S.ms, pk, "d", "c", 1, 1);
    remove_partition(pk);
}

static void values_are_bytes_and_may_be_empty(void **state)
{
    (void)state;
    char pk[64];
    uint8_t bin[512];
    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (uint8_t)(i * 31); /* NULs, 0xff and all between */
    new_pk(pk, sizeof(pk));
    assert_int_equal(metastore_put_if_absent(S.ms, pk, "bin", bin, sizeof(bin)), 0);
    assert_item(S.ms, pk, "bin", bin, sizeof(bin), 1);
    assert_int_equal(metastore_put_if_absent(S.ms, pk, "empty", "", 0), 0);
    assert_item(S.ms, pk, "empty", NULL, 0, 1);
    assert_int_equal(metastore_put_if_version(S.ms, pk, "bin", "", 0, 1), 0);
    assert_item(S.ms, pk, "bin", NULL, 0, 2);
    assert_int_equal(metastore_put_if_version(S.ms, pk, "empty", bin, 3, 1), 0);
    assert_item(S.ms, pk, "empty", bin, 3, 2);
    struct meta_item *items = NULL;
    size_t n = 0;
    assert_int_equal(metastore_query(S.ms, pk, "", NULL, 0, 0, &items, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(items[0].sk, "bin");
    assert_int_equal(items[0].value_len, 0);
    assert_string_equal(items[1].sk, "empty");
    assert_int_equal(items[1].value_len, 3);
    assert_memory_equal(items[1].value, bin, 3);
    meta_items_free(items, n);
    remove_partition(pk);
}

/* Values up to max_value_len are stored whole; one byte more is refused
 * and changes nothing. */
static void values_are_limited_to_max_value_len(void **state)
{
    (void)state;
    char pk[64];
    size_t max = S.ms->max_value_len;
    assert_true(max >= 1024);
    uint8_t *big = malloc(max + 1);
    assert_non_null(big);
    rand_bytes(big, max + 1);
    new_pk(pk, sizeof(pk));
    assert_int_equal(metastore_put_if_absent(S.ms, pk, "over", big, max + 1), CIRRUS_EINVALID);
    assert_true(cirrus_errmsg()[0] != '\0');
    assert_absent(S.ms, pk, "over");
    assert_int_equal(metastore_put_if_absent(S.ms, pk, "max", big, max), 0);
    assert_item(S.ms, pk, "max", big, max, 1);
    assert_int_equal(metastore_put_if_version(S.ms, pk, "max", big + 1, max, 1), 0);
    assert_item(S.ms, pk, "max", big + 1, max, 2);
    assert_int_equal(metastore_put_if_version(S.ms, pk, "max", big, max + 1, 2), CIRRUS_EINVALID);
    assert_item(S.ms, pk, "max", big + 1, max, 2);
    free(big);
    remove_partition(pk);
}

/* ---- queries (rule 5) ---------------------------------------------------- */

/* Sort keys whose byte order differs from any locale's and from length
 * order. ASCII only: every backend stores them as text. */
static const char *const query_sks[] = {
    "a", "a\x01", "a\x7f", "a ", "a0", "aa", "ab", "a/b", "a~", "b", "B", "Z", "~", " ", "0", "_",
};
#define N_QUERY_SKS (sizeof(query_sks) / sizeof(query_sks[0]))

static int cmp_sk(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Fills pk with query_sks (value = the sort key, version 1 except "aa"
 * and "b" at 2) and returns them sorted in byte order. */
static void fill_query_partition(const char *pk, const char **sorted)
{
    for (size_t i = 0; i < N_QUERY_SKS; i++) {
        const char *sk = query_sks[i];
        assert_int_equal(metastore_put_if_absent(S.ms, pk, sk, sk, strlen(sk)), 0);
        sorted[i] = sk;
    }
    assert_int_equal(metastore_put_if_version(S.ms, pk, "aa", "aa", 2, 1), 0);
    assert_int_equal(metastore_put_if_version(S.ms, pk, "b", "b", 1, 1), 0);
    qsort(sorted, N_QUERY_SKS, sizeof(*sorted), cmp_sk);
}

/*
 * Queries and checks the result against the expected run of sorted keys:
 * those with from <= sk < to, ascending or descending, first `limit`.
 */
static void check_query(const char *pk, const char **sorted, const char *from, const char *to,
                        size_t limit, int reverse)
{
    const char *want[N_QUERY_SKS];
    size_t n_want = 0;
    for (size_t i = 0; i < N_QUERY_SKS; i++) {
        size_t j = reverse ? N_QUERY_SKS - 1 - i : i;
        if (strcmp(sorted[j], from) >= 0 && (!to || strcmp(sorted[j], to) < 0))
            want[n_want++] = sorted[j];
    }
    if (limit && n_want > limit)
        n_want = limit;
    struct meta_item *items = NULL;
    size_t n = 99;
    assert_int_equal(metastore_query(S.ms, pk, from, to, limit, reverse, &items, &n), 0);
    assert_int_equal(n, n_want);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(items[i].sk, want[i]);
        assert_int_equal(items[i].value_len, strlen(want[i]));
        assert_memory_equal(items[i].value, want[i], items[i].value_len);
        uint64_t v = strcmp(want[i], "aa") == 0 || strcmp(want[i], "b") == 0 ? 2 : 1;
        assert_int_equal(items[i].version, v);
    }
    meta_items_free(items, n);
}

static void query_returns_ranges_in_byte_order(void **state)
{
    (void)state;
    char pk[64], other[80];
    const char *sorted[N_QUERY_SKS];
    new_pk(pk, sizeof(pk));
    fill_query_partition(pk, sorted);
    /* neighbours that must never leak in: a partition whose name extends
     * ours, and one that sorts just before it */
    snprintf(other, sizeof(other), "%sa", pk);
    assert_int_equal(metastore_put_if_absent(S.ms, other, "a", "x", 1), 0);
    assert_int_equal(metastore_put_if_absent(S.ms, other, "aa", "x", 1), 0);

    for (int rev = 0; rev <= 1; rev++) {
        check_query(pk, sorted, "", NULL, 0, rev); /* everything */
        check_query(pk, sorted, "a", "b", 0, rev); /* from inclusive, to exclusive */
        check_query(pk, sorted, "a\x01", "aa", 0, rev);
        check_query(pk, sorted, "a", "a\x01", 0, rev); /* exactly one */
        check_query(pk, sorted, "a!", NULL, 0, rev);   /* from between keys */
        check_query(pk, sorted, "", "a", 0, rev);
        check_query(pk, sorted, "", NULL, 3, rev); /* limit from the right end */
        check_query(pk, sorted, "a", "b", 2, rev);
        check_query(pk, sorted, "a", "b", 100, rev);   /* limit above the count */
        check_query(pk, sorted, "b", "b", 0, rev);     /* empty: from == to */
        check_query(pk, sorted, "b", "a", 0, rev);     /* empty: from > to */
        check_query(pk, sorted, "\x7f", NULL, 0, rev); /* empty: past the last */
    }
    /* an empty partition */
    char empty[80];
    snprintf(empty, sizeof(empty), "%s-empty", pk);
    struct meta_item *items = NULL;
    size_t n = 99;
    assert_int_equal(metastore_query(S.ms, empty, "", NULL, 0, 0, &items, &n), 0);
    assert_int_equal(n, 0);
    meta_items_free(items, n);
    remove_partition(pk);
    remove_partition(other);
}

/* Enough bytes that a backend with paged queries (DynamoDB: 1 MB a page)
 * must follow its pages, with and without a limit, both directions. */
static void query_follows_pages(void **state)
{
    (void)state;
    enum { N = 12 };
    char pk[64], sk[32];
    size_t len = S.ms->max_value_len < 300000 ? S.ms->max_value_len : 300000;
    uint8_t *val = malloc(len);
    assert_non_null(val);
    new_pk(pk, sizeof(pk));
    for (int i = 0; i < N; i++) {
        snprintf(sk, sizeof(sk), "item-%02d", (i * 5) % N); /* written out of order */
        memset(val, 'a' + (i * 5) % N, len);
        assert_int_equal(metastore_put_if_absent(S.ms, pk, sk, val, len), 0);
    }
    for (int rev = 0; rev <= 1; rev++) {
        size_t limits[] = {0, 5, N, N + 1};
        for (size_t l = 0; l < 4; l++) {
            struct meta_item *items = NULL;
            size_t n = 0, want = limits[l] && limits[l] < N ? limits[l] : N;
            assert_int_equal(metastore_query(S.ms, pk, "", NULL, limits[l], rev, &items, &n), 0);
            assert_int_equal(n, want);
            for (size_t i = 0; i < n; i++) {
                int k = rev ? N - 1 - (int)i : (int)i;
                snprintf(sk, sizeof(sk), "item-%02d", k);
                assert_string_equal(items[i].sk, sk);
                assert_int_equal(items[i].value_len, len);
                assert_int_equal(items[i].value[0], 'a' + k);
                assert_int_equal(items[i].value[len - 1], 'a' + k);
            }
            meta_items_free(items, n);
        }
    }
    free(val);
    remove_partition(pk);
}

/* Rule 1 between two handles of one process: a returned write is seen by
 * the other handle's very next read. */
static void a_second_handle_sees_every_write(void **state)
{
    (void)state;
    char pk[64];
    struct metastore *b = NULL;
    assert_int_equal(metastore_open(&b, S.url, 0), 0);
    new_pk(pk, sizeof(pk));
    for (uint64_t v = 1; v <= 20; v++) {
        struct metastore *writer = v % 2 ? S.ms : b, *reader = v % 2 ? b : S.ms;
        char val[16];
        snprintf(val, sizeof(val), "%llu", (unsigned long long)v);
        if (v == 1)
            assert_int_equal(metastore_put_if_absent(writer, pk, "k", val, strlen(val)), 0);
        else
            assert_int_equal(metastore_put_if_version(writer, pk, "k", val, strlen(val), v - 1), 0);
        assert_item(reader, pk, "k", val, strlen(val), v);
        struct meta_item *items = NULL;
        size_t n = 0;
        assert_int_equal(metastore_query(reader, pk, "", NULL, 0, 0, &items, &n), 0);
        assert_int_equal(n, 1);
        assert_int_equal(items[0].version, v);
        meta_items_free(items, n);
    }
    assert_int_equal(metastore_delete_if_version(b, pk, "k", 20), 0);
    assert_absent(S.ms, pk, "k");
    metastore_close(b);
}

/* ---- races ------------------------------------------------------------- */

#define RACERS 8
#define INCREMENTS 25

struct race_arg {
    const char *pk;
    int pipe_w; /* children report the versions they wrote here */
};

/* Reads the counter item (8-byte little-endian value). */
static int read_counter(struct metastore *ms, const char *pk, uint64_t *value, uint64_t *version)
{
    uint8_t *v = NULL;
    size_t len = 0;
    int rc = metastore_get(ms, pk, "counter", &v, &len, version);
    if (rc == 0 && len != 8)
        rc = CIRRUS_ECORRUPT;
    if (rc == 0)
        *value = decode_fixed64(v);
    free(v);
    return rc;
}

/*
 * Adds one to the counter `n` times with get + put_if_version retries.
 * Returns 0, or the first error that is not a lost compare-and-swap.
 * Writes each version it created to pipe_w when that is not -1.
 */
static int increment(struct metastore *ms, const char *pk, int n, int pipe_w)
{
    int rc = 0;
    for (int done = 0; done < n && rc == 0;) {
        uint64_t value, version;
        uint8_t enc[8];
        if ((rc = read_counter(ms, pk, &value, &version)) < 0)
            break;
        encode_fixed64(enc, value + 1);
        rc = metastore_put_if_version(ms, pk, "counter", enc, 8, version);
        if (rc == CIRRUS_ECONFLICT) {
            rc = 0;
            continue;
        }
        if (rc == 0) {
            done++;
            uint64_t created = version + 1;
            if (pipe_w >= 0 && write(pipe_w, &created, sizeof(created)) != sizeof(created))
                rc = CIRRUS_EIO;
        }
    }
    return rc;
}

static int open_child_store(int i, struct metastore **ms)
{
    int rc = metastore_open(ms, S.url, 0);
    if (rc < 0)
        fprintf(stderr, "child %d: open: %s\n", i, cirrus_errmsg());
    return rc;
}

/* Exit codes: 0 won, 1 lost with ECONFLICT, 2 anything else. */
static int absent_child(int i, void *arg)
{
    struct race_arg *ra = arg;
    struct metastore *ms = NULL;
    int code = 2;
    if (open_child_store(i, &ms) == 0) {
        char val[8];
        snprintf(val, sizeof(val), "w%d", i);
        int rc = metastore_put_if_absent(ms, ra->pk, "race", val, strlen(val));
        code = rc == 0 ? 0 : rc == CIRRUS_ECONFLICT ? 1 : 2;
        if (code == 2)
            fprintf(stderr, "child %d: put_if_absent: %s\n", i, cirrus_errmsg());
    }
    metastore_close(ms);
    return code;
}

static int delete_child(int i, void *arg)
{
    struct race_arg *ra = arg;
    struct metastore *ms = NULL;
    int code = 2;
    if (open_child_store(i, &ms) == 0) {
        int rc = metastore_delete_if_version(ms, ra->pk, "race", 1);
        code = rc == 0 ? 0 : rc == CIRRUS_ECONFLICT ? 1 : 2;
    }
    metastore_close(ms);
    return code;
}

static int counter_child(int i, void *arg)
{
    struct race_arg *ra = arg;
    struct metastore *ms = NULL;
    int code = 2;
    if (open_child_store(i, &ms) == 0) {
        int rc = increment(ms, ra->pk, INCREMENTS, ra->pipe_w);
        code = rc == 0 ? 0 : 2;
        if (rc < 0)
            fprintf(stderr, "child %d: increment: %s\n", i, cirrus_errmsg());
    }
    metastore_close(ms);
    return code;
}

static int count_status(const int *status, int code)
{
    int n = 0;
    for (int i = 0; i < RACERS; i++)
        n += status[i] == code;
    return n;
}

/* Rules 2 and 4 across processes: of racing conditional creates (and
 * deletes) of one item exactly one wins. */
static void racing_processes_create_and_delete_once(void **state)
{
    (void)state;
    char pk[64];
    int status[RACERS];
    new_pk(pk, sizeof(pk));
    struct race_arg ra = {pk, -1};
    assert_int_equal(conf_race(RACERS, absent_child, &ra, status), 0);
    assert_int_equal(count_status(status, 0), 1);
    assert_int_equal(count_status(status, 1), RACERS - 1);
    int winner = 0;
    while (status[winner] != 0)
        winner++;
    char val[16];
    snprintf(val, sizeof(val), "w%d", winner);
    assert_item(S.ms, pk, "race", val, strlen(val), 1);

    assert_int_equal(conf_race(RACERS, delete_child, &ra, status), 0);
    assert_int_equal(count_status(status, 0), 1);
    assert_int_equal(count_status(status, 1), RACERS - 1);
    assert_absent(S.ms, pk, "race");
}

/* Rule 3 across processes: 8 processes x 25 compare-and-swap increments end
 * at exactly 200, and every version 2..201 was created exactly once. */
static void racing_processes_count_exactly(void **state)
{
    (void)state;
    char pk[64];
    int status[RACERS], fds[2];
    uint8_t zero[8] = {0};
    new_pk(pk, sizeof(pk));
    assert_int_equal(metastore_put_if_absent(S.ms, pk, "counter", zero, 8), 0);
    assert_int_equal(pipe(fds), 0);
    struct race_arg ra = {pk, fds[1]};
    assert_int_equal(conf_race(RACERS, counter_child, &ra, status), 0);
    close(fds[1]);
    assert_int_equal(count_status(status, 0), RACERS);

    enum { TOTAL = RACERS * INCREMENTS };
    int seen[TOTAL + 2] = {0};
    uint64_t created;
    size_t n_reports = 0;
    while (read(fds[0], &created, sizeof(created)) == sizeof(created)) {
        assert_true(created >= 2 && created <= TOTAL + 1);
        seen[created]++;
        n_reports++;
    }
    close(fds[0]);
    assert_int_equal(n_reports, TOTAL);
    for (int v = 2; v <= TOTAL + 1; v++)
        assert_int_equal(seen[v], 1);
    uint64_t value = 0, version = 0;
    assert_int_equal(read_counter(S.ms, pk, &value, &version), 0);
    assert_int_equal(value, TOTAL);
    assert_int_equal(version, TOTAL + 1);
    remove_partition(pk);
}

#define THREADS 4
#define THREAD_INCREMENTS 50

static void *counter_thread(void *arg)
{
    const char *pk = arg;
    return (void *)(intptr_t)increment(S.ms, pk, THREAD_INCREMENTS, -1);
}

/* One handle shared by several threads of a process. */
static void threads_share_one_handle(void **state)
{
    (void)state;
    char pk[64];
    pthread_t t[THREADS];
    uint8_t zero[8] = {0};
    new_pk(pk, sizeof(pk));
    assert_int_equal(metastore_put_if_absent(S.ms, pk, "counter", zero, 8), 0);
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, counter_thread, pk), 0);
    for (int i = 0; i < THREADS; i++) {
        void *ret = NULL;
        assert_int_equal(pthread_join(t[i], &ret), 0);
        assert_int_equal((intptr_t)ret, 0);
    }
    uint64_t value = 0, version = 0;
    assert_int_equal(read_counter(S.ms, pk, &value, &version), 0);
    assert_int_equal(value, THREADS * THREAD_INCREMENTS);
    assert_int_equal(version, THREADS * THREAD_INCREMENTS + 1);
    remove_partition(pk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(get_of_a_missing_item_is_notfound),
        cmocka_unit_test(put_if_absent_creates_at_version_1_once),
        cmocka_unit_test(put_if_version_is_compare_and_swap),
        cmocka_unit_test(delete_if_version_needs_the_version),
        cmocka_unit_test(values_are_bytes_and_may_be_empty),
        cmocka_unit_test(values_are_limited_to_max_value_len),
        cmocka_unit_test(query_returns_ranges_in_byte_order),
        cmocka_unit_test(query_follows_pages),
        cmocka_unit_test(a_second_handle_sees_every_write),
        cmocka_unit_test(racing_processes_create_and_delete_once),
        cmocka_unit_test(racing_processes_count_exactly),
        cmocka_unit_test(threads_share_one_handle),
    };
    return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
