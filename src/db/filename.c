/*
 * filename.c - builds and parses object names (the grammar is in
 * filename.h). Parsing is by fixed shapes, never by strtoull: a sign, a
 * space, an uppercase digit or one digit too many or too few make a name
 * not ours.
 */
#include "db/filename.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/entry.h"
#include "util/sys.h"

_Static_assert(FILENAME_COMMIT_ID_LEN == COMMIT_ID_LEN, "a delta name holds one commit id");

#define SST_TIME_DIGITS 12
#define SST_UNIQUE_DIGITS 16
#define MANIFEST_SEQ_DIGITS 20
#define MAX_SEQ_DIGITS 20 /* UINT64_MAX has 20 decimal digits */

void filename_sst(char out[static FILENAME_LEN], int64_t time_ms, uint64_t unique)
{
    /* time first, so that names sort by age */
    if (time_ms < 0)
        time_ms = 0;
    if (time_ms > FILENAME_MAX_TIME_MS)
        time_ms = FILENAME_MAX_TIME_MS;
    snprintf(out, FILENAME_LEN, FILENAME_SST_DIR "%012" PRIx64 "-%016" PRIx64 ".sst",
             (uint64_t)time_ms, unique);
}

void filename_pin(char out[static FILENAME_LEN], int64_t time_ms, uint64_t unique)
{
    if (time_ms < 0)
        time_ms = 0;
    if (time_ms > FILENAME_MAX_TIME_MS)
        time_ms = FILENAME_MAX_TIME_MS;
    snprintf(out, FILENAME_LEN, FILENAME_PIN_DIR "%012" PRIx64 "-%016" PRIx64, (uint64_t)time_ms,
             unique);
}

char *filename_parent(const uint8_t db_id[static FILENAME_DB_ID_LEN], const char *inner)
{
    char hex[2 * FILENAME_DB_ID_LEN + 1];
    hex_encode(hex, db_id, FILENAME_DB_ID_LEN);
    size_t n = strlen(FILENAME_PARENT_DIR) + sizeof(hex) + strlen(inner) + 1;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, FILENAME_PARENT_DIR "%s/%s", hex, inner);
    return out;
}

void filename_manifest(char out[static FILENAME_LEN], uint64_t seq)
{
    snprintf(out, FILENAME_LEN, FILENAME_MANIFEST_DIR "%020" PRIu64, seq);
}

void filename_delta(char out[static FILENAME_LEN],
                    const uint8_t commit_id[static FILENAME_COMMIT_ID_LEN], uint64_t seq)
{
    char hex[2 * FILENAME_COMMIT_ID_LEN + 1];
    hex_encode(hex, commit_id, FILENAME_COMMIT_ID_LEN);
    snprintf(out, FILENAME_LEN, FILENAME_DELTA_DIR "%s-%" PRIu64, hex, seq);
}

/* Exactly n lowercase hex digits at *p (n <= 16) into *out; advances *p. */
static int take_hex(const char **p, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = hex_digit_value((*p)[i]);
        if (d < 0)
            return 0;
        v = v << 4 | (uint64_t)d;
    }
    *p += n;
    *out = v;
    return 1;
}

/* Decimal digits at *p: exactly `n` when n > 0, else 1..20 without a
 * leading zero (but "0"); the value must fit 64 bits. Advances *p. */
static int take_dec(const char **p, size_t n, uint64_t *out)
{
    const char *s = *p;
    size_t len = 0;
    uint64_t v = 0;
    while (s[len] >= '0' && s[len] <= '9')
        len++;
    if (n ? len != n : len == 0 || len > MAX_SEQ_DIGITS || (len > 1 && s[0] == '0'))
        return 0;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    *p += len;
    *out = v;
    return 1;
}

/* Skips the literal `lit` at *p. */
static int take(const char **p, const char *lit)
{
    size_t n = strlen(lit);
    if (strncmp(*p, lit, n) != 0)
        return 0;
    *p += n;
    return 1;
}

static int parse_sst(const char *p, struct filename *f)
{
    uint64_t t;
    if (!take_hex(&p, SST_TIME_DIGITS, &t) || !take(&p, "-") ||
        !take_hex(&p, SST_UNIQUE_DIGITS, &f->unique) || !take(&p, ".sst") || *p)
        return 0;
    f->time_ms = (int64_t)t; /* 48 bits */
    return 1;
}

static int parse_pin(const char *p, struct filename *f)
{
    uint64_t t;
    if (!take_hex(&p, SST_TIME_DIGITS, &t) || !take(&p, "-") ||
        !take_hex(&p, SST_UNIQUE_DIGITS, &f->unique) || *p)
        return 0;
    f->time_ms = (int64_t)t;
    return 1;
}

static int parse_parent(const char *p, struct filename *f)
{
    struct filename inner;
    for (size_t i = 0; i < FILENAME_DB_ID_LEN; i++) {
        uint64_t byte;
        if (!take_hex(&p, 2, &byte))
            return 0;
        f->db_id[i] = (uint8_t)byte;
    }
    if (!take(&p, "/") || !filename_parse(p, &inner) || inner.kind != FILENAME_SST)
        return 0;
    f->inner = p;
    f->time_ms = inner.time_ms;
    f->unique = inner.unique;
    return 1;
}

static int parse_delta(const char *p, struct filename *f)
{
    for (size_t i = 0; i < FILENAME_COMMIT_ID_LEN; i++) {
        uint64_t byte;
        if (!take_hex(&p, 2, &byte))
            return 0;
        f->commit_id[i] = (uint8_t)byte;
    }
    return take(&p, "-") && take_dec(&p, 0, &f->seq) && !*p;
}

int filename_parse(const char *name, struct filename *out)
{
    const char *p = name;
    int ok = 0;
    memset(out, 0, sizeof(*out));
    if (take(&p, FILENAME_SST_DIR)) {
        out->kind = FILENAME_SST;
        ok = parse_sst(p, out);
    } else if (take(&p, FILENAME_MANIFEST_DIR)) {
        out->kind = FILENAME_MANIFEST;
        ok = take_dec(&p, MANIFEST_SEQ_DIGITS, &out->seq) && !*p;
    } else if (take(&p, FILENAME_DELTA_DIR)) {
        out->kind = FILENAME_DELTA;
        ok = parse_delta(p, out);
    } else if (take(&p, FILENAME_PIN_DIR)) {
        out->kind = FILENAME_PIN;
        ok = parse_pin(p, out);
    } else if (take(&p, FILENAME_PARENT_DIR)) {
        out->kind = FILENAME_PARENT;
        ok = parse_parent(p, out);
    }
    if (!ok)
        memset(out, 0, sizeof(*out));
    return ok;
}
