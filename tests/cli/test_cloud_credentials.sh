#!/usr/bin/env bash
# The AWS credential chain end to end, against radosgw (which verifies every
# SigV4 signature) through the real `cirrus` binary, on an s3:// db with the
# local sqlite metadata store:
#   - each source: environment, profile file (+ region from the profile),
#     credential_process, role_arn + source_profile (AssumeRole at radosgw's
#     own STS, signed with the source profile's keys; refused when the role
#     does not exist or the source profile has no keys), web identity (STS
#     AssumeRoleWithWebIdentity), container endpoint (Authorization token file), IMDSv2 (+ region from
#     IMDS); the CIRRUS_AWS_DEBUG line names the source;
#   - refused credentials (wrong secret; a bad web identity or container
#     token): one stderr line naming the source and the service's code,
#     exit 3, no secret printed;
#   - refresh: with credentials that expire 3 s after they are handed out,
#     three long-running followers (`changes --follow`, which reads every new
#     file from S3; one per temporary source: IMDS, web identity, container)
#     and a writer loop run for CIRRUS_CRED_TEST_SECONDS (default 30); each
#     follower refreshes many times and no request fails;
#   - TLS: an HTTPS front (self-signed certificate) is refused with a clear
#     TLS error, and works with AWS_CA_BUNDLE or the profile's ca_bundle;
#     http_proxy is honoured;
#   - ExpiredToken from the service: one refresh and one retry, which succeeds.
# The STS, container and IMDS endpoints are tests/servers/credserver.js. Each
# hand-out is a real temporary triple from radosgw's own STS (AssumeRole of
# the role scripts/with-radosgw creates): radosgw checks the session token on
# every request, and refuses the temporary key without it. They carry a 3 s
# Expiration; no secret or token handed out may appear in any output, even
# with CIRRUS_AWS_DEBUG=1 and CIRRUS_LOG=debug.
#
# Skipped (exit 0 with a SKIP line) when Ceph cannot be installed or started,
# unless CIRRUS_RADOSGW_REQUIRED=1.
set -euo pipefail
src=${CIRRUS_SOURCE_DIR:?set by ctest}
if [[ ${CIRRUS_RADOSGW:-0} != 1 ]]; then
    set +e
    CIRRUS_RADOSGW_STS=1 "$src/scripts/with-radosgw" bash "$0" "$@"
    status=$?
    set -e
    if [ $status -eq 77 ]; then
        echo "SKIP: radosgw is not available here (set CIRRUS_RADOSGW_REQUIRED=1 to fail instead)"
        exit 0
    fi
    exit $status
fi
source "${BASH_SOURCE%/*}/lib.sh"
command -v node >/dev/null || fail "node is needed for the credential servers"
command -v openssl >/dev/null || fail "openssl is needed for the TLS case"

AK=$AWS_ACCESS_KEY_ID SK=$AWS_SECRET_ACCESS_KEY S3=$AWS_ENDPOINT_URL_S3
BUCKET=$CIRRUS_TEST_BUCKET
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE AWS_REGION \
    AWS_DEFAULT_REGION AWS_CA_BUNDLE AWS_WEB_IDENTITY_TOKEN_FILE AWS_ROLE_ARN \
    AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI \
    AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE \
    AWS_SHARED_CREDENTIALS_FILE AWS_CONFIG_FILE AWS_EC2_METADATA_SERVICE_ENDPOINT CIRRUS_META
export HOME=$T/home # no ~/.aws of the machine's
mkdir -p "$HOME"
export AWS_EC2_METADATA_DISABLED=true # cases that want IMDS turn it back on
export CIRRUS_AWS_MAX_RETRY_MS=5000

# start_node SCRIPT PORTFILE ARGS...: starts a server in the background (killed
# by lib.sh's trap) and waits for its port
start_node() {
    local script=$1 pf=$2
    shift 2
    node "$src/tests/servers/$script" --port-file "$pf" "$@" >>"$T/servers.log" 2>&1 &
    for _ in $(seq 100); do
        [[ -s $pf ]] && return 0
        sleep 0.05
    done
    fail "$script did not start: $(cat "$T/servers.log")"
}

