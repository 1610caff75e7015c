/*
 * aws.c - the shared AWS HTTP client (see aws.h for the contract).
 *
 * Every request, single or batched, runs through one loop over a libcurl
 * multi handle: each transfer is WAITING (until its backoff ends), RUNNING
 * or DONE. Connections live in the client's share handle, not in the
 * short-lived multi handles, so they are reused across calls and threads;
 * easy handles come from a small pool for the same reason (they keep their
 * buffers and settings allocations).
 */
#include "aws/aws.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws/awsproto.h"
#include "util/status.h"
#include "util/sys.h"

#define POOL_MAX 16
#define DEFAULT_REGION "us-east-1"

struct aws_client {
    struct aws_config cfg;
    char *base;  /* default base URL */
    char *sigv4; /* "aws:amz:REGION:SERVICE" */
    CURLSH *share;
    pthread_mutex_t share_locks[CURL_LOCK_DATA_LAST];
    pthread_mutex_t pool_lock; /* guards pool, n_pool */
    CURL *pool[POOL_MAX];
    size_t n_pool;
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- configuration ------------------------------------------------------ */

static int env_ms(const char *name, uint32_t def, uint32_t *out)
{
    const char *v = getenv(name);
    if (!v || !*v) {
        *out = def;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long n = strtoul(v, &end, 10);
    if (errno || *end || n > 3600000UL)
        return err_set(CIRRUS_EINVALID, "%s=%s: expected milliseconds (0..3600000)", name, v);
    *out = (uint32_t)n;
    return 0;
}

static int dup_env(const char *name, char **out)
{
    const char *v = getenv(name);
    *out = NULL;
    if (!v || !*v)
        return 0;
    *out = strdup(v);
    return *out ? 0 : err_nomem();
}

/* Accepts "http(s)://host[:port][/]" and strips the trailing '/'; a path
 * after the host is refused, since requests supply their own. */
static int check_endpoint(char *ep, const char *var)
{
    const char *rest = NULL;
    if (strncmp(ep, "http://", 7) == 0)
        rest = ep + 7;
    else if (strncmp(ep, "https://", 8) == 0)
        rest = ep + 8;
    if (!rest || !*rest)
        return err_set(CIRRUS_EINVALID, "%s=%s: expected http://HOST[:PORT] or https://...", var,
                       ep);
    size_t n = strlen(ep);
    while (n > 0 && ep[n - 1] == '/')
        ep[--n] = '\0';
    if (strchr(rest, '/'))
        return err_set(CIRRUS_EINVALID, "%s=%s: a path is not supported", var, ep);
    return 0;
}

int aws_config_from_env(struct aws_config *cfg, const char *service)
{
    int rc = 0;
    char var[64];
    const char *ep_var = var;
    struct aws_profile prof = {0};
    const char *region_from = "AWS_REGION"; /* for the debug line */
    memset(cfg, 0, sizeof(*cfg));
    snprintf(var, sizeof(var), "AWS_ENDPOINT_URL_");
    for (size_t i = strlen(var), j = 0; service[j] && i + 1 < sizeof(var); i++, j++) {
        char ch = service[j];
        var[i] = (char)(ch >= 'a' && ch <= 'z' ? ch - 32 : ch);
        var[i + 1] = '\0';
    }
    if ((cfg->service = strdup(service)) == NULL) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = dup_env("AWS_REGION", &cfg->region)) < 0)
        goto done;
    if (!cfg->region && (region_from = "AWS_DEFAULT_REGION") &&
        (rc = dup_env("AWS_DEFAULT_REGION", &cfg->region)) < 0)
        goto done;
    if ((rc = aws_profile_load(&prof)) < 0)
        goto done;
    if (!cfg->region && prof.region && (region_from = "profile") &&
        (cfg->region = strdup(prof.region)) == NULL) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = dup_env("AWS_CA_BUNDLE", &cfg->ca_bundle)) < 0)
        goto done;
    if (!cfg->ca_bundle && prof.ca_bundle && (cfg->ca_bundle = strdup(prof.ca_bundle)) == NULL) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = dup_env(var, &cfg->endpoint)) < 0)
        goto done;
    if (!cfg->endpoint) {
        ep_var = "AWS_ENDPOINT_URL";
        if ((rc = dup_env(ep_var, &cfg->endpoint)) < 0)
            goto done;
    }
    if (cfg->endpoint && (rc = check_endpoint(cfg->endpoint, ep_var)) < 0)
        goto done;
    if ((rc = env_ms("CIRRUS_AWS_MAX_RETRY_MS", 30000, &cfg->max_retry_ms)) < 0 ||
        (rc = env_ms("CIRRUS_AWS_TIMEOUT_MS", 30000, &cfg->request_timeout_ms)) < 0 ||
        (rc = env_ms("CIRRUS_AWS_CONNECT_TIMEOUT_MS", 5000, &cfg->connect_timeout_ms)) < 0)
        goto done;
    cfg->backoff_base_ms = 50;
    cfg->backoff_cap_ms = 5000;
    const char *dbg = getenv("CIRRUS_AWS_DEBUG");
    cfg->debug = dbg && *dbg && strcmp(dbg, "0") != 0;
    struct aws_cred_opts co = {.profile = &prof,
                               .region = cfg->region ? cfg->region : DEFAULT_REGION,
                               .ca_bundle = cfg->ca_bundle,
                               .debug = cfg->debug};
    if ((rc = aws_cred_provider_shared(&cfg->creds, &co)) < 0)
        goto done;
    if (!cfg->region && aws_cred_region(cfg->creds)) {
        region_from = "instance metadata";
        if ((cfg->region = strdup(aws_cred_region(cfg->creds))) == NULL) {
            rc = err_nomem();
            goto done;
        }
    }
    if (!cfg->region) {
        region_from = "default";
        if ((cfg->region = strdup(DEFAULT_REGION)) == NULL) {
            rc = err_nomem();
            goto done;
        }
    }
    if (cfg->debug)
        fprintf(stderr, "cirrus-aws: %s: credentials from %s; region %s (%s)%s%s\n", service,
                aws_cred_source(cfg->creds), cfg->region, region_from,
                cfg->ca_bundle ? "; CA bundle " : "", cfg->ca_bundle ? cfg->ca_bundle : "");
