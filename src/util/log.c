/*
 * log.c - formatting and delivering messages; see log.h.
 */
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "util/log.h"

static const char *const level_names[] = {"error", "warn", "info", "debug"};
#define N_LEVELS ((int)(sizeof(level_names) / sizeof(level_names[0])))

static _Atomic uint64_t delivered[N_LEVELS];

const char *cirrus_log_level_name(int level)
{
    return level >= 0 && level < N_LEVELS ? level_names[level] : NULL;
}

int cirrus_log_level_parse(const char *name)
{
    for (int i = 0; name && i < N_LEVELS; i++)
        if (strcasecmp(name, level_names[i]) == 0)
            return i;
    return -1;
}

struct logger logger_default(void)
{
    struct logger lg = {NULL, NULL, CIRRUS_LOG_WARN, NULL};
    return lg;
}

struct logger logger_from_options(const cirrus_options *o)
{
    struct logger lg = logger_default();
    if (o && o->version >= 2) {
        lg.fn = o->log_fn;
        lg.arg = o->log_arg;
        lg.level = o->log_level;
    }
    return lg;
}

void log_msg(const struct logger *lg, int level, const char *subsystem, const char *fmt, ...)
{
    struct logger def = logger_default();
    char text[1024];
    va_list ap;
    if (!lg)
        lg = &def;
    if (level < 0 || level >= N_LEVELS || !log_enabled(lg, level))
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text), fmt, ap);
    va_end(ap);
    text[strcspn(text, "\n")] = '\0';
    atomic_fetch_add_explicit(&delivered[level], 1, memory_order_relaxed);
    if (lg->counts)
        atomic_fetch_add_explicit(&lg->counts->n[level], 1, memory_order_relaxed);
    if (lg->fn)
        lg->fn(level, subsystem, text, lg->arg);
    else
        fprintf(stderr, "cirrus: %s: %s: %s\n", level_names[level], subsystem, text);
}

uint64_t log_count(int level)
{
    if (level < 0 || level >= N_LEVELS)
        return 0;
    return atomic_load_explicit(&delivered[level], memory_order_relaxed);
}
