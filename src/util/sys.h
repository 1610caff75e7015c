/*
 * sys.h - clocks and randomness. The core reads time and randomness only
 * through these, so that tests can reason about them.
 */
#ifndef CIRRUS_UTIL_SYS_H
#define CIRRUS_UTIL_SYS_H

#include <stddef.h>
#include <stdint.h>

/* Wall clock, Unix milliseconds. */
int64_t now_ms(void);
/* Monotonic clock, nanoseconds since an arbitrary point. */
uint64_t mono_ns(void);
/* Fills buf with bytes from the kernel's CSPRNG. */
void rand_bytes(void *buf, size_t n);
uint64_t rand_u64(void);
/* Sleeps for ms milliseconds, or ns nanoseconds (restarts on EINTR). */
void sleep_ms(uint32_t ms);
void sleep_ns(uint64_t ns);
/* Lower-case hex of n bytes into out (2n chars + NUL). */
void hex_encode(char *out, const uint8_t *p, size_t n);
/* The value of a lower-case hex digit (what hex_encode writes), or -1. */
int hex_digit_value(char c);

#endif
