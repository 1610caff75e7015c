/*
 * pins.h - durable holds on a version: checkpoints, and the hold a clone
 * keeps on the database it shares files with (pins.c, clone.c).
 *
 * A pin is a metadata item (D, "pin/<kind>/<name>") naming a pin manifest,
 * the object `pin/<T>-<R>` holding a whole version (manifest encoding),
 * and the seq it keeps readable in that version. GC keeps every file a pin
 * manifest lists and the manifest itself for as long as the item exists:
 * a pin does not depend on the log, on manifests or on the retention
 * windows, so compaction, log trimming and GC may move on freely.
 * Encoding: docs/FORMAT.md, "Pins".
 *
 * Creation (pin_create) closes the race with GC, which reads the pins
 * after the live set (gc.c): the creator writes the manifest of version V,
 * puts the item, then refreshes; if every file of V is still live, any GC
 * either read the live set while those files were in it or read the pins
 * after the item existed. Otherwise it starts again on a newer version.
 */
#ifndef CIRRUS_DB_PINS_H
#define CIRRUS_DB_PINS_H

#include <stddef.h>
#include <stdint.h>

#include "db/filename.h"
#include "util/buf.h"

struct cirrus_db;
struct objstore;
struct version;

#define PIN_FORMAT_VERSION 1
#define PIN_SK_PREFIX "pin/"
#define PIN_CHECKPOINT "checkpoint/"
#define PIN_CLONE "clone/"
#define PIN_NAME_MAX 128

struct pin {
    char *sk;                    /* the item's sort key, "pin/<kind>/<name>" */
    uint64_t version;            /* the item's version */
    uint64_t seq;                /* reads of the pin are at this seq */
    int64_t time_ms;             /* commit time of seq */
    int64_t created_ms;          /* when the pin was made */
    int64_t expires_ms;          /* Unix ms; 0: never */
    char manifest[FILENAME_LEN]; /* pin/<T>-<R> */
    char *detail;                /* kind's own text (a clone: where it lives) */
};

int pin_encode(struct buf *b, const struct pin *p);
int pin_decode(struct pin *out, const uint8_t *data, size_t len, const char *what);
void pin_clear(struct pin *p);
void pins_free(struct pin *v, size_t n);

/* Every pin of db whose sk starts with PIN_SK_PREFIX kind ("" for all),
 * in sk order. */
int pins_list(struct cirrus_db *db, const char *kind, struct pin **out, size_t *n_out);
/* The pin with sort key sk: CIRRUS_ENOTFOUND naming `what` if absent. */
int pin_get(struct cirrus_db *db, const char *sk, const char *what, struct pin *out);

/* The version a pin keeps, read from its manifest in os (a missing
 * manifest is CIRRUS_ECORRUPT: the item names it). */
int pin_load(struct objstore *os, const struct pin *p, struct version **out);
/* pin_load for a pin read in a listing: CIRRUS_ENOTFOUND if the pin was
 * deleted or replaced since (its manifest goes with it), CIRRUS_ECORRUPT
 * if the item still names a manifest that is gone. */
int pin_load_listed(struct cirrus_db *db, const struct pin *p, struct version **out);

/*
 * Pins the version that reads at `seq` (CIRRUS_SEQ_LATEST: the head) as
 * item sk: CIRRUS_EEXISTS if it exists, CIRRUS_EEXPIRED if seq is older
 * than what compaction keeps. On success *out (may be NULL) is the pin and
 * *v_out (may be NULL) a reference to its version.
 */
int pin_create(struct cirrus_db *db, const char *sk, uint64_t seq, int64_t expires_ms,
               const char *detail, struct pin *out, struct version **v_out);
/* Deletes item sk (its manifest and files become garbage for GC). */
int pin_delete(struct cirrus_db *db, const char *sk, const char *what);

/* Checks a checkpoint name: 1..PIN_NAME_MAX bytes of [A-Za-z0-9._-]. */
int pin_check_name(const char *name);

#endif
