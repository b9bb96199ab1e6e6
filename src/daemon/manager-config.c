/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The Manager's configuration: options from a PwConfig, reload, and the effective values.
 *
 * A reload runs on the event loop, between two reads of the proc-connector socket: events that
 * arrive meanwhile wait in the kernel's receive buffer (16 MiB by default, seconds of a storm), and
 * subscribers are not touched, so nothing is lost or dropped. It is all or nothing: the new
 * configuration is read and checked in full first; a bad file leaves the running one as it is.
 * Then what can change live is applied through each module's own setter, fallible ones first (the
 * receive buffer, the reconciliation timer) so that a failure there can still keep the old
 * configuration whole; keys that only a restart applies keep their running value in the effective
 * configuration and are listed as needing a restart. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "json-util.h"
#include "log.h"
#include "manager.h"

void manager_options_from_config(ManagerOptions *o, PwConfig *c) {
        o->rcvbuf = (uint32_t) c->rcvbuf;
        o->limits = (ProcTreeLimits){
                .retain_count = (unsigned) c->retain_count,
                .retain_age_ns = c->retain_age_sec * 1000000000ULL,
                .string_budget = (size_t) c->string_budget,
                .uid_share_percent = (unsigned) c->uid_share_percent,
        };
        o->argv_max = (size_t) c->argv_max;
        o->reconcile_interval_usec = c->reconcile_sec * USEC_PER_SEC;
        o->socket_path = c->socket;
        o->journal = c->journal ? &c->journal_filter : NULL;
        /* Callers of the control socket see argv as the journal does, forwarding or not. */
        o->argv_privacy = &c->journal_filter;
        o->taskstats.disabled = !c->taskstats;
        o->config = c;
}

static json_t *errors_json(const PwConfigDiags *d) {
        json_t *a = json_array();

        for (size_t i = 0; a && i < d->n; i++) {
                _cleanup_(freep) char *s = NULL;

                if (!d->items[i].error)
                        continue;
                s = pw_config_diag_format(&d->items[i]);
                if (!s || json_array_append_new(a, json_string_sanitized(s, strlen(s))) < 0)
                        a = (json_decref(a), NULL);
        }
        if (a && d->n_dropped > 0) {
                _cleanup_(freep) char *s = NULL;

                if (asprintf(&s, "... and %u more.", d->n_dropped) < 0 || json_array_append_new(a, json_string(s)) < 0)
                        a = (json_decref(a), NULL);
        }
        return a ? json_pack("{s:o}", "errors", a) : NULL;
}

static void log_diags(const PwConfigDiags *d, const char *what) {
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_(freep) char *s = pw_config_diag_format(&d->items[i]);

                if (d->items[i].error)
                        log_error("%s%s", s ?: "?", what);
                else
                        log_warning("%s", s ?: "?");
        }
        if (d->n_dropped > 0)
                log_warning("... and %u more problems in the configuration.", d->n_dropped);
}

static json_t *keys_json(const bool *which) {
        json_t *a = json_array();

        for (int k = 0; a && k < _PW_CONFIG_KEY_MAX; k++) {
                const PwConfigKeyInfo *info = pw_config_key_info((PwConfigKey) k);
                char name[64];

                if (!which[k])
                        continue;
                snprintf(name, sizeof(name), "%s.%s", info->section, info->name);
                if (json_array_append_new(a, json_string(name)) < 0)
                        a = (json_decref(a), NULL);
        }
        return a;
}

static void notify_ready(Manager *m, const char *status) {
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", status);
}

/* Applies the live settings of n (changed[] says which differ from the running ones). Returns 0, or
 * a negative errno with nothing changed. */
static int apply_live(Manager *m, PwConfig *n, const bool *changed) {
        uint32_t old_rcvbuf = cnproc_get_rcvbuf(m->cnproc);
        int r;

        if (changed[PW_CONFIG_RECEIVE_BUFFER] && m->cnproc) {
                r = cnproc_set_rcvbuf(m->cnproc, (uint32_t) n->rcvbuf);
                if (r < 0)
                        return r;
                m->opts.rcvbuf = (uint32_t) n->rcvbuf;
        }
        if (changed[PW_CONFIG_RECONCILE_INTERVAL]) {
                r = manager_set_reconcile_interval(m, n->reconcile_sec * USEC_PER_SEC);
                if (r < 0) {
                        log_error_errno(r, "Failed to change the reconciliation interval: %m");
                        if (changed[PW_CONFIG_RECEIVE_BUFFER] && m->cnproc)
                                (void) cnproc_set_rcvbuf(m->cnproc, old_rcvbuf);
                        return r;
                }
        }

        /* From here on nothing fails. */
        log_set_max_level(n->log_level);
        m->opts.limits = (ProcTreeLimits){
                .retain_count = (unsigned) n->retain_count,
                .retain_age_ns = n->retain_age_sec * 1000000000ULL,
                .string_budget = (size_t) n->string_budget,
                /* The tree reads the share at every charge: a lower one applies to each uid's next
                 * record or string (what a uid holds beyond it goes as it needs room, or by age). */
                .uid_share_percent = (unsigned) n->uid_share_percent,
        };
        proctree_set_limits(m->tree, &m->opts.limits);
        proctree_expire(m->tree, now_nsec(CLOCK_MONOTONIC));
        m->opts.argv_max = (size_t) n->argv_max;
        m->reader.argv_max = m->opts.argv_max;
        cnproc_thread_set_argv_max(m->cnproc_thread, m->opts.argv_max);
        proc_worker_set_argv_max(m->worker, m->opts.argv_max);
        /* The journal writer runs or not as started (Forward= needs a restart); the filter is read
         * only on this thread, when an entry is built. */
        m->opts.journal = m->journal ? &n->journal_filter : NULL;
        /* The server borrows the filter for argv privacy: point it at the new one before the old
         * configuration is freed. It too is read only on this thread. */
        m->opts.argv_privacy = &n->journal_filter;
        if (m->server)
                server_set_argv_privacy(m->server, m->opts.argv_privacy);
        return 0;
}

