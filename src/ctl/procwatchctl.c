/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchctl: asks procwatchd about processes over its Varlink socket. A verb table; each verb
 * makes one call and prints the reply as JSON or in a human form. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <langinfo.h>
#include <locale.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ctl-client.h"
#include "ctl-format.h"
#include "ctl-json.h"
#include "event-kind.h"
#include "json-util.h"
#include "log.h"
#include "parse-util.h"
#include "procwatch/protocol.h"

static const char *arg_socket = PW_SOCKET_PATH_DEFAULT;
static bool arg_json = false;
static PwStateFilter arg_state = PW_STATE_FILTER_ALL;
static int64_t arg_depth = -1;
static int64_t arg_uid = -1;
static const char *arg_comm = NULL;
static const char *arg_unit = NULL;
static const char *arg_user_unit = NULL;
static unsigned arg_kinds = 0;      /* events: PW_EVENT_KIND_BIT()s named by --kind */
static int64_t arg_pid = 0;         /* events: subtree */
static bool arg_threads = false;
static CtlSortKey arg_sort = CTL_SORT_NONE; /* ps */

/* Which of the verb-specific options a verb takes. */
typedef enum VerbFlags {
        VERB_STATE = 1 << 0,   /* --alive, --exited */
        VERB_FILTERS = 1 << 1, /* --uid, --user, --comm, --unit, --user-unit */
        VERB_DEPTH = 1 << 2,   /* --depth */
        VERB_EVENTS = 1 << 3,  /* --kind, --pid, --threads */
        VERB_SORT = 1 << 4,    /* --sort */
} VerbFlags;

typedef struct Verb {
        const char *name;
        unsigned min_args, max_args;
        unsigned flags;
        int (*run)(CtlClient *c, char **args);
} Verb;

static void help(void) {
        printf("Usage: procwatchctl [OPTIONS] COMMAND ...\n"
               "\n"
               "Ask procwatchd about the processes of this machine, alive or recently exited.\n"
               "\n"
               "Commands:\n"
               "  show PID|ID        Show one process (by pid: the live one, else the most\n"
               "                     recent that exited; by id \"PID:START\": exactly that one)\n"
               "  ps                 List every process procwatchd knows, alive and exited\n"
               "  tree [PID]         Show the process tree, from PID or from every root\n"
               "  stats              Show procwatchd's counters\n"
               "  events             Print process events live, one line each, until interrupted\n"
               "  drop-retained      Make procwatchd forget the exited processes it keeps (root)\n"
               "  reload             Make procwatchd re-read its configuration files (root)\n"
               "  config             Show the configuration in force and where each value came\n"
               "                     from\n"
               "\n"
               "Options:\n"
               "  -h, --help         Show this help and exit\n"
               "      --version      Show the version and exit\n"
               "  -j, --json         Print the daemon's JSON (tree: nested by \"children\")\n"
               "      --socket=PATH  Talk to the daemon at PATH (default %s)\n"
               "      --alive        ps, tree: only processes still alive\n"
               "      --exited       ps: only processes that ended\n"
               "      --uid=UID, --user=NAME\n"
               "                     ps, events: only processes with this real or effective user\n"
               "      --comm=GLOB    ps, events: only processes whose name matches GLOB\n"
               "                     (a shell pattern, as in fnmatch(3))\n"
               "      --unit=GLOB    ps, events: only processes in a matching system unit\n"
               "      --user-unit=GLOB\n"
               "                     ps, events: only processes in a matching unit of a\n"
               "                     user's service manager (below user@UID.service)\n"
               "      --sort=KEY     ps: largest first by cpu, rss, io (storage bytes) or\n"
               "                     lifetime\n"
               "      --depth=N      tree: at most N levels below the root\n"
               "      --kind=KIND[,KIND...]\n"
               "                     events: only these kinds, or all (--kind=help lists\n"
               "                     them)\n"
               "      --pid=PID      events: only PID and its descendants\n"
               "      --threads      events: also events about threads other than the leader\n"
               "\n"
               "Exit status: 0 success, 1 failure, 2 usage, 3 procwatchd not running,\n"
               "4 permission denied, 5 no such process. See procwatchctl(1).\n",
               PW_SOCKET_PATH_DEFAULT);
}

