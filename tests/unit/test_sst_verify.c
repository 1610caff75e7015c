/* cirrus-test-libs: table objstore testsupport */
/*
 * test_sst_verify.c - the deep check of one SST file (table/sst_verify.h):
 * sound files pass in one get with no problem; each kind of damage is
 * reported naming its part, the check going on past it where it can; a
 * description the file does not match is reported; a missing or unreadable
 * object is an error, not a problem.
 *
 * Damage the builder cannot make (keys out of order, an index key that is
 * not its block's last, properties that lie, gaps, a bad restart array)
 * comes from craft(), which assembles a file from given blocks through the
 * same format functions, checking nothing.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cirrus.h"
#include "objstore/objstore.h"
#include "support/memstore.h"
#include "support/tmpdir.h"
#include "table/block.h"
#include "table/bloom.h"
#include "table/ikey.h"
#include "table/sst.h"
#include "table/sst_format.h"
#include "table/sst_verify.h"
#include "util/buf.h"
#include "util/coding.h"
#include "util/hash.h"

#define NAME "sst/000001.sst"
#define MAX_PROBLEMS 64

/* ---- problems collected ------------------------------------------------- */

struct problems {
    char *what[MAX_PROBLEMS];
    size_t n;
};

static void collect(const char *name, const char *what, void *arg)
{
    struct problems *p = arg;
    assert_string_equal(name, NAME);
    if (p->n < MAX_PROBLEMS)
        assert_non_null(p->what[p->n++] = strdup(what));
}

static void problems_free(struct problems *p)
{
    for (size_t i = 0; i < p->n; i++)
        free(p->what[i]);
    memset(p, 0, sizeof(*p));
}

/* How many problems start with `part` and contain `says`. */
static size_t count(const struct problems *p, const char *part, const char *says)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n; i++)
        n += strncmp(p->what[i], part, strlen(part)) == 0 && strstr(p->what[i], says) != NULL;
    return n;
}

static void print_problems(const struct problems *p)
{
    for (size_t i = 0; i < p->n; i++)
        print_message("  problem: %s\n", p->what[i]);
}

/* Asserts exactly `n` problems of the kind, printing them all otherwise. */
static void expect_problem(const struct problems *p, const char *part, const char *says, size_t n)
{
    if (count(p, part, says) != n) {
        print_problems(p);
        fail_msg("wanted %zu problems \"%s ... %s\"", n, part, says);
    }
}

/* ---- files -------------------------------------------------------------- */

static struct objstore *store(void)
{
    struct objstore *os;
    assert_int_equal(memstore_open(&os), 0);
    return os;
}

static void put(struct objstore *os, const uint8_t *data, size_t len)
{
    assert_int_equal(objstore_put(os, NAME, data, len), 0);
}

/* n user keys "key-%06d" with value "value-%d"; seq 0 for an L0 file,
 * else one or two versions each, every 7th a delete. Small blocks: many of
 * them. */
static uint8_t *build(int compression, uint32_t bloom, size_t n, int l0, size_t *len,
                      struct sst_props *props)
{
    struct sst_options o = {.block_size = 256,
                            .restart_interval = 4,
                            .bloom_bits_per_key = bloom,
                            .compression = compression};
    struct sst_builder *b;
    uint8_t *data, k[64];
    char val[32];
    assert_int_equal(sst_builder_new(&b, &o), 0);
    for (size_t i = 0; i < n; i++) {
        int ulen = snprintf((char *)k, sizeof(k), "key-%06zu", i);
        int versions = l0 ? 1 : 1 + (int)(i % 2);
        for (int v = versions; v > 0; v--) {
            uint64_t seq = l0 ? 0 : 100 + 2 * i + (uint64_t)v;
            int kind = i % 7 == 3 ? KIND_DELETE : KIND_PUT;
            int vlen = kind == KIND_DELETE ? 0 : snprintf(val, sizeof(val), "value-%zu", i);
            ikey_encode(k, k, (size_t)ulen, seq, kind);
            assert_int_equal(
                sst_builder_add(b, k, (size_t)ulen + IKEY_TRAILER, (uint8_t *)val, (size_t)vlen),
                0);
        }
    }
    assert_int_equal(sst_builder_finish(b, &data, len, props), 0);
    sst_builder_free(b);
    return data;
}

/* The description that matches props exactly. */
static struct sst_expect expect_of(const struct sst_props *p, uint64_t global_seq)
{
    struct sst_expect e = {.size = p->file_size,
                           .smallest = p->smallest,
                           .smallest_len = p->smallest_len,
                           .largest = p->largest,
                           .largest_len = p->largest_len,
                           .min_seq = global_seq ? global_seq : p->min_seq,
                           .max_seq = global_seq ? global_seq : p->max_seq,
                           .n_entries = p->n_entries,
                           .n_deletes = p->n_deletes,
                           .have_keys = 1,
                           .have_seqs = 1,
                           .have_counts = 1,
                           .global_seq = global_seq};
    return e;
}

