/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Threads that may be stuck in the kernel for ever (a /proc read waiting on a process's mmap_lock). */
#pragma once

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "log.h"
#include "time-util.h"

/* Joins t if it ends within timeout_usec; else detaches it, to be left behind with whatever it
 * uses, says so (what: the thread, for the log; *read_pid: the process whose /proc it is stuck
 * reading, as it is then) and returns false. */
static inline bool thread_join_or_leave(pthread_t t, usec_t timeout_usec, const char *what,
                                        const atomic_int *read_pid) {
        struct timespec deadline;

        (void) clock_gettime(CLOCK_REALTIME, &deadline);
        deadline.tv_sec += (time_t) (timeout_usec / USEC_PER_SEC);
        deadline.tv_nsec += (long) (timeout_usec % USEC_PER_SEC) * 1000L;
        deadline.tv_sec += deadline.tv_nsec / 1000000000L;
        deadline.tv_nsec %= 1000000000L;
        if (pthread_timedjoin_np(t, NULL, &deadline) == 0)
                return true;
        (void) pthread_detach(t);
        /* Stuck in a read of a process whose mmap_lock someone holds: it can take for ever, and the
         * process exits anyway. */
        log_warning("%s is still reading /proc/%d after %llu ms; leaving it behind.", what, atomic_load(read_pid),
                    (unsigned long long) (timeout_usec / USEC_PER_MSEC));
        return false;
}
