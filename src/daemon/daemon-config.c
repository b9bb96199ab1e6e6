/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The configuration: files, drop-ins, the command line, merged with a source for every key.
 *
 * Design. A PwConfig is a plain struct of typed values, built in layers: the built-in defaults
 * (pw_config_init), then each file in the order systemd would read it (/etc/procwatchd.conf, then
 * the drop-ins of /etc, /run, /usr/local/lib and /usr/lib merged by file name: the first folder
 * that has a name masks the others, and names are read in strcmp order, so later wins), then the
 * command line (PwConfigLayer). Every layer goes through pw_config_assign(), the one place that
 * parses a value, so a file and an option are checked alike and each key records the file:line
 * (or "command line") that set it last.
 *
 * Files are parsed by libinih (ini_parse_stream) through a reader of our own over the text in
 * memory: it counts lines, so that every diagnostic names file:line (Debian's libinih is built
 * without INI_HANDLER_LINENO), refuses NUL bytes, and turns a line too long for inih's buffer into
 * an error instead of letting inih read its tail as a line of its own.
 *
 * Nothing here logs or touches the daemon: problems are collected in PwConfigDiags, and the caller
 * decides (exit 2 at start, keep the running configuration at reload). That keeps the whole layer
 * fuzzable (fuzz/fuzz-config.c) and unit-testable (tests/unit/test-daemon-config.c). Named daemon-config, not config, so
 * that it never shadows the config.h meson generates.. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <syslog.h>

#include "daemon-config.h"
#include "fileio.h"
#include "json-util.h"
#include "log.h"
#include "parse-util.h"
#include "procfs.h"
#include "proctree.h"
#include "procwatch/protocol.h"

/* Defaults the daemon had before it had a configuration; kept in the modules that use them. */
#include "cnproc.h"
#include "manager.h"

static const PwConfigKeyInfo key_table[_PW_CONFIG_KEY_MAX] = {
        [PW_CONFIG_LOG_LEVEL] = { "Daemon", "LogLevel", "--log-level", false, true },
        [PW_CONFIG_PRINT_EVENTS] = { "Daemon", "PrintEvents", "--print-events", false, false },
        [PW_CONFIG_RECEIVE_BUFFER] = { "Ingest", "ReceiveBuffer", "--rcvbuf", false, true },
        [PW_CONFIG_RECONCILE_INTERVAL] = { "Ingest", "ReconcileInterval", "--reconcile-interval", false, true },
        [PW_CONFIG_TASKSTATS] = { "Ingest", "Taskstats", "--no-taskstats", false, false },
        [PW_CONFIG_RETAIN_COUNT] = { "Tree", "RetainCount", "--retain-count", false, true },
        [PW_CONFIG_RETAIN_AGE] = { "Tree", "RetainAge", "--retain-age", false, true },
        [PW_CONFIG_STRING_BUDGET] = { "Tree", "StringBudget", "--string-budget", false, true },
        [PW_CONFIG_UID_SHARE] = { "Tree", "UidShare", "--uid-share", false, true },
        [PW_CONFIG_ARGV_MAX] = { "Tree", "ArgvMax", "--argv-max", false, true },
        [PW_CONFIG_JOURNAL_FORWARD] = { "Journal", "Forward", "--no-journal", false, false },
        [PW_CONFIG_JOURNAL_EVENTS] = { "Journal", "Events", "--journal-events", false, true },
        [PW_CONFIG_JOURNAL_THREADS] = { "Journal", "Threads", "--journal-threads", false, true },
        [PW_CONFIG_JOURNAL_PID] = { "Journal", "Pid", "--journal-pid", true, true },
        [PW_CONFIG_JOURNAL_UID] = { "Journal", "Uid", "--journal-uid", true, true },
        [PW_CONFIG_JOURNAL_COMM] = { "Journal", "Comm", "--journal-comm", true, true },
        [PW_CONFIG_JOURNAL_UNIT] = { "Journal", "Unit", "--journal-unit", true, true },
        [PW_CONFIG_JOURNAL_USER_UNIT] = { "Journal", "UserUnit", "--journal-user-unit", true, true },
        [PW_CONFIG_JOURNAL_ARGV] = { "Journal", "Argv", "--journal-argv", false, true },
        [PW_CONFIG_JOURNAL_REDACT] = { "Journal", "Redact", "--journal-redact", true, true },
        [PW_CONFIG_SOCKET] = { "Control", "Socket", "--socket", false, false },
};

static const char *const sections[] = { "Daemon", "Ingest", "Tree", "Journal", "Control" };

