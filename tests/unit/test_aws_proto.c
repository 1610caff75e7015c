/* cirrus-test-libs: aws util */
/*
 * test_aws_proto.c - the pure rules of the AWS layer (awsproto.h): URI
 * encoding and canonical query strings as libcurl signs them, error-body
 * parsing, retry classification, backoff bounds, SHA-256 and base64.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "aws/awsproto.h"
#include "cirrus.h"

static char *query_of(const char *const *kv, size_t n)
{
    struct aws_query q = {0};
    char *out = NULL;
    for (size_t i = 0; i < n; i += 2)
        assert_int_equal(aws_query_add(&q, kv[i], kv[i + 1]), 0);
    assert_int_equal(aws_query_build(&q, &out), 0);
    aws_query_free(&q);
    return out;
}

static void uri_encoding_keeps_only_unreserved(void **state)
{
    (void)state;
    struct buf b = {0};
    assert_int_equal(aws_uri_encode(&b, "aZ09-._~ /+=&%\xff", 0), 0);
    assert_int_equal(buf_put_u8(&b, 0), 0);
    assert_string_equal((char *)b.data, "aZ09-._~%20%2F%2B%3D%26%25%FF");
    b.len = 0;
    assert_int_equal(aws_uri_encode(&b, "db/sst/a b", 1), 0);
    assert_int_equal(buf_put_u8(&b, 0), 0);
    assert_string_equal((char *)b.data, "db/sst/a%20b");
    buf_free(&b);
}

static void query_keys_are_sorted_and_encoded(void **state)
{
    (void)state;
    static const char *const list[] = {"prefix", "db/x y",   "list-type", "2", "continuation-token",
                                       "a+b/c=", "max-keys", "1000"};
    char *q = query_of(list, 8);
    assert_string_equal(q, "continuation-token=a%2Bb%2Fc%3D&list-type=2&max-keys=1000&"
                           "prefix=db%2Fx%20y");
    free(q);
}

static void bare_keys_get_an_equals_sign(void **state)
{
    (void)state;
    static const char *const uploads[] = {"uploads", NULL};
    char *q = query_of(uploads, 2);
    assert_string_equal(q, "uploads=");
    free(q);
    static const char *const part[] = {"uploadId", "x~y", "partNumber", "10"};
    q = query_of(part, 4);
    /* 'p' (0x70) < 'u' (0x75), whatever order they were added in */
    assert_string_equal(q, "partNumber=10&uploadId=x~y");
    free(q);
    struct aws_query empty = {0};
    assert_int_equal(aws_query_build(&empty, &q), 0);
    assert_string_equal(q, "");
    free(q);
}

static void query_sorts_by_encoded_bytes(void **state)
{
    (void)state;
    /* "B" (0x42) < "_" (0x5f) < "a" (0x61); equal keys sort by value */
    static const char *const list[] = {"a", "2", "_", "x", "B", "y", "a", "1"};
    char *q = query_of(list, 8);
    assert_string_equal(q, "B=y&_=x&a=1&a=2");
    free(q);
}

static void s3_xml_errors_are_parsed(void **state)
{
    (void)state;
    char code[64], msg[128];
    const char *body =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>SignatureDoesNotMatch"
        "</Code><Message>The request signature we calculated does not match &amp; "
        "so on</Message><RequestId>R1</RequestId></Error>";
    aws_parse_error(body, strlen(body), 0, code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "SignatureDoesNotMatch");
    assert_string_equal(msg, "The request signature we calculated does not match & so on");
    aws_parse_error("", 0, 0, code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "");
    assert_string_equal(msg, "");
    /* truncated: no closing tag, nothing invented */
    aws_parse_error("<Error><Code>Slow", 17, 0, code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "");
    /* a tiny buffer is cut, still terminated */
    char small[5];
    aws_parse_error(body, strlen(body), 0, small, sizeof(small), msg, sizeof(msg));
    assert_string_equal(small, "Sign");
}

