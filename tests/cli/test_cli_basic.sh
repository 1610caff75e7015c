#!/usr/bin/env bash
# test_cli_basic.sh - every command's output format and exit code on a small
# history: put/del print seqs, get/mget at the latest and at old seqs and
# times, head, log, stats, help, and where the db comes from (--db, file://,
# $CIRRUS_DB, ./cirrus-data).
source "${BASH_SOURCE%/*}/lib.sh"

fail() {
    echo "FAIL: $*" >&2
    echo "--- stdout:" >&2
    cat "$T/out" >&2 || true
    echo "--- stderr:" >&2
    cat "$T/err" >&2 || true
    exit 1
}
# run ARGS...: runs cirrus; sets RC, stdout in $T/out, stderr in $T/err
run() {
    set +e
    "$CIRRUS_BIN" "$@" >"$T/out" 2>"$T/err"
    RC=$?
    set -e
}
# expect RC STDOUT ARGS...: exact exit code and exact stdout (bytes)
expect() {
    local want_rc=$1 want_out=$2
    shift 2
    run "$@"
    [[ $RC == "$want_rc" ]] || fail "cirrus $*: exit $RC, expected $want_rc"
    printf '%s' "$want_out" | cmp -s - "$T/out" ||
        fail "cirrus $*: stdout differs from: $(printf '%q' "$want_out")"
}
# err_has TEXT: stderr contains TEXT
err_has() { grep -qF -- "$1" "$T/err" || fail "stderr lacks '$1'"; }
# ms_of RFC3339: Unix milliseconds
ms_of() { date -u -d "$1" +%s%3N; }

# ---- the empty db (reads never create one: test_cli_nocreate.sh) -------------
expect 0 $'created\n' create
expect 0 $'0\n' head
expect 0 '' log
expect 0 '' scan
expect 1 '' get a
err_has "not found"
expect 0 $'a\nb\n' mget a b
run stats
[[ $RC == 0 ]] || fail "stats on an empty db"
grep -qx 'head_seq: 0' "$T/out" || fail "stats: head_seq 0"
grep -qx 'live_files: 0' "$T/out" || fail "stats: live_files 0"

# ---- a small history, a few ms apart so commit times differ ----------------
# A process that commits may also commit a compaction (kind "compact") after
# its own write, so seqs come from what put/del print; the state at any seq is
# the state after the last write at or before it.
declare -a writes=()
declare -A st_a st_b
last=0
# w A B ARGS...: a write printing its seq; afterwards key a is A, b is B
w() {
    local va=$1 vb=$2 s
    shift 2
    run "$@"
    s=$(cat "$T/out")
    [[ $RC == 0 && $s =~ ^[0-9]+$ && $(wc -l <"$T/out") == 1 ]] ||
        fail "cirrus $*: exit 0 and a seq"
    ((s > last)) || fail "cirrus $*: seq $s is not after $last"
    writes+=("$s")
    st_a[$s]=$va st_b[$s]=$vb last=$s
    sleep 0.02
}
w 1 '' put a 1
[[ ${writes[0]} == 1 ]] || fail "the first commit is seq 1"
w 1 2 put b 2
w 3 2 put a 3
w 3 '' del b
w 3 '' put c 5
c_seq=$last
head=$("$CIRRUS_BIN" head)
((head >= last)) || fail "head $head is behind the last write $last"
expect 0 "$head"$'\n' head
# carry the state forward over compaction seqs
cur_a='' cur_b=''
for s in $(seq 1 "$head"); do
    if [[ -n ${st_a[$s]+x} ]]; then cur_a=${st_a[$s]} cur_b=${st_b[$s]}; fi
    st_a[$s]=$cur_a st_b[$s]=$cur_b
done

# latest
expect 0 $'3\n' get a
expect 1 '' get b
err_has "not found"
[[ $(wc -l <"$T/err") == 1 ]] || fail "get of an absent key: one stderr line"
expect 0 $'5\n' get c
expect 0 $'a\t3\nb\nc\t5\nzz\n' mget a b c zz
expect 0 $'c\t5\na\t3\n' mget c a
expect 0 $'a\t3\na\t3\n' mget a a

# at every seq: exactly what had been committed then
for s in $(seq 1 "$head"); do
    expect 0 "${st_a[$s]}"$'\n' get a --at "$s"
    if [[ -n ${st_b[$s]} ]]; then
        expect 0 "${st_b[$s]}"$'\n' get --at "$s" b
    else
        expect 1 '' get --at "$s" b
    fi
