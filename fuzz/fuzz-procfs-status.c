/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: pw_parse_status() on any bytes a /proc/PID/status of a fake or hostile /proc could
 * hold (Name: carries comm, which a process sets to any bytes but a NUL).
 *
 * The parser gets a NUL-terminated copy of exactly the input, so ASan sees a read past the NUL.
 * Beyond memory errors, it aborts when a promise of procfs.h breaks: a tgid is a pid, every output
 * pointer may be NULL, and the result depends on the text alone. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "procfs.h"

static void check(int ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-procfs-status: broken promise: %s\n", what);
                abort();
        }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint32_t uid = 1, euid = 2, gid = 3, egid = 4, uid2, euid2, gid2, egid2;
        pid_t tgid = -1, tgid2;
        char *text;
        int r;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';

        r = pw_parse_status(text, &uid, &euid, &gid, &egid, &tgid);
        check(r == 0 || r == -EBADMSG, "-EBADMSG is the only parse error");
        check(pw_parse_status(text, NULL, NULL, NULL, NULL, NULL) == r, "outputs may be NULL");
        if (r >= 0) {
                check(tgid > 0, "a tgid is a pid");
                check(strstr(text, "Uid:") && strstr(text, "Gid:") && strstr(text, "Tgid:"),
                      "values come from the three lines");
                check(pw_parse_status(text, &uid2, &euid2, &gid2, &egid2, &tgid2) == 0 && uid2 == uid &&
                              euid2 == euid && gid2 == gid && egid2 == egid && tgid2 == tgid,
                      "the same text gives the same values");
        } else
                check(uid == 1 && euid == 2 && gid == 3 && egid == 4 && tgid == -1, "nothing written on failure");

        free(text);
        return 0;
}
