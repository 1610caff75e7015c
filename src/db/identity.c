/*
 * identity.c - the database identity: encoding, and the check every open
 * makes (identity.h).
 */
#include "db/identity.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "db/filename.h"
#include "metastore/metastore.h"
#include "objstore/objstore.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/status.h"
#include "util/sys.h"

#define IDENTITY_MAGIC 0x49424443u /* "CDBI" */

int identity_encode(struct buf *b, const struct identity *id)
{
    size_t start = b->len;
    const char *loc = id->location ? id->location : "";
    int rc;
    if ((rc = buf_put_fixed32(b, IDENTITY_MAGIC)) < 0 ||
        (rc = buf_put_u8(b, IDENTITY_FORMAT_VERSION)) < 0 ||
        (rc = buf_append(b, id->id, IDENTITY_ID_LEN)) < 0 ||
        (rc = buf_put_fixed64(b, (uint64_t)id->created_ms)) < 0 ||
        (rc = buf_put_varint(b, id->base_seq)) < 0 ||
        (rc = buf_put_fixed64(b, (uint64_t)id->base_time_ms)) < 0 ||
        (rc = buf_put_lenbytes(b, loc, strlen(loc))) < 0)
        return rc;
    return buf_put_fixed32(b, checksum32(b->data + start, b->len - start));
}

int identity_decode(struct identity *out, const uint8_t *data, size_t len, const char *what)
{
    const uint8_t *p = data, *end = data + len, *loc;
    uint32_t magic, sum;
    uint8_t version;
    uint64_t created, base_time;
    size_t loc_len;
    memset(out, 0, sizeof(*out));
    if (len < 9 || get_fixed32(&p, end, &magic) < 0 || magic != IDENTITY_MAGIC)
        return err_set(CIRRUS_ECORRUPT, "%s: not a cirrus database identity", what);
    sum = decode_fixed32(end - 4);
    if (sum != checksum32(data, len - 4))
        return err_set(CIRRUS_ECORRUPT, "%s: checksum mismatch", what);
    end -= 4;
    if (get_u8(&p, end, &version) < 0)
        return err_set(CIRRUS_ECORRUPT, "%s: truncated", what);
    if (version != IDENTITY_FORMAT_VERSION)
        return err_set(CIRRUS_EVERSION, "%s: identity format version %u (this build knows %d)",
                       what, version, IDENTITY_FORMAT_VERSION);
    if ((size_t)(end - p) < IDENTITY_ID_LEN)
        return err_set(CIRRUS_ECORRUPT, "%s: truncated", what);
    memcpy(out->id, p, IDENTITY_ID_LEN);
    p += IDENTITY_ID_LEN;
    if (get_fixed64(&p, end, &created) < 0 || get_varint64(&p, end, &out->base_seq) < 0 ||
        get_fixed64(&p, end, &base_time) < 0 || get_lenbytes(&p, end, &loc, &loc_len) < 0 ||
        p != end || memchr(loc, '\0', loc_len))
        return err_set(CIRRUS_ECORRUPT, "%s: malformed identity", what);
    out->created_ms = (int64_t)created;
    out->base_time_ms = (int64_t)base_time;
    if (!(out->location = strndup((const char *)loc, loc_len)))
        return err_nomem();
    return 0;
}

void identity_clear(struct identity *id)
{
    free(id->location);
    memset(id, 0, sizeof(*id));
}

void identity_hex(char out[static 2 * IDENTITY_ID_LEN + 1], const struct identity *id)
{
    hex_encode(out, id->id, IDENTITY_ID_LEN);
}

static int stop_at_first(const struct objstore_entry *e, void *arg)
{
    (void)e;
    *(int *)arg = 1;
    return 1;
}

int identity_location_used(cirrus_db *db, int *used_out)
{
    static const char *const dirs[] = {FILENAME_SST_DIR, FILENAME_MANIFEST_DIR, FILENAME_DELTA_DIR,
                                       FILENAME_PIN_DIR, IDENTITY_OBJECT};
    int used = 0;
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && !used; i++) {
        int rc = objstore_list(db->os, dirs[i], stop_at_first, &used);
        if (rc < 0)
            return err_prefix(rc, "listing %s", dirs[i]);
    }
    *used_out = used;
    return 0;
}

/* Writes the object copy of an identity whose item exists (bytes `raw`):
 * an object already there must hold the same bytes. */
static int write_object(cirrus_db *db, const uint8_t *raw, size_t len)
{
    int rc = objstore_put(db->os, IDENTITY_OBJECT, raw, len);
    if (rc == CIRRUS_EEXISTS) {
        uint8_t *have = NULL;
        size_t have_len = 0;
        if ((rc = objstore_get_all(db->os, IDENTITY_OBJECT, &have, &have_len)) == 0 &&
            (have_len != len || memcmp(have, raw, len) != 0))
            rc = err_set(CIRRUS_EMISMATCH,
                         "%s: holds the identity of another database than its metadata store %s",
                         db->os->url, db->ms->url);
        free(have);
    }
    return rc < 0 ? err_prefix(rc, "writing the database identity") : 0;
}

