#!/usr/bin/env bash
# test_cli_txn.sh - `cirrus txn`: gets answered at once (so another program
# can drive it line by line), puts and deletes committed as one entry at end
# of input, a conflicting commit refused with exit 4 and no trace, and
# concurrent read-modify-write increments that lose no update.
#
# Transactions are driven through a pair of FIFOs (a coprocess: the test
# writes a line, reads the answer, writes the next). The increment workload
# is CIRRUS_TEST_TXN_PROCS processes (default 10) each committing
# CIRRUS_TEST_TXN_INCRS increments (default 50), retrying on exit 4.
source "${BASH_SOURCE%/*}/lib.sh"
no_leak_check
PROCS=${CIRRUS_TEST_TXN_PROCS:-10}
INCRS=${CIRRUS_TEST_TXN_INCRS:-50}

# txn_in INPUT: runs a txn on INPUT; exit code echoed, stdout in $T/out
txn_in() {
    set +e
    printf '%s' "$1" | "$CIRRUS_BIN" txn >"$T/out" 2>"$T/err"
    echo $?
    set -e
}

# ---- basics ------------------------------------------------------------------
c put a 1 >/dev/null
c put b 2 >/dev/null
head=$(c head)
# gets see the snapshot and the txn's own writes; deletes hide keys
[[ $(txn_in $'get a\nget nope\nput a 10\nget a\ndel b\nget b\nput c has  two spaces\nget c\n') == 0 ]] ||
    fail "a txn: exit 0"
seq=$(tail -n1 "$T/out")
[[ $(head -n -1 "$T/out") == $'found\t1\nnotfound\nfound\t10\nnotfound\nfound\thas  two spaces' ]] ||
    fail "txn answers: $(cat "$T/out")"
((seq > head)) || fail "txn seq $seq"
[[ $(c mget a b c) == $'a\t10\nb\nc\thas  two spaces' ]] || fail "txn writes committed"
[[ $(c get a --at $((seq - 1))) == 1 && $(c get a --at "$seq") == 10 ]] || fail "one commit"
[[ $(c log --from "$seq" | grep -c $'\twrite\t') == 1 ]] || fail "one write entry"
# escapes in keys and values
[[ $(txn_in $'put k\\x20sp v\\tx\\\\y\nget k\\x20sp\n') == 0 ]] || fail "escapes: exit 0"
[[ $(head -n1 "$T/out") == $'found\tv\\tx\\\\y' ]] || fail "escaped get: $(head -n1 "$T/out")"
[[ $(c get 'k\x20sp') == 'v\tx\\y' ]] || fail "escaped put"
# read-only and empty transactions commit nothing and print the snapshot
head=$(settled_head)
[[ $(txn_in $'get a\n') == 0 && $(tail -n1 "$T/out") == "$head" ]] || fail "read-only txn"
[[ $(txn_in '') == 0 && $(cat "$T/out") == "$head" ]] || fail "empty txn"
[[ $(txn_in $'sleep 50\nget a') == 0 ]] || fail "sleep, and a last line without newline"
[[ $(writes_after "$head") == 0 ]] || fail "read-only txns committed"

# malformed lines: exit 2, the line named, nothing committed
for bad in 'frob k' 'get' 'put k' 'get a b' 'put \q v' 'put k \x4' 'sleep x' 'sleep' '' 'GET a'; do
    [[ $(txn_in "put z 1"$'\n'"$bad"$'\n') == 2 ]] || fail "txn line '$bad': exit 2"
    grep -q "line 2" "$T/err" || fail "txn line '$bad': the line named"
    grep -q '^usage: cirrus' "$T/err" || fail "txn line '$bad': usage"
done
[[ $(rc_of get z) == 1 && $(writes_after "$head") == 0 ]] || fail "a malformed txn committed"
[[ $(rc_of txn extra </dev/null) == 2 ]] || fail "txn extra: exit 2"