done:
    aws_profile_clear(&prof);
    if (rc < 0)
        aws_config_clear(cfg);
    return rc;
}

void aws_config_clear(struct aws_config *cfg)
{
    free(cfg->service);
    aws_cred_provider_close(cfg->creds);
    free(cfg->region);
    free(cfg->ca_bundle);
    free(cfg->endpoint);
    memset(cfg, 0, sizeof(*cfg));
}

/* ---- client ------------------------------------------------------------- */

static void share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *arg)
{
    struct aws_client *c = arg;
    pthread_mutex_lock(&c->share_locks[data]);
}

static void share_unlock(CURL *h, curl_lock_data data, void *arg)
{
    struct aws_client *c = arg;
    pthread_mutex_unlock(&c->share_locks[data]);
}

int aws_client_new(struct aws_client **out, struct aws_config *cfg)
{
    int rc = 0;
    struct aws_client *c = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK) {
        rc = err_set(CIRRUS_EIO, "libcurl: global init failed: %s", curl_easy_strerror(global_rc));
        goto done;
    }
    if ((c = calloc(1, sizeof(*c))) == NULL) {
        rc = err_nomem();
        goto done;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&c->share_locks[i], NULL);
    pthread_mutex_init(&c->pool_lock, NULL);
    size_t n = 64 + strlen(cfg->region) + strlen(cfg->service) +
               (cfg->endpoint ? strlen(cfg->endpoint) : 0);
    c->base = malloc(n);
    c->sigv4 = malloc(n);
    c->share = curl_share_init();
    if (!c->base || !c->sigv4 || !c->share) {
        rc = err_nomem();
        goto done;
    }
    if (cfg->endpoint)
        snprintf(c->base, n, "%s", cfg->endpoint);
    else
        snprintf(c->base, n, "https://%s.%s.amazonaws.com", cfg->service, cfg->region);
    snprintf(c->sigv4, n, "aws:amz:%s:%s", cfg->region, cfg->service);
    /* Connections, DNS and TLS sessions are shared by every handle of this
     * client, including those briefly attached to a multi handle. */
    curl_share_setopt(c->share, CURLSHOPT_LOCKFUNC, share_lock);
    curl_share_setopt(c->share, CURLSHOPT_UNLOCKFUNC, share_unlock);
    curl_share_setopt(c->share, CURLSHOPT_USERDATA, c);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_SSL_SESSION);
    curl_share_setopt(c->share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT);
    c->cfg = *cfg;
    memset(cfg, 0, sizeof(*cfg));
    *out = c;
    c = NULL;
