/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests of the text parsers: option values, /proc/net/netlink, CPU lists, and whole-file reads. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cnproc-parse.h"
#include "fileio.h"
#include "macro.h"
#include "parse-util.h"
#include "test-cleanup.h"

#define UNTOUCHED 0x5eed5eed5eed5eedULL

typedef struct SizeCase {
        const char *text;
        int r;
        uint64_t value;
} SizeCase;

static const SizeCase size_cases[] = {
        { "0", 0, 0 },
        { "1", 0, 1 },
        { "4096", 0, 4096 },
        { "007", 0, 7 },
        { "1B", 0, 1 },
        { "1K", 0, 1024 },
        { "2KiB", 0, 2048 },
        { "4M", 0, 4ULL << 20 },
        { "3MiB", 0, 3ULL << 20 },
        { "1G", 0, 1ULL << 30 },
        { "2GiB", 0, 2ULL << 30 },
        { "18446744073709551615", 0, UINT64_MAX },
        { "18446744073709551615B", 0, UINT64_MAX },
        { "17179869183G", 0, 17179869183ULL << 30 },
        { "", -EINVAL, 0 },
        { "K", -EINVAL, 0 },
        { "abc", -EINVAL, 0 },
        { "12abc", -EINVAL, 0 },
        { "-1", -EINVAL, 0 },
        { "-0", -EINVAL, 0 },
        { "+1", -EINVAL, 0 },
        { " 1", -EINVAL, 0 },
        { "1 ", -EINVAL, 0 },
        { "1 K", -EINVAL, 0 },
        { "1k", -EINVAL, 0 },
        { "1KB", -EINVAL, 0 },
        { "1KiBB", -EINVAL, 0 },
        { "1T", -EINVAL, 0 },
        { "1.5K", -EINVAL, 0 },
        { "0x10", -EINVAL, 0 },
        { "18446744073709551616", -ERANGE, 0 },
        { "99999999999999999999999999", -ERANGE, 0 },
        { "18014398509481984K", -ERANGE, 0 },  /* 2^54 KiB = 2^64 */
        { "17592186044416MiB", -ERANGE, 0 },   /* 2^44 MiB = 2^64 */
        { "17179869184G", -ERANGE, 0 },        /* 2^34 GiB = 2^64 */
        { "18446744073709551615K", -ERANGE, 0 },
};

static void test_parse_size(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(size_cases); i++) {
                const SizeCase *c = &size_cases[i];
                uint64_t v = UNTOUCHED;

                print_message("case \"%s\"\n", c->text);
                assert_int_equal(parse_size(c->text, &v), c->r);
                assert_int_equal(v, c->r == 0 ? c->value : UNTOUCHED);
        }
        assert_int_equal(parse_size(NULL, &(uint64_t) { 0 }), -EINVAL);
}

typedef struct NumberCase {
        const char *text;
        uint64_t min, max;
        int r;
        uint64_t value;
} NumberCase;

static const NumberCase number_cases[] = {
        { "0", 0, 10, 0, 0 },
        { "10", 0, 10, 0, 10 },
        { "007", 0, 10, 0, 7 },
        { "11", 0, 10, -ERANGE, 0 },
        { "5", 6, 10, -ERANGE, 0 },
        { "6", 6, 6, 0, 6 },
        { "18446744073709551615", 0, UINT64_MAX, 0, UINT64_MAX },
        { "18446744073709551616", 0, UINT64_MAX, -ERANGE, 0 },
        { "18446744073709551620", 0, UINT64_MAX, -ERANGE, 0 },
        { "184467440737095516150", 0, UINT64_MAX, -ERANGE, 0 },
        { "4294967297", 0, UINT32_MAX, -ERANGE, 0 },
        { "", 0, 10, -EINVAL, 0 },
        { "1x", 0, 10, -EINVAL, 0 },
        { "1K", 0, 10, -EINVAL, 0 },
        { "-1", 0, 10, -EINVAL, 0 },
        { "+1", 0, 10, -EINVAL, 0 },
        { " 1", 0, 10, -EINVAL, 0 },
        { "1 ", 0, 10, -EINVAL, 0 },
        { "1\n", 0, 10, -EINVAL, 0 },
};

