/*
 * lease.c - named leases with fencing tokens, one metadata item each:
 * (D, "lease/<name>") -> owner, token, expiry (docs/FORMAT.md, "Leases").
 *
 * Every change is a conditional write on the item's version, so of two
 * nodes racing for a free lease exactly one wins. The item is never deleted:
 * a release keeps the token, so tokens never go back to 1 and strictly
 * increase each time the lease changes hands.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "metastore/metastore.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/status.h"
#include "util/sys.h"

#define LEASE_FORMAT_VERSION 1
#define LEASE_ATTEMPTS 16

struct lease_state {
    cirrus_lease_info info;
    uint64_t version; /* item version, 0 when absent */
};

static int check_args(const char *name, const char *owner, int64_t ttl_ms)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > 64)
        return err_set(CIRRUS_EINVALID, "lease name must have 1 to 64 characters");
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return err_set(CIRRUS_EINVALID, "lease name %s: only letters, digits, '-', '_', '.'",
                           name);
    }
    if (owner && (!*owner || strlen(owner) >= sizeof(((cirrus_lease_info *)0)->owner)))
        return err_set(CIRRUS_EINVALID, "lease owner must have 1 to 127 characters");
    if (ttl_ms < 0 || ttl_ms > (int64_t)365 * 24 * 3600 * 1000)
        return err_set(CIRRUS_EINVALID, "lease ttl %" PRId64 " ms out of range", ttl_ms);
    return 0;
}

static void lease_sk(char *out, size_t len, const char *name)
{
    snprintf(out, len, "lease/%s", name);
}

static int encode(struct buf *b, const cirrus_lease_info *l)
{
    int rc;
    if ((rc = buf_put_u8(b, LEASE_FORMAT_VERSION)) < 0 ||
        (rc = buf_put_lenbytes(b, l->owner, strlen(l->owner))) < 0 ||
        (rc = buf_put_varint(b, l->token)) < 0 ||
        (rc = buf_put_fixed64(b, (uint64_t)l->expires_ms)) < 0)
        return rc;
    return buf_put_fixed32(b, checksum32(b->data, b->len));
}

static int decode(cirrus_lease_info *l, const uint8_t *p, size_t len, const char *name)
{
    const uint8_t *end = p + len - 4, *owner;
    size_t owner_len;
    uint8_t version;
    uint64_t expires;
    memset(l, 0, sizeof(*l));
    if (len < 4 + 1 || decode_fixed32(end) != checksum32(p, len - 4))
        return err_set(CIRRUS_ECORRUPT, "lease %s: item checksum mismatch", name);
    if (get_u8(&p, end, &version) < 0 || version != LEASE_FORMAT_VERSION)
        return err_set(CIRRUS_EVERSION, "lease %s: format version %u not supported", name, version);
    if (get_lenbytes(&p, end, &owner, &owner_len) < 0 || owner_len >= sizeof(l->owner) ||
        get_varint64(&p, end, &l->token) < 0 || get_fixed64(&p, end, &expires) < 0 || p != end)
        return err_set(CIRRUS_ECORRUPT, "lease %s: malformed item", name);
    memcpy(l->owner, owner, owner_len);
    l->expires_ms = (int64_t)expires;
    return 0;
}

int db_lease_decode(cirrus_lease_info *l, const uint8_t *p, size_t len, const char *name)
{
    return decode(l, p, len, name);
}

static int load(cirrus_db *db, const char *name, struct lease_state *st)
{
    char sk[80];
    uint8_t *raw = NULL;
    size_t len = 0;
    lease_sk(sk, sizeof(sk), name);
    memset(st, 0, sizeof(*st));
    int rc = metastore_get(db->ms, db->log.pk, sk, &raw, &len, &st->version);
    if (rc == CIRRUS_ENOTFOUND) {
        st->version = 0;
        return 0;
    }
    if (rc < 0)
        return err_prefix(rc, "reading lease %s", name);
    rc = decode(&st->info, raw, len, name);
    free(raw);
    return rc;
}

/* Writes info over the state read as st; CIRRUS_ECONFLICT if it changed. */
static int store(cirrus_db *db, const char *name, const struct lease_state *st,
                 const cirrus_lease_info *info)
{
    struct buf b = {0};
    char sk[80];
    int rc;
    lease_sk(sk, sizeof(sk), name);
    if ((rc = encode(&b, info)) < 0)
        goto done;
    if (st->version == 0)
        rc = metastore_put_if_absent(db->ms, db->log.pk, sk, b.data, b.len);
    else
        rc = metastore_put_if_version(db->ms, db->log.pk, sk, b.data, b.len, st->version);
    if (rc < 0 && rc != CIRRUS_ECONFLICT)
        rc = err_prefix(rc, "writing lease %s", name);
done:
    buf_free(&b);
    return rc;
}

static int held_by(const cirrus_lease_info *l, const char *owner, int64_t now)
{
    return l->owner[0] && strcmp(l->owner, owner) == 0 && l->expires_ms > now;
}

