/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchctl's human forms. */
#include <errno.h>
#include <grp.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "ctl-format.h"
#include "event-line.h"
#include "format-util.h"
#include "json-util.h"
#include "macro.h"
#include "time-util.h"
#include "utf8.h"

/* --- fields ---------------------------------------------------------------------------------------- */

static bool get_int(const json_t *o, const char *key, int64_t *ret) {
        const json_t *v = json_object_get(o, key);

        if (!json_is_integer(v))
                return false;
        *ret = json_integer_value(v);
        return true;
}

static int64_t int_or(const json_t *o, const char *key, int64_t dflt) {
        int64_t v;
        return get_int(o, key, &v) ? v : dflt;
}

static const char *str_or(const json_t *o, const char *key, const char *dflt) {
        const json_t *v = json_object_get(o, key);
        return json_is_string(v) ? json_string_value(v) : dflt;
}

static char *escape(const char *s, bool utf8) {
        return utf8_escape_display(s, strlen(s), utf8);
}

char *ctl_format_start(char *buf, size_t size, uint64_t realtime_usec, uint64_t now_usec) {
        time_t t = (time_t) (realtime_usec / USEC_PER_SEC);
        bool recent = realtime_usec >= now_usec || now_usec - realtime_usec < 86400 * USEC_PER_SEC;
        struct tm tm;
        size_t n;

        if (!localtime_r(&t, &tm))
                n = 0;
        else if (recent)
                n = strftime(buf, size, "%H:%M:%S", &tm);
        else
                n = strftime(buf, size, "%b%d", &tm);
        if (n == 0)
                snprintf(buf, size, "?");
        return buf;
}

char *ctl_format_ago(char *buf, size_t size, uint64_t realtime_usec, uint64_t now_usec) {
        char d[32];

        if (realtime_usec >= now_usec)
                snprintf(buf, size, "just now");
        else
                snprintf(buf, size, "%s ago", format_duration(d, sizeof(d), now_usec - realtime_usec, FORMAT_DURATION_SHORT));
        return buf;
}

/* --- resources ------------------------------------------------------------------------------------ */

char *ctl_format_bytes_short(char *buf, size_t size, uint64_t bytes) {
        static const char units[] = "BKMGTP";
        double d = (double) bytes;
        unsigned u = 0;

        while (d >= 1024.0 && u + 2 < sizeof(units)) {
                d /= 1024.0;
                u++;
        }
        if (bytes == 0)
                snprintf(buf, size, "0");
        else if (u == 0)
                snprintf(buf, size, "%" PRIu64 "B", bytes);
        else
                snprintf(buf, size, d < 10.0 ? "%.1f%c" : "%.0f%c", d, units[u]);
        return buf;
}

/* A non-negative integer field of o (null, absent or hidden: false). */
static bool get_u64(const json_t *o, const char *key, uint64_t *ret) {
        int64_t v;

        if (!get_int(o, key, &v) || v < 0)
                return false;
        *ret = (uint64_t) v;
        return true;
}

/* The figure ps sorts and shows: false when p has none. */
static bool sort_value(const json_t *p, CtlSortKey key, uint64_t *ret) {
        const json_t *r = json_object_get(p, "resources");
        uint64_t a, b;

        switch (key) {
        case CTL_SORT_CPU:
                return get_u64(r, "cpu_usec", ret);
        case CTL_SORT_RSS:
                return get_u64(r, "max_rss_bytes", ret);
        case CTL_SORT_IO:
                if (!get_u64(r, "read_bytes", &a) || !get_u64(r, "write_bytes", &b))
                        return false;
                *ret = a > UINT64_MAX - b ? UINT64_MAX : a + b;
                return true;
        case CTL_SORT_LIFETIME:
                return get_u64(p, "duration_usec", ret);
        default:
                return false;
        }
}

int ctl_sort_key_from_string(const char *s, CtlSortKey *ret) {
        static const char *const names[_CTL_SORT_MAX] = {
                [CTL_SORT_CPU] = "cpu", [CTL_SORT_RSS] = "rss", [CTL_SORT_IO] = "io", [CTL_SORT_LIFETIME] = "lifetime",
        };

        for (unsigned k = 0; k < _CTL_SORT_MAX; k++)
                if (names[k] && strcmp(s, names[k]) == 0) {
                        *ret = (CtlSortKey) k;
                        return 0;
                }
        return -EINVAL;
}

typedef struct SortItem {
        json_t *p;
        uint64_t value;
        bool has;
        size_t index;
} SortItem;

static int sort_item_cmp(const void *a, const void *b) {
        const SortItem *x = a, *y = b;

        if (x->has != y->has)
                return x->has ? -1 : 1;
        if (x->has && x->value != y->value)
                return x->value > y->value ? -1 : 1;
        /* Ties and processes without the figure keep the daemon's order. */
        return (x->index > y->index) - (x->index < y->index);
}

