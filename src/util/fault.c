#include "util/fault.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/status.h"
#include "util/sys.h"

/* z such that P(Z <= z) = 0.99 for a standard normal Z */
#define Z99 2.3263478740408408
#define LN2 0.6931471805599453

/* exp and log from arithmetic alone: util links no libm, and latency
 * draws need a few digits, not the last ulp. */
static double fexp(double y)
{
    int halvings = 0;
    if (y > 700)
        y = 700;
    while (y > 0.01 || y < -0.01) {
        y /= 2;
        halvings++;
    }
    double t = 1 + y * (1 + y / 2 * (1 + y / 3 * (1 + y / 4 * (1 + y / 5))));
    while (halvings-- > 0)
        t *= t;
    return t;
}

/* Natural log of x > 0: scale into [1, 2), then 2 atanh((m - 1) / (m + 1)). */
static double flog(double x)
{
    int k = 0;
    while (x >= 2) {
        x /= 2;
        k++;
    }
    while (x < 1) {
        x *= 2;
        k--;
    }
    double s = (x - 1) / (x + 1), s2 = s * s, term = s, sum = 0;
    for (int i = 1; i < 40; i += 2) {
        sum += term / i;
        term *= s2;
    }
    return 2 * sum + k * LN2;
}

static const char *const op_names[FAULT_N_OPS] = {"put",  "get",  "head", "del",  "list",
                                                  "mget", "mput", "mdel", "query"};

const char *fault_op_name(enum fault_op op)
{
    return op < FAULT_N_OPS ? op_names[op] : "?";
}

static int is_write_op(int op)
{
    return op == FAULT_PUT || op == FAULT_DEL || op == FAULT_MPUT || op == FAULT_MDEL;
}

int fault_op_is_write(enum fault_op op)
{
    return is_write_op(op);
}

void fault_config_default(struct fault_config *cfg)
{
    memset(cfg, 0, sizeof(*cfg));
    cfg->applied = 0.5;
    cfg->fail_rc = CIRRUS_EIO;
}

/* Which ops a spec name selects: one op, "read", "write", or all (NULL). */
static int op_mask(const char *name, size_t len, unsigned *mask)
{
    if (!name) {
        *mask = (1u << FAULT_N_OPS) - 1;
        return 0;
    }
    *mask = 0;
    for (int i = 0; i < FAULT_N_OPS; i++) {
        int w = is_write_op(i);
        if ((strlen(op_names[i]) == len && strncmp(name, op_names[i], len) == 0) ||
            (len == 5 && strncmp(name, "write", 5) == 0 && w) ||
            (len == 4 && strncmp(name, "read", 4) == 0 && !w))
            *mask |= 1u << i;
    }
    return *mask ? 0 : -1;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= lo && v <= hi))
        return -1;
    *out = v;
    return 0;
}

static int parse_rc(const char *s, int *rc)
{
    static const struct {
        const char *name;
        int rc;
    } names[] = {{"io", CIRRUS_EIO},
                 {"auth", CIRRUS_EAUTH},
                 {"timeout", CIRRUS_ETIMEOUT},
                 {"notfound", CIRRUS_ENOTFOUND},
                 {"busy", CIRRUS_EBUSY}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i].name) == 0) {
            *rc = names[i].rc;
            return 0;
        }
    return -1;
}

/* A call number: decimal digits only. */
static int parse_count(const char *s, uint64_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end)
        return -1;
    *out = v;
    return 0;
}

