/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The process tree: every process with its lifetime, built from proc-connector events and /proc reads.
 * Pure: no I/O, no logging, no clock reads. Callers pass times in.
 *
 * Identity. A process is (tgid, start time), never a pid alone: pids are reused, and an auto-reaped
 * task's EXIT can arrive after a FORK that already reuses its pid. Each record carries a stable id
 * "PID:START_NS" (CLOCK_MONOTONIC ns of the first start time learned).
 *
 * Threads fold into processes. A process owns a set of tasks (tids). A thread's EXIT removes it from
 * the set; the process ends when its last task ends, never on the leader's EXIT alone: the leader may
 * pthread_exit() first, and a non-leader exec sends a leader-looking EXIT (code 0, SIGCHLD) just
 * before EXEC(tgid). EXEC resets the set to {tgid}; the exec'ing thread's old tid never gets an EXIT.
 *
 * Pid reuse. A FORK for a pid whose record is still live means the old task is gone (the kernel
 * never hands out a pid in use): the old record is "displaced": it stays, awaiting its late EXIT,
 * which goes to it rather than to the new process.
 *
 * Unknown pids. An event for a pid we do not know creates a placeholder (start unknown) that a later
 * /proc read completes, or that ends with what the events said.
 *
 * Reparenting. When a process ends, the kernel has already moved its live children to the nearest
 * child subreaper or init; events do not say where. proctree_apply() returns them as work orders
 * (PwApplyResult.reparent), the caller reads their ppid from /proc and calls proctree_set_parent();
 * init is the fallback. A reconciliation takes their new parents from its own snapshot.
 *
 * Retention. Exited processes stay queryable, bounded by count, age and a byte budget for strings
 * (argv, exe, cgroup, unit). Live processes are bounded by pid_max; their strings count against the
 * same budget.
 *
 * Budgets per uid. Every local user's processes feed the tree, so one user must not be able to
 * push the others out of it. Each string is charged, for its whole life, to the uid of the process it
 * was read for (its real uid then; PW_UID_INVALID when /proc gave no ids): a forked child shares its
 * parent's strings and their charge, and a later uid change moves nothing, so a charge is released
 * exactly when its string is freed. Each exited record is charged to its real uid when it ends. A uid
 * other than root may hold at most its share (uid_share_percent) of the byte budget and of the
 * retained count; root is bounded by the totals only. When a uid needs room:
 *   1. beyond its share, it evicts its own oldest records, then stores its argv cut at a word
 *      (marked truncated), or leaves out an exe, cgroup or unit that does not fit;
 *   2. beyond the total, the uid holding the most gives up its oldest record, but only a uid holding
 *      more than the one that needs room, else that uid's own oldest; when no record may go, the
 *      new argv is cut as above.
 * So one uid's processes never evict the records of a uid that holds less than they do, never cut
 * anything but their own strings, and (with the share) cannot hold more than a share. Age expiry and
 * DropRetained take records oldest first whoever owns them. Evictions and cuts are counted per uid
 * (the uid that lost them) for Stats, and as pending figures the caller takes for the log. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cnproc-parse.h"
#include "macro.h"
#include "pidmap.h"
#include "procfs.h"
#include "procwatch/protocol.h"

/* Defaults, chosen so that a busy build server's last hour stays queryable in well under 100 MiB:
 * 20,000 exited records of ~400 bytes plus their strings, capped by the byte budget. */
#define PROCTREE_RETAIN_COUNT_DEFAULT 20000U
#define PROCTREE_RETAIN_AGE_NS_DEFAULT (3600ULL * 1000000000ULL)
#define PROCTREE_STRING_BUDGET_DEFAULT (64U * 1024U * 1024U)
/* COMM changes kept per process (the oldest are dropped beyond). */
#define PROCTREE_COMM_HISTORY_MAX 8
/* The share of the byte budget and of the retained count that one uid other than root may hold:
 * four users at full share still leave root its history. */
#define PROCTREE_UID_SHARE_PERCENT_DEFAULT 25U
/* Strings and records of a process whose ids /proc did not give: the kernel's invalid uid. */
#define PW_UID_INVALID UINT32_MAX

typedef enum PwSource {
        PW_SOURCE_EVENT,      /* learned from its FORK */
        PW_SOURCE_SCAN,       /* found by the start-up scan of /proc */
        PW_SOURCE_RECONCILED, /* found by a reconciliation after lost events */
        PW_SOURCE_PLACEHOLDER,/* made up for an event about an unknown pid */
        _PW_SOURCE_MAX,
} PwSource;

