/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The process tree under scripted event streams: every hard case of the proc connector, no kernel. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "parse-util.h"
#include "proctree.h"
#include "test-cleanup.h"

#define HZ 100
#define MS 1000000ULL

static ProcTree *t;

static PwEvent ev_fork(uint64_t ts, pid_t ppid, pid_t pid, pid_t tgid) {
        return (PwEvent){ .kind = PW_EVENT_FORK,
                          .timestamp_ns = ts,
                          .fork = { .parent_pid = ppid, .parent_tgid = ppid, .child_pid = pid, .child_tgid = tgid } };
}

static PwEvent ev_exec(uint64_t ts, pid_t tgid) {
        return (PwEvent){ .kind = PW_EVENT_EXEC, .timestamp_ns = ts, .exec = { .pid = tgid, .tgid = tgid } };
}

static PwEvent ev_exit(uint64_t ts, pid_t pid, pid_t tgid, uint32_t code) {
        return (PwEvent){ .kind = PW_EVENT_EXIT,
                          .timestamp_ns = ts,
                          .exit = { .pid = pid, .tgid = tgid, .code = code, .signal = pid == tgid ? 17 : -1 } };
}

static void apply(PwEvent ev) {
        assert_int_equal(proctree_apply(t, &ev, NULL), 0);
}

static int apply_res(PwEvent ev, PwApplyResult *res) {
        return proctree_apply(t, &ev, res);
}

/* The tree's figures now. */
static ProcTreeStats figures(void) {
        ProcTreeStats st;

        proctree_get_stats(t, &st);
        return st;
}

/* A process as the /proc scan would give it. */
static PwProcInfo info_of(pid_t pid, pid_t ppid, uint64_t start_ns, const char *comm) {
        /* The tree's BOOTTIME - MONOTONIC offset is 0 here, so both start times agree. */
        PwProcInfo i = { .stat = { .pid = pid, .ppid = ppid, .sid = 1, .state = 'S' },
                         .start_ns = start_ns,
                         .start_boot_ns = start_ns };

        strncpy(i.stat.comm, comm, PW_COMM_MAX);
        i.have_status = true;
        return i;
}

static void add_scanned(pid_t pid, pid_t ppid, uint64_t start_ns, const char *comm) {
        PwProcInfo i = info_of(pid, ppid, start_ns, comm);
        assert_int_equal(proctree_add_from_proc(t, &i, PW_SOURCE_SCAN, HZ), 0);
}

static int setup(void **state) {
        assert_int_equal(proctree_new(&t, NULL), 0);
        add_scanned(1, 0, 1 * MS, "init");
        add_scanned(100, 1, 50 * MS, "bash");
        return 0;
}

static int teardown(void **state) {
        t = proctree_free(t);
        return 0;
}

/* A visitor that stops at userdata. */
static bool is_not(PwProcess *p, void *userdata) {
        return p != userdata;
}

static void test_fork_exec_exit(void **state) {
        static const char argv[] = "curl\0-s\0https://example.invalid/";
        PwProcInfo info = info_of(200, 100, 1000 * MS, "curl");
        PwProcess *p, *bash = proctree_get_live(t, 100);
        PwApplyResult res;

        apply(ev_fork(1000 * MS, 100, 200, 200));
        p = proctree_get_live(t, 200);
        assert_non_null(p);
        assert_int_equal(p->ppid, 100);
        assert_ptr_equal(proctree_parent(p), bash);
        assert_string_equal(p->comm, "bash"); /* fork copies the image */
        assert_string_equal(p->id, "200:1000000000");
        assert_int_equal(p->source, PW_SOURCE_EVENT);

        assert_int_equal(apply_res(ev_exec(1001 * MS, 200), &res), 0);
        assert_true(p->uncertain & PW_UNCERTAIN_IMAGE);
        /* The work order: read its new image. */
        assert_int_equal(res.n_enrich, 1);
        assert_int_equal(res.enrich[0], 200);
        assert_int_equal(res.n_reparent, 0);

        info.exe = strdup("/usr/bin/curl");
        info.argv = malloc(sizeof(argv));
        memcpy(info.argv, argv, sizeof(argv));
        info.argv_len = sizeof(argv);
        assert_int_equal(proctree_enrich(t, &info, HZ), 0);
        free(info.exe);
        free(info.argv);
        assert_string_equal(p->exe->data, "/usr/bin/curl");
        assert_int_equal(p->argv->len, sizeof(argv) - 1);
        assert_memory_equal(p->argv->data, argv, sizeof(argv));
        assert_string_equal(p->comm, "curl");
        assert_false(p->uncertain & PW_UNCERTAIN_IMAGE);

        apply(ev_exit(1500 * MS, 200, 200, 1 << 8));
        assert_null(proctree_get_live(t, 200));
        assert_ptr_equal(proctree_get(t, 200), p);
        assert_ptr_equal(proctree_get_by_id(t, "200:1000000000"), p);
        assert_true(p->exited);
        assert_int_equal(p->exit_ns - p->start_ns, 500 * MS);
        assert_true(WIFEXITED(p->exit_code) && WEXITSTATUS(p->exit_code) == 1);
        /* Still listed under its parent, for the tree with exited processes. */
        assert_int_equal(proctree_n_children(bash), 1);
        assert_true(!proctree_foreach_child(bash, is_not, p));
}

/* Only the text a record carries is an id: sscanf() took " +1:5", "01:5" and a pid wrapped past
 * int ("4294967297:5" named pid 1's record). */
static void test_parse_id(void **state) {
        static const char *const bad[] = {
                "", ":", "1", "1:", ":5", " 1:5", "+1:5", "-1:5", "01:5", "1:05", "1: 5", "1:+5", "1:-1",
                "1:5 ", "1:5x", "0:5", "2147483648:5", "4294967297:5", "1:18446744073709551616", "1:5:6",
        };
        int32_t pid;
        uint64_t start;
        PwProcess *init;

        assert_int_equal(parse_process_id("1:0", &pid, &start), 0);
        assert_int_equal(pid, 1);
        assert_int_equal(start, 0);
        assert_int_equal(parse_process_id("2147483647:18446744073709551615", &pid, &start), 0);
        assert_int_equal(pid, INT32_MAX);
        assert_true(start == UINT64_MAX);
        assert_int_equal(parse_process_id("12:5", NULL, NULL), 0);
        for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
                pid = 7;
                assert_true(parse_process_id(bad[i], &pid, &start) < 0);
                assert_int_equal(pid, 7);
        }
        assert_int_equal(parse_process_id(NULL, &pid, &start), -EINVAL);

        apply(ev_fork(5 * MS, 0, 1, 1));
        init = proctree_get_live(t, 1);
        assert_non_null(init);
        assert_ptr_equal(proctree_get_by_id(t, init->id), init);
        assert_null(proctree_get_by_id(t, "4294967297:5000000"));
        assert_null(proctree_get_by_id(t, "01:5000000"));
}

