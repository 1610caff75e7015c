/* cirrus-test-libs: aws util */
/*
 * fuzz_credentials.c - what the credential chain reads from outside the
 * process (src/aws/credentials.c): the JSON of the ECS/EKS container
 * endpoint, IMDS and credential_process, STS AssumeRole* XML answers, the
 * INI text of ~/.aws/credentials and ~/.aws/config, and their ISO 8601
 * times.
 *
 * Input: one byte of choices (low 2 bits: which parser; bit 2: the
 * credential_process JSON shape / a config file), then the text. For the
 * INI parser the profile's name is the text's first line (up to 32 bytes).
 * Properties:
 *   - each parser returns only the codes its header documents;
 *   - credentials taken have a non-empty key and secret and expire exactly
 *     when their "Expiration" says; a refusal's message never holds the
 *     secret the document carried (secrets are never printed);
 *   - a profile field is a trimmed piece of one line of the input;
 *   - a time taken, formatted back as RFC 3339 with milliseconds, parses to
 *     the same instant.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/credentials.h"
#include "cirrus.h"

#include "fuzz_util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW_MS 1700000000000LL

/* The secret a refusal must not print: the document's own, when it is long
 * enough to be told apart from the other fields the message may quote. */
static void check_secret_hidden(const char *text, size_t len, const char *field)
{
    json_t *doc = json_loadb(text, len, 0, NULL);
    json_t *v = json_is_object(doc) ? json_object_get(doc, field) : NULL;
    const char *secret = json_is_string(v) ? json_string_value(v) : NULL;
    if (secret && strlen(secret) >= 8) {
        const char *others[] = {"Code", "Message", "Expiration"};
        int quoted = 0;
        for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
            json_t *o = json_object_get(doc, others[i]);
            quoted |= json_is_string(o) && strstr(json_string_value(o), secret) != NULL;
        }
        FUZZ_CHECK(quoted || strstr(cirrus_errmsg(), secret) == NULL);
    }
    json_decref(doc);
}

static void check_creds(const struct aws_creds *c, const char *exp)
{
    FUZZ_CHECK(c->access_key && *c->access_key);
    FUZZ_CHECK(c->secret_key && *c->secret_key);
    FUZZ_CHECK(!c->session_token || *c->session_token);
    FUZZ_CHECK(c->fetched_ms == NOW_MS);
    if (exp) {
        int64_t ms;
        FUZZ_CHECK(aws_parse_time(exp, &ms) == 0 && ms == c->expires_ms);
    }
}

static void check_json(const char *text, size_t len, int process)
{
    struct aws_creds *c = NULL;
    int rc = aws_creds_from_json(&c, text, len, process, NOW_MS);
    FUZZ_CHECK(rc == 0 || rc == CIRRUS_EINVALID || rc == CIRRUS_EAUTH || rc == CIRRUS_ENOMEM);
    if (rc == 0) {
        json_t *doc = json_loadb(text, len, 0, NULL);
        json_t *exp = json_object_get(doc, "Expiration");
        check_creds(c, json_is_string(exp) ? json_string_value(exp) : NULL);
        FUZZ_CHECK(process || c->expires_ms != 0 || json_is_string(exp));
        json_decref(doc);
        aws_creds_release(c);
    } else {
        FUZZ_CHECK(c == NULL);
        check_secret_hidden(text, len, "SecretAccessKey");
        check_secret_hidden(text, len, process ? "SessionToken" : "Token");
    }
}

static void check_sts(const char *text, size_t len)
{
    struct aws_creds *c = NULL;
    int rc = aws_creds_from_sts_xml(&c, text, len, NOW_MS);
    FUZZ_CHECK(rc == 0 || rc == CIRRUS_EINVALID || rc == CIRRUS_ENOMEM);
    if (rc == 0) {
        check_creds(c, NULL);
        aws_creds_release(c);
    } else {
        FUZZ_CHECK(c == NULL);
    }
}

/* A field of p is a trimmed piece of one line of text[0, len). */
static void check_field(const char *v, const char *text, size_t len)
{
    if (!v)
        return;
    size_t n = strlen(v);
    FUZZ_CHECK(n > 0 && n <= len);
    FUZZ_CHECK(!memchr(v, '\n', n));
    FUZZ_CHECK(v[0] != ' ' && v[0] != '\t' && v[n - 1] != ' ' && v[n - 1] != '\t');
    FUZZ_CHECK(v[n - 1] != '\r');
    int found = 0;
    for (const char *s = text; !found && s + n <= text + len; s++)
        found = memcmp(s, v, n) == 0;
    FUZZ_CHECK(found);
}

static void check_profile(const char *text, size_t len, int config)
{
    const char *nl = memchr(text, '\n', len < 32 ? len : 32);
    size_t name_len = nl ? (size_t)(nl - text) : 0;
    char name[33];
    struct aws_profile p;
    memcpy(name, text, name_len);
    name[name_len] = '\0';
    memset(&p, 0, sizeof(p));
    int rc = aws_profile_parse(&p, text, len, name, config);
    FUZZ_CHECK(rc == 0 || rc == CIRRUS_ENOMEM);
    const char *fields[] = {p.access_key,         p.secret_key, p.session_token,
                            p.credential_process, p.role_arn,   p.web_identity_token_file,
                            p.role_session_name,  p.region,     p.ca_bundle};
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        check_field(fields[i], text, len);
    aws_profile_clear(&p);
}

static void check_time(const char *text)
{
    int64_t ms, again;
    char out[64];
    if (aws_parse_time(text, &ms) != 0)
        return;
    int64_t secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
    time_t t = (time_t)secs;
    struct tm tm;
    if (!gmtime_r(&t, &tm) || tm.tm_year + 1900 < 0 || tm.tm_year + 1900 > 9999)
        return; /* outside what RFC 3339 writes with four digits */
    /* not strftime: glibc's %Y does not pad years below 1000 */
    snprintf(out, sizeof(out), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, (int)(ms - secs * 1000));
    FUZZ_CHECK(aws_parse_time(out, &again) == 0 && again == ms);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t choice = data[0];
    char *text = fuzz_strndup(data + 1, size - 1);
    size_t len = size - 1;
    switch (choice & 3) {
    case 0:
        check_json(text, len, (choice >> 2) & 1);
        break;
    case 1:
        check_sts(text, len);
        break;
    case 2:
        check_profile(text, len, (choice >> 2) & 1);
        break;
    default:
        check_time(text);
        break;
    }
    free(text);
    return 0;
}
