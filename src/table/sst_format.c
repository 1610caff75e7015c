/*
 * sst_format.c - handles, trailers, footer and properties (format in
 * sst_format.h and docs/FORMAT.md).
 */
#include "table/sst_format.h"

#include <stdlib.h>
#include <string.h>

#include "table/compress.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/status.h"

int sst_put_trailer(struct buf *out, size_t off, uint8_t type)
{
    int rc = 0;
    if ((rc = buf_reserve(out, SST_TRAILER_LEN)) < 0)
        goto done;
    buf_put_u8(out, type);
    /* covers the stored bytes and the type byte, which now sit together */
    buf_put_fixed32(out, checksum32(out->data + off, out->len - off));
done:
    return rc;
}

int sst_check_handle(const struct block_handle *h, uint64_t file_size, const char *name,
                     const char *what)
{
    int rc = 0;
    uint64_t limit = file_size - SST_FOOTER_LEN;
    if (h->size > limit || h->off > limit - h->size || SST_TRAILER_LEN > limit - h->size - h->off)
        rc = err_set(CIRRUS_ECORRUPT,
                     "%s: %s block at offset %llu: %llu bytes run past the data (file of %llu "
                     "bytes)",
                     name, what, (unsigned long long)h->off, (unsigned long long)h->size,
                     (unsigned long long)file_size);
    return rc;
}

int sst_unwrap_block(const uint8_t **data_out, size_t *len_out, uint8_t **mem_out,
                     const uint8_t *raw, const struct block_handle *h, const char *name,
                     const char *what)
{
    int rc = 0;
    uint8_t type = raw[h->size];
    uint32_t stored = decode_fixed32(raw + h->size + 1);
    uint32_t computed = checksum32(raw, (size_t)h->size + 1);
    *mem_out = NULL;
    if (stored != computed) {
        rc = err_set(CIRRUS_ECORRUPT,
                     "%s: %s block at offset %llu: checksum mismatch (stored %08x, computed %08x)",
                     name, what, (unsigned long long)h->off, stored, computed);
        goto done;
    }
    if (type == COMPRESS_NONE) {
        *data_out = raw;
        *len_out = (size_t)h->size;
        goto done;
    }
    if ((rc = decompress_block(type, raw, (size_t)h->size, mem_out, len_out)) < 0) {
        err_prefix(rc, "%s: %s block at offset %llu", name, what, (unsigned long long)h->off);
        goto done;
    }
    *data_out = *mem_out;
done:
    return rc;
}

int sst_put_handle(struct buf *out, const struct block_handle *h)
{
    int rc = 0;
    if ((rc = buf_put_varint(out, h->off)) < 0)
        goto done;
    rc = buf_put_varint(out, h->size);
done:
    return rc;
}

int sst_get_handle(const uint8_t *p, size_t len, struct block_handle *h)
{
    const uint8_t *end = p + len;
    int ok =
        get_varint64(&p, end, &h->off) == 0 && get_varint64(&p, end, &h->size) == 0 && p == end;
    return ok ? 0 : -1;
}

void sst_encode_footer(uint8_t out[SST_FOOTER_LEN], const struct sst_footer *f)
{
    encode_fixed64(out + 0, f->filter.off);
    encode_fixed64(out + 8, f->filter.size);
    encode_fixed64(out + 16, f->props.off);
    encode_fixed64(out + 24, f->props.size);
    encode_fixed64(out + 32, f->index.off);
    encode_fixed64(out + 40, f->index.size);
    encode_fixed32(out + 48, f->format_version);
    encode_fixed32(out + 52, checksum32(out, 52));
    encode_fixed64(out + 56, SST_MAGIC);
}

int sst_decode_footer(const uint8_t in[SST_FOOTER_LEN], const char *name, uint64_t off,
                      struct sst_footer *f)
{
    int rc = 0;
    uint64_t magic = decode_fixed64(in + 56);
    uint32_t stored = decode_fixed32(in + 52), computed = checksum32(in, 52);
    if (magic != SST_MAGIC) {
        rc = err_set(CIRRUS_ECORRUPT,
                     "%s: footer at offset %llu: bad magic %016llx (not an SST file)", name,
                     (unsigned long long)off, (unsigned long long)magic);
        goto done;
    }
    /* checksum before version: a flipped version byte is corruption */
    if (stored != computed) {
        rc = err_set(CIRRUS_ECORRUPT,
                     "%s: footer at offset %llu: checksum mismatch (stored %08x, computed %08x)",
                     name, (unsigned long long)off, stored, computed);
        goto done;
    }
    f->format_version = decode_fixed32(in + 48);
    if (f->format_version != SST_FORMAT_VERSION) {
        rc = err_set(CIRRUS_EVERSION,
                     "%s: footer at offset %llu: format version %u unknown (this build reads %u)",
                     name, (unsigned long long)off, f->format_version, SST_FORMAT_VERSION);
        goto done;
    }
    f->filter.off = decode_fixed64(in + 0);
    f->filter.size = decode_fixed64(in + 8);
    f->props.off = decode_fixed64(in + 16);
    f->props.size = decode_fixed64(in + 24);
    f->index.off = decode_fixed64(in + 32);
    f->index.size = decode_fixed64(in + 40);
done:
    return rc;
}

