/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Tests of the /proc parsers over text laid out as the kernel writes it, of the reader over a fake
 * proc folder (exact expectations), and of the reader over the real /proc: this process, a child
 * with a long argv, a zombie, a reaped child, kthreadd, and another user's process. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"
#include "macro.h"
#include "procfs.h"
#include "time-util.h"
#include "test-cleanup.h"

#define HZ 100U
#define TICK_NS (NSEC_PER_SEC / HZ)
#define EPS_NS (1000U * 1000U)

static char **saved_argv;
static uint64_t main_mono_ns;

/* Valgrind runs the test inside its own executable: the kernel's exe and cmdline of this process
 * are valgrind's, and valgrind only fakes them for absolute /proc/self paths, not for reads through
 * a /proc/PID dirfd. Children exec'd from here run natively. */
static bool under_valgrind(void) {
        const char *p = getenv("LD_PRELOAD");

        return p && strstr(p, "vgpreload");
}

/* argv as the kernel shows it in cmdline: each argument followed by a NUL. */
static char *join_argv(char *const *argv, size_t *ret_len) {
        size_t len = 0, off = 0;
        char *s;

        for (size_t i = 0; argv[i]; i++)
                len += strlen(argv[i]) + 1;
        s = malloc(len ? len : 1);
        assert_non_null(s);
        for (size_t i = 0; argv[i]; i++) {
                size_t l = strlen(argv[i]) + 1;

                memcpy(s + off, argv[i], l);
                off += l;
        }
        *ret_len = len;
        return s;
}

/* ---- pw_parse_stat ---- */

/* Fields 23..52 of a real line: never read, but present. */
#define TAIL " 41525248 2868 18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"

typedef struct StatCase {
        const char *name;
        const char *text;
        int ret;
        pid_t pid;
        const char *comm;
        char state;
        pid_t ppid, sid;
        uint32_t flags;
        uint64_t starttime;
} StatCase;

