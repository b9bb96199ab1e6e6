/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Small macros shared by every module: cleanup attributes, ownership transfer, array sizes. */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _noreturn_ __attribute__((noreturn))
#define _likely_(x) __builtin_expect(!!(x), 1)
#define _unlikely_(x) __builtin_expect(!!(x), 0)
#define _fallthrough_ __attribute__((fallthrough))

#define ELEMENTSOF(a)                                                                                     \
        (__builtin_choose_expr(!__builtin_types_compatible_p(__typeof__(a), __typeof__(&(a)[0])),         \
                               sizeof(a) / sizeof((a)[0]), (void) 0))

#define PW_CONCAT_(a, b) a##b
#define PW_CONCAT(a, b) PW_CONCAT_(a, b)
/* A name of its own at each expansion, so that macros that declare variables nest. */
#define PW_UNIQ(name) PW_CONCAT(name, __COUNTER__)

/* Each argument evaluated once: MIN(f(), n) calls f() once (the plain ?: form called it twice, so a
 * function that appends, like pw_resources_message(), appended twice). Not for constant expressions. */
#define MIN(a, b) PW_MIN_(PW_UNIQ(_min_a_), PW_UNIQ(_min_b_), a, b)
#define PW_MIN_(x, y, a, b)                                                                               \
        __extension__({                                                                                   \
                __typeof__(a) x = (a);                                                                    \
                __typeof__(b) y = (b);                                                                    \
                x < y ? x : y;                                                                            \
        })
#define MAX(a, b) PW_MAX_(PW_UNIQ(_max_a_), PW_UNIQ(_max_b_), a, b)
#define PW_MAX_(x, y, a, b)                                                                               \
        __extension__({                                                                                   \
                __typeof__(a) x = (a);                                                                    \
                __typeof__(b) y = (b);                                                                    \
                x > y ? x : y;                                                                            \
        })

/* Hand a pointer owned by a _cleanup_ variable to someone else. */
#define TAKE_PTR(p)                                                                                       \
        ({                                                                                                \
                __typeof__(p) _p_ = (p);                                                                  \
                (p) = NULL;                                                                               \
                _p_;                                                                                      \
        })

#define TAKE_FD(fd)                                                                                       \
        ({                                                                                                \
                int _fd_ = (fd);                                                                          \
                (fd) = -EBADF;                                                                            \
                _fd_;                                                                                     \
        })

static inline void *mfree(void *p) {
        free(p);
        return NULL;
}

static inline void freep(void *p) {
        free(*(void **) p);
}

/* Closes and returns -EBADF, keeping errno as it was: usable as fd = safe_close(fd). */
static inline int safe_close(int fd) {
        if (fd >= 0) {
                int saved = errno;
                (void) close(fd);
                errno = saved;
        }
        return -EBADF;
}

static inline void closep(int *fd) {
        (void) safe_close(*fd);
}

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                           \
        static inline void func##p(type *p) {                                                             \
                if (*p)                                                                                   \
                        func(*p);                                                                         \
        }

/* errno of the last call, as a negative value that is never 0 even if errno was not set. */
static inline int negative_errno(void) {
        return errno > 0 ? -errno : -EIO;
}
