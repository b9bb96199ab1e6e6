/* SPDX-License-Identifier: GPL-2.0-or-later */
/* procwatchd: parses options, runs the Manager, returns an exit code. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "log.h"
#include "manager.h"
#include "parse-util.h"

/* Exit status for "this kernel or these namespaces give us no process events": restarting the
 * service cannot fix it, so the unit lists it in RestartPreventExitStatus=. */
#define EXIT_NO_EVENTS 3
#define EXIT_USAGE 2

/* Smallest and largest receive buffer accepted by --rcvbuf. */
#define RCVBUF_MIN (64U * 1024U)
#define RCVBUF_MAX (1024U * 1024U * 1024U)

static uint32_t arg_rcvbuf = CNPROC_RCVBUF_DEFAULT;
static int arg_log_level = LOG_INFO;
static int arg_print_events = 0;

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
               "      --log-level=LEVEL  emerg, alert, crit, err, warning, notice, info (default)\n"
               "                         or debug\n"
               "\n"
               "See procwatchd(8).\n",
               CNPROC_RCVBUF_DEFAULT >> 20);
}

static int parse_argv(int argc, char *argv[]) {
        enum {
                ARG_VERSION = 0x100,
                ARG_RCVBUF,
                ARG_LOG_LEVEL,
        };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },
                { "version", no_argument, NULL, ARG_VERSION },
                { "print-events", no_argument, NULL, 'p' },
                { "rcvbuf", required_argument, NULL, ARG_RCVBUF },
                { "log-level", required_argument, NULL, ARG_LOG_LEVEL },
                {},
        };
        int c, r;

        while ((c = getopt_long(argc, argv, "hp", options, NULL)) >= 0) {
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
                case ARG_RCVBUF: {
                        uint64_t v;

                        r = parse_size(optarg, &v);
                        if (r < 0 || v < RCVBUF_MIN || v > RCVBUF_MAX) {
                                log_error("Invalid --rcvbuf '%s': give a size from %uK to %uM.", optarg,
                                          RCVBUF_MIN >> 10, RCVBUF_MAX >> 20);
                                return -EINVAL;
                        }
                        arg_rcvbuf = (uint32_t) v;
                        break;
                }
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
        return 1;
}

int main(int argc, char *argv[]) {
        _cleanup_(manager_freep) Manager *m = NULL;
        ManagerOptions opts;
        int r;

        log_setup();
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
        log_set_max_level(arg_log_level);

        opts = (ManagerOptions){
                .rcvbuf = arg_rcvbuf,
                .print_events = arg_print_events ? stdout : NULL,
        };

        r = manager_new(&m, &opts);
        if (r < 0)
                return EXIT_FAILURE;
        r = manager_startup(m);
        if (r < 0)
                return m->no_events ? EXIT_NO_EVENTS : EXIT_FAILURE;
        r = manager_run(m);
        return r < 0 ? EXIT_FAILURE : r;
}
