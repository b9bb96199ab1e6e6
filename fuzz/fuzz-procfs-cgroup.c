/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: pw_parse_cgroup() and pw_cgroup_to_units() on any bytes a /proc/PID/cgroup of a fake or
 * hostile /proc could hold (cgroup names are chosen by whoever may mkdir in the hierarchy: delegated
 * users, containers), and the unit on a raw path.
 *
 * The parser gets a NUL-terminated copy of exactly the input, so ASan sees a read past the NUL.
 * Beyond memory errors, it aborts when a promise of procfs.h breaks: a cgroup path absolute, on one
 * line, within PW_PATH_MAX and taken from the text; each unit a single valid name from the path, a user unit only below user@UID.service. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "procfs.h"

static void check(int ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-procfs-cgroup: broken promise: %s\n", what);
                abort();
        }
}

/* The length of the name before its suffix, or 0 when it is not a unit a process runs in. */
static size_t unit_stem(const char *unit) {
        static const char *const suffixes[] = { ".service", ".scope", ".socket", ".mount", ".swap", ".device" };
        size_t n = strlen(unit);

        for (size_t i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
                size_t l = strlen(suffixes[i]);

                if (n > l && strcmp(unit + n - l, suffixes[i]) == 0)
                        return n - l;
        }
        return 0;
}

static void check_one_unit(const char *cgroup, const char *unit) {
        const char *at;
        size_t stem;

        check(unit[0] != '\0', "a unit has a name");
        check(strlen(unit) <= 255, "a unit name fits UNIT_NAME_MAX");
        check(!strchr(unit, '/'), "a unit is one path component");
        stem = unit_stem(unit);
        check(stem > 0, "a unit is of a kind a process runs in");
        at = memchr(unit, '@', stem);
        check(!at || at != unit, "no empty prefix before '@'");
        check(strstr(cgroup, unit) != NULL, "a unit comes from the path");
}

static void check_unit(const char *cgroup) {
        char *unit = NULL, *user_unit = NULL;
        int r;

        r = pw_cgroup_to_units(cgroup, &unit, &user_unit);
        if (r < 0) {
                check(r == -EINVAL || r == -ENOMEM, "unit errors are the documented ones");
                check(r != -EINVAL || cgroup[0] != '/', "-EINVAL only for a relative path");
                check(!unit && !user_unit, "no unit on failure");
                return;
        }
        check(cgroup[0] == '/' , "units only from an absolute path");
        check(!user_unit || unit, "a user unit only below a system unit");
        if (unit)
                check_one_unit(cgroup, unit);
        if (user_unit) {
                check(strncmp(unit, "user@", 5) == 0, "a user unit only below user@UID.service");
                check_one_unit(cgroup, user_unit);
        }
        free(unit);
        free(user_unit);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        char *text, *cgroup = NULL;
        int r;

        text = malloc(size + 1);
        if (!text)
                return 0;
        memcpy(text, data, size);
        text[size] = '\0';

        r = pw_parse_cgroup(text, &cgroup);
        if (r >= 0) {
                check(cgroup && cgroup[0] == '/', "a cgroup path is absolute");
                check(!strchr(cgroup, '\n'), "a cgroup path is one line");
                check(strlen(cgroup) < PW_PATH_MAX, "a cgroup path fits PW_PATH_MAX");
                check(strstr(text, cgroup) != NULL, "a cgroup path comes from the text");
                check_unit(cgroup);
                free(cgroup);
        } else {
                check(r == -EBADMSG || r == -ENOENT || r == -ENAMETOOLONG || r == -ENOMEM,
                      "cgroup errors are the documented ones");
                check(!cgroup, "no path on failure");
        }
        /* The text itself as a path: what a cgroup line's path can hold, unparsed. */
        check_unit(text);

        free(text);
        return 0;
}
