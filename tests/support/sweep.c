/*
 * sweep.c - the fault-sweep workload and its checks (see sweep.h).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support/fixture.h"
#include "support/sweep.h"
#include "support/tmpdir.h"

#define BATCH_KEYS 12
#define RANGE_FROM 4 /* the range delete removes a004..a007 */
#define RANGE_TO 8
#define CTR "ctr"

static const char step_initials[SWEEP_N_STEPS + 1] = "oabcrdepkfqgxz";
#define CHECKPOINT "sweep"

/* The batch step that writes keys starting with letter, and back. */
static const struct {
    enum sweep_step step;
    char letter;
    int incr; /* its counter merge, 0: none */
} batches[] = {{SWEEP_A, 'a', 0}, {SWEEP_B, 'b', 1},   {SWEEP_C, 'c', 10},
               {SWEEP_D, 'd', 0}, {SWEEP_E, 'e', 100}, {SWEEP_F, 'f', 0}};
#define N_BATCHES (sizeof(batches) / sizeof(batches[0]))

static void key_of(char *out, size_t cap, char letter, int i)
{
    snprintf(out, cap, "%c%03d", letter, i);
}

static void value_of(char *out, size_t cap, const char *key, size_t key_len)
{
    snprintf(out, cap, "value-of-%.*s", (int)key_len, key);
}

static int in_range(int i)
{
    return i >= RANGE_FROM && i < RANGE_TO;
}

/* The number of a batch key "Xddd" (not NUL-terminated: keys from
 * iterators and the feed are borrowed bytes, so atoi would read past them). */
static int key_index(const void *key)
{
    const char *k = key;
    return (k[1] - '0') * 100 + (k[2] - '0') * 10 + (k[3] - '0');
}

/* Whether key (not NUL-terminated) is one of the batches' keys. */
static int known_key(const void *key, size_t len)
{
    const char *k = key;
    if (len != 4)
        return 0;
    for (size_t b = 0; b < N_BATCHES; b++)
        if (k[0] == batches[b].letter && k[1] >= '0' && k[1] <= '9' && k[2] >= '0' && k[2] <= '9' &&
            k[3] >= '0' && k[3] <= '9' && key_index(k) < BATCH_KEYS)
            return 1;
    return 0;
}

static cirrus_batch *make_batch(char letter, int incr)
{
    cirrus_batch *b = NULL;
    if (cirrus_batch_new(&b) < 0)
        abort();
    for (int i = 0; i < BATCH_KEYS; i++) {
        char k[16], v[32];
        key_of(k, sizeof(k), letter, i);
        value_of(v, sizeof(v), k, strlen(k));
        if (cirrus_batch_put(b, k, strlen(k), v, strlen(v)) < 0)
            abort();
    }
    if (incr) {
        char op[16];
        snprintf(op, sizeof(op), "%d", incr);
        if (cirrus_batch_merge(b, CTR, strlen(CTR), op, strlen(op)) < 0)
            abort();
    }
    return b;
}

/* ---- the workload ------------------------------------------------------ */

struct run {
    cirrus_db *db;
    struct sweep_outcome *o;
    sweep_note_fn note;
    void *arg;
    int pending[SWEEP_N_STEPS]; /* buffered for sure, not yet durable */
    int unresolved;             /* a failure no flush has cleared since */
};

static void note(struct run *r)
{
    if (r->note)
        r->note(r->o, r->arg);
}

static void violation(struct run *r, const char *fmt, ...)
{
    if (r->o->violation[0])
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->o->violation, sizeof(r->o->violation), fmt, ap);
    va_end(ap);
}

/* Everything buffered became durable: a flush or a range delete (which
 * commits buffered writes first) succeeded. */
static void all_durable(struct run *r)
{
    for (int s = 0; s < SWEEP_N_STEPS; s++)
        if (r->pending[s]) {
            r->pending[s] = 0;
            r->o->acked[s] = 1;
        }
    r->unresolved = 0;
}

/* Records step s's result; after a failure, flushes once (an application
 * resolving an unknown outcome). */
