/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Varlink framing and messages (src/shared/varlink.c) without a server: framing over byte arrays and
 * socket pairs, call parsing, and the UTF-8 and nesting helpers the messages rely on, over tables.
 * The server is tested in test-varlink-server, its methods in test-methods, Events in
 * test-subscriptions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
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
#include "time-util.h"
#include "varlink-server.h"
#include "varlink.h"
#include "test-cleanup.h"

/* --- framing ----------------------------------------------------------------------------------------- */

static void expect_message(VarlinkConn *c, const char *want) {
        char *m;
        size_t len;

        assert_int_equal(varlink_conn_next(c, &m, &len), 1);
        assert_int_equal(len, strlen(want));
        assert_string_equal(m, want);
}

static void test_framing_several_in_one_read(void **state) {
        static const char data[] = "{\"a\":1}\0{\"b\":2}\0{}\0{\"c\"";
        VarlinkConn c;
        char *m;

        varlink_conn_init(&c, -EBADF, 1024, 1024);
        assert_int_equal(varlink_conn_feed(&c, data, sizeof(data) - 1), 0);
        expect_message(&c, "{\"a\":1}");
        expect_message(&c, "{\"b\":2}");
        expect_message(&c, "{}");
        /* The rest has no NUL yet. */
        assert_int_equal(varlink_conn_next(&c, &m, NULL), 0);
        assert_int_equal(varlink_conn_pending_in(&c), 4);
        assert_int_equal(varlink_conn_feed(&c, ":3}", 4), 0);
        expect_message(&c, "{\"c\":3}");
        assert_int_equal(varlink_conn_next(&c, &m, NULL), 0);
        assert_int_equal(varlink_conn_pending_in(&c), 0);
        varlink_conn_done(&c);
}

static void test_framing_one_byte_at_a_time(void **state) {
        static const char data[] = "{\"method\":\"x\"}\0[1,2]\0";
        VarlinkConn c;
        unsigned got = 0;

        varlink_conn_init(&c, -EBADF, 1024, 1024);
        for (size_t i = 0; i < sizeof(data) - 1; i++) {
                char *m;
                size_t len;
                int r;

                assert_int_equal(varlink_conn_feed(&c, data + i, 1), 0);
                r = varlink_conn_next(&c, &m, &len);
                assert_true(r >= 0);
                if (r == 0)
                        continue;
                assert_string_equal(m, got == 0 ? "{\"method\":\"x\"}" : "[1,2]");
                got++;
        }
        assert_int_equal(got, 2);
        varlink_conn_done(&c);
}

static void test_framing_oversize(void **state) {
        char big[100];
        VarlinkConn c;
        char *m;

        memset(big, 'x', sizeof(big));
        /* Exactly the limit is fine. */
        varlink_conn_init(&c, -EBADF, 10, 1024);
        assert_int_equal(varlink_conn_feed(&c, big, 10), 0);
        assert_int_equal(varlink_conn_next(&c, &m, NULL), 0);
        assert_int_equal(varlink_conn_feed(&c, "", 1), 0);
        assert_int_equal(varlink_conn_next(&c, &m, NULL), 1);
        /* One byte more, without its NUL yet: too long already. */
        assert_int_equal(varlink_conn_feed(&c, big, 11), 0);
        assert_int_equal(varlink_conn_next(&c, &m, NULL), -EMSGSIZE);
        varlink_conn_done(&c);

        /* With its NUL, in one piece. */
        varlink_conn_init(&c, -EBADF, 10, 1024);
        assert_int_equal(varlink_conn_feed(&c, big, 11), 0);
        assert_int_equal(varlink_conn_feed(&c, "", 1), 0);
        assert_int_equal(varlink_conn_next(&c, &m, NULL), -EMSGSIZE);
        varlink_conn_done(&c);
}

static void test_framing_output_bound(void **state) {
        VarlinkConn c;
        json_t *j = json_pack("{s:s}", "k", "0123456789");

        /* VARLINK_SERVER_OUTPUT_MAX itself: exactly that much queues, one byte more does not. */
        varlink_conn_init(&c, -EBADF, 16, VARLINK_SERVER_OUTPUT_MAX);
        {
                char *block = calloc(1, VARLINK_SERVER_OUTPUT_MAX);

                assert_non_null(block);
                assert_int_equal(varlink_conn_queue(&c, block, VARLINK_SERVER_OUTPUT_MAX - 1), 0);
                assert_int_equal(varlink_conn_queue(&c, block, 2), -ENOBUFS);
                assert_int_equal(varlink_conn_pending_out(&c), VARLINK_SERVER_OUTPUT_MAX - 1);
                assert_int_equal(varlink_conn_queue(&c, block, 1), 0);
                free(block);
        }
        varlink_conn_done(&c);

        /* A JSON message that does not fit leaves nothing of itself behind. */
        varlink_conn_init(&c, -EBADF, 16, 20);
        assert_int_equal(varlink_conn_queue(&c, "abc", 3), 0);
        assert_int_equal(varlink_conn_queue_json(&c, j, true), -ENOBUFS);
        assert_int_equal(varlink_conn_pending_out(&c), 3);
        varlink_conn_done(&c);
        json_decref(j);
}

