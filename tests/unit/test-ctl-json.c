/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchctl's --json output from the reply's text (ctl-json.c) against the object path it
 * replaces (jansson parse, ctl_add_user(), ctl_nest_tree(), JSON_INDENT(2) dump): the same bytes for
 * daemon-made replies with hostile records, for trees in any order, with duplicate ids and missing
 * parents; and the cases it leaves to the object path or refuses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-format.h"
#include "ctl-json.h"
#include "json-util.h"
#include "json-writer.h"
#include "procjson.h"
#include "proctree.h"
#include "test-cleanup.h"

#define MS 1000000ULL

/* What the object path prints for the reply msg. */
static char *object_path(const char *msg, bool nest) {
        json_t *m = json_loadb(msg, strlen(msg), 0, NULL), *procs, *p, *roots = NULL;
        char *out = NULL;
        size_t len = 0, i;
        FILE *f = open_memstream(&out, &len);

        assert_non_null(m);
        assert_non_null(f);
        procs = json_object_get(json_object_get(m, "parameters"), "processes");
        json_array_foreach(procs, i, p)
                assert_int_equal(ctl_add_user(p, false), 0);
        if (nest)
                assert_int_equal(ctl_nest_tree(procs, &roots), 0);
        assert_int_equal(json_dumpf(nest ? roots : procs, f, JSON_INDENT(2)), 0);
        fputc('\n', f);
        fclose(f);
        json_decref(roots);
        json_decref(m);
        return out;
}

static char *text_path(const char *msg, bool nest, int *ret) {
        char *out = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&out, &len);

        assert_non_null(f);
        *ret = ctl_json_print_processes(f, msg, strlen(msg), nest, false);
        fclose(f);
        return out;
}

/* As text_path(), the message fed in pieces of step bytes as procwatchctl reads it, each time from a
 * buffer of its own (a read buffer moves as it grows). */
static char *fed_path(const char *msg, bool nest, size_t step, int *ret) {
        _cleanup_(ctl_json_reply_freep) CtlJsonReply *x = NULL;
        size_t len = strlen(msg);
        char *out = NULL;
        size_t out_len = 0;
        FILE *f = open_memstream(&out, &out_len);

        assert_non_null(f);
        assert_int_equal(ctl_json_reply_new(&x), 0);
        for (size_t n = 0; n < len; n += step) {
                _cleanup_(freep) char *copy = strndup(msg, n);

                assert_non_null(copy);
                assert_int_equal(ctl_json_reply_feed(x, copy, n), 0);
        }
        *ret = ctl_json_reply_print(x, f, msg, len, nest, false);
        fclose(f);
        return out;
}

static const size_t steps[] = { 1, 7, 64, 1000 };

/* The text path prints what the object path does, for ps and tree; with fed, also when the message
 * came in pieces. */
static void check_same_as(const char *msg, bool fed_too) {
        for (int nest = 0; nest < 2; nest++) {
                _cleanup_(freep) char *want = object_path(msg, nest), *got = NULL;
                int r;

                got = text_path(msg, nest, &r);
                assert_int_equal(r, 0);
                if (strcmp(want, got) != 0)
                        fail_msg("%s: text path differs:\n--- object path\n%.3000s\n--- text path\n%.3000s",
                                 nest ? "tree" : "ps", want, got);
                for (size_t i = 0; fed_too && i < ELEMENTSOF(steps); i++) {
                        _cleanup_(freep) char *fed = NULL;

                        /* Each piece is a copy of all before it: small steps for small messages. */
                        if (strlen(msg) / steps[i] > 4096)
                                continue;
                        fed = fed_path(msg, nest, steps[i], &r);

                        assert_int_equal(r, 0);
                        if (strcmp(want, fed) != 0)
                                fail_msg("%s, fed %zu bytes at a time: differs:\n%.3000s", nest ? "tree" : "ps",
                                         steps[i], fed);
                }
        }
}

static void check_same(const char *msg) {
        check_same_as(msg, true);
}

