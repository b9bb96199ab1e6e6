/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The /proc worker: the reads the loop must not make itself.
 *
 * A read of /proc/PID/cmdline takes the target's mmap_lock and waits as long as anyone holds it
 * (cnproc-thread.h says how a user makes that last for ever). The receive thread reads each EXEC's
 * image as its event arrives; every other image the daemon needs comes from here: a process that
 * events named before the daemon knew it (a placeholder), and every process a scan of /proc finds
 * new (the start-up scan, the reconciliation after a loss, the periodic one). The loop reads what
 * cannot block itself (stat, status, cgroup, the task list: none of them takes the mmap_lock) and
 * posts an order for the image: pid, the start time it read, the record's exec count. The thread
 * reads the image through a /proc/PID fd whose start time it checks (procfs.h) and hands the result
 * back through an eventfd; the loop applies it (proc_worker_apply()) only to the live record of the
 * same process (pid and start time) that has not exec'ed since, so a reused pid never merges and a
 * newer image is never overwritten by an older one.
 *
 * Bounded both ways: at most PROC_WORKER_QUEUE_MAX orders wait, and a full queue refuses the order
 * (counted; the record keeps "image unknown", the event that asked is applied as always); at most
 * PROC_WORKER_RESULTS_MAX results wait for the loop, and the thread waits for room beyond. A stuck
 * read stalls only this queue: the loop keeps serving and pinging the watchdog, and Stats says how
 * long the read has waited. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "macro.h"
#include "procfs.h"
#include "proctree.h"

/* Orders waiting: the images of a start-up scan of a large machine, with room to spare. */
#define PROC_WORKER_QUEUE_MAX (64U * 1024U)
/* Results read and not yet taken by the loop (each may hold an argv of up to argv_max bytes). */
#define PROC_WORKER_RESULTS_MAX 256U
/* A read that takes longer than this counts as slow, and one in progress for longer as a stall. */
#define PROC_WORKER_SLOW_USEC (100U * 1000U)
/* How long stopping waits for the thread; one stuck in a read is left behind (the process exits). */
#define PROC_WORKER_JOIN_USEC (250U * 1000U)

typedef struct ProcWorker ProcWorker;

typedef struct ProcReadOrder {
        pid_t pid;
        uint64_t start_boot_ns;  /* the start time the loop read (never 0): another process fails */
        unsigned n_execs;        /* the record's exec count when ordered: stale once it changed */
        PwReadFlags flags;       /* what to read (stat is always read, for the identity check) */
        uint64_t seq;            /* set by proc_worker_post(): 1, 2, ... in the order posted */
} ProcReadOrder;

typedef struct ProcReadResult {
        ProcReadOrder order;
        int r;                   /* the read's result: -ESRCH when gone or another process */
        PwProcInfo info;         /* owned: pw_proc_info_done() */
} ProcReadResult;

typedef struct ProcWorkerStats {
        uint64_t posted;         /* orders taken */
        uint64_t dropped;        /* orders refused: the queue was full */
        uint64_t reads;          /* reads made */
        uint64_t slow_reads;     /* of which took longer than PROC_WORKER_SLOW_USEC */
        uint64_t stalled_usec;   /* how long the read in progress has taken, when beyond
                                  * PROC_WORKER_SLOW_USEC; else 0 */
        unsigned queued;         /* orders and results not yet taken by the loop, now */
} ProcWorkerStats;

/* Starts the thread on the proc root (NULL: "/proc"; tests pass a fake one). argv_max: the command
 * line kept per process. */
int proc_worker_start(ProcWorker **ret, const char *proc_root, size_t argv_max);
/* Wakes the thread and waits for it (at most PROC_WORKER_JOIN_USEC); one stuck in a read is left
 * behind, with what it uses. Idempotent; accepts NULL. */
void proc_worker_stop(ProcWorker *w);
/* Stops, then frees what the thread left behind if it ended. Accepts NULL. */
ProcWorker *proc_worker_free(ProcWorker *w);
DEFINE_TRIVIAL_CLEANUP_FUNC(ProcWorker *, proc_worker_free);

/* The eventfd that is readable when results are waiting. */
int proc_worker_get_fd(const ProcWorker *w);
/* Queues an order (copied; its seq is set, and also in *ret_seq when not NULL). Never blocks.
 * Returns 0, -EAGAIN when the queue is full or the worker stopped (counted as dropped), -ENOMEM. */
int proc_worker_post(ProcWorker *w, const ProcReadOrder *order, uint64_t *ret_seq);
/* Moves the oldest result into *ret (the caller frees ret->info) and returns true; false when none
 * is waiting (the eventfd is cleared then). */
bool proc_worker_take(ProcWorker *w, ProcReadResult *ret);
/* A reload's argv_max: the thread takes it at its next read. */
void proc_worker_set_argv_max(ProcWorker *w, size_t argv_max);
/* Zeroes *ret for NULL. */
void proc_worker_get_stats(ProcWorker *w, ProcWorkerStats *ret);

/* Applies a result to the tree (pure): its image goes to the live record of the same process (pid
 * and start time) if that has not exec'ed since it was ordered; a failed read marks that record's
 * image unknown. Returns 0 when applied, -ESRCH when the record is gone, another process or
 * exec'ed since (nothing changed), or the read's error. */
int proc_worker_apply(ProcTree *t, const ProcReadResult *res, uint64_t hz);
