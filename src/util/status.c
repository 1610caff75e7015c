#include "util/status.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define ERRMSG_MAX 1024

static _Thread_local char errmsg[ERRMSG_MAX];

int err_set(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof(errmsg), fmt, ap);
    va_end(ap);
    return rc;
}

int err_prefix(int rc, const char *fmt, ...)
{
    char prefix[ERRMSG_MAX];
    char old[ERRMSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof(prefix), fmt, ap);
    va_end(ap);
    memcpy(old, errmsg, sizeof(old));
    const char *cause = old[0] ? old : cirrus_strerror(rc);
    /* a message longer than the buffer is cut; the cause comes last */
    size_t n = strlen(prefix);
    if (n > sizeof(errmsg) - 3)
        n = sizeof(errmsg) - 3;
    memcpy(errmsg, prefix, n);
    memcpy(errmsg + n, ": ", 2);
    size_t room = sizeof(errmsg) - n - 3, clen = strlen(cause);
    if (clen > room)
        clen = room;
    memcpy(errmsg + n + 2, cause, clen);
    errmsg[n + 2 + clen] = '\0';
    return rc;
}

void err_clear(void)
{
    errmsg[0] = '\0';
}

int err_nomem(void)
{
    return err_set(CIRRUS_ENOMEM, "out of memory");
}

const char *cirrus_errmsg(void)
{
    return errmsg;
}

const char *cirrus_strerror(int rc)
{
    switch (rc) {
    case CIRRUS_OK:
        return "ok";
    case CIRRUS_ENOTFOUND:
        return "not found";
    case CIRRUS_ECONFLICT:
        return "conflict";
    case CIRRUS_ECORRUPT:
        return "corrupt data";
    case CIRRUS_EIO:
        return "I/O error";
    case CIRRUS_ETIMEOUT:
        return "timed out";
    case CIRRUS_ENOMEM:
        return "out of memory";
    case CIRRUS_EINVALID:
        return "invalid argument";
    case CIRRUS_EEXISTS:
        return "already exists";
    case CIRRUS_EAMBIGUOUS:
        return "commit outcome unknown";
    case CIRRUS_EVERSION:
        return "unsupported format version";
    case CIRRUS_EBUSY:
        return "busy";
    case CIRRUS_EAUTH:
        return "access denied";
    case CIRRUS_ECLOSED:
        return "handle closed";
    case CIRRUS_EEXPIRED:
        return "older than its retention";
    case CIRRUS_EMISMATCH:
        return "stores of different databases";
    default:
        return "unknown error";
    }
}

void cirrus_free(void *p)
{
    free(p);
}
