/*
 * verify.c - `cirrus verify`: every object a database needs, present and
 * sound (verify.h).
 *
 * What a database needs: the files of its head version and of every pin
 * (checkpoints, the holds of its clones, backups in progress), the pins'
 * manifests, the manifest the pointer names (or the first manifest of a
 * clone or restore), and the delta objects of the entries still in the
 * log. Files named by older log entries are not needed: GC may have taken
 * them. Shared files of a clone are read through its routed store, so
 * they are checked where they are.
 */
#include "db/verify.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "db/filename.h"
#include "db/manifest.h"
#include "db/pins.h"
#include "objstore/objstore.h"
#include "table/sst_verify.h"
#include "util/status.h"

void verifier_init(struct verifier *vf, struct objstore *os, const cirrus_verify_options *o,
                   void (*fn)(const cirrus_verify_problem *p, void *arg), void *arg)
{
    memset(vf, 0, sizeof(*vf));
    vf->os = os;
    vf->o = o;
    vf->fn = fn;
    vf->arg = arg;
}

void verifier_clear(struct verifier *vf)
{
    for (size_t i = 0; i < vf->n_checked; i++)
        free(vf->checked[i]);
    free(vf->checked);
    vf->checked = NULL;
    vf->n_checked = vf->cap_checked = 0;
}