int ctl_sort_processes(json_t *processes, CtlSortKey key) {
        _cleanup_(freep) SortItem *items = NULL;
        size_t n, i;
        json_t *p;

        if (!json_is_array(processes))
                return -EBADMSG;
        n = json_array_size(processes);
        if (key == CTL_SORT_NONE || n < 2)
                return 0;
        items = calloc(n, sizeof(*items));
        if (!items)
                return -ENOMEM;
        json_array_foreach(processes, i, p) {
                items[i] = (SortItem){ .p = json_incref(p), .index = i };
                items[i].has = sort_value(p, key, &items[i].value);
        }
        qsort(items, n, sizeof(*items), sort_item_cmp);
        /* The array holds its own references: clearing it leaves ours. */
        json_array_clear(processes);
        for (i = 0; i < n; i++)
                if (json_array_append_new(processes, items[i].p) < 0) {
                        for (size_t k = i + 1; k < n; k++)
                                json_decref(items[k].p);
                        return -ENOMEM;
                }
        return 0;
}

/* --- terminal -------------------------------------------------------------------------------------- */

#define ANSI_RED "\033[31m"
#define ANSI_GREEN "\033[32m"
#define ANSI_YELLOW "\033[33m"
#define ANSI_GREY "\033[90m"
#define ANSI_RESET "\033[0m"

static const char *color_on(const CtlFormat *fmt, const char *c) {
        return fmt->color ? c : "";
}

static const char *color_off(const CtlFormat *fmt) {
        return fmt->color ? ANSI_RESET : "";
}

/* The colour of a status text: killed red, failed yellow, ended grey, running green. */
static const char *status_color(const char *status) {
        if (strncmp(status, "killed", 6) == 0)
                return ANSI_RED;
        if (strcmp(status, "exit 0") == 0 || strcmp(status, "gone") == 0 || strcmp(status, "unknown") == 0)
                return ANSI_GREY;
        if (strncmp(status, "exit", 4) == 0)
                return ANSI_YELLOW;
        return ANSI_GREEN;
}

char *ctl_format_timestamp(char *buf, size_t size, uint64_t realtime_usec) {
        time_t t = (time_t) (realtime_usec / USEC_PER_SEC);
        char tmp[64];
        struct tm tm;

        if (!localtime_r(&t, &tm) || strftime(tmp, sizeof(tmp), "%Y-%m-%d %H:%M:%S", &tm) == 0)
                snprintf(buf, size, "?");
        else
                snprintf(buf, size, "%s.%03u", tmp, (unsigned) (realtime_usec % USEC_PER_SEC / 1000));
        return buf;
}

char *ctl_format_status(char *buf, size_t size, const json_t *process) {
        const char *state = str_or(process, "state", "alive");
        const json_t *e = json_object_get(process, "exit");
        int64_t code = 0, sig = 0;
        bool has_code, has_signal;

        if (strcmp(state, "displaced") == 0)
                snprintf(buf, size, "gone");
        else if (strcmp(state, "exited") != 0 || !json_is_object(e))
                snprintf(buf, size, "running");
        else {
                has_code = get_int(e, "code", &code);
                has_signal = get_int(e, "signal", &sig);
                format_exit_status(buf, size, has_code, code, has_signal, sig,
                                   json_is_true(json_object_get(e, "core_dumped")));
        }
        return buf;
}

char *ctl_format_command(const json_t *process, bool utf8) {
        const json_t *argv = json_object_get(process, "argv"), *w;
        _cleanup_(freep) const char **words = NULL;
        size_t n = json_array_size(argv), i;

        words = calloc(n + 1, sizeof(*words));
        if (!words)
                return NULL;
        json_array_foreach(argv, i, w)
                words[i] = json_string_value(w); /* NULL for a non-string: "" */
        return event_line_command(str_or(process, "comm", ""), words, n,
                                  json_is_true(json_object_get(process, "argv_truncated")), utf8);
}

char *ctl_format_field(const json_t *process, const char *key, bool utf8) {
        const json_t *v = json_object_get(process, key);

        return json_is_string(v) ? escape(json_string_value(v), utf8) : strdup("-");
}

/* --- names ----------------------------------------------------------------------------------------- */

#define NAME_CACHE_SIZE 64

typedef struct NameCache {
        uint32_t id[NAME_CACHE_SIZE];
        char name[NAME_CACHE_SIZE][64];
        unsigned n, next;
} NameCache;

