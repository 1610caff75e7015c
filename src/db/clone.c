/*
 * clone.c - zero-copy clones: a new database whose first version is
 * another's at some point, sharing its files instead of copying them;
 * detaching a clone from what it shares; dropping a database.
 *
 * A clone D of source S lists S's files under the names
 * `parent/<S's id>/<name>` (filename.h); reads of such a name go to S's
 * store (the routed store below). D records every database it shares
 * files with (S, and S's own parents, flattened) as items
 * (D, "parent/<id>"), and each of those keeps the files D uses by a pin
 * (S, "pin/clone/<clone id>") that D's item names. So S's GC keeps them,
 * whatever S does, until D is detached or dropped.
 *
 * Order of creation (what a crash leaves): the pins in the sources, made
 * expiring after a day; D's parent items; D's files rewritten by the cut
 * (cut.h) and its first manifest; D's identity (from here D exists); the
 * pins made permanent. A clone killed before its identity leaves pins
 * that expire and D's location without an identity, which a second clone
 * into it may use (nothing there is a database yet).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <jansson.h>
#include <unistd.h>

#include "db/committer.h"
#include "db/copier.h"
#include "db/cut.h"
#include "db/dbimpl.h"
#include "db/filename.h"
#include "db/history.h"
#include "db/identity.h"
#include "db/manifest.h"
#include "db/pins.h"
#include "metastore/metastore.h"
#include "objstore/objstore.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/status.h"
#include "util/sys.h"

#define PARENT_SK "parent/"
#define PARENT_FORMAT_VERSION 1
#define CLONE_PIN_PENDING_MS (24 * 3600 * 1000LL)
#define MAX_PARENTS 64

/* ---- parent records --------------------------------------------------------- */

struct parent_ref {
    uint8_t id[IDENTITY_ID_LEN];
    char *location;   /* canonical object-store URL */
    char *meta_url;   /* its metadata store */
    char *pin_sk;     /* the pin there that keeps what this db uses */
    int kept;         /* 1 once that pin is made permanent (it expires before) */
    uint64_t version; /* the item's */
};

static void parent_clear(struct parent_ref *p)
{
    free(p->location);
    free(p->meta_url);
    free(p->pin_sk);
    memset(p, 0, sizeof(*p));
}

static void parents_free(struct parent_ref *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        parent_clear(&v[i]);
    free(v);
}

static int parent_encode(struct buf *b, const struct parent_ref *p)
{
    size_t start = b->len;
    int rc;
    if ((rc = buf_put_u8(b, PARENT_FORMAT_VERSION)) < 0 ||
        (rc = buf_append(b, p->id, IDENTITY_ID_LEN)) < 0 ||
        (rc = buf_put_lenbytes(b, p->location, strlen(p->location))) < 0 ||
        (rc = buf_put_lenbytes(b, p->meta_url, strlen(p->meta_url))) < 0 ||
        (rc = buf_put_lenbytes(b, p->pin_sk, strlen(p->pin_sk))) < 0 ||
        (rc = buf_put_u8(b, p->kept ? 1 : 0)) < 0)
        return rc;
    return buf_put_fixed32(b, checksum32(b->data + start, b->len - start));
}

static int parent_decode(struct parent_ref *out, const uint8_t *data, size_t len, const char *what)
{
    const uint8_t *p = data, *end, *loc, *meta, *pin;
    size_t loc_len, meta_len, pin_len;
    uint8_t version, kept;
    memset(out, 0, sizeof(*out));
    if (len < 5 || decode_fixed32(data + len - 4) != checksum32(data, len - 4))
        return err_set(CIRRUS_ECORRUPT, "%s: checksum mismatch", what);
    end = data + len - 4;
    if (get_u8(&p, end, &version) < 0)
        return err_set(CIRRUS_ECORRUPT, "%s: truncated", what);
    if (version != PARENT_FORMAT_VERSION)
        return err_set(CIRRUS_EVERSION, "%s: parent format version %u (this build knows %d)", what,
                       version, PARENT_FORMAT_VERSION);
    if ((size_t)(end - p) < IDENTITY_ID_LEN)
        return err_set(CIRRUS_ECORRUPT, "%s: truncated", what);
    memcpy(out->id, p, IDENTITY_ID_LEN);
    p += IDENTITY_ID_LEN;
    if (get_lenbytes(&p, end, &loc, &loc_len) < 0 || get_lenbytes(&p, end, &meta, &meta_len) < 0 ||
        get_lenbytes(&p, end, &pin, &pin_len) < 0 || get_u8(&p, end, &kept) < 0 || kept > 1 ||
        p != end || memchr(loc, '\0', loc_len) || memchr(meta, '\0', meta_len) ||
        memchr(pin, '\0', pin_len))
        return err_set(CIRRUS_ECORRUPT, "%s: malformed parent record", what);
    out->kept = kept;
    out->location = strndup((const char *)loc, loc_len);
    out->meta_url = strndup((const char *)meta, meta_len);
    out->pin_sk = strndup((const char *)pin, pin_len);
    if (!out->location || !out->meta_url || !out->pin_sk) {
        parent_clear(out);
        return err_nomem();
    }
    return 0;
}

