/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests of the exe cache (exe-cache.h): real files in a scratch folder, their real device and inode,
 * a file replaced under its path, paths that cannot be kept, the least recently noted replaced, and
 * the index against a model. */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "exe-cache.h"
#include "test-cleanup.h"

static char dir[] = "/tmp/pwexecache-XXXXXX";

/* Makes dir/name afresh (a new inode) and returns its path. */
static const char *make_file(const char *name, char *path, size_t size) {
        char tmp[256];
        int fd;

        snprintf(path, size, "%s/%s", dir, name);
        snprintf(tmp, sizeof(tmp), "%s/.new", dir);
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, "#!/bin/sh\n", 10), 10);
        close(fd);
        assert_int_equal(rename(tmp, path), 0);
        return path;
}

/* The device as the kernel's new_encode_dev() (taskstats' ac_exe_dev) has it, and the inode. */
static void kernel_id(const char *path, uint64_t *dev, uint64_t *ino) {
        struct stat st;
        uint64_t maj, min;

        assert_int_equal(stat(path, &st), 0);
        maj = major(st.st_dev);
        min = minor(st.st_dev);
        *dev = (min & 0xffU) | (maj << 8) | ((min & ~0xffULL) << 12);
        *ino = st.st_ino;
}

static void test_names_a_noted_file(void **state) {
        ExeCache *c = exe_cache_new();
        char a[256], b[256];
        uint64_t dev, ino, dev_b, ino_b;

        assert_non_null(c);
        make_file("a", a, sizeof(a));
        make_file("b", b, sizeof(b));
        kernel_id(a, &dev, &ino);
        kernel_id(b, &dev_b, &ino_b);
        assert_null(exe_cache_find(c, dev, ino));
        assert_int_equal(exe_cache_note(c, a, dev, ino), 0);
        assert_string_equal(exe_cache_find(c, dev, ino), a);
        /* b was never noted; inode 0 (a kernel thread's record) names nothing. */
        assert_null(exe_cache_find(c, dev_b, ino_b));
        assert_null(exe_cache_find(c, dev, 0));
        /* Another device, same inode: not the file. */
        assert_null(exe_cache_find(c, dev + 1, ino));
        /* Noting it again adds nothing. */
        assert_int_equal(exe_cache_note(c, a, dev, ino), 0);
        assert_int_equal(exe_cache_get_stats(c)->noted, 1);
        assert_int_equal(exe_cache_get_stats(c)->named, 1);
        exe_cache_free(c);
}

/* An upgrade replaces the file under its path: the new file is another inode, named once a process
 * that ran it is noted; the old inode keeps the path it was run from. */
static void test_replaced_file(void **state) {
        ExeCache *c = exe_cache_new();
        char a[256];
        uint64_t dev, ino_old, ino_new;
        int fd;

        make_file("r", a, sizeof(a));
        /* Held open, so that the new file cannot take the old inode number. */
        fd = open(a, O_RDONLY | O_CLOEXEC);
        assert_true(fd >= 0);
        kernel_id(a, &dev, &ino_old);
        assert_int_equal(exe_cache_note(c, a, dev, ino_old), 0);
        assert_string_equal(exe_cache_find(c, dev, ino_old), a);
        make_file("r", a, sizeof(a));
        kernel_id(a, &dev, &ino_new);
        assert_true(ino_new != ino_old);
        assert_null(exe_cache_find(c, dev, ino_new));
        assert_int_equal(exe_cache_note(c, a, dev, ino_new), 0);
        assert_string_equal(exe_cache_find(c, dev, ino_new), a);
        assert_string_equal(exe_cache_find(c, dev, ino_old), a);
        assert_int_equal(exe_cache_get_stats(c)->noted, 2);
        close(fd);
        exe_cache_free(c);
}

/* Nothing is stat'ed: a path that no longer exists, or never did, still names the file its process
 * ran (a stat of a path on a stalled FUSE mount would block the loop). */
static void test_no_stat(void **state) {
        ExeCache *c = exe_cache_new();
        char a[256];
        uint64_t dev, ino;

        make_file("gone", a, sizeof(a));
        kernel_id(a, &dev, &ino);
        assert_int_equal(exe_cache_note(c, a, dev, ino), 0);
        assert_int_equal(unlink(a), 0);
        assert_string_equal(exe_cache_find(c, dev, ino), a);
        assert_int_equal(exe_cache_note(c, "/nonexistent/pwexecache", 7, 42), 0);
        assert_string_equal(exe_cache_find(c, 7, 42), "/nonexistent/pwexecache");
        exe_cache_free(c);
}

