#!/usr/bin/env bash
# The whole engine on the cloud pair: every core CLI command on
# --db s3://BUCKET/PREFIX --meta dynamodb://TABLE against s3rver and dynalite
# (scripts/with-cloud-servers), checked from outside with curl; three
# spellings of one prefix are one db (and a fault: URL wrapping one of them),
# and GC through one keeps it; two writer processes at once (every commit
# exactly once, seqs dense); the DynamoDB server and then the S3 server
# killed and restarted in the middle of a write loop (clear errors, no
# crash, every acknowledged commit kept); and refused credentials (403s
# injected through fault: URLs: the local servers accept any), an unknown
# bucket and an unreachable endpoint, each one line on stderr, exit 3,
# nothing written.
set -euo pipefail
src=${CIRRUS_SOURCE_DIR:?set by ctest}
export CIRRUS_BIN=${CIRRUS_BIN:?set by ctest}

exec "$src/scripts/with-cloud-servers" bash -c '
set -euo pipefail
src=$1
B=$CIRRUS_BIN
work=$(mktemp -d "${TMPDIR:-/tmp}/cirrus-cloud-engine-XXXXXX")
trap "rm -rf \"$work\"" EXIT
export CIRRUS_AWS_MAX_RETRY_MS=2000 CIRRUS_AWS_TIMEOUT_MS=5000
unset CIRRUS_DB CIRRUS_META

fail() { echo "FAIL: $*" >&2; exit 1; }
expect_eq() { [ "$1" = "$2" ] || fail "$3: got [$1], want [$2]"; }

# Runs cirrus with the cloud pair for db name $1; stdout to stdout.
c() { local db=$1; shift; "$B" --db "s3://$CIRRUS_TEST_BUCKET/$db" --meta "dynamodb://$CIRRUS_TEST_TABLE" "$@"; }

# Counts the objects under a bucket prefix, following pages, with curl only.
count_objects() {
  local prefix=$1 token="" n=0 page
  while :; do
    page=$(curl -sf "$AWS_ENDPOINT_URL_S3/$CIRRUS_TEST_BUCKET?list-type=2&prefix=$prefix${token:+&continuation-token=$token}")
    n=$((n + $(grep -o "<Key>" <<<"$page" | wc -l)))
    grep -q "<IsTruncated>true</IsTruncated>" <<<"$page" || break
    token=$(sed -n "s:.*<NextContinuationToken>\([^<]*\)</NextContinuationToken>.*:\1:p" <<<"$page" |
      python3 -c "import sys,urllib.parse; print(urllib.parse.quote(sys.stdin.read().strip(), safe=\"\"))")
  done
  echo $n
}

# The items of the table whose partition key mentions $1, via the DynamoDB
# JSON API with curl (dynalite wants a signature, any signature).
count_items() {
  curl -sf --aws-sigv4 "aws:amz:us-east-1:dynamodb" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "X-Amz-Target: DynamoDB_20120810.Scan" -H "Content-Type: application/x-amz-json-1.0" \
    -d "{\"TableName\":\"$CIRRUS_TEST_TABLE\"}" "$AWS_ENDPOINT_URL_DYNAMODB/" |
    python3 -c "import sys,json; d=json.load(sys.stdin); print(sum(1 for i in d[\"Items\"] if \"$1\" in i[\"pk\"][\"S\"]))"
}

# Checks a failure: exit 3, exactly one line on stderr matching $2.
one_clear_line() {
  local what=$1 pattern=$2 status=$3 errfile=$4
  expect_eq "$status" 3 "$what: exit status"
  [ "$(wc -l <"$errfile")" -eq 1 ] || { cat "$errfile" >&2; fail "$what: not one line on stderr"; }
  grep -Eq "$pattern" "$errfile" || { cat "$errfile" >&2; fail "$what: stderr does not match /$pattern/"; }
  echo "  $what: $(cat "$errfile")"
}

