/*
 * hist.c - latency histograms: exact below 64 ns, then 32 buckets per power
 * of two (each bucket spans ~3% of its value), up to 2^63 ns.
 *
 * Bucket index of a value v >= 64 with most significant bit m (m >= 6): the
 * top six bits of v, (v >> (m - 5)) in [32, 64), select one of 32 buckets in
 * the octave; octaves start at 64 + (m - 6) * 32.
 */
#include "bench.h"

static int bucket_of(uint64_t v)
{
    int b;
    if (v < 64) {
        b = (int)v;
    } else {
        int m = 63 - __builtin_clzll(v);
        b = 64 + (m - 6) * 32 + (int)((v >> (m - 5)) - 32);
    }
    return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1;
}

/* The middle of bucket b. */
static uint64_t value_of(int b)
{
    uint64_t v;
    if (b < 64) {
        v = (uint64_t)b;
    } else {
        int m = (b - 64) / 32 + 6, shift = m - 5;
        uint64_t sub = (uint64_t)((b - 64) % 32 + 32);
        v = (sub << shift) + ((uint64_t)1 << shift) / 2;
    }
    return v;
}

void hist_add(struct hist *h, uint64_t ns)
{
    h->b[bucket_of(ns)]++;
    h->count++;
    if (ns > h->max_ns)
        h->max_ns = ns;
}

void hist_merge(struct hist *into, const struct hist *from)
{
    for (int i = 0; i < HIST_BUCKETS; i++)
        into->b[i] += from->b[i];
    into->count += from->count;
    if (from->max_ns > into->max_ns)
        into->max_ns = from->max_ns;
}

uint64_t hist_quantile(const struct hist *h, double q)
{
    uint64_t want, seen = 0, v = 0;
    if (h->count == 0)
        return 0;
    want = (uint64_t)(q * (double)h->count + 0.5);
    if (want < 1)
        want = 1;
    for (int i = 0; i < HIST_BUCKETS; i++) {
        seen += h->b[i];
        if (seen >= want) {
            v = value_of(i);
            break;
        }
    }
    return v > h->max_ns ? h->max_ns : v;
}

void hist_walk(const struct hist *h, void (*fn)(uint64_t ns, double cum, void *arg), void *arg)
{
    uint64_t seen = 0;
    for (int i = 0; i < HIST_BUCKETS && h->count; i++) {
        if (!h->b[i])
            continue;
        seen += h->b[i];
        fn(value_of(i), (double)seen / (double)h->count, arg);
    }
}
