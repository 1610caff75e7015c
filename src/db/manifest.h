/*
 * manifest.h - manifest snapshots: a version written whole to one object,
 * `manifest/<seq>`, so that opening a database replays only the log after
 * it. Encoding: docs/FORMAT.md, "Manifests" (versioned, checksummed).
 */
#ifndef CIRRUS_DB_MANIFEST_H
#define CIRRUS_DB_MANIFEST_H

#include <stddef.h>
#include <stdint.h>

#include "db/version.h"
#include "util/buf.h"

#define MANIFEST_FORMAT_VERSION 1

int manifest_encode(struct buf *b, const struct version *v);
/* Decodes a manifest into a new version; `what` names the object. Returns 0,
 * CIRRUS_ECORRUPT, CIRRUS_EVERSION, CIRRUS_ENOMEM. */
int manifest_decode(struct version **out, const uint8_t *data, size_t len, const char *what);

#endif
