/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The generic Varlink server (src/shared/varlink-server.c): its parameter dispatch tables over JSON
 * tables, and the server on a real UNIX socket in a temporary folder, driven by a real sd-event loop
 * in this process (server-fixture.h): the socket file, every protocol error, pipelining and split
 * writes, garbage, clients that vanish, and every limit (257 clients, a 10 MiB request, depth 100, a
 * client that never reads its reply, RLIMIT_NOFILE, idle connections), each drop typed as the
 * peer's fault. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <grp.h>
#include <poll.h>
#include <unistd.h>

#include "json-util.h"
#include "procwatch/protocol.h"
#include "proctree.h"
#include "server-fixture.h"
#include "server.h"
#include "time-util.h"
#include "varlink-idl.h"
#include "varlink-server.h"
#include "varlink.h"
#include "test-cleanup.h"

static void test_server_socket_file(void **state) {
        struct stat st;
        char run[160];
        int fd;

        /* bind() obeys the umask; the socket must be 0666 whatever it was, its folder 0755. */
        assert_int_equal(stat(sock_path, &st), 0);
        assert_true(S_ISSOCK(st.st_mode));
        assert_int_equal(st.st_mode & 07777, 0666);
        snprintf(run, sizeof(run), "%s/run", dir);
        assert_int_equal(stat(run, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0755);

        /* A second server refuses a path a live one serves. */
        {
                Server *s2;

                assert_int_equal(server_new(&s2, event, tree, NULL, NULL, NULL), 0);
                assert_int_equal(server_listen(s2, sock_path), -EADDRINUSE);
                server_free(s2);
        }
        /* ... and anything that is not a socket. */
        {
                char file[192];
                Server *s2;

                snprintf(file, sizeof(file), "%s/file", run);
                fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
                assert_true(fd >= 0);
                close(fd);
                assert_int_equal(server_new(&s2, event, tree, NULL, NULL, NULL), 0);
                assert_int_equal(server_listen(s2, file), -EEXIST);
                server_free(s2);
                assert_int_equal(unlink(file), 0);
        }
        /* A stale socket file (nobody listening) is replaced. */
        {
                struct sockaddr_un sa = { .sun_family = AF_UNIX };
                char stale[192];
                Server *s2;

                snprintf(stale, sizeof(stale), "%s/stale", run);
                strcpy(sa.sun_path, stale);
                fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
                assert_int_equal(bind(fd, (struct sockaddr *) &sa, sizeof(sa)), 0);
                close(fd);
                assert_int_equal(server_new(&s2, event, tree, NULL, NULL, NULL), 0);
                assert_int_equal(server_listen(s2, stale), 0);
                server_free(s2);
                assert_int_equal(access(stale, F_OK), -1);
        }
}

static void test_server_errors(void **state) {
        TestClient c;
        json_t *msg;

        assert_int_equal(tc_connect(&c), 0);
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Nope\"}"), PW_VARLINK_ERROR_METHOD_NOT_FOUND, "method",
                     "io.procwatch.Nope");
        expect_error(tc_call(&c, "{\"method\":\"org.varlink.service.Nope\"}"), PW_VARLINK_ERROR_METHOD_NOT_FOUND, "method",
                     "org.varlink.service.Nope");
        expect_error(tc_call(&c, "{\"method\":\"com.example.Foo\"}"), PW_VARLINK_ERROR_INTERFACE_NOT_FOUND, "interface",
                     "com.example");
        expect_error(tc_call(&c, "{\"method\":\"NoDot\"}"), PW_VARLINK_ERROR_METHOD_NOT_FOUND, "method", "NoDot");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Stats\",\"upgrade\":true}"),
                     PW_VARLINK_ERROR_METHOD_NOT_IMPLEMENTED, "method", "io.procwatch.Stats");
        /* Not a call at all: the connection carries on after each. */
        expect_error(tc_call(&c, "{\"method\":"), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "request");
        expect_error(tc_call(&c, "not json"), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "request");
        expect_error(tc_call(&c, "[1,2,3]"), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "request");
        expect_error(tc_call(&c, ""), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "request");
        expect_error(tc_call(&c, "{\"parameters\":{}}"), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "method");
        expect_error(tc_call(&c, "{\"method\":[\"x\"]}"), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "method");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Stats\",\"parameters\":5}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "parameters");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Stats\",\"oneway\":\"yes\"}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "oneway");
        /* Invalid UTF-8 in a request is invalid JSON. */
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.\xff\"}"), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter",
                     "request");
        /* An unknown method named with odd characters comes back as it was sent. */
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.\\u00e9\\n\"}"), PW_VARLINK_ERROR_METHOD_NOT_FOUND, "method",
                     "io.procwatch.\xc3\xa9\n");

        /* A oneway call gets no reply, not even an error: the next reply is the next call's. */
        assert_int_equal(tc_send_str(&c, "{\"method\":\"io.procwatch.Stats\",\"oneway\":true}"), 0);
        assert_int_equal(tc_send_str(&c, "{\"method\":\"io.procwatch.Nope\",\"oneway\":true}"), 0);
        assert_int_equal(tc_send_str(&c, "{\"method\":\"io.procwatch.List\",\"oneway\":true}"), 0);
        msg = tc_call(&c, "{\"method\":\"org.varlink.service.GetInfo\",\"more\":true}");
        assert_non_null(json_object_get(expect_reply(msg), "vendor"));
        json_decref(msg);
        tc_close(&c);
}