# table_exists: whether the DynamoDB table is there (DescribeTable)
table_exists() {
  curl -sf --aws-sigv4 "aws:amz:us-east-1:dynamodb" --user "$AWS_ACCESS_KEY_ID:$AWS_SECRET_ACCESS_KEY" \
    -H "X-Amz-Target: DynamoDB_20120810.DescribeTable" -H "Content-Type: application/x-amz-json-1.0" \
    -d "{\"TableName\":\"$CIRRUS_TEST_TABLE\"}" "$AWS_ENDPOINT_URL_DYNAMODB/" >/dev/null
}

echo "== no accidental databases: a read of a prefix with no db creates nothing"
# no table yet: exit 3, "no database at", and still no table, no object
set +e; c nodb get k >"$work/out" 2>"$work/err"; st=$?; set -e
expect_eq "$st" 3 "get with no table"
grep -q "no database at s3://$CIRRUS_TEST_BUCKET/nodb with metadata store dynamodb://" "$work/err" ||
  fail "get with no table: $(cat "$work/err")"
table_exists && fail "a read created the DynamoDB table"
expect_eq "$(count_objects nodb/)" 0 "objects a read wrote with no table"
set +e; c nodb --no-create put k v 2>"$work/err"; st=$?; set -e
expect_eq "$st" 3 "--no-create put with no table"

echo "== every core command on s3 + dynamodb"
db=core
expect_eq "$(c $db create)" created "create"
expect_eq "$(c $db head)" 0 "head of a new db"
# the table exists now, but holds no db under this prefix: still nothing made
for cmd in "get k" head scan log stats "maintain --once"; do
  set +e; c nodb $cmd >"$work/out" 2>"$work/err"; st=$?; set -e
  expect_eq "$st" 3 "$cmd of a prefix with no db"
  grep -q "no database at s3://$CIRRUS_TEST_BUCKET/nodb" "$work/err" || fail "$cmd: $(cat "$work/err")"
done
expect_eq "$(count_objects nodb/)" 0 "objects the reads wrote"
expect_eq "$(count_items nodb)" 0 "items the reads wrote"
expect_eq "$(c $db put apple red)" 1 "put"
expect_eq "$(c $db put banana yellow)" 2 "put"
expect_eq "$(c $db get apple)" red "get"
t_between=$(date +%s%3N)
sleep 0.05
expect_eq "$(c $db del apple)" 3 "del"
set +e; c $db get apple 2>"$work/err"; st=$?; set -e
expect_eq "$st" 1 "get of a deleted key"
expect_eq "$(c $db get apple --at 2)" red "get --at"
expect_eq "$(c $db get apple --at-time "$t_between")" red "get --at-time"
printf "cherry\tdark red\ndate\tbrown\nelder\tblack\n" | c $db load >"$work/seq"
expect_eq "$(cat "$work/seq")" 4 "load is one commit"
expect_eq "$(c $db mget banana cherry nope | tr "\t\n" ":|")" "banana:yellow|cherry:dark red|nope|" "mget"
expect_eq "$(c $db scan | cut -f1 | tr "\n" " ")" "banana cherry date elder " "scan"
expect_eq "$(c $db scan --reverse --limit 2 | cut -f1 | tr "\n" " ")" "elder date " "scan --reverse --limit"
expect_eq "$(c $db scan --from c --to e | cut -f1 | tr "\n" " ")" "cherry date " "scan --from --to"
expect_eq "$(c $db scan --prefix d | cut -f1)" date "scan --prefix"
expect_eq "$(c $db scan --at 2 | cut -f1 | tr "\n" " ")" "apple banana " "scan --at"
# the engine may add commits of its own (compactions): the log is dense
# 1..head and holds exactly our four writes
head=$(c $db head)
[ "$head" -ge 4 ] || fail "head $head < 4"
expect_eq "$(c $db log | cut -f1 | tr "\n" " ")" "$(seq 1 "$head" | tr "\n" " ")" "log seqs dense"
expect_eq "$(c $db log | awk -F"\t" "\$3 == \"write\"" | cut -f1 | tr "\n" " ")" "1 2 3 4 " "log writes"
c $db stats >"$work/stats"
grep -q "^head_seq: $head" "$work/stats" || fail "stats: $(cat "$work/stats")"
c $db demo >/dev/null || fail "demo"