static void test_apply_result(void **state) {
        PwEvent e;
        PwApplyResult r;

        e = ev_fork(10 * MS, 100, 390, 390);
        assert_int_equal(proctree_apply(t, &e, &r), 0);
        assert_true(r.process_started && !r.process_ended && !r.thread);
        assert_ptr_equal(r.process, proctree_get_live(t, 390));
        e = ev_fork(11 * MS, 100, 391, 390);
        assert_int_equal(proctree_apply(t, &e, &r), 0);
        assert_true(!r.process_started && r.thread);
        e = ev_exit(12 * MS, 391, 390, 0);
        assert_int_equal(proctree_apply(t, &e, &r), 0);
        assert_true(r.thread && !r.process_ended);
        e = ev_exit(13 * MS, 390, 390, 0);
        assert_int_equal(proctree_apply(t, &e, &r), 0);
        assert_true(r.process_ended && !r.thread);
        assert_int_equal(r.process->pid, 390);
        assert_true(r.process->exited);
}

static void test_in_subtree(void **state) {
        PwEvent e = ev_fork(10 * MS, 100, 440, 440);
        PwProcess *a, *b;

        apply(e);
        apply(ev_fork(11 * MS, 440, 441, 441));
        a = proctree_get_live(t, 440);
        b = proctree_get_live(t, 441);
        assert_int_equal(pw_event_tid(&e), 440);
        assert_true(proctree_in_subtree(b, 441, 64));
        assert_true(proctree_in_subtree(b, 440, 64));
        assert_true(proctree_in_subtree(b, 100, 64));
        assert_false(proctree_in_subtree(a, 441, 64));
        assert_false(proctree_in_subtree(b, 100, 1)); /* the depth bound */
        /* The parent ends and is evicted: the child's ppid still ties it to the subtree. */
        apply(ev_exit(12 * MS, 440, 440, 0));
        proctree_drop_retained(t);
        assert_null(proctree_parent(b));
        assert_true(proctree_in_subtree(b, 440, 64));
}

static void test_retain_zero_keeps_the_last_for_its_caller(void **state) {
        ProcTreeLimits lim = { .retain_count = 0, .retain_age_ns = UINT64_MAX, .string_budget = 1 << 20 };
        ProcTree *old = t;
        PwEvent e;
        PwApplyResult r;

        assert_int_equal(proctree_new(&t, &lim), 0);
        for (int i = 0; i < 3; i++) {
                apply(ev_fork((uint64_t) (10 + i) * MS, 1, 500 + i, 500 + i));
                e = ev_exit((uint64_t) (10 + i) * MS + 1, 500 + i, 500 + i, 0);
                assert_int_equal(proctree_apply(t, &e, &r), 0);
                /* Still valid to read: evicted only when the next one ends. */
                assert_int_equal(r.process->pid, 500 + i);
                assert_true(figures().retained <= 1);
        }
        proctree_expire(t, 100 * MS);
        assert_int_equal(figures().retained, 0);
        t = proctree_free(t);
        t = old;
}

static void test_threads(void **state) {
        PwProcess *p;

        apply(ev_fork(10 * MS, 100, 300, 300));
        /* A thread's FORK names the process's parent in parent_*; it joins its tgid regardless. */
        apply(ev_fork(11 * MS, 100, 301, 300));
        apply(ev_fork(12 * MS, 100, 302, 300));
        p = proctree_get_live(t, 300);
        assert_int_equal(p->n_tasks, 3);
        assert_null(proctree_get_live(t, 301));
        apply(ev_exit(13 * MS, 301, 300, 0));
        assert_int_equal(p->n_tasks, 2);
        assert_true(pw_process_alive(p));
        apply(ev_exit(14 * MS, 300, 300, 0));
        assert_true(pw_process_alive(p)); /* a thread remains */
        apply(ev_exit(15 * MS, 302, 300, 0));
        assert_true(p->exited);
}

static void test_leader_exits_first(void **state) {
        PwProcess *p;

        apply(ev_fork(10 * MS, 100, 310, 310));
        apply(ev_fork(11 * MS, 100, 311, 310));
        p = proctree_get_live(t, 310);
        /* pthread_exit() in main: the leader's EXIT first, the process lives on. */
        apply(ev_exit(12 * MS, 310, 310, 0));
        assert_true(pw_process_alive(p));
        assert_true(p->leader_exited);
        apply(ev_exit(20 * MS, 311, 310, 5 << 8));
        assert_true(p->exited);
        assert_int_equal(p->exit_code, 5 << 8);
        assert_int_equal(p->exit_ns, 20 * MS);
}

static void test_non_leader_exec(void **state) {
        PwProcess *p;

        apply(ev_fork(10 * MS, 100, 320, 320));
        apply(ev_fork(11 * MS, 100, 321, 320));
        apply(ev_fork(12 * MS, 100, 322, 320));
        p = proctree_get_live(t, 320);
        /* Thread 322 execs: the others exit, then a leader-looking EXIT, then EXEC(tgid); 322's tid
         * never gets an EXIT. */
        apply(ev_exit(13 * MS, 321, 320, 0));
        apply(ev_exit(14 * MS, 320, 320, 0));
        assert_true(pw_process_alive(p));
        apply(ev_exec(15 * MS, 320));
        assert_true(pw_process_alive(p));
        assert_int_equal(p->n_tasks, 1);
        assert_int_equal(p->n_execs, 1);
        apply(ev_exit(16 * MS, 320, 320, 0));
        assert_true(p->exited);
        assert_int_equal(p->exit_ns, 16 * MS);
}

static void test_pid_reuse_late_exit(void **state) {
        PwProcess *old, *new;

        apply(ev_fork(10 * MS, 100, 330, 330));
        old = proctree_get_live(t, 330);
        /* The auto-reaped old task freed 330; a new FORK takes it before the old EXIT is read. */
        apply(ev_fork(30 * MS, 100, 330, 330));
        new = proctree_get_live(t, 330);
        assert_ptr_not_equal(old, new);
        assert_true(old->displaced);
        apply(ev_exit(29 * MS, 330, 330, 9));
        assert_true(old->exited);
        assert_int_equal(old->exit_code, 9);
        assert_true(pw_process_alive(new));
        apply(ev_exit(40 * MS, 330, 330, 0));
        assert_true(new->exited);
        assert_ptr_equal(proctree_get_by_id(t, "330:10000000"), old);
        assert_ptr_equal(proctree_get_by_id(t, "330:30000000"), new);
        assert_ptr_equal(proctree_get(t, 330), new);
}

static void test_exec_before_fork(void **state) {
        PwProcess *p;

        /* EXEC read before its FORK (different CPUs): a placeholder, completed by the FORK. */
        apply(ev_exec(51 * MS, 340));
        p = proctree_get_live(t, 340);
        assert_int_equal(p->source, PW_SOURCE_PLACEHOLDER);
        apply(ev_fork(50 * MS, 100, 340, 340));
        assert_ptr_equal(proctree_get_live(t, 340), p);
        assert_int_equal(p->source, PW_SOURCE_EVENT);
        assert_int_equal(p->start_ns, 50 * MS);
        assert_int_equal(p->ppid, 100);
        assert_false(p->uncertain & PW_UNCERTAIN_START);
        assert_string_equal(p->id, "340:50000000");
        apply(ev_exit(60 * MS, 340, 340, 0));
        assert_true(p->exited);
}

/* A placeholder is made for an unknown pid named by an event, and completed from /proc. When the
 * pid went to another process before the read (the placeholder's own exited meanwhile), that
 * process started after the event: it must not be merged into the placeholder. */
