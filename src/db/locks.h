/*
 * locks.h - the lock annotations every field of the handle carries.
 */
#ifndef CIRRUS_DB_LOCKS_H
#define CIRRUS_DB_LOCKS_H

/*
 * Lock annotations, as LevelDB's GUARDED_BY: what a reviewer checks every
 * access against (clang's -Wthread-safety cannot name another struct's
 * field in C, so they expand to nothing).
 *   GUARDED_BY(a)     read and written holding a
 *   GUARDED_BY(a, b)  written holding both, read holding either
 *   SET_AT_OPEN       written by cirrus_open before any other thread
 *                     starts (or by cirrus_close after joining them), read
 *                     without a lock in between
 *   ATOMIC(why)       a C11 atomic; `why` says which order and for whom
 *   THREAD_OWN(t)     touched by thread t alone
 * `mu` below is cirrus_db.mu, the lock of the published state.
 */
#define GUARDED_BY(...)
#define SET_AT_OPEN
#define ATOMIC(...)
#define THREAD_OWN(...)

#endif
