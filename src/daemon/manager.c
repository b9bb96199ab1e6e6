/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's Manager: the sd-event loop and what hangs off it. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "event-print.h"
#include "log.h"
#include "manager.h"
#include "procwatch/message-ids.h"
#include "procwatch/protocol.h"

/* The first read of pid in reads[*next..n), moving *next past it; a miss moves nothing. */
static EarlyRead *early_find(EarlyRead *reads, size_t n, size_t *next, pid_t pid) {
        for (size_t i = *next; i < n; i++)
                if (reads[i].pid == pid) {
                        *next = i + 1;
                        return &reads[i];
                }
        return NULL;
}

/* The read of the EXEC of pid being applied now, made by the receive thread as the batch arrived
 * (cnproc-thread.h): in the batch being dispatched, or, for the events held while /proc was scanned,
 * among the reads kept with them. Events are applied in the order they were decoded, and so were
 * the reads made. */
static EarlyRead *early_take(Manager *m, pid_t pid) {
        if (m->queueing)
                return NULL;
        if (m->batch)
                return early_find(m->batch->early, m->batch->n_early, &m->early_next, pid);
        return early_find(m->held, m->n_held, &m->held_next, pid);
}

/* While /proc is scanned events are held, and so are the reads of their EXECs, up to
 * MANAGER_HELD_READS_MAX. */
static void early_hold(Manager *m, CnProcBatch *b) {
        for (size_t i = 0; i < b->n_early; i++) {
                EarlyRead *e = &b->early[i];

                if (m->n_held == m->alloc_held) {
                        size_t na = m->alloc_held ? m->alloc_held * 2 : 64;
                        EarlyRead *nh;

                        if (na > MANAGER_HELD_READS_MAX || !(nh = reallocarray(m->held, na, sizeof(EarlyRead))))
                                return; /* read again when applied */
                        m->held = nh;
                        m->alloc_held = na;
                }
                m->held[m->n_held++] = *e;
                e->info = (PwProcInfo){};
        }
}

static void early_held_clear(Manager *m) {
        for (size_t i = 0; i < m->n_held; i++)
                pw_proc_info_done(&m->held[i].info);
        m->n_held = m->held_next = 0;
        if (m->alloc_held > 64) {
                m->held = mfree(m->held);
                m->alloc_held = 0;
        }
}

/* The next batch the receive thread handed over, dispatched whole; at most max_batches of them.
 * Returns 1 when more may be waiting, 0 when none is, or a negative errno (a hard receive error).
 * Before the thread starts (subscription, start-up scan), the loop reads the socket itself. */
static int manager_ingest(Manager *m, unsigned max_batches) {
        if (!m->cnproc_thread)
                return cnproc_read(m->cnproc, max_batches);

        for (unsigned i = 0; i < max_batches; i++) {
                CnProcBatch *b = cnproc_thread_next(m->cnproc_thread);
                int r;

                if (!b)
                        return 0;
                m->batch = b;
                m->early_next = 0;
                r = cnproc_dispatch(m->cnproc, b->nl, b->n);
                m->batch = NULL;
                if (m->queueing)
                        early_hold(m, b);
                cnproc_thread_done(m->cnproc_thread, b);
                if (r < 0)
                        return r;
        }
        return 1;
}

/* The pipeline's early-read hook: the read made for the EXEC of pid being applied, moved out. */
static bool take_early_read(pid_t pid, PwProcInfo *info, int *ret_r, void *userdata) {
        Manager *m = userdata;
        EarlyRead *e = early_take(m, pid);

        if (!e)
                return false;
        *info = e->info;
        e->info = (PwProcInfo){};
        *ret_r = e->r;
        return true;
}

/* Hands an event, as applied, to the journal writer if the filters want it: a snapshot of the event
 * and its record, which the writer thread formats. Never blocks. The writer is woken by
 * JOURNAL_WAKE_BATCH entries queued, or MANAGER_JOURNAL_KICK_USEC after the first entry queued since
 * it was last woken (on_journal_kick()): in a storm a wake-up carries tens of entries, not one. */
static void journal_forward(const PwEvent *ev, const PwApplyResult *res, void *userdata) {
        Manager *m = userdata;
        PwJournalContext ctx;
        int r;

        if (!m->journal || !res->process || !pw_journal_filter_match(m->opts.journal, ev, res, res->process))
                return;
        ctx = (PwJournalContext){
                .filter = m->opts.journal,
                .realtime_offset_ns = (int64_t) (now_nsec(CLOCK_REALTIME) - now_nsec(CLOCK_MONOTONIC)),
                .resources = resmon_enabled(m->resmon),
        };
        r = journal_submit_event(m->journal, ev, res, res->process, &ctx);
        if (r < 0 && r != -ENOBUFS) {
                log_debug_errno(r, "Failed to build a journal entry, ignoring: %m");
                return;
        }
        if (!m->journal_kick_source) {
                journal_kick(m->journal);
                return;
        }
        if (!m->journal_kick_armed) {
                r = sd_event_source_set_time_relative(m->journal_kick_source, MANAGER_JOURNAL_KICK_USEC);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->journal_kick_source, SD_EVENT_ONESHOT);
                if (r < 0) {
                        /* Cannot defer: wake it now. */
                        log_debug_errno(r, "Failed to arm the journal writer's timer, waking it at once: %m");
                        journal_kick(m->journal);
                        return;
                }
                m->journal_kick_armed = true;
        }
}

