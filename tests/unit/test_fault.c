/* cirrus-test-libs: objstore metastore util */
/*
 * test_fault.c - the fault wrappers (objstore/fault.h, metastore/fault.h,
 * util/fault.h): spec parsing, the latency distribution, injected errors
 * that apply nothing, timeouts that did or did not apply a write, fail-next
 * for rejected credentials, counters (the wrapper's and every store's own),
 * the fault: URL as the one way in (the environment wraps nothing), and
 * the sweep items: the Nth call of a group failed in each mode, and crash
 * points before and after a call.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sys/wait.h>
#include <unistd.h>

#include "conformance/conformance.h"
#include "metastore/fault.h"
#include "metastore/metastore.h"
#include "objstore/fault.h"
#include "objstore/objstore.h"
#include "util/fault.h"
#include "util/status.h"

static char tmp[256];

static int setup(void **state)
{
    (void)state;
    return conf_mkdtemp(tmp, sizeof(tmp), "fault");
}

static int teardown(void **state)
{
    (void)state;
    conf_rm_rf(tmp);
    return 0;
}

/* A fresh fs store under tmp wrapped with spec. */
static struct objstore *open_os(const char *spec)
{
    char url[512], sub[64];
    struct objstore *os = NULL;
    conf_unique(sub, sizeof(sub), "os");
    snprintf(url, sizeof(url), "fault:%s/%s?%s", tmp, sub, spec);
    assert_int_equal(objstore_open(&os, url, 1), 0);
    assert_string_equal(os->ops->kind, "fault");
    return os;
}

static struct metastore *open_ms(const char *spec)
{
    char url[512], sub[64];
    struct metastore *ms = NULL;
    conf_unique(sub, sizeof(sub), "ms");
    snprintf(url, sizeof(url), "fault:sqlite:%s/%s.db?%s", tmp, sub, spec);
    assert_int_equal(metastore_open(&ms, url, 1), 0);
    assert_string_equal(ms->ops->kind, "fault");
    return ms;
}

static void specs_parse_and_bad_ones_are_named(void **state)
{
    (void)state;
    struct fault_config c;
    fault_config_default(&c);
    assert_int_equal(fault_config_parse(&c, "latency=10:50,latency.put=40:200,error.put=0.25,"
                                            "timeout.write=0.5,applied=1,seed=9,fail_next=3,"
                                            "fail_rc=auth,timeout_ms=7"),
                     0);
    assert_true(c.op[FAULT_GET].p50_ms == 10 && c.op[FAULT_GET].p99_ms == 50);
    assert_true(c.op[FAULT_PUT].p50_ms == 40 && c.op[FAULT_PUT].p99_ms == 200);
    assert_true(c.op[FAULT_PUT].error_rate == 0.25 && c.op[FAULT_GET].error_rate == 0);
    assert_true(c.op[FAULT_MPUT].timeout_rate == 0.5 && c.op[FAULT_DEL].timeout_rate == 0.5);
    assert_true(c.op[FAULT_MQUERY].timeout_rate == 0);
    assert_true(c.applied == 1 && c.seed == 9 && c.fail_next == 3 && c.timeout_ms == 7);
    assert_int_equal(c.fail_rc, CIRRUS_EAUTH);
    const char *bad[] = {"latency=5",    "latency=9:2", "error=2",    "error.nope=0.1",
                         "frobnicate=1", "fail_rc=xyz", "seed.put=1", "timeout"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fault_config_default(&c);
        assert_int_equal(fault_config_parse(&c, bad[i]), CIRRUS_EINVALID);
        assert_non_null(strstr(cirrus_errmsg(), "bad item"));
    }
}

