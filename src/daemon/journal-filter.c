/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Journal forwarding filters and argv redaction (see journal-filter.h). */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>

#include "journal-filter.h"
#include "parse-util.h"

static const char *const argv_modes[_PW_ARGV_MODE_MAX] = {
        [PW_ARGV_FULL] = "full",
        [PW_ARGV_NONE] = "none",
        [PW_ARGV_REDACT] = "redact",
};

void pw_journal_filter_init(PwJournalFilter *f) {
        *f = (PwJournalFilter){ .kinds = PW_JOURNAL_KINDS_DEFAULT, .argv_mode = PW_ARGV_FULL };
}

static void free_strv(char **v, size_t *n) {
        for (size_t i = 0; i < *n; i++)
                free(v[i]);
        *n = 0;
}

void pw_journal_filter_done(PwJournalFilter *f) {
        free_strv(f->comms, &f->n_comms);
        free_strv(f->units, &f->n_units);
        free_strv(f->user_units, &f->n_user_units);
        free_strv(f->redact, &f->n_redact);
}

int pw_journal_kinds_from_string(const char *s, unsigned *ret) {
        unsigned kinds = 0;
        const char *p = s;

        if (!s || !*s)
                return -EINVAL;
        if (strcmp(s, "all") == 0) {
                *ret = PW_JOURNAL_KINDS_ALL;
                return 0;
        }
        while (*p) {
                size_t n = strcspn(p, ",");
                char word[16];
                PwEventKind k;

                if (n == 0 || n >= sizeof(word))
                        return -EINVAL;
                memcpy(word, p, n);
                word[n] = '\0';
                k = pw_event_kind_from_string(word);
                if ((int) k <= (int) PW_EVENT_NONE || k >= _PW_EVENT_KIND_MAX)
                        return -EINVAL;
                kinds |= PW_JOURNAL_KIND_BIT(k);
                p += n;
                if (*p == ',' && *++p == '\0')
                        return -EINVAL;
        }
        *ret = kinds;
        return 0;
}

const char *pw_argv_mode_to_string(PwArgvMode m) {
        return (unsigned) m < _PW_ARGV_MODE_MAX ? argv_modes[m] : NULL;
}

int pw_argv_mode_from_string(const char *s) {
        for (unsigned i = 0; s && i < _PW_ARGV_MODE_MAX; i++)
                if (strcmp(s, argv_modes[i]) == 0)
                        return (int) i;
        return -EINVAL;
}

int pw_journal_filter_add_pid(PwJournalFilter *f, const char *s) {
        uint64_t v;

        if (parse_number(s, 1, INT32_MAX, &v) < 0)
                return -EINVAL;
        if (f->n_pids >= PW_JOURNAL_FILTER_VALUES_MAX)
                return -E2BIG;
        f->pids[f->n_pids++] = (pid_t) v;
        return 0;
}

int pw_journal_filter_add_uid(PwJournalFilter *f, const char *s) {
        uint64_t v;

        if (parse_number(s, 0, UINT32_MAX - 1, &v) < 0)
                return -EINVAL;
        if (f->n_uids >= PW_JOURNAL_FILTER_VALUES_MAX)
                return -E2BIG;
        f->uids[f->n_uids++] = (uint32_t) v;
        return 0;
}

static int add_glob(char **v, size_t *n, const char *glob) {
        if (!glob || !*glob)
                return -EINVAL;
        if (*n >= PW_JOURNAL_FILTER_VALUES_MAX)
                return -E2BIG;
        v[*n] = strdup(glob);
        if (!v[*n])
                return -ENOMEM;
        (*n)++;
        return 0;
}

int pw_journal_filter_add_comm(PwJournalFilter *f, const char *glob) {
        return add_glob(f->comms, &f->n_comms, glob);
}

int pw_journal_filter_add_unit(PwJournalFilter *f, const char *glob) {
        return add_glob(f->units, &f->n_units, glob);
}

int pw_journal_filter_add_user_unit(PwJournalFilter *f, const char *glob) {
        return add_glob(f->user_units, &f->n_user_units, glob);
}