static void test_parse_number(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(number_cases); i++) {
                const NumberCase *c = &number_cases[i];
                uint64_t v = UNTOUCHED;

                print_message("case \"%s\" in [%" PRIu64 ", %" PRIu64 "]\n", c->text, c->min, c->max);
                assert_int_equal(parse_number(c->text, c->min, c->max, &v), c->r);
                assert_int_equal(v, c->r == 0 ? c->value : UNTOUCHED);
        }
        assert_int_equal(parse_number(NULL, 0, 10, &(uint64_t) { 0 }), -EINVAL);
}

typedef struct IdCase {
        const char *text;
        int r;
        int32_t pid;
        uint64_t start;
} IdCase;

/* Process ids as Show and procwatchctl show take them. The four of issue 10 (each once resolved to
 * pid 1 through sscanf) must all be refused. */
static const IdCase id_cases[] = {
        { "1:0", 0, 1, 0 },
        { "1:123456789", 0, 1, 123456789 },
        { "2147483647:18446744073709551615", 0, INT32_MAX, UINT64_MAX },
        { "0001:02", -EINVAL, 0, 0 },                  /* only the text a record carries */
        { "1:05", -EINVAL, 0, 0 },
        { "4294967297:123", -ERANGE, 0, 0 },              /* pid 2^32 + 1: was pid 1 */
        { "+1:123", -EINVAL, 0, 0 },
        { " 1:123", -EINVAL, 0, 0 },
        { "1:-18446744073409551656", -EINVAL, 0, 0 },     /* strtoull wraps a negative start */
        { "1:18446744073709551616", -ERANGE, 0, 0 },     /* start 2^64 */
        { "1:99999999999999999999999", -ERANGE, 0, 0 },
        { "2147483648:1", -ERANGE, 0, 0 },
        { "99999999999999999999999:1", -ERANGE, 0, 0 },
        { "0:1", -ERANGE, 0, 0 },
        { "-1:1", -EINVAL, 0, 0 },
        { "1: 1", -EINVAL, 0, 0 },
        { "1:+1", -EINVAL, 0, 0 },
        { "1 :1", -EINVAL, 0, 0 },
        { "1:1 ", -EINVAL, 0, 0 },
        { "1:1\n", -EINVAL, 0, 0 },
        { "1:1:1", -EINVAL, 0, 0 },
        { "1:", -EINVAL, 0, 0 },
        { ":1", -EINVAL, 0, 0 },
        { "1", -EINVAL, 0, 0 },
        { "", -EINVAL, 0, 0 },
        { ":", -EINVAL, 0, 0 },
        { "0x1:1", -EINVAL, 0, 0 },
        { "1:0x1", -EINVAL, 0, 0 },
        { "1:1e3", -EINVAL, 0, 0 },
        { "1.0:1", -EINVAL, 0, 0 },
        { "\xd9\xa1:1", -EINVAL, 0, 0 },                 /* ARABIC-INDIC DIGIT ONE */
};

static void test_parse_process_id(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(id_cases); i++) {
                const IdCase *c = &id_cases[i];
                int32_t pid = -7;
                uint64_t start = UNTOUCHED;

                print_message("case \"%s\"\n", c->text);
                assert_int_equal(parse_process_id(c->text, &pid, &start), c->r);
                assert_int_equal(pid, c->r == 0 ? c->pid : -7);
                assert_int_equal(start, c->r == 0 ? c->start : UNTOUCHED);
        }
        assert_int_equal(parse_process_id(NULL, &(int32_t) { 0 }, &(uint64_t) { 0 }), -EINVAL);
}