static void finish(struct run *r, enum sweep_step s, int rc)
{
    r->o->ran[s] = 1;
    if (rc == 0) {
        r->o->acked[s] = 1;
        note(r);
        return;
    }
    r->o->rc[s] = rc;
    if (!r->o->n_failed)
        snprintf(r->o->first_error, sizeof(r->o->first_error), "%s", cirrus_errmsg());
    r->o->n_failed++;
    r->unresolved = 1;
    note(r);
    if (s == SWEEP_OPEN || s == SWEEP_CLOSE)
        return;
    if (cirrus_flush(r->db, NULL) == 0) {
        all_durable(r);
        note(r);
    } else {
        r->o->n_failed++;
    }
}

/* A batch committed by cirrus_write(WAIT), or buffered and flushed. */
static void batch_step(struct run *r, enum sweep_step s, char letter, int incr, int wait)
{
    cirrus_batch *b = make_batch(letter, incr);
    int rc;
    if (wait) {
        /* failed: perhaps buffered (refused: not), so not pending */
        rc = cirrus_write(r->db, b, CIRRUS_WRITE_WAIT, NULL);
    } else if ((rc = cirrus_write(r->db, b, 0, NULL)) == 0) {
        r->pending[s] = 1;
        if ((rc = cirrus_flush(r->db, NULL)) == 0)
            all_durable(r);
    }
    cirrus_batch_free(b);
    finish(r, s, rc);
}

/* Reads the changefeed from 0 and checks every change against the model
 * and that every step acknowledged so far is in it. */
static void feed_step(struct run *r)
{
    cirrus_changes *c = NULL;
    cirrus_change ch;
    int seen[N_BATCHES][BATCH_KEYS];
    int rc, range_seen = 0;
    memset(seen, 0, sizeof(seen));
    if ((rc = cirrus_changes_open(&c, r->db, 0)) == 0) {
        while ((rc = cirrus_changes_next(c, &ch, 0)) == 0) {
            char v[32];
            if (ch.op == CIRRUS_CHANGE_PUT) {
                if (!known_key(ch.key, ch.key_len)) {
                    violation(r, "feed: unknown key %.*s", (int)ch.key_len, (const char *)ch.key);
                    continue;
                }
                value_of(v, sizeof(v), ch.key, ch.key_len);
                if (ch.val_len != strlen(v) || memcmp(ch.val, v, ch.val_len) != 0)
                    violation(r, "feed: wrong value for %.*s", (int)ch.key_len,
                              (const char *)ch.key);
                for (size_t b = 0; b < N_BATCHES; b++)
                    if (((const char *)ch.key)[0] == batches[b].letter &&
                        seen[b][key_index(ch.key)]++)
                        violation(r, "feed: %.*s twice: a batch committed twice", (int)ch.key_len,
                                  (const char *)ch.key);
            } else if (ch.op == CIRRUS_CHANGE_DELETE_RANGE) {
                if (range_seen++)
                    violation(r, "feed: the range delete committed twice");
            } else if (ch.op != CIRRUS_CHANGE_MERGE) {
                violation(r, "feed: unexpected op %d", ch.op);
            }
        }
        cirrus_changes_close(c);
        if (rc == CIRRUS_ENOTFOUND)
            rc = 0;
    }
    if (rc == 0) {
        for (size_t b = 0; b < N_BATCHES; b++)
            for (int i = 0; i < BATCH_KEYS && r->o->acked[batches[b].step]; i++)
                if (!seen[b][i])
                    violation(r, "feed: acknowledged batch %c lacks key %d", batches[b].letter, i);
        if (r->o->acked[SWEEP_RANGE] && !range_seen)
            violation(r, "feed: acknowledged range delete missing");
    }
    finish(r, SWEEP_FEED, rc);
}

/* A point read of a key of the first acknowledged batch (a000 if none). */
static void get_step(struct run *r)
{
    char k[16], v[32];
    void *val = NULL;
    size_t len = 0;
    size_t b = 0;
    while (b < N_BATCHES - 1 && !r->o->acked[batches[b].step])
        b++;
    key_of(k, sizeof(k), batches[b].letter, BATCH_KEYS - 1);
    value_of(v, sizeof(v), k, strlen(k));
    int rc = cirrus_get(r->db, NULL, k, strlen(k), &val, &len);
    if (rc == 0 && (len != strlen(v) || memcmp(val, v, len) != 0))
        violation(r, "get %s: wrong value", k);
    if (rc == CIRRUS_ENOTFOUND && r->o->acked[batches[b].step])
        violation(r, "get %s: not found, but its batch was acknowledged", k);
    cirrus_free(val);
    finish(r, SWEEP_GET, rc == CIRRUS_ENOTFOUND ? 0 : rc);
}

