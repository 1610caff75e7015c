/*
 * s3.c - the S3 object store backend (any S3-compatible service); the
 * contract is objstore.h. Opened by objstore_open() for s3:// URLs.
 *
 * URL: s3://BUCKET[/PREFIX]. Object NAME lives at key PREFIX/NAME. Endpoint,
 * credentials and region come from the AWS_* environment (aws.h). With a
 * custom endpoint requests use path-style URLs (ENDPOINT/BUCKET/KEY); with
 * none, virtual-host URLs on AWS (https://BUCKET.s3.REGION.amazonaws.com)
 * when the bucket name allows it and AWS_S3_FORCE_PATH_STYLE is not "true".
 * A bucket in another region (301 PermanentRedirect, or 400 with
 * x-amz-bucket-region) is one error naming its region.
 *
 * put: one PUT with If-None-Match: * (412 -> CIRRUS_EEXISTS) up to the
 * multipart threshold; above it a multipart upload whose parts go up in
 * parallel. Tunables (env, bytes): CIRRUS_S3_MULTIPART_THRESHOLD (default
 * 16 MiB), CIRRUS_S3_PART_SIZE (default 8 MiB; S3 needs >= 5 MiB),
 * CIRRUS_S3_PARALLEL (parts in flight, default 4).
 *
 * list streams pages in the service's order, which S3 promises is byte
 * order; an out-of-order key is an error. For servers that list in another
 * order (s3rver walks directories) CIRRUS_S3_SORT_LISTINGS=1 collects the
 * whole listing and sorts it first (memory: every name listed).
 *
 * Buckets are never created: an unknown bucket is CIRRUS_ENOTFOUND at open,
 * whatever `create` says, so a typo cannot write anywhere.
 *
 * Request shapes (all signed by the aws layer):
 *   put      PUT /KEY, If-None-Match: *            200; 412 -> EEXISTS
 *   multipart POST /KEY?uploads= ; PUT /KEY?partNumber=N&uploadId=U (parallel)
 *            ; POST /KEY?uploadId=U with the part list, If-None-Match: *
 *   get      GET /KEY, Range: bytes=A-B               206; 416 -> empty read
 *   get_all  GET /KEY                                 200
 *   head     HEAD /KEY                                200, Content-Length
 *   del      DELETE /KEY                              204; 404 is success
 *   list     GET /?list-type=2&prefix=P[&continuation-token=T]
 *   copy     (from an s3 store on the same endpoint, region and access key;
 *            any bucket or prefix) HEAD /KEY (free?), then
 *            PUT /KEY, x-amz-copy-source: /SRCBUCKET/SRCKEY, If-None-Match: *
 *            (a 200 may carry an <Error>); above the multipart threshold
 *            (at most 5 GiB, CopyObject's limit) a multipart upload whose
 *            parts are PUT /KEY?partNumber=N&uploadId=U with
 *            x-amz-copy-source-range: bytes=A-B (UploadPartCopy, parallel).
 *            A 501 to UploadPartCopy (s3rver) makes this store read and put
 *            instead from then on. libcurl cannot sign a part copy (aws.h).
 * KEY is PREFIX/NAME; path-style requests put /BUCKET in front.
 *
 * Calls: aws, util.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws/aws.h"
#include "aws/awsproto.h"
#include "objstore/objstore.h"
#include "util/status.h"

#define MIB ((size_t)1 << 20)

struct s3 {
    struct objstore base; /* first: the interface casts */
    struct aws_client *aws;
    char *bucket;
    char *prefix;               /* "" or "dir/sub/" (raw, with the trailing '/') */
    char *url_base;             /* scheme://host[:port] requests go to */
    char *bucket_path;          /* "/BUCKET" (path style) or "" (virtual host) */
    size_t multipart_threshold; /* bytes */
    size_t part_size;           /* bytes */
    size_t parallel;            /* parts in flight */
    int sort_listings;          /* the server lists out of byte order: sort */
    atomic_int no_part_copy;    /* the server answered UploadPartCopy with 501 */
};

static const struct objstore_ops s3_ops;

static struct s3 *S3(struct objstore *os)
{
    return (struct s3 *)os;
}

/* "/BUCKET/PREFIX/NAME" (path style) or "/PREFIX/NAME", URI-encoded. */
static int object_path(struct s3 *s, const char *name, char **out)
{
    struct buf b = {0};
    int rc = 0;
    if ((rc = buf_append(&b, s->bucket_path, strlen(s->bucket_path))) < 0 ||
        (rc = buf_put_u8(&b, '/')) < 0 || (rc = aws_uri_encode(&b, s->prefix, 1)) < 0 ||
        (rc = aws_uri_encode(&b, name, 1)) < 0 || (rc = buf_put_u8(&b, 0)) < 0) {
        buf_free(&b);
        return err_nomem();
    }
    *out = (char *)buf_take(&b, NULL);
    return 0;
}

/* Sets up the common fields of a request about object `name`. */
static void req_init(struct s3 *s, struct aws_request *r, const char *op, const char *method,
                     const char *target, const char *path)
{
    memset(r, 0, sizeof(*r));
    r->op = op;
    r->method = method;
    r->target = target;
    r->base = s->url_base;
    r->path = path;
}

/* ---- put ---------------------------------------------------------------- */

/* The upload id out of CreateMultipartUpload's answer. */
static int parse_upload_id(struct aws_request *r, char **out)
{
    size_t pos = 0;
    int rc = aws_xml_next((const char *)r->resp.data, r->resp.len, &pos, "UploadId", out);
    if (rc == CIRRUS_ENOTFOUND)
        rc = err_set(CIRRUS_EIO, "s3 CreateMultipartUpload: no UploadId in the answer");
    return rc;
}