static void test_framing_socketpair(void **state) {
        static const char msg[] = "{\"method\":\"io.procwatch.Stats\"}";
        int sv[2];
        VarlinkConn a, b;
        char *m, *big;
        size_t len, total = 0;
        int sndbuf = 4096;

        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf)), 0);
        varlink_conn_init(&a, sv[0], 1 << 20, 4 << 20);
        varlink_conn_init(&b, sv[1], 4 << 20, 1 << 20);

        /* One byte per write, read as it comes. */
        for (size_t i = 0; i < sizeof(msg); i++) {
                assert_int_equal(send(sv[0], msg + i, 1, MSG_NOSIGNAL), 1);
                assert_int_equal(varlink_conn_read(&b, 64), 1);
                if (i + 1 < sizeof(msg))
                        assert_int_equal(varlink_conn_next(&b, &m, &len), 0);
        }
        expect_message(&b, msg);
        assert_int_equal(varlink_conn_read(&b, 64), -EAGAIN);

        /* A message far larger than the socket buffer goes out as the other side reads. */
        big = malloc(3 << 20);
        assert_non_null(big);
        memset(big, 'y', 3 << 20);
        assert_int_equal(varlink_conn_queue(&a, big, 3 << 20), 0);
        assert_int_equal(varlink_conn_queue(&a, "", 1), 0);
        while (varlink_conn_pending_out(&a) > 0) {
                ssize_t n = varlink_conn_write(&a), k;

                assert_true(n >= 0);
                while ((k = varlink_conn_read(&b, 65536)) > 0)
                        total += (size_t) k;
        }
        while (varlink_conn_read(&b, 65536) > 0)
                ;
        assert_int_equal(varlink_conn_next(&b, &m, &len), 1);
        assert_int_equal(len, 3 << 20);
        assert_true(total > 0); /* some of it arrived while the rest still waited */
        free(big);

        /* The peer gone: writing fails, not blocks or raises SIGPIPE. */
        varlink_conn_done(&b);
        assert_int_equal(varlink_conn_queue(&a, "x", 1), 0);
        assert_true(varlink_conn_write(&a) < 0);
        varlink_conn_done(&a);
}

static void test_call_parse(void **state) {
        static const struct {
                const char *text;
                int parse, call;
                const char *bad;
        } cases[] = {
                { "{\"method\":\"a.B\"}", 0, 0, NULL },
                { "{\"method\":\"a.B\",\"parameters\":{},\"oneway\":true,\"more\":false}", 0, 0, NULL },
                { "{\"method\":\"a.B\",\"parameters\":null}", 0, 0, NULL },
                { "{\"method\":\"a.B\",\"parameters\":[]}", 0, -EINVAL, "parameters" },
                { "{\"method\":\"a.B\",\"oneway\":1}", 0, -EINVAL, "oneway" },
                { "{\"method\":\"a.B\",\"more\":\"yes\"}", 0, -EINVAL, "more" },
                { "{\"method\":\"a.B\",\"upgrade\":{}}", 0, -EINVAL, "upgrade" },
                { "{\"method\":5}", 0, -EBADMSG, NULL },
                { "{\"method\":\"\"}", 0, -EBADMSG, NULL },
                { "{}", 0, -EBADMSG, NULL },
                { "[1]", -EBADMSG, 0, NULL },
                { "\"x\"", -EBADMSG, 0, NULL },
                { "{\"method\":", -EBADMSG, 0, NULL },
                { "{\"a\":1,\"a\":2}", -EBADMSG, 0, NULL },
                { "", -EBADMSG, 0, NULL },
                { "{\"method\":\"a\\u0000b\"}", -EBADMSG, 0, NULL },
                { "{\"method\":\"a.B\",\"parameters\":{\"x\":[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[["
                  "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}}", -ELOOP, 0, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                json_t *j = NULL;
                VarlinkCall call;
                const char *bad = NULL;
                int r;

                r = varlink_message_parse(cases[i].text, strlen(cases[i].text), 64, &j);
                if (r != cases[i].parse)
                        fail_msg("case %zu: parse %d, want %d", i, r, cases[i].parse);
                if (r < 0)
                        continue;
                r = varlink_call_parse(j, &call, &bad);
                if (r != cases[i].call)
                        fail_msg("case %zu: call %d, want %d", i, r, cases[i].call);
                if (cases[i].bad)
                        assert_string_equal(bad, cases[i].bad);
                if (r == 0)
                        assert_true(json_is_object(call.parameters));
                json_decref(j);
        }
}

/* --- JSON helpers -------------------------------------------------------------------------------- */

static void test_nesting(void **state) {
        static const struct {
                const char *text;
                unsigned depth; /* the deepest nesting */
        } cases[] = {
                { "", 0 },
                { "1", 0 },
                { "[]", 1 },
                { "{\"a\":[{}]}", 3 },
                { "[[],[],[[]]]", 3 },
                { "\"[[[[\"", 0 },                     /* brackets in a string */
                { "[\"\\\"[[[\"]", 1 },                /* an escaped quote does not end the string */
                { "[\"\\\\\",[[]]]", 3 },              /* an escaped backslash does not escape the quote */
                { "]]]][[", 2 },                       /* malformed: counted, never negative */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                size_t n = strlen(cases[i].text);

                assert_false(json_nesting_exceeds(cases[i].text, n, cases[i].depth));
                if (cases[i].depth > 0)
                        assert_true(json_nesting_exceeds(cases[i].text, n, cases[i].depth - 1));
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_framing_several_in_one_read),
                cmocka_unit_test(test_framing_one_byte_at_a_time),
                cmocka_unit_test(test_framing_oversize),
                cmocka_unit_test(test_framing_output_bound),
                cmocka_unit_test(test_framing_socketpair),
                cmocka_unit_test(test_call_parse),
                cmocka_unit_test(test_nesting),
        };

        tc_init("varlink");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
