/* SPDX-License-Identifier: GPL-2.0-or-later */
/* io.procwatch.Events (src/daemon/subscriptions.c) on the real server over a real socket
 * (server-fixture.h): scripted events published to subscribers with different filters, the subtree
 * depth bound, a subscriber that never reads (bounded, told what it missed, dropped when stuck). */
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
#include "process-filter.h"
#include "procwatch/protocol.h"
#include "proctree.h"
#include "server-fixture.h"
#include "server.h"
#include "time-util.h"
#include "varlink-idl.h"
#include "varlink-server.h"
#include "varlink.h"
#include "test-cleanup.h"

static PwEvent ev_fork(uint64_t ts, pid_t ppid, pid_t pid, pid_t tgid) {
        return (PwEvent){ .kind = PW_EVENT_FORK, .timestamp_ns = ts,
                          .fork = { .parent_pid = ppid, .parent_tgid = ppid, .child_pid = pid, .child_tgid = tgid } };
}

static PwEvent ev_exec(uint64_t ts, pid_t tgid) {
        return (PwEvent){ .kind = PW_EVENT_EXEC, .timestamp_ns = ts, .exec = { .pid = tgid, .tgid = tgid } };
}

static PwEvent ev_exit(uint64_t ts, pid_t pid, pid_t tgid, uint32_t code) {
        return (PwEvent){ .kind = PW_EVENT_EXIT, .timestamp_ns = ts,
                          .exit = { .pid = pid, .tgid = tgid, .code = code, .signal = pid == tgid ? SIGCHLD : -1 } };
}

/* The next event of a stream: kind and pid checked, the message returned. */
static json_t *expect_event(TestClient *c, const char *kind, pid_t pid, pid_t tid) {
        json_t *msg = tc_read(c), *e;

        e = json_object_get(expect_reply(msg), "event");
        if (!json_is_object(e)) {
                char *t = json_dumps(msg, 0);
                fail_msg("expected a %s event of %d, got %s", kind, (int) pid, t);
        }
        assert_true(json_is_true(json_object_get(msg, "continues")));
        assert_string_equal(json_string_value(json_object_get(e, "kind")), kind);
        assert_int_equal(json_integer_value(json_object_get(e, "pid")), pid);
        assert_int_equal(json_integer_value(json_object_get(e, "tid")), tid);
        return msg;
}

/* Nothing more is queued for c. */
static void expect_no_message(TestClient *c) {
        char *m;
        size_t len;

        for (unsigned i = 0; i < 10; i++) {
                pump(2);
                (void) varlink_conn_read(&c->conn, 1 << 20);
        }
        assert_int_equal(varlink_conn_next(&c->conn, &m, &len), 0);
}

