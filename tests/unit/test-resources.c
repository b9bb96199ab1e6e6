/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests of the join of taskstats records to the process tree: either order, pid reuse, thread groups,
 * subtree totals across reparenting, missing and late records, loss. A real ProcTree fed events. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "proctree.h"
#include "resources.h"
#include "test-cleanup.h"

#define MS 1000000ULL
#define BASE (1000ULL * 1000ULL * MS) /* monotonic "now" around 1000 s */

static void fork_ev(ProcTree *t, pid_t parent, pid_t child, uint64_t ts) {
        PwEvent ev = { .kind = PW_EVENT_FORK, .timestamp_ns = ts };

        ev.fork.parent_pid = ev.fork.parent_tgid = parent;
        ev.fork.child_pid = ev.fork.child_tgid = child;
        assert_int_equal(proctree_apply(t, &ev, NULL), 0);
}

static PwProcess *exit_ev(ProcTree *t, pid_t pid, uint32_t code, uint64_t ts) {
        PwEvent ev = { .kind = PW_EVENT_EXIT, .timestamp_ns = ts };
        PwApplyResult res;

        ev.exit.pid = ev.exit.tgid = pid;
        ev.exit.code = code;
        assert_int_equal(proctree_apply(t, &ev, &res), 0);
        assert_true(res.process_ended);
        return res.process;
}

/* A process record: the last task of tgid, alive lifetime_ms, with cpu_ms of CPU and write_kib. */
static PwTsMsg record(pid_t pid, pid_t tgid, bool last, uint32_t code, uint64_t lifetime_ms, uint64_t cpu_ms,
                      uint64_t write_kib, uint64_t rss_kib) {
        PwTsMsg m = { .kind = PW_TS_MSG_RECORD };

        m.task.version = 16;
        m.task.have = PW_TS_HAVE_BASIC | PW_TS_HAVE_XACCT | PW_TS_HAVE_IO | PW_TS_HAVE_TGID | PW_TS_HAVE_DELAY;
        m.task.pid = (uint32_t) pid;
        m.task.tgid = (uint32_t) tgid;
        m.task.flag = last ? PW_TS_AGROUP : 0;
        m.task.exitcode = code;
        m.task.etime_usec = lifetime_ms * 1000;
        m.task.tgetime_usec = lifetime_ms * 1000;
        m.task.cpu_run_virtual_total_ns = cpu_ms * MS;
        m.task.utime_usec = cpu_ms * 1000 * 3 / 4;
        m.task.stime_usec = cpu_ms * 1000 / 4;
        m.task.write_bytes = write_kib * 1024;
        m.task.hiwater_rss_kib = rss_kib;
        return m;
}

static ProcTree *tree(void) {
        ProcTree *t = NULL;

        assert_int_equal(proctree_new(&t, NULL), 0);
        fork_ev(t, 0, 1, MS); /* init */
        return t;
}

static void test_record_after_exit(void **state) {
        _cleanup_(proctree_freep) ProcTree *t = tree();
        _cleanup_(resjoin_freep) ResJoin *j = NULL;
        PwTsMsg m = record(100, 100, true, 3 << 8, 50, 40, 8, 2048);
        PwProcess *p;

        assert_int_equal(resjoin_new(&j), 0);
        fork_ev(t, 1, 100, BASE);
        p = exit_ev(t, 100, 3 << 8, BASE + 50 * MS + 300000);
        assert_false(resjoin_process_ended(j, t, p, BASE + 51 * MS));
        assert_ptr_equal(resjoin_record(j, t, &m, BASE + 52 * MS), p);
        assert_true(pw_process_has_resources(p));
        assert_int_equal(p->resources->self.cpu_usec, 40000);
        assert_int_equal(p->resources->self.cpu_user_usec + p->resources->self.cpu_system_usec, 40000);
        assert_int_equal(p->resources->self.cpu_user_usec, 30000);
        assert_int_equal(p->resources->self.write_bytes, 8192);
        assert_int_equal(p->resources->self.max_rss_bytes, 2048 * 1024);
        assert_int_equal(p->resources->self.elapsed_usec, 50000);
        assert_false(p->resources->uncertain);
        assert_int_equal(resjoin_get_stats(j)->joined, 1);
        (void) state;
}

