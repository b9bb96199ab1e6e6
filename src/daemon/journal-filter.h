/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which events go to the journal, and how much of a command line: the filters behind --journal-*.
 * Pure: no I/O, no logging.
 *
 * An event is forwarded when its kind is selected (threads only with threads set) and it passes every
 * filter that has values: within one filter any value matches (OR), across filters all must (AND).
 * - pids: the process is one of them or descends from one (parent links in the tree, then ppid);
 * - uids: its real or effective uid is one of them;
 * - comms, units, user_units: a glob (fnmatch(3)) matches its comm / its system unit (PROCWATCH_UNIT)
 *   / its user unit (PROCWATCH_USER_UNIT) as the tree has them (pw_cgroup_to_units()).
 *
 * argv privacy: full, none (no PROCWATCH_CMDLINE, MESSAGE shows the executable only), or redact:
 * each word is checked against the patterns (globs). A pattern with '=' that matches a word keeps
 * the word up to and including its first '=' and replaces the rest with "***" (--password=* turns
 * "--password=hunter2" into "--password=***"); a pattern without '=' that matches a word keeps that
 * word and replaces the whole next word with "***" ("-p" turns "-p hunter2" into "-p ***"). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cnproc-parse.h"
#include "proctree.h"

/* Values per filter: a command line is not a database query. */
#define PW_JOURNAL_FILTER_VALUES_MAX 64U
/* How far up the tree a subtree check walks (deeper trees are cut there). */
#define PW_JOURNAL_SUBTREE_DEPTH_MAX 4096U
#define PW_JOURNAL_REDACTED "***"

#define PW_JOURNAL_KIND_BIT(k) (1U << (unsigned) (k))
#define PW_JOURNAL_KINDS_DEFAULT (PW_JOURNAL_KIND_BIT(PW_EVENT_EXEC) | PW_JOURNAL_KIND_BIT(PW_EVENT_EXIT))
#define PW_JOURNAL_KINDS_ALL                                                                              \
        (((1U << _PW_EVENT_KIND_MAX) - 1U) & ~PW_JOURNAL_KIND_BIT(PW_EVENT_NONE))

typedef enum PwArgvMode {
        PW_ARGV_FULL,
        PW_ARGV_NONE,
        PW_ARGV_REDACT,
        _PW_ARGV_MODE_MAX,
} PwArgvMode;

typedef struct PwJournalFilter {
        unsigned kinds;               /* PW_JOURNAL_KIND_BIT()s */
        bool threads;                 /* thread forks and exits too */
        pid_t pids[PW_JOURNAL_FILTER_VALUES_MAX];
        size_t n_pids;
        uint32_t uids[PW_JOURNAL_FILTER_VALUES_MAX];
        size_t n_uids;
        char *comms[PW_JOURNAL_FILTER_VALUES_MAX];
        size_t n_comms;
        char *units[PW_JOURNAL_FILTER_VALUES_MAX];
        size_t n_units;
        char *user_units[PW_JOURNAL_FILTER_VALUES_MAX];
        size_t n_user_units;
        PwArgvMode argv_mode;
        char *redact[PW_JOURNAL_FILTER_VALUES_MAX];
        size_t n_redact;
} PwJournalFilter;

/* Defaults: exec and exit of processes, no filters, full argv. */
void pw_journal_filter_init(PwJournalFilter *f);
void pw_journal_filter_done(PwJournalFilter *f);

/* "exec,exit,fork", or "all". Returns 0 and the bits, or -EINVAL. */
int pw_journal_kinds_from_string(const char *s, unsigned *ret);
const char *pw_argv_mode_to_string(PwArgvMode m);
int pw_argv_mode_from_string(const char *s); /* or -EINVAL */

/* Each adds one value: -EINVAL when unparsable, -E2BIG beyond PW_JOURNAL_FILTER_VALUES_MAX, -ENOMEM. */
int pw_journal_filter_add_pid(PwJournalFilter *f, const char *s);
int pw_journal_filter_add_uid(PwJournalFilter *f, const char *s);
int pw_journal_filter_add_comm(PwJournalFilter *f, const char *glob);
int pw_journal_filter_add_unit(PwJournalFilter *f, const char *glob);
int pw_journal_filter_add_user_unit(PwJournalFilter *f, const char *glob);
int pw_journal_filter_add_redact(PwJournalFilter *f, const char *glob);

/* Is this event, as applied to the tree (res; p its record, NULL for none), to be forwarded? */
bool pw_journal_filter_match(const PwJournalFilter *f, const PwEvent *ev, const PwApplyResult *res,
                             const PwProcess *p);

/* argv (NUL-separated words, len bytes, the last NUL not counted) with values redacted as set out
 * above: a malloc'ed copy in the same form in *ret, *ret_len. Returns 0 or -ENOMEM. */
int pw_journal_redact_argv(const PwJournalFilter *f, const char *argv, size_t len, char **ret, size_t *ret_len);
