/* SPDX-License-Identifier: GPL-2.0-or-later */
/* sleepers: N live processes with a short argv, for the benchmark's memory and tree figures.
 *
 * `sleepers N` forks N children; each execs this same binary as `sleeper` (a short argv, a real
 * exec, so a watcher reads its exe and argv as for any program), tells the spawner it runs by
 * writing a byte to fd 3, then blocks reading stdin, a pipe only the spawner holds open. The spawner
 * prints "ready N" once all N have started, then waits for SIGTERM or SIGINT (or EOF on its own
 * stdin), closes the pipe and reaps them all: every sleeper reads EOF and exits. A sleeper whose
 * spawner dies gets SIGKILL (PR_SET_PDEATHSIG survives exec). Built static when it can be, so each
 * sleeper costs the machine little. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int sleeper(void) {
        char c;
        ssize_t n;

        (void) write(3, "r", 1);
        close(3);
        do
                n = read(STDIN_FILENO, &c, 1);
        while (n < 0 && errno == EINTR);
        return 0;
}

static void on_signal(int sig) {
        (void) sig;
}

int main(int argc, char *argv[]) {
        const char *base = strrchr(argv[0], '/');
        long want, started = 0, alive = 0, reaped = 0;
        int hold[2], ready[2];
        pid_t parent = getpid();
        char self[4096];
        ssize_t sl;
        sigset_t block, orig;

        if (strcmp(base ? base + 1 : argv[0], "sleeper") == 0)
                return sleeper();
        if (argc != 2 || (want = strtol(argv[1], NULL, 10)) <= 0 || want > 1000000) {
                fprintf(stderr, "Usage: sleepers N\n");
                return 2;
        }
        /* Exec the file by its name, so the sleepers' comm is the binary's, not "exe". */
        sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
        if (sl <= 0) {
                perror("readlink /proc/self/exe");
                return 1;
        }
        self[sl] = '\0';
        if (pipe(hold) < 0 || pipe2(ready, O_CLOEXEC) < 0) {
                perror("pipe");
                return 1;
        }
        sigemptyset(&block);
        sigaddset(&block, SIGTERM);
        sigaddset(&block, SIGINT);
        sigprocmask(SIG_BLOCK, &block, &orig);
        sigaction(SIGTERM, &(struct sigaction){ .sa_handler = on_signal }, NULL);
        sigaction(SIGINT, &(struct sigaction){ .sa_handler = on_signal }, NULL);

        for (long i = 0; i < want; i++) {
                pid_t pid = fork();

                if (pid < 0) {
                        fprintf(stderr, "fork after %ld: %s\n", i, strerror(errno));
                        break;
                }
                if (pid == 0) {
                        char *const args[] = { "sleeper", NULL };

                        (void) prctl(PR_SET_PDEATHSIG, SIGKILL);
                        if (getppid() != parent)
                                _exit(1);
                        sigprocmask(SIG_SETMASK, &orig, NULL);
                        if (dup2(hold[0], STDIN_FILENO) < 0 || dup2(ready[1], 3) < 0)
                                _exit(1);
                        close(hold[1]);
                        execv(self, args);
                        _exit(127);
                }
                alive++;
        }
        close(hold[0]);
        close(ready[1]);
        /* All of them exec'ed and running: one byte each, EOF only if every one is gone. */
        while (started < alive) {
                char buf[4096];
                ssize_t n = read(ready[0], buf, sizeof(buf));

                if (n < 0 && errno == EINTR)
                        continue;
                if (n <= 0)
                        break;
                started += n;
        }
        printf("ready %ld\n", started);
        fflush(stdout);

        /* Until told to stop: a signal, or EOF on our stdin. */
        for (;;) {
                struct pollfd p = { .fd = STDIN_FILENO, .events = POLLIN };
                int k = ppoll(&p, 1, NULL, &orig);

                if (k < 0 && errno == EINTR)
                        break;
                if (k > 0) {
                        char buf[64];
                        if (read(STDIN_FILENO, buf, sizeof(buf)) <= 0)
                                break;
                }
                if (k < 0)
                        break;
        }
        close(hold[1]);
        while (reaped < alive) {
                pid_t p = wait(NULL);
                if (p < 0 && errno == EINTR)
                        continue;
                if (p < 0)
                        break;
                reaped++;
        }
        printf("reaped %ld\n", reaped);
        return started == want ? 0 : 1;
}
