#include "aws/awsproto.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/status.h"
#include "util/sys.h"

static int unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.' || c == '_' || c == '~';
}

int aws_uri_encode(struct buf *b, const char *s, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p && rc == 0; p++) {
        if (unreserved(*p) || (keep_slash && *p == '/')) {
            rc = buf_put_u8(b, *p);
        } else {
            char esc[3] = {'%', hex[*p >> 4], hex[*p & 15]};
            rc = buf_append(b, esc, 3);
        }
    }
    return rc < 0 ? err_nomem() : 0;
}

int aws_query_add(struct aws_query *q, const char *key, const char *value)
{
    int rc = 0;
    char *k = strdup(key), *v = strdup(value ? value : "");
    if (!k || !v) {
        rc = err_nomem();
        goto done;
    }
    if (q->n_kv == q->cap_kv) {
        size_t cap = q->cap_kv ? 2 * q->cap_kv : 4;
        struct aws_query_kv *kv = realloc(q->kv, cap * sizeof(*kv));
        if (!kv) {
            rc = err_nomem();
            goto done;
        }
        q->kv = kv;
        q->cap_kv = cap;
    }
    q->kv[q->n_kv].key = k;
    q->kv[q->n_kv].value = v;
    q->n_kv++;
    k = v = NULL;
done:
    free(k);
    free(v);
    return rc;
}

/* One encoded pair, for sorting. */
struct enc_pair {
    char *key;
    char *value;
};

static int cmp_pair(const void *a, const void *b)
{
    const struct enc_pair *x = a, *y = b;
    int c = strcmp(x->key, y->key);
    return c ? c : strcmp(x->value, y->value);
}

static char *encode_dup(const char *s)
{
    struct buf b = {0};
    if (aws_uri_encode(&b, s, 0) < 0 || buf_put_u8(&b, 0) < 0) {
        buf_free(&b);
        return NULL;
    }
    return (char *)buf_take(&b, NULL);
}

int aws_query_build(const struct aws_query *q, char **out)
{
    int rc = 0;
    struct buf b = {0};
    struct enc_pair *pairs = calloc(q->n_kv ? q->n_kv : 1, sizeof(*pairs));
    if (!pairs) {
        rc = err_nomem();
        goto done;
    }
    for (size_t i = 0; i < q->n_kv; i++) {
        pairs[i].key = encode_dup(q->kv[i].key);
        pairs[i].value = encode_dup(q->kv[i].value);
        if (!pairs[i].key || !pairs[i].value) {
            rc = err_nomem();
            goto done;
        }
    }
    /* SigV4 sorts by the encoded names (byte order), which is also the order
     * the service recomputes; libcurl signs the string as we write it. */
    qsort(pairs, q->n_kv, sizeof(*pairs), cmp_pair);
    for (size_t i = 0; i < q->n_kv && rc == 0; i++) {
        if (i > 0)
            rc = buf_put_u8(&b, '&');
        if (rc == 0)
            rc = buf_append(&b, pairs[i].key, strlen(pairs[i].key));
        if (rc == 0)
            rc = buf_put_u8(&b, '=');
        if (rc == 0)
            rc = buf_append(&b, pairs[i].value, strlen(pairs[i].value));
    }
    if (rc == 0)
        rc = buf_put_u8(&b, 0);
    if (rc < 0) {
        rc = err_nomem();
        goto done;
    }
    *out = (char *)buf_take(&b, NULL);
done:
    if (pairs) {
        for (size_t i = 0; i < q->n_kv; i++) {
            free(pairs[i].key);
            free(pairs[i].value);
        }
        free(pairs);
    }
    buf_free(&b);
    return rc;
}

void aws_query_free(struct aws_query *q)
{
    for (size_t i = 0; i < q->n_kv; i++) {
        free(q->kv[i].key);
        free(q->kv[i].value);
    }
    free(q->kv);
    memset(q, 0, sizeof(*q));
}

/* Finds needle in [hay, hay+len) from *pos; returns its offset or -1. */
static long find(const char *hay, size_t len, size_t from, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = from; n <= len && i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return (long)i;
    return -1;
}

/* The character reference ("&#39;", "&#x27;") at p (n bytes on): its length
 * and code point in *cp_out, or 0 if there is none (or it names NUL, a
 * surrogate or no character), which leaves it as text. */
