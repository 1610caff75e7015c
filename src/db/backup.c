/*
 * backup.c - backups to another store and restores from them (cirrus.h,
 * "backups and restore"). Layout of a backup store, under its root:
 *
 *   sst/<name>           the files, under the names they had in the source
 *                        (unique: time and 64 random bits), shared by every
 *                        backup that holds them
 *   backup/<ID>          one backup's manifest (docs/FORMAT.md, "Backup
 *                        manifests"), written last: a backup is listed only
 *                        once everything it names is there
 *   backup/<ID>.pending  written first, deleted last: a backup on its way,
 *                        whose files `backup delete` must not take
 *
 * ID is <T>-<R>: T the creation time (12 hex digits, Unix ms), R 16 random
 * hex digits, so that IDs sort by age.
 *
 * Race with the source's GC: the version being copied is pinned for the
 * copy's duration (a pin "pin/backup/<ID>" that expires after a day, so a
 * killed backup does not hold files for ever), or is a checkpoint's.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/copier.h"
#include "db/cut.h"
#include "db/dbimpl.h"
#include "db/filename.h"
#include "db/identity.h"
#include "db/manifest.h"
#include "db/pins.h"
#include "db/verify.h"
#include "metastore/metastore.h"
#include "objstore/objstore.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/status.h"
#include "util/sys.h"

#define BACKUP_MAGIC 0x504b4243u /* "CBKP" */
#define BACKUP_FORMAT_VERSION 1
#define BACKUP_DIR "backup/"
#define PENDING_SUFFIX ".pending"
#define ID_LEN 29 /* 12 + 1 + 16 */
#define BACKUP_PIN_MS (24 * 3600 * 1000LL)

struct backup {
    char id[ID_LEN + 1];
    uint8_t source_id[IDENTITY_ID_LEN];
    char *source;
    uint64_t seq;
    int64_t time_ms, created_ms;
    uint64_t bytes, objects;
    struct version *v; /* file names as stored in the backup */
};

static void backup_clear(struct backup *b)
{
    free(b->source);
    if (b->v)
        version_unref(b->v);
    memset(b, 0, sizeof(*b));
}

/* 1 if id has the shape <12 hex>-<16 hex>. */
static int id_valid(const char *id)
{
    if (strlen(id) != ID_LEN || id[12] != '-')
        return 0;
    for (size_t i = 0; i < ID_LEN; i++)
        if (i != 12 && hex_digit_value(id[i]) < 0)
            return 0;
    return 1;
}

static int encode(struct buf *out, const struct backup *b)
{
    struct buf m = {0};
    size_t start = out->len;
    int rc;
    if ((rc = manifest_encode(&m, b->v)) < 0)
        goto done;
    if ((rc = buf_put_fixed32(out, BACKUP_MAGIC)) < 0 ||
        (rc = buf_put_u8(out, BACKUP_FORMAT_VERSION)) < 0 ||
        (rc = buf_put_lenbytes(out, b->id, strlen(b->id))) < 0 ||
        (rc = buf_append(out, b->source_id, IDENTITY_ID_LEN)) < 0 ||
        (rc = buf_put_lenbytes(out, b->source, strlen(b->source))) < 0 ||
        (rc = buf_put_varint(out, b->seq)) < 0 ||
        (rc = buf_put_fixed64(out, (uint64_t)b->time_ms)) < 0 ||
        (rc = buf_put_fixed64(out, (uint64_t)b->created_ms)) < 0 ||
        (rc = buf_put_varint(out, b->bytes)) < 0 || (rc = buf_put_varint(out, b->objects)) < 0 ||
        (rc = buf_put_lenbytes(out, m.data, m.len)) < 0)
        goto done;
    rc = buf_put_fixed32(out, checksum32(out->data + start, out->len - start));
done:
    buf_free(&m);
    return rc;
}

