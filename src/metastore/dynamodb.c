/*
 * dynamodb.c - the DynamoDB metadata store backend (contract in
 * metastore.h). Opened by metastore_open() for dynamodb://TABLE; endpoint,
 * credentials and region come from the AWS_* environment (aws.h).
 *
 * One table holds every item:
 *
 *   attribute  type  meaning
 *   pk         S     partition key (hash key)
 *   sk         S     sort key (range key); DynamoDB orders S by UTF-8
 *                    bytes, which is the interface's byte order
 *   v          B     the value; absent when the value is empty (not every
 *                    implementation accepts an empty binary)
 *   ver        N     the version: 1 on create, +1 on every put_if_version
 *
 * Operation map (every read strongly consistent; no transactions):
 *   get                GetItem, ConsistentRead
 *   put_if_absent      PutItem, attribute_not_exists(pk)
 *   put_if_version     PutItem with ver = expected + 1, #ver = :expected
 *   delete_if_version  DeleteItem, #ver = :expected
 *   query              Query, ConsistentRead, key condition on pk and at
 *                      most one of sk >= / < / BETWEEN; BETWEEN includes its
 *                      upper end, so an item equal to `to` is dropped here;
 *                      pages followed through LastEvaluatedKey.
 * ConditionalCheckFailedException is CIRRUS_ECONFLICT; when an earlier
 * attempt of the same write may have applied (a timeout, a 5xx), the aws
 * layer reports CIRRUS_ETIMEOUT instead, and the caller reads back.
 *
 * Sizes: an item is at most 400 KB (409,600 bytes) counting attribute names
 * and values; max_value_len is 350,000 so keys (pk <= 2048, sk <= 1024
 * bytes) and names always fit. Larger entries go through the engine's delta
 * objects.
 *
 * The table is created on open when missing and `create` is set
 * (PAY_PER_REQUEST, hash pk + range sk) and awaited until ACTIVE.
 * Keys must be non-empty UTF-8 (they travel as JSON strings).
 *
 * Calls: aws, util, jansson.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/aws.h"
#include "aws/awsproto.h"
#include "metastore/metastore.h"
#include "util/status.h"
#include "util/sys.h"

#define DDB_MAX_VALUE 350000
#define DDB_MAX_PK 2048
#define DDB_MAX_SK 1024
#define TABLE_WAIT_MS 120000

struct ddb {
    struct metastore base; /* first: the interface casts */
    struct aws_client *aws;
    char *table;
};

static const struct metastore_ops ddb_ops;

static struct ddb *DDB(struct metastore *ms)
{
    return (struct ddb *)ms;
}

/*
 * Sends one DynamoDB call: req (borrowed) as the JSON body of operation op.
 * *resp_out (optional) gets the parsed answer (caller json_decref's). what
 * names the item for messages. Returns aws_perform's codes, or
 * CIRRUS_ECORRUPT for an answer that is not JSON.
 */
static int call(struct ddb *d, const char *op, json_t *req, int is_write, const char *what,
                json_t **resp_out, char *code, size_t code_cap)
{
    int rc = 0;
    char target[96], *body = NULL;
    struct aws_request r;
    json_error_t jerr;
    memset(&r, 0, sizeof(r));
    if (code)
        code[0] = '\0';
    if ((body = json_dumps(req, JSON_COMPACT)) == NULL) {
        rc = err_nomem();
        goto done;
    }
    snprintf(target, sizeof(target), "X-Amz-Target: DynamoDB_20120810.%s", op);
    r.op = op;
    r.target = what;
    r.method = "POST";
    r.path = "/";
    r.headers[0] = target;
    r.headers[1] = "Content-Type: application/x-amz-json-1.0";
    r.body = body;
    r.body_len = strlen(body);
    r.is_write = is_write;
    r.json_errors = 1;
    rc = aws_perform(d->aws, &r);
    if (code)
        snprintf(code, code_cap, "%s", r.code);
    if (rc < 0 || !resp_out)
        goto done;
    *resp_out = json_loadb((const char *)r.resp.data, r.resp.len, 0, &jerr);
    if (!*resp_out)
        rc =
            err_set(CIRRUS_ECORRUPT, "dynamodb %s %s: answer is not JSON: %s", op, what, jerr.text);
done:
    aws_request_clear(&r);
    free(body);
    return rc;
}

