/*
 * credentials.h - who an AWS client signs as: the credential chain, and
 * keeping temporary credentials fresh while requests go on.
 *
 * The chain, in the order the AWS SDKs use; the first source that is
 * configured wins (a configured source that then fails is an error, not a
 * reason to try the next one, as in the SDKs):
 *   1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY
 *      [+ AWS_SESSION_TOKEN]; never expires.
 *   2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *      [+ AWS_ROLE_SESSION_NAME] (or web_identity_token_file + role_arn in
 *      the profile): STS AssumeRoleWithWebIdentity, an unsigned POST to
 *      AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL or https://sts.REGION.
 *      amazonaws.com; the token file is re-read on every refresh (EKS
 *      rotates it).
 *   3. the shared files, profile AWS_PROFILE (default "default"):
 *      AWS_SHARED_CREDENTIALS_FILE (~/.aws/credentials, sections "[NAME]")
 *      then AWS_CONFIG_FILE (~/.aws/config, "[profile NAME]", "[default]");
 *      aws_access_key_id / aws_secret_access_key / aws_session_token, else
 *      credential_process (run by /bin/sh; stdout is JSON with "Version": 1,
 *      an optional "Expiration" makes it refreshable); or role_arn +
 *      source_profile [+ external_id, role_session_name]: STS AssumeRole,
 *      signed with what the source profile gives (its keys, its
 *      credential_process, or its own role: up to 4 deep), to the same STS
 *      endpoint as web identity. The profile also gives region and ca_bundle
 *      to the client, whatever the source.
 *   4. container endpoint (ECS task roles, EKS Pod Identity):
 *      http://169.254.170.2 + AWS_CONTAINER_CREDENTIALS_RELATIVE_URI, or
 *      AWS_CONTAINER_CREDENTIALS_FULL_URI; an "Authorization" header from
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (re-read each time) or
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN.
 *   5. EC2 instance metadata, IMDSv2 only: PUT /latest/api/token with
 *      X-aws-ec2-metadata-token-ttl-seconds, then GET
 *      /latest/meta-data/iam/security-credentials/ (the role) and .../ROLE
 *      with X-aws-ec2-metadata-token. AWS_EC2_METADATA_DISABLED=true skips
 *      it; AWS_EC2_METADATA_SERVICE_ENDPOINT replaces http://169.254.169.254.
 *   None of them (or IMDS unreachable or without a role, as the SDKs
 *   conclude): requests go unsigned (anonymous), as before.
 *
 * Invariants:
 *   1. A published struct aws_creds is immutable: the (key, secret, token)
 *      triple a request signs with is always one fetch's triple. Readers take
 *      a reference (aws_cred_get) and drop it (aws_creds_release); the
 *      provider's own reference is dropped when a newer triple replaces it.
 *   2. At most one fetch runs at a time per provider (refreshing, under
 *      lock). While it runs, every other request keeps signing with the
 *      current triple; nobody waits unless the current triple has expired.
 *   3. Temporary credentials are refreshed by a background thread at
 *      aws_creds_refresh_at(): when less than min(5 min, half the lifetime
 *      they were handed out with) remains. A failed refresh is retried after
 *      a short backoff until the triple expires; only then do requests wait
 *      (up to the fetch's timeout) for a fetch of their own.
 *   4. A secret or token is never printed; they are zeroed before free.
 *      The source's description (aws_cred_source) names files, URLs and role
 *      ARNs only.
 *
 * Calls: awsproto, util, libcurl, jansson, pthreads.
 */
#ifndef CIRRUS_AWS_CREDENTIALS_H
#define CIRRUS_AWS_CREDENTIALS_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* One fetched credential triple; immutable once published (invariant 1). */
struct aws_creds {
    char *access_key;    /* never NULL */
    char *secret_key;    /* never NULL, never printed */
    char *session_token; /* NULL if none; never printed */
    int64_t fetched_ms;  /* unix ms when it arrived */
    int64_t expires_ms;  /* unix ms; 0: does not expire */
    atomic_int refs;     /* private: references held */
};

/* Drops a reference (accepts NULL); the last one zeroes and frees. */
void aws_creds_release(struct aws_creds *c);

/* What the shared files say about one profile. Fields are malloc'd or NULL. */
struct aws_profile {
    char *name; /* the profile's name */
    char *access_key, *secret_key, *session_token;
    char *credential_process;
    char *role_arn, *web_identity_token_file, *role_session_name;
    char *source_profile, *external_id; /* role_arn assumed with source_profile's */
    char *region;
    char *ca_bundle;
    char *file; /* the file the keys came from, for messages */
};

/* Reads AWS_PROFILE's profile from the credentials and config files named
 * by the environment (missing files are no error). Returns 0, CIRRUS_EIO
 * (a file that exists but cannot be read), CIRRUS_ENOMEM. */
int aws_profile_load(struct aws_profile *p);
/* The same for the profile called name. */
int aws_profile_load_named(struct aws_profile *p, const char *name);
void aws_profile_clear(struct aws_profile *p);