/* Applies one "key[.op]=value" item. */
static int parse_item(struct fault_config *cfg, char *item)
{
    char *eq = strchr(item, '='), *dot;
    unsigned mask;
    double a, b;
    if (!eq)
        return -1;
    *eq = '\0';
    const char *val = eq + 1;
    dot = strchr(item, '.');
    if (op_mask(dot ? dot + 1 : NULL, dot ? strlen(dot + 1) : 0, &mask) < 0)
        return -1;
    if (dot)
        *dot = '\0';
    if (strcmp(item, "latency") == 0) {
        char *colon = strchr(val, ':');
        if (!colon)
            return -1;
        *colon = '\0';
        if (parse_double(val, 0, 3600000, &a) < 0 || parse_double(colon + 1, a, 3600000, &b) < 0)
            return -1;
        for (int i = 0; i < FAULT_N_OPS; i++)
            if (mask & (1u << i)) {
                cfg->op[i].p50_ms = a;
                cfg->op[i].p99_ms = b;
            }
    } else if (strcmp(item, "error") == 0 || strcmp(item, "timeout") == 0) {
        if (parse_double(val, 0, 1, &a) < 0)
            return -1;
        for (int i = 0; i < FAULT_N_OPS; i++)
            if (mask & (1u << i)) {
                if (item[0] == 'e')
                    cfg->op[i].error_rate = a;
                else
                    cfg->op[i].timeout_rate = a;
            }
    } else if (dot) {
        return -1; /* the rest apply to every operation */
    } else if (strcmp(item, "seed") == 0) {
        cfg->seed = strtoull(val, NULL, 10);
    } else if (strcmp(item, "timeout_ms") == 0) {
        if (parse_double(val, 0, 3600000, &a) < 0)
            return -1;
        cfg->timeout_ms = (uint32_t)a;
    } else if (strcmp(item, "applied") == 0) {
        if (parse_double(val, 0, 1, &cfg->applied) < 0)
            return -1;
    } else if (strcmp(item, "fail_next") == 0) {
        if (parse_double(val, 0, 1e18, &a) < 0)
            return -1;
        cfg->fail_next = (uint64_t)a;
    } else if (strcmp(item, "fail_rc") == 0) {
        if (parse_rc(val, &cfg->fail_rc) < 0)
            return -1;
    } else if (strcmp(item, "fail_at") == 0 || strcmp(item, "fail_count") == 0 ||
               strcmp(item, "crash_at") == 0 || strcmp(item, "crash_after") == 0) {
        uint64_t n;
        if (parse_count(val, &n) < 0)
            return -1;
        if (strcmp(item, "fail_at") == 0)
            cfg->fail_at = n;
        else if (strcmp(item, "fail_count") == 0)
            cfg->fail_count = n;
        else if (strcmp(item, "crash_at") == 0)
            cfg->crash_before = n;
        else
            cfg->crash_after = n;
    } else if (strcmp(item, "fail_mode") == 0) {
        if (strcmp(val, "error") == 0)
            cfg->fail_mode = FAULT_MODE_ERROR;
        else if (strcmp(val, "timeout") == 0)
            cfg->fail_mode = FAULT_MODE_TIMEOUT;
        else if (strcmp(val, "applied") == 0)
            cfg->fail_mode = FAULT_MODE_APPLIED;
        else
            return -1;
    } else if (strcmp(item, "group") == 0) {
        if (strlen(val) >= sizeof(cfg->group))
            return -1;
        snprintf(cfg->group, sizeof(cfg->group), "%s", val);
    } else {
        return -1;
    }
    return 0;
}

int fault_config_parse(struct fault_config *cfg, const char *spec)
{
    int rc = 0;
    char *copy = strdup(spec ? spec : ""), *save = NULL;
    if (!copy)
        return err_nomem();
    for (char *item = strtok_r(copy, ",", &save); item && rc == 0;
         item = strtok_r(NULL, ",", &save)) {
        char shown[128];
        snprintf(shown, sizeof(shown), "%s", item);
        if (parse_item(cfg, item) < 0)
            rc = err_set(CIRRUS_EINVALID,
                         "fault spec \"%s\": bad item \"%s\" (see src/util/fault.h for the syntax)",
                         spec, shown);
    }
    free(copy);
    return rc;
}

/* ---- group counters ---------------------------------------------------- */

#define N_GROUPS 16

struct fault_group {
    int used;
    char name[sizeof(((struct fault_config *)0)->group)];
    struct fault_group_info info;
    uint8_t trace[FAULT_TRACE_MAX]; /* enum fault_op of each call */
};

static pthread_mutex_t groups_mu = PTHREAD_MUTEX_INITIALIZER;
static struct fault_group groups[N_GROUPS]; /* guarded by groups_mu */

/* The slot of group name, made if new; -1 when the table is full. Caller
 * holds groups_mu. */
static int group_slot_locked(const char *name, int make)
{
    int free_slot = -1;
    if (!name)
        name = "";
    for (int i = 0; i < N_GROUPS; i++) {
        if (groups[i].used && strcmp(groups[i].name, name) == 0)
            return i;
        if (!groups[i].used && free_slot < 0)
            free_slot = i;
    }
    if (!make || free_slot < 0)
        return -1;
    groups[free_slot].used = 1;
    snprintf(groups[free_slot].name, sizeof(groups[free_slot].name), "%s", name);
    memset(&groups[free_slot].info, 0, sizeof(groups[free_slot].info));
    return free_slot;
}

void fault_group_get(const char *group, struct fault_group_info *out)
{
    pthread_mutex_lock(&groups_mu);
    int i = group_slot_locked(group, 0);
    if (i >= 0)
        *out = groups[i].info;
    else
        memset(out, 0, sizeof(*out));
    pthread_mutex_unlock(&groups_mu);
}