static int build_query(struct aws_query *q, char **out)
{
    int rc = aws_query_build(q, out);
    aws_query_free(q);
    return rc;
}

static int part_query(const char *upload_id, size_t part, char **out)
{
    struct aws_query q = {0};
    char num[24];
    int rc;
    snprintf(num, sizeof(num), "%zu", part);
    if ((rc = aws_query_add(&q, "partNumber", num)) < 0 ||
        (rc = aws_query_add(&q, "uploadId", upload_id)) < 0) {
        aws_query_free(&q);
        return rc;
    }
    return build_query(&q, out);
}

static void abort_upload(struct s3 *s, const char *name, const char *path, const char *upload_id)
{
    struct aws_query q = {0};
    char *query = NULL;
    struct aws_request r;
    if (aws_query_add(&q, "uploadId", upload_id) < 0 || build_query(&q, &query) < 0) {
        aws_query_free(&q);
        return;
    }
    req_init(s, &r, "AbortMultipartUpload", "DELETE", name, path);
    r.query = query;
    /* best effort: an upload left behind is cleaned by the bucket's
     * lifecycle rule; the caller's error matters more than this one */
    aws_perform(s->aws, &r);
    aws_request_clear(&r);
    free(query);
}

/* Did a 200 answer carry an <Error> (S3 may report a failed completion or
 * copy that way)? Then its code and message go into r, and the result is
 * CIRRUS_EIO naming op and name. */
static int error_in_body(struct aws_request *r, const char *op, const char *name)
{
    if (r->resp.len < 7 || !memmem(r->resp.data, r->resp.len, "<Error>", 7))
        return 0;
    aws_parse_error((const char *)r->resp.data, r->resp.len, 0, r->code, sizeof(r->code),
                    r->message, sizeof(r->message));
    return err_set(CIRRUS_EIO, "s3 %s %s: %s: %s", op, name, r->code, r->message);
}

/* CIRRUS_EEXISTS if object name is there (a HEAD of it), else 0. Used
 * where the service may not honour If-None-Match (multipart completion,
 * radosgw's CopyObject): a check before the write, not a guarantee against
 * a concurrent writer. op names the call in the message. */
static int refuse_existing(struct s3 *s, const char *op, const char *name)
{
    uint64_t size;
    int rc = objstore_head(&s->base, name, &size);
    if (rc == 0)
        return err_set(CIRRUS_EEXISTS, "s3 %s %s: object exists (never overwritten)", op, name);
    if (rc == CIRRUS_ENOTFOUND)
        err_clear();
    return rc == CIRRUS_ENOTFOUND ? 0 : rc;
}

/* CreateMultipartUpload of name, after checking the name is free. */
static int upload_begin(struct s3 *s, const char *op, const char *name, const char *path,
                        char **upload_id)
{
    struct aws_request r;
    struct aws_query q = {0};
    char *query = NULL;
    int rc;
    memset(&r, 0, sizeof(r));
    if ((rc = refuse_existing(s, op, name)) < 0)
        goto done;
    if ((rc = aws_query_add(&q, "uploads", NULL)) < 0 || (rc = build_query(&q, &query)) < 0)
        goto done;
    req_init(s, &r, "CreateMultipartUpload", "POST", name, path);
    r.query = query;
    r.body = "";
    r.body_len = 0;
    if ((rc = aws_perform(s->aws, &r)) == 0)
        rc = parse_upload_id(&r, upload_id);
done:
    aws_request_clear(&r);
    aws_query_free(&q);
    free(query);
    return rc;
}

/* CompleteMultipartUpload of the n parts whose ETags are etags[0..n), with
 * If-None-Match: *. *ambiguous is set when the completion may have
 * succeeded although it failed (then the upload must not be aborted). */
static int upload_complete(struct s3 *s, const char *op, const char *name, const char *path,
                           const char *upload_id, char (*etags)[256], size_t n, int *ambiguous)
{
    struct aws_request r;
    struct aws_query q = {0};
    struct buf xml = {0};
    char *query = NULL, part[400];
    int rc;
    memset(&r, 0, sizeof(r));
    rc = buf_append(&xml, "<CompleteMultipartUpload>", 25);
    for (size_t i = 0; i < n && rc == 0; i++) {
        int len =
            snprintf(part, sizeof(part), "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag></Part>",
                     i + 1, etags[i]);
        rc = buf_append(&xml, part, (size_t)len);
    }
    if (rc == 0)
        rc = buf_append(&xml, "</CompleteMultipartUpload>", 26);
    if (rc < 0) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = aws_query_add(&q, "uploadId", upload_id)) < 0 || (rc = build_query(&q, &query)) < 0)
        goto done;
    req_init(s, &r, "CompleteMultipartUpload", "POST", name, path);
    r.query = query;
    r.body = xml.data;
    r.body_len = xml.len;
    r.is_write = 1;
    r.headers[0] = "If-None-Match: *";
    r.headers[1] = "Content-Type: application/xml";
    rc = aws_perform(s->aws, &r);
    if (rc == 0)
        rc = error_in_body(&r, "CompleteMultipartUpload", name);
    if (rc == CIRRUS_ECONFLICT)
        rc = err_set(CIRRUS_EEXISTS, "s3 %s %s: object exists (HTTP %ld)", op, name, r.status);
    *ambiguous = rc == CIRRUS_ETIMEOUT;
done:
    aws_request_clear(&r);
    aws_query_free(&q);
    buf_free(&xml);
    free(query);
    return rc;
}

/* Aborts upload_id after a failure rc, keeping rc's message. */
static int upload_abort(struct s3 *s, const char *name, const char *path, const char *upload_id,
                        int rc)
{
    char saved[1024];
    snprintf(saved, sizeof(saved), "%s", cirrus_errmsg());
    abort_upload(s, name, path, upload_id);
    return err_set(rc, "%s", saved);
}

