/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What each process cost: taskstats exit records joined to the process tree. Pure: no I/O, no
 * logging, no clock reads (callers pass "now" in).
 *
 * Records. Each exiting task sends one per-task record; the last task of a thread group has the
 * AGROUP flag. A process's cost is the sum of its tasks' records (the thread-group record the kernel
 * adds for once-multi-threaded processes lacks I/O, faults and memory on 6.18), closed by the AGROUP
 * one: per-task records of a thread group are summed by ac_tgid until then. Peak memory is the
 * maximum over the tasks (each repeats the process's peak so far).
 *
 * CPU. ac_utime/ac_stime are tick samples (4 ms here: a short process shows 0, utime can exceed the
 * lifetime); cpu_run_virtual_total is the exact run time (sum_exec_runtime, filled without delay
 * accounting too). cpu_usec is that exact total; cpu_user_usec and cpu_system_usec split it in the
 * proportion of the samples, as the kernel does for /proc/PID/stat (all user when no sample).
 *
 * The join. A record names a pid, not an incarnation: pids are reused (32768 of them wrap in two
 * seconds of a fork storm), records carry no timestamp, and they come on another socket than the
 * EXIT event, in either order. A record is queued before its EXIT and before the pid can be reused,
 * so per pid, records come in incarnation order. The record goes to the oldest incarnation of its
 * pid in the tree that has none yet and agrees with it: lifetime (exit - start against ac_tgetime)
 * within [-RESOURCES_EARLY_NS, +RESOURCES_LATE_NS], start within a second or so of ac_btime64 (wall
 * seconds), and among those the one with the same exit status. When none has exited yet, the record
 * is held (up to RESOURCES_HOLD_NS) for the EXIT to come. A process whose record does not come is
 * "missing" (the caller decides when: a short wait); a late record still joins and clears it.
 *
 * Loss. Records lost to an overflow are gone; a join made within RESOURCES_LOSS_WINDOW_NS of a loss
 * is marked uncertain (it may belong to an incarnation whose own record was lost), and so are sums
 * of thread groups that were being gathered.
 *
 * Subtree totals. Each joined record is added to its process and to every ancestor by fork-time
 * parentage (the parent at fork, kept when the kernel reparents an orphan), so a cron job's or a
 * build's whole tree is summed, including what was reparented away. Missing records are counted
 * there, so an incomplete total says so. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "pidmap.h"
#include "proctree.h"
#include "taskstats-parse.h"

/* Join tolerances: exit - (start + lifetime). EXIT comes 50-550 usec after the record is built; a
 * start read from /proc has 10 ms ticks; exit_mm() of a large process and preemption add more. */
#define RESOURCES_EARLY_NS (20ULL * 1000ULL * 1000ULL)
#define RESOURCES_LATE_NS (1000ULL * 1000ULL * 1000ULL)
/* A record whose process has not ended in the tree waits this long, then counts as unmatched. */
#define RESOURCES_HOLD_NS (10ULL * 1000ULL * 1000ULL * 1000ULL)
/* Held records at most (beyond, the oldest is dropped and counted unmatched). */
#define RESOURCES_HOLD_MAX 65536U
/* Joins this close after a loss are uncertain. */
#define RESOURCES_LOSS_WINDOW_NS (2ULL * 1000ULL * 1000ULL * 1000ULL)
/* Ancestors credited with a subtree total, at most. */
#define RESOURCES_DEPTH_MAX 4096U

typedef struct PwResources {
        uint64_t cpu_usec;             /* exact: cpu_run_virtual_total */
        uint64_t cpu_user_usec, cpu_system_usec; /* the exact total split by the tick samples */
        uint64_t cpu_user_sampled_usec, cpu_system_sampled_usec; /* ac_utime, ac_stime */
        uint64_t elapsed_usec;         /* leader start to last task's exit (ac_tgetime) */
        uint64_t max_rss_bytes, max_vm_bytes;
        uint64_t minor_faults, major_faults;
        uint64_t read_bytes, write_bytes, cancelled_write_bytes; /* storage */
        uint64_t read_char, write_char; /* through syscalls, any fd (KiB-rounded by the kernel) */
        uint64_t read_syscalls, write_syscalls;
        uint64_t voluntary_ctxsw, involuntary_ctxsw;
        uint64_t delay_count[_PW_TS_DELAY_MAX];
        uint64_t delay_total_ns[_PW_TS_DELAY_MAX];
        uint32_t tasks;                /* per-task records summed */
} PwResources;

typedef enum PwResourcesState {
        PW_RESOURCES_NONE,    /* no record yet */
        PW_RESOURCES_JOINED,
        PW_RESOURCES_MISSING, /* the wait ended without one */
} PwResourcesState;

/* Whose processes a subtree total sums, for the access policy (access-policy.h): a caller without
 * CAP_SYS_PTRACE may read the ptrace-guarded part of the sums only when every process summed (or
 * counted missing) had one owner whose ids are the caller's. */
typedef enum PwSubtreeOwners {
        PW_SUBTREE_OWNERS_NONE, /* nothing summed or counted yet */
        PW_SUBTREE_OWNERS_ONE,  /* all pass the ptrace-read rule for subtree_owner_uid/gid alone */
        PW_SUBTREE_OWNERS_MANY, /* several owners, or a process no plain caller passes for */
} PwSubtreeOwners;

struct PwProcResources {
        PwResourcesState state;
        bool uncertain;               /* joined close to a loss: may be another incarnation's */
        uint32_t exitcode;            /* the record's wait status */
        PwResources self;
        /* Self (once joined) and every exited descendant joined so far. */
        PwResources subtree;
        uint32_t subtree_processes;   /* records summed in subtree */
        uint32_t subtree_missing;     /* exited descendants (and self) without a record */
        uint32_t subtree_uncertain;
        PwSubtreeOwners subtree_owners;
        uint32_t subtree_owner_uid, subtree_owner_gid;
};

typedef struct ResJoinStats {
        uint64_t task_records;        /* per-task records */
        uint64_t records;             /* process records (AGROUP) */
        uint64_t joined;
        uint64_t joined_late;         /* joined after the process was marked missing */
        uint64_t joined_uncertain;
        uint64_t missing;             /* processes whose wait ended without a record (now) */
        uint64_t unmatched;           /* records no process took */
        uint64_t held;                /* records that waited for their EXIT */
        uint64_t held_now;
        uint64_t groups_reset;        /* thread-group sums dropped: their pid started over */
        uint64_t exes_named;          /* lost images whose exe the record named (exe-cache.h) */
        uint64_t comms_named;         /* processes whose comm the record corrected (a late exec read) */
} ResJoinStats;

typedef struct ResJoin ResJoin;

int resjoin_new(ResJoin **ret);
ResJoin *resjoin_free(ResJoin *j);
DEFINE_TRIVIAL_CLEANUP_FUNC(ResJoin *, resjoin_free);

/* CLOCK_REALTIME - CLOCK_MONOTONIC, for comparing ac_btime64 with start times. */
void resjoin_set_realtime_offset(ResJoin *j, int64_t realtime_offset_ns);

/* A record came (now_ns: CLOCK_MONOTONIC when read). Returns the process it was joined to, or NULL
 * (held, summed into its thread group, or unmatched). -ENOMEM is swallowed as unmatched. */
PwProcess *resjoin_record(ResJoin *j, ProcTree *t, const PwTsMsg *m, uint64_t now_ns);

/* p just ended in the tree: joins a held record that agrees. Returns true when p has its record.
 * p's executable, when it was read, is remembered: the record of a later process that ran the same
 * file but exited before /proc gave its image then names its exe (the image stays uncertain). */
bool resjoin_process_ended(ResJoin *j, ProcTree *t, PwProcess *p, uint64_t now_ns);

/* The wait for p's record is over without one. */
void resjoin_mark_missing(ResJoin *j, ProcTree *t, PwProcess *p);

/* Records were lost at now_ns. */
void resjoin_loss(ResJoin *j, uint64_t now_ns);

/* Drops held records older than RESOURCES_HOLD_NS (counted unmatched). */
void resjoin_expire(ResJoin *j, uint64_t now_ns);

const ResJoinStats *resjoin_get_stats(const ResJoin *j);

/* Has p its record? */
static inline bool pw_process_has_resources(const PwProcess *p) {
        return p->resources && p->resources->state == PW_RESOURCES_JOINED;
}

/* The Resources object of io.procwatch.varlink (null when p has no record); the SubtreeResources
 * object (null when nothing was summed). Without guarded, the fields /proc guards with the
 * ptrace-read rule or does not show at all (I/O; delays other than cpu and blkio) are null: the
 * caller decides (access-policy.h). */
json_t *pw_resources_json(const PwProcess *p, bool guarded);
json_t *pw_subtree_resources_json(const PwProcess *p, bool guarded);
/* Is delay kind d shown to everyone (/proc/PID/schedstat, stat's delayacct_blkio_ticks)? */
bool pw_resources_delay_public(unsigned d);

/* One journal field: name without "PROCWATCH_", value. */
typedef struct PwResourcesField {
        const char *name;
        uint64_t value;
} PwResourcesField;
#define PW_RESOURCES_FIELDS_MAX 24U
/* The PROCWATCH_* resource fields of p's exit entry; returns how many (0 without a record). */
size_t pw_resources_journal_fields(const PwProcess *p, PwResourcesField *out, size_t max);
/* Appends ", cpu 8.1s, max rss 512 MiB" (or ", resources unknown") to buf (NUL-terminated, size
 * bytes). Returns the length buf would have. */
size_t pw_resources_message(const PwProcess *p, char *buf, size_t size);