enum props_tag {
    TAG_SMALLEST = 1,
    TAG_LARGEST = 2,
    TAG_MIN_SEQ = 3,
    TAG_MAX_SEQ = 4,
    TAG_N_ENTRIES = 5,
    TAG_N_DELETES = 6,
    TAG_N_DATA_BLOCKS = 7,
    TAG_RAW_KEY_BYTES = 8,
    TAG_RAW_VALUE_BYTES = 9,
    TAG_LAST = 9,
};

static int put_record(struct buf *out, uint32_t tag, const void *p, size_t len)
{
    int rc = 0;
    if ((rc = buf_put_varint(out, tag)) < 0)
        goto done;
    rc = buf_put_lenbytes(out, p, len);
done:
    return rc;
}

static int put_number(struct buf *out, uint32_t tag, uint64_t v)
{
    uint8_t tmp[VARINT_MAX];
    return put_record(out, tag, tmp, encode_varint(tmp, v));
}

int sst_encode_props(struct buf *out, const struct sst_props *p)
{
    int rc = 0;
    if ((rc = buf_put_varint(out, SST_PROPS_VERSION)) < 0 ||
        (rc = put_record(out, TAG_SMALLEST, p->smallest, p->smallest_len)) < 0 ||
        (rc = put_record(out, TAG_LARGEST, p->largest, p->largest_len)) < 0 ||
        (rc = put_number(out, TAG_MIN_SEQ, p->min_seq)) < 0 ||
        (rc = put_number(out, TAG_MAX_SEQ, p->max_seq)) < 0 ||
        (rc = put_number(out, TAG_N_ENTRIES, p->n_entries)) < 0 ||
        (rc = put_number(out, TAG_N_DELETES, p->n_deletes)) < 0 ||
        (rc = put_number(out, TAG_N_DATA_BLOCKS, p->n_data_blocks)) < 0 ||
        (rc = put_number(out, TAG_RAW_KEY_BYTES, p->raw_key_bytes)) < 0)
        goto done;
    rc = put_number(out, TAG_RAW_VALUE_BYTES, p->raw_value_bytes);
done:
    return rc;
}

static int dup_bytes(uint8_t **out, size_t *len_out, const uint8_t *p, size_t len)
{
    int rc = 0;
    uint8_t *d = malloc(len ? len : 1);
    if (!d) {
        rc = err_nomem();
        goto done;
    }
    if (len)
        memcpy(d, p, len);
    *out = d;
    *len_out = len;
done:
    return rc;
}

/* One record's value into p; numbers must fill their record exactly. */
static int props_field(struct sst_props *p, uint64_t tag, const uint8_t *v, size_t len)
{
    int rc = 0;
    uint64_t num = 0;
    const uint8_t *q = v;
    uint64_t *nums[] = {NULL,
                        NULL,
                        NULL,
                        &p->min_seq,
                        &p->max_seq,
                        &p->n_entries,
                        &p->n_deletes,
                        &p->n_data_blocks,
                        &p->raw_key_bytes,
                        &p->raw_value_bytes};
    if (tag == TAG_SMALLEST) {
        rc = dup_bytes(&p->smallest, &p->smallest_len, v, len);
    } else if (tag == TAG_LARGEST) {
        rc = dup_bytes(&p->largest, &p->largest_len, v, len);
    } else if (tag <= TAG_LAST) {
        if (get_varint64(&q, v + len, &num) < 0 || q != v + len)
            rc = err_set(CIRRUS_ECORRUPT, "properties: bad number in record %llu",
                         (unsigned long long)tag);
        else
            *nums[tag] = num;
    }
    /* tags above TAG_LAST are from a newer writer: skipped */
    return rc;
}

int sst_decode_props(const uint8_t *in, size_t len, struct sst_props *p)
{
    int rc = 0;
    const uint8_t *q = in, *end = in + len;
    uint64_t version, tag;
    uint32_t seen = 0;
    if (get_varint64(&q, end, &version) < 0) {
        rc = err_set(CIRRUS_ECORRUPT, "properties: truncated version");
        goto done;
    }
    if (version != SST_PROPS_VERSION) {
        rc = err_set(CIRRUS_EVERSION, "properties: version %llu unknown (this build reads %u)",
                     (unsigned long long)version, SST_PROPS_VERSION);
        goto done;
    }
    while (q < end) {
        const uint8_t *v;
        size_t vlen;
        if (get_varint64(&q, end, &tag) < 0 || get_lenbytes(&q, end, &v, &vlen) < 0 || tag == 0) {
            rc = err_set(CIRRUS_ECORRUPT, "properties: truncated record at byte %zu",
                         (size_t)(q - in));
            goto done;
        }
        if (tag <= TAG_LAST && (seen & (1u << tag))) {
            rc = err_set(CIRRUS_ECORRUPT, "properties: record %llu twice", (unsigned long long)tag);
            goto done;
        }
        if ((rc = props_field(p, tag, v, vlen)) < 0)
            goto done;
        if (tag <= TAG_LAST)
            seen |= 1u << tag;
    }
    for (uint32_t t = 1; t <= TAG_LAST; t++) {
        if (!(seen & (1u << t))) {
            rc = err_set(CIRRUS_ECORRUPT, "properties: record %u missing", t);
            goto done;
        }
    }
    p->format_version = SST_FORMAT_VERSION;
done:
    return rc;
}