static size_t char_ref(const char *p, size_t n, uint32_t *cp_out)
{
    uint32_t cp = 0;
    size_t i = 2, digits = 0;
    if (n < 4 || p[0] != '&' || p[1] != '#')
        return 0;
    int hex = p[2] == 'x';
    for (i += (size_t)hex; i < n && p[i] != ';'; i++, digits++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'          ? c - '0'
                : hex && c >= 'a' && c <= 'f' ? c - 'a' + 10
                : hex && c >= 'A' && c <= 'F' ? c - 'A' + 10
                                              : -1;
        if (d < 0 || cp > 0x10ffff)
            return 0;
        cp = cp * (hex ? 16 : 10) + (uint32_t)d;
    }
    if (i >= n || digits == 0 || cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    *cp_out = cp;
    return i + 1;
}

/* Writes cp as UTF-8 into out (1 to 4 bytes); returns the length. */
static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Copies [p, p+n) into out (cap bytes), decoding the five XML entities and
 * character references (S3 writes control characters in keys as "&#13;",
 * s3rver an apostrophe as "&#x27;"). A reference is always longer than the
 * UTF-8 it stands for, so the text never grows. */
static void copy_xml_text(char *out, size_t cap, const char *p, size_t n)
{
    static const struct {
        const char *ent;
        char c;
    } ents[] = {{"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&apos;", '\''}};
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap;) {
        size_t k = 0, nents = sizeof(ents) / sizeof(ents[0]);
        for (; p[i] == '&' && k < nents; k++) {
            size_t el = strlen(ents[k].ent);
            if (i + el <= n && memcmp(p + i, ents[k].ent, el) == 0)
                break;
        }
        uint32_t cp;
        size_t ref, u;
        char utf8[4];
        if (p[i] == '&' && k < nents) {
            out[o++] = ents[k].c;
            i += strlen(ents[k].ent);
        } else if (p[i] == '&' && (ref = char_ref(p + i, n - i, &cp)) > 0) {
            if (o + (u = put_utf8(utf8, cp)) >= cap)
                break;
            memcpy(out + o, utf8, u);
            o += u;
            i += ref;
        } else {
            out[o++] = p[i++];
        }
    }
    if (cap > 0)
        out[o] = '\0';
}

int aws_xml_next(const char *doc, size_t len, size_t *pos, const char *tag, char **out)
{
    char open[80], close[80];
    snprintf(open, sizeof(open), "<%s>", tag);
    snprintf(close, sizeof(close), "</%s>", tag);
    long a = find(doc, len, *pos, open);
    if (a < 0)
        return CIRRUS_ENOTFOUND;
    size_t start = (size_t)a + strlen(open);
    long z = find(doc, len, start, close);
    if (z < 0)
        return CIRRUS_ENOTFOUND;
    size_t n = (size_t)z - start;
    char *s = malloc(n + 1);
    if (!s)
        return err_nomem();
    copy_xml_text(s, n + 1, doc + start, n);
    *out = s;
    *pos = (size_t)z + strlen(close);
    return 0;
}

/* The JSON string value of "key": in body (no nesting needed: error bodies
 * are flat), escapes other than \" and \\ kept as written. */
static void json_string_field(const char *body, size_t len, const char *key, char *out, size_t cap)
{
    char pat[64];
    snprintf(pat, sizeof(pat), "\"%s\"", key);
    out[0] = '\0';
    long at = find(body, len, 0, pat);
    if (at < 0)
        return;
    size_t i = (size_t)at + strlen(pat);
    while (i < len && (body[i] == ' ' || body[i] == ':' || body[i] == '\t' || body[i] == '\n'))
        i++;
    if (i >= len || body[i] != '"')
        return;
    size_t o = 0;
    for (i++; i < len && body[i] != '"' && o + 1 < cap; i++) {
        if (body[i] == '\\' && i + 1 < len)
            i++;
        out[o++] = body[i];
    }
    out[o] = '\0';
}

