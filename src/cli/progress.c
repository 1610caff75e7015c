/*
 * progress.c - the progress line of long CLI commands (see progress.h).
 */
#include "cli/progress.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

#define DRAW_EVERY_NS 250000000ull /* four lines a second at most */
#define NS_PER_S 1000000000ull

static uint64_t clock_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

void progress_fmt_count(char *out, size_t cap, uint64_t n)
{
    char digits[32], grouped[48];
    int len = snprintf(digits, sizeof(digits), "%llu", (unsigned long long)n);
    size_t j = 0;
    for (int i = 0; i < len; i++) {
        if (i > 0 && (len - i) % 3 == 0)
            grouped[j++] = ',';
        grouped[j++] = digits[i];
    }
    grouped[j] = '\0';
    snprintf(out, cap, "%s", grouped);
}

static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};

/* The unit n is best shown in: the largest whose value is at least 1. */
static int unit_of(uint64_t n)
{
    int u = 0;
    while (u < 6 && n >= ((uint64_t)1024 << (10 * u)))
        u++;
    return u;
}

/* n in unit u: whole bytes, else one decimal. */
static int fmt_in_unit(char *out, size_t cap, uint64_t n, int u)
{
    if (u == 0)
        return snprintf(out, cap, "%llu", (unsigned long long)n);
    return snprintf(out, cap, "%.1f", (double)n / (double)((uint64_t)1 << (10 * u)));
}

void progress_fmt_bytes(char *out, size_t cap, uint64_t done, uint64_t total)
{
    char a[32], b[32];
    int u = unit_of(total ? total : done);
    fmt_in_unit(a, sizeof(a), done, u);
    if (total) {
        fmt_in_unit(b, sizeof(b), total, u);
        snprintf(out, cap, "%s/%s %s", a, b, units[u]);
    } else {
        snprintf(out, cap, "%s %s", a, units[u]);
    }
}

void progress_fmt_rate(char *out, size_t cap, uint64_t bytes, uint64_t elapsed_ns)
{
    char a[32];
    uint64_t per_s = 0;
    if (elapsed_ns > 0)
        per_s = (uint64_t)((double)bytes * (double)NS_PER_S / (double)elapsed_ns);
    int u = unit_of(per_s);
    fmt_in_unit(a, sizeof(a), per_s, u);
    snprintf(out, cap, "%s %s/s", a, units[u]);
}

void progress_fmt_duration(char *out, size_t cap, uint64_t seconds)
{
    unsigned long long h = seconds / 3600, m = seconds / 60 % 60, s = seconds % 60;
    if (h)
        snprintf(out, cap, "%llu:%02llu:%02llu", h, m, s);
    else
        snprintf(out, cap, "%llu:%02llu", m, s);
}

uint64_t progress_seconds_left(uint64_t done, uint64_t total, uint64_t elapsed_ns)
{
    if (total == 0 || done == 0 || done > total || elapsed_ns == 0)
        return UINT64_MAX;
    double per_unit_s = (double)elapsed_ns / (double)NS_PER_S / (double)done;
    return (uint64_t)((double)(total - done) * per_unit_s + 0.5);
}

void progress_fmt_line(char *out, size_t cap, const struct progress *p, uint64_t elapsed_ns,
                       int final)
{
    char done[32], total[32], bytes[48], rate[32], when[48] = "";
    progress_fmt_count(done, sizeof(done), p->objects);
    progress_fmt_count(total, sizeof(total), p->n_objects);
    progress_fmt_bytes(bytes, sizeof(bytes), p->bytes, p->n_bytes);
    progress_fmt_rate(rate, sizeof(rate), p->bytes, elapsed_ns);
    uint64_t left = p->n_bytes ? progress_seconds_left(p->bytes, p->n_bytes, elapsed_ns)
                               : progress_seconds_left(p->objects, p->n_objects, elapsed_ns);
    char t[24];
    if (final) {
        progress_fmt_duration(t, sizeof(t), elapsed_ns / NS_PER_S);
        snprintf(when, sizeof(when), ", done in %s", t);
    } else if (left != UINT64_MAX) {
        progress_fmt_duration(t, sizeof(t), left);
        snprintf(when, sizeof(when), ", %s left", t);
    }
    snprintf(out, cap, "%s: %s%s%s %s, %s, %s%s", p->verb, done, p->n_objects ? "/" : "",
             p->n_objects ? total : "", p->noun ? p->noun : "objects", bytes, rate, when);
}

/* Redraws the line in place (p->mu held): carriage return, the line, and
 * "erase to the end of the line" for what a longer line left. */
static void draw(struct progress *p, uint64_t now, int final)
{
    char line[256];
    progress_fmt_line(line, sizeof(line), p, now - p->start_ns, final);
    fprintf(p->out, "\r%s\033[K%s", line, final ? "\n" : "");
    fflush(p->out);
    p->drawn_ns = now;
}

void progress_start_on(struct progress *p, FILE *out, const char *verb, uint64_t total_objects,
                       uint64_t total_bytes)
{
    memset(p, 0, sizeof(*p));
    p->verb = verb;
    p->out = out;
    p->enabled = isatty(fileno(out));
    p->start_ns = clock_ns();
    p->n_objects = total_objects;
    p->n_bytes = total_bytes;
    pthread_mutex_init(&p->mu, NULL);
}

void progress_start(struct progress *p, const char *verb, uint64_t total_objects,
                    uint64_t total_bytes)
{
    progress_start_on(p, stderr, verb, total_objects, total_bytes);
}

void progress_grow(struct progress *p, uint64_t objects, uint64_t bytes)
{
    pthread_mutex_lock(&p->mu);
    p->n_objects += objects;
    p->n_bytes += bytes;
    pthread_mutex_unlock(&p->mu);
}

void progress_add(struct progress *p, uint64_t objects, uint64_t bytes)
{
    pthread_mutex_lock(&p->mu);
    p->objects += objects;
    p->bytes += bytes;
    if (p->enabled) {
        uint64_t now = clock_ns();
        if (p->drawn_ns == 0 || now - p->drawn_ns >= DRAW_EVERY_NS)
            draw(p, now, 0);
    }
    pthread_mutex_unlock(&p->mu);
}

void progress_finish(struct progress *p)
{
    pthread_mutex_lock(&p->mu);
    if (p->enabled)
        draw(p, clock_ns(), 1);
    pthread_mutex_unlock(&p->mu);
    pthread_mutex_destroy(&p->mu);
}
