/* cirrus-test-libs: db */
/*
 * fuzz_timeparse.c - TIME and duration arguments of the CLI: RFC 3339 and
 * Unix milliseconds (src/cli/timeparse.c), whole numbers and SECONDS
 * (cli_parse_u64, cli_parse_seconds in src/cli/cli.c; both compiled in).
 *
 * Properties, for the input as a string (up to its first NUL):
 *   - timeparse_parse accepts or refuses (-1) and never writes *ms on
 *     refusal; a string of digits only is Unix ms and equals its decimal
 *     value when that fits int64; an accepted RFC 3339 time formats and
 *     parses back to the same ms;
 *   - for the first 8 input bytes as ms: timeparse_format writes a
 *     NUL-terminated string inside TIMEPARSE_FORMAT_MAX, which parses back
 *     to ms for every year 0000..9999;
 *   - cli_parse_u64 agrees with a reference (non-empty, digits only, at
 *     most UINT64_MAX) and cli_parse_seconds is it times 1000 when that
 *     fits int64, else a usage error.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/cli/cli.c"
#include "../../src/cli/escape.c"
#include "../../src/cli/timeparse.c"

#include "fuzz_cli_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 0000-01-01T00:00:00.000Z and 9999-12-31T23:59:59.999Z */
#define MIN_4DIGIT_MS (-62167219200000LL)
#define MAX_4DIGIT_MS 253402300799999LL

/* Reference: decimal digits only, non-empty, value <= max. */
static int ref_u64(const char *s, uint64_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return -1;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > UINT64_MAX / 10 || v * 10 > UINT64_MAX - d)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}

static int all_digits(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (*s < '0' || *s > '9')
            return 0;
    return 1;
}

static void check_format(int64_t ms)
{
    char buf[TIMEPARSE_FORMAT_MAX + 8];
    int64_t back = 0;
    memset(buf, 'x', sizeof(buf));
    timeparse_format(buf, ms);
    FUZZ_CHECK(memchr(buf, '\0', TIMEPARSE_FORMAT_MAX) != NULL);
    for (size_t i = TIMEPARSE_FORMAT_MAX; i < sizeof(buf); i++)
        FUZZ_CHECK(buf[i] == 'x');
    int rc = timeparse_parse(&back, buf);
    if (ms >= MIN_4DIGIT_MS && ms <= MAX_4DIGIT_MS)
        FUZZ_CHECK(rc == 0 && back == ms);
    else
        FUZZ_CHECK(rc == -1 || back == ms);
}

static void check_parse(const char *s)
{
    const int64_t poison = INT64_MIN + 12345;
    int64_t ms = poison;
    uint64_t ref;
    int rc = timeparse_parse(&ms, s);
    FUZZ_CHECK(rc == 0 || rc == -1);
    if (rc < 0) {
        FUZZ_CHECK(ms == poison);
        return;
    }
    if (all_digits(s)) {
        FUZZ_CHECK(ref_u64(s, &ref) == 0 && ref <= INT64_MAX && (int64_t)ref == ms);
        return;
    }
    FUZZ_CHECK(strchr(s, '-') != NULL);
    /* RFC 3339: the time it names formats and parses back to itself */
    FUZZ_CHECK(ms >= MIN_4DIGIT_MS - 86400000LL && ms <= MAX_4DIGIT_MS + 86400000LL);
    char buf[TIMEPARSE_FORMAT_MAX];
    int64_t back = poison;
    timeparse_format(buf, ms);
    if (ms >= MIN_4DIGIT_MS && ms <= MAX_4DIGIT_MS)
        FUZZ_CHECK(timeparse_parse(&back, buf) == 0 && back == ms);
}

static void check_numbers(const char *s)
{
    struct cli c = {NULL, NULL, "fuzz", "ARGS", 0, CIRRUS_LOG_WARN};
    uint64_t v = 12345, ref = 0;
    int64_t ms = 777;
    int rc = cli_parse_u64(&c, "N", s, &v), ref_rc = ref_u64(s, &ref);
    FUZZ_CHECK(rc == CLI_OK || rc == CLI_USAGE);
    FUZZ_CHECK((rc == CLI_OK) == (ref_rc == 0));
    FUZZ_CHECK(rc == CLI_OK ? v == ref : v == 12345);
    rc = cli_parse_seconds(&c, "SECONDS", s, &ms);
    FUZZ_CHECK(rc == CLI_OK || rc == CLI_USAGE);
    if (ref_rc == 0 && ref <= (uint64_t)INT64_MAX / 1000)
        FUZZ_CHECK(rc == CLI_OK && ms == (int64_t)ref * 1000);
    else
        FUZZ_CHECK(rc == CLI_USAGE && ms == 777);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_quiet_stderr();
    char *s = fuzz_strndup(data, size);
    check_parse(s);
    check_numbers(s);
    if (size >= 8) {
        int64_t ms = 0;
        memcpy(&ms, data, 8);
        check_format(ms);
        /* and a time of the 4-digit years, where everything round-trips */
        check_format(MIN_4DIGIT_MS +
                     (int64_t)((uint64_t)ms % (uint64_t)(MAX_4DIGIT_MS - MIN_4DIGIT_MS + 1)));
    }
    free(s);
    return 0;
}
