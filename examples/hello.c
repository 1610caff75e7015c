/*
 * hello.c - cirrus from outside its tree: open a database, commit a batch,
 * read as of an older commit, and follow the changefeed. Built against an
 * installed cirrus, with pkg-config (Makefile) or CMake (CMakeLists.txt).
 *
 *   hello DIR    (a directory; s3://BUCKET/PREFIX with CIRRUS_META works too)
 *
 * Exits 0 when everything read back is what was written.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cirrus.h>

static int check(int rc, const char *what)
{
    if (rc < 0)
        fprintf(stderr, "hello: %s: %s (%s)\n", what, cirrus_strerror(rc), cirrus_errmsg());
    return rc;
}

/* The value of key as of seq (CIRRUS_SEQ_LATEST: latest) must be want. */
static int expect(cirrus_db *db, uint64_t seq, const char *key, const char *want)
{
    cirrus_read_options ro = CIRRUS_READ_OPTIONS_INIT;
    cirrus_snapshot *snap = NULL;
    void *val = NULL;
    size_t len = 0;
    int rc = check(cirrus_snapshot_new(db, seq, &snap), "snapshot");
    ro.snapshot = snap;
    if (rc == 0)
        rc = check(cirrus_get(db, &ro, key, strlen(key), &val, &len), key);
    if (rc == 0 && (len != strlen(want) || memcmp(val, want, len) != 0)) {
        fprintf(stderr, "hello: %s at seq %llu: got %.*s, want %s\n", key, (unsigned long long)seq,
                (int)len, (const char *)val, want);
        rc = -1;
    }
    cirrus_free(val);
    cirrus_snapshot_free(snap);
    return rc;
}

int main(int argc, char **argv)
{
    cirrus_options o = CIRRUS_OPTIONS_INIT;
    cirrus_db *db = NULL;
    cirrus_batch *b = NULL;
    cirrus_changes *feed = NULL;
    cirrus_change ch;
    uint64_t first = 0, second = 0;
    int rc, n = 0;
    if (argc != 2) {
        fprintf(stderr, "usage: hello DIR\n");
        return 2;
    }
    printf("cirrus %s (header %d.%d.%d)\n", cirrus_version(), CIRRUS_VERSION_MAJOR,
           CIRRUS_VERSION_MINOR, CIRRUS_VERSION_PATCH);
    o.meta_url = getenv("CIRRUS_META");
    if ((rc = check(cirrus_open(&db, argv[1], &o), "open")) < 0)
        return 1;
    /* one atomic commit of two puts, then an overwrite */
    if ((rc = check(cirrus_batch_new(&b), "batch")) < 0 ||
        (rc = check(cirrus_batch_put(b, "colour", 6, "red", 3), "put")) < 0 ||
        (rc = check(cirrus_batch_put(b, "shape", 5, "round", 5), "put")) < 0 ||
        (rc = check(cirrus_write(db, b, CIRRUS_WRITE_WAIT, &first), "write")) < 0 ||
        (rc = check(cirrus_put(db, "colour", 6, "blue", 4), "put")) < 0 ||
        (rc = check(cirrus_flush(db, &second), "flush")) < 0)
        goto done;
    printf("committed seq %llu and %llu\n", (unsigned long long)first, (unsigned long long)second);
    if ((rc = expect(db, CIRRUS_SEQ_LATEST, "colour", "blue")) < 0 ||
        (rc = expect(db, first, "colour", "red")) < 0 ||
        (rc = expect(db, second, "shape", "round")) < 0)
        goto done;
    /* the changefeed from the first commit: three changes, in order */
    if ((rc = check(cirrus_changes_open(&feed, db, first), "changes")) < 0)
        goto done;
    while ((rc = cirrus_changes_next(feed, &ch, 0)) == 0) {
        printf("change %llu %s %.*s=%.*s\n", (unsigned long long)ch.seq,
               ch.op == CIRRUS_CHANGE_PUT ? "put" : "other", (int)ch.key_len, (const char *)ch.key,
               (int)ch.val_len, (const char *)ch.val);
        n++;
    }
    if (rc != CIRRUS_ENOTFOUND) { /* ENOTFOUND: caught up */
        check(rc, "changes next");
        goto done;
    }
    rc = 0;
    if (n != 3) {
        fprintf(stderr, "hello: %d changes, want 3\n", n);
        rc = -1;
    }
done:
    cirrus_changes_close(feed);
    cirrus_batch_free(b);
    if (check(cirrus_close(db), "close") < 0)
        rc = -1;
    if (rc == 0)
        printf("ok\n");
    return rc == 0 ? 0 : 1;
}