# ---- a conflict ------------------------------------------------------------
# two transactions both read and write k; the second to commit fails
mkfifo "$T/a.in" "$T/a.out" "$T/b.in" "$T/b.out"
c put k 5 >/dev/null
"$CIRRUS_BIN" txn <"$T/a.in" >"$T/a.out" 2>"$T/a.err" &
pa=$!
exec 5>"$T/a.in" 6<"$T/a.out"
# (B must not inherit A's FIFO ends: A would never see its end of input)
"$CIRRUS_BIN" txn <"$T/b.in" >"$T/b.out" 2>"$T/b.err" 5>&- 6<&- &
pb=$!
exec 7>"$T/b.in" 8<"$T/b.out"
echo "get k" >&5
IFS= read -r ans <&6
[[ $ans == $'found\t5' ]] || fail "txn A's get: '$ans'"
echo "get k" >&7
IFS= read -r ans <&8
[[ $ans == $'found\t5' ]] || fail "txn B's get: '$ans'"
echo "put k A" >&5
echo "put k B" >&7
exec 5>&-
IFS= read -r sa <&6 || true
exec 6<&-
wait $pa || fail "txn A failed: $(cat "$T/a.err")"
exec 7>&-
IFS= read -r sb <&8 || sb=
exec 8<&-
set +e
wait $pb
rb=$?
set -e
[[ $rb == 4 ]] || fail "txn B: exit $rb, expected 4 (conflict)"
[[ -z $sb ]] || fail "txn B printed a seq: $sb"
grep -q '^cirrus: txn: ' "$T/b.err" || fail "txn B: the cause on stderr"
[[ $(c get k) == A && $(writes_after "$sa") == 0 ]] || fail "the conflicting txn left a trace"
# a write-only (blind) conflict and a conflict with a plain put
"$CIRRUS_BIN" txn <"$T/a.in" >"$T/a.out" 2>"$T/a.err" &
pa=$!
exec 5>"$T/a.in" 6<"$T/a.out"
echo "get k" >&5
IFS= read -r ans <&6
c put k other >/dev/null
echo "put k mine" >&5
exec 5>&- 6<&-
set +e
wait $pa
ra=$?
set -e
[[ $ra == 4 && $(c get k) == other ]] || fail "a txn whose read was overwritten: exit $ra"

# ---- concurrent increments ---------------------------------------------------
# worker W: INCRS committed increments of "counter", each a txn driven line by
# line: get, then put the value read plus one; exit 4 is retried. Logs
# "SEQ VALUE" per commit to $T/inc.W and the attempts to $T/tries.W.
worker() {
    local w=$1 done=0 tries=0 ans n out rc pid
    mkfifo "$T/in.$w" "$T/out.$w"
    while ((done < INCRS)); do
        tries=$((tries + 1))
        "$CIRRUS_BIN" txn <"$T/in.$w" >"$T/out.$w" 2>"$T/err.$w" &
        pid=$!
        exec {wr}>"$T/in.$w" {rd}<"$T/out.$w"
        echo "get counter" >&$wr
        IFS= read -r ans <&$rd || ans=
        case $ans in
        notfound) n=0 ;;
        found$'\t'*) n=${ans#found$'\t'} ;;
        *) echo "worker $w: bad answer '$ans'" >&2; return 1 ;;
        esac
        echo "put counter $((n + 1))" >&$wr
        exec {wr}>&-
        IFS= read -r out <&$rd || out=
        exec {rd}<&-
        set +e
        wait $pid
        rc=$?
        set -e
        case $rc in
        0) done=$((done + 1)); echo "$out $((n + 1))" >>"$T/inc.$w" ;;
        4) ;;
        *) echo "worker $w: txn exit $rc: $(cat "$T/err.$w")" >&2; return 1 ;;
        esac
    done
    echo "$tries" >"$T/tries.$w"
}
start=$SECONDS
pids=()
for w in $(seq 1 "$PROCS"); do
    worker "$w" 2>"$T/werr.$w" &
    pids+=($!)
done
for p in "${pids[@]}"; do
    wait "$p" || fail "a worker failed: $(cat "$T"/werr.*)"
done
total=$((PROCS * INCRS))
cat "$T"/inc.* | sort -n >"$T/incs"
[[ $(wc -l <"$T/incs") == "$total" ]] || fail "$total commits logged"
[[ $(c get counter) == "$total" ]] || fail "counter $(c get counter), expected $total: a lost update"
# every value 1..total was written once, in seq order
cut -d' ' -f2 "$T/incs" | cmp -s - <(seq 1 "$total") || fail "the values by seq are not 1..$total"
[[ -z $(cut -d' ' -f1 "$T/incs" | uniq -d) ]] || fail "a seq printed twice"
while read -r s v; do
    [[ $(c get counter --at "$s") == "$v" ]] || fail "counter at $s is not $v"
done < <(sed -n '1p;$p' "$T/incs")
echo "ok ($total increments, $(cat "$T"/tries.* | paste -sd+ | bc) attempts, $((SECONDS - start)) s)"
