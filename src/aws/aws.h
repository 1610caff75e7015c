/*
 * aws.h - the HTTP client every AWS-speaking backend (s3, dynamodb) shares.
 *
 * One aws_client per store: it holds the resolved endpoint, the credentials
 * and region (from the AWS_* environment), a pool of libcurl easy handles
 * and a share handle, so connections, DNS answers and TLS sessions are
 * reused across requests and threads. Requests are signed by libcurl's
 * SigV4 (CURLOPT_AWS_SIGV4); this layer adds what libcurl 7.88 leaves out:
 * the x-amz-content-sha256 header (hex SHA-256 of the body) and, through
 * awsproto.h, the canonical query string that libcurl signs as written. A
 * request libcurl would sign wrongly (one header name a prefix of another,
 * as x-amz-copy-source and x-amz-copy-source-range: libcurl 7.88 sorts
 * "name:value" lines, not names) is signed by this layer instead
 * (aws_sigv4_authorization), with the same credentials.
 *
 * Retries: an attempt that fails transiently (connection refused or broken,
 * timeout, 5xx other than 501 Not Implemented, throttling: SlowDown, ThrottlingException,
 * ProvisionedThroughputExceededException, HTTP 429) is repeated after a
 * full-jitter exponential backoff, until the retry budget (max_retry_ms,
 * default 30 s, env CIRRUS_AWS_MAX_RETRY_MS) would be exceeded; a new
 * attempt is never started past it, so a call takes at most the budget plus
 * one attempt's timeout (request_timeout_ms, default 30 s, env
 * CIRRUS_AWS_TIMEOUT_MS; connecting: connect_timeout_ms, default 5 s).
 *
 * Ambiguity: a write (is_write) whose attempt timed out, broke mid-way or got
 * a 5xx may have been applied. Its final failure is then CIRRUS_ETIMEOUT
 * (the engine reads back), and r->ambiguous says so even when a later retry
 * got an answer: a conditional write that "fails its condition" after an
 * ambiguous attempt may have failed against its own earlier success.
 *
 * Errors name the service, the operation, the endpoint URL, the HTTP status,
 * the service's error code and message and the request id. Credentials are
 * never printed: they are not part of any URL or message.
 *
 * Credentials: the AWS chain of credentials.h (environment, web identity,
 * profile files and credential_process, container endpoint, IMDSv2), each
 * request signing with one consistent triple; temporary credentials are
 * refreshed in the background, and a request refused with ExpiredToken,
 * ExpiredTokenException, InvalidClientTokenId or TokenRefreshRequired
 * (HTTP 400/403) on a refreshable source triggers one refresh and one retry.
 * An auth error's message ends "credentials from SOURCE".
 *
 * TLS: verification always on; AWS_CA_BUNDLE (or the profile's ca_bundle)
 * is the CA file (CURLOPT_CAINFO) for services and credential endpoints;
 * libcurl's usual proxy variables (https_proxy, HTTPS_PROXY, http_proxy,
 * no_proxy, ...) apply, since no proxy option is set here.
 *
 * Env: AWS_REGION (or AWS_DEFAULT_REGION, the profile's region, IMDS's
 * placement/region when credentials came from IMDS; default us-east-1),
 * AWS_CA_BUNDLE, AWS_ENDPOINT_URL,
 * AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL_DYNAMODB (service-specific wins),
 * CIRRUS_AWS_MAX_RETRY_MS, CIRRUS_AWS_TIMEOUT_MS,
 * CIRRUS_AWS_CONNECT_TIMEOUT_MS, CIRRUS_AWS_DEBUG=1 (on stderr: at open, the
 * credential source and region; each credential refresh; one line per
 * attempt: method, URL, status, time; never headers or secrets).
 *
 * Calls: credentials, awsproto, util, libcurl, libcrypto.
 */
#ifndef CIRRUS_AWS_AWS_H
#define CIRRUS_AWS_AWS_H

#include <stddef.h>
#include <stdint.h>

#include "aws/credentials.h"
#include "util/buf.h"

/* Where and as whom to talk to one service. */
struct aws_config {
    char *service;                   /* "s3", "dynamodb": signing name and env suffix */
    struct aws_cred_provider *creds; /* who requests sign as; NULL or source
                                      * "none": unsigned (anonymous) requests */
    char *region;                    /* never NULL */
    char *ca_bundle;                 /* PEM CA file for TLS, or NULL: the system's */
    char *endpoint;                  /* "scheme://host[:port]" without a trailing '/', or
                                      * NULL: the service's public AWS endpoint */
    uint32_t max_retry_ms;           /* retry budget, ms */
    uint32_t request_timeout_ms;     /* one attempt, ms */
    uint32_t connect_timeout_ms;     /* connecting, ms */
    uint32_t backoff_base_ms;        /* first backoff ceiling, ms */
    uint32_t backoff_cap_ms;         /* largest backoff ceiling, ms */
    int debug;                       /* CIRRUS_AWS_DEBUG */
};

