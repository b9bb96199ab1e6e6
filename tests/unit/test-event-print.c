/* SPDX-License-Identifier: GPL-2.0-or-later */
/* --print-events: the human line filled from a real tree (command line, status, lifetime, ids,
 * threads), and the raw line of the decoder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event-print.h"
#include "macro.h"
#include "procfs.h"
#include "test-cleanup.h"

#define HZ 100
#define MS 1000000ULL
/* Monotonic 0 is 2023-11-14 22:13:20 UTC (TZ is set in main()). */
#define OFFSET ((int64_t) 1700000000000000000LL)

static ProcTree *tree;

static int setup(void **state) {
        static const char bash_argv[] = "-bash";
        PwProcInfo i = { .stat = { .pid = 100, .ppid = 1, .sid = 100, .state = 'S' }, .start_ns = 50 * MS,
                         .start_boot_ns = 50 * MS, .have_status = true, .uid = 1000, .euid = 1000, .gid = 100,
                         .egid = 100, .tgid = 100, .argv = (char *) bash_argv, .argv_len = sizeof(bash_argv) - 1 };

        assert_int_equal(proctree_new(&tree, NULL), 0);
        strncpy(i.stat.comm, "bash", PW_COMM_MAX);
        assert_int_equal(proctree_add_from_proc(tree, &i, PW_SOURCE_SCAN, HZ), 0);
        return 0;
}

static int teardown(void **state) {
        tree = proctree_free(tree);
        return 0;
}

/* Applies ev and returns its human line, without the newline. */
static char *line_of(PwEvent ev) {
        PwApplyResult res;
        char *out = NULL;
        size_t len;
        FILE *f;

        assert_int_equal(proctree_apply(tree, &ev, &res), 0);
        f = open_memstream(&out, &len);
        assert_non_null(f);
        assert_int_equal(pw_event_print_human(f, &ev, &res, OFFSET), 0);
        assert_int_equal(fclose(f), 0);
        if (len > 0 && out[len - 1] == '\n')
                out[len - 1] = '\0';
        return out;
}

static void expect(PwEvent ev, const char *want) {
        _cleanup_(freep) char *got = line_of(ev);

        if (strcmp(got, want) != 0)
                fail_msg("got \"%s\", want \"%s\"", got, want);
}

static void test_lifecycle(void **state) {
        static const char argv[] = "ls\0-l\0caf\xc3\xa9\n";
        PwProcInfo i = { .stat = { .pid = 200, .ppid = 100, .sid = 100, .state = 'R' }, .start_ns = 1000 * MS,
                         .start_boot_ns = 1000 * MS, .have_status = true, .uid = 1000, .euid = 1000, .gid = 100,
                         .egid = 100, .tgid = 200, .argv = (char *) argv, .argv_len = sizeof(argv) - 1 };

        expect((PwEvent){ .kind = PW_EVENT_FORK, .timestamp_ns = 1000 * MS,
                          .fork = { .parent_pid = 100, .parent_tgid = 100, .child_pid = 200, .child_tgid = 200 } },
               "22:13:21.000 fork        200 bash child of 100");
        /* The exec's line comes once /proc gave the image, as the manager publishes it. */
        {
                PwEvent ev = { .kind = PW_EVENT_EXEC, .timestamp_ns = 1001 * MS, .exec = { .pid = 200, .tgid = 200 } };
                PwApplyResult res;
                char *out = NULL;
                size_t len;
                FILE *f;

                assert_int_equal(proctree_apply(tree, &ev, &res), 0);
                strncpy(i.stat.comm, "ls", PW_COMM_MAX);
                assert_int_equal(proctree_enrich(tree, &i, HZ), 0);
                f = open_memstream(&out, &len);
                assert_non_null(f);
                assert_int_equal(pw_event_print_human(f, &ev, &res, OFFSET), 0);
                assert_int_equal(fclose(f), 0);
                assert_string_equal(out, "22:13:21.001 exec        200 ls ls -l caf\xc3\xa9\\n\n");
                free(out);
        }
        expect((PwEvent){ .kind = PW_EVENT_UID, .timestamp_ns = 1002 * MS,
                          .id = { .pid = 200, .tgid = 200, .real = 1000, .effective = 0 } },
               "22:13:21.002 uid         200 ls uid 1000, effective 0");
        expect((PwEvent){ .kind = PW_EVENT_FORK, .timestamp_ns = 1003 * MS,
                          .fork = { .parent_pid = 200, .parent_tgid = 100, .child_pid = 201, .child_tgid = 200 } },
               "22:13:21.003 fork        200 ls child of 100, thread 201");
        expect((PwEvent){ .kind = PW_EVENT_EXIT, .timestamp_ns = 1004 * MS,
                          .exit = { .pid = 201, .tgid = 200, .signal = -1 } },
               "22:13:21.004 exit        200 ls thread 201 ended");
        expect((PwEvent){ .kind = PW_EVENT_EXIT, .timestamp_ns = 1012 * MS,
                          .exit = { .pid = 200, .tgid = 200, .code = SIGSEGV | 0x80, .signal = SIGCHLD } },
               "22:13:21.012 exit        200 ls killed SIGSEGV (core), lived 12ms");
        expect((PwEvent){ .kind = PW_EVENT_EXIT, .timestamp_ns = 1500 * MS,
                          .exit = { .pid = 100, .tgid = 100, .code = 3 << 8, .signal = SIGCHLD } },
               "22:13:21.500 exit        100 bash exit 3, lived 1.4s");
}

static void test_not_printed_and_raw(void **state) {
        PwEvent ack = { .kind = PW_EVENT_NONE, .cpu = PW_CPU_NONE };
        PwApplyResult res = {};
        char *out = NULL;
        size_t len;
        FILE *f = open_memstream(&out, &len);

        assert_non_null(f);
        /* The kernel's ack is no process event: no human line. */
        assert_int_equal(pw_event_print_human(f, &ack, &res, OFFSET), 0);
        pw_event_print_raw(f, &(PwEvent){ .kind = PW_EVENT_EXEC, .timestamp_ns = 5, .cpu = 1, .seq = 2,
                                          .exec = { .pid = 300, .tgid = 300 } });
        assert_int_equal(fclose(f), 0);
        assert_string_equal(out, "ts=5 cpu=1 seq=2 event=exec pid=300 tgid=300\n");
        free(out);

        assert_string_equal(pw_print_events_to_string(PW_PRINT_EVENTS_NO), "no");
        assert_string_equal(pw_print_events_to_string(PW_PRINT_EVENTS_HUMAN), "yes");
        assert_string_equal(pw_print_events_to_string(PW_PRINT_EVENTS_RAW), "raw");
        assert_null(pw_print_events_to_string(_PW_PRINT_EVENTS_MAX));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_lifecycle, setup, teardown),
                cmocka_unit_test_setup_teardown(test_not_printed_and_raw, setup, teardown),
        };

        tc_init("event-print");
        setenv("TZ", "UTC", 1);
        tzset();

        return cmocka_run_group_tests(tests, NULL, NULL);
}
