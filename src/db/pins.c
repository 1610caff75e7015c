/*
 * pins.c - pins (pins.h) and the checkpoint calls of cirrus.h built on
 * them.
 */
#include "db/pins.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "db/history.h"
#include "db/manifest.h"
#include "metastore/metastore.h"
#include "objstore/objstore.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/status.h"
#include "util/sys.h"

#define PIN_ATTEMPTS 32

int pin_encode(struct buf *b, const struct pin *p)
{
    size_t start = b->len;
    const char *detail = p->detail ? p->detail : "";
    int rc;
    if ((rc = buf_put_u8(b, PIN_FORMAT_VERSION)) < 0 || (rc = buf_put_varint(b, p->seq)) < 0 ||
        (rc = buf_put_fixed64(b, (uint64_t)p->time_ms)) < 0 ||
        (rc = buf_put_fixed64(b, (uint64_t)p->created_ms)) < 0 ||
        (rc = buf_put_fixed64(b, (uint64_t)p->expires_ms)) < 0 ||
        (rc = buf_put_lenbytes(b, p->manifest, strlen(p->manifest))) < 0 ||
        (rc = buf_put_lenbytes(b, detail, strlen(detail))) < 0)
        return rc;
    return buf_put_fixed32(b, checksum32(b->data + start, b->len - start));
}

int pin_decode(struct pin *out, const uint8_t *data, size_t len, const char *what)
{
    const uint8_t *p = data, *end, *man, *detail;
    size_t man_len, detail_len;
    uint64_t t, c, x;
    uint8_t version;
    struct filename fn;
    memset(out, 0, sizeof(*out));
    if (len < 5 || decode_fixed32(data + len - 4) != checksum32(data, len - 4))
        return err_set(CIRRUS_ECORRUPT, "%s: checksum mismatch", what);
    end = data + len - 4;
    if (get_u8(&p, end, &version) < 0)
        return err_set(CIRRUS_ECORRUPT, "%s: truncated", what);
    if (version != PIN_FORMAT_VERSION)
        return err_set(CIRRUS_EVERSION, "%s: pin format version %u (this build knows %d)", what,
                       version, PIN_FORMAT_VERSION);
    if (get_varint64(&p, end, &out->seq) < 0 || get_fixed64(&p, end, &t) < 0 ||
        get_fixed64(&p, end, &c) < 0 || get_fixed64(&p, end, &x) < 0 ||
        get_lenbytes(&p, end, &man, &man_len) < 0 ||
        get_lenbytes(&p, end, &detail, &detail_len) < 0 || p != end ||
        man_len >= sizeof(out->manifest) || memchr(man, '\0', man_len) ||
        memchr(detail, '\0', detail_len))
        return err_set(CIRRUS_ECORRUPT, "%s: malformed pin", what);
    memcpy(out->manifest, man, man_len);
    out->manifest[man_len] = '\0';
    if (!filename_parse(out->manifest, &fn) || fn.kind != FILENAME_PIN)
        return err_set(CIRRUS_ECORRUPT, "%s: names %s, not a pin manifest", what, out->manifest);
    out->time_ms = (int64_t)t;
    out->created_ms = (int64_t)c;
    out->expires_ms = (int64_t)x;
    if (!(out->detail = strndup((const char *)detail, detail_len)))
        return err_nomem();
    return 0;
}

void pin_clear(struct pin *p)
{
    free(p->sk);
    free(p->detail);
    memset(p, 0, sizeof(*p));
}

void pins_free(struct pin *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        pin_clear(&v[i]);
    free(v);
}

static int decode_item(struct pin *out, const struct meta_item *it)
{
    int rc = pin_decode(out, it->value, it->value_len, it->sk);
    if (rc < 0)
        return rc;
    out->version = it->version;
    if (!(out->sk = strdup(it->sk))) {
        pin_clear(out);
        return err_nomem();
    }
    return 0;
}

