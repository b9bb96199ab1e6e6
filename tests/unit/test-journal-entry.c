/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Journal entries built from events applied to a real tree: every field, priorities, escaping. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "journal-entry.h"
#include "resources.h"
#include "procwatch/message-ids.h"
#include "test-cleanup.h"

#define HZ 100
#define MS 1000000ULL

static ProcTree *t;
static const PwJournalContext ctx = { .realtime_offset_ns = 1000 * (int64_t) MS };

/* The value of field name in e (NULL when absent); its length in *len. Fails on a duplicate. */
static const char *get(const PwJournalEntry *e, const char *name, size_t *len) {
        const char *found = NULL;
        size_t nl = strlen(name);

        for (size_t i = 0; i < e->n_iov; i++) {
                const char *f = e->iov[i].iov_base;

                if (e->iov[i].iov_len > nl && memcmp(f, name, nl) == 0 && f[nl] == '=') {
                        assert_null(found);
                        found = f + nl + 1;
                        if (len)
                                *len = e->iov[i].iov_len - nl - 1;
                }
        }
        return found;
}

/* A text field's value, as a NUL-terminated copy in a static buffer. */
static const char *val(const PwJournalEntry *e, const char *name) {
        static char buf[8][256];
        static unsigned k;
        size_t n;
        const char *v = get(e, name, &n);

        if (!v)
                return NULL;
        k = (k + 1) % 8;
        assert_true(n < sizeof(buf[0]));
        memcpy(buf[k], v, n);
        buf[k][n] = '\0';
        return buf[k];
}

static PwProcInfo info_of(pid_t pid, pid_t ppid, uint64_t start_ns, const char *comm, uint32_t uid) {
        PwProcInfo i = { .stat = { .pid = pid, .ppid = ppid, .sid = 100, .state = 'S' },
                         .start_ns = start_ns, .start_boot_ns = start_ns,
                         .uid = uid, .euid = uid, .gid = uid, .egid = uid, .tgid = pid };

        strncpy(i.stat.comm, comm, PW_COMM_MAX);
        i.have_status = true;
        return i;
}

static PwApplyResult apply(PwEvent ev) {
        PwApplyResult res;

        assert_int_equal(proctree_apply(t, &ev, &res), 0);
        return res;
}

static PwEvent ev_fork(uint64_t ts, pid_t ppid, pid_t pid) {
        return (PwEvent){ .kind = PW_EVENT_FORK, .timestamp_ns = ts,
                          .fork = { .parent_pid = ppid, .parent_tgid = ppid, .child_pid = pid, .child_tgid = pid } };
}

static PwEvent ev_exit(uint64_t ts, pid_t pid, uint32_t code) {
        return (PwEvent){ .kind = PW_EVENT_EXIT, .timestamp_ns = ts,
                          .exit = { .pid = pid, .tgid = pid, .code = code, .signal = 17 } };
}

/* Forks 200 from bash at 1000 ms and execs argv (len bytes with the final NUL) in cgroup. */
static PwProcess *spawn(const char *argv, size_t len, const char *cgroup, const char *unit, PwEvent *exec_ev,
                        PwApplyResult *exec_res) {
        PwProcInfo info = info_of(200, 100, 1000 * MS, "curl", 1000);

        apply(ev_fork(1000 * MS, 100, 200));
        *exec_ev = (PwEvent){ .kind = PW_EVENT_EXEC, .timestamp_ns = 1001 * MS, .exec = { .pid = 200, .tgid = 200 } };
        *exec_res = apply(*exec_ev);
        assert_int_equal(exec_res->n_enrich, 1);
        info.exe = strdup("/usr/bin/curl");
        info.argv = malloc(len);
        memcpy(info.argv, argv, len);
        info.argv_len = len;
        info.cgroup = strdup(cgroup);
        if (unit)
                info.unit = strdup(unit);
        else
                /* The daemon's one parser, as a read of /proc does. */
                assert_int_equal(pw_cgroup_to_units(cgroup, &info.unit, &info.user_unit), 0);
        assert_int_equal(proctree_enrich(t, &info, HZ), 0);
        pw_proc_info_done(&info);
        exec_res->process = proctree_get_live(t, 200);
        return exec_res->process;
}

