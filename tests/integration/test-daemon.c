/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Integration: the real procwatchd, the real kernel connector and a real notify socket.
 *
 * Each test makes the kernel emit events by doing the thing for real (fork, exec, setuid, setsid,
 * prctl, ptrace, a SIGSEGV death, a thread) and waits for the daemon's --print-events=raw line (the
 * decoder's key=value form) that carries the pids this test created; and for the human line
 * (--print-events) of a command it ran. Needs root (the daemon raises its receive buffer and must
 * be in the initial namespaces); exits 77 without it, which meson counts as a skip. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-cleanup.h"

#define EVENT_TIMEOUT_MS 5000

static const char *daemon_path;
static Daemon d;

static int setup(void **state) {
        char *argv[] = { (char *) "procwatchd", (char *) "--print-events=raw", NULL };

        /* WATCHDOG_USEC of 200 ms: the daemon must ping every 100 ms. */
        if (harness_start_ready(&d, daemon_path, argv, 200000, 30000) < 0)
                return -1;
        return 0;
}

static int teardown(void **state) {
        harness_cleanup(&d, false);
        return 0;
}

/* Waits for the event line holding all tokens of the formatted want; fails the test otherwise. */
_Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wformat-nonliteral\"")
static char *expect_line(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static char *expect_line(const char *fmt, ...) {
        char want[512];
        va_list ap;
        char *line;

        va_start(ap, fmt);
        vsnprintf(want, sizeof(want), fmt, ap);
        va_end(ap);
        line = harness_wait_line(&d, want, EVENT_TIMEOUT_MS);
        if (!line) {
                harness_cleanup(&d, true);
                fail_msg("no event line with: %s", want);
        }
        return line;
}
_Pragma("GCC diagnostic pop")

/* Forks a child running fn(arg) and waits for it; returns its pid and stores its wait status. */
static pid_t run_child(void (*fn)(void *), void *arg, int *status) {
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                fn(arg);
                _exit(0);
        }
        assert_int_equal(waitpid(pid, status, 0), pid);
        return pid;
}

static unsigned count_status(void) {
        char *all = harness_notify_copy(&d);
        unsigned n = 0;

        for (const char *p = all; p && (p = strstr(p, "STATUS=")); p++)
                n++;
        free(all);
        return n;
}

static void test_notify(void **state) {
        uint64_t deadline = harness_now_ms() + 5000;
        char *all, *p;

        assert_true(harness_wait_notify(&d, "STATUS=", true, 15000));
        all = harness_notify_copy(&d);
        assert_non_null(p = strstr(all, "STATUS="));
        assert_non_null(strstr(p, "events/s"));
        assert_non_null(strstr(p, "lost"));
        assert_non_null(strstr(p, "processes"));
        /* STATUS= is refreshed, not sent once: the timer must keep firing (sd-event timers are
         * one-shot unless kept enabled). READY=1 comes with one; wait for two more. */
        while (count_status() < 3 && harness_now_ms() < deadline)
                harness_pump(&d, 100);
        assert_true(count_status() >= 3);
        assert_true(harness_wait_notify(&d, "WATCHDOG=1", false, 10000));
        assert_int_equal(harness_notify_wrong_pid(&d), 0);
        free(all);
}

static void child_exec(void *arg) {
        execl("/bin/sh", "sh", "-c", "exit 7", (char *) NULL);
        _exit(127);
}

static void test_fork_exec_exit(void **state) {
        int status;
        pid_t me = getpid(), pid = run_child(child_exec, NULL, &status);

        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 7);
        free(expect_line("event=fork parent_pid=%d parent_tgid=%d child_pid=%d child_tgid=%d", me, me, pid, pid));
        free(expect_line("event=exec pid=%d tgid=%d", pid, pid));
        /* exit_code is the wait status; exit_signal SIGCHLD marks a process, not a thread. */
        free(expect_line("event=exit pid=%d tgid=%d exit_code=%d exit_signal=17 parent_pid=%d parent_tgid=%d",
                         pid, pid, status, me, me));
}

/* --print-events without =raw: the line procwatchctl events prints, of the record as published (the
 * command line read from /proc, the status and lifetime at the exit). */
static void test_human_line(void **state) {
        char *argv[] = { (char *) "procwatchd", (char *) "--print-events", (char *) "--no-journal", NULL };
        char want[256], *line;
        int in[2], status;
        Daemon h;
        pid_t pid;

        assert_int_equal(harness_start(&h, daemon_path, argv, NULL, 0), 0);
        assert_true(harness_wait_notify(&h, "READY=1", false, 30000));
        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                /* Alive until told: its command line is certainly there to read at its exec. */
                if (dup2(in[0], STDIN_FILENO) < 0)
                        _exit(126);
                execl("/bin/sh", "sh", "-c", "read x; exit 7", (char *) NULL);
                _exit(127);
        }
        close(in[0]);
        snprintf(want, sizeof(want), "exec %d sh sh -c read x; exit 7", pid);
        line = harness_wait_line(&h, want, EVENT_TIMEOUT_MS);
        if (!line)
                harness_cleanup(&h, true);
        assert_non_null(line);
        free(line);
        assert_int_equal(write(in[1], "\n", 1), 1);
        close(in[1]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_int_equal(WEXITSTATUS(status), 7);
        snprintf(want, sizeof(want), "exit %d sh exit 7, lived", pid);
        line = harness_wait_line(&h, want, EVENT_TIMEOUT_MS);
        if (!line)
                harness_cleanup(&h, true);
        assert_non_null(line);
        /* Not the raw form. */
        assert_null(strstr(line, "event="));
        free(line);
        harness_cleanup(&h, false);
}

