#!/usr/bin/env bash
# test_cli_bulkload.sh - load in bounded memory: with a tiny --memory an
# input in random order with duplicates spills several sorted runs that are
# merged, and still lands as ONE commit holding the last value of every
# key; sorted input, --app/--epoch, a malformed line (nothing committed,
# nothing left behind), a load killed midway (nothing committed, GC
# reclaims every object it wrote); ingest of SST files written through the
# C API (tests/cli/sst_write.c), and of a corrupt one (exit 3, named).
source "${BASH_SOURCE%/*}/lib.sh"
: "${CIRRUS_SST_WRITE:?CIRRUS_SST_WRITE must name the sst_write test program}"

# The objects of the db, for before/after comparisons.
objects() { (cd "$CIRRUS_DB" && find sst -type f | sort); }

# 6000 lines over 4000 keys in random order; the expected scan: the last
# value of each key, in key order
awk 'BEGIN { srand(7); for (i = 0; i < 6000; i++) {
        printf "bl/%05d\tv%d-%s\n", int(rand() * 4000), i, "padding-padding-padding-padding" } }' \
    >"$T/rand"
awk -F'\t' '{ last[$1] = $0 } END { for (k in last) print last[k] }' "$T/rand" | sort >"$T/want"
dups=$(($(wc -l <"$T/rand") - $(wc -l <"$T/want")))
((dups > 1000)) || fail "the input has duplicate keys ($dups)"

c put first 1 >/dev/null
head=$(settled_head)
seq=$(c load --memory 64K "$T/rand" 2>"$T/err")
[[ $seq == $((head + 1)) ]] || fail "load: seq $seq after head $head"
[[ ! -s $T/err ]] || fail "load: stderr is not a terminal, yet it printed"
[[ $(writes_after "$head") == 1 ]] || fail "load: one write entry"
added=$(c log --from "$seq" | awk -F'\t' '$3 == "write" { print $4; exit }')
((added > 1)) || fail "load: several files at 64K ($added)"
c scan --prefix bl/ | cmp -s - "$T/want" || fail "load: scan equals the deduped, sorted input"
key=$(awk -F'\t' '{ n[$1]++ } END { for (k in n) if (n[k] > 1) { print k; exit } }' "$T/rand")
[[ $(c get "$key") == $(awk -F'\t' -v k="$key" '$1 == k { v = $2 } END { print v }' "$T/rand") ]] ||
    fail "load: $key has its last value"
[[ $(c scan --prefix bl/ --at "$head" | wc -l) == 0 ]] || fail "load: nothing before its seq"

# sorted input (detected, or promised with --sorted) is one commit too
sed 's#^bl/#so/#' "$T/want" >"$T/sorted"
for flag in "" --sorted; do
    head=$(settled_head)
    seq=$(c load $flag --memory 64K "$T/sorted")
    [[ $seq == $((head + 1)) ]] || fail "load $flag of sorted input: seq"
    [[ $(writes_after "$head") == 1 ]] || fail "load $flag of sorted input: one write entry"
    c scan --prefix so/ | cmp -s - "$T/sorted" || fail "load $flag of sorted input: scan"
done
# --sorted refuses a line out of order: exit 2, the line named, nothing committed
head=$(settled_head)
before=$(objects)
printf 'zz/1\ta\nzz/3\tb\nzz/2\tc\n' >"$T/unsorted"
[[ $(rc_of load --sorted "$T/unsorted") == 2 ]] || fail "--sorted out of order: exit 2"
grep -q "line 3" "$T/err" || fail "--sorted out of order: the line named"
[[ $(writes_after "$head") == 0 ]] || fail "--sorted out of order: committed"
[[ $(objects) == "$before" ]] || fail "--sorted out of order: objects left behind"
[[ $(rc_of load --memory 1K "$T/sorted") == 2 ]] || fail "--memory below 64K: exit 2"
[[ $(rc_of load --memory 12Q "$T/sorted") == 2 ]] || fail "--memory 12Q: exit 2"

# exactly once on the streaming path
sed 's#^bl/#ap/#' "$T/rand" >"$T/app"
seq=$(c load --app bulk --epoch 1 --memory 64K "$T/app")
[[ $(c load --app bulk --epoch 1 --memory 64K "$T/app") == "$seq already-applied" ]] ||
    fail "load --app: a retried epoch"
[[ $(c epoch bulk) == 1 ]] || fail "load --app: epoch 1 applied"
[[ $(c scan --prefix ap/ | wc -l) == $(wc -l <"$T/want") ]] || fail "load --app: every key"

