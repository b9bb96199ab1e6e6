/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Integration: the attacks of issue 10 that a local user without privileges makes on the control
 * socket, against the real procwatchd and procwatchctl, the hostile user being uid 65534 through
 * setpriv:
 *
 * - lockout: 1,000 idle connections of one user; root's `procwatchctl stats` and another user's are
 *   still answered;
 * - memory: 255 connections that ask for List and never read; the daemon's RSS stays bounded;
 * - cost amplification: Events subscribers with a pid filter while processes deep in a chain fork;
 *   the daemon's CPU time per event does not grow with the number of subscribers;
 * - fd headroom: with few descriptors (prlimit), clients fill what they may and a new exec's /proc
 *   reads still succeed;
 * - lax ids: "4294967297:START", "+1:START", " 1:START", "1:-18446744073409551656" name no process.
 *
 * Each prints its figures on stderr. Needs root; exits 77 without it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "test-cleanup.h"
#include "macro.h"
#include "server.h"
#include "varlink.h"

#define WAIT_MS 30000 /* a deadline against hangs, not a speed target */
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)
#define OUT_MAX (1U << 20)
#define HOSTILE_UID "65534"
#define OTHER_UID "65533"

static const char *daemon_path, *ctl_path, *self_path;
static Daemon d;
static char sock_opt[160];
static char *out;

/* --- a direct Varlink client ------------------------------------------------------------------------- */

static int connect_to(const char *path, bool nonblock) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | (nonblock ? SOCK_NONBLOCK : 0), 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        return fd;
}

/* One call on a fresh connection; the reply, or NULL when the daemon closed or said nothing. */
static json_t *call_once(const char *path, const char *request, int timeout_ms) {
        uint64_t deadline = harness_now_ms() + (uint64_t) timeout_ms;
        VarlinkConn c;
        json_t *j = NULL;
        int fd = connect_to(path, false);

        if (fd < 0)
                return NULL;
        (void) fcntl(fd, F_SETFL, O_NONBLOCK);
        varlink_conn_init(&c, fd, 64U << 20, 1U << 20);
        if (varlink_conn_queue(&c, request, strlen(request) + 1) < 0)
                goto done;
        while (varlink_conn_pending_out(&c) > 0 && harness_now_ms() < deadline)
                if (varlink_conn_write(&c) < 0)
                        goto done;
        for (;;) {
                struct pollfd p = { .fd = fd, .events = POLLIN };
                char *m;
                size_t len;
                ssize_t n;
                uint64_t now;

                if (varlink_conn_next(&c, &m, &len) > 0) {
                        if (varlink_message_parse(m, len, 4096, &j) < 0)
                                j = NULL;
                        break;
                }
                n = varlink_conn_read(&c, 64 * 1024);
                if (n == 0 || (n < 0 && n != -EAGAIN))
                        break;
                now = harness_now_ms();
                if (now >= deadline)
                        break;
                if (n == -EAGAIN)
                        (void) poll(&p, 1, (int) MIN(deadline - now, (uint64_t) 100));
        }
done:
        varlink_conn_done(&c);
        return j;
}

/* A figure from Stats, -1 when the daemon did not answer. */
static json_int_t stats_field(const char *key) {
        json_t *j = call_once(d.socket_path, "{\"method\":\"io.procwatch.Stats\"}", WAIT_MS);
        json_int_t v;

        if (!j)
                return -1;
        v = json_integer_value(json_object_get(json_object_get(j, "parameters"), key));
        json_decref(j);
        return v;
}

/* Until the daemon has noticed that every connection but the one asking is gone. */
static void wait_clients_at_most(json_int_t n) {
        uint64_t deadline = harness_now_ms() + 3 * WAIT_MS;

        for (;;) {
                json_int_t now = stats_field("clients");

                if (now >= 0 && now <= n + 1)
                        break;
                assert_true(harness_now_ms() < deadline);
                usleep(20000);
        }
}

