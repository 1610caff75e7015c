#!/usr/bin/env bash
# test_cli_obs.sh - logs and metrics from the CLI: a background compaction
# that fails (an injected object store fault, at each call of the process
# in turn) is a warn line on stderr naming it, and the command still
# succeeds; --log-level and $CIRRUS_LOG set the level (a bad one exits 2);
# `stats --json` parses and has the documented fields; `stats --prometheus`
# passes `promtool check metrics`, its histograms are cumulative and each
# _count equals its +Inf bucket.
source "${BASH_SOURCE%/*}/lib.sh"
no_leak_check
D=$T/db
for i in 1 2 3; do c --db "$D" put k$i v >/dev/null; done

# the 4th put brings L0 to the trigger: its process compacts in the
# background; fail its object store calls one at a time
warned=0
for n in $(seq 2 14); do
    rm -rf "$T/f"
    cp -r "$D" "$T/f"
    set +e
    c --db "fault:$T/f?fail_at=$n" --meta "sqlite:$T/f/meta.sqlite3" put k4 v >/dev/null 2>"$T/err"
    rc=$?
    set -e
    if grep -q '^cirrus: warn: compaction: background compaction failed' "$T/err"; then
        [[ $rc == 0 ]] || fail "call $n: a background failure made put exit $rc"
        grep -q 'injected fault' "$T/err" || fail "call $n: the warning does not say why"
        warned=$((warned + 1))
    fi
done
((warned > 0)) || fail "no injected fault showed up as a background compaction warning"

# levels
c --log-level info --db "$D" put k5 v >/dev/null 2>"$T/err"
c --log-level=debug --db "$D" get k5 >/dev/null
CIRRUS_LOG=debug c --db "$D" get k5 >/dev/null
CIRRUS_LOG=error c --log-level debug --db "$D" get k5 >/dev/null
for bad in "--log-level loud" "--log-level="; do
    set +e
    c $bad --db "$D" get k5 >/dev/null 2>&1
    rc=$?
    set -e
    [[ $rc == 2 ]] || fail "'$bad' exited $rc, not 2"
done
set +e
CIRRUS_LOG=verbose c --db "$D" get k5 >/dev/null 2>&1
rc=$?
set -e
[[ $rc == 2 ]] || fail "CIRRUS_LOG=verbose exited $rc, not 2"

# the plain text keeps its lines and adds the new ones
c --db "$D" stats >"$T/stats"
for k in head_seq live_files l0_files memtable_bytes os_gets ms_writes write_stop_ms \
    block_cache_hit_permille bg_failures_compaction latency_get_count log_warnings; do
    grep -q "^$k: [0-9]*$" "$T/stats" || fail "stats has no '$k' line"
done

# --json
c --db "$D" stats --json >"$T/json"
python3 - "$T/json" <<'PY' || fail "stats --json is not the documented object"
import json, sys
d = json.load(open(sys.argv[1]))
for k in ("head_seq", "live_files", "live_bytes", "level_files", "level_bytes",
          "memtable_bytes", "compaction_backlog_bytes", "compactions", "os_gets",
          "os_puts", "ms_writes", "write_slowdowns", "write_stops",
          "follower_lag_seqs", "follower_lag_ms", "log_errors", "log_warnings",
          "bg_failures", "histograms", "block_cache_hits", "disk_cache_hits"):
    assert k in d, k
assert set(d["bg_failures"]) == {"compaction", "gc", "refresh", "commit", "lease"}
assert set(d["histograms"]) == {"commit", "get", "object_get", "object_put", "meta_write"}
for h in d["histograms"].values():
    assert len(h["buckets"]) == 32 and sum(h["buckets"]) == h["count"]
# the fields are read one after the other while the handle's refresh may
# run: equal up to a request or two in flight between the two reads
assert d["os_gets"] > 0 and abs(d["histograms"]["object_get"]["count"] - d["os_gets"]) <= 2
assert d["head_seq"] >= 5
PY

# --prometheus, from a process that did a get (its histogram is not empty)
c --db "$D" stats --prometheus >"$T/prom"
promtool check metrics <"$T/prom" || fail "promtool rejects stats --prometheus"
python3 - "$T/prom" <<'PY' || fail "stats --prometheus histograms are wrong"
import re, sys
buckets, counts = {}, {}
for line in open(sys.argv[1]):
    m = re.match(r'cirrus_latency_seconds_bucket\{op="(\w+)",le="([^"]+)"\} (\d+)$', line)
    if m:
        buckets.setdefault(m[1], []).append((m[2], int(m[3])))
    m = re.match(r'cirrus_latency_seconds_count\{op="(\w+)"\} (\d+)$', line)
    if m:
        counts[m[1]] = int(m[2])
assert set(buckets) == {"commit", "get", "object_get", "object_put", "meta_write"}
for op, b in buckets.items():
    vals = [v for _, v in b]
    assert vals == sorted(vals), op
    assert b[-1][0] == "+Inf" and b[-1][1] == counts[op], op
assert counts["object_get"] > 0
PY
grep -q '^# TYPE cirrus_background_failures_total counter$' "$T/prom" || fail "no failure counter"
grep -q '^cirrus_store_requests_total{store="object",op="get"} [1-9]' "$T/prom" ||
    fail "no object get count"
echo "ok ($warned injected faults logged)"
