/*
 * gc.c - garbage collection of objects and trimming of the log.
 *
 * An object may be deleted only when nothing can need it:
 *  - sst/: not live, not named (added or removed) by any entry committed
 *    within the grace period, not added by a write entry committed within
 *    the changefeed retention (the feed reads those files), and itself older
 *    than the grace period (an object never committed is only garbage once
 *    no writer may still commit it: writers refuse files older than half the
 *    grace period, commit.c).
 *  - manifest/: older than the manifest the pointer names, and older than
 *    the grace period (an opener may have just read the pointer).
 *  - delta/: its entry is trimmed from the log, or the entry of its seq is a
 *    different commit (an attempt that lost), and it is older than the
 *    grace period.
 *  - pin/: no pin names it (an expired pin is dropped here first), and it
 *    is older than the grace period and than 10 minutes (its pin may be on
 *    its way, whatever the grace);
 *    every file a pin manifest lists is kept (pins.h)
 *  - anything else under those folders: never (its name is not one
 *    filename.h builds, so nothing can be known of it).
 * An object's age is the time in its name for sst/ (unreferenced files have
 * no description to carry it), the store's mtime for the others.
 * Order matters: objects are listed BEFORE the live set and the recent
 * entries are read, so a file committed while GC runs is either seen as
 * referenced or was too young to delete when listed.
 *
 * Log trimming: log items below the manifest the pointer names are only
 * needed to read the log itself (`cirrus log`, time travel by time); they
 * are deleted once older than max(mvcc_retention, grace, changefeed
 * retention). The head item is never deleted (commitlog.h, rule 3).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "db/filename.h"
#include "db/gc.h"
#include "db/history.h"
#include "db/pins.h"
#include "metastore/metastore.h"
#include "objstore/objstore.h"
#include "util/status.h"
#include "util/sys.h"

struct object {
    char *name;
    uint64_t size;
    int64_t mtime_ms;
};

struct listing {
    struct object *v;
    size_t n, cap;
};

static int collect(const struct objstore_entry *e, void *arg)
{
    struct listing *l = arg;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 256;
        struct object *v = realloc(l->v, cap * sizeof(*v));
        if (!v)
            return err_nomem();
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n].name = strdup(e->name)))
        return err_nomem();
    l->v[l->n].size = e->size;
    l->v[l->n].mtime_ms = e->mtime_ms;
    l->n++;
    return 0;
}

static void listing_free(struct listing *l)
{
    for (size_t i = 0; i < l->n; i++)
        free(l->v[i].name);
    free(l->v);
}

/* A set of names: sorted array, binary searched. */
struct names {
    char **v;
    size_t n, cap;
};

static int names_add(struct names *s, const char *name)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        char **v = realloc(s->v, cap * sizeof(*v));
        if (!v)
            return err_nomem();
        s->v = v;
        s->cap = cap;
    }
    if (!(s->v[s->n] = strdup(name)))
        return err_nomem();
    s->n++;
    return 0;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int names_has(const struct names *s, const char *name)
{
    return s->n && bsearch(&name, s->v, s->n, sizeof(*s->v), cmp_str) != NULL;
}

static void names_free(struct names *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
}

struct recent {
    cirrus_db *db;
    struct names *keep;
    uint64_t feed_from;  /* files added by write entries after this seq are
                          * kept for the changefeed */
    uint64_t grace_from; /* every file named by entries after this seq is
                          * kept for the grace period */
};

static int note_entry(uint64_t seq, const uint8_t *raw, size_t len, void *arg)
{
    struct recent *r = arg;
    struct entry e;
    int rc = commitlog_decode(&r->db->log, raw, len, seq, &e);
    if (rc < 0)
        return rc;
    int in_grace = seq > r->grace_from;
    int for_feed = seq > r->feed_from && e.kind == CIRRUS_ENTRY_WRITE;
    for (size_t i = 0; i < e.n_added && rc == 0 && (in_grace || for_feed); i++)
        rc = names_add(r->keep, e.added[i].name);
    for (size_t i = 0; i < e.n_removed && rc == 0 && in_grace; i++)
        rc = names_add(r->keep, e.removed[i]);
    entry_clear(&e);
    return rc;
}