static void test_placeholder_rejects_reused_pid(void **state) {
        PwProcInfo later = info_of(345, 1, 80 * MS, "newcomer");
        PwProcInfo own = info_of(345, 100, 40 * MS, "own");
        PwProcess *p;

        later.exe = strdup("/usr/bin/newcomer");
        own.exe = strdup("/usr/bin/own");
        apply(ev_exec(60 * MS, 345));
        p = proctree_get_live(t, 345);
        assert_int_equal(p->source, PW_SOURCE_PLACEHOLDER);
        assert_false(proctree_read_matches(t, 345, later.start_boot_ns, HZ));
        assert_int_equal(proctree_enrich(t, &later, HZ), -ESRCH);
        assert_ptr_equal(proctree_get_live(t, 345), p);
        assert_int_equal(p->source, PW_SOURCE_PLACEHOLDER);
        assert_null(p->exe);
        assert_true(p->uncertain & PW_UNCERTAIN_IMAGE);
        assert_true(p->uncertain & PW_UNCERTAIN_START);

        /* Within a millisecond of the event: the clock offset's sampling error, accepted. */
        assert_true(proctree_read_matches(t, 345, 60 * MS + MS / 2, HZ));
        /* Its own process, started before the event, completes it. */
        assert_true(proctree_read_matches(t, 345, own.start_boot_ns, HZ));
        assert_int_equal(proctree_enrich(t, &own, HZ), 0);
        assert_ptr_equal(proctree_get_live(t, 345), p);
        assert_int_equal(p->start_ns, 40 * MS);
        assert_string_equal(p->exe->data, "/usr/bin/own");
        assert_false(p->uncertain & PW_UNCERTAIN_START);
        pw_proc_info_done(&later);
        pw_proc_info_done(&own);
}

/* The same through a reconciliation: the placeholder's process ended unseen, and the pid's new
 * process is added as a record of its own. */
static void test_reconcile_placeholder_reused_pid(void **state) {
        PwProcInfo snap[3];
        unsigned ended = 0, added = 0;
        PwProcess *ph, *fresh;

        apply(ev_exec(60 * MS, 346));
        ph = proctree_get_live(t, 346);
        snap[0] = info_of(1, 0, 1 * MS, "init");
        snap[1] = info_of(100, 1, 50 * MS, "bash");
        snap[2] = info_of(346, 100, 70 * MS, "newcomer");
        assert_int_equal(proctree_reconcile(t, snap, 3, 1000 * MS, HZ, PW_SOURCE_RECONCILED, &ended, &added), 0);
        assert_int_equal(ended, 1);
        assert_int_equal(added, 1);
        assert_true(ph->exited);
        assert_true(ph->uncertain & PW_UNCERTAIN_EXIT);
        fresh = proctree_get_live(t, 346);
        assert_ptr_not_equal(fresh, ph);
        assert_int_equal(fresh->start_ns, 70 * MS);
        assert_string_equal(fresh->comm, "newcomer");

        /* And directly: add_from_proc displaces a placeholder that the read cannot be. */
        apply(ev_exec(80 * MS, 347));
        ph = proctree_get_live(t, 347);
        snap[2] = info_of(347, 100, 85 * MS, "later");
        assert_int_equal(proctree_add_from_proc(t, &snap[2], PW_SOURCE_RECONCILED, HZ), 0);
        assert_ptr_not_equal(proctree_get_live(t, 347), ph);
        assert_true(ph->displaced);
        assert_int_equal(proctree_get_live(t, 347)->start_ns, 85 * MS);
}

static void test_lost_fork(void **state) {
        PwEvent e = ev_exit(70 * MS, 350, 350, SIGKILL);
        PwProcess *p;

        e.exit.parent_tgid = 100;
        apply(e);
        p = proctree_get(t, 350);
        assert_non_null(p);
        assert_true(p->exited);
        assert_int_equal(p->exit_code, SIGKILL);
        assert_int_equal(p->ppid, 100);
        assert_true(p->uncertain & PW_UNCERTAIN_START);
}

static void test_double_exit(void **state) {
        uint64_t exited;

        apply(ev_fork(10 * MS, 100, 360, 360));
        apply(ev_exit(20 * MS, 360, 360, 0));
        exited = figures().processes_exited;
        apply(ev_exit(20 * MS, 360, 360, 0));
        assert_int_equal(figures().processes_exited, exited);
        assert_int_equal(figures().duplicate_exits, 1);
        assert_int_equal(figures().retained, 1);
}

static void test_reparent(void **state) {
        PwProcess *reaper, *mid, *leaf, *orphan;
        PwApplyResult res;
        size_t n;

        apply(ev_fork(10 * MS, 100, 370, 370)); /* a PR_SET_CHILD_SUBREAPER process */
        apply(ev_fork(11 * MS, 370, 371, 371));
        apply(ev_fork(12 * MS, 371, 372, 372));
        apply(ev_fork(13 * MS, 371, 373, 373));
        reaper = proctree_get_live(t, 370);
        mid = proctree_get_live(t, 371);
        leaf = proctree_get_live(t, 372);
        orphan = proctree_get_live(t, 373);
        assert_ptr_equal(proctree_parent(leaf), mid);

        assert_int_equal(apply_res(ev_exit(20 * MS, 371, 371, 0), &res), 0);
        n = res.n_reparent;
        assert_int_equal(n, 2);
        assert_true((res.reparent[0] == 372 && res.reparent[1] == 373) ||
                    (res.reparent[0] == 373 && res.reparent[1] == 372));
        /* The caller reads the real ppid from /proc: the subreaper for one, init for the other. */
        proctree_set_parent(t, 372, 370);
        proctree_set_parent(t, 373, 0);
        assert_ptr_equal(proctree_parent(leaf), reaper);
        assert_int_equal(leaf->original_ppid, 371);
        assert_int_equal(orphan->ppid, 1);
        assert_ptr_equal(proctree_parent(orphan), proctree_get_live(t, 1));
        assert_true(orphan->uncertain & PW_UNCERTAIN_PARENT);
        assert_int_equal(proctree_n_children(mid), 0);
}

static void test_ids_comm_ptrace(void **state) {
        PwEvent e;
        PwProcess *p, *tracer;

        apply(ev_fork(10 * MS, 100, 380, 380));
        apply(ev_fork(10 * MS, 100, 381, 381));
        p = proctree_get_live(t, 380);
        tracer = proctree_get_live(t, 381);

        e = (PwEvent){ .kind = PW_EVENT_UID, .timestamp_ns = 11 * MS, .id = { 380, 380, 1000, 0 } };
        apply(e);
        e = (PwEvent){ .kind = PW_EVENT_GID, .timestamp_ns = 11 * MS, .id = { 380, 380, 100, 101 } };
        apply(e);
        assert_int_equal(p->uid, 1000);
        assert_int_equal(p->euid, 0);
        assert_int_equal(p->gid, 100);
        assert_int_equal(p->egid, 101);

        e = (PwEvent){ .kind = PW_EVENT_SID, .timestamp_ns = 12 * MS, .sid = { 380, 380 } };
        apply(e);
        assert_int_equal(p->sid, 380);

        /* The history costs nothing until the first change. */
        assert_null(p->comm_history);
        e = (PwEvent){ .kind = PW_EVENT_COMM, .timestamp_ns = 13 * MS, .comm = { 380, 380, "worker\n\xff" } };
        apply(e);
        assert_string_equal(p->comm, "worker\n\xff");
        assert_int_equal(p->n_comm_history, 1);
        assert_string_equal(p->comm_history[0].old_comm, "bash");
        /* A thread's name is not the process's. */
        e = (PwEvent){ .kind = PW_EVENT_COMM, .timestamp_ns = 14 * MS, .comm = { 385, 380, "thread" } };
        apply(e);
        assert_string_equal(p->comm, "worker\n\xff");

        e = (PwEvent){ .kind = PW_EVENT_PTRACE, .timestamp_ns = 15 * MS, .ptrace = { 380, 380, 381, 381 } };
        apply(e);
        assert_int_equal(p->tracer, 381);
        /* No event when a tracer dies: the tree clears it. */
        apply(ev_exit(16 * MS, 381, 381, 0));
        assert_int_equal(p->tracer, 0);
        assert_true(tracer->exited);
}