static int on_journal_kick(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;

        m->journal_kick_armed = false;
        journal_kick(m->journal);
        return 0;
}

/* A daemon message for the journal (besides the log line on stderr). */
static void journal_message(Manager *m, const char *message_id, int priority, const char *message) {
        PwJournalEntry *e;

        if (m->journal && pw_journal_entry_message(message_id, priority, message, NULL, &e) >= 0)
                (void) journal_submit(m->journal, e);
}

/* --print-events: the human line of an event where it is published, its record complete. */
static void print_event(Manager *m, const PwEvent *ev, const PwApplyResult *res) {
        if (m->opts.print_events && !m->opts.print_events_raw)
                (void) pw_event_print_human(m->opts.print_events, ev, res,
                                            (int64_t) (now_nsec(CLOCK_REALTIME) - now_nsec(CLOCK_MONOTONIC)));
}

/* An exit that waited for its taskstats record (resmon.h), now complete or given up on. */
static void forward_exit(const PwEvent *ev, const PwApplyResult *res, void *userdata) {
        Manager *m = userdata;

        pipeline_fan_out(m->pipeline, ev, res);
}

static bool hold_exit(const PwEvent *ev, PwProcess *p, void *userdata) {
        Manager *m = userdata;

        /* A process's end waits (briefly) for what it cost; resmon forwards it then. */
        return resmon_defer_exit(m->resmon, ev, p);
}

static void publish_event(const PwEvent *ev, const PwApplyResult *res, void *userdata) {
        Manager *m = userdata;

        /* --print-events: the human line, where every event goes out, with its record complete. */
        print_event(m, ev, res);
        server_publish_event(m->server, ev, res);
}

static void apply_event(Manager *m, const PwEvent *ev) {
        if (m->opts.print_events && m->opts.print_events_raw)
                pw_event_print_raw(m->opts.print_events, ev);
        pipeline_event(m->pipeline, ev);
}

static void on_event(const PwEvent *ev, void *userdata) {
        Manager *m = userdata;

        if (!m->queueing) {
                apply_event(m, ev);
                return;
        }
        if (m->n_queue == m->alloc_queue) {
                size_t na = m->alloc_queue ? m->alloc_queue * 2 : 4096;
                PwEvent *nq;

                if (na > MANAGER_QUEUE_MAX || !(nq = reallocarray(m->queue, na, sizeof(PwEvent)))) {
                        /* Counted, and repaired by the reconciliation that follows. */
                        m->queue_overflow++;
                        m->repair_pending = true;
                        return;
                }
                m->queue = nq;
                m->alloc_queue = na;
        }
        m->queue[m->n_queue++] = *ev;
}

static void on_loss(CnProcLossKind kind, uint32_t cpu, uint64_t count, void *userdata) {
        Manager *m = userdata;

        /* Summarised once per status interval, so a storm of gaps makes one log line, not thousands. */
        switch (kind) {
        case CNPROC_LOSS_ENOBUFS:
                m->pending_enobufs += count;
                break;
        case CNPROC_LOSS_SEQ_GAP:
                m->pending_lost += count;
                break;
        case CNPROC_LOSS_SOCKET_DROPS:
                m->pending_drops += count;
                break;
        }
        m->repair_pending = true;
}

static void flush_output(Manager *m) {
        if (m->opts.print_events)
                (void) fflush(m->opts.print_events);
}

static void report_loss(Manager *m);

/* BOOTTIME - MONOTONIC grows by the time suspended: resampled every second and before each scan. */
static void refresh_clock(Manager *m) {
        pw_proc_reader_refresh_clock(&m->reader);
        proctree_set_clock_offset(m->tree, m->reader.boot_minus_mono_ns);
        cnproc_thread_set_clock(m->cnproc_thread, m->reader.boot_minus_mono_ns);
}

static unsigned tree_live(const Manager *m) {
        ProcTreeStats ts;

        proctree_get_stats(m->tree, &ts);
        return ts.live;
}

static void free_snapshot(PwProcInfo *snap, size_t n) {
        for (size_t i = 0; i < n; i++)
                pw_proc_info_done(&snap[i]);
        free(snap);
}

/* Reads every process in /proc while holding (not applying) the events that keep arriving, so a busy
 * machine cannot overflow the socket during the scan. Only what cannot block is read here (stat,
 * status, the task list; the cgroup too for processes new to the tree): none of them takes the
 * process's mmap_lock. The images of the new ones (*ret_fresh[i] true) are ordered from the /proc
 * worker once the tree has them (order_scan_images()). Listing /proc cannot block either: it walks
 * the kernel's pid table under RCU. */
