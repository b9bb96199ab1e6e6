/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The pid hash map against a plain array, under random inserts and removals (backward-shift
 * deletion is where such maps break). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <stdlib.h>

#include "pidmap.h"
#include "test-cleanup.h"

#define KEYS 70000 /* beyond pid_max here, so keys collide in every way */

static void test_basic(void **state) {
        PidMap m = {};
        int a, b;

        assert_null(pidmap_get(&m, 5));
        assert_int_equal(pidmap_put(&m, 0, &a), -EINVAL);
        assert_int_equal(pidmap_put(&m, 5, &a), 0);
        assert_int_equal(pidmap_put(&m, 5, &b), 0); /* replace */
        assert_int_equal(m.count, 1);
        assert_ptr_equal(pidmap_get(&m, 5), &b);
        assert_ptr_equal(pidmap_remove(&m, 5), &b);
        assert_null(pidmap_remove(&m, 5));
        assert_int_equal(m.count, 0);
        pidmap_done(&m);
}

static void test_random_against_array(void **state) {
        static void *ref[KEYS];
        PidMap m = {};
        unsigned seed = 12345;
        size_t count = 0, seen = 0;
        int32_t key;
        void *v;

        for (int round = 0; round < 400000; round++) {
                int32_t k = (int32_t) (rand_r(&seed) % (KEYS - 1)) + 1;
                void *val = (void *) (uintptr_t) (round + 1);

                if (rand_r(&seed) % 3 == 0) {
                        assert_ptr_equal(pidmap_remove(&m, k), ref[k]);
                        if (ref[k])
                                count--;
                        ref[k] = NULL;
                } else {
                        assert_int_equal(pidmap_put(&m, k, val), 0);
                        if (!ref[k])
                                count++;
                        ref[k] = val;
                }
                assert_int_equal(m.count, count);
        }
        for (int32_t k = 1; k < KEYS; k++)
                assert_ptr_equal(pidmap_get(&m, k), ref[k]);
        for (size_t i = 0; pidmap_next(&m, &i, &key, &v);) {
                assert_ptr_equal(ref[key], v);
                seen++;
        }
        assert_int_equal(seen, count);

        /* Emptying shrinks the table again. */
        for (int32_t k = 1; k < KEYS; k++)
                (void) pidmap_remove(&m, k);
        assert_int_equal(m.count, 0);
        assert_true(m.size <= 128);
        pidmap_done(&m);
}

int main(void) {
        tc_init("pidmap");
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_basic),
                cmocka_unit_test(test_random_against_array),
        };
        return cmocka_run_group_tests_name("pid map", tests, NULL, NULL);
}