static void test_events_filters(void **state) {
        TestClient all, subtree, threads, root_forks, other;
        json_t *msg, *e;

        subscribe(&all, "{}");
        subscribe(&subtree, "{\"pid\":100,\"kinds\":[\"exec\",\"exit\"]}");
        subscribe(&threads, "{\"pid\":300,\"threads\":true}");
        subscribe(&root_forks, "{\"uid\":0,\"kinds\":[\"fork\"]}");
        assert_int_equal(server_n_subscribers(server), 4);

        publish(ev_fork(1000 * MS, 100, 300, 300));    /* bash (uid 1000) forks 300 */
        publish(ev_exec(1001 * MS, 300));
        publish(ev_fork(1002 * MS, 300, 301, 300));    /* a thread of 300 */
        publish(ev_exit(1003 * MS, 301, 300, 0));
        publish(ev_exit(1012 * MS, 300, 300, 3 << 8)); /* lived 12 ms, exit 3 */
        publish(ev_fork(1020 * MS, 1, 400, 400));      /* init (uid 0) forks 400 */
        publish(ev_exit(1021 * MS, 400, 400, 0));

        /* Everything but thread events, in order. */
        json_decref(expect_event(&all, "fork", 300, 300));
        msg = expect_event(&all, "exec", 300, 300);
        e = json_object_get(json_object_get(msg, "parameters"), "event");
        assert_string_equal(json_string_value(json_object_get(json_object_get(e, "process"), "id")),
                            proctree_get(tree, 300)->id);
        assert_false(json_is_true(json_object_get(e, "thread")));
        json_decref(msg);
        msg = expect_event(&all, "exit", 300, 300);
        e = json_object_get(json_object_get(msg, "parameters"), "event");
        assert_int_equal(json_integer_value(json_object_get(e, "lifetime_usec")), 12000);
        assert_int_equal(json_integer_value(json_object_get(e, "time_monotonic_ns")), 1012 * MS);
        assert_int_equal(json_integer_value(
                                 json_object_get(json_object_get(json_object_get(e, "process"), "exit"), "code")),
                         3);
        json_decref(msg);
        msg = expect_event(&all, "fork", 400, 400);
        e = json_object_get(json_object_get(msg, "parameters"), "event");
        assert_int_equal(json_integer_value(json_object_get(e, "parent_pid")), 1);
        json_decref(msg);
        json_decref(expect_event(&all, "exit", 400, 400));
        expect_no_message(&all);

        /* bash's subtree, exec and exit only. */
        json_decref(expect_event(&subtree, "exec", 300, 300));
        json_decref(expect_event(&subtree, "exit", 300, 300));
        expect_no_message(&subtree);

        /* 300 and its threads. */
        json_decref(expect_event(&threads, "fork", 300, 300));
        json_decref(expect_event(&threads, "exec", 300, 300));
        msg = expect_event(&threads, "fork", 300, 301);
        assert_true(json_is_true(json_object_get(json_object_get(json_object_get(msg, "parameters"), "event"), "thread")));
        json_decref(msg);
        json_decref(expect_event(&threads, "exit", 300, 301));
        json_decref(expect_event(&threads, "exit", 300, 300));
        expect_no_message(&threads);

        /* Forks of root's processes. */
        json_decref(expect_event(&root_forks, "fork", 400, 400));
        expect_no_message(&root_forks);

        /* An ordinary client on the same server is not affected, and a subscriber that hangs up is
         * forgotten. */
        assert_int_equal(tc_connect(&other), 0);
        msg = tc_call(&other, "{\"method\":\"io.procwatch.Stats\"}");
        assert_int_equal(json_integer_value(json_object_get(expect_reply(msg), "clients")), 5);
        json_decref(msg);
        tc_close(&all);
        tc_close(&subtree);
        while (server_n_subscribers(server) > 2)
                pump(5);
        publish(ev_fork(1030 * MS, 100, 500, 500));
        tc_close(&threads);
        tc_close(&root_forks);
        tc_close(&other);
        wait_clients(0);
        assert_int_equal(server_n_subscribers(server), 0);
}

/* Events match names by glob too, and a plain name exactly. */
static void test_events_globs(void **state) {
        TestClient glob, exact, none;

        subscribe(&glob, "{\"comm\":\"b*\",\"kinds\":[\"fork\"]}");
        subscribe(&exact, "{\"comm\":\"init\",\"unit\":\"*.scope\",\"kinds\":[\"fork\"]}");
        subscribe(&none, "{\"comm\":\"ini\",\"kinds\":[\"fork\"]}");

        publish(ev_fork(1000 * MS, 100, 300, 300)); /* bash forks 300: a "bash" too */
        publish(ev_fork(1001 * MS, 1, 400, 400));   /* init forks 400: an "init" in init.scope */

        json_decref(expect_event(&glob, "fork", 300, 300));
        expect_no_message(&glob);
        json_decref(expect_event(&exact, "fork", 400, 400));
        expect_no_message(&exact);
        expect_no_message(&none);
        tc_close(&glob);
        tc_close(&exact);
        tc_close(&none);
        wait_clients(0);
}

