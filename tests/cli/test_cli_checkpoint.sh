#!/usr/bin/env bash
# test_cli_checkpoint.sh - the database identity and checkpoints, as a user
# meets them on the embedded default:
#  - a copy of a db directory opened with another metadata store, or
#    without its metadata, is refused at open (exit 3, naming both stores)
#    and nothing is written or deleted, gc included;
#  - a checkpoint reads exactly what `scan --at` read at its seq after
#    every key was overwritten and deleted, compacted and collected with
#    `gc --grace 0 --changefeed-retention 0`; get, mget and scan take it;
#  - list (text and --json), delete, an expired checkpoint dropped by gc,
#    and the errors: a taken name, a missing one, a bad name or duration.
source "${BASH_SOURCE%/*}/lib.sh"

for k in a b c d; do c put "$k" "v1-$k" >/dev/null; done
S=$(c head)
c scan --at "$S" >"$T/at-S"

# ---- identity -------------------------------------------------------------
cp -a "$CIRRUS_DB" "$T/copy"
n_before=$(ls "$T/copy/sst" | wc -l)
[[ $(rc_of --db "$T/copy" --meta "sqlite:$T/other.sqlite3" put x 1) == 3 ]] ||
    fail "a copy opened with another metadata store was not refused"
grep -q "not one database" "$T/err" || fail "the refusal does not say why"
grep -q "$T/copy" "$T/err" && grep -q "other.sqlite3" "$T/err" || fail "the refusal does not name both stores"
[[ $(rc_of --db "$T/copy" --meta "sqlite:$T/other.sqlite3" gc --grace 0) == 3 ]] ||
    fail "gc ran on a mismatched pair"
[[ $(ls "$T/copy/sst" | wc -l) == "$n_before" ]] || fail "the refused opens deleted objects"
[[ $(c --db "$T/copy" get a) == v1-a ]] || fail "the copy with its own metadata does not read"
# a prefix copied without its metadata (aws s3 sync of the objects alone)
rm "$T/copy/meta.sqlite3"*
[[ $(rc_of --db "$T/copy" head) == 3 ]] || fail "objects without metadata opened as an empty db"
grep -q "does not know" "$T/err" || fail "no reason given for objects without metadata"
[[ $(ls "$T/copy/sst" | wc -l) == "$n_before" ]] || fail "opening the orphaned copy deleted objects"

# ---- checkpoints ----------------------------------------------------------
[[ $(c checkpoint create before) == "$S" ]] || fail "checkpoint create does not print its seq"
for k in a b c d; do c put "$k" "v2-$k" >/dev/null; done
for k in a b c d; do c del "$k" >/dev/null; done
c compact >/dev/null
c gc --grace 0 --changefeed-retention 0 >/dev/null
[[ -z $(c scan) ]] || fail "the db should be empty at the head"
c scan --checkpoint before >"$T/cp"
cmp -s "$T/at-S" "$T/cp" || fail "scan --checkpoint differs from scan --at $S before the changes"
[[ $(c get --checkpoint before b) == v1-b ]] || fail "get --checkpoint"
[[ $(c mget --checkpoint before a zz) == $'a\tv1-a\nzz' ]] || fail "mget --checkpoint"
# at an older seq, inside the retention window
c checkpoint create early --at 1 >/dev/null
[[ $(c scan --checkpoint early) == $'a\tv1-a' ]] || fail "a checkpoint at seq 1 reads wrong"

c verify --checkpoint before >"$T/out" || fail "verify --checkpoint"
grep -q '0 problem' "$T/out" || fail "verify --checkpoint: $(cat "$T/out")"
line=$(c checkpoint list | grep '^before')
IFS=$'\t' read -r name seq time expires <<<"$line"
[[ $name == before && $seq == "$S" && $expires == - && $time == 20*Z ]] ||
    fail "list line: $line"
c checkpoint list --json | grep -q '"name": "before"' || fail "list --json"

[[ $(rc_of checkpoint create before) == 3 ]] || fail "a taken name was accepted"
grep -q "exists already" "$T/err" || fail "no reason for the taken name"
[[ $(rc_of checkpoint create 'bad/name') == 3 ]] || fail "a bad name was accepted"
[[ $(rc_of checkpoint create x --expire 10x) == 2 ]] || fail "a bad duration was accepted"
[[ $(rc_of checkpoint create x --at 999999) == 3 ]] || fail "a seq beyond the head was accepted"
[[ $(rc_of checkpoint delete nosuch) == 1 ]] || fail "deleting a missing checkpoint"
[[ $(rc_of scan --checkpoint nosuch) == 3 ]] || fail "reading a missing checkpoint"
grep -q "nosuch" "$T/err" || fail "the missing checkpoint is not named"

c checkpoint create short --expire 1s >/dev/null
sleep 1.2
[[ $(rc_of get --checkpoint short a) == 3 ]] || fail "an expired checkpoint was read"
c gc >/dev/null
c checkpoint list | grep -q '^short' && fail "gc did not drop the expired checkpoint"

c checkpoint delete before
c checkpoint delete early
c gc --grace 0 --changefeed-retention 0 >"$T/gc"
# delete removed their manifests; a young unnamed one waits for 10 minutes
[[ -z $(ls "$CIRRUS_DB/pin") ]] || fail "pin manifests left after the checkpoints were deleted"
[[ -z $(c checkpoint list) ]] || fail "checkpoints left"
echo ok
