/*
 * objstore.c - opening an object store by URL, and the name rule every
 * backend shares (contract in objstore.h).
 */
#include "objstore/objstore.h"

#include <string.h>

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
    /* CIRRUS_FAULT / CIRRUS_FAULT_OBJSTORE wrap what was opened (fault.h) */
    if (rc == 0 && strncmp(url, "fault:", 6) != 0)
        rc = fault_objstore_wrap_env(out);
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
