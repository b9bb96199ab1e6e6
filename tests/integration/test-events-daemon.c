/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Integration: live event streams and the control socket's robustness, against the real procwatchd on
 * a socket in a scratch folder and the real kernel. Events of workloads this test makes are read in
 * order through `procwatchctl events --json` and through direct Varlink clients with filters; 256
 * clients connect at once; a subscriber that never reads sits through a fork storm (the daemon's
 * memory stays bounded, others are answered, the slow one is told what it missed); every kind of
 * malformed input; callers without privileges (setpriv); and the daemon started by socket activation
 * (systemd-socket-activate), and refusing a passed socket of the wrong kind. Needs root; exits 77
 * without it. */
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "daemon-harness.h"
#include "macro.h"
#include "varlink.h"
#include "test-cleanup.h"

#define WAIT_MS 30000 /* a deadline against hangs, not a speed target */
/* How long a subscriber may stay stuck with a full buffer before the daemon drops it (server.h:
 * SERVER_STALL_USEC). */
#define DAEMON_STALL_MS 30000
#define OUT_MAX (64U * 1024U * 1024U)
/* Processes forked and reaped by the storm. */
/* The storm runs until the daemon has refused the stuck subscriber this many events (so its buffer
 * stayed full for a while), or at most STORM_PROCESSES_MAX processes: a fixed size would take longer
 * than the stall limit (30 s, counted from when the buffer filled) on a slow or loaded machine, and
 * the subscriber would be dropped instead (seen with 5000). */
#define STORM_MISSED_WANTED 1000
#define STORM_PROCESSES_MAX 200000
/* What one subscriber that never reads may cost the daemon: its 256 KiB buffer and the tree's own
 * growth from the storm's retained records are far below this. */
#define STORM_RSS_GROWTH_MAX_KB (64 * 1024)
/* The daemon's RSS after 256 clients came and went, above what it was before: their read buffers
 * alone were 32 MB. */
#define CLIENTS_RSS_KEPT_MAX_KB (8 * 1024)

static const char *daemon_path, *ctl_path;
static Daemon d;
static char sock_opt[160];
static char *out;

/* --- a direct Varlink client ------------------------------------------------------------------------- */

typedef struct Client {
        VarlinkConn conn;
} Client;

/* Sockets of the clients not yet closed (see close_clients()). */
static int open_fds[1024];
static size_t n_open_fds;

static int client_connect(Client *c, const char *path) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        if (strlen(path) >= sizeof(sa.sun_path))
                return -ENAMETOOLONG;
        memcpy(sa.sun_path, path, strlen(path) + 1);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0 || fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
                int r = -errno;

                close(fd);
                return r;
        }
        varlink_conn_init(&c->conn, fd, 64U << 20, 64U << 20);
        if (n_open_fds < ELEMENTSOF(open_fds))
                open_fds[n_open_fds++] = fd;
        return 0;
}

static void client_close(Client *c) {
        for (size_t i = 0; i < n_open_fds; i++)
                if (open_fds[i] == c->conn.fd) {
                        open_fds[i] = open_fds[--n_open_fds];
                        break;
                }
        varlink_conn_done(&c->conn);
}

/* After each test, also a failed one whose assertion jumped past its own client_close(): the daemon
 * must not carry that test's connections into the next test. The clients lived in the test's stack
 * frame, which is gone by now, so only their sockets are closed, from the numbers kept here. */
static int close_clients(void **state) {
        for (size_t i = 0; i < n_open_fds; i++)
                (void) close(open_fds[i]);
        n_open_fds = 0;
        return 0;
}

/* The daemon's notify socket must be read, as a service manager would: its queue holds only
 * net.unix.max_dgram_qlen messages, and a STATUS= goes out every second. */
static void keep_daemon_going(void) {
        if (d.pid > 0)
                harness_pump(&d, 0);
}

/* Sends n bytes; returns 0 or the error (-EPIPE, -ECONNRESET when the daemon hung up). */
static int client_send(Client *c, const void *data, size_t n) {
        uint64_t deadline = harness_now_ms() + WAIT_MS;

        assert_int_equal(varlink_conn_queue(&c->conn, data, n), 0);
        while (varlink_conn_pending_out(&c->conn) > 0) {
                struct pollfd p = { .fd = c->conn.fd, .events = POLLOUT };
                ssize_t k = varlink_conn_write(&c->conn);

                if (k < 0)
                        return (int) k;
                if (k == 0) {
                        keep_daemon_going();
                        (void) poll(&p, 1, 100);
                }
                assert_true(harness_now_ms() < deadline);
        }
        return 0;
}

static int client_send_str(Client *c, const char *s) {
        return client_send(c, s, strlen(s) + 1);
}

