/* cirrus-test-libs: objstore metastore aws util */
/*
 * test_aws_live.c - the AWS layer's failure paths over real sockets.
 *
 * Without any server: an unreachable endpoint is a clear CIRRUS_EIO within
 * the retry budget; a server that accepts and never answers is
 * CIRRUS_ETIMEOUT, ambiguous for writes only; secrets never reach a message.
 * With servers (scripts/with-cloud-servers or scripts/with-radosgw set
 * AWS_ENDPOINT_URL_S3 / _DYNAMODB): an unknown bucket or table is
 * CIRRUS_ENOTFOUND naming it; parallel requests through the multi interface;
 * and, on radosgw (CIRRUS_RADOSGW=1, which verifies signatures), a wrong
 * secret is CIRRUS_EAUTH with SignatureDoesNotMatch. Skips what its
 * environment cannot exercise. The retry loop is driven by a scripted
 * responder thread that answers with throttling errors before it succeeds.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "aws/aws.h"
#include "metastore/metastore.h"
#include "objstore/objstore.h"
#include "util/status.h"
#include "util/sys.h"

#define SECRET "never-print-me-7f3a"

/* The environment variables a test may change, saved and restored. */
static const char *const vars[] = {
    "AWS_ENDPOINT_URL_S3",   "AWS_ENDPOINT_URL_DYNAMODB",     "AWS_ENDPOINT_URL",
    "AWS_ACCESS_KEY_ID",     "AWS_SECRET_ACCESS_KEY",         "CIRRUS_AWS_MAX_RETRY_MS",
    "CIRRUS_AWS_TIMEOUT_MS", "CIRRUS_S3_MULTIPART_THRESHOLD", "CIRRUS_S3_PART_SIZE"};
#define N_VARS (sizeof(vars) / sizeof(vars[0]))
static char *saved[N_VARS];

static int save_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VARS; i++) {
        const char *v = getenv(vars[i]);
        saved[i] = v ? strdup(v) : NULL;
    }
    return 0;
}

static int restore_env(void **state)
{
    (void)state;
    for (size_t i = 0; i < N_VARS; i++) {
        if (saved[i])
            setenv(vars[i], saved[i], 1);
        else
            unsetenv(vars[i]);
        free(saved[i]);
        saved[i] = NULL;
    }
    return 0;
}

/* A socket that accepts connections (the kernel's backlog does) and never
 * answers. Returns its fd; *port_out gets the port. */
static int blackhole(int *port_out)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    *port_out = ntohs(a.sin_port);
    return fd;
}

/* A scripted HTTP responder: answers each connection's first request with
 * the next canned response (then closes), the last one forever after. */
struct responder {
    int fd;
    const char *const *answers; /* full HTTP responses */
    int n_answers;
    int served;
};

static void *respond(void *arg)
{
    struct responder *rs = arg;
    for (;;) {
        int c = accept(rs->fd, NULL, NULL);
        if (c < 0)
            break;
        char buf[8192];
        size_t got = 0;
        /* read to the end of the headers (bodies here are tiny and ignored) */
        while (got < sizeof(buf) - 1) {
            ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);
            if (n <= 0)
                break;
            got += (size_t)n;
            buf[got] = '\0';
            if (strstr(buf, "\r\n\r\n"))
                break;
        }
        int k = rs->served < rs->n_answers ? rs->served : rs->n_answers - 1;
        rs->served++;
        const char *a = rs->answers[k];
        if (write(c, a, strlen(a)) < 0)
            break;
        close(c);
    }
    return NULL;
}

#define SLOWDOWN                                                                                   \
    "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: 80\r\n"            \
    "Connection: close\r\n\r\n<Error><Code>SlowDown</Code><Message>Reduce your request rate."      \
    "</Message></Error>"
#define TOO_MANY "HTTP/1.1 429 Too Many Requests\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
#define OK_EMPTY "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok"

