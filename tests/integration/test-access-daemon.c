/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Integration: what other users read through the real procwatchd (issue 10, attacks 3 and 4, item 5).
 *
 * The test moves itself into a private mount namespace with its own /proc mounted
 * hidepid=invisible,gid=ACCESS_GROUP, so the daemon it starts and every caller it runs share that
 * /proc. Callers are real non-root processes (setpriv as uid 65534, with or without ACCESS_GROUP);
 * the processes they look at are real: a root process that called seteuid(65534) with a secret in
 * its argv, processes of 65534 itself, one of them in a cgroup named like a user manager's
 * sshd.service. Every check is first made against /proc itself, then against the daemon.
 * Needs root, unshare and a cgroup v2 hierarchy; exits 77 without. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <jansson.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "macro.h"
#include "varlink.h"
#include "test-cleanup.h"

#define WAIT_MS 10000
#define OUT_MAX (64U * 1024U * 1024U)
/* The /proc mount's gid=: its members see every process, as /proc shows them. */
#define ACCESS_GROUP 4242 /* spelt out in the strings below */
#define NOBODY 65534

static const char *daemon_path, *ctl_path, *sleeper_path;
static Daemon d;
static char sock_opt[160], cgroup_root[256];
static char *out;

/* Everything a test started, killed by its teardown whichever way it ended; and cgroup folders made. */
static pid_t spawned[16];
static char made_dirs[4][512];

static void track(pid_t pid) {
        for (size_t i = 0; i < ELEMENTSOF(spawned); i++)
                if (spawned[i] <= 0) {
                        spawned[i] = pid;
                        return;
                }
        fail_msg("too many processes for one test");
}

/* --- running things ---------------------------------------------------------------------------------- */

/* A pw-sleeper (argv after the path), as root or (uid >= 0) fully as uid, with gid the same; in cgroup
 * when not NULL (moved before exec). Returns once it has started and said so. */
static pid_t sleeper(long uid, const char *cgroup, const char *seteuid_arg, const char *arg) {
        int p[2];
        char c;
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char *argv[] = { (char *) sleeper_path, (char *) (seteuid_arg ?: arg), (char *) (seteuid_arg ? arg : NULL),
                                 NULL };

                if (dup2(p[1], STDOUT_FILENO) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                        _exit(120);
                if (cgroup) {
                        char path[512], pidbuf[32];
                        int fd;

                        snprintf(path, sizeof(path), "%s/cgroup.procs", cgroup);
                        snprintf(pidbuf, sizeof(pidbuf), "%d\n", (int) getpid());
                        fd = open(path, O_WRONLY | O_CLOEXEC);
                        if (fd < 0 || write(fd, pidbuf, strlen(pidbuf)) < 0)
                                _exit(121);
                        close(fd);
                }
                if (uid >= 0 && (setgroups(0, NULL) < 0 || setresgid((gid_t) uid, (gid_t) uid, (gid_t) uid) < 0 ||
                                 setresuid((uid_t) uid, (uid_t) uid, (uid_t) uid) < 0 ||
                                 prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)) /* cleared by the id change */
                        _exit(122);
                execv(sleeper_path, argv);
                _exit(123);
        }
        close(p[1]);
        track(pid);
        {
                struct pollfd pf = { .fd = p[0], .events = POLLIN };

                assert_int_equal(poll(&pf, 1, WAIT_MS), 1);
                assert_int_equal(read(p[0], &c, 1), 1);
        }
        close(p[0]);
        return pid;
}

static void kill_wait(pid_t pid) {
        if (pid <= 0)
                return;
        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        for (size_t i = 0; i < ELEMENTSOF(spawned); i++)
                if (spawned[i] == pid)
                        spawned[i] = 0;
}

/* Runs argv (NULL-terminated) as 65534, with ACCESS_GROUP as a supplementary group when in_group;
 * returns the exit status, output in out. */
static int run_as_nobody(bool in_group, char *const argv[]) {
        char *full[32];
        size_t n = 0;
        int status;

        full[n++] = (char *) "setpriv";
        full[n++] = (char *) "--reuid=65534";
        full[n++] = (char *) "--regid=65534";
        full[n++] = (char *) (in_group ? "--groups=4242" : "--clear-groups");
        for (size_t i = 0; argv[i] && n < ELEMENTSOF(full) - 1; i++)
                full[n++] = argv[i];
        full[n] = NULL;
        status = harness_run_capture(full, out, OUT_MAX, WAIT_MS);
        if (status < 0 || !WIFEXITED(status))
                fail_msg("%s did not finish: %s", argv[0], out);
        return WEXITSTATUS(status);
}

