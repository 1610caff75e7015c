/*
 * inspect.c - read-only inspection of what a database is made of:
 * cirrus_files (the live files of a version) and cirrus_inspect (an SST, a
 * log entry, a manifest or the metadata items, decoded as JSON objects).
 *
 * Every decoding here goes through the decoder the engine itself reads
 * with (entry_decode via commitlog_decode, manifest_decode, identity_decode,
 * pin_decode, the parent and lease decoders, sst_decode_footer,
 * sst_unwrap_block, sst_decode_props and the block iterator), so that what
 * an operator is shown is what the engine would read. Nothing is written.
 *
 * Bytes (keys, values, range bounds) go into JSON as one lossless encoding,
 * the same everywhere (docs/JSON.md): field F is a JSON string when the
 * bytes are valid UTF-8 without control bytes (U+0000..U+001F, U+007F),
 * else field F_b64 holds their base64 (RFC 4648, padded) and F is absent.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "db/filename.h"
#include "db/identity.h"
#include "db/manifest.h"
#include "db/pins.h"
#include "metastore/metastore.h"
#include "objstore/objstore.h"
#include "table/block.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "table/sst_format.h"
#include "util/coding.h"
#include "util/status.h"
#include "util/sys.h"

/* Items of the database partition read per metastore query. */
#define META_PAGE 256

/* ---- JSON building ------------------------------------------------------ */

/* Sets o[name] to v (a new reference, which is taken); NULL v is out of
 * memory. Returns 0 or CIRRUS_ENOMEM. */
static int set(json_t *o, const char *name, json_t *v)
{
    return v && json_object_set_new(o, name, v) == 0 ? 0 : err_nomem();
}

static int set_u64(json_t *o, const char *name, uint64_t v)
{
    /* json_int_t is signed 64-bit: seqs and sizes fit below 2^63 */
    return set(o, name, json_integer((json_int_t)v));
}

static int set_str(json_t *o, const char *name, const char *s)
{
    return set(o, name, s ? json_string(s) : json_null());
}

/* Whether p[0..len) is text JSON can carry as is: json_stringn checks the
 * UTF-8, this the control bytes. */
static int plain_text(const uint8_t *p, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (p[i] < 0x20 || p[i] == 0x7f)
            return 0;
    return 1;
}

static json_t *base64(const uint8_t *p, size_t len)
{
    static const char digits[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *out = malloc((len + 2) / 3 * 4 + 1);
    size_t n = 0;
    if (!out)
        return NULL;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16;
        if (i + 1 < len)
            v |= (uint32_t)p[i + 1] << 8;
        if (i + 2 < len)
            v |= p[i + 2];
        out[n++] = digits[(v >> 18) & 63];
        out[n++] = digits[(v >> 12) & 63];
        out[n++] = i + 1 < len ? digits[(v >> 6) & 63] : '=';
        out[n++] = i + 2 < len ? digits[v & 63] : '=';
    }
    out[n] = '\0';
    json_t *s = json_string(out);
    free(out);
    return s;
}

/* Sets o[name] to the bytes p[0..len) in the encoding above. */
static int set_bytes(json_t *o, const char *name, const void *p, size_t len)
{
    char b64_name[64];
    json_t *s = NULL;
    if (plain_text(p, len) && (s = json_stringn(len ? p : "", len)))
        return set(o, name, s);
    snprintf(b64_name, sizeof(b64_name), "%s_b64", name);
    return set(o, b64_name, base64(p, len));
}

static int set_hex(json_t *o, const char *name, const uint8_t *p, size_t len)
{
    char hex[2 * 64 + 1];
    if (len > 64)
        len = 64;
    hex_encode(hex, p, len);
    return set_str(o, name, hex);
}

/* Hands o (a reference, which is taken) to emit as one compact line. */
static int emit_json(json_t *o, int (*emit)(const char *json, void *arg), void *arg)
{
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (!s)
        return err_nomem();
    int rc = emit(s, arg);
    free(s);
    return rc;
}

/* ---- shared pieces: files, range deletes, entries ------------------------ */

