/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which processes and events a caller wants: the one filter behind `procwatchctl ps` (List), Events
 * and the journal (--journal-*). Pure: no I/O, no logging.
 *
 * Semantics, the same for every caller. A filter with no values does not filter. Within one filter
 * any value matches (OR); across filters all must (AND):
 * - kinds: the event's kind is one of them (0: every kind);
 * - threads: events about a thread other than its process's leader pass only when set;
 * - pids: the process is one of them or descends from one (parent links in the tree, then ppid, at
 *   most PW_SUBTREE_DEPTH_MAX of them): a caller may answer this itself, see PwSubtreeTest;
 * - uids: its real or effective uid is one of them;
 * - comms, units, user_units: a glob (fnmatch(3), no flags) matches its comm / its system unit / its
 *   user unit as the tree has them (pw_cgroup_to_units()); a process without a unit matches no unit
 *   glob. A name without glob characters matches exactly that name;
 * - state: alive or exited (List only; PW_STATE_FILTER_ALL by default).
 *
 * What counts as news about a process (a process's exit is when its last task ends, for the journal)
 * is the caller's to decide before asking. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "event-kind.h"
#include "proctree.h"

/* Values per filter: a command line is not a database query. */
#define PW_PROCESS_FILTER_VALUES_MAX 64U
/* Longest glob, its NUL not counted: a unit name's bound (systemd's UNIT_NAME_MAX, 256 with the NUL;
 * a comm is 15 bytes). Any local user may set globs (List, Events) and each is matched against every
 * event of a subscriber: this bounds what one match costs. */
#define PW_PROCESS_FILTER_GLOB_MAX 255U
/* How far up the tree a subtree check walks (deeper trees are cut there), for every caller. */
#define PW_SUBTREE_DEPTH_MAX 4096U

typedef struct PwProcessFilter {
        unsigned kinds;         /* PW_EVENT_KIND_BIT()s; 0: every kind */
        bool threads;           /* thread events too */
        PwStateFilter state;    /* procwatch/protocol.h */
        pid_t pids[PW_PROCESS_FILTER_VALUES_MAX];
        size_t n_pids;
        uint32_t uids[PW_PROCESS_FILTER_VALUES_MAX];
        size_t n_uids;
        char *comms[PW_PROCESS_FILTER_VALUES_MAX]; /* globs, owned */
        size_t n_comms;
        char *units[PW_PROCESS_FILTER_VALUES_MAX];
        size_t n_units;
        char *user_units[PW_PROCESS_FILTER_VALUES_MAX];
        size_t n_user_units;
} PwProcessFilter;

/* Is p in the subtree of root? A caller that matches one event against many filters answers this
 * once for all of them (the server follows the ancestors once per event); NULL in
 * pw_process_filter_match() means proctree_in_subtree() with PW_SUBTREE_DEPTH_MAX. */
typedef bool (*PwSubtreeTest)(void *userdata, const PwProcess *p, pid_t root);

/* An empty filter: everything passes. Frees what the filter owns and empties it; accepts NULL. */
void pw_process_filter_init(PwProcessFilter *f);
void pw_process_filter_done(PwProcessFilter *f);
/* Replaces dst's values (dst initialised) with copies of src's. 0 or -ENOMEM (dst then empty). */
int pw_process_filter_copy(PwProcessFilter *dst, const PwProcessFilter *src);

/* Each adds one value: 0, -E2BIG beyond PW_PROCESS_FILTER_VALUES_MAX, -EINVAL for a pid below 1 or
 * a NULL glob, -ENAMETOOLONG for a glob longer than PW_PROCESS_FILTER_GLOB_MAX, -ENOMEM. */
int pw_process_filter_add_pid(PwProcessFilter *f, pid_t pid);
int pw_process_filter_add_uid(PwProcessFilter *f, uint32_t uid);
int pw_process_filter_add_comm(PwProcessFilter *f, const char *glob);
int pw_process_filter_add_unit(PwProcessFilter *f, const char *glob);
int pw_process_filter_add_user_unit(PwProcessFilter *f, const char *glob);

/* The selectors a Varlink caller names (List and Events): uid (negative: none), and comm, unit and
 * user_unit globs (NULL: none). 0; -EINVAL with the parameter's name in *ret_bad (a glob too long);
 * -ENOMEM. */
int pw_process_filter_add_selectors(PwProcessFilter *f, int64_t uid, const char *comm, const char *unit,
                                    const char *user_unit, const char **ret_bad);

/* Does the filter say anything about the process (pids, uids, names, units or state)? An event that
 * is about no record passes only a filter that does not. */
bool pw_process_filter_selects_processes(const PwProcessFilter *f);

/* The kind and thread rules: does an event of this kind, about a thread other than the leader when
 * thread, pass? */
bool pw_process_filter_match_kind(const PwProcessFilter *f, PwEventKind kind, bool thread);

/* Does p pass every process filter (all but kinds and threads)? The subtree check, the only one that
 * walks, comes last; in_subtree as set out at PwSubtreeTest. */
bool pw_process_filter_match(const PwProcessFilter *f, const PwProcess *p, PwSubtreeTest in_subtree,
                             void *userdata);
