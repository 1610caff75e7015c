/*
 * identity.h - what ties a database's objects to its metadata: one record,
 * written once as the object `identity` under the db's root and as the
 * metadata item (D, "identity"), byte for byte the same. Encoding:
 * docs/FORMAT.md, "Database identity".
 *
 * Every open checks that the two agree (identity_check). Without this a
 * copied prefix opened with another metadata store, or one metadata store
 * pointed at two prefixes, was a second history over the same objects, and
 * GC through it deleted the first one's live files.
 *
 * Invariants:
 *  1. Creation writes the item first (put_if_absent: of racing creators one
 *     wins) and then the object with the item's bytes, so the two never
 *     hold different records; a crash between them leaves an item with no
 *     object and no commit, which the next open completes.
 *  2. Neither is ever rewritten or deleted (but by `drop`).
 *  3. base_seq, the seq of the db's first version, never changes: the head
 *     item's version is its seq minus base_seq (commitlog.h).
 */
#ifndef CIRRUS_DB_IDENTITY_H
#define CIRRUS_DB_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct cirrus_db;
struct objstore;

#define IDENTITY_FORMAT_VERSION 1
#define IDENTITY_ID_LEN 16
#define IDENTITY_OBJECT "identity"
#define IDENTITY_SK "identity"

struct identity {
    uint8_t id[IDENTITY_ID_LEN]; /* random, the db's identity for good */
    int64_t created_ms;          /* Unix ms, the creator's clock */
    uint64_t base_seq;           /* the seq of the first version (0, or a clone's
                                  * or restore's starting point) */
    int64_t base_time_ms;        /* that version's commit time (0 for base 0) */
    char *location;              /* the canonical URL it was created at (messages) */
};

int identity_encode(struct buf *b, const struct identity *id);
/* Returns 0, CIRRUS_ECORRUPT, CIRRUS_EVERSION, CIRRUS_ENOMEM; `what` names
 * the copy (object or item). */
int identity_decode(struct identity *out, const uint8_t *data, size_t len, const char *what);
void identity_clear(struct identity *id);
/* The id as 32 lowercase hex digits. */
void identity_hex(char out[static 2 * IDENTITY_ID_LEN + 1], const struct identity *id);

/*
 * At open: reads both copies and sets db->ident, or refuses. With create
 * (a writable handle of create_if_missing) an empty location gets a new
 * identity; a db from before identities is adopted (both copies written).
 * `url`/`meta_url` name the two stores in messages. Returns 0;
 * CIRRUS_ENOTFOUND: no database and !create; CIRRUS_EMISMATCH: the two
 * stores disagree, or the location holds cirrus objects the metadata store
 * knows nothing of (nothing is written); CIRRUS_ECORRUPT and I/O errors.
 */
int identity_check(struct cirrus_db *db, const char *url, const char *meta_url, int create);

/*
 * An open without create found no metadata store (rc, CIRRUS_ENOTFOUND, is
 * its failure): if the location os holds a database's identity object,
 * that is not "no database" but the wrong (or a lost) metadata store,
 * CIRRUS_EMISMATCH naming url and meta, as identity_check says; otherwise
 * returns rc with its message as it was. Reads only.
 */
int identity_check_orphan(struct objstore *os, const char *url, const char *meta, int rc);

/*
 * Creates the identity of a new database whose first version is base_seq
 * (clone, restore), once everything that version needs is in place (its
 * files and its manifest, `manifest/<base_seq>`): fails with
 * CIRRUS_EEXISTS if the metadata store already holds a database of that
 * name. Sets db->ident.
 */
int identity_create(struct cirrus_db *db, uint64_t base_seq, int64_t base_time_ms);

/* 0 if no database is at db's location: no identity (item or object), no
 * commit; else CIRRUS_EEXISTS naming url. Objects an interrupted clone or
 * restore left there (no identity yet) do not count. */
int identity_location_free(struct cirrus_db *db, const char *url);

/* Whether the location holds any object cirrus writes (sst/, manifest/,
 * delta/, pin/, the identity). */
int identity_location_used(struct cirrus_db *db, int *used_out);

#endif
