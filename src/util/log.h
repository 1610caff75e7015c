/*
 * log.h - where the library's messages go (cirrus_options.log_fn).
 *
 * A logger is a destination and a threshold, copied by value into whatever
 * needs one (the handle, a store, the credential refresher); it owns
 * nothing. log_msg formats only what passes the threshold, so a debug
 * message costs one comparison when debug is off. Messages are one line:
 * the text is cut at the first newline.
 *
 * Every message passed is counted twice: in the logger's owner's counts
 * (the handle's, for cirrus_stats) and process-wide (log_count), so that a
 * failure that is logged is also counted.
 */
#ifndef CIRRUS_UTIL_LOG_H
#define CIRRUS_UTIL_LOG_H

#include <stdatomic.h>
#include <stdint.h>

#include "cirrus.h"
#include "util/status.h"

/* Messages one owner's loggers delivered, by level (relaxed atomics: any
 * thread bumps them, cirrus_stats reads totals). */
struct log_counts {
    _Atomic uint64_t n[CIRRUS_LOG_DEBUG + 1];
};

struct logger {
    cirrus_log_fn fn; /* NULL: stderr */
    void *arg;
    int level;                 /* messages above it are dropped */
    struct log_counts *counts; /* NULL or the owner's (the handle's), which
                                * outlives every copy of the logger */
};

/* The logger of options o (a version 1 struct: stderr at warn). */
struct logger logger_from_options(const cirrus_options *o);

/* The default: stderr at warn (for code that has no handle). */
struct logger logger_default(void);

/* Whether a message at level would be delivered. */
static inline int log_enabled(const struct logger *lg, int level)
{
    return lg && level <= lg->level;
}

/* Delivers one message to lg (NULL: the default logger). */
void log_msg(const struct logger *lg, int level, const char *subsystem, const char *fmt, ...)
    CIRRUS_PRINTF(4, 5);

/* Messages delivered at level (any logger) since the process started. */
uint64_t log_count(int level);

#endif