static int oom(void) {
        log_oom();
        return CTL_EXIT_FAILURE;
}

static bool terminal_utf8(void) {
        const char *cs = nl_langinfo(CODESET);
        return cs && strcmp(cs, "UTF-8") == 0;
}

/* Colour only for a terminal, and never when NO_COLOR is set (https://no-color.org) or TERM=dumb. */
static bool use_color(void) {
        const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");

        if (nc && *nc)
                return false;
        if (term && strcmp(term, "dumb") == 0)
                return false;
        return isatty(STDOUT_FILENO) > 0;
}

/* The width to fit: $COLUMNS when set, else the terminal's; 0 (no limit) when not a terminal. */
static unsigned terminal_columns(void) {
        const char *e = getenv("COLUMNS");
        struct winsize ws = {};
        uint64_t v;

        if (e && parse_number(e, 1, 100000, &v) >= 0)
                return (unsigned) v;
        if (!isatty(STDOUT_FILENO) || ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) < 0 || ws.ws_col == 0)
                return 0;
        return ws.ws_col;
}

static CtlFormat format_options(void) {
        return (CtlFormat){
                .utf8 = terminal_utf8(),
                .now_usec = now_usec(CLOCK_REALTIME),
                .resolve_names = true,
                .color = use_color(),
                .columns = terminal_columns(),
        };
}

static int print_json(json_t *j) {
        if (json_dumpf(j, stdout, JSON_INDENT(2)) < 0 || fputc('\n', stdout) == EOF)
                return log_error_errno(-EIO, "Failed to write the output: %m");
        return 0;
}

/* Turns a failed call (r < 0) or a Varlink error into a message and an exit status. Returns 0 with
 * the reply, or the exit status (> 0). */
static int call_result(const char *method, int r, CtlReply *ret) {
        _cleanup_(freep) char *text = NULL;

        if (r == -ECONNRESET) {
                log_error("procwatchd closed the connection without a reply (too many clients?).");
                return CTL_EXIT_FAILURE;
        }
        if (r < 0) {
                log_error_errno(r, "Call to %s failed: %m", method);
                return CTL_EXIT_FAILURE;
        }
        if (!ret->error)
                return 0;

        if (strcmp(ret->error, PW_VARLINK_ERROR_NO_SUCH_PROCESS) == 0) {
                json_t *pid = json_object_get(ret->parameters, "pid"), *id = json_object_get(ret->parameters, "id");

                if (json_is_string(id)) {
                        _cleanup_(freep) char *e = utf8_escape_display(json_string_value(id),
                                                                       json_string_length(id), false);
                        log_error("No process with id %s is known.", e ?: "?");
                } else if (json_is_integer(pid))
                        log_error("No process with pid %" JSON_INTEGER_FORMAT " is known.", json_integer_value(pid));
                else
                        log_error("No such process.");
                ctl_reply_done(ret);
                return CTL_EXIT_NO_SUCH_PROCESS;
        }
        if (strcmp(ret->error, PW_VARLINK_ERROR_CONFIG_INVALID) == 0) {
                json_t *e;
                size_t i;

                log_error("The configuration is invalid; procwatchd keeps the one it runs:");
                json_array_foreach(json_object_get(ret->parameters, "errors"), i, e) {
                        _cleanup_(freep) char *d = utf8_escape_display(json_string_value(e) ?: "?",
                                                                       json_string_length(e), true);
                        log_error("  %s", d ?: "?");
                }
                ctl_reply_done(ret);
                return CTL_EXIT_FAILURE;
        }
        if (strcmp(ret->error, PW_VARLINK_ERROR_PERMISSION_DENIED) == 0) {
                log_error("Permission denied: %s is for root only.", method);
                ctl_reply_done(ret);
                return CTL_EXIT_PERMISSION;
        }
        if (strcmp(ret->error, PW_VARLINK_ERROR_LIMIT_REACHED) == 0 &&
            json_is_string(json_object_get(ret->parameters, "limit"))) {
                log_error("procwatchd refused: this user has reached its limit of %s (see procwatchd(8), LIMITS).",
                          json_string_value(json_object_get(ret->parameters, "limit")));
                ctl_reply_done(ret);
                return CTL_EXIT_FAILURE;
        }
        text = json_dumps(ret->parameters, JSON_COMPACT);
        log_error("%s failed: %s %s", method, ret->error, text ?: "");
        ctl_reply_done(ret);
        return CTL_EXIT_FAILURE;
}

