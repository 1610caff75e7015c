/*
 * cut.c - the version of an older seq, for clones and backups (cut.h).
 */
#include "db/cut.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "db/sst_output.h"
#include "table/ikey.h"
#include "table/iter.h"
#include "table/sst.h"
#include "util/status.h"

#define CUT_READAHEAD (4u << 20)

void file_seq_range(const struct file_meta *f, uint64_t *lo, uint64_t *hi)
{
    if (f->global_seq) {
        *lo = *hi = f->global_seq;
    } else {
        *lo = f->min_seq;
        *hi = f->max_seq;
    }
}

/* Rewrites f without its keys above seq into dst, adding the outputs to
 * nv. */
static int rewrite(cirrus_db *db, const struct live_file *f, uint64_t seq, struct objstore *dst,
                   struct version *nv)
{
    struct sst_reader *r = NULL;
    struct sst_output *o = NULL;
    struct iter *it = NULL;
    struct entry e = {0};
    int rc;
    if (f->meta.level == 0)
        return err_set(CIRRUS_ECORRUPT, "%s: an L0 file with keys of several seqs", f->meta.name);
    if ((rc = sst_reader_open(&r, db->os, f->meta.name, f->meta.size, 0, NULL)) < 0 ||
        (rc = sst_reader_iter_sequential(r, CUT_READAHEAD, &it)) < 0 ||
        (rc = sst_output_new_level(&o, dst, &db->opts, f->meta.level, NULL, &e)) < 0)
        goto done;
    for (iter_first(it); iter_valid(it) && rc == 0; iter_next(it)) {
        size_t klen, vlen;
        const uint8_t *k = iter_key(it, &klen), *v = iter_value(it, &vlen);
        if (ikey_seq(k, klen) <= seq)
            rc = sst_output_add(o, k, klen, v, vlen);
    }
    if (rc == 0 && (rc = iter_status(it)) == 0)
        rc = sst_output_finish(o);
    for (size_t i = 0; i < e.n_added && rc == 0; i++)
        rc = version_add_file(nv, &e.added[i], 0);
    if (rc < 0)
        rc = err_prefix(rc, "rewriting %s at seq %" PRIu64, f->meta.name, seq);
done:
    iter_free(it);
    sst_output_free(o);
    sst_reader_close(r);
    entry_clear(&e);
    return rc;
}

static int copy_tail(const struct version *v, uint64_t seq, struct version *nv)
{
    int rc = 0;
    if (v->n_ranges && !(nv->ranges = calloc(v->n_ranges, sizeof(*nv->ranges))))
        return err_nomem();
    for (size_t i = 0; i < v->n_ranges && rc == 0; i++)
        if (v->ranges[i].seq <= seq &&
            (rc = range_del_copy(&nv->ranges[nv->n_ranges], &v->ranges[i])) == 0)
            nv->n_ranges++;
    if (rc < 0)
        return rc;
    if (v->n_apps && !(nv->apps = calloc(v->n_apps, sizeof(*nv->apps))))
        return err_nomem();
    for (size_t i = 0; i < v->n_apps; i++) {
        if (v->apps[i].seq > seq)
            continue; /* what it had applied before is not known here */
        nv->apps[nv->n_apps] = v->apps[i];
        if (!(nv->apps[nv->n_apps].app = strdup(v->apps[i].app)))
            return err_nomem();
        nv->n_apps++;
    }
    return 0;
}

int version_cut(cirrus_db *db, struct version *v, uint64_t seq, int64_t time_ms,
                struct objstore *dst, struct version **out, size_t *rewritten)
{
    struct version *nv = NULL;
    size_t n = 0;
    int rc;
    if (rewritten)
        *rewritten = 0;
    if (seq == v->seq) {
        version_ref(v);
        *out = v;
        return 0;
    }
    if (seq > v->seq || seq < v->min_readable_seq)
        return err_set(CIRRUS_EEXPIRED,
                       "seq %" PRIu64 " is not readable in the version at seq %" PRIu64
                       " (it keeps seqs %" PRIu64 " and up)",
                       seq, v->seq, v->min_readable_seq);
    if ((rc = version_new(&nv)) < 0)
        return rc;
    nv->seq = seq;
    nv->time_ms = time_ms;
    nv->min_readable_seq = v->min_readable_seq;
    for (int l = 0; l < CIRRUS_MAX_LEVELS && rc == 0; l++)
        for (size_t i = 0; i < v->n_files[l] && rc == 0; i++) {
            const struct live_file *f = v->files[l][i];
            uint64_t lo, hi;
            file_seq_range(&f->meta, &lo, &hi);
            if (hi <= seq)
                rc = version_add_file(nv, &f->meta, f->ord);
            else if (lo <= seq && (rc = rewrite(db, f, seq, dst, nv)) == 0)
                n++;
        }
    if (rc == 0)
        rc = copy_tail(v, seq, nv);
    if (rc < 0) {
        version_unref(nv);
        return rc;
    }
    version_sort(nv);
    if (rewritten)
        *rewritten = n;
    *out = nv;
    return 0;
}
