/* cirrus-test-libs: aws util */
/*
 * test_aws_credentials.c - the credential chain's pure rules (credentials.h):
 * INI profiles as the AWS files write them, credential_process / container /
 * IMDS JSON, STS XML, times and refresh arithmetic; then the provider's
 * refresher on a real credential_process (no network): triples stay
 * consistent while many threads read them across many rotations.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "aws/credentials.h"
#include "cirrus.h"
#include "util/sys.h"

#define T0 INT64_C(1796158800000) /* 2026-12-01T21:00:00Z */

static void parse(struct aws_profile *p, const char *text, const char *name, int config)
{
    assert_int_equal(aws_profile_parse(p, text, strlen(text), name, config), 0);
}

static void ini_credentials_file_sections(void **state)
{
    struct aws_profile p = {0};
    const char *text = "# comment\n"
                       "[default]\n"
                       "aws_access_key_id=AKDEFAULT\n"
                       "aws_secret_access_key = s1\n"
                       "\n"
                       "[prod]   \r\n"
                       "; another comment\n"
                       "  AWS_Access_Key_Id   =   AKPROD  \r\n"
                       "aws_secret_access_key = s/e=c+ret\r\n"
                       "aws_session_token = tok\n"
                       "unknown_key = x\n"
                       "[profile prod]\n"
                       "aws_access_key_id = NOT-IN-A-CREDENTIALS-FILE\n";
    parse(&p, text, "prod", 0);
    /* an indented key line counts as a sub-property: skipped */
    assert_null(p.access_key);
    assert_string_equal(p.secret_key, "s/e=c+ret");
    assert_string_equal(p.session_token, "tok");
    aws_profile_clear(&p);
    parse(&p, text, "default", 0);
    assert_string_equal(p.access_key, "AKDEFAULT");
    assert_string_equal(p.secret_key, "s1");
    assert_null(p.session_token);
    aws_profile_clear(&p);
}

static void ini_config_file_profiles(void **state)
{
    struct aws_profile p = {0};
    const char *text = "[default]\n"
                       "region = eu-west-3\n"
                       "[prod]\n"
                       "region = NOT-PROD-IN-A-CONFIG-FILE\n"
                       "[profile   prod]\n"
                       "region = us-west-2\n"
                       "s3 =\n"
                       "  addressing_style = path\n"
                       "  region = not-this\n"
                       "credential_process = /usr/bin/get-creds --profile \"prod\"\n"
                       "ca_bundle = /etc/ssl/corp.pem\n"
                       "role_arn = arn:aws:iam::1:role/r\n"
                       "web_identity_token_file = /var/run/token\n"
                       "source_profile = base\n"
                       "external_id = ext-123\n";
    parse(&p, text, "prod", 1);
    assert_string_equal(p.source_profile, "base");
    assert_string_equal(p.external_id, "ext-123");
    assert_string_equal(p.region, "us-west-2");
    assert_string_equal(p.credential_process, "/usr/bin/get-creds --profile \"prod\"");
    assert_string_equal(p.ca_bundle, "/etc/ssl/corp.pem");
    assert_string_equal(p.role_arn, "arn:aws:iam::1:role/r");
    assert_string_equal(p.web_identity_token_file, "/var/run/token");
    aws_profile_clear(&p);
    parse(&p, text, "default", 1);
    assert_string_equal(p.region, "eu-west-3");
    aws_profile_clear(&p);
    parse(&p, text, "missing", 1);
    assert_null(p.region);
    aws_profile_clear(&p);
}

static void ini_first_file_wins(void **state)
{
    /* the credentials file is read first; the config file fills only gaps */
    struct aws_profile p = {0};
    parse(&p, "[x]\naws_access_key_id = FROMCRED\n", "x", 0);
    parse(&p, "[profile x]\naws_access_key_id = FROMCONF\nregion = ap-south-1\n", "x", 1);
    assert_string_equal(p.access_key, "FROMCRED");
    assert_string_equal(p.region, "ap-south-1");
    aws_profile_clear(&p);
}

