/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The event pipeline (pipeline.h) end to end, without the kernel: synthetic events go through the
 * real tree and the real /proc reader over a fake proc folder, and what the pipeline hands to the
 * subscribers and the journal is captured from its callbacks as it is handed over. Checked: every
 * kind goes apply -> enrich -> fan out (the record is read from /proc before anyone sees it),
 * subscribers before the journal, exits held and forwarded later, orphans reparented from /proc,
 * pid reuse and a non-leader exec. */
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
#include <unistd.h>

#include <cmocka.h>

#include "cnproc-thread.h"
#include "macro.h"
#include "pipeline.h"
#include "procfs.h"
#include "proctree.h"
#include "test-cleanup.h"
#include "time-util.h"

#define HZ 100U
#define TICK_NS (NSEC_PER_SEC / HZ)
/* Event times on tick boundaries, so that /proc's starttime (in ticks) names the same start. */
#define AT(ticks) ((uint64_t) (ticks) * TICK_NS)

/* What one callback was handed, copied when it was called. */
typedef struct Seen {
        char to;                      /* 'S' subscribers, 'J' journal, 'H' hold_exit */
        PwEventKind kind;
        bool has_process, started, ended, thread;
        pid_t pid, ppid;
        uint64_t start_ns;
        bool exited, alive;
        uint32_t uid;
        char comm[PW_COMM_MAX + 1];
        char exe[64];
} Seen;

typedef struct Fixture {
        char root[64];
        PwProcReader reader;
        ProcTree *tree;
        Pipeline *pl;
        bool hold;                    /* hold_exit holds every exit */
        PwEvent held_ev;
        pid_t held_pid;
        uint64_t held_start_ns;
        Seen seen[32];
        size_t n_seen;
} Fixture;

static Fixture *fx;

static void record(char to, const PwEvent *ev, const PwApplyResult *res, const PwProcess *p) {
        Seen *s;

        assert_true(fx->n_seen < ELEMENTSOF(fx->seen));
        s = &fx->seen[fx->n_seen++];
        *s = (Seen){ .to = to, .kind = ev->kind };
        if (res) {
                s->started = res->process_started;
                s->ended = res->process_ended;
                s->thread = res->thread;
        }
        if (!p)
                return;
        s->has_process = true;
        s->pid = p->pid;
        s->ppid = p->ppid;
        s->start_ns = p->start_ns;
        s->exited = p->exited;
        s->alive = pw_process_alive(p);
        s->uid = p->uid;
        memcpy(s->comm, p->comm, sizeof(s->comm));
        if (p->exe)
                snprintf(s->exe, sizeof(s->exe), "%s", p->exe->data);
}

static void on_subscribers(const PwEvent *ev, const PwApplyResult *res, void *userdata) {
        record('S', ev, res, res->process);
}

static void on_journal(const PwEvent *ev, const PwApplyResult *res, void *userdata) {
        record('J', ev, res, res->process);
}

static bool on_hold_exit(const PwEvent *ev, PwProcess *p, void *userdata) {
        record('H', ev, NULL, p);
        if (!fx->hold)
                return false;
        fx->held_ev = *ev;
        fx->held_pid = p->pid;
        fx->held_start_ns = p->start_ns;
        return true;
}

static const PipelineCallbacks callbacks = {
        .hold_exit = on_hold_exit,
        .subscribers = on_subscribers,
        .journal = on_journal,
};

/* --- the fake /proc ------------------------------------------------------------------------------ */

