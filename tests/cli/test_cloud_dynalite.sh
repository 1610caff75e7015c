#!/usr/bin/env bash
# The metadata store conformance suite on the dynamodb backend against
# dynalite (scripts/with-cloud-servers); the table is created by the first
# open, as on AWS.
set -euo pipefail
src=${CIRRUS_SOURCE_DIR:?set by ctest}
bindir=$(dirname "${CIRRUS_BIN:?set by ctest}")
export CIRRUS_BINDIR="$bindir"

exec "$src/scripts/with-cloud-servers" bash -c '
set -euo pipefail
export CIRRUS_AWS_MAX_RETRY_MS=5000
echo "== dynamodb on dynalite"
CIRRUS_TEST_METASTORE_URL="dynamodb://$CIRRUS_TEST_TABLE" "$CIRRUS_BINDIR/test_metastore"
echo "== live error paths (unknown table, servers up)"
"$CIRRUS_BINDIR/test_aws_live"
'
