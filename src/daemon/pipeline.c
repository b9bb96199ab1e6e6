/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The event pipeline: apply, enrich from /proc, fan out (pipeline.h). */
#include <errno.h>
#include <stdlib.h>

#include "log.h"
#include "pipeline.h"

struct Pipeline {
        ProcTree *tree;
        PwProcReader *reader;
        const PipelineCallbacks *cb;
        void *userdata;
        PipelineStats stats;
};

int pipeline_new(Pipeline **ret, ProcTree *tree, PwProcReader *reader, const PipelineCallbacks *cb, void *userdata) {
        Pipeline *pl = calloc(1, sizeof(*pl));

        if (!pl)
                return -ENOMEM;
        *pl = (Pipeline){ .tree = tree, .reader = reader, .cb = cb, .userdata = userdata };
        *ret = pl;
        return 0;
}

Pipeline *pipeline_free(Pipeline *pl) {
        free(pl);
        return NULL;
}

const PipelineStats *pipeline_get_stats(const Pipeline *pl) {
        return &pl->stats;
}

/* The ids of p, whose exec was read early without its status: the real and effective ones are what
 * the events told (the parent's at fork, UID and GID events since: the kernel sends them for a set-id
 * exec too, before its EXEC); the exec made the saved ones the effective ones (the kernel's rule); the
 * owner of status, read with the image, says whether it is dumpable. When the events told no ids (its
 * parent was unknown), status is read after all, through a fresh fd checked against the start time
 * of the early read. Without either the process keeps what it had, its ids not read since the exec. */
static void exec_ids(Pipeline *pl, const PwProcess *p, PwProcInfo *info) {
        PwProcInfo st = {};

        if (!(p->uncertain & PW_UNCERTAIN_IDS)) {
                if (!info->have_owner)
                        return;
                info->uid = p->uid;
                info->euid = info->suid = p->euid;
                info->gid = p->gid;
                info->egid = info->sgid = p->egid;
                info->dumpable = pw_status_owner_dumpable(info->status_owner, p->euid);
                info->have_status = true;
                return;
        }
        if (pw_proc_read(pl->reader, p->pid, info->start_boot_ns, PW_READ_STATUS, &st) >= 0 && st.have_status) {
                info->uid = st.uid;
                info->euid = st.euid;
                info->suid = st.suid;
                info->gid = st.gid;
                info->egid = st.egid;
                info->sgid = st.sgid;
                info->dumpable = st.dumpable;
                info->tgid = st.tgid;
                info->have_status = true;
        }
        pw_proc_info_done(&st);
}

/* Reads the image of pid, which exec'ed or which events named before we knew it: at once, since a
 * process that lives 1 ms must be read before it is gone. exec_pid: the process whose EXEC is being
 * applied (0 for other events); its image may have been read when its event was decoded, and then
 * that read is all it gets. */
