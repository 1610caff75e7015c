/*
 * fault.c - the fault-injecting object store (see fault.h).
 *
 * Each call asks the injector for its fate first (util/fault.h): pass it
 * through, fail it without touching the inner store, or time it out, either
 * before the inner store saw it or after it applied a write, or stop the
 * process before or after the inner call (a crash point). Counters record
 * every call, injected or not.
 */
#include "objstore/fault.h"

#include <stdio.h>
#include <stdlib.h>

#include "objstore/objstore.h"
#include "util/fault_spec.h"
#include "util/status.h"

struct fault_os {
    struct objstore base; /* first: the interface casts */
    struct objstore *inner;
    struct fault_injector fi;
};

static const struct objstore_ops fault_ops;

static struct fault_os *F(struct objstore *os)
{
    return (struct fault_os *)os;
}

/* One write of the inner store (put, delete, copy), as f_write runs it. */
struct f_write_op {
    enum fault_op op; /* FAULT_PUT (put, copy) or FAULT_DEL */
    const char *name; /* the object written */
    uint64_t bytes;   /* bytes the write sends (0 for a delete) */
    int (*apply)(struct objstore *inner, const struct f_write_op *w);
    const void *data;     /* put: the bytes */
    struct objstore *src; /* copy: the source store ... */
    const char *src_name; /* ... and object */
    uint64_t size;        /* copy: objstore_copy()'s size */
};

/* A write's fate: passed through (and counted, maybe crashing after it),
 * failed without reaching the inner store, or applied and then reported as
 * a timeout, as a lost answer would be. */
static int f_write(struct fault_os *f, const struct f_write_op *w)
{
    int rc;
    enum fault_action act = fault_begin(&f->fi, w->op, 1, "objstore", w->name, &rc);
    switch (act) {
    case FAULT_PASS:
    case FAULT_CRASH_AFTER:
        rc = w->apply(f->inner, w);
        if (w->bytes)
            fault_count_bytes(&f->fi, w->op, w->bytes, 0);
        fault_after(&f->fi, act, "objstore", w->op, w->name);
        break;
    case FAULT_TIMEOUT_APPLY: {
        char msg[512];
        snprintf(msg, sizeof(msg), "%s (the %s was applied)", cirrus_errmsg(),
                 w->op == FAULT_DEL ? "delete" : "write");
        /* applied, then the answer was lost: the caller hears the timeout */
        w->apply(f->inner, w);
        if (w->bytes)
            fault_count_bytes(&f->fi, w->op, w->bytes, 0);
        rc = err_set(CIRRUS_ETIMEOUT, "%s", msg);
        break;
    }
    default:
        break;
    }
    return rc;
}

static int apply_put(struct objstore *inner, const struct f_write_op *w)
{
    return objstore_put(inner, w->name, w->data, (size_t)w->bytes);
}

static int f_put(struct objstore *os, const char *name, const void *data, size_t len)
{
    struct f_write_op w = {
        .op = FAULT_PUT, .name = name, .bytes = len, .apply = apply_put, .data = data};
    return f_write(F(os), &w);
}

static int f_get(struct objstore *os, const char *name, uint64_t off, size_t len, void *dst,
                 size_t *got_out)
{
    struct fault_os *f = F(os);
    int rc;
    enum fault_action act = fault_begin(&f->fi, FAULT_GET, 0, "objstore", name, &rc);
    if (act == FAULT_PASS || act == FAULT_CRASH_AFTER) {
        rc = objstore_get(f->inner, name, off, len, dst, got_out);
        if (rc == 0)
            fault_count_bytes(&f->fi, FAULT_GET, 0, *got_out);
        fault_after(&f->fi, act, "objstore", FAULT_GET, name);
    }
    return rc;
}

static int f_get_all(struct objstore *os, const char *name, uint8_t **data_out, size_t *len_out)
{
    struct fault_os *f = F(os);
    int rc;
    enum fault_action act = fault_begin(&f->fi, FAULT_GET, 0, "objstore", name, &rc);
    if (act == FAULT_PASS || act == FAULT_CRASH_AFTER) {
        rc = objstore_get_all(f->inner, name, data_out, len_out);
        if (rc == 0)
            fault_count_bytes(&f->fi, FAULT_GET, 0, *len_out);
        fault_after(&f->fi, act, "objstore", FAULT_GET, name);
    }
    return rc;
}

