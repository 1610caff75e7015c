/*
 * credentials.c - the AWS credential chain and its refresher (see
 * credentials.h for the contract and the invariants).
 *
 * Provider states (cur, refreshing), all under p->lock:
 *
 *   cur valid, !refreshing  --refresh_at passes-->  refreshing (thread fetches)
 *   refreshing  --fetch ok-->  cur = new triple (old one freed when its last
 *                              reader releases it), !refreshing, broadcast
 *   refreshing  --fetch fails-->  !refreshing, next_try_ms = now + backoff
 *   cur expired  -->  aws_cred_get waits for a running fetch or runs one
 *
 * Fetches are plain libcurl easy transfers with short timeouts; they never
 * hold p->lock.
 */
#include "aws/credentials.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <time.h>

#include "aws/awsproto.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/status.h"
#include "util/sys.h"

#define REFRESH_MARGIN_MS (5 * 60 * 1000)
#define FETCH_TIMEOUT_MS 5000
#define IMDS_TIMEOUT_MS 2000
#define IMDS_TOKEN_TTL_S 21600
#define CONTAINER_HOST "http://169.254.170.2"
#define IMDS_HOST "http://169.254.169.254"

enum kind {
    K_NONE,
    K_STATIC,
    K_WEB_IDENTITY,
    K_PROCESS,
    K_CONTAINER,
    K_IMDS,
    K_ASSUME_ROLE,
};

#define ROLE_CHAIN_MAX 4

struct aws_cred_provider {
    enum kind kind;
    char source[512]; /* for messages; no secret */
    int debug;
    char *ca_bundle;
    /* web identity; role_arn, session_name and sts_url for AssumeRole too */
    char *role_arn, *session_name, *token_file, *sts_url;
    /* AssumeRole: signs with base's credentials in region */
    struct aws_cred_provider *base;
    char *external_id, *region;
    /* credential_process */
    char *process_cmd;
    /* container */
    char *container_url, *container_token, *container_token_file;
    /* IMDS: token and role are touched only by the one fetching thread */
    char *imds_base, *imds_token, *imds_role, *imds_region;
    int64_t imds_token_expires_ms;

    pthread_mutex_t lock;    /* guards everything below */
    pthread_cond_t cond;     /* cur replaced, a fetch ended, or stop */
    struct aws_creds *cur;   /* NULL: anonymous */
    int refreshing;          /* a fetch is running (invariant 2) */
    int64_t next_try_ms;     /* after a failed refresh: not before this */
    unsigned long n_refresh; /* successful refreshes */
    int stop;
    int has_thread;
    pthread_t thread;

    /* aws_cred_provider_shared: the configuration it was opened for, or
     * NULL if not shared; refs and next are guarded by shared_mu */
    char *share_key;
    int share_refs;
    struct aws_cred_provider *share_next;
};

/* The shared providers of the process, one per configuration. */
static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static struct aws_cred_provider *shared_list; /* guarded by shared_mu */

/* ---- creds ------------------------------------------------------------- */

static void wipe_free(char *s)
{
    if (s) {
        volatile char *p = s;
        while (*p)
            *p++ = 0;
    }
    free(s);
}

void aws_creds_release(struct aws_creds *c)
{
    if (!c || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    free(c->access_key);
    wipe_free(c->secret_key);
    wipe_free(c->session_token);
    free(c);
}

static struct aws_creds *creds_ref(struct aws_creds *c)
{
    if (c)
        atomic_fetch_add(&c->refs, 1);
    return c;
}

static int creds_new(struct aws_creds **out, const char *ak, const char *sk, const char *tok,
                     int64_t fetched_ms, int64_t expires_ms)
{
    struct aws_creds *c = calloc(1, sizeof(*c));
    if (!c)
        return err_nomem();
    atomic_init(&c->refs, 1);
    c->access_key = strdup(ak);
    c->secret_key = strdup(sk);
    c->session_token = tok && *tok ? strdup(tok) : NULL;
    c->fetched_ms = fetched_ms;
    c->expires_ms = expires_ms;
    if (!c->access_key || !c->secret_key || (tok && *tok && !c->session_token)) {
        aws_creds_release(c);
        return err_nomem();
    }
    *out = c;
    return 0;
}

/* ---- pure parts ---------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? (unsigned)-3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Exactly n ASCII digits at p (sscanf's %d would take signs and spaces,
 * and fewer digits). */
static int fixed_digits(const char *p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return 0;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 1;
}

int aws_parse_time(const char *s, int64_t *ms_out)
{
    int y, mo, d, h, mi, sec;
    if (!s || !fixed_digits(s, 4, &y) || s[4] != '-' || !fixed_digits(s + 5, 2, &mo) ||
        s[7] != '-' || !fixed_digits(s + 8, 2, &d) || !strchr("Tt ", s[10]) || !s[10] ||
        !fixed_digits(s + 11, 2, &h) || s[13] != ':' || !fixed_digits(s + 14, 2, &mi) ||
        s[16] != ':' || !fixed_digits(s + 17, 2, &sec))
        return err_set(CIRRUS_EINVALID, "expected an ISO 8601 time, got \"%.40s\"", s ? s : "");
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return err_set(CIRRUS_EINVALID, "time out of range: \"%.40s\"", s);
    const char *p = s + 19;
    int64_t frac_ms = 0, scale = 100;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
            frac_ms += scale > 0 ? (*p - '0') * scale : 0;
    }
    int64_t off_s = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int oh, om;
        if (!fixed_digits(p + 1, 2, &oh) || p[3] != ':' || !fixed_digits(p + 4, 2, &om) ||
            oh > 23 || om > 59)
            return err_set(CIRRUS_EINVALID, "bad time zone in \"%.40s\"", s);
        off_s = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else if (*p) {
        return err_set(CIRRUS_EINVALID, "bad time zone in \"%.40s\"", s);
    }
    if (*p)
        return err_set(CIRRUS_EINVALID, "trailing text in time \"%.40s\"", s);
    int64_t days = days_from_civil(y, (unsigned)mo, (unsigned)d);
    *ms_out = ((days * 86400 + h * 3600 + mi * 60 + sec) - off_s) * 1000 + frac_ms;
    return 0;
}

int64_t aws_creds_refresh_at(int64_t fetched_ms, int64_t expires_ms)
{
    if (expires_ms == 0)
        return INT64_MAX;
    int64_t life = expires_ms - fetched_ms;
    int64_t margin = life > 0 ? life / 2 : 0;
    if (margin > REFRESH_MARGIN_MS)
        margin = REFRESH_MARGIN_MS;
    return expires_ms - margin;
}