static void dynamodb_json_errors_are_parsed(void **state)
{
    (void)state;
    char code[64], msg[128];
    const char *body = "{\"__type\":\"com.amazonaws.dynamodb.v20120810#"
                       "ConditionalCheckFailedException\",\"message\":\"The conditional request "
                       "failed\"}";
    aws_parse_error(body, strlen(body), 1, code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "ConditionalCheckFailedException");
    assert_string_equal(msg, "The conditional request failed");
    const char *b2 = "{\"__type\": \"com.amazon.coral.service#UnrecognizedClientException\", "
                     "\"Message\": \"The security token \\\"x\\\" is invalid.\"}";
    aws_parse_error(b2, strlen(b2), 1, code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "UnrecognizedClientException");
    assert_string_equal(msg, "The security token \"x\" is invalid.");
    aws_parse_error("not json", 8, 1, code, sizeof(code), msg, sizeof(msg));
    assert_string_equal(code, "");
}

static void xml_fields_are_walked_in_order(void **state)
{
    (void)state;
    const char *doc = "<R><Contents><Key>a&lt;b</Key></Contents><Contents><Key>c</Key>"
                      "</Contents><IsTruncated>false</IsTruncated></R>";
    size_t pos = 0, len = strlen(doc);
    char *s = NULL;
    assert_int_equal(aws_xml_next(doc, len, &pos, "Key", &s), 0);
    assert_string_equal(s, "a<b");
    free(s);
    assert_int_equal(aws_xml_next(doc, len, &pos, "Key", &s), 0);
    assert_string_equal(s, "c");
    free(s);
    assert_int_equal(aws_xml_next(doc, len, &pos, "Key", &s), CIRRUS_ENOTFOUND);
    pos = 0;
    assert_int_equal(aws_xml_next(doc, len, &pos, "NextContinuationToken", &s), CIRRUS_ENOTFOUND);
}

static void outcomes_are_classified(void **state)
{
    (void)state;
    struct aws_outcome o;
    o = aws_classify(AWS_T_OK, 200, "", 1);
    assert_int_equal(o.verdict, AWS_DONE);
    assert_int_equal(o.rc, 0);
    /* throttling: retried, and never ambiguous (the service refused it) */
    const char *throttles[] = {"SlowDown", "ThrottlingException",
                               "ProvisionedThroughputExceededException", "RequestLimitExceeded"};
    for (size_t i = 0; i < 4; i++) {
        o = aws_classify(AWS_T_OK, i == 0 ? 503 : 400, throttles[i], 1);
        assert_int_equal(o.verdict, AWS_RETRY);
        assert_int_equal(o.maybe_applied, 0);
    }
    o = aws_classify(AWS_T_OK, 429, "", 1);
    assert_int_equal(o.verdict, AWS_RETRY);
    /* 5xx: retried; ambiguous for writes only */
    o = aws_classify(AWS_T_OK, 500, "InternalError", 1);
    assert_int_equal(o.verdict, AWS_RETRY);
    assert_int_equal(o.maybe_applied, 1);
    o = aws_classify(AWS_T_OK, 502, "", 0);
    assert_int_equal(o.verdict, AWS_RETRY);
    assert_int_equal(o.maybe_applied, 0);
    /* but 501: the server lacks the operation, now and later */
    o = aws_classify(AWS_T_OK, 501, "NotImplemented", 1);
    assert_int_equal(o.verdict, AWS_DONE);
    assert_int_equal(o.rc, CIRRUS_EIO);
    assert_int_equal(o.maybe_applied, 0);
    /* credentials */
    const char *auth[] = {"SignatureDoesNotMatch", "InvalidAccessKeyId",
                          "UnrecognizedClientException", "AccessDenied"};
    for (size_t i = 0; i < 4; i++) {
        o = aws_classify(AWS_T_OK, i == 2 ? 400 : 403, auth[i], 1);
        assert_int_equal(o.verdict, AWS_DONE);
        assert_int_equal(o.rc, CIRRUS_EAUTH);
    }
    o = aws_classify(AWS_T_OK, 403, "", 0);
    assert_int_equal(o.rc, CIRRUS_EAUTH);
    /* final answers */
    o = aws_classify(AWS_T_OK, 400, "ConditionalCheckFailedException", 1);
    assert_int_equal(o.verdict, AWS_DONE);
    assert_int_equal(o.rc, CIRRUS_ECONFLICT);
    o = aws_classify(AWS_T_OK, 412, "PreconditionFailed", 1);
    assert_int_equal(o.rc, CIRRUS_ECONFLICT);
    o = aws_classify(AWS_T_OK, 404, "NoSuchKey", 0);
    assert_int_equal(o.rc, CIRRUS_ENOTFOUND);
    o = aws_classify(AWS_T_OK, 400, "ResourceNotFoundException", 0);
    assert_int_equal(o.rc, CIRRUS_ENOTFOUND);
    o = aws_classify(AWS_T_OK, 400, "ValidationException", 1);
    assert_int_equal(o.rc, CIRRUS_EINVALID);
    o = aws_classify(AWS_T_OK, 400, "SomethingElse", 1);
    assert_int_equal(o.verdict, AWS_DONE);
    assert_int_equal(o.rc, CIRRUS_EIO);
    /* transport: nothing sent vs maybe applied */
    o = aws_classify(AWS_T_CONNECT, 0, "", 1);
    assert_int_equal(o.verdict, AWS_RETRY);
    assert_int_equal(o.maybe_applied, 0);
    o = aws_classify(AWS_T_TIMEOUT, 0, "", 1);
    assert_int_equal(o.verdict, AWS_RETRY);
    assert_int_equal(o.rc, CIRRUS_ETIMEOUT);
    assert_int_equal(o.maybe_applied, 1);
    o = aws_classify(AWS_T_TIMEOUT, 0, "", 0);
    assert_int_equal(o.maybe_applied, 0);
    o = aws_classify(AWS_T_BROKEN, 0, "", 1);
    assert_int_equal(o.maybe_applied, 1);
    o = aws_classify(AWS_T_FATAL, 0, "", 0);
    assert_int_equal(o.verdict, AWS_DONE);
    assert_int_equal(o.rc, CIRRUS_EIO);
}