void fault_group_reset(const char *group)
{
    pthread_mutex_lock(&groups_mu);
    int i = group_slot_locked(group, 0);
    if (i >= 0)
        memset(&groups[i].info, 0, sizeof(groups[i].info));
    pthread_mutex_unlock(&groups_mu);
}

size_t fault_group_trace(const char *group, enum fault_op *ops_out, size_t cap)
{
    size_t n = 0;
    pthread_mutex_lock(&groups_mu);
    int i = group_slot_locked(group, 0);
    if (i >= 0) {
        uint64_t calls = groups[i].info.calls;
        n = calls < FAULT_TRACE_MAX ? (size_t)calls : FAULT_TRACE_MAX;
        if (n > cap)
            n = cap;
        for (size_t j = 0; j < n; j++)
            ops_out[j] = (enum fault_op)groups[i].trace[j];
    }
    pthread_mutex_unlock(&groups_mu);
    return n;
}

/* Numbers one call of fi (caller holds fi->mu). */
static uint64_t number_call_locked(struct fault_injector *fi, enum fault_op op)
{
    uint64_t n;
    if (fi->group < 0)
        return ++fi->calls;
    pthread_mutex_lock(&groups_mu);
    struct fault_group *g = &groups[fi->group];
    n = ++g->info.calls;
    if (n <= FAULT_TRACE_MAX)
        g->trace[n - 1] = (uint8_t)op;
    pthread_mutex_unlock(&groups_mu);
    return n;
}

static void note_injection_locked(struct fault_injector *fi, uint64_t n, enum fault_op op,
                                  int is_write, const char *what)
{
    if (fi->group < 0)
        return;
    pthread_mutex_lock(&groups_mu);
    struct fault_group_info *gi = &groups[fi->group].info;
    if (gi->n_injected++ == 0) {
        gi->injected_at = n;
        gi->injected_op = op;
        gi->injected_write = is_write;
        snprintf(gi->injected_what, sizeof(gi->injected_what), "%s", what ? what : "");
    }
    pthread_mutex_unlock(&groups_mu);
}

/* Writes "injected crash WHEN call N: STORE OP WHAT" to stderr and exits
 * without running atexit handlers or flushing stdio, as a killed process
 * would. */
static _Noreturn void crash(const char *when, uint64_t n, const char *store, enum fault_op op,
                            const char *what)
{
    char line[512];
    int len = snprintf(line, sizeof(line), "injected crash %s call %llu: %s %s %.300s\n", when,
                       (unsigned long long)n, store, fault_op_name(op), what ? what : "");
    if (len > 0) {
        size_t left = (size_t)len < sizeof(line) ? (size_t)len : sizeof(line) - 1;
        ssize_t w = write(2, line, left);
        (void)w;
    }
    _exit(FAULT_CRASH_EXIT);
}

void fault_after(struct fault_injector *fi, enum fault_action act, const char *store,
                 enum fault_op op, const char *what)
{
    if (act != FAULT_CRASH_AFTER)
        return;
    pthread_mutex_lock(&fi->mu);
    uint64_t n = fi->cfg.crash_after;
    pthread_mutex_unlock(&fi->mu);
    crash("after", n, store, op, what);
}

void fault_injector_init(struct fault_injector *fi, const struct fault_config *cfg)
{
    memset(fi, 0, sizeof(*fi));
    pthread_mutex_init(&fi->mu, NULL);
    fault_injector_configure(fi, cfg);
}

void fault_injector_destroy(struct fault_injector *fi)
{
    pthread_mutex_destroy(&fi->mu);
}

void fault_injector_configure(struct fault_injector *fi, const struct fault_config *cfg)
{
    pthread_mutex_lock(&fi->mu);
    fi->cfg = *cfg;
    fi->cfg.group[sizeof(fi->cfg.group) - 1] = '\0';
    fi->numbered =
        fi->cfg.fail_at || fi->cfg.crash_before || fi->cfg.crash_after || fi->cfg.group[0];
    fi->group = -1;
    if (fi->numbered) {
        pthread_mutex_lock(&groups_mu);
        fi->group = group_slot_locked(fi->cfg.group, 1);
        pthread_mutex_unlock(&groups_mu);
    }
    fi->rng = cfg->seed ? cfg->seed : rand_u64();
    if (fi->rng == 0)
        fi->rng = 0x9e3779b97f4a7c15ULL; /* xorshift must not start at 0 */
    pthread_mutex_unlock(&fi->mu);
}

