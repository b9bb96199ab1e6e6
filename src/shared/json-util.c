/* SPDX-License-Identifier: GPL-2.0-or-later */
/* JSON helpers: UTF-8 sanitising, a nesting pre-scan, escaping for terminals. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"

size_t utf8_next(const char *s, size_t n, bool *valid) {
        const uint8_t *u = (const uint8_t *) s;
        uint8_t c = u[0], lo = 0x80, hi = 0xBF;
        size_t need;

        *valid = false;
        if (c < 0x80) {
                *valid = true;
                return 1;
        }
        /* The well-formed sequences of Unicode table 3-7: the second byte's range depends on the
         * first, which excludes overlong forms, surrogates and values beyond U+10FFFF. */
        if (c >= 0xC2 && c <= 0xDF)
                need = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
                need = 2;
                if (c == 0xE0)
                        lo = 0xA0;
                else if (c == 0xED)
                        hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
                need = 3;
                if (c == 0xF0)
                        lo = 0x90;
                else if (c == 0xF4)
                        hi = 0x8F;
        } else
                return 1; /* 80..C1, F5..FF never start a character */

        for (size_t i = 1; i <= need; i++) {
                if (i >= n || u[i] < lo || u[i] > hi)
                        return i; /* the maximal subpart ends before this byte */
                lo = 0x80;
                hi = 0xBF;
        }
        *valid = true;
        return need + 1;
}

bool utf8_is_clean(const char *s, size_t n) {
        for (size_t i = 0; i < n;) {
                bool valid;

                /* ASCII fast path: most strings are plain ASCII. */
                if ((unsigned char) s[i] < 0x80) {
                        if (s[i] == '\0')
                                return false;
                        i++;
                        continue;
                }
                i += utf8_next(s + i, n - i, &valid);
                if (!valid)
                        return false;
        }
        return true;
}

int utf8_sanitize(const char *s, size_t n, char **ret, size_t *ret_len) {
        char *out, *p;

        /* Each input byte yields at most one U+FFFD (3 bytes). */
        if (n > (SIZE_MAX - 1) / 3)
                return -ENOMEM;
        out = malloc(n * 3 + 1);
        if (!out)
                return -ENOMEM;
        p = out;
        for (size_t i = 0; i < n;) {
                bool valid;
                size_t k = utf8_next(s + i, n - i, &valid);

                if (!valid || (k == 1 && s[i] == '\0')) {
                        memcpy(p, UTF8_REPLACEMENT, 3);
                        p += 3;
                } else {
                        memcpy(p, s + i, k);
                        p += k;
                }
                i += k;
        }
        *p = '\0';
        *ret = out;
        if (ret_len)
                *ret_len = (size_t) (p - out);
        return 0;
}

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

char *utf8_escape_display(const char *s, size_t n, bool keep_utf8) {
        char *out, *p;

        /* At most 4 output bytes ("\xNN") per input byte. */
        if (n > (SIZE_MAX - 1) / 4)
                return NULL;
        out = malloc(n * 4 + 1);
        if (!out)
                return NULL;
        p = out;
        for (size_t i = 0; i < n;) {
                unsigned char c = (unsigned char) s[i];
                bool valid = false;
                size_t k;

                if (c == '\\') {
                        *p++ = '\\';
                        *p++ = '\\';
                        i++;
                        continue;
                }
                if (c == '\n' || c == '\t') {
                        *p++ = '\\';
                        *p++ = c == '\n' ? 'n' : 't';
                        i++;
                        continue;
                }
                if (c >= 0x20 && c < 0x7f) {
                        *p++ = (char) c;
                        i++;
                        continue;
                }
                k = c >= 0x80 ? utf8_next(s + i, n - i, &valid) : 1;
                /* C1 controls (U+0080..U+009F) are C2 80..C2 9F in UTF-8. */
                if (c >= 0x80 && valid && keep_utf8 && !(c == 0xC2 && (unsigned char) s[i + 1] < 0xA0)) {
                        memcpy(p, s + i, k);
                        p += k;
                        i += k;
                        continue;
                }
                /* Control characters, DEL and anything not kept: byte by byte. */
                for (size_t j = 0; j < k; j++)
                        p += sprintf(p, "\\x%02x", (unsigned) (unsigned char) s[i + j]);
                i += k;
        }
        *p = '\0';
        return out;
}
