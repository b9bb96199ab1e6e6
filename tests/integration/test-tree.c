/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Integration: the tree the real daemon builds from the real kernel, read back through procwatchctl.
 *
 * Each workload records what it did itself (its pid, its wait status, its argv) and the test compares
 * that with `procwatchctl show PID --json`. Storms compare the live set with /proc. Needs root;
 * exits 77 without it. Workloads that must run as a separate program re-execute this binary with a
 * mode argument. Nothing sleeps to synchronise: pipes hold workloads still, and the test polls the
 * daemon with a deadline. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-cleanup.h"

#define TIMEOUT_MS 30000 /* a deadline against hangs, not a speed target */
#define STORM 40000 /* more than pid_max (32768) here: pids are reused */

static const char *daemon_path, *ctl_path, *self_path;
static char socket_path[128];
static Daemon d;

/* --- workloads run as this binary with a mode (argv[1]) ------------------------------------------ */

static void *exec_from_thread(void *arg) {
        /* Waits for a byte on stdin before exec: the test first sees the process alive with two
         * threads, then the exec from the non-leader. */
        char c;

        if (read(STDIN_FILENO, &c, 1) != 1)
                _exit(90);
        execl("/bin/sh", "sh", "-c", "read x; exit 4", (char *) NULL);
        _exit(91);
}

static void *exit_later(void *arg) {
        char c;

        /* The leader has pthread_exit()ed; this thread ends the process when told. */
        if (read(STDIN_FILENO, &c, 1) != 1)
                _exit(92);
        exit(5);
}

static int run_mode(const char *mode) {
        pthread_t t;

        if (strcmp(mode, "nonleader-exec") == 0) {
                if (pthread_create(&t, NULL, exec_from_thread, NULL) != 0)
                        return 93;
                for (;;)
                        pause();
        }
        if (strcmp(mode, "leader-exits-first") == 0) {
                if (pthread_create(&t, NULL, exit_later, NULL) != 0)
                        return 93;
                pthread_exit(NULL);
        }
        return 94;
}

/* --- helpers -------------------------------------------------------------------------------------- */

static json_t *ctl_json(int *exit_code, const char *verb, const char *arg) {
        char sock[160], out[1 << 20];
        char *argv[] = { (char *) ctl_path, sock, (char *) verb, (char *) "--json", (char *) arg, NULL };
        json_error_t err;
        json_t *j;
        int status;

        snprintf(sock, sizeof(sock), "--socket=%s", socket_path);
        status = harness_run_capture(argv, out, sizeof(out), TIMEOUT_MS);
        assert_true(status != -1 && WIFEXITED(status));
        if (exit_code)
                *exit_code = WEXITSTATUS(status);
        if (WEXITSTATUS(status) != 0)
                return NULL;
        j = json_loads(out, 0, &err);
        if (!j)
                fail_msg("procwatchctl %s %s printed no JSON: %s: %.400s", verb, arg ? arg : "", err.text, out);
        return j;
}

static json_t *show(pid_t pid) {
        char a[32];
        int code;

        snprintf(a, sizeof(a), "%d", (int) pid);
        return ctl_json(&code, "show", a);
}

static bool is_alive(const json_t *p) {
        return json_is_null(json_object_get(p, "exit"));
}

/* Waits for pid to end and returns its wait status, but leaves it a zombie: a zombie keeps its pid,
 * so no other process on the machine takes it while the test asks the daemon about it by pid.
 * reap() ends it. */
static void wait_exit_keep(pid_t pid, int *status) {
        siginfo_t info = {};

        assert_int_equal(waitid(P_PID, (id_t) pid, &info, WEXITED | WNOWAIT), 0);
        switch (info.si_code) {
        case CLD_EXITED:
                *status = (info.si_status & 0xff) << 8;
                break;
        case CLD_KILLED:
                *status = info.si_status;
                break;
        case CLD_DUMPED:
                *status = info.si_status | 0x80;
                break;
        default:
                fail_msg("pid %d: unexpected si_code %d", (int) pid, info.si_code);
        }
}

static void reap(pid_t pid) {
        assert_int_equal(waitpid(pid, NULL, 0), pid);
}

