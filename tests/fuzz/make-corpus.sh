#!/usr/bin/env bash
# make-corpus.sh - (re)builds the seed corpora of the fuzz targets from real
# objects: a database written by the real `cirrus` binary (its SSTs,
# manifests and log entries), the answers of the local S3 and DynamoDB
# servers (s3rver, dynalite: scripts/with-cloud-servers) to the requests
# cirrus makes, and hand-written CLI inputs.
#
# Usage: CIRRUS_BIN=build/fuzzcheck/cirrus tests/fuzz/make-corpus.sh
#   (add --no-cloud to skip the servers)
# Seeds are written under tests/fuzz/corpus/<target>/ with descriptive
# names; existing files are kept. Campaigns (scripts/fuzz) merge more in.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
corpus="$root/tests/fuzz/corpus"
bin="${CIRRUS_BIN:-$root/build/fuzzcheck/cirrus}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# ---- a database: SSTs, manifests, log entries, delta objects ---------------
db="$tmp/db"
c() { "$bin" --db "$db" "$@" >/dev/null; }
c put greeting hello
c put 'k\x00bin' 'v\tal\nue'
c del greeting
c incr counter 5
c incr counter -2
c put --ttl 3600 session token
c del-range a m
printf 'k%03d\tvalue %d\n' $(for i in $(seq 300); do echo "$i $i"; done) | c load
printf 'k%03d\t%0400d\n' $(for i in $(seq 0 3 300); do echo "$i $i"; done) | c load
c load --app sink --epoch 3 <<<"$(printf 'x\ty')"
# manifests are written every 64 commits: one before, one after a compaction
for i in $(seq 50); do c put "p$((i % 7))" "$i"; done
c compact
for i in $(seq 70); do c put "q$((i % 5))" "$i"; done
c checkpoint create seed --expire 7d
mkdir -p "$corpus/fuzz_entry" "$corpus/fuzz_manifest" "$corpus/fuzz_sst" "$corpus/fuzz_records"
# fuzz_records: a selector byte (0 identity, 1 pin), then the record
{ printf '\x00'; cat "$db/identity"; } >"$corpus/fuzz_records/identity"
{ printf '\x01'; sqlite3 "$db/meta.sqlite3" \
    "select hex(value) from items where sk = 'pin/checkpoint/seed'" | xxd -r -p; } \
  >"$corpus/fuzz_records/pin-checkpoint"