static void test_record_before_exit(void **state) {
        _cleanup_(proctree_freep) ProcTree *t = tree();
        _cleanup_(resjoin_freep) ResJoin *j = NULL;
        PwTsMsg m = record(100, 100, true, 0, 20, 5, 0, 100);
        PwProcess *p;

        assert_int_equal(resjoin_new(&j), 0);
        fork_ev(t, 1, 100, BASE);
        /* Read first: the process is still alive in the tree, so the record waits. */
        assert_null(resjoin_record(j, t, &m, BASE + 20 * MS));
        assert_int_equal(resjoin_get_stats(j)->held_now, 1);
        p = exit_ev(t, 100, 0, BASE + 20 * MS + 100000);
        assert_true(resjoin_process_ended(j, t, p, BASE + 21 * MS));
        assert_int_equal(p->resources->self.cpu_usec, 5000);
        assert_int_equal(resjoin_get_stats(j)->held_now, 0);
        (void) state;
}

/* Two incarnations of one pid, records read late and in order: each to its own. */
static void test_pid_reuse(void **state) {
        _cleanup_(proctree_freep) ProcTree *t = tree();
        _cleanup_(resjoin_freep) ResJoin *j = NULL;
        PwTsMsg a = record(100, 100, true, 1 << 8, 10, 1, 1, 10), b = record(100, 100, true, 2 << 8, 10, 2, 2, 20);
        PwProcess *pa, *pb;

        assert_int_equal(resjoin_new(&j), 0);
        fork_ev(t, 1, 100, BASE);
        pa = exit_ev(t, 100, 1 << 8, BASE + 10 * MS + 200000);
        fork_ev(t, 1, 100, BASE + 15 * MS);
        pb = exit_ev(t, 100, 2 << 8, BASE + 25 * MS + 200000);
        assert_ptr_not_equal(pa, pb);
        assert_false(resjoin_process_ended(j, t, pa, BASE + 26 * MS));
        assert_false(resjoin_process_ended(j, t, pb, BASE + 26 * MS));
        assert_ptr_equal(resjoin_record(j, t, &a, BASE + 30 * MS), pa);
        assert_ptr_equal(resjoin_record(j, t, &b, BASE + 30 * MS), pb);
        assert_int_equal(pa->resources->self.write_bytes, 1024);
        assert_int_equal(pb->resources->self.write_bytes, 2048);
        (void) state;
}

/* A record whose lifetime fits no incarnation is not forced onto one. */
static void test_disagreeing_lifetime(void **state) {
        _cleanup_(proctree_freep) ProcTree *t = tree();
        _cleanup_(resjoin_freep) ResJoin *j = NULL;
        PwTsMsg m = record(100, 100, true, 0, 5000, 1, 0, 1);
        PwProcess *p;

        assert_int_equal(resjoin_new(&j), 0);
        fork_ev(t, 1, 100, BASE);
        p = exit_ev(t, 100, 0, BASE + 10 * MS);
        assert_null(resjoin_record(j, t, &m, BASE + 11 * MS));
        assert_false(pw_process_has_resources(p));
        resjoin_expire(j, BASE + 11 * MS + RESOURCES_HOLD_NS + 1);
        assert_int_equal(resjoin_get_stats(j)->unmatched, 1);
        (void) state;
}

