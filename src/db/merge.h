/*
 * merge.h - resolving the entries of one key: merge operands and expiring
 * puts.
 *
 * Every path that reduces the versions of a key to what a reader sees —
 * point reads, iterators, memtable flushes, compactions — feeds the entries
 * of the key newest first into a resolver and asks for the result. That
 * keeps the rules in one place:
 *  - a put, an unexpired expiring put, or a delete is a base: older entries
 *    no longer matter;
 *  - an expired expiring put reads as a delete (judged by `now`), and so do
 *    merge operands on top of it: they share its expiry, whether or not a
 *    flush or compaction has folded them into it yet;
 *  - merge operands above the base apply to it oldest first (full merge);
 *    with no base at all they apply to "no value" when the result must be
 *    final, or combine into one operand (partial merge) when older entries
 *    may exist elsewhere (flushes, compactions that are not bottommost).
 */
#ifndef CIRRUS_DB_MERGE_H
#define CIRRUS_DB_MERGE_H

#include <stddef.h>
#include <stdint.h>

#include "cirrus.h"
#include "util/buf.h"

struct resolver {
    const cirrus_merge_operator *op;
    int64_t now;
    struct buf *ops; /* operands, newest first */
    size_t n_ops, cap_ops;
    int based;        /* a base ended the collection */
    int base_kind;    /* KIND_PUT, KIND_PUT_TTL or KIND_DELETE */
    int base_expired; /* the base was an expiring put past its expiry */
    struct buf base;  /* the base value (no expiry prefix) */
    int64_t base_expiry;
};

void resolver_init(struct resolver *r, const cirrus_merge_operator *op, int64_t now);
void resolver_reset(struct resolver *r);
void resolver_free(struct resolver *r);

/* Adds the next (older) entry. Returns 1 once a base ends the key (further
 * entries are ignored), 0 to go on, or an error. */
int resolver_add(struct resolver *r, int kind, const uint8_t *val, size_t len);

/*
 * The result. final = 1: as a reader sees it — *kind_out is KIND_PUT,
 * KIND_PUT_TTL (with *expiry_out) or KIND_DELETE. final = 0 and no base:
 * KIND_MERGE with the combined operand (older entries may follow elsewhere).
 * *val_out receives the value (without expiry prefix). `key` names the key
 * in error messages.
 */
int resolver_result(struct resolver *r, int final, const void *key, size_t key_len, int *kind_out,
                    struct buf *val_out, int64_t *expiry_out);

/* 1 if the resolver holds anything (an operand or a base). */
int resolver_any(const struct resolver *r);

/* Encodes a result as an entry value (prefixing the expiry for
 * KIND_PUT_TTL) into out. */
int resolver_encode(int kind, const struct buf *val, int64_t expiry, struct buf *out);

#endif