static void test_retention_count_and_age(void **state) {
        ProcTreeLimits lim = { .retain_count = 10, .retain_age_ns = 1000 * MS, .string_budget = 1 << 20 };
        ProcTree *old = t;

        assert_int_equal(proctree_new(&t, &lim), 0);
        add_scanned(100, 1, 1 * MS, "bash");
        for (int i = 0; i < 100; i++) {
                apply(ev_fork((uint64_t) (10 + i) * MS, 100, 1000 + i, 1000 + i));
                apply(ev_exit((uint64_t) (10 + i) * MS + 1, 1000 + i, 1000 + i, 0));
                assert_true(figures().retained <= 10); /* at every moment, not only at expiry */
        }
        proctree_expire(t, 200 * MS);
        assert_int_equal(figures().retained, 10);
        assert_null(proctree_get(t, 1000));                 /* oldest evicted */
        assert_non_null(proctree_get(t, 1099));
        assert_int_equal(proctree_n_children(proctree_get_live(t, 100)), 10);
        proctree_expire(t, 2000 * MS);
        assert_int_equal(figures().retained, 0);
        assert_int_equal(proctree_n_children(proctree_get_live(t, 100)), 0);
        t = proctree_free(t);
        t = old;
}

/* DropRetained: every exited record goes, live ones and their links stay. */
static void test_drop_retained(void **state) {
        for (int i = 0; i < 5; i++) {
                apply(ev_fork((uint64_t) (10 + i) * MS, 100, 1000 + i, 1000 + i));
                apply(ev_exit((uint64_t) (10 + i) * MS + 1, 1000 + i, 1000 + i, 0));
        }
        apply(ev_fork(20 * MS, 100, 2000, 2000));
        assert_int_equal(figures().retained, 5);
        assert_int_equal(proctree_drop_retained(t), 5);
        assert_int_equal(figures().retained, 0);
        assert_null(proctree_get(t, 1000));
        assert_non_null(proctree_get_live(t, 2000));
        assert_int_equal(proctree_n_children(proctree_get_live(t, 100)), 1);
        assert_int_equal(proctree_drop_retained(t), 0);
}

static void test_retention_bytes(void **state) {
        ProcTreeLimits lim = { .retain_count = 1000, .retain_age_ns = UINT64_MAX, .string_budget = 8192 };
        ProcTree *old = t;
        char big[3000];

        memset(big, 'a', sizeof(big));
        for (size_t i = 99; i < sizeof(big); i += 100)
                big[i] = '\0';
        big[sizeof(big) - 1] = '\0';

        assert_int_equal(proctree_new(&t, &lim), 0);
        for (int i = 0; i < 10; i++) {
                PwProcInfo info = info_of(2000 + i, 1, (uint64_t) (i + 1) * MS, "big");

                info.argv = big;
                info.argv_len = sizeof(big);
                assert_int_equal(proctree_add_from_proc(t, &info, PW_SOURCE_SCAN, HZ), 0);
                /* It exits at once: exited records make room for the next argv. */
                apply(ev_exit((uint64_t) (i + 1) * MS + 1, 2000 + i, 2000 + i, 0));
                assert_true(figures().string_bytes <= lim.string_budget);
        }
        assert_true(figures().evicted_for_bytes > 0);
        assert_non_null(proctree_get(t, 2009));
        assert_int_equal(proctree_get(t, 2009)->argv->len, sizeof(big) - 1);

        /* Live processes alone over budget: the new argv is cut at a word and marked. */
        for (int i = 0; i < 4; i++) {
                PwProcInfo info = info_of(3000 + i, 1, (uint64_t) (i + 1) * MS, "big");

                info.argv = big;
                info.argv_len = sizeof(big);
                assert_int_equal(proctree_add_from_proc(t, &info, PW_SOURCE_SCAN, HZ), 0);
                assert_true(figures().string_bytes <= lim.string_budget);
        }
        assert_true(proctree_get(t, 3003)->argv_truncated);
        assert_true(figures().argv_truncated_budget > 0);
        t = proctree_free(t);
        t = old;
}

static void test_million_short_lived(void **state) {
        ProcTreeLimits lim = { .retain_count = 5000, .retain_age_ns = UINT64_MAX, .string_budget = 1 << 20 };
        ProcTree *old = t;
        char argv[] = "sh\0-c\0true";
        PwProcInfo info = info_of(100, 1, 1 * MS, "sh");

        assert_int_equal(proctree_new(&t, &lim), 0);
        info.argv = argv;
        info.argv_len = sizeof(argv);
        assert_int_equal(proctree_add_from_proc(t, &info, PW_SOURCE_SCAN, HZ), 0);
        /* pids wrap at 32768 as on these machines; every child shares the parent's argv. */
        for (uint64_t i = 0; i < 1000000; i++) {
                pid_t pid = (pid_t) (200 + i % 32000);

                apply(ev_fork(10 * MS + i * 1000, 100, pid, pid));
                apply(ev_exit(10 * MS + i * 1000 + 500, pid, pid, 0));
                if (i % 1000 == 0)
                        proctree_expire(t, 10 * MS + i * 1000);
        }
        proctree_expire(t, UINT64_MAX / 2);
        assert_int_equal(figures().live, 1);
        assert_true(figures().retained <= 5000);
        assert_int_equal(figures().processes_exited, 1000000);
        /* One shared argv string: memory does not grow with the number of processes. */
        assert_int_equal(figures().string_bytes, sizeof(argv));
        assert_true(figures().tasks == 1);
        assert_true(figures().live_slots <= 64);
        t = proctree_free(t);
        t = old;
}

