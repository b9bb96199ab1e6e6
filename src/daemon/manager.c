/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The daemon's Manager: the sd-event loop and what hangs off it. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "log.h"
#include "manager.h"

static void on_event(const PwEvent *ev, void *userdata) {
        Manager *m = userdata;

        if (m->opts.print_events) {
                char line[256];
                size_t n = pw_event_format(ev, line, sizeof(line));

                line[n] = '\n';
                (void) fwrite(line, 1, n + 1, m->opts.print_events);
        }
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
}

static void flush_output(Manager *m) {
        if (m->opts.print_events)
                (void) fflush(m->opts.print_events);
}

static int on_cnproc_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        Manager *m = userdata;
        int r;

        /* A bounded number of batches per wake-up; the source is level-triggered and fires again. */
        r = cnproc_read(m->cnproc, MANAGER_READ_BATCHES);
        flush_output(m);
        if (r < 0) {
                log_error_errno(r, "Reading process events failed, exiting: %m");
                return sd_event_exit(sd_event_source_get_event(s), EXIT_FAILURE);
        }
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
        log_warning("Process events lost: %llu by sequence gaps, %llu dropped by the socket, "
                    "%llu receive queue overflows; %llu lost by sequence gaps since start.",
                    (unsigned long long) m->pending_lost, (unsigned long long) m->pending_drops,
                    (unsigned long long) m->pending_enobufs, (unsigned long long) t->lost);
        m->pending_lost = m->pending_enobufs = m->pending_drops = 0;
}

static void send_status(Manager *m) {
        const CnProcStats *st = cnproc_get_stats(m->cnproc);
        const SeqTrack *t = cnproc_get_seqtrack(m->cnproc);

        (void) sd_notifyf(false,
                          "STATUS=Watching: %.0f events/s, %llu events, %llu lost, %llu overflows, "
                          "%llu socket drops, %llu malformed",
                          m->events_per_sec, (unsigned long long) st->events, (unsigned long long) t->lost,
                          (unsigned long long) st->enobufs, (unsigned long long) st->socket_drops,
                          (unsigned long long) st->malformed);
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

        r = cnproc_update_socket_drops(m->cnproc);
        if (r < 0 && r != -ENOENT)
                log_debug_errno(r, "Failed to read socket drops from /proc/net/netlink, ignoring: %m");
        report_loss(m);
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
        (void) cnproc_unsubscribe(m->cnproc);
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata) {
        Manager *m = userdata;

        log_info("Received %s, stopping.", strsignal((int) si->ssi_signo));
        manager_stopping(m);
        return sd_event_exit(sd_event_source_get_event(s), EXIT_SUCCESS);
}

int manager_new(Manager **ret, const ManagerOptions *opts) {
        _cleanup_(manager_freep) Manager *m = NULL;
        sigset_t ss;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return log_oom();
        m->opts = *opts;

        r = sd_event_default(&m->event);
        if (r < 0)
                return log_error_errno(r, "Failed to allocate the event loop: %m");

        /* sd_event_add_signal() wants the signals blocked first. */
        sigemptyset(&ss);
        sigaddset(&ss, SIGTERM);
        sigaddset(&ss, SIGINT);
        if (sigprocmask(SIG_BLOCK, &ss, NULL) < 0)
                return log_error_errno(errno, "Failed to block signals: %m");
        r = sd_event_add_signal(m->event, NULL, SIGTERM, on_signal, m);
        if (r >= 0)
                r = sd_event_add_signal(m->event, NULL, SIGINT, on_signal, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch for signals: %m");

        /* Pings WATCHDOG=1 at half of $WATCHDOG_USEC when the service manager asks for it. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return log_error_errno(r, "Failed to enable the watchdog: %m");

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m) {
        if (!m)
                return NULL;
        sd_event_source_disable_unref(m->cnproc_source);
        sd_event_source_disable_unref(m->status_timer);
        cnproc_free(m->cnproc);
        sd_event_unref(m->event);
        free(m);
        return NULL;
}

int manager_startup(Manager *m) {
        static const CnProcCallbacks cb = { .event = on_event, .loss = on_loss };
        int r;

        r = cnproc_new(&m->cnproc, m->opts.rcvbuf, &cb, m);
        if (r == -EPROTONOSUPPORT)
                m->no_events = true;
        if (r < 0)
                return r;

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

        r = sd_event_add_io(m->event, &m->cnproc_source, cnproc_get_fd(m->cnproc), EPOLLIN, on_cnproc_io, m);
        if (r < 0)
                return log_error_errno(r, "Failed to watch the proc connector socket: %m");
        /* Same priority as the timers: sd-event then serves pending sources oldest first, so a storm
         * that keeps the socket readable cannot starve STATUS= and the loss report. Reading is
         * bounded per wake-up (MANAGER_READ_BATCHES), so timers cost ingest little. */

        m->rate_usec = now_usec(CLOCK_MONOTONIC);
        r = sd_event_add_time_relative(m->event, &m->status_timer, CLOCK_MONOTONIC, MANAGER_STATUS_INTERVAL_USEC,
                                       100 * USEC_PER_MSEC, on_status_timer, m);
        if (r < 0)
                return log_error_errno(r, "Failed to set up the status timer: %m");
        return 0;
}

int manager_run(Manager *m) {
        int r;

        send_status(m);
        (void) sd_notify(false, "READY=1");

        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");

        manager_stopping(m);
        flush_output(m);
        report_loss(m);
        return r;
}
