#!/usr/bin/env bash
# test_cli_staged.sh - a large staged commit (issue 6): four processes each
# stage a quarter of CIRRUS_TEST_STAGE_MIB MiB (default 96; the acceptance
# figures are 1024 on the embedded default and 100 through the local cloud
# servers, see test_cloud_streaming.sh), one process commits the four
# descriptors, and a reader polling all the while sees either none of it or
# all of it, never part. Afterwards every byte reads back, all of it at the
# commit's seq and none at the seq before.
source "${BASH_SOURCE%/*}/lib.sh"
no_leak_check
MIB=${CIRRUS_TEST_STAGE_MIB:-96}
P=4

# in.W: about MIB/P MiB of KEY<TAB>VALUE lines, values of 1000 random base64
# characters (compressible to ~75%, like real payloads), keys big/W/NNNNNNN
per=$((MIB * 1024 * 1024 / P))
markers=()
for w in $(seq 1 $P); do
    head -c $((per * 3 / 4)) /dev/urandom | base64 -w 1000 |
        awk -v w="$w" '{ printf "big/%d/%07d\t%s\n", w, NR, $0 }' >"$T/in.$w"
    markers+=("big/$w/0000001" "$(tail -n1 "$T/in.$w" | cut -f1)")
done
lines=$(cat "$T"/in.* | wc -l)

c put before-staging 1 >/dev/null
# the reader: one mget of the first and last key of every stager per poll (a
# single snapshot each time); counts polls that saw none, all, or a part
: >"$T/polls"
reader() {
    local n
    while [[ ! -e $T/stop ]]; do
        c mget "${markers[@]}" >"$T/poll" 2>"$T/poll.err" || {
            echo "error $(cat "$T/poll.err")" >>"$T/polls"
            continue
        }
        n=$(grep -c $'\t' "$T/poll" || true)
        if ((n == 0)); then
            echo none >>"$T/polls"
        elif ((n == ${#markers[@]})); then
            echo all >>"$T/polls"
        else
            echo "part $n" >>"$T/polls"
        fi
    done
}
reader &
rpid=$!

start=$SECONDS
for w in $(seq 1 $P); do
    c stage "$T/in.$w" >"$T/desc.$w" 2>"$T/err.$w" &
done
wait $(jobs -p | grep -vx "$rpid") || fail "a stager failed: $(cat "$T"/err.*)"
stage_s=$((SECONDS - start))
for w in $(seq 1 $P); do
    [[ $(wc -l <"$T/desc.$w") == 1 ]] || fail "stage $w: one descriptor line: $(cat "$T/err.$w")"
done
[[ $(rc_of get "${markers[0]}") == 1 ]] || fail "staged data visible before the commit"
# the reader has polled at least once before the commit
while [[ ! -s $T/polls ]]; do sleep 0.1; done

start=$SECONDS
seq=$(c commit-staged $(cat "$T"/desc.*)) || fail "commit-staged"
commit_s=$((SECONDS - start))
# let the reader see the commit, then stop it
for _ in $(seq 1 600); do
    grep -qx all "$T/polls" && break
    sleep 0.1
done
touch "$T/stop"
wait "$rpid"
! grep -q '^part' "$T/polls" || fail "a reader saw part of the staged commit: $(sort "$T/polls" | uniq -c)"
! grep -q '^error' "$T/polls" || fail "a reader failed: $(grep -m1 '^error' "$T/polls")"
grep -qx none "$T/polls" || fail "the reader never saw the db before the commit"
grep -qx all "$T/polls" || fail "the reader never saw the commit"

# every line back, all at seq, none before it, in one write entry
c scan --prefix big/ --at "$seq" >"$T/scan"
cat "$T"/in.* | cmp -s - "$T/scan" || fail "scan at $seq != the staged lines ($(wc -l <"$T/scan") of $lines)"
[[ -z $(c scan --prefix big/ --at $((seq - 1)) --limit 1) ]] || fail "visible before seq $seq"
[[ $(c log --from "$seq" | head -n1 | cut -f1,3) == "$seq"$'\twrite' ]] || fail "one write entry at $seq"
[[ $(c get before-staging) == 1 ]] || fail "earlier data"
echo "ok ($MIB MiB, $lines lines from $P stagers: stage ${stage_s} s, commit ${commit_s} s;" \
    "reader polls: $(sort "$T/polls" | uniq -c | awk '{ printf "%s %s ", $1, $2 }'))"