static void write_at(const char *path, const void *data, size_t len) {
        char p[256];
        int fd;

        (void) snprintf(p, sizeof(p), "%s/%s", fx->root, path);
        fd = open(p, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        assert_true(fd >= 0);
        assert_int_equal(write(fd, data, len), (ssize_t) len);
        assert_int_equal(close(fd), 0);
}

static void mkdir_at(const char *rel) {
        char p[256];

        (void) snprintf(p, sizeof(p), "%s/%s", fx->root, rel);
        assert_true(mkdir(p, 0755) == 0 || errno == EEXIST);
}

/* A process as /proc shows it: stat (with its parent and start), status (ids), the image, the
 * cgroup, its one task. A second call replaces the files (an exec, a new parent). */
static void fake_process(pid_t pid, pid_t ppid, uint64_t start_ns, const char *comm, uint32_t uid,
                         const char *exe, const char *argv, size_t argv_len) {
        char path[64], text[512], link[256];

        (void) snprintf(path, sizeof(path), "%d", (int) pid);
        mkdir_at(path);
        (void) snprintf(path, sizeof(path), "%d/task", (int) pid);
        mkdir_at(path);
        (void) snprintf(path, sizeof(path), "%d/task/%d", (int) pid, (int) pid);
        mkdir_at(path);
        (void) snprintf(text, sizeof(text),
                        "%d (%s) S %d %d %d 0 -1 4194560 100 0 0 0 5 3 0 0 20 0 1 0 %llu 41525248 2868 "
                        "18446744073709551615 1 1 0 0 0 0 0 4096 1256 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
                        (int) pid, comm, (int) ppid, (int) pid, (int) pid, (unsigned long long) (start_ns / TICK_NS));
        (void) snprintf(path, sizeof(path), "%d/stat", (int) pid);
        write_at(path, text, strlen(text));
        (void) snprintf(text, sizeof(text),
                        "Name:\t%s\nTgid:\t%d\nPid:\t%d\nPPid:\t%d\nTracerPid:\t0\nUid:\t%u\t%u\t%u\t%u\n"
                        "Gid:\t%u\t%u\t%u\t%u\n",
                        comm, (int) pid, (int) pid, (int) ppid, uid, uid, uid, uid, uid, uid, uid, uid);
        (void) snprintf(path, sizeof(path), "%d/status", (int) pid);
        write_at(path, text, strlen(text));
        (void) snprintf(path, sizeof(path), "%d/cmdline", (int) pid);
        write_at(path, argv, argv_len);
        (void) snprintf(text, sizeof(text), "0::/system.slice/%s.service\n", comm);
        (void) snprintf(path, sizeof(path), "%d/cgroup", (int) pid);
        write_at(path, text, strlen(text));
        (void) snprintf(link, sizeof(link), "%s/%d/exe", fx->root, (int) pid);
        (void) unlink(link);
        assert_int_equal(symlink(exe, link), 0);
}

static void fake_gone(pid_t pid) {
        char cmd[128];

        (void) snprintf(cmd, sizeof(cmd), "rm -rf '%s/%d'", fx->root, (int) pid);
        assert_int_equal(system(cmd), 0);
}

/* --- events -------------------------------------------------------------------------------------- */

static void fork_ev(uint64_t ts, pid_t ppid, pid_t pid, pid_t tgid) {
        PwEvent ev = { .kind = PW_EVENT_FORK, .timestamp_ns = ts,
                       .fork = { .parent_pid = ppid, .parent_tgid = ppid, .child_pid = pid, .child_tgid = tgid } };
        pipeline_event(fx->pl, &ev);
}

static void exec_ev(uint64_t ts, pid_t tgid) {
        PwEvent ev = { .kind = PW_EVENT_EXEC, .timestamp_ns = ts, .exec = { .pid = tgid, .tgid = tgid } };
        pipeline_event(fx->pl, &ev);
}

static void exit_ev(uint64_t ts, pid_t pid, pid_t tgid, uint32_t code) {
        PwEvent ev = { .kind = PW_EVENT_EXIT, .timestamp_ns = ts,
                       .exit = { .pid = pid, .tgid = tgid, .code = code, .signal = pid == tgid ? 17 : -1 } };
        pipeline_event(fx->pl, &ev);
}

/* The fan-out of the last event: subscribers then journal, both handed the same record, nothing
 * else; returns the subscribers' copy. */
static const Seen *fanned_out(size_t from, PwEventKind kind) {
        const Seen *s, *j;

        if (fx->seen[from].to == 'H') {
                /* An end: offered to hold_exit first, which did not hold it. */
                assert_int_equal(kind, PW_EVENT_EXIT);
                assert_true(fx->seen[from].exited);
                from++;
        }
        assert_int_equal(fx->n_seen - from, 2);
        s = &fx->seen[from];
        j = &fx->seen[from + 1];
        assert_int_equal(s->to, 'S');
        assert_int_equal(j->to, 'J');
        assert_int_equal(s->kind, kind);
        assert_int_equal(j->kind, kind);
        assert_true(s->has_process);
        assert_int_equal(j->pid, s->pid);
        assert_int_equal(j->start_ns, s->start_ns);
        assert_string_equal(j->exe, s->exe);
        return s;
}

static const char bash_argv[] = "-bash";
static const char curl_argv[] = "curl\0-s\0https://example.invalid/";

static int setup(void **state) {
        static const PwProcInfo none;
        PwProcInfo info;

        fx = calloc(1, sizeof(*fx));
        assert_non_null(fx);
        strcpy(fx->root, "/tmp/test-pipeline-XXXXXX");
        assert_int_equal(tc_mkdtemp(fx->root), 0);
        assert_int_equal(pw_proc_reader_open(&fx->reader, fx->root), 0);
        fx->reader.hz = HZ;
        fx->reader.boot_minus_mono_ns = 0;
        assert_int_equal(proctree_new(&fx->tree, NULL), 0);
        proctree_set_clock_offset(fx->tree, 0);
        assert_int_equal(pipeline_new(&fx->pl, fx->tree, &fx->reader, &callbacks, fx), 0);

        /* init and a shell, found by the start-up scan. */
        fake_process(1, 0, AT(1), "systemd", 0, "/usr/lib/systemd/systemd", "/sbin/init", sizeof("/sbin/init"));
        fake_process(100, 1, AT(50), "bash", 1000, "/usr/bin/bash", bash_argv, sizeof(bash_argv));
        for (pid_t pid = 1; pid <= 100; pid += 99) {
                info = none;
                assert_int_equal(pw_proc_read(&fx->reader, pid, 0, PW_READ_ALL, &info), 0);
                assert_int_equal(proctree_add_from_proc(fx->tree, &info, PW_SOURCE_SCAN, HZ), 0);
                pw_proc_info_done(&info);
        }
        assert_non_null(proctree_get_live(fx->tree, 100));
        *state = fx;
        return 0;
}

static int teardown(void **state) {
        pipeline_free(fx->pl);
        proctree_free(fx->tree);
        pw_proc_reader_close(&fx->reader);
        free(fx);
        fx = NULL;
        return 0;
}

/* FORK, EXEC, EXIT of a short command: each fanned out once, after the tree had what /proc said. */
static void test_fork_exec_exit(void **state) {
        const Seen *s;
        size_t from;
        PwProcess *p;

        from = fx->n_seen;
        fork_ev(AT(1000), 100, 200, 200);
        s = fanned_out(from, PW_EVENT_FORK);
        assert_true(s->started);
        assert_int_equal(s->pid, 200);
        assert_int_equal(s->ppid, 100);
        assert_int_equal(s->start_ns, AT(1000));
        assert_string_equal(s->exe, "/usr/bin/bash"); /* fork copies the image */

        /* The exec: the image is read from /proc before anyone is told. */
        fake_process(200, 100, AT(1000), "curl", 1000, "/usr/bin/curl", curl_argv, sizeof(curl_argv));
        from = fx->n_seen;
        exec_ev(AT(1001), 200);
        s = fanned_out(from, PW_EVENT_EXEC);
        assert_string_equal(s->exe, "/usr/bin/curl");
        assert_string_equal(s->comm, "curl");
        assert_true(s->alive);
        p = proctree_get_live(fx->tree, 200);
        assert_non_null(p);
        assert_false(p->uncertain & PW_UNCERTAIN_IMAGE);
        assert_int_equal(p->argv->len, sizeof(curl_argv) - 1);
        assert_int_equal(pipeline_get_stats(fx->pl)->enriched, 1);

        fake_gone(200);
        from = fx->n_seen;
        exit_ev(AT(1500), 200, 200, 1 << 8);
        s = fanned_out(from, PW_EVENT_EXIT);
        assert_int_equal(fx->seen[from].to, 'H');
        assert_true(s->ended);
        assert_true(s->exited);
        assert_string_equal(s->exe, "/usr/bin/curl");
        assert_null(proctree_get_live(fx->tree, 200));
        assert_true(proctree_get(fx->tree, 200)->exited);
        assert_int_equal(pipeline_get_stats(fx->pl)->events, 3);
}

/* A process gone before its image could be read keeps what the events said, counted. */
static void test_exec_unreadable(void **state) {
        const Seen *s;
        size_t from;

        fork_ev(AT(2000), 100, 210, 210);
        from = fx->n_seen;
        exec_ev(AT(2001), 210); /* no /proc/210 */
        s = fanned_out(from, PW_EVENT_EXEC);
        assert_int_equal(s->pid, 210);
        assert_true(proctree_get_live(fx->tree, 210)->uncertain & PW_UNCERTAIN_IMAGE);
        assert_int_equal(pipeline_get_stats(fx->pl)->enrich_failed, 1);
}

/* The receive thread's read of an EXEC, made here when the loop asks for it: what the thread reads
 * (CNPROC_THREAD_EXEC_READ), never status. */
static unsigned early_reads;

static bool take_early(pid_t pid, PwProcInfo *info, int *ret_r, void *userdata) {
        early_reads++;
        *ret_r = pw_proc_read(&fx->reader, pid, 0, CNPROC_THREAD_EXEC_READ, info);
        assert_false(info->have_status);
        return true;
}

/* The kernel owns a process's files alike: by its euid when dumpable, by root when not. */
static void chown_files(pid_t pid, uid_t uid) {
        static const char *const names[] = { "status", "cmdline" };
        char path[128];

        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                (void) snprintf(path, sizeof(path), "%s/%d/%s", fx->root, (int) pid, names[i]);
                assert_int_equal(chown(path, uid, uid), 0);
        }
}