static const char *json_str(json_t *o, const char *key)
{
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

int aws_creds_from_json(struct aws_creds **out, const char *body, size_t len, int process,
                        int64_t now)
{
    int rc = 0;
    json_error_t jerr;
    json_t *doc = json_loadb(body, len, 0, &jerr);
    const char *what = process ? "credential_process output" : "credentials document";
    if (!json_is_object(doc)) {
        rc = err_set(CIRRUS_EINVALID, "%s is not a JSON object (line %d: %s)", what, jerr.line,
                     doc ? "not an object" : jerr.text);
        goto done;
    }
    if (process) {
        json_t *ver = json_object_get(doc, "Version");
        if (!json_is_integer(ver) || json_integer_value(ver) != 1) {
            rc = err_set(CIRRUS_EINVALID, "%s: \"Version\" must be 1", what);
            goto done;
        }
    } else {
        const char *code = json_str(doc, "Code");
        if (code && strcmp(code, "Success") != 0) {
            const char *msg = json_str(doc, "Message");
            rc = err_set(CIRRUS_EAUTH, "%s: Code %.64s%s%.200s", what, code, msg ? ": " : "",
                         msg ? msg : "");
            goto done;
        }
    }
    const char *ak = json_str(doc, "AccessKeyId"), *sk = json_str(doc, "SecretAccessKey");
    const char *tok = json_str(doc, process ? "SessionToken" : "Token");
    const char *exp = json_str(doc, "Expiration");
    if (!tok)
        tok = json_str(doc, process ? "Token" : "SessionToken");
    if (!ak || !*ak || !sk || !*sk) {
        rc = err_set(CIRRUS_EINVALID, "%s: no \"AccessKeyId\" and \"SecretAccessKey\"", what);
        goto done;
    }
    int64_t exp_ms = 0;
    if (exp && (rc = aws_parse_time(exp, &exp_ms)) < 0) {
        rc = err_set(CIRRUS_EINVALID, "%s: bad \"Expiration\" \"%.40s\"", what, exp);
        goto done;
    }
    if (!exp && !process) {
        rc = err_set(CIRRUS_EINVALID, "%s: no \"Expiration\"", what);
        goto done;
    }
    rc = creds_new(out, ak, sk, tok, now, exp_ms);
done:
    json_decref(doc);
    return rc;
}

int aws_creds_from_sts_xml(struct aws_creds **out, const char *body, size_t len, int64_t now)
{
    int rc = 0;
    size_t pos = 0;
    char *ak = NULL, *sk = NULL, *tok = NULL, *exp = NULL;
    int64_t exp_ms = 0;
    /* the order inside <Credentials> is not fixed: each from the start */
    if ((rc = aws_xml_next(body, len, &pos, "AccessKeyId", &ak)) < 0)
        goto missing;
    pos = 0;
    if ((rc = aws_xml_next(body, len, &pos, "SecretAccessKey", &sk)) < 0)
        goto missing;
    pos = 0;
    if ((rc = aws_xml_next(body, len, &pos, "SessionToken", &tok)) == CIRRUS_ENOMEM)
        goto done;
    pos = 0;
    if ((rc = aws_xml_next(body, len, &pos, "Expiration", &exp)) < 0)
        goto missing;
    if (!*ak || !*sk) {
        rc = CIRRUS_EINVALID;
        goto missing;
    }
    if ((rc = aws_parse_time(exp, &exp_ms)) < 0) {
        rc = err_set(CIRRUS_EINVALID, "STS answer: bad <Expiration> \"%.40s\"", exp);
        goto done;
    }
    rc = creds_new(out, ak, sk, tok, now, exp_ms);
    goto done;
missing:
    if (rc != CIRRUS_ENOMEM)
        rc = err_set(CIRRUS_EINVALID, "STS answer has no <Credentials> with <AccessKeyId>, "
                                      "<SecretAccessKey> and <Expiration>");
done:
    free(ak);
    wipe_free(sk);
    wipe_free(tok);
    free(exp);
    return rc;
}

/* ---- INI profiles -------------------------------------------------------- */

static const char *trim(const char *s, const char *e, const char **end_out)
{
    while (s < e && (*s == ' ' || *s == '\t'))
        s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        e--;
    *end_out = e;
    return s;
}

/* Is section header text [s, e) (between '[' and ']') profile `name`? */
static int section_is(const char *s, const char *e, const char *name, int config)
{
    const char *se;
    s = trim(s, e, &se);
    size_t n = strlen(name), len = (size_t)(se - s);
    if (config && len > 8 && strncmp(s, "profile", 7) == 0 && (s[7] == ' ' || s[7] == '\t')) {
        s = trim(s + 8, se, &se);
        len = (size_t)(se - s);
        return len == n && memcmp(s, name, n) == 0;
    }
    /* in the config file only "default" goes without the "profile " */
    if (config && strcmp(name, "default") != 0)
        return 0;
    return len == n && memcmp(s, name, n) == 0;
}

static int set_field(char **field, const char *v, size_t n)
{
    if (*field)
        return 0;
    if ((*field = strndup(v, n)) == NULL)
        return err_nomem();
    return 0;
}

static char **field_of(struct aws_profile *p, const char *k, size_t n)
{
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
        {"aws_access_key_id", offsetof(struct aws_profile, access_key)},
        {"aws_secret_access_key", offsetof(struct aws_profile, secret_key)},
        {"aws_session_token", offsetof(struct aws_profile, session_token)},
        {"credential_process", offsetof(struct aws_profile, credential_process)},
        {"role_arn", offsetof(struct aws_profile, role_arn)},
        {"web_identity_token_file", offsetof(struct aws_profile, web_identity_token_file)},
        {"role_session_name", offsetof(struct aws_profile, role_session_name)},
        {"region", offsetof(struct aws_profile, region)},
        {"ca_bundle", offsetof(struct aws_profile, ca_bundle)},
        {"source_profile", offsetof(struct aws_profile, source_profile)},
        {"external_id", offsetof(struct aws_profile, external_id)},
    };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strlen(keys[i].key) == n && strncasecmp(keys[i].key, k, n) == 0)
            return (char **)((char *)p + keys[i].off);
    return NULL;
}

int aws_profile_parse(struct aws_profile *p, const char *text, size_t len, const char *name,
                      int config)
{
    const char *s = text, *end = text + len;
    int in = 0;
    while (s < end) {
        const char *eol = memchr(s, '\n', (size_t)(end - s)), *le, *l;
        if (!eol)
            eol = end;
        int indented = *s == ' ' || *s == '\t';
        l = trim(s, eol, &le);
        s = eol + 1;
        /* a NUL would cut a value short where it is copied as a C string */
        if (l == le || *l == '#' || *l == ';' || memchr(l, '\0', (size_t)(le - l)))
            continue;
        if (*l == '[') {
            const char *close = memchr(l, ']', (size_t)(le - l));
            in = close && section_is(l + 1, close, name, config);
            continue;
        }
        if (!in || indented)
            continue;
        const char *eq = memchr(l, '=', (size_t)(le - l)), *ke, *ve;
        if (!eq)
            continue;
        const char *k = trim(l, eq, &ke), *v = trim(eq + 1, le, &ve);
        char **f = field_of(p, k, (size_t)(ke - k));
        if (f && ve > v && set_field(f, v, (size_t)(ve - v)) < 0)
            return CIRRUS_ENOMEM;
    }
    return 0;
}

void aws_profile_clear(struct aws_profile *p)
{
    free(p->name);
    free(p->access_key);
    wipe_free(p->secret_key);
    wipe_free(p->session_token);
    free(p->credential_process);
    free(p->role_arn);
    free(p->web_identity_token_file);
    free(p->role_session_name);
    free(p->source_profile);
    free(p->external_id);
    free(p->region);
    free(p->ca_bundle);
    free(p->file);
    memset(p, 0, sizeof(*p));
}