static struct sst_footer footer_of(const uint8_t *file, size_t len)
{
    struct sst_footer f;
    assert_int_equal(sst_decode_footer(file + len - SST_FOOTER_LEN, "t", len - SST_FOOTER_LEN, &f),
                     0);
    return f;
}

/* The data block handles, through the (uncompressed) index. */
static size_t data_handles(const uint8_t *file, size_t len, struct block_handle *hs, size_t max)
{
    struct sst_footer f = footer_of(file, len);
    struct block_origin o = {"t", "index", f.index.off};
    struct block_iter it = {0};
    size_t n = 0;
    assert_int_equal(file[f.index.off + f.index.size], 0);
    assert_int_equal(block_iter_init(&it, file + f.index.off, (size_t)f.index.size, &o, 0), 0);
    for (iter_first(&it.base); iter_valid(&it.base) && n < max; iter_next(&it.base))
        assert_int_equal(sst_get_handle(it.val, it.val_len, &hs[n++]), 0);
    assert_int_equal(iter_status(&it.base), 0);
    block_iter_clear(&it);
    return n;
}

static int verify(struct objstore *os, const struct sst_expect *e, struct problems *p,
                  uint64_t *bytes)
{
    return sst_verify(bytes, os, NAME, e, collect, p);
}

/* Puts the file with byte `at` flipped, verifies it against `e`. */
static int verify_flipped(const uint8_t *data, size_t len, size_t at, const struct sst_expect *e,
                          struct problems *p)
{
    struct objstore *os = store();
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, data, len);
    copy[at] ^= 0x40;
    put(os, copy, len);
    int rc = verify(os, e, p, NULL);
    free(copy);
    os->ops->close(os);
    return rc;
}

/* ---- crafted files ------------------------------------------------------ */

struct centry {
    const char *ukey;
    uint64_t seq;
    int kind;
    const char *val;
};

struct cblock {
    const struct centry *e;
    size_t n;
    const char *index_ukey; /* NULL: the block's last key, as written */
    uint64_t index_seq;
};

enum craft_filter { NO_FILTER, FILTER, FILTER_OF_OTHER_KEYS };

struct craft {
    const struct cblock *blocks;
    size_t n_blocks;
    size_t gap; /* junk bytes after each data block */
    enum craft_filter filter;
    void (*edit_props)(struct sst_props *p);
    void (*edit_block)(struct buf *raw, size_t i); /* before the trailer */
};

static size_t encode_entry(uint8_t *k, const struct centry *e)
{
    size_t ulen = strlen(e->ukey);
    ikey_encode(k, e->ukey, ulen, e->seq, e->kind);
    return ulen + IKEY_TRAILER;
}

static void tally(struct sst_props *p, const struct centry *e)
{
    if (p->n_entries == 0 || e->seq < p->min_seq)
        p->min_seq = e->seq;
    if (p->n_entries == 0 || e->seq > p->max_seq)
        p->max_seq = e->seq;
    if (p->n_entries == 0) {
        p->smallest = (uint8_t *)e->ukey;
        p->smallest_len = strlen(e->ukey);
    }
    p->largest = (uint8_t *)e->ukey;
    p->largest_len = strlen(e->ukey);
    p->n_entries++;
    p->n_deletes += e->kind == KIND_DELETE;
    p->raw_key_bytes += strlen(e->ukey);
    p->raw_value_bytes += strlen(e->val);
}

static void append_block(struct buf *file, const uint8_t *raw, size_t len, struct block_handle *h)
{
    h->off = file->len;
    h->size = len;
    assert_int_equal(buf_append(file, raw, len), 0);
    assert_int_equal(sst_put_trailer(file, (size_t)h->off, 0), 0);
}

/* One data block and its index entry. */
static void craft_block(const struct craft *c, size_t i, struct buf *file,
                        struct block_builder *index, struct bloom_builder *bloom,
                        struct sst_props *p)
{
    const struct cblock *cb = &c->blocks[i];
    struct block_builder bb;
    struct buf raw = {0}, hv = {0};
    struct block_handle h;
    const uint8_t *out;
    size_t len, klen = 0;
    uint8_t k[128];
    block_builder_init(&bb, 4);
    for (size_t j = 0; j < cb->n; j++) {
        klen = encode_entry(k, &cb->e[j]);
        assert_int_equal(
            block_builder_add(&bb, k, klen, (const uint8_t *)cb->e[j].val, strlen(cb->e[j].val)),
            0);
        if (c->filter == FILTER)
            assert_int_equal(bloom_builder_add(bloom, cb->e[j].ukey, strlen(cb->e[j].ukey)), 0);
        tally(p, &cb->e[j]);
    }
    assert_int_equal(block_builder_finish(&bb, &out, &len), 0);
    assert_int_equal(buf_append(&raw, out, len), 0);
    if (c->edit_block)
        c->edit_block(&raw, i);
    append_block(file, raw.data, raw.len, &h);
    for (size_t g = 0; g < c->gap; g++)
        assert_int_equal(buf_put_u8(file, 0xa5), 0);
    if (cb->index_ukey) {
        struct centry ie = {cb->index_ukey, cb->index_seq, KIND_PUT, ""};
        klen = encode_entry(k, &ie);
    }
    assert_int_equal(sst_put_handle(&hv, &h), 0);
    assert_int_equal(block_builder_add(index, k, klen, hv.data, hv.len), 0);
    p->n_data_blocks++;
    block_builder_free(&bb);
    buf_free(&raw);
    buf_free(&hv);
}

