/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The real procwatchd and procwatchctl with configuration files under a scratch root
 * (--config-root=, never the machine's /etc): bad files at start and at reload, --cat-config, the
 * reload protocol with the service manager, reload refused to other users, argv privacy for other
 * users following the files at reload, SIGHUP re-reading /proc's hidepid= as Reload does, and 100
 * reloads during a fork storm with no event lost and the subscriber still streaming. Runs in a mount
 * namespace of its own with a /proc of its own. Root only (exits 77 without). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "ctl-client.h"
#include "daemon-harness.h"
#include "test-cleanup.h"

static const char *daemon_path, *ctl_path, *sleeper_path;

static void make_root(char *buf, size_t size) {
        snprintf(buf, size, "/tmp/pwcfgd-XXXXXX");
        assert_int_equal(tc_mkdtemp(buf), 0);
}

/* Writes root/path atomically (rename), making its folder. */
static void write_file(const char *root, const char *path, const char *text) {
        char full[512], tmp[530], dir[512];
        FILE *f;

        snprintf(full, sizeof(full), "%s%s", root, path);
        snprintf(dir, sizeof(dir), "%s", full);
        for (char *p = dir + strlen(root) + 1, *s; (s = strchr(p, '/')); p = s + 1) {
                *s = '\0';
                (void) mkdir(dir, 0755);
                *s = '/';
        }
        snprintf(tmp, sizeof(tmp), "%s.tmp", full);
        f = fopen(tmp, "we");
        assert_non_null(f);
        assert_true(fputs(text, f) >= 0);
        assert_int_equal(fclose(f), 0);
        assert_int_equal(rename(tmp, full), 0);
}

static int ctl(const Daemon *d, const char *verb, bool json, char *out, size_t size) {
        char sock[160];
        char *argv[] = { (char *) ctl_path, sock, (char *) verb, json ? (char *) "--json" : NULL, NULL };
        int status;

        snprintf(sock, sizeof(sock), "--socket=%s", d->socket_path);
        status = harness_run_capture(argv, out, size, 60000);
        assert_true(status != -1 && WIFEXITED(status));
        return WEXITSTATUS(status);
}

static void start(Daemon *d, const char *root) {
        char arg[128];
        char *argv[] = { (char *) daemon_path, arg, NULL };

        snprintf(arg, sizeof(arg), "--config-root=%s", root);
        assert_int_equal(harness_start(d, daemon_path, argv, NULL, 0), 0);
        if (!harness_wait_notify(d, "READY=1", false, 120000)) {
                harness_cleanup(d, true);
                fail_msg("daemon did not get ready");
        }
}

/* The setting Section.Key of `procwatchctl config --json`: its value (as JSON text) and source. */
static void get_setting(const Daemon *d, const char *section, const char *key, char *value, size_t vsize,
                        char *source, size_t ssize) {
        static char out[256 * 1024];
        json_t *j, *s;
        size_t i;

        assert_int_equal(ctl(d, "config", true, out, sizeof(out)), 0);
        j = json_loads(out, 0, NULL);
        assert_non_null(j);
        json_array_foreach(json_object_get(j, "settings"), i, s)
                if (strcmp(json_string_value(json_object_get(s, "section")), section) == 0 &&
                    strcmp(json_string_value(json_object_get(s, "key")), key) == 0) {
                        char *v = json_dumps(json_object_get(s, "value"), JSON_ENCODE_ANY | JSON_COMPACT);
                        json_t *src = json_object_get(s, "source"), *line = json_object_get(s, "line");

                        snprintf(value, vsize, "%s", v);
                        free(v);
                        if (json_is_integer(line))
                                snprintf(source, ssize, "%s:%lld", json_string_value(src), json_integer_value(line));
                        else
                                snprintf(source, ssize, "%s", json_is_string(src) ? json_string_value(src) : "default");
                        json_decref(j);
                        return;
                }
        json_decref(j);
        fail_msg("no setting %s.%s", section, key);
}

/* A figure of `procwatchctl stats --json`. */
static long long stats_u64(const Daemon *d, const char *name) {
        static char out[64 * 1024];
        json_t *j;
        long long v;

        assert_int_equal(ctl(d, "stats", true, out, sizeof(out)), 0);
        j = json_loads(out, 0, NULL);
        assert_non_null(j);
        assert_true(json_is_integer(json_object_get(j, name)));
        v = json_integer_value(json_object_get(j, name));
        json_decref(j);
        return v;
}

static void test_bad_file_at_start(void **state) {
        char root[64], arg[128], sock[160], out[8192];
        char *argv[] = { (char *) daemon_path, arg, sock, (char *) "--no-journal", NULL };
        int status;

        make_root(root, sizeof(root));
        snprintf(arg, sizeof(arg), "--config-root=%s", root);
        snprintf(sock, sizeof(sock), "--socket=%s/sock", root);
        write_file(root, "/etc/procwatchd.conf", "[Tree]\nRetainCount=5\n[Bogus]\nA=1\n");
        write_file(root, "/usr/lib/procwatchd.conf.d/50-bad.conf", "# bad\n[Ingest]\nReceiveBuffer=12\n");

        status = harness_run_capture(argv, out, sizeof(out), 60000);
        print_message("%s", out);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 2);
        assert_non_null(strstr(out, "/usr/lib/procwatchd.conf.d/50-bad.conf:3: Invalid ReceiveBuffer=12"));
        /* The unknown section is a warning, also named. */
        assert_non_null(strstr(out, "/etc/procwatchd.conf:4: Unknown section [Bogus]"));
}