static int setup(void **state) {
        PwProcInfo i1 = info_of(1, 0, 1 * MS, "init", 0), i2 = info_of(100, 1, 50 * MS, "bash", 1000);

        assert_int_equal(proctree_new(&t, NULL), 0);
        assert_int_equal(proctree_add_from_proc(t, &i1, PW_SOURCE_SCAN, HZ), 0);
        assert_int_equal(proctree_add_from_proc(t, &i2, PW_SOURCE_SCAN, HZ), 0);
        return 0;
}

static int teardown(void **state) {
        t = proctree_free(t);
        return 0;
}

static const char curl_argv[] = "curl\0-s\0https://example.invalid/";

static void test_exec(void **state) {
        PwEvent ev;
        PwApplyResult res;
        PwProcess *p = spawn(curl_argv, sizeof(curl_argv),
                             "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", NULL,
                             &ev, &res);
        PwJournalEntry *e;

        assert_int_equal(pw_journal_entry_build(&ev, &res, p, &ctx, &e), 0);
        assert_string_equal(val(e, "MESSAGE"), "exec 200 /usr/bin/curl -s https://example.invalid/ (parent 100 bash, uid 1000)");
        assert_string_equal(val(e, "MESSAGE_ID"), PW_MESSAGE_EXEC);
        assert_string_equal(val(e, "PRIORITY"), "6");
        assert_string_equal(val(e, "SYSLOG_IDENTIFIER"), "procwatchd");
        assert_string_equal(val(e, "PROCWATCH_EVENT"), "exec");
        assert_string_equal(val(e, "PROCWATCH_ID"), "200:1000000000");
        assert_string_equal(val(e, "PROCWATCH_PID"), "200");
        assert_string_equal(val(e, "PROCWATCH_TID"), "200");
        assert_string_equal(val(e, "PROCWATCH_PPID"), "100");
        assert_string_equal(val(e, "PROCWATCH_PARENT_COMM"), "bash");
        assert_string_equal(val(e, "PROCWATCH_COMM"), "curl");
        assert_string_equal(val(e, "PROCWATCH_EXE"), "/usr/bin/curl");
        assert_string_equal(val(e, "PROCWATCH_CMDLINE"), "curl -s https://example.invalid/");
        assert_null(val(e, "PROCWATCH_CMDLINE_TRUNCATED"));
        assert_string_equal(val(e, "PROCWATCH_UID"), "1000");
        assert_string_equal(val(e, "PROCWATCH_EUID"), "1000");
        assert_string_equal(val(e, "PROCWATCH_GID"), "1000");
        assert_string_equal(val(e, "PROCWATCH_EGID"), "1000");
        assert_string_equal(val(e, "PROCWATCH_SID"), "100");
        assert_string_equal(val(e, "PROCWATCH_UNIT"), "user@1000.service");
        assert_string_equal(val(e, "PROCWATCH_USER_UNIT"), "foo.service");
        assert_string_equal(val(e, "PROCWATCH_CGROUP"), "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service");
        assert_string_equal(val(e, "OBJECT_SYSTEMD_UNIT"), "user@1000.service");
        assert_string_equal(val(e, "OBJECT_SYSTEMD_USER_UNIT"), "foo.service");
        assert_string_equal(val(e, "PROCWATCH_START_REALTIME_USEC"), "2000000");
        assert_string_equal(val(e, "PROCWATCH_KERNEL_TIMESTAMP_NS"), "1001000000");
        assert_null(val(e, "PROCWATCH_EXIT_CODE"));
        assert_null(val(e, "PROCWATCH_EXIT_SIGNAL"));
        assert_null(val(e, "PROCWATCH_DURATION_USEC"));
        assert_null(val(e, "OBJECT_PID"));
        assert_true(e->want_user);
        assert_int_equal(e->user_uid, 1000);
        free(e);
}

