/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Journal forwarding filters and argv redaction (see journal-filter.h). */
#include <errno.h>
#include <fnmatch.h>
#include <stdint.h>
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
        *f = (PwJournalFilter){ .argv_mode = PW_ARGV_FULL };
        pw_process_filter_init(&f->match);
        f->match.kinds = PW_JOURNAL_KINDS_DEFAULT;
}

void pw_journal_filter_done(PwJournalFilter *f) {
        pw_process_filter_done(&f->match);
        for (size_t i = 0; i < f->n_redact; i++)
                f->redact[i] = mfree(f->redact[i]);
        f->n_redact = 0;
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
        return pw_process_filter_add_pid(&f->match, (pid_t) v);
}

int pw_journal_filter_add_uid(PwJournalFilter *f, const char *s) {
        uint64_t v;

        if (parse_number(s, 0, UINT32_MAX - 1, &v) < 0)
                return -EINVAL;
        return pw_process_filter_add_uid(&f->match, (uint32_t) v);
}

/* A glob as written: an empty one would match nothing but the empty name, surely a mistake. */
static bool glob_ok(const char *glob) {
        return glob && *glob;
}

int pw_journal_filter_add_comm(PwJournalFilter *f, const char *glob) {
        return glob_ok(glob) ? pw_process_filter_add_comm(&f->match, glob) : -EINVAL;
}

int pw_journal_filter_add_unit(PwJournalFilter *f, const char *glob) {
        return glob_ok(glob) ? pw_process_filter_add_unit(&f->match, glob) : -EINVAL;
}

int pw_journal_filter_add_user_unit(PwJournalFilter *f, const char *glob) {
        return glob_ok(glob) ? pw_process_filter_add_user_unit(&f->match, glob) : -EINVAL;
}

int pw_journal_filter_add_redact(PwJournalFilter *f, const char *glob) {
        if (!glob_ok(glob))
                return -EINVAL;
        if (f->n_redact >= PW_PROCESS_FILTER_VALUES_MAX)
                return -E2BIG;
        f->redact[f->n_redact] = strdup(glob);
        if (!f->redact[f->n_redact])
                return -ENOMEM;
        f->n_redact++;
        return 0;
}

bool pw_journal_filter_match(const PwJournalFilter *f, const PwEvent *ev, const PwApplyResult *res,
                             const PwProcess *p) {
        bool thread = res->thread;

        if (!p)
                return false;
        /* A process's exit is when its last task ends, whichever thread that is; a leader's EXIT
         * before its threads' is a thread event. */
        if (ev->kind == PW_EVENT_EXIT)
                thread = !res->process_ended;
        /* A process's fork is when it starts; a FORK that made no record (already known) is no news. */
        else if (ev->kind == PW_EVENT_FORK && !res->process_started && !res->thread)
                return false;
        return pw_process_filter_match_kind(&f->match, ev->kind, thread) &&
               pw_process_filter_match(&f->match, p, NULL, NULL);
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
