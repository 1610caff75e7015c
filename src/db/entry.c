#include "db/entry.h"

#include <stdlib.h>
#include <string.h>

#include "cirrus.h"
#include "db/filename.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/status.h"

#define ENTRY_MAGIC 0x544e4543u /* "CENT" little-endian */

/* Field tags. Odd: a reader must understand it; even: may be skipped. */
enum {
    TAG_ADDED = 1,
    TAG_REMOVED = 3,
    TAG_APP = 5,
    TAG_DELTA = 7,
    TAG_HORIZON = 9,
    TAG_RANGE_DEL = 11,
    TAG_WRITER = 2,
    TAG_FILE_TIME = 4,
};

void file_meta_clear(struct file_meta *f)
{
    free(f->name);
    free(f->smallest);
    free(f->largest);
    memset(f, 0, sizeof(*f));
}

static int dup_bytes(uint8_t **dst, const uint8_t *src, size_t len)
{
    *dst = malloc(len ? len : 1);
    if (!*dst)
        return err_nomem();
    if (len)
        memcpy(*dst, src, len);
    return 0;
}

int file_meta_copy(struct file_meta *dst, const struct file_meta *src)
{
    int rc;
    *dst = *src;
    dst->name = NULL;
    dst->smallest = dst->largest = NULL;
    if (!(dst->name = strdup(src->name))) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = dup_bytes(&dst->smallest, src->smallest, src->smallest_len)) < 0)
        goto done;
    rc = dup_bytes(&dst->largest, src->largest, src->largest_len);
done:
    if (rc < 0)
        file_meta_clear(dst);
    return rc;
}

int file_meta_encode(struct buf *b, const struct file_meta *f)
{
    int rc;
    if ((rc = buf_put_lenbytes(b, f->name, strlen(f->name))) < 0 ||
        (rc = buf_put_varint(b, f->size)) < 0 || (rc = buf_put_varint(b, f->level)) < 0 ||
        (rc = buf_put_varint(b, f->global_seq == ENTRY_SEQ_SELF ? 1 : 0)) < 0 ||
        (rc = buf_put_varint(b, f->global_seq == ENTRY_SEQ_SELF ? 0 : f->global_seq)) < 0 ||
        (rc = buf_put_lenbytes(b, f->smallest, f->smallest_len)) < 0 ||
        (rc = buf_put_lenbytes(b, f->largest, f->largest_len)) < 0 ||
        (rc = buf_put_varint(b, f->min_seq)) < 0 || (rc = buf_put_varint(b, f->max_seq)) < 0 ||
        (rc = buf_put_varint(b, f->n_entries)) < 0 || (rc = buf_put_varint(b, f->n_deletes)) < 0)
        return rc;
    return 0;
}

static int dup_string(char **dst, const uint8_t *src, size_t len)
{
    if (memchr(src, '\0', len))
        return -1;
    *dst = malloc(len + 1);
    if (!*dst)
        return -2;
    memcpy(*dst, src, len);
    (*dst)[len] = '\0';
    return 0;
}

/* Returns 0, -1 (malformed) or CIRRUS_ENOMEM. */
int file_meta_decode(const uint8_t **p, const uint8_t *end, struct file_meta *f)
{
    const uint8_t *name, *sm, *lg;
    size_t name_len;
    uint64_t level, self;
    int rc = -1;
    memset(f, 0, sizeof(*f));
    if (get_lenbytes(p, end, &name, &name_len) < 0 || get_varint64(p, end, &f->size) < 0 ||
        get_varint64(p, end, &level) < 0 || get_varint64(p, end, &self) < 0 ||
        get_varint64(p, end, &f->global_seq) < 0 ||
        get_lenbytes(p, end, &sm, &f->smallest_len) < 0 ||
        get_lenbytes(p, end, &lg, &f->largest_len) < 0 || get_varint64(p, end, &f->min_seq) < 0 ||
        get_varint64(p, end, &f->max_seq) < 0 || get_varint64(p, end, &f->n_entries) < 0 ||
        get_varint64(p, end, &f->n_deletes) < 0)
        goto done;
    if (level >= CIRRUS_MAX_LEVELS || self > 1 || name_len == 0)
        goto done;
    f->level = (uint32_t)level;
    if (self)
        f->global_seq = ENTRY_SEQ_SELF;
    int r = dup_string(&f->name, name, name_len);
    if (r != 0) {
        rc = r == -2 ? err_nomem() : -1;
        goto done;
    }
    if (dup_bytes(&f->smallest, sm, f->smallest_len) < 0 ||
        dup_bytes(&f->largest, lg, f->largest_len) < 0) {
        rc = CIRRUS_ENOMEM;
        goto done;
    }
    /* descriptions written before the write time was (and those of
     * manifests) carry it only in the name */
    struct filename fn;
    if (filename_parse(f->name, &fn) && fn.kind == FILENAME_SST)
        f->write_time_ms = fn.time_ms;
    rc = 0;
done:
    if (rc < 0)
        file_meta_clear(f);
    return rc;
}

