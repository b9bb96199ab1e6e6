/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchd: parses options, runs the Manager, returns an exit code. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "log.h"
#include "manager.h"
#include "parse-util.h"
#include "procwatch/protocol.h"

/* Exit status for "this kernel or these namespaces give us no process events": restarting the
 * service cannot fix it, so the unit lists it in RestartPreventExitStatus=. */
#define EXIT_NO_EVENTS 3
#define EXIT_USAGE 2

/* Ranges of the options. */
#define RCVBUF_MIN (64U * 1024U)
#define RCVBUF_MAX (1024U * 1024U * 1024U)
#define RETAIN_COUNT_MAX 10000000U
#define STRING_BUDGET_MIN (1ULL << 20)
#define STRING_BUDGET_MAX (16ULL << 30)
#define ARGV_MAX_MIN (4ULL << 10)
#define ARGV_MAX_MAX (2ULL << 20) /* the kernel's own limit on argv+envp is about that */

static uint32_t arg_rcvbuf = CNPROC_RCVBUF_DEFAULT;
static unsigned arg_retain_count = PROCTREE_RETAIN_COUNT_DEFAULT;
static uint64_t arg_retain_age_sec = PROCTREE_RETAIN_AGE_NS_DEFAULT / 1000000000ULL;
static uint64_t arg_string_budget = PROCTREE_STRING_BUDGET_DEFAULT;
static unsigned arg_uid_share = PROCTREE_UID_SHARE_PERCENT_DEFAULT;
static uint64_t arg_argv_max = PW_ARGV_MAX_DEFAULT;
static uint64_t arg_reconcile_sec = MANAGER_RECONCILE_INTERVAL_USEC_DEFAULT / USEC_PER_SEC;
static int arg_log_level = LOG_INFO;
static int arg_print_events = 0;
static const char *arg_socket = NULL;
static bool arg_journal = true;
/* --no-taskstats. The configuration file's key for it (when that lands) sets this same variable:
 * "Taskstats=no" in [Daemon], the command line winning over the file. */
static bool arg_taskstats = true;
static PwJournalFilter arg_journal_filter;

