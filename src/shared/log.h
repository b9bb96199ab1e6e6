/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Logging to stderr: syslog priority prefixes ("<3>") when stderr is the journal, plain text on a
 * terminal or a file. Log once, where the decision is taken; the *_errno variants return -|error|
 * so that "return log_error_errno(r, "...: %m");" works, and %m prints that error. */
#pragma once

#include <stdbool.h>
#include <syslog.h>

#include "macro.h"

void log_setup(void);
void log_set_max_level(int level);
int log_get_max_level(void);
/* Parses "debug", "info", ... or a number 0..7. Returns the level or -EINVAL. */
int log_level_from_string(const char *s);
bool log_to_journal_stream(void);

int log_internal(int level, int error, const char *file, int line, const char *func, const char *format,
                 ...) _printf_(6, 7);

#define log_full_errno(level, error, ...)                                                                 \
        ({                                                                                                \
                int _level_ = (level), _e_ = (error);                                                     \
                _level_ <= log_get_max_level()                                                            \
                        ? log_internal(_level_, _e_, __FILE__, __LINE__, __func__, __VA_ARGS__)           \
                        : (_e_ < 0 ? _e_ : -_e_);                                                         \
        })

#define log_full(level, ...) (void) log_full_errno((level), 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(e, ...) log_full_errno(LOG_DEBUG, e, __VA_ARGS__)
#define log_info_errno(e, ...) log_full_errno(LOG_INFO, e, __VA_ARGS__)
#define log_warning_errno(e, ...) log_full_errno(LOG_WARNING, e, __VA_ARGS__)
#define log_error_errno(e, ...) log_full_errno(LOG_ERR, e, __VA_ARGS__)

#define log_oom() log_error_errno(-ENOMEM, "Out of memory.")
