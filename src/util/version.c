/*
 * version.c - cirrus_version(): the numbers of include/cirrus.h as the
 * library was built with them.
 */
#include "cirrus.h"

#define CIRRUS_STR2(x) #x
#define CIRRUS_STR(x) CIRRUS_STR2(x)

const char *cirrus_version(void)
{
    return CIRRUS_STR(CIRRUS_VERSION_MAJOR) "." CIRRUS_STR(CIRRUS_VERSION_MINOR) "." CIRRUS_STR(
        CIRRUS_VERSION_PATCH);
}
