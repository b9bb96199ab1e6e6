/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: pw_parse_proc_mount() on any bytes a /proc/self/mountinfo could hold (mount points
 * and sources are chosen by whoever may mount: a user namespace, a container).
 *
 * The parser gets a NUL-terminated copy of exactly the input, so ASan sees a read past the NUL.
 * Beyond memory errors, it aborts when a promise of access-policy.h breaks: 0 or -EINVAL only, and
 * -EINVAL says hidepid=invisible (when in doubt, hide); and, since the last /proc mount listed is the
 * one on top, a plain /proc line appended decides "off" and one with hidepid=invisible decides
 * "invisible", whatever came before. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "access-policy.h"

static const char plain_proc[] = "99 1 0:99 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw\n";
static const char hidden_proc[] = "99 1 0:99 / /proc rw,relatime shared:9 - proc proc rw,hidepid=invisible\n";

static void check(int ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-mountinfo: broken promise: %s\n", what);
                abort();
        }
}

/* The hidepid= the parser makes of the text, a newline unless it ends in one, and line; -ENOMEM. */
static int parse_with(const char *text, size_t len, const char *line) {
        PwProcMount m;
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
        r = pw_parse_proc_mount(s, &m);
        free(s);
        return r == -ENOMEM ? r : (int) m.hidepid;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text;
        size_t len;
        PwProcMount m;
        int r;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';
        len = strlen(text);

        r = pw_parse_proc_mount(text, &m);
        if (r == -ENOMEM)
                goto out;
        check(r == 0 || r == -EINVAL, "0 or -EINVAL");
        if (r == -EINVAL)
                check(m.hidepid == PW_HIDEPID_INVISIBLE, "in doubt, hidden");
        if (r == 0)
                check(strstr(text, " /proc") && strstr(text, " - proc "), "a result only from a /proc line");
        if (r == 0 && m.hidepid != PW_HIDEPID_OFF)
                check(strstr(text, "hidepid=") != NULL, "hidden only with a hidepid option");
        if (r == 0 && m.has_gid)
                check(strstr(text, "gid=") != NULL, "a gid only with a gid option");

        r = parse_with(text, len, plain_proc);
        check(r == PW_HIDEPID_OFF || r == -ENOMEM, "the last /proc mount decides: plain");
        r = parse_with(text, len, hidden_proc);
        check(r == PW_HIDEPID_INVISIBLE || r == -ENOMEM, "the last /proc mount decides: hidepid");
out:
        free(text);
        return 0;
}