static int decode(struct backup *b, const uint8_t *data, size_t len, const char *what)
{
    const uint8_t *p = data, *end, *id, *src, *man;
    size_t id_len, src_len, man_len;
    uint32_t magic;
    uint8_t version;
    uint64_t t, c;
    memset(b, 0, sizeof(*b));
    if (len < 9 || get_fixed32(&p, data + len, &magic) < 0 || magic != BACKUP_MAGIC)
        return err_set(CIRRUS_ECORRUPT, "%s: not a cirrus backup manifest", what);
    if (decode_fixed32(data + len - 4) != checksum32(data, len - 4))
        return err_set(CIRRUS_ECORRUPT, "%s: checksum mismatch", what);
    end = data + len - 4;
    if (get_u8(&p, end, &version) < 0)
        return err_set(CIRRUS_ECORRUPT, "%s: truncated", what);
    if (version != BACKUP_FORMAT_VERSION)
        return err_set(CIRRUS_EVERSION, "%s: backup format version %u (this build knows %d)", what,
                       version, BACKUP_FORMAT_VERSION);
    if (get_lenbytes(&p, end, &id, &id_len) < 0 || id_len != ID_LEN ||
        (size_t)(end - p) < IDENTITY_ID_LEN)
        return err_set(CIRRUS_ECORRUPT, "%s: malformed backup manifest", what);
    memcpy(b->id, id, ID_LEN);
    memcpy(b->source_id, p, IDENTITY_ID_LEN);
    p += IDENTITY_ID_LEN;
    if (get_lenbytes(&p, end, &src, &src_len) < 0 || get_varint64(&p, end, &b->seq) < 0 ||
        get_fixed64(&p, end, &t) < 0 || get_fixed64(&p, end, &c) < 0 ||
        get_varint64(&p, end, &b->bytes) < 0 || get_varint64(&p, end, &b->objects) < 0 ||
        get_lenbytes(&p, end, &man, &man_len) < 0 || p != end || !id_valid(b->id) ||
        memchr(src, '\0', src_len))
        return err_set(CIRRUS_ECORRUPT, "%s: malformed backup manifest", what);
    b->time_ms = (int64_t)t;
    b->created_ms = (int64_t)c;
    int rc;
    if (!(b->source = strndup((const char *)src, src_len)))
        return err_nomem();
    if ((rc = manifest_decode(&b->v, man, man_len, what)) < 0) {
        backup_clear(b);
        return rc;
    }
    return 0;
}

static void manifest_name(char *out, size_t n, const char *id)
{
    snprintf(out, n, BACKUP_DIR "%s", id);
}

static int read_backup(struct objstore *os, const char *id, struct backup *b)
{
    char name[64];
    uint8_t *data = NULL;
    size_t len = 0;
    int rc;
    if (!id_valid(id))
        return err_set(CIRRUS_EINVALID, "'%s' is not a backup id (<12 hex>-<16 hex>)", id);
    manifest_name(name, sizeof(name), id);
    if ((rc = objstore_get_all(os, name, &data, &len)) == CIRRUS_ENOTFOUND)
        return err_set(rc, "%s: no backup %s", os->url, id);
    if (rc < 0)
        return err_prefix(rc, "reading backup %s", id);
    rc = decode(b, data, len, name);
    free(data);
    return rc;
}

/* ---- listing -------------------------------------------------------------- */

struct ids {
    char (*v)[ID_LEN + 1];
    size_t n, cap;
    char (*pending)[ID_LEN + 1];
    size_t n_pending, cap_pending;
};

static int push_id(char (**v)[ID_LEN + 1], size_t *n, size_t *cap, const char *id)
{
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        char(*nv)[ID_LEN + 1] = realloc(*v, c * sizeof(**v));
        if (!nv)
            return err_nomem();
        *v = nv;
        *cap = c;
    }
    memcpy((*v)[(*n)++], id, ID_LEN + 1);
    return 0;
}

