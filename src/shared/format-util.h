/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Numbers for people: durations, signal names, byte sizes. One formatter each, used by the journal's
 * MESSAGE, the human event line and procwatchctl. Pure; each writes into buf (size bytes, always
 * NUL-terminated) and returns buf. */
#pragma once

#include <stddef.h>
#include <stdint.h>

typedef enum FormatDuration {
        /* Two significant parts at most, for columns: "800us", "12ms", "12.3s", "2m05s", "1h02m",
         * "3d04h". */
        FORMAT_DURATION_SHORT,
        /* To the millisecond, in seconds: "800us", "12ms", "1.234s", "125.000s" (the journal's
         * MESSAGE, as procwatchd(8) documents it). */
        FORMAT_DURATION_MSEC,
        _FORMAT_DURATION_MAX,
} FormatDuration;

char *format_duration(char *buf, size_t size, uint64_t usec, FormatDuration form);

/* "SIGSEGV", or "signal N" for a number that names no signal. */
char *format_signal(char *buf, size_t size, int64_t sig);

/* "512 B", "1.5 KiB", "12 MiB", ... up to PiB: printf's "%.1f" below 10 of the unit, else "%.0f",
 * computed with integers wherever a double holds the value exactly (no floating point on every exit
 * entry), with the same rounding. */
char *format_bytes(char *buf, size_t size, uint64_t bytes);

/* printf's "%.1f" of usec / 1e6 (seconds, tenths), with the same rounding, without floating point
 * where no tie can be mistaken. */
char *format_seconds_tenths(char *buf, size_t size, uint64_t usec);
