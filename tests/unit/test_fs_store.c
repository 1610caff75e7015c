/* cirrus-test-libs: objstore testsupport */
/*
 * test_fs_store.c - what the fs object store promises beyond the shared
 * contract (the conformance suite covers that): its temp files stay
 * invisible, crash leftovers are harmless, and every error names the path.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <limits.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "conformance/conformance.h"
#include "objstore/objstore.h"
#include "util/status.h"

struct fixture {
    char dir[256];
    struct objstore *os;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char made[256], resolved[PATH_MAX];
    /* messages carry the resolved path, so compare against that */
    if (!f || conf_mkdtemp(made, sizeof(made), "fs") < 0 || !realpath(made, resolved) ||
        strlen(resolved) >= sizeof(f->dir) || !memcpy(f->dir, resolved, strlen(resolved) + 1) ||
        objstore_open(&f->os, f->dir, 0) < 0) {
        free(f);
        return -1;
    }
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    objstore_close(f->os);
    conf_rm_rf(f->dir);
    free(f);
    return 0;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs(text, fp);
    assert_int_equal(fclose(fp), 0);
}

static int count(const struct objstore_entry *e, void *arg)
{
    (void)e;
    (*(int *)arg)++;
    return 0;
}

static int list_count(struct objstore *os, const char *prefix)
{
    int n = 0;
    assert_int_equal(objstore_list(os, prefix, count, &n), 0);
    return n;
}

/* Counts .tmp-* files anywhere under dir. */
static int count_tmp_files(const char *dir)
{
    int n = 0;
    DIR *d = opendir(dir);
    struct dirent *e;
    char sub[1024];
    assert_non_null(d);
    while ((e = readdir(d))) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        if (strncmp(e->d_name, ".tmp-", 5) == 0)
            n++;
        snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
        struct stat st;
        if (lstat(sub, &st) == 0 && S_ISDIR(st.st_mode))
            n += count_tmp_files(sub);
    }
    closedir(d);
    return n;
}

/* Objects are plain files under the root, as an operator would expect. */
static void objects_are_files_under_the_root(void **state)
{
    struct fixture *f = *state;
    char path[512];
    struct stat st;
    assert_int_equal(objstore_put(f->os, "db/sst/000001.sst", "hello", 5), 0);
    snprintf(path, sizeof(path), "%s/db/sst/000001.sst", f->dir);
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 5);
    assert_int_equal(count_tmp_files(f->dir), 0);
}

/* A copy within one filesystem is a hard link: the same inode, no bytes
 * written, no temp file; the name is still never overwritten. */
static void copies_are_links_on_one_filesystem(void **state)
{
    struct fixture *f = *state;
    char a[512], b[512];
    struct stat sa, sb;
    assert_int_equal(objstore_put(f->os, "x/a", "hello", 5), 0);
    assert_int_equal(objstore_copy(f->os, "y/z/b", f->os, "x/a", 5), 0);
    snprintf(a, sizeof(a), "%s/x/a", f->dir);
    snprintf(b, sizeof(b), "%s/y/z/b", f->dir);
    assert_int_equal(stat(a, &sa), 0);
    assert_int_equal(stat(b, &sb), 0);
    assert_true(sa.st_ino == sb.st_ino && sa.st_dev == sb.st_dev);
    assert_int_equal(objstore_copy(f->os, "y/z/b", f->os, "x/a", 5), CIRRUS_EEXISTS);
    assert_non_null(strstr(cirrus_errmsg(), b));
    assert_int_equal(objstore_copy(f->os, "c", f->os, "x/missing", 5), CIRRUS_ENOTFOUND);
    assert_non_null(strstr(cirrus_errmsg(), "x/missing"));
    assert_int_equal(count_tmp_files(f->dir), 0);
}

/* Across filesystems (/dev/shm is a tmpfs where it exists) no link can be
 * made: the file is copied through a temp file, as put writes one. */
