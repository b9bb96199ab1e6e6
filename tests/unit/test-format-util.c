/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Durations, signal names and byte sizes for people: the table of each form, and the integer
 * formatting of sizes and seconds against what printf gives the double. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "format-util.h"
#include "macro.h"
#include "test-cleanup.h"

/* Both forms: the short one for columns, the journal MESSAGE's to the millisecond. */
static void test_duration(void **state) {
        static const struct {
                uint64_t usec;
                const char *want_short, *want_msec;
        } cases[] = {
                { 0, "0us", "0us" },
                { 999, "999us", "999us" },
                { 1000, "1ms", "1ms" },
                { 12345, "12ms", "12ms" },
                { 999999, "999ms", "999ms" },
                { 1000000, "1.0s", "1.000s" },
                { 1234567, "1.2s", "1.234s" },
                { 3250000, "3.2s", "3.250s" },
                { 59999999, "59.9s", "59.999s" },
                { 60000000, "1m00s", "60.000s" },
                { 302000000, "5m02s", "302.000s" },
                { 3600000000ULL, "1h00m", "3600.000s" },
                { 7380000000ULL, "2h03m", "7380.000s" },
                { 86400000000ULL, "1d00h", "86400.000s" },
                { 100 * 86400000000ULL + 5 * 3600000000ULL, "100d05h", "8658000.000s" },
        };
        char buf[32];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                assert_string_equal(format_duration(buf, sizeof(buf), cases[i].usec, FORMAT_DURATION_SHORT),
                                    cases[i].want_short);
                assert_string_equal(format_duration(buf, sizeof(buf), cases[i].usec, FORMAT_DURATION_MSEC),
                                    cases[i].want_msec);
        }
        /* Cut, never overrun. */
        assert_string_equal(format_duration(buf, 4, 302000000, FORMAT_DURATION_SHORT), "5m0");
}

/* The integer formatting writes what printf writes, cut the same way in a buffer too small. */
static void test_like_printf(void **state) {
        static const uint64_t bases[] = { 0, 1, 999, 1000, 59999999, 60000000, 3599999999ULL, 3600000000ULL,
                                          86399999999ULL, 86400000000ULL, 123456789012345ULL, UINT64_MAX / 2 };
        uint64_t x = 88172645463325252ULL;

        for (size_t i = 0; i < 4000; i++) {
                uint64_t v = i < ELEMENTSOF(bases) ? bases[i] : (x ^= x << 13, x ^= x >> 7, x ^= x << 17) >> (i % 64);
                char got[32], want[32];
                size_t size = i % 13;

                /* FORMAT_DURATION_MSEC from one second on, and bytes below 1 KiB. */
                if (v >= 1000000) {
                        snprintf(want, sizeof(want), "%llu.%03llus", (unsigned long long) (v / 1000000),
                                 (unsigned long long) (v / 1000 % 1000));
                        assert_string_equal(format_duration(got, sizeof(got), v, FORMAT_DURATION_MSEC), want);
                        /* Cut as snprintf() cuts: size - 1 bytes and the NUL, nothing beyond. */
                        memset(got, 'z', sizeof(got));
                        format_duration(got, size, v, FORMAT_DURATION_MSEC);
                        if (size > 0) {
                                size_t k = MIN(strlen(want), size - 1);

                                assert_memory_equal(got, want, k);
                                assert_int_equal(got[k], '\0');
                                assert_int_equal(got[k + 1], 'z');
                        } else
                                assert_int_equal(got[0], 'z');
                }
                snprintf(want, sizeof(want), "%llu B", (unsigned long long) (v % 1024));
                assert_string_equal(format_bytes(got, sizeof(got), v % 1024), want);
        }
}

static void test_signal(void **state) {
        char buf[32];

        assert_string_equal(format_signal(buf, sizeof(buf), SIGSEGV), "SIGSEGV");
        assert_string_equal(format_signal(buf, sizeof(buf), SIGKILL), "SIGKILL");
        assert_string_equal(format_signal(buf, sizeof(buf), 0), "signal 0");
        assert_string_equal(format_signal(buf, sizeof(buf), -3), "signal -3");
        assert_string_equal(format_signal(buf, sizeof(buf), 99), "signal 99");
        assert_string_equal(format_signal(buf, sizeof(buf), INT64_MAX), "signal 9223372036854775807");
}

static void test_bytes(void **state) {
        static const struct {
                uint64_t bytes;
                const char *want;
        } cases[] = {
                { 0, "0 B" },
                { 512, "512 B" },
                { 1023, "1023 B" },
                { 1024, "1.0 KiB" },
                { 1536, "1.5 KiB" },
                { 10 * 1024, "10 KiB" },
                { 512ULL << 20, "512 MiB" },
                { 1288490188, "1.2 GiB" },
                { 1ULL << 50, "1.0 PiB" },
                { UINT64_MAX, "16384 PiB" },
        };
        char buf[32];

        for (size_t i = 0; i < ELEMENTSOF(cases); i++)
                assert_string_equal(format_bytes(buf, sizeof(buf), cases[i].bytes), cases[i].want);
}

/* Sizes and seconds are formatted without floating point: the same text as printf gives the double,
 * for exact ties, powers of two, unit edges and a spread of values. */
static void test_integer_equals_printf(void **state) {
        static const char *const units[] = { "B", "KiB", "MiB", "GiB", "TiB", "PiB" };
        uint64_t x = 88172645463325252ULL;

        for (unsigned i = 0; i < 200000; i++) {
                char got[32], want[32];
                uint64_t cpu, bytes;
                double d;
                unsigned u = 0;

                /* xorshift: reproducible values of every magnitude */
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                switch (i % 4) {
                case 0: /* ties and near ties of both figures */
                        cpu = (x % 100000) * 100000 + 50000 + (i % 3) - 1;
                        bytes = ((x >> 20) % 10000) * 512 + (i % 3) - 1;
                        break;
                case 1:
                        cpu = x >> (x % 64);
                        bytes = x >> ((x >> 6) % 64);
                        break;
                case 2: /* around the unit edges and powers of two */
                        cpu = (UINT64_C(1) << (x % 50)) + (i % 5) - 2;
                        bytes = (UINT64_C(1) << (x % 54)) * ((x >> 8) % 11 + 1) / 10 + (i % 5) - 2;
                        break;
                default:
                        cpu = x % 100000000;
                        bytes = x % (UINT64_C(1) << 40);
                        break;
                }

                d = (double) bytes;
                while (d >= 1024.0 && u + 1 < ELEMENTSOF(units)) {
                        d /= 1024.0;
                        u++;
                }
                if (u == 0)
                        snprintf(want, sizeof(want), "%llu B", (unsigned long long) bytes);
                else
                        snprintf(want, sizeof(want), d < 10.0 ? "%.1f %s" : "%.0f %s", d, units[u]);
                format_bytes(got, sizeof(got), bytes);
                if (strcmp(got, want) != 0)
                        fail_msg("%llu bytes: got \"%s\", want \"%s\"", (unsigned long long) bytes, got, want);

                snprintf(want, sizeof(want), "%.1f", (double) cpu / 1e6);
                format_seconds_tenths(got, sizeof(got), cpu);
                if (strcmp(got, want) != 0)
                        fail_msg("%llu us: got \"%s\", want \"%s\"", (unsigned long long) cpu, got, want);
        }
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_duration),
                cmocka_unit_test(test_like_printf),
                cmocka_unit_test(test_signal),
                cmocka_unit_test(test_bytes),
                cmocka_unit_test(test_integer_equals_printf),
        };

        tc_init("format-util");

        return cmocka_run_group_tests(tests, NULL, NULL);
}
