/*
 * timeparse.h - wall-clock times on the command line and in `log` output.
 *
 * A TIME argument is either
 *   - Unix milliseconds: one or more decimal digits, nothing else, at most
 *     INT64_MAX; or
 *   - RFC 3339: YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm), with 't' or
 *     a space accepted for 'T' and 'z' for 'Z' (RFC 3339 section 5.6). The
 *     fraction may have any number of digits; it is truncated to ms. Second
 *     60 (a leap second) is accepted and counts as the next minute's 0.
 *
 * Pure functions; depend on libc only.
 */
#ifndef CIRRUS_CLI_TIMEPARSE_H
#define CIRRUS_CLI_TIMEPARSE_H

#include <stdint.h>

/* Parses the NUL-terminated TIME `s`. Returns 0 and sets *ms_out (Unix
 * milliseconds, UTC), or -1 if `s` is not a valid TIME. */
int timeparse_parse(int64_t *ms_out, const char *s);

/* Bytes timeparse_format() may write, NUL included. */
#define TIMEPARSE_FORMAT_MAX 48

/* Writes `ms` (Unix milliseconds) as RFC 3339 UTC with milliseconds, e.g.
 * "2026-11-24T08:20:13.042Z", NUL-terminated, into buf (TIMEPARSE_FORMAT_MAX
 * bytes). */
void timeparse_format(char *buf, int64_t ms);

#endif