static void test_server_pipelining_and_splits(void **state) {
        static const char two[] = "{\"method\":\"org.varlink.service.GetInfo\"}\0{\"method\":\"io.procwatch.List\"}\0"
                                  "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":1}}";
        static const char one[] = "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":100}}";
        TestClient c;
        json_t *msg;

        assert_int_equal(tc_connect(&c), 0);
        /* Three calls in one write: three replies, in order. */
        assert_int_equal(tc_send(&c, two, sizeof(two)), 0);
        msg = tc_read(&c);
        assert_non_null(json_object_get(expect_reply(msg), "vendor"));
        json_decref(msg);
        msg = tc_read(&c);
        assert_int_equal(json_array_size(json_object_get(expect_reply(msg), "processes")), 7);
        json_decref(msg);
        msg = tc_read(&c);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(expect_reply(msg), "process"), "pid")), 1);
        json_decref(msg);

        /* One call in single-byte writes, the server running between them. */
        for (size_t i = 0; i < sizeof(one); i++)
                assert_int_equal(tc_send(&c, one + i, 1), 0);
        msg = tc_read(&c);
        assert_int_equal(json_integer_value(json_object_get(json_object_get(expect_reply(msg), "process"), "pid")), 100);
        json_decref(msg);

        /* Half-closed after the call: the reply still comes, then the end. */
        assert_int_equal(tc_send_str(&c, "{\"method\":\"io.procwatch.Stats\"}"), 0);
        assert_int_equal(shutdown(c.conn.fd, SHUT_WR), 0);
        msg = tc_read(&c);
        expect_reply(msg);
        json_decref(msg);
        assert_null(tc_read(&c));
        tc_close(&c);
        pump(5);
        assert_int_equal(server_n_clients(server), 0);
}

static void test_server_no_nul_then_gone(void **state) {
        TestClient c;

        /* A message without its NUL, then the client goes: nothing to answer, the connection ends. */
        assert_int_equal(tc_connect(&c), 0);
        assert_int_equal(tc_send(&c, "{\"method\":\"io.procwatch.Stats\"}", 31), 0);
        wait_clients(1);
        pump(5);
        tc_close(&c);
        wait_clients(0);
        expect_alive();
}

static void test_server_random_bytes(void **state) {
        unsigned seed = 12345;

        for (unsigned round = 0; round < 20; round++) {
                char buf[8192];
                TestClient c;
                json_t *msg;

                for (size_t i = 0; i < sizeof(buf); i++) {
                        seed = seed * 1103515245U + 12345U;
                        buf[i] = (char) (seed >> 16);
                }
                assert_int_equal(tc_connect(&c), 0);
                /* Errors for what ended in a NUL; the rest waits for a NUL that never comes. */
                (void) tc_send(&c, buf, sizeof(buf));
                for (unsigned k = 0; k < 3; k++)
                        pump(2);
                if (round % 2 == 0) {
                        /* Read whatever came: every message is a Varlink error. */
                        assert_int_equal(shutdown(c.conn.fd, SHUT_WR), 0);
                        while ((msg = tc_read(&c))) {
                                assert_true(json_is_string(json_object_get(msg, "error")));
                                json_decref(msg);
                        }
                }
                tc_close(&c);
        }
        wait_clients(0);
        expect_alive();
}

static void test_server_vanish_mid_reply(void **state) {
        TestClient c;
        char buf[4096];

        add_many(5000);
        for (unsigned round = 0; round < 3; round++) {
                assert_int_equal(tc_connect(&c), 0);
                assert_int_equal(tc_send_str(&c, round == 2 ? "{\"method\":\"io.procwatch.Tree\",\"parameters\":{}}"
                                                            : "{\"method\":\"io.procwatch.List\"}"),
                                 0);
                /* Part of the reply, then gone. */
                for (unsigned k = 0; k < 20; k++) {
                        pump(2);
                        (void) read(c.conn.fd, buf, round == 0 ? 0 : sizeof(buf));
                }
                tc_close(&c);
                wait_clients(0);
        }
        expect_alive();
}

