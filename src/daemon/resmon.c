/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The resource monitor: taskstats on the loop, the join, and exits held for their record. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "resmon.h"

/* An exit waiting for its record. */
typedef struct Waiting Waiting;
struct Waiting {
        PwEvent ev;
        pid_t pid;
        uint64_t start_ns;
        uint64_t deadline_ns;
        Waiting *prev, *next;  /* oldest first: deadlines are in order */
        Waiting *next_same_pid;
};

struct ResMon {
        ResMonOptions opts;
        ResMonState state;
        sd_event *event;
        sd_event_source *io;
        sd_event_source *timer;
        ProcTree *tree;
        Taskstats *ts;
        ResJoin *join;
        ResMonForward forward;
        void *userdata;

        Waiting *head, *tail;
        PidMap waiting;         /* pid -> first Waiting with that pid */
        unsigned n_waiting;
        uint64_t waited;
        uint64_t forward_lost;
        bool stopped;
};

const char *resmon_state_to_string(ResMonState s) {
        static const char *const names[_RESMON_STATE_MAX] = {
                [RESMON_OFF_OPTION] = "off",
                [RESMON_OFF_NO_KERNEL_SUPPORT] = "unsupported",
                [RESMON_OFF_PERMISSION] = "no-permission",
                [RESMON_OFF_NAMESPACE] = "namespace",
                [RESMON_OFF_ERROR] = "failed",
                [RESMON_ON] = "on",
        };
        return (unsigned) s < _RESMON_STATE_MAX ? names[s] : NULL;
}

static void refresh_offset(ResMon *r) {
        resjoin_set_realtime_offset(r->join, (int64_t) (now_nsec(CLOCK_REALTIME) - now_nsec(CLOCK_MONOTONIC)));
}

/* --- held exits ---------------------------------------------------------------------------------- */

static void waiting_unlink(ResMon *r, Waiting *w) {
        Waiting *first = pidmap_get(&r->waiting, w->pid);

        if (first == w) {
                if (w->next_same_pid)
                        (void) pidmap_put(&r->waiting, w->pid, w->next_same_pid);
                else
                        (void) pidmap_remove(&r->waiting, w->pid);
        } else
                for (Waiting *q = first; q; q = q->next_same_pid)
                        if (q->next_same_pid == w) {
                                q->next_same_pid = w->next_same_pid;
                                break;
                        }
        if (w->prev)
                w->prev->next = w->next;
        else
                r->head = w->next;
        if (w->next)
                w->next->prev = w->prev;
        else
                r->tail = w->prev;
        r->n_waiting--;
}

/* The exited record of the process (pid, start_ns). */
static PwProcess *lookup_exact(const ProcTree *t, pid_t pid, uint64_t start_ns) {
        PwProcess *p = proctree_get_by_identity(t, pid, start_ns);

        return p && p->exited ? p : NULL;
}

/* The wait is over: the record joined or not, the exit goes out. Frees w. */
static void release(ResMon *r, Waiting *w) {
        PwProcess *p = lookup_exact(r->tree, w->pid, w->start_ns);

        waiting_unlink(r, w);
        if (p) {
                PwApplyResult res = { .process = p, .process_ended = true };

                if (!pw_process_has_resources(p))
                        resjoin_mark_missing(r->join, r->tree, p);
                r->forward(&w->ev, &res, r->userdata);
        } else
                r->forward_lost++;
        free(w);
}

static int arm_timer(ResMon *r) {
        int r2;

        if (!r->head)
                return sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
        r2 = sd_event_source_set_time(r->timer, r->head->deadline_ns / NSEC_PER_USEC);
        if (r2 >= 0)
                r2 = sd_event_source_set_enabled(r->timer, SD_EVENT_ONESHOT);
        return r2;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata) {
        ResMon *r = userdata;
        uint64_t now = now_nsec(CLOCK_MONOTONIC);

        (void) s;
        (void) usec;
        /* A last look at the socket: the record may be queued and the loop not yet there. */
        if (r->ts)
                (void) taskstats_read(r->ts, RESMON_READ_BATCHES);
        while (r->head && r->head->deadline_ns <= now)
                release(r, r->head);
        (void) arm_timer(r);
        return 0;
}

/* --- records ------------------------------------------------------------------------------------- */

static void on_record(const PwTsMsg *m, void *userdata) {
        ResMon *r = userdata;
        PwProcess *p = resjoin_record(r->join, r->tree, m, now_nsec(CLOCK_MONOTONIC));

        if (!p)
                return;
        /* Its exit may be waiting for exactly this. */
        for (Waiting *w = pidmap_get(&r->waiting, p->pid); w; w = w->next_same_pid)
                if (w->start_ns == p->start_ns) {
                        release(r, w);
                        break;
                }
}