void sweep_run(const char *dir, const char *spec, struct sweep_outcome *out, sweep_note_fn fn,
               void *arg)
{
    struct run r;
    char url[4200], meta[4200];
    cirrus_options o = fixture_small_levels(4096);
    memset(out, 0, sizeof(*out));
    memset(&r, 0, sizeof(r));
    r.o = out;
    r.note = fn;
    r.arg = arg;
    o.l0_compaction_trigger = 2;
    o.mvcc_retention_ms = 0;       /* compaction keeps only what the model has */
    o.changefeed_retention_ms = 0; /* so that GC deletes what compaction left */
    o.manifest_interval = 3;       /* a few manifests along the way */
    o.block_cache_bytes = 0;       /* every read reaches the store */
    snprintf(url, sizeof(url), "fault:%s?%s", dir, spec);
    snprintf(meta, sizeof(meta), "fault:sqlite:%s/meta.sqlite3?%s", dir, spec);
    o.meta_url = meta;
    int rc = cirrus_open(&r.db, url, &o);
    finish(&r, SWEEP_OPEN, rc);
    if (rc < 0)
        return;

    batch_step(&r, SWEEP_A, 'a', 0, 1);
    batch_step(&r, SWEEP_B, 'b', 1, 0);
    batch_step(&r, SWEEP_C, 'c', 10, 0);
    char from[16], to[16];
    key_of(from, sizeof(from), 'a', RANGE_FROM);
    key_of(to, sizeof(to), 'a', RANGE_TO);
    rc = cirrus_delete_range(r.db, from, strlen(from), to, strlen(to), NULL);
    if (rc == 0)
        all_durable(&r);
    finish(&r, SWEEP_RANGE, rc);
    batch_step(&r, SWEEP_D, 'd', 0, 1);
    batch_step(&r, SWEEP_E, 'e', 100, 1);
    uint64_t seq;
    finish(&r, SWEEP_CKPT, cirrus_checkpoint_create(r.db, CHECKPOINT, CIRRUS_SEQ_LATEST, 0, &seq));
    finish(&r, SWEEP_COMPACT, cirrus_compact(r.db));
    batch_step(&r, SWEEP_F, 'f', 0, 1);
    feed_step(&r);
    /* no grace: only safe when this handle has nothing left to commit
     * (a buffered retry's files are unreferenced until it lands) */
    if (!r.unresolved)
        finish(&r, SWEEP_GC, cirrus_gc(r.db, 0, NULL, NULL));
    get_step(&r);
    rc = cirrus_close(r.db);
    if (rc == 0)
        all_durable(&r); /* close flushes what is buffered */
    finish(&r, SWEEP_CLOSE, rc);
}

/* ---- outcome lines ------------------------------------------------------- */

void sweep_outcome_format(const struct sweep_outcome *o, char *buf, size_t cap)
{
    size_t n = 0;
    for (int s = 0; s < SWEEP_N_STEPS && n + 4 < cap; s++)
        if (o->ran[s]) {
            buf[n++] = step_initials[s];
            buf[n++] = o->acked[s] ? '1' : '0';
            buf[n++] = ' ';
        }
    snprintf(buf + n, cap - n, "| %s", o->violation);
}

int sweep_outcome_parse(struct sweep_outcome *o, const char *line)
{
    memset(o, 0, sizeof(*o));
    const char *p = line;
    while (*p && *p != '|') {
        const char *i = strchr(step_initials, p[0]);
        if (!i || !*i || (p[1] != '0' && p[1] != '1') || p[2] != ' ')
            return -1;
        int s = (int)(i - step_initials);
        o->ran[s] = 1;
        o->acked[s] = p[1] == '1';
        p += 3;
    }
    if (p[0] != '|' || p[1] != ' ')
        return -1;
    snprintf(o->violation, sizeof(o->violation), "%s", p + 2);
    size_t n = strlen(o->violation);
    while (n && o->violation[n - 1] == '\n')
        o->violation[--n] = '\0';
    return 0;
}

