/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The human event line: the detail of every kind, the thread suffix, escapes, colours, the cut to
 * the terminal's width; the command line, exit status and cost texts. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "event-line.h"
#include "macro.h"
#include "test-cleanup.h"

/* 2023-11-14 22:13:20 UTC, printed in UTC (TZ is set in main()). */
#define T0 1700000000000000ULL

static char *print(const EventLine *l, const EventLineStyle *style) {
        char *out = NULL;
        size_t len;
        FILE *f = open_memstream(&out, &len);

        assert_non_null(f);
        assert_int_equal(event_line_print(f, l, style), 0);
        assert_int_equal(fclose(f), 0);
        return out;
}

static void expect(const EventLine *l, const char *want) {
        _cleanup_(freep) char *got = print(l, &(EventLineStyle){ .utf8 = true });

        if (strcmp(got, want) != 0)
                fail_msg("got \"%s\", want \"%s\"", got, want);
}

static void test_kinds(void **state) {
        EventLine base = { .realtime_usec = T0 + 251000, .pid = 4242, .tid = 4242, .has_process = true, .comm = "ls" };
        EventLine l;

        l = base, l.kind = "fork", l.parent_pid = 100;
        expect(&l, "22:13:20.251 fork       4242 ls child of 100\n");
        l = base, l.kind = "exec", l.command = "ls -l /tmp";
        expect(&l, "22:13:20.251 exec       4242 ls ls -l /tmp\n");
        l = base, l.kind = "exit", l.has_lifetime = true, l.lifetime_usec = 3200000, l.status = "killed SIGSEGV (core)";
        expect(&l, "22:13:20.251 exit       4242 ls killed SIGSEGV (core), lived 3.2s\n");
        l.cost = EVENT_LINE_COST_KNOWN, l.cpu_usec = 8149999, l.max_rss_bytes = 512ULL << 20;
        expect(&l, "22:13:20.251 exit       4242 ls killed SIGSEGV (core), lived 3.2s, cpu 8.1s, max rss 512 MiB\n");
        l.cost = EVENT_LINE_COST_MISSING;
        expect(&l, "22:13:20.251 exit       4242 ls killed SIGSEGV (core), lived 3.2s, resources unknown\n");
        l = base, l.kind = "exit", l.thread = true, l.tid = 4243;
        expect(&l, "22:13:20.251 exit       4242 ls thread 4243 ended\n");
        l = base, l.kind = "uid", l.uid = 1000, l.euid = 0;
        expect(&l, "22:13:20.251 uid        4242 ls uid 1000, effective 0\n");
        l = base, l.kind = "gid", l.gid = 5, l.egid = 6;
        expect(&l, "22:13:20.251 gid        4242 ls gid 5, effective 6\n");
        l = base, l.kind = "sid", l.sid = 4242;
        expect(&l, "22:13:20.251 sid        4242 ls session 4242\n");
        l = base, l.kind = "ptrace", l.has_tracer = true, l.tracer = 77;
        expect(&l, "22:13:20.251 ptrace     4242 ls traced by 77\n");
        l.has_tracer = false;
        expect(&l, "22:13:20.251 ptrace     4242 ls detached\n");
        l = base, l.kind = "comm", l.thread = true, l.tid = 4250;
        expect(&l, "22:13:20.251 comm       4242 ls thread 4250\n");
        l = base, l.kind = "fork", l.thread = true, l.tid = 4251, l.parent_pid = 1;
        expect(&l, "22:13:20.251 fork       4242 ls child of 1, thread 4251\n");
        /* No record: "?" for the name, nothing the record would say. */
        l = base, l.kind = "uid", l.has_process = false;
        expect(&l, "22:13:20.251 uid        4242 ? \n");
        l = base, l.kind = NULL;
        expect(&l, "22:13:20.251 ?          4242 ls \n");
}

static void test_escapes_and_style(void **state) {
        EventLine l = { .kind = "exec", .realtime_usec = T0, .pid = 7, .tid = 7, .has_process = true,
                        .comm = "a\nb\xc3\xa9\x1b", .command = "x" };
        _cleanup_(freep) char *ascii = NULL, *color = NULL, *cut = NULL, *cut_utf8 = NULL;

        expect(&l, "22:13:20.000 exec          7 a\\nb\xc3\xa9\\x1b x\n");
        ascii = print(&l, &(EventLineStyle){});
        assert_string_equal(ascii, "22:13:20.000 exec          7 a\\nb\\xc3\\xa9\\x1b x\n");
        color = print(&l, &(EventLineStyle){ .color = true });
        assert_non_null(strstr(color, " \033[32mexec    \033[0m"));
        /* Everything after the kind fits the width: 40 columns leave 18 cells, never half a character. */
        l.comm = "c";
        l.command = "0123456789abcdefghijklmnop";
        cut = print(&l, &(EventLineStyle){ .columns = 40 });
        assert_string_equal(cut, "22:13:20.000 exec          7 c 01234567\n");
        l.command = "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"; /* 10 cells */
        cut_utf8 = print(&l, &(EventLineStyle){ .utf8 = true, .columns = 40 });
        assert_string_equal(cut_utf8, "22:13:20.000 exec          7 c \xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\n");
}

static void test_parts(void **state) {
        static const char *const argv[] = { "ls", "-l", "a b\x1b" };
        char buf[64];
        char *s;

        s = event_line_command("ls", argv, ELEMENTSOF(argv), false, true);
        assert_string_equal(s, "ls -l a b\\x1b");
        free(s);
        s = event_line_command("ls", argv, 2, true, true);
        assert_string_equal(s, "ls -l ...");
        free(s);
        s = event_line_command("kworker/0:1", NULL, 0, false, true);
        assert_string_equal(s, "[kworker/0:1]");
        free(s);
        s = event_line_command(NULL, (const char *const[]){ NULL }, 1, false, true);
        assert_string_equal(s, "");
        free(s);

        assert_string_equal(format_exit_status(buf, sizeof(buf), true, 3, false, 0, false), "exit 3");
        assert_string_equal(format_exit_status(buf, sizeof(buf), false, 0, true, 9, false), "killed SIGKILL");
        assert_string_equal(format_exit_status(buf, sizeof(buf), false, 0, true, 11, true), "killed SIGSEGV (core)");
        assert_string_equal(format_exit_status(buf, sizeof(buf), false, 0, false, 0, false), "unknown");

        assert_string_equal(event_line_cost(buf, sizeof(buf), EVENT_LINE_COST_NONE, 1, 2), "");
        assert_string_equal(event_line_cost(buf, sizeof(buf), EVENT_LINE_COST_KNOWN, 50000, 1536), ", cpu 0.1s, max rss 1.5 KiB");
        assert_string_equal(event_line_cost(buf, sizeof(buf), EVENT_LINE_COST_MISSING, 1, 2), ", resources unknown");
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_kinds),
                cmocka_unit_test(test_escapes_and_style),
                cmocka_unit_test(test_parts),
        };

        tc_init("event-line");
        setenv("TZ", "UTC", 1);
        tzset();

        return cmocka_run_group_tests(tests, NULL, NULL);
}
