/* SPDX-License-Identifier: GPL-2.0-or-later */
/* UTF-8: well-formed sequences by Unicode's table 3-7, sanitising (what JSON gets), the one display
 * escape (what a terminal and the journal's MESSAGE get), cells and fitting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "macro.h"
#include "test-cleanup.h"
#include "utf8.h"

#define R UTF8_REPLACEMENT

static void test_utf8_sanitize(void **state) {
        static const struct {
                const char *in;
                size_t len;
                const char *out;
        } cases[] = {
                { "", 0, "" },
                { "plain ascii", 11, "plain ascii" },
                { "caf\xc3\xa9", 5, "caf\xc3\xa9" },                        /* é */
                { "\xe2\x82\xac", 3, "\xe2\x82\xac" },                      /* € */
                { "\xf0\x9f\x98\x80", 4, "\xf0\x9f\x98\x80" },              /* U+1F600 */
                { "\xf4\x8f\xbf\xbf", 4, "\xf4\x8f\xbf\xbf" },              /* U+10FFFF */
                { "\xff", 1, R },                                           /* never valid */
                { "\xfe\xff", 2, R R },
                { "\x80", 1, R },                                           /* lone continuation */
                { "\xc3", 1, R },                                           /* truncated at the end */
                { "\xc3(", 2, R "(" },                                      /* bad continuation */
                { "\xe2\x82x", 3, R "x" },                                  /* one maximal subpart */
                { "\xf0\x9f\x98", 3, R },
                { "\xc0\xaf", 2, R R },                                     /* overlong '/' */
                { "\xe0\x80\xaf", 3, R R R },                               /* overlong, 3 bytes */
                { "\xf0\x80\x80\xaf", 4, R R R R },                         /* overlong, 4 bytes */
                { "\xed\xa0\x80", 3, R R R },                               /* surrogate U+D800 */
                { "\xed\x9f\xbf", 3, "\xed\x9f\xbf" },                      /* U+D7FF is fine */
                { "\xf4\x90\x80\x80", 4, R R R R },                         /* beyond U+10FFFF */
                { "\xf5\x80", 2, R R },
                { "a\0b", 3, "a" R "b" },                                   /* NUL */
                { "\0", 1, R },
                { "ok\xe9t\xe9", 5, "ok" R "t" R },                         /* Latin-1 */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(freep) char *out = NULL;
                size_t len;
                json_t *j;
                char *dump;

                assert_int_equal(utf8_sanitize(cases[i].in, cases[i].len, &out, &len), 0);
                if (strcmp(out, cases[i].out) != 0)
                        fail_msg("case %zu: got \"%s\"", i, out);
                assert_int_equal(len, strlen(cases[i].out));
                assert_int_equal(utf8_is_clean(cases[i].in, cases[i].len),
                                 cases[i].len == strlen(cases[i].out) && memcmp(cases[i].in, cases[i].out, cases[i].len) == 0);

                /* jansson takes the result, and writes valid JSON of it. */
                j = json_string_sanitized(cases[i].in, cases[i].len);
                assert_non_null(j);
                assert_string_equal(json_string_value(j), cases[i].out);
                dump = json_dumps(j, JSON_ENCODE_ANY);
                assert_non_null(dump);
                free(dump);
                json_decref(j);
        }
}

static void test_escape_display(void **state) {
        static const struct {
                const char *in;
                bool utf8;
                const char *out;
        } cases[] = {
                { "plain", true, "plain" },
                { "a\nb\tc", true, "a\\nb\\tc" },
                { "\x1b[31mred", true, "\\x1b[31mred" },
                { "back\\slash", true, "back\\\\slash" },
                { "del\x7f", true, "del\\x7f" },
                { "caf\xc3\xa9", true, "caf\xc3\xa9" },
                { "caf\xc3\xa9", false, "caf\\xc3\\xa9" },
                { "nel\xc2\x85", true, "nel\\xc2\\x85" },      /* a C1 control */
                { "nbsp\xc2\xa0", true, "nbsp\xc2\xa0" },
                { "bad\xff", true, "bad\\xff" },
                { "trunc\xe2\x82", true, "trunc\\xe2\\x82" },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                _cleanup_(freep) char *out = utf8_escape_display(cases[i].in, strlen(cases[i].in), cases[i].utf8);

                assert_non_null(out);
                if (strcmp(out, cases[i].out) != 0)
                        fail_msg("case %zu: got \"%s\"", i, out);
        }
}

/* One character at a time: what each stands for and how many bytes it took. */
static void test_escape_next(void **state) {
        static const struct {
                const char *in;
                size_t len;
                bool utf8;
                const char *out;
                size_t consumed;
        } cases[] = {
                { "a", 1, true, "a", 1 },
                { "\n", 1, true, "\\n", 1 },
                { "\\", 1, true, "\\\\", 1 },
                { "\0", 1, true, "\\x00", 1 },
                { "\xf0\x9f\x98\x80", 4, true, "\xf0\x9f\x98\x80", 4 },
                { "\xf0\x9f\x98\x80", 4, false, "\\xf0\\x9f\\x98\\x80", 4 }, /* UTF8_ESCAPE_MAX */
                { "\xe2\x82x", 3, true, "\\xe2\\x82", 2 },  /* a maximal subpart, then 'x' */
                { "\xc2\x9b", 2, true, "\\xc2\\x9b", 2 },   /* CSI, a C1 control */
                { "\xc2", 1, true, "\\xc2", 1 },           /* cut at the end of the input */
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                char out[UTF8_ESCAPE_MAX + 1];
                size_t k, n = utf8_escape_next(cases[i].in, cases[i].len, cases[i].utf8, out, &k);

                assert_in_range(n, 1, UTF8_ESCAPE_MAX);
                out[n] = '\0';
                if (strcmp(out, cases[i].out) != 0)
                        fail_msg("case %zu: got \"%s\"", i, out);
                assert_int_equal(k, cases[i].consumed);
        }
}

static void test_cells(void **state) {
        assert_int_equal(utf8_cells(""), 0);
        assert_int_equal(utf8_cells("abc"), 3);
        assert_int_equal(utf8_cells("caf\xc3\xa9"), 4);
        assert_int_equal(utf8_cells("\xf0\x9f\x98\x80!"), 2);
        assert_int_equal(utf8_fit("caf\xc3\xa9s", 4), 5);  /* é whole */
        assert_int_equal(utf8_fit("caf\xc3\xa9s", 3), 3);  /* é not cut */
        assert_int_equal(utf8_fit("caf\xc3\xa9s", 0), 6);  /* 0: all */
        assert_int_equal(utf8_fit("ab", 10), 2);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_utf8_sanitize),
                cmocka_unit_test(test_escape_display),
                cmocka_unit_test(test_escape_next),
                cmocka_unit_test(test_cells),
        };

        tc_init("utf8");

        return cmocka_run_group_tests(tests, NULL, NULL);
}
