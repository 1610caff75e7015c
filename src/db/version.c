#include "db/version.h"

#include <stdlib.h>
#include <string.h>

#include "table/ikey.h"
#include "table/iter.h"
#include "table/sst.h"
#include "util/status.h"

static void live_file_unref(struct live_file *f)
{
    if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
        return;
    sst_reader_close(f->reader);
    pthread_mutex_destroy(&f->mu);
    file_meta_clear(&f->meta);
    free(f);
}

static int live_file_new(struct live_file **out, const struct file_meta *m, uint64_t entry_seq)
{
    struct live_file *f = calloc(1, sizeof(*f));
    int rc;
    if (!f)
        return err_nomem();
    if ((rc = file_meta_copy(&f->meta, m)) < 0) {
        free(f);
        return rc;
    }
    if (f->meta.global_seq == ENTRY_SEQ_SELF) {
        f->meta.global_seq = entry_seq;
        f->meta.min_seq = f->meta.max_seq = entry_seq;
    }
    atomic_init(&f->refs, 1);
    pthread_mutex_init(&f->mu, NULL);
    *out = f;
    return 0;
}

int version_new(struct version **out)
{
    struct version *v = calloc(1, sizeof(*v));
    if (!v)
        return err_nomem();
    atomic_init(&v->refs, 1);
    *out = v;
    return 0;
}

void version_ref(struct version *v)
{
    atomic_fetch_add(&v->refs, 1);
}

void version_unref(struct version *v)
{
    if (!v || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    for (size_t i = 0; i < v->n_apps; i++)
        free(v->apps[i].app);
    free(v->apps);
    for (size_t i = 0; i < v->n_ranges; i++)
        range_del_clear(&v->ranges[i]);
    free(v->ranges);
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++) {
        for (size_t i = 0; i < v->n_files[l]; i++)
            live_file_unref(v->files[l][i]);
        free(v->files[l]);
    }
    free(v);
}

static int push_file(struct version *v, struct live_file *f)
{
    uint32_t l = f->meta.level;
    struct live_file **a = realloc(v->files[l], (v->n_files[l] + 1) * sizeof(*a));
    if (!a)
        return err_nomem();
    v->files[l] = a;
    a[v->n_files[l]++] = f;
    return 0;
}

struct live_file *version_find_file(const struct version *v, const char *name)
{
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++)
        for (size_t i = 0; i < v->n_files[l]; i++)
            if (strcmp(v->files[l][i]->meta.name, name) == 0)
                return v->files[l][i];
    return NULL;
}

static int cmp_l0(const void *a, const void *b)
{
    const struct live_file *x = *(struct live_file *const *)a, *y = *(struct live_file *const *)b;
    if (x->meta.max_seq != y->meta.max_seq)
        return x->meta.max_seq > y->meta.max_seq ? -1 : 1;
    if (x->ord != y->ord)
        return x->ord > y->ord ? -1 : 1;
    return strcmp(x->meta.name, y->meta.name);
}

static int cmp_level(const void *a, const void *b)
{
    const struct live_file *x = *(struct live_file *const *)a, *y = *(struct live_file *const *)b;
    return ukey_compare(x->meta.smallest, x->meta.smallest_len, y->meta.smallest,
                        y->meta.smallest_len);
}

void version_sort(struct version *v)
{
    if (v->n_files[0] > 1)
        qsort(v->files[0], v->n_files[0], sizeof(v->files[0][0]), cmp_l0);
    for (int l = 1; l < CIRRUS_MAX_LEVELS; l++)
        if (v->n_files[l] > 1)
            qsort(v->files[l], v->n_files[l], sizeof(v->files[l][0]), cmp_level);
}

int version_add_file(struct version *v, const struct file_meta *m, uint32_t ord)
{
    struct live_file *f = NULL;
    int rc;
    if ((rc = live_file_new(&f, m, 0)) < 0)
        return rc;
    f->ord = ord;
    if ((rc = push_file(v, f)) < 0)
        live_file_unref(f);
    return rc;
}

static int is_removed(const struct entry *e, const char *name)
{
    for (size_t i = 0; i < e->n_removed; i++)
        if (strcmp(e->removed[i], name) == 0)
            return 1;
    return 0;
}

