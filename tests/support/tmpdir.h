/*
 * tmpdir.h - temporary directories for tests, removed when done.
 */
#ifndef CIRRUS_TESTS_TMPDIR_H
#define CIRRUS_TESTS_TMPDIR_H

#include <stddef.h>

/* Creates a fresh directory under $TMPDIR (or /tmp); returns a malloc'd path. */
char *tmpdir_make(const char *tag);
/* Removes the directory and everything in it, then frees the path. */
void tmpdir_remove(char *path);
/* Calls fn for every regular file under dir whose relative path starts with
 * prefix (e.g. "sst/"); stops when fn returns nonzero. */
int tmpdir_each_file(const char *dir, const char *prefix, int (*fn)(const char *path, void *arg),
                     void *arg);

#endif