/* procwatchctl --json ARGS as 65534: the exit status; the parsed output in *ret when 0. */
static int ctl_nobody(bool in_group, json_t **ret, const char *a1, const char *a2, const char *a3) {
        char *argv[] = { (char *) ctl_path, sock_opt, (char *) "--json", (char *) a1, (char *) a2, (char *) a3, NULL };
        json_error_t err;
        int r = run_as_nobody(in_group, argv);

        if (ret) {
                *ret = NULL;
                if (r == 0 && !(*ret = json_loads(out, 0, &err)))
                        fail_msg("procwatchctl %s printed invalid JSON (%s): %.300s", a1, err.text, out);
        }
        return r;
}

/* Polls procwatchctl show PID as root until the record carries word in its argv (the exec was read). */
static json_t *root_show_until_argv(pid_t pid, const char *word) {
        char arg[32];
        uint64_t deadline = harness_now_ms() + WAIT_MS;

        snprintf(arg, sizeof(arg), "%d", (int) pid);
        for (;;) {
                char *argv[] = { (char *) ctl_path, sock_opt, (char *) "--json", (char *) "show", arg, NULL };
                int status = harness_run_capture(argv, out, OUT_MAX, WAIT_MS);

                if (status >= 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 && strstr(out, word))
                        return json_loads(out, 0, NULL);
                if (harness_now_ms() > deadline)
                        fail_msg("pid %d never showed \"%s\": %s", (int) pid, word, out);
                harness_pump(&d, 20);
        }
}

/* Does /proc, as 65534 sees it, show /proc/PID/cmdline? */
static bool proc_shows_nobody(bool in_group, pid_t pid) {
        char path[64];
        char *argv[] = { (char *) "cat", path, NULL };

        snprintf(path, sizeof(path), "/proc/%d/cmdline", (int) pid);
        return run_as_nobody(in_group, argv) == 0;
}

static bool json_array_has_pid(const json_t *a, pid_t pid) {
        const json_t *p;
        size_t i;

        json_array_foreach(a, i, p)
                if (json_integer_value(json_object_get(p, "pid")) == pid)
                        return true;
        return false;
}

/* --- a subscriber as 65534 ----------------------------------------------------------------------------- */

typedef struct Subscriber {
        pid_t pid;
        int fd; /* read end: "R" once subscribed, then every message, one per line */
} Subscriber;

/* Forks a process that drops to 65534, subscribes to Events and copies every message to a pipe until
 * one names until_word, or a deadline. */
static void subscriber_start(Subscriber *s, const char *until_word) {
        int p[2];

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        s->pid = fork();
        assert_true(s->pid >= 0);
        if (s->pid == 0) {
                static const char call[] = "{\"method\":\"io.procwatch.Events\",\"parameters\":{},\"more\":true}";
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                VarlinkConn conn;
                uint64_t deadline = harness_now_ms() + 3 * WAIT_MS;
                bool ready = false;
                int fd;

                close(p[0]);
                if (setgroups(0, NULL) < 0 || setresgid(NOBODY, NOBODY, NOBODY) < 0 ||
                    setresuid(NOBODY, NOBODY, NOBODY) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                        _exit(2);
                strcpy(sa.sun_path, d.socket_path);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 ||
                    write(fd, call, sizeof(call)) != (ssize_t) sizeof(call))
                        _exit(3);
                varlink_conn_init(&conn, fd, 64U << 20, 64U << 20);
                while (harness_now_ms() < deadline) {
                        struct pollfd pf = { .fd = fd, .events = POLLIN };
                        char *m;
                        size_t len;
                        int r = varlink_conn_next(&conn, &m, &len);

                        if (r < 0)
                                _exit(4);
                        if (r == 0) {
                                ssize_t n;

                                (void) poll(&pf, 1, 100);
                                n = varlink_conn_read(&conn, 64 * 1024);
                                if (n == 0 || (n < 0 && n != -EAGAIN))
                                        _exit(5);
                                continue;
                        }
                        if (!ready) {
                                if (!memmem(m, len, "\"ready\"", 7))
                                        _exit(6);
                                ready = true;
                                if (write(p[1], "R", 1) != 1)
                                        _exit(7);
                                continue;
                        }
                        if (write(p[1], m, len) != (ssize_t) len || write(p[1], "\n", 1) != 1)
                                _exit(8);
                        if (memmem(m, len, until_word, strlen(until_word)))
                                _exit(0);
                }
                _exit(9);
        }
        close(p[1]);
        track(s->pid);
        s->fd = p[0];
        {
                struct pollfd pf = { .fd = s->fd, .events = POLLIN };
                char c;

                assert_int_equal(poll(&pf, 1, WAIT_MS), 1);
                assert_int_equal(read(s->fd, &c, 1), 1);
                assert_int_equal(c, 'R');
        }
}