/* An exec read early, without status: the ids are the ones the events told, the saved ones the
 * effective ones, dumpability the owner of status; status is read only for a process whose ids the
 * events did not tell. */
static void test_exec_ids_from_events(void **state) {
        static const PipelineCallbacks early_callbacks = {
                .take_early_read = take_early,
                .subscribers = on_subscribers,
                .journal = on_journal,
        };
        PwEvent uid = { .kind = PW_EVENT_UID, .timestamp_ns = AT(4102), .id = { 220, 220, 1000, 1001 } };
        static const char status_230[] = "Name:\tcurl\nTgid:\t230\nUid:\t1000\t1000\t1005\t1000\n"
                                         "Gid:\t100\t100\t106\t100\n";
        Pipeline *pl = fx->pl;
        char path[128];
        PwProcess *p;

        assert_int_equal(pipeline_new(&fx->pl, fx->tree, &fx->reader, &early_callbacks, fx), 0);
        early_reads = 0;

        /* A child of the shell (ids 1000, read at the scan) execs; status owned by its euid. */
        fork_ev(AT(4100), 100, 220, 220);
        fake_process(220, 100, AT(4100), "curl", 1000, "/usr/bin/curl", curl_argv, sizeof(curl_argv));
        chown_files(220, 1000);
        exec_ev(AT(4101), 220);
        p = proctree_get_live(fx->tree, 220);
        assert_int_equal(early_reads, 1);
        assert_string_equal(p->exe->data, "/usr/bin/curl");
        assert_string_equal(p->unit->data, "curl.service");
        assert_true(p->creds_read);
        assert_false(p->uncertain & PW_UNCERTAIN_IDS);
        assert_int_equal(p->uid, 1000);
        assert_int_equal(p->euid, 1000);
        assert_int_equal(p->suid, 1000);
        assert_int_equal(p->sgid, 1000);
        assert_true(p->dumpable);

        /* A set-id exec: its UID event comes first; the exec makes the saved uid the effective one. The
         * kernel owns status by root, as for any process not dumpable. */
        pipeline_event(fx->pl, &uid);
        assert_false(p->creds_read);
        chown_files(220, 0);
        exec_ev(AT(4103), 220);
        p = proctree_get_live(fx->tree, 220);
        assert_true(p->creds_read);
        assert_int_equal(p->uid, 1000);
        assert_int_equal(p->euid, 1001);
        assert_int_equal(p->suid, 1001);
        assert_false(p->dumpable);
        /* Owned by an euid that is not the one the events told: not dumpable either. */
        chown_files(220, 1000);
        exec_ev(AT(4104), 220);
        assert_false(proctree_get_live(fx->tree, 220)->dumpable);
        assert_true(proctree_get_live(fx->tree, 220)->creds_read);
        chown_files(220, 1001);
        exec_ev(AT(4105), 220);
        assert_true(proctree_get_live(fx->tree, 220)->dumpable);

        /* Gone before the owner could be read: the ids stay unread since the exec. */
        (void) snprintf(path, sizeof(path), "%s/220/status", fx->root);
        assert_int_equal(unlink(path), 0);
        (void) snprintf(path, sizeof(path), "%s/220/cmdline", fx->root);
        assert_int_equal(unlink(path), 0);
        exec_ev(AT(4106), 220);
        p = proctree_get_live(fx->tree, 220);
        assert_false(p->creds_read);
        assert_string_equal(p->exe->data, "/usr/bin/curl");

        /* A process the events never introduced: its ids come from status after all. */
        fake_process(230, 100, AT(4200), "curl", 1000, "/usr/bin/curl", curl_argv, sizeof(curl_argv));
        write_at("230/status", status_230, sizeof(status_230) - 1);
        exec_ev(AT(4201), 230);
        p = proctree_get_live(fx->tree, 230);
        assert_non_null(p);
        assert_true(p->creds_read);
        assert_false(p->uncertain & PW_UNCERTAIN_IDS);
        assert_int_equal(p->suid, 1005);
        assert_int_equal(p->sgid, 106);
        assert_false(p->dumpable);
        assert_int_equal(early_reads, 6);

        pipeline_free(fx->pl);
        fx->pl = pl;
}

