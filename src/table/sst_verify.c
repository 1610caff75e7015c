/*
 * sst_verify.c - the deep check of one SST file (contract in sst_verify.h).
 *
 * The object is read whole into memory, and every part of it is decoded
 * from there by the functions the reader uses (sst_decode_footer,
 * sst_check_handle, sst_unwrap_block, sst_decode_props, the block
 * iterator), so that verifier and reader cannot disagree on what a byte
 * means. Those functions fail with a message that opens with the object
 * name; absorb() turns such a failure into a reported problem when it means
 * damage (CIRRUS_ECORRUPT, CIRRUS_EVERSION) and lets any other (CIRRUS_ENOMEM)
 * end the check.
 *
 * Order of the check: footer, properties, filter, index, then the data
 * blocks in index order, and last what needs all of them (layout, the
 * properties against the data and the description, the filter's misses).
 */
#include "table/sst_verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "objstore/objstore.h"
#include "table/block.h"
#include "table/bloom.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "table/sst_format.h"
#include "util/buf.h"
#include "util/status.h"

#define MSG_MAX 512
/* user key bytes a message shows; each may take 4 characters (\xNN) */
#define KEY_SHOWN 32
#define KEY_TEXT (KEY_SHOWN * 4 + 64)
#define PART_MAX 64

struct verify {
    const char *name; /* borrowed */
    struct sst_expect expect;
    sst_problem_fn fn;
    void *arg;
    uint64_t n_problems;
    char first[MSG_MAX]; /* the first problem, for the returned message */
    const uint8_t *file; /* the object's bytes (borrowed) */
    uint64_t size;       /* bytes of the object */
    struct sst_footer footer;
    struct sst_props props; /* the properties block, when have_props */
    int have_props;
    /* the filter's contents (into file or filter_mem); NULL: none, or
     * unreadable */
    const uint8_t *filter;
    size_t filter_len;
    uint8_t *filter_mem;
    /* What the data blocks hold, tallied as they are walked. seen.smallest
     * and seen.largest are set (borrowed from the bufs) only at the end. */
    struct sst_props seen;
    int data_ok;         /* every data block was read and decoded */
    int place_known;     /* next_off is where the next block must start */
    uint64_t next_off;   /* end of the last block placed, trailer included */
    struct buf prev;     /* the last internal key so far, as presented */
    int have_prev;       /* prev holds one */
    struct buf smallest; /* the first user key */
    uint64_t n_absent;   /* keys the filter calls absent */
    struct buf first_absent;
};

static void report(struct verify *v, const char *fmt, ...) CIRRUS_PRINTF(2, 3);