/* The next message, or NULL at end of file or after timeout_ms. */
static json_t *client_read(Client *c, int timeout_ms) {
        uint64_t deadline = harness_now_ms() + (uint64_t) timeout_ms;

        for (;;) {
                struct pollfd p = { .fd = c->conn.fd, .events = POLLIN };
                json_t *j;
                char *m;
                size_t len;
                ssize_t n;
                int r;

                r = varlink_conn_next(&c->conn, &m, &len);
                assert_true(r >= 0);
                if (r > 0) {
                        assert_int_equal(varlink_message_parse(m, len, 4096, &j), 0);
                        return j;
                }
                /* 64 KiB at a time: 256 clients must not make this process fat (the storm forks). */
                n = varlink_conn_read(&c->conn, 64 * 1024);
                if (n == 0 || n == -ECONNRESET)
                        return NULL;
                if (n == -EAGAIN) {
                        uint64_t now = harness_now_ms();

                        if (now >= deadline)
                                return NULL;
                        keep_daemon_going();
                        (void) poll(&p, 1, (int) MIN(deadline - now, (uint64_t) 100));
                } else
                        assert_true(n > 0);
        }
}

static json_t *client_call(Client *c, const char *request) {
        assert_int_equal(client_send_str(c, request), 0);
        return client_read(c, WAIT_MS);
}

static bool is_error(const json_t *msg, const char *name) {
        const json_t *e = json_object_get(msg, "error");
        return json_is_string(e) && strcmp(json_string_value(e), name) == 0;
}

/* A fresh connection gets an answer: the daemon carries on. */
static void expect_daemon_answers(void) {
        Client c;
        json_t *msg;

        assert_int_equal(client_connect(&c, d.socket_path), 0);
        msg = client_call(&c, "{\"method\":\"org.varlink.service.GetInfo\"}");
        assert_non_null(msg);
        assert_null(json_object_get(msg, "error"));
        assert_true(json_is_string(json_object_get(json_object_get(msg, "parameters"), "version")));
        json_decref(msg);
        client_close(&c);
}

/* Waits until the daemon has noticed that the connections of earlier tests are gone (it learns of
 * a close asynchronously), so that a test starts with every place free. */
static void wait_no_clients(void) {
        uint64_t deadline = harness_now_ms() + WAIT_MS;
        Client c;

        for (;;) {
                json_int_t n;
                json_t *msg;

                assert_int_equal(client_connect(&c, d.socket_path), 0);
                msg = client_call(&c, "{\"method\":\"io.procwatch.Stats\"}");
                client_close(&c);
                n = msg ? json_integer_value(json_object_get(json_object_get(msg, "parameters"), "clients")) : -1;
                json_decref(msg);
                if (n == 1)
                        return;
                assert_true(harness_now_ms() < deadline);
                keep_daemon_going();
                usleep(10000);
        }
}

static void subscribe(Client *c, const char *params) {
        char req[512];
        json_t *msg, *ready;

        assert_int_equal(client_connect(c, d.socket_path), 0);
        snprintf(req, sizeof(req), "{\"method\":\"io.procwatch.Events\",\"more\":true,\"parameters\":%s}", params);
        msg = client_call(c, req);
        assert_non_null(msg);
        ready = json_object_get(json_object_get(msg, "parameters"), "ready");
        assert_true(json_is_true(ready));
        json_decref(msg);
}

/* The next event of a stream (NULL on timeout); "missed" records are skipped and counted. */
static json_t *next_event(Client *c, int timeout_ms, uint64_t *missed) {
        for (;;) {
                json_t *msg = client_read(c, timeout_ms), *p, *e;

                if (!msg)
                        return NULL;
                p = json_object_get(msg, "parameters");
                e = json_object_get(p, "event");
                if (json_is_object(e)) {
                        json_incref(e);
                        json_decref(msg);
                        return e;
                }
                if (missed && json_is_integer(json_object_get(p, "missed")))
                        *missed += (uint64_t) json_integer_value(json_object_get(p, "missed"));
                json_decref(msg);
        }
}

static const char *ev_kind(const json_t *e) {
        return json_string_value(json_object_get(e, "kind"));
}

static pid_t ev_pid(const json_t *e) {
        return (pid_t) json_integer_value(json_object_get(e, "pid"));
}

/* --- workloads --------------------------------------------------------------------------------------- */

/* A child that waits for a byte on a pipe, then runs fn and exits. Returns its pid; *go is the
 * pipe's write end. */
static pid_t held_child(void (*fn)(void), int *go) {
        int p[2];
        pid_t pid;

        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char b;

                close(p[1]);
                if (read(p[0], &b, 1) != 1)
                        _exit(1);
                fn();
                _exit(0);
        }
        close(p[0]);
        *go = p[1];
        return pid;
}

