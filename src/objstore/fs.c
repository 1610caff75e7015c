/*
 * fs.c - the object store in a local directory (contract in objstore.h).
 *
 * Object NAME is the file ROOT/NAME; '/' in a name makes subdirectories,
 * created on demand and never removed (removing them would race with a
 * concurrent put into the same directory).
 *
 * Durability order of a put, so that a crash at any point leaves either no
 * object or the whole object, and never replaces an existing one:
 *   1. write DIR/.tmp-<random> (O_EXCL) and fsync it;
 *   2. link() it to DIR/BASE: the kernel refuses with EEXIST if BASE exists,
 *      which is the no-overwrite guarantee without a check-then-act race
 *      (rename() would silently replace);
 *   3. unlink the temp name and fsync DIR, so the new entry is on disk
 *      before put returns.
 * A crash between 1 and 3 leaves a .tmp-* file behind. Those are never
 * listed or readable as objects (fs rejects names with a component starting
 * ".tmp-"), so they are harmless; an operator may delete them.
 *
 * The store holds no mutable state, so one handle may be used from any
 * number of threads and processes at once.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "objstore/objstore.h"
#include "util/status.h"
#include "util/sys.h"

#define TMP_PREFIX ".tmp-"
#define TMP_PREFIX_LEN 5
#define LIST_NAME_MAX 512

int fs_objstore_open(struct objstore **out, const char *root, const char *url, int create);

struct fs_store {
    struct objstore base;
    char *root; /* absolute, no trailing '/' */
};

static const struct objstore_ops fs_ops;

/* One listed object, collected before sorting. */
struct fs_entry {
    char *name;
    uint64_t size;    /* bytes */
    int64_t mtime_ms; /* Unix ms */
};

struct fs_list {
    const char *prefix;
    size_t prefix_len;
    struct fs_entry *v;
    size_t n, cap;
};

static const char *errstr(int e, char *buf, size_t n)
{
    /* strerror() may share a static buffer between threads; the GNU
     * strerror_r returns a pointer to the message */
    return strerror_r(e, buf, n);
}

/*
 * Records "fs OP PATH: STEP: strerror(e)" and returns the code for errno e:
 * a missing file is CIRRUS_ENOTFOUND when the caller allows it, running out
 * of memory is CIRRUS_ENOMEM, everything else (EACCES, ENOSPC, EIO, ...) is
 * CIRRUS_EIO with the kernel's words for it.
 */
static int fs_fail(int e, int missing_is_notfound, const char *op, const char *path,
                   const char *step)
{
    char ebuf[128];
    int rc = CIRRUS_EIO;
    if (missing_is_notfound && (e == ENOENT || e == ENOTDIR))
        rc = CIRRUS_ENOTFOUND;
    else if (e == ENOMEM)
        rc = CIRRUS_ENOMEM;
    return err_set(rc, "fs %s %s: %s: %s", op, path, step, errstr(e, ebuf, sizeof(ebuf)));
}

static char *path_join(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    char *p = malloc(la + 1 + lb + 1);
    if (p) {
        memcpy(p, a, la);
        p[la] = '/';
        memcpy(p + la + 1, b, lb + 1);
    }
    return p;
}

/* The object rule, plus: no component may start with ".tmp-", because those
 * names are this backend's temp files and list() hides them. */
static int fs_check_name(const char *op, const char *name)
{
    int rc = objstore_check_name(name);
    if (rc == 0) {
        for (const char *c = name; c; c = strchr(c, '/')) {
            c += (*c == '/');
            if (strncmp(c, TMP_PREFIX, TMP_PREFIX_LEN) == 0) {
                rc = err_set(CIRRUS_EINVALID,
                             "invalid object name \"%s\": fs reserves components starting "
                             "\"" TMP_PREFIX "\" for temp files",
                             name);
                break;
            }
        }
    }
    if (rc < 0)
        err_prefix(rc, "fs %s", op);
    return rc;
}

static int fsync_dir(const char *op, const char *dir)
{
    int rc = 0;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        rc = fs_fail(errno, 0, op, dir, "open directory");
        goto done;
    }
    if (fsync(fd) < 0)
        rc = fs_fail(errno, 0, op, dir, "fsync directory");
done:
    if (fd >= 0)
        close(fd);
    return rc;
}

