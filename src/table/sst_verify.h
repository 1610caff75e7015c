/*
 * sst_verify.h - the deep check of one SST file, for `cirrus verify --deep`.
 *
 * Where the reader checks what it touches, when it touches it, and fails at
 * the first problem, the verifier reads the whole object in one get and
 * holds every byte of it to the format (docs/FORMAT.md, "SST files"):
 *
 *  1. the object has the size its description records;
 *  2. the footer: magic, checksum, version, handles inside the file;
 *  3. layout: data blocks from offset 0, then filter, properties, index and
 *     footer, with no gaps, so that every byte lies under some checksum;
 *  4. every block: handle, trailer checksum, compression type, inflated
 *     length; data and index blocks: every entry decodes, the restart array
 *     matches the entries, every kind is one the format defines;
 *  5. internal keys strictly increase within and across data blocks, and
 *     each index entry's key is the last key of its block;
 *  6. with a global seq, every stored seq and the properties' max_seq are 0;
 *  7. the properties match the data (n_entries, n_deletes, smallest and
 *     largest user keys, seq range, n_data_blocks, raw key and value bytes)
 *     and the description (struct sst_expect);
 *  8. with a filter, every key is "maybe present".
 *
 * It goes on past a problem wherever the rest can still be checked: a bad
 * data block is reported and the next one checked (key order then resumes
 * from the index's key for the bad block). What cannot be checked is not
 * reported twice: without a sound footer nothing else is read, without a
 * sound index no data block, without a sound properties block nothing is
 * compared with it, and the properties are compared with the data only when
 * every data block was read.
 *
 * Calls: objstore (one get per file), table, util.
 */
#ifndef CIRRUS_TABLE_SST_VERIFY_H
#define CIRRUS_TABLE_SST_VERIFY_H

#include <stddef.h>
#include <stdint.h>

struct objstore;

/* What a caller expects of a file: the commit entry's or manifest's
 * description of it. Every part may be unknown. */
struct sst_expect {
    uint64_t size; /* object bytes; 0: unknown (no SST is that short) */
    /* smallest and largest user keys (borrowed), when have_keys */
    const uint8_t *smallest;
    size_t smallest_len;
    const uint8_t *largest;
    size_t largest_len;
    /* seq range as readers see it (a file with a global seq: both equal
     * it), when have_seqs */
    uint64_t min_seq, max_seq;
    uint64_t n_entries, n_deletes; /* when have_counts */
    int have_keys, have_seqs, have_counts;
    /* the seq the file is read with (L0 files written by commits); 0: its
     * entries carry their own. Not an expectation but how to read it. */
    uint64_t global_seq;
};

/* One problem found in object `name` (borrowed, as passed to sst_verify).
 * `what` (borrowed for the call) is a sentence that names the part and says
 * what is wrong, without the object name, e.g. "data block at offset 8192:
 * checksum mismatch (stored 1a2b3c4d, computed 5e6f7081)". */
typedef void (*sst_problem_fn)(const char *name, const char *what, void *arg);

/*
 * Checks object `name` of store `os` (both borrowed) as the SST file
 * `expect` describes (NULL: nothing known, no global seq): everything in
 * the list above, in one objstore get of the whole object. Every problem
 * goes to fn(name, what, arg) (fn may be NULL) as it is found.
 * *bytes_read_out (may be NULL) gets the bytes fetched, also on error.
 *
 * Returns 0 when the file is sound; CIRRUS_ECORRUPT when any problem was
 * found (message: the object, the first problem and how many in all; an
 * unknown format version counts as a problem); CIRRUS_ENOTFOUND when there
 * is no such object; CIRRUS_EIO or another store error when it could not
 * be read; CIRRUS_ENOMEM. The last three leave the check unfinished (fn may
 * have been called already); the message names the object.
 */
int sst_verify(uint64_t *bytes_read_out, struct objstore *os, const char *name,
               const struct sst_expect *expect, sst_problem_fn fn, void *arg);

#endif
