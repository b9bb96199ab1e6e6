/* SPDX-License-Identifier: GPL-2.0-or-later */
/* UTF-8 decoding, sanitising and escaping (see utf8.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "utf8.h"

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

static size_t escape_byte(unsigned char c, char *out) {
        static const char hex[] = "0123456789abcdef";

        out[0] = '\\';
        out[1] = 'x';
        out[2] = hex[c >> 4];
        out[3] = hex[c & 15];
        return 4;
}

size_t utf8_escape_next(const char *s, size_t n, bool keep_utf8, char *out, size_t *ret_consumed) {
        unsigned char c = (unsigned char) s[0];
        bool valid = false;
        size_t k, o = 0;

        *ret_consumed = 1;
        if (c == '\\' || c == '\n' || c == '\t') {
                out[0] = '\\';
                out[1] = c == '\\' ? '\\' : c == '\n' ? 'n' : 't';
                return 2;
        }
        if (c >= 0x20 && c < 0x7f) {
                out[0] = (char) c;
                return 1;
        }
        k = c >= 0x80 ? utf8_next(s, n, &valid) : 1;
        *ret_consumed = k;
        /* C1 controls (U+0080..U+009F) are C2 80..C2 9F in UTF-8. */
        if (c >= 0x80 && valid && keep_utf8 && !(c == 0xC2 && (unsigned char) s[1] < 0xA0)) {
                memcpy(out, s, k);
                return k;
        }
        /* Control characters, DEL and anything not kept: byte by byte. */
        for (size_t j = 0; j < k; j++)
                o += escape_byte((unsigned char) s[j], out + o);
        return o;
}

char *utf8_escape_display(const char *s, size_t n, bool keep_utf8) {
        char *out;
        size_t o = 0;

        /* At most 4 output bytes ("\xNN") per input byte. */
        if (n > (SIZE_MAX - 1) / 4)
                return NULL;
        out = malloc(n * 4 + 1);
        if (!out)
                return NULL;
        for (size_t i = 0, k; i < n; i += k)
                o += utf8_escape_next(s + i, n - i, keep_utf8, out + o, &k);
        out[o] = '\0';
        return out;
}

size_t utf8_cells(const char *s) {
        size_t n = 0;

        for (; *s; s++)
                if (((unsigned char) *s & 0xC0) != 0x80)
                        n++;
        return n;
}

size_t utf8_fit(const char *s, size_t cols) {
        size_t cells = 0, i = 0;

        if (cols == 0)
                return strlen(s);
        for (; s[i]; i++) {
                if (((unsigned char) s[i] & 0xC0) == 0x80)
                        continue; /* a continuation byte: same cell */
                if (cells == cols)
                        break;
                cells++;
        }
        return i;
}
