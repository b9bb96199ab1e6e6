/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: pw_parse_cmdline() on any bytes a /proc/PID/cmdline could hold (a process may rewrite
 * its argv area with anything, with or without a final NUL).
 *
 * The first byte is the limit (so both sides of it get exercised); the rest is the cmdline, in a
 * buffer of exactly its size so that ASan sees a read past it. The limit is also tried at the
 * length and one past it, where the final-NUL rules turn. Beyond memory errors, it aborts when a
 * promise of procfs.h breaks: a kept cmdline within max and ending in NUL; a cut one the first
 * max - 1 bytes; an uncut one the whole input. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "procfs.h"

static void check(int ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-procfs-cmdline: broken promise: %s\n", what);
                abort();
        }
}

static void check_cmdline(const uint8_t *data, size_t size, size_t max) {
        char *argv = NULL;
        size_t argv_len = 0;
        bool truncated = false;
        int r;

        r = pw_parse_cmdline((const char *) data, size, max, &argv, &argv_len, &truncated);
        check(r >= 0, "a cmdline always parses");
        check(argv_len <= max, "a kept cmdline fits max");
        check((argv_len == 0) == (argv == NULL), "an empty cmdline is NULL");
        check(!argv || argv[argv_len - 1] == '\0', "a kept cmdline ends in NUL");
        if (truncated)
                check(argv_len == max && (max == 0 || memcmp(argv, data, max - 1) == 0),
                      "a cut cmdline is the first max - 1 bytes and a NUL");
        else
                check(argv_len == 0 ? size == 0
                                    : (argv_len == size || argv_len == size + 1) && memcmp(argv, data, size) == 0,
                      "an uncut cmdline is the whole input");
        check(truncated == (size > 0 && (max < size || (max == size && data[size - 1] != '\0'))),
              "cut exactly when the input and its NUL do not fit");
        free(argv);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        uint8_t *cmdline;
        size_t max, n;

        if (size == 0)
                return 0;
        max = data[0];
        n = size - 1;
        cmdline = malloc(n ? n : 1);
        if (!cmdline)
                return 0;
        memcpy(cmdline, data + 1, n);

        check_cmdline(cmdline, n, max);
        check_cmdline(cmdline, n, n);
        check_cmdline(cmdline, n, n + 1);

        free(cmdline);
        return 0;
}