static void test_thread_group(void **state) {
        _cleanup_(proctree_freep) ProcTree *t = tree();
        _cleanup_(resjoin_freep) ResJoin *j = NULL;
        PwTsMsg t1 = record(101, 100, false, 0, 30, 100, 4, 5000), t2 = record(102, 100, false, 0, 30, 200, 8, 7000);
        PwTsMsg last = record(100, 100, true, 0, 30, 10, 0, 6000);
        PwProcess *p;

        assert_int_equal(resjoin_new(&j), 0);
        fork_ev(t, 1, 100, BASE);
        assert_null(resjoin_record(j, t, &t1, BASE + 29 * MS));
        assert_null(resjoin_record(j, t, &t2, BASE + 29 * MS));
        p = exit_ev(t, 100, 0, BASE + 30 * MS + 100000);
        assert_ptr_equal(resjoin_record(j, t, &last, BASE + 31 * MS), p);
        assert_int_equal(p->resources->self.cpu_usec, 310000);
        assert_int_equal(p->resources->self.write_bytes, 12 * 1024);
        assert_int_equal(p->resources->self.max_rss_bytes, 7000 * 1024);
        assert_int_equal(p->resources->self.tasks, 3);
        (void) state;
}

/* A shell's children and a grandchild reparented to init when its parent exits: all in the shell's
 * subtree; a missing one counted. */
static void test_subtree(void **state) {
        _cleanup_(proctree_freep) ProcTree *t = tree();
        _cleanup_(resjoin_freep) ResJoin *j = NULL;
        PwTsMsg c1 = record(201, 201, true, 0, 10, 100, 1, 100), g = record(203, 203, true, 0, 50, 300, 3, 300);
        PwProcess *sh, *p1, *p2, *pg;

        assert_int_equal(resjoin_new(&j), 0);
        fork_ev(t, 1, 200, BASE);
        fork_ev(t, 200, 201, BASE + 1 * MS);
        fork_ev(t, 200, 202, BASE + 2 * MS);
        fork_ev(t, 202, 203, BASE + 3 * MS);
        sh = proctree_get_live(t, 200);
        p1 = exit_ev(t, 201, 0, BASE + 11 * MS);
        assert_ptr_equal(resjoin_record(j, t, &c1, BASE + 12 * MS), p1);
        /* 202 exits, its record never comes; 203 is reparented to init. */
        p2 = exit_ev(t, 202, 0, BASE + 20 * MS);
        resjoin_mark_missing(j, t, p2);
        proctree_set_parent(t, 203, 1);
        pg = exit_ev(t, 203, 0, BASE + 53 * MS);
        assert_ptr_equal(resjoin_record(j, t, &g, BASE + 54 * MS), pg);

        assert_non_null(sh->resources);
        assert_false(pw_process_has_resources(sh)); /* still alive */
        assert_int_equal(sh->resources->subtree_processes, 2);
        assert_int_equal(sh->resources->subtree_missing, 1);
        assert_int_equal(sh->resources->subtree.cpu_usec, 400000);
        assert_int_equal(sh->resources->subtree.max_rss_bytes, 300 * 1024);
        /* init's subtree: everything, by fork-time parentage only once. */
        assert_int_equal(proctree_get_live(t, 1)->resources->subtree_processes, 2);
        /* 202 has its grandchild though it was reparented away. */
        assert_int_equal(p2->resources->subtree_processes, 1);
        assert_int_equal(p2->resources->subtree.cpu_usec, 300000);
        (void) state;
}

static void test_missing_then_late_and_loss(void **state) {
        _cleanup_(proctree_freep) ProcTree *t = tree();
        _cleanup_(resjoin_freep) ResJoin *j = NULL;
        PwTsMsg m = record(100, 100, true, 0, 10, 1, 0, 1);
        PwProcess *p;

        assert_int_equal(resjoin_new(&j), 0);
        fork_ev(t, 1, 100, BASE);
        p = exit_ev(t, 100, 0, BASE + 10 * MS);
        resjoin_mark_missing(j, t, p);
        assert_int_equal(p->resources->state, PW_RESOURCES_MISSING);
        resjoin_loss(j, BASE + 200 * MS);
        assert_ptr_equal(resjoin_record(j, t, &m, BASE + 300 * MS), p);
        assert_true(pw_process_has_resources(p));
        assert_true(p->resources->uncertain);
        assert_int_equal(p->resources->subtree_missing, 0);
        assert_int_equal(resjoin_get_stats(j)->joined_late, 1);
        assert_int_equal(resjoin_get_stats(j)->joined_uncertain, 1);
        (void) state;
}

