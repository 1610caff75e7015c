/* cirrus-test-libs: objstore testsupport */
/*
 * test_objstore.c - the object store contract (objstore.h), item by item,
 * against any backend.
 *
 *   CIRRUS_TEST_OBJSTORE_URL               store under test (default: a fresh
 *                                          temp directory, removed after)
 *   CIRRUS_TEST_OBJSTORE_NO_IF_NONE_MATCH=1 the backend cannot refuse an
 *                                          overwrite: skip those assertions
 *   CIRRUS_TEST_OBJSTORE_NOT_ATOMIC=1      the server writes objects in place
 *                                          (s3rver): skip the two tests of
 *                                          atomic puts under concurrency
 *   CIRRUS_TEST_OBJSTORE_NO_PART_COPY=1    the server lacks UploadPartCopy
 *                                          (s3rver): a copy in parts is
 *                                          expected to read and put instead
 *
 * Every test works under its own random prefix and deletes what it wrote,
 * so the suite can run again and again against one shared server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "conformance/conformance.h"
#include "objstore/objstore.h"
#include "util/status.h"
#include "util/sys.h"

static struct {
    const char *url;
    char tmpdir[256]; /* set when the suite made its own store */
    struct objstore *os;
    int detects_overwrite;
    int atomic_puts;
    int part_copies; /* the server copies in parts (UploadPartCopy) */
} S;

static int suite_setup(void **state)
{
    (void)state;
    const char *env = getenv("CIRRUS_TEST_OBJSTORE_URL");
    const char *skip = getenv("CIRRUS_TEST_OBJSTORE_NO_IF_NONE_MATCH");
    S.detects_overwrite = !(skip && strcmp(skip, "1") == 0);
    const char *torn = getenv("CIRRUS_TEST_OBJSTORE_NOT_ATOMIC");
    S.atomic_puts = !(torn && strcmp(torn, "1") == 0);
    const char *no_part_copy = getenv("CIRRUS_TEST_OBJSTORE_NO_PART_COPY");
    S.part_copies = !(no_part_copy && strcmp(no_part_copy, "1") == 0);
    if (env && env[0]) {
        S.url = env;
    } else {
        if (conf_mkdtemp(S.tmpdir, sizeof(S.tmpdir), "objstore") < 0)
            return -1;
        S.url = S.tmpdir;
    }
    if (objstore_open(&S.os, S.url, 1) < 0) {
        fprintf(stderr, "objstore_open %s: %s\n", S.url, cirrus_errmsg());
        return -1;
    }
    return 0;
}

static int suite_teardown(void **state)
{
    (void)state;
    objstore_close(S.os);
    if (S.tmpdir[0])
        conf_rm_rf(S.tmpdir);
    return 0;
}

/* A fresh prefix "conformance/<random>/" for one test. */
static void new_prefix(char *out, size_t cap)
{
    char u[64];
    conf_unique(u, sizeof(u), "t");
    snprintf(out, cap, "conformance/%s/", u);
}

static char *name_of(char *out, size_t cap, const char *prefix, const char *suffix)
{
    snprintf(out, cap, "%s%s", prefix, suffix);
    return out;
}

struct collected {
    char **names;
    uint64_t *sizes;
    int64_t *mtimes;
    size_t n, cap;
    size_t stop_after; /* 0: never stop */
};

static int collect(const struct objstore_entry *e, void *arg)
{
    struct collected *c = arg;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 16;
        c->names = realloc(c->names, c->cap * sizeof(*c->names));
        c->sizes = realloc(c->sizes, c->cap * sizeof(*c->sizes));
        c->mtimes = realloc(c->mtimes, c->cap * sizeof(*c->mtimes));
        assert_non_null(c->names);
        assert_non_null(c->sizes);
        assert_non_null(c->mtimes);
    }
    c->names[c->n] = strdup(e->name);
    c->sizes[c->n] = e->size;
    c->mtimes[c->n] = e->mtime_ms;
    c->n++;
    return c->stop_after && c->n == c->stop_after ? 7 : 0;
}

static void collected_free(struct collected *c)
{
    for (size_t i = 0; i < c->n; i++)
        free(c->names[i]);
    free(c->names);
    free(c->sizes);
    free(c->mtimes);
    memset(c, 0, sizeof(*c));
}

/* Deletes everything under prefix (a test's own clean-up). */
static void remove_prefix(const char *prefix)
{
    struct collected c = {0};
    assert_int_equal(objstore_list(S.os, prefix, collect, &c), 0);
    for (size_t i = 0; i < c.n; i++)
        assert_int_equal(objstore_del(S.os, c.names[i]), 0);
    collected_free(&c);
}

static void fill_random(uint8_t *p, size_t n)
{
    rand_bytes(p, n);
}

static void assert_object_is(const char *name, const uint8_t *want, size_t want_len)
{
    uint8_t *got = NULL;
    size_t got_len = 0;
    uint64_t size = 0;
    assert_int_equal(objstore_get_all(S.os, name, &got, &got_len), 0);
    assert_int_equal(got_len, want_len);
    if (want_len)
        assert_memory_equal(got, want, want_len);
    free(got);
    assert_int_equal(objstore_head(S.os, name, &size), 0);
    assert_int_equal(size, want_len);
}