/* UID, COMM: applied, then fanned out with the change in the record. */
static void test_uid_comm(void **state) {
        PwEvent uid = { .kind = PW_EVENT_UID, .timestamp_ns = AT(3000), .id = { 100, 100, 0, 0 } };
        PwEvent comm = { .kind = PW_EVENT_COMM, .timestamp_ns = AT(3001), .comm = { 100, 100, "renamed" } };
        const Seen *s;
        size_t from;

        from = fx->n_seen;
        pipeline_event(fx->pl, &uid);
        s = fanned_out(from, PW_EVENT_UID);
        assert_int_equal(s->pid, 100);
        assert_int_equal(s->uid, 0);

        from = fx->n_seen;
        pipeline_event(fx->pl, &comm);
        s = fanned_out(from, PW_EVENT_COMM);
        assert_string_equal(s->comm, "renamed");
        assert_false(s->thread);
}

/* A thread execs: the leader-looking EXIT just before the EXEC ends nothing, the EXEC carries the new
 * image, read from /proc. */
static void test_non_leader_exec(void **state) {
        static const char argv[] = "make\0-j4";
        const Seen *s;
        size_t from;
        PwProcess *p;

        fork_ev(AT(4000), 100, 300, 300);
        from = fx->n_seen;
        fork_ev(AT(4001), 300, 301, 300); /* a thread */
        s = fanned_out(from, PW_EVENT_FORK);
        assert_true(s->thread);
        assert_false(s->started);
        assert_int_equal(proctree_get_live(fx->tree, 300)->n_tasks, 2);

        from = fx->n_seen;
        exit_ev(AT(4002), 300, 300, 0);
        s = fanned_out(from, PW_EVENT_EXIT);
        assert_int_equal(fx->seen[from].to, 'S'); /* nothing ended: no hold offered */
        assert_false(s->ended);
        assert_true(s->alive);

        fake_process(300, 100, AT(4000), "make", 1000, "/usr/bin/make", argv, sizeof(argv));
        from = fx->n_seen;
        exec_ev(AT(4003), 300);
        s = fanned_out(from, PW_EVENT_EXEC);
        assert_string_equal(s->exe, "/usr/bin/make");
        p = proctree_get_live(fx->tree, 300);
        assert_non_null(p);
        assert_int_equal(p->n_tasks, 1);
        assert_int_equal(p->start_ns, AT(4000));
}