/* Names the live set and the entries after seq `from` mention (all of
 * their files after grace_from, write-added ones after feed_from); *head_out
 * gets the head it read up to. */
static int referenced(cirrus_db *db, struct version *v, uint64_t grace_from, uint64_t feed_from,
                      struct names *keep, uint64_t *head_out)
{
    struct recent r = {db, keep, feed_from, grace_from};
    uint64_t from = grace_from < feed_from ? grace_from : feed_from;
    uint8_t *raw = NULL;
    size_t len = 0;
    uint64_t head;
    int rc;
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++)
        for (size_t i = 0; i < v->n_files[l]; i++)
            if ((rc = names_add(keep, v->files[l][i]->meta.name)) < 0)
                return rc;
    if ((rc = commitlog_get_head(&db->log, &head, &raw, &len)) < 0)
        return rc;
    uint64_t oldest;
    if ((rc = commitlog_oldest(&db->log, head, &oldest)) < 0)
        goto done;
    if (from + 1 < oldest)
        from = oldest - 1; /* trimmed entries removed nothing still in grace */
    if (from + 1 < head)
        rc = commitlog_scan(&db->log, from + 1, head, note_entry, &r);
    if (rc == 0 && raw && head > from)
        rc = note_entry(head, raw, len, &r);
    *head_out = head;
done:
    free(raw);
    if (rc == 0 && keep->n)
        qsort(keep->v, keep->n, sizeof(*keep->v), cmp_str);
    return rc;
}

/* Is delta object `name` (of the entry at seq) still what log item <seq>
 * points to? */
static int delta_in_use(cirrus_db *db, const char *name, uint64_t seq, uint64_t trimmed_below)
{
    uint8_t *raw = NULL;
    size_t len = 0;
    struct entry stub;
    if (seq < trimmed_below)
        return 0;
    int rc = commitlog_get_log(&db->log, seq, &raw, &len);
    if (rc == CIRRUS_ENOTFOUND) {
        uint64_t head;
        free(raw);
        raw = NULL;
        if (commitlog_get_head(&db->log, &head, &raw, &len) < 0) {
            free(raw);
            return 1; /* cannot tell: keep */
        }
        if (head != seq) {
            free(raw);
            /* every entry below the head is in the log until trimmed */
            return seq > head;
        }
    } else if (rc < 0) {
        return 1;
    }
    int in_use = 1;
    if (entry_decode(&stub, raw, len, name) == 0) {
        in_use = stub.delta_name && strcmp(stub.delta_name, name) == 0;
        entry_clear(&stub);
    }
    free(raw);
    return in_use;
}

/* What the pins keep: their manifests and every file those list. Read
 * after the live set (pins.h explains why); expired checkpoints are
 * dropped first. A pin manifest that cannot be read stops GC: what it
 * keeps is unknown. */
static int pinned(cirrus_db *db, int64_t now, struct names *keep, struct names *manifests)
{
    struct pin *pins = NULL;
    size_t n = 0;
    int rc;
    if ((rc = pins_list(db, "", &pins, &n)) < 0)
        return err_prefix(rc, "gc");
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct version *v = NULL;
        if (pins[i].expires_ms && pins[i].expires_ms <= now) {
            rc = metastore_delete_if_version(db->ms, db->log.pk, pins[i].sk, pins[i].version);
            if (rc == 0) {
                objstore_del(db->os, pins[i].manifest); /* best effort: GC takes it else */
                continue;                               /* dropped: what it kept is garbage now */
            }
            if (rc != CIRRUS_ECONFLICT)
                return err_prefix(rc, "gc: dropping expired %s", pins[i].sk);
            rc = 0; /* changed meanwhile: keep it this time */
        }
        if ((rc = names_add(manifests, pins[i].manifest)) < 0)
            break;
        if ((rc = pin_load_listed(db, &pins[i], &v)) == CIRRUS_ENOTFOUND) {
            rc = 0; /* gone since the listing: a pin made since is safe (pins.h) */
            continue;
        }
        if (rc < 0)
            break;
        for (int l = 0; l < CIRRUS_MAX_LEVELS && rc == 0; l++)
            for (size_t j = 0; j < v->n_files[l] && rc == 0; j++)
                rc = names_add(keep, v->files[l][j]->meta.name);
        version_unref(v);
    }
    pins_free(pins, n);
    if (rc < 0)
        return err_prefix(rc, "gc: reading the pins");
    if (keep->n)
        qsort(keep->v, keep->n, sizeof(*keep->v), cmp_str);
    if (manifests->n)
        qsort(manifests->v, manifests->n, sizeof(*manifests->v), cmp_str);
    return 0;
}