/* Rule 1: a put is read back whole, byte for byte, including every byte value. */
static void put_then_get_returns_the_same_bytes(void **state)
{
    (void)state;
    char prefix[128], name[256];
    uint8_t data[1024];
    new_prefix(prefix, sizeof(prefix));
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(255 - i % 256); /* NULs, 0xff, everything */
    name_of(name, sizeof(name), prefix, "binary.bin");
    assert_int_equal(objstore_put(S.os, name, data, sizeof(data)), 0);
    assert_object_is(name, data, sizeof(data));
    remove_prefix(prefix);
}

static void zero_byte_objects_exist(void **state)
{
    (void)state;
    char prefix[128], name[256];
    uint8_t dst[16];
    size_t got = 99;
    new_prefix(prefix, sizeof(prefix));
    name_of(name, sizeof(name), prefix, "empty");
    assert_int_equal(objstore_put(S.os, name, "", 0), 0);
    assert_object_is(name, NULL, 0);
    assert_int_equal(objstore_get(S.os, name, 0, sizeof(dst), dst, &got), 0);
    assert_int_equal(got, 0);
    struct collected c = {0};
    assert_int_equal(objstore_list(S.os, prefix, collect, &c), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.names[0], name);
    assert_int_equal(c.sizes[0], 0);
    collected_free(&c);
    remove_prefix(prefix);
}

/* Several MiB, so backends that upload in parts or read in chunks do. */
static void multi_mib_objects_round_trip(void **state)
{
    (void)state;
    char prefix[128], name[256];
    size_t len = (5u << 20) + 12345;
    uint8_t *data = malloc(len), *dst = malloc(1u << 20);
    size_t got = 0;
    assert_non_null(data);
    assert_non_null(dst);
    fill_random(data, len);
    new_prefix(prefix, sizeof(prefix));
    name_of(name, sizeof(name), prefix, "big");
    assert_int_equal(objstore_put(S.os, name, data, len), 0);
    assert_object_is(name, data, len);
    uint64_t offs[] = {0, (1u << 20) - 1, 3u << 20, len - 1000};
    for (size_t i = 0; i < sizeof(offs) / sizeof(offs[0]); i++) {
        size_t want = len - offs[i] < (1u << 20) ? len - offs[i] : (1u << 20);
        assert_int_equal(objstore_get(S.os, name, offs[i], 1u << 20, dst, &got), 0);
        assert_int_equal(got, want);
        assert_memory_equal(dst, data + offs[i], want);
    }
    free(dst);
    free(data);
    remove_prefix(prefix);
}

/* Rule 3: ranged reads, cut short past the end. */
static void ranged_get_is_cut_short_at_the_end(void **state)
{
    (void)state;
    char prefix[128], name[256];
    uint8_t data[100], dst[64];
    size_t got = 0;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (uint8_t)(i * 7 + 1);
    new_prefix(prefix, sizeof(prefix));
    name_of(name, sizeof(name), prefix, "r");
    assert_int_equal(objstore_put(S.os, name, data, sizeof(data)), 0);

    assert_int_equal(objstore_get(S.os, name, 10, 20, dst, &got), 0);
    assert_int_equal(got, 20);
    assert_memory_equal(dst, data + 10, 20);
    assert_int_equal(objstore_get(S.os, name, 0, 1, dst, &got), 0);
    assert_int_equal(got, 1);
    assert_int_equal(dst[0], data[0]);
    assert_int_equal(objstore_get(S.os, name, 90, 20, dst, &got), 0); /* runs past the end */
    assert_int_equal(got, 10);
    assert_memory_equal(dst, data + 90, 10);
    assert_int_equal(objstore_get(S.os, name, 99, 64, dst, &got), 0);
    assert_int_equal(got, 1);
    assert_int_equal(dst[0], data[99]);
    assert_int_equal(objstore_get(S.os, name, 100, 5, dst, &got), 0); /* starts at the end */
    assert_int_equal(got, 0);
    assert_int_equal(objstore_get(S.os, name, 5000, 5, dst, &got), 0); /* starts past it */
    assert_int_equal(got, 0);
    remove_prefix(prefix);
}

/* Rule 3 and the message rule: a missing object is ENOTFOUND, named. */
static void missing_objects_are_notfound_and_named(void **state)
{
    (void)state;
    char prefix[128], name[256];
    uint8_t dst[8], *all = NULL;
    size_t got = 0, len = 0;
    uint64_t size = 0;
    new_prefix(prefix, sizeof(prefix));
    name_of(name, sizeof(name), prefix, "nope/never-written");
    assert_int_equal(objstore_get(S.os, name, 0, sizeof(dst), dst, &got), CIRRUS_ENOTFOUND);
    assert_non_null(strstr(cirrus_errmsg(), name));
    assert_int_equal(objstore_get_all(S.os, name, &all, &len), CIRRUS_ENOTFOUND);
    assert_non_null(strstr(cirrus_errmsg(), name));
    assert_int_equal(objstore_head(S.os, name, &size), CIRRUS_ENOTFOUND);
    assert_non_null(strstr(cirrus_errmsg(), name));
}