/* Reads a whole file into *out (NUL-terminated). CIRRUS_ENOTFOUND if absent. */
static int read_file(const char *path, char **out, size_t *len_out)
{
    int rc = 0;
    struct buf b = {0};
    char chunk[4096];
    size_t n;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? CIRRUS_ENOTFOUND
                               : err_set(CIRRUS_EIO, "%s: %s", path, strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_append(&b, chunk, n) < 0) {
            rc = err_nomem();
            goto done;
        }
    if (ferror(f)) {
        rc = err_set(CIRRUS_EIO, "%s: read error", path);
        goto done;
    }
    if (buf_put_u8(&b, 0) < 0) {
        rc = err_nomem();
        goto done;
    }
    *len_out = b.len - 1;
    *out = (char *)buf_take(&b, NULL);
done:
    fclose(f);
    if (rc < 0) {
        memset(b.data, 0, b.len);
        buf_free(&b);
    }
    return rc;
}

/* Env var `var` or ~/.aws/`leaf`, malloc'd; NULL without HOME. */
static char *aws_file(const char *var, const char *leaf)
{
    const char *v = getenv(var), *home = getenv("HOME");
    char *out = NULL;
    if (v && *v) {
        if (v[0] == '~' && v[1] == '/' && home) {
            size_t n = strlen(home) + strlen(v);
            if ((out = malloc(n)) != NULL)
                snprintf(out, n, "%s%s", home, v + 1);
            return out;
        }
        return strdup(v);
    }
    if (!home)
        return NULL;
    size_t n = strlen(home) + strlen(leaf) + 8;
    if ((out = malloc(n)) != NULL)
        snprintf(out, n, "%s/.aws/%s", home, leaf);
    return out;
}

static int load_one(struct aws_profile *p, const char *path, int config)
{
    char *text = NULL;
    size_t len = 0;
    int had_keys = p->access_key != NULL;
    int rc = read_file(path, &text, &len);
    if (rc == CIRRUS_ENOTFOUND)
        return 0;
    if (rc < 0)
        return rc;
    rc = aws_profile_parse(p, text, len, p->name, config);
    if (rc == 0 && !had_keys && p->access_key && !p->file && (p->file = strdup(path)) == NULL)
        rc = err_nomem();
    memset(text, 0, len);
    free(text);
    return rc;
}

int aws_profile_load(struct aws_profile *p)
{
    const char *name = getenv("AWS_PROFILE");
    return aws_profile_load_named(p, name && *name ? name : "default");
}

int aws_profile_load_named(struct aws_profile *p, const char *name)
{
    int rc = 0;
    char *cred = aws_file("AWS_SHARED_CREDENTIALS_FILE", "credentials");
    char *conf = aws_file("AWS_CONFIG_FILE", "config");
    memset(p, 0, sizeof(*p));
    if ((p->name = strdup(name)) == NULL) {
        rc = err_nomem();
        goto done;
    }
    if ((cred && (rc = load_one(p, cred, 0)) < 0) || (conf && (rc = load_one(p, conf, 1)) < 0))
        goto done;
    /* a process named in the credentials file wins over the config's */
    if (p->credential_process && !p->file && (p->file = strdup(cred ? cred : "")) == NULL)
        rc = err_nomem();
done:
    free(cred);
    free(conf);
    if (rc < 0)
        aws_profile_clear(p);
    return rc;
}

/* ---- HTTP fetches -------------------------------------------------------- */

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    size_t n = size * nmemb;
    return buf_append(arg, ptr, n) < 0 ? 0 : n;
}

/* One transfer. headers: NULL-ended "Name: value" lines. body: NULL for
 * none. *status_out: the HTTP status (0 if none); the body in *out (cleared
 * first, NUL-terminated). Returns 0 if a response arrived (any status),
 * CIRRUS_EIO / CIRRUS_ETIMEOUT naming what and url, or CIRRUS_ENOMEM. */
static int http_fetch(const struct aws_cred_provider *p, const char *what, const char *method,
                      const char *url, const char *const *headers, const char *body,
                      long timeout_ms, long *status_out, struct buf *out)
{
    int rc = 0;
    char errbuf[CURL_ERROR_SIZE] = "";
    struct curl_slist *hl = NULL;
    CURL *e = curl_easy_init();
    out->len = 0;
    *status_out = 0;
    if (!e)
        return err_nomem();
    for (size_t i = 0; headers && headers[i]; i++) {
        struct curl_slist *n = curl_slist_append(hl, headers[i]);
        if (!n) {
            rc = err_nomem();
            goto done;
        }
        hl = n;
    }
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms < 1000 ? timeout_ms : 1000L);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, hl);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, errbuf);
    if (p->ca_bundle)
        curl_easy_setopt(e, CURLOPT_CAINFO, p->ca_bundle);
    if (body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(body));
    } else if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
    }
    curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, method);
    CURLcode cc = curl_easy_perform(e);
    if (cc != CURLE_OK) {
        rc = err_set(cc == CURLE_OPERATION_TIMEDOUT ? CIRRUS_ETIMEOUT : CIRRUS_EIO, "%s: %s %s: %s",
                     what, method, url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
        goto done;
    }
    curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, status_out);
    if (buf_put_u8(out, 0) < 0) {
        rc = err_nomem();
        goto done;
    }
    out->len--;
done:
    curl_slist_free_all(hl);
    curl_easy_cleanup(e);
    return rc;
}

/* The error of a non-2xx answer: status, the service's code and message. */
static int http_refused(const char *what, const char *method, const char *url, long status,
                        const struct buf *b, int json)
{
    char code[96] = "", msg[256] = "";
    json_t *doc = json ? json_loadb((const char *)b->data, b->len, 0, NULL) : NULL;
    if (json_is_object(doc)) {
        /* the container agents write {"code", "message"}; IMDS plain text */
        const char *k = json_str(doc, "code"), *m = json_str(doc, "message");
        k = k ? k : json_str(doc, "Code");
        m = m ? m : json_str(doc, "Message");
        snprintf(code, sizeof(code), "%s", k ? k : "");
        snprintf(msg, sizeof(msg), "%s", m ? m : "");
    } else if (!json) {
        aws_parse_error((const char *)b->data, b->len, 0, code, sizeof(code), msg, sizeof(msg));
    }
    json_decref(doc);
    int rc = status == 401 || status == 403 || (status == 400 && code[0]) ? CIRRUS_EAUTH
             : status >= 500                                              ? CIRRUS_EIO
                                                                          : CIRRUS_EAUTH;
    return err_set(rc, "%s: %s %s: HTTP %ld%s%s%s%s", what, method, url, status, code[0] ? " " : "",
                   code, msg[0] ? ": " : "", msg);
}

/* ---- sources --------------------------------------------------------------- */

/* A token file's contents, trimmed (malloc'd; caller wipes and frees). */
static int read_token(const char *path, const char *what, char **out)
{
    size_t len = 0;
    int rc = read_file(path, out, &len);
    if (rc == CIRRUS_ENOTFOUND)
        return err_set(CIRRUS_EAUTH, "%s: token file %s does not exist", what, path);
    if (rc < 0)
        return rc;
    while (len > 0 &&
           ((*out)[len - 1] == '\n' || (*out)[len - 1] == '\r' || (*out)[len - 1] == ' '))
        (*out)[--len] = '\0';
    return 0;
}