/* Everything the subscriber got (malloc'ed) and whether it saw until_word before its deadline. */
static char *subscriber_finish(Subscriber *s, bool *saw_word) {
        size_t len = 0, alloc = 64 * 1024;
        char *buf = malloc(alloc);
        int status;

        assert_non_null(buf);
        for (;;) {
                ssize_t n;

                if (len + 1 >= alloc) {
                        alloc *= 2;
                        buf = realloc(buf, alloc);
                        assert_non_null(buf);
                }
                n = read(s->fd, buf + len, alloc - len - 1);
                if (n <= 0)
                        break;
                len += (size_t) n;
        }
        buf[len] = '\0';
        close(s->fd);
        assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
        for (size_t i = 0; i < ELEMENTSOF(spawned); i++)
                if (spawned[i] == s->pid)
                        spawned[i] = 0;
        *saw_word = WIFEXITED(status) && WEXITSTATUS(status) == 0;
        return buf;
}

/* --- attack 3: the hidepid leak ------------------------------------------------------------------------ */

/* A root process that called seteuid(65534), as sshd and cron do: /proc hides it from 65534, and so
 * must every method and the event stream, argv (with a secret), exe and cgroup included. A process of
 * 65534's own stays visible to it, but its root parent is not named. */
static void test_seteuid_root_hidden(void **state) {
        char secret[64], marker[64], arg[32];
        pid_t root_pid, own_pid;
        Subscriber sub;
        json_t *j, *procs;
        char *events;
        bool saw_marker;

        snprintf(secret, sizeof(secret), "--token=pw-secret-%d", (int) getpid());
        snprintf(marker, sizeof(marker), "pw-marker-%d", (int) getpid());

        subscriber_start(&sub, marker);
        root_pid = sleeper(-1, NULL, "--seteuid=65534", secret);
        j = root_show_until_argv(root_pid, secret); /* root sees it whole */
        assert_int_equal(json_integer_value(json_object_get(j, "euid")), NOBODY);
        assert_int_equal(json_integer_value(json_object_get(j, "uid")), 0);
        json_decref(j);
        own_pid = sleeper(NOBODY, NULL, NULL, marker);

        /* What /proc shows 65534: not the root process, its own one. */
        assert_false(proc_shows_nobody(false, root_pid));
        assert_true(proc_shows_nobody(false, own_pid));

        /* The daemon likewise. Show: */
        snprintf(arg, sizeof(arg), "%d", (int) root_pid);
        assert_int_equal(ctl_nobody(false, NULL, "show", arg, NULL), 5);
        assert_null(strstr(out, secret));
        /* ps, alive and exited: */
        assert_int_equal(ctl_nobody(false, &procs, "ps", NULL, NULL), 0);
        assert_false(json_array_has_pid(procs, root_pid));
        assert_null(strstr(out, secret));
        json_decref(procs);
        /* tree, whole and from the hidden pid (the text only: other tests on this machine may run deep
         * chains as 65534, deeper than a JSON parser nests): */
        assert_int_equal(ctl_nobody(false, NULL, "tree", NULL, NULL), 0);
        assert_null(strstr(out, secret));
        assert_int_equal(ctl_nobody(false, NULL, "tree", arg, NULL), 5);

        /* Its own process: there, argv and exe included, but the root parent (this test) unnamed. */
        snprintf(arg, sizeof(arg), "%d", (int) own_pid);
        {
                uint64_t deadline = harness_now_ms() + WAIT_MS;

                /* The exec is read from /proc just after it happens: poll for it. */
                while (ctl_nobody(false, &j, "show", arg, NULL) != 0 || !strstr(out, marker)) {
                        json_decref(j);
                        if (harness_now_ms() > deadline)
                                fail_msg("65534 never saw its own process %d: %s", (int) own_pid, out);
                        harness_pump(&d, 20);
                }
        }
        assert_true(json_is_string(json_object_get(j, "exe")));
        assert_int_equal(json_integer_value(json_object_get(j, "ppid")), 0);
        assert_true(json_is_null(json_object_get(j, "parent_id")));
        json_decref(j);

        /* The stream: the marker's exec came (in order, after the root process's events), nothing of
         * the root process did. */
        events = subscriber_finish(&sub, &saw_marker);
        if (!saw_marker)
                fail_msg("the subscriber never got 65534's own exec: %.500s", events);
        if (strstr(events, secret))
                fail_msg("the event stream leaked the secret to 65534: %.500s", strstr(events, secret));
        {
                char needle[48];

                snprintf(needle, sizeof(needle), "\"pid\":%d,", (int) root_pid);
                if (strstr(events, needle))
                        fail_msg("the event stream named hidden pid %d to 65534", (int) root_pid);
                snprintf(needle, sizeof(needle), "\"parent_pid\":%d", (int) getpid());
                if (strstr(events, needle))
                        fail_msg("the event stream named the hidden parent %d to 65534", (int) getpid());
        }
        free(events);
        kill_wait(root_pid);
        kill_wait(own_pid);
}