/* "TABLE pk/sk" for messages (keys cut: they may be long). */
static void item_name(struct ddb *d, const char *pk, const char *sk, char *out, size_t cap)
{
    snprintf(out, cap, "%s %.200s/%.200s", d->table, pk ? pk : "", sk ? sk : "");
}

static int check_item(struct ddb *d, const char *op, const char *pk, const char *sk, size_t len)
{
    int rc = 0;
    if (!pk || !pk[0] || !sk || !sk[0])
        rc = err_set(CIRRUS_EINVALID, "dynamodb %s %s: empty partition or sort key", d->table, op);
    else if (strlen(pk) > DDB_MAX_PK || strlen(sk) > DDB_MAX_SK)
        rc = err_set(CIRRUS_EINVALID, "dynamodb %s %s: key longer than %d/%d bytes", d->table, op,
                     DDB_MAX_PK, DDB_MAX_SK);
    else if (len > d->base.max_value_len)
        rc =
            err_set(CIRRUS_EINVALID, "dynamodb %s %s %.200s/%.200s: value of %zu bytes exceeds %zu",
                    d->table, op, pk, sk, len, d->base.max_value_len);
    return rc;
}

/* {"pk":{"S":pk},"sk":{"S":sk}} */
static json_t *key_json(const char *pk, const char *sk)
{
    return json_pack("{s:{s:s}, s:{s:s}}", "pk", "S", pk, "sk", "S", sk);
}

/* The full item with value and version. */
static json_t *item_json(const char *pk, const char *sk, const void *value, size_t len,
                         uint64_t version)
{
    char ver[24], *b64 = NULL;
    json_t *item = NULL;
    snprintf(ver, sizeof(ver), "%llu", (unsigned long long)version);
    item = json_pack("{s:{s:s}, s:{s:s}, s:{s:s}}", "pk", "S", pk, "sk", "S", sk, "ver", "N", ver);
    if (item && len > 0) {
        if (aws_base64_encode(value, len, &b64) < 0 ||
            json_object_set_new(item, "v", json_pack("{s:s}", "B", b64)) < 0) {
            json_decref(item);
            item = NULL;
        }
    }
    free(b64);
    return item;
}

/* Reads one item's value and version from its JSON (from GetItem or Query). */
static int parse_item(json_t *item, const char *what, uint8_t **value_out, size_t *len_out,
                      uint64_t *version_out)
{
    const char *ver = json_string_value(json_object_get(json_object_get(item, "ver"), "N"));
    const char *b64 = json_string_value(json_object_get(json_object_get(item, "v"), "B"));
    char *end;
    if (!ver)
        return err_set(CIRRUS_ECORRUPT, "dynamodb %s: item without a version", what);
    uint64_t v = strtoull(ver, &end, 10);
    if (*end || v == 0)
        return err_set(CIRRUS_ECORRUPT, "dynamodb %s: bad version \"%s\"", what, ver);
    *value_out = NULL;
    *len_out = 0;
    if (b64) {
        int rc = aws_base64_decode(b64, value_out, len_out);
        if (rc < 0)
            return err_prefix(rc, "dynamodb %s: value", what);
    }
    *version_out = v;
    return 0;
}

/* ---- operations ------------------------------------------------------------ */

