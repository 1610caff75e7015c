#!/usr/bin/env bash
# test_cli_backup.sh - backups, restores, clones and verify on the embedded
# default, as a user runs them:
#  - backup to another directory, delete the source (objects and metadata),
#    restore: the full scan is identical and the restored db takes writes;
#    a second backup after a few keys changed copies only the new files;
#    deleting a backup keeps what the other needs;
#  - a backup and a restore killed part way: nothing listed as complete,
#    and running them again finishes them;
#  - verify passes on healthy dbs and backups, and names a deleted, a
#    truncated and (with --deep) a byte-flipped file, exit 3;
#  - a clone reads its source's state at the point, writes to either side
#    stay on that side, the source's compaction and GC (its checkpoint
#    gone) do not break it, it is a handful of objects, not a copy;
#    a clone at an older seq and at a time; detach, then drop of the
#    source leaves the clone whole; drop refuses while clones exist.
source "${BASH_SOURCE%/*}/lib.sh"
no_leak_check
N=${CIRRUS_TEST_BACKUP_KEYS:-3000}

# load N keys in a few commits, some overwritten and deleted
for part in 0 1 2; do
    for ((i = part; i < N; i += 3)); do printf 'k%06d\tvalue-%d-%s\n' $i $i $part; done >"$T/load"
    c load "$T/load" >/dev/null
done
c del k000000 >/dev/null
c put k000001 changed >/dev/null
c compact >/dev/null # a settled shape: the 1% change below adds one file
c scan >"$T/src.scan"

# ---- backup, restore ------------------------------------------------------
B=$T/backups
id1=$(c backup create --to "$B")
[[ $(c backup list --from "$B" | cut -f1) == "$id1" ]] || fail "backup list"
c verify --backup "$B" >"$T/out" || fail "verify of a healthy backup"
cp -a "$CIRRUS_DB" "$T/src-copy"
rm -rf "$CIRRUS_DB"
c --db "$T/restored" restore --from "$B" 2>"$T/err"
c --db "$T/restored" scan >"$T/restored.scan"
cmp -s "$T/src.scan" "$T/restored.scan" || fail "the restored db scans differently"
c --db "$T/restored" verify --deep >/dev/null || fail "verify --deep of the restored db"
c --db "$T/restored" put after-restore yes >/dev/null
[[ $(c --db "$T/restored" get after-restore) == yes ]] || fail "the restored db takes no writes"
[[ $(rc_of --db "$T/restored" restore --from "$B") == 3 ]] || fail "restore over a db"
grep -q "exists" "$T/err" || fail "no reason given for the refused restore"
mv "$T/src-copy" "$CIRRUS_DB"

# incremental: a few keys changed, the second backup copies only new files
for ((i = 0; i < N / 100; i++)); do printf 'k%06d\tnew\n' $i; done | c load >/dev/null
c backup create --to "$B" --json >"$T/b2.json"
id2=$(sed -n 's/.*"id": "\([^"]*\)".*/\1/p' "$T/b2.json")
copied=$(sed -n 's/.*"bytes_copied": \([0-9]*\).*/\1/p' "$T/b2.json")
total=$(sed -n 's/.*"bytes": \([0-9]*\).*/\1/p' "$T/b2.json")
[[ -n $id2 && $id2 != "$id1" ]] || fail "second backup id: $(cat "$T/b2.json")"
((copied * 4 < total)) || fail "the second backup copied $copied of $total bytes"
c backup delete --from "$B" "$id1" 2>/dev/null
[[ $(c backup list --from "$B" | cut -f1) == "$id2" ]] || fail "list after delete"
c verify --backup "$B" --deep >/dev/null || fail "the remaining backup lost files"
[[ $(rc_of backup delete --from "$B" "$id1") == 1 ]] || fail "deleting a deleted backup"
[[ $(rc_of backup create --to "$B" --threads 0) == 2 ]] || fail "--threads 0 accepted"
[[ $(rc_of backup create --to "$B" --at 1 --checkpoint x) == 2 ]] || fail "--at with --checkpoint accepted"
[[ $(rc_of backup create) == 2 ]] || fail "backup create without --to accepted"

