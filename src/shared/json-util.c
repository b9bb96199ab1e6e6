/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON helpers: strings made valid UTF-8, a nesting pre-scan. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"
#include "utf8.h"

json_t *json_string_sanitized(const char *s, size_t n) {
        _cleanup_(freep) char *copy = NULL;
        size_t len;

        if (n == 0)
                return json_stringn_nocheck("", 0);
        /* Checked here, so jansson need not check again. */
        if (utf8_is_clean(s, n))
                return json_stringn_nocheck(s, n);
        if (utf8_sanitize(s, n, &copy, &len) < 0)
                return NULL;
        return json_stringn_nocheck(copy, len);
}

bool json_nesting_exceeds(const char *s, size_t n, unsigned max) {
        unsigned depth = 0;
        bool in_string = false;

        for (size_t i = 0; i < n; i++) {
                char c = s[i];

                if (in_string) {
                        if (c == '\\')
                                i++; /* whatever is escaped cannot end the string */
                        else if (c == '"')
                                in_string = false;
                        continue;
                }
                switch (c) {
                case '"':
                        in_string = true;
                        break;
                case '[':
                case '{':
                        if (++depth > max)
                                return true;
                        break;
                case ']':
                case '}':
                        if (depth > 0)
                                depth--;
                        break;
                default:
                        break;
                }
        }
        return false;
}