int db_parent_json(const uint8_t *data, size_t len, const char *sk, void *out)
{
    struct parent_ref p;
    char hex[2 * IDENTITY_ID_LEN + 1];
    json_t *o;
    int rc = parent_decode(&p, data, len, sk);
    if (rc < 0)
        return rc;
    hex_encode(hex, p.id, IDENTITY_ID_LEN);
    o = json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", hex, "location", p.location, "meta_url",
                  p.meta_url, "pin", p.pin_sk, "kept", p.kept);
    parent_clear(&p);
    if (!o)
        return err_nomem();
    *(json_t **)out = o;
    return 0;
}

static void parent_sk(char out[64], const uint8_t id[IDENTITY_ID_LEN])
{
    char hex[2 * IDENTITY_ID_LEN + 1];
    hex_encode(hex, id, IDENTITY_ID_LEN);
    snprintf(out, 64, PARENT_SK "%s", hex);
}

static int list_parents(cirrus_db *db, struct parent_ref **out, size_t *n_out)
{
    struct meta_item *items = NULL;
    struct parent_ref *v = NULL;
    size_t n = 0;
    int rc;
    *out = NULL;
    *n_out = 0;
    if ((rc = metastore_query(db->ms, db->log.pk, PARENT_SK, PARENT_SK "\x7f", 0, 0, &items, &n)) <
        0)
        return err_prefix(rc, "reading the databases this one shares files with");
    if (n && !(v = calloc(n, sizeof(*v))))
        rc = err_nomem();
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = parent_decode(&v[i], items[i].value, items[i].value_len, items[i].sk);
        v[i].version = items[i].version;
    }
    meta_items_free(items, n);
    if (rc < 0) {
        parents_free(v, n);
        return rc;
    }
    *out = v;
    *n_out = n;
    return 0;
}

static int keep_pins(cirrus_db *db, struct parent_ref *refs, size_t n, cirrus_db *src);

/* ---- the routed store --------------------------------------------------------- */

struct routed {
    struct objstore base;
    struct objstore *own;
    size_t n;
    struct {
        uint8_t id[IDENTITY_ID_LEN];
        struct objstore *os;
    } * p;
};

/* The store and name a read of `name` goes to. */
static struct objstore *route(struct routed *r, const char *name, const char **inner)
{
    struct filename fn;
    *inner = name;
    if (strncmp(name, FILENAME_PARENT_DIR, strlen(FILENAME_PARENT_DIR)) != 0)
        return r->own;
    if (!filename_parse(name, &fn))
        return NULL;
    for (size_t i = 0; i < r->n; i++)
        if (memcmp(r->p[i].id, fn.db_id, IDENTITY_ID_LEN) == 0) {
            *inner = fn.inner;
            return r->p[i].os;
        }
    return NULL;
}

static int no_route(const char *name)
{
    return err_set(CIRRUS_ECORRUPT,
                   "%s: belongs to a database this clone does not share files with "
                   "(was it detached?)",
                   name);
}

static int routed_put(struct objstore *os, const char *name, const void *data, size_t len)
{
    struct routed *r = (struct routed *)os;
    if (strncmp(name, FILENAME_PARENT_DIR, strlen(FILENAME_PARENT_DIR)) == 0)
        return err_set(CIRRUS_EINVALID, "%s: a clone never writes into its source", name);
    return objstore_put(r->own, name, data, len);
}

static int routed_get(struct objstore *os, const char *name, uint64_t off, size_t len, void *dst,
                      size_t *got)
{
    const char *inner;
    struct objstore *to = route((struct routed *)os, name, &inner);
    if (!to)
        return no_route(name);
    int rc = objstore_get(to, inner, off, len, dst, got);
    return rc < 0 && inner != name ? err_prefix(rc, "%s", name) : rc;
}

static int routed_get_all(struct objstore *os, const char *name, uint8_t **data, size_t *len)
{
    const char *inner;
    struct objstore *to = route((struct routed *)os, name, &inner);
    if (!to)
        return no_route(name);
    return objstore_get_all(to, inner, data, len);
}

static int routed_head(struct objstore *os, const char *name, uint64_t *size)
{
    const char *inner;
    struct objstore *to = route((struct routed *)os, name, &inner);
    if (!to)
        return no_route(name);
    return objstore_head(to, inner, size);
}

static int routed_del(struct objstore *os, const char *name)
{
    struct routed *r = (struct routed *)os;
    if (strncmp(name, FILENAME_PARENT_DIR, strlen(FILENAME_PARENT_DIR)) == 0)
        return err_set(CIRRUS_EINVALID, "%s: a clone never deletes from its source", name);
    return objstore_del(r->own, name);
}

static int routed_list(struct objstore *os, const char *prefix,
                       int (*fn)(const struct objstore_entry *e, void *arg), void *arg)
{
    return objstore_list(((struct routed *)os)->own, prefix, fn, arg);
}

static void routed_close(struct objstore *os)
{
    struct routed *r = (struct routed *)os;
    for (size_t i = 0; i < r->n; i++)
        objstore_close(r->p[i].os);
    free(r->p);
    objstore_close(r->own);
    free(r->base.url);
    free(r);
}