static void help(void) {
        printf("Usage: procwatchd [OPTIONS]\n"
               "\n"
               "Watch every process on this machine through the kernel's process events\n"
               "connector and account for every event lost. Runs in the foreground.\n"
               "\n"
               "Options:\n"
               "  -h, --help             Show this help and exit\n"
               "      --version          Show the version and exit\n"
               "  -p, --print-events     Print every decoded event to standard output, one\n"
               "                         \"key=value\" line each\n"
               "      --rcvbuf=BYTES     Netlink receive buffer (suffixes K, M, G; default %uM)\n"
               "      --retain-count=N   Exited processes kept queryable (default %u)\n"
               "      --retain-age=SEC   ... and for at most this long (default %llu)\n"
               "      --string-budget=BYTES\n"
               "                         Memory for argv, exe and cgroup strings of all\n"
               "                         processes (default %lluM); oldest exited go first\n"
               "      --uid-share=PERCENT\n"
               "                         Of the string budget and of the exited processes\n"
               "                         kept, what one uid other than root may hold; beyond\n"
               "                         it, it loses its own (default %u; 100: no share)\n"
               "      --argv-max=BYTES   Command line kept per process (default %lluK)\n"
               "      --reconcile-interval=SEC\n"
               "                         Check the tree against /proc this often, besides\n"
               "                         after every loss (default %llu; 0: only after loss)\n"
               "      --log-level=LEVEL  emerg, alert, crit, err, warning, notice, info (default)\n"
               "                         or debug\n"
               "      --socket=PATH      The control socket (default\n"
               "                         " PW_SOCKET_PATH_DEFAULT ")\n"
               "      --no-taskstats     Do not record what exited processes cost (CPU,\n"
               "                         memory, I/O from the kernel's taskstats)\n"
               "\n"
               "Journal (every filter repeatable: any value matches; all filters must):\n"
               "      --no-journal       Forward nothing to the journal\n"
               "      --journal-events=KINDS\n"
               "                         Event kinds forwarded, comma-separated: fork, exec,\n"
               "                         exit, uid, gid, sid, ptrace, comm, coredump, or all\n"
               "                         (default exec,exit)\n"
               "      --journal-threads  Thread forks and exits too (default: processes only)\n"
               "      --journal-pid=PID  Only this process and its descendants\n"
               "      --journal-uid=UID  Only processes with this real or effective uid\n"
               "      --journal-comm=GLOB\n"
               "                         Only processes whose comm matches\n"
               "      --journal-unit=GLOB\n"
               "                         Only processes whose system unit (PROCWATCH_UNIT)\n"
               "                         matches\n"
               "      --journal-user-unit=GLOB\n"
               "                         Only processes whose user unit (PROCWATCH_USER_UNIT)\n"
               "                         matches\n"
               "      --journal-argv=full|none|redact\n"
               "                         Command lines in full (default), not at all, or with\n"
               "                         values matching --journal-redact replaced by ***\n"
               "      --journal-redact=GLOB\n"
               "                         Redact: \"--password=*\" keeps \"--password=\" and hides\n"
               "                         the value; \"-p\" (no '=') hides the next word\n"
               "\n"
               "See procwatchd(8).\n",
               CNPROC_RCVBUF_DEFAULT >> 20, PROCTREE_RETAIN_COUNT_DEFAULT,
               (unsigned long long) (PROCTREE_RETAIN_AGE_NS_DEFAULT / 1000000000ULL),
               (unsigned long long) (PROCTREE_STRING_BUDGET_DEFAULT >> 20), PROCTREE_UID_SHARE_PERCENT_DEFAULT,
               (unsigned long long) (PW_ARGV_MAX_DEFAULT >> 10),
               (unsigned long long) (MANAGER_RECONCILE_INTERVAL_USEC_DEFAULT / USEC_PER_SEC));
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_RCVBUF,
                ARG_LOG_LEVEL,
                ARG_RETAIN_COUNT,
                ARG_RETAIN_AGE,
                ARG_STRING_BUDGET,
                ARG_UID_SHARE,
                ARG_ARGV_MAX,
                ARG_RECONCILE_INTERVAL,
                ARG_SOCKET,
                ARG_NO_JOURNAL,
                ARG_NO_TASKSTATS,
                ARG_JOURNAL_EVENTS,
                ARG_JOURNAL_THREADS,
                ARG_JOURNAL_PID,
                ARG_JOURNAL_UID,
                ARG_JOURNAL_COMM,
                ARG_JOURNAL_UNIT,
                ARG_JOURNAL_USER_UNIT,
                ARG_JOURNAL_ARGV,
                ARG_JOURNAL_REDACT,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "print-events", no_argument, NULL, 'p' },
                { "rcvbuf", required_argument, NULL, ARG_RCVBUF },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                { "retain-count", required_argument, NULL, ARG_RETAIN_COUNT },
                { "retain-age", required_argument, NULL, ARG_RETAIN_AGE },
                { "string-budget", required_argument, NULL, ARG_STRING_BUDGET },
                { "uid-share", required_argument, NULL, ARG_UID_SHARE },
                { "argv-max", required_argument, NULL, ARG_ARGV_MAX },
                { "reconcile-interval", required_argument, NULL, ARG_RECONCILE_INTERVAL },
                { "socket", required_argument, NULL, ARG_SOCKET },
                { "no-journal", no_argument, NULL, ARG_NO_JOURNAL },
                { "no-taskstats", no_argument, NULL, ARG_NO_TASKSTATS },
                { "journal-events", required_argument, NULL, ARG_JOURNAL_EVENTS },
                { "journal-threads", no_argument, NULL, ARG_JOURNAL_THREADS },
                { "journal-pid", required_argument, NULL, ARG_JOURNAL_PID },
                { "journal-uid", required_argument, NULL, ARG_JOURNAL_UID },
                { "journal-comm", required_argument, NULL, ARG_JOURNAL_COMM },
                { "journal-unit", required_argument, NULL, ARG_JOURNAL_UNIT },
                { "journal-user-unit", required_argument, NULL, ARG_JOURNAL_USER_UNIT },
                { "journal-argv", required_argument, NULL, ARG_JOURNAL_ARGV },
                { "journal-redact", required_argument, NULL, ARG_JOURNAL_REDACT },
                {},
        };
        uint64_t v;
        int c, r, option_index = 0;

        while ((c = getopt_long(argc, argv, "hp", options, &option_index)) >= 0) {
                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("procwatchd %s\n", PACKAGE_VERSION);
                        return 0;
                case 'p':
                        arg_print_events = 1;
                        break;
                case ARG_RCVBUF:
                        r = parse_size(optarg, &v);
                        if (r < 0 || v < RCVBUF_MIN || v > RCVBUF_MAX) {
                                log_error("Invalid --rcvbuf '%s': give a size from %uK to %uM.", optarg,
                                          RCVBUF_MIN >> 10, RCVBUF_MAX >> 20);
                                return -EINVAL;
                        }
                        arg_rcvbuf = (uint32_t) v;
                        break;
                case ARG_RETAIN_COUNT:
                        if (parse_number(optarg, 0, RETAIN_COUNT_MAX, &v) < 0)
                                return log_error_errno(-EINVAL, "Invalid --retain-count '%s': 0 to %u.", optarg,
                                                       RETAIN_COUNT_MAX);
                        arg_retain_count = (unsigned) v;
                        break;
                case ARG_RETAIN_AGE:
                        if (parse_number(optarg, 0, UINT32_MAX, &arg_retain_age_sec) < 0)
                                return log_error_errno(-EINVAL, "Invalid --retain-age '%s': seconds.", optarg);
                        break;
                case ARG_STRING_BUDGET:
                        if (parse_size(optarg, &arg_string_budget) < 0 || arg_string_budget < STRING_BUDGET_MIN ||
                            arg_string_budget > STRING_BUDGET_MAX)
                                return log_error_errno(-EINVAL, "Invalid --string-budget '%s': 1M to 16G.", optarg);
                        break;
                case ARG_UID_SHARE:
                        if (parse_number(optarg, 1, 100, &v) < 0)
                                return log_error_errno(-EINVAL, "Invalid --uid-share '%s': 1 to 100.", optarg);
                        arg_uid_share = (unsigned) v;
                        break;
                case ARG_ARGV_MAX:
                        if (parse_size(optarg, &arg_argv_max) < 0 || arg_argv_max < ARGV_MAX_MIN ||
                            arg_argv_max > ARGV_MAX_MAX)
                                return log_error_errno(-EINVAL, "Invalid --argv-max '%s': 4K to 2M.", optarg);
                        break;
                case ARG_RECONCILE_INTERVAL:
                        if (parse_number(optarg, 0, 86400, &arg_reconcile_sec) < 0)
                                return log_error_errno(-EINVAL, "Invalid --reconcile-interval '%s': 0 to 86400 seconds.",
                                                       optarg);
                        break;
                case ARG_SOCKET:
                        if (optarg[0] != '/')
                                return log_error_errno(-EINVAL, "Invalid --socket '%s': an absolute path.", optarg);
                        arg_socket = optarg;
                        break;
                case ARG_NO_JOURNAL:
                        arg_journal = false;
                        break;
                case ARG_NO_TASKSTATS:
                        arg_taskstats = false;
                        break;
                case ARG_JOURNAL_EVENTS:
                        if (pw_journal_kinds_from_string(optarg, &arg_journal_filter.kinds) < 0)
                                return log_error_errno(-EINVAL, "Invalid --journal-events '%s': kinds from fork, exec, "
                                                       "exit, uid, gid, sid, ptrace, comm, coredump, or all.", optarg);
                        break;
                case ARG_JOURNAL_THREADS:
                        arg_journal_filter.threads = true;
                        break;
                case ARG_JOURNAL_PID:
                case ARG_JOURNAL_UID:
                case ARG_JOURNAL_COMM:
                case ARG_JOURNAL_UNIT:
                case ARG_JOURNAL_USER_UNIT:
                case ARG_JOURNAL_REDACT:
                        r = c == ARG_JOURNAL_PID    ? pw_journal_filter_add_pid(&arg_journal_filter, optarg)
                            : c == ARG_JOURNAL_UID  ? pw_journal_filter_add_uid(&arg_journal_filter, optarg)
                            : c == ARG_JOURNAL_COMM ? pw_journal_filter_add_comm(&arg_journal_filter, optarg)
                            : c == ARG_JOURNAL_UNIT ? pw_journal_filter_add_unit(&arg_journal_filter, optarg)
                            : c == ARG_JOURNAL_USER_UNIT ? pw_journal_filter_add_user_unit(&arg_journal_filter, optarg)
                                                    : pw_journal_filter_add_redact(&arg_journal_filter, optarg);
                        if (r == -E2BIG)
                                return log_error_errno(r, "Too many values for --%s: at most %u.",
                                                       options[option_index].name, PW_JOURNAL_FILTER_VALUES_MAX);
                        if (r < 0)
                                return log_error_errno(r, "Invalid --%s '%s'.", options[option_index].name, optarg);
                        break;
                case ARG_JOURNAL_ARGV:
                        r = pw_argv_mode_from_string(optarg);
                        if (r < 0)
                                return log_error_errno(r, "Invalid --journal-argv '%s': full, none or redact.", optarg);
                        arg_journal_filter.argv_mode = (PwArgvMode) r;
                        break;
                case ARG_LOG_LEVEL:
                        r = log_level_from_string(optarg);
                        if (r < 0) {
                                log_error("Invalid --log-level '%s'.", optarg);
                                return -EINVAL;
                        }
                        arg_log_level = r;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }
        }
        if (optind < argc) {
                log_error("procwatchd takes no arguments, got '%s'.", argv[optind]);
                return -EINVAL;
        }
        if (arg_journal_filter.argv_mode == PW_ARGV_REDACT && arg_journal_filter.n_redact == 0)
                return log_error_errno(-EINVAL, "--journal-argv=redact needs at least one --journal-redact=GLOB.");
        if (arg_journal_filter.argv_mode != PW_ARGV_REDACT && arg_journal_filter.n_redact > 0)
                return log_error_errno(-EINVAL, "--journal-redact needs --journal-argv=redact.");
        return 1;
}

