/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The /proc worker (proc-worker.h): the real thread and the real /proc reader over a fake proc
 * folder, the real tree. Checked: an image read off the loop reaches its record; a result goes only
 * to the same process (a pid reused before the read or before the result came back, an exec since,
 * a record ended and evicted meanwhile: nothing changes); children forked while it was read share
 * it; a read that never returns (a FIFO as the
 * command line) stalls only the worker, which Stats-like figures show, and a full queue refuses the
 * next order at once and counts it. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "macro.h"
#include "proc-worker.h"
#include "procfs.h"
#include "proctree.h"
#include "test-cleanup.h"
#include "time-util.h"

#define HZ 100U
#define TICK_NS (NSEC_PER_SEC / HZ)
#define TIMEOUT_USEC (30U * USEC_PER_SEC)

static char root[64];
static PwProcReader reader;
static ProcTree *tree;
static ProcWorker *worker;

static void put_file(pid_t pid, const char *name, const void *data, size_t len) {
        char p[160];
        int fd;

        snprintf(p, sizeof(p), "%s/%d/%s", root, (int) pid, name);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        assert_int_equal(close(fd), 0);
}

/* /proc/PID as the reader sees it: stat (start in ticks), status, and the image unless cmdline_fifo
 * (then cmdline is a FIFO: a read of it waits until someone opens it for writing). */
static void fake(pid_t pid, unsigned start_ticks, const char *exe, const char *argv, size_t argv_len,
                 bool cmdline_fifo) {
        char p[160], text[400];

        snprintf(p, sizeof(p), "%s/%d", root, (int) pid);
        assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
        snprintf(text, sizeof(text),
                 "%d (w%d) S 1 %d %d 0 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 %u 1000 10 1 1 1 0 0 0 0 0 0 0 "
                 "0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
                 (int) pid, (int) pid, (int) pid, (int) pid, start_ticks);
        put_file(pid, "stat", text, strlen(text));
        snprintf(text, sizeof(text), "Name:\tw%d\nTgid:\t%d\nUid:\t7\t7\t7\t7\nGid:\t7\t7\t7\t7\n", (int) pid,
                 (int) pid);
        put_file(pid, "status", text, strlen(text));
        snprintf(p, sizeof(p), "%s/%d/cmdline", root, (int) pid);
        (void) unlink(p);
        if (cmdline_fifo)
                assert_int_equal(mkfifo(p, 0644), 0);
        else
                put_file(pid, "cmdline", argv, argv_len);
        snprintf(p, sizeof(p), "%s/%d/exe", root, (int) pid);
        (void) unlink(p);
        assert_int_equal(symlink(exe, p), 0);
}

/* The record of pid as a scan makes it: stat and status, no image yet. */
static PwProcess *scanned(pid_t pid) {
        PwProcInfo info;
        PwProcess *p;

        assert_int_equal(pw_proc_read(&reader, pid, 0, PW_READ_STAT | PW_READ_STATUS, &info), 0);
        assert_int_equal(proctree_add_from_proc(tree, &info, PW_SOURCE_SCAN, HZ), 0);
        pw_proc_info_done(&info);
        p = proctree_get_live(tree, pid);
        assert_non_null(p);
        proctree_mark_unreadable(tree, pid, p->start_boot_ns);
        assert_null(p->exe);
        return p;
}

static uint64_t order(const PwProcess *p) {
        ProcReadOrder o = { .pid = p->pid, .start_boot_ns = p->start_boot_ns, .n_execs = p->n_execs,
                            .flags = PW_READ_EXE | PW_READ_CMDLINE };
        uint64_t seq = 0;

        assert_int_equal(proc_worker_post(worker, &o, &seq), 0);
        assert_true(seq > 0);
        return seq;
}

/* The next result, waited for on the worker's eventfd as the loop does. */
static void next_result(ProcReadResult *res) {
        usec_t end = now_usec(CLOCK_MONOTONIC) + TIMEOUT_USEC;

        while (!proc_worker_take(worker, res)) {
                struct pollfd pfd = { .fd = proc_worker_get_fd(worker), .events = POLLIN };

                if (now_usec(CLOCK_MONOTONIC) > end)
                        fail_msg("no result from the worker");
                (void) poll(&pfd, 1, 1000);
        }
}

static int setup(void **state) {
        snprintf(root, sizeof(root), "/tmp/test-proc-worker-XXXXXX");
        assert_int_equal(tc_mkdtemp(root), 0);
        assert_int_equal(pw_proc_reader_open(&reader, root), 0);
        reader.hz = HZ;
        reader.boot_minus_mono_ns = 0;
        assert_int_equal(proctree_new(&tree, NULL), 0);
        proctree_set_clock_offset(tree, 0);
        assert_int_equal(proc_worker_start(&worker, root, PW_ARGV_MAX_DEFAULT), 0);
        return 0;
}

static int teardown(void **state) {
        char cmd[128];

        worker = proc_worker_free(worker);
        assert_int_equal(proctree_verify(tree), 0);
        tree = proctree_free(tree);
        pw_proc_reader_close(&reader);
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
        assert_int_equal(system(cmd), 0);
        return 0;
}

