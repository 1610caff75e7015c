/*
 * stage.c - commits made of files written apart from the handle's
 * memtable: exactly-once commits and staged (multi-writer) commits.
 *
 * Both write their data as L0 files first and then commit one entry that
 * adds them, so they are as atomic as any commit and of any size (a large
 * entry goes through a delta object, commitlog.h).
 *
 * Exactly once: the entry carries (app_id, epoch). Replay applies it only if
 * the epoch is above the app's newest (version.c), so a retried epoch is a
 * no-op wherever it lands, even if two retries race.
 *
 * Staged commits: a descriptor names the files one stager wrote
 * (docs/FORMAT.md, "Stage descriptors"). Committing checks, for every file,
 * that it still exists with its size, that it is young enough that GC cannot
 * have judged it garbage (half the grace period, as for any commit), and
 * that no entry since it was written has committed it already (re-adding a
 * file that compaction has since merged away would resurrect old values).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "db/filename.h"
#include "db/history.h"
#include "objstore/objstore.h"
#include "table/ikey.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/status.h"
#include "util/sys.h"

#define STAGE_MAGIC 0x47545343u /* "CSTG" little-endian */
#define STAGE_FORMAT_VERSION 1
#define STAGE_PREFIX "cirrus-stage-1:"

/* Makes e (which may list files already) a write entry of this writer. */
static int fill_entry(cirrus_db *db, struct entry *e)
{
    e->kind = CIRRUS_ENTRY_WRITE;
    rand_bytes(e->commit_id, COMMIT_ID_LEN);
    if (!(e->writer = strdup(db->writer_id)))
        return err_nomem();
    return 0;
}

static int new_entry(cirrus_db *db, struct entry *e)
{
    memset(e, 0, sizeof(*e));
    return fill_entry(db, e);
}

static int writable(cirrus_db *db)
{
    if (db->opts.read_only)
        return err_set(CIRRUS_EINVALID, "the database was opened read-only");
    return 0;
}

/* ---- exactly once ------------------------------------------------------- */

static int check_app(const char *app_id)
{
    size_t n = app_id ? strlen(app_id) : 0;
    if (n == 0 || n > 200)
        return err_set(CIRRUS_EINVALID, "app id must have 1 to 200 bytes");
    return 0;
}

/* The app's newest (epoch, seq) in the current version; 0 if none. */
static int app_state(cirrus_db *db, const char *app_id, uint64_t *epoch, uint64_t *seq)
{
    pthread_mutex_lock(&db->mu);
    const struct app_epoch *a = version_app(db->vs.current, app_id);
    *epoch = a ? a->epoch : 0;
    *seq = a ? a->seq : 0;
    pthread_mutex_unlock(&db->mu);
    return a != NULL;
}

int db_new_write_entry(cirrus_db *db, struct entry *e)
{
    return fill_entry(db, e);
}

int db_app_applied(cirrus_db *db, const char *app_id, uint64_t epoch, uint64_t *seq_out)
{
    uint64_t have_epoch, have_seq;
    int rc;
    if ((rc = writable(db)) < 0 || (rc = check_app(app_id)) < 0)
        return rc;
    if (epoch == 0)
        return err_set(CIRRUS_EINVALID, "epochs start at 1");
    /* earlier buffered writes of this handle come first, as they would */
    if ((rc = db_flush(db, NULL)) < 0 || (rc = db_refresh(db, NULL)) < 0)
        return rc;
    if (app_state(db, app_id, &have_epoch, &have_seq) && have_epoch >= epoch) {
        *seq_out = have_seq;
        return 1;
    }
    return 0;
}

int db_commit_once(cirrus_db *db, struct entry *e, const char *app_id, uint64_t epoch,
                   uint64_t *seq_out, int *applied_out)
{
    uint64_t have_epoch, have_seq, seq = 0;
    int applied = 0, rc;
    if (!(e->app_id = strdup(app_id)))
        return err_nomem();
    e->epoch = epoch;
    /* a racing retry of the same epoch that lands first makes this entry
     * invalid: it is then not committed (ECONFLICT) */
    rc = db_commit(db, e, NULL, NULL, &seq, &applied);
    if (rc == CIRRUS_ECONFLICT) {
        applied = 0;
        err_clear();
    } else if (rc < 0) {
        return rc;
    }
    app_state(db, app_id, &have_epoch, &have_seq);
    *seq_out = have_seq;
    *applied_out = applied;
    return 0;
}

