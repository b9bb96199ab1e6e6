/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The control server under test and its test client (server-fixture.h). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "server-fixture.h"
#include "test-cleanup.h"

sd_event *event;
ProcTree *tree;
Server *server;
char dir[64], sock_path[128];
CnProcStats fake_cnproc = { .events = 1234, .enobufs = 1 };

void get_stats(void *userdata, PwDaemonStats *ret) {
        ret->cnproc = &fake_cnproc;
        ret->lost = 17;
        ret->reconciliations = 2;
        ret->tree = tree;
}

void add_proc(pid_t pid, pid_t ppid, uint64_t start_ns, const char *comm, const char *argv, size_t argv_len,
                     const char *unit, uint32_t uid) {
        PwProcInfo i = {
                .stat = { .pid = pid, .ppid = ppid, .sid = 1, .state = 'S' },
                .start_ns = start_ns,
                .have_status = true,
                .uid = uid, .euid = uid, .gid = uid, .egid = uid, .suid = uid, .sgid = uid,
                .dumpable = true,
                .exe = (char *) "/usr/bin/test",
                .argv = (char *) argv,
                .argv_len = argv_len,
                .unit = (char *) unit,
        };

        strncpy(i.stat.comm, comm, PW_COMM_MAX);
        assert_int_equal(proctree_add_from_proc(tree, &i, PW_SOURCE_SCAN, HZ), 0);
}

void apply(PwEvent ev) {
        assert_int_equal(proctree_apply(tree, &ev, NULL), 0);
}

/* init(1) -> bash(100, uid 1000, user@1000.service) -> sleep(200, alive), false(201, exit 1),
 * crash(202, SIGSEGV); kthreadd(2) -> kworker(3). */
void build_tree(void) {
        static const char sleep_argv[] = "sleep\0" "100";

        assert_int_equal(proctree_new(&tree, NULL), 0);
        add_proc(1, 0, 1 * MS, "init", "/sbin/init", 11, "init.scope", 0);
        add_proc(2, 0, 2 * MS, "kthreadd", NULL, 0, NULL, 0);
        add_proc(3, 2, 3 * MS, "kworker/0:0", NULL, 0, NULL, 0);
        add_proc(100, 1, 50 * MS, "bash", "bash", 5, "user@1000.service", 1000);
        add_proc(200, 100, 100 * MS, "sleep", sleep_argv, sizeof(sleep_argv), "user@1000.service", 1000);
        apply((PwEvent){ .kind = PW_EVENT_FORK, .timestamp_ns = 110 * MS,
                         .fork = { .parent_pid = 100, .parent_tgid = 100, .child_pid = 201, .child_tgid = 201 } });
        apply((PwEvent){ .kind = PW_EVENT_EXIT, .timestamp_ns = 120 * MS,
                         .exit = { .pid = 201, .tgid = 201, .code = 1 << 8, .signal = SIGCHLD } });
        apply((PwEvent){ .kind = PW_EVENT_FORK, .timestamp_ns = 130 * MS,
                         .fork = { .parent_pid = 100, .parent_tgid = 100, .child_pid = 202, .child_tgid = 202 } });
        apply((PwEvent){ .kind = PW_EVENT_EXIT, .timestamp_ns = 140 * MS,
                         .exit = { .pid = 202, .tgid = 202, .code = SIGSEGV | 0x80, .signal = SIGCHLD } });
}

/* Adds n sleeping children of bash with a modest argv (about 700 bytes of JSON each). */
void add_many(unsigned n) {
        static const char argv[] = "/usr/bin/python3\0-m\0http.server\0--bind\0127.0.0.1\0" "8000";

        for (unsigned i = 0; i < n; i++)
                add_proc((pid_t) (10000 + i), 100, (200 + i) * MS, "python3", argv, sizeof(argv),
                         "user@1000.service", 1000);
}

int start_server(const ServerLimits *limits) {
        static const PwMethodsCallbacks cb = { .get_stats = get_stats };

        snprintf(dir, sizeof(dir), "/tmp/test-server-XXXXXX");
        assert_int_equal(0, tc_mkdtemp(dir));
        snprintf(sock_path, sizeof(sock_path), "%s/run/io.procwatch", dir);
        assert_int_equal(sd_event_new(&event), 0);
        build_tree();
        assert_int_equal(server_new(&server, event, tree, limits, &cb, NULL), 0);
        assert_int_equal(server_listen(server, sock_path), 0);
        return 0;
}

/* The server's limits for tests that are not about time: SERVER_LIMITS_DEFAULT, but with the stall
 * and idle limits (30 s and 60 s of wall-clock time) out of reach, so that a slow build (valgrind on
 * a loaded machine) never drops a client the test still uses. The tests of those limits narrow them. */
ServerLimits untimed_limits(void) {
        ServerLimits l = SERVER_LIMITS_DEFAULT;

        l.transport.stall_usec = 3600 * USEC_PER_SEC;
        l.transport.idle_usec = 3600 * USEC_PER_SEC;
        return l;
}

int setup_server(void **state) {
        ServerLimits l = untimed_limits();

        return start_server(&l);
}

