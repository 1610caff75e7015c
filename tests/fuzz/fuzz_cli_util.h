/*
 * fuzz_cli_util.h - for the fuzz targets of the CLI's parsers: the CLI is
 * not a library, so its sources are compiled into the target (one source
 * per target), and its usage messages go to a null stream. stderr itself
 * (file descriptor 2) stays open, so sanitizer and libFuzzer reports are
 * still seen.
 */
#ifndef CIRRUS_TESTS_FUZZ_CLI_UTIL_H
#define CIRRUS_TESTS_FUZZ_CLI_UTIL_H

#include <stdio.h>

#include "fuzz_util.h"

/* Points the stdio stream stderr at /dev/null (once). */
static inline void fuzz_quiet_stderr(void)
{
    static FILE *null;
    if (!null) {
        null = fopen("/dev/null", "w");
        FUZZ_CHECK(null != NULL);
        stderr = null;
    }
}

#endif
