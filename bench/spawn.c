/* SPDX-License-Identifier: GPL-2.0-or-later */
/* spawn: short-lived processes one after another, for the capture-rate benchmark.
 *
 * W workers (default 1) each run N children in turn: fork(), the child execs PROGRAM with
 * argv = { PROGRAM, "MARKER-W-I", then A extra arguments "aJ" }, and the worker waits for it before
 * the next. The marker names every child, so whoever reads a watcher's records can tell which ones
 * kept their command line. Prints one key=value line with each worker's pid (the parent of its
 * children in the records), the children spawned and the time per spawn. Every child is reaped; a
 * worker that outlives the parent gets SIGKILL (PR_SET_PDEATHSIG). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS_MAX 64
#define ARGS_MAX 100000

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static void usage(FILE *f) {
        fprintf(f, "Usage: spawn -t MARKER [-n CHILDREN] [-a EXTRA_ARGS] [-w WORKERS] [-p PROGRAM]\n"
                   "  -t  the first argument of child I of worker W is MARKER-W-I\n"
                   "  -n  children per worker, one after another (default 1000)\n"
                   "  -a  extra arguments per child (default 0, at most %d)\n"
                   "  -w  workers spawning at once (default 1, at most %d)\n"
                   "  -p  the program (default /bin/true)\n",
                ARGS_MAX, WORKERS_MAX);
}

/* One worker: returns the children it failed to run. */
static unsigned worker(const char *program, const char *marker, unsigned w, unsigned n, unsigned extra) {
        char **argv = calloc((size_t) extra + 3, sizeof(char *));
        char first[128];
        unsigned failed = 0;

        if (!argv)
                return n;
        argv[0] = (char *) program;
        argv[1] = first;
        for (unsigned j = 0; j < extra; j++) {
                if (asprintf(&argv[2 + j], "a%u", j) < 0)
                        return n;
        }
        for (unsigned i = 0; i < n; i++) {
                pid_t pid;
                int status;

                snprintf(first, sizeof(first), "%s-%u-%u", marker, w, i);
                pid = fork();
                if (pid < 0) {
                        failed++;
                        continue;
                }
                if (pid == 0) {
                        execv(program, argv);
                        _exit(127);
                }
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        failed++;
        }
        return failed;
}

int main(int argc, char **argv) {
        const char *program = "/bin/true", *marker = NULL;
        unsigned n = 1000, extra = 0, workers = 1, failed = 0;
        pid_t pids[WORKERS_MAX];
        int pfd[2], c;
        uint64_t t0, t1;

        while ((c = getopt(argc, argv, "t:n:a:w:p:h")) != -1) {
                switch (c) {
                case 't':
                        marker = optarg;
                        break;
                case 'n':
                        n = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'a':
                        extra = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'w':
                        workers = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'p':
                        program = optarg;
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (!marker || strlen(marker) > 80 || n == 0 || extra > ARGS_MAX || workers == 0 ||
            workers > WORKERS_MAX) {
                usage(stderr);
                return 2;
        }

        /* All workers start together, released by EOF on a pipe. */
        if (pipe2(pfd, O_CLOEXEC) < 0) {
                perror("pipe2");
                return 1;
        }
        for (unsigned w = 0; w < workers; w++) {
                pids[w] = fork();
                if (pids[w] < 0) {
                        perror("fork");
                        return 1;
                }
                if (pids[w] == 0) {
                        char ch;

                        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                        close(pfd[1]);
                        while (read(pfd[0], &ch, 1) < 0 && errno == EINTR)
                                ;
                        close(pfd[0]);
                        _exit(worker(program, marker, w, n, extra) > 0 ? 1 : 0);
                }
        }
        close(pfd[0]);
        t0 = now_ns();
        close(pfd[1]);
        for (unsigned w = 0; w < workers; w++) {
                int status;

                while (waitpid(pids[w], &status, 0) < 0 && errno == EINTR)
                        ;
                if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                        failed++;
        }
        t1 = now_ns();

        printf("workers=");
        for (unsigned w = 0; w < workers; w++)
                printf("%s%d", w ? "," : "", (int) pids[w]);
        printf(" children=%u failed_workers=%u seconds=%.3f ms_per_spawn=%.3f\n", n * workers, failed,
               (double) (t1 - t0) / 1e9, (double) (t1 - t0) / 1e6 / n);
        return failed ? 1 : 0;
}