void aws_parse_error(const char *body, size_t len, int json, char *code, size_t code_cap, char *msg,
                     size_t msg_cap)
{
    code[0] = '\0';
    msg[0] = '\0';
    if (!body || len == 0)
        return;
    if (json) {
        /* "com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException":
         * read it whole, then keep what follows the '#' */
        char type[256];
        json_string_field(body, len, "__type", type, sizeof(type));
        const char *hash = strrchr(type, '#');
        snprintf(code, code_cap, "%s", hash ? hash + 1 : type);
        json_string_field(body, len, "message", msg, msg_cap);
        if (!msg[0])
            json_string_field(body, len, "Message", msg, msg_cap);
        return;
    }
    const char *tags[2] = {"Code", "Message"};
    char *outs[2] = {code, msg};
    size_t caps[2] = {code_cap, msg_cap};
    for (int t = 0; t < 2; t++) {
        char open[16], close[16];
        snprintf(open, sizeof(open), "<%s>", tags[t]);
        snprintf(close, sizeof(close), "</%s>", tags[t]);
        long a = find(body, len, 0, open);
        if (a < 0)
            continue;
        size_t start = (size_t)a + strlen(open);
        long z = find(body, len, start, close);
        if (z >= 0)
            copy_xml_text(outs[t], caps[t], body + start, (size_t)z - start);
    }
}

static int code_in(const char *code, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(code, *list) == 0)
            return 1;
    return 0;
}

struct aws_outcome aws_classify(enum aws_transport t, long status, const char *code, int is_write)
{
    static const char *const auth[] = {"SignatureDoesNotMatch",
                                       "InvalidAccessKeyId",
                                       "UnrecognizedClientException",
                                       "InvalidSignatureException",
                                       "MissingAuthenticationToken",
                                       "MissingAuthenticationTokenException",
                                       "IncompleteSignatureException",
                                       "InvalidClientTokenId",
                                       "ExpiredToken",
                                       "ExpiredTokenException",
                                       "InvalidToken",
                                       "AccessDenied",
                                       "AccessDeniedException",
                                       "RequestTimeTooSkewed",
                                       NULL};
    static const char *const throttled[] = {"SlowDown",
                                            "Throttling",
                                            "ThrottlingException",
                                            "ThrottledException",
                                            "ProvisionedThroughputExceededException",
                                            "RequestLimitExceeded",
                                            "TooManyRequestsException",
                                            "RequestThrottled",
                                            "RequestThrottledException",
                                            "LimitExceededException",
                                            "RequestTimeout",
                                            "RequestTimeoutException",
                                            NULL};
    static const char *const conflict[] = {"ConditionalCheckFailedException", "PreconditionFailed",
                                           NULL};
    static const char *const notfound[] = {"ResourceNotFoundException", "NoSuchKey", "NoSuchBucket",
                                           "NoSuchUpload", NULL};
    static const char *const invalid[] = {"ValidationException", "InvalidArgument",
                                          "InvalidRequest", "SerializationException", NULL};
    struct aws_outcome o = {AWS_DONE, CIRRUS_OK, 0};
    if (!code)
        code = "";
    switch (t) {
    case AWS_T_OK:
        break;
    case AWS_T_CONNECT:
        o = (struct aws_outcome){AWS_RETRY, CIRRUS_EIO, 0};
        return o;
    case AWS_T_TIMEOUT:
        o = (struct aws_outcome){AWS_RETRY, CIRRUS_ETIMEOUT, is_write};
        return o;
    case AWS_T_BROKEN:
        o = (struct aws_outcome){AWS_RETRY, CIRRUS_EIO, is_write};
        return o;
    default:
        o = (struct aws_outcome){AWS_DONE, CIRRUS_EIO, is_write};
        return o;
    }
    if (status >= 200 && status < 300)
        return o;
    if (code_in(code, auth) || status == 401 || status == 403)
        o.rc = CIRRUS_EAUTH;
    else if (code_in(code, throttled) || status == 429)
        o = (struct aws_outcome){AWS_RETRY, CIRRUS_EIO, 0};
    else if (status == 501)
        /* NotImplemented: the server lacks the operation (s3rver has no
         * UploadPartCopy); asking again cannot help, and nothing was applied */
        o.rc = CIRRUS_EIO;
    else if (status >= 500)
        /* A 5xx on a write is ambiguous: the service may have applied it
         * before failing (503 without a throttling code included). */
        o = (struct aws_outcome){AWS_RETRY, CIRRUS_EIO, is_write};
    else if (code_in(code, conflict) || status == 409 || status == 412)
        o.rc = CIRRUS_ECONFLICT;
    else if (code_in(code, notfound) || status == 404)
        o.rc = CIRRUS_ENOTFOUND;
    else if (code_in(code, invalid))
        o.rc = CIRRUS_EINVALID;
    else
        o.rc = CIRRUS_EIO;
    return o;
}