/* Polls `show PID` until pred holds; returns the object (caller decrefs) or fails. */
static json_t *wait_show(pid_t pid, bool (*pred)(const json_t *p, void *u), void *u, const char *what) {
        uint64_t deadline = harness_now_ms() + TIMEOUT_MS;

        for (;;) {
                json_t *p = show(pid);

                if (p && pred(p, u))
                        return p;
                if (harness_now_ms() > deadline) {
                        char *dump = p ? json_dumps(p, JSON_INDENT(1)) : NULL;

                        print_error("last reply for %d: %s\n", (int) pid, dump ? dump : "(none)");
                        free(dump);
                        fail_msg("process %d never showed %s", (int) pid, what);
                }
                json_decref(p);
                harness_pump(&d, 20); /* keep the daemon's stdout drained; also paces the polling */
        }
}

static bool pred_exited(const json_t *p, void *u) {
        return !is_alive(p);
}

static bool pred_alive_with_threads(const json_t *p, void *u) {
        return is_alive(p) && json_integer_value(json_object_get(p, "threads")) == *(int *) u;
}

static bool pred_exe_is(const json_t *p, void *u) {
        const char *exe = json_string_value(json_object_get(p, "exe"));
        return is_alive(p) && exe && strcmp(exe, u) == 0;
}

static bool pred_ppid_is(const json_t *p, void *u) {
        return json_integer_value(json_object_get(p, "ppid")) == *(pid_t *) u;
}

static void check_argv(const json_t *p, char *const want[]) {
        const json_t *argv = json_object_get(p, "argv");
        size_t n = 0;

        assert_true(json_is_array(argv));
        for (; want[n]; n++) {
                const char *s = json_string_value(json_array_get(argv, n));

                if (!s || strcmp(s, want[n]) != 0)
                        fail_msg("argv[%zu] is %s, want %s", n, s ? s : "(missing)", want[n]);
        }
        assert_int_equal(json_array_size(argv), n);
        assert_false(json_is_true(json_object_get(p, "argv_truncated")));
}

static void check_exit(const json_t *p, int status) {
        const json_t *e = json_object_get(p, "exit");

        assert_true(json_is_object(e));
        if (WIFEXITED(status)) {
                assert_int_equal(json_integer_value(json_object_get(e, "code")), WEXITSTATUS(status));
                assert_true(json_is_null(json_object_get(e, "signal")));
        } else {
                assert_true(json_is_null(json_object_get(e, "code")));
                assert_int_equal(json_integer_value(json_object_get(e, "signal")), WTERMSIG(status));
        }
        assert_int_equal(json_is_true(json_object_get(e, "core_dumped")), WIFSIGNALED(status) && WCOREDUMP(status));
}

/* Starts this binary in a mode with its stdin on a pipe; returns the pid, *wfd the pipe's write end. */
static pid_t spawn_mode(const char *mode, int *wfd) {
        int p[2];
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                dup2(p[0], STDIN_FILENO);
                execl(self_path, self_path, mode, (char *) NULL);
                _exit(127);
        }
        close(p[0]);
        *wfd = p[1];
        return pid;
}

static int start_daemon(Daemon *dd, const char *extra1, const char *extra2) {
        char sockarg[160];
        char *argv[6];
        int n = 0;

        snprintf(sockarg, sizeof(sockarg), "--socket=%s", socket_path);
        argv[n++] = (char *) "procwatchd";
        argv[n++] = sockarg;
        if (extra1)
                argv[n++] = (char *) extra1;
        if (extra2)
                argv[n++] = (char *) extra2;
        argv[n] = NULL;
        if (harness_start(dd, daemon_path, argv, NULL, 0) < 0)
                return -1;
        if (!harness_wait_notify(dd, "READY=1", false, TIMEOUT_MS)) {
                harness_cleanup(dd, true);
                return -1;
        }
        return 0;
}

static int setup(void **state) {
        return start_daemon(&d, NULL, NULL);
}

static int teardown(void **state) {
        harness_cleanup(&d, false);
        return 0;
}

