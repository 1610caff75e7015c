/*
 * loader.c - bulk loads in bounded memory (cirrus_loader, cirrus.h): puts
 * in any order become the L0 files of ONE entry, committed through the
 * staged-commit machinery (stage.c): files written first, then one entry
 * that adds them all and gives them its seq.
 *
 * How the puts travel, with M the memory budget:
 *
 *   state      a put                               finish
 *   STREAMING  above the last key: straight into   the direct files are the
 *              the direct output (final files)     final files: no merge
 *              otherwise: the direct files become
 *              run 0, go to BUFFERING
 *   BUFFERING  copied into the run buffer; a full  no run yet: the sorted
 *              buffer (M/4) is sorted, deduped     buffer becomes the final
 *              (last put wins) and written as the  files; else it is one
 *              next run                            more run, and the runs
 *                                                  are merged
 *   SKIPPING   (the app's epoch is applied          nothing to commit
 *              already) counted, not kept
 *
 * Invariants:
 *  1. Runs are numbered in put order, and a later run holds later puts.
 *     Every run is sorted and holds one put per key, so the merge keeps,
 *     for each key, the put of the newest run that has it: the last put.
 *  2. Every file is a commit output's (sst_output.h, rule 2): seq 0, level
 *     0, global seq ENTRY_SEQ_SELF. Run files and final files differ only
 *     in size and filter (runs have none: nothing looks keys up in them).
 *  3. Every object written is listed in a run or in `out` before anything
 *     else can fail (sst_output.h, rule 4), so an unfinished loader can
 *     delete all of them; a merged run's files are deleted after the merge
 *     (nothing ever references them). A killed process leaves objects no
 *     entry names: GC deletes them after the grace period, as any
 *     never-committed file (gc.c).
 *  4. Memory: each of the two run buffers (arena and slots) stays within
 *     M/4 but for a single put larger than that; the file being built is bounded by its
 *     target size (M/16 for runs, M/4 for final files, at most the db's
 *     target_file_size); the merge reads its runs in windows that share
 *     M/4, and merges at most `fanin` runs at once (more: merge passes of
 *     fanin runs first). The run buffer is freed before the merge.
 *
 *  5. While the main thread fills one run buffer, a thread of the loader
 *     sorts and writes the other (the previous run): reading and parsing
 *     overlap with sorting, building and uploading. A spill first joins
 *     the previous one, so runs are appended in put order (invariant 1)
 *     and at most one thread runs; nothing else is shared with it.
 *
 * Not thread-safe: one thread per loader; the db handle is shared as usual.
 */
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/dbimpl.h"
#include "db/sst_output.h"
#include "objstore/objstore.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/status.h"

#define DEFAULT_MEMORY ((uint64_t)256 << 20)
#define MIN_MEMORY ((uint64_t)64 << 10)
/* The merge's read windows: at least this much per run. */
#define MIN_READAHEAD ((uint64_t)64 << 10)
#define MAX_READAHEAD ((uint64_t)8 << 20)
#define MIN_FANIN 4
/* Record header in the arena: fixed32 key length, fixed32 value length. */
#define REC_HEADER 8

enum loader_state { STREAMING, BUFFERING, SKIPPING, FINISHED, FAILED };

/* One put in the run buffer: its first 8 key bytes (big-endian, zero
 * padded), for cheap comparisons, and its record's offset in the arena. */
struct slot {
    uint64_t prefix;
    size_t off;
};

/* A run buffer: records (REC_HEADER, key, value) appended to the arena,
 * and a slot per record. */
struct runbuf {
    uint8_t *arena;
    size_t arena_len, arena_cap;
    struct slot *slots;
    size_t n_slots, cap_slots;
};

/* One buffer being written as a run by a thread of its own. The main
 * thread touches nothing of it between pthread_create and pthread_join
 * but `running`, which only it reads and writes. */
struct spill_job {
    const struct cirrus_loader *l; /* db, run_opts: read-only meanwhile */
    struct runbuf *b;              /* the buffer written */
    struct entry files;            /* what the thread wrote */
    int rc;
    char msg[512]; /* the thread's error message, for the joiner */
    pthread_t thread;
    int running;
};

/* A sorted run: its files, in key order (an entry is the list type). */
struct run {
    struct entry files;
};

