/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Durations, signal names and byte sizes for people (see format-util.h). */
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "format-util.h"
#include "macro.h"
#include "time-util.h"

char *format_duration(char *buf, size_t size, uint64_t usec, FormatDuration form) {
        const uint64_t min = 60 * USEC_PER_SEC, hour = 60 * min, day = 24 * hour;

        if (usec < USEC_PER_MSEC)
                snprintf(buf, size, "%" PRIu64 "us", usec);
        else if (usec < USEC_PER_SEC)
                snprintf(buf, size, "%" PRIu64 "ms", usec / USEC_PER_MSEC);
        else if (form == FORMAT_DURATION_MSEC)
                snprintf(buf, size, "%" PRIu64 ".%03" PRIu64 "s", usec / USEC_PER_SEC,
                         usec / USEC_PER_MSEC % 1000);
        else if (usec < min)
                snprintf(buf, size, "%" PRIu64 ".%" PRIu64 "s", usec / USEC_PER_SEC, usec % USEC_PER_SEC / 100000);
        else if (usec < hour)
                snprintf(buf, size, "%" PRIu64 "m%02" PRIu64 "s", usec / min, usec / USEC_PER_SEC % 60);
        else if (usec < day)
                snprintf(buf, size, "%" PRIu64 "h%02" PRIu64 "m", usec / hour, usec / min % 60);
        else
                snprintf(buf, size, "%" PRIu64 "d%02" PRIu64 "h", usec / day, usec / hour % 24);
        return buf;
}

char *format_signal(char *buf, size_t size, int64_t sig) {
        const char *abbrev = sig > 0 && sig < 65 ? sigabbrev_np((int) sig) : NULL;

        if (abbrev)
                snprintf(buf, size, "SIG%s", abbrev);
        else
                snprintf(buf, size, "signal %" PRId64, sig);
        return buf;
}

/* printf's "%.0f" (tenths false) or "%.1f" (tenths true) of the exact value num / den, without
 * floating point: rounded half to even, as glibc rounds the exact binary value it is given. Only for
 * values a double holds exactly (the caller checks), or that no tie can be mistaken for. */
static void format_ratio(char *buf, size_t size, uint64_t num, uint64_t den, bool tenths) {
        uint64_t t = tenths ? num * 10 : num, q = t / den, r = t % den;

        if (r * 2 > den || (r * 2 == den && (q & 1)))
                q++;
        if (tenths)
                snprintf(buf, size, "%" PRIu64 ".%" PRIu64, q / 10, q % 10);
        else
                snprintf(buf, size, "%" PRIu64, q);
}

char *format_bytes(char *buf, size_t size, uint64_t v) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
        double d = (double) v;
        unsigned u = 0;

        if (v < (UINT64_C(1) << 53)) {
                /* Exact in a double, and so by integers: no printf("%f") on every exit entry. */
                uint64_t den = 1;
                char num[32];

                while (v / den >= 1024 && u + 1 < ELEMENTSOF(units)) {
                        den *= 1024;
                        u++;
                }
                if (u == 0)
                        snprintf(buf, size, "%" PRIu64 " B", v);
                else {
                        format_ratio(num, sizeof(num), v, den, v < 10 * den);
                        snprintf(buf, size, "%s %s", num, units[u]);
                }
                return buf;
        }
        while (d >= 1024.0 && u + 1 < ELEMENTSOF(units)) {
                d /= 1024.0;
                u++;
        }
        if (u == 0)
                snprintf(buf, size, "%" PRIu64 " B", v);
        else
                snprintf(buf, size, d < 10.0 ? "%.1f %s" : "%.0f %s", d, units[u]);
        return buf;
}

/* "%.1f" of usec / 1e6 seconds. The double printf would be given is within half an ulp of the exact
 * quotient, which is at least 1 us from a tie unless it is one: so below 2^50 us only an exact tie
 * (x.x5 s) needs printf to say how the double rounds. */
char *format_seconds_tenths(char *buf, size_t size, uint64_t usec) {
        if (usec < (UINT64_C(1) << 50) && usec % 100000 != 50000)
                format_ratio(buf, size, usec, 1000000, true);
        else
                snprintf(buf, size, "%.1f", (double) usec / 1e6);
        return buf;
}