/* Assembles the file as the builder lays it out; *len_out bytes (caller
 * frees). */
static uint8_t *craft(const struct craft *c, size_t *len_out)
{
    struct buf file = {0}, scratch = {0};
    struct block_builder index;
    struct bloom_builder bloom;
    struct sst_props p = {0};
    struct sst_footer f = {.format_version = SST_FORMAT_VERSION};
    uint8_t footer[SST_FOOTER_LEN];
    const uint8_t *out;
    size_t len;
    block_builder_init(&index, 1);
    bloom_builder_init(&bloom, 10);
    for (size_t i = 0; i < c->n_blocks; i++)
        craft_block(c, i, &file, &index, &bloom, &p);
    if (c->filter != NO_FILTER) {
        if (c->filter == FILTER_OF_OTHER_KEYS)
            assert_int_equal(bloom_builder_add(&bloom, "other", 5), 0);
        assert_int_equal(bloom_builder_finish(&bloom, &scratch), 0);
        append_block(&file, scratch.data, scratch.len, &f.filter);
    }
    if (c->edit_props)
        c->edit_props(&p);
    buf_reset(&scratch);
    assert_int_equal(sst_encode_props(&scratch, &p), 0);
    append_block(&file, scratch.data, scratch.len, &f.props);
    assert_int_equal(block_builder_finish(&index, &out, &len), 0);
    append_block(&file, out, len, &f.index);
    sst_encode_footer(footer, &f);
    assert_int_equal(buf_append(&file, footer, sizeof(footer)), 0);
    block_builder_free(&index);
    bloom_builder_free(&bloom);
    buf_free(&scratch);
    return buf_take(&file, len_out);
}

/* Puts the crafted file and verifies it with nothing expected. */
static int verify_crafted(const struct craft *c, struct problems *p)
{
    struct objstore *os = store();
    size_t len;
    uint8_t *data = craft(c, &len);
    put(os, data, len);
    int rc = verify(os, NULL, p, NULL);
    free(data);
    os->ops->close(os);
    return rc;
}

static const struct centry block_a[] = {
    {"apple", 9, KIND_PUT, "red"},     {"apple", 4, KIND_DELETE, ""},
    {"banana", 7, KIND_PUT, "yellow"}, {"cherry", 5, KIND_PUT, "dark"},
    {"date", 3, KIND_PUT, "brown"},    {"elder", 8, KIND_PUT, "black"},
};
static const struct centry block_b[] = {
    {"fig", 2, KIND_PUT, "green"},
    {"grape", 6, KIND_DELETE, ""},
    {"kiwi", 1, KIND_PUT, "fuzzy"},
};

/* ---- sound files -------------------------------------------------------- */

/* Every compression, with and without a filter, several versions and
 * deletes, many blocks: no problem, in one get of the whole object. */
static void sound_files_pass_in_one_get(void **state)
{
    (void)state;
    int kinds[] = {CIRRUS_COMPRESSION_NONE, CIRRUS_COMPRESSION_ZSTD, CIRRUS_COMPRESSION_LZ4};
    for (size_t i = 0; i < 3; i++) {
        for (uint32_t bloom = 0; bloom <= 10; bloom += 10) {
            struct objstore *os = store();
            struct problems p = {0};
            struct sst_props props;
            struct objstore_stats st;
            size_t len;
            uint64_t bytes = 0;
            uint8_t *data = build(kinds[i], bloom, 500, 0, &len, &props);
            assert_true(props.n_data_blocks > 10);
            put(os, data, len);
            struct sst_expect e = expect_of(&props, 0);
            int rc = verify(os, &e, &p, &bytes);
            print_problems(&p);
            assert_int_equal(rc, 0);
            assert_int_equal(p.n, 0);
            assert_int_equal(bytes, len);
            objstore_stats(os, &st);
            assert_int_equal(st.gets, 1);
            /* nothing expected, no callback: still sound */
            assert_int_equal(sst_verify(NULL, os, NAME, NULL, NULL, NULL), 0);
            sst_props_clear(&props);
            free(data);
            os->ops->close(os);
        }
    }
}

/* The crafting helper's files are sound as they come, so a test of one
 * defect sees only that defect. */
