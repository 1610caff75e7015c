/*
 * status.h - error reporting shared by every layer.
 *
 * Every failing function returns a negative CIRRUS_E* code (cirrus.h) and,
 * on the way out, records one line naming the cause with err_set(). The line
 * is thread-local and read back by cirrus_errmsg(). Callers that add context
 * (e.g. the object name around a decoder's complaint) use err_prefix().
 */
#ifndef CIRRUS_UTIL_STATUS_H
#define CIRRUS_UTIL_STATUS_H

#include "cirrus.h"

#if defined(__GNUC__)
#define CIRRUS_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define CIRRUS_PRINTF(a, b)
#endif

/* Records a message for this thread and returns rc (so: return err_set(...)). */
int err_set(int rc, const char *fmt, ...) CIRRUS_PRINTF(2, 3);

/* Prepends "<prefix>: " to this thread's message and returns rc. */
int err_prefix(int rc, const char *fmt, ...) CIRRUS_PRINTF(2, 3);

/* Clears this thread's message. */
void err_clear(void);

/* Convenience: the out-of-memory error. */
int err_nomem(void);

#endif