static void release(int go) {
        assert_int_equal(write(go, "x", 1), 1);
        close(go);
}

/* Three children that exec /bin/true, reaped. */
static void three_trues(void) {
        for (int i = 0; i < 3; i++) {
                pid_t pid = fork();

                if (pid == 0) {
                        execl("/bin/true", "true", (char *) NULL);
                        _exit(127);
                }
                if (pid > 0)
                        (void) waitpid(pid, NULL, 0);
        }
}

static int wait_exit(pid_t pid) {
        int status;

        assert_int_equal(waitpid(pid, &status, 0), pid);
        return status;
}

/* --- tests ------------------------------------------------------------------------------------------- */

/* `procwatchctl events --json` sees a known workload's fork, exec and exit in order per process. */
static void test_ctl_events_order(void **state) {
        char pidarg[32];
        int p[2], gp[2];
        pid_t ctl, child, grandchild = 0;
        size_t len = 0;
        uint64_t deadline;
        bool synced = false, child_done = false;
        int seen_child = 0, seen_grand = 0; /* bits: 1 fork, 2 exec, 4 exit, in that order */

        snprintf(pidarg, sizeof(pidarg), "--pid=%d", (int) getpid());
        assert_int_equal(pipe2(p, O_CLOEXEC), 0);
        ctl = fork();
        assert_true(ctl >= 0);
        if (ctl == 0) {
                dup2(p[1], STDOUT_FILENO);
                execl(ctl_path, ctl_path, sock_opt, "events", "--json", pidarg, (char *) NULL);
                _exit(127);
        }
        close(p[1]);
        assert_int_equal(fcntl(p[0], F_SETFL, O_NONBLOCK), 0);

        /* Synchronise: children that exit at once, until one shows up in the stream. */
        deadline = harness_now_ms() + WAIT_MS;
        while (!synced) {
                pid_t probe = fork();
                const char *want = "{\"kind\":\"exit\",";

                if (probe == 0)
                        _exit(0);
                wait_exit(probe);
                for (int i = 0; i < 20 && !synced; i++) {
                        ssize_t n = read(p[0], out + len, OUT_MAX - 1 - len);

                        if (n > 0)
                                len += (size_t) n;
                        out[len] = '\0';
                        synced = strstr(out, want) != NULL;
                        keep_daemon_going();
                        usleep(10000);
                }
                assert_true(harness_now_ms() < deadline);
        }

        /* The workload: child C forks grandchild G, which runs sh -c 'sleep 0.3; exit 7'; then C runs
         * sh -c 'sleep 0.3; exit 0'. The sleeps give the daemon time to read their command lines, also
         * on a machine whose CPUs are busy. */
        assert_int_equal(pipe2(gp, O_CLOEXEC), 0);
        child = fork();
        assert_true(child >= 0);
        if (child == 0) {
                pid_t g = fork();

                if (g == 0) {
                        execl("/bin/sh", "sh", "-c", "sleep 0.3; exit 7", (char *) NULL);
                        _exit(127);
                }
                if (write(gp[1], &g, sizeof(g)) != sizeof(g))
                        _exit(1);
                (void) waitpid(g, NULL, 0);
                execl("/bin/sh", "sh", "-c", "sleep 0.3; exit 0", (char *) NULL);
                _exit(127);
        }
        close(gp[1]);
        assert_true(WIFEXITED(wait_exit(child)));
        assert_int_equal(read(gp[0], &grandchild, sizeof(grandchild)), sizeof(grandchild));
        close(gp[0]);

        /* Read the stream until the child's exit, checking every line as JSON and the order; from the
         * first whole line after the probes. */
        deadline = harness_now_ms() + WAIT_MS;
        char *last = strrchr(out, '\n');
        size_t pos = last ? (size_t) (last - out) + 1 : 0;

        while (!child_done) {
                ssize_t n = read(p[0], out + len, OUT_MAX - 1 - len);
                char *nl;

                if (n > 0) {
                        len += (size_t) n;
                        out[len] = '\0';
                }
                while ((nl = strchr(out + pos, '\n'))) {
                        json_error_t err;
                        json_t *e;
                        const char *kind;
                        pid_t pid;
                        int bit;

                        *nl = '\0';
                        e = json_loads(out + pos, 0, &err);
                        if (!e)
                                fail_msg("procwatchctl events --json printed invalid JSON (%s): %.200s", err.text, out + pos);
                        pos = (size_t) (nl - out) + 1;
                        if (!json_is_object(json_object_get(e, "process"))) {
                                json_decref(e);
                                continue;
                        }
                        kind = ev_kind(e);
                        pid = ev_pid(e);
                        if (!kind)
                                fail_msg("an event without a kind: %.200s", out + pos);
                        bit = strcmp(kind, "fork") == 0 ? 1 : strcmp(kind, "exec") == 0 ? 2 : strcmp(kind, "exit") == 0 ? 4 : 0;
                        if ((pid == child || pid == grandchild) && bit) {
                                int *seen = pid == child ? &seen_child : &seen_grand;
                                json_t *proc = json_object_get(e, "process");

                                /* Each kind once, after those before it. */
                                assert_int_equal(*seen & ~(bit - 1), 0);
                                *seen |= bit;
                                if (bit == 2) {
                                        const char *script = json_string_value(json_array_get(json_object_get(proc, "argv"), 2));

                                        /* Not a crash when the image was lost (a daemon stopped for longer
                                         * than the script lives): a failure that says so. */
                                        if (!script) {
                                                char *why = json_dumps(json_object_get(proc, "uncertain"), JSON_COMPACT);

                                                fail_msg("exec of %d without its argv (uncertain: %s)", (int) pid, why ?: "?");
                                        }
                                        assert_string_equal(script, pid == child ? "sleep 0.3; exit 0" : "sleep 0.3; exit 7");
                                }
                                if (bit == 4) {
                                        json_t *ex = json_object_get(proc, "exit");

                                        assert_int_equal(json_integer_value(json_object_get(ex, "code")),
                                                         pid == child ? 0 : 7);
                                        assert_true(json_integer_value(json_object_get(e, "lifetime_usec")) >= 300000);
                                        if (pid == child)
                                                child_done = true;
                                }
                        }
                        json_decref(e);
                }
                if (!child_done) {
                        assert_true(harness_now_ms() < deadline);
                        keep_daemon_going();
                        usleep(5000);
                }
        }
        assert_int_equal(seen_child, 7);
        assert_int_equal(seen_grand, 7);
        assert_true(grandchild > 0);
        kill(ctl, SIGTERM);
        wait_exit(ctl);
        close(p[0]);
}

