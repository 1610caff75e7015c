/*
 * progress.h - one line of progress on a terminal for long CLI commands
 * (backup create, restore, detach, verify):
 *
 *   backup: 1,234/5,000 objects, 1.2/4.0 GiB, 85.3 MiB/s, 0:32 left
 *
 * redrawn in place on stderr at most four times a second, and ended with
 * "done in M:SS" by progress_finish(). When stderr is not a terminal
 * nothing at all is printed: no progress noise in pipes, logs or CI.
 *
 * Totals may be known up front (progress_start) or grow as work is found
 * (progress_grow); a total of 0 is unknown and is not shown. The time left
 * comes from the bytes when a byte total is known, else from the objects.
 *
 * Thread-safe: copies run in parallel threads, and each reports its own
 * progress_add(). progress_start and progress_finish are called by one
 * thread, before and after the others.
 *
 * Depends on libc and pthreads only; the formatting helpers are pure
 * functions over caller memory, exposed for tests/unit/test_progress.c.
 */
#ifndef CIRRUS_CLI_PROGRESS_H
#define CIRRUS_CLI_PROGRESS_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

struct progress {
    const char *verb;   /* "backup", borrowed for the reporter's life */
    const char *noun;   /* what objects count ("lines"); NULL: "objects" */
    FILE *out;          /* where lines go (stderr) */
    int enabled;        /* out is a terminal: draw; else print nothing */
    uint64_t start_ns;  /* monotonic clock at start */
    pthread_mutex_t mu; /* guards everything below */
    uint64_t objects;   /* done so far */
    uint64_t bytes;     /* done so far */
    uint64_t n_objects; /* total, 0: unknown */
    uint64_t n_bytes;   /* total, 0: unknown */
    uint64_t drawn_ns;  /* when the line was last drawn, 0: never */
};

/* Starts reporting on stderr. verb is borrowed until progress_finish. */
void progress_start(struct progress *p, const char *verb, uint64_t total_objects,
                    uint64_t total_bytes);

/* progress_start on out (drawing only when out is a terminal). */
void progress_start_on(struct progress *p, FILE *out, const char *verb, uint64_t total_objects,
                       uint64_t total_bytes);

/* Raises the totals by what was found since (any thread). */
void progress_grow(struct progress *p, uint64_t objects, uint64_t bytes);

/* Counts work done (any thread); redraws if the last line is 250 ms old. */
void progress_add(struct progress *p, uint64_t objects, uint64_t bytes);

/* On a terminal, draws the final line ("done in M:SS") and ends it with a
 * newline; then releases p. */
void progress_finish(struct progress *p);

/* ---- formatting (pure; every output is NUL-terminated, cut to cap) ------- */

/* 1234567 -> "1,234,567". */
void progress_fmt_count(char *out, size_t cap, uint64_t n);

/* done of total bytes in total's unit: "1.2/4.0 GiB", "512/900 B"; total 0:
 * done alone, "1.2 GiB". Units are binary (KiB = 1024 B). */
void progress_fmt_bytes(char *out, size_t cap, uint64_t done, uint64_t total);

/* bytes per second over elapsed_ns: "85.3 MiB/s", "0 B/s". */
void progress_fmt_rate(char *out, size_t cap, uint64_t bytes, uint64_t elapsed_ns);

/* Seconds as "0:32", "12:05", "1:02:03". */
void progress_fmt_duration(char *out, size_t cap, uint64_t seconds);

/* Seconds left at the average pace so far, or UINT64_MAX when it cannot be
 * told (no total, nothing done yet, or more done than the total said). */
uint64_t progress_seconds_left(uint64_t done, uint64_t total, uint64_t elapsed_ns);

/* The whole line for p's state after elapsed_ns; final: "done in" rather
 * than "left". p->mu must be held (or p private to the caller). */
void progress_fmt_line(char *out, size_t cap, const struct progress *p, uint64_t elapsed_ns,
                       int final);

#endif
