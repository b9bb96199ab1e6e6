/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Test harness: runs the real procwatchd under a real notify socket and reads what it prints.
 *
 * The daemon's stdout (with --print-events) is read line by line into a growing log that tests search
 * with a deadline: the proc connector is multicast, so the log holds every process on the machine
 * and tests match on the pids they created. Nothing here sleeps to synchronise; everything polls for
 * a condition until a deadline. */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

typedef struct Daemon {
        pid_t pid;
        int notify_fd; /* our end of $NOTIFY_SOCKET */
        int stdout_fd; /* non-blocking read end of the daemon's stdout */
        char dir[64];  /* scratch folder: notify socket, stderr log */
        char stderr_path[128];
        char socket_path[128]; /* the control socket, passed as --socket= unless argv has one */
        char socket_arg[140];
        char config_root[64];     /* an empty folder: no test daemon reads the machine's files */
        char config_root_arg[96]; /* --config-root= it */

        char *out;     /* everything read from stdout so far, NUL-terminated */
        size_t out_len, out_alloc;
        size_t out_scanned; /* where the next harness_next_line() starts */

        /* Every notify message so far, each followed by '\n'. A thread reads the notify socket all
         * the time, as a service manager does: its queue holds only net.unix.max_dgram_qlen (10)
         * datagrams, and a daemon whose STATUS= finds it full blocks in sd_notify(). Read these
         * only through the functions below, which take the lock. */
        pthread_mutex_t lock;
        pthread_t notify_thread;
        bool notify_thread_started;
        volatile bool notify_stop;
        char *notify;
        size_t notify_len, notify_alloc;
        unsigned notify_wrong_pid; /* messages from another pid than the daemon's */
        pid_t notify_pid;          /* the daemon's pid, kept after harness_stop() reaps it (and
                                    * sets pid to -1): its last messages may be read after that */
} Daemon;

/* A copy of every notify message received so far (caller frees), one per line. */
char *harness_notify_copy(Daemon *d);
/* Forgets the notify messages received so far. */
void harness_notify_clear(Daemon *d);
/* How many notify messages came from another pid than the daemon's. */
unsigned harness_notify_wrong_pid(Daemon *d);

/* Milliseconds of the monotonic clock. */
uint64_t harness_now_ms(void);

/* Starts binary with argv (NULL-terminated, argv[0] included; "--socket=" + socket_path is added
 * unless argv names a socket, --no-journal unless argv has a journal option, --config-root= an
 * empty folder unless argv names one, and --retain-count=10000000 and --string-budget=4G unless
 * argv sets them) and extra
 * environment entries
 * ("K=V", NULL-terminated, may be NULL), with NOTIFY_SOCKET set to a fresh socket; when
 * watchdog_usec is not 0, also WATCHDOG_USEC and WATCHDOG_PID. Returns 0 or a negative errno. */
int harness_start(Daemon *d, const char *binary, char *const argv[], char *const extra_env[],
                  uint64_t watchdog_usec);

/* harness_start(), then waits for READY=1 (at most timeout_ms). On failure says why on stderr,
 * releases everything (printing the daemon's stderr) and returns -1; else 0. For a cmocka set-up. */
int harness_start_ready(Daemon *d, const char *binary, char *const argv[], uint64_t watchdog_usec, int timeout_ms);

/* Reads what is available on the daemon's stdout, waiting at most timeout_ms. */
void harness_pump(Daemon *d, int timeout_ms);

/* Waits until a notify message equal to msg (e.g. "READY=1") or, when prefix, starting with it
 * arrived. Returns true if it did before the deadline. */
bool harness_wait_notify(Daemon *d, const char *msg, bool prefix, int timeout_ms);

/* Waits for a line of the daemon's stdout holding every one of the space-separated "key=value"
 * tokens in want (each must appear as a whole token). Returns a malloc'ed copy of the line, or NULL
 * on timeout. */
char *harness_wait_line(Daemon *d, const char *want, int timeout_ms);

/* The value of key in a "key=value ..." line, copied into buf; false if absent. */
bool harness_line_get(const char *line, const char *key, char *buf, size_t size);

/* Sends sig and waits for the daemon to exit; returns its wait status, or -1 on timeout (after which
 * it is SIGKILLed). *elapsed_ms gets how long the exit took. */
int harness_stop(Daemon *d, int sig, int timeout_ms, uint64_t *elapsed_ms);

/* SIGTERM, then harness_cleanup() (printing the daemon's stderr unless it exited 0). Returns 0 when it
 * exited 0 within timeout_ms, else -1. For a cmocka tear-down. */
int harness_stop_cleanup(Daemon *d, int timeout_ms);

/* Kills (if still running) and releases everything; prints the daemon's stderr when verbose. */
void harness_cleanup(Daemon *d, bool show_stderr);

/* VmRSS of pid in kB, from /proc/PID/status; -1 when it cannot be read. */
long harness_vm_rss_kb(pid_t pid);

/* Runs argv to completion with stdout+stderr captured (at most size-1 bytes kept) and a deadline.
 * Returns the wait status, or -1 when it had to be killed at the deadline. */
int harness_run_capture(char *const argv[], char *buf, size_t size, int timeout_ms);
