/*
 * compactor.h - the compactor lease, the background compaction/GC thread,
 * and cirrus_compact / cirrus_gc (compactor.c).
 */
#ifndef CIRRUS_DB_COMPACTOR_H
#define CIRRUS_DB_COMPACTOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cirrus.h"
#include "db/locks.h"
#include "util/buf.h"

/* compactor.c: who compacts and collects garbage. */
struct compactor {
    /* one compaction or GC at a time per handle; taken with no other lock
     * held, held across commits */
    pthread_mutex_t mu;
    /* atomic because writers read it without cp.mu (the write stop waits
     * only while this handle compacts) */
    atomic_int lease_held GUARDED_BY(cp.mu) ATOMIC(relaxed reads by writers);
    int64_t lease_renew_at_ms GUARDED_BY(cp.mu);
    /* who takes the lease and for how long: "" and 0 until cirrus_maintain
     * names them, meaning the handle's writer id and COMPACTOR_LEASE_TTL_MS */
    char lease_owner[128] GUARDED_BY(cp.mu);
    int64_t lease_ttl_ms GUARDED_BY(cp.mu);
    uint64_t lease_token GUARDED_BY(cp.mu); /* the fencing token while held */
    /* the holder cirrus_maintain last logged standing by for ("" if none),
     * so that it says so once per holder, not every poll */
    char standby_logged[128] GUARDED_BY(cp.mu);
    struct buf ptr[CIRRUS_MAX_LEVELS] GUARDED_BY(cp.mu); /* round-robin position */
    int64_t next_gc_ms THREAD_OWN(compactor);            /* when the background GC runs next */
    /* added to under cp.mu, read by cirrus_stats_get without it */
    _Atomic uint64_t n_compactions ATOMIC(relaxed : a counter);   /* committed here */
    _Atomic uint64_t compacted_bytes ATOMIC(relaxed : a counter); /* written by them */
    pthread_t thread SET_AT_OPEN;
    int started SET_AT_OPEN;
};

/* Starts the thread unless the handle is read-only or background_compaction
 * is off. Returns 0 or CIRRUS_ENOMEM. */
int compactor_start(cirrus_db *db);
/* Joins the thread (the caller set `closing` and woke it) and releases the
 * lease. */
void compactor_stop(cirrus_db *db);

#endif
