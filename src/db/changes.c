/*
 * changes.c - the changefeed: every write commit read back as changes.
 *
 * A write entry adds L0 files whose every key carries the entry's seq, so
 * the changes of commit S are exactly the entries of the files entry S
 * added, read with global seq S, file by file in entry order. The feed reads
 * log items (the head item for the newest), never lists objects, and follows
 * the head by polling the metadata store. Compaction does not disturb it:
 * the files stay readable for changefeed_retention_ms (GC keeps them) and
 * the log entries are not trimmed before that either.
 *
 * Every committed entry applied (commit.c never commits one replay would
 * ignore), so the feed needs no replay state of its own.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "objstore/objstore.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "util/coding.h"
#include "util/status.h"
#include "util/sys.h"

struct cirrus_changes {
    cirrus_db *db;
    uint64_t next_seq; /* next entry to read */
    uint64_t head;     /* head as last read */
    struct entry cur;  /* the entry being read (write entries only) */
    int have_entry;
    size_t file_idx;  /* next file of cur to open */
    size_t range_idx; /* next range delete of cur to report */
    struct sst_reader *reader;
    struct iter *it;
    int positioned; /* it is on the change returned last: move first */
    int failed;
};

static void close_file(cirrus_changes *c)
{
    iter_free(c->it);
    c->it = NULL;
    sst_reader_close(c->reader);
    c->reader = NULL;
    c->positioned = 0;
}

int cirrus_changes_open(cirrus_changes **out, cirrus_db *db, uint64_t from_seq)
{
    cirrus_changes *c;
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t oldest;
    int rc;
    err_clear();
    if (!(c = calloc(1, sizeof(*c))))
        return err_nomem();
    c->db = db;
    if ((rc = commitlog_get_head(&db->log, &c->head, &raw, &len)) < 0 ||
        (rc = commitlog_oldest(&db->log, c->head, &oldest)) < 0)
        goto done;
    if (oldest <= db->log.base_seq)
        oldest = db->log.base_seq + 1; /* the first entry of this db */
    if (from_seq == 0)
        from_seq = oldest;
    if (from_seq < oldest) {
        rc = err_set(CIRRUS_EEXPIRED,
                     "seq %" PRIu64 " is older than the changefeed retention: the oldest "
                     "commit still in the log is seq %" PRIu64,
                     from_seq, oldest);
        goto done;
    }
    c->next_seq = from_seq;
done:
    free(raw);
    if (rc < 0) {
        free(c);
        return rc;
    }
    *out = c;
    return 0;
}

void cirrus_changes_close(cirrus_changes *c)
{
    if (!c)
        return;
    close_file(c);
    entry_clear(&c->cur);
    free(c);
}

#define CAUGHT_UP 1 /* step()/load_entry(): no entry past the head yet */

/* Loads entry next_seq into cur. 0 loaded (or skipped: not a write),
 * CAUGHT_UP past the head, < 0 an error. */
static int load_entry(cirrus_changes *c)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    int rc;
    if (c->next_seq > c->head) {
        if ((rc = commitlog_get_head(&c->db->log, &c->head, &raw, &len)) < 0)
            return rc;
        if (c->next_seq > c->head) {
            free(raw);
            return CAUGHT_UP;
        }
        if (c->next_seq != c->head) {
            free(raw);
            raw = NULL;
        }
    }
    if (!raw) {
        rc = commitlog_get_log(&c->db->log, c->next_seq, &raw, &len);
        if (rc == CIRRUS_ENOTFOUND && c->next_seq == c->head) {
            uint64_t head;
            rc = commitlog_get_head(&c->db->log, &head, &raw, &len);
            if (rc == 0 && head != c->next_seq) {
                free(raw);
                raw = NULL;
                rc = commitlog_get_log(&c->db->log, c->next_seq, &raw, &len);
            }
        }
        if (rc == CIRRUS_ENOTFOUND)
            return err_set(CIRRUS_EEXPIRED,
                           "log entry %" PRIu64 " is gone: the feed fell behind the changefeed "
                           "retention",
                           c->next_seq);
        if (rc < 0)
            return rc;
    }
    entry_clear(&c->cur);
    rc = commitlog_decode(&c->db->log, raw, len, c->next_seq, &c->cur);
    free(raw);
    if (rc < 0)
        return rc;
    c->have_entry = c->cur.kind == CIRRUS_ENTRY_WRITE;
    c->file_idx = 0;
    c->range_idx = 0;
    c->next_seq++;
    return 0;
}

/* Bytes of a file fetched per request while the feed walks it. */
#define CHANGES_READAHEAD ((uint64_t)4 << 20)

