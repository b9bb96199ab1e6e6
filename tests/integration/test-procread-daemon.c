/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Integration: an exec'ed process whose /proc/PID/cmdline cannot be read does not stop the daemon.
 *
 * A FUSE file system of this test that never answers (helpers/fuse-stall.h) lets a victim keep its
 * mmap_lock out of reach: a holder waits on the file with the lock held for reading, and the victim
 * queues for it as a writer, so every cmdline read of the victim waits. The victim is exec'ed while
 * the daemon is stopped (SIGSTOP), so that its EXEC is read from the socket only once its lock
 * holds: the daemon's receive thread then waits in that read. The daemon must keep sending
 * WATCHDOG=1 and answering Stats (which says a read is stalled); processes exec'ed meanwhile queue
 * and, once the file system answers, are all recorded with their argv, the victim too. During a
 * second stall it must exit promptly on SIGTERM. The same victim found by a scan of /proc instead
 * (made before the daemon starts: the start-up scan; made while the daemon is stopped, after a storm
 * that overflowed its receive buffer, so that its events are lost: the reconciliation after the
 * loss) stalls only the /proc worker: READY=1 comes, Stats answers, the watchdog is pinged, and the
 * victim gets its argv once released. Needs root and FUSE; exits 77 without. Cleanup on
 * every path: the file system answers every read (EIO) and the processes are killed, in the
 * teardown and, for a killed test, because the FUSE connection dies with this process. */
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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "fuse-stall.h"
#include "test-cleanup.h"

#define TIMEOUT_MS 30000
#define OTHERS 20
/* Children forked while the daemon is stopped: far more events than a 64 KiB buffer holds. */
#define STORM 3000
/* The watchdog the daemon is given: sd-event pings at half of it. */
#define WATCHDOG_USEC (2U * 1000U * 1000U)

static const char *daemon_path, *ctl_path;
static char socket_path[160], self_path[PATH_MAX], scratch[64];
static Daemon d;
static bool daemon_started;
static FuseStall *stall;
static pid_t victim = -1, holder = -1;
static pid_t others[OTHERS];
static int others_fd = -1; /* write end: the others exit when it closes */

static void reap(pid_t *pid) {
        if (*pid > 0) {
                kill(*pid, SIGKILL);
                (void) waitpid(*pid, NULL, 0);
        }
        *pid = -1;
}

static void release_all(void) {
        /* The file system answers first: then whoever waits on the victim's lock goes on. */
        fuse_stall_release(stall);
        reap(&holder);
        reap(&victim);
        if (others_fd >= 0) {
                close(others_fd);
                others_fd = -1;
        }
        for (int i = 0; i < OTHERS; i++)
                reap(&others[i]);
        fuse_stall_stop(stall);
        stall = NULL;
        if (daemon_started) {
                if (d.pid > 0)
                        kill(d.pid, SIGCONT);
                harness_cleanup(&d, false);
                daemon_started = false;
        }
}

/* extra: one more option, or NULL. */
static void start_daemon(char *const env[], const char *extra) {
        char sockarg[200];
        char *argv[] = { (char *) "procwatchd", sockarg, (char *) extra, NULL };

        for (int i = 0; i < OTHERS; i++)
                others[i] = -1;
        snprintf(sockarg, sizeof(sockarg), "--socket=%s", socket_path);
        assert_int_equal(harness_start(&d, daemon_path, argv, env, WATCHDOG_USEC), 0);
        daemon_started = true;
        assert_true(harness_wait_notify(&d, "READY=1", false, TIMEOUT_MS));
}

static int setup(void **state) {
        start_daemon(NULL, NULL);
        return 0;
}

/* The smallest receive buffer: a storm while the daemon is stopped overflows it for sure. */
static int setup_small_rcvbuf(void **state) {
        start_daemon(NULL, "--rcvbuf=64K");
        return 0;
}

static int setup_none(void **state) {
        for (int i = 0; i < OTHERS; i++)
                others[i] = -1;
        return 0;
}

