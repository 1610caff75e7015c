/* cirrus-test-libs: db testsupport */
/*
 * test_location.c - one spelling per store location (issue 9): every way of
 * writing one S3 prefix or one directory reaches one database, so that two
 * spellings can never be two histories over the same objects (GC of one
 * would delete the other's live files); spellings that would alias another
 * prefix on some backend are refused. A fault: URL (test machinery) wrapping
 * a location is that location's database, on S3 as on a directory.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cirrus.h"
#include "objstore/objstore.h"
#include "support/fixture.h"

static void expect(const char *url, const char *want)
{
    char *got = NULL;
    int rc = objstore_canonical_url(url, &got);
    if (rc != 0)
        fail_msg("%s: %s (%s)", url, cirrus_strerror(rc), cirrus_errmsg());
    if (strcmp(got, want) != 0)
        fail_msg("%s: got %s, want %s", url, got, want);
    free(got);
}

static void refused(const char *url)
{
    char *got = NULL;
    int rc = objstore_canonical_url(url, &got);
    if (rc != CIRRUS_EINVALID)
        fail_msg("%s: want CIRRUS_EINVALID, got %d (%s)", url, rc, got ? got : "");
    assert_null(got);
    assert_non_null(strstr(cirrus_errmsg(), url));
}

static void test_s3_spellings(void **state)
{
    (void)state;
    expect("s3://bkt/x", "s3://bkt/x");
    expect("s3://bkt/x/", "s3://bkt/x");
    expect("s3://bkt/x//", "s3://bkt/x");
    expect("s3://bkt/a/b/", "s3://bkt/a/b");
    expect("s3://bkt", "s3://bkt");
    expect("s3://bkt/", "s3://bkt");
    refused("s3://bkt//x");
    refused("s3://bkt/x//y");
    refused("s3://bkt/./x");
    refused("s3://bkt/x/../y");
    refused("s3:///x");
    refused("gs://bkt/x");
}

static void test_directory_spellings(void **state)
{
    struct fixture *f = *state;
    char real[PATH_MAX], d[PATH_MAX + 8], url[PATH_MAX + 64], link[PATH_MAX + 8], cwd[PATH_MAX];
    assert_non_null(realpath(f->dir, real)); /* $TMPDIR may itself be a link */
    snprintf(d, sizeof(d), "%s/d", real);
    assert_int_equal(mkdir(d, 0755), 0);
    expect(d, d);
#define SPELL(fmt)                                                                                 \
    do {                                                                                           \
        snprintf(url, sizeof(url), fmt, f->dir);                                                   \
        expect(url, d);                                                                            \
    } while (0)
    SPELL("%s/d/");
    SPELL("%s//d");
    SPELL("%s/./d");
    SPELL("%s/d/../d");
    SPELL("file://%s/d");
    snprintf(link, sizeof(link), "%s/link", real);
    assert_int_equal(symlink(d, link), 0);
    SPELL("%s/link");
    /* a directory that does not exist yet: as far as it exists, resolved */
    snprintf(url, sizeof(url), "%s/new/sub/", f->dir);
    snprintf(link, sizeof(link), "%s/new/sub", real);
    expect(url, link);
    /* relative */
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(real), 0);
    expect("d", d);
    expect("./d/", d);
    expect("link/", d);
    assert_int_equal(chdir(cwd), 0);
#undef SPELL
    refused("");
}

/* The engine: three spellings of one directory are one history. */
static void test_one_db_per_directory(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    char url[PATH_MAX + 16];
    uint64_t seq;
    void *v;
    size_t len;
    cirrus_db *db = fixture_open(f->dir, &o);
    fixture_put_str(db, "k", "one");
    assert_int_equal(fixture_commit(db), 1);
    assert_int_equal(cirrus_close(db), 0);
    snprintf(url, sizeof(url), "%s//./", f->dir);
    db = fixture_open(url, &o);
    fixture_put_str(db, "k", "two");
    assert_int_equal(fixture_commit(db), 2);
    assert_int_equal(cirrus_close(db), 0);
    snprintf(url, sizeof(url), "file://%s/", f->dir);
    db = fixture_open(url, &o);
    assert_int_equal(cirrus_refresh(db, &seq), 0);
    assert_int_equal(seq, 2);
    assert_int_equal(cirrus_get(db, NULL, "k", 1, &v, &len), 0);
    assert_string_equal(v, "two");
    cirrus_free(v);
    assert_int_equal(cirrus_close(db), 0);
}

