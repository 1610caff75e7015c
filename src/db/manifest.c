#include "db/manifest.h"

#include <string.h>

#include "db/filename.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/status.h"

#define MANIFEST_MAGIC 0x4e414d43u /* "CMAN" little-endian */

int manifest_encode(struct buf *b, const struct version *v)
{
    size_t start = b->len;
    int rc;
    if ((rc = buf_put_fixed32(b, MANIFEST_MAGIC)) < 0 ||
        (rc = buf_put_u8(b, MANIFEST_FORMAT_VERSION)) < 0 || (rc = buf_put_varint(b, v->seq)) < 0 ||
        (rc = buf_put_fixed64(b, (uint64_t)v->time_ms)) < 0 ||
        (rc = buf_put_varint(b, v->min_readable_seq)) < 0 ||
        (rc = buf_put_varint(b, version_total_files(v))) < 0)
        return rc;
    for (int l = 0; l < CIRRUS_MAX_LEVELS; l++)
        for (size_t i = 0; i < v->n_files[l]; i++)
            if ((rc = file_meta_encode(b, &v->files[l][i]->meta)) < 0)
                return rc;
    if ((rc = buf_put_varint(b, v->n_apps)) < 0)
        return rc;
    for (size_t i = 0; i < v->n_apps; i++)
        if ((rc = buf_put_lenbytes(b, v->apps[i].app, strlen(v->apps[i].app))) < 0 ||
            (rc = buf_put_varint(b, v->apps[i].epoch)) < 0 ||
            (rc = buf_put_varint(b, v->apps[i].seq)) < 0)
            return rc;
    if ((rc = buf_put_varint(b, v->n_ranges)) < 0)
        return rc;
    for (size_t i = 0; i < v->n_ranges; i++)
        if ((rc = range_del_encode(b, &v->ranges[i])) < 0)
            return rc;
    return buf_put_fixed32(b, checksum32(b->data + start, b->len - start));
}

int manifest_decode(struct version **out, const uint8_t *data, size_t len, const char *what)
{
    struct version *v = NULL;
    struct file_meta f = {0};
    const uint8_t *p = data, *end;
    uint32_t magic;
    uint8_t format;
    uint64_t n_files;
    int rc = CIRRUS_ECORRUPT;
    if (len < 4 + 1 + 1 + 8 + 1 + 4) {
        err_set(CIRRUS_ECORRUPT, "%s: manifest truncated (%zu bytes)", what, len);
        goto done;
    }
    end = data + len - 4;
    uint32_t stored = decode_fixed32(end), computed = checksum32(data, len - 4);
    if (stored != computed) {
        err_set(CIRRUS_ECORRUPT, "%s: manifest checksum mismatch (stored %08x, computed %08x)",
                what, stored, computed);
        goto done;
    }
    if (get_fixed32(&p, end, &magic) < 0 || magic != MANIFEST_MAGIC) {
        err_set(CIRRUS_ECORRUPT, "%s: not a manifest (bad magic)", what);
        goto done;
    }
    if (get_u8(&p, end, &format) < 0 || format != MANIFEST_FORMAT_VERSION) {
        rc = err_set(CIRRUS_EVERSION,
                     "%s: manifest format version %u not supported (this build: %u)", what, format,
                     MANIFEST_FORMAT_VERSION);
        goto done;
    }
    if ((rc = version_new(&v)) < 0)
        goto done;
    rc = CIRRUS_ECORRUPT;
    uint64_t time_ms;
    if (get_varint64(&p, end, &v->seq) < 0 || get_fixed64(&p, end, &time_ms) < 0 ||
        get_varint64(&p, end, &v->min_readable_seq) < 0 || get_varint64(&p, end, &n_files) < 0)
        goto malformed;
    v->time_ms = (int64_t)time_ms;
    for (uint64_t i = 0; i < n_files; i++) {
        int r = file_meta_decode(&p, end, &f);
        if (r == -1 || f.global_seq == ENTRY_SEQ_SELF)
            goto malformed;
        if (r < 0) {
            rc = r;
            goto done;
        }
        /* files are written newest first: keep that order among equal seqs */
        if ((rc = version_add_file(v, &f, (uint32_t)(n_files - i))) < 0)
            goto done;
        file_meta_clear(&f);
    }
    uint64_t n_apps;
    if (get_varint64(&p, end, &n_apps) < 0)
        goto malformed;
    for (uint64_t i = 0; i < n_apps; i++) {
        const uint8_t *app;
        size_t app_len;
        uint64_t epoch, seq;
        char name[256];
        if (get_lenbytes(&p, end, &app, &app_len) < 0 || app_len == 0 || app_len >= sizeof(name) ||
            memchr(app, 0, app_len) || get_varint64(&p, end, &epoch) < 0 ||
            get_varint64(&p, end, &seq) < 0)
            goto malformed;
        memcpy(name, app, app_len);
        name[app_len] = '\0';
        if ((rc = version_set_app(v, name, epoch, seq)) < 0)
            goto done;
    }
    uint64_t n_ranges;
    if (get_varint64(&p, end, &n_ranges) < 0)
        goto malformed;
    for (uint64_t i = 0; i < n_ranges; i++) {
        struct range_del r;
        int d = range_del_decode(&p, end, &r);
        if (d == -1)
            goto malformed;
        if (d < 0) {
            rc = d;
            goto done;
        }
        rc = version_add_range(v, &r);
        range_del_clear(&r);
        if (rc < 0)
            goto done;
    }
    if (p != end)
        goto malformed;
    version_sort(v);
    *out = v;
    v = NULL;
    rc = 0;
    goto done;
malformed:
    rc = err_set(CIRRUS_ECORRUPT, "%s: malformed manifest at byte %zu", what, (size_t)(p - data));
done:
    file_meta_clear(&f);
    version_unref(v);
    return rc;
}