static void test_exit_code(void **state) {
        PwEvent ev;
        PwApplyResult res;
        PwProcess *p = spawn(curl_argv, sizeof(curl_argv), "/system.slice/sshd.service", "sshd.service", &ev, &res);
        PwJournalEntry *e;

        ev = ev_exit(1500 * MS, 200, 1 << 8);
        res = apply(ev);
        assert_true(res.process_ended);
        assert_ptr_equal(res.process, p);
        assert_int_equal(pw_journal_entry_build(&ev, &res, p, &ctx, &e), 0);
        assert_string_equal(val(e, "MESSAGE"), "exit 200 curl: status 1 after 500ms");
        assert_string_equal(val(e, "MESSAGE_ID"), PW_MESSAGE_EXIT);
        assert_string_equal(val(e, "PRIORITY"), "5");
        assert_string_equal(val(e, "PROCWATCH_EXIT_CODE"), "1");
        assert_null(val(e, "PROCWATCH_EXIT_SIGNAL"));
        assert_null(val(e, "PROCWATCH_CORE_DUMPED"));
        assert_string_equal(val(e, "PROCWATCH_DURATION_USEC"), "500000");
        assert_string_equal(val(e, "OBJECT_SYSTEMD_UNIT"), "sshd.service");
        assert_null(val(e, "OBJECT_SYSTEMD_USER_UNIT"));
        free(e);

        /* Status 0: info. */
        ev.exit.code = 0;
        assert_int_equal(pw_journal_priority(&ev, &(PwApplyResult){ .process = p }, p), 6);
}

static void test_signal_core(void **state) {
        PwEvent ev;
        PwApplyResult res;
        PwProcess *p = spawn(curl_argv, sizeof(curl_argv), "/init.scope", "init.scope", &ev, &res);
        PwJournalEntry *e;

        ev = (PwEvent){ .kind = PW_EVENT_COREDUMP, .timestamp_ns = 1019 * MS, .coredump = { .pid = 200, .tgid = 200 } };
        res = apply(ev);
        assert_int_equal(pw_journal_entry_build(&ev, &res, p, &ctx, &e), 0);
        assert_string_equal(val(e, "MESSAGE"), "coredump 200 curl: dumping core");
        assert_string_equal(val(e, "MESSAGE_ID"), PW_MESSAGE_COREDUMP);
        assert_string_equal(val(e, "PRIORITY"), "4");
        free(e);

        ev = ev_exit(1020 * MS, 200, 11 | 0x80);
        res = apply(ev);
        assert_int_equal(pw_journal_entry_build(&ev, &res, p, &ctx, &e), 0);
        assert_string_equal(val(e, "MESSAGE"), "exit 200 curl: killed by SIGSEGV (core dumped) after 20ms");
        assert_string_equal(val(e, "PRIORITY"), "4");
        assert_string_equal(val(e, "PROCWATCH_EXIT_SIGNAL"), "11");
        assert_string_equal(val(e, "PROCWATCH_CORE_DUMPED"), "1");
        assert_null(val(e, "PROCWATCH_EXIT_CODE"));
        assert_string_equal(val(e, "PROCWATCH_DURATION_USEC"), "20000");
        free(e);
}

static void test_killed_no_core(void **state) {
        PwEvent ev;
        PwApplyResult res;
        PwProcess *p = spawn(curl_argv, sizeof(curl_argv), "/init.scope", "init.scope", &ev, &res);
        PwJournalEntry *e;

        ev = ev_exit(3000 * MS, 200, 9);
        res = apply(ev);
        assert_int_equal(pw_journal_entry_build(&ev, &res, p, &ctx, &e), 0);
        assert_string_equal(val(e, "MESSAGE"), "exit 200 curl: killed by SIGKILL after 2.000s");
        assert_string_equal(val(e, "PROCWATCH_CORE_DUMPED"), "0");
        assert_string_equal(val(e, "PRIORITY"), "4");
        free(e);
}

static void test_uid_change(void **state) {
        PwEvent ev;
        PwApplyResult res;
        PwProcess *p = spawn(curl_argv, sizeof(curl_argv), "/init.scope", "init.scope", &ev, &res);
        PwJournalEntry *e;

        ev = (PwEvent){ .kind = PW_EVENT_UID, .timestamp_ns = 1100 * MS,
                        .id = { .pid = 200, .tgid = 200, .real = 65534, .effective = 65534 } };
        res = apply(ev);
        assert_int_equal(pw_journal_entry_build(&ev, &res, p, &ctx, &e), 0);
        assert_string_equal(val(e, "MESSAGE"), "uid 200 curl: uid 65534, effective 65534");
        assert_string_equal(val(e, "MESSAGE_ID"), PW_MESSAGE_UID);
        assert_string_equal(val(e, "PROCWATCH_EVENT"), "uid");
        assert_string_equal(val(e, "PROCWATCH_UID"), "65534");
        assert_string_equal(val(e, "PROCWATCH_EUID"), "65534");
        assert_string_equal(val(e, "PRIORITY"), "6");
        free(e);
}