/* A daemon that exits with its receive thread stuck in the kernel: LeakSanitizer, in a sanitizer
 * build, would wait for ever at exit to stop that thread (a killable wait does not stop for it), so
 * it is off there; the other test checks leaks with the thread unstuck. */
static int setup_stuck_exit(void **state) {
        const char *was = getenv("ASAN_OPTIONS");
        char opts[512];
        char *env[] = { opts, NULL };

        snprintf(opts, sizeof(opts), "ASAN_OPTIONS=%s%sdetect_leaks=0", was ?: "", was && *was ? ":" : "");
        start_daemon(env, NULL);
        return 0;
}

static int teardown(void **state) {
        release_all();
        return 0;
}

static json_t *ctl_json(const char *verb, const char *arg) {
        static char out[1 << 20];
        char sock[200];
        char *argv[] = { (char *) ctl_path, sock, (char *) verb, (char *) "--json", (char *) arg, NULL };
        json_error_t err;
        json_t *j;
        int status;

        snprintf(sock, sizeof(sock), "--socket=%s", socket_path);
        status = harness_run_capture(argv, out, sizeof(out), TIMEOUT_MS);
        assert_true(status != -1 && WIFEXITED(status));
        if (WEXITSTATUS(status) != 0)
                return NULL;
        j = json_loads(out, 0, &err);
        if (!j)
                fail_msg("procwatchctl %s printed no JSON: %s: %.400s", verb, err.text, out);
        return j;
}

static uint64_t stat_u64(const char *key) {
        json_t *st = ctl_json("stats", NULL);
        const json_t *v;
        uint64_t r;

        assert_non_null(st);
        v = json_object_get(st, key);
        if (!json_is_integer(v))
                fail_msg("Stats has no %s", key);
        r = (uint64_t) json_integer_value(v);
        json_decref(st);
        return r;
}

/* Polls Stats until the receive thread has been in one read for over 100 ms. */
static void wait_stalled(void) {
        uint64_t end = harness_now_ms() + TIMEOUT_MS;

        while (stat_u64("proc_read_stalled_usec") == 0) {
                if (harness_now_ms() > end)
                        fail_msg("the daemon never reported a stalled read");
                usleep(20000);
        }
}

/* True when the record of pid has exactly argv want[0..n-1]. */
static bool argv_is(pid_t pid, const char *const *want, size_t n) {
        char a[32];
        json_t *p, *argv;
        bool ok;

        snprintf(a, sizeof(a), "%d", (int) pid);
        p = ctl_json("show", a);
        if (!p)
                return false;
        argv = json_object_get(p, "argv");
        ok = json_array_size(argv) == n;
        for (size_t i = 0; ok && i < n; i++)
                ok = strcmp(json_string_value(json_array_get(argv, i)) ?: "", want[i]) == 0;
        json_decref(p);
        return ok;
}

static void wait_argv(pid_t pid, const char *const *want, size_t n) {
        uint64_t end = harness_now_ms() + TIMEOUT_MS;

        while (!argv_is(pid, want, n)) {
                if (harness_now_ms() > end)
                        fail_msg("pid %d never showed its argv (%s ...)", (int) pid, want[1]);
                usleep(20000);
        }
}

/* Every thread of pid is stopped (kill() returns before they all are: one still running could read
 * the victim's EXEC before its lock holds). */
static bool all_stopped(pid_t pid) {
        char path[64];
        struct dirent *de;
        bool all = true;
        DIR *dir;

        snprintf(path, sizeof(path), "/proc/%d/task", (int) pid);
        dir = opendir(path);
        if (!dir)
                return false;
        while (all && (de = readdir(dir))) {
                char stat[400], buf[512], *p;
                ssize_t n;
                int fd;

                if (de->d_name[0] == '.')
                        continue;
                snprintf(stat, sizeof(stat), "%s/%s/stat", path, de->d_name);
                fd = open(stat, O_RDONLY | O_CLOEXEC);
                n = fd >= 0 ? read(fd, buf, sizeof(buf) - 1) : -1;
                if (fd >= 0)
                        close(fd);
                buf[n > 0 ? n : 0] = '\0';
                p = strrchr(buf, ')');
                all = p && p[1] == ' ' && p[2] == 'T';
        }
        closedir(dir);
        return all;
}

