#!/usr/bin/env bash
# test_cli_write_faults.sh - a write command's exit code tells the truth
# under a fault at any one store call: exit 0 means committed exactly once,
# exit 3 means nothing was committed. (A failed commit stays buffered in the
# library; the close used to commit it after the command had exited 3, so a
# retried `incr` counted twice.) Each mode of the fault stores: the call
# fails, times out, or is applied and reported failed. Both stores are
# opened through fault: URLs with one spec, so their calls are numbered
# together (util/fault.h) and call N is whichever store's Nth call it is.
source "${BASH_SOURCE%/*}/lib.sh"
no_leak_check
n_ok=0 n_err=0
for mode in error timeout applied; do
    for n in $(seq 1 16); do
        D=$T/$mode-$n
        spec=fail_at=$n,fail_mode=$mode
        set +e
        "$CIRRUS_BIN" --db "fault:$D?$spec" --meta "fault:sqlite:$D/meta.sqlite3?$spec" \
            incr ctr 5 >"$T/out" 2>"$T/err"
        rc=$?
        set -e
        writes=$("$CIRRUS_BIN" --db "$D" log | grep -c $'\twrite\t' || true)
        got=$("$CIRRUS_BIN" --db "$D" get ctr 2>/dev/null || echo absent)
        case $rc in
        0) [[ $writes == 1 && $got == 5 && $(cat "$T/out") == 1 ]] ||
            fail "$mode at call $n: exit 0 but $writes writes, ctr $got"
           n_ok=$((n_ok + 1)) ;;
        3) [[ $writes == 0 && $got == absent ]] ||
            fail "$mode at call $n: exit 3 but $writes writes committed, ctr $got"
           [[ $(wc -l <"$T/err") == 1 ]] || fail "$mode at call $n: not one stderr line"
           n_err=$((n_err + 1)) ;;
        *) fail "$mode at call $n: exit $rc" ;;
        esac
    done
done
((n_ok > 0 && n_err > 0)) || fail "the sweep hit only one outcome ($n_ok ok, $n_err errors)"
echo "ok ($n_ok committed, $n_err refused)"