typedef enum PwUncertain {
        PW_UNCERTAIN_START = 1 << 0,  /* start time not known exactly */
        PW_UNCERTAIN_PARENT = 1 << 1, /* parent not known */
        PW_UNCERTAIN_IMAGE = 1 << 2,  /* exe/argv not read: gone before it could be */
        PW_UNCERTAIN_EXIT = 1 << 3,   /* ended while events were lost: status unknown */
        PW_UNCERTAIN_IDS = 1 << 4,    /* uid/gid not known */
} PwUncertain;

typedef struct PwCommChange {
        uint64_t ts_ns;
        char old_comm[PW_COMM_MAX + 1];
        char new_comm[PW_COMM_MAX + 1];
} PwCommChange;

typedef struct PwTask PwTask;
typedef struct PwProcess PwProcess;
/* What the process cost, from taskstats (resources.h); NULL until a record or a subtree total. */
typedef struct PwProcResources PwProcResources;

/* An immutable, reference-counted string: a forked child shares its parent's exe and argv until it
 * execs, so a fork storm of one program costs no copies. data is NUL-terminated; len counts the
 * bytes before that final NUL (argv holds NUL-separated words, its last NUL not counted). */
typedef struct PwStr {
        unsigned ref;
        uint32_t uid;                 /* charged to */
        size_t len;
        char data[];
} PwStr;

/* Where a record sits in the tree: its parent and children, its place among the exited records and
 * among the records that had its pid, its tasks. Private to proctree.c. */
typedef struct PwProcessLinks {
        PwTask *tasks;
        /* A child's parent pointer is cleared when the parent record is evicted. */
        PwProcess *parent;
        PwProcess *first_child, *next_sibling, *prev_sibling;
        unsigned n_children;
        /* Exited records in exit order, for retention; the same for its charged uid (ret_uid); and
         * older records that had the same pid. */
        PwProcess *ret_prev, *ret_next;
        PwProcess *uid_ret_prev, *uid_ret_next;
        uint32_t ret_uid;
        PwProcess *older_same_pid, *newer_same_pid;
} PwProcessLinks;

/* A process record. Callers may read every field but links; only proctree.c writes any of them
 * (resources.c fills in resources, which the record owns). A record stays valid until the tree
 * changes; the record of the event being applied, longer (see "Pinning" at proctree_apply()). */
struct PwProcess {
        pid_t pid;
        uint64_t start_ns;            /* CLOCK_MONOTONIC */
        uint64_t start_boot_ns;       /* CLOCK_BOOTTIME: compared with /proc, stable across suspend */
        char id[40];                  /* "PID:START_NS" */

        pid_t ppid;                   /* 0: none (pid 1, kthreadd) or unknown */
        uint64_t parent_start_ns;     /* with ppid: the parent's identity */
        pid_t original_ppid;          /* the parent at fork when since reparented, else 0 */
        uint64_t original_parent_start_ns; /* with original_ppid: that parent's identity */
        pid_t sid;
        pid_t tracer;                 /* tgid of the tracer, 0 when not traced */

        char comm[PW_COMM_MAX + 1];
        /* PROCTREE_COMM_HISTORY_MAX entries, allocated at the first change (most processes never
         * rename themselves: inline, the history was 384 of a record's 768 bytes); NULL before, or
         * when that allocation failed (the change is then counted, not kept). */
        PwCommChange *comm_history;
        unsigned n_comm_history;      /* kept; n_comm_changes counts all */
        unsigned n_comm_changes;

        PwStr *exe;
        PwStr *argv;                  /* NUL-separated words */
        bool argv_truncated;
        PwStr *cgroup;
        PwStr *unit;                  /* the system unit */
        PwStr *user_unit;             /* the user manager's unit, below user@UID.service */
        uint32_t uid, euid, gid, egid;
        /* For the kernel's ptrace-read rule (access-policy.h): the saved ids and whether the mm is
         * dumpable, as /proc showed them. creds_read says they were read after the last id change
         * the events told of: a UID or GID event clears it, since the saved ids and dumpability
         * change with it (commit_creds() resets dumpability on an euid change) and events carry
         * neither. */
        uint32_t suid, sgid;
        bool dumpable;
        bool creds_read;
        unsigned n_execs;

        unsigned n_tasks;             /* live tasks (threads), leader included while alive */
        bool leader_exited;

        uint64_t first_seen_ns;       /* placeholders: time of the event that made them */
        unsigned n_tracees;           /* live processes this one traces */
        bool coredumped;              /* a COREDUMP event came */
        uint32_t last_task_code;      /* exit code of the last task to exit */

