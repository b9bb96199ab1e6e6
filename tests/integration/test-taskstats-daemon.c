/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Integration: what processes cost, from the real kernel's taskstats, as the real daemon joins it to
 * its tree and procwatchctl shows it. Workloads are this binary run with a mode; each figure is
 * checked against what the workload did, within stated tolerances (no speed is asserted: the
 * tolerances are on measured resource figures, the deadlines only against hangs). Also the ways the
 * feature turns itself off: no CAP_NET_ADMIN, a kernel without the family, other namespaces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <linux/magic.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "taskstats.h"
#include "test-cleanup.h"

#define TIMEOUT_MS 30000 /* against hangs only */
#define MIB (1024ULL * 1024ULL)

static const char *daemon_path, *ctl_path;
static char self_path[4096], socket_path[160], disk_dir[128];
static Daemon d;

/* --- workloads ------------------------------------------------------------------------------------ */

static uint64_t cpu_ns(clockid_t c) {
        struct timespec ts;
        clock_gettime(c, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

/* Spins until this thread has used ms of CPU. */
static void burn_ms(unsigned ms) {
        volatile uint64_t x = 0;
        uint64_t until = cpu_ns(CLOCK_THREAD_CPUTIME_ID) + (uint64_t) ms * 1000000ULL;

        while (cpu_ns(CLOCK_THREAD_CPUTIME_ID) < until)
                for (unsigned i = 0; i < 10000; i++)
                        x += i;
}

static void *burn_thread(void *arg) {
        burn_ms(100);
        return arg;
}

static int run_mode(int argc, char *argv[]) {
        const char *mode = argv[1];

        if (strcmp(mode, "burn") == 0) {
                burn_ms(300);
                return 0;
        }
        if (strcmp(mode, "touch") == 0 && argc >= 3) {
                /* argv[2] MiB touched (0: the program alone, the baseline). */
                size_t n = (size_t) atoi(argv[2]) * MIB + 8192;
                char *p = malloc(n);

                if (!p)
                        return 90;
                int r;

                for (size_t i = 0; i < n; i += 4096)
                        p[i] = (char) i;
                r = p[4096] == (char) 4096 ? 0 : 96;
                /* Freed: under LeakSanitizer a leak would change the exit status. */
                free(p);
                return r;
        }
        if (strcmp(mode, "write") == 0 && argc >= 3) {
                static char buf[1 << 20];
                char path[256];
                int fd;

                memset(buf, 'x', sizeof(buf));
                snprintf(path, sizeof(path), "%s/data-%d", argv[2], (int) getpid());
                fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
                if (fd < 0)
                        return 91;
                for (int i = 0; i < 20; i++)
                        if (write(fd, buf, sizeof(buf)) != (ssize_t) sizeof(buf))
                                return 92;
                if (fsync(fd) < 0)
                        return 93;
                close(fd);
                return 0;
        }
        if (strcmp(mode, "threads") == 0) {
                pthread_t t[4];

                for (int i = 0; i < 4; i++)
                        if (pthread_create(&t[i], NULL, burn_thread, NULL) != 0)
                                return 94;
                for (int i = 0; i < 4; i++)
                        pthread_join(t[i], NULL);
                return 7;
        }
        if (strcmp(mode, "syswrite") == 0 && argc >= 3) {
                /* argv[2] KiB to /dev/null in 1 KiB writes: the syscall bytes are known exactly. */
                static const char kib[1024];
                int fd = open("/dev/null", O_WRONLY | O_CLOEXEC), n = atoi(argv[2]);

                if (fd < 0)
                        return 97;
                for (int i = 0; i < n; i++)
                        if (write(fd, kib, sizeof(kib)) != (ssize_t) sizeof(kib))
                                return 98;
                /* With a third argument: stays until standard input closes. */
                if (argc >= 4) {
                        char c;

                        while (read(STDIN_FILENO, &c, 1) > 0)
                                ;
                }
                return 0;
        }
        if (strcmp(mode, "killed") == 0) {
                burn_ms(50);
                raise(SIGKILL);
                return 95;
        }
        return 99;
}

/* --- helpers -------------------------------------------------------------------------------------- */

static json_t *ctl_json(const char *verb, const char *arg) {
        char sock[200], out[1 << 18];
        char *argv[] = { (char *) ctl_path, sock, (char *) verb, (char *) "--json", (char *) arg, NULL };
        json_error_t err;
        int status;

        snprintf(sock, sizeof(sock), "--socket=%s", socket_path);
        status = harness_run_capture(argv, out, sizeof(out), TIMEOUT_MS);
        assert_true(status != -1 && WIFEXITED(status));
        if (WEXITSTATUS(status) != 0)
                return NULL;
        return json_loads(out, 0, &err);
}

static json_t *show(pid_t pid) {
        char a[32];

        snprintf(a, sizeof(a), "%d", (int) pid);
        return ctl_json("show", a);
}

/* Waits until the exited pid's record says joined or missing; returns it. */
/* The record of pid once its resources are joined. An exit waits only 100 ms for its record and then
 * says "missing"; on a loaded machine the record may come later, and then still joins: so "missing"
 * is polled past too, until the deadline, which returns what there is. */
static json_t *wait_resources(pid_t pid) {
        uint64_t deadline = harness_now_ms() + TIMEOUT_MS;

        for (;;) {
                json_t *p = show(pid);
                const char *state = p ? json_string_value(json_object_get(p, "resources_state")) : NULL;

                if (state && (strcmp(state, "joined") == 0 || harness_now_ms() > deadline))
                        return p;
                json_decref(p);
                if (harness_now_ms() > deadline)
                        fail_msg("no resources_state for %d", (int) pid);
                usleep(20000);
        }
}

static uint64_t res_u64(const json_t *p, const char *obj, const char *key) {
        json_t *o = json_object_get(p, obj), *v = o ? json_object_get(o, key) : NULL;

        if (!json_is_integer(v))
                fail_msg("%s.%s missing", obj, key);
        return (uint64_t) json_integer_value(v);
}

static pid_t spawn(char *const argv[]) {
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                execv(argv[0], argv);
                _exit(127);
        }
        return pid;
}

static int run(char *const argv[], pid_t *ret_pid) {
        int status;
        pid_t pid = spawn(argv);

        assert_int_equal(waitpid(pid, &status, 0), pid);
        *ret_pid = pid;
        return status;
}

static json_t *run_and_show(const char *mode, const char *arg, int *status) {
        char *argv[] = { self_path, (char *) mode, (char *) arg, NULL };
        pid_t pid;

        *status = run(argv, &pid);
        return wait_resources(pid);
}

static void assert_joined(const json_t *p) {
        assert_string_equal(json_string_value(json_object_get(p, "resources_state")), "joined");
        assert_true(json_is_object(json_object_get(p, "resources")));
}

#define assert_in_range_u64(v, lo, hi)                                                                  \
        do {                                                                                         \
                uint64_t v_ = (v);                                                                   \
                if (v_ < (uint64_t) (lo) || v_ > (uint64_t) (hi))                                    \
                        fail_msg("%s = %llu not in [%llu, %llu]", #v, (unsigned long long) v_,       \
                                 (unsigned long long) (lo), (unsigned long long) (hi));              \
        } while (0)

static int start_daemon(Daemon *dd, const char *wrapper_argv[], char *const env[]) {
        char sockarg[200];
        char *argv[12];
        int n = 0;

        snprintf(sockarg, sizeof(sockarg), "--socket=%s", socket_path);
        for (; wrapper_argv && wrapper_argv[n]; n++)
                argv[n] = (char *) wrapper_argv[n];
        if (n > 0)
                argv[n++] = (char *) daemon_path;
        else
                argv[n++] = (char *) "procwatchd";
        argv[n++] = sockarg;
        argv[n] = NULL;
        if (harness_start(dd, n > 2 ? "/usr/bin/setpriv" : daemon_path, argv, env, 0) < 0)
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

/* --- workloads against the daemon ------------------------------------------------------------------ */

/* 300 ms of CPU: the exact figure is the process's own CPU clock plus start-up and exit; user time
 * dominates. Tolerance: +150 ms for exec, dynamic loading and exit, not less than asked. */
static void test_cpu(void **state) {
        int status;
        json_t *p = run_and_show("burn", NULL, &status);

        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_joined(p);
        assert_in_range_u64(res_u64(p, "resources", "cpu_usec"), 300000, 450000);
        assert_true(res_u64(p, "resources", "cpu_user_usec") > res_u64(p, "resources", "cpu_system_usec"));
        assert_int_equal(res_u64(p, "resources", "cpu_user_usec") + res_u64(p, "resources", "cpu_system_usec"),
                         res_u64(p, "resources", "cpu_usec"));
        /* Lifetime: at least the CPU it used; within 20 ms of the tree's own. */
        assert_true(res_u64(p, "resources", "elapsed_usec") >= 300000);
        assert_in_range_u64(res_u64(p, "resources", "elapsed_usec") + 20000,
                            (uint64_t) json_integer_value(json_object_get(p, "duration_usec")),
                            (uint64_t) json_integer_value(json_object_get(p, "duration_usec")) + 40000);
        assert_int_equal(res_u64(p, "resources", "tasks"), 1);
        json_decref(p);
}

/* 200 MiB touched: peak RSS is that plus the program, measured by the same program touching nothing
 * (a few MiB), plus at most 1/8 of the block (AddressSanitizer's shadow of it) and 8 MiB; minor faults at least one per 2 MiB (transparent huge
 * pages may fold 512 pages into one fault). */
static void test_memory(void **state) {
        int status;
        json_t *base = run_and_show("touch", "0", &status), *p;
        uint64_t base_rss;

        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_joined(base);
        base_rss = res_u64(base, "resources", "max_rss_bytes");
        json_decref(base);
        p = run_and_show("touch", "200", &status);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_joined(p);
        assert_in_range_u64(res_u64(p, "resources", "max_rss_bytes"), 200 * MIB, base_rss + 200 * MIB + 25 * MIB + 8 * MIB);
        assert_true(res_u64(p, "resources", "max_vm_bytes") >= 200 * MIB);
        assert_true(res_u64(p, "resources", "minor_faults") >= 100);
        json_decref(p);
}

/* 20 MiB written and fsync'ed to a real file system: storage bytes within 1 MiB over (metadata goes
 * through the journal thread, not us), syscall bytes exact up to the kernel's KiB rounding. */
static void test_write(void **state) {
        int status;
        json_t *p = run_and_show("write", disk_dir, &status);

        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_joined(p);
        assert_in_range_u64(res_u64(p, "resources", "write_bytes"), 20 * MIB, 21 * MIB);
        assert_in_range_u64(res_u64(p, "resources", "write_syscall_bytes"), 20 * MIB, 20 * MIB + 64 * 1024);
        json_decref(p);
}

/* Four threads do the work: all their records are summed into the process's. */
static void test_threads(void **state) {
        int status;
        json_t *p = run_and_show("threads", NULL, &status);

        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 7);
        assert_joined(p);
        assert_int_equal(res_u64(p, "resources", "tasks"), 5);
        assert_in_range_u64(res_u64(p, "resources", "cpu_usec"), 400000, 600000);
        json_decref(p);
}

static void test_killed(void **state) {
        int status;
        json_t *p = run_and_show("killed", NULL, &status);

        assert_true(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL);
        assert_joined(p);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(p, "exit"), "signal")), SIGKILL);
        assert_in_range_u64(res_u64(p, "resources", "cpu_usec"), 50000, 200000);
        json_decref(p);
}

