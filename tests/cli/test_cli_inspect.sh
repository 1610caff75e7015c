#!/usr/bin/env bash
# test_cli_inspect.sh - `files`, `inspect sst|entry|manifest|meta` and the
# --json of `log`, `lease show` and `epoch` on a real db: several commits
# (64 of them, so that a manifest is written), a delete, a range delete, a
# counter add, a compaction (files at L1) and commits after it (files at
# L0), a checkpoint and a lease.
#  - each file's key range (files --json) is exactly the range of the keys
#    its `inspect sst --entries --json` lists, and the union of the entries
#    (newest per key, deletes and the range delete applied) is what `scan`
#    prints;
#  - files --at SEQ and --checkpoint show the version of then;
#  - inspect entry names the file a write added (as in log) and the files a
#    compaction added and removed; inspect manifest lists what files --at
#    its seq lists; inspect meta shows head, identity, checkpoint, lease;
#  - a flipped byte in a data block, or a missing SST: exit 3 naming it;
#  - a clone's shared file (parent/<id>/sst/...) inspects like any;
#  - every JSON output parses and has the documented fields.
source "${BASH_SOURCE%/*}/lib.sh"
no_leak_check
command -v python3 >/dev/null || fail "python3 is needed (scripts/install-deps test)"

# json_check FILE FIELD...: every line of FILE is a JSON object with FIELDs
json_check() {
    python3 - "$@" <<'PY' || fail "JSON check of $1"
import json, sys
lines = open(sys.argv[1]).read().splitlines()
assert lines, "no output"
for l in lines:
    o = json.loads(l)
    for f in sys.argv[2:]:
        assert f in o, "field %s missing in %s" % (f, l)
PY
}

# 64 commits or more: seq 64 writes manifest/64 (manifest_interval)
for ((i = 1; i <= 60; i++)); do
    printf 'm/%02d\tv%d\n' $i $i | c load >/dev/null
done
printf 'a\t1\nb\t2\nc\t3\nd\t4\ne\t5\n' | c load >/dev/null
c del b >/dev/null
range_seq=$(c del-range c e)                             # deletes c, d
c incr n 5 >/dev/null
# (the loads' background compaction commits too: the head is past 64)
c compact >/dev/null
old_seq=$(c head)
c files --json >"$T/then.json" # read-only: nothing commits meanwhile
printf 'f\t6\nbin\x01\t\xff\xfe\n' | c load >/dev/null
write_seq=$(printf 'g\t7\n' | c load)
c checkpoint create cp1 >/dev/null
printf 'h\t8\n' | c load >/dev/null
c lease acquire L1 --owner me-1 --ttl 600 >/dev/null

# files: both levels, one JSON object per line
c files --json >"$T/files.json"
json_check "$T/files.json" level name size min_seq max_seq entries deletes global_seq
c files >"$T/files.txt"
cut -f1 "$T/files.txt" | grep -qx 0 || fail "no L0 file: $(cat "$T/files.txt")"
cut -f1 "$T/files.txt" | grep -qx 1 || fail "no L1 file: $(cat "$T/files.txt")"
[[ $(wc -l <"$T/files.txt") == $(wc -l <"$T/files.json") ]] || fail "files text and json differ"

# every file's entries
for name in $(cut -f2 "$T/files.txt"); do
    c inspect sst "$name" --entries --json >>"$T/entries.json"
done
c inspect sst "$(head -1 "$T/files.txt" | cut -f2)" --blocks --json >"$T/blocks.json"
json_check "$T/blocks.json" type
c scan >"$T/scan.txt"
python3 - "$T/files.json" "$T/entries.json" "$T/scan.txt" "$range_seq" <<'PY' || fail "entries vs files vs scan"
import base64, json, sys
def b(o, f):
    return o[f].encode() if f in o else base64.b64decode(o[f + "_b64"])
files = [json.loads(l) for l in open(sys.argv[1])]
by_name = {f["name"]: f for f in files}
cur, entries = None, {}
for l in open(sys.argv[2]):
    o = json.loads(l)
    if o["type"] == "sst":
        cur = o["name"]
        assert o["footer"]["index"]["size"] > 0 and "properties" in o
        entries[cur] = []
    elif o["type"] == "entry":
        entries[cur].append(o)
