/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Reading small files whole: procfs files report size 0, so read until EOF. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fileio.h"
#include "macro.h"

int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0, alloc = 0;

        if (max == 0)
                max = 4U * 1024U * 1024U;
        /* max + 1 is used below: keep it from wrapping for a caller asking for "no limit". */
        if (max > SIZE_MAX / 2)
                max = SIZE_MAX / 2;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();

        for (;;) {
                ssize_t n;

                if (size == alloc) {
                        size_t na = alloc ? alloc * 2 : 4096;
                        char *nb;

                        if (alloc > max)
                                return -EFBIG;
                        na = MIN(na, max + 1);
                        nb = realloc(buf, na + 1);
                        if (!nb)
                                return -ENOMEM;
                        buf = nb;
                        alloc = na;
                }
                n = read(fd, buf + size, alloc - size);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return negative_errno();
                }
                if (n == 0)
                        break;
                size += (size_t) n;
                if (size > max)
                        return -EFBIG;
        }
        if (!buf) {
                buf = malloc(1);
                if (!buf)
                        return -ENOMEM;
        }
        buf[size] = '\0';
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}