static void test_reconcile(void **state) {
        PwProcInfo snap[4];
        unsigned ended = 0, added = 0;
        PwProcess *gone, *reused_old, *reused_new, *fresh;

        apply(ev_fork(10 * MS, 100, 400, 400)); /* will vanish unseen */
        apply(ev_fork(11 * MS, 100, 401, 401)); /* pid will be reused */
        gone = proctree_get_live(t, 400);
        reused_old = proctree_get_live(t, 401);

        snap[0] = info_of(1, 0, 1 * MS, "init");
        snap[1] = info_of(100, 1, 50 * MS, "bash");
        snap[2] = info_of(401, 100, 500 * MS, "new401");
        snap[3] = info_of(402, 401, 600 * MS, "fresh");
        assert_int_equal(proctree_reconcile(t, snap, 4, 1000 * MS, HZ, PW_SOURCE_RECONCILED, &ended, &added), 0);

        assert_true(gone->exited);
        assert_true(gone->uncertain & PW_UNCERTAIN_EXIT);
        assert_true(reused_old->exited);
        reused_new = proctree_get_live(t, 401);
        assert_ptr_not_equal(reused_new, reused_old);
        assert_int_equal(reused_new->start_ns, 500 * MS);
        assert_int_equal(reused_new->source, PW_SOURCE_RECONCILED);
        fresh = proctree_get_live(t, 402);
        assert_non_null(fresh);
        /* Its parent was added in the same pass, after or before it: linked either way. */
        assert_ptr_equal(proctree_parent(fresh), reused_new);
        assert_int_equal(ended, 2);
        assert_int_equal(added, 2);

        /* The EXIT of the vanished one, read after the reconciliation, fills in the status. */
        apply(ev_exit(900 * MS, 400, 400, 3 << 8));
        assert_false(gone->uncertain & PW_UNCERTAIN_EXIT);
        assert_int_equal(gone->exit_code, 3 << 8);
}

static void test_scan_overlap(void **state) {
        PwProcess *p;

        /* The start-up scan saw 410 (start rounded to a tick); its queued FORK is the same process. */
        add_scanned(410, 100, 120 * MS, "x");
        p = proctree_get_live(t, 410);
        apply(ev_fork(120 * MS + 4 * MS, 100, 410, 410));
        assert_ptr_equal(proctree_get_live(t, 410), p);
        assert_int_equal(figures().duplicate_forks, 1);
        assert_string_equal(p->id, "410:120000000");
}

static void write_file(const char *root, int pid, const char *name, const char *text) {
        char path[256];
        FILE *f;

        snprintf(path, sizeof(path), "%s/%d", root, pid);
        (void) mkdir(path, 0755);
        snprintf(path, sizeof(path), "%s/%d/%s", root, pid, name);
        f = fopen(path, "we");
        assert_non_null(f);
        fputs(text, f);
        fclose(f);
}

static void fake_process(const char *root, int pid, int ppid, unsigned long long ticks, const char *comm) {
        char stat[512];

        snprintf(stat, sizeof(stat),
                 "%d (%s) S %d %d %d 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %llu 1000 100 0 0 0 0 0 0 0 0 0 0 0 "
                 "0 0 0 17 0 0 0 0 0 0\n",
                 pid, comm, ppid, pid, pid, ticks);
        write_file(root, pid, "stat", stat);
        write_file(root, pid, "status", "Name:\tx\nTgid:\t1\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");
}

static void test_reconcile_from_fake_proc(void **state) {
        char root[] = "/tmp/pwfakeproc-XXXXXX", cmd[300];
        PwProcInfo snap[8] = {};
        PwProcReader r = { .proc_fd = -1 };
        PwProcess *gone, *fresh;
        unsigned ended, added;
        pid_t *pids = NULL;
        int n;

        /* /proc as it is after lost events: 1 and 100 still there, 400 gone, 500 new. */
        assert_int_equal(0, tc_mkdtemp(root));
        fake_process(root, 1, 0, 0, "init");
        fake_process(root, 100, 1, 5, "bash");
        fake_process(root, 500, 100, 100, "new one");
        apply(ev_fork(300 * MS, 100, 400, 400));
        gone = proctree_get_live(t, 400);

        assert_int_equal(pw_proc_reader_open(&r, root), 0);
        r.hz = HZ;
        r.boot_minus_mono_ns = 0;
        n = pw_proc_list_pids(&r, &pids);
        assert_int_equal(n, 3);
        for (int i = 0; i < n; i++)
                assert_int_equal(pw_proc_read(&r, pids[i], 0, PW_READ_STAT | PW_READ_STATUS, &snap[i]), 0);
        assert_int_equal(proctree_reconcile(t, snap, (size_t) n, 2000 * MS, HZ, PW_SOURCE_RECONCILED, &ended, &added), 0);

        assert_int_equal(ended, 1);
        assert_int_equal(added, 1);
        assert_true(gone->exited && (gone->uncertain & PW_UNCERTAIN_EXIT));
        fresh = proctree_get_live(t, 500);
        assert_non_null(fresh);
        assert_string_equal(fresh->comm, "new one");
        assert_int_equal(fresh->start_boot_ns, 1000 * MS);
        assert_ptr_equal(proctree_parent(fresh), proctree_get_live(t, 100));
        assert_int_equal(fresh->source, PW_SOURCE_RECONCILED);

        for (int i = 0; i < n; i++)
                pw_proc_info_done(&snap[i]);
        free(pids);
        pw_proc_reader_close(&r);
        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        assert_int_equal(system(cmd), 0);
}

static void test_reconcile_zombies(void **state) {
        PwProcInfo snap[4];
        unsigned ended = 0, added = 0;
        PwProcess *exited, *lost, *fresh;

        /* 430 exited (its EXIT applied) but is not reaped yet: /proc still shows it, as Z. */
        apply(ev_fork(10 * MS, 100, 430, 430));
        apply(ev_exit(20 * MS, 430, 430, 0));
        exited = proctree_get(t, 430);
        /* 431's EXIT was lost: the tree thinks it alive, /proc shows a zombie. */
        apply(ev_fork(11 * MS, 100, 431, 431));
        lost = proctree_get_live(t, 431);

        snap[0] = info_of(1, 0, 1 * MS, "init");
        snap[1] = info_of(100, 1, 50 * MS, "bash");
        snap[2] = info_of(430, 100, 10 * MS, "z");
        snap[2].stat.state = 'Z';
        snap[3] = info_of(431, 100, 11 * MS, "z");
        snap[3].stat.state = 'Z';
        assert_int_equal(proctree_reconcile(t, snap, 4, 1000 * MS, HZ, PW_SOURCE_RECONCILED, &ended, &added), 0);

        assert_null(proctree_get_live(t, 430)); /* not brought back to life */
        assert_ptr_equal(proctree_get(t, 430), exited);
        assert_true(lost->exited && (lost->uncertain & PW_UNCERTAIN_EXIT));
        assert_null(proctree_get_live(t, 431));
        assert_int_equal(added, 0);

        /* A zombie the tree never knew (it died before we could see it): recorded as ended. */
        snap[3] = info_of(432, 100, 12 * MS, "z");
        snap[3].stat.state = 'Z';
        assert_int_equal(proctree_reconcile(t, snap, 4, 1100 * MS, HZ, PW_SOURCE_RECONCILED, &ended, &added), 0);
        fresh = proctree_get(t, 432);
        assert_non_null(fresh);
        assert_true(fresh->exited && (fresh->uncertain & PW_UNCERTAIN_EXIT));
}

/* A parent ended unseen (events lost): its orphan's new parent comes from the same snapshot, at once,
 * not from a later /proc read, and no work order is left over for the next event. */