static int collect_id(const struct objstore_entry *e, void *arg)
{
    struct ids *ids = arg;
    const char *rest = e->name + strlen(BACKUP_DIR);
    char id[ID_LEN + 1];
    size_t n = strlen(rest);
    if (n == ID_LEN && id_valid(rest))
        return push_id(&ids->v, &ids->n, &ids->cap, rest);
    if (n == ID_LEN + strlen(PENDING_SUFFIX) && strcmp(rest + ID_LEN, PENDING_SUFFIX) == 0) {
        memcpy(id, rest, ID_LEN);
        id[ID_LEN] = '\0';
        if (id_valid(id))
            return push_id(&ids->pending, &ids->n_pending, &ids->cap_pending, id);
    }
    return 0; /* not ours */
}

static void ids_free(struct ids *ids)
{
    free(ids->v);
    free(ids->pending);
}

/* The backups at os, oldest first (the store lists in name order). */
static int list_ids(struct objstore *os, struct ids *ids)
{
    memset(ids, 0, sizeof(*ids));
    int rc = objstore_list(os, BACKUP_DIR, collect_id, ids);
    if (rc < 0) {
        ids_free(ids);
        return err_prefix(rc, "listing the backups at %s", os->url);
    }
    return 0;
}

static int open_store(const char *url, int create, struct objstore **out)
{
    char *canon = NULL;
    int rc;
    if (!url)
        return err_set(CIRRUS_EINVALID, "no backup location given");
    if (strncmp(url, "fault:", 6) == 0) /* tests: a fault-injecting wrapper */
        return objstore_open(out, url, create);
    if ((rc = objstore_canonical_url(url, &canon)) < 0)
        return rc;
    rc = objstore_open(out, canon, create);
    free(canon);
    return rc;
}

int cirrus_backup_list(const char *url, int (*fn)(const cirrus_backup_info *b, void *arg),
                       void *arg)
{
    struct objstore *os = NULL;
    struct ids ids;
    int rc;
    err_clear();
    if (!fn)
        return err_set(CIRRUS_EINVALID, "cirrus_backup_list: NULL argument");
    if ((rc = open_store(url, 0, &os)) < 0)
        return rc;
    if ((rc = list_ids(os, &ids)) < 0)
        goto done;
    for (size_t i = 0; i < ids.n && rc == 0; i++) {
        struct backup b;
        if ((rc = read_backup(os, ids.v[i], &b)) < 0)
            break;
        cirrus_backup_info info = {b.id,    b.seq,     b.time_ms, b.created_ms,
                                   b.bytes, b.objects, b.source};
        rc = fn(&info, arg);
        backup_clear(&b);
    }
    ids_free(&ids);
done:
    objstore_close(os);
    return rc;
}

/* ---- create --------------------------------------------------------------- */

/* Adds to *summary (may be NULL) the copies store dst made itself. */
static int count_server_copies(struct objstore *dst, cirrus_progress *summary)
{
    struct objstore_stats st;
    if (summary) {
        objstore_stats(dst, &st);
        summary->server_side_copies = st.copies;
    }
    return 0;
}

/* The name a file has in a backup store: its own, or for a file a clone
 * shares with its source, the name it has there. */
static const char *stored_name(const char *name)
{
    struct filename fn;
    if (filename_parse(name, &fn) && fn.kind == FILENAME_PARENT)
        return fn.inner;
    return name;
}

/* The store a file of db is copied from, and its name there. */
static struct objstore *source_of(cirrus_db *db, const char *name)
{
    struct filename fn;
    if (filename_parse(name, &fn) && fn.kind == FILENAME_PARENT)
        return db->os;     /* routed to the parent (clone.c) */
    return db->os_backend; /* around the disk cache: the copy needs no caching */
}

/* Items to copy for every file of v that is not in `written` (files the
 * cut wrote into the destination already). */