static void test_cat_config(void **state) {
        char root[64], arg[128], out[8192], want[256];
        char *argv[] = { (char *) daemon_path, arg, (char *) "--cat-config", NULL };
        char *a, *b;
        int status;

        make_root(root, sizeof(root));
        snprintf(arg, sizeof(arg), "--config-root=%s", root);
        write_file(root, "/etc/procwatchd.conf", "[Tree]\nRetainCount=5\n");
        write_file(root, "/usr/lib/procwatchd.conf.d/20-b.conf", "[Tree]\nRetainAge=9\n");
        write_file(root, "/run/procwatchd.conf.d/10-a.conf", "[Tree]\nRetainAge=8\n");
        status = harness_run_capture(argv, out, sizeof(out), 30000);
        print_message("%s", out);
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        snprintf(want, sizeof(want), "# %s/etc/procwatchd.conf\n[Tree]\nRetainCount=5\n", root);
        a = strstr(out, want);
        assert_non_null(a);
        snprintf(want, sizeof(want), "# %s/run/procwatchd.conf.d/10-a.conf\n", root);
        b = strstr(out, want);
        assert_true(b && b > a);
        snprintf(want, sizeof(want), "# %s/usr/lib/procwatchd.conf.d/20-b.conf\n", root);
        a = strstr(out, want);
        assert_true(a && a > b);
}

