/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The proc connector's receive thread (see cnproc-thread.h).
 *
 * Batches form a ring: the thread fills the one after the last handed over, the loop takes the
 * oldest. n_ready counts those handed over and not yet given back, the one the loop is working on
 * included, so the thread never touches a batch the loop holds. The mutex orders every hand-over;
 * the figures and settings the other side reads are atomics. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "cnproc-thread.h"
#include "log.h"
#include "thread-util.h"
#include "time-util.h"

struct CnProcThread {
        int sock_fd;   /* the connector socket, borrowed from the CnProc */
        uint32_t ncpus;
        int wake_fd;   /* eventfd: the thread is to stop */
        int ready_fd;  /* eventfd: batches are waiting for the loop */

        pthread_t thread;
        bool started, stopped, abandoned;
        pthread_mutex_t lock;
        pthread_cond_t space; /* a batch was given back */
        atomic_bool stop;

        CnProcBatch batches[CNPROC_THREAD_BATCHES];
        unsigned head, n_ready;

        PwProcReader reader;  /* the thread's own: its cmdline buffer is written by every read */
        atomic_size_t argv_max;
        atomic_uint_fast64_t boot_minus_mono_ns;
        usec_t last_exec_usec;     /* the thread's own: when it last saw an EXEC */
        usec_t last_hand_over_usec; /* ... and handed a batch over */

        atomic_uint_fast64_t reads, slow_reads;
        atomic_uint_fast64_t read_start_usec; /* of the read in progress; 0: none */
        atomic_int read_pid;
};

/* A thread left stuck in a read at exit keeps using what it has: kept reachable here, never freed. */
static CnProcThread *abandoned_thread;

static void batch_clear(CnProcBatch *b) {
        for (size_t i = 0; i < b->n_early; i++)
                pw_proc_info_done(&b->early[i].info);
        b->n_early = 0;
        b->n = 0;
}

typedef struct ReadContext {
        CnProcThread *t;
        CnProcBatch *b;
} ReadContext;

/* An EXEC in the batch just received: everything the loop wants to know of the new image, now,
 * before anything else, through one /proc/PID fd closed here: cmdline and exe, then stat (identity),
 * then the owner of status (dumpability, which an exec may change) and cgroup (systemd moves a child
 * between fork and exec). */
static void read_exec(const PwEvent *ev, void *userdata) {
        ReadContext *ctx = userdata;
        CnProcThread *t = ctx->t;
        EarlyRead *e;
        usec_t start = now_usec(CLOCK_MONOTONIC), took;

        t->last_exec_usec = start;
        if (atomic_load(&t->stop) || ctx->b->n_early == CNPROC_THREAD_EARLY_MAX)
                return;
        e = &ctx->b->early[ctx->b->n_early++];
        *e = (EarlyRead){ .pid = ev->exec.tgid };

        atomic_store(&t->read_pid, (int) e->pid);
        atomic_store(&t->read_start_usec, start);
        e->r = pw_proc_read(&t->reader, e->pid, 0, CNPROC_THREAD_EXEC_READ, &e->info);
        took = now_usec(CLOCK_MONOTONIC) - start;
        atomic_store(&t->read_start_usec, 0);
        atomic_fetch_add(&t->reads, 1);
        if (took > CNPROC_THREAD_SLOW_USEC)
                atomic_fetch_add(&t->slow_reads, 1);
}

static void take_settings(CnProcThread *t) {
        size_t argv_max = atomic_load(&t->argv_max);

        /* On failure (no memory for a larger buffer) the old size stays. */
        if (argv_max != t->reader.argv_max)
                (void) pw_proc_reader_set_argv_max(&t->reader, argv_max);
        t->reader.boot_minus_mono_ns = atomic_load(&t->boot_minus_mono_ns);
}

/* Waits until the socket is readable, the deadline (CLOCK_MONOTONIC usec; 0: none) passes or the
 * thread is told to stop. Returns false when the deadline passed. */
static bool wait_readable(CnProcThread *t, usec_t deadline) {
        struct pollfd p[2] = { { .fd = t->sock_fd, .events = POLLIN }, { .fd = t->wake_fd, .events = POLLIN } };
        struct timespec ts;
        usec_t now;

        if (deadline == 0)
                return ppoll(p, 2, NULL, NULL) != 0;
        now = now_usec(CLOCK_MONOTONIC);
        if (now >= deadline)
                return false;
        ts = (struct timespec){ .tv_sec = (time_t) ((deadline - now) / USEC_PER_SEC),
                                .tv_nsec = (long) ((deadline - now) % USEC_PER_SEC) * 1000L };
        /* EINTR or an error: the caller receives again and looks at stop. */
        return ppoll(p, 2, &ts, NULL) != 0;
}

/* Events keep coming but no EXEC came for CNPROC_THREAD_QUIET_USEC (a fork storm, say): nothing
 * races a process's exit, so the thread may let a few datagrams gather instead of waking for each. */
