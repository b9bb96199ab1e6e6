/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The process tree; the rules it follows are set out in proctree.h. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parse-util.h"
#include "proctree.h"

struct PwTask {
        pid_t tid;
        PwProcess *process;
        PwTask *prev, *next;
};

struct ProcTree {
        PidMap live;                  /* tgid -> the live PwProcess */
        PidMap tasks;                 /* tid -> PwTask of a live process */
        PidMap retained;              /* pid -> newest exited record with that pid */
        PidMap displaced;             /* pid -> record whose pid was reused before its EXIT came */
        PwProcess *ret_head, *ret_tail; /* exited records, oldest first */
        unsigned n_live, n_retained;
        size_t bytes;                 /* PwStr bytes alive, against limits.string_budget */
        ProcTreeLimits limits;
        PidMap uids;                  /* uid + 1 -> PwUidBudget (PW_UID_INVALID in uid_invalid) */
        PwUidBudget *uid_invalid;
        ProcTreeStats stats;
        uint64_t boot_minus_mono_ns;  /* proctree_set_clock_offset() */

        /* The record of the event last applied: no eviction takes it (see proctree_apply()). */
        const PwProcess *pinned;

        /* The work orders of the event being applied (PwApplyResult), or of a reconciliation, which
         * settles its own. */
        pid_t *reparent;
        size_t n_reparent, alloc_reparent;
        pid_t *enrich;
        size_t n_enrich, alloc_enrich;
};

static const char *const source_names[_PW_SOURCE_MAX] = {
        [PW_SOURCE_EVENT] = "event",
        [PW_SOURCE_SCAN] = "scan",
        [PW_SOURCE_RECONCILED] = "reconciled",
        [PW_SOURCE_PLACEHOLDER] = "placeholder",
};

const char *pw_source_to_string(PwSource s) {
        return (unsigned) s < _PW_SOURCE_MAX ? source_names[s] : NULL;
}

/* --- uids ----------------------------------------------------------------------------------------- */

/* A uid's accounting and, private to the tree, the list of the exited records charged to it. */
typedef struct UidEntry {
        PwUidBudget budget;           /* first: a PwUidBudget * of an entry is the entry */
        PwProcess *ret_head, *ret_tail; /* oldest first */
} UidEntry;

#define UID_LIST(u) ((UidEntry *) (void *) (u))

/* Entries are freed only by uid_gc(), never while a caller may hold one. */
static PwUidBudget *uid_find(const ProcTree *t, uint32_t uid) {
        return uid == PW_UID_INVALID ? t->uid_invalid : pidmap_get(&t->uids, (int32_t) (uid + 1U));
}

static PwUidBudget *uid_get(ProcTree *t, uint32_t uid) {
        PwUidBudget *u = uid_find(t, uid);

        if (u)
                return u;
        u = calloc(1, sizeof(UidEntry));
        if (!u)
                return NULL;
        u->uid = uid;
        if (uid == PW_UID_INVALID)
                t->uid_invalid = u;
        else if (pidmap_put(&t->uids, (int32_t) (uid + 1U), u) < 0) {
                free(u);
                return NULL;
        }
        return u;
}

static bool uid_bitten(const PwUidBudget *u) {
        return u->evicted > 0 || u->argv_cut > 0 || u->strings_dropped > 0;
}

static bool uid_empty(const PwUidBudget *u) {
        return u->bytes == 0 && u->n_retained == 0 && !uid_bitten(u);
}

/* Frees the entries of uids that hold nothing and lost nothing. */
static void uid_gc(ProcTree *t) {
        PwUidBudget *u;
        int32_t key;

        for (size_t i = 0; pidmap_next(&t->uids, &i, &key, (void **) &u);)
                if (uid_empty(u)) {
                        (void) pidmap_remove(&t->uids, key);
                        free(u);
                        i = 0; /* removal may move entries */
                }
        if (t->uid_invalid && uid_empty(t->uid_invalid))
                t->uid_invalid = mfree(t->uid_invalid);
}

size_t proctree_uid_share_bytes(const ProcTree *t, uint32_t uid) {
        unsigned pct = t->limits.uid_share_percent ?: PROCTREE_UID_SHARE_PERCENT_DEFAULT;

        if (uid == 0 || pct >= 100)
                return SIZE_MAX;
        return t->limits.string_budget / 100U * pct + t->limits.string_budget % 100U * pct / 100U;
}

unsigned proctree_uid_share_count(const ProcTree *t, uint32_t uid) {
        unsigned pct = t->limits.uid_share_percent ?: PROCTREE_UID_SHARE_PERCENT_DEFAULT;

        if (uid == 0 || pct >= 100)
                return UINT_MAX;
        return (unsigned) ((uint64_t) t->limits.retain_count * pct / 100U);
}

const PwUidBudget *proctree_uid_budget(const ProcTree *t, uint32_t uid) {
        return uid_find(t, uid);
}

void proctree_foreach_uid(const ProcTree *t, bool (*f)(const PwUidBudget *u, void *userdata), void *userdata) {
        PwUidBudget *u;
        int32_t key;

        for (size_t i = 0; pidmap_next(&t->uids, &i, &key, (void **) &u);)
                if (!f(u, userdata))
                        return;
        if (t->uid_invalid)
                (void) f(t->uid_invalid, userdata);
}

/* Keeps the max heaviest by weight in ret (sorted, heaviest first); returns how many had weight. */
static size_t top_insert(const PwUidBudget **ret, size_t max, size_t n, const PwUidBudget *u, uint64_t w,
                         uint64_t (*weight)(const PwUidBudget *u)) {
        size_t k = MIN(n, max);

        if (w == 0)
                return n;
        if (k < max)
                ret[k++] = u;
        else if (max > 0 && w > weight(ret[max - 1]))
                ret[max - 1] = u;
        else
                return n + 1;
        for (size_t j = k - 1; j > 0 && weight(ret[j]) > weight(ret[j - 1]); j--) {
                const PwUidBudget *x = ret[j];
                ret[j] = ret[j - 1];
                ret[j - 1] = x;
        }
        return n + 1;
}

static uint64_t bitten_weight(const PwUidBudget *u) {
        return u->evicted + u->argv_cut + u->strings_dropped;
}

static uint64_t pending_weight(const PwUidBudget *u) {
        return u->pending_evicted + u->pending_argv_cut + u->pending_strings_dropped;
}

size_t proctree_uids_bitten(const ProcTree *t, const PwUidBudget **ret, size_t max) {
        PwUidBudget *u;
        int32_t key;
        size_t n = 0;

        for (size_t i = 0; pidmap_next(&t->uids, &i, &key, (void **) &u);)
                n = top_insert(ret, max, n, u, bitten_weight(u), bitten_weight);
        if (t->uid_invalid)
                n = top_insert(ret, max, n, t->uid_invalid, bitten_weight(t->uid_invalid), bitten_weight);
        return n;
}

static void pending_clear(PwUidBudget *u) {
        u->pending_evicted = u->pending_evicted_for_others = u->pending_argv_cut = u->pending_strings_dropped = 0;
}

size_t proctree_take_bitten(ProcTree *t, PwUidBudget *ret, size_t max) {
        const PwUidBudget *top[64];
        PwUidBudget *u;
        int32_t key;
        size_t n = 0;

        max = MIN(max, ELEMENTSOF(top));
        for (size_t i = 0; pidmap_next(&t->uids, &i, &key, (void **) &u);)
                n = top_insert(top, max, n, u, pending_weight(u), pending_weight);
        if (t->uid_invalid)
                n = top_insert(top, max, n, t->uid_invalid, pending_weight(t->uid_invalid), pending_weight);
        for (size_t i = 0; i < MIN(n, max); i++)
                ret[i] = *top[i];
        for (size_t i = 0; pidmap_next(&t->uids, &i, &key, (void **) &u);)
                pending_clear(u);
        if (t->uid_invalid)
                pending_clear(t->uid_invalid);
        return n;
}

