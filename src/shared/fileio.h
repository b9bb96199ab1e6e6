/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading small files (procfs, sysfs) whole. */
#pragma once

#include <stddef.h>

/* Reads the file at path (relative to dirfd when not AT_FDCWD) into a NUL-terminated buffer the
 * caller frees. Stops with -EFBIG past max bytes (0: 4 MiB). */
int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size);

/* Reads at most the first max bytes of the file (the rest is left unread), NUL-terminated, into a
 * buffer the caller frees. For files whose head is all that is kept (a long cmdline). */
int read_file_head_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size);

static inline int read_full_file(const char *path, char **ret, size_t *ret_size) {
        return read_full_file_at(-100 /* AT_FDCWD */, path, 0, ret, ret_size);
}