static void crafted_files_are_sound(void **state)
{
    (void)state;
    struct cblock blocks[] = {{block_a, 6, NULL, 0}, {block_b, 3, NULL, 0}};
    struct craft c = {.blocks = blocks, .n_blocks = 2, .filter = FILTER};
    struct problems p = {0};
    int rc = verify_crafted(&c, &p);
    print_problems(&p);
    assert_int_equal(rc, 0);
    assert_int_equal(p.n, 0);
}

/* An L0 file (seq 0 in every trailer) read with its global seq, described
 * with that seq as its range. */
static void l0_file_with_global_seq_passes(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct problems p = {0};
    struct sst_props props;
    size_t len;
    uint8_t *data = build(CIRRUS_COMPRESSION_ZSTD, 10, 300, 1, &len, &props);
    put(os, data, len);
    struct sst_expect e = expect_of(&props, 42);
    assert_int_equal(verify(os, &e, &p, NULL), 0);
    assert_int_equal(p.n, 0);
    /* the description's seq range is the global seq, not the stored 0 */
    e.min_seq = e.max_seq = 0;
    assert_int_equal(verify(os, &e, &p, NULL), CIRRUS_ECORRUPT);
    expect_problem(&p, "properties block at offset", "min_seq (global seq) 42, expected 0", 1);
    expect_problem(&p, "properties block at offset", "max_seq (global seq) 42, expected 0", 1);
    assert_int_equal(p.n, 2);
    problems_free(&p);
    sst_props_clear(&props);
    free(data);
    os->ops->close(os);
}

/* A file whose entries carry seqs is not an L0 file: read with a global
 * seq, its stored seqs and its max_seq are reported. */
static void stored_seqs_under_a_global_seq_are_reported(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct problems p = {0};
    struct sst_props props;
    size_t len;
    uint8_t *data = build(CIRRUS_COMPRESSION_NONE, 0, 100, 0, &len, &props);
    put(os, data, len);
    struct sst_expect e = {.global_seq = 42};
    assert_int_equal(verify(os, &e, &p, NULL), CIRRUS_ECORRUPT);
    expect_problem(&p, "properties block at offset", "max seq", 1);
    /* the index's keys carry seqs too, so no data block is reached */
    expect_problem(&p, "index block at offset", "nonzero seq in a file with a global seq", 1);
    problems_free(&p);
    sst_props_clear(&props);
    free(data);
    os->ops->close(os);
}

/* A stored seq in a data block of an L0 file, the index being right. */
static void stored_seq_in_a_data_block_is_reported(void **state)
{
    (void)state;
    const struct centry a[] = {
        {"a", 0, KIND_PUT, "1"}, {"b", 5, KIND_PUT, "2"}, {"c", 0, KIND_PUT, "3"}};
    struct cblock blocks[] = {{a, 3, NULL, 0}};
    struct craft c = {.blocks = blocks, .n_blocks = 1};
    struct objstore *os = store();
    struct problems p = {0};
    size_t len;
    uint8_t *data = craft(&c, &len);
    put(os, data, len);
    struct sst_expect e = {.global_seq = 42};
    assert_int_equal(verify(os, &e, &p, NULL), CIRRUS_ECORRUPT);
    expect_problem(&p, "data block at offset 0:", "nonzero seq in a file with a global seq", 1);
    expect_problem(&p, "properties block at offset", "max seq 5 in a file read with global seq", 1);
    problems_free(&p);
    free(data);
    os->ops->close(os);
}

/* ---- damage ------------------------------------------------------------- */

/* Bytes flipped in the first and third data blocks: each reported with its
 * offset, and the blocks between and after still checked. */
static void flipped_data_blocks_are_each_reported(void **state)
{
    (void)state;
    struct problems p = {0};
    struct sst_props props;
    struct block_handle hs[256];
    size_t len;
    char part[64];
    uint8_t *data = build(CIRRUS_COMPRESSION_NONE, 0, 200, 0, &len, &props);
    size_t n = data_handles(data, len, hs, 256);
    assert_true(n > 4);
    struct objstore *os = store();
    uint8_t *copy = malloc(len);
    assert_non_null(copy);
    memcpy(copy, data, len);
    copy[hs[0].off + 10] ^= 1;
    copy[hs[2].off + 10] ^= 1;
    put(os, copy, len);
    assert_int_equal(verify(os, NULL, &p, NULL), CIRRUS_ECORRUPT);
    expect_problem(&p, "data block at offset 0:", "checksum mismatch (stored", 1);
    snprintf(part, sizeof(part), "data block at offset %llu:", (unsigned long long)hs[2].off);
    expect_problem(&p, part, "checksum mismatch (stored", 1);
    assert_int_equal(p.n, 2);
    /* the message of the call names the object and the first problem */
    assert_non_null(strstr(cirrus_errmsg(), NAME ": data block at offset 0: checksum mismatch"));
    assert_non_null(strstr(cirrus_errmsg(), "(2 problems in all)"));
    problems_free(&p);
    free(copy);
    os->ops->close(os);
    sst_props_clear(&props);
    free(data);
}