/* Makes the call; as call_result(). */
static int call(CtlClient *c, const char *method, json_t *params, CtlReply *ret) {
        return call_result(method, ctl_call(c, method, params, ret), ret);
}

/* A List or Tree over 30,000 processes is 30 to 45 MB of output. Through a pipe of the default 64 KiB
 * the writer blocks and wakes 700 times; a pipe of 1 MiB (what an unprivileged process may ask for,
 * /proc/sys/fs/pipe-max-size) takes a piece of the output buffer at once: 9% off tree --json end to
 * end on a quiet machine. Only grown; a refusal changes nothing. */
#define CTL_PIPE_SIZE (1024 * 1024)

static void grow_stdout_pipe(void) {
        struct stat st;
        int size;

        if (fstat(STDOUT_FILENO, &st) < 0 || !S_ISFIFO(st.st_mode))
                return;
        size = fcntl(STDOUT_FILENO, F_GETPIPE_SZ);
        if (size >= 0 && size < CTL_PIPE_SIZE)
                (void) fcntl(STDOUT_FILENO, F_SETPIPE_SZ, CTL_PIPE_SIZE);
}

static int feed_reply(const char *so_far, size_t len, void *userdata) {
        return ctl_json_reply_feed(userdata, so_far, len);
}

/* List and Tree with --json: the reply printed from its text (ctl-json.h), without building objects,
 * its records scanned as they come. Returns 0 when printed, the exit status (> 0) on failure, or -1
 * with the reply parsed into *ret (an error, or text only the object path prints exactly) for the
 * caller to go on with. */
static int call_print_json(CtlClient *c, const char *method, json_t *params, bool nest, CtlReply *ret) {
        _cleanup_(ctl_json_reply_freep) CtlJsonReply *x = NULL;
        char *m;
        size_t len;
        int r;

        if (ctl_json_reply_new(&x) < 0) {
                json_decref(params);
                return oom();
        }
        r = ctl_send(c, method, params, false);
        if (r >= 0)
                r = ctl_read_message_progress(c, &m, &len, feed_reply, x);
        if (r == -ENOMEM)
                return oom();
        if (r >= 0) {
                grow_stdout_pipe();
                r = ctl_json_reply_print(x, stdout, m, len, nest, true);
                if (r == 0)
                        return 0;
                if (r == -EIO) {
                        log_error_errno(r, "Failed to write the output: %m");
                        return CTL_EXIT_FAILURE;
                }
                if (r == -ENOMEM)
                        return oom();
                /* -EBADMSG: the parse says so again below; -EDOM, -ENOMSG: the object path. */
                r = ctl_parse_reply(m, len, ret);
        }
        r = call_result(method, r, ret);
        return r == 0 ? -1 : r;
}

static int add_users(json_t *processes) {
        json_t *p;
        size_t i;

        json_array_foreach(processes, i, p)
                if (ctl_add_user(p, true) < 0)
                        return log_oom();
        return 0;
}

static int verb_show(CtlClient *c, char **args) {
        _cleanup_(ctl_reply_done) CtlReply reply = {};
        json_t *params, *p;
        uint64_t pid, start;
        int32_t id_pid;
        int r;

        /* The daemon parses ids with the same strict parser; checking here gives a usage error. */
        if (parse_process_id(args[0], &id_pid, &start) >= 0)
                params = json_pack("{s:s}", "id", args[0]);
        else if (parse_number(args[0], 1, INT32_MAX, &pid) >= 0)
                params = json_pack("{s:I}", "pid", (json_int_t) pid);
        else {
                log_error("Not a pid or a process id (PID:START): '%s'.", args[0]);
                return CTL_EXIT_USAGE;
        }
        r = call(c, "io.procwatch.Show", params, &reply);
        if (r != 0)
                return r;
        p = json_object_get(reply.parameters, "process");
        if (!json_is_object(p)) {
                log_error("procwatchd's reply holds no process.");
                return CTL_EXIT_FAILURE;
        }
        if (arg_json) {
                if (ctl_add_user(p, true) < 0)
                        return oom();
                return print_json(p) < 0 ? CTL_EXIT_FAILURE : 0;
        }
        CtlFormat fmt = format_options();
        return ctl_print_show(stdout, p, &fmt) < 0 ? CTL_EXIT_FAILURE : 0;
}

