/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one list of event kinds: names both ways, lists of kinds both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event-kind.h"
#include "macro.h"
#include "test-cleanup.h"

static void test_names(void **state) {
        static const char *const want[] = { "ack", "fork", "exec", "uid", "gid", "sid", "ptrace", "comm", "coredump", "exit" };

        assert_int_equal(ELEMENTSOF(want), _PW_EVENT_KIND_MAX);
        for (unsigned k = 0; k < _PW_EVENT_KIND_MAX; k++) {
                assert_string_equal(pw_event_kind_to_string((PwEventKind) k), want[k]);
                assert_int_equal(pw_event_kind_from_string(want[k]), k);
                assert_int_equal(pw_event_kind_is_process_event((PwEventKind) k), k != PW_EVENT_NONE);
        }
        assert_null(pw_event_kind_to_string(_PW_EVENT_KIND_MAX));
        assert_null(pw_event_kind_to_string((PwEventKind) -1));
        assert_int_equal((int) pw_event_kind_from_string("EXEC"), -1);
        assert_int_equal((int) pw_event_kind_from_string(NULL), -1);
        assert_false(pw_event_kind_is_process_event((PwEventKind) -1));
        assert_false(pw_event_kind_is_process_event(_PW_EVENT_KIND_MAX));
}

static void test_lists(void **state) {
        unsigned k;
        char *s;

        assert_int_equal(pw_event_kinds_from_string("fork,uid", &k), 0);
        assert_int_equal(k, PW_EVENT_KIND_BIT(PW_EVENT_FORK) | PW_EVENT_KIND_BIT(PW_EVENT_UID));
        assert_int_equal(pw_event_kinds_from_string("all", &k), 0);
        assert_int_equal(k, PW_EVENT_KINDS_ALL);
        assert_false(k & PW_EVENT_KIND_BIT(PW_EVENT_NONE));
        assert_int_equal(pw_event_kinds_from_string("exec,coredump,ptrace,sid,gid,comm,exec", &k), 0);
        assert_int_equal(k, PW_EVENT_KIND_BIT(PW_EVENT_EXEC) | PW_EVENT_KIND_BIT(PW_EVENT_COREDUMP) |
                                    PW_EVENT_KIND_BIT(PW_EVENT_PTRACE) | PW_EVENT_KIND_BIT(PW_EVENT_SID) |
                                    PW_EVENT_KIND_BIT(PW_EVENT_GID) | PW_EVENT_KIND_BIT(PW_EVENT_COMM));
        assert_int_equal(pw_event_kinds_from_string("exec,bogus", &k), -EINVAL);
        assert_int_equal(pw_event_kinds_from_string("ack", &k), -EINVAL);
        assert_int_equal(pw_event_kinds_from_string("exec,", &k), -EINVAL);
        assert_int_equal(pw_event_kinds_from_string("exec,,exit", &k), -EINVAL);
        assert_int_equal(pw_event_kinds_from_string("", &k), -EINVAL);
        assert_int_equal(pw_event_kinds_from_string(NULL, &k), -EINVAL);
        assert_int_equal(pw_event_kinds_from_string(",exec", &k), -EINVAL);
        assert_int_equal(pw_event_kinds_from_string("all,exec", &k), -EINVAL);
        assert_int_equal(pw_event_kinds_from_string("coredumpcoredump", &k), -EINVAL);

        /* Back, in the order of the enum. */
        s = pw_event_kinds_to_string(PW_EVENT_KIND_BIT(PW_EVENT_EXIT) | PW_EVENT_KIND_BIT(PW_EVENT_EXEC), ",", true);
        assert_string_equal(s, "exec,exit");
        free(s);
        s = pw_event_kinds_to_string(PW_EVENT_KINDS_ALL, ",", true);
        assert_string_equal(s, "all");
        free(s);
        s = pw_event_kinds_to_string(PW_EVENT_KINDS_ALL, " ", false);
        assert_string_equal(s, "fork exec uid gid sid ptrace comm coredump exit");
        /* The literal for help texts is the same list. */
        assert_string_equal(PW_EVENT_KINDS_WORDS, " fork exec uid gid sid ptrace comm coredump exit");
        assert_int_equal(pw_event_kinds_from_string("fork,exec,uid,gid,sid,ptrace,comm,coredump,exit", &k), 0);
        assert_int_equal(k, PW_EVENT_KINDS_ALL);
        free(s);
        s = pw_event_kinds_to_string(0, ",", true);
        assert_string_equal(s, "");
        free(s);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names),
                cmocka_unit_test(test_lists),
        };

        tc_init("event-kind");

        return cmocka_run_group_tests(tests, NULL, NULL);
}