/* --- strings ------------------------------------------------------------------------------------ */

/* A new string charged to uid (see "Budgets per uid" in proctree.h). */
static PwStr *str_new(ProcTree *t, uint32_t uid, const char *data, size_t len) {
        PwUidBudget *u;
        PwStr *s;

        if (!data)
                return NULL;
        u = uid_get(t, uid);
        if (!u)
                return NULL;
        s = malloc(sizeof(PwStr) + len + 1);
        if (!s)
                return NULL;
        s->ref = 1;
        s->uid = uid;
        s->len = len;
        memcpy(s->data, data, len);
        s->data[len] = '\0';
        t->bytes += len + 1;
        u->bytes += len + 1;
        return s;
}

static PwStr *str_ref(PwStr *s) {
        if (s)
                s->ref++;
        return s;
}

static void str_unref(ProcTree *t, PwStr *s) {
        PwUidBudget *u;

        if (!s || --s->ref > 0)
                return;
        t->bytes -= s->len + 1;
        u = uid_find(t, s->uid);
        if (u)
                u->bytes -= s->len + 1;
        free(s);
}

static void str_set(ProcTree *t, PwStr **field, PwStr *s) {
        str_unref(t, *field);
        *field = s;
}

/* --- lists ---------------------------------------------------------------------------------------- */

static void child_attach(PwProcess *parent, PwProcess *c) {
        c->links.parent = parent;
        c->links.prev_sibling = NULL;
        c->links.next_sibling = parent->links.first_child;
        if (parent->links.first_child)
                parent->links.first_child->links.prev_sibling = c;
        parent->links.first_child = c;
        parent->links.n_children++;
}

static void child_detach(PwProcess *c) {
        PwProcess *parent = c->links.parent;

        if (!parent)
                return;
        if (c->links.prev_sibling)
                c->links.prev_sibling->links.next_sibling = c->links.next_sibling;
        else
                parent->links.first_child = c->links.next_sibling;
        if (c->links.next_sibling)
                c->links.next_sibling->links.prev_sibling = c->links.prev_sibling;
        c->links.parent = c->links.prev_sibling = c->links.next_sibling = NULL;
        parent->links.n_children--;
}

static int queue_push(pid_t **q, size_t *n, size_t *alloc, pid_t pid) {
        for (size_t i = 0; i < *n; i++)
                if ((*q)[i] == pid)
                        return 0;
        if (*n == *alloc) {
                size_t na = *alloc ? *alloc * 2 : 16;
                pid_t *nq = realloc(*q, na * sizeof(pid_t));

                if (!nq)
                        return -ENOMEM;
                *q = nq;
                *alloc = na;
        }
        (*q)[(*n)++] = pid;
        return 0;
}

/* --- tasks ---------------------------------------------------------------------------------------- */

static void task_unlink(ProcTree *t, PwTask *k) {
        PwProcess *p = k->process;

        if (k->prev)
                k->prev->next = k->next;
        else
                p->links.tasks = k->next;
        if (k->next)
                k->next->prev = k->prev;
        p->n_tasks--;
        if (pidmap_get(&t->tasks, k->tid) == k)
                (void) pidmap_remove(&t->tasks, k->tid);
        free(k);
}

static int task_add(ProcTree *t, PwProcess *p, pid_t tid) {
        PwTask *k = pidmap_get(&t->tasks, tid);
        int r;

        if (k) {
                if (k->process == p)
                        return 0;
                /* A tid still filed under another process: that task is gone (tids are pids). */
                task_unlink(t, k);
        }
        k = calloc(1, sizeof(*k));
        if (!k)
                return -ENOMEM;
        k->tid = tid;
        k->process = p;
        r = pidmap_put(&t->tasks, tid, k);
        if (r < 0) {
                free(k);
                return r;
        }
        k->next = p->links.tasks;
        if (p->links.tasks)
                p->links.tasks->prev = k;
        p->links.tasks = k;
        p->n_tasks++;
        return 0;
}

static bool task_remove(ProcTree *t, PwProcess *p, pid_t tid) {
        PwTask *k = pidmap_get(&t->tasks, tid);

        if (!k || k->process != p)
                return false;
        task_unlink(t, k);
        return true;
}

static void tasks_clear(ProcTree *t, PwProcess *p) {
        while (p->links.tasks)
                task_unlink(t, p->links.tasks);
}

/* --- records ---------------------------------------------------------------------------------------- */

/* "PID:START_NS", as "%d:%llu" would write it: made for every process a storm forks, so not with
 * printf. */
static size_t put_u64(char *buf, uint64_t v) {
        char tmp[20];
        size_t n = 0, i = 0;

        do
                tmp[n++] = (char) ('0' + v % 10);
        while ((v /= 10) > 0);
        while (n > 0)
                buf[i++] = tmp[--n];
        return i;
}

static void set_id(PwProcess *p) {
        size_t o = 0;

        _Static_assert(sizeof(((PwProcess *) 0)->id) >= sizeof("-2147483648:18446744073709551615"), "id fits");
        if (p->pid < 0) {
                p->id[o++] = '-';
                o += put_u64(p->id + o, -(uint64_t) (int64_t) p->pid);
        } else
                o += put_u64(p->id + o, (uint64_t) p->pid);
        p->id[o++] = ':';
        o += put_u64(p->id + o, p->start_ns);
        p->id[o] = '\0';
}

static PwProcess *process_alloc(ProcTree *t, pid_t pid, uint64_t start_ns, PwSource source) {
        PwProcess *p = calloc(1, sizeof(*p));

        if (!p)
                return NULL;
        p->pid = pid;
        p->start_ns = start_ns;
        p->start_boot_ns = start_ns + t->boot_minus_mono_ns;
        p->source = source;
        set_id(p);
        if (pidmap_put(&t->live, pid, p) < 0) {
                free(p);
                return NULL;
        }
        t->n_live++;
        t->stats.processes_created++;
        return p;
}

static void process_free(ProcTree *t, PwProcess *p) {
        tasks_clear(t, p);
        str_unref(t, p->exe);
        str_unref(t, p->argv);
        str_unref(t, p->cgroup);
        str_unref(t, p->unit);
        str_unref(t, p->user_unit);
        free(p->comm_history);
        free(p->resources);
        free(p);
}

static void set_parent(ProcTree *t, PwProcess *p, pid_t ppid) {
        PwProcess *parent = ppid > 0 ? pidmap_get(&t->live, ppid) : NULL;

        child_detach(p);
        p->ppid = ppid;
        p->parent_start_ns = parent ? parent->start_ns : 0;
        if (parent && parent != p)
                child_attach(parent, p);
}

/* The pid is leaving the live map: its record is ended or displaced. */
static void live_remove(ProcTree *t, PwProcess *p) {
        if (pidmap_get(&t->live, p->pid) == p) {
                (void) pidmap_remove(&t->live, p->pid);
                t->n_live--;
        }
}

/* Files an exited record for retention, charged to its uid; out of memory for the uid's entry, it is
 * kept uncharged (on no uid's list), and goes by age or DropRetained. */
