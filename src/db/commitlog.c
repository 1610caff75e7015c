#include "db/commitlog.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/filename.h"
#include "metastore/metastore.h"
#include "objstore/objstore.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/status.h"

#define HEAD_SK "head"
#define POINTER_SK "manifest"
#define SCAN_PAGE 512

static void seq_sk(char out[24], uint64_t seq)
{
    snprintf(out, 24, "%020" PRIu64, seq);
}

int commitlog_init(struct commitlog *cl, struct metastore *ms, struct objstore *os,
                   const char *db_name)
{
    memset(cl, 0, sizeof(*cl));
    cl->ms = ms;
    cl->os = os;
    size_t n = strlen(db_name) + 5;
    cl->pk = strdup(db_name);
    cl->log_pk = malloc(n);
    if (!cl->pk || !cl->log_pk) {
        commitlog_clear(cl);
        return err_nomem();
    }
    snprintf(cl->log_pk, n, "%s/log", db_name);
    return 0;
}

void commitlog_clear(struct commitlog *cl)
{
    free(cl->pk);
    free(cl->log_pk);
    cl->pk = cl->log_pk = NULL;
}

int commitlog_get_head(struct commitlog *cl, uint64_t *seq_out, uint8_t **raw_out, size_t *len_out)
{
    uint64_t version = 0;
    int rc = metastore_get(cl->ms, cl->pk, HEAD_SK, raw_out, len_out, &version);
    if (rc == CIRRUS_ENOTFOUND) {
        *seq_out = cl->base_seq;
        *raw_out = NULL;
        *len_out = 0;
        return 0;
    }
    if (rc < 0)
        return err_prefix(rc, "reading the commit head");
    *seq_out = cl->base_seq + version;
    return 0;
}

int commitlog_get_log(struct commitlog *cl, uint64_t seq, uint8_t **raw_out, size_t *len_out)
{
    char sk[24];
    uint64_t version;
    seq_sk(sk, seq);
    int rc = metastore_get(cl->ms, cl->log_pk, sk, raw_out, len_out, &version);
    if (rc < 0 && rc != CIRRUS_ENOTFOUND)
        return err_prefix(rc, "reading log entry %" PRIu64, seq);
    return rc;
}

int commitlog_scan(struct commitlog *cl, uint64_t from, uint64_t to,
                   int (*fn)(uint64_t seq, const uint8_t *raw, size_t len, void *arg), void *arg)
{
    struct meta_item *items = NULL;
    size_t n = 0;
    int rc = 0;
    while (from < to) {
        char from_sk[24], to_sk[24];
        seq_sk(from_sk, from);
        seq_sk(to_sk, to);
        if ((rc = metastore_query(cl->ms, cl->log_pk, from_sk, to_sk, SCAN_PAGE, 0, &items, &n)) <
            0) {
            rc = err_prefix(rc, "reading the log from seq %" PRIu64, from);
            goto done;
        }
        if (n == 0) {
            rc = err_set(CIRRUS_ENOTFOUND, "log entry %" PRIu64 " is missing (trimmed?)", from);
            goto done;
        }
        for (size_t i = 0; i < n; i++) {
            if (strcmp(items[i].sk, from_sk) != 0) {
                rc = err_set(CIRRUS_ENOTFOUND, "log entry %" PRIu64 " is missing (trimmed?)", from);
                goto done;
            }
            if ((rc = fn(from, items[i].value, items[i].value_len, arg)) != 0)
                goto done;
            from++;
            seq_sk(from_sk, from);
        }
        meta_items_free(items, n);
        items = NULL;
        n = 0;
    }
done:
    meta_items_free(items, n);
    return rc;
}

int commitlog_oldest(struct commitlog *cl, uint64_t head, uint64_t *seq_out)
{
    struct meta_item *items = NULL;
    size_t n = 0;
    int rc = metastore_query(cl->ms, cl->log_pk, "", NULL, 1, 0, &items, &n);
    if (rc < 0)
        return err_prefix(rc, "reading the oldest log entry");
    uint64_t oldest = head;
    if (n == 1) {
        uint64_t s = strtoull(items[0].sk, NULL, 10);
        if (s > 0 && s < head)
            oldest = s;
    }
    meta_items_free(items, n);
    *seq_out = oldest;
    return 0;
}

static int read_delta(struct commitlog *cl, const struct entry *stub, struct entry *e)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc;
    if ((rc = objstore_get_all(cl->os, stub->delta_name, &data, &len)) < 0) {
        /* the entry names it: gone is damage, not an absent key */
        rc = err_prefix(rc == CIRRUS_ENOTFOUND ? CIRRUS_ECORRUPT : rc,
                        "reading delta object %s of entry %" PRIu64, stub->delta_name, stub->seq);
        goto done;
    }
    uint32_t sum = checksum32(data, len);
    if (len != stub->delta_size || sum != stub->delta_checksum) {
        rc = err_set(CIRRUS_ECORRUPT,
                     "%s: delta object of entry %" PRIu64 " has %zu bytes, checksum %08x "
                     "(entry says %" PRIu64 " bytes, %08x)",
                     stub->delta_name, stub->seq, len, sum, stub->delta_size, stub->delta_checksum);
        goto done;
    }
    if ((rc = entry_decode(e, data, len, stub->delta_name)) < 0)
        goto done;
    if (e->delta_name || memcmp(e->commit_id, stub->commit_id, COMMIT_ID_LEN) != 0) {
        entry_clear(e);
        rc = err_set(CIRRUS_ECORRUPT, "%s: does not belong to entry %" PRIu64, stub->delta_name,
                     stub->seq);
    }