int cirrus_write_once(cirrus_db *db, const cirrus_batch *b, const char *app_id, uint64_t epoch,
                      uint64_t *seq_out, int *applied_out)
{
    struct entry e;
    uint64_t seq = 0;
    int applied = 0, rc;
    err_clear();
    memset(&e, 0, sizeof(e));
    if ((rc = db_app_applied(db, app_id, epoch, &seq)) < 0)
        return rc;
    if (rc == 0 && ((rc = new_entry(db, &e)) < 0 || (rc = db_batch_files(db, b, &e)) < 0 ||
                    (rc = db_commit_once(db, &e, app_id, epoch, &seq, &applied)) < 0))
        goto done;
    /* rc 1: already applied, nothing written at all */
    if (seq_out)
        *seq_out = seq;
    if (applied_out)
        *applied_out = applied;
    rc = 0;
done:
    entry_clear(&e);
    return rc;
}

int cirrus_app_epoch(cirrus_db *db, const char *app_id, uint64_t *epoch_out, uint64_t *seq_out)
{
    uint64_t epoch, seq;
    int rc;
    err_clear();
    if ((rc = check_app(app_id)) < 0 || (rc = db_refresh(db, NULL)) < 0)
        return rc;
    if (!app_state(db, app_id, &epoch, &seq))
        return err_set(CIRRUS_ENOTFOUND, "app %s has applied no epoch", app_id);
    if (epoch_out)
        *epoch_out = epoch;
    if (seq_out)
        *seq_out = seq;
    return 0;
}

/* ---- range deletes ------------------------------------------------------- */

int cirrus_delete_range(cirrus_db *db, const void *from, size_t from_len, const void *to,
                        size_t to_len, uint64_t *seq_out)
{
    struct entry e;
    struct range_del r = {(uint8_t *)from, (uint8_t *)to, from_len, to_len, 0};
    uint64_t seq = 0;
    int rc;
    err_clear();
    memset(&e, 0, sizeof(e));
    if ((rc = writable(db)) < 0)
        return rc;
    if ((!from && from_len) || (!to && to_len) ||
        ukey_compare(from ? from : "", from_len, to ? to : "", to_len) >= 0)
        return err_set(CIRRUS_EINVALID, "delete_range: the range is empty (from >= to)");
    /* buffered writes were made before this delete: they commit first */
    if ((rc = db_flush(db, NULL)) < 0 || (rc = new_entry(db, &e)) < 0)
        goto done;
    if (!(e.ranges = calloc(1, sizeof(*e.ranges)))) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = range_del_copy(&e.ranges[0], &r)) < 0)
        goto done;
    e.n_ranges = 1;
    if ((rc = db_commit(db, &e, NULL, NULL, &seq, NULL)) < 0)
        goto done;
    if (seq_out)
        *seq_out = seq;
done:
    entry_clear(&e);
    return rc;
}

/* ---- staged commits ------------------------------------------------------ */

int db_stage_descriptor(cirrus_db *db, const struct entry *e, char **out)
{
    struct buf b = {0};
    int rc;
    *out = NULL;
    if ((rc = buf_put_fixed32(&b, STAGE_MAGIC)) < 0 ||
        (rc = buf_put_u8(&b, STAGE_FORMAT_VERSION)) < 0 ||
        (rc = buf_put_lenbytes(&b, db->log.pk, strlen(db->log.pk))) < 0 ||
        (rc = buf_put_varint(&b, e->n_added)) < 0)
        goto done;
    for (size_t i = 0; i < e->n_added; i++)
        if ((rc = file_meta_encode(&b, &e->added[i])) < 0)
            goto done;
    if ((rc = buf_put_fixed32(&b, checksum32(b.data, b.len))) < 0)
        goto done;
    size_t n = strlen(STAGE_PREFIX);
    char *s = malloc(n + 2 * b.len + 1);
    if (!s) {
        rc = err_nomem();
        goto done;
    }
    memcpy(s, STAGE_PREFIX, n);
    hex_encode(s + n, b.data, b.len);
    *out = s;
done:
    buf_free(&b);
    return rc;
}

