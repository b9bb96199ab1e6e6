/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchctl's human forms on a known tree: durations, statuses, command lines with bytes a terminal
 * must not see raw, the nesting of tree --json, and the exact text of ps, tree, show, stats and events
 * lines; colour only when asked for, lines cut to the terminal's width, relative times. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl-client.h"
#include "ctl-format.h"
#include "macro.h"
#include "test-cleanup.h"

/* 2023-11-14 22:13:20 UTC */
#define T0 (1700000000ULL * 1000000ULL)

/* A flat Tree reply: init -> bash -> (sleep alive, false exit 1, crash SIGSEGV+core, lost: unknown), and a
 * process whose parent is not listed. Names and argv carry escapes and control characters. Resources:
 * false has its record, crash's never came, lost's I/O is hidden from the caller (null), bash sums its
 * exited children. */
static const char flat_json[] =
        "["
        "{\"id\":\"1:1\",\"pid\":1,\"ppid\":0,\"parent_id\":null,\"comm\":\"init\",\"argv\":[\"/sbin/init\"],"
        " \"euid\":0,\"uid\":0,\"gid\":0,\"egid\":0,\"state\":\"alive\",\"exit\":null,"
        " \"start_realtime_usec\":1700000000000000,\"duration_usec\":3600000000,\"children\":[100]},"
        "{\"id\":\"100:5\",\"pid\":100,\"ppid\":1,\"parent_id\":\"1:1\",\"comm\":\"bash\",\"argv\":[\"bash\",\"-l\"],"
        " \"euid\":1000,\"uid\":1000,\"gid\":1000,\"egid\":1000,\"state\":\"alive\",\"exit\":null,"
        " \"start_realtime_usec\":1700000001000000,\"duration_usec\":65000000,\"children\":[200,201,202,203],"
        " \"resources\":null,\"resources_state\":null,"
        " \"subtree_resources\":{\"cpu_usec\":8140000,\"cpu_user_usec\":7930000,\"cpu_system_usec\":210000,"
        "  \"max_rss_bytes\":536870912,\"minor_faults\":1300,\"major_faults\":3,\"read_bytes\":null,"
        "  \"write_bytes\":null,\"cancelled_write_bytes\":null,\"read_syscall_bytes\":null,"
        "  \"write_syscall_bytes\":null,\"delays\":null,\"processes\":2,\"missing\":1,\"uncertain\":0}},"
        "{\"id\":\"200:7\",\"pid\":200,\"ppid\":100,\"parent_id\":\"100:5\",\"comm\":\"sleep\",\"argv\":[\"sleep\",\"1e3\"],"
        " \"euid\":1000,\"state\":\"alive\",\"exit\":null,"
        " \"start_realtime_usec\":1700000002000000,\"duration_usec\":1500,\"children\":[]},"
        "{\"id\":\"201:8\",\"pid\":201,\"ppid\":100,\"parent_id\":\"100:5\",\"comm\":\"false\",\"argv\":[\"false\"],"
        " \"euid\":1000,\"state\":\"exited\",\"exit\":{\"code\":1,\"signal\":null,\"core_dumped\":false},"
        " \"start_realtime_usec\":1700000003000000,\"duration_usec\":2500000,\"children\":[],"
        " \"resources\":{\"cpu_usec\":8100000,\"cpu_user_usec\":7900000,\"cpu_system_usec\":200000,"
        "  \"elapsed_usec\":2500000,\"max_rss_bytes\":536870912,\"max_vm_bytes\":1288490188,"
        "  \"minor_faults\":1200,\"major_faults\":3,\"read_bytes\":4096,\"write_bytes\":20971520,"
        "  \"cancelled_write_bytes\":262144,\"read_syscall_bytes\":5120,\"write_syscall_bytes\":20971520,"
        "  \"voluntary_ctxsw\":12,\"involuntary_ctxsw\":3,\"tasks\":1,"
        "  \"delays\":{\"cpu\":{\"count\":34,\"total_ns\":1200000},\"blkio\":{\"count\":0,\"total_ns\":0},"
        "   \"swapin\":{\"count\":2,\"total_ns\":3000000000}},\"uncertain\":false},"
        " \"resources_state\":\"joined\"},"
        "{\"id\":\"202:9\",\"pid\":202,\"ppid\":100,\"parent_id\":\"100:5\",\"comm\":\"cr\\u001bash\","
        " \"argv\":[\"./crash\",\"a\\nb\",\"caf\\u00e9\"],\"argv_truncated\":true,"
        " \"euid\":1000,\"state\":\"exited\",\"exit\":{\"code\":null,\"signal\":11,\"core_dumped\":true},"
        " \"start_realtime_usec\":1700000004000000,\"duration_usec\":12000,\"children\":[],"
        " \"resources\":null,\"resources_state\":\"missing\"},"
        "{\"id\":\"203:10\",\"pid\":203,\"ppid\":100,\"parent_id\":\"100:5\",\"comm\":\"lost\",\"argv\":[],"
        " \"euid\":1000,\"state\":\"exited\",\"exit\":{\"code\":null,\"signal\":null,\"core_dumped\":false},"
        " \"start_realtime_usec\":1700000005000000,\"duration_usec\":4000000000,\"children\":[],"
        " \"resources\":{\"cpu_usec\":40000,\"cpu_user_usec\":30000,\"cpu_system_usec\":10000,"
        "  \"elapsed_usec\":4000000000,\"max_rss_bytes\":3145728,\"max_vm_bytes\":8388608,"
        "  \"minor_faults\":100,\"major_faults\":0,\"read_bytes\":null,\"write_bytes\":null,"
        "  \"cancelled_write_bytes\":null,\"read_syscall_bytes\":null,\"write_syscall_bytes\":null,"
        "  \"voluntary_ctxsw\":1,\"involuntary_ctxsw\":0,\"tasks\":1,\"uncertain\":true,"
        "  \"delays\":{\"cpu\":{\"count\":3,\"total_ns\":2000000},\"blkio\":{\"count\":0,\"total_ns\":0},"
        "   \"swapin\":null,\"irq\":null}},"
        " \"resources_state\":\"joined\"},"
        "{\"id\":\"300:11\",\"pid\":300,\"ppid\":299,\"parent_id\":\"299:1\",\"comm\":\"orphan\",\"argv\":[\"orphan\"],"
        " \"euid\":0,\"state\":\"displaced\",\"exit\":null,"
        " \"start_realtime_usec\":1600000000000000,\"duration_usec\":5000000,\"children\":[]}"
        "]";