static void offline_env(const char *s3, const char *ddb)
{
    setenv("AWS_ENDPOINT_URL_S3", s3, 1);
    setenv("AWS_ENDPOINT_URL_DYNAMODB", ddb, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("CIRRUS_AWS_MAX_RETRY_MS", "300", 1);
    setenv("CIRRUS_AWS_TIMEOUT_MS", "200", 1);
}

/* Port 1 on loopback: nothing listens, connecting is refused at once. */
static void unreachable_endpoints_fail_clearly_and_in_time(void **state)
{
    (void)state;
    struct objstore *os = NULL;
    struct metastore *ms = NULL;
    offline_env("http://127.0.0.1:1", "http://127.0.0.1:1");
    uint64_t t0 = mono_ns();
    assert_int_equal(objstore_open(&os, "s3://no-such-bucket/p", 1), CIRRUS_EIO);
    const char *m = cirrus_errmsg();
    assert_non_null(strstr(m, "no-such-bucket"));
    assert_non_null(strstr(m, "127.0.0.1:1"));
    assert_null(strstr(m, SECRET));
    assert_int_equal(metastore_open(&ms, "dynamodb://some-table", 1), CIRRUS_EIO);
    m = cirrus_errmsg();
    assert_non_null(strstr(m, "some-table"));
    assert_null(strstr(m, SECRET));
    /* two opens, each bounded by the 300 ms budget plus one attempt */
    assert_true(mono_ns() - t0 < 3000000000ull);
}

/* A server that never answers: a timeout, ambiguous only for a write. */
static void silent_servers_time_out_and_writes_are_ambiguous(void **state)
{
    (void)state;
    int port, fd = blackhole(&port);
    char ep[64];
    snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
    offline_env(ep, ep);
    struct aws_config cfg;
    struct aws_client *c = NULL;
    assert_int_equal(aws_config_from_env(&cfg, "dynamodb"), 0);
    assert_int_equal(aws_client_new(&c, &cfg), 0);
    for (int write = 0; write <= 1; write++) {
        struct aws_request r;
        memset(&r, 0, sizeof(r));
        r.op = write ? "PutItem" : "GetItem";
        r.method = "POST";
        r.path = "/";
        r.body = "{}";
        r.body_len = 2;
        r.is_write = write;
        r.json_errors = 1;
        uint64_t t0 = mono_ns();
        assert_int_equal(aws_perform(c, &r), CIRRUS_ETIMEOUT);
        assert_int_equal(r.ambiguous, write);
        assert_true(r.attempts >= 1);
        assert_true(mono_ns() - t0 < 2000000000ull);
        assert_non_null(strstr(cirrus_errmsg(), r.op));
        assert_null(strstr(cirrus_errmsg(), SECRET));
        aws_request_clear(&r);
    }
    aws_client_free(c);
    close(fd);
}

/* Throttled twice, then served: three attempts, success. Throttled for
 * ever: gives up inside the budget, naming the service's code. */
static void throttling_is_retried_within_the_budget(void **state)
{
    (void)state;
    const char *script[][3] = {{SLOWDOWN, TOO_MANY, OK_EMPTY}, {SLOWDOWN, SLOWDOWN, SLOWDOWN}};
    for (int t = 0; t < 2; t++) {
        int port, fd = blackhole(&port);
        struct responder rs = {fd, script[t], 3, 0};
        pthread_t th;
        char ep[64];
        assert_int_equal(pthread_create(&th, NULL, respond, &rs), 0);
        snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
        offline_env(ep, ep);
        setenv("CIRRUS_AWS_MAX_RETRY_MS", "1500", 1);
        setenv("CIRRUS_AWS_TIMEOUT_MS", "2000", 1);
        struct aws_config cfg;
        struct aws_client *c = NULL;
        assert_int_equal(aws_config_from_env(&cfg, "s3"), 0);
        assert_int_equal(aws_client_new(&c, &cfg), 0);
        struct aws_request r;
        memset(&r, 0, sizeof(r));
        r.op = "PutObject";
        r.method = "PUT";
        r.path = "/b/k";
        r.body = "x";
        r.body_len = 1;
        r.is_write = 1;
        uint64_t t0 = mono_ns();
        int rc = aws_perform(c, &r);
        uint64_t ms = (mono_ns() - t0) / 1000000;
        if (t == 0) {
            assert_int_equal(rc, 0);
            assert_int_equal(r.attempts, 3);
            assert_int_equal(r.ambiguous, 0); /* throttling never applies a write */
        } else {
            assert_int_equal(rc, CIRRUS_EIO);
            assert_true(r.attempts >= 3);
            assert_non_null(strstr(cirrus_errmsg(), "SlowDown"));
            assert_non_null(strstr(cirrus_errmsg(), "gave up"));
            assert_true(ms < 1500 + 2000);
        }
        aws_request_clear(&r);
        aws_client_free(c);
        shutdown(fd, SHUT_RDWR);
        close(fd);
        pthread_join(th, NULL);
    }
}

static void bad_endpoints_are_refused(void **state)
{
    (void)state;
    struct aws_config cfg;
    offline_env("ftp://127.0.0.1:1", "http://127.0.0.1:1/path");
    assert_int_equal(aws_config_from_env(&cfg, "s3"), CIRRUS_EINVALID);
    assert_int_equal(aws_config_from_env(&cfg, "dynamodb"), CIRRUS_EINVALID);
    offline_env("http://127.0.0.1:1/", "http://127.0.0.1:1");
    setenv("CIRRUS_AWS_MAX_RETRY_MS", "soon", 1);
    assert_int_equal(aws_config_from_env(&cfg, "s3"), CIRRUS_EINVALID);
    setenv("CIRRUS_AWS_MAX_RETRY_MS", "100", 1);
    assert_int_equal(aws_config_from_env(&cfg, "s3"), 0);
    assert_string_equal(cfg.endpoint, "http://127.0.0.1:1"); /* trailing '/' dropped */
    assert_int_equal(cfg.max_retry_ms, 100);
    aws_config_clear(&cfg);
}

static void unknown_buckets_and_tables_are_named(void **state)
{
    (void)state;
    struct objstore *os = NULL;
    struct metastore *ms = NULL;
    if (!getenv("AWS_ENDPOINT_URL_S3") && !getenv("AWS_ENDPOINT_URL_DYNAMODB"))
        skip();
    setenv("CIRRUS_AWS_MAX_RETRY_MS", "2000", 1);
    if (getenv("AWS_ENDPOINT_URL_S3")) {
        assert_int_equal(objstore_open(&os, "s3://cirrus-no-such-bucket/x", 1), CIRRUS_ENOTFOUND);
        assert_non_null(strstr(cirrus_errmsg(), "cirrus-no-such-bucket"));
    }
    if (getenv("AWS_ENDPOINT_URL_DYNAMODB")) {
        assert_int_equal(metastore_open(&ms, "dynamodb://cirrus-no-such-table", 0),
                         CIRRUS_ENOTFOUND);
        assert_non_null(strstr(cirrus_errmsg(), "cirrus-no-such-table"));
    }
}

/* radosgw checks signatures: a wrong secret must be EAUTH, and the
 * message must name the cause without the secret. */
static void wrong_secrets_are_auth_errors(void **state)
{
    (void)state;
    const char *bucket = getenv("CIRRUS_TEST_BUCKET");
    const char *strict = getenv("CIRRUS_RADOSGW");
    struct objstore *os = NULL;
    char url[256];
    if (!bucket || !strict || strcmp(strict, "1") != 0)
        skip();
    setenv("AWS_SECRET_ACCESS_KEY", SECRET, 1);
    setenv("CIRRUS_AWS_MAX_RETRY_MS", "2000", 1);
    snprintf(url, sizeof(url), "s3://%s/x", bucket);
    assert_int_equal(objstore_open(&os, url, 1), CIRRUS_EAUTH);
    assert_non_null(strstr(cirrus_errmsg(), "403"));
    assert_null(strstr(cirrus_errmsg(), SECRET));
    setenv("AWS_ACCESS_KEY_ID", "NOSUCHKEY", 1);
    assert_int_equal(objstore_open(&os, url, 1), CIRRUS_EAUTH);
    assert_non_null(strstr(cirrus_errmsg(), "InvalidAccessKeyId"));
}

/* Many requests at once through one multi handle, connections shared. */
static void parallel_requests_all_complete(void **state)
{
    (void)state;
    const char *bucket = getenv("CIRRUS_TEST_BUCKET");
    enum { N = 12 };
    struct aws_request rs[N];
    char paths[N][128], bodies[N][32], prefix[40];
    struct aws_config cfg;
    struct aws_client *c = NULL;
    if (!bucket || !getenv("AWS_ENDPOINT_URL_S3"))
        skip();
    uint8_t rnd[8];
    rand_bytes(rnd, sizeof(rnd));
    hex_encode(prefix, rnd, sizeof(rnd));
    assert_int_equal(aws_config_from_env(&cfg, "s3"), 0);
    assert_int_equal(aws_client_new(&c, &cfg), 0);
    for (int pass = 0; pass < 3; pass++) { /* PUT, GET, DELETE */
        memset(rs, 0, sizeof(rs));
        for (int i = 0; i < N; i++) {
            snprintf(paths[i], sizeof(paths[i]), "/%s/parallel-%s/%02d", bucket, prefix, i);
            snprintf(bodies[i], sizeof(bodies[i]), "body %d", i);
            rs[i].op = "parallel";
            rs[i].path = paths[i];
            rs[i].method = pass == 0 ? "PUT" : pass == 1 ? "GET" : "DELETE";
            if (pass == 0) {
                rs[i].body = bodies[i];
                rs[i].body_len = strlen(bodies[i]);
                rs[i].is_write = 1;
            }
        }
        assert_int_equal(aws_perform_many(c, rs, N, 4), 0);
        for (int i = 0; i < N; i++) {
            assert_int_equal(rs[i].rc, 0);
            if (pass == 1) {
                assert_int_equal(rs[i].resp.len, strlen(bodies[i]));
                assert_memory_equal(rs[i].resp.data, bodies[i], rs[i].resp.len);
            }
            aws_request_clear(&rs[i]);
        }
    }
    aws_client_free(c);
}

/* Above the threshold a put goes up in parallel parts (5 MiB: the least S3
 * and radosgw accept but for the last); the object reads back whole, and a
 * second put of the name is refused. */
static void multipart_puts_round_trip(void **state)
{
    (void)state;
    const char *bucket = getenv("CIRRUS_TEST_BUCKET");
    struct objstore *os = NULL;
    char url[256], name[64], hex[17];
    uint8_t rnd[8], *back = NULL;
    size_t len = (11u << 20) + 7, got = 0;
    if (!bucket || !getenv("AWS_ENDPOINT_URL_S3"))
        skip();
    setenv("CIRRUS_S3_MULTIPART_THRESHOLD", "1048576", 1);
    setenv("CIRRUS_S3_PART_SIZE", "5242880", 1);
    snprintf(url, sizeof(url), "s3://%s/live", bucket);
    assert_int_equal(objstore_open(&os, url, 1), 0);
    uint8_t *data = malloc(len);
    assert_non_null(data);
    for (size_t i = 0; i < len; i++)
        data[i] = (uint8_t)(i * 131 + i / 4099);
    rand_bytes(rnd, sizeof(rnd));
    hex_encode(hex, rnd, sizeof(rnd));
    snprintf(name, sizeof(name), "multipart-%s", hex);
    assert_int_equal(objstore_put(os, name, data, len), 0);
    assert_int_equal(objstore_get_all(os, name, &back, &got), 0);
    assert_int_equal(got, len);
    assert_memory_equal(back, data, len);
    assert_int_equal(objstore_put(os, name, data, len), CIRRUS_EEXISTS);
    assert_int_equal(objstore_del(os, name), 0);
    free(back);
    free(data);
    objstore_close(os);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(unreachable_endpoints_fail_clearly_and_in_time, save_env,
                                        restore_env),
        cmocka_unit_test_setup_teardown(silent_servers_time_out_and_writes_are_ambiguous, save_env,
                                        restore_env),
        cmocka_unit_test_setup_teardown(throttling_is_retried_within_the_budget, save_env,
                                        restore_env),
        cmocka_unit_test_setup_teardown(bad_endpoints_are_refused, save_env, restore_env),
        cmocka_unit_test_setup_teardown(unknown_buckets_and_tables_are_named, save_env,
                                        restore_env),
        cmocka_unit_test_setup_teardown(wrong_secrets_are_auth_errors, save_env, restore_env),
        cmocka_unit_test_setup_teardown(parallel_requests_all_complete, save_env, restore_env),
        cmocka_unit_test_setup_teardown(multipart_puts_round_trip, save_env, restore_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
