#include "db/merge.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table/ikey.h"
#include "util/coding.h"
#include "util/status.h"

/* ---- the built-in operator: 64-bit counter add --------------------------- */

static int parse_i64(const void *p, size_t len, int64_t *out)
{
    char tmp[32], *end;
    if (len == 0 || len >= sizeof(tmp))
        return -1;
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    errno = 0;
    long long v = strtoll(tmp, &end, 10);
    if (errno || *end || end == tmp || tmp[0] == ' ' || tmp[0] == '+')
        return -1;
    *out = v;
    return 0;
}

static int format_i64(int64_t v, void **out, size_t *out_len)
{
    char *s = malloc(24);
    if (!s)
        return err_nomem();
    *out_len = (size_t)snprintf(s, 24, "%" PRId64, v);
    *out = s;
    return 0;
}

/* wrapping add: defined for every input */
static int64_t add_wrap(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static int counter_full(void *arg, const void *base, size_t base_len, const void *const *ops,
                        const size_t *op_lens, size_t n_ops, void **out, size_t *out_len)
{
    int64_t sum = 0, x;
    (void)arg;
    if (base && parse_i64(base, base_len, &sum) < 0)
        return err_set(CIRRUS_EINVALID, "value is not a 64-bit decimal counter");
    for (size_t i = 0; i < n_ops; i++) {
        if (parse_i64(ops[i], op_lens[i], &x) < 0)
            return err_set(CIRRUS_EINVALID, "operand is not a 64-bit decimal integer");
        sum = add_wrap(sum, x);
    }
    return format_i64(sum, out, out_len);
}

static int counter_partial(void *arg, const void *older, size_t older_len, const void *newer,
                           size_t newer_len, void **out, size_t *out_len)
{
    int64_t a, b;
    (void)arg;
    if (parse_i64(older, older_len, &a) < 0 || parse_i64(newer, newer_len, &b) < 0)
        return err_set(CIRRUS_EINVALID, "operand is not a 64-bit decimal integer");
    return format_i64(add_wrap(a, b), out, out_len);
}

static const cirrus_merge_operator counter_add = {"cirrus.counter_add", counter_full,
                                                  counter_partial, NULL};

const cirrus_merge_operator *cirrus_counter_add_operator(void)
{
    return &counter_add;
}

/* ---- the resolver ---------------------------------------------------------- */

void resolver_init(struct resolver *r, const cirrus_merge_operator *op, int64_t now)
{
    memset(r, 0, sizeof(*r));
    r->op = op ? op : &counter_add;
    r->now = now;
}

void resolver_reset(struct resolver *r)
{
    for (size_t i = 0; i < r->n_ops; i++)
        buf_reset(&r->ops[i]);
    r->n_ops = 0;
    r->based = 0;
    r->base_expired = 0;
    buf_reset(&r->base);
}

void resolver_free(struct resolver *r)
{
    for (size_t i = 0; i < r->cap_ops; i++)
        buf_free(&r->ops[i]);
    free(r->ops);
    buf_free(&r->base);
    memset(r, 0, sizeof(*r));
}

int resolver_any(const struct resolver *r)
{
    return r->based || r->n_ops > 0;
}

int resolver_add(struct resolver *r, int kind, const uint8_t *val, size_t len)
{
    int rc;
    if (r->based)
        return 1;
    if (kind == KIND_MERGE) {
        if (r->n_ops == r->cap_ops) {
            size_t cap = r->cap_ops ? 2 * r->cap_ops : 4;
            struct buf *ops = realloc(r->ops, cap * sizeof(*ops));
            if (!ops)
                return err_nomem();
            memset(ops + r->cap_ops, 0, (cap - r->cap_ops) * sizeof(*ops));
            r->ops = ops;
            r->cap_ops = cap;
        }
        buf_reset(&r->ops[r->n_ops]);
        if ((rc = buf_append(&r->ops[r->n_ops], val, len)) < 0)
            return rc;
        r->n_ops++;
        return 0;
    }
    r->based = 1;
    r->base_kind = kind == KIND_PUT_TTL ? KIND_PUT_TTL : kind == KIND_PUT ? KIND_PUT : KIND_DELETE;
    buf_reset(&r->base);
    if (r->base_kind == KIND_PUT_TTL) {
        if (len < 8)
            return err_set(CIRRUS_ECORRUPT, "expiring value shorter than its expiry");
        r->base_expiry = (int64_t)decode_fixed64(val);
        if (r->base_expiry <= r->now) {
            r->base_kind = KIND_DELETE; /* expired: reads as a delete */
            r->base_expired = 1;
            return 1;
        }
        val += 8;
        len -= 8;
    }
    if (r->base_kind != KIND_DELETE && (rc = buf_append(&r->base, val, len)) < 0)
        return rc;
    return 1;
}

static int key_error(int rc, const void *key, size_t key_len)
{
    return err_prefix(rc, "merging key %.*s", (int)(key_len > 64 ? 64 : key_len),
                      (const char *)key);
}

int resolver_result(struct resolver *r, int final, const void *key, size_t key_len, int *kind_out,
                    struct buf *val_out, int64_t *expiry_out)
{
    void *out = NULL;
    size_t out_len = 0;
    int rc = 0;
    buf_reset(val_out);
    *expiry_out = 0;
    if (r->based && r->base_expired) {
        *kind_out = KIND_DELETE; /* operands on it expired with it */
        return 0;
    }
    if (r->n_ops == 0) {
        *kind_out = r->based ? r->base_kind : KIND_DELETE;
        if (*kind_out == KIND_PUT_TTL)
            *expiry_out = r->base_expiry;
        return *kind_out == KIND_DELETE ? 0 : buf_append(val_out, r->base.data, r->base.len);
    }
    if (!r->based && !final) {
        /* combine into one operand, oldest first */
        if ((rc = buf_append(val_out, r->ops[r->n_ops - 1].data, r->ops[r->n_ops - 1].len)) < 0)
            return rc;
        for (size_t i = r->n_ops - 1; i-- > 0;) {
            if ((rc = r->op->partial_merge(r->op->arg, val_out->data, val_out->len, r->ops[i].data,
                                           r->ops[i].len, &out, &out_len)) < 0)
                return key_error(rc, key, key_len);
            buf_reset(val_out);
            rc = buf_append(val_out, out, out_len);
            free(out);
            if (rc < 0)
                return rc;
        }
        *kind_out = KIND_MERGE;
        return 0;
    }
    const void **ops = malloc(r->n_ops * sizeof(*ops));
    size_t *lens = malloc(r->n_ops * sizeof(*lens));
    if (!ops || !lens) {
        rc = err_nomem();
        goto done;
    }
    for (size_t i = 0; i < r->n_ops; i++) {
        ops[i] = r->ops[r->n_ops - 1 - i].data ? (const void *)r->ops[r->n_ops - 1 - i].data
                                               : (const void *)"";
        lens[i] = r->ops[r->n_ops - 1 - i].len;
    }
    int has_base = r->based && r->base_kind != KIND_DELETE;
    if ((rc = r->op->full_merge(
             r->op->arg, has_base ? (r->base.data ? r->base.data : (uint8_t *)"") : NULL,
             has_base ? r->base.len : 0, ops, lens, r->n_ops, &out, &out_len)) < 0) {
        rc = key_error(rc, key, key_len);
        goto done;
    }
    rc = buf_append(val_out, out, out_len);
    /* a merge onto an expiring value keeps its expiry */
    *kind_out = has_base && r->base_kind == KIND_PUT_TTL ? KIND_PUT_TTL : KIND_PUT;
    if (*kind_out == KIND_PUT_TTL)
        *expiry_out = r->base_expiry;
done:
    free(out);
    free(ops);
    free(lens);
    return rc;
}

int resolver_encode(int kind, const struct buf *val, int64_t expiry, struct buf *out)
{
    int rc;
    buf_reset(out);
    if (kind == KIND_PUT_TTL && (rc = buf_put_fixed64(out, (uint64_t)expiry)) < 0)
        return rc;
    return kind == KIND_DELETE ? 0 : buf_append(out, val->data, val->len);
}
