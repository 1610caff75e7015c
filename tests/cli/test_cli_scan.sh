#!/usr/bin/env bash
# test_cli_scan.sh - scan with every combination of --prefix, --from, --to,
# --reverse, --limit and --at against a model of the db kept here in bash,
# on a history of several commits (overwrites and deletes across files).
source "${BASH_SOURCE%/*}/lib.sh"
no_leak_check


declare -A model
# snapshot FILE: the model's KEY<TAB>VALUE lines in key order
snapshot() {
    local k
    for k in "${!model[@]}"; do printf '%s\t%s\n' "$k" "${model[$k]}"; done | sort >"$1"
}

# commit 1: one load of many keys
keys="a a/1 a/10 a/2 aa ab abc abd b b/x ba bb c ca d"
: >"$T/load1"
for k in $keys; do
    printf '%s\tv1-%s\n' "$k" "$k" >>"$T/load1"
    model[$k]=v1-$k
done
s1=$(c load "$T/load1")
snapshot "$T/state1"
# commits 2..: overwrites, deletes, new keys, in separate files
c put abc v2-abc >/dev/null && model[abc]=v2-abc
c del b >/dev/null && unset 'model[b]'
c del zz >/dev/null # deleting an absent key
c put abe v2-abe >/dev/null && model[abe]=v2-abe
s2=$(c put a/1 v2-a/1)
model[a/1]=v2-a/1
snapshot "$T/state2"
printf 'b\tv3-b\nd\tv3-d\nab\tv3-ab\n' | c load >/dev/null
model[b]=v3-b model[d]=v3-d model[ab]=v3-ab
c del ca >/dev/null && unset 'model[ca]'
c del a >/dev/null && unset 'model[a]'
snapshot "$T/state3"

# model STATE PREFIX FROM TO REVERSE LIMIT: what scan must print
model_scan() {
    local state=$1 prefix=$2 from=$3 to=$4 reverse=$5 limit=$6 k v
    while IFS=$'\t' read -r k v; do
        [[ $k == "$prefix"* ]] || continue
        [[ -n $from && $k < $from ]] && continue
        [[ -n $to && ! $k < $to ]] && continue
        printf '%s\t%s\n' "$k" "$v"
    done <"$state" | { if ((reverse)); then tac; else cat; fi; } |
        awk -v n="${limit:--1}" 'n < 0 || NR <= n' # reads all: no SIGPIPE
}

n=0
i=0
for prefix in '' a a/ ab b z; do
    for from in '' a/1 ab abd b bz; do
        for to in '' a/2 abd b ca; do
            i=$((i + 1))
            # a third of the 180 combinations (each process costs ~0.1 s under
            # ASan); the rotation below still gives every value of every
            # option in many contexts
            ((i % 3 == 0)) || continue
            reverse=$((i / 3 % 2))
            limits=('' 0 1 2 100)
            limit=${limits[$((i / 6 % 5))]}
            ats=('' "$s1" "$s2")
            states=("$T/state3" "$T/state1" "$T/state2")
            a=$((i / 5 % 3))
            args=(scan)
            [[ -n $prefix ]] && args+=(--prefix "$prefix")
            [[ -n $from ]] && args+=(--from "$from")
            ((reverse)) && args+=(--reverse)
            [[ -n $limit ]] && args+=(--limit "$limit")
            [[ -n ${ats[$a]} ]] && args+=(--at "${ats[$a]}")
            # --to last, after the options in various places
            [[ -n $to ]] && args+=(--to="$to")
            model_scan "${states[$a]}" "$prefix" "$from" "$to" "$reverse" "$limit" >"$T/want"
            c "${args[@]}" >"$T/got" || fail "cirrus ${args[*]}: exit $?"
            cmp -s "$T/want" "$T/got" ||
                fail "cirrus ${args[*]}: got [$(cat "$T/got")] want [$(cat "$T/want")]"
            n=$((n + 1))
        done
    done
done

# a few by hand, so the model itself is checked
[[ $(c scan --prefix ab | cut -f1 | tr '\n' ' ') == "ab abc abd abe " ]] || fail "prefix ab"
[[ $(c scan --from ab --to abd | cut -f1 | tr '\n' ' ') == "ab abc " ]] || fail "from ab to abd"
[[ $(c scan --reverse --limit 2 | cut -f1 | tr '\n' ' ') == "d c " ]] || fail "reverse limit 2"
[[ $(c scan --at "$s1" --prefix b | cut -f2 | tr '\n' ' ') == "v1-b v1-b/x v1-ba v1-bb " ]] ||
    fail "--at s1 prefix b"
[[ $(c scan --prefix a --to a) == "" ]] || fail "empty range"
[[ $(c scan --from c --to b) == "" ]] || fail "inverted range"
echo "ok ($n combinations)"