static void test_comm_hostile(void **state) {
        static const char hostile[] = "a\nb\"c\xff\xc2\x9b";
        PwEvent ev;
        PwApplyResult res;
        PwProcess *p = spawn(curl_argv, sizeof(curl_argv), "/init.scope", "init.scope", &ev, &res);
        PwJournalEntry *e;
        const char *v;
        size_t n;

        ev = (PwEvent){ .kind = PW_EVENT_COMM, .timestamp_ns = 1100 * MS, .comm = { .pid = 200, .tgid = 200 } };
        memcpy(ev.comm.comm, hostile, sizeof(hostile));
        res = apply(ev);
        assert_int_equal(pw_journal_entry_build(&ev, &res, p, &ctx, &e), 0);
        assert_string_equal(val(e, "MESSAGE"), "comm 200 curl -> a\\nb\"c\\xff\\xc2\\x9b"); /* C1 CSI too */
        assert_string_equal(val(e, "MESSAGE_ID"), PW_MESSAGE_COMM);
        v = get(e, "PROCWATCH_COMM", &n);
        assert_int_equal(n, sizeof(hostile) - 1);
        assert_memory_equal(v, hostile, n); /* raw */
        assert_string_equal(val(e, "PROCWATCH_OLD_COMM"), "curl");
        free(e);

        /* ... and the exit of that process says its name escaped too. */
        ev = ev_exit(1200 * MS, 200, 0);
        res = apply(ev);
        assert_int_equal(pw_journal_entry_build(&ev, &res, p, &ctx, &e), 0);
        assert_string_equal(val(e, "MESSAGE"), "exit 200 a\\nb\"c\\xff\\xc2\\x9b: status 0 after 200ms");
        free(e);
}

static void test_argv_100k(void **state) {
        size_t len = 100 * 1024;
        char *argv = malloc(len);
        PwEvent ev;
        PwApplyResult res;
        PwProcess *p;
        PwJournalEntry *e;
        const char *v, *m;
        size_t n;

        memcpy(argv, "prog", 5);
        memset(argv + 5, 'x', len - 6);
        argv[len - 1] = '\0';
        p = spawn(argv, len, "/init.scope", "init.scope", &ev, &res);
        assert_int_equal(pw_journal_entry_build(&ev, &res, p, &ctx, &e), 0);
        v = get(e, "PROCWATCH_CMDLINE", &n);
        assert_int_equal(n, PW_JOURNAL_CMDLINE_MAX);
        assert_memory_equal(v, "prog x", 6);
        assert_string_equal(val(e, "PROCWATCH_CMDLINE_TRUNCATED"), "1");
        m = get(e, "MESSAGE", &n);
        assert_true(n < PW_JOURNAL_MESSAGE_CMDLINE_MAX + 200);
        assert_non_null(memmem(m, n, "xxx... (parent 100 bash, uid 1000)", 34));
        free(e);
        free(argv);
}

static void test_argv_privacy(void **state) {
        static const char argv[] = "mysql\0--password=hunter2\0-p\0secret\0--user=bob";
        PwJournalFilter f;
        PwJournalContext c = ctx;
        PwEvent ev;
        PwApplyResult res;
        PwProcess *p = spawn(argv, sizeof(argv), "/init.scope", "init.scope", &ev, &res);
        PwJournalEntry *e;

        pw_journal_filter_init(&f);
        c.filter = &f;
        f.argv_mode = PW_ARGV_REDACT;
        assert_int_equal(pw_journal_filter_add_redact(&f, "--password=*"), 0);
        assert_int_equal(pw_journal_filter_add_redact(&f, "-p"), 0);
        assert_int_equal(pw_journal_entry_build(&ev, &res, p, &c, &e), 0);
        assert_string_equal(val(e, "PROCWATCH_CMDLINE"), "mysql --password=*** -p *** --user=bob");
        assert_string_equal(val(e, "MESSAGE"),
                            "exec 200 /usr/bin/curl --password=*** -p *** --user=bob (parent 100 bash, uid 1000)");
        free(e);

        f.argv_mode = PW_ARGV_NONE;
        assert_int_equal(pw_journal_entry_build(&ev, &res, p, &c, &e), 0);
        assert_null(val(e, "PROCWATCH_CMDLINE"));
        assert_string_equal(val(e, "MESSAGE"), "exec 200 /usr/bin/curl (parent 100 bash, uid 1000)");
        free(e);
        pw_journal_filter_done(&f);
}