/* As this kernel writes it: fixed-width columns, values padded with trailing spaces. */
static const char netlink_text[] =
        "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n"
        "000000002af70f38 0   0          00000000 0        0        0     2        0        4       \n"
        "000000007bd93a9d 4   0          00000000 0        0        0     2        0        471     \n"
        "00000000ecbe7da3 11  4242       00000001 0        0        0     2        17       31337   \n"
        "00000000deadbeef 11  1          00000001 212992   0        0     2        4294967296 31338   \n"
        "0000000012345678 11  7          00000001 0        0        0     2        3        3133    \n"
        "000000009abcdef0 0   31339      00000000 0        0        0     2        5        7       \n"
        "00000000aaaaaaaa 11  0          00000001 0        0        0     2        18446744073709551615 "
        "99\n";

static void test_netlink_drops(void **state) {
        static const struct {
                unsigned long inode;
                int r;
                uint64_t drops;
        } cases[] = {
                { 4, 0, 0 },
                { 471, 0, 0 },
                { 31337, 0, 17 },
                { 31338, 0, 4294967296ULL },
                { 3133, 0, 3 },
                { 7, 0, 5 },
                { 99, 0, UINT64_MAX },
                { 3, -ENOENT, 0 },      /* a prefix of inode 31337 */
                { 313370, -ENOENT, 0 },
                { 31339, -ENOENT, 0 },  /* only in the Pid column */
                { 0, -ENOENT, 0 },      /* the Drops value of a line, not an inode */
                { 17, -ENOENT, 0 },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                uint64_t drops = UNTOUCHED;

                print_message("inode %lu\n", cases[i].inode);
                assert_int_equal(pw_parse_netlink_drops(netlink_text, cases[i].inode, &drops), cases[i].r);
                assert_int_equal(drops, cases[i].r == 0 ? cases[i].drops : UNTOUCHED);
        }
}

static void test_netlink_drops_columns_by_name(void **state) {
        /* Should a kernel reorder or add columns, the names still find them. */
        static const char text[] = "Inode  Extra Drops sk\n"
                                   "555    x     9     ffff\n"
                                   "556    y     10    ffff\n";
        uint64_t drops = UNTOUCHED;

        assert_int_equal(pw_parse_netlink_drops(text, 556, &drops), 0);
        assert_int_equal(drops, 10);
        assert_int_equal(pw_parse_netlink_drops(text, 555, &drops), 0);
        assert_int_equal(drops, 9);
}

static void test_netlink_drops_bad_header(void **state) {
        static const char *const texts[] = {
                "",
                "\n",
                "sk Eth Pid Groups Rmem Wmem Dump Locks\n0 0 0 0 0 0 0 2\n",
                "sk Eth Pid Groups Rmem Wmem Dump Locks Drops\n0 0 0 0 0 0 0 2 0\n",
                "sk Eth Pid Groups Rmem Wmem Dump Locks Inode\n0 0 0 0 0 0 0 2 31337\n",
                "sk Eth Pid Groups Rmem Wmem Dump Locks Drop Inodes\n0 0 0 0 0 0 0 2 0 31337\n",
                "sk Eth Pid Groups Rmem Wmem Dump Locks drops inode\n0 0 0 0 0 0 0 2 0 31337\n",
                /* the header must be the first line */
                "\nsk Eth Pid Groups Rmem Wmem Dump Locks Drops Inode\n0 0 0 0 0 0 0 2 0 31337\n",
        };
        uint64_t drops = UNTOUCHED;

        for (size_t i = 0; i < ELEMENTSOF(texts); i++) {
                print_message("case %zu\n", i);
                assert_int_equal(pw_parse_netlink_drops(texts[i], 31337, &drops), -EBADMSG);
        }
        assert_int_equal(drops, UNTOUCHED);
        assert_int_equal(pw_parse_netlink_drops(NULL, 31337, &drops), -EINVAL);
}