static int new_identity(cirrus_db *db, uint64_t base_seq, int64_t base_time_ms, struct buf *b)
{
    struct identity id = {0};
    uint64_t r0 = rand_u64(), r1 = rand_u64();
    memcpy(id.id, &r0, 8);
    memcpy(id.id + 8, &r1, 8);
    id.created_ms = now_ms();
    id.base_seq = base_seq;
    id.base_time_ms = base_time_ms;
    id.location = db->os->url;
    return identity_encode(b, &id);
}

/* Puts the item (of racing creators one wins), then the object with the
 * winner's bytes, and decodes them into db->ident. */
static int create(cirrus_db *db, uint64_t base_seq, int64_t base_time_ms, int exclusive)
{
    struct buf b = {0};
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t version;
    int rc;
    if ((rc = new_identity(db, base_seq, base_time_ms, &b)) < 0)
        goto done;
    rc = metastore_put_if_absent(db->ms, db->log.pk, IDENTITY_SK, b.data, b.len);
    if (rc == CIRRUS_ECONFLICT && exclusive) {
        rc = err_set(CIRRUS_EEXISTS, "%s: a database exists there already (metadata store %s)",
                     db->os->url, db->ms->url);
        goto done;
    }
    if (rc == CIRRUS_ECONFLICT)
        rc = metastore_get(db->ms, db->log.pk, IDENTITY_SK, &raw, &len, &version);
    else if (rc == 0 && !(raw = buf_take(&b, &len)))
        rc = err_nomem();
    if (rc < 0) {
        rc = err_prefix(rc, "creating the database identity");
        goto done;
    }
    if ((rc = write_object(db, raw, len)) < 0)
        goto done;
    rc = identity_decode(&db->ident, raw, len, "identity item");
done:
    free(raw);
    buf_free(&b);
    return rc;
}

int identity_create(cirrus_db *db, uint64_t base_seq, int64_t base_time_ms)
{
    int rc;
    if ((rc = create(db, base_seq, base_time_ms, 1)) < 0)
        return rc;
    db->log.base_seq = db->ident.base_seq;
    return 0;
}

int identity_location_free(cirrus_db *db, const char *url)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t version, head, pointer;
    int rc = metastore_get(db->ms, db->log.pk, IDENTITY_SK, &raw, &len, &version);
    free(raw);
    raw = NULL;
    if (rc == 0)
        return err_set(CIRRUS_EEXISTS, "%s: a database exists there already", url);
    if (rc != CIRRUS_ENOTFOUND)
        return err_prefix(rc, "reading the database identity item");
    if ((rc = objstore_head(db->os, IDENTITY_OBJECT, &version)) == 0)
        return err_set(CIRRUS_EEXISTS, "%s: a database exists there already", url);
    if (rc != CIRRUS_ENOTFOUND)
        return err_prefix(rc, "reading the database identity object");
    if ((rc = commitlog_get_head(&db->log, &head, &raw, &len)) < 0 ||
        (rc = commitlog_get_pointer(&db->log, &pointer)) < 0)
        return rc;
    free(raw);
    if (head > 0 || pointer > 0)
        return err_set(CIRRUS_EEXISTS, "%s: its metadata store %s holds a database of that name",
                       url, db->ms->url);
    return 0;
}

/* Whether anything was ever committed through this metadata store. */
static int has_history(cirrus_db *db, int *out)
{
    uint64_t head, pointer;
    uint8_t *raw = NULL;
    size_t len = 0;
    int rc = commitlog_get_head(&db->log, &head, &raw, &len);
    free(raw);
    if (rc == 0)
        rc = commitlog_get_pointer(&db->log, &pointer);
    *out = rc == 0 && (head > 0 || pointer > 0);
    return rc;
}

/* meta names the metadata store as the user gave it, else as resolved. */
static int mismatch_of(const char *url, const char *meta, const char *why)
{
    return err_set(CIRRUS_EMISMATCH,
                   "%s and metadata store %s are not one database: %s; nothing was written "
                   "or deleted (open the metadata store the location was created with, or "
                   "restore a backup into a new location)",
                   url, meta, why);
}

static int mismatch(cirrus_db *db, const char *url, const char *meta_url, const char *why)
{
    return mismatch_of(url, meta_url ? meta_url : db->ms->url, why);
}