done:
    if (c) {
        /* cfg stays with the caller */
        memset(&c->cfg, 0, sizeof(c->cfg));
        aws_client_free(c);
    }
    return rc;
}

void aws_client_free(struct aws_client *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->n_pool; i++)
        curl_easy_cleanup(c->pool[i]);
    if (c->share)
        curl_share_cleanup(c->share);
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_destroy(&c->share_locks[i]);
    pthread_mutex_destroy(&c->pool_lock);
    free(c->base);
    free(c->sigv4);
    aws_config_clear(&c->cfg);
    free(c);
}

const struct aws_config *aws_client_config(const struct aws_client *c)
{
    return &c->cfg;
}

const char *aws_client_base(const struct aws_client *c)
{
    return c->base;
}

static CURL *pool_get(struct aws_client *c)
{
    CURL *e = NULL;
    pthread_mutex_lock(&c->pool_lock);
    if (c->n_pool > 0)
        e = c->pool[--c->n_pool];
    pthread_mutex_unlock(&c->pool_lock);
    if (e)
        curl_easy_reset(e);
    else
        e = curl_easy_init();
    return e;
}

static void pool_put(struct aws_client *c, CURL *e)
{
    if (!e)
        return;
    pthread_mutex_lock(&c->pool_lock);
    if (c->n_pool < POOL_MAX) {
        c->pool[c->n_pool++] = e;
        e = NULL;
    }
    pthread_mutex_unlock(&c->pool_lock);
    if (e)
        curl_easy_cleanup(e);
}

/* ---- one transfer ------------------------------------------------------- */

enum xfer_state { X_WAITING, X_RUNNING, X_DONE };

struct xfer {
    struct aws_client *c;
    struct aws_request *r;
    CURL *easy;
    struct curl_slist *hdrs;
    char *url;
    char sha[65]; /* body SHA-256, computed once */
    enum xfer_state state;
    uint64_t next_ns;        /* WAITING: earliest start (mono) */
    uint64_t attempt_ns;     /* RUNNING: when the attempt started */
    int empty_range;         /* a 206 of an empty object, cut short on purpose */
    struct aws_creds *creds; /* RUNNING/DONE: the triple this attempt signed with */
    int auth_retried;        /* a refresh-and-retry after ExpiredToken was spent */
    int last_tls;            /* the last attempt failed TLS verification */
    int self_sign;           /* signed here, not by libcurl (needs_own_signature) */
    char errbuf[CURL_ERROR_SIZE];
    char last_cause[CURL_ERROR_SIZE + 64]; /* transport failure text, for messages */
    struct aws_outcome last;
};