int pins_list(cirrus_db *db, const char *kind, struct pin **out, size_t *n_out)
{
    char from[64], to[72];
    struct meta_item *items = NULL;
    size_t n = 0;
    struct pin *v = NULL;
    int rc;
    *out = NULL;
    *n_out = 0;
    snprintf(from, sizeof(from), PIN_SK_PREFIX "%s", kind);
    snprintf(to, sizeof(to), "%s\x7f", from); /* every name is [A-Za-z0-9._-] */
    if ((rc = metastore_query(db->ms, db->log.pk, from, to, 0, 0, &items, &n)) < 0)
        return err_prefix(rc, "listing pins");
    if (n && !(v = calloc(n, sizeof(*v)))) {
        rc = err_nomem();
        goto done;
    }
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = decode_item(&v[i], &items[i]);
    if (rc < 0) {
        pins_free(v, n);
        goto done;
    }
    *out = v;
    *n_out = n;
done:
    meta_items_free(items, n);
    return rc;
}

int pin_get(cirrus_db *db, const char *sk, const char *what, struct pin *out)
{
    struct meta_item it = {(char *)sk, NULL, 0, 0};
    int rc = metastore_get(db->ms, db->log.pk, sk, &it.value, &it.value_len, &it.version);
    if (rc == CIRRUS_ENOTFOUND)
        return err_set(rc, "%s does not exist", what);
    if (rc < 0)
        return err_prefix(rc, "reading %s", what);
    rc = decode_item(out, &it);
    free(it.value);
    return rc;
}

/* Reads p's manifest; a missing one is CIRRUS_ENOTFOUND, for the caller
 * to name (the store's message stays set). */
static int load_manifest(struct objstore *os, const struct pin *p, struct version **out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = objstore_get_all(os, p->manifest, &data, &len);
    if (rc == CIRRUS_ENOTFOUND)
        return rc;
    if (rc < 0)
        return err_prefix(rc, "reading pin manifest %s of %s", p->manifest, p->sk);
    rc = manifest_decode(out, data, len, p->manifest);
    free(data);
    return rc;
}

int pin_load(struct objstore *os, const struct pin *p, struct version **out)
{
    int rc = load_manifest(os, p, out);
    if (rc == CIRRUS_ENOTFOUND) /* the pin names it: gone is damage */
        return err_prefix(CIRRUS_ECORRUPT, "reading pin manifest %s of %s", p->manifest, p->sk);
    return rc;
}

int pin_load_listed(cirrus_db *db, const struct pin *p, struct version **out)
{
    struct pin now;
    int rc = load_manifest(db->os, p, out), same;
    if (rc != CIRRUS_ENOTFOUND)
        return rc;
    /* Deleting or replacing a pin deletes the manifest the old item named.
     * Item versions may repeat across a delete and re-create: compare the
     * manifest names, which never repeat. */
    if ((rc = pin_get(db, p->sk, p->sk, &now)) == CIRRUS_ENOTFOUND)
        return err_set(rc, "%s was deleted since it was listed", p->sk);
    if (rc < 0)
        return rc;
    same = strcmp(now.manifest, p->manifest) == 0;
    pin_clear(&now);
    if (!same)
        return err_set(CIRRUS_ENOTFOUND, "%s was replaced since it was listed", p->sk);
    return err_set(CIRRUS_ECORRUPT, "pin manifest %s of %s is missing", p->manifest, p->sk);
}

/* Whether every file of v is live in w. */
static int all_live(const struct version *v, const struct version *w)
{
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++)
        for (size_t i = 0; i < v->n_files[l]; i++)
            if (!version_find_file(w, v->files[l][i]->meta.name))
                return 0;
    return 1;
}

static struct version *current_ref(cirrus_db *db)
{
    pthread_mutex_lock(&db->mu);
    struct version *v = db->vs.current;
    version_ref(v);
    pthread_mutex_unlock(&db->mu);
    return v;
}

/* Writes v as a new pin manifest; *name gets its name. */
static int write_pin_manifest(cirrus_db *db, const struct version *v, char name[FILENAME_LEN])
{
    struct buf b = {0};
    int rc;
    filename_pin(name, now_ms(), rand_u64());
    if ((rc = manifest_encode(&b, v)) == 0 && (rc = objstore_put(db->os, name, b.data, b.len)) < 0)
        rc = err_prefix(rc, "writing pin manifest %s", name);
    buf_free(&b);
    return rc;
}

