#!/usr/bin/env bash
# test_cli_stream.sh - the changefeed (`changes`, also --follow), exactly-once
# loads (`load --app --epoch`, `epoch`) and staged multi-writer commits
# (`stage`, `commit-staged`).
source "${BASH_SOURCE%/*}/lib.sh"


# ---- changes: a model of every write commit --------------------------------
# model_load SEQ-LINES: commits KEY<TAB>VALUE lines from stdin (keys given in
# byte order, distinct) and appends the expected change lines to the model
: >"$T/model"
model_load() {
    local seq
    cat >"$T/batch"
    seq=$(c load "$T/batch")
    sed "s/^/$seq\tput\t/" "$T/batch" >>"$T/model"
}
model_put() {
    local seq
    seq=$(c put "$1" "$2")
    printf '%s\tput\t%s\t%s\n' "$seq" "$1" "$2" >>"$T/model"
}
model_del() {
    local seq
    seq=$(c del "$1")
    printf '%s\tdel\t%s\n' "$seq" "$1" >>"$T/model"
}
printf 'a\t1\nb\t2\nc\t3\n' | model_load
model_put b 22
model_del a
model_put 'tab\there' 'line\nbreak'
model_put 'x\x01y' ''
for i in $(seq 1 20); do
    printf 'n/%02d\tv%d\nz\t%d\n' "$i" "$i" "$i" | model_load
    ((i % 5)) || model_del "n/$(printf %02d $((i - 1)))"
done
# a key written twice in one commit appears once, with its final value
seq=$(printf 'dup\tfirst\ndup\tsecond\n' | c load)
printf '%s\tput\tdup\tsecond\n' "$seq" >>"$T/model"

c changes >"$T/all"
cmp -s "$T/all" "$T/model" || { diff "$T/model" "$T/all" >&2; fail "changes != the model"; }
c changes --from 0 | cmp -s - "$T/model" || fail "changes --from 0 != the model"
# from a seq in the middle: exactly the model's tail
mid=$(sed -n '20p' "$T/model" | cut -f1)
awk -F'\t' -v m="$mid" '$1 >= m' "$T/model" >"$T/tail"
c changes --from "$mid" | cmp -s - "$T/tail" || fail "changes --from $mid"
# beyond the head: nothing, exit 0
head=$(c head)
[[ $(rc_of changes --from $((head + 1))) == 0 && ! -s $T/out ]] || fail "changes beyond the head"

# --follow: a put made later appears within a second; SIGTERM ends it, exit 0
"$CIRRUS_BIN" changes --follow --from $((head + 1)) >"$T/follow" 2>"$T/follow.err" &
fpid=$!
sleep 0.5
seq=$(c put live 1)
for _ in $(seq 1 20); do
    [[ -s $T/follow ]] && break
    sleep 0.05
done
[[ $(cat "$T/follow") == "$seq"$'\tput\tlive\t1' ]] ||
    fail "--follow did not print the new put within a second: '$(cat "$T/follow")'"
seq2=$(c del live)
sleep 0.5
[[ $(tail -n1 "$T/follow") == "$seq2"$'\tdel\tlive' ]] || fail "--follow: the delete"
kill -TERM "$fpid"
set +e
wait "$fpid"
frc=$?
set -e
[[ $frc == 0 ]] || fail "changes --follow after SIGTERM: exit $frc, $(cat "$T/follow.err")"
[[ ! -s $T/follow.err ]] || fail "changes --follow: stderr $(cat "$T/follow.err")"
# ... and SIGINT (the background job's SIGINT is ignored by bash; cirrus
# installs its own handler). Sent once the follower has printed the feed so
# far (its handler is in place by then), and again each second in case a
# signal slipped in before: a follower that ignores SIGINT fails, not hangs.
c changes >"$T/feed"
"$CIRRUS_BIN" changes --follow >"$T/follow" 2>"$T/follow.err" &
fpid=$!
for _ in $(seq 1 100); do
    cmp -s "$T/feed" "$T/follow" && break
    sleep 0.1
