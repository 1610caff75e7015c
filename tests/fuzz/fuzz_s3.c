/* cirrus-test-libs: objstore aws util */
/*
 * fuzz_s3.c - what the S3 backend reads from the service: ListObjectsV2
 * pages (list_page, src/objstore/s3.c, compiled in here so its static
 * parsers are reachable), the CreateMultipartUpload answer (UploadId), the
 * paging fields (IsTruncated, NextContinuationToken) and error bodies, also
 * inside a 200 CompleteMultipartUpload answer (aws_xml_next and
 * aws_parse_error, src/aws/awsproto.c).
 *
 * Input: one byte of choices, then the response body. Properties:
 *   - a page is taken or refused with CIRRUS_EIO (an entry without Key, or
 *     names out of byte order); every name reported lies under the prefix
 *     with the prefix cut, names stream in strictly increasing byte order,
 *     and in sorting mode come out sorted and unique;
 *   - aws_xml_next never reads outside the document, its text is never
 *     longer than the element's, and *pos only moves forwards;
 *   - error code and message come back NUL-terminated inside their caps;
 *   - round trip: any text without NUL, XML-escaped the way S3 writes keys
 *     (&amp; &lt; &gt; &quot; &apos;, and character references such as
 *     &#13; and &#x27;), comes back as itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../src/objstore/s3.c"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct seen {
    char *last;
    size_t n;
    int sorted_mode;
};

static int on_entry(const struct objstore_entry *e, void *arg)
{
    struct seen *s = arg;
    FUZZ_CHECK(e->name != NULL);
    /* byte order, each name once, in both modes */
    FUZZ_CHECK(!s->last || strcmp(s->last, e->name) < 0);
    free(s->last);
    s->last = strdup(e->name);
    FUZZ_CHECK(s->last != NULL);
    s->n++;
    return s->n > 1000 ? 1 : 0; /* a callback may stop the listing */
}

static void check_list(const char *doc, size_t len, const char *prefix, int sort)
{
    struct s3 s;
    struct seen seen = {NULL, 0, sort};
    memset(&s, 0, sizeof(s));
    s.prefix = (char *)prefix;
    s.sort_listings = sort;
    struct list_state ls = {&s, on_entry, &seen, NULL, NULL, 0, 0};
    int rc = list_page(&ls, doc, len);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == CIRRUS_EIO || rc == CIRRUS_ENOMEM);
    if (rc == 0 && sort)
        rc = flush_held(&ls);
    FUZZ_CHECK(rc == 0 || rc == 1 || rc == CIRRUS_EIO || rc == CIRRUS_ENOMEM);
    list_state_free(&ls);
    free(seen.last);
}

/* Every element `tag` of doc in turn: bounded, forward, no overread. */
static void check_xml_all(const char *doc, size_t len, const char *tag)
{
    size_t pos = 0, steps = 0;
    char *out = NULL;
    int rc;
    while ((rc = aws_xml_next(doc, len, &pos, tag, &out)) == 0) {
        size_t before = pos;
        FUZZ_CHECK(pos <= len && strlen(out) <= len);
        free(out);
        out = NULL;
        FUZZ_CHECK(++steps <= len);
        (void)before;
    }
    FUZZ_CHECK(rc == CIRRUS_ENOTFOUND || rc == CIRRUS_ENOMEM);
}

static void check_error(const char *body, size_t len, size_t cap)
{
    char code[96], msg[256];
    memset(code, 'x', sizeof(code));
    memset(msg, 'x', sizeof(msg));
    aws_parse_error(body, len, 0, code, cap, msg, cap);
    FUZZ_CHECK(memchr(code, '\0', cap) && memchr(msg, '\0', cap));
    FUZZ_CHECK(cap == sizeof(code) || code[cap] == 'x');
    FUZZ_CHECK(msg[cap] == 'x');
}

/* text (no NUL) escaped as S3 escapes keys, inside <Key>, parses back.
 * style 0: the five entities; 1: also character references for ASCII
 * control characters and quotes, decimal ("&#13;", as S3) or hex
 * ("&#x27;", as s3rver), with leading zeros now and then. */
static void check_escape_round_trip(const char *text, size_t len, int style)
{
    char *doc = fuzz_malloc(12 * len + 64), *out = NULL;
    size_t o = 0, pos = 0;
    o += (size_t)sprintf(doc, "<Contents><Key>");
    for (size_t i = 0; i < len; i++) {
        const char *rep = NULL;
        unsigned char u = (unsigned char)text[i];
        if (style && (u < 0x20 || u == 0x7f || u == '\'' || u == '"' || u == '&')) {
            static const char *const fmts[4] = {"&#%u;", "&#x%x;", "&#00%u;", "&#x%X;"};
            o += (size_t)sprintf(doc + o, fmts[(i + u) % 4], u);
            continue;
        }
        switch (text[i]) {
        case '&':
            rep = "&amp;";
            break;
        case '<':
            rep = "&lt;";
            break;
        case '>':
            rep = "&gt;";
            break;
        case '"':
            rep = "&quot;";
            break;
        case '\'':
            rep = "&apos;";
            break;
        default:
            doc[o++] = text[i];
        }
        if (rep) {
            memcpy(doc + o, rep, strlen(rep));
            o += strlen(rep);
        }
    }
    o += (size_t)sprintf(doc + o, "</Key></Contents>");
    FUZZ_CHECK(aws_xml_next(doc, o, &pos, "Key", &out) == 0);
    FUZZ_CHECK(strlen(out) == len && memcmp(out, text, len) == 0 && pos == o - 11);
    free(out);
    free(doc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const prefixes[4] = {"", "db/", "a/b/", "&"};
    if (size == 0)
        return 0;
    uint8_t choice = data[0];
    char *doc = fuzz_malloc(size - 1);
    size_t len = size - 1;
    memcpy(doc, data + 1, len);
    check_list(doc, len, prefixes[choice & 3], (choice >> 2) & 1);
    check_xml_all(doc, len, "UploadId");
    check_xml_all(doc, len, "IsTruncated");
    check_xml_all(doc, len, "NextContinuationToken");
    check_xml_all(doc, len, "Key");
    check_error(doc, len, 1 + (choice >> 3) % 96);
    check_error(doc, len, sizeof(((struct aws_request *)0)->code));
    /* LastModified as list_page reads it */
    char *t = fuzz_strndup(data + 1, len < 64 ? len : 64);
    (void)parse_iso8601_ms(t);
    free(t);
    free(doc);
    /* the round trip, on the bytes before any NUL */
    const uint8_t *nul = memchr(data + 1, 0, len);
    size_t text_len = nul ? (size_t)(nul - (data + 1)) : len;
    check_escape_round_trip((const char *)data + 1, text_len, 0);
    check_escape_round_trip((const char *)data + 1, text_len, 1);
    return 0;
}