static void copies_across_filesystems_copy_the_file(void **state)
{
    struct fixture *f = *state;
    char dir[] = "/dev/shm/cirrus-fs-copy-XXXXXX", path[512];
    struct objstore *other = NULL;
    struct stat s1, s2;
    uint8_t *got = NULL;
    size_t len = 0, big = (3u << 20) + 5; /* several of the copy's chunks */
    uint8_t *data = malloc(big);
    assert_non_null(data);
    if (!mkdtemp(dir) || stat(dir, &s1) < 0 || stat(f->dir, &s2) < 0 || s1.st_dev == s2.st_dev) {
        free(data);
        if (dir[strlen(dir) - 1] != 'X')
            conf_rm_rf(dir);
        skip();
    }
    for (size_t i = 0; i < big; i++)
        data[i] = (uint8_t)(i * 31 + 7);
    assert_int_equal(objstore_open(&other, dir, 0), 0);
    assert_int_equal(objstore_put(other, "src/big", data, big), 0);
    assert_int_equal(objstore_copy(f->os, "dst/big", other, "src/big", big), 0);
    assert_int_equal(objstore_get_all(f->os, "dst/big", &got, &len), 0);
    assert_int_equal(len, big);
    assert_memory_equal(got, data, big);
    free(got);
    snprintf(path, sizeof(path), "%s/dst/big", f->dir);
    assert_int_equal(stat(path, &s1), 0);
    assert_int_equal(s1.st_nlink, 1);
    assert_int_equal(objstore_copy(f->os, "dst/big", other, "src/big", big), CIRRUS_EEXISTS);
    assert_int_equal(count_tmp_files(f->dir), 0);
    struct objstore_stats st;
    objstore_stats(other, &st);
    assert_int_equal(st.gets, 0); /* read as a file, not through the store */
    objstore_close(other);
    conf_rm_rf(dir);
    free(data);
}

/* A put leaves no temp file behind, whether it succeeds or is refused. */
static void puts_leave_no_temp_files(void **state)
{
    struct fixture *f = *state;
    assert_int_equal(objstore_put(f->os, "a/b/c", "1", 1), 0);
    assert_int_equal(objstore_put(f->os, "a/b/c", "2", 1), CIRRUS_EEXISTS);
    assert_int_equal(objstore_put(f->os, "top", "3", 1), 0);
    assert_int_equal(count_tmp_files(f->dir), 0);
}

/* A crash between writing the temp file and linking it leaves .tmp-* files:
 * they are never listed, never readable as objects, and do not disturb a
 * later put into the same directory. */
static void crash_leftover_temp_files_are_ignored(void **state)
{
    struct fixture *f = *state;
    char path[512];
    assert_int_equal(objstore_put(f->os, "db/sst/x.sst", "x", 1), 0);
    snprintf(path, sizeof(path), "%s/db/sst/.tmp-0123456789abcdef", f->dir);
    write_file(path, "half an objec");
    snprintf(path, sizeof(path), "%s/.tmp-feedfacecafebeef", f->dir);
    write_file(path, "left over");
    assert_int_equal(list_count(f->os, ""), 1);
    assert_int_equal(list_count(f->os, "db/sst/"), 1);
    assert_int_equal(list_count(f->os, "db/sst/.tmp"), 0);
    assert_int_equal(list_count(f->os, ".tmp"), 0);

    uint64_t size;
    assert_int_equal(objstore_head(f->os, "db/sst/.tmp-0123456789abcdef", &size), CIRRUS_EINVALID);
    assert_int_equal(objstore_put(f->os, ".tmp-x", "y", 1), CIRRUS_EINVALID);
    assert_int_equal(objstore_put(f->os, "a/.tmp-x/b", "y", 1), CIRRUS_EINVALID);
    assert_non_null(strstr(cirrus_errmsg(), ".tmp-"));
    assert_int_equal(objstore_put(f->os, "db/sst/y.sst", "y", 1), 0);
    assert_int_equal(list_count(f->os, "db/"), 2);
}

/* Directories, symlinks and other non-files are not objects. */
static void only_regular_files_are_objects(void **state)
{
    struct fixture *f = *state;
    char path[512], target[512];
    uint64_t size;
    uint8_t *data = NULL;
    size_t len;
    assert_int_equal(objstore_put(f->os, "d/x", "x", 1), 0);
    assert_int_equal(objstore_head(f->os, "d", &size), CIRRUS_ENOTFOUND);
    assert_int_equal(objstore_get_all(f->os, "d", &data, &len), CIRRUS_ENOTFOUND);
    assert_int_equal(objstore_del(f->os, "d"), 0); /* nothing by that name */
    snprintf(target, sizeof(target), "%s/d/x", f->dir);
    snprintf(path, sizeof(path), "%s/link", f->dir);
    assert_int_equal(symlink(target, path), 0);
    assert_int_equal(list_count(f->os, ""), 1);
}