/* A reply as methods.c streams it, from a tree with hostile records. */
static char *daemon_reply(ProcTree *t, bool reverse) {
        static const ProcJsonContext ctx = { .realtime_offset_ns = 1700000000LL * 1000000000LL, .now_ns = 9000 * MS };
        JsonWriter w = JSON_WRITER_INIT;
        PwProcess *v[64];
        size_t n = proctree_collect(t, PROCTREE_WALK_LIVE | PROCTREE_WALK_RETAINED, v, ELEMENTSOF(v));

        json_writer_append(&w, "{\"parameters\":{\"processes\":[", 28);
        for (size_t i = 0; i < n; i++)
                assert_int_equal(procjson_write_process(&w, v[reverse ? n - 1 - i : i], &ctx), 0);
        json_writer_append(&w, "]}}", 4);
        assert_int_equal(json_writer_error(&w), 0);
        return w.buf;
}

static void add_proc(ProcTree *t, pid_t pid, pid_t ppid, const char *comm, const char *argv, size_t argv_len,
                     uint32_t uid) {
        PwProcInfo i = {
                .stat = { .pid = pid, .ppid = ppid, .sid = 1, .state = 'S' },
                .start_ns = (uint64_t) pid * MS,
                .have_status = true,
                .uid = uid, .euid = uid, .gid = uid, .egid = uid,
                .exe = (char *) "/usr/bin/\"x\"\\\xff",
                .argv = (char *) argv,
                .argv_len = argv_len,
                .cgroup = (char *) "/a\tb\x01",
                .unit = (char *) "u\xc3\xa9.service",
        };

        strncpy(i.stat.comm, comm, PW_COMM_MAX);
        assert_int_equal(proctree_add_from_proc(t, &i, PW_SOURCE_SCAN, 100), 0);
}

static void test_daemon_replies(void **state) {
        static const char argv[] = "sh\0-c\0echo \"hi\" \\ \xff\xfe\x01\n";
        _cleanup_(proctree_freep) ProcTree *t = NULL;
        PwEvent e = { .kind = PW_EVENT_EXIT, .timestamp_ns = 800 * MS };

        assert_int_equal(proctree_new(&t, NULL), 0);
        add_proc(t, 1, 0, "init", "init", 5, 0);
        add_proc(t, 10, 1, "a\"b", argv, sizeof(argv), 1000);
        add_proc(t, 11, 10, "c\\d\xff", argv, sizeof(argv), 4294967294U);
        add_proc(t, 12, 10, "e", argv, sizeof(argv), 0);
        add_proc(t, 13, 11, "f", "", 0, 65534);
        add_proc(t, 20, 1, "g", argv, sizeof(argv), 1000);
        e.exit = (typeof(e.exit)){ .pid = 12, .tgid = 12, .code = 9 };
        assert_int_equal(proctree_apply(t, &e, NULL), 0);
        for (int reverse = 0; reverse < 2; reverse++) {
                _cleanup_(freep) char *msg = daemon_reply(t, reverse);

                check_same(msg);
        }
}

/* Trees the daemon's order would not give: children before parents, ids given twice, parents
 * unknown, records without "children" or with an "euid" that is no uid. */
static void test_odd_trees(void **state) {
        static const char *const msgs[] = {
                "{\"parameters\":{\"processes\":[]}}",
                "{\"parameters\":{\"processes\":[{}]}}" /* no id: the object path refuses it, for tree */,
                "{\"parameters\":{\"processes\":[{\"id\":\"2:1\",\"parent_id\":\"1:1\",\"euid\":0,\"children\":[]},"
                "{\"id\":\"1:1\",\"parent_id\":null,\"euid\":1000,\"children\":[2]},"
                "{\"id\":\"3:1\",\"parent_id\":\"1:1\",\"euid\":-1},"
                "{\"id\":\"1:1\",\"parent_id\":\"1:1\",\"euid\":\"x\",\"children\":[]},"
                "{\"id\":\"4:1\",\"parent_id\":\"1:1\",\"euid\":4294967296,\"children\":[],\"z\":{\"a\":[1,{}]}},"
                "{\"id\":\"5:1\",\"parent_id\":\"4:1\",\"children\":[[],{\"q\":\"\\u001F\\\"\"}],\"a\":true}]},"
                "\"more\":[1,2]}",
                " { \"parameters\" : { \"x\" : 1 , \"processes\" : [ { \"id\" : \"1:1\" , \"euid\" : 5 } ] } } ",
        };

        for (size_t i = 0; i < ELEMENTSOF(msgs); i++) {
                int r;

                if (i == 1) {
                        _cleanup_(freep) char *want = object_path(msgs[i], false), *got = text_path(msgs[i], false, &r);

                        assert_int_equal(r, 0);
                        assert_string_equal(want, got);
                        free(text_path(msgs[i], true, &r));
                        assert_int_equal(r, -ENOMSG);
                        continue;
                }
                check_same(msgs[i]);
        }
}