static void retained_link(ProcTree *t, PwProcess *p) {
        PwProcess *newest = pidmap_get(&t->retained, p->pid);
        PwUidBudget *u;

        /* Records end roughly in order; the chain is newest first by end. */
        p->links.older_same_pid = newest;
        p->links.newer_same_pid = NULL;
        if (newest)
                newest->links.newer_same_pid = p;
        (void) pidmap_put(&t->retained, p->pid, p);

        p->links.ret_prev = t->ret_tail;
        p->links.ret_next = NULL;
        if (t->ret_tail)
                t->ret_tail->links.ret_next = p;
        else
                t->ret_head = p;
        t->ret_tail = p;
        t->n_retained++;

        /* Charged to its real uid now; entries are never freed while records are charged. */
        p->links.ret_uid = p->uncertain & PW_UNCERTAIN_IDS ? PW_UID_INVALID : p->uid;
        u = uid_get(t, p->links.ret_uid);
        if (!u)
                return;
        p->links.uid_ret_prev = UID_LIST(u)->ret_tail;
        p->links.uid_ret_next = NULL;
        if (UID_LIST(u)->ret_tail)
                UID_LIST(u)->ret_tail->links.uid_ret_next = p;
        else
                UID_LIST(u)->ret_head = p;
        UID_LIST(u)->ret_tail = p;
        u->n_retained++;
}

static void retained_unlink(ProcTree *t, PwProcess *p) {
        PwUidBudget *u;

        if (p->links.ret_prev)
                p->links.ret_prev->links.ret_next = p->links.ret_next;
        else
                t->ret_head = p->links.ret_next;
        if (p->links.ret_next)
                p->links.ret_next->links.ret_prev = p->links.ret_prev;
        else
                t->ret_tail = p->links.ret_prev;
        p->links.ret_prev = p->links.ret_next = NULL;

        if (p->links.newer_same_pid)
                p->links.newer_same_pid->links.older_same_pid = p->links.older_same_pid;
        else if (p->links.older_same_pid)
                (void) pidmap_put(&t->retained, p->pid, p->links.older_same_pid);
        else
                (void) pidmap_remove(&t->retained, p->pid);
        if (p->links.older_same_pid)
                p->links.older_same_pid->links.newer_same_pid = p->links.newer_same_pid;
        p->links.older_same_pid = p->links.newer_same_pid = NULL;
        t->n_retained--;

        u = uid_find(t, p->links.ret_uid);
        if (u && (UID_LIST(u)->ret_head == p || p->links.uid_ret_prev)) {
                if (p->links.uid_ret_prev)
                        p->links.uid_ret_prev->links.uid_ret_next = p->links.uid_ret_next;
                else
                        UID_LIST(u)->ret_head = p->links.uid_ret_next;
                if (p->links.uid_ret_next)
                        p->links.uid_ret_next->links.uid_ret_prev = p->links.uid_ret_prev;
                else
                        UID_LIST(u)->ret_tail = p->links.uid_ret_prev;
                u->n_retained--;
        }
        p->links.uid_ret_prev = p->links.uid_ret_next = NULL;
}

static void evict(ProcTree *t, PwProcess *p) {
        retained_unlink(t, p);
        child_detach(p);
        /* Its children (exited or alive) keep ppid and parent_start_ns, lose the pointer. */
        while (p->links.first_child)
                child_detach(p->links.first_child);
        t->stats.evicted++;
        process_free(t, p);
}

typedef enum EvictReason {
        EVICT_COUNT,
        EVICT_BYTES,
} EvictReason;

/* The oldest record of u that may go: neither keep nor the pinned record. */
static PwProcess *first_evictable(const ProcTree *t, PwUidBudget *u, const PwProcess *keep) {
        PwProcess *p = UID_LIST(u)->ret_head;

        while (p && (p == keep || p == t->pinned))
                p = p->links.uid_ret_next;
        return p;
}

/* Evicts the oldest record of u (other than keep and the pinned one) over a limit, for the uid
 * `for_uid`, and counts it against u. Returns false when u has no such record. */
static bool evict_oldest_of(ProcTree *t, PwUidBudget *u, const PwProcess *keep, uint32_t for_uid, EvictReason why) {
        PwProcess *p = first_evictable(t, u, keep);

        if (!p)
                return false;
        evict(t, p);
        if (why == EVICT_BYTES)
                t->stats.evicted_for_bytes++;
        u->evicted++;
        u->pending_evicted++;
        if (u->uid != for_uid) {
                u->evicted_for_others++;
                u->pending_evicted_for_others++;
                t->stats.evicted_for_others++;
        }
        return true;
}

/* Under the total limit, whose record goes so that uid self, holding `need` once served, gets room:
 * the uid holding the most among those holding more than `need`, else self (NULL: nobody needs room,
 * the uid holding the most). Weights
 * are bytes (EVICT_BYTES) or retained records (EVICT_COUNT); only uids with records (other than keep and
 * the pinned one) to give qualify. NULL: nobody may give one up. */
static PwUidBudget *pick_victim(ProcTree *t, PwUidBudget *self, uint64_t need, const PwProcess *keep, EvictReason why) {
        PwUidBudget *u, *best = NULL;
        uint64_t best_w = 0;
        int32_t key;
        size_t i = 0;

        for (bool more = true; more;) {
                uint64_t w;

                if (!pidmap_next(&t->uids, &i, &key, (void **) &u)) {
                        more = false;
                        u = t->uid_invalid;
                        if (!u)
                                break;
                }
                if (u == self || !first_evictable(t, u, keep))
                        continue;
                w = why == EVICT_BYTES ? u->bytes : u->n_retained;
                if (w > need && (!best || w > best_w)) {
                        best = u;
                        best_w = w;
                }
        }
        if (best)
                return best;
        if (self && first_evictable(t, self, keep))
                return self;
        return NULL;
}

static void clear_tracees(ProcTree *t, PwProcess *tracer) {
        PwProcess *p;
        int32_t key;

        if (tracer->n_tracees == 0)
                return;
        /* No event says the tracer died; rare enough to scan. */
        for (size_t i = 0; pidmap_next(&t->live, &i, &key, (void **) &p);)
                if (p->tracer == tracer->pid)
                        p->tracer = 0;
        tracer->n_tracees = 0;
}

static void set_tracer(ProcTree *t, PwProcess *p, pid_t tracer) {
        PwProcess *old = p->tracer > 0 ? pidmap_get(&t->live, p->tracer) : NULL, *nt;

        if (old && old->n_tracees > 0)
                old->n_tracees--;
        p->tracer = tracer;
        nt = tracer > 0 ? pidmap_get(&t->live, tracer) : NULL;
        if (nt)
                nt->n_tracees++;
}

/* Ends a live (or displaced) record: files it for retention and queues its live children, whom the
 * kernel has already reparented, for a /proc read. */
static void process_end(ProcTree *t, PwProcess *p, uint64_t exit_ns, uint32_t code, bool uncertain) {
        PwUidBudget *u;

        if (p->exited)
                return;
        if (p->displaced)
                (void) pidmap_remove(&t->displaced, p->pid);
        else
                live_remove(t, p);
        p->displaced = false;
        p->exited = true;
        p->exit_ns = exit_ns;
        p->exit_code = code;
        if (uncertain)
                p->uncertain |= PW_UNCERTAIN_EXIT;
        tasks_clear(t, p);
        set_tracer(t, p, 0);
        clear_tracees(t, p);
        for (PwProcess *c = p->links.first_child; c; c = c->links.next_sibling)
                if (pw_process_alive(c))
                        (void) queue_push(&t->reparent, &t->n_reparent, &t->alloc_reparent, c->pid);
        t->stats.processes_exited++;
        retained_link(t, p);
        /* The count bounds hold at every moment, not only when the caller expires by age; the record
         * just ended survives until the next one (the caller may still forward it). First its uid's
         * share, from its own records; then the total, from whoever holds more. */
        u = uid_find(t, p->links.ret_uid);
        if (!u) {
                while (t->n_retained > t->limits.retain_count && t->ret_head && t->ret_head != p &&
                       t->ret_head != t->pinned)
                        evict(t, t->ret_head);
                return;
        }
        while (u->n_retained > proctree_uid_share_count(t, u->uid))
                if (!evict_oldest_of(t, u, p, u->uid, EVICT_COUNT))
                        break;
        while (t->n_retained > t->limits.retain_count) {
                PwUidBudget *v = pick_victim(t, u, u->n_retained, p, EVICT_COUNT);

                if (!v || !evict_oldest_of(t, v, p, u->uid, EVICT_COUNT))
                        break;
        }
}

