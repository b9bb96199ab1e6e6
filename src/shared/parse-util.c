/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsing of option values. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"

/* A decimal number at the start of s, digits only (no sign, no space: strtoull would take " -1" as a
 * huge number); *end points past it. */
static int parse_leading_u64(const char *s, unsigned long long *ret, char **end) {
        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        errno = 0;
        *ret = strtoull(s, end, 10);
        if (errno == ERANGE)
                return -ERANGE;
        return errno != 0 ? -EINVAL : 0;
}

int parse_size(const char *s, uint64_t *ret) {
        static const struct {
                const char *suffix;
                uint64_t factor;
        } table[] = {
                { "", 1 },          { "B", 1 },
                { "K", 1ULL << 10 }, { "KiB", 1ULL << 10 },
                { "M", 1ULL << 20 }, { "MiB", 1ULL << 20 },
                { "G", 1ULL << 30 }, { "GiB", 1ULL << 30 },
        };
        unsigned long long v;
        char *end;
        int r;

        r = parse_leading_u64(s, &v, &end);
        if (r < 0)
                return r;
        for (size_t i = 0; i < ELEMENTSOF(table); i++)
                if (strcmp(end, table[i].suffix) == 0) {
                        if (v > UINT64_MAX / table[i].factor)
                                return -ERANGE;
                        *ret = v * table[i].factor;
                        return 0;
                }
        return -EINVAL;
}

int parse_number(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        unsigned long long v;
        char *end;
        int r;

        r = parse_leading_u64(s, &v, &end);
        if (r < 0)
                return r;
        if (*end != '\0')
                return -EINVAL;
        if (v < min || v > max)
                return -ERANGE;
        *ret = v;
        return 0;
}
