#!/usr/bin/env bash
# test_cli_corrupt.sh - a flipped byte in the middle of an SST object, a
# truncated SST, a missing SST, and a flipped byte in a manifest object:
# reads exit 3 with one line naming the object (and "checksum" for flipped
# bytes, "missing" for a missing one), and never print a wrong value.
#
# Objects of a directory db live under DIR: sst/*.sst, manifest/*, delta/*.
source "${BASH_SOURCE%/*}/lib.sh"
unset CIRRUS_DB

# flip FILE OFFSET: inverts the byte at OFFSET
flip() {
    local b
    b=$(od -An -tu1 -j "$2" -N1 "$1" | tr -d ' ')
    chmod u+w "$1"
    printf "\\$(printf %03o $((b ^ 0xff)))" | dd of="$1" bs=1 seek="$2" conv=notrunc status=none
}
# biggest_sst DB: the path of its largest SST object
biggest_sst() { ls -S "$1"/sst/*.sst | head -n1; }
# names_object NAME [checksum]: the error is one line naming NAME (and checksum)
names_object() {
    [[ $(wc -l <"$T/err") == 1 ]] || fail "expected one stderr line"
    grep -q '^cirrus: [a-z]*: ' "$T/err" || fail "message names the command"
    grep -qF "$1" "$T/err" || fail "message does not name the object $1"
    [[ -z ${2:-} ]] || grep -qi "$2" "$T/err" || fail "message does not say $2"
}
N=3000
# values: 64 pseudo-random hex digits, so blocks hardly compress
awk -v n=$N 'BEGIN { srand(7); for (i = 1; i <= n; i++) { v = "";
    for (j = 0; j < 8; j++) v = v sprintf("%08x", int(rand() * 4294967296));
    printf "k%05d\t%s\n", i, v } }' >"$T/big"

# ---- a flipped byte in the middle of an SST ---------------------------------
A=$T/a
"$CIRRUS_BIN" --db "$A" load "$T/big" >/dev/null
"$CIRRUS_BIN" --db "$A" put s1 small >/dev/null
"$CIRRUS_BIN" --db "$A" put k00002 newer >/dev/null
"$CIRRUS_BIN" --db "$A" scan >"$T/good"
sst=$(biggest_sst "$A")
name=$(basename "$sst")
size=$(stat -c %s "$sst")
flip "$sst" $((size / 2))

[[ $(rc_of --db "$A" scan) == 3 ]] || fail "scan over a flipped byte: exit 3"
names_object "$name" checksum
grep -qvxFf "$T/good" "$T/out" && fail "scan printed a line that is not in the db"
[[ $(rc_of --db "$A" scan --reverse) == 3 ]] || fail "scan --reverse over a flipped byte"
names_object "$name" checksum
grep -qvxFf "$T/good" "$T/out" && fail "scan --reverse printed a wrong line"
# point reads around the middle: the right value or exit 3, never a wrong value
bad=0
for i in $(seq 1200 50 1900); do
    k=$(printf 'k%05d' "$i")
    rc=$(rc_of --db "$A" get "$k")
    case $rc in
    0) [[ $(printf '%s\t%s' "$k" "$(cat "$T/out")") == $(grep "^$k"$'\t' "$T/good") ]] ||
        fail "get $k printed a wrong value" ;;
    3) names_object "$name" checksum
       bad=$((bad + 1)) ;;
    *) fail "get $k: exit $rc" ;;
    esac
done
((bad > 0)) || fail "no get around the middle of $name hit the flipped byte"
mapfile -t mid < <(seq -f 'k%05.0f' 1200 10 1900)
[[ $(rc_of --db "$A" mget "${mid[@]}") == 3 ]] || fail "mget over a flipped byte"
names_object "$name" checksum
[[ ! -s $T/out ]] || fail "mget printed something"
# the keys of other objects are still fine
[[ $(rc_of --db "$A" get s1) == 0 && $(cat "$T/out") == small ]] || fail "get s1"

# ---- a truncated SST ------------------------------------------------------------
for cut in 1 half; do
    B=$T/b-$cut
    "$CIRRUS_BIN" --db "$B" load "$T/big" >/dev/null
    sst=$(biggest_sst "$B")
    size=$(stat -c %s "$sst")
    chmod u+w "$sst"
    if [[ $cut == half ]]; then truncate -s $((size / 2)) "$sst"; else truncate -s $((size - 1)) "$sst"; fi
    [[ $(rc_of --db "$B" scan) == 3 ]] || fail "scan of an SST cut by $cut: exit 3"
    names_object "$(basename "$sst")"
    [[ ! -s $T/out ]] || fail "scan of a truncated SST printed keys"
    [[ $(rc_of --db "$B" get k01500) == 3 ]] || fail "get in an SST cut by $cut: exit 3"
    names_object "$(basename "$sst")"
done

# ---- a missing SST (issue 9): an error naming it, never "not found" -------------
D=$T/d
"$CIRRUS_BIN" --db "$D" put a 1 >/dev/null
sst_a=$(ls "$D"/sst)
"$CIRRUS_BIN" --db "$D" put b 2 >/dev/null
rm "$D/sst/$sst_a"
[[ $(rc_of --db "$D" get a) == 3 ]] || fail "get of a key in a missing SST: exit 3"
names_object "$sst_a" missing
[[ $(rc_of --db "$D" get a --at 1) == 3 ]] || fail "get --at 1 of a key in a missing SST"
names_object "$sst_a" missing
[[ $(rc_of --db "$D" mget a b) == 3 ]] || fail "mget with a key in a missing SST: exit 3"
names_object "$sst_a" missing
[[ ! -s $T/out ]] || fail "mget printed keys beside a missing SST"
[[ $(rc_of --db "$D" get b) == 0 && $(cat "$T/out") == 2 ]] || fail "get b beside it"
[[ $(rc_of --db "$D" scan) == 3 ]] || fail "scan over a missing SST: exit 3"
names_object "$sst_a" missing

# ---- mget keeps the damaged key's message when an absent key follows -------------
E=$T/e
"$CIRRUS_BIN" --db "$E" load "$T/big" >/dev/null
sst=$(biggest_sst "$E")
size=$(stat -c %s "$sst")
flip "$sst" $((size / 2))
mapfile -t mid < <(seq -f 'k%05.0f' 1200 10 1900)
[[ $(rc_of --db "$E" mget "${mid[@]}" zz) == 3 ]] || fail "mget over a flipped byte, then zz"
names_object "$(basename "$sst")" checksum

# ---- a flipped byte in a manifest object ---------------------------------------
# A manifest snapshot is written every 64 commits (the default interval).
M=$T/m
for i in $(seq 1 70); do
    printf 'm%03d\t%d\n' "$i" "$i"
done >"$T/small"
"$CIRRUS_BIN" --db "$M" load "$T/small" >/dev/null
for i in $(seq 2 70); do
    [[ -z $(ls "$M/manifest" 2>/dev/null) ]] || break
    # (no leak check for these ~64 commits: ~60 ms each under ASan)
    ASAN_OPTIONS=${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0 \
        "$CIRRUS_BIN" --db "$M" put "m$(printf %03d "$i")" "v$i" >/dev/null
done
man=$(ls -S "$M"/manifest/* 2>/dev/null | head -n1 || true)
[[ -n $man ]] || fail "no manifest object after 70 commits"
size=$(stat -c %s "$man")
flip "$man" $((size / 2))
[[ $(rc_of --db "$M" get m001) == 3 ]] || fail "get with a flipped manifest byte: exit 3"
names_object "manifest/$(basename "$man")" checksum
[[ ! -s $T/out ]] || fail "get printed a value from a corrupt manifest"
[[ $(rc_of --db "$M" scan) == 3 ]] || fail "scan with a flipped manifest byte: exit 3"
[[ ! -s $T/out ]] || fail "scan printed from a corrupt manifest"
echo "ok"
