/*
 * history.c - the log read back: the commits in seq order (cirrus_log_scan)
 * and the seq of a point in time (cirrus_seq_at_time), over the retained
 * part of the log plus the head.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "db/history.h"
#include "util/status.h"

struct log_scan_ctx {
    cirrus_db *db;
    int (*fn)(const cirrus_log_info *info, void *arg);
    void *arg;
};

static int report_entry(uint64_t seq, const uint8_t *raw, size_t len, void *arg)
{
    struct log_scan_ctx *c = arg;
    struct entry e;
    cirrus_log_info info;
    int rc = commitlog_decode(&c->db->log, raw, len, seq, &e);
    if (rc < 0)
        return rc;
    memset(&info, 0, sizeof(info));
    info.seq = seq;
    info.time_ms = e.time_ms;
    info.kind = e.kind;
    info.n_added = (uint32_t)e.n_added;
    info.n_removed = (uint32_t)e.n_removed;
    info.bytes = entry_added_bytes(&e);
    memcpy(info.commit_id, e.commit_id, sizeof(info.commit_id));
    entry_clear(&e);
    return c->fn(&info, c->arg);
}

int cirrus_log_scan(cirrus_db *db, uint64_t from_seq,
                    int (*fn)(const cirrus_log_info *info, void *arg), void *arg)
{
    struct log_scan_ctx c = {db, fn, arg};
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t head;
    int rc;
    err_clear();
    if ((rc = commitlog_get_head(&db->log, &head, &raw, &len)) < 0)
        return rc;
    if (from_seq == 0 && (rc = commitlog_oldest(&db->log, head, &from_seq)) < 0)
        goto done;
    if (from_seq <= db->log.base_seq)
        from_seq = db->log.base_seq + 1; /* the first entry of this db */
    if (from_seq < head && (rc = commitlog_scan(&db->log, from_seq, head, report_entry, &c)) != 0)
        goto done;
    if (from_seq <= head && raw)
        rc = report_entry(head, raw, len, &c);
done:
    free(raw);
    return rc;
}

/* Commit time of entry seq (the head's item when seq is the head). */
static int entry_time(cirrus_db *db, uint64_t seq, uint64_t head, const uint8_t *head_raw,
                      size_t head_len, int64_t *time_out)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    struct entry e;
    int rc;
    if (seq == head) {
        rc = commitlog_decode(&db->log, head_raw, head_len, seq, &e);
    } else {
        if ((rc = commitlog_get_log(&db->log, seq, &raw, &len)) < 0)
            return rc == CIRRUS_ENOTFOUND
                       ? err_set(rc, "log entry %" PRIu64 " is missing (trimmed?)", seq)
                       : rc;
        rc = commitlog_decode(&db->log, raw, len, seq, &e);
        free(raw);
    }
    if (rc < 0)
        return rc;
    *time_out = e.time_ms;
    entry_clear(&e);
    return 0;
}

int db_seq_at_time(cirrus_db *db, int64_t time_ms, uint64_t *seq_out, int *before_log)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t head, oldest, lo, hi;
    int64_t t = 0; /* gcc -O3 cannot see that entry_time sets it on success */
    int rc;
    *before_log = 0;
    if ((rc = commitlog_get_head(&db->log, &head, &raw, &len)) < 0)
        return rc;
    if ((rc = commitlog_oldest(&db->log, head, &oldest)) < 0)
        goto done;
    /* Commit times never decrease with seq (commit.c), so the answer is the
     * boundary of a binary search: lo's time <= time_ms < (lo+1)'s time.
     * Only the retained part of the log can be searched. */
    if (oldest <= db->log.base_seq)
        oldest = db->log.base_seq + 1; /* a clone's or restore's first entry */
    if (oldest > head) {
        /* no entry yet past the base version */
        *before_log = db->log.base_seq > 0;
        *seq_out = head;
        goto done;
    }
    lo = oldest - 1;
    hi = head;
    if (oldest > 1) {
        if ((rc = entry_time(db, oldest, head, raw, len, &t)) < 0)
            goto done;
        if (t > time_ms) {
            *before_log = 1; /* the answer is at most oldest - 1 */
            *seq_out = oldest - 1;
            goto done;
        }
    }
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo + 1) / 2;
        if ((rc = entry_time(db, mid, head, raw, len, &t)) < 0)
            goto done;
        if (t <= time_ms)
            lo = mid;
        else
            hi = mid - 1;
    }
    *seq_out = lo;
done:
    free(raw);
    return rc;
}

int db_commit_time(cirrus_db *db, uint64_t seq, int64_t *time_out)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t head;
    int rc;
    if ((rc = commitlog_get_head(&db->log, &head, &raw, &len)) < 0)
        return rc;
    if (seq == db->log.base_seq && seq > 0)
        *time_out = db->ident.base_time_ms; /* the first version's */
    else if (seq <= db->log.base_seq || seq > head)
        rc = err_set(CIRRUS_ENOTFOUND, "seq %" PRIu64 " is not an entry of this database", seq);
    else
        rc = entry_time(db, seq, head, raw, len, time_out);
    free(raw);
    return rc;
}

int cirrus_seq_at_time(cirrus_db *db, int64_t time_ms, uint64_t *seq_out)
{
    uint64_t seq;
    int before, rc;
    err_clear();
    if ((rc = db_seq_at_time(db, time_ms, &seq, &before)) < 0)
        return rc;
    if (before)
        return err_set(CIRRUS_ENOTFOUND,
                       "time %" PRId64 " is before the oldest commit still in the log (seq %" PRIu64
                       "): older commit times were trimmed",
                       time_ms, seq + 1);
    *seq_out = seq;
    return 0;
}