void range_del_clear(struct range_del *r)
{
    free(r->from);
    free(r->to);
    memset(r, 0, sizeof(*r));
}

int range_del_copy(struct range_del *dst, const struct range_del *src)
{
    memset(dst, 0, sizeof(*dst));
    dst->from_len = src->from_len;
    dst->to_len = src->to_len;
    dst->seq = src->seq;
    if (dup_bytes(&dst->from, src->from, src->from_len) < 0 ||
        dup_bytes(&dst->to, src->to, src->to_len) < 0) {
        range_del_clear(dst);
        return CIRRUS_ENOMEM;
    }
    return 0;
}

int range_del_encode(struct buf *b, const struct range_del *r)
{
    int rc;
    if ((rc = buf_put_lenbytes(b, r->from, r->from_len)) < 0 ||
        (rc = buf_put_lenbytes(b, r->to, r->to_len)) < 0)
        return rc;
    return buf_put_varint(b, r->seq);
}

/* Returns 0, -1 (malformed) or CIRRUS_ENOMEM. */
int range_del_decode(const uint8_t **p, const uint8_t *end, struct range_del *r)
{
    const uint8_t *from, *to;
    size_t from_len, to_len;
    uint64_t seq;
    memset(r, 0, sizeof(*r));
    if (get_lenbytes(p, end, &from, &from_len) < 0 || get_lenbytes(p, end, &to, &to_len) < 0 ||
        get_varint64(p, end, &seq) < 0)
        return -1;
    struct range_del tmp = {(uint8_t *)from, (uint8_t *)to, from_len, to_len, seq};
    return range_del_copy(r, &tmp);
}

void entry_clear(struct entry *e)
{
    for (size_t i = 0; i < e->n_ranges; i++)
        range_del_clear(&e->ranges[i]);
    free(e->ranges);
    for (size_t i = 0; i < e->n_added; i++)
        file_meta_clear(&e->added[i]);
    free(e->added);
    for (size_t i = 0; i < e->n_removed; i++)
        free(e->removed[i]);
    free(e->removed);
    free(e->writer);
    free(e->app_id);
    free(e->delta_name);
    memset(e, 0, sizeof(*e));
}

int entry_add_file(struct entry *e, const struct file_meta *f)
{
    struct file_meta *a = realloc(e->added, (e->n_added + 1) * sizeof(*a));
    if (!a)
        return err_nomem();
    e->added = a;
    int rc = file_meta_copy(&e->added[e->n_added], f);
    if (rc == 0)
        e->n_added++;
    return rc;
}

/* Appends tag, then the field's encoding from `field` as its length-prefixed
 * body. */
static int put_field(struct buf *b, uint64_t tag, const struct buf *field)
{
    int rc;
    if ((rc = buf_put_varint(b, tag)) < 0)
        return rc;
    return buf_put_lenbytes(b, field->data, field->len);
}

