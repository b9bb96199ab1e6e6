/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The human event line (see event-line.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event-line.h"
#include "format-util.h"
#include "macro.h"
#include "time-util.h"
#include "utf8.h"

#define ANSI_RED "\033[31m"
#define ANSI_GREEN "\033[32m"
#define ANSI_BLUE "\033[34m"
#define ANSI_MAGENTA "\033[35m"
#define ANSI_GREY "\033[90m"
#define ANSI_RESET "\033[0m"

static const char *kind_color(const char *kind) {
        if (strcmp(kind, "fork") == 0)
                return ANSI_BLUE;
        if (strcmp(kind, "exec") == 0)
                return ANSI_GREEN;
        if (strcmp(kind, "exit") == 0)
                return ANSI_GREY;
        if (strcmp(kind, "coredump") == 0)
                return ANSI_RED;
        return ANSI_MAGENTA;
}

char *format_exit_status(char *buf, size_t size, bool has_code, int64_t code, bool has_signal, int64_t signal,
                         bool core_dumped) {
        char sig[32];

        if (has_code)
                snprintf(buf, size, "exit %" PRId64, code);
        else if (has_signal)
                snprintf(buf, size, "killed %s%s", format_signal(sig, sizeof(sig), signal), core_dumped ? " (core)" : "");
        else
                snprintf(buf, size, "unknown");
        return buf;
}

char *event_line_cost(char *buf, size_t size, EventLineCost cost, uint64_t cpu_usec, uint64_t max_rss_bytes) {
        char cpu[32], rss[32];

        if (cost == EVENT_LINE_COST_KNOWN)
                snprintf(buf, size, ", cpu %ss, max rss %s", format_seconds_tenths(cpu, sizeof(cpu), cpu_usec),
                         format_bytes(rss, sizeof(rss), max_rss_bytes));
        else if (cost == EVENT_LINE_COST_MISSING)
                snprintf(buf, size, ", resources unknown");
        else if (size > 0)
                buf[0] = '\0';
        return buf;
}

char *event_line_command(const char *comm, const char *const *argv, size_t argc, bool truncated, bool utf8) {
        char *out = NULL;
        size_t len = 0;
        FILE *f;

        f = open_memstream(&out, &len);
        if (!f)
                return NULL;
        if (argc == 0) {
                _cleanup_(freep) char *c = utf8_escape_display(comm ?: "", strlen(comm ?: ""), utf8);

                fprintf(f, "[%s]", c ?: "");
        } else
                for (size_t i = 0; i < argc; i++) {
                        _cleanup_(freep) char *s = argv[i] ? utf8_escape_display(argv[i], strlen(argv[i]), utf8) : NULL;

                        fprintf(f, "%s%s", i > 0 ? " " : "", s ?: "");
                }
        if (truncated)
                fputs(" ...", f);
        if (fclose(f) != 0) {
                free(out);
                return NULL;
        }
        return out;
}

/* The time of day of a wall-clock time: "HH:MM:SS.mmm", local time. */
static void time_of_day(char *buf, size_t size, uint64_t realtime_usec) {
        time_t t = (time_t) (realtime_usec / USEC_PER_SEC);
        struct tm tm;
        char tmp[16];

        if (!localtime_r(&t, &tm) || strftime(tmp, sizeof(tmp), "%H:%M:%S", &tm) == 0)
                snprintf(buf, size, "?");
        else
                snprintf(buf, size, "%s.%03u", tmp, (unsigned) (realtime_usec % USEC_PER_SEC / 1000));
}

static int detail_of(const EventLine *l, const char *kind, char **ret) {
        char d[32], cost[96];

        if (strcmp(kind, "fork") == 0)
                return asprintf(ret, "child of %" PRId64, l->parent_pid);
        if (strcmp(kind, "exec") == 0)
                return asprintf(ret, "%s", l->command ?: "");
        if (strcmp(kind, "exit") == 0 && l->has_lifetime)
                return asprintf(ret, "%s, lived %s%s", l->status ?: "unknown",
                                format_duration(d, sizeof(d), l->lifetime_usec, FORMAT_DURATION_SHORT),
                                event_line_cost(cost, sizeof(cost), l->cost, l->cpu_usec, l->max_rss_bytes));
        if (strcmp(kind, "exit") == 0)
                return asprintf(ret, "thread %" PRId64 " ended", l->tid);
        if (!l->has_process)
                return asprintf(ret, "%s", "");
        if (strcmp(kind, "uid") == 0)
                return asprintf(ret, "uid %" PRId64 ", effective %" PRId64, l->uid, l->euid);
        if (strcmp(kind, "gid") == 0)
                return asprintf(ret, "gid %" PRId64 ", effective %" PRId64, l->gid, l->egid);
        if (strcmp(kind, "sid") == 0)
                return asprintf(ret, "session %" PRId64, l->sid);
        if (strcmp(kind, "ptrace") == 0)
                return l->has_tracer ? asprintf(ret, "traced by %" PRId64, l->tracer) : asprintf(ret, "detached");
        return asprintf(ret, "%s", "");
}

int event_line_print(FILE *f, const EventLine *l, const EventLineStyle *style) {
        const char *kind = l->kind ?: "?";
        _cleanup_(freep) char *comm = NULL, *detail = NULL, *line = NULL,
                             *kind_e = utf8_escape_display(kind, strlen(kind), false);
        char ts[32];
        unsigned cols = style->columns;

        if (!kind_e)
                return -ENOMEM;
        comm = l->has_process ? utf8_escape_display(l->comm ?: "", strlen(l->comm ?: ""), style->utf8) : strdup("?");
        if (!comm)
                return -ENOMEM;
        time_of_day(ts, sizeof(ts), l->realtime_usec);
        if (detail_of(l, kind, &detail) < 0)
                return -ENOMEM;
        if (l->thread && strcmp(kind, "exit") != 0) {
                char *withtid = NULL;

                if (asprintf(&withtid, "%s%sthread %" PRId64, detail, *detail ? ", " : "", l->tid) < 0)
                        return -ENOMEM;
                free(detail);
                detail = withtid;
        }
        if (asprintf(&line, "%7" PRId64 " %s %s", l->pid, comm, detail) < 0)
                return -ENOMEM;
        /* Everything after the kind is cut to the terminal's width: 22 cells go to the time and kind. */
        fprintf(f, "%s %s%-8s%s%.*s\n", ts, style->color ? kind_color(kind) : "", kind_e,
                style->color ? ANSI_RESET : "", (int) utf8_fit(line, cols > 22 + 10 ? cols - 22 : cols ? 10 : 0),
                line);
        return 0;
}