static int verb_ps(CtlClient *c, char **args) {
        _cleanup_(ctl_reply_done) CtlReply reply = {};
        json_t *params = json_object(), *procs;
        int r;

        if (!params)
                return oom();
        if ((arg_state != PW_STATE_FILTER_ALL &&
             json_object_set_new(params, "state", json_string(pw_state_filter_to_string(arg_state))) < 0) ||
            (arg_uid >= 0 && json_object_set_new(params, "uid", json_integer(arg_uid)) < 0) ||
            (arg_comm && json_object_set_new(params, "comm", json_string(arg_comm)) < 0) ||
            (arg_unit && json_object_set_new(params, "unit", json_string(arg_unit)) < 0) ||
            (arg_user_unit && json_object_set_new(params, "user_unit", json_string(arg_user_unit)) < 0)) {
                json_decref(params);
                log_error("Invalid filter: names must be UTF-8.");
                return CTL_EXIT_USAGE;
        }
        if (arg_json) {
                r = call_print_json(c, "io.procwatch.List", params, false, &reply);
                if (r >= 0)
                        return r;
        } else {
                r = call(c, "io.procwatch.List", params, &reply);
                if (r != 0)
                        return r;
        }
        procs = json_object_get(reply.parameters, "processes");
        if (!json_is_array(procs)) {
                log_error("procwatchd's reply holds no process list.");
                return CTL_EXIT_FAILURE;
        }
        if (ctl_sort_processes(procs, arg_sort) < 0)
                return oom();
        if (arg_json)
                return add_users(procs) < 0 || print_json(procs) < 0 ? CTL_EXIT_FAILURE : 0;
        CtlFormat fmt = format_options();
        return ctl_print_ps(stdout, procs, &fmt) < 0 ? CTL_EXIT_FAILURE : 0;
}

static int verb_tree(CtlClient *c, char **args) {
        _cleanup_(ctl_reply_done) CtlReply reply = {};
        _cleanup_(json_decrefp) json_t *roots = NULL;
        json_t *params, *procs;
        uint64_t root = 0;
        int r;

        if (args[0] && parse_number(args[0], 1, INT32_MAX, &root) < 0) {
                log_error("Not a pid: '%s'.", args[0]);
                return CTL_EXIT_USAGE;
        }
        /* Exited processes are part of the story: shown unless --alive. */
        params = json_pack("{s:b}", "include_exited", arg_state != PW_STATE_FILTER_ALIVE);
        if (!params || (root > 0 && json_object_set_new(params, "root", json_integer((json_int_t) root)) < 0) ||
            (arg_depth >= 0 && json_object_set_new(params, "depth", json_integer(arg_depth)) < 0)) {
                json_decref(params);
                return oom();
        }
        if (arg_json) {
                r = call_print_json(c, "io.procwatch.Tree", params, true, &reply);
                if (r >= 0)
                        return r;
        } else {
                r = call(c, "io.procwatch.Tree", params, &reply);
                if (r != 0)
                        return r;
        }
        procs = json_object_get(reply.parameters, "processes");
        if (arg_json && add_users(procs) < 0)
                return CTL_EXIT_FAILURE;
        r = ctl_nest_tree(procs, &roots);
        if (r < 0) {
                log_error_errno(r, "procwatchd's tree reply is unusable: %m");
                return CTL_EXIT_FAILURE;
        }
        if (arg_json)
                return print_json(roots) < 0 ? CTL_EXIT_FAILURE : 0;
        CtlFormat fmt = format_options();
        return ctl_print_tree(stdout, roots, &fmt) < 0 ? CTL_EXIT_FAILURE : 0;
}

static int verb_stats(CtlClient *c, char **args) {
        _cleanup_(ctl_reply_done) CtlReply reply = {};
        int r;

        r = call(c, "io.procwatch.Stats", NULL, &reply);
        if (r != 0)
                return r;
        if (arg_json)
                return print_json(reply.parameters) < 0 ? CTL_EXIT_FAILURE : 0;
        return ctl_print_stats(stdout, reply.parameters) < 0 ? CTL_EXIT_FAILURE : 0;
}