int cirrus_lease_acquire(cirrus_db *db, const char *name, const char *owner, int64_t ttl_ms,
                         uint64_t *token_out, cirrus_lease_info *holder_out)
{
    err_clear();
    return db_lease_acquire(db, name, owner, ttl_ms, token_out, holder_out);
}

int db_lease_acquire(cirrus_db *db, const char *name, const char *owner, int64_t ttl_ms,
                     uint64_t *token_out, cirrus_lease_info *holder_out)
{
    int rc;
    if ((rc = check_args(name, owner, ttl_ms)) < 0 || !owner)
        return rc < 0 ? rc : err_set(CIRRUS_EINVALID, "lease owner is NULL");
    for (int attempt = 0; attempt < LEASE_ATTEMPTS; attempt++) {
        struct lease_state st;
        cirrus_lease_info next;
        int64_t now = now_ms();
        if ((rc = load(db, name, &st)) < 0)
            return rc;
        if (st.info.owner[0] && st.info.expires_ms > now && strcmp(st.info.owner, owner) != 0) {
            if (holder_out)
                *holder_out = st.info;
            return err_set(CIRRUS_EBUSY, "lease %s is held by %s until %" PRId64, name,
                           st.info.owner, st.info.expires_ms);
        }
        memset(&next, 0, sizeof(next));
        snprintf(next.owner, sizeof(next.owner), "%s", owner);
        /* a renewal keeps the token; any change of hands (including taking
         * it back after it lapsed or was released) bumps it */
        next.token = held_by(&st.info, owner, now) ? st.info.token : st.info.token + 1;
        next.expires_ms = now + ttl_ms;
        rc = store(db, name, &st, &next);
        if (rc == 0) {
            if (token_out)
                *token_out = next.token;
            return 0;
        }
        if (rc != CIRRUS_ECONFLICT)
            return rc;
    }
    return err_set(CIRRUS_EBUSY, "lease %s: lost %d races in a row", name, LEASE_ATTEMPTS);
}

int cirrus_lease_renew(cirrus_db *db, const char *name, const char *owner, int64_t ttl_ms,
                       uint64_t *token_out)
{
    int rc;
    err_clear();
    if ((rc = check_args(name, owner, ttl_ms)) < 0 || !owner)
        return rc < 0 ? rc : err_set(CIRRUS_EINVALID, "lease owner is NULL");
    for (int attempt = 0; attempt < LEASE_ATTEMPTS; attempt++) {
        struct lease_state st;
        int64_t now = now_ms();
        if ((rc = load(db, name, &st)) < 0)
            return rc;
        if (!held_by(&st.info, owner, now))
            return err_set(CIRRUS_EBUSY, "lease %s is not held by %s (holder: %s)", name, owner,
                           st.info.owner[0] && st.info.expires_ms > now ? st.info.owner : "none");
        cirrus_lease_info next = st.info;
        next.expires_ms = now + ttl_ms;
        rc = store(db, name, &st, &next);
        if (rc == 0) {
            if (token_out)
                *token_out = next.token;
            return 0;
        }
        if (rc != CIRRUS_ECONFLICT)
            return rc;
    }
    return err_set(CIRRUS_EBUSY, "lease %s: lost %d races in a row", name, LEASE_ATTEMPTS);
}

int cirrus_lease_release(cirrus_db *db, const char *name, const char *owner)
{
    err_clear();
    return db_lease_release(db, name, owner);
}

int db_lease_release(cirrus_db *db, const char *name, const char *owner)
{
    int rc;
    if ((rc = check_args(name, owner, 0)) < 0 || !owner)
        return rc < 0 ? rc : err_set(CIRRUS_EINVALID, "lease owner is NULL");
    for (int attempt = 0; attempt < LEASE_ATTEMPTS; attempt++) {
        struct lease_state st;
        if ((rc = load(db, name, &st)) < 0)
            return rc;
        if (!held_by(&st.info, owner, now_ms()))
            return err_set(CIRRUS_EBUSY, "lease %s is not held by %s", name, owner);
        cirrus_lease_info next = st.info;
        next.owner[0] = '\0';
        next.expires_ms = 0;
        rc = store(db, name, &st, &next);
        if (rc != CIRRUS_ECONFLICT)
            return rc;
    }
    return err_set(CIRRUS_EBUSY, "lease %s: lost %d races in a row", name, LEASE_ATTEMPTS);
}

int cirrus_lease_show(cirrus_db *db, const char *name, cirrus_lease_info *out)
{
    struct lease_state st;
    int rc;
    err_clear();
    if ((rc = check_args(name, NULL, 0)) < 0 || (rc = load(db, name, &st)) < 0)
        return rc;
    if (st.version == 0)
        return err_set(CIRRUS_ENOTFOUND, "lease %s was never acquired", name);
    *out = st.info;
    return 0;
}
