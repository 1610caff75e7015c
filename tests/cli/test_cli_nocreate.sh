#!/usr/bin/env bash
# test_cli_nocreate.sh - no accidental databases (issue 15, item 7): every
# command that only reads (or maintains) on a location with no database
# exits 3 with "no database at PATH" and creates nothing, neither the
# directory nor anything in an existing empty one; --no-create makes a
# write refuse too; `create` makes the db ("created", then "exists") and a
# write still creates one as before. Also: a directory whose metadata file
# is gone is not "no database" but a refusal naming the lost store.
source "${BASH_SOURCE%/*}/lib.sh"

# refuses LOCATION ARGS...: `cirrus --db LOCATION ARGS...` exits 3 with
# "cirrus: CMD: no database at LOCATION"
refuses() {
    local loc=$1
    shift
    [[ $(rc_of --db "$loc" "$@") == 3 ]] || fail "$* on $loc: exit 3"
    grep -qF "cirrus: $1: no database at $loc" "$T/err" || fail "$* on $loc: 'no database at'"
    [[ ! -s $T/out ]] || fail "$* on $loc printed something"
}

reads=("get k" "mget a b" "scan" "head" "log" "stats" "changes" "epoch app"
    "lease show compactor" "verify" "checkpoint list" "checkpoint delete cp" "compact"
    "gc --grace 0" "maintain --once")

# a mistyped path: nothing is created, not even the directory
typo=$T/mydbb
for r in "${reads[@]}"; do
    # shellcheck disable=SC2086 # the words of $r are the arguments
    refuses "$typo" $r
    [[ ! -e $typo ]] || fail "$r created $typo"
done
# an existing empty directory stays empty
mkdir "$T/empty"
for r in "${reads[@]}"; do
    # shellcheck disable=SC2086
    refuses "$T/empty" $r
    [[ -z $(ls -A "$T/empty") ]] || fail "$r wrote into the empty directory: $(ls -A "$T/empty")"
done
# an explicit metadata store is named, and not created either
[[ $(rc_of --db "$typo" --meta "sqlite:$T/meta.sqlite3" get k) == 3 ]] || fail "get with --meta"
grep -qF "no database at $typo with metadata store sqlite:$T/meta.sqlite3" "$T/err" ||
    fail "get with --meta: both named"
[[ ! -e $typo && ! -e $T/meta.sqlite3 ]] || fail "get with --meta created something"

# --no-create: the writes refuse as well
[[ $(rc_of --no-create --db "$typo" put k v) == 3 ]] || fail "--no-create put: exit 3"
grep -qF "cirrus: put: no database at $typo" "$T/err" || fail "--no-create put: the message"
[[ $(rc_of --no-create --db "$typo" create) == 3 ]] || fail "--no-create create: exit 3"
[[ ! -e $typo ]] || fail "--no-create created $typo"

# create, then the reads work on the empty db; create again says exists
[[ $(c --db "$typo" create) == created ]] || fail "create prints created"
[[ $(c --db "$typo" head) == 0 ]] || fail "head of the created db: 0"
[[ $(rc_of --db "$typo" get k) == 1 ]] && grep -q "not found" "$T/err" ||
    fail "get on the created db: not found, exit 1"
[[ $(c --db "$typo" create) == exists ]] || fail "create of an existing db prints exists"
[[ $(c --no-create --db "$typo" put k v) == 1 ]] || fail "--no-create put on an existing db"
[[ $(c --db "$typo" get k) == v ]] || fail "the put landed"

# a write creates a missing db, as create_if_missing does
[[ $(c --db "$T/fresh" put a 1) == 1 ]] || fail "put creates a db"
[[ $(c --db "$T/fresh2" lease acquire L --owner o --ttl 60) == 1 ]] || fail "lease acquire creates"

# objects whose metadata file is gone: a refusal naming it, not "no database"
rm "$typo"/meta.sqlite3*
[[ $(rc_of --db "$typo" get k) == 3 ]] || fail "get on objects without metadata: exit 3"
grep -q "not one database" "$T/err" && ! grep -q "no database at" "$T/err" ||
    fail "objects without metadata: the mismatch, not 'no database'"
[[ ! -e $typo/meta.sqlite3 ]] || fail "the refused read created a metadata file"
echo "ok"