static void test_server_large_reply(void **state) {
        TestClient c;
        json_t *msg, *procs;
        uint64_t longest = 0;
        size_t bytes = 0;

        /* 30,000 processes: a reply of about 20 MB, far beyond the socket buffer. */
        add_many(30000);
        assert_int_equal(tc_connect(&c), 0);
        assert_int_equal(tc_send_str(&c, "{\"method\":\"io.procwatch.List\"}"), 0);
        for (;;) {
                uint64_t t0 = now_usec(CLOCK_MONOTONIC), dt;
                char *m;
                size_t len;
                ssize_t n;

                /* Each turn of the loop stays short: the reply is built a chunk at a time. */
                assert_true(sd_event_run(event, 1000) >= 0);
                dt = now_usec(CLOCK_MONOTONIC) - t0;
                longest = MAX(longest, dt);
                /* The daemon never holds more than a chunk and a message for us. */
                assert_true(server_max_backlog(server) <= VARLINK_SERVER_OUTPUT_CHUNK + 64 * 1024);

                n = varlink_conn_read(&c.conn, 64 * 1024);
                if (n > 0)
                        bytes += (size_t) n;
                if (varlink_conn_next(&c.conn, &m, &len) > 0) {
                        assert_int_equal(varlink_message_parse(m, len, 64, &msg), 0);
                        break;
                }
        }
        procs = json_object_get(expect_reply(msg), "processes");
        assert_int_equal(json_array_size(procs), 30007);
        assert_true(bytes > 8U * 1024 * 1024);
        print_message("List of 30007 processes: %zu bytes; longest loop turn %llu us\n", bytes,
                      (unsigned long long) longest);
        /* How short each turn is, is the benchmark's business; here the bound is structural: the
         * backlog check above holds at every turn, so the reply was built a chunk at a time. */
        json_decref(msg);

        /* The tree of all of them too, parents before children. */
        msg = tc_call(&c, "{\"method\":\"io.procwatch.Tree\",\"parameters\":{\"root\":100}}");
        procs = json_object_get(expect_reply(msg), "processes");
        assert_int_equal(json_array_size(procs), 30002);
        assert_int_equal(json_integer_value(json_object_get(json_array_get(procs, 0), "pid")), 100);
        json_decref(msg);
        tc_close(&c);
}

static void test_limit_clients(void **state) {
        TestClient c[VARLINK_SERVER_CLIENTS_MAX + 1];
        json_t *msg, *p;
        char buf[16];

        for (unsigned i = 0; i < VARLINK_SERVER_CLIENTS_MAX; i++) {
                assert_int_equal(tc_connect(&c[i]), 0);
                if (i % 32 == 0)
                        pump(1);
        }
        wait_clients(VARLINK_SERVER_CLIENTS_MAX);

        /* One more: accepted and closed at once, without a reply. */
        assert_int_equal(tc_connect(&c[VARLINK_SERVER_CLIENTS_MAX]), 0);
        for (unsigned i = 0; i < 20; i++)
                pump(2);
        assert_int_equal(server_n_clients(server), VARLINK_SERVER_CLIENTS_MAX);
        assert_int_equal(read(c[VARLINK_SERVER_CLIENTS_MAX].conn.fd, buf, sizeof(buf)), 0);
        tc_close(&c[VARLINK_SERVER_CLIENTS_MAX]);

        /* Everyone admitted is served. */
        for (unsigned i = 0; i < VARLINK_SERVER_CLIENTS_MAX; i += 15) {
                msg = tc_call(&c[i], "{\"method\":\"io.procwatch.Stats\"}");
                p = expect_reply(msg);
                assert_int_equal(json_integer_value(json_object_get(p, "clients")), VARLINK_SERVER_CLIENTS_MAX);
                assert_int_equal(json_integer_value(json_object_get(p, "clients_refused")), 1);
                json_decref(msg);
        }

        /* A place freed is a place taken. */
        tc_close(&c[0]);
        wait_clients(VARLINK_SERVER_CLIENTS_MAX - 1);
        assert_int_equal(tc_connect(&c[0]), 0);
        wait_clients(VARLINK_SERVER_CLIENTS_MAX);
        msg = tc_call(&c[0], "{\"method\":\"org.varlink.service.GetInfo\"}");
        expect_reply(msg);
        json_decref(msg);
        for (unsigned i = 0; i < VARLINK_SERVER_CLIENTS_MAX; i++)
                tc_close(&c[i]);
        wait_clients(0);
}

static void test_limit_request_size(void **state) {
        const size_t huge = 10U * 1024 * 1024;
        char *req = malloc(huge);
        TestClient c;
        json_t *msg;
        int r;

        assert_non_null(req);
        /* Exactly VARLINK_SERVER_REQUEST_MAX bytes (padded with spaces) is a request like any other. */
        {
                static const char call[] = "{\"method\":\"org.varlink.service.GetInfo\"}";

                memset(req, ' ', VARLINK_SERVER_REQUEST_MAX + 1);
                memcpy(req, call, sizeof(call) - 1);
                req[VARLINK_SERVER_REQUEST_MAX] = '\0';
                assert_int_equal(tc_connect(&c), 0);
                msg = tc_call(&c, req);
                expect_reply(msg);
                json_decref(msg);

                /* One byte more: refused, and the connection closed. */
                req[VARLINK_SERVER_REQUEST_MAX] = ' ';
                req[VARLINK_SERVER_REQUEST_MAX + 1] = '\0';
                msg = tc_call(&c, req);
                expect_error(msg, PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "request");
                assert_null(tc_read(&c));
                tc_close(&c);
                wait_clients(0);
        }

        /* 10 MiB without a NUL: the error comes long before the end, the connection is cut. */
        memset(req, 'a', huge);
        assert_int_equal(tc_connect(&c), 0);
        r = tc_send(&c, req, huge);
        assert_true(r == -EPIPE || r == -ECONNRESET);
        msg = tc_read(&c);
        if (msg) /* unless the reset overtook it */
                expect_error(msg, PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "request");
        tc_close(&c);
        wait_clients(0);
        free(req);
        expect_alive();
}

