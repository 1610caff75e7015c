/* cirrus-test-libs: db testsupport */
/*
 * test_location.c - one spelling per store location (issue 9): every way of
 * writing one S3 prefix or one directory reaches one database, so that two
 * spellings can never be two histories over the same objects (GC of one
 * would delete the other's live files); spellings that would alias another
 * prefix on some backend are refused.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_s3_spellings),
        cmocka_unit_test_setup_teardown(test_directory_spellings, fixture_setup, fixture_teardown),
        cmocka_unit_test_setup_teardown(test_one_db_per_directory, fixture_setup, fixture_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