/* 1 if name is a live file of the db's newest version, 0 if not. */
static int file_is_live(cirrus_db *db, const char *name)
{
    struct superversion sv;
    int live = 0;
    /* another process may have compacted it away: look at the newest
     * version; when that cannot be had, the file counts as live */
    if (db_refresh(db, NULL) < 0 || db_acquire(db, &sv, 0) < 0)
        return 1;
    live = version_find_file(sv.v, name) != NULL;
    db_release(&sv);
    return live;
}

static int open_next_file(cirrus_changes *c)
{
    const struct file_meta *f = &c->cur.added[c->file_idx++];
    uint64_t gseq = f->global_seq == ENTRY_SEQ_SELF ? c->cur.seq : f->global_seq;
    uint64_t size;
    int rc = sst_reader_open(&c->reader, c->db->os, f->name, f->size, gseq, c->db->bcache);
    /* A file missing from the store (the reader says CIRRUS_ECORRUPT) that
     * compaction removed from the version was deleted by GC after the
     * changefeed retention: the feed fell behind. One still live is lost. */
    if (rc == CIRRUS_ECORRUPT) {
        char msg[1024];
        snprintf(msg, sizeof(msg), "%s", cirrus_errmsg());
        if (objstore_head(c->db->os, f->name, &size) == CIRRUS_ENOTFOUND &&
            !file_is_live(c->db, f->name))
            return err_set(CIRRUS_EEXPIRED,
                           "%s (added by seq %" PRIu64 ") is gone: older than the changefeed "
                           "retention",
                           f->name, c->cur.seq);
        return err_set(rc, "%s", msg);
    }
    if (rc < 0)
        return rc;
    /* the feed reads each file once, front to back */
    if ((rc = sst_reader_iter_sequential(c->reader, CHANGES_READAHEAD, &c->it)) < 0)
        return rc;
    iter_first(c->it);
    return 0;
}

/* 0 with a change, CAUGHT_UP, or an error. */
static int step(cirrus_changes *c, cirrus_change *out)
{
    int rc;
    for (;;) {
        if (c->it) {
            if (c->positioned)
                iter_next(c->it);
            c->positioned = 0;
            if (iter_valid(c->it)) {
                size_t klen, vlen;
                const uint8_t *k = iter_key(c->it, &klen), *v = iter_value(c->it, &vlen);
                int kind = ikey_kind(k, klen);
                out->seq = ikey_seq(k, klen);
                out->key = k;
                out->key_len = ikey_user_len(klen);
                out->val = NULL;
                out->val_len = 0;
                out->expires_ms = 0;
                if (kind == KIND_PUT_TTL && vlen >= 8) {
                    out->op = CIRRUS_CHANGE_PUT;
                    out->expires_ms = (int64_t)decode_fixed64(v);
                    out->val = v + 8;
                    out->val_len = vlen - 8;
                } else if (kind == KIND_PUT || kind == KIND_MERGE) {
                    out->op = kind == KIND_PUT ? CIRRUS_CHANGE_PUT : CIRRUS_CHANGE_MERGE;
                    out->val = v;
                    out->val_len = vlen;
                } else {
                    out->op = CIRRUS_CHANGE_DELETE;
                }
                c->positioned = 1;
                return 0;
            }
            if ((rc = iter_status(c->it)) < 0)
                return rc;
            close_file(c);
        }
        if (c->have_entry && c->file_idx < c->cur.n_added) {
            if ((rc = open_next_file(c)) < 0)
                return rc;
            continue;
        }
        if (c->have_entry && c->range_idx < c->cur.n_ranges) {
            const struct range_del *r = &c->cur.ranges[c->range_idx++];
            memset(out, 0, sizeof(*out));
            out->seq = c->cur.seq;
            out->op = CIRRUS_CHANGE_DELETE_RANGE;
            out->key = r->from;
            out->key_len = r->from_len;
            out->val = r->to;
            out->val_len = r->to_len;
            return 0;
        }
        c->have_entry = 0;
        if ((rc = load_entry(c)) != 0)
            return rc;
    }
}

int cirrus_changes_next(cirrus_changes *c, cirrus_change *out, int64_t wait_ms)
{
    uint32_t poll = c->db->opts.refresh_interval_ms ? c->db->opts.refresh_interval_ms : 100;
    uint64_t deadline = mono_ns() + (uint64_t)(wait_ms > 0 ? wait_ms : 0) * 1000000u;
    int rc;
    err_clear();
    if (c->failed)
        return err_set(c->failed, "the feed stopped at an earlier error");
    while ((rc = step(c, out)) == CAUGHT_UP) {
        if (mono_ns() >= deadline)
            return err_set(CIRRUS_ENOTFOUND, "no new change yet");
        sleep_ms(poll);
    }
    if (rc < 0)
        c->failed = rc;
    return rc;
}