int pw_journal_filter_add_redact(PwJournalFilter *f, const char *glob) {
        return add_glob(f->redact, &f->n_redact, glob);
}

static bool glob_any(char *const *v, size_t n, const char *s) {
        for (size_t i = 0; i < n; i++)
                if (fnmatch(v[i], s, 0) == 0)
                        return true;
        return false;
}

static bool in_subtree(const PwJournalFilter *f, const PwProcess *p) {
        for (size_t i = 0; i < f->n_pids; i++)
                if (proctree_in_subtree(p, f->pids[i], PW_JOURNAL_SUBTREE_DEPTH_MAX))
                        return true;
        return false;
}

bool pw_journal_filter_match(const PwJournalFilter *f, const PwEvent *ev, const PwApplyResult *res,
                             const PwProcess *p) {
        if ((unsigned) ev->kind >= _PW_EVENT_KIND_MAX || !(f->kinds & PW_JOURNAL_KIND_BIT(ev->kind)))
                return false;
        if (!p)
                return false;
        /* A process's exit is when its last task ends, whichever thread that is; a leader's EXIT
         * before its threads' is a thread event. */
        if (ev->kind == PW_EVENT_EXIT) {
                if (!res->process_ended && !f->threads)
                        return false;
        } else if (res->thread && !f->threads)
                return false;
        /* A process's fork is when it starts; a FORK that made no record (already known) is no news. */
        if (ev->kind == PW_EVENT_FORK && !res->process_started && !res->thread)
                return false;
        if (f->n_pids > 0 && !in_subtree(f, p))
                return false;
        if (f->n_uids > 0) {
                bool found = false;

                for (size_t i = 0; i < f->n_uids && !found; i++)
                        found = p->uid == f->uids[i] || p->euid == f->uids[i];
                if (!found)
                        return false;
        }
        if (f->n_comms > 0 && !glob_any(f->comms, f->n_comms, p->comm))
                return false;
        if (f->n_units > 0 && (!p->unit || !glob_any(f->units, f->n_units, p->unit->data)))
                return false;
        if (f->n_user_units > 0 && (!p->user_unit || !glob_any(f->user_units, f->n_user_units, p->user_unit->data)))
                return false;
        return true;
}

int pw_journal_redact_argv(const PwJournalFilter *f, const char *argv, size_t len, char **ret, size_t *ret_len) {
        /* Redacting only ever shortens a word or replaces it by "***": 3 bytes per word at most more. */
        size_t words = 1, o = 0;
        bool redact_next = false, first = true;
        char *out;

        for (size_t i = 0; i < len; i++)
                words += argv[i] == '\0';
        out = malloc(len + words * sizeof(PW_JOURNAL_REDACTED) + 1);
        if (!out)
                return -ENOMEM;

        for (size_t i = 0; i <= len;) {
                const char *w = argv + i, *end = memchr(w, '\0', len - i);
                size_t n = end ? (size_t) (end - w) : len - i;
                _cleanup_(freep) char *word = strndup(w, n);
                size_t keep = n;
                bool replace = redact_next;

                if (!word) {
                        free(out);
                        return -ENOMEM;
                }
                redact_next = false;
                if (!replace)
                        for (size_t k = 0; k < f->n_redact; k++) {
                                const char *eq = strchr(f->redact[k], '=');

                                if (fnmatch(f->redact[k], word, 0) != 0)
                                        continue;
                                if (eq && strchr(word, '=')) {
                                        keep = (size_t) (strchr(word, '=') - word) + 1;
                                        replace = true;
                                } else if (!eq)
                                        redact_next = true;
                                break;
                        }
                if (!first)
                        out[o++] = '\0';
                first = false;
                memcpy(out + o, w, replace ? (keep == n ? 0 : keep) : n);
                o += replace ? (keep == n ? 0 : keep) : n;
                if (replace) {
                        memcpy(out + o, PW_JOURNAL_REDACTED, strlen(PW_JOURNAL_REDACTED));
                        o += strlen(PW_JOURNAL_REDACTED);
                }
                if (!end)
                        break;
                i += n + 1;
        }
        out[o] = '\0';
        *ret = out;
        *ret_len = o;
        return 0;
}