static const StatCase stat_cases[] = {
        { "init", "1 (systemd) S 0 1 1 0 -1 4194560 37882 1361322 0 578 59 270 2413 1151 20 0 13 0 24" TAIL,
          0, 1, "systemd", 'S', 0, 1, 4194560, 24 },
        { "kthreadd",
          "2 (kthreadd) S 0 0 0 0 -1 2129984 0 0 0 0 0 0 0 0 20 0 1 0 24 0 0 18446744073709551615 0 0 0 0 0 0 0 "
          "2147483647 0 1 0 0 0 1 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
          0, 2, "kthreadd", 'S', 0, 0, 2129984, 24 },
        { "sd-pam", "1234 (sd-pam) S 1233 1233 1233 0 -1 1077936448 27 0 0 0 0 0 0 0 20 0 1 0 2345" TAIL,
          0, 1234, "sd-pam", 'S', 1233, 1233, 1077936448, 2345 },
        { "parens in comm", "77 (a) (b) R 1 77 70 34816 77 4194304 1 0 0 0 0 0 0 0 20 0 1 0 999" TAIL,
          0, 77, "a) (b", 'R', 1, 70, 4194304, 999 },
        { "only parens", "78 ())) S 1 78 78 0 -1 0 1 0 0 0 0 0 0 0 20 0 1 0 5" TAIL,
          0, 78, "))", 'S', 1, 78, 0, 5 },
        { "open paren", "79 (() S 1 79 79 0 -1 0 1 0 0 0 0 0 0 0 20 0 1 0 6" TAIL,
          0, 79, "(", 'S', 1, 79, 0, 6 },
        { "newline in comm", "88 (x\ny) S 1 88 88 0 -1 4194304 1 0 0 0 0 0 0 0 20 0 1 0 123456789" TAIL,
          0, 88, "x\ny", 'S', 1, 88, 4194304, 123456789 },
        { "comm of 15", "99 (123456789012345) D 98 99 97 0 -1 4194368 1 0 0 0 0 0 0 0 20 0 1 0 7" TAIL,
          0, 99, "123456789012345", 'D', 98, 97, 4194368, 7 },
        { "empty comm", "100 () Z 1 100 100 0 -1 4227084 1 0 0 0 0 0 0 0 20 0 1 0 8" TAIL,
          0, 100, "", 'Z', 1, 100, 4227084, 8 },
        { "workqueue name cut", "55 (kworker/u8:0-events_unbound) I 2 0 0 0 -1 69238880 0 0 0 0 0 13 0 0 20 0 1 0 31" TAIL,
          0, 55, "kworker/u8:0-eve", 'I', 2, 0, 69238880, 31 },
        { "realtime priority", "66 (migration/0) S 2 0 0 0 -1 69238848 0 0 0 0 0 0 0 0 -100 0 1 0 3" TAIL,
          0, 66, "migration/0", 'S', 2, 0, 69238848, 3 },
        { "big numbers",
          "2147483647 (big) R 2147483647 1 2147483647 0 -1 4294967295 18446744073709551615 0 0 0 0 0 0 0 20 0 1 0 "
          "18446744073709551615" TAIL,
          0, 2147483647, "big", 'R', 2147483647, 2147483647, 4294967295U, UINT64_MAX },
        { "cut after field 22", "5 (a) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24 ", 0, 5, "a", 'S', 1, 5, 0, 24 },
        { "ends at field 22", "5 (a) S 1 5 5 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24\n", 0, 5, "a", 'S', 1, 5, 0, 24 },

        { "empty", "", -EBADMSG },
        { "garbage", "hello world", -EBADMSG },
        { "pid only", "1", -EBADMSG },
        { "no comm", "1 S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "unclosed comm", "1 (abc", -EBADMSG },
        { "nothing after comm", "1 (abc)", -EBADMSG },
        { "pid 0", "0 (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "negative pid", "-1 (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "pid overflow", "2147483648 (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "two spaces before comm", "1  (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "no space after comm", "1 (x)S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "state a digit", "1 (x) 5 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "state two chars", "1 (x) SS 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "negative ppid", "1 (x) S -1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "negative flags", "1 (x) S 0 1 1 0 -1 -4 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "flags overflow", "1 (x) S 0 1 1 0 -1 4294967296 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "starttime overflow", "1 (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 18446744073709551616" TAIL,
          -EBADMSG },
        { "negative starttime", "1 (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 -24" TAIL, -EBADMSG },
        { "word in a field", "1 (x) S 0 1 1 0 -1 0 0 abc 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "double space", "1 (x) S 0 1  1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "tab", "1 (x) S 0 1\t1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "lone minus", "1 (x) S 0 1 1 0 - 0 0 0 0 0 0 0 0 0 20 0 1 0 24" TAIL, -EBADMSG },
        { "21 fields", "1 (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0\n", -EBADMSG },
        { "starttime glued", "1 (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24x" TAIL, -EBADMSG },
        { "starttime at end", "1 (x) S 0 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 24", -EBADMSG },
};

static void test_parse_stat_table(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(stat_cases); i++) {
                const StatCase *c = &stat_cases[i];
                PwStat st;
                int r;

                memset(&st, 0x55, sizeof(st));
                r = pw_parse_stat(c->text, &st);
                if (r != c->ret)
                        fail_msg("case \"%s\": got %d, want %d", c->name, r, c->ret);
                if (r < 0)
                        continue;
                assert_int_equal(st.pid, c->pid);
                assert_string_equal(st.comm, c->comm);
                assert_int_equal(st.state, c->state);
                assert_int_equal(st.ppid, c->ppid);
                assert_int_equal(st.sid, c->sid);
                assert_int_equal(st.flags, c->flags);
                assert_true(st.starttime_ticks == c->starttime);
        }
        assert_int_equal(pw_parse_stat(NULL, &(PwStat) {}), -EINVAL);
}

/* Every prefix of a valid line, in a buffer of exactly its size (ASan sees any read past the NUL):
 * fails while it stops before the separator after the start time, then parses exactly like the
 * whole line. */
static void test_parse_stat_prefixes(void **state) {
        static const char head[] = "4321 (a) (b c) S 1 4321 4321 0 -1 4194560 37882 1361322 0 578 59 270 2413 1151 20 0 13 0 ";
        static const char line[] = "4321 (a) (b c) S 1 4321 4321 0 -1 4194560 37882 1361322 0 578 59 270 2413 1151 20 0 13 0 "
                                   "2424" TAIL;
        size_t ok_from = strlen(head) + strlen("2424") + 1;
        PwStat whole;

        assert_int_equal(pw_parse_stat(line, &whole), 0);
        assert_string_equal(whole.comm, "a) (b c");
        assert_true(whole.starttime_ticks == 2424);

        for (size_t k = 0; k <= strlen(line); k++) {
                char *p = malloc(k + 1);
                PwStat st;
                int r;

                assert_non_null(p);
                memcpy(p, line, k);
                p[k] = '\0';
                r = pw_parse_stat(p, &st);
                if (k < ok_from) {
                        if (r != -EBADMSG)
                                fail_msg("prefix of %zu bytes: got %d", k, r);
                } else {
                        assert_int_equal(r, 0);
                        assert_memory_equal(&st, &whole, sizeof(st));
                }
                free(p);
        }
}

/* Random text over the bytes that matter: nothing may crash or read past the NUL. */
static void test_parse_stat_noise(void **state) {
        static const char alphabet[] = "0123456789 ()-\nSZa";
        uint32_t seed = 12345;

        for (unsigned iter = 0; iter < 20000; iter++) {
                size_t len;
                char *p;
                PwStat st;

                seed = seed * 1103515245U + 12345U;
                len = (seed >> 8) % 120;
                p = malloc(len + 1);
                assert_non_null(p);
                for (size_t i = 0; i < len; i++) {
                        seed = seed * 1103515245U + 12345U;
                        p[i] = alphabet[(seed >> 16) % (sizeof(alphabet) - 1)];
                }
                p[len] = '\0';
                (void) pw_parse_stat(p, &st);
                free(p);
        }
}

/* ---- pw_parse_status ---- */

typedef struct StatusCase {
        const char *name;
        const char *text;
        int ret;
        uint32_t uid, euid, gid, egid;
        pid_t tgid;
} StatusCase;

#define STATUS_HEAD "Name:\tcat\nUmask:\t0022\nState:\tR (running)\n"
#define STATUS_TAIL "FDSize:\t256\nGroups:\t4 24 27 \nNStgid:\t26557\nVmPeak:\t    5484 kB\nThreads:\t1\n"

static const StatusCase status_cases[] = {
        { "real", STATUS_HEAD "Tgid:\t26557\nNgid:\t0\nPid:\t26557\nPPid:\t26554\nTracerPid:\t0\n"
                  "Uid:\t1000\t1001\t1002\t1003\nGid:\t100\t101\t102\t103\n" STATUS_TAIL,
          0, 1000, 1001, 100, 101, 26557 },
        { "thread", STATUS_HEAD "Tgid:\t500\nNgid:\t0\nPid:\t502\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n", 0, 0, 0, 0, 0, 500 },
        { "escaped name", "Name:\tUid:\\n0\nUid:\t7\t8\t9\t10\nGid:\t1\t2\t3\t4\nTgid:\t9\n", 0, 7, 8, 1, 2, 9 },
        { "overflow uid", "Tgid:\t9\nUid:\t4294967295\t4294967295\t4294967295\t4294967295\nGid:\t65534\t65534\t65534\t65534\n",
          0, 4294967295U, 4294967295U, 65534, 65534, 9 },
        { "no final newline", "Tgid:\t9\nUid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8", 0, 1, 2, 5, 6, 9 },
        { "Ngid and NStgid are not Tgid", "Ngid:\t4\nNStgid:\t5\nTgid:\t6\nUid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\n", 0, 1, 2, 5, 6, 6 },

        { "empty", "", -EBADMSG },
        { "no Tgid", "Uid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\n", -EBADMSG },
        { "no Gid", "Tgid:\t9\nUid:\t1\t2\t3\t4\n", -EBADMSG },
        { "three uids", "Tgid:\t9\nUid:\t1\t2\t3\nGid:\t5\t6\t7\t8\n", -EBADMSG },
        { "five uids", "Tgid:\t9\nUid:\t1\t2\t3\t4\t5\nGid:\t5\t6\t7\t8\n", -EBADMSG },
        { "uid too big", "Tgid:\t9\nUid:\t4294967296\t2\t3\t4\nGid:\t5\t6\t7\t8\n", -EBADMSG },
        { "negative uid", "Tgid:\t9\nUid:\t-1\t2\t3\t4\nGid:\t5\t6\t7\t8\n", -EBADMSG },
        { "word", "Tgid:\tnine\nUid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\n", -EBADMSG },
        { "tgid 0", "Tgid:\t0\nUid:\t1\t2\t3\t4\nGid:\t5\t6\t7\t8\n", -EBADMSG },
        { "glued", "Tgid:\t9\nUid:1\t2\t3\t4\nGid:\t5\t6\t7\t8\n", -EBADMSG },
};

static void test_parse_status_table(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(status_cases); i++) {
                const StatusCase *c = &status_cases[i];
                uint32_t uid = 1, euid = 1, gid = 1, egid = 1;
                pid_t tgid = 1;
                int r;

                r = pw_parse_status(c->text, &uid, &euid, &gid, &egid, &tgid);
                if (r != c->ret)
                        fail_msg("case \"%s\": got %d, want %d", c->name, r, c->ret);
                if (r < 0)
                        continue;
                assert_int_equal(uid, c->uid);
                assert_int_equal(euid, c->euid);
                assert_int_equal(gid, c->gid);
                assert_int_equal(egid, c->egid);
                assert_int_equal(tgid, c->tgid);
        }
        /* Every output is optional. */
        assert_int_equal(pw_parse_status(status_cases[0].text, NULL, NULL, NULL, NULL, NULL), 0);
        assert_int_equal(pw_parse_status(NULL, NULL, NULL, NULL, NULL, NULL), -EINVAL);
}

/* ---- pw_parse_cgroup ---- */

typedef struct CgroupCase {
        const char *name;
        const char *text;
        int ret;
        const char *path;
} CgroupCase;

static const CgroupCase cgroup_cases[] = {
        { "unified", "0::/system.slice/sshd.service\n", 0, "/system.slice/sshd.service" },
        { "hybrid",
          "9:name=systemd:/init.scope\n8:pids:/init.scope\n7:blkio:/\n4:memory:/process_api/57132e\n1:cpu:/init.scope\n"
          "0::/init.scope\n",
          0, "/init.scope" },
        { "v1 only",
          "12:cpu,cpuacct:/user.slice\n11:memory:/user.slice/user-1000.slice/session-3.scope\n"
          "1:name=systemd:/user.slice/user-1000.slice/session-3.scope\n",
          0, "/user.slice/user-1000.slice/session-3.scope" },
        { "v1 name among others", "3:cpu,name=systemd:/system.slice/a.service\n", 0, "/system.slice/a.service" },
        { "v1 name=systemd2 is not it", "3:name=systemd2:/x.service\n", -ENOENT },
        { "legacy with a bare cgroup2", "0::/\n1:name=systemd:/system.slice/a.service\n", 0, "/system.slice/a.service" },
        { "unified root, no v1", "0::/\n", 0, "/" },
        { "unified first", "1:name=systemd:/system.slice/a.service\n0::/system.slice/b.service\n", 0,
          "/system.slice/b.service" },
        { "zombie in a removed cgroup", "0::/system.slice/gone.service (deleted)\n", 0, "/system.slice/gone.service" },
        { "colon and space in a name", "0::/a:b c/d.scope\n", 0, "/a:b c/d.scope" },
        { "no final newline", "0::/x.scope", 0, "/x.scope" },
        { "namespace outside", "0::/../../system.slice/y.service\n", 0, "/../../system.slice/y.service" },

        { "empty", "", -ENOENT },
        { "v1 without systemd", "2:cpu:/foo\n1:memory:/bar\n", -ENOENT },
        { "garbage", "hello\n", -EBADMSG },
        { "one colon", "0:/x\n", -EBADMSG },
        { "relative path", "0::x\n", -EBADMSG },
        { "empty path", "0::\n", -EBADMSG },
        { "no id", "::/x\n", -EBADMSG },
        { "bad line after a good one", "0::/x.scope\nbad\n", -EBADMSG },
};

static void test_parse_cgroup_table(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cgroup_cases); i++) {
                const CgroupCase *c = &cgroup_cases[i];
                char *path = NULL;
                int r;

                r = pw_parse_cgroup(c->text, &path);
                if (r != c->ret)
                        fail_msg("case \"%s\": got %d, want %d", c->name, r, c->ret);
                if (r < 0) {
                        assert_null(path);
                        continue;
                }
                assert_string_equal(path, c->path);
                free(path);
        }
}

static void test_parse_cgroup_long(void **state) {
        size_t n = PW_PATH_MAX + 10;
        char *text = malloc(n + 8), *path = NULL;

        assert_non_null(text);
        memcpy(text, "0::/", 4);
        memset(text + 4, 'a', n - 4);
        memcpy(text + n, "\n", 2);
        assert_int_equal(pw_parse_cgroup(text, &path), -ENAMETOOLONG);
        assert_null(path);
        free(text);
}

/* ---- pw_cgroup_to_units ---- */

typedef struct UnitCase {
        const char *cgroup;
        int ret;
        const char *unit, *user_unit; /* NULL: none */
} UnitCase;

static const UnitCase unit_cases[] = {
        { "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", 0, "user@1000.service", "foo.service" },
        { "/user.slice/user-1000.slice/user@1000.service/init.scope", 0, "user@1000.service", "init.scope" },
        /* A user's own process cannot take a system unit's name: issue 10, attack 4. */
        { "/user.slice/user-65534.slice/user@65534.service/app.slice/sshd.service", 0, "user@65534.service", "sshd.service" },
        { "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service/x/bar.service", 0, "user@1000.service", "foo.service" },
        { "/user.slice/user-1000.slice/user@1000.service/app.slice", 0, "user@1000.service", NULL },
        { "/user.slice/user-1000.slice/user@1000.service/app.slice/folder/foo.service", 0, "user@1000.service", NULL },
        { "/user.slice/user-1000.slice/session-3.scope", 0, "session-3.scope", NULL },
        { "/user.slice/user-1000.slice/session-3.scope/sshd.service", 0, "session-3.scope", NULL },
        { "/system.slice/sshd.service", 0, "sshd.service", NULL },
        { "/init.scope", 0, "init.scope", NULL },
        { "/system.slice/docker-abc.scope/payload", 0, "docker-abc.scope", NULL },
        { "/system.slice/system-getty.slice/getty@tty1.service", 0, "getty@tty1.service", NULL },
        { "/system.slice/systemd-udevd.service/udev", 0, "systemd-udevd.service", NULL },
        { "/machine.slice/libpod-abc.scope/container/init.scope", 0, "libpod-abc.scope", NULL },
        /* Only a user manager (user@ digits .service) has user units below it. */
        { "/system.slice/user@x.service/app.slice/foo.service", 0, "user@x.service", NULL },
        { "/system.slice/foo@1000.service/app.slice/foo.service", 0, "foo@1000.service", NULL },
        { "/system.slice/dev-sda1.swap", 0, "dev-sda1.swap", NULL },
        { "/system.slice/home.mount", 0, "home.mount", NULL },
        { "/system.slice/-.mount", 0, "-.mount", NULL },
        { "/system.slice/sshd.socket", 0, "sshd.socket", NULL },
        { "/system.slice/dev-sda.device", 0, "dev-sda.device", NULL },
        { "/system.slice/foo\\x2dbar.service", 0, "foo\\x2dbar.service", NULL },
        { "/system.slice/_cpu.service", 0, "cpu.service", NULL },       /* escaped by systemd's cg_escape() */
        { "/system.slice/__x.service", 0, "_x.service", NULL },
        { "//system.slice//sshd.service/", 0, "sshd.service", NULL },
        { "/system.slice/a.service/b.service", 0, "a.service", NULL }, /* a delegated subtree names nothing */
        { "/system.slice/a.service/bad name.service", 0, "a.service", NULL },
        { "/system.slice/gone.service (deleted)", 0, NULL, NULL }, /* the parser strips the suffix */

        { "/", 0, NULL, NULL },
        { "", -EINVAL },
        { "system.slice/sshd.service", -EINVAL },
        { "/user.slice", 0, NULL, NULL },
        { "/user.slice/user-1000.slice", 0, NULL, NULL },
        { "/system.slice/foo@.service", 0, NULL, NULL },  /* a template never runs */
        { "/system.slice/@x.service", 0, NULL, NULL },
        { "/system.slice/.service", 0, NULL, NULL },
        { "/system.slice/foo.timer", 0, NULL, NULL },
        { "/system.slice/foo.target", 0, NULL, NULL },
        { "/system.slice/foo.servicex", 0, NULL, NULL },
        { "/machine/qemu-1-vm/emulator", 0, NULL, NULL },
        { "/machine/sshd.service", 0, NULL, NULL },      /* not made by the service manager */
        { "/pwtest.slice/x/sshd.service", 0, NULL, NULL },
        { "/system.slice/sshd.service\n", 0, NULL, NULL },
};

static void test_cgroup_to_units_table(void **state) {
        char longname[300];

        for (size_t i = 0; i < ELEMENTSOF(unit_cases); i++) {
                const UnitCase *c = &unit_cases[i];
                char *unit = (char *) "unset", *user_unit = (char *) "unset";
                int r;

                r = pw_cgroup_to_units(c->cgroup, &unit, &user_unit);
                if (r != c->ret)
                        fail_msg("cgroup \"%s\": got %d, want %d", c->cgroup, r, c->ret);
                if (r < 0)
                        continue;
                if (!c->unit != !unit || (unit && strcmp(unit, c->unit) != 0))
                        fail_msg("cgroup \"%s\": unit %s, want %s", c->cgroup, unit ?: "(none)", c->unit ?: "(none)");
                if (!c->user_unit != !user_unit || (user_unit && strcmp(user_unit, c->user_unit) != 0))
                        fail_msg("cgroup \"%s\": user unit %s, want %s", c->cgroup, user_unit ?: "(none)",
                                 c->user_unit ?: "(none)");
                free(unit);
                free(user_unit);
        }

        /* Unit names stop at 255 bytes. */
        longname[0] = '/';
        memset(longname + 1, 'a', 255 - strlen(".service"));
        strcpy(longname + 1 + 255 - strlen(".service"), ".service");
        {
                char *unit = NULL;

                assert_int_equal(pw_cgroup_to_units(longname, &unit, NULL), 0);
                assert_non_null(unit);
                assert_int_equal(strlen(unit), 255);
                free(unit);
        }
        memset(longname + 1, 'a', 256 - strlen(".service"));
        strcpy(longname + 1 + 256 - strlen(".service"), ".service");
        {
                char *unit = NULL;

                assert_int_equal(pw_cgroup_to_units(longname, &unit, NULL), 0);
                assert_null(unit);
        }
        assert_int_equal(pw_cgroup_to_units(NULL, NULL, NULL), -EINVAL);
}

/* ---- pw_parse_status_saved ---- */

static void test_parse_status_saved(void **state) {
        uint32_t suid = 1, sgid = 1;

        assert_int_equal(pw_parse_status_saved("Name:\tx\nUid:\t0\t65534\t0\t65534\nGid:\t5\t6\t7\t8\n", &suid, &sgid), 0);
        assert_int_equal(suid, 0);
        assert_int_equal(sgid, 7);
        assert_int_equal(pw_parse_status_saved("Uid:\t1\t2\t3\t4\n", &suid, &sgid), -EBADMSG);
        assert_int_equal(pw_parse_status_saved("Uid:\t1\t2\nGid:\t1\t2\t3\t4\n", &suid, &sgid), -EBADMSG);
        assert_int_equal(pw_parse_status_saved(NULL, &suid, &sgid), -EINVAL);
}

/* ---- pw_parse_cmdline ---- */

typedef struct CmdlineCase {
        const char *name;
        const char *data;
        size_t len, max;
        const char *want;
        size_t want_len;
        bool truncated;
} CmdlineCase;

static const CmdlineCase cmdline_cases[] = {
        { "argv", "/bin/sh\0-c\0read x\0", 18, 64, "/bin/sh\0-c\0read x\0", 18, false },
        { "exactly max", "ab\0cd\0", 6, 6, "ab\0cd\0", 6, false },
        { "one argument", "x\0", 2, 64, "x\0", 2, false },
        { "empty argument", "\0", 1, 64, "\0", 1, false },
        { "no final NUL", "nginx: worker", 13, 64, "nginx: worker\0", 14, false },
        { "no final NUL, one short of max", "abc", 3, 4, "abc\0", 4, false },
        { "no final NUL at max", "abcd", 4, 4, "abc\0", 4, true },
        { "cut", "abc\0defgh\0", 10, 6, "abc\0d\0", 6, true },
        { "cut after a NUL", "abc\0def\0", 8, 5, "abc\0\0", 5, true },
        { "cut at a NUL", "abc\0def\0", 8, 4, "abc\0", 4, true },
        { "max 1", "ab\0", 3, 1, "\0", 1, true },
        { "empty", "", 0, 64, NULL, 0, false },
        { "max 0", "ab\0", 3, 0, NULL, 0, true },
};

static void test_parse_cmdline_table(void **state) {
        for (size_t i = 0; i < ELEMENTSOF(cmdline_cases); i++) {
                const CmdlineCase *c = &cmdline_cases[i];
                char *argv = (char *) 1;
                size_t len = 99;
                bool truncated = !c->truncated;
                char *in = malloc(c->len ? c->len : 1);

                /* A copy of exactly len bytes: ASan sees a read beyond. */
                assert_non_null(in);
                memcpy(in, c->data, c->len);
                assert_int_equal(pw_parse_cmdline(in, c->len, c->max, &argv, &len, &truncated), 0);
                free(in);
                if (len != c->want_len || truncated != c->truncated)
                        fail_msg("case \"%s\": len %zu truncated %d", c->name, len, truncated);
                if (!c->want) {
                        assert_null(argv);
                        continue;
                }
                assert_non_null(argv);
                assert_memory_equal(argv, c->want, c->want_len);
                free(argv);
        }
        assert_int_equal(pw_parse_cmdline(NULL, 0, 10, &(char *) { NULL }, &(size_t) { 0 }, NULL), 0);
        assert_int_equal(pw_parse_cmdline(NULL, 3, 10, &(char *) { NULL }, &(size_t) { 0 }, NULL), -EINVAL);
}

/* ---- start times ---- */

static void test_starttime_conversion(void **state) {
        assert_true(pw_starttime_to_mono_ns(0, 0, HZ) == 0);
        assert_true(pw_starttime_to_mono_ns(1, 0, HZ) == TICK_NS);
        assert_true(pw_starttime_to_mono_ns(12345, 0, HZ) == 123450000000ULL);
        assert_true(pw_starttime_to_mono_ns(12345, NSEC_PER_SEC, HZ) == 122450000000ULL);
        /* A start before the offset (a process older than the last suspend): 0, not a wrap. */
        assert_true(pw_starttime_to_mono_ns(12345, 123450000000ULL, HZ) == 0);
        assert_true(pw_starttime_to_mono_ns(12345, 123450000001ULL, HZ) == 0);
        assert_true(pw_starttime_to_mono_ns(12345, 123449999999ULL, HZ) == 1);
        /* Other tick rates, including ones that do not divide a second. */
        assert_true(pw_starttime_to_mono_ns(250, 0, 250) == NSEC_PER_SEC);
        assert_true(pw_starttime_to_mono_ns(1, 0, 300) == 3333333);
        assert_true(pw_starttime_to_mono_ns(301, 0, 300) == NSEC_PER_SEC + 3333333);
        assert_true(pw_starttime_to_mono_ns(1, 0, NSEC_PER_SEC) == 1);
        /* Saturation. */
        assert_true(pw_starttime_to_mono_ns(UINT64_MAX, 0, HZ) == UINT64_MAX);
        assert_true(pw_starttime_to_mono_ns(UINT64_MAX, 0, 1) == UINT64_MAX);
        assert_true(pw_starttime_to_mono_ns(UINT64_MAX, 0, UINT64_MAX) == NSEC_PER_SEC);
        assert_true(pw_starttime_to_mono_ns(5, 0, 0) == 0);
}

static void test_start_matches(void **state) {
        const uint64_t t = 500 * NSEC_PER_SEC;

        assert_true(pw_start_matches(t, t, HZ));
        assert_true(pw_start_matches(t, t + TICK_NS, HZ));
        assert_true(pw_start_matches(t + TICK_NS, t, HZ));
        assert_true(pw_start_matches(t, t + TICK_NS + EPS_NS, HZ));
        assert_true(pw_start_matches(t + TICK_NS + EPS_NS, t, HZ));
        assert_false(pw_start_matches(t, t + TICK_NS + EPS_NS + 1, HZ));
        assert_false(pw_start_matches(t + TICK_NS + EPS_NS + 1, t, HZ));
        assert_false(pw_start_matches(0, UINT64_MAX, HZ));
        assert_true(pw_start_matches(0, TICK_NS, HZ));

        /* The edge a real process sits on: the kernel rounds its start down to a tick, and the event
         * time is a little after the true start. */
        {
                uint64_t start = 42 * TICK_NS + TICK_NS - 1;                 /* just before the next tick */
                uint64_t stat_ns = pw_starttime_to_mono_ns(start / TICK_NS, 0, HZ);

                assert_true(pw_start_matches(stat_ns, start + 900 * 1000, HZ));
                assert_false(pw_start_matches(stat_ns, start + 2 * EPS_NS, HZ));
        }

        /* 1e9 / 300 rounded up: a full tick still matches. */
        assert_true(pw_start_matches(t, t + 3333334 + EPS_NS, 300));
        assert_false(pw_start_matches(t, t + 3333335 + EPS_NS, 300));
        assert_true(pw_start_matches(t, t + EPS_NS, 0));
        assert_false(pw_start_matches(t, t + EPS_NS + 1, 0));
}

/* ---- the reader over a fake proc folder ---- */

typedef struct Fake {
        char root[64];
        PwProcReader r;
} Fake;

static void write_file(const char *root, const char *path, const void *data, size_t len) {
        char p[256];
        int fd;

        (void) snprintf(p, sizeof(p), "%s/%s", root, path);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        assert_int_equal(close(fd), 0);
}

static void write_str(const char *root, const char *path, const char *s) {
        write_file(root, path, s, strlen(s));
}

static void make_dir(const char *root, const char *path) {
        char p[256];

        (void) snprintf(p, sizeof(p), "%s/%s", root, path);
        assert_int_equal(mkdir(p, 0755), 0);
}

static void make_link(const char *root, const char *path, const char *target) {
        char p[256];

        (void) snprintf(p, sizeof(p), "%s/%s", root, path);
        assert_int_equal(symlink(target, p), 0);
}

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw) {
        return remove(path);
}