/* Rule 4: deletes are idempotent, and a deleted object is gone everywhere. */
static void delete_is_idempotent(void **state)
{
    (void)state;
    char prefix[128], name[256];
    uint64_t size;
    uint8_t dst[4];
    size_t got;
    new_prefix(prefix, sizeof(prefix));
    name_of(name, sizeof(name), prefix, "d");
    assert_int_equal(objstore_del(S.os, name), 0); /* never existed */
    assert_int_equal(objstore_put(S.os, name, "abc", 3), 0);
    assert_int_equal(objstore_del(S.os, name), 0);
    assert_int_equal(objstore_head(S.os, name, &size), CIRRUS_ENOTFOUND);
    assert_int_equal(objstore_get(S.os, name, 0, 4, dst, &got), CIRRUS_ENOTFOUND);
    assert_int_equal(objstore_del(S.os, name), 0); /* again */
    struct collected c = {0};
    assert_int_equal(objstore_list(S.os, prefix, collect, &c), 0);
    assert_int_equal(c.n, 0);
    collected_free(&c);
    /* only an existing name is protected: after a delete the name is free */
    assert_int_equal(objstore_put(S.os, name, "xy", 2), 0);
    assert_object_is(name, (const uint8_t *)"xy", 2);
    remove_prefix(prefix);
}

/* Rule 1: an existing name is never overwritten. */
static void put_never_overwrites(void **state)
{
    (void)state;
    char prefix[128], name[256];
    new_prefix(prefix, sizeof(prefix));
    name_of(name, sizeof(name), prefix, "once");
    assert_int_equal(objstore_put(S.os, name, "first", 5), 0);
    int rc = objstore_put(S.os, name, "second!", 7);
    if (S.detects_overwrite) {
        assert_int_equal(rc, CIRRUS_EEXISTS);
        assert_non_null(strstr(cirrus_errmsg(), name));
        assert_object_is(name, (const uint8_t *)"first", 5);
        /* a zero-byte put must not slip through either */
        assert_int_equal(objstore_put(S.os, name, "", 0), CIRRUS_EEXISTS);
        assert_object_is(name, (const uint8_t *)"first", 5);
    } else {
        assert_true(rc == 0 || rc == CIRRUS_EEXISTS);
    }
    struct collected c = {0};
    assert_int_equal(objstore_list(S.os, prefix, collect, &c), 0);
    assert_int_equal(c.n, 1); /* listed once however many puts */
    collected_free(&c);
    remove_prefix(prefix);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Lists prefix and checks it returns exactly `want` (any order given), in
 * byte order, with sizes = strlen(suffix) + 1 as put_named() writes them. */
static void assert_list_is(const char *prefix, const char *base, const char **want, size_t n)
{
    char **sorted = calloc(n + 1, sizeof(*sorted));
    assert_non_null(sorted);
    for (size_t i = 0; i < n; i++) {
        sorted[i] = malloc(strlen(base) + strlen(want[i]) + 1);
        strcpy(sorted[i], base);
        strcat(sorted[i], want[i]);
    }
    qsort(sorted, n, sizeof(*sorted), cmp_str);
    struct collected c = {0};
    int64_t now = now_ms();
    assert_int_equal(objstore_list(S.os, prefix, collect, &c), 0);
    assert_int_equal(c.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_string_equal(c.names[i], sorted[i]);
        assert_int_equal(c.sizes[i], strlen(sorted[i]) - strlen(base) + 1);
        /* 0 means unknown; otherwise it is a plausible wall-clock time */
        assert_true(c.mtimes[i] == 0 ||
                    (c.mtimes[i] > now - 86400000LL && c.mtimes[i] < now + 86400000LL));
        free(sorted[i]);
    }
    free(sorted);
    collected_free(&c);
}

static void put_named(const char *base, const char *suffix)
{
    char name[600];
    snprintf(name, sizeof(name), "%s%s", base, suffix);
    /* the size tells objects apart in listings */
    assert_int_equal(objstore_put(S.os, name, suffix, strlen(suffix) + 1), 0);
}

/* Rule 5: prefix filtering, byte order (not directory order: "x-b" < "x.b"
 * < "x/b-" < "x0/b" < "xB" < "xb"), each object once, sizes and times.
 * No name here is also a "directory" of others ("x" beside "x/b"): a
 * filesystem cannot hold both, and the engine never makes such pairs. */
static void list_filters_by_prefix_in_byte_order(void **state)
{
    (void)state;
    char prefix[128], sibling[160], p2[300];
    static const char *all[] = {"x-b", "x.b", "x/b/c", "x/b-",  "x/bb", "x/c/d/e",
                                "xB",  "xb",  "xbc",   "x_",    "x0/b", "b",
                                "B",   "_",   "0",     "z/y/x", "Z",    "-"};
    size_t n_all = sizeof(all) / sizeof(all[0]);
    new_prefix(prefix, sizeof(prefix));
    for (size_t i = 0; i < n_all; i++)
        put_named(prefix, all[i]);
    /* a sibling that shares the prefix minus its '/': must not show up */
    snprintf(sibling, sizeof(sibling), "%.*sx/", (int)strlen(prefix) - 1, prefix);
    put_named(sibling, "a");

    assert_list_is(prefix, prefix, all, n_all);

    static const char *under_x[] = {"x-b", "x.b", "x/b/c", "x/b-", "x/bb", "x/c/d/e",
                                    "xB",  "xb",  "xbc",   "x_",   "x0/b"};
    snprintf(p2, sizeof(p2), "%sx", prefix);
    assert_list_is(p2, prefix, under_x, sizeof(under_x) / sizeof(under_x[0]));

    static const char *under_x_dir[] = {"x/b/c", "x/b-", "x/bb", "x/c/d/e"};
    snprintf(p2, sizeof(p2), "%sx/", prefix);
    assert_list_is(p2, prefix, under_x_dir, sizeof(under_x_dir) / sizeof(under_x_dir[0]));

    static const char *under_x_b[] = {"x/b/c", "x/b-", "x/bb"};
    snprintf(p2, sizeof(p2), "%sx/b", prefix);
    assert_list_is(p2, prefix, under_x_b, sizeof(under_x_b) / sizeof(under_x_b[0]));

    /* a whole name is a prefix of itself (and here of another name) */
    static const char *xb[] = {"xb", "xbc"};
    snprintf(p2, sizeof(p2), "%sxb", prefix);
    assert_list_is(p2, prefix, xb, 2);
    static const char *exact[] = {"x/b/c"};
    snprintf(p2, sizeof(p2), "%sx/b/c", prefix);
    assert_list_is(p2, prefix, exact, 1);

    snprintf(p2, sizeof(p2), "%snothing-here", prefix);
    assert_list_is(p2, prefix, NULL, 0);
    snprintf(p2, sizeof(p2), "%snothing/here/", prefix);
    assert_list_is(p2, prefix, NULL, 0);

    remove_prefix(prefix);
    remove_prefix(sibling);
    assert_list_is(prefix, prefix, NULL, 0);
}

/* The callback's nonzero return stops the listing and is returned. */
static void list_stops_when_the_callback_says_so(void **state)
{
    (void)state;
    char prefix[128];
    static const char *names[] = {"1", "2", "3", "4", "5"};
    new_prefix(prefix, sizeof(prefix));
    for (size_t i = 0; i < 5; i++)
        put_named(prefix, names[i]);
    struct collected c = {.stop_after = 3};
    assert_int_equal(objstore_list(S.os, prefix, collect, &c), 7);
    assert_int_equal(c.n, 3);
    assert_true(strcmp(c.names[2], c.names[1]) > 0);
    collected_free(&c);
    remove_prefix(prefix);
}

/* More objects than one page of S3's ListObjectsV2 (1000), written out of
 * order, so paged backends must follow continuation tokens. */
static void list_returns_many_objects_each_once(void **state)
{
    (void)state;
    enum { N = 1200 };
    char prefix[128], name[256];
    new_prefix(prefix, sizeof(prefix));
    for (unsigned i = 0; i < N; i++) {
        /* 7919 is prime and coprime with N: a permutation of 0..N-1 */
        unsigned k = (i * 7919u) % N;
        snprintf(name, sizeof(name), "%sobj/%05u", prefix, k);
        assert_int_equal(objstore_put(S.os, name, &k, sizeof(k)), 0);
    }
    struct collected c = {0};
    assert_int_equal(objstore_list(S.os, prefix, collect, &c), 0);
    assert_int_equal(c.n, N);
    for (unsigned i = 0; i < N; i++) {
        snprintf(name, sizeof(name), "%sobj/%05u", prefix, i);
        assert_string_equal(c.names[i], name);
        assert_int_equal(c.sizes[i], sizeof(unsigned));
    }
    collected_free(&c);
    remove_prefix(prefix);
}

/* Rule 6 through the shared checker. */
static void object_names_follow_the_rule(void **state)
{
    (void)state;
    char longest[513], too_long[514];
    /* 512 bytes in components short enough for any filesystem */
    for (int i = 0; i < 512; i++)
        longest[i] = (i % 100 == 99) ? '/' : (char)('a' + i % 26);
    longest[511] = 'z';
    longest[512] = '\0';
    memcpy(too_long, longest, 512);
    too_long[512] = 'z';
    too_long[513] = '\0';
    static const char *good[] = {"a", "a/b", "A-Z_0.9", "db/sst/0123abcd.sst", ".hidden", "a.b"};
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
        assert_int_equal(objstore_check_name(good[i]), 0);
    assert_int_equal(objstore_check_name(longest), 0);
    static const char *bad[] = {"",    "/abs", "..",  "a/../b", "a/..",  "../a",
                                "a b", "a\\b", "a\n", "a:b",    "a*",    "\xc3\xa9",
                                "a?b", "a//b", "a/",  "./a",    "a/./b", "."};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(objstore_check_name(bad[i]), CIRRUS_EINVALID);
        assert_true(cirrus_errmsg()[0] != '\0');
    }
    assert_int_equal(objstore_check_name(too_long), CIRRUS_EINVALID);
}

