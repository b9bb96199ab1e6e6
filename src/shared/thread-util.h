/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Threads that may be stuck in the kernel for ever (a /proc read waiting on a process's mmap_lock). */
#pragma once

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

#include "time-util.h"

/* Joins t if it ends within timeout_usec; else detaches it, to be left behind with whatever it
 * uses, and returns false. */
static inline bool thread_join_within(pthread_t t, usec_t timeout_usec) {
        struct timespec deadline;

        (void) clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += (time_t) (timeout_usec / USEC_PER_SEC);
        deadline.tv_nsec += (long) (timeout_usec % USEC_PER_SEC) * 1000L;
        deadline.tv_sec += deadline.tv_nsec / 1000000000L;
        deadline.tv_nsec %= 1000000000L;
        if (pthread_timedjoin_np(t, NULL, &deadline) == 0)
                return true;
        (void) pthread_detach(t);
        return false;
}