static void test_events_errors(void **state) {
        TestClient c;
        json_t *msg;

        assert_int_equal(tc_connect(&c), 0);
        /* A stream needs "more". */
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Events\"}"), PW_VARLINK_ERROR_EXPECTED_MORE, NULL, NULL);
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Events\",\"more\":true,\"parameters\":{\"kinds\":[\"ack\"]}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "kinds");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Events\",\"more\":true,\"parameters\":{\"kinds\":\"fork\"}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "kinds");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Events\",\"more\":true,\"parameters\":{\"pid\":0}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "pid");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Events\",\"more\":true,\"parameters\":{\"threads\":1}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "threads");
        expect_error(tc_call(&c, "{\"method\":\"io.procwatch.Events\",\"more\":true,\"parameters\":{\"colour\":1}}"),
                     PW_VARLINK_ERROR_INVALID_PARAMETER, "parameter", "colour");
        assert_int_equal(server_n_subscribers(server), 0);
        /* Still a plain connection; then a subscription, after which further calls are ignored. */
        json_decref(tc_call(&c, "{\"method\":\"io.procwatch.Stats\"}"));
        assert_int_equal(tc_send_str(&c, "{\"method\":\"io.procwatch.Events\",\"more\":true}"), 0);
        msg = tc_read(&c); /* json_is_true() evaluates its argument twice */
        assert_true(json_is_true(json_object_get(expect_reply(msg), "ready")));
        json_decref(msg);
        assert_int_equal(tc_send_str(&c, "{\"method\":\"io.procwatch.Stats\"}"), 0);
        expect_no_message(&c);
        publish(ev_fork(1000 * MS, 1, 600, 600));
        json_decref(expect_event(&c, "fork", 600, 600));
        tc_close(&c);
        wait_clients(0);
}

/* A subtree filter follows at most PW_SUBTREE_DEPTH_MAX parents: a chain of processes deeper than
 * that costs bounded work per event, and what lies deeper is not matched. */
static void test_events_subtree_depth(void **state) {
        const pid_t base = 30000, n = (pid_t) PW_SUBTREE_DEPTH_MAX + 10;
        TestClient c;
        char params[64];

        /* 30000 forks 30001 forks 30002 ...: each the parent of the next. */
        apply(ev_fork(1000 * MS, 1, base, base));
        for (pid_t i = 1; i < n; i++)
                apply(ev_fork(1000 * MS + (uint64_t) i, base + i - 1, base + i, base + i));
        snprintf(params, sizeof(params), "{\"pid\":%d,\"kinds\":[\"exit\"]}", (int) base);
        subscribe(&c, params);
        /* Within the bound: seen. */
        publish(ev_exit(2000 * MS, base + (pid_t) PW_SUBTREE_DEPTH_MAX - 1, base + (pid_t) PW_SUBTREE_DEPTH_MAX - 1, 0));
        json_decref(expect_event(&c, "exit", base + (pid_t) PW_SUBTREE_DEPTH_MAX - 1,
                                 base + (pid_t) PW_SUBTREE_DEPTH_MAX - 1));
        /* Beyond it: not. */
        publish(ev_exit(2001 * MS, base + n - 1, base + n - 1, 0));
        expect_no_message(&c);
        tc_close(&c);
        wait_clients(0);
}

#define SMALL_EVENTS_BUFFER 8192U

static int setup_small_events(void **state) {
        ServerLimits l = untimed_limits();

        l.events.events_buffer_max = SMALL_EVENTS_BUFFER;
        return start_server(&l);
}

static int setup_small_events_stall(void **state) {
        ServerLimits l = untimed_limits();

        l.transport.stall_usec = 300 * USEC_PER_MSEC;
        l.events.events_buffer_max = SMALL_EVENTS_BUFFER;
        return start_server(&l);
}

/* A subscriber that reads nothing while 20,000 events go by: its buffer stays bounded, a reader
 * beside it gets every event, an ordinary client is answered at once; when it reads at last it gets
 * events in order and is told exactly how many it missed. */
#define STORM_PAIRS 10000U