/* A shell runs a CPU burner in a subshell that exits at once (the burner is reparented away) and a
 * writer; the shell's subtree holds both, itself and the subshell. */
static void test_subtree(void **state) {
        char script[16384];
        char *argv[] = { (char *) "/bin/sh", (char *) "-c", script, NULL };
        pid_t sh;
        int status;
        json_t *p;
        uint64_t deadline = harness_now_ms() + TIMEOUT_MS;

        snprintf(script, sizeof(script),
                 "(\"%s\" burn & echo $! > \"%s/burner\"); \"%s\" write \"%s\"; "
                 "while kill -0 $(cat \"%s/burner\") 2>/dev/null; do sleep 0.05; done",
                 self_path, disk_dir, self_path, disk_dir, disk_dir);
        status = run(argv, &sh);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        /* The shell's own record and all three descendants' (subshell, burner, writer). A record
         * that came after the 100 ms wait (a slow, busy machine) still joins and clears its
         * "missing": poll for that too. */
        for (;;) {
                p = show(sh);
                if (p && json_is_object(json_object_get(p, "subtree_resources")) &&
                    res_u64(p, "subtree_resources", "processes") >= 4 &&
                    res_u64(p, "subtree_resources", "missing") == 0)
                        break;
                if (harness_now_ms() > deadline) {
                        json_t *s = ctl_json("stats", NULL);

                        /* Missing for good only with records dropped, and then counted. */
                        if (p && s && json_integer_value(json_object_get(s, "taskstats_socket_drops")) > 0 &&
                            res_u64(p, "subtree_resources", "processes") >= 4) {
                                json_decref(s);
                                break;
                        }
                        json_decref(s);
                        fail_msg("subtree of %d never complete", (int) sh);
                }
                json_decref(p);
                usleep(20000);
        }
        assert_true(res_u64(p, "subtree_resources", "processes") >= 4);
        assert_true(res_u64(p, "subtree_resources", "cpu_usec") >= 300000);
        assert_true(res_u64(p, "subtree_resources", "write_bytes") >= 20 * MIB);
        json_decref(p);
}