/* utime + stime of pid, in clock ticks. */
static uint64_t cpu_ticks(pid_t pid) {
        char path[64], buf[4096];
        unsigned long long ut = 0, st = 0;
        const char *p;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        assert_true(n > 0);
        buf[n] = '\0';
        p = strrchr(buf, ')');
        assert_non_null(p);
        /* After ") ": state is field 3; utime and stime are fields 14 and 15. */
        assert_int_equal(sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st), 2);
        return ut + st;
}

/* --- the hostile helper: this program again, under setpriv ------------------------------------------ */

/* A helper running "self MODE ARGS..." as uid, with its stdout on a pipe we read and its stdin on a
 * pipe whose closing ends it. */
typedef struct Helper {
        pid_t pid;
        int in, out;
        char line[256];
} Helper;

/* Helpers still running, killed after each test whatever its outcome. */
static pid_t running_helpers[8];

static void helpers_kill(void) {
        for (size_t i = 0; i < ELEMENTSOF(running_helpers); i++)
                if (running_helpers[i] > 0) {
                        kill(running_helpers[i], SIGKILL);
                        (void) waitpid(running_helpers[i], NULL, 0);
                        running_helpers[i] = 0;
                }
}

static int teardown_test(void **state) {
        helpers_kill();
        return 0;
}

static void helper_start(Helper *h, const char *uid, char *const args[]) {
        int pin[2], pout[2];
        char ruid[32], rgid[32];
        char *argv[16];
        size_t n = 0;

        snprintf(ruid, sizeof(ruid), "--reuid=%s", uid);
        snprintf(rgid, sizeof(rgid), "--regid=%s", uid);
        argv[n++] = (char *) "setpriv";
        argv[n++] = ruid;
        argv[n++] = rgid;
        argv[n++] = (char *) "--clear-groups";
        argv[n++] = (char *) self_path;
        for (size_t i = 0; args[i] && n < ELEMENTSOF(argv) - 1; i++)
                argv[n++] = args[i];
        argv[n] = NULL;

        assert_int_equal(pipe2(pin, O_CLOEXEC), 0);
        assert_int_equal(pipe2(pout, O_CLOEXEC), 0);
        h->pid = fork();
        assert_true(h->pid >= 0);
        if (h->pid == 0) {
                struct rlimit rl = { 4096, 4096 };

                /* Room for 1,000 connections, set while still root. */
                (void) setrlimit(RLIMIT_NOFILE, &rl);
                dup2(pin[0], STDIN_FILENO);
                dup2(pout[1], STDOUT_FILENO);
                execvp(argv[0], argv);
                _exit(127);
        }
        for (size_t i = 0; i < ELEMENTSOF(running_helpers); i++)
                if (running_helpers[i] == 0) {
                        running_helpers[i] = h->pid;
                        break;
                }
        close(pin[0]);
        close(pout[1]);
        h->in = pin[1];
        h->out = pout[0];
}

/* The helper's next line (without its newline), within a deadline. */
static const char *helper_line(Helper *h) {
        uint64_t deadline = harness_now_ms() + 6 * WAIT_MS;
        size_t len = 0;

        while (len + 1 < sizeof(h->line)) {
                struct pollfd p = { .fd = h->out, .events = POLLIN };
                ssize_t n;

                assert_true(harness_now_ms() < deadline);
                if (poll(&p, 1, 100) <= 0)
                        continue;
                n = read(h->out, h->line + len, 1);
                assert_int_equal(n, 1);
                if (h->line[len] == '\n')
                        break;
                len++;
        }
        h->line[len] = '\0';
        return h->line;
}

static void helper_stop(Helper *h) {
        int status;

        close(h->in);
        assert_int_equal(waitpid(h->pid, &status, 0), h->pid);
        for (size_t i = 0; i < ELEMENTSOF(running_helpers); i++)
                if (running_helpers[i] == h->pid)
                        running_helpers[i] = 0;
        close(h->out);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
}

/* "--hog PATH N [REQUEST]": opens N connections (sending REQUEST on each when given), finds out which
 * the daemon kept (it closes one it refuses at once, with nothing said), prints "kept K", holds them
 * until stdin closes. Reads nothing of any reply beyond its first byte. */