int manager_reload(Manager *m, json_t **ret) {
        _cleanup_(pw_config_diags_done) PwConfigDiags d = {};
        bool changed[_PW_CONFIG_KEY_MAX] = {}, restart[_PW_CONFIG_KEY_MAX] = {};
        char **files = NULL;
        PwConfig *n;
        unsigned n_changed = 0, n_restart = 0;
        int r;

        if (ret)
                *ret = NULL;
        if (!m->config) {
                if (ret)
                        *ret = json_pack("{s:o, s:o}", "changed", json_array(), "restart_needed", json_array());
                return 0;
        }
        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=Reloading the configuration.",
                          (unsigned long long) now_usec(CLOCK_MONOTONIC));

        n = calloc(1, sizeof(*n));
        if (!n) {
                r = log_oom();
                goto fail;
        }
        r = pw_config_load(n, m->opts.config_root, m->opts.config_layer, &d, &files);
        if (r == -ENOMEM) {
                log_oom();
                goto fail;
        }
        if (r < 0 || d.n_errors > 0) {
                log_diags(&d, " Keeping the running configuration.");
                r = -EINVAL;
                goto fail;
        }
        log_diags(&d, "");

        for (int k = 0; k < _PW_CONFIG_KEY_MAX; k++) {
                const PwConfigKeyInfo *info = pw_config_key_info((PwConfigKey) k);

                r = pw_config_key_equal(m->config, n, (PwConfigKey) k);
                if (r < 0)
                        goto fail;
                if (r > 0)
                        continue; /* a restart-only key set back to its running value: nothing pending */
                if (info->live) {
                        changed[k] = true;
                        n_changed++;
                } else {
                        /* The running value stays in force, and in what GetConfig shows. */
                        restart[k] = true;
                        n_restart++;
                        r = pw_config_copy_key(n, m->config, (PwConfigKey) k);
                        if (r < 0)
                                goto fail;
                }
        }
        r = apply_live(m, n, changed);
        if (r < 0)
                goto fail_applying;

        /* Swap. */
        pw_config_done(m->config);
        free(m->config);
        m->config = n;
        m->opts.socket_path = n->socket;
        pw_config_files_free(m->config_files);
        m->config_files = files;
        memcpy(m->restart_needed, restart, sizeof(restart));
        m->reloads++;

        {
                _cleanup_(json_decrefp) json_t *jc = keys_json(changed), *jr = keys_json(restart);
                _cleanup_(freep) char *sc = jc ? json_dumps(jc, JSON_COMPACT) : NULL;
                _cleanup_(freep) char *sr = jr ? json_dumps(jr, JSON_COMPACT) : NULL;

                log_info("Reloaded the configuration: %u settings changed %s, %u need a restart %s.", n_changed,
                         sc ?: "", n_restart, sr ?: "");
                if (n_restart > 0)
                        log_warning("Settings changed that only a restart applies: %s.", sr ?: "?");
                if (ret)
                        *ret = json_pack("{s:O, s:O}", "changed", jc ?: json_array(), "restart_needed",
                                         jr ?: json_array());
        }
        notify_ready(m, "Watching (configuration reloaded).");
        return 0;

fail_applying:
        if (ret)
                *ret = json_pack("{s:[s]}", "errors", "Failed to apply the new configuration; the running one stays.");
        pw_config_done(n);
        free(n);
        pw_config_files_free(files);
        m->reloads_failed++;
        notify_ready(m, "Watching (configuration reload failed).");
        return r;

fail:
        if (ret)
                *ret = r == -EINVAL ? errors_json(&d) : json_pack("{s:[s]}", "errors", strerror(-r));
        if (n) {
                pw_config_done(n);
                free(n);
        }
        pw_config_files_free(files);
        m->reloads_failed++;
        notify_ready(m, "Watching (configuration reload failed).");
        return r < 0 ? r : -EINVAL;
}

json_t *manager_config_json(Manager *m) {
        json_t *j, *files, *pending;

        if (!m->config)
                return NULL;
        j = pw_config_to_json(m->config);
        files = json_array();
        pending = keys_json(m->restart_needed);
        for (char **f = m->config_files; files && f && *f; f++)
                if (json_array_append_new(files, json_string_sanitized(*f, strlen(*f))) < 0)
                        files = (json_decref(files), NULL);
        if (!j || !files || !pending || json_object_set_new(j, "files", files) < 0 ||
            json_object_set_new(j, "restart_needed", pending) < 0) {
                json_decref(j);
                return NULL;
        }
        return j;
}