/* The directory, wrapped: fault:DIR?SPEC is DIR's database, its metadata
 * store the default one in DIR when none is named. */
static void test_fault_wrapped_directory_is_the_same_db(void **state)
{
    struct fixture *f = *state;
    cirrus_options o = fixture_manual_options();
    char url[PATH_MAX + 64];
    cirrus_stats st;
    cirrus_db *db = fixture_open(f->dir, &o);
    fixture_put_str(db, "k", "one");
    assert_int_equal(fixture_commit(db), 1);
    assert_int_equal(cirrus_close(db), 0);
    o.create_if_missing = 0;
    snprintf(url, sizeof(url), "fault:%s/./?seed=1", f->dir);
    db = fixture_open(url, &o);
    assert_int_equal(cirrus_stats_get(db, &st), 0);
    assert_int_equal(st.head_seq, 1);
    assert_true(st.ms_gets + st.ms_queries > 0); /* the stores count their own requests */
    assert_int_equal(cirrus_close(db), 0);
}

/* A stand-in for S3 on a loopback port that answers every request "200 OK"
 * with no body: enough for an s3 store to open (its one-key listing) and to
 * upload, so that the engine can commit on it. An object read back would
 * be empty, so the test below reads none. */
struct s3_stub {
    int fd;
    pthread_t thread;
};

/* The one object the engine reads back at open, the database identity:
 * kept from its PUT and served to its GETs (404 before). */
static char stub_identity[1024], stub_identity_path[512];
static size_t stub_identity_len;
static int stub_has_identity;

/* Reads one request (headers, then Content-Length bytes of body) and
 * answers it. */
static void stub_answer(int c)
{
    char buf[8192], *end = NULL;
    size_t got = 0;
    while (!end && got < sizeof(buf) - 1) {
        ssize_t n = read(c, buf + got, sizeof(buf) - 1 - got);
        if (n <= 0)
            return;
        got += (size_t)n;
        buf[got] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    if (!end)
        return;
    size_t body = 0, have = got - (size_t)(end + 4 - buf);
    char *path_end = strchr(buf, ' ') ? strchr(strchr(buf, ' ') + 1, ' ') : NULL;
    int identity = path_end && path_end - buf > 9 && strncmp(path_end - 9, "/identity", 9) == 0;
    int is_put = strncmp(buf, "PUT ", 4) == 0, is_get = strncmp(buf, "GET ", 4) == 0;
    char *body_start = end + 4;
    for (char *h = strstr(buf, "\r\n"); h && h < end; h = strstr(h + 2, "\r\n")) {
        if (strncasecmp(h + 2, "Content-Length:", 15) == 0)
            body = strtoul(h + 17, NULL, 10);
        if (strncasecmp(h + 2, "Expect: 100-continue", 20) == 0 &&
            write(c, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
            return;
    }
    if (identity && is_put && body <= sizeof(stub_identity) && have <= body) {
        memcpy(stub_identity, body_start, have);
        while (have < body) {
            ssize_t n = read(c, stub_identity + have, body - have);
            if (n <= 0)
                return;
            have += (size_t)n;
        }
        stub_identity_len = body;
        stub_has_identity = 1;
        snprintf(stub_identity_path, sizeof(stub_identity_path), "%.*s", (int)(path_end - buf - 4),
                 buf + 4);
    }
    while (have < body) {
        ssize_t n = read(c, buf, sizeof(buf));
        if (n <= 0)
            return;
        have += (size_t)n;
    }
    if (identity && is_get) {
        char head[128];
        int same = stub_has_identity &&
                   strlen(stub_identity_path) == (size_t)(path_end - buf - 4) &&
                   strncmp(stub_identity_path, buf + 4, (size_t)(path_end - buf - 4)) == 0;
        int n = same ? snprintf(head, sizeof(head),
                                "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\n"
                                "Connection: close\r\n\r\n",
                                stub_identity_len)
                     : snprintf(head, sizeof(head),
                                "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n"
                                "Connection: close\r\n\r\n");
        if (write(c, head, (size_t)n) < 0 ||
            (same && write(c, stub_identity, stub_identity_len) < 0))
            return;
        return;
    }
    const char *ok = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    if (write(c, ok, strlen(ok)) < 0)
        return;
}

static void *stub_serve(void *arg)
{
    struct s3_stub *s = arg;
    int c;
    while ((c = accept(s->fd, NULL, NULL)) >= 0) {
        stub_answer(c);
        close(c);
    }
    return NULL; /* s3_stub_stop shut the socket down */
}

/* Starts the stub and points the s3 backend at it. */
static void s3_stub_start(struct s3_stub *s)
{
    struct sockaddr_in a;
    socklen_t len = sizeof(a);
    char endpoint[64];
    s->fd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->fd >= 0);
    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(s->fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->fd, 16), 0);
    assert_int_equal(getsockname(s->fd, (struct sockaddr *)&a, &len), 0);
    assert_int_equal(pthread_create(&s->thread, NULL, stub_serve, s), 0);
    snprintf(endpoint, sizeof(endpoint), "http://127.0.0.1:%d", ntohs(a.sin_port));
    setenv("AWS_ENDPOINT_URL_S3", endpoint, 1);
    setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "secret", 1);
    setenv("AWS_REGION", "us-east-1", 1);
    setenv("CIRRUS_AWS_MAX_RETRY_MS", "500", 1);
}

