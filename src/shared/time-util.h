/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Microsecond time helpers. */
#pragma once

#include <stdint.h>
#include <time.h>

typedef uint64_t usec_t;
typedef uint64_t nsec_t;

#define USEC_PER_SEC ((usec_t) 1000000ULL)
#define USEC_PER_MSEC ((usec_t) 1000ULL)
#define NSEC_PER_USEC ((nsec_t) 1000ULL)
#define NSEC_PER_SEC ((nsec_t) 1000000000ULL)

static inline nsec_t now_nsec(clockid_t clock) {
        struct timespec ts;
        clock_gettime(clock, &ts);
        return (nsec_t) ts.tv_sec * NSEC_PER_SEC + (nsec_t) ts.tv_nsec;
}

static inline usec_t now_usec(clockid_t clock) {
        return now_nsec(clock) / NSEC_PER_USEC;
}
