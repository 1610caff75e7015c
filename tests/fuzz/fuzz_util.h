/*
 * fuzz_util.h - small helpers shared by the fuzz targets (header only: each
 * target is one source file).
 */
#ifndef CIRRUS_TESTS_FUZZ_UTIL_H
#define CIRRUS_TESTS_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A property that must hold: abort() (a crash libFuzzer and ctest see) with
 * the line, so that a finding names the property it broke. */
#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property failed: %s\n", __FILE__, __LINE__, #cond);            \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* malloc of at least 1 byte that never fails (the input sizes are small). */
static inline void *fuzz_malloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    FUZZ_CHECK(p != NULL);
    return p;
}

/* A copy of [data, data+size) with a NUL after it. */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = fuzz_malloc(size + 1);
    if (size)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Reads structured choices from the input: bytes from the front. */
struct fuzz_reader {
    const uint8_t *p, *end;
};

static inline uint64_t fuzz_take(struct fuzz_reader *r, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && r->p < r->end; i++)
        v |= (uint64_t)*r->p++ << (8 * i);
    return v;
}

/* Up to max bytes (a length byte first) as a pointer into the input. */
static inline const uint8_t *fuzz_take_bytes(struct fuzz_reader *r, size_t max, size_t *len)
{
    size_t n = (size_t)fuzz_take(r, 1) % (max + 1);
    if (n > (size_t)(r->end - r->p))
        n = (size_t)(r->end - r->p);
    *len = n;
    r->p += n;
    return r->p - n;
}

#endif
