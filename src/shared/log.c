/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging to stderr, with priority prefixes only when stderr is connected to the journal. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "log.h"

static int max_level = LOG_INFO;
static bool journal_stream = false;

bool log_to_journal_stream(void) {
        return journal_stream;
}

/* $JOURNAL_STREAM is "DEV:INODE" of the stream the service manager connected to stderr. It is
 * inherited by children, so compare it with what stderr really is. */
void log_setup(void) {
        const char *e = getenv("JOURNAL_STREAM");
        unsigned long long dev, ino;
        struct stat st;

        journal_stream = false;
        if (!e || sscanf(e, "%llu:%llu", &dev, &ino) != 2)
                return;
        if (fstat(STDERR_FILENO, &st) < 0)
                return;
        journal_stream = (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino;
}

void log_set_max_level(int level) {
        max_level = level;
}

int log_get_max_level(void) {
        return max_level;
}

int log_level_from_string(const char *s) {
        static const char *const names[] = {
                [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit", [LOG_ERR] = "err",
                [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
        };

        if (!s)
                return -EINVAL;
        for (size_t i = 0; i < ELEMENTSOF(names); i++)
                if (strcmp(s, names[i]) == 0)
                        return (int) i;
        if (strcmp(s, "error") == 0)
                return LOG_ERR;
        if (s[0] >= '0' && s[0] <= '7' && s[1] == '\0')
                return s[0] - '0';
        return -EINVAL;
}

int log_internal(int level, int error, const char *file, int line, const char *func, const char *format,
                 ...) {
        char buf[2048];
        va_list ap;
        int e = error < 0 ? -error : error;

        /* %m in the format stands for this error, not for whatever errno happens to hold. */
        errno = e;
        va_start(ap, format);
        vsnprintf(buf, sizeof(buf), format, ap);
        va_end(ap);

        /* One message, one line: a newline inside would split it into two journal entries. */
        for (char *p = buf; *p; p++)
                if (*p == '\n')
                        *p = ' ';

        if (journal_stream)
                fprintf(stderr, "<%d>%s\n", level & LOG_PRIMASK, buf);
        else
                fprintf(stderr, "%s\n", buf);

        return -e;
}
