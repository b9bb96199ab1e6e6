/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: pw_parse_stat() on any bytes a /proc/PID/stat of a fake or hostile /proc could hold
 * (comm in it is any bytes a process chose, ')', '(', spaces and newlines included). status, cgroup
 * and cmdline have a target each (fuzz-procfs-*.c).
 *
 * The parser gets a NUL-terminated copy of exactly the input, so ASan sees a read past the NUL.
 * Beyond memory errors, it aborts when a promise of procfs.h breaks: comm NUL-terminated and short,
 * pids in range, a state letter, and comm taken from between the parentheses. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "procfs.h"

static void check(int ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-procfs-stat: broken promise: %s\n", what);
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text;
        PwStat st;
        int r;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';

        r = pw_parse_stat(text, &st);
        check(r == 0 || r == -EBADMSG, "-EBADMSG is the only parse error");
        if (r >= 0) {
                const char *lparen = strchr(text, '(');

                check(memchr(st.comm, '\0', sizeof(st.comm)) != NULL, "comm NUL-terminated");
                check(st.pid > 0 && st.ppid >= 0 && st.sid >= 0, "pids in range");
                check((st.state >= 'A' && st.state <= 'Z') || (st.state >= 'a' && st.state <= 'z'),
                      "a state is a letter");
                check(lparen && strncmp(lparen + 1, st.comm, strlen(st.comm)) == 0,
                      "comm is what follows the first '('");
        }

        free(text);
        return 0;
}
