/*
 * fault.h - the fault-injecting metadata store: wraps any store and adds
 * latency, errors and timeouts per operation type (util/fault.h), and counts
 * what it injected (fault_metastore_stats(); the requests themselves every
 * store counts, metastore_stats()). For tests (fault loops, CLI-level
 * failure tests) and benchmarks (a simulated cloud with a cost report).
 *
 * Test machinery, opted into explicitly; the library never reads a switch
 * for it from the environment. Two ways in:
 *  - fault_metastore_wrap() around a store the caller opened;
 *  - the URL "fault:INNER?SPEC", which metastore_open() (and so
 *    cirrus_options.meta_url and the CLI's --meta) accepts, e.g.
 *    "fault:sqlite:/tmp/m.db?error=0.01",
 *    "fault:dynamodb://table?latency=5:30", or
 *    "fault:dynamodb://table?fail_next=1000000,fail_rc=auth" to make every
 *    request fail as a rejected credential would. The last '?' starts SPEC;
 *    without one nothing is injected.
 * A timed-out write may have been applied (spec key "applied"), as with a
 * real service. The wrapper is as thread-safe as the store it wraps.
 *
 * Calls: metastore, util.
 */
#ifndef CIRRUS_METASTORE_FAULT_H
#define CIRRUS_METASTORE_FAULT_H

#include "util/fault.h"

struct metastore;

/* Wraps inner, which is taken (closed with the wrapper, and on failure).
 * cfg is copied. Returns 0 or CIRRUS_ENOMEM. */
int fault_metastore_wrap(struct metastore **out, struct metastore *inner,
                         const struct fault_config *cfg);

/* Counters so far. CIRRUS_EINVALID if os is not a fault store. */
int fault_metastore_stats(struct metastore *os, struct fault_stats *out);

/* Replaces the injection config (counters continue). CIRRUS_EINVALID if os
 * is not a fault store. */
int fault_metastore_configure(struct metastore *os, const struct fault_config *cfg);

/* metastore_open()'s helper: opens "fault:INNER?SPEC" (create as for
 * metastore_open()). Returns what metastore_open() of INNER returns, or
 * CIRRUS_EINVALID naming a bad SPEC item. */
int fault_metastore_open_url(struct metastore **out, const char *url, int create);

#endif