static int take_snapshot(Manager *m, PwProcInfo **ret, bool **ret_fresh, size_t *ret_n) {
        _cleanup_(freep) pid_t *pids = NULL;
        _cleanup_(freep) bool *fresh = NULL;
        PwProcInfo *snap;
        size_t n = 0;
        int k, r;

        k = pw_proc_list_pids(&m->reader, &pids);
        if (k < 0)
                return log_error_errno(k, "Failed to list /proc: %m");
        snap = calloc((size_t) k + 1, sizeof(PwProcInfo));
        fresh = calloc((size_t) k + 1, sizeof(bool));
        if (!snap || !fresh) {
                free(snap);
                return log_oom();
        }

        for (int i = 0; i < k; i++) {
                _cleanup_(closep) int dirfd = -EBADF;
                PwProcess *p = proctree_get_live(m->tree, pids[i]);

                if (i % MANAGER_SCAN_DRAIN_EVERY == 0) {
                        r = manager_ingest(m, 4);
                        if (r < 0) {
                                free_snapshot(snap, n);
                                return log_error_errno(r, "Reading process events during the /proc scan failed: %m");
                        }
                }
                dirfd = pw_proc_open(&m->reader, pids[i]);
                r = dirfd < 0 ? dirfd
                              : pw_proc_read_at(&m->reader, dirfd, pids[i], 0,
                                                PW_READ_STAT | PW_READ_STATUS | PW_READ_TASKS, &snap[n]);
                if (r < 0) {
                        pw_proc_info_done(&snap[n]);
                        continue; /* gone meanwhile: its EXIT is queued or it was never ours */
                }
                if (!p || p->source == PW_SOURCE_PLACEHOLDER ||
                    !pw_start_matches(p->start_boot_ns, snap[n].start_boot_ns, m->reader.hz)) {
                        /* New to the tree: its cgroup through the same fd, its image later. */
                        r = pw_proc_read_more(&m->reader, dirfd, PW_READ_CGROUP, &snap[n]);
                        if (r < 0) {
                                free_snapshot(snap, n + 1);
                                return log_oom();
                        }
                        fresh[n] = !snap[n].kthread;
                }
                n++;
        }
        *ret = snap;
        *ret_fresh = TAKE_PTR(fresh);
        *ret_n = n;
        return 0;
}

/* Orders the image of a live record from the /proc worker; a full queue leaves it unknown. */
static void order_image(Manager *m, pid_t pid, uint64_t start_boot_ns, unsigned n_execs) {
        ProcReadOrder o = {
                .pid = pid, .start_boot_ns = start_boot_ns, .n_execs = n_execs,
                .flags = PW_READ_EXE | PW_READ_CMDLINE,
        };

        (void) proc_worker_post(m->worker, &o, &m->images_ordered_seq);
}

/* The pipeline's hook: a placeholder's image. */
static void read_image(pid_t pid, uint64_t start_boot_ns, unsigned n_execs, void *userdata) {
        order_image(userdata, pid, start_boot_ns, n_execs);
}

/* The processes a scan found new, now in the tree without an image: unknown until the worker's
 * read comes back. */
static void order_scan_images(Manager *m, const PwProcInfo *snap, const bool *fresh, size_t n) {
        for (size_t i = 0; i < n; i++) {
                PwProcess *p;

                if (!fresh[i])
                        continue;
                p = proctree_get_live(m->tree, snap[i].stat.pid);
                if (!p || p->source == PW_SOURCE_PLACEHOLDER ||
                    !pw_start_matches(p->start_boot_ns, snap[i].start_boot_ns, m->reader.hz))
                        continue;
                proctree_mark_unreadable(m->tree, p->pid, p->start_boot_ns);
                order_image(m, p->pid, p->start_boot_ns, p->n_execs);
        }
}

/* Why /proc is scanned; the text goes into the log and the journal. */
typedef enum ReconcileReason {
        RECONCILE_STARTUP,     /* the tree is empty */
        RECONCILE_EVENTS_LOST, /* repair */
        RECONCILE_PERIODIC,    /* the safety net */
        _RECONCILE_REASON_MAX,
} ReconcileReason;

static const char *const reconcile_reason_names[_RECONCILE_REASON_MAX] = {
        [RECONCILE_STARTUP] = "start-up",
        [RECONCILE_EVENTS_LOST] = "events lost",
        [RECONCILE_PERIODIC] = "periodic",
};

/* Scans /proc and makes the tree agree with it: at start-up (an empty tree), after loss, and now and
 * then as a safety net. Events read meanwhile are applied afterwards; identity (pid, start time)
 * keeps them from being counted twice. */