static const struct objstore_ops routed_ops = {
    .kind = "routed",
    .put = routed_put,
    .get = routed_get,
    .get_all = routed_get_all,
    .head = routed_head,
    .del = routed_del,
    .list = routed_list,
    .close = routed_close,
};

int parents_open(cirrus_db *db)
{
    struct parent_ref *refs = NULL;
    size_t n = 0;
    struct routed *r = NULL;
    int rc;
    /* only a database that started from another's version has parents */
    if (db->ident.base_seq == 0)
        return 0;
    if ((rc = list_parents(db, &refs, &n)) < 0 || n == 0)
        goto done;
    if (!(r = calloc(1, sizeof(*r))) || !(r->p = calloc(n, sizeof(*r->p))) ||
        !(r->base.url = strdup(db->os->url))) {
        rc = err_nomem();
        goto done;
    }
    r->base.ops = &routed_ops;
    for (size_t i = 0; i < n; i++, r->n++) {
        memcpy(r->p[i].id, refs[i].id, IDENTITY_ID_LEN);
        if ((rc = objstore_open(&r->p[i].os, refs[i].location, 0)) < 0) {
            rc = err_prefix(rc, "opening %s, which this clone shares files with", refs[i].location);
            goto done;
        }
    }
    r->own = db->os;
    db->os = &r->base;
    r = NULL;
    /* a clone whose creation stopped after its identity: its sources' pins
     * still expire; make them permanent now (best effort: verify shows
     * what a source no longer keeps) */
    if (!db->opts.read_only && keep_pins(db, refs, n, NULL) < 0)
        err_clear();
done:
    if (r) {
        for (size_t i = 0; i < r->n; i++)
            objstore_close(r->p[i].os);
        free(r->p);
        free(r->base.url);
        free(r);
    }
    parents_free(refs, n);
    return rc;
}

/* ---- clone ---------------------------------------------------------------------- */

/* An open handle of a database found by location and metadata URL, for
 * its pins: no background threads, nothing created. */
static int open_other(const char *location, const char *meta_url, cirrus_db **out)
{
    cirrus_options o = CIRRUS_OPTIONS_INIT;
    o.meta_url = meta_url;
    o.create_if_missing = 0;
    o.background_compaction = 0;
    o.flush_interval_ms = 0;
    o.refresh_interval_ms = 0;
    int rc = cirrus_open(out, location, &o);
    return rc < 0 ? err_prefix(rc, "opening %s", location) : 0;
}