static void run_three_trues(void) {
        three_trues();
}

/* Two subscribers with different filters each get exactly their events. */
static void test_two_subscribers(void **state) {
        Client a, b;
        char params[128];
        int go1, go2;
        pid_t p1 = held_child(run_three_trues, &go1), p2 = held_child(run_three_trues, &go2);
        json_t *e;
        int execs = 0, forks = 0, exits = 0;
        bool p2_exit = false;

        snprintf(params, sizeof(params), "{\"pid\":%d,\"kinds\":[\"exec\"]}", (int) p1);
        subscribe(&a, params);
        snprintf(params, sizeof(params), "{\"pid\":%d,\"kinds\":[\"fork\",\"exit\"]}", (int) p2);
        subscribe(&b, params);
        release(go1);
        release(go2);
        wait_exit(p1);
        wait_exit(p2);

        /* a: the three execs of p1's children, nothing of p2's, no other kind. */
        while (execs < 3) {
                e = next_event(&a, WAIT_MS, NULL);
                assert_non_null(e);
                assert_string_equal(ev_kind(e), "exec");
                assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "process"), "ppid")), p1);
                execs++;
                json_decref(e);
        }
        /* b: three forks, three exits of p2's children, then p2's own exit. */
        while (!p2_exit) {
                e = next_event(&b, WAIT_MS, NULL);
                assert_non_null(e);
                if (strcmp(ev_kind(e), "fork") == 0 && ev_pid(e) == p2 &&
                    json_integer_value(json_object_get(e, "parent_pid")) == getpid()) {
                        /* p2's own fork, in its subtree too: it came before the subscription, and
                         * whether it is applied before or after it is a race (the receive thread
                         * hands events to the loop a moment later than the socket was readable). */
                } else if (strcmp(ev_kind(e), "fork") == 0) {
                        assert_int_equal(json_integer_value(json_object_get(e, "parent_pid")), p2);
                        forks++;
                } else {
                        assert_string_equal(ev_kind(e), "exit");
                        if (ev_pid(e) == p2)
                                p2_exit = true;
                        else
                                assert_int_equal(json_integer_value(json_object_get(json_object_get(e, "process"), "ppid")), p2);
                        exits++;
                }
                json_decref(e);
        }
        assert_int_equal(forks, 3);
        assert_int_equal(exits, 4);
        /* Nothing more: both subtrees are gone. */
        assert_null(next_event(&a, 300, NULL));
        assert_null(next_event(&b, 300, NULL));
        client_close(&a);
        client_close(&b);
}

/* 256 clients at once are all answered; one more is turned away; then all is as before. */
#define N_CLIENTS 256