struct cirrus_loader {
    cirrus_db *db; /* borrowed */
    enum loader_state state;
    int sorted; /* the caller promised sorted keys */
    char *app_id;
    uint64_t epoch;
    uint64_t memory;           /* the budget, M */
    cirrus_options run_opts;   /* db options with run file size, no filter */
    cirrus_options final_opts; /* db options with final file size */
    uint64_t n_puts, bytes;    /* counted puts, their key + value bytes */
    uint64_t skip_seq;         /* SKIPPING: the seq that applied the epoch */
    struct sst_output *direct; /* STREAMING: the final files being written */
    struct buf last;           /* STREAMING: the last key put */
    int have_last;
    /* BUFFERING: puts go into *cur; the other buffer may be being
     * written as a run by the spill thread (invariant 5) */
    struct runbuf bufs[2];
    struct runbuf *cur;
    struct spill_job job;
    /* the runs, oldest first (invariant 1) */
    struct run *runs;
    size_t n_runs, cap_runs;
    /* the final files: what finish commits or stages */
    struct entry out;
    int commit_tried; /* finish reached db_commit: out may have landed */
};

static uint64_t min_u64(uint64_t a, uint64_t b)
{
    return a < b ? a : b;
}

/* ---- objects -------------------------------------------------------------- */

/* Deletes the files listed in e (best effort: GC collects what is left),
 * and forgets them. */
static void delete_files(cirrus_loader *l, struct entry *e)
{
    for (size_t i = 0; i < e->n_added; i++) {
        int rc = objstore_del(l->db->os, e->added[i].name);
        if (rc < 0 && rc != CIRRUS_ENOTFOUND)
            db_log(l->db, CIRRUS_LOG_WARN, "load", "cannot delete %s (GC will): %s",
                   e->added[i].name, cirrus_errmsg());
    }
    entry_clear(e);
}

static int add_run(cirrus_loader *l, struct run **out)
{
    if (l->n_runs == l->cap_runs) {
        size_t cap = l->cap_runs ? 2 * l->cap_runs : 8;
        struct run *r = realloc(l->runs, cap * sizeof(*r));
        if (!r)
            return err_nomem();
        l->runs = r;
        l->cap_runs = cap;
    }
    *out = &l->runs[l->n_runs++];
    memset(*out, 0, sizeof(**out));
    return 0;
}

/* ---- the run buffer ------------------------------------------------------- */

static uint64_t key_prefix(const uint8_t *k, size_t len)
{
    uint64_t p = 0;
    for (size_t i = 0; i < 8; i++)
        p = p << 8 | (i < len ? k[i] : 0);
    return p;
}

static const uint8_t *rec_key(const uint8_t *arena, size_t off, size_t *len)
{
    *len = decode_fixed32(arena + off);
    return arena + off + REC_HEADER;
}

static const uint8_t *rec_val(const uint8_t *arena, size_t off, size_t *len)
{
    size_t k_len = decode_fixed32(arena + off);
    *len = decode_fixed32(arena + off + 4);
    return arena + off + REC_HEADER + k_len;
}

/* qsort has no context argument: the arena being sorted, per thread. */
static _Thread_local const uint8_t *sort_arena;

/* Key order, then put order (the arena is appended to). */
static int slot_cmp(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;
    if (x->prefix != y->prefix)
        return x->prefix < y->prefix ? -1 : 1;
    size_t xl, yl;
    const uint8_t *xk = rec_key(sort_arena, x->off, &xl), *yk = rec_key(sort_arena, y->off, &yl);
    int c = ukey_compare(xk, xl, yk, yl);
    if (c)
        return c;
    return x->off < y->off ? -1 : x->off > y->off;
}

static size_t buffer_bytes(const struct runbuf *l)
{
    return l->arena_len + l->n_slots * sizeof(struct slot);
}