static int manager_reconcile(Manager *m, ReconcileReason why) {
        PwProcInfo *snap = NULL;
        bool *fresh = NULL;
        size_t n = 0;
        unsigned ended = 0, added = 0;
        uint64_t lost_before = cnproc_get_seqtrack(m->cnproc)->lost;
        usec_t start = now_usec(CLOCK_MONOTONIC);
        int r;

        m->queueing = true;
        m->repair_pending = false;
        refresh_clock(m);
        r = take_snapshot(m, &snap, &fresh, &n);
        if (r >= 0) {
                /* "now" for what ended unseen: the latest moment it can have ended. */
                r = proctree_reconcile(m->tree, snap, n, now_nsec(CLOCK_MONOTONIC), m->reader.hz,
                                       why == RECONCILE_STARTUP ? PW_SOURCE_SCAN : PW_SOURCE_RECONCILED,
                                       &ended, &added);
                if (r < 0)
                        log_error_errno(r, "Failed to reconcile the process tree with /proc: %m");
                else
                        /* Before the held events: an EXEC among them makes its order stale. */
                        order_scan_images(m, snap, fresh, n);
        }
        free_snapshot(snap, n);
        free(fresh);

        m->queueing = false;
        for (size_t i = 0; i < m->n_queue; i++)
                apply_event(m, &m->queue[i]);
        m->n_queue = 0;
        early_held_clear(m);
        if (m->alloc_queue > 4096) {
                /* A storm's queue is not kept around. */
                m->queue = mfree(m->queue);
                m->alloc_queue = 0;
        }
        if (r < 0)
                return r;

        m->reconciliations++;
        m->last_reconcile_usec = now_usec(CLOCK_MONOTONIC);
        if (why == RECONCILE_STARTUP)
                log_info("Scanned /proc: %u processes in %llu ms.", tree_live(m),
                         (unsigned long long) ((now_usec(CLOCK_MONOTONIC) - start) / USEC_PER_MSEC));
        else if (ended > 0 || added > 0 || why != RECONCILE_PERIODIC)
        {
                char msg[256];

                snprintf(msg, sizeof(msg),
                         "Reconciled the process tree with /proc (%s): %u ended unseen, %u found; "
                         "%llu events lost since start, %llu queued events beyond the limit.",
                         reconcile_reason_names[why], ended, added, (unsigned long long) lost_before,
                         (unsigned long long) m->queue_overflow);
                log_full(why == RECONCILE_PERIODIC ? LOG_NOTICE : LOG_WARNING, "%s", msg);
                journal_message(m, PW_MESSAGE_RECONCILED, why == RECONCILE_PERIODIC ? LOG_NOTICE : LOG_WARNING, msg);
        }
        return 0;
}

static int on_cnproc_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int r;

        /* A bounded number of batches per wake-up; the source is level-triggered and fires again. */
        r = manager_ingest(m, MANAGER_READ_BATCHES);
        flush_output(m);
        if (r < 0) {
                log_error_errno(r, "Reading process events failed, exiting: %m");
                return sd_event_exit(sd_event_source_get_event(s), EXIT_FAILURE);
        }
        /* Repair once what was queued before the loss is in (the socket is drained), at most once per
         * MANAGER_REPAIR_MIN_INTERVAL_USEC so that repairs cannot feed a storm's losses; the status
         * timer picks up a deferred one. */
        if (m->repair_pending && r == 0 &&
            now_usec(CLOCK_MONOTONIC) >= m->last_reconcile_usec + MANAGER_REPAIR_MIN_INTERVAL_USEC) {
                report_loss(m);
                (void) manager_reconcile(m, RECONCILE_EVENTS_LOST);
                flush_output(m);
        }
        return 0;
}

/* READY=1 (and the journal's "started"): the tree is built and, within MANAGER_READY_IMAGES_USEC,
 * the start-up scan's images are in. */
static void send_ready(Manager *m, bool images_pending) {
        char msg[128];

        if (m->ready_sent)
                return;
        m->ready_sent = true;
        m->ready_timer = sd_event_source_disable_unref(m->ready_timer);
        if (images_pending)
                log_warning("Images of processes found at start-up still being read after %llu ms "
                            "(a process's memory lock held?); ready without them.",
                            (unsigned long long) (MANAGER_READY_IMAGES_USEC / USEC_PER_MSEC));
        (void) sd_notify(false, "READY=1");
        snprintf(msg, sizeof(msg), "procwatchd %s started, watching %u processes.", PACKAGE_VERSION, tree_live(m));
        journal_message(m, PW_MESSAGE_STARTED, LOG_INFO, msg);
}

static int on_ready_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        send_ready(userdata, true);
        return 0;
}

/* Images read by the /proc worker: each goes to its record if that is still the same process. */
static int on_worker_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        ProcReadResult res;

        /* Bounded per wake-up; the source is level-triggered and fires again. */
        for (unsigned i = 0; i < PROC_WORKER_RESULTS_MAX && proc_worker_take(m->worker, &res); i++) {
                (void) proc_worker_apply(m->tree, &res, m->reader.hz);
                pw_proc_info_done(&res.info);
                m->images_applied_seq = res.order.seq;
        }
        if (!m->ready_sent && m->ready_seq > 0 && m->images_applied_seq >= m->ready_seq)
                send_ready(m, false);
        return 0;
}

static int on_reconcile_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        int r;

        (void) manager_reconcile(m, RECONCILE_PERIODIC);
        flush_output(m);
        r = sd_event_source_set_time(s, usec + m->opts.reconcile_interval_usec);
        if (r < 0)
                return log_error_errno(r, "Failed to rearm the reconciliation timer: %m");
        return 0;
}