static const char *cache_lookup(NameCache *c, uint32_t id, bool user, bool resolve) {
        char buf[4096], name[64];
        unsigned slot;

        for (unsigned i = 0; i < c->n; i++)
                if (c->id[i] == id)
                        return c->name[i];
        snprintf(name, sizeof(name), "%" PRIu32, id);
        if (resolve) {
                if (user) {
                        struct passwd pw, *res = NULL;

                        if (getpwuid_r(id, &pw, buf, sizeof(buf), &res) == 0 && res && strlen(res->pw_name) < sizeof(name))
                                snprintf(name, sizeof(name), "%s", res->pw_name);
                } else {
                        struct group gr, *res = NULL;

                        if (getgrgid_r(id, &gr, buf, sizeof(buf), &res) == 0 && res && strlen(res->gr_name) < sizeof(name))
                                snprintf(name, sizeof(name), "%s", res->gr_name);
                }
        }
        slot = c->n < NAME_CACHE_SIZE ? c->n++ : c->next++ % NAME_CACHE_SIZE;
        c->id[slot] = id;
        memcpy(c->name[slot], name, sizeof(name));
        return c->name[slot];
}

const char *ctl_user_name(uint32_t uid, bool resolve) {
        static NameCache users;
        return cache_lookup(&users, uid, true, resolve);
}

const char *ctl_group_name(uint32_t gid, bool resolve) {
        static NameCache groups;
        return cache_lookup(&groups, gid, false, resolve);
}

int ctl_add_user(json_t *process, bool resolve) {
        int64_t euid;
        const char *name;

        if (!get_int(process, "euid", &euid) || euid < 0 || euid > UINT32_MAX)
                return json_object_set_new(process, "user", json_null()) < 0 ? -ENOMEM : 0;
        name = ctl_user_name((uint32_t) euid, resolve);
        return json_object_set_new(process, "user", json_string_sanitized(name, strlen(name))) < 0 ? -ENOMEM : 0;
}

/* --- tree ------------------------------------------------------------------------------------------ */

int ctl_nest_tree(json_t *flat, json_t **ret) {
        _cleanup_(json_decrefp) json_t *roots = json_array(), *by_id = json_object();
        json_t *p;
        size_t i;

        if (!roots || !by_id)
                return -ENOMEM;
        if (!json_is_array(flat))
                return -EBADMSG;
        json_array_foreach(flat, i, p) {
                const char *id = str_or(p, "id", NULL), *parent_id = str_or(p, "parent_id", NULL);
                json_t *parent = parent_id ? json_object_get(by_id, parent_id) : NULL;

                if (!json_is_object(p) || !id)
                        return -EBADMSG;
                if (json_object_set_new(p, "children", json_array()) < 0)
                        return -ENOMEM;
                /* Parents come first in the daemon's depth-first order; anything else is a root. */
                if (parent && parent != p) {
                        if (json_array_append(json_object_get(parent, "children"), p) < 0)
                                return -ENOMEM;
                } else if (json_array_append(roots, p) < 0)
                        return -ENOMEM;
                if (json_object_set(by_id, id, p) < 0)
                        return -ENOMEM;
        }
        *ret = TAKE_PTR(roots);
        return 0;
}

static void lifetime_note(char *buf, size_t size, const json_t *p) {
        char d[32], status[64];
        const char *state = str_or(p, "state", "alive");

        format_duration(d, sizeof(d), (uint64_t) MAX(int_or(p, "duration_usec", 0), 0), FORMAT_DURATION_SHORT);
        if (strcmp(state, "alive") == 0)
                snprintf(buf, size, "up %s", d);
        else if (strcmp(state, "displaced") == 0)
                snprintf(buf, size, "gone, seen for %s", d);
        else
                snprintf(buf, size, "%s, lived %s", ctl_format_status(status, sizeof(status), p), d);
}

typedef struct TreeState {
        FILE *f;
        const CtlFormat *fmt;
        char *prefix;
        size_t len, alloc;
} TreeState;

