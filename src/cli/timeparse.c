/*
 * timeparse.c - RFC 3339 and Unix-millisecond times; see timeparse.h.
 *
 * Calendar arithmetic is done here rather than with timegm()/gmtime_r() so
 * that it is exact for every year, independent of the C library and of TZ.
 * The day-number conversions are the proleptic Gregorian algorithms of
 * Howard Hinnant's "chrono-compatible low-level date algorithms".
 */
#include "timeparse.h"

#include <stdio.h>
#include <string.h>

#define MS_PER_DAY 86400000LL

/* Days since 1970-01-01 of the civil date y-m-d (m 1..12, d 1..31). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;
    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* The civil date of day `z` since 1970-01-01. */
static void civil_from_days(int64_t z, int64_t *y_out, unsigned *m_out, unsigned *d_out)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;
    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d_out = doy - (153 * mp + 2) / 5 + 1;
    *m_out = mp < 10 ? mp + 3 : mp - 9;
    *y_out = (int64_t)yoe + era * 400 + (*m_out <= 2);
}

static int days_in_month(int64_t y, unsigned m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

/* Reads exactly n digits at *p into *out and advances *p. Returns 0 or -1. */
static int digits(const char **p, int n, unsigned *out)
{
    unsigned v = 0;
    int i = 0;
    for (; i < n && (*p)[i] >= '0' && (*p)[i] <= '9'; i++)
        v = v * 10 + (unsigned)((*p)[i] - '0');
    if (i < n)
        return -1;
    *p += n;
    *out = v;
    return 0;
}

/* Consumes the character c at *p. Returns 0 or -1. */
static int expect(const char **p, char c)
{
    int ok = **p == c;
    *p += ok;
    return ok ? 0 : -1;
}

static int parse_unix_ms(int64_t *ms_out, const char *s)
{
    int64_t v = 0;
    int rc = *s ? 0 : -1;
    for (; *s && rc == 0; s++) {
        if (*s < '0' || *s > '9' || v > (INT64_MAX - (*s - '0')) / 10)
            rc = -1;
        else
            v = v * 10 + (*s - '0');
    }
    if (rc == 0)
        *ms_out = v;
    return rc;
}

/* The digits of a fraction (after its '.'), truncated to milliseconds. */
static int parse_fraction(const char **p, int64_t *ms_out)
{
    int64_t ms = 0;
    int n = 0;
    for (; **p >= '0' && **p <= '9'; (*p)++, n++)
        if (n < 3)
            ms = ms * 10 + (**p - '0');
    for (int i = n; i < 3; i++)
        ms *= 10;
    *ms_out = ms;
    return n > 0 ? 0 : -1;
}

/* "Z" or "+hh:mm"/"-hh:mm" ending the string: minutes east of UTC. */
static int parse_offset(const char *p, int64_t *minutes_out)
{
    unsigned hh = 0, mm = 0;
    int sign = p[0] == '-' ? -1 : 1, rc = 0;
    if ((p[0] == 'Z' || p[0] == 'z') && p[1] == '\0') {
        *minutes_out = 0;
    } else {
        rc = p[0] == '+' || p[0] == '-' ? 0 : -1;
        p++;
        if (rc < 0 || digits(&p, 2, &hh) < 0 || expect(&p, ':') < 0 || digits(&p, 2, &mm) < 0 ||
            *p != '\0' || hh > 23 || mm > 59)
            rc = -1;
        else
            *minutes_out = sign * (int64_t)(hh * 60 + mm);
    }
    return rc;
}

static int parse_rfc3339(int64_t *ms_out, const char *p)
{
    unsigned y, mo, d, h, mi, s;
    int64_t frac = 0, offset = 0;
    int rc = -1;
    if (digits(&p, 4, &y) < 0 || expect(&p, '-') < 0 || digits(&p, 2, &mo) < 0 ||
        expect(&p, '-') < 0 || digits(&p, 2, &d) < 0)
        goto done;
    if ((*p != 'T' && *p != 't' && *p != ' ') || (p++, digits(&p, 2, &h)) < 0 ||
        expect(&p, ':') < 0 || digits(&p, 2, &mi) < 0 || expect(&p, ':') < 0 ||
        digits(&p, 2, &s) < 0)
        goto done;
    if (*p == '.' && (p++, parse_fraction(&p, &frac)) < 0)
        goto done;
    if (parse_offset(p, &offset) < 0 || mo < 1 || mo > 12 || d < 1 ||
        (int)d > days_in_month(y, mo) || h > 23 || mi > 59 || s > 60)
        goto done;
    *ms_out = days_from_civil(y, mo, d) * MS_PER_DAY +
              ((int64_t)h * 3600 + (int64_t)mi * 60 + s - offset * 60) * 1000 + frac;
    rc = 0;
done:
    return rc;
}

int timeparse_parse(int64_t *ms_out, const char *s)
{
    if (strchr(s, '-') == NULL)
        return parse_unix_ms(ms_out, s);
    return parse_rfc3339(ms_out, s);
}

void timeparse_format(char *buf, int64_t ms)
{
    int64_t days = ms / MS_PER_DAY, rem = ms % MS_PER_DAY, y;
    unsigned m, d;
    if (rem < 0) {
        rem += MS_PER_DAY;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    snprintf(buf, TIMEPARSE_FORMAT_MAX, "%04lld-%02u-%02uT%02d:%02d:%02d.%03dZ", (long long)y, m, d,
             (int)(rem / 3600000), (int)(rem / 60000 % 60), (int)(rem / 1000 % 60),
             (int)(rem % 1000));
}