static void test_reload(void **state) {
        char root[64], out[16384], value[256], source[256], *notes;
        const char *unprivileged[] = { "setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", NULL };
        Daemon d;
        int status;

        make_root(root, sizeof(root));
        /* RetainCount= in a file is shown, but the harness's --retain-count wins over it. */
        write_file(root, "/etc/procwatchd.conf", "[Tree]\nUidShare=30\nRetainCount=5000\n");
        start(&d, root);

        get_setting(&d, "Tree", "UidShare", value, sizeof(value), source, sizeof(source));
        assert_string_equal(value, "\"30\"");
        assert_string_equal(source, "/etc/procwatchd.conf:2");
        assert_int_equal(stats_u64(&d, "uid_share_percent"), 30);
        get_setting(&d, "Tree", "RetainCount", value, sizeof(value), source, sizeof(source));
        assert_string_equal(value, "\"10000000\"");
        assert_string_equal(source, "command line");
        get_setting(&d, "Journal", "Forward", value, sizeof(value), source, sizeof(source));
        assert_string_equal(source, "command line"); /* the harness's --no-journal */

        /* A live change, through procwatchctl: applied, and the reload protocol of sd_notify(3). */
        harness_notify_clear(&d);
        write_file(root, "/etc/procwatchd.conf.d/50-live.conf", "[Tree]\n\nUidShare=40\n[Journal]\nComm=x*\n");
        assert_int_equal(ctl(&d, "reload", false, out, sizeof(out)), 0);
        print_message("%s", out);
        assert_non_null(strstr(out, "Changed: Tree.UidShare Journal.Comm"));
        assert_true(harness_wait_notify(&d, "READY=1", true, 30000));
        notes = harness_notify_copy(&d);
        assert_non_null(strstr(notes, "RELOADING=1\nMONOTONIC_USEC="));
        assert_true(strstr(notes, "RELOADING=1") < strstr(notes, "READY=1"));
        free(notes);
        get_setting(&d, "Tree", "UidShare", value, sizeof(value), source, sizeof(source));
        assert_string_equal(value, "\"40\"");
        assert_string_equal(source, "/etc/procwatchd.conf.d/50-live.conf:3");
        /* Live in the tree itself, not only in what GetConfig shows. */
        assert_int_equal(stats_u64(&d, "uid_share_percent"), 40);
        get_setting(&d, "Journal", "Comm", value, sizeof(value), source, sizeof(source));
        assert_string_equal(value, "[\"x*\"]");

        /* A bad file: the error with file:line goes back to the caller, the running values stay. */
        write_file(root, "/etc/procwatchd.conf.d/60-bad.conf", "[Tree]\nUidShare=1\nRetainAge=later\n");
        assert_int_equal(ctl(&d, "reload", false, out, sizeof(out)), 1);
        print_message("%s", out);
        assert_non_null(strstr(out, "/etc/procwatchd.conf.d/60-bad.conf:3: Invalid RetainAge=later"));
        get_setting(&d, "Tree", "UidShare", value, sizeof(value), source, sizeof(source));
        assert_string_equal(value, "\"40\"");
        assert_int_equal(stats_u64(&d, "uid_share_percent"), 40);
        assert_int_equal(unlink(strcat(strcpy(out, root), "/etc/procwatchd.conf.d/60-bad.conf")), 0);

        /* Settings only a restart applies: reported, the running values kept and shown. */
        write_file(root, "/etc/procwatchd.conf.d/70-restart.conf", "[Daemon]\nPrintEvents=yes\n[Ingest]\nTaskstats=no\n");
        assert_int_equal(ctl(&d, "reload", true, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "Daemon.PrintEvents"));
        assert_non_null(strstr(out, "Ingest.Taskstats"));
        get_setting(&d, "Daemon", "PrintEvents", value, sizeof(value), source, sizeof(source));
        assert_string_equal(value, "\"no\"");
        get_setting(&d, "Ingest", "Taskstats", value, sizeof(value), source, sizeof(source));
        assert_string_equal(value, "\"yes\"");
        assert_int_equal(ctl(&d, "config", false, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "applied at the next restart: Daemon.PrintEvents Ingest.Taskstats"));

        /* SIGHUP reloads too. */
        harness_notify_clear(&d);
        write_file(root, "/etc/procwatchd.conf.d/50-live.conf", "[Tree]\nUidShare=50\n");
        assert_int_equal(kill(d.pid, SIGHUP), 0);
        assert_true(harness_wait_notify(&d, "READY=1", true, 30000));
        get_setting(&d, "Tree", "UidShare", value, sizeof(value), source, sizeof(source));
        assert_string_equal(value, "\"50\"");
        assert_int_equal(stats_u64(&d, "uid_share_percent"), 50);

        /* Another user may look, not reload (the scratch folder holding the socket opened to them). */
        assert_int_equal(chmod(d.dir, 0755), 0);
        {
                char sock[160];
                char *argv[] = { (char *) unprivileged[0], (char *) unprivileged[1], (char *) unprivileged[2],
                                 (char *) unprivileged[3], (char *) ctl_path, sock, (char *) "reload", NULL };

                snprintf(sock, sizeof(sock), "--socket=%s", d.socket_path);
                status = harness_run_capture(argv, out, sizeof(out), 30000);
                print_message("%s", out);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 4);
                argv[6] = (char *) "config";
                status = harness_run_capture(argv, out, sizeof(out), 30000);
                assert_true(WIFEXITED(status));
                assert_int_equal(WEXITSTATUS(status), 0);
        }
        harness_cleanup(&d, false);
}

/* --- argv privacy follows the files ------------------------------------------------------------- */