static void report(struct verify *v, const char *fmt, ...)
{
    char msg[MSG_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (v->n_problems++ == 0)
        memcpy(v->first, msg, sizeof(msg));
    if (v->fn)
        v->fn(v->name, msg, v->arg);
}

/* A failed decoder's rc: damage is reported (its message without the object
 * name it opens with) and becomes 0; anything else is returned. */
static int absorb(struct verify *v, int rc)
{
    const char *msg = cirrus_errmsg();
    size_t n = strlen(v->name);
    if (rc != CIRRUS_ECORRUPT && rc != CIRRUS_EVERSION)
        return rc;
    if (strncmp(msg, v->name, n) == 0 && msg[n] == ':' && msg[n + 1] == ' ')
        msg += n + 2;
    report(v, "%s", msg);
    return 0;
}

/* A user key for a message, quoted: printable bytes as they are, others as
 * \xNN, at most KEY_SHOWN bytes. */
static const char *key_text(char out[KEY_TEXT], const uint8_t *k, size_t len)
{
    size_t n = 0, shown = len < KEY_SHOWN ? len : KEY_SHOWN;
    out[n++] = '"';
    for (size_t i = 0; i < shown; i++) {
        if (k[i] >= 0x20 && k[i] < 0x7f && k[i] != '"' && k[i] != '\\')
            out[n++] = (char)k[i];
        else
            n += (size_t)snprintf(out + n, KEY_TEXT - n, "\\x%02x", k[i]);
    }
    out[n++] = '"';
    if (shown < len)
        n += (size_t)snprintf(out + n, KEY_TEXT - n, "... (%zu bytes)", len);
    out[n] = '\0';
    return out;
}

/* An internal key for a message: its user key and seq. */
static const char *ikey_text(char out[KEY_TEXT], const uint8_t *k, size_t len)
{
    size_t ulen = ikey_user_len(len);
    key_text(out, k, ulen);
    size_t n = strlen(out);
    snprintf(out + n, KEY_TEXT - n, " seq %llu", (unsigned long long)ikey_seq(k, len));
    return out;
}

static uint64_t block_end(const struct block_handle *h)
{
    return h->off + h->size + SST_TRAILER_LEN;
}

/* Blocks follow one another without gaps (docs/FORMAT.md), so that every
 * byte of a sound file lies under a checksum: block `what` at h must start
 * where the one before it ended. */
static void check_place(struct verify *v, const struct block_handle *h, const char *what)
{
    if (v->place_known && h->off != v->next_off)
        report(v,
               "%s block at offset %llu: expected at offset %llu (blocks follow one another "
               "without gaps)",
               what, (unsigned long long)h->off, (unsigned long long)v->next_off);
    v->place_known = 1;
    v->next_off = block_end(h);
}

/*
 * The contents of block `what` at h, checked: into the file, or into *mem_out
 * (malloc'd, caller frees; NULL when not needed). Returns 1 when the block is
 * sound, 0 when a problem was reported, or an error.
 */
static int get_block(struct verify *v, const struct block_handle *h, const char *what,
                     const uint8_t **data_out, size_t *len_out, uint8_t **mem_out)
{
    int rc = 0;
    *mem_out = NULL;
    if ((rc = sst_check_handle(h, v->size, v->name, what)) < 0 ||
        (rc = sst_unwrap_block(data_out, len_out, mem_out, v->file + h->off, h, v->name, what)) < 0)
        return absorb(v, rc);
    return 1;
}

/* Returns 1 when the footer is sound and names an index, else 0 (reported). */
static int check_footer(struct verify *v)
{
    int rc = 0;
    uint64_t off;
    if (v->size < SST_FOOTER_LEN) {
        report(v, "object of %llu bytes is too short for a footer", (unsigned long long)v->size);
        goto done;
    }
    off = v->size - SST_FOOTER_LEN;
    if ((rc = sst_decode_footer(v->file + off, v->name, off, &v->footer)) < 0) {
        rc = absorb(v, rc);
        goto done;
    }
    if (v->footer.props.size == 0)
        report(v, "footer at offset %llu: no properties block", (unsigned long long)off);
    if (v->footer.index.size == 0)
        report(v, "footer at offset %llu: no index block", (unsigned long long)off);
    else
        rc = 1;
done:
    return rc;
}

static int load_props(struct verify *v)
{
    int rc = 0;
    const struct block_handle *h = &v->footer.props;
    const uint8_t *data = NULL;
    uint8_t *mem = NULL;
    size_t len = 0;
    if (h->size == 0 || (rc = get_block(v, h, "properties", &data, &len, &mem)) <= 0)
        goto done;
    if ((rc = sst_decode_props(data, len, &v->props)) < 0) {
        err_prefix(rc, "%s: properties block at offset %llu", v->name, (unsigned long long)h->off);
        sst_props_clear(&v->props);
        rc = absorb(v, rc);
        goto done;
    }
    rc = 0;
    v->have_props = 1;
    /* an L0 file stores seq 0 everywhere; anything else is not one */
    if (v->expect.global_seq && v->props.max_seq != 0)
        report(v,
               "properties block at offset %llu: max seq %llu in a file read with global seq "
               "%llu",
               (unsigned long long)h->off, (unsigned long long)v->props.max_seq,
               (unsigned long long)v->expect.global_seq);
done:
    free(mem);
    return rc;
}

static int load_filter(struct verify *v)
{
    int rc = 0;
    const struct block_handle *h = &v->footer.filter;
    const uint8_t *data = NULL;
    size_t len = 0;
    if (h->size == 0 || (rc = get_block(v, h, "filter", &data, &len, &v->filter_mem)) <= 0)
        goto done;
    rc = 0;
    v->filter = data;
    v->filter_len = len;
done:
    return rc;
}

static int remember(struct verify *v, const uint8_t *k, size_t klen)
{
    buf_reset(&v->prev);
    v->have_prev = 1;
    return buf_append(&v->prev, k, klen);
}

/* Adds one entry to what the data holds. */
static int tally(struct verify *v, const uint8_t *k, size_t klen, size_t vlen)
{
    int rc = 0;
    struct sst_props *s = &v->seen;
    size_t ulen = ikey_user_len(klen);
    /* the seq as stored: with a global seq the iterator has checked it is 0 */
    uint64_t seq = v->expect.global_seq ? 0 : ikey_seq(k, klen);
    if (s->n_entries == 0 && (rc = buf_append(&v->smallest, k, ulen)) < 0)
        goto done;
    if (s->n_entries == 0 || seq < s->min_seq)
        s->min_seq = seq;
    if (s->n_entries == 0 || seq > s->max_seq)
        s->max_seq = seq;
    s->n_entries++;
    if (ikey_kind(k, klen) == KIND_DELETE)
        s->n_deletes++;
    s->raw_key_bytes += ulen;
    s->raw_value_bytes += vlen;
    if (v->filter && !bloom_may_contain(v->filter, v->filter_len, k, ulen) && v->n_absent++ == 0 &&
        (rc = buf_append(&v->first_absent, k, ulen)) < 0)
        goto done;
    rc = remember(v, k, klen);
done:
    return rc;
}

/* Walks the entries of the data block at offset `off`: order, kinds, the
 * tallies. At most one order or kind problem is reported per block. */
static int check_entries(struct verify *v, struct block_iter *it, uint64_t off, uint64_t *n_out)
{
    int rc = 0, flagged = 0;
    uint64_t n = 0;
    for (iter_first(&it->base); iter_valid(&it->base); iter_next(&it->base), n++) {
        const uint8_t *k = it->key.data;
        size_t klen = it->key.len;
        int kind = ikey_kind(k, klen);
        if (!flagged && v->have_prev && ikey_compare(v->prev.data, v->prev.len, k, klen) >= 0) {
            char a[KEY_TEXT], b[KEY_TEXT];
            if (n == 0)
                report(v,
                       "data block at offset %llu: first key %s is not greater than the last "
                       "key before the block, %s",
                       (unsigned long long)off, ikey_text(a, k, klen),
                       ikey_text(b, v->prev.data, v->prev.len));
            else
                report(v,
                       "data block at offset %llu: key %s at block offset %u is not greater "
                       "than the key before it, %s",
                       (unsigned long long)off, ikey_text(a, k, klen), it->cur,
                       ikey_text(b, v->prev.data, v->prev.len));
            flagged = 1;
        }
        if (!flagged && kind > KIND_PUT_TTL) {
            report(v, "data block at offset %llu: entry at block offset %u has unknown kind %d",
                   (unsigned long long)off, it->cur, kind);
            flagged = 1;
        }
        if ((rc = tally(v, k, klen, it->val_len)) < 0)
            goto done;
    }
    if ((rc = iter_status(&it->base)) < 0)
        goto done;
    if (n == 0)
        report(v, "data block at offset %llu: no entries", (unsigned long long)off);
    *n_out = n;
done:
    return rc;
}

/* One data block, whose index entry has key `last`. */
static int check_data_block(struct verify *v, const struct block_handle *h, const uint8_t *last,
                            size_t last_len)
{
    int rc = 0;
    const uint8_t *data = NULL;
    uint8_t *mem = NULL;
    size_t len = 0;
    uint64_t n = 0;
    struct block_iter it = {0};
    struct block_origin o = {v->name, "data", h->off};
    if ((rc = sst_check_handle(h, v->size, v->name, "data")) < 0) {
        v->place_known = 0;
        goto done;
    }
    check_place(v, h, "data");
    if ((rc = sst_unwrap_block(&data, &len, &mem, v->file + h->off, h, v->name, "data")) < 0)
        goto done;
    block_iter_init(&it, data, len, &o, v->expect.global_seq);
    if ((rc = check_entries(v, &it, h->off, &n)) < 0)
        goto done;
    /* the entries are all counted: a bad restart array spoils no tally */
    if ((rc = block_iter_check_restarts(&it)) < 0 && (rc = absorb(v, rc)) < 0)
        goto done;
    if (n > 0 && (v->prev.len != last_len || memcmp(v->prev.data, last, last_len) != 0)) {
        char a[KEY_TEXT], b[KEY_TEXT];
        report(v,
               "index block at offset %llu: key %s of the entry for the data block at offset "
               "%llu is not the block's last key, %s",
               (unsigned long long)v->footer.index.off, ikey_text(a, last, last_len),
               (unsigned long long)h->off, ikey_text(b, v->prev.data, v->prev.len));
    }
done:
    if (rc < 0) {
        v->data_ok = 0;
        /* key order goes on from the key the index says the block ends with */
        if ((rc = absorb(v, rc)) == 0)
            rc = remember(v, last, last_len);
    }
    block_iter_clear(&it);
    free(mem);
    return rc;
}

/* The index, and through it every data block. */
static int check_index(struct verify *v)
{
    int rc = 0;
    const struct block_handle *ih = &v->footer.index;
    const uint8_t *data = NULL;
    uint8_t *mem = NULL;
    size_t len = 0;
    uint64_t n = 0;
    struct block_iter ix = {0};
    struct block_origin o = {v->name, "index", ih->off};
    v->place_known = 1; /* the first data block starts the file */
    if ((rc = get_block(v, ih, "index", &data, &len, &mem)) <= 0) {
        v->place_known = 0;
        goto done;
    }
    rc = 0;
    v->data_ok = 1;
    block_iter_init(&ix, data, len, &o, v->expect.global_seq);
    for (iter_first(&ix.base); iter_valid(&ix.base); iter_next(&ix.base)) {
        struct block_handle h;
        n++;
        if (sst_get_handle(ix.val, ix.val_len, &h) < 0) {
            report(v, "index block at offset %llu: bad block handle at block offset %u",
                   (unsigned long long)ih->off, ix.cur);
            v->data_ok = 0;
            v->place_known = 0;
            continue;
        }
        if ((rc = check_data_block(v, &h, ix.key.data, ix.key.len)) < 0)
            goto done;
    }
    if ((rc = iter_status(&ix.base)) < 0) {
        v->data_ok = 0;
        v->place_known = 0;
        rc = absorb(v, rc);
        goto done;
    }
    if ((rc = block_iter_check_restarts(&ix)) < 0 && (rc = absorb(v, rc)) < 0)
        goto done;
    if (n == 0) {
        report(v, "index block at offset %llu: no entries (a file has a data block)",
               (unsigned long long)ih->off);
        v->data_ok = 0;
    }
    v->seen.n_data_blocks = n;
done:
    block_iter_clear(&ix);
    free(mem);
    return rc;
}

/* Filter, properties and index follow the data; the footer ends the file. */
static void check_layout(struct verify *v)
{
    const struct sst_footer *f = &v->footer;
    const struct block_handle *hs[] = {&f->filter, &f->props, &f->index};
    const char *whats[] = {"filter", "properties", "index"};
    for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
        if (hs[i]->size == 0)
            continue;
        if (sst_check_handle(hs[i], v->size, v->name, whats[i]) < 0)
            v->place_known = 0; /* reported when it was read */
        else
            check_place(v, hs[i], whats[i]);
    }
    if (v->place_known && v->next_off != v->size - SST_FOOTER_LEN)
        report(v,
               "footer at offset %llu: expected at offset %llu (blocks follow one another without "
               "gaps)",
               (unsigned long long)(v->size - SST_FOOTER_LEN), (unsigned long long)v->next_off);
}