static int hog_main(const char *path, unsigned n, const char *request) {
        int *fds = calloc(n, sizeof(int));
        unsigned opened = 0, kept = 0;
        char b;

        if (!fds)
                return 1;
        for (unsigned i = 0; i < n; i++) {
                int fd = connect_to(path, true);

                if (fd < 0)
                        continue; /* a full backlog: this one never reached the daemon */
                if (request && send(fd, request, strlen(request) + 1, MSG_NOSIGNAL) < 0) {
                        close(fd);
                        continue;
                }
                fds[opened++] = fd;
        }
        /* A refused connection is closed: readable at EOF. A kept idle one stays silent; a kept one
         * that asked for a List gets its first bytes. Wait for the daemon to have decided on each:
         * with requests, until every one is readable; idle, for a second. */
        {
                struct pollfd *p = calloc(opened + 1, sizeof(*p));
                uint64_t deadline = harness_now_ms() + (request ? 20000 : 1000);
                unsigned ready = 0;

                if (!p)
                        return 1;
                for (unsigned i = 0; i < opened; i++)
                        p[i] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
                while (ready < opened && harness_now_ms() < deadline) {
                        int k = poll(p, opened, 100);

                        for (unsigned i = 0; k > 0 && i < opened; i++)
                                if (p[i].fd >= 0 && p[i].revents) {
                                        ssize_t r = recv(p[i].fd, &b, 1, 0);

                                        if (r > 0)
                                                kept++;
                                        p[i].fd = -1; /* decided */
                                        ready++;
                                }
                }
                if (!request)
                        kept += opened - ready; /* idle and not closed */
                free(p);
        }
        printf("opened %u kept %u\n", opened, kept);
        fflush(stdout);
        (void) read(STDIN_FILENO, &b, 1);
        for (unsigned i = 0; i < opened; i++)
                close(fds[i]);
        free(fds);
        return 0;
}

/* --- tests ------------------------------------------------------------------------------------------- */