static void sweep_items_parse(void **state)
{
    (void)state;
    struct fault_config c;
    fault_config_default(&c);
    assert_int_equal(c.fail_at, 0);
    assert_int_equal(c.fail_mode, FAULT_MODE_ERROR);
    assert_int_equal(fault_config_parse(&c, "fail_at=17,fail_mode=applied,crash_at=5,"
                                            "crash_after=6,group=g1"),
                     0);
    assert_true(c.fail_at == 17 && c.crash_before == 5 && c.crash_after == 6);
    assert_int_equal(c.fail_mode, FAULT_MODE_APPLIED);
    assert_string_equal(c.group, "g1");
    assert_int_equal(fault_config_parse(&c, "fail_mode=timeout,fail_count=3"), 0);
    assert_int_equal(c.fail_mode, FAULT_MODE_TIMEOUT);
    assert_int_equal(c.fail_count, 3);
    const char *bad[] = {"fail_at=x",
                         "fail_at=-1",
                         "fail_at.put=3",
                         "fail_mode=maybe",
                         "crash_at=",
                         "crash_after=1e3",
                         "group=a-name-that-is-far-too-long-for-it"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fault_config_default(&c);
        assert_int_equal(fault_config_parse(&c, bad[i]), CIRRUS_EINVALID);
    }
}

/* fail_at counts the calls of every store of its group together and fails
 * exactly one, in the mode asked; the others pass. */
static void fail_at_fails_the_nth_call_of_the_group(void **state)
{
    (void)state;
    struct fault_group_info gi;
    uint64_t size;
    fault_group_reset("t-error");
    struct objstore *os = open_os("group=t-error,fail_at=3");
    struct metastore *ms = open_ms("group=t-error,fail_at=3");
    assert_int_equal(objstore_put(os, "a", "1", 1), 0);                 /* 1 */
    assert_int_equal(metastore_put_if_absent(ms, "p", "s", "v", 1), 0); /* 2 */
    assert_int_equal(objstore_put(os, "b", "1", 1), CIRRUS_EIO);        /* 3 */
    assert_non_null(strstr(cirrus_errmsg(), "injected"));
    assert_int_equal(objstore_head(os, "b", &size), CIRRUS_ENOTFOUND); /* 4: not applied */
    assert_int_equal(objstore_put(os, "b", "1", 1), 0);                /* 5 */
    fault_group_get("t-error", &gi);
    assert_int_equal(gi.calls, 5);
    assert_int_equal(gi.injected_at, 3);
    assert_int_equal(gi.injected_op, FAULT_PUT);
    assert_int_equal(gi.injected_write, 1);
    assert_string_equal(gi.injected_what, "b");
    objstore_close(os);
    metastore_close(ms);
    fault_group_reset("t-error");
    fault_group_get("t-error", &gi);
    assert_true(gi.calls == 0 && gi.injected_at == 0);

    /* timeout: not applied */
    ms = open_ms("group=t-timeout,fail_at=1,fail_mode=timeout");
    uint8_t *v = NULL;
    size_t len = 0;
    uint64_t ver = 0;
    assert_int_equal(metastore_put_if_absent(ms, "p", "s", "v", 1), CIRRUS_ETIMEOUT);
    assert_int_equal(metastore_get(ms, "p", "s", &v, &len, &ver), CIRRUS_ENOTFOUND);
    metastore_close(ms);

    /* applied: a conditional write lands, then its answer is lost; a read
     * times out */
    /* a burst: fail_count calls from fail_at on */
    fault_group_reset("t-burst");
    os = open_os("group=t-burst,fail_at=2,fail_count=2");
    assert_int_equal(objstore_put(os, "a", "1", 1), 0);
    assert_int_equal(objstore_put(os, "b", "1", 1), CIRRUS_EIO);
    assert_int_equal(objstore_put(os, "c", "1", 1), CIRRUS_EIO);
    assert_int_equal(objstore_put(os, "d", "1", 1), 0);
    fault_group_get("t-burst", &gi);
    assert_true(gi.injected_at == 2 && gi.n_injected == 2);
    assert_string_equal(gi.injected_what, "b");
    objstore_close(os);

    ms = open_ms("group=t-applied,fail_at=2,fail_mode=applied");
    assert_int_equal(metastore_put_if_absent(ms, "p", "s", "v1", 2), 0);
    assert_int_equal(metastore_put_if_version(ms, "p", "s", "v2", 2, 1), CIRRUS_ETIMEOUT);
    assert_non_null(strstr(cirrus_errmsg(), "applied"));
    assert_int_equal(metastore_get(ms, "p", "s", &v, &len, &ver), 0);
    assert_int_equal(ver, 2);
    assert_memory_equal(v, "v2", 2);
    free(v);
    metastore_close(ms);
    os = open_os("group=t-applied-read,fail_at=1,fail_mode=applied");
    assert_int_equal(objstore_head(os, "x", &size), CIRRUS_ETIMEOUT);
    objstore_close(os);
}