/* ---- checks -------------------------------------------------------------- */

int sweep_lease_busy;

/* 1 if key reads as its value through ro, 0 if absent; fails the test
 * otherwise. */
static int present(cirrus_db *db, const cirrus_read_options *ro, const char *key, const char *what)
{
    void *val = NULL;
    size_t len = 0;
    char v[32];
    int rc = cirrus_get(db, ro, key, strlen(key), &val, &len);
    if (rc == CIRRUS_ENOTFOUND)
        return 0;
    if (rc != 0)
        fail_msg("%s: get %s: %s (%s)", what, key, cirrus_strerror(rc), cirrus_errmsg());
    value_of(v, sizeof(v), key, strlen(key));
    if (len != strlen(v) || memcmp(val, v, len) != 0)
        fail_msg("%s: get %s: wrong value %.*s", what, key, (int)len, (char *)val);
    cirrus_free(val);
    return 1;
}

/* Checks the batches and the counter as ro reads them; a batch (or the
 * range delete) whose step must[] marks has to be there (done). Returns
 * the keys present. */
static int check_batches(cirrus_db *db, const cirrus_read_options *ro, const int *must,
                         const char *what)
{
    int total = 0, sum = 0;
    for (size_t b = 0; b < N_BATCHES; b++) {
        char k[16];
        int n = 0, n_range = 0;
        for (int i = 0; i < BATCH_KEYS; i++) {
            key_of(k, sizeof(k), batches[b].letter, i);
            int p = present(db, ro, k, what);
            if (batches[b].letter == 'a' && in_range(i))
                n_range += p;
            else
                n += p;
        }
        int others = BATCH_KEYS - (batches[b].letter == 'a' ? RANGE_TO - RANGE_FROM : 0);
        if (n != 0 && n != others)
            fail_msg("%s: batch %c is partial: %d of %d keys", what, batches[b].letter, n, others);
        if (must[batches[b].step] && n != others)
            fail_msg("%s: batch %c was acknowledged but is gone", what, batches[b].letter);
        if (batches[b].letter == 'a') {
            if (n_range != 0 && n_range != RANGE_TO - RANGE_FROM)
                fail_msg("%s: range delete is partial: %d keys left", what, n_range);
            if (n_range && must[SWEEP_RANGE])
                fail_msg("%s: range delete was acknowledged but its keys are there", what);
            if (n_range && !n)
                fail_msg("%s: batch a is partial: only the range's keys", what);
        }
        if (n)
            sum += batches[b].incr;
        total += n + n_range;
    }
    void *val = NULL;
    size_t len = 0;
    int rc = cirrus_get(db, ro, CTR, strlen(CTR), &val, &len);
    if (sum == 0 && rc != CIRRUS_ENOTFOUND)
        fail_msg("%s: counter: %s, but no batch that merges is there", what, cirrus_strerror(rc));
    if (sum) {
        if (rc != 0)
            fail_msg("%s: counter: %s (%s)", what, cirrus_strerror(rc), cirrus_errmsg());
        char want[16];
        snprintf(want, sizeof(want), "%d", sum);
        if (len != strlen(want) || memcmp(val, want, len) != 0)
            fail_msg("%s: counter is %.*s, the batches there add up to %s", what, (int)len,
                     (char *)val, want);
        total++;
    }
    cirrus_free(val);
    return total;
}

/* A full scan: every key known (or the counter), with its value; returns
 * the number of keys. */