/* A stat line like the kernel's, with the fields the tests look at. */
static void write_stat(const char *root, pid_t pid, const char *comm, uint32_t flags, uint64_t starttime) {
        char path[64], text[512];

        (void) snprintf(text, sizeof(text),
                        "%d (%s) S 1 %d %d 0 -1 %u 100 0 0 0 5 3 0 0 20 0 2 0 %llu" TAIL, (int) pid, comm,
                        (int) pid, (int) pid, flags, (unsigned long long) starttime);
        (void) snprintf(path, sizeof(path), "%d/stat", (int) pid);
        write_str(root, path, text);
}

#define FAKE_ARGV "/usr/bin/fake\0--flag\0x y\0"
#define FAKE_BOOT_OFFSET NSEC_PER_SEC
/* 12345 ticks at 100 Hz, less the 1 s offset. */
#define FAKE_START_NS 122450000000ULL
/* The same start as CLOCK_BOOTTIME: what identity checks compare. */
#define FAKE_START_BOOT_NS 123450000000ULL

static int fake_setup(void **state) {
        Fake *f = calloc(1, sizeof(Fake));
        char *big;
        size_t big_len = PW_ARGV_MAX_DEFAULT + 5000;

        assert_non_null(f);
        strcpy(f->root, "/tmp/test-procfs-XXXXXX");
        assert_int_equal(0, tc_mkdtemp(f->root));

        /* A complete process with two threads. */
        make_dir(f->root, "4242");
        write_stat(f->root, 4242, "fake proc", 0x400040, 12345);
        write_str(f->root, "4242/status",
                  "Name:\tfake proc\nUmask:\t0022\nState:\tS (sleeping)\nTgid:\t4242\nNgid:\t0\nPid:\t4242\n"
                  "PPid:\t1\nTracerPid:\t0\nUid:\t1000\t1001\t1002\t1003\nGid:\t100\t101\t102\t103\n"
                  "FDSize:\t64\nGroups:\t100 \n");
        write_file(f->root, "4242/cmdline", FAKE_ARGV, sizeof(FAKE_ARGV) - 1);
        write_str(f->root, "4242/cgroup", "1:name=systemd:/system.slice/fake.service\n0::/system.slice/fake.service\n");
        make_link(f->root, "4242/exe", "/usr/bin/fake");
        make_dir(f->root, "4242/task");
        make_dir(f->root, "4242/task/4243");
        make_dir(f->root, "4242/task/4242");
        make_dir(f->root, "4242/task/x1");

        /* Only stat: every other file missing, as for a process that exited midway. */
        make_dir(f->root, "4343");
        write_stat(f->root, 4343, "lonely", 0, 500);

        /* A cmdline longer than argv_max. */
        make_dir(f->root, "4444");
        write_stat(f->root, 4444, "big", 0, 600);
        big = malloc(big_len);
        assert_non_null(big);
        for (size_t i = 0; i < big_len; i++)
                big[i] = i % 8 == 7 ? '\0' : (char) ('a' + i % 7);
        write_file(f->root, "4444/cmdline", big, big_len);
        free(big);

        /* Image there but no stat: reaped between the image and the identity check. */
        make_dir(f->root, "4747");
        write_file(f->root, "4747/cmdline", FAKE_ARGV, sizeof(FAKE_ARGV) - 1);
        make_link(f->root, "4747/exe", "/usr/bin/vanished");

        /* A malformed stat, and a stat naming another pid. */
        make_dir(f->root, "4545");
        write_str(f->root, "4545/stat", "4545 (broken\n");
        make_dir(f->root, "4646");
        write_str(f->root, "4646/stat", "999 (other) S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 5" TAIL);

        /* A kernel thread: PF_KTHREAD, empty cmdline, no exe, root cgroup. */
        make_dir(f->root, "2");
        write_stat(f->root, 2, "kthreadd", 0x208040, 24);
        write_str(f->root, "2/cmdline", "");
        write_str(f->root, "2/cgroup", "0::/\n");
        write_str(f->root, "2/status", "Name:\tkthreadd\nTgid:\t2\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n");

        /* Entries that are not processes. */
        make_link(f->root, "self", "4242");
        make_dir(f->root, "net");
        make_dir(f->root, "12ab");
        make_dir(f->root, "0042");
        write_str(f->root, "99", "a file named like a pid\n");

        assert_int_equal(pw_proc_reader_open(&f->r, f->root), 0);
        f->r.hz = HZ;
        f->r.boot_minus_mono_ns = FAKE_BOOT_OFFSET;
        *state = f;
        return 0;
}