static void enrich_one(Pipeline *pl, pid_t pid, pid_t exec_pid) {
        PwProcess *p = proctree_get_live(pl->tree, pid);
        bool placeholder = p && p->source == PW_SOURCE_PLACEHOLDER;
        /* Real and effective ids come from the parent at fork and from UID and GID events since (a
         * set-id exec sends them). The saved ids and dumpability, which the access policy needs (an
         * exec can change both), are read from status after the image, with the cgroup; for an exec
         * read early they follow from the events and the owner of status (exec_ids()). */
        PwReadFlags more = PW_READ_CGROUP | PW_READ_STATUS | (placeholder ? PW_READ_TASKS : 0);
        PwProcInfo info = {};
        bool image_later = false;
        int r = 0;

        if (!p)
                return;
        /* An early read went through one /proc/PID fd and read the cgroup too (cnproc-thread.h); a
         * failed one (the process was gone already) keeps its image and what the parent gave. */
        if (pid == exec_pid && pl->cb->take_early_read && pl->cb->take_early_read(pid, &info, &r, pl->userdata)) {
                if (r >= 0 && !info.have_status)
                        exec_ids(pl, p, &info);
        } else if (pl->cb->read_image) {
                /* Named by an event before we knew it, or an exec the receive thread did not read
                 * (beyond its per-batch or held-read caps): what cannot block now (stat, status,
                 * cgroup, tasks take no mmap_lock), the image off the loop once the record has its
                 * start. */
                r = pw_proc_read(pl->reader, pid, placeholder ? 0 : p->start_boot_ns, PW_READ_STAT | more, &info);
                image_later = true;
        } else
                r = pw_proc_read(pl->reader, pid, placeholder ? 0 : p->start_boot_ns,
                                 PW_READ_STAT | PW_READ_EXE | PW_READ_CMDLINE | more, &info);
        if (r >= 0)
                r = proctree_enrich(pl->tree, &info, pl->reader->hz);
        if (r >= 0) {
                pl->stats.enriched++;
                /* Looked up again: enriching a placeholder replaces its record. */
                if (image_later && !info.kthread && (p = proctree_get_live(pl->tree, pid)))
                        pl->cb->read_image(pid, p->start_boot_ns, p->n_execs, pl->userdata);
        } else {
                /* Lost to its exit: the image stays uncertain; its taskstats exit record may still
                 * name its exe (resources.c, exe-cache.h). */
                pl->stats.enrich_failed++;
                proctree_mark_unreadable(pl->tree, pid, p->start_boot_ns);
        }
        pw_proc_info_done(&info);
}

/* The kernel has moved this orphan to a subreaper or init; /proc says which. Read on the loop: stat
 * takes no mmap_lock (do_task_stat() reads the mm's counters only), so it cannot wait on the
 * process. */
static void reparent_one(Pipeline *pl, pid_t pid) {
        PwProcess *p = proctree_get_live(pl->tree, pid);
        PwProcInfo info = {};

        if (!p)
                return;
        if (pw_proc_read(pl->reader, pid, p->start_boot_ns, PW_READ_STAT, &info) >= 0)
                proctree_set_parent(pl->tree, pid, info.stat.ppid);
        else
                proctree_set_parent(pl->tree, pid, 0);
        pl->stats.reparented++;
        pw_proc_info_done(&info);
}

void pipeline_fan_out(Pipeline *pl, const PwEvent *ev, const PwApplyResult *res) {
        if (pl->cb->subscribers)
                pl->cb->subscribers(ev, res, pl->userdata);
        if (pl->cb->journal)
                pl->cb->journal(ev, res, pl->userdata);
}

void pipeline_event(Pipeline *pl, const PwEvent *ev) {
        PwApplyResult res;
        int r;

        pl->stats.events++;
        /* 1. Apply. The record in res is pinned until the next event (proctree_apply()). */
        r = proctree_apply(pl->tree, ev, &res);
        if (r < 0) {
                pl->stats.apply_failed++;
                log_warning_errno(r, "Failed to apply a %s event to the process tree, ignoring: %m",
                                  pw_event_kind_to_string(ev->kind));
        }

        /* 2. Enrich: the orders stand even when applying failed halfway. The lists stay the tree's
         * and unchanged while /proc is read (proctree.h). */
        for (size_t i = 0; i < res.n_enrich; i++)
                enrich_one(pl, res.enrich[i], r >= 0 && ev->kind == PW_EVENT_EXEC ? ev->exec.tgid : 0);
        for (size_t i = 0; i < res.n_reparent; i++)
                reparent_one(pl, res.reparent[i]);
        /* 3. Fan out, the same way for every kind: an end may wait for what the process cost. */
        if (r >= 0) {
                if (res.process_ended && res.process && pl->cb->hold_exit &&
                    pl->cb->hold_exit(ev, res.process, pl->userdata))
                        pl->stats.held++;
                else
                        pipeline_fan_out(pl, ev, &res);
        }
        proctree_release(pl->tree);
}