static void on_loss(bool enobufs, uint64_t count, void *userdata) {
        ResMon *r = userdata;

        (void) enobufs;
        (void) count;
        resjoin_loss(r->join, now_nsec(CLOCK_MONOTONIC));
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata) {
        ResMon *r = userdata;
        int k;

        (void) s;
        (void) fd;
        (void) revents;
        k = taskstats_read(r->ts, RESMON_READ_BATCHES);
        if (k < 0) {
                /* Not worth the daemon: the feature goes off, the rest carries on. */
                log_error_errno(k, "Reading taskstats failed, resource use of exited processes is now off: %m");
                resmon_stop(r);
                r->state = RESMON_OFF_ERROR;
        }
        return 0;
}

/* --- lifecycle ----------------------------------------------------------------------------------- */

int resmon_new(ResMon **ret, sd_event *e, ProcTree *tree, const ResMonOptions *opts, ResMonForward forward,
               void *userdata) {
        _cleanup_(resmon_freep) ResMon *r = NULL;
        int k;

        r = calloc(1, sizeof(*r));
        if (!r)
                return -ENOMEM;
        r->opts = *opts;
        if (r->opts.wait_usec == 0)
                r->opts.wait_usec = RESMON_WAIT_USEC_DEFAULT;
        if (r->opts.rcvbuf == 0)
                r->opts.rcvbuf = TASKSTATS_RCVBUF_DEFAULT;
        r->state = RESMON_OFF_OPTION;
        r->event = sd_event_ref(e);
        r->tree = tree;
        r->forward = forward;
        r->userdata = userdata;
        k = resjoin_new(&r->join);
        if (k < 0)
                return k;
        refresh_offset(r);
        *ret = TAKE_PTR(r);
        return 0;
}

static void off(ResMon *r, ResMonState why) {
        r->ts = taskstats_free(r->ts);
        r->state = why;
}

int resmon_start(ResMon *r) {
        static const TaskstatsCallbacks cb = { .record = on_record, .loss = on_loss };
        int k;

        if (r->opts.disabled) {
                log_info("Resource use of exited processes is off (--no-taskstats).");
                return 0;
        }
        if (!taskstats_in_initial_netns()) {
                log_warning("Not in the initial network namespace, where taskstats would deliver nothing: "
                            "resource use of exited processes is off.");
                off(r, RESMON_OFF_NAMESPACE);
                return 0;
        }
        k = taskstats_new(&r->ts, r->opts.family, r->opts.rcvbuf, &cb, r);
        if (k == -ENOMEM)
                return log_oom();
        if (k == -ENOENT) {
                log_warning("The kernel has no taskstats (CONFIG_TASKSTATS): resource use of exited processes is off.");
                off(r, RESMON_OFF_NO_KERNEL_SUPPORT);
                return 0;
        }
        if (k < 0) {
                log_warning_errno(k, "Failed to open the taskstats socket (%m): resource use of exited processes is off.");
                off(r, RESMON_OFF_ERROR);
                return 0;
        }
        k = taskstats_register(r->ts);
        if (k == -EPERM || k == -EACCES) {
                log_warning("Taskstats registration refused: it needs CAP_NET_ADMIN in the initial user namespace; "
                            "resource use of exited processes is off.");
                off(r, RESMON_OFF_PERMISSION);
                return 0;
        }
        if (k == -EINVAL) {
                log_warning("Taskstats registration refused (Invalid argument): outside the initial PID namespace "
                            "or CPU list \"%s\" not accepted; resource use of exited processes is off.",
                            taskstats_get_cpumask(r->ts));
                off(r, RESMON_OFF_NAMESPACE);
                return 0;
        }
        if (k < 0) {
                log_warning_errno(k, "Taskstats registration failed (%m): resource use of exited processes is off.");
                off(r, RESMON_OFF_ERROR);
                return 0;
        }
        /* From another network namespace registration "works" and nothing ever comes: see one record. */
        k = taskstats_probe(r->ts);
        if (k == -ENODATA) {
                log_warning("Registered with taskstats but no record came for a test process: not in the initial "
                            "network namespace? Resource use of exited processes is off.");
                off(r, RESMON_OFF_NAMESPACE);
                return 0;
        }
        if (k < 0)
                log_debug_errno(k, "Could not check that taskstats records arrive, continuing: %m");
        k = sd_event_add_io(r->event, &r->io, taskstats_get_fd(r->ts), EPOLLIN, on_io, r);
        if (k >= 0)
                k = sd_event_source_set_ratelimit(r->io, RESMON_IO_INTERVAL_USEC, RESMON_IO_BURST);
        if (k >= 0)
                k = sd_event_add_time(r->event, &r->timer, CLOCK_MONOTONIC, 0, 1000, on_timer, r);
        if (k >= 0)
                k = sd_event_source_set_enabled(r->timer, SD_EVENT_OFF);
        if (k < 0) {
                log_warning_errno(k, "Failed to watch the taskstats socket (%m): resource use of exited processes is off.");
                r->io = sd_event_source_disable_unref(r->io);
                r->timer = sd_event_source_disable_unref(r->timer);
                off(r, RESMON_OFF_ERROR);
                return 0;
        }
        r->state = RESMON_ON;
        log_info("Receiving taskstats (family %u, CPUs %s, receive buffer %u bytes).", taskstats_get_family(r->ts),
                 taskstats_get_cpumask(r->ts), taskstats_get_rcvbuf(r->ts));
        return 0;
}