/* pw-sleeper ARG as root; returns once it runs (its exec done). */
static pid_t start_sleeper(const char *arg) {
        struct pollfd pf;
        int p[2];
        char c;
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char *argv[] = { (char *) sleeper_path, (char *) arg, NULL };

                if (dup2(p[1], STDOUT_FILENO) < 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) < 0)
                        _exit(120);
                execv(sleeper_path, argv);
                _exit(123);
        }
        close(p[1]);
        pf = (struct pollfd){ .fd = p[0], .events = POLLIN };
        assert_int_equal(poll(&pf, 1, 60000), 1);
        assert_int_equal(read(p[0], &c, 1), 1);
        close(p[0]);
        return pid;
}

/* procwatchctl --json show PID, as root or as 65534: the exit status, the output in out. */
static int show(const Daemon *d, pid_t pid, bool nobody, char *out, size_t size) {
        char sock[160], arg[32];
        char *argv[] = { (char *) "setpriv", (char *) "--reuid=65534", (char *) "--regid=65534",
                         (char *) "--clear-groups", (char *) ctl_path, sock, (char *) "--json", (char *) "show", arg,
                         NULL };
        int status;

        snprintf(sock, sizeof(sock), "--socket=%s", d->socket_path);
        snprintf(arg, sizeof(arg), "%d", (int) pid);
        status = harness_run_capture(nobody ? argv : argv + 4, out, size, 60000);
        assert_true(status != -1 && WIFEXITED(status));
        return WEXITSTATUS(status);
}

/* Another user's view of argv is the journal's (Argv=, Redact=), and a reload changes it at once,
 * by Varlink and by SIGHUP; root and the owner keep seeing it in full. */
static void test_argv_privacy_follows_reload(void **state) {
        char root[64], word[64], secret[96], out[16384];
        uint64_t deadline;
        Daemon d;
        pid_t pid;

        snprintf(word, sizeof(word), "pw-cfg-secret-%d", (int) getpid());
        snprintf(secret, sizeof(secret), "--password=%s", word);
        make_root(root, sizeof(root));
        write_file(root, "/etc/procwatchd.conf", "[Journal]\nArgv=full\n");
        start(&d, root);
        assert_int_equal(chmod(d.dir, 0755), 0); /* the socket's folder, for 65534 */
        pid = start_sleeper(secret);

        /* Root sees it in full once the exec was read. */
        deadline = harness_now_ms() + 60000;
        while (!(show(&d, pid, false, out, sizeof(out)) == 0 && strstr(out, word))) {
                if (harness_now_ms() > deadline)
                        fail_msg("pid %d never showed its argv: %s", (int) pid, out);
                harness_pump(&d, 20);
        }
        /* Argv=full: so does another user. */
        assert_int_equal(show(&d, pid, true, out, sizeof(out)), 0);
        assert_non_null(strstr(out, word));

        /* Argv=redact by a Varlink reload: another user gets the value hidden, root still all. */
        write_file(root, "/etc/procwatchd.conf", "[Journal]\nArgv=redact\nRedact=--password=*\n");
        assert_int_equal(ctl(&d, "reload", false, out, sizeof(out)), 0);
        assert_non_null(strstr(out, "Journal.Argv"));
        assert_int_equal(show(&d, pid, true, out, sizeof(out)), 0);
        print_message("redacted: %s", out);
        assert_null(strstr(out, word));
        assert_non_null(strstr(out, "--password=***"));
        assert_int_equal(show(&d, pid, false, out, sizeof(out)), 0);
        assert_non_null(strstr(out, word));

        /* Argv=none by SIGHUP: nothing of it to another user. */
        harness_notify_clear(&d);
        write_file(root, "/etc/procwatchd.conf", "[Journal]\nArgv=none\n");
        assert_int_equal(kill(d.pid, SIGHUP), 0);
        assert_true(harness_wait_notify(&d, "READY=1", true, 30000));
        assert_int_equal(show(&d, pid, true, out, sizeof(out)), 0);
        print_message("none: %s", out);
        assert_null(strstr(out, word));
        assert_null(strstr(out, "--password"));
        assert_int_equal(show(&d, pid, false, out, sizeof(out)), 0);
        assert_non_null(strstr(out, word));

        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        harness_cleanup(&d, false);
}

