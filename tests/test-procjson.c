/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Process records as JSON: a tree built from scripted events and /proc reads, checked field by field
 * (exit statuses, times, ids, children, U+FFFD in place of invalid bytes), and the Stats object. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "procjson.h"
#include "proctree.h"
#include "test-cleanup.h"

#define HZ 100
#define MS 1000000ULL
/* A wall clock 1.7e9 s ahead of the monotonic one. */
#define OFFSET_NS (1700000000LL * 1000000000LL)
#define NOW_NS (5000 * MS)

static ProcTree *t;
static const ProcJsonContext ctx = { .realtime_offset_ns = OFFSET_NS, .now_ns = NOW_NS };

static PwEvent ev_fork(uint64_t ts, pid_t ppid, pid_t pid) {
        return (PwEvent){ .kind = PW_EVENT_FORK,
                          .timestamp_ns = ts,
                          .fork = { .parent_pid = ppid, .parent_tgid = ppid, .child_pid = pid, .child_tgid = pid } };
}

static PwEvent ev_exit(uint64_t ts, pid_t pid, uint32_t code) {
        return (PwEvent){ .kind = PW_EVENT_EXIT,
                          .timestamp_ns = ts,
                          .exit = { .pid = pid, .tgid = pid, .code = code, .signal = SIGCHLD } };
}

static void apply(PwEvent ev) {
        assert_int_equal(proctree_apply(t, &ev, NULL), 0);
}

/* A process as the /proc scan gives it; argv is argv_len bytes of NUL-separated words. */
static void add_proc(pid_t pid, pid_t ppid, uint64_t start_ns, const char *comm, const char *exe, const char *argv,
                     size_t argv_len, const char *cgroup, const char *unit, uint32_t uid) {
        PwProcInfo i = {
                .stat = { .pid = pid, .ppid = ppid, .sid = 1, .state = 'S' },
                .start_ns = start_ns,
                .have_status = true,
                .uid = uid, .euid = uid, .gid = uid, .egid = uid,
                .exe = (char *) exe,
                .argv = (char *) argv,
                .argv_len = argv_len,
                .cgroup = (char *) cgroup,
                .unit = (char *) unit,
        };

        strncpy(i.stat.comm, comm, PW_COMM_MAX);
        assert_int_equal(proctree_add_from_proc(t, &i, PW_SOURCE_SCAN, HZ), 0);
}

static json_t *to_json(pid_t pid) {
        PwProcess *p = proctree_get(t, pid);
        char *text;
        json_t *j;

        assert_non_null(p);
        assert_int_equal(procjson_process(p, &ctx, &j), 0);
        /* Whatever it holds, it must dump as JSON (jansson refuses invalid UTF-8). */
        text = json_dumps(j, JSON_COMPACT);
        assert_non_null(text);
        free(text);
        return j;
}

static int64_t get_int(const json_t *o, const char *key) {
        const json_t *v = json_object_get(o, key);

        if (!json_is_integer(v))
                fail_msg("%s is not an integer", key);
        return json_integer_value(v);
}

static const char *get_str(const json_t *o, const char *key) {
        const json_t *v = json_object_get(o, key);

        if (!json_is_string(v))
                fail_msg("%s is not a string", key);
        return json_string_value(v);
}

static int setup(void **state) {
        static const char init_argv[] = "/sbin/init\0splash";

        assert_int_equal(proctree_new(&t, NULL), 0);
        add_proc(1, 0, 1 * MS, "init", "/sbin/init", init_argv, sizeof(init_argv), "/init.scope", "init.scope", 0);
        add_proc(100, 1, 50 * MS, "bash", "/usr/bin/bash", "bash", 5, "/user.slice/session-3.scope",
                 "session-3.scope", 1000);
        return 0;
}

static int teardown(void **state) {
        t = proctree_free(t);
        return 0;
}