static void test_256_clients(void **state) {
        static Client c[N_CLIENTS + 1];
        char buf[16];
        json_t *msg;
        int answered = 0;
        long rss_before, rss_after;

        wait_no_clients();
        rss_before = harness_vm_rss_kb(d.pid);
        assert_true(rss_before > 0);

        for (int i = 0; i < N_CLIENTS; i++)
                assert_int_equal(client_connect(&c[i], d.socket_path), 0);
        for (int i = 0; i < N_CLIENTS; i++)
                assert_int_equal(client_send_str(&c[i], "{\"method\":\"io.procwatch.Stats\"}"), 0);
        for (int i = 0; i < N_CLIENTS; i++) {
                msg = client_read(&c[i], WAIT_MS);
                assert_non_null(msg);
                assert_null(json_object_get(msg, "error"));
                answered++;
                json_decref(msg);
        }
        assert_int_equal(answered, N_CLIENTS);

        /* The 257th: accepted and closed without a word. */
        assert_int_equal(client_connect(&c[N_CLIENTS], d.socket_path), 0);
        {
                struct pollfd p = { .fd = c[N_CLIENTS].conn.fd, .events = POLLIN };

                assert_int_equal(poll(&p, 1, WAIT_MS), 1);
                assert_int_equal(read(c[N_CLIENTS].conn.fd, buf, sizeof(buf)), 0);
        }
        client_close(&c[N_CLIENTS]);
        msg = client_call(&c[0], "{\"method\":\"io.procwatch.Stats\"}");
        assert_int_equal(json_integer_value(json_object_get(json_object_get(msg, "parameters"), "clients")), N_CLIENTS);
        assert_true(json_integer_value(json_object_get(json_object_get(msg, "parameters"), "clients_refused")) >= 1);
        json_decref(msg);
        for (int i = 0; i < N_CLIENTS; i++)
                client_close(&c[i]);
        /* The daemon sees the 256 hang-ups at its own pace; until then a new connection may still
         * find every place taken. */
        wait_no_clients();
        expect_daemon_answers();
        /* What the clients held (a 128 KiB read buffer each, 32 MB in all) is given back once they
         * are gone, not left as holes in the heap: the loop's small buffers carved from such holes
         * made it crawl under MALLOC_PERTURB_, and a storm then overflowed the socket. */
        rss_after = harness_vm_rss_kb(d.pid);
        assert_true(rss_after > 0);
        fprintf(stderr, "256 clients came and went: daemon VmRSS %ld kB -> %ld kB\n", rss_before, rss_after);
#ifndef __SANITIZE_ADDRESS__
        assert_true(rss_after - rss_before < CLIENTS_RSS_KEPT_MAX_KB);
#endif
}

static void storm(void) {
        for (int i = 0; i < STORM_PROCESSES_MAX; i++) {
                pid_t pid = fork();

                if (pid == 0)
                        _exit(0);
                if (pid > 0)
                        (void) waitpid(pid, NULL, 0);
        }
}