static void times_parse(void **state)
{
    int64_t ms = -1;
    assert_int_equal(aws_parse_time("1970-01-01T00:00:00Z", &ms), 0);
    assert_int_equal(ms, 0);
    assert_int_equal(aws_parse_time("2026-12-01T21:00:00Z", &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(aws_parse_time("2000-02-29T12:30:15Z", &ms), 0);
    assert_int_equal(ms, INT64_C(951827415000));
    assert_int_equal(aws_parse_time("2026-12-01T21:00:00.5Z", &ms), 0);
    assert_int_equal(ms, T0 + 500);
    assert_int_equal(aws_parse_time("2026-12-01T21:00:00.123456Z", &ms), 0);
    assert_int_equal(ms, T0 + 123);
    assert_int_equal(aws_parse_time("2026-12-01T22:00:00+01:00", &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(aws_parse_time("2026-12-01T20:30:00-00:30", &ms), 0);
    assert_int_equal(ms, T0);
    assert_int_equal(aws_parse_time("2026-12-01 21:00:00Z", &ms), 0);
    assert_int_equal(ms, T0);
    const char *bad[] = {"", "2026-12-01", "2026-13-01T00:00:00Z", "2026-12-01T21:00:00Q",
                         "2026-12-01T21:00:00Zjunk", "yesterday",
                         /* short offset: once read past the end of the text */
                         "2026-12-01T21:00:00+1:0", "2026-12-01T21:00:00+01:00:00",
                         "2026-12-01T21:00:00+24:00", "2026-12-01T-1:00:00Z",
                         " 2026-12-01T21:00:00Z", "2026-12-01T21:0:00Z"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(aws_parse_time(bad[i], &ms), CIRRUS_EINVALID);
}

static void refresh_arithmetic(void **state)
{
    /* long-lived: 5 minutes before expiry */
    assert_int_equal(aws_creds_refresh_at(T0, T0 + 3600000), T0 + 3600000 - 300000);
    /* short-lived: half way */
    assert_int_equal(aws_creds_refresh_at(T0, T0 + 3000), T0 + 1500);
    assert_int_equal(aws_creds_refresh_at(T0, T0 + 600000), T0 + 300000);
    /* already expired when handed out: now */
    assert_int_equal(aws_creds_refresh_at(T0, T0 - 10), T0 - 10);
    assert_true(aws_creds_refresh_at(T0, 0) == INT64_MAX);
}

static void process_json(void **state)
{
    struct aws_creds *c = NULL;
    const char *ok = "{\"Version\": 1, \"AccessKeyId\": \"AK\", \"SecretAccessKey\": \"SK\","
                     " \"SessionToken\": \"TOK\", \"Expiration\": \"2026-12-01T21:00:00Z\"}";
    assert_int_equal(aws_creds_from_json(&c, ok, strlen(ok), 1, T0 - 1000), 0);
    assert_string_equal(c->access_key, "AK");
    assert_string_equal(c->secret_key, "SK");
    assert_string_equal(c->session_token, "TOK");
    assert_int_equal(c->expires_ms, T0);
    assert_int_equal(c->fetched_ms, T0 - 1000);
    aws_creds_release(c);
    /* no Expiration: long-term keys, never refreshed */
    const char *perm = "{\"Version\":1,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\"}";
    assert_int_equal(aws_creds_from_json(&c, perm, strlen(perm), 1, T0), 0);
    assert_int_equal(c->expires_ms, 0);
    assert_null(c->session_token);
    aws_creds_release(c);
    const char *bad[] = {
        "{\"Version\":2,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\"}",
        "{\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\"}",
        "{\"Version\":1,\"AccessKeyId\":\"AK\"}",
        "{\"Version\":1,\"AccessKeyId\":\"AK\",\"SecretAccessKey\":\"SK\",\"Expiration\":\"soon\"}",
        "[1]",
        "not json",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        c = NULL;
        assert_int_equal(aws_creds_from_json(&c, bad[i], strlen(bad[i]), 1, T0), CIRRUS_EINVALID);
        assert_null(c);
        /* the message never carries the secret */
        assert_null(strstr(cirrus_errmsg(), "SK"));
    }
}

static void imds_and_container_json(void **state)
{
    struct aws_creds *c = NULL;
    const char *imds =
        "{\n  \"Code\" : \"Success\",\n  \"LastUpdated\" : \"2026-12-01T20:00:00Z\",\n"
        "  \"Type\" : \"AWS-HMAC\",\n  \"AccessKeyId\" : \"ASIA1\",\n"
        "  \"SecretAccessKey\" : \"S1\",\n  \"Token\" : \"T1\",\n"
        "  \"Expiration\" : \"2026-12-01T21:00:00Z\"\n}";
    assert_int_equal(aws_creds_from_json(&c, imds, strlen(imds), 0, T0 - 5000), 0);
    assert_string_equal(c->access_key, "ASIA1");
    assert_string_equal(c->session_token, "T1");
    assert_int_equal(c->expires_ms, T0);
    aws_creds_release(c);
    const char *ecs = "{\"AccessKeyId\":\"ASIA2\",\"SecretAccessKey\":\"S2\",\"Token\":\"T2\","
                      "\"Expiration\":\"2026-12-01T21:00:00Z\",\"RoleArn\":\"arn:x\"}";
    assert_int_equal(aws_creds_from_json(&c, ecs, strlen(ecs), 0, T0 - 5000), 0);
    assert_string_equal(c->session_token, "T2");
    aws_creds_release(c);
    /* an empty Token means none */
    const char *empty = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"\","
                        "\"Expiration\":\"2026-12-01T21:00:00Z\"}";
    assert_int_equal(aws_creds_from_json(&c, empty, strlen(empty), 0, T0), 0);
    assert_null(c->session_token);
    aws_creds_release(c);
    c = NULL;
    const char *failed = "{\"Code\":\"AssumeRoleUnauthorizedAccess\",\"Message\":\"no role\"}";
    assert_int_equal(aws_creds_from_json(&c, failed, strlen(failed), 0, T0), CIRRUS_EAUTH);
    assert_non_null(strstr(cirrus_errmsg(), "AssumeRoleUnauthorizedAccess"));
    /* temporary credentials must say when they expire */
    const char *noexp = "{\"AccessKeyId\":\"A\",\"SecretAccessKey\":\"S\",\"Token\":\"T\"}";
    assert_int_equal(aws_creds_from_json(&c, noexp, strlen(noexp), 0, T0), CIRRUS_EINVALID);
    assert_null(c);
}

static void sts_xml(void **state)
{
    struct aws_creds *c = NULL;
    const char *xml =
        "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
        "  <AssumeRoleWithWebIdentityResult>\n"
        "    <Credentials>\n"
        "      <SessionToken>tok&amp;en/+=</SessionToken>\n"
        "      <SecretAccessKey>sec&lt;ret</SecretAccessKey>\n"
        "      <Expiration>2026-12-01T21:00:00Z</Expiration>\n"
        "      <AccessKeyId>ASIAXML</AccessKeyId>\n"
        "    </Credentials>\n"
        "  </AssumeRoleWithWebIdentityResult>\n"
        "</AssumeRoleWithWebIdentityResponse>\n";
    assert_int_equal(aws_creds_from_sts_xml(&c, xml, strlen(xml), T0 - 3000), 0);
    assert_string_equal(c->access_key, "ASIAXML");
    assert_string_equal(c->secret_key, "sec<ret");
    assert_string_equal(c->session_token, "tok&en/+=");
    assert_int_equal(c->expires_ms, T0);
    aws_creds_release(c);
    c = NULL;
    const char *err =
        "<ErrorResponse><Error><Code>InvalidIdentityToken</Code></Error></ErrorResponse>";
    assert_int_equal(aws_creds_from_sts_xml(&c, err, strlen(err), T0), CIRRUS_EINVALID);
    assert_null(c);
    const char *empty = "<Credentials><AccessKeyId></AccessKeyId><SecretAccessKey>s"
                        "</SecretAccessKey><Expiration>2026-12-01T21:00:00Z</Expiration>"
                        "</Credentials>";
    assert_int_equal(aws_creds_from_sts_xml(&c, empty, strlen(empty), T0), CIRRUS_EINVALID);
    assert_null(c);
}

static void static_provider(void **state)
{
    struct aws_cred_provider *p = NULL;
    assert_int_equal(aws_cred_provider_static(&p, "AK", "SK", NULL, "configuration"), 0);
    assert_false(aws_cred_refreshable(p));
    assert_string_equal(aws_cred_source(p), "configuration");
    struct aws_creds *c = aws_cred_get(p);
    assert_string_equal(c->access_key, "AK");
    assert_int_equal(aws_cred_refresh(p, c), CIRRUS_EINVALID);
    aws_cred_provider_close(p);
    /* the triple outlives the provider while referenced */
    assert_string_equal(c->secret_key, "SK");
    aws_creds_release(c);
    aws_cred_provider_close(NULL);
    aws_creds_release(NULL);
}

/* ---- the refresher, on a real credential_process -------------------------- */

static char dir[64];

/* A credential_process that hands out "AK-N" / "SK-N" (N counts up) valid
 * for 2 s. */
static void write_process(char *cmd, size_t cap)
{
    char path[128];
    snprintf(dir, sizeof(dir), "/tmp/cirrus-creds-XXXXXX");
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/proc.sh", dir);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "#!/bin/sh\n"
            "n=$(cat %s/n 2>/dev/null || echo 0); n=$((n + 1)); echo $n >%s/n\n"
            "exp=$(date -u -d @$(($(date +%%s) + 2)) +%%Y-%%m-%%dT%%H:%%M:%%SZ)\n"
            "printf '{\"Version\":1,\"AccessKeyId\":\"AK-%%d\",\"SecretAccessKey\":"
            "\"SK-%%d\",\"SessionToken\":\"TOK-%%d\",\"Expiration\":\"%%s\"}' "
            "$n $n $n $exp\n",
            dir, dir);
    fclose(f);
    snprintf(cmd, cap, "sh %s", path);
}

struct reader {
    struct aws_cred_provider *p;
    int64_t until_ms;
    unsigned long reads, inconsistent, expired;
};

static void *read_loop(void *arg)
{
    struct reader *r = arg;
    while (now_ms() < r->until_ms) {
        struct aws_creds *c = aws_cred_get(r->p);
        const char *ak = c->access_key + 3, *sk = c->secret_key + 3, *tok = c->session_token + 4;
        if (strcmp(ak, sk) != 0 || strcmp(ak, tok) != 0)
            r->inconsistent++;
        if (c->expires_ms <= now_ms())
            r->expired++;
        r->reads++;
        aws_creds_release(c);
    }
    return NULL;
}

static void refresher_rotates_consistent_triples(void **state)
{
    char cmd[160], path[160];
    struct aws_profile prof = {.name = "test"};
    write_process(cmd, sizeof(cmd));
    prof.credential_process = cmd;
    struct aws_cred_opts o = {.profile = &prof, .region = "us-east-1"};
    struct aws_cred_provider *p = NULL;
    /* nothing else in the chain may be configured */
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_WEB_IDENTITY_TOKEN_FILE");
    assert_int_equal(aws_cred_provider_open(&p, &o), 0);
    assert_true(aws_cred_refreshable(p));
    assert_string_equal(aws_cred_source(p), "credential_process of profile test");
    struct aws_creds *first = aws_cred_get(p);
    assert_string_equal(first->access_key, "AK-1");
    enum { N = 4 };
    pthread_t th[N];
    struct reader rd[N];
    for (int i = 0; i < N; i++) {
        rd[i] = (struct reader){.p = p, .until_ms = now_ms() + 6000};
        assert_int_equal(pthread_create(&th[i], NULL, read_loop, &rd[i]), 0);
    }
    unsigned long reads = 0;
    for (int i = 0; i < N; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(rd[i].inconsistent, 0);
        assert_int_equal(rd[i].expired, 0);
        reads += rd[i].reads;
    }
    /* 2 s credentials refreshed half way: about 6 refreshes in 6 s */
    unsigned long n = aws_cred_refreshes(p);
    print_message("refreshes %lu, reads %lu\n", n, reads);
    assert_true(n >= 3);
    struct aws_creds *now = aws_cred_get(p);
    assert_string_not_equal(now->access_key, "AK-1");
    /* the old triple is still intact for its holder */
    assert_string_equal(first->secret_key, "SK-1");
    /* a forced refresh (as after ExpiredToken) replaces the stale triple */
    assert_int_equal(aws_cred_refresh(p, now), 0);
    struct aws_creds *after = aws_cred_get(p);
    assert_ptr_not_equal(after, now);
    /* ... but not twice: a triple already replaced is left alone */
    assert_int_equal(aws_cred_refresh(p, now), 0);
    struct aws_creds *again = aws_cred_get(p);
    assert_ptr_equal(again, after);
    aws_creds_release(again);
    aws_creds_release(after);
    aws_creds_release(now);
    aws_creds_release(first);
    aws_cred_provider_close(p);
    snprintf(path, sizeof(path), "%s/proc.sh", dir);
    unlink(path);
    snprintf(path, sizeof(path), "%s/n", dir);
    unlink(path);
    rmdir(dir);
}

/* One process, one provider per configuration: the S3 and DynamoDB
 * clients (and every db handle) fetch and refresh once, not each. */
static void shared_providers_per_configuration(void **state)
{
    struct aws_profile prof = {.name = "default"};
    struct aws_cred_opts o = {.profile = &prof, .region = "us-east-1"};
    struct aws_cred_provider *a = NULL, *b = NULL, *c = NULL, *d = NULL;
    setenv("AWS_ACCESS_KEY_ID", "AKSHARED", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "SK1", 1);
    assert_int_equal(aws_cred_provider_shared(&a, &o), 0);
    assert_int_equal(aws_cred_provider_shared(&b, &o), 0);
    assert_ptr_equal(a, b);
    /* another secret, another region: other providers */
    setenv("AWS_SECRET_ACCESS_KEY", "SK2", 1);
    assert_int_equal(aws_cred_provider_shared(&c, &o), 0);
    assert_ptr_not_equal(c, a);
    struct aws_creds *cr = aws_cred_get(c);
    assert_string_equal(cr->secret_key, "SK2");
    aws_creds_release(cr);
    o.region = "eu-west-1";
    assert_int_equal(aws_cred_provider_shared(&d, &o), 0);
    assert_ptr_not_equal(d, c);
    /* the first one lives while a reference remains */
    aws_cred_provider_close(a);
    cr = aws_cred_get(b);
    assert_string_equal(cr->secret_key, "SK1");
    aws_creds_release(cr);
    aws_cred_provider_close(b);
    aws_cred_provider_close(c);
    aws_cred_provider_close(d);
    /* all gone: a new one for the old configuration */
    setenv("AWS_SECRET_ACCESS_KEY", "SK1", 1);
    o.region = "us-east-1";
    assert_int_equal(aws_cred_provider_shared(&a, &o), 0);
    cr = aws_cred_get(a);
    assert_string_equal(cr->secret_key, "SK1");
    aws_creds_release(cr);
    aws_cred_provider_close(a);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
}

static void failing_process_names_the_source(void **state)
{
    struct aws_profile prof = {.name = "broken", .credential_process = "exit 7"};
    struct aws_cred_opts o = {.profile = &prof, .region = "us-east-1"};
    struct aws_cred_provider *p = NULL;
    assert_int_equal(aws_cred_provider_open(&p, &o), CIRRUS_EAUTH);
    assert_null(p);
    assert_non_null(strstr(cirrus_errmsg(), "credential_process of profile broken"));
    assert_non_null(strstr(cirrus_errmsg(), "status 7"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(ini_credentials_file_sections),
        cmocka_unit_test(ini_config_file_profiles),
        cmocka_unit_test(ini_first_file_wins),
        cmocka_unit_test(times_parse),
        cmocka_unit_test(refresh_arithmetic),
        cmocka_unit_test(process_json),
        cmocka_unit_test(imds_and_container_json),
        cmocka_unit_test(sts_xml),
        cmocka_unit_test(static_provider),
        cmocka_unit_test(refresher_rotates_consistent_triples),
        cmocka_unit_test(shared_providers_per_configuration),
        cmocka_unit_test(failing_process_names_the_source),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