/* Runs `n_puts` puts of objects "0", "1", ... in a child process whose
 * store crashes as spec says; returns its exit status. The parent is
 * single-threaded here, so the forked child may do anything. */
static int crash_child(const char *dir, const char *spec, int n_puts)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char url[600];
        struct objstore *os = NULL;
        snprintf(url, sizeof(url), "fault:%s?%s", dir, spec);
        if (objstore_open(&os, url, 1) < 0)
            _exit(2);
        for (int i = 0; i < n_puts; i++) {
            char name[16];
            snprintf(name, sizeof(name), "%d", i);
            objstore_put(os, name, "x", 1);
        }
        _exit(0);
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

/* crash_at stops the process before its call reaches the store,
 * crash_after once the call was applied. */
static void crash_points_exit_before_or_after_the_call(void **state)
{
    (void)state;
    char dir[400], url[450];
    struct objstore *os = NULL;
    uint64_t size;
    snprintf(dir, sizeof(dir), "%s/crash-before", tmp);
    assert_int_equal(crash_child(dir, "crash_at=2", 3), FAULT_CRASH_EXIT);
    assert_int_equal(objstore_open(&os, dir, 0), 0);
    assert_int_equal(objstore_head(os, "0", &size), 0);
    assert_int_equal(objstore_head(os, "1", &size), CIRRUS_ENOTFOUND);
    objstore_close(os);

    snprintf(dir, sizeof(dir), "%s/crash-after", tmp);
    assert_int_equal(crash_child(dir, "crash_after=2", 3), FAULT_CRASH_EXIT);
    assert_int_equal(objstore_open(&os, dir, 0), 0);
    assert_int_equal(objstore_head(os, "1", &size), 0);
    assert_int_equal(objstore_head(os, "2", &size), CIRRUS_ENOTFOUND);
    objstore_close(os);

    snprintf(dir, sizeof(dir), "%s/crash-never", tmp);
    assert_int_equal(crash_child(dir, "crash_after=9", 3), 0);
    snprintf(url, sizeof(url), "%s", dir);
    assert_int_equal(objstore_open(&os, url, 0), 0);
    assert_int_equal(objstore_head(os, "2", &size), 0);
    objstore_close(os);
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The draws match the p50 and p99 they were fitted to. */
static void latency_is_lognormal_with_the_given_percentiles(void **state)
{
    (void)state;
    enum { N = 20000 };
    static double d[N];
    struct fault_op_config c = {20, 150, 0, 0};
    uint64_t rng = 12345;
    for (int i = 0; i < N; i++) {
        d[i] = fault_draw_latency_ms(&c, &rng);
        assert_true(d[i] > 0);
    }
    qsort(d, N, sizeof(d[0]), cmp_double);
    double p50 = d[N / 2], p99 = d[N * 99 / 100];
    assert_true(p50 > 20 * 0.95 && p50 < 20 * 1.05);
    assert_true(p99 > 150 * 0.85 && p99 < 150 * 1.15);
    struct fault_op_config none = {0, 0, 0, 0}, fixed = {5, 5, 0, 0};
    assert_true(fault_draw_latency_ms(&none, &rng) == 0);
    double f = fault_draw_latency_ms(&fixed, &rng);
    assert_true(f > 4.999 && f < 5.001);
}

/* fail_next: the next N calls fail as told, apply nothing, then calls pass. */
static void fail_next_refuses_then_recovers(void **state)
{
    (void)state;
    struct objstore *os = open_os("fail_next=2,fail_rc=auth");
    uint64_t size;
    assert_int_equal(objstore_put(os, "a", "xyz", 3), CIRRUS_EAUTH);
    assert_non_null(strstr(cirrus_errmsg(), "injected"));
    assert_int_equal(objstore_head(os, "a", &size), CIRRUS_EAUTH);
    assert_int_equal(objstore_head(os, "a", &size), CIRRUS_ENOTFOUND); /* nothing applied */
    assert_int_equal(objstore_put(os, "a", "xyz", 3), 0);
    struct fault_stats st;
    assert_int_equal(fault_objstore_stats(os, &st), 0);
    assert_int_equal(st.calls[FAULT_PUT], 2);
    assert_int_equal(st.calls[FAULT_HEAD], 2);
    assert_int_equal(st.errors[FAULT_PUT], 1);
    assert_int_equal(st.errors[FAULT_HEAD], 1);
    assert_int_equal(st.bytes_up[FAULT_PUT], 3);
    objstore_close(os);
}

/* A copy into a fault store is a write of it: it passes the put's fault
 * points (not applied when failed), then the inner store copies as it can:
 * from a plain fs store, by a link (no get of the source). */
static void copies_pass_the_put_fault_points(void **state)
{
    (void)state;
    char url[512];
    struct objstore *os = open_os("fail_next=1"), *src = NULL;
    struct objstore_stats o;
    struct fault_stats st;
    uint64_t size;
    snprintf(url, sizeof(url), "%s/copy-src", tmp);
    assert_int_equal(objstore_open(&src, url, 1), 0);
    assert_int_equal(objstore_put(src, "a", "abcd", 4), 0);
    assert_int_equal(objstore_copy(os, "b", src, "a", 4), CIRRUS_EIO);
    assert_non_null(strstr(cirrus_errmsg(), "injected"));
    assert_int_equal(objstore_head(os, "b", &size), CIRRUS_ENOTFOUND);
    assert_int_equal(objstore_copy(os, "b", src, "a", 4), 0);
    assert_int_equal(objstore_head(os, "b", &size), 0);
    assert_int_equal(size, 4);
    assert_int_equal(fault_objstore_stats(os, &st), 0);
    assert_int_equal(st.calls[FAULT_PUT], 2);
    assert_int_equal(st.errors[FAULT_PUT], 1);
    assert_int_equal(st.bytes_up[FAULT_PUT], 4);
    objstore_stats(os, &o);
    assert_int_equal(o.copies, 2);
    assert_int_equal(o.puts, 0);
    objstore_stats(src, &o);
    assert_int_equal(o.gets, 0);
    /* as the source, a fault store is read, through its own fault points */
    struct fault_config cfg;
    fault_config_default(&cfg);
    assert_int_equal(fault_config_parse(&cfg, "fail_next=1"), 0);
    assert_int_equal(fault_objstore_configure(os, &cfg), 0);
    assert_int_equal(objstore_copy(src, "c", os, "b", 4), CIRRUS_EIO);
    assert_int_equal(objstore_head(src, "c", &size), CIRRUS_ENOTFOUND);
    assert_int_equal(objstore_copy(src, "c", os, "b", 4), 0);
    objstore_stats(os, &o);
    assert_int_equal(o.gets, 2);
    objstore_close(src);
    objstore_close(os);
}

/* error rate 1 on one op type only; other types pass. */
static void error_rates_are_per_operation(void **state)
{
    (void)state;
    struct objstore *os = open_os("error.put=1");
    uint8_t buf[8];
    size_t got;
    assert_int_equal(objstore_put(os, "b", "12345678", 8), CIRRUS_EIO);
    assert_int_equal(objstore_get(os, "b", 0, 8, buf, &got), CIRRUS_ENOTFOUND);
    struct fault_config c;
    fault_config_default(&c);
    assert_int_equal(fault_objstore_configure(os, &c), 0); /* faults off, counters go on */
    assert_int_equal(objstore_put(os, "b", "12345678", 8), 0);
    assert_int_equal(objstore_get(os, "b", 2, 8, buf, &got), 0);
    assert_int_equal(got, 6);
    struct fault_stats st;
    assert_int_equal(fault_objstore_stats(os, &st), 0);
    assert_int_equal(st.calls[FAULT_PUT], 2);
    assert_int_equal(st.errors[FAULT_PUT], 1);
    assert_int_equal(st.calls[FAULT_GET], 2);
    assert_int_equal(st.bytes_down[FAULT_GET], 6);
    objstore_close(os);
}

/* A timed-out write may have been applied: both cases happen, as asked. */
static void timeouts_apply_writes_or_not(void **state)
{
    (void)state;
    uint64_t size;
    struct objstore *os = open_os("timeout.put=1,applied=1");
    assert_int_equal(objstore_put(os, "c", "x", 1), CIRRUS_ETIMEOUT);
    assert_non_null(strstr(cirrus_errmsg(), "applied"));
    objstore_close(os);
    os = open_os("timeout.put=1,applied=0");
    assert_int_equal(objstore_put(os, "c", "x", 1), CIRRUS_ETIMEOUT);
    assert_int_equal(objstore_head(os, "c", &size), CIRRUS_ENOTFOUND);
    struct fault_stats st;
    assert_int_equal(fault_objstore_stats(os, &st), 0);
    assert_int_equal(st.timeouts[FAULT_PUT], 1);
    objstore_close(os);

    /* the metadata store: an applied put_if_absent timed out; the retry
     * then conflicts with its own success, which is why callers read back */
    struct metastore *ms = open_ms("timeout.mput=1,applied=1");
    uint8_t *v = NULL;
    size_t len = 0;
    uint64_t ver = 0;
    assert_int_equal(metastore_put_if_absent(ms, "p", "s", "v1", 2), CIRRUS_ETIMEOUT);
    assert_int_equal(metastore_get(ms, "p", "s", &v, &len, &ver), 0);
    assert_int_equal(ver, 1);
    assert_int_equal(len, 2);
    free(v);
    metastore_close(ms);
    ms = open_ms("timeout.write=1,applied=0");
    assert_int_equal(metastore_put_if_absent(ms, "p", "s", "v1", 2), CIRRUS_ETIMEOUT);
    assert_int_equal(metastore_get(ms, "p", "s", &v, &len, &ver), CIRRUS_ENOTFOUND);
    metastore_close(ms);
}

/* A rate of 0.3 fails about 30% of calls, reproducibly under one seed. */
static void rates_are_rates_and_seeds_repeat(void **state)
{
    (void)state;
    int fails[2] = {0, 0};
    for (int round = 0; round < 2; round++) {
        struct metastore *ms = open_ms("error.mget=0.3,seed=42");
        for (int i = 0; i < 1000; i++) {
            uint8_t *v = NULL;
            size_t len;
            uint64_t ver;
            int rc = metastore_get(ms, "p", "s", &v, &len, &ver);
            assert_true(rc == CIRRUS_EIO || rc == CIRRUS_ENOTFOUND);
            fails[round] += rc == CIRRUS_EIO;
        }
        struct fault_stats st;
        assert_int_equal(fault_metastore_stats(ms, &st), 0);
        assert_int_equal(st.calls[FAULT_MGET], 1000);
        assert_int_equal(st.errors[FAULT_MGET], (uint64_t)fails[round]);
        metastore_close(ms);
    }
    assert_true(fails[0] > 240 && fails[0] < 360);
    assert_int_equal(fails[0], fails[1]);
}

/* Query bytes and put bytes are counted; stats refuse other stores. */
static void metastore_counters(void **state)
{
    (void)state;
    struct metastore *ms = open_ms("latency=0.01:0.05");
    assert_int_equal(metastore_put_if_absent(ms, "p", "a", "1234", 4), 0);
    assert_int_equal(metastore_put_if_version(ms, "p", "a", "123456", 6, 1), 0);
    assert_int_equal(metastore_delete_if_version(ms, "p", "a", 1), CIRRUS_ECONFLICT);
    assert_int_equal(metastore_put_if_absent(ms, "p", "b", "xy", 2), 0);
    struct meta_item *items = NULL;
    size_t n = 0;
    assert_int_equal(metastore_query(ms, "p", "", NULL, 0, 0, &items, &n), 0);
    assert_int_equal(n, 2);
    meta_items_free(items, n);
    struct fault_stats st;
    assert_int_equal(fault_metastore_stats(ms, &st), 0);
    assert_int_equal(st.calls[FAULT_MPUT], 3);
    assert_int_equal(st.bytes_up[FAULT_MPUT], 12);
    assert_int_equal(st.calls[FAULT_MDEL], 1);
    assert_int_equal(st.calls[FAULT_MQUERY], 1);
    assert_int_equal(st.bytes_down[FAULT_MQUERY], 8);
    assert_true(st.latency_us[FAULT_MPUT] > 0);
    assert_int_equal(ms->max_value_len > 0, 1);
    metastore_close(ms);

    char url[512];
    snprintf(url, sizeof(url), "sqlite:%s/plain.db", tmp);
    assert_int_equal(metastore_open(&ms, url, 1), 0);
    assert_int_equal(fault_metastore_stats(ms, &st), CIRRUS_EINVALID);
    metastore_close(ms);
}

/* A fault: URL is the one way in: the environment variables that once
 * wrapped every store are not read; a URL's spec applies to the store it
 * opens, which is wrapped once; a bad spec is refused. */
static void only_fault_urls_inject(void **state)
{
    (void)state;
    char url[512], want[512];
    struct objstore *os = NULL;
    struct metastore *ms = NULL;
    setenv("CIRRUS_FAULT", "fail_next=1,fail_rc=auth", 1);
    setenv("CIRRUS_FAULT_OBJSTORE", "error=1", 1);
    setenv("CIRRUS_FAULT_METASTORE", "error=7", 1);
    snprintf(url, sizeof(url), "%s/plain", tmp);
    assert_int_equal(objstore_open(&os, url, 1), 0);
    assert_string_equal(os->ops->kind, "fs");
    assert_int_equal(objstore_put(os, "x", "1", 1), 0);
    objstore_close(os);
    snprintf(url, sizeof(url), "sqlite:%s/plain.db", tmp);
    assert_int_equal(metastore_open(&ms, url, 1), 0);
    assert_string_equal(ms->ops->kind, "sqlite");
    assert_int_equal(metastore_put_if_absent(ms, "p", "s", "v", 1), 0);
    metastore_close(ms);
    unsetenv("CIRRUS_FAULT");
    unsetenv("CIRRUS_FAULT_OBJSTORE");
    unsetenv("CIRRUS_FAULT_METASTORE");

    snprintf(url, sizeof(url), "fault:%s/plain?fail_next=1,fail_rc=auth", tmp);
    assert_int_equal(objstore_open(&os, url, 1), 0);
    snprintf(want, sizeof(want), "fault:%s/plain", tmp);
    assert_string_equal(os->url, want); /* wrapped once, the spec not shown */
    assert_int_equal(objstore_put(os, "y", "1", 1), CIRRUS_EAUTH);
    assert_int_equal(objstore_put(os, "y", "1", 1), 0);
    objstore_close(os);

    snprintf(url, sizeof(url), "fault:sqlite:%s/plain.db?error=1", tmp);
    assert_int_equal(metastore_open(&ms, url, 1), 0);
    assert_int_equal(metastore_put_if_absent(ms, "p", "t", "v", 1), CIRRUS_EIO);
    metastore_close(ms);
    snprintf(url, sizeof(url), "fault:sqlite:%s/plain.db?error=7", tmp);
    assert_int_equal(metastore_open(&ms, url, 1), CIRRUS_EINVALID);
    assert_non_null(strstr(cirrus_errmsg(), "error=7"));
}

static int count_listed(const struct objstore_entry *e, void *arg)
{
    (void)e;
    (*(int *)arg)++;
    return 0;
}

/* Every store counts the requests made of it (objstore_stats,
 * metastore_stats): a wrapper counts every call it was given, injected
 * failures too; the store under it only the calls that reached it. */
static void every_store_counts_its_own_requests(void **state)
{
    (void)state;
    char url[512];
    struct objstore *inner = NULL, *os = NULL;
    struct objstore_stats o;
    struct fault_config cfg;
    uint8_t buf[8];
    size_t got;
    snprintf(url, sizeof(url), "%s/counted", tmp);
    assert_int_equal(objstore_open(&inner, url, 1), 0);
    fault_config_default(&cfg);
    assert_int_equal(fault_config_parse(&cfg, "fail_next=1"), 0);
    assert_int_equal(fault_objstore_wrap(&os, inner, &cfg), 0);     /* takes inner; we peek */
    assert_int_equal(objstore_put(os, "a", "1234", 4), CIRRUS_EIO); /* injected: not sent */
    assert_int_equal(objstore_put(os, "a", "1234", 4), 0);
    assert_int_equal(objstore_get(os, "a", 1, 8, buf, &got), 0);
    uint8_t *all = NULL;
    assert_int_equal(objstore_get_all(os, "a", &all, &got), 0);
    free(all);
    uint64_t size;
    assert_int_equal(objstore_head(os, "b", &size), CIRRUS_ENOTFOUND);
    assert_int_equal(objstore_del(os, "a"), 0);
    int listed = 0;
    assert_int_equal(objstore_list(os, "", count_listed, &listed), 0);
    assert_int_equal(listed, 0);
    objstore_stats(os, &o);
    assert_int_equal(o.puts, 2);
    assert_int_equal(o.bytes_written, 8);
    assert_int_equal(o.gets, 2); /* a get_all is a get */
    assert_int_equal(o.bytes_read, 3 + 4);
    assert_true(o.heads == 1 && o.deletes == 1 && o.lists == 1);
    objstore_stats(inner, &o);
    assert_int_equal(o.puts, 1);
    assert_int_equal(o.bytes_written, 4);
    assert_true(o.gets == 2 && o.heads == 1 && o.deletes == 1 && o.lists == 1);
    objstore_close(os);

    struct metastore *ms = open_ms("error.mget=1");
    struct metastore_stats m;
    uint8_t *v = NULL;
    size_t len;
    uint64_t ver;
    struct meta_item *items = NULL;
    size_t n = 0;
    assert_int_equal(metastore_put_if_absent(ms, "p", "a", "1234", 4), 0);
    assert_int_equal(metastore_put_if_version(ms, "p", "a", "123456", 6, 1), 0);
    assert_int_equal(metastore_delete_if_version(ms, "p", "a", 1), CIRRUS_ECONFLICT);
    assert_int_equal(metastore_get(ms, "p", "a", &v, &len, &ver), CIRRUS_EIO);
    assert_int_equal(metastore_query(ms, "p", "", NULL, 0, 0, &items, &n), 0);
    assert_int_equal(n, 1);
    meta_items_free(items, n);
    metastore_stats(ms, &m);
    assert_true(m.gets == 1 && m.puts == 2 && m.deletes == 1 && m.queries == 1);
    assert_int_equal(m.bytes_written, 10);
    assert_int_equal(m.bytes_read, 6);
    metastore_close(ms);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(specs_parse_and_bad_ones_are_named),
        cmocka_unit_test(latency_is_lognormal_with_the_given_percentiles),
        cmocka_unit_test(fail_next_refuses_then_recovers),
        cmocka_unit_test(copies_pass_the_put_fault_points),
        cmocka_unit_test(error_rates_are_per_operation),
        cmocka_unit_test(timeouts_apply_writes_or_not),
        cmocka_unit_test(rates_are_rates_and_seeds_repeat),
        cmocka_unit_test(metastore_counters),
        cmocka_unit_test(only_fault_urls_inject),
        cmocka_unit_test(every_store_counts_its_own_requests),
        cmocka_unit_test(sweep_items_parse),
        cmocka_unit_test(fail_at_fails_the_nth_call_of_the_group),
        cmocka_unit_test(crash_points_exit_before_or_after_the_call),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