/* Frees the n part requests of an upload and their queries (either may be
 * NULL: an upload that failed before they were made). */
static void parts_free(struct aws_request *parts, char **queries, size_t n)
{
    for (size_t i = 0; parts && queries && i < n; i++) {
        aws_request_clear(&parts[i]);
        free(queries[i]);
    }
    free(parts);
    free(queries);
}

static int put_multipart(struct s3 *s, const char *name, const char *path, const uint8_t *data,
                         size_t len)
{
    int rc = 0, ambiguous = 0;
    size_t n_parts = (len + s->part_size - 1) / s->part_size;
    struct aws_request *parts = NULL;
    char **queries = NULL, *upload_id = NULL;
    char(*etags)[256] = NULL;

    /* A multipart completion need not honour If-None-Match everywhere:
     * upload_begin refuses a visible existing object up front as well. */
    if ((rc = upload_begin(s, "put", name, path, &upload_id)) < 0)
        goto done;
    parts = calloc(n_parts, sizeof(*parts));
    queries = calloc(n_parts, sizeof(*queries));
    etags = calloc(n_parts, sizeof(*etags));
    if (!parts || !queries || !etags) {
        rc = err_nomem();
        goto done;
    }
    for (size_t i = 0; i < n_parts; i++) {
        size_t off = i * s->part_size;
        if ((rc = part_query(upload_id, i + 1, &queries[i])) < 0)
            goto done;
        req_init(s, &parts[i], "UploadPart", "PUT", name, path);
        parts[i].query = queries[i];
        parts[i].body = data + off;
        parts[i].body_len = len - off < s->part_size ? len - off : s->part_size;
        /* re-sending a part replaces it: retries are safe, not ambiguous */
        parts[i].is_write = 0;
    }
    if ((rc = aws_perform_many(s->aws, parts, n_parts, s->parallel)) < 0)
        goto done;
    for (size_t i = 0; i < n_parts; i++) {
        if (aws_response_header(&parts[i], "ETag", etags[i], sizeof(etags[i])) < 0) {
            rc = err_set(CIRRUS_EIO, "s3 UploadPart %s part %zu: no ETag in the answer", name,
                         i + 1);
            goto done;
        }
    }
    rc = upload_complete(s, "put", name, path, upload_id, etags, n_parts, &ambiguous);
done:
    if (rc < 0 && upload_id && !ambiguous)
        rc = upload_abort(s, name, path, upload_id, rc);
    parts_free(parts, queries, n_parts);
    free(etags);
    free(upload_id);
    return rc;
}

static int s3_put(struct objstore *os, const char *name, const void *data, size_t len)
{
    struct s3 *s = S3(os);
    struct aws_request r;
    char *path = NULL;
    int rc;
    memset(&r, 0, sizeof(r));
    if ((rc = objstore_check_name(name)) < 0 || (rc = object_path(s, name, &path)) < 0)
        goto done;
    if (len > s->multipart_threshold) {
        rc = put_multipart(s, name, path, data, len);
        goto done;
    }
    req_init(s, &r, "PutObject", "PUT", name, path);
    r.body = len ? data : "";
    r.body_len = len;
    r.is_write = 1;
    r.headers[0] = "If-None-Match: *";
    rc = aws_perform(s->aws, &r);
    if (rc == CIRRUS_ECONFLICT)
        /* 412: the name exists; 409: a concurrent conditional put won */
        rc = err_set(CIRRUS_EEXISTS, "s3 put %s: object exists (HTTP %ld %s)", name, r.status,
                     r.code);
done:
    aws_request_clear(&r);
    free(path);
    return rc;
}

/* ---- reads -------------------------------------------------------------- */

static int s3_head(struct objstore *os, const char *name, uint64_t *size_out)
{
    struct s3 *s = S3(os);
    struct aws_request r;
    char *path = NULL, len[32];
    int rc;
    memset(&r, 0, sizeof(r));
    if ((rc = objstore_check_name(name)) < 0 || (rc = object_path(s, name, &path)) < 0)
        goto done;
    req_init(s, &r, "HeadObject", "HEAD", name, path);
    if ((rc = aws_perform(s->aws, &r)) < 0) {
        if (rc == CIRRUS_ENOTFOUND)
            rc = err_set(rc, "s3 head %s: no such object", name);
        goto done;
    }
    if (aws_response_header(&r, "Content-Length", len, sizeof(len)) < 0) {
        rc = err_set(CIRRUS_EIO, "s3 head %s: no Content-Length in the answer", name);
        goto done;
    }
    *size_out = strtoull(len, NULL, 10);
done:
    aws_request_clear(&r);
    free(path);
    return rc;
}

static int s3_get(struct objstore *os, const char *name, uint64_t off, size_t len, void *dst,
                  size_t *got_out)
{
    struct s3 *s = S3(os);
    struct aws_request r;
    char *path = NULL, range[64];
    int rc;
    uint64_t size;
    memset(&r, 0, sizeof(r));
    if (len == 0) {
        /* no byte range can be empty: just say whether the object exists */
        if ((rc = s3_head(os, name, &size)) == 0)
            *got_out = 0;
        goto done;
    }
    if ((rc = objstore_check_name(name)) < 0 || (rc = object_path(s, name, &path)) < 0)
        goto done;
    snprintf(range, sizeof(range), "Range: bytes=%llu-%llu", (unsigned long long)off,
             (unsigned long long)(off + len - 1));
    req_init(s, &r, "GetObject", "GET", name, path);
    r.headers[0] = range;
    r.dst = dst;
    r.dst_cap = len;
    rc = aws_perform(s->aws, &r);
    if (rc < 0 && r.status == 416) {
        /* the range starts at or past the end: a read cut short to nothing */
        *got_out = 0;
        rc = 0;
        goto done;
    }
    if (rc == CIRRUS_ENOTFOUND)
        rc = err_set(rc, "s3 get %s: no such object", name);
    if (rc < 0)
        goto done;
    if (r.status == 200 && off != 0) {
        rc = err_set(CIRRUS_EIO, "s3 get %s: the server ignored the Range header", name);
        goto done;
    }
    unsigned long long start = 0;
    if (r.status == 206 && aws_response_header(&r, "Content-Range", range, sizeof(range)) == 0 &&
        (sscanf(range, "bytes %llu-", &start) != 1 || start != off)) {
        rc = err_set(CIRRUS_EIO, "s3 get %s: asked for bytes from %llu, got \"%s\"", name,
                     (unsigned long long)off, range);
        goto done;
    }
    *got_out = r.dst_len;
done:
    aws_request_clear(&r);
    free(path);
    return rc;
}

