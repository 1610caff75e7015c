/*
 * entry.h - commit entries: what one commit of the log says.
 *
 * An entry records the files a commit adds and removes and everything replay
 * needs to validate it deterministically. The same file description
 * (struct file_meta) is used by manifests. Encoding: docs/FORMAT.md, "Log
 * entries"; it is versioned, its fields are tagged so that later versions
 * can add fields (odd tags must be understood, even tags may be skipped),
 * and the whole encoding is covered by a checksum.
 *
 * An entry too large for one metadata item is stored whole in a delta object
 * and the item holds a small stub: an entry whose delta_name is set.
 */
#ifndef CIRRUS_DB_ENTRY_H
#define CIRRUS_DB_ENTRY_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

struct cirrus_db;

#define ENTRY_FORMAT_VERSION 1
#define COMMIT_ID_LEN 16

/* One SST file as a commit or manifest describes it. */
struct file_meta {
    char *name;     /* object name, e.g. "sst/<unique>.sst" */
    uint64_t size;  /* object bytes */
    uint32_t level; /* 0 for files written by commits */
    /* seq every entry of the file reads with (L0 files written by commits);
     * 0 when entries carry their own seqs. In an entry being written, a
     * global file gets the entry's seq: ENTRY_SEQ_SELF marks that. */
    uint64_t global_seq;
    uint8_t *smallest; /* smallest user key */
    size_t smallest_len;
    uint8_t *largest; /* largest user key */
    size_t largest_len;
    uint64_t min_seq, max_seq; /* seq range of its entries (global: both = global_seq) */
    uint64_t n_entries;
    uint64_t n_deletes;
    /* when the writer named the file, Unix ms of its clock (the time in an
     * SST name, filename.h); 0: unknown. GC may delete an unreferenced file
     * once this is a grace period old, so committers check it (commit.c).
     * Entries carry it in tag 4; manifests and stage descriptors have no
     * place for it, and decoding a description that lacks it takes the
     * time in its name. */
    int64_t write_time_ms;
};

#define ENTRY_SEQ_SELF UINT64_MAX

/* A range tombstone: [from, to) deleted for every key older than seq. */
struct range_del {
    uint8_t *from, *to; /* malloc'd user keys */
    size_t from_len, to_len;
    uint64_t seq; /* in an entry: 0 (the entry's seq); in a version: set */
};

void range_del_clear(struct range_del *r);
int range_del_copy(struct range_del *dst, const struct range_del *src);
int range_del_encode(struct buf *b, const struct range_del *r);
int range_del_decode(const uint8_t **p, const uint8_t *end, struct range_del *r);

struct entry {
    uint64_t seq;
    int kind; /* enum cirrus_entry_kind */
    uint8_t commit_id[COMMIT_ID_LEN];
    int64_t time_ms; /* commit time, Unix ms; non-decreasing in seq */
    char *writer;    /* who committed: host:pid:random */
    struct file_meta *added;
    size_t n_added;
    char **removed; /* names of files this entry removes */
    size_t n_removed;
    /* range deletes: every key in [from, to) written before this entry
     * reads as deleted from this entry's seq on */
    struct range_del *ranges;
    size_t n_ranges;
    /* exactly-once sinks: (app_id, epoch); app_id NULL when absent */
    char *app_id;
    uint64_t epoch;
    /* compact entries: versions at or below this seq may have been dropped,
     * so reads below it are refused from this entry on (0: none) */
    uint64_t horizon;
    /* in memory only: an attempt to commit this entry failed in a way that
     * may yet land (not a lost race), so it must be retried as it is */
    int maybe_landed;
    /* in memory only: checked by the committer against the head's version
     * right before every compare-and-swap (transactions); nonzero refuses */
    int (*validate)(struct cirrus_db *db, const struct entry *e, void *arg);
    void *validate_arg;
    /* stub only: the full entry lives in this delta object */
    char *delta_name;
    uint64_t delta_size;
    uint32_t delta_checksum;
};

void file_meta_clear(struct file_meta *f);
/* Deep copy of src (every field, write time included) into dst. */
int file_meta_copy(struct file_meta *dst, const struct file_meta *src);
/* Encodes/decodes one file description (shared by entries, manifests and
 * stage descriptors). The encoding has no write time: decoding sets
 * write_time_ms from the name (0 if the name is not ours), and an entry's
 * tag 4 then overrides it. */
int file_meta_encode(struct buf *b, const struct file_meta *f);
int file_meta_decode(const uint8_t **p, const uint8_t *end, struct file_meta *f);

void entry_clear(struct entry *e);
/* Appends a file (copied) to e->added. */
int entry_add_file(struct entry *e, const struct file_meta *f);

/* Encodes e into b (appending). */
int entry_encode(struct buf *b, const struct entry *e);
/* Decodes an entry; `what` names its origin for error messages (e.g. the
 * item or object). Returns 0, CIRRUS_ECORRUPT, CIRRUS_EVERSION, ENOMEM. */
int entry_decode(struct entry *e, const uint8_t *data, size_t len, const char *what);

/* Total bytes of the files e adds. */
uint64_t entry_added_bytes(const struct entry *e);

#endif