static int plan(cirrus_db *db, const struct version *v, const struct version *before,
                struct copy_item **out, size_t *n_out, uint64_t *bytes)
{
    size_t n = 0, cap = 0;
    struct copy_item *items = NULL;
    *bytes = 0;
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++)
        for (size_t i = 0; i < v->n_files[l]; i++) {
            const struct file_meta *m = &v->files[l][i]->meta;
            *bytes += m->size;
            if (before && !version_find_file(before, m->name))
                continue; /* written by the cut */
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                struct copy_item *ni = realloc(items, cap * sizeof(*ni));
                if (!ni) {
                    free(items);
                    return err_nomem();
                }
                items = ni;
            }
            items[n].src = db ? source_of(db, m->name) : NULL;
            items[n].src_name = m->name;
            items[n].dst_name = stored_name(m->name);
            items[n].size = m->size;
            n++;
        }
    *out = items;
    *n_out = n;
    return 0;
}

static const char *stored_name_of(const char *name, char *buf, size_t cap, void *arg)
{
    (void)buf;
    (void)cap;
    (void)arg;
    return stored_name(name);
}

/* The version to back up, pinned for the copy: a checkpoint's, or a new
 * pin's (*pin_sk set, to be deleted when done). */
static int source_version(cirrus_db *db, const cirrus_copy_options *o, const char *id, char *pin_sk,
                          size_t n, struct version **v_out, uint64_t *seq_out, int64_t *time_out)
{
    struct pin p;
    int rc;
    pin_sk[0] = '\0';
    if (o->checkpoint) {
        if ((rc = db_checkpoint_version(db, o->checkpoint, &p, v_out)) < 0)
            return rc;
    } else {
        snprintf(pin_sk, n, PIN_SK_PREFIX "backup/%s", id);
        if ((rc = pin_create(db, pin_sk, o->seq, now_ms() + BACKUP_PIN_MS, "", &p, v_out)) < 0) {
            pin_sk[0] = '\0';
            return rc;
        }
    }
    *seq_out = p.seq;
    *time_out = p.time_ms;
    pin_clear(&p);
    return 0;
}

int cirrus_backup_create(cirrus_db *db, const char *url, const cirrus_copy_options *o,
                         char **id_out, cirrus_progress *summary)
{
    cirrus_copy_options defaults = CIRRUS_COPY_OPTIONS_INIT;
    struct objstore *bs = NULL;
    struct backup b = {0};
    struct version *v = NULL, *cut = NULL;
    struct copy_item *items = NULL;
    struct buf enc = {0};
    char pin_sk[96] = "", pending[64], name[64];
    size_t n = 0;
    int rc;
    err_clear();
    if (!db)
        return err_set(CIRRUS_EINVALID, "cirrus_backup_create: NULL argument");
    if (!o)
        o = &defaults;
    if (db->opts.read_only)
        return err_set(CIRRUS_EINVALID, "a backup pins its version: not through a read-only "
                                        "handle");
    if ((rc = open_store(url, 1, &bs)) < 0)
        return rc;
    snprintf(b.id, sizeof(b.id), "%012" PRIx64 "-%016" PRIx64, (uint64_t)now_ms(), rand_u64());
    snprintf(pending, sizeof(pending), BACKUP_DIR "%s" PENDING_SUFFIX, b.id);
    if ((rc = objstore_put(bs, pending, "", 0)) < 0) {
        rc = err_prefix(rc, "starting backup %s", b.id);
        goto done;
    }
    if ((rc = source_version(db, o, b.id, pin_sk, sizeof(pin_sk), &v, &b.seq, &b.time_ms)) < 0 ||
        (rc = version_cut(db, v, b.seq, b.time_ms, bs, &cut, NULL)) < 0 ||
        (rc = plan(db, cut, v, &items, &n, &b.bytes)) < 0 ||
        (rc = copier_run(bs, items, n, o->threads, o->progress, o->progress_arg, summary)) < 0 ||
        (rc = count_server_copies(bs, summary)) < 0 ||
        (rc = version_renamed(cut, stored_name_of, NULL, &b.v)) < 0)
        goto done;
    memcpy(b.source_id, db->ident.id, IDENTITY_ID_LEN);
    b.source = db->os->url;
    b.created_ms = now_ms();
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++)
        b.objects += b.v->n_files[l];
    b.objects++; /* the manifest */
    manifest_name(name, sizeof(name), b.id);
    if ((rc = encode(&enc, &b)) < 0 || (rc = objstore_put(bs, name, enc.data, enc.len)) < 0) {
        rc = err_prefix(rc, "writing backup manifest %s", name);
        goto done;
    }
    objstore_del(bs, pending); /* best effort: stale markers are ignored */
    if (id_out && !(*id_out = strdup(b.id)))
        rc = err_nomem();