static int tree_print_node(TreeState *t, const json_t *p, int branch /* -1 root, 0 middle, 1 last */) {
        static const char *const utf8_parts[] = { "\u251c\u2500", "\u2514\u2500", "\u2502 ", "  " };
        static const char *const ascii_parts[] = { "|-", "`-", "| ", "  " };
        const char *const *parts = t->fmt->utf8 ? utf8_parts : ascii_parts;
        const json_t *children = json_object_get(p, "children"), *c;
        _cleanup_(freep) char *comm = ctl_format_field(p, "comm", t->fmt->utf8);
        size_t old_len = t->len, i, n;
        char note[128];
        int r;

        if (!comm)
                return -ENOMEM;
        lifetime_note(note, sizeof(note), p);
        {
                _cleanup_(freep) char *line = NULL;
                char status[64];
                size_t cut;

                if (asprintf(&line, "%.*s%s%s(%" PRId64 ") ", (int) t->len, t->prefix ?: "",
                             branch < 0 ? "" : parts[branch], comm, int_or(p, "pid", 0)) < 0)
                        return -ENOMEM;
                /* The note stays whole when the terminal is narrow: the name part is cut instead. */
                cut = t->fmt->columns > utf8_cells(note) + 2 ? t->fmt->columns - utf8_cells(note) - 2 : 0;
                if (t->fmt->columns > 0 && cut == 0)
                        cut = 1;
                fprintf(t->f, "%.*s%s[%s]%s\n", (int) utf8_fit(line, cut), line,
                        color_on(t->fmt, status_color(ctl_format_status(status, sizeof(status), p))), note,
                        color_off(t->fmt));
        }

        if (branch >= 0) {
                const char *add = parts[branch == 1 ? 3 : 2];
                size_t al = strlen(add);

                if (t->len + al + 1 > t->alloc) {
                        size_t na = MAX(t->alloc * 2, t->len + al + 64);
                        char *np = realloc(t->prefix, na);

                        if (!np)
                                return -ENOMEM;
                        t->prefix = np;
                        t->alloc = na;
                }
                memcpy(t->prefix + t->len, add, al);
                t->len += al;
        }
        n = json_is_array(children) ? json_array_size(children) : 0;
        for (i = 0; i < n; i++) {
                c = json_array_get(children, i);
                if (!json_is_object(c))
                        continue;
                r = tree_print_node(t, c, i + 1 == n ? 1 : 0);
                if (r < 0)
                        return r;
        }
        t->len = old_len;
        return 0;
}

int ctl_print_tree(FILE *f, const json_t *roots, const CtlFormat *fmt) {
        TreeState t = { .f = f, .fmt = fmt };
        const json_t *p;
        size_t i;
        int r = 0;

        json_array_foreach(roots, i, p) {
                r = tree_print_node(&t, p, -1);
                if (r < 0)
                        break;
        }
        free(t.prefix);
        return r;
}

/* --- ps -------------------------------------------------------------------------------------------- */

#define PS_COLUMNS 10
#define PS_STATUS 8

/* A resource figure of an exited process for a ps column: "-" when it has none (alive, resources
 * unknown, taskstats off, or hidden from the caller). */
static char *ps_resource_cell(const json_t *p, CtlSortKey key) {
        char buf[32];
        uint64_t v;

        if (!sort_value(p, key, &v))
                return strdup("-");
        if (key == CTL_SORT_CPU)
                return strdup(format_duration(buf, sizeof(buf), v, FORMAT_DURATION_SHORT));
        return strdup(ctl_format_bytes_short(buf, sizeof(buf), v));
}

int ctl_print_ps(FILE *f, const json_t *processes, const CtlFormat *fmt) {
        static const char *const header[PS_COLUMNS] = { "PID", "PPID", "USER", "START",  "LIFETIME",
                                                         "CPU", "MAXRSS", "IO",  "STATUS", "CMD" };
        /* Numbers right-aligned, text left-aligned, as ps does. */
        static const bool right[PS_COLUMNS] = { true, true, false, false, true, true, true, true, false, false };
        size_t n = json_array_size(processes), width[PS_COLUMNS], i;
        _cleanup_(freep) char **cells = NULL;
        const json_t *p;
        int r = 0;

        cells = calloc(n * PS_COLUMNS + 1, sizeof(char *));
        if (!cells)
                return -ENOMEM;
        for (unsigned k = 0; k < PS_COLUMNS; k++)
                width[k] = strlen(header[k]);

        json_array_foreach(processes, i, p) {
                char **row = cells + i * PS_COLUMNS, buf[64];

                if (asprintf(&row[0], "%" PRId64, int_or(p, "pid", 0)) < 0)
                        row[0] = NULL;
                if (asprintf(&row[1], "%" PRId64, int_or(p, "ppid", 0)) < 0)
                        row[1] = NULL;
                row[2] = escape(ctl_user_name((uint32_t) int_or(p, "euid", 0), fmt->resolve_names), fmt->utf8);
                row[3] = strdup(ctl_format_start(buf, sizeof(buf), (uint64_t) MAX(int_or(p, "start_realtime_usec", 0), 0),
                                                 fmt->now_usec));
                row[4] = strdup(format_duration(buf, sizeof(buf), (uint64_t) MAX(int_or(p, "duration_usec", 0), 0), FORMAT_DURATION_SHORT));
                row[5] = ps_resource_cell(p, CTL_SORT_CPU);
                row[6] = ps_resource_cell(p, CTL_SORT_RSS);
                row[7] = ps_resource_cell(p, CTL_SORT_IO);
                row[PS_STATUS] = strdup(ctl_format_status(buf, sizeof(buf), p));
                row[9] = ctl_format_command(p, fmt->utf8);
                for (unsigned k = 0; k < PS_COLUMNS; k++) {
                        if (!row[k]) {
                                r = -ENOMEM;
                                goto finish;
                        }
                        width[k] = MAX(width[k], strlen(row[k]));
                }
        }

        size_t used = 0;

        for (unsigned k = 0; k + 1 < PS_COLUMNS; k++)
                used += width[k] + 1;
        for (size_t row = 0; row <= n; row++)
                for (unsigned k = 0; k < PS_COLUMNS; k++) {
                        const char *s = row == 0 ? header[k] : cells[(row - 1) * PS_COLUMNS + k];

                        if (k + 1 == PS_COLUMNS) {
                                /* The command takes what the terminal has left, at least 10 cells. */
                                size_t room = fmt->columns == 0 ? 0 : fmt->columns > used + 10 ? fmt->columns - used : 10;

                                fprintf(f, "%.*s\n", (int) utf8_fit(s, room), s);
                        } else if (right[k])
                                fprintf(f, "%*s ", (int) width[k], s);
                        else if (k == PS_STATUS && row > 0)
                                fprintf(f, "%s%s%s%*s ", color_on(fmt, status_color(s)), s, color_off(fmt),
                                        (int) (width[k] - strlen(s)), "");
                        else
                                fprintf(f, "%-*s ", (int) width[k], s);
                }
finish:
        for (i = 0; i < n * PS_COLUMNS; i++)
                free(cells[i]);
        return r;
}

