/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Integration: loss is detected and counted, never silent.
 *
 * The daemon runs with the smallest receive buffer it accepts and is frozen with SIGSTOP while this
 * test forks a storm of short-lived children, so its queue overflows for real. After SIGCONT it must
 * report ENOBUFS, count the missed events from the per-CPU sequence gaps, and the events it received
 * plus those it counts as lost must cover every event the storm caused. Needs root; exits 77
 * without it. */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-cleanup.h"

#define STORM 3000

static const char *daemon_path;

/* A child that exits on the given CPU, so that CPU's sequence baseline is set before the storm. */
static pid_t exit_on_cpu(int cpu) {
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                cpu_set_t set;

                CPU_ZERO(&set);
                CPU_SET(cpu, &set);
                _exit(sched_setaffinity(0, sizeof(set), &set) < 0 ? 1 : 0);
        }
        assert_int_equal(waitpid(pid, NULL, 0), pid);
        return pid;
}

static bool parse_status(Daemon *d, unsigned long long *events, unsigned long long *lost,
                         unsigned long long *overflows, unsigned long long *drops) {
        char *all = harness_notify_copy(d);
        const char *s = NULL;
        bool ok;

        /* The newest STATUS= line. */
        for (const char *p = all; p && (p = strstr(p, "STATUS=")); p++)
                s = p;
        ok = s && sscanf(s, "STATUS=Watching: %*f events/s, %llu events, %llu lost, %llu overflows, %llu socket drops",
                           events, lost, overflows, drops) == 4;
        free(all);
        return ok;
}

static void test_overflow_is_counted(void **state) {
        char *argv[] = { (char *) "procwatchd", (char *) "--print-events=raw", (char *) "--rcvbuf=64K", NULL };
        unsigned long long events = 0, lost = 0, overflows = 0, drops = 0;
        long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
        uint64_t deadline;
        Daemon d;
        char *line;

        assert_int_equal(harness_start(&d, daemon_path, argv, NULL, 0), 0);
        assert_true(harness_wait_notify(&d, "READY=1", false, 30000));

        /* With so small a buffer, a burst from elsewhere on the machine can overflow it and take our
         * event with it: try again with a new child until one is seen per CPU. */
        for (int cpu = 0; cpu < ncpu; cpu++) {
                uint64_t until = harness_now_ms() + 20000;

                for (line = NULL; !line && harness_now_ms() < until;) {
                        pid_t pid = exit_on_cpu(cpu);
                        char want[64];

                        snprintf(want, sizeof(want), "event=exit cpu=%d pid=%d", cpu, pid);
                        line = harness_wait_line(&d, want, 500);
                }
                assert_non_null(line);
                free(line);
        }

        assert_int_equal(kill(d.pid, SIGSTOP), 0);
        for (int i = 0; i < STORM; i++) {
                pid_t pid = fork();

                assert_true(pid >= 0);
                if (pid == 0)
                        _exit(0);
                assert_int_equal(waitpid(pid, NULL, 0), pid);
        }
        assert_int_equal(kill(d.pid, SIGCONT), 0);

        /* A gap shows when a CPU's next event arrives: give every CPU one after the storm. */
        deadline = harness_now_ms() + 10000;
        while (harness_now_ms() < deadline) {
                for (int cpu = 0; cpu < ncpu; cpu++)
                        (void) exit_on_cpu(cpu);
                harness_pump(&d, 200);
                if (parse_status(&d, &events, &lost, &overflows, &drops) && overflows > 0 && drops > 0 &&
                    events + lost >= 2 * STORM)
                        break;
        }
        /* Every fork and exit of the storm is either received or counted lost. */
        print_message("status: %llu events, %llu lost, %llu overflows, %llu socket drops\n", events, lost,
                      overflows, drops);
        if (overflows == 0 || lost == 0 || drops == 0 || events + lost < 2 * STORM)
                harness_cleanup(&d, true);
        assert_true(overflows > 0);
        assert_true(lost > 0);
        assert_true(drops > 0);
        assert_true(events + lost >= 2 * STORM);

        assert_int_equal(harness_stop(&d, SIGTERM, 3000, NULL), 0);
        {
                /* And the log says so, once, with the count. */
                char out[8192];
                char *cat[] = { (char *) "cat", d.stderr_path, NULL };

                assert_true(harness_run_capture(cat, out, sizeof(out), 5000) == 0);
                assert_non_null(strstr(out, "Process events lost: "));
        }
        harness_cleanup(&d, false);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_overflow_is_counted),
        };

        tc_init("daemon-loss");

        if (argc < 2) {
                fprintf(stderr, "usage: %s PATH-TO-PROCWATCHD\n", argv[0]);
                return 2;
        }
        daemon_path = argv[1];
        if (geteuid() != 0) {
                fprintf(stderr, "needs root: skipping\n");
                return 77;
        }
        return cmocka_run_group_tests_name("procwatchd loss accounting", tests, NULL, NULL);
}
