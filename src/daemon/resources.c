/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Taskstats records joined to the process tree; see resources.h for how a record finds its process. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "access-policy.h"
#include "exe-cache.h"
#include "format-util.h"
#include "resources.h"

#define RES_NSEC_PER_SEC 1000000000ULL

/* Per-task records of a thread group, summed until its last task's. */
typedef struct Group {
        PwResources sum;
        uint64_t leader_start_est_ns; /* "now" - ac_tgetime at the first record: tells incarnations apart */
        bool uncertain;
} Group;

/* A process record whose process has not ended in the tree yet. */
typedef struct Held Held;
struct Held {
        pid_t tgid;
        uint64_t lifetime_usec;
        uint64_t btime;
        uint32_t exitcode;
        bool uncertain;
        uint64_t arrival_ns;
        uint64_t exe_dev, exe_inode;  /* the file the process ran; inode 0: not told */
        char comm[PW_COMM_MAX + 1];   /* the leader's comm at its end; "": not told */
        PwResources res;
        Held *next_same_pid;   /* oldest first */
        Held *prev, *next;     /* all held records, oldest first */
};

struct ResJoin {
        PidMap groups;  /* tgid -> Group */
        PidMap held;    /* tgid -> oldest Held of that pid */
        Held *held_head, *held_tail;
        int64_t realtime_offset_ns;
        uint64_t last_loss_ns;
        bool loss_seen;
        ExeCache *exes;
        ResJoinStats stats;
};

