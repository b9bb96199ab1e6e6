/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchd's command line: --help, --version and every kind of bad usage, exit status 2. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>

#include "daemon-harness.h"
#include "test-cleanup.h"

static const char *daemon_path;

static int run(const char *arg1, const char *arg2, char *out, size_t size) {
        char *argv[] = { (char *) daemon_path, (char *) arg1, (char *) arg2, NULL };
        int status = harness_run_capture(argv, out, size, 5000);

        assert_true(status != -1);
        assert_true(WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void test_help_and_version(void **state) {
        char out[8192];

        assert_int_equal(run("--help", NULL, out, sizeof(out)), 0);
        /* Every option the man page documents is in --help. */
        for (const char *const *o = (const char *const[]){ "--print-events", "--rcvbuf=", "--retain-count=",
                                                           "--retain-age=", "--string-budget=", "--argv-max=",
                                                           "--reconcile-interval=", "--log-level=", NULL };
             *o; o++)
                assert_non_null(strstr(out, *o));
        assert_int_equal(run("--version", NULL, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "procwatchd " PACKAGE_VERSION));
}

static void test_bad_usage(void **state) {
        static const char *const bad[][2] = {
                { "--no-such-option", NULL },   { "--rcvbuf=1", NULL },           { "--rcvbuf=2T", NULL },
                { "--rcvbuf=lots", NULL },      { "--log-level=loud", NULL },     { "--retain-count=-1", NULL },
                { "--retain-age=x", NULL },     { "--string-budget=1K", NULL },   { "--argv-max=3G", NULL },
                { "--reconcile-interval=99999999", NULL }, { "stray-argument", NULL }, { "-p", "stray" },
        };
        char out[4096];

        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                int code = run(bad[i][0], bad[i][1], out, sizeof(out));

                print_message("%s %s -> %d: %s", bad[i][0], bad[i][1] ? bad[i][1] : "", code, out);
                assert_int_equal(code, 2);
                assert_true(strlen(out) > 0); /* it says what is wrong */
        }
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_help_and_version),
                cmocka_unit_test(test_bad_usage),
        };

        tc_init("daemon-cli");

        if (argc < 2) {
                fprintf(stderr, "usage: %s PATH-TO-PROCWATCHD\n", argv[0]);
                return 2;
        }
        daemon_path = argv[1];
        return cmocka_run_group_tests_name("procwatchd command line", tests, NULL, NULL);
}
