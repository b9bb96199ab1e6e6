/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Which events go to the journal, and how much of a command line: the filters behind --journal-*.
 * Pure: no I/O, no logging.
 *
 * An event is forwarded when it is news about a process and passes the process filter
 * (process-filter.h, the semantics every filter has: kinds, threads, subtree, uids, and globs for
 * comm, unit and user unit). News: a process's fork is when it starts (a FORK that made no record is
 * none), its exit when its last task ends; with threads, thread forks and exits too.
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
#include "process-filter.h"
#include "proctree.h"

#define PW_JOURNAL_REDACTED "***"

#define PW_JOURNAL_KINDS_DEFAULT (PW_EVENT_KIND_BIT(PW_EVENT_EXEC) | PW_EVENT_KIND_BIT(PW_EVENT_EXIT))

typedef enum PwArgvMode {
        PW_ARGV_FULL,
        PW_ARGV_NONE,
        PW_ARGV_REDACT,
        _PW_ARGV_MODE_MAX,
} PwArgvMode;

typedef struct PwJournalFilter {
        PwProcessFilter match;        /* which events: kinds never 0 here */
        PwArgvMode argv_mode;
        char *redact[PW_PROCESS_FILTER_VALUES_MAX];
        size_t n_redact;
} PwJournalFilter;

/* Defaults: exec and exit of processes, no filters, full argv. */
void pw_journal_filter_init(PwJournalFilter *f);
void pw_journal_filter_done(PwJournalFilter *f);

const char *pw_argv_mode_to_string(PwArgvMode m);
int pw_argv_mode_from_string(const char *s); /* or -EINVAL */

/* Each adds one value, as written in a file or on the command line: -EINVAL when unparsable or empty,
 * -E2BIG beyond PW_PROCESS_FILTER_VALUES_MAX, -ENAMETOOLONG for a glob beyond
 * PW_PROCESS_FILTER_GLOB_MAX, -ENOMEM. */
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