static void report_loss(Manager *m) {
        const SeqTrack *t = cnproc_get_seqtrack(m->cnproc);

        if (m->pending_lost == 0 && m->pending_enobufs == 0 && m->pending_drops == 0)
                return;
        m->loss_incidents++;
        /* The three witnesses see different things: a gap shows only when the CPU's next event
         * arrives, the socket's drop count misses allocation failures in the kernel, and ENOBUFS
         * says only that an overflow happened. Report each as it is. */
        {
                char msg[256];

                snprintf(msg, sizeof(msg),
                         "Process events lost: %llu by sequence gaps, %llu dropped by the socket, "
                         "%llu receive queue overflows; %llu lost by sequence gaps since start.",
                         (unsigned long long) m->pending_lost, (unsigned long long) m->pending_drops,
                         (unsigned long long) m->pending_enobufs, (unsigned long long) t->lost);
                log_warning("%s", msg);
                journal_message(m, PW_MESSAGE_EVENTS_LOST, LOG_WARNING, msg);
        }
        m->pending_lost = m->pending_enobufs = m->pending_drops = 0;
}

/* Says whose budget bit and what it cost them, at most every MANAGER_BUDGET_REPORT_INTERVAL_USEC;
 * the figures add up in between. */
static void report_budget(Manager *m, usec_t now) {
        PwUidBudget top[MANAGER_BUDGET_REPORT_UIDS];
        size_t n;

        if (now < m->last_budget_report_usec + MANAGER_BUDGET_REPORT_INTERVAL_USEC)
                return;
        n = proctree_take_bitten(m->tree, top, ELEMENTSOF(top));
        if (n == 0)
                return;
        m->last_budget_report_usec = now;
        for (size_t i = 0; i < MIN(n, ELEMENTSOF(top)); i++) {
                char msg[256], f[5][64];
                const char *extra[] = { f[0], f[1], f[2], f[3], f[4], NULL };
                PwJournalEntry *e;

                snprintf(msg, sizeof(msg),
                         "Budget for uid %" PRIu32 " bit: %llu records evicted (%llu for other uids), "
                         "%llu argv cut, %llu strings not stored%s.",
                         top[i].uid, (unsigned long long) top[i].pending_evicted,
                         (unsigned long long) top[i].pending_evicted_for_others,
                         (unsigned long long) top[i].pending_argv_cut,
                         (unsigned long long) top[i].pending_strings_dropped,
                         i + 1 == ELEMENTSOF(top) && n > ELEMENTSOF(top) ? "; more uids in procwatchctl stats" : "");
                log_notice("%s", msg);
                snprintf(f[0], sizeof(f[0]), "PROCWATCH_BUDGET_UID=%" PRIu32, top[i].uid);
                snprintf(f[1], sizeof(f[1]), "PROCWATCH_BUDGET_EVICTED=%llu", (unsigned long long) top[i].pending_evicted);
                snprintf(f[2], sizeof(f[2]), "PROCWATCH_BUDGET_EVICTED_FOR_OTHERS=%llu",
                         (unsigned long long) top[i].pending_evicted_for_others);
                snprintf(f[3], sizeof(f[3]), "PROCWATCH_BUDGET_ARGV_CUT=%llu", (unsigned long long) top[i].pending_argv_cut);
                snprintf(f[4], sizeof(f[4]), "PROCWATCH_BUDGET_STRINGS_DROPPED=%llu",
                         (unsigned long long) top[i].pending_strings_dropped);
                if (m->journal && pw_journal_entry_message(PW_MESSAGE_BUDGET_BIT, LOG_NOTICE, msg, extra, &e) >= 0)
                        (void) journal_submit(m->journal, e);
        }
}

static void send_status(Manager *m) {
        const CnProcStats *st = cnproc_get_stats(m->cnproc);
        const SeqTrack *t = cnproc_get_seqtrack(m->cnproc);
        JournalStats js;
        ResMonFigures rf;
        ProcTreeStats ts;
        char tsk[160];

        proctree_get_stats(m->tree, &ts);
        journal_get_stats(m->journal, &js);
        resmon_figures(m->resmon, &rf);
        if (rf.state == RESMON_ON)
                snprintf(tsk, sizeof(tsk), "; taskstats: %llu records, %llu joined, %llu missing, %llu overflows",
                         (unsigned long long) rf.join.records, (unsigned long long) rf.join.joined,
                         (unsigned long long) rf.join.missing, (unsigned long long) rf.socket.enobufs);
        else
                snprintf(tsk, sizeof(tsk), "; taskstats: %s", resmon_state_to_string(rf.state));
        (void) sd_notifyf(false,
                          "STATUS=Watching: %.0f events/s, %llu events, %llu lost, %llu overflows, "
                          "%llu socket drops, %llu malformed, %u processes, %u exited; "
                          "journal: %llu forwarded, %llu dropped%s",
                          m->events_per_sec, (unsigned long long) st->events, (unsigned long long) t->lost,
                          (unsigned long long) st->enobufs, (unsigned long long) st->socket_drops,
                          (unsigned long long) st->malformed, ts.live, ts.retained,
                          (unsigned long long) js.forwarded, (unsigned long long) journal_stats_dropped(&js), tsk);
}