static char *nested(unsigned depth) {
        /* {"method":"io.procwatch.Stats","parameters":{"a": [ ... ] }} : depth counts every level. */
        static const char head[] = "{\"method\":\"io.procwatch.Stats\",\"parameters\":{\"a\":";
        size_t n = sizeof(head) - 1 + 2 * (depth - 2) + 3;
        char *s = malloc(n), *p;

        assert_non_null(s);
        p = stpcpy(s, head);
        for (unsigned i = 0; i < depth - 2; i++)
                *p++ = '[';
        for (unsigned i = 0; i < depth - 2; i++)
                *p++ = ']';
        strcpy(p, "}}");
        return s;
}

static void test_limit_depth(void **state) {
        _cleanup_(freep) char *ok = nested(VARLINK_SERVER_DEPTH_MAX), *deep = nested(VARLINK_SERVER_DEPTH_MAX + 1),
                             *hundred = nested(100);
        TestClient c;

        assert_int_equal(tc_connect(&c), 0);
        /* At the limit the parser runs (and refuses the unknown parameter). */
        expect_error(tc_call(&c, ok), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "a");
        expect_error(tc_call(&c, deep), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "request");
        expect_error(tc_call(&c, hundred), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "request");
        /* The connection carries on. */
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Show\"}"), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter",
                     "pid");
        tc_close(&c);
}

static int setup_stall(void **state) {
        ServerLimits l = untimed_limits();

        l.transport.stall_usec = 300 * USEC_PER_MSEC; /* VARLINK_SERVER_STALL_USEC is 30 s: too long for a test */
        return start_server(&l);
}

static void test_limit_never_reads(void **state) {
        TestClient slow, other;
        json_t *msg;
        uint64_t start;

        add_many(30000);
        assert_int_equal(tc_connect(&slow), 0);
        assert_int_equal(tc_connect(&other), 0);
        /* Asks for 20 MB and reads none of it; then asks again and again. */
        assert_int_equal(tc_send_str(&slow, "{\"method\":\"io.procwatch.List\"}"), 0);
        for (unsigned i = 0; i < 50; i++)
                assert_int_equal(tc_send_str(&slow, "{\"method\":\"io.procwatch.Tree\"}"), 0);

        /* Meanwhile the other client is served, and the daemon holds a bounded amount for the slow one. */
        start = now_usec(CLOCK_MONOTONIC);
        for (unsigned i = 0; i < 5; i++) {
                uint64_t t0 = now_usec(CLOCK_MONOTONIC);

                msg = tc_call(&other, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":100}}");
                expect_reply(msg);
                json_decref(msg);
                print_message("Show beside a client that never reads: %llu us\n",
                              (unsigned long long) (now_usec(CLOCK_MONOTONIC) - t0));
                assert_true(server_max_backlog(server) <= VARLINK_SERVER_OUTPUT_CHUNK + 64 * 1024);
        }

        /* Past the stall limit it is dropped; the other stays. */
        while (server_n_clients(server) > 1) {
                pump(10);
                assert_true(now_usec(CLOCK_MONOTONIC) - start < DEADLINE_USEC);
        }
        msg = tc_call(&other, "{\"method\":\"io.procwatch.Stats\"}");
        assert_int_equal(json_integer_value(json_object_get(expect_reply(msg), "clients_dropped")), 1);
        assert_int_equal(json_integer_value(json_object_get(expect_reply(msg), "clients")), 1);
        json_decref(msg);
        tc_close(&slow);
        tc_close(&other);
}

static int setup_small_output(void **state) {
        ServerLimits l = untimed_limits();

        l.transport.output_chunk = 4096;
        l.transport.output_max = 16384;
        return start_server(&l);
}