echo "webtoken-$RANDOM$RANDOM" >"$T/webtoken"
echo "Bearer container-$RANDOM" >"$T/ctoken"
start_node credserver.js "$T/cs.port" --ak "$AK" --sk "$SK" --ttl 3 \
    --container-auth "$(cat "$T/ctoken")" --web-token-file "$T/webtoken" \
    --assume-role "${CIRRUS_TEST_ROLE_ARN:?set by with-radosgw}" --sts-endpoint "$S3/" \
    --secrets-file "$T/secrets"
CS=http://127.0.0.1:$(cat "$T/cs.port")
# a second one that hands out a wrong secret
start_node credserver.js "$T/bad.port" --ak "$AK" --sk "wrong-$SK" --ttl 3
BAD=http://127.0.0.1:$(cat "$T/bad.port")

# The IMDSv2 wire protocol as the server enforces it: no token, no metadata.
code=$(curl -s -o /dev/null -w '%{http_code}' "$CS/latest/meta-data/iam/security-credentials/")
[[ $code == 401 ]] || fail "IMDS without a token answered $code, not 401"
code=$(curl -s -o /dev/null -w '%{http_code}' -X PUT "$CS/latest/api/token")
[[ $code == 400 ]] || fail "IMDS token PUT without a TTL answered $code, not 400"

# no_secret_in FILE WHAT: none of the secrets and tokens handed out so far
# appears in FILE
no_secret_in() {
    [[ -s $T/secrets ]] || return 0
    grep -v '^$' "$T/secrets" >"$T/secret-patterns" || return 0
    grep -q -F -f "$T/secret-patterns" "$1" && fail "$2: a handed-out secret or token was printed"
    return 0
}

# case NAME EXPECTED-SOURCE [VAR=VALUE...]: put and get one key on a fresh db
# with only the given variables set; the debug line must name the source.
case_ok() {
    local name=$1 want=$2
    shift 2
    local db="s3://$BUCKET/creds-$name" meta="sqlite:$T/$name.meta"
    env "$@" CIRRUS_AWS_DEBUG=1 CIRRUS_LOG=debug "$CIRRUS_BIN" --db "$db" --meta "$meta" put "k-$name" "v-$name" \
        >"$T/out" 2>"$T/err" || fail "$name: put failed"
    grep -q "cirrus-aws: s3: credentials from $want" "$T/err" ||
        fail "$name: the debug line does not say \"credentials from $want\""
    grep -q -- "$SK" "$T/err" && fail "$name: the secret was printed"
    no_secret_in "$T/err" "$name"
    [[ $(env "$@" "$CIRRUS_BIN" --db "$db" --meta "$meta" get "k-$name") == "v-$name" ]] ||
        fail "$name: get did not return the value"
    echo "ok: $name ($want)"
}

# case_refused NAME SOURCE-TEXT CODE [VAR=VALUE...]: exit 3, one stderr line
# naming the source and the service's error code, no secret.
case_refused() {
    local name=$1 src_text=$2 code=$3
    shift 3
    set +e
    env "$@" "$CIRRUS_BIN" --db "s3://$BUCKET/creds-refused" --meta "sqlite:$T/refused.meta" \
        put k v >"$T/out" 2>"$T/err"
    local rc=$?
    set -e
    [[ $rc == 3 ]] || fail "$name: exit $rc, not 3"
    [[ $(wc -l <"$T/err") == 1 ]] || fail "$name: stderr is not one line"
    grep -q -- "$src_text" "$T/err" || fail "$name: stderr does not name \"$src_text\""
    grep -q -- "$code" "$T/err" || fail "$name: stderr does not name $code"
    grep -q -- "$SK" "$T/err" && fail "$name: the secret was printed"
    echo "ok: $name refused: $(cat "$T/err")"
}

# ---- each source ------------------------------------------------------------
case_ok env "environment" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK"

cat >"$T/credentials" <<EOF
# a comment
[default]
aws_access_key_id = NOT-THIS-ONE
aws_secret_access_key = nope

[other]
aws_access_key_id = $AK
aws_secret_access_key = $SK
EOF
cat >"$T/config" <<EOF
[default]
region = eu-west-3

[profile other]
region = us-east-1
s3 =
  addressing_style = path

[profile proc]
region = us-east-1
credential_process = $T/proc.sh --flag
EOF
case_ok profile "profile other ($T/credentials)" AWS_PROFILE=other \
    AWS_SHARED_CREDENTIALS_FILE="$T/credentials" AWS_CONFIG_FILE="$T/config"
