/*
 * fault.h - the fault-injecting object store: wraps any store and adds
 * latency, errors and timeouts per operation type (util/fault.h), and counts
 * requests and bytes by type. For tests (fault loops, CLI-level failure
 * tests) and benchmarks (a simulated cloud with a cost report).
 *
 * Two ways in besides fault_objstore_wrap():
 *  - URL "fault:INNER?SPEC", e.g. "fault:/tmp/db?error=0.01" or
 *    "fault:s3://bucket/x?latency=20:120"; objstore_open() accepts it.
 *  - env CIRRUS_FAULT_OBJSTORE=SPEC (or CIRRUS_FAULT=SPEC, which also wraps
 *    metadata stores): every store objstore_open() opens is wrapped, e.g.
 *    CIRRUS_FAULT_OBJSTORE=fail_next=1000000,fail_rc=auth makes every request
 *    fail as a rejected credential would.
 * A timed-out write may have been applied (spec key "applied"), as with a
 * real service. The wrapper is as thread-safe as the store it wraps.
 *
 * Calls: objstore, util.
 */
#ifndef CIRRUS_OBJSTORE_FAULT_H
#define CIRRUS_OBJSTORE_FAULT_H

#include "util/fault.h"

struct objstore;

/* Wraps inner, which is taken (closed with the wrapper, and on failure).
 * cfg is copied. Returns 0 or CIRRUS_ENOMEM. */
int fault_objstore_wrap(struct objstore **out, struct objstore *inner,
                        const struct fault_config *cfg);

/* Counters so far. CIRRUS_EINVALID if os is not a fault store. */
int fault_objstore_stats(struct objstore *os, struct fault_stats *out);

/* Replaces the injection config (counters continue). CIRRUS_EINVALID if os
 * is not a fault store. */
int fault_objstore_configure(struct objstore *os, const struct fault_config *cfg);

/* objstore_open()'s helpers. open_url opens "fault:INNER?SPEC"; wrap_env
 * wraps *os as the environment asks (nothing if it does not, or while a
 * fault: URL opens its inner store); on failure it closes *os. */
int fault_objstore_open_url(struct objstore **out, const char *url, int create);
int fault_objstore_wrap_env(struct objstore **os);

#endif