done:
    free(data);
    return rc;
}

int commitlog_decode(struct commitlog *cl, const uint8_t *raw, size_t len, uint64_t expect_seq,
                     struct entry *e)
{
    struct entry stub;
    char what[64];
    int rc;
    snprintf(what, sizeof(what), "log entry %" PRIu64, expect_seq);
    if ((rc = entry_decode(&stub, raw, len, what)) < 0)
        return rc;
    if (stub.seq != expect_seq) {
        rc = err_set(CIRRUS_ECORRUPT, "%s: holds the entry of seq %" PRIu64, what, stub.seq);
        entry_clear(&stub);
        return rc;
    }
    if (!stub.delta_name) {
        *e = stub;
        return 0;
    }
    rc = read_delta(cl, &stub, e);
    entry_clear(&stub);
    return rc;
}

int commitlog_prepare(struct commitlog *cl, const struct entry *e, uint8_t **raw_out,
                      size_t *len_out)
{
    struct buf b = {0};
    struct entry stub = {0};
    char name[FILENAME_LEN];
    int rc;
    if ((rc = entry_encode(&b, e)) < 0)
        goto done;
    if (b.len > cl->ms->max_value_len) {
        /* Durability order: the delta object exists before any item names it. */
        filename_delta(name, e->commit_id, e->seq);
        rc = objstore_put(cl->os, name, b.data, b.len);
        if (rc < 0 && rc != CIRRUS_EEXISTS) {
            rc = err_prefix(rc, "writing delta object %s", name);
            goto done;
        }
        stub.seq = e->seq;
        stub.kind = e->kind;
        memcpy(stub.commit_id, e->commit_id, COMMIT_ID_LEN);
        stub.time_ms = e->time_ms;
        stub.delta_name = name;
        stub.delta_size = b.len;
        stub.delta_checksum = checksum32(b.data, b.len);
        buf_reset(&b);
        rc = entry_encode(&b, &stub);
        if (rc < 0)
            goto done;
    }
    *raw_out = buf_take(&b, len_out);
done:
    buf_free(&b);
    return rc;
}

int commitlog_cas_head(struct commitlog *cl, uint64_t expected_seq, const uint8_t *raw, size_t len)
{
    int rc;
    if (expected_seq < cl->base_seq)
        return err_set(CIRRUS_ECORRUPT,
                       "committing seq %" PRIu64 " below the database's first seq %" PRIu64,
                       expected_seq + 1, cl->base_seq);
    if (expected_seq == cl->base_seq)
        rc = metastore_put_if_absent(cl->ms, cl->pk, HEAD_SK, raw, len);
    else
        rc = metastore_put_if_version(cl->ms, cl->pk, HEAD_SK, raw, len,
                                      expected_seq - cl->base_seq);
    if (rc < 0 && rc != CIRRUS_ECONFLICT)
        return err_prefix(rc, "committing seq %" PRIu64, expected_seq + 1);
    return rc;
}

int commitlog_copy(struct commitlog *cl, uint64_t seq, const uint8_t *raw, size_t len)
{
    char sk[24];
    seq_sk(sk, seq);
    int rc = metastore_put_if_absent(cl->ms, cl->log_pk, sk, raw, len);
    if (rc == CIRRUS_ECONFLICT)
        return 0;
    if (rc < 0)
        return err_prefix(rc, "copying entry %" PRIu64 " into the log", seq);
    return 0;
}

int commitlog_get_pointer(struct commitlog *cl, uint64_t *seq_out)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t version;
    int rc = metastore_get(cl->ms, cl->pk, POINTER_SK, &raw, &len, &version);
    if (rc == CIRRUS_ENOTFOUND) {
        *seq_out = 0;
        return 0;
    }
    if (rc < 0)
        return err_prefix(rc, "reading the manifest pointer");
    if (len != 8)
        rc = err_set(CIRRUS_ECORRUPT, "manifest pointer item has %zu bytes, expected 8", len);
    else
        *seq_out = decode_fixed64(raw);
    free(raw);
    return rc;
}

int commitlog_advance_pointer(struct commitlog *cl, uint64_t seq)
{
    uint8_t val[8];
    encode_fixed64(val, seq);
    for (int attempt = 0; attempt < 8; attempt++) {
        uint8_t *raw = NULL;
        size_t len = 0;
        uint64_t version = 0;
        int rc = metastore_get(cl->ms, cl->pk, POINTER_SK, &raw, &len, &version);
        if (rc == CIRRUS_ENOTFOUND) {
            rc = metastore_put_if_absent(cl->ms, cl->pk, POINTER_SK, val, sizeof(val));
        } else if (rc == 0) {
            uint64_t cur = len == 8 ? decode_fixed64(raw) : 0;
            free(raw);
            if (cur >= seq)
                return 0;
            rc = metastore_put_if_version(cl->ms, cl->pk, POINTER_SK, val, sizeof(val), version);
        }
        if (rc == 0)
            return 0;
        if (rc != CIRRUS_ECONFLICT)
            return err_prefix(rc, "advancing the manifest pointer to %" PRIu64, seq);
    }
    return 0; /* others keep moving it: their manifests are at least as new */
}