assert set(entries) == set(by_name), (set(entries), set(by_name))
newest = {}
for name, es in entries.items():
    f = by_name[name]
    keys = [b(e, "key") for e in es]
    assert len(es) == f["entries"], (name, len(es), f["entries"])
    assert min(keys) == b(f, "smallest") and max(keys) == b(f, "largest"), name
    for e in es:
        assert f["min_seq"] <= e["seq"] <= f["max_seq"], (name, e)
        k = b(e, "key")
        if k not in newest or e["seq"] > newest[k]["seq"]:
            newest[k] = e
rseq = int(sys.argv[4])
live = {}
for k, e in newest.items():
    if e["kind"] == "delete" or (b"c" <= k < b"e" and e["seq"] < rseq):
        continue
    live[k] = b(e, "value") if e["kind"] == "put" else None  # merges: the counter
scan = {}
for l in open(sys.argv[3], "rb").read().splitlines():
    k, v = l.split(b"\t", 1)
    scan[k.replace(b"\\x01", b"\x01")] = v
assert set(scan) == set(live), (sorted(scan), sorted(live))
for k, v in live.items():
    if v is not None and not k.startswith(b"bin"):
        assert scan[k] == v, (k, scan[k], v)
assert b"n" in live and b"b" not in live and b"c" not in live and b"d" not in live
PY

# files --at an old seq and --checkpoint: the version of then
c files --at "$old_seq" --json >"$T/old.json"
json_check "$T/old.json" name
cp_seq=$(c checkpoint list | awk -F'\t' '$1 == "cp1" {print $2}')
c files --checkpoint cp1 --json >"$T/cp.json"
cmp -s "$T/old.json" "$T/then.json" || fail "files --at $old_seq is not what files said then"
c files --at "$cp_seq" --json >"$T/at_cp.json"
cmp -s "$T/cp.json" "$T/at_cp.json" || fail "files --checkpoint is not files --at its seq"
python3 - "$T/old.json" "$T/cp.json" "$old_seq" "$cp_seq" <<'PY' || fail "files --at / --checkpoint"
import json, sys
old, cp = ([json.loads(l) for l in open(p)] for p in sys.argv[1:3])
old_seq, cp_seq = int(sys.argv[3]), int(sys.argv[4])
assert old and all(f["max_seq"] <= old_seq for f in old), old
assert cp and all(f["max_seq"] <= cp_seq for f in cp), cp
PY

