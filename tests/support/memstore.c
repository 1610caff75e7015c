/*
 * memstore.c - the in-memory object store (contract in memstore.h).
 */
#include "support/memstore.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "objstore/objstore.h"
#include "util/status.h"

#define NAME_MAX_LEN 512

struct object {
    char *name;
    uint8_t *data;
    size_t len;
};

struct memstore {
    struct objstore base;
    pthread_mutex_t mu;
    struct object *objs; /* sorted by name (strcmp = byte order) */
    size_t n_objs;
    size_t cap;
    uint64_t n_gets;
};

/* Rule 6 of objstore.h, checked here so that the store depends on util only. */
static int check_name(const char *name)
{
    size_t len = strlen(name);
    int ok = len > 0 && len <= NAME_MAX_LEN && name[0] != '/' && !strstr(name, "..");
    for (size_t i = 0; ok && i < len; i++) {
        char c = name[i];
        ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
             c == '.' || c == '_' || c == '/' || c == '-';
    }
    return ok ? 0 : err_set(CIRRUS_EINVALID, "memstore: bad object name \"%s\"", name);
}

/* Index of name, or of where it would go; *found says which. */
static size_t find(const struct memstore *m, const char *name, int *found)
{
    size_t lo = 0, hi = m->n_objs;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(m->objs[mid].name, name) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = lo < m->n_objs && strcmp(m->objs[lo].name, name) == 0;
    return lo;
}

static int ms_put(struct objstore *os, const char *name, const void *data, size_t len)
{
    struct memstore *m = (struct memstore *)os;
    int rc = 0, found;
    struct object o = {0};
    if ((rc = check_name(name)) < 0)
        goto done;
    o.name = strdup(name);
    o.data = malloc(len ? len : 1);
    o.len = len;
    if (!o.name || !o.data) {
        rc = err_nomem();
        goto done;
    }
    if (len)
        memcpy(o.data, data, len);
    pthread_mutex_lock(&m->mu);
    size_t i = find(m, name, &found);
    if (found) {
        rc = err_set(CIRRUS_EEXISTS, "memstore: put %s: object exists", name);
    } else if (m->n_objs == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct object *objs = realloc(m->objs, cap * sizeof(*objs));
        if (!objs) {
            rc = err_nomem();
        } else {
            m->objs = objs;
            m->cap = cap;
        }
    }
    if (rc == 0) {
        memmove(m->objs + i + 1, m->objs + i, (m->n_objs - i) * sizeof(*m->objs));
        m->objs[i] = o;
        m->n_objs++;
        memset(&o, 0, sizeof(o));
    }
    pthread_mutex_unlock(&m->mu);
done:
    free(o.name);
    free(o.data);
    return rc;
}

static int ms_get(struct objstore *os, const char *name, uint64_t off, size_t len, void *dst,
                  size_t *got_out)
{
    struct memstore *m = (struct memstore *)os;
    int rc = 0, found;
    pthread_mutex_lock(&m->mu);
    m->n_gets++;
    size_t i = find(m, name, &found);
    if (!found) {
        rc = err_set(CIRRUS_ENOTFOUND, "memstore: get %s: not found", name);
    } else {
        const struct object *o = &m->objs[i];
        size_t n = 0;
        if (off < o->len)
            n = o->len - (size_t)off < len ? o->len - (size_t)off : len;
        if (n)
            memcpy(dst, o->data + off, n);
        *got_out = n;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int ms_get_all(struct objstore *os, const char *name, uint8_t **data_out, size_t *len_out)
{
    struct memstore *m = (struct memstore *)os;
    int rc = 0, found;
    uint8_t *copy = NULL;
    pthread_mutex_lock(&m->mu);
    size_t i = find(m, name, &found);
    if (!found) {
        rc = err_set(CIRRUS_ENOTFOUND, "memstore: get %s: not found", name);
    } else if (!(copy = malloc(m->objs[i].len ? m->objs[i].len : 1))) {
        rc = err_nomem();
    } else {
        if (m->objs[i].len)
            memcpy(copy, m->objs[i].data, m->objs[i].len);
        *data_out = copy;
        *len_out = m->objs[i].len;
    }
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int ms_head(struct objstore *os, const char *name, uint64_t *size_out)
{
    struct memstore *m = (struct memstore *)os;
    int rc = 0, found;
    pthread_mutex_lock(&m->mu);
    size_t i = find(m, name, &found);
    if (!found)
        rc = err_set(CIRRUS_ENOTFOUND, "memstore: head %s: not found", name);
    else
        *size_out = m->objs[i].len;
    pthread_mutex_unlock(&m->mu);
    return rc;
}

static int ms_del(struct objstore *os, const char *name)
{
    struct memstore *m = (struct memstore *)os;
    int found;
    struct object o = {0};
    pthread_mutex_lock(&m->mu);
    size_t i = find(m, name, &found);
    if (found) {
        o = m->objs[i];
        memmove(m->objs + i, m->objs + i + 1, (m->n_objs - i - 1) * sizeof(*m->objs));
        m->n_objs--;
    }
    pthread_mutex_unlock(&m->mu);
    free(o.name);
    free(o.data);
    return 0;
}

/* Names and sizes are copied under the lock and reported outside it, so
 * that the callback may call back into the store. */
static int ms_list(struct objstore *os, const char *prefix,
                   int (*fn)(const struct objstore_entry *e, void *arg), void *arg)
{
    struct memstore *m = (struct memstore *)os;
    int rc = 0, found;
    size_t n = 0, plen = strlen(prefix);
    struct objstore_entry *ents = NULL;
    pthread_mutex_lock(&m->mu);
    size_t start = find(m, prefix, &found);
    size_t end = start;
    while (end < m->n_objs && strncmp(m->objs[end].name, prefix, plen) == 0)
        end++;
    if (end > start && !(ents = calloc(end - start, sizeof(*ents))))
        rc = err_nomem();
    for (size_t i = start; rc == 0 && i < end; i++, n++) {
        ents[n].size = m->objs[i].len;
        if (!(ents[n].name = strdup(m->objs[i].name)))
            rc = err_nomem();
    }
    pthread_mutex_unlock(&m->mu);
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = fn(&ents[i], arg);
    for (size_t i = 0; i < n; i++)
        free((char *)ents[i].name);
    free(ents);
    return rc;
}

static void ms_close(struct objstore *os)
{
    struct memstore *m = (struct memstore *)os;
    if (!m)
        return;
    for (size_t i = 0; i < m->n_objs; i++) {
        free(m->objs[i].name);
        free(m->objs[i].data);
    }
    free(m->objs);
    free(m->base.url);
    pthread_mutex_destroy(&m->mu);
    free(m);
}

static const struct objstore_ops memstore_ops = {
    .kind = "mem",
    .put = ms_put,
    .get = ms_get,
    .get_all = ms_get_all,
    .head = ms_head,
    .del = ms_del,
    .list = ms_list,
    .close = ms_close,
};

int memstore_open(struct objstore **out)
{
    int rc = 0;
    struct memstore *m = calloc(1, sizeof(*m));
    if (!m || !(m->base.url = strdup("mem://"))) {
        rc = err_nomem();
        free(m);
        goto done;
    }
    m->base.ops = &memstore_ops;
    pthread_mutex_init(&m->mu, NULL);
    *out = &m->base;
done:
    return rc;
}

uint64_t memstore_get_count(struct objstore *os)
{
    struct memstore *m = (struct memstore *)os;
    pthread_mutex_lock(&m->mu);
    uint64_t n = m->n_gets;
    pthread_mutex_unlock(&m->mu);
    return n;
}