static int ddb_get(struct metastore *ms, const char *pk, const char *sk, uint8_t **value_out,
                   size_t *len_out, uint64_t *version_out)
{
    struct ddb *d = DDB(ms);
    json_t *req = NULL, *resp = NULL;
    char what[512];
    int rc;
    uint8_t *value = NULL;
    size_t len = 0;
    uint64_t version = 0;
    item_name(d, pk, sk, what, sizeof(what));
    if ((rc = check_item(d, "get", pk, sk, 0)) < 0)
        goto done;
    req = json_pack("{s:s, s:o, s:b}", "TableName", d->table, "Key", key_json(pk, sk),
                    "ConsistentRead", 1);
    if (!req) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = call(d, "GetItem", req, 0, what, &resp, NULL, 0)) < 0)
        goto done;
    json_t *item = json_object_get(resp, "Item");
    if (!item) {
        rc = err_set(CIRRUS_ENOTFOUND, "dynamodb get %s: no such item", what);
        goto done;
    }
    if ((rc = parse_item(item, what, &value, &len, &version)) < 0)
        goto done;
    if (value_out) {
        *value_out = value;
        value = NULL;
    }
    if (len_out)
        *len_out = len;
    if (version_out)
        *version_out = version;
done:
    free(value);
    json_decref(req);
    json_decref(resp);
    return rc;
}

/* PutItem or DeleteItem under a condition; maps a failed condition to
 * CIRRUS_ECONFLICT with `conflict` as the reason. */
static int conditional_write(struct ddb *d, const char *op, json_t *req, const char *what,
                             const char *conflict)
{
    int rc = call(d, op, req, 1, what, NULL, NULL, 0);
    if (rc == CIRRUS_ECONFLICT)
        rc = err_set(rc, "dynamodb %s %s: %s", op, what, conflict);
    return rc;
}

static int ddb_put_if_absent(struct metastore *ms, const char *pk, const char *sk,
                             const void *value, size_t len)
{
    struct ddb *d = DDB(ms);
    json_t *req = NULL;
    char what[512];
    int rc;
    item_name(d, pk, sk, what, sizeof(what));
    if ((rc = check_item(d, "put_if_absent", pk, sk, len)) < 0)
        goto done;
    req = json_pack("{s:s, s:o, s:s}", "TableName", d->table, "Item",
                    item_json(pk, sk, value, len, 1), "ConditionExpression",
                    "attribute_not_exists(pk)");
    if (!req) {
        rc = err_nomem();
        goto done;
    }
    rc = conditional_write(d, "PutItem", req, what, "the item exists");
done:
    json_decref(req);
    return rc;
}

static int ddb_put_if_version(struct metastore *ms, const char *pk, const char *sk,
                              const void *value, size_t len, uint64_t expected)
{
    struct ddb *d = DDB(ms);
    json_t *req = NULL;
    char what[512], exp[24], why[64];
    int rc;
    item_name(d, pk, sk, what, sizeof(what));
    if ((rc = check_item(d, "put_if_version", pk, sk, len)) < 0)
        goto done;
    snprintf(exp, sizeof(exp), "%llu", (unsigned long long)expected);
    snprintf(why, sizeof(why), "the item is absent or not at version %s", exp);
    /* A whole-item put (not UpdateItem) replaces every attribute at once;
     * the condition fails on an absent item since ver is then missing. */
    req = json_pack("{s:s, s:o, s:s, s:{s:s}, s:{s:{s:s}}}", "TableName", d->table, "Item",
                    item_json(pk, sk, value, len, expected + 1), "ConditionExpression",
                    "#ver = :expected", "ExpressionAttributeNames", "#ver", "ver",
                    "ExpressionAttributeValues", ":expected", "N", exp);
    if (!req) {
        rc = err_nomem();
        goto done;
    }
    rc = conditional_write(d, "PutItem", req, what, why);
done:
    json_decref(req);
    return rc;
}