static int ctl_as(const char *uid, const char *verb) {
        char ruid[32], rgid[32];
        char *argv[] = { (char *) "setpriv", ruid, rgid, (char *) "--clear-groups", (char *) ctl_path, sock_opt,
                         (char *) verb, NULL };
        int status;

        if (uid) {
                snprintf(ruid, sizeof(ruid), "--reuid=%s", uid);
                snprintf(rgid, sizeof(rgid), "--regid=%s", uid);
        }
        status = harness_run_capture(uid ? argv : argv + 4, out, OUT_MAX, WAIT_MS);
        return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Attack 1: one user's 1,000 idle connections. */
static void test_lockout(void **state) {
        char *args[] = { (char *) "--hog", d.socket_path, (char *) "1000", NULL };
        unsigned opened, kept;
        json_int_t clients;
        Helper h;
        int root_rc, other_rc;

        wait_clients_at_most(0);
        helper_start(&h, HOSTILE_UID, args);
        assert_int_equal(sscanf(helper_line(&h), "opened %u kept %u", &opened, &kept), 2);
        root_rc = ctl_as(NULL, "stats");
        other_rc = ctl_as(OTHER_UID, "stats");
        clients = stats_field("clients");
        fprintf(stderr, "lockout: uid " HOSTILE_UID " opened %u connections, the daemon kept %u (%lld clients in all); "
                "root's stats exit %d, uid " OTHER_UID "'s stats exit %d\n", opened, kept, (long long) clients,
                root_rc, other_rc);
        helper_stop(&h);
        assert_int_equal(root_rc, 0);
        assert_int_equal(other_rc, 0);
        assert_true(kept <= VARLINK_SERVER_CLIENTS_PER_UID_MAX);
        assert_true(kept > 0);
}

/* Attack 1: 255 connections that ask for a whole List and never read. */
static void test_list_rss(void **state) {
        char *args[] = { (char *) "--hog", d.socket_path, (char *) "255", (char *) "{\"method\":\"io.procwatch.List\"}",
                         NULL };
        unsigned opened, kept;
        long before, after;
        int root_rc;
        Helper h;

        wait_clients_at_most(0);
        before = harness_vm_rss_kb(d.pid);
        assert_true(before > 0);
        helper_start(&h, HOSTILE_UID, args);
        assert_int_equal(sscanf(helper_line(&h), "opened %u kept %u", &opened, &kept), 2);
        after = harness_vm_rss_kb(d.pid);
        assert_true(after > 0);
        fprintf(stderr, "list hog: %u List requests not read, %u being answered, %ld processes known; daemon VmRSS "
                "%ld kB -> %ld kB (+%ld kB)\n", opened, kept, (long) stats_field("processes_live") +
                (long) stats_field("processes_retained"), before, after, after - before);
        root_rc = ctl_as(NULL, "stats");
        fprintf(stderr, "list hog: root's stats exit %d\n", root_rc);
        helper_stop(&h);
        assert_int_equal(root_rc, 0);
        assert_true(kept <= VARLINK_SERVER_CLIENTS_PER_UID_MAX);
#ifndef __SANITIZE_ADDRESS__
        /* Each kept connection holds a snapshot (16 bytes a process) and one chunk of reply. */
        assert_true(after - before < 48 * 1024);
#endif
}

/* "--chain DEPTH FORKS": a chain of DEPTH processes, each the child of the one before; the deepest
 * forks FORKS children that exit at once, then prints "done PID" (its pid) and the chain unwinds. */
static int chain_main(unsigned depth, unsigned forks) {
        for (unsigned i = 0; i < depth; i++) {
                pid_t pid = fork();
                int status;

                if (pid < 0)
                        return 1;
                if (pid > 0) {
                        if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
                                _exit(1);
                        _exit(WEXITSTATUS(status));
                }
        }
        for (unsigned i = 0; i < forks; i++) {
                pid_t pid = fork();

                if (pid == 0)
                        _exit(0);
                if (pid < 0 || waitpid(pid, NULL, 0) != pid)
                        return 1;
        }
        printf("done %d\n", (int) getpid());
        fflush(stdout);
        return 0;
}

/* Kept small: this kernel forks and reaps slowly deep in a chain (seen: 20 ms a fork at depth
 * 400, a chain of 1,000 took 36 s to make and unwind). */
#define CHAIN_DEPTH 400
#define CHAIN_FORKS 400
#define PID_SUBSCRIBERS 200

/* One chain run (its events: every fork and exit of the chain and of the deepest process's
 * children), measured until the daemon has applied the last exit: the daemon's CPU time per event
 * (printed only: the machine is shared, and speed belongs in bench/) and the ancestors it followed
 * for subtree filters per event (asserted: that count does not depend on the machine). */
static void chain_cost(const char *depth, double *ret_cpu_us, double *ret_steps) {
        char *args[] = { (char *) "--chain", (char *) depth, (char *) STRINGIFY(CHAIN_FORKS), NULL };
        uint64_t t0, t1, deadline;
        int deepest;
        char req[128];
        Helper h;
        json_int_t e0 = stats_field("events_total"), s0 = stats_field("subtree_steps"), e;

        t0 = cpu_ticks(d.pid);
        helper_start(&h, HOSTILE_UID, args);
        assert_int_equal(sscanf(helper_line(&h), "done %d", &deepest), 1);
        helper_stop(&h);
        /* The chain's top exited last; once the daemon shows the deepest as exited and then the
         * helper's own pid as exited, it has applied everything in between. */
        deadline = harness_now_ms() + 6 * WAIT_MS;
        snprintf(req, sizeof(req), "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":%d}}", (int) h.pid);
        for (;;) {
                json_t *j = call_once(d.socket_path, req, WAIT_MS);
                json_t *p = json_object_get(json_object_get(j, "parameters"), "process");
                bool done = json_is_string(json_object_get(p, "state")) &&
                            strcmp(json_string_value(json_object_get(p, "state")), "exited") == 0;

                json_decref(j);
                if (done)
                        break;
                assert_true(harness_now_ms() < deadline);
                usleep(20000);
        }
        t1 = cpu_ticks(d.pid);
        /* Every event the daemon took meanwhile, the machine's others included. */
        e = MAX(stats_field("events_total") - e0, (json_int_t) 1);
        *ret_cpu_us = (double) (t1 - t0) * 1e6 / (double) sysconf(_SC_CLK_TCK) / (double) e;
        *ret_steps = (double) (stats_field("subtree_steps") - s0) / (double) e;
}