int teardown_server(void **state) {
        char run[160];

        server = server_free(server);
        /* The socket file goes with the server. */
        assert_int_equal(access(sock_path, F_OK), -1);
        tree = proctree_free(tree);
        event = sd_event_unref(event);
        snprintf(run, sizeof(run), "%s/run", dir);
        (void) rmdir(run);
        (void) rmdir(dir);
        return 0;
}

void pump(int ms) {
        assert_true(sd_event_run(event, (uint64_t) ms * 1000) >= 0);
}

int tc_connect(TestClient *c) {
        struct sockaddr_un sa = { .sun_family = AF_UNIX };
        int fd;

        strcpy(sa.sun_path, sock_path);
        fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
                return -errno;
        if (connect(fd, (struct sockaddr *) &sa, sizeof(sa)) < 0) {
                close(fd);
                return -errno;
        }
        varlink_conn_init(&c->conn, fd, 256U << 20, 32U << 20);
        return 0;
}

void tc_close(TestClient *c) {
        varlink_conn_done(&c->conn);
}

/* Writes everything, running the server meanwhile. Returns 0 or the write error. */
int tc_send(TestClient *c, const void *data, size_t n) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + REPLY_TIMEOUT_MS * USEC_PER_MSEC;

        assert_int_equal(varlink_conn_queue(&c->conn, data, n), 0);
        while (varlink_conn_pending_out(&c->conn) > 0) {
                ssize_t k = varlink_conn_write(&c->conn);

                if (k < 0)
                        return (int) k;
                if (k == 0)
                        pump(2);
                assert_true(now_usec(CLOCK_MONOTONIC) < deadline);
        }
        return 0;
}

int tc_send_str(TestClient *c, const char *s) {
        return tc_send(c, s, strlen(s) + 1);
}

/* The next message, parsed; NULL at end of file. */
json_t *tc_read(TestClient *c) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + REPLY_TIMEOUT_MS * USEC_PER_MSEC;

        for (;;) {
                char *m;
                size_t len;
                ssize_t n;
                json_t *j;
                int r;

                r = varlink_conn_next(&c->conn, &m, &len);
                assert_true(r >= 0);
                if (r > 0) {
                        assert_int_equal(varlink_message_parse(m, len, 4096, &j), 0);
                        return j;
                }
                n = varlink_conn_read(&c->conn, 1 << 20);
                if (n == 0 || n == -ECONNRESET)
                        return NULL;
                if (n == -EAGAIN)
                        pump(2);
                else
                        assert_true(n > 0);
                assert_true(now_usec(CLOCK_MONOTONIC) < deadline);
        }
}

json_t *tc_call(TestClient *c, const char *request) {
        assert_int_equal(tc_send_str(c, request), 0);
        return tc_read(c);
}

/* The parameters of a successful reply (the message is kept in *msg for the caller to free). */
json_t *expect_reply(json_t *msg) {
        assert_non_null(msg);
        if (json_object_get(msg, "error")) {
                char *s = json_dumps(msg, 0);
                fail_msg("unexpected error reply: %s", s);
        }
        assert_true(json_is_object(json_object_get(msg, "parameters")));
        return json_object_get(msg, "parameters");
}

/* The error is name, and its parameters hold key = value (a string) when key is given. */
void expect_error(json_t *msg, const char *name, const char *key, const char *value) {
        json_t *p;

        assert_non_null(msg);
        if (!json_is_string(json_object_get(msg, "error"))) {
                char *s = json_dumps(msg, 0);
                fail_msg("expected %s, got %s", name, s);
        }
        assert_string_equal(json_string_value(json_object_get(msg, "error")), name);
        p = json_object_get(msg, "parameters");
        assert_true(json_is_object(p));
        if (key)
                assert_string_equal(json_string_value(json_object_get(p, key)), value);
        json_decref(msg);
}

/* The server answers a new client promptly. */
void expect_alive(void) {
        TestClient c;
        json_t *msg;

        assert_int_equal(tc_connect(&c), 0);
        msg = tc_call(&c, "{\"method\":\"org.varlink.service.GetInfo\"}");
        expect_reply(msg);
        json_decref(msg);
        tc_close(&c);
}

void wait_clients(unsigned n) {
        for (unsigned i = 0; i < 5000 && server_n_clients(server) != n; i++)
                pump(2);
        assert_int_equal(server_n_clients(server), n);
}

/* Applies an event to the tree and publishes it, as the manager does. */
void publish(PwEvent ev) {
        PwApplyResult res;

        assert_int_equal(proctree_apply(tree, &ev, &res), 0);
        server_publish_event(server, &ev, &res);
}

/* Subscribes and waits for the {"ready": true} reply. */
void subscribe(TestClient *c, const char *params) {
        char req[512];
        json_t *msg;

        assert_int_equal(tc_connect(c), 0);
        snprintf(req, sizeof(req), "{\"method\":\"io.procwatch.Events\",\"more\":true,\"parameters\":%s}", params);
        msg = tc_call(c, req);
        assert_true(json_is_true(json_object_get(expect_reply(msg), "ready")));
        assert_true(json_is_true(json_object_get(msg, "continues")));
        json_decref(msg);
}
