#!/usr/bin/env bash
# test_cli_maint.sh - `compact` and `gc` after many small commits with
# overwrites and deletes: every key reads back as before, at the latest and
# at every recorded seq; L0 shrinks to a handful of files and live bytes
# shrink; GC removes the compacted-away files from DIR/sst/ and touches
# nothing still referenced. While another owner holds the "compactor" lease,
# compact and gc exit 3 naming it.
#
# The test holds the compactor lease while it writes, so that the writers'
# background compaction stays idle and `cirrus compact` has the whole backlog
# to do. CIRRUS_TEST_COMMITS (default 500) commits come from 4 writers at
# once (each on its own keys); every 10th commit of a writer is a delete.
source "${BASH_SOURCE%/*}/lib.sh"
no_leak_check
N=${CIRRUS_TEST_COMMITS:-500}
W=4

stat_of() { c stats | sed -n "s/^$1: //p"; }

# writer W: N/W commits on keys w<W>/k<0..19>, each a load of 3 puts (with a
# 40-byte value) or, every 10th, a delete; its ops go to $T/ops.W as
# SEQ<TAB>put<TAB>KEY<TAB>VALUE / SEQ<TAB>del<TAB>KEY
pad=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx
writer() {
    local w=$1 i j seq k
    for ((i = 1; i <= N / W; i++)); do
        if ((i % 10 == 0)); then
            k=w$w/k$((i * 7 % 20))
            seq=$(c del "$k") || return 1
            printf '%s\tdel\t%s\n' "$seq" "$k" >>"$T/ops.$w"
        else
            for j in 0 1 2; do
                printf 'w%d/k%d\tv%d-%d-%s\n' "$w" $(((i * 3 + j) % 20)) "$i" "$j" "$pad"
            done >"$T/batch.$w"
            seq=$(c load "$T/batch.$w") || return 1
            sed "s/^/$seq\tput\t/" "$T/batch.$w" >>"$T/ops.$w"
        fi
    done
}
# model_at SEQ: the KEY<TAB>VALUE lines the db holds at SEQ, from the ops
# (awk reads all its input: an early exit would be a SIGPIPE for sort)
model_at() {
    sort -s -n -k1,1 "$T"/ops.* | awk -F'\t' -v at="$1" '
        $1 <= at && $2 == "put" { v[$3] = $4; live[$3] = 1 }
        $1 <= at && $2 == "del" { delete live[$3] }
        END { for (k in live) print k "\t" v[k] }' | sort
}

c lease acquire compactor --owner maint-test --ttl 3600 >/dev/null
for w in $(seq 1 $W); do
    writer "$w" 2>"$T/err.$w" &
done
wait || fail "a writer failed: $(cat "$T"/err.*)"
head=$(c head)
[[ $(c log | grep -c $'\twrite\t') == "$N" ]] || fail "$N write commits"
[[ $(c log | grep -c $'\tcompact\t') == 0 ]] || fail "a compaction ran under the test's lease"

# the compactor lease is held: compact and gc refuse, naming the holder
[[ $(rc_of compact) == 3 ]] || fail "compact under another's lease: exit 3"
grep -q "maint-test" "$T/err" || fail "compact: the holder named"
[[ $(rc_of gc --grace 0) == 3 ]] || fail "gc under another's lease: exit 3"
grep -q "maint-test" "$T/err" || fail "gc: the holder named"
[[ $(c head) == "$head" ]] || fail "refused maintenance committed"

# record reads: a full scan at the latest, scans at every 50th seq, and gets
record() {
    local dir=$1 s
    mkdir -p "$dir"
    c scan >"$dir/latest"
    for s in $seqs; do
        c scan --at "$s" >"$dir/at.$s"
    done
    for s in $get_seqs; do
        for k in w1/k0 w4/k19; do
            echo "$s $k $(c get "$k" --at "$s" 2>/dev/null || echo '<absent>')"
        done
    done >"$dir/gets"
}
seqs="$(seq 1 50 "$head" | tr '\n' ' ')$head"
get_seqs="7 $((head / 2)) $head"
record "$T/before"
# the writes themselves: what the model says
model_at "$head" | cmp -s - "$T/before/latest" || fail "the latest scan != the model"
for s in $seqs; do
    model_at "$s" | diff - "$T/before/at.$s" >&2 || fail "scan --at $s != the model"