/* Attack 5: subscribers with a pid filter while a deep chain forks. Before, every event followed its
 * ancestors once per subscriber (200 x 400 steps deep in the chain); now once per event, so the
 * steps per event stay within the depth of the deepest process, whatever the number of
 * subscribers. */
static void test_cost_amplification(void **state) {
        static int subs[PID_SUBSCRIBERS];
        double alone, shallow, deep, steps_alone, steps_shallow, steps_deep;

        wait_clients_at_most(0);
        chain_cost(STRINGIFY(CHAIN_DEPTH), &alone, &steps_alone);
        /* Root's subscribers (no per-uid cap applies to root): subtrees that hold none of the chain,
         * so each event's ancestors are followed all the way up. */
        for (int i = 0; i < PID_SUBSCRIBERS; i++) {
                char req[256];

                subs[i] = connect_to(d.socket_path, false);
                assert_true(subs[i] >= 0);
                snprintf(req, sizeof(req), "{\"method\":\"io.procwatch.Events\",\"more\":true,\"parameters\":{\"pid\":%d}}",
                         2000000000 + i);
                assert_true(send(subs[i], req, strlen(req) + 1, MSG_NOSIGNAL) > 0);
        }
        for (int i = 0; i < PID_SUBSCRIBERS; i++) {
                char buf[256];

                assert_true(recv(subs[i], buf, sizeof(buf), 0) > 0); /* {"ready": true} */
        }
        chain_cost("1", &shallow, &steps_shallow);
        chain_cost(STRINGIFY(CHAIN_DEPTH), &deep, &steps_deep);
        fprintf(stderr, "cost: daemon CPU per event: %.2f us in a chain of %d alone; with %d pid-filter subscribers "
                "%.2f us at depth 1, %.2f us at depth %d; ancestors followed per event: %.1f alone, %.1f at depth 1, "
                "%.1f at depth %d\n", alone, CHAIN_DEPTH, PID_SUBSCRIBERS, shallow, deep, CHAIN_DEPTH, steps_alone,
                steps_shallow, steps_deep, CHAIN_DEPTH);
        for (int i = 0; i < PID_SUBSCRIBERS; i++)
                close(subs[i]);
        /* Without subscribers nothing is walked; with them, at most one walk per event: the chain's
         * depth plus what the daemon and the machine sit under. */
        assert_true(steps_alone == 0.0);
        assert_true(steps_deep > 0.0);
        assert_true(steps_deep <= CHAIN_DEPTH + 64);
}

/* Attack 5, the per-uid bound: one user gets SUBSCRIPTIONS_PER_UID_MAX streams, not more. */
static void test_subscribers_per_uid(void **state) {
        char *args[] = { (char *) "--hog", d.socket_path, (char *) STRINGIFY(VARLINK_SERVER_CLIENTS_PER_UID_MAX),
                         (char *) "{\"method\":\"io.procwatch.Events\",\"more\":true,\"parameters\":{\"pid\":1}}", NULL };
        unsigned opened, kept;
        Helper h;

        wait_clients_at_most(0);
        helper_start(&h, HOSTILE_UID, args);
        assert_int_equal(sscanf(helper_line(&h), "opened %u kept %u", &opened, &kept), 2);
        fprintf(stderr, "subscribers: uid " HOSTILE_UID " asked for %u, has %lld\n", opened,
                (long long) stats_field("subscribers"));
        assert_int_equal(stats_field("subscribers"), SUBSCRIPTIONS_PER_UID_MAX);
        helper_stop(&h);
}