static const CtlFormat fmt_ascii = { .utf8 = false, .now_usec = T0 + 3600 * 1000000ULL, .resolve_names = false };

static json_t *load(const char *text) {
        json_error_t err;
        json_t *j = json_loads(text, 0, &err);

        if (!j)
                fail_msg("bad test JSON: %s at %d", err.text, err.position);
        return j;
}

/* Runs a printer into a string. */
#define CAPTURE(out, call)                                                                                \
        do {                                                                                              \
                size_t _len;                                                                              \
                FILE *f = open_memstream(&(out), &_len);                                                  \
                assert_non_null(f);                                                                       \
                assert_int_equal((call), 0);                                                              \
                assert_int_equal(fclose(f), 0);                                                           \
        } while (0)

static void test_status_and_command(void **state) {
        static const struct {
                pid_t pid;
                const char *status, *command, *command_utf8;
        } want[] = {
                { 1, "running", "/sbin/init", "/sbin/init" },
                { 201, "exit 1", "false", "false" },
                { 202, "killed SIGSEGV (core)", "./crash a\\nb caf\\xc3\\xa9 ...", "./crash a\\nb caf\xc3\xa9 ..." },
                { 203, "unknown", "[lost]", "[lost]" },
                { 300, "gone", "orphan", "orphan" },
        };
        json_t *flat = load(flat_json), *p;
        size_t i;

        json_array_foreach(flat, i, p) {
                pid_t pid = (pid_t) json_integer_value(json_object_get(p, "pid"));

                for (size_t k = 0; k < ELEMENTSOF(want); k++) {
                        _cleanup_(freep) char *c = NULL, *u = NULL;
                        char buf[64];

                        if (want[k].pid != pid)
                                continue;
                        assert_string_equal(ctl_format_status(buf, sizeof(buf), p), want[k].status);
                        c = ctl_format_command(p, false);
                        u = ctl_format_command(p, true);
                        assert_string_equal(c, want[k].command);
                        assert_string_equal(u, want[k].command_utf8);
                }
        }
        json_decref(flat);
}