static size_t on_body(char *p, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    struct aws_request *r = x->r;
    size_t len = size * nmemb;
    long status = 0;
    curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
    if (r->dst && status >= 200 && status < 300) {
        /* A server that sends more than the range asked for (s3rver answers
         * "bytes=0-0" with the whole object) is read to the end, and the
         * bytes past dst_cap are dropped: the caller checks Content-Range. */
        size_t room = r->dst_cap - r->dst_len, take = len < room ? len : room;
        memcpy(r->dst + r->dst_len, p, take);
        r->dst_len += take;
        r->dst_excess |= take < len;
        return len;
    }
    return buf_append(&r->resp, p, len) < 0 ? 0 : len;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *arg)
{
    struct xfer *x = arg;
    size_t len = size * nmemb;
    unsigned long long a, b, total;
    /* a new status line (after "100 Continue" or a retry) starts afresh */
    if (len >= 5 && memcmp(p, "HTTP/", 5) == 0)
        x->r->resp_headers.len = 0;
    /* s3rver answers a range of an empty object with "206, Content-Length:
     * 1, Content-Range: bytes 0-0/0" and no body; waiting for that byte
     * would end in a broken transfer. The range is empty: stop here. */
    if (len > 14 && strncasecmp(p, "Content-Range:", 14) == 0 &&
        sscanf(p + 14, " bytes %llu-%llu/%llu", &a, &b, &total) == 3 && total == 0) {
        x->empty_range = 1;
        return 0;
    }
    return buf_append(&x->r->resp_headers, p, len) < 0 ? 0 : len;
}

static int has_header(const struct aws_request *r, const char *name)
{
    size_t n = strlen(name);
    for (int i = 0; i < AWS_MAX_HEADERS && r->headers[i]; i++)
        if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return 1;
    return 0;
}

static int add_header(struct curl_slist **l, const char *line)
{
    struct curl_slist *n = curl_slist_append(*l, line);
    if (!n)
        return err_nomem();
    *l = n;
    return 0;
}

/* Whether libcurl would sign r wrongly. libcurl 7.88 sorts the canonical
 * headers as whole "name:value" lines, so a header whose name is a prefix
 * of another's (x-amz-copy-source and x-amz-copy-source-range, sent by
 * UploadPartCopy) comes out of order, and a server that checks signatures
 * refuses the request with SignatureDoesNotMatch. Such requests are signed
 * here (awsproto.h, aws_sigv4_authorization). */
static int needs_own_signature(const struct aws_request *r)
{
    for (int i = 0; i < AWS_MAX_HEADERS && r->headers[i]; i++) {
        const char *colon = strchr(r->headers[i], ':');
        size_t n = colon ? (size_t)(colon - r->headers[i]) : 0;
        for (int j = 0; n && j < AWS_MAX_HEADERS && r->headers[j]; j++)
            if (j != i && strncasecmp(r->headers[j], r->headers[i], n) == 0 &&
                r->headers[j][n] != ':')
                return 1;
    }
    return 0;
}

/* Builds the URL once per request (it does not change between attempts;
 * each attempt is signed afresh, with its own date). */
static int xfer_prepare(struct xfer *x)
{
    struct aws_request *r = x->r;
    const char *base = r->base ? r->base : x->c->base;
    size_t n = strlen(base) + strlen(r->path) + (r->query ? strlen(r->query) : 0) + 2;
    if ((x->url = malloc(n)) == NULL)
        return err_nomem();
    snprintf(x->url, n, "%s%s%s%s", base, r->path, r->query && *r->query ? "?" : "",
             r->query ? r->query : "");
    aws_sha256_hex(r->body, r->body ? r->body_len : 0, x->sha);
    x->self_sign = needs_own_signature(r);
    return 0;
}

/* Signs one attempt here (x->self_sign): every header line built so far is
 * signed, then Host, x-amz-date and Authorization are added, so that what
 * is signed is exactly what is sent. */