/* --- show ------------------------------------------------------------------------------------------ */

static void show_line(FILE *f, const char *label, const char *value) {
        fprintf(f, "%14s: %s\n", label, value);
}

/* "8.1s (user 7.9s, system 200ms)". */
static void cpu_text(char *buf, size_t size, const json_t *r) {
        char t[3][32];
        uint64_t cpu = 0, user, system;

        (void) get_u64(r, "cpu_usec", &cpu);
        format_duration(t[0], sizeof(t[0]), cpu, FORMAT_DURATION_SHORT);
        if (get_u64(r, "cpu_user_usec", &user) && get_u64(r, "cpu_system_usec", &system))
                snprintf(buf, size, "%s (user %s, system %s)", t[0], format_duration(t[1], sizeof(t[1]), user, FORMAT_DURATION_SHORT),
                         format_duration(t[2], sizeof(t[2]), system, FORMAT_DURATION_SHORT));
        else
                snprintf(buf, size, "%s", t[0]);
}

/* "storage read 0 B, written 20 MiB, cancelled 0 B" (with_storage), "read 4.0 KiB, written 20 MiB"
 * for the syscall figures; "hidden" when the caller may not read them (the ptrace-read rule). */
static void io_text(char *buf, size_t size, const json_t *r, bool storage) {
        char a[32], b[32], c[32];
        uint64_t rd, wr, cancelled;

        if (storage) {
                if (!get_u64(r, "read_bytes", &rd) || !get_u64(r, "write_bytes", &wr) ||
                    !get_u64(r, "cancelled_write_bytes", &cancelled)) {
                        snprintf(buf, size, "hidden");
                        return;
                }
                snprintf(buf, size, "read %s, written %s, cancelled %s", format_bytes(a, sizeof(a), rd),
                         format_bytes(b, sizeof(b), wr), format_bytes(c, sizeof(c), cancelled));
        } else if (!get_u64(r, "read_syscall_bytes", &rd) || !get_u64(r, "write_syscall_bytes", &wr))
                snprintf(buf, size, "hidden");
        else
                snprintf(buf, size, "read %s, written %s", format_bytes(a, sizeof(a), rd), format_bytes(b, sizeof(b), wr));
}

/* "cpu 1.2ms (34), blkio 3ms (2)": the delays that happened, then "others hidden" when some kinds
 * are kept from the caller (null); false when there is nothing to say. */
static bool delays_text(char *buf, size_t size, const json_t *r) {
        const json_t *delays = json_object_get(r, "delays"), *d;
        const char *name;
        bool hidden = json_is_null(delays);
        size_t len = 0;

        buf[0] = 0;
        json_object_foreach((json_t *) delays, name, d) {
                uint64_t count, total;
                char t[32];
                int k;

                if (json_is_null(d))
                        hidden = true;
                if (!get_u64(d, "count", &count) || !get_u64(d, "total_ns", &total) || count == 0)
                        continue;
                k = snprintf(buf + len, size - len, "%s%s %s (%" PRIu64 ")", len > 0 ? ", " : "", name,
                             format_duration(t, sizeof(t), total / 1000U, FORMAT_DURATION_SHORT), count);
                if (k < 0 || (size_t) k >= size - len)
                        break;
                len += (size_t) k;
        }
        if (hidden && len < size)
                snprintf(buf + len, size - len, "%s", len > 0 ? "; others hidden" : "hidden");
        return buf[0] != 0;
}