/* The version to pin for a read at seq, and seq's commit time. */
static int pick(cirrus_db *db, uint64_t *seq, struct version **v_out, int64_t *time_out)
{
    struct version *v;
    int rc;
    if ((rc = db_refresh(db, NULL)) < 0)
        return rc;
    v = current_ref(db);
    if (*seq == CIRRUS_SEQ_LATEST)
        *seq = v->seq;
    if (*seq > v->seq)
        rc = err_set(CIRRUS_EINVALID, "seq %" PRIu64 " is beyond the head (%" PRIu64 ")", *seq,
                     v->seq);
    else if (*seq < v->min_readable_seq || *seq < db->log.base_seq)
        rc = err_set(
            CIRRUS_EEXPIRED,
            "seq %" PRIu64 " is outside the retention window: compaction keeps versions "
            "from seq %" PRIu64 " on",
            *seq, v->min_readable_seq > db->log.base_seq ? v->min_readable_seq : db->log.base_seq);
    else if (*seq == v->seq)
        *time_out = v->time_ms;
    else
        rc = db_commit_time(db, *seq, time_out);
    if (rc < 0) {
        version_unref(v);
        return rc;
    }
    *v_out = v;
    return 0;
}

int pin_create(cirrus_db *db, const char *sk, uint64_t seq, int64_t expires_ms, const char *detail,
               struct pin *out, struct version **v_out)
{
    struct pin p = {0};
    struct buf b = {0};
    struct version *v = NULL, *now = NULL;
    uint64_t version = 0;
    char old_manifest[FILENAME_LEN] = "";
    int rc = 0;
    p.created_ms = now_ms();
    p.expires_ms = expires_ms;
    p.detail = (char *)detail;
    for (int attempt = 0; attempt < PIN_ATTEMPTS; attempt++) {
        uint64_t s = seq;
        if ((rc = pick(db, &s, &v, &p.time_ms)) < 0 ||
            (rc = write_pin_manifest(db, v, p.manifest)) < 0)
            goto done;
        p.seq = s;
        buf_reset(&b);
        if ((rc = pin_encode(&b, &p)) < 0)
            goto done;
        if (version == 0)
            rc = metastore_put_if_absent(db->ms, db->log.pk, sk, b.data, b.len);
        else
            rc = metastore_put_if_version(db->ms, db->log.pk, sk, b.data, b.len, version);
        if (rc == CIRRUS_ECONFLICT) {
            objstore_del(db->os, p.manifest);
            rc = err_set(version ? CIRRUS_ECONFLICT : CIRRUS_EEXISTS, "%s exists already", sk);
            goto done;
        }
        if (rc < 0) {
            rc = err_prefix(rc, "writing %s", sk);
            goto done;
        }
        version++;
        if (old_manifest[0])
            objstore_del(db->os, old_manifest); /* best effort: GC takes it else */
        memcpy(old_manifest, p.manifest, sizeof(old_manifest));
        /* the GC race (pins.h): were v's files live throughout? */
        if ((rc = db_refresh(db, NULL)) < 0)
            goto done;
        now = current_ref(db);
        int live = all_live(v, now);
        version_unref(now);
        if (live)
            break;
        version_unref(v);
        v = NULL;
        rc = err_set(CIRRUS_ECONFLICT, "%s: compaction kept moving the files on", sk);
    }
    if (rc < 0)
        goto done;
    if (out) {
        *out = p;
        out->version = version;
        out->sk = strdup(sk);
        out->detail = strdup(detail ? detail : "");
        if (!out->sk || !out->detail) {
            pin_clear(out);
            rc = err_nomem();
            goto done;
        }
    }
    if (v_out) {
        *v_out = v;
        v = NULL;
    }
done:
    if (v)
        version_unref(v);
    buf_free(&b);
    return rc;
}

int pin_delete(cirrus_db *db, const char *sk, const char *what)
{
    for (int attempt = 0; attempt < 8; attempt++) {
        struct pin p;
        int rc = pin_get(db, sk, what, &p);
        if (rc < 0)
            return rc;
        rc = metastore_delete_if_version(db->ms, db->log.pk, sk, p.version);
        if (rc == 0)
            objstore_del(db->os, p.manifest); /* best effort: GC takes it else */
        pin_clear(&p);
        if (rc == 0)
            return 0;
        if (rc != CIRRUS_ECONFLICT)
            return err_prefix(rc, "deleting %s", what);
    }
    return err_set(CIRRUS_ECONFLICT, "deleting %s: it keeps changing", what);
}

int pin_check_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > PIN_NAME_MAX)
        return err_set(CIRRUS_EINVALID, "a checkpoint name has 1 to %d bytes", PIN_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-'))
            return err_set(CIRRUS_EINVALID,
                           "checkpoint name '%s': only letters, digits, '.', '_' and '-'", name);
    }
    return 0;
}