static int xfer_sign(struct xfer *x)
{
    const struct aws_config *cfg = &x->c->cfg;
    const char *lines[AWS_MAX_HEADERS + 4];
    char date[20], host[256], line[1024];
    char *auth = NULL;
    size_t n = 0;
    int rc;
    for (struct curl_slist *l = x->hdrs; l && n < AWS_MAX_HEADERS + 4; l = l->next)
        lines[n++] = l->data;
    const char *h = strstr(x->url, "://");
    h = h ? h + 3 : x->url;
    size_t hlen = strcspn(h, "/?");
    snprintf(host, sizeof(host), "%.*s", (int)hlen, h);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
    struct aws_sigv4 s = {.method = x->r->method,
                          .host = host,
                          .path = x->r->path,
                          .query = x->r->query,
                          .headers = lines,
                          .n_headers = n,
                          .payload_sha256 = x->sha,
                          .amz_date = date,
                          .region = cfg->region,
                          .service = cfg->service,
                          .access_key = x->creds->access_key,
                          .secret_key = x->creds->secret_key};
    if ((rc = aws_sigv4_authorization(&s, &auth)) < 0)
        goto done;
    snprintf(line, sizeof(line), "Host: %s", host);
    if ((rc = add_header(&x->hdrs, line)) < 0)
        goto done;
    snprintf(line, sizeof(line), "x-amz-date: %s", date);
    if ((rc = add_header(&x->hdrs, line)) < 0)
        goto done;
    snprintf(line, sizeof(line), "Authorization: %s", auth);
    rc = add_header(&x->hdrs, line);
done:
    free(auth);
    return rc;
}

/* Builds the header list of one attempt: the session token belongs to the
 * triple this attempt signs with (x->creds), which a refresh may replace
 * between attempts. */
static int xfer_headers(struct xfer *x)
{
    int rc = 0;
    struct aws_request *r = x->r;
    char line[160];
    curl_slist_free_all(x->hdrs);
    x->hdrs = NULL;
    for (int i = 0; i < AWS_MAX_HEADERS && r->headers[i] && rc == 0; i++)
        rc = add_header(&x->hdrs, r->headers[i]);
    snprintf(line, sizeof(line), "x-amz-content-sha256: %s", x->sha);
    if (rc == 0)
        rc = add_header(&x->hdrs, line);
    if (rc == 0 && x->creds && x->creds->session_token) {
        const char *tok = x->creds->session_token;
        size_t n = strlen(tok) + 32;
        char *h = malloc(n);
        if (!h)
            return err_nomem();
        snprintf(h, n, "X-Amz-Security-Token: %s", tok);
        rc = add_header(&x->hdrs, h);
        /* the token is a secret too: do not leave it in freed memory */
        memset(h, 0, n);
        free(h);
    }
    /* libcurl would label a body form-urlencoded; S3 stores the type */
    if (rc == 0 && r->body && !has_header(r, "Content-Type"))
        rc = add_header(&x->hdrs, "Content-Type: application/octet-stream");
    if (rc == 0 && x->self_sign && x->creds)
        rc = xfer_sign(x);
    return rc;
}

static int xfer_start(struct xfer *x, CURLM *m)
{
    struct aws_client *c = x->c;
    struct aws_request *r = x->r;
    const struct aws_config *cfg = &c->cfg;
    CURL *e = x->easy ? x->easy : pool_get(c);
    int rc;
    if (!e)
        return err_nomem();
    x->easy = e;
    aws_creds_release(x->creds);
    x->creds = cfg->creds ? aws_cred_get(cfg->creds) : NULL;
    if ((rc = xfer_headers(x)) < 0)
        return rc;
    r->resp.len = 0;
    r->resp_headers.len = 0;
    r->dst_len = 0;
    r->status = 0;
    r->code[0] = r->message[0] = '\0';
    x->empty_range = 0;
    r->dst_excess = 0;
    x->errbuf[0] = '\0';
    x->last_tls = 0;
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_SHARE, c->share);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, x->hdrs);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf);
    curl_easy_setopt(e, CURLOPT_PRIVATE, x);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)cfg->connect_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)cfg->request_timeout_ms);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_NODELAY, 1L);
    /* no waiting for "100 Continue": the request is signed and small enough
     * that a refusal costs little, and waiting costs a round trip */
    curl_easy_setopt(e, CURLOPT_EXPECT_100_TIMEOUT_MS, 0L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    if (cfg->ca_bundle)
        curl_easy_setopt(e, CURLOPT_CAINFO, cfg->ca_bundle);
    if (x->creds && !x->self_sign) {
        /* libcurl copies both strings: the triple may be freed after this */
        curl_easy_setopt(e, CURLOPT_AWS_SIGV4, c->sigv4);
        curl_easy_setopt(e, CURLOPT_USERNAME, x->creds->access_key);
        curl_easy_setopt(e, CURLOPT_PASSWORD, x->creds->secret_key);
    } else {
        curl_easy_setopt(e, CURLOPT_AWS_SIGV4, NULL);
        curl_easy_setopt(e, CURLOPT_USERNAME, NULL);
        curl_easy_setopt(e, CURLOPT_PASSWORD, NULL);
    }
    if (strcmp(r->method, "HEAD") == 0) {
        curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    } else if (r->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->body_len);
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, r->body_len ? r->body : "");
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    } else if (strcmp(r->method, "GET") == 0) {
        curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else {
        curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    }
    x->attempt_ns = mono_ns();
    x->state = X_RUNNING;
    r->attempts++;
    if (curl_multi_add_handle(m, e) != CURLM_OK)
        return err_set(CIRRUS_EIO, "libcurl: could not start a transfer");
    return 0;
}

