/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The proc connector's receive thread: the one place where the daemon reads a command line.
 *
 * A read of /proc/PID/cmdline takes the target's mmap_lock and waits as long as anyone holds it (a
 * page of a hung FUSE or NFS file being faulted in through /proc/PID/mem, say, with a writer queued
 * behind): seconds, or for ever. On the event loop that wait would stop everything, the watchdog
 * included. So a thread of its own receives the connector's datagrams (recvmmsg() into one of
 * CNPROC_THREAD_BATCHES batches), reads the image of every EXEC it finds there at once (cmdline and
 * exe, then stat, which vouches for them: what vanishes when a short process exits, read as soon as
 * the event is decoded; then the owner of its files and its cgroup), and hands the batch with those
 * reads to the loop through a bounded queue signalled by an eventfd, at most once per
 * CNPROC_THREAD_HAND_OVER_USEC. The loop does everything else, in order, as before: decoding,
 * sequence and loss accounting, the tree, the journal, subscribers (cnproc_dispatch()).
 *
 * A stuck read stalls only this thread. The loop keeps serving and pinging the watchdog; events wait
 * in the socket's receive buffer, and if it overflows the loss is counted as any other (ENOBUFS,
 * sequence gaps), never silent. When every batch is in use the thread stops receiving and the
 * receive buffer takes the backlog, as it did when the loop received.
 *
 * Each exec's read is the only one it gets (CNPROC_THREAD_EXEC_READ): one /proc/PID fd, opened and
 * closed on the thread, every file read once; the loop reads nothing more for it. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "cnproc.h"
#include "macro.h"
#include "procfs.h"

/* Batches between the thread and the loop: each holds up to 128 datagrams and the reads of their
 * EXECs. */
#define CNPROC_THREAD_BATCHES 16
/* EXECs of one batch whose image the thread reads; a batch holds 128 datagrams of normally one event
 * each, so this is every EXEC. Those beyond are read by the loop when applied. */
#define CNPROC_THREAD_EARLY_MAX 256
/* What the thread reads of each exec: all the loop takes from /proc for it, and nothing the events
 * tell. Not status: the real and effective ids come with the events (UID and GID, a set-id exec's
 * included), an exec makes the saved ones the effective ones, and the owner of status says whether
 * it is dumpable (pipeline.c). Not the task list: after an exec the process has one thread, and the
 * events tell of any it makes later. */
#define CNPROC_THREAD_EXEC_READ (PW_READ_STAT | PW_READ_CMDLINE | PW_READ_EXE | PW_READ_OWNER | PW_READ_CGROUP)
/* fds a read holds at once: /proc/PID and one file in it. */
#define CNPROC_THREAD_READ_FDS 2U
/* A read that takes longer than this counts as slow in the statistics, and a read in progress for
 * longer as a stall. */
#define CNPROC_THREAD_SLOW_USEC (100U * 1000U)
/* The loop is woken at most once per this long: a batch goes to an idle loop at once when the last
 * went at least this long ago, else when this long has passed since the last (or it is full). An
 * event on an idle machine goes at once; in a storm the loop wakes once for many events instead of
 * once for each (the EXECs' images are read at once all the same). While the loop is busy the batch
 * fills on for as long again. */
#define CNPROC_THREAD_HAND_OVER_USEC 2000U
/* No EXEC for this long, the thread naps this long after each receive, so that a storm of other
 * events wakes it once for several datagrams; an EXEC ends the naps. */
#define CNPROC_THREAD_QUIET_USEC (10U * 1000U)
#define CNPROC_THREAD_LINGER_USEC 200U
/* How long stopping waits for the thread; one stuck in a read is left behind (the process exits). */
#define CNPROC_THREAD_JOIN_USEC (250U * 1000U)

typedef struct CnProcThread CnProcThread;

/* An exec's image, read by the thread as soon as its batch arrived. */
typedef struct EarlyRead {
        pid_t pid;
        int r;            /* the read's result */
        PwProcInfo info;  /* CNPROC_THREAD_EXEC_READ; info.start_boot_ns names the process read */
} EarlyRead;

/* A batch handed to the loop. */
typedef struct CnProcBatch {
        NlBatch *nl;
        int n;            /* what nl_batch_recv() returned: datagrams, or a negative errno */
        EarlyRead *early; /* the EXECs' reads, in the order of their datagrams */
        size_t n_early;
} CnProcBatch;

typedef struct CnProcThreadStats {
        uint64_t reads;         /* images read */
        uint64_t slow_reads;    /* of which took longer than CNPROC_THREAD_SLOW_USEC */
        uint64_t stalled_usec;  /* how long the read in progress has taken, when beyond
                                 * CNPROC_THREAD_SLOW_USEC; else 0 */
} CnProcThreadStats;

/* Starts the thread on c's socket (subscribed already: the loop no longer reads it). argv_max: the
 * command line kept per process; boot_minus_mono_ns: the clock offset of the loop's reader. The
 * thread opens /proc itself. */
int cnproc_thread_start(CnProcThread **ret, CnProc *c, size_t argv_max, uint64_t boot_minus_mono_ns);
/* Wakes the thread and waits for it (at most CNPROC_THREAD_JOIN_USEC); one stuck in a read is left
 * behind, with what it uses. Idempotent. */
void cnproc_thread_stop(CnProcThread *t);
/* Stops, then frees what the thread left behind if it ended. Accepts NULL. */
CnProcThread *cnproc_thread_free(CnProcThread *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(CnProcThread *, cnproc_thread_free);

/* The eventfd that is readable when batches are waiting. */
int cnproc_thread_get_fd(const CnProcThread *t);
/* The oldest batch waiting, or NULL; clears the eventfd when there is none. The loop owns it until
 * cnproc_thread_done(). */
CnProcBatch *cnproc_thread_next(CnProcThread *t);
/* Gives a batch back: frees what its reads hold. */
void cnproc_thread_done(CnProcThread *t, CnProcBatch *b);

/* A reload's argv_max, and the loop's resampled clock offset: the thread takes them at its next read. */
void cnproc_thread_set_argv_max(CnProcThread *t, size_t argv_max);
void cnproc_thread_set_clock(CnProcThread *t, uint64_t boot_minus_mono_ns);
void cnproc_thread_get_stats(CnProcThread *t, CnProcThreadStats *ret);