static int buffer_add(struct runbuf *l, const void *key, size_t k_len, const void *val,
                      size_t v_len)
{
    size_t need = REC_HEADER + k_len + v_len;
    if (l->arena_len + need > l->arena_cap) {
        size_t cap = l->arena_cap ? l->arena_cap : (size_t)1 << 16;
        while (cap < l->arena_len + need)
            cap *= 2;
        uint8_t *a = realloc(l->arena, cap);
        if (!a)
            return err_nomem();
        l->arena = a;
        l->arena_cap = cap;
    }
    if (l->n_slots == l->cap_slots) {
        size_t cap = l->cap_slots ? 2 * l->cap_slots : 1024;
        struct slot *s = realloc(l->slots, cap * sizeof(*s));
        if (!s)
            return err_nomem();
        l->slots = s;
        l->cap_slots = cap;
    }
    uint8_t *p = l->arena + l->arena_len;
    encode_fixed32(p, (uint32_t)k_len);
    encode_fixed32(p + 4, (uint32_t)v_len);
    if (k_len)
        memcpy(p + REC_HEADER, key, k_len);
    if (v_len)
        memcpy(p + REC_HEADER + k_len, val, v_len);
    l->slots[l->n_slots].prefix = key_prefix(key, k_len);
    l->slots[l->n_slots].off = l->arena_len;
    l->n_slots++;
    l->arena_len += need;
    return 0;
}

/* Sorts the buffer and writes it, one put per key (the last), to o. */
static int buffer_write(struct runbuf *l, struct sst_output *o)
{
    int rc;
    sort_arena = l->arena;
    qsort(l->slots, l->n_slots, sizeof(*l->slots), slot_cmp);
    sort_arena = NULL;
    for (size_t i = 0; i < l->n_slots; i++) {
        size_t k_len, v_len, n_len;
        const uint8_t *k = rec_key(l->arena, l->slots[i].off, &k_len), *v;
        /* the last of equal keys wins: skip the ones a later slot repeats */
        if (i + 1 < l->n_slots) {
            const uint8_t *n = rec_key(l->arena, l->slots[i + 1].off, &n_len);
            if (ukey_compare(k, k_len, n, n_len) == 0)
                continue;
        }
        v = rec_val(l->arena, l->slots[i].off, &v_len);
        if ((rc = sst_output_add_ukey(o, k, k_len, KIND_PUT, v, v_len)) < 0)
            return rc;
    }
    return sst_output_finish(o);
}

static void buffer_free(struct runbuf *l)
{
    free(l->arena);
    free(l->slots);
    l->arena = NULL;
    l->slots = NULL;
    l->arena_len = l->arena_cap = l->n_slots = l->cap_slots = 0;
}

static void *spill_thread(void *arg)
{
    struct spill_job *j = arg;
    struct sst_output *o = NULL;
    if ((j->rc = sst_output_new_commit(&o, j->l->db->os, &j->l->run_opts, &j->files)) == 0)
        j->rc = buffer_write(j->b, o);
    if (j->rc < 0)
        snprintf(j->msg, sizeof(j->msg), "%s", cirrus_errmsg());
    sst_output_free(o);
    return NULL;
}

/* After the job ran: its files become the next run (or, on failure, are
 * deleted) and its buffer is empty again. */
static int job_done(cirrus_loader *l, struct spill_job *j)
{
    struct run *r;
    int rc;
    j->b->arena_len = j->b->n_slots = 0;
    if (j->rc < 0) {
        delete_files(l, &j->files);
        return err_set(j->rc, "%s", j->msg);
    }
    if ((rc = add_run(l, &r)) < 0) {
        delete_files(l, &j->files);
        return rc;
    }
    r->files = j->files;
    memset(&j->files, 0, sizeof(j->files));
    db_log(l->db, CIRRUS_LOG_DEBUG, "load", "run %zu: %zu files", l->n_runs, r->files.n_added);
    return 0;
}

/* Joins the spill thread, if one runs (job_done). */
static int spill_wait(cirrus_loader *l)
{
    if (!l->job.running)
        return 0;
    pthread_join(l->job.thread, NULL);
    l->job.running = 0;
    return job_done(l, &l->job);
}

/* Starts writing the current buffer (if it holds anything) as the next
 * run, after the previous one, and switches to the other buffer. */
static int spill(cirrus_loader *l)
{
    struct spill_job *j = &l->job;
    int rc;
    if (l->cur->n_slots == 0)
        return 0;
    if ((rc = spill_wait(l)) < 0)
        return rc;
    j->l = l;
    j->b = l->cur;
    j->rc = 0;
    j->msg[0] = '\0';
    l->cur = l->cur == &l->bufs[0] ? &l->bufs[1] : &l->bufs[0];
    if (pthread_create(&j->thread, NULL, spill_thread, j) == 0) {
        j->running = 1;
        return 0;
    }
    spill_thread(j); /* no thread: the same work, here */
    return job_done(l, j);
}