n=0
for f in "$db"/sst/*.sst; do
  n=$((n + 1))
  [ "$n" -le 4 ] || break
  [ "$(stat -c %s "$f")" -le 32768 ] && cp "$f" "$corpus/fuzz_sst/db-$n.sst"
done
for f in "$db"/manifest/* "$db"/delta/*; do
  [ -f "$f" ] || continue
  case "$f" in
  */manifest/*) cp "$f" "$corpus/fuzz_manifest/$(basename "$f")" ;;
  */delta/*) cp "$f" "$corpus/fuzz_entry/delta-$(basename "$f" | cut -c1-12)" ;;
  esac
done
# every log item and the head, one file each (the value column is the entry)
sqlite3 "$db/meta.sqlite3" "select sk from items" | while read -r sk; do
  name="item-$(printf %s "$sk" | tr -c 'a-zA-Z0-9' '_' | cut -c1-40)"
  sqlite3 "$db/meta.sqlite3" "select hex(value) from items where sk = '$sk'" |
    xxd -r -p >"$corpus/fuzz_entry/$name"
  # not every item is an entry (leases, pointers): keep those too, they
  # are small and exercise the refusals
done
# a sample of the log: the first commits (every kind of write, the app
# sink), the large ones (the loads, the compaction) and the non-entries
(cd "$corpus/fuzz_entry" && ls item-0* | sed -n '13,$p' | while read -r f; do
  [ "$(stat -c %s "$f")" -ge 200 ] || rm -f "$f"
done)

# ---- the CLI: TSV lines and times ---------------------------------------------
mkdir -p "$corpus/fuzz_tsv" "$corpus/fuzz_timeparse"
printf 'k1\tv1\nk2\tv2\n' >"$corpus/fuzz_tsv/two-lines"
printf 'k\\x00\\t\\n\\\\\tv\\x7f\xc3\xa9\n' >"$corpus/fuzz_tsv/escapes"
printf 'last\tno newline' >"$corpus/fuzz_tsv/no-final-newline"
printf 'k\tv\n\nk2\tv2\n' >"$corpus/fuzz_tsv/empty-line"
printf 'nokey\n' >"$corpus/fuzz_tsv/no-tab"
printf '\tempty key\n' >"$corpus/fuzz_tsv/empty-key"
printf 'k\tbad \\q escape\n' >"$corpus/fuzz_tsv/bad-escape"
printf 'k\ta\tb\tc\r\n' >"$corpus/fuzz_tsv/tabs-crlf"
for t in 2026-11-24T08:20:13.5Z 2026-11-24T09:20:13+01:00 '2026-11-24 08:20:13.123456789z' \
  1700000000000 9223372036854775807 9223372036854775808 2016-12-31T23:59:60Z \
  0000-01-01T00:00:00-23:59 9999-12-31T23:59:59.999+00:00 2024-02-29T00:00:00Z \
  2023-02-29T00:00:00Z 3600 18446744073709551615; do
  printf '%s' "$t" >"$corpus/fuzz_timeparse/$(printf %s "$t" | tr -c 'a-zA-Z0-9' '_')"
done

# ---- credential sources (first byte: 0 JSON, 4 credential_process JSON,
# 1 STS XML, 2 credentials file, 6 config file, 3 time), in the shapes AWS
# documents ----------------------------------------------------------------------
cr="$corpus/fuzz_credentials"
mkdir -p "$cr"
seed() { { printf "\\x$2"; cat; } >"$cr/$1"; }
seed container-json 00 <<'EOS'
{"AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG","Token":"IQoJb3JpZ2luX2VjEXAMPLE","Expiration":"2026-12-01T21:00:00Z","RoleArn":"arn:aws:iam::123456789012:role/task"}
EOS
seed imds-json 00 <<'EOS'
{"Code":"Success","LastUpdated":"2026-12-01T15:00:00Z","Type":"AWS-HMAC","AccessKeyId":"ASIAEXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG","Token":"IQoJb3JpZ2luX2VjEXAMPLE","Expiration":"2026-12-01T21:00:00Z"}
EOS
seed imds-json-failure 00 <<'EOS'
{"Code":"AssumeRoleUnauthorizedAccess","Message":"EC2 cannot assume the role","LastUpdated":"2026-12-01T15:00:00Z","SecretAccessKey":"do-not-print-me"}
EOS
seed process-json 04 <<'EOS'
{"Version":1,"AccessKeyId":"AKIAEXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG","SessionToken":"FwoGZXIvYXdzEXAMPLE","Expiration":"2026-12-01T21:00:00.123+01:00"}
EOS
seed process-json-bad-version 04 <<'EOS'
{"Version":2,"AccessKeyId":"AKIAEXAMPLE","SecretAccessKey":"wJalrXUtnFEMI/K7MDENG"}
EOS
seed sts-xml 01 <<'EOS'
<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleWithWebIdentityResult><Credentials><SessionToken>FwoGZXIvYXdzEXAMPLE</SessionToken><SecretAccessKey>wJalrXUtnFEMI/K7MDENG</SecretAccessKey><Expiration>2026-12-01T21:00:00Z</Expiration><AccessKeyId>ASIAEXAMPLE</AccessKeyId></Credentials></AssumeRoleWithWebIdentityResult></AssumeRoleWithWebIdentityResponse>
EOS
seed sts-xml-error 01 <<'EOS'
<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code><Message>Couldn't retrieve verification key</Message></Error></ErrorResponse>
EOS
seed credentials-file 02 <<'EOS'
prod
[default]
aws_access_key_id = AKIADEFAULT
aws_secret_access_key = secretdefault
[prod]
# a comment
AWS_ACCESS_KEY_ID=AKIAPROD
  aws_secret_access_key = secretprod	
aws_session_token = tokenprod
EOS
seed config-file 06 <<'EOS'
prod
[default]
region = us-east-1
[profile prod]
region = eu-west-1
credential_process = /usr/bin/get-creds --profile prod
role_arn = arn:aws:iam::123456789012:role/prod
web_identity_token_file = /var/run/secrets/token
s3 =
  addressing_style = path
ca_bundle = /etc/ssl/certs/ca.pem
EOS
for t in 2026-12-01T21:00:00Z 2026-12-01T21:00:00.123456+05:30 1970-01-01T00:00:00Z \
  2024-02-29T23:59:59.999-00:00; do
  printf '\x03%s' "$t" >"$cr/time-$(printf %s "$t" | tr -c 'a-zA-Z0-9' '_')"
done

[ "${1:-}" = --no-cloud ] && exit 0

# ---- S3 and DynamoDB answers (first byte: the target's choice byte) ------------
mkdir -p "$corpus/fuzz_s3" "$corpus/fuzz_dynamodb"
cat >"$tmp/cloud.sh" <<'EOS'
set -euo pipefail
out=$1
s3=$AWS_ENDPOINT_URL_S3/$CIRRUS_TEST_BUCKET
ddb=$AWS_ENDPOINT_URL_DYNAMODB
save() { { printf "\\x$2"; cat; } >"$out/$1"; }
for k in 'db/sst/a.sst' 'db/manifest/00000000000000000001' 'db/x&y<z>"q'"'"'.sst' 'other/k'; do
  curl -s -X PUT --data-binary "hello" "$s3/$(python3 -c 'import sys,urllib.parse;print(urllib.parse.quote(sys.argv[1]))' "$k")" >/dev/null
done
curl -s "$s3/?list-type=2&prefix=db/" | save fuzz_s3/s3rver-list-db 01
curl -s "$s3/?list-type=2&prefix=db/&max-keys=1" | save fuzz_s3/s3rver-list-truncated 05
curl -s "$s3/?list-type=2&prefix=nothing/" | save fuzz_s3/s3rver-list-empty 00
curl -s "$s3/db/missing" | save fuzz_s3/s3rver-error-nosuchkey 00
curl -s "$AWS_ENDPOINT_URL_S3/no-such-bucket/?list-type=2" | save fuzz_s3/s3rver-error-nosuchbucket 00
curl -s -X POST "$s3/db/big?uploads=" | save fuzz_s3/s3rver-create-multipart 00
h=(-H 'Content-Type: application/x-amz-json-1.0' --aws-sigv4 "aws:amz:$AWS_REGION:dynamodb"
   --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY")
t() { curl -s "${h[@]}" -H "X-Amz-Target: DynamoDB_20120810.$1" -d "$2" "$ddb/"; }
t CreateTable '{"TableName":"fztable","AttributeDefinitions":[{"AttributeName":"pk","AttributeType":"S"},{"AttributeName":"sk","AttributeType":"S"}],"KeySchema":[{"AttributeName":"pk","KeyType":"HASH"},{"AttributeName":"sk","KeyType":"RANGE"}],"BillingMode":"PAY_PER_REQUEST"}' >/dev/null
sleep 0.3
for i in 1 2 3; do
  t PutItem '{"TableName":"fztable","Item":{"pk":{"S":"db"},"sk":{"S":"log/0000000000000000000'$i'"},"ver":{"N":"'$i'"},"v":{"B":"Q0VOVAEBAQ=="}}}' >/dev/null
done
t PutItem '{"TableName":"fztable","Item":{"pk":{"S":"db"},"sk":{"S":"head"},"ver":{"N":"7"}}}' >/dev/null
t DescribeTable '{"TableName":"fztable"}' | save fuzz_dynamodb/dynalite-describe 00
t GetItem '{"TableName":"fztable","Key":{"pk":{"S":"db"},"sk":{"S":"log/00000000000000000002"}},"ConsistentRead":true}' | save fuzz_dynamodb/dynalite-getitem 00
t GetItem '{"TableName":"fztable","Key":{"pk":{"S":"db"},"sk":{"S":"head"}},"ConsistentRead":true}' | save fuzz_dynamodb/dynalite-getitem-novalue 00
t GetItem '{"TableName":"fztable","Key":{"pk":{"S":"db"},"sk":{"S":"none"}},"ConsistentRead":true}' | save fuzz_dynamodb/dynalite-getitem-absent 00
t Query '{"TableName":"fztable","KeyConditionExpression":"#pk = :pk","ExpressionAttributeNames":{"#pk":"pk"},"ExpressionAttributeValues":{":pk":{"S":"db"}},"ConsistentRead":true}' | save fuzz_dynamodb/dynalite-query 09
t Query '{"TableName":"fztable","KeyConditionExpression":"#pk = :pk","ExpressionAttributeNames":{"#pk":"pk"},"ExpressionAttributeValues":{":pk":{"S":"db"}},"ConsistentRead":true,"Limit":2}' | save fuzz_dynamodb/dynalite-query-page 06
t PutItem '{"TableName":"fztable","Item":{"pk":{"S":"db"},"sk":{"S":"head"},"ver":{"N":"8"}},"ConditionExpression":"attribute_not_exists(pk)"}' | save fuzz_dynamodb/dynalite-error-conditional 00
t GetItem '{"TableName":"nope","Key":{"pk":{"S":"db"},"sk":{"S":"x"}}}' | save fuzz_dynamodb/dynalite-error-notfound 00
t GetItem '{"TableName":"fztable"' | save fuzz_dynamodb/dynalite-error-serialization 00
EOS
"$root/scripts/with-cloud-servers" bash "$tmp/cloud.sh" "$corpus"