static int s3_get_all(struct objstore *os, const char *name, uint8_t **data_out, size_t *len_out)
{
    struct s3 *s = S3(os);
    struct aws_request r;
    char *path = NULL;
    int rc;
    memset(&r, 0, sizeof(r));
    if ((rc = objstore_check_name(name)) < 0 || (rc = object_path(s, name, &path)) < 0)
        goto done;
    req_init(s, &r, "GetObject", "GET", name, path);
    if ((rc = aws_perform(s->aws, &r)) < 0) {
        if (rc == CIRRUS_ENOTFOUND)
            rc = err_set(rc, "s3 get %s: no such object", name);
        goto done;
    }
    /* an empty object still comes back as a buffer the caller can free */
    if (buf_reserve(&r.resp, 1) < 0) {
        rc = err_nomem();
        goto done;
    }
    *data_out = buf_take(&r.resp, len_out);
done:
    aws_request_clear(&r);
    free(path);
    return rc;
}

static int s3_del(struct objstore *os, const char *name)
{
    struct s3 *s = S3(os);
    struct aws_request r;
    char *path = NULL;
    int rc;
    memset(&r, 0, sizeof(r));
    if ((rc = objstore_check_name(name)) < 0 || (rc = object_path(s, name, &path)) < 0)
        goto done;
    req_init(s, &r, "DeleteObject", "DELETE", name, path);
    rc = aws_perform(s->aws, &r);
    if (rc == CIRRUS_ENOTFOUND && strcmp(r.code, "NoSuchBucket") != 0)
        rc = 0; /* deletes are idempotent */
done:
    aws_request_clear(&r);
    free(path);
    return rc;
}

/* ---- copy --------------------------------------------------------------- */

/* S3's limit for one CopyObject; larger objects are copied in parts. */
#define COPY_OBJECT_MAX ((uint64_t)5 << 30)
/* S3's limits on the parts of one upload. */
#define PARTS_MAX 10000
#define PART_SIZE_MAX ((uint64_t)5 << 30)

/* Can os copy from src on the service's side? Both s3, one endpoint and
 * region, and one identity (the access key both sign with now), so that
 * the destination's credentials may read what the source's could. */
static int same_service(struct s3 *s, struct objstore *src)
{
    if (src->ops != &s3_ops)
        return 0;
    const struct aws_config *a = aws_client_config(s->aws);
    const struct aws_config *b = aws_client_config(S3(src)->aws);
    if ((a->endpoint || b->endpoint) &&
        (!a->endpoint || !b->endpoint || strcmp(a->endpoint, b->endpoint) != 0))
        return 0;
    if (strcmp(a->region, b->region) != 0)
        return 0;
    struct aws_creds *ka = a->creds ? aws_cred_get(a->creds) : NULL;
    struct aws_creds *kb = b->creds ? aws_cred_get(b->creds) : NULL;
    int same = (!ka && !kb) || (ka && kb && strcmp(ka->access_key, kb->access_key) == 0);
    aws_creds_release(ka);
    aws_creds_release(kb);
    return same;
}

/* "x-amz-copy-source: /BUCKET/PREFIX/NAME" for object src_name of src,
 * URI-encoded as AWS documents it (the key's '/' kept). */
static int copy_source_header(struct s3 *src, const char *src_name, char **out)
{
    static const char h[] = "x-amz-copy-source: /";
    struct buf b = {0};
    if (buf_append(&b, h, sizeof(h) - 1) < 0 || aws_uri_encode(&b, src->bucket, 0) < 0 ||
        buf_put_u8(&b, '/') < 0 || aws_uri_encode(&b, src->prefix, 1) < 0 ||
        aws_uri_encode(&b, src_name, 1) < 0 || buf_put_u8(&b, 0) < 0) {
        buf_free(&b);
        return err_nomem();
    }
    *out = (char *)buf_take(&b, NULL);
    return 0;
}

/* The message of a copy whose source is missing: it names the source. */
static int copy_notfound(struct s3 *src, const char *src_name, const char *name,
                         const struct aws_request *r)
{
    return err_set(CIRRUS_ENOTFOUND, "s3 copy %s%s (bucket %s) to %s: no such object (HTTP %ld %s)",
                   src->prefix, src_name, src->bucket, name, r->status, r->code);
}

/* One CopyObject (up to 5 GiB). If-None-Match: * where honoured; radosgw
 * 16 ignores it on a copy, so refuse_existing looks first as well. */
