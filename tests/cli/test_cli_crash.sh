#!/usr/bin/env bash
# test_cli_crash.sh - real kill -9 of `cirrus load` at random points.
#
# Round r loads a 200-line batch whose keys and values all carry r, and is
# killed with SIGKILL after a random delay spread over the whole life of a
# load (startup, staging the SST, the commit, after it). A seq printed on
# stdout is an acknowledged commit. Afterwards:
#   - every acknowledged batch is fully present (and appeared at its seq);
#   - every batch is fully present or fully absent, never partial;
#   - the log is 1..head with no gap, one write commit per present batch
#     (the others are compactions, which a kill may interrupt too);
#   - the db still accepts writes.
source "${BASH_SOURCE%/*}/lib.sh"
# killed processes never get to a leak check
trap 'kill -9 $(jobs -p) 2>/dev/null || true; rm -rf "$T"' EXIT
no_leak_check
ROUNDS=${CIRRUS_TEST_CRASH_ROUNDS:-30}
LINES=200
RANDOM=${CIRRUS_TEST_SEED:-$$}

now_ms() { date +%s%3N; }

# batch R: the lines of round R
batch() {
    awk -v r="$1" -v n="$LINES" 'BEGIN { for (i = 1; i <= n; i++)
        printf "r%02d/k%03d\tv%d-%d-0123456789abcdef0123456789abcdef\n", r, i, r, i }'
}

# round 0, not killed: the db exists and we learn how long a load takes
batch 0 >"$T/batch.0"
t0=$(now_ms)
c load "$T/batch.0" >"$T/out.0"
dur=$(($(now_ms) - t0))
((dur > 0)) || dur=1
# kills land anywhere from exec to past the commit (and a compaction the
# process may run after it)
max_delay=$((dur * 2))

declare -A acked
acked[0]=$(cat "$T/out.0")
for r in $(seq 1 "$ROUNDS"); do
    batch "$r" >"$T/batch.$r"
    "$CIRRUS_BIN" load "$T/batch.$r" >"$T/out.$r" 2>"$T/err.$r" &
    pid=$!
    d=$((RANDOM % (max_delay + 1)))
    sleep "$(printf '%d.%03d' $((d / 1000)) $((d % 1000)))"
    kill -9 "$pid" 2>/dev/null || true
    set +e
    wait "$pid" 2>/dev/null
    rc=$?
    set -e
    # exit 0 (finished before the kill) or 137 (killed); nothing else
    [[ $rc == 0 || $rc == 137 ]] || fail "round $r: load exited $rc: $(cat "$T/err.$r")"
    if [[ -s $T/out.$r ]]; then
        acked[$r]=$(cat "$T/out.$r")
        [[ ${acked[$r]} =~ ^[0-9]+$ ]] || fail "round $r printed '${acked[$r]}'"
    fi
done

# the state as a fresh process sees it
head=$(c head)
c scan >"$T/all"
# every line is a key of some round with exactly that round's value
awk -F'\t' '{ split($1, a, "/"); r = substr(a[1], 2) + 0; i = substr(a[2], 2) + 0;
              if ($2 != sprintf("v%d-%d-0123456789abcdef0123456789abcdef", r, i)) {
                  print "wrong value: " $0; exit 1 } }' "$T/all" || fail "a wrong value"
present=0
for r in $(seq 0 "$ROUNDS"); do
    n=$(grep -c "^r$(printf %02d "$r")/" "$T/all" || true)
    [[ $n == 0 || $n == "$LINES" ]] || fail "round $r is partial: $n of $LINES keys"
    if [[ -n ${acked[$r]:-} ]]; then
        [[ $n == "$LINES" ]] || fail "round $r was acknowledged (seq ${acked[$r]}) but is lost"
    fi
    ((n == 0)) || present=$((present + 1))
done
c log | cut -f1 | cmp -s - <(seq 1 "$head") || fail "log is not 1..$head"
writes=$(c log | grep -c $'\twrite\t' || true)
[[ $present == "$writes" ]] || fail "$present batches present but $writes write commits"
acks=$(printf '%s\n' "${acked[@]}" | sort -n)
[[ -z $(uniq -d <<<"$acks") ]] || fail "a seq acknowledged twice"
# a few acknowledged batches appeared exactly at their seq
checked=0
for r in "${!acked[@]}"; do
    ((checked < 4)) || break
    s=${acked[$r]}
    k=$(printf 'r%02d/k%03d' "$r" 7)
    [[ $(c get "$k" --at "$s") == "v$r-7-0123456789abcdef0123456789abcdef" ]] ||
        fail "round $r not visible at its seq $s"
    [[ $(c get "$k" --at $((s - 1)) 2>/dev/null || echo absent) == absent ]] ||
        fail "round $r visible before its seq $s"
    checked=$((checked + 1))
done
# still writable, by a fresh process, at the next seq
[[ $(c put after crash) == $((head + 1)) ]] || fail "put after the crashes"
[[ $(c get after) == crash ]] || fail "get after the crashes"
batch 99 | c load - >/dev/null || fail "load after the crashes"
echo "ok: $ROUNDS kills, ${#acked[@]} acknowledged, $present of $((ROUNDS + 1)) batches present" \
    "(load takes ~${dur} ms; kill delays 0..${max_delay} ms)"