static const char *const log_level_names[] = {
        [LOG_EMERG] = "emerg",     [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
};

const PwConfigKeyInfo *pw_config_key_info(PwConfigKey k) {
        if ((int) k < 0 || k >= _PW_CONFIG_KEY_MAX)
                return NULL;
        return &key_table[k];
}

PwConfigKey pw_config_key_from_name(const char *section, const char *name) {
        if (!section || !name)
                return _PW_CONFIG_KEY_INVALID;
        for (size_t i = 0; i < ELEMENTSOF(key_table); i++)
                if (strcmp(key_table[i].section, section) == 0 && strcmp(key_table[i].name, name) == 0)
                        return (PwConfigKey) i;
        return _PW_CONFIG_KEY_INVALID;
}

static bool section_known(const char *section) {
        for (size_t i = 0; i < ELEMENTSOF(sections); i++)
                if (strcmp(sections[i], section) == 0)
                        return true;
        return false;
}

/* --- the struct ---------------------------------------------------------------------------------- */

static void set_default(PwConfig *c, PwConfigKey k) {
        PwJournalFilter *f = &c->journal_filter;

        switch (k) {
        case PW_CONFIG_LOG_LEVEL:
                c->log_level = LOG_INFO;
                break;
        case PW_CONFIG_PRINT_EVENTS:
                c->print_events = PW_PRINT_EVENTS_NO;
                break;
        case PW_CONFIG_RECEIVE_BUFFER:
                c->rcvbuf = CNPROC_RCVBUF_DEFAULT;
                break;
        case PW_CONFIG_RECONCILE_INTERVAL:
                c->reconcile_sec = MANAGER_RECONCILE_INTERVAL_USEC_DEFAULT / USEC_PER_SEC;
                break;
        case PW_CONFIG_TASKSTATS:
                c->taskstats = true;
                break;
        case PW_CONFIG_RETAIN_COUNT:
                c->retain_count = PROCTREE_RETAIN_COUNT_DEFAULT;
                break;
        case PW_CONFIG_RETAIN_AGE:
                c->retain_age_sec = PROCTREE_RETAIN_AGE_NS_DEFAULT / 1000000000ULL;
                break;
        case PW_CONFIG_STRING_BUDGET:
                c->string_budget = PROCTREE_STRING_BUDGET_DEFAULT;
                break;
        case PW_CONFIG_UID_SHARE:
                c->uid_share_percent = PROCTREE_UID_SHARE_PERCENT_DEFAULT;
                break;
        case PW_CONFIG_ARGV_MAX:
                c->argv_max = PW_ARGV_MAX_DEFAULT;
                break;
        case PW_CONFIG_JOURNAL_FORWARD:
                c->journal = true;
                break;
        case PW_CONFIG_JOURNAL_EVENTS:
                f->match.kinds = PW_JOURNAL_KINDS_DEFAULT;
                break;
        case PW_CONFIG_JOURNAL_THREADS:
                f->match.threads = false;
                break;
        case PW_CONFIG_JOURNAL_PID:
                f->match.n_pids = 0;
                break;
        case PW_CONFIG_JOURNAL_UID:
                f->match.n_uids = 0;
                break;
        case PW_CONFIG_JOURNAL_COMM:
                for (size_t i = 0; i < f->match.n_comms; i++)
                        free(f->match.comms[i]);
                f->match.n_comms = 0;
                break;
        case PW_CONFIG_JOURNAL_UNIT:
                for (size_t i = 0; i < f->match.n_units; i++)
                        free(f->match.units[i]);
                f->match.n_units = 0;
                break;
        case PW_CONFIG_JOURNAL_USER_UNIT:
                for (size_t i = 0; i < f->match.n_user_units; i++)
                        free(f->match.user_units[i]);
                f->match.n_user_units = 0;
                break;
        case PW_CONFIG_JOURNAL_ARGV:
                f->argv_mode = PW_ARGV_FULL;
                break;
        case PW_CONFIG_JOURNAL_REDACT:
                for (size_t i = 0; i < f->n_redact; i++)
                        free(f->redact[i]);
                f->n_redact = 0;
                break;
        case PW_CONFIG_SOCKET:
                c->socket = mfree(c->socket);
                break;
        default:
                break;
        }
}

static void source_clear(PwConfigSource *s) {
        s->file = mfree(s->file);
        s->line = 0;
}

static int source_set(PwConfigSource *s, const char *file, unsigned line) {
        char *copy = NULL;

        if (file && !(copy = strdup(file)))
                return -ENOMEM;
        free(s->file);
        s->file = copy;
        s->line = file ? line : 0;
        return 0;
}

void pw_config_init(PwConfig *c) {
        *c = (PwConfig){};
        pw_journal_filter_init(&c->journal_filter);
        for (int k = 0; k < _PW_CONFIG_KEY_MAX; k++)
                set_default(c, (PwConfigKey) k);
}

void pw_config_done(PwConfig *c) {
        if (!c)
                return;
        pw_journal_filter_done(&c->journal_filter);
        c->socket = mfree(c->socket);
        for (int k = 0; k < _PW_CONFIG_KEY_MAX; k++)
                source_clear(&c->sources[k]);
}

/* Copies one key's value; dst's old value is replaced. */
static int copy_value(PwConfig *dst, const PwConfig *src, PwConfigKey k) {
        PwJournalFilter *d = &dst->journal_filter;
        const PwJournalFilter *s = &src->journal_filter;
        char **dv = NULL, *const *sv = NULL;
        size_t *dn = NULL, sn = 0;

        set_default(dst, k);
        switch (k) {
        case PW_CONFIG_LOG_LEVEL:
                dst->log_level = src->log_level;
                return 0;
        case PW_CONFIG_PRINT_EVENTS:
                dst->print_events = src->print_events;
                return 0;
        case PW_CONFIG_RECEIVE_BUFFER:
                dst->rcvbuf = src->rcvbuf;
                return 0;
        case PW_CONFIG_RECONCILE_INTERVAL:
                dst->reconcile_sec = src->reconcile_sec;
                return 0;
        case PW_CONFIG_TASKSTATS:
                dst->taskstats = src->taskstats;
                return 0;
        case PW_CONFIG_RETAIN_COUNT:
                dst->retain_count = src->retain_count;
                return 0;
        case PW_CONFIG_RETAIN_AGE:
                dst->retain_age_sec = src->retain_age_sec;
                return 0;
        case PW_CONFIG_STRING_BUDGET:
                dst->string_budget = src->string_budget;
                return 0;
        case PW_CONFIG_UID_SHARE:
                dst->uid_share_percent = src->uid_share_percent;
                return 0;
        case PW_CONFIG_ARGV_MAX:
                dst->argv_max = src->argv_max;
                return 0;
        case PW_CONFIG_JOURNAL_FORWARD:
                dst->journal = src->journal;
                return 0;
        case PW_CONFIG_JOURNAL_EVENTS:
                d->match.kinds = s->match.kinds;
                return 0;
        case PW_CONFIG_JOURNAL_THREADS:
                d->match.threads = s->match.threads;
                return 0;
        case PW_CONFIG_JOURNAL_PID:
                memcpy(d->match.pids, s->match.pids, sizeof(d->match.pids));
                d->match.n_pids = s->match.n_pids;
                return 0;
        case PW_CONFIG_JOURNAL_UID:
                memcpy(d->match.uids, s->match.uids, sizeof(d->match.uids));
                d->match.n_uids = s->match.n_uids;
                return 0;
        case PW_CONFIG_JOURNAL_ARGV:
                d->argv_mode = s->argv_mode;
                return 0;
        case PW_CONFIG_SOCKET:
                if (src->socket && !(dst->socket = strdup(src->socket)))
                        return -ENOMEM;
                return 0;
        case PW_CONFIG_JOURNAL_COMM:
                dv = d->match.comms, dn = &d->match.n_comms, sv = s->match.comms, sn = s->match.n_comms;
                break;
        case PW_CONFIG_JOURNAL_UNIT:
                dv = d->match.units, dn = &d->match.n_units, sv = s->match.units, sn = s->match.n_units;
                break;
        case PW_CONFIG_JOURNAL_USER_UNIT:
                dv = d->match.user_units, dn = &d->match.n_user_units, sv = s->match.user_units, sn = s->match.n_user_units;
                break;
        case PW_CONFIG_JOURNAL_REDACT:
                dv = d->redact, dn = &d->n_redact, sv = s->redact, sn = s->n_redact;
                break;
        default:
                return -EINVAL;
        }
        for (size_t i = 0; i < sn; i++) {
                dv[i] = strdup(sv[i]);
                if (!dv[i])
                        return -ENOMEM;
                (*dn)++;
        }
        return 0;
}

int pw_config_copy_key(PwConfig *dst, const PwConfig *src, PwConfigKey k) {
        int r;

        r = copy_value(dst, src, k);
        if (r < 0)
                return r;
        return source_set(&dst->sources[k], src->sources[k].file, src->sources[k].line);
}

int pw_config_copy(PwConfig *dst, const PwConfig *src) {
        int r;

        pw_config_init(dst);
        for (int k = 0; k < _PW_CONFIG_KEY_MAX; k++) {
                r = pw_config_copy_key(dst, src, (PwConfigKey) k);
                if (r < 0) {
                        pw_config_done(dst);
                        pw_config_init(dst);
                        return r;
                }
        }
        return 0;
}

/* --- values --------------------------------------------------------------------------------------- */

static int parse_boolean(const char *s) {
        static const char *const yes[] = { "1", "yes", "y", "true", "t", "on" };
        static const char *const no[] = { "0", "no", "n", "false", "f", "off" };

        for (size_t i = 0; i < ELEMENTSOF(yes); i++) {
                if (strcasecmp(s, yes[i]) == 0)
                        return 1;
                if (strcasecmp(s, no[i]) == 0)
                        return 0;
        }
        return -EINVAL;
}

static int parse_size_range(const char *s, uint64_t min, uint64_t max, uint64_t *ret) {
        uint64_t v;

        if (parse_size(s, &v) < 0 || v < min || v > max)
                return -EINVAL;
        *ret = v;
        return 0;
}

int pw_config_assign(PwConfig *c, PwConfigKey k, const char *value, const char *file, unsigned line,
                     const char **reason) {
        PwJournalFilter *f = &c->journal_filter;
        const char *why = NULL;
        int r = 0;

        if ((int) k < 0 || k >= _PW_CONFIG_KEY_MAX || !value) {
                *reason = "unknown key";
                return -EINVAL;
        }
        if (!*value) {
                /* systemd's convention: an empty assignment resets (a list to empty). */
                set_default(c, k);
                return source_set(&c->sources[k], file, line);
        }

        switch (k) {
        case PW_CONFIG_LOG_LEVEL:
                r = log_level_from_string(value);
                if (r < 0)
                        why = "a level from emerg, alert, crit, err, warning, notice, info, debug";
                else
                        c->log_level = r;
                break;
        case PW_CONFIG_PRINT_EVENTS:
                /* A boolean (yes: the human line), or raw: the decoder's key=value line. */
                r = strcmp(value, "raw") == 0 ? 2 : parse_boolean(value);
                if (r < 0)
                        why = "a boolean: yes or no; or raw";
                else
                        c->print_events = r == 2 ? PW_PRINT_EVENTS_RAW : r ? PW_PRINT_EVENTS_HUMAN : PW_PRINT_EVENTS_NO;
                break;
        case PW_CONFIG_TASKSTATS:
        case PW_CONFIG_JOURNAL_FORWARD:
        case PW_CONFIG_JOURNAL_THREADS:
                r = parse_boolean(value);
                if (r < 0)
                        why = "a boolean: yes or no";
                else if (k == PW_CONFIG_TASKSTATS)
                        c->taskstats = r;
                else if (k == PW_CONFIG_JOURNAL_FORWARD)
                        c->journal = r;
                else
                        f->match.threads = r;
                break;
        case PW_CONFIG_RECEIVE_BUFFER:
                r = parse_size_range(value, PW_CONFIG_RCVBUF_MIN, PW_CONFIG_RCVBUF_MAX, &c->rcvbuf);
                why = "a size from 64K to 1G";
                break;
        case PW_CONFIG_RECONCILE_INTERVAL:
                r = parse_number(value, 0, PW_CONFIG_RECONCILE_MAX, &c->reconcile_sec);
                why = "seconds from 0 (only after loss) to 86400";
                break;
        case PW_CONFIG_RETAIN_COUNT:
                r = parse_number(value, 0, PW_CONFIG_RETAIN_COUNT_MAX, &c->retain_count);
                why = "a number from 0 to 10000000";
                break;
        case PW_CONFIG_RETAIN_AGE:
                r = parse_number(value, 0, PW_CONFIG_RETAIN_AGE_MAX, &c->retain_age_sec);
                why = "seconds from 0 to 4294967295";
                break;
        case PW_CONFIG_STRING_BUDGET:
                r = parse_size_range(value, PW_CONFIG_STRING_BUDGET_MIN, PW_CONFIG_STRING_BUDGET_MAX,
                                     &c->string_budget);
                why = "a size from 1M to 16G";
                break;
        case PW_CONFIG_UID_SHARE:
                r = parse_number(value, PW_CONFIG_UID_SHARE_MIN, PW_CONFIG_UID_SHARE_MAX, &c->uid_share_percent);
                why = "a percentage from 1 to 100";
                break;
        case PW_CONFIG_ARGV_MAX:
                r = parse_size_range(value, PW_CONFIG_ARGV_MAX_MIN, PW_CONFIG_ARGV_MAX_MAX, &c->argv_max);
                why = "a size from 4K to 2M";
                break;
        case PW_CONFIG_JOURNAL_EVENTS:
                r = pw_event_kinds_from_string(value, &f->match.kinds);
                why = "comma-separated kinds of" PW_EVENT_KINDS_WORDS ", or all";
                break;
        case PW_CONFIG_JOURNAL_PID:
                r = pw_journal_filter_add_pid(f, value);
                why = "a pid";
                break;
        case PW_CONFIG_JOURNAL_UID:
                r = pw_journal_filter_add_uid(f, value);
                why = "a numeric uid";
                break;
        case PW_CONFIG_JOURNAL_COMM:
                r = pw_journal_filter_add_comm(f, value);
                why = "a glob of at most 255 bytes";
                break;
        case PW_CONFIG_JOURNAL_UNIT:
                r = pw_journal_filter_add_unit(f, value);
                why = "a glob of at most 255 bytes";
                break;
        case PW_CONFIG_JOURNAL_USER_UNIT:
                r = pw_journal_filter_add_user_unit(f, value);
                why = "a glob of at most 255 bytes";
                break;
        case PW_CONFIG_JOURNAL_REDACT:
                r = pw_journal_filter_add_redact(f, value);
                why = "a glob";
                break;
        case PW_CONFIG_JOURNAL_ARGV:
                r = pw_argv_mode_from_string(value);
                if (r >= 0)
                        f->argv_mode = (PwArgvMode) r;
                why = "full, none or redact";
                break;
        case PW_CONFIG_SOCKET: {
                char *copy;

                why = "an absolute path";
                if (value[0] != '/' || strlen(value) >= 108 /* sun_path */) {
                        r = -EINVAL;
                        break;
                }
                copy = strdup(value);
                if (!copy)
                        return -ENOMEM;
                free(c->socket);
                c->socket = copy;
                r = 0;
                break;
        }
        default:
                r = -EINVAL;
                why = "unknown key";
        }
        if (r == -ENOMEM)
                return r;
        if (r == -E2BIG) {
                *reason = "too many values (at most 64)";
                return r;
        }
        if (r < 0) {
                *reason = why;
                return -EINVAL;
        }
        return source_set(&c->sources[k], file, line);
}

/* --- diagnostics ---------------------------------------------------------------------------------- */

_printf_(5, 6) static int diag_add(PwConfigDiags *d, bool error, const char *file, unsigned line, const char *fmt,
                                   ...) {
        PwConfigDiag *x;
        va_list ap;
        int r;

        if (error)
                d->n_errors++;
        else
                d->n_warnings++;
        if (d->n >= PW_CONFIG_DIAGS_MAX) {
                d->n_dropped++;
                return 0;
        }
        x = &d->items[d->n];
        *x = (PwConfigDiag){ .error = error, .line = line };
        if (file && !(x->file = strdup(file)))
                return -ENOMEM;
        va_start(ap, fmt);
        r = vasprintf(&x->message, fmt, ap);
        va_end(ap);
        if (r < 0) {
                x->message = NULL;
                x->file = mfree(x->file);
                return -ENOMEM;
        }
        d->n++;
        return 0;
}

void pw_config_diags_done(PwConfigDiags *d) {
        for (size_t i = 0; i < d->n; i++) {
                free(d->items[i].file);
                free(d->items[i].message);
        }
        *d = (PwConfigDiags){};
}

char *pw_config_diag_format(const PwConfigDiag *d) {
        char *s;
        int r;

        if (d->file && d->line > 0)
                r = asprintf(&s, "%s:%u: %s", d->file, d->line, d->message);
        else if (d->file)
                r = asprintf(&s, "%s: %s", d->file, d->message);
        else
                r = asprintf(&s, "%s", d->message);
        return r < 0 ? NULL : s;
}

/* --- parsing a file ------------------------------------------------------------------------------- */

typedef struct ParseState {
        PwConfig *config;
        PwConfigDiags *diags;
        const char *file;
        const char *p, *end;
        unsigned line;
        int error;             /* -ENOMEM seen */
} ParseState;

/* inih's fgets: one line per call, counted. */
static char *reader(char *str, int num, void *stream) {
        ParseState *s = stream;
        const char *nl;
        size_t len;

        if (s->p >= s->end || num < 2)
                return NULL;
        nl = memchr(s->p, '\n', (size_t) (s->end - s->p));
        len = nl ? (size_t) (nl - s->p) + 1 : (size_t) (s->end - s->p);
        s->line++;
        if (memchr(s->p, '\0', len)) {
                if (diag_add(s->diags, true, s->file, s->line, "Contains a NUL byte.") < 0)
                        s->error = -ENOMEM;
                len = 0;
        } else if (len > (size_t) num - 1 || (len == (size_t) num - 1 && s->p[len - 1] != '\n')) {
                if (diag_add(s->diags, true, s->file, s->line, "Line longer than %d bytes.", num - 2) < 0)
                        s->error = -ENOMEM;
                len = 0;
        }
        if (len == 0) {
                /* The bad line becomes an empty one: inih goes on, and counts it. */
                s->p = nl ? nl + 1 : s->end;
                str[0] = '\n';
                str[1] = '\0';
                return str;
        }
        memcpy(str, s->p, len);
        str[len] = '\0';
        s->p += len;
        return str;
}

static int handler(void *user, const char *section, const char *name, const char *value) {
        ParseState *s = user;
        const char *reason = NULL;
        PwConfigKey k;
        int r;

        if (s->error < 0)
                return 1;
        if (!section || !*section)
                r = diag_add(s->diags, false, s->file, s->line, "%s= outside any section, ignoring.", name);
        else if (!section_known(section))
                r = diag_add(s->diags, false, s->file, s->line, "Unknown section [%s], ignoring %s=.", section,
                             name);
        else if ((k = pw_config_key_from_name(section, name)) < 0)
                r = diag_add(s->diags, false, s->file, s->line, "Unknown key %s= in [%s], ignoring.", name,
                             section);
        else {
                r = pw_config_assign(s->config, k, value, s->file, s->line, &reason);
                if (r == -EINVAL || r == -E2BIG)
                        r = diag_add(s->diags, true, s->file, s->line, "Invalid %s=%s: %s.", name, value, reason);
        }
        if (r < 0)
                s->error = r;
        return 1;
}

int pw_config_parse_text(PwConfig *c, const char *file, const char *text, size_t len, PwConfigDiags *d) {
        ParseState s = { .config = c, .diags = d, .file = file, .p = text, .end = text + len };
        int r;

        r = ini_parse_stream(reader, &s, handler, &s);
        if (s.error < 0)
                return s.error;
        if (r == -2)
                return -ENOMEM;
        if (r > 0)
                return diag_add(d, true, file, (unsigned) r,
                                "Syntax error: expected [Section], Key=Value, a comment or an empty line.");
        return 0;
}

unsigned pw_config_check(const PwConfig *c, PwConfigDiags *d) {
        const PwJournalFilter *f = &c->journal_filter;
        const PwConfigSource *src;
        unsigned n = 0;

        if (f->argv_mode == PW_ARGV_REDACT && f->n_redact == 0) {
                src = &c->sources[PW_CONFIG_JOURNAL_ARGV];
                (void) diag_add(d, true, src->file, src->line, "Argv=redact needs at least one Redact=GLOB.");
                n++;
        }
        if (f->argv_mode != PW_ARGV_REDACT && f->n_redact > 0) {
                src = &c->sources[PW_CONFIG_JOURNAL_REDACT];
                (void) diag_add(d, true, src->file, src->line, "Redact= needs Argv=redact.");
                n++;
        }
        return n;
}

/* --- the command-line layer ----------------------------------------------------------------------- */

int pw_config_layer_add(PwConfigLayer *l, PwConfigKey k, const char *value) {
        PwConfigLayerItem *items;
        char *copy;

        copy = strdup(value ?: "");
        if (!copy)
                return -ENOMEM;
        items = reallocarray(l->items, l->n + 1, sizeof(*items));
        if (!items) {
                free(copy);
                return -ENOMEM;
        }
        l->items = items;
        l->items[l->n++] = (PwConfigLayerItem){ .key = k, .value = copy };
        return 0;
}

void pw_config_layer_done(PwConfigLayer *l) {
        for (size_t i = 0; i < l->n; i++)
                free(l->items[i].value);
        free(l->items);
        *l = (PwConfigLayer){};
}

int pw_config_layer_apply(PwConfig *c, const PwConfigLayer *l, PwConfigDiags *d) {
        bool reset[_PW_CONFIG_KEY_MAX] = {};
        int r;

        if (!l)
                return 0;
        for (size_t i = 0; i < l->n; i++) {
                const PwConfigLayerItem *it = &l->items[i];
                const PwConfigKeyInfo *info = pw_config_key_info(it->key);
                const char *reason = NULL;

                if (!info)
                        continue;
                if (info->list && !reset[it->key]) {
                        reset[it->key] = true;
                        set_default(c, it->key);
                }
                r = pw_config_assign(c, it->key, it->value, PW_CONFIG_SOURCE_CMDLINE, 0, &reason);
                if (r == -EINVAL || r == -E2BIG)
                        r = diag_add(d, true, NULL, 0, "Invalid %s '%s': %s.", info->option, it->value, reason);
                if (r < 0)
                        return r;
        }
        return 0;
}

/* --- finding the files ---------------------------------------------------------------------------- */

typedef struct MergeCtx {
        const char *const *names;
        const unsigned *dir_index;
} MergeCtx;

static int merge_cmp(const void *a, const void *b, void *userdata) {
        const MergeCtx *ctx = userdata;
        size_t i = *(const size_t *) a, j = *(const size_t *) b;
        int r = strcmp(ctx->names[i], ctx->names[j]);

        if (r != 0)
                return r;
        return ctx->dir_index[i] < ctx->dir_index[j] ? -1 : ctx->dir_index[i] > ctx->dir_index[j];
}

size_t pw_config_merge_dropins(const char *const *names, const unsigned *dir_index, size_t n, size_t *order) {
        MergeCtx ctx = { names, dir_index };
        size_t k = 0;

        for (size_t i = 0; i < n; i++)
                order[i] = i;
        qsort_r(order, n, sizeof(size_t), merge_cmp, &ctx);
        for (size_t i = 0; i < n; i++)
                if (k == 0 || strcmp(names[order[k - 1]], names[order[i]]) != 0)
                        order[k++] = order[i];
        return k;
}

void pw_strv_free(char **v) {
        if (!v)
                return;
        for (char **p = v; *p; p++)
                free(*p);
        free(v);
}

void pw_config_files_free(char **files) {
        pw_strv_free(files);
}

static bool is_conf_name(const char *n) {
        size_t l = strlen(n);

        return n[0] != '.' && l > 5 && strcmp(n + l - 5, ".conf") == 0;
}

static char *path_join(const char *root, const char *a, const char *b) {
        char *s;

        if (!root || strcmp(root, "/") == 0)
                root = "";
        if (asprintf(&s, "%s%s%s%s", root, a, b ? "/" : "", b ?: "") < 0)
                return NULL;
        return s;
}

static bool is_regular(const char *path) {
        struct stat st;

        /* Follows symlinks: a link to /dev/null (a character device) masks and is not read. */
        return stat(path, &st) >= 0 && S_ISREG(st.st_mode);
}

int pw_config_find_files(const char *root, char ***ret) {
        static const char *const dirs[PW_CONFIG_N_DROPIN_DIRS] = { PW_CONFIG_DROPIN_DIRS };
        char **names = NULL, **files = NULL;
        unsigned *dir_index = NULL;
        size_t n = 0, n_names = 0, n_files = 0, *order = NULL;
        int r = 0;

        for (unsigned i = 0; i < PW_CONFIG_N_DROPIN_DIRS && r >= 0; i++) {
                _cleanup_(freep) char *dir = path_join(root, dirs[i], NULL);
                DIR *dp;
                struct dirent *de;

                if (!dir) {
                        r = -ENOMEM;
                        break;
                }
                dp = opendir(dir);
                if (!dp) {
                        if (errno != ENOENT && errno != ENOTDIR)
                                r = -errno;
                        continue;
                }
                while ((de = readdir(dp))) {
                        char **nn;
                        unsigned *nd;

                        if (!is_conf_name(de->d_name))
                                continue;
                        if (n >= PW_CONFIG_FILES_MAX) {
                                r = -E2BIG;
                                break;
                        }
                        nn = reallocarray(names, n + 1, sizeof(char *));
                        if (nn)
                                names = nn;
                        nd = reallocarray(dir_index, n + 1, sizeof(unsigned));
                        if (nd)
                                dir_index = nd;
                        if (!nn || !nd || !(names[n] = strdup(de->d_name))) {
                                r = -ENOMEM;
                                break;
                        }
                        dir_index[n++] = i;
                        n_names = n;
                }
                closedir(dp);
        }
        if (r < 0)
                goto finish;

        files = calloc(n + 2, sizeof(char *));
        order = calloc(n + 1, sizeof(size_t));
        if (!files || !order) {
                r = -ENOMEM;
                goto finish;
        }
        files[0] = path_join(root, PW_CONFIG_MAIN_FILE, NULL);
        if (!files[0]) {
                r = -ENOMEM;
                goto finish;
        }
        if (is_regular(files[0]))
                n_files = 1;
        else
                files[0] = mfree(files[0]);

        n = pw_config_merge_dropins((const char *const *) names, dir_index, n, order);
        for (size_t i = 0; i < n; i++) {
                char *p = path_join(root, dirs[dir_index[order[i]]], names[order[i]]);

                if (!p) {
                        r = -ENOMEM;
                        goto finish;
                }
                if (!is_regular(p)) {
                        free(p);
                        continue;
                }
                files[n_files++] = p;
        }
        *ret = TAKE_PTR(files);
        r = (int) n_files;
finish:
        for (size_t i = 0; i < n_names; i++)
                free(names[i]);
        free(names);
        pw_strv_free(files);
        free(order);
        free(dir_index);
        return r;
}

/* The path as the user knows it: without the test root. */
static const char *display_path(const char *root, const char *path) {
        size_t l;

        if (!root || strcmp(root, "/") == 0)
                return path;
        l = strlen(root);
        while (l > 0 && root[l - 1] == '/')
                l--;
        return strncmp(path, root, l) == 0 && path[l] == '/' ? path + l : path;
}

int pw_config_load(PwConfig *c, const char *root, const PwConfigLayer *layer, PwConfigDiags *d, char ***ret_files) {
        char **files = NULL;
        int n, r = 0;

        pw_config_init(c);
        n = pw_config_find_files(root, &files);
        if (n < 0) {
                if (n == -ENOMEM)
                        return n;
                (void) diag_add(d, true, NULL, 0, "Failed to list the configuration folders: %s.", strerror(-n));
                return n;
        }
        for (int i = 0; i < n && r >= 0; i++) {
                _cleanup_(freep) char *text = NULL;
                const char *shown = display_path(root, files[i]);
                size_t len = 0;

                r = read_full_file_at(AT_FDCWD, files[i], PW_CONFIG_FILE_MAX, &text, &len);
                if (r == -ENOMEM)
                        break;
                if (r < 0) {
                        r = diag_add(d, true, shown, 0, "Failed to read: %s.",
                                     r == -EFBIG ? "larger than 1 MiB" : strerror(-r));
                        continue;
                }
                r = pw_config_parse_text(c, shown, text, len, d);
        }
        if (r >= 0)
                r = pw_config_layer_apply(c, layer, d);
        if (r >= 0)
                (void) pw_config_check(c, d);
        if (r >= 0 && ret_files)
                *ret_files = TAKE_PTR(files);
        pw_strv_free(files);
        return r < 0 ? r : 0;
}

/* --- values as strings ---------------------------------------------------------------------------- */

static char *format_size(uint64_t v) {
        static const struct {
                char suffix;
                unsigned shift;
        } units[] = { { 'G', 30 }, { 'M', 20 }, { 'K', 10 } };
        char *s;

        for (size_t i = 0; i < ELEMENTSOF(units); i++)
                if (v > 0 && v % (1ULL << units[i].shift) == 0)
                        return asprintf(&s, "%llu%c", (unsigned long long) (v >> units[i].shift), units[i].suffix) < 0
                                       ? NULL
                                       : s;
        return asprintf(&s, "%llu", (unsigned long long) v) < 0 ? NULL : s;
}

static char *format_number(uint64_t v) {
        char *s;

        return asprintf(&s, "%llu", (unsigned long long) v) < 0 ? NULL : s;
}

int pw_config_key_values(const PwConfig *c, PwConfigKey k, char ***ret) {
        const PwJournalFilter *f = &c->journal_filter;
        char **v;
        size_t n = 0, cap;

        cap = PW_PROCESS_FILTER_VALUES_MAX + 1;
        v = calloc(cap, sizeof(char *));
        if (!v)
                return -ENOMEM;

#define PUSH(expr)                                                                                        \
        do {                                                                                              \
                if (!(v[n] = (expr))) {                                                                   \
                        pw_strv_free(v);                                                                  \
                        return -ENOMEM;                                                                   \
                }                                                                                         \
                n++;                                                                                      \
        } while (0)

        switch (k) {
        case PW_CONFIG_LOG_LEVEL:
                if (c->log_level >= 0 && (size_t) c->log_level < ELEMENTSOF(log_level_names))
                        PUSH(strdup(log_level_names[c->log_level]));
                else
                        PUSH(format_number((uint64_t) c->log_level));
                break;
        case PW_CONFIG_PRINT_EVENTS:
                PUSH(strdup(pw_print_events_to_string(c->print_events)));
                break;
        case PW_CONFIG_TASKSTATS:
                PUSH(strdup(c->taskstats ? "yes" : "no"));
                break;
        case PW_CONFIG_JOURNAL_FORWARD:
                PUSH(strdup(c->journal ? "yes" : "no"));
                break;
        case PW_CONFIG_JOURNAL_THREADS:
                PUSH(strdup(f->match.threads ? "yes" : "no"));
                break;
        case PW_CONFIG_RECEIVE_BUFFER:
                PUSH(format_size(c->rcvbuf));
                break;
        case PW_CONFIG_STRING_BUDGET:
                PUSH(format_size(c->string_budget));
                break;
        case PW_CONFIG_ARGV_MAX:
                PUSH(format_size(c->argv_max));
                break;
        case PW_CONFIG_RECONCILE_INTERVAL:
                PUSH(format_number(c->reconcile_sec));
                break;
        case PW_CONFIG_RETAIN_COUNT:
                PUSH(format_number(c->retain_count));
                break;
        case PW_CONFIG_RETAIN_AGE:
                PUSH(format_number(c->retain_age_sec));
                break;
        case PW_CONFIG_UID_SHARE:
                PUSH(format_number(c->uid_share_percent));
                break;
        case PW_CONFIG_JOURNAL_EVENTS:
                PUSH(pw_event_kinds_to_string(f->match.kinds, ",", true));
                break;
        case PW_CONFIG_JOURNAL_ARGV:
                PUSH(strdup(pw_argv_mode_to_string(f->argv_mode)));
                break;
        case PW_CONFIG_SOCKET:
                PUSH(strdup(c->socket ?: PW_SOCKET_PATH_DEFAULT));
                break;
        case PW_CONFIG_JOURNAL_PID:
                for (size_t i = 0; i < f->match.n_pids; i++)
                        PUSH(format_number((uint64_t) f->match.pids[i]));
                break;
        case PW_CONFIG_JOURNAL_UID:
                for (size_t i = 0; i < f->match.n_uids; i++)
                        PUSH(format_number(f->match.uids[i]));
                break;
        case PW_CONFIG_JOURNAL_COMM:
                for (size_t i = 0; i < f->match.n_comms; i++)
                        PUSH(strdup(f->match.comms[i]));
                break;
        case PW_CONFIG_JOURNAL_UNIT:
                for (size_t i = 0; i < f->match.n_units; i++)
                        PUSH(strdup(f->match.units[i]));
                break;
        case PW_CONFIG_JOURNAL_USER_UNIT:
                for (size_t i = 0; i < f->match.n_user_units; i++)
                        PUSH(strdup(f->match.user_units[i]));
                break;
        case PW_CONFIG_JOURNAL_REDACT:
                for (size_t i = 0; i < f->n_redact; i++)
                        PUSH(strdup(f->redact[i]));
                break;
        default:
                pw_strv_free(v);
                return -EINVAL;
        }
#undef PUSH
        *ret = v;
        return (int) n;
}

int pw_config_key_equal(const PwConfig *a, const PwConfig *b, PwConfigKey k) {
        char **va = NULL, **vb = NULL;
        int na, nb, r;

        na = pw_config_key_values(a, k, &va);
        if (na < 0)
                return na;
        nb = pw_config_key_values(b, k, &vb);
        if (nb < 0) {
                pw_strv_free(va);
                return nb;
        }
        r = na == nb;
        for (int i = 0; r && i < na; i++)
                r = strcmp(va[i], vb[i]) == 0;
        pw_strv_free(va);
        pw_strv_free(vb);
        return r;
}

json_t *pw_config_to_json(const PwConfig *c) {
        _cleanup_(json_decrefp) json_t *settings = json_array();

        if (!settings)
                return NULL;
        for (int k = 0; k < _PW_CONFIG_KEY_MAX; k++) {
                const PwConfigKeyInfo *info = &key_table[k];
                const PwConfigSource *src = &c->sources[k];
                char **v = NULL;
                json_t *value, *o;
                int n;

                n = pw_config_key_values(c, (PwConfigKey) k, &v);
                if (n < 0)
                        return NULL;
                if (info->list) {
                        value = json_array();
                        for (int i = 0; value && i < n; i++)
                                if (json_array_append_new(value, json_string_sanitized(v[i], strlen(v[i]))) < 0)
                                        value = (json_decref(value), NULL);
                } else
                        value = json_string_sanitized(v[0], strlen(v[0]));
                pw_strv_free(v);
                if (!value)
                        return NULL;
                o = json_pack("{s:s, s:s, s:s, s:o, s:o, s:o, s:b}", "section", info->section, "key", info->name,
                              "option", info->option, "value", value, "source",
                              src->file ? json_string_sanitized(src->file, strlen(src->file)) : json_null(), "line",
                              src->file && src->line > 0 ? json_integer(src->line) : json_null(), "live",
                              info->live);
                if (!o || json_array_append_new(settings, o) < 0)
                        return NULL;
        }
        return json_pack("{s:O}", "settings", settings);
}