/* Rule 6 through the backend: bad names are refused, the longest good one
 * works. */
static void backends_refuse_bad_names(void **state)
{
    (void)state;
    char prefix[128], name[600];
    uint8_t dst[4], *all = NULL;
    size_t got, len;
    uint64_t size;
    static const char *bad[] = {"", "/abs", "a/../b", "..", "a b", "a\\b", "\xc3\xa9"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_int_equal(objstore_put(S.os, bad[i], "x", 1), CIRRUS_EINVALID);
        assert_int_equal(objstore_get(S.os, bad[i], 0, 4, dst, &got), CIRRUS_EINVALID);
        assert_int_equal(objstore_get_all(S.os, bad[i], &all, &len), CIRRUS_EINVALID);
        assert_int_equal(objstore_head(S.os, bad[i], &size), CIRRUS_EINVALID);
        assert_int_equal(objstore_del(S.os, bad[i]), CIRRUS_EINVALID);
    }
    new_prefix(prefix, sizeof(prefix));
    size_t plen = strlen(prefix);
    memcpy(name, prefix, plen);
    for (size_t i = plen; i < 512; i++)
        name[i] = (i % 100 == 99 && i != 511) ? '/' : 'n';
    name[512] = '\0';
    assert_int_equal(objstore_put(S.os, name, "long", 4), 0);
    assert_object_is(name, (const uint8_t *)"long", 4);
    name[512] = 'n';
    name[513] = '\0';
    assert_int_equal(objstore_put(S.os, name, "long", 4), CIRRUS_EINVALID);
    remove_prefix(prefix);
}