/* Control clients take one descriptor each, and the server caps them at what RLIMIT_NOFILE leaves
 * beyond SERVER_FD_RESERVE: take all the hard limit allows. Nothing here uses select(), and the
 * daemon starts no programs that could inherit a raised soft limit. */
static void raise_nofile(void) {
        struct rlimit rl;

        if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == rl.rlim_max)
                return;
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
                log_debug_errno(errno, "Failed to raise RLIMIT_NOFILE to its hard limit, ignoring: %m");
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        ManagerOptions opts;
        int r;

        log_setup();
        pw_journal_filter_init(&arg_journal_filter);
        r = parse_argv(argc, argv);
        if (r <= 0) {
                pw_journal_filter_done(&arg_journal_filter);
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
        }
        log_set_max_level(arg_log_level);
        raise_nofile();

        opts = (ManagerOptions){
                .rcvbuf = arg_rcvbuf,
                .print_events = arg_print_events ? stdout : NULL,
                .limits = {
                        .retain_count = arg_retain_count,
                        .retain_age_ns = arg_retain_age_sec * 1000000000ULL,
                        .string_budget = (size_t) arg_string_budget,
                        .uid_share_percent = arg_uid_share,
                },
                .argv_max = (size_t) arg_argv_max,
                .reconcile_interval_usec = arg_reconcile_sec * USEC_PER_SEC,
                .socket_path = arg_socket,
                .journal = arg_journal ? &arg_journal_filter : NULL,
                .argv_privacy = &arg_journal_filter,
                .taskstats = {
                        .disabled = !arg_taskstats,
                        /* Only for tests: a family name the kernel does not have stands for a
                         * kernel without taskstats (procwatchd(8), ENVIRONMENT). */
                        .family = secure_getenv("PROCWATCHD_TASKSTATS_FAMILY"),
                },
        };

        r = manager_new(&m, &opts);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_startup(m);
        if (r < 0)
                return m->no_events ? EXIT_NO_EVENTS : EXIT_FAILURE;
        r = manager_run(m);
        m = manager_free(m);
        pw_journal_filter_done(&arg_journal_filter);
        return r < 0 ? EXIT_FAILURE : r;
}