static void test_netlink_drops_garbage_lines(void **state) {
        static const char text[] =
                "sk               Eth Pid        Groups   Rmem     Wmem     Dump  Locks    Drops    Inode\n"
                "\n"
                "garbage\n"
                "   \t  \n"
                "0000000000000001 11  0          00000001 0        0        0     2        x        500\n"
                "0000000000000002 11  0          00000001 0        0        0     2        -\n"
                "0000000000000003 11  0          00000001 0        0        0     2        6        501x\n"
                "0000000000000004 11  0          00000001 0        0        0     2        12abc    502\n"
                "0000000000000005 11  0          00000001 0        0        0     2        "
                "99999999999999999999999 503\n"
                "\x01\xff\n"
                "0000000000000006 11  0          00000001 0        0        0     2        8        504";
        uint64_t drops = UNTOUCHED;

        /* Lines that cannot be read are passed over, the good one after them is found. */
        assert_int_equal(pw_parse_netlink_drops(text, 504, &drops), 0);
        assert_int_equal(drops, 8);

        drops = UNTOUCHED;
        for (unsigned long inode = 500; inode < 504; inode++) {
                print_message("inode %lu\n", inode);
                assert_int_equal(pw_parse_netlink_drops(text, inode, &drops), -ENOENT);
        }
        assert_int_equal(drops, UNTOUCHED);

        /* Header only, with and without its newline. */
        assert_int_equal(pw_parse_netlink_drops("sk Drops Inode", 1, &drops), -ENOENT);
        assert_int_equal(pw_parse_netlink_drops("sk Drops Inode\n", 1, &drops), -ENOENT);
        assert_int_equal(drops, UNTOUCHED);
}

typedef struct CpuCase {
        const char *text;
        int r;
        uint32_t count;
} CpuCase;

static const CpuCase cpu_cases[] = {
        { "0", 0, 1 },
        { "0\n", 0, 1 },
        { "0-1\n", 0, 2 },
        { "0-1", 0, 2 },
        { "0,2-5", 0, 6 },
        { "0-3,8", 0, 9 },
        { "0-3,8\n", 0, 9 },
        { "0-63\n", 0, 64 },
        { "5", 0, 6 },
        { "8,0-3", 0, 9 },
        { "0-65535", 0, 65536 },
        { "", -EINVAL, 0 },
        { "\n", -EINVAL, 0 },
        { "a", -EINVAL, 0 },
        { "3-1", -EINVAL, 0 },
        { "-1", -EINVAL, 0 },
        { "0-", -EINVAL, 0 },
        { "0-a", -EINVAL, 0 },
        { "0--3", -EINVAL, 0 },
        { "1,,2", -EINVAL, 0 },
        { ",1", -EINVAL, 0 },
        { "0;1", -EINVAL, 0 },
        { "0x3", -EINVAL, 0 },
        { "65536", -EINVAL, 0 },
        { "0-99999999999999999999999", -EINVAL, 0 },
};

static void test_cpu_count(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cpu_cases); i++) {
                const CpuCase *c = &cpu_cases[i];
                uint32_t n = 0xdeadbeefU;

                print_message("case \"%s\"\n", c->text);
                assert_int_equal(pw_parse_cpu_count(c->text, &n), c->r);
                assert_int_equal(n, c->r == 0 ? c->count : 0xdeadbeefU);
        }
        assert_int_equal(pw_parse_cpu_count(NULL, &(uint32_t) { 0 }), -EINVAL);
}

static void test_cpu_count_this_machine(void **state) {
        _cleanup_(freep) char *text = NULL;
        uint32_t n = 0;
        long conf = sysconf(_SC_NPROCESSORS_CONF);

        assert_int_equal(read_full_file("/sys/devices/system/cpu/possible", &text, NULL), 0);
        assert_int_equal(pw_parse_cpu_count(text, &n), 0);
        /* Possible CPUs include every configured one. */
        assert_true(conf > 0);
        assert_true(n >= (uint32_t) conf);
}