/* A FORK reuses a pid whose EXIT has not come: the new process is fanned out as new, and the late
 * EXIT as the end of the old one, with the old record. */
static void test_pid_reuse(void **state) {
        const Seen *s;
        size_t from;

        fork_ev(AT(5000), 100, 400, 400);
        from = fx->n_seen;
        fork_ev(AT(5100), 100, 400, 400);
        s = fanned_out(from, PW_EVENT_FORK);
        assert_true(s->started);
        assert_int_equal(s->start_ns, AT(5100));

        from = fx->n_seen;
        exit_ev(AT(5101), 400, 400, 0);
        s = fanned_out(from, PW_EVENT_EXIT);
        assert_true(s->ended);
        assert_int_equal(s->start_ns, AT(5000));
        assert_true(s->exited);
        assert_true(pw_process_alive(proctree_get_live(fx->tree, 400)));
        assert_int_equal(proctree_get_live(fx->tree, 400)->start_ns, AT(5100));
}

/* A parent ends: its orphan's new parent is read from /proc before the EXIT is fanned out. */
static void test_reparent(void **state) {
        const Seen *s;
        size_t from;
        PwProcess *orphan;

        fork_ev(AT(6000), 100, 500, 500);
        fork_ev(AT(6001), 500, 501, 501);
        fake_process(501, 1, AT(6001), "bash", 1000, "/usr/bin/bash", bash_argv, sizeof(bash_argv));
        from = fx->n_seen;
        exit_ev(AT(6002), 500, 500, 0);
        s = fanned_out(from, PW_EVENT_EXIT);
        assert_int_equal(s->pid, 500);
        orphan = proctree_get_live(fx->tree, 501);
        assert_int_equal(orphan->ppid, 1);
        assert_int_equal(orphan->original_ppid, 500);
        assert_ptr_equal(proctree_parent(orphan), proctree_get_live(fx->tree, 1));
        assert_false(orphan->uncertain & PW_UNCERTAIN_PARENT);
        assert_int_equal(pipeline_get_stats(fx->pl)->reparented, 1);
}