/* The least age of a pin manifest GC deletes (pins.h: it exists before the
 * item that names it). */
#define PIN_MANIFEST_MIN_AGE_MS (10 * 60 * 1000)

struct gc_run {
    cirrus_db *db;
    int64_t now, grace;
    void (*fn)(const cirrus_gc_item *item, void *arg);
    void *arg;
    uint64_t n_deleted, n_kept, deleted_bytes; /* for the info line */
};

static int decide(struct gc_run *g, const struct object *o, int del, const char *why)
{
    int rc = 0;
    if (del) {
        rc = objstore_del(g->db->os, o->name);
        if (rc < 0) {
            rc = err_prefix(rc, "gc: deleting %s", o->name);
            del = 0;
            why = "delete failed";
        }
    }
    g->n_deleted += del != 0;
    g->n_kept += del == 0;
    g->deleted_bytes += del ? o->size : 0;
    if (g->fn) {
        cirrus_gc_item item = {o->name, o->size, del, why};
        g->fn(&item, g->arg);
    }
    return rc;
}

/* Deletes log items below `below` that are older than the retention. */
static int trim_log(cirrus_db *db, uint64_t below, uint64_t *trimmed_below)
{
    struct meta_item *items = NULL;
    size_t n = 0;
    int rc;
    *trimmed_below = 0;
    if (below <= 1)
        return 0;
    char to[24];
    snprintf(to, sizeof(to), "%020" PRIu64, below);
    if ((rc = metastore_query(db->ms, db->log.log_pk, "", to, 0, 0, &items, &n)) < 0)
        return err_prefix(rc, "gc: listing the log");
    for (size_t i = 0; i < n && rc == 0; i++) {
        rc = metastore_delete_if_version(db->ms, db->log.log_pk, items[i].sk, items[i].version);
        if (rc == CIRRUS_ECONFLICT)
            rc = 0;
    }
    meta_items_free(items, n);
    if (rc == 0)
        *trimmed_below = below;
    return rc < 0 ? err_prefix(rc, "gc: trimming the log") : 0;
}

