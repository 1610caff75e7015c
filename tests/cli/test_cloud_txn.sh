#!/usr/bin/env bash
# Issue 6's increment test on the cloud pair (s3rver + dynalite through
# scripts/with-cloud-servers) by the script that runs it on the embedded
# default: ten `cirrus txn` processes each committing 50 read-modify-write
# increments of one key, retrying on conflict; the final value is the number
# of commits (no lost update), every conflict refused without a trace.
set -euo pipefail
src=${CIRRUS_SOURCE_DIR:?set by ctest}
: "${CIRRUS_BIN:?set by ctest}"

exec "$src/scripts/with-cloud-servers" bash -c '
export CIRRUS_TEST_META="dynamodb://$CIRRUS_TEST_TABLE"
export CIRRUS_TEST_DB="s3://$CIRRUS_TEST_BUCKET/txn"
exec bash "$1/tests/cli/test_cli_txn.sh"
' bash "$src"
