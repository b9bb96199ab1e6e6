/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: server_parse_hidepid() on any bytes a /proc/self/mountinfo could hold (mount points
 * and sources are chosen by whoever may mount: a user namespace, a container).
 *
 * The parser gets a NUL-terminated copy of exactly the input, so ASan sees a read past the NUL.
 * Beyond memory errors, it aborts when a promise of server.h breaks: 1, 0 or -EINVAL only; and, since
 * the last /proc mount listed is the one on top, a plain /proc line appended decides 0 and one with
 * hidepid=invisible decides 1, whatever came before. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "server.h"

static const char plain_proc[] = "99 1 0:99 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n";
static const char hidden_proc[] = "99 1 0:99 / /proc rw,relatime shared:9 - proc proc rw,hidepid=invisible\n";

static void check(int ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-mountinfo: broken promise: %s\n", what);
                abort();
        }
}

/* The text, a newline unless it ends in one, and line. */
static int parse_with(const char *text, size_t len, const char *line) {
        size_t n = strlen(line);
        char *s;
        int r;

        s = malloc(len + 1 + n + 1);
        if (!s)
                return -ENOMEM;
        memcpy(s, text, len);
        if (len > 0 && text[len - 1] != '\n')
                s[len++] = '\n';
        memcpy(s + len, line, n + 1);
        r = server_parse_hidepid(s);
        free(s);
        return r;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text;
        size_t len;
        int r;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        len = strlen(text);

        r = server_parse_hidepid(text);
        if (r == -ENOMEM)
                goto out;
        check(r == 0 || r == 1 || r == -EINVAL, "1, 0 or -EINVAL");
        if (r >= 0)
                check(strstr(text, " /proc") && strstr(text, " - proc "), "a result only from a /proc line");
        if (r == 1)
                check(strstr(text, "hidepid=") != NULL, "hidden only with a hidepid option");

        r = parse_with(text, len, plain_proc);
        check(r == 0 || r == -ENOMEM, "the last /proc mount decides: plain");
        r = parse_with(text, len, hidden_proc);
        check(r == 1 || r == -ENOMEM, "the last /proc mount decides: hidepid");
out:
        free(text);
        return 0;
}