/* The pid of a live record now belongs to a new process: the old one is gone, its EXIT may follow. */
static void process_displace(ProcTree *t, PwProcess *p) {
        PwProcess *older = pidmap_get(&t->displaced, p->pid);

        /* Only one displaced record per pid is kept waiting; an older one ends now, status unknown. */
        if (older)
                process_end(t, older, p->first_seen_ns ?: p->start_ns, 0, true);
        live_remove(t, p);
        tasks_clear(t, p);
        p->displaced = true;
        (void) pidmap_put(&t->displaced, p->pid, p);
        t->stats.displaced++;
}

static PwProcess *placeholder(ProcTree *t, pid_t tgid, uint64_t ts_ns, bool want_read) {
        PwProcess *p = process_alloc(t, tgid, ts_ns, PW_SOURCE_PLACEHOLDER);

        if (!p)
                return NULL;
        p->first_seen_ns = ts_ns;
        p->uncertain = PW_UNCERTAIN_START | PW_UNCERTAIN_PARENT | PW_UNCERTAIN_IMAGE | PW_UNCERTAIN_IDS;
        t->stats.placeholders++;
        /* A /proc read completes it, if it is still there. */
        if (want_read)
                (void) queue_push(&t->enrich, &t->n_enrich, &t->alloc_enrich, tgid);
        return p;
}

static PwProcess *get_or_placeholder(ProcTree *t, pid_t tgid, uint64_t ts_ns) {
        PwProcess *p = pidmap_get(&t->live, tgid);
        return p ?: placeholder(t, tgid, ts_ns, true);
}

/* --- events ---------------------------------------------------------------------------------------- */

/* One tick of /proc's starttime, in ns, at the usual USER_HZ: the tolerance for start-up overlap. */
#define START_TOLERANCE_NS (10ULL * 1000ULL * 1000ULL + 1000ULL * 1000ULL)

static bool close_ns(uint64_t a, uint64_t b, uint64_t tol) {
        return a > b ? a - b <= tol : b - a <= tol;
}

static int apply_fork(ProcTree *t, const PwEvent *ev, PwApplyResult *res) {
        pid_t pid = ev->fork.child_tgid;
        PwProcess *p, *parent;

        if (ev->fork.child_pid != ev->fork.child_tgid) {
                /* A thread: it joins its process (not fork.parent_*, which name the process's parent). */
                p = get_or_placeholder(t, pid, ev->timestamp_ns);
                if (!p)
                        return -ENOMEM;
                res->process = p;
                res->thread = true;
                return task_add(t, p, ev->fork.child_pid);
        }

        p = pidmap_get(&t->live, pid);
        if (p) {
                if (p->source == PW_SOURCE_PLACEHOLDER && p->first_seen_ns >= ev->timestamp_ns) {
                        /* Its own events overtook its FORK (another CPU): complete the placeholder. */
                        p->start_ns = ev->timestamp_ns;
                        p->start_boot_ns = ev->timestamp_ns + t->boot_minus_mono_ns;
                        p->source = PW_SOURCE_EVENT;
                        p->uncertain &= ~(unsigned) (PW_UNCERTAIN_START | PW_UNCERTAIN_PARENT);
                        set_id(p);
                        set_parent(t, p, ev->fork.parent_tgid);
                        res->process = p;
                        res->process_started = true;
                        return task_add(t, p, pid);
                }
                if (p->source != PW_SOURCE_PLACEHOLDER && close_ns(p->start_ns, ev->timestamp_ns, START_TOLERANCE_NS)) {
                        /* Already known from the /proc scan that overlapped this FORK. */
                        t->stats.duplicate_forks++;
                        res->process = p;
                        return 0;
                }
                process_displace(t, p);
        }

        p = process_alloc(t, pid, ev->timestamp_ns, PW_SOURCE_EVENT);
        if (!p)
                return -ENOMEM;
        set_parent(t, p, ev->fork.parent_tgid);
        parent = p->links.parent;
        if (parent) {
                /* fork() copies the image, the ids and the session. */
                memcpy(p->comm, parent->comm, sizeof(p->comm));
                p->exe = str_ref(parent->exe);
                p->argv = str_ref(parent->argv);
                p->argv_truncated = parent->argv_truncated;
                p->cgroup = str_ref(parent->cgroup);
                p->unit = str_ref(parent->unit);
                p->user_unit = str_ref(parent->user_unit);
                p->uid = parent->uid;
                p->euid = parent->euid;
                p->gid = parent->gid;
                p->egid = parent->egid;
                p->suid = parent->suid;
                p->sgid = parent->sgid;
                p->dumpable = parent->dumpable;
                p->creds_read = parent->creds_read;
                p->sid = parent->sid;
                p->uncertain |= parent->uncertain & (PW_UNCERTAIN_IMAGE | PW_UNCERTAIN_IDS);
        } else
                p->uncertain |= PW_UNCERTAIN_IMAGE | PW_UNCERTAIN_IDS;
        res->process = p;
        res->process_started = true;
        return task_add(t, p, pid);
}

static int apply_exec(ProcTree *t, const PwEvent *ev, PwApplyResult *res) {
        PwProcess *p = get_or_placeholder(t, ev->exec.tgid, ev->timestamp_ns);
        PwTask *keep;
        int r;

        if (!p)
                return -ENOMEM;
        res->process = p;
        /* Exec recomputes dumpability and makes the saved ids the effective ones (a set-id image's
         * new ids came before, as UID and GID events from commit_creds()): not read until the image
         * is (pipeline.c, exec_ids()). */
        p->creds_read = false;
        /* Every other thread is gone; the exec'ing thread now holds the tgid. */
        keep = pidmap_get(&t->tasks, ev->exec.tgid);
        while (p->links.tasks) {
                if (p->links.tasks == keep && !p->links.tasks->next)
                        break;
                task_unlink(t, p->links.tasks == keep ? p->links.tasks->next : p->links.tasks);
        }
        r = task_add(t, p, ev->exec.tgid);
        if (r < 0)
                return r;
        p->leader_exited = false;
        p->n_execs++;
        /* The old image is no longer what runs; the new one is read from /proc. */
        str_set(t, &p->exe, NULL);
        str_set(t, &p->argv, NULL);
        p->argv_truncated = false;
        p->uncertain |= PW_UNCERTAIN_IMAGE;
        return queue_push(&t->enrich, &t->n_enrich, &t->alloc_enrich, p->pid);
}

