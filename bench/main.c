/*
 * main.c - cirrus-bench: options, the run loop, the printed table and the
 * --json output. See bench/README.md for what the figures mean.
 *
 * Usage: cirrus-bench [options]
 *   --engines LIST       rocksdb,leveldb,lmdb,cirrus (default: all, in this
 *                        order; every row shows its ratio to rocksdb)
 *   --workloads LIST     fillseq,fillrandom,overwrite,readrandom,readmissing,
 *                        seekrandom,readwhilewriting,scanall (default: all)
 *   --num N              keys loaded (default 1000000)
 *   --reads N            operations per read workload (default: --num)
 *   --key-size B         (default 16)      --value-size B   (default 100)
 *   --compression R      compressed/raw size of values, 0..1 (default 0.5)
 *   --threads N          threads per workload (default 1)
 *   --seed N             (default 301)
 *   --duration S         cap on each read workload's run, seconds (0: none)
 *   --cache-mb N         block cache of cirrus, rocksdb and leveldb (default 256)
 *   --write-buffer-mb N  memtable of the LSM engines (default 64)
 *   --dir PATH           scratch directory (default ./cirrus-bench-data)
 *   --cloud LIST         simulated cloud profiles: s3-standard,s3-express
 *                        (real-local: real servers, see README)
 *   --cloud-seconds S    length of each cloud phase (default 10)
 *   --cloud-writers N    CIRRUS_WRITE_WAIT writer threads (default 16)
 *   --cloud-readers N    cache-miss reader threads (default 8)
 *   --no-local           only the cloud profiles
 *   --json FILE          every row, machine-readable
 * Exit status: 0, or 1 if any workload failed or failed to verify.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench.h"

struct results {
    struct bench_row *rows;
    size_t n, cap;
    const struct bench_config *cfg;
};

static const struct bench_engine *const all_engines[] = {
    &bench_engine_rocksdb, &bench_engine_leveldb, &bench_engine_lmdb, &bench_engine_cirrus};
#define N_ENGINES (sizeof(all_engines) / sizeof(all_engines[0]))

static double ops_per_sec(const struct bench_row *r)
{
    return r->seconds > 0 ? (double)r->ops / r->seconds : 0;
}

static double mib_per_sec(const struct bench_row *r)
{
    return r->seconds > 0 ? (double)r->bytes / r->seconds / 1048576.0 : 0;
}

/* The ratio of row's ops/s to rocksdb's on the same workload; 0 if none. */
static double vs_rocksdb(const struct results *res, const struct bench_row *row)
{
    double v = 0;
    for (size_t i = 0; i < res->n; i++) {
        const struct bench_row *r = &res->rows[i];
        if (strcmp(r->engine, "rocksdb") == 0 && strcmp(r->mode, "local") == 0 &&
            strcmp(row->mode, "local") == 0 && strcmp(r->workload, row->workload) == 0 &&
            ops_per_sec(r) > 0)
            v = ops_per_sec(row) / ops_per_sec(r);
    }
    return v;
}

static void print_row(const struct results *res, const struct bench_row *r)
{
    double ratio = vs_rocksdb(res, r);
    char rs[32] = "";
    if (ratio > 0)
        snprintf(rs, sizeof(rs), "%6.2fx", ratio);
    printf("%-8s %-12s %-17s %12.0f ops/s %8.2f MiB/s  p50 %9.2f  p99 %9.2f  p99.9 %9.2f us  "
           "%s%s\n",
           r->engine, r->profile[0] ? r->profile : r->mode, r->workload, ops_per_sec(r),
           mib_per_sec(r), (double)hist_quantile(&r->lat, 0.5) / 1e3,
           (double)hist_quantile(&r->lat, 0.99) / 1e3, (double)hist_quantile(&r->lat, 0.999) / 1e3,
           rs, r->verified ? "" : "  VERIFY FAILED");
    if (r->extra[0] && res->cfg->verbose) {
        const char *cdf = strstr(r->extra, "\"latency_cdf_ms\"");
        printf("         %.*s\n", (int)(cdf ? (size_t)(cdf - r->extra) : strlen(r->extra)),
               r->extra);
    }
    fflush(stdout);
}

static void emit(const struct bench_row *row, void *arg)
{
    struct results *res = arg;
    if (res->n == res->cap) {
        size_t cap = res->cap ? res->cap * 2 : 32;
        struct bench_row *rows = realloc(res->rows, cap * sizeof(*rows));
        if (!rows) {
            fprintf(stderr, "cirrus-bench: out of memory\n");
            return;
        }
        res->rows = rows;
        res->cap = cap;
    }
    res->rows[res->n] = *row;
    print_row(res, &res->rows[res->n]);
    res->n++;
}

static const char *settings_of(const char *engine)
{
    const char *s = "";
    for (size_t i = 0; i < N_ENGINES; i++)
        if (strcmp(all_engines[i]->name, engine) == 0)
            s = all_engines[i]->settings;
    return s;
}