static void test_reconcile_reparents_orphans(void **state) {
        PwProcInfo snap[3];
        unsigned ended = 0, added = 0;
        PwApplyResult res;
        PwProcess *orphan;

        apply(ev_fork(10 * MS, 100, 430, 430));
        apply(ev_fork(11 * MS, 430, 431, 431));
        snap[0] = info_of(1, 0, 1 * MS, "init");
        snap[1] = info_of(100, 1, 50 * MS, "bash");
        snap[2] = info_of(431, 1, 11 * MS, "bash"); /* 430 is gone; the kernel gave 431 to init */
        assert_int_equal(proctree_reconcile(t, snap, 3, 20 * MS, HZ, PW_SOURCE_RECONCILED, &ended, &added), 0);
        assert_int_equal(ended, 1);
        orphan = proctree_get_live(t, 431);
        assert_int_equal(orphan->ppid, 1);
        assert_int_equal(orphan->original_ppid, 430);
        assert_ptr_equal(proctree_parent(orphan), proctree_get_live(t, 1));
        assert_int_equal(apply_res(ev_fork(30 * MS, 100, 432, 432), &res), 0);
        assert_int_equal(res.n_reparent, 0);
        assert_int_equal(res.n_enrich, 0);
}

static void test_suspend_keeps_identity(void **state) {
        PwProcInfo snap[3];
        unsigned ended = 1, added = 1;
        PwProcess *p;

        apply(ev_fork(100 * MS, 100, 420, 420)); /* learned from its FORK before the suspend */
        p = proctree_get_live(t, 420);
        /* 5 s suspended: /proc's BOOTTIME start converts to a monotonic value 5 s too early now. */
        proctree_set_clock_offset(t, 5000 * MS);
        snap[0] = info_of(1, 0, 1 * MS, "init");
        snap[1] = info_of(100, 1, 50 * MS, "bash");
        snap[2] = info_of(420, 100, 0, "x");
        snap[2].start_boot_ns = 100 * MS;
        assert_int_equal(proctree_reconcile(t, snap, 3, 9000 * MS, HZ, PW_SOURCE_RECONCILED, &ended, &added), 0);
        assert_int_equal(ended, 0);
        assert_int_equal(added, 0);
        assert_ptr_equal(proctree_get_live(t, 420), p);
        assert_true(pw_process_alive(p));
}

/* --- budgets per uid ------------------------------------------------------------------------------ */

typedef struct StrSeen {
        const PwStr **s;
        size_t n, alloc;
} StrSeen;

static void seen_add(StrSeen *w, const PwStr *s) {
        if (!s)
                return;
        for (size_t i = 0; i < w->n; i++)
                if (w->s[i] == s)
                        return;
        if (w->n == w->alloc) {
                w->alloc = w->alloc ? w->alloc * 2 : 64;
                w->s = realloc(w->s, w->alloc * sizeof(*w->s));
                assert_non_null(w->s);
        }
        w->s[w->n++] = s;
}

static void seen_process(StrSeen *w, const PwProcess *p) {
        seen_add(w, p->exe);
        seen_add(w, p->argv);
        seen_add(w, p->cgroup);
        seen_add(w, p->unit);
}

static bool seen_visit(PwProcess *p, void *userdata) {
        seen_process(userdata, p);
        return true;
}

typedef struct Sums {
        const StrSeen *strings;
        size_t bytes;
        unsigned retained, uids;
} Sums;

/* Each uid: its bytes are exactly those of the strings charged to it. */
static bool check_uid(const PwUidBudget *u, void *userdata) {
        Sums *sum = userdata;
        size_t bytes = 0;

        for (size_t i = 0; i < sum->strings->n; i++)
                if (sum->strings->s[i]->uid == u->uid)
                        bytes += sum->strings->s[i]->len + 1;
        assert_int_equal(u->bytes, bytes);
        sum->bytes += u->bytes;
        sum->retained += u->n_retained;
        sum->uids++;
        return true;
}

/* The accounting adds up: every string alive is charged once to one uid, every retained record to
 * one uid, and the sums are the tree's. */
static void check_accounting(void) {
        StrSeen w = {};
        Sums sum = { .strings = &w };
        size_t total = 0;

        (void) proctree_foreach(t, PROCTREE_WALK_ALL, seen_visit, &w);
        for (size_t i = 0; i < w.n; i++)
                total += w.s[i]->len + 1;
        assert_int_equal(figures().string_bytes, total);
        proctree_foreach_uid(t, check_uid, &sum);
        assert_int_equal(sum.bytes, figures().string_bytes);
        assert_int_equal(sum.retained, figures().retained);
        /* Each uid's list holds exactly its records, oldest first: the tree checks its own links. */
        assert_int_equal(proctree_verify(t), 0);
        free(w.s);
}

static char big_argv[4000];

static void big_init(void) {
        memset(big_argv, 'b', sizeof(big_argv));
        for (size_t i = 99; i < sizeof(big_argv); i += 100)
                big_argv[i] = '\0';
        big_argv[sizeof(big_argv) - 1] = '\0';
}

/* A process of uid read from /proc with an argv of len bytes (of big_argv) and an exe. */
static PwProcess *add_uid_proc(pid_t pid, uint64_t start, uint32_t uid, size_t len) {
        PwProcInfo i = info_of(pid, 1, start, "p");

        i.uid = i.euid = uid;
        i.exe = (char *) "/usr/bin/p";
        i.argv = big_argv;
        i.argv_len = len;
        assert_int_equal(proctree_add_from_proc(t, &i, PW_SOURCE_SCAN, HZ), 0);
        check_accounting();
        return proctree_get_live(t, pid);
}

static void end_proc(pid_t pid, uint64_t ts) {
        apply(ev_exit(ts, pid, pid, 0));
        check_accounting();
}

static ProcTree *new_tree(unsigned count, size_t budget, unsigned share) {
        ProcTreeLimits lim = { .retain_count = count, .retain_age_ns = UINT64_MAX, .string_budget = budget,
                               .uid_share_percent = share };
        ProcTree *old = t;

        big_init();
        assert_int_equal(proctree_new(&t, &lim), 0);
        return old;
}

static bool take_first(PwProcess *p, void *userdata) {
        *(PwProcess **) userdata = p;
        return false;
}

/* The first record of a walk, NULL when there is none. */
static PwProcess *first_of(ProcTreeWalk which) {
        PwProcess *p = NULL;

        (void) proctree_foreach(t, which, take_first, &p);
        return p;
}

static bool check_emptied(const PwUidBudget *u, void *userdata) {
        assert_int_equal(u->bytes, 0);
        assert_int_equal(u->n_retained, 0);
        assert_true(u->evicted + u->argv_cut + u->strings_dropped > 0);
        return true;
}

/* Drops everything: every charge goes back to zero and only the uids that lost something remain. */
static void drop_all_and_check(ProcTree *old) {
        PwProcess *p;

        proctree_drop_retained(t);
        check_accounting();
        while ((p = first_of(PROCTREE_WALK_LIVE | PROCTREE_WALK_DISPLACED))) {
                apply(ev_exit(UINT64_MAX / 4, p->pid, p->pid, 0));
                proctree_drop_retained(t);
        }
        check_accounting();
        assert_int_equal(figures().string_bytes, 0);
        assert_int_equal(figures().retained, 0);
        proctree_expire(t, UINT64_MAX / 2);
        proctree_foreach_uid(t, check_emptied, NULL);
        t = proctree_free(t);
        t = old;
}