static int apply_exit(ProcTree *t, const PwEvent *ev, PwApplyResult *res) {
        pid_t tid = ev->exit.pid, tgid = ev->exit.tgid;
        PwProcess *p, *old;

        if (tid == tgid) {
                /* The late EXIT of a process whose pid was already reused. */
                old = pidmap_get(&t->displaced, tgid);
                if (old) {
                        process_end(t, old, ev->timestamp_ns, ev->exit.code, false);
                        res->process = old;
                        res->process_ended = true;
                        return 0;
                }
        }

        p = pidmap_get(&t->live, tgid);
        if (!p) {
                old = pidmap_get(&t->retained, tgid);
                if (old && old->exit_ns == ev->timestamp_ns) {
                        t->stats.duplicate_exits++;
                        return 0;
                }
                if (old && (old->uncertain & PW_UNCERTAIN_EXIT) && tid == tgid &&
                    ev->timestamp_ns >= old->start_ns) {
                        /* Ended by a reconciliation that ran before this EXIT was read: now we know. */
                        old->exit_ns = ev->timestamp_ns;
                        old->exit_code = ev->exit.code;
                        old->uncertain &= ~(unsigned) PW_UNCERTAIN_EXIT;
                        res->process = old;
                        res->process_ended = true;
                        return 0;
                }
                if (tid != tgid)
                        return 0; /* a thread of a process we never knew; its process will show up */
                /* An unknown process ended: keep what the event says. */
                p = placeholder(t, tgid, ev->timestamp_ns, false); /* nothing left to read */
                if (!p)
                        return -ENOMEM;
                if (ev->exit.parent_tgid > 0)
                        set_parent(t, p, ev->exit.parent_tgid);
                process_end(t, p, ev->timestamp_ns, ev->exit.code, false);
                res->process = p;
                res->process_ended = true;
                return 0;
        }

        res->process = p;
        res->thread = tid != tgid;

        if (!task_remove(t, p, tid)) {
                if (tid != tgid || p->leader_exited) {
                        t->stats.duplicate_exits++;
                        return 0;
                }
        }
        if (tid == tgid)
                p->leader_exited = true;
        p->last_task_code = ev->exit.code;
        if (p->n_tasks == 0) {
                process_end(t, p, ev->timestamp_ns, ev->exit.code, false);
                res->process_ended = true;
        }
        return 0;
}

static int apply_one(ProcTree *t, const PwEvent *ev, PwApplyResult *res);

int proctree_apply(ProcTree *t, const PwEvent *ev, PwApplyResult *ret) {
        PwApplyResult ignored, *res = ret ?: &ignored;
        int r;

        /* The previous event's record and orders are done with. */
        t->pinned = NULL;
        t->n_enrich = t->n_reparent = 0;
        *res = (PwApplyResult){};
        r = apply_one(t, ev, res);
        t->pinned = res->process;
        res->enrich = t->enrich;
        res->n_enrich = t->n_enrich;
        res->reparent = t->reparent;
        res->n_reparent = t->n_reparent;
        return r;
}

static int apply_one(ProcTree *t, const PwEvent *ev, PwApplyResult *res) {
        PwProcess *p;
        pid_t tgid = pw_event_tgid(ev);

        switch (ev->kind) {
        case PW_EVENT_FORK:
                return apply_fork(t, ev, res);
        case PW_EVENT_EXEC:
                return apply_exec(t, ev, res);
        case PW_EVENT_EXIT:
                return apply_exit(t, ev, res);
        case PW_EVENT_NONE:
                return 0;
        default:
                break;
        }

        p = get_or_placeholder(t, tgid, ev->timestamp_ns);
        if (!p)
                return -ENOMEM;
        res->process = p;
        switch (ev->kind) {
        case PW_EVENT_UID:
                p->uid = ev->id.real;
                p->euid = ev->id.effective;
                p->creds_read = false;
                break;
        case PW_EVENT_GID:
                p->gid = ev->id.real;
                p->egid = ev->id.effective;
                p->creds_read = false;
                break;
        case PW_EVENT_SID:
                p->sid = tgid;
                break;
        case PW_EVENT_PTRACE:
                set_tracer(t, p, ev->ptrace.tracer_tgid);
                break;
        case PW_EVENT_COMM:
                /* A thread's name is not its process's name. */
                if (ev->comm.pid != ev->comm.tgid) {
                        res->thread = true;
                        break;
                }
                if (!p->comm_history)
                        p->comm_history = calloc(PROCTREE_COMM_HISTORY_MAX, sizeof(PwCommChange));
                if (p->comm_history) {
                        if (p->n_comm_history == PROCTREE_COMM_HISTORY_MAX) {
                                memmove(p->comm_history, p->comm_history + 1,
                                        sizeof(PwCommChange) * (PROCTREE_COMM_HISTORY_MAX - 1));
                                p->n_comm_history--;
                        }
                        p->comm_history[p->n_comm_history] = (PwCommChange){ .ts_ns = ev->timestamp_ns };
                        memcpy(p->comm_history[p->n_comm_history].old_comm, p->comm, sizeof(p->comm));
                        memcpy(p->comm_history[p->n_comm_history].new_comm, ev->comm.comm, sizeof(p->comm));
                        p->n_comm_history++;
                }
                p->n_comm_changes++;
                memcpy(p->comm, ev->comm.comm, sizeof(p->comm));
                break;
        case PW_EVENT_COREDUMP:
                p->coredumped = true;
                break;
        default:
                break;
        }
        return 0;
}

/* --- /proc ---------------------------------------------------------------------------------------- */

/* Makes room for `want` more bytes charged to uid (see "Budgets per uid" in proctree.h) and returns
 * the room there is, which may be less. */
static size_t budget_room(ProcTree *t, PwUidBudget *u, size_t want) {
        size_t share = proctree_uid_share_bytes(t, u->uid), room;

        while (u->bytes + want > share)
                if (!evict_oldest_of(t, u, NULL, u->uid, EVICT_BYTES))
                        break;
        while (t->bytes + want > t->limits.string_budget) {
                PwUidBudget *v = pick_victim(t, u, (uint64_t) u->bytes + want, NULL, EVICT_BYTES);

                if (!v || !evict_oldest_of(t, v, NULL, u->uid, EVICT_BYTES))
                        break;
        }
        room = t->limits.string_budget > t->bytes ? t->limits.string_budget - t->bytes : 0;
        if (share != SIZE_MAX)
                room = MIN(room, share > u->bytes ? share - u->bytes : 0);
        return room;
}

/* exe, cgroup or unit: whole, or not at all when its uid has no room for it. */
static PwStr *budget_str(ProcTree *t, PwUidBudget *u, const char *s) {
        size_t len;

        if (!s)
                return NULL;
        len = strlen(s);
        if (budget_room(t, u, len + 1) < len + 1) {
                u->strings_dropped++;
                u->pending_strings_dropped++;
                t->stats.strings_dropped_budget++;
                return NULL;
        }
        return str_new(t, u->uid, s, len);
}

/* argv: whole, or cut at a word boundary to the room its uid has (marked truncated). */
static PwStr *budget_argv(ProcTree *t, PwUidBudget *u, const char *argv, size_t len, bool *truncated) {
        size_t room = budget_room(t, u, len + 1);

        if (room < len + 1) {
                /* Cut at a word boundary inside what fits, so the kept words are whole. */
                while (room > 0 && argv[room - 1] != '\0')
                        room--;
                len = room > 0 ? room - 1 : 0;
                *truncated = true;
                u->argv_cut++;
                u->pending_argv_cut++;
                t->stats.argv_truncated_budget++;
                if (len == 0)
                        return NULL;
        }
        return str_new(t, u->uid, argv, len);
}

