/*
 * hash.h - checksums and hashes (xxHash from libxxhash).
 *
 * checksum32() is the checksum of every persistent format: the low 32 bits of
 * XXH3_64bits over the covered bytes (docs/FORMAT.md). hash64() seeds bloom
 * filters and cache sharding.
 */
#ifndef CIRRUS_UTIL_HASH_H
#define CIRRUS_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

uint32_t checksum32(const void *data, size_t len);
uint64_t hash64(const void *data, size_t len);

#endif