static int fake_teardown(void **state) {
        Fake *f = *state;

        pw_proc_reader_close(&f->r);
        assert_int_equal(nftw(f->root, rm_one, 16, FTW_DEPTH | FTW_PHYS), 0);
        free(f);
        return 0;
}

static void test_fake_full_read(void **state) {
        Fake *f = *state;
        PwProcInfo info;

        assert_int_equal(pw_proc_read(&f->r, 4242, 0, PW_READ_ALL, &info), 0);
        assert_int_equal(info.stat.pid, 4242);
        assert_string_equal(info.stat.comm, "fake proc");
        assert_int_equal(info.stat.state, 'S');
        assert_int_equal(info.stat.ppid, 1);
        assert_int_equal(info.stat.sid, 4242);
        assert_true(info.stat.starttime_ticks == 12345);
        assert_true(info.start_ns == FAKE_START_NS);
        assert_false(info.kthread);
        assert_true(info.have_status);
        assert_int_equal(info.uid, 1000);
        assert_int_equal(info.euid, 1001);
        assert_int_equal(info.gid, 100);
        assert_int_equal(info.egid, 101);
        assert_int_equal(info.tgid, 4242);
        assert_string_equal(info.exe, "/usr/bin/fake");
        assert_int_equal(info.exe_error, 0);
        assert_int_equal(info.argv_len, sizeof(FAKE_ARGV) - 1);
        assert_memory_equal(info.argv, FAKE_ARGV, sizeof(FAKE_ARGV) - 1);
        assert_false(info.argv_truncated);
        assert_string_equal(info.cgroup, "/system.slice/fake.service");
        assert_string_equal(info.unit, "fake.service");
        assert_int_equal(info.n_tids, 2);
        assert_int_equal(info.tids[0], 4242);
        assert_int_equal(info.tids[1], 4243);

        pw_proc_info_done(&info);
        assert_null(info.exe);
        assert_null(info.argv);
        assert_null(info.tids);
        assert_int_equal(info.stat.pid, 0);
        pw_proc_info_done(&info); /* twice is fine */
        pw_proc_info_done(NULL);
}