static int on_status_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        Manager *m = userdata;
        const CnProcStats *st = cnproc_get_stats(m->cnproc);
        usec_t now = now_usec(CLOCK_MONOTONIC);
        int r;

        if (now > m->rate_usec)
                m->events_per_sec = (double) (st->events - m->rate_events) * (double) USEC_PER_SEC /
                                    (double) (now - m->rate_usec);
        m->rate_events = st->events;
        m->rate_usec = now;

        refresh_clock(m);
        r = cnproc_update_socket_drops(m->cnproc);
        if (r < 0 && r != -ENOENT)
                log_debug_errno(r, "Failed to read socket drops from /proc/net/netlink, ignoring: %m");
        report_loss(m);
        if (m->repair_pending && now >= m->last_reconcile_usec + MANAGER_REPAIR_MIN_INTERVAL_USEC)
                (void) manager_reconcile(m, RECONCILE_EVENTS_LOST);
        resmon_tick(m->resmon);
        proctree_expire(m->tree, now_nsec(CLOCK_MONOTONIC));
        report_budget(m, now);
        send_status(m);

        r = sd_event_source_set_time(s, usec + MANAGER_STATUS_INTERVAL_USEC);
        if (r < 0)
                return log_error_errno(r, "Failed to rearm the status timer: %m");
        return 0;
}

/* Tells the service manager and the kernel, once, whichever way we stop. */
static void manager_stopping(Manager *m) {
        if (m->stopping)
                return;
        m->stopping = true;
        (void) sd_notify(false, "STOPPING=1");
        /* The thread first (bounded: one stuck in a read is left behind), then IGNORE. */
        cnproc_thread_stop(m->cnproc_thread);
        proc_worker_stop(m->worker);
        (void) cnproc_unsubscribe(m->cnproc);
        resmon_stop(m->resmon);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        if (si->ssi_signo == SIGHUP) {
                log_info("Received SIGHUP from pid %d, reloading.", (int) si->ssi_pid);
                /* As io.procwatch.Reload: /proc's mount options, then the configuration. */
                if (m->server)
                        server_reread_proc_mount(m->server);
                (void) manager_reload(m, NULL);
                return 0;
        }
        log_info("Received %s, stopping.", strsignal((int) si->ssi_signo));
        manager_stopping(m);
        return sd_event_exit(sd_event_source_get_event(s), EXIT_SUCCESS);
}

static void manager_get_stats(void *userdata, PwDaemonStats *ret) {
        Manager *m = userdata;
        const SeqTrack *t = m->cnproc ? cnproc_get_seqtrack(m->cnproc) : NULL;

        ret->cnproc = m->cnproc ? cnproc_get_stats(m->cnproc) : NULL;
        ret->lost = t ? t->lost : 0;
        ret->seq_gaps = t ? t->gaps : 0;
        ret->loss_incidents = m->loss_incidents;
        ret->reconciliations = m->reconciliations;
        ret->queue_overflow = m->queue_overflow;
        ret->enrich_failed = m->pipeline ? pipeline_get_stats(m->pipeline)->enrich_failed : 0;
        {
                CnProcThreadStats ts;
                ProcWorkerStats ws;

                /* Both readers: the receive thread's exec images and the worker's. */
                cnproc_thread_get_stats(m->cnproc_thread, &ts);
                proc_worker_get_stats(m->worker, &ws);
                ret->proc_reads_slow = ts.slow_reads + ws.slow_reads;
                ret->proc_read_stalled_usec = MAX(ts.stalled_usec, ws.stalled_usec);
                ret->proc_reads_queued = ws.queued;
                ret->proc_reads_dropped = ws.dropped;
        }
        ret->rcvbuf = m->cnproc ? cnproc_get_rcvbuf(m->cnproc) : 0;
        ret->events_per_sec = m->events_per_sec;
        ret->tree = m->tree;
        resmon_figures(m->resmon, &ret->taskstats);
        if (m->journal) {
                JournalStats js;

                journal_get_stats(m->journal, &js);
                ret->journal = true;
                ret->journal_offered = js.offered;
                ret->journal_forwarded = js.forwarded;
                ret->journal_dropped_queue_full = js.dropped[JOURNAL_DROP_QUEUE_FULL];
                ret->journal_dropped_unavailable = js.dropped[JOURNAL_DROP_UNAVAILABLE];
                ret->journal_dropped_shutdown = js.dropped[JOURNAL_DROP_SHUTDOWN];
        }
}

static int server_reload(void *userdata, json_t **ret) {
        return manager_reload(userdata, ret);
}

static json_t *server_get_config(void *userdata) {
        return manager_config_json(userdata);
}

/* The control socket, once the tree is complete. A path given explicitly must work; the default is
 * best effort, so that a daemon run by hand without /run/procwatchd, or beside a running instance,
 * still watches (procwatchctl then reports it as not running). */