/* ---- copies (rule 7) ---------------------------------------------------- */

#define COPY_BIG_LEN ((11u << 20) + 777) /* three parts of 5 MiB */

static int is_kind(struct objstore *os, const char *kind)
{
    return strcmp(os->ops->kind, kind) == 0;
}

/* The requests a copy made: dst's and src's counters against a snapshot. */
struct copy_counts {
    struct objstore *dst, *src;
    struct objstore_stats dst0, src0;
};

static void counts_start(struct copy_counts *c, struct objstore *dst, struct objstore *src)
{
    c->dst = dst;
    c->src = src;
    objstore_stats(dst, &c->dst0);
    objstore_stats(src, &c->src0);
}

/* server_side: the copy was one the destination's backend made (a copy
 * counted, no get of the source); else the source was read once and put
 * (by objstore_copy: a put on dst; or under a backend that took the copy
 * on and then had to read: a fault store, a server without UploadPartCopy;
 * then the put is counted by the store under it, or by dst too). */
static void counts_assert(const struct copy_counts *c, int server_side)
{
    struct objstore_stats d, s;
    objstore_stats(c->dst, &d);
    objstore_stats(c->src, &s);
    if (server_side) {
        assert_int_equal(d.copies - c->dst0.copies, 1);
        assert_int_equal(s.gets - c->src0.gets, 0);
        assert_int_equal(s.bytes_read - c->src0.bytes_read, 0);
    } else {
        assert_int_equal(s.gets - c->src0.gets, 1);
        assert_true(d.puts - c->dst0.puts + d.copies - c->dst0.copies >= 1);
    }
}

/* Server-side within one store: fs and s3 are; a fault store copies into
 * its inner store from itself, which the inner store cannot copy from. */
static int copies_itself(struct objstore *os)
{
    return is_kind(os, "fs") || is_kind(os, "s3");
}

/* Opens the store at S.url with the multipart threshold low enough that an
 * object of COPY_BIG_LEN is copied in parts (s3 only reads these at open). */
static struct objstore *open_small_threshold(void)
{
    struct objstore *os = NULL;
    setenv("CIRRUS_S3_MULTIPART_THRESHOLD", "6291456", 1);
    setenv("CIRRUS_S3_PART_SIZE", "5242880", 1);
    int rc = objstore_open(&os, S.url, 0);
    unsetenv("CIRRUS_S3_MULTIPART_THRESHOLD");
    unsetenv("CIRRUS_S3_PART_SIZE");
    if (rc < 0)
        fail_msg("objstore_open %s: %s", S.url, cirrus_errmsg());
    return os;
}

/* Another store beside S.os: on s3 another prefix of the same bucket (so
 * copies between the two are server-side), else a fresh directory (*dir
 * set, for removal). */
static struct objstore *open_sibling(char *dir, size_t cap)
{
    struct objstore *os = NULL;
    char url[600], u[64];
    dir[0] = '\0';
    if (strncmp(S.url, "s3://", 5) == 0) {
        conf_unique(u, sizeof(u), "copy");
        snprintf(url, sizeof(url), "%s/%s", S.url, u);
    } else {
        assert_int_equal(conf_mkdtemp(dir, cap, "copy"), 0);
        snprintf(url, sizeof(url), "%s", dir);
    }
    if (objstore_open(&os, url, 1) < 0)
        fail_msg("objstore_open %s: %s", url, cirrus_errmsg());
    return os;
}

static void put_random(struct objstore *os, const char *name, uint8_t *data, size_t len)
{
    fill_random(data, len);
    assert_int_equal(objstore_put(os, name, data, len), 0);
}

static void assert_in_store(struct objstore *os, const char *name, const uint8_t *want, size_t len)
{
    struct objstore *saved = S.os;
    S.os = os;
    assert_object_is(name, want, len);
    S.os = saved;
}

/* Rule 7: a copy is an equal object, made without reading the source
 * where the backend can (whatever the caller knows of the size). */
