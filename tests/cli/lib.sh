# lib.sh - what every CLI test starts with; sourced, never run on its own:
#   source "${BASH_SOURCE%/*}/lib.sh"
# Strict mode, a C locale, a private temporary directory $T (removed, and any
# background job killed, on exit), CIRRUS_DB=$T/db on the embedded default,
# and the helpers below. A test redefines what it needs differently.
# CIRRUS_TEST_DB and CIRRUS_TEST_META point a test at another db instead (the
# cloud tests run some of these same scripts on s3:// + dynamodb://).
set -euo pipefail
: "${CIRRUS_BIN:?CIRRUS_BIN must name the cirrus binary}"
export LC_ALL=C
T=$(mktemp -d "${TMPDIR:-/tmp}/cirrus-cli.XXXXXX")
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$T"' EXIT
export CIRRUS_DB=${CIRRUS_TEST_DB:-$T/db}
if [[ -n ${CIRRUS_TEST_META:-} ]]; then
    export CIRRUS_META=$CIRRUS_TEST_META
else
    unset CIRRUS_META
fi

# fail MESSAGE: prints it and the last captured stderr, exits 1
fail() {
    echo "FAIL: $*" >&2
    cat "$T/err" >&2 2>/dev/null || true
    exit 1
}
c() { "$CIRRUS_BIN" "$@"; }
# rc_of ARGS...: the exit code; stdout in $T/out, stderr in $T/err
rc_of() {
    set +e
    "$CIRRUS_BIN" "$@" >"$T/out" 2>"$T/err"
    echo $?
    set -e
}
# Tests that start hundreds of short processes skip ASan's leak check at exit
# (~60 ms each); the other tests run the same code paths with it.
no_leak_check() { export ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0; }
# settled_head: compacts until nothing is due, then prints the head. A test
# that asserts "this command committed nothing" takes its head from here:
# every process that can commit may also run due compaction, and a compact
# entry moves the head without being the test's business.
settled_head() {
    c compact >/dev/null
    c head
}
# writes_after SEQ: how many write commits (not compactions) follow SEQ
writes_after() {
    local log
    log=$(c log --from $(($1 + 1))) || {
        echo "log --from $(($1 + 1)) failed"
        return 1
    }
    grep -c $'\twrite\t' <<<"$log" || true
}
