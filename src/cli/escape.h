/*
 * escape.h - the text form of keys and values on the command line and in
 * KEY<TAB>VALUE lines.
 *
 * Keys and values are arbitrary bytes; the text form keeps every byte
 * readable and keeps TAB and newline free to separate fields and records:
 *
 *   byte                          escaped as
 *   0x5c  backslash               \\
 *   0x09  tab                     \t
 *   0x0a  newline                 \n
 *   other bytes < 0x20, and 0x7f  \xHH  (two lowercase hex digits)
 *   everything else (>= 0x80 too) itself
 *
 * Decoding accepts exactly \\, \t, \n and \xHH (hex digits of either case);
 * any other backslash sequence, a lone trailing backslash and \x without two
 * hex digits are errors. So decode(encode(x)) == x for every byte string x.
 *
 * Pure functions over caller memory: no allocation, no I/O except
 * escape_fwrite(). Depends on libc only.
 */
#ifndef CIRRUS_CLI_ESCAPE_H
#define CIRRUS_CLI_ESCAPE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The most bytes escape_encode() writes for `len` input bytes. */
#define ESCAPE_MAX_LEN(len) ((len)*4)

/*
 * Encodes src[0..len) into dst, which must hold ESCAPE_MAX_LEN(len) bytes
 * (no NUL is written). Returns the number of bytes written.
 */
size_t escape_encode(char *dst, const void *src, size_t len);

/*
 * Decodes src[0..src_len) into dst, which must hold src_len bytes; dst may
 * equal src (decoding never writes ahead of what it has read). On success
 * sets *dst_len_out and returns 0. On a bad escape returns -1, sets
 * *bad_at_out to the offset of its backslash in src and writes nothing to
 * *dst_len_out (dst holds undefined bytes).
 */
int escape_decode(uint8_t *dst, size_t *dst_len_out, size_t *bad_at_out, const char *src,
                  size_t src_len);

/*
 * Copies the bad escape sequence at src[bad_at] (as returned by
 * escape_decode) into out as a NUL-terminated string of at most 4 visible
 * characters, itself escaped so it is safe to print, e.g. "\q" or "\x4". out
 * must hold ESCAPE_BAD_MAX bytes.
 */
#define ESCAPE_BAD_MAX 20
void escape_describe_bad(char *out, const char *src, size_t src_len, size_t bad_at);

/* Writes the encoding of src[0..len) to f. Returns 0, or -1 on a write error
 * (errno set by stdio). */
int escape_fwrite(FILE *f, const void *src, size_t len);

#endif
