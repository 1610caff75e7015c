/*
 * block.h - the block: a run of prefix-compressed entries with restart
 * points, the shape shared by an SST's data blocks and its index block
 * (docs/FORMAT.md, "Block contents").
 *
 *   entry    varint shared | varint non_shared | varint value_len |
 *            key bytes [shared..shared+non_shared) | value
 *   trailer  fixed32 restart_offset[n_restarts] | fixed32 n_restarts
 *
 * An entry at a restart point stores its whole key (shared = 0), so a seek
 * can binary-search the restart array and then scan at most
 * restart_interval entries.
 *
 * Keys in a block are internal keys (ikey.h) in strictly increasing order;
 * the builder does not check the order (the SST builder does).
 *
 * Invariants of the reader:
 *  1. Every length read from the block is checked against the bytes left
 *     before it is used: a corrupt block makes the iterator invalid with
 *     status CIRRUS_ECORRUPT, it never reads outside the block.
 *  2. The iterator borrows the block bytes (the caller keeps them alive) and
 *     owns only its key buffer; values point into the block.
 *  3. With a global seq, a key is presented with its trailer's seq replaced
 *     by the global seq, and a stored seq other than 0 is corruption. The key
 *     buffer holds the stored trailer again before the next entry is decoded,
 *     because the next key's shared prefix may cover trailer bytes.
 *
 * Calls: util only.
 */
#ifndef CIRRUS_TABLE_BLOCK_H
#define CIRRUS_TABLE_BLOCK_H

#include <stddef.h>
#include <stdint.h>

#include "table/iter.h"
#include "util/buf.h"

struct block_builder {
    struct buf data;     /* entries so far; the restart array at finish */
    struct buf restarts; /* fixed32 offsets of the restart entries */
    struct buf last_key; /* the previous key, for prefix compression */
    uint32_t restart_interval;
    uint32_t since_restart; /* entries added since the last restart point */
    uint64_t n_entries;
    int finished;
};

/* Prepares an empty builder (nothing allocated yet). restart_interval 0
 * means 16. */
void block_builder_init(struct block_builder *b, uint32_t restart_interval);
/* Appends one entry (bytes copied). Returns 0, CIRRUS_ENOMEM, or
 * CIRRUS_EINVALID when the block would exceed 4 GiB. */
int block_builder_add(struct block_builder *b, const uint8_t *key, size_t key_len,
                      const uint8_t *val, size_t val_len);
/* Bytes the block would have if finished now. */
size_t block_builder_size(const struct block_builder *b);
/* Appends the restart array; *out (borrowed until reset/free) gets the whole
 * block. Returns 0 or CIRRUS_ENOMEM. */
int block_builder_finish(struct block_builder *b, const uint8_t **out, size_t *len_out);
/* Empties the builder for the next block, keeping its memory. */
void block_builder_reset(struct block_builder *b);
void block_builder_free(struct block_builder *b);

/* Where a block came from, for error messages (all borrowed). */
struct block_origin {
    const char *name; /* object name */
    const char *what; /* "data", "index", ... */
    uint64_t off;     /* offset of the block in the object */
};

struct block_iter {
    struct iter base;
    const uint8_t *data;     /* the entries (borrowed) */
    uint32_t data_len;       /* bytes of entries = offset of the restart array */
    const uint8_t *restarts; /* n_restarts fixed32 values (borrowed) */
    uint32_t n_restarts;
    uint32_t cur;         /* offset of the current entry; data_len: none */
    uint32_t next;        /* offset just past the current entry */
    uint32_t restart_idx; /* restart point at or before cur */
    struct buf key;       /* the current key, as presented */
    const uint8_t *val;   /* into data */
    uint32_t val_len;
    uint64_t global_seq; /* 0: keys as stored */
    int patched;         /* key's trailer holds the global seq right now */
    int status;
    struct block_origin origin;
};

/*
 * Points `it` (memory owned by the caller) at block bytes [block, block+len)
 * (borrowed). Any previous key buffer of `it` is reused. A malformed restart
 * array leaves the iterator with status CIRRUS_ECORRUPT (also returned).
 * A zeroed block_iter may be passed the first time.
 */
int block_iter_init(struct block_iter *it, const uint8_t *block, size_t len,
                    const struct block_origin *origin, uint64_t global_seq);
/* Frees what block_iter_init took (the key buffer); not `it` itself. */
void block_iter_clear(struct block_iter *it);

/*
 * Checks what a forward scan does not look at but seeks rely on: that the
 * restart array matches the entries (restart[0] = 0, each offset the start
 * of an entry that stores its whole key, the offsets increasing). Decodes
 * every entry. Returns 0 or the iterator's status (CIRRUS_ECORRUPT naming
 * the block and the offset, or CIRRUS_ENOMEM), and leaves `it`
 * unpositioned. For verification; readers do not need it.
 */
int block_iter_check_restarts(struct block_iter *it);

/* The same as a heap iterator: iter_free() frees it. The block bytes and
 * origin strings are borrowed and must outlive it. Returns 0 or
 * CIRRUS_ENOMEM; a malformed block still yields an iterator (with status
 * CIRRUS_ECORRUPT). */
int block_iter_new(struct iter **out, const uint8_t *block, size_t len,
                   const struct block_origin *origin, uint64_t global_seq);

#endif