/* An exit held for its taskstats record goes out only when forwarded, and then the same way. */
static void test_held_exit(void **state) {
        PwApplyResult res = { .process_ended = true };
        size_t from;

        fork_ev(AT(7000), 100, 600, 600);
        fx->hold = true;
        from = fx->n_seen;
        exit_ev(AT(7001), 600, 600, 0);
        assert_int_equal(fx->n_seen - from, 1);
        assert_int_equal(fx->seen[from].to, 'H');
        assert_int_equal(fx->held_pid, 600);
        assert_int_equal(pipeline_get_stats(fx->pl)->held, 1);

        /* As resmon does once the wait is over: the record looked up again by identity. */
        res.process = proctree_get_by_identity(fx->tree, fx->held_pid, fx->held_start_ns);
        assert_non_null(res.process);
        from = fx->n_seen;
        pipeline_fan_out(fx->pl, &fx->held_ev, &res);
        fx->hold = false;
        assert_int_equal(fx->n_seen - from, 2);
        assert_int_equal(fx->seen[from].to, 'S');
        assert_int_equal(fx->seen[from + 1].to, 'J');
        assert_int_equal(fx->seen[from].pid, 600);
        assert_true(fx->seen[from].exited);
}

/* An event for a pid never seen: a placeholder, completed from /proc before the fan-out. */
static void test_unknown_pid(void **state) {
        PwEvent comm = { .kind = PW_EVENT_COMM, .timestamp_ns = AT(8001), .comm = { 700, 700, "late" } };
        const Seen *s;
        size_t from;

        fake_process(700, 1, AT(8000), "late", 1000, "/usr/bin/late", "late", sizeof("late"));
        from = fx->n_seen;
        pipeline_event(fx->pl, &comm);
        s = fanned_out(from, PW_EVENT_COMM);
        assert_int_equal(s->pid, 700);
        assert_string_equal(s->exe, "/usr/bin/late");
        assert_int_equal(s->start_ns, AT(8000));
        assert_int_equal(proctree_get_live(fx->tree, 700)->source, PW_SOURCE_RECONCILED);
}

/* With a /proc worker (read_image set): the placeholder gets what cannot block at once, and its
 * image is ordered, not read. Its cmdline is a FIFO that nobody writes: a read on this thread would
 * never return. */
static pid_t ordered_pid;
static uint64_t ordered_start;
static unsigned ordered_execs, n_ordered;

static void on_read_image(pid_t pid, uint64_t start_boot_ns, unsigned n_execs, void *userdata) {
        ordered_pid = pid;
        ordered_start = start_boot_ns;
        ordered_execs = n_execs;
        n_ordered++;
}

/* A pipeline with these callbacks, and pid's cmdline in the fake /proc a FIFO nobody writes. */
static void with_worker_and_stuck_cmdline(const PipelineCallbacks *cb, pid_t pid) {
        char fifo[128];

        fx->pl = pipeline_free(fx->pl);
        assert_int_equal(pipeline_new(&fx->pl, fx->tree, &fx->reader, cb, fx), 0);
        snprintf(fifo, sizeof(fifo), "%s/%d/cmdline", fx->root, (int) pid);
        assert_int_equal(unlink(fifo), 0);
        assert_int_equal(mkfifo(fifo, 0644), 0);
        n_ordered = 0;
}

