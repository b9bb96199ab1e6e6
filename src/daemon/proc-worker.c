/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The /proc worker (proc-worker.h): a thread, a ring of orders, a ring of results.
 *
 * One mutex guards both rings and the counts; the thread copies an order out and reads without
 * holding it, so the loop never waits for a read, only for the few instructions of a hand-over. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "proc-worker.h"
#include "thread-util.h"
#include "time-util.h"

struct ProcWorker {
        pthread_t thread;
        bool started, stopped, abandoned;
        pthread_mutex_t lock;
        pthread_cond_t wake;      /* the thread: an order came, a result was taken, or stop */
        bool stop;                /* under lock */
        int ready_fd;             /* eventfd: results are waiting */

        ProcReadOrder *orders;    /* a ring, grown up to PROC_WORKER_QUEUE_MAX */
        size_t orders_alloc, orders_head, n_orders;
        bool reading;             /* an order is out of the ring and being read */
        ProcReadResult results[PROC_WORKER_RESULTS_MAX];
        size_t results_head, n_results;
        uint64_t seq;

        PwProcReader reader;      /* the thread's own: its cmdline buffer is written by every read */
        atomic_size_t argv_max;

        uint64_t posted, dropped; /* under lock */
        atomic_uint_fast64_t reads, slow_reads;
        atomic_uint_fast64_t read_start_usec; /* of the read in progress; 0: none */
        atomic_int read_pid;
};

/* A thread left stuck in a read at exit keeps using what it has: kept reachable here, never freed. */
static ProcWorker *abandoned_worker;

static void read_one(ProcWorker *w, const ProcReadOrder *o, ProcReadResult *res) {
        size_t argv_max = atomic_load(&w->argv_max);
        usec_t start = now_usec(CLOCK_MONOTONIC), took;

        /* On failure (no memory for a larger buffer) the old size stays. */
        if (argv_max != w->reader.argv_max)
                (void) pw_proc_reader_set_argv_max(&w->reader, argv_max);
        atomic_store(&w->read_pid, (int) o->pid);
        atomic_store(&w->read_start_usec, start);
        *res = (ProcReadResult){ .order = *o };
        res->r = pw_proc_read(&w->reader, o->pid, o->start_boot_ns, o->flags | PW_READ_STAT, &res->info);
        took = now_usec(CLOCK_MONOTONIC) - start;
        atomic_store(&w->read_start_usec, 0);
        atomic_fetch_add(&w->reads, 1);
        if (took > PROC_WORKER_SLOW_USEC)
                atomic_fetch_add(&w->slow_reads, 1);
}

static void *run(void *userdata) {
        ProcWorker *w = userdata;

        pthread_mutex_lock(&w->lock);
        for (;;) {
                ProcReadOrder o;
                ProcReadResult res;
                uint64_t one = 1;

                if (w->stop)
                        break;
                /* Nothing to read, or the loop has not taken what was read: wait. */
                if (w->n_orders == 0 || w->n_results == PROC_WORKER_RESULTS_MAX) {
                        pthread_cond_wait(&w->wake, &w->lock);
                        continue;
                }
                o = w->orders[w->orders_head];
                w->orders_head = (w->orders_head + 1) % w->orders_alloc;
                w->n_orders--;
                w->reading = true;
                pthread_mutex_unlock(&w->lock);

                read_one(w, &o, &res);

                pthread_mutex_lock(&w->lock);
                w->reading = false;
                w->results[(w->results_head + w->n_results) % PROC_WORKER_RESULTS_MAX] = res;
                w->n_results++;
                (void) !write(w->ready_fd, &one, sizeof(one));
        }
        pthread_mutex_unlock(&w->lock);
        return NULL;
}

static void worker_release(ProcWorker *w) {
        for (size_t i = 0; i < w->n_results; i++)
                pw_proc_info_done(&w->results[(w->results_head + i) % PROC_WORKER_RESULTS_MAX].info);
        free(w->orders);
        pw_proc_reader_close(&w->reader);
        safe_close(w->ready_fd);
        pthread_cond_destroy(&w->wake);
        pthread_mutex_destroy(&w->lock);
        free(w);
}

int proc_worker_start(ProcWorker **ret, const char *proc_root, size_t argv_max) {
        ProcWorker *w;
        int r;

        w = calloc(1, sizeof(*w));
        if (!w)
                return -ENOMEM;
        w->ready_fd = -EBADF;
        w->reader.proc_fd = -EBADF;
        pthread_mutex_init(&w->lock, NULL);
        pthread_cond_init(&w->wake, NULL);
        atomic_init(&w->argv_max, argv_max);

        r = pw_proc_reader_open(&w->reader, proc_root);
        if (r >= 0)
                r = pw_proc_reader_set_argv_max(&w->reader, argv_max);
        if (r < 0)
                goto fail;
        w->ready_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (w->ready_fd < 0) {
                r = negative_errno();
                goto fail;
        }
        r = -pthread_create(&w->thread, NULL, run, w);
        if (r < 0)
                goto fail;
        w->started = true;
        *ret = w;
        return 0;
fail:
        worker_release(w);
        return r;
}