done
expect 1 '' get a --at 0
expect 1 '' get c --at $((c_seq - 1))
expect 0 $'a\t1\nb\t2\n' scan --at "${writes[1]}"
expect 0 '' scan --at 0
# a seq beyond the head: the library's EINVALID, exit 3, one line naming get
expect 3 '' get a --at 99
[[ $(wc -l <"$T/err") == 1 ]] || fail "get --at 99: one stderr line"
grep -q '^cirrus: get: ' "$T/err" || fail "get --at 99: message names the command"

# ---- log ---------------------------------------------------------------------
run log
[[ $RC == 0 ]] || fail "log: exit $RC"
[[ $(wc -l <"$T/out") == "$head" ]] || fail "log: $head lines"
re=$'^[0-9]+\t[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z\t(write|compact)\t[0-9]+\t[0-9]+\t[0-9]+$'
n=0
prev=0
now=$(date +%s%3N)
declare -A t_of
write_seqs=
while IFS= read -r line; do
    n=$((n + 1))
    [[ $line =~ $re ]] || fail "log line '$line' is not seq, time, kind, added, removed, bytes"
    IFS=$'\t' read -r seq time kind added removed bytes <<<"$line"
    [[ $seq == "$n" ]] || fail "log: seq $seq on line $n"
    if [[ $kind == write ]]; then
        ((added >= 1 && removed == 0 && bytes > 0)) || fail "log: write $seq adds no file"
        write_seqs+="$seq "
    else
        ((removed >= 1)) || fail "log: compaction $seq removes nothing"
    fi
    ms=$(ms_of "$time")
    ((ms >= prev)) || fail "log: time goes backwards at seq $seq"
    ((ms <= now + 1000 && ms > now - 600000)) || fail "log: seq $seq time $time is not now"
    prev=$ms
    t_of[$seq]=$time
done <"$T/out"
[[ $write_seqs == "${writes[*]} " ]] || fail "log: the writes are '$write_seqs', not '${writes[*]}'"
run log --from "${writes[3]}"
[[ $RC == 0 && $(cut -f1 "$T/out" | tr '\n' ' ') == "$(seq -s ' ' "${writes[3]}" "$head") " ]] ||
    fail "log --from ${writes[3]}"
expect 0 '' log --from $((head + 1))
run log --from 0
[[ $RC == 0 && $(wc -l <"$T/out") == "$head" ]] || fail "log --from 0: every commit"

# ---- --at-time: RFC 3339 with Z, with an offset, more digits; Unix ms -------
# want_at MS: key a at the last write committed at or before MS
want_at() {
    local w v=''
    for w in "${writes[@]}"; do
        (($(ms_of "${t_of[$w]}") <= $1)) && v=${st_a[$w]}
    done
    printf '%s' "$v"
}
for s in "${writes[@]}"; do
    ms=$(ms_of "${t_of[$s]}")
    want=$(want_at "$ms")
    expect 0 "$want"$'\n' get a --at-time "${t_of[$s]}"
    expect 0 "$want"$'\n' get a --at-time "$ms"
    # the same instant written with +01:00 and with microseconds
    local_s=$(date -u -d "@$(((ms + 3600000) / 1000))" +%Y-%m-%dT%H:%M:%S)
    frac=$(printf '%03d' $((ms % 1000)))
    expect 0 "$want"$'\n' get a --at-time "${local_s}.${frac}+01:00"
    expect 0 "$want"$'\n' get a --at-time "${t_of[$s]%Z}999Z"
done
first=$(ms_of "${t_of[1]}")
expect 1 '' get a --at-time $((first - 1))
err_has "not found"
expect 1 '' get a --at-time 1970-01-01T00:00:00Z
# L: a whole second after the last write, in the past once we have slept
last=$(ms_of "${t_of[${writes[-1]}]}")
L=$((last / 1000 + 1))
while (($(date +%s%3N) <= (L + 1) * 1000)); do sleep 0.2; done
L_iso=$(date -u -d "@$L" +%Y-%m-%dT%H:%M:%S)
expect 0 $'3\n' get a --at-time "$(date -u -d "@$((L - 19800))" +%Y-%m-%dT%H:%M:%S).5-05:30"
expect 0 $'3\n' get a --at-time $((L * 1000))
# RFC 3339 section 5.6 allows 't', 'z' and a space; second 60 is a leap second
expect 0 $'3\n' get a --at-time "${L_iso/T/t}z"
expect 0 $'3\n' get a --at-time "${L_iso/T/ }Z"
expect 1 '' get a --at-time "$(date -u -d "@$((L - 86400))" +%Y-%m-%d)T23:59:60Z"
expect 1 '' get a --at-time '1972-06-30T23:59:60+00:00'
expect 1 '' get a --at-time '2024-02-29T00:00:00Z'
# a time still to come is an error, as a seq beyond the head is (issue 15)
for t in 2999-01-01T00:00:00Z 9999999999999 $(((L + 3600) * 1000)); do
    expect 3 '' get a --at-time "$t"
    err_has "in the future"