/* --- tests ---------------------------------------------------------------------------------------- */

static void test_nonleader_exec(void **state) {
        int w, two = 2, status;
        pid_t pid = spawn_mode("nonleader-exec", &w);
        json_t *p;

        json_decref(wait_show(pid, pred_alive_with_threads, &two, "two threads"));
        assert_int_equal(write(w, "x", 1), 1); /* the thread execs sh, which reads the next line */
        p = wait_show(pid, pred_exe_is, (void *) "/usr/bin/dash", "the exec'ed shell");
        check_argv(p, (char *const[]){ (char *) "sh", (char *) "-c", (char *) "read x; exit 4", NULL });
        assert_int_equal(json_integer_value(json_object_get(p, "threads")), 1);
        json_decref(p);
        assert_int_equal(write(w, "\n", 1), 1);
        close(w);
        wait_exit_keep(pid, &status);
        /* One process from start to end: the leader-looking EXIT before the EXEC did not end it. */
        p = wait_show(pid, pred_exited, NULL, "its exit");
        reap(pid);
        check_exit(p, status);
        assert_int_equal(WEXITSTATUS(status), 4);
        json_decref(p);
}

static void test_leader_exits_first(void **state) {
        int w, one = 1, status;
        pid_t pid = spawn_mode("leader-exits-first", &w);
        json_t *p;

        /* The leader has gone, one thread remains: still alive. */
        json_decref(wait_show(pid, pred_alive_with_threads, &one, "one thread left"));
        assert_int_equal(write(w, "x", 1), 1);
        close(w);
        wait_exit_keep(pid, &status);
        p = wait_show(pid, pred_exited, NULL, "its exit");
        reap(pid);
        check_exit(p, status);
        assert_int_equal(WEXITSTATUS(status), 5);
        json_decref(p);
}

static void test_subreaper(void **state) {
        int p[2], status;
        pid_t reaper, mid = 0, leaf = 0, r[2];
        int info[2];
        json_t *j;

        assert_int_equal(pipe(p), 0);
        assert_int_equal(pipe(info), 0);
        reaper = fork();
        assert_true(reaper >= 0);
        if (reaper == 0) {
                /* reaper -> mid -> leaf; mid exits, leaf must be adopted by reaper. */
                prctl(PR_SET_CHILD_SUBREAPER, 1);
                if ((mid = fork()) == 0) {
                        if ((leaf = fork()) == 0) {
                                char c;
                                close(p[1]);
                                _exit(read(p[0], &c, 1) < 0 ? 1 : 0);
                        }
                        r[0] = getpid();
                        r[1] = leaf;
                        if (write(info[1], r, sizeof(r)) != sizeof(r))
                                _exit(1);
                        _exit(0);
                }
                close(p[0]);
                close(p[1]);
                (void) waitpid(mid, NULL, 0);
                /* Reap the adopted leaf too. */
                while (wait(NULL) > 0)
                        ;
                _exit(0);
        }
        close(p[0]);
        assert_int_equal(read(info[0], r, sizeof(r)), sizeof(r));
        mid = r[0];
        leaf = r[1];
        j = wait_show(leaf, pred_ppid_is, &reaper, "the subreaper as parent");
        assert_int_equal(json_integer_value(json_object_get(j, "original_ppid")), mid);
        assert_true(is_alive(j));
        json_decref(j);
        close(p[1]);
        assert_int_equal(waitpid(reaper, &status, 0), reaper);
        close(info[0]);
        close(info[1]);
}

static void test_sigkill(void **state) {
        int status;
        pid_t pid = fork();
        json_t *p;

        assert_true(pid >= 0);
        if (pid == 0)
                for (;;)
                        pause(); /* until killed */
        kill(pid, SIGKILL);
        wait_exit_keep(pid, &status);
        p = wait_show(pid, pred_exited, NULL, "its death");
        reap(pid);
        check_exit(p, status);
        json_decref(p);
}