echo "== one database per prefix, however it is spelled (issue 9)"
expect_eq "$(c spell put k one)" 1 "put through s3://B/spell"
expect_eq "$(c spell/ put k two)" 2 "s3://B/spell/ is the same db"
expect_eq "$(c spell// get k)" two "s3://B/spell// is the same db"
expect_eq "$("$B" --db "fault:s3://$CIRRUS_TEST_BUCKET/spell/?seed=1" \
  --meta "dynamodb://$CIRRUS_TEST_TABLE" get k)" two "fault:s3://B/spell/?SPEC is the same db"
c spell/ gc --grace 0 >/dev/null
expect_eq "$(c spell get k)" two "get after gc through another spelling"
expect_eq "$(c spell get k --at 1)" one "the first commit survives gc"
for bad in "/spell" "spell//x"; do
  set +e; c "$bad" get k >/dev/null 2>"$work/err"; st=$?; set -e
  expect_eq "$st" 3 "s3://B/$bad: refused"
  grep -q "empty path component\|starts with" "$work/err" || fail "s3://B/$bad: $(cat "$work/err")"
done

echo "== the data is really in the bucket and the table (curl, not cirrus)"
n_obj=$(count_objects "$db/")
[ "$n_obj" -ge 1 ] || fail "no objects under $db/ in the bucket"
n_items=$(count_items "$db")
[ "$n_items" -ge 1 ] || fail "no items for $db in the table"
first=$(curl -sf "$AWS_ENDPOINT_URL_S3/$CIRRUS_TEST_BUCKET?list-type=2&prefix=$db/sst/" |
  sed -n "s:.*<Key>\([^<]*\)</Key>.*:\1:p" | head -1)
[ -n "$first" ] || fail "no sst object"
size=$(curl -sf "$AWS_ENDPOINT_URL_S3/$CIRRUS_TEST_BUCKET/$first" | wc -c)
[ "$size" -gt 0 ] || fail "sst object $first is empty"
echo "  $n_obj objects, $n_items items; $first is $size bytes"

echo "== two writer processes at once: every commit exactly once, seqs dense"
db=concurrent
writer() {
  local w=$1
  for i in $(seq 1 12); do
    c $db put "w$w-$i" "v$w-$i" >>"$work/seqs.$w" || return 1
  done
}
writer 1 & p1=$!
writer 2 & p2=$!
wait $p1 || fail "writer 1"
wait $p2 || fail "writer 2"
cat "$work/seqs.1" "$work/seqs.2" | sort -n >"$work/seqs"
expect_eq "$(uniq "$work/seqs" | wc -l)" 24 "distinct seqs acknowledged"
# compactions may add commits of their own: the log is 1..head, dense, and
# its write commits are exactly the 24 acknowledged seqs
head=$(c $db head)
expect_eq "$(c $db log | cut -f1 | tr "\n" " ")" "$(seq 1 "$head" | tr "\n" " ")" "log seqs dense"
expect_eq "$(c $db log | awk -F"\t" "\$3 == \"write\"" | cut -f1 | tr "\n" " ")" \
  "$(tr "\n" " " <"$work/seqs")" "write commits = acknowledged puts"
for w in 1 2; do for i in $(seq 1 12); do printf "w%s-%s\tv%s-%s\n" $w $i $w $i; done; done |
  sort >"$work/want"
c $db scan >"$work/got"
cmp -s "$work/want" "$work/got" || fail "scan after two writers: $(diff "$work/want" "$work/got" | head -5)"