/* Attack 6: lax ids name no process, through procwatchctl and through the socket. */
static void test_lax_ids(void **state) {
        json_t *j, *p;
        const char *id, *colon;
        char bad[4][96], req[512];
        char ruid[] = "--reuid=" HOSTILE_UID, rgid[] = "--regid=" HOSTILE_UID;

        j = call_once(d.socket_path, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":1}}", WAIT_MS);
        p = json_object_get(json_object_get(j, "parameters"), "process");
        id = json_string_value(json_object_get(p, "id"));
        assert_non_null(id);
        colon = strchr(id, ':');
        assert_non_null(colon);
        snprintf(bad[0], sizeof(bad[0]), "4294967297%s", colon);
        snprintf(bad[1], sizeof(bad[1]), "+1%s", colon);
        snprintf(bad[2], sizeof(bad[2]), " 1%s", colon);
        snprintf(bad[3], sizeof(bad[3]), "1:-18446744073409551656");
        /* The right id is found, as a check that the wrong ones are refused for what they are. */
        snprintf(req, sizeof(req), "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"id\":\"%s\"}}", id);
        json_decref(j);
        j = call_once(d.socket_path, req, WAIT_MS);
        assert_null(json_object_get(j, "error"));
        json_decref(j);
        for (int i = 0; i < 4; i++) {
                char *argv[] = { (char *) "setpriv", ruid, rgid, (char *) "--clear-groups", (char *) ctl_path, sock_opt,
                                 (char *) "show", bad[i], NULL };
                int status;

                snprintf(req, sizeof(req), "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"id\":\"%s\"}}", bad[i]);
                j = call_once(d.socket_path, req, WAIT_MS);
                assert_non_null(j);
                fprintf(stderr, "id \"%s\": %s\n", bad[i],
                        json_string_value(json_object_get(j, "error")) ?: "found a process");
                assert_string_equal(json_string_value(json_object_get(j, "error")), "io.procwatch.NoSuchProcess");
                json_decref(j);
                status = harness_run_capture(argv, out, OUT_MAX, WAIT_MS);
                assert_true(WIFEXITED(status));
                /* A usage error: procwatchctl checks ids with the daemon's parser. */
                assert_int_equal(WEXITSTATUS(status), 2);
        }
}

