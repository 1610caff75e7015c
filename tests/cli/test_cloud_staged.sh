#!/usr/bin/env bash
# Issue 6's staged commit on the cloud pair (s3rver + dynalite through
# scripts/with-cloud-servers) by the script that runs it on the embedded
# default: 100 MiB staged by four processes, committed as one entry, seen
# all at once by a reader polling throughout.
set -euo pipefail
src=${CIRRUS_SOURCE_DIR:?set by ctest}
: "${CIRRUS_BIN:?set by ctest}"

exec "$src/scripts/with-cloud-servers" bash -c '
export CIRRUS_TEST_META="dynamodb://$CIRRUS_TEST_TABLE"
export CIRRUS_TEST_DB="s3://$CIRRUS_TEST_BUCKET/staged"
export CIRRUS_TEST_STAGE_MIB=${CIRRUS_TEST_STAGE_MIB:-100}
exec bash "$1/tests/cli/test_cli_staged.sh"
' bash "$src"