        bool exited;
        bool displaced;               /* its pid went to a new process before its EXIT came */
        uint64_t exit_ns;
        uint32_t exit_code;           /* wait status */
        bool kthread;

        PwSource source;
        unsigned uncertain;           /* PwUncertain */

        PwProcResources *resources;   /* owned; freed with the record */

        /* The tree's links: only proctree.c reads or writes them; others use proctree_parent(),
         * proctree_foreach_child() and the walks below. */
        PwProcessLinks links;
};

typedef struct ProcTreeStats {
        uint64_t processes_created;
        uint64_t processes_exited;
        uint64_t placeholders;
        uint64_t displaced;
        uint64_t duplicate_forks;     /* FORKs for a process already known (start-up overlap) */
        uint64_t duplicate_exits;
        uint64_t evicted;
        uint64_t evicted_for_bytes;
        uint64_t evicted_for_others;  /* evicted to make room for another uid */
        uint64_t argv_truncated_budget;
        uint64_t strings_dropped_budget; /* exe, cgroup or unit not stored: no room for its uid */
        uint64_t reconciled_ended;
        uint64_t reconciled_added;

        /* What the tree holds now (filled in by proctree_get_stats()). */
        unsigned live;                /* live processes */
        unsigned displaced_now;       /* records whose pid was reused, awaiting their EXIT */
        unsigned retained;            /* exited records */
        size_t tasks;                 /* live tasks, threads included */
        size_t string_bytes;          /* string bytes alive, against limits.string_budget */
        size_t live_slots;            /* slots of the live map (it shrinks after a storm) */
} ProcTreeStats;

typedef struct ProcTreeLimits {
        unsigned retain_count;
        uint64_t retain_age_ns;
        size_t string_budget;
        unsigned uid_share_percent;   /* 1..100; 0: PROCTREE_UID_SHARE_PERCENT_DEFAULT */
} ProcTreeLimits;

/* What one uid holds and what the budgets took from it. */
typedef struct PwUidBudget {
        uint32_t uid;
        size_t bytes;                 /* string bytes charged */
        unsigned n_retained;          /* exited records charged */
        uint64_t evicted;             /* records evicted over the count or byte limits */
        uint64_t evicted_for_others;  /* of them, to make room for another uid */
        uint64_t argv_cut;            /* argv stored truncated */
        uint64_t strings_dropped;     /* exe, cgroup or unit not stored */
        /* The same since last taken (proctree_take_bitten()). */
        uint64_t pending_evicted, pending_evicted_for_others, pending_argv_cut, pending_strings_dropped;
} PwUidBudget;

/* The tree. Opaque: its maps, lists and counters are proctree.c's; the functions below are the way
 * in. */
typedef struct ProcTree ProcTree;

