/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The process filter: each filter selects exactly what it should on a real tree, values OR within
 * a filter and AND across, globs for names and units, the subtree answer taken from the caller. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "process-filter.h"
#include "procfs.h"
#include "test-cleanup.h"

#define HZ 100
#define MS 1000000ULL

static ProcTree *t;
static PwProcessFilter f;

/* init(1) -> bash(100, uid 1000, user@1000.service) -> curl(200, uid 1000) -> sh(300, uid 0);
 * init -> sshd(400, uid 0, sshd.service); init -> sshd(500, uid 65534, its own user unit
 * "sshd.service"); kthreadd(2), no unit. */
static void add(pid_t pid, pid_t ppid, const char *comm, uint32_t uid, uint32_t euid, const char *cgroup) {
        PwProcInfo i = { .stat = { .pid = pid, .ppid = ppid, .sid = 1, .state = 'S' },
                         .start_ns = (uint64_t) pid * MS, .start_boot_ns = (uint64_t) pid * MS,
                         .uid = uid, .euid = euid, .gid = uid, .egid = uid, .tgid = pid, .have_status = true };

        strncpy(i.stat.comm, comm, PW_COMM_MAX);
        i.cgroup = cgroup ? strdup(cgroup) : NULL;
        if (cgroup)
                assert_int_equal(pw_cgroup_to_units(cgroup, &i.unit, &i.user_unit), 0);
        assert_int_equal(proctree_add_from_proc(t, &i, PW_SOURCE_SCAN, HZ), 0);
        pw_proc_info_done(&i);
}

static int setup(void **state) {
        assert_int_equal(proctree_new(&t, NULL), 0);
        add(1, 0, "init", 0, 0, "/init.scope");
        add(2, 0, "kthreadd", 0, 0, NULL);
        add(100, 1, "bash", 1000, 1000, "/user.slice/user-1000.slice/user@1000.service/app.slice/term.service");
        add(200, 100, "curl", 1000, 1000, "/user.slice/user-1000.slice/user@1000.service/app.slice/term.service");
        add(300, 200, "sh", 0, 0, "/user.slice/user-1000.slice/user@1000.service/app.slice/term.service");
        add(400, 1, "sshd", 0, 0, "/system.slice/sshd.service");
        add(500, 1, "sshd", 65534, 65534, "/user.slice/user-65534.slice/user@65534.service/app.slice/sshd.service");
        /* A setuid program run by 1000: real 1000, effective 0. */
        add(600, 100, "su", 1000, 0, "/user.slice/user-1000.slice/user@1000.service/app.slice/term.service");
        pw_process_filter_init(&f);
        return 0;
}

static int teardown(void **state) {
        pw_process_filter_done(&f);
        t = proctree_free(t);
        return 0;
}

static bool match(pid_t pid) {
        return pw_process_filter_match(&f, proctree_get(t, pid), NULL, NULL);
}

static void test_empty(void **state) {
        assert_false(pw_process_filter_selects_processes(&f));
        assert_true(match(1));
        assert_true(match(2));
        assert_true(match(500));
        /* An event about no record passes only a filter that selects no processes. */
        assert_true(pw_process_filter_match(&f, NULL, NULL, NULL));
        assert_int_equal(pw_process_filter_add_comm(&f, "*"), 0);
        assert_true(pw_process_filter_selects_processes(&f));
        assert_false(pw_process_filter_match(&f, NULL, NULL, NULL));
}

static void test_kinds_threads(void **state) {
        /* No kinds: every kind; threads only when asked. */
        for (PwEventKind k = PW_EVENT_FORK; k < _PW_EVENT_KIND_MAX; k++) {
                assert_true(pw_process_filter_match_kind(&f, k, false));
                assert_false(pw_process_filter_match_kind(&f, k, true));
        }
        assert_false(pw_process_filter_match_kind(&f, _PW_EVENT_KIND_MAX, false));
        f.kinds = PW_EVENT_KIND_BIT(PW_EVENT_EXEC) | PW_EVENT_KIND_BIT(PW_EVENT_EXIT);
        assert_true(pw_process_filter_match_kind(&f, PW_EVENT_EXEC, false));
        assert_true(pw_process_filter_match_kind(&f, PW_EVENT_EXIT, false));
        assert_false(pw_process_filter_match_kind(&f, PW_EVENT_FORK, false));
        f.threads = true;
        assert_true(pw_process_filter_match_kind(&f, PW_EVENT_EXIT, true));
        assert_false(pw_process_filter_match_kind(&f, PW_EVENT_FORK, true));
        /* Kinds and threads say nothing about processes. */
        assert_false(pw_process_filter_selects_processes(&f));
}