/* Text jansson would write otherwise goes to the object path (-EDOM); errors and other replies too
 * (-ENOMSG); text that is not JSON is refused (-EBADMSG). Nothing is written in any of these. */
static void test_left_to_the_object_path(void **state) {
        static const struct {
                const char *msg;
                int r;
        } cases[] = {
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",\"x\":1.5}]}}", -EDOM },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",\"x\":\"a\\/b\"}]}}", -EDOM },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",\"x\":\"\\u0041\"}]}}", -EDOM },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",\"x\":\"\\u001b\"}]}}", -EDOM },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",\"x\":99999999999999999999}]}}", -EDOM },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",\"x\":-0}]}}", -EDOM },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",\"id\":\"2:1\"}]}}", -EDOM },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",\"user\":\"x\"}]}}", -EDOM },
                { "{\"error\":\"io.procwatch.NoSuchProcess\",\"parameters\":{\"processes\":[]}}", -ENOMSG },
                { "{\"parameters\":{}}", -ENOMSG },
                { "{\"parameters\":{\"processes\":[1]}}", -ENOMSG },
                { "{\"parameters\":{\"processes\":null}}", -ENOMSG },
                /* Good records first, then one that is not: also when the good ones were scanned early. */
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\"},{\"id\":\"2:1\",\"x\":1.5},{\"id\":\"3:1\"}]}}", -EDOM },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\"},{\"id\":\"2:1\",\"x\":1e}]}}", -EBADMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\"},2]}}", -ENOMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\"}]},\"error\":\"x\"}", -ENOMSG },
                { "{\"parameters\":{\"processes\":[],\"processes\":null}}", -EDOM },
                { "{\"parameters\":{\"processes\":[]},\"parameters\":{}}", -EDOM },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\"},]}}", -EBADMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\"}],}}", -EBADMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\"}]},}", -EBADMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",\"x\":[1,]}]}}", -EBADMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",\"x\":\"\"", -EBADMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\"}]}", -EBADMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",}]}}", -EBADMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":\"\xff\"}]}}", -EBADMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":\"\\ud800\"}]}}", -EBADMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":\"\\u0000\"}]}}", -EBADMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":\"a\nb\"}]}}", -EBADMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":01}]}}", -EBADMSG },
                { "{\"parameters\":{\"processes\":[{\"id\":tru}]}}", -EBADMSG },
                { "{\"parameters\":{\"processes\":[]}} x", -EBADMSG },
                { "", -EBADMSG },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                for (int nest = 0; nest < 2; nest++) {
                        int r;
                        _cleanup_(freep) char *got = text_path(cases[i].msg, nest, &r);

                        if (r != cases[i].r)
                                fail_msg("case %zu (%s): %d, not %d", i, cases[i].msg, r, cases[i].r);
                        assert_string_equal(got, "");
                        /* The same verdict when the records were scanned as they came. */
                        for (size_t k = 0; k < ELEMENTSOF(steps); k++) {
                                _cleanup_(freep) char *fed = fed_path(cases[i].msg, nest, steps[k], &r);

                                if (r != cases[i].r)
                                        fail_msg("case %zu fed by %zu: %d, not %d", i, steps[k], r, cases[i].r);
                                assert_string_equal(fed, "");
                        }
                }
}

/* Strings whose special byte (a control, a quote or backslash escaped, UTF-8, DEL) stands at every
 * place within the eight bytes the scanner reads at once, and every printable byte: as the object
 * path, or refused where jansson refuses too. */
