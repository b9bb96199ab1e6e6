/* SPDX-License-Identifier: GPL-2.0-or-later */
/* A process for the access tests: pw-sleeper [--seteuid=UID] ARG...: optionally changes only its
 * effective uid (as sshd and cron do: the real and saved uid stay), writes "R" to stdout, closes it,
 * and sleeps until killed. The ARGs are there to be seen (or not) in its command line. */
#include <errno.h>
#include <signal.h>
#include <sys/prctl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char *argv[]) {
        if (argc > 1 && strncmp(argv[1], "--seteuid=", 10) == 0) {
                char *end;
                unsigned long uid;

                errno = 0;
                uid = strtoul(argv[1] + 10, &end, 10);
                if (errno != 0 || *end != '\0' || end == argv[1] + 10 || seteuid((uid_t) uid) < 0) {
                        perror("seteuid");
                        return 1;
                }
                /* The id change cleared the parent-death signal the test set: set it again, so this
                 * process dies with the test whatever way the test ends. */
                if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() == 1)
                        return 1;
        }
        if (write(STDOUT_FILENO, "R", 1) != 1)
                return 1;
        close(STDOUT_FILENO);
        for (;;)
                pause();
}