static void set_image(ProcTree *t, PwProcess *p, const PwProcInfo *info) {
        bool trunc = info->argv_truncated;
        size_t alen = info->argv_len;
        uint32_t uid = info->have_status ? info->uid : p->uncertain & PW_UNCERTAIN_IDS ? PW_UID_INVALID : p->uid;
        PwUidBudget *u;

        /* The old image goes first: what it held is not the new one's to pay for. */
        str_set(t, &p->exe, NULL);
        str_set(t, &p->argv, NULL);
        str_set(t, &p->cgroup, NULL);
        str_set(t, &p->unit, NULL);
        str_set(t, &p->user_unit, NULL);
        /* The stored form drops the final NUL; the words stay NUL-separated. */
        if (info->argv && alen > 0 && info->argv[alen - 1] == '\0')
                alen--;
        u = uid_get(t, uid);
        if (u) {
                /* The short strings that say what runs where before the long one. */
                p->exe = budget_str(t, u, info->exe);
                p->cgroup = budget_str(t, u, info->cgroup);
                p->unit = budget_str(t, u, info->unit);
                p->user_unit = budget_str(t, u, info->user_unit);
                p->argv = info->argv ? budget_argv(t, u, info->argv, alen, &trunc) : NULL;
        }
        p->argv_truncated = trunc;
        if (info->stat.comm[0] || !p->comm[0])
                memcpy(p->comm, info->stat.comm, sizeof(p->comm));
        if (info->have_status) {
                p->uid = info->uid;
                p->euid = info->euid;
                p->gid = info->gid;
                p->egid = info->egid;
                p->suid = info->suid;
                p->sgid = info->sgid;
                p->dumpable = info->dumpable;
                p->creds_read = true;
                p->uncertain &= ~(unsigned) PW_UNCERTAIN_IDS;
        }
        p->kthread = info->kthread;
        p->sid = info->stat.sid;
        /* Kernel threads have no image to read; anything else counts as read when argv or exe came. */
        if (info->kthread || info->exe || info->argv)
                p->uncertain &= ~(unsigned) PW_UNCERTAIN_IMAGE;
}