static int copy_object(struct s3 *s, const char *name, const char *path, const char *source_hdr,
                       struct s3 *src, const char *src_name)
{
    struct aws_request r;
    int rc;
    memset(&r, 0, sizeof(r));
    if ((rc = refuse_existing(s, "copy", name)) < 0)
        goto done;
    req_init(s, &r, "CopyObject", "PUT", name, path);
    r.body = ""; /* a PUT needs its Content-Length, 0 */
    r.body_len = 0;
    r.is_write = 1;
    r.headers[0] = "If-None-Match: *";
    r.headers[1] = source_hdr;
    rc = aws_perform(s->aws, &r);
    if (rc == 0)
        rc = error_in_body(&r, "CopyObject", name);
    if (rc == CIRRUS_ECONFLICT)
        rc = err_set(CIRRUS_EEXISTS, "s3 copy %s: object exists (HTTP %ld %s)", name, r.status,
                     r.code);
    else if (rc == CIRRUS_ENOTFOUND)
        rc = copy_notfound(src, src_name, name, &r);
done:
    aws_request_clear(&r);
    return rc;
}

/* The ETag of one UploadPartCopy answer (<CopyPartResult><ETag>). */
static int part_copy_etag(struct aws_request *r, const char *name, size_t part, char *out,
                          size_t cap)
{
    char *etag = NULL;
    size_t pos = 0;
    int rc = error_in_body(r, "UploadPartCopy", name);
    if (rc == 0 && (rc = aws_xml_next((const char *)r->resp.data, r->resp.len, &pos, "ETag",
                                      &etag)) == CIRRUS_ENOTFOUND)
        rc =
            err_set(CIRRUS_EIO, "s3 UploadPartCopy %s part %zu: no ETag in the answer", name, part);
    if (rc == 0)
        snprintf(out, cap, "%s", etag);
    free(etag);
    return rc;
}

/* The parts of a multipart copy: part_size, doubled until the object fits
 * in S3's 10,000 parts. */
static uint64_t copy_part_size(const struct s3 *s, uint64_t size)
{
    uint64_t part = s->part_size;
    while (part < PART_SIZE_MAX && (size + part - 1) / part > PARTS_MAX)
        part *= 2;
    return part;
}

/*
 * A multipart copy of size bytes: CreateMultipartUpload, one UploadPartCopy
 * per range (x-amz-copy-source-range: bytes=A-B, in parallel as put's
 * parts), CompleteMultipartUpload; aborted on failure unless the
 * completion's outcome is unknown. *unsupported is set when the server
 * answered UploadPartCopy with 501 Not Implemented (s3rver): nothing was
 * made, and the caller copies another way.
 */
static int copy_multipart(struct s3 *s, const char *name, const char *path, const char *source_hdr,
                          struct s3 *src, const char *src_name, uint64_t size, int *unsupported)
{
    int rc = 0, ambiguous = 0;
    uint64_t part = copy_part_size(s, size);
    size_t n_parts = (size_t)((size + part - 1) / part);
    struct aws_request *parts = NULL;
    char **queries = NULL, *upload_id = NULL;
    char(*ranges)[80] = NULL, (*etags)[256] = NULL;

    if ((rc = upload_begin(s, "copy", name, path, &upload_id)) < 0)
        goto done;
    parts = calloc(n_parts, sizeof(*parts));
    queries = calloc(n_parts, sizeof(*queries));
    ranges = calloc(n_parts, sizeof(*ranges));
    etags = calloc(n_parts, sizeof(*etags));
    if (!parts || !queries || !ranges || !etags) {
        rc = err_nomem();
        goto done;
    }
    for (size_t i = 0; i < n_parts; i++) {
        uint64_t first = i * part, last = first + part < size ? first + part - 1 : size - 1;
        if ((rc = part_query(upload_id, i + 1, &queries[i])) < 0)
            goto done;
        snprintf(ranges[i], sizeof(ranges[i]), "x-amz-copy-source-range: bytes=%llu-%llu",
                 (unsigned long long)first, (unsigned long long)last);
        req_init(s, &parts[i], "UploadPartCopy", "PUT", name, path);
        parts[i].query = queries[i];
        parts[i].body = "";
        parts[i].body_len = 0;
        parts[i].headers[0] = source_hdr;
        parts[i].headers[1] = ranges[i];
        parts[i].is_write = 0; /* a part copied again replaces itself */
    }
    rc = aws_perform_many(s->aws, parts, n_parts, s->parallel);
    for (size_t i = 0; i < n_parts && rc < 0; i++)
        if (parts[i].status == 501)
            *unsupported = 1;
    if (rc == CIRRUS_ENOTFOUND)
        rc = copy_notfound(src, src_name, name, &parts[0]);
    for (size_t i = 0; i < n_parts && rc == 0; i++)
        rc = part_copy_etag(&parts[i], name, i + 1, etags[i], sizeof(etags[i]));
    if (rc == 0)
        rc = upload_complete(s, "copy", name, path, upload_id, etags, n_parts, &ambiguous);
done:
    if (rc < 0 && upload_id && !ambiguous)
        rc = upload_abort(s, name, path, upload_id, rc);
    parts_free(parts, queries, n_parts);
    free(ranges);
    free(etags);
    free(upload_id);
    return rc;
}

/*
 * s3 to s3 on one service (same_service): CopyObject up to the multipart
 * threshold (at most 5 GiB), a multipart copy above it. The source's size
 * comes from a HEAD of it when the caller does not know it or the copy
 * goes in parts (whose ranges must match the object exactly). A server
 * without UploadPartCopy gets the generic copy instead, from then on
 * without asking again.
 */