/* A fresh stalling file system in the scratch folder. */
static void start_stall(const char *name) {
        char dir[128];

        snprintf(dir, sizeof(dir), "%s/%s", scratch, name);
        assert_int_equal(mkdir(dir, 0755), 0);
        assert_int_equal(fuse_stall_start(&stall, dir), 0);
}

static void freeze_daemon(void) {
        uint64_t end = harness_now_ms() + TIMEOUT_MS;

        assert_int_equal(kill(d.pid, SIGSTOP), 0);
        while (!all_stopped(d.pid)) {
                if (harness_now_ms() > end)
                        fail_msg("the daemon did not stop");
                usleep(1000);
        }
}

/* A victim exec'ed while the daemon is stopped: its EXEC is read once its lock holds. */
static void stall_daemon(const char *name) {
        start_stall(name);
        freeze_daemon();
        assert_int_equal(fuse_stall_lock_mm(stall, self_path, &victim, &holder), 0);
        assert_int_equal(kill(d.pid, SIGCONT), 0);
        wait_stalled();
}

/* While a read is stuck, the loop goes on: it pings the watchdog and answers Stats. */
static void still_serving(void) {
        for (int i = 0; i < 3; i++) {
                harness_notify_clear(&d);
                assert_true(harness_wait_notify(&d, "WATCHDOG=1", false, TIMEOUT_MS));
        }
        assert_true(stat_u64("proc_read_stalled_usec") > 0);
        assert_true(fuse_stall_pending(stall) > 0);
}

/* The record of pid, by its pid; fails when there is none. */
static json_t *show(pid_t pid) {
        char a[32];
        json_t *p;

        snprintf(a, sizeof(a), "%d", (int) pid);
        p = ctl_json("show", a);
        if (!p)
                fail_msg("no record of pid %d", (int) pid);
        return p;
}

/* The victim (as the scan that found it says), released: its image comes, nothing stalls any more. */
static void release_and_check_victim(const char *source) {
        const char *vargv[] = { self_path, FUSE_STALL_VICTIM_ARG, fuse_stall_file(stall) };
        json_t *p = show(victim);

        assert_string_equal(json_string_value(json_object_get(p, "source")) ?: "", source);
        json_decref(p);
        fuse_stall_release(stall);
        wait_argv(victim, vargv, 3);
        assert_true(stat_u64("proc_reads_slow") >= 1);
        assert_int_equal(stat_u64("proc_read_stalled_usec"), 0);
}

static void test_stuck_read_stalls_only_the_receive_thread(void **state) {
        const char *vargv[] = { self_path, FUSE_STALL_VICTIM_ARG, NULL };
        char marker[64], n[OTHERS][16];
        int pfd[2];

        stall_daemon("fuse1");
        vargv[2] = fuse_stall_file(stall);

        /* Others exec meanwhile, and stay until told; their EXECs wait behind the stuck read. */
        snprintf(marker, sizeof(marker), "pwprocread-%d", (int) getpid());
        assert_int_equal(pipe2(pfd, O_CLOEXEC), 0);
        others_fd = pfd[1];
        for (int i = 0; i < OTHERS; i++) {
                snprintf(n[i], sizeof(n[i]), "%d", i);
                others[i] = fork();
                assert_true(others[i] >= 0);
                if (others[i] == 0) {
                        dup2(pfd[0], STDIN_FILENO);
                        execl(self_path, self_path, marker, n[i], (char *) NULL);
                        _exit(127);
                }
        }
        close(pfd[0]);

        /* The loop goes on: it pings the watchdog and answers, while the read is still stuck. */
        still_serving();

        /* Released, the read returns: the victim and every other keep their argv, nothing lost. */
        fuse_stall_release(stall);
        wait_argv(victim, vargv, 3);
        for (int i = 0; i < OTHERS; i++) {
                const char *want[] = { self_path, marker, n[i] };

                wait_argv(others[i], want, 3);
        }
        assert_true(stat_u64("proc_reads_slow") >= 1);
        assert_int_equal(stat_u64("proc_read_stalled_usec"), 0);
}