static void test_alive(void **state) {
        json_t *j = to_json(100), *a;

        assert_string_equal(get_str(j, "id"), "100:50000000");
        assert_int_equal(get_int(j, "pid"), 100);
        assert_int_equal(get_int(j, "ppid"), 1);
        assert_string_equal(get_str(j, "parent_id"), "1:1000000");
        assert_true(json_is_null(json_object_get(j, "original_ppid")));
        assert_string_equal(get_str(j, "comm"), "bash");
        assert_string_equal(get_str(j, "exe"), "/usr/bin/bash");
        a = json_object_get(j, "argv");
        assert_int_equal(json_array_size(a), 1);
        assert_string_equal(json_string_value(json_array_get(a, 0)), "bash");
        assert_false(json_is_true(json_object_get(j, "argv_truncated")));
        assert_int_equal(get_int(j, "uid"), 1000);
        assert_int_equal(get_int(j, "euid"), 1000);
        assert_int_equal(get_int(j, "gid"), 1000);
        assert_int_equal(get_int(j, "egid"), 1000);
        assert_int_equal(get_int(j, "sid"), 1);
        assert_string_equal(get_str(j, "unit"), "session-3.scope");
        assert_string_equal(get_str(j, "cgroup"), "/user.slice/session-3.scope");
        assert_true(json_is_null(json_object_get(j, "tracer")));
        assert_int_equal(get_int(j, "threads"), 1);
        assert_string_equal(get_str(j, "state"), "alive");
        assert_string_equal(get_str(j, "source"), "scan");
        assert_int_equal(get_int(j, "start_monotonic_ns"), 50 * MS);
        assert_int_equal(get_int(j, "start_realtime_usec"), (OFFSET_NS + (int64_t) (50 * MS)) / 1000);
        assert_true(json_is_null(json_object_get(j, "exit_realtime_usec")));
        /* Alive: the lifetime so far, to the "now" given. */
        assert_int_equal(get_int(j, "duration_usec"), (NOW_NS - 50 * MS) / 1000);
        assert_true(json_is_null(json_object_get(j, "exit")));
        assert_int_equal(json_array_size(json_object_get(j, "uncertain")), 0);
        assert_int_equal(json_array_size(json_object_get(j, "children")), 0);
        assert_int_equal(json_array_size(json_object_get(j, "comm_history")), 0);
        json_decref(j);
}

/* Forks a child of bash at ts that ends at end with the wait status code. */
static void fork_and_end(pid_t pid, uint64_t ts, uint64_t end, uint32_t code) {
        apply(ev_fork(ts, 100, pid));
        apply(ev_exit(end, pid, code));
}

static void test_exit_statuses(void **state) {
        json_t *j, *e;

        /* exit(3) */
        fork_and_end(200, 1000 * MS, 1500 * MS, 3 << 8);
        j = to_json(200);
        assert_string_equal(get_str(j, "state"), "exited");
        e = json_object_get(j, "exit");
        assert_true(json_is_object(e));
        assert_int_equal(get_int(e, "code"), 3);
        assert_true(json_is_null(json_object_get(e, "signal")));
        assert_true(json_is_false(json_object_get(e, "core_dumped")));
        assert_int_equal(get_int(j, "duration_usec"), 500 * 1000);
        assert_int_equal(get_int(j, "exit_monotonic_ns"), 1500 * MS);
        assert_int_equal(get_int(j, "exit_realtime_usec"), (OFFSET_NS + (int64_t) (1500 * MS)) / 1000);
        /* The child is a copy of its parent until it execs. */
        assert_string_equal(get_str(j, "comm"), "bash");
        assert_string_equal(get_str(j, "parent_id"), "100:50000000");
        assert_string_equal(get_str(j, "source"), "event");
        json_decref(j);

        /* SIGSEGV with a core dump: code null, signal 11, core_dumped. */
        fork_and_end(300, 1100 * MS, 1200 * MS, SIGSEGV | 0x80);
        j = to_json(300);
        e = json_object_get(j, "exit");
        assert_true(json_is_null(json_object_get(e, "code")));
        assert_int_equal(get_int(e, "signal"), SIGSEGV);
        assert_true(json_is_true(json_object_get(e, "core_dumped")));
        json_decref(j);

        /* SIGKILL: no core. */
        fork_and_end(400, 1300 * MS, 1301 * MS, SIGKILL);
        j = to_json(400);
        e = json_object_get(j, "exit");
        assert_true(json_is_null(json_object_get(e, "code")));
        assert_int_equal(get_int(e, "signal"), SIGKILL);
        assert_true(json_is_false(json_object_get(e, "core_dumped")));
        assert_int_equal(get_int(j, "duration_usec"), 1000);
        json_decref(j);

        /* exit(0) */
        fork_and_end(450, 1400 * MS, 1400 * MS + 1000, 0);
        j = to_json(450);
        assert_int_equal(get_int(json_object_get(j, "exit"), "code"), 0);
        assert_int_equal(get_int(j, "duration_usec"), 1);
        json_decref(j);
}

