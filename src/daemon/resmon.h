/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's resource monitor: the taskstats socket as a second source on the sd-event loop, the
 * join of its records to the tree (resources.h), and the short hold of exit events until their
 * record is in.
 *
 * The hold. An exit's record is queued before its EXIT event but comes on another socket, so either
 * may be read first. When a process ends without its record, the socket is read once more; if the
 * record is still not there, the exit's journal entry and stream event wait at most
 * RESMON_WAIT_USEC_DEFAULT for it, then go out saying "resources unknown" (the process is "missing";
 * a record that comes later still joins). Holding costs no ingest: the tree has the exit at once.
 *
 * Wake-ups. Since each record is queued before its EXIT event, the exit's own read finds it; the
 * socket need not wake the loop for every record too (a fork storm would pay a third wake-up per
 * process, after FORK's and EXIT's). So the socket's source is rate-limited
 * (sd_event_source_set_ratelimit(): at most RESMON_IO_BURST dispatches per RESMON_IO_INTERVAL_USEC,
 * then it sleeps until that interval ends): alone, a record is read at once; in a storm, the exits
 * read them and the socket wakes the loop a few hundred times a second at most. The receive
 * buffer holds far more than one interval's records.
 *
 * Degradation. A kernel without taskstats, no CAP_NET_ADMIN, another user, pid or network namespace:
 * one log line saying which and that the feature is off; everything else runs as before. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <jansson.h>
#include <systemd/sd-event.h>

#include "cnproc-parse.h"
#include "proctree.h"
#include "resources.h"
#include "taskstats.h"
#include "time-util.h"

/* The longest an exit's journal entry and stream event wait for its record. */
#define RESMON_WAIT_USEC_DEFAULT (100 * USEC_PER_MSEC)
/* Exits held at most; beyond, the oldest goes out at once ("resources unknown"). Well below the
 * default retention count, so that a held exit's record is not evicted while it waits. */
#define RESMON_WAITING_MAX 8192U
/* The rate limit of the socket's own wake-ups (see above). */
#define RESMON_IO_INTERVAL_USEC (10 * USEC_PER_MSEC)
#define RESMON_IO_BURST 2U
/* Datagram batches read per wake-up. */
#define RESMON_READ_BATCHES 16

typedef struct ResMon ResMon;

typedef struct ResMonOptions {
        bool disabled;          /* --no-taskstats (or the configuration's key) */
        uint32_t rcvbuf;        /* 0: TASKSTATS_RCVBUF_DEFAULT */
        usec_t wait_usec;       /* 0: RESMON_WAIT_USEC_DEFAULT */
        const char *family;     /* NULL: "TASKSTATS" (tests name one that does not exist) */
} ResMonOptions;

/* Sends an exit whose wait is over (the record joined, or not) to the journal and the streams. */
typedef void (*ResMonForward)(const PwEvent *ev, const PwApplyResult *res, void *userdata);

/* Why the feature is off (or "on"). */
typedef enum ResMonState {
        RESMON_OFF_OPTION,
        RESMON_OFF_NO_KERNEL_SUPPORT,
        RESMON_OFF_PERMISSION,
        RESMON_OFF_NAMESPACE,
        RESMON_OFF_ERROR,
        RESMON_ON,
        _RESMON_STATE_MAX,
} ResMonState;

/* Figures for Stats and STATUS=. */
typedef struct ResMonFigures {
        ResMonState state;
        ResJoinStats join;
        TaskstatsStats socket;
        uint32_t rcvbuf;
        uint64_t waited;          /* exits that waited for their record */
        uint64_t forward_lost;    /* held exits whose record was evicted before it could go out */
} ResMonFigures;

int resmon_new(ResMon **ret, sd_event *e, ProcTree *tree, const ResMonOptions *opts, ResMonForward forward,
               void *userdata);
/* Deregisters and forwards what waits. Accepts NULL. */
ResMon *resmon_free(ResMon *r);
DEFINE_TRIVIAL_CLEANUP_FUNC(ResMon *, resmon_free);

/* Opens, registers and starts reading; on any failure logs one line and stays off. Returns 0 or
 * -ENOMEM. */
int resmon_start(ResMon *r);
bool resmon_enabled(const ResMon *r);
ResMonState resmon_state(const ResMon *r);
const char *resmon_state_to_string(ResMonState s);

/* p has just ended (ev is its exit). Returns true when the exit is held: the caller must not forward
 * it now (the forward callback will). False: forward it now (its record is joined, or the feature is
 * off). */
bool resmon_defer_exit(ResMon *r, const PwEvent *ev, PwProcess *p);

/* Once a second: socket drops, the realtime offset, held records that found no process. */
void resmon_tick(ResMon *r);

/* Reads what is queued, forwards every held exit and deregisters: for every way out. Idempotent. */
void resmon_stop(ResMon *r);

void resmon_figures(const ResMon *r, ResMonFigures *ret);
/* Adds the taskstats_* fields of io.procwatch.Stats to obj. Returns 0 or -ENOMEM. */
int resmon_figures_json(const ResMonFigures *f, json_t *obj);