/* A compressed block whose payload was damaged but whose checksum was
 * recomputed: the inflate is checked too. */
static void bad_compression_is_reported(void **state)
{
    (void)state;
    struct problems p = {0};
    struct sst_props props;
    struct block_handle hs[256];
    size_t len;
    uint8_t *data = build(CIRRUS_COMPRESSION_LZ4, 0, 200, 0, &len, &props);
    assert_int_equal(data_handles(data, len, hs, 256) > 1, 1);
    assert_int_equal(data[hs[0].size], CIRRUS_COMPRESSION_LZ4);
    data[0] ^= 0x7f; /* the varint raw length */
    encode_fixed32(data + hs[0].size + 1, checksum32(data, (size_t)hs[0].size + 1));
    struct objstore *os = store();
    put(os, data, len);
    assert_int_equal(verify(os, NULL, &p, NULL), CIRRUS_ECORRUPT);
    expect_problem(&p, "data block at offset 0:", "", 1);
    assert_int_equal(count(&p, "data block at offset 0:", "checksum"), 0);
    assert_int_equal(p.n, 1);
    problems_free(&p);
    os->ops->close(os);
    sst_props_clear(&props);
    free(data);
}

/* Flips byte `at` of the filter (0), properties (1) or index (2) block of a
 * file with a filter, and byte 5 of its first data block too if also_data;
 * verifies it, and names the block in `part`. */
static void verify_meta_flipped(int which, size_t at, int also_data, struct problems *p,
                                char part[64])
{
    struct sst_props props;
    size_t len;
    const char *whats[] = {"filter", "properties", "index"};
    uint8_t *data = build(CIRRUS_COMPRESSION_NONE, 10, 200, 0, &len, &props);
    struct sst_footer f = footer_of(data, len);
    const struct block_handle *hs[] = {&f.filter, &f.props, &f.index};
    assert_true(hs[which]->size > at);
    if (also_data)
        data[5] ^= 1;
    assert_int_equal(verify_flipped(data, len, (size_t)hs[which]->off + at, NULL, p),
                     CIRRUS_ECORRUPT);
    snprintf(part, 64, "%s block at offset %llu:", whats[which],
             (unsigned long long)hs[which]->off);
    sst_props_clear(&props);
    free(data);
}

static void flipped_index_is_reported(void **state)
{
    (void)state;
    struct problems p = {0};
    char part[64];
    verify_meta_flipped(2, 3, 0, &p, part);
    expect_problem(&p, part, "checksum mismatch (stored", 1);
    assert_int_equal(p.n, 1);
    problems_free(&p);
}

static void flipped_footer_is_reported(void **state)
{
    (void)state;
    struct problems p = {0};
    struct sst_props props;
    size_t len;
    char part[64];
    uint8_t *data = build(CIRRUS_COMPRESSION_NONE, 0, 50, 0, &len, &props);
    snprintf(part, sizeof(part), "footer at offset %zu:", len - SST_FOOTER_LEN);
    /* a handle byte: the checksum; the magic: not an SST */
    assert_int_equal(verify_flipped(data, len, len - SST_FOOTER_LEN + 33, NULL, &p),
                     CIRRUS_ECORRUPT);
    expect_problem(&p, part, "checksum mismatch (stored", 1);
    assert_int_equal(p.n, 1);
    problems_free(&p);
    assert_int_equal(verify_flipped(data, len, len - 1, NULL, &p), CIRRUS_ECORRUPT);
    expect_problem(&p, part, "bad magic", 1);
    assert_int_equal(p.n, 1);
    problems_free(&p);
    sst_props_clear(&props);
    free(data);
}

/* A bad properties block is reported; the data blocks are still checked
 * (and a flipped one among them reported too). */
static void flipped_properties_are_reported(void **state)
{
    (void)state;
    struct problems p = {0};
    char part[64];
    verify_meta_flipped(1, 2, 1, &p, part);
    expect_problem(&p, part, "checksum mismatch (stored", 1);
    expect_problem(&p, "data block at offset 0:", "checksum mismatch (stored", 1);
    assert_int_equal(p.n, 2);
    problems_free(&p);
}

static void flipped_filter_is_reported(void **state)
{
    (void)state;
    struct problems p = {0};
    char part[64];
    verify_meta_flipped(0, 1, 0, &p, part);
    expect_problem(&p, part, "checksum mismatch (stored", 1);
    assert_int_equal(p.n, 1);
    problems_free(&p);
}

