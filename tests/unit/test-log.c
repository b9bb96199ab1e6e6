/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Log lines carry "<N>" priority prefixes only when stderr is the journal stream named by
 * $JOURNAL_STREAM, plain text otherwise; a newline in a message never splits it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "test-cleanup.h"

/* Runs fn with stderr sent to a fresh file and returns what it wrote (caller frees). */
static char *capture_stderr(const char *journal_stream_of_file, void (*fn)(void)) {
        char dir[] = "/tmp/pwlog-XXXXXX", path[64], env[64];
        int fd, saved = dup(STDERR_FILENO);
        struct stat st;
        char *out = NULL;

        assert_int_equal(tc_mkdtemp(dir), 0);
        snprintf(path, sizeof(path), "%s/stderr", dir);
        fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
        assert_true(fd >= 0 && saved >= 0);
        assert_int_equal(fstat(fd, &st), 0);
        if (journal_stream_of_file) {
                snprintf(env, sizeof(env), "%llu:%llu", (unsigned long long) st.st_dev,
                         (unsigned long long) st.st_ino);
                setenv("JOURNAL_STREAM", strcmp(journal_stream_of_file, "same") == 0 ? env : journal_stream_of_file, 1);
        } else
                unsetenv("JOURNAL_STREAM");
        fflush(stderr);
        assert_true(dup2(fd, STDERR_FILENO) >= 0);
        log_setup();
        fn();
        fflush(stderr);
        assert_true(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        close(fd);
        assert_int_equal(read_full_file(path, &out, NULL), 0);
        unlink(path);
        rmdir(dir);
        return out;
}

static void say(void) {
        log_info("hello %s", "world");
        log_warning("two\nlines");
        (void) log_error_errno(-ENOENT, "open failed: %m");
}

static void test_journal_stream(void **state) {
        char *out = capture_stderr("same", say);

        assert_string_equal(out, "<6>hello world\n<4>two lines\n<3>open failed: No such file or directory\n");
        free(out);
}

static void test_terminal_or_file(void **state) {
        char *out = capture_stderr(NULL, say);

        assert_string_equal(out, "hello world\ntwo lines\nopen failed: No such file or directory\n");
        free(out);
}

static void test_inherited_stream_of_another_fd(void **state) {
        /* $JOURNAL_STREAM inherited from a parent whose stderr was the journal, ours is not. */
        char *out = capture_stderr("1:1", say);

        assert_string_equal(out, "hello world\ntwo lines\nopen failed: No such file or directory\n");
        free(out);
}

static void test_levels(void **state) {
        assert_int_equal(log_level_from_string("debug"), LOG_DEBUG);
        assert_int_equal(log_level_from_string("error"), LOG_ERR);
        assert_int_equal(log_level_from_string("4"), LOG_WARNING);
        assert_int_equal(log_level_from_string("8"), -EINVAL);
        assert_int_equal(log_level_from_string("loud"), -EINVAL);
}

int main(void) {
        tc_init("log");
        const struct CMUnitTest tests[] = {
                cmocka_unit_test(test_journal_stream),
                cmocka_unit_test(test_terminal_or_file),
                cmocka_unit_test(test_inherited_stream_of_another_fd),
                cmocka_unit_test(test_levels),
        };
        return cmocka_run_group_tests_name("logging", tests, NULL, NULL);
}
