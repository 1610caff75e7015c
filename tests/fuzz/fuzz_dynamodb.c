/* cirrus-test-libs: metastore aws util */
/*
 * fuzz_dynamodb.c - what the DynamoDB backend reads from the service: the
 * JSON answers of GetItem, Query and DescribeTable (src/metastore/
 * dynamodb.c, compiled in here so its static parsers are reachable: the
 * fuzz build takes one source per target) and DynamoDB error bodies
 * (aws_parse_error, src/aws/awsproto.c).
 *
 * Input: one byte of choices, then the response body. Properties:
 *   - an answer is taken or refused with CIRRUS_ECORRUPT (never another
 *     code, never a crash), and a refused Query page frees what it took;
 *   - a Query page keeps only sort keys below `to` and at most `limit`
 *     items, each with a positive version and a value no longer than its
 *     base64 text allows;
 *   - error code and message come back NUL-terminated inside their caps;
 *   - round trip: an item built the way put writes it (item_json), sent
 *     through JSON text, parses back to the same value and version; base64
 *     encode then decode is the identity.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/metastore/dynamodb.c"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_rc(int rc)
{
    FUZZ_CHECK(rc == 0 || rc == CIRRUS_ECORRUPT || rc == CIRRUS_ENOMEM);
}

/* The value of item, if any, as its base64 text allows. */
static size_t b64_max(json_t *item)
{
    const char *b64 = json_string_value(json_object_get(json_object_get(item, "v"), "B"));
    return b64 ? strlen(b64) / 4 * 3 : 0;
}

static void check_query_page(json_t *resp, const char *to, size_t limit)
{
    struct meta_item *items = NULL;
    size_t n = 0, cap = 0;
    int rc = take_page(resp, to, "fuzz", &items, &n, &cap, limit);
    check_rc(rc);
    if (rc == 0) {
        FUZZ_CHECK(!limit || n <= limit);
        FUZZ_CHECK(n == 0 || json_array_size(json_object_get(resp, "Items")) >= n);
        for (size_t i = 0; i < n; i++) {
            FUZZ_CHECK(items[i].sk && items[i].version > 0);
            FUZZ_CHECK(!to || strcmp(items[i].sk, to) < 0);
            FUZZ_CHECK(items[i].value_len == 0 || items[i].value);
            volatile uint8_t sink = 0;
            for (size_t j = 0; j < items[i].value_len; j++)
                sink ^= items[i].value[j];
            (void)sink;
        }
    }
    meta_items_free(items, n);
}

static void check_get(json_t *resp)
{
    json_t *item = json_object_get(resp, "Item");
    uint8_t *value = NULL;
    size_t len = 0;
    uint64_t version = 0;
    if (!item)
        return;
    int rc = parse_item(item, "fuzz", &value, &len, &version);
    check_rc(rc);
    if (rc == 0) {
        FUZZ_CHECK(version > 0 && len <= b64_max(item));
        FUZZ_CHECK(len == 0 || value);
    }
    free(value);
}

static void check_error(const char *body, size_t len, int json, size_t cap)
{
    char code[96], msg[512];
    if (cap > sizeof(code))
        cap = sizeof(code);
    memset(code, 'x', sizeof(code));
    memset(msg, 'x', sizeof(msg));
    aws_parse_error(body, len, json, code, cap, msg, cap);
    FUZZ_CHECK(memchr(code, '\0', cap) && memchr(msg, '\0', cap));
    FUZZ_CHECK(cap == sizeof(code) || code[cap] == 'x');
    FUZZ_CHECK(msg[cap] == 'x');
}

/* item_json -> text -> parse_item gives back value and version. */
static void check_item_round_trip(const uint8_t *data, size_t size, uint64_t version)
{
    json_t *item = item_json("db", "log/00000000000000000001", data, size, version ? version : 1);
    json_error_t jerr;
    FUZZ_CHECK(item != NULL);
    char *text = json_dumps(item, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    json_t *back = json_loads(text, 0, &jerr);
    FUZZ_CHECK(back != NULL);
    uint8_t *value = NULL;
    size_t len = 0;
    uint64_t v = 0;
    FUZZ_CHECK(parse_item(back, "round trip", &value, &len, &v) == 0);
    FUZZ_CHECK(v == (version ? version : 1) && len == size &&
               (size == 0 || memcmp(value, data, size) == 0));
    free(value);
    free(text);
    json_decref(back);
    json_decref(item);
}

/* The input as base64 text: decodes within bounds or is refused. */
static void check_base64(const uint8_t *data, size_t size)
{
    char *text = fuzz_strndup(data, size);
    uint8_t *out = NULL;
    size_t len = 0;
    int rc = aws_base64_decode(text, &out, &len);
    check_rc(rc);
    if (rc == 0) {
        size_t n = strlen(text);
        FUZZ_CHECK(len <= n / 4 * 3);
        volatile uint8_t sink = 0;
        for (size_t i = 0; i < len; i++)
            sink ^= out[i];
        (void)sink;
        free(out);
    }
    free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    json_error_t jerr;
    if (size == 0)
        return 0;
    uint8_t choice = data[0];
    const char *body = (const char *)data + 1;
    size_t len = size - 1;
    static const char *const tos[4] = {NULL, "log/", "log/00000000000000000005", "\x7f"};
    json_t *resp = json_loadb(body, len, 0, &jerr);
    if (resp) {
        check_query_page(resp, tos[choice & 3], (choice >> 2) & 7);
        check_query_page(resp, NULL, 0);
        check_get(resp);
        const char *st =
            json_string_value(json_object_get(json_object_get(resp, "Table"), "TableStatus"));
        char status[64];
        snprintf(status, sizeof(status), "%s", st ? st : "UNKNOWN");
        json_decref(resp);
    }
    check_error(body, len, 1, 1 + (choice >> 5) * 13);
    check_error(body, len, 1, sizeof(((struct aws_request *)0)->code));
    check_base64(data + 1, len);
    check_item_round_trip(data + 1, len, choice);
    return 0;
}