static void test_output(void **state) {
        _cleanup_(proctree_freep) ProcTree *t = tree();
        _cleanup_(resjoin_freep) ResJoin *j = NULL;
        PwTsMsg m = record(100, 100, true, 0, 12300, 8100, 0, 512 * 1024);
        PwResourcesField f[PW_RESOURCES_FIELDS_MAX];
        char msg[128] = "exit 100 x: status 0 after 12.3s";
        PwProcess *p;
        json_t *o;
        size_t n;

        assert_int_equal(resjoin_new(&j), 0);
        fork_ev(t, 1, 100, BASE);
        p = exit_ev(t, 100, 0, BASE + 12300 * MS);
        assert_ptr_equal(resjoin_record(j, t, &m, BASE + 12301 * MS), p);
        pw_resources_message(p, msg, sizeof(msg));
        assert_string_equal(msg, "exit 100 x: status 0 after 12.3s, cpu 8.1s, max rss 512 MiB");
        n = pw_resources_journal_fields(p, f, ELEMENTSOF(f));
        assert_true(n >= 10);
        assert_string_equal(f[0].name, "CPU_USER_USEC");
        o = pw_resources_json(p, true);
        assert_non_null(o);
        assert_int_equal(json_integer_value(json_object_get(o, "cpu_usec")), 8100000);
        json_decref(o);
        p->resources->state = PW_RESOURCES_MISSING;
        msg[0] = '\0';
        pw_resources_message(p, msg, sizeof(msg));
        assert_string_equal(msg, ", resources unknown");
        (void) state;
}

static void exec_ev(ProcTree *t, pid_t pid, uint64_t ts) {
        PwEvent ev = { .kind = PW_EVENT_EXEC, .timestamp_ns = ts };
        PwApplyResult res;

        ev.exec.pid = ev.exec.tgid = pid;
        assert_int_equal(proctree_apply(t, &ev, &res), 0);
        /* The read it asks for is made (or lost) by the test. */
        assert_int_equal(res.n_enrich, 1);
        assert_int_equal(res.enrich[0], pid);
}

/* The file's device as taskstats gives it (the kernel's new_encode_dev()), and its inode. */
static void exe_id(const char *path, PwTsMsg *m) {
        struct stat st;
        uint64_t maj, min;

        assert_int_equal(stat(path, &st), 0);
        maj = major(st.st_dev);
        min = minor(st.st_dev);
        m->task.exe_dev = (min & 0xffU) | (maj << 8) | ((min & ~0xffULL) << 12);
        m->task.exe_inode = st.st_ino;
}

/* A process whose image was lost to its exit gets its exe named by its record, when another process
 * that ran the same file was read: record after exit, record before exit (held), and a record of a
 * file nobody was seen to run. */
