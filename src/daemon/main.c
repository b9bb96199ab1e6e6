/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchd: parses options, runs the Manager, returns an exit code. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>

#include "fileio.h"
#include "log.h"
#include "daemon-config.h"
#include "manager.h"
#include "parse-util.h"
#include "procwatch/protocol.h"

/* Exit status for "this kernel or these namespaces give us no process events": restarting the
 * service cannot fix it, so the unit lists it in RestartPreventExitStatus=. */
#define EXIT_NO_EVENTS 3
#define EXIT_USAGE 2

/* The command line is a layer of assignments over the configuration files (daemon-config.h): each
 * option sets the key of the same meaning, and wins over the files, also at every reload. */
static PwConfigLayer arg_layer;
static const char *arg_config_root = NULL;
static bool arg_cat_config = false;
/* Each option's value checked at once, so that a bad option is a usage error before any file is read. */
static PwConfig arg_check;

static void help(void) {
        printf("Usage: procwatchd [OPTIONS]\n"
               "\n"
               "Watch every process on this machine through the kernel's process events\n"
               "connector and account for every event lost. Runs in the foreground.\n"
               "\n"
               "Options:\n"
               "  -h, --help             Show this help and exit\n"
               "      --version          Show the version and exit\n"
               "  -p, --print-events[=raw]\n"
               "                         Print every process event to standard output, one\n"
               "                         readable line each (as procwatchctl events); raw:\n"
               "                         every decoded message as it came, \"key=value\"\n"
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
               "      --cat-config       Print the configuration files in the order read, and exit\n"
               "\n"
               "Journal (every filter repeatable: any value matches; all filters must):\n"
               "      --no-journal       Forward nothing to the journal\n"
               "      --journal-events=KINDS\n"
               "                         Event kinds forwarded, comma-separated, or all; of\n"
               "                        " PW_EVENT_KINDS_WORDS "\n"
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
               "Every option has a key in " PW_CONFIG_MAIN_FILE " and its drop-ins, and wins\n"
               "over them; SIGHUP or procwatchctl reload re-reads them. See procwatchd.conf(5).\n"
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
                ARG_CAT_CONFIG,
                ARG_CONFIG_ROOT,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "print-events", optional_argument, NULL, 'p' },
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
                { "cat-config", no_argument, NULL, ARG_CAT_CONFIG },
                /* For tests: read every configuration path below DIR instead of /. */
                { "config-root", required_argument, NULL, ARG_CONFIG_ROOT },
                {},
        };
        int c, r, option_index = 0;

        while ((c = getopt_long(argc, argv, "hp", options, &option_index)) >= 0) {
                PwConfigKey key = _PW_CONFIG_KEY_INVALID;
                const char *value = optarg, *reason = NULL;

                switch (c) {
                case 'h':
                        help();
                        return 0;
                case ARG_VERSION:
                        printf("procwatchd %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_CAT_CONFIG:
                        arg_cat_config = true;
                        continue;
                case ARG_CONFIG_ROOT:
                        if (optarg[0] != '/')
                                return log_error_errno(-EINVAL, "Invalid --config-root '%s': an absolute path.", optarg);
                        arg_config_root = optarg;
                        continue;
                case 'p':
                        key = PW_CONFIG_PRINT_EVENTS, value = optarg ?: "yes";
                        break;
                case ARG_NO_JOURNAL:
                        key = PW_CONFIG_JOURNAL_FORWARD, value = "no";
                        break;
                case ARG_NO_TASKSTATS:
                        key = PW_CONFIG_TASKSTATS, value = "no";
                        break;
                case ARG_JOURNAL_THREADS:
                        key = PW_CONFIG_JOURNAL_THREADS, value = "yes";
                        break;
                case ARG_RCVBUF:
                        key = PW_CONFIG_RECEIVE_BUFFER;
                        break;
                case ARG_LOG_LEVEL:
                        key = PW_CONFIG_LOG_LEVEL;
                        break;
                case ARG_RETAIN_COUNT:
                        key = PW_CONFIG_RETAIN_COUNT;
                        break;
                case ARG_RETAIN_AGE:
                        key = PW_CONFIG_RETAIN_AGE;
                        break;
                case ARG_STRING_BUDGET:
                        key = PW_CONFIG_STRING_BUDGET;
                        break;
                case ARG_UID_SHARE:
                        key = PW_CONFIG_UID_SHARE;
                        break;
                case ARG_ARGV_MAX:
                        key = PW_CONFIG_ARGV_MAX;
                        break;
                case ARG_RECONCILE_INTERVAL:
                        key = PW_CONFIG_RECONCILE_INTERVAL;
                        break;
                case ARG_SOCKET:
                        key = PW_CONFIG_SOCKET;
                        break;
                case ARG_JOURNAL_EVENTS:
                        key = PW_CONFIG_JOURNAL_EVENTS;
                        break;
                case ARG_JOURNAL_PID:
                        key = PW_CONFIG_JOURNAL_PID;
                        break;
                case ARG_JOURNAL_UID:
                        key = PW_CONFIG_JOURNAL_UID;
                        break;
                case ARG_JOURNAL_COMM:
                        key = PW_CONFIG_JOURNAL_COMM;
                        break;
                case ARG_JOURNAL_UNIT:
                        key = PW_CONFIG_JOURNAL_UNIT;
                        break;
                case ARG_JOURNAL_USER_UNIT:
                        key = PW_CONFIG_JOURNAL_USER_UNIT;
                        break;
                case ARG_JOURNAL_ARGV:
                        key = PW_CONFIG_JOURNAL_ARGV;
                        break;
                case ARG_JOURNAL_REDACT:
                        key = PW_CONFIG_JOURNAL_REDACT;
                        break;
                case '?':
                        return -EINVAL;
                default:
                        abort();
                }
                /* An empty value would reset the key: on the command line, that is a mistake. */
                if (!*value)
                        return log_error_errno(-EINVAL, "Invalid --%s '': a value is needed.", options[option_index].name);
                r = pw_config_assign(&arg_check, key, value, PW_CONFIG_SOURCE_CMDLINE, 0, &reason);
                if (r == -ENOMEM)
                        return log_oom();
                if (r < 0)
                        return log_error_errno(r, "Invalid --%s '%s': %s.", pw_config_key_info(key)->option + 2, value,
                                               reason);
                if (pw_config_layer_add(&arg_layer, key, value) < 0)
                        return log_oom();
        }
        if (optind < argc) {
                log_error("procwatchd takes no arguments, got '%s'.", argv[optind]);
                return -EINVAL;
        }
        return 1;
}

