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

int read_file_head_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_(closep) int fd = -EBADF;
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0, alloc = 0;

        /* The buffer holds max + 1 bytes at most. */
        if (max > SIZE_MAX / 2)
                max = SIZE_MAX / 2;

        fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return negative_errno();

        while (size < max) {
                ssize_t n;

                if (size == alloc) {
                        size_t na = MIN(alloc ? alloc * 2 : 4096U, max);
                        char *nb = realloc(buf, na + 1);

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

int read_full_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_size) {
        _cleanup_(freep) char *buf = NULL;
        size_t size = 0;
        int r;

        if (max == 0)
                max = 4U * 1024U * 1024U;
        /* max + 1 is read below: keep it from wrapping for a caller asking for "no limit". */
        if (max > SIZE_MAX / 2 - 1)
                max = SIZE_MAX / 2 - 1;

        /* One byte more than allowed tells a file that is too long from one that fits exactly. */
        r = read_file_head_at(dirfd, path, max + 1, &buf, &size);
        if (r < 0)
                return r;
        if (size > max)
                return -EFBIG;
        if (ret_size)
                *ret_size = size;
        *ret = TAKE_PTR(buf);
        return 0;
}