void proc_worker_stop(ProcWorker *w) {
        if (!w || !w->started || w->stopped)
                return;
        w->stopped = true;

        pthread_mutex_lock(&w->lock);
        w->stop = true;
        pthread_cond_broadcast(&w->wake);
        pthread_mutex_unlock(&w->lock);

        /* Left behind, what the thread uses stays allocated. */
        if (!thread_join_or_leave(w->thread, PROC_WORKER_JOIN_USEC, "The /proc worker", &w->read_pid))
                w->abandoned = true;
}

ProcWorker *proc_worker_free(ProcWorker *w) {
        if (!w)
                return NULL;
        proc_worker_stop(w);
        if (w->abandoned) {
                abandoned_worker = w;
                return NULL;
        }
        worker_release(w);
        return NULL;
}

int proc_worker_get_fd(const ProcWorker *w) {
        return w->ready_fd;
}

/* Doubles the ring, unwrapping it; under lock. */
static int orders_grow(ProcWorker *w) {
        size_t na = w->orders_alloc ? w->orders_alloc * 2 : 64;
        ProcReadOrder *n;

        if (na > PROC_WORKER_QUEUE_MAX)
                na = PROC_WORKER_QUEUE_MAX;
        n = calloc(na, sizeof(ProcReadOrder));
        if (!n)
                return -ENOMEM;
        for (size_t i = 0; i < w->n_orders; i++)
                n[i] = w->orders[(w->orders_head + i) % w->orders_alloc];
        free(w->orders);
        w->orders = n;
        w->orders_alloc = na;
        w->orders_head = 0;
        return 0;
}

int proc_worker_post(ProcWorker *w, const ProcReadOrder *order, uint64_t *ret_seq) {
        int r = 0;

        pthread_mutex_lock(&w->lock);
        if (w->stop || w->n_orders == PROC_WORKER_QUEUE_MAX) {
                w->dropped++;
                r = -EAGAIN;
                goto finish;
        }
        if (w->n_orders == w->orders_alloc) {
                r = orders_grow(w);
                if (r < 0) {
                        w->dropped++;
                        goto finish;
                }
        }
        w->orders[(w->orders_head + w->n_orders) % w->orders_alloc] = *order;
        w->orders[(w->orders_head + w->n_orders) % w->orders_alloc].seq = ++w->seq;
        w->n_orders++;
        w->posted++;
        if (ret_seq)
                *ret_seq = w->seq;
        pthread_cond_signal(&w->wake);
finish:
        pthread_mutex_unlock(&w->lock);
        return r;
}

static bool take_locked(ProcWorker *w, ProcReadResult *ret) {
        bool any;

        pthread_mutex_lock(&w->lock);
        any = w->n_results > 0;
        if (any) {
                *ret = w->results[w->results_head];
                w->results[w->results_head].info = (PwProcInfo){};
                w->results_head = (w->results_head + 1) % PROC_WORKER_RESULTS_MAX;
                w->n_results--;
                /* Room again for a thread that waited for it. */
                pthread_cond_signal(&w->wake);
        }
        pthread_mutex_unlock(&w->lock);
        return any;
}

bool proc_worker_take(ProcWorker *w, ProcReadResult *ret) {
        uint64_t v;

        if (take_locked(w, ret))
                return true;
        /* Cleared before looking again: a result handed over meanwhile is found now or wakes us. */
        (void) !read(w->ready_fd, &v, sizeof(v));
        return take_locked(w, ret);
}

void proc_worker_set_argv_max(ProcWorker *w, size_t argv_max) {
        if (w)
                atomic_store(&w->argv_max, argv_max);
}

void proc_worker_get_stats(ProcWorker *w, ProcWorkerStats *ret) {
        uint64_t start;

        *ret = (ProcWorkerStats){};
        if (!w)
                return;
        pthread_mutex_lock(&w->lock);
        ret->posted = w->posted;
        ret->dropped = w->dropped;
        ret->queued = (unsigned) (w->n_orders + w->n_results + (w->reading ? 1 : 0));
        pthread_mutex_unlock(&w->lock);
        ret->reads = atomic_load(&w->reads);
        ret->slow_reads = atomic_load(&w->slow_reads);
        start = atomic_load(&w->read_start_usec);
        if (start != 0) {
                usec_t now = now_usec(CLOCK_MONOTONIC);

                if (now > start + PROC_WORKER_SLOW_USEC)
                        ret->stalled_usec = now - start;
        }
}

int proc_worker_apply(ProcTree *t, const ProcReadResult *res, uint64_t hz) {
        const PwProcess *p = proctree_get_live(t, res->order.pid);

        if (res->r >= 0)
                return proctree_set_image(t, &res->info, res->order.n_execs, hz);
        /* Not read (gone, or its pid reused): the record of that very process, if still live, keeps
         * what it has and says its image is unknown. */
        if (p && p->source != PW_SOURCE_PLACEHOLDER && p->n_execs == res->order.n_execs &&
            pw_start_matches(p->start_boot_ns, res->order.start_boot_ns, hz))
                proctree_mark_unreadable(t, p->pid, p->start_boot_ns);
        return res->r;
}
