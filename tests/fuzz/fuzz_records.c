/* cirrus-test-libs: db testsupport */
/*
 * fuzz_records.c - the small checksummed records of a database: the
 * identity (src/db/identity.c, object `identity` and its item) and pins
 * (src/db/pins.c, items pin/<kind>/<name>).
 *
 * The first byte picks the record (even: identity, odd: pin); the rest is
 * decoded as it is and resealed (its last 4 bytes replaced by the checksum
 * of the rest). Properties:
 *   - decoding returns 0, CIRRUS_ECORRUPT, CIRRUS_EVERSION or CIRRUS_ENOMEM
 *     and frees everything on failure (LeakSanitizer);
 *   - text fields hold no NUL (they are C strings once decoded: a NUL would
 *     silently shorten a location, a manifest name or a clone's detail);
 *   - round trip: encode(decode(x)) decodes to the same record and encodes
 *     to the same bytes again.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cirrus.h"
#include "db/identity.h"
#include "db/pins.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/hash.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int decoded_ok(int rc)
{
    FUZZ_CHECK(rc == 0 || rc == CIRRUS_ECORRUPT || rc == CIRRUS_EVERSION || rc == CIRRUS_ENOMEM);
    return rc == 0;
}

/* The record's last field, text, stands whole just before the checksum:
 * a decoder that stopped it at a NUL would hand out a shorter string. */
static void last_text_whole(const uint8_t *data, size_t size, const char *text)
{
    size_t n = strlen(text);
    FUZZ_CHECK(size >= 4 + n && memcmp(data + size - 4 - n, text, n) == 0);
}

static void identity_same(const struct identity *a, const struct identity *b)
{
    FUZZ_CHECK(memcmp(a->id, b->id, IDENTITY_ID_LEN) == 0 && a->created_ms == b->created_ms &&
               a->base_seq == b->base_seq && a->base_time_ms == b->base_time_ms &&
               strcmp(a->location, b->location) == 0);
}

static void try_identity(const uint8_t *data, size_t size)
{
    struct identity a, b;
    struct buf b1 = {0}, b2 = {0};
    if (!decoded_ok(identity_decode(&a, data, size, "fuzz")))
        return;
    last_text_whole(data, size, a.location);
    FUZZ_CHECK(identity_encode(&b1, &a) == 0);
    FUZZ_CHECK(identity_decode(&b, b1.data, b1.len, "round trip") == 0);
    identity_same(&a, &b);
    FUZZ_CHECK(identity_encode(&b2, &b) == 0);
    FUZZ_CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
    identity_clear(&a);
    identity_clear(&b);
    buf_free(&b1);
    buf_free(&b2);
}

static void pin_same(const struct pin *a, const struct pin *b)
{
    FUZZ_CHECK(a->seq == b->seq && a->time_ms == b->time_ms && a->created_ms == b->created_ms &&
               a->expires_ms == b->expires_ms && strcmp(a->manifest, b->manifest) == 0 &&
               strcmp(a->detail, b->detail) == 0);
}

static void try_pin(const uint8_t *data, size_t size)
{
    struct pin a, b;
    struct buf b1 = {0}, b2 = {0};
    if (!decoded_ok(pin_decode(&a, data, size, "fuzz")))
        return;
    last_text_whole(data, size, a.detail);
    FUZZ_CHECK(pin_encode(&b1, &a) == 0);
    FUZZ_CHECK(pin_decode(&b, b1.data, b1.len, "round trip") == 0);
    pin_same(&a, &b);
    FUZZ_CHECK(pin_encode(&b2, &b) == 0);
    FUZZ_CHECK(b1.len == b2.len && memcmp(b1.data, b2.data, b1.len) == 0);
    pin_clear(&a);
    pin_clear(&b);
    buf_free(&b1);
    buf_free(&b2);
}

static void try_decode(int which, const uint8_t *data, size_t size)
{
    if (which & 1)
        try_pin(data, size);
    else
        try_identity(data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    int which = data[0];
    data++, size--;
    try_decode(which, data, size);
    if (size >= 4) {
        uint8_t *copy = fuzz_malloc(size);
        memcpy(copy, data, size);
        encode_fixed32(copy + size - 4, checksum32(copy, size - 4));
        try_decode(which, copy, size);
        free(copy);
    }
    return 0;
}
