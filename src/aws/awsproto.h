/*
 * awsproto.h - the pure, I/O-free parts of talking to AWS services: URI
 * encoding, canonical query strings, error-body parsing, classification of
 * an outcome (retry or not, which CIRRUS_E* code), retry backoff, SigV4
 * signatures, SHA-256 and base64. Kept apart from the HTTP client so unit tests can pin each
 * rule down without a server.
 *
 * Calls: util, libcrypto.
 */
#ifndef CIRRUS_AWS_AWSPROTO_H
#define CIRRUS_AWS_AWSPROTO_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

/* Appends s percent-encoded the SigV4 way: A-Z a-z 0-9 - . _ ~ stay, every
 * other byte becomes %XX (upper-case hex); '/' stays when keep_slash (paths)
 * and is encoded otherwise (query values). Returns 0 or CIRRUS_ENOMEM. */
int aws_uri_encode(struct buf *b, const char *s, int keep_slash);

/* A query string under construction. Zeroed = empty. */
struct aws_query {
    struct aws_query_kv {
        char *key;   /* malloc'd, raw (not encoded) */
        char *value; /* malloc'd, raw; "" for a bare key */
    } * kv;
    size_t n_kv;
    size_t cap_kv;
};

/* Adds key=value (value NULL means empty). Both are copied. 0 or ENOMEM. */
int aws_query_add(struct aws_query *q, const char *key, const char *value);

/* Builds the canonical form libcurl signs as written: pairs sorted by
 * encoded key (then value), every key followed by '=', keys and values
 * percent-encoded. *out is malloc'd (caller frees); "" when empty. */
int aws_query_build(const struct aws_query *q, char **out);

void aws_query_free(struct aws_query *q);

/* Extracts the service's error code and message from an error body: S3's XML
 * (<Code>, <Message>) when json == 0, DynamoDB's JSON ("__type" after its
 * last '#', "message" or "Message") when json != 0. Missing parts come back
 * as "". Never fails; outputs are always NUL-terminated. */
void aws_parse_error(const char *body, size_t len, int json, char *code, size_t code_cap, char *msg,
                     size_t msg_cap);

/* The text between the first <tag> and its </tag> at or after *pos in
 * [doc, doc+len), XML entities decoded, into out (malloc'd, caller frees).
 * *pos moves past the closing tag. Returns 0, CIRRUS_ENOTFOUND when absent,
 * CIRRUS_ENOMEM. */
int aws_xml_next(const char *doc, size_t len, size_t *pos, const char *tag, char **out);

/* What to do with one attempt's outcome. */
enum aws_verdict {
    AWS_DONE = 0,  /* final: success or an error not worth repeating */
    AWS_RETRY = 1, /* transient: throttled, 5xx, connection trouble */
};

/* Outcome of one HTTP attempt, as classified. */
struct aws_outcome {
    enum aws_verdict verdict;
    int rc;            /* CIRRUS_OK or the CIRRUS_E* code if this is final */
    int maybe_applied; /* 1 if a write may have taken effect despite failing */
};

/* How the HTTP exchange itself went, before any status is looked at. */
enum aws_transport {
    AWS_T_OK = 0,  /* a response arrived; status and code decide */
    AWS_T_CONNECT, /* no connection (refused, DNS): nothing was sent */
    AWS_T_TIMEOUT, /* the attempt ran out of time, maybe after sending */
    AWS_T_BROKEN,  /* the connection broke while sending or receiving */
    AWS_T_FATAL,   /* will not get better by retrying (TLS verification, bad URL) */
};

/* Classifies an attempt. is_write: the request changes state, so a failure
 * after it may have reached the service leaves the outcome unknown. */
struct aws_outcome aws_classify(enum aws_transport t, long status, const char *code, int is_write);

/* Full-jitter exponential backoff: a uniform draw from
 * [0, min(cap_ms, base_ms * 2^attempt)] using rnd as the random source.
 * attempt counts from 0 (the delay before the second try). */
uint32_t aws_backoff_ms(unsigned attempt, uint32_t base_ms, uint32_t cap_ms, uint64_t rnd);

/* One request to sign with SigV4 in this layer rather than libcurl's
 * (aws.c says when). Everything is borrowed. */
struct aws_sigv4 {
    const char *method;           /* "PUT", ... */
    const char *host;             /* the Host header's value: "host[:port]" */
    const char *path;             /* URI-encoded as sent; S3 signs it as is */
    const char *query;            /* canonical (aws_query_build) or NULL */
    const char *const *headers;   /* "Name: value" lines to sign besides host */
    size_t n_headers;             /* and x-amz-date, which the signer adds */
    const char *payload_sha256;   /* hex, as sent in x-amz-content-sha256 */
    const char *amz_date;         /* "YYYYMMDDTHHMMSSZ" (UTC), as sent */
    const char *region, *service; /* "us-east-1", "s3" */
    const char *access_key, *secret_key;
};

/*
 * The value of the Authorization header for s ("AWS4-HMAC-SHA256
 * Credential=KEY/DATE/REGION/SERVICE/aws4_request, SignedHeaders=...,
 * Signature=..."). The canonical headers are host, x-amz-date and
 * s->headers, names lower-cased and sorted by name alone (libcurl 7.88
 * sorts whole "name:value" lines, which puts x-amz-copy-source-range before
 * x-amz-copy-source), values trimmed with inner runs of spaces made one.
 * *out is malloc'd (caller frees). Returns 0, CIRRUS_EINVALID (a header
 * line without ':'), CIRRUS_ENOMEM.
 */
int aws_sigv4_authorization(const struct aws_sigv4 *s, char **out);

/* Lower-case hex SHA-256 of len bytes into out (65 bytes). */
void aws_sha256_hex(const void *data, size_t len, char out[65]);

/* Standard base64 (with padding). encode: *out malloc'd NUL-terminated.
 * decode: *out malloc'd, returns CIRRUS_ECORRUPT on bad input. */
int aws_base64_encode(const void *data, size_t len, char **out);
int aws_base64_decode(const char *text, uint8_t **out, size_t *len_out);

#endif