static void differ_number(struct verify *v, const char *part, const char *field, uint64_t have,
                          uint64_t want, const char *against)
{
    if (have != want)
        report(v, "%s: %s %llu, %s %llu", part, field, (unsigned long long)have, against,
               (unsigned long long)want);
}

static void differ_key(struct verify *v, const char *part, const char *field, const uint8_t *have,
                       size_t have_len, const uint8_t *want, size_t want_len, const char *against)
{
    char a[KEY_TEXT], b[KEY_TEXT];
    if (ukey_compare(have, have_len, want, want_len) != 0)
        report(v, "%s: %s %s, %s %s", part, field, key_text(a, have, have_len), against,
               key_text(b, want, want_len));
}

/* The properties against what the data blocks hold. */
static void compare_data(struct verify *v, const char *part)
{
    const struct sst_props *p = &v->props, *s = &v->seen;
    const char *data = "the data blocks hold";
    differ_key(v, part, "smallest key", p->smallest, p->smallest_len, s->smallest, s->smallest_len,
               data);
    differ_key(v, part, "largest key", p->largest, p->largest_len, s->largest, s->largest_len,
               data);
    differ_number(v, part, "min_seq", p->min_seq, s->min_seq, data);
    differ_number(v, part, "max_seq", p->max_seq, s->max_seq, data);
    differ_number(v, part, "n_entries", p->n_entries, s->n_entries, data);
    differ_number(v, part, "n_deletes", p->n_deletes, s->n_deletes, data);
    differ_number(v, part, "n_data_blocks", p->n_data_blocks, s->n_data_blocks, data);
    differ_number(v, part, "raw_key_bytes", p->raw_key_bytes, s->raw_key_bytes, data);
    differ_number(v, part, "raw_value_bytes", p->raw_value_bytes, s->raw_value_bytes, data);
}