static enum aws_transport transport_of(CURLcode cc)
{
    switch (cc) {
    case CURLE_OK:
        return AWS_T_OK;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        return AWS_T_CONNECT;
    case CURLE_OPERATION_TIMEDOUT:
        return AWS_T_TIMEOUT;
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_SSL_CONNECT_ERROR:
        return AWS_T_BROKEN;
    default:
        return AWS_T_FATAL;
    }
}

/* Records the final result of x in r->rc and the thread's message. */
static void xfer_finish_message(struct xfer *x, int gave_up)
{
    struct aws_request *r = x->r;
    const struct aws_config *cfg = &x->c->cfg;
    char cause[600];
    char reqid[128] = "";
    int rc = x->last.rc;
    if (r->status) {
        char id[100];
        if (aws_response_header(r, "x-amz-request-id", id, sizeof(id)) == 0 ||
            aws_response_header(r, "x-amzn-requestid", id, sizeof(id)) == 0)
            snprintf(reqid, sizeof(reqid), " (request id %s)", id);
        snprintf(cause, sizeof(cause), "HTTP %ld%s%s%s%s%s", r->status, r->code[0] ? " " : "",
                 r->code, r->message[0] ? ": " : "", r->message, reqid);
    } else {
        snprintf(cause, sizeof(cause), "%s", x->last_cause);
    }
    /* A write that may have applied must not look like a clean failure. */
    if (rc != 0 && r->ambiguous && (rc == CIRRUS_ECONFLICT || gave_up)) {
        if (rc == CIRRUS_ECONFLICT)
            snprintf(cause + strlen(cause), sizeof(cause) - strlen(cause),
                     "; an earlier attempt may have applied this write");
        rc = CIRRUS_ETIMEOUT;
    }
    r->rc = rc;
    if (rc == 0)
        return;
    char budget[96] = "", extra[640] = "";
    if (gave_up)
        snprintf(budget, sizeof(budget), " (gave up after %u attempts, retry budget %u ms)",
                 r->attempts, cfg->max_retry_ms);
    if (rc == CIRRUS_EAUTH && cfg->creds)
        snprintf(extra, sizeof(extra), "; credentials from %s", aws_cred_source(cfg->creds));
    else if (rc == CIRRUS_EAUTH)
        snprintf(extra, sizeof(extra), "; no credentials (unsigned request)");
    else if (!r->status && x->last_tls)
        snprintf(extra, sizeof(extra),
                 "; TLS verification failed: set AWS_CA_BUNDLE to a PEM "
                 "file with the endpoint's CA%s%s",
                 cfg->ca_bundle ? " (now " : "", cfg->ca_bundle ? cfg->ca_bundle : "");
    if (x->last_tls && cfg->ca_bundle && extra[0])
        strncat(extra, ")", sizeof(extra) - strlen(extra) - 1);
    err_set(rc, "%s %s %s%s%s %s: %s%s%s", cfg->service, r->op, r->method, r->target ? " " : "",
            r->target ? r->target : "", x->url, cause, budget, extra);
}