/* A stalled process already there when the daemon starts: the start-up scan finds it, READY=1
 * still comes (the image is not waited for beyond MANAGER_READY_IMAGES_USEC), and the daemon serves
 * while its image read waits. */
static void test_startup_scan_of_a_stalled_process(void **state) {
        start_stall("fuse3");
        assert_int_equal(fuse_stall_lock_mm(stall, self_path, &victim, &holder), 0);
        start_daemon(NULL, NULL);
        wait_stalled();
        still_serving();
        assert_true(stat_u64("proc_reads_queued") >= 1);
        release_and_check_victim("scan");
}

/* A stalled process whose events were lost: found by the reconciliation after the loss. The daemon
 * is stopped, a storm of short children overflows its receive buffer, and only then is the victim
 * made, so its FORK and EXEC are dropped for sure; the daemon, resumed, repairs from /proc. */
static void test_reconciliation_finds_a_stalled_process(void **state) {
        start_stall("fuse4");
        freeze_daemon();
        for (int i = 0; i < STORM; i++) {
                pid_t c = fork();

                assert_true(c >= 0);
                if (c == 0)
                        _exit(0);
                assert_int_equal(waitpid(c, NULL, 0), c);
        }
        assert_int_equal(fuse_stall_lock_mm(stall, self_path, &victim, &holder), 0);
        assert_int_equal(kill(d.pid, SIGCONT), 0);
        wait_stalled();
        still_serving();
        assert_true(stat_u64("enobufs") + stat_u64("lost") > 0);
        release_and_check_victim("reconciled");
}

static void test_sigterm_during_a_stuck_read(void **state) {
        uint64_t elapsed = 0;
        int status;

        stall_daemon("fuse2");
        status = harness_stop(&d, SIGTERM, TIMEOUT_MS, &elapsed);
        assert_true(status != -1);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        /* As test-daemon's SIGTERM test: the thread stuck in the read does not hold the exit up. */
        assert_true(elapsed < 1000);
        assert_true(harness_wait_notify(&d, "STOPPING=1", false, TIMEOUT_MS));
        /* Still stuck: the read really was waiting when the daemon left. */
        assert_true(fuse_stall_pending(stall) > 0);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_stuck_read_stalls_only_the_receive_thread, setup, teardown),
                cmocka_unit_test_setup_teardown(test_startup_scan_of_a_stalled_process, setup_none, teardown),
                cmocka_unit_test_setup_teardown(test_reconciliation_finds_a_stalled_process, setup_small_rcvbuf,
                                                teardown),
                cmocka_unit_test_setup_teardown(test_sigterm_during_a_stuck_read, setup_stuck_exit, teardown),
        };
        char dir[] = "/tmp/pwprocread-XXXXXX";
        char probe[128];
        FuseStall *s = NULL;
        ssize_t n;
        int r;

        if (argc == 3 && strcmp(argv[1], FUSE_STALL_VICTIM_ARG) == 0)
                fuse_stall_victim_main(argv[2]);
        /* One of the others: waits for its stdin to close. */
        if (argc == 3 && strncmp(argv[1], "pwprocread-", 11) == 0) {
                char c;

                while (read(STDIN_FILENO, &c, 1) > 0)
                        ;
                return 0;
        }
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
        if (n <= 0)
                return 1;
        self_path[n] = '\0';
        tc_init("procread");
        if (tc_mkdtemp(dir) < 0)
                return 1;
        snprintf(scratch, sizeof(scratch), "%s", dir);
        snprintf(socket_path, sizeof(socket_path), "%s/io.procwatch", dir);
        snprintf(probe, sizeof(probe), "%s/probe", dir);
        if (mkdir(probe, 0755) < 0)
                return 1;
        r = fuse_stall_start(&s, probe);
        if (r < 0) {
                fprintf(stderr, "no FUSE here (%s): skipping\n", strerror(-r));
                return 77;
        }
        fuse_stall_stop(s);
        return cmocka_run_group_tests_name("a process whose cmdline cannot be read", tests, NULL, NULL);
}