done
for _ in $(seq 1 10); do
    kill -INT "$fpid" 2>/dev/null || break
    sleep 1
done
if kill -0 "$fpid" 2>/dev/null; then
    kill -KILL "$fpid"
    fail "changes --follow ignored SIGINT for 10 s"
fi
set +e
wait "$fpid"
frc=$?
set -e
[[ $frc == 0 ]] || fail "changes --follow after SIGINT: exit $frc"
c changes | cmp -s - "$T/follow" || fail "--follow from 0 printed the feed"

# usage errors
[[ $(rc_of changes --from x) == 2 ]] || fail "--from x: exit 2"
[[ $(rc_of changes extra) == 2 ]] || fail "changes extra: exit 2"
[[ $(rc_of changes --follow=1) == 2 ]] || fail "--follow=1: exit 2"

# ---- exactly-once loads --------------------------------------------------
[[ $(rc_of epoch sink) == 1 ]] || fail "epoch of an app never applied: exit 1"
printf 'sink/a\t1\nsink/b\t2\n' >"$T/e1"
s1=$(c load --app sink --epoch 1 "$T/e1")
[[ $s1 =~ ^[0-9]+$ ]] || fail "load --app: seq '$s1'"
printf 'sink/a\tCHANGED\nsink/c\t3\n' >"$T/e1b"
[[ $(c load --app sink --epoch 1 "$T/e1b") == "$s1 already-applied" ]] ||
    fail "second load of epoch 1"
[[ $(c scan --prefix sink/) == $'sink/a\t1\nsink/b\t2' ]] || fail "the retry changed the data"
[[ $(c epoch sink) == 1 ]] || fail "epoch sink: 1"
s2=$(c load --app sink --epoch 2 <"$T/e1b")
((s2 > s1)) || fail "epoch 2: seq $s2"
[[ $(c load --app sink --epoch 1 - <"$T/e1") == "$s2 already-applied" ]] ||
    fail "an older epoch after 2: the seq of epoch 2"
[[ $(c epoch sink) == 2 ]] || fail "epoch sink: 2"
[[ $(c scan --prefix sink/) == $'sink/a\tCHANGED\nsink/b\t2\nsink/c\t3' ]] || fail "epoch 2's data"
[[ $(c epoch other 2>/dev/null || echo none) == none ]] || fail "apps are independent"
[[ $(rc_of load --app sink "$T/e1") == 2 ]] || fail "--app without --epoch: exit 2"
[[ $(rc_of load --epoch 3 "$T/e1") == 2 ]] || fail "--epoch without --app: exit 2"
[[ $(rc_of load --app sink --epoch x "$T/e1") == 2 ]] || fail "--epoch x: exit 2"
[[ $(rc_of epoch) == 2 && $(rc_of epoch a b) == 2 ]] || fail "epoch: arguments"
[[ $(c epoch sink) == 2 ]] || fail "usage errors applied an epoch"

# ---- staged commits --------------------------------------------------------
# three processes stage at once; "shared" is in all three (the last
# descriptor given wins)
for w in 1 2 3; do
    {
        for i in $(seq 1 30); do printf 'st/%d/%02d\tv%d-%d\n' "$w" "$i" "$w" "$i"; done
        printf 'shared\tfrom-%d\n' "$w"
    } >"$T/stage.$w"
    c stage "$T/stage.$w" >"$T/desc.$w" 2>"$T/err.$w" &
done
wait
for w in 1 2 3; do
    [[ $(wc -l <"$T/desc.$w") == 1 ]] || fail "stage $w: one descriptor line: $(cat "$T/err.$w")"
done
[[ -z $(c scan --prefix st/) && -z $(c get shared 2>/dev/null || true) ]] ||
    fail "staged data visible before the commit"