void verifier_problem(struct verifier *vf, const char *object, const char *fmt, ...)
{
    char what[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    vf->sum.problems++;
    if (vf->fn) {
        cirrus_verify_problem p = {object, what};
        vf->fn(&p, vf->arg);
    }
}

/* 1 if name was checked before; else records it. < 0: out of memory. */
static int seen(struct verifier *vf, const char *name)
{
    for (size_t i = 0; i < vf->n_checked; i++)
        if (strcmp(vf->checked[i], name) == 0)
            return 1;
    if (vf->n_checked == vf->cap_checked) {
        size_t c = vf->cap_checked ? vf->cap_checked * 2 : 256;
        char **n = realloc(vf->checked, c * sizeof(*n));
        if (!n)
            return err_nomem();
        vf->checked = n;
        vf->cap_checked = c;
    }
    if (!(vf->checked[vf->n_checked] = strdup(name)))
        return err_nomem();
    vf->n_checked++;
    return 0;
}

static void sst_problem(const char *name, const char *what, void *arg)
{
    verifier_problem(arg, name, "%s", what);
}

static int check_file(struct verifier *vf, const struct file_meta *f)
{
    uint64_t size = 0, got = 0;
    int rc;
    if (!vf->o->deep) {
        rc = objstore_head(vf->os, f->name, &size);
        got = 0;
        if (rc == CIRRUS_ENOTFOUND) {
            verifier_problem(vf, f->name, "missing");
            return 0;
        }
        if (rc < 0)
            return err_prefix(rc, "verify: %s", f->name);
        if (size != f->size)
            verifier_problem(vf, f->name, "has %" PRIu64 " bytes, its description says %" PRIu64,
                             size, f->size);
        vf->sum.bytes += f->size;
        return 0;
    }
    struct sst_expect x = {0};
    x.size = f->size;
    x.smallest = f->smallest;
    x.smallest_len = f->smallest_len;
    x.largest = f->largest;
    x.largest_len = f->largest_len;
    x.have_keys = f->n_entries > 0;
    x.global_seq = f->global_seq;
    if (f->global_seq) {
        x.min_seq = x.max_seq = f->global_seq;
    } else {
        x.min_seq = f->min_seq;
        x.max_seq = f->max_seq;
    }
    x.have_seqs = 1;
    x.n_entries = f->n_entries;
    x.n_deletes = f->n_deletes;
    x.have_counts = 1;
    rc = sst_verify(&got, vf->os, f->name, &x, sst_problem, vf);
    vf->sum.bytes += got;
    if (rc == CIRRUS_ENOTFOUND) {
        verifier_problem(vf, f->name, "missing");
        return 0;
    }
    if (rc == CIRRUS_ECORRUPT || rc == CIRRUS_EVERSION)
        return 0; /* reported */
    return rc < 0 ? err_prefix(rc, "verify") : 0;
}

int verifier_files(struct verifier *vf, const struct version *v)
{
    const struct file_meta **todo = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    /* the totals first (progress), each file once across calls */
    for (int l = 0; l < CIRRUS_MAX_LEVELS && rc == 0; l++)
        for (size_t i = 0; i < v->n_files[l] && rc == 0; i++) {
            const struct file_meta *f = &v->files[l][i]->meta;
            int known = seen(vf, f->name);
            if (known < 0) {
                rc = known;
                break;
            }
            if (known)
                continue;
            if (n == cap) {
                cap = cap ? cap * 2 : 64;
                const struct file_meta **t = realloc(todo, cap * sizeof(*t));
                if (!t) {
                    rc = err_nomem();
                    break;
                }
                todo = t;
            }
            todo[n++] = f;
            vf->prog.objects_total++;
            vf->prog.bytes_total += f->size;
        }
    for (size_t i = 0; i < n && rc == 0; i++) {
        if ((rc = check_file(vf, todo[i])) < 0)
            break;
        vf->sum.objects++;
        vf->prog.objects_done++;
        vf->prog.bytes_done += todo[i]->size;
        if (vf->o->progress)
            vf->o->progress(&vf->prog, vf->o->progress_arg);
    }
    free(todo);
    return rc;
}

int verifier_result(struct verifier *vf, const char *what, cirrus_verify_summary *summary)
{
    if (summary)
        *summary = vf->sum;
    if (vf->sum.problems)
        return err_set(CIRRUS_ECORRUPT, "%s: %" PRIu64 " problem(s) found", what, vf->sum.problems);
    return 0;
}

/* A manifest object that must be there and decode. */
static int check_manifest(struct verifier *vf, const char *name)
{
    uint8_t *data = NULL;
    size_t len = 0;
    struct version *v = NULL;
    int rc = objstore_get_all(vf->os, name, &data, &len);
    vf->sum.objects++;
    if (rc == CIRRUS_ENOTFOUND) {
        verifier_problem(vf, name, "missing (the manifest pointer names it)");
        return 0;
    }
    if (rc < 0)
        return err_prefix(rc, "verify: %s", name);
    vf->sum.bytes += len;
    if (manifest_decode(&v, data, len, name) < 0)
        verifier_problem(vf, name, "%s", cirrus_errmsg());
    else
        version_unref(v);
    free(data);
    return 0;
}

struct log_check {
    cirrus_db *db;
    struct verifier *vf;
};

static int check_entry(uint64_t seq, const uint8_t *raw, size_t len, void *arg)
{
    struct log_check *lc = arg;
    struct entry e;
    if (commitlog_decode(&lc->db->log, raw, len, seq, &e) < 0) {
        char item[48];
        snprintf(item, sizeof(item), "log entry %" PRIu64, seq);
        verifier_problem(lc->vf, item, "%s", cirrus_errmsg());
        return 0;
    }
    entry_clear(&e);
    return 0;
}

static int check_pin(struct verifier *vf, cirrus_db *db, const struct pin *p)
{
    struct version *v = NULL;
    int rc;
    vf->sum.objects++;
    if ((rc = pin_load_listed(db, p, &v)) == CIRRUS_ENOTFOUND)
        return 0; /* deleted or replaced since the listing */
    if (rc < 0) {
        verifier_problem(vf, p->manifest, "%s", cirrus_errmsg());
        return 0;
    }
    rc = verifier_files(vf, v);
    version_unref(v);
    return rc;
}

int cirrus_verify(cirrus_db *db, const cirrus_verify_options *o,
                  void (*fn)(const cirrus_verify_problem *p, void *arg), void *arg,
                  cirrus_verify_summary *summary)
{
    cirrus_verify_options defaults = CIRRUS_VERIFY_OPTIONS_INIT;
    struct verifier vf;
    struct version *v = NULL;
    struct pin *pins = NULL;
    size_t n_pins = 0;
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t head, oldest, pointer;
    int rc;
    err_clear();
    if (!db)
        return err_set(CIRRUS_EINVALID, "cirrus_verify: NULL argument");
    if (!o)
        o = &defaults;
    verifier_init(&vf, db->os, o, fn, arg);
    if (o->checkpoint) {
        struct pin p;
        if ((rc = db_checkpoint_version(db, o->checkpoint, &p, &v)) < 0)
            goto done;
        pin_clear(&p);
        if ((rc = verifier_files(&vf, v)) < 0)
            goto done;
        rc = verifier_result(&vf, db->os->url, summary);
        goto done;
    }
    if ((rc = db_refresh(db, NULL)) < 0)
        goto done;
    pthread_mutex_lock(&db->mu);
    v = db->vs.current;
    version_ref(v);
    pthread_mutex_unlock(&db->mu);
    if ((rc = verifier_files(&vf, v)) < 0 || (rc = pins_list(db, "", &pins, &n_pins)) < 0)
        goto done;
    for (size_t i = 0; i < n_pins && rc == 0; i++)
        rc = check_pin(&vf, db, &pins[i]);
    if (rc < 0 || (rc = commitlog_get_pointer(&db->log, &pointer)) < 0)
        goto done;
    if (pointer < db->log.base_seq)
        pointer = db->log.base_seq;
    if (pointer > 0) {
        char name[FILENAME_LEN];
        filename_manifest(name, pointer);
        if ((rc = check_manifest(&vf, name)) < 0)
            goto done;
    }
    /* the retained log: every entry decodes, delta objects included */
    struct log_check lc = {db, &vf};
    if ((rc = commitlog_get_head(&db->log, &head, &raw, &len)) < 0 ||
        (rc = commitlog_oldest(&db->log, head, &oldest)) < 0)
        goto done;
    if (oldest <= db->log.base_seq)
        oldest = db->log.base_seq + 1;
    if (oldest < head && (rc = commitlog_scan(&db->log, oldest, head, check_entry, &lc)) < 0)
        goto done;
    if (raw)
        check_entry(head, raw, len, &lc);
    rc = verifier_result(&vf, db->os->url, summary);
done:
    free(raw);
    pins_free(pins, n_pins);
    if (v)
        version_unref(v);
    verifier_clear(&vf);
    return rc;
}