static int verb_events(CtlClient *c, char **args) {
        json_t *params = json_object(), *kinds;
        CtlFormat fmt = format_options();
        int r;

        if (!params)
                return oom();
        if ((arg_uid >= 0 && json_object_set_new(params, "uid", json_integer(arg_uid)) < 0) ||
            (arg_comm && json_object_set_new(params, "comm", json_string(arg_comm)) < 0) ||
            (arg_unit && json_object_set_new(params, "unit", json_string(arg_unit)) < 0) ||
            (arg_user_unit && json_object_set_new(params, "user_unit", json_string(arg_user_unit)) < 0) ||
            (arg_pid > 0 && json_object_set_new(params, "pid", json_integer(arg_pid)) < 0) ||
            (arg_threads && json_object_set_new(params, "threads", json_true()) < 0)) {
                json_decref(params);
                log_error("Invalid filter: names must be UTF-8.");
                return CTL_EXIT_USAGE;
        }
        if (arg_kinds) {
                kinds = json_array();
                if (!kinds || json_object_set_new(params, "kinds", kinds) < 0) {
                        json_decref(params);
                        return oom();
                }
                for (PwEventKind k = PW_EVENT_NONE + 1; k < _PW_EVENT_KIND_MAX; k++)
                        if (arg_kinds & PW_EVENT_KIND_BIT(k) &&
                            json_array_append_new(kinds, json_string(pw_event_kind_to_string(k))) < 0) {
                                json_decref(params);
                                return oom();
                        }
        }

        /* A stream lasts until interrupted: no deadline. */
        c->deadline = UINT64_MAX / 2;
        r = ctl_send(c, "io.procwatch.Events", params, true);
        if (r < 0) {
                log_error_errno(r, "Call to io.procwatch.Events failed: %m");
                return CTL_EXIT_FAILURE;
        }
        for (;;) {
                _cleanup_(ctl_reply_done) CtlReply reply = {};
                json_t *e, *missed;

                r = ctl_read_reply(c, &reply);
                if (r == -ECONNRESET) {
                        log_error("procwatchd ended the event stream.");
                        return CTL_EXIT_FAILURE;
                }
                if (r < 0) {
                        log_error_errno(r, "Reading the event stream failed: %m");
                        return CTL_EXIT_FAILURE;
                }
                if (reply.error) {
                        _cleanup_(freep) char *text = json_dumps(reply.parameters, JSON_COMPACT);

                        log_error("io.procwatch.Events failed: %s %s", reply.error, text ?: "");
                        return strcmp(reply.error, PW_VARLINK_ERROR_PERMISSION_DENIED) == 0 ? CTL_EXIT_PERMISSION
                                                                                            : CTL_EXIT_FAILURE;
                }
                e = json_object_get(reply.parameters, "event");
                missed = json_object_get(reply.parameters, "missed");
                if (json_is_object(e)) {
                        json_t *p = json_object_get(e, "process");

                        if (arg_json) {
                                if (json_is_object(p) && ctl_add_user(p, true) < 0)
                                        return oom();
                                if (json_dumpf(e, stdout, JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF)
                                        return CTL_EXIT_FAILURE;
                        } else {
                                fmt.now_usec = now_usec(CLOCK_REALTIME);
                                if (ctl_print_event(stdout, e, &fmt) < 0)
                                        return oom();
                        }
                } else if (json_is_integer(missed)) {
                        if (arg_json)
                                printf("{\"missed\":%" JSON_INTEGER_FORMAT "}\n", json_integer_value(missed));
                        else
                                ctl_print_missed(stdout, (uint64_t) json_integer_value(missed), &fmt);
                }
                /* One line at a time, also into a pipe: whoever reads it is watching live. */
                if (fflush(stdout) != 0) {
                        log_error("Failed to write the output.");
                        return CTL_EXIT_FAILURE;
                }
                if (!reply.continues) {
                        log_error("procwatchd ended the event stream.");
                        return CTL_EXIT_FAILURE;
                }
        }
}

static int verb_drop_retained(CtlClient *c, char **args) {
        _cleanup_(ctl_reply_done) CtlReply reply = {};
        int r;

        r = call(c, "io.procwatch.DropRetained", NULL, &reply);
        if (r != 0)
                return r;
        if (arg_json)
                return print_json(reply.parameters) < 0 ? CTL_EXIT_FAILURE : 0;
        printf("Dropped %" JSON_INTEGER_FORMAT " exited process records.\n",
               json_integer_value(json_object_get(reply.parameters, "dropped")));
        return 0;
}

/* "Section.Key" names from a reply, one line. */
static void print_keys(const char *what, json_t *keys) {
        json_t *k;
        size_t i;

        if (json_array_size(keys) == 0)
                return;
        printf("%s:", what);
        json_array_foreach(keys, i, k)
                printf(" %s", json_string_value(k) ?: "?");
        putchar('\n');
}

static int verb_reload(CtlClient *c, char **args) {
        _cleanup_(ctl_reply_done) CtlReply reply = {};
        int r;

        r = call(c, "io.procwatch.Reload", NULL, &reply);
        if (r != 0)
                return r;
        if (arg_json)
                return print_json(reply.parameters) < 0 ? CTL_EXIT_FAILURE : 0;
        printf("Reloaded the configuration.\n");
        print_keys("Changed", json_object_get(reply.parameters, "changed"));
        print_keys("Needs a restart", json_object_get(reply.parameters, "restart_needed"));
        return 0;
}

static int verb_config(CtlClient *c, char **args) {
        _cleanup_(ctl_reply_done) CtlReply reply = {};
        const char *section = NULL;
        json_t *s, *f;
        size_t i;
        int r;

        r = call(c, "io.procwatch.GetConfig", NULL, &reply);
        if (r != 0)
                return r;
        if (arg_json)
                return print_json(reply.parameters) < 0 ? CTL_EXIT_FAILURE : 0;
        /* A file procwatchd could read back, with each value's origin as a comment. */
        if (json_array_size(json_object_get(reply.parameters, "files")) == 0)
                printf("# No configuration files were read.\n");
        json_array_foreach(json_object_get(reply.parameters, "files"), i, f) {
                _cleanup_(freep) char *d = utf8_escape_display(json_string_value(f) ?: "?", json_string_length(f), true);
                printf("# Read %s\n", d ?: "?");
        }
        json_array_foreach(json_object_get(reply.parameters, "settings"), i, s) {
                const char *sec = json_string_value(json_object_get(s, "section"));
                const char *key = json_string_value(json_object_get(s, "key"));
                json_t *value = json_object_get(s, "value"), *src = json_object_get(s, "source");
                json_t *line = json_object_get(s, "line"), *v;
                char origin[512];
                size_t j;

                if (!sec || !key)
                        continue;
                if (!section || strcmp(section, sec) != 0)
                        printf("\n[%s]\n", sec);
                section = sec;
                if (!json_is_string(src))
                        snprintf(origin, sizeof(origin), "default");
                else if (json_is_integer(line))
                        snprintf(origin, sizeof(origin), "%s:%" JSON_INTEGER_FORMAT, json_string_value(src),
                                 json_integer_value(line));
                else
                        snprintf(origin, sizeof(origin), "%s", json_string_value(src));
                if (json_is_array(value) && json_array_size(value) == 0) {
                        char buf[512];

                        snprintf(buf, sizeof(buf), "%s=", key);
                        printf("%-40s # %s\n", buf, origin);
                }
                json_array_foreach(json_is_array(value) ? value : NULL, j, v) {
                        _cleanup_(freep) char *d = utf8_escape_display(json_string_value(v) ?: "", json_string_length(v), true);
                        char buf[512];

                        snprintf(buf, sizeof(buf), "%s=%s", key, d ?: "?");
                        printf("%-40s # %s\n", buf, origin);
                }
                if (json_is_string(value)) {
                        _cleanup_(freep) char *d = utf8_escape_display(json_string_value(value), json_string_length(value), true);
                        char buf[512];

                        snprintf(buf, sizeof(buf), "%s=%s", key, d ?: "?");
                        printf("%-40s # %s\n", buf, origin);
                }
        }
        if (json_array_size(json_object_get(reply.parameters, "restart_needed")) > 0) {
                putchar('\n');
                print_keys("# Changed in the files, applied at the next restart", json_object_get(reply.parameters, "restart_needed"));
        }
        return 0;
}

static const Verb verbs[] = {
        { "show", 1, 1, 0, verb_show },
        { "ps", 0, 0, VERB_STATE | VERB_FILTERS | VERB_SORT, verb_ps },
        { "tree", 0, 1, VERB_STATE | VERB_DEPTH, verb_tree },
        { "stats", 0, 0, 0, verb_stats },
        { "events", 0, 0, VERB_FILTERS | VERB_EVENTS, verb_events },
        { "drop-retained", 0, 0, 0, verb_drop_retained },
        { "reload", 0, 0, 0, verb_reload },
        { "config", 0, 0, 0, verb_config },
};

/* --kind=help: the kinds, one a line, as the shell completion reads them. */
static int list_kinds(void) {
        for (PwEventKind k = PW_EVENT_NONE + 1; k < _PW_EVENT_KIND_MAX; k++)
                puts(pw_event_kind_to_string(k));
        return 0;
}

static int resolve_user(const char *name, int64_t *ret) {
        struct passwd pw, *res = NULL;
        char buf[4096];
        uint64_t v;

        if (parse_number(name, 0, UINT32_MAX - 1, &v) >= 0) {
                *ret = (int64_t) v;
                return 0;
        }
        if (getpwnam_r(name, &pw, buf, sizeof(buf), &res) != 0 || !res)
                return -ESRCH;
        *ret = res->pw_uid;
        return 0;
}

/* Returns 1 to go on with the verb, 0 to exit successfully (--help), or an exit status < 0 negated. */
static int parse_argv(int argc, char *argv[], unsigned *used) {
        enum {
                ARG_VERSION = 0x100,
                ARG_SOCKET,
                ARG_ALIVE,
                ARG_EXITED,
                ARG_DEPTH,
                ARG_UID,
                ARG_USER,
                ARG_COMM,
                ARG_UNIT,
                ARG_USER_UNIT,
                ARG_KIND,
                ARG_PID,
                ARG_THREADS,
                ARG_SORT,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, 'j' },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "alive", no_argument, NULL, ARG_ALIVE },
                { "exited", no_argument, NULL, ARG_EXITED },
                { "depth", required_argument, NULL, ARG_DEPTH },
                { "uid", required_argument, NULL, ARG_UID },
                { "user", required_argument, NULL, ARG_USER },
                { "comm", required_argument, NULL, ARG_COMM },
                { "unit", required_argument, NULL, ARG_UNIT },
                { "user-unit", required_argument, NULL, ARG_USER_UNIT },
                { "kind", required_argument, NULL, ARG_KIND },
                { "pid", required_argument, NULL, ARG_PID },
                { "threads", no_argument, NULL, ARG_THREADS },
                { "sort", required_argument, NULL, ARG_SORT },
                {},
        };
        uint64_t v;
        int c;

        while ((c = getopt_long(argc, argv, "hj", options, NULL)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("procwatchctl %s\n", PACKAGE_VERSION);
                        return 0;
                case 'j':
                        arg_json = true;
                        break;
                case ARG_SOCKET:
                        if (!*optarg) {
                                log_error("--socket needs a path.");
                                return -CTL_EXIT_USAGE;
                        }
                        arg_socket = optarg;
                        break;
                case ARG_ALIVE:
                case ARG_EXITED:
                        if (arg_state != PW_STATE_FILTER_ALL) {
                                log_error("--alive and --exited exclude each other.");
                                return -CTL_EXIT_USAGE;
                        }
                        arg_state = c == ARG_ALIVE ? PW_STATE_FILTER_ALIVE : PW_STATE_FILTER_EXITED;
                        *used |= VERB_STATE;
                        break;
                case ARG_DEPTH:
                        if (parse_number(optarg, 0, INT32_MAX, &v) < 0) {
                                log_error("Invalid --depth '%s'.", optarg);
                                return -CTL_EXIT_USAGE;
                        }
                        arg_depth = (int64_t) v;
                        *used |= VERB_DEPTH;
                        break;
                case ARG_UID:
                        if (parse_number(optarg, 0, UINT32_MAX - 1, &v) < 0) {
                                log_error("Invalid --uid '%s'.", optarg);
                                return -CTL_EXIT_USAGE;
                        }
                        arg_uid = (int64_t) v;
                        *used |= VERB_FILTERS;
                        break;
                case ARG_USER:
                        /* Names are resolved here: NSS lookups have no place in the daemon's loop. */
                        if (resolve_user(optarg, &arg_uid) < 0) {
                                log_error("Unknown user '%s'.", optarg);
                                return -CTL_EXIT_USAGE;
                        }
                        *used |= VERB_FILTERS;
                        break;
                case ARG_COMM:
                        arg_comm = optarg;
                        *used |= VERB_FILTERS;
                        break;
                case ARG_UNIT:
                        arg_unit = optarg;
                        *used |= VERB_FILTERS;
                        break;
                case ARG_USER_UNIT:
                        arg_user_unit = optarg;
                        *used |= VERB_FILTERS;
                        break;
                case ARG_KIND: {
                        unsigned kinds = 0;

                        if (strcmp(optarg, "help") == 0)
                                return list_kinds();
                        if (pw_event_kinds_from_string(optarg, &kinds) < 0) {
                                log_error("Invalid --kind '%s': comma-separated kinds of" PW_EVENT_KINDS_WORDS ", or all.",
                                          optarg);
                                return -CTL_EXIT_USAGE;
                        }
                        arg_kinds |= kinds;
                        *used |= VERB_EVENTS;
                        break;
                }
                case ARG_PID:
                        if (parse_number(optarg, 1, INT32_MAX, &v) < 0) {
                                log_error("Invalid --pid '%s'.", optarg);
                                return -CTL_EXIT_USAGE;
                        }
                        arg_pid = (int64_t) v;
                        *used |= VERB_EVENTS;
                        break;
                case ARG_THREADS:
                        arg_threads = true;
                        *used |= VERB_EVENTS;
                        break;
                case ARG_SORT:
                        if (ctl_sort_key_from_string(optarg, &arg_sort) < 0) {
                                log_error("Invalid --sort '%s': cpu, rss, io or lifetime.", optarg);
                                return -CTL_EXIT_USAGE;
                        }
                        *used |= VERB_SORT;
                        break;
                case '?':
                        return -CTL_EXIT_USAGE;
                default:
                        abort();
                }
        }
        return 1;
}