static bool may_linger(CnProcThread *t) {
        return now_usec(CLOCK_MONOTONIC) > t->last_exec_usec + CNPROC_THREAD_QUIET_USEC;
}

static void linger(CnProcThread *t) {
        struct pollfd p = { .fd = t->wake_fd, .events = POLLIN };
        struct timespec ts = { .tv_nsec = (long) CNPROC_THREAD_LINGER_USEC * 1000L };

        (void) ppoll(&p, 1, &ts, NULL);
}

/* The batch after the last handed over, once the loop has given it back; NULL when stopping. */
static CnProcBatch *take_free(CnProcThread *t) {
        CnProcBatch *b = NULL;

        pthread_mutex_lock(&t->lock);
        while (!atomic_load(&t->stop) && t->n_ready == CNPROC_THREAD_BATCHES)
                pthread_cond_wait(&t->space, &t->lock);
        if (!atomic_load(&t->stop))
                b = &t->batches[(t->head + t->n_ready) % CNPROC_THREAD_BATCHES];
        pthread_mutex_unlock(&t->lock);
        return b;
}

static bool loop_idle(CnProcThread *t) {
        bool idle;

        pthread_mutex_lock(&t->lock);
        idle = t->n_ready == 0;
        pthread_mutex_unlock(&t->lock);
        return idle;
}

static void hand_over(CnProcThread *t, CnProcBatch *b, int n) {
        uint64_t one = 1;

        t->last_hand_over_usec = now_usec(CLOCK_MONOTONIC);
        b->n = n;
        pthread_mutex_lock(&t->lock);
        t->n_ready++;
        pthread_mutex_unlock(&t->lock);
        (void) !write(t->ready_fd, &one, sizeof(one));
}

/* Fills a batch over as many receives as it takes, reading each EXEC's image as it comes, and hands
 * it over when it is full, or when it is due (CNPROC_THREAD_HAND_OVER_USEC after the last hand-over;
 * at once when that is past) and the loop is idle. An event on an idle machine so reaches a client
 * or a subscriber as soon as before; in a storm the loop wakes at most once per
 * CNPROC_THREAD_HAND_OVER_USEC for everything that came meanwhile (the images are read already;
 * only the events wait). A receive error is handed over on its own, after what came before it. */
static void *run(void *userdata) {
        CnProcThread *t = userdata;
        CnProcBatch *b = NULL;
        unsigned filled = 0;
        usec_t due = 0;

        for (;;) {
                int n;

                if (!b) {
                        b = take_free(t);
                        if (!b)
                                break;
                        b->n_early = 0;
                        filled = 0;
                }
                if (atomic_load(&t->stop))
                        break;

                n = nl_batch_recv_from(b->nl, t->sock_fd, filled);
                if (n == -EINTR)
                        continue;
                if (n < 0) {
                        if (filled > 0) {
                                hand_over(t, b, (int) filled);
                                b = take_free(t);
                                if (!b)
                                        break;
                                b->n_early = 0;
                        }
                        hand_over(t, b, n);
                        b = NULL;
                        /* A hard error ends reading; the loop reports it and exits. */
                        if (n != -ENOBUFS)
                                break;
                        continue;
                }
                if (n > 0) {
                        ReadContext ctx = { .t = t, .b = b };

                        take_settings(t);
                        cnproc_find_execs(b->nl, filled, filled + (unsigned) n, t->ncpus, read_exec, &ctx);
                        if (filled == 0)
                                due = t->last_hand_over_usec + CNPROC_THREAD_HAND_OVER_USEC;
                        filled += (unsigned) n;
                        if (filled == nl_batch_slots(b->nl) ||
                            (now_usec(CLOCK_MONOTONIC) >= due && loop_idle(t))) {
                                hand_over(t, b, (int) filled);
                                b = NULL;
                        }
                        if (may_linger(t)) {
                                linger(t);
                                continue;
                        }
                        if (!b)
                                continue;
                }
                /* Drained: wait for more, or until the batch is due; then hand it over if the loop
                 * has nothing left, else fill on. */
                if (!wait_readable(t, filled > 0 ? due : 0) && filled > 0) {
                        if (loop_idle(t)) {
                                hand_over(t, b, (int) filled);
                                b = NULL;
                        } else
                                due = now_usec(CLOCK_MONOTONIC) + CNPROC_THREAD_HAND_OVER_USEC;
                }
        }
        return NULL;
}

static void thread_release(CnProcThread *t) {
        for (unsigned i = 0; i < CNPROC_THREAD_BATCHES; i++) {
                batch_clear(&t->batches[i]);
                nl_batch_free(t->batches[i].nl);
                free(t->batches[i].early);
        }
        pw_proc_reader_close(&t->reader);
        safe_close(t->wake_fd);
        safe_close(t->ready_fd);
        pthread_cond_destroy(&t->space);
        pthread_mutex_destroy(&t->lock);
        free(t);
}