static void test_image_reaches_its_record(void **state) {
        static const char argv[] = "make\0-j4";
        ProcReadResult res;
        PwProcess *p;
        uint64_t seq;

        fake(100, 50, "/usr/bin/make", argv, sizeof(argv), false);
        p = scanned(100);
        assert_true(p->uncertain & PW_UNCERTAIN_IMAGE);
        seq = order(p);

        next_result(&res);
        assert_int_equal(res.order.seq, seq);
        assert_int_equal(res.r, 0);
        assert_int_equal(proc_worker_apply(tree, &res, HZ), 0);
        pw_proc_info_done(&res.info);
        assert_string_equal(p->exe->data, "/usr/bin/make");
        assert_int_equal(p->argv->len, sizeof(argv) - 1);
        assert_memory_equal(p->argv->data, argv, sizeof(argv));
        assert_false(p->uncertain & PW_UNCERTAIN_IMAGE);
}

/* Children and grandchildren forked while the image was being read share it once it comes; one that
 * exec'ed meanwhile keeps its own. */
static void test_image_shared_with_children_forked_meanwhile(void **state) {
        static const PwEvent evs[] = {
                { .kind = PW_EVENT_FORK, .timestamp_ns = 60 * TICK_NS,
                  .fork = { .parent_pid = 110, .parent_tgid = 110, .child_pid = 111, .child_tgid = 111 } },
                { .kind = PW_EVENT_FORK, .timestamp_ns = 61 * TICK_NS,
                  .fork = { .parent_pid = 111, .parent_tgid = 111, .child_pid = 112, .child_tgid = 112 } },
                { .kind = PW_EVENT_FORK, .timestamp_ns = 62 * TICK_NS,
                  .fork = { .parent_pid = 110, .parent_tgid = 110, .child_pid = 113, .child_tgid = 113 } },
                { .kind = PW_EVENT_EXEC, .timestamp_ns = 63 * TICK_NS, .exec = { .pid = 113, .tgid = 113 } },
        };
        ProcReadResult res;
        PwProcess *p;

        fake(110, 50, "/usr/bin/sh", "sh", sizeof("sh"), false);
        p = scanned(110);
        order(p);
        for (size_t i = 0; i < ELEMENTSOF(evs); i++) {
                assert_int_equal(proctree_apply(tree, &evs[i], NULL), 0);
                proctree_release(tree);
        }
        assert_null(proctree_get_live(tree, 112)->exe);

        next_result(&res);
        assert_int_equal(proc_worker_apply(tree, &res, HZ), 0);
        pw_proc_info_done(&res.info);
        for (pid_t pid = 111; pid <= 112; pid++) {
                PwProcess *c = proctree_get_live(tree, pid);

                assert_ptr_equal(c->exe, p->exe);
                assert_ptr_equal(c->argv, p->argv);
                assert_false(c->uncertain & PW_UNCERTAIN_IMAGE);
        }
        assert_null(proctree_get_live(tree, 113)->exe);
        assert_true(proctree_get_live(tree, 113)->uncertain & PW_UNCERTAIN_IMAGE);
}

/* The pid went to another process before the read: the read refuses it, the record keeps nothing. */
static void test_pid_reused_before_the_read(void **state) {
        ProcReadResult res;
        PwProcess *p;

        fake(200, 50, "/usr/bin/old", "old", sizeof("old"), false);
        p = scanned(200);
        fake(200, 90, "/usr/bin/new", "new", sizeof("new"), false);
        order(p);

        next_result(&res);
        assert_int_equal(res.r, -ESRCH);
        assert_null(res.info.exe);
        assert_int_equal(proc_worker_apply(tree, &res, HZ), -ESRCH);
        pw_proc_info_done(&res.info);
        assert_null(p->exe);
        assert_null(p->argv);
        assert_true(p->uncertain & PW_UNCERTAIN_IMAGE);
}

/* Read right, but by the time the result is applied the pid's record is another process (its FORK
 * displaced the old one), or the same process exec'ed since: the result changes nothing. */