static void test_subtree(void **state) {
        assert_int_equal(pw_process_filter_add_pid(&f, 200), 0);
        assert_false(match(1));
        assert_false(match(100));
        assert_true(match(200));
        assert_true(match(300));
        assert_false(match(400));
        assert_int_equal(pw_process_filter_add_pid(&f, 400), 0);
        assert_true(match(400));
        assert_false(match(100));
        assert_int_equal(pw_process_filter_add_pid(&f, 0), -EINVAL);
        assert_int_equal(pw_process_filter_add_pid(&f, -1), -EINVAL);
}

/* A caller that answers the subtree question itself: its answer is the one used, asked once per root
 * until one says yes, and only when every other filter passed. */
static unsigned asked;

static bool only_root_400(void *userdata, const PwProcess *p, pid_t root) {
        asked++;
        assert_ptr_equal(userdata, &f);
        return root == 400 && p->pid == (pid_t) 300;
}

static void test_subtree_from_caller(void **state) {
        assert_int_equal(pw_process_filter_add_pid(&f, 200), 0);
        assert_int_equal(pw_process_filter_add_pid(&f, 400), 0);
        /* By the tree 300 descends from 200; by the caller's answer from 400 only. */
        assert_true(pw_process_filter_match(&f, proctree_get(t, 300), only_root_400, &f));
        assert_int_equal(asked, 2);
        asked = 0;
        assert_false(pw_process_filter_match(&f, proctree_get(t, 400), only_root_400, &f));
        assert_int_equal(asked, 2);
        asked = 0;
        assert_int_equal(pw_process_filter_add_uid(&f, 65534), 0);
        assert_false(pw_process_filter_match(&f, proctree_get(t, 300), only_root_400, &f));
        assert_int_equal(asked, 0);
}

static void test_uid(void **state) {
        assert_int_equal(pw_process_filter_add_uid(&f, 1000), 0);
        assert_false(match(1));
        assert_true(match(100));
        assert_true(match(200));
        assert_false(match(300));
        assert_false(match(400));
        assert_true(match(600));  /* real uid */
        pw_process_filter_done(&f);
        assert_int_equal(pw_process_filter_add_uid(&f, 65534), 0);
        assert_int_equal(pw_process_filter_add_uid(&f, 0), 0);  /* OR within the filter */
        assert_true(match(500));
        assert_true(match(300));
        assert_true(match(600));  /* effective uid */
        assert_false(match(100));
}

static void test_comm_unit(void **state) {
        assert_int_equal(pw_process_filter_add_comm(&f, "s*"), 0);
        assert_true(match(300));
        assert_true(match(400));
        assert_true(match(600));
        assert_false(match(200));
        assert_int_equal(pw_process_filter_add_unit(&f, "sshd.service"), 0);
        assert_false(match(300));  /* comm matches, unit does not: AND across filters */
        assert_true(match(400));
        assert_false(match(500));  /* a user's sshd.service is no system unit */
        pw_process_filter_done(&f);
        assert_int_equal(pw_process_filter_add_user_unit(&f, "sshd.service"), 0);
        assert_true(match(500));
        assert_false(match(400));
        assert_int_equal(pw_process_filter_add_user_unit(&f, "term.*"), 0);
        assert_true(match(200));
        pw_process_filter_done(&f);
        assert_int_equal(pw_process_filter_add_unit(&f, "user@*.service"), 0);
        assert_true(match(100));
        assert_true(match(500));
        assert_false(match(400));
        assert_false(match(1));
        /* A process without a unit matches no unit glob, not even "*". */
        pw_process_filter_done(&f);
        assert_int_equal(pw_process_filter_add_unit(&f, "*"), 0);
        assert_true(match(1));
        assert_false(match(2));
}