/* The object cut short of its recorded size; and one longer than it. */
static void wrong_object_size_is_reported(void **state)
{
    (void)state;
    struct problems p = {0};
    struct sst_props props;
    size_t len;
    char says[64];
    uint8_t *data = build(CIRRUS_COMPRESSION_NONE, 0, 200, 0, &len, &props);
    struct sst_expect e = expect_of(&props, 0);
    struct objstore *os = store();
    put(os, data, len - 100);
    assert_int_equal(verify(os, &e, &p, NULL), CIRRUS_ECORRUPT);
    snprintf(says, sizeof(says), "%zu bytes, expected %zu", len - 100, len);
    expect_problem(&p, "object: ", says, 1);
    problems_free(&p);
    os->ops->close(os);
    /* the file itself sound, its description wrong */
    os = store();
    put(os, data, len);
    e.size = len + 1;
    assert_int_equal(verify(os, &e, &p, NULL), CIRRUS_ECORRUPT);
    snprintf(says, sizeof(says), "%zu bytes, expected %zu", len, len + 1);
    expect_problem(&p, "object: ", says, 1);
    assert_int_equal(p.n, 1);
    problems_free(&p);
    os->ops->close(os);
    sst_props_clear(&props);
    free(data);
}

/* ---- crafted defects ---------------------------------------------------- */

static void keys_out_of_order_in_a_block_are_reported(void **state)
{
    (void)state;
    const struct centry bad[] = {{"a", 1, KIND_PUT, "1"},
                                 {"c", 1, KIND_PUT, "2"},
                                 {"b", 1, KIND_PUT, "3"},
                                 {"d", 1, KIND_PUT, "4"}};
    /* one user key, seqs increasing: out of order as internal keys */
    const struct centry seqs[] = {{"e", 1, KIND_PUT, "1"}, {"e", 2, KIND_PUT, "2"}};
    struct cblock blocks[] = {{bad, 4, NULL, 0}, {seqs, 2, NULL, 0}};
    struct craft c = {.blocks = blocks, .n_blocks = 2};
    struct problems p = {0};
    assert_int_equal(verify_crafted(&c, &p), CIRRUS_ECORRUPT);
    expect_problem(&p, "data block at offset 0:", "key \"b\" seq 1 at block offset", 1);
    expect_problem(&p, "data block at offset", "key \"e\" seq 2 at block offset", 1);
    assert_int_equal(p.n, 2);
    problems_free(&p);
}

static void keys_out_of_order_across_blocks_are_reported(void **state)
{
    (void)state;
    const struct centry late[] = {{"banana", 1, KIND_PUT, "1"}, {"zebra", 1, KIND_PUT, "2"}};
    struct cblock blocks[] = {{block_a, 6, NULL, 0}, {late, 2, NULL, 0}};
    struct craft c = {.blocks = blocks, .n_blocks = 2};
    struct problems p = {0};
    assert_int_equal(verify_crafted(&c, &p), CIRRUS_ECORRUPT);
    expect_problem(&p, "data block at offset",
                   "first key \"banana\" seq 1 is not greater than the last key before the block, "
                   "\"elder\" seq 8",
                   1);
    assert_int_equal(p.n, 1);
    problems_free(&p);
}

static void index_key_that_is_not_the_last_is_reported(void **state)
{
    (void)state;
    /* past the block's last key: seeks for keys between them go wrong */
    struct cblock blocks[] = {{block_a, 6, "egg", 1}, {block_b, 3, NULL, 0}};
    struct craft c = {.blocks = blocks, .n_blocks = 2};
    struct problems p = {0};
    assert_int_equal(verify_crafted(&c, &p), CIRRUS_ECORRUPT);
    expect_problem(&p, "index block at offset",
                   "key \"egg\" seq 1 of the entry for the data block at offset 0 is not the "
                   "block's last key, \"elder\" seq 8",
                   1);
    assert_int_equal(p.n, 1);
    problems_free(&p);
}

static void lie_about_everything(struct sst_props *p)
{
    p->smallest = (uint8_t *)"aardvark";
    p->smallest_len = 8;
    p->largest = (uint8_t *)"zebra";
    p->largest_len = 5;
    p->min_seq--;
    p->max_seq++;
    p->n_entries++;
    p->n_deletes++;
    p->n_data_blocks++;
    p->raw_key_bytes++;
    p->raw_value_bytes++;
}

/* Every property that does not match the data is named. */
static void properties_that_do_not_match_the_data_are_reported(void **state)
{
    (void)state;
    struct cblock blocks[] = {{block_a, 6, NULL, 0}, {block_b, 3, NULL, 0}};
    struct craft c = {.blocks = blocks, .n_blocks = 2, .edit_props = lie_about_everything};
    struct problems p = {0};
    const char *fields[] = {
        "smallest key \"aardvark\", the data blocks hold \"apple\"",
        "largest key \"zebra\", the data blocks hold \"kiwi\"",
        "min_seq 0, the data blocks hold 1",
        "max_seq 10, the data blocks hold 9",
        "n_entries 10, the data blocks hold 9",
        "n_deletes 3, the data blocks hold 2",
        "n_data_blocks 3, the data blocks hold 2",
        "raw_key_bytes 44, the data blocks hold 43",
        "raw_value_bytes 34, the data blocks hold 33",
    };
    assert_int_equal(verify_crafted(&c, &p), CIRRUS_ECORRUPT);
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
        expect_problem(&p, "properties block at offset", fields[i], 1);
    assert_int_equal(p.n, sizeof(fields) / sizeof(fields[0]));
    problems_free(&p);
}

