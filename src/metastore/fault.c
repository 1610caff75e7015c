/*
 * fault.c - the fault-injecting metadata store (see fault.h).
 *
 * Each call asks the injector for its fate first (util/fault.h): pass it
 * through, fail it without touching the inner store, or time it out, either
 * before the inner store saw it or after it applied a write, which is
 * exactly the ambiguity rule 6 of metastore.h warns callers about.
 */
#include "metastore/fault.h"

#include <stdio.h>
#include <stdlib.h>

#include "metastore/metastore.h"
#include "util/fault_spec.h"
#include "util/status.h"

struct fault_ms {
    struct metastore base; /* first: the interface casts */
    struct metastore *inner;
    struct fault_injector fi;
};

static const struct metastore_ops fault_ops;

static struct fault_ms *F(struct metastore *ms)
{
    return (struct fault_ms *)ms;
}

/* "pk/sk" for messages. */
static void item_name(char *out, size_t cap, const char *pk, const char *sk)
{
    snprintf(out, cap, "%.200s/%.200s", pk ? pk : "", sk ? sk : "");
}

static int f_get(struct metastore *ms, const char *pk, const char *sk, uint8_t **value_out,
                 size_t *len_out, uint64_t *version_out)
{
    struct fault_ms *f = F(ms);
    char what[420];
    int rc;
    item_name(what, sizeof(what), pk, sk);
    enum fault_action act = fault_begin(&f->fi, FAULT_MGET, 0, "metastore", what, &rc);
    if (act == FAULT_PASS || act == FAULT_CRASH_AFTER) {
        rc = metastore_get(f->inner, pk, sk, value_out, len_out, version_out);
        if (rc == 0 && len_out)
            fault_count_bytes(&f->fi, FAULT_MGET, 0, *len_out);
        fault_after(&f->fi, act, "metastore", FAULT_MGET, what);
    }
    return rc;
}

/* The write path shared by every conditional write: `apply` runs the inner
 * call. An applied-then-timed-out write reports the timeout, not its own
 * outcome, as a lost answer would. */
struct write_call {
    enum fault_op op;
    const char *pk, *sk;
    const void *value;
    size_t len;
    uint64_t expected;
    int kind; /* 0 put_if_absent, 1 put_if_version, 2 delete_if_version */
};

static int apply(struct fault_ms *f, const struct write_call *w)
{
    switch (w->kind) {
    case 0:
        return metastore_put_if_absent(f->inner, w->pk, w->sk, w->value, w->len);
    case 1:
        return metastore_put_if_version(f->inner, w->pk, w->sk, w->value, w->len, w->expected);
    default:
        return metastore_delete_if_version(f->inner, w->pk, w->sk, w->expected);
    }
}

static int write_through(struct fault_ms *f, const struct write_call *w)
{
    char what[420], msg[600];
    int rc;
    item_name(what, sizeof(what), w->pk, w->sk);
    enum fault_action act = fault_begin(&f->fi, w->op, 1, "metastore", what, &rc);
    switch (act) {
    case FAULT_PASS:
    case FAULT_CRASH_AFTER:
        rc = apply(f, w);
        fault_count_bytes(&f->fi, w->op, w->len, 0);
        fault_after(&f->fi, act, "metastore", w->op, what);
        break;
    case FAULT_TIMEOUT_APPLY:
        snprintf(msg, sizeof(msg), "%s (the write was applied)", cirrus_errmsg());
        apply(f, w);
        fault_count_bytes(&f->fi, w->op, w->len, 0);
        rc = err_set(CIRRUS_ETIMEOUT, "%s", msg);
        break;
    default:
        break;
    }
    return rc;
}

static int f_put_if_absent(struct metastore *ms, const char *pk, const char *sk, const void *value,
                           size_t len)
{
    struct write_call w = {FAULT_MPUT, pk, sk, value, len, 0, 0};
    return write_through(F(ms), &w);
}

static int f_put_if_version(struct metastore *ms, const char *pk, const char *sk, const void *value,
                            size_t len, uint64_t expected)
{
    struct write_call w = {FAULT_MPUT, pk, sk, value, len, expected, 1};
    return write_through(F(ms), &w);
}

static int f_delete_if_version(struct metastore *ms, const char *pk, const char *sk,
                               uint64_t expected)
{
    struct write_call w = {FAULT_MDEL, pk, sk, NULL, 0, expected, 2};
    return write_through(F(ms), &w);
}

static int f_query(struct metastore *ms, const char *pk, const char *from, const char *to,
                   size_t limit, int reverse, struct meta_item **items_out, size_t *n_out)
{
    struct fault_ms *f = F(ms);
    char what[420];
    int rc;
    item_name(what, sizeof(what), pk, from);
    enum fault_action act = fault_begin(&f->fi, FAULT_MQUERY, 0, "metastore", what, &rc);
    if (act == FAULT_PASS || act == FAULT_CRASH_AFTER) {
        rc = metastore_query(f->inner, pk, from, to, limit, reverse, items_out, n_out);
        if (rc == 0) {
            uint64_t bytes = 0;
            for (size_t i = 0; i < *n_out; i++)
                bytes += (*items_out)[i].value_len;
            fault_count_bytes(&f->fi, FAULT_MQUERY, 0, bytes);
        }
        fault_after(&f->fi, act, "metastore", FAULT_MQUERY, what);
    }
    return rc;
}

static void f_close(struct metastore *ms)
{
    struct fault_ms *f = F(ms);
    if (!f)
        return;
    metastore_close(f->inner);
    fault_injector_destroy(&f->fi);
    free(f->base.url);
    free(f);
}

int fault_metastore_wrap(struct metastore **out, struct metastore *inner,
                         const struct fault_config *cfg)
{
    struct fault_ms *f = calloc(1, sizeof(*f));
    if (!f || (f->base.url = fault_spec_wrapped_url(inner->url, NULL)) == NULL) {
        free(f);
        metastore_close(inner);
        return err_nomem();
    }
    f->base.ops = &fault_ops;
    f->base.max_value_len = inner->max_value_len;
    f->inner = inner;
    fault_injector_init(&f->fi, cfg);
    *out = &f->base;
    return 0;
}

int fault_metastore_stats(struct metastore *ms, struct fault_stats *out)
{
    if (!ms || ms->ops != &fault_ops)
        return err_set(CIRRUS_EINVALID, "metastore %s: not a fault store", ms ? ms->url : "");
    fault_injector_stats(&F(ms)->fi, out);
    return 0;
}

int fault_metastore_configure(struct metastore *ms, const struct fault_config *cfg)
{
    if (!ms || ms->ops != &fault_ops)
        return err_set(CIRRUS_EINVALID, "metastore %s: not a fault store", ms ? ms->url : "");
    fault_injector_configure(&F(ms)->fi, cfg);
    return 0;
}

int fault_metastore_open_url(struct metastore **out, const char *url, int create)
{
    int rc;
    struct fault_config cfg;
    struct metastore *inner = NULL;
    char *inner_url = NULL;
    if ((rc = fault_spec_parse_url(url, &inner_url, &cfg)) < 0)
        goto done;
    if ((rc = metastore_open(&inner, inner_url, create)) < 0)
        goto done;
    rc = fault_metastore_wrap(out, inner, &cfg);
done:
    free(inner_url);
    return rc;
}

static const struct metastore_ops fault_ops = {
    .kind = "fault",
    .get = f_get,
    .put_if_absent = f_put_if_absent,
    .put_if_version = f_put_if_version,
    .delete_if_version = f_delete_if_version,
    .query = f_query,
    .close = f_close,
};