/* SIGHUP re-reads /proc's mount options as io.procwatch.Reload does: with hidepid=invisible another
 * user no longer sees a root process, and sees it again once it is off. */
static void test_sighup_rereads_proc_mount(void **state) {
        char root[64], word[64], out[16384];
        uint64_t deadline;
        json_t *j;
        Daemon d;
        pid_t pid;

        snprintf(word, sizeof(word), "pw-cfg-hidepid-%d", (int) getpid());
        make_root(root, sizeof(root));
        start(&d, root);
        assert_int_equal(chmod(d.dir, 0755), 0);
        pid = start_sleeper(word);
        deadline = harness_now_ms() + 60000;
        while (!(show(&d, pid, false, out, sizeof(out)) == 0 && strstr(out, word))) {
                if (harness_now_ms() > deadline)
                        fail_msg("pid %d never showed its argv: %s", (int) pid, out);
                harness_pump(&d, 20);
        }
        assert_int_equal(show(&d, pid, true, out, sizeof(out)), 0);

        /* This test's own /proc (main() made it), so the machine's is never touched. */
        assert_int_equal(mount("proc", "/proc", "proc", MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC,
                               "hidepid=invisible"),
                         0);
        harness_notify_clear(&d);
        assert_int_equal(kill(d.pid, SIGHUP), 0);
        assert_true(harness_wait_notify(&d, "READY=1", true, 30000));
        assert_int_equal(show(&d, pid, true, out, sizeof(out)), 5); /* no such process, for them */
        assert_int_equal(show(&d, pid, false, out, sizeof(out)), 0);
        /* Reload says so too. */
        assert_int_equal(ctl(&d, "reload", true, out, sizeof(out)), 0);
        j = json_loads(out, 0, NULL);
        assert_non_null(j);
        assert_true(json_is_true(json_object_get(j, "hidepid")));
        json_decref(j);

        assert_int_equal(mount("proc", "/proc", "proc", MS_REMOUNT | MS_NOSUID | MS_NODEV | MS_NOEXEC, "hidepid=off"),
                         0);
        harness_notify_clear(&d);
        assert_int_equal(kill(d.pid, SIGHUP), 0);
        assert_true(harness_wait_notify(&d, "READY=1", true, 30000));
        assert_int_equal(show(&d, pid, true, out, sizeof(out)), 0);
        assert_non_null(strstr(out, word));

        (void) kill(pid, SIGKILL);
        (void) waitpid(pid, NULL, 0);
        harness_cleanup(&d, false);
}

/* --- 100 reloads during a fork storm ------------------------------------------------------------- */

#define STORM_CHILDREN 2000
#define STORM_RELOADS 100

typedef struct Reloader {
        const char *root, *socket;
        int done, failed;
} Reloader;

static void *reload_thread(void *userdata) {
        Reloader *r = userdata;
        CtlClient c = { .conn.fd = -EBADF };

        if (ctl_connect(&c, r->socket) < 0) {
                r->failed = -1;
                return NULL;
        }
        for (int i = 0; i < STORM_RELOADS; i++) {
                CtlReply reply = {};
                char text[256];

                /* Each reload changes live settings, back and forth. */
                snprintf(text, sizeof(text), "[Tree]\nUidShare=%d\n[Daemon]\nLogLevel=%s\n[Journal]\nComm=c%d\n",
                         20 + i % 50, i % 2 ? "notice" : "info", i);
                write_file(r->root, "/etc/procwatchd.conf.d/50-storm.conf", text);
                c.deadline = now_usec(CLOCK_MONOTONIC) + CTL_TIMEOUT_USEC;
                if (ctl_call(&c, "io.procwatch.Reload", NULL, &reply) < 0 || reply.error) {
                        r->failed++;
                        ctl_reply_done(&reply);
                        continue;
                }
                if (json_array_size(json_object_get(reply.parameters, "changed")) >= 2)
                        r->done++;
                ctl_reply_done(&reply);
        }
        ctl_disconnect(&c);
        return NULL;
}