static int s3_copy_from(struct objstore *os, const char *name, struct objstore *src_os,
                        const char *src_name, uint64_t size)
{
    struct s3 *s = S3(os), *src = S3(src_os);
    uint64_t threshold =
        s->multipart_threshold < COPY_OBJECT_MAX ? s->multipart_threshold : COPY_OBJECT_MAX;
    uint64_t actual = size;
    char *path = NULL, *source_hdr = NULL;
    int rc = 0, unsupported = 0;
    if (!same_service(s, src_os) ||
        (size != OBJSTORE_SIZE_UNKNOWN && size > threshold && atomic_load(&s->no_part_copy)))
        return OBJSTORE_COPY_DECLINED;
    if (size == OBJSTORE_SIZE_UNKNOWN || size > threshold) {
        if ((rc = objstore_head(src_os, src_name, &actual)) < 0)
            goto done;
        if (size != OBJSTORE_SIZE_UNKNOWN && actual != size) {
            rc = err_set(CIRRUS_ECORRUPT, "s3 copy %s%s: %llu bytes, the caller said %llu",
                         src->prefix, src_name, (unsigned long long)actual,
                         (unsigned long long)size);
            goto done;
        }
    }
    if (actual > threshold && atomic_load(&s->no_part_copy)) {
        rc = objstore_copy_by_reading(os, name, src_os, src_name, actual);
        goto done;
    }
    if ((rc = object_path(s, name, &path)) < 0 ||
        (rc = copy_source_header(src, src_name, &source_hdr)) < 0)
        goto done;
    if (actual <= threshold) {
        rc = copy_object(s, name, path, source_hdr, src, src_name);
        goto done;
    }
    rc = copy_multipart(s, name, path, source_hdr, src, src_name, actual, &unsupported);
    if (rc < 0 && unsupported) {
        atomic_store(&s->no_part_copy, 1);
        err_clear();
        rc = objstore_copy_by_reading(os, name, src_os, src_name, actual);
    }
done:
    free(path);
    free(source_hdr);
    return rc;
}

/* ---- list --------------------------------------------------------------- */

/* "2026-11-24T08:17:11.171Z" -> Unix ms (0 if unparsable). */
static int64_t parse_iso8601_ms(const char *s)
{
    struct tm tm;
    int ms = 0;
    memset(&tm, 0, sizeof(tm));
    if (sscanf(s, "%d-%d-%dT%d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec, &ms) < 6)
        return 0;
    /* a server's nonsense must not overflow what follows (found by fuzz_s3):
     * a time outside years 0..9999 reads as unknown */
    if (tm.tm_year < 0 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour < 0 || tm.tm_hour > 24 || tm.tm_min < 0 || tm.tm_min > 59 ||
        tm.tm_sec < 0 || tm.tm_sec > 60 || ms < 0 || ms > 999)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm) * 1000 + ms;
}

/* One listing in progress: where entries go, and the order check. */
struct list_state {
    struct s3 *s;
    int (*fn)(const struct objstore_entry *e, void *arg);
    void *arg;
    char *last; /* previous key reported (malloc'd), for the order check */
    /* sorting (CIRRUS_S3_SORT_LISTINGS): everything is collected first */
    struct objstore_entry *held;
    size_t n_held, cap_held;
};

static int hold_entry(struct list_state *ls, const struct objstore_entry *e)
{
    if (ls->n_held == ls->cap_held) {
        size_t cap = ls->cap_held ? 2 * ls->cap_held : 256;
        struct objstore_entry *h = realloc(ls->held, cap * sizeof(*h));
        if (!h)
            return err_nomem();
        ls->held = h;
        ls->cap_held = cap;
    }
    struct objstore_entry *d = &ls->held[ls->n_held];
    if ((d->name = strdup(e->name)) == NULL)
        return err_nomem();
    d->size = e->size;
    d->mtime_ms = e->mtime_ms;
    ls->n_held++;
    return 0;
}

/* Reports one entry, or holds it when sorting. Streaming relies on the
 * service listing in byte order, as S3 promises; a server that does not
 * (s3rver walks directories) is caught here rather than trusted. */
static int emit(struct list_state *ls, const struct objstore_entry *e)
{
    if (ls->s->sort_listings)
        return hold_entry(ls, e);
    if (ls->last && strcmp(ls->last, e->name) >= 0)
        return err_set(CIRRUS_EIO,
                       "s3 list: the server listed \"%.200s\" after \"%.200s\", out of byte "
                       "order (set CIRRUS_S3_SORT_LISTINGS=1 for such servers)",
                       e->name, ls->last);
    char *copy = strdup(e->name);
    if (!copy)
        return err_nomem();
    free(ls->last);
    ls->last = copy;
    return ls->fn(e, ls->arg);
}

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const struct objstore_entry *)a)->name,
                  ((const struct objstore_entry *)b)->name);
}

/* Reports the held entries in byte order (sorting mode), each once. */
static int flush_held(struct list_state *ls)
{
    int rc = 0;
    if (ls->n_held > 1)
        qsort(ls->held, ls->n_held, sizeof(*ls->held), cmp_entry);
    for (size_t i = 0; i < ls->n_held && rc == 0; i++)
        if (i == 0 || strcmp(ls->held[i - 1].name, ls->held[i].name) != 0)
            rc = ls->fn(&ls->held[i], ls->arg);
    return rc;
}

static void list_state_free(struct list_state *ls)
{
    for (size_t i = 0; i < ls->n_held; i++)
        free((char *)ls->held[i].name);
    free(ls->held);
    free(ls->last);
}