/* Appends the descriptor's files to e. `which` numbers it for messages. */
static int decode_descriptor(cirrus_db *db, const char *desc, size_t which, struct entry *e)
{
    size_t n = strlen(STAGE_PREFIX), len;
    struct buf b = {0};
    struct file_meta f = {0};
    int rc = 0;
    if (!desc || strncmp(desc, STAGE_PREFIX, n) != 0 || (len = strlen(desc + n)) % 2 ||
        len < 2 * 13) {
        rc = err_set(CIRRUS_EINVALID, "descriptor %zu: not a cirrus stage descriptor", which);
        goto done;
    }
    if ((rc = buf_reserve(&b, len / 2)) < 0)
        goto done;
    for (size_t i = 0; i < len; i += 2) {
        int hi = hex_digit_value(desc[n + i]), lo = hex_digit_value(desc[n + i + 1]);
        if (hi < 0 || lo < 0) {
            rc = err_set(CIRRUS_EINVALID, "descriptor %zu: bad character at %zu", which, n + i);
            goto done;
        }
        b.data[b.len++] = (uint8_t)(hi << 4 | lo);
    }
    const uint8_t *p = b.data, *end = b.data + b.len - 4, *name;
    uint32_t magic;
    uint8_t version;
    size_t name_len;
    uint64_t count;
    if (decode_fixed32(end) != checksum32(b.data, b.len - 4)) {
        rc = err_set(CIRRUS_EINVALID, "descriptor %zu: checksum mismatch (damaged in transit?)",
                     which);
        goto done;
    }
    if (get_fixed32(&p, end, &magic) < 0 || magic != STAGE_MAGIC || get_u8(&p, end, &version) < 0)
        goto malformed;
    if (version != STAGE_FORMAT_VERSION) {
        rc = err_set(CIRRUS_EVERSION, "descriptor %zu: format version %u not supported", which,
                     version);
        goto done;
    }
    if (get_lenbytes(&p, end, &name, &name_len) < 0 || get_varint64(&p, end, &count) < 0)
        goto malformed;
    if (name_len != strlen(db->log.pk) || memcmp(name, db->log.pk, name_len) != 0) {
        rc = err_set(CIRRUS_EINVALID, "descriptor %zu: staged for database %.*s, not %s", which,
                     (int)name_len, (const char *)name, db->log.pk);
        goto done;
    }
    for (uint64_t i = 0; i < count; i++) {
        int r = file_meta_decode(&p, end, &f);
        if (r == -1 || f.global_seq != ENTRY_SEQ_SELF || f.level != 0)
            goto malformed;
        if (r < 0) {
            rc = r;
            goto done;
        }
        if ((rc = entry_add_file(e, &f)) < 0)
            goto done;
        file_meta_clear(&f);
    }
    if (p != end)
        goto malformed;
    goto done;
malformed:
    rc = err_set(CIRRUS_EINVALID, "descriptor %zu: malformed", which);
done:
    file_meta_clear(&f);
    buf_free(&b);
    return rc;
}

int cirrus_stage(cirrus_db *db, const cirrus_batch *b, char **desc_out)
{
    struct entry e;
    int rc;
    err_clear();
    memset(&e, 0, sizeof(e));
    if ((rc = writable(db)) < 0)
        return rc;
    if ((rc = db_batch_files(db, b, &e)) == 0)
        rc = db_stage_descriptor(db, &e, desc_out);
    entry_clear(&e);
    return rc;
}

/* 1 if f names an SST file cirrus wrote and says when (filename.h). */
static int is_our_sst(const struct file_meta *f)
{
    struct filename fn;
    return filename_parse(f->name, &fn) && fn.kind == FILENAME_SST && f->write_time_ms > 0;
}

struct already {
    cirrus_db *db;
    const struct entry *staged;
    uint64_t found_seq;
    const char *found_name;
};