/*
 * Creates every missing directory of path below `from` bytes of it (the
 * store root, which exists). path is modified in place and restored. Each
 * new directory's parent is fsynced so the directory survives a crash along
 * with the object put into it.
 */
static int mkdir_below(const char *op, char *path, size_t from)
{
    int rc = 0;
    for (char *slash = strchr(path + from + 1, '/'); slash && rc == 0;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(path, 0755) == 0) {
            char *parent_end = strrchr(path, '/');
            *parent_end = '\0';
            rc = fsync_dir(op, path);
            *parent_end = '/';
        } else if (errno != EEXIST) {
            rc = fs_fail(errno, 0, op, path, "mkdir");
        }
        *slash = '/';
    }
    return rc;
}

/* Writes all len bytes; -1 with errno set on failure. */
static int write_all(int fd, const uint8_t *p, size_t len)
{
    int rc = 0;
    while (len > 0 && rc == 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno != EINTR)
            rc = -1;
        if (n > 0) {
            p += n;
            len -= (size_t)n;
        }
    }
    return rc;
}

/* Writes an object's bytes into the temp file fd (named tmp, for messages):
 * fs_put's buffer or fs_copy_from's source file. */
typedef int (*fill_fn)(int fd, const char *op, const char *tmp, void *arg);

/*
 * Steps 1-3 of the header's durability order for a new object at path
 * (ROOT/NAME): fill a temp file beside it, fsync, link it to the name
 * (EEXIST: CIRRUS_EEXISTS, never an overwrite), unlink the temp name, fsync
 * the directory. op names the call in messages.
 */
static int publish_new(struct fs_store *fs, const char *op, const char *path, fill_fn fill,
                       void *arg)
{
    int rc = 0, fd = -1, tmp_exists = 0;
    char *tmp = NULL, *dir = NULL;
    /* the temp file lives in the object's directory: link() cannot cross
     * filesystems, and the directory fsync then covers both names */
    size_t dir_len = (size_t)(strrchr(path, '/') - path);
    char rnd[17];
    uint64_t r = rand_u64();
    hex_encode(rnd, (const uint8_t *)&r, sizeof(r));
    if (!(dir = strndup(path, dir_len)) || !(tmp = malloc(dir_len + 1 + TMP_PREFIX_LEN + 17))) {
        rc = err_nomem();
        goto done;
    }
    snprintf(tmp, dir_len + 1 + TMP_PREFIX_LEN + 17, "%s/" TMP_PREFIX "%s", dir, rnd);

    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == ENOENT) {
        /* first object in this directory: make it, then try once more */
        if ((rc = mkdir_below(op, tmp, strlen(fs->root))) < 0)
            goto done;
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    }
    if (fd < 0) {
        rc = fs_fail(errno, 0, op, tmp, "create temp file");
        goto done;
    }
    tmp_exists = 1;
    if ((rc = fill(fd, op, tmp, arg)) < 0)
        goto done;
    if (fsync(fd) < 0) {
        rc = fs_fail(errno, 0, op, tmp, "fsync");
        goto done;
    }
    int cfd = fd;
    fd = -1;
    if (close(cfd) < 0) {
        rc = fs_fail(errno, 0, op, tmp, "close");
        goto done;
    }
    if (link(tmp, path) < 0) {
        if (errno == EEXIST)
            rc = err_set(CIRRUS_EEXISTS, "fs %s %s: object exists already (never overwritten)", op,
                         path);
        else
            rc = fs_fail(errno, 0, op, path, "link temp file to object name");
        goto done;
    }
    if (unlink(tmp) < 0) {
        rc = fs_fail(errno, 0, op, tmp, "unlink temp file");
        goto done;
    }
    tmp_exists = 0;
    rc = fsync_dir(op, dir);
done:
    if (fd >= 0)
        close(fd);
    if (tmp_exists)
        unlink(tmp);
    free(tmp);
    free(dir);
    return rc;
}

struct put_bytes {
    const void *data;
    size_t len; /* bytes */
};

static int fill_from_buffer(int fd, const char *op, const char *tmp, void *arg)
{
    const struct put_bytes *b = arg;
    if (write_all(fd, b->data, b->len) < 0)
        return fs_fail(errno, 0, op, tmp, "write");
    return 0;
}