/* --cat-config: the files in the order they are read, each after a comment naming it. */
static int cat_config(void) {
        char **files = NULL;
        int n;

        n = pw_config_find_files(arg_config_root, &files);
        if (n < 0)
                return log_error_errno(n, "Failed to list the configuration files: %m");
        if (n == 0)
                log_info("No configuration files: the built-in defaults apply (see procwatchd.conf(5)).");
        for (int i = 0; i < n; i++) {
                _cleanup_(freep) char *text = NULL;
                size_t len = 0;
                int r;

                r = read_full_file_at(AT_FDCWD, files[i], PW_CONFIG_FILE_MAX, &text, &len);
                if (r < 0) {
                        log_error_errno(r, "Failed to read %s: %m", files[i]);
                        pw_config_files_free(files);
                        return r;
                }
                printf("%s# %s\n", i > 0 ? "\n" : "", files[i]);
                fwrite(text, 1, len, stdout);
                if (len > 0 && text[len - 1] != '\n')
                        putchar('\n');
        }
        pw_config_files_free(files);
        return fflush(stdout) == 0 ? 0 : -EIO;
}

static void log_diags(const PwConfigDiags *d) {
        for (size_t i = 0; i < d->n; i++) {
                _cleanup_(freep) char *s = pw_config_diag_format(&d->items[i]);

                log_full(d->items[i].error ? LOG_ERR : LOG_WARNING, "%s", s ?: "?");
        }
        if (d->n_dropped > 0)
                log_warning("... and %u more problems in the configuration.", d->n_dropped);
}