static int find_committed(uint64_t seq, const uint8_t *raw, size_t len, void *arg)
{
    struct already *a = arg;
    struct entry e;
    int rc = commitlog_decode(&a->db->log, raw, len, seq, &e);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < e.n_added && !a->found_seq; i++)
        for (size_t j = 0; j < a->staged->n_added; j++)
            if (strcmp(e.added[i].name, a->staged->added[j].name) == 0) {
                a->found_seq = seq;
                a->found_name = a->staged->added[j].name;
                break;
            }
    entry_clear(&e);
    return a->found_seq ? 1 : 0;
}

/* Refuses files that are gone, too old, or committed since they were
 * written. Caller holds nothing; reads the log as of now. */
static int check_staged(cirrus_db *db, const struct entry *e)
{
    int64_t now = now_ms(), oldest = now;
    int rc;
    for (size_t i = 0; i < e->n_added; i++) {
        const struct file_meta *f = &e->added[i];
        uint64_t size;
        if (!is_our_sst(f))
            return err_set(CIRRUS_EINVALID, "staged file %s: not a name cirrus writes", f->name);
        int64_t t = f->write_time_ms;
        if (now - t > db->opts.gc_grace_ms / 2)
            return err_set(CIRRUS_EINVALID,
                           "staged file %s was written %" PRId64 " s ago, more than half the GC "
                           "grace period: stage it again",
                           f->name, (now - t) / 1000);
        rc = objstore_head(db->os, f->name, &size);
        if (rc == CIRRUS_ENOTFOUND)
            return err_set(CIRRUS_EINVALID, "staged file %s no longer exists (garbage-collected?)",
                           f->name);
        if (rc < 0)
            return err_prefix(rc, "checking staged file %s", f->name);
        if (size != f->size)
            return err_set(CIRRUS_EINVALID,
                           "staged file %s has %" PRIu64 " bytes, descriptor "
                           "says %" PRIu64,
                           f->name, size, f->size);
        if (t < oldest)
            oldest = t;
    }
    /* committed already? only entries since the oldest file was written can
     * name it */
    uint64_t from, head;
    int before;
    uint8_t *raw = NULL;
    size_t len = 0;
    struct already a = {db, e, 0, NULL};
    if ((rc = db_seq_at_time(db, oldest - 1, &from, &before)) < 0 ||
        (rc = commitlog_get_head(&db->log, &head, &raw, &len)) < 0)
        return rc;
    if (from + 1 < head)
        rc = commitlog_scan(&db->log, from + 1, head, find_committed, &a);
    if (rc == 0 && head > from && raw)
        rc = find_committed(head, raw, len, &a);
    free(raw);
    if (rc < 0)
        return rc;
    if (a.found_seq)
        return err_set(CIRRUS_EINVALID, "staged file %s was already committed at seq %" PRIu64,
                       a.found_name, a.found_seq);
    return 0;
}

int cirrus_commit_staged(cirrus_db *db, size_t n, const char *const *descs, uint64_t *seq_out)
{
    struct entry e;
    uint64_t seq = 0;
    int rc;
    err_clear();
    memset(&e, 0, sizeof(e));
    if ((rc = writable(db)) < 0)
        return rc;
    if (n == 0 || !descs)
        return err_set(CIRRUS_EINVALID, "no descriptors to commit");
    if ((rc = new_entry(db, &e)) < 0)
        goto done;
    for (size_t i = 0; i < n; i++)
        if ((rc = decode_descriptor(db, descs[i], i + 1, &e)) < 0)
            goto done;
    for (size_t i = 0; i < e.n_added; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(e.added[i].name, e.added[j].name) == 0) {
                rc = err_set(CIRRUS_EINVALID, "staged file %s is named twice", e.added[i].name);
                goto done;
            }
    /* serialised with other commits of this handle: the check and the
     * commit see the same log, and a file committed by another process
     * meanwhile makes this entry a no-op on replay (a live name cannot be
     * added twice) */
    if ((rc = check_staged(db, &e)) < 0)
        goto done;
    int applied = 0;
    rc = db_commit(db, &e, NULL, NULL, &seq, &applied);
    if (rc == CIRRUS_ECONFLICT || (rc == 0 && !applied)) {
        rc = err_set(CIRRUS_EINVALID, "staged files were committed by someone else meanwhile");
        goto done;
    }
    if (rc < 0)
        goto done;
    if (seq_out)
        *seq_out = seq;
done:
    entry_clear(&e);
    return rc;
}