/* --- item 5: argv privacy on the API; gid= ------------------------------------------------------------- */

/* A member of the /proc mount's gid= group sees every process, as /proc shows it; another user's
 * argv comes redacted as --journal-redact says, and its exe not at all (ptrace-guarded). */
static void test_group_sees_redacted(void **state) {
        char secret[96], word[64], arg[32];
        pid_t root_pid;
        json_t *j, *argv;

        snprintf(word, sizeof(word), "pw-redact-%d", (int) getpid());
        snprintf(secret, sizeof(secret), "--password=%s", word);
        root_pid = sleeper(-1, NULL, NULL, secret);
        json_decref(root_show_until_argv(root_pid, word));

        assert_true(proc_shows_nobody(true, root_pid));
        assert_false(proc_shows_nobody(false, root_pid));

        snprintf(arg, sizeof(arg), "%d", (int) root_pid);
        assert_int_equal(ctl_nobody(true, &j, "show", arg, NULL), 0);
        assert_null(strstr(out, word));
        argv = json_object_get(j, "argv");
        assert_int_equal(json_array_size(argv), 2);
        assert_string_equal(json_string_value(json_array_get(argv, 1)), "--password=***");
        assert_true(json_is_true(json_object_get(j, "argv_redacted")));
        assert_true(json_is_null(json_object_get(j, "exe")));
        json_decref(j);
        assert_int_equal(ctl_nobody(true, &j, "ps", NULL, NULL), 0);
        assert_true(json_array_has_pid(j, root_pid));
        assert_null(strstr(out, word));
        json_decref(j);
        /* Without the group: not there at all. */
        assert_int_equal(ctl_nobody(false, NULL, "show", arg, NULL), 5);
        kill_wait(root_pid);
}

/* --- attack 4: unit spoofing ---------------------------------------------------------------------------- */

static void rmdir_until_gone(const char *path) {
        uint64_t deadline = harness_now_ms() + WAIT_MS;

        /* A killed process leaves its cgroup a moment after it is reaped. */
        while (rmdir(path) < 0 && errno == EBUSY && harness_now_ms() < deadline)
                harness_pump(&d, 10);
}

/* 65534's process in .../user@65534.service/app.slice/sshd.service is no system sshd.service. */
static void test_unit_spoofing(void **state) {
        char base[384], leaf[512], (*dirs)[512] = made_dirs, arg[32], marker[64];
        pid_t pid;
        json_t *j;

        snprintf(base, sizeof(base), "%s/pwtest-%d.slice", cgroup_root, (int) getpid());
        snprintf(dirs[0], sizeof(dirs[0]), "%s", base);
        snprintf(dirs[1], sizeof(dirs[1]), "%s/user@65534.service", base);
        snprintf(dirs[2], sizeof(dirs[2]), "%s/user@65534.service/app.slice", base);
        snprintf(dirs[3], sizeof(dirs[3]), "%s/user@65534.service/app.slice/sshd.service", base);
        for (size_t i = 0; i < ELEMENTSOF(made_dirs); i++)
                if (mkdir(dirs[i], 0755) < 0 && errno != EEXIST)
                        fail_msg("mkdir %s: %s", dirs[i], strerror(errno));
        snprintf(leaf, sizeof(leaf), "%s", dirs[3]);
        snprintf(marker, sizeof(marker), "pw-unit-%d", (int) getpid());

        pid = sleeper(NOBODY, leaf, NULL, marker);
        json_decref(root_show_until_argv(pid, marker));
        snprintf(arg, sizeof(arg), "%d", (int) pid);

        assert_int_equal(ctl_nobody(false, &j, "show", arg, NULL), 0);
        assert_string_equal(json_string_value(json_object_get(j, "unit")), "user@65534.service");
        assert_string_equal(json_string_value(json_object_get(j, "user_unit")), "sshd.service");
        json_decref(j);
        /* ps --unit=sshd.service does not list it; --user-unit=sshd.service does. */
        assert_int_equal(ctl_nobody(false, &j, "ps", "--unit=sshd.service", NULL), 0);
        assert_false(json_array_has_pid(j, pid));
        json_decref(j);
        assert_int_equal(ctl_nobody(false, &j, "ps", "--user-unit=sshd.service", NULL), 0);
        assert_true(json_array_has_pid(j, pid));
        json_decref(j);
        assert_int_equal(ctl_nobody(false, &j, "ps", "--unit=user@65534.service", NULL), 0);
        assert_true(json_array_has_pid(j, pid));
        json_decref(j);
        /* The human form says which is which. */
        {
                char *argv[] = { (char *) ctl_path, sock_opt, (char *) "show", arg, NULL };

                assert_int_equal(run_as_nobody(false, argv), 0);
                assert_non_null(strstr(out, "Unit: user@65534.service\n"));
                assert_non_null(strstr(out, "User unit: sshd.service\n"));
        }

        kill_wait(pid);
}

