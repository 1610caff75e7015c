#!/usr/bin/env bash
# The object store conformance suite on the s3 backend against s3rver
# (scripts/with-cloud-servers), plus a multipart round trip.
#
# s3rver ignores If-None-Match (CIRRUS_TEST_OBJSTORE_NO_IF_NONE_MATCH=1) and
# writes objects in place, so racing puts of one name can interleave their
# bytes and a reader can see an object half written
# (CIRRUS_TEST_OBJSTORE_NOT_ATOMIC=1 skips those two tests). It has
# CopyObject but answers UploadPartCopy with 501 NotImplemented, so a copy
# in parts falls back to reading and putting
# (CIRRUS_TEST_OBJSTORE_NO_PART_COPY=1 expects that).
# test_cloud_radosgw.sh runs the whole suite strictly, multipart included.
set -euo pipefail
src=${CIRRUS_SOURCE_DIR:?set by ctest}
bindir=$(dirname "${CIRRUS_BIN:?set by ctest}")
export CIRRUS_BINDIR="$bindir"

exec "$src/scripts/with-cloud-servers" bash -c '
set -euo pipefail
export CIRRUS_AWS_MAX_RETRY_MS=5000 CIRRUS_TEST_OBJSTORE_NO_IF_NONE_MATCH=1
export CIRRUS_TEST_OBJSTORE_NOT_ATOMIC=1 CIRRUS_TEST_OBJSTORE_NO_PART_COPY=1
export CIRRUS_TEST_OBJSTORE_URL="s3://$CIRRUS_TEST_BUCKET/conformance"
echo "== s3 on s3rver"
"$CIRRUS_BINDIR/test_objstore"
echo "== live: parallel requests, unknown bucket"
"$CIRRUS_BINDIR/test_aws_live"
'