/* ---- the merge ------------------------------------------------------------ */

/* Where the merge is in one run: its current file's reader and iterator. */
struct cursor {
    struct run *run;
    size_t run_no; /* higher: newer (wins on equal keys) */
    size_t file;   /* the next file of the run to open */
    struct sst_reader *r;
    struct iter *it;
};

static void cursor_close(struct cursor *c)
{
    iter_free(c->it);
    sst_reader_close(c->r);
    c->it = NULL;
    c->r = NULL;
}

/* Moves c to the first entry of its next non-empty file; c->it NULL once
 * the run is done. */
static int cursor_open_next(cirrus_loader *l, struct cursor *c, uint64_t readahead)
{
    int rc;
    cursor_close(c);
    while (c->file < c->run->files.n_added) {
        const struct file_meta *f = &c->run->files.added[c->file++];
        if ((rc = sst_reader_open(&c->r, l->db->os, f->name, f->size, 0, NULL)) < 0 ||
            (rc = sst_reader_iter_sequential(c->r, readahead, &c->it)) < 0)
            return rc;
        iter_first(c->it);
        if (iter_valid(c->it))
            return 0;
        if ((rc = iter_status(c->it)) < 0)
            return rc;
        cursor_close(c);
    }
    return 0;
}

static int cursor_next(cirrus_loader *l, struct cursor *c, uint64_t readahead)
{
    int rc;
    iter_next(c->it);
    if (iter_valid(c->it))
        return 0;
    if ((rc = iter_status(c->it)) < 0)
        return rc;
    return cursor_open_next(l, c, readahead);
}

/* Heap order: smaller user key first; on equal keys the newer run. */
static int cursor_before(const struct cursor *a, const struct cursor *b)
{
    size_t al, bl;
    const uint8_t *ak = iter_key(a->it, &al), *bk = iter_key(b->it, &bl);
    int c = ukey_compare(ak, ikey_user_len(al), bk, ikey_user_len(bl));
    return c < 0 || (c == 0 && a->run_no > b->run_no);
}

static void sift_down(struct cursor **h, size_t n, size_t i)
{
    for (;;) {
        size_t best = i, a = 2 * i + 1, b = a + 1;
        if (a < n && cursor_before(h[a], h[best]))
            best = a;
        if (b < n && cursor_before(h[b], h[best]))
            best = b;
        if (best == i)
            return;
        struct cursor *t = h[i];
        h[i] = h[best];
        h[best] = t;
        i = best;
    }
}

/* Merges runs[from .. from+n) into o, one put per key: the newest run's
 * (invariant 1). */
static int merge_runs(cirrus_loader *l, size_t from, size_t n, struct sst_output *o)
{
    struct cursor *cs = calloc(n, sizeof(*cs)), **heap = calloc(n, sizeof(*heap));
    struct buf last = {0};
    uint64_t ra = min_u64(MAX_READAHEAD, l->memory / 4 / n);
    size_t n_heap = 0;
    int have_last = 0, rc = 0;
    if (!cs || !heap) {
        rc = err_nomem();
        goto done;
    }
    ra = ra < MIN_READAHEAD ? MIN_READAHEAD : ra;
    for (size_t i = 0; i < n; i++) {
        cs[i].run = &l->runs[from + i];
        cs[i].run_no = i;
        if ((rc = cursor_open_next(l, &cs[i], ra)) < 0)
            goto done;
        if (cs[i].it)
            heap[n_heap++] = &cs[i];
    }
    for (size_t i = n_heap / 2; i-- > 0;)
        sift_down(heap, n_heap, i);
    while (n_heap > 0) {
        struct cursor *c = heap[0];
        size_t k_len, v_len;
        const uint8_t *k = iter_key(c->it, &k_len), *v = iter_value(c->it, &v_len);
        size_t u_len = ikey_user_len(k_len);
        /* the first of equal user keys is the newest run's: older ones go */
        if (!have_last || ukey_compare(k, u_len, last.data, last.len) != 0) {
            if ((rc = sst_output_add(o, k, k_len, v, v_len)) < 0)
                goto done;
            buf_reset(&last);
            if ((rc = buf_append(&last, k, u_len)) < 0)
                goto done;
            have_last = 1;
        }
        if ((rc = cursor_next(l, c, ra)) < 0)
            goto done;
        if (!c->it)
            heap[0] = heap[--n_heap];
        sift_down(heap, n_heap, 0);
    }
    rc = sst_output_finish(o);
done:
    for (size_t i = 0; cs && i < n; i++)
        cursor_close(&cs[i]);
    free(cs);
    free(heap);
    buf_free(&last);
    return rc;
}

