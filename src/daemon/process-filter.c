/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The process filter (see process-filter.h). */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "macro.h"
#include "process-filter.h"

void pw_process_filter_init(PwProcessFilter *f) {
        *f = (PwProcessFilter){};
}

static void strv_clear(char **v, size_t *n) {
        for (size_t i = 0; i < *n; i++)
                v[i] = mfree(v[i]);
        *n = 0;
}

void pw_process_filter_done(PwProcessFilter *f) {
        if (!f)
                return;
        strv_clear(f->comms, &f->n_comms);
        strv_clear(f->units, &f->n_units);
        strv_clear(f->user_units, &f->n_user_units);
        pw_process_filter_init(f);
}

static int add_glob(char **v, size_t *n, const char *glob) {
        if (!glob)
                return -EINVAL;
        if (strnlen(glob, PW_PROCESS_FILTER_GLOB_MAX + 1) > PW_PROCESS_FILTER_GLOB_MAX)
                return -ENAMETOOLONG;
        if (*n >= PW_PROCESS_FILTER_VALUES_MAX)
                return -E2BIG;
        v[*n] = strdup(glob);
        if (!v[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

static int copy_globs(char **dv, size_t *dn, char *const *sv, size_t sn) {
        for (size_t i = 0; i < sn; i++) {
                int r = add_glob(dv, dn, sv[i]);

                if (r < 0)
                        return r;
        }
        return 0;
}

int pw_process_filter_copy(PwProcessFilter *dst, const PwProcessFilter *src) {
        int r;

        pw_process_filter_done(dst);
        dst->kinds = src->kinds;
        dst->threads = src->threads;
        dst->state = src->state;
        memcpy(dst->pids, src->pids, sizeof(dst->pids));
        dst->n_pids = src->n_pids;
        memcpy(dst->uids, src->uids, sizeof(dst->uids));
        dst->n_uids = src->n_uids;
        r = copy_globs(dst->comms, &dst->n_comms, src->comms, src->n_comms);
        if (r >= 0)
                r = copy_globs(dst->units, &dst->n_units, src->units, src->n_units);
        if (r >= 0)
                r = copy_globs(dst->user_units, &dst->n_user_units, src->user_units, src->n_user_units);
        if (r < 0)
                pw_process_filter_done(dst);
        return r;
}

int pw_process_filter_add_pid(PwProcessFilter *f, pid_t pid) {
        if (pid < 1)
                return -EINVAL;
        if (f->n_pids >= PW_PROCESS_FILTER_VALUES_MAX)
                return -E2BIG;
        f->pids[f->n_pids++] = pid;
        return 0;
}

int pw_process_filter_add_uid(PwProcessFilter *f, uint32_t uid) {
        if (f->n_uids >= PW_PROCESS_FILTER_VALUES_MAX)
                return -E2BIG;
        f->uids[f->n_uids++] = uid;
        return 0;
}

int pw_process_filter_add_comm(PwProcessFilter *f, const char *glob) {
        return add_glob(f->comms, &f->n_comms, glob);
}

int pw_process_filter_add_unit(PwProcessFilter *f, const char *glob) {
        return add_glob(f->units, &f->n_units, glob);
}

int pw_process_filter_add_user_unit(PwProcessFilter *f, const char *glob) {
        return add_glob(f->user_units, &f->n_user_units, glob);
}

int pw_process_filter_add_selectors(PwProcessFilter *f, int64_t uid, const char *comm, const char *unit,
                                    const char *user_unit, const char **ret_bad) {
        const struct {
                const char *name, *value;
                int (*add)(PwProcessFilter *f, const char *glob);
        } globs[] = {
                { "comm", comm, pw_process_filter_add_comm },
                { "unit", unit, pw_process_filter_add_unit },
                { "user_unit", user_unit, pw_process_filter_add_user_unit },
        };
        int r;

        if (uid >= 0 && pw_process_filter_add_uid(f, (uint32_t) uid) < 0) {
                *ret_bad = "uid";
                return -EINVAL;
        }
        for (size_t i = 0; i < sizeof(globs) / sizeof(globs[0]); i++) {
                if (!globs[i].value)
                        continue;
                r = globs[i].add(f, globs[i].value);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        *ret_bad = globs[i].name;
                        return -EINVAL;
                }
        }
        return 0;
}

bool pw_process_filter_selects_processes(const PwProcessFilter *f) {
        return f->n_pids > 0 || f->n_uids > 0 || f->n_comms > 0 || f->n_units > 0 || f->n_user_units > 0 ||
               f->state != PW_STATE_FILTER_ALL;
}

bool pw_process_filter_match_kind(const PwProcessFilter *f, PwEventKind kind, bool thread) {
        if ((unsigned) kind >= _PW_EVENT_KIND_MAX)
                return false;
        if (f->kinds && !(f->kinds & PW_EVENT_KIND_BIT(kind)))
                return false;
        return !thread || f->threads;
}

/* An empty list passes everything; a missing value (a process without a unit) passes no glob. */
static bool glob_any(char *const *v, size_t n, const char *s) {
        if (n == 0)
                return true;
        if (!s)
                return false;
        for (size_t i = 0; i < n; i++)
                if (fnmatch(v[i], s, 0) == 0)
                        return true;
        return false;
}

static bool uid_any(const PwProcessFilter *f, uint32_t uid, uint32_t euid) {
        if (f->n_uids == 0)
                return true;
        for (size_t i = 0; i < f->n_uids; i++)
                if (uid == f->uids[i] || euid == f->uids[i])
                        return true;
        return false;
}

static bool subtree_any(const PwProcessFilter *f, const PwProcess *p, PwSubtreeTest in_subtree, void *userdata) {
        for (size_t i = 0; i < f->n_pids; i++)
                if (in_subtree ? in_subtree(userdata, p, f->pids[i])
                               : proctree_in_subtree(p, f->pids[i], PW_SUBTREE_DEPTH_MAX))
                        return true;
        return f->n_pids == 0;
}

bool pw_process_filter_match(const PwProcessFilter *f, const PwProcess *p, PwSubtreeTest in_subtree,
                             void *userdata) {
        if (!p)
                return !pw_process_filter_selects_processes(f);
        if (!pw_state_filter_match(f->state, p))
                return false;
        return uid_any(f, p->uid, p->euid) && glob_any(f->comms, f->n_comms, p->comm) &&
               glob_any(f->units, f->n_units, p->unit ? p->unit->data : NULL) &&
               glob_any(f->user_units, f->n_user_units, p->user_unit ? p->user_unit->data : NULL) &&
               subtree_any(f, p, in_subtree, userdata);
}
