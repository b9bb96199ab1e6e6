/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Integration: the real procwatchd (on a socket in a scratch folder) and the real procwatchctl, against
 * processes this test makes: one alive with a known argv (an invalid UTF-8 byte in it), one killed by
 * SIGKILL, one that exits with 3. procwatchctl's --json output is parsed with jansson and checked
 * against what the test did and against /proc; the human forms and the exit codes are checked too.
 * Needs root (the daemon's receive buffer and the proc connector); exits 77 without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "macro.h"
#include "test-cleanup.h"

#define WAIT_MS 30000 /* a deadline against hangs, not a speed target */
#define OUT_MAX (64U * 1024U * 1024U)

static const char *daemon_path, *ctl_path;
static Daemon d;
static char dir[64], sock_path[128], sock_opt[160];
static char *out;

/* Processes made by the test. */
static pid_t alive_pid, killed_pid, exit3_pid;
static uint64_t t_before_usec;

static uint64_t realtime_usec(void) {
        struct timespec ts;

        clock_gettime(CLOCK_REALTIME, &ts);
        return (uint64_t) ts.tv_sec * 1000000ULL + (uint64_t) ts.tv_nsec / 1000;
}

/* Runs procwatchctl with the given arguments (NULL-terminated) and --socket; returns its exit status. */
static int ctl(const char *first, ...) {
        char *argv[16];
        size_t n = 0;
        va_list ap;
        int status;

        argv[n++] = (char *) ctl_path;
        argv[n++] = sock_opt;
        va_start(ap, first);
        for (const char *a = first; a && n < ELEMENTSOF(argv) - 1; a = va_arg(ap, const char *))
                argv[n++] = (char *) a;
        va_end(ap);
        argv[n] = NULL;
        status = harness_run_capture(argv, out, OUT_MAX, WAIT_MS);
        if (status < 0 || !WIFEXITED(status))
                fail_msg("procwatchctl did not finish: %s", out);
        return WEXITSTATUS(status);
}

static json_t *ctl_json(const char *first, ...) {
        char *argv[16];
        size_t n = 0;
        va_list ap;
        json_error_t err;
        json_t *j;
        int status;

        argv[n++] = (char *) ctl_path;
        argv[n++] = sock_opt;
        argv[n++] = (char *) "--json";
        va_start(ap, first);
        for (const char *a = first; a && n < ELEMENTSOF(argv) - 1; a = va_arg(ap, const char *))
                argv[n++] = (char *) a;
        va_end(ap);
        argv[n] = NULL;
        status = harness_run_capture(argv, out, OUT_MAX, WAIT_MS);
        if (status < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("procwatchctl %s failed (%d): %s", first, status, out);
        j = json_loads(out, JSON_REJECT_DUPLICATES, &err);
        if (!j)
                fail_msg("procwatchctl %s printed invalid JSON (%s): %.200s", first, err.text, out);
        return j;
}

static json_t *show(pid_t pid) {
        char arg[32];

        snprintf(arg, sizeof(arg), "%d", (int) pid);
        return ctl_json("show", arg, NULL);
}

static const char *get_str(const json_t *o, const char *key) {
        const json_t *v = json_object_get(o, key);
        return json_is_string(v) ? json_string_value(v) : NULL;
}

static int64_t get_int(const json_t *o, const char *key) {
        const json_t *v = json_object_get(o, key);

        if (!json_is_integer(v))
                fail_msg("field %s is not an integer", key);
        return json_integer_value(v);
}

/* Polls show PID until its state is want (events arrive asynchronously). */
static json_t *show_until(pid_t pid, const char *want) {
        uint64_t deadline = harness_now_ms() + WAIT_MS;

        for (;;) {
                json_t *j = show(pid);
                const char *state = get_str(j, "state");

                if (state && strcmp(state, want) == 0)
                        return j;
                json_decref(j);
                if (harness_now_ms() > deadline)
                        fail_msg("pid %d never became %s", (int) pid, want);
                usleep(20000);
        }
}

/* Waits until pid runs another program than this test (it has exec'ed). */
static void wait_exec(pid_t pid) {
        uint64_t deadline = harness_now_ms() + WAIT_MS;
        char path[64], self[256], target[256];
        ssize_t m = readlink("/proc/self/exe", self, sizeof(self) - 1);

        assert_true(m > 0);
        self[m] = '\0';
        snprintf(path, sizeof(path), "/proc/%d/exe", (int) pid);
        for (;;) {
                ssize_t n = readlink(path, target, sizeof(target) - 1);

                if (n > 0) {
                        target[n] = '\0';
                        if (strcmp(target, self) != 0)
                                return;
                }
                if (harness_now_ms() > deadline)
                        fail_msg("pid %d never exec'ed", (int) pid);
                usleep(2000);
        }
}

/* Waits until the daemon has read pid's new command line: a process killed before the daemon could
 * read /proc keeps no argv (and is marked so), which is not what these tests are about. */
static void wait_daemon_read_argv(pid_t pid) {
        uint64_t deadline = harness_now_ms() + WAIT_MS;

        for (;;) {
                json_t *j = show(pid);
                size_t n = json_array_size(json_object_get(j, "argv"));

                json_decref(j);
                if (n > 0)
                        return;
                if (harness_now_ms() > deadline)
                        fail_msg("the daemon never read pid %d's argv", (int) pid);
                usleep(20000);
        }
}

/* Forks and execs argv, in a process group of its own (so that teardown can kill what it starts). */
static pid_t spawn(char *const argv[]) {
        pid_t pid = fork();

        assert_true(pid >= 0);
        if (pid == 0) {
                (void) setpgid(0, 0);
                execv(argv[0], argv);
                _exit(127);
        }
        return pid;
}

static int setup(void **state) {
        char *argv[] = { (char *) "procwatchd", sock_opt, NULL };
        char *sh_argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "sleep 300; :", (char *) "arg\xffx", NULL };
        char *sleep_argv[] = { (char *) "/bin/sleep", (char *) "300", NULL };
        char *exit3_argv[] = { (char *) "/bin/sh", (char *) "-c", (char *) "exit 3", NULL };
        siginfo_t info;

        out = malloc(OUT_MAX);
        assert_non_null(out);
        snprintf(dir, sizeof(dir), "/tmp/pwctl-XXXXXX");
        assert_int_equal(0, tc_mkdtemp(dir));
        snprintf(sock_path, sizeof(sock_path), "%s/run/io.procwatch", dir);
        snprintf(sock_opt, sizeof(sock_opt), "--socket=%s", sock_path);

        if (harness_start_ready(&d, daemon_path, argv, 0, WAIT_MS) < 0)
                return -1;
        /* The socket exists before READY=1. */
        assert_int_equal(access(sock_path, F_OK), 0);

        t_before_usec = realtime_usec();
        alive_pid = spawn(sh_argv);
        wait_exec(alive_pid);

        killed_pid = spawn(sleep_argv);
        wait_exec(killed_pid);
        wait_daemon_read_argv(killed_pid);
        /* The ended children stay zombies until the teardown (WNOWAIT): a zombie keeps its pid, so
         * no other process on the machine takes it while the tests ask about it by pid. */
        assert_int_equal(kill(killed_pid, SIGKILL), 0);
        assert_int_equal(waitid(P_PID, (id_t) killed_pid, &info, WEXITED | WNOWAIT), 0);
        assert_true(info.si_code == CLD_KILLED && info.si_status == SIGKILL);

        exit3_pid = spawn(exit3_argv);
        assert_int_equal(waitid(P_PID, (id_t) exit3_pid, &info, WEXITED | WNOWAIT), 0);
        assert_true(info.si_code == CLD_EXITED && info.si_status == 3);
        return 0;
}

static int teardown(void **state) {
        char run[128];

        if (alive_pid > 0) {
                /* The shell and its sleep. */
                kill(-alive_pid, SIGKILL);
                waitpid(alive_pid, NULL, 0);
        }
        if (killed_pid > 0)
                (void) waitpid(killed_pid, NULL, 0);
        if (exit3_pid > 0)
                (void) waitpid(exit3_pid, NULL, 0);
        harness_cleanup(&d, false);
        (void) unlink(sock_path); /* left behind if the daemon had to be killed */
        snprintf(run, sizeof(run), "%s/run", dir);
        (void) rmdir(run);
        (void) rmdir(dir);
        free(out);
        return 0;
}

/* Reads "Key:\tvalue" of /proc/PID/status (the first number). */
static long proc_status_field(pid_t pid, const char *key) {
        char path[64], line[256];
        long v = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/status", (int) pid);
        f = fopen(path, "re");
        assert_non_null(f);
        while (fgets(line, sizeof(line), f))
                if (strncmp(line, key, strlen(key)) == 0 && line[strlen(key)] == ':') {
                        v = strtol(line + strlen(key) + 1, NULL, 10);
                        break;
                }
        fclose(f);
        return v;
}

static void check_process_fields(const json_t *p) {
        static const char *const keys[] = {
                "id", "pid", "ppid", "parent_id", "original_ppid", "comm", "comm_history", "exe", "argv",
                "argv_truncated", "uid", "euid", "gid", "egid", "user", "sid", "unit", "cgroup", "tracer",
                "threads", "start_realtime_usec", "start_monotonic_ns", "duration_usec", "exit", "source",
                "uncertain", "children", "state",
        };

        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (!json_object_get(p, keys[i]))
                        fail_msg("process %s lacks %s", get_str(p, "id") ?: "?", keys[i]);
        assert_true(json_is_array(json_object_get(p, "argv")));
        assert_true(json_is_array(json_object_get(p, "uncertain")));
}

static void test_show_alive(void **state) {
        json_t *p = show_until(alive_pid, "alive"), *argv;
        char path[64], exe[256];
        ssize_t n;

        check_process_fields(p);
        assert_int_equal(get_int(p, "pid"), alive_pid);
        assert_int_equal(get_int(p, "ppid"), getpid());
        assert_string_equal(get_str(p, "comm"), "sh");
        /* The argv it exec'ed with; the stray byte as U+FFFD. */
        argv = json_object_get(p, "argv");
        assert_int_equal(json_array_size(argv), 4);
        assert_string_equal(json_string_value(json_array_get(argv, 0)), "/bin/sh");
        assert_string_equal(json_string_value(json_array_get(argv, 2)), "sleep 300; :");
        assert_string_equal(json_string_value(json_array_get(argv, 3)), "arg\xef\xbf\xbdx");
        /* What /proc says. */
        snprintf(path, sizeof(path), "/proc/%d/exe", (int) alive_pid);
        n = readlink(path, exe, sizeof(exe) - 1);
        assert_true(n > 0);
        exe[n] = '\0';
        assert_string_equal(get_str(p, "exe"), exe);
        assert_int_equal(get_int(p, "uid"), proc_status_field(alive_pid, "Uid"));
        assert_int_equal(get_int(p, "gid"), proc_status_field(alive_pid, "Gid"));
        assert_int_equal(get_int(p, "threads"), proc_status_field(alive_pid, "Threads"));
        assert_int_equal(get_int(p, "sid"), getsid(alive_pid));
        assert_true(json_is_null(json_object_get(p, "exit")));
        /* Started after the test noted the time, and not long after. */
        assert_true((uint64_t) get_int(p, "start_realtime_usec") + 20000 >= t_before_usec);
        assert_true((uint64_t) get_int(p, "start_realtime_usec") < t_before_usec + 5000000);
        assert_true(get_int(p, "duration_usec") >= 0);
        json_decref(p);
}

static void test_show_exited(void **state) {
        json_t *p, *e, *argv;

        p = show_until(killed_pid, "exited");
        check_process_fields(p);
        e = json_object_get(p, "exit");
        assert_true(json_is_object(e));
        assert_true(json_is_null(json_object_get(e, "code")));
        assert_int_equal(get_int(e, "signal"), SIGKILL);
        assert_true(json_is_false(json_object_get(e, "core_dumped")));
        argv = json_object_get(p, "argv");
        assert_int_equal(json_array_size(argv), 2);
        assert_string_equal(json_string_value(json_array_get(argv, 1)), "300");
        assert_string_equal(get_str(p, "comm"), "sleep");
        assert_int_equal(get_int(p, "threads"), 0);
        json_decref(p);

        p = show_until(exit3_pid, "exited");
        e = json_object_get(p, "exit");
        assert_int_equal(get_int(e, "code"), 3);
        assert_true(json_is_null(json_object_get(e, "signal")));
        assert_true(get_int(p, "duration_usec") < 10 * 1000000LL);
        json_decref(p);
}

static const json_t *find_pid(const json_t *array, pid_t pid) {
        const json_t *p;
        size_t i;

        json_array_foreach(array, i, p)
                if (json_integer_value(json_object_get(p, "pid")) == pid)
                        return p;
        return NULL;
}

static void test_ps(void **state) {
        json_t *list, *p;
        size_t i, live = 0;

        /* Both ended ones must be in (the daemon has seen their exits by now). */
        json_decref(show_until(killed_pid, "exited"));
        json_decref(show_until(exit3_pid, "exited"));
        list = ctl_json("ps", NULL);
        assert_true(json_is_array(list));
        assert_non_null(find_pid(list, alive_pid));
        assert_non_null(find_pid(list, killed_pid));
        assert_non_null(find_pid(list, exit3_pid));
        assert_non_null(find_pid(list, 1));
        json_array_foreach(list, i, p) {
                char path[64];
                struct stat st;

                check_process_fields(p);
                if (strcmp(get_str(p, "state"), "alive") != 0)
                        continue;
                live++;
                /* Processes the test knows to be alive are in /proc. */
                if (get_int(p, "pid") == alive_pid || get_int(p, "pid") == 1 || get_int(p, "pid") == getpid()) {
                        snprintf(path, sizeof(path), "/proc/%d", (int) get_int(p, "pid"));
                        assert_int_equal(stat(path, &st), 0);
                }
        }
        assert_true(live > 1);
        json_decref(list);

        /* Filters. */
        list = ctl_json("ps", "--exited", NULL);
        assert_null(find_pid(list, alive_pid));
        assert_non_null(find_pid(list, exit3_pid));
        json_decref(list);
        list = ctl_json("ps", "--alive", NULL);
        assert_non_null(find_pid(list, alive_pid));
        assert_null(find_pid(list, killed_pid));
        json_decref(list);
}

/* Finds pid in a nested tree (depth first). */
static const json_t *find_nested(const json_t *array, pid_t pid) {
        const json_t *p, *r;
        size_t i;

        json_array_foreach(array, i, p) {
                if (json_integer_value(json_object_get(p, "pid")) == pid)
                        return p;
                r = find_nested(json_object_get(p, "children"), pid);
                if (r)
                        return r;
        }
        return NULL;
}

static void test_tree(void **state) {
        json_t *roots, *sub;
        const json_t *me, *sh, *kids;
        char arg[32];

        json_decref(show_until(exit3_pid, "exited"));
        /* From this test's own process: the whole machine's tree holds whatever else runs here (a
         * chain of thousands of processes nests deeper than a JSON parser takes). */
        snprintf(arg, sizeof(arg), "%d", (int) getpid());
        roots = ctl_json("tree", arg, NULL);
        assert_true(json_is_array(roots));
        assert_int_equal(json_array_size(roots), 1);
        me = find_nested(roots, getpid());
        assert_non_null(me);
        kids = json_object_get(me, "children");
        assert_true(json_is_array(kids));
        /* Children are objects, exited ones included. */
        assert_non_null(find_pid(kids, alive_pid));
        assert_non_null(find_pid(kids, killed_pid));
        assert_non_null(find_pid(kids, exit3_pid));
        sh = find_pid(kids, alive_pid);
        /* The shell's sleep. */
        {
                const json_t *c;
                size_t i;
                bool found = false;

                json_array_foreach(json_object_get(sh, "children"), i, c) {
                        assert_true(json_is_object(c));
                        if (strcmp(get_str(c, "comm") ?: "", "sleep") == 0)
                                found = true;
                }
                assert_true(found);
        }

        /* Without the exited. */
        sub = ctl_json("tree", arg, "--alive", NULL);
        assert_int_equal(json_array_size(sub), 1);
        kids = json_object_get(json_array_get(sub, 0), "children");
        assert_non_null(find_pid(kids, alive_pid));
        assert_null(find_pid(kids, killed_pid));
        json_decref(sub);
        json_decref(roots);
}

static void test_stats(void **state) {
        json_t *s = ctl_json("stats", NULL), *ev;

        ev = json_object_get(s, "events");
        assert_true(json_is_object(ev));
        assert_true(get_int(ev, "fork") >= 3);
        assert_true(get_int(ev, "exec") >= 3);
        assert_true(get_int(ev, "exit") >= 2);
        assert_true(get_int(s, "clients") >= 1);
        assert_true(get_int(s, "processes_live") > 1);
        assert_true(get_int(s, "processes_exited") >= 2);
        assert_true(get_int(s, "reconciliations") >= 1);
        /* Loss depends on what else runs on the machine; that it is counted and repaired is
         * test-tree-storm's business. Here: the figures are there. */
        assert_true(get_int(s, "lost") >= 0);
        assert_true(get_int(s, "enobufs") >= 0);
        json_decref(s);
}

static void test_human_and_exit_codes(void **state) {
        char pid[32], line[128];

        json_decref(show_until(exit3_pid, "exited"));
        assert_int_equal(ctl("ps", NULL), 0);
        assert_non_null(strstr(out, "PID"));
        assert_non_null(strstr(out, "LIFETIME"));
        assert_non_null(strstr(out, "killed SIGKILL"));
        assert_non_null(strstr(out, "exit 3"));
        assert_non_null(strstr(out, "arg\\xef\\xbf\\xbdx") ?: strstr(out, "arg\xef\xbf\xbdx"));

        snprintf(pid, sizeof(pid), "%d", (int) getpid());
        assert_int_equal(ctl("tree", pid, NULL), 0);
        snprintf(line, sizeof(line), "(%d) [exit 3, lived", (int) exit3_pid);
        assert_non_null(strstr(out, line));
        snprintf(line, sizeof(line), "sleep(%d) [killed SIGKILL, lived", (int) killed_pid);
        assert_non_null(strstr(out, line));

        snprintf(pid, sizeof(pid), "%d", (int) exit3_pid);
        assert_int_equal(ctl("show", pid, NULL), 0);
        assert_non_null(strstr(out, "Status: exit 3"));
        assert_int_equal(ctl("stats", NULL), 0);
        assert_non_null(strstr(out, "processes live"));

        /* 5: no such process (beyond any pid_max). */
        assert_int_equal(ctl("show", "99999999", NULL), 5);
        assert_int_equal(ctl("show", "99999999:1", NULL), 5);
        /* 2: usage. */
        assert_int_equal(ctl("bogus", NULL), 2);
        assert_int_equal(ctl("show", NULL), 2);
        assert_int_equal(ctl("show", "x", NULL), 2);
        assert_int_equal(ctl("stats", "--alive", NULL), 2);
        assert_int_equal(ctl("--version", NULL), 0);
        assert_int_equal(ctl("--help", NULL), 0);
        /* 3: no daemon there. */
        {
                char *argv[] = { (char *) ctl_path, (char *) "--socket=/nonexistent/io.procwatch", (char *) "stats", NULL };
                int status = harness_run_capture(argv, out, OUT_MAX, WAIT_MS);

                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 3);
                assert_non_null(strstr(out, "not running"));
        }
}

/* Last: a clean stop removes the socket file, and procwatchctl then says the daemon is not running. */
static void test_stop(void **state) {
        int status = harness_stop(&d, SIGTERM, WAIT_MS, NULL);

        assert_true(status >= 0 && WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        assert_int_equal(access(sock_path, F_OK), -1);
        assert_int_equal(ctl("stats", NULL), 3);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_show_alive),
                cmocka_unit_test(test_show_exited),
                cmocka_unit_test(test_ps),
                cmocka_unit_test(test_tree),
                cmocka_unit_test(test_stats),
                cmocka_unit_test(test_human_and_exit_codes),
                cmocka_unit_test(test_stop),
        };

        tc_init("ctl-daemon");

        if (argc != 3) {
                fprintf(stderr, "usage: %s PROCWATCHD PROCWATCHCTL\n", argv[0]);
                return 1;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "SKIP: needs root (the proc connector, the receive buffer).\n");
                return 77;
        }
        daemon_path = argv[1];
        ctl_path = argv[2];
        return cmocka_run_group_tests(tests, setup, teardown);
}
