/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Manager owns everything the daemon runs: the sd-event loop, the proc-connector socket and the
 * figures reported through sd_notify. main() builds one, runs it and returns its exit code. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <systemd/sd-event.h>

#include "cnproc.h"
#include "cnproc-thread.h"
#include "daemon-config.h"
#include "journal-filter.h"
#include "journal.h"
#include "pipeline.h"
#include "proc-worker.h"
#include "procfs.h"
#include "resmon.h"
#include "proctree.h"
#include "server.h"
#include "time-util.h"

/* How often STATUS= is refreshed and loss is summarised in the log. */
#define MANAGER_STATUS_INTERVAL_USEC (1 * USEC_PER_SEC)
/* recvmmsg() batches per wake-up before the loop gets a turn for signals, timers and clients. */
#define MANAGER_READ_BATCHES 32
/* An event's journal entry waits at most this long for the writer to be woken (sooner when
 * JOURNAL_WAKE_BATCH entries are queued): one wake-up for many entries. */
#define MANAGER_JOURNAL_KICK_USEC (10 * USEC_PER_MSEC)
/* The safety-net reconciliation with /proc, when no loss asked for one sooner. */
#define MANAGER_RECONCILE_INTERVAL_USEC_DEFAULT (60 * USEC_PER_SEC)
/* Events held while /proc is scanned (start-up, repair), about 64 bytes each: a storm of 100k
 * events/s can run for 10 s of scanning before the excess is counted as lost and repaired again. */
#define MANAGER_QUEUE_MAX (1024U * 1024U)
/* Loss-triggered repairs are at least this far apart. */
#define MANAGER_REPAIR_MIN_INTERVAL_USEC (1 * USEC_PER_SEC)
/* Budgets that bit are reported at most this often, for at most this many uids at a time (the
 * others in one line). */
#define MANAGER_BUDGET_REPORT_INTERVAL_USEC (10 * USEC_PER_SEC)
#define MANAGER_BUDGET_REPORT_UIDS 5
/* The receive thread's /proc reads (CNPROC_THREAD_READ_FDS at a time) and the loop's own come out of
 * VARLINK_SERVER_FD_RESERVE, with the sockets: clients holding every other descriptor must not make a
 * new exec's read fail with EMFILE. */
_Static_assert(CNPROC_THREAD_READ_FDS + 24 <= VARLINK_SERVER_FD_RESERVE, "exec reads and the daemon's own fds fit the reserve");
/* Exec images read by the receive thread kept for the events held during a scan; EXECs beyond are
 * read when applied. */
#define MANAGER_HELD_READS_MAX 4096
/* /proc entries read between two drains of the socket during a scan. */
#define MANAGER_SCAN_DRAIN_EVERY 64
/* READY=1 waits for the images the start-up scan ordered from the /proc worker, at most this long: a
 * process whose image cannot be read (its mmap_lock held) must not keep the daemon from starting. */
#define MANAGER_READY_IMAGES_USEC (2 * USEC_PER_SEC)

typedef struct ManagerOptions {
        uint32_t rcvbuf;
        FILE *print_events; /* when set, every event goes there, one line each (event-print.h) */
        bool print_events_raw; /* the decoder's line of every message, not the human line */
        ProcTreeLimits limits;
        size_t argv_max;
        usec_t reconcile_interval_usec; /* 0: only after loss */
        const char *socket_path;        /* the control socket; NULL: the default, best effort */
        const PwJournalFilter *journal; /* what to forward to the journal (borrowed); NULL: nothing */
        /* argv privacy (--journal-argv, --journal-redact) for control-socket callers other than root
         * and the process's owner (borrowed; a reload points it at the new configuration's filter);
         * NULL: argv in full */
        const PwJournalFilter *argv_privacy;
        ResMonOptions taskstats;        /* resource use at exit (--no-taskstats, [Ingest] Taskstats=) */
        /* The configuration the above came from (manager_options_from_config): ownership of config
         * and config_files passes to the Manager, which re-reads config_root (NULL: "/") and applies
         * config_layer (the command line, borrowed) over it at each reload. All NULL: no reload. */
        PwConfig *config;
        char **config_files;
        const char *config_root;
        const PwConfigLayer *config_layer;
} ManagerOptions;