static void s3_stub_stop(struct s3_stub *s)
{
    shutdown(s->fd, SHUT_RDWR); /* wakes the accept */
    pthread_join(s->thread, NULL);
    close(s->fd);
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("CIRRUS_AWS_MAX_RETRY_MS");
}

/* On S3 the db's name comes from the prefix, so fault: must not change it:
 * every fault: spelling of s3://bkt/x finds what s3://bkt/x committed, and
 * an s3 location under fault: still needs a metadata store. */
static void test_fault_wrapped_s3_is_the_same_db(void **state)
{
    struct fixture *f = *state;
    static const char *const same[] = {"fault:s3://bkt/x?seed=1", "fault:s3://bkt/x//",
                                       "fault:fault:s3://bkt/x/?seed=2"};
    char meta[PATH_MAX + 32];
    struct s3_stub stub;
    cirrus_stats st;
    cirrus_db *db = NULL;
    s3_stub_start(&stub);
    snprintf(meta, sizeof(meta), "sqlite:%s/meta.sqlite3", f->dir);
    cirrus_options o = fixture_manual_options();
    o.meta_url = meta;
    db = fixture_open("s3://bkt/x", &o);
    fixture_put_str(db, "k", "v");
    assert_int_equal(fixture_commit(db), 1);
    assert_int_equal(cirrus_stats_get(db, &st), 0);
    assert_true(st.os_puts >= 1 && st.os_bytes_written > 0); /* the SST, counted by s3 */
    assert_true(st.ms_writes >= 2);                          /* the log entry and the head */
    assert_int_equal(cirrus_close(db), 0);

    o.create_if_missing = 0;
    for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
        db = fixture_open(same[i], &o);
        assert_int_equal(cirrus_stats_get(db, &st), 0);
        if (st.head_seq != 1)
            fail_msg("%s: head %llu, want 1", same[i], (unsigned long long)st.head_seq);
        assert_int_equal(cirrus_close(db), 0);
    }
    db = NULL;
    assert_int_equal(cirrus_open(&db, "fault:s3://bkt/y?seed=1", &o), CIRRUS_ENOTFOUND);
    assert_int_equal(cirrus_open(&db, "fault:s3://bkt//x", &o), CIRRUS_EINVALID);
    o.meta_url = NULL;
    assert_int_equal(cirrus_open(&db, "fault:s3://bkt/x?seed=1", &o), CIRRUS_EINVALID);
    assert_non_null(strstr(cirrus_errmsg(), "metadata store"));
    assert_null(db);
    s3_stub_stop(&stub);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s3_spellings),
        cmocka_unit_test_setup_teardown(test_directory_spellings, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_one_db_per_directory, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_fault_wrapped_directory_is_the_same_db, fixture_setup,
                                        fixture_teardown),
        cmocka_unit_test_setup_teardown(test_fault_wrapped_s3_is_the_same_db, fixture_setup,
                                        fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