static void test_nest(void **state) {
        json_t *flat = load(flat_json), *roots, *bash, *kids;
        char *text;

        assert_int_equal(ctl_nest_tree(flat, &roots), 0);
        /* init, and the orphan whose parent is not listed. */
        assert_int_equal(json_array_size(roots), 2);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(roots, 1), "pid")), 300);
        bash = json_array_get(json_object_get(json_array_get(roots, 0), "children"), 0);
        assert_int_equal(json_integer_value(json_object_get(bash, "pid")), 100);
        kids = json_object_get(bash, "children");
        assert_int_equal(json_array_size(kids), 4);
        /* Objects now, in the daemon's order. */
        assert_true(json_is_object(json_array_get(kids, 0)));
        assert_int_equal(json_integer_value(json_object_get(json_array_get(kids, 3), "pid")), 203);
        assert_int_equal(json_array_size(json_object_get(json_array_get(kids, 0), "children")), 0);
        /* It serialises (no cycles) and parses back. */
        text = json_dumps(roots, JSON_COMPACT);
        assert_non_null(text);
        json_decref(load(text));
        free(text);
        json_decref(roots);
        json_decref(flat);

        /* Not an array, or an entry without an id. */
        flat = load("{}");
        assert_int_equal(ctl_nest_tree(flat, &roots), -EBADMSG);
        json_decref(flat);
        flat = load("[{\"pid\":1}]");
        assert_int_equal(ctl_nest_tree(flat, &roots), -EBADMSG);
        json_decref(flat);
}

static void test_print_tree(void **state) {
        static const char want_ascii[] =
                "init(1) [up 1h00m]\n"
                "`-bash(100) [up 1m05s]\n"
                "  |-sleep(200) [up 1ms]\n"
                "  |-false(201) [exit 1, lived 2.5s]\n"
                "  |-cr\\x1bash(202) [killed SIGSEGV (core), lived 12ms]\n"
                "  `-lost(203) [unknown, lived 1h06m]\n"
                "orphan(300) [gone, seen for 5.0s]\n";
        static const char want_utf8[] =
                "init(1) [up 1h00m]\n"
                "\u2514\u2500bash(100) [up 1m05s]\n"
                "  \u251c\u2500sleep(200) [up 1ms]\n"
                "  \u251c\u2500false(201) [exit 1, lived 2.5s]\n"
                "  \u251c\u2500cr\\x1bash(202) [killed SIGSEGV (core), lived 12ms]\n"
                "  \u2514\u2500lost(203) [unknown, lived 1h06m]\n"
                "orphan(300) [gone, seen for 5.0s]\n";
        CtlFormat fmt_utf8 = fmt_ascii;
        json_t *flat = load(flat_json), *roots;
        char *out = NULL;

        assert_int_equal(ctl_nest_tree(flat, &roots), 0);
        CAPTURE(out, ctl_print_tree(f, roots, &fmt_ascii));
        assert_string_equal(out, want_ascii);
        free(out);
        fmt_utf8.utf8 = true;
        CAPTURE(out, ctl_print_tree(f, roots, &fmt_utf8));
        assert_string_equal(out, want_utf8);
        free(out);
        json_decref(roots);
        json_decref(flat);
}

static void test_print_ps(void **state) {
        /* Times in UTC (TZ set in main); the orphan started long before "now": a date. */
        static const char want[] =
                "PID PPID USER START    LIFETIME  CPU MAXRSS  IO STATUS                CMD\n"
                "  1    0 0    22:13:20    1h00m    -      -   - running               /sbin/init\n"
                "100    1 1000 22:13:21    1m05s    -      -   - running               bash -l\n"
                "200  100 1000 22:13:22      1ms    -      -   - running               sleep 1e3\n"
                "201  100 1000 22:13:23     2.5s 8.1s   512M 20M exit 1                false\n"
                "202  100 1000 22:13:24     12ms    -      -   - killed SIGSEGV (core) ./crash a\\nb caf\\xc3\\xa9 ...\n"
                "203  100 1000 22:13:25    1h06m 40ms   3.0M   - unknown               [lost]\n"
                "300  299 0    Sep13        5.0s    -      -   - gone                  orphan\n";
        json_t *flat = load(flat_json);
        char *out = NULL;

        CAPTURE(out, ctl_print_ps(f, flat, &fmt_ascii));
        assert_string_equal(out, want);
        free(out);
        json_decref(flat);
}

