/*
 * fixture.h - the scaffolding of engine tests that drive a database through
 * the public API (cirrus.h) in a fresh temporary directory: cmocka setup
 * and teardown, options for tests that commit by hand, opening, committing
 * and small batches.
 *
 * For cmocka tests only: include <cmocka.h> (and what it needs) first. The
 * helpers fail the running test (fail_msg / assert_*) instead of returning
 * errors. A test that uses them names `db testsupport` in its
 * cirrus-test-libs line.
 */
#ifndef CIRRUS_TESTS_FIXTURE_H
#define CIRRUS_TESTS_FIXTURE_H

#include <stdint.h>

#include "cirrus.h"

/* The cmocka state of one test. */
struct fixture {
    char *dir; /* a fresh directory, the database's URL; removed by teardown */
};

/* cmocka setup and teardown: *state becomes a struct fixture whose
 * directory is named after the test program. */
int fixture_setup(void **state);
int fixture_teardown(void **state);

/* Defaults without background threads: nothing is committed or compacted
 * unless the test asks (cirrus_flush, cirrus_compact), so tests can count
 * their own seqs. */
cirrus_options fixture_manual_options(void);

/* fixture_manual_options() with small shapes, so that a few hundred small
 * commits fill several levels: SST files of target_file_size bytes, level 1
 * targets 4096 bytes, ratio 4. */
cirrus_options fixture_small_levels(uint64_t target_file_size);

/* Opens (creating if the options say so) the database at dir; fails the
 * test, with the error message, when that fails. */
cirrus_db *fixture_open(const char *dir, const cirrus_options *o);

/* Commits what db buffered (cirrus_flush) and returns the seq; fails the
 * test on error. */
uint64_t fixture_commit(cirrus_db *db);

/* Buffers one put of a string key and value; fails the test on error. */
void fixture_put_str(cirrus_db *db, const char *k, const char *v);

/* A new batch (caller frees) that puts key%04d = tag-%d for i in
 * [from, to). */
cirrus_batch *fixture_batch_range(int from, int to, const char *tag);

/* Points ro at seq: a new snapshot in *snap (free with
 * cirrus_snapshot_free), or none for CIRRUS_SEQ_LATEST (the latest, with
 * buffered writes). Returns cirrus_snapshot_new's code; on error *snap is
 * NULL and ro reads nothing it should not (a test then checks the code). */
int fixture_at(cirrus_db *db, uint64_t seq, cirrus_read_options *ro, cirrus_snapshot **snap);

/* cirrus_get of key at seq (CIRRUS_SEQ_LATEST: latest): the code of the
 * snapshot or of the read; *val_out (may be NULL to drop it) gets the
 * value, to free with cirrus_free. */
int fixture_get_at(cirrus_db *db, uint64_t seq, const void *key, size_t key_len, void **val_out,
                   size_t *val_len_out);

#endif
