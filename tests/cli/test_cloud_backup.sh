#!/usr/bin/env bash
# Backup and restore on the cloud pair (s3rver + dynalite, through
# scripts/with-cloud-servers): the identity refuses one prefix opened with
# another metadata table; a checkpoint survives overwrites, compaction and
# `gc --grace 0`; backups fs->s3, s3->fs and s3->s3 (to another prefix of
# the bucket: server-side CopyObject), each restored and compared by full
# scans, the restored db taking writes; a clone on S3 reads its source's
# point, stays isolated, survives its source's compaction and GC, detaches,
# and outlives the dropped source; verify passes on all of them and names
# an object deleted behind its back.
set -euo pipefail
src=${CIRRUS_SOURCE_DIR:?set by ctest}
export CIRRUS_BIN=${CIRRUS_BIN:?set by ctest}

exec "$src/scripts/with-cloud-servers" bash -c '
set -euo pipefail
B=$CIRRUS_BIN
work=$(mktemp -d "${TMPDIR:-/tmp}/cirrus-cloud-backup-XXXXXX")
trap "rm -rf \"$work\"" EXIT
export CIRRUS_AWS_MAX_RETRY_MS=2000 CIRRUS_AWS_TIMEOUT_MS=5000
unset CIRRUS_DB CIRRUS_META
fail() { echo "FAIL: $*" >&2; cat "$work/err" >&2 2>/dev/null || true; exit 1; }
S3=s3://$CIRRUS_TEST_BUCKET
META=dynamodb://$CIRRUS_TEST_TABLE
c() { local db=$1; shift; "$B" --db "$S3/$db" --meta "$META" "$@"; }
rc_of() { set +e; "$@" >"$work/out" 2>"$work/err"; echo $?; set -e; }

for i in $(seq 1 200); do printf "k%04d\tv%d\n" $i $i; done | c src load >/dev/null
for i in $(seq 1 50); do printf "k%04d\tw%d\n" $i $i; done | c src load >/dev/null
c src del k0007 >/dev/null
c src scan >"$work/src.scan"

echo "== identity: one prefix, another metadata table"
[ "$(rc_of "$B" --db "$S3/src" --meta "dynamodb://other-$CIRRUS_TEST_TABLE" put x 1)" = 3 ] ||
  fail "the prefix opened with another table"
grep -q "not one database" "$work/err" || fail "no reason given"
cmp -s "$work/src.scan" <(c src scan) || fail "the refused open changed the db"

echo "== checkpoint"
S=$(c src checkpoint create before)
for i in $(seq 1 200); do printf "k%04d\tgone\n" $i; done | c src load >/dev/null
c src del-range k k~ >/dev/null
c src compact >/dev/null
c src gc --grace 0 --changefeed-retention 0 >/dev/null
[ -z "$(c src scan)" ] || fail "the db is not empty at the head"
cmp -s "$work/src.scan" <(c src scan --checkpoint before) || fail "scan --checkpoint differs"

echo "== backups: s3 -> s3 (same endpoint), restore"
id=$(c src backup create --to "$S3/backups" --checkpoint before 2>"$work/err")
c restored1 restore --from "$S3/backups" --backup "$id" 2>/dev/null
cmp -s "$work/src.scan" <(c restored1 scan) || fail "s3->s3 restore scans differently"
c restored1 put after 1 >/dev/null
[ "$(c restored1 get after)" = 1 ] || fail "the restored db takes no writes"
c restored1 verify --deep >/dev/null || fail "verify --deep of the restored db"
"$B" verify --backup "$S3/backups" >/dev/null || fail "verify of the s3 backup"

echo "== s3 -> fs -> s3"
c src backup create --to "$work/fsbackup" --checkpoint before >/dev/null 2>&1
"$B" --db "$work/fsdb" restore --from "$work/fsbackup" 2>/dev/null
cmp -s "$work/src.scan" <("$B" --db "$work/fsdb" scan) || fail "s3->fs restore"
"$B" --db "$work/fsdb" backup create --to "$S3/frombackup" >/dev/null 2>&1
c restored2 restore --from "$S3/frombackup" 2>/dev/null
cmp -s "$work/src.scan" <(c restored2 scan) || fail "fs->s3 restore"

echo "== clone on s3"
c clone clone "$S3/src" --checkpoint before >/dev/null 2>"$work/err"
cmp -s "$work/src.scan" <(c clone scan) || fail "the clone reads differently"
c clone put in-clone 1 >/dev/null
c src put in-src 1 >/dev/null
[ "$(rc_of c src get in-clone)" = 1 ] || fail "a clone write shows in the source"
[ "$(rc_of c clone get in-src)" = 1 ] || fail "a source write shows in the clone"
c src checkpoint delete before
c src compact >/dev/null
c src gc --grace 0 --changefeed-retention 0 >/dev/null
cmp -s "$work/src.scan" <(c clone scan | grep -v in-clone) || fail "the clone broke after the source GC"
c clone verify >/dev/null || fail "verify of the clone"
c clone detach 2>/dev/null
c src drop
c clone verify --deep >/dev/null || fail "verify of the detached clone"
cmp -s "$work/src.scan" <(c clone scan | grep -v in-clone) || fail "the clone lost data with its source"

echo "== verify names a missing object"
obj=$(curl -sf "$AWS_ENDPOINT_URL_S3/$CIRRUS_TEST_BUCKET?list-type=2&prefix=restored2/sst/" |
  grep -o "<Key>[^<]*</Key>" | head -1 | sed "s:<Key>\(.*\)</Key>:\1:")
[ -n "$obj" ] || fail "no object to delete"
curl -sf -X DELETE "$AWS_ENDPOINT_URL_S3/$CIRRUS_TEST_BUCKET/$obj" >/dev/null
[ "$(rc_of c restored2 verify)" = 3 ] || fail "verify missed a deleted object"
grep -q "${obj#restored2/}.*missing" "$work/out" || fail "verify did not name $obj: $(cat "$work/out")"
echo ok
'
