/* cirrus-test-libs: util */
/*
 * test_progress.c - the CLI's progress line (src/cli/progress.c, compiled
 * in here: the CLI is no library): its numbers, rates and times, the whole
 * line, silence when stderr is no terminal, and drawing on one (a pty).
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <unistd.h>
#include <cmocka.h>

#include "../../src/cli/progress.c"

#define GIB ((uint64_t)1 << 30)
#define SECONDS(n) ((uint64_t)(n)*NS_PER_S)

static void check_count(uint64_t n, const char *want)
{
    char s[64];
    progress_fmt_count(s, sizeof(s), n);
    assert_string_equal(s, want);
}

static void check_bytes(uint64_t done, uint64_t total, const char *want)
{
    char s[64];
    progress_fmt_bytes(s, sizeof(s), done, total);
    assert_string_equal(s, want);
}

static void check_rate(uint64_t bytes, uint64_t elapsed_ns, const char *want)
{
    char s[64];
    progress_fmt_rate(s, sizeof(s), bytes, elapsed_ns);
    assert_string_equal(s, want);
}

static void check_duration(uint64_t seconds, const char *want)
{
    char s[64];
    progress_fmt_duration(s, sizeof(s), seconds);
    assert_string_equal(s, want);
}

static void counts_are_grouped_by_thousands(void **state)
{
    (void)state;
    char s[4];
    check_count(0, "0");
    check_count(999, "999");
    check_count(1000, "1,000");
    check_count(1234567, "1,234,567");
    check_count(UINT64_MAX, "18,446,744,073,709,551,615");
    progress_fmt_count(s, sizeof(s), 1234567); /* cut, still a string */
    assert_string_equal(s, "1,2");
}

static void bytes_are_shown_in_the_totals_unit(void **state)
{
    (void)state;
    check_bytes(512, 900, "512/900 B");
    check_bytes(0, 0, "0 B");
    check_bytes(1536, 0, "1.5 KiB");
    check_bytes(1288490189, 4 * GIB, "1.2/4.0 GiB");
    check_bytes(300u << 20, 4 * GIB, "0.3/4.0 GiB");
    check_bytes(1023, 1024, "1.0/1.0 KiB");
    check_bytes(5 * (GIB << 10), 0, "5.0 TiB");
    check_bytes(UINT64_MAX, 0, "16.0 EiB");
}

static void rates_are_bytes_per_second(void **state)
{
    (void)state;
    check_rate(89443533, SECONDS(1), "85.3 MiB/s");
    check_rate(3072, SECONDS(10), "307 B/s");
    check_rate(12345, 0, "0 B/s"); /* no time yet */
}

static void durations_and_time_left(void **state)
{
    (void)state;
    check_duration(0, "0:00");
    check_duration(32, "0:32");
    check_duration(725, "12:05");
    check_duration(3723, "1:02:03");
    assert_int_equal(progress_seconds_left(1, 4, SECONDS(10)), 30);
    assert_int_equal(progress_seconds_left(4, 4, SECONDS(10)), 0);
    assert_true(progress_seconds_left(1, 0, SECONDS(10)) == UINT64_MAX); /* no total */
    assert_true(progress_seconds_left(0, 4, SECONDS(10)) == UINT64_MAX); /* no pace yet */
    assert_true(progress_seconds_left(5, 4, SECONDS(10)) == UINT64_MAX); /* total too low */
}

static void lines_say_what_is_known(void **state)
{
    (void)state;
    char s[256];
    struct progress p;
    memset(&p, 0, sizeof(p));
    p.verb = "backup";
    p.objects = 1234;
    p.n_objects = 5000;
    p.bytes = GIB;
    p.n_bytes = 4 * GIB;
    progress_fmt_line(s, sizeof(s), &p, SECONDS(10), 0);
    assert_string_equal(s, "backup: 1,234/5,000 objects, 1.0/4.0 GiB, 102.4 MiB/s, 0:30 left");
    progress_fmt_line(s, sizeof(s), &p, SECONDS(10), 1);
    assert_string_equal(s, "backup: 1,234/5,000 objects, 1.0/4.0 GiB, 102.4 MiB/s, done in 0:10");
    /* no byte total: the time left comes from the objects */
    p.n_bytes = 0;
    progress_fmt_line(s, sizeof(s), &p, SECONDS(10), 0);
    assert_non_null(strstr(s, ", 1.0 GiB, 102.4 MiB/s, 0:31 left"));
    /* no totals at all: counts and rate only */
    memset(&p, 0, sizeof(p));
    p.verb = "verify";
    p.objects = 7;
    p.bytes = 3072;
    progress_fmt_line(s, sizeof(s), &p, SECONDS(10), 0);
    assert_string_equal(s, "verify: 7 objects, 3.0 KiB, 307 B/s");
}