/* A subscriber that never reads while a storm runs: bounded memory, others answered, told what it missed. */
static void test_slow_subscriber_storm(void **state) {
        Client slow, other;
        long rss_before, rss_after;
        uint64_t missed = 0, received = 0, worst_ms = 0, lost, refused = 0, subscribed_ms, stuck_ms, dropped;
        pid_t st;
        json_t *msg, *e;

        wait_no_clients();
        subscribe(&slow, "{}");
        subscribed_ms = harness_now_ms();
        assert_int_equal(client_connect(&other, d.socket_path), 0);
        rss_before = harness_vm_rss_kb(d.pid);
        assert_true(rss_before > 0);
        /* The storm runs in a fresh image of this program: forking from this process, with what
         * earlier tests allocated, would make every fork of the storm slow. */
        st = fork();
        assert_true(st >= 0);
        if (st == 0) {
                execl("/proc/self/exe", "test-events-daemon", "--storm", (char *) NULL);
                _exit(127);
        }
        /* While it runs, another client is answered; once the daemon has refused the stuck one
         * enough events, the storm is stopped. */
        for (bool stopping = false;;) {
                uint64_t t0 = harness_now_ms();
                int status;

                msg = client_call(&other, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":1}}");
                assert_non_null(msg);
                assert_null(json_object_get(msg, "error"));
                json_decref(msg);
                worst_ms = MAX(worst_ms, harness_now_ms() - t0);
                msg = client_call(&other, "{\"method\":\"io.procwatch.Stats\"}");
                assert_non_null(msg);
                refused = (uint64_t) json_integer_value(
                        json_object_get(json_object_get(msg, "parameters"), "events_missed"));
                json_decref(msg);
                if (!stopping && refused >= STORM_MISSED_WANTED) {
                        assert_int_equal(kill(st, SIGTERM), 0);
                        stopping = true;
                }
                keep_daemon_going();
                if (waitpid(st, &status, WNOHANG) == st) {
                        assert_true((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                                    (WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM));
                        break;
                }
                usleep(50000);
        }
        rss_after = harness_vm_rss_kb(d.pid);
        assert_true(rss_after > 0);
        fprintf(stderr, "storm until %" PRIu64 " events were refused: daemon VmRSS %ld kB -> %ld kB, worst Show reply %" PRIu64 " ms\n",
                refused, rss_before, rss_after, worst_ms);
        assert_true(refused >= STORM_MISSED_WANTED);
#ifndef __SANITIZE_ADDRESS__
        /* Under AddressSanitizer (the daemon is built alike) freed memory is held in quarantine. */
        assert_true(rss_after - rss_before < STORM_RSS_GROWTH_MAX_KB);
#endif
        /* Every Show was answered while the subscriber sat stuck; how fast is bench/events-run's
         * business (the figure is printed above). */

        /* The slow one reads at last: what was buffered, then how much it missed. */
        while ((e = next_event(&slow, WAIT_MS, &missed))) {
                received++;
                json_decref(e);
                if (missed > 0)
                        break;
        }
        stuck_ms = harness_now_ms() - subscribed_ms;
        fprintf(stderr, "slow subscriber: after %" PRIu64 " ms, %" PRIu64 " events received, then told it missed %" PRIu64 "\n",
                stuck_ms, received, missed);
        assert_true(received > 0);

        msg = client_call(&other, "{\"method\":\"io.procwatch.Stats\"}");
        assert_non_null(msg);
        lost = (uint64_t) json_integer_value(json_object_get(json_object_get(msg, "parameters"), "lost"));
        dropped = (uint64_t) json_integer_value(json_object_get(json_object_get(msg, "parameters"), "clients_dropped"));
        json_decref(msg);
        if (missed == 0) {
                /* No missed record, so the stream ended: the daemon drops a subscriber whose buffer stayed
                 * full for DAEMON_STALL_MS, and only then. A machine slow enough makes the storm outlast
                 * that; then the drop is the right outcome, and it must be counted. */
                fprintf(stderr, "slow subscriber: dropped as stalled (clients_dropped %" PRIu64 ")\n", dropped);
                assert_true(stuck_ms >= DAEMON_STALL_MS);
                assert_true(dropped >= 1);
        }
        /* The daemon itself lost nothing to the slow reader. */
        assert_int_equal(lost, 0);
        client_close(&slow);
        client_close(&other);
        expect_daemon_answers();
}

/* Every kind of bad input gets its error or is dropped; the daemon answers afterwards. */
static void test_malformed(void **state) {
        static const char getinfo[] = "{\"method\":\"org.varlink.service.GetInfo\"}";
        const size_t huge = 10U * 1024 * 1024;
        char *big = malloc(huge);
        Client c;
        json_t *msg;
        int r;

        assert_non_null(big);
        wait_no_clients();

        /* Malformed JSON: an error, and the connection carries on. */
        assert_int_equal(client_connect(&c, d.socket_path), 0);
        msg = client_call(&c, "{\"method\": oops");
        assert_true(is_error(msg, "org.varlink.service.InvalidParameter"));
        json_decref(msg);
        msg = client_call(&c, "{\"method\":\"io.procwatch.NoSuchMethod\"}");
        assert_true(is_error(msg, "org.varlink.service.MethodNotFound"));
        json_decref(msg);
        msg = client_call(&c, "{\"method\":\"com.example.Other\"}");
        assert_true(is_error(msg, "org.varlink.service.InterfaceNotFound"));
        json_decref(msg);
        msg = client_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":\"one\"}}");
        assert_true(is_error(msg, "org.varlink.service.InvalidParameter"));
        json_decref(msg);

        /* One byte at a time. */
        for (size_t i = 0; i < sizeof(getinfo); i++) {
                assert_int_equal(client_send(&c, getinfo + i, 1), 0);
                usleep(200);
        }
        msg = client_read(&c, WAIT_MS);
        assert_non_null(msg);
        assert_null(json_object_get(msg, "error"));
        json_decref(msg);
        client_close(&c);

        /* Without its NUL, then gone. */
        assert_int_equal(client_connect(&c, d.socket_path), 0);
        assert_int_equal(client_send(&c, getinfo, sizeof(getinfo) - 1), 0);
        client_close(&c);
        expect_daemon_answers();

        /* 10 MiB without a NUL: the error, then the connection is cut. */
        memset(big, 'a', huge);
        assert_int_equal(client_connect(&c, d.socket_path), 0);
        r = client_send(&c, big, huge);
        assert_true(r == 0 || r == -EPIPE || r == -ECONNRESET);
        msg = client_read(&c, WAIT_MS);
        if (msg) /* unless the reset overtook it */
                assert_true(is_error(msg, "org.varlink.service.InvalidParameter"));
        json_decref(msg);
        client_close(&c);
        expect_daemon_answers();

        /* Nested 1000 deep. */
        {
                char *p = stpcpy(big, "{\"method\":\"io.procwatch.Stats\",\"parameters\":{\"a\":");

                for (int i = 0; i < 1000; i++)
                        *p++ = '[';
                for (int i = 0; i < 1000; i++)
                        *p++ = ']';
                strcpy(p, "}}");
        }
        assert_int_equal(client_connect(&c, d.socket_path), 0);
        msg = client_call(&c, big);
        assert_true(is_error(msg, "org.varlink.service.InvalidParameter"));
        assert_string_equal(json_string_value(json_object_get(json_object_get(msg, "parameters"), "parameter")), "request");
        json_decref(msg);
        client_close(&c);

        /* Random bytes, NULs among them: errors or a hang-up, never a dead daemon. */
        srand(42);
        for (size_t i = 0; i < 64 * 1024; i++)
                big[i] = (char) (rand() & 0xff);
        assert_int_equal(client_connect(&c, d.socket_path), 0);
        r = client_send(&c, big, 64 * 1024);
        assert_true(r == 0 || r == -EPIPE || r == -ECONNRESET);
        while ((msg = client_read(&c, 500)))
                json_decref(msg);
        client_close(&c);
        expect_daemon_answers();

        /* Vanishing mid-reply: a whole List asked for, a few bytes read, gone. */
        assert_int_equal(client_connect(&c, d.socket_path), 0);
        assert_int_equal(client_send_str(&c, "{\"method\":\"io.procwatch.List\"}"), 0);
        {
                struct pollfd p = { .fd = c.conn.fd, .events = POLLIN };

                assert_int_equal(poll(&p, 1, WAIT_MS), 1);
                assert_true(read(c.conn.fd, big, 100) > 0);
        }
        client_close(&c);
        /* And a subscriber vanishing. */
        subscribe(&c, "{}");
        client_close(&c);
        expect_daemon_answers();
        free(big);
}