static int manager_start_server(Manager *m) {
        static const PwMethodsCallbacks cb_config = {
                .get_stats = manager_get_stats, .reload = server_reload, .get_config = server_get_config
        };
        static const PwMethodsCallbacks cb_plain = { .get_stats = manager_get_stats };
        const PwMethodsCallbacks *cbp = m->config ? &cb_config : &cb_plain;
        const char *path = m->opts.socket_path ?: PW_SOCKET_PATH_DEFAULT;
        int r;

        r = server_new(&m->server, m->event, m->tree, NULL, cbp, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the control socket: %m");
        server_set_argv_privacy(m->server, m->opts.argv_privacy);
        /* A socket systemd passed (procwatchd.socket) wins over making one. */
        r = server_listen_activated(m->server);
        if (r < 0)
                return log_error_errno(r, "Failed to use the socket passed by the service manager: %m");
        if (r > 0) {
                log_debug("Serving the control socket passed by the service manager.");
                return 0;
        }
        r = server_listen(m->server, path);
        if (r < 0 && m->opts.socket_path)
                return log_error_errno(r, "Failed to listen on %s: %m", path);
        if (r < 0)
                log_warning_errno(r, "Failed to listen on %s, continuing without a control socket: %m", path);
        return 0;
}

static const PipelineCallbacks pipeline_callbacks = {
        .take_early_read = take_early_read,
        .read_image = read_image,
        .hold_exit = hold_exit,
        .subscribers = publish_event,
        .journal = journal_forward,
};

int manager_new(Manager **ret, const ManagerOptions *opts) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t ss;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return log_oom();
        m->opts = *opts;
        m->reader.proc_fd = -EBADF;
        m->config = opts->config;
        m->config_files = opts->config_files;

        r = proctree_new(&m->tree, &m->opts.limits);
        if (r < 0)
                return log_oom();
        r = pw_proc_reader_open(&m->reader, NULL);
        if (r < 0)
                return log_error_errno(r, "Failed to open /proc: %m");
        if (m->opts.argv_max > 0) {
                r = pw_proc_reader_set_argv_max(&m->reader, m->opts.argv_max);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the command line buffer: %m");
        }
        proctree_set_clock_offset(m->tree, m->reader.boot_minus_mono_ns);

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");

        /* sd_event_add_signal() wants the signals blocked first. */
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        sigaddset(&ss, SIGHUP);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGHUP, on_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch for signals: %m");

        /* Pings WATCHDOG=1 at half of $WATCHDOG_USEC when the service manager asks for it. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable the watchdog: %m");

        if (m->opts.journal) {
                r = journal_new(&m->journal, NULL);
                if (r < 0)
                        return log_error_errno(r, "Failed to start the journal writer: %m");
                r = sd_event_add_time_relative(m->event, &m->journal_kick_source, CLOCK_MONOTONIC,
                                               MANAGER_JOURNAL_KICK_USEC, MANAGER_JOURNAL_KICK_USEC / 4,
                                               on_journal_kick, m);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->journal_kick_source, SD_EVENT_OFF);
                if (r < 0)
                        return log_error_errno(r, "Failed to hook the journal writer to the event loop: %m");
        }
        /* Before the start-up scan, which orders the images of what it finds. */
        r = proc_worker_start(&m->worker, NULL, m->reader.argv_max);
        if (r < 0)
                return log_error_errno(r, "Failed to start the /proc worker: %m");
        r = sd_event_add_io(m->event, &m->worker_source, proc_worker_get_fd(m->worker), EPOLLIN, on_worker_io, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the /proc worker: %m");
        r = resmon_new(&m->resmon, m->event, m->tree, &m->opts.taskstats, forward_exit, m);
        if (r < 0)
                return log_oom();
        r = pipeline_new(&m->pipeline, m->tree, &m->reader, &pipeline_callbacks, m);
        if (r < 0)
                return log_oom();

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->cnproc_source);
        sd_event_source_disable_unref(m->status_timer);
        sd_event_source_disable_unref(m->reconcile_timer);
        sd_event_source_disable_unref(m->ready_timer);
        sd_event_source_disable_unref(m->worker_source);
        /* NULL: resmon_free() below still forwards exits, which then wake the writer at once. */
        m->journal_kick_source = sd_event_source_disable_unref(m->journal_kick_source);
        /* Before the journal and the server: it forwards the exits it still holds. */
        resmon_free(m->resmon);
        /* First: bounded (JOURNAL_FLUSH_USEC), and the entries own their strings. */
        journal_free(m->journal);
        server_free(m->server);
        early_held_clear(m);
        free(m->held);
        cnproc_thread_free(m->cnproc_thread);
        proc_worker_free(m->worker);
        cnproc_free(m->cnproc);
        pipeline_free(m->pipeline);
        proctree_free(m->tree);
        pw_proc_reader_close(&m->reader);
        free(m->queue);
        sd_event_unref(m->event);
        if (m->config) {
                pw_config_done(m->config);
                free(m->config);
        }
        pw_config_files_free(m->config_files);
        free(m);
        return NULL;
}

