/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The streaming JSON writer: its text is what jansson's compact dump makes of the same values, byte
 * for byte (strings of every byte value and every pair of bytes, random hostile strings, integers at
 * their limits, nesting), it always parses, and its comma state survives text handed out in pieces. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "json-writer.h"
#include "test-cleanup.h"

/* What jansson writes for the string s (n bytes), made valid as procwatchd always did. */
static char *jansson_text(const char *s, size_t n) {
        json_t *j = json_string_sanitized(s, n);
        char *text;

        assert_non_null(j);
        text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
        json_decref(j);
        assert_non_null(text);
        return text;
}

static void check_string(JsonWriter *w, const char *s, size_t n) {
        char *want = jansson_text(s, n);
        json_t *back;

        json_writer_reset(w);
        json_writer_string(w, s, n);
        assert_int_equal(json_writer_error(w), 0);
        if (w->len != strlen(want) || memcmp(w->buf, want, w->len) != 0)
                fail_msg("writer %.*s, jansson %s", (int) w->len, w->buf, want);
        back = json_loadb(w->buf, w->len, JSON_DECODE_ANY, NULL);
        assert_non_null(back);
        json_decref(back);
        free(want);
}

static void test_every_byte_and_pair(void **state) {
        JsonWriter w = JSON_WRITER_INIT;
        char s[3];

        for (unsigned a = 0; a < 256; a++) {
                s[0] = (char) a;
                check_string(&w, s, 1);
                for (unsigned b = 0; b < 256; b++) {
                        s[1] = (char) b;
                        check_string(&w, s, 2);
                }
        }
        /* Three-byte forms around the surrogates and overlongs, and truncated four-byte ones. */
        for (unsigned b = 0x80; b < 0xC0; b++) {
                const char t[][4] = { { '\xE0', (char) b, '\x80' }, { '\xED', (char) b, '\x80' },
                                      { '\xF0', (char) b, '\x80' }, { '\xF4', (char) b, '\x80' } };

                for (size_t i = 0; i < ELEMENTSOF(t); i++)
                        check_string(&w, t[i], 3);
        }
        json_writer_done(&w);
}

/* A small deterministic generator: the same strings every run. */
static uint32_t rnd(uint64_t *x) {
        *x = *x * 6364136223846793005ULL + 1442695040888963407ULL;
        return (uint32_t) (*x >> 33);
}

static void test_random_hostile_strings(void **state) {
        static const char pieces[][5] = { "\"", "\\", "\n", "\t", "\x01", "\x1f", "\x7f", "/", "\xc3\xa9",
                                          "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xed\xa0\x80", "\xc0\xaf",
                                          "\xff", "\x80", "a", "\xe2\x80\xa8" };
        JsonWriter w = JSON_WRITER_INIT;
        uint64_t x = 42;
        char s[256];

        for (unsigned i = 0; i < 20000; i++) {
                size_t n = 0, want = rnd(&x) % 64;

                while (n < want) {
                        if (rnd(&x) % 3 == 0)
                                s[n++] = (char) rnd(&x); /* any byte, NUL included */
                        else {
                                const char *p = pieces[rnd(&x) % ELEMENTSOF(pieces)];
                                size_t k = strlen(p);

                                memcpy(s + n, p, k);
                                n += k;
                        }
                }
                check_string(&w, s, n);
        }
        /* A long clean run, and one with a bad byte at the very end. */
        {
                size_t n = 100000;
                char *big = malloc(n);

                assert_non_null(big);
                memset(big, 'x', n);
                check_string(&w, big, n);
                big[n - 1] = '\xc3';
                check_string(&w, big, n);
                free(big);
        }
        check_string(&w, NULL, 0);
        json_writer_done(&w);
}

static void test_integers(void **state) {
        static const int64_t values[] = { 0, 1, -1, 9, 10, -10, 4194304, INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN,
                                          INT64_MIN + 1, 1000000000000000000LL };
        JsonWriter w = JSON_WRITER_INIT;

        for (size_t i = 0; i < ELEMENTSOF(values); i++) {
                json_t *j = json_integer(values[i]);
                char *want = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);

                json_writer_reset(&w);
                json_writer_int(&w, values[i]);
                assert_int_equal(w.len, strlen(want));
                assert_memory_equal(w.buf, want, w.len);
                free(want);
                json_decref(j);
        }
        json_writer_reset(&w);
        json_writer_uint(&w, UINT64_MAX);
        assert_int_equal(w.len, strlen("18446744073709551615"));
        assert_memory_equal(w.buf, "18446744073709551615", w.len);
        json_writer_done(&w);
}