uint32_t aws_backoff_ms(unsigned attempt, uint32_t base_ms, uint32_t cap_ms, uint64_t rnd)
{
    uint64_t ceiling = base_ms;
    for (unsigned i = 0; i < attempt && ceiling < cap_ms; i++)
        ceiling *= 2;
    if (ceiling > cap_ms)
        ceiling = cap_ms;
    return (uint32_t)(rnd % (ceiling + 1));
}

void aws_sha256_hex(const void *data, size_t len, char out[65])
{
    uint8_t md[SHA256_DIGEST_LENGTH];
    SHA256(data ? data : (const void *)"", len, md);
    hex_encode(out, md, sizeof(md));
}

/* ---- SigV4 ---------------------------------------------------------------- */

/* One canonical header: lower-case name, normalised value (both malloc'd). */
struct canon_header {
    char *name;
    char *value;
};

static int canon_header_cmp(const void *a, const void *b)
{
    return strcmp(((const struct canon_header *)a)->name, ((const struct canon_header *)b)->name);
}

/* Fills h from name [name, name+n) and value: the name lower-cased, the
 * value without leading or trailing blanks and with inner runs of blanks
 * made one space. */
static int canon_header_set(struct canon_header *h, const char *name, size_t n, const char *value)
{
    size_t vlen = strlen(value), j = 0;
    if (!(h->name = malloc(n + 1)) || !(h->value = malloc(vlen + 1)))
        return err_nomem();
    for (size_t i = 0; i < n; i++)
        h->name[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
    h->name[n] = '\0';
    for (size_t i = 0; i < vlen; i++) {
        int blank = value[i] == ' ' || value[i] == '\t';
        if (blank && (j == 0 || h->value[j - 1] == ' '))
            continue;
        h->value[j++] = blank ? ' ' : value[i];
    }
    while (j > 0 && h->value[j - 1] == ' ')
        j--;
    h->value[j] = '\0';
    return 0;
}

static int buf_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

static void hmac_sha256(const void *key, size_t key_len, const char *msg, uint8_t out[32])
{
    unsigned int len = 32;
    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, strlen(msg), out, &len);
}

/* The canonical request of s over its sorted headers h[0..n), and the
 * signed header names ("host;x-amz-date") into names. */
static int canonical_request(const struct aws_sigv4 *s, const struct canon_header *h, size_t n,
                             struct buf *creq, struct buf *names)
{
    int rc = 0;
    rc |= buf_str(creq, s->method) | buf_put_u8(creq, '\n');
    rc |= buf_str(creq, s->path) | buf_put_u8(creq, '\n');
    rc |= buf_str(creq, s->query ? s->query : "") | buf_put_u8(creq, '\n');
    for (size_t i = 0; i < n; i++) {
        rc |= buf_str(creq, h[i].name) | buf_put_u8(creq, ':');
        rc |= buf_str(creq, h[i].value) | buf_put_u8(creq, '\n');
        rc |= (i ? buf_put_u8(names, ';') : 0) | buf_str(names, h[i].name);
    }
    rc |= buf_put_u8(names, 0);
    rc |= buf_put_u8(creq, '\n') | buf_str(creq, (const char *)names->data);
    rc |= buf_put_u8(creq, '\n') | buf_str(creq, s->payload_sha256) | buf_put_u8(creq, 0);
    return rc ? err_nomem() : 0;
}

