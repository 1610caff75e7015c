/*
 * ingest.c - SST files written outside a database (cirrus_sst_writer) and
 * committed without rewriting them (cirrus_ingest); contracts in cirrus.h.
 *
 * An ingested file is an L0 file of a commit like any staged one: every
 * stored seq is 0 and the entry that adds it gives it its seq (global seq
 * ENTRY_SEQ_SELF, docs/FORMAT.md "Global sequence numbers"), so nothing in
 * the file has to be rewritten to fit the database's seqs.
 *
 * Ingest order, so that nothing unchecked is ever committed and nothing
 * uploaded is left referenced by nothing but GC:
 *   1. each file is read whole and uploaded under a new SST name (its
 *      write time is the upload's, filename.h);
 *   2. the uploaded object is checked whole by sst_verify (format,
 *      checksums, key order, properties, every stored seq 0) and its
 *      properties give the description;
 *   3. the files' key ranges must not overlap (one commit's L0 files of
 *      one seq are told apart by their order only);
 *   4. one entry adds them all (db_commit).
 * A failure in 1-3 deletes what was uploaded; after 4 was tried the files
 * are left alone (the outcome may be unknown) and GC collects them if the
 * entry did not land.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "db/dbimpl.h"
#include "db/filename.h"
#include "objstore/objstore.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "table/sst_verify.h"
#include "util/buf.h"
#include "util/status.h"
#include "util/sys.h"

#define RESTART_INTERVAL 16
#define ZSTD_LEVEL 3

/* ---- the writer ------------------------------------------------------------ */

struct cirrus_sst_writer {
    char *path;
    struct sst_builder *b;
    struct buf last, ikey; /* the last key put; the internal key being added */
    uint64_t n;
};

int cirrus_sst_writer_open(cirrus_sst_writer **out, const char *path, const cirrus_options *opts)
{
    cirrus_options def = CIRRUS_OPTIONS_INIT;
    cirrus_sst_writer *w = NULL;
    int rc;
    err_clear();
    *out = NULL;
    if (!opts)
        opts = &def;
    if (!path || !path[0])
        return err_set(CIRRUS_EINVALID, "sst writer: no path");
    if (opts->block_size < 256)
        return err_set(CIRRUS_EINVALID, "sst writer: block_size %u below 256", opts->block_size);
    struct sst_options so = {opts->block_size, RESTART_INTERVAL, opts->bloom_bits_per_key,
                             opts->compression, ZSTD_LEVEL};
    if (!(w = calloc(1, sizeof(*w))) || !(w->path = strdup(path))) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = sst_builder_new(&w->b, &so)) < 0)
        goto done;
    *out = w;
    w = NULL;
done:
    cirrus_sst_writer_close(w);
    return rc;
}

int cirrus_sst_writer_put(cirrus_sst_writer *w, const void *key, size_t key_len, const void *val,
                          size_t val_len)
{
    int rc;
    err_clear();
    if (!w->b)
        return err_set(CIRRUS_EINVALID, "sst writer %s: finished already", w->path);
    if ((!key && key_len) || (!val && val_len))
        return err_set(CIRRUS_EINVALID, "sst writer %s: NULL bytes with a length", w->path);
    if (w->n && ukey_compare(key, key_len, w->last.data, w->last.len) <= 0)
        return err_set(CIRRUS_EINVALID,
                       "sst writer %s: put %llu: the key is not above the one before", w->path,
                       (unsigned long long)w->n + 1);
    buf_reset(&w->ikey);
    if ((rc = buf_reserve(&w->ikey, key_len + IKEY_TRAILER)) < 0)
        return rc;
    ikey_encode(w->ikey.data, key, key_len, 0, KIND_PUT);
    w->ikey.len = key_len + IKEY_TRAILER;
    if ((rc = sst_builder_add(w->b, w->ikey.data, w->ikey.len, val, val_len)) < 0)
        return rc;
    buf_reset(&w->last);
    if ((rc = buf_append(&w->last, key, key_len)) < 0)
        return rc;
    w->n++;
    return 0;
}

/* Writes len bytes to a new file at path, synced. */
static int write_new_file(const char *path, const uint8_t *data, size_t len)
{
    FILE *f = fopen(path, "wbx");
    int rc = 0;
    if (!f)
        return err_set(errno == EEXIST ? CIRRUS_EEXISTS : CIRRUS_EIO, "creating %s: %s", path,
                       strerror(errno));
    if (fwrite(data, 1, len, f) != len || fflush(f) != 0 || fsync(fileno(f)) != 0)
        rc = err_set(CIRRUS_EIO, "writing %s: %s", path, strerror(errno));
    if (fclose(f) != 0 && rc == 0)
        rc = err_set(CIRRUS_EIO, "closing %s: %s", path, strerror(errno));
    if (rc < 0)
        remove(path);
    return rc;
}

int cirrus_sst_writer_finish(cirrus_sst_writer *w)
{
    uint8_t *data = NULL;
    size_t len = 0;
    int rc;
    err_clear();
    if (!w->b)
        return err_set(CIRRUS_EINVALID, "sst writer %s: finished already", w->path);
    if (w->n == 0)
        return err_set(CIRRUS_EINVALID, "sst writer %s: no put (an SST holds at least one)",
                       w->path);
    rc = sst_builder_finish(w->b, &data, &len, NULL);
    sst_builder_free(w->b);
    w->b = NULL;
    if (rc == 0)
        rc = write_new_file(w->path, data, len);
    free(data);
    return rc;
}