# inspect entry: the file a write added (as log says), a compaction's files
c inspect entry "$write_seq" --json >"$T/entry.json"
json_check "$T/entry.json" seq kind commit_id time_ms writer added removed range_deletes app_id epoch horizon
c log --from "$write_seq" --json | head -1 >"$T/log1.json"
json_check "$T/log1.json" seq time time_ms kind files_added files_removed bytes commit_id
compact_seq=$(c log --json | python3 -c '
import json, sys
print([o for o in map(json.loads, sys.stdin) if o["kind"] == "compact"][0]["seq"])')
c inspect entry "$compact_seq" --json >"$T/compact.json"
python3 - "$T/entry.json" "$T/log1.json" "$T/compact.json" "$T/files.json" <<'PY' || fail "inspect entry"
import json, sys
e, log, comp = (json.loads(open(p).read()) for p in sys.argv[1:4])
files = [json.loads(l) for l in open(sys.argv[4])]
assert e["kind"] == "write" and e["seq"] == log["seq"] and e["commit_id"] == log["commit_id"]
assert len(e["added"]) == log["files_added"] == 1
assert e["added"][0]["name"] in {f["name"] for f in files}, e["added"]
assert e["added"][0]["global_seq"] == e["seq"]
assert comp["kind"] == "compact" and comp["added"] and comp["removed"], comp
PY
c inspect entry "$write_seq" >"$T/entry.txt"
grep -q '^kind: write$' "$T/entry.txt" || fail "inspect entry text: $(cat "$T/entry.txt")"

# inspect manifest: the same files as files --at its seq
c inspect manifest --json >"$T/manifest.json"
json_check "$T/manifest.json" name seq time_ms min_readable_seq files range_deletes app_epochs
m_seq=$(python3 -c 'import json,sys; print(json.load(sys.stdin)["seq"])' <"$T/manifest.json")
((m_seq > 0 && m_seq % 64 == 0)) || fail "manifest seq $m_seq"
c files --at "$m_seq" --json >"$T/at_m.json"
python3 - "$T/manifest.json" "$T/at_m.json" <<'PY' || fail "manifest vs files --at"
import json, sys
m = json.load(open(sys.argv[1]))
at = [json.loads(l) for l in open(sys.argv[2])]
assert [f["name"] for f in m["files"]] == [f["name"] for f in at], (m["files"], at)
PY
c inspect manifest "$m_seq" >/dev/null || fail "inspect manifest $m_seq"

# inspect meta: head, identity, checkpoint, lease with owner and token
c inspect meta --json >"$T/meta.json"
head_seq=$(c head)
python3 - "$T/meta.json" "$head_seq" <<'PY' || fail "inspect meta"
import json, sys
m = json.load(open(sys.argv[1]))
items = {i["sk"]: i for i in m["items"]}
assert items["head"]["value"]["seq"] == int(sys.argv[2]) == m["head_seq"], items["head"]
assert len(items["identity"]["value"]["id"]) == 32
assert items["pin/checkpoint/cp1"]["value"]["seq"] > 0
l = items["lease/L1"]["value"]
assert l["owner"] == "me-1" and l["token"] >= 1, l
assert m["log"]["head_seq"] == m["head_seq"]
PY
c inspect meta | grep -q '^items.*sk: lease/L1$' || fail "inspect meta text"

# lease show --json, epoch --json
c lease show L1 --json >"$T/lease.json"
json_check "$T/lease.json" name owner token expires expires_ms state
grep -q '"owner":"me-1"' "$T/lease.json" || fail "lease json: $(cat "$T/lease.json")"
printf 'x\t1\n' | c load --app sink --epoch 7 >/dev/null
c epoch sink --json >"$T/epoch.json"
json_check "$T/epoch.json" app_id epoch seq
grep -q '"epoch":7' "$T/epoch.json" || fail "epoch json: $(cat "$T/epoch.json")"
[[ $(rc_of lease acquire L1 --owner x --ttl 5 --json) == 2 ]] || fail "--json outside lease show"

# damage: a flipped byte in a data block; a missing SST
name=$(awk -F'\t' '$1 == 1 {print $2; exit}' "$T/files.txt")
cp "$CIRRUS_DB/$name" "$T/saved.sst"
printf '\xff' | dd of="$CIRRUS_DB/$name" bs=1 seek=3 conv=notrunc 2>/dev/null
[[ $(rc_of inspect sst "$name" --entries) == 3 ]] || fail "corrupt SST: exit $(rc_of inspect sst "$name")"
grep -q "data block at offset 0: checksum mismatch" "$T/err" || fail "corrupt SST message"
[[ $(wc -l <"$T/err") == 1 ]] || fail "more than one line on stderr"
cp "$T/saved.sst" "$CIRRUS_DB/$name"
[[ $(rc_of inspect sst sst/absent.sst) == 3 ]] || fail "missing SST: not exit 3"
grep -q "sst/absent.sst: the object is missing" "$T/err" || fail "missing SST message"
[[ $(rc_of inspect manifest 5) == 3 ]] || fail "missing manifest: not exit 3"
grep -q "manifest/0*5: the object is missing" "$T/err" || fail "missing manifest message"

# reads only: nothing committed
[[ $(c head) == "$(c head)" && $(c head) == $((head_seq + 1)) ]] || fail "inspect committed"

# a clone's shared files: inspect sst takes the names files prints
CIRRUS_DB=$T/clone c clone "$CIRRUS_DB" >/dev/null
shared=$(CIRRUS_DB=$T/clone c files | awk -F'\t' '$2 ~ /^parent\// {print $2; exit}')
[[ -n $shared ]] || fail "the clone lists no shared file"
CIRRUS_DB=$T/clone c inspect sst "$shared" --entries --json >"$T/shared.json"
json_check "$T/shared.json" type
grep -q '"type":"entry"' "$T/shared.json" || fail "no entries in shared $shared"
CIRRUS_DB=$T/clone c inspect meta --json | grep -q '"sk":"parent/' || fail "meta: no parent item"
echo ok