static int fetch_web_identity(struct aws_cred_provider *p, struct aws_creds **out)
{
    int rc = 0;
    char *token = NULL;
    struct buf form = {0}, resp = {0};
    long status = 0;
    const char *hdrs[] = {"Content-Type: application/x-www-form-urlencoded", "Accept: text/xml",
                          NULL};
    if ((rc = read_token(p->token_file, "web identity", &token)) < 0)
        goto done;
    const char *lit = "Action=AssumeRoleWithWebIdentity&Version=2011-06-15&RoleArn=";
    if (buf_append(&form, lit, strlen(lit)) < 0 || aws_uri_encode(&form, p->role_arn, 0) < 0 ||
        buf_append(&form, "&RoleSessionName=", 17) < 0 ||
        aws_uri_encode(&form, p->session_name, 0) < 0 ||
        buf_append(&form, "&WebIdentityToken=", 18) < 0 || aws_uri_encode(&form, token, 0) < 0 ||
        buf_put_u8(&form, 0) < 0) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = http_fetch(p, "STS AssumeRoleWithWebIdentity", "POST", p->sts_url, hdrs,
                         (const char *)form.data, FETCH_TIMEOUT_MS, &status, &resp)) < 0)
        goto done;
    if (status != 200) {
        rc = http_refused("STS AssumeRoleWithWebIdentity", "POST", p->sts_url, status, &resp, 0);
        goto done;
    }
    rc = aws_creds_from_sts_xml(out, (const char *)resp.data, resp.len, now_ms());
done:
    wipe_free(token);
    if (form.data)
        memset(form.data, 0, form.len);
    buf_free(&form);
    if (resp.data)
        memset(resp.data, 0, resp.len);
    buf_free(&resp);
    return rc;
}

/* STS AssumeRole, SigV4-signed with the base provider's credentials. */
static int fetch_assume_role(struct aws_cred_provider *p, struct aws_creds **out)
{
    int rc = 0;
    struct aws_creds *bc = aws_cred_get(p->base);
    struct buf form = {0}, resp = {0};
    char sha[65], date[20], host[256], host_line[300], date_line[40], tok_line[4096];
    char *auth = NULL, *auth_line = NULL;
    long status = 0;
    const char *ctype = "Content-Type: application/x-www-form-urlencoded; charset=utf-8";
    if (!bc)
        return err_set(CIRRUS_EAUTH, "AssumeRole of %s: %s gives no credentials", p->role_arn,
                       aws_cred_source(p->base));
    const char *lit = "Action=AssumeRole&Version=2011-06-15&RoleArn=";
    if (buf_append(&form, lit, strlen(lit)) < 0 || aws_uri_encode(&form, p->role_arn, 0) < 0 ||
        buf_append(&form, "&RoleSessionName=", 17) < 0 ||
        aws_uri_encode(&form, p->session_name, 0) < 0 ||
        (p->external_id && (buf_append(&form, "&ExternalId=", 12) < 0 ||
                            aws_uri_encode(&form, p->external_id, 0) < 0)) ||
        buf_put_u8(&form, 0) < 0) {
        rc = err_nomem();
        goto done;
    }
    aws_sha256_hex(form.data, form.len - 1, sha);
    const char *h = strstr(p->sts_url, "://");
    h = h ? h + 3 : p->sts_url;
    size_t hlen = strcspn(h, "/?");
    snprintf(host, sizeof(host), "%.*s", (int)hlen, h);
    const char *path = h[hlen] == '/' ? h + hlen : "/";
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof(date), "%Y%m%dT%H%M%SZ", &tm);
    const char *signed_lines[] = {ctype, tok_line};
    if (bc->session_token)
        snprintf(tok_line, sizeof(tok_line), "x-amz-security-token: %s", bc->session_token);
    struct aws_sigv4 sg = {.method = "POST",
                           .host = host,
                           .path = path,
                           .query = NULL,
                           .headers = signed_lines,
                           .n_headers = bc->session_token ? 2 : 1,
                           .payload_sha256 = sha,
                           .amz_date = date,
                           .region = p->region,
                           .service = "sts",
                           .access_key = bc->access_key,
                           .secret_key = bc->secret_key};
    if ((rc = aws_sigv4_authorization(&sg, &auth)) < 0)
        goto done;
    size_t alen = strlen(auth) + 32;
    if (!(auth_line = malloc(alen))) {
        rc = err_nomem();
        goto done;
    }
    snprintf(auth_line, alen, "Authorization: %s", auth);
    snprintf(host_line, sizeof(host_line), "Host: %s", host);
    snprintf(date_line, sizeof(date_line), "x-amz-date: %s", date);
    const char *hdrs[] = {ctype,     "Accept: text/xml", host_line,
                          date_line, auth_line,          bc->session_token ? tok_line : NULL,
                          NULL};
    if ((rc = http_fetch(p, "STS AssumeRole", "POST", p->sts_url, hdrs, (const char *)form.data,
                         FETCH_TIMEOUT_MS, &status, &resp)) < 0)
        goto done;
    if (status != 200) {
        rc = http_refused("STS AssumeRole", "POST", p->sts_url, status, &resp, 0);
        goto done;
    }
    rc = aws_creds_from_sts_xml(out, (const char *)resp.data, resp.len, now_ms());
done:
    aws_creds_release(bc);
    memset(tok_line, 0, sizeof(tok_line));
    free(auth);
    free(auth_line);
    buf_free(&form);
    if (resp.data)
        memset(resp.data, 0, resp.len);
    buf_free(&resp);
    return rc;
}

static int fetch_process(struct aws_cred_provider *p, struct aws_creds **out)
{
    int rc = 0;
    struct buf b = {0};
    char chunk[4096];
    size_t n;
    /* stdout carries the secret; stderr goes where ours goes */
    FILE *f = popen(p->process_cmd, "r");
    if (!f)
        return err_set(CIRRUS_EIO, "credential_process: cannot run: %s", strerror(errno));
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        if (buf_append(&b, chunk, n) < 0) {
            rc = err_nomem();
            break;
        }
    memset(chunk, 0, sizeof(chunk));
    int st = pclose(f);
    if (rc < 0)
        goto done;
    if (st == -1 || !WIFEXITED(st) || WEXITSTATUS(st) != 0) {
        rc = err_set(CIRRUS_EAUTH, "credential_process exited with status %d",
                     st == -1        ? -1
                     : WIFEXITED(st) ? WEXITSTATUS(st)
                                     : 128 + WTERMSIG(st));
        goto done;
    }
    rc = aws_creds_from_json(out, (const char *)b.data, b.len, 1, now_ms());
done:
    if (b.data)
        memset(b.data, 0, b.len);
    buf_free(&b);
    return rc;
}

/* Parses a credentials JSON answer (container or IMDS) from resp. */
static int creds_of_answer(const char *what, const char *method, const char *url, long status,
                           struct buf *resp, struct aws_creds **out)
{
    if (status != 200)
        return http_refused(what, method, url, status, resp, 1);
    int rc = aws_creds_from_json(out, (const char *)resp->data, resp->len, 0, now_ms());
    if (rc < 0 && rc != CIRRUS_ENOMEM)
        return err_prefix(rc, "%s: %s %s", what, method, url);
    return rc;
}

