/*
 * sst.h - sorted string table files: the immutable data files of cirrus.
 *
 * Layout (byte by byte in docs/FORMAT.md):
 *   data block 0 .. data block n-1   prefix-compressed entries, restart points
 *   filter block                     bloom filter over user keys (optional)
 *   properties block                 key range, seq range, counts
 *   index block                      last internal key of each data block ->
 *                                    block handle
 *   footer                           fixed size: handles, format version,
 *                                    checksum, magic
 * Every block is followed by a 5-byte trailer: compression type (1 byte) and
 * checksum32 (hash.h) of the stored block bytes plus the type byte. Readers
 * verify every checksum and every length before they use a byte, and report
 * failures as CIRRUS_ECORRUPT naming the object, the block and its offset.
 *
 * The builder is fed entries in strictly increasing internal key order and
 * produces the whole file in memory (files are bounded by target_file_size).
 */
#ifndef CIRRUS_TABLE_SST_H
#define CIRRUS_TABLE_SST_H

#include <stddef.h>
#include <stdint.h>

#include "table/iter.h"

struct objstore;
struct block_cache;

struct sst_options {
    uint32_t block_size;         /* target uncompressed data block bytes */
    uint32_t restart_interval;   /* entries between restart points (16) */
    uint32_t bloom_bits_per_key; /* 0: no filter */
    int compression;             /* enum cirrus_compression */
    int compression_level;       /* zstd level; ignored otherwise */
};

/* What a finished file says about itself (its properties block). */
struct sst_props {
    uint32_t format_version;
    uint8_t *smallest; /* smallest user key, malloc'd */
    size_t smallest_len;
    uint8_t *largest; /* largest user key, malloc'd */
    size_t largest_len;
    uint64_t min_seq, max_seq; /* as stored (0 and 0 in L0 files) */
    uint64_t n_entries;
    uint64_t n_deletes;
    uint64_t n_data_blocks;
    uint64_t raw_key_bytes;   /* user key bytes before compression */
    uint64_t raw_value_bytes; /* value bytes before compression */
    uint64_t file_size;
};

void sst_props_clear(struct sst_props *p);

struct sst_builder;

int sst_builder_new(struct sst_builder **out, const struct sst_options *opts);
/* Gives a new builder (nothing added yet) a buffer of cap bytes to build
 * the file in (taken: freed with the builder, or returned by finish), e.g.
 * the previous file's, once uploaded: a writer of many large files then
 * reuses one buffer instead of faulting fresh pages in for each file. */
void sst_builder_give_buffer(struct sst_builder *b, uint8_t *data, size_t cap);
/* Keys must be strictly increasing in internal key order, else
 * CIRRUS_EINVALID. */
int sst_builder_add(struct sst_builder *b, const uint8_t *ikey, size_t ikey_len, const uint8_t *val,
                    size_t val_len);
/* Bytes the file would have if finished now (approximate). */
uint64_t sst_builder_size(const struct sst_builder *b);
uint64_t sst_builder_count(const struct sst_builder *b);
/* Finishes the file: *data_out (malloc'd, caller frees) holds *len_out bytes.
 * props_out (may be NULL) gets its properties (caller clears). At least one
 * entry must have been added. The builder can only be freed afterwards. */
int sst_builder_finish(struct sst_builder *b, uint8_t **data_out, size_t *len_out,
                       struct sst_props *props_out);
void sst_builder_free(struct sst_builder *b);
/* Calls fn with each data block's file offset and contents (uncompressed,
 * as a reader caches them) once the block is in the file: the writer's
 * way to warm a block cache. Set before the first add. */
void sst_builder_on_block(struct sst_builder *b,
                          void (*fn)(void *arg, uint64_t off, const uint8_t *data, size_t len),
                          void *arg);

/* A file's identity in a block cache: the store's URL, a NUL, the object
 * name (*key malloc'd). Readers and warming writers key blocks by it and
 * the block's offset. CIRRUS_ENOMEM. */
int sst_cache_key(const char *store_url, const char *name, uint8_t **key, size_t *len);

struct sst_reader;

/*
 * Opens file `name` of `size` bytes (the size recorded in the commit entry)
 * in `os` (borrowed; must outlive the reader): reads and verifies footer,
 * index, filter and properties, in one ranged get when the tail holds them.
 * When global_seq != 0 every entry reads with that seq (L0 files). The
 * reader keeps index and filter in memory; data blocks are read on demand,
 * one ranged get each, through `cache` when it is not NULL (borrowed; must
 * outlive the reader): a block found there costs no request, a block read
 * is inserted (decompressed, at BLOCK_CACHE_LOW). Cache entries are keyed by
 * os->url and name, so one cache may serve any number of readers and stores.
 * The reader is safe to use from several threads at once.
 * A file that is not in the store is CIRRUS_ECORRUPT here and in every read
 * (never CIRRUS_ENOTFOUND, which the read paths mean as "no such key").
 * Returns 0, CIRRUS_ECORRUPT, CIRRUS_EVERSION, CIRRUS_EIO, CIRRUS_ENOMEM.
 */
int sst_reader_open(struct sst_reader **out, struct objstore *os, const char *name, uint64_t size,
                    uint64_t global_seq, struct block_cache *cache);
void sst_reader_close(struct sst_reader *r);
const struct sst_props *sst_reader_props(const struct sst_reader *r);
const char *sst_reader_name(const struct sst_reader *r);

/* 0 if the bloom filter says ukey is absent, 1 if it may be present. */
int sst_reader_may_contain(const struct sst_reader *r, const void *ukey, size_t len);

/*
 * The newest entry for ukey with seq <= snapshot, after the bloom filter
 * (callers need not check it first). On success *kind_out is its
 * kind and *val_out a malloc'd copy of its value (NULL for deletes; caller
 * frees). Returns 0, CIRRUS_ENOTFOUND (no such entry), CIRRUS_ECORRUPT,
 * CIRRUS_EIO, CIRRUS_ENOMEM.
 */
int sst_reader_get(struct sst_reader *r, const void *ukey, size_t len, uint64_t snapshot,
                   int *kind_out, uint8_t **val_out, size_t *val_len_out);

/* An iterator over the file's entries (global seq applied). Several may be
 * open at once; each must be freed before the reader is closed. */
int sst_reader_iter(struct sst_reader *r, struct iter **out);

/* The same for reading the file once from front to back (compaction input,
 * the changefeed): data blocks come `readahead` bytes at a time, one ranged
 * get each (a small file in one), and bypass the block cache. Seeks and
 * backward steps work, each reading a window from its block onwards. */
int sst_reader_iter_sequential(struct sst_reader *r, uint64_t readahead, struct iter **out);

#endif