typedef struct Manager {
        ManagerOptions opts;
        sd_event *event;
        sd_event_source *cnproc_source;  /* the socket until start-up is done, then the thread's batches */
        sd_event_source *status_timer;
        sd_event_source *reconcile_timer;
        sd_event_source *journal_kick_source; /* a one-shot timer: wakes the journal writer */
        bool journal_kick_armed;
        CnProc *cnproc;
        CnProcThread *cnproc_thread;    /* receives and reads exec images once started */
        ProcTree *tree;
        Pipeline *pipeline;             /* apply, enrich, fan out: every event */
        Server *server;                 /* the control socket */
        Journal *journal;               /* the journal writer; NULL with --no-journal */
        ResMon *resmon;                 /* taskstats: what exited processes cost */
        PwProcReader reader;            /* the loop's reads: only what cannot block (proc-worker.h) */
        ProcWorker *worker;             /* reads images off the loop: placeholders, what scans find */
        sd_event_source *worker_source;
        uint64_t images_ordered_seq;    /* the last image order posted */
        uint64_t images_applied_seq;    /* the last result taken back */
        uint64_t ready_seq;             /* READY=1 once the result of this order is back (0: now) */
        sd_event_source *ready_timer;   /* ... or once this fires (MANAGER_READY_IMAGES_USEC) */
        bool ready_sent;

        /* While scanning /proc, events are held here and applied after the snapshot. */
        bool queueing;
        PwEvent *queue;
        size_t n_queue, alloc_queue;
        uint64_t queue_overflow;

        bool repair_pending;            /* loss seen: reconcile once the socket is drained */
        uint64_t reconciliations;
        usec_t last_reconcile_usec;
        CnProcBatch *batch;             /* the thread's batch being dispatched: its exec reads */
        size_t early_next;              /* the next of them to be applied (events keep order) */
        EarlyRead *held;                /* reads of the EXECs held while /proc is scanned */
        size_t n_held, alloc_held, held_next;
        bool stopping;
        bool no_events;  /* start-up failed because the kernel gives us no events */

        /* Loss seen since the last summary. */
        uint64_t pending_lost;
        uint64_t pending_enobufs;
        uint64_t pending_drops;
        uint64_t loss_incidents;
        usec_t last_budget_report_usec;

        /* For events/s in STATUS=. */
        uint64_t rate_events;
        usec_t rate_usec;
        double events_per_sec;

        /* Reloads (manager-config.c): the settings in force, and what changed in the files that
         * only a restart applies. */
        PwConfig *config;
        char **config_files;
        bool restart_needed[_PW_CONFIG_KEY_MAX];
        uint64_t reloads, reloads_failed;
} Manager;

int manager_new(Manager **ret, const ManagerOptions *opts);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Subscribes to the kernel; a failure here is logged with its cause. */
int manager_startup(Manager *m);
/* Runs until SIGTERM or SIGINT; returns the loop's exit code (0 on a clean stop). SIGHUP reloads. */
int manager_run(Manager *m);

/* Changes the safety-net reconciliation interval of a running Manager (0: only after loss). */
int manager_set_reconcile_interval(Manager *m, usec_t interval);

/* manager-config.c: the configuration. */
/* Fills the options from c; config and config_files are then to be passed in them too. */
void manager_options_from_config(ManagerOptions *o, PwConfig *c);
/* Re-reads the configuration and applies it: everything or nothing. Sends RELOADING=1 and READY=1.
 * Returns 0 with *ret (may be NULL) {"changed": [keys], "restart_needed": [keys]}, or a negative
 * errno with *ret {"errors": ["file:line: reason", ...]}; errors are logged here. */
int manager_reload(Manager *m, json_t **ret);
/* The effective configuration for io.procwatch.GetConfig. */
json_t *manager_config_json(Manager *m);

