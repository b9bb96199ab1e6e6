/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: process ids ("PID:START") as a client sends them to io.procwatch.Show, through
 * parse_process_id() and proctree_get_by_id() on a small real tree. procwatchctl does not parse ids
 * itself: an argument holding ':' goes to the daemon as it is.
 *
 * The text is a NUL-terminated copy of exactly the input (a JSON string reaches the parser as a C
 * string). Beyond memory errors, it aborts when a promise of proctree.h breaks: an id is accepted
 * exactly when it is the text a record would carry, so parsing and formatting agree both ways; a
 * record found by id carries exactly that id; every record is found by its own id. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "parse-util.h"
#include "proctree.h"

#define HZ 100
#define MS 1000000ULL

static void check(int ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-process-id: broken promise: %s\n", what);
                abort();
        }
}

static void apply(ProcTree *t, PwEvent ev) {
        check(proctree_apply(t, &ev, NULL) == 0, "the tree builds");
}

static PwEvent ev_fork(uint64_t ts, pid_t ppid, pid_t pid) {
        return (PwEvent){ .kind = PW_EVENT_FORK, .timestamp_ns = ts,
                          .fork = { .parent_pid = ppid, .parent_tgid = ppid, .child_pid = pid, .child_tgid = pid } };
}

static PwEvent ev_exit(uint64_t ts, pid_t pid) {
        return (PwEvent){ .kind = PW_EVENT_EXIT, .timestamp_ns = ts,
                          .exit = { .pid = pid, .tgid = pid, .signal = 17 } };
}

/* Live, exited, the same pid exited twice, and a displaced record: every place get_by_id looks. Built
 * once: lookups do not change it. */
static ProcTree *tree(void) {
        static ProcTree *t;

        if (t)
                return t;
        check(proctree_new(&t, NULL) == 0, "a tree");
        apply(t, ev_fork(1 * MS, 0, 1));
        apply(t, ev_fork(10 * MS, 1, 100));
        apply(t, ev_exit(20 * MS, 100));
        apply(t, ev_fork(30 * MS, 1, 100));
        apply(t, ev_exit(40 * MS, 100));
        apply(t, ev_fork(50 * MS, 1, 2147483647));
        apply(t, ev_fork(60 * MS, 1, 300));
        apply(t, ev_fork(200 * MS, 1, 300)); /* its EXIT not seen: the first 300 is displaced */
        return t;
}

static const char *const known_ids[] = {
        "1:1000000", "100:10000000", "100:30000000", "2147483647:50000000", "300:60000000", "300:200000000",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        ProcTree *t = tree();
        char *text, canon[64];
        PwProcess *p;
        int32_t pid = -1;
        uint64_t start = 0;
        int r;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';

        r = parse_process_id(text, &pid, &start);
        check(r == 0 || r == -EINVAL || r == -ERANGE, "-EINVAL and -ERANGE are the only errors");
        if (r == 0) {
                check(pid > 0, "a pid is positive");
                snprintf(canon, sizeof(canon), "%d:%" PRIu64, (int) pid, start);
                check(strcmp(canon, text) == 0, "an accepted id is the text a record would carry");
        } else
                check(pid == -1, "nothing written on failure");

        p = proctree_get_by_id(t, text);
        check(!p || r == 0, "only a well-formed id finds a record");
        check(!p || strcmp(p->id, text) == 0, "a record found by id carries that id");
        for (size_t i = 0; i < sizeof(known_ids) / sizeof(known_ids[0]); i++)
                if (strcmp(text, known_ids[i]) == 0)
                        check(p != NULL, "every record is found by its own id");

        /* The other way: the bytes as a pid and a start time, formatted as a record's id. */
        if (size >= 12) {
                int32_t v;
                uint64_t s;

                memcpy(&v, data, sizeof(v));
                memcpy(&s, data + 4, sizeof(s));
                if (v > 0) {
                        snprintf(canon, sizeof(canon), "%d:%" PRIu64, (int) v, s);
                        check(parse_process_id(canon, &pid, &start) == 0 && pid == v && start == s,
                              "a record's id parses back to its pid and start");
                }
        }

        free(text);
        return 0;
}