static void test_children(void **state) {
        ProcJsonContext alive_only = ctx;
        json_t *j, *c;

        fork_and_end(200, 1000 * MS, 1500 * MS, 0);
        apply(ev_fork(900 * MS, 100, 300)); /* older than 200, still alive */
        apply(ev_fork(1100 * MS, 100, 250));

        j = to_json(100);
        c = json_object_get(j, "children");
        /* Oldest first, exited ones included. */
        assert_int_equal(json_array_size(c), 3);
        assert_int_equal(json_integer_value(json_array_get(c, 0)), 300);
        assert_int_equal(json_integer_value(json_array_get(c, 1)), 200);
        assert_int_equal(json_integer_value(json_array_get(c, 2)), 250);
        json_decref(j);

        alive_only.children_alive_only = true;
        assert_int_equal(procjson_process(proctree_get(t, 100), &alive_only, &j), 0);
        c = json_object_get(j, "children");
        assert_int_equal(json_array_size(c), 2);
        assert_int_equal(json_integer_value(json_array_get(c, 0)), 300);
        assert_int_equal(json_integer_value(json_array_get(c, 1)), 250);
        json_decref(j);
}

static void test_invalid_utf8(void **state) {
        /* A word with a stray byte, a truncated sequence at the end of another, and an overlong slash. */
        static const char argv[] = "a\xff"
                                   "b\0c\xe2\x82\0\xc0\xaf";
        static const struct {
                const char *word;
        } want[] = { { "a" UTF8_REPLACEMENT "b" }, { "c" UTF8_REPLACEMENT }, { UTF8_REPLACEMENT UTF8_REPLACEMENT } };
        PwEvent comm = { .kind = PW_EVENT_COMM, .timestamp_ns = 2000 * MS, .comm = { .pid = 100, .tgid = 100 } };
        json_t *j, *a, *h;

        add_proc(600, 100, 1900 * MS, "x\x80y", "/tmp/\xfe\xff", argv, sizeof(argv), "/c\xed\xa0\x80", NULL, 0);
        j = to_json(600);
        assert_string_equal(get_str(j, "comm"), "x" UTF8_REPLACEMENT "y");
        assert_string_equal(get_str(j, "exe"), "/tmp/" UTF8_REPLACEMENT UTF8_REPLACEMENT);
        /* A surrogate (ED A0 80): three maximal subparts. */
        assert_string_equal(get_str(j, "cgroup"), "/c" UTF8_REPLACEMENT UTF8_REPLACEMENT UTF8_REPLACEMENT);
        assert_true(json_is_null(json_object_get(j, "unit")));
        a = json_object_get(j, "argv");
        assert_int_equal(json_array_size(a), ELEMENTSOF(want));
        for (size_t i = 0; i < ELEMENTSOF(want); i++)
                assert_string_equal(json_string_value(json_array_get(a, i)), want[i].word);
        json_decref(j);

        /* A rename to bytes that are not UTF-8; the history keeps both names. */
        memcpy(comm.comm.comm, "\xf5\xf6ok", 5);
        apply(comm);
        j = to_json(100);
        assert_string_equal(get_str(j, "comm"), UTF8_REPLACEMENT UTF8_REPLACEMENT "ok");
        h = json_object_get(j, "comm_history");
        assert_int_equal(json_array_size(h), 1);
        assert_string_equal(get_str(json_array_get(h, 0), "old"), "bash");
        assert_string_equal(get_str(json_array_get(h, 0), "new"), UTF8_REPLACEMENT UTF8_REPLACEMENT "ok");
        assert_int_equal(get_int(json_array_get(h, 0), "time_realtime_usec"), (OFFSET_NS + (int64_t) (2000 * MS)) / 1000);
        assert_int_equal(get_int(j, "comm_changes"), 1);
        json_decref(j);
}