static int ddb_delete_if_version(struct metastore *ms, const char *pk, const char *sk,
                                 uint64_t expected)
{
    struct ddb *d = DDB(ms);
    json_t *req = NULL;
    char what[512], exp[24], why[64];
    int rc;
    item_name(d, pk, sk, what, sizeof(what));
    if ((rc = check_item(d, "delete_if_version", pk, sk, 0)) < 0)
        goto done;
    snprintf(exp, sizeof(exp), "%llu", (unsigned long long)expected);
    snprintf(why, sizeof(why), "the item is absent or not at version %s", exp);
    req = json_pack("{s:s, s:o, s:s, s:{s:s}, s:{s:{s:s}}}", "TableName", d->table, "Key",
                    key_json(pk, sk), "ConditionExpression", "#ver = :expected",
                    "ExpressionAttributeNames", "#ver", "ver", "ExpressionAttributeValues",
                    ":expected", "N", exp);
    if (!req) {
        rc = err_nomem();
        goto done;
    }
    rc = conditional_write(d, "DeleteItem", req, what, why);
done:
    json_decref(req);
    return rc;
}

/* Builds a Query request for one page. */
static json_t *query_request(struct ddb *d, const char *pk, const char *from, const char *to,
                             size_t page_limit, int reverse, json_t *start_key)
{
    const char *cond = "#pk = :pk";
    json_t *vals = json_pack("{s:{s:s}}", ":pk", "S", pk);
    json_t *names = json_pack("{s:s}", "#pk", "pk");
    json_t *req = NULL;
    int from_set = from && from[0], ok = vals && names;
    /* DynamoDB refuses an empty string as a key value: "" as the lower
     * bound simply means no lower bound. */
    if (ok && (from_set || to)) {
        ok = json_object_set_new(names, "#sk", json_string("sk")) == 0;
        if (from_set && to)
            cond = "#pk = :pk AND #sk BETWEEN :from AND :to";
        else if (from_set)
            cond = "#pk = :pk AND #sk >= :from";
        else
            cond = "#pk = :pk AND #sk < :to";
        if (ok && from_set)
            ok = json_object_set_new(vals, ":from", json_pack("{s:s}", "S", from)) == 0;
        if (ok && to)
            ok = json_object_set_new(vals, ":to", json_pack("{s:s}", "S", to)) == 0;
    }
    if (ok)
        req = json_pack("{s:s, s:s, s:O, s:O, s:b, s:b}", "TableName", d->table,
                        "KeyConditionExpression", cond, "ExpressionAttributeNames", names,
                        "ExpressionAttributeValues", vals, "ConsistentRead", 1, "ScanIndexForward",
                        !reverse);
    if (req && page_limit &&
        json_object_set_new(req, "Limit", json_integer((json_int_t)page_limit)) < 0) {
        json_decref(req);
        req = NULL;
    }
    if (req && start_key && json_object_set(req, "ExclusiveStartKey", start_key) < 0) {
        json_decref(req);
        req = NULL;
    }
    json_decref(vals);
    json_decref(names);
    return req;
}

/* Appends the items of one Query page to *items (skipping sk == to). */
static int take_page(json_t *resp, const char *to, const char *what, struct meta_item **items,
                     size_t *n, size_t *cap, size_t limit)
{
    json_t *list = json_object_get(resp, "Items"), *it;
    size_t i;
    int rc = 0;
    json_array_foreach(list, i, it)
    {
        if (limit && *n >= limit)
            break;
        const char *sk = json_string_value(json_object_get(json_object_get(it, "sk"), "S"));
        if (!sk)
            return err_set(CIRRUS_ECORRUPT, "dynamodb query %s: item without a sort key", what);
        if (to && strcmp(sk, to) >= 0)
            continue; /* BETWEEN includes its upper end; the interface does not */
        if (*n == *cap) {
            size_t c = *cap ? 2 * *cap : 16;
            struct meta_item *m = realloc(*items, c * sizeof(*m));
            if (!m)
                return err_nomem();
            *items = m;
            *cap = c;
        }
        struct meta_item *m = &(*items)[*n];
        memset(m, 0, sizeof(*m));
        if ((m->sk = strdup(sk)) == NULL)
            return err_nomem();
        (*n)++;
        if ((rc = parse_item(it, what, &m->value, &m->value_len, &m->version)) < 0)
            return rc;
    }
    return rc;
}

