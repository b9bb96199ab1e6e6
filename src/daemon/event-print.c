/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --print-events (see event-print.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "event-line.h"
#include "event-print.h"
#include "macro.h"
#include "resources.h"

static const char *const print_events_names[_PW_PRINT_EVENTS_MAX] = {
        [PW_PRINT_EVENTS_NO] = "no",
        [PW_PRINT_EVENTS_HUMAN] = "yes",
        [PW_PRINT_EVENTS_RAW] = "raw",
};

const char *pw_print_events_to_string(PwPrintEvents p) {
        return (unsigned) p < _PW_PRINT_EVENTS_MAX ? print_events_names[p] : NULL;
}

void pw_event_print_raw(FILE *f, const PwEvent *ev) {
        char line[256];
        size_t n = pw_event_format(ev, line, sizeof(line));

        line[n] = '\n';
        (void) fwrite(line, 1, n + 1, f);
}

/* The argv words of p, pointing into its string; *ret_n of them. */
static int argv_words(const PwProcess *p, const char ***ret, size_t *ret_n) {
        const char *s = p->argv ? p->argv->data : NULL;
        size_t len = p->argv ? p->argv->len : 0, n = 0;
        const char **v;

        *ret_n = 0;
        *ret = NULL;
        if (len == 0)
                return 0;
        v = calloc(len / 2 + 2, sizeof(*v)); /* at most one word per two bytes, plus the last */
        if (!v)
                return -ENOMEM;
        for (size_t i = 0; i < len; i += strlen(s + i) + 1)
                v[n++] = s + i;
        *ret = v;
        *ret_n = n;
        return 0;
}

static void exit_status(char *buf, size_t size, const PwProcess *p) {
        int status = (int) p->exit_code;
        bool known = !(p->uncertain & PW_UNCERTAIN_EXIT);

        if (p->displaced && !p->exited)
                snprintf(buf, size, "gone");
        else if (!p->exited)
                snprintf(buf, size, "running");
        else
                format_exit_status(buf, size, known && WIFEXITED(status), WEXITSTATUS(status),
                                   known && WIFSIGNALED(status), WTERMSIG(status), known && WCOREDUMP(status));
}

int pw_event_print_human(FILE *f, const PwEvent *ev, const PwApplyResult *res, int64_t realtime_offset_ns) {
        const PwProcess *p = res->process;
        _cleanup_(freep) const char **words = NULL;
        _cleanup_(freep) char *command = NULL;
        char status[64];
        size_t n_words;
        EventLine l;

        if (!pw_event_kind_is_process_event(ev->kind))
                return 0;
        l = (EventLine){
                .kind = pw_event_kind_to_string(ev->kind),
                .realtime_usec = (uint64_t) MAX((int64_t) ev->timestamp_ns + realtime_offset_ns, 0) / 1000U,
                .pid = pw_event_tgid(ev),
                .tid = pw_event_tid(ev),
                .thread = res->thread,
                .has_process = p != NULL,
                .parent_pid = ev->kind == PW_EVENT_FORK ? ev->fork.parent_tgid : 0,
        };

        if (p) {
                l.comm = p->comm;
                l.uid = p->uid;
                l.euid = p->euid;
                l.gid = p->gid;
                l.egid = p->egid;
                l.sid = p->sid;
                l.has_tracer = p->tracer > 0;
                l.tracer = p->tracer;
                l.has_lifetime = res->process_ended && p->exit_ns >= p->start_ns;
                l.lifetime_usec = l.has_lifetime ? (p->exit_ns - p->start_ns) / 1000U : 0;
                exit_status(status, sizeof(status), p);
                l.status = status;
                if (pw_process_has_resources(p)) {
                        l.cost = EVENT_LINE_COST_KNOWN;
                        l.cpu_usec = p->resources->self.cpu_usec;
                        l.max_rss_bytes = p->resources->self.max_rss_bytes;
                } else if (p->resources && p->resources->state == PW_RESOURCES_MISSING)
                        l.cost = EVENT_LINE_COST_MISSING;
        }
        if (p && ev->kind == PW_EVENT_EXEC) {
                if (argv_words(p, &words, &n_words) < 0)
                        return -ENOMEM;
                command = event_line_command(p->comm, words, n_words, p->argv_truncated, true);
                if (!command)
                        return -ENOMEM;
                l.command = command;
        }
        /* Standard output may be a file or a pipe: no colours, no width; UTF-8 kept as it is. */
        return event_line_print(f, &l, &(EventLineStyle){ .utf8 = true });
}
