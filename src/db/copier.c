/*
 * copier.c - parallel copies of many objects (copier.h).
 */
#include "db/copier.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/locks.h"
#include "objstore/objstore.h"
#include "util/status.h"

#define DEFAULT_THREADS 8
#define MAX_THREADS 64

struct copier {
    struct objstore *dst;
    const struct copy_item *items;
    size_t n;
    void (*fn)(const cirrus_progress *p, void *arg);
    void *arg;
    pthread_mutex_t mu;
    size_t next GUARDED_BY(mu); /* the next item to take */
    cirrus_progress prog GUARDED_BY(mu);
    int rc GUARDED_BY(mu);         /* the first failure */
    char msg[1024] GUARDED_BY(mu); /* its message */
};

static int copy_one(struct copier *cp, const struct copy_item *it, int *copied)
{
    uint64_t have;
    int rc = objstore_head(cp->dst, it->dst_name, &have);
    *copied = 0;
    if (rc == 0)
        return have == it->size
                   ? 0
                   : err_set(CIRRUS_EEXISTS,
                             "%s: already at the destination with %" PRIu64 " bytes, not %" PRIu64,
                             it->dst_name, have, it->size);
    if (rc != CIRRUS_ENOTFOUND)
        return rc;
    rc = objstore_copy(cp->dst, it->dst_name, it->src, it->src_name, it->size);
    if (rc == CIRRUS_ENOTFOUND)
        /* the source names it (an entry, a manifest): gone is damage */
        return err_prefix(CIRRUS_ECORRUPT, "copying %s", it->src_name);
    if (rc == CIRRUS_EEXISTS) /* a racing copy of the same object */
        return 0;
    if (rc < 0)
        return err_prefix(rc, "copying %s to %s", it->src_name, it->dst_name);
    *copied = 1;
    return 0;
}

static void *worker(void *arg)
{
    struct copier *cp = arg;
    pthread_mutex_lock(&cp->mu);
    while (cp->rc == 0 && cp->next < cp->n) {
        const struct copy_item *it = &cp->items[cp->next++];
        int copied = 0;
        pthread_mutex_unlock(&cp->mu);
        int rc = copy_one(cp, it, &copied);
        pthread_mutex_lock(&cp->mu);
        if (rc < 0) {
            if (cp->rc == 0) {
                cp->rc = rc;
                snprintf(cp->msg, sizeof(cp->msg), "%s", cirrus_errmsg());
            }
            break;
        }
        cp->prog.objects_done++;
        cp->prog.bytes_done += it->size;
        if (copied) {
            cp->prog.objects_copied++;
            cp->prog.bytes_copied += it->size;
        }
        if (cp->fn)
            cp->fn(&cp->prog, cp->arg);
    }
    pthread_mutex_unlock(&cp->mu);
    return NULL;
}

int copier_run(struct objstore *dst, const struct copy_item *items, size_t n, int threads,
               void (*fn)(const cirrus_progress *p, void *arg), void *arg, cirrus_progress *summary)
{
    struct copier cp = {.dst = dst, .items = items, .n = n, .fn = fn, .arg = arg};
    pthread_t tids[MAX_THREADS];
    int started = 0;
    if (threads <= 0)
        threads = DEFAULT_THREADS;
    if (threads > MAX_THREADS)
        threads = MAX_THREADS;
    if ((size_t)threads > n)
        threads = n ? (int)n : 1;
    pthread_mutex_init(&cp.mu, NULL);
    cp.prog.objects_total = n;
    for (size_t i = 0; i < n; i++)
        cp.prog.bytes_total += items[i].size;
    if (fn)
        fn(&cp.prog, arg);
    for (int i = 1; i < threads; i++)
        if (pthread_create(&tids[started], NULL, worker, &cp) == 0)
            started++;
    worker(&cp); /* and this thread too */
    for (int i = 0; i < started; i++)
        pthread_join(tids[i], NULL);
    pthread_mutex_destroy(&cp.mu);
    if (summary)
        *summary = cp.prog;
    if (cp.rc < 0)
        return err_set(cp.rc, "%s", cp.msg);
    return 0;
}