static void test_print_show(void **state) {
        json_t *flat = load(flat_json), *p = json_array_get(flat, 4);
        char *out = NULL;

        json_object_set_new(p, "comm_history",
                            load("[{\"time_realtime_usec\":1700000004500000,\"old\":\"crash\",\"new\":\"cr\\u001bash\"}]"));
        json_object_set_new(p, "uncertain", load("[\"image\"]"));
        CAPTURE(out, ctl_print_show(f, p, &fmt_ascii));
        assert_non_null(strstr(out, "cr\\x1bash (pid 202)\n"));
        assert_non_null(strstr(out, "            Id: 202:9\n"));
        assert_non_null(strstr(out, "        Status: killed SIGSEGV (core)\n"));
        assert_non_null(strstr(out, "       Command: ./crash a\\nb caf\\xc3\\xa9 ...\n"));
        assert_non_null(strstr(out, "        Parent: 100 (100:5)\n"));
        assert_non_null(strstr(out, "       Started: 2023-11-14 22:13:24.000 (59m56s ago)\n"));
        assert_non_null(strstr(out, "      Lifetime: 12ms\n"));
        assert_non_null(strstr(out, "       Renamed: 2023-11-14 22:13:24.500 crash -> cr\\x1bash\n"));
        assert_non_null(strstr(out, "     Uncertain: image\n"));
        assert_null(strchr(out, '\x1b'));
        free(out);
        json_decref(flat);
}

static void test_bytes(void **state) {
        static const struct {
                uint64_t bytes;
                const char *want_short;
        } cases[] = {
                { 0, "0" },
                { 512, "512B" },
                { 1023, "1023B" },
                { 1024, "1.0K" },
                { 1536, "1.5K" },
                { 10 * 1024, "10K" },
                { 512ULL << 20, "512M" },
                { 1288490188, "1.2G" },
                { UINT64_MAX, "16384P" },
        };
        char buf[32];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_string_equal(ctl_format_bytes_short(buf, sizeof(buf), cases[i].bytes), cases[i].want_short);
}

/* show's Resources block: every figure of a joined record, hidden I/O and delays, a record that never
 * came, and the subtree totals of a live shell; nothing for a live process without exited children. */
static void test_print_show_resources(void **state) {
        json_t *flat = load(flat_json);
        char *out = NULL;

        CAPTURE(out, ctl_print_show(f, json_array_get(flat, 3), &fmt_ascii));
        assert_non_null(strstr(out, "     Resources: from the kernel's exit record\n"
                                    "           CPU: 8.1s (user 7.9s, system 200ms)\n"
                                    "       Elapsed: 2.5s\n"
                                    "       Max RSS: 512 MiB\n"
                                    "        Max VM: 1.2 GiB\n"
                                    "        Faults: 1200 minor, 3 major\n"
                                    "   Storage I/O: read 4.0 KiB, written 20 MiB, cancelled 256 KiB\n"
                                    "   Syscall I/O: read 5.0 KiB, written 20 MiB\n"
                                    "  Ctx switches: 12 voluntary, 3 involuntary\n"
                                    "        Delays: cpu 1ms (34), swapin 3.0s (2)\n"));
        assert_null(strstr(out, "Subtree"));
        free(out);

        /* I/O and delays null: hidden from this caller; joined just after a loss. */
        CAPTURE(out, ctl_print_show(f, json_array_get(flat, 5), &fmt_ascii));
        assert_non_null(strstr(out, "     Resources: uncertain: joined just after records were lost\n"));
        assert_non_null(strstr(out, "           CPU: 40ms (user 30ms, system 10ms)\n"));
        assert_non_null(strstr(out, "   Storage I/O: hidden\n   Syscall I/O: hidden\n"));
        assert_non_null(strstr(out, "        Delays: cpu 2ms (3); others hidden\n"));
        free(out);

        CAPTURE(out, ctl_print_show(f, json_array_get(flat, 4), &fmt_ascii));
        assert_non_null(strstr(out, "     Resources: unknown: no exit record came\n"));
        assert_null(strstr(out, "CPU"));
        free(out);

        CAPTURE(out, ctl_print_show(f, json_array_get(flat, 1), &fmt_ascii));
        assert_null(strstr(out, "Resources"));
        assert_non_null(strstr(out, "       Subtree: 2 processes summed, 1 missing, 0 uncertain\n"
                                    "   Subtree CPU: 8.1s (user 7.9s, system 210ms)\n"
                                    "   Subtree RSS: 512 MiB (the largest process)\n"
                                    "Subtree faults: 1300 minor, 3 major\n"
                                    "   Subtree I/O: storage hidden; syscalls hidden\n"));
        free(out);

        CAPTURE(out, ctl_print_show(f, json_array_get(flat, 2), &fmt_ascii));
        assert_null(strstr(out, "Resources"));
        assert_null(strstr(out, "Subtree"));
        free(out);
        json_decref(flat);
}