/* Merges runs[from .. from+n) into one run that takes their place. */
static int merge_pass(cirrus_loader *l, size_t from, size_t n)
{
    struct sst_output *o = NULL;
    struct entry merged;
    int rc;
    memset(&merged, 0, sizeof(merged));
    if ((rc = sst_output_new_commit(&o, l->db->os, &l->run_opts, &merged)) < 0 ||
        (rc = merge_runs(l, from, n, o)) < 0) {
        /* what was written so far is listed in merged: delete it too */
        delete_files(l, &merged);
        goto done;
    }
    for (size_t i = from; i < from + n; i++)
        delete_files(l, &l->runs[i].files);
    l->runs[from].files = merged;
    memmove(&l->runs[from + 1], &l->runs[from + n], (l->n_runs - from - n) * sizeof(*l->runs));
    l->n_runs -= n - 1;
done:
    sst_output_free(o);
    return rc;
}

/* The runs merged into the final files (l->out); the runs are deleted. */
static int merge_all(cirrus_loader *l)
{
    struct sst_output *o = NULL;
    uint64_t fanin = l->memory / 4 / MIN_READAHEAD;
    int rc;
    fanin = fanin < MIN_FANIN ? MIN_FANIN : fanin;
    /* oldest runs first, so that a pass's result keeps its place in the
     * order (invariant 1) */
    while (l->n_runs > fanin)
        if ((rc = merge_pass(l, 0, (size_t)fanin)) < 0)
            return rc;
    db_log(l->db, CIRRUS_LOG_DEBUG, "load", "merging %zu runs", l->n_runs);
    if ((rc = sst_output_new_commit(&o, l->db->os, &l->final_opts, &l->out)) == 0 &&
        (rc = merge_runs(l, 0, l->n_runs, o)) == 0) {
        for (size_t i = 0; i < l->n_runs; i++)
            delete_files(l, &l->runs[i].files);
        l->n_runs = 0;
    }
    sst_output_free(o);
    return rc;
}

/* ---- the public calls ------------------------------------------------------ */

int cirrus_loader_new(cirrus_loader **out, cirrus_db *db, const cirrus_loader_options *o)
{
    cirrus_loader_options def = CIRRUS_LOADER_OPTIONS_INIT;
    cirrus_loader *l = NULL;
    int rc;
    err_clear();
    *out = NULL;
    if (!o)
        o = &def;
    if (o->version != CIRRUS_LOADER_OPTIONS_VERSION)
        return err_set(CIRRUS_EINVALID, "loader options version %d not supported", o->version);
    if (db->opts.read_only)
        return err_set(CIRRUS_EINVALID, "the database was opened read-only");
    if (o->memory_bytes && o->memory_bytes < MIN_MEMORY)
        return err_set(CIRRUS_EINVALID, "a loader needs at least %" PRIu64 " bytes of memory",
                       MIN_MEMORY);
    if (!(l = calloc(1, sizeof(*l))))
        return err_nomem();
    l->db = db;
    l->sorted = o->sorted;
    l->memory = o->memory_bytes ? o->memory_bytes : DEFAULT_MEMORY;
    l->state = STREAMING;
    l->cur = &l->bufs[0];
    l->run_opts = db->opts;
    l->run_opts.target_file_size = min_u64(db->opts.target_file_size, l->memory / 16);
    l->run_opts.bloom_bits_per_key = 0;
    l->final_opts = db->opts;
    l->final_opts.target_file_size = min_u64(db->opts.target_file_size, l->memory / 4);
    if (o->app_id) {
        l->epoch = o->epoch;
        if (!(l->app_id = strdup(o->app_id))) {
            rc = err_nomem();
            goto done;
        }
        /* an applied epoch stays applied: the load can skip the work */
        if ((rc = db_app_applied(db, l->app_id, l->epoch, &l->skip_seq)) < 0)
            goto done;
        if (rc == 1)
            l->state = SKIPPING;
    }
    if (l->state == STREAMING &&
        (rc = sst_output_new_commit(&l->direct, db->os, &l->final_opts, &l->out)) < 0)
        goto done;
    *out = l;
    l = NULL;
    rc = 0;
done:
    cirrus_loader_free(l);
    return rc;
}

