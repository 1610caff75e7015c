/*
 * fault_spec.h - the "fault:INNER?SPEC" URLs that name a fault-injecting
 * store wrapper: the one way a test opts into fault injection (the library
 * reads no switch for it from the environment). Shared by objstore/fault.c
 * and metastore/fault.c, so that both read URLs the same way and report the
 * same errors, and by db.c, which resolves the location INNER names. The
 * SPEC syntax is in util/fault.h.
 *
 * Calls: util only.
 */
#ifndef CIRRUS_UTIL_FAULT_SPEC_H
#define CIRRUS_UTIL_FAULT_SPEC_H

#include "util/fault.h"

/* The scheme of a fault-injecting wrapper's URL. */
#define FAULT_SPEC_SCHEME "fault:"

/*
 * Splits "fault:INNER?SPEC" (the "fault:" prefix is optional) into INNER
 * and SPEC: the last '?' starts SPEC; without one SPEC is "". Both are
 * malloc'd (caller frees). Returns 0 or CIRRUS_ENOMEM; on error both are
 * NULL.
 */
int fault_spec_split_url(const char *url, char **inner_out, char **spec_out);

/*
 * Splits url as fault_spec_split_url() does: *inner_out is INNER (malloc'd,
 * caller frees), *cfg the default config with SPEC applied (nothing is
 * injected when SPEC is empty). Returns 0, CIRRUS_ENOMEM, or
 * CIRRUS_EINVALID naming the bad spec item; on error *inner_out is NULL.
 */
int fault_spec_parse_url(const char *url, char **inner_out, struct fault_config *cfg);

/* "fault:" followed by inner_url (NULL reads as ""), then "?" and spec
 * unless spec is NULL or "": the inverse of fault_spec_split_url(), and
 * (spec NULL) the URL a wrapper names itself by in messages. malloc'd,
 * caller frees; NULL when out of memory. */
char *fault_spec_wrapped_url(const char *inner_url, const char *spec);

#endif