static void test_fake_flags(void **state) {
        Fake *f = *state;
        PwProcInfo info;

        /* Only what was asked for. */
        assert_int_equal(pw_proc_read(&f->r, 4242, 0, PW_READ_STAT, &info), 0);
        assert_string_equal(info.stat.comm, "fake proc");
        assert_false(info.have_status);
        assert_null(info.exe);
        assert_int_equal(info.exe_error, 0);
        assert_null(info.argv);
        assert_null(info.cgroup);
        assert_null(info.tids);
        pw_proc_info_done(&info);

        assert_int_equal(pw_proc_read(&f->r, 4242, 0, PW_READ_CGROUP | PW_READ_EXE, &info), 0);
        assert_false(info.have_status);
        assert_string_equal(info.exe, "/usr/bin/fake");
        assert_string_equal(info.unit, "fake.service");
        assert_null(info.argv);
        pw_proc_info_done(&info);
}

static void test_fake_expected_start(void **state) {
        Fake *f = *state;
        PwProcInfo info;

        assert_int_equal(pw_proc_read(&f->r, 4242, FAKE_START_BOOT_NS, PW_READ_ALL, &info), 0);
        pw_proc_info_done(&info);
        assert_int_equal(pw_proc_read(&f->r, 4242, FAKE_START_BOOT_NS + TICK_NS + EPS_NS, PW_READ_ALL, &info), 0);
        pw_proc_info_done(&info);
        assert_int_equal(pw_proc_read(&f->r, 4242, FAKE_START_BOOT_NS - TICK_NS, PW_READ_ALL, &info), 0);
        pw_proc_info_done(&info);

        /* Another start: the pid was reused. Nothing is handed out. */
        memset(&info, 0x55, sizeof(info));
        assert_int_equal(pw_proc_read(&f->r, 4242, FAKE_START_BOOT_NS + TICK_NS + EPS_NS + 1, PW_READ_ALL, &info), -ESRCH);
        assert_int_equal(info.stat.pid, 0);
        assert_null(info.exe);
        assert_null(info.argv);
        assert_null(info.tids);
        assert_int_equal(pw_proc_read(&f->r, 4242, FAKE_START_BOOT_NS - 2 * TICK_NS, PW_READ_ALL, &info), -ESRCH);
        assert_int_equal(pw_proc_read(&f->r, 4242, 1, PW_READ_ALL, &info), -ESRCH);
}

static void test_fake_missing(void **state) {
        Fake *f = *state;
        PwProcInfo info;

        assert_int_equal(pw_proc_read(&f->r, 5555, 0, PW_READ_ALL, &info), -ESRCH);
        assert_int_equal(pw_proc_read(&f->r, 0, 0, PW_READ_ALL, &info), -EINVAL);
        assert_int_equal(pw_proc_read(&f->r, -1, 0, PW_READ_ALL, &info), -EINVAL);

        /* Only stat there: success, everything else empty. */
        assert_int_equal(pw_proc_read(&f->r, 4343, 0, PW_READ_ALL, &info), 0);
        assert_string_equal(info.stat.comm, "lonely");
        assert_true(info.start_ns == 5 * NSEC_PER_SEC - FAKE_BOOT_OFFSET);
        assert_false(info.have_status);
        assert_null(info.exe);
        assert_int_equal(info.exe_error, -ENOENT);
        assert_null(info.argv);
        assert_int_equal(info.argv_len, 0);
        assert_false(info.argv_truncated);
        assert_null(info.cgroup);
        assert_null(info.unit);
        assert_null(info.tids);
        assert_int_equal(info.n_tids, 0);
        pw_proc_info_done(&info);
}

static void test_fake_bad_stat(void **state) {
        Fake *f = *state;
        PwProcInfo info;

        assert_int_equal(pw_proc_read(&f->r, 4545, 0, PW_READ_ALL, &info), -EBADMSG);
        assert_int_equal(pw_proc_read(&f->r, 4646, 0, PW_READ_ALL, &info), -EBADMSG);
}

static void test_fake_kthread(void **state) {
        Fake *f = *state;
        PwProcInfo info;

        assert_int_equal(pw_proc_read(&f->r, 2, 0, PW_READ_ALL, &info), 0);
        assert_true(info.kthread);
        assert_null(info.exe);
        assert_int_equal(info.exe_error, -ENOENT);
        assert_null(info.argv);
        assert_int_equal(info.argv_len, 0);
        assert_string_equal(info.cgroup, "/");
        assert_null(info.unit);
        assert_true(info.have_status);
        /* 24 ticks is before the 1 s offset: saturated. */
        assert_true(info.start_ns == 0);
        pw_proc_info_done(&info);
}

static void test_fake_big_cmdline(void **state) {
        Fake *f = *state;
        PwProcInfo info;

        assert_int_equal(pw_proc_read(&f->r, 4444, 0, PW_READ_CMDLINE, &info), 0);
        assert_true(info.argv_truncated);
        assert_int_equal(info.argv_len, PW_ARGV_MAX_DEFAULT);
        assert_int_equal(info.argv[PW_ARGV_MAX_DEFAULT - 1], '\0');
        for (size_t i = 0; i < PW_ARGV_MAX_DEFAULT - 1; i++)
                if (info.argv[i] != (i % 8 == 7 ? '\0' : (char) ('a' + i % 7)))
                        fail_msg("argv byte %zu", i);
        pw_proc_info_done(&info);

        /* A smaller limit. */
        f->r.argv_max = 10;
        assert_int_equal(pw_proc_read(&f->r, 4444, 0, PW_READ_CMDLINE, &info), 0);
        assert_true(info.argv_truncated);
        assert_int_equal(info.argv_len, 10);
        assert_memory_equal(info.argv, "abcdefg\0b\0", 10);
        pw_proc_info_done(&info);

        /* Exactly the limit: whole. */
        f->r.argv_max = sizeof(FAKE_ARGV) - 1;
        assert_int_equal(pw_proc_read(&f->r, 4242, 0, PW_READ_CMDLINE, &info), 0);
        assert_false(info.argv_truncated);
        assert_int_equal(info.argv_len, sizeof(FAKE_ARGV) - 1);
        pw_proc_info_done(&info);
        f->r.argv_max = PW_ARGV_MAX_DEFAULT;
}

