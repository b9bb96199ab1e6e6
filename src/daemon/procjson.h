/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Process records and daemon figures as the JSON objects of the io.procwatch interface. Pure: no
 * I/O, no clock reads; the caller passes the clock offset and "now" in.
 *
 * Every string taken from a process (comm, exe, argv words, cgroup, unit) may hold any bytes; bytes
 * that are not well-formed UTF-8, and NUL bytes, go out as U+FFFD (json_string_sanitized()). */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "access-policy.h"
#include "json-writer.h"
#include "cnproc.h"
#include "proctree.h"
#include "resmon.h"
#include "time-util.h"

typedef struct ProcJsonContext {
        /* CLOCK_REALTIME - CLOCK_MONOTONIC in ns, sampled when the reply is built: wall time of a
         * monotonic timestamp is timestamp + offset. */
        int64_t realtime_offset_ns;
        /* CLOCK_MONOTONIC now, for the duration of processes still alive. */
        uint64_t now_ns;
        /* "children" lists only live children (a tree without exited processes). */
        bool children_alive_only;
        /* Whom the record is for (access-policy.h): exe, argv and relatives as the policy lets
         * caller see them. policy NULL: everything (the daemon's own use, tests). */
        const PwAccessPolicy *policy;
        const PwCaller *caller;
} ProcJsonContext;

/* The Process object of io.procwatch.varlink, as ctx->caller may see it, written to w as one value
 * (after a comma when w needs one): the one code path for every record the daemon sends (Show,
 * List, Tree, Events). Returns 0, -ENOMEM (w is failed then), or -EACCES when the caller may not
 * see p at all (check pw_access_visible() first; nothing is written then). */
int procjson_write_process(JsonWriter *w, const PwProcess *p, const ProcJsonContext *ctx);

/* The same record as a jansson object (parsed from procjson_write_process()'s text), for callers
 * that want to look into it. Returns as procjson_write_process(). */
int procjson_process(const PwProcess *p, const ProcJsonContext *ctx, json_t **ret);

/* Sorts v (n records) by start time and pid, oldest first or newest first: the order of children in
 * a record and in a Tree reply. The tree keeps a process's children newest first (each new one goes
 * to the front), so that order and its reverse are looked for in one pass before any sort: the
 * 30,000 children of one process cost no qsort() per reply. */
void procjson_sort_by_start(PwProcess **v, size_t n, bool newest_first);

/* "alive", "exited" or "displaced" (its pid was reused before its EXIT came). */
const char *procjson_state(const PwProcess *p);

/* Everything Stats reports, gathered by whoever owns it. Pointers may be NULL when that part does
 * not exist (no proc-connector socket, no tree). */
typedef struct PwDaemonStats {
        const CnProcStats *cnproc;
        uint64_t lost;                /* by per-CPU sequence gaps */
        uint64_t seq_gaps;
        uint64_t loss_incidents;
        uint64_t reconciliations;
        uint64_t queue_overflow;
        uint64_t enrich_failed;
        uint64_t proc_reads_slow;     /* exec image reads that took over 100 ms */
        uint64_t proc_read_stalled_usec; /* the read in progress, when over 100 ms */
        uint64_t proc_reads_queued;   /* image reads ordered from the /proc worker, not yet back */
        uint64_t proc_reads_dropped;  /* image reads not ordered: the worker's queue was full */
        uint32_t rcvbuf;
        double events_per_sec;
        const ProcTree *tree;
        unsigned clients;             /* connections now */
        uint64_t clients_total;       /* connections accepted since start */
        uint64_t clients_refused;     /* closed at once: too many */
        uint64_t clients_dropped;     /* closed by the daemon: oversized request, stalled, errors */
        uint64_t requests;
        unsigned subscribers;         /* Events streams now */
        uint64_t events_published;    /* events offered to subscribers since start */
        uint64_t events_missed;       /* events a subscriber did not get (its buffer full), summed */
        uint64_t subtree_steps;       /* ancestors followed for subtree filters: at most one walk per event */
        ResMonFigures taskstats;      /* resource use at exit (resmon.h) */
        bool journal; uint64_t journal_offered, journal_forwarded, journal_dropped_queue_full, journal_dropped_unavailable, journal_dropped_shutdown;
} PwDaemonStats;

/* Stats lists at most this many uids whose budget bit (budget_uids), most bitten first. */
#define PROCJSON_BUDGET_UIDS_MAX 16

/* The parameters of the Stats reply. Returns 0 or -ENOMEM. */
int procjson_stats(const PwDaemonStats *s, json_t **ret);

/* The context for a reply built now for caller: the clocks sampled (the edge; procjson.c itself
 * reads none), the record as the policy lets caller see it. */
static inline void procjson_context_now(ProcJsonContext *ctx, const PwAccessPolicy *policy, const PwCaller *caller) {
        ctx->now_ns = now_nsec(CLOCK_MONOTONIC);
        ctx->realtime_offset_ns = (int64_t) now_nsec(CLOCK_REALTIME) - (int64_t) ctx->now_ns;
        ctx->policy = policy;
        ctx->caller = caller;
}