static void test_lost_image_named(void **state) {
        _cleanup_(proctree_freep) ProcTree *t = tree();
        _cleanup_(resjoin_freep) ResJoin *j = NULL;
        char dir[] = "/tmp/pwresources-XXXXXX", prog[64];
        PwProcInfo info = { .stat = { .pid = 100, .ppid = 1, .state = 'R' }, .start_ns = BASE, .start_boot_ns = BASE };
        PwTsMsg m;
        PwProcess *p;
        int fd;

        assert_int_equal(resjoin_new(&j), 0);
        assert_int_equal(tc_mkdtemp(dir), 0);
        snprintf(prog, sizeof(prog), "%s/prog", dir);
        fd = open(prog, O_WRONLY | O_CREAT | O_CLOEXEC, 0755);
        assert_true(fd >= 0);
        close(fd);

        /* 100 runs prog and is read: its exit makes the file known. */
        fork_ev(t, 1, 100, BASE);
        exec_ev(t, 100, BASE + MS);
        strcpy(info.stat.comm, "prog");
        info.exe = strdup(prog);
        assert_int_equal(proctree_enrich(t, &info, 100), 0);
        pw_proc_info_done(&info);
        p = exit_ev(t, 100, 0, BASE + 5 * MS);
        assert_false(resjoin_process_ended(j, t, p, BASE + 6 * MS));
        m = record(100, 100, true, 0, 5, 1, 0, 100);
        exe_id(prog, &m);
        assert_ptr_equal(resjoin_record(j, t, &m, BASE + 7 * MS), p);
        assert_string_equal(p->exe->data, prog);
        assert_int_equal(resjoin_get_stats(j)->exes_named, 0);

        /* 101 runs it too and exits before it is read; its record comes after its exit. */
        fork_ev(t, 1, 101, BASE + 10 * MS);
        exec_ev(t, 101, BASE + 11 * MS);
        proctree_mark_unreadable(t, 101, 0);
        p = exit_ev(t, 101, 0, BASE + 12 * MS);
        assert_null(p->exe);
        assert_false(resjoin_process_ended(j, t, p, BASE + 13 * MS));
        m = record(101, 101, true, 0, 2, 1, 0, 100);
        exe_id(prog, &m);
        assert_ptr_equal(resjoin_record(j, t, &m, BASE + 14 * MS), p);
        assert_non_null(p->exe);
        assert_string_equal(p->exe->data, prog);
        /* argv is still unknown: the image stays uncertain. */
        assert_null(p->argv);
        assert_true(p->uncertain & PW_UNCERTAIN_IMAGE);
        assert_int_equal(resjoin_get_stats(j)->exes_named, 1);

        /* 102: its record comes first and waits for the exit, which names it. */
        fork_ev(t, 1, 102, BASE + 20 * MS);
        exec_ev(t, 102, BASE + 21 * MS);
        proctree_mark_unreadable(t, 102, 0);
        m = record(102, 102, true, 0, 2, 1, 0, 100);
        exe_id(prog, &m);
        assert_null(resjoin_record(j, t, &m, BASE + 22 * MS));
        p = exit_ev(t, 102, 0, BASE + 22 * MS);
        assert_true(resjoin_process_ended(j, t, p, BASE + 23 * MS));
        assert_non_null(p->exe);
        assert_string_equal(p->exe->data, prog);
        assert_int_equal(resjoin_get_stats(j)->exes_named, 2);

        /* 103 ran a file nobody was seen to run: nothing to name it with. */
        fork_ev(t, 1, 103, BASE + 30 * MS);
        exec_ev(t, 103, BASE + 31 * MS);
        proctree_mark_unreadable(t, 103, 0);
        p = exit_ev(t, 103, 0, BASE + 32 * MS);
        (void) resjoin_process_ended(j, t, p, BASE + 33 * MS);
        m = record(103, 103, true, 0, 2, 1, 0, 100);
        exe_id(dir, &m);
        assert_ptr_equal(resjoin_record(j, t, &m, BASE + 34 * MS), p);
        assert_null(p->exe);
        assert_int_equal(resjoin_get_stats(j)->exes_named, 2);

        /* 104: its argv was read, then it exited before its exe was (readlink of a zombie's exe is
         * ENOENT): the image counts as read, and the record names the file all the same. */
        fork_ev(t, 1, 104, BASE + 40 * MS);
        exec_ev(t, 104, BASE + 41 * MS);
        info = (PwProcInfo){ .stat = { .pid = 104, .ppid = 1, .state = 'R' }, .start_ns = BASE + 40 * MS,
                             .start_boot_ns = BASE + 40 * MS, .exe_error = -ENOENT };
        strcpy(info.stat.comm, "prog");
        info.argv = strdup("prog");
        info.argv_len = 5;
        assert_int_equal(proctree_enrich(t, &info, 100), 0);
        pw_proc_info_done(&info);
        p = exit_ev(t, 104, 0, BASE + 42 * MS);
        assert_null(p->exe);
        assert_false(p->uncertain & PW_UNCERTAIN_IMAGE);
        (void) resjoin_process_ended(j, t, p, BASE + 43 * MS);
        m = record(104, 104, true, 0, 2, 1, 0, 100);
        exe_id(prog, &m);
        assert_ptr_equal(resjoin_record(j, t, &m, BASE + 44 * MS), p);
        assert_non_null(p->exe);
        assert_string_equal(p->exe->data, prog);
        assert_string_equal(p->argv->data, "prog");
        assert_int_equal(resjoin_get_stats(j)->exes_named, 3);
}

