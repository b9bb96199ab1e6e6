/* SPDX-License-Identifier: GPL-2.0-or-later */
/* Fuzz target: a List or Tree reply as procwatchctl --json reads it (ctl-json.h), from any bytes.
 *
 * Beyond memory errors, it aborts when a promise of ctl-json.h breaks: the verdict is one of the
 * documented ones; nothing is written unless it is 0; what it writes is JSON; it accepts only what
 * jansson parses too (the object path it stands in for would refuse the rest); and the records
 * scanned while the reply comes (ctl_json_reply_feed(), in pieces of every size the input's first
 * byte picks) give the same verdict and the same bytes as the whole message at once. Names are not
 * resolved, so no NSS lookup runs. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl-json.h"
#include "fuzz.h"

static void check(int ok, const char *what) {
        if (!ok) {
                fprintf(stderr, "fuzz-ctl-json: broken promise: %s\n", what);
                abort();
        }
}

/* The output and verdict for msg, fed in pieces of step bytes first (0: not fed at all). */
static char *print(const char *msg, size_t len, bool nest, size_t step, int *ret) {
        CtlJsonReply *x = NULL;
        char *out = NULL;
        size_t out_len = 0;
        FILE *f = open_memstream(&out, &out_len);

        check(f != NULL, "a memory stream");
        if (ctl_json_reply_new(&x) < 0) {
                fclose(f);
                free(out);
                *ret = -ENOMEM;
                return NULL;
        }
        *ret = 0;
        for (size_t n = step; step > 0 && n < len && *ret == 0; n += step)
                *ret = ctl_json_reply_feed(x, msg, n);
        if (*ret == 0)
                *ret = ctl_json_reply_print(x, f, msg, len, nest, false);
        ctl_json_reply_free(x);
        check(fclose(f) == 0, "the memory stream closes");
        return out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *msg = (const char *) data;
        size_t step = size > 0 ? (size_t) data[0] % 97 + 1 : 1;

        for (int nest = 0; nest < 2; nest++) {
                char *whole, *fed;
                int r, rf;

                whole = print(msg, size, nest, 0, &r);
                if (r == -ENOMEM) {
                        free(whole);
                        continue;
                }
                check(r == 0 || r == -EBADMSG || r == -EDOM || r == -ENOMSG, "a documented verdict");
                check(whole != NULL, "output in memory");
                if (r == 0) {
                        json_t *in = json_loadb(msg, size, 0, NULL), *out = json_loads(whole, 0, NULL);

                        check(in != NULL, "accepted only what jansson parses");
                        check(out != NULL, "the output is JSON");
                        json_decref(in);
                        json_decref(out);
                } else
                        check(whole[0] == '\0', "nothing written on failure");

                fed = print(msg, size, nest, step, &rf);
                if (rf != -ENOMEM) {
                        check(rf == r, "the same verdict when fed in pieces");
                        check(strcmp(fed, whole) == 0, "the same output when fed in pieces");
                }
                free(whole);
                free(fed);
        }
        return 0;
}