static int fs_put(struct objstore *os, const char *name, const void *data, size_t len)
{
    struct fs_store *fs = (struct fs_store *)os;
    struct put_bytes b = {data, len};
    char *path = NULL;
    int rc;
    if ((rc = fs_check_name("put", name)) < 0)
        goto done;
    if (!(path = path_join(fs->root, name))) {
        rc = err_nomem();
        goto done;
    }
    rc = publish_new(fs, "put", path, fill_from_buffer, &b);
done:
    free(path);
    return rc;
}

/* Opens object `name` for reading. A directory or other non-file at that
 * path is no object, as it would not be on S3. */
static int open_object(struct fs_store *fs, const char *op, const char *name, int *fd_out,
                       struct stat *st, char **path_out)
{
    int rc = 0, fd = -1;
    char *path = NULL;
    if ((rc = fs_check_name(op, name)) < 0)
        goto done;
    if (!(path = path_join(fs->root, name))) {
        rc = err_nomem();
        goto done;
    }
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        rc = fs_fail(errno, 1, op, path, "open");
        goto done;
    }
    if (fstat(fd, st) < 0) {
        rc = fs_fail(errno, 0, op, path, "fstat");
        goto done;
    }
    if (!S_ISREG(st->st_mode)) {
        rc = err_set(CIRRUS_ENOTFOUND, "fs %s %s: not a regular file", op, path);
        goto done;
    }
    *fd_out = fd;
    fd = -1;
    *path_out = path;
    path = NULL;
done:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

/* Reads up to len bytes at off; *got_out < len only at end of file. */
static int read_at(int fd, const char *op, const char *path, uint64_t off, size_t len, uint8_t *dst,
                   size_t *got_out)
{
    int rc = 0;
    size_t got = 0;
    while (got < len) {
        ssize_t n = pread(fd, dst + got, len - got, (off_t)(off + got));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = fs_fail(errno, 0, op, path, "pread");
            goto done;
        }
        if (n == 0)
            break;
        got += (size_t)n;
    }
    *got_out = got;
done:
    return rc;
}

static int fs_get(struct objstore *os, const char *name, uint64_t off, size_t len, void *dst,
                  size_t *got_out)
{
    int rc = 0, fd = -1;
    char *path = NULL;
    struct stat st;
    if ((rc = open_object((struct fs_store *)os, "get", name, &fd, &st, &path)) < 0)
        goto done;
    if (off >= (uint64_t)st.st_size) {
        /* also keeps off + got inside off_t below */
        *got_out = 0;
        goto done;
    }
    rc = read_at(fd, "get", path, off, len, dst, got_out);
done:
    if (fd >= 0)
        close(fd);
    free(path);
    return rc;
}

static int fs_get_all(struct objstore *os, const char *name, uint8_t **data_out, size_t *len_out)
{
    int rc = 0, fd = -1;
    char *path = NULL;
    uint8_t *data = NULL;
    struct stat st;
    size_t got = 0;
    if ((rc = open_object((struct fs_store *)os, "get", name, &fd, &st, &path)) < 0)
        goto done;
    size_t size = (size_t)st.st_size;
    /* one spare byte: malloc(0) may return NULL, and callers expect a buffer */
    if (!(data = malloc(size + 1))) {
        rc = err_nomem();
        goto done;
    }
    if ((rc = read_at(fd, "get", path, 0, size, data, &got)) < 0)
        goto done;
    if (got != size) {
        rc = err_set(CIRRUS_EIO, "fs get %s: file shrank while read (%zu of %zu bytes)", path, got,
                     size);
        goto done;
    }
    *data_out = data;
    *len_out = size;
    data = NULL;
done:
    if (fd >= 0)
        close(fd);
    free(data);
    free(path);
    return rc;
}

static int fs_head(struct objstore *os, const char *name, uint64_t *size_out)
{
    struct fs_store *fs = (struct fs_store *)os;
    int rc = 0;
    char *path = NULL;
    struct stat st;
    if ((rc = fs_check_name("head", name)) < 0)
        goto done;
    if (!(path = path_join(fs->root, name))) {
        rc = err_nomem();
        goto done;
    }
    if (stat(path, &st) < 0) {
        rc = fs_fail(errno, 1, "head", path, "stat");
        goto done;
    }
    if (!S_ISREG(st.st_mode)) {
        rc = err_set(CIRRUS_ENOTFOUND, "fs head %s: not a regular file", path);
        goto done;
    }
    *size_out = (uint64_t)st.st_size;
done:
    free(path);
    return rc;
}