static void copy_makes_an_equal_object(void **state)
{
    (void)state;
    char prefix[128], src[256], dst[256], dst2[256], empty[256], empty_copy[256];
    uint8_t data[3000];
    struct copy_counts c;
    new_prefix(prefix, sizeof(prefix));
    name_of(src, sizeof(src), prefix, "src");
    name_of(dst, sizeof(dst), prefix, "sub/dir/dst");
    name_of(dst2, sizeof(dst2), prefix, "dst2");
    put_random(S.os, src, data, sizeof(data));

    counts_start(&c, S.os, S.os);
    assert_int_equal(objstore_copy(S.os, dst, S.os, src, sizeof(data)), 0);
    counts_assert(&c, copies_itself(S.os));
    assert_object_is(dst, data, sizeof(data));
    assert_object_is(src, data, sizeof(data)); /* the source is unchanged */

    counts_start(&c, S.os, S.os);
    assert_int_equal(objstore_copy(S.os, dst2, S.os, src, OBJSTORE_SIZE_UNKNOWN), 0);
    counts_assert(&c, copies_itself(S.os));
    assert_object_is(dst2, data, sizeof(data));

    /* deleting the source leaves the copy */
    assert_int_equal(objstore_del(S.os, src), 0);
    assert_object_is(dst, data, sizeof(data));

    name_of(empty, sizeof(empty), prefix, "empty");
    name_of(empty_copy, sizeof(empty_copy), prefix, "empty-copy");
    assert_int_equal(objstore_put(S.os, empty, "", 0), 0);
    assert_int_equal(objstore_copy(S.os, empty_copy, S.os, empty, 0), 0);
    assert_object_is(empty_copy, NULL, 0);
    remove_prefix(prefix);
}

/* Rule 7 above the multipart threshold: a copy in parts (UploadPartCopy on
 * s3), still without reading the source where the server can. */
static void copy_in_parts_makes_an_equal_object(void **state)
{
    (void)state;
    char prefix[128], src[256], dst[256], dst2[256];
    uint8_t *data = malloc(COPY_BIG_LEN);
    struct objstore *os = open_small_threshold();
    struct copy_counts c;
    assert_non_null(data);
    new_prefix(prefix, sizeof(prefix));
    name_of(src, sizeof(src), prefix, "big");
    name_of(dst, sizeof(dst), prefix, "big-copy");
    name_of(dst2, sizeof(dst2), prefix, "big-copy2");
    put_random(S.os, src, data, COPY_BIG_LEN);

    int server_side = copies_itself(os) && (S.part_copies || !is_kind(os, "s3"));
    counts_start(&c, os, os);
    assert_int_equal(objstore_copy(os, dst, os, src, COPY_BIG_LEN), 0);
    counts_assert(&c, server_side);
    assert_object_is(dst, data, COPY_BIG_LEN);
    /* a second one, size unknown: found out first (a HEAD, not a GET) */
    counts_start(&c, os, os);
    assert_int_equal(objstore_copy(os, dst2, os, src, OBJSTORE_SIZE_UNKNOWN), 0);
    if (server_side)
        counts_assert(&c, 1);
    assert_object_is(dst2, data, COPY_BIG_LEN);
    /* a size that is not the object's is refused, and nothing is made */
    if (copies_itself(os)) {
        char wrong[256];
        uint64_t size;
        name_of(wrong, sizeof(wrong), prefix, "wrong-size");
        assert_int_equal(objstore_copy(os, wrong, os, src, COPY_BIG_LEN - 1), CIRRUS_ECORRUPT);
        assert_int_equal(objstore_head(S.os, wrong, &size), CIRRUS_ENOTFOUND);
    }
    objstore_close(os);
    free(data);
    remove_prefix(prefix);
}

/* Rules 1 and 7: a copy onto an existing name is refused, small or in
 * parts, and the old object stays. */
static void copy_never_overwrites(void **state)
{
    (void)state;
    char prefix[128], src[256], big[256], dst[256];
    uint8_t *data = malloc(COPY_BIG_LEN);
    struct objstore *os = open_small_threshold();
    assert_non_null(data);
    new_prefix(prefix, sizeof(prefix));
    name_of(src, sizeof(src), prefix, "src");
    name_of(big, sizeof(big), prefix, "big");
    name_of(dst, sizeof(dst), prefix, "taken");
    assert_int_equal(objstore_put(S.os, src, "new bytes", 9), 0);
    put_random(S.os, big, data, COPY_BIG_LEN);
    assert_int_equal(objstore_put(S.os, dst, "old", 3), 0);
    int rc = objstore_copy(S.os, dst, S.os, src, 9);
    if (S.detects_overwrite) {
        assert_int_equal(rc, CIRRUS_EEXISTS);
        assert_non_null(strstr(cirrus_errmsg(), dst));
        assert_object_is(dst, (const uint8_t *)"old", 3);
        assert_int_equal(objstore_copy(os, dst, os, big, COPY_BIG_LEN), CIRRUS_EEXISTS);
        assert_object_is(dst, (const uint8_t *)"old", 3);
        /* onto itself: the name exists */
        assert_int_equal(objstore_copy(S.os, src, S.os, src, 9), CIRRUS_EEXISTS);
        assert_object_is(src, (const uint8_t *)"new bytes", 9);
    } else {
        assert_true(rc == 0 || rc == CIRRUS_EEXISTS);
    }
    objstore_close(os);
    free(data);
    remove_prefix(prefix);
}

/* A missing source is CIRRUS_ENOTFOUND naming it, and makes nothing. */
static void copy_of_a_missing_object_is_notfound(void **state)
{
    (void)state;
    char prefix[128], src[256], dst[256];
    uint64_t sizes[] = {OBJSTORE_SIZE_UNKNOWN, 10, COPY_BIG_LEN}, size;
    struct objstore *os = open_small_threshold();
    new_prefix(prefix, sizeof(prefix));
    name_of(src, sizeof(src), prefix, "never-written");
    name_of(dst, sizeof(dst), prefix, "copy");
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        assert_int_equal(objstore_copy(os, dst, os, src, sizes[i]), CIRRUS_ENOTFOUND);
        assert_non_null(strstr(cirrus_errmsg(), src));
        assert_int_equal(objstore_head(S.os, dst, &size), CIRRUS_ENOTFOUND);
    }
    /* bad names are refused before anything is read */
    assert_int_equal(objstore_copy(os, "../x", os, src, 10), CIRRUS_EINVALID);
    assert_int_equal(objstore_copy(os, dst, os, "/abs", 10), CIRRUS_EINVALID);
    objstore_close(os);
}