/* What the process and its exited descendants cost (taskstats): nothing while alive without exited
 * descendants, or with taskstats off. */
static void show_resources(FILE *f, const json_t *p) {
        const json_t *r = json_object_get(p, "resources"), *sub = json_object_get(p, "subtree_resources");
        const char *rstate = str_or(p, "resources_state", NULL);
        char buf[512], storage[160], calls[160], a[32];
        uint64_t x, y;

        if (json_is_object(r)) {
                show_line(f, "Resources", json_is_true(json_object_get(r, "uncertain"))
                                                  ? "uncertain: joined just after records were lost"
                                                  : "from the kernel's exit record");
                cpu_text(buf, sizeof(buf), r);
                show_line(f, "CPU", buf);
                if (get_u64(r, "elapsed_usec", &x))
                        show_line(f, "Elapsed", format_duration(buf, sizeof(buf), x, FORMAT_DURATION_SHORT));
                if (get_u64(r, "max_rss_bytes", &x))
                        show_line(f, "Max RSS", format_bytes(buf, sizeof(buf), x));
                if (get_u64(r, "max_vm_bytes", &x))
                        show_line(f, "Max VM", format_bytes(buf, sizeof(buf), x));
                if (get_u64(r, "minor_faults", &x) && get_u64(r, "major_faults", &y)) {
                        snprintf(buf, sizeof(buf), "%" PRIu64 " minor, %" PRIu64 " major", x, y);
                        show_line(f, "Faults", buf);
                }
                io_text(buf, sizeof(buf), r, true);
                show_line(f, "Storage I/O", buf);
                io_text(buf, sizeof(buf), r, false);
                show_line(f, "Syscall I/O", buf);
                if (get_u64(r, "voluntary_ctxsw", &x) && get_u64(r, "involuntary_ctxsw", &y)) {
                        snprintf(buf, sizeof(buf), "%" PRIu64 " voluntary, %" PRIu64 " involuntary", x, y);
                        show_line(f, "Ctx switches", buf);
                }
                if (delays_text(buf, sizeof(buf), r))
                        show_line(f, "Delays", buf);
        } else if (rstate && strcmp(rstate, "missing") == 0)
                show_line(f, "Resources", "unknown: no exit record came");

        if (!json_is_object(sub))
                return;
        snprintf(buf, sizeof(buf), "%" PRId64 " processes summed, %" PRId64 " missing, %" PRId64 " uncertain",
                 int_or(sub, "processes", 0), int_or(sub, "missing", 0), int_or(sub, "uncertain", 0));
        show_line(f, "Subtree", buf);
        cpu_text(buf, sizeof(buf), sub);
        show_line(f, "Subtree CPU", buf);
        if (get_u64(sub, "max_rss_bytes", &x)) {
                snprintf(buf, sizeof(buf), "%s (the largest process)", format_bytes(a, sizeof(a), x));
                show_line(f, "Subtree RSS", buf);
        }
        if (get_u64(sub, "minor_faults", &x) && get_u64(sub, "major_faults", &y)) {
                snprintf(buf, sizeof(buf), "%" PRIu64 " minor, %" PRIu64 " major", x, y);
                show_line(f, "Subtree faults", buf);
        }
        io_text(storage, sizeof(storage), sub, true);
        io_text(calls, sizeof(calls), sub, false);
        snprintf(buf, sizeof(buf), "storage %s; syscalls %s", storage, calls);
        show_line(f, "Subtree I/O", buf);
}