int entry_encode(struct buf *b, const struct entry *e)
{
    struct buf f = {0};
    size_t start = b->len;
    int rc;
    if ((rc = buf_put_fixed32(b, ENTRY_MAGIC)) < 0 ||
        (rc = buf_put_u8(b, ENTRY_FORMAT_VERSION)) < 0 ||
        (rc = buf_put_u8(b, (uint8_t)e->kind)) < 0 || (rc = buf_put_varint(b, e->seq)) < 0 ||
        (rc = buf_append(b, e->commit_id, COMMIT_ID_LEN)) < 0 ||
        (rc = buf_put_fixed64(b, (uint64_t)e->time_ms)) < 0)
        goto done;
    if (e->writer) {
        buf_reset(&f);
        if ((rc = buf_append(&f, e->writer, strlen(e->writer))) < 0 ||
            (rc = put_field(b, TAG_WRITER, &f)) < 0)
            goto done;
    }
    for (size_t i = 0; i < e->n_added; i++) {
        buf_reset(&f);
        if ((rc = file_meta_encode(&f, &e->added[i])) < 0 || (rc = put_field(b, TAG_ADDED, &f)) < 0)
            goto done;
        if (e->added[i].write_time_ms <= 0)
            continue;
        buf_reset(&f);
        if ((rc = buf_put_varint(&f, i)) < 0 ||
            (rc = buf_put_varint(&f, (uint64_t)e->added[i].write_time_ms)) < 0 ||
            (rc = put_field(b, TAG_FILE_TIME, &f)) < 0)
            goto done;
    }
    for (size_t i = 0; i < e->n_removed; i++) {
        buf_reset(&f);
        if ((rc = buf_append(&f, e->removed[i], strlen(e->removed[i]))) < 0 ||
            (rc = put_field(b, TAG_REMOVED, &f)) < 0)
            goto done;
    }
    if (e->app_id) {
        buf_reset(&f);
        if ((rc = buf_put_lenbytes(&f, e->app_id, strlen(e->app_id))) < 0 ||
            (rc = buf_put_varint(&f, e->epoch)) < 0 || (rc = put_field(b, TAG_APP, &f)) < 0)
            goto done;
    }
    for (size_t i = 0; i < e->n_ranges; i++) {
        buf_reset(&f);
        if ((rc = range_del_encode(&f, &e->ranges[i])) < 0 ||
            (rc = put_field(b, TAG_RANGE_DEL, &f)) < 0)
            goto done;
    }
    if (e->horizon) {
        buf_reset(&f);
        if ((rc = buf_put_varint(&f, e->horizon)) < 0 || (rc = put_field(b, TAG_HORIZON, &f)) < 0)
            goto done;
    }
    if (e->delta_name) {
        buf_reset(&f);
        if ((rc = buf_put_lenbytes(&f, e->delta_name, strlen(e->delta_name))) < 0 ||
            (rc = buf_put_varint(&f, e->delta_size)) < 0 ||
            (rc = buf_put_fixed32(&f, e->delta_checksum)) < 0 ||
            (rc = put_field(b, TAG_DELTA, &f)) < 0)
            goto done;
    }
    rc = buf_put_fixed32(b, checksum32(b->data + start, b->len - start));
done:
    buf_free(&f);
    return rc;
}

static int append_removed(struct entry *e, const uint8_t *name, size_t len)
{
    char **r = realloc(e->removed, (e->n_removed + 1) * sizeof(*r));
    if (!r)
        return err_nomem();
    e->removed = r;
    int d = dup_string(&e->removed[e->n_removed], name, len);
    if (d == -2)
        return err_nomem();
    if (d < 0)
        return -1;
    e->n_removed++;
    return 0;
}

static int append_added(struct entry *e, const uint8_t *p, const uint8_t *end)
{
    struct file_meta *a = realloc(e->added, (e->n_added + 1) * sizeof(*a));
    if (!a)
        return err_nomem();
    e->added = a;
    int rc = file_meta_decode(&p, end, &e->added[e->n_added]);
    if (rc < 0)
        return rc;
    e->n_added++;
    return p == end ? 0 : -1;
}

/* Tag 4: the write time of added file `index`, which an earlier tag 1
 * added; indexes increase, so each file has one at most. *next: the lowest
 * index still allowed. */
static int decode_file_time(struct entry *e, const uint8_t *p, const uint8_t *end, uint64_t *next)
{
    uint64_t index, t;
    if (get_varint64(&p, end, &index) < 0 || get_varint64(&p, end, &t) < 0 || p != end ||
        index < *next || index >= e->n_added || t == 0 || t > INT64_MAX)
        return -1;
    e->added[index].write_time_ms = (int64_t)t;
    *next = index + 1;
    return 0;
}

/* Decodes one field body; returns 0, -1 (malformed), or a CIRRUS_E code.
 * *next_time: state of tag 4 (decode_file_time). */
