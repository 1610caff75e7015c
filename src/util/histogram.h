/*
 * histogram.h - latency histograms with fixed log-scale buckets, for
 * cirrus_stats.
 *
 * Bucket i (i < CIRRUS_HISTOGRAM_BUCKETS - 1) counts the samples of at most
 * 2^i microseconds that no lower bucket took; the last bucket counts the
 * rest. Buckets are fixed so that two handles' (or two processes')
 * histograms add up, and so that recording is three relaxed atomic adds
 * and no lock: the hot paths (every get, every object request) record from
 * many threads at once. A reader sees each counter once, not all at one
 * instant, so a sample in flight may be in count and not yet in a bucket.
 */
#ifndef CIRRUS_UTIL_HISTOGRAM_H
#define CIRRUS_UTIL_HISTOGRAM_H

#include <stdatomic.h>
#include <stdint.h>

#include "cirrus.h"

struct histogram {
    _Atomic uint64_t count;  /* samples */
    _Atomic uint64_t sum_us; /* their total, microseconds */
    _Atomic uint64_t b[CIRRUS_HISTOGRAM_BUCKETS];
};

/* The bucket of a sample of us microseconds. */
static inline int histogram_bucket(uint64_t us)
{
    int i = 0;
    while (i < CIRRUS_HISTOGRAM_BUCKETS - 1 && us > ((uint64_t)1 << i))
        i++;
    return i;
}

/* Records one sample of us microseconds (any thread). */
static inline void histogram_record(struct histogram *h, uint64_t us)
{
    atomic_fetch_add_explicit(&h->b[histogram_bucket(us)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_us, us, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->count, 1, memory_order_relaxed);
}

/* Records the time since start_ns (a mono_ns() reading). */
static inline void histogram_since(struct histogram *h, uint64_t start_ns, uint64_t now_ns)
{
    histogram_record(h, now_ns > start_ns ? (now_ns - start_ns) / 1000 : 0);
}

/* Copies h into out. count is the sum of the buckets read, so that a
 * reader's count always equals its last (cumulative) bucket. */
static inline void histogram_read(struct histogram *h, cirrus_histogram *out)
{
    out->count = 0;
    for (int i = 0; i < CIRRUS_HISTOGRAM_BUCKETS; i++) {
        out->buckets[i] = atomic_load_explicit(&h->b[i], memory_order_relaxed);
        out->count += out->buckets[i];
    }
    out->sum_us = atomic_load_explicit(&h->sum_us, memory_order_relaxed);
}

#endif
