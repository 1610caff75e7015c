#!/usr/bin/env bash
# test_cli_maintain.sh - `cirrus maintain`, the daemon (issue 15, item 6):
# two daemons at once on one db with a writer making L0 files: exactly one
# compacts, the other logs that it stands by, naming the holder; kill -9 of
# the active one: the other takes over within the lease TTL (plus its poll)
# and compacts; SIGTERM: the active one exits 0 promptly and releases the
# lease, and a third daemon standing by takes it; the data stays what was
# written throughout. The lease TTL is 3 s (--ttl) to keep this short.
source "${BASH_SOURCE%/*}/lib.sh"
TTL=3

# wait_for FILE PATTERN SECONDS: until FILE has a line matching PATTERN
wait_for() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    fail "no '$2' in $1 after $3 s: $(cat "$1")"
}
# writes FROM TO: one commit (one L0 file) per key k<FROM..TO>, recorded in
# the model $T/model (KEY<TAB>VALUE, the last line of a key wins)
writes() {
    local i
    for ((i = $1; i <= $2; i++)); do
        c put "k$i" "v$i-$RANDOM" >/dev/null 2>>"$T/writer.err" || fail "put k$i"
        c get "k$i" | sed "s/^/k$i\t/" >>"$T/model"
    done
}
check_data() {
    sort -k1,1 -s "$T/model" | awk -F'\t' '{ v[$1] = $2 } END { for (k in v) print k "\t" v[k] }' |
        sort >"$T/want"
    c scan >"$T/got"
    cmp -s "$T/want" "$T/got" || fail "scan differs from what was written ($1)"
}
l0() {
    [[ $(rc_of stats) == 0 ]] || fail "stats: exit $(rc_of stats)"
    sed -n 's/^l0_files: //p' "$T/out"
}
daemon() { # daemon NAME: a maintain process owning the lease as NAME
    "$CIRRUS_BIN" maintain --ttl ${TTL}s --interval 1s --owner "$1" 2>"$T/$1.log" &
    echo $! >"$T/$1.pid"
}
compactions() { grep -c 'info: compaction: ' "$T/$1.log" || true; }

c create >/dev/null
daemon A
wait_for "$T/A.log" "took the compactor lease as A" 10
daemon B
wait_for "$T/B.log" "standing by: the compactor lease is held by A" 10

# the writer makes L0 files; A compacts them, B only stands by
writes 1 12
wait_for "$T/A.log" "round: [1-9][0-9]* compactions" 10
# (a round may have run in the middle of the writes: the next one, at most
# --interval later, compacts the rest)
for ((i = 0; i < 100; i++)); do
    n=$(l0)
    ((n < 4)) && break
    sleep 0.1
done
((n < 4)) || fail "L0 not compacted in 10 s: $n files"
(($(compactions A) >= 1)) || fail "A did not compact"
[[ $(compactions B) == 0 ]] || fail "B compacted while A held the lease"
grep -q "round:" "$T/B.log" && fail "B ran a round while standing by"
[[ $(grep -c "standing by" "$T/B.log") == 1 ]] || fail "B logged standing by more than once"
check_data "two daemons"

# kill -9 the active one: B takes over within the TTL (plus its poll) ...
kill -9 "$(cat "$T/A.pid")"
wait "$(cat "$T/A.pid")" 2>/dev/null || true
t0=$(date +%s%N)
wait_for "$T/B.log" "took the compactor lease as B" $((TTL * 2))
took_ms=$((($(date +%s%N) - t0) / 1000000))
echo "takeover after kill -9: ${took_ms} ms (TTL ${TTL} s)"
((took_ms <= TTL * 1000 + 1500)) || fail "takeover took ${took_ms} ms, TTL ${TTL} s"
# ... and compacts what the writer makes next
writes 13 24
writes 3 6 # overwrites
wait_for "$T/B.log" "round: [1-9][0-9]* compactions" 10
(($(compactions B) >= 1)) || fail "B did not compact after taking over"
check_data "after the takeover"

# SIGTERM: B exits 0 promptly, releasing the lease; C, standing by, takes it
daemon C
wait_for "$T/C.log" "standing by: the compactor lease is held by B" 10
t0=$(date +%s%N)
kill -TERM "$(cat "$T/B.pid")"
set +e
wait "$(cat "$T/B.pid")"
rc=$?
set -e
stop_ms=$((($(date +%s%N) - t0) / 1000000))
echo "exit after SIGTERM: ${stop_ms} ms"
[[ $rc == 0 ]] || fail "B after SIGTERM: exit $rc"
((stop_ms < 5000)) || fail "B took ${stop_ms} ms to stop"
grep -q "released the compactor lease" "$T/B.log" || fail "B did not release the lease"
c lease show compactor >"$T/out"
grep -qx 'state: released' "$T/out" || grep -qx 'owner: C' "$T/out" ||
    fail "the lease after B's exit: $(cat "$T/out")"
wait_for "$T/C.log" "took the compactor lease as C" 3
kill -INT "$(cat "$T/C.pid")"
set +e
wait "$(cat "$T/C.pid")"
rc=$?
set -e
[[ $rc == 0 ]] || fail "C after SIGINT: exit $rc"
check_data "at the end"
[[ ! -s $T/writer.err ]] || fail "the writer: $(cat "$T/writer.err")"
echo "ok"