int cnproc_thread_start(CnProcThread **ret, CnProc *c, size_t argv_max, uint64_t boot_minus_mono_ns) {
        CnProcThread *t;
        int r;

        t = calloc(1, sizeof(*t));
        if (!t)
                return -ENOMEM;
        t->sock_fd = cnproc_get_fd(c);
        t->ncpus = cnproc_get_ncpus(c);
        t->wake_fd = t->ready_fd = -EBADF;
        t->reader.proc_fd = -EBADF;
        pthread_mutex_init(&t->lock, NULL);
        pthread_cond_init(&t->space, NULL);
        atomic_init(&t->argv_max, argv_max);
        atomic_init(&t->boot_minus_mono_ns, boot_minus_mono_ns);

        for (unsigned i = 0; i < CNPROC_THREAD_BATCHES; i++) {
                r = cnproc_batch_new(&t->batches[i].nl);
                if (r < 0)
                        goto fail;
                t->batches[i].early = calloc(CNPROC_THREAD_EARLY_MAX, sizeof(EarlyRead));
                if (!t->batches[i].early) {
                        r = -ENOMEM;
                        goto fail;
                }
        }
        r = pw_proc_reader_open(&t->reader, NULL);
        if (r < 0)
                goto fail;
        r = pw_proc_reader_set_argv_max(&t->reader, argv_max);
        if (r < 0)
                goto fail;
        t->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        t->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (t->wake_fd < 0 || t->ready_fd < 0) {
                r = negative_errno();
                goto fail;
        }
        r = -pthread_create(&t->thread, NULL, run, t);
        if (r < 0)
                goto fail;
        t->started = true;
        *ret = t;
        return 0;
fail:
        thread_release(t);
        return r;
}

void cnproc_thread_stop(CnProcThread *t) {
        uint64_t one = 1;

        if (!t || !t->started || t->stopped)
                return;
        t->stopped = true;

        pthread_mutex_lock(&t->lock);
        atomic_store(&t->stop, true);
        pthread_cond_broadcast(&t->space);
        pthread_mutex_unlock(&t->lock);
        (void) !write(t->wake_fd, &one, sizeof(one));

        /* Left behind, what the thread uses stays allocated. */
        if (!thread_join_or_leave(t->thread, CNPROC_THREAD_JOIN_USEC, "The receive thread", &t->read_pid))
                t->abandoned = true;
}

CnProcThread *cnproc_thread_free(CnProcThread *t) {
        if (!t)
                return NULL;
        cnproc_thread_stop(t);
        if (t->abandoned) {
                abandoned_thread = t;
                return NULL;
        }
        thread_release(t);
        return NULL;
}

int cnproc_thread_get_fd(const CnProcThread *t) {
        return t->ready_fd;
}

static CnProcBatch *peek(CnProcThread *t) {
        CnProcBatch *b = NULL;

        pthread_mutex_lock(&t->lock);
        if (t->n_ready > 0)
                b = &t->batches[t->head];
        pthread_mutex_unlock(&t->lock);
        return b;
}

CnProcBatch *cnproc_thread_next(CnProcThread *t) {
        CnProcBatch *b = peek(t);
        uint64_t v;

        if (b)
                return b;
        /* Cleared before looking again: a batch handed over meanwhile is found now or wakes us. */
        (void) !read(t->ready_fd, &v, sizeof(v));
        return peek(t);
}

void cnproc_thread_done(CnProcThread *t, CnProcBatch *b) {
        batch_clear(b);
        pthread_mutex_lock(&t->lock);
        t->head = (t->head + 1) % CNPROC_THREAD_BATCHES;
        t->n_ready--;
        pthread_cond_signal(&t->space);
        pthread_mutex_unlock(&t->lock);
}

void cnproc_thread_set_argv_max(CnProcThread *t, size_t argv_max) {
        if (t)
                atomic_store(&t->argv_max, argv_max);
}

void cnproc_thread_set_clock(CnProcThread *t, uint64_t boot_minus_mono_ns) {
        if (t)
                atomic_store(&t->boot_minus_mono_ns, boot_minus_mono_ns);
}

void cnproc_thread_get_stats(CnProcThread *t, CnProcThreadStats *ret) {
        uint64_t start;

        *ret = (CnProcThreadStats){};
        if (!t)
                return;
        ret->reads = atomic_load(&t->reads);
        ret->slow_reads = atomic_load(&t->slow_reads);
        start = atomic_load(&t->read_start_usec);
        if (start != 0) {
                usec_t now = now_usec(CLOCK_MONOTONIC);

                if (now > start + CNPROC_THREAD_SLOW_USEC)
                        ret->stalled_usec = now - start;
        }
}
