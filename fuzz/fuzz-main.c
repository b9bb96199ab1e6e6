/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Replays fuzz inputs without libFuzzer: every file named, and every file in every folder named, goes
 * through LLVMFuzzerTestOneInput() once. So the corpus and every saved crash run as a test under any
 * compiler. Fails when nothing was replayed, so that a wrong path cannot pass. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "fuzz.h"
#include "macro.h"

/* Far above any seed; a larger file is a mistake, not an input. */
#define REPLAY_MAX (1024U * 1024U)

static int replay_file(int dirfd, const char *name, const char *shown) {
        _cleanup_(freep) char *buf = NULL;
        _cleanup_(freep) uint8_t *input = NULL;
        size_t size = 0;
        int r;

        r = read_full_file_at(dirfd, name, REPLAY_MAX, &buf, &size);
        if (r < 0) {
                fprintf(stderr, "%s: %s\n", shown, strerror(-r));
                return r;
        }
        /* A copy of exactly the file's size, so that a read past the input is caught by ASan. */
        input = malloc(size ? size : 1);
        if (!input)
                return -ENOMEM;
        memcpy(input, buf, size);
        (void) LLVMFuzzerTestOneInput(input, size);
        return 0;
}

static int replay_dir(const char *path, unsigned *count) {
        struct dirent **entries = NULL;
        _cleanup_(closep) int dirfd = -EBADF;
        int n, r = 0;

        dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (dirfd < 0) {
                r = negative_errno();
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        /* Sorted, so that a failure names the same file on every run. */
        n = scandir(path, &entries, NULL, alphasort);
        if (n < 0) {
                r = negative_errno();
                fprintf(stderr, "%s: %s\n", path, strerror(-r));
                return r;
        }
        for (int i = 0; i < n; i++) {
                struct stat st;

                if (r >= 0 && fstatat(dirfd, entries[i]->d_name, &st, 0) >= 0 && S_ISREG(st.st_mode)) {
                        r = replay_file(dirfd, entries[i]->d_name, entries[i]->d_name);
                        if (r >= 0)
                                (*count)++;
                }
                free(entries[i]);
        }
        free(entries);
        return r;
}

int main(int argc, char *argv[]) {
        unsigned count = 0;

        if (argc < 2) {
                fprintf(stderr, "Usage: %s FILE|DIRECTORY...\n", argv[0]);
                return EXIT_FAILURE;
        }
        for (int i = 1; i < argc; i++) {
                struct stat st;
                int r;

                if (stat(argv[i], &st) < 0) {
                        fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
                        return EXIT_FAILURE;
                }
                if (S_ISDIR(st.st_mode))
                        r = replay_dir(argv[i], &count);
                else {
                        r = replay_file(AT_FDCWD, argv[i], argv[i]);
                        if (r >= 0)
                                count++;
                }
                if (r < 0)
                        return EXIT_FAILURE;
        }
        if (count == 0) {
                fprintf(stderr, "No inputs found.\n");
                return EXIT_FAILURE;
        }
        printf("Replayed %u inputs.\n", count);
        return EXIT_SUCCESS;
}