static void test_escape(void **state) {
        char out[64] = "";

        assert_int_equal(pw_journal_escape("\xc3\xa9t\xc3\xa9\t\\\x7f\x01", 9, out, sizeof(out)), 17);
        assert_string_equal(out, "\xc3\xa9t\xc3\xa9\\t\\\\\\x7f\\x01");
        /* Overlong, surrogate, truncated sequence: byte by byte. */
        out[0] = '\0';
        pw_journal_escape("\xc0\xaf\xed\xa0\x80\xe2\x82", 7, out, sizeof(out));
        assert_string_equal(out, "\\xc0\\xaf\\xed\\xa0\\x80\\xe2\\x82");
        /* Never cut in the middle of an escape. */
        out[0] = '\0';
        assert_int_equal(pw_journal_escape("ab\n", 3, out, 4), 4);
        assert_string_equal(out, "ab");
}

/* The unit fields come from the record, whose units come from the daemon's one cgroup parser: a
 * user's process below its user manager never carries a system unit's name (issue 10, attack 4). */
static void test_units(void **state) {
        static const char argv[] = "sshd\0-D";
        static const struct {
                const char *cgroup, *sys, *user;
        } cases[] = {
                { "/system.slice/sshd.service", "sshd.service", NULL },
                { "/system.slice/docker-abc.scope/payload", "docker-abc.scope", NULL },
                { "/user.slice/user-1000.slice/session-3.scope", "session-3.scope", NULL },
                { "/user.slice/user-65534.slice/user@65534.service/app.slice/sshd.service", "user@65534.service", "sshd.service" },
                { "/user.slice/user-1000.slice/user@1000.service/init.scope", "user@1000.service", "init.scope" },
                /* A delegated subtree names its inner folders as it likes: the outer unit wins. */
                { "/system.slice/box.service/sshd.service", "box.service", NULL },
                { "/user.slice", NULL, NULL },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                PwEvent ev;
                PwApplyResult res;
                PwJournalEntry *e;
                PwProcess *p;

                if (i > 0) {
                        apply(ev_exit((2000 + i) * MS, 200, 0));
                        proctree_drop_retained(t);
                }
                p = spawn(argv, sizeof(argv), cases[i].cgroup, NULL, &ev, &res);
                assert_int_equal(pw_journal_entry_build(&ev, &res, p, &ctx, &e), 0);
                if (cases[i].sys) {
                        assert_string_equal(val(e, "PROCWATCH_UNIT"), cases[i].sys);
                        assert_string_equal(val(e, "OBJECT_SYSTEMD_UNIT"), cases[i].sys);
                } else {
                        assert_null(val(e, "PROCWATCH_UNIT"));
                        assert_null(val(e, "OBJECT_SYSTEMD_UNIT"));
                }
                if (cases[i].user) {
                        assert_string_equal(val(e, "PROCWATCH_USER_UNIT"), cases[i].user);
                        assert_string_equal(val(e, "OBJECT_SYSTEMD_USER_UNIT"), cases[i].user);
                } else {
                        assert_null(val(e, "PROCWATCH_USER_UNIT"));
                        assert_null(val(e, "OBJECT_SYSTEMD_USER_UNIT"));
                }
                free(e);
        }
}

static void test_daemon_message(void **state) {
        const char *extra[] = { "PROCWATCH_NOT_FORWARDED=5", NULL };
        PwJournalEntry *e;

        assert_int_equal(pw_journal_entry_message(PW_MESSAGE_NOT_FORWARDED, 4, "5 not forwarded", extra, &e), 0);
        assert_string_equal(val(e, "MESSAGE"), "5 not forwarded");
        assert_string_equal(val(e, "MESSAGE_ID"), PW_MESSAGE_NOT_FORWARDED);
        assert_string_equal(val(e, "PRIORITY"), "4");
        assert_string_equal(val(e, "SYSLOG_IDENTIFIER"), "procwatchd");
        assert_string_equal(val(e, "PROCWATCH_NOT_FORWARDED"), "5");
        free(e);
}