static int fs_del(struct objstore *os, const char *name)
{
    struct fs_store *fs = (struct fs_store *)os;
    int rc = 0;
    char *path = NULL;
    if ((rc = fs_check_name("delete", name)) < 0)
        goto done;
    if (!(path = path_join(fs->root, name))) {
        rc = err_nomem();
        goto done;
    }
    /* Missing (or a directory, which is no object either) is success. No
     * directory fsync: a delete lost in a crash leaves garbage that GC finds
     * again, never a wrong answer. */
    if (unlink(path) < 0 && errno != ENOENT && errno != ENOTDIR && errno != EISDIR)
        rc = fs_fail(errno, 0, "delete", path, "unlink");
done:
    free(path);
    return rc;
}

/* ---- copy --------------------------------------------------------------- */

#define COPY_CHUNK ((size_t)1 << 20)

/* The source file of a copy that cannot be a link. */
struct copy_source {
    int fd;
    const char *path; /* for messages */
    uint64_t size;    /* bytes, as fstat said */
};

static int fill_from_file(int fd, const char *op, const char *tmp, void *arg)
{
    const struct copy_source *src = arg;
    uint8_t *chunk = malloc(COPY_CHUNK);
    int rc = 0;
    uint64_t off = 0;
    size_t got = 0;
    if (!chunk)
        return err_nomem();
    while (off < src->size) {
        if ((rc = read_at(src->fd, op, src->path, off, COPY_CHUNK, chunk, &got)) < 0)
            goto done;
        if (got == 0) {
            rc = err_set(CIRRUS_EIO, "fs %s %s: file shrank while read (%llu of %llu bytes)", op,
                         src->path, (unsigned long long)off, (unsigned long long)src->size);
            goto done;
        }
        if (write_all(fd, chunk, got) < 0) {
            rc = fs_fail(errno, 0, op, tmp, "write");
            goto done;
        }
        off += got;
    }
done:
    free(chunk);
    return rc;
}

/*
 * fs to fs: objects are immutable, so a hard link is a complete copy that
 * costs no bytes, and link() refuses an existing name as put's link does.
 * A linked copy shares the source's inode, so it lists with the source's
 * mtime. Where no link can be made (another filesystem, or one without hard
 * links) the source file is copied through a temp file as put writes one.
 */
static int fs_copy_from(struct objstore *os, const char *name, struct objstore *src,
                        const char *src_name, uint64_t size)
{
    struct fs_store *fs = (struct fs_store *)os;
    int rc = 0, fd = -1;
    char *path = NULL, *src_path = NULL;
    struct stat st;
    if (src->ops != &fs_ops)
        return OBJSTORE_COPY_DECLINED;
    if ((rc = fs_check_name("copy", name)) < 0 ||
        (rc = open_object((struct fs_store *)src, "copy", src_name, &fd, &st, &src_path)) < 0)
        goto done;
    if (size != OBJSTORE_SIZE_UNKNOWN && (uint64_t)st.st_size != size) {
        rc = err_set(CIRRUS_ECORRUPT, "fs copy %s: %llu bytes, the caller said %llu", src_path,
                     (unsigned long long)st.st_size, (unsigned long long)size);
        goto done;
    }
    if (!(path = path_join(fs->root, name))) {
        rc = err_nomem();
        goto done;
    }
    int linked = link(src_path, path);
    if (linked < 0 && errno == ENOENT) {
        /* the first object in its directory: make that, then once more */
        if ((rc = mkdir_below("copy", path, strlen(fs->root))) < 0)
            goto done;
        linked = link(src_path, path);
    }
    if (linked == 0) {
        /* the data is durable since the source's put; the new entry is not */
        char *slash = strrchr(path, '/');
        *slash = '\0';
        rc = fsync_dir("copy", path);
        goto done;
    }
    if (errno == EEXIST) {
        rc = err_set(CIRRUS_EEXISTS, "fs copy %s to %s: object exists already (never overwritten)",
                     src_path, path);
    } else if (errno == ENOENT) {
        rc = fs_fail(errno, 1, "copy", src_path, "link (the source vanished)");
    } else if (errno == EXDEV || errno == EPERM || errno == EMLINK || errno == EOPNOTSUPP) {
        struct copy_source cs = {fd, src_path, (uint64_t)st.st_size};
        rc = publish_new(fs, "copy", path, fill_from_file, &cs);
    } else {
        rc = fs_fail(errno, 0, "copy", path, "link");
    }
done:
    if (fd >= 0)
        close(fd);
    free(path);
    free(src_path);
    return rc;
}

