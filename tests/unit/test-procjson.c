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

#include "access-policy.h"
#include "journal-filter.h"
#include "json-util.h"
#include "json-writer.h"
#include "procjson-reference.h"
#include "procjson.h"
#include "proctree.h"
#include "resources.h"
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


/* Every record of the tree, as List would send them to this caller, streamed into one array (each
 * after a comma, as methods.c writes them), checked against the object-built record of before
 * (procjson-reference.c): the same text byte for byte, and the same JSON once parsed. */
static unsigned compare_all(const ProcJsonContext *c) {
        _cleanup_(json_writer_done) JsonWriter w = JSON_WRITER_INIT;
        json_t *want = json_array(), *got;
        PwProcess *v[64];
        size_t n = proctree_collect(t, PROCTREE_WALK_ALL, v, ELEMENTSOF(v));
        char *want_text;

        assert_true(n < ELEMENTSOF(v));
        json_writer_array_begin(&w);
        for (size_t i = 0; i < n; i++) {
                json_t *j;

                if (c->policy && !pw_access_visible(c->policy, c->caller, v[i])) {
                        assert_int_equal(procjson_write_process(&w, v[i], c), -EACCES);
                        assert_int_equal(ref_procjson_process(v[i], c, &j), -EACCES);
                        continue;
                }
                assert_int_equal(procjson_write_process(&w, v[i], c), 0);
                assert_int_equal(ref_procjson_process(v[i], c, &j), 0);
                assert_int_equal(json_array_append_new(want, j), 0);
        }
        json_writer_array_end(&w);
        assert_int_equal(json_writer_error(&w), 0);

        want_text = json_dumps(want, JSON_COMPACT);
        assert_non_null(want_text);
        if (strlen(want_text) != w.len || memcmp(want_text, w.buf, w.len) != 0)
                fail_msg("streamed records differ from the object-built ones:\n%.*s\n%s", (int) MIN(w.len, 4000U),
                         w.buf, want_text);
        got = json_loadb(w.buf, w.len, 0, NULL);
        assert_non_null(got);
        assert_true(json_equal(got, want));
        n = json_array_size(got);
        json_decref(got);
        json_decref(want);
        free(want_text);
        return (unsigned) n;
}

/* Hostile strings everywhere, comm history past its bound, exits of every kind, a displaced record,
 * resource records joined and missing, and callers that see less: the streamed records equal the
 * object-built ones for all of them. */
