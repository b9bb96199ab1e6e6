/* SPDX-License-Identifier: GPL-2.0-or-later */
/* storm: a bounded fork storm for the benchmark.
 *
 * N workers each loop fork() + (child: _exit(0), or execv("/bin/true")) + waitpid() for a fixed
 * duration or a fixed number of forks, all released at once through a pipe. Prints one key=value
 * line: the forks done, the storm's own rate and the process events it made the kernel send
 * (fork + exit per child, + exec in exec mode, + the workers' own fork and exit). Every child is
 * reaped; a worker that outlives the parent gets SIGKILL (PR_SET_PDEATHSIG). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define WORKERS_MAX 256

typedef struct Slot {
        uint64_t forks;
        uint64_t failed;
        uint64_t execs_failed;
        char pad[40]; /* one cache line each: workers do not share counters */
} Slot;

static uint64_t now_ns(void) {
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ULL + (uint64_t) ts.tv_nsec;
}

static void usage(FILE *f) {
        fprintf(f, "Usage: storm [-w WORKERS] [-d SECONDS | -n FORKS_PER_WORKER] [-m fork|exec]\n"
                   "  -w  forking workers (default 2, at most %d)\n"
                   "  -d  run for this long (default 5; fractions allowed)\n"
                   "  -n  or do exactly this many forks per worker\n"
                   "  -m  fork: the child _exit()s at once; exec: the child execs /bin/true\n",
                WORKERS_MAX);
}

static void worker(Slot *slot, int go_fd, bool exec_mode, uint64_t deadline_rel_ns, uint64_t count) {
        char c;
        uint64_t deadline;

        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
        /* Wait for the common start; EOF when the parent closes the write end. */
        while (read(go_fd, &c, 1) < 0 && errno == EINTR)
                ;
        close(go_fd);
        deadline = now_ns() + deadline_rel_ns;

        for (uint64_t i = 0;; i++) {
                pid_t pid;
                int status;

                if (count > 0 ? i >= count : (i % 16 == 0 && now_ns() >= deadline))
                        break;
                pid = fork();
                if (pid < 0) {
                        slot->failed++;
                        if (errno == EAGAIN) {
                                /* pid_max or RLIMIT_NPROC: back off briefly, bounded by the clock. */
                                struct timespec ts = { 0, 1000000 };
                                nanosleep(&ts, NULL);
                                if (count == 0 && now_ns() >= deadline)
                                        break;
                                continue;
                        }
                        break;
                }
                if (pid == 0) {
                        if (exec_mode) {
                                char *const argv[] = { "true", NULL };
                                execv("/bin/true", argv);
                                _exit(127);
                        }
                        _exit(0);
                }
                while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
                        ;
                if (exec_mode && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
                        slot->execs_failed++;
                slot->forks++;
        }
        _exit(0);
}

int main(int argc, char *argv[]) {
        unsigned workers = 2;
        double seconds = 5.0;
        uint64_t count = 0;
        bool exec_mode = false;
        int go[2], opt;
        pid_t pids[WORKERS_MAX];
        Slot *slots;
        uint64_t start, end, forks = 0, failed = 0, execs_failed = 0, events;
        double elapsed;

        while ((opt = getopt(argc, argv, "w:d:n:m:h")) != -1) {
                switch (opt) {
                case 'w':
                        workers = (unsigned) strtoul(optarg, NULL, 10);
                        break;
                case 'd':
                        seconds = strtod(optarg, NULL);
                        break;
                case 'n':
                        count = strtoull(optarg, NULL, 10);
                        break;
                case 'm':
                        if (strcmp(optarg, "fork") == 0)
                                exec_mode = false;
                        else if (strcmp(optarg, "exec") == 0)
                                exec_mode = true;
                        else {
                                usage(stderr);
                                return 2;
                        }
                        break;
                case 'h':
                        usage(stdout);
                        return 0;
                default:
                        usage(stderr);
                        return 2;
                }
        }
        if (workers < 1 || workers > WORKERS_MAX || (count == 0 && !(seconds > 0 && seconds <= 3600))) {
                usage(stderr);
                return 2;
        }

        slots = mmap(NULL, sizeof(Slot) * workers, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
        if (slots == MAP_FAILED) {
                perror("mmap");
                return 1;
        }
        memset(slots, 0, sizeof(Slot) * workers);
        if (pipe2(go, O_CLOEXEC) < 0) {
                perror("pipe2");
                return 1;
        }

        for (unsigned i = 0; i < workers; i++) {
                pids[i] = fork();
                if (pids[i] < 0) {
                        perror("fork");
                        for (unsigned j = 0; j < i; j++)
                                kill(pids[j], SIGKILL);
                        return 1;
                }
                if (pids[i] == 0) {
                        close(go[1]);
                        worker(&slots[i], go[0], exec_mode, (uint64_t) (seconds * 1e9), count);
                }
        }
        close(go[0]);
        start = now_ns();
        close(go[1]); /* go */

        for (unsigned i = 0; i < workers; i++)
                while (waitpid(pids[i], NULL, 0) < 0 && errno == EINTR)
                        ;
        end = now_ns();

        for (unsigned i = 0; i < workers; i++) {
                forks += slots[i].forks;
                failed += slots[i].failed;
                execs_failed += slots[i].execs_failed;
        }
        elapsed = (double) (end - start) / 1e9;
        /* Per child: FORK and EXIT (and EXEC); per worker: its own FORK and EXIT. */
        events = forks * (exec_mode ? 3 : 2) - (exec_mode ? execs_failed : 0) + 2ULL * workers;
        printf("mode=%s workers=%u seconds=%.3f forks=%llu rate=%.0f events=%llu fork_failures=%llu "
               "exec_failures=%llu\n",
               exec_mode ? "exec" : "fork", workers, elapsed, (unsigned long long) forks,
               (double) forks / elapsed, (unsigned long long) events, (unsigned long long) failed,
               (unsigned long long) execs_failed);
        return 0;
}
