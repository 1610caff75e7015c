/*
 * verify.h - checking that the objects a database or a backup needs are
 * there and sound (verify.c; cirrus_verify, cirrus_verify_backup).
 */
#ifndef CIRRUS_DB_VERIFY_H
#define CIRRUS_DB_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "cirrus.h"

struct objstore;
struct version;

struct verifier {
    struct objstore *os; /* where the files are read (borrowed) */
    const cirrus_verify_options *o;
    void (*fn)(const cirrus_verify_problem *p, void *arg);
    void *arg;
    cirrus_verify_summary sum;
    cirrus_progress prog;
    char **checked; /* names already checked (each once) */
    size_t n_checked, cap_checked;
};

void verifier_init(struct verifier *vf, struct objstore *os, const cirrus_verify_options *o,
                   void (*fn)(const cirrus_verify_problem *p, void *arg), void *arg);
void verifier_clear(struct verifier *vf);
/* Reports a problem with `object`. */
void verifier_problem(struct verifier *vf, const char *object, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Checks every file of v (once across calls): present with its recorded
 * size, and with o->deep, sound block by block. Problems are reported;
 * the return is < 0 only when checking could not go on. */
int verifier_files(struct verifier *vf, const struct version *v);
/* The call's result: 0, or CIRRUS_ECORRUPT naming the problem count. */
int verifier_result(struct verifier *vf, const char *what, cirrus_verify_summary *summary);

#endif
