/*
 * filename.h - the names of the objects a database writes: the one place
 * that builds them and the one place that reads them back (as LevelDB's
 * filename.h).
 *
 * Grammar (docs/FORMAT.md, "Object names"), relative to the database's
 * object-store prefix; hex is lowercase, and nothing else is a name of ours:
 *
 *   sst/<T>-<R>.sst    an SST file; T: 12 hex digits, the writer's clock
 *                      (Unix ms) when it named the file; R: 16 hex digits,
 *                      random (unique without coordination between writers)
 *   manifest/<S>       the manifest at seq S: 20 decimal digits, zero-padded
 *                      so that names list in seq order
 *   delta/<C>-<S>      the delta object of the entry with commit id C
 *                      (32 hex digits) at seq S (decimal, no leading zeros)
 *   pin/<T>-<R>        the version a pin (a checkpoint, a clone's hold on
 *                      its source) keeps, as a manifest; T and R as in SST
 *                      names
 *   parent/<I>/<name>  in a clone's file lists only, never stored under its
 *                      root: object <name> (an sst/ name) of the database
 *                      with identity I (32 hex digits) the clone shares
 *
 * Invariants:
 *  1. filename_parse() accepts exactly the strings the builders produce:
 *     parse(build(x)) == x and build(parse(s)) == s, byte for byte.
 *  2. A name that does not parse is "not ours": no code infers anything
 *     from it (GC keeps it, staging refuses it).
 *  3. The time in an SST name is the same clock reading as the write time
 *     in the file's description (entry.h); readers use the description and
 *     fall back to the name only for descriptions that carry no time.
 *
 * Calls only libc and util/sys.h (hex_encode).
 */
#ifndef CIRRUS_DB_FILENAME_H
#define CIRRUS_DB_FILENAME_H

#include <stddef.h>
#include <stdint.h>

/* Bytes every name buffer needs, NUL included (the longest, a delta name
 * with a 20-digit seq, has 59). */
#define FILENAME_LEN 64

/* The folders object kinds live in, for listing. */
#define FILENAME_SST_DIR "sst/"
#define FILENAME_MANIFEST_DIR "manifest/"
#define FILENAME_DELTA_DIR "delta/"
#define FILENAME_PIN_DIR "pin/"
#define FILENAME_PARENT_DIR "parent/"
#define FILENAME_DB_ID_LEN 16 /* = IDENTITY_ID_LEN (identity.h) */

#define FILENAME_COMMIT_ID_LEN 16 /* = COMMIT_ID_LEN (entry.h) */
/* SST names have room for 12 hex digits of time: until the year 10889. */
#define FILENAME_MAX_TIME_MS ((INT64_C(1) << 48) - 1)

enum filename_kind {
    FILENAME_SST = 1,
    FILENAME_MANIFEST,
    FILENAME_DELTA,
    FILENAME_PIN,
    FILENAME_PARENT,
};

/* A name taken apart. Only the fields of its kind are set; the rest are 0. */
struct filename {
    enum filename_kind kind;
    int64_t time_ms; /* SST, PIN: write time, Unix ms, 0..FILENAME_MAX_TIME_MS */
    uint64_t unique; /* SST, PIN: the random part */
    uint64_t seq;    /* MANIFEST: the seq it snapshots; DELTA: its entry's seq */
    uint8_t commit_id[FILENAME_COMMIT_ID_LEN]; /* DELTA: its entry's commit id */
    uint8_t db_id[FILENAME_DB_ID_LEN];         /* PARENT: the database that holds it */
    const char *inner;                         /* PARENT: the name in that database (points into the
                                                * parsed string), an SST name */
};

/* The name of an SST file written at time_ms (clamped to
 * 0..FILENAME_MAX_TIME_MS) with random part `unique`. */
void filename_sst(char out[static FILENAME_LEN], int64_t time_ms, uint64_t unique);
/* The name of the manifest at seq. */
void filename_manifest(char out[static FILENAME_LEN], uint64_t seq);
/* The name of the delta object of the entry (commit_id, seq). */
void filename_delta(char out[static FILENAME_LEN],
                    const uint8_t commit_id[static FILENAME_COMMIT_ID_LEN], uint64_t seq);

/* The name of a pin manifest written at time_ms with random part unique. */
void filename_pin(char out[static FILENAME_LEN], int64_t time_ms, uint64_t unique);
/* The name by which a clone refers to object `inner` of database db_id
 * (malloc'd; NULL when out of memory). */
char *filename_parent(const uint8_t db_id[static FILENAME_DB_ID_LEN], const char *inner);

/* Takes name (borrowed) apart: 1 if it is a name the builders above make,
 * with *out filled; 0 if it is not ours (*out zeroed). */
int filename_parse(const char *name, struct filename *out);

#endif