echo "== DynamoDB, then S3, killed and restarted in the middle of a write loop"
db=outage
: >"$work/acked"
: >"$work/errors"
loop() {
  local i=0 st
  while [ ! -e "$work/stop" ]; do
    i=$((i + 1))
    set +e
    CIRRUS_AWS_MAX_RETRY_MS=800 c $db put "k$i" "v$i" >"$work/out.$i" 2>"$work/err.$i"
    st=$?
    set -e
    if [ $st -eq 0 ]; then
      echo "k$i $(cat "$work/out.$i")" >>"$work/acked"
    elif [ $st -eq 3 ]; then
      [ "$(wc -l <"$work/err.$i")" -eq 1 ] || { cat "$work/err.$i"; echo "not one line" >>"$work/bad"; }
      cat "$work/err.$i" >>"$work/errors"
    else
      echo "put k$i: exit $st" >>"$work/bad"; cat "$work/err.$i" >>"$work/bad"
    fi
  done
}
loop & lp=$!
# each outage outlasts the retry budget of a put (800 ms) several times, so
# some puts fail whole inside it
sleep 1.5
"$src/scripts/with-cloud-servers" --stop dynamodb
sleep 3.5
"$src/scripts/with-cloud-servers" --start dynamodb
sleep 2
"$src/scripts/with-cloud-servers" --stop s3
sleep 3.5
"$src/scripts/with-cloud-servers" --start s3
sleep 2
touch "$work/stop"
wait $lp
[ ! -s "$work/bad" ] || { cat "$work/bad" >&2; fail "a put crashed or said more than one line"; }
n_acked=$(wc -l <"$work/acked")
n_err=$(wc -l <"$work/errors")
echo "  $n_acked puts acknowledged, $n_err refused while a server was down"
[ "$n_acked" -ge 3 ] || fail "too few puts got through"
[ "$n_err" -ge 2 ] || fail "no put failed while the servers were down"
grep -qi "dynamodb" "$work/errors" || fail "no error named dynamodb: $(head -3 "$work/errors")"
grep -qi "s3" "$work/errors" || fail "no error named s3: $(head -3 "$work/errors")"
sed "s/^/    /" "$work/errors" | sort -u | head -4
c $db scan >"$work/got"
while read -r key seq; do
  grep -qx "$key	v${key#k}" "$work/got" || fail "acknowledged $key (seq $seq) lost after the outages"
done <"$work/acked"
head=$(c $db head)
expect_eq "$(c $db log | cut -f1 | tr "\n" " ")" "$(seq 1 "$head" | tr "\n" " ")" "log dense after outages"

echo "== refused credentials, unknown bucket, unreachable endpoint: one line, exit 3, nothing written"
db=refused
c $db put seed 1 >/dev/null
objs_before=$(count_objects "$db/")
items_before=$(count_items "$db")
head_before=$(c $db head)
set +e
refuse=fail_next=1000000,fail_rc=auth
"$B" --db "fault:s3://$CIRRUS_TEST_BUCKET/$db?$refuse" --meta "dynamodb://$CIRRUS_TEST_TABLE" \
  put x 1 >/dev/null 2>"$work/err"
st=$?; set -e
one_clear_line "403 from s3" "denied|403" $st "$work/err"
set +e
"$B" --db "s3://$CIRRUS_TEST_BUCKET/$db" --meta "fault:dynamodb://$CIRRUS_TEST_TABLE?$refuse" \
  put x 1 >/dev/null 2>"$work/err"
st=$?; set -e
one_clear_line "403 from dynamodb" "denied|403" $st "$work/err"
set +e
"$B" --db "s3://cirrus-no-such-bucket/$db" --meta "dynamodb://$CIRRUS_TEST_TABLE" put x 1 \
  >/dev/null 2>"$work/err"
st=$?; set -e
one_clear_line "unknown bucket" "cirrus-no-such-bucket" $st "$work/err"
set +e
AWS_ENDPOINT_URL_S3=http://127.0.0.1:1 c $db put x 1 >/dev/null 2>"$work/err"
st=$?; set -e
one_clear_line "unreachable s3" "127.0.0.1:1" $st "$work/err"
set +e
AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:1 c $db put x 1 >/dev/null 2>"$work/err"
st=$?; set -e
one_clear_line "unreachable dynamodb" "127.0.0.1:1" $st "$work/err"
expect_eq "$(count_objects "$db/")" "$objs_before" "objects after refused writes"
expect_eq "$(count_items "$db")" "$items_before" "items after refused writes"
expect_eq "$(c $db head)" "$head_before" "head after refused writes"
echo "ok"
' bash "$src"