/* STREAMING -> BUFFERING: the direct files become run 0. */
static int stop_streaming(cirrus_loader *l)
{
    struct run *r;
    int rc;
    if ((rc = sst_output_finish(l->direct)) < 0)
        return rc;
    sst_output_free(l->direct);
    l->direct = NULL;
    buf_free(&l->last);
    l->state = BUFFERING;
    if (l->out.n_added == 0)
        return 0;
    if ((rc = add_run(l, &r)) < 0)
        return rc;
    r->files = l->out;
    memset(&l->out, 0, sizeof(l->out));
    return 0;
}

static int put_streaming(cirrus_loader *l, const void *key, size_t k_len, const void *val,
                         size_t v_len)
{
    int rc;
    if (!l->have_last || ukey_compare(key, k_len, l->last.data, l->last.len) > 0) {
        if ((rc = sst_output_add_ukey(l->direct, key, k_len, KIND_PUT, val, v_len)) < 0)
            return rc;
        buf_reset(&l->last);
        l->have_last = 1;
        return buf_append(&l->last, key, k_len);
    }
    if (l->sorted)
        return err_set(CIRRUS_EINVALID,
                       "put %" PRIu64 ": the key is not above the one before (sorted input "
                       "was promised)",
                       l->n_puts + 1);
    if ((rc = stop_streaming(l)) < 0)
        return rc;
    return buffer_add(l->cur, key, k_len, val, v_len);
}

int cirrus_loader_put(cirrus_loader *l, const void *key, size_t key_len, const void *val,
                      size_t val_len)
{
    int rc = 0;
    err_clear();
    if (l->state == FINISHED || l->state == FAILED)
        return err_set(CIRRUS_EINVALID, "the loader has %s",
                       l->state == FAILED ? "failed" : "finished");
    if ((!key && key_len) || (!val && val_len))
        return err_set(CIRRUS_EINVALID, "loader: NULL bytes with a length");
    if (key_len > UINT32_MAX || val_len > UINT32_MAX)
        return err_set(CIRRUS_EINVALID, "loader: a key or value of 4 GiB or more");
    if (l->state == STREAMING) {
        rc = put_streaming(l, key, key_len, val, val_len);
        /* a refused unsorted key leaves the loader usable */
        if (rc == CIRRUS_EINVALID && l->state == STREAMING)
            return rc;
    } else if (l->state == BUFFERING) {
        /* room for this put? else the buffer becomes a run first */
        if (l->cur->n_slots &&
            buffer_bytes(l->cur) + REC_HEADER + key_len + val_len + sizeof(struct slot) >
                l->memory / 4)
            rc = spill(l);
        if (rc == 0)
            rc = buffer_add(l->cur, key, key_len, val, val_len);
    }
    if (rc < 0) {
        l->state = FAILED;
        return rc;
    }
    l->n_puts++;
    l->bytes += key_len + val_len;
    return 0;
}

uint64_t cirrus_loader_count(const cirrus_loader *l)
{
    return l->n_puts;
}

uint64_t cirrus_loader_bytes(const cirrus_loader *l)
{
    return l->bytes;
}

/* Everything put, as the final files in l->out. */
static int write_final(cirrus_loader *l)
{
    struct sst_output *o = NULL;
    int rc = 0;
    if (l->state == STREAMING) {
        /* sorted all along: the direct files are the final ones */
        rc = sst_output_finish(l->direct);
        sst_output_free(l->direct);
        l->direct = NULL;
        return rc;
    }
    if ((rc = spill_wait(l)) < 0)
        return rc;
    if (l->n_runs == 0) {
        /* it fitted in memory: one sorted buffer, no run */
        if ((rc = sst_output_new_commit(&o, l->db->os, &l->final_opts, &l->out)) == 0)
            rc = buffer_write(l->cur, o);
        sst_output_free(o);
        buffer_free(&l->bufs[0]);
        buffer_free(&l->bufs[1]);
        return rc;
    }
    if ((rc = spill(l)) < 0 || (rc = spill_wait(l)) < 0)
        return rc;
    buffer_free(&l->bufs[0]);
    buffer_free(&l->bufs[1]);
    return merge_all(l);
}