/* Control clients take one descriptor each, and the server caps them at what RLIMIT_NOFILE leaves
 * beyond VARLINK_SERVER_FD_RESERVE: take all the hard limit allows. Nothing here uses select(), and the
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
        _cleanup_(pw_config_diags_done) PwConfigDiags diags = {};
        ManagerOptions opts = {};
        PwConfig *config;
        char **files = NULL;
        int r;

        log_setup();
        /* Each client's read buffer is 128 KiB (a 64 KiB read, varlink-server.c, and one byte). With
         * glibc's defaults the mmap threshold rises to the size of the first mmap'ed block freed, and
         * 128 KiB of top padding is kept: from then on such buffers came from the heap, and after 256
         * clients left their 32 MB stayed as free chunks between live ones, never trimmed (RSS 28-40
         * MB). The loop's small per-event buffers were then carved from those chunks, and each
         * realloc() that grew one into its free neighbour split off and freed the rest, megabytes,
         * which MALLOC_PERTURB_ (meson test sets it) fills byte by byte: seconds per batch, and the
         * kernel dropped events. A fixed threshold keeps such buffers in mmap()s of their own,
         * returned when freed (tests/integration/test-events-daemon, 256 clients). The heap grows by
         * 64 KiB at a time: with no padding it grew by the page each allocation needed, and an exec
         * storm cost a brk() and a page fault every ten events or so (1,937 in 3 s; 116 now). */
        (void) mallopt(M_MMAP_THRESHOLD, 128 * 1024);
        (void) mallopt(M_TOP_PAD, 64 * 1024);
        pw_config_init(&arg_check);
        r = parse_argv(argc, argv);
        pw_config_done(&arg_check);
        if (r <= 0) {
                pw_config_layer_done(&arg_layer);
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
        }
        if (arg_cat_config) {
                pw_config_layer_done(&arg_layer);
                return cat_config() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
        }

        /* The files, then the command line over them. Any error: exit 2, as for a bad option, which
         * the unit's RestartPreventExitStatus= does not restart. */
        config = calloc(1, sizeof(*config));
        if (!config)
                return log_oom(), EXIT_FAILURE;
        r = pw_config_load(config, arg_config_root, &arg_layer, &diags, &files);
        log_diags(&diags);
        if (r < 0 || diags.n_errors > 0) {
                log_error("Invalid configuration (%u errors), exiting.", diags.n_errors);
                pw_config_files_free(files);
                pw_config_done(config);
                free(config);
                pw_config_layer_done(&arg_layer);
                return r == -ENOMEM ? EXIT_FAILURE : EXIT_USAGE;
        }
        log_set_max_level(config->log_level);
        raise_nofile();

        manager_options_from_config(&opts, config);
        opts.print_events = config->print_events != PW_PRINT_EVENTS_NO ? stdout : NULL;
        opts.print_events_raw = config->print_events == PW_PRINT_EVENTS_RAW;
        opts.config_files = files;
        opts.config_root = arg_config_root;
        opts.config_layer = &arg_layer;
        /* Only for tests: a family name the kernel does not have stands for a kernel without
         * taskstats (procwatchd(8), ENVIRONMENT). */
        opts.taskstats.family = secure_getenv("PROCWATCHD_TASKSTATS_FAMILY");

        /* The Manager owns config and files from here on, also when it fails. */
        r = manager_new(&m, &opts);
        if (r < 0) {
                pw_config_layer_done(&arg_layer);
                return EXIT_FAILURE;
        }
        r = manager_startup(m);
        if (r < 0) {
                r = m->no_events ? EXIT_NO_EVENTS : EXIT_FAILURE;
                m = manager_free(m);
                pw_config_layer_done(&arg_layer);
                return r;
        }
        r = manager_run(m);
        m = manager_free(m);
        pw_config_layer_done(&arg_layer);
        return r < 0 ? EXIT_FAILURE : r;
}