done
l0_before=$(stat_of l0_files)
bytes_before=$(stat_of live_bytes)
((l0_before >= N)) || fail "l0_files $l0_before before compaction"

# compact
c lease release compactor --owner maint-test
c compact >"$T/out" || fail "compact"
grep -q "^compacted: l0_files $l0_before -> " "$T/out" || fail "compact's summary: $(cat "$T/out")"
record "$T/after"
diff -r "$T/before" "$T/after" >&2 || fail "reads changed by compaction"
l0=$(stat_of l0_files)
((l0 <= 4)) || fail "l0_files $l0 after compact"
bytes=$(stat_of live_bytes)
((bytes < bytes_before)) || fail "live_bytes $bytes_before -> $bytes did not shrink"
[[ $(c log --from $((head + 1)) | grep -c $'\tcompact\t') -ge 1 ]] || fail "no compact entry"
[[ $(c log --from $((head + 1)) | grep -c $'\twrite\t') == 0 ]] || fail "compact wrote"

# gc with no grace and no changefeed retention: DIR/sst/ holds exactly the
# live files, and every read is as before
files_before=$(ls "$CIRRUS_DB/sst" | wc -l)
((files_before > $(stat_of live_files))) || fail "nothing for gc to do"
c gc --grace 0 --changefeed-retention 0 >"$T/gc" || fail "gc"
n_deleted=$(grep -c '^deleted ' "$T/gc" || true)
n_kept=$(grep -c '^kept ' "$T/gc" || true)
((n_deleted > 0)) || fail "gc deleted nothing"
tail -n1 "$T/gc" | grep -q "^total: deleted $n_deleted (.* bytes), kept $n_kept (.* bytes)$" ||
    fail "gc summary: $(tail -n1 "$T/gc")"
awk '$1 == "deleted" { print $2 }' "$T/gc" | while read -r name; do
    [[ ! -e $CIRRUS_DB/$name ]] || fail "gc printed 'deleted $name' but it exists"
done
awk '$1 == "kept" { print $2 }' "$T/gc" | while read -r name; do
    [[ -e $CIRRUS_DB/$name ]] || fail "gc printed 'kept $name' but it is gone"
done
live_files=$(stat_of live_files)
[[ $(ls "$CIRRUS_DB/sst" | wc -l) == "$live_files" ]] ||
    fail "DIR/sst holds $(ls "$CIRRUS_DB/sst" | wc -l) files, live_files $live_files"
grep -q '^kept sst/.* referenced$' "$T/gc" || fail "gc: live files kept as referenced"
record "$T/gced"
diff -r "$T/before" "$T/gced" >&2 || fail "reads changed by gc"
# a second gc finds nothing more to delete
c gc --grace 0 --changefeed-retention 0 >"$T/gc2"
! grep -q '^deleted sst/' "$T/gc2" || fail "a second gc deleted a table"
# and writing goes on
seq=$(c put after-gc 1)
[[ $(c get after-gc) == 1 && $seq -gt $head ]] || fail "a write after gc"

# usage errors
[[ $(rc_of compact now) == 2 ]] || fail "compact now: exit 2"
[[ $(rc_of gc --grace) == 2 ]] || fail "gc --grace: exit 2"
[[ $(rc_of gc --grace 1h) == 2 ]] || fail "gc --grace 1h: exit 2"
[[ $(rc_of gc --changefeed-retention -1) == 2 ]] || fail "gc --changefeed-retention -1: exit 2"
[[ $(rc_of gc extra) == 2 ]] || fail "gc extra: exit 2"

echo "ok"
