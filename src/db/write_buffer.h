/*
 * write_buffer.h - the write buffer component: the memtable writes go into, admission and pacing
 * (write.c).
 */
#ifndef CIRRUS_DB_WRITE_BUFFER_H
#define CIRRUS_DB_WRITE_BUFFER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "cirrus.h"
#include "db/locks.h"
#include "db/memtable.h"

/* write.c: the memtable writes go into, admission and pacing. */
struct write_buffer {
    /* one writer at a time buffers into mem (the memtable has a single
     * writer); readers do not take it */
    pthread_mutex_t mu;
    struct memtable *mem GUARDED_BY(wb.mu, mu);
    uint64_t mem_id GUARDED_BY(wb.mu, mu); /* id of mem; +1 per memtable */
    uint64_t next_mseq GUARDED_BY(wb.mu);  /* seq of the next buffered write */
    /* the newest buffered seq reads at the latest may see: a write's
     * entries become visible together, once all of them are in mem */
    _Atomic uint64_t visible_mseq ATOMIC(stored under wb.mu after the entries, release;
                                         loaded by db_acquire, acquire);
    /* the write slowdown (throttle_locked): the pacer's clock, i.e. when the
     * writes it let through may all have run at the paced rate (mono_ns),
     * and what it cost writers since open */
    uint64_t pace_next_ns GUARDED_BY(mu);
    uint64_t n_write_slowdowns GUARDED_BY(mu); /* writes that slept */
    uint64_t write_slowdown_ns GUARDED_BY(mu); /* time they slept */
    uint64_t n_write_stops GUARDED_BY(mu);     /* writes held at the stop trigger */
    uint64_t write_stop_ns GUARDED_BY(mu);     /* time they waited */
};

/* cirrus_flush, leaving the thread's error message alone on success. */
int db_flush(cirrus_db *db, uint64_t *seq_out);
/* Fills the write stall counters of *out (cirrus_stats_get). Takes mu. */
void db_write_stall_stats(cirrus_db *db, cirrus_stats *out);
/* Moves the memtable, if not empty, to the committer's queue. Takes wb.mu. */
int db_freeze(cirrus_db *db);

#endif