static void test_paths_not_kept(void **state) {
        ExeCache *c = exe_cache_new();
        char a[256], deleted[300];
        uint64_t dev, ino;

        make_file("d", a, sizeof(a));
        kernel_id(a, &dev, &ino);
        snprintf(deleted, sizeof(deleted), "%s (deleted)", a);
        assert_int_equal(exe_cache_note(c, deleted, dev, ino), 0);
        assert_int_equal(exe_cache_note(c, "relative/path", dev, ino), 0);
        assert_int_equal(exe_cache_note(c, "", dev, ino), 0);
        assert_int_equal(exe_cache_note(c, NULL, dev, ino), 0);
        /* Inode 0: a record that names no file (a kernel thread's). */
        assert_int_equal(exe_cache_note(c, a, dev, 0), 0);
        assert_int_equal(exe_cache_get_stats(c)->noted, 0);
        assert_null(exe_cache_find(c, dev, ino));
        exe_cache_free(c);
}

/* Full, the least recently noted path goes first; noting a path again makes it recent. */
static void test_least_recent_replaced(void **state) {
        ExeCache *c = exe_cache_new();
        char a[256], b[256], other[64];
        uint64_t dev_a, ino_a, dev_b, ino_b;

        make_file("lru-a", a, sizeof(a));
        make_file("lru-b", b, sizeof(b));
        kernel_id(a, &dev_a, &ino_a);
        kernel_id(b, &dev_b, &ino_b);
        assert_int_equal(exe_cache_note(c, a, dev_a, ino_a), 0);
        assert_int_equal(exe_cache_note(c, b, dev_b, ino_b), 0);
        for (unsigned i = 0; i < EXE_CACHE_SLOTS - 2; i++) {
                snprintf(other, sizeof(other), "/nonexistent/pw-%u", i);
                assert_int_equal(exe_cache_note(c, other, 0, 1000000 + i), 0);
        }
        /* Full now; a is noted again, so b is the least recent. */
        assert_int_equal(exe_cache_note(c, a, dev_a, ino_a), 0);
        assert_int_equal(exe_cache_note(c, "/nonexistent/pw-one-more", 0, 999), 0);
        assert_string_equal(exe_cache_find(c, dev_a, ino_a), a);
        assert_null(exe_cache_find(c, dev_b, ino_b));
        assert_int_equal(exe_cache_get_stats(c)->noted, EXE_CACHE_SLOTS + 1);
        exe_cache_free(c);
}

/* The index against a model: a long random sequence over more distinct paths than slots (so paths
 * are evicted, and the index's probe runs are cut and shifted back again and again). At every step
 * the cache must add the path exactly when the model (the EXE_CACHE_SLOTS distinct paths noted
 * last) lacks it: a lost or stale index cell shows as a path added twice. */
static bool model_keeps(const uint64_t *last, unsigned n, unsigned k) {
        unsigned newer = 0;

        if (last[k] == 0)
                return false;
        for (unsigned j = 0; j < n; j++)
                newer += last[j] > last[k];
        return newer < EXE_CACHE_SLOTS;
}

static void test_index_under_churn(void **state) {
        enum { DISTINCT = 700, STEPS = 40000 };
        uint64_t last[DISTINCT] = {}, step, added = 0;
        ExeCache *c = exe_cache_new();
        unsigned seed = 12345;
        char path[64];

        for (step = 1; step <= STEPS; step++) {
                /* A skewed mix: half the notes go to 64 hot paths, as exits of one program repeat. */
                unsigned r = (seed = seed * 1103515245U + 12345U) >> 8;
                unsigned k = (r & 1U) ? (r >> 1) % 64U : (r >> 1) % DISTINCT;

                added += !model_keeps(last, DISTINCT, k);
                snprintf(path, sizeof(path), "/usr/bin/prog-%u", k);
                /* Inodes close together, on two devices, as one file system's are. */
                assert_int_equal(exe_cache_note(c, path, k % 2, 1000 + k), 0);
                last[k] = step;
                assert_int_equal(exe_cache_get_stats(c)->noted, added);
        }
        assert_true(added > EXE_CACHE_SLOTS * 4U); /* evictions did happen */
        exe_cache_free(c);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_names_a_noted_file),
                cmocka_unit_test(test_replaced_file),
                cmocka_unit_test(test_no_stat),
                cmocka_unit_test(test_paths_not_kept),
                cmocka_unit_test(test_least_recent_replaced),
                cmocka_unit_test(test_index_under_churn),
        };

        tc_init("exe-cache");
        if (tc_mkdtemp(dir) < 0)
                return 1;
        return cmocka_run_group_tests(tests, NULL, NULL);
}