/* Did the service refuse the credentials as expired or unknown, which a
 * refreshed triple may cure? */
static int expired_token(const struct aws_request *r)
{
    static const char *const codes[] = {"ExpiredToken", "ExpiredTokenException",
                                        "InvalidClientTokenId", "TokenRefreshRequired"};
    if (r->status != 400 && r->status != 403)
        return 0;
    for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++)
        if (strcmp(r->code, codes[i]) == 0)
            return 1;
    return 0;
}

/* Classifies a finished attempt: DONE, or WAITING again after a backoff. */
static void xfer_done(struct xfer *x, CURLcode cc, uint64_t deadline_ns)
{
    struct aws_request *r = x->r;
    const struct aws_config *cfg = &x->c->cfg;
    uint64_t now = mono_ns();
    if (x->empty_range) {
        cc = CURLE_OK;
        r->dst_len = 0;
    }
    enum aws_transport t = transport_of(cc);
    if (cc == CURLE_OK) {
        curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &r->status);
        if (r->status < 200 || r->status >= 300)
            aws_parse_error((const char *)r->resp.data, r->resp.len, r->json_errors, r->code,
                            sizeof(r->code), r->message, sizeof(r->message));
    } else {
        /* libcurl's own line is the more specific one when it has one */
        snprintf(x->last_cause, sizeof(x->last_cause), "%s",
                 x->errbuf[0] ? x->errbuf : curl_easy_strerror(cc));
        x->last_tls = cc == CURLE_PEER_FAILED_VERIFICATION || cc == CURLE_SSL_CACERT_BADFILE;
    }
    x->last = aws_classify(t, r->status, r->code, r->is_write);
    if (x->last.maybe_applied)
        r->ambiguous = 1;
    if (cfg->debug) {
        long fresh = 0; /* connections this attempt had to open: 0 when reused */
        curl_easy_getinfo(x->easy, CURLINFO_NUM_CONNECTS, &fresh);
        fprintf(stderr, "cirrus-aws: %s %s -> %ld%s%s (%llu ms, attempt %u, new connections %ld)\n",
                r->method, x->url, r->status, r->code[0] ? " " : "", r->code,
                (unsigned long long)((now - x->attempt_ns) / 1000000), r->attempts, fresh);
    }
    x->state = X_DONE;
    if (!x->auth_retried && expired_token(r) && cfg->creds && aws_cred_refreshable(cfg->creds)) {
        /* the service says the triple is stale: one refresh, one retry */
        x->auth_retried = 1;
        if (cfg->debug)
            fprintf(stderr, "cirrus-aws: %s refused the credentials from %s (%s): refreshing\n",
                    cfg->service, aws_cred_source(cfg->creds), r->code);
        if (aws_cred_refresh(cfg->creds, x->creds) == 0) {
            x->state = X_WAITING;
            x->next_ns = now;
            return;
        }
        err_clear();
    }
    if (x->last.verdict == AWS_RETRY) {
        uint32_t wait =
            aws_backoff_ms(r->attempts - 1, cfg->backoff_base_ms, cfg->backoff_cap_ms, rand_u64());
        if (now + (uint64_t)wait * 1000000 < deadline_ns) {
            x->state = X_WAITING;
            x->next_ns = now + (uint64_t)wait * 1000000;
            return;
        }
        xfer_finish_message(x, 1);
        return;
    }
    xfer_finish_message(x, 0);
}

/* ---- the loop ------------------------------------------------------------ */