/* The metadata URL a handle was opened with, absolute where it is a file. */
static char *absolute_meta(const char *url)
{
    const char *path = NULL;
    char cwd[4096];
    if (strncmp(url, "sqlite://", 9) == 0)
        path = url + 9;
    else if (strncmp(url, "sqlite:", 7) == 0)
        path = url + 7;
    if (!path || path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        return strdup(url);
    size_t n = strlen(cwd) + strlen(path) + 16;
    char *out = malloc(n);
    if (out)
        snprintf(out, n, "sqlite:%s/%s", cwd, path);
    return out;
}

/* A pin of the given version v (already kept by `guard`, a pin of db that
 * must still exist once the new pin does, or the files may be gone). */
static int pin_version(cirrus_db *db, const char *sk, struct version *v, uint64_t seq,
                       int64_t time_ms, int64_t expires_ms, const char *detail, const char *guard)
{
    struct pin p = {0}, g;
    struct buf b = {0};
    int rc;
    p.seq = seq;
    p.time_ms = time_ms;
    p.created_ms = now_ms();
    p.expires_ms = expires_ms;
    p.detail = (char *)detail;
    filename_pin(p.manifest, now_ms(), rand_u64());
    if ((rc = manifest_encode(&b, v)) < 0 ||
        (rc = objstore_put(db->os, p.manifest, b.data, b.len)) < 0) {
        rc = err_prefix(rc, "writing pin manifest %s", p.manifest);
        goto done;
    }
    buf_reset(&b);
    if ((rc = pin_encode(&b, &p)) < 0)
        goto done;
    if ((rc = metastore_put_if_absent(db->ms, db->log.pk, sk, b.data, b.len)) < 0) {
        rc = err_prefix(rc, "writing %s", sk);
        goto done;
    }
    if (guard) {
        if ((rc = pin_get(db, guard, guard, &g)) < 0) {
            pin_delete(db, sk, sk);
            rc = err_prefix(rc, "it went while the clone was made");
            goto done;
        }
        pin_clear(&g);
    }
done:
    buf_free(&b);
    return rc;
}

/* Makes the pin permanent (the clone exists now). */
static int pin_keep(cirrus_db *db, const char *sk)
{
    struct pin p;
    struct buf b = {0};
    int rc = pin_get(db, sk, sk, &p);
    if (rc < 0)
        return rc;
    p.expires_ms = 0;
    if ((rc = pin_encode(&b, &p)) == 0 &&
        (rc = metastore_put_if_version(db->ms, db->log.pk, sk, b.data, b.len, p.version)) < 0)
        rc = err_prefix(rc, "keeping %s", sk);
    buf_free(&b);
    pin_clear(&p);
    return rc;
}

/* The sub-version of v made of the files shared from database `id`,
 * under their names there. */
static int files_of(const struct version *v, const uint8_t id[IDENTITY_ID_LEN],
                    struct version **out)
{
    struct version *nv;
    int rc = version_new(&nv);
    if (rc < 0)
        return rc;
    nv->seq = v->seq;
    nv->time_ms = v->time_ms;
    for (int l = 0; l < CIRRUS_MAX_LEVELS && rc == 0; l++)
        for (size_t i = 0; i < v->n_files[l] && rc == 0; i++) {
            struct file_meta m = v->files[l][i]->meta;
            struct filename fn;
            if (!filename_parse(m.name, &fn) || fn.kind != FILENAME_PARENT ||
                memcmp(fn.db_id, id, IDENTITY_ID_LEN) != 0)
                continue;
            m.name = (char *)fn.inner;
            rc = version_add_file(nv, &m, v->files[l][i]->ord);
        }
    if (rc < 0) {
        version_unref(nv);
        return rc;
    }
    *out = nv;
    return 0;
}

struct clone_names {
    const struct version *src_v;
    const uint8_t *src_id;
};

/* The source's own files become parent/<src id>/...; its shared files keep
 * their parent/ names; files the cut wrote (not in the source's version)
 * are the clone's own. */
static const char *clone_name(const char *name, char *buf, size_t cap, void *arg)
{
    const struct clone_names *cn = arg;
    struct filename fn;
    if (!version_find_file(cn->src_v, name) ||
        (filename_parse(name, &fn) && fn.kind == FILENAME_PARENT))
        return name;
    char *p = filename_parent(cn->src_id, name);
    if (!p || strlen(p) >= cap) {
        free(p);
        return NULL;
    }
    memcpy(buf, p, strlen(p) + 1);
    free(p);
    return buf;
}

struct clone_state {
    cirrus_db *src, *dst;
    struct pin point;        /* the source point (seq, time) */
    struct version *v;       /* the source's version, pinned */
    struct version *cut;     /* v cut at the point */
    struct version *first;   /* D's first version */
    struct parent_ref *refs; /* D's parent records */
    size_t n_refs;
    char clone_id[2 * IDENTITY_ID_LEN + 1];
    char *detail;
};

/* Pins in every ancestor of S that D shares files of (S's own parents),
 * and D's records of them. */
static int pin_ancestors(struct clone_state *st, const char *pin_sk)
{
    struct parent_ref *src_refs = NULL;
    size_t n = 0;
    int rc;
    if ((rc = list_parents(st->src, &src_refs, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct version *sub = NULL;
        cirrus_db *g = NULL;
        if ((rc = files_of(st->cut, src_refs[i].id, &sub)) < 0)
            break;
        if (version_total_files(sub) == 0) {
            version_unref(sub);
            continue;
        }
        if ((rc = open_other(src_refs[i].location, src_refs[i].meta_url, &g)) == 0)
            rc = pin_version(g, pin_sk, sub, st->point.seq, st->point.time_ms,
                             now_ms() + CLONE_PIN_PENDING_MS, st->detail, src_refs[i].pin_sk);
        version_unref(sub);
        if (g)
            cirrus_close(g);
        if (rc < 0)
            break;
        if (st->n_refs == MAX_PARENTS) {
            rc = err_set(CIRRUS_EINVALID, "a clone shares files with at most %d databases",
                         MAX_PARENTS);
            break;
        }
        struct parent_ref *r = &st->refs[st->n_refs];
        memcpy(r->id, src_refs[i].id, IDENTITY_ID_LEN);
        r->location = strdup(src_refs[i].location);
        r->meta_url = strdup(src_refs[i].meta_url);
        r->pin_sk = strdup(pin_sk);
        st->n_refs++;
        if (!r->location || !r->meta_url || !r->pin_sk)
            rc = err_nomem();
    }
    parents_free(src_refs, n);
    return rc;
}

/* Makes every pending pin that db's parent records name permanent, and
 * records that (the clone exists: from now on its sources must keep its
 * files for good). `src` (may be NULL) is an open handle of refs[0]. */
static int keep_pins(cirrus_db *db, struct parent_ref *refs, size_t n, cirrus_db *src)
{
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        cirrus_db *g = NULL;
        struct buf b = {0};
        char sk[64];
        if (refs[i].kept)
            continue;
        if (i == 0 && src)
            rc = pin_keep(src, refs[i].pin_sk);
        else if ((rc = open_other(refs[i].location, refs[i].meta_url, &g)) == 0)
            rc = pin_keep(g, refs[i].pin_sk);
        if (g)
            cirrus_close(g);
        if (rc < 0)
            break;
        refs[i].kept = 1;
        parent_sk(sk, refs[i].id);
        if ((rc = parent_encode(&b, &refs[i])) == 0 &&
            (rc = metastore_put_if_version(db->ms, db->log.pk, sk, b.data, b.len,
                                           refs[i].version)) == 0)
            refs[i].version++;
        else if (rc < 0)
            rc = err_prefix(rc, "recording %s", sk);
        buf_free(&b);
    }
    return rc;
}

static int write_parent_items(struct clone_state *st)
{
    int rc = 0;
    for (size_t i = 0; i < st->n_refs && rc == 0; i++) {
        struct buf b = {0};
        char sk[64];
        parent_sk(sk, st->refs[i].id);
        if ((rc = parent_encode(&b, &st->refs[i])) == 0) {
            rc = metastore_put_if_absent(st->dst->ms, st->dst->log.pk, sk, b.data, b.len);
            if (rc < 0)
                rc = err_prefix(rc, "writing %s", sk);
            st->refs[i].version = 1;
        }
        buf_free(&b);
    }
    return rc;
}

/* D must be empty: no database, no object of ours (but what an
 * interrupted clone into it left: files and parent items, no identity). */
static int check_empty(cirrus_db *db, const char *url)
{
    int rc = identity_location_free(db, url);
    if (rc < 0)
        return rc;
    /* parent items of an interrupted clone are replaced */
    struct parent_ref *refs = NULL;
    size_t n = 0;
    if ((rc = list_parents(db, &refs, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        char sk[64];
        parent_sk(sk, refs[i].id);
        rc = metastore_delete_if_version(db->ms, db->log.pk, sk, refs[i].version);
    }
    parents_free(refs, n);
    return rc;
}

static void clone_clear(struct clone_state *st)
{
    if (st->v)
        version_unref(st->v);
    if (st->cut)
        version_unref(st->cut);
    if (st->first)
        version_unref(st->first);
    parents_free(st->refs, st->n_refs);
    pin_clear(&st->point);
    free(st->detail);
}

int cirrus_clone(const char *dst_url, const cirrus_options *dst_opts, const char *src_url,
                 const char *src_meta_url, const cirrus_clone_point *at, cirrus_db **out)
{
    cirrus_options dopts = CIRRUS_OPTIONS_INIT;
    struct clone_state st = {0};
    char pin_sk[96];
    uint8_t cid[IDENTITY_ID_LEN];
    char *meta = NULL;
    int rc;
    err_clear();
    if (!dst_opts)
        dst_opts = &dopts;
    if (dst_opts->read_only)
        return err_set(CIRRUS_EINVALID, "a clone is created: not through a read-only handle");
    /* a source in the same bucket shares the clone's table unless told */
    if (!src_meta_url && src_url && strncmp(src_url, "s3://", 5) == 0)
        src_meta_url = dst_opts->meta_url;
    if ((rc = open_other(src_url, src_meta_url, &st.src)) < 0 ||
        (rc = db_open_stores(&st.dst, dst_url, dst_opts)) < 0 ||
        (rc = check_empty(st.dst, dst_url)) < 0)
        goto done;
    if (strcmp(st.src->os->url, st.dst->os->url) == 0) {
        rc = err_set(CIRRUS_EINVALID, "%s: a clone needs a location of its own", dst_url);
        goto done;
    }
    uint64_t r0 = rand_u64(), r1 = rand_u64();
    memcpy(cid, &r0, 8);
    memcpy(cid + 8, &r1, 8);
    hex_encode(st.clone_id, cid, IDENTITY_ID_LEN);
    snprintf(pin_sk, sizeof(pin_sk), PIN_SK_PREFIX PIN_CLONE "%s", st.clone_id);
    size_t dn = strlen(st.dst->os->url) + strlen(st.dst->ms->url) + 2;
    if (!(st.detail = malloc(dn)) || !(meta = absolute_meta(st.src->ms->url)) ||
        !(st.refs = calloc(MAX_PARENTS, sizeof(*st.refs)))) {
        rc = err_nomem();
        goto done;
    }
    snprintf(st.detail, dn, "%s\t%s", st.dst->os->url, st.dst->ms->url);
    /* 1. the point, pinned in S */
    if (at && at->checkpoint) {
        char guard[PIN_NAME_MAX + 32];
        if ((rc = db_checkpoint_version(st.src, at->checkpoint, &st.point, &st.v)) < 0)
            goto done;
        snprintf(guard, sizeof(guard), PIN_SK_PREFIX PIN_CHECKPOINT "%s", at->checkpoint);
        rc = pin_version(st.src, pin_sk, st.v, st.point.seq, st.point.time_ms,
                         now_ms() + CLONE_PIN_PENDING_MS, st.detail, guard);
    } else {
        uint64_t seq = at ? at->seq : CIRRUS_SEQ_LATEST;
        int before = 0;
        if (at && at->time_ms && (rc = db_seq_at_time(st.src, at->time_ms, &seq, &before)) < 0)
            goto done;
        if (before) {
            rc = err_set(CIRRUS_EEXPIRED,
                         "time %" PRId64 " is before the oldest commit of %s "
                         "still in its log",
                         at->time_ms, src_url);
            goto done;
        }
        rc = pin_create(st.src, pin_sk, seq, now_ms() + CLONE_PIN_PENDING_MS, st.detail, &st.point,
                        &st.v);
    }
    if (rc < 0)
        goto done;
    memcpy(st.refs[0].id, st.src->ident.id, IDENTITY_ID_LEN);
    st.refs[0].location = strdup(st.src->os->url);
    st.refs[0].meta_url = meta;
    meta = NULL;
    st.refs[0].pin_sk = strdup(pin_sk);
    st.n_refs = 1;
    if (!st.refs[0].location || !st.refs[0].pin_sk) {
        rc = err_nomem();
        goto done;
    }
    /* 2. the cut (files holding keys past the point rewritten into D) */
    struct clone_names names = {st.v, st.src->ident.id};
    if ((rc = version_cut(st.src, st.v, st.point.seq, st.point.time_ms, st.dst->os, &st.cut,
                          NULL)) < 0 ||
        (rc = pin_ancestors(&st, pin_sk)) < 0 ||
        (rc = version_renamed(st.cut, clone_name, &names, &st.first)) < 0)
        goto done;
    /* 3. D: its parent records, first manifest and identity */
    if ((rc = write_parent_items(&st)) < 0 || (rc = db_create_from(st.dst, st.first)) < 0)
        goto done;
    /* 4. D exists: its pins are for good */
    struct parent_ref *now = NULL;
    size_t n_now = 0;
    if ((rc = list_parents(st.dst, &now, &n_now)) == 0)
        rc = keep_pins(st.dst, now, n_now, st.src); /* what opening it did not */
    parents_free(now, n_now);
    if (rc < 0)
        goto done;
    if (out) {
        *out = st.dst;
    } else {
        rc = cirrus_close(st.dst);
    }
    st.dst = NULL;
done:
    free(meta);
    if (st.dst)
        db_open_abort(st.dst);
    if (rc < 0 && st.src && st.n_refs)
        pin_delete(st.src, pin_sk, pin_sk); /* best effort: it expires else */
    if (st.src)
        cirrus_close(st.src);
    clone_clear(&st);
    return rc;
}

/* ---- detach ----------------------------------------------------------------------- */

struct rename_map {
    char **from, **to;
    size_t n, cap;
};

static void map_free(struct rename_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        free(m->from[i]);
        free(m->to[i]);
    }
    free(m->from);
    free(m->to);
}

static const char *map_find(const struct rename_map *m, const char *from)
{
    for (size_t i = 0; i < m->n; i++)
        if (strcmp(m->from[i], from) == 0)
            return m->to[i];
    return NULL;
}

/* Adds every shared file of v to m (a new own name for each). */
static int map_shared(struct rename_map *m, const struct version *v, struct copy_item **items,
                      size_t *n_items, struct objstore *src)
{
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++)
        for (size_t i = 0; i < v->n_files[l]; i++) {
            const struct file_meta *f = &v->files[l][i]->meta;
            struct filename fn;
            char name[FILENAME_LEN];
            if (!filename_parse(f->name, &fn) || fn.kind != FILENAME_PARENT || map_find(m, f->name))
                continue;
            if (m->n == m->cap) {
                size_t c = m->cap ? m->cap * 2 : 64;
                char **nf = realloc(m->from, c * sizeof(*nf));
                if (!nf)
                    return err_nomem();
                m->from = nf;
                char **nt = realloc(m->to, c * sizeof(*nt));
                if (!nt)
                    return err_nomem();
                m->to = nt;
                struct copy_item *ni = realloc(*items, c * sizeof(*ni));
                if (!ni)
                    return err_nomem();
                *items = ni;
                m->cap = c;
            }
            /* a new name: its time is now, so GC's grace runs from the copy */
            filename_sst(name, now_ms(), rand_u64());
            m->from[m->n] = strdup(f->name);
            m->to[m->n] = strdup(name);
            if (!m->from[m->n] || !m->to[m->n]) {
                free(m->from[m->n]);
                free(m->to[m->n]);
                return err_nomem();
            }
            (*items)[*n_items] = (struct copy_item){src, m->from[m->n], m->to[m->n], f->size};
            (*n_items)++;
            m->n++;
        }
    return 0;
}

/* A shared file's copy's name (m), or the name itself. */
static const char *copy_name(const char *name, char *buf, size_t cap, void *arg)
{
    const char *to = map_find(arg, name);
    (void)buf;
    (void)cap;
    return to ? to : name;
}

static int cmp_l0_ascending(const void *a, const void *b)
{
    const struct live_file *x = *(struct live_file *const *)a, *y = *(struct live_file *const *)b;
    if (x->meta.max_seq != y->meta.max_seq)
        return x->meta.max_seq < y->meta.max_seq ? -1 : 1;
    return x->ord < y->ord ? -1 : x->ord > y->ord;
}

/* Commits the swap of v's shared files for their copies, as one compact
 * entry: same levels, same seqs; L0 files in their order (ord is the
 * position in the entry). */
static int commit_swap(cirrus_db *db, const struct version *v, const struct rename_map *m)
{
    struct entry e = {0};
    struct live_file **l0 = NULL;
    int rc = 0;
    e.kind = CIRRUS_ENTRY_COMPACT;
    rand_bytes(e.commit_id, COMMIT_ID_LEN);
    if (!(e.writer = strdup(db->writer_id)))
        return err_nomem();
    if (v->n_files[0] && !(l0 = malloc(v->n_files[0] * sizeof(*l0)))) {
        rc = err_nomem();
        goto done;
    }
    if (v->n_files[0]) {
        memcpy(l0, v->files[0], v->n_files[0] * sizeof(*l0));
        qsort(l0, v->n_files[0], sizeof(*l0), cmp_l0_ascending);
    }
    for (int l = 0; l < CIRRUS_MAX_LEVELS && rc == 0; l++)
        for (size_t i = 0; i < v->n_files[l] && rc == 0; i++) {
            const struct live_file *lf = l == 0 ? l0[i] : v->files[l][i];
            const char *to = map_find(m, lf->meta.name);
            if (!to)
                continue;
            struct file_meta f;
            if ((rc = file_meta_copy(&f, &lf->meta)) < 0)
                break;
            char *old = f.name;
            f.name = (char *)to;
            f.write_time_ms = 0;
            struct filename fn;
            if (filename_parse(to, &fn))
                f.write_time_ms = fn.time_ms;
            rc = entry_add_file(&e, &f);
            f.name = old;
            file_meta_clear(&f);
            if (rc == 0) {
                char **nr = realloc(e.removed, (e.n_removed + 1) * sizeof(*nr));
                if (!nr || !(nr[e.n_removed] = strdup(lf->meta.name))) {
                    if (nr)
                        e.removed = nr;
                    rc = err_nomem();
                    break;
                }
                e.removed = nr;
                e.n_removed++;
            }
        }
    if (rc == 0 && e.n_added)
        rc = db_commit(db, &e, NULL, NULL, NULL, NULL);
done:
    free(l0);
    entry_clear(&e);
    return rc;
}

/* Rewrites db's pins (checkpoints, its own clones') whose manifests name
 * shared files, with copies (added to m, items). */
static int detach_pins(cirrus_db *db, struct rename_map *m, struct objstore *src, int threads,
                       void (*fn)(const cirrus_progress *p, void *arg), void *arg)
{
    struct pin *pins = NULL;
    size_t n = 0;
    int rc;
    if ((rc = pins_list(db, "", &pins, &n)) < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct version *v = NULL, *nv = NULL;
        struct copy_item *items = NULL;
        size_t n_items = 0;
        struct buf b = {0};
        struct pin p = pins[i];
        if ((rc = pin_load_listed(db, &pins[i], &v)) == CIRRUS_ENOTFOUND) {
            rc = 0; /* deleted or replaced since the listing */
            continue;
        }
        if (rc < 0)
            break;
        if ((rc = map_shared(m, v, &items, &n_items, src)) == 0 &&
            (rc = copier_run(db->os, items, n_items, threads, fn, arg, NULL)) == 0 &&
            (rc = version_renamed(v, copy_name, m, &nv)) == 0) {
            filename_pin(p.manifest, now_ms(), rand_u64());
            if ((rc = manifest_encode(&b, nv)) == 0 &&
                (rc = objstore_put(db->os, p.manifest, b.data, b.len)) == 0) {
                buf_reset(&b);
                if ((rc = pin_encode(&b, &p)) == 0)
                    rc = metastore_put_if_version(db->ms, db->log.pk, p.sk, b.data, b.len,
                                                  p.version);
                if (rc == 0)
                    objstore_del(db->os, pins[i].manifest);
            }
        }
        buf_free(&b);
        free(items);
        if (nv)
            version_unref(nv);
        version_unref(v);
    }
    pins_free(pins, n);
    return rc < 0 ? err_prefix(rc, "detaching the pins") : 0;
}

int cirrus_detach(cirrus_db *db, const cirrus_copy_options *o, cirrus_progress *summary)
{
    cirrus_copy_options defaults = CIRRUS_COPY_OPTIONS_INIT;
    struct rename_map m = {0};
    struct parent_ref *refs = NULL;
    struct copy_item *items = NULL;
    size_t n_refs = 0, n_items = 0;
    struct version *v = NULL;
    int rc;
    err_clear();
    if (!db)
        return err_set(CIRRUS_EINVALID, "cirrus_detach: NULL argument");
    if (!o)
        o = &defaults;
    if (db->opts.read_only)
        return err_set(CIRRUS_EINVALID, "detach writes: not through a read-only handle");
    if ((rc = list_parents(db, &refs, &n_refs)) < 0 || n_refs == 0)
        goto done;
    /* 1. the version's shared files: copied, then swapped in one commit
     * (retried while compaction changes the version under it) */
    for (int attempt = 0; attempt < 16; attempt++) {
        if ((rc = db_refresh(db, NULL)) < 0)
            goto done;
        pthread_mutex_lock(&db->mu);
        v = db->vs.current;
        version_ref(v);
        pthread_mutex_unlock(&db->mu);
        n_items = 0;
        if ((rc = map_shared(&m, v, &items, &n_items, db->os)) < 0 ||
            (rc = copier_run(db->os, items, n_items, o->threads, o->progress, o->progress_arg,
                             summary)) < 0)
            goto done;
        rc = commit_swap(db, v, &m);
        version_unref(v);
        v = NULL;
        if (rc != CIRRUS_ECONFLICT)
            break;
    }
    if (rc < 0)
        goto done;
    /* 2. its pins */
    if ((rc = detach_pins(db, &m, db->os, o->threads, o->progress, o->progress_arg)) < 0)
        goto done;
    /* 3. the holds in the sources, then the records of them */
    for (size_t i = 0; i < n_refs && rc == 0; i++) {
        cirrus_db *g = NULL;
        char sk[64];
        if ((rc = open_other(refs[i].location, refs[i].meta_url, &g)) == 0) {
            rc = pin_delete(g, refs[i].pin_sk, refs[i].pin_sk);
            if (rc == CIRRUS_ENOTFOUND)
                rc = 0;
            cirrus_close(g);
        } else if (rc == CIRRUS_ENOTFOUND) {
            rc = 0; /* the source was dropped: nothing holds files for us there */
        }
        parent_sk(sk, refs[i].id);
        if (rc == 0 &&
            (rc = metastore_delete_if_version(db->ms, db->log.pk, sk, refs[i].version)) < 0)
            rc = err_prefix(rc, "deleting %s", sk);
    }
done:
    if (v)
        version_unref(v);
    free(items);
    map_free(&m);
    parents_free(refs, n_refs);
    return rc;
}

/* ---- drop ------------------------------------------------------------------------- */

static int del_object(const struct objstore_entry *e, void *arg)
{
    struct objstore *os = arg;
    int rc = objstore_del(os, e->name);
    return rc < 0 ? err_prefix(rc, "deleting %s", e->name) : 0;
}

static int del_partition(cirrus_db *db, const char *pk)
{
    struct meta_item *items = NULL;
    size_t n = 0;
    int rc = metastore_query(db->ms, pk, "", NULL, 0, 0, &items, &n);
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = metastore_delete_if_version(db->ms, pk, items[i].sk, items[i].version);
        if (rc == CIRRUS_ECONFLICT)
            rc = 0;
    }
    meta_items_free(items, n);
    return rc < 0 ? err_prefix(rc, "deleting the metadata of %s", pk) : 0;
}

int cirrus_drop(const char *url, const cirrus_options *opts, int force)
{
    cirrus_options dopts = CIRRUS_OPTIONS_INIT;
    cirrus_db *db = NULL;
    struct parent_ref *refs = NULL;
    struct pin *clones = NULL;
    size_t n_refs = 0, n_clones = 0;
    int rc;
    err_clear();
    if (!opts)
        opts = &dopts;
    cirrus_options o;
    options_copy(&o, opts);
    o.create_if_missing = 0;
    if ((rc = db_open_stores(&db, url, &o)) < 0)
        return rc;
    if ((rc = pins_list(db, PIN_CLONE, &clones, &n_clones)) < 0 ||
        (rc = list_parents(db, &refs, &n_refs)) < 0)
        goto done;
    if (n_clones && !force) {
        const char *tab = strchr(clones[0].detail, '\t');
        int len = tab ? (int)(tab - clones[0].detail) : (int)strlen(clones[0].detail);
        rc = err_set(CIRRUS_EBUSY,
                     "%s has %zu clone(s) sharing its files (e.g. %.*s): detach or drop them "
                     "first, or drop with force",
                     url, n_clones, len, clones[0].detail);
        goto done;
    }
    /* the identity item first: from here no handle opens it */
    char log_pk[512];
    snprintf(log_pk, sizeof(log_pk), "%s", db->log.log_pk);
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t version;
    if ((rc = metastore_get(db->ms, db->log.pk, IDENTITY_SK, &raw, &len, &version)) == 0)
        rc = metastore_delete_if_version(db->ms, db->log.pk, IDENTITY_SK, version);
    free(raw);
    if (rc < 0 && rc != CIRRUS_ENOTFOUND)
        goto done;
    rc = 0;
    static const char *const dirs[] = {FILENAME_SST_DIR, FILENAME_MANIFEST_DIR, FILENAME_DELTA_DIR,
                                       FILENAME_PIN_DIR};
    for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]) && rc == 0; i++)
        rc = objstore_list(db->os, dirs[i], del_object, db->os);
    /* the holds in the sources it shared files with */
    for (size_t i = 0; i < n_refs && rc == 0; i++) {
        cirrus_db *g = NULL;
        if ((rc = open_other(refs[i].location, refs[i].meta_url, &g)) == 0) {
            rc = pin_delete(g, refs[i].pin_sk, refs[i].pin_sk);
            cirrus_close(g);
        }
        if (rc == CIRRUS_ENOTFOUND)
            rc = 0;
    }
    if (rc == 0 && (rc = del_partition(db, log_pk)) == 0 &&
        (rc = del_partition(db, db->log.pk)) == 0 &&
        (rc = objstore_del(db->os, IDENTITY_OBJECT)) < 0)
        rc = err_prefix(rc, "deleting the identity");
done:
    pins_free(clones, n_clones);
    parents_free(refs, n_refs);
    db_open_abort(db);
    return rc;
}
