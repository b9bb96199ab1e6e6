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

/* A string built in buf as snprintf() builds it: cut to size - 1 bytes, always NUL-terminated (size >
 * 0). Numbers by hand: these are on every exit entry of the journal and every event line. */
typedef struct Out {
        char *buf;
        size_t size, len;
} Out;

static void out_mem(Out *o, const char *s, size_t n) {
        if (o->size == 0)
                return;
        if (o->len + 1 < o->size) {
                size_t k = MIN(n, o->size - 1 - o->len);

                memcpy(o->buf + o->len, s, k);
                o->len += k;
        }
        o->buf[o->len] = '\0';
}

static void out_str(Out *o, const char *s) {
        out_mem(o, s, strlen(s));
}

/* v in decimal, zero-padded to width digits (printf's "%0*" PRIu64). */
static void out_u64(Out *o, uint64_t v, unsigned width) {
        char tmp[24];
        size_t n = sizeof(tmp);

        do
                tmp[--n] = (char) ('0' + v % 10);
        while ((v /= 10) > 0);
        while (sizeof(tmp) - n < width && n > 0)
                tmp[--n] = '0';
        out_mem(o, tmp + n, sizeof(tmp) - n);
}

static char *out_start(Out *o, char *buf, size_t size) {
        *o = (Out){ .buf = buf, .size = size };
        if (size > 0)
                buf[0] = '\0';
        return buf;
}

/* "2m05s": the first part, then the second in two digits. */
static void two_parts(Out *o, uint64_t a, const char *ua, uint64_t b, const char *ub) {
        out_u64(o, a, 0);
        out_str(o, ua);
        out_u64(o, b, 2);
        out_str(o, ub);
}

char *format_duration(char *buf, size_t size, uint64_t usec, FormatDuration form) {
        const uint64_t min = 60 * USEC_PER_SEC, hour = 60 * min, day = 24 * hour;
        Out o;

        out_start(&o, buf, size);
        if (usec < USEC_PER_MSEC) {
                out_u64(&o, usec, 0);
                out_str(&o, "us");
        } else if (usec < USEC_PER_SEC) {
                out_u64(&o, usec / USEC_PER_MSEC, 0);
                out_str(&o, "ms");
        } else if (form == FORMAT_DURATION_MSEC) {
                out_u64(&o, usec / USEC_PER_SEC, 0);
                out_str(&o, ".");
                out_u64(&o, usec / USEC_PER_MSEC % 1000, 3);
                out_str(&o, "s");
        } else if (usec < min) {
                out_u64(&o, usec / USEC_PER_SEC, 0);
                out_str(&o, ".");
                out_u64(&o, usec % USEC_PER_SEC / 100000, 0);
                out_str(&o, "s");
        } else if (usec < hour)
                two_parts(&o, usec / min, "m", usec / USEC_PER_SEC % 60, "s");
        else if (usec < day)
                two_parts(&o, usec / hour, "h", usec / min % 60, "m");
        else
                two_parts(&o, usec / day, "d", usec / hour % 24, "h");
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
        Out o;

        if (r * 2 > den || (r * 2 == den && (q & 1)))
                q++;
        out_start(&o, buf, size);
        out_u64(&o, tenths ? q / 10 : q, 0);
        if (tenths) {
                out_str(&o, ".");
                out_u64(&o, q % 10, 0);
        }
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
                Out o;

                out_start(&o, buf, size);
                if (u == 0)
                        out_u64(&o, v, 0);
                else {
                        format_ratio(num, sizeof(num), v, den, v < 10 * den);
                        out_str(&o, num);
                }
                out_str(&o, " ");
                out_str(&o, units[u]);
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