static void test_placeholder_and_unknown_exit(void **state) {
        PwEvent uid = { .kind = PW_EVENT_UID, .timestamp_ns = 3000 * MS, .id = { .pid = 700, .tgid = 700, .real = 5, .effective = 6 } };
        PwProcInfo snap[2] = {};
        unsigned ended, added;
        json_t *j, *u, *e;
        size_t i;
        bool seen[5] = {};
        static const char *const names[] = { "start", "parent", "image", "exit", "ids" };

        /* An event for a pid never seen makes a placeholder. */
        apply(uid);
        j = to_json(700);
        assert_string_equal(get_str(j, "source"), "placeholder");
        u = json_object_get(j, "uncertain");
        json_array_foreach(u, i, e)
                for (size_t k = 0; k < ELEMENTSOF(names); k++)
                        if (strcmp(json_string_value(e), names[k]) == 0)
                                seen[k] = true;
        assert_true(seen[0] && seen[1] && seen[2] && !seen[3]);
        assert_int_equal(get_int(j, "uid"), 5);
        assert_int_equal(get_int(j, "euid"), 6);
        json_decref(j);

        /* Events were lost and /proc no longer has it: it ended, status unknown. */
        snap[0].stat = (PwStat){ .pid = 1, .ppid = 0 };
        snap[0].start_ns = 1 * MS;
        snap[1].stat = (PwStat){ .pid = 100, .ppid = 1 };
        snap[1].start_ns = 50 * MS;
        assert_int_equal(proctree_reconcile(t, snap, 2, 4000 * MS, HZ, PW_SOURCE_RECONCILED, &ended, &added), 0);
        assert_int_equal(ended, 1);
        j = to_json(700);
        assert_string_equal(get_str(j, "state"), "exited");
        e = json_object_get(j, "exit");
        assert_true(json_is_object(e));
        assert_true(json_is_null(json_object_get(e, "code")));
        assert_true(json_is_null(json_object_get(e, "signal")));
        memset(seen, 0, sizeof(seen));
        json_array_foreach(json_object_get(j, "uncertain"), i, u)
                if (strcmp(json_string_value(u), "exit") == 0)
                        seen[3] = true;
        assert_true(seen[3]);
        json_decref(j);
}

static void test_displaced(void **state) {
        json_t *j;
        PwProcess *old;

        apply(ev_fork(1000 * MS, 100, 800));
        old = proctree_get_live(t, 800);
        /* A FORK reusing 800 before the old one's EXIT: the old record is displaced. */
        apply(ev_fork(2000 * MS, 100, 800));
        assert_int_equal(procjson_process(old, &ctx, &j), 0);
        assert_string_equal(get_str(j, "state"), "displaced");
        assert_true(json_is_null(json_object_get(j, "exit")));
        assert_string_equal(procjson_state(old), "displaced");
        json_decref(j);
}

static void test_stats(void **state) {
        CnProcStats cs = { .events = 42, .enobufs = 2, .socket_drops = 3, .malformed = 4 };
        PwDaemonStats s = {
                .cnproc = &cs,
                .lost = 7,
                .reconciliations = 5,
                .tree = t,
                .clients = 3,
                .events_per_sec = 1.5,
        };
        json_t *j, *ev;

        cs.events_by_kind[PW_EVENT_FORK] = 40;
        cs.events_by_kind[PW_EVENT_EXIT] = 2;
        fork_and_end(200, 1000 * MS, 1500 * MS, 0);
        assert_int_equal(procjson_stats(&s, &j), 0);
        ev = json_object_get(j, "events");
        assert_true(json_is_object(ev));
        assert_int_equal(get_int(ev, "fork"), 40);
        assert_int_equal(get_int(ev, "exit"), 2);
        assert_int_equal(get_int(ev, "exec"), 0);
        assert_int_equal(get_int(j, "events_total"), 42);
        assert_int_equal(get_int(j, "lost"), 7);
        assert_int_equal(get_int(j, "enobufs"), 2);
        assert_int_equal(get_int(j, "socket_drops"), 3);
        assert_int_equal(get_int(j, "malformed"), 4);
        assert_int_equal(get_int(j, "reconciliations"), 5);
        assert_int_equal(get_int(j, "processes_live"), 2);
        assert_int_equal(get_int(j, "processes_exited"), 1);
        assert_int_equal(get_int(j, "clients"), 3);
        assert_true(json_is_real(json_object_get(j, "events_per_sec")));
        assert_int_equal(get_int(j, "budget_uids_bitten"), 0);
        assert_int_equal(json_array_size(json_object_get(j, "budget_uids")), 0);
        assert_int_equal(get_int(j, "uid_share_percent"), PROCTREE_UID_SHARE_PERCENT_DEFAULT);
        json_decref(j);

        /* Without a socket or tree every figure is there, as 0. */
        s = (PwDaemonStats){};
        assert_int_equal(procjson_stats(&s, &j), 0);
        assert_int_equal(get_int(j, "processes_live"), 0);
        assert_int_equal(get_int(json_object_get(j, "events"), "fork"), 0);
        json_decref(j);
}

int main(void) {
        tc_init("procjson");
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_alive, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exit_statuses, setup, teardown),
                cmocka_unit_test_setup_teardown(test_children, setup, teardown),
                cmocka_unit_test_setup_teardown(test_invalid_utf8, setup, teardown),
                cmocka_unit_test_setup_teardown(test_placeholder_and_unknown_exit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_displaced, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stats, setup, teardown),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