static void test_limit_output_max(void **state) {
        static char argv[64 * 1024];
        TestClient c;
        json_t *msg;

        /* A process whose one object is larger than the whole queue allowed: the client asking for it is
         * dropped (VARLINK_SERVER_OUTPUT_MAX is 16 MiB, more than any one object; here it is 16 KiB). */
        memset(argv, 'z', sizeof(argv) - 1);
        add_proc(5000, 1, 5000 * MS, "big", argv, sizeof(argv), NULL, 0);
        assert_int_equal(tc_connect(&c), 0);
        msg = tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":5000}}");
        assert_null(msg);
        tc_close(&c);
        wait_clients(0);

        /* Ordinary replies, and streamed ones in small chunks, still go out. */
        assert_int_equal(tc_connect(&c), 0);
        msg = tc_call(&c, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":1}}");
        expect_reply(msg);
        json_decref(msg);
        add_many(100);
        msg = tc_call(&c, "{\"method\":\"io.procwatch.List\",\"parameters\":{\"state\":\"alive\",\"comm\":\"python3\"}}");
        assert_int_equal(json_array_size(json_object_get(expect_reply(msg), "processes")), 100);
        json_decref(msg);
        tc_close(&c);
}

/* The client cap left by RLIMIT_NOFILE: VARLINK_SERVER_FD_RESERVE stays for the daemon's own reads. */
static void test_limit_nofile(void **state) {
        static const struct {
                uint64_t nofile;
                unsigned cap, want;
        } cases[] = {
                { UINT64_MAX, VARLINK_SERVER_CLIENTS_MAX, VARLINK_SERVER_CLIENTS_MAX },
                { 65536, VARLINK_SERVER_CLIENTS_MAX, VARLINK_SERVER_CLIENTS_MAX },
                { 1024, VARLINK_SERVER_CLIENTS_MAX, VARLINK_SERVER_CLIENTS_MAX },
                { VARLINK_SERVER_CLIENTS_MAX + VARLINK_SERVER_FD_RESERVE, VARLINK_SERVER_CLIENTS_MAX, VARLINK_SERVER_CLIENTS_MAX },
                { VARLINK_SERVER_CLIENTS_MAX + VARLINK_SERVER_FD_RESERVE - 1, VARLINK_SERVER_CLIENTS_MAX, VARLINK_SERVER_CLIENTS_MAX - 1 },
                { 128, VARLINK_SERVER_CLIENTS_MAX, 128 - VARLINK_SERVER_FD_RESERVE },
                { VARLINK_SERVER_FD_RESERVE + 2, VARLINK_SERVER_CLIENTS_MAX, 2 },
                { VARLINK_SERVER_FD_RESERVE + 1, VARLINK_SERVER_CLIENTS_MAX, 1 },
                { VARLINK_SERVER_FD_RESERVE, VARLINK_SERVER_CLIENTS_MAX, 1 },
                { 0, VARLINK_SERVER_CLIENTS_MAX, 1 },
                { 128, 10, 10 },
        };
        struct rlimit old, low;
        Server *s2 = NULL;

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                print_message("nofile %" PRIu64 " cap %u\n", cases[i].nofile, cases[i].cap);
                assert_int_equal(varlink_server_clients_max_for_nofile(cases[i].nofile, cases[i].cap), cases[i].want);
        }
        /* server_new() applies it. */
        assert_int_equal(getrlimit(RLIMIT_NOFILE, &old), 0);
        low = (struct rlimit){ .rlim_cur = 128, .rlim_max = old.rlim_max };
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &low), 0);
        assert_int_equal(server_new(&s2, event, tree, NULL, NULL, NULL), 0);
        assert_int_equal(setrlimit(RLIMIT_NOFILE, &old), 0);
        assert_int_equal(server_clients_max(s2), 128 - VARLINK_SERVER_FD_RESERVE);
        server_free(s2);
}

static int setup_idle(void **state) {
        ServerLimits l = untimed_limits();

        l.transport.idle_usec = 300 * USEC_PER_MSEC; /* VARLINK_SERVER_IDLE_USEC is 60 s: too long for a test */
        return start_server(&l);
}

/* A connection with nothing in progress is closed after idle_usec; a subscriber is not idle. */
static void test_limit_idle(void **state) {
        TestClient idle, sub;
        json_t *msg;
        uint64_t start = now_usec(CLOCK_MONOTONIC);

        assert_int_equal(tc_connect(&idle), 0);
        msg = tc_call(&idle, "{\"method\":\"io.procwatch.Stats\"}");
        expect_reply(msg);
        json_decref(msg);
        subscribe(&sub, "{}");
        /* A request sent a byte at a time is not progress until whole. */
        assert_int_equal(tc_send(&idle, "{", 1), 0);
        while (server_n_clients(server) > 1) {
                pump(10);
                assert_true(now_usec(CLOCK_MONOTONIC) - start < 10 * USEC_PER_SEC);
        }
        assert_true(now_usec(CLOCK_MONOTONIC) - start >= 300 * USEC_PER_MSEC);
        assert_int_equal(server_n_subscribers(server), 1);
        tc_close(&idle);
        tc_close(&sub);
}

/* --- dispatch tables, and the server without the daemon ---------------------------------------------- */

typedef struct EchoParams {
        int64_t n;                  /* mandatory, 0..100 */
        const char *s;
        bool b;
        int64_t size;               /* bytes of padding in the reply */
        bool fail;                  /* the handler fails as the daemon would when out of memory */
        unsigned odd;               /* custom: an odd integer */
} EchoParams;