grep -q "region us-east-1 (profile)" "$T/err" || fail "profile: region not from the profile"

cat >"$T/proc.sh" <<EOF
#!/bin/sh
[ "\$1" = --flag ] || { echo "credential_process: no argument" >&2; exit 1; }
exp=\$(date -u -d @\$((\$(date +%s) + 3)) +%Y-%m-%dT%H:%M:%SZ)
printf '{"Version": 1, "AccessKeyId": "%s", "SecretAccessKey": "%s", "Expiration": "%s"}\n' \
    "$AK" "$SK" "\$exp"
EOF
chmod +x "$T/proc.sh"
case_ok process "credential_process of profile proc" AWS_PROFILE=proc \
    AWS_SHARED_CREDENTIALS_FILE="$T/credentials" AWS_CONFIG_FILE="$T/config"

# role_arn + source_profile: AssumeRole at radosgw's STS, signed with the
# source profile's keys (the keys in one file, the role in the other)
cat >"$T/role-credentials" <<EOF
[base]
aws_access_key_id = $AK
aws_secret_access_key = $SK
EOF
cat >"$T/role-config" <<EOF
[profile assumed]
region = us-east-1
role_arn = $CIRRUS_TEST_ROLE_ARN
source_profile = base
role_session_name = cirrus-role-test

[profile no-such-role]
region = us-east-1
role_arn = arn:aws:iam:::role/no-such-role
source_profile = base

[profile keyless]
role_arn = $CIRRUS_TEST_ROLE_ARN
source_profile = nobody
EOF
role_env=(AWS_SHARED_CREDENTIALS_FILE="$T/role-credentials" AWS_CONFIG_FILE="$T/role-config"
    AWS_ENDPOINT_URL_STS="$S3")
case_ok assume-role "role $CIRRUS_TEST_ROLE_ARN of profile assumed (STS $S3/, with profile base" \
    AWS_PROFILE=assumed "${role_env[@]}"
grep -q "cirrus-aws: GET .*-> 200" "$T/err" || fail "assume-role: no request succeeded"
case_refused assume-role-refused "role arn:aws:iam:::role/no-such-role of profile no-such-role" \
    "STS AssumeRole: POST $S3/: HTTP 4" AWS_PROFILE=no-such-role "${role_env[@]}"
set +e
env AWS_PROFILE=keyless "${role_env[@]}" "$CIRRUS_BIN" --db "s3://$BUCKET/creds-keyless" \
    --meta "sqlite:$T/keyless.meta" put k v >"$T/out" 2>"$T/err"
rc=$?
set -e
[[ $rc != 0 ]] && grep -q "source_profile nobody has no credentials" "$T/err" ||
    fail "assume-role: a source profile without credentials: exit $rc, $(cat "$T/err")"
echo "ok: keyless source profile refused: $(cat "$T/err")"

case_ok webid "web identity (AWS_WEB_IDENTITY_TOKEN_FILE, role arn:aws:iam::123456789012:role/cirrus" \
    AWS_REGION=us-east-1 AWS_WEB_IDENTITY_TOKEN_FILE="$T/webtoken" \
    AWS_ROLE_ARN=arn:aws:iam::123456789012:role/cirrus AWS_ROLE_SESSION_NAME=cirrus-test \
    AWS_ENDPOINT_URL_STS="$CS"

case_ok container "container endpoint $CS/v2/credentials/task-1" AWS_REGION=us-east-1 \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$CS/v2/credentials/task-1" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/ctoken"

case_ok imds "instance metadata (IMDSv2, role cirrus-test-role at $CS)" \
    AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$CS"
grep -q "region us-east-1 (instance metadata)" "$T/err" || fail "imds: region not from IMDS"

# ---- refused credentials ------------------------------------------------------
# (radosgw with its STS on says AccessDenied where S3 says SignatureDoesNotMatch;
# unit/test_aws_live sees the latter from radosgw without STS)
case_refused wrong-secret "credentials from environment" AccessDenied \
    AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="wrong-$SK"
case_refused imds-wrong-secret "credentials from instance metadata" AccessDenied \
    AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$BAD"