/* The storm: waits for a byte, forks STORM_CHILDREN children that exit at once, writes their pids;
 * waits for another byte, forks one more. */
static void storm_main(int go_fd, int pid_fd) {
        char b;

        for (int round = 0; round < 2; round++) {
                int n = round == 0 ? STORM_CHILDREN : 1;

                if (read(go_fd, &b, 1) != 1)
                        _exit(1);
                for (int i = 0; i < n; i++) {
                        pid_t p = fork();

                        if (p < 0)
                                _exit(1);
                        if (p == 0)
                                _exit(0);
                        if (write(pid_fd, &p, sizeof(p)) != sizeof(p))
                                _exit(1);
                        (void) waitpid(p, NULL, 0);
                }
        }
        _exit(0);
}

static uint8_t *seen; /* per pid: 1 fork, 2 exit */
static size_t seen_size;
static pid_t storm_pid;

static unsigned n_complete; /* pids of the subtree seen both forking and exiting */
static unsigned n_storm_events; /* fork and exit events of the storm's children received */

/* Reads the stream until want children were seen forking and exiting, or every one of their events
 * was either received or counted as missed (a subscriber starved of CPU by other work on the machine
 * is told what it missed, and that is all it can be told), or nothing came for 10 s: the daemon
 * says what was missed ahead of the next event, so a count still owed comes with the next phase's.
 * With until_pid, until that one child was seen whole (or 120 s). */
static void read_events(CtlClient *c, unsigned want, pid_t until_pid, uint64_t *missed) {
        usec_t deadline = now_usec(CLOCK_MONOTONIC) + 120 * USEC_PER_SEC;

        while ((until_pid > 0 ? seen[until_pid] != 3 : n_complete < want && n_storm_events + *missed < 2ULL * want) &&
               now_usec(CLOCK_MONOTONIC) < deadline) {
                CtlReply reply = {};
                json_t *e, *m;

                c->deadline = until_pid > 0 ? deadline : MIN(deadline, now_usec(CLOCK_MONOTONIC) + 10 * USEC_PER_SEC);
                if (ctl_read_reply(c, &reply) < 0)
                        return;
                e = json_object_get(reply.parameters, "event");
                m = json_object_get(reply.parameters, "missed");
                if (json_is_integer(m))
                        *missed += (uint64_t) json_integer_value(m);
                if (json_is_object(e)) {
                        const char *kind = json_string_value(json_object_get(e, "kind"));
                        json_int_t pid = json_integer_value(json_object_get(e, "pid"));

                        if (pid > 0 && (size_t) pid < seen_size && pid != storm_pid && kind && seen[pid] != 3) {
                                if (strcmp(kind, "fork") == 0)
                                        seen[pid] |= 1;
                                else if (strcmp(kind, "exit") == 0)
                                        seen[pid] |= 2;
                                n_storm_events++;
                                n_complete += seen[pid] == 3;
                        }
                }
                ctl_reply_done(&reply);
        }
}