static int list_add(struct fs_list *l, const char *name, const struct stat *st)
{
    int rc = 0;
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 64;
        struct fs_entry *v = realloc(l->v, cap * sizeof(*v));
        if (!v) {
            rc = err_nomem();
            goto done;
        }
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n].name = strdup(name))) {
        rc = err_nomem();
        goto done;
    }
    l->v[l->n].size = (uint64_t)st->st_size;
    l->v[l->n].mtime_ms = (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
    l->n++;
done:
    return rc;
}

/* Could a name under directory rel (ends with '/', or is "") start with the
 * prefix? */
static int dir_may_match(const struct fs_list *l, const char *rel, size_t rel_len)
{
    size_t n = rel_len < l->prefix_len ? rel_len : l->prefix_len;
    return memcmp(rel, l->prefix, n) == 0;
}

/* Records a list failure naming ROOT/rel (rel_len bytes of it). */
static int list_fail(const struct fs_store *fs, int e, const char *rel, size_t rel_len,
                     const char *step)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%.*s", fs->root, (int)rel_len, rel);
    return fs_fail(e, 0, "list", path, step);
}

/*
 * Collects the objects below directory fd, whose names start with rel
 * (rel_len bytes, "" or ending in '/', room for LIST_NAME_MAX + 1 more
 * bytes). Takes fd. Entries that vanish while we walk are skipped: a
 * concurrent delete is allowed.
 */
