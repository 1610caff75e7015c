/*
 * driver.c - a stand-in for libFuzzer under ctest: a main() for any fuzz
 * target that defines LLVMFuzzerTestOneInput().
 *
 *   fuzz_x [CORPUS_DIR]
 *
 * Runs every file of CORPUS_DIR (if it exists), then a fixed number of
 * pseudo-random mutations of them (of random buffers if the corpus is
 * empty): bit flips, byte overwrites, truncations, insertions, deletions and
 * splices of two inputs. The mutation sequence is deterministic, so a
 * failure reproduces; CIRRUS_FUZZ_ITERS and CIRRUS_FUZZ_SEED change the run.
 * A wall-clock budget stops it early on slow (sanitized) machines.
 *
 * Each input is handed over in a buffer of exactly its size, so that the
 * sanitizers see any read past it.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DEFAULT_ITERS 20000
#define BUDGET_SECONDS 20.0
#define FUZZ_MAX_INPUT (1u << 20)
#define MAX_CORPUS 1024

struct input {
    uint8_t *data;
    size_t len;
};

static uint64_t rng;

static uint64_t rnd(void)
{
    /* xorshift64*: small, good enough, same everywhere */
    rng ^= rng >> 12;
    rng ^= rng << 25;
    rng ^= rng >> 27;
    return rng * 0x2545f4914f6cdd1dull;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run(const uint8_t *data, size_t len)
{
    /* exactly len bytes (1 for an empty input, which is then not read) */
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy) {
        fprintf(stderr, "fuzz driver: out of memory\n");
        exit(2);
    }
    if (len)
        memcpy(copy, data, len);
    LLVMFuzzerTestOneInput(copy, len);
    free(copy);
}

static int read_file(const char *path, struct input *in)
{
    int rc = -1;
    FILE *f = fopen(path, "rb");
    struct stat st;
    if (!f)
        goto done;
    if (fstat(fileno(f), &st) < 0 || !S_ISREG(st.st_mode) || (size_t)st.st_size > FUZZ_MAX_INPUT)
        goto done;
    in->len = (size_t)st.st_size;
    if (!(in->data = malloc(in->len ? in->len : 1)))
        goto done;
    if (fread(in->data, 1, in->len, f) != in->len) {
        free(in->data);
        goto done;
    }
    rc = 0;
done:
    if (f)
        fclose(f);
    return rc;
}

static int name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Loads the corpus in name order (readdir order differs between machines). */
static size_t load_corpus(const char *dir, struct input *corpus)
{
    size_t n = 0, n_names = 0;
    char *names[MAX_CORPUS];
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *e;
    while (d && (e = readdir(d)) && n_names < MAX_CORPUS) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        if ((names[n_names] = malloc(len)))
            snprintf(names[n_names++], len, "%s/%s", dir, e->d_name);
    }
    if (d)
        closedir(d);
    qsort(names, n_names, sizeof(names[0]), name_cmp);
    for (size_t i = 0; i < n_names; i++) {
        if (read_file(names[i], &corpus[n]) == 0)
            n++;
        free(names[i]);
    }
    return n;
}

static const uint8_t interesting[] = {0x00, 0x01, 0x7f, 0x80, 0xff, 0xfe, 0x40, 0x10};

/* One mutation of buf (len bytes, room for FUZZ_MAX_INPUT) in place. */
static size_t mutate_once(uint8_t *buf, size_t len, const struct input *corpus, size_t n)
{
    size_t pos = len ? (size_t)(rnd() % len) : 0;
    switch (rnd() % 8) {
    case 0: /* flip a bit */
        if (len)
            buf[pos] ^= (uint8_t)(1u << (rnd() % 8));
        break;
    case 1: /* an interesting byte */
        if (len)
            buf[pos] = interesting[rnd() % sizeof(interesting)];
        break;
    case 2: /* a random byte */
        if (len)
            buf[pos] = (uint8_t)rnd();
        break;
    case 3: /* truncate */
        len = len ? (size_t)(rnd() % len) : 0;
        break;
    case 4: { /* insert random bytes */
        size_t k = 1 + (size_t)(rnd() % 16);
        if (len + k > FUZZ_MAX_INPUT)
            break;
        memmove(buf + pos + k, buf + pos, len - pos);
        for (size_t i = 0; i < k; i++)
            buf[pos + i] = (uint8_t)rnd();
        len += k;
        break;
    }
    case 5: { /* delete a range */
        size_t k = len - pos ? 1 + (size_t)(rnd() % (len - pos)) : 0;
        if (k > 32)
            k = 1 + k % 32;
        memmove(buf + pos, buf + pos + k, len - pos - k);
        len -= k;
        break;
    }
    case 6: { /* splice: our prefix, another input's suffix */
        const struct input *o = n ? &corpus[rnd() % n] : NULL;
        if (!o || !o->len)
            break;
        size_t from = (size_t)(rnd() % o->len), k = o->len - from;
        if (pos + k > FUZZ_MAX_INPUT)
            break;
        memcpy(buf + pos, o->data + from, k);
        len = pos + k;
        break;
    }
    default: /* a little-endian 32-bit value at a random place */
        if (len >= 4) {
            uint32_t v = rnd() % 2 ? (uint32_t)rnd() : (uint32_t)(rnd() % 64);
            pos = (size_t)(rnd() % (len - 3));
            for (int i = 0; i < 4; i++)
                buf[pos + i] = (uint8_t)(v >> (8 * i));
        }
    }
    return len;
}

int main(int argc, char **argv)
{
    static struct input corpus[MAX_CORPUS];
    const char *iters_env = getenv("CIRRUS_FUZZ_ITERS"), *seed_env = getenv("CIRRUS_FUZZ_SEED");
    long iters = iters_env ? atol(iters_env) : DEFAULT_ITERS;
    rng = seed_env ? strtoull(seed_env, NULL, 0) : 0x5eed5eed5eedull;
    if (!rng)
        rng = 1;
    size_t n = load_corpus(argc > 1 ? argv[1] : NULL, corpus);
    for (size_t i = 0; i < n; i++)
        run(corpus[i].data, corpus[i].len);
    uint8_t *buf = malloc(FUZZ_MAX_INPUT);
    if (!buf)
        return 2;
    double start = now_s();
    long done = 0;
    for (; done < iters; done++) {
        size_t len;
        if (n) {
            const struct input *base = &corpus[rnd() % n];
            memcpy(buf, base->data, base->len);
            len = base->len;
        } else {
            len = (size_t)(rnd() % 4096);
            for (size_t i = 0; i < len; i++)
                buf[i] = (uint8_t)rnd();
        }
        for (int m = 1 + (int)(rnd() % 4); m > 0; m--)
            len = mutate_once(buf, len, corpus, n);
        run(buf, len);
        if (done % 256 == 0 && now_s() - start > BUDGET_SECONDS)
            break;
    }
    printf("fuzz driver: %zu corpus inputs, %ld mutations in %.1fs\n", n, done, now_s() - start);
    for (size_t i = 0; i < n; i++)
        free(corpus[i].data);
    free(buf);
    return 0;
}