# a malformed line after several runs spilled: exit 2, nothing committed,
# the loader's files deleted
head=$(settled_head)
before=$(objects)
{
    sed 's#^bl/#mf/#' "$T/rand"
    printf 'no tab here\n'
    printf 'mf/last\tx\n'
} >"$T/bad"
[[ $(rc_of load --memory 64K "$T/bad") == 2 ]] || fail "malformed line: exit 2"
grep -q "line 6001" "$T/err" || fail "malformed line: its number"
[[ $(writes_after "$head") == 0 ]] || fail "malformed line: committed"
[[ $(c scan --prefix mf/ | wc -l) == 0 ]] || fail "malformed line: keys visible"
[[ $(objects) == "$before" ]] || fail "malformed line: objects left behind"

# kill -9 in the middle: nothing committed; GC reclaims every object
c gc --grace 0 >/dev/null
head=$(settled_head)
before=$(objects)
mkfifo "$T/fifo"
# the binary itself, not the function c: $! must be the loading process
"$CIRRUS_BIN" load --memory 64K <"$T/fifo" >"$T/killed.out" 2>&1 &
pid=$!
exec 3>"$T/fifo"
sed 's#^bl/#kl/#' "$T/rand" >&3
for _ in $(seq 100); do # until runs were written
    (($(objects | wc -l) > $(wc -l <<<"$before") + 2)) && break
    sleep 0.1
done
(($(objects | wc -l) > $(wc -l <<<"$before") + 2)) || fail "kill: no run written"
kill -9 "$pid"
wait "$pid" 2>/dev/null && fail "kill: the load was not killed"
exec 3>&-
[[ ! -s $T/killed.out ]] || fail "kill: the killed load printed"
[[ $(writes_after "$head") == 0 ]] || fail "kill: committed"
[[ $(c scan --prefix kl/ | wc -l) == 0 ]] || fail "kill: keys visible"
[[ $(objects) != "$before" ]] || fail "kill: nothing to reclaim"
c gc --grace 0 >"$T/gc"
[[ $(objects) == "$before" ]] || fail "kill: gc --grace 0 left objects the load wrote"

# progress on a terminal: lines, bytes, rate, time left
script -qec "$CIRRUS_BIN load --memory 64K $T/sorted" /dev/null >"$T/tty" </dev/null ||
    fail "load on a terminal"
grep -q "load: .* lines, .*B/s" "$T/tty" || fail "load on a terminal: no progress line"

# ingest: SST files written by the C API, one entry, read back exactly
printf 'in/a\t1\nin/b\ttwo\n' | "$CIRRUS_SST_WRITE" "$T/one.sst"
printf 'in/c\t3\n' | "$CIRRUS_SST_WRITE" "$T/two.sst"
printf 'in/b\tx\n' | "$CIRRUS_SST_WRITE" "$T/overlap.sst"
printf 'b\t1\na\t2\n' | "$CIRRUS_SST_WRITE" "$T/order.sst" 2>"$T/err" &&
    fail "sst_write: keys out of order accepted"
head=$(settled_head)
seq=$(c ingest "$T/two.sst" "$T/one.sst")
[[ $seq == $((head + 1)) ]] || fail "ingest: seq"
[[ $(writes_after "$head") == 1 ]] || fail "ingest: one write entry"
[[ $(c scan --prefix in/) == $'in/a\t1\nin/b\ttwo\nin/c\t3' ]] || fail "ingest: read back"
head=$(settled_head)
before=$(objects)
[[ $(rc_of ingest "$T/one.sst" "$T/overlap.sst") == 3 ]] || fail "ingest of overlapping files"
grep -q "overlap" "$T/err" || fail "ingest of overlapping files: said so"
# a corrupt file: exit 3, named; nothing committed, nothing left
cp "$T/one.sst" "$T/bad.sst"
printf 'ZZZZ' | dd of="$T/bad.sst" bs=1 seek=4 conv=notrunc status=none
[[ $(rc_of ingest "$T/two.sst" "$T/bad.sst") == 3 ]] || fail "ingest of a corrupt file: exit 3"
grep -q "^cirrus: ingest: .*bad.sst" "$T/err" || fail "ingest of a corrupt file: named"
[[ $(writes_after "$head") == 0 ]] || fail "ingest of a corrupt file: committed"
[[ $(objects) == "$before" ]] || fail "ingest of a corrupt file: objects left"
[[ $(rc_of ingest "$T/nope.sst") == 3 ]] || fail "ingest of a missing file: exit 3"
grep -q "nope.sst" "$T/err" || fail "ingest of a missing file: named"
[[ $(rc_of ingest) == 2 ]] || fail "ingest without files: exit 2"

echo "ok"