/* A child of 100 (python3) that never exec'ed, ended at ts + 2 ms; its group's last task (task), with
 * comm, ends the group. Returns its record. */
static PwProcess *child_ended(ProcTree *t, ResJoin *j, pid_t pid, pid_t task, const char *comm, bool basic,
                              uint64_t ts) {
        PwTsMsg m = record(task, pid, true, 0, 2, 1, 0, 100);
        PwProcess *p;

        fork_ev(t, 100, pid, ts);
        p = exit_ev(t, pid, 0, ts + 2 * MS);
        strcpy(m.task.comm, comm);
        if (!basic)
                m.task.have &= ~(uint32_t) PW_TS_HAVE_BASIC;
        assert_false(resjoin_process_ended(j, t, p, ts + 3 * MS));
        assert_ptr_equal(resjoin_record(j, t, &m, ts + 4 * MS), p);
        return p;
}

/* A process whose exec was read too late (it had gone) kept its parent's comm; the record says the
 * one it had at its end. Only the leader's: a group's last task that is another thread says nothing
 * of the process's name. */
static void test_comm_named(void **state) {
        _cleanup_(proctree_freep) ProcTree *t = tree();
        _cleanup_(resjoin_freep) ResJoin *j = NULL;
        PwProcInfo info = { .stat = { .pid = 100, .ppid = 1, .state = 'R' }, .start_ns = BASE, .start_boot_ns = BASE };
        PwTsMsg m;
        PwProcess *p;

        assert_int_equal(resjoin_new(&j), 0);
        /* 100 is read as python3, forks 101, which execs sh and is gone before its read. */
        strcpy(info.stat.comm, "python3");
        fork_ev(t, 1, 100, BASE);
        assert_int_equal(proctree_enrich(t, &info, 100), 0);
        fork_ev(t, 100, 101, BASE + MS);
        exec_ev(t, 101, BASE + 2 * MS);
        proctree_mark_unreadable(t, 101, 0);
        p = exit_ev(t, 101, 11 | 0x80, BASE + 4 * MS);
        assert_string_equal(p->comm, "python3");
        assert_false(resjoin_process_ended(j, t, p, BASE + 5 * MS));
        m = record(101, 101, true, 11 | 0x80, 3, 1, 0, 100);
        strcpy(m.task.comm, "sh");
        assert_ptr_equal(resjoin_record(j, t, &m, BASE + 6 * MS), p);
        assert_string_equal(p->comm, "sh");
        assert_int_equal(resjoin_get_stats(j)->comms_named, 1);

        /* The same name: nothing to correct. */
        assert_string_equal(child_ended(t, j, 102, 102, "python3", true, BASE + 10 * MS)->comm, "python3");
        /* A thread, not the leader, ended the group: its name is not the process's. */
        assert_string_equal(child_ended(t, j, 103, 104, "worker-thread", true, BASE + 20 * MS)->comm, "python3");
        /* A record without the basic fields (no comm) leaves the name as it is. */
        assert_string_equal(child_ended(t, j, 105, 105, "x", false, BASE + 30 * MS)->comm, "python3");
        assert_int_equal(resjoin_get_stats(j)->comms_named, 1);
        (void) state;
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_comm_named),
                cmocka_unit_test(test_lost_image_named),
                cmocka_unit_test(test_record_after_exit),
                cmocka_unit_test(test_record_before_exit),
                cmocka_unit_test(test_pid_reuse),
                cmocka_unit_test(test_disagreeing_lifetime),
                cmocka_unit_test(test_thread_group),
                cmocka_unit_test(test_subtree),
                cmocka_unit_test(test_missing_then_late_and_loss),
                cmocka_unit_test(test_output),
        };

        tc_init("resources");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
