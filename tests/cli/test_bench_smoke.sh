#!/usr/bin/env bash
# Smoke test of the benchmark harness (bench/, issue 5): every workload on
# every engine at a tiny size plus a short simulated-cloud run, checked
# through --json (every engine x workload row present, verified, with
# ops_per_sec > 0). Timing is not judged here. Uses the harness built beside
# the cirrus binary under test (`make test` configures with -DCIRRUS_BENCH=ON);
# otherwise installs the bench packages and builds it under build/bench-smoke.
set -euo pipefail
src=${CIRRUS_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
bin=$(dirname "${CIRRUS_BIN:-$src/build/none/cirrus}")/bench/cirrus-bench
if [ ! -x "$bin" ]; then
  "$src/scripts/install-deps" bench
  bdir=$src/build/bench-smoke
  cmake -S "$src" -B "$bdir" -DCMAKE_BUILD_TYPE=Sanitize -DCIRRUS_BENCH=ON >/dev/null
  cmake --build "$bdir" -j "$(nproc 2>/dev/null || echo 2)" --target cirrus-bench >/dev/null
  bin=$bdir/bench/cirrus-bench
fi
mkdir -p "$src/build"
tmp=$(mktemp -d "$src/build/bench-smoke-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

if ! "$bin" --num 2000 --reads 2000 --dir "$tmp/data" --cloud s3-express \
  --cloud-seconds 0.5 --cloud-writers 4 --cloud-readers 2 --json "$tmp/out.json" \
  >"$tmp/out.txt" 2>&1; then
  cat "$tmp/out.txt"
  echo "FAIL: cirrus-bench exited non-zero" >&2
  exit 1
fi

fail=0
# the value of a numeric field of a JSON row (one row per line)
field() { sed -n "s/.*\"$2\": \([-0-9.e+]*\).*/\1/p" <<<"$1" | head -n 1; }
check_row() { # engine workload mode [profile]
  local row ops
  row=$(grep "\"engine\": \"$1\", \"workload\": \"$2\", \"mode\": \"$3\", \"profile\": \"${4:-}\"" \
    "$tmp/out.json" | head -n 1 || true)
  ops=$(field "$row" ops_per_sec)
  if [ -z "$row" ]; then
    echo "FAIL: no row for $1 $2 $3 ${4:-}" >&2
    fail=1
  elif ! grep -q '"verified": true' <<<"$row"; then
    echo "FAIL: $1 $2 did not verify" >&2
    fail=1
  elif [ "$2" != idle ] && ! awk -v v="$ops" 'BEGIN { exit !(v > 0) }'; then
    echo "FAIL: $1 $2 ops_per_sec=$ops" >&2
    fail=1
  fi
  for k in p50_us p99_us; do
    [ -n "$(field "$row" $k)" ] || { echo "FAIL: $1 $2 has no $k" >&2; fail=1; }
  done
  if [ "$3" = cloud ]; then
    for k in usd_per_month '"requests": {'; do
      grep -q "$k" <<<"$row" || { echo "FAIL: $1 $2 has no $k" >&2; fail=1; }
    done
  fi
}
for e in rocksdb leveldb lmdb cirrus; do
  for w in fillseq fillrandom overwrite readrandom readmissing seekrandom readwhilewriting scanall; do
    check_row "$e" "$w" local
  done
done
for w in commitpath commit commit-b2b put paced idle getmiss; do
  check_row cirrus "$w" cloud s3-express
done
grep -q '"commit_p99_ms"' "$tmp/out.json" || { echo "FAIL: no commit_p99_ms" >&2; fail=1; }
[ $fail -eq 0 ] || cat "$tmp/out.txt"
exit $fail