/* Root's history, then a user's processes, alive, each with 4000 bytes of argv, far more than the
 * budget: the user's argv are cut, root keeps every record and its own new argv whole. */
static void test_budget_user_cannot_wipe_root(void **state) {
        ProcTree *old = new_tree(1000, 64 * 1024, 25);
        const PwUidBudget *u, *r;
        PwProcess *p;

        for (int i = 0; i < 20; i++) {
                add_uid_proc(2000 + i, (uint64_t) (i + 1) * MS, 0, 200);
                end_proc(2000 + i, (uint64_t) (i + 1) * MS + 1);
        }
        for (int i = 0; i < 40; i++) {
                p = add_uid_proc(3000 + i, (uint64_t) (100 + i) * MS, 1000, sizeof(big_argv));
                assert_true(proctree_uid_budget(t, 1000)->bytes <= proctree_uid_share_bytes(t, 1000));
                assert_true(figures().string_bytes <= proctree_get_limits(t)->string_budget);
        }
        assert_true(p->argv_truncated);
        assert_true(p->argv == NULL || p->argv->len < sizeof(big_argv) - 1);
        for (int i = 0; i < 20; i++)
                assert_non_null(proctree_get(t, 2000 + i));
        p = add_uid_proc(4000, 500 * MS, 0, sizeof(big_argv));
        assert_false(p->argv_truncated);
        assert_int_equal(p->argv->len, sizeof(big_argv) - 1);
        u = proctree_uid_budget(t, 1000);
        assert_true(u->argv_cut >= 30);
        assert_int_equal(u->evicted, 0);
        r = proctree_uid_budget(t, 0);
        assert_int_equal(r->evicted, 0);
        assert_int_equal(r->argv_cut, 0);
        assert_int_equal(figures().evicted_for_others, 0);
        drop_all_and_check(old);
}

/* Over its share a uid pays with its own records, oldest first, before its argv is cut. */
static void test_budget_own_records_first(void **state) {
        ProcTree *old = new_tree(1000, 64 * 1024, 25);
        const PwUidBudget *u;
        PwProcess *p;

        add_uid_proc(2000, 1 * MS, 0, 200);
        end_proc(2000, 2 * MS);
        for (int i = 0; i < 3; i++) {
                add_uid_proc(3000 + i, (uint64_t) (10 + i) * MS, 1000, sizeof(big_argv));
                end_proc(3000 + i, (uint64_t) (10 + i) * MS + 1);
        }
        /* Four live ones fit in the 16 KiB share once its three exited records went, oldest first. */
        for (int i = 0; i < 4; i++) {
                add_uid_proc(3100 + i, (uint64_t) (20 + i) * MS, 1000, sizeof(big_argv));
                assert_false(proctree_get_live(t, 3100 + i)->argv_truncated);
        }
        u = proctree_uid_budget(t, 1000);
        assert_int_equal(u->evicted, 3);
        assert_null(proctree_get(t, 3000));
        assert_null(proctree_get(t, 3002));
        /* The fifth: nothing of its own left to give, its argv is cut at a word. */
        p = add_uid_proc(3104, 30 * MS, 1000, sizeof(big_argv));
        assert_true(p->argv_truncated);
        assert_int_equal(p->argv->len % 100, 99);
        assert_int_equal(u->argv_cut, 1);
        assert_non_null(proctree_get(t, 2000));
        assert_int_equal(u->evicted_for_others, 0);
        drop_all_and_check(old);
}

/* Under the total, the uid holding the most gives up records, never one holding less than the uid
 * that needs room. */
static void test_budget_total_takes_from_the_heaviest(void **state) {
        ProcTree *old = new_tree(1000, 40 * 1024, 50);
        const PwUidBudget *a, *b;

        /* Uid 1000 keeps 4 exited records (16 KiB), uid 1001 2 (8 KiB), root holds 16 KiB alive. */
        for (int i = 0; i < 4; i++) {
                add_uid_proc(3000 + i, (uint64_t) (10 + i) * MS, 1000, sizeof(big_argv));
                end_proc(3000 + i, (uint64_t) (10 + i) * MS + 1);
        }
        for (int i = 0; i < 2; i++) {
                add_uid_proc(4000 + i, (uint64_t) (20 + i) * MS, 1001, sizeof(big_argv));
                end_proc(4000 + i, (uint64_t) (20 + i) * MS + 1);
        }
        for (int i = 0; i < 4; i++)
                add_uid_proc(5000 + i, (uint64_t) (30 + i) * MS, 0, sizeof(big_argv));
        /* Uid 1001 needs 4 KiB more: uid 1000 holds more than 1001 will (12 KiB), it pays. */
        add_uid_proc(4100, 40 * MS, 1001, sizeof(big_argv));
        a = proctree_uid_budget(t, 1000);
        b = proctree_uid_budget(t, 1001);
        assert_true(a->evicted >= 1);
        assert_int_equal(a->evicted, a->evicted_for_others);
        assert_null(proctree_get(t, 3000));
        assert_int_equal(b->evicted, 0);
        assert_false(proctree_get_live(t, 4100)->argv_truncated);
        /* Now uid 1000 needs room: uid 1001 holds less than 1000 will, so 1000 pays itself. */
        add_uid_proc(3100, 50 * MS, 1000, sizeof(big_argv));
        assert_int_equal(b->evicted, 0);
        assert_non_null(proctree_get(t, 4000));
        assert_true(a->evicted > a->evicted_for_others);
        assert_int_equal(proctree_uid_budget(t, 0)->evicted, 0);
        drop_all_and_check(old);
}

/* The retained count: a uid beyond its share evicts its own; under the total, the uid with the most
 * records pays. */
static void test_budget_count_shares(void **state) {
        ProcTree *old = new_tree(20, 1 << 20, 25);
        const PwUidBudget *u, *r;

        for (int i = 0; i < 8; i++) {
                add_uid_proc(2000 + i, (uint64_t) (1 + i) * MS, 0, 10);
                end_proc(2000 + i, (uint64_t) (1 + i) * MS + 1);
        }
        for (int i = 0; i < 100; i++) {
                add_uid_proc(3000 + i, (uint64_t) (100 + i) * MS, 1000, 10);
                end_proc(3000 + i, (uint64_t) (100 + i) * MS + 1);
        }
        u = proctree_uid_budget(t, 1000);
        r = proctree_uid_budget(t, 0);
        assert_int_equal(u->n_retained, 5); /* 25% of 20 */
        assert_int_equal(u->evicted, 95);
        assert_non_null(proctree_get(t, 3099));
        assert_null(proctree_get(t, 3094));
        assert_int_equal(r->n_retained, 8);
        assert_int_equal(r->evicted, 0);
        /* Root fills the total: root, holding the most, pays itself; uid 1000 keeps its five. */
        for (int i = 0; i < 20; i++) {
                add_uid_proc(4000 + i, (uint64_t) (300 + i) * MS, 0, 10);
                end_proc(4000 + i, (uint64_t) (300 + i) * MS + 1);
                assert_true(figures().retained <= 20);
        }
        assert_int_equal(u->n_retained, 5);
        assert_int_equal(r->n_retained, 15);
        assert_int_equal(r->evicted_for_others, 0);
        assert_int_equal(u->evicted_for_others, 0);
        drop_all_and_check(old);
}