void cirrus_sst_writer_close(cirrus_sst_writer *w)
{
    if (!w)
        return;
    sst_builder_free(w->b);
    buf_free(&w->last);
    buf_free(&w->ikey);
    free(w->path);
    free(w);
}

/* ---- ingest ---------------------------------------------------------------- */

static int read_file(const char *path, uint8_t **out, size_t *len_out)
{
    FILE *f = fopen(path, "rb");
    struct buf b = {0};
    int rc = 0;
    if (!f)
        return err_set(CIRRUS_EIO, "%s: %s", path, strerror(errno));
    for (;;) {
        if ((rc = buf_reserve(&b, 1 << 20)) < 0)
            break;
        size_t got = fread(b.data + b.len, 1, b.cap - b.len, f);
        b.len += got;
        if (got == 0)
            break;
    }
    if (rc == 0 && ferror(f))
        rc = err_set(CIRRUS_EIO, "reading %s: %s", path, strerror(errno));
    fclose(f);
    if (rc == 0)
        *out = buf_take(&b, len_out);
    buf_free(&b);
    return rc;
}

/* The first problem sst_verify finds, for the message. */
static void first_problem(const char *name, const char *what, void *arg)
{
    char *first = arg;
    (void)name;
    if (!first[0])
        snprintf(first, 256, "%s", what);
}

/* Steps 1 and 2 for one file: uploads `path` and lists it in e. */
static int ingest_one(cirrus_db *db, const char *path, struct entry *e)
{
    uint8_t *data = NULL;
    size_t len = 0;
    char name[FILENAME_LEN], problem[256] = "";
    struct sst_reader *r = NULL;
    struct file_meta f = {0};
    int uploaded = 0, rc;
    if ((rc = read_file(path, &data, &len)) < 0)
        goto done;
    f.write_time_ms = now_ms();
    filename_sst(name, f.write_time_ms, rand_u64());
    if ((rc = objstore_put(db->os, name, data, len)) < 0) {
        rc = err_prefix(rc, "%s: uploading it as %s", path, name);
        goto done;
    }
    uploaded = 1;
    /* a global seq makes the verifier hold every stored seq to 0 */
    struct sst_expect ex = {.size = len, .global_seq = 1};
    if ((rc = sst_verify(NULL, db->os, name, &ex, first_problem, problem)) < 0) {
        if (rc == CIRRUS_ECORRUPT)
            rc = err_set(CIRRUS_ECORRUPT, "%s: not a sound SST file: %s", path,
                         problem[0] ? problem : cirrus_errmsg());
        else
            rc = err_prefix(rc, "%s: checking it", path);
        goto done;
    }
    if ((rc = sst_reader_open(&r, db->os, name, len, 0, NULL)) < 0) {
        rc = err_prefix(rc, "%s", path);
        goto done;
    }
    const struct sst_props *p = sst_reader_props(r);
    f.name = name;
    f.size = len;
    f.level = 0;
    f.global_seq = ENTRY_SEQ_SELF;
    f.smallest = p->smallest;
    f.smallest_len = p->smallest_len;
    f.largest = p->largest;
    f.largest_len = p->largest_len;
    f.n_entries = p->n_entries;
    f.n_deletes = p->n_deletes;
    if ((rc = entry_add_file(e, &f)) == 0)
        uploaded = 0; /* listed: the caller deletes it on failure */
done:
    if (uploaded)
        objstore_del(db->os, name);
    sst_reader_close(r);
    free(data);
    return rc;
}

/* Step 3: refuses overlapping key ranges (paths name them). */
static int check_disjoint(const struct entry *e, const char *const *paths)
{
    for (size_t i = 0; i < e->n_added; i++)
        for (size_t j = 0; j < i; j++) {
            const struct file_meta *a = &e->added[i], *b = &e->added[j];
            if (ukey_compare(a->smallest, a->smallest_len, b->largest, b->largest_len) <= 0 &&
                ukey_compare(b->smallest, b->smallest_len, a->largest, a->largest_len) <= 0)
                return err_set(CIRRUS_EINVALID, "%s and %s have overlapping key ranges", paths[j],
                               paths[i]);
        }
    return 0;
}

static void delete_listed(cirrus_db *db, const struct entry *e)
{
    for (size_t i = 0; i < e->n_added; i++)
        objstore_del(db->os, e->added[i].name);
}

int cirrus_ingest(cirrus_db *db, size_t n, const char *const *paths, uint64_t *seq_out)
{
    struct entry e;
    uint64_t seq = 0;
    int tried = 0, rc;
    err_clear();
    memset(&e, 0, sizeof(e));
    if (db->opts.read_only)
        return err_set(CIRRUS_EINVALID, "the database was opened read-only");
    if (n == 0 || !paths)
        return err_set(CIRRUS_EINVALID, "no files to ingest");
    if ((rc = db_new_write_entry(db, &e)) < 0)
        goto done;
    for (size_t i = 0; i < n; i++)
        if ((rc = ingest_one(db, paths[i], &e)) < 0)
            goto done;
    /* buffered writes of this handle were made first: they commit first */
    if ((rc = check_disjoint(&e, paths)) < 0 || (rc = db_flush(db, NULL)) < 0)
        goto done;
    tried = 1;
    if ((rc = db_commit(db, &e, NULL, NULL, &seq, NULL)) < 0)
        goto done;
    db_log(db, CIRRUS_LOG_INFO, "ingest", "%zu files at seq %llu", n, (unsigned long long)seq);
    if (seq_out)
        *seq_out = seq;
done:
    if (rc < 0 && !tried)
        delete_listed(db, &e);
    entry_clear(&e);
    return rc;
}