static int ddb_query(struct metastore *ms, const char *pk, const char *from, const char *to,
                     size_t limit, int reverse, struct meta_item **items_out, size_t *n_out)
{
    struct ddb *d = DDB(ms);
    json_t *req = NULL, *resp = NULL, *start = NULL;
    struct meta_item *items = NULL;
    size_t n = 0, cap = 0;
    char what[512];
    int rc = 0;
    item_name(d, pk, from, what, sizeof(what));
    if (!pk || !pk[0]) {
        rc = err_set(CIRRUS_EINVALID, "dynamodb %s query: empty partition key", d->table);
        goto done;
    }
    if (!from)
        from = "";
    /* an empty range: DynamoDB would refuse BETWEEN with from > to */
    if (to && strcmp(from, to) >= 0)
        goto done;
    for (;;) {
        /* one extra item in case the page holds sk == to, which is dropped */
        size_t page = limit ? limit - n + (to && from[0] ? 1 : 0) : 0;
        json_decref(req);
        if ((req = query_request(d, pk, from, to, page, reverse, start)) == NULL) {
            rc = err_nomem();
            goto done;
        }
        json_decref(resp);
        resp = NULL;
        if ((rc = call(d, "Query", req, 0, what, &resp, NULL, 0)) < 0)
            goto done;
        if ((rc = take_page(resp, to, what, &items, &n, &cap, limit)) < 0)
            goto done;
        json_decref(start);
        start = json_incref(json_object_get(resp, "LastEvaluatedKey"));
        if (!start || (limit && n >= limit))
            break;
    }
done:
    json_decref(req);
    json_decref(resp);
    json_decref(start);
    if (rc < 0) {
        meta_items_free(items, n);
    } else {
        *items_out = items;
        *n_out = n;
    }
    return rc;
}

/* ---- open / close ------------------------------------------------------------ */

static void ddb_close(struct metastore *ms)
{
    struct ddb *d = DDB(ms);
    if (!d)
        return;
    aws_client_free(d->aws);
    free(d->table);
    free(d->base.url);
    free(d);
}

/* DescribeTable: 0 with *status_out ("ACTIVE", "CREATING", ...) copied, or
 * CIRRUS_ENOTFOUND when the table does not exist. */
static int describe(struct ddb *d, char *status_out, size_t cap)
{
    json_t *req = json_pack("{s:s}", "TableName", d->table), *resp = NULL;
    int rc;
    if (!req)
        return err_nomem();
    rc = call(d, "DescribeTable", req, 0, d->table, &resp, NULL, 0);
    if (rc == 0) {
        const char *st =
            json_string_value(json_object_get(json_object_get(resp, "Table"), "TableStatus"));
        snprintf(status_out, cap, "%s", st ? st : "UNKNOWN");
    }
    json_decref(req);
    json_decref(resp);
    return rc;
}

static int create_table(struct ddb *d)
{
    char code[96];
    json_t *req = json_pack("{s:s, s:[{s:s, s:s}, {s:s, s:s}], s:[{s:s, s:s}, {s:s, s:s}], s:s}",
                            "TableName", d->table, "AttributeDefinitions", "AttributeName", "pk",
                            "AttributeType", "S", "AttributeName", "sk", "AttributeType", "S",
                            "KeySchema", "AttributeName", "pk", "KeyType", "HASH", "AttributeName",
                            "sk", "KeyType", "RANGE", "BillingMode", "PAY_PER_REQUEST");
    int rc;
    if (!req)
        return err_nomem();
    rc = call(d, "CreateTable", req, 1, d->table, NULL, code, sizeof(code));
    /* another process created it first: fine, wait for it like ours */
    if (rc < 0 && strcmp(code, "ResourceInUseException") == 0)
        rc = 0;
    json_decref(req);
    return rc;
}