/* read_full_file_at() runs in a fresh directory per test. */
typedef struct FileFixture {
        char path[64];
        int dirfd;
} FileFixture;

static int files_setup(void **state) {
        FileFixture *f = calloc(1, sizeof(*f));

        if (!f)
                return -1;
        strcpy(f->path, "/tmp/test-parse-util.XXXXXX");
        if (tc_mkdtemp(f->path) < 0) {
                free(f);
                return -1;
        }
        f->dirfd = open(f->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (f->dirfd < 0) {
                (void) rmdir(f->path);
                free(f);
                return -1;
        }
        *state = f;
        return 0;
}

static int files_teardown(void **state) {
        FileFixture *f = *state;
        struct dirent *de;
        DIR *d;
        int r = 0;

        d = fdopendir(f->dirfd);
        if (!d)
                return -1;
        while ((de = readdir(d)))
                if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
                        if (unlinkat(dirfd(d), de->d_name, de->d_type == DT_DIR ? AT_REMOVEDIR : 0) < 0)
                                r = -1;
        (void) closedir(d);
        if (rmdir(f->path) < 0)
                r = -1;
        free(f);
        return r;
}

static void write_file(int dirfd, const char *name, const void *data, size_t size) {
        int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, size), (ssize_t) size);
        assert_int_equal(close(fd), 0);
}

/* size bytes of a pattern that shows where a copy went wrong. */
static char *pattern(size_t size) {
        char *p = malloc(size ? size : 1);

        assert_non_null(p);
        for (size_t i = 0; i < size; i++)
                p[i] = (char) ('a' + i % 23 + (i / 4096) % 3);
        return p;
}

static void expect_file(int dirfd, const char *name, size_t max, const char *data, size_t size) {
        _cleanup_(freep) char *buf = NULL;
        size_t got = 0xdead;

        assert_int_equal(read_full_file_at(dirfd, name, max, &buf, &got), 0);
        assert_non_null(buf);
        assert_int_equal(got, size);
        assert_memory_equal(buf, data, size);
        assert_int_equal(buf[size], '\0');
}

static void expect_too_big(int dirfd, const char *name, size_t max) {
        char *buf = NULL;
        size_t got = 0xdead;

        assert_int_equal(read_full_file_at(dirfd, name, max, &buf, &got), -EFBIG);
        assert_null(buf);
        assert_int_equal(got, 0xdead);
}

static void test_read_empty_and_small(void **state) {
        FileFixture *f = *state;
        _cleanup_(freep) char *buf = NULL;
        static const char with_nul[] = { 'a', '\0', 'b', '\n' };

        write_file(f->dirfd, "empty", "", 0);
        expect_file(f->dirfd, "empty", 0, "", 0);
        expect_file(f->dirfd, "empty", 1, "", 0);

        write_file(f->dirfd, "small", "hello\n", 6);
        expect_file(f->dirfd, "small", 0, "hello\n", 6);

        /* The size is what was read, not strlen(): embedded NULs survive. */
        write_file(f->dirfd, "nul", with_nul, sizeof(with_nul));
        expect_file(f->dirfd, "nul", 0, with_nul, sizeof(with_nul));

        /* ret_size is optional. */
        assert_int_equal(read_full_file_at(f->dirfd, "small", 0, &buf, NULL), 0);
        assert_string_equal(buf, "hello\n");
}

static void test_read_max(void **state) {
        FileFixture *f = *state;
        static const size_t sizes[] = { 1, 10, 4095, 4096, 4097, 8192, 10000 };

        for (size_t i = 0; i < ELEMENTSOF(sizes); i++) {
                size_t n = sizes[i];
                _cleanup_(freep) char *data = pattern(n + 1);

                print_message("size %zu\n", n);
                write_file(f->dirfd, "at-max", data, n);
                expect_file(f->dirfd, "at-max", n, data, n);
                expect_file(f->dirfd, "at-max", n + 1, data, n);
                expect_file(f->dirfd, "at-max", 0, data, n);
                if (n > 1)
                        expect_too_big(f->dirfd, "at-max", n - 1);

                write_file(f->dirfd, "over-max", data, n + 1);
                expect_too_big(f->dirfd, "over-max", n);
        }
}