before=$(c head)
# two as arguments, one from stdin
seq=$(c commit-staged "$(cat "$T/desc.1")" "$(cat "$T/desc.2")" - <"$T/desc.3")
((seq > before)) || fail "commit-staged: seq $seq"
[[ $(c scan --prefix st/ | wc -l) == 90 ]] || fail "all 90 staged keys visible"
[[ $(c scan --prefix st/ --at "$seq" | wc -l) == 90 ]] || fail "all visible at seq $seq"
[[ -z $(c scan --prefix st/ --at $((seq - 1))) ]] || fail "something visible before seq $seq"
[[ $(c get shared --at "$seq") == from-3 ]] || fail "the last descriptor wins"
[[ $(rc_of get shared --at $((seq - 1))) == 1 ]] || fail "shared before the commit"
[[ $(c get st/2/07) == v2-7 ]] || fail "a staged value"
# one commit in the changefeed
[[ $(c changes --from "$seq" | cut -f1 | sort -u) == "$seq" ]] || fail "one seq in the feed"
# committed again: refused, nothing written
head=$(c head)
[[ $(rc_of commit-staged "$(cat "$T/desc.2")") == 3 ]] || fail "a re-commit: exit 3"
grep -q "^cirrus: commit-staged: " "$T/err" || fail "re-commit: the cause"
[[ $(writes_after "$head") == 0 ]] || fail "a refused commit moved the head"
# damaged descriptors: refused
printf 'dmg\t1\n' | c stage >"$T/desc.4"
d=$(cat "$T/desc.4")
last=${d: -1}
[[ $last == 0 ]] && flip=1 || flip=0
for bad in "${d%?}$flip" "${d:0:$((${#d} / 2))}" "x$d" "garbage"; do
    [[ $(rc_of commit-staged "$bad") == 3 ]] || fail "damaged descriptor '$bad': exit 3"
    grep -q "^cirrus: commit-staged: " "$T/err" || fail "damaged descriptor: the cause"
done
[[ $(writes_after "$head") == 0 ]] || fail "a damaged descriptor committed"
# a descriptor whose files GC removed: refused
c gc --grace 0 >/dev/null
[[ $(rc_of commit-staged "$d") == 3 ]] || fail "a garbage-collected descriptor: exit 3"
[[ $(rc_of get dmg) == 1 ]] || fail "dmg visible"
# usage errors
[[ $(rc_of commit-staged) == 2 ]] || fail "commit-staged without descriptors: exit 2"
[[ $(rc_of commit-staged - - </dev/null) == 2 ]] || fail "'-' twice: exit 2"
[[ $(rc_of commit-staged - </dev/null) == 2 ]] || fail "empty stdin: exit 2"
printf 'a\n\nb\n' >"$T/descs"
[[ $(rc_of commit-staged - <"$T/descs") == 2 ]] || fail "an empty stdin line: exit 2"
[[ $(rc_of commit-staged '') == 2 ]] || fail "an empty descriptor: exit 2"
printf 'no tab\n' >"$T/badstage"
[[ $(rc_of stage "$T/badstage") == 2 ]] || fail "stage of a malformed line: exit 2"
[[ $(rc_of stage "$T/nope") == 3 ]] || fail "stage of a missing file: exit 3"
[[ $(rc_of stage a b) == 2 ]] || fail "stage a b: exit 2"
[[ $(writes_after "$head") == 0 ]] || fail "usage errors committed"

# ---- a --from older than the changefeed retention --------------------------
# compact, then GC with no changefeed retention: the early commits' files go,
# so a feed from seq 1 cannot be complete and must fail rather than end early
# (cirrus_changes_next must not report a gone file as CIRRUS_ENOTFOUND, which
# means "no change yet")
c compact >/dev/null
c gc --grace 0 --changefeed-retention 0 >/dev/null
[[ $(rc_of changes --from 1) == 3 ]] || fail "changes --from 1 after GC: exit 3"
grep -q "^cirrus: changes: " "$T/err" || fail "changes: the library's message"
# it fell behind the retention (not a damaged db): the message says so
grep -q "older than the changefeed retention" "$T/err" || fail "changes: not the retention error"

echo "ok"