static json_t *file_json(const struct file_meta *f)
{
    json_t *o = json_object();
    if (!o || set_u64(o, "level", f->level) < 0 || set_str(o, "name", f->name) < 0 ||
        set_u64(o, "size", f->size) < 0 || set_bytes(o, "smallest", f->smallest, f->smallest_len) ||
        set_bytes(o, "largest", f->largest, f->largest_len) < 0 ||
        set_u64(o, "min_seq", f->min_seq) < 0 || set_u64(o, "max_seq", f->max_seq) < 0 ||
        set_u64(o, "entries", f->n_entries) < 0 || set_u64(o, "deletes", f->n_deletes) < 0 ||
        set_u64(o, "global_seq", f->global_seq == ENTRY_SEQ_SELF ? 0 : f->global_seq) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *ranges_json(const struct range_del *r, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a && i < n; i++) {
        json_t *o = json_object();
        if (!o || set_bytes(o, "from", r[i].from, r[i].from_len) < 0 ||
            set_bytes(o, "to", r[i].to, r[i].to_len) < 0 || set_u64(o, "seq", r[i].seq) < 0 ||
            json_array_append_new(a, o) < 0) {
            json_decref(o);
            json_decref(a);
            return NULL;
        }
    }
    return a;
}

static const char *entry_kind_name(int kind)
{
    switch (kind) {
    case CIRRUS_ENTRY_WRITE:
        return "write";
    case CIRRUS_ENTRY_COMPACT:
        return "compact";
    case CIRRUS_ENTRY_CHECKPOINT:
        return "checkpoint";
    default:
        return "unknown";
    }
}

static json_t *entry_json(const struct entry *e)
{
    json_t *o = json_object(), *added = json_array(), *removed = json_array();
    int rc = o && added && removed ? 0 : err_nomem();
    for (size_t i = 0; rc == 0 && i < e->n_added; i++) {
        json_t *f = file_json(&e->added[i]);
        /* a global file of an entry reads with the entry's seq */
        if (f && e->added[i].global_seq == ENTRY_SEQ_SELF)
            rc = set_u64(f, "global_seq", e->seq);
        if (rc == 0 && (!f || json_array_append_new(added, f) < 0))
            rc = err_nomem();
    }
    for (size_t i = 0; rc == 0 && i < e->n_removed; i++)
        if (json_array_append_new(removed, json_string(e->removed[i])) < 0)
            rc = err_nomem();
    if (rc == 0 &&
        (set_u64(o, "seq", e->seq) < 0 || set_str(o, "kind", entry_kind_name(e->kind)) ||
         set_hex(o, "commit_id", e->commit_id, COMMIT_ID_LEN) < 0 ||
         set(o, "time_ms", json_integer(e->time_ms)) < 0 || set_str(o, "writer", e->writer) < 0))
        rc = err_nomem();
    if (rc == 0) {
        rc = set(o, "added", added);
        added = NULL;
    }
    if (rc == 0) {
        rc = set(o, "removed", removed);
        removed = NULL;
    }
    if (rc == 0 &&
        (set(o, "range_deletes", ranges_json(e->ranges, e->n_ranges)) < 0 ||
         set_str(o, "app_id", e->app_id) < 0 || set_u64(o, "epoch", e->epoch) < 0 ||
         set_u64(o, "horizon", e->horizon) < 0 || set_str(o, "delta_object", e->delta_name) < 0))
        rc = err_nomem();
    json_decref(added);
    json_decref(removed);
    if (rc < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* ---- the version at a seq ------------------------------------------------- */

struct newest_manifest {
    uint64_t at_most; /* the seq sought */
    uint64_t found;   /* the newest manifest seq <= at_most; 0: none */
};

static int note_manifest(const struct objstore_entry *e, void *arg)
{
    struct newest_manifest *m = arg;
    const char *s = e->name + strlen(FILENAME_MANIFEST_DIR);
    char *end;
    uint64_t seq = strtoull(s, &end, 10);
    if (*end == '\0' && end != s && seq <= m->at_most && seq > m->found)
        m->found = seq;
    return 0;
}

/* Reads manifest `name` into a new version. A manifest is named by the
 * pointer or the caller: missing is damage, not an empty db. */
static int read_manifest(cirrus_db *db, const char *name, struct version **out)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc = objstore_get_all(db->os, name, &data, &len);
    if (rc < 0)
        return err_prefix(rc == CIRRUS_ENOTFOUND ? CIRRUS_ECORRUPT : rc, "manifest %s%s", name,
                          rc == CIRRUS_ENOTFOUND ? ": the object is missing" : "");
    rc = manifest_decode(out, data, len, name);
    free(data);
    return rc;
}

/* The version exactly as it was at seq: the newest manifest at or below
 * seq with the log replayed on it up to seq. Reads at an old seq use the
 * current version (MVCC), which is not what an operator asks to see. */
static int version_at(cirrus_db *db, uint64_t seq, struct version **out)
{
    struct newest_manifest m = {seq, 0};
    struct version *v = NULL;
    char name[FILENAME_LEN];
    uint64_t head;
    int rc;
    if ((rc = db_refresh(db, &head)) < 0)
        return rc;
    if (seq > head)
        return err_set(CIRRUS_EINVALID, "seq %" PRIu64 " is beyond the head (%" PRIu64 ")", seq,
                       head);
    if (seq == head) {
        pthread_mutex_lock(&db->mu);
        v = db->vs.current;
        version_ref(v);
        pthread_mutex_unlock(&db->mu);
        if (v->seq == seq) {
            *out = v;
            return 0;
        }
        version_unref(v); /* another writer moved on: rebuild */
        v = NULL;
    }
    if (seq < db->log.base_seq)
        return err_set(CIRRUS_EEXPIRED,
                       "seq %" PRIu64 " is before this database's first (%" PRIu64 ")", seq,
                       db->log.base_seq);
    if ((rc = objstore_list(db->os, FILENAME_MANIFEST_DIR, note_manifest, &m)) < 0)
        return err_prefix(rc, "listing manifests");
    if (m.found) {
        filename_manifest(name, m.found);
        if ((rc = read_manifest(db, name, &v)) < 0)
            return rc;
    } else if (db->log.base_seq != 0) {
        return err_set(CIRRUS_EEXPIRED, "no manifest at or below seq %" PRIu64, seq);
    } else if ((rc = version_new(&v)) < 0) {
        return rc;
    }
    if (v->seq < seq && (rc = db_replay_log(db, &v, v->seq + 1, seq + 1)) < 0) {
        version_unref(v);
        if (rc == CIRRUS_ENOTFOUND)
            return err_set(CIRRUS_EEXPIRED,
                           "the version at seq %" PRIu64 ": log entries after manifest seq %" PRIu64
                           " were trimmed",
                           seq, m.found);
        return rc;
    }
    *out = v;
    return 0;
}

/* The version a files listing shows: the current one (NULL), a seq's
 * (decimal text), or a checkpoint's. */
static int pick_version(cirrus_db *db, const char *arg, unsigned flags, struct version **out)
{
    struct pin p = {0};
    uint64_t seq;
    char *end;
    int rc;
    if (flags & CIRRUS_INSPECT_CHECKPOINT) {
        if (!arg)
            return err_set(CIRRUS_EINVALID, "cirrus_inspect: no checkpoint name");
        rc = db_checkpoint_version(db, arg, &p, out);
        pin_clear(&p);
        return rc;
    }
    if (!arg) {
        if ((rc = db_refresh(db, &seq)) < 0)
            return rc;
        pthread_mutex_lock(&db->mu);
        *out = db->vs.current;
        version_ref(*out);
        pthread_mutex_unlock(&db->mu);
        return 0;
    }
    seq = strtoull(arg, &end, 10);
    if (*arg < '0' || *arg > '9' || *end)
        return err_set(CIRRUS_EINVALID, "cirrus_inspect: seq %s is not a decimal number", arg);
    return version_at(db, seq, out);
}

/* ---- cirrus_files ---------------------------------------------------------- */

static int files_of(const struct version *v, int (*fn)(const cirrus_file_info *f, void *arg),
                    void *arg)
{
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++)
        for (size_t i = 0; i < v->n_files[l]; i++) {
            const struct file_meta *m = &v->files[l][i]->meta;
            cirrus_file_info f = {
                .level = l,
                .name = m->name,
                .size = m->size,
                .smallest = m->smallest,
                .smallest_len = m->smallest_len,
                .largest = m->largest,
                .largest_len = m->largest_len,
                .smallest_seq = m->min_seq,
                .largest_seq = m->max_seq,
                .entries = m->n_entries,
                .deletes = m->n_deletes,
                .global_seq = m->global_seq,
            };
            int rc = fn(&f, arg);
            if (rc)
                return rc;
        }
    return 0;
}

int cirrus_files(cirrus_db *db, const cirrus_snapshot *snap,
                 int (*fn)(const cirrus_file_info *f, void *arg), void *arg)
{
    struct superversion sv;
    struct version *v = NULL;
    cirrus_read_options ro = {0};
    uint64_t seq;
    char num[24];
    int rc;
    err_clear();
    if (!db || !fn)
        return err_set(CIRRUS_EINVALID, "cirrus_files: NULL argument");
    ro.snapshot = snap;
    /* a checkpoint's snapshot holds its own version; any other at seq */
    if ((rc = db_acquire_read(db, &ro, &sv, &seq)) < 0)
        return rc;
    if (!snap || sv.v->seq == seq) {
        v = sv.v;
        version_ref(v);
    }
    db_release(&sv);
    snprintf(num, sizeof(num), "%" PRIu64, seq);
    if (!v && (rc = pick_version(db, num, 0, &v)) < 0)
        return rc;
    rc = files_of(v, fn, arg);
    version_unref(v);
    return rc;
}

/* ---- what == CIRRUS_INSPECT_FILES / MANIFEST -------------------------------- */

struct emitter {
    int (*emit)(const char *json, void *arg);
    void *arg;
};

static int emit_file(const cirrus_file_info *f, void *arg)
{
    const struct emitter *em = arg;
    struct file_meta m = {
        .name = (char *)f->name,
        .size = f->size,
        .level = (uint32_t)f->level,
        .global_seq = f->global_seq,
        .smallest = (uint8_t *)f->smallest,
        .smallest_len = f->smallest_len,
        .largest = (uint8_t *)f->largest,
        .largest_len = f->largest_len,
        .min_seq = f->smallest_seq,
        .max_seq = f->largest_seq,
        .n_entries = f->entries,
        .n_deletes = f->deletes,
    };
    return emit_json(file_json(&m), em->emit, em->arg);
}

static int inspect_files(cirrus_db *db, const char *arg, unsigned flags, struct emitter *em)
{
    struct version *v = NULL;
    int rc = pick_version(db, arg, flags, &v);
    if (rc < 0)
        return rc;
    rc = files_of(v, emit_file, em);
    version_unref(v);
    return rc;
}

/* Appends v's exactly-once apps to array a. */
static int add_apps(json_t *a, const struct version *v)
{
    for (size_t i = 0; i < v->n_apps; i++) {
        json_t *o = json_object();
        if (!o || set_str(o, "app_id", v->apps[i].app) < 0 ||
            set_u64(o, "epoch", v->apps[i].epoch) < 0 || set_u64(o, "seq", v->apps[i].seq) < 0 ||
            json_array_append_new(a, o) < 0) {
            json_decref(o);
            return err_nomem();
        }
    }
    return 0;
}

static json_t *version_json(const struct version *v, const char *name)
{
    json_t *o = json_object(), *files = json_array(), *apps = json_array();
    int rc = o && files && apps ? 0 : err_nomem();
    for (int l = 0; rc == 0 && l < CIRRUS_MAX_LEVELS; l++)
        for (size_t i = 0; rc == 0 && i < v->n_files[l]; i++)
            if (json_array_append_new(files, file_json(&v->files[l][i]->meta)) < 0)
                rc = err_nomem();
    if (rc == 0)
        rc = add_apps(apps, v);
    if (rc == 0 && (set_str(o, "name", name) < 0 || set_u64(o, "seq", v->seq) < 0 ||
                    set(o, "time_ms", json_integer(v->time_ms)) < 0 ||
                    set_u64(o, "min_readable_seq", v->min_readable_seq) < 0))
        rc = err_nomem();
    if (rc == 0) {
        rc = set(o, "files", files);
        files = NULL;
    }
    if (rc == 0 && (rc = set(o, "range_deletes", ranges_json(v->ranges, v->n_ranges))) == 0) {
        rc = set(o, "app_epochs", apps);
        apps = NULL;
    }
    json_decref(files);
    json_decref(apps);
    if (rc < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static int parse_seq(const char *what, const char *s, uint64_t *out)
{
    char *end;
    if (!s || *s < '0' || *s > '9')
        return err_set(CIRRUS_EINVALID, "cirrus_inspect: %s %s is not a decimal number", what,
                       s ? s : "(none)");
    *out = strtoull(s, &end, 10);
    if (*end)
        return err_set(CIRRUS_EINVALID, "cirrus_inspect: %s %s is not a decimal number", what, s);
    return 0;
}

static int inspect_manifest(cirrus_db *db, const char *arg, struct emitter *em)
{
    struct version *v = NULL;
    char name[FILENAME_LEN];
    uint64_t seq = 0;
    int rc;
    if (arg && (rc = parse_seq("manifest seq", arg, &seq)) < 0)
        return rc;
    if (!arg && (rc = commitlog_get_pointer(&db->log, &seq)) < 0)
        return rc;
    if (!arg && seq < db->log.base_seq)
        seq = db->log.base_seq;
    if (seq == 0)
        return err_set(CIRRUS_ENOTFOUND, "no manifest: none was written yet");
    filename_manifest(name, seq);
    if ((rc = read_manifest(db, name, &v)) < 0)
        return rc;
    rc = emit_json(version_json(v, name), em->emit, em->arg);
    version_unref(v);
    return rc;
}

/* ---- what == CIRRUS_INSPECT_ENTRY ------------------------------------------ */

static int inspect_entry(cirrus_db *db, const char *arg, struct emitter *em)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t seq, head;
    struct entry e;
    int rc;
    if ((rc = parse_seq("entry seq", arg, &seq)) < 0)
        return rc;
    if ((rc = commitlog_get_head(&db->log, &head, &raw, &len)) < 0)
        return rc;
    if (seq == 0 || seq <= db->log.base_seq || seq > head) {
        rc = err_set(CIRRUS_EINVALID,
                     "log entry %" PRIu64 ": this database's entries are %" PRIu64 "..%" PRIu64,
                     seq, db->log.base_seq + 1, head);
        goto done;
    }
    if (seq != head) {
        free(raw);
        raw = NULL;
        if ((rc = commitlog_get_log(&db->log, seq, &raw, &len)) < 0) {
            rc =
                err_prefix(rc == CIRRUS_ENOTFOUND ? CIRRUS_ECORRUPT : rc, "log entry %" PRIu64 "%s",
                           seq, rc == CIRRUS_ENOTFOUND ? ": the item is missing (trimmed?)" : "");
            goto done;
        }
    }
    if ((rc = commitlog_decode(&db->log, raw, len, seq, &e)) < 0)
        goto done;
    rc = emit_json(entry_json(&e), em->emit, em->arg);
    entry_clear(&e);
done:
    free(raw);
    return rc;
}

/* ---- what == CIRRUS_INSPECT_SST -------------------------------------------- */

static const char *ikind_name(int kind)
{
    switch (kind) {
    case KIND_DELETE:
        return "delete";
    case KIND_PUT:
        return "put";
    case KIND_MERGE:
        return "merge";
    case KIND_PUT_TTL:
        return "put_ttl";
    default:
        return "unknown";
    }
}

static json_t *handle_json(const struct block_handle *h)
{
    json_t *o = json_object();
    if (!o || set_u64(o, "offset", h->off) < 0 || set_u64(o, "size", h->size) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *props_json(const struct sst_props *p)
{
    json_t *o = json_object();
    if (!o || set_u64(o, "format_version", p->format_version) < 0 ||
        set_bytes(o, "smallest", p->smallest, p->smallest_len) < 0 ||
        set_bytes(o, "largest", p->largest, p->largest_len) < 0 ||
        set_u64(o, "min_seq", p->min_seq) < 0 || set_u64(o, "max_seq", p->max_seq) < 0 ||
        set_u64(o, "entries", p->n_entries) < 0 || set_u64(o, "deletes", p->n_deletes) < 0 ||
        set_u64(o, "data_blocks", p->n_data_blocks) < 0 ||
        set_u64(o, "raw_key_bytes", p->raw_key_bytes) < 0 ||
        set_u64(o, "raw_value_bytes", p->raw_value_bytes) < 0 ||
        set_u64(o, "file_size", p->file_size) < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* One entry of a data block (internal key k, global seq applied). */
static int emit_sst_entry(const uint8_t *k, size_t klen, const uint8_t *val, size_t vlen,
                          struct emitter *em)
{
    int kind = ikey_kind(k, klen);
    json_t *o = json_object();
    if (!o || set_str(o, "type", "entry") < 0 || set_bytes(o, "key", k, ikey_user_len(klen)) < 0 ||
        set_u64(o, "seq", ikey_seq(k, klen)) < 0 || set_str(o, "kind", ikind_name(kind)) < 0) {
        json_decref(o);
        return err_nomem();
    }
    /* a TTL put stores its expiry before the value (docs/FORMAT.md) */
    if (kind == KIND_PUT_TTL && vlen >= 8) {
        if (set(o, "expires_ms", json_integer((json_int_t)decode_fixed64(val))) < 0) {
            json_decref(o);
            return err_nomem();
        }
        val += 8;
        vlen -= 8;
    }
    if (kind != KIND_DELETE && set_bytes(o, "value", val, vlen) < 0) {
        json_decref(o);
        return err_nomem();
    }
    return emit_json(o, em->emit, em->arg);
}

struct sst_walk {
    const char *name;
    const uint8_t *file;
    size_t size;
    uint64_t global_seq;
    unsigned flags;
    struct emitter *em;
};

/* Data block h (index key `last`): its row and entries as asked. */
static int walk_block(struct sst_walk *w, const struct block_handle *h, uint64_t n)
{
    const uint8_t *data = NULL;
    uint8_t *mem = NULL;
    size_t len = 0;
    uint64_t count = 0;
    struct block_iter it = {0};
    struct block_origin origin = {w->name, "data", h->off};
    int rc;
    if ((rc = sst_check_handle(h, w->size, w->name, "data")) < 0 ||
        (rc = sst_unwrap_block(&data, &len, &mem, w->file + h->off, h, w->name, "data")) < 0)
        goto done;
    if ((rc = block_iter_init(&it, data, len, &origin, w->global_seq)) < 0)
        goto done;
    if (w->flags & CIRRUS_INSPECT_BLOCKS) {
        for (iter_first(&it.base); iter_valid(&it.base); iter_next(&it.base))
            count++;
        if ((rc = iter_status(&it.base)) < 0)
            goto done;
        json_t *o = json_object();
        if (!o || set_str(o, "type", "block") < 0 || set_u64(o, "index", n) < 0 ||
            set_u64(o, "offset", h->off) < 0 || set_u64(o, "size", h->size) < 0 ||
            set_u64(o, "uncompressed_size", len) < 0 ||
            set_str(o, "compressed", mem ? "yes" : "no") || set_u64(o, "entries", count) < 0) {
            json_decref(o);
            rc = err_nomem();
            goto done;
        }
        if ((rc = emit_json(o, w->em->emit, w->em->arg)) != 0)
            goto done;
    }
    if (w->flags & CIRRUS_INSPECT_ENTRIES) {
        for (iter_first(&it.base); iter_valid(&it.base); iter_next(&it.base))
            if ((rc = emit_sst_entry(it.key.data, it.key.len, it.val, it.val_len, w->em)) != 0)
                goto done;
        rc = iter_status(&it.base);
    }
done:
    block_iter_clear(&it);
    free(mem);
    return rc;
}

/* The header object of an SST: footer, properties, filter, index size. */
static int sst_header(struct sst_walk *w, const struct sst_footer *f, const struct sst_props *p,
                      size_t filter_len, uint64_t n_index, int live)
{
    json_t *o = json_object(), *footer = json_object();
    int rc = o && footer ? 0 : err_nomem();
    if (rc == 0 && (set(footer, "filter", handle_json(&f->filter)) < 0 ||
                    set(footer, "properties", handle_json(&f->props)) < 0 ||
                    set(footer, "index", handle_json(&f->index)) < 0 ||
                    set_u64(footer, "format_version", f->format_version) < 0))
        rc = err_nomem();
    if (rc == 0 && (set_str(o, "type", "sst") < 0 || set_str(o, "name", w->name) < 0 ||
                    set_u64(o, "size", w->size) < 0 || set(o, "live", json_boolean(live)) < 0 ||
                    set_u64(o, "global_seq", w->global_seq) < 0))
        rc = err_nomem();
    if (rc == 0) {
        rc = set(o, "footer", footer);
        footer = NULL;
    }
    if (rc == 0 &&
        (set(o, "properties", props_json(p)) < 0 || set_u64(o, "index_entries", n_index) < 0 ||
         set_u64(o, "filter_bytes", filter_len) < 0 ||
         set_u64(o, "filter_bits_per_key",
                 p->n_entries ? (uint64_t)filter_len * 8 / p->n_entries : 0) < 0))
        rc = err_nomem();
    json_decref(footer);
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    return emit_json(o, w->em->emit, w->em->arg);
}

static int inspect_sst(cirrus_db *db, const char *name, unsigned flags, struct emitter *em)
{
    uint8_t *file = NULL, *props_mem = NULL, *filter_mem = NULL, *index_mem = NULL;
    const uint8_t *props_data = NULL, *filter_data = NULL, *index_data = NULL;
    size_t len = 0, props_len = 0, filter_len = 0, index_len = 0;
    struct sst_footer footer;
    struct sst_props props = {0};
    struct block_iter ix = {0};
    struct block_origin origin = {name, "index", 0};
    struct sst_walk w = {name, NULL, 0, 0, flags, em};
    struct version *v = NULL;
    uint64_t n_index = 0, off;
    int rc, live = 0;
    if (!name)
        return err_set(CIRRUS_EINVALID, "cirrus_inspect: no SST name");
    /* an L0 file written by a commit is read with its global seq, which
     * only its description knows */
    pthread_mutex_lock(&db->mu);
    v = db->vs.current;
    version_ref(v);
    pthread_mutex_unlock(&db->mu);
    struct live_file *lf = version_find_file(v, name);
    if (lf) {
        live = 1;
        w.global_seq = lf->meta.global_seq;
    }
    version_unref(v);
    if ((rc = objstore_get_all(db->os, name, &file, &len)) < 0) {
        rc = err_prefix(rc == CIRRUS_ENOTFOUND ? CIRRUS_ECORRUPT : rc, "SST %s%s", name,
                        rc == CIRRUS_ENOTFOUND ? ": the object is missing" : "");
        goto done;
    }
    w.file = file;
    w.size = len;
    if (len < SST_FOOTER_LEN) {
        rc = err_set(CIRRUS_ECORRUPT, "%s: object of %zu bytes is too short for a footer", name,
                     len);
        goto done;
    }
    off = len - SST_FOOTER_LEN;
    if ((rc = sst_decode_footer(file + off, name, off, &footer)) < 0)
        goto done;
    if ((rc = sst_check_handle(&footer.props, len, name, "properties")) < 0 ||
        (rc = sst_unwrap_block(&props_data, &props_len, &props_mem, file + footer.props.off,
                               &footer.props, name, "properties")) < 0)
        goto done;
    if ((rc = sst_decode_props(props_data, props_len, &props)) < 0) {
        err_prefix(rc, "%s: properties block at offset %" PRIu64, name, footer.props.off);
        goto done;
    }
    if (footer.filter.size &&
        ((rc = sst_check_handle(&footer.filter, len, name, "filter")) < 0 ||
         (rc = sst_unwrap_block(&filter_data, &filter_len, &filter_mem, file + footer.filter.off,
                                &footer.filter, name, "filter")) < 0))
        goto done;
    if ((rc = sst_check_handle(&footer.index, len, name, "index")) < 0 ||
        (rc = sst_unwrap_block(&index_data, &index_len, &index_mem, file + footer.index.off,
                               &footer.index, name, "index")) < 0)
        goto done;
    origin.off = footer.index.off;
    if ((rc = block_iter_init(&ix, index_data, index_len, &origin, w.global_seq)) < 0)
        goto done;
    for (iter_first(&ix.base); iter_valid(&ix.base); iter_next(&ix.base))
        n_index++;
    if ((rc = iter_status(&ix.base)) < 0)
        goto done;
    if ((rc = sst_header(&w, &footer, &props, filter_len, n_index, live)) != 0 ||
        !(flags & (CIRRUS_INSPECT_ENTRIES | CIRRUS_INSPECT_BLOCKS)))
        goto done;
    n_index = 0;
    for (iter_first(&ix.base); iter_valid(&ix.base); iter_next(&ix.base), n_index++) {
        struct block_handle h;
        if (sst_get_handle(ix.val, ix.val_len, &h) < 0) {
            rc = err_set(CIRRUS_ECORRUPT,
                         "%s: index block at offset %" PRIu64
                         ": bad block handle at block offset %u",
                         name, footer.index.off, ix.cur);
            goto done;
        }
        if ((rc = walk_block(&w, &h, n_index)) != 0)
            goto done;
    }
    rc = iter_status(&ix.base);
done:
    block_iter_clear(&ix);
    sst_props_clear(&props);
    free(props_mem);
    free(filter_mem);
    free(index_mem);
    free(file);
    return rc;
}

/* ---- what == CIRRUS_INSPECT_META ------------------------------------------- */

/* The decoded value of one metadata item of the database partition, set
 * into o as "value"; an item this build does not know is shown raw. */
static int meta_value(cirrus_db *db, const struct meta_item *it, json_t *o)
{
    json_t *v = NULL;
    int rc = 0;
    if (strcmp(it->sk, "head") == 0) {
        struct entry e;
        uint64_t seq = db->log.base_seq + it->version;
        if ((rc = commitlog_decode(&db->log, it->value, it->value_len, seq, &e)) < 0)
            return rc;
        v = entry_json(&e);
        entry_clear(&e);
    } else if (strcmp(it->sk, "manifest") == 0) {
        if (it->value_len != 8)
            return err_set(CIRRUS_ECORRUPT, "metadata item manifest: %zu bytes, expected 8",
                           it->value_len);
        if ((v = json_object()))
            rc = set_u64(v, "seq", decode_fixed64(it->value));
    } else if (strcmp(it->sk, IDENTITY_SK) == 0) {
        struct identity id = {0};
        char hex[2 * IDENTITY_ID_LEN + 1];
        if ((rc = identity_decode(&id, it->value, it->value_len, "metadata item identity")) < 0)
            return rc;
        identity_hex(hex, &id);
        if ((v = json_object()) &&
            (set_str(v, "id", hex) < 0 || set(v, "created_ms", json_integer(id.created_ms)) < 0 ||
             set_u64(v, "base_seq", id.base_seq) < 0 ||
             set(v, "base_time_ms", json_integer(id.base_time_ms)) < 0 ||
             set_str(v, "location", id.location) < 0))
            rc = err_nomem();
        identity_clear(&id);
    } else if (strncmp(it->sk, "lease/", 6) == 0) {
        cirrus_lease_info l;
        if ((rc = db_lease_decode(&l, it->value, it->value_len, it->sk + 6)) < 0)
            return rc;
        if ((v = json_object()) &&
            (set_str(v, "name", it->sk + 6) < 0 || set_str(v, "owner", l.owner) < 0 ||
             set_u64(v, "token", l.token) < 0 || set(v, "expires_ms", json_integer(l.expires_ms))))
            rc = err_nomem();
    } else if (strncmp(it->sk, PIN_SK_PREFIX, strlen(PIN_SK_PREFIX)) == 0) {
        struct pin p = {0};
        if ((rc = pin_decode(&p, it->value, it->value_len, it->sk)) < 0)
            return rc;
        if ((v = json_object()) &&
            (set_u64(v, "seq", p.seq) < 0 || set(v, "time_ms", json_integer(p.time_ms)) < 0 ||
             set(v, "created_ms", json_integer(p.created_ms)) < 0 ||
             set(v, "expires_ms", json_integer(p.expires_ms)) < 0 ||
             set_str(v, "manifest", p.manifest) < 0 || set_str(v, "detail", p.detail) < 0))
            rc = err_nomem();
        pin_clear(&p);
    } else if (strncmp(it->sk, "parent/", 7) == 0) {
        rc = db_parent_json(it->value, it->value_len, it->sk, &v);
    } else if ((v = json_object())) {
        rc = set_bytes(v, "raw", it->value, it->value_len);
    }
    if (rc == 0 && !v)
        rc = err_nomem();
    if (rc < 0) {
        json_decref(v);
        return rc;
    }
    return set(o, "value", v);
}

static int inspect_meta(cirrus_db *db, struct emitter *em)
{
    struct meta_item *items = NULL;
    size_t n = 0;
    uint64_t head = 0, oldest = 0;
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    json_t *o = json_object(), *arr = json_array(), *log = json_object();
    int rc = o && arr && log ? 0 : err_nomem();
    char from[256] = "";
    /* every item of the partition, in sk order, a page at a time */
    while (rc == 0) {
        if ((rc = metastore_query(db->ms, db->log.pk, from, NULL, META_PAGE, 0, &items, &n)) < 0)
            break;
        for (size_t i = 0; rc == 0 && i < n; i++) {
            if (from[0] && strcmp(items[i].sk, from) == 0)
                continue; /* the page's first is the last of the previous one */
            json_t *it = json_object();
            if (!it || set_str(it, "sk", items[i].sk) < 0 ||
                set_u64(it, "version", items[i].version) < 0 ||
                set_u64(it, "bytes", items[i].value_len) < 0 || json_array_append_new(arr, it) < 0)
                rc = err_nomem();
            else
                rc = meta_value(db, &items[i], it);
            if (rc < 0)
                err_prefix(rc, "metadata item %s", items[i].sk);
        }
        int more = n == META_PAGE;
        if (more)
            snprintf(from, sizeof(from), "%s", items[n - 1].sk);
        meta_items_free(items, n);
        items = NULL;
        if (!more)
            break;
    }
    if (rc == 0 && (rc = commitlog_get_head(&db->log, &head, &raw, &raw_len)) == 0)
        rc = commitlog_oldest(&db->log, head, &oldest);
    free(raw);
    if (rc == 0 && (set_u64(log, "base_seq", db->log.base_seq) < 0 ||
                    set_u64(log, "oldest_seq", oldest) < 0 || set_u64(log, "head_seq", head) < 0 ||
                    set_str(o, "pk", db->log.pk) < 0 || set_u64(o, "head_seq", head) < 0))
        rc = err_nomem();
    if (rc == 0) {
        rc = set(o, "log", log);
        log = NULL;
    }
    if (rc == 0) {
        rc = set(o, "items", arr);
        arr = NULL;
    }
    if (rc == 0 && (rc = db_refresh(db, NULL)) == 0) {
        /* the epochs live in the versions the entries build, not in an item */
        json_t *apps = json_array();
        pthread_mutex_lock(&db->mu);
        struct version *v = db->vs.current;
        version_ref(v);
        pthread_mutex_unlock(&db->mu);
        if (!apps || (rc = add_apps(apps, v)) < 0) {
            json_decref(apps);
            rc = err_nomem();
        } else {
            rc = set(o, "app_epochs", apps);
        }
        version_unref(v);
    }
    json_decref(arr);
    json_decref(log);
    if (rc < 0) {
        json_decref(o);
        return rc;
    }
    return emit_json(o, em->emit, em->arg);
}

int cirrus_inspect(cirrus_db *db, int what, const char *arg, unsigned flags,
                   int (*emit)(const char *json, void *arg), void *emit_arg)
{
    struct emitter em = {emit, emit_arg};
    err_clear();
    if (!db || !emit)
        return err_set(CIRRUS_EINVALID, "cirrus_inspect: NULL argument");
    switch (what) {
    case CIRRUS_INSPECT_FILES:
        return inspect_files(db, arg, flags, &em);
    case CIRRUS_INSPECT_SST:
        return inspect_sst(db, arg, flags, &em);
    case CIRRUS_INSPECT_ENTRY:
        return inspect_entry(db, arg, &em);
    case CIRRUS_INSPECT_MANIFEST:
        return inspect_manifest(db, arg, &em);
    case CIRRUS_INSPECT_META:
        return inspect_meta(db, &em);
    default:
        return err_set(CIRRUS_EINVALID, "cirrus_inspect: unknown object kind %d", what);
    }
}