static int scan_all(cirrus_db *db, const cirrus_read_options *ro, const char *what)
{
    cirrus_iter *it = NULL;
    int n = 0;
    assert_int_equal(cirrus_iter_new(&it, db, ro), 0);
    for (cirrus_iter_first(it); cirrus_iter_valid(it); cirrus_iter_next(it)) {
        size_t kl, vl;
        const char *k = cirrus_iter_key(it, &kl);
        const char *v = cirrus_iter_value(it, &vl);
        char want[32];
        n++;
        if (kl == strlen(CTR) && memcmp(k, CTR, kl) == 0)
            continue;
        if (!known_key(k, kl) && k[0] != 'z')
            fail_msg("%s: scan: unknown key %.*s", what, (int)kl, k);
        value_of(want, sizeof(want), k, kl);
        if (vl != strlen(want) || memcmp(v, want, vl) != 0)
            fail_msg("%s: scan: %.*s has a wrong value", what, (int)kl, k);
    }
    int rc = cirrus_iter_status(it);
    if (rc != 0)
        fail_msg("%s: scan: %s (%s)", what, cirrus_strerror(rc), cirrus_errmsg());
    cirrus_iter_close(it);
    return n;
}

/* Whether rc says the feed fell behind the retention: GC (no retention)
 * deleted files the feed would read. CIRRUS_EEXPIRED, or, since
 * sst_reader reports a missing object as CIRRUS_ECORRUPT "the object is
 * missing" (issue 9, item 1), that, until changes.c maps it back. */
static int expired(int rc)
{
    return rc == CIRRUS_EEXPIRED;
}

/* The feed from 0 of the reopened db: gone (GC trimmed it, no retention)
 * or consistent with the model. */
static void check_feed(cirrus_db *db, const char *what)
{
    cirrus_changes *c = NULL;
    cirrus_change ch;
    char seen[26][BATCH_KEYS];
    int ranges = 0;
    memset(seen, 0, sizeof(seen));
    int rc = cirrus_changes_open(&c, db, 0);
    if (expired(rc))
        return;
    if (rc != 0)
        fail_msg("%s: changes_open: %s (%s)", what, cirrus_strerror(rc), cirrus_errmsg());
    while ((rc = cirrus_changes_next(c, &ch, 0)) == 0) {
        char v[32];
        if (ch.op == CIRRUS_CHANGE_DELETE_RANGE && ranges++)
            fail_msg("%s: feed: the range delete committed twice", what);
        if (ch.op != CIRRUS_CHANGE_PUT)
            continue;
        if (!known_key(ch.key, ch.key_len))
            fail_msg("%s: feed: unknown key %.*s", what, (int)ch.key_len, (const char *)ch.key);
        value_of(v, sizeof(v), ch.key, ch.key_len);
        if (ch.val_len != strlen(v) || memcmp(ch.val, v, ch.val_len) != 0)
            fail_msg("%s: feed: %.*s has a wrong value", what, (int)ch.key_len,
                     (const char *)ch.key);
        const char *k = ch.key;
        if (seen[k[0] - 'a'][key_index(k)]++)
            fail_msg("%s: feed: %.*s twice: a batch committed twice", what, (int)ch.key_len, k);
    }
    cirrus_changes_close(c);
    if (rc != CIRRUS_ENOTFOUND && !expired(rc))
        fail_msg("%s: feed: %s (%s)", what, cirrus_strerror(rc), cirrus_errmsg());
}

/* The checkpoint, if it exists (it must if acknowledged): read whole at
 * its seq. What had to be there: the batches waited for before it (a
 * buffered one may have been acknowledged by a flush after it), and the
 * range delete; batch f came after it. */
static void check_checkpoint(cirrus_db *db, const struct sweep_outcome *o, const char *what)
{
    cirrus_snapshot *s = NULL;
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    int must[SWEEP_N_STEPS] = {0};
    char w[600], k[16];
    int rc = cirrus_snapshot_checkpoint(db, CHECKPOINT, &s);
    if (rc == CIRRUS_ENOTFOUND && !o->acked[SWEEP_CKPT])
        return;
    if (rc != 0)
        fail_msg("%s: checkpoint: %s (%s)", what, cirrus_strerror(rc), cirrus_errmsg());
    snprintf(w, sizeof(w), "%s: at the checkpoint", what);
    ro.snapshot = s;
    must[SWEEP_A] = o->acked[SWEEP_A];
    must[SWEEP_D] = o->acked[SWEEP_D];
    must[SWEEP_E] = o->acked[SWEEP_E];
    must[SWEEP_RANGE] = o->acked[SWEEP_RANGE];
    int n = check_batches(db, &ro, must, w);
    int scanned = scan_all(db, &ro, w);
    if (scanned != n)
        fail_msg("%s: scan found %d keys, point reads %d", w, scanned, n);
    key_of(k, sizeof(k), 'f', 0);
    if (present(db, &ro, k, w))
        fail_msg("%s: batch f, written after it, is there", w);
    cirrus_snapshot_free(s);
}

