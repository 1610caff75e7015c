/*
 * disk_cache.c - the disk cache object store (contract in disk_cache.h,
 * chunk file bytes in docs/FORMAT.md "Disk cache chunks").
 *
 * Directory layout: DIR/HH/XXXXXXXXXXXXXXXX-N, where X.. is hash64 of the
 * object name in 16 lower-case hex digits, HH its first two, and N the
 * chunk index in decimal. The 256 subdirectories keep directories small.
 * Temporary files are DIR/HH/.tmp-<random>; a scan deletes those older
 * than an hour (left by a crashed writer; younger ones may be in flight in
 * another process).
 *
 * Why it is safe:
 *  1. A chunk file appears only by rename() of a complete temporary file,
 *     so a reader opening the final name sees one writer's whole file.
 *     Files are not fsync'd: after a power loss a renamed file may hold
 *     garbage, which the checksums catch (and the cache refetches).
 *  2. Every byte served from a chunk file has passed: magic, version, chunk
 *     size, object name, chunk index, header checksum, file length, the
 *     consistency of data length with object size, and the data checksum.
 *     A file failing any of them is unlinked and counted as corrupt.
 *  3. Nothing the cache does locally can fail a read: a local error of any
 *     kind (missing file, EIO, disk full) turns into a fetch from the inner
 *     store. Only the inner store's errors (and ENOMEM) reach the caller.
 *  4. The index (chunk files known, bytes, access order) is a hint: files
 *     may vanish under it (other processes evict) or appear beside it
 *     (other processes write). Correctness rests on 1-3 only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cache/disk_cache.h"
#include "objstore/objstore.h"
#include "util/coding.h"
#include "util/hash.h"
#include "util/status.h"
#include "util/sys.h"

#define CHUNK DISK_CACHE_CHUNK
#define CHUNK_MAGIC 0x4b4e4843u /* "CHNK" as little-endian bytes */
#define CHUNK_VERSION 1
#define HDR_FIXED 40     /* header bytes before the name */
#define NAME_MAX_LEN 512 /* objstore.h rule 6 */
#define HDR_MAX (HDR_FIXED + NAME_MAX_LEN + 4)
#define SIZE_UNKNOWN UINT64_MAX
#define TMP_PREFIX ".tmp-"
#define TMP_STALE_MS (3600 * 1000) /* older temporaries are crash leftovers */
#define RESCAN_MS (60 * 1000)      /* how often to learn other processes' files */
#define TOUCH_MS (60 * 1000)       /* mtime staleness worth a futimens() */
#define PATH_LEN 4096
#define MIN_BUCKETS 64

/* One chunk file the index knows. */
struct node {
    struct node *hnext;       /* hash chain */
    struct node *prev, *next; /* access order: dc->lru.next is the oldest */
    uint64_t name_hash;       /* hash64 of the object name */
    uint64_t idx;             /* chunk index */
    uint64_t bytes;           /* file length */
    int64_t atime_ms;         /* last access by this process (or mtime) */
};

struct dc {
    struct objstore base;
    struct objstore *inner; /* owned */
    char *dir;              /* no trailing '/' */
    uint64_t capacity;      /* bytes */
    pthread_mutex_t mu;     /* guards everything below */
    struct node **buckets;
    size_t n_buckets; /* a power of two */
    struct node lru;  /* list head */
    int64_t last_scan_ms;
    struct disk_cache_stats st; /* bytes_used, n_chunks kept current */
};

/* A decoded chunk header. */
struct chunk_hdr {
    uint32_t data_len;
    uint32_t data_sum;
    uint64_t object_size; /* SIZE_UNKNOWN: the chunk is full */
};

static const struct objstore_ops dc_ops;

#define DC(os) ((struct dc *)(os))

/* ---- the index ----------------------------------------------------------- */

static size_t bucket_of(const struct dc *dc, uint64_t h, uint64_t idx)
{
    return (size_t)((h ^ (idx * 0x9e3779b97f4a7c15ull)) & (dc->n_buckets - 1));
}

