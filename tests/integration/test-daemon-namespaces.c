/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Integration: the daemon outside the initial namespaces must fail fast and say why.
 *
 * The kernel ignores a subscription from another pid or user namespace without an ack, and refuses
 * the send from another network namespace. The daemon must report each with a clear line and exit 3,
 * never hang. Uses unshare(1) for real; needs root, exits 77 without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-cleanup.h"

static const char *daemon_path;

static void run_unshare(const char *const flags[], const char *expect) {
        char *argv[8], out[8192];
        uint64_t start = harness_now_ms(), ms;
        int n = 0, status;

        argv[n++] = (char *) "unshare";
        for (const char *const *f = flags; *f; f++)
                argv[n++] = (char *) *f;
        argv[n++] = (char *) daemon_path;
        argv[n] = NULL;

        status = harness_run_capture(argv, out, sizeof(out), 10000);
        ms = harness_now_ms() - start;
        print_message("exit after %llu ms: %s", (unsigned long long) ms, out);
        assert_true(status != -1); /* it did not hang */
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 3);
        assert_non_null(strstr(out, expect));
        assert_true(ms < 5000);
}

static void test_pid_namespace(void **state) {
        static const char *const flags[] = { "-p", "-f", NULL };
        run_unshare(flags, "did not acknowledge");
}

static void test_user_namespace(void **state) {
        static const char *const flags[] = { "-U", "-r", NULL };
        run_unshare(flags, "did not acknowledge");
}

static void test_network_namespace(void **state) {
        static const char *const flags[] = { "-n", NULL };
        run_unshare(flags, "initial network namespace");
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_pid_namespace),
                cmocka_unit_test(test_user_namespace),
                cmocka_unit_test(test_network_namespace),
        };

        tc_init("daemon-ns");

        if (argc < 2) {
                fprintf(stderr, "usage: %s PATH-TO-PROCWATCHD\n", argv[0]);
                return 2;
        }
        daemon_path = argv[1];
        if (geteuid() != 0) {
                fprintf(stderr, "needs root for unshare: skipping\n");
                return 77;
        }
        return cmocka_run_group_tests_name("procwatchd outside the initial namespaces", tests, NULL, NULL);
}