/* A sound file against a description it does not match: each field. */
static void description_mismatches_are_reported(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct problems p = {0};
    struct sst_props props;
    size_t len;
    uint8_t *data = build(CIRRUS_COMPRESSION_ZSTD, 10, 100, 0, &len, &props);
    put(os, data, len);
    struct sst_expect good = expect_of(&props, 0), e;
    char says[128];

    e = good;
    e.n_entries++;
    assert_int_equal(verify(os, &e, &p, NULL), CIRRUS_ECORRUPT);
    snprintf(says, sizeof(says), "n_entries %llu, expected %llu",
             (unsigned long long)props.n_entries, (unsigned long long)props.n_entries + 1);
    expect_problem(&p, "properties block at offset", says, 1);
    assert_int_equal(p.n, 1);
    problems_free(&p);

    e = good;
    e.smallest = (const uint8_t *)"key-000000\x01";
    e.smallest_len = 11;
    assert_int_equal(verify(os, &e, &p, NULL), CIRRUS_ECORRUPT);
    expect_problem(&p, "properties block at offset",
                   "smallest key \"key-000000\", expected \"key-000000\\x01\"", 1);
    assert_int_equal(p.n, 1);
    problems_free(&p);

    e = good;
    e.max_seq--;
    e.n_deletes++;
    e.largest_len--;
    assert_int_equal(verify(os, &e, &p, NULL), CIRRUS_ECORRUPT);
    expect_problem(&p, "properties block at offset", "max_seq", 1);
    expect_problem(&p, "properties block at offset", "n_deletes", 1);
    expect_problem(&p, "properties block at offset", "largest key", 1);
    assert_int_equal(p.n, 3);
    problems_free(&p);

    /* what is not known is not compared */
    e = good;
    e.n_entries = e.min_seq = 12345;
    e.smallest_len = 0;
    e.size = 0;
    e.have_counts = e.have_seqs = e.have_keys = 0;
    assert_int_equal(verify(os, &e, &p, NULL), 0);
    assert_int_equal(p.n, 0);

    sst_props_clear(&props);
    free(data);
    os->ops->close(os);
}

/* With the properties unreadable, the description is held to the data. */
static void description_is_held_to_the_data_without_properties(void **state)
{
    (void)state;
    struct problems p = {0};
    struct sst_props props;
    size_t len;
    uint8_t *data = build(CIRRUS_COMPRESSION_NONE, 0, 100, 0, &len, &props);
    struct sst_footer f = footer_of(data, len);
    struct sst_expect e = expect_of(&props, 0);
    e.n_entries--;
    assert_int_equal(verify_flipped(data, len, (size_t)f.props.off, &e, &p), CIRRUS_ECORRUPT);
    expect_problem(&p, "properties block at offset", "checksum mismatch", 1);
    expect_problem(&p, "data blocks: ", "n_entries", 1);
    assert_int_equal(p.n, 2);
    problems_free(&p);
    sst_props_clear(&props);
    free(data);
}

static void filter_that_misses_keys_is_reported(void **state)
{
    (void)state;
    struct cblock blocks[] = {{block_a, 6, NULL, 0}, {block_b, 3, NULL, 0}};
    struct craft c = {.blocks = blocks, .n_blocks = 2, .filter = FILTER_OF_OTHER_KEYS};
    struct problems p = {0};
    assert_int_equal(verify_crafted(&c, &p), CIRRUS_ECORRUPT);
    expect_problem(&p, "filter block at offset", "keys reported absent (first \"apple\")", 1);
    assert_int_equal(p.n, 1);
    problems_free(&p);
}

/* Bytes between blocks lie under no checksum. */
static void gaps_between_blocks_are_reported(void **state)
{
    (void)state;
    struct cblock blocks[] = {{block_a, 6, NULL, 0}, {block_b, 3, NULL, 0}};
    struct craft c = {.blocks = blocks, .n_blocks = 2, .gap = 3};
    struct problems p = {0};
    assert_int_equal(verify_crafted(&c, &p), CIRRUS_ECORRUPT);
    /* after data block 0, and after data block 1 before the properties */
    expect_problem(&p, "data block at offset", "(blocks follow one another without gaps)", 1);
    expect_problem(&p, "properties block at offset", "(blocks follow one another without gaps)", 1);
    assert_int_equal(p.n, 2);
    problems_free(&p);
}

/* Restart 1 points into the middle of an entry: seeks would decode
 * garbage, a forward scan does not notice. */