/* Other users may read, and follow events; they may not change the daemon. */
static void test_non_root(void **state) {
        char *ps[] = { (char *) "setpriv", (char *) "--reuid=65534", (char *) "--regid=65534", (char *) "--clear-groups",
                       (char *) ctl_path, sock_opt, (char *) "--json", (char *) "ps", (char *) "--alive",
                       /* This test's own process (root's) only: the machine may run 30,000 others. */
                       (char *) "--comm=test-events-d*", NULL };
        char *drop[] = { (char *) "setpriv", (char *) "--reuid=65534", (char *) "--regid=65534", (char *) "--clear-groups",
                         (char *) ctl_path, sock_opt, (char *) "drop-retained", NULL };
        char *drop_root[] = { (char *) ctl_path, sock_opt, (char *) "--json", (char *) "drop-retained", NULL };
        json_error_t err;
        json_t *j;
        int status;

        wait_no_clients();
        /* The scratch folder is 0700; the socket inside is 0666. */
        assert_int_equal(chmod(d.dir, 0755), 0);
        status = harness_run_capture(ps, out, OUT_MAX, WAIT_MS);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        j = json_loads(out, 0, &err);
        if (!j)
                fail_msg("ps --json as nobody printed invalid JSON (%s): %.200s", err.text, out);
        assert_true(json_array_size(j) > 0);
        json_decref(j);

        status = harness_run_capture(drop, out, OUT_MAX, WAIT_MS);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 4);
        assert_non_null(strstr(out, "Permission denied"));

        status = harness_run_capture(drop_root, out, OUT_MAX, WAIT_MS);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
        j = json_loads(out, 0, &err);
        if (!j)
                fail_msg("drop-retained --json printed invalid JSON (%s): %.200s", err.text, out);
        assert_true(json_is_integer(json_object_get(j, "dropped")));
        json_decref(j);
}