int proctree_new(ProcTree **ret, const ProcTreeLimits *limits /* NULL: defaults */);
ProcTree *proctree_free(ProcTree *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(ProcTree *, proctree_free);

/* What applying one event did, for whoever forwards events (the journal, live streams), and the
 * work it leaves: what must be read from /proc before the tree is right again. The pid lists are
 * the tree's, valid until the next proctree_apply() (proctree_enrich(), proctree_mark_unreadable()
 * and proctree_set_parent() leave them alone). */
typedef struct PwApplyResult {
        PwProcess *process;    /* the record the event is about, after applying; NULL for none */
        bool process_started;  /* a FORK made a new process record */
        bool process_ended;    /* the event ended the process (its last task exited) */
        bool thread;           /* the event is about a thread other than the leader */
        /* Live processes whose image must be read: they exec'ed, or events named them before we knew
         * them (placeholders). Give the read to proctree_enrich(), or proctree_mark_unreadable(). */
        const pid_t *enrich;
        size_t n_enrich;
        /* Live processes whose parent ended: the kernel moved them to a subreaper or init, and /proc
         * says which. Give the ppid read to proctree_set_parent(). */
        const pid_t *reparent;
        size_t n_reparent;
} PwApplyResult;

/* Applies one event (not an ack); times stay monotonic. ret may be NULL. Returns 0, or -ENOMEM (the
 * tree stays consistent).
 *
 * Pinning. The record in ret->process is pinned: it stays valid through the calls that carry out
 * the work orders (proctree_enrich(), proctree_mark_unreadable(), proctree_set_parent()), although
 * the strings they charge may evict other records for room. That lets the caller read /proc first
 * and forward the event's record afterwards. The pin ends with proctree_release(), the next
 * proctree_apply(), and any call that works between events: proctree_add_from_proc(),
 * proctree_reconcile(), proctree_expire(), proctree_drop_retained(). */
int proctree_apply(ProcTree *t, const PwEvent *ev, PwApplyResult *ret);
/* The caller is done with the record of the event last applied: it may be evicted again. */
void proctree_release(ProcTree *t);

/* Adds or completes a process from a /proc read. An existing live record with the same identity is
 * completed (strings, ids, parent, threads), a placeholder only by a process started no later than
 * its event (proctree_read_matches()); one with another start time is ended as displaced and a new
 * record made. source says why the read was made. */
int proctree_add_from_proc(ProcTree *t, const PwProcInfo *info, PwSource source, uint64_t hz);

/* Whether a /proc read of pid that found start_boot_ns is of the live record of pid: the same start
 * time (within a tick), or for a placeholder (start unknown) a start no later than the event that
 * made it; a process that started after that event got the pid when the placeholder's was gone. */
bool proctree_read_matches(const ProcTree *t, pid_t pid, uint64_t start_boot_ns, uint64_t hz);
/* Updates exe, argv, ids, cgroup and unit of the live process info->stat.pid if its identity
 * matches (proctree_read_matches(); after an EXEC, or for a placeholder); -ESRCH if not. */
int proctree_enrich(ProcTree *t, const PwProcInfo *info, uint64_t hz);
/* The image (exe and argv only) of the live process info->stat.pid, read off the loop: taken only
 * when that record is the same process (start time within a tick, not a placeholder) and has
 * exec'ed n_execs times, as when the read was ordered; -ESRCH if not (nothing changes). Clears
 * PW_UNCERTAIN_IMAGE when exe or argv came, and hands the image down to the descendants forked since
 * the read was ordered that have not exec'ed (they share it, as a fork does). */
int proctree_set_image(ProcTree *t, const PwProcInfo *info, unsigned n_execs, uint64_t hz);
/* The process could not be read (gone, or its pid already reused): keep what events said. */
void proctree_mark_unreadable(ProcTree *t, pid_t pid, uint64_t start_boot_ns);
/* Names the executable of p, live or exited, that exec'ed and has none: its image was lost to the
 * race with its exit (an EXEC came, nothing was read; the image stays uncertain, argv unknown), or
 * only exe was (the process became a zombie between the reads of cmdline and exe). path comes from
 * elsewhere (the taskstats record's device and inode, exe-cache.h). Returns 1 when named, 0 when p
 * needs no name (it has one, or never exec'ed), -ENOSPC when its uid's budget has no room, -ENOMEM. */
int proctree_name_exe(ProcTree *t, PwProcess *p, const char *path);

/* Reconciliation after lost events: snapshot holds every process /proc had (all fields that
 * PW_READ_STAT|PW_READ_STATUS|PW_READ_TASKS give; more if read). Live records missing from it (or
 * whose pid now has another start time) end with status unknown at now_ns; processes missing from the
 * tree are added with source (PW_SOURCE_SCAN at start-up, else PW_SOURCE_RECONCILED). Returns how many
 * were ended and added. */
int proctree_reconcile(ProcTree *t, const PwProcInfo *snapshot, size_t n, uint64_t now_ns, uint64_t hz,
                       PwSource source, unsigned *ended, unsigned *added);

/* Drops exited records beyond the limits at now_ns. */
void proctree_expire(ProcTree *t, uint64_t now_ns);
/* Drops every retained exited record (io.procwatch.DropRetained); returns how many. */
unsigned proctree_drop_retained(ProcTree *t);

/* The per-uid budget limits: bytes and retained records one uid may hold (SIZE_MAX/UINT_MAX: no
 * share, for root). */
size_t proctree_uid_share_bytes(const ProcTree *t, uint32_t uid);
unsigned proctree_uid_share_count(const ProcTree *t, uint32_t uid);
/* The accounting of uid, or NULL when nothing is charged to it and nothing was taken from it. */
const PwUidBudget *proctree_uid_budget(const ProcTree *t, uint32_t uid);
/* Up to max uids whose budget bit (something evicted or cut), most bitten first, into ret; returns
 * how many uids in all have been bitten. */
size_t proctree_uids_bitten(const ProcTree *t, const PwUidBudget **ret, size_t max);
/* Like proctree_uids_bitten() for the pending figures (bitten since last taken); copies them into
 * ret and resets every uid's pending figures. Returns how many uids had pending figures. */
size_t proctree_take_bitten(ProcTree *t, PwUidBudget *ret, size_t max);
/* Calls f for every uid accounted (tests check the sums); stops when f returns false. */
void proctree_foreach_uid(const ProcTree *t, bool (*f)(const PwUidBudget *u, void *userdata), void *userdata);

/* Sets the parent of the live process pid (new_ppid 0: not found, use init). */
void proctree_set_parent(ProcTree *t, pid_t pid, pid_t new_ppid);

/* Lookups. */
PwProcess *proctree_get_live(const ProcTree *t, pid_t pid);
/* The live process with that pid, else the newest retained one. */
PwProcess *proctree_get(const ProcTree *t, pid_t pid);
/* The record of the process (pid, start_ns), wherever it is filed: live, displaced or retained. */
PwProcess *proctree_get_by_identity(const ProcTree *t, pid_t pid, uint64_t start_ns);
/* By id string "PID:START_NS" (parse_process_id()); NULL when malformed or not known. */
PwProcess *proctree_get_by_id(const ProcTree *t, const char *id);

/* Walks. f returns false to stop the walk; the walk returns false when f stopped it. f must not
 * change the tree. */
typedef bool (*ProcTreeVisit)(PwProcess *p, void *userdata);
typedef enum ProcTreeWalk {
        PROCTREE_WALK_LIVE = 1 << 0,      /* live records, in no order */
        PROCTREE_WALK_DISPLACED = 1 << 1, /* records whose pid was reused before their EXIT came */
        PROCTREE_WALK_RETAINED = 1 << 2,  /* exited records, oldest exit first */
        PROCTREE_WALK_ALL = PROCTREE_WALK_LIVE | PROCTREE_WALK_DISPLACED | PROCTREE_WALK_RETAINED,
} ProcTreeWalk;
/* The records of the kinds in `which`, kind by kind in the order above. */
bool proctree_foreach(const ProcTree *t, ProcTreeWalk which, ProcTreeVisit f, void *userdata);
/* Fills v with up to max records of the walk, in its order; returns how many it filled. */
size_t proctree_collect(const ProcTree *t, ProcTreeWalk which, PwProcess **v, size_t max);
/* The same for p's children. */
size_t proctree_collect_children(const PwProcess *p, PwProcess **v, size_t max);
/* The exited records (incarnations) of pid, most recently ended first: the taskstats join's
 * candidates. */
bool proctree_foreach_exited(const ProcTree *t, pid_t pid, ProcTreeVisit f, void *userdata);
/* The children of p (alive and exited, in no order). */
bool proctree_foreach_child(const PwProcess *p, ProcTreeVisit f, void *userdata);
/* How many children p has (alive and exited). */
unsigned proctree_n_children(const PwProcess *p);
/* p's parent record, NULL when unknown or evicted (p->ppid may still name it). */
PwProcess *proctree_parent(const PwProcess *p);

/* The tree's figures: the counters since it was made and what it holds now. */
void proctree_get_stats(const ProcTree *t, ProcTreeStats *ret);
const ProcTreeLimits *proctree_get_limits(const ProcTree *t);
/* New limits apply from the next event or proctree_expire(). */
void proctree_set_limits(ProcTree *t, const ProcTreeLimits *limits);
/* CLOCK_BOOTTIME - CLOCK_MONOTONIC, kept current by the caller: turns an event's timestamp into the
 * BOOTTIME start that /proc shows. */
void proctree_set_clock_offset(ProcTree *t, uint64_t boot_minus_mono_ns);

/* Checks the tree's own lists and maps against its counts (tests and fuzzers): 0, or -EUCLEAN. */
int proctree_verify(const ProcTree *t);

/* A copy of a record made outside the tree (a journal snapshot) must not point into it: clears the
 * copy's links and, when parent_copy is given and the original has a parent, makes parent_copy the
 * copy's parent, with the original parent's pid and comm. */
void proctree_detach_copy(PwProcess *copy, const PwProcess *original, PwProcess *parent_copy);

/* Is p the process root or one of its descendants? Walks parent links, at most max_depth of them; at
 * a record whose parent record is gone (evicted), its ppid still counts. */
bool proctree_in_subtree(const PwProcess *p, pid_t root, unsigned max_depth);

/* Is p still alive? */
static inline bool pw_process_alive(const PwProcess *p) {
        return !p->exited && !p->displaced;
}

static inline PwProcessState pw_process_state(const PwProcess *p) {
        return p->exited ? PW_PROCESS_EXITED : p->displaced ? PW_PROCESS_DISPLACED : PW_PROCESS_ALIVE;
}

static inline bool pw_state_filter_match(PwStateFilter f, const PwProcess *p) {
        return f == PW_STATE_FILTER_ALL || (f == PW_STATE_FILTER_ALIVE) == pw_process_alive(p);
}

const char *pw_source_to_string(PwSource s);