static int parse_odd(json_t *v, void *dest) {
        if (!json_is_integer(v) || json_integer_value(v) % 2 == 0 || json_integer_value(v) < 0 ||
            json_integer_value(v) > 99)
                return -EINVAL;
        *(unsigned *) dest = (unsigned) json_integer_value(v);
        return 0;
}

static const VarlinkField echo_fields[] = {
        { "n", VARLINK_FIELD_INT, offsetof(EchoParams, n), .mandatory = true, .min = 0, .max = 100 },
        { "s", VARLINK_FIELD_STRING, offsetof(EchoParams, s) },
        { "b", VARLINK_FIELD_BOOL, offsetof(EchoParams, b) },
        { "size", VARLINK_FIELD_INT, offsetof(EchoParams, size), .min = 0, .max = 1 << 20 },
        { "fail", VARLINK_FIELD_BOOL, offsetof(EchoParams, fail) },
        { "odd", VARLINK_FIELD_CUSTOM, offsetof(EchoParams, odd), .parse = parse_odd },
        {}
};

/* Each case: parameters, then the error's field (NULL: accepted). */
static void test_dispatch_table(void **state) {
        static const struct {
                const char *params, *bad;
        } cases[] = {
                { "{\"n\":0}", NULL },
                { "{\"n\":100,\"s\":\"x\",\"b\":true,\"size\":5,\"fail\":false,\"odd\":7}", NULL },
                { "{\"n\":1,\"s\":null,\"b\":null}", NULL },      /* null: as if absent */
                /* Unknown fields, wherever they are. */
                { "{\"x\":1}", "x" },
                { "{\"n\":1,\"N\":1}", "N" },
                { "{\"n\":\"bad\",\"zz\":1}", "zz" },           /* unknown names are looked for first */
                /* Missing mandatory. */
                { "{}", "n" },
                { "{\"n\":null}", "n" },
                { "{\"s\":\"x\"}", "n" },
                /* Wrong types. */
                { "{\"n\":\"1\"}", "n" },
                { "{\"n\":true}", "n" },
                { "{\"n\":1.0}", "n" },                          /* a real is not an integer */
                { "{\"n\":[1]}", "n" },
                { "{\"n\":1,\"s\":5}", "s" },
                { "{\"n\":1,\"b\":1}", "b" },
                { "{\"n\":1,\"b\":\"true\"}", "b" },
                { "{\"n\":1,\"odd\":4}", "odd" },
                { "{\"n\":1,\"odd\":\"7\"}", "odd" },
                /* Out of range, strictly. */
                { "{\"n\":101}", "n" },
                { "{\"n\":-1}", "n" },
                { "{\"n\":9223372036854775807}", "n" },
                { "{\"n\":1,\"size\":1048577}", "size" },
                /* The first bad field in the table's order. */
                { "{\"b\":1,\"n\":-1}", "n" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                EchoParams p = { .size = -1 };
                const char *bad = "unset";
                json_t *j = json_loads(cases[i].params, 0, NULL);
                int r;

                print_message("%s\n", cases[i].params);
                assert_non_null(j);
                r = varlink_server_dispatch(j, echo_fields, &p, &bad);
                if (cases[i].bad) {
                        assert_int_equal(r, -EINVAL);
                        assert_non_null(bad);
                        assert_string_equal(bad, cases[i].bad);
                } else {
                        assert_int_equal(r, 0);
                        assert_null(bad);
                }
                json_decref(j);
        }

        /* What an accepted call fills, and what it leaves as it was. */
        {
                EchoParams p = { .size = -1, .s = "default" };
                const char *bad;
                json_t *j = json_loads("{\"n\":42,\"b\":true,\"odd\":9,\"s\":null}", 0, NULL);

                assert_int_equal(varlink_server_dispatch(j, echo_fields, &p, &bad), 0);
                assert_int_equal(p.n, 42);
                assert_true(p.b);
                assert_int_equal(p.odd, 9);
                assert_int_equal(p.size, -1);
                assert_string_equal(p.s, "default");
                json_decref(j);
        }
        /* A method without parameters takes none. */
        {
                const char *bad;
                json_t *j = json_loads("{\"n\":1}", 0, NULL);

                assert_int_equal(varlink_server_dispatch(j, NULL, NULL, &bad), -EINVAL);
                assert_string_equal(bad, "n");
                json_decref(j);
        }
}

static int echo(VarlinkServerConn *c, const VarlinkCall *call, void *params, void *userdata) {
        const EchoParams *p = params;
        _cleanup_(freep) char *pad = NULL;

        if (p->fail)
                return -ENOMEM;
        pad = calloc(1, (size_t) p->size + 1);
        if (!pad)
                return -ENOMEM;
        memset(pad, 'x', (size_t) p->size);
        return varlink_server_reply(c, call, json_pack("{s:I, s:s?, s:b, s:s}", "n", (json_int_t) p->n, "s", p->s,
                                                       "b", p->b, "pad", pad));
}

static const VarlinkMethod echo_methods[] = {
        { "org.example.Echo", echo, echo_fields, sizeof(EchoParams) },
};

static VarlinkServer *bare;

/* A bare generic server with one method of its own: no tree, no io.procwatch. */
static int start_bare(const VarlinkServerLimits *l) {
        snprintf(dir, sizeof(dir), "/tmp/test-varlink-server-XXXXXX");
        assert_int_equal(0, tc_mkdtemp(dir));
        snprintf(sock_path, sizeof(sock_path), "%s/run/bare", dir);
        assert_int_equal(sd_event_new(&event), 0);
        assert_int_equal(varlink_server_new(&bare, event, l, NULL), 0);
        assert_int_equal(varlink_server_add_methods(bare, echo_methods, ELEMENTSOF(echo_methods), NULL), 0);
        assert_int_equal(varlink_server_add_methods(bare, echo_methods, ELEMENTSOF(echo_methods), NULL), -EEXIST);
        assert_int_equal(varlink_server_listen(bare, sock_path), 0);
        return 0;
}

static int setup_bare(void **state) {
        VarlinkServerLimits l = VARLINK_SERVER_LIMITS_DEFAULT;

        l.request_max = 1024;
        l.output_chunk = 1024;
        l.output_max = 8192;
        l.stall_usec = l.idle_usec = 3600 * USEC_PER_SEC;
        return start_bare(&l);
}

/* Stall and idle limits short enough for a test, a queue deep enough to stall in. */
static int setup_bare_timed(void **state) {
        VarlinkServerLimits l = VARLINK_SERVER_LIMITS_DEFAULT;

        l.stall_usec = l.idle_usec = 300 * USEC_PER_MSEC;
        return start_bare(&l);
}

static int teardown_bare(void **state) {
        char run[160];

        bare = varlink_server_free(bare);
        assert_int_equal(access(sock_path, F_OK), -1);
        event = sd_event_unref(event);
        snprintf(run, sizeof(run), "%s/run", dir);
        (void) rmdir(run);
        (void) rmdir(dir);
        return 0;
}

/* The dispatch table over the wire: each bad parameter is InvalidParameter naming it, and the
 * connection carries on. */
static void test_bare_dispatch(void **state) {
        TestClient c;
        json_t *msg, *p;

        assert_int_equal(tc_connect(&c), 0);
        msg = tc_call(&c, "{\"method\":\"org.example.Echo\",\"parameters\":{\"n\":7,\"s\":\"hi\",\"size\":3}}");
        p = expect_reply(msg);
        assert_int_equal(json_integer_value(json_object_get(p, "n")), 7);
        assert_string_equal(json_string_value(json_object_get(p, "s")), "hi");
        assert_string_equal(json_string_value(json_object_get(p, "pad")), "xxx");
        json_decref(msg);
        expect_error(tc_call(&c, "{\"method\":\"org.example.Echo\",\"parameters\":{\"n\":1,\"x\":1}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "x");
        expect_error(tc_call(&c, "{\"method\":\"org.example.Echo\",\"parameters\":{\"n\":\"1\"}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "n");
        expect_error(tc_call(&c, "{\"method\":\"org.example.Echo\"}"), PW_VARLINK_ERROR_INVALID_PARAMETER,
                     "parameter", "n");
        expect_error(tc_call(&c, "{\"method\":\"org.example.Echo\",\"parameters\":{\"n\":101}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "n");
        expect_error(tc_call(&c, "{\"method\":\"org.example.Echo\",\"parameters\":{\"n\":1,\"odd\":2}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "odd");
        /* The interfaces it knows are those of its methods: it knows nothing of io.procwatch. */
        expect_error(tc_call(&c, "{\"method\":\"org.example.Nope\"}"), PW_VARLINK_ERROR_METHOD_NOT_FOUND, "method",
                     "org.example.Nope");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Stats\"}"), PW_VARLINK_ERROR_INTERFACE_NOT_FOUND,
                     "interface", "io.procwatch");
        msg = tc_call(&c, "{\"method\":\"org.example.Echo\",\"parameters\":{\"n\":0}}");
        expect_reply(msg);
        json_decref(msg);
        tc_close(&c);
}

static void wait_bare_clients(unsigned n) {
        for (unsigned i = 0; i < 5000 && varlink_server_n_clients(bare) != n; i++)
                pump(2);
        assert_int_equal(varlink_server_n_clients(bare), n);
}

/* Every drop is counted under its cause: what the peer did, or the daemon's own failure, never one
 * for the other. */
static void test_bare_peer_faults(void **state) {
        VarlinkServerStats st;
        TestClient c;
        char big[2048];
        json_t *msg;

        /* A request beyond request_max: answered, then closed as bad framing. */
        memset(big, ' ', sizeof(big));
        big[sizeof(big) - 1] = '\0';
        assert_int_equal(tc_connect(&c), 0);
        assert_int_equal(tc_send(&c, big, sizeof(big)), 0);
        expect_error(tc_read(&c), PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "request");
        assert_null(tc_read(&c));
        tc_close(&c);
        wait_bare_clients(0);
        varlink_server_get_stats(bare, &st);
        assert_int_equal(st.dropped_by_fault[VARLINK_PEER_BAD_FRAMING], 1);
        assert_int_equal(st.clients_dropped, 1);

        /* A reply beyond output_max: the peer's fault, the client goes without a reply. */
        assert_int_equal(tc_connect(&c), 0);
        assert_null(tc_call(&c, "{\"method\":\"org.example.Echo\",\"parameters\":{\"n\":1,\"size\":10000}}"));
        tc_close(&c);
        wait_bare_clients(0);
        varlink_server_get_stats(bare, &st);
        assert_int_equal(st.dropped_by_fault[VARLINK_PEER_OUTPUT_FULL], 1);
        assert_int_equal(st.clients_dropped, 2);
        assert_int_equal(st.clients_failed, 0);

        /* The daemon's own failure (-ENOMEM from a handler): that client goes, counted as ours. */
        assert_int_equal(tc_connect(&c), 0);
        assert_null(tc_call(&c, "{\"method\":\"org.example.Echo\",\"parameters\":{\"n\":1,\"fail\":true}}"));
        tc_close(&c);
        wait_bare_clients(0);
        varlink_server_get_stats(bare, &st);
        assert_int_equal(st.clients_failed, 1);
        assert_int_equal(st.clients_dropped, 3);
        assert_int_equal(st.dropped_by_fault[VARLINK_PEER_BAD_FRAMING], 1);
        assert_int_equal(st.dropped_by_fault[VARLINK_PEER_OUTPUT_FULL], 1);
        assert_int_equal(st.dropped_by_fault[VARLINK_PEER_HANGUP] + st.dropped_by_fault[VARLINK_PEER_STALLED] +
                                 st.dropped_by_fault[VARLINK_PEER_IDLE],
                         0);

        /* A client that ends cleanly is not dropped at all. */
        assert_int_equal(tc_connect(&c), 0);
        msg = tc_call(&c, "{\"method\":\"org.example.Echo\",\"parameters\":{\"n\":1}}");
        expect_reply(msg);
        json_decref(msg);
        tc_close(&c);
        wait_bare_clients(0);
        varlink_server_get_stats(bare, &st);
        assert_int_equal(st.clients_dropped, 3);
        assert_int_equal(st.clients_total, 4);
        assert_int_equal(st.requests, 4);

        for (int f = 0; f < _VARLINK_PEER_FAULT_MAX; f++)
                assert_non_null(varlink_peer_fault_to_string((VarlinkPeerFault) f));
        assert_null(varlink_peer_fault_to_string(_VARLINK_PEER_FAULT_MAX));
}

/* A client that lets its reply sit unread is dropped as stalled, one that does nothing as idle. */
static void test_bare_timeouts(void **state) {
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + DEADLINE_USEC;
        TestClient stalled, idle;
        VarlinkServerStats st;

        assert_int_equal(tc_connect(&stalled), 0);
        assert_int_equal(tc_connect(&idle), 0);
        /* 1 MiB of reply: more than the socket takes, so most of it stays queued. */
        assert_int_equal(tc_send_str(&stalled, "{\"method\":\"org.example.Echo\",\"parameters\":{\"n\":1,\"size\":1048576}}"), 0);
        for (;;) {
                varlink_server_get_stats(bare, &st);
                if (st.dropped_by_fault[VARLINK_PEER_STALLED] == 1 && st.dropped_by_fault[VARLINK_PEER_IDLE] == 1)
                        break;
                pump(10);
                assert_true(now_usec(CLOCK_MONOTONIC) < deadline);
        }
        wait_bare_clients(0);
        assert_int_equal(st.clients_dropped, 2);
        assert_int_equal(st.clients_failed, 0);
        tc_close(&stalled);
        tc_close(&idle);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_dispatch_table),
                cmocka_unit_test_setup_teardown(test_bare_dispatch, setup_bare, teardown_bare),
                cmocka_unit_test_setup_teardown(test_bare_peer_faults, setup_bare, teardown_bare),
                cmocka_unit_test_setup_teardown(test_bare_timeouts, setup_bare_timed, teardown_bare),
                cmocka_unit_test_setup_teardown(test_server_socket_file, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_server_errors, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_server_pipelining_and_splits, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_server_no_nul_then_gone, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_server_random_bytes, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_server_vanish_mid_reply, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_server_large_reply, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_limit_clients, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_limit_request_size, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_limit_depth, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_limit_never_reads, setup_stall, teardown_server),
                cmocka_unit_test_setup_teardown(test_limit_output_max, setup_small_output, teardown_server),
                cmocka_unit_test_setup_teardown(test_limit_nofile, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_limit_idle, setup_idle, teardown_server),
        };

        tc_init("varlink-server");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
