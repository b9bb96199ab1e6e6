/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Journal filters: what is news for the journal, values as written in the configuration, argv
 * redaction. How each filter matches is test-process-filter's. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "journal-filter.h"
#include "test-cleanup.h"

#define HZ 100
#define MS 1000000ULL

static ProcTree *t;
static PwJournalFilter f;

/* init(1) -> bash(100, uid 1000, user@1000.service) -> curl(200, uid 1000) -> sh(300, uid 0);
 * init -> sshd(400, uid 0, sshd.service). */
static void add(pid_t pid, pid_t ppid, const char *comm, uint32_t uid, const char *cgroup) {
        PwProcInfo i = { .stat = { .pid = pid, .ppid = ppid, .sid = 1, .state = 'S' },
                         .start_ns = (uint64_t) pid * MS, .start_boot_ns = (uint64_t) pid * MS,
                         .uid = uid, .euid = uid, .gid = uid, .egid = uid, .tgid = pid, .have_status = true };

        strncpy(i.stat.comm, comm, PW_COMM_MAX);
        /* The units as a /proc read gives them: from the cgroup, by the daemon's one parser. */
        i.cgroup = cgroup ? strdup(cgroup) : NULL;
        if (cgroup)
                assert_int_equal(pw_cgroup_to_units(cgroup, &i.unit, &i.user_unit), 0);
        assert_int_equal(proctree_add_from_proc(t, &i, PW_SOURCE_SCAN, HZ), 0);
        pw_proc_info_done(&i);
}

static int setup(void **state) {
        assert_int_equal(proctree_new(&t, NULL), 0);
        add(1, 0, "init", 0, "/init.scope");
        add(100, 1, "bash", 1000, "/user.slice/user-1000.slice/user@1000.service/app.slice/term.service");
        add(200, 100, "curl", 1000, "/user.slice/user-1000.slice/user@1000.service/app.slice/term.service");
        add(300, 200, "sh", 0, "/user.slice/user-1000.slice/user@1000.service/app.slice/term.service");
        add(400, 1, "sshd", 0, "/system.slice/sshd.service");
        /* 65534's own "sshd.service", below its user manager (issue 10, attack 4). */
        add(500, 1, "sshd", 65534, "/user.slice/user-65534.slice/user@65534.service/app.slice/sshd.service");
        pw_journal_filter_init(&f);
        return 0;
}

static int teardown(void **state) {
        pw_journal_filter_done(&f);
        t = proctree_free(t);
        return 0;
}

static bool match_kind(PwEventKind k, pid_t pid) {
        PwEvent ev = { .kind = k };
        PwApplyResult res = { .process = proctree_get(t, pid), .process_started = k == PW_EVENT_FORK,
                              .process_ended = k == PW_EVENT_EXIT };

        return pw_journal_filter_match(&f, &ev, &res, res.process);
}

static bool match(pid_t pid) {
        return match_kind(PW_EVENT_EXEC, pid);
}

static void test_kinds(void **state) {
        PwEvent ev = { .kind = PW_EVENT_EXIT };
        PwApplyResult res = { .process = proctree_get(t, 200), .thread = true };
        unsigned k;

        /* Default: exec and exit of processes. */
        assert_true(match_kind(PW_EVENT_EXEC, 200));
        assert_true(match_kind(PW_EVENT_EXIT, 200));
        for (PwEventKind x = PW_EVENT_FORK; x < _PW_EVENT_KIND_MAX; x++)
                if (x != PW_EVENT_EXEC && x != PW_EVENT_EXIT)
                        assert_false(match_kind(x, 200));
        assert_false(match_kind(PW_EVENT_NONE, 200));
        /* A thread's exit, and a leader's exit that did not end the process. */
        assert_false(pw_journal_filter_match(&f, &ev, &res, res.process));
        res.thread = false;
        assert_false(pw_journal_filter_match(&f, &ev, &res, res.process));
        /* The last thread's exit ends the process (its leader exited first): a process exit. */
        res.thread = res.process_ended = true;
        assert_true(pw_journal_filter_match(&f, &ev, &res, res.process));
        res.process_ended = false;
        f.match.threads = true;
        res.thread = true;
        assert_true(pw_journal_filter_match(&f, &ev, &res, res.process));

        assert_int_equal(pw_event_kinds_from_string("fork,uid", &k), 0);
        f.match.kinds = k;
        assert_true(match_kind(PW_EVENT_FORK, 200));
        assert_true(match_kind(PW_EVENT_UID, 200));
        assert_false(match_kind(PW_EVENT_EXEC, 200));
        assert_false(match_kind(PW_EVENT_GID, 200));
        /* A FORK that made no new record (already known) is no news. */
        ev = (PwEvent){ .kind = PW_EVENT_FORK };
        res = (PwApplyResult){ .process = proctree_get(t, 200) };
        assert_false(pw_journal_filter_match(&f, &ev, &res, res.process));

        assert_int_equal(pw_event_kinds_from_string("all", &k), 0);
        f.match.kinds = k;
        for (PwEventKind x = PW_EVENT_FORK; x < _PW_EVENT_KIND_MAX; x++)
                assert_true(match_kind(x, 200));
        assert_false(match_kind(PW_EVENT_NONE, 200));
}

