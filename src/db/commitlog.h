/*
 * commitlog.h - the commit log in the metadata store: the source of truth.
 *
 * Items (pk, sk) of database D:
 *   (D, "head")           value: entry of seq H;  version: H - B
 *   (D/log, "%020llu" S)  value: entry of seq S, for S < H (until trimmed)
 *   (D, "manifest")       value: fixed64 seq of the newest manifest object
 *
 * Protocol (DESIGN.md, "The commit log is the source of truth"):
 *  1. Committing seq H+1 is ONE conditional write to the head: put_if_version
 *     (expected H - B), or put_if_absent for the first commit. The head's
 *     item version is its seq minus the db's base seq B (0 but for clones
 *     and restores, whose first version is a manifest at seq B: identity.h),
 *     so the condition "seq = H" is the version check.
 *  2. Before moving the head from H, the committer makes sure entry H is in
 *     the log (put_if_absent; idempotent). So every entry below the head is
 *     in the log, whoever crashed where.
 *  3. The head item is never deleted, so a stalled writer holding an old H
 *     can never commit: its compare-and-swap fails.
 *  4. Entries larger than the store's item limit are written first as a
 *     delta object, `delta/<commit id>-<seq>`, and the item holds a stub
 *     naming it with its size and checksum.
 */
#ifndef CIRRUS_DB_COMMITLOG_H
#define CIRRUS_DB_COMMITLOG_H

#include <stddef.h>
#include <stdint.h>

#include "db/entry.h"

struct metastore;
struct objstore;

struct commitlog {
    struct metastore *ms; /* borrowed */
    struct objstore *os;  /* borrowed */
    char *pk;             /* D */
    char *log_pk;         /* D/log */
    uint64_t base_seq;    /* B: the seq of the db's first version (identity.h) */
};

int commitlog_init(struct commitlog *cl, struct metastore *ms, struct objstore *os,
                   const char *db_name);
void commitlog_clear(struct commitlog *cl);

/* The head's seq and raw item value (malloc'd; NULL and seq B when the
 * database has no commit yet). */
int commitlog_get_head(struct commitlog *cl, uint64_t *seq_out, uint8_t **raw_out, size_t *len_out);
/* Log item `seq` (CIRRUS_ENOTFOUND if absent). */
int commitlog_get_log(struct commitlog *cl, uint64_t seq, uint8_t **raw_out, size_t *len_out);

/* The oldest seq still in the log (the head when the log holds nothing
 * below it; 0 for an empty database). */
int commitlog_oldest(struct commitlog *cl, uint64_t head, uint64_t *seq_out);

/* Calls fn for every log item with from <= seq < to, in order; a missing
 * seq is an error (CIRRUS_ENOTFOUND: trimmed or never copied). fn returns
 * nonzero to stop (returned as is). */
int commitlog_scan(struct commitlog *cl, uint64_t from, uint64_t to,
                   int (*fn)(uint64_t seq, const uint8_t *raw, size_t len, void *arg), void *arg);

/* Decodes a raw item value into e, reading the delta object when it is a
 * stub, and checks that it is the entry of seq `expect_seq`. */
int commitlog_decode(struct commitlog *cl, const uint8_t *raw, size_t len, uint64_t expect_seq,
                     struct entry *e);

/* Encodes e for an item; writes a delta object first when it is too large.
 * *raw_out is malloc'd. */
int commitlog_prepare(struct commitlog *cl, const struct entry *e, uint8_t **raw_out,
                      size_t *len_out);

/* Step 1: the compare-and-swap. 0 committed, CIRRUS_ECONFLICT lost, any
 * other error: outcome unknown (read back the commit id). */
int commitlog_cas_head(struct commitlog *cl, uint64_t expected_seq, const uint8_t *raw, size_t len);
/* Step 2: copies entry `seq` into the log (already there is success). */
int commitlog_copy(struct commitlog *cl, uint64_t seq, const uint8_t *raw, size_t len);

/* Manifest pointer: newest manifest seq (0 if none). */
int commitlog_get_pointer(struct commitlog *cl, uint64_t *seq_out);
/* Moves the pointer forward to seq (never back; losing a race is fine). */
int commitlog_advance_pointer(struct commitlog *cl, uint64_t seq);

#endif