uint64_t version_range_del_seq(const struct version *v, const void *ukey, size_t len, uint64_t snap)
{
    uint64_t best = 0;
    /* range deletes are rare and whole-range: a scan is enough */
    for (size_t i = 0; i < v->n_ranges; i++) {
        const struct range_del *r = &v->ranges[i];
        if (r->seq > best && r->seq <= snap && ukey_compare(ukey, len, r->from, r->from_len) >= 0 &&
            ukey_compare(ukey, len, r->to, r->to_len) < 0)
            best = r->seq;
    }
    return best;
}

int version_add_range(struct version *v, const struct range_del *r)
{
    struct range_del *a = realloc(v->ranges, (v->n_ranges + 1) * sizeof(*a));
    if (!a)
        return err_nomem();
    v->ranges = a;
    int rc = range_del_copy(&a[v->n_ranges], r);
    if (rc == 0)
        v->n_ranges++;
    return rc;
}

const struct app_epoch *version_app(const struct version *v, const char *app)
{
    size_t lo = 0, hi = v->n_apps;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(v->apps[mid].app, app);
        if (c == 0)
            return &v->apps[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int version_set_app(struct version *v, const char *app, uint64_t epoch, uint64_t seq)
{
    struct app_epoch *a = (struct app_epoch *)version_app(v, app);
    if (a) {
        a->epoch = epoch;
        a->seq = seq;
        return 0;
    }
    size_t at = 0;
    while (at < v->n_apps && strcmp(v->apps[at].app, app) < 0)
        at++;
    struct app_epoch *n = realloc(v->apps, (v->n_apps + 1) * sizeof(*n));
    if (!n)
        return err_nomem();
    v->apps = n;
    char *copy = strdup(app);
    if (!copy)
        return err_nomem();
    memmove(&n[at + 1], &n[at], (v->n_apps - at) * sizeof(*n));
    n[at] = (struct app_epoch){copy, epoch, seq};
    v->n_apps++;
    return 0;
}

static int copy_apps(struct version *dst, const struct version *src)
{
    for (size_t i = 0; i < src->n_apps; i++) {
        int rc = version_set_app(dst, src->apps[i].app, src->apps[i].epoch, src->apps[i].seq);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* The validation rule of invariant 3. */
int version_entry_valid(const struct version *v, const struct entry *e)
{
    if (e->app_id) {
        const struct app_epoch *a = version_app(v, e->app_id);
        if (a && e->epoch <= a->epoch)
            return 0; /* an epoch already applied: exactly once */
    }
    for (size_t i = 0; i < e->n_removed; i++)
        if (!version_find_file(v, e->removed[i]))
            return 0;
    for (size_t i = 0; i < e->n_added; i++) {
        if (version_find_file(v, e->added[i].name) && !is_removed(e, e->added[i].name))
            return 0;
        for (size_t j = 0; j < i; j++)
            if (strcmp(e->added[i].name, e->added[j].name) == 0)
                return 0;
    }
    return 1;
}

int version_apply(struct version *v, const struct entry *e, struct version **out, int *applied_out)
{
    struct version *n = NULL;
    int applied = 0, rc;
    if (e->seq != v->seq + 1)
        return err_set(CIRRUS_ECORRUPT, "entry for seq %llu replayed after seq %llu",
                       (unsigned long long)e->seq, (unsigned long long)v->seq);
    if ((rc = version_new(&n)) < 0)
        return rc;
    n->seq = e->seq;
    n->time_ms = e->time_ms > v->time_ms ? e->time_ms : v->time_ms;
    applied = version_entry_valid(v, e);
    n->min_readable_seq = v->min_readable_seq;
    if (applied && e->horizon > n->min_readable_seq)
        n->min_readable_seq = e->horizon;
    if ((rc = copy_apps(n, v)) < 0 ||
        (applied && e->app_id && (rc = version_set_app(n, e->app_id, e->epoch, e->seq)) < 0))
        goto done;
    for (size_t i = 0; i < v->n_ranges; i++)
        if ((rc = version_add_range(n, &v->ranges[i])) < 0)
            goto done;
    for (size_t i = 0; applied && i < e->n_ranges; i++) {
        struct range_del r = e->ranges[i];
        r.seq = e->seq;
        if ((rc = version_add_range(n, &r)) < 0)
            goto done;
    }
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++) {
        for (size_t i = 0; i < v->n_files[l]; i++) {
            struct live_file *f = v->files[l][i];
            if (applied && is_removed(e, f->meta.name))
                continue;
            atomic_fetch_add(&f->refs, 1);
            if ((rc = push_file(n, f)) < 0) {
                live_file_unref(f);
                goto done;
            }
        }
    }
    for (size_t i = 0; applied && i < e->n_added; i++) {
        struct live_file *f = NULL;
        if ((rc = live_file_new(&f, &e->added[i], e->seq)) < 0)
            goto done;
        f->ord = (uint32_t)i;
        if ((rc = push_file(n, f)) < 0) {
            live_file_unref(f);
            goto done;
        }
    }
    version_sort(n);
    rc = 0;
done:
    if (rc < 0) {
        version_unref(n);
        return rc;
    }
    if (applied_out)
        *applied_out = applied;
    *out = n;
    return 0;
}

uint64_t version_total_files(const struct version *v)
{
    uint64_t n = 0;
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++)
        n += v->n_files[l];
    return n;
}

int live_file_reader(struct live_file *f, struct objstore *os, struct block_cache *cache,
                     struct sst_reader **out)
{
    int rc = 0;
    pthread_mutex_lock(&f->mu);
    if (!f->reader)
        rc = sst_reader_open(&f->reader, os, f->meta.name, f->meta.size, f->meta.global_seq, cache);
    if (rc == 0)
        *out = f->reader;
    pthread_mutex_unlock(&f->mu);
    return rc;
}

/* ---- level iterator -------------------------------------------------------- */

struct level_iter {
    struct iter base;
    struct live_file **files; /* borrowed files, sorted by key; copied array */
    size_t n;
    struct objstore *os;
    struct block_cache *cache;
    uint64_t readahead; /* 0: block by block */
    size_t at;          /* index of the open file; n: none */
    struct iter *cur;   /* its iterator, NULL when none */
    int status;         /* the first error of opening a file */
};

static void li_close_file(struct level_iter *li)
{
    iter_free(li->cur);
    li->cur = NULL;
    li->at = li->n;
}

/* Makes file i the open one (its iterator unpositioned); 0 or an error,
 * which also becomes the status. */
static int li_open(struct level_iter *li, size_t i)
{
    struct sst_reader *r = NULL;
    int rc;
    if (li->cur && li->at == i)
        return 0;
    li_close_file(li);
    if ((rc = live_file_reader(li->files[i], li->os, li->cache, &r)) < 0 ||
        (rc = li->readahead ? sst_reader_iter_sequential(r, li->readahead, &li->cur)
                            : sst_reader_iter(r, &li->cur)) < 0) {
        li->status = rc;
        return rc;
    }
    li->at = i;
    return 0;
}

static int li_ok(const struct level_iter *li)
{
    return li->status == 0 && (!li->cur || iter_status(li->cur) == 0);
}

static int li_valid(const struct iter *it)
{
    const struct level_iter *li = (const struct level_iter *)it;
    return li->status == 0 && li->cur && iter_valid(li->cur);
}

/* While the open file is exhausted (and healthy), on to the next file's first
 * entry. */
static void li_skip_forward(struct level_iter *li)
{
    while (li->cur && !iter_valid(li->cur) && li_ok(li) && li->at + 1 < li->n) {
        if (li_open(li, li->at + 1) < 0)
            return;
        iter_first(li->cur);
    }
}

static void li_skip_backward(struct level_iter *li)
{
    while (li->cur && !iter_valid(li->cur) && li_ok(li) && li->at > 0) {
        if (li_open(li, li->at - 1) < 0)
            return;
        iter_last(li->cur);
    }
}

static void li_first(struct iter *it)
{
    struct level_iter *li = (struct level_iter *)it;
    if (li->status < 0 || li_open(li, 0) < 0)
        return;
    iter_first(li->cur);
    li_skip_forward(li);
}

static void li_last(struct iter *it)
{
    struct level_iter *li = (struct level_iter *)it;
    if (li->status < 0 || li_open(li, li->n - 1) < 0)
        return;
    iter_last(li->cur);
    li_skip_backward(li);
}

/* Rejects a target too short to be an internal key, as every iterator must
 * (iter.h); 0 if usable. */
static int li_target(struct level_iter *li, size_t len)
{
    if (len < IKEY_TRAILER && li->status == 0)
        li->status =
            err_set(CIRRUS_EINVALID, "seek target of %zu bytes is not an internal key", len);
    return li->status;
}

static void li_seek(struct iter *it, const uint8_t *target, size_t len)
{
    struct level_iter *li = (struct level_iter *)it;
    if (li_target(li, len) < 0)
        return;
    /* the first file whose largest user key is >= the target's */
    size_t lo = 0, hi = li->n, ulen = ikey_user_len(len);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct file_meta *m = &li->files[mid]->meta;
        if (ukey_compare(m->largest, m->largest_len, target, ulen) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == li->n)
        return li_close_file(li); /* past the last key: not valid */
    if (li_open(li, lo) < 0)
        return;
    iter_seek(li->cur, target, len);
    li_skip_forward(li);
}

static void li_seek_for_prev(struct iter *it, const uint8_t *target, size_t len)
{
    struct level_iter *li = (struct level_iter *)it;
    if (li_target(li, len) < 0)
        return;
    /* the last file whose smallest user key is <= the target's */
    size_t lo = 0, hi = li->n, ulen = ikey_user_len(len);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const struct file_meta *m = &li->files[mid]->meta;
        if (ukey_compare(m->smallest, m->smallest_len, target, ulen) <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo == 0)
        return li_close_file(li); /* before the first key: not valid */
    if (li_open(li, lo - 1) < 0)
        return;
    iter_seek_for_prev(li->cur, target, len);
    li_skip_backward(li);
}

static void li_next(struct iter *it)
{
    struct level_iter *li = (struct level_iter *)it;
    if (!li_valid(it))
        return;
    iter_next(li->cur);
    li_skip_forward(li);
}

static void li_prev(struct iter *it)
{
    struct level_iter *li = (struct level_iter *)it;
    if (!li_valid(it))
        return;
    iter_prev(li->cur);
    li_skip_backward(li);
}

static const uint8_t *li_key(const struct iter *it, size_t *len_out)
{
    return iter_key(((const struct level_iter *)it)->cur, len_out);
}

static const uint8_t *li_value(const struct iter *it, size_t *len_out)
{
    return iter_value(((const struct level_iter *)it)->cur, len_out);
}

static int li_status(const struct iter *it)
{
    const struct level_iter *li = (const struct level_iter *)it;
    if (li->status < 0)
        return li->status;
    return li->cur ? iter_status(li->cur) : 0;
}

static void li_free(struct iter *it)
{
    struct level_iter *li = (struct level_iter *)it;
    iter_free(li->cur);
    free(li->files);
    free(li);
}

static const struct iter_ops level_iter_ops = {
    .valid = li_valid,
    .first = li_first,
    .last = li_last,
    .seek = li_seek,
    .seek_for_prev = li_seek_for_prev,
    .next = li_next,
    .prev = li_prev,
    .key = li_key,
    .value = li_value,
    .status = li_status,
    .free = li_free,
};

int level_iter_new(struct iter **out, struct live_file *const *files, size_t n, struct objstore *os,
                   struct block_cache *cache, uint64_t readahead)
{
    struct level_iter *li;
    if (n == 0)
        return err_set(CIRRUS_EINVALID, "level iterator over no files");
    li = calloc(1, sizeof(*li));
    if (!li || !(li->files = malloc(n * sizeof(*li->files)))) {
        free(li);
        return err_nomem();
    }
    memcpy(li->files, files, n * sizeof(*files));
    li->base.ops = &level_iter_ops;
    li->n = n;
    li->os = os;
    li->cache = cache;
    li->readahead = readahead;
    li->at = n;
    *out = &li->base;
    return 0;
}

int version_renamed(const struct version *v, version_rename_fn rename, void *arg,
                    struct version **out)
{
    struct version *nv = NULL;
    char buf[1024];
    int rc = version_new(&nv);
    if (rc < 0)
        return rc;
    nv->seq = v->seq;
    nv->time_ms = v->time_ms;
    nv->min_readable_seq = v->min_readable_seq;
    for (int l = 0; l < CIRRUS_MAX_LEVELS && rc == 0; l++)
        for (size_t i = 0; i < v->n_files[l] && rc == 0; i++) {
            struct file_meta m = v->files[l][i]->meta;
            if (!(m.name = (char *)rename(m.name, buf, sizeof(buf), arg)))
                rc = err_nomem();
            else
                rc = version_add_file(nv, &m, v->files[l][i]->ord);
        }
    for (size_t i = 0; i < v->n_ranges && rc == 0; i++)
        rc = version_add_range(nv, &v->ranges[i]);
    for (size_t i = 0; i < v->n_apps && rc == 0; i++)
        rc = version_set_app(nv, v->apps[i].app, v->apps[i].epoch, v->apps[i].seq);
    if (rc < 0) {
        version_unref(nv);
        return rc;
    }
    version_sort(nv);
    *out = nv;
    return 0;
}
