/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The journal writer: a bounded queue of ready-built entries and one thread that sends them with
 * journald's native protocol. The design is set out at the top of journal.c. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "journal-entry.h"
#include "macro.h"
#include "time-util.h"

/* Entries and bytes waiting for the writer; beyond either, new entries are dropped and counted. */
#define JOURNAL_QUEUE_MAX_ENTRIES 16384U
#define JOURNAL_QUEUE_MAX_BYTES (32U * 1024U * 1024U)
/* While journald is absent or refuses entries, it is tried again this often (entries in between
 * are counted as not forwarded). */
#define JOURNAL_RETRY_USEC (500 * USEC_PER_MSEC)
/* Entries queued with journal_submit_deferred() that wake the writer without waiting for
 * journal_kick(). */
#define JOURNAL_WAKE_BATCH 64U
/* Entries built and sent with one sendmmsg(). */
#define JOURNAL_SEND_BATCH 64U
/* Snapshot blocks of this size go back to the loop through a free list once sent (a larger one, a
 * long command line, is malloc'ed and freed); at most JOURNAL_POOL_MAX of them wait on each side. */
#define JOURNAL_POOL_BLOCK 2048U
#define JOURNAL_POOL_MAX 256U
/* At shutdown the writer gets this long to send what is queued; the rest is counted. */
#define JOURNAL_FLUSH_USEC (300 * USEC_PER_MSEC)
/* journald's native socket (where libsystemd sends too). */
#define JOURNAL_SOCKET_PATH "/run/systemd/journal/socket"

typedef enum JournalDropReason {
        JOURNAL_DROP_QUEUE_FULL,   /* journald too slow or stopped: the queue was full */
        JOURNAL_DROP_UNAVAILABLE,  /* no socket, or journald dead (-ECONNREFUSED), or another error */
        JOURNAL_DROP_SHUTDOWN,     /* still queued when the flush deadline passed */
        _JOURNAL_DROP_MAX,
} JournalDropReason;

typedef struct JournalStats {
        uint64_t offered;          /* entries handed to journal_submit() */
        uint64_t forwarded;        /* taken by journald */
        uint64_t dropped[_JOURNAL_DROP_MAX];
        uint64_t summaries;        /* "N entries not forwarded" entries written */
        size_t queued;
        pid_t writer_tid;
} JournalStats;

typedef struct Journal Journal;

/* Starts the writer thread. socket_path NULL: JOURNAL_SOCKET_PATH; another path is for tests (an
 * entry too large for a datagram then fails rather than going to the host's journald). */
int journal_new(Journal **ret, const char *socket_path);
/* Flushes for at most JOURNAL_FLUSH_USEC, stops the thread and frees everything. When the writer is
 * still blocked on journald at the deadline, what is left is counted as dropped (and logged) and the
 * thread and j are left to the process's exit: call this only on the way out. Accepts NULL. */
Journal *journal_free(Journal *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(Journal *, journal_free);

/* Queues e (takes ownership, also on failure): a ready-built entry, or an event's snapshot
 * (pw_journal_snapshot_new()) that the writer builds. Never blocks: when the queue is full, e is freed
 * and counted. Returns 0, or -ENOBUFS when dropped. journal_submit() wakes the writer;
 * journal_submit_deferred() only when JOURNAL_WAKE_BATCH entries wait: the caller then calls
 * journal_kick() once it has queued what it had (the event loop: at most MANAGER_JOURNAL_KICK_USEC
 * after the first entry it queued since the last kick). */
int journal_submit(Journal *j, PwJournalEntry *e);
int journal_submit_deferred(Journal *j, PwJournalEntry *e);
/* An event, as applied (res, and p its record), queued as journal_submit_deferred() queues: its
 * snapshot (pw_journal_snapshot_init()) taken into a block the writer has sent before, when there is
 * one. Returns 0, -ENOBUFS (dropped, counted), -EINVAL (no record: not counted) or -ENOMEM. The
 * submit functions are called from one thread (the event loop). */
int journal_submit_event(Journal *j, const PwEvent *ev, const PwApplyResult *res, const PwProcess *p,
                         const PwJournalContext *ctx);
/* Wakes the writer if entries wait for it. Accepts NULL. */
void journal_kick(Journal *j);

void journal_get_stats(Journal *j, JournalStats *ret);
uint64_t journal_stats_dropped(const JournalStats *s);
const char *journal_drop_reason_to_string(JournalDropReason r);