/* e's fields and the builder's are the same, byte for byte and in order. */
static void assert_same_fields(const PwJournalEntry *e, PwJournalBuilder *b) {
        struct iovec iov[PW_JOURNAL_FIELDS_MAX];
        size_t n = pw_journal_builder_iov(b, iov);

        assert_int_equal(n, e->n_iov);
        for (size_t i = 0; i < n; i++) {
                assert_int_equal(iov[i].iov_len, e->iov[i].iov_len);
                assert_memory_equal(iov[i].iov_base, e->iov[i].iov_base, iov[i].iov_len);
        }
        assert_int_equal(b->want_user, e->want_user);
        assert_int_equal(b->user_uid, e->user_uid);
}

/* The datagram the builder wrote as it went is the native encoding of e's fields. */
static void assert_datagram(const PwJournalEntry *e, const PwJournalBuilder *b) {
        size_t off, size = pw_journal_builder_datagram(b, &off), want = pw_journal_native_encode(e->iov, e->n_iov, NULL, 0);
        char *buf = malloc(want);

        assert_non_null(buf);
        assert_int_equal(pw_journal_native_encode(e->iov, e->n_iov, buf, want), want);
        assert_int_equal(size, want);
        assert_memory_equal(b->buf + off, buf, want);
        free(buf);
}

/* The writer thread builds from a snapshot taken on the loop: the same entry as built at once, also
 * once the record has changed and is gone from the tree, and one builder reused for all of them. */
static void test_snapshot(void **state) {
        static const char hostile[] = "a\nb\"c\xff";
        static const char argv[] = "mysql\0--password=hunter2\0-p\0secret";
        PwJournalBuilder b = {};
        PwJournalFilter f;
        PwJournalContext c = ctx;
        PwJournalEntry *direct[4], *snap[4];
        PwEvent ev[4];
        PwApplyResult res;
        PwProcess *p;
        size_t off[4], size[4];
        unsigned n = 0;

        pw_journal_filter_init(&f);
        f.argv_mode = PW_ARGV_REDACT;
        assert_int_equal(pw_journal_filter_add_redact(&f, "--password=*"), 0);
        c.filter = &f;
        c.resources = true;

        /* exec, with units, a parent and a redacted argv */
        p = spawn(argv, sizeof(argv), "/user.slice/user-1000.slice/user@1000.service/app.slice/foo.service", NULL,
                  &ev[n], &res);
        assert_int_equal(pw_journal_entry_build(&ev[n], &res, p, &c, &direct[n]), 0);
        assert_int_equal(pw_journal_snapshot_new(&ev[n], &res, p, &c, &snap[n]), 0);
        assert_null(snap[n]->iov);
        assert_true(snap[n]->bytes > 0);
        /* The record and the parent's comm, not the parent's record, nor resources it has not got. */
        assert_int_equal(snap[n]->bytes, pw_journal_snapshot_size(p));
        assert_true(snap[n]->bytes < 2 * sizeof(PwProcess) + 512);
        n++;
        /* a comm change (raw bytes, old comm from the history) */
        ev[n] = (PwEvent){ .kind = PW_EVENT_COMM, .timestamp_ns = 1100 * MS, .comm = { .pid = 200, .tgid = 200 } };
        memcpy(ev[n].comm.comm, hostile, sizeof(hostile));
        res = apply(ev[n]);
        assert_int_equal(pw_journal_entry_build(&ev[n], &res, p, &c, &direct[n]), 0);
        assert_int_equal(pw_journal_snapshot_new(&ev[n], &res, p, &c, &snap[n]), 0);
        n++;
        /* the exit, killed, with what it cost */
        assert_null(p->resources);
        p->resources = calloc(1, sizeof(*p->resources));
        assert_non_null(p->resources);
        p->resources->state = PW_RESOURCES_JOINED;
        p->resources->self.cpu_usec = 8100000;
        p->resources->self.cpu_user_usec = 8000000;
        p->resources->self.max_rss_bytes = 512ULL << 20;
        ev[n] = ev_exit(1500 * MS, 200, 9);
        res = apply(ev[n]);
        assert_true(res.process_ended);
        assert_int_equal(pw_journal_entry_build(&ev[n], &res, p, &c, &direct[n]), 0);
        assert_non_null(get(direct[n], "PROCWATCH_MAX_RSS_BYTES", NULL));
        /* What it cost, once, at the end of the line. */
        assert_string_equal(val(direct[n], "MESSAGE"), "exit 200 a\\nb\"c\\xff: killed by SIGKILL after 500ms, cpu 8.1s, max rss 512 MiB");
        assert_int_equal(pw_journal_snapshot_new(&ev[n], &res, p, &c, &snap[n]), 0);
        n++;
        /* the parent's exit: its child's record still names it */
        ev[n] = ev_exit(1600 * MS, 100, 0);
        res = apply(ev[n]);
        assert_int_equal(pw_journal_entry_build(&ev[n], &res, res.process, &c, &direct[n]), 0);
        assert_int_equal(pw_journal_snapshot_new(&ev[n], &res, res.process, &c, &snap[n]), 0);
        n++;

        /* Every record and string gone before the writer gets to them. */
        proctree_drop_retained(t);
        t = proctree_free(t);
        /* One builder takes them one after the other, as the writer builds a batch: each entry is
         * its own datagram, the ones before it left as they were. */
        for (unsigned i = 0; i < n; i++) {
                assert_int_equal(pw_journal_builder_build_snapshot(&b, snap[i]), 0);
                assert_same_fields(direct[i], &b);
                assert_datagram(direct[i], &b);
                size[i] = pw_journal_builder_datagram(&b, &off[i]);
                assert_true(i == 0 || off[i] == off[i - 1] + size[i - 1]);
        }
        pw_journal_builder_reset(&b);
        for (unsigned i = 0; i < n; i++) {
                assert_int_equal(pw_journal_builder_build_snapshot(&b, snap[i]), 0);
                assert_datagram(direct[i], &b);
                free(direct[i]);
                free(snap[i]);
        }
        /* A ready-built entry is not a snapshot. */
        assert_int_equal(pw_journal_entry_message(PW_MESSAGE_STARTED, 6, "x", NULL, &direct[0]), 0);
        assert_int_equal(pw_journal_builder_build_snapshot(&b, direct[0]), -EINVAL);
        free(direct[0]);
        pw_journal_builder_done(&b);
        pw_journal_filter_done(&f);
        /* teardown frees t again: NULL is fine. */
}