/* Rule 7 between stores: server-side to another prefix (s3) or directory
 * (fs); by reading between fs and s3. */
static void copy_between_stores(void **state)
{
    (void)state;
    char prefix[128], a[256], b[256], c_name[256], dir[256], fsdir[256] = "";
    uint8_t data[5000];
    struct copy_counts c;
    struct objstore *sib = open_sibling(dir, sizeof(dir)), *fs = NULL;
    new_prefix(prefix, sizeof(prefix));
    name_of(a, sizeof(a), prefix, "a");
    name_of(b, sizeof(b), prefix, "b");
    name_of(c_name, sizeof(c_name), prefix, "c");
    put_random(S.os, a, data, sizeof(data));

    /* S.os -> the sibling, and back under another name */
    int server_side = copies_itself(S.os) && is_kind(sib, S.os->ops->kind);
    counts_start(&c, sib, S.os);
    assert_int_equal(objstore_copy(sib, a, S.os, a, sizeof(data)), 0);
    counts_assert(&c, server_side);
    assert_in_store(sib, a, data, sizeof(data));
    counts_start(&c, S.os, sib);
    assert_int_equal(objstore_copy(S.os, b, sib, a, OBJSTORE_SIZE_UNKNOWN), 0);
    counts_assert(&c, server_side || is_kind(S.os, "fault"));
    assert_object_is(b, data, sizeof(data));

    if (is_kind(S.os, "s3")) {
        /* s3 -> fs -> s3: by reading, and equal */
        assert_int_equal(conf_mkdtemp(fsdir, sizeof(fsdir), "copyfs"), 0);
        assert_int_equal(objstore_open(&fs, fsdir, 0), 0);
        counts_start(&c, fs, S.os);
        assert_int_equal(objstore_copy(fs, a, S.os, a, sizeof(data)), 0);
        counts_assert(&c, 0);
        assert_in_store(fs, a, data, sizeof(data));
        counts_start(&c, S.os, fs);
        assert_int_equal(objstore_copy(S.os, c_name, fs, a, sizeof(data)), 0);
        counts_assert(&c, 0);
        assert_object_is(c_name, data, sizeof(data));
        objstore_close(fs);
        conf_rm_rf(fsdir);
    }
    struct collected all = {0};
    assert_int_equal(objstore_list(sib, "", collect, &all), 0);
    for (size_t i = 0; i < all.n; i++)
        assert_int_equal(objstore_del(sib, all.names[i]), 0);
    collected_free(&all);
    objstore_close(sib);
    if (dir[0])
        conf_rm_rf(dir);
    remove_prefix(prefix);
}

/* ---- several processes --------------------------------------------------- */

#define RACERS 8
#define RACE_ROUNDS 40
#define RACE_LEN (64u << 10)

struct race_arg {
    const char *prefix;
    int pipe_w;                 /* winners report (round, child) here */
    pthread_barrier_t *barrier; /* process-shared: starts each round together */
};

/*
 * Every child puts the same RACE_ROUNDS names in the same order, each round
 * started together at a barrier, so that they race on every name. A child
 * reports each round it won. Exit codes: 0 done, 2 an error other than
 * EEXISTS. A failed child still meets every barrier, or the others would
 * wait for it forever.
 */
static int race_child(int i, void *arg)
{
    struct race_arg *ra = arg;
    struct objstore *os = NULL;
    uint8_t *data = malloc(RACE_LEN);
    char name[256];
    int code = 0;
    if (!data || objstore_open(&os, S.url, 0) < 0) {
        fprintf(stderr, "child %d: %s\n", i, cirrus_errmsg());
        code = 2;
    } else {
        memset(data, 'A' + i, RACE_LEN);
    }
    for (int r = 0; r < RACE_ROUNDS; r++) {
        snprintf(name, sizeof(name), "%sround-%02d", ra->prefix, r);
        pthread_barrier_wait(ra->barrier);
        if (code != 0)
            continue;
        int rc = objstore_put(os, name, data, RACE_LEN);
        if (rc == 0) {
            uint8_t report[2] = {(uint8_t)r, (uint8_t)i};
            if (write(ra->pipe_w, report, 2) != 2)
                code = 2;
        } else if (rc != CIRRUS_EEXISTS) {
            fprintf(stderr, "child %d: put: %s\n", i, cirrus_errmsg());
            code = 2;
        }
    }
    objstore_close(os);
    free(data);
    return code;
}

/* Rule 1 across processes: of racing puts of one name exactly one wins, and
 * the object is wholly one writer's. */