int main(int argc, char *argv[]) {
        CtlClient client = { .conn.fd = -EBADF };
        const Verb *verb = NULL;
        unsigned used = 0, n_args;
        int r;

        setlocale(LC_ALL, "");
        log_setup();
        r = parse_argv(argc, argv, &used);
        if (r <= 0)
                return -r;

        if (optind >= argc) {
                log_error("A command is needed: show, ps, tree, stats, events, drop-retained, reload or config "
                          "(see --help).");
                return CTL_EXIT_USAGE;
        }
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (strcmp(argv[optind], verbs[i].name) == 0)
                        verb = &verbs[i];
        if (!verb) {
                log_error("Unknown command '%s' (see --help).", argv[optind]);
                return CTL_EXIT_USAGE;
        }
        n_args = (unsigned) (argc - optind - 1);
        if (n_args < verb->min_args || n_args > verb->max_args) {
                log_error("'%s' takes %s.", verb->name,
                          verb->max_args == 0   ? "no arguments"
                          : verb->min_args == 1 ? "one argument"
                                                : "at most one argument");
                return CTL_EXIT_USAGE;
        }
        if (used & ~verb->flags) {
                log_error("An option given does not apply to '%s' (see --help).", verb->name);
                return CTL_EXIT_USAGE;
        }
        if (verb->flags & VERB_DEPTH && arg_state == PW_STATE_FILTER_EXITED) {
                log_error("'tree' takes --alive, not --exited.");
                return CTL_EXIT_USAGE;
        }

        r = ctl_connect(&client, arg_socket);
        if (r < 0) {
                int status = ctl_exit_status_for_connect(r);

                if (status == CTL_EXIT_NOT_RUNNING)
                        log_error_errno(r, "procwatchd is not running (cannot connect to %s: %m).", arg_socket);
                else
                        log_error_errno(r, "Cannot connect to %s: %m", arg_socket);
                return status;
        }
        r = verb->run(&client, argv + optind + 1);
        ctl_disconnect(&client);
        if (fflush(stdout) != 0 && r == 0) {
                log_error("Failed to write the output.");
                r = CTL_EXIT_FAILURE;
        }
        return r;
}