int aws_sigv4_authorization(const struct aws_sigv4 *s, char **out)
{
    int rc = 0;
    size_t n = s->n_headers + 2;
    struct canon_header *h = calloc(n, sizeof(*h));
    struct buf creq = {0}, names = {0};
    char date[9], scope[256], creq_sha[65], sig[65], *sts = NULL, *key = NULL, *auth = NULL;
    uint8_t k[32], k2[32];
    if (!h) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = canon_header_set(&h[0], "host", 4, s->host)) < 0 ||
        (rc = canon_header_set(&h[1], "x-amz-date", 10, s->amz_date)) < 0)
        goto done;
    for (size_t i = 0; i < s->n_headers; i++) {
        const char *colon = strchr(s->headers[i], ':');
        if (!colon) {
            rc = err_set(CIRRUS_EINVALID, "sigv4: header line without ':': \"%.64s\"",
                         s->headers[i]);
            goto done;
        }
        if ((rc = canon_header_set(&h[i + 2], s->headers[i], (size_t)(colon - s->headers[i]),
                                   colon + 1)) < 0)
            goto done;
    }
    qsort(h, n, sizeof(*h), canon_header_cmp);
    if ((rc = canonical_request(s, h, n, &creq, &names)) < 0)
        goto done;
    aws_sha256_hex(creq.data, creq.len - 1, creq_sha);
    snprintf(date, sizeof(date), "%.8s", s->amz_date);
    snprintf(scope, sizeof(scope), "%s/%s/%s/aws4_request", date, s->region, s->service);
    size_t sts_len = strlen(s->amz_date) + strlen(scope) + 100;
    size_t key_len = strlen(s->secret_key) + 4;
    if (!(sts = malloc(sts_len)) || !(key = malloc(key_len + 1))) {
        rc = err_nomem();
        goto done;
    }
    snprintf(sts, sts_len, "AWS4-HMAC-SHA256\n%s\n%s\n%s", s->amz_date, scope, creq_sha);
    snprintf(key, key_len + 1, "AWS4%s", s->secret_key);
    /* the signing key: date, region, service, "aws4_request" in turn */
    hmac_sha256(key, key_len, date, k);
    hmac_sha256(k, 32, s->region, k2);
    hmac_sha256(k2, 32, s->service, k);
    hmac_sha256(k, 32, "aws4_request", k2);
    hmac_sha256(k2, 32, sts, k);
    hex_encode(sig, k, 32);
    size_t auth_len = strlen(s->access_key) + strlen(scope) + names.len + 64 + 100;
    if (!(auth = malloc(auth_len))) {
        rc = err_nomem();
        goto done;
    }
    snprintf(auth, auth_len, "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
             s->access_key, scope, (const char *)names.data, sig);
    *out = auth;
    auth = NULL;
done:
    if (key) {
        /* the secret must not stay in freed memory */
        memset(key, 0, key_len);
        free(key);
    }
    memset(k, 0, sizeof(k));
    memset(k2, 0, sizeof(k2));
    for (size_t i = 0; h && i < n; i++) {
        free(h[i].name);
        free(h[i].value);
    }
    free(h);
    buf_free(&creq);
    buf_free(&names);
    free(sts);
    free(auth);
    return rc;
}

int aws_base64_encode(const void *data, size_t len, char **out)
{
    if (len > ((size_t)1 << 30))
        return err_set(CIRRUS_EINVALID, "base64: %zu bytes is too large", len);
    char *s = malloc(4 * ((len + 2) / 3) + 1);
    if (!s)
        return err_nomem();
    EVP_EncodeBlock((unsigned char *)s, data, (int)len);
    *out = s;
    return 0;
}

int aws_base64_decode(const char *text, uint8_t **out, size_t *len_out)
{
    size_t n = strlen(text);
    if (n % 4 != 0 || n > ((size_t)1 << 30))
        return err_set(CIRRUS_ECORRUPT, "base64: bad length %zu", n);
    uint8_t *p = malloc(n / 4 * 3 + 1);
    if (!p)
        return err_nomem();
    int got = n ? EVP_DecodeBlock(p, (const unsigned char *)text, (int)n) : 0;
    if (got < 0) {
        free(p);
        return err_set(CIRRUS_ECORRUPT, "base64: bad input");
    }
    /* EVP_DecodeBlock counts the padding as data bytes */
    size_t len = (size_t)got;
    if (n >= 1 && text[n - 1] == '=')
        len--;
    if (n >= 2 && text[n - 2] == '=')
        len--;
    *out = p;
    *len_out = len;
    return 0;
}