static void racing_puts_from_processes_have_one_winner(void **state)
{
    (void)state;
    if (!S.atomic_puts)
        skip();
    char prefix[128], name[256];
    int status[RACERS], fds[2], wins[RACE_ROUNDS] = {0}, winner[RACE_ROUNDS];
    new_prefix(prefix, sizeof(prefix));
    assert_int_equal(pipe(fds), 0);
    pthread_barrier_t *barrier =
        mmap(NULL, sizeof(*barrier), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    assert_true(barrier != MAP_FAILED);
    pthread_barrierattr_t battr;
    pthread_barrierattr_init(&battr);
    pthread_barrierattr_setpshared(&battr, PTHREAD_PROCESS_SHARED);
    assert_int_equal(pthread_barrier_init(barrier, &battr, RACERS), 0);
    struct race_arg ra = {prefix, fds[1], barrier};
    assert_int_equal(conf_race(RACERS, race_child, &ra, status), 0);
    close(fds[1]);
    pthread_barrier_destroy(barrier);
    munmap(barrier, sizeof(*barrier));
    for (int i = 0; i < RACERS; i++)
        assert_int_equal(status[i], 0);
    uint8_t report[2];
    while (read(fds[0], report, 2) == 2) {
        assert_true(report[0] < RACE_ROUNDS);
        wins[report[0]]++;
        winner[report[0]] = report[1];
    }
    close(fds[0]);
    for (int r = 0; r < RACE_ROUNDS; r++) {
        if (S.detects_overwrite)
            assert_int_equal(wins[r], 1);
        else
            assert_true(wins[r] >= 1);
        uint8_t *got = NULL;
        size_t len = 0;
        snprintf(name, sizeof(name), "%sround-%02d", prefix, r);
        assert_int_equal(objstore_get_all(S.os, name, &got, &len), 0);
        assert_int_equal(len, RACE_LEN);
        if (S.detects_overwrite)
            assert_int_equal(got[0], 'A' + winner[r]);
        for (size_t i = 1; i < len; i++) /* all one writer's bytes, never a mix */
            assert_int_equal(got[i], got[0]);
        free(got);
    }
    remove_prefix(prefix);
}

#define VIS_OBJECTS 6
#define VIS_LEN (1u << 20)

static int writer_child(int i, void *arg)
{
    const char *prefix = arg;
    struct objstore *os = NULL;
    uint8_t *data = malloc(VIS_LEN);
    char name[256];
    int code = 0;
    (void)i;
    if (!data || objstore_open(&os, S.url, 0) < 0) {
        code = 2;
        goto done;
    }
    for (int k = 0; k < VIS_OBJECTS && code == 0; k++) {
        memset(data, 'a' + k, VIS_LEN);
        snprintf(name, sizeof(name), "%sv%d", prefix, k);
        if (objstore_put(os, name, data, VIS_LEN) < 0) {
            fprintf(stderr, "writer: %s\n", cirrus_errmsg());
            code = 2;
        }
    }
done:
    objstore_close(os);
    free(data);
    return code;
}

/* Rule 1 for readers: while another process writes, a reader sees an object
 * whole or not at all. The parent reads while one child writes. */
static void readers_never_see_partial_objects(void **state)
{
    (void)state;
    if (!S.atomic_puts)
        skip();
    char prefix[128], name[256];
    new_prefix(prefix, sizeof(prefix));
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(writer_child(0, prefix));
    int ws = 0, seen = 0;
    for (;;) {
        int exited = waitpid(pid, &ws, WNOHANG) == pid;
        for (int k = 0; k < VIS_OBJECTS; k++) {
            uint8_t *got = NULL;
            size_t len = 0;
            uint64_t size = 0;
            snprintf(name, sizeof(name), "%sv%d", prefix, k);
            int rc = objstore_head(S.os, name, &size);
            assert_true(rc == 0 || rc == CIRRUS_ENOTFOUND);
            if (rc == 0)
                assert_int_equal(size, VIS_LEN);
            rc = objstore_get_all(S.os, name, &got, &len);
            assert_true(rc == 0 || rc == CIRRUS_ENOTFOUND);
            if (rc == 0) {
                seen++;
                assert_int_equal(len, VIS_LEN);
                assert_int_equal(got[0], 'a' + k);
                assert_int_equal(got[VIS_LEN - 1], 'a' + k);
            }
            free(got);
        }
        if (exited)
            break;
    }
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    assert_true(seen >= VIS_OBJECTS); /* the last pass saw them all */
    remove_prefix(prefix);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(put_then_get_returns_the_same_bytes),
        cmocka_unit_test(zero_byte_objects_exist),
        cmocka_unit_test(multi_mib_objects_round_trip),
        cmocka_unit_test(ranged_get_is_cut_short_at_the_end),
        cmocka_unit_test(missing_objects_are_notfound_and_named),
        cmocka_unit_test(delete_is_idempotent),
        cmocka_unit_test(put_never_overwrites),
        cmocka_unit_test(list_filters_by_prefix_in_byte_order),
        cmocka_unit_test(list_stops_when_the_callback_says_so),
        cmocka_unit_test(list_returns_many_objects_each_once),
        cmocka_unit_test(object_names_follow_the_rule),
        cmocka_unit_test(backends_refuse_bad_names),
        cmocka_unit_test(copy_makes_an_equal_object),
        cmocka_unit_test(copy_in_parts_makes_an_equal_object),
        cmocka_unit_test(copy_never_overwrites),
        cmocka_unit_test(copy_of_a_missing_object_is_notfound),
        cmocka_unit_test(copy_between_stores),
        cmocka_unit_test(racing_puts_from_processes_have_one_winner),
        cmocka_unit_test(readers_never_see_partial_objects),
    };
    return cmocka_run_group_tests(tests, suite_setup, suite_teardown);
}