/* ---- checkpoints (cirrus.h) ---------------------------------------------- */

static int checkpoint_sk(const char *name, char *sk, size_t n)
{
    int rc = pin_check_name(name);
    if (rc == 0)
        snprintf(sk, n, PIN_SK_PREFIX PIN_CHECKPOINT "%s", name);
    return rc;
}

int cirrus_checkpoint_create(cirrus_db *db, const char *name, uint64_t seq, int64_t expire_ms,
                             uint64_t *seq_out)
{
    char sk[PIN_NAME_MAX + 32], what[PIN_NAME_MAX + 32];
    struct pin p;
    int rc;
    err_clear();
    if (!db)
        return err_set(CIRRUS_EINVALID, "cirrus_checkpoint_create: NULL argument");
    if ((rc = checkpoint_sk(name, sk, sizeof(sk))) < 0)
        return rc;
    if (expire_ms < 0)
        return err_set(CIRRUS_EINVALID, "a checkpoint's lifetime must be >= 0");
    if (db->opts.read_only)
        return err_set(CIRRUS_EINVALID, "cannot create a checkpoint through a read-only handle");
    snprintf(what, sizeof(what), "checkpoint %s", name);
    rc = pin_create(db, sk, seq, expire_ms ? now_ms() + expire_ms : 0, "", &p, NULL);
    if (rc == CIRRUS_EEXISTS)
        return err_set(rc, "%s exists already", what);
    if (rc < 0)
        return err_prefix(rc, "creating %s", what);
    if (seq_out)
        *seq_out = p.seq;
    pin_clear(&p);
    return 0;
}

int cirrus_checkpoint_list(cirrus_db *db, int (*fn)(const cirrus_checkpoint_info *cp, void *arg),
                           void *arg)
{
    struct pin *v;
    size_t n;
    int rc;
    err_clear();
    if (!db || !fn)
        return err_set(CIRRUS_EINVALID, "cirrus_checkpoint_list: NULL argument");
    if ((rc = pins_list(db, PIN_CHECKPOINT, &v, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        cirrus_checkpoint_info info = {v[i].sk + strlen(PIN_SK_PREFIX PIN_CHECKPOINT), v[i].seq,
                                       v[i].time_ms, v[i].created_ms, v[i].expires_ms};
        rc = fn(&info, arg);
    }
    pins_free(v, n);
    return rc;
}

int cirrus_checkpoint_delete(cirrus_db *db, const char *name)
{
    char sk[PIN_NAME_MAX + 32], what[PIN_NAME_MAX + 32];
    int rc;
    err_clear();
    if (!db)
        return err_set(CIRRUS_EINVALID, "cirrus_checkpoint_delete: NULL argument");
    if ((rc = checkpoint_sk(name, sk, sizeof(sk))) < 0)
        return rc;
    snprintf(what, sizeof(what), "checkpoint %s", name);
    return pin_delete(db, sk, what);
}

int db_checkpoint_version(cirrus_db *db, const char *name, struct pin *p, struct version **v_out)
{
    char sk[PIN_NAME_MAX + 32], what[PIN_NAME_MAX + 32];
    int rc;
    if ((rc = checkpoint_sk(name, sk, sizeof(sk))) < 0)
        return rc;
    snprintf(what, sizeof(what), "checkpoint %s", name);
    if ((rc = pin_get(db, sk, what, p)) < 0)
        return rc;
    if (p->expires_ms && p->expires_ms <= now_ms()) {
        rc = err_set(CIRRUS_ENOTFOUND, "%s has expired", what);
        pin_clear(p);
        return rc;
    }
    if ((rc = pin_load(db->os, p, v_out)) < 0)
        pin_clear(p);
    return rc;
}

int cirrus_snapshot_checkpoint(cirrus_db *db, const char *name, cirrus_snapshot **out)
{
    struct pin p;
    struct version *v;
    int rc;
    err_clear();
    if (!db || !out)
        return err_set(CIRRUS_EINVALID, "cirrus_snapshot_checkpoint: NULL argument");
    if ((rc = db_checkpoint_version(db, name, &p, &v)) < 0)
        return rc;
    rc = db_snapshot_of_version(db, v, p.seq, out);
    version_unref(v);
    pin_clear(&p);
    return rc;
}