/* Makes sure the table exists and is ACTIVE (creating it if allowed). */
static int ensure_table(struct ddb *d, int create)
{
    char status[32];
    int rc = describe(d, status, sizeof(status));
    uint64_t start = mono_ns();
    uint32_t nap = 50;
    if (rc == CIRRUS_ENOTFOUND) {
        if (!create) {
            rc = err_set(CIRRUS_ENOTFOUND, "dynamodb table '%s' does not exist at %s", d->table,
                         aws_client_base(d->aws));
            goto done;
        }
        if ((rc = create_table(d)) < 0 || (rc = describe(d, status, sizeof(status))) < 0)
            goto done;
    }
    if (rc < 0)
        goto done; /* the message names the table, the endpoint and the cause */
    /* "UPDATING" tables serve reads and writes; only CREATING must be awaited */
    while (strcmp(status, "CREATING") == 0) {
        if (mono_ns() - start > (uint64_t)TABLE_WAIT_MS * 1000000) {
            rc = err_set(CIRRUS_ETIMEOUT, "dynamodb table '%s' still CREATING after %d s", d->table,
                         TABLE_WAIT_MS / 1000);
            goto done;
        }
        sleep_ms(nap);
        nap = nap < 1000 ? nap * 2 : 1000;
        if ((rc = describe(d, status, sizeof(status))) < 0)
            goto done;
    }
    if (strcmp(status, "ACTIVE") != 0 && strcmp(status, "UPDATING") != 0)
        rc = err_set(CIRRUS_EIO, "dynamodb table '%s' is %s", d->table, status);
done:
    return rc;
}

static int check_table_name(const char *name, const char *url)
{
    size_t n = strlen(name);
    if (n < 3 || n > 255)
        return err_set(CIRRUS_EINVALID, "%s: a table name has 3 to 255 characters", url);
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '_' || *c == '-' || *c == '.'))
            return err_set(CIRRUS_EINVALID, "%s: bad character '%c' in the table name", url, *c);
    return 0;
}

/* Opens dynamodb://TABLE (table: what follows the scheme). Returns 0,
 * CIRRUS_EINVALID, CIRRUS_ENOTFOUND (no table and !create), CIRRUS_EAUTH,
 * CIRRUS_EIO, CIRRUS_ETIMEOUT, CIRRUS_ENOMEM. Declared in metastore.c. */
int dynamodb_metastore_open(struct metastore **out, const char *table, const char *url, int create);

int dynamodb_metastore_open(struct metastore **out, const char *table, const char *url, int create)
{
    int rc = 0;
    struct ddb *d = NULL;
    struct aws_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    if ((rc = check_table_name(table, url)) < 0)
        goto done;
    if ((d = calloc(1, sizeof(*d))) == NULL || (d->base.url = strdup(url)) == NULL ||
        (d->table = strdup(table)) == NULL) {
        rc = err_nomem();
        goto done;
    }
    d->base.ops = &ddb_ops;
    d->base.max_value_len = DDB_MAX_VALUE;
    if ((rc = aws_config_from_env(&cfg, "dynamodb")) < 0 ||
        (rc = aws_client_new(&d->aws, &cfg)) < 0 || (rc = ensure_table(d, create)) < 0)
        goto done;
    *out = &d->base;
    d = NULL;
done:
    aws_config_clear(&cfg);
    if (d)
        ddb_close(&d->base);
    return rc;
}

static const struct metastore_ops ddb_ops = {
    .kind = "dynamodb",
    .get = ddb_get,
    .put_if_absent = ddb_put_if_absent,
    .put_if_version = ddb_put_if_version,
    .delete_if_version = ddb_delete_if_version,
    .query = ddb_query,
    .close = ddb_close,
};