int resjoin_new(ResJoin **ret) {
        ResJoin *j = calloc(1, sizeof(*j));

        if (!j)
                return -ENOMEM;
        j->exes = exe_cache_new();
        if (!j->exes) {
                free(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

ResJoin *resjoin_free(ResJoin *j) {
        Group *g;
        int32_t key;

        if (!j)
                return NULL;
        for (size_t i = 0; pidmap_next(&j->groups, &i, &key, (void **) &g);)
                free(g);
        pidmap_done(&j->groups);
        while (j->held_head) {
                Held *h = j->held_head;

                j->held_head = h->next;
                free(h);
        }
        pidmap_done(&j->held);
        exe_cache_free(j->exes);
        free(j);
        return NULL;
}

void resjoin_set_realtime_offset(ResJoin *j, int64_t realtime_offset_ns) {
        j->realtime_offset_ns = realtime_offset_ns;
}

const ResJoinStats *resjoin_get_stats(const ResJoin *j) {
        return &j->stats;
}

/* --- sums ---------------------------------------------------------------------------------------- */

static uint64_t sat_add(uint64_t a, uint64_t b) {
        uint64_t r;
        return __builtin_add_overflow(a, b, &r) ? UINT64_MAX : r;
}

static uint64_t kib(uint64_t v) {
        return v > UINT64_MAX / 1024U ? UINT64_MAX : v * 1024U;
}

static void add_task(PwResources *r, const PwTaskstats *s) {
        r->cpu_usec = sat_add(r->cpu_usec, s->cpu_run_virtual_total_ns / 1000U);
        r->cpu_user_sampled_usec = sat_add(r->cpu_user_sampled_usec, s->utime_usec);
        r->cpu_system_sampled_usec = sat_add(r->cpu_system_sampled_usec, s->stime_usec);
        r->max_rss_bytes = MAX(r->max_rss_bytes, kib(s->hiwater_rss_kib));
        r->max_vm_bytes = MAX(r->max_vm_bytes, kib(s->hiwater_vm_kib));
        r->minor_faults = sat_add(r->minor_faults, s->minflt);
        r->major_faults = sat_add(r->major_faults, s->majflt);
        r->read_bytes = sat_add(r->read_bytes, s->read_bytes);
        r->write_bytes = sat_add(r->write_bytes, s->write_bytes);
        r->cancelled_write_bytes = sat_add(r->cancelled_write_bytes, s->cancelled_write_bytes);
        r->read_char = sat_add(r->read_char, s->read_char);
        r->write_char = sat_add(r->write_char, s->write_char);
        r->read_syscalls = sat_add(r->read_syscalls, s->read_syscalls);
        r->write_syscalls = sat_add(r->write_syscalls, s->write_syscalls);
        r->voluntary_ctxsw = sat_add(r->voluntary_ctxsw, s->nvcsw);
        r->involuntary_ctxsw = sat_add(r->involuntary_ctxsw, s->nivcsw);
        for (unsigned d = 0; d < _PW_TS_DELAY_MAX; d++) {
                r->delay_count[d] = sat_add(r->delay_count[d], s->delay_count[d]);
                r->delay_total_ns[d] = sat_add(r->delay_total_ns[d], s->delay_total_ns[d]);
        }
        r->tasks++;
}

/* The exact total split between user and system in the proportion of the tick samples. */
static void split_cpu(PwResources *r) {
        uint64_t u = r->cpu_user_sampled_usec, s = r->cpu_system_sampled_usec;

        if (u + s == 0 || s == 0) {
                r->cpu_user_usec = r->cpu_usec;
                r->cpu_system_usec = 0;
                return;
        }
        if (u == 0) {
                r->cpu_user_usec = 0;
                r->cpu_system_usec = r->cpu_usec;
                return;
        }
        r->cpu_user_usec = (uint64_t) ((unsigned __int128) r->cpu_usec * u / ((unsigned __int128) u + s));
        r->cpu_system_usec = r->cpu_usec - r->cpu_user_usec;
}

/* Subtree sums: times and counts add up, peaks take the largest process. */
static void add_resources(PwResources *a, const PwResources *b) {
        a->cpu_usec = sat_add(a->cpu_usec, b->cpu_usec);
        a->cpu_user_usec = sat_add(a->cpu_user_usec, b->cpu_user_usec);
        a->cpu_system_usec = sat_add(a->cpu_system_usec, b->cpu_system_usec);
        a->cpu_user_sampled_usec = sat_add(a->cpu_user_sampled_usec, b->cpu_user_sampled_usec);
        a->cpu_system_sampled_usec = sat_add(a->cpu_system_sampled_usec, b->cpu_system_sampled_usec);
        a->elapsed_usec = sat_add(a->elapsed_usec, b->elapsed_usec);
        a->max_rss_bytes = MAX(a->max_rss_bytes, b->max_rss_bytes);
        a->max_vm_bytes = MAX(a->max_vm_bytes, b->max_vm_bytes);
        a->minor_faults = sat_add(a->minor_faults, b->minor_faults);
        a->major_faults = sat_add(a->major_faults, b->major_faults);
        a->read_bytes = sat_add(a->read_bytes, b->read_bytes);
        a->write_bytes = sat_add(a->write_bytes, b->write_bytes);
        a->cancelled_write_bytes = sat_add(a->cancelled_write_bytes, b->cancelled_write_bytes);
        a->read_char = sat_add(a->read_char, b->read_char);
        a->write_char = sat_add(a->write_char, b->write_char);
        a->read_syscalls = sat_add(a->read_syscalls, b->read_syscalls);
        a->write_syscalls = sat_add(a->write_syscalls, b->write_syscalls);
        a->voluntary_ctxsw = sat_add(a->voluntary_ctxsw, b->voluntary_ctxsw);
        a->involuntary_ctxsw = sat_add(a->involuntary_ctxsw, b->involuntary_ctxsw);
        for (unsigned d = 0; d < _PW_TS_DELAY_MAX; d++) {
                a->delay_count[d] = sat_add(a->delay_count[d], b->delay_count[d]);
                a->delay_total_ns[d] = sat_add(a->delay_total_ns[d], b->delay_total_ns[d]);
        }
        a->tasks += b->tasks;
}

/* --- the tree side ------------------------------------------------------------------------------- */

static PwProcResources *ensure(PwProcess *p) {
        if (!p->resources)
                p->resources = calloc(1, sizeof(PwProcResources));
        return p->resources;
}

/* The parent at fork: the kernel's reparenting of orphans does not take a process out of the
 * subtree it was started in. */
static PwProcess *fork_parent(const ProcTree *t, const PwProcess *p) {
        if (p->original_ppid > 0)
                return p->original_parent_start_ns ? proctree_get_by_identity(t, p->original_ppid, p->original_parent_start_ns)
                                                   : NULL;
        if (proctree_parent(p))
                return proctree_parent(p);
        return p->ppid > 0 && p->parent_start_ns ? proctree_get_by_identity(t, p->ppid, p->parent_start_ns) : NULL;
}

/* Folds the owner of a process summed (or counted missing) into a subtree's owners. */
static void add_owner(PwProcResources *pr, bool single, uint32_t uid, uint32_t gid) {
        if (!single)
                pr->subtree_owners = PW_SUBTREE_OWNERS_MANY;
        else if (pr->subtree_owners == PW_SUBTREE_OWNERS_NONE) {
                pr->subtree_owners = PW_SUBTREE_OWNERS_ONE;
                pr->subtree_owner_uid = uid;
                pr->subtree_owner_gid = gid;
        } else if (pr->subtree_owners == PW_SUBTREE_OWNERS_ONE && (pr->subtree_owner_uid != uid || pr->subtree_owner_gid != gid))
                pr->subtree_owners = PW_SUBTREE_OWNERS_MANY;
}

/* Adds to p's subtree and every ancestor's. */
static void credit(const ProcTree *t, PwProcess *p, const PwResources *r, int processes, int missing, int uncertain) {
        uint32_t uid = 0, gid = 0;
        bool single = pw_access_ptrace_owner(p, &uid, &gid);
        unsigned depth = 0;

        for (PwProcess *a = p; a && depth < RESOURCES_DEPTH_MAX; depth++) {
                PwProcResources *pr = ensure(a);
                PwProcess *next;

                if (!pr)
                        return;
                if (r)
                        add_resources(&pr->subtree, r);
                pr->subtree_processes += (uint32_t) processes;
                pr->subtree_missing += (uint32_t) missing;
                pr->subtree_uncertain += (uint32_t) uncertain;
                add_owner(pr, single, uid, gid);
                next = fork_parent(t, a);
                if (next == a)
                        break;
                a = next;
        }
}

static bool start_known(const PwProcess *p) {
        return !(p->uncertain & PW_UNCERTAIN_START) && p->start_ns > 0;
}

/* Does the record agree with this (exited) incarnation? */
static bool agrees(const ResJoin *j, const PwProcess *p, const Held *h) {
        if (!start_known(p))
                return true; /* nothing to compare: incarnation order decides */
        {
                int64_t end_est = (int64_t) (p->start_ns + h->lifetime_usec * 1000U);
                int64_t d = (int64_t) p->exit_ns - end_est;

                if (d < -(int64_t) RESOURCES_EARLY_NS)
                        return false;
                /* A reconciliation's exit time is when the loss was noticed: only a lower bound. */
                if (!(p->uncertain & PW_UNCERTAIN_EXIT) && d > (int64_t) RESOURCES_LATE_NS)
                        return false;
        }
        if (h->btime > 0) {
                int64_t wall_ns = (int64_t) p->start_ns + j->realtime_offset_ns;
                int64_t start_s = wall_ns > 0 ? wall_ns / (int64_t) RES_NSEC_PER_SEC : 0;

                /* floor(start) or one more, and clock steps: two seconds either way. */
                if ((int64_t) h->btime > start_s + 2 || (int64_t) h->btime < start_s - 2)
                        return false;
        }
        return true;
}

static void join(ResJoin *j, ProcTree *t, PwProcess *p, const Held *h, uint64_t now_ns) {
        PwProcResources *pr = ensure(p);
        bool was_missing, uncertain;

        if (!pr) {
                j->stats.unmatched++;
                return;
        }
        was_missing = pr->state == PW_RESOURCES_MISSING;
        uncertain = h->uncertain || (j->loss_seen && now_ns < j->last_loss_ns + RESOURCES_LOSS_WINDOW_NS) ||
                    (!(p->uncertain & PW_UNCERTAIN_EXIT) && p->exit_code != h->exitcode);
        pr->state = PW_RESOURCES_JOINED;
        pr->uncertain = uncertain;
        /* A file that ran, as the record names it, for later processes that run it and whose exe is
         * lost; or this one's image, or its exe alone, was lost to its exit: the record still says
         * which file it ran. */
        if (p->exe && !(p->uncertain & PW_UNCERTAIN_IMAGE))
                (void) exe_cache_note(j->exes, p->exe->data, h->exe_dev, h->exe_inode);
        else if (!p->exe && h->exe_inode != 0 &&
                 proctree_name_exe(t, p, exe_cache_find(j->exes, h->exe_dev, h->exe_inode)) > 0)
                j->stats.exes_named++;
        /* The name the kernel says the process had at its end: an exec read too late (the process
         * gone first) left the parent's, and the journal's exit entry and ps would say that. */
        if (h->comm[0] && strncmp(p->comm, h->comm, sizeof(p->comm)) != 0) {
                memcpy(p->comm, h->comm, sizeof(p->comm));
                j->stats.comms_named++;
        }
        pr->exitcode = h->exitcode;
        pr->self = h->res;
        j->stats.joined++;
        if (was_missing)
                j->stats.joined_late++;
        if (uncertain)
                j->stats.joined_uncertain++;
        credit(t, p, &pr->self, 1, was_missing ? -1 : 0, uncertain ? 1 : 0);
}

/* The oldest exited incarnation of h's pid that has no record and agrees with it; one with the same
 * exit status first. */
typedef struct FindExited {
        const ResJoin *j;
        const Held *h;
        PwProcess *best, *best_any;
} FindExited;

static bool find_exited_one(PwProcess *p, void *userdata) {
        FindExited *f = userdata;

        if (pw_process_has_resources(p) || !agrees(f->j, p, f->h))
                return true;
        if (!f->best_any || p->start_ns < f->best_any->start_ns)
                f->best_any = p;
        if ((p->uncertain & PW_UNCERTAIN_EXIT) || p->exit_code == f->h->exitcode)
                if (!f->best || p->start_ns < f->best->start_ns)
                        f->best = p;
        return true;
}

static PwProcess *find_exited(const ResJoin *j, const ProcTree *t, const Held *h) {
        FindExited f = { .j = j, .h = h };

        (void) proctree_foreach_exited(t, h->tgid, find_exited_one, &f);
        return f.best ?: f.best_any;
}

static void held_unlink(ResJoin *j, Held *h) {
        Held *first = pidmap_get(&j->held, h->tgid);

        if (first == h) {
                if (h->next_same_pid)
                        (void) pidmap_put(&j->held, h->tgid, h->next_same_pid);
                else
                        (void) pidmap_remove(&j->held, h->tgid);
        } else
                for (Held *q = first; q; q = q->next_same_pid)
                        if (q->next_same_pid == h) {
                                q->next_same_pid = h->next_same_pid;
                                break;
                        }
        if (h->prev)
                h->prev->next = h->next;
        else
                j->held_head = h->next;
        if (h->next)
                h->next->prev = h->prev;
        else
                j->held_tail = h->prev;
        j->stats.held_now--;
}

static void hold(ResJoin *j, const Held *src) {
        Held *h, *first;

        if (j->stats.held_now >= RESOURCES_HOLD_MAX && j->held_head) {
                Held *old = j->held_head;

                held_unlink(j, old);
                free(old);
                j->stats.unmatched++;
        }
        h = malloc(sizeof(*h));
        if (!h) {
                j->stats.unmatched++;
                return;
        }
        *h = *src;
        h->next_same_pid = NULL;
        first = pidmap_get(&j->held, h->tgid);
        if (first) {
                while (first->next_same_pid)
                        first = first->next_same_pid;
                first->next_same_pid = h;
        } else if (pidmap_put(&j->held, h->tgid, h) < 0) {
                free(h);
                j->stats.unmatched++;
                return;
        }
        h->prev = j->held_tail;
        h->next = NULL;
        if (j->held_tail)
                j->held_tail->next = h;
        else
                j->held_head = h;
        j->held_tail = h;
        j->stats.held++;
        j->stats.held_now++;
}

PwProcess *resjoin_record(ResJoin *j, ProcTree *t, const PwTsMsg *m, uint64_t now_ns) {
        const PwTaskstats *s = &m->task;
        bool grouped = s->have & PW_TS_HAVE_TGID;
        pid_t tgid = (pid_t) (grouped && s->tgid ? s->tgid : s->pid);
        uint64_t life = grouped ? s->tgetime_usec : s->etime_usec;
        uint64_t est = now_ns > life * 1000U ? now_ns - life * 1000U : 0;
        Group *g = tgid > 0 ? pidmap_get(&j->groups, tgid) : NULL;
        Held h = {};
        PwProcess *p;

        j->stats.task_records++;
        if (tgid <= 0)
                return NULL;
        if (g && (est > g->leader_start_est_ns + RES_NSEC_PER_SEC || est + RES_NSEC_PER_SEC < g->leader_start_est_ns)) {
                /* Another incarnation of the pid: the old group's last record never came. */
                free(pidmap_remove(&j->groups, tgid));
                j->stats.groups_reset++;
                g = NULL;
        }
        if (!(s->flag & PW_TS_AGROUP)) {
                if (!grouped)
                        return NULL; /* a thread, and no ac_tgid to sum it by (before version 12) */
                if (!g) {
                        g = calloc(1, sizeof(*g));
                        if (!g || pidmap_put(&j->groups, tgid, g) < 0) {
                                free(g);
                                return NULL;
                        }
                        g->leader_start_est_ns = est;
                }
                add_task(&g->sum, s);
                return NULL;
        }

        /* The last task: the process's record is complete. */
        h.tgid = tgid;
        h.lifetime_usec = life;
        h.btime = s->btime;
        h.exitcode = s->exitcode;
        h.arrival_ns = now_ns;
        h.uncertain = s->layout_untrusted;
        if (grouped) {
                h.exe_dev = s->exe_dev;
                h.exe_inode = s->exe_inode;
        }
        /* The last task is the leader (a single-threaded process, or one whose threads ended first):
         * its comm is the process's. */
        if ((s->have & PW_TS_HAVE_BASIC) && s->pid == (uint32_t) tgid)
                memcpy(h.comm, s->comm, strnlen(s->comm, PW_COMM_MAX));
        if (g) {
                h.res = g->sum;
                h.uncertain = h.uncertain || g->uncertain;
                free(pidmap_remove(&j->groups, tgid));
        }
        add_task(&h.res, s);
        h.res.elapsed_usec = life;
        split_cpu(&h.res);
        j->stats.records++;

        p = find_exited(j, t, &h);
        if (p) {
                join(j, t, p, &h, now_ns);
                return p;
        }
        hold(j, &h);
        return NULL;
}

bool resjoin_process_ended(ResJoin *j, ProcTree *t, PwProcess *p, uint64_t now_ns) {
        if (pw_process_has_resources(p))
                return true;
        for (Held *h = pidmap_get(&j->held, p->pid); h; h = h->next_same_pid) {
                if (!agrees(j, p, h))
                        continue;
                held_unlink(j, h);
                join(j, t, p, h, now_ns);
                free(h);
                return true;
        }
        return false;
}

void resjoin_mark_missing(ResJoin *j, ProcTree *t, PwProcess *p) {
        PwProcResources *pr;

        if (pw_process_has_resources(p))
                return;
        pr = ensure(p);
        if (!pr || pr->state == PW_RESOURCES_MISSING)
                return;
        pr->state = PW_RESOURCES_MISSING;
        j->stats.missing++;
        credit(t, p, NULL, 0, 1, 0);
}

void resjoin_loss(ResJoin *j, uint64_t now_ns) {
        Group *g;
        int32_t key;

        j->loss_seen = true;
        j->last_loss_ns = now_ns;
        for (size_t i = 0; pidmap_next(&j->groups, &i, &key, (void **) &g);)
                g->uncertain = true;
}

void resjoin_expire(ResJoin *j, uint64_t now_ns) {
        while (j->held_head && j->held_head->arrival_ns + RESOURCES_HOLD_NS < now_ns) {
                Held *h = j->held_head;

                held_unlink(j, h);
                free(h);
                j->stats.unmatched++;
        }
}

/* --- output -------------------------------------------------------------------------------------- */

static json_t *int_json(uint64_t v) {
        return json_integer(v > INT64_MAX ? INT64_MAX : (json_int_t) v);
}

bool pw_resources_delay_public(unsigned d) {
        return d == PW_TS_DELAY_CPU || d == PW_TS_DELAY_BLKIO;
}

static json_t *resources_object(const PwResources *r, bool with_elapsed, bool guarded) {
        json_t *o = json_object(), *delays = json_object();

        if (!o || !delays)
                goto fail;
#define SET(k, v)                                                                     \
        do {                                                                          \
                if (json_object_set_new_nocheck(o, k, int_json(v)) < 0)               \
                        goto fail;                                                    \
        } while (0)
        SET("cpu_usec", r->cpu_usec);
        SET("cpu_user_usec", r->cpu_user_usec);
        SET("cpu_system_usec", r->cpu_system_usec);
        SET("cpu_user_sampled_usec", r->cpu_user_sampled_usec);
        SET("cpu_system_sampled_usec", r->cpu_system_sampled_usec);
        if (with_elapsed)
                SET("elapsed_usec", r->elapsed_usec);
        SET("max_rss_bytes", r->max_rss_bytes);
        SET("max_vm_bytes", r->max_vm_bytes);
        SET("minor_faults", r->minor_faults);
        SET("major_faults", r->major_faults);
        /* /proc/PID/io's figures: ptrace-guarded. */
#define SET_GUARDED(k, v)                                                                               \
        do {                                                                                            \
                if (json_object_set_new_nocheck(o, k, guarded ? int_json(v) : json_null()) < 0)        \
                        goto fail;                                                                      \
        } while (0)
        SET_GUARDED("read_bytes", r->read_bytes);
        SET_GUARDED("write_bytes", r->write_bytes);
        SET_GUARDED("cancelled_write_bytes", r->cancelled_write_bytes);
        SET_GUARDED("read_syscall_bytes", r->read_char);
        SET_GUARDED("write_syscall_bytes", r->write_char);
#undef SET_GUARDED
        SET("voluntary_ctxsw", r->voluntary_ctxsw);
        SET("involuntary_ctxsw", r->involuntary_ctxsw);
        SET("tasks", r->tasks);
#undef SET
        for (unsigned d = 0; d < _PW_TS_DELAY_MAX; d++) {
                json_t *one = !guarded && !pw_resources_delay_public(d)
                                      ? json_null()
                                      : json_pack("{s:I,s:I}", "count", (json_int_t) MIN(r->delay_count[d], (uint64_t) INT64_MAX),
                                        "total_ns", (json_int_t) MIN(r->delay_total_ns[d], (uint64_t) INT64_MAX));

                if (json_object_set_new_nocheck(delays, pw_ts_delay_to_string(d), one) < 0)
                        goto fail;
        }
        if (json_object_set_new_nocheck(o, "delays", delays) < 0) {
                delays = NULL;
                goto fail;
        }
        return o;
fail:
        json_decref(delays);
        json_decref(o);
        return NULL;
}

json_t *pw_resources_json(const PwProcess *p, bool guarded) {
        json_t *o;

        if (!pw_process_has_resources(p))
                return json_null();
        o = resources_object(&p->resources->self, true, guarded);
        if (o && json_object_set_new_nocheck(o, "uncertain", json_boolean(p->resources->uncertain)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

json_t *pw_subtree_resources_json(const PwProcess *p, bool guarded) {
        const PwProcResources *pr = p->resources;
        json_t *o;

        if (!pr || (pr->subtree_processes == 0 && pr->subtree_missing == 0))
                return json_null();
        o = resources_object(&pr->subtree, false, guarded);
        if (!o)
                return NULL;
        if (json_object_set_new_nocheck(o, "processes", json_integer(pr->subtree_processes)) < 0 ||
            json_object_set_new_nocheck(o, "missing", json_integer(pr->subtree_missing)) < 0 ||
            json_object_set_new_nocheck(o, "uncertain", json_integer(pr->subtree_uncertain)) < 0) {
                json_decref(o);
                return NULL;
        }
        return o;
}

size_t pw_resources_journal_fields(const PwProcess *p, PwResourcesField *out, size_t max) {
        const PwResources *r;
        size_t n = 0;

        if (!pw_process_has_resources(p))
                return 0;
        r = &p->resources->self;
#define ADD(k, v)                                                     \
        do {                                                          \
                if (n < max)                                          \
                        out[n++] = (PwResourcesField){ (k), (v) };    \
        } while (0)
        ADD("CPU_USER_USEC", r->cpu_user_usec);
        ADD("CPU_SYSTEM_USEC", r->cpu_system_usec);
        ADD("CPU_USEC", r->cpu_usec);
        ADD("ELAPSED_USEC", r->elapsed_usec);
        ADD("MAX_RSS_BYTES", r->max_rss_bytes);
        ADD("MAX_VM_BYTES", r->max_vm_bytes);
        ADD("MINOR_FAULTS", r->minor_faults);
        ADD("MAJOR_FAULTS", r->major_faults);
        ADD("READ_BYTES", r->read_bytes);
        ADD("WRITE_BYTES", r->write_bytes);
        ADD("CANCELLED_WRITE_BYTES", r->cancelled_write_bytes);
        ADD("READ_SYSCALL_BYTES", r->read_char);
        ADD("WRITE_SYSCALL_BYTES", r->write_char);
        ADD("VOLUNTARY_CTXSW", r->voluntary_ctxsw);
        ADD("INVOLUNTARY_CTXSW", r->involuntary_ctxsw);
        ADD("TASKS", r->tasks);
        ADD("CPU_DELAY_NS", r->delay_total_ns[PW_TS_DELAY_CPU]);
        ADD("BLKIO_DELAY_NS", r->delay_total_ns[PW_TS_DELAY_BLKIO]);
        ADD("SWAPIN_DELAY_NS", r->delay_total_ns[PW_TS_DELAY_SWAPIN]);
        ADD("RESOURCES_UNCERTAIN", p->resources->uncertain ? 1 : 0);
#undef ADD
        return n;
}

/* Appends s to the NUL-terminated string of len bytes in buf (size bytes), cut as snprintf() cuts;
 * returns the length it would have. */
static size_t append(char *buf, size_t size, size_t len, const char *s) {
        size_t n = strlen(s);

        if (len + 1 < size) {
                size_t k = MIN(n, size - 1 - len);

                memcpy(buf + len, s, k);
                buf[len + k] = '\0';
        }
        return len + n;
}

size_t pw_resources_message(const PwProcess *p, char *buf, size_t size) {
        size_t len = strnlen(buf, size);
        char rss[32], cpu[32];

        /* No printf: this is on every exit entry of the journal. */
        if (len >= size)
                return len;
        if (!pw_process_has_resources(p))
                return append(buf, size, len, ", resources unknown");
        format_bytes(rss, sizeof(rss), p->resources->self.max_rss_bytes);
        format_seconds_tenths(cpu, sizeof(cpu), p->resources->self.cpu_usec);
        len = append(buf, size, len, ", cpu ");
        len = append(buf, size, len, cpu);
        len = append(buf, size, len, "s, max rss ");
        return append(buf, size, len, rss);
}
