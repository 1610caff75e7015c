/*
 * fault.h - the fault-injecting object store: wraps any store and adds
 * latency, errors and timeouts per operation type (util/fault.h), and counts
 * what it injected (fault_objstore_stats(); the requests themselves every
 * store counts, objstore_stats()). For tests (fault loops, CLI-level failure
 * tests) and benchmarks (a simulated cloud with a cost report).
 *
 * Test machinery, opted into explicitly; the library never reads a switch
 * for it from the environment. Two ways in:
 *  - fault_objstore_wrap() around a store the caller opened;
 *  - the URL "fault:INNER?SPEC", which objstore_open() (and so cirrus_open()
 *    and the CLI's --db) accepts, e.g. "fault:/tmp/db?error=0.01",
 *    "fault:s3://bucket/x?latency=20:120", or
 *    "fault:s3://bucket/x?fail_next=1000000,fail_rc=auth" to make every
 *    request fail as a rejected credential would. The last '?' starts SPEC;
 *    without one nothing is injected. A database opened through a fault:
 *    URL is the database INNER names (db.c, resolve_url).
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

/* objstore_open()'s helper: opens "fault:INNER?SPEC" (create as for
 * objstore_open()). Returns what objstore_open() of INNER returns, or
 * CIRRUS_EINVALID naming a bad SPEC item. */
int fault_objstore_open_url(struct objstore **out, const char *url, int create);

#endif