/* pid's image is unknown and was ordered once, for the live record as it is now. */
static void assert_image_ordered(pid_t pid) {
        PwProcess *p = proctree_get_live(fx->tree, pid);

        assert_non_null(p);
        assert_true(p->uncertain & PW_UNCERTAIN_IMAGE);
        assert_int_equal(n_ordered, 1);
        assert_int_equal(ordered_pid, pid);
        assert_int_equal(ordered_start, p->start_boot_ns);
        assert_int_equal(ordered_execs, p->n_execs);
}

static void test_unknown_pid_image_ordered(void **state) {
        static const PipelineCallbacks with_worker = {
                .read_image = on_read_image,
                .hold_exit = on_hold_exit,
                .subscribers = on_subscribers,
                .journal = on_journal,
        };
        PwEvent comm = { .kind = PW_EVENT_COMM, .timestamp_ns = AT(8001), .comm = { 710, 710, "late" } };
        const Seen *s;
        PwProcess *p;
        size_t from;

        fake_process(710, 1, AT(8000), "late", 1000, "/usr/bin/late", "late", sizeof("late"));
        with_worker_and_stuck_cmdline(&with_worker, 710);

        from = fx->n_seen;
        pipeline_event(fx->pl, &comm);
        s = fanned_out(from, PW_EVENT_COMM);
        assert_int_equal(s->pid, 710);
        assert_int_equal(s->start_ns, AT(8000));
        assert_int_equal(s->uid, 1000);
        assert_string_equal(s->exe, "");
        p = proctree_get_live(fx->tree, 710);
        assert_int_equal(p->source, PW_SOURCE_RECONCILED);
        assert_string_equal(p->unit->data, "late.service");
        assert_image_ordered(710);
}

/* An exec the receive thread did not read (beyond its caps: no early read to take), with a /proc
 * worker: its identity, ids and cgroup at once, its image ordered for the record as it is after the
 * exec. Its cmdline is a FIFO nobody writes: a read on the loop would never return. */
static bool no_early_read(pid_t pid, PwProcInfo *info, int *ret_r, void *userdata) {
        return false;
}

static void test_exec_without_early_read_ordered(void **state) {
        static const PipelineCallbacks with_worker = {
                .take_early_read = no_early_read,
                .read_image = on_read_image,
                .hold_exit = on_hold_exit,
                .subscribers = on_subscribers,
                .journal = on_journal,
        };
        const Seen *s;
        PwProcess *p;
        size_t from;

        fork_ev(AT(9000), 100, 720, 720);
        fake_process(720, 100, AT(9000), "curl", 1000, "/usr/bin/curl", curl_argv, sizeof(curl_argv));
        with_worker_and_stuck_cmdline(&with_worker, 720);

        from = fx->n_seen;
        exec_ev(AT(9001), 720);
        s = fanned_out(from, PW_EVENT_EXEC);
        assert_int_equal(s->pid, 720);
        p = proctree_get_live(fx->tree, 720);
        assert_string_equal(p->unit->data, "curl.service");
        assert_null(p->argv);
        assert_image_ordered(720);
}

int main(void) {
        const struct CMUnitTest tests[] = {
                cmocka_unit_test_setup_teardown(test_fork_exec_exit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_unreadable, setup, teardown),
                cmocka_unit_test_setup_teardown(test_uid_comm, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_ids_from_events, setup, teardown),
                cmocka_unit_test_setup_teardown(test_non_leader_exec, setup, teardown),
                cmocka_unit_test_setup_teardown(test_pid_reuse, setup, teardown),
                cmocka_unit_test_setup_teardown(test_reparent, setup, teardown),
                cmocka_unit_test_setup_teardown(test_held_exit, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_pid, setup, teardown),
                cmocka_unit_test_setup_teardown(test_unknown_pid_image_ordered, setup, teardown),
                cmocka_unit_test_setup_teardown(test_exec_without_early_read_ordered, setup, teardown),
        };

        tc_init("pipeline");
        return cmocka_run_group_tests(tests, NULL, NULL);
}