/* procwatchctl --json show PID as uid 65534. */
static json_t *show_as_nobody(pid_t pid) {
        char sock[200], arg[32], out[1 << 16];
        char *argv[] = { (char *) "/usr/bin/setpriv", (char *) "--reuid=65534", (char *) "--regid=65534",
                         (char *) "--clear-groups", (char *) ctl_path, sock, (char *) "--json", (char *) "show", arg,
                         NULL };
        int status;

        snprintf(sock, sizeof(sock), "--socket=%s", socket_path);
        snprintf(arg, sizeof(arg), "%d", (int) pid);
        status = harness_run_capture(argv, out, sizeof(out), TIMEOUT_MS);
        if (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("procwatchctl show %d as 65534 failed: %s", (int) pid, out);
        return json_loads(out, 0, NULL);
}

/* A real non-root caller: root's process shows its CPU but not its I/O (/proc/PID/io is
 * ptrace-guarded), nor its subtree's I/O; its own process shows everything. */
static void test_nonroot_caller(void **state) {
        char *own_argv[] = { (char *) "/usr/bin/setpriv", (char *) "--reuid=65534", (char *) "--regid=65534",
                             (char *) "--clear-groups", self_path, (char *) "syswrite", (char *) "64", (char *) "wait", NULL };
        int status;
        json_t *root_p = run_and_show("syswrite", "32", &status), *p;
        pid_t own;

        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        assert_joined(root_p);
        assert_int_equal(res_u64(root_p, "resources", "write_syscall_bytes"), 32 * 1024);
        p = show_as_nobody((pid_t) json_integer_value(json_object_get(root_p, "pid")));
        assert_non_null(p);
        assert_joined(p);
        assert_int_equal(res_u64(p, "resources", "cpu_usec"), res_u64(root_p, "resources", "cpu_usec"));
        assert_true(json_is_null(json_object_get(json_object_get(p, "resources"), "write_syscall_bytes")));
        assert_true(json_is_null(json_object_get(json_object_get(p, "resources"), "read_bytes")));
        assert_true(json_is_null(json_object_get(json_object_get(json_object_get(p, "resources"), "delays"), "swapin")));
        assert_true(json_is_object(json_object_get(json_object_get(json_object_get(p, "resources"), "delays"), "cpu")));
        /* Its subtree (itself): the figures without the I/O. */
        assert_true(json_is_object(json_object_get(p, "subtree_resources")));
        assert_true(json_is_null(json_object_get(json_object_get(p, "subtree_resources"), "write_syscall_bytes")));
        json_decref(p);
        json_decref(root_p);

        /* setpriv execs the workload in place: the pid is the workload's. It stays until the daemon
         * has read its new ids (a setuid leaves them unknown until the exec's read), then ends. */
        {
                uint64_t deadline = harness_now_ms() + TIMEOUT_MS;
                int in[2];

                assert_int_equal(pipe2(in, O_CLOEXEC), 0);
                own = fork();
                assert_true(own >= 0);
                if (own == 0) {
                        dup2(in[0], STDIN_FILENO);
                        execv(own_argv[0], own_argv);
                        _exit(127);
                }
                close(in[0]);
                for (;;) {
                        p = show(own);
                        if (p && json_is_string(json_object_get(p, "exe")) &&
                            json_integer_value(json_object_get(p, "euid")) == 65534)
                                break;
                        json_decref(p);
                        if (harness_now_ms() > deadline)
                                fail_msg("the daemon never read %d's ids", (int) own);
                        usleep(20000);
                }
                json_decref(p);
                close(in[1]);
                assert_int_equal(waitpid(own, &status, 0), own);
        }
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        json_decref(wait_resources(own));
        p = show_as_nobody(own);
        assert_joined(p);
        assert_int_equal(res_u64(p, "resources", "write_syscall_bytes"), 64 * 1024);
        assert_int_equal(res_u64(p, "subtree_resources", "write_syscall_bytes"), 64 * 1024);
        json_decref(p);
}

static void test_stats(void **state) {
        json_t *s = ctl_json("stats", NULL);

        assert_non_null(s);
        assert_string_equal(json_string_value(json_object_get(s, "taskstats")), "on");
        assert_true(json_integer_value(json_object_get(s, "taskstats_joined")) > 0);
        json_decref(s);
}

/* --- degradation -------------------------------------------------------------------------------- */

static bool stderr_has(Daemon *dd, const char *needle) {
        char buf[1 << 16];
        FILE *f = fopen(dd->stderr_path, "re");
        size_t n;

        if (!f)
                return false;
        n = fread(buf, 1, sizeof(buf) - 1, f);
        fclose(f);
        buf[n] = '\0';
        return strstr(buf, needle) != NULL;
}

/* The tree works without the feature: an exit is there, at once, without resources. */
static void check_off(Daemon *dd, const char *state_name, const char *log_needle) {
        char *argv[] = { self_path, (char *) "killed", NULL };
        json_t *s, *p;
        pid_t pid;
        uint64_t deadline = harness_now_ms() + TIMEOUT_MS;

        assert_true(stderr_has(dd, log_needle));
        s = ctl_json("stats", NULL);
        assert_non_null(s);
        assert_string_equal(json_string_value(json_object_get(s, "taskstats")), state_name);
        json_decref(s);
        (void) run(argv, &pid);
        for (;;) {
                p = show(pid);
                if (p && !json_is_null(json_object_get(p, "exit")))
                        break;
                json_decref(p);
                if (harness_now_ms() > deadline)
                        fail_msg("exit of %d never seen", (int) pid);
                usleep(20000);
        }
        assert_true(json_is_null(json_object_get(p, "resources")));
        assert_true(json_is_null(json_object_get(p, "resources_state")));
        json_decref(p);
}

static void test_no_net_admin(void **state) {
        const char *wrap[] = { "setpriv", "--inh-caps=-net_admin", "--bounding-set=-net_admin", NULL };
        Daemon nd;

        assert_int_equal(start_daemon(&nd, wrap, NULL), 0);
        check_off(&nd, "no-permission", "CAP_NET_ADMIN");
        harness_cleanup(&nd, false);
}

static void test_no_family(void **state) {
        char *env[] = { (char *) "PROCWATCHD_TASKSTATS_FAMILY=PWNOSUCHFAM", NULL };
        Daemon nd;

        assert_int_equal(start_daemon(&nd, NULL, env), 0);
        check_off(&nd, "unsupported", "The kernel has no taskstats");
        harness_cleanup(&nd, false);
}

/* Another user namespace: the kernel refuses registration (EPERM); another network namespace: we
 * notice before registering into the void. The daemon cannot run there at all (the proc connector
 * refuses it too), so the socket module is tried directly, in a child. */
static int in_namespace(int flags) {
        pid_t pid = fork();
        int status;

        assert_true(pid >= 0);
        if (pid == 0) {
                Taskstats *t = NULL;
                int r;

                if (unshare(flags) < 0)
                        _exit(70);
                r = taskstats_new(&t, NULL, 1 << 20, NULL, NULL);
                if (r < 0)
                        _exit(72);
                r = taskstats_register(t);
                if (flags & CLONE_NEWNET) {
                        /* The kernel says yes, and nothing comes: the probe tells. */
                        if (r < 0)
                                _exit(74);
                        r = taskstats_probe(t);
                        taskstats_free(t);
                        _exit(r == -ENODATA ? 0 : 75);
                }
                taskstats_free(t);
                _exit(r == -EPERM ? 0 : 73);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        return WIFEXITED(status) ? WEXITSTATUS(status) : 100;
}

static void test_namespaces(void **state) {
        Taskstats *t = NULL;

        assert_int_equal(in_namespace(CLONE_NEWUSER), 0);
        assert_int_equal(in_namespace(CLONE_NEWNET), 0);
        /* And the probe succeeds where records do flow. */
        assert_int_equal(taskstats_new(&t, NULL, 1 << 20, NULL, NULL), 0);
        assert_int_equal(taskstats_register(t), 0);
        assert_int_equal(taskstats_probe(t), 0);
        taskstats_free(t);
}

static void test_option_off(void **state) {
        char *argv[4];
        char sockarg[200];
        Daemon nd;

        snprintf(sockarg, sizeof(sockarg), "--socket=%s", socket_path);
        argv[0] = (char *) "procwatchd";
        argv[1] = sockarg;
        argv[2] = (char *) "--no-taskstats";
        argv[3] = NULL;
        assert_int_equal(harness_start(&nd, daemon_path, argv, NULL, 0), 0);
        assert_true(harness_wait_notify(&nd, "READY=1", false, TIMEOUT_MS));
        check_off(&nd, "off", "--no-taskstats");
        harness_cleanup(&nd, false);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest with_daemon[] = {
                cmocka_unit_test(test_cpu),
                cmocka_unit_test(test_memory),
                cmocka_unit_test(test_write),
                cmocka_unit_test(test_threads),
                cmocka_unit_test(test_killed),
                cmocka_unit_test(test_subtree),
                cmocka_unit_test(test_nonroot_caller),
                cmocka_unit_test(test_stats),
        };
        const struct CMUnitTest degraded[] = {
                cmocka_unit_test(test_no_net_admin),
                cmocka_unit_test(test_no_family),
                cmocka_unit_test(test_namespaces),
                cmocka_unit_test(test_option_off),
        };
        char dir[] = "/tmp/pwts-XXXXXX";
        struct statfs sf;
        ssize_t n;
        int r;

        if (argc >= 2 && argv[1][0] != '/')
                return run_mode(argc, argv);
        tc_init("taskstats-daemon");
        if (argc < 3) {
                fprintf(stderr, "usage: %s PROCWATCHD PROCWATCHCTL\n", argv[0]);
                return 2;
        }
        daemon_path = argv[1];
        ctl_path = argv[2];
        if (geteuid() != 0) {
                fprintf(stderr, "needs root: skipping\n");
                return 77;
        }
        n = readlink("/proc/self/exe", self_path, sizeof(self_path) - 1);
        assert_true(n > 0);
        self_path[n] = '\0';
        assert_int_equal(0, tc_mkdtemp(dir));
        snprintf(socket_path, sizeof(socket_path), "%s/io.procwatch", dir);
        /* Non-root callers reach the socket (test_nonroot_caller). */
        assert_int_equal(chmod(dir, 0755), 0);
        /* Storage writes need a real file system: /var/tmp, else the build tree (the cwd). */
        snprintf(disk_dir, sizeof(disk_dir), "/var/tmp/pwts-disk-XXXXXX");
        if (statfs("/var/tmp", &sf) < 0 || sf.f_type == TMPFS_MAGIC)
                snprintf(disk_dir, sizeof(disk_dir), "pwts-disk-XXXXXX");
        assert_int_equal(0, tc_mkdtemp(disk_dir));
        assert_int_equal(statfs(disk_dir, &sf), 0);
        if (sf.f_type == TMPFS_MAGIC) {
                fprintf(stderr, "no disk-backed folder for the write test: skipping\n");
                return 77;
        }
        r = cmocka_run_group_tests_name("resources from the kernel", with_daemon, setup, teardown);
        r += cmocka_run_group_tests_name("taskstats off", degraded, NULL, NULL);
        return r;
}
