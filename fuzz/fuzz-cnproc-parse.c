/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: the proc-connector decoder and the event line, on any bytes a socket could hand over.
 *
 * The buffer is walked as the daemon walks a datagram. Beyond memory errors, it aborts when a promise
 * of cnproc-parse.h breaks: consumed never past the buffer, a reason for every reject, a formatted
 * line that is as long as reported and splits on spaces into key=value pairs. */
#include <linux/connector.h>
#include <linux/netlink.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cnproc-parse.h"
#include "fuzz.h"

/* Few enough that fuzzed cpu values hit both sides of the bound. */
#define FUZZ_NCPUS 4U

static void check(int ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-cnproc-parse: broken promise: %s\n", what);
                abort();
        }
}

static void check_line(const char *line, size_t n, size_t size) {
        check(n < size, "format length within the buffer");
        check(strlen(line) == n, "format returns the length written");

        for (const char *p = line; *p;) {
                size_t len = strcspn(p, " ");
                const char *eq = memchr(p, '=', len);

                check(len > 0, "no empty field");
                check(eq && eq > p, "every field is key=value");
                check(!memchr(eq + 1, '=', len - (size_t) (eq + 1 - p)), "one '=' per field");
                for (size_t i = 0; i < len; i++)
                        check(p[i] > ' ' && p[i] < 0x7f, "only printable ASCII in a field");
                p += len;
                if (*p == ' ')
                        p++;
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        while (size > 0) {
                PwParseError why = _PW_PARSE_ERROR_MAX;
                size_t used = (size_t) -1;
                PwEvent ev;
                pid_t tgid;
                char line[512];

                if (pw_event_parse(data, size, FUZZ_NCPUS, &ev, &used, &why) >= 0) {
                        check(used >= NLMSG_HDRLEN + sizeof(struct cn_msg) + 16,
                              "a decoded message holds its headers");
                        check((unsigned) ev.kind < _PW_EVENT_KIND_MAX, "a known kind");
                        check(pw_event_kind_to_string(ev.kind) != NULL, "every kind has a name");
                        check(ev.cpu < FUZZ_NCPUS || (ev.kind == PW_EVENT_NONE && ev.cpu == PW_CPU_NONE),
                              "cpu within bounds");
                        if (ev.kind == PW_EVENT_COMM)
                                check(memchr(ev.comm.comm, '\0', sizeof(ev.comm.comm)) != NULL,
                                      "comm NUL-terminated");
                        tgid = pw_event_tgid(&ev);
                        check(ev.kind != PW_EVENT_NONE || tgid == 0, "an ack has no tgid");
                        check_line(line, pw_event_format(&ev, line, sizeof(line)), sizeof(line));
                } else
                        check(pw_parse_error_to_string(why) != NULL, "a reject names its reason");

                check(used <= size, "consumed within the buffer");
                if (used == 0)
                        break;
                data += used;
                size -= used;
        }
        return 0;
}