void sweep_check(const char *dir, const struct sweep_outcome *o, const char *what)
{
    cirrus_options opts = fixture_small_levels(4096);
    cirrus_db *db = NULL;
    opts.mvcc_retention_ms = 0;
    opts.changefeed_retention_ms = 0;
    if (o->violation[0])
        fail_msg("%s: the workload saw a wrong answer: %s", what, o->violation);
    int rc = cirrus_open(&db, dir, &opts);
    if (rc != 0)
        fail_msg("%s: reopen: %s (%s)", what, cirrus_strerror(rc), cirrus_errmsg());
    int n = check_batches(db, NULL, o->acked, what);
    int scanned = scan_all(db, NULL, what);
    if (scanned != n)
        fail_msg("%s: scan found %d keys, point reads %d", what, scanned, n);
    check_feed(db, what);
    check_checkpoint(db, o, what);

    /* the db goes on working: a write, a compaction and a GC */
    cirrus_batch *b = make_batch('z', 0);
    if ((rc = cirrus_write(db, b, CIRRUS_WRITE_WAIT, NULL)) != 0)
        fail_msg("%s: write after reopen: %s (%s)", what, cirrus_strerror(rc), cirrus_errmsg());
    cirrus_batch_free(b);
    /* a failed release (or a crash) leaves the compactor lease held until
     * it expires (20 s); the faulted handle is gone, so break it, as an
     * operator who knows would */
    cirrus_lease_info li;
    if (cirrus_lease_show(db, "compactor", &li) == 0 && li.owner[0]) {
        if (!o->faulted)
            fail_msg("%s: the compactor lease is still held by %s", what, li.owner);
        if ((rc = cirrus_lease_release(db, "compactor", li.owner)) != 0)
            fail_msg("%s: breaking the lease: %s (%s)", what, cirrus_strerror(rc), cirrus_errmsg());
        sweep_lease_busy++;
    }
    if ((rc = cirrus_compact(db)) != 0)
        fail_msg("%s: compact after reopen: %s (%s)", what, cirrus_strerror(rc), cirrus_errmsg());
    if ((rc = cirrus_gc(db, 0, NULL, NULL)) != 0)
        fail_msg("%s: gc after reopen: %s (%s)", what, cirrus_strerror(rc), cirrus_errmsg());
    if ((scanned = scan_all(db, NULL, what)) != n + BATCH_KEYS)
        fail_msg("%s: after a write, compaction and GC the scan finds %d keys, not %d", what,
                 scanned, n + BATCH_KEYS);
    check_checkpoint(db, o, what); /* what it keeps outlived that GC */
    if ((rc = cirrus_close(db)) != 0)
        fail_msg("%s: close: %s (%s)", what, cirrus_strerror(rc), cirrus_errmsg());
}

uint64_t sweep_count_calls(char *dir, const char *group, enum fault_op *trace, size_t cap)
{
    struct sweep_outcome o;
    struct fault_group_info gi;
    char spec[128];
    snprintf(spec, sizeof(spec), "group=%s", group);
    fault_group_reset(group);
    sweep_run(dir, spec, &o, NULL, NULL);
    fault_group_get(group, &gi);
    assert_true(gi.calls <= cap);
    assert_int_equal(fault_group_trace(group, trace, cap), gi.calls);
    for (int s = 0; s < SWEEP_N_STEPS; s++)
        if (!o.acked[s])
            fail_msg("step %d failed without a fault: %s (%s)", s, cirrus_strerror(o.rc[s]),
                     o.first_error);
    sweep_check(dir, &o, "no fault");
    tmpdir_remove(dir);
    return gi.calls;
}

uint64_t sweep_env_u64(const char *name, uint64_t dflt)
{
    const char *v = getenv(name);
    return v && *v ? strtoull(v, NULL, 10) : dflt;
}