static void test_fake_image_before_identity(void **state) {
        Fake *f = *state;
        PwProcInfo info;
        int fd;

        /* cmdline and exe were readable, stat was not: nothing vouches for them, nothing is handed out. */
        memset(&info, 0x55, sizeof(info));
        assert_int_equal(pw_proc_read(&f->r, 4747, 0, PW_READ_CMDLINE | PW_READ_EXE, &info), -ESRCH);
        assert_int_equal(info.stat.pid, 0);
        assert_null(info.exe);
        assert_null(info.argv);

        /* In two steps: /proc/PID opened, then read through it and checked. */
        fd = pw_proc_open(&f->r, 4242);
        assert_true(fd >= 0);
        memset(&info, 0x55, sizeof(info));
        assert_int_equal(pw_proc_read_at(&f->r, fd, 4242, FAKE_START_BOOT_NS + TICK_NS + EPS_NS + 1,
                                         PW_READ_CMDLINE | PW_READ_EXE, &info), -ESRCH);
        assert_null(info.argv);
        assert_null(info.exe);
        assert_int_equal(pw_proc_read_at(&f->r, fd, 4242, FAKE_START_BOOT_NS, PW_READ_CMDLINE | PW_READ_EXE, &info), 0);
        assert_memory_equal(info.argv, FAKE_ARGV, sizeof(FAKE_ARGV) - 1);
        assert_string_equal(info.exe, "/usr/bin/fake");
        assert_false(info.have_status);
        assert_null(info.cgroup);
        assert_null(info.tids);
        pw_proc_info_done(&info);
        /* The same fd serves another read: status and cgroup this time. */
        assert_int_equal(pw_proc_read_at(&f->r, fd, 4242, FAKE_START_BOOT_NS, PW_READ_CGROUP | PW_READ_STATUS, &info), 0);
        assert_string_equal(info.unit, "fake.service");
        assert_true(info.have_status);
        assert_int_equal(info.uid, 1000);
        assert_null(info.argv);
        pw_proc_info_done(&info);
        assert_int_equal(pw_proc_read_at(&f->r, -1, 4242, 0, PW_READ_ALL, &info), -EINVAL);
        /* What a scan adds through the fd it checked (no second stat): the cgroup only, never the
         * image, which may block. */
        assert_int_equal(pw_proc_read_at(&f->r, fd, 4242, FAKE_START_BOOT_NS, PW_READ_STATUS, &info), 0);
        assert_null(info.cgroup);
        assert_int_equal(pw_proc_read_more(&f->r, fd, PW_READ_CGROUP | PW_READ_CMDLINE | PW_READ_EXE, &info), 0);
        assert_string_equal(info.unit, "fake.service");
        assert_null(info.argv);
        assert_null(info.exe);
        pw_proc_info_done(&info);
        assert_int_equal(pw_proc_read_more(&f->r, -1, PW_READ_CGROUP, &info), -EINVAL);
        close(fd);

        assert_int_equal(pw_proc_open(&f->r, 5555), -ESRCH);
        assert_int_equal(pw_proc_open(&f->r, 0), -EINVAL);
}

static void test_fake_argv_max_beyond_scratch(void **state) {
        Fake *f = *state;
        PwProcInfo info;
        size_t saved = f->r.argv_max;

        /* A limit raised without resizing the reader's buffer still reads the whole command line. */
        f->r.argv_max = PW_ARGV_MAX_DEFAULT + 10000;
        assert_int_equal(pw_proc_read(&f->r, 4444, 0, PW_READ_CMDLINE, &info), 0);
        assert_false(info.argv_truncated);
        assert_int_equal(info.argv_len, PW_ARGV_MAX_DEFAULT + 5000);
        pw_proc_info_done(&info);
        f->r.argv_max = saved;

        /* The setter sizes the buffer; nonsense is refused. */
        assert_int_equal(pw_proc_reader_set_argv_max(&f->r, 12), 0);
        assert_int_equal(pw_proc_read(&f->r, 4444, 0, PW_READ_CMDLINE, &info), 0);
        assert_true(info.argv_truncated);
        assert_int_equal(info.argv_len, 12);
        pw_proc_info_done(&info);
        assert_int_equal(pw_proc_reader_set_argv_max(&f->r, 0), -EINVAL);
        assert_int_equal(pw_proc_reader_set_argv_max(NULL, 10), -EINVAL);
        assert_int_equal(pw_proc_reader_set_argv_max(&f->r, PW_ARGV_MAX_DEFAULT), 0);
}

/* A cgroup file of exactly len bytes, "0::/ccc...c\n", for process 4848. */
static void write_cgroup_of_len(const Fake *f, size_t len, char *ret_path) {
        char text[256];

        assert_true(len >= 6 && len < sizeof(text));
        memcpy(text, "0::/", 4);
        memset(text + 4, 'c', len - 5);
        text[len - 1] = '\n';
        text[len] = '\0';
        write_str(f->root, "4848/cgroup", text);
        memcpy(ret_path, text + 3, len - 4);
        ret_path[len - 4] = '\0';
}

static void test_fake_text_in_one_read(void **state) {
        Fake *f = *state;
        char want[256], path[PATH_MAX], big[20000];
        PwProcInfo info;

        /* stat, status and cgroup are read in the reader's buffer, sized for argv (argv_max + 1 bytes);
         * files that do not fit there are read whole all the same. */
        assert_int_equal(pw_proc_reader_set_argv_max(&f->r, 12), 0);
        assert_int_equal(pw_proc_read(&f->r, 4242, FAKE_START_BOOT_NS, PW_READ_ALL, &info), 0);
        assert_string_equal(info.stat.comm, "fake proc");
        assert_true(info.stat.starttime_ticks == 12345);
        assert_int_equal(info.euid, 1001);
        assert_int_equal(info.suid, 1002);
        assert_int_equal(info.sgid, 102);
        assert_string_equal(info.cgroup, "/system.slice/fake.service");
        assert_int_equal(info.argv_len, 12);
        pw_proc_info_done(&info);

        /* Around the buffer's size (64 bytes: 63 and the NUL): one byte short of it, filling it, and
         * one beyond. */
        assert_int_equal(pw_proc_reader_set_argv_max(&f->r, 63), 0);
        make_dir(f->root, "4848");
        write_stat(f->root, 4848, "edge", 0, 700);
        for (size_t len = 60; len <= 66; len++) {
                write_cgroup_of_len(f, len, want);
                assert_int_equal(pw_proc_read(&f->r, 4848, 0, PW_READ_CGROUP, &info), 0);
                assert_string_equal(info.cgroup, want);
                pw_proc_info_done(&info);
        }

        /* A stat past its bound is not a stat file. */
        memset(big, 'x', sizeof(big));
        memcpy(big, "4848 (", 6);
        memcpy(big + sizeof(big) - 40, ") S 1 1 1 0 -1 0 0 0 0 0 0 0 0 0 20 0 1", 39);
        big[sizeof(big) - 1] = '\0';
        write_str(f->root, "4848/stat", big);
        assert_int_equal(pw_proc_read(&f->r, 4848, 0, PW_READ_STAT, &info), -EBADMSG);
        assert_int_equal(pw_proc_reader_set_argv_max(&f->r, PW_ARGV_MAX_DEFAULT), 0);

        /* Dumpable: status owned by the effective uid (the kernel owns it by root when not). */
        (void) snprintf(path, sizeof(path), "%s/4242/status", f->root);
        assert_int_equal(chown(path, 1001, 101), 0);
        assert_int_equal(pw_proc_read(&f->r, 4242, 0, PW_READ_STATUS, &info), 0);
        assert_true(info.dumpable);
        pw_proc_info_done(&info);
        assert_int_equal(chown(path, 1000, 100), 0);
        assert_int_equal(pw_proc_read(&f->r, 4242, 0, PW_READ_STATUS, &info), 0);
        assert_false(info.dumpable);
        pw_proc_info_done(&info);
        assert_int_equal(chown(path, 0, 0), 0);
        assert_int_equal(pw_proc_read(&f->r, 4242, 0, PW_READ_STATUS, &info), 0);
        assert_false(info.dumpable);
        assert_false(info.have_owner);
        pw_proc_info_done(&info);

        /* The owner alone, status not read: from cmdline when that is read (the kernel owns the two
         * alike), else from status. */
        assert_int_equal(chown(path, 1001, 101), 0);
        assert_int_equal(pw_proc_read(&f->r, 4242, 0, PW_READ_OWNER, &info), 0);
        assert_false(info.have_status);
        assert_true(info.have_owner);
        assert_int_equal(info.status_owner, 1001);
        assert_true(pw_status_owner_dumpable(info.status_owner, 1001));
        assert_false(pw_status_owner_dumpable(info.status_owner, 1000));
        pw_proc_info_done(&info);
        (void) snprintf(path, sizeof(path), "%s/4242/cmdline", f->root);
        assert_int_equal(chown(path, 1003, 103), 0);
        assert_int_equal(pw_proc_read(&f->r, 4242, 0, PW_READ_OWNER | PW_READ_CMDLINE, &info), 0);
        assert_true(info.have_owner);
        assert_int_equal(info.status_owner, 1003);
        assert_non_null(info.argv);
        pw_proc_info_done(&info);
        /* No file to look at: no owner. */
        assert_int_equal(pw_proc_read(&f->r, 4343, 0, PW_READ_OWNER | PW_READ_CMDLINE, &info), 0);
        assert_false(info.have_owner);
        pw_proc_info_done(&info);
        assert_false(pw_status_owner_dumpable(0, 0));
}