static void assert_pid_order(const json_t *procs, const int *want, size_t n) {
        assert_int_equal(json_array_size(procs), n);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(json_integer_value(json_object_get(json_array_get(procs, i), "pid")), want[i]);
}

/* ps --sort: the largest first, processes without the figure after them in the daemon's order. */
static void test_sort(void **state) {
        static const int by_cpu[] = { 201, 203, 1, 100, 200, 202, 300 };
        static const int by_rss[] = { 201, 203, 1, 100, 200, 202, 300 };
        static const int by_io[] = { 201, 1, 100, 200, 202, 203, 300 };
        static const int by_lifetime[] = { 203, 1, 100, 300, 201, 202, 200 };
        static const int daemon_order[] = { 1, 100, 200, 201, 202, 203, 300 };
        static const struct {
                const char *name;
                const int *want;
        } cases[] = { { "cpu", by_cpu }, { "rss", by_rss }, { "io", by_io }, { "lifetime", by_lifetime } };
        CtlSortKey key;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_t *flat = load(flat_json);

                assert_int_equal(ctl_sort_key_from_string(cases[i].name, &key), 0);
                assert_int_equal(ctl_sort_processes(flat, key), 0);
                assert_pid_order(flat, cases[i].want, ELEMENTSOF(daemon_order));
                json_decref(flat);
        }
        json_t *flat = load(flat_json);
        assert_int_equal(ctl_sort_processes(flat, CTL_SORT_NONE), 0);
        assert_pid_order(flat, daemon_order, ELEMENTSOF(daemon_order));
        json_decref(flat);

        assert_int_equal(ctl_sort_key_from_string("CPU", &key), -EINVAL);
        assert_int_equal(ctl_sort_key_from_string("", &key), -EINVAL);
        assert_int_equal(ctl_sort_key_from_string("mem", &key), -EINVAL);
        flat = load("{}");
        assert_int_equal(ctl_sort_processes(flat, CTL_SORT_CPU), -EBADMSG);
        json_decref(flat);
}

static void test_print_stats(void **state) {
        json_t *s = load("{\"events\":{\"fork\":3,\"exit\":2},\"lost\":0,\"events_per_sec\":1.25,\"clients\":1}");
        char *out = NULL;

        CAPTURE(out, ctl_print_stats(f, s));
        assert_string_equal(out, "events:\n"
                                 "  fork                   3\n"
                                 "  exit                   2\n"
                                 "lost                     0\n"
                                 "events per sec           1.2\n"
                                 "clients                  1\n");
        free(out);
        json_decref(s);
}