bool resmon_enabled(const ResMon *r) {
        return r && r->state == RESMON_ON && !r->stopped;
}

ResMonState resmon_state(const ResMon *r) {
        return r ? r->state : RESMON_OFF_OPTION;
}

bool resmon_defer_exit(ResMon *r, const PwEvent *ev, PwProcess *p) {
        uint64_t now = now_nsec(CLOCK_MONOTONIC);
        Waiting *w, *first;

        if (!resmon_enabled(r) || !p)
                return false;
        if (resjoin_process_ended(r->join, r->tree, p, now))
                return false;
        /* The record is usually queued already: one more read before holding anything. */
        (void) taskstats_read(r->ts, 1);
        if (pw_process_has_resources(p) || resjoin_process_ended(r->join, r->tree, p, now))
                return false;

        if (r->n_waiting >= RESMON_WAITING_MAX)
                release(r, r->head);
        w = calloc(1, sizeof(*w));
        if (!w)
                return false;
        w->ev = *ev;
        w->pid = p->pid;
        w->start_ns = p->start_ns;
        w->deadline_ns = now + r->opts.wait_usec * NSEC_PER_USEC;
        first = pidmap_get(&r->waiting, w->pid);
        if (first) {
                while (first->next_same_pid)
                        first = first->next_same_pid;
                first->next_same_pid = w;
        } else if (pidmap_put(&r->waiting, w->pid, w) < 0) {
                free(w);
                return false;
        }
        w->prev = r->tail;
        if (r->tail)
                r->tail->next = w;
        else
                r->head = w;
        r->tail = w;
        r->n_waiting++;
        r->waited++;
        if (r->head == w)
                (void) arm_timer(r);
        return true;
}

void resmon_tick(ResMon *r) {
        int k;

        if (!r)
                return;
        refresh_offset(r);
        resjoin_expire(r->join, now_nsec(CLOCK_MONOTONIC));
        if (r->ts && !r->stopped) {
                k = taskstats_update_socket_drops(r->ts);
                if (k < 0 && k != -ENOENT)
                        log_debug_errno(k, "Failed to read taskstats socket drops, ignoring: %m");
        }
}

void resmon_stop(ResMon *r) {
        int k;

        if (!r || r->stopped)
                return;
        if (r->ts)
                (void) taskstats_read(r->ts, 64);
        while (r->head)
                release(r, r->head);
        r->stopped = true;
        r->io = sd_event_source_disable_unref(r->io);
        r->timer = sd_event_source_disable_unref(r->timer);
        if (r->ts) {
                k = taskstats_deregister(r->ts);
                if (k < 0)
                        log_warning_errno(k, "Failed to deregister from taskstats: %m");
        }
}

ResMon *resmon_free(ResMon *r) {
        if (!r)
                return NULL;
        resmon_stop(r);
        pidmap_done(&r->waiting);
        taskstats_free(r->ts);
        resjoin_free(r->join);
        sd_event_unref(r->event);
        free(r);
        return NULL;
}

void resmon_figures(const ResMon *r, ResMonFigures *ret) {
        *ret = (ResMonFigures){ .state = resmon_state(r) };
        if (!r)
                return;
        ret->join = *resjoin_get_stats(r->join);
        if (r->ts) {
                ret->socket = *taskstats_get_stats(r->ts);
                ret->rcvbuf = taskstats_get_rcvbuf(r->ts);
        }
        ret->waited = r->waited;
        ret->forward_lost = r->forward_lost;
}

int resmon_figures_json(const ResMonFigures *f, json_t *obj) {
        const struct {
                const char *key;
                uint64_t value;
        } fields[] = {
                { "taskstats_task_records", f->join.task_records },
                { "taskstats_records", f->join.records },
                { "taskstats_joined", f->join.joined },
                { "taskstats_joined_late", f->join.joined_late },
                { "taskstats_joined_uncertain", f->join.joined_uncertain },
                { "taskstats_missing", f->join.missing },
                { "taskstats_unmatched", f->join.unmatched },
                { "taskstats_held", f->join.held_now },
                { "taskstats_waited", f->waited },
                { "taskstats_forward_lost", f->forward_lost },
                { "taskstats_exes_named", f->join.exes_named },
                { "taskstats_comms_named", f->join.comms_named },
                { "taskstats_enobufs", f->socket.enobufs },
                { "taskstats_socket_drops", f->socket.socket_drops },
                { "taskstats_malformed", f->socket.malformed },
                { "taskstats_foreign", f->socket.foreign },
                { "taskstats_rcvbuf", f->rcvbuf },
        };

        if (json_object_set_new(obj, "taskstats", json_string(resmon_state_to_string(f->state))) < 0)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(fields); i++)
                if (json_object_set_new(obj, fields[i].key,
                                        json_integer((json_int_t) MIN(fields[i].value, (uint64_t) INT64_MAX))) < 0)
                        return -ENOMEM;
        return 0;
}
