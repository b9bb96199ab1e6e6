/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The access policy: /proc's mount options, the kernel's ptrace-read rule, hidepid with and without
 * gid=, argv privacy, relatives in the JSON records, what a process cost (guarded I/O and delays,
 * subtree totals of several owners); then the edge (a real socket's peer). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "access-policy.h"
#include "procjson.h"
#include "resources.h"
#include "test-cleanup.h"

#define HZ 100
#define MS 1000000ULL

static ProcTree *t;

/* A scanned process with all six ids equal to uid. */
static PwProcess *add(pid_t pid, pid_t ppid, uint32_t uid, bool dumpable, const char *argv, size_t argv_len) {
        PwProcInfo i = {
                .stat = { .pid = pid, .ppid = ppid, .sid = 1, .state = 'S' },
                .start_ns = (uint64_t) pid * MS,
                .start_boot_ns = (uint64_t) pid * MS,
                .have_status = true,
                .uid = uid, .euid = uid, .gid = uid, .egid = uid, .suid = uid, .sgid = uid,
                .dumpable = dumpable,
                .exe = (char *) "/usr/bin/x",
                .argv = (char *) argv,
                .argv_len = argv_len,
        };

        strcpy(i.stat.comm, "x");
        assert_int_equal(proctree_add_from_proc(t, &i, PW_SOURCE_SCAN, HZ), 0);
        return proctree_get_live(t, pid);
}

static int setup(void **state) {
        assert_int_equal(proctree_new(&t, NULL), 0);
        return 0;
}

static int teardown(void **state) {
        t = proctree_free(t);
        return 0;
}

static PwCaller user(uint32_t uid) {
        PwCaller c = { .pid = 4242, .uid = uid, .gid = uid };
        return c;
}

static void test_parse_proc_mount(void **state) {
        static const struct {
                const char *text;
                int ret;
                PwHidePid hidepid;
                bool has_gid;
                uint32_t gid;
        } cases[] = {
                { "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n", 0, PW_HIDEPID_OFF },
                { "22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw,hidepid=invisible\n", 0, PW_HIDEPID_INVISIBLE },
                { "22 1 0:21 / /proc rw,nosuid shared:12 - proc proc rw,hidepid=2\n", 0, PW_HIDEPID_INVISIBLE },
                { "22 1 0:21 / /proc rw - proc proc rw,hidepid=noaccess,subset=pid\n", 0, PW_HIDEPID_NOACCESS },
                { "22 1 0:21 / /proc rw - proc proc rw,hidepid=1\n", 0, PW_HIDEPID_NOACCESS },
                { "22 1 0:21 / /proc rw - proc proc rw,hidepid=ptraceable\n", 0, PW_HIDEPID_PTRACEABLE },
                { "22 1 0:21 / /proc rw - proc proc rw,hidepid=4\n", 0, PW_HIDEPID_PTRACEABLE },
                { "22 1 0:21 / /proc rw - proc proc rw,hidepid=invisible,gid=27\n", 0, PW_HIDEPID_INVISIBLE, true, 27 },
                { "22 1 0:21 / /proc rw - proc proc rw,gid=27,hidepid=0\n", 0, PW_HIDEPID_OFF, true, 27 },
                { "22 1 0:21 / /proc rw shared:12 - proc proc rw,hidepid=0\n", 0, PW_HIDEPID_OFF },
                { "22 1 0:21 / /proc rw shared:12 - proc proc rw,hidepid=off\n", 0, PW_HIDEPID_OFF },
                /* A value the daemon does not know: hide. */
                { "22 1 0:21 / /proc rw - proc proc rw,hidepid=7\n", -EINVAL, PW_HIDEPID_INVISIBLE },
                { "22 1 0:21 / /proc rw - proc proc rw,hidepid=2,gid=x\n", -EINVAL, PW_HIDEPID_INVISIBLE },
                { "22 1 0:21 / /proc rw - proc proc rw,hidepid=2,gid=99999999999\n", -EINVAL, PW_HIDEPID_INVISIBLE },
                /* The last /proc mount is the one on top. */
                { "22 1 0:21 / /proc rw shared:12 - proc proc rw\n"
                  "90 22 0:50 / /proc rw - proc proc rw,hidepid=invisible\n", 0, PW_HIDEPID_INVISIBLE },
                { "22 1 0:21 / /proc rw - proc proc rw,hidepid=invisible,gid=5\n"
                  "90 22 0:50 / /proc rw - proc proc rw\n", 0, PW_HIDEPID_OFF },
                /* Other mount points and types do not count. */
                { "30 1 0:22 / /proc/sys/fs/binfmt_misc rw - binfmt_misc binfmt_misc rw,hidepid=2\n"
                  "31 1 0:23 / /procx rw - proc proc rw,hidepid=2\n", -EINVAL, PW_HIDEPID_INVISIBLE },
                { "", -EINVAL, PW_HIDEPID_INVISIBLE },
                { "garbage\n", -EINVAL, PW_HIDEPID_INVISIBLE },
                { "1 2 3 4 /proc", -EINVAL, PW_HIDEPID_INVISIBLE },
        };

        for (size_t i = 0; i < ELEMENTSOF(cases); i++) {
                PwProcMount m;
                int r = pw_parse_proc_mount(cases[i].text, &m);

                if (r != cases[i].ret || m.hidepid != cases[i].hidepid || m.has_gid != cases[i].has_gid ||
                    (m.has_gid && m.gid != cases[i].gid))
                        fail_msg("case %zu: got %d hidepid=%s gid=%d/%u", i, r, pw_hidepid_to_string(m.hidepid),
                                 m.has_gid, m.gid);
        }
}

/* The kernel's rule: real, effective and saved uid and gid all the caller's, and dumpable. */
static void test_ptrace_read(void **state) {
        PwProcess *own = add(100, 1, 1000, true, NULL, 0), *nodump = add(101, 1, 1000, false, NULL, 0);
        PwProcess *other = add(102, 1, 1001, true, NULL, 0);
        PwCaller u = user(1000), root_nocap = user(0), root = user(0);

        root.cap_sys_ptrace = true;
        assert_true(pw_access_ptrace_read(&u, own));
        assert_false(pw_access_ptrace_read(&u, nodump));
        assert_false(pw_access_ptrace_read(&u, other));
        assert_true(pw_access_ptrace_read(&root, other));
        assert_true(pw_access_ptrace_read(&root, nodump));
        assert_false(pw_access_ptrace_read(&root_nocap, other));

        /* Each id on its own breaks the match. */
        own->suid = 0;
        assert_false(pw_access_ptrace_read(&u, own));
        own->suid = 1000;
        own->sgid = 0;
        assert_false(pw_access_ptrace_read(&u, own));
        own->sgid = 1000;
        own->egid = 27;
        assert_false(pw_access_ptrace_read(&u, own));
        own->egid = 1000;
        u.gid = 27; /* the caller's primary group counts too, as the kernel's fsgid */
        assert_false(pw_access_ptrace_read(&u, own));
        u.gid = 1000;
        assert_true(pw_access_ptrace_read(&u, own));

        /* A UID event changes ids the events do not carry: unknown until read again, so no. */
        assert_int_equal(proctree_apply(t, &(PwEvent){ .kind = PW_EVENT_UID, .timestamp_ns = 500 * MS,
                                                        .id = { .pid = 100, .tgid = 100, .real = 1000, .effective = 1000 } },
                                        NULL), 0);
        assert_false(own->creds_read);
        assert_false(pw_access_ptrace_read(&u, own));
        /* An unknown caller matches nothing, not even a record of uid UINT32_MAX. */
        {
                PwCaller unknown = PW_CALLER_UNKNOWN;

                assert_false(pw_access_ptrace_read(&unknown, add(103, 1, UINT32_MAX, true, NULL, 0)));
        }
}

/* issue 10, attack 3: root that called seteuid(65534) is invisible to 65534 under hidepid. */
static void test_seteuid_root_hidden(void **state) {
        static const char argv[] = "daemon\0--token=SECRET";
        PwProcess *p = add(300, 1, 0, true, argv, sizeof(argv));
        PwAccessPolicy pol = { .proc = { .hidepid = PW_HIDEPID_INVISIBLE } };
        PwCaller nobody = user(65534), root = user(0);

        root.cap_sys_ptrace = true;
        assert_int_equal(proctree_apply(t, &(PwEvent){ .kind = PW_EVENT_UID, .timestamp_ns = 500 * MS,
                                                        .id = { .pid = 300, .tgid = 300, .real = 0, .effective = 65534 } },
                                        NULL), 0);
        assert_int_equal(p->euid, 65534);
        assert_false(pw_access_visible(&pol, &nobody, p));
        assert_true(pw_access_visible(&pol, &root, p));
        /* Even read from /proc afterwards (saved uid 0, not dumpable) it stays hidden. */
        p->creds_read = true;
        p->suid = 0;
        p->dumpable = false;
        assert_false(pw_access_visible(&pol, &nobody, p));
        /* Without hidepid it exists for everyone, but its exe is ptrace-guarded. */
        pol.proc.hidepid = PW_HIDEPID_OFF;
        assert_true(pw_access_visible(&pol, &nobody, p));
        assert_false(pw_access_check(&pol, &nobody, p).ptrace_read);
}

static void test_hidepid_modes(void **state) {
        PwProcess *other = add(400, 1, 1001, true, NULL, 0);
        PwAccessPolicy pol = { .proc = { .hidepid = PW_HIDEPID_INVISIBLE, .has_gid = true, .gid = 27 } };
        PwCaller u = user(1000), member = user(1000);

        member.groups[0] = 27;
        member.n_groups = 1;
        assert_false(pw_access_visible(&pol, &u, other));
        assert_true(pw_access_visible(&pol, &member, other));
        assert_true(pw_access_sees_all(&pol, &member));
        /* gid= lets a member see records, not read exe. */
        assert_false(pw_access_check(&pol, &member, other).ptrace_read);
        pol.proc.hidepid = PW_HIDEPID_NOACCESS; /* treated as invisible: files refused, the pid is all */
        assert_false(pw_access_visible(&pol, &u, other));
        assert_true(pw_access_visible(&pol, &member, other));
        pol.proc.hidepid = PW_HIDEPID_PTRACEABLE; /* gid= does not count */
        assert_false(pw_access_visible(&pol, &member, other));
        assert_false(pw_access_sees_all(&pol, &member));
        /* A primary group works as a supplementary one. */
        pol.proc.hidepid = PW_HIDEPID_INVISIBLE;
        u.gid = 27;
        assert_true(pw_access_visible(&pol, &u, other));
        /* NULL policy: everything. */
        assert_true(pw_access_sees_all(NULL, &u));
}

/* issue 10, item 5: the journal's argv privacy for callers other than root and the owner. */
static void test_argv_privacy(void **state) {
        static const char argv[] = "mysql\0--password=hunter2\0-p\0secret\0db";
        PwProcess *p = add(500, 1, 1000, true, argv, sizeof(argv));
        PwJournalFilter f;
        PwAccessPolicy pol = { .argv_privacy = &f };
        PwCaller owner = user(1000), other = user(1001), root = user(0);
        const char *a;
        char *copy;
        size_t len;

        pw_journal_filter_init(&f);
        f.argv_mode = PW_ARGV_REDACT;
        assert_int_equal(pw_journal_filter_add_redact(&f, "--password=*"), 0);
        assert_int_equal(pw_journal_filter_add_redact(&f, "-p"), 0);

        assert_int_equal(pw_access_check(&pol, &owner, p).argv, PW_ARGV_FULL);
        assert_int_equal(pw_access_check(&pol, &root, p).argv, PW_ARGV_FULL);
        assert_int_equal(pw_access_check(&pol, &other, p).argv, PW_ARGV_REDACT);
        assert_int_equal(pw_access_argv(&pol, PW_ARGV_REDACT, p, &a, &len, &copy), 0);
        assert_non_null(copy);
        assert_int_equal(len, sizeof("mysql\0--password=***\0-p\0***\0db") - 1);
        assert_memory_equal(a, "mysql\0--password=***\0-p\0***\0db", len);
        free(copy);
        assert_int_equal(pw_access_argv(&pol, PW_ARGV_FULL, p, &a, &len, &copy), 0);
        assert_null(copy);
        assert_int_equal(len, sizeof(argv) - 1);

        f.argv_mode = PW_ARGV_NONE;
        assert_int_equal(pw_access_check(&pol, &other, p).argv, PW_ARGV_NONE);
        assert_int_equal(pw_access_argv(&pol, PW_ARGV_NONE, p, &a, &len, &copy), 0);
        assert_null(a);
        /* A process whose euid differs from the caller's is not the caller's. */
        p->euid = 0;
        assert_int_equal(pw_access_check(&pol, &owner, p).argv, PW_ARGV_NONE);
        pw_journal_filter_done(&f);
}

/* The JSON a restricted caller gets: no exe, argv redacted, no hidden relatives. */
static void test_record_for_caller(void **state) {
        static const char argv[] = "app\0--password=hunter2";
        PwJournalFilter f;
        PwAccessPolicy pol = { .proc = { .hidepid = PW_HIDEPID_INVISIBLE }, .argv_privacy = &f };
        PwCaller u = user(1000), root = user(0);
        ProcJsonContext ctx = { .policy = &pol, .caller = &u };
        PwProcess *sshd, *shell, *hidden_child;
        json_t *j, *children;

        pw_journal_filter_init(&f);
        f.argv_mode = PW_ARGV_REDACT;
        assert_int_equal(pw_journal_filter_add_redact(&f, "--password=*"), 0);
        root.cap_sys_ptrace = true;
        add(1, 0, 0, false, NULL, 0);
        sshd = add(10, 1, 0, false, argv, sizeof(argv));
        shell = add(20, 10, 1000, true, argv, sizeof(argv));
        hidden_child = add(30, 20, 0, true, argv, sizeof(argv)); /* su, say */
        add(31, 20, 1000, true, argv, sizeof(argv));

        assert_int_equal(procjson_process(sshd, &ctx, &j), -EACCES);
        assert_int_equal(procjson_process(shell, &ctx, &j), 0);
        assert_int_equal(json_integer_value(json_object_get(j, "ppid")), 0);
        assert_true(json_is_null(json_object_get(j, "parent_id")));
        children = json_object_get(j, "children");
        assert_int_equal(json_array_size(children), 1);
        assert_int_equal(json_integer_value(json_array_get(children, 0)), 31);
        assert_string_equal(json_string_value(json_object_get(j, "exe")), "/usr/bin/x");
        /* Its own: argv in full. */
        assert_string_equal(json_string_value(json_array_get(json_object_get(j, "argv"), 1)), "--password=hunter2");
        assert_true(json_is_false(json_object_get(j, "argv_redacted")));
        json_decref(j);
        assert_true(pw_access_visible(&pol, &root, hidden_child));

        /* Without hidepid: another user's record, no exe, argv redacted, relatives named. */
        pol.proc.hidepid = PW_HIDEPID_OFF;
        ctx.caller = &(PwCaller){ .uid = 1001, .gid = 1001 };
        assert_int_equal(procjson_process(shell, &ctx, &j), 0);
        assert_true(json_is_null(json_object_get(j, "exe")));
        assert_string_equal(json_string_value(json_array_get(json_object_get(j, "argv"), 1)), "--password=***");
        assert_true(json_is_true(json_object_get(j, "argv_redacted")));
        assert_int_equal(json_integer_value(json_object_get(j, "ppid")), 10);
        assert_int_equal(json_array_size(json_object_get(j, "children")), 2);
        json_decref(j);

        /* Root with CAP_SYS_PTRACE: all of it. */
        ctx.caller = &root;
        pol.proc.hidepid = PW_HIDEPID_INVISIBLE;
        assert_int_equal(procjson_process(sshd, &ctx, &j), 0);
        assert_string_equal(json_string_value(json_object_get(j, "exe")), "/usr/bin/x");
        assert_string_equal(json_string_value(json_array_get(json_object_get(j, "argv"), 1)), "--password=hunter2");
        json_decref(j);
        pw_journal_filter_done(&f);
}

/* p (started at pid * MS) exits after lifetime_ms and its taskstats record is joined: cpu_ms of CPU,
 * write_kib written to storage, a swap-in delay. */
static void exit_with_record(ResJoin *j, PwProcess *p, uint64_t lifetime_ms, uint64_t cpu_ms, uint64_t write_kib) {
        uint64_t exit_ns = p->start_ns + lifetime_ms * MS;
        PwEvent ev = { .kind = PW_EVENT_EXIT, .timestamp_ns = exit_ns };
        PwTsMsg m = { .kind = PW_TS_MSG_RECORD };
        PwApplyResult res;
        pid_t pid = p->pid;

        ev.exit.pid = ev.exit.tgid = pid;
        assert_int_equal(proctree_apply(t, &ev, &res), 0);
        assert_true(res.process_ended);
        m.task.version = 16;
        m.task.have = PW_TS_HAVE_BASIC | PW_TS_HAVE_XACCT | PW_TS_HAVE_IO | PW_TS_HAVE_TGID | PW_TS_HAVE_DELAY;
        m.task.pid = m.task.tgid = (uint32_t) pid;
        m.task.flag = PW_TS_AGROUP;
        m.task.etime_usec = m.task.tgetime_usec = lifetime_ms * 1000;
        m.task.cpu_run_virtual_total_ns = cpu_ms * MS;
        m.task.write_bytes = m.task.write_char = write_kib * 1024;
        m.task.delay_count[PW_TS_DELAY_CPU] = 2;
        m.task.delay_total_ns[PW_TS_DELAY_CPU] = 1000;
        m.task.delay_count[PW_TS_DELAY_SWAPIN] = 1;
        m.task.delay_total_ns[PW_TS_DELAY_SWAPIN] = 5000;
        assert_ptr_equal(resjoin_record(j, t, &m, exit_ns + MS), res.process);
        assert_true(pw_process_has_resources(res.process));
}

static json_t *record_for(const PwProcess *p, const PwAccessPolicy *pol, const PwCaller *c) {
        ProcJsonContext ctx = { .policy = pol, .caller = c };
        json_t *j = NULL;

        assert_int_equal(procjson_process(p, &ctx, &j), 0);
        return j;
}

static int64_t sub_int(const json_t *j, const char *obj, const char *key) {
        const json_t *v = json_object_get(json_object_get(j, obj), key);

        return json_is_integer(v) ? json_integer_value(v) : -1;
}

/* What a process cost, as /proc would show it: CPU and memory to everyone, I/O (/proc/PID/io) and the
 * delays /proc does not show by the ptrace-read rule; subtree totals whole only to a caller who passes
 * it on every process summed, without the guarded part to one who sees every record, else null. */
static void test_resources_for_caller(void **state) {
        _cleanup_(resjoin_freep) ResJoin *j = NULL;
        PwAccessPolicy pol = { .proc = { .hidepid = PW_HIDEPID_OFF } };
        PwCaller u = user(1000), other = user(1001), root = user(0);
        PwProcess *shell, *own, *su, *shell2, *own2, *shell3, *lost;
        json_t *r;
        uint32_t uid, gid;

        root.cap_sys_ptrace = true;
        assert_int_equal(resjoin_new(&j), 0);
        add(1, 0, 0, false, NULL, 0);
        shell = add(20, 1, 1000, true, NULL, 0);
        own = add(21, 20, 1000, true, NULL, 0);
        su = add(22, 20, 0, true, NULL, 0);
        exit_with_record(j, own, 10, 7, 4);
        exit_with_record(j, su, 10, 3, 8);

        /* Its own child: every figure. */
        r = record_for(own, &pol, &u);
        assert_int_equal(sub_int(r, "resources", "cpu_usec"), 7000);
        assert_int_equal(sub_int(r, "resources", "write_bytes"), 4096);
        assert_int_equal(sub_int(r, "resources", "write_syscall_bytes"), 4096);
        assert_true(json_is_object(json_object_get(json_object_get(json_object_get(r, "resources"), "delays"), "swapin")));
        json_decref(r);

        /* root's child: CPU and memory, no I/O, cpu and blkio delays only. */
        r = record_for(su, &pol, &u);
        assert_int_equal(sub_int(r, "resources", "cpu_usec"), 3000);
        for (const char *const *k = (const char *const[]){ "read_bytes", "write_bytes", "cancelled_write_bytes",
                                                             "read_syscall_bytes", "write_syscall_bytes", NULL };
             *k; k++)
                assert_true(json_is_null(json_object_get(json_object_get(r, "resources"), *k)));
        {
                const json_t *d = json_object_get(json_object_get(r, "resources"), "delays");

                assert_int_equal(sub_int(d, "cpu", "count"), 2);
                assert_true(json_is_object(json_object_get(d, "blkio")));
                for (unsigned k = 0; k < _PW_TS_DELAY_MAX; k++)
                        assert_true(json_is_null(json_object_get(d, pw_ts_delay_to_string(k))) ==
                                    !pw_resources_delay_public(k));
        }
        json_decref(r);
        r = record_for(su, &pol, &root);
        assert_int_equal(sub_int(r, "resources", "write_bytes"), 8192);
        json_decref(r);

        /* The shell's subtree sums two owners: its user sees CPU summed, not I/O; root all of it. */
        assert_int_equal(shell->resources->subtree_owners, PW_SUBTREE_OWNERS_MANY);
        r = record_for(shell, &pol, &u);
        assert_int_equal(sub_int(r, "subtree_resources", "cpu_usec"), 10000);
        assert_int_equal(sub_int(r, "subtree_resources", "processes"), 2);
        assert_true(json_is_null(json_object_get(json_object_get(r, "subtree_resources"), "write_bytes")));
        assert_true(json_is_null(json_object_get(json_object_get(json_object_get(r, "subtree_resources"), "delays"), "swapin")));
        json_decref(r);
        r = record_for(shell, &pol, &root);
        assert_int_equal(sub_int(r, "subtree_resources", "write_bytes"), 12288);
        json_decref(r);
        /* Under hidepid its user does not see su's record, so not the sum either. */
        pol.proc.hidepid = PW_HIDEPID_INVISIBLE;
        assert_int_equal(pw_access_subtree(&pol, &u, shell), PW_SUBTREE_HIDDEN);
        r = record_for(shell, &pol, &u);
        assert_true(json_is_null(json_object_get(r, "subtree_resources")));
        json_decref(r);
        assert_int_equal(pw_access_subtree(&pol, &root, shell), PW_SUBTREE_FULL);

        /* A subtree of one owner: whole to that owner, even under hidepid; hidden from others there,
         * without I/O to others who see every record. */
        shell2 = add(30, 1, 1000, true, NULL, 0);
        own2 = add(31, 30, 1000, true, NULL, 0);
        exit_with_record(j, own2, 10, 5, 2);
        assert_int_equal(shell2->resources->subtree_owners, PW_SUBTREE_OWNERS_ONE);
        r = record_for(shell2, &pol, &u);
        assert_int_equal(sub_int(r, "subtree_resources", "write_bytes"), 2048);
        json_decref(r);
        assert_int_equal(pw_access_subtree(&pol, &other, shell2), PW_SUBTREE_HIDDEN);
        pol.proc.hidepid = PW_HIDEPID_OFF;
        assert_int_equal(pw_access_subtree(&pol, &other, shell2), PW_SUBTREE_PUBLIC);
        r = record_for(shell2, &pol, &other);
        assert_int_equal(sub_int(r, "subtree_resources", "cpu_usec"), 5000);
        assert_true(json_is_null(json_object_get(json_object_get(r, "subtree_resources"), "read_bytes")));
        json_decref(r);
        /* A group member with a gid= mount sees every record, not their I/O. */
        pol.proc = (PwProcMount){ .hidepid = PW_HIDEPID_INVISIBLE, .has_gid = true, .gid = 1001 };
        assert_int_equal(pw_access_subtree(&pol, &other, shell2), PW_SUBTREE_PUBLIC);
        assert_int_equal(pw_access_subtree(NULL, &other, shell2), PW_SUBTREE_FULL);

        /* A descendant counted missing counts as summed: a setuid child's missing record hides the
         * total under hidepid too (its existence is what the count would tell). */
        pol.proc = (PwProcMount){ .hidepid = PW_HIDEPID_INVISIBLE };
        shell3 = add(40, 1, 1000, true, NULL, 0);
        lost = add(41, 40, 1000, true, NULL, 0);
        lost->euid = 0; /* setuid: no plain caller passes the rule */
        assert_false(pw_access_ptrace_owner(lost, &uid, &gid));
        assert_int_equal(proctree_apply(t, &(PwEvent){ .kind = PW_EVENT_EXIT, .timestamp_ns = lost->start_ns + MS,
                                                        .exit = { .pid = 41, .tgid = 41 } },
                                        NULL), 0);
        resjoin_mark_missing(j, t, lost);
        assert_int_equal(shell3->resources->subtree_missing, 1);
        assert_int_equal(shell3->resources->subtree_owners, PW_SUBTREE_OWNERS_MANY);
        assert_int_equal(pw_access_subtree(&pol, &u, shell3), PW_SUBTREE_HIDDEN);

        /* The owner the rule names is the one the rule checks. */
        assert_true(pw_access_ptrace_owner(own2, &uid, &gid));
        assert_int_equal(uid, 1000);
        assert_int_equal(gid, 1000);
}

static void test_parse_status_cap(void **state) {
        bool cap;
        uint32_t euid;

        assert_int_equal(pw_parse_status_cap_ptrace("Name:\tx\nUid:\t0\t0\t0\t0\nCapEff:\t000001ffffffffff\n", &cap, &euid), 0);
        assert_true(cap);
        assert_int_equal(euid, 0);
        assert_int_equal(pw_parse_status_cap_ptrace("Uid:\t0\t1000\t0\t0\nCapEff:\t0000000000000000\n", &cap, &euid), 0);
        assert_false(cap);
        assert_int_equal(euid, 1000);
        assert_int_equal(pw_parse_status_cap_ptrace("Uid:\t0\t0\t0\t0\nCapEff:\t0000000000080000\n", &cap, &euid), 0);
        assert_true(cap); /* bit 19 alone */
        assert_int_equal(pw_parse_status_cap_ptrace("Uid:\t0\t0\t0\t0\nCapEff:\t0000000000040000\n", &cap, &euid), 0);
        assert_false(cap);
        assert_int_equal(pw_parse_status_cap_ptrace("Uid:\t0\t0\t0\t0\n", &cap, &euid), -EBADMSG);
        assert_int_equal(pw_parse_status_cap_ptrace("CapEff:\tzz\nUid:\t0\t0\n", &cap, &euid), -EBADMSG);
        assert_int_equal(pw_parse_status_cap_ptrace("CapEff:\t00000000000000000\nUid:\t0\t0\n", &cap, &euid), -EBADMSG);
        assert_int_equal(pw_parse_status_cap_ptrace("", &cap, &euid), -EBADMSG);
}

/* The edge, over a real socket pair: root with every capability, then a child that dropped to 65534. */
static void test_caller_from_socket(void **state) {
        int sv[2], status;
        PwCaller c;
        pid_t pid;

        if (geteuid() != 0)
                skip();
        assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
        assert_int_equal(pw_caller_from_socket(sv[0], &c), 0);
        assert_int_equal(c.uid, 0);
        assert_int_equal(c.pid, getpid());
        assert_true(c.cap_sys_ptrace);
        close(sv[0]);
        close(sv[1]);

        /* A child connected as 65534 (SO_PEERCRED is taken at connect, here at socketpair): it gets
         * no capability whatever it held. */
        pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
                int s[2];
                PwCaller cc;

                if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) < 0 || setresuid(65534, 65534, 65534) < 0)
                        _exit(2);
                if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s) < 0 || pw_caller_from_socket(s[0], &cc) < 0)
                        _exit(3);
                _exit(cc.uid == 65534 && cc.gid == 65534 && !cc.cap_sys_ptrace ? 0 : 4);
        }
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);

        /* Not a socket: nothing known, no rights. */
        assert_true(pw_caller_from_socket(-1, &c) < 0);
        assert_int_equal(c.uid, UINT32_MAX);
        assert_false(c.cap_sys_ptrace);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_parse_proc_mount),
                cmocka_unit_test_setup_teardown(test_ptrace_read, setup, teardown),
                cmocka_unit_test_setup_teardown(test_seteuid_root_hidden, setup, teardown),
                cmocka_unit_test_setup_teardown(test_hidepid_modes, setup, teardown),
                cmocka_unit_test_setup_teardown(test_argv_privacy, setup, teardown),
                cmocka_unit_test_setup_teardown(test_record_for_caller, setup, teardown),
                cmocka_unit_test_setup_teardown(test_resources_for_caller, setup, teardown),
                cmocka_unit_test(test_parse_status_cap),
                cmocka_unit_test(test_caller_from_socket),
        };

        tc_init("access-policy");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