/* Attack 7: near the fd limit, clients must not take the descriptors the daemon reads /proc with. */
static void test_fd_headroom(void **state) {
        enum { NOFILE = 128, TRIES = 200 };
        Daemon a = {};
        char nofile[32];
        /* The harness adds --socket= and --no-journal after these. */
        char *argv[] = { (char *) "prlimit", nofile, (char *) "--", (char *) daemon_path, NULL };
        int fds[TRIES], held_idx[TRIES], n = 0, held = 0, n_freed = 0, go[2];
        char marker[64];
        pid_t child;
        json_t *j = NULL, *p = NULL;
        uint64_t deadline;
        const char *argv_seen;

        snprintf(nofile, sizeof(nofile), "--nofile=%d:%d", NOFILE, NOFILE);
        assert_int_equal(harness_start(&a, "/usr/bin/prlimit", argv, NULL, 0), 0);
        assert_true(harness_wait_notify(&a, "READY=1", false, WAIT_MS));

        /* Root's connections (no per-uid cap), as many as the daemon takes. */
        for (n = 0; n < TRIES; n++) {
                fds[n] = connect_to(a.socket_path, true);
                if (fds[n] < 0)
                        break;
        }
        for (int i = 0; i < n; i++) {
                struct pollfd pf = { .fd = fds[i], .events = POLLIN };

                if (poll(&pf, 1, 300) == 0)
                        held_idx[held++] = i;
        }
        /* A new exec while the clients hold what they can. */
        snprintf(marker, sizeof(marker), "fd-headroom-%d", (int) getpid());
        assert_int_equal(pipe2(go, O_CLOEXEC), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                char b;

                close(go[1]);
                (void) read(go[0], &b, 1);
                /* A shell that lives on (sleep would refuse the marker and exit at once): its argv
                 * is "sh", "-c", the script, the marker. */
                (void) setpgid(0, 0);
                execl("/bin/sh", "sh", "-c", "sleep 30; :", marker, (char *) NULL);
                _exit(127);
        }
        close(go[0]);
        close(go[1]);
        /* Every place is taken: give one back for the question, then ask until the argv is there. */
        deadline = harness_now_ms() + WAIT_MS;
        for (;;) {
                char req[128];

                snprintf(req, sizeof(req), "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":%d}}", (int) child);
                /* Free a slot for the question. A connection of ours still waiting in the listen
                 * backlog may take it first (the daemon accepts at its own pace), so each refused
                 * question frees one more. */
                if (n_freed < held) {
                        int i = held_idx[n_freed++];

                        close(fds[i]);
                        fds[i] = -1;
                }
                json_decref(j);
                j = call_once(a.socket_path, req, 2000);
                p = json_object_get(json_object_get(j, "parameters"), "process");
                argv_seen = json_string_value(json_array_get(json_object_get(p, "argv"), 3));
                if ((argv_seen && strcmp(argv_seen, marker) == 0) || harness_now_ms() >= deadline)
                        break;
                usleep(50000);
        }
        fprintf(stderr, "fd headroom: RLIMIT_NOFILE %d, %d connections attempted, %d held by the daemon; "
                "new exec's argv %s, exe %s\n", NOFILE, n, held, argv_seen ? "read" : "MISSING",
                json_string_value(json_object_get(p, "exe")) ?: "MISSING");
        kill(-child, SIGKILL); /* the shell and its sleep */
        (void) waitpid(child, NULL, 0);
        for (int i = 0; i < n; i++)
                if (fds[i] >= 0)
                        close(fds[i]);
        assert_non_null(argv_seen);
        assert_string_equal(argv_seen, marker);
        assert_non_null(json_string_value(json_object_get(p, "exe")));
        json_decref(j);
        assert_true(held <= NOFILE - (int) VARLINK_SERVER_FD_RESERVE);
        assert_int_equal(harness_stop(&a, SIGTERM, WAIT_MS, NULL), 0);
        harness_cleanup(&a, false);
}

static int setup(void **state) {
        char *argv[] = { (char *) "procwatchd", NULL };

        out = malloc(OUT_MAX);
        assert_non_null(out);
        if (harness_start_ready(&d, daemon_path, argv, 0, WAIT_MS) < 0)
                return -1;
        /* The scratch folder is 0700; the socket inside is 0666. */
        if (chmod(d.dir, 0755) < 0)
                return -1;
        snprintf(sock_opt, sizeof(sock_opt), "--socket=%s", d.socket_path);
        return 0;
}

static int teardown(void **state) {
        free(out);
        return harness_stop_cleanup(&d, WAIT_MS);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_teardown(test_lockout, teardown_test),
                cmocka_unit_test_teardown(test_list_rss, teardown_test),
                cmocka_unit_test_teardown(test_subscribers_per_uid, teardown_test),
                cmocka_unit_test_teardown(test_cost_amplification, teardown_test),
                cmocka_unit_test_teardown(test_lax_ids, teardown_test),
                cmocka_unit_test_teardown(test_fd_headroom, teardown_test),
        };

        if (argc >= 4 && strcmp(argv[1], "--hog") == 0)
                return hog_main(argv[2], (unsigned) atoi(argv[3]), argc >= 5 ? argv[4] : NULL);
        if (argc == 4 && strcmp(argv[1], "--chain") == 0)
                return chain_main((unsigned) atoi(argv[2]), (unsigned) atoi(argv[3]));
        if (argc != 3) {
                fprintf(stderr, "usage: %s PROCWATCHD PROCWATCHCTL\n", argv[0]);
                return 1;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "SKIP: needs root (the proc connector, setpriv, prlimit).\n");
                return 77;
        }
        tc_init("fairshare-daemon");
        daemon_path = argv[1];
        ctl_path = argv[2];
        self_path = realpath("/proc/self/exe", NULL);
        if (!self_path)
                return 1;
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, setup, teardown);
}