/* Reports each <Contents> of one ListObjectsV2 page. */
static int list_page(struct list_state *ls, const char *doc, size_t len)
{
    int rc = 0;
    size_t pos = 0, plen = strlen(ls->s->prefix);
    char *item = NULL, *key = NULL, *size = NULL, *mtime = NULL;
    while ((rc = aws_xml_next(doc, len, &pos, "Contents", &item)) == 0) {
        size_t ip = 0;
        if ((rc = aws_xml_next(item, strlen(item), &ip, "Key", &key)) < 0) {
            rc = rc == CIRRUS_ENOTFOUND ? err_set(CIRRUS_EIO, "s3 list: an entry without Key") : rc;
            goto done;
        }
        ip = 0;
        if (aws_xml_next(item, strlen(item), &ip, "Size", &size) == CIRRUS_ENOMEM ||
            (ip = 0, aws_xml_next(item, strlen(item), &ip, "LastModified", &mtime)) ==
                CIRRUS_ENOMEM) {
            rc = CIRRUS_ENOMEM;
            goto done;
        }
        if (strncmp(key, ls->s->prefix, plen) == 0) {
            struct objstore_entry e = {key + plen, size ? strtoull(size, NULL, 10) : 0,
                                       mtime ? parse_iso8601_ms(mtime) : 0};
            if ((rc = emit(ls, &e)) != 0)
                goto done;
        }
        free(item);
        free(key);
        free(size);
        free(mtime);
        item = key = size = mtime = NULL;
    }
    if (rc == CIRRUS_ENOTFOUND)
        rc = 0;
done:
    free(item);
    free(key);
    free(size);
    free(mtime);
    return rc;
}

static int s3_list(struct objstore *os, const char *prefix,
                   int (*fn)(const struct objstore_entry *e, void *arg), void *arg)
{
    struct s3 *s = S3(os);
    struct aws_request r;
    struct aws_query q = {0};
    char *full = NULL, *token = NULL, *query = NULL, *truncated = NULL, *path = NULL;
    int rc = 0;
    size_t n = strlen(s->prefix) + strlen(prefix) + 1;
    struct list_state ls = {s, fn, arg, NULL, NULL, 0, 0};
    memset(&r, 0, sizeof(r));
    full = malloc(n);
    path = malloc(strlen(s->bucket_path) + 2);
    if (!full || !path) {
        rc = err_nomem();
        goto done;
    }
    snprintf(full, n, "%s%s", s->prefix, prefix);
    snprintf(path, strlen(s->bucket_path) + 2, "%s%s", s->bucket_path,
             s->bucket_path[0] ? "" : "/");
    for (;;) {
        if ((rc = aws_query_add(&q, "list-type", "2")) < 0 ||
            (rc = aws_query_add(&q, "prefix", full)) < 0 ||
            (token && (rc = aws_query_add(&q, "continuation-token", token)) < 0) ||
            (rc = build_query(&q, &query)) < 0)
            goto done;
        req_init(s, &r, "ListObjectsV2", "GET", full, path);
        r.query = query;
        if ((rc = aws_perform(s->aws, &r)) < 0)
            goto done;
        const char *doc = (const char *)r.resp.data;
        if ((rc = list_page(&ls, doc, r.resp.len)) != 0)
            goto done;
        size_t pos = 0;
        free(truncated);
        truncated = NULL;
        if ((rc = aws_xml_next(doc, r.resp.len, &pos, "IsTruncated", &truncated)) == CIRRUS_ENOMEM)
            goto done;
        rc = 0;
        if (!truncated || strcmp(truncated, "true") != 0) {
            if (s->sort_listings)
                rc = flush_held(&ls);
            break;
        }
        free(token);
        token = NULL;
        pos = 0;
        if ((rc = aws_xml_next(doc, r.resp.len, &pos, "NextContinuationToken", &token)) < 0) {
            if (rc == CIRRUS_ENOTFOUND)
                rc = err_set(CIRRUS_EIO, "s3 list %s: truncated page without a continuation token",
                             full);
            goto done;
        }
        aws_request_clear(&r);
        memset(&r, 0, sizeof(r));
        free(query);
        query = NULL;
    }
done:
    aws_request_clear(&r);
    aws_query_free(&q);
    free(full);
    free(path);
    free(token);
    free(query);
    free(truncated);
    list_state_free(&ls);
    return rc;
}

/* ---- open / close -------------------------------------------------------- */

static void s3_close(struct objstore *os)
{
    struct s3 *s = S3(os);
    if (!s)
        return;
    aws_client_free(s->aws);
    free(s->bucket);
    free(s->prefix);
    free(s->url_base);
    free(s->bucket_path);
    free(s->base.url);
    free(s);
}

static int env_size(const char *name, size_t def, size_t min, size_t *out)
{
    const char *v = getenv(name);
    char *end;
    *out = def;
    if (!v || !*v)
        return 0;
    unsigned long long n = strtoull(v, &end, 10);
    if (*end || n < min || n > ((unsigned long long)1 << 40))
        return err_set(CIRRUS_EINVALID, "%s=%s: expected a number >= %zu", name, v, min);
    *out = (size_t)n;
    return 0;
}