static void test_add_user_and_exit_codes(void **state) {
        json_t *p = load("{\"euid\":0}"), *q = load("{}");

        assert_int_equal(ctl_add_user(p, false), 0);
        assert_string_equal(json_string_value(json_object_get(p, "user")), "0");
        assert_int_equal(ctl_add_user(p, true), 0);
        assert_true(json_is_string(json_object_get(p, "user")));
        assert_int_equal(ctl_add_user(q, true), 0);
        assert_true(json_is_null(json_object_get(q, "user")));
        json_decref(p);
        json_decref(q);

        assert_int_equal(ctl_exit_status_for_connect(-ENOENT), CTL_EXIT_NOT_RUNNING);
        assert_int_equal(ctl_exit_status_for_connect(-ECONNREFUSED), CTL_EXIT_NOT_RUNNING);
        assert_int_equal(ctl_exit_status_for_connect(-EACCES), CTL_EXIT_PERMISSION);
        assert_int_equal(ctl_exit_status_for_connect(-EIO), CTL_EXIT_FAILURE);
}

static void test_ago(void **state) {
        char buf[64];

        assert_string_equal(ctl_format_ago(buf, sizeof(buf), T0, T0 + 3200000), "3.2s ago");
        assert_string_equal(ctl_format_ago(buf, sizeof(buf), T0, T0 + 302 * 1000000ULL), "5m02s ago");
        assert_string_equal(ctl_format_ago(buf, sizeof(buf), T0 + 5, T0), "just now");
}

static void test_print_events(void **state) {
        static const char events_json[] =
                "["
                "{\"kind\":\"fork\",\"time_realtime_usec\":1700000000250000,\"pid\":4242,\"tid\":4242,\"thread\":false,"
                " \"parent_pid\":100,\"process\":{\"pid\":4242,\"comm\":\"bash\",\"argv\":[\"bash\"]}},"
                "{\"kind\":\"exec\",\"time_realtime_usec\":1700000000251000,\"pid\":4242,\"tid\":4242,\"thread\":false,"
                " \"process\":{\"pid\":4242,\"comm\":\"ls\",\"argv\":[\"ls\",\"-l\",\"a\\u001bb\"]}},"
                "{\"kind\":\"exit\",\"time_realtime_usec\":1700000000263000,\"pid\":4242,\"tid\":4242,\"thread\":false,"
                " \"lifetime_usec\":12000,\"process\":{\"pid\":4242,\"comm\":\"ls\",\"state\":\"exited\","
                " \"exit\":{\"code\":0,\"signal\":null,\"core_dumped\":false}}},"
                "{\"kind\":\"exit\",\"time_realtime_usec\":1700000000264000,\"pid\":4300,\"tid\":4301,\"thread\":true,"
                " \"process\":{\"pid\":4300,\"comm\":\"java\",\"state\":\"alive\",\"exit\":null}},"
                "{\"kind\":\"uid\",\"time_realtime_usec\":1700000000265000,\"pid\":4400,\"tid\":4400,\"thread\":false,"
                " \"process\":{\"pid\":4400,\"comm\":\"sudo\",\"uid\":1000,\"euid\":0}},"
                "{\"kind\":\"exit\",\"time_realtime_usec\":1700000001000000,\"pid\":4500,\"tid\":4500,\"thread\":false,"
                " \"lifetime_usec\":3200000,\"process\":{\"pid\":4500,\"comm\":\"crash\",\"state\":\"exited\","
                " \"exit\":{\"code\":null,\"signal\":11,\"core_dumped\":true}}},"
                "{\"kind\":\"exit\",\"time_realtime_usec\":1700000002000000,\"pid\":4600,\"tid\":4600,\"thread\":false,"
                " \"lifetime_usec\":12300000,\"process\":{\"pid\":4600,\"comm\":\"make\",\"state\":\"exited\","
                " \"exit\":{\"code\":0,\"signal\":null,\"core_dumped\":false},\"resources_state\":\"joined\","
                " \"resources\":{\"cpu_usec\":8149999,\"max_rss_bytes\":536870912}}},"
                "{\"kind\":\"exit\",\"time_realtime_usec\":1700000003000000,\"pid\":4700,\"tid\":4700,\"thread\":false,"
                " \"lifetime_usec\":5000,\"process\":{\"pid\":4700,\"comm\":\"true\",\"state\":\"exited\","
                " \"exit\":{\"code\":0,\"signal\":null,\"core_dumped\":false},\"resources_state\":\"missing\","
                " \"resources\":null}}"
                "]";
        static const char want[] =
                "22:13:20.250 fork       4242 bash child of 100\n"
                "22:13:20.251 exec       4242 ls ls -l a\\x1bb\n"
                "22:13:20.263 exit       4242 ls exit 0, lived 12ms\n"
                "22:13:20.264 exit       4300 java thread 4301 ended\n"
                "22:13:20.265 uid        4400 sudo uid 1000, effective 0\n"
                "22:13:21.000 exit       4500 crash killed SIGSEGV (core), lived 3.2s\n"
                "22:13:22.000 exit       4600 make exit 0, lived 12.3s, cpu 8.1s, max rss 512 MiB\n"
                "22:13:23.000 exit       4700 true exit 0, lived 5ms, resources unknown\n"
                "-- 17 events missed: procwatchctl did not keep up --\n";
        json_t *events = load(events_json), *e;
        char *out = NULL;
        size_t len, i;
        FILE *f = open_memstream(&out, &len);

        assert_non_null(f);
        json_array_foreach(events, i, e)
                assert_int_equal(ctl_print_event(f, e, &fmt_ascii), 0);
        assert_int_equal(ctl_print_missed(f, 17, &fmt_ascii), 0);
        assert_int_equal(fclose(f), 0);
        assert_string_equal(out, want);
        free(out);
        json_decref(events);
}