echo "not-the-token" >"$T/badwebtoken"
case_refused webid-bad-token "web identity" InvalidIdentityToken AWS_REGION=us-east-1 \
    AWS_WEB_IDENTITY_TOKEN_FILE="$T/badwebtoken" AWS_ROLE_ARN=arn:aws:iam::123456789012:role/cirrus \
    AWS_ENDPOINT_URL_STS="$CS"
case_refused container-bad-token "container endpoint" "HTTP 401 AccessDenied" AWS_REGION=us-east-1 \
    AWS_CONTAINER_CREDENTIALS_FULL_URI="$CS/v2/credentials/task-1" \
    AWS_CONTAINER_AUTHORIZATION_TOKEN="Bearer wrong"

# ---- TLS: a self-signed HTTPS endpoint ------------------------------------------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 1 \
    -subj "/CN=127.0.0.1" -addext "subjectAltName=IP:127.0.0.1" \
    -keyout "$T/tls.key" -out "$T/tls.pem" 2>/dev/null
start_node tlsproxy.js "$T/tls.port" --cert "$T/tls.pem" --key "$T/tls.key" --target "$S3"
HTTPS=https://127.0.0.1:$(cat "$T/tls.port")
set +e
AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID="$AK" AWS_SECRET_ACCESS_KEY="$SK" AWS_ENDPOINT_URL_S3="$HTTPS" \
    CIRRUS_AWS_MAX_RETRY_MS=1000 "$CIRRUS_BIN" --db "s3://$BUCKET/creds-tls" \
    --meta "sqlite:$T/tls.meta" put k v >"$T/out" 2>"$T/err"
rc=$?
set -e
[[ $rc == 3 ]] || fail "tls: an untrusted certificate gave exit $rc, not 3"
[[ $(wc -l <"$T/err") == 1 ]] || fail "tls: stderr is not one line"
grep -q "SSL certificate problem" "$T/err" || fail "tls: no TLS error in the message"
grep -q "AWS_CA_BUNDLE" "$T/err" || fail "tls: the message does not point at AWS_CA_BUNDLE"
echo "ok: tls refused: $(cat "$T/err")"
case_ok tls-bundle "environment" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID="$AK" \
    AWS_SECRET_ACCESS_KEY="$SK" AWS_ENDPOINT_URL_S3="$HTTPS" AWS_CA_BUNDLE="$T/tls.pem"
grep -q "GET $HTTPS/" "$T/err" || fail "tls-bundle: requests did not go over HTTPS"
cat >"$T/config-ca" <<EOF
[default]
region = us-east-1
ca_bundle = $T/tls.pem
EOF
case_ok tls-profile "environment" AWS_CONFIG_FILE="$T/config-ca" AWS_ACCESS_KEY_ID="$AK" \
    AWS_SECRET_ACCESS_KEY="$SK" AWS_ENDPOINT_URL_S3="$HTTPS"

# ---- the usual proxy variables ----------------------------------------------------
start_node tlsproxy.js "$T/proxy.port" --forward-proxy 1 --target "$S3"
case_ok http-proxy "environment" AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID="$AK" \
    AWS_SECRET_ACCESS_KEY="$SK" http_proxy="http://127.0.0.1:$(cat "$T/proxy.port")" \
    no_proxy= NO_PROXY=
proxied=$(grep -c "^proxied" "$T/servers.log" || true)
((proxied >= 2)) || fail "http-proxy: only $proxied requests went through http_proxy"
echo "ok: http_proxy carried $proxied requests"

# ---- ExpiredToken: one refresh, one retry -----------------------------------------
# The first IMDS hand-out is a key the HTTPS front answers with 400
# ExpiredToken (long before its Expiration, as after a revocation); the
# client must refresh once and retry, and the request succeed.
start_node credserver.js "$T/exp.port" --ak "$AK" --sk "$SK" --ttl 3600 --first-ak STALEKEY
EXP=http://127.0.0.1:$(cat "$T/exp.port")
start_node tlsproxy.js "$T/tls2.port" --cert "$T/tls.pem" --key "$T/tls.key" --target "$S3" \
    --expired-ak STALEKEY
case_ok expired-token "instance metadata (IMDSv2, role cirrus-test-role at $EXP)" \
    AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$EXP" \
    AWS_ENDPOINT_URL_S3="https://127.0.0.1:$(cat "$T/tls2.port")" AWS_CA_BUNDLE="$T/tls.pem"