/* A uid change moves no charge: strings stay with the uid they were read for until freed, the
 * record's retention goes to its uid when it ends, and an exec charges the new image to the new uid. */
static void test_budget_uid_change(void **state) {
        ProcTree *old = new_tree(100, 1 << 20, 25);
        PwEvent e;
        PwProcess *p, *c;
        PwProcInfo info;

        p = add_uid_proc(2000, 1 * MS, 0, 300);
        assert_int_equal(proctree_uid_budget(t, 0)->bytes, p->argv->len + 1 + p->exe->len + 1);
        /* A child forks: it shares the strings and their charge. */
        apply(ev_fork(2 * MS, 2000, 2001, 2001));
        c = proctree_get_live(t, 2001);
        assert_ptr_equal(c->argv, p->argv);
        check_accounting();
        /* It becomes uid 1000 without an exec: still root's bytes. */
        e = (PwEvent){ .kind = PW_EVENT_UID, .timestamp_ns = 3 * MS, .id = { 2001, 2001, 1000, 1000 } };
        apply(e);
        check_accounting();
        assert_null(proctree_uid_budget(t, 1000));
        /* It execs: the new image is charged to uid 1000. */
        apply(ev_exec(4 * MS, 2001));
        info = info_of(2001, 2000, 2 * MS, "q");
        info.uid = info.euid = 1000;
        info.argv = big_argv;
        info.argv_len = 500;
        assert_int_equal(proctree_enrich(t, &info, HZ), 0);
        check_accounting();
        assert_int_equal(proctree_uid_budget(t, 1000)->bytes, c->argv->len + 1);
        /* A root process that setuid()s and ends: its record goes to uid 1000. */
        e = (PwEvent){ .kind = PW_EVENT_UID, .timestamp_ns = 5 * MS, .id = { 2000, 2000, 1000, 1000 } };
        apply(e);
        end_proc(2000, 6 * MS);
        assert_int_equal(proctree_uid_budget(t, 1000)->n_retained, 1);
        assert_int_equal(proctree_uid_budget(t, 0)->n_retained, 0);
        /* An unknown process ends: charged to the invalid uid. */
        apply(ev_exit(7 * MS, 2500, 2500, 0));
        check_accounting();
        assert_int_equal(proctree_uid_budget(t, PW_UID_INVALID)->n_retained, 1);
        drop_all_and_check(old);
}

/* What the log reports: pending figures, most bitten first, taken once. */
/* The record of the event just applied is pinned: the /proc reads that follow (the work orders)
 * charge strings and evict for room, but never that record, which the caller forwards afterwards.
 * Released, it goes first. */
static void test_pinned_survives_enrich(void **state) {
        ProcTree *old = new_tree(1000, 4096, 100);
        PwProcInfo info = info_of(2001, 1, 2 * MS, "p");
        PwApplyResult res;
        PwProcess *ended;

        add_uid_proc(2000, 1 * MS, 0, 3000);
        add_uid_proc(2001, 2 * MS, 0, 100);
        assert_int_equal(apply_res(ev_exit(3 * MS, 2000, 2000, 0), &res), 0);
        ended = res.process;
        assert_true(ended && ended->exited);

        /* 2001's new image wants the room 2000's strings hold. */
        info.exe = (char *) "/usr/bin/p";
        info.argv = big_argv;
        info.argv_len = 3000;
        assert_int_equal(proctree_enrich(t, &info, HZ), 0);
        check_accounting();
        assert_ptr_equal(proctree_get(t, 2000), ended);
        assert_int_equal(ended->pid, 2000);
        assert_true(proctree_get_live(t, 2001)->argv_truncated);

        /* Done with it: the next read may take it. */
        proctree_release(t);
        assert_int_equal(proctree_enrich(t, &info, HZ), 0);
        check_accounting();
        assert_null(proctree_get(t, 2000));
        assert_false(proctree_get_live(t, 2001)->argv_truncated);
        drop_all_and_check(old);
}

static void test_budget_take_bitten(void **state) {
        ProcTree *old = new_tree(8, 1 << 20, 25);
        PwUidBudget got[4];
        const PwUidBudget *top[4];

        for (int i = 0; i < 10; i++) {
                add_uid_proc(3000 + i, (uint64_t) (10 + i) * MS, 1000, 10);
                end_proc(3000 + i, (uint64_t) (10 + i) * MS + 1);
                add_uid_proc(4000 + i, (uint64_t) (30 + i) * MS, 1001, 10);
                if (i < 5)
                        end_proc(4000 + i, (uint64_t) (30 + i) * MS + 1);
        }
        assert_int_equal(proctree_uids_bitten(t, top, 4), 2);
        assert_int_equal(top[0]->uid, 1000);
        assert_int_equal(top[0]->evicted, 8);
        assert_int_equal(top[1]->uid, 1001);
        assert_int_equal(top[1]->evicted, 3);
        assert_int_equal(proctree_take_bitten(t, got, 1), 2);
        assert_int_equal(got[0].uid, 1000);
        assert_int_equal(got[0].pending_evicted, 8);
        assert_int_equal(proctree_take_bitten(t, got, 4), 0);
        assert_int_equal(proctree_uids_bitten(t, top, 4), 2);
        drop_all_and_check(old);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_fork_exec_exit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_parse_id, setup, teardown),
                cmocka_unit_test_setup_teardown(test_apply_result, setup, teardown),
                cmocka_unit_test_setup_teardown(test_in_subtree, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retain_zero_keeps_the_last_for_its_caller, setup, teardown),
                cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
                cmocka_unit_test_setup_teardown(test_leader_exits_first, setup, teardown),
                cmocka_unit_test_setup_teardown(test_non_leader_exec, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pid_reuse_late_exit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_before_fork, setup, teardown),
                cmocka_unit_test_setup_teardown(test_placeholder_rejects_reused_pid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reconcile_placeholder_reused_pid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_lost_fork, setup, teardown),
                cmocka_unit_test_setup_teardown(test_double_exit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reparent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_ids_comm_ptrace, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retention_count_and_age, setup, teardown),
                cmocka_unit_test_setup_teardown(test_retention_bytes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_million_short_lived, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reconcile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_scan_overlap, setup, teardown),
                cmocka_unit_test_setup_teardown(test_suspend_keeps_identity, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reconcile_reparents_orphans, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reconcile_from_fake_proc, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reconcile_zombies, setup, teardown),
                cmocka_unit_test_setup_teardown(test_drop_retained, setup, teardown),
                cmocka_unit_test_setup_teardown(test_budget_user_cannot_wipe_root, setup, teardown),
                cmocka_unit_test_setup_teardown(test_budget_own_records_first, setup, teardown),
                cmocka_unit_test_setup_teardown(test_budget_total_takes_from_the_heaviest, setup, teardown),
                cmocka_unit_test_setup_teardown(test_budget_count_shares, setup, teardown),
                cmocka_unit_test_setup_teardown(test_budget_uid_change, setup, teardown),
                cmocka_unit_test_setup_teardown(test_budget_take_bitten, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pinned_survives_enrich, setup, teardown),
        };

        tc_init("proctree");

        return cmocka_run_group_tests_name("process tree", tests, NULL, NULL);
}