static int fetch_container(struct aws_cred_provider *p, struct aws_creds **out)
{
    int rc = 0;
    char *token = NULL, *auth = NULL;
    struct buf resp = {0};
    long status = 0;
    const char *hdrs[3] = {"Accept: application/json", NULL, NULL};
    if (p->container_token_file) {
        if ((rc = read_token(p->container_token_file, "container credentials", &token)) < 0)
            goto done;
    } else if (p->container_token && (token = strdup(p->container_token)) == NULL) {
        rc = err_nomem();
        goto done;
    }
    if (token) {
        size_t n = strlen(token) + 32;
        if ((auth = malloc(n)) == NULL) {
            rc = err_nomem();
            goto done;
        }
        snprintf(auth, n, "Authorization: %s", token);
        hdrs[1] = auth;
    }
    if ((rc = http_fetch(p, "container credentials", "GET", p->container_url, hdrs, NULL,
                         FETCH_TIMEOUT_MS, &status, &resp)) < 0)
        goto done;
    rc = creds_of_answer("container credentials", "GET", p->container_url, status, &resp, out);
done:
    wipe_free(token);
    wipe_free(auth);
    if (resp.data)
        memset(resp.data, 0, resp.len);
    buf_free(&resp);
    return rc;
}

/* An IMDSv2 session token, fetched again a minute before its TTL ends. */
static int imds_token(struct aws_cred_provider *p, char *hdr, size_t cap)
{
    int rc = 0;
    struct buf resp = {0};
    long status = 0;
    char url[512], ttl[80];
    if (!p->imds_token || now_ms() + 60000 >= p->imds_token_expires_ms) {
        snprintf(url, sizeof(url), "%s/latest/api/token", p->imds_base);
        snprintf(ttl, sizeof(ttl), "X-aws-ec2-metadata-token-ttl-seconds: %d", IMDS_TOKEN_TTL_S);
        const char *hdrs[] = {ttl, NULL};
        if ((rc = http_fetch(p, "instance metadata token", "PUT", url, hdrs, NULL, IMDS_TIMEOUT_MS,
                             &status, &resp)) < 0)
            goto done;
        if (status != 200 || resp.len == 0 || resp.len > 1024) {
            rc = http_refused("instance metadata token", "PUT", url, status, &resp, 1);
            goto done;
        }
        wipe_free(p->imds_token);
        if ((p->imds_token = strndup((const char *)resp.data, resp.len)) == NULL) {
            rc = err_nomem();
            goto done;
        }
        p->imds_token_expires_ms = now_ms() + (int64_t)IMDS_TOKEN_TTL_S * 1000;
    }
    snprintf(hdr, cap, "X-aws-ec2-metadata-token: %s", p->imds_token);
done:
    buf_free(&resp);
    return rc;
}

/* GET one IMDS path with the session token; a 401 (token expired or
 * revoked) gets one new token and one more try. */
static int imds_get(struct aws_cred_provider *p, const char *what, const char *path, long *status,
                    struct buf *resp, char *url, size_t url_cap)
{
    int rc = 0;
    char hdr[1200];
    snprintf(url, url_cap, "%s%s", p->imds_base, path);
    for (int i = 0; i < 2; i++) {
        if ((rc = imds_token(p, hdr, sizeof(hdr))) < 0)
            break;
        const char *hdrs[] = {hdr, "Accept: application/json", NULL};
        rc = http_fetch(p, what, "GET", url, hdrs, NULL, IMDS_TIMEOUT_MS, status, resp);
        if (rc < 0 || *status != 401)
            break;
        wipe_free(p->imds_token);
        p->imds_token = NULL;
    }
    memset(hdr, 0, sizeof(hdr));
    return rc;
}

static int fetch_imds(struct aws_cred_provider *p, struct aws_creds **out)
{
    int rc = 0;
    struct buf resp = {0};
    long status = 0;
    char url[768], path[512];
    const char *base = "/latest/meta-data/iam/security-credentials/";
    if (!p->imds_role) {
        if ((rc = imds_get(p, "instance metadata role", base, &status, &resp, url, sizeof(url))) <
            0)
            goto done;
        if (status != 200 || resp.len == 0) {
            rc = status == 404
                     ? err_set(CIRRUS_EAUTH,
                               "instance metadata: GET %s: HTTP 404: "
                               "no IAM role is attached to this instance",
                               url)
                     : http_refused("instance metadata role", "GET", url, status, &resp, 1);
            goto done;
        }
        size_t n = strcspn((const char *)resp.data, "\r\n");
        if (n == 0 || n > 128 || (p->imds_role = strndup((const char *)resp.data, n)) == NULL) {
            rc = n == 0 || n > 128 ? err_set(CIRRUS_EINVALID, "instance metadata: bad role name")
                                   : err_nomem();
            goto done;
        }
        /* named once, before the refresher starts: messages read it freely */
        if (!p->has_thread)
            snprintf(p->source, sizeof(p->source),
                     "instance metadata (IMDSv2, role %.128s at %.300s)", p->imds_role,
                     p->imds_base);
    }
    snprintf(path, sizeof(path), "%s%s", base, p->imds_role);
    if ((rc = imds_get(p, "instance metadata credentials", path, &status, &resp, url,
                       sizeof(url))) < 0)
        goto done;
    if (status == 404) {
        /* the role was replaced: look it up again next time */
        free(p->imds_role);
        p->imds_role = NULL;
    }
    rc = creds_of_answer("instance metadata credentials", "GET", url, status, &resp, out);
done:
    if (resp.data)
        memset(resp.data, 0, resp.len);
    buf_free(&resp);
    return rc;
}

/* The region IMDS knows (placement/region), best effort. */
static void imds_region(struct aws_cred_provider *p)
{
    struct buf resp = {0};
    long status = 0;
    char url[768];
    int rc = imds_get(p, "instance metadata region", "/latest/meta-data/placement/region", &status,
                      &resp, url, sizeof(url));
    if (rc == 0 && status == 200 && resp.len > 0 && resp.len < 64)
        p->imds_region = strndup((const char *)resp.data, resp.len);
    buf_free(&resp);
    err_clear();
}

/* Fetches a new triple from p's source (no lock held). */
static int fetch(struct aws_cred_provider *p, struct aws_creds **out)
{
    int rc;
    switch (p->kind) {
    case K_WEB_IDENTITY:
        rc = fetch_web_identity(p, out);
        break;
    case K_PROCESS:
        rc = fetch_process(p, out);
        break;
    case K_CONTAINER:
        rc = fetch_container(p, out);
        break;
    case K_IMDS:
        rc = fetch_imds(p, out);
        break;
    case K_ASSUME_ROLE:
        rc = fetch_assume_role(p, out);
        break;
    default:
        return err_set(CIRRUS_EINVALID, "credentials from %s cannot be refreshed", p->source);
    }
    if (rc == 0 && (*out)->expires_ms && (*out)->expires_ms <= now_ms()) {
        aws_creds_release(*out);
        *out = NULL;
        rc = err_set(CIRRUS_EAUTH, "credentials from %s: handed out already expired", p->source);
    }
    return rc;
}

/* ---- refreshing ------------------------------------------------------------ */

/* Runs one fetch as the only fetcher and publishes its result; called and
 * returns with p->lock held. */