/* Cells a line takes on a terminal (a code point each, no escape sequences). */
static size_t line_cells(const char *s, size_t n) {
        size_t c = 0;

        for (size_t i = 0; i < n; i++)
                if (((unsigned char) s[i] & 0xC0) != 0x80)
                        c++;
        return c;
}

static void test_color_and_width(void **state) {
        CtlFormat fmt = fmt_ascii;
        json_t *flat = load(flat_json), *roots;
        char *out = NULL;

        /* Without colour, no escape at all (NO_COLOR, pipes): checked by the exact texts above. With it, the
         * status of a killed process is red and the colour is reset after it. */
        fmt.color = true;
        CAPTURE(out, ctl_print_ps(f, flat, &fmt));
        assert_non_null(strstr(out, "\033[31mkilled SIGSEGV (core)\033[0m"));
        assert_non_null(strstr(out, "\033[32mrunning\033[0m"));
        free(out);

        /* 80 columns: every line of ps fits; the command is what gets cut. */
        fmt.color = false;
        fmt.columns = 80;
        CAPTURE(out, ctl_print_ps(f, flat, &fmt));
        for (char *line = out, *nl; (nl = strchr(line, '\n')); line = nl + 1)
                assert_true(line_cells(line, (size_t) (nl - line)) <= 80);
        assert_non_null(strstr(out, " bash -l\n"));
        assert_null(strstr(out, "caf"));
        free(out);

        /* A tree cut to 40 columns keeps each line's status note whole. */
        fmt.columns = 40;
        fmt.utf8 = true;
        assert_int_equal(ctl_nest_tree(flat, &roots), 0);
        CAPTURE(out, ctl_print_tree(f, roots, &fmt));
        for (char *line = out, *nl; (nl = strchr(line, '\n')); line = nl + 1)
                assert_true(line_cells(line, (size_t) (nl - line)) <= 40);
        assert_non_null(strstr(out, "[killed SIGSEGV (core), lived 12ms]\n"));
        free(out);
        json_decref(roots);
        json_decref(flat);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_status_and_command),
                cmocka_unit_test(test_nest),
                cmocka_unit_test(test_print_tree),
                cmocka_unit_test(test_print_ps),
                cmocka_unit_test(test_print_show),
                cmocka_unit_test(test_print_stats),
                cmocka_unit_test(test_bytes),
                cmocka_unit_test(test_print_show_resources),
                cmocka_unit_test(test_sort),
                cmocka_unit_test(test_add_user_and_exit_codes),
                cmocka_unit_test(test_ago),
                cmocka_unit_test(test_print_events),
                cmocka_unit_test(test_color_and_width),
        };

        tc_init("ctl-format");

        setenv("TZ", "UTC", 1);
        tzset();
        return cmocka_run_group_tests(tests, NULL, NULL);
}