static void test_fake_list_pids(void **state) {
        Fake *f = *state;
        static const pid_t want[] = { 2, 4242, 4343, 4444, 4545, 4646, 4747 };
        pid_t *pids = NULL;
        int n;

        /* Twice: each listing reads the folder from its start. */
        for (unsigned pass = 0; pass < 2; pass++) {
                n = pw_proc_list_pids(&f->r, &pids);
                assert_int_equal(n, (int) ELEMENTSOF(want));
                assert_memory_equal(pids, want, sizeof(want));
                free(pids);
        }
}

static void test_reader_open_errors(void **state) {
        PwProcReader r;
        PwProcInfo info;
        pid_t *pids;

        assert_int_equal(pw_proc_reader_open(&r, "/nonexistent-procfs-root"), -ENOENT);
        assert_int_equal(r.proc_fd, -EBADF);
        pw_proc_reader_close(&r);
        assert_int_equal(pw_proc_reader_open(&r, "/dev/null"), -ENOTDIR);
        assert_int_equal(pw_proc_read(&r, 1, 0, PW_READ_ALL, &info), -EINVAL);
        assert_int_equal(pw_proc_list_pids(&r, &pids), -EINVAL);
        pw_proc_reader_close(&r);
        pw_proc_reader_close(NULL);
}

/* ---- the reader over the real /proc ---- */

static void read_real(const PwProcReader *r, pid_t pid, PwProcInfo *info) {
        int k = pw_proc_read(r, pid, 0, PW_READ_ALL, info);

        if (k < 0)
                fail_msg("reading pid %d: %s", (int) pid, strerror(-k));
}

static bool has_tid(const PwProcInfo *info, pid_t tid) {
        for (size_t i = 0; i < info->n_tids; i++)
                if (info->tids[i] == tid)
                        return true;
        return false;
}

typedef struct ThreadArg {
        int ready[2];
        int release[2];
} ThreadArg;

static void *thread_main(void *p) {
        ThreadArg *a = p;
        pid_t tid = gettid();
        char c;

        assert_int_equal(write(a->ready[1], &tid, sizeof(tid)), (ssize_t) sizeof(tid));
        (void) read(a->release[0], &c, 1);
        return NULL;
}

static void test_real_self(void **state) {
        PwProcReader r;
        PwProcInfo info;
        ThreadArg a;
        pthread_t thread;
        pid_t thread_tid;
        char *cg_text = NULL, *cg = NULL;
        uint64_t now;

        assert_int_equal(pipe2(a.ready, O_CLOEXEC), 0);
        assert_int_equal(pipe2(a.release, O_CLOEXEC), 0);
        assert_int_equal(pthread_create(&thread, NULL, thread_main, &a), 0);
        assert_int_equal(read(a.ready[0], &thread_tid, sizeof(thread_tid)), (ssize_t) sizeof(thread_tid));

        assert_int_equal(pw_proc_reader_open(&r, NULL), 0);
        assert_true(r.hz > 0);
        assert_int_equal(r.argv_max, PW_ARGV_MAX_DEFAULT);
        read_real(&r, getpid(), &info);
        now = now_nsec(CLOCK_MONOTONIC);

        assert_int_equal(info.stat.pid, getpid());
        assert_int_equal(info.stat.ppid, getppid());
        assert_int_equal(info.stat.sid, getsid(0));
        assert_int_equal(info.stat.state, 'R');
        assert_false(info.kthread);
        assert_true(info.have_status);
        assert_int_equal(info.uid, getuid());
        assert_int_equal(info.euid, geteuid());
        assert_int_equal(info.gid, getgid());
        assert_int_equal(info.egid, getegid());
        assert_int_equal(info.tgid, getpid());
        assert_true(has_tid(&info, gettid()));
        assert_true(has_tid(&info, thread_tid));
        assert_int_equal(info.n_tids, 2);

        /* The process began before main() (valgrind's start-up takes a few seconds at most). */
        assert_true(info.start_ns <= main_mono_ns);
        assert_true(main_mono_ns - info.start_ns < 60 * NSEC_PER_SEC);
        assert_true(info.start_ns <= now);
        /* The same process, checked by start time. */
        {
                PwProcInfo again;

                assert_int_equal(pw_proc_read(&r, getpid(), info.start_ns, PW_READ_STAT, &again), 0);
                pw_proc_info_done(&again);
        }

        /* Our cgroup as read by hand. */
        assert_int_equal(read_full_file("/proc/self/cgroup", &cg_text, NULL), 0);
        assert_int_equal(pw_parse_cgroup(cg_text, &cg), 0);
        assert_string_equal(info.cgroup, cg);
        free(cg_text);
        free(cg);

        if (!under_valgrind()) {
                char exe[PATH_MAX];
                ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
                char *args;
                size_t len;

                assert_true(n > 0);
                exe[n] = '\0';
                assert_non_null(info.exe);
                assert_string_equal(info.exe, exe);
                assert_int_equal(info.exe_error, 0);

                args = join_argv(saved_argv, &len);
                assert_int_equal(info.argv_len, len);
                assert_memory_equal(info.argv, args, len);
                assert_false(info.argv_truncated);
                free(args);
        } else {
                assert_non_null(info.exe);
                assert_non_null(info.argv);
        }
        pw_proc_info_done(&info);

        assert_int_equal(write(a.release[1], "x", 1), 1);
        assert_int_equal(pthread_join(thread, NULL), 0);
        close(a.ready[0]);
        close(a.ready[1]);
        close(a.release[0]);
        close(a.release[1]);
        pw_proc_reader_close(&r);
}

#define N_WORDS 3000

typedef struct Child {
        pid_t pid;
        int stdin_w;                /* closing it lets the child exit */
        uint64_t before_ns, after_ns; /* CLOCK_MONOTONIC around fork() */
        char **argv;
        char *args;
        size_t args_len;
} Child;

/* /bin/sh -c 'read x' sh word1 ... word3000, blocked reading a pipe; returns once it has exec'd. */
static void child_start(Child *c) {
        int in[2], sync[2];
        ssize_t n;
        int err;

        c->argv = calloc(N_WORDS + 5, sizeof(char *));
        assert_non_null(c->argv);
        c->argv[0] = strdup("/bin/sh");
        c->argv[1] = strdup("-c");
        c->argv[2] = strdup("read x");
        c->argv[3] = strdup("sh");
        for (size_t i = 0; i < N_WORDS; i++) {
                char w[32];

                (void) snprintf(w, sizeof(w), "word%zu", i + 1);
                c->argv[4 + i] = strdup(w);
                assert_non_null(c->argv[4 + i]);
        }
        c->args = join_argv(c->argv, &c->args_len);

        assert_int_equal(pipe2(in, O_CLOEXEC), 0);
        assert_int_equal(pipe2(sync, O_CLOEXEC), 0);
        c->before_ns = now_nsec(CLOCK_MONOTONIC);
        c->pid = fork();
        assert_true(c->pid >= 0);
        if (c->pid == 0) {
                if (dup2(in[0], STDIN_FILENO) < 0)
                        _exit(126);
                execv(c->argv[0], c->argv);
                err = errno;
                (void) write(sync[1], &err, sizeof(err));
                _exit(127);
        }
        c->after_ns = now_nsec(CLOCK_MONOTONIC);
        close(in[0]);
        close(sync[1]);
        c->stdin_w = in[1];

        /* The close-on-exec end closes at exec: EOF means the new image is in place. */
        do
                n = read(sync[0], &err, sizeof(err));
        while (n < 0 && errno == EINTR);
        close(sync[0]);
        assert_int_equal(n, 0);
}

static void child_free(Child *c) {
        for (size_t i = 0; c->argv && c->argv[i]; i++)
                free(c->argv[i]);
        free(c->argv);
        free(c->args);
}