static int write_json(const struct results *res, const char *path)
{
    const struct bench_config *c = res->cfg;
    FILE *f = fopen(path, "w");
    int rc = -1;
    if (!f) {
        perror(path);
        return -1;
    }
    fprintf(f, "[\n");
    for (size_t i = 0; i < res->n; i++) {
        const struct bench_row *r = &res->rows[i];
        double ratio = vs_rocksdb(res, r);
        fprintf(f,
                "  {\"engine\": \"%s\", \"workload\": \"%s\", \"mode\": \"%s\", \"profile\": "
                "\"%s\", \"ops\": %llu, \"seconds\": %.4f, \"ops_per_sec\": %.2f, "
                "\"mib_per_sec\": %.3f, \"p50_us\": %.3f, \"p99_us\": %.3f, \"p999_us\": %.3f, "
                "\"max_us\": %.3f, \"verified\": %s, \"load1\": %.2f",
                r->engine, r->workload, r->mode, r->profile, (unsigned long long)r->ops, r->seconds,
                ops_per_sec(r), mib_per_sec(r), (double)hist_quantile(&r->lat, 0.5) / 1e3,
                (double)hist_quantile(&r->lat, 0.99) / 1e3,
                (double)hist_quantile(&r->lat, 0.999) / 1e3, (double)r->lat.max_ns / 1e3,
                r->verified ? "true" : "false", r->load1);
        if (ratio > 0)
            fprintf(f, ", \"vs_rocksdb\": %.4f", ratio);
        fprintf(f,
                ", \"config\": {\"num\": %llu, \"reads\": %llu, \"key_size\": %u, "
                "\"value_size\": %u, \"compression\": %.2f, \"threads\": %u, \"seed\": %llu, "
                "\"cache_mb\": %llu, \"write_buffer_mb\": %llu, \"duration_s\": %.1f}",
                (unsigned long long)c->num, (unsigned long long)c->reads, c->key_size,
                c->value_size, c->compression, c->threads, (unsigned long long)c->seed,
                (unsigned long long)(c->cache_bytes >> 20),
                (unsigned long long)(c->write_buffer >> 20), c->duration_s);
        fprintf(f, ", \"settings\": \"%s\"", settings_of(r->engine));
        if (r->extra[0])
            fprintf(f, ", %s", r->extra);
        fprintf(f, "}%s\n", i + 1 < res->n ? "," : "");
    }
    fprintf(f, "]\n");
    if (fclose(f) == 0)
        rc = 0;
    else
        perror(path);
    return rc;
}

/* Marks the names of a comma list in `names` (n of them) in want[];
 * -1 on an unknown name. */
static int parse_list(const char *list, const char *const *names, size_t n, int *want)
{
    char *copy = strdup(list), *save = NULL;
    int rc = copy ? 0 : -1;
    for (size_t i = 0; i < n; i++)
        want[i] = 0;
    for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t && rc == 0;
         t = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (i < n && strcmp(names[i], t) != 0)
            i++;
        if (i == n) {
            fprintf(stderr, "cirrus-bench: unknown name %s\n", t);
            rc = -1;
        } else {
            want[i] = 1;
        }
    }
    free(copy);
    return rc;
}

static void usage(void)
{
    fprintf(stderr,
            "usage: cirrus-bench [--engines LIST] [--workloads LIST] [--num N] [--reads N]\n"
            "  [--key-size B] [--value-size B] [--compression R] [--threads N] [--seed N]\n"
            "  [--duration S] [--cache-mb N] [--write-buffer-mb N] [--dir PATH]\n"
            "  [--cloud LIST] [--cloud-seconds S] [--cloud-writers N] [--cloud-readers N]\n"
            "  [--no-local] [--json FILE] [--verbose]\n");
}