static void *thread_fn(void *arg) {
        *(pid_t *) arg = (pid_t) syscall(SYS_gettid);
        return NULL;
}

static void test_thread(void **state) {
        pthread_t t;
        pid_t tid = 0, me = getpid();

        assert_int_equal(pthread_create(&t, NULL, thread_fn, &tid), 0);
        assert_int_equal(pthread_join(t, NULL), 0);
        assert_true(tid > 0 && tid != me);
        /* A thread: child_pid is the tid, child_tgid the process; its exit carries signal -1. */
        free(expect_line("event=fork child_pid=%d child_tgid=%d", tid, me));
        free(expect_line("event=exit pid=%d tgid=%d exit_signal=-1", tid, me));
}

static void child_ids(void *arg) {
        if (setgid(65534) < 0 || setuid(65534) < 0)
                _exit(1);
}

static void test_uid_gid(void **state) {
        int status;
        pid_t pid = run_child(child_ids, NULL, &status);

        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        free(expect_line("event=gid pid=%d tgid=%d rgid=65534 egid=65534", pid, pid));
        free(expect_line("event=uid pid=%d tgid=%d ruid=65534 euid=65534", pid, pid));
}

static void child_setsid(void *arg) {
        if (setsid() < 0)
                _exit(1);
}

static void test_setsid(void **state) {
        int status;
        pid_t pid = run_child(child_setsid, NULL, &status);

        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        free(expect_line("event=sid pid=%d tgid=%d", pid, pid));
}

static void child_comm(void *arg) {
        if (prctl(PR_SET_NAME, "pw-comm test") < 0)
                _exit(1);
}

static void test_comm(void **state) {
        int status;
        pid_t pid = run_child(child_comm, NULL, &status);

        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* The space is escaped so that the line still splits on spaces. */
        free(expect_line("event=comm pid=%d tgid=%d comm=pw-comm\\x20test", pid, pid));
}

static void test_ptrace(void **state) {
        int p[2], status;
        pid_t me = getpid(), pid;
        char c;

        assert_int_equal(pipe(p), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                close(p[1]);
                /* Wait until the parent has attached and detached. */
                _exit(read(p[0], &c, 1) < 0 ? 1 : 0);
        }
        close(p[0]);
        assert_int_equal(ptrace(PTRACE_ATTACH, pid, NULL, NULL), 0);
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSTOPPED(status));
        free(expect_line("event=ptrace pid=%d tgid=%d tracer_pid=%d tracer_tgid=%d", pid, pid, me, me));
        assert_int_equal(ptrace(PTRACE_DETACH, pid, NULL, NULL), 0);
        free(expect_line("event=ptrace pid=%d tgid=%d tracer_pid=0 tracer_tgid=0", pid, pid));
        close(p[1]);
        assert_int_equal(waitpid(pid, &status, 0), pid);
}

static void child_segv(void *arg) {
        struct rlimit rl = { 0, 0 };

        /* No core file: the COREDUMP event comes anyway; 0x80 stays clear in the exit code. */
        (void) setrlimit(RLIMIT_CORE, &rl);
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
        _exit(1);
}

static void test_sigsegv(void **state) {
        int status;
        pid_t me = getpid(), pid = run_child(child_segv, NULL, &status);

        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGSEGV);
        assert_false(WCOREDUMP(status));
        free(expect_line("event=coredump pid=%d tgid=%d parent_pid=%d parent_tgid=%d", pid, pid, me, me));
        free(expect_line("event=exit pid=%d tgid=%d exit_code=%d exit_signal=17", pid, pid, SIGSEGV));
}

static void test_no_loss(void **state) {
        const char *last = NULL;
        char *all;

        /* The newest STATUS= after everything above must report nothing lost and nothing malformed. */
        harness_notify_clear(&d);
        assert_true(harness_wait_notify(&d, "STATUS=", true, 15000));
        all = harness_notify_copy(&d);
        last = strstr(all, "STATUS=");
        assert_non_null(last);
        assert_non_null(strstr(last, " 0 lost"));
        assert_non_null(strstr(last, " 0 malformed"));
        free(all);
}

static void test_sigterm(void **state) {
        uint64_t ms = 0;
        int status = harness_stop(&d, SIGTERM, 3000, &ms);

        assert_true(status != -1);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_true(ms < 1000);
        /* Sent before the exit; the harness's reader thread may still have it queued: a deadline, not a speed. */
        assert_true(harness_wait_notify(&d, "STOPPING=1", false, 10000));
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_notify),     cmocka_unit_test(test_fork_exec_exit),
                cmocka_unit_test(test_thread),     cmocka_unit_test(test_uid_gid),
                cmocka_unit_test(test_setsid),     cmocka_unit_test(test_comm),
                cmocka_unit_test(test_ptrace),     cmocka_unit_test(test_sigsegv),
                cmocka_unit_test(test_no_loss),    cmocka_unit_test(test_human_line),
                cmocka_unit_test(test_sigterm),
        };

        tc_init("daemon");

        if (argc < 2) {
                fprintf(stderr, "usage: %s PATH-TO-PROCWATCHD\n", argv[0]);
                return 2;
        }
        daemon_path = argv[1];
        if (geteuid() != 0) {
                fprintf(stderr, "needs root: skipping\n");
                return 77;
        }
        return cmocka_run_group_tests_name("procwatchd daemon", tests, setup, teardown);
}