/* Errors name the full path, the operation and the kernel's cause. */
static void errors_name_the_path_and_cause(void **state)
{
    struct fixture *f = *state;
    uint64_t size;
    char want[512];
    assert_int_equal(objstore_head(f->os, "no/such/object", &size), CIRRUS_ENOTFOUND);
    snprintf(want, sizeof(want), "%s/no/such/object", f->dir);
    assert_non_null(strstr(cirrus_errmsg(), want));
    assert_non_null(strstr(cirrus_errmsg(), "head"));
    assert_non_null(strstr(cirrus_errmsg(), "No such file"));

    /* a file where a directory must go */
    assert_int_equal(objstore_put(f->os, "file", "x", 1), 0);
    assert_int_equal(objstore_put(f->os, "file/under", "x", 1), CIRRUS_EIO);
    assert_non_null(strstr(cirrus_errmsg(), f->dir));
    assert_non_null(strstr(cirrus_errmsg(), "put"));
    assert_non_null(strstr(cirrus_errmsg(), "Not a directory"));

    assert_int_equal(objstore_put(f->os, "file", "y", 1), CIRRUS_EEXISTS);
    snprintf(want, sizeof(want), "%s/file", f->dir);
    assert_non_null(strstr(cirrus_errmsg(), want));

    if (geteuid() != 0) { /* root ignores permissions */
        char ro[512];
        snprintf(ro, sizeof(ro), "%s/ro", f->dir);
        assert_int_equal(mkdir(ro, 0555), 0);
        assert_int_equal(objstore_put(f->os, "ro/x", "x", 1), CIRRUS_EIO);
        assert_non_null(strstr(cirrus_errmsg(), ro));
        assert_non_null(strstr(cirrus_errmsg(), "Permission denied"));
        chmod(ro, 0755);
    }
}

static void open_checks_the_directory(void **state)
{
    struct fixture *f = *state;
    struct objstore *os = NULL;
    char path[512], url[600];

    snprintf(path, sizeof(path), "%s/missing", f->dir);
    assert_int_equal(objstore_open(&os, path, 0), CIRRUS_ENOTFOUND);
    assert_non_null(strstr(cirrus_errmsg(), path));

    snprintf(path, sizeof(path), "%s/plain-file", f->dir);
    write_file(path, "x");
    assert_int_equal(objstore_open(&os, path, 1), CIRRUS_EINVALID);
    assert_non_null(strstr(cirrus_errmsg(), path));

    /* created with its parents; file:// and a trailing '/' name the same root */
    snprintf(path, sizeof(path), "%s/new/deeper", f->dir);
    assert_int_equal(objstore_open(&os, path, 1), 0);
    assert_int_equal(objstore_put(os, "o", "1", 1), 0);
    objstore_close(os);
    snprintf(url, sizeof(url), "file://%s/new/deeper/", f->dir);
    assert_int_equal(objstore_open(&os, url, 0), 0);
    assert_string_equal(os->ops->kind, "fs");
    assert_string_equal(os->url, url);
    assert_int_equal(list_count(os, ""), 1);
    objstore_close(os);

    assert_int_equal(objstore_open(&os, "gs://bucket", 0), CIRRUS_EINVALID);
    assert_int_equal(objstore_open(&os, "", 0), CIRRUS_EINVALID);
    objstore_close(NULL);
}

/* A relative root is resolved at open: a later chdir does not move it. */
static void relative_roots_survive_chdir(void **state)
{
    struct fixture *f = *state;
    struct objstore *os = NULL;
    char cwd[1024];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    assert_int_equal(chdir(f->dir), 0);
    assert_int_equal(objstore_open(&os, "rel", 1), 0);
    assert_int_equal(chdir("/"), 0);
    assert_int_equal(objstore_put(os, "o", "1", 1), 0);
    objstore_close(os);
    assert_int_equal(chdir(cwd), 0);
    char path[512];
    struct stat st;
    snprintf(path, sizeof(path), "%s/rel/o", f->dir);
    assert_int_equal(stat(path, &st), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(objects_are_files_under_the_root, setup, teardown),
        cmocka_unit_test_setup_teardown(puts_leave_no_temp_files, setup, teardown),
        cmocka_unit_test_setup_teardown(copies_are_links_on_one_filesystem, setup, teardown),
        cmocka_unit_test_setup_teardown(copies_across_filesystems_copy_the_file, setup, teardown),
        cmocka_unit_test_setup_teardown(crash_leftover_temp_files_are_ignored, setup, teardown),
        cmocka_unit_test_setup_teardown(only_regular_files_are_objects, setup, teardown),
        cmocka_unit_test_setup_teardown(errors_name_the_path_and_cause, setup, teardown),
        cmocka_unit_test_setup_teardown(open_checks_the_directory, setup, teardown),
        cmocka_unit_test_setup_teardown(relative_roots_survive_chdir, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