void fault_injector_stats(struct fault_injector *fi, struct fault_stats *out)
{
    pthread_mutex_lock(&fi->mu);
    *out = fi->stats;
    pthread_mutex_unlock(&fi->mu);
}

/* xorshift64*: reproducible under a fixed seed. */
static uint64_t next_u64(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545F4914F6CDD1DULL;
}

/* Uniform in (0, 1). */
static double next_unit(uint64_t *state)
{
    return ((double)(next_u64(state) >> 11) + 0.5) / 9007199254740992.0;
}

double fault_draw_latency_ms(const struct fault_op_config *c, uint64_t *rng)
{
    if (c->p50_ms <= 0)
        return 0;
    double sigma = c->p99_ms > c->p50_ms ? flog(c->p99_ms / c->p50_ms) / Z99 : 0;
    /* Irwin-Hall: twelve uniforms minus 6 are a standard normal to within
     * what a latency model needs (its 99th percentile is 2.33), and need no
     * libm */
    double z = -6;
    for (int i = 0; i < 12; i++)
        z += next_unit(rng);
    return c->p50_ms * fexp(sigma * z);
}

enum fault_action fault_begin(struct fault_injector *fi, enum fault_op op, int is_write,
                              const char *store, const char *what, int *rc_out)
{
    enum fault_action act = FAULT_PASS;
    int rc = 0;
    pthread_mutex_lock(&fi->mu);
    const struct fault_op_config *c = &fi->cfg.op[op];
    uint64_t lat_us = (uint64_t)(fault_draw_latency_ms(c, &fi->rng) * 1000.0);
    uint64_t n = fi->numbered ? number_call_locked(fi, op) : 0;
    fi->stats.calls[op]++;
    fi->stats.latency_us[op] += lat_us;
    if (n && n == fi->cfg.crash_before)
        crash("before", n, store, op, what);
    if (n && n == fi->cfg.crash_after) {
        act = FAULT_CRASH_AFTER;
    } else if (n && fi->cfg.fail_at && n >= fi->cfg.fail_at &&
               n - fi->cfg.fail_at < (fi->cfg.fail_count ? fi->cfg.fail_count : 1)) {
        note_injection_locked(fi, n, op, is_write, what);
        if (fi->cfg.fail_mode == FAULT_MODE_ERROR) {
            act = FAULT_FAIL;
            rc = fi->cfg.fail_rc;
        } else {
            act = fi->cfg.fail_mode == FAULT_MODE_APPLIED && is_write ? FAULT_TIMEOUT_APPLY
                                                                      : FAULT_TIMEOUT_LOST;
            rc = CIRRUS_ETIMEOUT;
        }
    } else if (fi->cfg.fail_next > 0) {
        fi->cfg.fail_next--;
        act = FAULT_FAIL;
        rc = fi->cfg.fail_rc;
    } else if (c->error_rate > 0 && next_unit(&fi->rng) < c->error_rate) {
        act = FAULT_FAIL;
        rc = fi->cfg.fail_rc;
    } else if (c->timeout_rate > 0 && next_unit(&fi->rng) < c->timeout_rate) {
        act = is_write && next_unit(&fi->rng) < fi->cfg.applied ? FAULT_TIMEOUT_APPLY
                                                                : FAULT_TIMEOUT_LOST;
        rc = CIRRUS_ETIMEOUT;
        lat_us += (uint64_t)fi->cfg.timeout_ms * 1000;
    }
    if (act == FAULT_FAIL && rc == CIRRUS_ETIMEOUT)
        act = FAULT_TIMEOUT_LOST;
    if (act == FAULT_FAIL)
        fi->stats.errors[op]++;
    else if (act == FAULT_TIMEOUT_LOST || act == FAULT_TIMEOUT_APPLY)
        fi->stats.timeouts[op]++;
    pthread_mutex_unlock(&fi->mu);
    if (lat_us)
        sleep_ns(lat_us * 1000u);
    if (act != FAULT_PASS && act != FAULT_CRASH_AFTER) {
        const char *how = rc == CIRRUS_EAUTH ? " (as HTTP 403 AccessDenied)" : "";
        err_set(rc, "%s %s %.300s: injected fault: %s%s", store, fault_op_name(op),
                what ? what : "", cirrus_strerror(rc), how);
    }
    *rc_out = rc;
    return act;
}

void fault_count_bytes(struct fault_injector *fi, enum fault_op op, uint64_t up, uint64_t down)
{
    pthread_mutex_lock(&fi->mu);
    fi->stats.bytes_up[op] += up;
    fi->stats.bytes_down[op] += down;
    pthread_mutex_unlock(&fi->mu);
}