int main(int argc, char **argv)
{
    static const struct option longopts[] = {
        {"engines", 1, 0, 'e'},       {"workloads", 1, 0, 'w'},
        {"num", 1, 0, 'n'},           {"reads", 1, 0, 'r'},
        {"key-size", 1, 0, 'k'},      {"value-size", 1, 0, 'v'},
        {"compression", 1, 0, 'c'},   {"threads", 1, 0, 't'},
        {"seed", 1, 0, 's'},          {"duration", 1, 0, 'D'},
        {"cache-mb", 1, 0, 'C'},      {"write-buffer-mb", 1, 0, 'B'},
        {"dir", 1, 0, 'd'},           {"cloud", 1, 0, 'L'},
        {"cloud-seconds", 1, 0, 'S'}, {"cloud-writers", 1, 0, 'W'},
        {"cloud-readers", 1, 0, 'R'}, {"no-local", 0, 0, 'N'},
        {"json", 1, 0, 'j'},          {"verbose", 0, 0, 'V'},
        {"help", 0, 0, 'h'},          {0, 0, 0, 0}};
    struct bench_config cfg = {.num = 1000000,
                               .key_size = 16,
                               .value_size = 100,
                               .compression = 0.5,
                               .threads = 1,
                               .seed = 301,
                               .cache_bytes = (uint64_t)256 << 20,
                               .write_buffer = (uint64_t)64 << 20,
                               .dir = "cirrus-bench-data",
                               .cloud_seconds = 10,
                               .cloud_writers = 16,
                               .cloud_readers = 8};
    const char *engine_names[N_ENGINES];
    int want_engine[N_ENGINES], want_wl[16];
    const char *json = NULL, *cloud = NULL;
    int local = 1, rc = 0, opt;
    struct results res = {.cfg = &cfg};
    for (size_t i = 0; i < N_ENGINES; i++) {
        engine_names[i] = all_engines[i]->name;
        want_engine[i] = 1;
    }
    for (size_t i = 0; i < bench_n_workloads; i++)
        want_wl[i] = 1;
    while (rc == 0 && (opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (opt) {
        case 'e':
            rc = parse_list(optarg, engine_names, N_ENGINES, want_engine);
            break;
        case 'w':
            rc = parse_list(optarg, bench_workloads, bench_n_workloads, want_wl);
            break;
        case 'n':
            cfg.num = strtoull(optarg, NULL, 10);
            break;
        case 'r':
            cfg.reads = strtoull(optarg, NULL, 10);
            break;
        case 'k':
            cfg.key_size = (uint32_t)atoi(optarg);
            break;
        case 'v':
            cfg.value_size = (uint32_t)atoi(optarg);
            break;
        case 'c':
            cfg.compression = atof(optarg);
            break;
        case 't':
            cfg.threads = (uint32_t)atoi(optarg);
            break;
        case 's':
            cfg.seed = strtoull(optarg, NULL, 10);
            break;
        case 'D':
            cfg.duration_s = atof(optarg);
            break;
        case 'C':
            cfg.cache_bytes = strtoull(optarg, NULL, 10) << 20;
            break;
        case 'B':
            cfg.write_buffer = strtoull(optarg, NULL, 10) << 20;
            break;
        case 'd':
            cfg.dir = optarg;
            break;
        case 'L':
            cloud = optarg;
            break;
        case 'S':
            cfg.cloud_seconds = atof(optarg);
            break;
        case 'W':
            cfg.cloud_writers = (uint32_t)atoi(optarg);
            break;
        case 'R':
            cfg.cloud_readers = (uint32_t)atoi(optarg);
            break;
        case 'N':
            local = 0;
            break;
        case 'j':
            json = optarg;
            break;
        case 'V':
            cfg.verbose = 1;
            break;
        default:
            rc = -1;
            break;
        }
    }
    if (cfg.reads == 0)
        cfg.reads = cfg.num;
    if (rc == 0 && (optind < argc || cfg.num < 1 || cfg.num > UINT32_MAX || cfg.key_size < 10 ||
                    cfg.key_size > 64 || cfg.value_size < 1 || cfg.value_size > 65536 ||
                    cfg.threads < 1 || cfg.threads > 64 || cfg.compression <= 0 ||
                    cfg.compression > 1 || cfg.cloud_writers < 1 || cfg.cloud_readers < 1)) {
        fprintf(stderr, "cirrus-bench: an option is out of range\n");
        rc = -1;
    }
    if (rc < 0) {
        usage();
        return 2;
    }
    if (mkdir_p(cfg.dir) < 0)
        return 1;
    printf("cirrus-bench: %llu keys of %u bytes, values of %u bytes (compressible to %.0f%%), "
           "%llu reads, %u thread(s), seed %llu, load %.2f\n",
           (unsigned long long)cfg.num, cfg.key_size, cfg.value_size, cfg.compression * 100,
           (unsigned long long)cfg.reads, cfg.threads, (unsigned long long)cfg.seed, load_avg1());
    for (size_t i = 0; i < N_ENGINES && local; i++)
        if (want_engine[i] && bench_run_engine(all_engines[i], &cfg, want_wl, emit, &res) < 0) {
            fprintf(stderr, "cirrus-bench: %s: FAILED\n", all_engines[i]->name);
            rc = -1;
        }
    if (cloud && strcmp(cloud, "none") != 0) {
        char *copy = strdup(cloud), *save = NULL;
        for (char *t = copy ? strtok_r(copy, ",", &save) : NULL; t; t = strtok_r(NULL, ",", &save))
            if (cloud_run(t, &cfg, emit, &res) < 0) {
                fprintf(stderr, "cirrus-bench: cloud %s: FAILED\n", t);
                rc = -1;
            }
        free(copy);
    }
    for (size_t i = 0; i < res.n; i++)
        if (!res.rows[i].verified)
            rc = -1;
    if (json && write_json(&res, json) < 0)
        rc = -1;
    free(res.rows);
    return rc < 0 ? 1 : 0;
}
