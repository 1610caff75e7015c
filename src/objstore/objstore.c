/*
 * objstore.c - opening an object store by URL, and the name rule every
 * backend shares (contract in objstore.h).
 */
#include "objstore/objstore.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "objstore/fault.h"
#include "util/status.h"

#define OBJECT_NAME_MAX 512

/* Backend constructors. Each takes the part of the URL after its scheme and
 * the URL as given (kept in os->url for messages). Declared here rather than
 * in a header of their own because only this file may call them. */
int fs_objstore_open(struct objstore **out, const char *root, const char *url, int create);
int s3_objstore_open(struct objstore **out, const char *rest, const char *url, int create);

int objstore_open(struct objstore **out, const char *url, int create)
{
    int rc = 0;
    if (!url || !url[0]) {
        rc = err_set(CIRRUS_EINVALID, "objstore: empty URL");
    } else if (strncmp(url, "fault:", 6) == 0) {
        rc = fault_objstore_open_url(out, url, create);
    } else if (strncmp(url, "file://", 7) == 0) {
        rc = fs_objstore_open(out, url + 7, url, create);
    } else if (strncmp(url, "s3://", 5) == 0) {
        rc = s3_objstore_open(out, url + 5, url, create);
    } else if (strstr(url, "://")) {
        /* Anything else with a scheme is a typo or a backend we lack; taking
         * it as a directory name would silently create "foo:" on disk. */
        rc = err_set(CIRRUS_EINVALID, "objstore %s: unknown URL scheme", url);
    } else {
        rc = fs_objstore_open(out, url, url, create);
    }
    return rc;
}

int objstore_copy_by_reading(struct objstore *dst, const char *dst_name, struct objstore *src,
                             const char *src_name, uint64_t size)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc;
    if ((rc = objstore_get_all(src, src_name, &data, &len)) < 0) {
        err_prefix(rc, "copy %s from %s to %s", src_name, src->url, dst->url);
        goto done;
    }
    if (size != OBJSTORE_SIZE_UNKNOWN && len != size) {
        rc = err_set(CIRRUS_ECORRUPT, "copy %s from %s: %zu bytes, the caller said %llu", src_name,
                     src->url, len, (unsigned long long)size);
        goto done;
    }
    rc = objstore_put(dst, dst_name, data, len);
done:
    free(data);
    return rc;
}

int objstore_copy(struct objstore *dst, const char *dst_name, struct objstore *src,
                  const char *src_name, uint64_t size)
{
    int rc;
    /* a bad name must not cost a read of the whole source first */
    if ((rc = objstore_check_name(dst_name)) < 0 || (rc = objstore_check_name(src_name)) < 0)
        return err_prefix(rc, "copy %s to %s", src->url, dst->url);
    rc = dst->ops->copy_from ? dst->ops->copy_from(dst, dst_name, src, src_name, size)
                             : OBJSTORE_COPY_DECLINED;
    if (rc == OBJSTORE_COPY_DECLINED)
        return objstore_copy_by_reading(dst, dst_name, src, src_name, size);
    /* counted once the backend took it on: a declined copy made no request */
    objstore_count(&dst->n.copies, 1);
    return rc;
}

void objstore_close(struct objstore *os)
{
    if (os)
        os->ops->close(os);
}

static int name_char_ok(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '/' || c == '-';
}

/*
 * Rule 6 of objstore.h, plus three consequences of it that keep a name one
 * object on every backend: no empty path component ("a//b", "a/"), no "."
 * component ("./a", "a/./b"). On a filesystem each of those would alias
 * another name or a directory; on S3 they would be distinct keys, so the
 * same engine would behave differently by backend.
 */
int objstore_check_name(const char *name)
{
    int rc = 0;
    const char *why = NULL;
    size_t len = name ? strlen(name) : 0;
    if (!name || len == 0) {
        why = "empty";
    } else if (len > OBJECT_NAME_MAX) {
        why = "longer than 512 bytes";
    } else if (name[0] == '/') {
        why = "starts with '/'";
    } else if (strstr(name, "..")) {
        why = "contains \"..\"";
    } else if (name[len - 1] == '/' || strstr(name, "//")) {
        why = "has an empty path component";
    } else if (strcmp(name, ".") == 0 || strncmp(name, "./", 2) == 0 || strstr(name, "/./") ||
               (len >= 2 && strcmp(name + len - 2, "/.") == 0)) {
        why = "has a \".\" path component";
    } else {
        for (size_t i = 0; i < len && !why; i++) {
            if (!name_char_ok(name[i]))
                why = "has a character outside [A-Za-z0-9._/-]";
        }
    }
    if (why) {
        /* the name is cut in the message: it may be huge or hold control bytes */
        rc = err_set(CIRRUS_EINVALID, "invalid object name \"%.64s%s\": %s", name ? name : "",
                     len > 64 ? "..." : "", why);
    }
    return rc;
}

