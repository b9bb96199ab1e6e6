/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Parsing of option values. */
#include <errno.h>
#include <string.h>

#include "macro.h"
#include "parse-util.h"

/* A decimal number at the start of s, digits only: no sign, no space, no base prefix (strtoull would
 * take " -1" for a huge number and "+1" for 1). Overflow is checked digit by digit, so nothing past
 * UINT64_MAX is ever computed. *end points past the digits. */
static int parse_leading_u64(const char *s, uint64_t *ret, const char **end) {
        uint64_t v = 0;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                unsigned d = (unsigned) (*s - '0');

                if (v > (UINT64_MAX - d) / 10)
                        return -ERANGE;
                v = v * 10 + d;
        }
        *ret = v;
        *end = s;
        return 0;
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
        uint64_t v;
        const char *end;
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
        uint64_t v;
        const char *end;
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

int parse_process_id(const char *s, int32_t *ret_pid, uint64_t *ret_start_ns) {
        uint64_t pid, start;
        const char *end;
        int r;

        /* Only the text a record carries: no sign, blank or leading zero ("01:5" is no alias). */
        r = parse_leading_u64(s, &pid, &end);
        if (r < 0)
                return r;
        if (*end != ':' || (s[0] == '0' && end - s > 1))
                return -EINVAL;
        if (pid < 1 || pid > INT32_MAX)
                return -ERANGE;
        s = end + 1;
        r = parse_leading_u64(s, &start, &end);
        if (r < 0)
                return r;
        if (*end != '\0' || (s[0] == '0' && end - s > 1))
                return -EINVAL;
        if (ret_pid)
                *ret_pid = (int32_t) pid;
        if (ret_start_ns)
                *ret_start_ns = start;
        return 0;
}