/* Fills cfg from the environment and the shared AWS files for service ("s3"
 * or "dynamodb"), walking the credential chain (which may fetch from STS,
 * a container endpoint or IMDS). Returns 0, CIRRUS_EINVALID (a malformed
 * endpoint, number or setting), CIRRUS_EAUTH / CIRRUS_EIO / CIRRUS_ETIMEOUT
 * (the configured credential source refused or could not be reached),
 * CIRRUS_ENOMEM. On failure cfg holds nothing to free. */
int aws_config_from_env(struct aws_config *cfg, const char *service);
/* Frees the strings and the credential provider (accepts a zeroed or
 * half-filled cfg). */
void aws_config_clear(struct aws_config *cfg);

struct aws_client;

/* Creates a client; cfg's strings are taken on success (cfg is zeroed),
 * left with the caller on failure. Returns 0 or CIRRUS_ENOMEM / CIRRUS_EIO. */
int aws_client_new(struct aws_client **out, struct aws_config *cfg);
/* Accepts NULL. No request may be in flight. */
void aws_client_free(struct aws_client *c);
/* The client's configuration (borrowed, lives as long as the client). */
const struct aws_config *aws_client_config(const struct aws_client *c);
/* The base URL requests go to when aws_request.base is NULL (borrowed). */
const char *aws_client_base(const struct aws_client *c);

#define AWS_MAX_HEADERS 8

/* One request and, after aws_perform*, its response. Zero it, fill the "in"
 * fields, perform, read the "out" fields, then aws_request_clear(). */
struct aws_request {
    /* in */
    const char *op;                       /* operation name for messages, e.g. "PutObject" */
    const char *target;                   /* what it is about, for messages (object, table) */
    const char *method;                   /* "GET", "PUT", "POST", "HEAD", "DELETE" */
    const char *base;                     /* base URL; NULL: aws_client_base() */
    const char *path;                     /* URI-encoded path starting with '/' */
    const char *query;                    /* canonical query (aws_query_build), or NULL */
    const char *headers[AWS_MAX_HEADERS]; /* "Name: value", NULL-ended */
    const void *body;                     /* borrowed; NULL for none */
    size_t body_len;                      /* bytes */
    int is_write;                         /* see "Ambiguity" above */
    int json_errors;                      /* error bodies are JSON (DynamoDB), not XML (S3) */
    uint8_t *dst;                         /* optional: a 2xx body goes here instead of resp */
    size_t dst_cap;                       /* bytes at dst */
    /* out */
    long status;             /* last HTTP status, 0 if none arrived */
    struct buf resp;         /* response body (always, for errors) */
    size_t dst_len;          /* bytes written at dst */
    int dst_excess;          /* the server sent more than dst_cap; the excess was dropped */
    struct buf resp_headers; /* raw response header lines of the last attempt */
    char code[96];           /* service error code, "" if none */
    char message[256];       /* service error message, "" if none */
    int ambiguous;           /* some attempt may have applied this write */
    unsigned attempts;       /* attempts made */
    int rc;                  /* result, as returned */
};

/*
 * Performs r with retries. Returns 0 on a 2xx response; otherwise the mapped
 * code (CIRRUS_ENOTFOUND 404/NoSuch*, CIRRUS_ECONFLICT 409/412/
 * ConditionalCheckFailed, CIRRUS_EAUTH 401/403/signature and key errors,
 * CIRRUS_EINVALID validation errors, CIRRUS_ETIMEOUT, CIRRUS_EIO) with the
 * thread's message set and r->status/code/message filled so the caller can
 * re-map (e.g. a 404 on delete is success). CIRRUS_ENOMEM on allocation
 * failure.
 */
int aws_perform(struct aws_client *c, struct aws_request *r);

/*
 * Performs n independent requests in parallel (at most `parallel` at a time)
 * over libcurl's multi interface, each with the retry rules above. Returns 0
 * if all succeeded, else the first failed request's rc (in array order; its
 * message is the thread's message); every rs[i].rc is set.
 */
int aws_perform_many(struct aws_client *c, struct aws_request *rs, size_t n, size_t parallel);

/* Frees r's out fields (accepts a request never performed). */
void aws_request_clear(struct aws_request *r);

/* The value of response header name (case-insensitive) into out, trimmed.
 * Returns 0 or CIRRUS_ENOTFOUND. */
int aws_response_header(const struct aws_request *r, const char *name, char *out, size_t cap);

#endif