static struct node **find_node(struct dc *dc, uint64_t h, uint64_t idx)
{
    struct node **p = &dc->buckets[bucket_of(dc, h, idx)];
    while (*p && ((*p)->name_hash != h || (*p)->idx != idx))
        p = &(*p)->hnext;
    return p;
}

static void lru_unlink(struct node *n)
{
    n->prev->next = n->next;
    n->next->prev = n->prev;
}

static void lru_push(struct dc *dc, struct node *n)
{
    n->next = &dc->lru;
    n->prev = dc->lru.prev;
    n->prev->next = n;
    dc->lru.prev = n;
}

static void maybe_grow(struct dc *dc)
{
    if (dc->st.n_chunks < dc->n_buckets)
        return;
    size_t old = dc->n_buckets;
    struct node **b = calloc(old * 2, sizeof(*b)), **prev = dc->buckets;
    if (!b)
        return; /* longer chains only */
    dc->buckets = b;
    dc->n_buckets = old * 2;
    for (size_t i = 0; i < old; i++) {
        struct node *n = prev[i];
        while (n) {
            struct node *next = n->hnext;
            size_t k = bucket_of(dc, n->name_hash, n->idx);
            n->hnext = b[k];
            b[k] = n;
            n = next;
        }
    }
    free(prev);
}

/* Records an access to (h, idx), a file of `bytes`, adding it if unknown.
 * Called with mu held. */
static void index_touch(struct dc *dc, uint64_t h, uint64_t idx, uint64_t bytes, int64_t at_ms)
{
    struct node **p = find_node(dc, h, idx), *n = *p;
    if (n) {
        lru_unlink(n);
        dc->st.bytes_used -= n->bytes;
    } else {
        if (!(n = calloc(1, sizeof(*n))))
            return; /* unindexed: only the size bound gets looser */
        n->name_hash = h;
        n->idx = idx;
        *p = n;
        dc->st.n_chunks++;
    }
    n->bytes = bytes;
    n->atime_ms = at_ms;
    dc->st.bytes_used += bytes;
    lru_push(dc, n);
    maybe_grow(dc);
}

/* Called with mu held. */
static void index_remove(struct dc *dc, uint64_t h, uint64_t idx)
{
    struct node **p = find_node(dc, h, idx), *n = *p;
    if (!n)
        return;
    *p = n->hnext;
    lru_unlink(n);
    dc->st.bytes_used -= n->bytes;
    dc->st.n_chunks--;
    free(n);
}

/* ---- paths and file I/O -------------------------------------------------- */

static void chunk_path(const struct dc *dc, uint64_t h, uint64_t idx, char *out)
{
    snprintf(out, PATH_LEN, "%s/%02x/%016" PRIx64 "-%" PRIu64, dc->dir, (unsigned)(h >> 56), h,
             idx);
}

static int read_full(int fd, void *buf, size_t len, uint64_t off)
{
    size_t done_len = 0;
    while (done_len < len) {
        ssize_t n = pread(fd, (uint8_t *)buf + done_len, len - done_len, (off_t)(off + done_len));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done_len += (size_t)n;
    }
    return 0;
}

