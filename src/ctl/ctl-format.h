/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchctl's human forms: durations, times, exit statuses, command lines, and the printers of
 * ps, tree, show and stats over the daemon's JSON. No I/O but the FILE they are given, so tests can
 * check them on a known tree. */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

typedef struct CtlFormat {
        bool utf8;          /* the terminal takes UTF-8: keep non-ASCII text, draw tree lines */
        uint64_t now_usec;  /* CLOCK_REALTIME, for "how long ago" */
        bool resolve_names; /* look user names up (getpwuid_r); tests turn it off */
        bool color;         /* ANSI colours (a terminal, NO_COLOR unset) */
        unsigned columns;   /* the terminal's width: long lines are cut to it; 0 = no limit */
} CtlFormat;

/* Local time of a wall-clock time: "HH:MM:SS" when less than a day before now, else "Mon DD". */
char *ctl_format_start(char *buf, size_t size, uint64_t realtime_usec, uint64_t now_usec);
/* How long before now: "3.2s ago", "5m02s ago"; "just now" for a time not before now. Returns buf. */
char *ctl_format_ago(char *buf, size_t size, uint64_t realtime_usec, uint64_t now_usec);
/* "YYYY-MM-DD HH:MM:SS.mmm" local time. */
char *ctl_format_timestamp(char *buf, size_t size, uint64_t realtime_usec);
/* "running", "exit 3", "killed SIGKILL", "killed SIGSEGV (core)", "unknown" (events lost),
 * "gone" (pid reused before the exit was seen). */
char *ctl_format_status(char *buf, size_t size, const json_t *process);
/* argv words joined by spaces, escaped for a terminal (utf8_escape_display()), with
 * " ..." when truncated; "[comm]" when argv is empty (kernel threads, unreadable). malloc'ed. */
char *ctl_format_command(const json_t *process, bool utf8);
/* A string field escaped for a terminal, "-" when absent or null. malloc'ed. */
char *ctl_format_field(const json_t *process, const char *key, bool utf8);

/* format_bytes() (format-util.h) compact for a column: "0", "512B", "4.0K", "512M", "1.2G". */
char *ctl_format_bytes_short(char *buf, size_t size, uint64_t bytes);

/* What ps --sort orders by: the largest first; processes without the figure (alive, resources
 * unknown or hidden from the caller) after them in the daemon's order. */
typedef enum CtlSortKey {
        CTL_SORT_NONE,
        CTL_SORT_CPU,      /* resources.cpu_usec */
        CTL_SORT_RSS,      /* resources.max_rss_bytes */
        CTL_SORT_IO,       /* resources.read_bytes + write_bytes (storage) */
        CTL_SORT_LIFETIME, /* duration_usec (every process) */
        _CTL_SORT_MAX,
} CtlSortKey;
/* "cpu", "rss", "io", "lifetime" -> key; -EINVAL for anything else. */
int ctl_sort_key_from_string(const char *s, CtlSortKey *ret);
/* Reorders an array of Process objects in place. Returns 0, -ENOMEM or -EBADMSG (not an array). */
int ctl_sort_processes(json_t *processes, CtlSortKey key);

/* The user name of uid, or its number; looked up once per uid. */
const char *ctl_user_name(uint32_t uid, bool resolve);
const char *ctl_group_name(uint32_t gid, bool resolve);
/* Adds "user" (the name of euid, or null) to a Process object, for --json output. */
int ctl_add_user(json_t *process, bool resolve);

/* Nests a flat Tree reply (depth-first, parents first): each object's "children" (pids) is replaced
 * by an array of the child objects, linked by parent_id; entries whose parent is not in the list are
 * roots. Returns 0 and the array of roots in *ret, or -ENOMEM / -EBADMSG. */
int ctl_nest_tree(json_t *flat, json_t **ret);

/* The printers. Each returns 0 or a negative errno. */
int ctl_print_ps(FILE *f, const json_t *processes, const CtlFormat *fmt);
int ctl_print_tree(FILE *f, const json_t *roots, const CtlFormat *fmt);
int ctl_print_show(FILE *f, const json_t *process, const CtlFormat *fmt);
int ctl_print_stats(FILE *f, const json_t *stats);
/* One line for one Event of io.procwatch.Events: "HH:MM:SS.mmm KIND PID COMM DETAIL", e.g.
 * "12:00:01.250 exit  4242 ls exit 0, lived 12ms, cpu 0.0s, max rss 3.9 MiB" (", resources unknown"
 * when the daemon waited for the record in vain; nothing with taskstats off). */
int ctl_print_event(FILE *f, const json_t *event, const CtlFormat *fmt);
/* The line for a {"missed": N} reply. */
int ctl_print_missed(FILE *f, uint64_t missed, const CtlFormat *fmt);