static int refresh_locked(struct aws_cred_provider *p)
{
    struct aws_creds *fresh = NULL, *old = NULL;
    p->refreshing = 1;
    pthread_mutex_unlock(&p->lock);
    int rc = fetch(p, &fresh);
    pthread_mutex_lock(&p->lock);
    p->refreshing = 0;
    if (rc == 0) {
        old = p->cur;
        p->cur = fresh;
        p->n_refresh++;
        p->next_try_ms = 0;
        if (p->debug)
            fprintf(stderr,
                    "cirrus-aws: refreshed credentials from %s (refresh %lu, expire in %lld ms)\n",
                    p->source, p->n_refresh, (long long)(fresh->expires_ms - now_ms()));
    } else {
        /* try again soon, but not in a tight loop; never silently: the
         * refresher has no handle, so this goes to the process's default
         * logger (stderr at warn, counted by log_count). The message names
         * the source and the cause, never the credentials. */
        p->next_try_ms = now_ms() + 500;
        log_msg(NULL, CIRRUS_LOG_WARN, "credentials",
                "refreshing credentials from %s failed (retried in 500 ms): %s", p->source,
                cirrus_errmsg());
    }
    pthread_cond_broadcast(&p->cond);
    pthread_mutex_unlock(&p->lock);
    aws_creds_release(old);
    pthread_mutex_lock(&p->lock);
    return rc;
}