static int list_dir(struct fs_store *fs, int fd, char *rel, size_t rel_len, struct fs_list *l)
{
    int rc = 0;
    DIR *d = fdopendir(fd);
    if (!d) {
        rc = list_fail(fs, errno, rel, rel_len, "fdopendir");
        close(fd);
        goto done;
    }
    for (;;) {
        errno = 0;
        struct dirent *ent = readdir(d);
        if (!ent) {
            if (errno)
                rc = list_fail(fs, errno, rel, rel_len, "readdir");
            break;
        }
        const char *base = ent->d_name;
        size_t blen = strlen(base);
        if (strcmp(base, ".") == 0 || strcmp(base, "..") == 0 ||
            strncmp(base, TMP_PREFIX, TMP_PREFIX_LEN) == 0 || rel_len + blen > LIST_NAME_MAX)
            continue;
        memcpy(rel + rel_len, base, blen + 1);
        struct stat st;
        if (fstatat(dirfd(d), base, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            if (errno == ENOENT)
                continue;
            rc = list_fail(fs, errno, rel, rel_len + blen, "stat");
            break;
        }
        if (S_ISREG(st.st_mode)) {
            if (strncmp(rel, l->prefix, l->prefix_len) == 0 && (rc = list_add(l, rel, &st)) < 0)
                break;
        } else if (S_ISDIR(st.st_mode)) {
            rel[rel_len + blen] = '/';
            rel[rel_len + blen + 1] = '\0';
            if (!dir_may_match(l, rel, rel_len + blen + 1))
                continue;
            int sub = openat(dirfd(d), base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                if (errno == ENOENT)
                    continue;
                rc = list_fail(fs, errno, rel, rel_len + blen, "open directory");
                break;
            }
            if ((rc = list_dir(fs, sub, rel, rel_len + blen + 1, l)) < 0)
                break;
        }
        /* symlinks, fifos and the like are never objects */
    }
    closedir(d);
done:
    return rc;
}

static int entry_cmp(const void *a, const void *b)
{
    /* strcmp compares as unsigned char: byte order, as the contract wants */
    return strcmp(((const struct fs_entry *)a)->name, ((const struct fs_entry *)b)->name);
}

/*
 * Walks the directory the prefix names (its part up to the last '/') and
 * everything below that can match, collects the matches, sorts them and only
 * then calls fn: directory order is arbitrary, and names in different
 * directories interleave ("a-b" < "a/b"). The whole listing is held in
 * memory, which is fine for the embedded store's sizes.
 */
static int fs_list(struct objstore *os, const char *prefix,
                   int (*fn)(const struct objstore_entry *e, void *arg), void *arg)
{
    struct fs_store *fs = (struct fs_store *)os;
    int rc = 0, fd = -1;
    char *start = NULL;
    char rel[LIST_NAME_MAX + 2];
    struct fs_list l = {.prefix = prefix ? prefix : "", .prefix_len = prefix ? strlen(prefix) : 0};
    if (l.prefix_len > LIST_NAME_MAX || l.prefix[0] == '/' || strstr(l.prefix, "..")) {
        rc = err_set(CIRRUS_EINVALID, "fs list %s: invalid prefix \"%.64s\"", fs->root, l.prefix);
        goto done;
    }
    const char *last_slash = strrchr(l.prefix, '/');
    size_t rel_len = last_slash ? (size_t)(last_slash - l.prefix) + 1 : 0;
    memcpy(rel, l.prefix, rel_len);
    rel[rel_len] = '\0';
    if (!(start = path_join(fs->root, rel))) {
        rc = err_nomem();
        goto done;
    }
    if ((fd = open(start, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        /* no directory for the prefix: no objects under it */
        if (errno != ENOENT && errno != ENOTDIR)
            rc = fs_fail(errno, 0, "list", start, "open directory");
        goto done;
    }
    rc = list_dir(fs, fd, rel, rel_len, &l);
    fd = -1;
    if (rc < 0)
        goto done;
    if (l.n > 1)
        qsort(l.v, l.n, sizeof(*l.v), entry_cmp);
    for (size_t i = 0; i < l.n && rc == 0; i++) {
        struct objstore_entry e = {l.v[i].name, l.v[i].size, l.v[i].mtime_ms};
        rc = fn(&e, arg);
    }
done:
    if (fd >= 0)
        close(fd);
    for (size_t i = 0; i < l.n; i++)
        free(l.v[i].name);
    free(l.v);
    free(start);
    return rc;
}

static void fs_close(struct objstore *os)
{
    struct fs_store *fs = (struct fs_store *)os;
    if (!fs)
        return;
    free(fs->root);
    free(fs->base.url);
    free(fs);
}

static const struct objstore_ops fs_ops = {
    .kind = "fs",
    .put = fs_put,
    .get = fs_get,
    .get_all = fs_get_all,
    .head = fs_head,
    .del = fs_del,
    .list = fs_list,
    .copy_from = fs_copy_from,
    .close = fs_close,
};

/* mkdir -p, for the root only (objects' directories use mkdir_below). */
static int mkdir_all(char *path)
{
    int rc = 0;
    for (char *p = path + 1;; p++) {
        if (*p != '/' && *p != '\0')
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            rc = fs_fail(errno, 0, "open", path, "mkdir");
        *p = c;
        if (rc < 0 || c == '\0')
            break;
    }
    return rc;
}

/*
 * Opens the fs store rooted at directory root (created, with its parents,
 * if create). The root is resolved to an absolute path, so a later chdir()
 * of the process does not move the store. url is copied for messages.
 */
int fs_objstore_open(struct objstore **out, const char *root, const char *url, int create)
{
    int rc = 0;
    struct fs_store *fs = NULL;
    char *copy = NULL;
    struct stat st;
    if (!root[0]) {
        rc = err_set(CIRRUS_EINVALID, "objstore %s: empty directory name", url);
        goto done;
    }
    if (!(copy = strdup(root))) {
        rc = err_nomem();
        goto done;
    }
    if (stat(copy, &st) < 0) {
        if (errno != ENOENT || !create) {
            rc = fs_fail(errno, 1, "open", copy, "stat");
            goto done;
        }
        if ((rc = mkdir_all(copy)) < 0)
            goto done;
    } else if (!S_ISDIR(st.st_mode)) {
        rc = err_set(CIRRUS_EINVALID, "fs open %s: not a directory", copy);
        goto done;
    }
    if (!(fs = calloc(1, sizeof(*fs)))) {
        rc = err_nomem();
        goto done;
    }
    fs->base.ops = &fs_ops;
    if (!(fs->root = realpath(copy, NULL))) {
        rc = fs_fail(errno, 1, "open", copy, "realpath");
        goto done;
    }
    if (!(fs->base.url = strdup(url))) {
        rc = err_nomem();
        goto done;
    }
    *out = &fs->base;
    fs = NULL;
done:
    fs_close(fs ? &fs->base : NULL);
    free(copy);
    return rc;
}
