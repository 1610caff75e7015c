/*
 * conformance.h - helpers shared by the conformance suites: unique names so
 * that runs against a shared server never collide, a temp directory for the
 * embedded defaults, and racing child processes.
 *
 * Header-only (static functions) because CMake builds each test from one
 * source file.
 */
#ifndef CIRRUS_TESTS_CONFORMANCE_H
#define CIRRUS_TESTS_CONFORMANCE_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/sys.h"

#define CONF_MAX_CHILDREN 16

/* "<tag>-<16 random hex>" into out (at least 64 bytes). */
static inline void conf_unique(char *out, size_t cap, const char *tag)
{
    uint8_t r[8];
    char hex[17];
    rand_bytes(r, sizeof(r));
    hex_encode(hex, r, sizeof(r));
    snprintf(out, cap, "%s-%s", tag, hex);
}

/* Makes a fresh directory under $TMPDIR (or /tmp); returns 0 or -1. */
static inline int conf_mkdtemp(char *out, size_t cap, const char *tag)
{
    const char *tmp = getenv("TMPDIR");
    snprintf(out, cap, "%s/cirrus-%s-XXXXXX", tmp && tmp[0] ? tmp : "/tmp", tag);
    return mkdtemp(out) ? 0 : -1;
}

static inline int conf_rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* rm -rf path */
static inline void conf_rm_rf(const char *path)
{
    nftw(path, conf_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/*
 * Runs child(i, arg) in n forked processes that all start at once (they
 * block on a pipe until every one is forked) and waits for them. status[i]
 * is the child's exit code, or 128 + signal if it died. Children must leave
 * with _exit() (child() returning does that): they share the parent's
 * cmocka and stdio state, which must not run twice.
 * Returns 0, or -1 if fork failed.
 */
static inline int conf_race(int n, int (*child)(int i, void *arg), void *arg, int *status)
{
    int go[2];
    pid_t pid[CONF_MAX_CHILDREN];
    int started = 0, rc = 0;
    if (n > CONF_MAX_CHILDREN || pipe(go) < 0)
        return -1;
    fflush(NULL);
    for (; started < n; started++) {
        pid[started] = fork();
        if (pid[started] < 0) {
            rc = -1;
            break;
        }
        if (pid[started] == 0) {
            char c;
            close(go[1]);
            /* EOF arrives when the parent closes its end: the start signal */
            while (read(go[0], &c, 1) > 0)
                ;
            close(go[0]);
            _exit(child(started, arg));
        }
    }
    close(go[0]);
    close(go[1]);
    for (int i = 0; i < started; i++) {
        int ws = 0;
        while (waitpid(pid[i], &ws, 0) < 0 && errno == EINTR)
            ;
        status[i] = WIFEXITED(ws) ? WEXITSTATUS(ws) : 128 + WTERMSIG(ws);
    }
    return rc;
}

#endif
