#!/usr/bin/env bash
# test_cli_ops.sh - incr (counter merges), put --ttl (expiry) and del-range
# (one commit for a whole range): what a user sees through get, scan and
# reads at older seqs; bad arguments exit 2.
source "${BASH_SOURCE%/*}/lib.sh"


# counters: incr on nothing, on a put value, negative deltas, at old seqs
s1=$(c incr hits 5)
c incr hits 3 >/dev/null
[ "$(c get hits)" = 8 ] || fail "incr 5 + 3 should read 8, got $(c get hits)"
[ "$(c get hits --at "$s1")" = 5 ] || fail "hits at seq $s1 should be 5"
c put base 100 >/dev/null
c incr base -1 >/dev/null
[ "$(c get base)" = 99 ] || fail "100 - 1 should read 99"
[ "$(c scan --prefix base)" = "$(printf 'base\t99')" ] || fail "scan shows the sum"
[ "$(rc_of incr hits 1.5)" = 2 ] || fail "a non-integer delta is a usage error"
[ "$(rc_of incr hits +1)" = 2 ] || fail "a leading + is a usage error"
[ "$(rc_of incr hits)" = 2 ] || fail "incr without DELTA is a usage error"
c put word hello >/dev/null
c incr word 1 >/dev/null
[ "$(rc_of get word)" = 3 ] || fail "a counter add onto a non-number fails the read"
grep -q word "$T/err" || fail "the error names the key"
c del word >/dev/null # so that the scans below read only good counters

# expiry (a generous TTL: reading it back must not race a loaded machine;
# the expiry check waits out the rest of it below)
put_at=$(date +%s%N)
c put flash gone --ttl 4 >/dev/null
c put stays here >/dev/null
[ "$(c get flash)" = gone ] || fail "an expiring key reads before its expiry"
[ "$(rc_of put x y --ttl 0)" = 2 ] || fail "--ttl 0 is a usage error"
[ "$(rc_of put x y --ttl abc)" = 2 ] || fail "--ttl abc is a usage error"

# range deletes: one commit, old seqs still see the range
for i in 0 1 2 3 4 5 6 7 8 9; do c put "r$i" "v$i" >/dev/null; done
before=$(c head)
files_before=$(c stats | sed -n 's/^live_files: //p')
s=$(c del-range r2 r7)
[ "$s" -eq $((before + 1)) ] || fail "del-range is one commit (seq $s after $before)"
[ "$(c scan --prefix r | cut -f1 | tr '\n' ' ')" = "r0 r1 r7 r8 r9 " ] ||
    fail "del-range [r2, r7) leaves r0 r1 r7 r8 r9, got $(c scan --prefix r | cut -f1 | tr '\n' ' ')"
[ "$(c get r4 --at "$before")" = v4 ] || fail "reads before the delete still see r4"
[ "$(rc_of get r4)" = 1 ] || fail "r4 is deleted"
files_after=$(c stats | sed -n 's/^live_files: //p')
[ "$files_after" -le "$files_before" ] || fail "a range delete writes no data file"
c put r5 back >/dev/null
[ "$(c get r5)" = back ] || fail "a key written after the delete is visible"
[ "$(rc_of del-range r7 r2)" = 2 ] || fail "an empty range is a usage error"
[ "$(rc_of del-range r2)" = 2 ] || fail "del-range needs FROM and TO"

# the expiring key is gone once its TTL has passed
left_ms=$(( 4300 - ($(date +%s%N) - put_at) / 1000000 ))
[ "$left_ms" -gt 0 ] && sleep "$(printf '%d.%03d' $((left_ms / 1000)) $((left_ms % 1000)))"
[ "$(rc_of get flash)" = 1 ] || fail "an expired key reads as not found"
c scan >"$T/scan" || fail "scan failed"
grep -q '^flash' "$T/scan" && fail "an expired key is not scanned"
grep -q '^stays' "$T/scan" || fail "the scan shows the other keys"

# the changefeed reports the range delete
c changes --from "$s" >"$T/changes"
head -n 1 "$T/changes" | grep -q "^$s	del-range	r2	r7$" ||
    fail "changes shows the range delete: $(head -n 1 "$T/changes")"
echo "ok"
