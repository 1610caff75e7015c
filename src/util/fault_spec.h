/*
 * fault_spec.h - where a fault-injecting store wrapper finds what to inject:
 * a "fault:INNER?SPEC" URL, or the CIRRUS_FAULT* environment variables.
 * Shared by objstore/fault.c and metastore/fault.c, so that both read URLs
 * and the environment the same way and report the same errors. The SPEC
 * syntax is in util/fault.h.
 *
 * Calls: util only.
 */
#ifndef CIRRUS_UTIL_FAULT_SPEC_H
#define CIRRUS_UTIL_FAULT_SPEC_H

#include "util/fault.h"

/*
 * Splits "fault:INNER?SPEC" (the "fault:" prefix is optional): *inner_out is
 * INNER (malloc'd, caller frees), *cfg the default config with SPEC applied
 * (the last '?' starts SPEC; without one, nothing is injected).
 * Returns 0, CIRRUS_ENOMEM, or CIRRUS_EINVALID naming the bad spec item;
 * on error *inner_out is NULL.
 */
int fault_spec_parse_url(const char *url, char **inner_out, struct fault_config *cfg);

/*
 * The spec the environment sets for one kind of store: env variable `var`
 * (e.g. "CIRRUS_FAULT_OBJSTORE"), else CIRRUS_FAULT; an empty value counts
 * as unset. Returns 1 with *cfg the default config plus that spec, 0 when
 * neither variable is set, or CIRRUS_EINVALID (CIRRUS_ENOMEM) when the spec
 * does not parse.
 */
int fault_spec_from_env(const char *var, struct fault_config *cfg);

/* "fault:" followed by inner_url (NULL reads as ""): the URL of a wrapper.
 * malloc'd, caller frees; NULL when out of memory. */
char *fault_spec_wrapped_url(const char *inner_url);

#endif
