/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one way every event goes through the daemon, whatever its kind:
 *
 *   1. apply:    proctree_apply() changes the tree and returns its work orders (PwApplyResult);
 *   2. enrich:   the orders are carried out against /proc: the image of processes that exec'ed or
 *                that events named before we knew them (of those, only what cannot block is read
 *                here, the image is ordered from the /proc worker: read_image), the new parent of
 *                orphans;
 *   3. fan out:  an ended process may be held for its taskstats record (hold_exit; forwarded later
 *                through pipeline_fan_out()); anything else goes to the live subscribers, then to
 *                the journal.
 *
 * The event's record is valid through all three: the tree pins it until the next proctree_apply()
 * (proctree.h), so the /proc reads of step 2, which charge strings and may evict for room, cannot
 * free what step 3 forwards. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "cnproc-parse.h"
#include "macro.h"
#include "procfs.h"
#include "proctree.h"

typedef struct PipelineCallbacks {
        /* The image of pid read as its EXEC was decoded (before the process could exit), if one was:
         * returns true and moves the read (CNPROC_THREAD_EXEC_READ: stat, cmdline, exe, the owner of
         * status and cgroup) into *info and its result into *ret_r. NULL: reads happen when the event
         * is applied. */
        bool (*take_early_read)(pid_t pid, PwProcInfo *info, int *ret_r, void *userdata);
        /* Orders the image (exe, argv) of the live process pid read off the loop (proc-worker.h), for
         * a placeholder, or an exec that had no early read, whose stat, status and cgroup were just
         * read: start_boot_ns and n_execs name the record it is for. NULL: it is read at once, with
         * the rest. */
        void (*read_image)(pid_t pid, uint64_t start_boot_ns, unsigned n_execs, void *userdata);
        /* An event that ended its process: true when it is held to wait for the cost of the process
         * (then forwarded later with pipeline_fan_out()). NULL: never held. */
        bool (*hold_exit)(const PwEvent *ev, PwProcess *p, void *userdata);
        /* The fan-out, subscribers first: each applied event, with its record valid during the call.
         * NULL: not wanted. */
        void (*subscribers)(const PwEvent *ev, const PwApplyResult *res, void *userdata);
        void (*journal)(const PwEvent *ev, const PwApplyResult *res, void *userdata);
} PipelineCallbacks;

typedef struct PipelineStats {
        uint64_t events;           /* events put through */
        uint64_t apply_failed;     /* out of memory applying an event (logged, carried on) */
        uint64_t enriched;         /* images read for the tree */
        uint64_t enrich_failed;    /* exec'ed processes gone before /proc could be read */
        uint64_t reparented;       /* orphans whose new parent /proc gave */
        uint64_t held;             /* exits handed to hold_exit that it held */
} PipelineStats;

typedef struct Pipeline Pipeline;

/* tree and reader are borrowed and must outlive the pipeline; cb is borrowed too. */
int pipeline_new(Pipeline **ret, ProcTree *tree, PwProcReader *reader, const PipelineCallbacks *cb, void *userdata);
Pipeline *pipeline_free(Pipeline *pl);
DEFINE_TRIVIAL_CLEANUP_FUNC(Pipeline *, pipeline_free);

/* Applies, enriches and fans out one event (not an ack). Never fails: a failure to apply is logged
 * and counted, and the event is then not fanned out. */
void pipeline_event(Pipeline *pl, const PwEvent *ev);
/* Step 3 without the hold: for the exits hold_exit held, once their wait is over. */
void pipeline_fan_out(Pipeline *pl, const PwEvent *ev, const PwApplyResult *res);

const PipelineStats *pipeline_get_stats(const Pipeline *pl);
