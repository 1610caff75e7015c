/*
 * fault.h - the fault-injecting metadata store: wraps any store and adds
 * latency, errors and timeouts per operation type (util/fault.h), and counts
 * requests and bytes by type. For tests (fault loops, CLI-level failure
 * tests) and benchmarks (a simulated cloud with a cost report).
 *
 * Two ways in besides fault_metastore_wrap():
 *  - URL "fault:INNER?SPEC", e.g. "fault:sqlite:/tmp/m.db?error=0.01" or
 *    "fault:dynamodb://table?latency=5:30"; metastore_open() accepts it.
 *  - env CIRRUS_FAULT_METASTORE=SPEC (or CIRRUS_FAULT=SPEC, which also wraps
 *    object stores): every store metastore_open() opens is wrapped, e.g.
 *    CIRRUS_FAULT_METASTORE=fail_next=1000000,fail_rc=auth makes every request
 *    fail as a rejected credential would.
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

/* metastore_open()'s helpers. open_url opens "fault:INNER?SPEC"; wrap_env
 * wraps *os as the environment asks (nothing if it does not, or while a
 * fault: URL opens its inner store); on failure it closes *os. */
int fault_metastore_open_url(struct metastore **out, const char *url, int create);
int fault_metastore_wrap_env(struct metastore **os);

#endif
