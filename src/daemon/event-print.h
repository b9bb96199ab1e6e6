/* SPDX-License-Identifier: GPL-2.0-or-later */
/* What --print-events writes to standard output: the human event line (event-line.h, the same as
 * `procwatchctl events`) of each event as the daemon publishes it, its record complete (an exec once
 * /proc gave its command line, an exit once its cost came or was given up on); or, with
 * --print-events=raw, the decoder's key=value line (pw_event_format()) of every message decoded,
 * acks included, before it is applied: for debugging the decoder. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "cnproc-parse.h"
#include "proctree.h"

typedef enum PwPrintEvents {
        PW_PRINT_EVENTS_NO,
        PW_PRINT_EVENTS_HUMAN,
        PW_PRINT_EVENTS_RAW,
        _PW_PRINT_EVENTS_MAX,
} PwPrintEvents;

/* "no", "yes" (human), "raw": as PrintEvents= shows them. */
const char *pw_print_events_to_string(PwPrintEvents p);

/* The raw line of ev and its newline. */
void pw_event_print_raw(FILE *f, const PwEvent *ev);
/* The human line of ev as applied (res), the monotonic timestamp shifted by realtime_offset_ns
 * (CLOCK_REALTIME - CLOCK_MONOTONIC). 0 or -ENOMEM. */
int pw_event_print_human(FILE *f, const PwEvent *ev, const PwApplyResult *res, int64_t realtime_offset_ns);