/* The pure parts, exposed for the unit tests. */

/* Merges profile `name` of an INI text into p, filling only fields still
 * NULL. config: the text is a config file (sections "[profile NAME]", and
 * "[default]"), else a credentials file ("[NAME]"). Keys are matched
 * case-insensitively; '#' and ';' start comment lines; indented lines
 * (sub-sections such as "s3 =\n  addressing_style = path") and lines with a
 * NUL byte are skipped.
 * Returns 0 or CIRRUS_ENOMEM. */
int aws_profile_parse(struct aws_profile *p, const char *text, size_t len, const char *name,
                      int config);

/* An ISO 8601 / RFC 3339 time ("2026-12-01T21:00:00Z", fractional seconds
 * and "+hh:mm" offsets allowed) as unix ms. 0 or CIRRUS_EINVALID. */
int aws_parse_time(const char *s, int64_t *ms_out);

/* When to refresh a triple fetched at fetched_ms that expires at
 * expires_ms (unix ms): min(5 min, half its lifetime) before it expires.
 * INT64_MAX when expires_ms is 0 (never). */
int64_t aws_creds_refresh_at(int64_t fetched_ms, int64_t expires_ms);

/* Credentials from a JSON document: the container and IMDS shape
 * ("AccessKeyId", "SecretAccessKey", "Token", "Expiration"; IMDS's "Code"
 * must be "Success" when present) or, when process != 0, credential_process
 * output ("Version": 1, "SessionToken", optional "Expiration"). *out has one
 * reference (caller releases); fetched_ms = now_ms. Returns 0 or
 * CIRRUS_EINVALID with the reason in the thread's message (never a secret),
 * CIRRUS_ENOMEM. */
int aws_creds_from_json(struct aws_creds **out, const char *body, size_t len, int process,
                        int64_t now_ms);

/* Credentials from an STS AssumeRole* XML answer (<Credentials> with
 * <AccessKeyId>, <SecretAccessKey>, <SessionToken>, <Expiration>). Same
 * contract as aws_creds_from_json. */
int aws_creds_from_sts_xml(struct aws_creds **out, const char *body, size_t len, int64_t now_ms);

/* ---- the provider -------------------------------------------------------- */

struct aws_cred_provider;

/* Where the chain looks, beyond the environment. */
struct aws_cred_opts {
    const struct aws_profile *profile; /* borrowed, may be NULL */
    const char *region;                /* for the STS endpoint; never NULL */
    const char *ca_bundle;             /* PEM file for HTTPS fetches, or NULL */
    int debug;                         /* CIRRUS_AWS_DEBUG: one line per fetch */
};

/* Walks the chain and fetches the first configured source's credentials.
 * *out is never NULL on success (source "none": unsigned requests). Returns
 * 0, CIRRUS_EAUTH (a configured source refused or gave no credentials; the
 * message names it and the service's code), CIRRUS_EINVALID (a malformed
 * setting), CIRRUS_EIO / CIRRUS_ETIMEOUT (the source could not be reached),
 * CIRRUS_ENOMEM. */
int aws_cred_provider_open(struct aws_cred_provider **out, const struct aws_cred_opts *o);

/* aws_cred_provider_open, shared: every caller in the process whose
 * environment, profile (as loaded), region, CA bundle and debug setting
 * are the same gets the same provider, so one process fetches and
 * refreshes once for all its clients (S3 and DynamoDB, every db handle).
 * Each call takes a reference; aws_cred_provider_close drops it. */
int aws_cred_provider_shared(struct aws_cred_provider **out, const struct aws_cred_opts *o);

/* A provider that always hands out the given static triple (copied). */
int aws_cred_provider_static(struct aws_cred_provider **out, const char *access_key,
                             const char *secret_key, const char *session_token, const char *source);

/* Stops the refresher and frees (accepts NULL); a shared provider only when
 * its last reference goes. No request may be using it. */
void aws_cred_provider_close(struct aws_cred_provider *p);

/* The current triple with a reference taken (release it), or NULL for
 * anonymous requests. Never blocks unless the triple has expired. */
struct aws_creds *aws_cred_get(struct aws_cred_provider *p);

/* After the service refused `stale` as expired or unknown: fetches a new
 * triple unless another thread already replaced it. Returns 0 (retry with
 * aws_cred_get) or the fetch's error; CIRRUS_EINVALID if the source cannot
 * be refreshed (static keys). */
int aws_cred_refresh(struct aws_cred_provider *p, const struct aws_creds *stale);

/* 1 if the source hands out temporary credentials it can fetch again. */
int aws_cred_refreshable(const struct aws_cred_provider *p);

/* "environment", "profile prod (/home/u/.aws/credentials)", ... (borrowed). */
const char *aws_cred_source(const struct aws_cred_provider *p);

/* The region the source knows (IMDS placement/region), or NULL (borrowed). */
const char *aws_cred_region(const struct aws_cred_provider *p);

/* Successful refreshes so far (for debug lines and tests). */
unsigned long aws_cred_refreshes(struct aws_cred_provider *p);

#endif
