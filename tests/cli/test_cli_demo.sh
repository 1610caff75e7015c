#!/usr/bin/env bash
# test_cli_demo.sh - `cirrus demo` checks itself: exit 0 on a fresh db and
# again on a db that already holds its keys; its second process and log steps
# ran; the db it leaves behind answers a separate `cirrus` process.
source "${BASH_SOURCE%/*}/lib.sh"
unset CIRRUS_DB

fail() {
    echo "FAIL: $*" >&2
    cat "$T/out" >&2 || true
    exit 1
}
"$CIRRUS_BIN" --db "$T/db" demo >"$T/out" || fail "demo on a fresh db: exit $?"
grep -q 'committed as seq 1$' "$T/out" || fail "first commit is seq 1"
grep -q 'committed as seq 2$' "$T/out" || fail "second commit is seq 2"
grep -q 'second process' "$T/out" || fail "second-process step"
grep -q 'All [0-9]* checks passed' "$T/out" || fail "checks passed"
grep -q 'WRONG' "$T/out" && fail "a wrong answer"
[[ $("$CIRRUS_BIN" --db "$T/db" get demo/apple) == green ]] || fail "demo's db from outside"
[[ $("$CIRRUS_BIN" --db "$T/db" get demo/apple --at 1) == red ]] || fail "demo's seq 1"
"$CIRRUS_BIN" --db "$T/db" demo >"$T/out" || fail "demo again on the same db: exit $?"
grep -q 'committed as seq 3$' "$T/out" || fail "second run commits seq 3"
echo "ok"
