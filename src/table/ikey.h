/*
 * ikey.h - internal keys: the order every sorted structure in cirrus shares.
 *
 * An internal key is the user key followed by an 8-byte trailer, the
 * little-endian fixed64 of (seq << 8 | kind). Internal keys order by user key
 * ascending (memcmp, shorter first on a tie), then by seq descending: for one
 * user key the newest version comes first. The kind takes no part in the
 * order: within one file or memtable (user key, seq) is unique, and entries
 * of one seq in several L0 files of one commit are ordered by the merge,
 * newest file first (version.h).
 *
 * seq is 56 bits. Committed data uses 1..SEQ_COMMITTED_MAX. Writes buffered
 * in a handle's memtable, not yet committed, use seqs above
 * SEQ_COMMITTED_MAX so that the handle's own reads see them as newer than
 * anything committed; a read at a committed snapshot never sees them.
 * L0 SST files store seq 0 in every trailer: the commit entry that adds the
 * file assigns one global seq to all its keys, and the reader substitutes it.
 */
#ifndef CIRRUS_TABLE_IKEY_H
#define CIRRUS_TABLE_IKEY_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "util/coding.h"

#define IKEY_TRAILER 8
#define SEQ_MAX ((UINT64_C(1) << 56) - 1)
#define SEQ_COMMITTED_MAX ((UINT64_C(1) << 55) - 1)

/* Kinds of entry. Values are persistent (docs/FORMAT.md). */
enum ikey_kind {
    KIND_DELETE = 0,
    KIND_PUT = 1,
    KIND_MERGE = 2,        /* merge operand */
    KIND_RANGE_DELETE = 3, /* reserved: range tombstone */
    KIND_PUT_TTL = 4,      /* a put that expires: value = fixed64 expiry (Unix ms) ‖ value */
    KIND_MAX = 0xff,       /* for seeks: sorts before every kind of its seq */
};

static inline uint64_t ikey_pack(uint64_t seq, int kind)
{
    return (seq << 8) | (uint64_t)(kind & 0xff);
}

/* Writes ukey ‖ trailer into out (ukey_len + 8 bytes). */
static inline void ikey_encode(uint8_t *out, const void *ukey, size_t ukey_len, uint64_t seq,
                               int kind)
{
    if (ukey_len)
        memcpy(out, ukey, ukey_len);
    encode_fixed64(out + ukey_len, ikey_pack(seq, kind));
}

static inline uint64_t ikey_trailer(const uint8_t *ikey, size_t len)
{
    return decode_fixed64(ikey + len - IKEY_TRAILER);
}
static inline uint64_t ikey_seq(const uint8_t *ikey, size_t len)
{
    return ikey_trailer(ikey, len) >> 8;
}
static inline int ikey_kind(const uint8_t *ikey, size_t len)
{
    return (int)(ikey_trailer(ikey, len) & 0xff);
}
static inline size_t ikey_user_len(size_t len)
{
    return len - IKEY_TRAILER;
}

static inline int ukey_compare(const void *a, size_t alen, const void *b, size_t blen)
{
    size_t n = alen < blen ? alen : blen;
    int c = n ? memcmp(a, b, n) : 0;
    if (c != 0)
        return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

/* Both keys must be at least IKEY_TRAILER bytes (callers validate decoded
 * keys before comparing them). */
static inline int ikey_compare(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
    int c = ukey_compare(a, alen - IKEY_TRAILER, b, blen - IKEY_TRAILER);
    if (c != 0)
        return c;
    /* by seq only: the kind never orders two entries (a file or memtable
     * holds one entry per user key and seq), so entries of one seq from
     * several files tie and a merge resolves them by source order */
    uint64_t sa = ikey_seq(a, alen), sb = ikey_seq(b, blen);
    return sa > sb ? -1 : sa < sb ? 1 : 0;
}

#endif