/* What the file says of itself (its properties, or failing those its data)
 * against its description. Seqs as readers see them. */
static void compare_expect(struct verify *v, const char *part, const struct sst_props *p)
{
    const struct sst_expect *e = &v->expect;
    const char *exp = "expected";
    uint64_t g = e->global_seq;
    if (e->have_keys) {
        differ_key(v, part, "smallest key", p->smallest, p->smallest_len, e->smallest,
                   e->smallest_len, exp);
        differ_key(v, part, "largest key", p->largest, p->largest_len, e->largest, e->largest_len,
                   exp);
    }
    if (e->have_seqs) {
        differ_number(v, part, g ? "min_seq (global seq)" : "min_seq", g ? g : p->min_seq,
                      e->min_seq, exp);
        differ_number(v, part, g ? "max_seq (global seq)" : "max_seq", g ? g : p->max_seq,
                      e->max_seq, exp);
    }
    if (e->have_counts) {
        differ_number(v, part, "n_entries", p->n_entries, e->n_entries, exp);
        differ_number(v, part, "n_deletes", p->n_deletes, e->n_deletes, exp);
    }
}

static void finish_checks(struct verify *v)
{
    char part[PART_MAX];
    v->seen.smallest = v->smallest.data;
    v->seen.smallest_len = v->smallest.len;
    if (v->data_ok) {
        v->seen.largest = v->prev.data;
        v->seen.largest_len = ikey_user_len(v->prev.len);
    }
    check_layout(v);
    snprintf(part, sizeof(part), "properties block at offset %llu",
             (unsigned long long)v->footer.props.off);
    if (v->have_props && v->data_ok)
        compare_data(v, part);
    if (v->have_props)
        compare_expect(v, part, &v->props);
    else if (v->data_ok)
        compare_expect(v, "data blocks", &v->seen);
    if (v->n_absent) {
        char k[KEY_TEXT];
        report(v, "filter block at offset %llu: %llu of %llu keys reported absent (first %s)",
               (unsigned long long)v->footer.filter.off, (unsigned long long)v->n_absent,
               (unsigned long long)v->seen.n_entries,
               key_text(k, v->first_absent.data, v->first_absent.len));
    }
    /* borrowed from the bufs, which verify_clear() frees */
    v->seen.smallest = v->seen.largest = NULL;
}