static void test_read_default_max(void **state) {
        FileFixture *f = *state;
        size_t max = 4U * 1024U * 1024U;
        _cleanup_(freep) char *data = pattern(max + 1);

        write_file(f->dirfd, "4mib", data, max);
        expect_file(f->dirfd, "4mib", 0, data, max);
        write_file(f->dirfd, "4mib+1", data, max + 1);
        expect_too_big(f->dirfd, "4mib+1", 0);
        /* An explicit larger max lifts it. */
        expect_file(f->dirfd, "4mib+1", max + 1, data, max + 1);
}

static void test_read_errors(void **state) {
        FileFixture *f = *state;
        char *buf = NULL;
        size_t got = 0xdead;

        assert_int_equal(read_full_file_at(f->dirfd, "missing", 0, &buf, &got), -ENOENT);
        assert_int_equal(read_full_file_at(f->dirfd, "missing/file", 0, &buf, &got), -ENOENT);
        assert_int_equal(mkdirat(f->dirfd, "dir", 0700), 0);
        assert_int_equal(read_full_file_at(f->dirfd, "dir", 0, &buf, &got), -EISDIR);
        assert_int_equal(read_full_file_at(-1, "relative", 0, &buf, &got), -EBADF);
        assert_null(buf);
        assert_int_equal(got, 0xdead);
}

static void test_read_paths(void **state) {
        FileFixture *f = *state;
        _cleanup_(freep) char *buf = NULL, *path = NULL;

        write_file(f->dirfd, "abs", "x", 1);
        assert_true(asprintf(&path, "%s/abs", f->path) > 0);
        /* An absolute path ignores dirfd. */
        assert_int_equal(read_full_file_at(-1, path, 0, &buf, NULL), 0);
        assert_string_equal(buf, "x");
        free(buf);
        buf = NULL;
        assert_int_equal(read_full_file(path, &buf, NULL), 0);
        assert_string_equal(buf, "x");
}

/* procfs reports size 0 for files that have content: only reading to EOF gets it. */
static void test_read_procfs(void **state) {
        _cleanup_(freep) char *buf = NULL;
        struct stat st;
        size_t size = 0;

        assert_int_equal(stat("/proc/self/status", &st), 0);
        assert_int_equal(st.st_size, 0);
        assert_int_equal(read_full_file("/proc/self/status", &buf, &size), 0);
        assert_true(size > 0);
        assert_int_equal(strlen(buf), size);
        assert_memory_equal(buf, "Name:", 5);
        assert_non_null(strstr(buf, "\nPid:"));
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_size),
                cmocka_unit_test(test_parse_number),
                cmocka_unit_test(test_parse_process_id),
                cmocka_unit_test(test_netlink_drops),
                cmocka_unit_test(test_netlink_drops_columns_by_name),
                cmocka_unit_test(test_netlink_drops_bad_header),
                cmocka_unit_test(test_netlink_drops_garbage_lines),
                cmocka_unit_test(test_cpu_count),
                cmocka_unit_test(test_cpu_count_this_machine),
                cmocka_unit_test_setup_teardown(test_read_empty_and_small, files_setup, files_teardown),
                cmocka_unit_test_setup_teardown(test_read_max, files_setup, files_teardown),
                cmocka_unit_test_setup_teardown(test_read_default_max, files_setup, files_teardown),
                cmocka_unit_test_setup_teardown(test_read_errors, files_setup, files_teardown),
                cmocka_unit_test_setup_teardown(test_read_paths, files_setup, files_teardown),
                cmocka_unit_test(test_read_procfs),
        };

        tc_init("parse-util");

        return cmocka_run_group_tests(tests, NULL, NULL);
}