/* A name without glob characters is exactly that name: what ps --comm and Events did before. */
static void test_exact(void **state) {
        assert_int_equal(pw_process_filter_add_comm(&f, "sshd"), 0);
        assert_true(match(400));
        assert_true(match(500));
        assert_false(match(300));
        pw_process_filter_done(&f);
        assert_int_equal(pw_process_filter_add_comm(&f, "ssh"), 0);
        assert_false(match(400));
        pw_process_filter_done(&f);
        assert_int_equal(pw_process_filter_add_comm(&f, ""), 0);
        assert_false(match(400));
        /* Escaped glob characters are literal. */
        pw_process_filter_done(&f);
        assert_int_equal(pw_process_filter_add_comm(&f, "ss\\hd"), 0);
        assert_true(match(400));
        assert_int_equal(pw_process_filter_add_comm(&f, "\\*"), 0);
        assert_false(match(300));
}

static void test_state(void **state) {
        PwEvent ev = { .kind = PW_EVENT_EXIT, .timestamp_ns = 900 * MS, .exit = { .pid = 300, .tgid = 300 } };

        assert_int_equal(proctree_apply(t, &ev, NULL), 0);
        f.state = PW_STATE_FILTER_EXITED;
        assert_true(pw_process_filter_selects_processes(&f));
        assert_true(match(300));
        assert_false(match(200));
        f.state = PW_STATE_FILTER_ALIVE;
        assert_false(match(300));
        assert_true(match(200));
}

/* PW_PROCESS_FILTER_GLOB_MAX bytes and no more: what one match may cost is bounded. */
static void test_glob_max(void **state) {
        char glob[PW_PROCESS_FILTER_GLOB_MAX + 2];

        memset(glob, '*', sizeof(glob) - 1);
        glob[sizeof(glob) - 1] = '\0';
        assert_int_equal(pw_process_filter_add_user_unit(&f, glob), -ENAMETOOLONG);
        assert_int_equal(pw_process_filter_add_comm(&f, glob), -ENAMETOOLONG);
        assert_int_equal(f.n_user_units + f.n_comms, 0);
        glob[PW_PROCESS_FILTER_GLOB_MAX] = '\0';
        assert_int_equal(pw_process_filter_add_user_unit(&f, glob), 0);
        assert_true(match(500));
        assert_false(match(400));
}

static void test_copy_limits(void **state) {
        PwProcessFilter g;

        for (unsigned i = 0; i < PW_PROCESS_FILTER_VALUES_MAX; i++) {
                assert_int_equal(pw_process_filter_add_comm(&f, "x"), 0);
                assert_int_equal(pw_process_filter_add_pid(&f, 1), 0);
                assert_int_equal(pw_process_filter_add_uid(&f, i), 0);
        }
        assert_int_equal(pw_process_filter_add_comm(&f, "x"), -E2BIG);
        assert_int_equal(pw_process_filter_add_pid(&f, 1), -E2BIG);
        assert_int_equal(pw_process_filter_add_uid(&f, 1), -E2BIG);
        assert_int_equal(pw_process_filter_add_unit(&f, NULL), -EINVAL);
        assert_int_equal(pw_process_filter_add_unit(&f, "sshd.*"), 0);
        f.kinds = PW_EVENT_KIND_BIT(PW_EVENT_COMM);

        pw_process_filter_init(&g);
        assert_int_equal(pw_process_filter_add_user_unit(&g, "gone"), 0);
        assert_int_equal(pw_process_filter_copy(&g, &f), 0);
        assert_int_equal(g.n_comms, PW_PROCESS_FILTER_VALUES_MAX);
        assert_int_equal(g.n_user_units, 0);
        assert_int_equal(g.kinds, PW_EVENT_KIND_BIT(PW_EVENT_COMM));
        assert_string_equal(g.units[0], "sshd.*");
        assert_ptr_not_equal(g.units[0], f.units[0]);
        pw_process_filter_done(&g);
        assert_int_equal(g.n_units, 0);
        pw_process_filter_done(NULL);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_empty, setup, teardown),
                cmocka_unit_test_setup_teardown(test_kinds_threads, setup, teardown),
                cmocka_unit_test_setup_teardown(test_subtree, setup, teardown),
                cmocka_unit_test_setup_teardown(test_subtree_from_caller, setup, teardown),
                cmocka_unit_test_setup_teardown(test_uid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_comm_unit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exact, setup, teardown),
                cmocka_unit_test_setup_teardown(test_state, setup, teardown),
                cmocka_unit_test_setup_teardown(test_glob_max, setup, teardown),
                cmocka_unit_test_setup_teardown(test_copy_limits, setup, teardown),
        };

        tc_init("process-filter");

        return cmocka_run_group_tests(tests, NULL, NULL);
}