static void test_real_child(void **state) {
        PwProcReader r;
        PwProcInfo info, self;
        Child c = {};
        char *sh;
        siginfo_t si = {};
        int dirfd, k;

        assert_int_equal(pw_proc_reader_open(&r, NULL), 0);
        child_start(&c);
        assert_true(c.args_len < PW_ARGV_MAX_DEFAULT);

        read_real(&r, c.pid, &info);
        assert_int_equal(info.stat.pid, c.pid);
        assert_string_equal(info.stat.comm, "sh");
        assert_int_equal(info.stat.ppid, getpid());
        assert_int_equal(info.tgid, c.pid);
        assert_int_equal(info.uid, getuid());
        assert_int_equal(info.gid, getgid());
        assert_false(info.kthread);
        assert_int_equal(info.n_tids, 1);
        assert_int_equal(info.tids[0], c.pid);
        sh = realpath("/bin/sh", NULL);
        assert_non_null(sh);
        assert_string_equal(info.exe, sh);
        free(sh);
        assert_false(info.argv_truncated);
        assert_int_equal(info.argv_len, c.args_len);
        assert_memory_equal(info.argv, c.args, c.args_len);

        /* Its start lies between the clock reads around fork(), less a tick (the kernel rounds down)
         * and the error of the offset sampling. */
        if (info.start_ns + TICK_NS + EPS_NS < c.before_ns || info.start_ns > c.after_ns)
                fail_msg("start %llu outside [%llu, %llu]", (unsigned long long) info.start_ns,
                         (unsigned long long) c.before_ns, (unsigned long long) c.after_ns);

        /* Same cgroup and unit as ours. */
        read_real(&r, getpid(), &self);
        assert_string_equal(info.cgroup, self.cgroup);
        if (self.unit)
                assert_string_equal(info.unit, self.unit);
        pw_proc_info_done(&self);

        /* With its start: fine. With another: a different process. */
        {
                PwProcInfo again;

                assert_int_equal(pw_proc_read(&r, c.pid, info.start_ns, PW_READ_STAT, &again), 0);
                pw_proc_info_done(&again);
                assert_int_equal(pw_proc_read(&r, c.pid, info.start_ns + 3 * TICK_NS, PW_READ_STAT, &again), -ESRCH);
        }

        /* A smaller argv limit: cut to exactly that, ending in NUL. */
        r.argv_max = 4096;
        {
                PwProcInfo cut;

                assert_int_equal(pw_proc_read(&r, c.pid, 0, PW_READ_CMDLINE, &cut), 0);
                assert_true(cut.argv_truncated);
                assert_int_equal(cut.argv_len, 4096);
                assert_int_equal(cut.argv[4095], '\0');
                assert_memory_equal(cut.argv, c.args, 4095);
                pw_proc_info_done(&cut);
        }
        r.argv_max = PW_ARGV_MAX_DEFAULT;

        /* Let it exit, but do not reap it yet: a zombie has stat but no mm. */
        close(c.stdin_w);
        assert_int_equal(waitid(P_PID, (id_t) c.pid, &si, WEXITED | WNOWAIT), 0);
        {
                PwProcInfo z;

                assert_int_equal(pw_proc_read(&r, c.pid, info.start_ns, PW_READ_ALL, &z), 0);
                assert_int_equal(z.stat.state, 'Z');
                assert_null(z.exe);
                assert_int_equal(z.exe_error, -ENOENT);
                assert_null(z.argv);
                assert_int_equal(z.argv_len, 0);
                pw_proc_info_done(&z);
        }

        /* A /proc/PID fd of a reaped process fails from then on: it never shows another process. */
        {
                char p[32];

                (void) snprintf(p, sizeof(p), "/proc/%d", (int) c.pid);
                dirfd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
                assert_true(dirfd >= 0);
        }
        assert_int_equal(waitpid(c.pid, NULL, 0), c.pid);
        k = openat(dirfd, "stat", O_RDONLY | O_CLOEXEC);
        assert_true(k < 0 && (errno == ENOENT || errno == ESRCH));
        close(dirfd);

        /* Reaped: gone, with or without an expected start. */
        assert_int_equal(pw_proc_read(&r, c.pid, 0, PW_READ_ALL, &self), -ESRCH);
        assert_int_equal(pw_proc_read(&r, c.pid, info.start_ns, PW_READ_ALL, &self), -ESRCH);

        pw_proc_info_done(&info);
        child_free(&c);
        pw_proc_reader_close(&r);
}

static void test_real_kthreadd(void **state) {
        PwProcReader r;
        PwProcInfo info;
        int k;

        assert_int_equal(pw_proc_reader_open(&r, NULL), 0);
        k = pw_proc_read(&r, 2, 0, PW_READ_ALL, &info);
        if (k == -ESRCH || (k == 0 && strcmp(info.stat.comm, "kthreadd") != 0)) {
                /* In a pid namespace pid 2 is not kthreadd. */
                if (k == 0)
                        pw_proc_info_done(&info);
                pw_proc_reader_close(&r);
                skip();
        }
        assert_int_equal(k, 0);
        assert_true(info.kthread);
        assert_int_equal(info.stat.ppid, 0);
        assert_null(info.exe);
        /* No mm: ENOENT. Without CAP_SYS_PTRACE the access check comes first and says EACCES. */
        if (geteuid() == 0)
                assert_int_equal(info.exe_error, -ENOENT);
        else
                assert_true(info.exe_error == -ENOENT || info.exe_error == -EACCES);
        assert_null(info.argv);
        assert_int_equal(info.argv_len, 0);
        assert_true(info.have_status);
        assert_int_equal(info.uid, 0);
        pw_proc_info_done(&info);
        pw_proc_reader_close(&r);
}

/* Without CAP_SYS_PTRACE another user's exe is unreadable (EACCES) while the rest reads fine. Returns
 * 0, 77 when it cannot be checked here, or the number of the failed check. */
static int check_other_user_exe(const PwProcReader *r) {
        PwProcInfo info;
        int k, ret = 0;

        k = pw_proc_read(r, 1, 0, PW_READ_ALL, &info);
        if (k == -ESRCH)
                return 77; /* hidepid */
        if (k < 0)
                return 11;
        if (!info.have_status || info.stat.pid != 1)
                ret = 12;
        else if (info.uid == getuid())
                ret = 77; /* pid 1 is ours: not another user */
        else if (info.exe || info.exe_error != -EACCES)
                ret = 13;
        else if (!info.cgroup)
                ret = 14;
        pw_proc_info_done(&info);
        return ret;
}

static void test_real_other_user(void **state) {
        PwProcReader r;
        pid_t pid;
        int status, ret;

        assert_int_equal(pw_proc_reader_open(&r, NULL), 0);
        if (getuid() != 0)
                ret = check_other_user_exe(&r);
        else {
                /* Root reads everything: check from a child that became nobody. */
                pid = fork();
                assert_true(pid >= 0);
                if (pid == 0) {
                        if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
                                _exit(10);
                        _exit(check_other_user_exe(&r));
                }
                assert_int_equal(waitpid(pid, &status, 0), pid);
                assert_true(WIFEXITED(status));
                ret = WEXITSTATUS(status);
        }
        pw_proc_reader_close(&r);
        if (ret == 77)
                skip();
        if (ret != 0)
                fail_msg("check %d failed", ret);
}

static void test_real_list_pids(void **state) {
        PwProcReader r;
        pid_t *pids = NULL;
        bool self = false, init = false;
        int n;

        assert_int_equal(pw_proc_reader_open(&r, NULL), 0);
        n = pw_proc_list_pids(&r, &pids);
        assert_true(n > 0);
        for (int i = 0; i < n; i++) {
                if (i > 0)
                        assert_true(pids[i] > pids[i - 1]);
                self = self || pids[i] == getpid();
                init = init || pids[i] == 1;
        }
        assert_true(self);
        assert_true(init);
        free(pids);
        pw_proc_reader_close(&r);
}

int main(int argc, char *argv[]) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_stat_table),
                cmocka_unit_test(test_parse_stat_prefixes),
                cmocka_unit_test(test_parse_stat_noise),
                cmocka_unit_test(test_parse_status_table),
                cmocka_unit_test(test_parse_cgroup_table),
                cmocka_unit_test(test_parse_cgroup_long),
                cmocka_unit_test(test_cgroup_to_units_table),
                cmocka_unit_test(test_parse_status_saved),
                cmocka_unit_test(test_parse_cmdline_table),
                cmocka_unit_test(test_starttime_conversion),
                cmocka_unit_test(test_start_matches),
                cmocka_unit_test_setup_teardown(test_fake_full_read, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_fake_flags, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_fake_expected_start, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_fake_missing, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_fake_bad_stat, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_fake_kthread, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_fake_big_cmdline, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_fake_image_before_identity, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_fake_argv_max_beyond_scratch, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_fake_text_in_one_read, fake_setup, fake_teardown),
                cmocka_unit_test_setup_teardown(test_fake_list_pids, fake_setup, fake_teardown),
                cmocka_unit_test(test_reader_open_errors),
                cmocka_unit_test(test_real_self),
                cmocka_unit_test(test_real_child),
                cmocka_unit_test(test_real_kthreadd),
                cmocka_unit_test(test_real_other_user),
                cmocka_unit_test(test_real_list_pids),
        };

        tc_init("procfs");

        saved_argv = argv;
        main_mono_ns = now_nsec(CLOCK_MONOTONIC);
        return cmocka_run_group_tests(tests, NULL, NULL);
}