static void test_nesting_matches_jansson(void **state) {
        _cleanup_(json_writer_done) JsonWriter w = JSON_WRITER_INIT;
        json_t *want = json_pack("{s:[], s:{}, s:[i, [], {s:n, s:b}, [[s]]], s:{s:{s:b}}, s:s#}", "a", "b", "c", 1,
                                 "x", "y", 0, "deep", "d", "e", "f", 1, "g", "q\"\\", (size_t) 3);
        char *want_text = json_dumps(want, JSON_COMPACT);

        json_writer_object_begin(&w);
        json_writer_key(&w, "a");
        json_writer_array_begin(&w);
        json_writer_array_end(&w);
        json_writer_key(&w, "b");
        json_writer_object_begin(&w);
        json_writer_object_end(&w);
        json_writer_key(&w, "c");
        json_writer_array_begin(&w);
        json_writer_int(&w, 1);
        json_writer_array_begin(&w);
        json_writer_array_end(&w);
        json_writer_object_begin(&w);
        /* A literal key as the first member and after a comma: as json_writer_key() writes it. */
        json_writer_key_literal(&w, "x");
        json_writer_null(&w);
        json_writer_key_literal(&w, "y");
        json_writer_bool(&w, false);
        json_writer_object_end(&w);
        json_writer_array_begin(&w);
        json_writer_array_begin(&w);
        json_writer_cstring(&w, "deep");
        json_writer_array_end(&w);
        json_writer_array_end(&w);
        json_writer_array_end(&w);
        json_writer_key(&w, "d");
        /* A jansson value inside, as the resources objects are written. */
        json_writer_json_steal(&w, json_pack("{s:{s:b}}", "e", "f", 1));
        json_writer_key_literal(&w, "g");
        json_writer_string(&w, "q\"\\", 3);
        json_writer_object_end(&w);
        assert_int_equal(json_writer_error(&w), 0);
        assert_int_equal(w.len, strlen(want_text));
        assert_memory_equal(w.buf, want_text, w.len);
        free(want_text);
        json_decref(want);
}

/* A reply handed out in pieces (methods.c's List and Tree): commas stay right across the pieces, and
 * appended bytes take no comma. */
static void test_pieces(void **state) {
        _cleanup_(json_writer_done) JsonWriter w = JSON_WRITER_INIT;
        char all[256] = "[";
        size_t n = 1;

        json_writer_array_begin(&w); /* the head, as if written elsewhere */
        json_writer_clear_text(&w);
        for (int i = 0; i < 5; i++) {
                json_writer_int(&w, i);
                json_writer_raw_value(&w, "{}", 2);
                memcpy(all + n, w.buf, w.len);
                n += w.len;
                json_writer_clear_text(&w);
        }
        json_writer_append(&w, "]", 2);
        memcpy(all + n, w.buf, w.len);
        assert_string_equal(all, "[0,{},1,{},2,{},3,{},4,{}]");
}

static void test_failure_is_sticky(void **state) {
        _cleanup_(json_writer_done) JsonWriter w = JSON_WRITER_INIT;

        /* Failed before the first byte: nothing is written, whichever call comes. */
        w.failed = true;
        json_writer_key_literal(&w, "k");
        json_writer_key(&w, "k");
        json_writer_cstring(&w, "v");
        assert_int_equal(w.len, 0);
        assert_null(w.buf);
        w.failed = false;
        json_writer_reset(&w);

        json_writer_array_begin(&w);
        json_writer_json(&w, NULL); /* what a failed jansson constructor hands over */
        assert_int_equal(json_writer_error(&w), -ENOMEM);
        json_writer_int(&w, 5);
        json_writer_array_end(&w);
        assert_int_equal(w.len, 1);
        assert_int_equal(json_writer_error(&w), -ENOMEM);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_every_byte_and_pair),
                cmocka_unit_test(test_random_hostile_strings),
                cmocka_unit_test(test_integers),
                cmocka_unit_test(test_nesting_matches_jansson),
                cmocka_unit_test(test_pieces),
                cmocka_unit_test(test_failure_is_sticky),
        };

        tc_init("json-writer");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