int ctl_print_show(FILE *f, const json_t *p, const CtlFormat *fmt) {
        _cleanup_(freep) char *comm = ctl_format_field(p, "comm", fmt->utf8), *cmd = ctl_format_command(p, fmt->utf8),
                             *exe = ctl_format_field(p, "exe", fmt->utf8), *unit = ctl_format_field(p, "unit", fmt->utf8),
                             *cgroup = ctl_format_field(p, "cgroup", fmt->utf8),
                             *user_unit = ctl_format_field(p, "user_unit", fmt->utf8);
        const json_t *hist = json_object_get(p, "comm_history"), *children = json_object_get(p, "children"),
                     *unc = json_object_get(p, "uncertain"), *v;
        char buf[512], t1[64], t2[64];
        int64_t x;
        size_t i;

        if (!comm || !cmd || !exe || !unit || !cgroup || !user_unit)
                return -ENOMEM;

        fprintf(f, "%s (pid %" PRId64 ")\n", comm, int_or(p, "pid", 0));
        show_line(f, "Id", str_or(p, "id", "-"));
        show_line(f, "Status", ctl_format_status(buf, sizeof(buf), p));
        show_line(f, "Command", cmd);
        show_line(f, "Executable", exe);
        if (get_int(p, "original_ppid", &x))
                snprintf(buf, sizeof(buf), "%" PRId64 " (%s), originally %" PRId64, int_or(p, "ppid", 0),
                         str_or(p, "parent_id", "unknown"), x);
        else
                snprintf(buf, sizeof(buf), "%" PRId64 " (%s)", int_or(p, "ppid", 0), str_or(p, "parent_id", "unknown"));
        show_line(f, "Parent", buf);
        snprintf(buf, sizeof(buf), "%" PRId64, int_or(p, "sid", 0));
        show_line(f, "Session", buf);
        snprintf(t1, sizeof(t1), "%s", ctl_user_name((uint32_t) int_or(p, "uid", 0), fmt->resolve_names));
        snprintf(t2, sizeof(t2), "%s", ctl_user_name((uint32_t) int_or(p, "euid", 0), fmt->resolve_names));
        snprintf(buf, sizeof(buf), "%s (uid %" PRId64 "), effective %s (uid %" PRId64 ")", t1, int_or(p, "uid", 0), t2,
                 int_or(p, "euid", 0));
        show_line(f, "User", buf);
        snprintf(t1, sizeof(t1), "%s", ctl_group_name((uint32_t) int_or(p, "gid", 0), fmt->resolve_names));
        snprintf(t2, sizeof(t2), "%s", ctl_group_name((uint32_t) int_or(p, "egid", 0), fmt->resolve_names));
        snprintf(buf, sizeof(buf), "%s (gid %" PRId64 "), effective %s (gid %" PRId64 ")", t1, int_or(p, "gid", 0), t2,
                 int_or(p, "egid", 0));
        show_line(f, "Group", buf);
        show_line(f, "Unit", unit);
        if (json_is_string(json_object_get(p, "user_unit")))
                show_line(f, "User unit", user_unit);
        show_line(f, "Cgroup", cgroup);

        ctl_format_timestamp(t1, sizeof(t1), (uint64_t) MAX(int_or(p, "start_realtime_usec", 0), 0));
        if (fmt->now_usec > 0) {
                ctl_format_ago(t2, sizeof(t2), (uint64_t) MAX(int_or(p, "start_realtime_usec", 0), 0), fmt->now_usec);
                snprintf(buf, sizeof(buf), "%s (%s)", t1, t2);
        } else
                snprintf(buf, sizeof(buf), "%s", t1);
        show_line(f, "Started", buf);
        if (get_int(p, "exit_realtime_usec", &x))
                show_line(f, "Ended", ctl_format_timestamp(buf, sizeof(buf), (uint64_t) MAX(x, 0)));
        format_duration(t1, sizeof(t1), (uint64_t) MAX(int_or(p, "duration_usec", 0), 0), FORMAT_DURATION_SHORT);
        snprintf(buf, sizeof(buf), "%s%s", t1, strcmp(str_or(p, "state", "alive"), "exited") == 0 ? "" : " so far");
        show_line(f, "Lifetime", buf);
        snprintf(buf, sizeof(buf), "%" PRId64, int_or(p, "threads", 0));
        show_line(f, "Threads", buf);
        if (get_int(p, "tracer", &x)) {
                snprintf(buf, sizeof(buf), "%" PRId64, x);
                show_line(f, "Traced by", buf);
        }

        fprintf(f, "%14s:", "Children");
        if (json_array_size(children) == 0)
                fputs(" -", f);
        json_array_foreach(children, i, v)
                fprintf(f, " %" PRId64, json_is_integer(v) ? (int64_t) json_integer_value(v) : 0);
        fputc('\n', f);

        json_array_foreach(hist, i, v) {
                _cleanup_(freep) char *o = ctl_format_field(v, "old", fmt->utf8), *nw = ctl_format_field(v, "new", fmt->utf8);

                if (!o || !nw)
                        return -ENOMEM;
                ctl_format_timestamp(t1, sizeof(t1), (uint64_t) MAX(int_or(v, "time_realtime_usec", 0), 0));
                if (i == 0)
                        fprintf(f, "%14s: %s %s -> %s\n", "Renamed", t1, o, nw);
                else
                        fprintf(f, "%14s  %s %s -> %s\n", "", t1, o, nw);
        }
        show_resources(f, p);
        show_line(f, "Source", str_or(p, "source", "-"));
        fprintf(f, "%14s:", "Uncertain");
        if (json_array_size(unc) == 0)
                fputs(" -", f);
        json_array_foreach(unc, i, v)
                fprintf(f, " %s", json_is_string(v) ? json_string_value(v) : "?");
        fputc('\n', f);
        return 0;
}