done
# scan --at-time reads what scan --at reads for the seq of that time
for s in "${writes[@]}"; do
    ms=$(ms_of "${t_of[$s]}")
    w_at=0
    for w in "${writes[@]}"; do (($(ms_of "${t_of[$w]}") <= ms)) && w_at=$w; done
    run scan --at "$w_at"
    cp "$T/out" "$T/want"
    run scan --at-time "$ms"
    [[ $RC == 0 ]] && cmp -s "$T/want" "$T/out" || fail "scan --at-time $ms differs from --at $w_at"
done
expect 0 '' scan --at-time 1970-01-01T00:00:00Z
expect 3 '' scan --at-time 2999-01-01T00:00:00Z
err_has "in the future"

# ---- stats ---------------------------------------------------------------------
run stats
[[ $RC == 0 ]] || fail "stats: exit $RC"
names=$(cut -d: -f1 "$T/out" | tr '\n' ' ')
[[ $names =~ ^head_seq\ live_files\ live_bytes\ l0_files\ (level\.[0-7]\.files\ level\.[0-7]\.bytes\ )+memtable_bytes\ ([a-z0-9_]+\ )*$ ]] ||
    fail "stats: names in order, got: $names"
grep -qvE '^[a-z0-9_.]+: [0-9]+$' "$T/out" && fail "stats: every line is 'name: number'"
val() { sed -n "s/^$1: //p" "$T/out"; }
[[ $(val head_seq) == "$head" ]] || fail "stats: head_seq $head"
files=$(val live_files)
((files >= 1)) || fail "stats: live files"
sum_files=0
sum_bytes=0
for l in 0 1 2 3 4 5 6 7; do
    sum_files=$((sum_files + $(val "level\\.$l\\.files" || true) + 0))
    sum_bytes=$((sum_bytes + $(val "level\\.$l\\.bytes" || true) + 0))
done
[[ $sum_files == "$files" ]] || fail "stats: level files add up to live_files"
[[ $sum_bytes == "$(val live_bytes)" ]] || fail "stats: level bytes add up to live_bytes"
[[ $(val l0_files) == "$(val 'level\.0\.files' || echo 0)" ]] || fail "stats: l0_files"

# ---- help --------------------------------------------------------------------
for h in help --help -h; do
    run "$h"
    [[ $RC == 0 ]] || fail "$h: exit $RC"
    grep -q '^usage: cirrus' "$T/out" || fail "$h: usage on stdout"
    for cmd in put del get mget scan load head log stats demo; do
        grep -q "^  $cmd" "$T/out" || fail "$h: lists $cmd"
    done
done
run get --help
[[ $RC == 0 ]] && grep -q -- '--at-time' "$T/out" || fail "get --help"
run help scan
[[ $RC == 0 ]] && grep -q -- '--reverse' "$T/out" || fail "help scan"

# ---- where the db is: --db, file://, $CIRRUS_DB, ./cirrus-data --------------
expect 0 $'1\n' --db "$T/other" put x y
expect 0 $'1\n' --db="$T/other" head
expect 0 $'y\n' --db "file://$T/other" get x
# --meta and $CIRRUS_META choose the metadata store (here another SQLite file)
expect 0 $'1\n' --db "$T/m" --meta "sqlite:$T/meta-elsewhere.db" put x y
[[ -e $T/meta-elsewhere.db ]] || fail "--meta sqlite:FILE not used"
expect 0 $'y\n' --db "$T/m" --meta="sqlite:$T/meta-elsewhere.db" get x
CIRRUS_META=sqlite:$T/meta-elsewhere.db expect 0 $'1\n' --db "$T/m" head
# the directory's objects belong to that store: its own default store is
# another database's metadata, refused (the database identity)
CIRRUS_META='' expect 3 '' --db "$T/m" head
err_has "not one database"
mkdir "$T/cwd"
(cd "$T/cwd" && unset CIRRUS_DB && "$CIRRUS_BIN" put k v >/dev/null)
[[ -d $T/cwd/cirrus-data ]] || fail "default db ./cirrus-data"
(cd "$T/cwd" && CIRRUS_DB='' "$CIRRUS_BIN" get k >"$T/out")
[[ $(cat "$T/out") == v ]] || fail "empty CIRRUS_DB means the default"

echo "ok"