static void *refresher(void *arg)
{
    struct aws_cred_provider *p = arg;
    pthread_mutex_lock(&p->lock);
    while (!p->stop) {
        int64_t at =
            p->cur ? aws_creds_refresh_at(p->cur->fetched_ms, p->cur->expires_ms) : now_ms();
        if (p->next_try_ms > at)
            at = p->next_try_ms;
        int64_t now = now_ms();
        if (at > now || p->refreshing) {
            int64_t wake = at > now ? at : now + 100;
            struct timespec ts = {.tv_sec = wake / 1000, .tv_nsec = (long)(wake % 1000) * 1000000};
            pthread_cond_timedwait(&p->cond, &p->lock, &ts);
            continue;
        }
        refresh_locked(p);
        err_clear();
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* A triple this close to its expiry (ms) is treated as expired: a request
 * signed with it could arrive late. 1 s, less for short-lived ones. */
static int64_t expiry_guard(const struct aws_creds *c)
{
    int64_t life = c->expires_ms - c->fetched_ms;
    return life / 5 < 1000 ? (life > 0 ? life / 5 : 0) : 1000;
}

struct aws_creds *aws_cred_get(struct aws_cred_provider *p)
{
    pthread_mutex_lock(&p->lock);
    struct aws_creds *c = p->cur;
    if (c && c->expires_ms && p->kind != K_STATIC && c->expires_ms <= now_ms() + expiry_guard(c)) {
        /* expired (or about to, mid-request): wait for a fetch */
        if (p->debug)
            fprintf(stderr, "cirrus-aws: credentials from %s expired; waiting for new ones\n",
                    p->source);
        int64_t until = now_ms() + FETCH_TIMEOUT_MS + 1000;
        while (p->cur == c && now_ms() < until) {
            if (!p->refreshing) {
                refresh_locked(p);
                break;
            }
            struct timespec ts = {.tv_sec = until / 1000,
                                  .tv_nsec = (long)(until % 1000) * 1000000};
            pthread_cond_timedwait(&p->cond, &p->lock, &ts);
        }
    }
    c = creds_ref(p->cur);
    pthread_mutex_unlock(&p->lock);
    return c;
}

int aws_cred_refresh(struct aws_cred_provider *p, const struct aws_creds *stale)
{
    int rc = 0;
    if (!aws_cred_refreshable(p))
        return err_set(CIRRUS_EINVALID, "credentials from %s cannot be refreshed", p->source);
    pthread_mutex_lock(&p->lock);
    while (p->cur == stale && p->refreshing)
        pthread_cond_wait(&p->cond, &p->lock);
    if (p->cur == stale)
        rc = refresh_locked(p);
    pthread_mutex_unlock(&p->lock);
    return rc;
}

int aws_cred_refreshable(const struct aws_cred_provider *p)
{
    return p->kind == K_WEB_IDENTITY || p->kind == K_PROCESS || p->kind == K_CONTAINER ||
           p->kind == K_IMDS || p->kind == K_ASSUME_ROLE;
}

const char *aws_cred_source(const struct aws_cred_provider *p)
{
    return p->source;
}

const char *aws_cred_region(const struct aws_cred_provider *p)
{
    return p->imds_region;
}

unsigned long aws_cred_refreshes(struct aws_cred_provider *p)
{
    pthread_mutex_lock(&p->lock);
    unsigned long n = p->n_refresh;
    pthread_mutex_unlock(&p->lock);
    return n;
}

/* ---- the chain ------------------------------------------------------------- */

/* libcurl's global state, before the first fetch (aws.c does the same for
 * its client; the calls are reference-counted). */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;

static void curl_init(void)
{
    curl_global_init(CURL_GLOBAL_DEFAULT);
}

static struct aws_cred_provider *provider_alloc(enum kind kind, int debug)
{
    struct aws_cred_provider *p = calloc(1, sizeof(*p));
    if (!p)
        return NULL;
    p->kind = kind;
    p->debug = debug;
    pthread_mutex_init(&p->lock, NULL);
    pthread_cond_init(&p->cond, NULL);
    return p;
}

int aws_cred_provider_static(struct aws_cred_provider **out, const char *ak, const char *sk,
                             const char *tok, const char *source)
{
    struct aws_cred_provider *p = provider_alloc(K_STATIC, 0);
    if (!p)
        return err_nomem();
    snprintf(p->source, sizeof(p->source), "%s", source);
    int rc = creds_new(&p->cur, ak, sk, tok, now_ms(), 0);
    if (rc < 0) {
        aws_cred_provider_close(p);
        return rc;
    }
    *out = p;
    return 0;
}

void aws_cred_provider_close(struct aws_cred_provider *p)
{
    if (!p)
        return;
    if (p->share_key) {
        pthread_mutex_lock(&shared_mu);
        int last = --p->share_refs == 0;
        if (last)
            for (struct aws_cred_provider **l = &shared_list; *l; l = &(*l)->share_next)
                if (*l == p) {
                    *l = p->share_next;
                    break;
                }
        pthread_mutex_unlock(&shared_mu);
        if (!last)
            return;
        wipe_free(p->share_key);
    }
    if (p->has_thread) {
        pthread_mutex_lock(&p->lock);
        p->stop = 1;
        pthread_cond_broadcast(&p->cond);
        pthread_mutex_unlock(&p->lock);
        pthread_join(p->thread, NULL);
    }
    aws_creds_release(p->cur);
    aws_cred_provider_close(p->base);
    free(p->external_id);
    free(p->region);
    free(p->ca_bundle);
    free(p->role_arn);
    free(p->session_name);
    free(p->token_file);
    free(p->sts_url);
    free(p->process_cmd);
    free(p->container_url);
    wipe_free(p->container_token);
    free(p->container_token_file);
    free(p->imds_base);
    wipe_free(p->imds_token);
    free(p->imds_role);
    free(p->imds_region);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->cond);
    free(p);
}

static const char *env(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

static int dup_or_null(char **out, const char *s)
{
    *out = NULL;
    if (s && (*out = strdup(s)) == NULL)
        return err_nomem();
    return 0;
}

/* The STS endpoint, ending in "/": AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL,
 * else the region's. */
static void sts_url(char *buf, size_t cap, const char *region)
{
    const char *ep = env("AWS_ENDPOINT_URL_STS");
    if (!ep)
        ep = env("AWS_ENDPOINT_URL");
    if (ep)
        snprintf(buf, cap, "%s", ep);
    else
        snprintf(buf, cap, "https://sts.%s.amazonaws.com", region);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '/')
        buf[--n] = '\0';
    if (n + 2 < cap)
        strcat(buf, "/");
}

static int start_refresher(struct aws_cred_provider *p);

/* The first fetch of a refreshable source, and its refresher thread. */
static int begin(struct aws_cred_provider *p)
{
    pthread_once(&curl_once, curl_init);
    int rc = fetch(p, &p->cur);
    return rc < 0 ? rc : start_refresher(p);
}

static int choose_profile(struct aws_cred_provider *p, const struct aws_profile *pf,
                          const struct aws_cred_opts *o, int depth);

/* p assumes pf->role_arn with what pf->source_profile gives (a profile
 * naming itself gives its own keys, as in the AWS CLI). */
static int choose_assume_role(struct aws_cred_provider *p, const struct aws_profile *pf,
                              const struct aws_cred_opts *o, int depth)
{
    struct aws_profile src;
    char url[512], sname[64];
    int rc;
    if (depth >= ROLE_CHAIN_MAX)
        return err_set(CIRRUS_EINVALID, "profile %s: source_profile chain deeper than %d", pf->name,
                       ROLE_CHAIN_MAX);
    if ((rc = aws_profile_load_named(&src, pf->source_profile)) < 0)
        return rc;
    if (!(p->base = provider_alloc(K_NONE, p->debug)) ||
        dup_or_null(&p->base->ca_bundle, p->ca_bundle) < 0) {
        rc = err_nomem();
        goto done;
    }
    if (strcmp(src.name, pf->name) == 0) { /* its own keys */
        free(src.role_arn);
        src.role_arn = NULL;
    }
    if ((rc = choose_profile(p->base, &src, o, depth + 1)) < 0)
        goto done;
    if (p->base->kind == K_NONE) {
        rc = err_set(CIRRUS_EINVALID, "profile %s: source_profile %s has no credentials", pf->name,
                     pf->source_profile);
        goto done;
    }
    if (aws_cred_refreshable(p->base) && (rc = begin(p->base)) < 0) {
        rc = err_prefix(rc, "credentials from %s", p->base->source);
        goto done;
    }
    sts_url(url, sizeof(url), o->region);
    snprintf(sname, sizeof(sname), "cirrus-%lld", (long long)(now_ms() / 1000));
    p->kind = K_ASSUME_ROLE;
    snprintf(p->source, sizeof(p->source), "role %.150s of profile %.60s (STS %.100s, with %.150s)",
             pf->role_arn, pf->name, url, p->base->source);
    if ((rc = dup_or_null(&p->role_arn, pf->role_arn)) < 0 ||
        (rc = dup_or_null(&p->session_name,
                          pf->role_session_name ? pf->role_session_name : sname)) < 0 ||
        (rc = dup_or_null(&p->external_id, pf->external_id)) < 0 ||
        (rc = dup_or_null(&p->region, o->region)) < 0 || (rc = dup_or_null(&p->sts_url, url)) < 0)
        goto done;
done:
    aws_profile_clear(&src);
    return rc;
}

/* The profile's own source: a role to assume, keys, a credential_process,
 * or none (p->kind stays K_NONE). */
static int choose_profile(struct aws_cred_provider *p, const struct aws_profile *pf,
                          const struct aws_cred_opts *o, int depth)
{
    if (pf->role_arn && pf->source_profile)
        return choose_assume_role(p, pf, o, depth);
    if (pf->access_key || pf->secret_key) {
        if (!pf->access_key || !pf->secret_key)
            return err_set(CIRRUS_EINVALID,
                           "profile %s (%s): aws_access_key_id and "
                           "aws_secret_access_key must both be set",
                           pf->name, pf->file ? pf->file : "?");
        p->kind = K_STATIC;
        snprintf(p->source, sizeof(p->source), "profile %.100s (%.300s)", pf->name,
                 pf->file ? pf->file : "?");
        return creds_new(&p->cur, pf->access_key, pf->secret_key, pf->session_token, now_ms(), 0);
    }
    if (pf->credential_process) {
        p->kind = K_PROCESS;
        snprintf(p->source, sizeof(p->source), "credential_process of profile %.100s", pf->name);
        return dup_or_null(&p->process_cmd, pf->credential_process);
    }
    return 0;
}

/* Decides which source is configured and fills p's parameters for it.
 * Sets p->kind (K_NONE if nothing) or, for static keys, p->cur. */
static int choose(struct aws_cred_provider *p, const struct aws_cred_opts *o)
{
    const struct aws_profile *pf = o->profile;
    const char *ak = env("AWS_ACCESS_KEY_ID"), *sk = env("AWS_SECRET_ACCESS_KEY");
    char buf[512];
    if (ak || sk) {
        if (!ak || !sk)
            return err_set(CIRRUS_EINVALID, "%s is set but %s is not",
                           ak ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY",
                           ak ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID");
        p->kind = K_STATIC;
        snprintf(p->source, sizeof(p->source), "environment (AWS_ACCESS_KEY_ID)");
        return creds_new(&p->cur, ak, sk, env("AWS_SESSION_TOKEN"), now_ms(), 0);
    }
    const char *tf = env("AWS_WEB_IDENTITY_TOKEN_FILE"), *arn = env("AWS_ROLE_ARN");
    const char *sess = env("AWS_ROLE_SESSION_NAME");
    const char *how = "AWS_WEB_IDENTITY_TOKEN_FILE";
    if (!tf && pf && pf->web_identity_token_file && pf->role_arn) {
        tf = pf->web_identity_token_file;
        arn = pf->role_arn;
        sess = pf->role_session_name;
        how = "profile";
    }
    if (tf) {
        if (!arn)
            return err_set(CIRRUS_EINVALID,
                           "AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is not");
        sts_url(buf, sizeof(buf), o->region);
        char sname[64];
        snprintf(sname, sizeof(sname), "cirrus-%lld", (long long)(now_ms() / 1000));
        p->kind = K_WEB_IDENTITY;
        snprintf(p->source, sizeof(p->source), "web identity (%s, role %.200s, STS %.200s)", how,
                 arn, buf);
        int rc;
        if ((rc = dup_or_null(&p->token_file, tf)) < 0 ||
            (rc = dup_or_null(&p->role_arn, arn)) < 0 ||
            (rc = dup_or_null(&p->session_name, sess ? sess : sname)) < 0 ||
            (rc = dup_or_null(&p->sts_url, buf)) < 0)
            return rc;
        return 0;
    }
    if (pf) {
        int rc = choose_profile(p, pf, o, 0);
        if (rc < 0 || p->kind != K_NONE)
            return rc;
    }
    const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    if (rel || full) {
        if (rel)
            snprintf(buf, sizeof(buf), "%s%s%s", CONTAINER_HOST, rel[0] == '/' ? "" : "/", rel);
        else
            snprintf(buf, sizeof(buf), "%s", full);
        p->kind = K_CONTAINER;
        snprintf(p->source, sizeof(p->source), "container endpoint %.400s", buf);
        int rc;
        if ((rc = dup_or_null(&p->container_url, buf)) < 0 ||
            (rc = dup_or_null(&p->container_token_file,
                              env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"))) < 0 ||
            (rc = dup_or_null(&p->container_token, env("AWS_CONTAINER_AUTHORIZATION_TOKEN"))) < 0)
            return rc;
        return 0;
    }
    const char *dis = env("AWS_EC2_METADATA_DISABLED");
    if (dis && strcasecmp(dis, "true") == 0) {
        snprintf(p->source, sizeof(p->source),
                 "none (no AWS_ACCESS_KEY_ID, web identity, profile %s, container endpoint; "
                 "AWS_EC2_METADATA_DISABLED=true)",
                 pf ? pf->name : "default");
        return 0;
    }
    const char *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    snprintf(buf, sizeof(buf), "%s", ep ? ep : IMDS_HOST);
    size_t n = strlen(buf);
    while (n > 0 && buf[n - 1] == '/')
        buf[--n] = '\0';
    p->kind = K_IMDS;
    snprintf(p->source, sizeof(p->source), "instance metadata (IMDSv2 at %.400s)", buf);
    return dup_or_null(&p->imds_base, buf);
}

/* The thread that keeps p's expiring credentials fresh (invariant 3). */
static int start_refresher(struct aws_cred_provider *p)
{
    if (!p->cur->expires_ms)
        return 0;
    if (pthread_create(&p->thread, NULL, refresher, p) != 0)
        return err_set(CIRRUS_EIO, "cannot start the credential refresher thread");
    p->has_thread = 1;
    return 0;
}

int aws_cred_provider_open(struct aws_cred_provider **out, const struct aws_cred_opts *o)
{
    int rc = 0;
    struct aws_cred_provider *p = provider_alloc(K_NONE, o->debug);
    if (!p)
        return err_nomem();
    if ((rc = dup_or_null(&p->ca_bundle, o->ca_bundle)) < 0 || (rc = choose(p, o)) < 0)
        goto done;
    if (aws_cred_refreshable(p)) {
        pthread_once(&curl_once, curl_init);
        rc = fetch(p, &p->cur);
        if (rc < 0 && rc != CIRRUS_ENOMEM && p->kind == K_IMDS) {
            /* not on EC2, no role, or another cloud's metadata service: no
             * credentials, as the SDKs conclude; requests go unsigned */
            char why[200];
            snprintf(why, sizeof(why), "%s", cirrus_errmsg());
            err_clear();
            snprintf(p->source, sizeof(p->source),
                     "none (no AWS_ACCESS_KEY_ID, web identity, profile keys, container endpoint; "
                     "instance metadata: %.200s)",
                     why);
            p->kind = K_NONE;
            rc = 0;
            goto done;
        }
        if (rc < 0) {
            if (rc != CIRRUS_ENOMEM)
                rc = err_prefix(rc, "credentials from %s", p->source);
            goto done;
        }
        if (p->kind == K_IMDS)
            imds_region(p);
        rc = start_refresher(p);
    }
done:
    if (rc < 0) {
        aws_cred_provider_close(p);
        return rc;
    }
    *out = p;
    return 0;
}

/* Adds s to a share key, length first, so that no value runs into the
 * next; NULL differs from "". */
static int key_add(struct buf *b, const char *s)
{
    char len[24];
    int n = s ? snprintf(len, sizeof(len), "%zu:", strlen(s)) : snprintf(len, sizeof(len), "-");
    if (buf_append(b, len, (size_t)n) < 0 || (s && buf_append(b, s, strlen(s)) < 0))
        return err_nomem();
    return 0;
}

/* What decides the chain's outcome for o: the environment it reads and
 * the profile as loaded (with its keys: the key is wiped when freed). */
static int share_key(const struct aws_cred_opts *o, struct buf *b)
{
    static const char *const vars[] = {
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_WEB_IDENTITY_TOKEN_FILE",
        "AWS_ROLE_ARN",
        "AWS_ROLE_SESSION_NAME",
        "AWS_ENDPOINT_URL_STS",
        "AWS_ENDPOINT_URL",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
        "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
        "AWS_EC2_METADATA_DISABLED",
        "AWS_EC2_METADATA_SERVICE_ENDPOINT",
        "AWS_SHARED_CREDENTIALS_FILE",
        "AWS_CONFIG_FILE",
        "HOME",
    };
    const struct aws_profile *pf = o->profile;
    const char *fields[] = {o->region,
                            o->ca_bundle,
                            o->debug ? "debug" : "",
                            pf ? pf->name : NULL,
                            pf ? pf->access_key : NULL,
                            pf ? pf->secret_key : NULL,
                            pf ? pf->session_token : NULL,
                            pf ? pf->credential_process : NULL,
                            pf ? pf->role_arn : NULL,
                            pf ? pf->web_identity_token_file : NULL,
                            pf ? pf->role_session_name : NULL,
                            pf ? pf->source_profile : NULL,
                            pf ? pf->external_id : NULL};
    int rc = 0;
    for (size_t i = 0; i < sizeof(vars) / sizeof(vars[0]) && rc == 0; i++)
        rc = key_add(b, getenv(vars[i]));
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]) && rc == 0; i++)
        rc = key_add(b, fields[i]);
    if (rc == 0 && buf_put_u8(b, 0) < 0)
        rc = err_nomem();
    return rc;
}

/* The shared provider for key, with a reference taken, or NULL. Caller
 * holds shared_mu. */
static struct aws_cred_provider *shared_find(const char *key)
{
    for (struct aws_cred_provider *p = shared_list; p; p = p->share_next)
        if (strcmp(p->share_key, key) == 0) {
            p->share_refs++;
            return p;
        }
    return NULL;
}

int aws_cred_provider_shared(struct aws_cred_provider **out, const struct aws_cred_opts *o)
{
    struct buf key = {0};
    struct aws_cred_provider *p = NULL, *other;
    int rc;
    if ((rc = share_key(o, &key)) < 0)
        goto done;
    pthread_mutex_lock(&shared_mu);
    p = shared_find((const char *)key.data);
    pthread_mutex_unlock(&shared_mu);
    if (p)
        goto done;
    /* opened unlocked (it may fetch for seconds); a racing twin loses */
    if ((rc = aws_cred_provider_open(&p, o)) < 0)
        goto done;
    pthread_mutex_lock(&shared_mu);
    if ((other = shared_find((const char *)key.data)) == NULL) {
        p->share_key = (char *)key.data;
        key.data = NULL;
        p->share_refs = 1;
        p->share_next = shared_list;
        shared_list = p;
    }
    pthread_mutex_unlock(&shared_mu);
    if (other) {
        aws_cred_provider_close(p);
        p = other;
    }
done:
    if (key.data)
        memset(key.data, 0, key.len);
    buf_free(&key);
    *out = rc < 0 ? NULL : p;
    return rc;
}