/* journald's native protocol: "NAME=value\n", or the binary-safe form for a value with a newline. */
static void test_native_encode(void **state) {
        static const char f0[] = "MESSAGE=hello", f1[] = "PROCWATCH_COMM=a\nb", f2[] = "EMPTY=";
        static const char want[] = "MESSAGE=hello\n"
                                   "PROCWATCH_COMM\n\x03\0\0\0\0\0\0\0a\nb\n"
                                   "EMPTY=\n";
        struct iovec iov[] = {
                { (void *) f0, sizeof(f0) - 1 }, { (void *) f1, sizeof(f1) - 1 }, { (void *) f2, sizeof(f2) - 1 },
        };
        char buf[128];

        /* Too small: nothing written, the size needed returned. */
        memset(buf, 'z', sizeof(buf));
        assert_int_equal(pw_journal_native_encode(iov, 3, buf, 10), sizeof(want) - 1);
        assert_int_equal(buf[0], 'z');
        assert_int_equal(pw_journal_native_encode(iov, 3, buf, sizeof(buf)), sizeof(want) - 1);
        assert_memory_equal(buf, want, sizeof(want) - 1);
        assert_int_equal(pw_journal_native_encode(iov, 0, buf, 0), 0);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_exec, setup, teardown),
                cmocka_unit_test_setup_teardown(test_snapshot, setup, teardown),
                cmocka_unit_test(test_native_encode),
                cmocka_unit_test_setup_teardown(test_exit_code, setup, teardown),
                cmocka_unit_test_setup_teardown(test_signal_core, setup, teardown),
                cmocka_unit_test_setup_teardown(test_killed_no_core, setup, teardown),
                cmocka_unit_test_setup_teardown(test_uid_change, setup, teardown),
                cmocka_unit_test_setup_teardown(test_comm_hostile, setup, teardown),
                cmocka_unit_test_setup_teardown(test_argv_100k, setup, teardown),
                cmocka_unit_test_setup_teardown(test_argv_privacy, setup, teardown),
                cmocka_unit_test(test_escape),
                cmocka_unit_test_setup_teardown(test_units, setup, teardown),
                cmocka_unit_test(test_daemon_message),
        };

        tc_init("journal-entry");

        return cmocka_run_group_tests(tests, NULL, NULL);
}