static void test_string_bytes(void **state) {
        static const char *const specials[] = { "\\\"", "\\\\", "\xc3\xa9", "\xe2\x82\xac", "\x7f", "\\n", "\\u001F", "~" };
        char msg[256], s[64];

        for (size_t k = 0; k < 18; k++) {
                for (size_t i = 0; i < ELEMENTSOF(specials); i++) {
                        snprintf(msg, sizeof(msg), "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",\"x\":\"%.*s%s%s\"}]}}",
                                 (int) k, "abcdefghijklmnopqrstuvwxyz", specials[i], "tail");
                        check_same_as(msg, false);
                }
                for (unsigned c = 1; c < 0x80; c++) {
                        int r;

                        if (c == '"' || c == '\\')
                                continue;
                        snprintf(s, sizeof(s), "%.*s%c", (int) k, "abcdefghijklmnopqrstuvwxyz", (char) c);
                        snprintf(msg, sizeof(msg), "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",\"x\":\"%szz\"}]}}", s);
                        if (c >= 0x20) {
                                check_same_as(msg, false);
                                continue;
                        }
                        free(text_path(msg, false, &r));
                        assert_int_equal(r, -EBADMSG);
                }
                /* A lone continuation byte, and a truncated sequence, at that place. */
                for (unsigned c = 0x80; c < 0x100; c += 0x41) {
                        int r;

                        snprintf(msg, sizeof(msg), "{\"parameters\":{\"processes\":[{\"id\":\"1:1\",\"x\":\"%.*s%czz\"}]}}",
                                 (int) k, "abcdefghijklmnopqrstuvwxyz", (char) c);
                        free(text_path(msg, false, &r));
                        assert_int_equal(r, -EBADMSG);
                }
        }
}

/* A reply of n records, record i with the id id_of(i) and the parent parent_of(i), every other one
 * with "children" of its own, against the object path. */
static void check_family(size_t n, size_t (*id_of)(size_t i), size_t (*parent_of)(size_t i)) {
        _cleanup_(freep) char *msg = malloc(n * 96 + 64);
        size_t len = 0;

        if (!msg) {
                fail_msg("out of memory");
                return; /* for a compiler that does not know fail_msg() ends the test */
        }
        len += (size_t) sprintf(msg, "{\"parameters\":{\"processes\":[");
        for (size_t i = 1; i <= n; i++)
                len += (size_t) sprintf(msg + len, "%s{\"id\":\"%zu:1\",\"parent_id\":\"%zu:1\",\"euid\":%zu,%s\"x\":[{}]}",
                                        i > 1 ? "," : "", id_of(i), parent_of(i), i % 3,
                                        i % 2 ? "\"children\":[1]," : "");
        strcpy(msg + len, "]}}");
        check_same(msg);
}

static size_t itself(size_t i) {
        return i;
}

static size_t previous(size_t i) {
        return i - 1;
}

static size_t half(size_t i) {
        return i / 2;
}

/* Now and then an id given again: children then go to the latest record with it. */
static size_t some_repeated(size_t i) {
        return i % 997 == 0 ? 5 : i;
}

/* A chain of processes, each the child of the one before: nested as deep as the chain is long, each
 * level indented the same as the object path does. */
static void test_chain(void **state) {
        check_family(300, itself, previous);
}

/* Each the child of the one at half its index: a tree as wide as it is deep. */
static void test_many(void **state) {
        check_family(2500, some_repeated, half);
}

/* Nesting deeper than a record may hold is left to the object path, never a stack overflow. */
static void test_deep(void **state) {
        size_t depth = 100000, n = 0;
        _cleanup_(freep) char *msg = malloc(depth * 2 + 64);
        int r;

        assert_non_null(msg);
        n += (size_t) sprintf(msg, "{\"parameters\":{\"processes\":[{\"x\":");
        for (size_t i = 0; i < depth; i++)
                msg[n++] = '[';
        for (size_t i = 0; i < depth; i++)
                msg[n++] = ']';
        strcpy(msg + n, "}]}}");
        free(text_path(msg, false, &r));
        assert_int_equal(r, -EDOM);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_daemon_replies),
                cmocka_unit_test(test_odd_trees),
                cmocka_unit_test(test_left_to_the_object_path),
                cmocka_unit_test(test_string_bytes),
                cmocka_unit_test(test_chain),
                cmocka_unit_test(test_many),
                cmocka_unit_test(test_deep),
        };

        tc_init("ctl-json");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
