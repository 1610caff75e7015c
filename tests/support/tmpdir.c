#include "support/tmpdir.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *tmpdir_make(const char *tag)
{
    const char *base = getenv("TMPDIR");
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/cirrus-%s-XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(tmpl))
        return NULL;
    return strdup(tmpl);
}

static void remove_tree(const char *path)
{
    struct stat st;
    /* a link is removed, never followed: it may point outside the tree */
    DIR *d = lstat(path, &st) == 0 && S_ISDIR(st.st_mode) ? opendir(path) : NULL;
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            char child[4096];
            snprintf(child, sizeof(child), "%s/%s", path, de->d_name);
            remove_tree(child);
        }
        closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

void tmpdir_remove(char *path)
{
    if (!path)
        return;
    remove_tree(path);
    free(path);
}

int tmpdir_each_file(const char *dir, const char *prefix, int (*fn)(const char *path, void *arg),
                     void *arg)
{
    char sub[4096];
    const char *slash = strrchr(prefix, '/');
    size_t dlen = slash ? (size_t)(slash - prefix) : 0;
    snprintf(sub, sizeof(sub), "%s/%.*s", dir, (int)dlen, prefix);
    const char *name_prefix = slash ? slash + 1 : prefix;
    DIR *d = opendir(sub);
    int rc = 0;
    if (!d)
        return 0;
    struct dirent *de;
    while (!rc && (de = readdir(d))) {
        if (strncmp(de->d_name, name_prefix, strlen(name_prefix)) != 0 || de->d_name[0] == '.')
            continue;
        char path[8192];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", sub, de->d_name);
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            rc = fn(path, arg);
    }
    closedir(d);
    return rc;
}