done:
    b.source = NULL; /* borrowed */
    if (pin_sk[0]) {
        char what[128];
        snprintf(what, sizeof(what), "the backup's pin %s", pin_sk);
        int prc = pin_delete(db, pin_sk, what);
        if (rc == 0 && prc < 0)
            rc = prc;
    }
    buf_free(&enc);
    free(items);
    if (cut)
        version_unref(cut);
    if (v)
        version_unref(v);
    backup_clear(&b);
    objstore_close(bs);
    return rc;
}

/* ---- delete --------------------------------------------------------------- */

struct sweep {
    struct objstore *os;
    char **keep;
    size_t n_keep, cap_keep;
    int64_t protect_from_ms; /* objects written since are kept (a backup on its way) */
    cirrus_progress *prog;
    int rc;
};

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int keep_version(struct sweep *s, const struct version *v)
{
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++)
        for (size_t i = 0; i < v->n_files[l]; i++) {
            if (s->n_keep == s->cap_keep) {
                size_t c = s->cap_keep ? s->cap_keep * 2 : 256;
                char **nk = realloc(s->keep, c * sizeof(*nk));
                if (!nk)
                    return err_nomem();
                s->keep = nk;
                s->cap_keep = c;
            }
            if (!(s->keep[s->n_keep] = strdup(v->files[l][i]->meta.name)))
                return err_nomem();
            s->n_keep++;
        }
    return 0;
}

static int sweep_one(const struct objstore_entry *e, void *arg)
{
    struct sweep *s = arg;
    const char *name = e->name;
    struct filename fn;
    if (!filename_parse(name, &fn) || fn.kind != FILENAME_SST)
        return 0; /* not ours */
    if (s->n_keep && bsearch(&name, s->keep, s->n_keep, sizeof(*s->keep), cmp_str))
        return 0;
    if (s->protect_from_ms && e->mtime_ms >= s->protect_from_ms)
        return 0;
    int rc = objstore_del(s->os, name);
    if (rc < 0)
        return err_prefix(rc, "deleting %s", name);
    if (s->prog) {
        s->prog->objects_done++;
        s->prog->bytes_done += e->size;
    }
    return 0;
}

int cirrus_backup_delete(const char *url, const char *id, cirrus_progress *summary)
{
    struct objstore *os = NULL;
    struct backup b = {0};
    struct ids ids = {0};
    struct sweep s = {0};
    cirrus_progress prog = {0};
    char name[64];
    int rc;
    err_clear();
    if (!id)
        return err_set(CIRRUS_EINVALID, "cirrus_backup_delete: NULL argument");
    if ((rc = open_store(url, 0, &os)) < 0)
        return rc;
    if ((rc = read_backup(os, id, &b)) < 0)
        goto done;
    manifest_name(name, sizeof(name), id);
    if ((rc = objstore_del(os, name)) < 0) {
        rc = err_prefix(rc, "deleting backup %s", id);
        goto done;
    }
    prog.objects_done = 1;
    /* what the other backups need stays; so does what a backup on its way
     * may have copied (written since its marker, less a minute of clock
     * skew; markers older than a day are of killed runs) */
    s.os = os;
    s.prog = &prog;
    if ((rc = list_ids(os, &ids)) < 0)
        goto done;
    for (size_t i = 0; i < ids.n && rc == 0; i++) {
        struct backup o;
        if ((rc = read_backup(os, ids.v[i], &o)) == 0) {
            rc = keep_version(&s, o.v);
            backup_clear(&o);
        }
    }
    for (size_t i = 0; i < ids.n_pending && rc == 0; i++) {
        int64_t t = (int64_t)strtoull(ids.pending[i], NULL, 16);
        if (t > now_ms() - BACKUP_PIN_MS && (!s.protect_from_ms || t - 60000 < s.protect_from_ms))
            s.protect_from_ms = t - 60000;
    }
    if (rc < 0)
        goto done;
    if (s.n_keep)
        qsort(s.keep, s.n_keep, sizeof(*s.keep), cmp_str);
    if ((rc = objstore_list(os, FILENAME_SST_DIR, sweep_one, &s)) < 0)
        rc = err_prefix(rc, "deleting the files of backup %s", id);
done:
    for (size_t i = 0; i < s.n_keep; i++)
        free(s.keep[i]);
    free(s.keep);
    ids_free(&ids);
    backup_clear(&b);
    objstore_close(os);
    if (summary)
        *summary = prog;
    return rc;
}