/* Started by socket activation the daemon serves the socket it was given, not the path it was told. */
static void test_socket_activation(void **state) {
        Daemon a = {};
        char path[128], listen[160], bogus[160];
        char *argv[] = { (char *) "systemd-socket-activate", listen, (char *) "-E", (char *) "NOTIFY_SOCKET",
                         (char *) daemon_path, bogus, NULL };
        char *stats[] = { (char *) ctl_path, NULL, (char *) "--json", (char *) "stats", NULL };
        char opt[160];
        json_error_t err;
        json_t *j;
        int status, r;

        if (access("/usr/bin/systemd-socket-activate", X_OK) < 0 && access("/bin/systemd-socket-activate", X_OK) < 0) {
                fail_msg("systemd-socket-activate not found (package systemd)");
        }
        snprintf(path, sizeof(path), "%s/activated.sock", d.dir);
        snprintf(listen, sizeof(listen), "--listen=%s", path);
        /* A socket path that cannot be made: only a passed socket lets this daemon serve. */
        snprintf(bogus, sizeof(bogus), "--socket=/proc/procwatchd-cannot-be-here/io.procwatch");
        snprintf(opt, sizeof(opt), "--socket=%s", path);
        stats[1] = opt;
        r = harness_start(&a, "/usr/bin/systemd-socket-activate", argv, NULL, 0);
        assert_int_equal(r, 0);
        /* systemd-socket-activate starts the daemon on the first connection. */
        for (int i = 0; i < 500 && access(path, F_OK) < 0; i++)
                usleep(10000);
        status = harness_run_capture(stats, out, OUT_MAX, 60000);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                harness_cleanup(&a, true);
                fail_msg("procwatchctl stats over the activated socket failed (%d): %s", status, out);
        }
        j = json_loads(out, 0, &err);
        assert_non_null(j);
        assert_true(json_integer_value(json_object_get(j, "processes_live")) > 0);
        json_decref(j);
        assert_true(harness_wait_notify(&a, "READY=1", false, WAIT_MS));
        assert_int_equal(harness_stop(&a, SIGTERM, WAIT_MS, NULL), 0);
        harness_cleanup(&a, false);
}

/* Given a passed socket that is not a listening UNIX stream socket, the daemon refuses to start
 * (exit status 1) rather than serve nothing; by hand: fd 3, LISTEN_FDS=1, LISTEN_PID. */
static void test_socket_activation_wrong_kind(void **state) {
        char errpath[160];
        int status;
        pid_t pid;
        FILE *f;
        size_t n;

        snprintf(errpath, sizeof(errpath), "%s/wrong-kind.stderr", d.dir);
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                char lp[32];
                int dg = socket(AF_UNIX, SOCK_DGRAM, 0), err = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

                if (dg < 0 || err < 0 || dup2(dg, 3) < 0 || dup2(err, STDERR_FILENO) < 0)
                        _exit(126);
                snprintf(lp, sizeof(lp), "%d", (int) getpid());
                setenv("LISTEN_FDS", "1", 1);
                setenv("LISTEN_PID", lp, 1);
                unsetenv("NOTIFY_SOCKET");
                execl(daemon_path, daemon_path, "--socket=/proc/procwatchd-cannot-be-here/io.procwatch", (char *) NULL);
                _exit(127);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 1);
        f = fopen(errpath, "re");
        assert_non_null(f);
        n = fread(out, 1, OUT_MAX - 1, f);
        out[n] = '\0';
        fclose(f);
        if (!strstr(out, "socket passed by the service manager"))
                fail_msg("no word of the passed socket in: %s", out);
}

static int setup(void **state) {
        char *argv[] = { (char *) "procwatchd", NULL };

        out = malloc(OUT_MAX);
        assert_non_null(out);
        if (harness_start_ready(&d, daemon_path, argv, 0, WAIT_MS) < 0)
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
                cmocka_unit_test_teardown(test_ctl_events_order, close_clients),
                cmocka_unit_test_teardown(test_two_subscribers, close_clients),
                cmocka_unit_test_teardown(test_256_clients, close_clients),
                cmocka_unit_test_teardown(test_slow_subscriber_storm, close_clients),
                cmocka_unit_test_teardown(test_malformed, close_clients),
                cmocka_unit_test_teardown(test_non_root, close_clients),
                cmocka_unit_test_teardown(test_socket_activation, close_clients),
                cmocka_unit_test_teardown(test_socket_activation_wrong_kind, close_clients),
        };

        if (argc == 2 && strcmp(argv[1], "--storm") == 0) {
                storm();
                return 0;
        }
        if (argc != 3) {
                fprintf(stderr, "usage: %s PROCWATCHD PROCWATCHCTL\n", argv[0]);
                return 1;
        }
        if (geteuid() != 0) {
                fprintf(stderr, "SKIP: needs root (the proc connector, the receive buffer, setpriv).\n");
                return 77;
        }
        tc_init("events-daemon");
        daemon_path = argv[1];
        ctl_path = argv[2];
        signal(SIGPIPE, SIG_IGN);
        return cmocka_run_group_tests(tests, setup, teardown);
}