/* Why an identity object with no item is refused, from the object. */
static void describe_orphan(char *why, size_t n, const uint8_t *obj, size_t obj_len)
{
    struct identity b = {0};
    char hb[33] = "?";
    if (identity_decode(&b, obj, obj_len, "identity object") == 0)
        identity_hex(hb, &b);
    snprintf(why, n,
             "the location holds database %s (created at %s), which the metadata store "
             "does not know",
             hb, b.location ? b.location : "?");
    identity_clear(&b);
}

int identity_check_orphan(struct objstore *os, const char *url, const char *meta, int rc)
{
    uint8_t *obj = NULL;
    size_t obj_len = 0;
    char saved[1024], why[256];
    snprintf(saved, sizeof(saved), "%s", cirrus_errmsg());
    int orc = objstore_get_all(os, IDENTITY_OBJECT, &obj, &obj_len);
    if (orc == 0) {
        describe_orphan(why, sizeof(why), obj, obj_len);
        free(obj);
        return mismatch_of(url, meta, why);
    }
    return err_set(rc, "%s", saved); /* nothing there (or unreadable): as it was */
}

/* One look at both copies (identity_check). */
static int check_once(cirrus_db *db, const char *url, const char *meta_url, int create_ok)
{
    uint8_t *item = NULL, *obj = NULL;
    size_t item_len = 0, obj_len = 0;
    uint64_t version;
    int history = 0, used = 0, rc;
    /* the object first: a creator writes the item first, so an object seen
     * has its item by the time the item is read (the other order could see
     * a racing creation as an object without an item) */
    int orc = objstore_get_all(db->os, IDENTITY_OBJECT, &obj, &obj_len);
    if (orc < 0 && orc != CIRRUS_ENOTFOUND) {
        rc = err_prefix(orc, "reading the database identity object");
        goto done;
    }
    int irc = metastore_get(db->ms, db->log.pk, IDENTITY_SK, &item, &item_len, &version);
    if (irc < 0 && irc != CIRRUS_ENOTFOUND) {
        rc = err_prefix(irc, "reading the database identity item");
        goto done;
    }
    if (irc == 0 && orc == 0) {
        if (item_len != obj_len || memcmp(item, obj, item_len) != 0) {
            struct identity a = {0}, b = {0};
            char ha[33] = "?", hb[33] = "?", why[160];
            if (identity_decode(&a, item, item_len, "identity item") == 0)
                identity_hex(ha, &a);
            if (identity_decode(&b, obj, obj_len, "identity object") == 0)
                identity_hex(hb, &b);
            identity_clear(&a);
            identity_clear(&b);
            snprintf(why, sizeof(why), "the location holds database %s, the metadata store %s", hb,
                     ha);
            rc = mismatch(db, url, meta_url, why);
            goto done;
        }
        rc = identity_decode(&db->ident, item, item_len, "identity item");
    } else if (irc == 0) {
        /* an item with no object: a creation that stopped half way (no
         * commit can have followed it), or the wrong location */
        if ((rc = has_history(db, &history)) < 0)
            goto done;
        if (history) {
            rc = mismatch(db, url, meta_url,
                          "the metadata store has a database whose identity object is "
                          "missing from the location");
            goto done;
        }
        if ((rc = identity_decode(&db->ident, item, item_len, "identity item")) == 0 && create_ok)
            rc = write_object(db, item, item_len);
    } else if (orc == 0) {
        char why[256];
        describe_orphan(why, sizeof(why), obj, obj_len);
        rc = mismatch(db, url, meta_url, why);
    } else {
        if ((rc = has_history(db, &history)) < 0)
            goto done;
        if (history) {
            /* a db from before identities: adopt it */
            rc = create_ok ? create(db, 0, 0, 0) : 0;
            goto done;
        }
        if ((rc = identity_location_used(db, &used)) < 0)
            goto done;
        if (used)
            rc = mismatch(db, url, meta_url,
                          "the location holds cirrus objects, and the metadata store has no "
                          "database for them");
        else if (!create_ok)
            rc = err_set(CIRRUS_ENOTFOUND, "%s: no database here", url);
        else
            rc = create(db, 0, 0, 0);
    }
done:
    if (rc == 0)
        db->log.base_seq = db->ident.base_seq;
    free(item);
    free(obj);
    return rc;
}

int identity_check(cirrus_db *db, const char *url, const char *meta_url, int create_ok)
{
    /* a creator racing this open (item, object, first commit, one after
     * another) can look like a mismatch for a moment; a real one stays */
    int rc = 0;
    for (int attempt = 0; attempt < 4; attempt++) {
        if (attempt)
            sleep_ms(25u << attempt);
        identity_clear(&db->ident);
        if ((rc = check_once(db, url, meta_url, create_ok)) != CIRRUS_EMISMATCH)
            break;
    }
    return rc;
}