int gc_run(cirrus_db *db, int64_t grace_ms, void (*fn)(const cirrus_gc_item *item, void *arg),
           void *arg)
{
    struct gc_run g = {db, now_ms(), grace_ms < 0 ? db->opts.gc_grace_ms : grace_ms, fn, arg, 0,
                       0,  0};
    uint64_t start = mono_ns();
    struct listing objs = {0};
    struct names keep = {0};
    struct superversion sv = {0};
    uint64_t recent_from = 0, feed_from = 0, pointer = 0, trim_from = 0, trimmed_below = 0,
             seen_head = 0;
    struct names late = {0}, pin_files = {0}, pin_manifests = {0};
    struct recent r = {db, &late, 0, 0};
    int before;
    int rc;
    /* 1. list first (see the header comment) */
    if ((rc = objstore_list(db->os, FILENAME_SST_DIR, collect, &objs)) < 0 ||
        (rc = objstore_list(db->os, FILENAME_MANIFEST_DIR, collect, &objs)) < 0 ||
        (rc = objstore_list(db->os, FILENAME_DELTA_DIR, collect, &objs)) < 0 ||
        (rc = objstore_list(db->os, FILENAME_PIN_DIR, collect, &objs)) < 0) {
        rc = err_prefix(rc, "gc: listing objects");
        goto done;
    }
    /* 2. then what is referenced now and recently */
    if ((rc = db_refresh(db, NULL)) < 0 || (rc = db_acquire(db, &sv, 0)) < 0 ||
        (rc = db_seq_at_time(db, g.now - g.grace, &recent_from, &before)) < 0 ||
        (rc = db_seq_at_time(db, g.now - db->opts.changefeed_retention_ms, &feed_from, &before)) <
            0 ||
        (rc = referenced(db, sv.v, recent_from, feed_from, &keep, &seen_head)) < 0 ||
        (rc = commitlog_get_pointer(&db->log, &pointer)) < 0 ||
        (rc = pinned(db, g.now, &pin_files, &pin_manifests)) < 0)
        goto done;
    /* 3. trim the log below the newest manifest, keeping what time travel
     * and the grace period need */
    int64_t keep_ms = db->opts.mvcc_retention_ms > g.grace ? db->opts.mvcc_retention_ms : g.grace;
    if (db->opts.changefeed_retention_ms > keep_ms)
        keep_ms = db->opts.changefeed_retention_ms;
    if ((rc = db_seq_at_time(db, g.now - keep_ms, &trim_from, &before)) < 0)
        goto done;
    if (trim_from > pointer)
        trim_from = pointer;
    if ((rc = trim_log(db, trim_from, &trimmed_below)) < 0)
        goto done;
    /* 4. files committed since step 2 (a writer between its freshness check
     * and its compare-and-swap then) are referenced too: read the entries
     * that landed meanwhile, last thing before deleting */
    uint8_t *raw = NULL;
    size_t raw_len = 0;
    uint64_t head_now;
    r.grace_from = r.feed_from = seen_head; /* everything new counts */
    if ((rc = commitlog_get_head(&db->log, &head_now, &raw, &raw_len)) < 0)
        goto done;
    if (head_now > seen_head + 1)
        rc = commitlog_scan(&db->log, seen_head + 1, head_now, note_entry, &r);
    if (rc == 0 && head_now > seen_head)
        rc = note_entry(head_now, raw, raw_len, &r);
    free(raw);
    if (rc < 0)
        goto done;
    if (late.n)
        qsort(late.v, late.n, sizeof(*late.v), cmp_str);
    /* 5. decide */
    for (size_t i = 0; i < objs.n && rc == 0; i++) {
        const struct object *o = &objs.v[i];
        struct filename parsed;
        if (!filename_parse(o->name, &parsed)) {
            rc = decide(&g, o, 0, "not a name cirrus writes");
            continue;
        }
        /* an SST's name says when it was written (an unreferenced file has
         * no description that could); the others' age is the store's */
        int64_t written = parsed.kind == FILENAME_SST ? parsed.time_ms : o->mtime_ms;
        int old = g.now - written >= g.grace;
        if (parsed.kind == FILENAME_SST) {
            if (names_has(&keep, o->name) || names_has(&late, o->name))
                rc = decide(&g, o, 0, "referenced");
            else if (names_has(&pin_files, o->name))
                rc = decide(&g, o, 0, "pinned");
            else
                rc = decide(&g, o, old, old ? "unreferenced" : "in grace period");
        } else if (parsed.kind == FILENAME_PIN) {
            /* written just before its pin's item: never taken young, even
             * with a grace of 0, or the pin would name a deleted manifest */
            int used = names_has(&pin_manifests, o->name);
            old = g.now - parsed.time_ms >=
                  (g.grace > PIN_MANIFEST_MIN_AGE_MS ? g.grace : PIN_MANIFEST_MIN_AGE_MS);
            rc = decide(&g, o, !used && old,
                        used  ? "pinned"
                        : old ? "unreferenced"
                              : "in grace period");
        } else if (parsed.kind == FILENAME_MANIFEST) {
            int older = parsed.seq < pointer;
            rc = decide(&g, o, older && old,
                        !older ? "newest manifest"
                        : old  ? "superseded"
                               : "in grace period");
        } else {
            int used = delta_in_use(db, o->name, parsed.seq, trimmed_below);
            rc = decide(&g, o, !used && old,
                        used  ? "entry in the log"
                        : old ? "unreferenced"
                              : "in grace period");
        }
    }
done:
    if (rc >= 0)
        db_log(db, CIRRUS_LOG_INFO, "gc",
               "deleted %" PRIu64 " objects (%" PRIu64 " bytes), kept %" PRIu64 " in %" PRIu64
               " ms",
               g.n_deleted, g.deleted_bytes, g.n_kept, (mono_ns() - start) / 1000000);
    db_release(&sv);
    names_free(&keep);
    names_free(&late);
    names_free(&pin_files);
    names_free(&pin_manifests);
    listing_free(&objs);
    return rc;
}