static int check_file(struct verify *v)
{
    int rc = 0;
    if ((rc = check_footer(v)) <= 0)
        goto done;
    if ((rc = load_props(v)) < 0 || (rc = load_filter(v)) < 0 || (rc = check_index(v)) < 0)
        goto done;
    finish_checks(v);
done:
    return rc;
}

static void verify_clear(struct verify *v)
{
    sst_props_clear(&v->props);
    free(v->filter_mem);
    buf_free(&v->prev);
    buf_free(&v->smallest);
    buf_free(&v->first_absent);
}

int sst_verify(uint64_t *bytes_read_out, struct objstore *os, const char *name,
               const struct sst_expect *expect, sst_problem_fn fn, void *arg)
{
    int rc = 0;
    uint8_t *file = NULL;
    size_t len = 0;
    struct verify v = {.name = name, .fn = fn, .arg = arg};
    if (expect)
        v.expect = *expect;
    if (bytes_read_out)
        *bytes_read_out = 0;
    if ((rc = objstore_get_all(os, name, &file, &len)) < 0) {
        err_prefix(rc, "%s: reading the object", name);
        goto done;
    }
    if (bytes_read_out)
        *bytes_read_out = len;
    v.file = file;
    v.size = len;
    /* the object is checked as it is, whatever its description says */
    if (v.expect.size && len != v.expect.size)
        report(&v, "object: %zu bytes, expected %llu", len, (unsigned long long)v.expect.size);
    if ((rc = check_file(&v)) < 0)
        goto done;
    rc = 0;
    if (v.n_problems > 1)
        rc = err_set(CIRRUS_ECORRUPT, "%s: %s (%llu problems in all)", name, v.first,
                     (unsigned long long)v.n_problems);
    else if (v.n_problems)
        rc = err_set(CIRRUS_ECORRUPT, "%s: %s", name, v.first);
done:
    verify_clear(&v);
    free(file);
    return rc;
}