static void test_reloads_during_fork_storm(void **state) {
        char root[64];
        Daemon d;
        CtlClient sub = { .conn.fd = -EBADF }, c = { .conn.fd = -EBADF };
        CtlReply reply = {};
        Reloader rl = {};
        pthread_t thread;
        int go[2], pids_pipe[2];
        pid_t *pids, extra;
        json_int_t daemon_lost = 0;
        size_t n = 0;
        uint64_t missed = 0;
        unsigned complete = 0;
        json_t *lost, *subs;

        seen_size = 4U * 1024U * 1024U + 1;
        seen = calloc(seen_size, 1);
        pids = calloc(STORM_CHILDREN + 1, sizeof(pid_t));
        assert_non_null(seen);
        assert_non_null(pids);

        make_root(root, sizeof(root));
        write_file(root, "/etc/procwatchd.conf", "[Tree]\nUidShare=90\n");
        start(&d, root);

        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        assert_int_equal(pipe2(pids_pipe, O_CLOEXEC), 0);
        storm_pid = fork();
        assert_true(storm_pid >= 0);
        if (storm_pid == 0) {
                close(go[1]);
                close(pids_pipe[0]);
                storm_main(go[0], pids_pipe[1]);
        }
        close(go[0]);
        close(pids_pipe[1]);

        /* Subscribe to the storm's subtree and wait for the stream to start. */
        assert_int_equal(ctl_connect(&sub, d.socket_path), 0);
        sub.deadline = now_usec(CLOCK_MONOTONIC) + 30 * USEC_PER_SEC;
        assert_int_equal(ctl_send(&sub, "io.procwatch.Events", json_pack("{s:i, s:[s, s]}", "pid", (int) storm_pid,
                                                                         "kinds", "fork", "exit"),
                                  true),
                         0);
        assert_int_equal(ctl_read_reply(&sub, &reply), 0);
        assert_null(reply.error);
        assert_true(json_is_true(json_object_get(reply.parameters, "ready")));
        ctl_reply_done(&reply);

        /* Go: the storm and the reloads at once. */
        rl.root = root;
        rl.socket = d.socket_path;
        assert_int_equal(pthread_create(&thread, NULL, reload_thread, &rl), 0);
        assert_int_equal(write(go[1], "g", 1), 1);
        /* Read while both run, until every child has forked and exited (or the deadline). */
        read_events(&sub, STORM_CHILDREN, 0, &missed);
        assert_int_equal(pthread_join(thread, NULL), 0);
        /* The storm wrote every child's pid (8 KiB: the pipe holds them). */
        while (n < STORM_CHILDREN) {
                ssize_t k = read(pids_pipe[0], pids + n, (STORM_CHILDREN - n) * sizeof(pid_t));

                if (k <= 0)
                        break;
                n += (size_t) k / sizeof(pid_t);
        }
        print_message("storm: %d reloads applied, %d failed\n", rl.done, rl.failed);
        assert_int_equal(n, STORM_CHILDREN);
        assert_int_equal(rl.failed, 0);
        assert_int_equal(rl.done, STORM_RELOADS);

        /* The daemon has every child, ended: no event lost to the reloads. The connector is multicast:
         * other storms on the machine fill this daemon's socket too, and what it then loses it counts
         * as lost; a child it does not have must be covered by that count. */
        {
                char comm[32] = "";
                FILE *f = fopen("/proc/self/comm", "re");
                json_t *procs, *p;
                size_t i, found = 0;
                json_int_t lost_now = 0;

                assert_non_null(f);
                assert_non_null(fgets(comm, sizeof(comm), f));
                fclose(f);
                comm[strcspn(comm, "\n")] = '\0';
                /* Polled: on a busy machine the daemon may still be reading the storm. */
                for (usec_t deadline = now_usec(CLOCK_MONOTONIC) + 240 * USEC_PER_SEC;;) {
                        c = (CtlClient){ .conn.fd = -EBADF };
                        assert_int_equal(ctl_connect(&c, d.socket_path), 0);
                        c.deadline = now_usec(CLOCK_MONOTONIC) + 60 * USEC_PER_SEC;
                        assert_int_equal(ctl_call(&c, "io.procwatch.List",
                                                  json_pack("{s:s, s:s}", "state", "exited", "comm", comm), &reply),
                                         0);
                        assert_null(reply.error);
                        procs = json_object_get(reply.parameters, "processes");
                        found = 0;
                        json_array_foreach(procs, i, p) {
                                json_int_t pid = json_integer_value(json_object_get(p, "pid"));

                                if (json_integer_value(json_object_get(p, "ppid")) != storm_pid)
                                        continue;
                                for (size_t k = 0; k < n; k++)
                                        if (pids[k] == pid) {
                                                found++;
                                                break;
                                        }
                        }
                        ctl_reply_done(&reply);
                        assert_int_equal(ctl_call(&c, "io.procwatch.Stats", NULL, &reply), 0);
                        lost_now = json_integer_value(json_object_get(reply.parameters, "lost"));
                        ctl_reply_done(&reply);
                        ctl_disconnect(&c);
                        if (found == n || now_usec(CLOCK_MONOTONIC) > deadline)
                                break;
                        harness_pump(&d, 200);
                }
                print_message("the daemon has %zu of %zu children ended; it counts %lld events lost\n", found, n,
                              (long long) lost_now);
                if (found != n) {
                        /* What it says of the first child, and of the storm's process, for the log. */
                        static char out[64 * 1024];
                        char sock[160], arg[32];
                        char *argv[] = { (char *) ctl_path, sock, (char *) "--json", (char *) "show", arg, NULL };

                        snprintf(sock, sizeof(sock), "--socket=%s", d.socket_path);
                        snprintf(arg, sizeof(arg), "%d", (int) pids[0]);
                        (void) harness_run_capture(argv, out, sizeof(out), 30000);
                        print_message("comm %s; pid %d: %s\n", comm, (int) pids[0], out);
                        snprintf(arg, sizeof(arg), "%d", (int) storm_pid);
                        (void) harness_run_capture(argv, out, sizeof(out), 30000);
                        print_message("storm pid %d: %s\n", (int) storm_pid, out);
                }
                daemon_lost = lost_now;
                if (lost_now == 0)
                        assert_int_equal(found, n);
                else
                        assert_true((json_int_t) (n - found) <= lost_now);
        }

        /* The subscriber is still streaming after the reloads: one more child, seen whole. Whatever
         * of the storm had not come yet comes before it, and a missed count still owed with it. */
        assert_int_equal(write(go[1], "g", 1), 1);
        assert_int_equal(read(pids_pipe[0], &extra, sizeof(pid_t)), (ssize_t) sizeof(pid_t));
        read_events(&sub, 0, extra, &missed);
        assert_int_equal(seen[extra], 3);
        for (size_t i = 0; i < n; i++)
                complete += seen[pids[i]] == 3;
        print_message("storm: %u of %zu children seen forking and exiting; %u events received, %llu missed\n",
                      complete, n, n_storm_events, (unsigned long long) missed);
        if (missed == 0 && daemon_lost == 0)
                assert_int_equal(complete, n);
        else
                /* This process did not keep up, or the daemon lost events to other storms on the
                 * machine: every event it did not get was counted, as missed by it or lost by the
                 * daemon, none silently gone. The daemon's own record is checked above. */
                assert_true(n_storm_events + missed + (uint64_t) daemon_lost >= 2ULL * (n + 1));

        /* And the daemon kept its subscriber (what it lost from the kernel is checked above). */
        c = (CtlClient){ .conn.fd = -EBADF };
        assert_int_equal(ctl_connect(&c, d.socket_path), 0);
        c.deadline = now_usec(CLOCK_MONOTONIC) + 30 * USEC_PER_SEC;
        assert_int_equal(ctl_call(&c, "io.procwatch.Stats", NULL, &reply), 0);
        lost = json_object_get(reply.parameters, "lost");
        subs = json_object_get(reply.parameters, "subscribers");
        print_message("lost %lld, subscribers %lld\n", json_integer_value(lost), json_integer_value(subs));
        assert_int_equal(json_integer_value(subs), 1);
        ctl_reply_done(&reply);
        ctl_disconnect(&c);
        ctl_disconnect(&sub);

        (void) waitpid(storm_pid, NULL, 0);
        close(go[1]);
        close(pids_pipe[0]);
        harness_cleanup(&d, false);
        free(seen);
        free(pids);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_bad_file_at_start),
                cmocka_unit_test(test_cat_config),
                cmocka_unit_test(test_reload),
                cmocka_unit_test(test_argv_privacy_follows_reload),
                cmocka_unit_test(test_sighup_rereads_proc_mount),
                cmocka_unit_test(test_reloads_during_fork_storm),
        };

        tc_init("config-daemon");
        if (argc < 4) {
                fprintf(stderr, "usage: %s PROCWATCHD PROCWATCHCTL PW-SLEEPER\n", argv[0]);
                return 2;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "needs root: the proc connector and another user for the refused reload\n");
                return 77;
        }
        daemon_path = argv[1];
        ctl_path = argv[2];
        sleeper_path = argv[3];
        /* A /proc of this test's own, that it may remount with hidepid=; the namespace and the mount go
         * with the test, whatever way it ends. */
        if (unshare(CLONE_NEWNS) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
            mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0) {
                fprintf(stderr, "needs a private mount namespace and a /proc of its own: %m\n");
                return 77;
        }
        return cmocka_run_group_tests_name("procwatchd configuration", tests, NULL, NULL);
}