static int set_tasks(ProcTree *t, PwProcess *p, const PwProcInfo *info) {
        /* Without a task list, assume the leader: it is there unless it exited first. */
        if (!info->tids)
                return p->n_tasks == 0 ? task_add(t, p, p->pid) : 0;
        tasks_clear(t, p);
        for (size_t i = 0; i < info->n_tids; i++) {
                int r = task_add(t, p, info->tids[i]);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* The margin for sampling BOOTTIME - MONOTONIC when a placeholder's bound is compared with /proc. */
#define PLACEHOLDER_EPSILON_NS (1000ULL * 1000ULL)

/* A placeholder stands for the process that held its pid when the event that made it was sent: its
 * start_boot_ns is that event's time, a bound the real start cannot exceed (/proc also rounds starts
 * down to a tick). A process /proc shows as started later got the pid after the placeholder's own
 * process was reaped, and must lend it neither its start time nor its image. */
static bool placeholder_may_be(const PwProcess *p, uint64_t start_boot_ns) {
        return start_boot_ns <= p->start_boot_ns + PLACEHOLDER_EPSILON_NS;
}

bool proctree_read_matches(const ProcTree *t, pid_t pid, uint64_t start_boot_ns, uint64_t hz) {
        PwProcess *p = pidmap_get(&t->live, pid);

        if (!p)
                return false;
        if (p->source == PW_SOURCE_PLACEHOLDER)
                return placeholder_may_be(p, start_boot_ns);
        return pw_start_matches(p->start_boot_ns, start_boot_ns, hz);
}

static int add_from_proc(ProcTree *t, const PwProcInfo *info, PwSource source, uint64_t hz) {
        pid_t pid = info->stat.pid;
        PwProcess *p = pidmap_get(&t->live, pid);
        int r;

        if (p && p->source == PW_SOURCE_PLACEHOLDER && placeholder_may_be(p, info->start_boot_ns)) {
                /* Complete what the events began. */
                p->start_ns = info->start_ns;
                p->start_boot_ns = info->start_boot_ns;
                p->source = source;
                p->uncertain &= ~(unsigned) (PW_UNCERTAIN_START | PW_UNCERTAIN_PARENT);
                set_id(p);
        } else if (p && p->source != PW_SOURCE_PLACEHOLDER && pw_start_matches(p->start_boot_ns, info->start_boot_ns, hz)) {
                /* Known already: /proc fills in what the events could not say. */
        } else {
                if (p)
                        process_displace(t, p);
                p = process_alloc(t, pid, info->start_ns, source);
                if (!p)
                        return -ENOMEM;
                p->start_boot_ns = info->start_boot_ns;
                if (source == PW_SOURCE_RECONCILED)
                        t->stats.reconciled_added++;
        }
        if (p->ppid != info->stat.ppid || !p->links.parent)
                set_parent(t, p, info->stat.ppid);
        set_image(t, p, info);
        r = set_tasks(t, p, info);
        return r;
}

int proctree_add_from_proc(ProcTree *t, const PwProcInfo *info, PwSource source, uint64_t hz) {
        /* A read of its own, not the enrichment of an event: the event's record is done with. */
        t->pinned = NULL;
        return add_from_proc(t, info, source, hz);
}

void proctree_release(ProcTree *t) {
        t->pinned = NULL;
}

int proctree_enrich(ProcTree *t, const PwProcInfo *info, uint64_t hz) {
        PwProcess *p = pidmap_get(&t->live, info->stat.pid);

        /* The read went through a /proc/PID fd whose stat gave this start time: it is that process's
         * image, and only the record of that process takes it. */
        if (!p || !proctree_read_matches(t, info->stat.pid, info->start_boot_ns, hz))
                return -ESRCH;
        if (p->source == PW_SOURCE_PLACEHOLDER)
                return add_from_proc(t, info, PW_SOURCE_RECONCILED, hz);
        set_image(t, p, info);
        return 0;
}

/* A child forked (seen by its FORK) while its parent's image was still being read, which has not
 * exec'ed since: it runs the image its parent had, and shares it as fork() does. */
static bool awaits_parent_image(const PwProcess *c) {
        return pw_process_alive(c) && c->source == PW_SOURCE_EVENT && c->n_execs == 0 && !c->exe && !c->argv &&
               (c->uncertain & PW_UNCERTAIN_IMAGE);
}

static PwProcess *next_awaiting(PwProcess *c) {
        while (c && !awaits_parent_image(c))
                c = c->links.next_sibling;
        return c;
}

/* Hands p's image down to the descendants that await it, walking the tree's links (no recursion: a
 * fork chain may be deep). */
static void share_image_down(PwProcess *p) {
        PwProcess *c = next_awaiting(p->links.first_child);

        while (c) {
                PwProcess *parent = c->links.parent, *down;

                c->exe = str_ref(parent->exe);
                c->argv = str_ref(parent->argv);
                c->argv_truncated = parent->argv_truncated;
                c->uncertain &= ~(unsigned) PW_UNCERTAIN_IMAGE;
                down = next_awaiting(c->links.first_child);
                if (down) {
                        c = down;
                        continue;
                }
                for (;;) {
                        PwProcess *s;

                        if (c == p)
                                return;
                        s = next_awaiting(c->links.next_sibling);
                        if (s) {
                                c = s;
                                break;
                        }
                        c = c->links.parent;
                }
        }
}

int proctree_set_image(ProcTree *t, const PwProcInfo *info, unsigned n_execs, uint64_t hz) {
        PwProcess *p = pidmap_get(&t->live, info->stat.pid);
        bool trunc = info->argv_truncated;
        size_t alen = info->argv_len;
        PwUidBudget *u;

        /* Read off the loop, maybe long after it was ordered: only the same process, and only if no
         * exec has replaced the image since (that exec's own read has the newer one). */
        if (!p || p->source == PW_SOURCE_PLACEHOLDER || p->n_execs != n_execs ||
            !pw_start_matches(p->start_boot_ns, info->start_boot_ns, hz))
                return -ESRCH;
        str_set(t, &p->exe, NULL);
        str_set(t, &p->argv, NULL);
        if (info->argv && alen > 0 && info->argv[alen - 1] == '\0')
                alen--;
        u = uid_get(t, p->uncertain & PW_UNCERTAIN_IDS ? PW_UID_INVALID : p->uid);
        if (u) {
                p->exe = budget_str(t, u, info->exe);
                p->argv = info->argv ? budget_argv(t, u, info->argv, alen, &trunc) : NULL;
        }
        p->argv_truncated = trunc;
        if (info->kthread || info->exe || info->argv) {
                p->uncertain &= ~(unsigned) PW_UNCERTAIN_IMAGE;
                share_image_down(p);
        }
        return 0;
}

void proctree_mark_unreadable(ProcTree *t, pid_t pid, uint64_t start_boot_ns) {
        PwProcess *p = pidmap_get(&t->live, pid);

        /* Keep what the events gave; say the image is missing. */
        if (p && (start_boot_ns == 0 || p->start_boot_ns == start_boot_ns))
                p->uncertain |= PW_UNCERTAIN_IMAGE;
}

int proctree_name_exe(ProcTree *t, PwProcess *p, const char *path) {
        PwUidBudget *u;

        if (!p || !path || p->exe || p->n_execs == 0)
                return 0;
        u = uid_get(t, p->uncertain & PW_UNCERTAIN_IDS ? PW_UID_INVALID : p->uid);
        if (!u)
                return -ENOMEM;
        p->exe = budget_str(t, u, path);
        return p->exe ? 1 : -ENOSPC;
}

void proctree_set_parent(ProcTree *t, pid_t pid, pid_t new_ppid) {
        PwProcess *p = pidmap_get(&t->live, pid);

        if (!p)
                return;
        if (new_ppid <= 0) {
                new_ppid = 1;
                p->uncertain |= PW_UNCERTAIN_PARENT;
        }
        if (new_ppid == p->ppid && p->links.parent && pw_process_alive(p->links.parent))
                return;
        if (p->original_ppid == 0) {
                p->original_ppid = p->ppid;
                p->original_parent_start_ns = p->parent_start_ns;
        }
        set_parent(t, p, new_ppid);
}

/* A process whose every task has exited and which waits to be reaped: /proc still lists it (state Z
 * or X), but it will never send another event. A zombie leader with live threads is not one. */
static bool only_zombie(const PwProcInfo *info) {
        return (info->stat.state == 'Z' || info->stat.state == 'X') && info->n_tids <= 1;
}

int proctree_reconcile(ProcTree *t, const PwProcInfo *snapshot, size_t n, uint64_t now_ns, uint64_t hz,
                       PwSource source, unsigned *ended, unsigned *added) {
        PidMap snap = {};
        PwProcess *p, **gone = NULL;
        size_t n_gone = 0, i;
        unsigned n_added = 0;
        int32_t key;
        int r = 0;

        t->pinned = NULL;
        for (i = 0; i < n; i++) {
                r = pidmap_put(&snap, snapshot[i].stat.pid, (void *) &snapshot[i]);
                if (r < 0)
                        goto finish;
        }

        /* Live records /proc no longer has (or has with another start): they ended unseen. */
        gone = calloc(t->n_live + t->displaced.count + 1, sizeof(PwProcess *));
        if (!gone) {
                r = -ENOMEM;
                goto finish;
        }
        for (i = 0; pidmap_next(&t->live, &i, &key, (void **) &p);) {
                const PwProcInfo *info = pidmap_get(&snap, key);

                if (!info || only_zombie(info) || !proctree_read_matches(t, key, info->start_boot_ns, hz))
                        gone[n_gone++] = p;
        }
        for (i = 0; pidmap_next(&t->displaced, &i, &key, (void **) &p);)
                gone[n_gone++] = p;
        for (i = 0; i < n_gone; i++) {
                process_end(t, gone[i], now_ns, 0, true);
                t->stats.reconciled_ended++;
        }

        /* What /proc has that the tree lacks (or has only as a placeholder). */
        for (i = 0; i < n; i++) {
                p = pidmap_get(&t->live, snapshot[i].stat.pid);
                if (p && p->source != PW_SOURCE_PLACEHOLDER) {
                        r = set_tasks(t, p, &snapshot[i]);
                        if (r < 0)
                                goto finish;
                        continue;
                }
                if (only_zombie(&snapshot[i])) {
                        /* Dead, not yet reaped: already ended in the tree, or ended now with what we
                         * know (its EXIT, if still queued, fills in the status). */
                        PwProcess *old = pidmap_get(&t->retained, snapshot[i].stat.pid);

                        if (old && pw_start_matches(old->start_boot_ns, snapshot[i].start_boot_ns, hz))
                                continue;
                }
                r = add_from_proc(t, &snapshot[i], source, hz);
                if (r < 0)
                        goto finish;
                n_added++;
                if (only_zombie(&snapshot[i])) {
                        p = pidmap_get(&t->live, snapshot[i].stat.pid);
                        if (p)
                                process_end(t, p, now_ns, 0, true);
                }
        }
        /* Parents may have been added after their children. */
        for (i = 0; i < n; i++) {
                p = pidmap_get(&t->live, snapshot[i].stat.pid);
                if (p && !p->links.parent && p->ppid > 0)
                        set_parent(t, p, p->ppid);
        }
        /* The orphans of what ended unseen: the snapshot says where the kernel moved them. */
        for (i = 0; i < t->n_reparent; i++) {
                const PwProcInfo *info = pidmap_get(&snap, t->reparent[i]);

                proctree_set_parent(t, t->reparent[i], info ? info->stat.ppid : 0);
        }
        r = 0;
finish:
        t->n_reparent = t->n_enrich = 0;
        if (ended)
                *ended = (unsigned) n_gone;
        if (added)
                *added = n_added;
        free(gone);
        pidmap_done(&snap);
        return r;
}

void proctree_expire(ProcTree *t, uint64_t now_ns) {
        t->pinned = NULL;
        /* Age first, oldest first, whoever owns them. */
        while (t->ret_head) {
                PwProcess *p = t->ret_head;

                if (!(now_ns > p->exit_ns && now_ns - p->exit_ns > t->limits.retain_age_ns))
                        break;
                evict(t, p);
        }
        /* Then the totals (lowered limits, strings that grew), from whoever holds the most. */
        while (t->n_retained > t->limits.retain_count) {
                PwUidBudget *v = pick_victim(t, NULL, 0, NULL, EVICT_COUNT);

                if (!v || !evict_oldest_of(t, v, NULL, v->uid, EVICT_COUNT))
                        break;
        }
        while (t->bytes > t->limits.string_budget) {
                PwUidBudget *v = pick_victim(t, NULL, 0, NULL, EVICT_BYTES);

                if (!v || !evict_oldest_of(t, v, NULL, v->uid, EVICT_BYTES))
                        break;
        }
        /* Records charged to no uid (out of memory when they ended) go by the count alone. */
        while (t->n_retained > t->limits.retain_count && t->ret_head)
                evict(t, t->ret_head);
        uid_gc(t);
}

unsigned proctree_drop_retained(ProcTree *t) {
        unsigned n = 0;

        t->pinned = NULL;
        for (; t->ret_head; n++)
                evict(t, t->ret_head);
        uid_gc(t);
        return n;
}

/* --- lookups and lifecycle ------------------------------------------------------------------------ */

bool proctree_in_subtree(const PwProcess *p, pid_t root, unsigned max_depth) {
        for (unsigned depth = 0; p && depth < max_depth; p = p->links.parent, depth++) {
                if (p->pid == root)
                        return true;
                if (!p->links.parent && p->ppid == root)
                        return true;
                if (p->links.parent == p)
                        break;
        }
        return false;
}

PwProcess *proctree_get_live(const ProcTree *t, pid_t pid) {
        return pidmap_get(&t->live, pid);
}

PwProcess *proctree_get(const ProcTree *t, pid_t pid) {
        PwProcess *p = pidmap_get(&t->live, pid);
        return p ?: pidmap_get(&t->retained, pid);
}

PwProcess *proctree_get_by_identity(const ProcTree *t, pid_t pid, uint64_t start_ns) {
        PwProcess *p = pidmap_get(&t->live, pid);

        if (p && p->start_ns == start_ns)
                return p;
        p = pidmap_get(&t->displaced, pid);
        if (p && p->start_ns == start_ns)
                return p;
        for (p = pidmap_get(&t->retained, pid); p; p = p->links.older_same_pid)
                if (p->start_ns == start_ns)
                        return p;
        return NULL;
}

PwProcess *proctree_get_by_id(const ProcTree *t, const char *id) {
        uint64_t start;
        int32_t pid;

        /* Strict: "4294967297:S", "+1:S" or " 1:S" must not name pid 1. */
        if (parse_process_id(id, &pid, &start) < 0)
                return NULL;
        return proctree_get_by_identity(t, pid, start);
}

static bool walk_map(const PidMap *m, ProcTreeVisit f, void *userdata) {
        PwProcess *p;
        int32_t key;

        for (size_t i = 0; pidmap_next(m, &i, &key, (void **) &p);)
                if (!f(p, userdata))
                        return false;
        return true;
}

bool proctree_foreach(const ProcTree *t, ProcTreeWalk which, ProcTreeVisit f, void *userdata) {
        if ((which & PROCTREE_WALK_LIVE) && !walk_map(&t->live, f, userdata))
                return false;
        if ((which & PROCTREE_WALK_DISPLACED) && !walk_map(&t->displaced, f, userdata))
                return false;
        if (which & PROCTREE_WALK_RETAINED)
                for (PwProcess *p = t->ret_head, *next; p; p = next) {
                        next = p->links.ret_next;
                        if (!f(p, userdata))
                                return false;
                }
        return true;
}

typedef struct Collect {
        PwProcess **v;
        size_t n, max;
} Collect;

static bool collect_one(PwProcess *p, void *userdata) {
        Collect *c = userdata;

        if (c->n == c->max)
                return false;
        c->v[c->n++] = p;
        return true;
}

size_t proctree_collect(const ProcTree *t, ProcTreeWalk which, PwProcess **v, size_t max) {
        Collect c = { .v = v, .max = max };

        (void) proctree_foreach(t, which, collect_one, &c);
        return c.n;
}

size_t proctree_collect_children(const PwProcess *p, PwProcess **v, size_t max) {
        Collect c = { .v = v, .max = max };

        (void) proctree_foreach_child(p, collect_one, &c);
        return c.n;
}

bool proctree_foreach_exited(const ProcTree *t, pid_t pid, ProcTreeVisit f, void *userdata) {
        for (PwProcess *p = pidmap_get(&t->retained, pid); p; p = p->links.older_same_pid)
                if (!f(p, userdata))
                        return false;
        return true;
}

bool proctree_foreach_child(const PwProcess *p, ProcTreeVisit f, void *userdata) {
        for (PwProcess *c = p->links.first_child; c; c = c->links.next_sibling)
                if (!f(c, userdata))
                        return false;
        return true;
}

unsigned proctree_n_children(const PwProcess *p) {
        return p->links.n_children;
}

PwProcess *proctree_parent(const PwProcess *p) {
        return p->links.parent;
}

void proctree_get_stats(const ProcTree *t, ProcTreeStats *ret) {
        *ret = t->stats;
        ret->live = t->n_live;
        ret->displaced_now = (unsigned) t->displaced.count;
        ret->retained = t->n_retained;
        ret->tasks = t->tasks.count;
        ret->string_bytes = t->bytes;
        ret->live_slots = t->live.size;
}

const ProcTreeLimits *proctree_get_limits(const ProcTree *t) {
        return &t->limits;
}

void proctree_set_limits(ProcTree *t, const ProcTreeLimits *limits) {
        t->limits = *limits;
}

void proctree_set_clock_offset(ProcTree *t, uint64_t boot_minus_mono_ns) {
        t->boot_minus_mono_ns = boot_minus_mono_ns;
}

void proctree_detach_copy(PwProcess *copy, const PwProcess *original, PwProcess *parent_copy) {
        copy->links = (PwProcessLinks){};
        if (parent_copy && original->links.parent) {
                *parent_copy = (PwProcess){ .pid = original->links.parent->pid };
                memcpy(parent_copy->comm, original->links.parent->comm, sizeof(parent_copy->comm));
                copy->links.parent = parent_copy;
        }
}

static bool verify_uid(PwUidBudget *u, const ProcTree *t) {
        unsigned n = 0;

        for (const PwProcess *p = UID_LIST(u)->ret_head; p; p = p->links.uid_ret_next, n++) {
                if (!p->exited || p->links.ret_uid != u->uid || n >= t->n_retained)
                        return false;
                if ((p->links.uid_ret_next ? p->links.uid_ret_next->links.uid_ret_prev : UID_LIST(u)->ret_tail) != p)
                        return false;
                if (p->links.uid_ret_next && p->exit_ns > p->links.uid_ret_next->exit_ns)
                        return false;
        }
        return u->n_retained == n;
}

int proctree_verify(const ProcTree *t) {
        unsigned n = 0;
        PwUidBudget *u;
        int32_t key;

        for (const PwProcess *p = t->ret_head; p; p = p->links.ret_next, n++)
                if (!p->exited || n >= t->n_retained ||
                    (p->links.ret_next ? p->links.ret_next->links.ret_prev : t->ret_tail) != p)
                        return -EUCLEAN;
        if (n != t->n_retained || t->live.count != t->n_live)
                return -EUCLEAN;
        for (size_t i = 0; pidmap_next(&t->uids, &i, &key, (void **) &u);)
                if (!verify_uid(u, t))
                        return -EUCLEAN;
        if (t->uid_invalid && !verify_uid(t->uid_invalid, t))
                return -EUCLEAN;
        return 0;
}

int proctree_new(ProcTree **ret, const ProcTreeLimits *limits) {
        ProcTree *t = calloc(1, sizeof(*t));

        if (!t)
                return -ENOMEM;
        t->limits = limits ? *limits
                           : (ProcTreeLimits){
                                     .retain_count = PROCTREE_RETAIN_COUNT_DEFAULT,
                                     .retain_age_ns = PROCTREE_RETAIN_AGE_NS_DEFAULT,
                                     .string_budget = PROCTREE_STRING_BUDGET_DEFAULT,
                             };
        *ret = t;
        return 0;
}

ProcTree *proctree_free(ProcTree *t) {
        PwUidBudget *u;
        PwProcess *p;
        int32_t key;

        if (!t)
                return NULL;
        while (t->ret_head)
                evict(t, t->ret_head);
        /* Detach first so that freeing in any order leaves no dangling sibling pointers. */
        for (size_t i = 0; pidmap_next(&t->displaced, &i, &key, (void **) &p);)
                process_free(t, p);
        for (size_t i = 0; pidmap_next(&t->live, &i, &key, (void **) &p);) {
                tasks_clear(t, p);
                str_unref(t, p->exe);
                str_unref(t, p->argv);
                str_unref(t, p->cgroup);
                str_unref(t, p->unit);
                str_unref(t, p->user_unit);
        }
        for (size_t i = 0; pidmap_next(&t->live, &i, &key, (void **) &p);) {
                free(p->comm_history);
                free(p->resources);
                free(p);
        }
        for (size_t i = 0; pidmap_next(&t->uids, &i, &key, (void **) &u);)
                free(u);
        free(t->uid_invalid);
        pidmap_done(&t->uids);
        pidmap_done(&t->live);
        pidmap_done(&t->tasks);
        pidmap_done(&t->retained);
        pidmap_done(&t->displaced);
        free(t->reparent);
        free(t->enrich);
        free(t);
        return NULL;
}
