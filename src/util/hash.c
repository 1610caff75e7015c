#include "util/hash.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

uint32_t checksum32(const void *data, size_t len)
{
    return (uint32_t)XXH3_64bits(data, len);
}

uint64_t hash64(const void *data, size_t len)
{
    return XXH3_64bits(data, len);
}