/* ---- restore -------------------------------------------------------------- */

/* The newest backup's id at os. */
static int newest(struct objstore *os, char id[ID_LEN + 1])
{
    struct ids ids;
    int rc = list_ids(os, &ids);
    if (rc < 0)
        return rc;
    if (ids.n == 0)
        rc = err_set(CIRRUS_ENOTFOUND, "%s: holds no complete backup", os->url);
    else
        memcpy(id, ids.v[ids.n - 1], ID_LEN + 1);
    ids_free(&ids);
    return rc;
}

/* Writes the first version of a new database: manifest/<seq>. */
static int write_base_manifest(cirrus_db *db, const struct version *v)
{
    struct buf b = {0};
    char name[FILENAME_LEN];
    uint8_t *have = NULL;
    size_t have_len = 0;
    int rc;
    filename_manifest(name, v->seq);
    if ((rc = manifest_encode(&b, v)) < 0)
        goto done;
    rc = objstore_put(db->os, name, b.data, b.len);
    if (rc == CIRRUS_EEXISTS) {
        /* an interrupted restore of the same backup wrote the same bytes */
        if ((rc = objstore_get_all(db->os, name, &have, &have_len)) == 0 &&
            (have_len != b.len || memcmp(have, b.data, b.len) != 0))
            rc = err_set(CIRRUS_EEXISTS, "%s: exists with other contents", name);
    }
    if (rc < 0)
        rc = err_prefix(rc, "writing the first manifest %s", name);
done:
    free(have);
    buf_free(&b);
    return rc;
}

int db_create_from(cirrus_db *db, const struct version *v)
{
    int rc;
    if ((rc = write_base_manifest(db, v)) < 0 ||
        (rc = identity_create(db, v->seq, v->time_ms)) < 0 || (rc = db_open_finish(db)) < 0)
        return rc;
    return 0;
}

/* After identity_location_free refused dst: 0 (db opened) if an earlier restore of
 * this backup got as far as writing the identity item (its files and
 * first manifest were in place before it), else CIRRUS_EEXISTS. */
static int finished_before(cirrus_db *db, const char *dst_url, const struct backup *b)
{
    uint64_t size;
    char name[FILENAME_LEN];
    int rc = objstore_head(db->os, IDENTITY_OBJECT, &size);
    if (rc != CIRRUS_ENOTFOUND)
        return rc < 0 ? rc
                      : err_set(CIRRUS_EEXISTS, "%s: a database exists there already", dst_url);
    if ((rc = identity_check(db, dst_url, NULL, 1)) < 0)
        return rc;
    filename_manifest(name, b->seq);
    if (db->ident.base_seq != b->seq || objstore_head(db->os, name, &size) != 0)
        return err_set(CIRRUS_EEXISTS, "%s: a database exists there already", dst_url);
    return db_open_finish(db);
}