grep -q "refused the credentials from instance metadata .*(ExpiredToken): refreshing" "$T/err" ||
    fail "expired-token: no refresh after ExpiredToken"
[[ $(grep -c "^expired-token" "$T/servers.log") == 1 ]] ||
    fail "expired-token: the stale key was used $(grep -c "^expired-token" "$T/servers.log") times"
echo "ok: ExpiredToken -> one refresh, one retry"

# ---- refresh under load ---------------------------------------------------------
# Credentials expire 3 s after each hand-out. Three long-running followers,
# one per temporary source (IMDS, web identity, container endpoint), read
# every new file from S3 while a writer loop (IMDS) commits; no request may
# fail, and each follower must refresh many times.
secs=${CIRRUS_CRED_TEST_SECONDS:-30}
db="s3://$BUCKET/creds-refresh" meta="sqlite:$T/refresh.meta"
imds_env=(AWS_EC2_METADATA_DISABLED=false AWS_EC2_METADATA_SERVICE_ENDPOINT="$CS")
webid_env=(AWS_REGION=us-east-1 AWS_WEB_IDENTITY_TOKEN_FILE="$T/webtoken"
    AWS_ROLE_ARN=arn:aws:iam::123456789012:role/cirrus AWS_ENDPOINT_URL_STS="$CS")
container_env=(AWS_REGION=us-east-1 AWS_CONTAINER_CREDENTIALS_FULL_URI="$CS/v2/credentials/task-1"
    AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$T/ctoken")
env "${imds_env[@]}" "$CIRRUS_BIN" --db "$db" --meta "$meta" put seed 0 >/dev/null
cp "$T/servers.log" "$T/servers.before"
followers=()
for s in imds webid container; do
    declare -n vars=${s}_env
    env "${vars[@]}" CIRRUS_AWS_DEBUG=1 CIRRUS_LOG=debug "$CIRRUS_BIN" --db "$db" --meta "$meta" changes --follow \
        >"$T/follow-$s.out" 2>"$T/follow-$s.err" &
    followers+=($!)
    unset -n vars
done
start=$(date +%s)
n=0
while (($(date +%s) - start < secs)); do
    n=$((n + 1))
    for i in $(seq 200); do printf 'w%d-%03d\t%0200d\n' $n $i $i; done >"$T/batch"
    env "${imds_env[@]}" ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        "$CIRRUS_BIN" --db "$db" --meta "$meta" load "$T/batch" >/dev/null 2>>"$T/writer.err" ||
        fail "refresh: load $n failed: $(tail -1 "$T/writer.err")"
    sleep 0.2
done
sleep 1.5 # the followers catch up
kill -TERM "${followers[@]}"
for f in "${followers[@]}"; do
    wait "$f" || fail "refresh: a follower exited $?: $(tail -3 "$T"/follow-*.err)"
done
issued=$(($(grep -c "^issued" "$T/servers.log") - $(grep -c "^issued" "$T/servers.before")))
for s in imds webid container; do
    err=$T/follow-$s.err
    refreshes=$(grep -c "refreshed credentials from" "$err" || true)
    gets=$(grep -c "cirrus-aws: GET .* -> 20[06]" "$err" || true)
    bad=$(grep -c -- "-> [45][0-9][0-9]\|expired; waiting\|refreshing credentials from .* failed" \
        "$err" || true)
    seen=$(grep -c $'\tput\tw[0-9]*-001\t' "$T/follow-$s.out" || true)
    echo "refresh ($s): ${secs}s, $n commits; follower: $refreshes refreshes, $gets S3 GETs," \
        "$seen commits seen, $bad failed requests or waits"
    ((bad == 0)) || fail "refresh ($s): $(grep -- "-> [45]\|expired\|failed" "$err" | head -3)"
    ((refreshes >= secs / 3)) || fail "refresh ($s): only $refreshes refreshes in ${secs}s"
    ((seen == n)) || fail "refresh ($s): the follower saw $seen of $n commits"
    ((gets >= n)) || fail "refresh ($s): only $gets S3 GETs for $n commits"
    no_secret_in "$err" "refresh ($s)"
done
no_secret_in "$T/writer.err" "refresh (writer)"
echo "refresh: the credential server handed out $issued credentials in ${secs}s"
echo "PASS"
