#!/usr/bin/env bash
# test_cli_concurrent.sh - two processes committing to the same db at once
# (plus a reader): every commit lands exactly once, the seqs printed are
# unique, and the log is 1..N with no gap (writes and the compactions the
# writers run).
source "${BASH_SOURCE%/*}/lib.sh"
no_leak_check
N=${CIRRUS_TEST_PUTS:-100} # puts per writer


# writer W: N puts of w<W>/<i>, one seq per line into $T/seqs.W
writer() {
    local w=$1 i
    for i in $(seq 1 "$N"); do
        c put "w$w/$(printf %04d "$i")" "v$w-$i" >>"$T/seqs.$w" 2>>"$T/err.$w" ||
            { echo "put $w/$i failed" >>"$T/err.$w"; return 1; }
    done
}
# a reader scanning while the writers run: must never fail
reader() {
    while [[ ! -e $T/stop ]]; do
        c scan --prefix w >/dev/null 2>>"$T/err.r" || { echo "scan failed" >>"$T/err.r"; return 1; }
    done
}

c create >/dev/null # create the db first, so both writers open an existing one
writer 1 &
p1=$!
writer 2 &
p2=$!
reader &
pr=$!
ok=1
wait $p1 || ok=0
wait $p2 || ok=0
touch "$T/stop"
wait $pr || ok=0
((ok)) || fail "a writer or the reader failed: $(cat "$T"/err.* 2>/dev/null)"

total=$((2 * N))
cat "$T/seqs.1" "$T/seqs.2" >"$T/seqs"
[[ $(wc -l <"$T/seqs") == "$total" ]] || fail "$total seqs printed"
[[ -z $(sort -n "$T/seqs" | uniq -d) ]] || fail "a seq was printed twice: $(sort -n "$T/seqs" | uniq -d)"
# the log is dense; its write commits are exactly the seqs printed (the other
# commits are compactions run by the writers)
head=$(c head)
c log >"$T/log"
cut -f1 "$T/log" | cmp -s - <(seq 1 "$head") || fail "log is not 1..$head"
awk -F'\t' '$3 == "write" { print $1 }' "$T/log" | cmp -s - <(sort -n "$T/seqs") ||
    fail "the log's write commits are not the seqs printed"
awk -F'\t' '$3 != "write" && $3 != "compact" { exit 1 }' "$T/log" || fail "an unknown kind"
# each writer's own seqs increase
sort -n -c "$T/seqs.1" && sort -n -c "$T/seqs.2" || fail "a writer's seqs went backwards"
# every put landed, once, with its value; the seq it printed holds it
c scan --prefix w >"$T/all"
[[ $(wc -l <"$T/all") == "$total" ]] || fail "$total keys"
for w in 1 2; do
    for i in 1 $((N / 2)) "$N"; do
        k="w$w/$(printf %04d "$i")"
        grep -qxF "$k"$'\t'"v$w-$i" "$T/all" || fail "$k lost"
        s=$(sed -n "${i}p" "$T/seqs.$w")
        [[ $(c get "$k" --at "$s") == "v$w-$i" ]] || fail "$k not at its seq $s"
        [[ $(c get "$k" --at $((s - 1)) 2>/dev/null || echo absent) == absent ]] ||
            fail "$k present before its seq $s"
    done
done
echo "ok"