/* Shared by finish and stage: the state check and the final files. */
static int finish_files(cirrus_loader *l)
{
    int rc;
    if (l->state == FINISHED || l->state == FAILED)
        return err_set(CIRRUS_EINVALID, "the loader has %s",
                       l->state == FAILED ? "failed" : "finished");
    if (l->state == SKIPPING)
        return 0;
    if ((rc = write_final(l)) < 0)
        l->state = FAILED;
    else
        db_log(l->db, CIRRUS_LOG_INFO, "load", "%" PRIu64 " puts, %" PRIu64 " bytes in %zu files",
               l->n_puts, l->bytes, l->out.n_added);
    return rc;
}

int cirrus_loader_finish(cirrus_loader *l, uint64_t *seq_out, int *applied_out)
{
    uint64_t seq = l->skip_seq;
    int applied = 0, rc;
    err_clear();
    if ((rc = finish_files(l)) < 0)
        return rc;
    if (l->state != SKIPPING && l->out.n_added == 0 && l->app_id) {
        rc = err_set(CIRRUS_EINVALID, "nothing to load for app %s epoch %" PRIu64, l->app_id,
                     l->epoch);
    } else if (l->state != SKIPPING && l->out.n_added == 0) {
        /* an empty load commits nothing: the head, as it stands */
        if ((rc = db_flush(l->db, NULL)) == 0)
            rc = db_refresh(l->db, &seq);
    } else if (l->state != SKIPPING && l->app_id) {
        rc = db_app_applied(l->db, l->app_id, l->epoch, &seq);
        if (rc == 0 && (rc = db_new_write_entry(l->db, &l->out)) == 0) {
            l->commit_tried = 1;
            rc = db_commit_once(l->db, &l->out, l->app_id, l->epoch, &seq, &applied);
        }
        /* rc 1: applied meanwhile; the files go (free) */
    } else if (l->state != SKIPPING) {
        /* buffered writes of this handle were made first: they commit first */
        if ((rc = db_flush(l->db, NULL)) == 0 && (rc = db_new_write_entry(l->db, &l->out)) == 0) {
            l->commit_tried = 1;
            rc = db_commit(l->db, &l->out, NULL, NULL, &seq, NULL);
            applied = 1;
        }
    }
    l->state = rc < 0 ? FAILED : FINISHED;
    if (rc < 0)
        return rc;
    if (seq_out)
        *seq_out = seq;
    if (applied_out)
        *applied_out = applied;
    return 0;
}

int cirrus_loader_stage(cirrus_loader *l, char **desc_out)
{
    int rc;
    err_clear();
    *desc_out = NULL;
    if (l->app_id)
        return err_set(CIRRUS_EINVALID, "a loader with an app id commits; it cannot stage");
    if ((rc = finish_files(l)) < 0)
        return rc;
    if (l->out.n_added == 0)
        rc = err_set(CIRRUS_EINVALID, "nothing to stage: no put");
    else
        rc = db_stage_descriptor(l->db, &l->out, desc_out);
    l->state = rc < 0 ? FAILED : FINISHED;
    /* staged: the files belong to the descriptor now */
    if (rc == 0)
        l->commit_tried = 1;
    return rc;
}

void cirrus_loader_free(cirrus_loader *l)
{
    if (!l)
        return;
    sst_output_free(l->direct);
    spill_wait(l); /* its files are deleted as a run's */
    for (size_t i = 0; i < l->n_runs; i++)
        delete_files(l, &l->runs[i].files);
    /* committed, staged, or maybe committed (an unknown outcome): the
     * files are not ours to delete; else nothing references them */
    if (!l->commit_tried)
        delete_files(l, &l->out);
    entry_clear(&l->out);
    free(l->runs);
    buffer_free(&l->bufs[0]);
    buffer_free(&l->bufs[1]);
    buf_free(&l->last);
    free(l->app_id);
    free(l);
}