/* --- stats ----------------------------------------------------------------------------------------- */

static void stats_value(FILE *f, const json_t *v) {
        if (json_is_integer(v))
                fprintf(f, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        else if (json_is_real(v))
                fprintf(f, "%.1f", json_real_value(v));
        else if (json_is_string(v)) {
                _cleanup_(freep) char *s = escape(json_string_value(v), false);
                fputs(s ?: "?", f);
        } else
                fputs(json_is_true(v) ? "yes" : json_is_false(v) ? "no" : "-", f);
}

static void stats_label(char *buf, size_t size, const char *key) {
        snprintf(buf, size, "%s", key);
        for (char *c = buf; *c; c++)
                if (*c == '_')
                        *c = ' ';
}

int ctl_print_stats(FILE *f, const json_t *stats) {
        const char *key, *sub;
        const json_t *v, *w;
        char label[64];

        /* In the daemon's order, which groups the figures. */
        json_object_foreach((json_t *) stats, key, v) {
                stats_label(label, sizeof(label), key);
                if (json_is_object(v)) {
                        fprintf(f, "%s:\n", label);
                        json_object_foreach((json_t *) v, sub, w) {
                                stats_label(label, sizeof(label), sub);
                                fprintf(f, "  %-22s ", label);
                                stats_value(f, w);
                                fputc('\n', f);
                        }
                        continue;
                }
                if (json_is_array(v)) {
                        /* A list of objects (budget_uids): one line each, "uid 65534: string bytes 1, ...". */
                        size_t i;

                        if (json_array_size(v) == 0) {
                                fprintf(f, "%-24s -\n", label);
                                continue;
                        }
                        fprintf(f, "%s:\n", label);
                        json_array_foreach((json_t *) v, i, w) {
                                const json_t *x;
                                unsigned k = 0;

                                json_object_foreach((json_t *) w, sub, x) {
                                        stats_label(label, sizeof(label), sub);
                                        fprintf(f, "%s%s ", k == 0 ? "  " : k == 1 ? ": " : ", ", label);
                                        stats_value(f, x);
                                        k++;
                                }
                                fputc('\n', f);
                        }
                        continue;
                }
                fprintf(f, "%-24s ", label);
                stats_value(f, v);
                fputc('\n', f);
        }
        return 0;
}

/* --- events ---------------------------------------------------------------------------------------- */

int ctl_print_event(FILE *f, const json_t *e, const CtlFormat *fmt) {
        const json_t *p = json_object_get(e, "process"), *r = json_object_get(p, "resources");
        const char *rstate = str_or(p, "resources_state", NULL);
        _cleanup_(freep) char *command = NULL;
        char status[64];
        int64_t v = 0;
        EventLine l = {
                .kind = str_or(e, "kind", "?"),
                .realtime_usec = (uint64_t) MAX(int_or(e, "time_realtime_usec", 0), 0),
                .pid = int_or(e, "pid", 0),
                .tid = int_or(e, "tid", 0),
                .thread = json_is_true(json_object_get(e, "thread")),
                .has_process = json_is_object(p),
                .comm = str_or(p, "comm", ""),
                .parent_pid = int_or(e, "parent_pid", 0),
                .has_lifetime = get_int(e, "lifetime_usec", &v),
                .status = ctl_format_status(status, sizeof(status), p),
                .uid = int_or(p, "uid", 0),
                .euid = int_or(p, "euid", 0),
                .gid = int_or(p, "gid", 0),
                .egid = int_or(p, "egid", 0),
                .sid = int_or(p, "sid", 0),
        };

        if (l.has_lifetime)
                l.lifetime_usec = (uint64_t) MAX(v, 0);
        l.has_tracer = get_int(p, "tracer", &l.tracer);
        if (get_u64(r, "cpu_usec", &l.cpu_usec) && get_u64(r, "max_rss_bytes", &l.max_rss_bytes))
                l.cost = EVENT_LINE_COST_KNOWN;
        else if (rstate && strcmp(rstate, "missing") == 0)
                l.cost = EVENT_LINE_COST_MISSING;
        if (l.has_process && strcmp(l.kind, "exec") == 0) {
                command = ctl_format_command(p, fmt->utf8);
                if (!command)
                        return -ENOMEM;
                l.command = command;
        }
        return event_line_print(f, &l, &(EventLineStyle){ .utf8 = fmt->utf8, .color = fmt->color, .columns = fmt->columns });
}

int ctl_print_missed(FILE *f, uint64_t missed, const CtlFormat *fmt) {
        fprintf(f, "%s-- %" PRIu64 " event%s missed: procwatchctl did not keep up --%s\n", color_on(fmt, ANSI_YELLOW),
                missed, missed == 1 ? "" : "s", color_off(fmt));
        return 0;
}