static void segv_in(const char *dir, rlim_t core, int *status, pid_t *ret) {
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                struct rlimit rl = { core, core };

                if (chdir(dir) < 0 || setrlimit(RLIMIT_CORE, &rl) < 0)
                        _exit(1);
                signal(SIGSEGV, SIG_DFL);
                raise(SIGSEGV);
                _exit(2);
        }
        wait_exit_keep(pid, status);
        *ret = pid;
}

static void test_sigsegv(void **state) {
        char dir[] = "/tmp/pwcore-XXXXXX", path[300];
        json_t *p;
        int status;
        pid_t pid;
        DIR *dd;
        struct dirent *de;

        assert_int_equal(0, tc_mkdtemp(dir));
        segv_in(dir, 0, &status, &pid);
        assert_true(WIFSIGNALED(status) && !WCOREDUMP(status));
        p = wait_show(pid, pred_exited, NULL, "its death");
        reap(pid);
        check_exit(p, status);
        json_decref(p);

        segv_in(dir, RLIM_INFINITY, &status, &pid);
        assert_true(WIFSIGNALED(status));
        p = wait_show(pid, pred_exited, NULL, "its death");
        reap(pid);
        check_exit(p, status); /* core_dumped as the workload's own wait status says */
        json_decref(p);

        dd = opendir(dir);
        while (dd && (de = readdir(dd)))
                if (de->d_name[0] != '.') {
                        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
                        unlink(path);
                }
        if (dd)
                closedir(dd);
        rmdir(dir);
}

/* Whether a record's "uncertain" list names what. */
static bool is_uncertain(const json_t *p, const char *what) {
        const json_t *u = json_object_get(p, "uncertain"), *v;
        size_t i;

        json_array_foreach(u, i, v)
                if (json_is_string(v) && strcmp(json_string_value(v), what) == 0)
                        return true;
        return false;
}

static void test_short_lived_long_argv(void **state) {
        /* sleep sums its arguments: 0.001 and 3,000 zeros make a 1 ms process with 3,002 words.
         * Whether one such process is caught before it ends is a rate (test-capture and
         * bench/capture-run measure it); this test checks what is kept when it is caught: the whole
         * argv, exactly. So it runs up to ATTEMPTS of them, and every record must be honest: the
         * argv whole, or none and the image marked uncertain. */
        enum { WORDS = 3000, ATTEMPTS = 10 };
        char **argv = calloc(WORDS + 3, sizeof(char *));
        bool caught = false;

        assert_non_null(argv);
        argv[0] = (char *) "sleep";
        argv[1] = (char *) "0.001";
        for (int i = 0; i < WORDS; i++)
                argv[2 + i] = (char *) "0";
        for (int attempt = 0; attempt < ATTEMPTS && !caught; attempt++) {
                int status;
                pid_t pid;
                json_t *p;

                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        execv("/bin/sleep", argv);
                        _exit(127);
                }
                wait_exit_keep(pid, &status);
                assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
                p = wait_show(pid, pred_exited, NULL, "its exit");
                reap(pid);
                check_exit(p, status);
                assert_true(json_integer_value(json_object_get(p, "duration_usec")) >= 1000);
                if (json_array_size(json_object_get(p, "argv")) > 0) {
                        check_argv(p, argv);
                        assert_int_equal(json_array_size(json_object_get(p, "argv")), WORDS + 2);
                        assert_string_equal(json_string_value(json_object_get(p, "exe")), "/usr/bin/sleep");
                        caught = true;
                } else {
                        print_message("attempt %d: pid %d ended before its /proc entry was read\n", attempt,
                                      (int) pid);
                        assert_true(is_uncertain(p, "image"));
                }
                json_decref(p);
        }
        free(argv);
        assert_true(caught);
}

