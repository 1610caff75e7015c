/*
 * sst_output.h - the one writer of SST objects. Flush and staging (a
 * memtable or a batch as the L0 files of one commit, write.c) and
 * compaction (a sorted run of one level, compaction.c) write through it.
 *
 * Fed entries in internal-key order, an output builds files of about
 * target_file_size bytes, uploads each finished file under a new name
 * (filename.h) and appends its description, write time included
 * (entry.h), to the entry being prepared. Nothing is committed here.
 *
 * Rules:
 *  1. A file is cut only between user keys: when the file being built has
 *     reached target_file_size and the next entry starts a new user key,
 *     the file is finished first; the last file is finished by
 *     sst_output_finish(). So all versions of a user key are in one file.
 *  2. Commit outputs write the L0 files of one commit: every stored seq is
 *     0, the description says level 0, global seq ENTRY_SEQ_SELF (the
 *     entry's seq once it commits; docs/FORMAT.md, "Global sequence
 *     numbers") and min/max seq 0. Level outputs write files of one level
 *     whose keys carry their own seqs (global seq 0) and whose min/max seq
 *     are those of their keys.
 *  3. Block size, bloom bits, compression and target file size come from
 *     the db options, here and nowhere else.
 *  4. A file is uploaded before its description is appended: every file an
 *     entry lists exists. After a failure the files uploaded so far stay
 *     listed; the caller drops the entry and GC collects them.
 *
 * Not thread-safe: one output is fed by one thread. Calls table/ (the
 * builder), the object store, entry.c, filename.c and util/.
 */
#ifndef CIRRUS_DB_SST_OUTPUT_H
#define CIRRUS_DB_SST_OUTPUT_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "cirrus.h"
#include "db/entry.h"

struct block_cache;
struct objstore;
struct sst_output;

/* A new output of L0 files for one commit (rule 2), listed in e. os, opts
 * and e are borrowed and must outlive the output. CIRRUS_ENOMEM. */
int sst_output_new_commit(struct sst_output **out, struct objstore *os, const cirrus_options *opts,
                          struct entry *e);

/* A new output of files of `level` (>= 1) whose keys carry their own seqs,
 * listed in e. bytes_written (may be NULL) gets each listed file's bytes
 * added as it is listed. Borrowed as for sst_output_new_commit. */
int sst_output_new_level(struct sst_output **out, struct objstore *os, const cirrus_options *opts,
                         uint32_t level, _Atomic uint64_t *bytes_written, struct entry *e);

/* Puts every data block of the files o writes from now on into cache
 * (borrowed; NULL: none) as it is built, so that reads of a file that
 * just became visible hit the cache. For flushes and compactions, whose
 * files are read next; not for bulk loads or copies. */
void sst_output_warm(struct sst_output *o, struct block_cache *cache);

/* Adds one entry (copied): internal key ikey (table/ikey.h), above every
 * key added before, and its value. May finish and upload a file first
 * (rule 1). Returns 0, CIRRUS_EINVALID (keys out of order; a seq other
 * than 0 in a commit output), CIRRUS_ENOMEM, or the upload's error with
 * the object named. */
int sst_output_add(struct sst_output *o, const uint8_t *ikey, size_t ikey_len, const uint8_t *val,
                   size_t val_len);

/* sst_output_add() of user key ukey with seq 0 and `kind`: the entries of
 * a commit output. */
int sst_output_add_ukey(struct sst_output *o, const uint8_t *ukey, size_t ukey_len, int kind,
                        const uint8_t *val, size_t val_len);

/* Finishes, uploads and lists the file being built, if any. Errors as for
 * sst_output_add(). */
int sst_output_finish(struct sst_output *o);

/* Frees o (NULL is fine); a file still being built is dropped, never
 * uploaded. */
void sst_output_free(struct sst_output *o);

#endif