static int f_head(struct objstore *os, const char *name, uint64_t *size_out)
{
    struct fault_os *f = F(os);
    int rc;
    enum fault_action act = fault_begin(&f->fi, FAULT_HEAD, 0, "objstore", name, &rc);
    if (act == FAULT_PASS || act == FAULT_CRASH_AFTER) {
        rc = objstore_head(f->inner, name, size_out);
        fault_after(&f->fi, act, "objstore", FAULT_HEAD, name);
    }
    return rc;
}

static int apply_del(struct objstore *inner, const struct f_write_op *w)
{
    return objstore_del(inner, w->name);
}

static int f_del(struct objstore *os, const char *name)
{
    struct f_write_op w = {.op = FAULT_DEL, .name = name, .apply = apply_del};
    return f_write(F(os), &w);
}

static int apply_copy(struct objstore *inner, const struct f_write_op *w)
{
    return objstore_copy(inner, w->name, w->src, w->src_name, w->size);
}

/* A copy into this store is a write of it (a put, to the injector): it
 * passes the put's fault points, then the inner store copies as it can:
 * server-side from a plain store its backend can copy from. A fault store
 * as the source is none the inner one can copy from, so the copy reads it,
 * through the source's own fault points. */
static int f_copy_from(struct objstore *os, const char *name, struct objstore *src,
                       const char *src_name, uint64_t size)
{
    struct f_write_op w = {.op = FAULT_PUT,
                           .name = name,
                           .bytes = size == OBJSTORE_SIZE_UNKNOWN ? 0 : size,
                           .apply = apply_copy,
                           .src = src,
                           .src_name = src_name,
                           .size = size};
    return f_write(F(os), &w);
}

static int f_list(struct objstore *os, const char *prefix,
                  int (*fn)(const struct objstore_entry *e, void *arg), void *arg)
{
    struct fault_os *f = F(os);
    int rc;
    enum fault_action act = fault_begin(&f->fi, FAULT_LIST, 0, "objstore", prefix, &rc);
    if (act == FAULT_PASS || act == FAULT_CRASH_AFTER) {
        rc = objstore_list(f->inner, prefix, fn, arg);
        fault_after(&f->fi, act, "objstore", FAULT_LIST, prefix);
    }
    return rc;
}

static void f_close(struct objstore *os)
{
    struct fault_os *f = F(os);
    if (!f)
        return;
    objstore_close(f->inner);
    fault_injector_destroy(&f->fi);
    free(f->base.url);
    free(f);
}

int fault_objstore_wrap(struct objstore **out, struct objstore *inner,
                        const struct fault_config *cfg)
{
    struct fault_os *f = calloc(1, sizeof(*f));
    if (!f || (f->base.url = fault_spec_wrapped_url(inner->url, NULL)) == NULL) {
        free(f);
        objstore_close(inner);
        return err_nomem();
    }
    f->base.ops = &fault_ops;
    f->inner = inner;
    fault_injector_init(&f->fi, cfg);
    *out = &f->base;
    return 0;
}

int fault_objstore_stats(struct objstore *os, struct fault_stats *out)
{
    if (!os || os->ops != &fault_ops)
        return err_set(CIRRUS_EINVALID, "objstore %s: not a fault store", os ? os->url : "");
    fault_injector_stats(&F(os)->fi, out);
    return 0;
}

int fault_objstore_configure(struct objstore *os, const struct fault_config *cfg)
{
    if (!os || os->ops != &fault_ops)
        return err_set(CIRRUS_EINVALID, "objstore %s: not a fault store", os ? os->url : "");
    fault_injector_configure(&F(os)->fi, cfg);
    return 0;
}

int fault_objstore_open_url(struct objstore **out, const char *url, int create)
{
    int rc;
    struct fault_config cfg;
    struct objstore *inner = NULL;
    char *inner_url = NULL;
    if ((rc = fault_spec_parse_url(url, &inner_url, &cfg)) < 0)
        goto done;
    if ((rc = objstore_open(&inner, inner_url, create)) < 0)
        goto done;
    rc = fault_objstore_wrap(out, inner, &cfg);
done:
    free(inner_url);
    return rc;
}

static const struct objstore_ops fault_ops = {
    .kind = "fault",
    .put = f_put,
    .get = f_get,
    .get_all = f_get_all,
    .head = f_head,
    .del = f_del,
    .list = f_list,
    .close = f_close,
    .copy_from = f_copy_from,
};