static void test_nonroot_daemon_sees_other_users_exe(void **state) {
        char dir[] = "/tmp/pwnonroot-XXXXXX", sock[64], sockarg[80], saved[128];
        /* The uid change clears the parent-death signal the harness set; set it again after it, so
         * that the daemon dies with the test whatever happens. */
        char *argv[] = { (char *) "setpriv",     (char *) "--reuid=65534", (char *) "--regid=65534",
                         (char *) "--clear-groups", (char *) "--inh-caps=+net_admin,+sys_ptrace",
                         (char *) "--ambient-caps=+net_admin,+sys_ptrace", (char *) "--pdeathsig=SIGKILL",
                         (char *) daemon_path, sockarg, NULL };
        uint64_t deadline = harness_now_ms() + TIMEOUT_MS;
        Daemon nd;
        json_t *p;
        int w, code = 0;
        pid_t sleeper;
        char shell[PATH_MAX];

        /* What /bin/sh is on this machine (dash on Debian). */
        assert_non_null(realpath("/bin/sh", shell));

        /* A folder the unprivileged daemon may create its socket in. */
        assert_int_equal(0, tc_mkdtemp(dir));
        assert_int_equal(chmod(dir, 0777), 0);
        snprintf(sock, sizeof(sock), "%s/io.procwatch", dir);
        snprintf(sockarg, sizeof(sockarg), "--socket=%s", sock);
        assert_int_equal(harness_start(&nd, "/usr/bin/setpriv", argv, NULL, 0), 0);

        /* Its notify socket is in a folder it may not enter; readiness shows as an answering socket. */
        snprintf(saved, sizeof(saved), "%s", socket_path);
        snprintf(socket_path, sizeof(socket_path), "%s", sock);
        for (;;) {
                json_t *st = ctl_json(&code, "stats", NULL);

                json_decref(st);
                if (code == 0)
                        break;
                if (harness_now_ms() > deadline) {
                        harness_cleanup(&nd, true);
                        fail_msg("the unprivileged daemon never answered");
                }
                harness_pump(&nd, 20);
        }

        /* A root process started now; the daemon (uid 65534) must read its exe. */
        {
                int pp[2];

                assert_int_equal(pipe2(pp, O_CLOEXEC), 0);
                sleeper = fork();
                assert_true(sleeper >= 0);
                if (sleeper == 0) {
                        dup2(pp[0], STDIN_FILENO);
                        execl("/bin/sh", "sh", "-c", "read x", (char *) NULL);
                        _exit(127);
                }
                close(pp[0]);
                w = pp[1];
        }
        /* Until its exec the child shows this test's own image: wait for the shell's. */
        p = wait_show(sleeper, pred_exe_is, shell, "the shell's exe");
        assert_int_equal(json_integer_value(json_object_get(p, "euid")), 0);
        json_decref(p);
        /* And the daemon itself is not root. */
        p = show(nd.pid);
        assert_non_null(p);
        assert_int_equal(json_integer_value(json_object_get(p, "euid")), 65534);
        json_decref(p);

        close(w);
        assert_int_equal(waitpid(sleeper, NULL, 0), sleeper);
        snprintf(socket_path, sizeof(socket_path), "%s", saved);
        harness_cleanup(&nd, false);
        unlink(sock);
        rmdir(dir);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_nonleader_exec),
                cmocka_unit_test(test_leader_exits_first),
                cmocka_unit_test(test_subreaper),
                cmocka_unit_test(test_sigkill),
                cmocka_unit_test(test_sigsegv),
                cmocka_unit_test(test_short_lived_long_argv),
                cmocka_unit_test(test_nonroot_daemon_sees_other_users_exe),
        };
        char dir[] = "/tmp/pwtree-XXXXXX";
        int r;

        if (argc == 2)
                return run_mode(argv[1]);
        tc_init("tree");
        if (argc < 3) {
                fprintf(stderr, "usage: %s PROCWATCHD PROCWATCHCTL\n", argv[0]);
                return 2;
        }
        daemon_path = argv[1];
        ctl_path = argv[2];
        self_path = "/proc/self/exe";
        if (geteuid() != 0) {
                fprintf(stderr, "needs root: skipping\n");
                return 77;
        }
        {
                static char self[4096];
                ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);

                assert_true(n > 0);
                self[n] = '\0';
                self_path = self;
        }
        assert_int_equal(0, tc_mkdtemp(dir));
        snprintf(socket_path, sizeof(socket_path), "%s/io.procwatch", dir);
        r = cmocka_run_group_tests_name("process tree against the kernel", tests, setup, teardown);
        unlink(socket_path);
        rmdir(dir);
        return r;
}