/* Splits "s3://BUCKET[/PREFIX]" into the struct's bucket and prefix. */
static int parse_url(struct s3 *s, const char *rest, const char *url)
{
    const char *p = rest, *slash = strchr(p, '/');
    size_t blen = slash ? (size_t)(slash - p) : strlen(p);
    if (blen < 3 || blen > 63)
        return err_set(CIRRUS_EINVALID, "%s: a bucket name has 3 to 63 characters", url);
    for (size_t i = 0; i < blen; i++) {
        char c = p[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return err_set(CIRRUS_EINVALID, "%s: bad character '%c' in the bucket name", url, c);
    }
    if ((s->bucket = strndup(p, blen)) == NULL)
        return err_nomem();
    const char *pre = slash ? slash + 1 : "";
    size_t plen = strlen(pre);
    while (plen > 0 && pre[plen - 1] == '/')
        plen--;
    if ((s->prefix = malloc(plen + 2)) == NULL)
        return err_nomem();
    memcpy(s->prefix, pre, plen);
    s->prefix[plen] = '\0';
    if (plen > 0) {
        int rc = objstore_check_name(s->prefix);
        if (rc < 0)
            return err_prefix(rc, "%s: bad prefix", url);
        s->prefix[plen] = '/';
        s->prefix[plen + 1] = '\0';
    }
    return 0;
}

/* Virtual-host addressing works on AWS for DNS-safe names without dots
 * (dots break the wildcard TLS certificate). */
static int dns_safe(const char *bucket)
{
    for (const char *c = bucket; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-'))
            return 0;
    return 1;
}

static int check_bucket(struct s3 *s)
{
    struct aws_request r;
    struct aws_query q = {0};
    char *path = NULL, *query = NULL, region[64];
    int rc;
    memset(&r, 0, sizeof(r));
    size_t n = strlen(s->bucket_path) + 2;
    if ((path = malloc(n)) == NULL)
        return err_nomem();
    snprintf(path, n, "%s%s", s->bucket_path, s->bucket_path[0] ? "" : "/");
    /* A one-key listing rather than HEAD: a HEAD answer has no body, so a
     * refusal could not name its cause (SignatureDoesNotMatch, ...). It
     * needs the same permission (s3:ListBucket) and proves listing works. */
    if ((rc = aws_query_add(&q, "list-type", "2")) < 0 ||
        (rc = aws_query_add(&q, "max-keys", "1")) < 0 ||
        (rc = aws_query_add(&q, "prefix", s->prefix)) < 0 || (rc = build_query(&q, &query)) < 0)
        goto done;
    req_init(s, &r, "ListObjectsV2", "GET", s->bucket, path);
    r.query = query;
    rc = aws_perform(s->aws, &r);
    if (rc == CIRRUS_ENOTFOUND)
        rc = err_set(rc, "s3 bucket '%s' does not exist at %s", s->bucket, s->url_base);
    else if (rc < 0 && (r.status == 301 || r.status == 400) &&
             aws_response_header(&r, "x-amz-bucket-region", region, sizeof(region)) == 0)
        rc = err_set(CIRRUS_EINVALID, "s3 bucket '%s' is in region %s, not %s: set AWS_REGION",
                     s->bucket, region, aws_client_config(s->aws)->region);
done:
    aws_request_clear(&r);
    aws_query_free(&q);
    free(path);
    free(query);
    return rc;
}

/* Opens "s3://BUCKET[/PREFIX]" (rest: what follows the scheme) after checking
 * the bucket answers. Returns 0, CIRRUS_EINVALID (bad URL or environment),
 * CIRRUS_ENOTFOUND (no such bucket), CIRRUS_EAUTH (credentials refused),
 * CIRRUS_EIO, CIRRUS_ETIMEOUT, CIRRUS_ENOMEM. Declared in objstore.c. */
int s3_objstore_open(struct objstore **out, const char *rest, const char *url, int create);

int s3_objstore_open(struct objstore **out, const char *rest, const char *url, int create)
{
    int rc = 0;
    struct s3 *s = NULL;
    struct aws_config cfg;
    memset(&cfg, 0, sizeof(cfg));
    if (strncmp(url, "s3://", 5) != 0) {
        rc = err_set(CIRRUS_EINVALID, "%s: not an s3:// URL", url);
        goto done;
    }
    if ((s = calloc(1, sizeof(*s))) == NULL || (s->base.url = strdup(url)) == NULL) {
        rc = err_nomem();
        goto done;
    }
    s->base.ops = &s3_ops;
    if ((rc = parse_url(s, rest, url)) < 0)
        goto done;
    if ((rc = env_size("CIRRUS_S3_MULTIPART_THRESHOLD", 16 * MIB, 1, &s->multipart_threshold)) <
            0 ||
        (rc = env_size("CIRRUS_S3_PART_SIZE", 8 * MIB, 1024, &s->part_size)) < 0 ||
        (rc = env_size("CIRRUS_S3_PARALLEL", 4, 1, &s->parallel)) < 0)
        goto done;
    const char *sort = getenv("CIRRUS_S3_SORT_LISTINGS");
    s->sort_listings = sort && strcmp(sort, "1") == 0;
    if ((rc = aws_config_from_env(&cfg, "s3")) < 0)
        goto done;
    size_t n =
        strlen(s->bucket) + strlen(cfg.region) + (cfg.endpoint ? strlen(cfg.endpoint) : 0) + 64;
    s->url_base = malloc(n);
    s->bucket_path = malloc(strlen(s->bucket) + 2);
    if (!s->url_base || !s->bucket_path) {
        rc = err_nomem();
        goto done;
    }
    /* virtual-hosted style on AWS unless AWS_S3_FORCE_PATH_STYLE=true;
     * custom endpoints (radosgw, MinIO, s3rver) always path style */
    const char *force_path = getenv("AWS_S3_FORCE_PATH_STYLE");
    if (!cfg.endpoint && dns_safe(s->bucket) &&
        !(force_path && strcasecmp(force_path, "true") == 0)) {
        snprintf(s->url_base, n, "https://%s.s3.%s.amazonaws.com", s->bucket, cfg.region);
        s->bucket_path[0] = '\0';
    } else {
        snprintf(s->url_base, n, "%s", cfg.endpoint ? cfg.endpoint : "");
        if (!cfg.endpoint)
            snprintf(s->url_base, n, "https://s3.%s.amazonaws.com", cfg.region);
        snprintf(s->bucket_path, strlen(s->bucket) + 2, "/%s", s->bucket);
    }
    if ((rc = aws_client_new(&s->aws, &cfg)) < 0 || (rc = check_bucket(s)) < 0)
        goto done;
    *out = &s->base;
    s = NULL;
done:
    aws_config_clear(&cfg);
    if (s)
        s3_close(&s->base);
    return rc;
}

static const struct objstore_ops s3_ops = {
    .kind = "s3",
    .put = s3_put,
    .get = s3_get,
    .get_all = s3_get_all,
    .head = s3_head,
    .del = s3_del,
    .list = s3_list,
    .close = s3_close,
    .copy_from = s3_copy_from,
};
