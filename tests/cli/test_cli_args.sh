#!/usr/bin/env bash
# test_cli_args.sh - bad arguments: exit 2, nothing on stdout, a first stderr
# line "cirrus: CMD: <problem>" naming the problem and a usage line; and the
# db is not touched (not even created).
source "${BASH_SOURCE%/*}/lib.sh"

# usage_error TEXT ARGS...: exit 2, empty stdout, stderr names TEXT and has a
# usage line
usage_error() {
    local text=$1
    shift
    set +e
    "$CIRRUS_BIN" "$@" >"$T/out" 2>"$T/err"
    local rc=$?
    set -e
    [[ $rc == 2 ]] || fail "cirrus $(printf '%q ' "$@"): exit $rc, expected 2"
    [[ ! -s $T/out ]] || fail "cirrus $*: stdout not empty"
    head -n1 "$T/err" | grep -q '^cirrus: ' || fail "cirrus $*: first stderr line"
    grep -q '^usage: cirrus' "$T/err" || fail "cirrus $*: no usage line on stderr"
    grep -qF -- "$text" "$T/err" || fail "cirrus $*: stderr does not name '$text'"
}

usage_error "no command" 
usage_error "unknown command 'frob'" frob
usage_error "unknown option '--frob'" --frob head
usage_error "--db" --db
usage_error "--meta" --meta
usage_error "unknown option '-x'" -x head

# put / del
usage_error "missing KEY" put
usage_error "missing VALUE" put k
usage_error "unexpected argument 'extra'" put k v extra
usage_error "missing KEY" del
usage_error "unexpected argument 'v'" del k v
usage_error "unknown option '--at'" put k v --at 1
usage_error "unknown option '--frob'" del --frob k

# get: numbers, times, conflicts
usage_error "missing KEY" get
usage_error "unexpected argument 'b'" get a b
usage_error "--at needs a value" get k --at
usage_error "'abc'" get k --at abc
usage_error "'-1'" get k --at -1
usage_error "'1x'" get k --at 1x
usage_error "'+1'" get k --at +1
usage_error "' 1'" get k --at ' 1'
usage_error "too large" get k --at 18446744073709551616
usage_error "needs a number" get k --at=
usage_error "cannot be used together" get k --at 1 --at-time 0
usage_error "cannot be used together" get --at-time 2026-01-01T00:00:00Z k --at 1
usage_error "more than once" get k --at 1 --at 2
for t in yesterday 2026-13-01T00:00:00Z 2026-02-30T00:00:00Z 2026-01-01T24:00:00Z \
    2026-01-01T00:00:00 2026-01-01T00:00:00.Z 2026-01-01T00:00:00+1:00 \
    2026-01-01T00:00:00+01:60 2026-1-01T00:00:00Z -5 1.5 12a 99999999999999999999 ''; do
    usage_error "--at-time" get k --at-time "$t"
done
usage_error "unknown option '--frob'" get --frob k

# escapes: the bad one is named
usage_error "bad escape '\\q' in KEY" get 'a\q'
usage_error "bad escape '\\x4' in KEY" put 'a\x4' v
usage_error "bad escape '\\xZZ' in VALUE" put k 'v\xZZ'
usage_error "bad escape '\\' in VALUE" put k 'v\'
usage_error "bad escape '\\r'" del 'a\r'
usage_error "bad escape '\\q' in KEY" mget ok 'a\q'
usage_error "bad escape '\\0' in --prefix" scan --prefix 'x\0'
usage_error "in --from" scan --from '\'
usage_error "in --to" scan --to '\x1'

# mget / scan / load / head / log / stats / demo / help
usage_error "missing KEY" mget
usage_error "unexpected argument 'x'" scan x
usage_error "--limit" scan --limit x
usage_error "--limit" scan --limit -1
usage_error "--at" scan --at z
usage_error "--prefix needs a value" scan --prefix
usage_error "takes no value" scan --reverse=1
usage_error "cannot be used together" scan --at 1 --at-time 0
usage_error "--at-time" scan --at-time yesterday
usage_error "unexpected argument 'b'" load a b
usage_error "unexpected argument 'x'" head x
usage_error "unexpected argument 'x'" log x
usage_error "--from" log --from x
usage_error "unknown option '--at'" log --at 1
usage_error "unexpected argument 'x'" stats x
usage_error "unexpected argument 'x'" demo x
usage_error "unknown command 'frob'" help frob

[[ ! -e $T/db ]] || fail "a usage error created or touched the db"

# malformed load input is a usage error too, and commits nothing (load
# streams: it opens, and so may create, the db before it reads line 2)
printf 'a\t1\nno tab here\n' >"$T/bad.tsv"
usage_error "line 2" load "$T/bad.tsv"
[[ $("$CIRRUS_BIN" --no-create head 2>/dev/null || echo 0) == 0 ]] ||
    fail "a load with a malformed line committed something"

# "--" ends the options: a key may start with dashes
"$CIRRUS_BIN" put -- --k v >/dev/null
[[ $("$CIRRUS_BIN" get -- --k) == v ]] || fail "get -- --k"
[[ $("$CIRRUS_BIN" get -k 2>/dev/null || echo absent) == absent ]] || fail "single-dash key"

echo "ok"
