/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsing of option values. */
#pragma once

#include <stdint.h>

/* Parses a byte size: a whole number with an optional suffix K, M or G (powers of 1024; "KiB",
 * "MiB", "GiB" and "B" accepted too). Returns 0 or -EINVAL / -ERANGE. */
int parse_size(const char *s, uint64_t *ret);

/* Parses a whole decimal number within [min, max]. Returns 0, -EINVAL or -ERANGE. */
int parse_number(const char *s, uint64_t min, uint64_t max, uint64_t *ret);