static void restart_into_an_entry(struct buf *raw, size_t i)
{
    if (i != 1)
        return;
    uint32_t n = decode_fixed32(raw->data + raw->len - 4);
    assert_true(n >= 1);
    uint8_t *r1 = raw->data + raw->len - 4 - 4 * n + 4;
    encode_fixed32(r1, decode_fixed32(r1) + 1);
}

static void bad_restart_array_is_reported(void **state)
{
    (void)state;
    const struct centry many[] = {{"m1", 1, KIND_PUT, "1"}, {"m2", 1, KIND_PUT, "2"},
                                  {"m3", 1, KIND_PUT, "3"}, {"m4", 1, KIND_PUT, "4"},
                                  {"m5", 1, KIND_PUT, "5"}, {"m6", 1, KIND_PUT, "6"}};
    struct cblock blocks[] = {{block_a, 6, NULL, 0}, {many, 6, NULL, 0}};
    struct craft c = {.blocks = blocks, .n_blocks = 2, .edit_block = restart_into_an_entry};
    struct problems p = {0};
    assert_int_equal(verify_crafted(&c, &p), CIRRUS_ECORRUPT);
    expect_problem(&p, "data block at offset", "restart point not at the start of an entry", 1);
    assert_int_equal(p.n, 1);
    problems_free(&p);
}

static void unknown_kind_is_reported(void **state)
{
    (void)state;
    const struct centry odd[] = {{"a", 1, KIND_PUT, "1"}, {"b", 1, 9, "2"}};
    struct cblock blocks[] = {{odd, 2, NULL, 0}};
    struct craft c = {.blocks = blocks, .n_blocks = 1};
    struct problems p = {0};
    assert_int_equal(verify_crafted(&c, &p), CIRRUS_ECORRUPT);
    expect_problem(&p, "data block at offset 0:", "unknown kind 9", 1);
    assert_int_equal(p.n, 1);
    problems_free(&p);
}

/* ---- objects that cannot be read ---------------------------------------- */

static void missing_object_is_not_found(void **state)
{
    (void)state;
    struct objstore *os = store();
    struct problems p = {0};
    uint64_t bytes = 99;
    assert_int_equal(verify(os, NULL, &p, &bytes), CIRRUS_ENOTFOUND);
    assert_int_equal(p.n, 0);
    assert_int_equal(bytes, 0);
    assert_non_null(strstr(cirrus_errmsg(), NAME));
    os->ops->close(os);
}

static void failed_read_is_an_error(void **state)
{
    (void)state;
    char *dir = tmpdir_make("sst_verify");
    char url[1024];
    struct objstore *os;
    struct problems p = {0};
    struct sst_props props;
    size_t len;
    uint8_t *data = build(CIRRUS_COMPRESSION_NONE, 0, 20, 0, &len, &props);
    assert_int_equal(objstore_open(&os, dir, 1), 0);
    put(os, data, len);
    objstore_close(os);
    snprintf(url, sizeof(url), "fault:%s?fail_next=1", dir);
    assert_int_equal(objstore_open(&os, url, 0), 0);
    assert_int_equal(verify(os, NULL, &p, NULL), CIRRUS_EIO);
    assert_int_equal(p.n, 0);
    assert_non_null(strstr(cirrus_errmsg(), NAME));
    /* the next read goes through: sound */
    assert_int_equal(verify(os, NULL, &p, NULL), 0);
    objstore_close(os);
    sst_props_clear(&props);
    free(data);
    tmpdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(sound_files_pass_in_one_get),
        cmocka_unit_test(crafted_files_are_sound),
        cmocka_unit_test(l0_file_with_global_seq_passes),
        cmocka_unit_test(stored_seqs_under_a_global_seq_are_reported),
        cmocka_unit_test(stored_seq_in_a_data_block_is_reported),
        cmocka_unit_test(flipped_data_blocks_are_each_reported),
        cmocka_unit_test(bad_compression_is_reported),
        cmocka_unit_test(flipped_index_is_reported),
        cmocka_unit_test(flipped_footer_is_reported),
        cmocka_unit_test(flipped_properties_are_reported),
        cmocka_unit_test(flipped_filter_is_reported),
        cmocka_unit_test(wrong_object_size_is_reported),
        cmocka_unit_test(keys_out_of_order_in_a_block_are_reported),
        cmocka_unit_test(keys_out_of_order_across_blocks_are_reported),
        cmocka_unit_test(index_key_that_is_not_the_last_is_reported),
        cmocka_unit_test(properties_that_do_not_match_the_data_are_reported),
        cmocka_unit_test(description_mismatches_are_reported),
        cmocka_unit_test(description_is_held_to_the_data_without_properties),
        cmocka_unit_test(filter_that_misses_keys_is_reported),
        cmocka_unit_test(gaps_between_blocks_are_reported),
        cmocka_unit_test(bad_restart_array_is_reported),
        cmocka_unit_test(unknown_kind_is_reported),
        cmocka_unit_test(missing_object_is_not_found),
        cmocka_unit_test(failed_read_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