int manager_startup(Manager *m) {
        static const CnProcCallbacks cb = {
                .event = on_event,
                .loss = on_loss,
        };
        int r;

        r = cnproc_new(&m->cnproc, m->opts.rcvbuf, &cb, m);
        if (r == -EPROTONOSUPPORT)
                m->no_events = true;
        if (r < 0)
                return r;

        /* Taskstats before the subscription: every exit the tree will see then has its record. */
        r = resmon_start(m->resmon);
        if (r < 0)
                return r;

        /* Subscribe first, then scan: whatever happens during the scan is queued, not missed. */
        m->queueing = true;
        r = cnproc_subscribe(m->cnproc);
        flush_output(m);
        /* No ack, a refused send, or an ack carrying an error: this kernel or these namespaces give us
         * no events, restarting cannot help, and the exit status says so. Other errors (a send
         * blocked by a seccomp filter, say) are ordinary failures. */
        if (r == -ETIMEDOUT || r == -ECONNREFUSED || (r < 0 && cnproc_ack_refused(m->cnproc)))
                m->no_events = true;
        if (r == -ETIMEDOUT)
                return log_error_errno(r, "The kernel did not acknowledge the subscription to process events: "
                                          "procwatchd must run in the initial user and PID namespaces, on a "
                                          "kernel with CONFIG_PROC_EVENTS=y.");
        if (r == -ECONNREFUSED)
                return log_error_errno(r, "The kernel refused the subscription to process events (%m): "
                                          "procwatchd must run in the initial network namespace.");
        if (r < 0)
                return log_error_errno(r, "The kernel rejected the subscription to process events: %m");

        log_info("Subscribed to process events (%s interface, receive buffer %u bytes).",
                 cnproc_uses_filter_api(m->cnproc) ? "proc_input" : "legacy", cnproc_get_rcvbuf(m->cnproc));

        r = manager_reconcile(m, RECONCILE_STARTUP);
        if (r < 0)
                return r;
        /* READY=1 once these images are in, or after MANAGER_READY_IMAGES_USEC (manager_run()). */
        m->ready_seq = m->images_ordered_seq;

        /* From here on a thread receives, and reads each exec's image as its batch arrives: the
         * loop never waits for a process's mmap_lock (cnproc-thread.h). */
        r = cnproc_thread_start(&m->cnproc_thread, m->cnproc, m->reader.argv_max, m->reader.boot_minus_mono_ns);
        if (r < 0)
                return log_error_errno(r, "Failed to start the receive thread: %m");
        r = sd_event_add_io(m->event, &m->cnproc_source, cnproc_thread_get_fd(m->cnproc_thread), EPOLLIN,
                            on_cnproc_io, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the receive thread: %m");
        /* Same priority as the timers: sd-event then serves pending sources oldest first, so a storm
         * that keeps batches coming cannot starve STATUS= and the loss report. Dispatching is
         * bounded per wake-up (MANAGER_READ_BATCHES), so timers cost ingest little. */

        m->rate_usec = now_usec(CLOCK_MONOTONIC);
        /* Timer sources are one-shot; the callbacks move them on and they stay enabled. */
        r = sd_event_add_time_relative(m->event, &m->status_timer, CLOCK_MONOTONIC, MANAGER_STATUS_INTERVAL_USEC,
                                       100 * USEC_PER_MSEC, on_status_timer, m);
        if (r >= 0)
                r = sd_event_source_set_enabled(m->status_timer, SD_EVENT_ON);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the status timer: %m");
        if (m->opts.reconcile_interval_usec > 0) {
                r = sd_event_add_time_relative(m->event, &m->reconcile_timer, CLOCK_MONOTONIC,
                                               m->opts.reconcile_interval_usec, USEC_PER_SEC, on_reconcile_timer, m);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->reconcile_timer, SD_EVENT_ON);
                if (r < 0)
                        return log_error_errno(r, "Failed to set up the reconciliation timer: %m");
        }
        return manager_start_server(m);
}

int manager_set_reconcile_interval(Manager *m, usec_t interval) {
        int r;

        if (interval == 0) {
                m->reconcile_timer = sd_event_source_disable_unref(m->reconcile_timer);
                m->opts.reconcile_interval_usec = 0;
                return 0;
        }
        if (m->reconcile_timer) {
                uint64_t now;

                r = sd_event_now(m->event, CLOCK_MONOTONIC, &now);
                if (r >= 0)
                        r = sd_event_source_set_time(m->reconcile_timer, now + interval);
        } else if (m->cnproc_source) {
                /* Started already: make the timer now (before start-up, manager_startup() does). */
                r = sd_event_add_time_relative(m->event, &m->reconcile_timer, CLOCK_MONOTONIC, interval, USEC_PER_SEC,
                                               on_reconcile_timer, m);
                if (r >= 0)
                        r = sd_event_source_set_enabled(m->reconcile_timer, SD_EVENT_ON);
        } else
                r = 0;
        if (r < 0)
                return r;
        m->opts.reconcile_interval_usec = interval;
        return 0;
}

int manager_run(Manager *m) {
        int r;

        send_status(m);
        if (m->ready_seq == 0 || m->images_applied_seq >= m->ready_seq)
                send_ready(m, false);
        else {
                /* The loop serves meanwhile: the images come back through on_worker_io(). */
                r = sd_event_add_time_relative(m->event, &m->ready_timer, CLOCK_MONOTONIC, MANAGER_READY_IMAGES_USEC,
                                               0, on_ready_timer, m);
                if (r < 0) {
                        log_debug_errno(r, "Failed to arm the readiness timer, ready at once: %m");
                        send_ready(m, true);
                }
        }

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");

        manager_stopping(m);
        flush_output(m);
        report_loss(m);
        return r;
}
