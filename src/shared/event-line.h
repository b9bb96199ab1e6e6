/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The human event line, one formatter for `procwatchctl events` (from the Events stream's JSON) and
 * `procwatchd --print-events` (from the daemon's tree):
 *
 *   HH:MM:SS.mmm KIND      PID COMM DETAIL
 *   22:13:20.251 exec     4242 ls ls -l /tmp
 *   22:13:22.000 exit     4600 make exit 0, lived 12.3s, cpu 8.1s, max rss 512 MiB
 *
 * DETAIL by kind: fork "child of PPID"; exec the command line; exit of a process its status and
 * lifetime (and cost, when known), of a thread "thread TID ended"; uid and gid the real and
 * effective ids; sid the session; ptrace the tracer or "detached"; events about a thread other than
 * the leader end in ", thread TID". Strings from processes are escaped (utf8_escape_display()).
 * Everything after the kind is cut to the terminal's width. Pure but for writing to f. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

typedef struct EventLineStyle {
        bool utf8;          /* keep non-ASCII text */
        bool color;         /* ANSI colours for the kind */
        unsigned columns;   /* the terminal's width; 0: no limit */
} EventLineStyle;

typedef enum EventLineCost {
        EVENT_LINE_COST_NONE,    /* nothing said (taskstats off, or not yet known) */
        EVENT_LINE_COST_KNOWN,   /* cpu_usec and max_rss_bytes */
        EVENT_LINE_COST_MISSING, /* the record never came: "resources unknown" */
} EventLineCost;

typedef struct EventLine {
        const char *kind;            /* the kind's name (event-kind.h), or what a peer sent */
        uint64_t realtime_usec;      /* when, CLOCK_REALTIME */
        int64_t pid, tid;
        bool thread;                 /* about a thread other than the leader */
        bool has_process;            /* the fields below are a record's */
        const char *comm;            /* raw */
        const char *command;         /* exec: event_line_command()'s, escaped; NULL: "" */
        int64_t parent_pid;          /* fork */
        bool has_lifetime;           /* exit: the process ended, after lifetime_usec */
        uint64_t lifetime_usec;
        const char *status;          /* exit: format_exit_status()'s */
        EventLineCost cost;
        uint64_t cpu_usec, max_rss_bytes;
        int64_t uid, euid, gid, egid, sid;
        bool has_tracer;
        int64_t tracer;
} EventLine;

/* Writes the line and its newline. 0 or -ENOMEM. */
int event_line_print(FILE *f, const EventLine *l, const EventLineStyle *style);

/* The command line as ps and the event line show it: the words escaped and joined by spaces, " ..."
 * after a truncated one, "[comm]" when there are none (kernel threads, unreadable). malloc'ed, NULL
 * when out of memory. */
char *event_line_command(const char *comm, const char *const *argv, size_t argc, bool truncated, bool utf8);

/* "exit 3", "killed SIGKILL", "killed SIGSEGV (core)", or "unknown" when neither code nor signal is
 * known. Returns buf. */
char *format_exit_status(char *buf, size_t size, bool has_code, int64_t code, bool has_signal, int64_t signal,
                         bool core_dumped);

/* ", cpu 8.1s, max rss 512 MiB", ", resources unknown" or "" as l->cost says: what an exit cost, as
 * the journal's MESSAGE says it too. Returns buf. */
char *event_line_cost(char *buf, size_t size, EventLineCost cost, uint64_t cpu_usec, uint64_t max_rss_bytes);