static void test_events_slow_subscriber(void **state) {
        TestClient slow, fast, other;
        uint64_t received = 0, missed = 0, fast_received = 0, last_ns = 0;
        json_t *msg, *p;

        subscribe(&slow, "{}");
        subscribe(&fast, "{}");
        assert_int_equal(tc_connect(&other), 0);
        for (unsigned i = 0; i < STORM_PAIRS; i++) {
                publish(ev_fork((2000 + i) * MS, 100, 20000 + (pid_t) i, 20000 + (pid_t) i));
                publish(ev_exit((2000 + i) * MS + 1, 20000 + (pid_t) i, 20000 + (pid_t) i, 0));
                assert_true(server_max_backlog(server) <= SMALL_EVENTS_BUFFER);
                /* The fast one reads as it goes. */
                pump(0);
                while (varlink_conn_read(&fast.conn, 1 << 20) > 0)
                        ;
                for (;;) {
                        char *m;
                        size_t len;
                        json_t *j;
                        int r = varlink_conn_next(&fast.conn, &m, &len);

                        assert_true(r >= 0);
                        if (r == 0)
                                break;
                        assert_int_equal(varlink_message_parse(m, len, 64, &j), 0);
                        assert_null(json_object_get(json_object_get(j, "parameters"), "missed"));
                        fast_received++;
                        json_decref(j);
                }
                if (i % 2000 == 0) {
                        uint64_t t0 = now_usec(CLOCK_MONOTONIC);

                        msg = tc_call(&other, "{\"method\":\"io.procwatch.Show\",\"parameters\":{\"pid\":100}}");
                        expect_reply(msg);
                        json_decref(msg);
                        if (i == 0)
                                print_message("Show beside a stuck subscriber: %llu us\n",
                                              (unsigned long long) (now_usec(CLOCK_MONOTONIC) - t0));
                }
        }
        /* The slow one reads now: events in order, the gaps announced. */
        while (received + missed < 2 * STORM_PAIRS) {
                json_t *e;

                msg = tc_read(&slow);
                p = expect_reply(msg);
                e = json_object_get(p, "event");
                if (json_is_object(e)) {
                        uint64_t ns = (uint64_t) json_integer_value(json_object_get(e, "time_monotonic_ns"));

                        assert_true(ns > last_ns);
                        last_ns = ns;
                        received++;
                } else {
                        assert_true(json_integer_value(json_object_get(p, "missed")) > 0);
                        missed += (uint64_t) json_integer_value(json_object_get(p, "missed"));
                }
                json_decref(msg);
        }
        assert_int_equal(received + missed, 2 * STORM_PAIRS);
        assert_true(missed > 0);
        assert_true(received > 0);
        /* The fast reader lost nothing. */
        while (fast_received < 2 * STORM_PAIRS) {
                msg = tc_read(&fast);
                assert_null(json_object_get(expect_reply(msg), "missed"));
                json_decref(msg);
                fast_received++;
        }
        /* Stats says the same. */
        msg = tc_call(&other, "{\"method\":\"io.procwatch.Stats\"}");
        p = expect_reply(msg);
        assert_int_equal(json_integer_value(json_object_get(p, "subscribers")), 2);
        assert_int_equal(json_integer_value(json_object_get(p, "events_published")), 2 * STORM_PAIRS);
        assert_int_equal(json_integer_value(json_object_get(p, "events_missed")), missed);
        json_decref(msg);
        tc_close(&slow);
        tc_close(&fast);
        tc_close(&other);
        wait_clients(0);
}

/* One that stays stuck past the stall bound is disconnected; the others stay. */
static void test_events_stuck_subscriber(void **state) {
        TestClient stuck, other;
        uint64_t start = now_usec(CLOCK_MONOTONIC);
        json_t *msg;

        subscribe(&stuck, "{}");
        assert_int_equal(tc_connect(&other), 0);
        for (unsigned i = 0; i < 3000; i++) {
                publish(ev_fork((2000 + i) * MS, 100, 20000 + (pid_t) i, 20000 + (pid_t) i));
                publish(ev_exit((2000 + i) * MS + 1, 20000 + (pid_t) i, 20000 + (pid_t) i, 0));
                pump(0);
        }
        while (server_n_subscribers(server) > 0) {
                pump(10);
                assert_true(now_usec(CLOCK_MONOTONIC) - start < DEADLINE_USEC);
        }
        msg = tc_call(&other, "{\"method\":\"io.procwatch.Stats\"}");
        assert_int_equal(json_integer_value(json_object_get(expect_reply(msg), "clients_dropped")), 1);
        json_decref(msg);
        tc_close(&stuck);
        tc_close(&other);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_events_filters, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_events_globs, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_events_errors, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_events_subtree_depth, setup_server, teardown_server),
                cmocka_unit_test_setup_teardown(test_events_slow_subscriber, setup_small_events, teardown_server),
                cmocka_unit_test_setup_teardown(test_events_stuck_subscriber, setup_small_events_stall, teardown_server),
        };

        tc_init("subscriptions");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