/* "s3://" + bucket + "/" + prefix without trailing '/'s (rest: after "s3://"). */
static int canonical_s3(const char *url, const char *rest, char **out)
{
    const char *slash = strchr(rest, '/');
    size_t blen = slash ? (size_t)(slash - rest) : strlen(rest);
    size_t plen = slash ? strlen(slash + 1) : 0;
    int rc = 0;
    char *c;
    if (blen == 0)
        return err_set(CIRRUS_EINVALID, "%s: no bucket name", url);
    while (plen > 0 && slash[plen] == '/')
        plen--;
    if (!(c = malloc(5 + blen + 1 + plen + 1)))
        return err_nomem();
    memcpy(c, "s3://", 5);
    memcpy(c + 5, rest, blen);
    c[5 + blen] = '\0';
    if (plen > 0) {
        /* the prefix must be a valid object name itself: "x//y" or "/x"
         * would be a second spelling of another prefix on some backend */
        memcpy(c + 5 + blen, slash, plen + 1);
        c[5 + blen + 1 + plen] = '\0';
        if ((rc = objstore_check_name(c + 5 + blen + 1)) < 0) {
            free(c);
            return err_prefix(rc, "%s: bad prefix", url);
        }
    }
    *out = c;
    return 0;
}

/* Appends component [s, s+n) to the absolute path p (capacity cap),
 * applying "." and "..". */
static void path_push(char *p, size_t cap, const char *s, size_t n)
{
    size_t len = strlen(p);
    if (n == 0 || (n == 1 && s[0] == '.'))
        return;
    if (n == 2 && s[0] == '.' && s[1] == '.') {
        while (len > 1 && p[len - 1] != '/')
            len--;
        p[len > 1 ? len - 1 : 1] = '\0';
        return;
    }
    if (len + 1 + n + 1 > cap)
        return; /* cannot happen: cap covers the whole input */
    if (len > 1)
        p[len++] = '/';
    memcpy(p + len, s, n);
    p[len + n] = '\0';
}

/* The absolute, lexically normal form of dir, then with symbolic links
 * resolved for the part of it that exists. */
static int canonical_dir(const char *url, const char *dir, char **out)
{
    char cwd[PATH_MAX];
    size_t cap;
    char *p;
    if (!*dir)
        return err_set(CIRRUS_EINVALID, "%s: empty directory", url);
    if (dir[0] != '/' && !getcwd(cwd, sizeof(cwd)))
        return err_set(CIRRUS_EIO, "%s: getcwd: %s", url, strerror(errno));
    cap = (dir[0] == '/' ? 0 : strlen(cwd)) + strlen(dir) + 3;
    if (!(p = malloc(cap)))
        return err_nomem();
    strcpy(p, "/");
    for (int pass = dir[0] == '/'; pass < 2; pass++) {
        const char *s = pass == 0 ? cwd : dir;
        while (*s) {
            const char *e = strchr(s, '/');
            size_t n = e ? (size_t)(e - s) : strlen(s);
            path_push(p, cap, s, n);
            s += n + (e != NULL);
        }
    }
    /* resolve links in the longest prefix of p that exists */
    size_t len = strlen(p);
    for (size_t cut = len; cut > 0; cut--) {
        if (cut < len && p[cut] != '/')
            continue;
        char saved = p[cut];
        p[cut] = '\0';
        char *real = realpath(cut ? p : "/", NULL);
        p[cut] = saved;
        if (!real)
            continue;
        size_t rlen = strlen(real), tail = len - cut;
        char *q = malloc(rlen + tail + 1);
        if (!q) {
            free(real);
            free(p);
            return err_nomem();
        }
        memcpy(q, real, rlen);
        /* "/" + "/x" must not become "//x" */
        size_t at = (rlen == 1 && tail > 0) ? 0 : rlen;
        memcpy(q + at, p + cut, tail + 1);
        free(real);
        free(p);
        p = q;
        break;
    }
    *out = p;
    return 0;
}

int objstore_canonical_url(const char *url, char **out)
{
    *out = NULL;
    if (!url || !url[0])
        return err_set(CIRRUS_EINVALID, "objstore: empty URL");
    if (strncmp(url, "s3://", 5) == 0)
        return canonical_s3(url, url + 5, out);
    if (strncmp(url, "file://", 7) == 0)
        return canonical_dir(url, url + 7, out);
    if (strstr(url, "://") || strncmp(url, "fault:", 6) == 0)
        return err_set(CIRRUS_EINVALID, "%s: not a directory, file:// or s3:// location", url);
    return canonical_dir(url, url, out);
}