static int decode_field(struct entry *e, uint64_t tag, const uint8_t *p, const uint8_t *end,
                        uint64_t *next_time)
{
    const uint8_t *s;
    size_t len;
    int d;
    switch (tag) {
    case TAG_ADDED:
        return append_added(e, p, end);
    case TAG_FILE_TIME:
        return decode_file_time(e, p, end, next_time);
    case TAG_REMOVED:
        return append_removed(e, p, (size_t)(end - p));
    case TAG_WRITER:
        free(e->writer);
        e->writer = NULL;
        d = dup_string(&e->writer, p, (size_t)(end - p));
        return d == -2 ? err_nomem() : d;
    case TAG_APP:
        if (get_lenbytes(&p, end, &s, &len) < 0 || get_varint64(&p, end, &e->epoch) < 0 ||
            p != end || e->app_id)
            return -1;
        d = dup_string(&e->app_id, s, len);
        return d == -2 ? err_nomem() : d;
    case TAG_RANGE_DEL: {
        struct range_del *r = realloc(e->ranges, (e->n_ranges + 1) * sizeof(*r));
        if (!r)
            return err_nomem();
        e->ranges = r;
        int rd = range_del_decode(&p, end, &r[e->n_ranges]);
        if (rd < 0)
            return rd;
        e->n_ranges++;
        return p == end ? 0 : -1;
    }
    case TAG_HORIZON:
        if (get_varint64(&p, end, &e->horizon) < 0 || p != end)
            return -1;
        return 0;
    case TAG_DELTA:
        if (get_lenbytes(&p, end, &s, &len) < 0 || get_varint64(&p, end, &e->delta_size) < 0 ||
            get_fixed32(&p, end, &e->delta_checksum) < 0 || p != end || e->delta_name)
            return -1;
        d = dup_string(&e->delta_name, s, len);
        return d == -2 ? err_nomem() : d;
    default:
        if (tag & 1)
            return err_set(CIRRUS_EVERSION, "unknown required field %llu", (unsigned long long)tag);
        return 0; /* an optional field of a later version */
    }
}

int entry_decode(struct entry *e, const uint8_t *data, size_t len, const char *what)
{
    const uint8_t *p = data, *end;
    uint32_t magic, stored;
    uint8_t version, kind;
    int rc = CIRRUS_ECORRUPT;
    memset(e, 0, sizeof(*e));
    err_clear();
    if (len < 4 + 2 + 1 + COMMIT_ID_LEN + 8 + 4) {
        err_set(CIRRUS_ECORRUPT, "%s: entry truncated (%zu bytes)", what, len);
        goto done;
    }
    end = data + len - 4;
    stored = decode_fixed32(end);
    uint32_t computed = checksum32(data, len - 4);
    if (stored != computed) {
        err_set(CIRRUS_ECORRUPT, "%s: entry checksum mismatch (stored %08x, computed %08x)", what,
                stored, computed);
        goto done;
    }
    if (get_fixed32(&p, end, &magic) < 0 || magic != ENTRY_MAGIC) {
        err_set(CIRRUS_ECORRUPT, "%s: not a commit entry (bad magic)", what);
        goto done;
    }
    if (get_u8(&p, end, &version) < 0 || version != ENTRY_FORMAT_VERSION) {
        rc = err_set(CIRRUS_EVERSION, "%s: entry format version %u not supported (this build: %u)",
                     what, version, ENTRY_FORMAT_VERSION);
        goto done;
    }
    if (get_u8(&p, end, &kind) < 0 || get_varint64(&p, end, &e->seq) < 0 ||
        end - p < COMMIT_ID_LEN + 8)
        goto malformed;
    e->kind = kind;
    memcpy(e->commit_id, p, COMMIT_ID_LEN);
    p += COMMIT_ID_LEN;
    e->time_ms = (int64_t)decode_fixed64(p);
    p += 8;
    uint64_t next_time = 0;
    while (p < end) {
        uint64_t tag;
        const uint8_t *body;
        size_t body_len;
        if (get_varint64(&p, end, &tag) < 0 || get_lenbytes(&p, end, &body, &body_len) < 0)
            goto malformed;
        int r = decode_field(e, tag, body, body + body_len, &next_time);
        if (r == -1)
            goto malformed;
        if (r < 0) {
            rc = r == CIRRUS_EVERSION ? err_prefix(r, "%s", what) : r;
            goto done;
        }
    }
    return 0;
malformed:
    err_set(CIRRUS_ECORRUPT, "%s: malformed entry at byte %zu", what, (size_t)(p - data));
done:
    entry_clear(e);
    return rc;
}

uint64_t entry_added_bytes(const struct entry *e)
{
    uint64_t n = 0;
    for (size_t i = 0; i < e->n_added; i++)
        n += e->added[i].size;
    return n;
}