/* After each test, on every path: what it started, and the cgroup folders it made, innermost first. */
static int test_cleanup(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(spawned); i++)
                kill_wait(spawned[i]);
        for (size_t i = ELEMENTSOF(made_dirs); i > 0; i--)
                if (made_dirs[i - 1][0]) {
                        rmdir_until_gone(made_dirs[i - 1]);
                        made_dirs[i - 1][0] = '\0';
                }
        return 0;
}

/* --- set-up --------------------------------------------------------------------------------------------- */

static int setup(void **state) {
        char redact[] = "--journal-redact=--password=*";
        char *argv[] = { (char *) "procwatchd", (char *) "--journal-argv=redact", redact, NULL };

        out = malloc(OUT_MAX);
        assert_non_null(out);
        if (harness_start_ready(&d, daemon_path, argv, 0, WAIT_MS) < 0)
                return -1;
        /* The scratch folder is 0700; the socket inside is 0666. */
        assert_int_equal(chmod(d.dir, 0755), 0);
        snprintf(sock_opt, sizeof(sock_opt), "--socket=%s", d.socket_path);
        return 0;
}

static int teardown(void **state) {
        free(out);
        return harness_stop_cleanup(&d, WAIT_MS);
}

/* The cgroup v2 mount point, from /proc/self/mountinfo. */
static int find_cgroup2(void) {
        FILE *f = fopen("/proc/self/mountinfo", "re");
        char line[4096];
        int r = -ENOENT;

        if (!f)
                return -errno;
        while (fgets(line, sizeof(line), f)) {
                char point[256];

                if (strstr(line, " - cgroup2 ") && sscanf(line, "%*s %*s %*s %*s %255s", point) == 1) {
                        snprintf(cgroup_root, sizeof(cgroup_root), "%s", point);
                        r = 0;
                        break;
                }
        }
        fclose(f);
        return r;
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_seteuid_root_hidden, test_cleanup),
                cmocka_unit_test_teardown(test_group_sees_redacted, test_cleanup),
                cmocka_unit_test_teardown(test_unit_spoofing, test_cleanup),
        };

        if (argc != 4) {
                fprintf(stderr, "usage: %s PROCWATCHD PROCWATCHCTL PW-SLEEPER\n", argv[0]);
                return 1;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "SKIP: needs root (the proc connector, a mount namespace, setpriv).\n");
                return 77;
        }
        tc_init("access-daemon");
        daemon_path = argv[1];
        ctl_path = argv[2];
        sleeper_path = argv[3];
        if (find_cgroup2() < 0) {
                fprintf(stderr, "SKIP: no cgroup v2 hierarchy mounted.\n");
                return 77;
        }
        /* A private /proc with hidepid for this process and everything it starts; the namespace, and
         * the mount with it, goes when the test ends, whatever way it ends. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
                fprintf(stderr, "SKIP: no private mount namespace: %m\n");
                return 77;
        }
        if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
                  "hidepid=invisible,gid=4242") < 0) {
                fprintf(stderr, "SKIP: cannot mount /proc with hidepid=invisible: %m\n");
                return 77;
        }
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, setup, teardown);
}
