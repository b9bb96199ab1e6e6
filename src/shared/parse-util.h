/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsing of option values and of the numbers clients send: one strict parser for the daemon and
 * procwatchctl alike. Digits only, no sign, no space, no base prefix; overflow is an error. */
#pragma once

#include <stdint.h>

/* Parses a byte size: a whole number with an optional suffix K, M or G (powers of 1024; "KiB",
 * "MiB", "GiB" and "B" accepted too). Returns 0 or -EINVAL / -ERANGE. */
int parse_size(const char *s, uint64_t *ret);

/* Parses a whole decimal number within [min, max]. Returns 0, -EINVAL or -ERANGE. */
int parse_number(const char *s, uint64_t min, uint64_t max, uint64_t *ret);

/* Parses a process id "PID:START" as Show takes it: PID in [1, INT32_MAX], START the start time in
 * nanoseconds (any uint64_t), both digits only, nothing before, between or after. Returns 0, -EINVAL
 * or -ERANGE; the outputs are untouched on error. */
int parse_process_id(const char *s, int32_t *ret_pid, uint64_t *ret_start_ns);
