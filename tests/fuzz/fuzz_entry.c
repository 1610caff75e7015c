/* cirrus-test-libs: db testsupport */
/*
 * fuzz_entry.c - commit log entries (src/db/entry.c) and delta objects
 * (src/db/commitlog.c): the bytes of a metadata item or of a delta object.
 *
 * Each input is decoded three ways: as it is, "resealed" (its last 4 bytes
 * replaced by the checksum of the rest, so that mutations get past the
 * checksum), and as the delta object of a stub entry that names it (through
 * commitlog_decode, from an in-memory object store). Properties:
 *   - decoding returns 0, CIRRUS_ECORRUPT, CIRRUS_EVERSION or CIRRUS_ENOMEM,
 *     and leaves nothing allocated on failure (LeakSanitizer);
 *   - round trip: an entry that decodes re-encodes to bytes that decode to
 *     an entry which encodes to the same bytes again (encode o decode is
 *     the identity on encodings), with every field equal (a file's write
 *     time too: from tag 4, else from its name);
 *   - a delta object is accepted only when it is a whole entry of the stub's
 *     commit id that is not itself a stub.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cirrus.h"
#include "db/commitlog.h"
#include "db/entry.h"
#include "objstore/objstore.h"
#include "support/memstore.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/hash.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int bytes_eq(const void *a, size_t a_len, const void *b, size_t b_len)
{
    return a_len == b_len && (a_len == 0 || memcmp(a, b, a_len) == 0);
}

static int str_eq(const char *a, const char *b)
{
    return (!a && !b) || (a && b && strcmp(a, b) == 0);
}

static int file_eq(const struct file_meta *a, const struct file_meta *b)
{
    return str_eq(a->name, b->name) && a->size == b->size && a->level == b->level &&
           a->global_seq == b->global_seq &&
           bytes_eq(a->smallest, a->smallest_len, b->smallest, b->smallest_len) &&
           bytes_eq(a->largest, a->largest_len, b->largest, b->largest_len) &&
           a->min_seq == b->min_seq && a->max_seq == b->max_seq && a->n_entries == b->n_entries &&
           a->n_deletes == b->n_deletes && a->write_time_ms == b->write_time_ms;
}

static int entry_eq(const struct entry *a, const struct entry *b)
{
    if (a->seq != b->seq || a->kind != b->kind ||
        memcmp(a->commit_id, b->commit_id, COMMIT_ID_LEN) != 0 || a->time_ms != b->time_ms ||
        !str_eq(a->writer, b->writer) || a->n_added != b->n_added || a->n_removed != b->n_removed ||
        a->n_ranges != b->n_ranges || !str_eq(a->app_id, b->app_id) ||
        (a->app_id && a->epoch != b->epoch) || a->horizon != b->horizon ||
        !str_eq(a->delta_name, b->delta_name) ||
        (a->delta_name &&
         (a->delta_size != b->delta_size || a->delta_checksum != b->delta_checksum)))
        return 0;
    for (size_t i = 0; i < a->n_added; i++)
        if (!file_eq(&a->added[i], &b->added[i]))
            return 0;
    for (size_t i = 0; i < a->n_removed; i++)
        if (!str_eq(a->removed[i], b->removed[i]))
            return 0;
    for (size_t i = 0; i < a->n_ranges; i++) {
        const struct range_del *x = &a->ranges[i], *y = &b->ranges[i];
        if (!bytes_eq(x->from, x->from_len, y->from, y->from_len) ||
            !bytes_eq(x->to, x->to_len, y->to, y->to_len) || x->seq != y->seq)
            return 0;
    }
    return 1;
}

static void check_rc(int rc)
{
    FUZZ_CHECK(rc == 0 || rc == CIRRUS_ECORRUPT || rc == CIRRUS_EVERSION || rc == CIRRUS_ENOMEM);
}

/* encode(e) decodes to an entry equal to e that encodes the same. */
static void check_round_trip(const struct entry *e)
{
    struct buf b1 = {0}, b2 = {0};
    struct entry e2;
    FUZZ_CHECK(entry_encode(&b1, e) == 0);
    FUZZ_CHECK(entry_decode(&e2, b1.data, b1.len, "round trip") == 0);
    FUZZ_CHECK(entry_eq(e, &e2));
    FUZZ_CHECK(entry_encode(&b2, &e2) == 0);
    FUZZ_CHECK(bytes_eq(b1.data, b1.len, b2.data, b2.len));
    entry_clear(&e2);
    buf_free(&b1);
    buf_free(&b2);
}

static void try_decode(const uint8_t *data, size_t size)
{
    struct entry e;
    int rc = entry_decode(&e, data, size, "fuzz");
    check_rc(rc);
    if (rc == 0) {
        check_round_trip(&e);
        entry_clear(&e);
    }
}

/* The input as the delta object of a stub that names it. */
static void try_delta(const uint8_t *data, size_t size)
{
    struct objstore *os = NULL;
    struct commitlog cl = {0};
    struct entry stub = {0}, e, whole;
    struct buf raw = {0};
    char name[] = "delta/fuzz-7";
    FUZZ_CHECK(memstore_open(&os) == 0);
    FUZZ_CHECK(objstore_put(os, name, data, size) == 0);
    cl.os = os;
    stub.seq = 7;
    stub.kind = CIRRUS_ENTRY_WRITE;
    /* the commit id of the input's own entry, when it decodes */
    int whole_rc = entry_decode(&whole, data, size, "delta");
    check_rc(whole_rc);
    if (whole_rc == 0)
        memcpy(stub.commit_id, whole.commit_id, COMMIT_ID_LEN);
    stub.delta_name = name;
    stub.delta_size = size;
    stub.delta_checksum = checksum32(data, size);
    FUZZ_CHECK(entry_encode(&raw, &stub) == 0);
    stub.delta_name = NULL;
    int rc = commitlog_decode(&cl, raw.data, raw.len, 7, &e);
    check_rc(rc);
    /* a whole entry that is not a stub is accepted, anything else refused */
    FUZZ_CHECK((rc == 0) == (whole_rc == 0 && !whole.delta_name) || rc == CIRRUS_ENOMEM);
    if (rc == 0) {
        /* accepted: the object is a whole, non-stub entry of that commit */
        FUZZ_CHECK(whole_rc == 0 && !whole.delta_name && !e.delta_name);
        FUZZ_CHECK(memcmp(e.commit_id, stub.commit_id, COMMIT_ID_LEN) == 0);
        FUZZ_CHECK(entry_eq(&e, &whole));
        check_round_trip(&e);
        entry_clear(&e);
    }
    if (whole_rc == 0)
        entry_clear(&whole);
    /* a stub whose size or checksum disagrees with the object is refused */
    buf_reset(&raw);
    stub.delta_name = name;
    stub.delta_size = size + 1;
    FUZZ_CHECK(entry_encode(&raw, &stub) == 0);
    FUZZ_CHECK(commitlog_decode(&cl, raw.data, raw.len, 7, &e) == CIRRUS_ECORRUPT);
    /* and one of another seq */
    FUZZ_CHECK(commitlog_decode(&cl, raw.data, raw.len, 8, &e) == CIRRUS_ECORRUPT);
    buf_free(&raw);
    os->ops->close(os);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    try_decode(data, size);
    if (size >= 4) {
        uint8_t *copy = fuzz_malloc(size);
        memcpy(copy, data, size);
        encode_fixed32(copy + size - 4, checksum32(copy, size - 4));
        try_decode(copy, size);
        try_delta(copy, size);
        free(copy);
    }
    return 0;
}