static void backoff_is_full_jitter_within_bounds(void **state)
{
    (void)state;
    /* the ceiling doubles from base and stops at cap */
    assert_int_equal(aws_backoff_ms(0, 50, 5000, UINT64_MAX), UINT64_MAX % 51);
    for (unsigned a = 0; a < 80; a++) {
        uint64_t ceiling = 50;
        for (unsigned i = 0; i < a && ceiling < 5000; i++)
            ceiling *= 2;
        if (ceiling > 5000)
            ceiling = 5000;
        assert_int_equal(aws_backoff_ms(a, 50, 5000, 0), 0);             /* the floor is 0 */
        assert_int_equal(aws_backoff_ms(a, 50, 5000, ceiling), ceiling); /* reaches the top */
        for (uint64_t r = 1; r < 1000000; r = r * 7 + 3)
            assert_true(aws_backoff_ms(a, 50, 5000, r) <= ceiling);
    }
    /* huge attempt counts neither overflow nor exceed the cap */
    assert_true(aws_backoff_ms(4000000000u, 50, 5000, 123456789) <= 5000);
}

static void sha256_and_base64(void **state)
{
    (void)state;
    char hex[65];
    aws_sha256_hex(NULL, 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    aws_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *cases[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (size_t i = 0; i < 7; i++) {
        char *enc = NULL;
        uint8_t *dec = NULL;
        size_t n = 99;
        assert_int_equal(aws_base64_encode(cases[i], strlen(cases[i]), &enc), 0);
        assert_string_equal(enc, want[i]);
        assert_int_equal(aws_base64_decode(enc, &dec, &n), 0);
        assert_int_equal(n, strlen(cases[i]));
        assert_memory_equal(dec, cases[i], n);
        free(enc);
        free(dec);
    }
    uint8_t *dec = NULL;
    size_t n = 0;
    assert_int_equal(aws_base64_decode("abc", &dec, &n), CIRRUS_ECORRUPT);
    assert_int_equal(aws_base64_decode("ab!d", &dec, &n), CIRRUS_ECORRUPT);
}

#define EMPTY_SHA "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* The examples of AWS's "Signature Version 4 header-based auth" page. */
static struct aws_sigv4 example_request(void)
{
    struct aws_sigv4 s = {.method = "GET",
                          .host = "examplebucket.s3.amazonaws.com",
                          .path = "/test.txt",
                          .payload_sha256 = EMPTY_SHA,
                          .amz_date = "20130524T000000Z",
                          .region = "us-east-1",
                          .service = "s3",
                          .access_key = "AKIAIOSFODNN7EXAMPLE",
                          .secret_key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};
    return s;
}

static void sigv4_matches_the_published_examples(void **state)
{
    (void)state;
    char *auth = NULL;
    /* GET Object, with a Range header */
    const char *get_headers[] = {"Range: bytes=0-9", "x-amz-content-sha256:" EMPTY_SHA};
    struct aws_sigv4 s = example_request();
    s.headers = get_headers;
    s.n_headers = 2;
    assert_int_equal(aws_sigv4_authorization(&s, &auth), 0);
    assert_string_equal(auth, "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/"
                              "us-east-1/s3/aws4_request, SignedHeaders=host;range;"
                              "x-amz-content-sha256;x-amz-date, Signature="
                              "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    free(auth);
    /* GET Bucket (list objects), with a query string */
    const char *list_headers[] = {"x-amz-content-sha256: " EMPTY_SHA};
    s = example_request();
    s.path = "/";
    s.query = "max-keys=2&prefix=J";
    s.headers = list_headers;
    s.n_headers = 1;
    assert_int_equal(aws_sigv4_authorization(&s, &auth), 0);
    assert_non_null(strstr(auth,
                           "Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711e"
                           "f69dc6f7"));
    free(auth);
}

/* Headers sort by name alone: x-amz-copy-source before -range (libcurl
 * 7.88 gets this wrong), whatever case and spacing they are given in. */
static void sigv4_sorts_headers_by_name_alone(void **state)
{
    (void)state;
    char *a = NULL, *b = NULL;
    const char *h1[] = {"x-amz-copy-source-range: bytes=0-9", "X-Amz-Copy-Source: /b/k",
                        "x-amz-content-sha256: " EMPTY_SHA};
    const char *h2[] = {"x-amz-content-sha256:" EMPTY_SHA, "x-amz-copy-source:/b/k",
                        "X-AMZ-COPY-SOURCE-RANGE:   bytes=0-9  "};
    struct aws_sigv4 s = example_request();
    s.method = "PUT";
    s.headers = h1;
    s.n_headers = 3;
    assert_int_equal(aws_sigv4_authorization(&s, &a), 0);
    assert_non_null(strstr(a, "SignedHeaders=host;x-amz-content-sha256;x-amz-copy-source;"
                              "x-amz-copy-source-range;x-amz-date, "));
    s.headers = h2;
    assert_int_equal(aws_sigv4_authorization(&s, &b), 0);
    assert_string_equal(a, b);
    free(a);
    free(b);
    const char *bad[] = {"no colon here"};
    s.headers = bad;
    s.n_headers = 1;
    assert_int_equal(aws_sigv4_authorization(&s, &a), CIRRUS_EINVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(uri_encoding_keeps_only_unreserved),
        cmocka_unit_test(query_keys_are_sorted_and_encoded),
        cmocka_unit_test(bare_keys_get_an_equals_sign),
        cmocka_unit_test(query_sorts_by_encoded_bytes),
        cmocka_unit_test(s3_xml_errors_are_parsed),
        cmocka_unit_test(dynamodb_json_errors_are_parsed),
        cmocka_unit_test(xml_fields_are_walked_in_order),
        cmocka_unit_test(outcomes_are_classified),
        cmocka_unit_test(backoff_is_full_jitter_within_bounds),
        cmocka_unit_test(sha256_and_base64),
        cmocka_unit_test(sigv4_matches_the_published_examples),
        cmocka_unit_test(sigv4_sorts_headers_by_name_alone),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