static int write_full(int fd, const void *buf, size_t len)
{
    size_t done_len = 0;
    while (done_len < len) {
        ssize_t n = write(fd, (const uint8_t *)buf + done_len, len - done_len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        done_len += (size_t)n;
    }
    return 0;
}

/* Bytes of chunk idx of an object of `size` bytes; -1 if no such chunk.
 * Chunk 0 of an empty object exists and is empty. */
static int64_t expected_len(uint64_t size, uint64_t idx)
{
    if (size == SIZE_UNKNOWN)
        return (int64_t)CHUNK;
    if (idx > UINT64_MAX / CHUNK)
        return -1;
    if (size == 0 && idx == 0)
        return 0;
    if (idx * CHUNK >= size)
        return -1;
    return (int64_t)(size - idx * CHUNK < CHUNK ? size - idx * CHUNK : CHUNK);
}

/* Encodes the header of a chunk into hdr; returns its length. */
static size_t encode_header(uint8_t *hdr, const char *name, size_t nlen, uint64_t idx,
                            const uint8_t *data, size_t dlen, uint64_t size)
{
    encode_fixed32(hdr, CHUNK_MAGIC);
    encode_fixed32(hdr + 4, CHUNK_VERSION);
    encode_fixed32(hdr + 8, (uint32_t)CHUNK);
    encode_fixed32(hdr + 12, (uint32_t)dlen);
    encode_fixed64(hdr + 16, idx);
    encode_fixed64(hdr + 24, size);
    encode_fixed32(hdr + 32, (uint32_t)nlen);
    encode_fixed32(hdr + 36, checksum32(data, dlen));
    memcpy(hdr + HDR_FIXED, name, nlen);
    encode_fixed32(hdr + HDR_FIXED + nlen, checksum32(hdr, HDR_FIXED + nlen));
    return HDR_FIXED + nlen + 4;
}

/* Checks a header read for (name, idx); 0 if it is one, -1 if not. */
static int decode_header(const uint8_t *hdr, const char *name, size_t nlen, uint64_t idx,
                         struct chunk_hdr *out)
{
    if (decode_fixed32(hdr) != CHUNK_MAGIC || decode_fixed32(hdr + 4) != CHUNK_VERSION ||
        decode_fixed32(hdr + 8) != (uint32_t)CHUNK || decode_fixed32(hdr + 32) != nlen ||
        memcmp(hdr + HDR_FIXED, name, nlen) != 0 ||
        decode_fixed32(hdr + HDR_FIXED + nlen) != checksum32(hdr, HDR_FIXED + nlen) ||
        decode_fixed64(hdr + 16) != idx)
        return -1;
    out->data_len = decode_fixed32(hdr + 12);
    out->object_size = decode_fixed64(hdr + 24);
    out->data_sum = decode_fixed32(hdr + 36);
    int64_t want = expected_len(out->object_size, idx);
    return want >= 0 && (uint64_t)want == out->data_len ? 0 : -1;
}

/*
 * Reads chunk idx of `name` into data (room for CHUNK bytes). 1: served,
 * *dlen_out set and *size_io set when the chunk knows the object size;
 * 0: not served (absent, unreadable, or bad and now deleted).
 */
static int read_chunk(struct dc *dc, const char *name, uint64_t h, uint64_t idx, uint8_t *data,
                      size_t *dlen_out, uint64_t *size_io)
{
    int hit = 0, bad = 0, fd = -1;
    char path[PATH_LEN];
    uint8_t hdr[HDR_MAX];
    struct chunk_hdr ch;
    struct stat st;
    size_t nlen = strlen(name), hlen = HDR_FIXED + nlen + 4;
    chunk_path(dc, h, idx, path);
    /* longer names are never cached (the header has no room for them) */
    if (nlen > NAME_MAX_LEN || (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 || fstat(fd, &st) < 0)
        goto done; /* evicted meanwhile, or never there */
    bad = 1;
    if ((uint64_t)st.st_size < hlen || read_full(fd, hdr, hlen, 0) < 0 ||
        decode_header(hdr, name, nlen, idx, &ch) < 0 ||
        (uint64_t)st.st_size != hlen + ch.data_len || read_full(fd, data, ch.data_len, hlen) < 0 ||
        checksum32(data, ch.data_len) != ch.data_sum)
        goto done;
    bad = 0;
    hit = 1;
    *dlen_out = ch.data_len;
    if (ch.object_size != SIZE_UNKNOWN)
        *size_io = ch.object_size;
    int64_t now = now_ms();
    /* keep the access order for the next process's scan, cheaply */
    if (now - ((int64_t)st.st_mtime * 1000) > TOUCH_MS)
        (void)futimens(fd, NULL);
    pthread_mutex_lock(&dc->mu);
    index_touch(dc, h, idx, (uint64_t)st.st_size, now);
    dc->st.hits++;
    pthread_mutex_unlock(&dc->mu);
done:
    if (fd >= 0)
        close(fd);
    if (bad) {
        (void)unlink(path);
        pthread_mutex_lock(&dc->mu);
        dc->st.corrupt++;
        index_remove(dc, h, idx);
        pthread_mutex_unlock(&dc->mu);
    }
    if (!hit && !bad && fd < 0) {
        pthread_mutex_lock(&dc->mu);
        index_remove(dc, h, idx); /* gone: stop counting it */
        pthread_mutex_unlock(&dc->mu);
    }
    return hit;
}

/* Keeps one chunk (best effort: on any failure nothing is cached). */
static void write_chunk(struct dc *dc, const char *name, uint64_t h, uint64_t idx,
                        const uint8_t *data, size_t dlen, uint64_t size)
{
    char path[PATH_LEN], tmp[PATH_LEN];
    uint8_t hdr[HDR_MAX];
    int fd = -1, made = 0;
    size_t nlen = strlen(name), hlen = 0;
    snprintf(tmp, sizeof(tmp), "%s/%02x", dc->dir, (unsigned)(h >> 56));
    if (nlen > NAME_MAX_LEN || (mkdir(tmp, 0755) < 0 && errno != EEXIST))
        goto done;
    hlen = encode_header(hdr, name, nlen, idx, data, dlen, size);
    snprintf(tmp + strlen(tmp), sizeof(tmp) - strlen(tmp), "/" TMP_PREFIX "%016" PRIx64,
             rand_u64());
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
        goto done;
    made = 1;
    if (write_full(fd, hdr, hlen) < 0 || write_full(fd, data, dlen) < 0)
        goto done;
    if (close(fd) < 0) {
        fd = -1;
        goto done;
    }
    fd = -1;
    chunk_path(dc, h, idx, path);
    if (rename(tmp, path) < 0) /* atomic: readers see the old file or this one */
        goto done;
    made = 0;
    pthread_mutex_lock(&dc->mu);
    index_touch(dc, h, idx, hlen + dlen, now_ms());
    pthread_mutex_unlock(&dc->mu);
done:
    if (fd >= 0)
        close(fd);
    if (made)
        (void)unlink(tmp);
}

/* ---- scanning and eviction ----------------------------------------------- */

struct found {
    uint64_t h, idx, bytes;
    int64_t mtime_ms;
};

struct found_list {
    struct found *v;
    size_t n, cap;
};

/* Parses "XXXXXXXXXXXXXXXX-N"; 0 if it is a chunk file name. */
static int parse_chunk_name(const char *s, uint64_t *h, uint64_t *idx)
{
    char *end = NULL;
    if (strlen(s) < 18 || s[16] != '-')
        return -1;
    for (int i = 0; i < 16; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return -1;
    *h = strtoull(s, NULL, 16);
    if (s[17] < '0' || s[17] > '9')
        return -1;
    errno = 0;
    *idx = strtoull(s + 17, &end, 10);
    return errno == 0 && *end == '\0' ? 0 : -1;
}

static void scan_subdir(const char *sub, int64_t now, struct found_list *fl)
{
    DIR *d = opendir(sub);
    struct dirent *de;
    char path[PATH_LEN];
    struct stat st;
    while (d && (de = readdir(d)) != NULL) {
        uint64_t h, idx;
        if (snprintf(path, sizeof(path), "%s/%s", sub, de->d_name) >= (int)sizeof(path))
            continue;
        int is_tmp = strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0;
        if ((!is_tmp && parse_chunk_name(de->d_name, &h, &idx) < 0) || stat(path, &st) < 0 ||
            !S_ISREG(st.st_mode))
            continue;
        int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000 + st.st_mtim.tv_nsec / 1000000;
        if (is_tmp) {
            if (now - mtime > TMP_STALE_MS)
                (void)unlink(path);
            continue;
        }
        if (fl->n == fl->cap) {
            size_t cap = fl->cap ? fl->cap * 2 : 256;
            struct found *v = realloc(fl->v, cap * sizeof(*v));
            if (!v)
                break; /* an incomplete index only loosens the bound */
            fl->v = v;
            fl->cap = cap;
        }
        fl->v[fl->n++] = (struct found){h, idx, (uint64_t)st.st_size, mtime};
    }
    if (d)
        closedir(d);
}

static int found_cmp(const void *a, const void *b)
{
    const struct found *x = a, *y = b;
    return x->mtime_ms < y->mtime_ms ? -1 : x->mtime_ms > y->mtime_ms;
}

/*
 * Brings the index in line with the directory: files found and not known
 * are added in mtime order (oldest first), known files not found are
 * dropped, unless accessed since the scan began (written meanwhile).
 */
static void scan(struct dc *dc)
{
    struct found_list fl = {0};
    char sub[PATH_LEN];
    int64_t start = now_ms();
    for (unsigned i = 0; i < 256; i++) {
        snprintf(sub, sizeof(sub), "%s/%02x", dc->dir, i);
        scan_subdir(sub, start, &fl);
    }
    if (fl.n)
        qsort(fl.v, fl.n, sizeof(*fl.v), found_cmp);
    pthread_mutex_lock(&dc->mu);
    /* mark: atime -1 means "not seen on disk" */
    for (struct node *n = dc->lru.next; n != &dc->lru; n = n->next)
        if (n->atime_ms < start)
            n->atime_ms = -1;
    for (size_t i = 0; i < fl.n; i++) {
        struct node *n = *find_node(dc, fl.v[i].h, fl.v[i].idx);
        if (n && n->atime_ms == -1)
            n->atime_ms = fl.v[i].mtime_ms; /* seen; keeps its place */
        else if (!n)
            index_touch(dc, fl.v[i].h, fl.v[i].idx, fl.v[i].bytes, fl.v[i].mtime_ms);
    }
    for (struct node *n = dc->lru.next, *next; n != &dc->lru; n = next) {
        next = n->next;
        if (n->atime_ms == -1)
            index_remove(dc, n->name_hash, n->idx);
    }
    dc->last_scan_ms = start;
    pthread_mutex_unlock(&dc->mu);
    free(fl.v);
}

/* Evicts the least recently accessed chunks until the cache is at 7/8 of
 * its capacity, so that evictions come in batches, not one per write. */
static void settle(struct dc *dc)
{
    char path[PATH_LEN];
    struct found *victims = NULL;
    size_t n = 0;
    pthread_mutex_lock(&dc->mu);
    int rescan = now_ms() - dc->last_scan_ms >= RESCAN_MS;
    pthread_mutex_unlock(&dc->mu);
    if (rescan)
        scan(dc);
    pthread_mutex_lock(&dc->mu);
    if (dc->st.bytes_used > dc->capacity &&
        (victims = malloc(dc->st.n_chunks * sizeof(*victims))) != NULL) {
        uint64_t low = dc->capacity - dc->capacity / 8;
        while (dc->st.bytes_used > low && dc->lru.next != &dc->lru) {
            struct node *v = dc->lru.next;
            victims[n++] = (struct found){v->name_hash, v->idx, v->bytes, 0};
            index_remove(dc, v->name_hash, v->idx);
        }
        dc->st.evictions += n;
    }
    pthread_mutex_unlock(&dc->mu);
    /* unlinking outside the lock: a reader holding the file open keeps it */
    for (size_t i = 0; i < n; i++) {
        chunk_path(dc, victims[i].h, victims[i].idx, path);
        (void)unlink(path);
    }
    free(victims);
}

/* ---- the store ----------------------------------------------------------- */

/* Keeps every chunk of a whole object of len bytes (put, get_all). */
static void keep_object(struct dc *dc, const char *name, const uint8_t *data, size_t len)
{
    uint64_t h = hash64(name, strlen(name));
    if (strlen(name) > NAME_MAX_LEN || len > dc->capacity)
        return; /* it would only evict everything else */
    for (uint64_t i = 0; i == 0 || i * CHUNK < len; i++) {
        size_t n = len - i * CHUNK < CHUNK ? (size_t)(len - i * CHUNK) : (size_t)CHUNK;
        write_chunk(dc, name, h, i, data + i * CHUNK, n, len);
    }
    settle(dc);
}

static int dc_put(struct objstore *os, const char *name, const void *data, size_t len)
{
    struct dc *dc = DC(os);
    int rc = objstore_put(dc->inner, name, data, len);
    if (rc == 0)
        keep_object(dc, name, data, len); /* only once the object exists */
    return rc;
}

/*
 * The chunks covering one get: chunk `first` + i at buf + i*CHUNK, lens[i]
 * its length (MISSING until loaded), n the chunks that matter (shrinks when
 * the object turns out to end inside the range).
 */
struct span {
    const char *name;
    uint64_t h;     /* hash64 of name */
    uint64_t first; /* chunk index of buf[0] */
    uint64_t size;  /* object size, SIZE_UNKNOWN until a chunk or a read says */
    uint8_t *buf;   /* n * CHUNK bytes */
    size_t *lens;
    size_t n;
    int fetched; /* chunks were fetched (and written) */
};

#define MISSING SIZE_MAX

/* Loads what the directory has, and trims n to the chunks that exist when
 * the object size becomes known. */
static void span_load_local(struct dc *dc, struct span *sp)
{
    for (size_t i = 0; i < sp->n; i++) {
        sp->lens[i] = MISSING;
        if (read_chunk(dc, sp->name, sp->h, sp->first + i, sp->buf + i * CHUNK, &sp->lens[i],
                       &sp->size) &&
            sp->lens[i] < CHUNK) {
            sp->n = i + 1; /* the object's last chunk */
            break;
        }
    }
    if (sp->size == SIZE_UNKNOWN)
        return;
    /* chunks of the range that exist (0: the range starts past the end) */
    uint64_t base = sp->first * CHUNK, exist = 0;
    if (sp->size > base)
        exist = (sp->size - base + CHUNK - 1) / CHUNK;
    else if (sp->size == 0 && sp->first == 0)
        exist = 1;
    if (exist < sp->n)
        sp->n = (size_t)exist;
}

/*
 * Fetches chunks [i, j) of the span in one request and keeps them. When the
 * object ends early the span shrinks to the chunks that exist and, if the
 * read says exactly where it ends, learns the object size.
 */
static int fetch_run(struct dc *dc, struct span *sp, size_t i, size_t j)
{
    int rc = 0;
    size_t want = (j - i) * (size_t)CHUNK, got = 0;
    uint64_t at = (sp->first + i) * CHUNK;
    if ((rc = objstore_get(dc->inner, sp->name, at, want, sp->buf + i * CHUNK, &got)) < 0)
        goto done;
    pthread_mutex_lock(&dc->mu);
    dc->st.requests++;
    dc->st.misses += j - i;
    dc->st.bytes_fetched += got;
    pthread_mutex_unlock(&dc->mu);
    if (got < want) {
        /* a zero-byte read past chunk 0 says only that the object ends
         * somewhere before `at` */
        if (got > 0 || at == 0)
            sp->size = at + got;
        sp->n = i + (got + CHUNK - 1) / CHUNK;
        if (got == 0 && at == 0)
            sp->n = i + 1; /* the empty object has an empty chunk 0 */
        j = sp->n;
    }
    for (size_t k = i; k < j; k++) {
        size_t off = (k - i) * (size_t)CHUNK;
        sp->lens[k] = got - off < CHUNK ? got - off : (size_t)CHUNK;
        write_chunk(dc, sp->name, sp->h, sp->first + k, sp->buf + k * CHUNK, sp->lens[k], sp->size);
        sp->fetched = 1;
    }
done:
    return rc;
}

/* One request per run of adjacent missing chunks. */
static int span_fetch_missing(struct dc *dc, struct span *sp)
{
    int rc = 0;
    for (size_t i = 0; i < sp->n;) {
        size_t j = i;
        while (j < sp->n && sp->lens[j] == MISSING)
            j++;
        if (j > i && (rc = fetch_run(dc, sp, i, j)) < 0)
            goto done;
        i = j > i ? j : i + 1;
    }
done:
    return rc;
}

static int dc_get(struct objstore *os, const char *name, uint64_t off, size_t len, void *dst,
                  size_t *got_out)
{
    int rc = 0;
    struct dc *dc = DC(os);
    struct span sp = {.name = name, .size = SIZE_UNKNOWN, .first = off / CHUNK};
    uint64_t end = off > UINT64_MAX - len ? UINT64_MAX : off + len;
    uint64_t last = len ? (end - 1) / CHUNK : sp.first;
    if (len == 0 || strlen(name) > NAME_MAX_LEN || last - sp.first >= SIZE_MAX / CHUNK) {
        rc = objstore_get(dc->inner, name, off, len, dst, got_out); /* nothing to cache */
        goto done;
    }
    sp.h = hash64(name, strlen(name));
    sp.n = (size_t)(last - sp.first + 1);
    if (!(sp.buf = malloc(sp.n * CHUNK)) || !(sp.lens = calloc(sp.n, sizeof(*sp.lens)))) {
        rc = err_nomem();
        goto done;
    }
    span_load_local(dc, &sp);
    if ((rc = span_fetch_missing(dc, &sp)) < 0)
        goto done;
    if (sp.fetched)
        settle(dc);
    /* the chunks are now contiguous bytes from first*CHUNK: copy the range */
    uint64_t have = 0, from = off - sp.first * CHUNK;
    for (size_t i = 0; i < sp.n && sp.lens[i] != MISSING; i++)
        have += sp.lens[i];
    size_t got = from < have ? (size_t)(have - from < len ? have - from : len) : 0;
    if (got)
        memcpy(dst, sp.buf + from, got);
    *got_out = got;
done:
    free(sp.lens);
    free(sp.buf);
    return rc;
}

/* The object size chunk 0 records, from its header alone (the data is
 * verified when served); SIZE_UNKNOWN if it is not cached or does not say. */
static uint64_t cached_size(struct dc *dc, const char *name)
{
    uint64_t size = SIZE_UNKNOWN;
    char path[PATH_LEN];
    uint8_t hdr[HDR_MAX];
    struct chunk_hdr ch;
    size_t nlen = strlen(name);
    int fd = -1;
    if (nlen > NAME_MAX_LEN)
        goto done;
    chunk_path(dc, hash64(name, nlen), 0, path);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0 ||
        read_full(fd, hdr, HDR_FIXED + nlen + 4, 0) < 0 ||
        decode_header(hdr, name, nlen, 0, &ch) < 0)
        goto done;
    size = ch.object_size;
done:
    if (fd >= 0)
        close(fd);
    return size;
}

static int dc_get_all(struct objstore *os, const char *name, uint8_t **data_out, size_t *len_out)
{
    int rc = 0;
    struct dc *dc = DC(os);
    uint8_t *data = NULL;
    size_t got = 0;
    uint64_t size = cached_size(dc, name);
    if (size != SIZE_UNKNOWN && size < SIZE_MAX) {
        if (!(data = malloc(size ? (size_t)size : 1))) {
            rc = err_nomem();
            goto done;
        }
        /* (an empty object: chunk 0's valid header says all there is) */
        if (size && (rc = dc_get(os, name, 0, (size_t)size, data, &got)) < 0)
            goto done;
        if (got == size) {
            *data_out = data;
            *len_out = got;
            data = NULL;
            goto done;
        }
        free(data); /* cannot happen to an immutable object; ask the source */
        data = NULL;
    }
    if ((rc = objstore_get_all(dc->inner, name, data_out, len_out)) < 0)
        goto done;
    pthread_mutex_lock(&dc->mu);
    dc->st.requests++;
    dc->st.misses += *len_out / CHUNK + 1;
    dc->st.bytes_fetched += *len_out;
    pthread_mutex_unlock(&dc->mu);
    keep_object(dc, name, *data_out, *len_out);
done:
    free(data);
    return rc;
}

static int dc_head(struct objstore *os, const char *name, uint64_t *size_out)
{
    return objstore_head(DC(os)->inner, name, size_out);
}

/* Deletes every cached chunk of name, also those other processes wrote. */
static void drop_object(struct dc *dc, const char *name)
{
    char sub[PATH_LEN], path[PATH_LEN], prefix[20];
    uint64_t h = hash64(name, strlen(name)), hh, idx;
    DIR *d = NULL;
    struct dirent *de;
    snprintf(sub, sizeof(sub), "%s/%02x", dc->dir, (unsigned)(h >> 56));
    snprintf(prefix, sizeof(prefix), "%016" PRIx64 "-", h);
    if (!(d = opendir(sub)))
        return;
    while ((de = readdir(d)) != NULL) {
        if (strncmp(de->d_name, prefix, 17) != 0 || parse_chunk_name(de->d_name, &hh, &idx) < 0)
            continue;
        if (snprintf(path, sizeof(path), "%s/%s", sub, de->d_name) >= (int)sizeof(path))
            continue;
        (void)unlink(path);
        pthread_mutex_lock(&dc->mu);
        index_remove(dc, h, idx);
        pthread_mutex_unlock(&dc->mu);
    }
    closedir(d);
}

static int dc_del(struct objstore *os, const char *name)
{
    struct dc *dc = DC(os);
    int rc = objstore_del(dc->inner, name);
    if (rc == 0)
        drop_object(dc, name);
    return rc;
}

static int dc_list(struct objstore *os, const char *prefix,
                   int (*fn)(const struct objstore_entry *e, void *arg), void *arg)
{
    return objstore_list(DC(os)->inner, prefix, fn, arg);
}

static void dc_close(struct objstore *os)
{
    struct dc *dc = DC(os);
    if (!dc)
        return;
    if (dc->inner)
        dc->inner->ops->close(dc->inner);
    for (struct node *n = dc->lru.next, *next; n && n != &dc->lru; n = next) {
        next = n->next;
        free(n);
    }
    free(dc->buckets);
    pthread_mutex_destroy(&dc->mu);
    free(dc->dir);
    free(dc->base.url);
    free(dc);
}

static const struct objstore_ops dc_ops = {
    .kind = "diskcache",
    .put = dc_put,
    .get = dc_get,
    .get_all = dc_get_all,
    .head = dc_head,
    .del = dc_del,
    .list = dc_list,
    .close = dc_close,
};

int disk_cache_wrap(struct objstore **out, struct objstore *inner, const char *dir,
                    uint64_t capacity_bytes)
{
    int rc = 0;
    struct dc *dc = NULL;
    const char *iurl = inner->url ? inner->url : "";
    size_t ulen = strlen("diskcache:") + strlen(iurl) + 1;
    if (capacity_bytes == 0) {
        rc = err_set(CIRRUS_EINVALID, "disk cache %s: capacity must be above 0", dir);
        goto done;
    }
    if (strlen(dir) > PATH_LEN - 64) { /* room for "/HH/" and a chunk name */
        rc = err_set(CIRRUS_EINVALID, "disk cache %.64s...: directory name too long", dir);
        goto done;
    }
    if (!(dc = calloc(1, sizeof(*dc)))) {
        rc = err_nomem();
        goto done;
    }
    pthread_mutex_init(&dc->mu, NULL);
    dc->lru.next = dc->lru.prev = &dc->lru;
    dc->base.ops = &dc_ops;
    dc->inner = inner;
    inner = NULL;
    dc->capacity = capacity_bytes;
    dc->st.capacity = capacity_bytes;
    dc->n_buckets = MIN_BUCKETS;
    if (!(dc->buckets = calloc(MIN_BUCKETS, sizeof(*dc->buckets))) ||
        !(dc->base.url = malloc(ulen)) || !(dc->dir = strdup(dir))) {
        rc = err_nomem();
        goto done;
    }
    snprintf(dc->base.url, ulen, "diskcache:%s", iurl);
    size_t dl = strlen(dc->dir);
    while (dl > 1 && dc->dir[dl - 1] == '/')
        dc->dir[--dl] = '\0';
    if (mkdir(dc->dir, 0755) < 0 && errno != EEXIST) {
        rc = err_set(CIRRUS_EIO, "disk cache %s: mkdir: %s", dc->dir, strerror(errno));
        goto done;
    }
    scan(dc); /* what earlier runs (and other processes) left */
    settle(dc);
    *out = &dc->base;
    dc = NULL;
done:
    if (inner)
        inner->ops->close(inner);
    dc_close(dc ? &dc->base : NULL);
    return rc;
}

int disk_cache_stats(struct objstore *os, struct disk_cache_stats *out)
{
    if (!os || os->ops != &dc_ops)
        return err_set(CIRRUS_EINVALID, "objstore %s: not a disk cache", os ? os->url : "");
    struct dc *dc = DC(os);
    pthread_mutex_lock(&dc->mu);
    *out = dc->st;
    pthread_mutex_unlock(&dc->mu);
    return 0;
}
