/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: the /proc text parsers (stat, status, cgroup and the unit derived from it, cmdline) on
 * any bytes a file of a fake or hostile /proc could hold.
 *
 * The text parsers get a NUL-terminated copy of exactly the input, so ASan sees a read past the NUL.
 * Beyond memory errors, it aborts when a promise of procfs.h breaks: comm NUL-terminated and short, a
 * cgroup path absolute and on one line, a unit a single valid name, a kept cmdline within max and
 * ending in NUL. */
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

static void check_unit(const char *cgroup) {
        char *unit = NULL, *user_unit = NULL;
        int r;

        r = pw_cgroup_to_units(cgroup, &unit, &user_unit);
        if (r < 0) {
                check(r == -EINVAL || r == -ENOMEM, "unit errors are the documented ones");
                check(!unit && !user_unit, "no unit on failure");
                return;
        }
        check(!user_unit || unit, "a user unit only below a system unit");
        for (const char *u = unit; u; u = u == unit ? user_unit : NULL) {
                check(u[0] != '\0', "a unit has a name");
                check(strlen(u) <= 255, "a unit name fits UNIT_NAME_MAX");
                check(!strchr(u, '/'), "a unit is one path component");
                check(strstr(cgroup, u) != NULL, "a unit comes from the path");
        }
        free(unit);
        free(user_unit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text;
        PwStat st;
        uint32_t ids[4];
        pid_t tgid;
        char *cgroup = NULL, *argv = NULL;
        size_t argv_len = 0, max;
        bool truncated = false;
        int r;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';

        if (pw_parse_stat(text, &st) >= 0) {
                check(memchr(st.comm, '\0', sizeof(st.comm)) != NULL, "comm NUL-terminated");
                check(st.pid > 0 && st.ppid >= 0 && st.sid >= 0, "pids in range");
        }

        if (pw_parse_status(text, &ids[0], &ids[1], &ids[2], &ids[3], &tgid) >= 0)
                check(tgid > 0, "a tgid is a pid");

        r = pw_parse_cgroup(text, &cgroup);
        if (r >= 0) {
                check(cgroup && cgroup[0] == '/', "a cgroup path is absolute");
                check(!strchr(cgroup, '\n'), "a cgroup path is one line");
                check(strlen(cgroup) < PW_PATH_MAX, "a cgroup path fits PW_PATH_MAX");
                check_unit(cgroup);
                free(cgroup);
        } else
                check(!cgroup, "no path on failure");
        if (text[0] == '/')
                check_unit(text);

        /* The raw bytes as a cmdline, with a limit taken from the input so that both sides of it
         * get exercised. */
        max = size > 0 ? data[0] : 0;
        r = pw_parse_cmdline((const char *) data, size, max, &argv, &argv_len, &truncated);
        check(r >= 0, "a cmdline always parses");
        check(argv_len <= max, "a kept cmdline fits max");
        check((argv_len == 0) == (argv == NULL), "an empty cmdline is NULL");
        check(!argv || argv[argv_len - 1] == '\0', "a kept cmdline ends in NUL");
        if (truncated)
                check(argv_len == max && (max == 0 || memcmp(argv, data, max - 1) == 0),
                      "a cut cmdline is the first max - 1 bytes and a NUL");
        check(!(size > 0 && !truncated) || (argv_len >= size && memcmp(argv, data, size) == 0),
              "an untruncated cmdline is the whole input");
        free(argv);

        free(text);
        return 0;
}
