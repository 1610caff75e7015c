/*
 * sst_builder.c - writes an SST file into memory (layout in sst.h and
 * docs/FORMAT.md).
 *
 * Order of the file: data blocks as they fill, then at finish the filter
 * block, the properties block, the index block and the footer. Each index
 * entry is written as soon as its data block is: its key is the block's last
 * internal key, so no look-ahead at the next block is needed.
 *
 * A failure in add() or finish() (out of memory) leaves the builder unusable
 * (state FAILED): the file in progress may hold half a block.
 */
#include <stdlib.h>
#include <string.h>

#include "table/block.h"
#include "table/bloom.h"
#include "table/compress.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "table/sst_format.h"
#include "util/status.h"

#define DEFAULT_BLOCK_SIZE 4096
#define MAX_BITS_PER_KEY 64

enum builder_state { BUILDING, FINISHED, FAILED };

struct sst_builder {
    struct sst_options opts;
    enum builder_state state;
    struct buf file;           /* the file so far */
    struct block_builder data; /* the data block being filled */
    struct block_builder index;
    struct bloom_builder bloom;
    struct buf last_key; /* last internal key added */
    struct buf smallest; /* first internal key added */
    struct buf scratch;  /* compression output, index entry values */
    struct sst_props props;
    void (*on_block)(void *arg, uint64_t off, const uint8_t *data, size_t len);
    void *on_block_arg;
};

void sst_props_clear(struct sst_props *p)
{
    if (!p)
        return;
    free(p->smallest);
    free(p->largest);
    memset(p, 0, sizeof(*p));
}

int sst_builder_new(struct sst_builder **out, const struct sst_options *opts)
{
    int rc = 0;
    struct sst_builder *b = NULL;
    if (!opts || opts->bloom_bits_per_key > MAX_BITS_PER_KEY ||
        (opts->compression != CIRRUS_COMPRESSION_NONE &&
         opts->compression != CIRRUS_COMPRESSION_ZSTD &&
         opts->compression != CIRRUS_COMPRESSION_LZ4)) {
        rc = err_set(CIRRUS_EINVALID, "sst builder: bad options (compression %d, %u bloom bits)",
                     opts ? opts->compression : -1, opts ? opts->bloom_bits_per_key : 0);
        goto done;
    }
    if (!(b = calloc(1, sizeof(*b)))) {
        rc = err_nomem();
        goto done;
    }
    b->opts = *opts;
    if (!b->opts.block_size)
        b->opts.block_size = DEFAULT_BLOCK_SIZE;
    block_builder_init(&b->data, opts->restart_interval);
    /* index entries are searched by binary search over every entry */
    block_builder_init(&b->index, 1);
    bloom_builder_init(&b->bloom, opts->bloom_bits_per_key);
    *out = b;
done:
    return rc;
}

void sst_builder_give_buffer(struct sst_builder *b, uint8_t *data, size_t cap)
{
    if (b->file.len == 0 && !b->file.data) {
        b->file.data = data;
        b->file.cap = cap;
    } else {
        free(data);
    }
}

/* Appends stored bytes + trailer; compression only where asked. */
static int write_block(struct sst_builder *b, const uint8_t *raw, size_t len, int compress,
                       struct block_handle *h)
{
    int rc = 0, type = COMPRESS_NONE;
    const uint8_t *stored = raw;
    size_t stored_len = len;
    if (compress && (rc = compress_block(&b->scratch, b->opts.compression,
                                         b->opts.compression_level, raw, len, &type)) < 0)
        goto done;
    if (type != COMPRESS_NONE) {
        stored = b->scratch.data;
        stored_len = b->scratch.len;
    }
    h->off = b->file.len;
    h->size = stored_len;
    if ((rc = buf_append(&b->file, stored, stored_len)) < 0)
        goto done;
    rc = sst_put_trailer(&b->file, (size_t)h->off, (uint8_t)type);
done:
    return rc;
}

static int flush_data_block(struct sst_builder *b)
{
    int rc = 0;
    const uint8_t *raw;
    size_t len;
    struct block_handle h;
    if (b->data.n_entries == 0)
        goto done;
    if ((rc = block_builder_finish(&b->data, &raw, &len)) < 0)
        goto done;
    if ((rc = write_block(b, raw, len, 1, &h)) < 0)
        goto done;
    if (b->on_block)
        b->on_block(b->on_block_arg, h.off, raw, len);
    buf_reset(&b->scratch);
    if ((rc = sst_put_handle(&b->scratch, &h)) < 0)
        goto done;
    if ((rc = block_builder_add(&b->index, b->last_key.data, b->last_key.len, b->scratch.data,
                                b->scratch.len)) < 0)
        goto done;
    block_builder_reset(&b->data);
    b->props.n_data_blocks++;
done:
    return rc;
}

static void account(struct sst_builder *b, const uint8_t *ikey, size_t ikey_len, size_t val_len)
{
    uint64_t seq = ikey_seq(ikey, ikey_len);
    struct sst_props *p = &b->props;
    if (p->n_entries == 0 || seq < p->min_seq)
        p->min_seq = seq;
    if (p->n_entries == 0 || seq > p->max_seq)
        p->max_seq = seq;
    p->n_entries++;
    if (ikey_kind(ikey, ikey_len) == KIND_DELETE)
        p->n_deletes++;
    p->raw_key_bytes += ikey_user_len(ikey_len);
    p->raw_value_bytes += val_len;
}