/* Values as written in the configuration, each reaching the process filter (whose semantics
 * test-process-filter checks). */
static void test_values(void **state) {
        assert_int_equal(pw_journal_filter_add_pid(&f, "200"), 0);
        assert_int_equal(pw_journal_filter_add_pid(&f, "0"), -EINVAL);
        assert_int_equal(pw_journal_filter_add_pid(&f, "x"), -EINVAL);
        assert_true(match(300));
        assert_false(match(100));
        assert_int_equal(pw_journal_filter_add_uid(&f, "0"), 0);
        assert_int_equal(pw_journal_filter_add_uid(&f, "-1"), -EINVAL);
        assert_false(match(200));
        assert_true(match(300));
        assert_int_equal(pw_journal_filter_add_comm(&f, "s?"), 0);
        assert_int_equal(pw_journal_filter_add_unit(&f, "user@*"), 0);
        assert_true(match(300));
        assert_int_equal(pw_journal_filter_add_user_unit(&f, "term.service"), 0);
        assert_true(match(300));
        pw_journal_filter_done(&f);
        pw_journal_filter_init(&f);
        assert_int_equal(pw_journal_filter_add_user_unit(&f, "sshd.service"), 0);
        assert_true(match(500));
        assert_false(match(400));
}

static void test_limits(void **state) {
        for (unsigned i = 0; i < PW_PROCESS_FILTER_VALUES_MAX; i++)
                assert_int_equal(pw_journal_filter_add_comm(&f, "x"), 0);
        assert_int_equal(pw_journal_filter_add_comm(&f, "x"), -E2BIG);
        assert_int_equal(pw_journal_filter_add_unit(&f, ""), -EINVAL);
}

static void redacts(const char *in, size_t len, const char *want, size_t want_len) {
        char *out;
        size_t n;

        assert_int_equal(pw_journal_redact_argv(&f, in, len, &out, &n), 0);
        assert_int_equal(n, want_len);
        assert_memory_equal(out, want, n);
        free(out);
}

static void test_redact(void **state) {
        static const char in[] = "cmd\0--password=hunter2\0-p\0secret\0--token\0t0k\0--user=bob\0-p";
        static const char want[] = "cmd\0--password=***\0-p\0***\0--token\0***\0--user=bob\0-p";

        assert_int_equal(pw_argv_mode_from_string("redact"), PW_ARGV_REDACT);
        assert_int_equal(pw_argv_mode_from_string("none"), PW_ARGV_NONE);
        assert_int_equal(pw_argv_mode_from_string("full"), PW_ARGV_FULL);
        assert_int_equal(pw_argv_mode_from_string("some"), -EINVAL);
        assert_int_equal(pw_journal_filter_add_redact(&f, "--password=*"), 0);
        assert_int_equal(pw_journal_filter_add_redact(&f, "-p"), 0);
        assert_int_equal(pw_journal_filter_add_redact(&f, "--token"), 0);
        redacts(in, sizeof(in) - 1, want, sizeof(want) - 1);
        /* Nothing matches: unchanged; empty words survive. */
        redacts("a\0\0b", 4, "a\0\0b", 4);
        redacts("", 0, "", 0);
        /* A flag at the very end has nothing to hide. */
        redacts("-p", 2, "-p", 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_kinds, setup, teardown),
                cmocka_unit_test_setup_teardown(test_values, setup, teardown),
                cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
                cmocka_unit_test_setup_teardown(test_redact, setup, teardown),
        };

        tc_init("journal-filter");

        return cmocka_run_group_tests(tests, NULL, NULL);
}
