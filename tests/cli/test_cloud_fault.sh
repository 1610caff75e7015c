#!/usr/bin/env bash
# The conformance suites through the fault wrappers around the embedded
# backends (fs, sqlite): with injected latency and no errors, a wrapped
# store must keep every rule of its contract. Both through fault: URLs (the
# one way a test injects faults); test_fault covers the injection itself.
set -euo pipefail
bindir=$(dirname "${CIRRUS_BIN:?set by ctest}")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/cirrus-fault-XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "== objstore: fault:fs URL"
CIRRUS_TEST_OBJSTORE_URL="fault:$tmp/os?latency=0.2:2,seed=1" "$bindir/test_objstore"
echo "== metastore: fault:sqlite URL"
CIRRUS_TEST_METASTORE_URL="fault:sqlite:$tmp/m.db?latency=0.2:2,seed=2" "$bindir/test_metastore"