int sst_builder_add(struct sst_builder *b, const uint8_t *ikey, size_t ikey_len, const uint8_t *val,
                    size_t val_len)
{
    int rc = 0, new_ukey = 1;
    if (b->state != BUILDING) {
        rc = err_set(CIRRUS_EINVALID, "sst builder: add after finish or failure");
        goto done;
    }
    if (ikey_len < IKEY_TRAILER) {
        rc = err_set(CIRRUS_EINVALID, "sst builder: key of %zu bytes has no trailer", ikey_len);
        goto done;
    }
    if (b->props.n_entries > 0) {
        if (ikey_compare(b->last_key.data, b->last_key.len, ikey, ikey_len) >= 0) {
            rc = err_set(CIRRUS_EINVALID, "sst builder: keys out of order");
            goto done;
        }
        new_ukey = ukey_compare(b->last_key.data, ikey_user_len(b->last_key.len), ikey,
                                ikey_user_len(ikey_len)) != 0;
    }
    /* from here a failure leaves a partial state behind */
    b->state = FAILED;
    if (b->opts.bloom_bits_per_key && new_ukey &&
        (rc = bloom_builder_add(&b->bloom, ikey, ikey_user_len(ikey_len))) < 0)
        goto done;
    if (b->props.n_entries == 0 && (rc = buf_append(&b->smallest, ikey, ikey_len)) < 0)
        goto done;
    if ((rc = block_builder_add(&b->data, ikey, ikey_len, val, val_len)) < 0)
        goto done;
    buf_reset(&b->last_key);
    if ((rc = buf_append(&b->last_key, ikey, ikey_len)) < 0)
        goto done;
    account(b, ikey, ikey_len, val_len);
    if (block_builder_size(&b->data) >= b->opts.block_size && (rc = flush_data_block(b)) < 0)
        goto done;
    b->state = BUILDING;
done:
    return rc;
}

uint64_t sst_builder_size(const struct sst_builder *b)
{
    uint64_t n = b->file.len + block_builder_size(&b->data) + block_builder_size(&b->index) +
                 SST_FOOTER_LEN + 4 * SST_TRAILER_LEN;
    if (b->opts.bloom_bits_per_key)
        n += bloom_builder_size(&b->bloom);
    return n;
}

uint64_t sst_builder_count(const struct sst_builder *b)
{
    return b->props.n_entries;
}

/* props_out gets malloc'd copies of the user keys of smallest and largest. */
static int copy_props(const struct sst_builder *b, struct sst_props *out)
{
    int rc = 0;
    struct sst_props p = b->props;
    p.smallest = malloc(b->smallest.len);
    p.largest = malloc(b->last_key.len);
    if (!p.smallest || !p.largest) {
        rc = err_nomem();
        goto done;
    }
    p.smallest_len = ikey_user_len(b->smallest.len);
    p.largest_len = ikey_user_len(b->last_key.len);
    memcpy(p.smallest, b->smallest.data, p.smallest_len);
    memcpy(p.largest, b->last_key.data, p.largest_len);
    *out = p;
    p.smallest = p.largest = NULL;
done:
    free(p.smallest);
    free(p.largest);
    return rc;
}

/* Filter, properties and index blocks, then the footer. */
static int write_meta(struct sst_builder *b, struct sst_props *props)
{
    int rc = 0;
    struct sst_footer f = {.format_version = SST_FORMAT_VERSION};
    const uint8_t *raw;
    size_t len;
    uint8_t footer[SST_FOOTER_LEN];
    if (b->opts.bloom_bits_per_key) {
        buf_reset(&b->scratch);
        if ((rc = bloom_builder_finish(&b->bloom, &b->scratch)) < 0)
            goto done;
        if ((rc = write_block(b, b->scratch.data, b->scratch.len, 0, &f.filter)) < 0)
            goto done;
    }
    buf_reset(&b->scratch);
    if ((rc = sst_encode_props(&b->scratch, props)) < 0)
        goto done;
    if ((rc = write_block(b, b->scratch.data, b->scratch.len, 0, &f.props)) < 0)
        goto done;
    if ((rc = block_builder_finish(&b->index, &raw, &len)) < 0)
        goto done;
    if ((rc = write_block(b, raw, len, 0, &f.index)) < 0)
        goto done;
    sst_encode_footer(footer, &f);
    rc = buf_append(&b->file, footer, sizeof(footer));
done:
    return rc;
}

int sst_builder_finish(struct sst_builder *b, uint8_t **data_out, size_t *len_out,
                       struct sst_props *props_out)
{
    int rc = 0;
    struct sst_props props = {0};
    if (b->state != BUILDING || b->props.n_entries == 0) {
        rc = err_set(CIRRUS_EINVALID, "sst builder: finish %s",
                     b->state != BUILDING ? "after finish or failure" : "with no entries");
        goto done;
    }
    b->state = FAILED;
    if ((rc = flush_data_block(b)) < 0)
        goto done;
    if ((rc = copy_props(b, &props)) < 0)
        goto done;
    if ((rc = write_meta(b, &props)) < 0)
        goto done;
    props.format_version = SST_FORMAT_VERSION;
    props.file_size = b->file.len;
    *data_out = buf_take(&b->file, len_out);
    if (props_out) {
        *props_out = props;
        memset(&props, 0, sizeof(props));
    }
    b->state = FINISHED;
done:
    sst_props_clear(&props);
    return rc;
}

void sst_builder_on_block(struct sst_builder *b,
                          void (*fn)(void *arg, uint64_t off, const uint8_t *data, size_t len),
                          void *arg)
{
    b->on_block = fn;
    b->on_block_arg = arg;
}

void sst_builder_free(struct sst_builder *b)
{
    if (!b)
        return;
    buf_free(&b->file);
    block_builder_free(&b->data);
    block_builder_free(&b->index);
    bloom_builder_free(&b->bloom);
    buf_free(&b->last_key);
    buf_free(&b->smallest);
    buf_free(&b->scratch);
    free(b);
}