static int run(struct aws_client *c, struct xfer *xs, size_t n, size_t parallel)
{
    int rc = 0;
    CURLM *m = curl_multi_init();
    uint64_t deadline = mono_ns() + (uint64_t)c->cfg.max_retry_ms * 1000000;
    size_t running = 0, done = 0;
    if (!m)
        return err_nomem();
    if (parallel == 0)
        parallel = 1;
    while (done < n) {
        uint64_t now = mono_ns(), next_start = UINT64_MAX;
        for (size_t i = 0; i < n && running < parallel; i++) {
            if (xs[i].state != X_WAITING)
                continue;
            if (xs[i].next_ns > now) {
                if (xs[i].next_ns < next_start)
                    next_start = xs[i].next_ns;
                continue;
            }
            if ((rc = xfer_start(&xs[i], m)) < 0)
                goto done;
            running++;
        }
        if (running == 0) {
            /* everyone left is backing off */
            if (next_start != UINT64_MAX && next_start > now)
                sleep_ms((uint32_t)((next_start - now) / 1000000 + 1));
            continue;
        }
        int still = 0, queued = 0;
        curl_multi_perform(m, &still);
        CURLMsg *msg;
        while ((msg = curl_multi_info_read(m, &queued)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct xfer *x = NULL;
            CURL *e = msg->easy_handle;
            CURLcode cc = msg->data.result;
            curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&x);
            curl_multi_remove_handle(m, e);
            running--;
            xfer_done(x, cc, deadline);
            if (x->state == X_DONE)
                done++;
        }
        if (running > 0) {
            int wait_ms = 100;
            if (next_start != UINT64_MAX) {
                uint64_t d = next_start > now ? (next_start - now) / 1000000 : 0;
                if (d < (uint64_t)wait_ms)
                    wait_ms = (int)d;
            }
            curl_multi_poll(m, NULL, 0, wait_ms, NULL);
        }
    }
done:
    for (size_t i = 0; i < n; i++)
        if (xs[i].easy && xs[i].state == X_RUNNING)
            curl_multi_remove_handle(m, xs[i].easy);
    curl_multi_cleanup(m);
    return rc;
}

int aws_perform_many(struct aws_client *c, struct aws_request *rs, size_t n, size_t parallel)
{
    int rc = 0;
    struct xfer *xs = calloc(n ? n : 1, sizeof(*xs));
    if (!xs)
        return err_nomem();
    for (size_t i = 0; i < n; i++) {
        xs[i].c = c;
        xs[i].r = &rs[i];
        xs[i].state = X_WAITING;
        rs[i].rc = 0;
        rs[i].ambiguous = 0;
        rs[i].attempts = 0;
        if ((rc = xfer_prepare(&xs[i])) < 0)
            goto done;
    }
    if ((rc = run(c, xs, n, parallel)) < 0)
        goto done;
    /* the first failure (in array order) is the one reported */
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = rs[i].rc;
    if (rc < 0 && n > 1) {
        /* the thread's message belongs to the last failure: rebuild the
         * first one's */
        for (size_t i = 0; i < n; i++)
            if (rs[i].rc < 0) {
                xs[i].last.rc = rs[i].rc;
                xfer_finish_message(&xs[i], xs[i].last.verdict == AWS_RETRY);
                rc = rs[i].rc;
                break;
            }
    }
done:
    for (size_t i = 0; i < n; i++) {
        pool_put(c, xs[i].easy);
        aws_creds_release(xs[i].creds);
        curl_slist_free_all(xs[i].hdrs);
        free(xs[i].url);
    }
    free(xs);
    return rc;
}

int aws_perform(struct aws_client *c, struct aws_request *r)
{
    return aws_perform_many(c, r, 1, 1);
}

void aws_request_clear(struct aws_request *r)
{
    buf_free(&r->resp);
    buf_free(&r->resp_headers);
}

int aws_response_header(const struct aws_request *r, const char *name, char *out, size_t cap)
{
    const char *p = (const char *)r->resp_headers.data;
    const char *end = p + r->resp_headers.len;
    size_t n = strlen(name);
    while (p && p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol)
            eol = end;
        if ((size_t)(eol - p) > n && strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *z = eol;
            while (v < z && (*v == ' ' || *v == '\t'))
                v++;
            while (z > v && (z[-1] == '\r' || z[-1] == ' ' || z[-1] == '\t'))
                z--;
            size_t len = (size_t)(z - v);
            if (len >= cap)
                len = cap - 1;
            memcpy(out, v, len);
            out[len] = '\0';
            return 0;
        }
        p = eol + 1;
    }
    return CIRRUS_ENOTFOUND;
}