static void test_result_for_a_changed_record(void **state) {
        PwEvent fork_ev = { .kind = PW_EVENT_FORK, .timestamp_ns = 95 * TICK_NS,
                            .fork = { .parent_pid = 1, .parent_tgid = 1, .child_pid = 300, .child_tgid = 300 } };
        PwEvent exec_ev = { .kind = PW_EVENT_EXEC, .timestamp_ns = 99 * TICK_NS, .exec = { .pid = 301, .tgid = 301 } };
        ProcReadResult a, b;
        PwProcess *p, *q;

        fake(300, 50, "/usr/bin/a", "a", sizeof("a"), false);
        fake(301, 60, "/usr/bin/b", "b", sizeof("b"), false);
        order(scanned(300));
        order(scanned(301));
        next_result(&a);
        next_result(&b);
        assert_int_equal(a.r, 0);
        assert_int_equal(b.r, 0);

        /* pid 300 reused: the new process must not take the old one's image. */
        assert_int_equal(proctree_apply(tree, &fork_ev, NULL), 0);
        proctree_release(tree);
        p = proctree_get_live(tree, 300);
        assert_int_equal(p->start_ns, 95 * TICK_NS);
        assert_int_equal(proc_worker_apply(tree, &a, HZ), -ESRCH);
        assert_null(p->argv);
        /* pid 301 exec'ed: its new image is its exec's to read, not this older one. */
        assert_int_equal(proctree_apply(tree, &exec_ev, NULL), 0);
        proctree_release(tree);
        q = proctree_get_live(tree, 301);
        assert_int_equal(q->n_execs, 1);
        assert_int_equal(proc_worker_apply(tree, &b, HZ), -ESRCH);
        assert_null(q->exe);
        assert_true(q->uncertain & PW_UNCERTAIN_IMAGE);
        pw_proc_info_done(&a.info);
        pw_proc_info_done(&b.info);
}

/* The process ended and its record was evicted before the result came back. */
static void test_result_for_an_evicted_record(void **state) {
        PwEvent exit_ev = { .kind = PW_EVENT_EXIT, .timestamp_ns = 200 * TICK_NS,
                            .exit = { .pid = 400, .tgid = 400, .code = 0, .signal = 17 } };
        ProcReadResult res;

        fake(400, 50, "/usr/bin/short", "short", sizeof("short"), false);
        order(scanned(400));
        next_result(&res);
        assert_int_equal(res.r, 0);
        assert_int_equal(proctree_apply(tree, &exit_ev, NULL), 0);
        proctree_release(tree);
        assert_true(proctree_drop_retained(tree) >= 1);
        assert_null(proctree_get(tree, 400));

        assert_int_equal(proc_worker_apply(tree, &res, HZ), -ESRCH);
        pw_proc_info_done(&res.info);
        assert_null(proctree_get(tree, 400));
}

/* A read that never returns stalls the worker only; orders pile up to the bound, the next is
 * refused at once and counted; released, the worker goes on. */
static void test_stuck_read_and_a_full_queue(void **state) {
        ProcReadOrder gone = { .pid = 999, .start_boot_ns = 50 * TICK_NS, .flags = PW_READ_EXE | PW_READ_CMDLINE };
        ProcWorkerStats st;
        ProcReadResult res;
        PwProcess *p;
        usec_t end = now_usec(CLOCK_MONOTONIC) + TIMEOUT_USEC;
        char fifo[160];
        int fd;

        fake(500, 50, "/usr/bin/stuck", NULL, 0, true);
        p = scanned(500);
        order(p);
        do {
                if (now_usec(CLOCK_MONOTONIC) > end)
                        fail_msg("the worker never reported its stalled read");
                usleep(10000);
                proc_worker_get_stats(worker, &st);
        } while (st.stalled_usec == 0);

        for (unsigned i = 0; i < PROC_WORKER_QUEUE_MAX; i++)
                assert_int_equal(proc_worker_post(worker, &gone, NULL), 0);
        assert_int_equal(proc_worker_post(worker, &gone, NULL), -EAGAIN);
        proc_worker_get_stats(worker, &st);
        assert_int_equal(st.dropped, 1);
        assert_int_equal(st.queued, PROC_WORKER_QUEUE_MAX + 1);
        assert_false(proc_worker_take(worker, &res));

        /* A writer that opens and closes: the command line reads as empty, the read returns. */
        snprintf(fifo, sizeof(fifo), "%s/500/cmdline", root);
        fd = open(fifo, O_WRONLY | O_NONBLOCK | O_CLOEXEC);
        assert_true(fd >= 0);
        close(fd);
        next_result(&res);
        assert_int_equal(res.order.pid, 500);
        assert_int_equal(res.r, 0);
        assert_null(res.info.argv);
        assert_int_equal(proc_worker_apply(tree, &res, HZ), 0);
        pw_proc_info_done(&res.info);
        assert_string_equal(p->exe->data, "/usr/bin/stuck");
        proc_worker_get_stats(worker, &st);
        assert_true(st.slow_reads >= 1);
        /* The rest are gone pids: refused by the reader, one by one, none applied. */
        next_result(&res);
        assert_int_equal(res.r, -ESRCH);
        assert_int_equal(proc_worker_apply(tree, &res, HZ), -ESRCH);
        pw_proc_info_done(&res.info);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_image_reaches_its_record, setup, teardown),
                cmocka_unit_test_setup_teardown(test_image_shared_with_children_forked_meanwhile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pid_reused_before_the_read, setup, teardown),
                cmocka_unit_test_setup_teardown(test_result_for_a_changed_record, setup, teardown),
                cmocka_unit_test_setup_teardown(test_result_for_an_evicted_record, setup, teardown),
                cmocka_unit_test_setup_teardown(test_stuck_read_and_a_full_queue, setup, teardown),
        };

        tc_init("proc-worker");
        return cmocka_run_group_tests_name("the /proc worker", tests, NULL, NULL);
}