static size_t file_size(FILE *f)
{
    fflush(f);
    fseek(f, 0, SEEK_END);
    return (size_t)ftell(f);
}

/* Not a terminal: not one byte, whatever is reported. */
static void nothing_is_printed_when_not_a_tty(void **state)
{
    (void)state;
    struct progress p;
    FILE *f = tmpfile();
    assert_non_null(f);
    progress_start_on(&p, f, "restore", 10, 1000);
    for (int i = 0; i < 10; i++)
        progress_add(&p, 1, 100);
    progress_grow(&p, 5, 500);
    progress_finish(&p);
    assert_int_equal(file_size(f), 0);
    fclose(f);

    /* progress_start's own stderr, pointed at a file */
    f = tmpfile();
    assert_non_null(f);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(fileno(f), STDERR_FILENO) >= 0);
    progress_start(&p, "detach", 3, 0);
    progress_add(&p, 3, 12345);
    progress_finish(&p);
    fflush(stderr);
    assert_true(dup2(saved, STDERR_FILENO) >= 0);
    close(saved);
    assert_int_equal(file_size(f), 0);
    fclose(f);
}

/* Everything a pty's master side has to read (the writes are done). */
static size_t read_all(int fd, char *buf, size_t cap)
{
    size_t n = 0;
    struct pollfd pfd = {fd, POLLIN, 0};
    while (n + 1 < cap && poll(&pfd, 1, 200) == 1) {
        ssize_t got = read(fd, buf + n, cap - 1 - n);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    buf[n] = '\0';
    return n;
}

struct adder {
    struct progress *p;
};

static void *add_many(void *arg)
{
    struct adder *a = arg;
    for (int i = 0; i < 1000; i++)
        progress_add(a->p, 1, 10);
    return NULL;
}

/* On a terminal: drawn in place (carriage return, erase to the end), at
 * most four times a second however often threads report, and ended with
 * a final line and a newline. */
static void a_tty_gets_one_line_redrawn(void **state)
{
    (void)state;
    int master, slave;
    char buf[16384];
    struct progress p;
    pthread_t t[4];
    struct adder a = {&p};
    if (openpty(&master, &slave, NULL, NULL, NULL) < 0)
        skip();
    FILE *out = fdopen(slave, "w");
    assert_non_null(out);
    progress_start_on(&p, out, "backup", 4000, 40000);
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, add_many, &a), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(p.objects, 4000);
    assert_int_equal(p.bytes, 40000);
    progress_finish(&p);
    read_all(master, buf, sizeof(buf));
    fclose(out);
    close(master);
    assert_non_null(strstr(buf, "\rbackup: "));
    assert_non_null(strstr(buf, "\033[K"));
    assert_non_null(strstr(buf, "backup: 4,000/4,000 objects, 39.1/39.1 KiB"));
    assert_non_null(strstr(buf, "done in 0:00"));
    assert_true(buf[strlen(buf) - 1] == '\n');
    /* 4000 reports in far less than 250 ms: the first draws, then at most
     * a few more, and the final line */
    size_t lines = 0;
    for (const char *c = buf; (c = strchr(c, '\r')) != NULL; c++)
        lines += c[1] == 'b';
    assert_true(lines >= 2 && lines <= 6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(counts_are_grouped_by_thousands),
        cmocka_unit_test(bytes_are_shown_in_the_totals_unit),
        cmocka_unit_test(rates_are_bytes_per_second),
        cmocka_unit_test(durations_and_time_left),
        cmocka_unit_test(lines_say_what_is_known),
        cmocka_unit_test(nothing_is_printed_when_not_a_tty),
        cmocka_unit_test(a_tty_gets_one_line_redrawn),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