int cirrus_restore(const char *dst_url, const cirrus_options *opts, const char *url, const char *id,
                   const cirrus_copy_options *o, cirrus_db **out, cirrus_progress *summary)
{
    cirrus_copy_options defaults = CIRRUS_COPY_OPTIONS_INIT;
    cirrus_options dopts = CIRRUS_OPTIONS_INIT;
    struct objstore *bs = NULL;
    struct backup b = {0};
    struct copy_item *items = NULL;
    cirrus_db *db = NULL;
    char want[ID_LEN + 1];
    size_t n = 0;
    uint64_t bytes;
    int rc;
    err_clear();
    if (!o)
        o = &defaults;
    if (!opts)
        opts = &dopts;
    if (opts->read_only)
        return err_set(CIRRUS_EINVALID, "a restore writes: not through a read-only handle");
    if ((rc = open_store(url, 0, &bs)) < 0)
        return rc;
    if (id)
        snprintf(want, sizeof(want), "%s", id);
    else if ((rc = newest(bs, want)) < 0)
        goto done;
    if ((rc = read_backup(bs, id ? id : want, &b)) < 0 ||
        (rc = db_open_stores(&db, dst_url, opts)) < 0)
        goto done;
    int earlier = 0; /* an earlier run got as far as the identity */
    if ((rc = identity_location_free(db, dst_url)) == CIRRUS_EEXISTS &&
        (rc = finished_before(db, dst_url, &b)) == 0)
        earlier = 1;
    if (rc < 0)
        goto done;
    if (!earlier) {
        if ((rc = plan(NULL, b.v, NULL, &items, &n, &bytes)) < 0)
            goto done;
        for (size_t i = 0; i < n; i++)
            items[i].src = bs;
        if ((rc = copier_run(db->os_backend, items, n, o->threads, o->progress, o->progress_arg,
                             summary)) < 0 ||
            (rc = count_server_copies(db->os_backend, summary)) < 0 ||
            (rc = db_create_from(db, b.v)) < 0)
            goto done;
    }
    if (out) {
        *out = db;
        db = NULL;
    } else {
        rc = cirrus_close(db);
        db = NULL;
    }
done:
    if (db)
        db_open_abort(db);
    free(items);
    backup_clear(&b);
    objstore_close(bs);
    return rc;
}

/* ---- verify --------------------------------------------------------------- */

int cirrus_verify_backup(const char *url, const char *id, const cirrus_verify_options *o,
                         void (*fn)(const cirrus_verify_problem *p, void *arg), void *arg,
                         cirrus_verify_summary *summary)
{
    cirrus_verify_options defaults = CIRRUS_VERIFY_OPTIONS_INIT;
    struct objstore *os = NULL;
    struct verifier vf;
    struct ids ids = {0};
    int rc;
    err_clear();
    if (!o)
        o = &defaults;
    if ((rc = open_store(url, 0, &os)) < 0)
        return rc;
    verifier_init(&vf, os, o, fn, arg);
    if (id) {
        if ((rc = push_id(&ids.v, &ids.n, &ids.cap, id)) < 0)
            goto done;
    } else if ((rc = list_ids(os, &ids)) < 0) {
        goto done;
    } else if (ids.n == 0) {
        rc = err_set(CIRRUS_ENOTFOUND, "%s: holds no complete backup", os->url);
        goto done;
    }
    for (size_t i = 0; i < ids.n && rc == 0; i++) {
        struct backup b;
        char name[64];
        manifest_name(name, sizeof(name), ids.v[i]);
        vf.sum.objects++;
        if ((rc = read_backup(os, ids.v[i], &b)) == CIRRUS_ECORRUPT || rc == CIRRUS_EVERSION) {
            verifier_problem(&vf, name, "%s", cirrus_errmsg());
            rc = 0;
            continue;
        }
        if (rc < 0)
            break;
        rc = verifier_files(&vf, b.v);
        backup_clear(&b);
    }
    if (rc == 0)
        rc = verifier_result(&vf, os->url, summary);
done:
    verifier_clear(&vf);
    ids_free(&ids);
    objstore_close(os);
    return rc;
}