# killed part way: never listed, and a rerun finishes
for ((i = 0; i < N; i++)); do printf 'k%06d\tgen2-%d\n' $i $i; done | c load >/dev/null
c compact >/dev/null
# (crash_at=N: the process exits 86 at the Nth call to the wrapped store)
K=$T/killed
mkdir -p "$K"
# a backup is listed only once its manifest is written, its last step but
# the marker's removal
for ((n = 1; ; n++)); do
    rc=$(rc_of backup create --to "fault:$K?crash_at=$n")
    [[ $rc == 0 ]] && break # what earlier runs copied is not copied again
    [[ $rc == 86 ]] || fail "backup crashing at call $n: exit $rc"
    if [[ -n $(c backup list --from "$K") ]]; then
        grep -q 'del backup/.*\.pending' "$T/err" || fail "a backup killed at call $n is listed"
        break
    fi
    ((n < 50)) || fail "backup never completed"
done
((n >= 4)) || fail "the backup made only $n calls"
[[ $(c backup list --from "$K" | wc -l) == 1 ]] || fail "the finished backup is not listed"
c backup delete --from "$K" "$(c backup list --from "$K" | cut -f1)" 2>/dev/null
c backup create --to "$K" >/dev/null 2>&1
[[ $(c backup list --from "$K" | wc -l) == 1 ]] || fail "the rerun backup is not listed"
c scan >"$T/src2.scan"
crashed=0
for n in 4 6 8 10 12; do
    rc=$(rc_of --db "fault:$T/r2?crash_at=$n" restore --from "$K")
    [[ $rc == 0 ]] && break
    [[ $rc == 86 ]] || fail "restore crashing at call $n: exit $rc"
    crashed=$((crashed + 1))
    # the identity is written last: once it is there the restore is whole
    [[ -e $T/r2/identity ]] && break
done
((crashed >= 2)) || fail "restore crashed only $crashed times"
[[ $rc == 0 || -e $T/r2/identity ]] || c --db "$T/r2" restore --from "$K" 2>/dev/null
c --db "$T/r2" scan >"$T/r2.scan"
cmp -s "$T/src2.scan" "$T/r2.scan" || fail "the rerun restore scans differently"