static void test_streamed_equals_object_built(void **state) {
        static const char argv_bad[] = "\xff\xfe\"quoted\"\0back\\slash\0\x01\x1f\x7f\0\xed\xa0\x80\0\xc3\0--password=x";
        const size_t huge_len = 200000;
        _cleanup_(freep) char *huge = malloc(huge_len);
        _cleanup_(resjoin_freep) ResJoin *rj = NULL;
        PwJournalFilter f;
        PwAccessPolicy pol = { .proc = { .hidepid = PW_HIDEPID_INVISIBLE }, .argv_privacy = &f };
        PwCaller owner = { .pid = 4242, .uid = 1000, .gid = 1000 }, other = { .pid = 4243, .uid = 1001, .gid = 1001 };
        ProcJsonContext c = ctx;
        PwApplyResult res;
        PwEvent e;
        PwTsMsg m = { .kind = PW_TS_MSG_RECORD };
        PwProcess *p;

        assert_non_null(huge);
        for (size_t i = 0; i < huge_len; i++)
                huge[i] = "a\"\\\n\xff\xc3\xa9\0 b"[i % 10];
        huge[huge_len - 1] = '\0';
        add_proc(200, 100, 60 * MS, "ev\"il\xff\n", "/tmp/\x01\xc0\xaf\"exe\\", argv_bad, sizeof(argv_bad),
                 "/user.slice/\"q\"\\\xfe", "a\\b\"c\xe2\x82.scope", 1000);
        add_proc(201, 200, 61 * MS, "huge", "/usr/bin/huge", huge, huge_len, "/user.slice/x", "x.scope", 1000);
        add_proc(202, 200, 62 * MS, "root\x1b[31m", "/usr/sbin/su", "su", 3, "/system.slice/y", "y.service", 0);
        /* Ten comm changes: the history keeps the last eight. */
        for (int i = 0; i < 10; i++) {
                e = (PwEvent){ .kind = PW_EVENT_COMM, .timestamp_ns = (100 + (uint64_t) i) * MS,
                               .comm = { .pid = 201, .tgid = 201 } };
                snprintf(e.comm.comm, sizeof(e.comm.comm), "w%d\xff\"\\\t", i);
                apply(e);
        }
        /* Exits: by a code, by a signal with a core, and one with resource use joined. */
        apply(ev_fork(300 * MS, 200, 300));
        apply(ev_exit(400 * MS, 300, 7 << 8));
        apply(ev_fork(310 * MS, 200, 301));
        apply(ev_exit(410 * MS, 301, SIGSEGV | 0x80));
        assert_int_equal(resjoin_new(&rj), 0);
        apply(ev_fork(320 * MS, 100, 302));
        e = ev_exit(420 * MS, 302, 0);
        assert_int_equal(proctree_apply(t, &e, &res), 0);
        m.task.version = 16;
        m.task.have = PW_TS_HAVE_BASIC | PW_TS_HAVE_XACCT | PW_TS_HAVE_IO | PW_TS_HAVE_TGID | PW_TS_HAVE_DELAY;
        m.task.pid = m.task.tgid = 302;
        m.task.flag = PW_TS_AGROUP;
        m.task.etime_usec = m.task.tgetime_usec = 100000;
        m.task.cpu_run_virtual_total_ns = 5 * MS;
        m.task.utime_usec = 4000;
        m.task.stime_usec = 1000;
        m.task.write_bytes = 4096;
        assert_false(resjoin_process_ended(rj, t, res.process, 421 * MS));
        assert_ptr_equal(resjoin_record(rj, t, &m, 422 * MS), res.process);
        assert_true(pw_process_has_resources(res.process));
        apply(ev_fork(330 * MS, 100, 303));
        e = ev_exit(430 * MS, 303, 0);
        assert_int_equal(proctree_apply(t, &e, &res), 0);
        resjoin_mark_missing(rj, t, res.process);
        /* pid 200 forks again while its record is live: the old one is displaced. */
        apply(ev_fork(500 * MS, 100, 202));
        p = proctree_get_live(t, 100);
        assert_non_null(p);

        /* Everything, as the daemon's own view. */
        assert_int_equal(compare_all(&c), 10);
        c.children_alive_only = true;
        compare_all(&c);
        /* A caller other than root: hidepid, no exe of others, argv redacted. */
        pw_journal_filter_init(&f);
        f.argv_mode = PW_ARGV_REDACT;
        assert_int_equal(pw_journal_filter_add_redact(&f, "--password=*"), 0);
        c.policy = &pol;
        c.caller = &owner;
        assert_true(compare_all(&c) < 10);
        c.caller = &other;
        compare_all(&c);
        f.argv_mode = PW_ARGV_NONE;
        c.caller = &owner;
        compare_all(&c);
        pw_journal_filter_done(&f);
}

static int cmp_by_start(const void *a, const void *b) {
        const PwProcess *x = *(const PwProcess *const *) a, *y = *(const PwProcess *const *) b;

        if (x->start_ns != y->start_ns)
                return x->start_ns < y->start_ns ? -1 : 1;
        return (x->pid > y->pid) - (x->pid < y->pid);
}

/* Children's order: oldest first or newest first by (start, pid), whatever order they come in: the
 * tree's own (newest first), its reverse, equal start times, and shuffled. */
static void test_sort_by_start(void **state) {
        enum { N = 200 };
        static PwProcess procs[N];
        PwProcess *v[N], *want[N];

        for (unsigned order = 0; order < 4; order++)
                for (int newest_first = 0; newest_first < 2; newest_first++) {
                        srand(order * 2 + (unsigned) newest_first);
                        for (size_t i = 0; i < N; i++) {
                                procs[i] = (PwProcess){ .pid = (pid_t) (1000 - i), .start_ns = order == 2 ? 5 : i / 3 };
                                v[i] = &procs[order == 0 ? N - 1 - i : i];
                        }
                        if (order == 3)
                                for (size_t i = N - 1; i > 0; i--) {
                                        size_t j = (size_t) rand() % (i + 1);
                                        PwProcess *x = v[i];

                                        v[i] = v[j];
                                        v[j] = x;
                                }
                        memcpy(want, v, sizeof(v));
                        qsort(want, N, sizeof(*want), cmp_by_start);
                        procjson_sort_by_start(v, N, newest_first);
                        for (size_t i = 0; i < N; i++)
                                assert_ptr_equal(v[i], want[newest_first ? N - 1 - i : i]);
                }
        procjson_sort_by_start(v, 0, true);
        procjson_sort_by_start(v, 1, false);
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
                cmocka_unit_test_setup_teardown(test_streamed_equals_object_built, setup, teardown),
                cmocka_unit_test(test_sort_by_start),
        };
        return cmocka_run_group_tests(tests, NULL, NULL);
}