# ---- verify finds damage ----------------------------------------------------
c verify >"$T/out" || fail "verify of a healthy db: $(cat "$T/out")"
grep -q '0 problem' "$T/out" || fail "verify summary: $(cat "$T/out")"
cp -a "$T/r2" "$T/damaged"
files=($(ls "$T/damaged/sst"))
((${#files[@]} >= 3)) || fail "too few files to damage: ${#files[@]}"
rm "$T/damaged/sst/${files[0]}"
truncate -s 100 "$T/damaged/sst/${files[1]}"
[[ $(rc_of --db "$T/damaged" verify) == 3 ]] || fail "verify missed the damage"
grep -q "sst/${files[0]}.*missing" "$T/out" || fail "the deleted file is not named"
grep -q "sst/${files[1]}.*bytes" "$T/out" || fail "the truncated file is not named"
f=$T/damaged/sst/${files[2]}
printf '\xff' | dd of="$f" bs=1 seek=10 conv=notrunc 2>/dev/null
[[ $(rc_of --db "$T/damaged" verify) == 3 ]] || fail "verify failed for other reasons"
grep -q "${files[2]}" "$T/out" && fail "a flipped byte was seen without --deep?"
[[ $(rc_of --db "$T/damaged" verify --deep) == 3 ]] || fail "verify --deep missed the flipped byte"
grep -q "sst/${files[2]}.*checksum" "$T/out" || fail "the flipped byte is not named: $(cat "$T/out")"

# ---- clones -----------------------------------------------------------------
S=$CIRRUS_DB
c --db "$S" checkpoint create base >/dev/null
c --db "$S" scan >"$T/base.scan"
c --db "$T/clone" clone "$S" --checkpoint base >/dev/null 2>"$T/err"
n=$(find "$T/clone" -type f ! -name 'meta.sqlite3*' | wc -l)
((n <= 5)) || fail "the clone wrote $n objects"
c --db "$T/clone" scan >"$T/clone.scan"
cb=$(c --db "$T/clone" head)
cmp -s "$T/base.scan" "$T/clone.scan" || fail "the clone reads differently from its source"
c --db "$T/clone" put only-in-clone 1 >/dev/null
c --db "$S" put only-in-source 1 >/dev/null
[[ $(rc_of --db "$S" get only-in-clone) == 1 ]] || fail "a clone's write shows in its source"
[[ $(rc_of --db "$T/clone" get only-in-source) == 1 ]] || fail "a source's write shows in its clone"
# the source moves on: its checkpoint gone, everything rewritten and collected
c --db "$S" checkpoint delete base
for ((i = 0; i < N; i++)); do printf 'k%06d\tgen3\n' $i; done | c --db "$S" load >/dev/null
c --db "$S" compact >/dev/null
c --db "$S" gc --grace 0 --changefeed-retention 0 >/dev/null
c --db "$T/clone" scan | grep -v only-in-clone >"$T/clone.scan2"
cmp -s "$T/base.scan" "$T/clone.scan2" || fail "the clone broke after its source's compaction and GC"
c --db "$T/clone" verify --deep >/dev/null || fail "verify --deep of the clone"
# the clone's own compaction merges shared files into its own; its GC
# touches nothing of its source
n_src=$(ls "$S/sst" | wc -l)
for ((i = 0; i < 40; i++)); do printf 'k%06d\tclone-%d\n' $((i * 7)) $i; done | c --db "$T/clone" load >/dev/null
c --db "$T/clone" compact >/dev/null
c --db "$T/clone" gc --grace 0 --changefeed-retention 0 >/dev/null
[[ $(ls "$S/sst" | wc -l) == "$n_src" ]] || fail "the clone's GC touched its source"
[[ $(c --db "$T/clone" get k000007) == clone-1 ]] || fail "the clone's own write after compaction"
c --db "$T/clone" verify >/dev/null || fail "verify of the clone after its compaction"
[[ $(rc_of --db "$S" drop) == 3 ]] || fail "drop of a db with a clone"
grep -q "clone" "$T/err" || fail "no reason given for the refused drop"
# a clone of a clone, at an older seq (its first)
c --db "$T/clone2" clone "$T/clone" --at "$cb" >/dev/null
c --db "$T/clone2" scan >"$T/clone2.scan"
cmp -s "$T/base.scan" "$T/clone2.scan" || fail "a clone of a clone at seq $cb reads differently"
# point in time
t=$(date +%s%3N)
sleep 0.05
c --db "$S" put after-t 1 >/dev/null
c --db "$T/pitr" clone "$S" --at-time "$t" >/dev/null
[[ $(rc_of --db "$T/pitr" get after-t) == 1 ]] || fail "the point-in-time clone has a later write"
[[ $(c --db "$T/pitr" get k000005) == gen3 ]] || fail "the point-in-time clone misses an earlier write"
# detach, then the source may go
c --db "$T/clone" scan >"$T/pre-detach.scan"
c --db "$T/clone" detach 2>/dev/null
c --db "$T/clone2" detach 2>/dev/null
c --db "$T/pitr" detach 2>/dev/null
c --db "$S" drop
[[ ! -e $S/identity ]] || fail "drop left the identity"
c --db "$T/clone" scan >"$T/clone.scan3"
cmp -s "$T/pre-detach.scan" "$T/clone.scan3" || fail "the detached clone lost data with its source"
c --db "$T/clone" verify --deep >/dev/null || fail "verify of the detached clone"
[[ $(c --db "$T/pitr" get k000005) == gen3 ]] || fail "the detached point-in-time clone"
echo ok
